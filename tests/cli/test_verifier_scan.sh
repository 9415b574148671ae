#!/usr/bin/env bash
# The scanner's server side (issue 13) against a real issuer: the page's
# files under /scan with their types and the strict CSP; POST /v1/scan-image
# (a QR picture answered as POST /v1/verify answers its text, not an image,
# too many pixels, no code, no key); per-key rate limits with 429 and
# Retry-After, each key its own bucket, a photo costing more than a text;
# --rate refused when malformed. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verifier_scan.$$
mkdir -p "$tmp/data"
iss_pid= vd_pid=
cleanup() {
  for p in $vd_pid $iss_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
jcheck() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert $1, d" && ok || bad "json: $1: $(head -c 300 "$tmp/out")"; }

port=$(free_port)
base="http://127.0.0.1:$port"
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" 2>>"$tmp/isslog" &
iss_pid=$!
for _ in $(seq 1 100); do curl -s -m 1 -o /dev/null "$base/.well-known/ecred-trust" && break; sleep 0.1; done
admin=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role admin)
A=(-H "Authorization: Bearer $admin" -H "Content-Type: application/json")
app=$(curl -s -m 20 -X POST "${A[@]}" --data-binary "@$src/spec/examples/api/permit_new.json" "$base/v1/applications" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
qr=$(curl -s -m 20 -X POST "${A[@]}" "$base/v1/applications/$app/approve" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["qr_text"])')
"$bin/ecred-issue" --render "$qr" --png "$tmp/qr.png" >/dev/null 2>&1

D="$bin/ecred-verifierd"
k1=$("$D" key add --cache "$tmp/vc" --role landlord 2>/dev/null)
k2=$("$D" key add --cache "$tmp/vc" --role landlord 2>/dev/null)
k3=$("$D" key add --cache "$tmp/vc" --role police 2>/dev/null)
k4=$("$D" key add --cache "$tmp/vc" --role police 2>/dev/null)   # k3 has room for three photos only
code=0
"$D" --cache "$tmp/vc" --issuer "$base" --listen 127.0.0.1:1 --rate 5/s 2>/dev/null || code=$?
[ "$code" = 2 ] && ok || bad "--rate 5/s: exit $code, want 2"
vport=$(free_port)
api="http://127.0.0.1:$vport"
"$D" --cache "$tmp/vc" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$vport" \
  --rate 12/min 2>"$tmp/vdlog" &
vd_pid=$!
for _ in $(seq 1 100); do curl -s -m 1 -o /dev/null -w '%{http_code}' "$api/healthz" | grep -q 200 && break; sleep 0.1; done

# ---- the page ----
get() { # PATH -> "STATUS CONTENT-TYPE", headers in $tmp/h
  curl -s -m 5 -D "$tmp/h" -o "$tmp/out" -w '%{http_code} %{content_type}' "$api$1"
}
[ "$(get /scan)" = "200 text/html; charset=utf-8" ] && ok || bad "/scan: $(get /scan)"
grep -qi "^content-security-policy: default-src 'none'; script-src 'self' 'wasm-unsafe-eval'" "$tmp/h" && ok ||
  bad "/scan without the CSP"
grep -q 'src="/scan/scan.js"' "$tmp/out" && ok || bad "/scan is not the scanner page"
[ "$(get /scan/)" = "200 text/html; charset=utf-8" ] && ok || bad "/scan/"
[ "$(get /scan/scan.js)" = "200 text/javascript; charset=utf-8" ] && ok || bad "scan.js: $(get /scan/scan.js)"
[ "$(get /scan/vendor/zxing-wasm/reader/zxing_reader.wasm)" = "200 application/wasm" ] && ok || bad "wasm type"
cmp -s "$tmp/out" "$src/verifier/web/scan/vendor/zxing-wasm/reader/zxing_reader.wasm" && ok || bad "wasm bytes differ"
[ "$(get /scan/icons/valid.svg)" = "200 image/svg+xml" ] && ok || bad "svg type"
for p in /scan/nope.js /scan/../index.html /scan/%2e%2e/index.html /scanx; do
  s=$(get "$p"); [ "${s%% *}" = 404 ] && ok || bad "$p: $s"
done

# ---- POST /v1/scan-image ----
scan() { # KEY FILE -> status; body in $tmp/out, headers in $tmp/h
  curl -s -m 10 -D "$tmp/h" -o "$tmp/out" -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$2" "$api/v1/scan-image"
}
[ "$(scan "$k3" "$tmp/qr.png")" = 200 ] && ok || bad "scan-image: $(cat "$tmp/out")"
jcheck 'd["reason"]=="ok" and d["role"]=="police" and d["credential"]["id_number"]=="11010519491231002X"'
[ "$(scan "$k3" "$src/tests/vectors/images/permit-photo.jpg")" = 422 ] && ok || bad "photo of a test-key permit"
jcheck 'd["reason"]=="unknown_key"'   # read from the JPEG, signed by a key this verifier does not trust
printf 'GIF89a\x01\x00\x01\x00' > "$tmp/x.gif"
[ "$(scan "$k3" "$tmp/x.gif")" = 415 ] && ok || bad "gif: $(cat "$tmp/out")"
jcheck 'd["code"]=="unsupported_image"'
python3 - "$tmp" <<'EOF'
import struct, sys, zlib
def png(path, w, h, rows):
    def chunk(k, b): return struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b))
    open(path, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0)) +
                           chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
png(sys.argv[1] + '/white.png', 64, 64, (b'\x00' + b'\xff' * 64) * 64)
png(sys.argv[1] + '/huge.png', 5000, 5000, b'')   # declares 25 MP, holds nothing
EOF
[ "$(scan "$k4" "$tmp/white.png")" = 422 ] && ok || bad "no code: $(cat "$tmp/out")"
jcheck 'd["code"]=="no_code_found"'
[ "$(scan "$k4" "$tmp/huge.png")" = 413 ] && ok || bad "huge: $(cat "$tmp/out")"
jcheck 'd["code"]=="image_too_large"'
[ "$(scan "" "$tmp/qr.png")" = 401 ] && ok || bad "scan-image without a key"
: > "$tmp/empty"
[ "$(scan "$k4" "$tmp/empty")" = 400 ] && ok || bad "empty photo: $(cat "$tmp/out")"

# ---- rate limits: 12/min per key, a photo costs 4 ----
verify() { curl -s -m 5 -D "$tmp/h" -o "$tmp/out" -w '%{http_code}' -H "Authorization: Bearer $1" --data-binary "$qr" "$api/v1/verify"; }
n=0
for _ in $(seq 1 12); do [ "$(verify "$k1")" = 200 ] && n=$((n + 1)); done
[ "$n" = 12 ] && ok || bad "only $n of 12 verifies passed"
[ "$(verify "$k1")" = 429 ] && ok || bad "13th verify in a minute not refused"
jcheck 'd["code"]=="rate_limited"'
ra=$(tr -d '\r' < "$tmp/h" | awk -F': ' 'tolower($1)=="retry-after"{print $2}')
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] && ok || bad "Retry-After '$ra'"
[ "$(verify "$k2")" = 200 ] && ok || bad "another key was limited too"
[ "$(scan "$k1" "$tmp/qr.png")" = 429 ] && ok || bad "a limited key still scans photos"
n=0
for _ in $(seq 1 2); do [ "$(scan "$k2" "$tmp/qr.png")" = 200 ] && n=$((n + 1)); done   # 1 + 8 of 12
[ "$n" = 2 ] && ok || bad "photos: $n of 2"
n=0
for _ in $(seq 1 4); do [ "$(verify "$k2")" = 200 ] && n=$((n + 1)); done
[ "$n" = 3 ] && ok || bad "after two photos and a verify, $n of 4 more verifies passed (want 3)"
grep -q '"code":"rate_limited"' "$tmp/vdlog" && ok || bad "429 not in the access log"
! grep -q "$k1" "$tmp/vdlog" && ok || bad "a key in the log"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
