"""tests/model/ref_llama.py — the PyTorch reference of model/ (the oracle).

A plain PyTorch Llama with exactly our conventions: Hugging Face tensor
names and layout (out_features, in_features), RMSNorm, RoPE in HF's
rotate_half form with any theta, grouped-query attention, SwiGLU, tied or
untied head.  And the variations of the other families, written from their
definitions: q/k/v biases (Qwen2), a head size independent of
hidden/heads and an RMSNorm over each head of q and of k before RoPE
(Qwen3), Llama 3.1's "llama3" RoPE frequency scaling.  Used by oracle.py
(same weights and tokens -> log-probs, entropies, gradients, one AdamW
step) and by bench/model_peer.py.
"""
import json
import math
import os

import torch
import torch.nn.functional as F


def load_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        c = json.load(f)
    arch = (c.get("architectures") or ["LlamaForCausalLM"])[0]
    rs = c.get("rope_scaling")
    return dict(dim=c["hidden_size"], n_layers=c["num_hidden_layers"], n_heads=c["num_attention_heads"],
                n_kv_heads=c.get("num_key_value_heads", c["num_attention_heads"]),
                head_dim=c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"],
                ffn_dim=c["intermediate_size"], vocab=c["vocab_size"], max_seq=c["max_position_embeddings"],
                rope_theta=c.get("rope_theta", 10000.0), norm_eps=c["rms_norm_eps"],
                tie=c.get("tie_word_embeddings", False),
                qkv_bias=arch == "Qwen2ForCausalLM" or bool(c.get("attention_bias", False)),
                qk_norm=arch == "Qwen3ForCausalLM",
                rope_scaling=rs if rs and rs.get("rope_type", rs.get("type")) == "llama3" else None)


def with_defaults(cfg):
    """Fill the keys a config written before the families existed lacks."""
    cfg = dict(cfg)
    cfg.setdefault("head_dim", 0)
    if not cfg["head_dim"]:
        cfg["head_dim"] = cfg["dim"] // cfg["n_heads"]
    for k in ("qkv_bias", "qk_norm"):
        cfg[k] = bool(cfg.get(k, False))
    cfg.setdefault("rope_scaling", None)
    return cfg


def param_shapes(cfg):
    cfg = with_defaults(cfg)
    C, hs = cfg["dim"], cfg["head_dim"]
    q, kv, Fd = hs * cfg["n_heads"], hs * cfg["n_kv_heads"], cfg["ffn_dim"]
    shapes = {"model.embed_tokens.weight": (cfg["vocab"], C)}
    for i in range(cfg["n_layers"]):
        p = f"model.layers.{i}."
        shapes[p + "input_layernorm.weight"] = (C,)
        for name, rows in (("q", q), ("k", kv), ("v", kv)):
            shapes[p + f"self_attn.{name}_proj.weight"] = (rows, C)
            if cfg["qkv_bias"]:
                shapes[p + f"self_attn.{name}_proj.bias"] = (rows,)
        shapes[p + "self_attn.o_proj.weight"] = (C, q)
        if cfg["qk_norm"]:
            shapes[p + "self_attn.q_norm.weight"] = (hs,)
            shapes[p + "self_attn.k_norm.weight"] = (hs,)
        shapes.update({p + "post_attention_layernorm.weight": (C,),
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
        if name.endswith(".bias"):
            out[name] = torch.zeros(shape)
        elif len(shape) == 1:
            out[name] = torch.ones(shape)
        else:
            s = std / math.sqrt(2 * cfg["n_layers"]) if ("o_proj" in name or "down_proj" in name) else std
            out[name] = torch.randn(shape, generator=g) * s
    return out


def inv_freq_llama3(inv_freq, rs):
    """Llama 3.1's rope_scaling (rope_type "llama3"), from Meta's definition:
    wavelengths shorter than original_max / high_freq_factor keep their
    frequency, those longer than original_max / low_freq_factor are divided
    by factor, and the band between interpolates smoothly (in float32)."""
    factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
    old_len = rs["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv_freq
    smooth = (old_len / wavelen - lo) / (hi - lo)
    interpolated = (1 - smooth) * inv_freq / factor + smooth * inv_freq
    out = torch.where(wavelen > old_len / lo, inv_freq / factor, inv_freq)
    medium = (wavelen >= old_len / hi) & (wavelen <= old_len / lo)
    return torch.where(medium, interpolated, out)


def rope_tables(T, hs, theta, rope_scaling=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, hs, 2).float() / hs))
    if rope_scaling:
        inv_freq = inv_freq_llama3(inv_freq, rope_scaling)
    freqs = torch.outer(torch.arange(T).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def linear(P, name, x):
    y = x @ P[name + ".weight"].T
    return y + P[name + ".bias"] if name + ".bias" in P else y


def block(P, i, x, cfg, cos, sin, mask):
    p = f"model.layers.{i}."
    B, T, C = x.shape
    nh, nkv, hs = cfg["n_heads"], cfg["n_kv_heads"], cfg["head_dim"]
    h = rmsnorm(x, P[p + "input_layernorm.weight"], cfg["norm_eps"])
    q = linear(P, p + "self_attn.q_proj", h).view(B, T, nh, hs)
    k = linear(P, p + "self_attn.k_proj", h).view(B, T, nkv, hs)
    v = linear(P, p + "self_attn.v_proj", h).view(B, T, nkv, hs).transpose(1, 2)
    if cfg["qk_norm"]:  # Qwen3: RMSNorm over each head's vector, before RoPE
        q = rmsnorm(q, P[p + "self_attn.q_norm.weight"], cfg["norm_eps"])
        k = rmsnorm(k, P[p + "self_attn.k_norm.weight"], cfg["norm_eps"])
    q, k = q.transpose(1, 2), k.transpose(1, 2)
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
    cfg = with_defaults(cfg)
    B, T = tokens.shape
    cos, sin = rope_tables(T, cfg["head_dim"], cfg["rope_theta"], cfg["rope_scaling"])
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
