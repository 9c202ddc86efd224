/*
 * The code reward (see code.h for the contract): extract the program, build
 * one sandbox job per test, run them on the pool, judge each run.
 *
 * Judging a run:
 *   assert tests  passed = verdict OK and the last stdout line is the nonce
 *                 printed after the assert; an AssertionError is
 *                 WRONG_ANSWER; other failures keep the sandbox verdict
 *   io tests      passed = verdict OK and the output matches; OK with a
 *                 different output is WRONG_ANSWER
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "reward/code.h"

#define MAX_PROGRAM (256 * 1024)

void reward_code_opts_from_config(reward_code_opts *o, const core_config *cfg) {
    memset(o, 0, sizeof *o);
    sandbox_limits_from_config(&o->lim, cfg);
    o->fraction = strcmp(cfg->reward.code_score, "fraction") == 0;
    o->workers = cfg->sandbox.workers;
    o->warm = cfg->sandbox.warm_python;
}

/* ------------------------------------------------------------ extraction */

static const char *find_last(const char *s, size_t len, const char *needle) {
    size_t k = strlen(needle);
    const char *last = NULL;
    for (const char *p = s; (p = memmem(p, len - (size_t)(p - s), needle, k)); p += k) last = p;
    return last;
}

static const char *lang_of_tag(const char *tag, size_t n) {
    char t[16] = {0};
    for (size_t i = 0; i < n && i < sizeof t - 1; i++) t[i] = (char)tolower((unsigned char)tag[i]);
    if (!strcmp(t, "c")) return "c";
    if (!strcmp(t, "sh") || !strcmp(t, "bash") || !strcmp(t, "shell")) return "sh";
    return "python"; /* "", python, py, python3, and anything else */
}

/* The last complete fenced block in [s, s+len) (an unclosed last fence runs
 * to the end: the completion may have been cut).  Returns 0 when found. */
static int last_fence(const char *s, size_t len, const char **code, size_t *code_len, const char **lang) {
    const char *open = NULL, *body = NULL, *p = s, *end = s + len;
    int found = 0;
    while ((p = memmem(p, (size_t)(end - p), "```", 3))) {
        const char *nl = memchr(p + 3, '\n', (size_t)(end - p - 3));
        if (!nl) break;
        const char *close = memmem(nl + 1, (size_t)(end - nl - 1), "```", 3);
        open = p;
        body = nl + 1;
        *code = body;
        *code_len = (size_t)((close ? close : end) - body);
        size_t tag_len = (size_t)(nl - open - 3);
        while (tag_len && isspace((unsigned char)open[3 + tag_len - 1])) tag_len--;
        *lang = lang_of_tag(open + 3, tag_len);
        found = 1;
        if (!close) break;
        p = close + 3;
    }
    return found ? 0 : -1;
}

long reward_code_extract(const char *completion, size_t len, char *out, size_t cap, const char **lang) {
    const char *region = completion, *code = NULL;
    size_t region_len = len, code_len = 0;
    const char *answer = find_last(completion, len, "<answer>");
    *lang = "python";
    if (answer) {
        region = answer + 8;
        const char *close = memmem(region, len - (size_t)(region - completion), "</answer>", 9);
        region_len = (size_t)((close ? close : completion + len) - region);
    }
    if (last_fence(region, region_len, &code, &code_len, lang) != 0) {
        if (!answer) return -1;
        code = region;
        code_len = region_len;
    }
    while (code_len && isspace((unsigned char)*code)) code++, code_len--;
    while (code_len && isspace((unsigned char)code[code_len - 1])) code_len--;
    if (code_len == 0 || code_len + 2 > cap) return -1;
    memcpy(out, code, code_len);
    out[code_len++] = '\n';
    out[code_len] = 0;
    return (long)code_len;
}

/* ----------------------------------------------------------------- tests */

typedef struct test_case {
    char *source;            /* the program (+ assert + nonce line) */
    const char *stdin_text;  /* io tests */
    const char *expected;    /* io tests: expected stdout */
    int is_assert;
} test_case;

/* Output equality up to trailing spaces on each line and trailing newlines. */
static int same_output(const char *a, const char *b) {
    for (;;) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        size_t ta = la, tb = lb;
        while (ta && (a[ta - 1] == ' ' || a[ta - 1] == '\t' || a[ta - 1] == '\r')) ta--;
        while (tb && (b[tb - 1] == ' ' || b[tb - 1] == '\t' || b[tb - 1] == '\r')) tb--;
        if (ta != tb || memcmp(a, b, ta)) return 0;
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
        int end_a = strspn(a, "\n \t\r") == strlen(a), end_b = strspn(b, "\n \t\r") == strlen(b);
        if (end_a || end_b) return end_a && end_b;
    }
}

static void make_nonce(char *out, size_t cap) {
    static atomic_ulong counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 30) ^
                           ((unsigned long long)atomic_fetch_add(&counter, 1) << 48) ^ (unsigned long long)getpid();
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ULL;
    x ^= x >> 29;
    snprintf(out, cap, "grpo-pass-%016llx", x);
}

static char *with_assert(const char *program, const char *line, const char *nonce) {
    size_t n = strlen(program) + strlen(line) + strlen(nonce) + 32;
    char *s = malloc(n);
    if (s) snprintf(s, n, "%s\n%s\nprint(\"%s\")\n", program, line, nonce);
    return s;
}

static const char *field(const cJSON *o, const char *a, const char *b) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!cJSON_IsString(v)) v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parse tests_json into cases (sources built from program). */
static int build_cases(const cJSON *tests, const char *program, const char *nonce, test_case *cases,
                       int *n, core_error *err) {
    if (!cJSON_IsArray(tests)) return core_fail(err, CORE_EINPUT, "code tests: expected a JSON array");
    int count = cJSON_GetArraySize(tests);
    if (count == 0) return core_fail(err, CORE_EINPUT, "code tests: the array is empty");
    if (count > REWARD_CODE_MAX_TESTS)
        return core_fail(err, CORE_EINPUT, "code tests: %d tests, at most %d", count, REWARD_CODE_MAX_TESTS);
    int i = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, tests) {
        test_case *c = &cases[i];
        memset(c, 0, sizeof *c);
        if (cJSON_IsString(t)) {
            c->is_assert = 1;
            c->source = with_assert(program, t->valuestring, nonce);
        } else if (cJSON_IsObject(t) && field(t, "stdin", "input") && field(t, "stdout", "output")) {
            c->stdin_text = field(t, "stdin", "input");
            c->expected = field(t, "stdout", "output");
            c->source = strdup(program);
        } else {
            *n = i;
            return core_fail(err, CORE_EINPUT, "code tests: test %d: expected an assert string or "
                             "{\"stdin\": ..., \"stdout\": ...}", i);
        }
        if (!c->source) {
            *n = i;
            return core_fail(err, CORE_ERUNTIME, "code tests: out of memory");
        }
        i++;
    }
    *n = i;
    return 0;
}

static int last_line_is(const char *out, const char *nonce) {
    size_t n = strlen(out), k = strlen(nonce);
    while (n && (out[n - 1] == '\n' || out[n - 1] == '\r')) n--;
    return n >= k && memcmp(out + n - k, nonce, k) == 0 && (n == k || out[n - k - 1] == '\n');
}

static void excerpt(char *dst, const char *text, size_t len, int tail) {
    size_t n = len < REWARD_CODE_EXCERPT - 1 ? len : REWARD_CODE_EXCERPT - 1;
    memcpy(dst, tail ? text + len - n : text, n);
    dst[n] = 0;
}

static void set_verdict(reward_code_run *run, const char *name) {
    snprintf(run->verdict, sizeof run->verdict, "%s", name ? name : "?");
}

/* [*s, end) advanced past one line; returns the line's length (no '\n'). */
static size_t next_line(const char **s, const char *end, const char **line) {
    *line = *s;
    const char *nl = memchr(*s, '\n', (size_t)(end - *s));
    size_t n = (size_t)((nl ? nl : end) - *s);
    *s = nl ? nl + 1 : end;
    return n;
}

/* Python's last traceback, in one line: the exception ("AssertionError: why",
 * its last line that is not blank) and the statement that raised it (the
 * source line under the last `  File "..."` frame: the assert expression).
 * Returns 0 when stderr holds no traceback. */
static int python_failure(const char *err, size_t len, char *dst, size_t cap) {
    const char *p = err, *end = err + len, *line, *stmt = NULL, *exc = NULL;
    size_t stmt_n = 0, exc_n = 0, n;
    int after_frame = 0, seen = 0;
    while (p < end) {
        n = next_line(&p, end, &line);
        size_t lead = strspn(line, " ");
        if (lead > n) lead = n;
        if (n >= 7 && !memcmp(line, "  File \"", 8 < n ? 8 : n)) {
            after_frame = 1, seen = 1, stmt = NULL;
            continue;
        }
        if (after_frame && lead >= 4 && n > lead) { /* the frame's source line */
            stmt = line + lead, stmt_n = n - lead, after_frame = 0;
            continue;
        }
        after_frame = 0;
        if (n > lead && lead == 0 && seen) exc = line, exc_n = n; /* the exception line is not indented */
    }
    if (!exc) return 0;
    if (stmt) snprintf(dst, cap, "%.*s at: %.*s", (int)exc_n, exc, (int)stmt_n, stmt);
    else snprintf(dst, cap, "%.*s", (int)exc_n, exc);
    return 1;
}

/* The first line where an io test's output differs from the expected one. */
static void output_difference(const char *got, const char *want, char *dst, size_t cap) {
    const char *g = got, *w = want, *ge = got + strlen(got), *we = want + strlen(want);
    for (int k = 1;; k++) {
        const char *gl = "", *wl = "";
        size_t gn = g < ge ? next_line(&g, ge, &gl) : 0, wn = w < we ? next_line(&w, we, &wl) : 0;
        while (gn && strchr(" \t\r", gl[gn - 1])) gn--;
        while (wn && strchr(" \t\r", wl[wn - 1])) wn--;
        if (gn != wn || memcmp(gl, wl, gn)) {
            snprintf(dst, cap, "line %d: expected '%.*s', got '%.*s'", k, (int)(wn < 70 ? wn : 70), wl,
                     (int)(gn < 70 ? gn : 70), gl);
            return;
        }
        if (g >= ge && w >= we) break;
    }
    snprintf(dst, cap, "the output differs only in trailing blank lines");
}

/* Why a test failed, in one line (run->message). */
static void failure_message(const test_case *c, const sandbox_result *r, const char *nonce, reward_code_run *run) {
    char *m = run->message;
    size_t cap = sizeof run->message;
    if (r->verdict == SANDBOX_OK && !c->is_assert) output_difference(r->out, c->expected, m, cap);
    else if (r->verdict == SANDBOX_OK) /* exit 0 without the nonce line: it left before the test ran */
        snprintf(m, cap, "exited 0 before the test ran%s", strstr(r->out, nonce) ? "" : " (no pass line)");
    else if (r->verdict == SANDBOX_RUNTIME_ERROR && r->err && python_failure(r->err, r->err_len, m, cap)) {}
    else snprintf(m, cap, "%s", r->detail);
}

static void judge(const test_case *c, const sandbox_job *j, const char *nonce, int index, reward_code_run *run) {
    const sandbox_result *r = &j->result;
    memset(run, 0, sizeof *run);
    run->test = index;
    run->exit_code = r->exit_code;
    run->signal = r->signal;
    run->cpu_ms = r->cpu_ms;
    run->wall_ms = r->wall_ms;
    run->rss_kb = r->max_rss_kb;
    set_verdict(run, sandbox_verdict_name(r->verdict));
    if (c->is_assert) {
        run->passed = r->verdict == SANDBOX_OK && last_line_is(r->out, nonce);
        if (!run->passed && (r->verdict == SANDBOX_OK ||
                             (r->verdict == SANDBOX_RUNTIME_ERROR && strstr(r->err, "AssertionError"))))
            set_verdict(run, "WRONG_ANSWER");
    } else {
        run->passed = r->verdict == SANDBOX_OK && same_output(r->out, c->expected);
        if (!run->passed && r->verdict == SANDBOX_OK) set_verdict(run, "WRONG_ANSWER");
    }
    if (!run->passed && r->err_len) excerpt(run->output, r->err, r->err_len, 1);
    else excerpt(run->output, r->out, r->out_len, 0);
    if (!run->passed) failure_message(c, r, nonce, run);
}

/* C with several tests: compile once ("c-build" hands the executable back)
 * and run the executable per test ("elf"), not gcc per test.  Returns 0
 * with *exe set, or 0 with *exe NULL and every row a compile error, or the
 * sandbox's error code. */
static int build_c_once(const reward_code_opts *o, const char *program, int n, char **exe, size_t *exe_len,
                        reward_code_run *rows, core_error *err) {
    sandbox_limits lim = o->lim;
    lim.output_kb = 16384; /* room for the executable */
    sandbox_program p = {.lang = "c-build", .source = program, .source_len = strlen(program)};
    sandbox_result r;
    int rc = sandbox_run(&lim, &p, NULL, 0, &r, err);
    *exe = NULL;
    if (rc == 0 && r.verdict == SANDBOX_OK && !r.truncated) {
        *exe = r.out; /* taken over: freed by the caller */
        *exe_len = r.out_len;
        r.out = NULL;
    } else if (rc == 0) {
        for (int i = 0; i < n; i++) {
            memset(&rows[i], 0, sizeof rows[i]);
            rows[i].test = i;
            set_verdict(&rows[i], sandbox_verdict_name(r.verdict == SANDBOX_OK ? SANDBOX_OUTPUT_LIMIT : r.verdict));
            rows[i].exit_code = r.exit_code;
            rows[i].signal = r.signal;
            excerpt(rows[i].output, r.err, r.err_len, 1);
        }
    }
    sandbox_result_free(&r);
    return rc;
}

/* Run the cases in batches; all-or-nothing stops after a failing batch.
 * Warm Python runs every case in one instance instead (a case costs ~1 ms
 * there, so stopping early saves nothing worth a second instance).  With
 * exe, every case runs that executable (lang "elf"). */
static int run_cases(const reward_code_opts *o, const char *lang, const test_case *cases, int n,
                     const char *exe, size_t exe_len, const char *nonce, reward_code_run *rows, int *ran,
                     int *passed, core_error *err) {
    int workers = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    int warm = o->warm && n > 1 && strcmp(lang, "python") == 0;
    int batch = o->fraction || warm ? n : (workers > 0 ? workers : 1);
    sandbox_program progs[REWARD_CODE_MAX_TESTS];
    sandbox_job jobs[REWARD_CODE_MAX_TESTS];
    int rc = 0;
    *ran = *passed = 0;
    for (int start = 0; start < n && rc == 0; start += batch) {
        int m = n - start < batch ? n - start : batch;
        for (int i = 0; i < m; i++) {
            const test_case *c = &cases[start + i];
            progs[i] = exe ? (sandbox_program){.lang = "elf", .source = exe, .source_len = exe_len}
                           : (sandbox_program){.lang = lang, .source = c->source, .source_len = strlen(c->source)};
            jobs[i] = (sandbox_job){.prog = &progs[i], .stdin_data = c->stdin_text,
                                    .stdin_len = c->stdin_text ? strlen(c->stdin_text) : 0};
        }
        rc = warm ? sandbox_run_python_batch(&o->lim, jobs, m, err) : sandbox_run_many(&o->lim, jobs, m, workers);
        int failed = 0;
        for (int i = 0; i < m; i++) {
            if (rc == 0) {
                judge(&cases[start + i], &jobs[i], nonce, start + i, &rows[start + i]);
                *passed += rows[start + i].passed;
                failed |= !rows[start + i].passed;
            } else if (jobs[i].rc && err) *err = jobs[i].error;
            sandbox_result_free(&jobs[i].result);
        }
        if (rc == 0) *ran = start + m;
        if (failed && !o->fraction) break;
    }
    return rc;
}

/* run_cases, with the C program built once first when several tests share it. */
static int run_tests_of(const reward_code_opts *o, const char *lang, const char *program, const test_case *cases,
                        int n, const char *nonce, reward_code_run *rows, int *ran, int *passed, core_error *err) {
    char *exe = NULL;
    size_t exe_len = 0;
    if (strcmp(lang, "c") == 0 && n > 1) {
        int rc = build_c_once(o, program, n, &exe, &exe_len, rows, err);
        if (rc) return rc;
        if (!exe) { /* did not compile: every test fails with the compiler's words */
            *ran = n;
            *passed = 0;
            return 0;
        }
    }
    int rc = run_cases(o, lang, cases, n, exe, exe_len, nonce, rows, ran, passed, err);
    free(exe);
    return rc;
}

int reward_code_run_tests(const char *completion, size_t len, const char *tests_json,
                          const reward_code_opts *o, double *score, char *detail, size_t cap,
                          reward_code_run *runs, int max_runs, int *n_runs, core_error *err) {
    *score = 0;
    if (n_runs) *n_runs = 0;
    cJSON *tests = cJSON_Parse(tests_json ? tests_json : "");
    if (!tests) {
        snprintf(detail, cap, "tests are not valid JSON");
        return core_fail(err, CORE_EINPUT, "code tests: not valid JSON near \"%.20s\"",
                         cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() : "");
    }
    char *program = malloc(MAX_PROGRAM), nonce[40];
    const char *lang = "python";
    test_case cases[REWARD_CODE_MAX_TESTS];
    reward_code_run rows[REWARD_CODE_MAX_TESTS];
    int n = 0, ran = 0, passed = 0, rc = 0;
    make_nonce(nonce, sizeof nonce);
    if (!program) rc = core_fail(err, CORE_ERUNTIME, "code reward: out of memory");
    else if (reward_code_extract(completion, len, program, MAX_PROGRAM, &lang) < 0) {
        snprintf(detail, cap, "no program found (no fenced block or <answer>)");
        program[0] = 0;
    } else if ((rc = build_cases(tests, program, nonce, cases, &n, err)) == 0) {
        if (cases[0].is_assert && strcmp(lang, "python") != 0)
            snprintf(detail, cap, "assert tests need a python program, got %s", lang);
        else if ((rc = run_tests_of(o, lang, program, cases, n, nonce, rows, &ran, &passed, err)) == 0) {
            *score = o->fraction ? (double)passed / n : (double)(passed == n);
            int first_fail = -1;
            for (int i = 0; i < ran && first_fail < 0; i++)
                if (!rows[i].passed) first_fail = i;
            if (first_fail < 0) snprintf(detail, cap, "%d/%d tests passed (%s)", passed, n, lang);
            else snprintf(detail, cap, "%d/%d tests passed (%s, %d run); test %d: %s", passed, n, lang, ran,
                          first_fail, rows[first_fail].verdict);
        } else snprintf(detail, cap, "sandbox failure: %s", err ? err->msg : "");
    }
    for (int i = 0; i < n; i++) free(cases[i].source);
    for (int i = 0; runs && i < ran && i < max_runs; i++) runs[i] = rows[i];
    if (n_runs) *n_runs = runs ? (ran < max_runs ? ran : max_runs) : ran;
    free(program);
    cJSON_Delete(tests);
    return rc;
}

/* ------------------------------------------------------------- component */

int reward_code_init(void **state, const core_config *cfg, core_error *err) {
    reward_code_opts *o = malloc(sizeof *o);
    if (!o) return core_fail(err, CORE_ERUNTIME, "code reward: out of memory");
    reward_code_opts_from_config(o, cfg);
    *state = o;
    if (cfg->sandbox.cpu_ms > cfg->sandbox.time_ms)
        return core_fail(err, CORE_EINPUT, "sandbox.cpu_ms = %d is above sandbox.time_ms = %d: the wall "
                         "clock would stop every program first, so it would never apply",
                         cfg->sandbox.cpu_ms, cfg->sandbox.time_ms);
    return 0;
}

void reward_code_free(void *state) { free(state); }

int reward_code_score(const reward_fn *r, void *state, const reward_input *in, reward_part *part) {
    (void)r;
    const reward_code_opts *o = state;
    part->value = 0;
    reward_runs_out *out = in->runs_out;
    if (out) out->n = 0;
    if (!in->tests) {
        snprintf(part->detail, sizeof part->detail, "no tests");
        return 0;
    }
    core_error err = {0};
    int rc = reward_code_run_tests(in->response, in->response_len, in->tests, o, &part->value, part->detail,
                                   sizeof part->detail, out ? out->rows : NULL, out ? out->max : 0,
                                   out ? &out->n : NULL, &err);
    if (rc) {
        snprintf(part->detail, sizeof part->detail, "%s", err.msg);
        return rc == CORE_EINPUT ? CORE_EINPUT : CORE_ERUNTIME; /* bad tests, or the sandbox failed */
    }
    return 0;
}
