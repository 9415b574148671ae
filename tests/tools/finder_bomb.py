#!/usr/bin/env python3
"""Hostile image for the QR scanner's regression test: a grayscale PNG tiled
with QR finder patterns (the 1:1:3:1:1 squares every QR corner carries), which
makes a finder-pattern search do work quadratic in the candidates it meets.
Written with zlib + struct only (no PIL), so the test needs no binary fixture.
usage: finder_bomb.py OUT.png [SIDE_PX] [MODULE_PX]
Must never: write anything but OUT."""
import struct
import sys
import zlib

out = sys.argv[1]
side = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
mod = int(sys.argv[3]) if len(sys.argv) > 3 else 2

# One finder pattern is 7x7 modules; a light module of gap makes a tile of 8.
def dark(mx, my):
    x, y = mx % 8, my % 8
    if x == 7 or y == 7:
        return False
    if x in (0, 6) or y in (0, 6):
        return True
    return 2 <= x <= 4 and 2 <= y <= 4

rows = []
cache = {}
for py in range(side):
    my = py // mod
    key = my % 8
    if key not in cache:
        cache[key] = bytes(0 if dark(px // mod, my) else 255 for px in range(side))
    rows.append(b"\x00" + cache[key])
raw = b"".join(rows)


def chunk(kind, data):
    c = struct.pack(">I", len(data)) + kind + data
    return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
with open(out, "wb") as f:
    f.write(png)
