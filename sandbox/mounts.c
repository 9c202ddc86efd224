/*
 * The file-system layer: what an instance sees.
 *
 *   /                  a 1 MB tmpfs, read-only once built
 *   /usr /etc ...      the host's system directories, bound read-only
 *                      (nosuid, nodev); /bin, /lib... stay symlinks where the
 *                      host has them so (merged /usr)
 *   /etc/shadow        a mode-0000 empty file bound read-only over it (and
 *                      gshadow, shadow-, gshadow-): open() fails with EACCES
 *                      for the payload, which has no capabilities, whatever
 *                      the host's own modes are; chmod on it is EROFS
 *   /dev               a read-only tmpfs with null, zero, full, random,
 *                      urandom bound in, and the fd/stdin/stdout/stderr links
 *   /proc              a fresh procfs of the instance's PID namespace
 *   /work, /tmp        private tmpfs, 2 x file_mb each: the only writable
 *                      places (twice the file limit, so one huge file meets
 *                      RLIMIT_FSIZE, a clear SIGXFSZ, before a full disk)
 *
 * Nothing else exists: no /home, no /root, no /sys, no /run, no sockets of
 * the host.  Everything happens in the instance's own mount namespace, made
 * private first so nothing propagates back to the host.  Runs in the cloned
 * child: async-signal-safe code only (no malloc, no stdio).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/internal.h"

/* Built on top of the host's /tmp, in the instance's mount namespace only. */
#define ROOT "/tmp"

static const char *const SYSTEM_DIRS[] = {"usr", "bin", "sbin", "lib", "lib64", "lib32",
                                          "libx32", "etc"};
static const char *const MASKED[] = {"etc/shadow", "etc/gshadow", "etc/shadow-", "etc/gshadow-"};
static const char *const DEVICES[] = {"null", "zero", "full", "random", "urandom"};

/* dst = a + "/" + b, bounded; async-signal-safe. */
static void join(char *dst, size_t cap, const char *a, const char *b) {
    size_t n = 0;
    for (; *a && n + 1 < cap; a++) dst[n++] = *a;
    if (n + 1 < cap) dst[n++] = '/';
    for (; *b && n + 1 < cap; b++) dst[n++] = *b;
    dst[n] = 0;
}

static void append_uint(char *dst, size_t cap, unsigned v) {
    char digits[16];
    int k = 0;
    do digits[k++] = (char)('0' + v % 10); while ((v /= 10) && k < 15);
    size_t n = strlen(dst);
    while (k > 0 && n + 1 < cap) dst[n++] = digits[--k];
    dst[n] = 0;
}

/* Remount a bind read-only, keeping the flags the kernel locks for a mount
 * that came from a more privileged namespace (atime, noexec...). */
static int remount_ro(const char *path) {
    struct statvfs sv;
    if (statvfs(path, &sv) != 0) return -errno;
    unsigned long flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (sv.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (sv.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (sv.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    return mount(NULL, path, NULL, flags, NULL) == 0 ? 0 : -errno;
}

static int bind_ro(const char *src, const char *dst) {
    if (mount(src, dst, NULL, MS_BIND | MS_REC, NULL) != 0) return -errno;
    return remount_ro(dst);
}

static int touch(const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    close(fd);
    return 0;
}

/* Bind an unreadable file over each secret that exists.  The file is made
 * on the root tmpfs and unlinked again once bound (the binds hold it). */
static int mask_secrets(const char **stage) {
    const char *mask = ROOT "/.masked";
    char dst[96];
    int fd = open(mask, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
    if (fd < 0) return *stage = "create the mask file", -errno;
    close(fd);
    if (chmod(mask, 0) != 0) return *stage = "chmod the mask file", -errno;
    for (size_t i = 0; i < sizeof MASKED / sizeof MASKED[0]; i++) {
        join(dst, sizeof dst, ROOT, MASKED[i]);
        if (access(dst, F_OK) != 0) continue;
        if (mount(mask, dst, NULL, MS_BIND, NULL) != 0) return *stage = "mask /etc/shadow", -errno;
        if (mount(NULL, dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
            return *stage = "remount the /etc/shadow mask read-only", -errno;
    }
    if (unlink(mask) != 0) return *stage = "unlink the mask file", -errno;
    return 0;
}

static int system_dirs(const char **stage) {
    char src[64], dst[96], target[256];
    for (size_t i = 0; i < sizeof SYSTEM_DIRS / sizeof SYSTEM_DIRS[0]; i++) {
        struct stat st;
        join(src, sizeof src, "", SYSTEM_DIRS[i]);
        join(dst, sizeof dst, ROOT, SYSTEM_DIRS[i]);
        if (lstat(src, &st) != 0) continue;
        if (S_ISLNK(st.st_mode)) {
            ssize_t n = readlink(src, target, sizeof target - 1);
            if (n < 0) return *stage = "readlink system dir", -errno;
            target[n] = 0;
            if (symlink(target, dst) != 0) return *stage = "symlink system dir", -errno;
        } else if (S_ISDIR(st.st_mode)) {
            if (mkdir(dst, 0755) != 0) return *stage = "mkdir system dir", -errno;
            int rc = bind_ro(src, dst);
            if (rc) return *stage = "bind system dir read-only", rc;
        }
    }
    return mask_secrets(stage);
}

static int devices(const char **stage) {
    const char *dev = ROOT "/dev";
    char src[64], dst[96];
    if (mkdir(dev, 0755) != 0) return *stage = "mkdir /dev", -errno;
    if (mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") != 0)
        return *stage = "mount /dev tmpfs", -errno;
    for (size_t i = 0; i < sizeof DEVICES / sizeof DEVICES[0]; i++) {
        join(src, sizeof src, "/dev", DEVICES[i]);
        join(dst, sizeof dst, dev, DEVICES[i]);
        int rc = touch(dst);
        if (rc) return *stage = "create /dev node", rc;
        if (mount(src, dst, NULL, MS_BIND, NULL) != 0) return *stage = "bind /dev node", -errno;
    }
    static const char *const LINKS[][2] = {{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"},
                                           {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"}};
    for (size_t i = 0; i < sizeof LINKS / sizeof LINKS[0]; i++) {
        join(dst, sizeof dst, dev, LINKS[i][1]);
        if (symlink(LINKS[i][0], dst) != 0) return *stage = "symlink in /dev", -errno;
    }
    if (mount(NULL, dev, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "size=64k") != 0)
        return *stage = "remount /dev read-only", -errno;
    return 0;
}

static int scratch(const char *name, int size_mb, int userns, const char **stage) {
    char dst[96], opts[96] = "mode=0755,nr_inodes=4096,size=";
    join(dst, sizeof dst, ROOT, name);
    append_uint(opts, sizeof opts, (unsigned)size_mb);
    strcat(opts, userns ? "m" : "m,uid=65534,gid=65534"); /* fallback: the payload is nobody */
    if (mkdir(dst, 0755) != 0) return *stage = "mkdir scratch dir", -errno;
    if (mount("tmpfs", dst, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0)
        return *stage = "mount scratch tmpfs", -errno;
    return 0;
}

/* pivot_root into ROOT and detach the host's tree. */
static int enter_root(const char **stage) {
    if (mkdir(ROOT "/.old", 0700) != 0) return *stage = "mkdir old root", -errno;
    if (syscall(SYS_pivot_root, ROOT, ROOT "/.old") != 0) return *stage = "pivot_root", -errno;
    if (chdir("/") != 0) return *stage = "chdir /", -errno;
    if (umount2("/.old", MNT_DETACH) != 0) return *stage = "detach old root", -errno;
    if (rmdir("/.old") != 0) return *stage = "rmdir old root", -errno;
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0)
        return *stage = "remount root read-only", -errno;
    return 0;
}

int sb_mounts_setup(const sb_plan *p, const char **stage) {
    int rc;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return *stage = "make mounts private", -errno;
    if (mount("tmpfs", ROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,nr_inodes=256,mode=0755") != 0)
        return *stage = "mount root tmpfs", -errno;
    if ((rc = system_dirs(stage))) return rc;
    if ((rc = devices(stage))) return rc;
    /* Before pivot_root: the kernel only allows a new procfs in a user
     * namespace while a fully visible one exists in the mount namespace. */
    if (mkdir(ROOT "/proc", 0555) != 0) return *stage = "mkdir /proc", -errno;
    if (mount("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
        return *stage = "mount /proc", -errno;
    if ((rc = scratch("work", 2 * p->file_mb, p->userns, stage))) return rc;
    if ((rc = scratch("tmp", 2 * p->file_mb, p->userns, stage))) return rc;
    return enter_root(stage);
}
