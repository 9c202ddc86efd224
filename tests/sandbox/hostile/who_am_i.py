# Who does the program run as?  Prints its ids, its capability sets, the id
# maps, and tries to become root and to read the secrets.  Expected: a
# non-zero uid/gid, every capability set empty, no inside id 0 in the maps,
# setuid(0) refused, /etc/shadow and /etc/gshadow refused with EACCES or
# ENOENT (never read, not even as an empty file).
import errno, os
print("ids", os.getuid(), os.geteuid(), os.getgid(), os.getegid(), "groups", os.getgroups())
for line in open("/proc/self/status"):
    if line.startswith(("Cap", "Uid:", "Gid:", "NoNewPrivs:", "Seccomp:")):
        print(line.split()[0], " ".join(line.split()[1:]))
for m in ("uid_map", "gid_map"):
    print(m, [l.split() for l in open("/proc/self/" + m)])
for name, call in (("setuid", lambda: os.setuid(0)), ("setgid", lambda: os.setgid(0)),
                   ("setgroups", lambda: os.setgroups([0]))):
    try:
        call()
        print(name, "became root")
    except OSError as e:
        print(name, "refused", errno.errorcode[e.errno])
for path in ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-"):
    try:
        data = open(path, "rb").read()
        print(path, "READ", len(data))
    except OSError as e:
        print(path, "refused", errno.errorcode[e.errno])
    try:
        os.chmod(path, 0o644)
        print(path, "CHMOD")
    except OSError as e:
        print(path, "chmod refused", errno.errorcode[e.errno])
