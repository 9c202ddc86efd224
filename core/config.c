/*
 * config.c — the INI run configuration.
 *
 * config_keys.def is the single table of keys.  It is expanded here into
 * key_defs[]: each key's section, name, type, default (as INI text), range
 * and doc, and where it lives in struct core_config.  Defaults go through
 * the same parser as files and --set, so there is one code path for values.
 * Files are read with inih through a line-counting reader, so every error
 * names file, line and key.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ini.h>

#include "core/core.h"

enum key_type { KEY_INT, KEY_REAL, KEY_BOOL, KEY_STR, KEY_CHOICE };

typedef struct key_def {
    const char *section, *name;
    enum key_type type;
    size_t offset, size;
    const char *def_text; /* default as INI text */
    double lo, hi;        /* range for INT and REAL */
    const char *choices;  /* "a|b|c" for CHOICE */
    const char *doc;
} key_def;

#define FIELD(s, n) offsetof(core_config, s.n), sizeof(((core_config *)0)->s.n)
#define SECTION(s)
#define END_SECTION(s)
#define INT(s, n, def, lo, hi, doc) {#s, #n, KEY_INT, FIELD(s, n), #def, lo, hi, NULL, doc},
#define REAL(s, n, def, lo, hi, doc) {#s, #n, KEY_REAL, FIELD(s, n), #def, lo, hi, NULL, doc},
#define BOOL(s, n, def, doc) {#s, #n, KEY_BOOL, FIELD(s, n), #def, 0, 1, NULL, doc},
#define STR(s, n, def, doc) {#s, #n, KEY_STR, FIELD(s, n), def, 0, 0, NULL, doc},
#define CHOICE(s, n, def, ch, doc) {#s, #n, KEY_CHOICE, FIELD(s, n), def, 0, 0, ch, doc},
static const key_def key_defs[] = {
#include "core/config_keys.def"
};
#undef SECTION
#undef END_SECTION
#undef INT
#undef REAL
#undef BOOL
#undef STR
#undef CHOICE
static const int n_key_defs = sizeof key_defs / sizeof key_defs[0];

static const char *type_names[] = {"integer", "number", "boolean", "text", "choice"};

/* ----------------------------------------------------------- lookup & help */

static const key_def *find_key(const char *section, const char *name) {
    for (int i = 0; i < n_key_defs; i++)
        if (!strcmp(key_defs[i].section, section) && !strcmp(key_defs[i].name, name))
            return &key_defs[i];
    return NULL;
}

static int section_exists(const char *section) {
    for (int i = 0; i < n_key_defs; i++)
        if (!strcmp(key_defs[i].section, section)) return 1;
    return 0;
}

/* Levenshtein distance, capped: enough to suggest "dim" for "dimm". */
static int edit_distance(const char *a, const char *b) {
    int la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 99;
    int prev[64], cur[64];
    for (int j = 0; j <= lb; j++) prev[j] = j;
    for (int i = 1; i <= la; i++) {
        cur[0] = i;
        for (int j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

static void suggest_key(const char *section, const char *name, char *out, size_t cap) {
    int best = 3;
    out[0] = 0;
    for (int i = 0; i < n_key_defs; i++) {
        if (strcmp(key_defs[i].section, section)) continue;
        int d = edit_distance(name, key_defs[i].name);
        if (d < best) {
            best = d;
            snprintf(out, cap, " (did you mean '%s'?)", key_defs[i].name);
        }
    }
}

void core_config_print_reference(FILE *out) {
    const char *section = "";
    for (int i = 0; i < n_key_defs; i++) {
        const key_def *k = &key_defs[i];
        if (strcmp(k->section, section)) fprintf(out, "%s[%s]\n", i ? "\n" : "", section = k->section);
        fprintf(out, "  %s.%s = %s\n      %s; ", k->section, k->name, k->def_text, k->doc);
        if (k->type == KEY_CHOICE) fprintf(out, "one of %s\n", k->choices);
        else if (k->type == KEY_INT || k->type == KEY_REAL)
            fprintf(out, "%s in [%g, %g]\n", type_names[k->type], k->lo, k->hi);
        else fprintf(out, "%s\n", type_names[k->type]);
    }
}

/* ------------------------------------------------------------- set a value */

static int choice_allowed(const char *choices, const char *value) {
    size_t n = strlen(value);
    for (const char *c = choices; *c;) {
        const char *end = strchr(c, '|');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        if (len == n && !strncmp(c, value, n)) return 1;
        c += len + (end != NULL);
    }
    return 0;
}

static int parse_bool(const char *v, int *out) {
    static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i])) return *out = 1, 1;
        if (!strcasecmp(v, no[i])) return *out = 0, 1;
    }
    return 0;
}

/* Parse `value` for key k into cfg.  `where` is "file:line" or "--set". */
static int set_value(core_config *cfg, const key_def *k, const char *value, const char *where,
                     core_error *err) {
    void *field = (char *)cfg + k->offset;
    char *end;
    errno = 0;
    switch (k->type) {
    case KEY_INT: {
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno)
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: expected an integer, got '%s'", where,
                             k->section, k->name, value);
        if (v < k->lo || v > k->hi)
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: %ld is out of range [%g, %g]", where,
                             k->section, k->name, v, k->lo, k->hi);
        *(int *)field = (int)v;
        return 0;
    }
    case KEY_REAL: {
        double v = strtod(value, &end);
        if (end == value || *end || errno || !isfinite(v))
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: expected a number, got '%s'", where,
                             k->section, k->name, value);
        if (v < k->lo || v > k->hi)
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: %g is out of range [%g, %g]", where,
                             k->section, k->name, v, k->lo, k->hi);
        *(double *)field = v;
        return 0;
    }
    case KEY_BOOL:
        if (!parse_bool(value, (int *)field))
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: expected true or false, got '%s'",
                             where, k->section, k->name, value);
        return 0;
    case KEY_CHOICE:
        if (!choice_allowed(k->choices, value))
            return core_fail(err, CORE_EINPUT, "%s: %s.%s: expected one of %s, got '%s'", where,
                             k->section, k->name, k->choices, value);
        break;
    case KEY_STR:
        break;
    }
    if (strlen(value) >= k->size)
        return core_fail(err, CORE_EINPUT, "%s: %s.%s: value longer than %zu characters", where,
                         k->section, k->name, k->size - 1);
    strcpy(field, value);
    return 0;
}

static int set_named(core_config *cfg, const char *section, const char *name, const char *value,
                     const char *where, core_error *err) {
    const key_def *k = find_key(section, name);
    if (k) return set_value(cfg, k, value, where, err);
    if (!section_exists(section))
        return core_fail(err, CORE_EINPUT,
                         "%s: unknown section [%s] (sections: run model tasks pretrain rollout "
                         "reward learner sandbox db eval distill)",
                         where, section);
    char hint[96];
    suggest_key(section, name, hint, sizeof hint);
    return core_fail(err, CORE_EINPUT, "%s: unknown key '%s' in [%s]%s", where, name, section, hint);
}

void core_config_defaults(core_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    for (int i = 0; i < n_key_defs; i++) {
        core_error err;
        if (set_value(cfg, &key_defs[i], key_defs[i].def_text, "default", &err)) {
            /* A bad default is a bug in config_keys.def, caught by the tests. */
            fprintf(stderr, "grpo: internal error: %s\n", err.msg);
            abort();
        }
    }
}

/* ------------------------------------------------------------ INI parsing */

typedef struct ini_ctx {
    core_config *cfg;
    const char *path;
    FILE *file;
    int line;        /* counted by the reader: the line inih is handling */
    core_error *err;
    int failed;
    int n_entries;   /* key = value lines seen */
    int *set_at;     /* per key_defs[i]: the line that set it, 0 if none (duplicates) */
} ini_ctx;

/* inih reads through a fixed buffer (INI_MAX_LINE, 200 bytes with Debian's
 * libinih): a longer line would be cut and its tail parsed as the next
 * line.  Refuse it instead, naming the line. */
static char *counting_reader(char *buf, int size, void *stream) {
    ini_ctx *ctx = stream;
    if (ctx->failed) return NULL;
    char *s = fgets(buf, size, ctx->file);
    if (!s) return NULL;
    ctx->line++;
    size_t len = strlen(s);
    if (len == (size_t)size - 1 && s[len - 1] != '\n' && !feof(ctx->file)) {
        core_fail(ctx->err, CORE_EINPUT, "%s:%d: line longer than %d characters (the limit of a "
                  "config line); shorten it or pass the value with --set", ctx->path, ctx->line,
                  size - 2);
        ctx->failed = 1;
        return NULL;
    }
    return s;
}

static int on_ini_entry(void *user, const char *section, const char *name, const char *value) {
    ini_ctx *ctx = user;
    if (ctx->failed) return 1; /* keep the first error only */
    char where[600];
    snprintf(where, sizeof where, "%s:%d", ctx->path, ctx->line);
    if (!name) return 1; /* a section header alone (inih calls with name NULL if enabled) */
    if (!*section) {
        core_fail(ctx->err, CORE_EINPUT, "%s: key '%s' outside any [section]", where, name);
        ctx->failed = 1;
        return 0;
    }
    ctx->n_entries++;
    const key_def *k = find_key(section, name);
    if (k && ctx->set_at[k - key_defs]) {
        core_fail(ctx->err, CORE_EINPUT, "%s: %s.%s is set twice (first at line %d)", where, section,
                  name, ctx->set_at[k - key_defs]);
        ctx->failed = 1;
        return 0;
    }
    if (k) ctx->set_at[k - key_defs] = ctx->line;
    if (set_named(ctx->cfg, section, name, value, where, ctx->err)) ctx->failed = 1;
    return !ctx->failed;
}

int core_config_load(core_config *cfg, const char *path, core_error *err) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return core_fail(err, CORE_EINPUT, "%s: is a directory, not a config file", path);
    FILE *f = fopen(path, "r");
    if (!f) return core_fail(err, CORE_EINPUT, "%s: cannot open: %s", path, strerror(errno));
    int *set_at = calloc((size_t)n_key_defs, sizeof *set_at);
    if (!set_at) return fclose(f), core_fail(err, CORE_ERUNTIME, "out of memory");
    ini_ctx ctx = {cfg, path, f, 0, err, 0, 0, set_at};
    int rc = ini_parse_stream(counting_reader, &ctx, on_ini_entry, &ctx);
    fclose(f);
    free(set_at);
    if (ctx.failed) return CORE_EINPUT;
    if (rc == 0 && ctx.n_entries == 0)
        return core_fail(err, CORE_EINPUT, "%s: no settings in it (an empty config is more likely "
                         "a mistake than a wish for every default)", path);
    if (rc > 0)
        return core_fail(err, CORE_EINPUT, "%s:%d: syntax error (expected [section] or key = value)",
                         path, rc);
    if (rc < 0) return core_fail(err, CORE_ERUNTIME, "%s: could not be read", path);
    return 0;
}

int core_config_is_default(const core_config *cfg, const char *section, const char *name) {
    static core_config defaults;
    static int ready;
    if (!ready) core_config_defaults(&defaults), ready = 1;
    const key_def *k = find_key(section, name);
    if (!k) return 1;
    const char *a = (const char *)cfg + k->offset, *b = (const char *)&defaults + k->offset;
    if (k->type == KEY_STR || k->type == KEY_CHOICE) return !strcmp(a, b);
    return !memcmp(a, b, k->size);
}

int core_config_set(core_config *cfg, const char *assignment, core_error *err) {
    const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
    if (!dot || !eq || dot > eq)
        return core_fail(err, CORE_EINPUT, "--set %s: expected section.key=value", assignment);
    char section[64], name[64], where[600];
    size_t ls = dot - assignment, ln = eq - dot - 1;
    if (ls >= sizeof section || ln >= sizeof name || ls == 0 || ln == 0)
        return core_fail(err, CORE_EINPUT, "--set %s: expected section.key=value", assignment);
    memcpy(section, assignment, ls);
    section[ls] = 0;
    memcpy(name, dot + 1, ln);
    name[ln] = 0;
    snprintf(where, sizeof where, "--set %s", assignment);
    return set_named(cfg, section, name, eq + 1, where, err);
}

/* ---------------------------------------------------------- serialisation */

static void append(char **buf, size_t *len, size_t *cap, const char *text) {
    size_t n = strlen(text);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
        if (!*buf) abort();
    }
    memcpy(*buf + *len, text, n + 1);
    *len += n;
}

/* Shortest "%g" form that reads back as the same double. */
static void format_real(double v, char *out, size_t cap) {
    for (int prec = 6; prec <= 17; prec++) {
        snprintf(out, cap, "%.*g", prec, v);
        if (strtod(out, NULL) == v) return;
    }
}

char *core_config_to_ini(const core_config *cfg) {
    char *buf = NULL, line[CORE_STR_MAX + 128], value[CORE_STR_MAX + 32];
    size_t len = 0, cap = 0;
    const char *section = "";
    append(&buf, &len, &cap, "");
    for (int i = 0; i < n_key_defs; i++) {
        const key_def *k = &key_defs[i];
        const void *field = (const char *)cfg + k->offset;
        if (strcmp(k->section, section)) {
            snprintf(line, sizeof line, "%s[%s]\n", i ? "\n" : "", section = k->section);
            append(&buf, &len, &cap, line);
        }
        switch (k->type) {
        case KEY_INT: snprintf(value, sizeof value, "%d", *(const int *)field); break;
        case KEY_REAL: format_real(*(const double *)field, value, sizeof value); break;
        case KEY_BOOL: snprintf(value, sizeof value, "%s", *(const int *)field ? "true" : "false"); break;
        default: snprintf(value, sizeof value, "%s", (const char *)field); break;
        }
        snprintf(line, sizeof line, "%s = %s\n", k->name, value);
        append(&buf, &len, &cap, line);
    }
    return buf;
}

int core_split_list(const char *text, char items[][64], int max) {
    int n = 0;
    const char *p = text;
    while (*p && n < max) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *start = p;
        while (*p && *p != ',') p++;
        const char *end = p;
        while (end > start && isspace((unsigned char)end[-1])) end--;
        size_t len = end - start < 63 ? (size_t)(end - start) : 63;
        memcpy(items[n], start, len);
        items[n][len] = 0;
        n++;
    }
    return n;
}
