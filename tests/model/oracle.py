"""tests/model/oracle.py FOLDER — compare model/ against PyTorch (and Hugging Face).

test_oracle.c writes into FOLDER:
  model.safetensors + config.json   the weights before the step
  grads/model.safetensors           our parameter gradients (same names)
  step/model.safetensors            our parameters after one AdamW step
  io.json                           tokens, loss coefficients, our log-probs and entropies, AdamW settings
We recompute all of it in PyTorch (ref_llama.py) and, when the config is one
transformers 4.30 supports (no GQA, theta 10000), load the folder with
LlamaForCausalLM and compare its log-probs too.  Exit 0 agree, 1 differ, 77 skip.
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
cfg = ref_llama.load_config(folder)
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

hf_ok = cfg["n_kv_heads"] == cfg["n_heads"] and cfg["rope_theta"] == 10000.0
if hf_ok:
    try:
        from transformers import LlamaForCausalLM
    except ImportError as e:
        print(f"transformers not available ({e}): Hugging Face check skipped")
        hf_ok = False
if hf_ok:
    hf = LlamaForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    with torch.no_grad():
        z = hf(tokens).logits
    hlp, hent = ref_llama.logprob_entropy(z, tokens)
    close("transformers LlamaForCausalLM logprob", torch.tensor(io["logprob"]).view(B, T), hlp, 2e-5)
    close("transformers LlamaForCausalLM entropy", torch.tensor(io["entropy"]).view(B, T), hent, 2e-5)
else:
    print("Hugging Face check not applicable to this config (GQA or rope_theta != 10000 need transformers >= 4.31)")

if failures:
    print("differences:", ", ".join(failures))
    sys.exit(1)
print("oracle: all agree")
