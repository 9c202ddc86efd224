/*
 * core.c — errors, logging, the seeded RNG, timers and the progress display.
 * The configuration lives in config.c.
 */
#include <math.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"

/* ------------------------------------------------------------------ errors */

int core_fail(core_error *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int core_fail_wrap(core_error *err, const char *fmt, ...) {
    if (!err) return CORE_ERUNTIME;
    char prefix[512], old[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    if (err->code == CORE_OK) err->code = CORE_ERUNTIME;
    return err->code;
}

/* ----------------------------------------------------------------- logging */

static enum core_log_level log_level = CORE_LOG_INFO;
static int log_rank = 0, log_n_ranks = 1;

void core_log_set_level(enum core_log_level level) { log_level = level; }

void core_log_set_rank(int rank, int n_ranks) {
    log_rank = rank;
    log_n_ranks = n_ranks;
}

void core_log(enum core_log_level level, const char *fmt, ...) {
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_level) return;
    char line[2048];
    int n = 0;
    if (log_n_ranks > 1) n = snprintf(line, sizeof line, "[rank %d/%d] ", log_rank, log_n_ranks);
    if (level != CORE_LOG_INFO) n += snprintf(line + n, sizeof line - n, "%s: ", names[level]);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", line); /* one call, so ranks' lines don't interleave */
}

/* --------------------------------------------------------------------- rng */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

core_rng core_rng_stream(uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b) {
    /* Hash the key tuple through splitmix64 so nearby keys give unrelated
     * streams, then expand it into the xoshiro256** state. */
    uint64_t x = seed;
    uint64_t key = splitmix64(&x);
    x = key ^ purpose * 0xd1b54a32d192ed03ULL;
    key = splitmix64(&x);
    x = key ^ a * 0x8cb92ba72f3d8dd7ULL;
    key = splitmix64(&x);
    x = key ^ b * 0xabc98388fb8fac03ULL;
    core_rng r;
    for (int i = 0; i < 4; i++) r.s[i] = splitmix64(&x);
    return r;
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t core_rng_next(core_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double core_rng_uniform(core_rng *r) { return (core_rng_next(r) >> 11) * 0x1.0p-53; }
float core_rng_uniformf(core_rng *r) { return (core_rng_next(r) >> 40) * 0x1.0p-24f; }

double core_rng_normal(core_rng *r) {
    double u1 = core_rng_uniform(r), u2 = core_rng_uniform(r);
    return sqrt(-2.0 * log(1.0 - u1)) * cos(2.0 * M_PI * u2);
}

uint64_t core_rng_below(core_rng *r, uint64_t n) {
    if (n == 0) return 0;
    uint64_t limit = UINT64_MAX - UINT64_MAX % n; /* reject the biased tail */
    uint64_t x;
    do x = core_rng_next(r);
    while (x >= limit);
    return x % n;
}

/* ------------------------------------------------------------------ timers */

double core_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- progress */

void core_progress_start_at(core_progress *p, const char *label, long first, long total, FILE *out) {
    p->label = label;
    p->total = total;
    p->done = p->first = first;
    p->started = core_now();
    p->last_print = 0;
    p->plain_every_s = 10;
    p->out = out;
    p->is_tty = isatty(fileno(out));
    struct winsize ws;
    p->width = p->is_tty && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col - 1 : 0;
    if (p->is_tty && !p->width) p->width = 79;
}

void core_progress_start(core_progress *p, const char *label, long total, FILE *out) {
    core_progress_start_at(p, label, 0, total, out);
}

static void format_duration(double s, char *buf, size_t cap) {
    if (!isfinite(s) || s < 0) snprintf(buf, cap, "?");
    else if (s < 60) snprintf(buf, cap, "%.0fs", s);
    else if (s < 3600) snprintf(buf, cap, "%dm%02ds", (int)s / 60, (int)s % 60);
    else snprintf(buf, cap, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
}

void core_progress_update(core_progress *p, long done, const char *metrics) {
    double now = core_now(), elapsed = now - p->started;
    p->done = done;
    int last = done >= p->total;
    if (!p->is_tty && !last && now - p->last_print < p->plain_every_s && p->last_print > 0) return;
    if (p->is_tty && !last && now - p->last_print < 0.1) return;
    p->last_print = now;
    double rate = elapsed > 0 ? (done - p->first) / elapsed : 0;
    char eta[32], el[32], line[512];
    format_duration(rate > 0 ? (p->total - done) / rate : NAN, eta, sizeof eta);
    format_duration(elapsed, el, sizeof el);
    int len = snprintf(line, sizeof line, "%s %ld/%ld  %.2f/s  elapsed %s  eta %s  %s", p->label, done,
                       p->total, rate, el, eta, metrics ? metrics : "");
    if (p->width > 0 && len > p->width && p->width < (int)sizeof line) line[p->width] = 0; /* no wrapped walls */
    fprintf(p->out, "%s%s%s", p->is_tty ? "\r\033[K" : "", line, p->is_tty ? "" : "\n");
    fflush(p->out);
}

void core_progress_finish(core_progress *p) {
    if (p->is_tty) fputc('\n', p->out);
    fflush(p->out);
}

/* ------------------------------------------------------------ clean stops */

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig) {
    if (stop_signal) { /* asked twice: stop now */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

void core_stop_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

int core_stop_signal(void) { return stop_signal; }

/* ------------------------------------------------------------------- UTF-8 */

/* Length of the well-formed UTF-8 sequence at s[0..n) (Unicode table 3-7),
 * or 0 if it is ill-formed; *bad gets the length of the ill-formed prefix. */
static size_t utf8_sequence(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need = 0;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    size_t k = 1;
    while (need && k <= need && k < n) {
        unsigned char d = s[k];
        if (k == 1 ? (d < lo || d > hi) : (d < 0x80 || d > 0xBF)) break;
        k++;
    }
    if (need && k == need + 1) return k;
    *bad = k;
    return 0;
}

char *core_utf8_lossy(const char *s, size_t n, size_t *out_len) {
    char *out = malloc(3 * n + 1), *o = out; /* U+FFFD is 3 bytes, for at least 1 byte in */
    if (!out) return NULL;
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t bad = 0, len = utf8_sequence(u + i, n - i, &bad);
        if (len) memcpy(o, u + i, len), o += len, i += len;
        else memcpy(o, "\xEF\xBF\xBD", 3), o += 3, i += bad;
    }
    *o = 0;
    if (out_len) *out_len = (size_t)(o - out);
    return out;
}
