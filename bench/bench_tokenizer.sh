#!/usr/bin/env bash
# Tokenization throughput: grpo's Hugging Face BPE (tokenizer_encode) against
# the PyPI `tokenizers` library on the same lines, in the same run.
#
#   bench: tokenize_mb_per_s_per_core VALUE MB/s vs hf-tokenizers RATIOx
#
# The tokenizer is the Qwen2-style one the parity test trains (NFC, Qwen2's
# Split regex, ByteLevel, special tokens), here with VOCAB (default 16000)
# entries; the text is LINES (default 30000, ~2.7 MB) lines of the test's
# mixed corpus (English, CJK, emoji, combining marks, code, digits, special
# tokens).  Both sides encode line by line with no special tokens added, on
# one thread, timed in CPU seconds around the encoding only (text already in
# memory): ours one tokenizer_encode call per line (bench/tokenizer_bench.c),
# the peer one encode_batch call over all lines with parallelism off (its
# fastest single-thread path).  Both must produce the same ids (count and sum).
set -u
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python3}
BUILD=${BUILD:-build}
CC=${CC:-gcc}
LINES=${LINES:-30000}
VOCAB=${VOCAB:-16000}
REPEAT=${REPEAT:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$PYTHON" -c "import tokenizers" 2>/dev/null || { echo "bench: tokenizers missing in $PYTHON (make deps)"; exit 1; }
[ -f "$BUILD/libgrpo.a" ] || { echo "bench: $BUILD/libgrpo.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
"$CC" -std=gnu17 -O3 -march=native -D_GNU_SOURCE -I. -o "$BUILD/bench/tokenizer_bench" \
    bench/tokenizer_bench.c "$BUILD/libgrpo.a" -lpcre2-8 -lutf8proc -lcjson -lm || exit 1

"$PYTHON" bench/tokenizer_peer.py setup "$tmp/tok" "$tmp/text.jsonl" "$LINES" "$VOCAB" || exit 1
ours=$("$BUILD/bench/tokenizer_bench" "$tmp/tok" "$tmp/text.jsonl" "$REPEAT") || exit 1
peer=$("$PYTHON" bench/tokenizer_peer.py encode "$tmp/tok" "$tmp/text.jsonl" "$REPEAT") || exit 1
field() { sed -n "s/.* $1 \([0-9.]*\).*/\1/p" <<<"$2"; }
echo "ours: $ours"
echo "peer: $peer"
if [ "$(field ids "$ours")" != "$(field ids "$peer")" ] || [ "$(field idsum "$ours")" != "$(field idsum "$peer")" ]; then
    echo "bench: tokenize: the ids differ from the peer's (count and sum: ours $(field ids "$ours") $(field idsum "$ours"), peer $(field ids "$peer") $(field idsum "$peer"))"
    exit 1
fi
rate=$(field mb_per_cpu_s "$ours")
ratio=$(awk -v a="$rate" -v b="$(field mb_per_cpu_s "$peer")" 'BEGIN { printf "%.1f", a / b }')
echo "bench: tokenize_mb_per_s_per_core $rate MB/s vs hf-tokenizers ${ratio}x"
