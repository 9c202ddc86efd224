"""grpo logprobs on one of our checkpoints (written by Python) against the
PyTorch reference: per-token log-probs of each completion within 1e-4; the
completion's tokens are those of prompt + completion after the prompt's; a
bad line is refused naming the file, the line and the field."""
import json
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import ref_llama  # noqa: E402

GRPO = os.environ.get("GRPO", "./grpo")
BYTE_TAGS = {"<think>": 259, "</think>": 260, "<answer>": 261, "</answer>": 262}


def byte_ids(text):
    """Our byte-level tokenizer: the four tags are single ids, all else bytes."""
    ids, i = [], 0
    raw = text.encode()
    while i < len(raw):
        for tag, tid in BYTE_TAGS.items():
            if raw.startswith(tag.encode(), i):
                ids.append(tid)
                i += len(tag)
                break
        else:
            ids.append(raw[i])
            i += 1
    return ids


with tempfile.TemporaryDirectory() as d:
    subprocess.run([sys.executable, os.path.join(here, "make_checkpoint.py"), d, "7"], check=True)
    rows = [{"prompt": "Q:12+30=<think>", "completion": "12+30=42</think><answer>42</answer>"},
            {"prompt": "ab", "completion": "c"},
            {"prompt": "héllo ", "completion": "wörld ✓"}]
    src = os.path.join(d, "in.jsonl")
    with open(src, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n\n")  # blank lines are skipped
    ckpt = os.path.join(d, "model.safetensors")
    out = subprocess.run([GRPO, "logprobs", "--model", ckpt, src], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = [json.loads(line)["logprobs"] for line in out.stdout.splitlines()]
    assert len(got) == len(rows), out.stdout

    cfg = ref_llama.load_config(d)
    P = load_file(ckpt)
    worst = 0.0
    for r, lps in zip(rows, got):
        ids = byte_ids(r["prompt"] + r["completion"])
        n_prompt = len(byte_ids(r["prompt"]))
        toks = torch.tensor([ids])
        lp, _ = ref_llama.logprob_entropy(ref_llama.logits(P, cfg, toks), toks)
        want = lp[0, n_prompt - 1:len(ids) - 1].tolist()
        assert len(lps) == len(want) == len(ids) - n_prompt, (len(lps), len(want))
        worst = max(worst, max(abs(a - b) for a, b in zip(lps, want)))
    assert worst < 1e-4, worst

    bad = os.path.join(d, "bad.jsonl")
    with open(bad, "w") as f:
        f.write(json.dumps(rows[0]) + "\n" + json.dumps({"prompt": "x"}) + "\n")
    out = subprocess.run([GRPO, "logprobs", "--model", ckpt, bad], capture_output=True, text=True)
    assert out.returncode == 2 and "bad.jsonl:2" in out.stderr and '"completion"' in out.stderr, out
    print(f"ok: max |logprob - reference| = {worst:.2e}")
