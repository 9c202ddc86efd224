/* Writes a file without end in the work dir.  Expected: OUTPUT_LIMIT
 * (SIGXFSZ at the file size limit). */
#include <stdio.h>
#include <string.h>
int main(void) {
    static char block[1 << 20];
    memset(block, 'x', sizeof block);
    FILE *f = fopen("big", "wb");
    if (!f) return 3;
    for (;;) fwrite(block, 1, sizeof block, f);
}
