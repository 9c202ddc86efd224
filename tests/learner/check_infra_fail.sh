#!/usr/bin/env bash
# A sandbox that fails is not a wrong answer.  GRPO_FAULT_SANDBOX=TEXT makes
# every sandbox run whose program (with its test appended) holds TEXT fail
# in the instance's setup (SANDBOX_ERROR, the path a refused mount or cgroup
# takes).  TEXT is the function name of one prompt of step 1, read from a
# run without faults (same seed, so step 1 samples the same completions).
# Checked:
#   - flagged (episodes.infra_fail) are exactly the step-1 completions that
#     ran in the sandbox for that prompt (plus any whose program names it),
#     with a NULL advantage, no sandbox_runs rows and the reason in their
#     reward part;
#   - steps.infra_failures counts them, and reward_mean leaves them out;
#   - every other advantage is the estimator's over the graded members of its
#     group alone (recomputed here from the logged rewards);
#   - the flags travel from an MPI worker: 2 ranks log the same as 1;
#   - past reward.max_infra_fail_rate the run stops: exit 1, a message naming
#     the key and the reason, runs.status = failed.
PYTHON=$(realpath "$(command -v "${PYTHON:-python3}")") # toy.sh moves to a temp dir
source "$(dirname "$0")/toy.sh"
code_base
RUN=("${CODE[@]}" --set reward.components=format,accuracy_code --set run.steps=2
     --set rollout.prompts_per_step=4 --set rollout.group_size=4 --set rollout.max_new_tokens=150
     --set eval.every=0 --set eval.items=1 --set eval.k=1)
"$GRPO" train "$CONFIG" "${RUN[@]}" --set db.path=clean.db >clean.log 2>&1 || { cat clean.log; exit 1; }
# The fault text: the function a step-1 prompt's tests call, among prompts
# whose completions reached the sandbox.
export GRPO_FAULT_SANDBOX=$("$PYTHON" - clean.db <<'PY'
import json, re, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("""SELECT p.tests FROM episodes e JOIN prompts p ON p.id = e.prompt_id
                     WHERE e.step = 1 AND e.id IN (SELECT episode_id FROM sandbox_runs)
                     ORDER BY e.id LIMIT 1""").fetchall()
assert rows, "no completion of step 1 reached the sandbox"
print(re.match(r"assert\s+(\w+)\(", json.loads(rows[0][0])[0]).group(1))
PY
) || exit 1
echo "fault text: $GRPO_FAULT_SANDBOX"
"$GRPO" train "$CONFIG" "${RUN[@]}" --set reward.max_infra_fail_rate=1 --set db.path=one.db >one.log 2>&1 ||
    { cat one.log; exit 1; }
mpirun -np 2 --oversubscribe "$GRPO" train "$CONFIG" "${RUN[@]}" --set reward.max_infra_fail_rate=1 \
    --set db.path=two.db >two.log 2>&1 || { cat two.log; exit 1; }
"$PYTHON" - one.db two.db <<'PY'
import math, os, sqlite3, sys
text = os.environ["GRPO_FAULT_SANDBOX"]
clean = sqlite3.connect("clean.db")
clean.text_factory = lambda b: b.decode("utf-8", "replace")
sandboxed = {(s, g): n for s, g, n in clean.execute(
    """SELECT e.step, e.sample + 1000 * (e.group_id - (SELECT min(id) FROM groups)),
              (SELECT count(*) FROM sandbox_runs r WHERE r.episode_id = e.id) FROM episodes e""")}
rows = {}
for path in sys.argv[1:]:
    db = sqlite3.connect(path)
    db.text_factory = lambda b: b.decode("utf-8", "replace")
    eps = db.execute("""SELECT e.id, e.step, e.group_id, e.sample, e.reward, e.advantage, e.infra_fail,
                               e.completion, r.detail,
                               (SELECT count(*) FROM sandbox_runs s WHERE s.episode_id = e.id), p.tests,
                               e.sample + 1000 * (e.group_id - (SELECT min(id) FROM groups))
                        FROM episodes e JOIN reward_parts r ON r.episode_id = e.id AND r.name = 'accuracy_code'
                        JOIN prompts p ON p.id = e.prompt_id
                        ORDER BY e.step, e.group_id, e.sample""").fetchall()
    rows[path] = [e[1:] for e in eps]
    failed = [e for e in eps if e[6]]
    assert 0 < len(failed) < len(eps), f"{path}: {len(failed)} of {len(eps)} flagged: the fault should hit some"
    for e in eps:
        ran = sandboxed.get((e[1], e[11]), 0) > 0  # in the clean run (step 1 samples the same)
        if e[6]:
            assert e[5] is None and e[9] == 0 and "injected fault" in e[8], f"{path}: {e}"
            assert text in e[10] or text in e[7], f"{path}: episode {e[0]} flagged without '{text}'"
        if e[1] == 1:
            assert not e[6] or ran, f"{path}: episode {e[0]} flagged, but it ran no test in the clean run"
            assert e[6] or not (ran and text in e[10]), f"{path}: episode {e[0]} should have been flagged"
    for step, n, mean in db.execute("SELECT step, infra_failures, reward_mean FROM steps"):
        mine = [e for e in eps if e[1] == step]
        assert n == sum(e[6] for e in mine), f"{path}: step {step} infra_failures {n}"
        graded = [e[4] for e in mine if not e[6]]
        assert abs(mean - sum(graded) / len(graded)) < 1e-12, f"{path}: step {step} reward_mean {mean}"
    adv_eps = None
    (adv_eps_cfg,) = db.execute("SELECT config FROM runs").fetchone()
    for line in adv_eps_cfg.splitlines():
        if line.replace(" ", "").startswith("adv_eps="): adv_eps = float(line.split("=")[1])
    assert adv_eps is not None, "learner.adv_eps not in runs.config"
    for g in sorted({e[2] for e in eps}):
        kept = [e for e in eps if e[2] == g and not e[6]]
        r = [e[4] for e in kept]
        if len(r) < 2:
            want = [0.0] * len(r)
        else:
            m = sum(r) / len(r)
            sd = math.sqrt(sum((x - m) ** 2 for x in r) / (len(r) - 1))
            want = [0.0] * len(r) if max(r) == min(r) else [(x - m) / (sd + adv_eps) for x in r]
        for e, w in zip(kept, want):
            assert abs(e[5] - w) < 1e-9, f"{path}: group {g} sample {e[3]}: advantage {e[5]}, want {w} over {r}"
    print(f"{path}: {len(failed)} of {len(eps)} completions masked, advantages over the graded rest")
assert rows["one.db"] == rows["two.db"], "1 rank and 2 ranks logged different episodes"
PY
# Past the rate (default 0.1) the run stops, saying why: every assert fails.
if GRPO_FAULT_SANDBOX=assert "$GRPO" train "$CONFIG" "${RUN[@]}" --set db.path=stop.db >stop.log 2>&1; then
    echo "the run went on past reward.max_infra_fail_rate"; cat stop.log; exit 1
fi
grep -q "step 1: the sandbox failed on [0-9]* of 16 completions (above reward.max_infra_fail_rate = 0.1; first: accuracy_code: sandbox injected fault" stop.log ||
    { echo "no clear stop message:"; cat stop.log; exit 1; }
[ "$(sql stop.db "SELECT status FROM runs")" = failed ] || { echo "status: $(sql stop.db "SELECT status FROM runs")"; exit 1; }
echo "stopped past the rate: $(grep -o 'the sandbox failed on [0-9]* of 16' stop.log)"
# The key means nothing without a reward that runs programs: refused, naming it.
rc=0
"$GRPO" train "$CONFIG" "${RUN[@]}" --set reward.components=format --set reward.max_infra_fail_rate=0.5 \
    --set db.path=unused.db >unused.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "reward.max_infra_fail_rate is set, but no component" unused.log ||
    { echo "exit $rc"; cat unused.log; exit 1; }
# Eval: a completion the sandbox could not grade has no verdict there either
# (learner/eval.h).  With every test run failing (the tests are asserts),
# the faulted eval's flagged rows are the completions that reached the
# sandbox; every other row must be as in a clean eval, and the figures those
# of the graded rows alone.
EVAL=("${RUN[@]}" --set eval.items=6 --set eval.k=4)
GRPO_FAULT_SANDBOX= "$GRPO" eval "$CONFIG" --model runs/code/base.safetensors "${EVAL[@]}" \
    --set db.path=eval-clean.db --json >eval-clean.json 2>eval-clean.log || { cat eval-clean.log; exit 1; }
fault=assert
GRPO_FAULT_SANDBOX=$fault "$GRPO" eval "$CONFIG" --model runs/code/base.safetensors "${EVAL[@]}" \
    --set db.path=eval-fault.db --json >eval-fault.json 2>eval-fault.log || { cat eval-fault.log; exit 1; }
"$PYTHON" - "$fault" <<'PY'
import json, sqlite3, sys
text = sys.argv[1]
def rows(path):
    db = sqlite3.connect(path)
    db.text_factory = lambda b: b.decode("utf-8", "replace")
    return {(p, s): (c, ok, done, comp, tests) for p, s, c, ok, done, comp, tests in db.execute(
        """SELECT p.text, e.sample, e.correct, e.format_ok, e.infra_fail, e.completion, p.tests
           FROM eval_samples e JOIN prompts p ON p.id = e.prompt_id""")}
clean, fault = rows("eval-clean.db"), rows("eval-fault.db")
got = json.load(open("eval-fault.json"))
assert json.load(open("eval-clean.json"))["infra_failures"] == 0 and not any(r[2] for r in clean.values())
assert clean.keys() == fault.keys()
flagged = [k for k, r in fault.items() if r[2]]
assert flagged and len(flagged) == got["infra_failures"], (len(flagged), got)
for k, r in fault.items():
    if r[2]:
        assert text in r[4] or text in r[3], f"{k} flagged without '{text}'"
        assert r[0] == 0, f"{k}: an ungraded sample is recorded correct"
    else:
        assert r[:2] == clean[k][:2], f"{k}: graded differently: {r[:2]} vs {clean[k][:2]}"
items = sorted({p for p, _ in fault})
pass1, scored, greedy, greedy_scored = 0.0, 0, 0, 0
for p in items:
    graded = [r[0] for (q, s), r in fault.items() if q == p and s >= 0 and not r[2]]
    if graded:
        scored += 1
        pass1 += sum(graded) / len(graded)
    g = fault[(p, -1)]
    if not g[2]:
        greedy_scored += 1
        greedy += g[0]
assert got["scored_items"] == scored, (got, scored)
assert abs(got["pass@1"] - pass1 / scored) < 1e-4, (got["pass@1"], pass1 / scored)
if greedy_scored:
    assert abs(got["greedy"] - greedy / greedy_scored) < 1e-4, (got["greedy"], greedy / greedy_scored)
view = sqlite3.connect("eval-fault.db").execute("SELECT sum(k) - sum(graded) FROM eval_items").fetchone()[0]
assert view == sum(1 for (_, s), r in fault.items() if s >= 0 and r[2]), view
print(f"eval: {len(flagged)} of {len(fault)} completions not graded, pass@1 {got['pass@1']:.4f} "
      f"over the {scored} items with a verdict")
PY
# Items with tests and no reward that runs them: eval refuses as train does
# (a math reward would compare answers with the reference program's text).
rc=0
"$GRPO" eval "$CONFIG" --model runs/code/base.safetensors "${EVAL[@]}" --set reward.components=format,accuracy_math \
    --set db.path=mismatch.db >mismatch.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "reward.components: 'format,accuracy_math' grades no code, but the items carry tests" mismatch.log &&
    [ ! -e mismatch.db ] || { echo "eval with a math reward on code items: exit $rc"; cat mismatch.log; exit 1; }
echo "eval refuses a reward that grades no code on code items"
# sandbox.cpu_ms above sandbox.time_ms would never apply: refused at start,
# naming both keys, nothing written.
rc=0
"$GRPO" train "$CONFIG" "${RUN[@]}" --set sandbox.cpu_ms=7000 --set sandbox.time_ms=2000 \
    --set db.path=cpu.db >cpu.log 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "sandbox.cpu_ms = 7000 is above sandbox.time_ms = 2000" cpu.log && [ ! -e cpu.db ] ||
    { echo "sandbox.cpu_ms above time_ms: exit $rc"; cat cpu.log; exit 1; }
echo "sandbox.cpu_ms above sandbox.time_ms refused"
