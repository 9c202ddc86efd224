"""bench/hf_peer.py — the transformers peer of hf_bench.c, same work:

    hf_peer.py make DIR                  a random Qwen2.5-0.5B-shaped directory
    hf_peer.py DIR train STEPS B T       forward + backward + AdamW on (B,T)
    hf_peer.py DIR sample G NEW          G rows, NEW tokens after a 16-token
                                         prompt, KV cache (past_key_values), T = 1

Prints "key value" lines.  Run it at its best: 2 threads, OMP_WAIT_POLICY=PASSIVE.
"""
import os
import resource
import sys
import time

import torch


def make(folder):
    """Qwen2.5-0.5B's shape with random weights (494M parameters), fp32, and
    a tiny trained tokenizer (the ids past it are never produced as text)."""
    import transformers
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "model"))
    import hf_tiny
    os.makedirs(folder, exist_ok=True)
    hf_tiny.write_tokenizer(hf_tiny.make_tokenizer(), folder)
    cfg = transformers.Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864,
                                   num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                                   max_position_embeddings=32768, rope_theta=1000000.0, rms_norm_eps=1e-6,
                                   tie_word_embeddings=True, eos_token_id=2, bos_token_id=None)
    torch.manual_seed(0)
    transformers.Qwen2ForCausalLM(cfg).save_pretrained(folder, safe_serialization=True)


def load(folder):
    import transformers
    return transformers.AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32)


def train(model, steps, B, T):
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, model.config.vocab_size, (B, T), generator=g)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
    model.train()
    best = float("inf")
    for s in range(steps + 1):
        t0 = time.perf_counter()
        logits = model(tokens).logits[:, :-1]
        lp = logits.log_softmax(-1).gather(-1, tokens[:, 1:, None])
        loss = -lp.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        print(f"hf_peer: train step {s}: {dt:.2f} s", file=sys.stderr)
        if s > 0:
            best = min(best, dt)
    print(f"train_tokens_per_s {B * T / best:.2f}")


@torch.no_grad()
def sample(model, G, new):
    model.eval()
    prompt = torch.tensor([[100 + 7 * i for i in range(16)]] * G)
    g = torch.Generator().manual_seed(1)
    t0 = time.perf_counter()
    out = model(prompt, use_cache=True)
    past, logits = out.past_key_values, out.logits[:, -1]
    for _ in range(new):
        nxt = torch.multinomial(logits.softmax(-1), 1, generator=g)
        out = model(nxt, past_key_values=past, use_cache=True)
        past, logits = out.past_key_values, out.logits[:, -1]
    dt = time.perf_counter() - t0
    print(f"sample_tokens {G * new}\nsample_tokens_per_s {G * new / dt:.2f}")


def main():
    if sys.argv[1] == "make":
        return make(sys.argv[2])
    folder, what = sys.argv[1], sys.argv[2]
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", os.cpu_count())))
    t0 = time.perf_counter()
    model = load(folder)
    print(f"load_s {time.perf_counter() - t0:.2f}")
    if what == "train":
        train(model, int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sample(model, int(sys.argv[3]), int(sys.argv[4]))
    print(f"peak_rss_mb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
