#!/usr/bin/env bash
# ecred-verifierd and holder-bound presentations (RP1): the holder policy of
# each API key (police required, landlord optional, an agency key raised with
# key add --holder), the holder block in every answer, one replay cache for
# all keys (a code shown at one scanner is refused at the next, also under
# concurrent requests: exactly one of them is accepted), 503 when the replay
# cache is full, and the challenge routes (POST /v1/challenges, then POST
# /v1/verify {"qr", "challenge"}; answered by RN1: text or typed code, used
# up once, never by another key), the same for a photo (POST
# /v1/scan-image?challenge=ID, with every refusal of the query), what a key's
# scanner learns up front (GET /v1/scanner) and --challenge-ttl.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verifierd_holder.$$
mkdir -p "$tmp/www/.well-known" "$tmp/www/status"
srv_pid= vd_pid= vd2_pid=
cleanup() {
  for p in $vd_pid $vd2_pid $srv_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
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
# post WANT_HTTP KEY BODY [PATH]: POST a body, the answer in $tmp/out.
post() {
  local want=$1 key=$2 body=$3 path=${4:-/v1/verify} ct=text/plain
  case "$body" in "{"*) ct=application/json ;; esac
  local code
  code=$(curl -s -o "$tmp/out" -w '%{http_code}' --max-time 10 -H "Authorization: Bearer $key" \
    -H "Content-Type: $ct" --data-binary "$body" "$api$path")
  if [ "$code" = "$want" ]; then ok; else bad "HTTP $code, want $want for $path ${body:0:30}: $(head -c 400 "$tmp/out")"; fi
}
# scan WANT_HTTP KEY PNG [QUERY]: POST a photo to /v1/scan-image, the answer in $tmp/out.
scan() {
  local want=$1 key=$2 png=$3 q=${4:-} code
  code=$(curl -s -o "$tmp/out" -w '%{http_code}' --max-time 20 -H "Authorization: Bearer $key" \
    -H 'Content-Type: image/png' --data-binary "@$png" "$api/v1/scan-image$q")
  if [ "$code" = "$want" ]; then ok; else bad "HTTP $code, want $want for scan-image $q: $(head -c 400 "$tmp/out")"; fi
}
# get WANT_HTTP KEY PATH [CURL ARGS...]: a GET (or -X METHOD), the answer in $tmp/out.
get() {
  local want=$1 key=$2 path=$3 code; shift 3
  code=$(curl -s -o "$tmp/out" -w '%{http_code}' --max-time 10 ${key:+-H "Authorization: Bearer $key"} "$@" "$api$path")
  if [ "$code" = "$want" ]; then ok; else bad "HTTP $code, want $want for $path $*: $(head -c 400 "$tmp/out")"; fi
}
png() { "$bin/ecred-issue" --render "$1" --png "$2" >/dev/null 2>&1 || bad "could not draw $2"; }
jcheck() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert $1, d" && ok || bad "json: $1: $(head -c 600 "$tmp/out")"; }
jget() { python3 -c "import json,sys; print(json.load(open('$tmp/out'))[sys.argv[1]])" "$1"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
start_vd() { # PORT LOG EXTRA...: start a daemon, wait until it answers
  local port=$1 log=$2; shift 2
  "$D" --cache "$cache" --issuer "$base" --root "$tmp/root.pub.pem" --listen "127.0.0.1:$port" \
    --refresh 1h --max-age 1h "$@" 2>"$log" &
  started=$!
  for _ in $(seq 1 100); do
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q 200 && return 0
    sleep 0.1
  done
  bad "daemon did not come up: $(cat "$log")"
  exit 1
}

python3 "$src/verifier/testtools/static_server.py" "$tmp/www" "$tmp/port" "$tmp/srvlog" &
srv_pid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
base="http://127.0.0.1:$(cat "$tmp/port")"
uri="$base/status/1"
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
K="$bin/ecred-keys" S="$bin/verifier_slist_sign" P="$bin/ecred-present"
for k in root a; do "$K" gen --out "$tmp/$k.key" >/dev/null; "$K" pub "$tmp/$k.key" > "$tmp/$k.pub.pem"; done
cat > "$tmp/tl.json" <<JSON
{"iss": "$base", "seq": 1, "valid_days": 30, "keys": [{"public_key": "a.pub.pem",
 "sign_from": "$(rfc $((now - 86400)))", "sign_until": "$(rfc $((now + 86400 * 365)))",
 "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "$base/status/"}]}
JSON
"$K" trustlist sign --root "$tmp/root.key" --in "$tmp/tl.json" --out "$tmp/www/.well-known/ecred-trust" >/dev/null
printf '{"lists": ["%s"]}\n' "$uri" > "$tmp/www/.well-known/ecred-status-lists"
"$S" "$tmp/a.key" "$uri" "$tmp/www/status/1" --set 6=1
"$P" keygen --out "$tmp/phone.key" --pub "$tmp/phone.pub" >/dev/null
bound=$("$bin/ecred-issue" --iss "$base" --key "$tmp/a.key" --in "$src/spec/examples/permit-rental.json" --status-uri "$uri" \
  --status-idx 5 --holder-key "$tmp/phone.pub" --iat "$(rfc $((now - 3600)))")
revoked=$("$bin/ecred-issue" --iss "$base" --key "$tmp/a.key" --in "$src/spec/examples/permit-rental.json" --status-uri "$uri" \
  --status-idx 6 --holder-key "$tmp/phone.pub" --iat "$(rfc $((now - 3600)))")
printf '%s\n' "$bound" >"$tmp/bound.txt"
printf '%s\n' "$revoked" >"$tmp/revoked.txt"
live() { "$P" --key "$tmp/phone.key" --in "$tmp/${2:-bound}.txt" --iat-unix "$1"; }

D="$bin/ecred-verifierd"
cache="$tmp/cache"
mkdir -p "$cache"
k_police=$("$D" key add --cache "$cache" --role police 2>/dev/null)
k_landlord=$("$D" key add --cache "$cache" --role landlord 2>/dev/null)
k_agency=$("$D" key add --cache "$cache" --role agency --fields name,valid_until --holder required 2>/dev/null)
k_chal=$("$D" key add --cache "$cache" --role police --holder challenge 2>/dev/null)
expect 2 "$D" key add --cache "$cache" --role police --holder optional
expect 2 "$D" key add --cache "$cache" --role landlord --holder sometimes
expect 0 "$D" key list --cache "$cache"
# The holder setting follows the EXPIRES and LABEL columns, only when set.
grep -q "agency  *name,valid_until  .*  holder=required$" "$tmp/out" && ok || bad "key list holder column: $(cat "$tmp/out")"
grep "police  *(role default)  " "$tmp/out" | grep -qv "holder=" && ok || bad "key list without holder column"
# A key with a label and an expiry keeps its holder setting (v2 line).
expect 0 "$D" key add --cache "$cache" --role landlord --holder challenge --label "front desk" --expires-in 30
grep -q "^v2 .* holder=challenge front desk$" "$cache/api-keys" && ok || bad "v2 line with holder: $(cat "$cache/api-keys")"
expect 0 "$D" key list --cache "$cache"
grep -q "landlord  *(role default)  .*Z  *front desk  holder=challenge$" "$tmp/out" && ok || bad "key list v2 holder: $(cat "$tmp/out")"
grep -q "holder=required$" "$cache/api-keys" && ok || bad "api-keys holder token"

port=$(free_port)
api="http://127.0.0.1:$port"
start_vd "$port" "$tmp/vdlog" --verifier-id desk-7.example
vd_pid=$started

# ---- timed codes and the shared replay cache ----
t=$(date +%s)
p1=$(live "$t")
post 200 "$k_police" "$p1"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="proven" and d["holder"]["mode"]=="timed" and d["holder"]["policy"]=="required" and d["holder"]["replay_checked"] and d["holder"]["presented_at"] and d["holder"]["now"] and d["credential"]["id_number"]'
post 200 "$k_police" "$p1"
jcheck 'd["reason"]=="replayed" and d["detail"]=="seen_at" and d["holder"]["state"]=="not_proven" and d["holder"]["first_seen"]'
# Another scanner (another key) behind the same daemon sees it too.
post 200 "$k_landlord" "{\"qr\": \"$p1\"}"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="not_proven" and d["holder"]["reason"]=="seen_at"'
# Static codes: police and the raised agency key refuse, a landlord is told.
post 200 "$k_police" "$bound"
jcheck 'd["reason"]=="holder_proof_required" and d["detail"]=="static_presentation" and d["holder"]["mode"]=="static"'
post 200 "$k_agency" "$bound"
jcheck 'd["reason"]=="holder_proof_required" and d["holder"]["policy"]=="required" and sorted(d["credential"])==["name","valid_until"]'
post 200 "$k_landlord" "$bound"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="not_proven" and d["holder"]["reason"]=="static_presentation" and d["holder"]["policy"]=="optional"'
# A stale screenshot; a proven holder of a revoked credential is still revoked.
post 200 "$k_police" "$(live $((t - 600)))"
jcheck 'd["reason"]=="not_fresh" and d["holder"]["reason"]=="too_old"'
post 200 "$k_police" "$(live "$t" revoked)"
jcheck 'd["reason"]=="revoked" and d["holder"]["state"]=="proven"'
# A holder signature that does not verify: a hard failure for every role.
bad_sig=$("$P" --key "$tmp/phone.key" --in "$tmp/bound.txt" --iat-unix $((t - 1)) --compress none)
b45=${bad_sig#RP1:}
last=${b45: -1}; [ "$last" = 0 ] && repl=1 || repl=0
post 422 "$k_landlord" "RP1:${b45:0:${#b45}-1}$repl"
jcheck 'd["valid"]==False and d["holder"]["state"]=="failed"'

# ---- concurrent requests: one replay cache, exactly one acceptance ----
p2=$(live $((t - 2)))
for i in $(seq 1 12); do
  curl -s -o "$tmp/c.$i" --max-time 10 -H "Authorization: Bearer $k_police" --data-binary "$p2" "$api/v1/verify" &
done
wait_curl=0
for j in $(jobs -p); do [ "$j" = "$vd_pid" ] || [ "$j" = "$srv_pid" ] || wait "$j" || wait_curl=1; done
n_ok=$(grep -l '"state":"proven"' "$tmp"/c.* | wc -l)
n_rep=$(grep -l '"detail":"seen_at"' "$tmp"/c.* | wc -l)
[ "$n_ok" -eq 1 ] && [ "$n_rep" -eq 11 ] && ok || bad "concurrent: $n_ok proven, $n_rep replayed"
# Many distinct codes at once: all proven (no false replay under contention).
for i in $(seq 1 12); do live $((t - 10 - i)) >"$tmp/d.$i"; done
for i in $(seq 1 12); do
  curl -s -o "$tmp/e.$i" --max-time 10 -H "Authorization: Bearer $k_police" --data-binary "@$tmp/d.$i" "$api/v1/verify" &
done
for j in $(jobs -p); do [ "$j" = "$vd_pid" ] || [ "$j" = "$srv_pid" ] || wait "$j" || true; done
n_ok=$(grep -l '"state":"proven"' "$tmp"/e.* | wc -l)
[ "$n_ok" -eq 12 ] && ok || bad "distinct concurrent codes: $n_ok of 12 proven"

# ---- challenges ----
post 201 "$k_police" "" /v1/challenges
jcheck 'len(d["challenge"])==32 and d["qr"].startswith("RN1:") and len(d["code"])==6 and d["aud"]=="desk-7.example" and d["ttl_seconds"]==120'
cid=$(jget challenge); cqr=$(jget qr); ccode=$(jget code)
ans=$("$P" challenge --key "$tmp/phone.key" --in "$tmp/bound.txt" --challenge "$cqr")
# A timed code where a challenge was named; a challenge of another key.
post 200 "$k_police" "{\"qr\": \"$(live $((t - 3)))\", \"challenge\": \"$cid\"}"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_required" and d["holder"]["policy"]=="challenge"'
post 200 "$k_landlord" "{\"qr\": \"$ans\", \"challenge\": \"$cid\"}"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown"'
post 200 "$k_police" "{\"qr\": \"$ans\", \"challenge\": \"$cid\"}"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="proven" and d["holder"]["mode"]=="challenge" and d["holder"]["aud"]=="desk-7.example"'
post 200 "$k_police" "{\"qr\": \"$ans\", \"challenge\": \"$cid\"}"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown"'
# The typed code, without naming the challenge (any of the key's own).
post 201 "$k_landlord" "" /v1/challenges
ccode=$(jget code)
ans=$("$P" challenge --key "$tmp/phone.key" --in "$tmp/bound.txt" --aud desk-7.example --code "$ccode")
post 200 "$k_police" "$ans"
jcheck 'd["holder"]["reason"]=="challenge_unknown"'
post 200 "$k_landlord" "$ans"
jcheck 'd["holder"]["state"]=="proven" and d["holder"]["mode"]=="challenge"'
ans=$("$P" challenge --key "$tmp/phone.key" --in "$tmp/bound.txt" --aud other-desk --code 123456)
post 200 "$k_landlord" "$ans"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="not_proven" and d["holder"]["reason"] in ("challenge_unknown","challenge_audience")'
# Malformed challenge ids and bodies.
post 400 "$k_police" "{\"qr\": \"$p1\", \"challenge\": \"xyz\"}"
jcheck 'd["code"]=="bad_challenge"'
post 400 "$k_police" "{\"qr\": \"$p1\", \"challenge\": 5}"
jcheck 'd["code"]=="malformed_json"'
post 400 "$k_police" "{\"qr\": \"$p1\", \"nonce\": \"00\"}"
post 400 "$k_police" "x" /v1/challenges
code=$(curl -s -o "$tmp/out" -w '%{http_code}' --max-time 5 -X POST "$api/v1/challenges")
[ "$code" = 401 ] && ok || bad "challenges without a key: $code"

# ---- GET /v1/scanner: what a key's scanner learns before its first scan ----
id_of() { "$D" key list --cache "$cache" >"$tmp/keys" && python3 - "$1" "$tmp/keys" <<'PY'
import hashlib, sys
print(hashlib.sha256(sys.argv[1].encode()).hexdigest()[:8])
PY
}
get 200 "$k_chal" /v1/scanner
jcheck 'd=={"key_id": "'"$(id_of "$k_chal")"'", "role": "police", "holder_policy": "challenge", "aud": "desk-7.example", "challenge_ttl_seconds": 120}'
grep -q "$(id_of "$k_chal")" "$tmp/keys" && ok || bad "key_id is not the id key list shows"
get 200 "$k_police" /v1/scanner
jcheck 'd["role"]=="police" and d["holder_policy"]=="required"'
get 200 "$k_landlord" /v1/scanner
jcheck 'd["role"]=="landlord" and d["holder_policy"]=="optional"'
get 200 "$k_agency" /v1/scanner
jcheck 'd["role"]=="agency" and d["holder_policy"]=="required" and sorted(d)==["aud","challenge_ttl_seconds","holder_policy","key_id","role"]'
grep -q "${k_agency#ecv_}" "$tmp/out" && bad "/v1/scanner shows the key" || ok
get 200 "$k_agency" /v1/scanner -I   # HEAD, as every GET route
get 401 "" /v1/scanner
jcheck 'd["code"]=="missing_key"'
get 401 "ecv_$(printf '0%.0s' $(seq 1 64))" /v1/scanner
jcheck 'd["code"]=="invalid_key"'
get 405 "$k_police" /v1/scanner -X POST
jcheck 'd["code"]=="method_not_allowed"'
get 400 "$k_police" "/v1/scanner?x=1"
jcheck 'd["code"]=="bad_query" and "no query" in d["detail"]'
get 400 "$k_police" "/v1/scanner?"'&'
# Side-effect free: no challenge made (a full store would show it), none used.
curl -s "$api/metrics" | grep -q 'route="scanner"' && ok || bad "/v1/scanner not counted in /metrics"

# ---- POST /v1/scan-image?challenge=ID: a photographed answer ----
png "$bound" "$tmp/static.png"
png "$(live $((t - 40)))" "$tmp/timed.png"
post 201 "$k_police" "" /v1/challenges
cid=$(jget challenge); cqr=$(jget qr)
png "$("$P" challenge --key "$tmp/phone.key" --in "$tmp/bound.txt" --challenge "$cqr")" "$tmp/answer.png"
# Refusals of the query, before the photo is read.
scan 400 "$k_police" "$tmp/answer.png" "?challenge=xyz"
jcheck 'd["code"]=="bad_challenge"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge="
jcheck 'd["code"]=="bad_challenge"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge=${cid}00"
jcheck 'd["code"]=="bad_challenge"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge=${cid:0:30}%00${cid:30}"
jcheck 'd["code"]=="bad_challenge"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge=${cid}%00"
jcheck 'd["code"]=="bad_challenge"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge=$cid&challenge=$cid"
jcheck 'd["code"]=="bad_query"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge=$cid&x=1"
jcheck 'd["code"]=="bad_query"'
scan 400 "$k_police" "$tmp/answer.png" "?chalenge=$cid"
jcheck 'd["code"]=="bad_query"'
scan 400 "$k_police" "$tmp/answer.png" "?challenge"
jcheck 'd["code"]=="bad_query"'
scan 401 "" "$tmp/answer.png" "?challenge=$cid"
get 405 "$k_police" "/v1/scan-image?challenge=$cid"
jcheck 'd["code"]=="method_not_allowed"'
# An id nobody was given; another key's challenge (which stays answerable).
scan 200 "$k_police" "$tmp/answer.png" "?challenge=$(printf '%032x' 7)"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown" and d["holder"]["policy"]=="challenge"'
scan 200 "$k_chal" "$tmp/answer.png" "?challenge=$cid"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown"'
scan 200 "$k_landlord" "$tmp/answer.png" "?challenge=$cid"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown" and d["holder"]["policy"]=="challenge"'
# The id with a plain (static) QR, and with a timed code: judged as challenge, not used up.
scan 200 "$k_landlord" "$tmp/static.png" "?challenge=$cid"
jcheck 'd["valid"]==False and d["holder"]["policy"]=="challenge" and d["holder"]["mode"]=="static" and d["holder"]["state"]!="proven"'
cp "$tmp/out" "$tmp/static_photo.json"
post 200 "$k_landlord" "{\"qr\": \"$bound\", \"challenge\": \"$cid\"}"
python3 - "$tmp/static_photo.json" "$tmp/out" <<'PY' && ok || bad "a static code with a challenge: photo and text answers differ"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
keep = lambda d: (d["outcome"], d["reason"], d["detail"], d["holder"]["state"], d["holder"]["reason"], d["holder"]["policy"])
assert keep(a) == keep(b), (keep(a), keep(b))
PY
scan 200 "$k_police" "$tmp/static.png" "?challenge=$cid"
jcheck 'd["valid"]==False and d["holder"]["policy"]=="challenge" and d["holder"]["mode"]=="static"'
scan 200 "$k_police" "$tmp/timed.png" "?challenge=$cid"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_required"'
# The rightful key: proven, by exactly that challenge; then it is used up.
scan 200 "$k_police" "$tmp/answer.png" "?challenge=$cid"
jcheck 'd["outcome"]=="valid" and d["holder"]["state"]=="proven" and d["holder"]["mode"]=="challenge" and d["holder"]["aud"]=="desk-7.example"'
scan 200 "$k_police" "$tmp/answer.png" "?challenge=$cid"
jcheck 'd["reason"]=="challenge_failed" and d["holder"]["reason"]=="challenge_unknown"'
# Without the id, a police key judges the same kind of photo by its own policy.
post 201 "$k_police" "" /v1/challenges
cqr=$(jget qr)
png "$("$P" challenge --key "$tmp/phone.key" --in "$tmp/bound.txt" --challenge "$cqr")" "$tmp/answer2.png"
scan 200 "$k_police" "$tmp/answer2.png"
jcheck 'd["outcome"]=="valid" and d["holder"]["policy"]=="required" and d["holder"]["mode"]=="challenge"'

# ---- --challenge-ttl: whole seconds, 10..600 ----
for v in 9 601 0 -5 +30 30s 1e2 " 30" "" 99999999999999999999; do
  expect 2 "$D" --cache "$cache" --issuer "$base" --listen 127.0.0.1:1 --challenge-ttl "$v"
  grep -q -- "--challenge-ttl takes whole seconds, 10..600" "$tmp/err" || grep -q "needs a value" "$tmp/err" && ok ||
    bad "--challenge-ttl '$v': $(cat "$tmp/err")"
done
expect 2 "$D" --cache "$cache" --issuer "$base" --listen 127.0.0.1:1 --challenge-ttl 30 --challenge-ttl 40
expect 0 "$D" --help
grep -q -- "--challenge-ttl SECONDS" "$tmp/out" && ok || bad "--help does not name --challenge-ttl"

# ---- a full replay cache: 503 for police, not proven for a landlord ----
port2=$(free_port)
api_main=$api
api="http://127.0.0.1:$port2"
start_vd "$port2" "$tmp/vdlog2" --replay-cap 2 --challenge-ttl 10
vd2_pid=$started
post 201 "$k_police" "" /v1/challenges
jcheck 'd["ttl_seconds"]==10'
get 200 "$k_chal" /v1/scanner
jcheck 'd["challenge_ttl_seconds"]==10 and d["aud"]=="ecred-verifierd"'
grep '"msg":"listening"' "$tmp/vdlog2" | grep -q '"challenge_ttl_seconds":"10"' && ok || bad "listening line lacks the ttl"
post 200 "$k_police" "$(live $((t - 30)))"
post 200 "$k_police" "$(live $((t - 31)))"
post 503 "$k_police" "$(live $((t - 32)))"
jcheck 'd["detail"]=="cache_full" and d["holder"]["reason"]=="cache_full"'
post 200 "$k_landlord" "$(live $((t - 33)))"
jcheck 'd["outcome"]=="valid" and d["holder"]["reason"]=="cache_full"'
api=$api_main

# ---- logs never carry a code or a personal field ----
for f in "$tmp/vdlog" "$tmp/vdlog2"; do
  grep -q "王建国\|340102199003072518\|RP1:\|RN1:" "$f" && bad "personal data or a code in $f" || ok
done

echo "verifierd_holder: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
