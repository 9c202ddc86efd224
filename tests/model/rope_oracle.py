"""tests/model/rope_oracle.py FILE — our RoPE tables against transformers'.

test_oracle.c writes FILE (JSON): a list of cases, each with head size
"hs", "theta", "rope_scaling" (null or transformers' llama3 dict), the
positions it sampled and our cos and sin rows there (positions x hs/2).
We build transformers 4.47's LlamaRotaryEmbedding for the same config
(its inv_freq from _compute_llama3_parameters) and compare: at positions
up to 131071 a one-ulp difference in a frequency moves the angle by more
than the tolerance, so this checks the frequencies bit for bit.
Exit 0 agree, 1 differ, 77 skip.
"""
import json
import sys

try:
    import torch
    from transformers import LlamaConfig
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
except ImportError as e:
    print(f"skip: {e}")
    sys.exit(77)

bad = 0
for case in json.load(open(sys.argv[1])):
    hs, half = case["hs"], case["hs"] // 2
    cfg = LlamaConfig(hidden_size=hs * 2, num_attention_heads=2, head_dim=hs, rope_theta=case["theta"],
                      rope_scaling=case["rope_scaling"], max_position_embeddings=131072)
    rope = LlamaRotaryEmbedding(config=cfg)
    pos = torch.tensor([case["positions"]])
    cos, sin = rope(torch.zeros(1, dtype=torch.float32), pos)
    for name, ours, ref in (("cos", case["cos"], cos[0, :, :half]), ("sin", case["sin"], sin[0, :, :half])):
        err = (torch.tensor(ours).view(-1, half) - ref).abs().max().item()
        ok = err <= 1e-5
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} hs {hs} theta {case['theta']} {case['rope_scaling']}: {name} max abs err {err:.3g}")
sys.exit(1 if bad else 0)
