# Spins on the CPU forever.  Expected: TIME_LIMIT.
while True:
    pass
