#!/usr/bin/env bash
# The holder key as integrators get it (issue 11): `ecred-verify inspect`
# shows a credential's cnf key also as an uncompressed COSE_Key and a JWK; a
# third-party library (Node's built-in crypto, createPublicKey format 'jwk')
# imports that JWK and verifies an RP1 presentation's holder signature over
# ["Signature1", protected, h'', payload] (RFC 9052), from the presentation's
# COSE bytes as ecred-present wrote them. A tampered payload must fail.
# Skips (exit 0, says so) where node is not installed.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/holder_jwk.$$
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
if ! command -v node >/dev/null; then echo "node not installed: skipped"; echo "0 passed, 0 failed"; exit 0; fi
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
install -m 600 "$src/tests/vectors/keys/test-issuer.key.pem" "$tmp/issuer.key"
install -m 600 "$src/tests/vectors/keys/test-holder.key.pem" "$tmp/holder.key"
"$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" \
  --holder-key "$src/tests/vectors/keys/test-holder.pub.pem" 2>/dev/null | tail -1 > "$tmp/cred.txt"
"$bin/ecred-verify" inspect --trust-key "$src/tests/vectors/keys/test-issuer.pub.pem" "$(cat "$tmp/cred.txt")" > "$tmp/inspect.json"
python3 -c "
import json; d = json.load(open('$tmp/inspect.json'))
h = d['holder_key']; assert h['form'] == 'compressed' and h['jwk']['kty'] == 'EC', h
json.dump(h['jwk'], open('$tmp/jwk.json', 'w'))
assert h['cose_key_cbor'] == 'a401022001215820' + h['cose_key']['-2'] + '225820' + h['cose_key']['-3']
" && ok || bad "inspect shows no holder JWK / COSE_Key"
"$bin/ecred-present" --key "$tmp/holder.key" --in "$tmp/cred.txt" --cose-out "$tmp/rp1.cose" > "$tmp/rp1.txt"
cat > "$tmp/verify.js" <<'JS'
// Node's own crypto: import the JWK, verify the RP1 COSE_Sign1 holder signature.
const crypto = require('crypto');
const fs = require('fs');
const [jwkFile, coseFile, tamper] = process.argv.slice(2);
const key = crypto.createPublicKey({ key: JSON.parse(fs.readFileSync(jwkFile, 'utf8')), format: 'jwk' });
const b = fs.readFileSync(coseFile);
let p = 0;
// One CBOR head: returns [major, argument] and advances p.
function head() {
  const ib = b[p++], major = ib >> 5, info = ib & 31;
  if (info < 24) return [major, info];
  const n = { 24: 1, 25: 2, 26: 4 }[info];
  if (!n) throw new Error('unexpected head');
  let v = 0;
  for (let i = 0; i < n; i++) v = v * 256 + b[p++];
  return [major, v];
}
function bstr() { const [m, n] = head(); if (m !== 2) throw new Error('not a bstr'); const s = b.subarray(p, p + n); p += n; return s; }
let [m, v] = head(); if (m !== 6 || v !== 18) throw new Error('not tag 18');
[m, v] = head(); if (m !== 4 || v !== 4) throw new Error('not a 4-array');
const prot = bstr();
[m, v] = head(); if (m !== 5 || v !== 0) throw new Error('unprotected not {}');
const payload = Buffer.from(bstr());
const sig = bstr();
if (tamper) payload[payload.length - 1] ^= 1;
function bhead(n) { return n < 24 ? Buffer.from([0x40 | n]) : n < 256 ? Buffer.from([0x58, n]) : Buffer.from([0x59, n >> 8, n & 255]); }
const tbs = Buffer.concat([Buffer.from([0x84, 0x6a]), Buffer.from('Signature1'), bhead(prot.length), prot, Buffer.from([0x40]), bhead(payload.length), payload]);
const okSig = crypto.verify('sha256', tbs, { key, dsaEncoding: 'ieee-p1363' }, sig);
console.log(okSig ? 'verified' : 'not verified');
process.exit(okSig ? 0 : 1);
JS
if node "$tmp/verify.js" "$tmp/jwk.json" "$tmp/rp1.cose" > "$tmp/out" 2>&1; then ok; else bad "node did not verify the holder signature with the JWK: $(cat "$tmp/out")"; fi
if node "$tmp/verify.js" "$tmp/jwk.json" "$tmp/rp1.cose" tamper > "$tmp/out" 2>&1; then bad "node verified a tampered payload"; else ok; fi
# The JWK is the same key as the PEM the credential was bound to.
node -e "
const c = require('crypto'), fs = require('fs');
const a = c.createPublicKey({key: JSON.parse(fs.readFileSync('$tmp/jwk.json','utf8')), format: 'jwk'}).export({type:'spki', format:'der'});
const b = c.createPublicKey(fs.readFileSync('$src/tests/vectors/keys/test-holder.pub.pem')).export({type:'spki', format:'der'});
process.exit(a.equals(b) ? 0 : 1);" && ok || bad "JWK and test-holder.pub.pem differ"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
