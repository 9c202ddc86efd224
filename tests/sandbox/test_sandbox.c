/*
 * sandbox_run: correct programs get OK and the right output; each hostile
 * program in tests/sandbox/hostile/ ends with its expected verdict, leaves
 * no process behind, writes nothing outside its work dir and connects
 * nowhere.  Run through tests/sandbox/wrap.sh (the outer envelope); a
 * hostile test outside a complete envelope skips, saying why.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "tests/sandbox/namespaces.h"

#define HOSTILE "tests/sandbox/hostile/"

/* ---------------------------------------------------------------- helpers */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert(fread(buf, 1, (size_t)n, f) == (size_t)n);
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static const char *lang_of(const char *path) {
    const char *dot = strrchr(path, '.');
    if (dot && strcmp(dot, ".py") == 0) return "python";
    if (dot && strcmp(dot, ".c") == 0) return "c";
    return "sh";
}

static int run_source(const char *lang, const char *src, const sandbox_limits *lim,
                      const char *in, sandbox_result *r) {
    sandbox_program p = {.lang = lang, .source = src, .source_len = strlen(src)};
    core_error err = {0};
    int rc = sandbox_run(lim, &p, in, in ? strlen(in) : 0, r, &err);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(err.msg);
    cr_assert(rc == 0 || r->verdict == SANDBOX_ERROR, "rc %d with verdict %s", rc,
              sandbox_verdict_name(r->verdict));
    cr_assert_eq(rc, 0, "sandbox_run failed: %s", err.msg);
    return rc;
}

static void run_hostile(const char *file, const sandbox_limits *lim, const char *in, sandbox_result *r) {
    char path[256];
    size_t len;
    snprintf(path, sizeof path, HOSTILE "%s", file);
    char *src = slurp(path, &len);
    run_source(lang_of(file), src, lim, in, r);
    free(src);
}

static sandbox_limits limits(int time_ms, int mem_mb) {
    sandbox_limits lim;
    sandbox_limits_default(&lim);
    lim.time_ms = time_ms;
    lim.mem_mb = mem_mb;
    return lim;
}

/* Processes whose name (comm) is `name`, anywhere we can see. */
static int count_named(const char *name) {
    DIR *d = opendir("/proc");
    cr_assert(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], comm[64] = {0};
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        if (fgets(comm, sizeof comm, f)) {
            comm[strcspn(comm, "\n")] = 0;
            if (strcmp(comm, name) == 0) n++;
        }
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Hostile programs run only inside wrap.sh's envelope: a PID namespace of
 * our own (its PID 1 is wrap.sh's grpo-envelope-init) and a capped cgroup
 * we are in. */
static void require_envelope(void) {
    const char *kind = getenv("GRPO_ENVELOPE");
    if (!kind || strncmp(kind, "cgroup-", 7) != 0) {
        const char *why = getenv("GRPO_ENVELOPE_WHY");
        cr_skip_test("hostile test needs tests/sandbox/wrap.sh's envelope: %s",
                     why ? why : "not run through wrap.sh");
    }
    char init[512] = {0};
    FILE *c = fopen("/proc/1/cmdline", "r");
    size_t got = c ? fread(init, 1, sizeof init - 1, c) : 0;
    if (c) fclose(c);
    for (size_t i = 0; i < got; i++) init[i] = init[i] ? init[i] : ' ';
    if (!strstr(init, "grpo-envelope-init"))
        cr_skip_test("hostile test needs the envelope's PID namespace (pid 1 is \"%s\")", init);
    char cg[4096] = {0};
    FILE *f = fopen("/proc/self/cgroup", "r");
    size_t n = f ? fread(cg, 1, sizeof cg - 1, f) : 0;
    if (f) fclose(f);
    cg[n] = 0;
    const char *name = getenv("GRPO_ENVELOPE_NAME");
    if (!name || !strstr(cg, name)) cr_skip_test("hostile test: not inside the envelope cgroup");
}

/* ------------------------------------------------------- correct programs */

Test(sandbox, python_reads_stdin_and_prints) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("python", "import sys\nprint(sum(int(x) for x in sys.stdin.read().split()))\n", &lim,
               "1 2 3 40\n", &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s / %s", r.detail, r.out, r.err);
    cr_assert_str_eq(r.out, "46\n");
    cr_assert_eq(r.exit_code, 0);
    cr_assert_eq(r.truncated, 0);
    cr_assert(r.wall_ms > 0 && r.max_rss_kb > 0);
    sandbox_result_free(&r);
}

/* exit() and quit() exist (python3 without -S): model-written code calls them. */
Test(sandbox, python_exit_builtin) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("python", "print('bye')\nexit(3)\n", &lim, NULL, &r);
    cr_assert_eq(r.exit_code, 3, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "bye\n");
    sandbox_result_free(&r);
}

Test(sandbox, c_compiles_inside_and_runs) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("c", "#include <stdio.h>\nint main(void){long a,b; if(scanf(\"%ld %ld\",&a,&b)!=2) return 1;"
               " printf(\"%ld\\n\", a*b); return 0;}\n", &lim, "6 7", &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "42\n");
    sandbox_result_free(&r);
}

/* c-build hands the executable back; elf runs it in another instance. */
Test(sandbox, c_build_then_elf) {
    sandbox_result b, r;
    sandbox_limits lim = limits(5000, 256);
    lim.output_kb = 8192;
    run_source("c-build", "#include <stdio.h>\nint main(void){puts(\"built once\"); return 0;}\n", &lim, NULL, &b);
    cr_assert_eq(b.verdict, SANDBOX_OK, "%s: %s", b.detail, b.err);
    cr_assert(b.out_len > 1000 && memcmp(b.out, "\177ELF", 4) == 0, "not an executable (%zu bytes)", b.out_len);
    sandbox_program p = {.lang = "elf", .source = b.out, .source_len = b.out_len};
    core_error err = {0};
    lim.output_kb = 64;
    cr_assert_eq(sandbox_run(&lim, &p, NULL, 0, &r, &err), 0, "%s", err.msg);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "built once\n");
    sandbox_result_free(&b);
    sandbox_result_free(&r);
}

Test(sandbox, c_compile_error_is_runtime_error_with_message) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("c", "int main(void) { return undeclared_name; }\n", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_RUNTIME_ERROR);
    cr_assert(strstr(r.detail, "compile error"), "%s", r.detail);
    cr_assert(strstr(r.err, "undeclared_name"), "%s", r.err);
    sandbox_result_free(&r);
}

Test(sandbox, sh_and_separate_streams) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_source("sh", "echo out; echo err >&2; exit 3\n", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_RUNTIME_ERROR);
    cr_assert_eq(r.exit_code, 3);
    cr_assert_str_eq(r.out, "out\n");
    cr_assert_str_eq(r.err, "err\n");
    sandbox_result_free(&r);
}

Test(sandbox, exec_true_with_every_layer) {
    const char *argv[] = {"/bin/true", NULL};
    sandbox_program p = {.lang = "exec", .argv = argv};
    sandbox_limits lim = limits(2000, 64);
    sandbox_result r;
    core_error err = {0};
    int rc = sandbox_run(&lim, &p, NULL, 0, &r, &err);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(err.msg);
    cr_assert_eq(rc, 0, "%s", err.msg);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s", r.detail);
    unsigned need = SANDBOX_ISO_USER | SANDBOX_ISO_PID | SANDBOX_ISO_NET | SANDBOX_ISO_MOUNT |
                    SANDBOX_ISO_IPC | SANDBOX_ISO_UTS | SANDBOX_ISO_FS | SANDBOX_ISO_NNP |
                    SANDBOX_ISO_SECCOMP | SANDBOX_ISO_RLIMITS;
    cr_assert_eq(r.isolation & need, need, "isolation %#x", r.isolation);
    if (getenv("GRPO_ENVELOPE") && strncmp(getenv("GRPO_ENVELOPE"), "cgroup-", 7) == 0)
        cr_assert_eq(r.isolation, SANDBOX_ISO_ALL, "cgroups expected inside the envelope: %#x", r.isolation);
    char names[256];
    sandbox_isolation_names(r.isolation, names, sizeof names);
    cr_assert(strstr(names, "user,pid,net,mount,ipc,uts,fs,nnp,seccomp,rlimits"), "%s", names);
    sandbox_result_free(&r);
}

Test(sandbox, the_view_from_inside) {
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("python",
               "import os, socket\n"
               "print(os.getuid(), socket.gethostname(), os.getpid() < 10)\n"
               "print(sorted(os.listdir('/')))\n"
               "print(os.getcwd(), os.access('/usr', os.W_OK), os.access('/work', os.W_OK))\n"
               "print(len(os.listdir('/proc')) < 20)\n"
               "print('ifaces', sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n",
               &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(strstr(r.out, "60000 sandbox True\n"), "%s", r.out);
    cr_assert(!strstr(r.out, "'root'") && !strstr(r.out, "'home'") && !strstr(r.out, "'sys'"), "%s", r.out);
    cr_assert(strstr(r.out, "/work False True\n"), "%s", r.out);
    cr_assert(strstr(r.out, "True\n"), "%s", r.out);
    cr_assert(strstr(r.out, "ifaces ['lo']\n"), "network devices other than lo: %s", r.out);
    sandbox_result_free(&r);
}

Test(sandbox, large_stdin_arrives_whole) {
    size_t n = 1 << 20;
    char *in = malloc(n + 1);
    memset(in, 'a', n);
    in[n] = 0;
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("python", "import sys\nprint(len(sys.stdin.buffer.read()))\n", &lim, in, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "1048576\n");
    free(in);
    sandbox_result_free(&r);
}

/* GRPO_FAULT_SANDBOX=TEXT: a run whose source or stdin holds TEXT fails in
 * the instance's setup; the caller gets SANDBOX_ERROR and CORE_ERUNTIME,
 * through the helper and directly; other runs are untouched. */
Test(sandbox, injected_fault_is_a_sandbox_error) {
    sandbox_limits lim = limits(5000, 256);
    for (int direct = 0; direct < 2; direct++) {
        if (direct) setenv("GRPO_SANDBOX_DIRECT", "1", 1);
        setenv("GRPO_FAULT_SANDBOX", "grpo-fault", 1); /* the helper starts on the first run, with it */
        const char *bad = "print('grpo-fault')\n", *good = "print('fine')\n";
        sandbox_program p = {.lang = "python", .source = bad, .source_len = strlen(bad)};
        sandbox_result r;
        core_error err = {0};
        int rc = sandbox_run(&lim, &p, NULL, 0, &r, &err);
        cr_assert_eq(rc, CORE_ERUNTIME, "direct %d: rc %d %s", direct, rc, r.detail);
        cr_assert_eq(r.verdict, SANDBOX_ERROR);
        cr_assert(strstr(err.msg, "injected fault (GRPO_FAULT_SANDBOX)"), "%s", err.msg);
        sandbox_result_free(&r);
        p = (sandbox_program){.lang = "python", .source = good, .source_len = strlen(good)};
        rc = sandbox_run(&lim, &p, "grpo-fault", 10, &r, &err);
        cr_assert_eq(rc, CORE_ERUNTIME, "stdin matches too");
        sandbox_result_free(&r);
        run_source("python", good, &lim, NULL, &r); /* no match: untouched */
        cr_assert_eq(r.verdict, SANDBOX_OK, "%s", r.detail);
        sandbox_result_free(&r);
        unsetenv("GRPO_FAULT_SANDBOX");
        unsetenv("GRPO_SANDBOX_DIRECT");
    }
}

Test(sandbox, bad_input_is_refused) {
    sandbox_limits lim = limits(1000, 64);
    sandbox_program p = {.lang = "cobol", .source = "x", .source_len = 1};
    sandbox_result r;
    core_error err = {0};
    cr_assert_eq(sandbox_run(&lim, &p, NULL, 0, &r, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "cobol"), "%s", err.msg);
    sandbox_result_free(&r);
    p.lang = "python";
    lim.mem_mb = 1;
    cr_assert_eq(sandbox_run(&lim, &p, NULL, 0, &r, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "mem_mb"), "%s", err.msg);
    sandbox_result_free(&r);
    const char *rel[] = {"true", NULL};
    sandbox_program e = {.lang = "exec", .argv = rel};
    lim.mem_mb = 64;
    cr_assert_eq(sandbox_run(&lim, &e, NULL, 0, &r, &err), CORE_EINPUT);
    sandbox_result_free(&r);
}

Test(sandbox, names) {
    cr_assert_str_eq(sandbox_verdict_name(SANDBOX_MEMORY_LIMIT), "MEMORY_LIMIT");
    cr_assert_str_eq(sandbox_verdict_name(SANDBOX_ERROR), "SANDBOX_ERROR");
    char buf[64];
    sandbox_isolation_names(0, buf, sizeof buf);
    cr_assert_str_eq(buf, "none");
    sandbox_isolation_names(SANDBOX_ISO_PID | SANDBOX_ISO_CG_PIDS, buf, sizeof buf);
    cr_assert_str_eq(buf, "pid,cg_pids");
    cr_assert(sandbox_lang_known("c") && !sandbox_lang_known("rust"));
}

/* --------------------------------------------------------------- hostile */

Test(hostile, fork_bomb, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(1000, 128);
    run_hostile("fork_bomb.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_TIME_LIMIT, "%s", r.detail);
    cr_assert_eq(count_named("grpo-forkbomb"), 0, "fork bomb processes survived");
    sandbox_result_free(&r);
}

Test(hostile, memory_bomb, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("memory_bomb.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_MEMORY_LIMIT, "%s / %s", r.detail, r.err);
    sandbox_result_free(&r);
}

/* A fat caller (a trainer holding its model): through the helper the init
 * is small, so the OOM killer picks the program and the run step is judged
 * ("oom kills" in the detail).  Cloned straight from the caller
 * (GRPO_SANDBOX_DIRECT), the init's RSS counts every page it shares with
 * the caller and it may be the victim: the verdict must still be
 * MEMORY_LIMIT. */
static void fat_caller_memory_bomb(int direct) {
    require_envelope();
    if (direct) setenv("GRPO_SANDBOX_DIRECT", "1", 1);
    size_t fat = 160u << 20;
    char *ballast = malloc(fat);
    cr_assert(ballast);
    memset(ballast, 1, fat);
    __asm__ volatile("" : : "r"(ballast) : "memory"); /* keep it: the compiler may drop unread memory */
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("memory_bomb.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_MEMORY_LIMIT, "%s / %s", r.detail, r.err);
    if (!direct) cr_assert(strstr(r.detail, "oom kills"), "the init, not the program, was killed: %s", r.detail);
    sandbox_result_free(&r);
    free(ballast);
}

Test(hostile, memory_bomb_from_a_fat_caller, .timeout = 60) { fat_caller_memory_bomb(0); }
Test(hostile, memory_bomb_from_a_fat_caller_direct, .timeout = 60) { fat_caller_memory_bomb(1); }

/* Without cgroups (GRPO_SANDBOX_NO_CGROUP), RLIMIT_AS is the cap and the
 * verdict still says MEMORY_LIMIT; the isolation bits say what is missing. */
Test(hostile, memory_bomb_without_cgroup, .timeout = 60) {
    require_envelope();
    setenv("GRPO_SANDBOX_NO_CGROUP", "1", 1);
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("memory_bomb.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_MEMORY_LIMIT, "%s / %s", r.detail, r.err);
    cr_assert_eq(r.isolation & (SANDBOX_ISO_CG_MEM | SANDBOX_ISO_CG_PIDS), 0u, "%#x", r.isolation);
    cr_assert(r.max_rss_kb < 2 * 64 * 1024, "rss %ld KB", r.max_rss_kb);
    sandbox_result_free(&r);
}

/* Root without user namespaces: the same walls, payloads as the host's
 * nobody, and the isolation bits say "user" is missing. */
Test(hostile, fallback_without_user_namespace, .timeout = 60) {
    require_envelope();
    if (geteuid() != 0) cr_skip_test("the fallback is for root only");
    setenv("GRPO_SANDBOX_NO_USERNS", "1", 1);
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_source("python", "import os, socket\nprint(os.getuid(), os.getgid(), socket.gethostname())\n"
               "print(sorted(os.listdir('/')))\n", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(strstr(r.out, "65534 65534 sandbox\n"), "%s", r.out);
    cr_assert(!strstr(r.out, "'root'"), "%s", r.out);
    cr_assert_eq(r.isolation & SANDBOX_ISO_USER, 0u);
    cr_assert_eq(r.isolation | SANDBOX_ISO_USER, SANDBOX_ISO_ALL, "%#x", r.isolation);
    sandbox_result_free(&r);
    run_hostile("write_outside.sh", &lim, NULL, &r);
    cr_assert(!strstr(r.out, "WROTE") && strstr(r.out, "work ok") && strstr(r.out, "tmp ok"), "%s", r.out);
    cr_assert_neq(access("/etc/grpo-sb-probe", F_OK), 0);
    sandbox_result_free(&r);
    run_hostile("read_secrets.py", &lim, NULL, &r);
    cr_assert(!strstr(r.out, "root:") && strstr(r.out, "/root refused"), "%s", r.out);
    sandbox_result_free(&r);
    run_hostile("ptrace_parent.c", &lim, NULL, &r); /* compiles in /work as nobody, too */
    cr_assert_str_eq(r.out, "ptrace denied\n", "%s %s", r.detail, r.err);
    sandbox_result_free(&r);
    run_hostile("kill_all.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s", r.detail);
    sandbox_result_free(&r);
}

Test(hostile, infinite_loop, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(500, 64);
    run_hostile("infinite_loop.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_TIME_LIMIT, "%s", r.detail);
    cr_assert(r.wall_ms >= 500 && r.wall_ms < 3000, "wall %.0f ms", r.wall_ms); /* slack: busy machines */
    sandbox_result_free(&r);
}

Test(hostile, sleep_past_the_wall_clock, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(400, 64);
    run_hostile("sleeper.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_TIME_LIMIT, "%s", r.detail);
    cr_assert(r.wall_ms >= 400 && r.wall_ms < 3000, "wall %.0f ms (the sleep is 60 s)", r.wall_ms);
    sandbox_result_free(&r);
}

Test(hostile, double_fork_setsid_survivor, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("double_fork.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "parent done\n");
    cr_assert(r.wall_ms < 4000, "waited for the survivor: %.0f ms", r.wall_ms);
    cr_assert_eq(count_named("grpo-survivor"), 0, "the setsid grandchild survived the run");
    sandbox_result_free(&r);
}

Test(hostile, huge_stdout, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(10000, 64);
    lim.output_kb = 32;
    run_hostile("huge_stdout.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OUTPUT_LIMIT, "%s", r.detail);
    cr_assert_eq(r.truncated, 1);
    cr_assert_eq(r.out_len, 32 * 1024);
    cr_assert_eq(strlen(r.out), 32 * 1024);
    cr_assert(r.wall_ms < 5000, "not killed early: %.0f ms", r.wall_ms);
    sandbox_result_free(&r);
}

Test(hostile, huge_file, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 128);
    lim.file_mb = 8;
    run_hostile("huge_file.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OUTPUT_LIMIT, "%s", r.detail);
    cr_assert_eq(r.signal, SIGXFSZ);
    sandbox_result_free(&r);
}

/* procfs files have no size: read until EOF. */
static char *mount_table(void) {
    FILE *f = fopen("/proc/self/mountinfo", "r");
    cr_assert(f);
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - 1 - n, f)) > 0) {
        n += got;
        if (cap - 1 - n == 0) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    buf[n] = 0;
    cr_assert(n > 100 && strstr(buf, " / "), "mountinfo looks empty: %s", buf);
    return buf;
}

Test(hostile, write_outside_the_work_dir, .timeout = 60) {
    require_envelope();
    char *mounts_before = mount_table();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("write_outside.sh", &lim, NULL, &r);
    char *mounts_after = mount_table();
    cr_assert_str_eq(mounts_after, mounts_before, "the run changed the host's mount table");
    free(mounts_before);
    free(mounts_after);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(!strstr(r.out, "WROTE"), "%s", r.out);
    cr_assert(strstr(r.out, "refused /etc/grpo-sb-probe") && strstr(r.out, "tmp ok") && strstr(r.out, "work ok"),
              "%s", r.out);
    const char *host[] = {"/grpo-sb-probe", "/etc/grpo-sb-probe", "/usr/grpo-sb-probe",
                          "/usr/bin/grpo-sb-probe", "/tmp/grpo-sb-probe", "/root/grpo-sb-probe",
                          "/work/grpo-sb-probe", "/home/grpo-sb-probe"};
    for (size_t i = 0; i < sizeof host / sizeof host[0]; i++)
        cr_assert_neq(access(host[i], F_OK), 0, "%s appeared on the host", host[i]);
    sandbox_result_free(&r);
}

Test(hostile, read_shadow_and_root, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("read_secrets.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(strstr(r.out, "shadow refused 13\n") || strstr(r.out, "shadow refused 2\n"), "%s", r.out);
    cr_assert(!strstr(r.out, "root:"), "shadow content leaked: %s", r.out);
    cr_assert(strstr(r.out, "/root refused") && strstr(r.out, "/home refused"), "%s", r.out);
    sandbox_result_free(&r);
}

/* The number after "key" on its own line of out ("" when absent). */
static void line_after(const char *out, const char *key, char *val, size_t cap) {
    const char *p = strstr(out, key);
    val[0] = 0;
    if (!p) return;
    p += strlen(key);
    size_t n = strcspn(p, "\n");
    snprintf(val, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
}

/* The program is an ordinary user of its namespace (isolate's and nsjail's
 * model): uid/gid 60000, no inside id 0 mapped, no capability in any set,
 * no way back to root, and the secrets refuse it (EACCES/ENOENT), in the
 * warm Python runner as well. */
static void check_unprivileged(const char *out) {
    char v[128];
    cr_assert(strstr(out, "ids 60000 60000 60000 60000 groups []\n"), "%s", out);
    const char *sets[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
    for (int i = 0; i < 5; i++) {
        line_after(out, sets[i], v, sizeof v);
        cr_assert_str_eq(v, " 0000000000000000", "%s is%s: %s", sets[i], v, out);
    }
    line_after(out, "NoNewPrivs:", v, sizeof v);
    cr_assert_str_eq(v, " 1", "%s", out);
    line_after(out, "uid_map ", v, sizeof v);
    cr_assert_str_eq(v, "[['60000', '65534', '1']]", "uid map %s (root caller expected)", v);
    line_after(out, "gid_map ", v, sizeof v);
    cr_assert_str_eq(v, "[['60000', '65534', '1']]", "gid map %s", v);
    /* EINVAL: id 0 is not mapped; EPERM: no CAP_SETUID/CAP_SETGID */
    const char *calls[] = {"setuid refused ", "setgid refused ", "setgroups refused "};
    for (int i = 0; i < 3; i++) {
        line_after(out, calls[i], v, sizeof v);
        cr_assert(!strcmp(v, "EINVAL") || !strcmp(v, "EPERM"), "%s'%s': %s", calls[i], v, out);
    }
    const char *secrets[] = {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"};
    for (int i = 0; i < 4; i++) {
        char key[64];
        snprintf(key, sizeof key, "%s refused ", secrets[i]);
        line_after(out, key, v, sizeof v);
        if (access(secrets[i], F_OK) != 0 && !strstr(out, key)) continue; /* absent on this host */
        cr_assert(!strcmp(v, "EACCES") || !strcmp(v, "ENOENT"), "%s: %s", secrets[i], out);
        snprintf(key, sizeof key, "%s chmod refused ", secrets[i]);
        line_after(out, key, v, sizeof v);
        cr_assert(!strcmp(v, "EROFS") || !strcmp(v, "EPERM") || !strcmp(v, "ENOENT"), "%s: %s", key, out);
    }
    cr_assert(!strstr(out, "READ") && !strstr(out, "CHMOD") && !strstr(out, "became root"), "%s", out);
}

Test(hostile, runs_as_an_unprivileged_user, .timeout = 60) {
    require_envelope();
    if (geteuid() != 0) cr_skip_test("the id map checked here is the one a root caller writes");
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_hostile("who_am_i.py", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(r.isolation & SANDBOX_ISO_USER, "%#x", r.isolation);
    check_unprivileged(r.out);
    sandbox_result_free(&r);
    /* The same from the warm runner's forked jobs. */
    size_t len;
    char *src = slurp(HOSTILE "who_am_i.py", &len);
    sandbox_program prog = {.lang = "python", .source = src, .source_len = len};
    sandbox_job jobs[2] = {{.prog = &prog}, {.prog = &prog}};
    core_error err = {0};
    cr_assert_eq(sandbox_run_python_batch(&lim, jobs, 2, &err), 0, "%s", err.msg);
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(jobs[i].result.verdict, SANDBOX_OK, "%s: %s", jobs[i].result.detail, jobs[i].result.err);
        check_unprivileged(jobs[i].result.out);
        sandbox_result_free(&jobs[i].result);
    }
    free(src);
}

Test(hostile, connect_to_loopback, .timeout = 60) {
    require_envelope();
    /* A real listener on the host's loopback: nothing may reach it. */
    int srv = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert(srv >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(srv, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(srv, 4), 0);
    socklen_t alen = sizeof a;
    getsockname(srv, (struct sockaddr *)&a, &alen);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("connect_loopback.py", &lim, port, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(strstr(r.out, "refused"), "%s", r.out);
    cr_assert(accept(srv, NULL, NULL) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK),
              "a connection reached the host");
    close(srv);
    sandbox_result_free(&r);
}

Test(hostile, create_any_socket, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("any_socket.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "sockets 0\n");
    sandbox_result_free(&r);
}

Test(hostile, ptrace_the_parent, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("ptrace_parent.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "ptrace denied\n");
    sandbox_result_free(&r);
}

Test(hostile, kernel_surface, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("kernel_surface.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert_str_eq(r.out, "attempts 19 allowed 0\n");
    sandbox_result_free(&r);
}

Test(hostile, kill_minus_one, .timeout = 60) {
    require_envelope();
    pid_t canary = fork();
    cr_assert(canary >= 0);
    if (canary == 0) {
        pause();
        _exit(0);
    }
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_hostile("kill_all.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    cr_assert(strstr(r.out, "alive"), "%s", r.out);
    int status;
    cr_assert_eq(waitpid(canary, &status, WNOHANG), 0, "the canary outside the sandbox died");
    kill(canary, SIGKILL);
    waitpid(canary, &status, 0);
    sandbox_result_free(&r);
}

Test(hostile, fd_exhaustion, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    lim.max_fds = 32;
    run_hostile("fd_exhaust.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s: %s", r.detail, r.err);
    int n = -1;
    cr_assert_eq(sscanf(r.out, "opened %d", &n), 1, "%s", r.out);
    cr_assert(n > 0 && n <= 32 - 3, "opened %d", n);
    sandbox_result_free(&r);
}

Test(hostile, deep_recursion, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 256);
    run_hostile("deep_recursion.c", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_RUNTIME_ERROR, "%s", r.detail);
    cr_assert_eq(r.signal, SIGSEGV, "signal %d", r.signal);
    sandbox_result_free(&r);
}

/* ------------------------------------------------------------------ pool */

static int open_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    while (d && readdir(d)) n++;
    if (d) closedir(d);
    return n;
}

/* Many runs from several threads at once: each gets its own stdin back
 * (clone from a multithreaded parent must not deadlock or mix streams),
 * and no descriptor is left open afterwards. */
Test(pool, many_programs_in_parallel, .timeout = 60) {
    enum { N = 24 };
    sandbox_program p = {.lang = "python", .source = "import sys\nprint(int(sys.stdin.read()) * 2)\n"};
    p.source_len = strlen(p.source);
    sandbox_job jobs[N];
    char inputs[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(inputs[i], sizeof inputs[i], "%d", i + 100);
        jobs[i] = (sandbox_job){.prog = &p, .stdin_data = inputs[i], .stdin_len = strlen(inputs[i])};
    }
    sandbox_limits lim = limits(10000, 128);
    const char *argv[] = {"/bin/true", NULL};
    sandbox_program t = {.lang = "exec", .argv = argv};
    sandbox_result warm;
    core_error e;
    sandbox_run(&lim, &t, NULL, 0, &warm, &e); /* the helper and its socket exist from here on */
    sandbox_result_free(&warm);
    int fds_before = open_fds();
    int rc = sandbox_run_many(&lim, jobs, N, 6);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(jobs[0].error.msg);
    cr_assert_eq(rc, 0, "%s", jobs[0].error.msg);
    for (int i = 0; i < N; i++) {
        char want[16];
        snprintf(want, sizeof want, "%d\n", 2 * (i + 100));
        cr_assert_eq(jobs[i].result.verdict, SANDBOX_OK, "job %d: %s", i, jobs[i].result.detail);
        cr_assert_str_eq(jobs[i].result.out, want, "job %d", i);
        sandbox_result_free(&jobs[i].result);
    }
    cr_assert_eq(open_fds(), fds_before, "descriptors leaked");
}

/* ---------------------------------------------------------------- cgroups */

static int own_cgroup_dir(const char *controller, char *out, size_t cap) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[1024];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b) continue;
        *b = 0;
        b[1 + strcspn(b + 1, "\n")] = 0;
        if (strstr(a + 1, controller)) {
            snprintf(out, cap, "/sys/fs/cgroup/%s%s", controller, strcmp(b + 1, "/") ? b + 1 : "");
            found = 1;
        }
    }
    if (f) fclose(f);
    return found;
}

/* A slot left by a process killed without cleaning up is removed by the
 * next process that uses the sandbox; its own slots are gone at its exit. */
Test(cgroups, stale_slots_are_removed, .timeout = 60) {
    require_envelope();
    char mem[512], pids[512], stale_mem[700], stale_pids[700];
    if (strcmp(getenv("GRPO_ENVELOPE"), "cgroup-v1") || !own_cgroup_dir("memory", mem, sizeof mem) ||
        !own_cgroup_dir("pids", pids, sizeof pids))
        cr_skip_test("checked on cgroup v1 only");
    pid_t dead = fork();
    if (dead == 0) _exit(0);
    waitpid(dead, NULL, 0);
    snprintf(stale_mem, sizeof stale_mem, "%s/grpo-sb-%d-0", mem, (int)dead);
    snprintf(stale_pids, sizeof stale_pids, "%s/grpo-sb-%d-0", pids, (int)dead);
    cr_assert_eq(mkdir(stale_mem, 0755), 0, "%s: %s", stale_mem, strerror(errno));
    cr_assert_eq(mkdir(stale_pids, 0755), 0, "%s: %s", stale_pids, strerror(errno));
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_source("sh", "true\n", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s", r.detail);
    sandbox_result_free(&r);
    cr_assert_neq(access(stale_mem, F_OK), 0, "%s is still there", stale_mem);
    cr_assert_neq(access(stale_pids, F_OK), 0, "%s is still there", stale_pids);
}

/* ------------------------------------------------------------ warm python */

/* Run sources[i] with stdin "i" as one warm batch. */
static void warm_batch(const char *const *sources, int n, const sandbox_limits *lim, sandbox_job *jobs,
                       sandbox_program *progs) {
    static char inputs[16][8];
    for (int i = 0; i < n; i++) {
        snprintf(inputs[i], sizeof inputs[i], "%d", i);
        progs[i] = (sandbox_program){.lang = "python", .source = sources[i], .source_len = strlen(sources[i])};
        jobs[i] = (sandbox_job){.prog = &progs[i], .stdin_data = inputs[i], .stdin_len = strlen(inputs[i])};
    }
    core_error err = {0};
    int rc = sandbox_run_python_batch(lim, jobs, n, &err);
    if (rc == CORE_ERUNTIME) skip_without_namespaces(err.msg);
    cr_assert_eq(rc, 0, "%s", err.msg);
    for (int i = 0; i < n; i++) cr_assert_eq(jobs[i].rc, 0, "job %d", i);
}

static void free_jobs(sandbox_job *jobs, int n) {
    for (int i = 0; i < n; i++) sandbox_result_free(&jobs[i].result);
}

Test(warm, each_job_its_own_stdin_output_and_verdict, .timeout = 60) {
    const char *src[] = {
        "import sys\nprint('job', int(sys.stdin.read()) * 10, __name__)\n",
        "import sys\nsys.stderr.write('to err\\n')\nsys.exit(4)\n",
        "def f():\n    raise ValueError('boom')\nf()\n",
        "print('R 4 0 0 1.0 1.0 1 0 6 0')\nprint('forged')\n", /* a fake record for job 4 */
        "print('four')\n",
    };
    sandbox_job jobs[5];
    sandbox_program progs[5];
    sandbox_limits lim = limits(3000, 128);
    warm_batch(src, 5, &lim, jobs, progs);
    cr_assert_eq(jobs[0].result.verdict, SANDBOX_OK, "%s", jobs[0].result.detail);
    cr_assert_str_eq(jobs[0].result.out, "job 0 __main__\n");
    cr_assert_eq(jobs[1].result.verdict, SANDBOX_RUNTIME_ERROR);
    cr_assert_eq(jobs[1].result.exit_code, 4);
    cr_assert_str_eq(jobs[1].result.err, "to err\n");
    cr_assert_eq(jobs[2].result.verdict, SANDBOX_RUNTIME_ERROR);
    cr_assert(strstr(jobs[2].result.err, "ValueError: boom") && strstr(jobs[2].result.err, "main.py"),
              "%s", jobs[2].result.err);
    cr_assert(!strstr(jobs[2].result.err, "in child"), "the runner shows in the traceback: %s", jobs[2].result.err);
    cr_assert(strstr(jobs[3].result.out, "forged"), "%s", jobs[3].result.out);
    cr_assert_str_eq(jobs[4].result.out, "four\n", "a job forged another's result");
    cr_assert_eq(jobs[4].result.isolation & SANDBOX_ISO_SECCOMP, (unsigned)SANDBOX_ISO_SECCOMP);
    free_jobs(jobs, 5);
}

/* Output that starts with blanks (a SyntaxError's traceback starts with
 * "  File") is kept byte for byte and the next jobs still run (the
 * runner's records were once misread there, spoiling the batch); the
 * SyntaxError quotes the job's own line. */
Test(warm, output_starting_with_blanks_and_syntax_errors, .timeout = 60) {
    const char *src[] = {"def f(x:\n    return 1\n", "print('  two leading blanks')\n", "print('three')\n"};
    sandbox_job jobs[3];
    sandbox_program progs[3];
    sandbox_limits lim = limits(3000, 128);
    warm_batch(src, 3, &lim, jobs, progs);
    cr_assert_eq(jobs[0].result.verdict, SANDBOX_RUNTIME_ERROR, "%s", jobs[0].result.detail);
    cr_assert(!strncmp(jobs[0].result.err, "  File \"main.py\", line 1\n    def f(x:\n", 36), "%s", jobs[0].result.err);
    cr_assert(strstr(jobs[0].result.err, "SyntaxError"), "%s", jobs[0].result.err);
    cr_assert_eq(jobs[1].result.verdict, SANDBOX_OK, "%s", jobs[1].result.detail);
    cr_assert_str_eq(jobs[1].result.out, "  two leading blanks\n");
    cr_assert_str_eq(jobs[2].result.out, "three\n", "%s", jobs[2].result.detail);
    free_jobs(jobs, 3);
}

/* sandbox.cpu_ms below time_ms: a busy loop stops at its CPU limit, long
 * before the wall clock, while a program that waits (as one starved of a
 * core on a busy machine does) is not judged over time. */
Test(warm, cpu_limit_apart_from_the_wall_clock, .timeout = 60) {
    require_envelope();
    const char *src[] = {
        "while True:\n    pass\n",
        "import time\ntime.sleep(1.5)\nprint('waited')\n",
    };
    sandbox_job jobs[2];
    sandbox_program progs[2];
    sandbox_limits lim = limits(8000, 96);
    lim.cpu_ms = 1000;
    warm_batch(src, 2, &lim, jobs, progs);
    cr_assert_eq(jobs[0].result.verdict, SANDBOX_TIME_LIMIT, "%s", jobs[0].result.detail);
    cr_assert(jobs[0].result.wall_ms < 5000, "stopped by the wall clock, not its CPU limit: %.0f ms",
              jobs[0].result.wall_ms);
    cr_assert_eq(jobs[1].result.verdict, SANDBOX_OK, "%s", jobs[1].result.detail);
    cr_assert_str_eq(jobs[1].result.out, "waited\n");
    free_jobs(jobs, 2);
    core_error err = {0};
    sandbox_result r;
    sandbox_program p = {.lang = "python", .source = "pass\n", .source_len = 5};
    lim.cpu_ms = 9000; /* above the wall clock: it would never apply */
    cr_assert_eq(sandbox_run(&lim, &p, NULL, 0, &r, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "cpu_ms = 9000 is above time_ms = 8000"), "%s", err.msg);
}

Test(warm, limits_hold_per_job, .timeout = 60) {
    require_envelope();
    const char *src[] = {
        "while True:\n    pass\n",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 4096)\n",
        "chunks = []\nwhile True:\n    chunks.append(b'x' * (8 << 20))\n",
        "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(60)\nprint('left a child')\n",
        "import os\nprint(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()) == sorted({1, os.getppid(), os.getpid()}))\n",
    };
    sandbox_job jobs[5];
    sandbox_program progs[5];
    sandbox_limits lim = limits(700, 96);
    lim.output_kb = 32;
    warm_batch(src, 5, &lim, jobs, progs);
    cr_assert_eq(jobs[0].result.verdict, SANDBOX_TIME_LIMIT, "%s", jobs[0].result.detail);
    cr_assert(jobs[0].result.wall_ms < 3000, "%.0f ms", jobs[0].result.wall_ms);
    cr_assert_eq(jobs[1].result.verdict, SANDBOX_OUTPUT_LIMIT, "%s", jobs[1].result.detail);
    cr_assert_eq(jobs[1].result.out_len, 32 * 1024);
    cr_assert_eq(jobs[1].result.truncated, 1);
    cr_assert(jobs[2].result.verdict == SANDBOX_MEMORY_LIMIT || jobs[2].result.verdict == SANDBOX_TIME_LIMIT,
              "%s", jobs[2].result.detail);
    cr_assert_eq(jobs[3].result.verdict, SANDBOX_OK, "%s", jobs[3].result.detail);
    cr_assert_eq(jobs[4].result.verdict, SANDBOX_OK, "%s: %s", jobs[4].result.detail, jobs[4].result.err);
    cr_assert_str_eq(jobs[4].result.out, "True\n", "a straggler of the previous job is still alive");
    free_jobs(jobs, 5);
}

Test(warm, a_job_that_kills_the_runner_spoils_only_the_rest, .timeout = 60) {
    require_envelope();
    const char *src[] = {"print('first')\n", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
                         "print('never')\n"};
    sandbox_job jobs[3];
    sandbox_program progs[3];
    sandbox_limits lim = limits(3000, 64);
    warm_batch(src, 3, &lim, jobs, progs);
    cr_assert_eq(jobs[0].result.verdict, SANDBOX_OK);
    cr_assert_neq(jobs[2].result.verdict, SANDBOX_OK, "%s", jobs[2].result.detail);
    cr_assert(!strstr(jobs[2].result.out, "never"));
    free_jobs(jobs, 3);
}

Test(warm, only_python) {
    const char *argv[] = {"/bin/true", NULL};
    sandbox_program p = {.lang = "exec", .argv = argv};
    sandbox_job j = {.prog = &p};
    sandbox_limits lim = limits(1000, 64);
    core_error err = {0};
    cr_assert_eq(sandbox_run_python_batch(&lim, &j, 1, &err), CORE_EINPUT);
    cr_assert(strstr(err.msg, "job 0"), "%s", err.msg);
}

/* ----------------------------------------------------------------- helper */

/* Our helper process: the child whose command line is grpo-sandbox-helper. */
static pid_t find_helper(void) {
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t found = 0;
    while (d && (e = readdir(d)) && !found) {
        char path[300], buf[512] = {0};
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        if (n == 0 || strcmp(buf, "grpo-sandbox-helper") != 0) continue;
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        int pid = 0, ppid = 0;
        char comm[64], state;
        if (f && fscanf(f, "%d %63s %c %d", &pid, comm, &state, &ppid) == 4 && ppid == getpid()) found = pid;
        if (f) fclose(f);
    }
    if (d) closedir(d);
    return found;
}

/* Runs go through the helper; when it dies, they run from the caller. */
Test(helper, runs_survive_the_helper_dying, .timeout = 60) {
    require_envelope();
    sandbox_result r;
    sandbox_limits lim = limits(5000, 64);
    run_source("sh", "echo one\n", &lim, NULL, &r);
    cr_assert_str_eq(r.out, "one\n");
    sandbox_result_free(&r);
    pid_t helper = find_helper();
    cr_assert_gt(helper, 0, "no helper process found");
    kill(helper, SIGKILL);
    waitpid(helper, NULL, 0);
    run_source("sh", "echo two\n", &lim, NULL, &r);
    cr_assert_eq(r.verdict, SANDBOX_OK, "%s", r.detail);
    cr_assert_str_eq(r.out, "two\n");
    sandbox_result_free(&r);
}
