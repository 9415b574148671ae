#!/usr/bin/env python3
"""Writes claims.txt: CWT claims CBOR that ecred_claims_decode must
refuse, each with the expected error detail name, derived by changing one thing
in a valid claims map. Run from the repository root; the output is committed,
this script documents how it was made."""
import struct

def head(major, n):
    if n < 24: return bytes([major << 5 | n])
    if n < 256: return bytes([major << 5 | 24, n])
    if n < 65536: return bytes([major << 5 | 25]) + struct.pack('>H', n)
    if n < 2**32: return bytes([major << 5 | 26]) + struct.pack('>I', n)
    return bytes([major << 5 | 27]) + struct.pack('>Q', n)

def enc(v):
    if isinstance(v, bool): return b'\xf5' if v else b'\xf4'
    if isinstance(v, int): return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes): return head(2, len(v)) + v
    if isinstance(v, str): b = v.encode(); return head(3, len(b)) + b
    if isinstance(v, list): return head(4, len(v)) + b''.join(enc(x) for x in v)
    if isinstance(v, Raw): return v.b
    if isinstance(v, (dict, Pairs)):
        items = v.items() if isinstance(v, dict) else v.pairs
        items = list(items)
        if isinstance(v, dict):  # deterministic order (RFC 8949 4.2.1), as encoders must produce
            items.sort(key=lambda kv: enc(kv[0]))
        return head(5, len(items)) + b''.join(enc(k) + enc(x) for k, x in items)
    raise TypeError(v)

class Pairs:
    def __init__(self, pairs): self.pairs = pairs
class Raw:
    def __init__(self, b): self.b = b

DAY = 86400
def cst(day): return day * DAY - 8 * 3600
def days(y, m, d):
    import datetime
    return (datetime.date(y, m, d) - datetime.date(1970, 1, 1)).days

IAT = cst(days(2026, 11, 26)) + 3600 * 10  # 10:00 CST on the first valid day
def cred(**over):
    c = {1: 2, 2: '王建国', 3: 34010219900307251, 4: 310104, 5: '漕溪北路88弄3号1201室',
         6: 2, 7: 'HT310104202611000123', 8: 340102, 9: days(2025, 11, 20),
         10: '上海市公安局徐汇分局', 11: days(2027, 11, 26)}
    for k, v in over.items():
        k = int(k[1:])
        if v is None: c.pop(k, None)
        else: c[k] = v
    return c

def claims(**over):
    c = {1: 'https://jzz.sh.gov.cn', 4: cst(days(2029, 11, 26)), 6: IAT, 7: bytes(range(8)),
         8: {1: {1: 2, -1: 1, -2: bytes(32), -3: True}},
         65535: {'status_list': {'idx': 93211, 'uri': 'https://jzz.sh.gov.cn/s/1'}},
         -65537: cred()}
    for k, v in over.items():
        k = int(k[1:].replace('m', '-'))
        if v is None: c.pop(k, None)
        else: c[k] = v
    return c

cases = [
    ('ok', claims(), 'the valid baseline'),
    ('ok', claims(k8=None, k65535=None), 'no cnf, no status'),
    ('ok', claims(k5=cst(days(2026, 11, 20))), 'nbf on an earlier day than iat'),
    ('claims', claims(k1=None), 'iss missing'),
    ('claims', claims(k1=7), 'iss not text'),
    ('claims', claims(k1=''), 'iss empty'),
    ('claims', claims(k1='x' * 65), 'iss too long'),
    ('claims', claims(k6=None), 'iat missing'),
    ('claims', claims(k4=None), 'exp missing'),
    ('claims', claims(k4=cst(days(2029, 11, 26)) + 1), 'exp not at CST midnight'),
    ('claims', claims(k4=-5), 'exp negative'),
    ('claims', claims(k5=cst(days(2026, 11, 26))), 'nbf on the day of iat (encoder omits it)'),
    ('claims', claims(k5=cst(days(2026, 11, 20)) + 60), 'nbf not at CST midnight'),
    ('claims', claims(k7=b''), 'cti empty'),
    ('claims', claims(k7=bytes(17)), 'cti too long'),
    ('claims', claims(k7='abc'), 'cti not bytes'),
    ('claims', claims(k99=1), 'unknown claim'),
    ('claims', claims(k65535={'status_list': {'idx': 1, 'uri': 'u', 'x': 1}}), 'status extra member'),
    ('claims', claims(k65535={'status_list': {'idx': -1, 'uri': 'u'}}), 'status idx negative'),
    ('claims', claims(k65535={'status_list': {'idx': 1, 'uri': 5}}), 'status uri not text'),
    ('claims', claims(k65535={'status': {'idx': 1, 'uri': 'u'}}), 'status member misnamed'),
    ('claims', claims(k8={1: {1: 2, -1: 2, -2: bytes(32), -3: True}}), 'cnf curve P-384'),
    ('claims', claims(k8={1: {1: 2, -1: 1, -2: bytes(31), -3: True}}), 'cnf x 31 bytes'),
    ('claims', claims(k8={1: {1: 2, -1: 1, -2: bytes(32), -3: 1}}), 'cnf y not bool'),
    ('claims', claims(k8={3: bytes(8)}), 'cnf by kid (not supported)'),
    ('claims', [1, 2], 'not a map'),
    ('claims', Pairs([(1, 'a'), (1, 'b')]), 'duplicate key'),
    ('credential', claims(km65537=None), 'credential missing'),
    ('credential', claims(km65537=cred(k1=3)), 'type 3'),
    ('credential', claims(km65537=cred(k2='王\x07')), 'name with a control character'),
    ('credential', claims(km65537=cred(k2=b'\xe7\x8e')), 'name as bytes'),
    ('cbor', claims(km65537=cred(k2=Raw(b'\x62\xe7\x8e'))), 'name invalid UTF-8 (refused by the CBOR layer)'),
    ('credential', claims(km65537=cred(k3=3401021990030725)), 'id 16 digits'),
    ('credential', claims(km65537=cred(k3=99010219900307251)), 'id province 99'),
    ('credential', claims(km65537=cred(k3=34010219900230251)), 'id birth date Feb 30'),
    ('credential', claims(km65537=cred(k3='340102199003072518')), 'id as text'),
    ('credential', claims(km65537=cred(k4=990000)), 'division with unknown province'),
    ('credential', claims(km65537=cred(k6=1)), 'own property with a reference'),
    ('credential', claims(km65537=cred(k7=None)), 'rental without a reference'),
    ('credential', claims(km65537=cred(k6=4)), 'housing basis 4'),
    ('credential', claims(km65537=cred(k11=None)), 'permit without endorsement date'),
    ('credential', claims(km65537=cred(k1=1)), 'registration certificate with endorsement date'),
    ('credential', claims(km65537=cred(k12=1)), 'unknown credential field'),
    ('credential', claims(km65537=cred(k9=days(2027, 1, 1))), 'registered after validity starts'),
    ('credential', claims(km65537=cred(k11=days(2026, 11, 1))), 'endorsement before validity'),
    ('credential', claims(km65537=[1]), 'credential not a map'),
    ('cbor', Raw(enc(claims()) + b'\x00'), 'trailing byte'),
    ('cbor', Raw(enc(claims())[:-1]), 'truncated'),
    ('cbor', Raw(b'\xbf\x01\x61a\xff'), 'indefinite-length map'),
    ('cbor_limit', Raw(b'\x81' * 20 + b'\x00'), 'nesting deeper than 16'),
]

with open('tests/vectors/credential/claims.txt', 'w') as f:
    f.write('# expected-detail<TAB>claims CBOR hex<TAB>what changed (made by make-claims-vectors.py)\n')
    for want, v, what in cases:
        f.write(f'{want}\t{enc(v).hex()}\t{what}\n')
print(len(cases), 'cases')
