"""tests/model/ref_llama.py — the PyTorch reference of model/ (the oracle).

A plain PyTorch Llama with exactly our conventions: Hugging Face tensor
names and layout (out_features, in_features), RMSNorm, RoPE in HF's
rotate_half form with any theta, grouped-query attention, SwiGLU, tied or
untied head.  Used by oracle.py (same weights and tokens -> log-probs,
entropies, gradients, one AdamW step) and by bench/model_peer.py.
"""
import json
import math
import os

import torch
import torch.nn.functional as F


def load_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    return dict(dim=c["hidden_size"], n_layers=c["num_hidden_layers"], n_heads=c["num_attention_heads"],
                n_kv_heads=c.get("num_key_value_heads", c["num_attention_heads"]),
                ffn_dim=c["intermediate_size"], vocab=c["vocab_size"], max_seq=c["max_position_embeddings"],
                rope_theta=c.get("rope_theta", 10000.0), norm_eps=c["rms_norm_eps"],
                tie=c.get("tie_word_embeddings", False))


def param_shapes(cfg):
    C, hs = cfg["dim"], cfg["dim"] // cfg["n_heads"]
    q, kv, Fd = hs * cfg["n_heads"], hs * cfg["n_kv_heads"], cfg["ffn_dim"]
    shapes = {"model.embed_tokens.weight": (cfg["vocab"], C)}
    for i in range(cfg["n_layers"]):
        p = f"model.layers.{i}."
        shapes.update({p + "input_layernorm.weight": (C,), p + "self_attn.q_proj.weight": (q, C),
                       p + "self_attn.k_proj.weight": (kv, C), p + "self_attn.v_proj.weight": (kv, C),
                       p + "self_attn.o_proj.weight": (C, q), p + "post_attention_layernorm.weight": (C,),
                       p + "mlp.gate_proj.weight": (Fd, C), p + "mlp.up_proj.weight": (Fd, C),
                       p + "mlp.down_proj.weight": (C, Fd)})
    shapes["model.norm.weight"] = (C,)
    if not cfg["tie"]:
        shapes["lm_head.weight"] = (cfg["vocab"], C)
    return shapes


def init_params(cfg, seed=0, std=0.02):
    g = torch.Generator().manual_seed(seed)
    out = {}
    for name, shape in param_shapes(cfg).items():
        if len(shape) == 1:
            out[name] = torch.ones(shape)
        else:
            s = std / math.sqrt(2 * cfg["n_layers"]) if ("o_proj" in name or "down_proj" in name) else std
            out[name] = torch.randn(shape, generator=g) * s
    return out


def rope_tables(T, hs, theta):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2).float() / hs))
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def block(P, i, x, cfg, cos, sin, mask):
    p = f"model.layers.{i}."
    B, T, C = x.shape
    nh, nkv = cfg["n_heads"], cfg["n_kv_heads"]
    hs = C // nh
    h = rmsnorm(x, P[p + "input_layernorm.weight"], cfg["norm_eps"])
    q = (h @ P[p + "self_attn.q_proj.weight"].T).view(B, T, nh, hs).transpose(1, 2)
    k = (h @ P[p + "self_attn.k_proj.weight"].T).view(B, T, nkv, hs).transpose(1, 2)
    v = (h @ P[p + "self_attn.v_proj.weight"].T).view(B, T, nkv, hs).transpose(1, 2)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    if nkv != nh:
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
    att = (q @ k.transpose(-1, -2)) / math.sqrt(hs) + mask
    y = att.softmax(-1) @ v
    x = x + y.transpose(1, 2).reshape(B, T, nh * hs) @ P[p + "self_attn.o_proj.weight"].T
    h = rmsnorm(x, P[p + "post_attention_layernorm.weight"], cfg["norm_eps"])
    g = F.silu(h @ P[p + "mlp.gate_proj.weight"].T) * (h @ P[p + "mlp.up_proj.weight"].T)
    return x + g @ P[p + "mlp.down_proj.weight"].T


def logits(P, cfg, tokens):
    B, T = tokens.shape
    hs = cfg["dim"] // cfg["n_heads"]
    cos, sin = rope_tables(T, hs, cfg["rope_theta"])
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = P["model.embed_tokens.weight"][tokens]
    for i in range(cfg["n_layers"]):
        x = block(P, i, x, cfg, cos, sin, mask)
    x = rmsnorm(x, P["model.norm.weight"], cfg["norm_eps"])
    head = P["model.embed_tokens.weight"] if cfg["tie"] else P["lm_head.weight"]
    return x @ head.T


def logprob_entropy(z, tokens):
    """(B,T) log p(tokens[:, t+1]) and entropy at t; position T-1 gets 0, like model_forward."""
    lsm = z.log_softmax(-1)
    lp = lsm[:, :-1].gather(-1, tokens[:, 1:, None]).squeeze(-1)
    ent = -(lsm.exp() * lsm).sum(-1)
    zero = torch.zeros_like(lp[:, :1])
    return torch.cat([lp, zero], 1), torch.cat([ent[:, :-1], zero], 1)
