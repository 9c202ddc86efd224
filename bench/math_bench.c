/*
 * bench/math_bench.c — answer pairs verified per CPU-second by the math
 * verifier alone (accuracy_math: extraction of the response and the gold,
 * then reward_math_equal), for bench_math.sh.  Built by that script against
 * build/libgrpo.a.
 *
 * usage: math_bench PAIRS.tsv [REPEAT]
 * PAIRS.tsv is tests/reward/math_pairs.tsv's format (label, kind, gold,
 * answer; "⏎" for a newline; the answer graded as "\boxed{answer}" unless
 * the kind is "extract").  Every pair is scored REPEAT times on one thread.
 * Prints: "pairs N cpu_s X pairs_per_cpu_s Z agree_labels A".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reward/reward.h"

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

typedef struct pair { char *response, *gold; int label; } pair;

/* "⏎" (3 bytes) -> '\n', in place. */
static void unescape_newlines(char *s) {
    char *w = s;
    for (char *r = s; *r;) {
        if (!strncmp(r, "\xe2\x8f\x8e", 3)) *w++ = '\n', r += 3;
        else *w++ = *r++;
    }
    *w = 0;
}

static int read_pairs(const char *path, pair **out, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int count = 0, room = 256;
    pair *pairs = malloc(sizeof *pairs * room);
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || !line[0]) continue;
        char *field[4], *save = NULL;
        int k = 0;
        for (char *t = strtok_r(line, "\t", &save); t && k < 4; t = strtok_r(NULL, "\t", &save)) field[k++] = t;
        if (k != 4) continue;
        unescape_newlines(field[3]);
        if (count == room) pairs = realloc(pairs, sizeof *pairs * (room *= 2));
        size_t len = strlen(field[3]) + 16;
        pairs[count].response = malloc(len);
        if (!strcmp(field[1], "extract")) snprintf(pairs[count].response, len, "%s", field[3]);
        else snprintf(pairs[count].response, len, "\\boxed{%s}", field[3]);
        pairs[count].gold = strdup(field[2]);
        pairs[count].label = atoi(field[0]);
        count++;
    }
    free(line);
    fclose(f);
    *out = pairs;
    *n = count;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: math_bench PAIRS.tsv [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 200, n;
    pair *pairs;
    if (read_pairs(argv[1], &pairs, &n) || n == 0) {
        fprintf(stderr, "math_bench: no pairs in %s\n", argv[1]);
        return 2;
    }
    core_config cfg;
    core_error err = {0};
    core_config_defaults(&cfg);
    snprintf(cfg.reward.components, sizeof cfg.reward.components, "accuracy_math");
    snprintf(cfg.reward.weights, sizeof cfg.reward.weights, "1");
    reward_fn *r;
    if (reward_create(&r, &cfg, &err)) {
        fprintf(stderr, "math_bench: %s\n", err.msg);
        return 1;
    }
    int agree = 0;
    double c0 = cpu_now();
    for (int k = 0; k < repeat; k++)
        for (int i = 0; i < n; i++) {
            reward_input in = {pairs[i].response, strlen(pairs[i].response), pairs[i].gold, 20, 64, 0, NULL, NULL};
            reward_result res;
            reward_score(r, &in, &res);
            if (k == 0) agree += res.correct == pairs[i].label;
        }
    double cpu = cpu_now() - c0;
    printf("pairs %d cpu_s %.4f pairs_per_cpu_s %.0f agree_labels %d/%d\n", n * repeat, cpu, n * repeat / cpu, agree, n);
    reward_free(r);
    return 0;
}
