"""tests/model/oracle.py FOLDER... — compare model/ against PyTorch (and Hugging Face).

test_oracle.c writes into each FOLDER:
  model.safetensors + config.json   the weights before the step
  grads/model.safetensors           our parameter gradients (same names)
  step/model.safetensors            our parameters after one AdamW step
  io.json                           tokens, loss coefficients, our log-probs and entropies,
                                    AdamW settings, 32 greedy tokens we decoded with the
                                    KV cache after "greedy_prompt", and "config": the model config in our
                                    field names (the families' variations included, which
                                    config.json cannot carry for every family)
We recompute all of it in PyTorch (ref_llama.py) and, for the families
transformers 4.47 has (LlamaForCausalLM: GQA, head_dim, rope_scaling
llama3; Qwen2ForCausalLM: q/k/v biases), build that transformers model with
the same weights and compare its log-probs, entropies and autograd
gradients too.  Qwen3 (q/k norm) is not in 4.47: ref_llama.py is its
reference.  Several folders share one process (torch's import is the
slow part).  Exit 0 agree, 1 differ, 77 skip.
"""
import json
import os
import sys

try:
    import torch
    from safetensors.torch import load_file
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_llama  # noqa: E402

failures = []


def close(name, ours, ref, tol):
    err = (ours - ref).abs().max().item()
    scale = max(ref.abs().max().item(), 1e-12)
    ok = err <= tol * scale + 1e-7
    print(f"{'ok ' if ok else 'BAD'} {name}: max abs err {err:.3g} (scale {scale:.3g})")
    if not ok:
        failures.append(name)


def transformers_model(cfg, weights):
    """The transformers model of cfg's family with these weights, or None."""
    try:
        import transformers
    except ImportError as e:
        print(f"transformers not available ({e}): Hugging Face check skipped")
        return None
    common = dict(hidden_size=cfg["dim"], num_hidden_layers=cfg["n_layers"],
                  num_attention_heads=cfg["n_heads"], num_key_value_heads=cfg["n_kv_heads"],
                  intermediate_size=cfg["ffn_dim"], vocab_size=cfg["vocab"],
                  max_position_embeddings=cfg["max_seq"], rope_theta=cfg["rope_theta"],
                  rms_norm_eps=cfg["norm_eps"], tie_word_embeddings=cfg["tie"], hidden_act="silu",
                  torch_dtype="float32")
    if cfg["qk_norm"]:
        print(f"Qwen3 (q/k norm) is not in transformers {transformers.__version__}: ref_llama.py is the reference")
        return None
    if cfg["qkv_bias"]:
        cls = transformers.Qwen2ForCausalLM
        hf_cfg = transformers.Qwen2Config(**common, use_sliding_window=False)
    else:
        cls = transformers.LlamaForCausalLM
        hf_cfg = transformers.LlamaConfig(**common, head_dim=cfg["head_dim"], attention_bias=False,
                                          rope_scaling=cfg["rope_scaling"])
    model = cls(hf_cfg).float().eval()
    state = dict(weights)
    if cfg["tie"]:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state, strict=True)
    print(f"transformers {transformers.__version__} {cls.__name__}")
    return model


def check(folder):
    print(f"== {folder}")
    io = json.load(open(os.path.join(folder, "io.json")))
    cfg = ref_llama.with_defaults(io["config"] if "config" in io else ref_llama.load_config(folder))
    before = load_file(os.path.join(folder, "model.safetensors"))
    P = {k: v.clone().requires_grad_(True) for k, v in before.items()}
    ours_grad = load_file(os.path.join(folder, "grads", "model.safetensors"))
    ours_step = load_file(os.path.join(folder, "step", "model.safetensors"))
    B, T = io["B"], io["T"]
    tokens = torch.tensor(io["tokens"]).view(B, T)
    c_lp = torch.tensor(io["c_logprob"]).view(B, T)
    c_ent = torch.tensor(io["c_entropy"]).view(B, T)
    our_lp, our_ent = torch.tensor(io["logprob"]).view(B, T), torch.tensor(io["entropy"]).view(B, T)

    lp, ent = ref_llama.logprob_entropy(ref_llama.logits(P, cfg, tokens), tokens)
    close("logprob", our_lp, lp.detach(), 2e-5)
    close("entropy", our_ent, ent.detach(), 2e-5)
    loss = (c_lp * lp).sum() + (c_ent * ent).sum()
    loss.backward()
    for name, p in P.items():
        close("grad " + name, ours_grad[name], p.grad, 2e-5)

    a = io["adamw"]
    matrices = [p for p in P.values() if p.dim() == 2]
    vectors = [p for p in P.values() if p.dim() == 1]  # norm weights and biases: no decay
    opt = torch.optim.AdamW([{"params": matrices, "weight_decay": a["weight_decay"]},
                             {"params": vectors, "weight_decay": 0.0}],
                            lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
    opt.step()
    for name, p in P.items():
        # the step moves each weight by about lr; compare the move, not the weight
        close("adamw " + name, ours_step[name] - before[name], p.detach() - before[name], 1e-3)

    check_greedy("ref_llama", io, lambda t: ref_llama.logits(before, cfg, t))
    hf = transformers_model(cfg, before)
    if hf is not None:
        check_greedy(f"transformers {type(hf).__name__}", io, lambda t: hf(t).logits)
        kind = type(hf).__name__
        hlp, hent = ref_llama.logprob_entropy(hf(tokens).logits, tokens)
        close(f"transformers {kind} logprob", our_lp, hlp.detach(), 2e-5)
        close(f"transformers {kind} entropy", our_ent, hent.detach(), 2e-5)
        ((c_lp * hlp).sum() + (c_ent * hent).sum()).backward()
        for name, p in hf.named_parameters():
            close(f"transformers {kind} grad {name}", ours_grad[name], p.grad, 2e-5)


def check_greedy(name, io, logits_of):
    """Our KV-cache greedy tokens against the argmax of a full forward at each step."""
    seq, ours = list(io["greedy_prompt"]), io["greedy"]
    ref = []
    with torch.no_grad():
        for _ in range(len(ours)):
            nxt = int(logits_of(torch.tensor([seq]))[0, -1].argmax())
            ref.append(nxt)
            seq.append(nxt)
    ok = ref == ours
    print(f"{'ok ' if ok else 'BAD'} {name} greedy {len(ours)} tokens{'' if ok else f': ours {ours}, ref {ref}'}")
    if not ok or len(ours) < 32:
        failures.append(name + " greedy")


for folder in sys.argv[1:]:
    check(folder)
if failures:
    print("differences:", ", ".join(failures))
    sys.exit(1)
print("oracle: all agree")
