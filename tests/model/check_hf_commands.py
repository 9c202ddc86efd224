"""The user-facing commands on tiny random Hugging Face directories (Llama
with GQA and an untied head, Qwen2 with a tied head, saved in bf16 and as
shards): `grpo sample --temperature 0` decodes the same 32 tokens as
transformers (greedy by hand; up to the first eos, where grpo stops),
`grpo logprobs` agrees within 1e-4 per token, and `grpo tokenize` gives the
same ids as the model's tokenizer."""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_tiny  # noqa: E402

GRPO = os.environ.get("GRPO", "./grpo")
PROMPT = "<|im_start|>user\nNatalia sold 48 clips in April. How many?<|im_end|>\n<|im_start|>assistant\n"
COMPLETION = "<think>48 + 24 = 72</think><answer>72</answer>"


def grpo(*args, stdin=None):
    out = subprocess.run([GRPO, *args], capture_output=True, text=True, input=stdin)
    assert out.returncode == 0, (args, out.stderr[-2000:])
    return out.stdout


def check(d, family, dtype, shard, **cfg):
    folder = os.path.join(d, f"{family}-{dtype}-{int(shard)}")
    model, tok = hf_tiny.make_model_dir(folder, family, dtype=dtype, shard=shard, **cfg)
    if dtype != "float32":  # compare against what was saved, not the fp32 original
        from transformers import AutoModelForCausalLM
        model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype="float32").eval()
    ids = tok(PROMPT, add_special_tokens=False).input_ids

    with open(os.path.join(d, "text.jsonl"), "w") as f:
        f.write(json.dumps({"text": PROMPT + COMPLETION}) + "\n")
    got = json.loads(grpo("tokenize", "--model", folder, os.path.join(d, "text.jsonl")))["ids"]
    assert got == tok(PROMPT + COMPLETION, add_special_tokens=False).input_ids, family

    want = hf_tiny.greedy(model, ids, 32)[len(ids):]
    eos = model.config.eos_token_id
    if eos in want:
        want = want[:want.index(eos) + 1]
    out = json.loads(grpo("sample", "--model", folder, "--prompt", PROMPT, "--temperature", "0",
                          "--max-new-tokens", "32", "--json"))
    assert out["ids"] == want, (family, dtype, out["ids"], want)

    with open(os.path.join(d, "pairs.jsonl"), "w") as f:
        f.write(json.dumps({"prompt": PROMPT, "completion": COMPLETION}) + "\n")
    got = json.loads(grpo("logprobs", "--model", folder, os.path.join(d, "pairs.jsonl")))["logprobs"]
    full = tok(PROMPT + COMPLETION, add_special_tokens=False).input_ids
    ref = hf_tiny.completion_logprobs(model, full, len(ids))
    worst = max(abs(a - b) for a, b in zip(got, ref))
    assert len(got) == len(ref) and worst < 1e-4, (family, dtype, worst)
    return worst


with tempfile.TemporaryDirectory() as d:
    worst = [check(d, "llama", "float32", False, tie_word_embeddings=False),
             check(d, "llama", "bfloat16", True, tie_word_embeddings=False,
                   rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                 "high_freq_factor": 4.0, "original_max_position_embeddings": 64}),
             check(d, "qwen2", "float32", True, tie_word_embeddings=True),
             check(d, "qwen2", "bfloat16", False, tie_word_embeddings=False)]
    print("ok: sample/logprobs/tokenize agree with transformers; max |dlogprob| per dir",
          " ".join(f"{w:.1e}" for w in worst))
