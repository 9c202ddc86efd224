# Sleeps past the wall clock without using CPU.  Expected: TIME_LIMIT.
import time
time.sleep(60)
