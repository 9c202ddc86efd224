/*
 * tests/tasks/corpus_tool.c — the pretraining corpus and the held-out split
 * of a config as JSON lines, for check_code_demo.sh (built as
 * build/tests/corpus_tool):
 *
 *   corpus_tool CONFIG train N [key=value ...]   N training rows as pretraining
 *                                                draws them (step s, row b)
 *   corpus_tool CONFIG heldout N [key=value ...] the first N held-out items, each
 *                                                with a clean worked solution
 *
 * One line per row: {"id", "question", "k", "heldout", "style", "broken",
 * "prompt", "response", "tests"}; "response" is what grpo grade reads.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/tasks.h"

static const char *style_name(int style) {
    static const char *const names[] = {"clean", "slip", "recheck", "confirm"};
    return style >= 0 && style < 4 ? names[style] : "?";
}

static void print_row(const task_item *t, const corpus_example *ex) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", t->id);
    cJSON_AddStringToObject(o, "question", t->question);
    cJSON_AddNumberToObject(o, "k", t->n_operands ? (double)t->operands[0] : 0);
    cJSON_AddBoolToObject(o, "heldout", tasks_item_is_heldout(t));
    cJSON_AddStringToObject(o, "style", style_name(ex->style));
    cJSON_AddBoolToObject(o, "broken", ex->broken);
    cJSON_AddStringToObject(o, "prompt", ex->prompt);
    cJSON_AddStringToObject(o, "response", ex->response);
    cJSON *tests = cJSON_Parse(t->tests ? t->tests : "[]");
    cJSON_AddItemToObject(o, "tests", tests ? tests : cJSON_CreateArray());
    char *text = cJSON_PrintUnformatted(o);
    puts(text);
    free(text);
    cJSON_Delete(o);
}

static int fail(const core_error *err) {
    fprintf(stderr, "corpus_tool: %s\n", err->msg);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[2], "train") && strcmp(argv[2], "heldout"))) {
        fprintf(stderr, "usage: corpus_tool CONFIG train|heldout N [section.key=value ...]\n");
        return 2;
    }
    core_config cfg;
    core_error err = {0};
    if (core_config_load(&cfg, argv[1], &err)) return fail(&err);
    for (int i = 4; i < argc; i++)
        if (core_config_set(&cfg, argv[i], &err)) return fail(&err);
    int n = atoi(argv[3]);
    task_source *ts;
    if (tasks_open(&cfg, &ts, &err)) return fail(&err);
    int batch = cfg.pretrain.batch;
    for (int i = 0; i < n; i++) {
        task_item t;
        corpus_example ex;
        core_rng rng;
        if (!strcmp(argv[2], "train")) {
            if (tasks_draw(ts, (uint64_t)(i / batch), i % batch, &t, &err)) return fail(&err);
            rng = core_rng_stream((uint64_t)cfg.run.seed, CORE_RNG_CORPUS, (uint64_t)(i / batch),
                                  (uint64_t)(i % batch));
        } else {
            if (i >= tasks_heldout(ts)->n) break;
            if (task_item_copy(&t, &tasks_heldout(ts)->items[i], &err)) return fail(&err);
            rng = core_rng_stream(0, CORE_RNG_CORPUS, 0, 0);
        }
        core_config clean = cfg;
        if (!strcmp(argv[2], "heldout"))
            clean.tasks.slip_rate = clean.tasks.recheck_rate = clean.tasks.confirm_rate =
                clean.tasks.format_break_rate = 0;
        if (tasks_corpus_example(&clean, &t, &rng, &ex, &err)) return fail(&err);
        print_row(&t, &ex);
        corpus_example_free(&ex);
        task_item_free(&t);
    }
    tasks_close(ts);
    return 0;
}
