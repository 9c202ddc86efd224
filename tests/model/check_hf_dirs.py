#!/usr/bin/env python3
"""tests/model/check_hf_dirs.py — Hugging Face model directories in and out of model/.

Builds tiny random models with transformers' save_pretrained (Llama: GQA, untied
head, with and without llama3 rope_scaling; Qwen2: q/k/v biases, tied head) in fp32,
bf16, f16 and sharded, each with a small byte-level BPE tokenizer.json, and checks
through build/tests/hf_tool (tests/model/hf_tool.c):
  - per-token log-probs within 1e-4 of transformers (weights as stored, fp32 compute);
  - greedy decoding of 32 tokens (or up to a stop id) identical to a hand-written
    greedy loop (generate() does not work with Debian's torch on Python 3.11);
  - the stop ids of config.json and generation_config.json (int or list) reach the
    model's tokenizer;
  - export (model_save_hf) in fp32 and bf16: transformers loads the result with
    identical logits (fp32) or the logits of the model rounded to bf16 (bf16);
    config fields and tokenizer files carried over, a tied head stored once;
  - Qwen3 (transformers 4.47 has no Qwen3): a directory written here the way
    Qwen3 ships (head_dim apart from hidden/heads, q_norm/k_norm, tied head) in
    fp32, bf16 and two shards, against ref_llama.py's PyTorch forward; its exports
    reload to the same log-probs;
  - bad directories are refused with exit code 2 (CORE_EINPUT) and a message that
    names the file and the field, tensor or shard.
Exit 0 pass, 1 fail, 77 skip (no torch/transformers).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
    from safetensors.torch import load_file, save_file
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
    import ref_llama
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

TOOL = os.path.join(os.environ.get("BUILD", "build"), "tests", "hf_tool")
if not os.access(TOOL, os.X_OK):
    print(f"{TOOL} is missing: make {TOOL}")
    sys.exit(1)

VOCAB, T, B = 300, 24, 2
failures = []
measured = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def tool(*args):
    r = subprocess.run([TOOL, *map(str, args)], capture_output=True, text=True)
    return r.returncode, r.stderr.strip()


def make_tokenizer(path):
    """A byte-level BPE (Llama 3 / Qwen2 style) with a few merges and one special token."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=VOCAB - 8, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    corpus = ["the quick brown fox jumps over the lazy dog", "12 + 30 = 42", "<think> so </think>"] * 20
    tok.train_from_iterator(corpus, trainer)
    tok.save(path)
    assert tok.get_vocab_size() <= VOCAB


def randomize(model, seed):
    """Weights far from transformers' tiny init, so that every tensor matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("norm.weight"):
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    return model


def llama():
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rope_theta=500000.0, rms_norm_eps=1e-5, tie_word_embeddings=False,
                      rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                    "high_freq_factor": 4.0, "original_max_position_embeddings": 16})
    return randomize(LlamaForCausalLM(cfg), 1)


def llama_plain():
    cfg = LlamaConfig(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rope_theta=10000.0, rms_norm_eps=1e-5, tie_word_embeddings=False)
    return randomize(LlamaForCausalLM(cfg), 3)


def qwen2():
    cfg = Qwen2Config(vocab_size=VOCAB, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
                      rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True)
    return randomize(Qwen2ForCausalLM(cfg), 2)


def save(model, path, tokenizer, dtype=torch.float32, shard=None):
    m = model.to(dtype)
    kw = {"max_shard_size": shard} if shard else {}
    m.save_pretrained(path, safe_serialization=True, **kw)
    model.to(torch.float32)
    shutil.copy(tokenizer, os.path.join(path, "tokenizer.json"))


def reload(path, cls):
    """The directory as transformers reads it, computed in fp32."""
    return cls.from_pretrained(path, torch_dtype=torch.float32).eval()


def ref_logprobs(model, tokens):
    with torch.no_grad():
        logits = model(torch.tensor(tokens)).logits.float()
    lp = torch.log_softmax(logits, -1)[:, :-1].gather(-1, torch.tensor(tokens)[:, 1:, None])[..., 0]
    return torch.cat([lp, torch.zeros(len(tokens), 1)], 1)


def eos_ids(path):
    """Stop ids as config.json and generation_config.json give them (int or list)."""
    ids = set()
    for name in ("config.json", "generation_config.json"):
        p = os.path.join(path, name)
        v = json.load(open(p)).get("eos_token_id") if os.path.exists(p) else None
        ids |= set(v if isinstance(v, list) else [] if v is None else [v])
    return ids


def ref_greedy(model, prompt, n, eos):
    ids = list(prompt)
    with torch.no_grad():
        for _ in range(n):
            ids.append(int(model(torch.tensor([ids])).logits[0, -1].argmax()))
            if ids[-1] in eos:
                break
    return ids[len(prompt):]


def our_logprobs(path, tokens, tmp):
    inp, out = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
    json.dump({"B": len(tokens), "T": len(tokens[0]), "tokens": sum(tokens, [])}, open(inp, "w"))
    rc, msg = tool("logprobs", path, inp, out)
    if rc:
        return None, msg
    return torch.tensor(json.load(open(out))["logprobs"]).view(len(tokens), -1), ""


def our_greedy(path, prompt, n, tmp):
    inp, out = os.path.join(tmp, "in.json"), os.path.join(tmp, "out.json")
    json.dump({"prompt": prompt}, open(inp, "w"))
    rc, msg = tool("greedy", path, inp, n, out)
    return (json.load(open(out))["ids"], "") if rc == 0 else (None, msg)


def check_load(name, path, cls, tokens, tmp):
    ref = reload(path, cls)
    ours, msg = our_logprobs(path, tokens, tmp)
    if ours is None:
        return check(False, f"{name}: load: {msg}")
    diff = (ours - ref_logprobs(ref, tokens)).abs().max().item()
    measured.append(f"{name}: log-prob max abs diff {diff:.2e}")
    check(diff < 1e-4, f"{name}: log-probs within 1e-4 of transformers (max abs diff {diff:.2e})")
    prompt = tokens[0][:8]
    g, msg = our_greedy(path, prompt, 32, tmp)
    want = ref_greedy(ref, prompt, 32, eos_ids(path))
    check(g == want, f"{name}: greedy decoding identical ({len(want)} tokens)" +
          ("" if g == want else f": {g} vs {want} {msg}"))
    rc, msg = tool("load", path, os.path.join(tmp, "info.json"))
    info = json.load(open(os.path.join(tmp, "info.json"))) if rc == 0 else {}
    check(rc == 0 and set(info["eos"]) == eos_ids(path),
          f"{name}: stop ids {info.get('eos')} from config.json and generation_config.json {msg}")


def check_export(name, src, cls, tokens, tmp):
    ref = reload(src, cls)
    with torch.no_grad():
        want = ref(torch.tensor(tokens)).logits
        want_bf16 = cls.from_pretrained(src, torch_dtype=torch.bfloat16).float()(torch.tensor(tokens)).logits
    for dtype, expect in (("f32", want), ("bf16", want_bf16)):
        dst = os.path.join(tmp, f"{name}-export-{dtype}")
        rc, msg = tool("export", src, dst, dtype, "optimizer")
        if rc:
            check(False, f"{name}: export {dtype}: {msg}")
            continue
        got_model = reload(dst, cls)
        with torch.no_grad():
            got = got_model(torch.tensor(tokens)).logits
        diff = (got - expect).abs().max().item()
        measured.append(f"{name}: export {dtype} logits max abs diff {diff:.2e}")
        check(diff == 0, f"{name}: export {dtype}: transformers logits identical "
                         f"(to the {'fp32' if dtype == 'f32' else 'bf16-rounded'} source; max abs diff {diff:.2e})")
        text_src, text_dst = (open(os.path.join(d, "config.json")).read() for d in (src, dst))
        cfg_src = json.loads(text_src)
        torch_dtype = "float32" if dtype == "f32" else "bfloat16"
        want_text = text_src.replace(f'"torch_dtype": "{cfg_src["torch_dtype"]}"', f'"torch_dtype": "{torch_dtype}"')
        check(text_dst == want_text, f"{name}: export {dtype}: config.json kept byte for byte, torch_dtype {torch_dtype}")
        same_tok = open(os.path.join(src, "tokenizer.json"), "rb").read() == open(os.path.join(dst, "tokenizer.json"), "rb").read()
        check(same_tok, f"{name}: export {dtype}: tokenizer.json copied")
        keys = set(load_file(os.path.join(dst, "model.safetensors")))
        tied = cfg_src.get("tie_word_embeddings", False)
        check(("lm_head.weight" in keys) != tied, f"{name}: export {dtype}: lm_head stored iff untied")
        opt = load_file(os.path.join(dst, "optimizer.safetensors"))
        # a bf16 export keeps the fp32 master weights beside the moments (exact resume)
        want_opt = {"adam_m", "adam_v"} | ({"master"} if dtype == "bf16" else set())
        check(set(opt) == want_opt, f"{name}: export {dtype}: optimizer.safetensors beside it")
        rc, msg = tool("export", src, dst, dtype)
        check(rc == 2 and "exists" in msg, f"{name}: export onto an existing directory refused: {msg}")


QWEN3_CONFIG = {"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 32,
                "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                "intermediate_size": 48, "vocab_size": VOCAB, "max_position_embeddings": 64,
                "rope_theta": 1000000.0, "rms_norm_eps": 1e-06, "tie_word_embeddings": True,
                "hidden_act": "silu", "attention_bias": False, "attention_dropout": 0.0,
                "use_sliding_window": False, "sliding_window": None, "max_window_layers": 28,
                "rope_scaling": None, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}


def write_qwen3(path, P, tokenizer, dtype, shards=1):
    """A Qwen3 directory as Qwen3's own files look (save_pretrained's layout)."""
    os.makedirs(path)
    cfg = dict(QWEN3_CONFIG, torch_dtype={torch.float32: "float32", torch.bfloat16: "bfloat16"}[dtype])
    json.dump(cfg, open(os.path.join(path, "config.json"), "w"), indent=2)
    names = list(P)
    if shards == 1:
        save_file({k: P[k].to(dtype) for k in names}, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    else:
        weight_map = {}
        for i in range(shards):
            part = names[i::shards]
            f = f"model-{i + 1:05d}-of-{shards:05d}.safetensors"
            save_file({k: P[k].to(dtype) for k in part}, os.path.join(path, f), metadata={"format": "pt"})
            weight_map.update({k: f for k in part})
        json.dump({"metadata": {}, "weight_map": weight_map}, open(os.path.join(path, "model.safetensors.index.json"), "w"))
    shutil.copy(tokenizer, os.path.join(path, "tokenizer.json"))


def qwen3_ref(path, tokens):
    P = {}
    for f in os.listdir(path):
        if f.startswith("model") and f.endswith(".safetensors"):
            P.update({k: v.float() for k, v in load_file(os.path.join(path, f)).items()})
    cfg = ref_llama.load_config(path)
    with torch.no_grad():
        return ref_llama.logprob_entropy(ref_llama.logits(P, cfg, torch.tensor(tokens)), torch.tensor(tokens))[0], P, cfg


def check_qwen3(tokens, tokfile, tmp):
    shapes_cfg = dict(dim=32, n_layers=2, n_heads=4, n_kv_heads=2, head_dim=16, ffn_dim=48, vocab=VOCAB,
                      tie=True, qkv_bias=False, qk_norm=True)
    g = torch.Generator().manual_seed(5)
    P = {k: (1 + 0.2 * torch.randn(shape, generator=g)) if len(shape) == 1 else 0.3 * torch.randn(shape, generator=g)
         for k, shape in ref_llama.param_shapes(shapes_cfg).items()}
    check(any("q_norm" in k for k in P) and not any(k.endswith(".bias") for k in P), "qwen3: q_norm/k_norm, no biases")
    for variant, dtype, shards in (("f32", torch.float32, 1), ("bf16", torch.bfloat16, 1), ("sharded", torch.float32, 2)):
        path = os.path.join(tmp, f"qwen3-{variant}")
        write_qwen3(path, P, tokfile, dtype, shards)
        ours, msg = our_logprobs(path, tokens, tmp)
        if ours is None:
            check(False, f"qwen3-{variant}: load: {msg}")
            continue
        ref, Pd, cfg = qwen3_ref(path, tokens)
        diff = (ours - ref).abs().max().item()
        measured.append(f"qwen3-{variant}: log-prob max abs diff {diff:.2e} (vs ref_llama.py)")
        check(diff < 1e-4, f"qwen3-{variant}: log-probs within 1e-4 of ref_llama.py (max abs diff {diff:.2e})")
        prompt, ids = tokens[0][:8], list(tokens[0][:8])
        with torch.no_grad():
            for _ in range(32):
                ids.append(int(ref_llama.logits(Pd, cfg, torch.tensor([ids]))[0, -1].argmax()))
                if ids[-1] in eos_ids(path):
                    break
        got, msg = our_greedy(path, prompt, 32, tmp)
        check(got == ids[8:], f"qwen3-{variant}: greedy decoding identical ({len(ids) - 8} tokens) {msg}")
    for dtype in ("f32", "bf16"):
        dst = os.path.join(tmp, f"qwen3-export-{dtype}")
        rc, msg = tool("export", os.path.join(tmp, "qwen3-f32"), dst, dtype)
        got, msg2 = our_logprobs(dst, tokens, tmp) if rc == 0 else (None, msg)
        if got is None:
            check(False, f"qwen3: export {dtype}: {msg2}")
            continue
        ref, Pd, _ = qwen3_ref(dst, tokens)
        exact = all(torch.equal(Pd[k], P[k].to(torch.bfloat16 if dtype == "bf16" else torch.float32).float()) for k in P)
        how = "rounded to bf16 as torch rounds" if dtype == "bf16" else "bit for bit"
        check(exact and set(Pd) == set(P), f"qwen3: export {dtype}: tensors are the source's ({how})")
        diff = (got - ref).abs().max().item()
        check(diff < 1e-4, f"qwen3: export {dtype}: reloads to ref_llama.py's log-probs (max abs diff {diff:.2e})")


def expect_refused(name, path, *needles):
    rc, msg = tool("load", path)
    ok = rc == 2 and all(n in msg for n in needles)
    check(ok, f"bad dir {name}: exit {rc}: {msg}")


def edit_config(path, **changes):
    p = os.path.join(path, "config.json")
    c = json.load(open(p))
    c.update(changes)
    json.dump(c, open(p, "w"))


def tied_head_saved_anyway(tied, tmp):
    """A tied model's file may carry lm_head.weight: fine when it is the embedding."""
    d = os.path.join(tmp, "tied-with-head")
    shutil.copytree(tied, d)
    w = load_file(os.path.join(d, "model.safetensors"))
    w["lm_head.weight"] = w["model.embed_tokens.weight"].clone()
    save_file(w, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    rc, msg = tool("load", d)
    check(rc == 0, f"tied model with lm_head.weight equal to the embedding loads {msg}")
    w["lm_head.weight"][3, 5] += 1
    save_file(w, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    expect_refused("tied model whose lm_head.weight differs", d, "model.safetensors", "lm_head.weight",
                   "tie_word_embeddings")


def bad_dirs(good, sharded, tmp):
    def copy(name, src=good):
        d = os.path.join(tmp, "bad-" + name)
        shutil.copytree(src, d)
        return d

    d = copy("no-tokenizer")
    os.remove(os.path.join(d, "tokenizer.json"))
    expect_refused("missing tokenizer.json", d, os.path.join(d, "tokenizer.json"), "missing")
    d = copy("moe")
    edit_config(d, architectures=["Qwen2MoeForCausalLM"], model_type="qwen2_moe")
    expect_refused("unsupported architecture", d, "config.json", "architectures", "Qwen2MoeForCausalLM")
    d = copy("rope")
    edit_config(d, rope_scaling={"rope_type": "yarn", "factor": 4.0})
    expect_refused("rope type yarn", d, "config.json", "rope_scaling", "yarn")
    d = copy("act")
    edit_config(d, hidden_act="gelu")
    expect_refused("hidden_act gelu", d, "config.json", "hidden_act", "gelu")
    d = copy("mlp-bias")
    edit_config(d, mlp_bias=True)
    expect_refused("mlp_bias true", d, "config.json", "mlp_bias")
    d = copy("no-hidden")
    c = json.load(open(os.path.join(d, "config.json")))
    del c["hidden_size"]
    json.dump(c, open(os.path.join(d, "config.json"), "w"))
    expect_refused("missing hidden_size", d, "config.json", "hidden_size", "missing")
    d = copy("shape")
    edit_config(d, intermediate_size=40)
    expect_refused("shape disagrees with config.json", d, "model.safetensors", "mlp.gate_proj.weight",
                   "[48, 32]", "[40, 32]", "config.json")
    d = copy("dtype")
    w = load_file(os.path.join(d, "model.safetensors"))
    w["model.norm.weight"] = w["model.norm.weight"].double()
    save_file(w, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    expect_refused("unsupported dtype F64", d, "model.safetensors", "model.norm.weight", "F64")
    d = copy("missing-shard", sharded)
    shards = sorted(f for f in os.listdir(d) if f.startswith("model-"))
    os.remove(os.path.join(d, shards[-1]))
    expect_refused("shard in the index but absent", d, "model.safetensors.index.json", shards[-1])
    d = copy("truncated-shard", sharded)
    p = os.path.join(d, shards[0])
    os.truncate(p, os.path.getsize(p) - 100)
    expect_refused("truncated shard", d, p, "truncated")
    d = copy("extra-tensor")
    w = load_file(os.path.join(d, "model.safetensors"))
    w["model.layers.0.mlp.extra.weight"] = torch.zeros(4)
    save_file(w, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    expect_refused("a tensor the model does not have", d, "model.layers.0.mlp.extra.weight")


def main():
    tmp = tempfile.mkdtemp(prefix="grpo-hf-")
    try:
        tokfile = os.path.join(tmp, "tokenizer.json")
        make_tokenizer(tokfile)
        g = torch.Generator().manual_seed(7)
        tokens = torch.randint(0, VOCAB, (B, T), generator=g).tolist()
        cases = [("llama-plain", llama_plain, LlamaForCausalLM), ("llama3", llama, LlamaForCausalLM),
                 ("qwen2", qwen2, Qwen2ForCausalLM)]
        for name, build, cls in cases:
            model = build()
            for variant, dtype, shard in (("f32", torch.float32, None), ("bf16", torch.bfloat16, None),
                                          ("f16", torch.float16, None), ("sharded", torch.float32, "20KB")):
                path = os.path.join(tmp, f"{name}-{variant}")
                save(model, path, tokfile, dtype, shard)
                if variant == "f16":  # a list of stop ids, as Llama 3 ships them
                    gen = os.path.join(path, "generation_config.json")
                    json.dump(dict(json.load(open(gen)), eos_token_id=[2, 7]), open(gen, "w"))
                if shard:
                    check(os.path.exists(os.path.join(path, "model.safetensors.index.json")),
                          f"{name}-{variant}: saved as shards")
                check_load(f"{name}-{variant}", path, cls, tokens, tmp)
            check_export(name, os.path.join(tmp, f"{name}-f32"), cls, tokens, tmp)
        check_qwen3(tokens, tokfile, tmp)
        tied_head_saved_anyway(os.path.join(tmp, "qwen2-f32"), tmp)
        bad_dirs(os.path.join(tmp, "llama-plain-f32"), os.path.join(tmp, "llama-plain-sharded"), tmp)
    finally:
        shutil.rmtree(tmp)
    print("\n".join(measured))
    if failures:
        print(f"{len(failures)} failed")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
