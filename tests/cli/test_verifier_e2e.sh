#!/usr/bin/env bash
# The verifier against the real ecred-issuerd on loopback: issue, sync,
# verify offline with the issuer stopped; suspend / resume / revoke seen after
# the next sync (and not before); the verify API seeing a revocation through
# its background refresh with role views; key rotation (old credentials keep
# verifying, a removed key no longer does). Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verifier_e2e.$$
mkdir -p "$tmp/data"
iss_pid= vd_pid=
stop_issuer() { if [ -n "$iss_pid" ]; then kill "$iss_pid" 2>/dev/null || true; wait "$iss_pid" 2>/dev/null || true; iss_pid=; fi; }
cleanup() {
  stop_issuer
  if [ -n "$vd_pid" ]; then kill "$vd_pid" 2>/dev/null || true; wait "$vd_pid" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "exit $got, want $want: $*"; cat "$tmp/out" "$tmp/err" >&2; fi
}
jcheck() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert $1, d" && ok || bad "json: $1"; }
# free_port: below the ephemeral range: the issuer is restarted twice on the
# same port, which a client's connect() could take were it an ephemeral one.
. "$src/tests/cli/lib_issuerd.sh"
port=$(free_port)
base="http://127.0.0.1:$port"
start_issuer() {
  "$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" --status-ttl 1 2>>"$tmp/isslog" &
  iss_pid=$!
  wait_for 60 "ecred-issuerd on port $port" 'curl -s -m 2 -o /dev/null "$base/.well-known/ecred-trust"' && return 0
  echo "issuer did not start: $(tail -5 "$tmp/isslog")" >&2; exit 1
}
start_issuer
admin=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role admin)
A=(-H "Authorization: Bearer $admin" -H "Content-Type: application/json")
# issue EXAMPLE: approve a new application, print "ID QR".
issue() {
  local app
  app=$(curl -s -m 20 -X POST "${A[@]}" --data-binary "@$src/spec/examples/api/$1.json" "$base/v1/applications" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -m 20 -X POST "${A[@]}" "$base/v1/applications/$app/approve" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["credential"]; print(c["id"], c["qr_text"])'
}
status_change() { # ACTION ID
  local code
  code=$(curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST "${A[@]}" --data '{"reason": "e2e test"}' \
    "$base/v1/credentials/$2/$1")
  [ "$code" = 200 ] && ok || bad "$1 $2: HTTP $code"
}
read -r id1 qr1 <<<"$(issue permit_new)"
read -r id2 qr2 <<<"$(issue residence_registration)"
[ -n "$qr1" ] && [ -n "$qr2" ] && ok || { bad "issuing failed"; exit 1; }

V="$bin/ecred-verify"
C=(--cache "$tmp/cache")
curl -s -m 5 "$base/.well-known/ecred-status-lists" > "$tmp/out"
jcheck "d['lists']==['$base/status/1']"
expect 0 "$V" sync --issuer "$base" --root "$tmp/data/root.pub.pem" --cache "$tmp/cache"

# ---- offline, issuer stopped ----
stop_issuer
expect 0 "$V" "${C[@]}" "$qr1"
grep -q "VALID (as of" "$tmp/out" && ok || bad "no status age"
expect 0 "$V" "${C[@]}" "$qr2"
expect 1 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 0 "$V" "${C[@]}" "$qr1"

# ---- suspend / resume / revoke, each seen after the next sync ----
start_issuer
status_change suspend "$id1"
expect 0 "$V" "${C[@]}" "$qr1"        # not synced yet: the cache's answer
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 10 "$V" "${C[@]}" "$qr1"
status_change resume "$id1"
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 0 "$V" "${C[@]}" "$qr1"
status_change revoke "$id1"
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 9 "$V" "${C[@]}" "$qr1"
# --online sees a change before any sync (ttl is 1 s).
status_change suspend "$id2"
sleep 1.1
expect 10 "$V" "${C[@]}" --online "$qr2"
status_change resume "$id2"
sleep 1.1
expect 0 "$V" "${C[@]}" --online --json "$qr2"
jcheck 'd["status"]["source"]=="online"'

# ---- the verify API over the same issuer ----
D="$bin/ecred-verifierd"
kp=$("$D" key add --cache "$tmp/vcache" --role police 2>/dev/null)
kl=$("$D" key add --cache "$tmp/vcache" --role landlord 2>/dev/null)
vport=$(free_port)
api="http://127.0.0.1:$vport"
"$D" --cache "$tmp/vcache" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$vport" \
  --refresh 1s 2>"$tmp/vdlog" &
vd_pid=$!
wait_for 60 "ecred-verifierd's /healthz" '[ "$(curl -s -m 2 -o /dev/null -w "%{http_code}" "$api/healthz")" = 200 ]' ||
  { bad "ecred-verifierd did not come up: $(tail -5 "$tmp/vdlog")"; exit 1; }
verify_api() { curl -s -m 10 -o "$tmp/out" -H "Authorization: Bearer $1" --data-binary "$2" "$api/v1/verify"; }
verify_api "$kl" "$qr2"
jcheck 'd["outcome"]=="valid" and d["credential"]["id_number_masked"][6:14]=="********" and "id_number" not in d["credential"]'
verify_api "$kp" "$qr1"
jcheck 'd["reason"]=="revoked" and d["credential"]["id_number"]=="11010519491231002X"'
status_change revoke "$id2"
seen=
end=$(($(date +%s) + 30))   # --refresh 1s; the rest is for an ASan daemon on a loaded machine
while [ "$(date +%s)" -lt "$end" ]; do
  verify_api "$kp" "$qr2"
  python3 -c "import json; assert json.load(open('$tmp/out'))['reason']=='revoked'" 2>/dev/null && { seen=1; break; }
  sleep 0.2
done
[ -n "$seen" ] && ok || bad "API did not see the revocation: $(cat "$tmp/out")"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' --data-binary "$qr2" "$api/v1/verify")
[ "$code" = 401 ] && ok || bad "no key: $code"
kill "$vd_pid"; wait "$vd_pid" 2>/dev/null || true; vd_pid=

# ---- key rotation: a new signing key, the old one trusted until now ----
stop_issuer
K="$bin/ecred-keys"
"$K" gen --out "$tmp/new.key" >/dev/null
"$K" pub "$tmp/new.key" > "$tmp/new.pub.pem"
cp "$tmp/data/signing.pub.pem" "$tmp/old.pub.pem"
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
entry() { printf '{"public_key": "%s", "sign_from": "%s", "sign_until": "%s", "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "%s/status/"}' "$1" "$(rfc "$2")" "$(rfc "$3")" "$base"; }
far=$((now + 300 * 86400))
printf '{"iss": "ecred-issuer", "seq": %s, "valid_days": 30, "keys": [%s, %s]}\n' $((now + 100)) \
  "$(entry old.pub.pem $((now - 86400)) "$now")" "$(entry new.pub.pem "$now" "$far")" > "$tmp/tl2.json"
"$K" trustlist sign --root "$tmp/data/root.key.pem" --in "$tmp/tl2.json" --out "$tmp/trust2.cwt" >/dev/null
printf '{"iss": "ecred-issuer", "seq": %s, "valid_days": 30, "keys": [%s]}\n' $((now + 200)) \
  "$(entry new.pub.pem "$now" "$far")" > "$tmp/tl3.json"
"$K" trustlist sign --root "$tmp/data/root.key.pem" --in "$tmp/tl3.json" --out "$tmp/trust3.cwt" >/dev/null
# Production layout: the root goes offline, the new key and list go in.
mv "$tmp/data/root.key.pem" "$tmp/root.key.pem"
rm -f "$tmp/data/signing.key.pem" "$tmp/data/signing.pub.pem"
cp "$tmp/new.key" "$tmp/data/signing.key.pem"; chmod 600 "$tmp/data/signing.key.pem"
cp "$tmp/new.pub.pem" "$tmp/data/signing.pub.pem"
cp "$tmp/trust2.cwt" "$tmp/data/trust.cwt"
sleep 1
start_issuer
read -r id4 qr4 <<<"$(issue permit_new)"
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 9 "$V" "${C[@]}" "$qr1"   # old key, before the switch: still verifies (revoked)
expect 0 "$V" "${C[@]}" "$qr4"   # the new key
# The old key removed from the trust list: its credentials no longer verify.
stop_issuer
cp "$tmp/trust3.cwt" "$tmp/data/trust.cwt"
start_issuer
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 5 "$V" "${C[@]}" "$qr1"
expect 0 "$V" "${C[@]}" "$qr4"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
