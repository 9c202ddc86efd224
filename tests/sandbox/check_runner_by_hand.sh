#!/usr/bin/env bash
# The warm Python runner (sandbox/warm.c's RUNNER) sweeps stragglers with
# kill(-1) after every job.  In an instance it is never root, so the sweep
# only reaches the instance's own processes.  Started by hand as root, to
# debug it, it must not sweep: kill(-1) as root kills every process it can
# see.  This runs it that way, but inside a PID namespace of its own
# (unshare), beside a sleeping process that an unguarded sweep would kill.
set -u
[ "$(id -u)" = 0 ] || { echo "skip: needs root for unshare --pid"; exit 77; }
command -v unshare >/dev/null || { echo "skip: no unshare"; exit 77; }
W=$(mktemp -d /tmp/grpo-runner.XXXXXX)
trap 'rm -rf "$W"' EXIT
# the runner's source, as warm.c spells it: the C string literal's pieces, unescaped
python3 - sandbox/warm.c >"$W/runner.py" <<'PY' || exit 1
import re, sys
c = open(sys.argv[1]).read()
body = re.search(r'static const char RUNNER\[\] =\n(.*?);\n', c, re.S).group(1)
sys.stdout.write("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)).encode().decode("unicode_escape"))
PY
job='print(6 * 7)'
# the batch (warm.c's frame_batch): GRPOBATCH n cap time_ms cpu_s, then J srclen inlen + source
printf 'B 1 4096 2000 3\nJ %d 0\n%s' "${#job}" "$job" >"$W/batch"
unshare --pid --fork --mount-proc bash -c '
    sleep 30 & bystander=$!
    python3 -I -S "$1/runner.py" <"$1/batch" >"$1/out" 2>"$1/err"
    echo "runner exit $?" >"$1/rc"
    kill -0 $bystander 2>/dev/null && echo alive >"$1/bystander"
    kill $bystander 2>/dev/null; wait; true' _ "$W"
cat "$W/rc"
grep -q "^R 0 0 " "$W/out" || { echo "FAIL: the job did not run: $(head -c 300 "$W/out") $(cat "$W/err")"; exit 1; }
grep -q "^42" "$W/out" || { echo "FAIL: the job's output is missing"; exit 1; }
[ -f "$W/bystander" ] || { echo "FAIL: the runner, run as root by hand, killed a process beside it"; exit 1; }
echo "ok: run by hand as root, the runner ran its job and left the process beside it alone"
