/*
 * The language table.  A language is a row, not a code path: the file the
 * source is written to inside /work, an optional compile argv (run as its
 * own step, under its own limits, inside the same instance), and the run
 * argv, to which the program's own arguments are appended.
 *
 * Paths are absolute and must lie under the read-only system directories
 * that mounts.c exposes (/usr, /bin, /lib...).  Python runs in isolated mode
 * (-I: no user site, no PYTHON* environment, no script dir on sys.path),
 * with site: -S would save ~1 ms but takes away exit() and quit(), which
 * model-written programs call.
 */
#include <string.h>

#include "sandbox/internal.h"

static const sb_lang LANGS[] = {
    {.name = "python",
     .source_file = "main.py",
     .compile = {NULL},
     .run = {"/usr/bin/python3", "-I", "-B", "main.py", NULL}},
    {.name = "c",
     .source_file = "main.c",
     .compile = {"/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-o", "main", "main.c", "-lm", NULL},
     .run = {"./main", NULL}},
    {.name = "sh",
     .source_file = "main.sh",
     .compile = {NULL},
     .run = {"/bin/sh", "main.sh", NULL}},
    /* c-build: compile once and hand the executable back on stdout (give
     * the run an output cap that fits it); elf: run such an executable.
     * The code reward compiles a completion once this way, not per test. */
    {.name = "c-build",
     .source_file = "main.c",
     .compile = {"/usr/bin/gcc", "-std=gnu17", "-O2", "-pipe", "-o", "main", "main.c", "-lm", NULL},
     .run = {"/bin/cat", "main", NULL}},
    {.name = "elf", .source_file = "main", .executable = 1, .compile = {NULL}, .run = {"./main", NULL}},
    /* exec: argv comes whole from the program (benchmarks, tests). */
    {.name = "exec", .source_file = NULL, .compile = {NULL}, .run = {NULL}},
};

const sb_lang *sb_lang_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < sizeof LANGS / sizeof LANGS[0]; i++)
        if (strcmp(LANGS[i].name, name) == 0) return &LANGS[i];
    return NULL;
}

int sandbox_lang_known(const char *lang) { return sb_lang_find(lang) != NULL; }
