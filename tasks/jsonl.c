/*
 * JSONL import: one JSON object per line, in the field layouts of the
 * common exports (GSM8K, MATH, MBPP, HumanEval, and our own generators'
 * dumps).  Any malformed line stops the import with FILE:LINE: FIELD.
 *
 *   question  question | problem | prompt | text | description
 *   gold      answer | final_answer | gold | solution | canonical_solution | code
 *             | solutions (a list, or a JSON string of one: the first)
 *             - GSM8K: "...reasoning...\n#### 1,234" keeps "1234"
 *             - MATH:  a solution with \boxed{...} keeps the last box
 *             - code items may have none (their tests grade them)
 *   tests     present means a code item; normalised to the code reward's
 *             JSON array (reward/code.h): assert lines and/or
 *             {"stdin", "stdout"} objects, at most TASKS_MAX_TESTS
 *             - MBPP:      test_list [assert lines], test_setup_code
 *                          (prepended to each test when not empty)
 *             - HumanEval: test (a program defining check(candidate)),
 *                          entry_point (check is called with it)
 *             - tests:     [assert lines] or [{"input", "output"}] (or
 *                          "stdin"/"stdout")
 *             - APPS/TACO: input_output {"inputs": [..], "outputs": [..]}
 *                          (an object, or a JSON string of one); fn_name
 *                          (call-based) items are refused
 *             - CodeContests: public_tests, private_tests, generated_tests
 *                          {"input": [..], "output": [..]}, all kept
 *   id        id | task_id | idx | name (string or number), else "FILE:LINE"
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

/* Where a line is: "PATH:LINE" for the messages below. */
typedef struct where {
    const char *path;
    int line;
} where;

static int bad(core_error *err, const where *w, const char *field, const char *why) {
    return core_fail(err, CORE_EINPUT, "%s:%d: %s: %s", w->path, w->line, field, why);
}

/* One stdin/stdout pair appended to out as {"stdin": in, "stdout": want}. */
static void add_io(cJSON *out, const char *in, const char *want) {
    cJSON *pair = cJSON_CreateObject();
    cJSON_AddStringToObject(pair, "stdin", in);
    cJSON_AddStringToObject(pair, "stdout", want);
    cJSON_AddItemToArray(out, pair);
}

/* MBPP's test_list, or a "tests" list: assert lines (setup prepended to
 * each when not empty) and/or {"input", "output"} objects. */
static int tests_from_list(const cJSON *list, const char *name, const char *setup, cJSON *out,
                           const where *w, core_error *err) {
    char field[96], why[160];
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, list) {
        snprintf(field, sizeof field, "%s[%d]", name, i++);
        if (cJSON_IsString(e)) {
            char *line = setup && *setup ? tasks_strf("%s\n%s", setup, e->valuestring) : strdup(e->valuestring);
            if (!line) return core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
            cJSON_AddItemToArray(out, cJSON_CreateString(line));
            free(line);
            continue;
        }
        const char *in = NULL, *want = NULL;
        for (int k = 0; k < 2 && cJSON_IsObject(e); k++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, k ? "stdin" : "input");
            const cJSON *b = cJSON_GetObjectItemCaseSensitive(e, k ? "stdout" : "output");
            if (!in && cJSON_IsString(a)) in = a->valuestring;
            if (!want && cJSON_IsString(b)) want = b->valuestring;
        }
        if (!in || !want) {
            snprintf(why, sizeof why, "expected an assert string or {\"input\": string, \"output\": string}");
            return bad(err, w, field, why);
        }
        add_io(out, in, want);
    }
    return i ? 0 : bad(err, w, name, "empty list of tests");
}

/* {"inputs": [..], "outputs": [..]} (APPS; CodeContests spells them
 * "input"/"output"): pairs in order, strings only, as many of each. */
static int tests_from_columns(const cJSON *obj, const char *name, cJSON *out, const where *w, core_error *err) {
    char field[96], why[160];
    const cJSON *ins = cJSON_GetObjectItemCaseSensitive(obj, "inputs"), *outs;
    const char *in_name = "inputs", *out_name = "outputs";
    if (!ins) ins = cJSON_GetObjectItemCaseSensitive(obj, in_name = "input"), out_name = "output";
    outs = cJSON_GetObjectItemCaseSensitive(obj, out_name);
    if (cJSON_GetObjectItemCaseSensitive(obj, "fn_name"))
        return bad(err, w, name, "fn_name (call-based) tests are not supported: give stdin/stdout pairs, "
                   "or assert lines in test_list");
    if (!cJSON_IsArray(ins) || !cJSON_IsArray(outs)) {
        snprintf(why, sizeof why, "expected {\"%s\": [strings], \"%s\": [strings]}", in_name, out_name);
        return bad(err, w, name, why);
    }
    int n = cJSON_GetArraySize(ins);
    if (n != cJSON_GetArraySize(outs)) {
        snprintf(why, sizeof why, "%d %s but %d %s", n, in_name, cJSON_GetArraySize(outs), out_name);
        return bad(err, w, name, why);
    }
    for (int i = 0; i < n; i++) {
        const cJSON *a = cJSON_GetArrayItem(ins, i), *b = cJSON_GetArrayItem(outs, i);
        const char *which = !cJSON_IsString(a) ? in_name : !cJSON_IsString(b) ? out_name : NULL;
        if (which) {
            snprintf(field, sizeof field, "%s.%s[%d]", name, which, i);
            return bad(err, w, field, "expected a string");
        }
        add_io(out, a->valuestring, b->valuestring);
    }
    return 0;
}

/* The tests of a line in whichever layout it has, into out (a JSON array);
 * *found = 0 when it has none (not a code item). */
static int collect_tests(const cJSON *obj, cJSON *out, int *found, const where *w, core_error *err) {
    const cJSON *f;
    *found = 1;
    if ((f = cJSON_GetObjectItemCaseSensitive(obj, "test_list"))) { /* MBPP */
        const cJSON *setup = cJSON_GetObjectItemCaseSensitive(obj, "test_setup_code");
        if (setup && !cJSON_IsString(setup) && !cJSON_IsNull(setup))
            return bad(err, w, "test_setup_code", "expected a string");
        if (!cJSON_IsArray(f)) return bad(err, w, "test_list", "expected a list of assert strings");
        return tests_from_list(f, "test_list", cJSON_IsString(setup) ? setup->valuestring : NULL, out, w, err);
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(obj, "tests")) && !cJSON_IsNull(f)) {
        if (!cJSON_IsArray(f)) return bad(err, w, "tests", "expected a list of assert strings or {input, output}");
        return tests_from_list(f, "tests", NULL, out, w, err);
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(obj, "test")) && !cJSON_IsNull(f)) { /* HumanEval */
        if (!cJSON_IsString(f)) return bad(err, w, "test", "expected a string (a test program)");
        char *program = humaneval_program(obj, f->valuestring, w->path, w->line, err);
        if (!program) return err->code ? err->code : CORE_ERUNTIME;
        cJSON_AddItemToArray(out, cJSON_CreateString(program));
        free(program);
        return 0;
    }
    if ((f = cJSON_GetObjectItemCaseSensitive(obj, "input_output")) && !cJSON_IsNull(f)) { /* APPS */
        cJSON *parsed = cJSON_IsString(f) ? cJSON_Parse(f->valuestring) : NULL;
        if (cJSON_IsString(f) && !parsed) return bad(err, w, "input_output", "a string that is not valid JSON");
        int rc = cJSON_IsObject(parsed ? parsed : f)
                     ? tests_from_columns(parsed ? parsed : f, "input_output", out, w, err)
                     : bad(err, w, "input_output", "expected {\"inputs\": [..], \"outputs\": [..]}");
        cJSON_Delete(parsed);
        return rc;
    }
    static const char *const contests[] = {"public_tests", "private_tests", "generated_tests"};
    *found = 0;
    for (int i = 0; i < 3; i++) { /* CodeContests: every set there is */
        if (!(f = cJSON_GetObjectItemCaseSensitive(obj, contests[i])) || cJSON_IsNull(f)) continue;
        if (!cJSON_IsObject(f)) return bad(err, w, contests[i], "expected {\"input\": [..], \"output\": [..]}");
        int rc = tests_from_columns(f, contests[i], out, w, err);
        if (rc) return rc;
        *found = 1;
    }
    return 0;
}

static int parse_tests(const cJSON *obj, task_item *t, const char *path, int line,
                       core_error *err) {
    where w = {path, line};
    cJSON *out = cJSON_CreateArray();
    int found = 0, rc = out ? collect_tests(obj, out, &found, &w, err) : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    int n = out ? cJSON_GetArraySize(out) : 0;
    if (!rc && found && n == 0) rc = bad(err, &w, "tests", "the item has an empty set of tests");
    if (!rc && n > TASKS_MAX_TESTS) {
        char why[128];
        snprintf(why, sizeof why, "%d tests, at most %d are run per item; keep the first %d in the file",
                 n, TASKS_MAX_TESTS, TASKS_MAX_TESTS);
        rc = bad(err, &w, "tests", why);
    }
    if (!rc && found) {
        t->kind = TASK_CODE;
        t->tests = cJSON_PrintUnformatted(out);
        if (!t->tests) rc = core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    cJSON_Delete(out);
    return rc;
}

/* APPS' "solutions": a list of programs, or a JSON string of one; the first. */
static int first_solution(const cJSON *f, const char *path, int line, char **out, core_error *err) {
    cJSON *parsed = cJSON_IsString(f) ? cJSON_Parse(f->valuestring) : NULL;
    const cJSON *list = parsed ? parsed : f;
    const cJSON *first = cJSON_IsArray(list) ? cJSON_GetArrayItem(list, 0) : NULL;
    int ok = cJSON_IsString(first);
    if (ok) *out = strdup(first->valuestring);
    cJSON_Delete(parsed);
    if (!ok) return core_fail(err, CORE_EINPUT, "%s:%d: solutions: expected a list of program strings", path, line);
    return *out ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
}

static int parse_gold(const cJSON *obj, task_item *t, const char *path, int line,
                      core_error *err) {
    static const char *const names[] = {"answer", "final_answer", "gold", "solution",
                                        "canonical_solution", "code", "solutions", NULL};
    const char *name = "";
    const cJSON *f = first_field(obj, names, &name);
    if (!f && t->kind == TASK_CODE) { /* the tests grade it; no reference solution */
        t->gold = strdup("");
        return t->gold ? 0 : core_fail(err, CORE_ERUNTIME, "tasks: out of memory");
    }
    if (!f)
        return core_fail(err, CORE_EINPUT,
                         "%s:%d: answer: no answer, final_answer, gold, solution, "
                         "canonical_solution or code field", path, line);
    char *text;
    if (!strcmp(name, "solutions") ? first_solution(f, path, line, &text, err)
                                   : field_text(f, path, line, name, &text, err))
        return err->code;
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
    static const char *const qnames[] = {"question", "problem", "prompt", "text", "description", NULL};
    static const char *const idnames[] = {"id", "task_id", "idx", "name", NULL};
    const char *name = "";
    int rc = 0;
    const cJSON *q = first_field(obj, qnames, &name);
    if (!q)
        rc = core_fail(err, CORE_EINPUT,
                       "%s:%d: question: no question, problem, prompt, text or description field", path, line);
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
