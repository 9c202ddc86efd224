/*
 * core/ — what every folder uses: errors, logging, the seeded RNG, timers,
 * the progress display and the run configuration.
 *
 * Conventions (DESIGN.md): functions return 0 on success or a CORE_E* code
 * and fill a core_error; only cmd/ prints and exits.  Exit codes follow the
 * error codes: 1 runtime failure, 2 bad usage or bad input.
 */
#ifndef GRPO_CORE_H
#define GRPO_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define GRPO_VERSION "0.1.0"

/* ------------------------------------------------------------------ errors */

enum { CORE_OK = 0, CORE_ERUNTIME = 1, CORE_EINPUT = 2 };

typedef struct core_error {
    int code;        /* CORE_OK, CORE_ERUNTIME or CORE_EINPUT */
    char msg[1024];  /* "file:line: key: what was expected" style */
} core_error;

/* Fill err (may be NULL) and return code, so callers write
 * `return core_fail(err, CORE_EINPUT, "%s:%d: ...", file, line);` */
int core_fail(core_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix an existing message with more context ("while loading X: ..."). */
int core_fail_wrap(core_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ----------------------------------------------------------------- logging */

enum core_log_level { CORE_LOG_DEBUG, CORE_LOG_INFO, CORE_LOG_WARN, CORE_LOG_ERROR };

void core_log_set_level(enum core_log_level level);
void core_log_set_rank(int rank, int n_ranks); /* prefix "[rank r/n]" when n > 1 */
void core_log(enum core_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define core_info(...)  core_log(CORE_LOG_INFO, __VA_ARGS__)
#define core_warn(...)  core_log(CORE_LOG_WARN, __VA_ARGS__)
#define core_debug(...) core_log(CORE_LOG_DEBUG, __VA_ARGS__)

/* --------------------------------------------------------------------- rng */

/* xoshiro256** state.  Streams are derived from (seed, purpose, a, b) by
 * hashing, never from the rank, so the same seed gives the same run on any
 * number of ranks.  Purposes name what the randomness is for. */
typedef struct core_rng { uint64_t s[4]; } core_rng;

enum core_rng_purpose {
    CORE_RNG_INIT = 1,     /* parameter initialisation */
    CORE_RNG_TASKS,        /* which prompts a step draws; a = step */
    CORE_RNG_SAMPLE,       /* token sampling; a = step, b = prompt*G + sample */
    CORE_RNG_CORPUS,       /* base-model corpus generation */
    CORE_RNG_SHUFFLE,      /* minibatch order; a = step, b = epoch */
    CORE_RNG_EVAL,         /* evaluation sampling */
    CORE_RNG_TEST          /* tests */
};

core_rng core_rng_stream(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b);
uint64_t core_rng_next(core_rng *r);
double   core_rng_uniform(core_rng *r);          /* [0, 1) with 53 bits */
float    core_rng_uniformf(core_rng *r);         /* [0, 1) with 24 bits */
double   core_rng_normal(core_rng *r);           /* N(0, 1), Box-Muller */
uint64_t core_rng_below(core_rng *r, uint64_t n); /* uniform in [0, n), unbiased */

/* ------------------------------------------------------------------ timers */

double core_now(void); /* monotonic seconds */

/* ------------------------------------------------------------ clean stops */

/* After core_stop_install, SIGINT, SIGTERM and SIGHUP set a flag instead of
 * ending the process: a long loop polls core_stop_signal() (0, or the
 * signal's number) and stops at a safe point (after the step, with a
 * checkpoint).  A second signal ends the process at once, as the default
 * action would.  The exit status of a stopped command is 128 + the signal
 * (130 for Ctrl-C, 143 for SIGTERM), as shells expect. */
void core_stop_install(void);
int core_stop_signal(void);

/* ------------------------------------------------------------------- text */

/* s[0..n) as valid UTF-8 (malloc'd, NUL-terminated; NULL when out of
 * memory): every maximal ill-formed subsequence becomes U+FFFD, as Python's
 * errors="replace" does, so JSON output stays valid text however a token
 * boundary cut a character.  NUL bytes are kept; *out_len (may be NULL)
 * gets the length. */
char *core_utf8_lossy(const char *s, size_t n, size_t *out_len);

/* ---------------------------------------------------------------- progress */

/* On a terminal: one live line redrawn in place.  In a pipe or CI: a plain
 * line at most every `plain_every_s` seconds (and on the last step). */
typedef struct core_progress {
    const char *label;
    long total, done;
    long first;       /* steps done before this process started (resume): not in the rate */
    double started, last_print, plain_every_s;
    int is_tty;
    int width;        /* the line is cut to this many columns (terminal width; 0: no limit) */
    FILE *out;
} core_progress;

void core_progress_start(core_progress *p, const char *label, long total, FILE *out);
/* The same for a resumed run that already did `first` of its `total` steps:
 * the rate and ETA count only the steps this process does. */
void core_progress_start_at(core_progress *p, const char *label, long first, long total, FILE *out);
/* metrics: short "key=value ..." text shown after step, rate and ETA */
void core_progress_update(core_progress *p, long done, const char *metrics);
void core_progress_finish(core_progress *p);

/* ------------------------------------------------------------------ config */

#include "config.h"

#endif
