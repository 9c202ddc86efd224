#!/usr/bin/env bash
# Runs every test suite and ends with one summary line, "tests: N passed, N failed".
#
# For each folder named on the command line (tests/<dir>/):
#   - the Criterion binary $BUILD/tests/test_<dir>, run through tests/<dir>/wrap.sh
#     when that exists (the sandbox's hostile tests run inside an outer envelope);
#     its "Synthesis" line gives the counts;
#   - every executable tests/<dir>/check_*.sh and tests/<dir>/check_*.py, each one
#     test: exit 0 passes, exit 77 is skipped (with its reason printed), else fails.
set -u
BUILD=${BUILD:-build}
export PYTHON=${PYTHON:-.venv/bin/python3}
export GRPO=${GRPO:-$PWD/grpo}
passed=0 failed=0 skipped=0
failures=()

run_criterion() {
    local dir=$1 bin=$BUILD/tests/test_$1 log synth
    [ -x "$bin" ] || return 0
    log=$(mktemp)
    echo "== $dir: criterion"
    if [ -x "tests/$dir/wrap.sh" ]; then
        "tests/$dir/wrap.sh" "$bin" --jobs 2 >"$log" 2>&1
    else
        "$bin" --jobs 2 >"$log" 2>&1
    fi
    local rc=$?
    grep -E '^\[(FAIL|----)\]' "$log" | head -40
    synth=$(grep -a 'Synthesis:' "$log" | tail -1)
    echo "$synth"
    local p f c
    p=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$synth")
    f=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$synth")
    c=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$synth")
    if [ -z "$p" ]; then
        tail -20 "$log"
        failed=$((failed + 1)); failures+=("$dir: criterion binary did not finish (rc=$rc)")
    else
        passed=$((passed + p)); failed=$((failed + f + c))
        [ $((f + c)) -gt 0 ] && failures+=("$dir: $f failing, $c crashing")
    fi
    rm -f "$log"
}

run_checks() {
    local dir=$1 t rc log
    for t in tests/$dir/check_*.sh tests/$dir/check_*.py; do
        [ -x "$t" ] || continue
        log=$(mktemp)
        case $t in
            *.py) "$PYTHON" "$t" >"$log" 2>&1 ;;
            *) "$t" >"$log" 2>&1 ;;
        esac
        rc=$?
        if [ $rc = 0 ]; then
            passed=$((passed + 1)); echo "ok   $t"
        elif [ $rc = 77 ]; then
            skipped=$((skipped + 1)); echo "skip $t: $(tail -1 "$log")"
        else
            failed=$((failed + 1)); failures+=("$t (rc=$rc)")
            echo "FAIL $t (rc=$rc)"; tail -30 "$log" | sed 's/^/    /'
        fi
        rm -f "$log"
    done
}

for dir in "$@"; do
    run_criterion "$dir"
    run_checks "$dir"
done
# folders that have only scripts
for d in tests/*/; do
    d=${d#tests/}; d=${d%/}
    case " $* " in *" $d "*) continue ;; esac
    run_checks "$d"
done

for f in "${failures[@]+"${failures[@]}"}"; do echo "failed: $f"; done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
