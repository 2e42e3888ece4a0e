#!/usr/bin/env python3
"""pyleak.py SIZE RATE: keeps a SIZE-byte bytearray RATE times a second,
for ever (a Python program that leaks at a fixed rate and knows nothing of
leak-hunt).  Objects over 512 bytes come from malloc, not pymalloc's
arenas, so the heap tool's profiles see them too."""
import sys
import time

size, rate = int(sys.argv[1]), float(sys.argv[2])
keep, t0, n = [], time.time(), 0
while True:
    n += 1
    keep.append(bytearray(size))
    d = t0 + n / rate - time.time()
    if d > 0:
        time.sleep(d)
