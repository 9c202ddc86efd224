"""bench/model_peer.py SHAPE [train_steps] — the PyTorch peer of model_bench.c.

Same shapes, same work: training = forward + backward + AdamW on a (16, 256)
batch (tests/model/ref_llama.py, the oracle's model); sampling = 128 new
tokens after a 16-token prompt with a preallocated KV cache, one sequence and
a group of 8; rollout (demo shape) = 16 prompts x 8 samples as a batch of 128,
40 new tokens.  Prints "key value" lines like model_bench.  Run it at its
best: 2 threads, OMP_WAIT_POLICY=PASSIVE, the same OPENBLAS_CORETYPE as ours.
"""
import math
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
import ref_llama  # noqa: E402

SHAPES = {
    "small": dict(dim=256, n_layers=4, n_heads=8, n_kv_heads=8, ffn_dim=688, vocab=264, max_seq=256,
                  rope_theta=10000.0, norm_eps=1e-5, tie=False),
    "medium": dict(dim=512, n_layers=8, n_heads=8, n_kv_heads=8, ffn_dim=1376, vocab=264, max_seq=256,
                   rope_theta=10000.0, norm_eps=1e-5, tie=False),
    "demo": dict(dim=96, n_layers=3, n_heads=4, n_kv_heads=4, ffn_dim=256, vocab=264, max_seq=128,
                 rope_theta=10000.0, norm_eps=1e-5, tie=True),
}


def bench_train(cfg, steps):
    B, T = 16, min(256, cfg["max_seq"])
    P = {k: v.requires_grad_(True) for k, v in ref_llama.init_params(cfg, 1).items()}
    opt = torch.optim.AdamW(P.values(), lr=1e-4, weight_decay=0.01)
    tokens = torch.randint(0, 256, (B, T))
    best = float("inf")  # the fastest step, like model_bench
    for s in range(steps + 1):
        t0 = time.perf_counter()
        lp, _ = ref_llama.logprob_entropy(ref_llama.logits(P, cfg, tokens), tokens)
        loss = -lp.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if s > 0:
            best = min(best, time.perf_counter() - t0)
    print(f"train_tokens_per_s {B * T / best:.1f}")


@torch.no_grad()
def decode(P, cfg, prompt, G, new):
    """Prefill the prompt once, then decode G samples with a preallocated KV cache."""
    C, nh, nkv = cfg["dim"], cfg["n_heads"], cfg["n_kv_heads"]
    hs, L = C // nh, cfg["n_layers"]
    R, Tp = prompt.shape  # R prompt rows (1 or many)
    rows = R * G
    Tmax = Tp + new
    cos, sin = ref_llama.rope_tables(Tmax, hs, cfg["rope_theta"])
    kc = torch.zeros(L, rows, nkv, Tmax, hs)
    vc = torch.zeros(L, rows, nkv, Tmax, hs)
    head = P["model.embed_tokens.weight"] if cfg["tie"] else P["lm_head.weight"]

    def step(x, pos, T):  # x (rows, T, C) at positions pos..pos+T-1
        mask = torch.full((T, pos + T), float("-inf")).triu(pos + 1)
        c, s = cos[pos:pos + T], sin[pos:pos + T]
        for i in range(L):
            p = f"model.layers.{i}."
            h = ref_llama.rmsnorm(x, P[p + "input_layernorm.weight"], cfg["norm_eps"])
            n = x.shape[0]
            q = (h @ P[p + "self_attn.q_proj.weight"].T).view(n, T, nh, hs).transpose(1, 2)
            k = (h @ P[p + "self_attn.k_proj.weight"].T).view(n, T, nkv, hs).transpose(1, 2)
            v = (h @ P[p + "self_attn.v_proj.weight"].T).view(n, T, nkv, hs).transpose(1, 2)
            q = q * c + ref_llama.rotate_half(q) * s
            k = k * c + ref_llama.rotate_half(k) * s
            kc[i, :n, :, pos:pos + T] = k
            vc[i, :n, :, pos:pos + T] = v
            K, V = kc[i, :n, :, :pos + T], vc[i, :n, :, :pos + T]
            att = (q @ K.transpose(-1, -2)) / math.sqrt(hs) + mask
            y = (att.softmax(-1) @ V).transpose(1, 2).reshape(n, T, C)
            x = x + y @ P[p + "self_attn.o_proj.weight"].T
            h = ref_llama.rmsnorm(x, P[p + "post_attention_layernorm.weight"], cfg["norm_eps"])
            x = x + (F.silu(h @ P[p + "mlp.gate_proj.weight"].T) * (h @ P[p + "mlp.up_proj.weight"].T)) @ P[p + "mlp.down_proj.weight"].T
        x = ref_llama.rmsnorm(x[:, -1], P["model.norm.weight"], cfg["norm_eps"])
        return x @ head.T

    logits = step(P["model.embed_tokens.weight"][prompt], 0, Tp)  # prefill each prompt once
    for i in range(L):  # share the prompt's cache with its G samples
        kc[i, :rows] = kc[i, :R].repeat_interleave(G, 0)
        vc[i, :rows] = vc[i, :R].repeat_interleave(G, 0)
    logits = logits.repeat_interleave(G, 0)
    for t in range(new):
        tok = torch.multinomial(logits.softmax(-1), 1)
        if t + 1 < new:
            logits = step(P["model.embed_tokens.weight"][tok], Tp + t, 1)
    return rows * new


def bench_sample(cfg, G, key, prompts=1, plen=16, new=128):
    P = ref_llama.init_params(cfg, 1)
    prompt = torch.arange(prompts * plen).view(prompts, plen) % 200 + 32
    best = 0
    for _ in range(3):
        t0 = time.perf_counter()
        n = decode(P, cfg, prompt, G, new)
        best = max(best, n / (time.perf_counter() - t0))
    print(f"{key} {best:.1f}")


def main():
    shape = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    what = sys.argv[3] if len(sys.argv) > 3 else "all"
    torch.set_num_threads(int(os.environ.get("PEER_THREADS", "2")))
    torch.manual_seed(0)
    cfg = SHAPES[shape]
    if what == "rollout":
        bench_sample(cfg, 8, "rollout_tokens_per_s", prompts=16, plen=12, new=40)
    else:
        if what != "sample":
            bench_train(cfg, steps)
        if what != "train":
            bench_sample(cfg, 1, "sample1_tokens_per_s")
            bench_sample(cfg, 8, "sample8_tokens_per_s")
    print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


main()
