# Floods stdout.  Expected: OUTPUT_LIMIT, killed long before the wall clock.
import sys
block = "x" * 65536
while True:
    sys.stdout.write(block)
