#!/usr/bin/env python3
"""The peer for bench_math.sh: Math-Verify on the labelled answer pairs.

usage: math_peer.py PAIRS.tsv

For each row of PAIRS.tsv (tests/reward/math_pairs.tsv's format, read by its
own loader in tests/reward/check_math_pairs.py): math_verify.parse of the
gold (inside $...$) and of the response, and math_verify.verify.  Only that
work is timed, in CPU seconds (as the C side).  Prints
"pairs_per_s VALUE agree_labels A/N".
"""
import importlib.util
import os
import sys
import time

from math_verify import parse, verify

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    "check_math_pairs", os.path.join(HERE, "..", "tests", "reward", "check_math_pairs.py"))
pairs_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(pairs_mod)


def grade(gold, response):
    g = parse("$" + gold + "$") or parse(gold)
    return bool(verify(g, parse(response)))


def main():
    rows = pairs_mod.load(sys.argv[1])
    grade("1", "\\boxed{1}")  # warm up imports and caches
    agree = 0
    t0 = time.process_time()
    for r in rows:
        try:
            ok = grade(r["gold"], r["response"])
        except Exception:
            ok = False
        agree += int(ok) == r["label"]
    dt = time.process_time() - t0
    print(f"pairs_per_s {len(rows) / dt:.1f} agree_labels {agree}/{len(rows)}")


if __name__ == "__main__":
    main()
