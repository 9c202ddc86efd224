#!/usr/bin/env bash
# The command line: help, version, exit codes, config errors naming file and
# line, --set errors, grpo query on a database, bad SQL, grpo runs.
set -u
GRPO=${GRPO:-$PWD/grpo}
W=$(mktemp -d /tmp/grpo-cli.XXXXXX)
trap 'rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect() { # expect CODE PATTERN -- command...
    local code=$1 pattern=$2; shift 3
    out=$("$@" 2>&1); rc=$?
    [ $rc = "$code" ] || fail "'$*' exited $rc, expected $code: $out"
    grep -qE -- "$pattern" <<<"$out" || fail "'$*' output lacks /$pattern/: $out"
}

expect 0 "usage:" -- "$GRPO" --help
expect 0 "^grpo [0-9]+\.[0-9]+" -- "$GRPO" --version
expect 2 "unknown command 'trian'" -- "$GRPO" trian
expect 2 "usage: grpo ablate" -- "$GRPO" ablate configs/smoke.ini
expect 2 "--vary learner.nope: .*unknown key" -- "$GRPO" ablate configs/smoke.ini --vary learner.nope=1,2
expect 0 "learner.kl_estimator = k3" -- "$GRPO" train --help-config
for c in train pretrain eval sample grade sandbox tokenize query runs report demo ablate; do
    expect 0 "usage" -- "$GRPO" $c --help
done

printf '[run]\nname = x\n\n[model]\ndimm = 64\n' >"$W/typo.ini"
expect 2 "typo.ini:5: unknown key 'dimm' in \[model\] \(did you mean 'dim'\?\)" -- "$GRPO" train "$W/typo.ini"
printf '[learner]\nlr = fast\n' >"$W/type.ini"
expect 2 "type.ini:2: learner.lr: expected a number, got 'fast'" -- "$GRPO" train "$W/type.ini"
expect 2 "no such file|cannot open" -- "$GRPO" train "$W/missing.ini"
expect 2 "--set rollout.group_size=0: rollout.group_size: 0 is out of range" -- \
    "$GRPO" train configs/smoke.ini --set rollout.group_size=0

# A database written the way runs write it, then queried.
sqlite3 "$W/q.db" "SELECT 1" >/dev/null
"$GRPO" pretrain configs/smoke.ini --set pretrain.steps=3 --set run.out_dir="$W/runs" \
    --set db.path="$W/q.db" >/dev/null 2>&1 || fail "pretrain on smoke failed"
expect 0 "pretrain" -- "$GRPO" runs "$W/q.db"
expect 0 '^\[\{"id":1,"name":"smoke","kind":"pretrain","status":"done",' -- "$GRPO" runs "$W/q.db" --json
expect 0 '^\[\{"step":1,' -- "$GRPO" query "$W/q.db" "SELECT step, loss FROM steps ORDER BY step" --json
expect 0 "^step,loss" -- "$GRPO" query "$W/q.db" "SELECT step, loss FROM steps" --csv
expect 0 "\(3 rows\)" -- "$GRPO" query "$W/q.db" "SELECT step FROM steps"
expect 2 "SQL error: no such table: stepz" -- "$GRPO" query "$W/q.db" "SELECT * FROM stepz"
expect 2 "cannot open database" -- "$GRPO" query "$W/none.db" "SELECT 1"
# read-only unless --write: a stray DELETE cannot break a live run
expect 2 "opened read-only; add --write" -- "$GRPO" query "$W/q.db" "DELETE FROM steps"
expect 0 "\(3 rows\)" -- "$GRPO" query "$W/q.db" "SELECT step FROM steps"
expect 0 "" -- "$GRPO" query "$W/q.db" "DELETE FROM steps WHERE step = 3" --write
expect 0 "\(2 rows\)" -- "$GRPO" query "$W/q.db" "SELECT step FROM steps"
# --json stays JSON when a text holds invalid UTF-8 (a cut multi-byte character)
out=$("$GRPO" query "$W/q.db" "SELECT CAST(X'61E282' AS TEXT) AS cut, CAST(X'FF62' AS TEXT) AS bad" --json) ||
    fail "query --json on invalid UTF-8"
python3 -c 'import json, sys; d = json.loads(sys.stdin.buffer.read().decode("utf-8")); assert d == [{"cut": b"a\xe2\x82".decode("utf-8", "replace"), "bad": "\ufffdb"}], d' <<<"$out" ||
    fail "--json output on invalid UTF-8 does not parse: $out"
echo "command line ok"
