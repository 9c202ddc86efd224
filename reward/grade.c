/*
 * reward/grade.c — one JSONL line in, one graded JSON line out (grpo grade).
 *
 * Kept apart from the command so the parsing and the output shape are
 * tested like any other library code; cmd/grade.c only loops over lines,
 * prints and sums up.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reward/reward.h"

static int int_field(const cJSON *obj, const char *name, int *value, core_error *err) {
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!f) return 0;
    if (!cJSON_IsNumber(f) || f->valuedouble < 0 || f->valuedouble > 1e9)
        return core_fail(err, CORE_EINPUT, "field \"%s\" must be a non-negative number", name);
    *value = (int)f->valuedouble;
    return 0;
}

/* The gold answer as text: a string as is, a number as JSON prints it. */
static int gold_text(const cJSON *obj, int need_gold, char **gold, core_error *err) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(obj, "gold");
    *gold = NULL;
    if (!g || cJSON_IsNull(g)) {
        if (need_gold) return core_fail(err, CORE_EINPUT, "field \"gold\" missing");
        return 0;
    }
    if (cJSON_IsString(g)) *gold = strdup(g->valuestring);
    else if (cJSON_IsNumber(g)) *gold = cJSON_PrintUnformatted(g);
    else return core_fail(err, CORE_EINPUT, "field \"gold\" must be a string or a number");
    if (!*gold) return core_fail(err, CORE_ERUNTIME, "out of memory");
    return 0;
}

/* The code tests as JSON text: a string as is, an array or object printed. */
static int tests_text(const cJSON *obj, char **tests, core_error *err) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "tests");
    *tests = NULL;
    if (!t || cJSON_IsNull(t)) return 0;
    if (cJSON_IsString(t)) *tests = strdup(t->valuestring);
    else if (cJSON_IsArray(t) || cJSON_IsObject(t)) *tests = cJSON_PrintUnformatted(t);
    else return core_fail(err, CORE_EINPUT, "field \"tests\" must be a string, an array or an object");
    if (!*tests) return core_fail(err, CORE_ERUNTIME, "out of memory");
    return 0;
}

static char *result_json(const reward_result *res, long line_no, const cJSON *id) {
    cJSON *o = cJSON_CreateObject(), *parts = cJSON_CreateObject(), *detail = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "line", (double)line_no);
    if (id) cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
    cJSON_AddNumberToObject(o, "total", res->total);
    cJSON_AddBoolToObject(o, "format_ok", res->format_ok);
    cJSON_AddBoolToObject(o, "correct", res->correct);
    for (int i = 0; i < res->n_parts; i++) {
        cJSON_AddNumberToObject(parts, res->parts[i].name, res->parts[i].value);
        cJSON_AddStringToObject(detail, res->parts[i].name, res->parts[i].detail);
    }
    cJSON_AddItemToObject(o, "parts", parts);
    cJSON_AddItemToObject(o, "detail", detail);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

int reward_grade_json(const reward_fn *r, const char *line, size_t len, long line_no, int need_gold,
                      reward_graded *out, core_error *err) {
    memset(out, 0, sizeof *out);
    cJSON *obj = cJSON_ParseWithLength(line, len);
    if (!obj || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return core_fail(err, CORE_EINPUT, "not a JSON object");
    }
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(obj, "response");
    char *gold = NULL;
    int rc = 0;
    if (!cJSON_IsString(resp)) rc = core_fail(err, CORE_EINPUT, "field \"response\" missing or not a string");
    if (!rc) rc = gold_text(obj, need_gold, &gold, err);
    reward_input in = {0};
    if (!rc) {
        in.response = resp->valuestring;
        in.response_len = strlen(resp->valuestring);
        in.gold = gold;
        in.n_tokens = in.response_len > 1000000000 ? 1000000000 : (int)in.response_len;
        in.max_new_tokens = reward_config(r)->rollout.max_new_tokens;
        rc = int_field(obj, "n_tokens", &in.n_tokens, err);
    }
    if (!rc) rc = int_field(obj, "max_new_tokens", &in.max_new_tokens, err);
    char *tests = NULL;
    if (!rc) rc = tests_text(obj, &tests, err);
    in.tests = tests;
    if (!rc) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(obj, "truncated");
        if (t && !cJSON_IsBool(t)) rc = core_fail(err, CORE_EINPUT, "field \"truncated\" must be true or false");
        in.truncated = t && cJSON_IsTrue(t);
    }
    int scored = 0;
    if (!rc) {
        double t0 = core_now();
        if (reward_score(r, &in, &out->res))
            rc = core_fail(err, CORE_ERUNTIME, "a reward component could not run (see its detail)");
        out->seconds = core_now() - t0;
        scored = 1;
    }
    if (scored) { /* a component that could not run still reports its detail */
        out->json = result_json(&out->res, line_no, cJSON_GetObjectItemCaseSensitive(obj, "id"));
        if (!out->json) rc = core_fail(err, CORE_ERUNTIME, "out of memory");
    }
    free(gold);
    free(tests);
    cJSON_Delete(obj);
    return rc;
}
