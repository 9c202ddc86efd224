/*
 * bench/tokenizer_bench.c — encoding throughput of a Hugging Face tokenizer
 * (tokenizer_load_hf) on a JSONL file of {"text"} lines, for
 * bench_tokenizer.sh.  Built by that script against build/libgrpo.a.
 *
 * usage: tokenizer_bench DIR FILE.jsonl [REPEAT]
 * Reads every line first, then encodes them all REPEAT times, one line per
 * tokenizer_encode call, on one thread.  CPU time (CLOCK_PROCESS_CPUTIME_ID)
 * is what the core spent, so the figure holds on a busy machine.
 * Prints: "lines N bytes B ids I idsum S cpu_s X mb_per_cpu_s Y" (I and S: the
 * count and sum of one pass's ids, to compare with the peer's; MB = 1e6 bytes).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/tokenizer.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3) return fprintf(stderr, "usage: tokenizer_bench DIR FILE.jsonl [REPEAT]\n"), 2;
    int repeat = argc > 3 ? atoi(argv[3]) : 1;
    tokenizer *t;
    core_error err = {0};
    if (tokenizer_load_hf(&t, argv[1], &err)) return fprintf(stderr, "%s\n", err.msg), 2;
    FILE *f = fopen(argv[2], "r");
    if (!f) return fprintf(stderr, "cannot open %s\n", argv[2]), 2;
    char **texts = NULL, *line = NULL;
    size_t *lens = NULL, cap = 0, bytes = 0;
    int n = 0, room = 0;
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "text");
        if (cJSON_IsString(s)) {
            if (n == room) {
                room = room ? room * 2 : 1024;
                texts = realloc(texts, room * sizeof *texts);
                lens = realloc(lens, room * sizeof *lens);
            }
            texts[n] = strdup(s->valuestring);
            lens[n] = strlen(texts[n]);
            bytes += lens[n++];
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    int max_ids = 1 << 20, *ids = malloc(max_ids * sizeof *ids);
    long total = 0, idsum = 0;
    double t0 = cpu_now();
    for (int r = 0; r < repeat; r++)
        for (int i = 0; i < n; i++) {
            int k = tokenizer_encode(t, texts[i], lens[i], ids, max_ids);
            total += k;
            if (r == 0)
                for (int j = 0; j < k; j++) idsum += ids[j];
        }
    double cpu = cpu_now() - t0;
    printf("lines %d bytes %zu ids %ld idsum %ld cpu_s %.3f mb_per_cpu_s %.3f\n", n, bytes, total / repeat, idsum,
           cpu, bytes * repeat / cpu / 1e6);
    for (int i = 0; i < n; i++) free(texts[i]);
    free(texts);
    free(lens);
    free(ids);
    tokenizer_free(t);
    return 0;
}
