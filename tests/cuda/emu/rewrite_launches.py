#!/usr/bin/env python3
"""tests/cuda/emu/rewrite_launches.py SRC.cu OUT.cpp — make a .cu compile
as plain C++ against tests/cuda/emu: every `k<<<g, b[, s]>>>(args);`
becomes `emu_launch(g, b, s, [&] { k(args); });` and
`extern __shared__ T name[];` becomes a pointer to the launch's dynamic
shared memory."""
import re
import sys

src = open(sys.argv[1]).read()
out, i = [], 0
launch = re.compile(r"(\w+)<<<(.*?)>>>\(", re.S)
while True:
    m = launch.search(src, i)
    if not m:
        out.append(src[i:])
        break
    out.append(src[i:m.start()])
    depth, j = 1, m.end()
    while depth:
        depth += {"(": 1, ")": -1}.get(src[j], 0)
        j += 1
    args = src[m.end():j - 1]
    cfg = [c.strip() for c in re.split(r",(?![^(]*\))", m.group(2))]
    if len(cfg) == 2:
        cfg.append("0")
    out.append("emu_launch(%s, %s, %s, [&] { %s(%s); })" % (cfg[0], cfg[1], cfg[2], m.group(1), args))
    i = j
text = "".join(out)
text = re.sub(r"extern __shared__ (\w+) (\w+)\[\];", r"\1 *\2 = (\1 *)emu_dyn_shared();", text)
open(sys.argv[2], "w").write(text)
