"""Distillation's KL terms in PyTorch, the oracle for tests/learner/test_distill.c.

stdin:  "MODE V" (MODE forward | reverse), then one line per position:
        "WEIGHT zs_1 .. zs_V zt_1 .. zt_V" (student and teacher logits)
stdout: sum over positions of WEIGHT * KL, then d/d zs for every position in order.
  forward: KL(p_T || p_S)    reverse: KL(p_S || p_T)
"""
import sys

import torch

head, *rows = sys.stdin.read().strip().split("\n")
mode, V = head.split()
V = int(V)
total, students = 0, []
for row in rows:
    v = [float(a) for a in row.split()]
    w = v[0]
    zs = torch.tensor(v[1 : 1 + V], dtype=torch.float64, requires_grad=True)
    zt = torch.tensor(v[1 + V :], dtype=torch.float64)
    log_s, log_t = torch.log_softmax(zs, 0), torch.log_softmax(zt, 0)
    if mode == "forward":
        kl = torch.nn.functional.kl_div(log_s, log_t, reduction="sum", log_target=True)
    else:
        kl = torch.nn.functional.kl_div(log_t, log_s, reduction="sum", log_target=True)
    total = total + w * kl
    students.append(zs)
total.backward()
print(repr(total.item()))
for zs in students:
    for g in zs.grad.tolist():
        print(repr(g))
