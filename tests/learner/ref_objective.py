"""The GRPO objective and its variants in PyTorch, the oracle for
tests/learner/test_objective.c (verl core_algos formulas, autograd for the
gradient).

stdin:  "KL AGG CLIP_LOW CLIP_HIGH BETA MAX_NEW LOSS TIS TIS_CAP" then one line
        per sequence: "N ADV lp old ref sample lp old ref sample ..."
stdout: the aggregated loss, then d loss / d lp for every token in order.
"""
import sys

import torch

head, *rows = sys.stdin.read().strip().split("\n")
kl_kind, agg, clip_low, clip_high, beta, max_new, loss_kind, tis, tis_cap = head.split()
clip_low, clip_high, beta, max_new, tis_cap = float(clip_low), float(clip_high), float(beta), int(max_new), float(tis_cap)


def policy_loss(lp, old, adv):
    if loss_kind == "grpo":
        ratio = (lp - old).exp()
        return -torch.min(ratio * adv, ratio.clamp(1 - clip_low, 1 + clip_high) * adv)
    if loss_kind == "gspo":  # sequence-level ratio, token-level gradient (GSPO-token)
        seq = (lp - old).mean()
        s = (seq.detach() + lp - lp.detach()).exp()
        return -torch.min(s * adv, s.clamp(1 - clip_low, 1 + clip_high) * adv)
    if loss_kind == "cispo":  # clipped, stop-gradient importance weight
        w = (lp - old).exp().clamp(1 - clip_low, 1 + clip_high).detach()
        return -w * adv * lp
    raise SystemExit("unknown loss " + loss_kind)


def tis_weight(old, sample):
    if tis == "token":
        return (old - sample).exp().clamp(max=tis_cap)
    if tis == "sequence":
        return (old - sample).sum().exp().clamp(max=tis_cap)
    return 1.0


lps, losses = [], []
for row in rows:
    v = row.split()
    n, adv = int(v[0]), float(v[1])
    x = torch.tensor([float(a) for a in v[2:]], dtype=torch.float64).view(n, 4)
    lp = x[:, 0].clone().requires_grad_(True)
    old, ref, sample = x[:, 1], x[:, 2], x[:, 3]
    pg = policy_loss(lp, old, adv) * tis_weight(old, sample)
    if kl_kind == "k1":
        kl = lp - ref
    elif kl_kind == "k2":
        kl = 0.5 * (lp - ref) ** 2
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
