#!/usr/bin/env python3
"""png2y4m.py - turn a QR code PNG into a fake-camera video for Chromium.

Chromium's --use-file-for-fake-video-capture plays a Y4M file in a loop; it
must be 4:2:0 (a 4:4:4 file makes getUserMedia fail with NotFoundError), so
this writes one 640x480 I420 frame ("C420jpeg", what ffmpeg writes for
yuv420p). Only Python's standard library: the PNGs are our own (ecred-issue
--render --png: 8-bit grey), and the decoder below also takes 8-bit RGB/RGBA.

  png2y4m.py IN.png OUT.y4m [--photo OUT.png] [--angle DEG] [--size PX] [--seed N]

--photo makes a camera-like picture instead of a clean one: the code small
(--size, default 300 px), rotated (--angle, default 8), on an unevenly lit
grey background, blurred and with Gaussian noise; it also writes that picture
as PNG (for the photo-upload test). Must never: need a package outside the
standard library (CI runs it before anything else is installed).
"""
import math
import random
import struct
import sys
import zlib

W, H = 640, 480


def read_png(path):
    """Return (width, height, grey bytes) of an 8-bit non-interlaced PNG."""
    data = open(path, 'rb').read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise SystemExit(f'{path}: not a PNG')
    pos, idat, ihdr = 8, b'', None
    while pos < len(data):
        (n,) = struct.unpack('>I', data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT':
            idat += body
        elif kind == b'IEND':
            break
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 6: 4, 4: 2}.get(ctype)
    if depth != 8 or channels is None or interlace:
        raise SystemExit(f'{path}: only 8-bit grey/RGB/RGBA, non-interlaced PNGs')
    raw = zlib.decompress(idat)
    stride = w * channels
    out = bytearray(w * h)
    prev = bytearray(stride)
    p = 0
    for y in range(h):
        f = raw[p]
        line = bytearray(raw[p + 1:p + 1 + stride])
        p += 1 + stride
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
        for x in range(w):
            px = line[x * channels:x * channels + channels]
            out[y * w + x] = px[0] if channels <= 2 else (px[0] * 299 + px[1] * 587 + px[2] * 114) // 1000
        prev = line
    return w, h, out


def write_png(path, w, h, grey):
    """Write 8-bit grey, filter 0 (size does not matter for a test picture)."""
    raw = b''.join(b'\x00' + bytes(grey[y * w:(y + 1) * w]) for y in range(h))

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
    with open(path, 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                chunk(b'IDAT', zlib.compress(raw, 6)) + chunk(b'IEND', b''))


def place(src_w, src_h, src, size, angle, background):
    """Map the source into a WxH frame, scaled to size px, rotated by angle
    degrees about the centre (inverse mapping, nearest neighbour on a
    supersampled source is plenty for a test)."""
    frame = bytearray(W * H)
    s = src_w / size
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    cx, cy = W / 2, H / 2
    for y in range(H):
        row = y * W
        dy = y - cy
        for x in range(W):
            dx = x - cx
            u = (ca * dx + sa * dy) * s + src_w / 2
            v = (-sa * dx + ca * dy) * s + src_h / 2
            if 0 <= u < src_w and 0 <= v < src_h:
                frame[row + x] = src[int(v) * src_w + int(u)]
            else:
                frame[row + x] = background(x, y)
    return frame


def blur(img):
    """3x3 box blur (focus a little off)."""
    out = bytearray(img)
    for y in range(1, H - 1):
        for x in range(1, W - 1):
            i = y * W + x
            out[i] = (img[i - W - 1] + img[i - W] + img[i - W + 1] + img[i - 1] + img[i] + img[i + 1] +
                      img[i + W - 1] + img[i + W] + img[i + W + 1]) // 9
    return out


def main(argv):
    args, opts = [], {'--photo': None, '--angle': '8', '--size': '300', '--seed': '13'}
    it = iter(argv)
    for a in it:
        if a in opts:
            opts[a] = next(it)
        else:
            args.append(a)
    if len(args) != 2:
        raise SystemExit(__doc__)
    w, h, src = read_png(args[0])
    if opts['--photo']:
        rnd = random.Random(int(opts['--seed']))
        # Light falls off from the top left, as under a ceiling lamp; the code's
        # white is not paper white.
        def shade(x, y):
            return 0.62 + 0.3 * (1 - (x + y) / (W + H))
        frame = place(w, h, src, int(opts['--size']), float(opts['--angle']), lambda x, y: 150)
        for i in range(W * H):
            v = frame[i] * shade(i % W, i // W) + rnd.gauss(0, 14)
            frame[i] = max(0, min(255, int(v)))
        frame = blur(frame)
        write_png(opts['--photo'], W, H, frame)
    else:
        frame = place(w, h, src, min(440, H - 20), 0.0, lambda x, y: 255)
    # Grey picture: chroma planes are neutral (128), quarter size each.
    with open(args[1], 'wb') as f:
        f.write(f'YUV4MPEG2 W{W} H{H} F30:1 Ip A1:1 C420jpeg\n'.encode())
        f.write(b'FRAME\n')
        f.write(bytes(frame))
        f.write(bytes([128]) * (W * H // 2))


if __name__ == '__main__':
    main(sys.argv[1:])
