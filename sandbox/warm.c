/*
 * Warm Python: many runs of Python programs in one instance, each forked
 * from an interpreter that has already started (start-up is most of a short
 * Python run: ~8 ms of ~9).  For the code reward, whose runs of one
 * completion are its tests: same author, same isolation from the host and
 * from other completions, shared only among themselves.
 *
 * The instance runs RUNNER (below) under python3 -I -S.  Its stdin is the
 * batch: "GRPOBATCH n cap time_ms cpu_s\n", then per job "J srclen inlen\n",
 * the source and the stdin.  Per job it forks; the child starts a session,
 * takes the job's stdin and output files (in /tmp, capped by RLIMIT_FSIZE),
 * gets its own RLIMIT_CPU (cpu_s: the job's CPU limit as rlimits.c sets a
 * cold run's, rounded up to seconds, +1 s), and execs the source as __main__; the runner waits (pidfd + poll) up to
 * time_ms, kills the job's session on time-out, kills every other process
 * it can (kill(-1): stragglers; only when it is not root: in an instance it
 * never is (uid 60000, or nobody without a user namespace), and run by hand
 * as root outside one, kill(-1) would kill every process on the machine),
 * reaps (it is a child subreaper), and
 * writes "R i exit signal cpu_ms wall_ms rss_kb timed_out outlen errlen\n"
 * plus the captured bytes (at most cap+1 each) to the real stdout, which
 * the jobs never hold.  The runner is non-dumpable: a job cannot reach its
 * descriptors through /proc.  A job can kill the runner; then the jobs not
 * yet run fail (RUNTIME_ERROR): it can spoil its own tests, never forge a
 * result.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sandbox/internal.h"

static const char RUNNER[] =
    "import os, sys, time, select, io, traceback, resource\n"
    "def read_batch():\n"
    "    raw = sys.stdin.buffer.read()\n"
    "    pos = raw.index(b'\\n'); hdr = raw[:pos].split(); pos += 1\n"
    "    n, cap, tmo, cpu = int(hdr[1]), int(hdr[2]), int(hdr[3]), int(hdr[4])\n"
    "    jobs = []\n"
    "    for _ in range(n):\n"
    "        e = raw.index(b'\\n', pos); _, sl, il = raw[pos:e].split(); sl, il = int(sl), int(il); pos = e + 1\n"
    "        jobs.append((raw[pos:pos + sl], raw[pos + sl:pos + sl + il])); pos += sl + il\n"
    "    return jobs, cap, tmo, cpu\n"
    "def child(src, paths, res, cpu):\n"
    "    rc = 1\n"
    "    try:\n"
    "        os.setsid(); os.close(res)\n"
    "        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))\n"
    "        for fd, path, flags in ((0, paths[0], os.O_RDONLY), (1, paths[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),\n"
    "                                (2, paths[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):\n"
    "            f = os.open(path, flags, 0o644); os.dup2(f, fd); os.close(f)\n"
    "        os.closerange(3, 1 << 16)\n"
    "        sys.stdin = open(0, 'r', encoding='utf-8', closefd=False)\n"
    "        sys.stdout = open(1, 'w', encoding='utf-8', closefd=False)\n"
    "        sys.stderr = open(2, 'w', encoding='utf-8', errors='backslashreplace', closefd=False, buffering=1)\n"
    "        sys.argv = ['main.py']\n"
    "        g = {'__name__': '__main__', '__file__': 'main.py', '__builtins__': __builtins__}\n"
    "        import linecache  # tracebacks show the failing line (the assert), as from a file\n"
    "        linecache.cache['main.py'] = (len(src), None, src.decode('utf-8', 'replace').splitlines(True), 'main.py')\n"
    "        try:\n"
    "            exec(compile(src, 'main.py', 'exec'), g); rc = 0\n"
    "        except SystemExit as e:\n"
    "            c = e.code\n"
    "            rc = 0 if c is None else c if isinstance(c, int) else (print(c, file=sys.stderr), 1)[1]\n"
    "        except BaseException:\n"
    "            et, ev, tb = sys.exc_info()\n"
    "            traceback.print_exception(et, ev, tb.tb_next); rc = 1\n"
    "        try:\n"
    "            sys.stdout.flush(); sys.stderr.flush()\n"
    "        except BaseException:\n"
    "            rc = rc or 1\n"
    "    finally:\n"
    "        os._exit(rc & 255)\n"
    "def reap_all():\n"
    "    try:\n"
    "        if os.getuid() != 0: os.kill(-1, 9)\n"
    "    except OSError:\n"
    "        pass\n"
    "    while True:\n"
    "        try:\n"
    "            os.waitpid(-1, 0)\n"
    "        except ChildProcessError:\n"
    "            return\n"
    "        except InterruptedError:\n"
    "            pass\n"
    "def slurp(path, cap):\n"
    "    try:\n"
    "        with open(path, 'rb') as f: return f.read(cap + 1)\n"
    "    except OSError:\n"
    "        return b''\n"
    "def run_one(i, src, data, cap, tmo, cpu, res):\n"
    "    paths = ('/tmp/.in%d' % i, '/tmp/.out%d' % i, '/tmp/.err%d' % i)\n"
    "    with open(paths[0], 'wb') as f: f.write(data)\n"
    "    t0 = time.monotonic()\n"
    "    pid = os.fork()\n"
    "    if pid == 0: child(src, paths, res, cpu)\n"
    "    p = select.poll(); pfd = os.pidfd_open(pid); p.register(pfd, select.POLLIN)\n"
    "    timed_out = 0\n"
    "    if not p.poll(tmo):\n"
    "        timed_out = 1\n"
    "        try: os.killpg(pid, 9)\n"
    "        except OSError: pass\n"
    "    _, status, ru = os.wait4(pid, 0)\n"
    "    wall = (time.monotonic() - t0) * 1000\n"
    "    os.close(pfd); reap_all()\n"
    "    out, err = slurp(paths[1], cap), slurp(paths[2], cap)\n"
    "    for path in paths:\n"
    "        try: os.unlink(path)\n"
    "        except OSError: pass\n"
    "    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1\n"
    "    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0\n"
    "    cpu = (ru.ru_utime + ru.ru_stime) * 1000\n"
    "    head = ('R %d %d %d %.3f %.3f %d %d %d %d\\n' % (i, code, sig, cpu, wall, ru.ru_maxrss, timed_out,\n"
    "                                                   len(out), len(err))).encode()\n"
    "    msg = head + out + err\n"
    "    while msg: msg = msg[os.write(res, msg):]\n"
    "def main():\n"
    "    jobs, cap, tmo, cpu = read_batch()\n"
    "    try: os.unlink(sys.argv[0])\n"  /* a job's SyntaxError would quote this file's line, not its own */
    "    except OSError: pass\n"
    "    try:\n"
    "        import ctypes\n"
    "        libc = ctypes.CDLL(None, use_errno=True)\n"
    "        libc.prctl(4, 0, 0, 0, 0)\n"   /* PR_SET_DUMPABLE 0 */
    "        libc.prctl(36, 1, 0, 0, 0)\n"  /* PR_SET_CHILD_SUBREAPER */
    "    except Exception:\n"
    "        pass\n"
    "    res = os.dup(1)\n"
    "    null = os.open('/dev/null', os.O_RDWR); os.dup2(null, 1); os.dup2(null, 0)\n"
    "    for i, (src, data) in enumerate(jobs):\n"
    "        run_one(i, src, data, cap, tmo, cpu, res)\n"
    "main()\n";

int sb_is_warm_runner(const char *src, size_t len) {
    return src && len == sizeof RUNNER - 1 && memcmp(src, RUNNER, len) == 0;
}

/* The batch on the runner's stdin; NULL when out of memory. */
static char *frame_batch(const sandbox_limits *lim, const sandbox_job *jobs, int n, size_t *len) {
    size_t cap = 64;
    for (int i = 0; i < n; i++) cap += 64 + jobs[i].prog->source_len + jobs[i].stdin_len;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    int cpu_s = ((lim->cpu_ms > 0 ? lim->cpu_ms : lim->time_ms) + 999) / 1000 + 1; /* as rlimits.c */
    size_t k = (size_t)snprintf(buf, cap, "GRPOBATCH %d %d %d %d\n", n, lim->output_kb * 1024, lim->time_ms,
                                cpu_s);
    for (int i = 0; i < n; i++) {
        const sandbox_job *j = &jobs[i];
        k += (size_t)snprintf(buf + k, cap - k, "J %zu %zu\n", j->prog->source_len, j->stdin_len);
        memcpy(buf + k, j->prog->source, j->prog->source_len);
        k += j->prog->source_len;
        if (j->stdin_len) memcpy(buf + k, j->stdin_data, j->stdin_len);
        k += j->stdin_len;
    }
    *len = k;
    return buf;
}

static char *copy_capped(const char *src, size_t len, size_t cap, size_t *out_len) {
    size_t n = len < cap ? len : cap;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, src, n);
        s[n] = 0;
    }
    *out_len = n;
    return s;
}

/* One job's verdict from the runner's figures (as decide_run does). */
static void judge_job(sandbox_result *r, const sandbox_limits *lim, int timed_out, int over) {
    int cpu_limit = lim->cpu_ms > 0 ? lim->cpu_ms : lim->time_ms;
    r->verdict = SANDBOX_RUNTIME_ERROR;
    if (timed_out) {
        r->verdict = SANDBOX_TIME_LIMIT;
        snprintf(r->detail, sizeof r->detail, "wall clock %d ms", lim->time_ms);
    } else if (over) {
        r->verdict = SANDBOX_OUTPUT_LIMIT;
        snprintf(r->detail, sizeof r->detail, "output over %d KB", lim->output_kb);
    } else if (r->signal == SIGXCPU || r->cpu_ms > cpu_limit) {
        r->verdict = SANDBOX_TIME_LIMIT;
        snprintf(r->detail, sizeof r->detail, "cpu time %.0f ms > %d ms", r->cpu_ms, cpu_limit);
    } else if (r->signal == SIGXFSZ) {
        r->verdict = SANDBOX_OUTPUT_LIMIT;
        snprintf(r->detail, sizeof r->detail, "file size limit %d MB", lim->file_mb);
    } else if (r->signal == SIGKILL) {
        r->verdict = SANDBOX_MEMORY_LIMIT;
        snprintf(r->detail, sizeof r->detail, "killed (memory limit %d MB)", lim->mem_mb);
    } else if (r->signal) {
        snprintf(r->detail, sizeof r->detail, "killed by signal %d (%s)", r->signal, strsignal(r->signal));
    } else if (r->exit_code == 0) {
        r->verdict = SANDBOX_OK;
        snprintf(r->detail, sizeof r->detail, "exit 0 (warm)");
    } else {
        snprintf(r->detail, sizeof r->detail, "exit %d", r->exit_code);
    }
}

/* Parse the runner's records into the jobs' results; returns how many. */
static int parse_records(const sandbox_result *inst, const sandbox_limits *lim, sandbox_job *jobs, int n) {
    const char *p = inst->out, *end = inst->out + inst->out_len;
    size_t cap = (size_t)lim->output_kb * 1024;
    int done = 0;
    while (p < end) {
        int i, code, sig, timed_out;
        double cpu, wall;
        long rss;
        size_t out_len, err_len;
        /* The header line alone: a "\n" in the format would also eat the
         * leading blanks of the output that follows ("  File ..."). */
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        char head[256];
        if (!nl || nl - p >= (long)sizeof head) break;
        memcpy(head, p, (size_t)(nl - p));
        head[nl - p] = 0;
        if (sscanf(head, "R %d %d %d %lf %lf %ld %d %zu %zu", &i, &code, &sig, &cpu, &wall, &rss, &timed_out,
                   &out_len, &err_len) != 9 || i < 0 || i >= n)
            break;
        p = nl + 1;
        if ((size_t)(end - p) < out_len + err_len) break;
        sandbox_result *r = &jobs[i].result;
        memset(r, 0, sizeof *r);
        r->exit_code = code;
        r->signal = sig;
        r->cpu_ms = cpu;
        r->wall_ms = wall;
        r->max_rss_kb = rss;
        r->isolation = inst->isolation;
        r->truncated = out_len > cap || err_len > cap;
        r->out = copy_capped(p, out_len, cap, &r->out_len);
        r->err = copy_capped(p + out_len, err_len, cap, &r->err_len);
        p += out_len + err_len;
        judge_job(r, lim, timed_out, r->truncated);
        jobs[i].rc = 0;
        done++;
    }
    return done;
}

int sandbox_run_python_batch(const sandbox_limits *lim, sandbox_job *jobs, int n, core_error *err) {
    for (int i = 0; i < n; i++) {
        memset(&jobs[i].result, 0, sizeof jobs[i].result);
        jobs[i].rc = CORE_ERUNTIME;
        jobs[i].error = (core_error){0};
        if (!jobs[i].prog || !jobs[i].prog->source || !jobs[i].prog->lang || strcmp(jobs[i].prog->lang, "python"))
            return core_fail(err, CORE_EINPUT, "warm batch: job %d is not a python program with a source", i);
    }
    size_t in_len = 0;
    char *in = frame_batch(lim, jobs, n, &in_len);
    if (!in) return core_fail(err, CORE_ERUNTIME, "warm batch: out of memory");
    /* The instance: room for every job's time and output; the runner
     * enforces each job's own wall clock and output cap. */
    sandbox_limits inst_lim = *lim;
    long total_ms = (long)n * (lim->time_ms + 200) + 2000;
    inst_lim.time_ms = total_ms > 3600000 ? 3600000 : (int)total_ms;
    inst_lim.cpu_ms = 0;
    inst_lim.output_kb = n * (2 * lim->output_kb + 1) + 1;
    inst_lim.max_procs = lim->max_procs + 1;
    sandbox_program runner = {.lang = "python", .source = RUNNER, .source_len = sizeof RUNNER - 1};
    sandbox_result inst;
    int rc = sandbox_run(&inst_lim, &runner, in, in_len, &inst, err);
    free(in);
    if (rc == 0) {
        int done = parse_records(&inst, lim, jobs, n);
        for (int i = 0; i < n; i++) {
            if (jobs[i].rc == 0) continue;
            /* never ran: the runner died or the instance hit a limit */
            sandbox_result *r = &jobs[i].result;
            r->out = calloc(1, 1);
            r->err = calloc(1, 1);
            r->exit_code = -1;
            r->isolation = inst.isolation;
            r->verdict = inst.verdict == SANDBOX_OK ? SANDBOX_RUNTIME_ERROR : inst.verdict;
            snprintf(r->detail, sizeof r->detail, "not run: the batch ended after %d of %d jobs (%s)", done, n,
                     inst.detail);
            jobs[i].rc = 0;
        }
    } else {
        for (int i = 0; i < n; i++) jobs[i].error = *err;
    }
    sandbox_result_free(&inst);
    return rc;
}
