#!/usr/bin/env bash
# The outer envelope of the sandbox tests: hostile programs run only in here.
#
#   wrap.sh BINARY [ARGS...]
#
# Makes a cgroup with a pids cap (GRPO_ENVELOPE_PIDS, 512) and a memory cap
# (GRPO_ENVELOPE_MEM_MB, 3072) below our own cgroup (v1: memory + pids
# hierarchies; v2: a child of our parent with a leaf "main"), moves a
# subshell into it and runs BINARY there in a PID namespace of its own
# (unshare --pid --fork --kill-child --mount-proc, with a shell named
# grpo-envelope-init as the namespace's PID 1): if the sandbox under test
# had a hole, a fork bomb would hit the caps and kill(-1) would only reach
# the envelope.  On exit everything left in the cgroups is killed and they
# are removed.
#
# GRPO_ENVELOPE tells the tests what was achieved: "cgroup-v1" or
# "cgroup-v2" with GRPO_ENVELOPE_NAME; "none" (with the reason in
# GRPO_ENVELOPE_WHY) makes the hostile tests skip rather than run uncapped.
set -u
name="grpo-envelope-$$"
pids_max=${GRPO_ENVELOPE_PIDS:-512}
mem_bytes=$(( ${GRPO_ENVELOPE_MEM_MB:-3072} * 1024 * 1024 ))
made=()      # cgroup directories made here, removed at exit
procs=()     # the cgroup.procs files the subshell joins
why=""

own_path() { # own_path CONTROLLER ("" for the v2 line)
    awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) { print $3; exit }
                         if (c == "" && $2 == "") { print $3; exit } }' /proc/self/cgroup
}

setup_v1() {
    local ctl base
    for ctl in pids memory; do
        [ -w "/sys/fs/cgroup/$ctl/cgroup.procs" ] || { why="no writable v1 $ctl hierarchy"; return 1; }
        base="/sys/fs/cgroup/$ctl$(own_path $ctl)"
        mkdir "$base/$name" 2>/dev/null || { why="cannot mkdir $base/$name"; return 1; }
        made+=("$base/$name"); procs+=("$base/$name/cgroup.procs")
    done
    echo "$pids_max" > "${made[0]}/pids.max" &&
    echo "$mem_bytes" > "${made[1]}/memory.limit_in_bytes" || { why="cannot set v1 limits"; return 1; }
}

setup_v2() {
    local root=/sys/fs/cgroup own parent
    [ -f "$root/cgroup.controllers" ] || { why="${why:+$why; }no cgroup v2 at $root"; return 1; }
    own=$(own_path ""); parent="$root${own%/*}"
    grep -qw pids "$parent/cgroup.subtree_control" && grep -qw memory "$parent/cgroup.subtree_control" ||
        echo "+pids +memory" > "$parent/cgroup.subtree_control" 2>/dev/null ||
        { why="${why:+$why; }v2: cannot enable pids+memory in $parent"; return 1; }
    mkdir "$parent/$name" 2>/dev/null || { why="${why:+$why; }v2: cannot mkdir $parent/$name"; return 1; }
    made+=("$parent/$name")
    echo "$pids_max" > "$parent/$name/pids.max" && echo "$mem_bytes" > "$parent/$name/memory.max" &&
        echo "+pids +memory" > "$parent/$name/cgroup.subtree_control" &&
        mkdir "$parent/$name/main" || { why="${why:+$why; }v2: cannot set limits"; return 1; }
    made+=("$parent/$name/main"); procs+=("$parent/$name/main/cgroup.procs")
}

cleanup() {
    local d pid round
    for round in 1 2 3 4 5 6 7 8 9 10; do
        local left=0
        for d in "${made[@]+"${made[@]}"}"; do
            [ -d "$d" ] || continue
            while read -r pid; do
                [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && left=1
            done < <(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null)
        done
        [ $left = 0 ] && break
        sleep 0.1
    done
    # Depth first: the sandbox's own slots (if it died without removing them) first.
    for d in "${made[@]+"${made[@]}"}"; do
        [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    return 0
}
trap cleanup EXIT

if ! unshare --pid --fork --kill-child --mount-proc true 2>/dev/null; then
    export GRPO_ENVELOPE=none GRPO_ENVELOPE_WHY="unshare --pid refused (not root?)"
    "$@"; exit $?
fi
if setup_v1 || { cleanup; made=(); procs=(); setup_v2; }; then
    export GRPO_ENVELOPE=cgroup-v$([ ${#procs[@]} = 2 ] && echo 1 || echo 2) GRPO_ENVELOPE_NAME="$name"
else
    cleanup; made=(); procs=()
    export GRPO_ENVELOPE=none GRPO_ENVELOPE_WHY="no cgroup for the envelope: $why"
fi

(
    for f in "${procs[@]+"${procs[@]}"}"; do echo "$BASHPID" > "$f" || exit 125; done
    # PID 1 of the namespace is a shell named grpo-envelope-init, not the
    # test binary: orphans (the sandbox's helper process) are reparented to
    # it, and a test runner as PID 1 would trip over children it never made.
    exec unshare --pid --fork --kill-child --mount-proc /bin/sh -c '"$@"; exit $?' grpo-envelope-init "$@"
)
rc=$?
exit $rc
