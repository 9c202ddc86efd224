/* Tries every common socket family.  Expected: OK and "sockets 0". */
#include <stdio.h>
#include <sys/socket.h>
int main(void) {
    int families[] = {AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET};
    int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW};
    int made = 0;
    for (int f = 0; f < 5; f++)
        for (int t = 0; t < 3; t++)
            if (socket(families[f], types[t], 0) >= 0) made++;
    printf("sockets %d\n", made);
    return 0;
}
