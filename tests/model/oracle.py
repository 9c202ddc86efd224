"""tests/model/oracle.py FOLDER — compare model/ against PyTorch (and Hugging Face).

test_oracle.c writes into FOLDER:
  model.safetensors + config.json   the weights before the step
  grads/model.safetensors           our parameter gradients (same names)
  step/model.safetensors            our parameters after one AdamW step
  io.json                           tokens, loss coefficients, our log-probs and entropies, AdamW settings
  io.json's "config" is the model config (our field names; the families'
  variations included), which config.json cannot carry for every family.
We recompute all of it in PyTorch (ref_llama.py) and, for the families
transformers 4.47 has (LlamaForCausalLM: GQA, head_dim, rope_scaling
llama3; Qwen2ForCausalLM: q/k/v biases), build that transformers model with
the same weights and compare its log-probs, entropies and autograd
gradients too.  Qwen3 (q/k norm) is not in 4.47: ref_llama.py is its
reference.  Exit 0 agree, 1 differ, 77 skip.
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

folder = sys.argv[1]
io = json.load(open(os.path.join(folder, "io.json")))
cfg = ref_llama.with_defaults(io["config"] if "config" in io else ref_llama.load_config(folder))
P = {k: v.clone().requires_grad_(True) for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
ours_grad = load_file(os.path.join(folder, "grads", "model.safetensors"))
ours_step = load_file(os.path.join(folder, "step", "model.safetensors"))
B, T = io["B"], io["T"]
tokens = torch.tensor(io["tokens"]).view(B, T)
c_lp = torch.tensor(io["c_logprob"]).view(B, T)
c_ent = torch.tensor(io["c_entropy"]).view(B, T)
failures = []


def close(name, ours, ref, tol):
    err = (ours - ref).abs().max().item()
    scale = max(ref.abs().max().item(), 1e-12)
    ok = err <= tol * scale + 1e-7
    print(f"{'ok ' if ok else 'BAD'} {name}: max abs err {err:.3g} (scale {scale:.3g})")
    if not ok:
        failures.append(name)


lp, ent = ref_llama.logprob_entropy(ref_llama.logits(P, cfg, tokens), tokens)
close("logprob", torch.tensor(io["logprob"]).view(B, T), lp.detach(), 2e-5)
close("entropy", torch.tensor(io["entropy"]).view(B, T), ent.detach(), 2e-5)
loss = (c_lp * lp).sum() + (c_ent * ent).sum()
loss.backward()
for name, p in P.items():
    close("grad " + name, ours_grad[name], p.grad, 2e-5)

a = io["adamw"]
matrices = [p for p in P.values() if p.dim() == 2]
norms = [p for p in P.values() if p.dim() == 1]
opt = torch.optim.AdamW([{"params": matrices, "weight_decay": a["weight_decay"]},
                         {"params": norms, "weight_decay": 0.0}],
                        lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
opt.step()
for name, p in P.items():
    # the step moves each weight by about lr; compare the move, not the weight
    close("adamw " + name, ours_step[name] - load_file(os.path.join(folder, "model.safetensors"))[name],
          p.detach() - load_file(os.path.join(folder, "model.safetensors"))[name], 1e-3)



def transformers_model(cfg):
    """The transformers model of cfg's family with the folder's weights, or None."""
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
        print("Qwen3 (q/k norm) is not in transformers", transformers.__version__,
              ": ref_llama.py is the reference")
        return None
    if cfg["qkv_bias"]:
        cls = transformers.Qwen2ForCausalLM
        hf_cfg = transformers.Qwen2Config(**common, use_sliding_window=False)
    else:
        cls = transformers.LlamaForCausalLM
        hf_cfg = transformers.LlamaConfig(**common, head_dim=cfg["head_dim"], attention_bias=False,
                                          rope_scaling=cfg["rope_scaling"])
    model = cls(hf_cfg).float().eval()
    state = {k: v.detach() for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    if cfg["tie"]:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict(state, strict=True)
    print(f"transformers {transformers.__version__} {cls.__name__}")
    return model


hf = transformers_model(cfg)
if hf is not None:
    z = hf(tokens).logits
    hlp, hent = ref_llama.logprob_entropy(z, tokens)
    name = type(hf).__name__
    close(f"transformers {name} logprob", torch.tensor(io["logprob"]).view(B, T), hlp.detach(), 2e-5)
    close(f"transformers {name} entropy", torch.tensor(io["entropy"]).view(B, T), hent.detach(), 2e-5)
    ((c_lp * hlp).sum() + (c_ent * hent).sum()).backward()
    for pname, p in hf.named_parameters():
        close(f"transformers {name} grad {pname}", ours_grad[pname], p.grad, 2e-5)

if failures:
    print("differences:", ", ".join(failures))
    sys.exit(1)
print("oracle: all agree")
