#!/usr/bin/env bash
# Per-run overhead of the sandbox vs bare fork+exec+wait and vs bubblewrap,
# for /bin/true and python3 -I -S -c pass, and a batch of Python test runs
# through the pool.  Builds bench/sandbox_bench.c against build/libgrpo.a.
#   BENCH_SANDBOX_N (100) interleaved runs per method; 25th percentile.
set -eu
BUILD=${BUILD:-build}
[ -f "$BUILD/libgrpo.a" ] || make -s "$BUILD/libgrpo.a"
bin="$BUILD/bench/sandbox_bench"
mkdir -p "$BUILD/bench"
cc -std=gnu17 -O2 -D_GNU_SOURCE -I. -o "$bin" bench/sandbox_bench.c "$BUILD/libgrpo.a" \
   -lseccomp -lcjson -linih -lm -lpthread
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) (timings are noisy while the machine is busy)"
"$bin" "${BENCH_SANDBOX_N:-100}"
