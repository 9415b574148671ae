#!/usr/bin/env bash
# ecred-issuerd: binding the holder's phone key with a proof of possession
# (OpenID4VCI "jwt" proof over the issuer's c_nonce, spec/api.md "Holder
# key"). A key bound with the applicant's tracking code goes into cnf at
# approval and the phone's presentation verifies "holder proven"; wrong
# proofs (other key, wrong aud, tampered, private jwk, stale iat, nonce of
# another application), a clerk's token, no tracking code and a reused nonce
# are refused; a new phone re-issues the credential (holder_rebind) and the
# old one is INVALID in the same write. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/issuerd_pop.$$
mkdir -p "$tmp/data" "$tmp/ex"
python3 - "$src/spec/examples/api" "$tmp/ex" <<'EOF2'
import datetime, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
shift = today - datetime.date(2026, 11, 26)
for name in os.listdir(src):
    if not name.endswith(".json"):
        continue
    body = json.load(open(os.path.join(src, name)))
    cred = body.get("credential", {})
    for k in ("registration_date", "valid_from", "valid_until", "endorsement_date"):
        if k in cred:
            cred[k] = (datetime.date.fromisoformat(cred[k]) + shift).isoformat()
    json.dump(body, open(os.path.join(dst, name), "w"), ensure_ascii=False)
EOF2
ex=$tmp/ex data=$tmp/data pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
. "$src/tests/cli/lib_issuerd.sh"   # free_port (below the ephemeral range), wait_for
req() { local m=$1 p=$2; shift 2; curl -s -m 20 -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$base$p"; }
expect() {
  local want=$1; shift
  local got; got=$(req "$@")
  if [ "$got" = "$want" ]; then ok; else bad "$1 $2: HTTP $got, want $want: $(head -c 300 "$tmp/body")"; fi
}
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$tmp/body"; }
code_is() { local c; c=$(jget 'j.get("code")'); [ "$c" = "$1" ] && ok || bad "code $c, want $1: $(head -c 300 "$tmp/body")"; }
json=(-H "Content-Type: application/json")

port=$(free_port)
"$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$port" 2>>"$tmp/daemon.log" &
pid=$!
base="http://127.0.0.1:$port"
wait_for 60 "ecred-issuerd on port $port" 'curl -s -m 2 -o /dev/null "$base/.well-known/ecred-trust"' ||
  { bad "ecred-issuerd did not start: $(tail -5 "$tmp/daemon.log")"; exit 1; }
clerk=$("$bin/ecred-issuerd" token add --data "$data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer)
C=(-H "Authorization: Bearer $clerk")
O=(-H "Authorization: Bearer $officer")
"$bin/ecred-keys" pub "$data/signing.key.pem" >"$tmp/issuer.pub"
P="$bin/ecred-present"
for k in phone phone2 other; do "$P" keygen --out "$tmp/$k.key" --pub "$tmp/$k.pub" >/dev/null; done

# An application and its tracking code (the clerk hands it to the applicant).
expect 201 POST /v1/applications "${C[@]}" "${json[@]}" --data-binary @"$ex/permit_new.json"
app=$(jget 'j["id"]'); track=$(jget 'j["tracking_code"]')
T=(-H "X-Tracking-Code: $track")
expect 201 POST /v1/applications "${C[@]}" "${json[@]}" --data-binary @"$ex/residence_registration.json"
app2=$(jget 'j["id"]'); track2=$(jget 'j["tracking_code"]')

# ---- the c_nonce ----
expect 401 POST "/v1/applications/$app/holder-nonce"
expect 401 POST "/v1/applications/$app/holder-nonce" -H "X-Tracking-Code: $track2"
expect 403 POST "/v1/applications/$app/holder-nonce" "${O[@]}"
expect 200 POST "/v1/applications/$app/holder-nonce" "${C[@]}"
expect 200 POST "/v1/applications/$app/holder-nonce" "${T[@]}"
nonce=$(jget 'j["c_nonce"]'); aud=$(jget 'j["aud"]')
check '[ "$(jget "j[\"proof_type\"]")" = jwt ] && [ "$(jget "j[\"c_nonce_expires_in\"]")" -ge 299 ]' "nonce answer shape"
expect 404 POST "/v1/applications/0000000000000000/holder-nonce" "${C[@]}"
expect 200 POST "/v1/applications/$app2/holder-nonce" "${T[@]/$track/$track2}"
nonce2=$(jget 'j["c_nonce"]')

bind() { # WANT PROOF [headers...]: POST holder-key for $app
  local want=$1 jwt=$2; shift 2
  expect "$want" POST "/v1/applications/$app/holder-key" "${json[@]}" "$@" \
    --data-binary "{\"proof\": {\"proof_type\": \"jwt\", \"jwt\": \"$jwt\"}}"
}
good=$("$P" pop --key "$tmp/phone.key" --aud "$aud" --nonce "$nonce")
# ---- refused: who asks ----
bind 403 "$good" "${C[@]}" "${T[@]}"
code_is applicant_only
bind 403 "$good" "${C[@]}"
bind 401 "$good"
code_is invalid_tracking_code
bind 401 "$good" -H "X-Tracking-Code: $track2"
# ---- refused: the proof ----
bind 400 "$("$P" pop --key "$tmp/phone.key" --aud https://evil.example --nonce "$nonce")" "${T[@]}"
code_is invalid_proof
bind 400 "$("$P" pop --key "$tmp/phone.key" --aud "$aud" --nonce "$nonce2")" "${T[@]}"
code_is invalid_nonce
c=${nonce:30:1}; [ "$c" = A ] && c=B || c=A
bind 400 "$("$P" pop --key "$tmp/phone.key" --aud "$aud" --nonce "${nonce:0:30}$c${nonce:31}")" "${T[@]}"
code_is invalid_nonce
bind 400 "$("$P" pop --key "$tmp/phone.key" --aud "$aud" --nonce "$nonce" --iat 2020-01-01T00:00:00Z)" "${T[@]}"
code_is invalid_proof
# The signature of another key under this key's header; a flipped payload.
other=$("$P" pop --key "$tmp/other.key" --aud "$aud" --nonce "$nonce")
bind 400 "${good%.*}.${other##*.}" "${T[@]}"
code_is invalid_proof
mid=${good#*.}; mid=${mid%.*}
bind 400 "${good%%.*}.$(printf '%s' "$mid" | tr 'A-Za-z' 'B-ZAb-za').${good##*.}" "${T[@]}"
code_is invalid_proof
# A jwk carrying a private part "d", and a header with another alg.
python3 - "$good" >"$tmp/bad_jwts" <<'EOF2'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
def d(x): return json.loads(base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)))
def e(o): return base64.urlsafe_b64encode(json.dumps(o, separators=(",", ":")).encode()).rstrip(b"=").decode()
hd = d(h)
h1 = dict(hd); h1["jwk"] = dict(hd["jwk"], d="AAAA")
h2 = dict(hd, alg="ES384")
h3 = dict(hd, typ="JWT")
for x in (h1, h2, h3):
    print(e(x) + "." + p + "." + s)
print(h + "." + p + "." + s + "=")
EOF2
while read -r j; do bind 400 "$j" "${T[@]}"; code_is invalid_proof; done <"$tmp/bad_jwts"
expect 422 POST "/v1/applications/$app/holder-key" "${T[@]}" "${json[@]}" --data-binary '{"proof": {"proof_type": "cwt", "jwt": "x"}}'
expect 422 POST "/v1/applications/$app/holder-key" "${T[@]}" "${json[@]}" --data-binary "{\"proof\": {\"proof_type\": \"jwt\", \"jwt\": \"$good\"}, \"key\": 1}"
# ---- bound; the nonce is used up ----
bind 200 "$good" "${T[@]}"
x=$(jget 'j["holder_key"]["x"]')
check '[ ${#x} -eq 64 ]' "application view lacks the bound key"
bind 400 "$good" "${T[@]}"
code_is invalid_nonce
again=$("$P" pop --key "$tmp/other.key" --aud "$aud" --nonce "$nonce")
bind 400 "$again" "${T[@]}"
code_is invalid_nonce
expect 200 GET "/v1/applications/$app" "${T[@]}"
check '[ "$(jget "j[\"holder_key\"][\"x\"]")" = "$x" ]' "GET application shows the bound key"

# ---- approval puts the key into cnf; the phone proves it ----
expect 201 POST "/v1/applications/$app/approve" "${O[@]}"
cred=$(jget 'j["credential"]["id"]' 2>/dev/null || jget 'j["id"]')
qr=$(jget 'j.get("qr_text") or j["credential"]["qr_text"]')
printf '%s\n' "$qr" >"$tmp/cred.txt"
"$bin/ecred-verify" --trust-key "$tmp/issuer.pub" --json "$qr" >"$tmp/v.json" || true
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"claims\"][\"cnf\"][\"x\"]==sys.argv[2]" "$tmp/v.json" "$x"' "cnf is not the bound key"
rp1=$("$P" --key "$tmp/phone.key" --in "$tmp/cred.txt")
"$bin/ecred-verify" --trust-key "$tmp/issuer.pub" --holder required "$rp1" >"$tmp/v.txt" && ok || bad "phone's presentation not valid: $(cat "$tmp/v.txt")"
grep -q "已证明 PROVEN" "$tmp/v.txt" && ok || bad "not holder proven"
if "$P" --key "$tmp/other.key" --in "$tmp/cred.txt" >/dev/null 2>&1; then bad "another key presented the credential"; else ok; fi
# Decided: no more nonces or bindings.
expect 409 POST "/v1/applications/$app/holder-nonce" "${T[@]}"

# ---- a new phone: holder_rebind re-issues, the old credential INVALID ----
expect 201 POST /v1/applications "${C[@]}" "${json[@]}" \
  --data-binary "{\"kind\": \"holder_rebind\", \"replaces\": \"$cred\", \"credential\": {}}"
rb=$(jget 'j["id"]'); trackrb=$(jget 'j["tracking_code"]')
expect 422 POST /v1/applications "${C[@]}" "${json[@]}" \
  --data-binary "{\"kind\": \"holder_rebind\", \"replaces\": \"$cred\", \"credential\": {\"address\": \"x\"}}"
expect 409 POST "/v1/applications/$rb/approve" "${O[@]}"
code_is holder_key_missing
expect 200 POST "/v1/applications/$rb/holder-nonce" -H "X-Tracking-Code: $trackrb"
n3=$(jget 'j["c_nonce"]')
expect 200 POST "/v1/applications/$rb/holder-key" -H "X-Tracking-Code: $trackrb" "${json[@]}" \
  --data-binary "{\"proof\": {\"proof_type\": \"jwt\", \"jwt\": \"$("$P" pop --key "$tmp/phone2.key" --aud "$aud" --nonce "$n3")\"}}"
expect 201 POST "/v1/applications/$rb/approve" "${O[@]}"
cred2=$(jget 'j["credential"]["id"]' 2>/dev/null || jget 'j["id"]')
qr2=$(jget 'j.get("qr_text") or j["credential"]["qr_text"]')
printf '%s\n' "$qr2" >"$tmp/cred2.txt"
check '[ "$cred2" != "$cred" ]' "re-issue kept the credential id"
expect 200 GET "/v1/credentials/$cred" "${O[@]}"
check '[ "$(jget "j[\"status\"]")" = invalid ] && [ "$(jget "j.get(\"replaced_by\")")" = "$cred2" ]' \
  "old credential not INVALID / replaced_by after re-issue: $(head -c 300 "$tmp/body")"
"$bin/ecred-verify" --trust-key "$tmp/issuer.pub" --holder required "$("$P" --key "$tmp/phone2.key" --in "$tmp/cred2.txt")" >/dev/null && ok || bad "new phone not proven"
if "$P" --key "$tmp/phone.key" --in "$tmp/cred2.txt" >/dev/null 2>&1; then bad "the old phone presents the new credential"; else ok; fi
# A second re-issue of the replaced credential is refused.
expect 409 POST /v1/applications "${C[@]}" "${json[@]}" \
  --data-binary "{\"kind\": \"holder_rebind\", \"replaces\": \"$cred\", \"credential\": {}}"
grep -q "$nonce\|$track\|eyJ" "$tmp/daemon.log" && bad "a nonce, tracking code or proof in the log" || ok

echo "issuerd_pop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
