"""grpo train on a tiny random Qwen2 directory with GSM8K-style JSONL:
a few GRPO steps run, the checkpoints are Hugging Face directories that
transformers loads with the same log-probs grpo computes, the weights moved
away from the base, and a run stopped halfway and resumed from its HF
checkpoint ends bit-identical to one that ran straight through."""
import json
import os
import sqlite3
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model"))
import hf_tiny  # noqa: E402

GRPO = os.environ.get("GRPO", "./grpo")


def write_items(path, seed):
    with open(path, "w") as f:
        for i in range(12):
            a, b = 3 + (i * 7 + seed) % 40, 17
            f.write(json.dumps({"question": f"Natalia sold {a} clips in April and {b} in May. "
                                            "How many clips did she sell?",
                                "answer": f"She sold {a} + {b} = {a + b}.\n#### {a + b}"}) + "\n")


def train(d, name, steps, resume=False, dtype="float32", extra=()):
    cmd = [GRPO, "train", "configs/gsm8k-qwen2.ini",
           "--set", f"model.path={d}/base", "--set", "model.max_seq=512",
           "--set", f"model.save_dtype={dtype}",
           "--set", f"tasks.train={d}/train.jsonl", "--set", f"tasks.heldout={d}/heldout.jsonl",
           "--set", f"run.name={name}", "--set", f"run.steps={steps}",
           "--set", f"run.out_dir={d}/runs", "--set", f"db.path={d}/grpo.db",
           "--set", "rollout.prompts_per_step=2", "--set", "rollout.group_size=4",
           "--set", "rollout.max_new_tokens=16", "--set", "learner.lr=1e-3",
           # a random model's rewards are mostly all-equal in a group (zero advantage):
           # the entropy bonus makes every step move the weights
           "--set", "learner.entropy_coef=0.01", "--set", "reward.format_partial=true",
           "--set", "learner.checkpoint_every=2", "--set", "eval.every=0",
           "--set", "eval.items=2", "--set", "eval.k=2"]
    for setting in extra:
        cmd += ["--set", setting]
    if resume:
        cmd.append("--resume")
    out = subprocess.run(cmd, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stderr


def last_checkpoint(d, name):
    db = sqlite3.connect(f"{d}/grpo.db")
    row = db.execute("SELECT c.path, c.step FROM checkpoints c JOIN runs r ON r.id = c.run_id "
                     "WHERE r.name = ? ORDER BY c.step DESC LIMIT 1", (name,)).fetchone()
    assert row, f"no checkpoint recorded for {name}"
    return row


def tensors(folder):
    return load_file(os.path.join(folder, "model.safetensors"))


with tempfile.TemporaryDirectory() as d:
    hf_tiny.make_model_dir(f"{d}/base", "qwen2", tie_word_embeddings=True)
    # real Qwen directories also ship the slow tokenizer's files: copied, and pruned with the rest
    with open(f"{d}/base/vocab.json", "w") as f:
        f.write("{}\n")
    with open(f"{d}/base/merges.txt", "w") as f:
        f.write("#version: 0.2\n")
    write_items(f"{d}/train.jsonl", 0)
    write_items(f"{d}/heldout.jsonl", 5)

    said = train(d, "straight", 4, extra=["learner.keep_last=1", "learner.keep_best=false"])
    path, step = last_checkpoint(d, "straight")
    assert step == 4 and os.path.isdir(path), (path, step)
    pruned = os.path.join(os.path.dirname(path), "policy-step000002")
    assert not os.path.exists(pruned), f"retention left {os.listdir(pruned)} in {pruned}"
    assert f"checkpoint: {path}\n" in said, said[-800:]  # the run's last words name it
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        assert os.path.exists(os.path.join(path, f)), f

    # transformers loads the checkpoint; its log-probs match grpo's on it
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    tok = AutoTokenizer.from_pretrained(path)
    prompt, completion = "<|im_start|>user\nWhat is 3 + 17?<|im_end|>\n", "<think>3 + 17 = 20</think>"
    ids = tok(prompt + completion, add_special_tokens=False).input_ids
    n_prompt = len(tok(prompt, add_special_tokens=False).input_ids)
    want = hf_tiny.completion_logprobs(model, ids, n_prompt)
    with open(f"{d}/lp.jsonl", "w") as f:
        f.write(json.dumps({"prompt": prompt, "completion": completion}) + "\n")
    out = subprocess.run([GRPO, "logprobs", "--model", path, f"{d}/lp.jsonl"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)["logprobs"]
    worst = max(abs(a - b) for a, b in zip(got, want))
    assert len(got) == len(want) and worst < 1e-4, (got, want)

    base = tensors(f"{d}/base")
    final = tensors(path)
    moved = max(float((final[k] - base[k]).abs().max()) for k in base)
    assert moved > 0, "training did not change the weights"

    # stopped at step 2, resumed from the HF checkpoint: the same bits at step 4
    train(d, "halves", 2)
    train(d, "halves", 4, resume=True)
    path2, step2 = last_checkpoint(d, "halves")
    assert step2 == 4
    again = tensors(path2)
    assert final.keys() == again.keys()
    diff = [k for k in final if not torch.equal(final[k], again[k])]
    assert not diff, f"resumed run differs in {diff[:3]}"

    # the same through bf16 checkpoints: optimizer.safetensors keeps the fp32
    # master weights, so the resumed run's moments are bit-identical too
    train(d, "bf16", 2, dtype="bfloat16")
    train(d, "bf16", 4, resume=True, dtype="bfloat16")
    path3, _ = last_checkpoint(d, "bf16")
    rounded = tensors(path3)
    assert all(rounded[k].dtype == torch.bfloat16 and torch.equal(rounded[k], final[k].bfloat16())
               for k in final), "bf16 export is not the fp32 run rounded"
    opt_a, opt_b = (load_file(os.path.join(p, "optimizer.safetensors")) for p in (path, path3))
    assert torch.equal(opt_a["adam_m"], opt_b["adam_m"]) and torch.equal(opt_a["adam_v"], opt_b["adam_v"])
    # settings this run would not use are refused before anything is written
    def refused(args, words, launcher=(), command="train"):
        out = subprocess.run([*launcher, GRPO, command, "configs/gsm8k-qwen2.ini", "--set", f"run.out_dir={d}/bad",
                              "--set", f"db.path={d}/bad.db", *args], capture_output=True, text=True)
        assert out.returncode == 2 and all(w in out.stderr for w in words), (args, out.stderr[-500:])
        assert not os.path.exists(f"{d}/bad"), "a refused run wrote its folder"
    refused(["--set", f"model.path={d}/base", "--set", "model.dim=64"], ["model.dim", "model.path"])
    refused(["--set", f"model.path={d}/base", "--set", "model.checkpoint=x.safetensors"],
            ["model.checkpoint"])
    refused(["--set", "model.path=", "--set", "model.save_dtype=bfloat16"], ["model.save_dtype"])
    refused(["--set", f"model.path={d}/base", "--set", "model.save_dtype=float16"], ["model.save_dtype"])
    refused(["--set", f"model.path={d}/base"], ["model.path", "pretrain"], command="pretrain")
    os.environ.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    refused(["--set", f"model.path={d}/base", "--set", "run.learners=2"], ["learner.grad_sum", "run.learners"],
            launcher=["mpirun", "-np", "2", "--oversubscribe"])

    # a Hugging Face student distils from the run's episodes and checkpoints as a model directory
    out = subprocess.run([GRPO, "distill", "configs/gsm8k-qwen2.ini", "--from-db", f"{d}/grpo.db",
                          "--where", "run_id = 1", "--set", f"model.path={d}/base", "--set", "model.max_seq=512",
                          "--set", f"tasks.train={d}/train.jsonl", "--set", f"tasks.heldout={d}/heldout.jsonl",
                          "--set", "run.name=student", "--set", f"run.out_dir={d}/runs", "--set", f"db.path={d}/grpo.db",
                          "--set", "distill.steps=2", "--set", "distill.lr=1e-3", "--set", "distill.eval_every=0",
                          "--set", "eval.items=2", "--set", "eval.k=2"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    student, _ = last_checkpoint(d, "student")
    assert os.path.isdir(student), student
    AutoModelForCausalLM.from_pretrained(student)
    taught = tensors(student)
    assert max(float((taught[k] - base[k]).abs().max()) for k in base) > 0, "distillation did not move the student"

    print(f"ok: checkpoint {path} loads in transformers (max |dlogprob| {worst:.1e}), "
          f"weights moved {moved:.3g}, resume bit-identical")
