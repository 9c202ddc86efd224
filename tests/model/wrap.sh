#!/usr/bin/env bash
# tests/run.sh runs the model suite through this wrapper:  wrap.sh BINARY ARGS...
#  1. the whole suite as OpenBLAS detects this CPU;
#  2. on AVX-512 machines, the PyTorch oracle again with OPENBLAS_CORETYPE=SkylakeX,
#     the kernels ops_blas_setup switches to when OpenBLAS misdetects the CPU
#     ("Prescott"), so those kernels are proven correct too.
# Prints one combined Criterion "Synthesis" line.  OMP_WAIT_POLICY=PASSIVE as
# grpo itself uses (spinning threads on busy shared cores make tests crawl).
set -u
bin=$1
shift
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
log1=$(mktemp) log2=$(mktemp)
trap 'rm -f "$log1" "$log2"' EXIT
"$bin" "$@" >"$log1" 2>&1
rc=$?
cat "$log1"
if grep -q avx512f /proc/cpuinfo; then
    echo "== model: oracle again with OPENBLAS_CORETYPE=SkylakeX"
    OPENBLAS_CORETYPE=SkylakeX "$bin" --filter 'oracle/*' "$@" >"$log2" 2>&1 || rc=1
    grep -E '\[(FAIL|----)\]|Synthesis' "$log2" | sed 's/Synthesis/(SkylakeX) Synthesis/'
fi
# one summary line for tests/run.sh: the sums of both runs
awk '/Synthesis:/ && !/SkylakeX/ {
        for (i = 1; i <= NF; i++) {
            if ($i == "Tested:") t += $(i+1); if ($i == "Passing:") p += $(i+1)
            if ($i == "Failing:") f += $(i+1); if ($i == "Crashing:") c += $(i+1)
        }
     }
     END { printf "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: %d \n", t, p, f, c }' \
    "$log1" "$log2"
exit $rc
