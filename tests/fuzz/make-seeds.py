#!/usr/bin/env python3
"""Write fuzz seed inputs, one directory per target, from the repository's
spec and test vectors (run-all.sh --reseed merges them into corpus/).

usage: make-seeds.py SOURCE_DIR OUT_DIR [ECRED_ISSUE_BINARY]

Only reads vectors; with the ecred-issue binary it also renders a few QR
PNGs. Seeds need not be valid: the fuzzers start from them.
"""
import glob
import hashlib
import os
import subprocess
import sys
import zlib

B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def b45_decode(text):
    out = bytearray()
    vals = [B45.index(c) for c in text]
    for i in range(0, len(vals), 3):
        chunk = vals[i:i + 3]
        if len(chunk) == 3:
            v = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            out += bytes([v >> 8, v & 0xFF])
        else:
            out.append(chunk[0] + chunk[1] * 45)
    return bytes(out)


def b45_encode(data):
    out = []
    for i in range(0, len(data), 2):
        if i + 1 < len(data):
            v = data[i] * 256 + data[i + 1]
            out += [B45[v % 45], B45[v // 45 % 45], B45[v // 2025]]
        else:
            out += [B45[data[i] % 45], B45[data[i] // 45]]
    return "".join(out)


def cbor_skip(b, i):
    """Index just past the CBOR item at b[i] (definite lengths only)."""
    ib = b[i]
    major, info = ib >> 5, ib & 31
    i += 1
    if info < 24:
        val = info
    else:
        n = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        val = int.from_bytes(b[i:i + n], "big")
        i += n
    if major in (2, 3):
        return i + val
    if major == 4:
        for _ in range(val):
            i = cbor_skip(b, i)
        return i
    if major == 5:
        for _ in range(2 * val):
            i = cbor_skip(b, i)
        return i
    if major == 6:
        return cbor_skip(b, i)
    return i


def cbor_bstr(b, i):
    """(content, next index) of the bstr at b[i]."""
    end = cbor_skip(b, i)
    info = b[i] & 31
    head = 1 + {24: 1, 25: 2, 26: 4, 27: 8}.get(info, 0)
    return b[i + head:end], end


def cose_parts(cose):
    """protected, payload of a tagged COSE_Sign1 (tag as d2 or d8 12)."""
    i = 1 if cose[0] == 0xD2 else 2
    i += 1  # the 4-array head
    prot, i = cbor_bstr(cose, i)
    i = cbor_skip(cose, i)
    payload, i = cbor_bstr(cose, i)
    return prot, payload


def main():
    src, out = sys.argv[1], sys.argv[2]
    issue = sys.argv[3] if len(sys.argv) > 3 else None
    seeds = {}

    def add(target, data):
        if isinstance(data, str):
            data = data.encode()
        seeds.setdefault(target, set()).add(bytes(data))

    def lines(rel):
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line and not line.startswith("#"):
                    yield line

    def hexfile(path):
        with open(path) as f:
            return bytes.fromhex("".join(f.read().split()))

    dictionary = hexfile(os.path.join(src, "spec/rc1-dictionary.hex"))

    # Credentials: QR text, base45 part, zlib stream, COSE, claims payload.
    for line in lines("spec/vectors/credentials.txt"):
        text = line.split("\t")[-1]
        add("qrtext_decide", b"\x00" + text.encode())
        if not text.startswith("RC1:"):
            continue
        body = text[4:]
        add("b45", body)
        try:
            raw = b45_decode(body)
        except ValueError:
            continue
        if raw[:1] == b"\x78":
            add("inflate", raw)
            d = zlib.decompressobj(zdict=dictionary)
            cose = d.decompress(raw)
        else:
            cose = raw
        add("cose", cose)
        add("cbor", cose)
        prot, payload = cose_parts(cose)
        add("cbor", prot)
        add("claims", payload)
        add("cbor", payload)
        add("qrtext_decide", b"\x01" + payload)
        add("qrtext_decide", b"\x03" + payload)
        add("inflate", zlib.compress(payload, 9))

    for line in lines("tests/vectors/b45/valid.txt"):
        if "\t" in line:
            add("b45", line.split("\t", 1)[1])
    for line in lines("tests/vectors/cbor/decode.txt") :
        parts = line.split()
        if len(parts) >= 2:
            try:
                add("cbor", bytes.fromhex(parts[1]))
            except ValueError:
                pass
    for line in lines("tests/vectors/credential/claims.txt"):
        parts = line.split("\t")
        if len(parts) >= 2:
            add("claims", bytes.fromhex(parts[1]))
    for line in lines("tests/vectors/zlib/dict.txt"):
        parts = line.split("\t")
        if len(parts) >= 4:
            add("inflate", bytes.fromhex(parts[3]))
    for line in lines("tests/vectors/zlib/invalid.txt"):
        try:
            add("inflate", bytes.fromhex(line.split("\t")[0]))
        except ValueError:
            pass
    for line in lines("tests/vectors/statuslist/decode.txt"):
        try:
            add("slist", bytes.fromhex(line.split()[0]))
        except ValueError:
            pass

    # Status lists (IETF draft vectors): lists, tokens, token payloads.
    for path in sorted(glob.glob("/work/shared/vectors/ietf-token-status-list/*.hex") +
                       glob.glob(os.path.join(src, "tests/vectors/statuslist/ietf/*.hex"))):
        data = hexfile(path)
        if path.endswith("_cbor.hex"):
            add("slist", data)
            add("cbor", data)
        else:
            add("cose", data)
            add("slist", data)
            add("slist", cose_parts(data)[1])

    # Trust list: signed (mode byte 0) and its payload to be re-signed (mode 1).
    with open(os.path.join(src, "tests/vectors/trustlist/list.cose"), "rb") as f:
        tl = f.read()
    add("trustlist", b"\x00" + tl)
    add("trustlist", b"\x01" + cose_parts(tl)[1])
    add("cose", tl)

    for path in sorted(glob.glob(os.path.join(src, "spec/examples/*.json"))):
        with open(path, "rb") as f:
            body = f.read()
        add("credential_json", body)
        add("issuer_body", body)
        add("issuer_body", b'{"kind": "permit_new", "credential": ' + body + b'}')
    for line in lines("tests/vectors/credential/json-invalid.txt"):
        add("credential_json", line.split("\t", 1)[-1])

    os.makedirs(out, exist_ok=True)
    for body in (b'{"reason": "lost card"}', b'{}', b'{"reason": ""}', b'[1, {"a": [[[[[[[[]]]]]]]]}]',
                 b'{"reason": "a\\u0000b"}', b'{"a": 1, "a": 2}'):
        add("issuer_body", body)

    # Verifier challenges (spec/presentation.md): "RN1:" + base45 of nonce
    # length, nonce, aud; valid ones and each way of being wrong.
    for nonce, aud in ((b"\x01" * 16, b"police-desk-7"), (bytes(range(32)), b"a"),
                       (b"\xff", "\u4e0a\u6d77 desk".encode()), (b"\x00" * 8, b"x" * 64)):
        body = bytes([len(nonce)]) + nonce + aud
        add("challenge", "RN1:" + b45_encode(body))
        add("challenge", " RN1:" + b45_encode(body) + "\n")
        add("challenge", "RN1:" + b45_encode(body[:-1]))           # aud cut
        add("challenge", "RN1:" + b45_encode(bytes([40]) + body[1:]))  # length past the end
    for bad in ("RN1:", "RN1:0", "RN2:ABC", "rn1:AB", "RN1:" + b45_encode(b"\x00abc"),
                "RN1:" + b45_encode(b"\x21" + b"\x01" * 33 + b"aud"),
                "RN1:" + b45_encode(b"\x02\x01\x02a\x00b")):
        add("challenge", bad)

    if issue:
        texts = [line.split("\t")[-1] for line in lines("spec/vectors/credentials.txt")]
        for i, text in enumerate(texts[:3]):
            png = os.path.join(out, "render-%d.png" % i)
            subprocess.run([issue, "--render", text, "--png", png], check=True,
                           stdout=subprocess.DEVNULL)
            with open(png, "rb") as f:
                add("qr_image", f.read())
            os.unlink(png)

    for target, items in seeds.items():
        d = os.path.join(out, target)
        os.makedirs(d, exist_ok=True)
        for data in items:
            name = hashlib.sha1(data).hexdigest()
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        print("%-16s %d seeds" % (target, len(items)))


if __name__ == "__main__":
    main()
