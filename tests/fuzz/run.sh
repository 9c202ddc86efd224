#!/usr/bin/env bash
# Build every libFuzzer target tests/fuzz/fuzz_*.c and run each for a share
# of SECONDS (default 60).  Usage: tests/fuzz/run.sh [SECONDS]
#
# A target names the library sources it needs on a line
#   fuzz-sources: reward/math_value.c core/core.c ...
# and may have a seed corpus tests/fuzz/seeds_<name>/ and a dictionary
# tests/fuzz/<name>.dict.  Built with clang -fsanitize=fuzzer,address,undefined
# into $BUILD/fuzz/; the growing corpus is kept in $BUILD/fuzz/corpus_<name>/.
# Exit 0 when no target crashed, 1 on a crash (the reproducer is in
# $BUILD/fuzz/), 77 when clang's libFuzzer is not available.
set -u
cd "$(dirname "$0")/../.."
SECONDS_TOTAL=${1:-60}
BUILD=${BUILD:-build}
CLANG=${CLANG:-clang}
out=$BUILD/fuzz
mkdir -p "$out"
command -v "$CLANG" >/dev/null || { echo "no $CLANG: libFuzzer targets not built"; exit 77; }

targets=(tests/fuzz/fuzz_*.c)
[ -e "${targets[0]}" ] || { echo "no fuzz targets"; exit 0; }
per=$(( SECONDS_TOTAL / ${#targets[@]} ))
[ "$per" -lt 1 ] && per=1
status=0
for src in "${targets[@]}"; do
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    sources=$(sed -n 's/.*fuzz-sources:\(.*\)/\1/p' "$src" | head -1)
    bin=$out/$name
    # rebuild only when the target, a source or a header is newer than the binary
    if [ -x "$bin" ] && [ -z "$(find "$src" $sources reward core sandbox -newer "$bin" -name '*.[ch]' 2>/dev/null | head -1)" ]; then
        :
    elif ! "$CLANG" -std=gnu17 -D_GNU_SOURCE -g -O1 -I. -fsanitize=fuzzer,address,undefined \
            -fno-sanitize-recover=undefined -o "$bin" "$src" $sources \
            -lpcre2-8 -lutf8proc -lseccomp -linih -lcjson -lm -lpthread 2>"$out/$name.build.log"; then
        if grep -q "fuzzer" "$out/$name.build.log" && grep -qi "cannot find\|no such file" "$out/$name.build.log"; then
            echo "libFuzzer runtime missing (libclang-rt-dev)"; exit 77
        fi
        cat "$out/$name.build.log"; echo "fuzz: $name: build failed"; status=1; continue
    fi
    corpus=$out/corpus_$short
    mkdir -p "$corpus"
    seeds=tests/fuzz/seeds_$short
    dict=tests/fuzz/$short.dict
    args=(-max_total_time="$per" -timeout=5 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1
          -artifact_prefix="$out/${name}-")
    [ -f "$dict" ] && args+=(-dict="$dict")
    echo "fuzz: $name for ${per}s"
    if ! "$bin" "${args[@]}" "$corpus" $( [ -d "$seeds" ] && echo "$seeds" ) >"$out/$name.log" 2>&1; then
        tail -40 "$out/$name.log"
        echo "fuzz: $name: FAILED (reproducer: $(ls -t "$out/${name}-"* 2>/dev/null | head -1))"
        status=1
    else
        grep -E 'stat::number_of_executed_units|cov:' "$out/$name.log" | tail -2
        echo "fuzz: $name: ok"
    fi
done
exit $status
