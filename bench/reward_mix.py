#!/usr/bin/env python3
"""A realistic mix of responses to grade, as JSONL on stdout (deterministic).

usage: reward_mix.py N [SEED] [--demo]

With --demo, only the arithmetic demo's responses (the learner's hot path).

  55% the arithmetic demo: right, one slipped partial sum, a re-check
      ("wait"), a broken template, or junk at max length
  20% competition-style answers in the template: \\boxed{\\frac{a}{b}},
      decimals vs fractions, sqrt, percentages, thousands separators
  10% tuples, intervals and sets (some with the wrong bracket or order)
  10% prose without the template ("... so the answer is 42.")
   5% long reasoning (1-3 KB) before the answer
"""
import json
import random
import sys


def arith(rng):
    nums = [rng.randint(10, 99) for _ in range(rng.choice([3, 4]))]
    steps, acc = [], nums[0]
    slip = rng.random() < 0.2
    for i, x in enumerate(nums[1:]):
        new = acc + x
        shown = new + (rng.choice([-10, -1, 1, 10]) if slip and i == len(nums) - 2 else 0)
        steps.append(f"{acc}+{x}={shown}")
        acc = shown
    gold = sum(nums)
    think = " ".join(steps)
    if rng.random() < 0.08:
        think += f" wait {nums[0]}+{nums[1]}={nums[0] + nums[1]}"
    kind = rng.random()
    if kind < 0.80:
        resp = f"<think>{think}</think><answer>{acc}</answer>"
    elif kind < 0.90:
        resp = f"<think>{think}<answer>{acc}</answer>"  # missing </think>
    elif kind < 0.95:
        resp = f"{think} {acc}"
    else:
        resp = "<think>" + "".join(rng.choice("0123456789+= ") for _ in range(60))
    return {"response": resp, "gold": str(gold)}


def competition(rng):
    p, q = rng.randint(1, 30), rng.randint(2, 30)
    forms = [
        (f"\\boxed{{\\frac{{{p}}}{{{q}}}}}", f"\\frac{{{p}}}{{{q}}}"),
        (f"\\dfrac{{{2 * p}}}{{{2 * q}}}", f"{p}/{q}"),
        (f"{p / 4:g}", f"\\frac{{{p}}}{{4}}"),
        (f"{p}\\sqrt{{{q}}}", f"\\sqrt{{{p * p * q}}}"),
        (f"{p * 5}\\%", f"{p * 5 / 100:g}"),
        (f"{p * 1000 + q:,}", f"{p * 1000 + q}"),
        (f"x = {p}", f"{p}"),
        (f"\\boxed{{{p}}}", f"{p + 1}"),
        (f"{p}^{{2}}", f"{p * p}"),
        (f"\\frac{{\\pi}}{{{q}}}", f"\\pi/{q}"),
    ]
    ans, gold = rng.choice(forms)
    return {"response": f"<think>Let me compute this carefully.</think><answer>{ans}</answer>", "gold": gold}


def structured(rng):
    a, b = sorted(rng.sample(range(-9, 20), 2))
    forms = [
        (f"({a}, {b})", f"({a},{b})"),
        (f"[{a}, {b})", f"[{a},{b}]"),
        (f"\\{{{b}, {a}\\}}", f"\\{{{a},{b}\\}}"),
        (f"({b}, {a})", f"({a}, {b})"),
        (f"(-\\infty, {a}] \\cup [{b}, \\infty)", f"[{b},\\infty)\\cup(-\\infty,{a}]"),
        (f"x={a}, y={b}", f"{a}, {b}"),
    ]
    ans, gold = rng.choice(forms)
    return {"response": f"<think>Solve the system.</think>\n<answer>{ans}</answer>", "gold": gold}


def prose(rng):
    x = rng.randint(1, 500)
    forms = [f"First we add the parts, then divide. So the answer is {x}.",
             f"We find $x = {x}$.", f"Step 1 ... Step 2 ...\n#### {x}",
             f"The final answer is $\\boxed{{{x}}}$."]
    return {"response": rng.choice(forms), "gold": str(x if rng.random() < 0.7 else x + 1)}


def long_reasoning(rng):
    x = rng.randint(1, 1000)
    words = " ".join(f"{rng.randint(1, 99)}+{rng.randint(1, 99)}" for _ in range(rng.randint(100, 300)))
    return {"response": f"<think>{words}</think><answer>{x}</answer>", "gold": str(x)}


def main():
    n = int(sys.argv[1])
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 1)
    kinds = [(0.55, arith), (0.75, competition), (0.85, structured), (0.95, prose), (1.0, long_reasoning)]
    if "--demo" in sys.argv:
        kinds = [(1.0, arith)]
    for _ in range(n):
        u = rng.random()
        gen = next(g for p, g in kinds if u < p)
        print(json.dumps(gen(rng)))


if __name__ == "__main__":
    main()
