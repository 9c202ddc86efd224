#!/usr/bin/env python3
"""grpo grade on the shipped sample: per-line JSON, malformed lines reported
with their line numbers and skipped, the summary, kinds, and bad usage."""
import json
import os
import subprocess
import sys

GRPO = os.environ.get("GRPO", "./grpo")
HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "grade_sample.jsonl")
failures = []


def run(*args, stdin=None):
    p = subprocess.run([GRPO, "grade", *args], input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def expect(cond, what):
    if not cond:
        failures.append(what)


if not os.access(GRPO, os.X_OK):
    print(f"no {GRPO}; build it first")
    sys.exit(77)

# --kind math (the default): every good line graded, bad ones named
rc, out, err = run(SAMPLE)
expect(rc == 2, f"malformed lines must give exit 2, got {rc}")
rows = [json.loads(l) for l in out.splitlines()]
by_id = {r["id"]: r for r in rows}
expect(len(rows) == 8, f"8 graded lines expected, got {len(rows)}")
want = {"demo-right": (2, True), "demo-slip": (1, False), "no-template": (1, True), "boxed-frac": (2, True),
        "set": (2, True), "tuple-vs-set": (1, False), "gsm8k-gold": (2, True), "sqrt": (2, True)}
for i, (total, correct) in want.items():
    r = by_id.get(i)
    expect(r is not None, f"{i} missing")
    if r:
        expect(r["total"] == total and r["correct"] == correct, f"{i}: got {r['total']}, {r['correct']}")
        expect(set(r["parts"]) == {"format", "accuracy_math"}, f"{i}: parts {r['parts']}")
        expect(set(r["detail"]) == {"format", "accuracy_math"}, f"{i}: detail {r['detail']}")
expect(by_id["demo-slip"]["detail"]["accuracy_math"] == "answer_tag: 81 != 80", by_id["demo-slip"]["detail"])
expect(by_id["tuple-vs-set"]["detail"]["accuracy_math"] == "answer_tag: tuple vs set", "tuple vs set detail")
expect(by_id["no-template"]["detail"]["format"] == "no match (0 of 4 tags in order)", by_id["no-template"]["detail"])
expect([r["line"] for r in rows] == [1, 2, 3, 4, 5, 6, 9, 11], f"line numbers {[r['line'] for r in rows]}")
for line, reason in [(7, "not a JSON object"), (8, '"response"'), (12, '"gold"')]:
    expect(f"grade_sample.jsonl:{line}: " in err and reason in err, f"line {line} ({reason}) not reported: {err}")
expect("8 graded, 3 malformed, 0 failed" in err and "grades/s" in err, f"summary: {err}")
expect("correct 0.7500" in err, f"accuracy in summary: {err}")

# --kind format --quiet --json: no per-line output, a JSON summary
rc, out, err = run("--kind", "format", "--quiet", "--json", SAMPLE)
lines = out.splitlines()
expect(len(lines) == 1, f"--quiet --json prints only the summary: {out}")
s = json.loads(lines[0]) if lines else {}
expect(s.get("graded") == 8 and s.get("format_rate") == 0.875 and s.get("accuracy") == 0, f"format summary {s}")

# --kind config with --set: an ablation is a config change
rc, out, err = run("--kind", "config", "--set", "reward.components=accuracy_math", "--set",
                   "reward.combine=gated", "--set", "reward.weights=3", SAMPLE)
rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
expect(rows["demo-right"]["total"] == 3, f"weight 3: {rows['demo-right']}")
expect(rows["no-template"]["total"] == 0 and rows["no-template"]["correct"], "gated: right answer, no template")

# stdin, and a clean file exits 0
rc, out, err = run("-", stdin='{"response": "<think>a</think><answer>7</answer>", "gold": "7"}\n')
expect(rc == 0 and json.loads(out)["total"] == 2, f"stdin: rc {rc} {out} {err}")

# usage and config errors
expect(run("--help")[0] == 0, "--help exits 0")
expect(run()[0] == 2, "no file: exit 2")
expect(run("--kind", "code2", SAMPLE)[0] == 2, "bad kind: exit 2")
rc, out, err = run("--set", "reward.format_pattern=(<think>", SAMPLE)
expect(rc == 2 and "reward.format_pattern" in err and "offset" in err, f"bad pattern: {rc} {err}")
expect(run("/nonexistent.jsonl")[0] == 2, "missing file: exit 2")

# --kind code: the tests run in the sandbox (reward/code.c through the registry)
rc, out, err = run("--kind", "code", os.path.join(HERE, "grade_code_sample.jsonl"))
rows = {r["id"]: r for r in map(json.loads, out.splitlines())}
if rc == 1 or "sandbox" in err.lower():
    print("note: --kind code not checked, the sandbox cannot run here:", err.strip()[:200])
else:
    expect(rc == 0, f"--kind code: rc {rc} {err}")
    for i, (total, correct) in {"ok": (2, True), "wrong": (1, False), "io": (2, True)}.items():
        r = rows.get(i, {})
        expect(r.get("total") == total and r.get("correct") == correct and "accuracy_code" in r.get("parts", {}),
               f"--kind code {i}: {r}")

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
