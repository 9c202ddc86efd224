#!/usr/bin/env python3
"""The labelled answer pairs of math_pairs.tsv through grpo's math verifier.

usage: check_math_pairs.py [--peer] [--show] [--pairs FILE]

Every row is graded by `grpo grade --kind math` (the answer as the response
"\\boxed{answer}", or the whole response for kind "extract"; the gold bare).
Fails when any wrong pair (label 0) is accepted, or when fewer than
MIN_AGREEMENT of the rows agree with their labels.  Prints the agreement by
kind.  --peer also runs Math-Verify (PyPI math-verify: parse + verify, the
gold inside $...$) on the same rows and prints its agreement with the labels
and with us (slow: seconds, so not part of `make test`).  --show lists every
row we get wrong.
"""
import collections
import json
import os
import subprocess
import sys

GRPO = os.environ.get("GRPO", "./grpo")
HERE = os.path.dirname(os.path.abspath(__file__))
MIN_AGREEMENT = 0.95


def load(path):
    rows = []
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if not line.strip() or line.startswith("#"):
            continue
        f = line.split("\t")
        if len(f) != 4 or f[0] not in ("0", "1"):
            sys.exit(f"{path}:{no}: want 4 tab-separated fields (label 0/1, kind, gold, answer)")
        label, kind, gold, ans = int(f[0]), f[1], f[2], f[3].replace("⏎", "\n")
        response = ans if kind == "extract" else "\\boxed{" + ans + "}"
        rows.append({"line": no, "label": label, "kind": kind, "gold": gold, "answer": ans, "response": response})
    return rows


def ours(rows, timeout=120):
    """grpo grade's verdicts and details on rows of {response, gold} (math_diff.py uses it too)."""
    lines = "".join(json.dumps({"id": str(r.get("line", i)), "response": r["response"], "gold": r["gold"]}) + "\n"
                    for i, r in enumerate(rows))
    p = subprocess.run([GRPO, "grade", "--kind", "math", "-"], input=lines, capture_output=True, text=True,
                       timeout=timeout)
    out = [json.loads(l) for l in p.stdout.splitlines()]
    if len(out) != len(rows):
        sys.exit(f"grpo grade gave {len(out)} lines for {len(rows)} rows: {p.stderr[-500:]}")
    return [int(o["correct"]) for o in out], [o["detail"]["accuracy_math"] for o in out]


def peer(rows):
    from math_verify import parse, verify
    got = []
    for r in rows:
        try:
            g = parse("$" + r["gold"] + "$") or parse(r["gold"])
            got.append(int(bool(verify(g, parse(r["response"])))))
        except Exception:
            got.append(0)
    return got


def table(name, rows, got):
    by = collections.defaultdict(lambda: [0, 0])
    for r, v in zip(rows, got):
        by[r["kind"]][0] += v == r["label"]
        by[r["kind"]][1] += 1
    agree = sum(v == r["label"] for r, v in zip(rows, got))
    fp = sum(v == 1 and r["label"] == 0 for r, v in zip(rows, got))
    kinds = "  ".join(f"{k} {a}/{n}" for k, (a, n) in by.items())
    print(f"{name}: agreement {agree}/{len(rows)} = {100 * agree / len(rows):.1f}%, "
          f"false positives {fp}  ({kinds})")
    return agree / len(rows), fp


def main():
    path = sys.argv[sys.argv.index("--pairs") + 1] if "--pairs" in sys.argv else os.path.join(HERE, "math_pairs.tsv")
    if not os.access(GRPO, os.X_OK):
        print(f"no {GRPO}; build it first")
        sys.exit(77)
    rows = load(path)
    got, why = ours(rows)
    agree, fp = table("grpo", rows, got)
    for r, v, w in zip(rows, got, why):
        if v != r["label"] and (v == 1 or "--show" in sys.argv):
            print(f"  {'FALSE POSITIVE' if v else 'missed'} line {r['line']} [{r['kind']}] "
                  f"gold {r['gold']!r} answer {r['answer']!r}: {w}")
    if "--peer" in sys.argv:
        mv = peer(rows)
        table("math-verify", rows, mv)
        same = sum(a == b for a, b in zip(got, mv))
        print(f"grpo vs math-verify: same verdict on {same}/{len(rows)} = {100 * same / len(rows):.1f}%")
    if fp:
        sys.exit(f"{fp} wrong answers accepted")
    if agree < MIN_AGREEMENT:
        sys.exit(f"agreement {100 * agree:.1f}% < {100 * MIN_AGREEMENT:.0f}%")


if __name__ == "__main__":
    main()
