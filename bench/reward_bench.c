/*
 * bench/reward_bench.c — grades per CPU-second of reward_score on a JSONL
 * file, for bench_reward.sh.  Built by that script against build/libgrpo.a.
 *
 * usage: reward_bench FILE.jsonl [REPEAT]
 * Reads every {"response", "gold"} line first, then scores them all REPEAT
 * times on one thread with the default [reward] (format + accuracy_math).
 * CPU time (CLOCK_PROCESS_CPUTIME_ID) is what a core spent, so the figure
 * holds on a shared, busy machine; wall time is printed beside it.
 * Prints: "grades N cpu_s X wall_s Y grades_per_cpu_s Z".
 */
#include <cjson/cJSON.h>
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

typedef struct item { char *response, *gold; } item;

static int read_items(const char *path, item **out, int *n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *line = NULL;
    size_t cap = 0;
    int count = 0, room = 1024;
    item *items = malloc(sizeof *items * room);
    while (getline(&line, &cap, f) > 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "response");
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(o, "gold");
        if (cJSON_IsString(r) && cJSON_IsString(g)) {
            if (count == room) items = realloc(items, sizeof *items * (room *= 2));
            items[count].response = strdup(r->valuestring);
            items[count].gold = strdup(g->valuestring);
            count++;
        }
        cJSON_Delete(o);
    }
    free(line);
    fclose(f);
    *out = items;
    *n = count;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: reward_bench FILE.jsonl [REPEAT]\n");
        return 2;
    }
    int repeat = argc > 2 ? atoi(argv[2]) : 3, n;
    item *items;
    if (read_items(argv[1], &items, &n) || n == 0) {
        fprintf(stderr, "reward_bench: no items in %s\n", argv[1]);
        return 2;
    }
    core_config cfg;
    core_error err = {0};
    core_config_defaults(&cfg);
    reward_fn *r;
    if (reward_create(&r, &cfg, &err)) {
        fprintf(stderr, "reward_bench: %s\n", err.msg);
        return 1;
    }
    double checksum = 0, c0 = cpu_now(), w0 = core_now();
    for (int k = 0; k < repeat; k++)
        for (int i = 0; i < n; i++) {
            reward_input in = {items[i].response, strlen(items[i].response), items[i].gold, 20, 64, 0, NULL, NULL};
            reward_result res;
            reward_score(r, &in, &res);
            checksum += res.total;
        }
    double cpu = cpu_now() - c0, wall = core_now() - w0;
    printf("grades %d cpu_s %.4f wall_s %.4f grades_per_cpu_s %.0f checksum %.0f\n", n * repeat, cpu, wall,
           n * repeat / cpu, checksum);
    reward_free(r);
    return 0;
}
