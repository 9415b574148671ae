#!/usr/bin/env bash
# ecred-issuerd end to end on loopback, driven by curl: first-start setup,
# every auth failure (401/403), every 4xx the API documents, idempotent
# creation, approve-and-issue (twice, and concurrently), the kinship
# commitment, address change and renewal invalidating the replaced
# credential, suspend/resume/revoke checked bit by bit in the served status
# list, reminders, kill -9 + restart (nothing lost, no index reused) and a
# graceful SIGTERM. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/issuerd_lifecycle.$$
mkdir -p "$tmp/data" "$tmp/ex"
# The API examples are dated around 2026-11-26. Move their credential dates by
# the days since then (China Standard Time) so the suite means the same thing
# on any day it runs: validity starting today, endorsement a year out.
python3 - "$src/spec/examples/api" "$tmp/ex" <<'EOF'
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
EOF
ex=$tmp/ex
data=$tmp/data
# ECRED_TEST_REGISTRY runs the whole script on another registry (tests/pg:
# a PostgreSQL database); empty: the default sqlite file in $data.
reg=()
[ -z "${ECRED_TEST_REGISTRY:-}" ] || reg=(--registry "$ECRED_TEST_REGISTRY")
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

# free_port: below the ephemeral range: the daemon is restarted on the same
# port after each kill -9, and an ephemeral port may meanwhile be any
# client's source port.
. "$src/tests/cli/lib_issuerd.sh"

# start_daemon PORT: start on PORT and wait (bounded) until it answers.
start_daemon() {
  local port=$1
  "$bin/ecred-issuerd" --data "$data" "${reg[@]}" --listen "127.0.0.1:$port" 2>>"$tmp/daemon.log" &
  pid=$!
  base="http://127.0.0.1:$port"
  local end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; return 1; fi
    if curl -s -m 2 -o /dev/null "$base/.well-known/ecred-trust"; then return 0; fi
    sleep 0.1
  done
  echo "waited 60 s for ecred-issuerd on port $port" >&2
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
  return 1
}

started=0
for _ in $(seq 1 10); do
  port=$(free_port)
  if start_daemon "$port"; then started=1; break; fi
done
if [ "$started" -ne 1 ]; then echo "FAIL: daemon did not start"; cat "$tmp/daemon.log" >&2; exit 1; fi

# req METHOD PATH [curl args...]: body to $tmp/body, headers to $tmp/hdr, prints the status.
req() {
  local m=$1 p=$2; shift 2
  curl -s -m 20 -o "$tmp/body" -D "$tmp/hdr" -w '%{http_code}' -X "$m" "$@" "$base$p"
}
# expect WANT METHOD PATH [curl args...]
expect() {
  local want=$1; shift
  local got; got=$(req "$@")
  if [ "$got" = "$want" ]; then ok; else bad "$1 $2: HTTP $got, want $want: $(head -c 300 "$tmp/body")"; fi
}
# jget EXPR: a Python expression over the last JSON body bound as j.
jget() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$tmp/body"; }
body_has() { if grep -q -- "$1" "$tmp/body"; then ok; else bad "body lacks '$1': $(head -c 300 "$tmp/body")"; fi; }
hdr_has() { if grep -qi -- "$1" "$tmp/hdr"; then ok; else bad "headers lack '$1'"; fi; }
json=(-H "Content-Type: application/json")

# ---- first start made a self-contained setup ----
for f in signing.key.pem root.key.pem tracking.secret; do
  check '[ "$(stat -c %a "$data/$f")" = 600 ]' "$f is not mode 600"
done
# The registry holds names, ID numbers and addresses: never group/world-readable.
for f in "$data"/registry.sqlite*; do
  [ -e "$f" ] || continue
  check '[ "$(stat -c %a "$f")" = 600 ]' "$(basename "$f") is not mode 600 (personal data)"
done
check '[ -s "$data/root.pub.pem" ] && [ -s "$data/trust.cwt" ]' "root.pub.pem / trust.cwt missing"
expect 200 GET /.well-known/ecred-trust
hdr_has "content-type: application/ecred-trustlist+cwt"
hdr_has "etag:"
check 'cmp -s "$tmp/body" "$data/trust.cwt"' "served trust list differs from trust.cwt"

# ---- command line ----
set +e
"$bin/ecred-issuerd" token add --data "$data" --role root >/dev/null 2>&1; check '[ $? -eq 2 ]' "bad role not exit 2"
"$bin/ecred-issuerd" token add --role clerk >/dev/null 2>&1; check '[ $? -eq 2 ]' "missing --data not exit 2"
"$bin/ecred-issuerd" token list >/dev/null 2>&1; check '[ $? -eq 2 ]' "unknown token command not exit 2"
"$bin/ecred-issuerd" --data "$data" --listen 127.0.0.1:0x >/dev/null 2>&1; check '[ $? -eq 2 ]' "bad --listen not exit 2"
"$bin/ecred-issuerd" --data "$data" --listen 127.0.0.1:1 --bogus x >/dev/null 2>&1; check '[ $? -eq 2 ]' "unknown option not exit 2"
"$bin/ecred-issuerd" --data "$data" --data "$data" --listen 127.0.0.1:1 >/dev/null 2>&1; check '[ $? -eq 2 ]' "repeated option not exit 2"
"$bin/ecred-issuerd" --data "$tmp/nope" --listen 127.0.0.1:1 >/dev/null 2>&1; check '[ $? -eq 2 ]' "missing data dir not exit 2"
set -e
clerk=$("$bin/ecred-issuerd" token add --data "$data" "${reg[@]}" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" "${reg[@]}" --role officer)
admin=$("$bin/ecred-issuerd" token add --data "$data" "${reg[@]}" --role admin)
check '[ ${#clerk} -eq 64 ] && [ "$clerk" != "$officer" ]' "tokens are not 64 distinct hex digits"
check '! grep -q "$clerk" "$data"/registry.sqlite*' "a token is stored in clear"
C=(-H "Authorization: Bearer $clerk")
O=(-H "Authorization: Bearer $officer")
A=(-H "Authorization: Bearer $admin")

# ---- auth failures ----
expect 401 POST /v1/applications "${json[@]}" --data-binary @"$ex/permit_new.json"
body_has '"code":"missing_token"'
hdr_has "www-authenticate: Bearer"
# A token one digit off (always off: a fixed "00" prefix was the token
# itself once in 256 runs).
if [ "${clerk:0:1}" = 0 ]; then off_by_one="1${clerk:1}"; else off_by_one="0${clerk:1}"; fi
expect 401 POST /v1/applications -H "Authorization: Bearer $off_by_one" --data-binary @"$ex/permit_new.json"
body_has '"code":"invalid_token"'
expect 401 POST /v1/applications -H "Authorization: Basic $clerk" --data-binary @"$ex/permit_new.json"
expect 401 POST /v1/applications -H "Authorization: Bearer ${clerk}00" --data-binary @"$ex/permit_new.json"
expect 403 POST /v1/applications "${O[@]}" --data-binary @"$ex/permit_new.json"
body_has '"code":"forbidden"'
expect 403 GET "/v1/reminders?within=30" "${C[@]}"
expect 401 GET "/v1/reminders?within=30"
expect 401 GET "/v1/reminders?within=30" -H "X-Tracking-Code: 0123"

# ---- request errors ----
expect 400 POST /v1/applications "${C[@]}" --data-binary '{"kind":'
body_has '"code":"malformed_json"'
expect 400 POST /v1/applications "${C[@]}" --data-binary ''
expect 400 POST /v1/applications "${C[@]}" --data-binary '[1,2]'
expect 400 POST /v1/applications "${C[@]}" --data-binary '{"kind":"permit_new","kind":"permit_new"}'
expect 400 POST /v1/applications "${C[@]}" --data-binary '{"a":[[[[[[[[[1]]]]]]]]]}'
body_has 'depth'
head -c 70000 /dev/zero | tr '\0' ' ' > "$tmp/big.json"
expect 413 POST /v1/applications "${C[@]}" --data-binary @"$tmp/big.json"
body_has '"code":"body_too_large"'
expect 413 POST /v1/applications "${C[@]}" -H "Transfer-Encoding: chunked" --data-binary @"$tmp/big.json"
expect 414 GET "/v1/applications/$(head -c 600 /dev/zero | tr '\0' a)" "${C[@]}"
# The cap covers the whole target: a query string counts (MHD hands the
# access handler the path alone).
expect 414 GET "/v1/reminders?within=30&pad=$(head -c 600 /dev/zero | tr '\0' a)" "${O[@]}"
body_has '"code":"uri_too_long"'
expect 414 GET "/.well-known/ecred-trust?pad=$(head -c 600 /dev/zero | tr '\0' a)"
expect 404 GET /v1/nothing "${C[@]}"
expect 405 GET /v1/applications/0123456789abcdef/approve "${C[@]}"
expect 400 POST /v1/applications "${C[@]}" -H "Idempotency-Key: has space" --data-binary @"$ex/permit_new.json"
python3 - "$ex/permit_new.json" "$tmp" <<'EOF'
import json, sys
src, tmp = sys.argv[1], sys.argv[2]
j = json.load(open(src))
def write(name, obj): json.dump(obj, open(f"{tmp}/{name}.json", "w"), ensure_ascii=False)
a = json.loads(json.dumps(j)); a["colour"] = "red"; write("unknown_top", a)
a = json.loads(json.dumps(j)); a["credential"]["colour"] = "red"; write("unknown_cred", a)
a = json.loads(json.dumps(j)); a["credential"]["id_number"] = "11010519491231002Y"; write("bad_id", a)
a = json.loads(json.dumps(j)); a["credential"]["sex"] = "male"; write("bad_sex", a)
a = json.loads(json.dumps(j)); a["credential"]["valid_until"] = "2026-02-30"; write("bad_date", a)
a = json.loads(json.dumps(j)); a["credential"]["housing"]["basis"] = "tent"; write("bad_basis", a)
a = json.loads(json.dumps(j)); del a["kind"]; write("no_kind", a)
a = json.loads(json.dumps(j)); a["kind"] = "passport"; write("bad_kind", a)
a = json.loads(json.dumps(j)); a["credential"]["type"] = "registration_certificate"; write("type_mismatch", a)
a = json.loads(json.dumps(j)); a["replaces"] = "0123456789abcdef"; write("replaces_on_new", a)
a = json.loads(json.dumps(j)); a["credential"]["name"] = "李四"; write("other", a)
a = json.loads(json.dumps(j)); a["kinship"] = {"relative_name": "x", "relationship": "y"}; write("kin_not_relative", a)
EOF
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/unknown_top.json"
body_has '"detail":"colour: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/unknown_cred.json"
body_has '"detail":"credential.colour: is not a credential field"'
body_has '"code":"unknown_field"'
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/bad_id.json"
body_has '"detail":"credential.id_number: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/bad_sex.json"
body_has '"detail":"credential.sex: does not match the ID number"'
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/bad_date.json"
body_has '"detail":"credential.valid_until: not a date YYYY-MM-DD in 1900..2199"'
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/bad_basis.json"
body_has '"detail":"credential.housing.basis: must be own, rental or relative"'
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/no_kind.json"
body_has '"detail":"kind: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/bad_kind.json"
body_has '"detail":"kind: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/type_mismatch.json"
body_has '"detail":"credential.type: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/replaces_on_new.json"
body_has '"detail":"replaces: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/kin_not_relative.json"
body_has '"detail":"kinship: '

# ---- create with Idempotency-Key; retries never make a second application ----
expect 201 POST /v1/applications "${C[@]}" "${json[@]}" -H "Idempotency-Key: lifecycle-1" --data-binary @"$ex/permit_new.json"
app1=$(jget 'j["id"]'); track1=$(jget 'j["tracking_code"]')
check '[ "$(jget "j[\"state\"]")" = submitted ]' "new application not submitted"
expect 200 POST /v1/applications "${C[@]}" -H "Idempotency-Key: lifecycle-1" --data-binary @"$ex/permit_new.json"
check '[ "$(jget "j[\"id\"]")" = "$app1" ] && [ "$(jget "j[\"replayed\"]")" = True ]' "retry made a new application"
check '[ "$(jget "j[\"tracking_code\"]")" = "$track1" ]' "retry gave another tracking code"
expect 409 POST /v1/applications "${C[@]}" -H "Idempotency-Key: lifecycle-1" --data-binary @"$tmp/other.json"
body_has '"code":"idempotency_key_reused"'
# Concurrent retries with one fresh key: one application.
for i in $(seq 1 6); do
  curl -s -m 20 -o "$tmp/par.$i" -X POST "${C[@]}" -H "Idempotency-Key: lifecycle-par" \
    --data-binary @"$ex/residence_registration.json" "$base/v1/applications" &
done
wait_bg() { for j in $(jobs -p); do [ "$j" = "$pid" ] || wait "$j" || true; done; }
wait_bg
check '[ "$(python3 -c "import json,sys; print(len({json.load(open(f))[\"id\"] for f in sys.argv[1:]}))" "$tmp"/par.*)" = 1 ]' \
  "concurrent idempotent creates made several applications"
appreg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/par.1")
trackreg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tracking_code"])' "$tmp/par.1")

# ---- progress: staff, and the applicant by tracking code ----
expect 200 GET "/v1/applications/$app1" "${C[@]}"
expect 200 GET "/v1/applications/$app1" "${O[@]}"
expect 200 GET "/v1/applications/$app1" -H "X-Tracking-Code: $track1"
check '[ "$(jget "j[\"progress\"][0][\"state\"]")" = submitted ] && [ "$(jget "\"tracking_code\" in j")" = False ]' \
  "progress view wrong or leaks the tracking code"
expect 401 GET "/v1/applications/$app1" -H "X-Tracking-Code: $trackreg"
body_has '"code":"invalid_tracking_code"'
expect 401 GET "/v1/applications/ffffffffffffffff" -H "X-Tracking-Code: $track1"
expect 401 GET "/v1/applications/$app1"
expect 404 GET "/v1/applications/ffffffffffffffff" "${C[@]}"

# ---- approve = issue, in one transaction; twice gives the same credential ----
expect 403 POST "/v1/applications/$app1/approve" "${C[@]}"
expect 401 POST "/v1/applications/$app1/approve"
expect 404 POST "/v1/applications/ffffffffffffffff/approve" "${O[@]}"
expect 201 POST "/v1/applications/$app1/approve" "${O[@]}"
cred1=$(jget 'j["credential"]["id"]'); idx1=$(jget 'j["credential"]["status_list"]["idx"]')
list1=$(jget 'j["credential"]["status_list"]["list"]'); qr1=$(jget 'j["credential"]["qr_text"]')
uri1=$(jget 'j["credential"]["status_list"]["uri"]')
check '[[ "$qr1" == RC1:* ]] && [ "$uri1" = "$base/status/$list1" ]' "approval reply lacks QR text or status URI"
expect 200 POST "/v1/applications/$app1/approve" "${O[@]}"
check '[ "$(jget "j[\"credential\"][\"id\"]")" = "$cred1" ] && [ "$(jget "j[\"credential\"][\"qr_text\"]")" = "$qr1" ]' \
  "second approval gave another credential"
expect 200 GET "/v1/applications/$app1" -H "X-Tracking-Code: $track1"
check '[ "$(jget "\",\".join(s[\"state\"] for s in j[\"progress\"])")" = submitted,approved,issued ]' \
  "progress lacks approved/issued steps"
# Concurrent approvals of one application: one credential.
for i in $(seq 1 6); do
  curl -s -m 20 -o "$tmp/appr.$i" -X POST "${O[@]}" "$base/v1/applications/$appreg/approve" &
done
wait_bg
check '[ "$(python3 -c "import json,sys; print(len({json.load(open(f))[\"credential\"][\"id\"] for f in sys.argv[1:]}))" "$tmp"/appr.*)" = 1 ]' \
  "concurrent approvals issued several credentials"
credreg=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential"]["id"])' "$tmp/appr.1")

# The QR verifies with the issuer's signing key (when the verifier is built).
if [ -x "$bin/ecred-verify" ]; then
  set +e
  "$bin/ecred-verify" --trust-key "$data/signing.pub.pem" "$qr1" >"$tmp/verify.out" 2>&1
  rc=$?
  set -e
  check '[ $rc -eq 0 ]' "ecred-verify rejected the issued QR: $(head -c 300 "$tmp/verify.out")"
fi

# ---- credential views ----
expect 200 GET "/v1/credentials/$cred1" "${O[@]}"
check '[ "$(jget "j[\"status\"]")" = valid ] && [ "$(jget "\"events\" in j")" = True ]' "officer view wrong"
expect 200 GET "/v1/credentials/$cred1" -H "X-Tracking-Code: $track1"
check '[ "$(jget "\"events\" in j")" = False ] && [ "$(jget "j[\"qr_text\"]")" = "$qr1" ]' "holder view wrong"
expect 401 GET "/v1/credentials/$cred1" -H "X-Tracking-Code: $trackreg"
expect 403 GET "/v1/credentials/$cred1" "${C[@]}"
expect 404 GET "/v1/credentials/ffffffffffffffff" "${O[@]}"
expect 200 GET "/v1/credentials/$cred1/qr.png" "${O[@]}"
check '[ "$(head -c 8 "$tmp/body" | od -An -tx1 | tr -d " \n")" = 89504e470d0a1a0a ]' "qr.png is not a PNG"
hdr_has "content-type: image/png"
expect 200 GET "/v1/credentials/$cred1/qr.svg" -H "X-Tracking-Code: $track1"
body_has "<svg"
hdr_has "content-type: image/svg+xml"

# ---- status list: served, signed, bit by bit ----
# slist_value IDX: the value at IDX in the list just fetched (verified with the signing key).
fetch_list() { expect 200 GET "/status/$1"; cp "$tmp/body" "$tmp/list.cwt"; }
slist_value() { "$bin/slist_dump" "$tmp/list.cwt" "$data/signing.pub.pem" "$1" | awk -v i="$1" '$1==i {print $2}'; }
fetch_list "$list1"
hdr_has "content-type: application/statuslist+cwt"
etag1=$(grep -i '^etag:' "$tmp/hdr" | cut -d' ' -f2 | tr -d '\r')
"$bin/slist_dump" "$tmp/list.cwt" "$data/signing.pub.pem" > "$tmp/dump"
check 'grep -q "^uri $base/status/$list1\$" "$tmp/dump" && grep -q "^bits 2\$" "$tmp/dump"' "list sub/bits wrong"
check '[ "$(awk "/^count/ {print \$2}" "$tmp/dump")" -ge 131072 ]' "list smaller than 131072 entries"
check '[ "$(slist_value "$idx1")" = 0 ]' "new credential not VALID in the list"
expect 304 GET "/status/$list1" -H "If-None-Match: $etag1"
expect 404 GET /status/999
expect 404 GET /status/abc

expect 403 POST "/v1/credentials/$cred1/suspend" "${C[@]}"
expect 401 POST "/v1/credentials/$cred1/suspend"
expect 200 POST "/v1/credentials/$cred1/suspend" "${O[@]}" --data-binary '{"reason":"挂失: reported lost"}'
check '[ "$(jget "j[\"status\"]")" = suspended ]' "suspend did not suspend"
fetch_list "$list1"
check '[ "$(slist_value "$idx1")" = 2 ]' "suspension not in the served list"
list_iat() { "$bin/slist_dump" "$tmp/list.cwt" "$data/signing.pub.pem" iat | awk '$1=="iat" {print $2}'; }
iat_susp=$(list_iat)
etag2=$(grep -i '^etag:' "$tmp/hdr" | cut -d' ' -f2 | tr -d '\r')
check '[ "$etag1" != "$etag2" ]' "ETag unchanged after a status change"
expect 200 GET "/status/$list1" -H "If-None-Match: $etag1"
expect 409 POST "/v1/credentials/$cred1/suspend" "${O[@]}"
body_has '"code":"invalid_transition"'
expect 200 POST "/v1/credentials/$cred1/resume" "${O[@]}"
fetch_list "$list1"
check '[ "$(slist_value "$idx1")" = 0 ]' "resume not in the served list"
# Two lists in one second must not share an iat (verifiers refuse other
# bytes at an iat they hold: that is how an equal-iat replay is caught).
check '[ "$(list_iat)" -gt "$iat_susp" ]' "a rebuilt list did not get a later iat than the one before"
expect 409 POST "/v1/credentials/$cred1/resume" "${O[@]}"
expect 422 POST "/v1/credentials/$cred1/revoke" "${O[@]}"
body_has '"detail":"reason: '
expect 422 POST "/v1/credentials/$cred1/revoke" "${O[@]}" --data-binary '{"reason":""}'
expect 422 POST "/v1/credentials/$cred1/revoke" "${O[@]}" --data-binary '{"reason":"x","why":"y"}'
body_has '"detail":"why: '
expect 400 POST "/v1/credentials/$cred1/revoke" "${O[@]}" --data-binary '{"reason":'
expect 200 POST "/v1/credentials/$cred1/revoke" "${A[@]}" --data-binary '{"reason":"obtained by fraud"}'
fetch_list "$list1"
check '[ "$(slist_value "$idx1")" = 1 ]' "revocation not in the served list"
expect 409 POST "/v1/credentials/$cred1/suspend" "${O[@]}"
expect 409 POST "/v1/credentials/$cred1/resume" "${O[@]}"
expect 200 GET "/v1/credentials/$cred1" "${O[@]}"
check '[ "$(jget "\",\".join(e[\"action\"] for e in j[\"events\"])")" = suspend,resume,revoke ]' \
  "status history incomplete"
check '[ "$(jget "all(e[\"by\"].startswith(\"token:\") and e[\"at\"] for e in j[\"events\"])")" = True ]' \
  "status events lack who/when"
expect 404 POST "/v1/credentials/ffffffffffffffff/suspend" "${O[@]}"

# ---- address change: new credential, replaced one INVALID in the same step ----
python3 - "$ex/address_change.json" "$credreg" "$tmp/addr.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); j["replaces"] = sys.argv[2]
json.dump(j, open(sys.argv[3], "w"), ensure_ascii=False)
EOF
expect 201 POST /v1/applications "${C[@]}" --data-binary @"$tmp/addr.json"
appaddr=$(jget 'j["id"]')
check '[ "$(jget "j[\"credential\"][\"name\"]")" = 王建国 ] && [ "$(jget "j[\"credential\"][\"address_division\"]")" = 310106 ]' \
  "address change did not reuse the holder's data"
expect 201 POST "/v1/applications/$appaddr/approve" "${O[@]}"
credaddr=$(jget 'j["credential"]["id"]'); idxaddr=$(jget 'j["credential"]["status_list"]["idx"]')
expect 200 GET "/v1/credentials/$credreg" "${O[@]}"
idxreg=$(jget 'j["status_list"]["idx"]')
check '[ "$(jget "j[\"status\"]")" = invalid ] && [ "$(jget "j[\"replaced_by\"]")" = "$credaddr" ]' \
  "replaced credential not INVALID"
fetch_list "$list1"
check '[ "$(slist_value "$idxreg")" = 1 ] && [ "$(slist_value "$idxaddr")" = 0 ]' "address change not in the list"
expect 409 POST /v1/applications "${C[@]}" --data-binary @"$tmp/addr.json"
body_has '"code":"replaced_credential_invalid"'
python3 - "$ex/address_change.json" "$credaddr" "$tmp/addr_missing.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); j["replaces"] = sys.argv[2]; del j["credential"]["address"]
json.dump(j, open(sys.argv[3], "w"), ensure_ascii=False)
EOF
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$tmp/addr_missing.json"
body_has '"detail":"credential.address: '
expect 422 POST /v1/applications "${C[@]}" --data-binary @"$ex/address_change.json"
body_has '"detail":"replaces: '

# ---- relative's home: generated commitment, confirmed by the applicant ----
expect 201 POST /v1/applications "${C[@]}" --data-binary @"$ex/permit_new_relative.json"
apprel=$(jget 'j["id"]'); trackrel=$(jget 'j["tracking_code"]')
ref=$(jget 'j["commitment"]["reference"]'); sha=$(jget 'j["commitment"]["sha256"]')
jget 'j["commitment"]["text"]' > "$tmp/commitment.txt"
check '[[ "$ref" =~ ^QS[0-9]{12}$ ]] && [ "$(jget "j[\"credential\"][\"housing\"][\"reference\"]")" = "$ref" ]' \
  "commitment reference not on the credential"
check '[ "$(printf %s "$(jget "j[\"commitment\"][\"text\"]")" | sha256sum | cut -d" " -f1)" != "" ] && grep -q 李国强 "$tmp/commitment.txt"' \
  "commitment text lacks the relative"
check '[ "$(python3 -c "import json,sys,hashlib; j=json.load(open(sys.argv[1])); print(hashlib.sha256(j[\"commitment\"][\"text\"].encode()).hexdigest())" "$tmp/body")" = "$sha" ]' \
  "commitment sha256 is not the text's hash"
expect 409 POST "/v1/applications/$apprel/approve" "${O[@]}"
body_has '"code":"commitment_unconfirmed"'
expect 422 POST "/v1/applications/$apprel/commitment/confirm" -H "X-Tracking-Code: $trackrel" \
  --data-binary "{\"sha256\":\"$(printf '0%.0s' $(seq 1 64))\"}"
body_has '"detail":"sha256: '
expect 401 POST "/v1/applications/$apprel/commitment/confirm" -H "X-Tracking-Code: $track1" \
  --data-binary "{\"sha256\":\"$sha\"}"
expect 200 POST "/v1/applications/$apprel/commitment/confirm" -H "X-Tracking-Code: $trackrel" \
  --data-binary "{\"sha256\":\"$sha\"}"
check '[ "$(jget "j[\"commitment\"][\"confirmed\"]")" = True ]' "confirmation not recorded"
expect 201 POST "/v1/applications/$apprel/approve" "${O[@]}"
credrel=$(jget 'j["credential"]["id"]')
expect 422 POST /v1/applications "${C[@]}" --data-binary \
  "$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); del j["kinship"]; print(json.dumps(j))' "$ex/permit_new_relative.json")"
body_has '"detail":"kinship: '

# ---- renewal replaces the permit ----
python3 - "$ex/permit_renewal.json" "$credrel" "$tmp/renew.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); j["replaces"] = sys.argv[2]
json.dump(j, open(sys.argv[3], "w"), ensure_ascii=False)
EOF
expect 201 POST /v1/applications "${C[@]}" --data-binary @"$tmp/renew.json"
apprenew=$(jget 'j["id"]')
check '[ "$(jget "j[\"credential\"][\"housing\"][\"reference\"]")" = "$ref" ]' "renewal lost the housing reference"
expect 201 POST "/v1/applications/$apprenew/approve" "${O[@]}"
credrenew=$(jget 'j["credential"]["id"]')
expect 200 GET "/v1/credentials/$credrel" "${O[@]}"
check '[ "$(jget "j[\"status\"]")" = invalid ]' "renewed permit not INVALID"

# ---- reject ----
expect 201 POST /v1/applications "${C[@]}" --data-binary @"$tmp/other.json"
apprej=$(jget 'j["id"]')
expect 422 POST "/v1/applications/$apprej/reject" "${O[@]}"
expect 403 POST "/v1/applications/$apprej/reject" "${C[@]}" --data-binary '{"reason":"x"}'
expect 200 POST "/v1/applications/$apprej/reject" "${O[@]}" --data-binary '{"reason":"documents incomplete"}'
check '[ "$(jget "j[\"state\"]")" = rejected ] && [ "$(jget "j[\"reject_reason\"]")" = "documents incomplete" ]' "reject not recorded"
expect 409 POST "/v1/applications/$apprej/reject" "${O[@]}" --data-binary '{"reason":"again"}'
expect 409 POST "/v1/applications/$apprej/approve" "${O[@]}"
body_has '"code":"application_rejected"'
expect 422 POST "/v1/applications/$app1/approve" "${O[@]}" --data-binary '{"x":1}'

# ---- reminders ----
expect 200 GET "/v1/reminders?within=366" "${O[@]}"
check '[ "$(jget "\",\".join(sorted({r[\"credential_id\"] for r in j[\"reminders\"] if r[\"due\"]==\"endorsement\"}))")" = "$credrenew" ]' \
  "reminders should list only the live permit's endorsement"
expect 200 GET "/v1/reminders?within=0" "${O[@]}"
# Pages: one row at a time, following next, gives the same rows as one page.
expect 200 GET "/v1/reminders?within=366" "${O[@]}"
all=$(jget '";".join(r["credential_id"] + r["due"] for r in j["reminders"])')
check '[ "$(jget "j[\"next\"]")" = None ]' "a last page has a next"
paged="" after=""
for _ in $(seq 1 20); do
  expect 200 GET "/v1/reminders?within=366&limit=1${after:+&after=$after}" "${O[@]}"
  row=$(jget '";".join(r["credential_id"] + r["due"] for r in j["reminders"])')
  [ -n "$row" ] && paged="${paged:+$paged;}$row"
  after=$(jget 'j["next"] or ""')
  [ -n "$after" ] || break
done
check '[ -n "$all" ] && [ "$paged" = "$all" ]' "paging with limit=1 gave '$paged', one page '$all'"
expect 422 GET "/v1/reminders?within=366&limit=0" "${O[@]}"
expect 422 GET "/v1/reminders?within=366&limit=1001" "${O[@]}"
expect 422 GET "/v1/reminders?within=366&after=2026-01-01~zz~expiry" "${O[@]}"
body_has '"detail":"after: '
expect 422 GET "/v1/reminders?within=366&after=2026-01-01~0123456789abcdef~other" "${O[@]}"
expect 422 GET "/v1/reminders?within=abc" "${O[@]}"
body_has '"detail":"within: '
expect 422 GET "/v1/reminders?within=367" "${O[@]}"
expect 422 GET "/v1/reminders" "${O[@]}"

# ---- kill -9 and restart: everything returned is still there; no index reused ----
declare -A before
for c in "$cred1" "$credreg" "$credaddr" "$credrel" "$credrenew"; do
  expect 200 GET "/v1/credentials/$c" "${O[@]}"
  before[$c]="$(jget 'j["status"], j["status_list"]["list"], j["status_list"]["idx"], j["qr_text"]')"
done
fetch_list "$list1"; cp "$tmp/list.cwt" "$tmp/list.before"
"$bin/slist_dump" "$tmp/list.before" "$data/signing.pub.pem" | tail -n +6 > "$tmp/bits.before"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
restarted=0
for _ in $(seq 1 20); do if start_daemon "$port"; then restarted=1; break; fi; sleep 0.5; done
check '[ $restarted -eq 1 ]' "daemon did not restart after kill -9"
for c in "${!before[@]}"; do
  expect 200 GET "/v1/credentials/$c" "${O[@]}"
  check '[ "$(jget "j[\"status\"], j[\"status_list\"][\"list\"], j[\"status_list\"][\"idx\"], j[\"qr_text\"]")" = "${before[$c]}" ]' \
    "credential $c changed across kill -9"
done
fetch_list "$list1"
"$bin/slist_dump" "$tmp/list.cwt" "$data/signing.pub.pem" | tail -n +6 > "$tmp/bits.after"
check 'cmp -s "$tmp/bits.before" "$tmp/bits.after"' "served status list differs after restart"
expect 200 GET "/v1/applications/$app1" -H "X-Tracking-Code: $track1"
# New issuance after the crash never lands on a used index.
used="$idx1 $idxreg $idxaddr"
for i in $(seq 1 5); do
  python3 - "$ex/permit_new.json" "$i" "$tmp/new.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); j["credential"]["address"] = "宜山路700号%s室" % sys.argv[2]
json.dump(j, open(sys.argv[3], "w"), ensure_ascii=False)
EOF
  expect 201 POST /v1/applications "${C[@]}" --data-binary @"$tmp/new.json"
  a=$(jget 'j["id"]')
  expect 201 POST "/v1/applications/$a/approve" "${O[@]}"
  used="$used $(jget 'j["credential"]["status_list"]["idx"]')"
done
for c in "$credrel" "$credrenew"; do
  expect 200 GET "/v1/credentials/$c" "${O[@]}"; used="$used $(jget 'j["status_list"]["idx"]')"
done
check '[ "$(echo $used | tr " " "\n" | sort | uniq -d | wc -l)" = 0 ]' "a status index was used twice: $used"

# kill -9 in the middle of a burst of approvals: every credential whose QR
# reached the client is in the registry after the restart.
: > "$tmp/returned"
(
  for i in $(seq 1 40); do
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["credential"]["address"]="漕宝路%s号" % sys.argv[2]; print(json.dumps(j))' \
      "$ex/permit_new.json" "$i" > "$tmp/burst.$i.json"
    a=$(curl -s -m 5 -X POST "${C[@]}" --data-binary @"$tmp/burst.$i.json" "$base/v1/applications" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])' 2>/dev/null) || continue
    curl -s -m 5 -X POST "${O[@]}" "$base/v1/applications/$a/approve" -o "$tmp/burst.reply.$i" || continue
    python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["credential"]["id"], j["credential"]["status_list"]["idx"]) if j["credential"]["qr_text"] else None' \
      "$tmp/burst.reply.$i" >> "$tmp/returned" 2>/dev/null || true
  done
) &
burst=$!
# Kill once the first credential has reached the client (bounded wait: a
# loaded machine may take seconds), then a random moment later, mid-burst.
for _ in $(seq 1 300); do [ -s "$tmp/returned" ] && break; sleep 0.1; done
sleep "0.$((RANDOM % 3))"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
wait "$burst" || true
restarted=0
for _ in $(seq 1 20); do if start_daemon "$port"; then restarted=1; break; fi; sleep 0.5; done
check '[ $restarted -eq 1 ]' "daemon did not restart after the second kill -9"
check '[ -s "$tmp/returned" ]' "no approval completed before the kill (burst too slow?)"
while read -r c i; do
  expect 200 GET "/v1/credentials/$c" "${O[@]}"
  check '[ "$(jget "j[\"status_list\"][\"idx\"]")" = "$i" ]' "credential $c lost its index across kill -9"
  used="$used $i"
done < "$tmp/returned"
for i in 1 2 3; do
  expect 201 POST /v1/applications "${C[@]}" --data-binary @"$tmp/burst.1.json"
  a=$(jget 'j["id"]')
  expect 201 POST "/v1/applications/$a/approve" "${O[@]}"
  used="$used $(jget 'j["credential"]["status_list"]["idx"]')"
done
check '[ "$(echo $used | tr " " "\n" | sort | uniq -d | wc -l)" = 0 ]' "a status index was used twice after the burst: $used"

# ---- logs: one JSON object a line, no personal data or secrets ----
check 'python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$tmp/daemon.log"' "a log line is not JSON"
for s in 张三 王建国 11010519491231002X 340102199003071232 "$clerk" "$track1" "$app1"; do
  check '! grep -q -- "$s" "$tmp/daemon.log"' "log contains personal data or a secret: $s"
done

# ---- graceful stop ----
kill -TERM "$pid"
stopped=0
# (60 s: an ASan daemon's exit runs the leak check, slow on a loaded machine)
wait_for 60 "ecred-issuerd to exit on SIGTERM" '! kill -0 "$pid" 2>/dev/null' && stopped=1
rc=0; wait "$pid" || rc=$?
pid=""
check '[ $stopped -eq 1 ] && [ $rc -eq 0 ]' "SIGTERM did not stop the daemon cleanly (rc $rc)"
check 'grep -q "\"msg\":\"stopped\"" "$tmp/daemon.log"' "no stop log line"

# ---- production setup: an installed trust list is checked at start ----
# No root.key.pem: trust.cwt is served as installed, so the daemon must
# verify it with root.pub.pem and refuse to start when it cannot.
prod=$tmp/prod
mkdir -p "$prod"
[ ! -e "$data"/registry.sqlite ] || cp "$data"/registry.sqlite "$prod"/
cp "$data"/signing.key.pem "$data"/signing.pub.pem "$data"/tracking.secret \
   "$data"/trust.cwt "$prod"/
chmod 600 "$prod"/signing.key.pem "$prod"/tracking.secret
pport=$(free_port)
set +e
echo "not a key" > "$prod/root.pub.pem"
timeout 60 "$bin/ecred-issuerd" --data "$prod" --listen "127.0.0.1:$pport" >/dev/null 2>&1
check '[ $? -eq 1 ]' "started with an unreadable root.pub.pem (trust list unchecked)"
rm -f "$prod/root.pub.pem"
timeout 60 "$bin/ecred-issuerd" --data "$prod" --listen "127.0.0.1:$pport" >/dev/null 2>&1
check '[ $? -eq 1 ]' "started with an installed trust list and no root.pub.pem"
set -e

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
