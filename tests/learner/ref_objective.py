"""The GRPO objective in PyTorch, the oracle for tests/learner/test_objective.c.

stdin:  "KL AGG CLIP_LOW CLIP_HIGH BETA MAX_NEW" then one line per sequence:
        "N ADV lp old ref lp old ref ..."
stdout: the aggregated loss, then d loss / d lp for every token in order.
"""
import sys

import torch

head, *rows = sys.stdin.read().strip().split("\n")
kl_kind, agg, clip_low, clip_high, beta, max_new = head.split()
clip_low, clip_high, beta, max_new = float(clip_low), float(clip_high), float(beta), int(max_new)

lps, losses = [], []
for row in rows:
    v = row.split()
    n, adv = int(v[0]), float(v[1])
    x = torch.tensor([float(a) for a in v[2:]], dtype=torch.float64).view(n, 3)
    lp = x[:, 0].clone().requires_grad_(True)
    old, ref = x[:, 1], x[:, 2]
    ratio = (lp - old).exp()
    pg = -torch.min(ratio * adv, ratio.clamp(1 - clip_low, 1 + clip_high) * adv)
    if kl_kind == "k1":
        kl = lp - ref
    else:
        kl = (ref - lp).exp() - (ref - lp) - 1
    lps.append(lp)
    losses.append(pg + beta * kl)

if agg == "token_mean":
    loss = torch.cat(losses).sum() / sum(len(l) for l in losses)
elif agg == "seq_mean_token_mean":
    loss = torch.stack([l.mean() for l in losses]).mean()
else:  # Dr. GRPO's constant normaliser
    loss = torch.cat(losses).sum() / (len(losses) * max_new)
loss.backward()
print(repr(loss.item()))
for lp in lps:
    for g in lp.grad.tolist():
        print(repr(g))
