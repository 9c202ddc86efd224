#!/usr/bin/env python3
"""The peer for bench_reward.sh: the same grading with Math-Verify.

usage: reward_peer.py FILE.jsonl [LIMIT] [--verdicts OUT]

For each line: the R1 template check with Python's re (as our format
component), the <answer> content extracted by regex when present (how R1
pipelines feed Math-Verify), math_verify.parse of it and of the gold (inside $...$
when it looks like LaTeX), and math_verify.verify.  Only that work is
timed, in CPU seconds.  Prints "grades_per_s VALUE" and, with --verdicts, writes one 0/1 per
line (correct) for the agreement figure.
"""
import json
import re
import sys
import time

from math_verify import parse, verify

TEMPLATE = re.compile(r"^\s*<think>.*?</think>\s*<answer>.*?</answer>\s*$", re.S)
ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)


def parsed(text):
    # LaTeX-looking answers read best inside $...$; prose as it is
    if "\\" in text or "^" in text or "{" in text:
        p = parse(f"${text}$")
        if p:
            return p
    return parse(text)


def grade(resp, gold):
    fmt = 1.0 if TEMPLATE.match(resp) else 0.0
    m = ANSWER.findall(resp)
    ans = m[-1] if m else resp
    ok = verify(parsed(gold), parsed(ans))
    return fmt + (1.0 if ok else 0.0), ok


def main():
    path = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 and not sys.argv[2].startswith("--") else None
    out = sys.argv[sys.argv.index("--verdicts") + 1] if "--verdicts" in sys.argv else None
    items = [json.loads(l) for l in open(path) if l.strip()][:limit]
    grade("<think>a</think><answer>1</answer>", "1")  # warm up imports and caches
    verdicts = []
    t0 = time.process_time()  # CPU time, as the C side: robust on a busy machine
    for it in items:
        verdicts.append(grade(it["response"], str(it["gold"]))[1])
    dt = time.process_time() - t0
    if out:
        with open(out, "w") as f:
            f.write("".join("1\n" if v else "0\n" for v in verdicts))
    print(f"grades_per_s {len(items) / dt:.1f}")


if __name__ == "__main__":
    main()
