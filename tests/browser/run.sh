#!/usr/bin/env bash
# The scanner page (/scan) in a real browser, end to end: a real ecred-issuerd
# issues credentials (valid, revoked, suspended) and ecred-issue signs the odd
# ones (expired, unknown key); a real ecred-verifierd syncs from the issuer and
# serves the page; Debian's headless Chromium, driven through chromedriver,
# scans each QR code from a fake camera (Y4M made from the QR PNGs by
# png2y4m.py) or uploads a photo, and scan_test.mjs asserts the verdict and
# the fields each role sees. Screenshots land in OUT (default TMP/../browser-shots).
# Args: BIN_DIR SOURCE_DIR TMP_DIR [OUT_DIR]. Exit 77 (ctest: skipped) when
# chromium, chromedriver or node is missing: tests/browser/setup.sh installs them.
set -euo pipefail
bin=$(realpath "$1") src=$(realpath "$2") tmp=$(realpath "$3")/browser.$$ out=$(realpath -m "${4:-$3/../browser-shots}")
for tool in chromium chromedriver node python3 curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "SKIP: $tool not installed (run tests/browser/setup.sh)"
    exit 77
  fi
done
mkdir -p "$tmp/data" "$out"
iss_pid= vd_pid= dev_pid=
cleanup() {
  for p in $dev_pid $vd_pid $iss_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
# free_port: below the ephemeral range: the issuer restarts on the same port
# below, which a client's connect() could take were it an ephemeral one.
. "$src/tests/cli/lib_issuerd.sh"
wait_http() { # URL LOG: bounded (60 s: an ASan daemon, or node, on a loaded machine)
  local wait_url=$1   # (wait_for's eval sees its own $1, not ours)
  wait_for 60 "$wait_url" 'curl -s -m 2 -o /dev/null "$wait_url"' && return 0
  echo "did not start: $1: $(tail -5 "$2")" >&2; exit 1
}

# ---- issuer and credentials ----
port=$(free_port)
base="http://127.0.0.1:$port"
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" --status-ttl 1 2>>"$tmp/isslog" &
iss_pid=$!
wait_http "$base/.well-known/ecred-trust" "$tmp/isslog"
# The expired case needs a credential signed long ago by a trusted key: the
# root (kept in the data folder by a first start, as in the demo) re-signs the
# trust list with the signing key's window opened back to 2019, and the
# issuer restarts on it.
kill "$iss_pid"; wait "$iss_pid" 2>/dev/null || true
cp "$tmp/data/signing.pub.pem" "$tmp/signing.pub.pem"
printf '{"iss": "ecred-issuer", "seq": %s, "valid_days": 30, "keys": [{"public_key": "signing.pub.pem", "sign_from": "2019-01-01T00:00:00Z", "sign_until": "%s", "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "%s/status/"}]}\n' \
  $(($(date +%s) + 100)) "$(date -u -d '+300 days' +%Y-%m-%dT%H:%M:%SZ)" "$base" > "$tmp/trust.json"
# The root goes offline (a present root key re-signs the list at every start).
mv "$tmp/data/root.key.pem" "$tmp/root.key.pem"
"$bin/ecred-keys" trustlist sign --root "$tmp/root.key.pem" --in "$tmp/trust.json" --out "$tmp/data/trust.cwt" >/dev/null
sleep 1
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" --status-ttl 1 2>>"$tmp/isslog" &
iss_pid=$!
wait_http "$base/.well-known/ecred-trust" "$tmp/isslog"
admin=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role admin)
A=(-H "Authorization: Bearer $admin" -H "Content-Type: application/json")
issue() { # EXAMPLE -> "ID QR"
  local app
  app=$(curl -s -m 20 -X POST "${A[@]}" --data-binary "@$src/spec/examples/api/$1.json" "$base/v1/applications" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -m 20 -X POST "${A[@]}" "$base/v1/applications/$app/approve" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["credential"]; print(c["id"], c["qr_text"])'
}
status_change() { # ACTION ID
  curl -s -m 20 -o /dev/null -f -X POST "${A[@]}" --data '{"reason": "browser test"}' \
    "$base/v1/credentials/$2/$1"
}
read -r _ qr_valid <<<"$(issue permit_new)"
read -r id_rev qr_revoked <<<"$(issue permit_new)"
read -r id_sus qr_suspended <<<"$(issue residence_registration)"
status_change revoke "$id_rev"
status_change suspend "$id_sus"
# Expired: signed with the issuer's own key, inside its signing window, with
# validity dates in the past (the issuer itself would never issue it).
python3 - "$src/spec/examples/api/permit_new.json" > "$tmp/expired.json" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))["credential"]
c["registration_date"], c["valid_from"], c["valid_until"], c["endorsement_date"] = "2019-12-01", "2020-01-01", "2021-01-01", "2020-12-01"
print(json.dumps(c, ensure_ascii=False))
EOF
qr_expired=$("$bin/ecred-issue" --key "$tmp/data/signing.key.pem" --in "$tmp/expired.json" --iss ecred-issuer \
  --iat 2019-12-01T02:00:00Z --status-uri "$base/status/1" --status-idx 131071)
# Unknown key: a well-formed credential signed by a key nobody trusts.
"$bin/ecred-keys" gen --out "$tmp/stranger.key" >/dev/null
qr_unknown=$("$bin/ecred-issue" --key "$tmp/stranger.key" --in "$src/spec/examples/permit-rental.json")
# Holder-bound: a credential bound to a phone key, shown as a timed RP1
# presentation the phone signed just now (police accept it as "holder proven").
"$bin/ecred-present" keygen --out "$tmp/phone.key" --pub "$tmp/phone.pub.pem" >/dev/null
"$bin/ecred-issue" --key "$tmp/data/signing.key.pem" --in "$src/spec/examples/permit-rental.json" --iss ecred-issuer \
  --holder-key "$tmp/phone.pub.pem" --status-uri "$base/status/1" --status-idx 131070 >"$tmp/bound.txt"
qr_other='HC1:6BFOXN*TS0BI$ZD4N9:9S6RCVN5+O30K3/XIV0W23NTDEXWK G2EP4J0B3KL6QM5/OVGA/MAT%ZIX9NBJCXK1E$8+F4'

# ---- verifier ----
D="$bin/ecred-verifierd"
key_police=$("$D" key add --cache "$tmp/vcache" --role police 2>/dev/null)
key_landlord=$("$D" key add --cache "$tmp/vcache" --role landlord 2>/dev/null)
vport=$(free_port)
api="http://127.0.0.1:$vport"
"$D" --cache "$tmp/vcache" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$vport" \
  --refresh 1s 2>"$tmp/vdlog" &
vd_pid=$!
wait_for 60 "ecred-verifierd's /healthz" '[ "$(curl -s -m 2 -o /dev/null -w "%{http_code}" "$api/healthz")" = 200 ]' ||
  { echo "FAIL: ecred-verifierd did not come up: $(tail -5 "$tmp/vdlog")" >&2; exit 1; }
page=$api
if [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$api/scan")" != 200 ]; then
  # Before the verifier serves /scan itself: the page from the source tree
  # with the same headers, the API proxied to the real daemon.
  dport=$(free_port)
  node "$src/tests/browser/devserver.mjs" "$dport" "$src/verifier/web/scan" "$api" 2>"$tmp/devlog" &
  dev_pid=$!
  page="http://127.0.0.1:$dport"
  wait_http "$page/scan" "$tmp/devlog"
  echo "note: verifierd does not serve /scan yet: page served by devserver.mjs, API by ecred-verifierd"
fi

# ---- QR pictures and fake-camera videos ----
# The presentation is signed last, right before the browser starts: it is
# accepted for 90 s after its iat (spec/presentation.md).
qr_holder=$("$bin/ecred-present" --key "$tmp/phone.key" --in "$tmp/bound.txt")
for c in valid revoked suspended expired unknown other holder; do
  var=qr_$c
  "$bin/ecred-issue" --render "${!var}" --png "$tmp/$c.png" >/dev/null 2>&1
  python3 "$src/tests/browser/png2y4m.py" "$tmp/$c.png" "$tmp/$c.y4m"
done
python3 "$src/tests/browser/png2y4m.py" "$tmp/valid.png" "$tmp/photo.y4m" --photo "$tmp/photo.png" --angle 8 --size 300

python3 - "$tmp/config.json" <<EOF
import json, sys
json.dump({"page": "$page", "api": "$api", "tmp": "$tmp", "out": "$out",
           "keys": {"police": "$key_police", "landlord": "$key_landlord"},
           "full_id": "11010519491231002X"}, open(sys.argv[1], "w"))
EOF
node "$src/tests/browser/scan_test.mjs" "$tmp/config.json"
