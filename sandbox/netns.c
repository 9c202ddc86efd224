/*
 * The network layer: instances live in an empty network namespace (only a
 * loopback device, down).  Making a fresh one per run costs over a
 * millisecond here (and more in the kernel's deferred teardown), so each
 * process makes one, once, and a run's thread enters it just around
 * clone(): the child is born there, in a user namespace that does not own
 * it, so it cannot configure it.  Sharing is safe because instances cannot
 * create sockets at all (seccomp), abstract unix sockets included.
 *
 * setns needs CAP_SYS_ADMIN; without it (an unprivileged caller) runs fall
 * back to CLONE_NEWNET per run.  setns on the network namespace changes
 * the calling thread only, so concurrent runs on other threads are
 * unaffected.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "sandbox/internal.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_empty = -1, g_host = -1;

static void *make_empty(void *arg) {
    (void)arg;
    /* This helper thread moves itself; the rest of the process stays. */
    if (unshare(CLONE_NEWNET) == 0) g_empty = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    return NULL;
}

static void init_once(void) {
    g_host = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    pthread_t t;
    if (g_host < 0 || pthread_create(&t, NULL, make_empty, NULL) != 0) return;
    pthread_join(t, NULL);
}

int sb_netns_enter_empty(void) {
    pthread_once(&g_once, init_once);
    if (g_empty < 0 || g_host < 0) return -1;
    return setns(g_empty, CLONE_NEWNET) == 0 ? 0 : -1;
}

int sb_netns_leave(void) { return setns(g_host, CLONE_NEWNET) == 0 ? 0 : -errno; }
