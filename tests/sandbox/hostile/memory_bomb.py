# Memory bomb: touch 8 MB more every step.  Expected: MEMORY_LIMIT.
chunks = []
while True:
    chunks.append(b"x" * (8 << 20))
