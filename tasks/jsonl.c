/*
 * JSONL import: one JSON object per line, in the field layouts of the
 * common exports (GSM8K, MATH, MBPP, HumanEval, and our own generators'
 * dumps).  Any malformed line stops the import with FILE:LINE: FIELD.
 *
 *   question  question | problem | prompt | text
 *   gold      answer | final_answer | gold | solution | canonical_solution | code
 *             - GSM8K: "...reasoning...\n#### 1,234" keeps "1234"
 *             - MATH:  a solution with \boxed{...} keeps the last box
 *   tests     test_list | tests (array of strings) | test (one string):
 *             present means a code item
 *   id        id | task_id | idx (string or number), else "FILE:LINE"
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tasks/internal.h"
#include "tasks/tasks.h"

static const cJSON *first_field(const cJSON *obj, const char *const *names, const char **which) {
    for (int i = 0; names[i]; i++) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(obj, names[i]);
        if (f && !cJSON_IsNull(f)) { *which = names[i]; return f; }
    }
    return NULL;
}

/* GSM8K's final answer follows "####"; thousands separators are dropped. */
static char *gsm8k_final(const char *s) {
    const char *at = strstr(s, "####");
    if (!at) return NULL;
    at += 4;
    while (*at == ' ') at++;
    char *out = malloc(strlen(at) + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (; *at && *at != '\n'; at++)
        if (*at != ',') out[n++] = *at;
    while (n && out[n - 1] == ' ') n--;
    out[n] = 0;
    return out;
}

/* The content of the last \boxed{...}, braces balanced. */
static char *last_boxed(const char *s) {
    const char *at = NULL;
    for (const char *p = strstr(s, "\\boxed{"); p; p = strstr(p + 1, "\\boxed{")) at = p;
    if (!at) return NULL;
    const char *start = at + 7, *p = start;
    int depth = 1;
    for (; *p && depth; p++) depth += (*p == '{') - (*p == '}');
    if (depth) return NULL;
    return strndup(start, (size_t)(p - 1 - start));
}

/* A string or number field as text.  Returns 0, or CORE_EINPUT. */
static int field_text(const cJSON *f, const char *path, int line, const char *name, char **out,
                      core_error *err) {
    if (cJSON_IsString(f)) *out = strdup(f->valuestring);
    else if (cJSON_IsNumber(f)) *out = cJSON_PrintUnformatted(f);
    else
        return core_fail(err, CORE_EINPUT, "%s:%d: %s: expected a string or a number", path, line,
                         name);
    return *out ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
}

/* A HumanEval test is a program that defines check(candidate) and never
 * calls it: run as is, every completion (even `pass`) would pass.  The call
 * is appended with the item's entry_point; a program that defines check
 * without an entry_point to call it with is refused.  malloc'd. */
static char *humaneval_program(const cJSON *obj, const char *test, const char *path, int line,
                               core_error *err) {
    int defines_check = !strncmp(test, "def check(", 10) || strstr(test, "\ndef check(");
    if (!defines_check) return strdup(test);
    const cJSON *entry = cJSON_GetObjectItem(obj, "entry_point");
    if (!cJSON_IsString(entry) || !entry->valuestring[0]) {
        core_fail(err, CORE_EINPUT, "%s:%d: test: defines check(candidate) but the item has no "
                  "entry_point to call it with (the tests would never run)", path, line);
        return NULL;
    }
    for (const char *c = entry->valuestring; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '_')) {
            core_fail(err, CORE_EINPUT, "%s:%d: entry_point: '%s' is not a Python name", path, line,
                      entry->valuestring);
            return NULL;
        }
    char *program = tasks_strf("%s\n\ncheck(%s)\n", test, entry->valuestring);
    if (!program) core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    return program;
}

static int parse_tests(const cJSON *obj, task_item *t, const char *path, int line,
                       core_error *err) {
    static const char *const names[] = {"test_list", "tests", "test", NULL};
    const char *name = "";
    const cJSON *f = first_field(obj, names, &name);
    if (!f) return 0;
    if (cJSON_IsString(f)) { /* HumanEval: one test program */
        char *program = humaneval_program(obj, f->valuestring, path, line, err);
        if (!program) return err->code ? err->code : CORE_ERUNTIME;
        cJSON *arr = cJSON_CreateArray();
        cJSON_AddItemToArray(arr, cJSON_CreateString(program));
        t->tests = cJSON_PrintUnformatted(arr);
        cJSON_Delete(arr);
        free(program);
    } else if (cJSON_IsArray(f)) {
        const cJSON *e;
        int i = 0;
        cJSON_ArrayForEach(e, f) {
            if (!cJSON_IsString(e))
                return core_fail(err, CORE_EINPUT, "%s:%d: %s[%d]: expected a string", path, line,
                                 name, i);
            i++;
        }
        if (i == 0)
            return core_fail(err, CORE_EINPUT, "%s:%d: %s: empty list of tests", path, line, name);
        t->tests = cJSON_PrintUnformatted(f);
    } else {
        return core_fail(err, CORE_EINPUT, "%s:%d: %s: expected a list of strings", path, line,
                         name);
    }
    t->kind = TASK_CODE;
    return t->tests ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
}

static int parse_gold(const cJSON *obj, task_item *t, const char *path, int line,
                      core_error *err) {
    static const char *const names[] = {"answer", "final_answer", "gold", "solution",
                                        "canonical_solution", "code", NULL};
    const char *name = "";
    const cJSON *f = first_field(obj, names, &name);
    if (!f)
        return core_fail(err, CORE_EINPUT,
                         "%s:%d: answer: no answer, final_answer, gold, solution, "
                         "canonical_solution or code field", path, line);
    char *text;
    if (field_text(f, path, line, name, &text, err)) return CORE_EINPUT;
    char *final = NULL;
    if (t->kind == TASK_MATH) {
        final = gsm8k_final(text);
        if (!final) final = last_boxed(text);
    }
    if (final) { free(text); text = final; }
    if (!*text && t->kind == TASK_MATH) {
        free(text);
        return core_fail(err, CORE_EINPUT, "%s:%d: %s: empty answer", path, line, name);
    }
    t->gold = text;
    return 0;
}

static int parse_line(const char *text, const char *path, int line, task_item *t,
                      core_error *err) {
    memset(t, 0, sizeof *t);
    cJSON *obj = cJSON_Parse(text);
    if (!obj || !cJSON_IsObject(obj)) {
        cJSON_Delete(obj);
        return core_fail(err, CORE_EINPUT, "%s:%d: line: not a JSON object", path, line);
    }
    static const char *const qnames[] = {"question", "problem", "prompt", "text", NULL};
    static const char *const idnames[] = {"id", "task_id", "idx", NULL};
    const char *name = "";
    int rc = 0;
    const cJSON *q = first_field(obj, qnames, &name);
    if (!q)
        rc = core_fail(err, CORE_EINPUT,
                       "%s:%d: question: no question, problem, prompt or text field", path, line);
    if (!rc) rc = field_text(q, path, line, name, &t->question, err);
    if (!rc && !*t->question)
        rc = core_fail(err, CORE_EINPUT, "%s:%d: %s: empty question", path, line, name);
    if (!rc) rc = parse_tests(obj, t, path, line, err);
    if (!rc) rc = parse_gold(obj, t, path, line, err);
    const cJSON *id = first_field(obj, idnames, &name);
    if (!rc && cJSON_IsString(id)) snprintf(t->id, sizeof t->id, "%s", id->valuestring);
    else if (!rc && cJSON_IsNumber(id)) snprintf(t->id, sizeof t->id, "%.0f", id->valuedouble);
    else snprintf(t->id, sizeof t->id, "%s:%d", path, line);
    snprintf(t->gen, sizeof t->gen, "jsonl");
    if (!rc) {
        t->meta = tasks_strf("{\"source\":\"%s\",\"line\":%d}", path, line);
        if (!t->meta) rc = core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    cJSON_Delete(obj);
    if (rc) task_item_free(t);
    return rc;
}

static int is_blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n') return 0;
    return 1;
}

int tasks_load_jsonl(const char *path, task_set *out, core_error *err) {
    FILE *f = fopen(path, "r");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open the JSONL file", path);
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int line = 0, rc = 0;
    while (!rc && (len = getline(&buf, &cap, f)) >= 0) {
        line++;
        if (is_blank(buf)) continue;
        task_item t;
        rc = parse_line(buf, path, line, &t, err);
        if (!rc) rc = task_set_push(out, &t, err);
        if (rc) task_item_free(&t);
    }
    free(buf);
    fclose(f);
    if (!rc && out->n == 0) rc = core_fail(err, CORE_EINPUT, "%s: no items in the file", path);
    return rc;
}
