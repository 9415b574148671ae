#!/usr/bin/env bash
# The resident's side end to end on loopback (issue 14): a real OpenID
# provider (npm oidc-provider, tests/oidc/) through the real code flow with
# PKCE driven by curl; applying with the identity from the sign-in; the
# kinship commitment signed in the session; an officer's approval; the QR
# verified; loss report and unlock from the phone seen by the verifier after
# sync; every rejection path (no session, no CSRF token, typed identity,
# another resident's records, replayed or forged login state, bad input);
# reminders pushed through the outbox to a receiver that fails deliveries
# (exactly one effect per reminder); then headless Chromium through the
# pages (tests/oidc/browser.mjs), screenshots under TMP/resident-shots.
# Args: BIN_DIR SOURCE_DIR TMP_DIR. Needs node + tests/oidc/node_modules
# (scripts/setup-test-tools) and chromium; exits 77 (skip) without them.
set -euo pipefail
bin=$1 src=$2 tmp=$3/resident.$$
shots=$3/resident-shots
oidc=$src/tests/oidc
if ! command -v node >/dev/null || [ ! -d "$oidc/node_modules/oidc-provider" ]; then
  echo "SKIP: node or tests/oidc/node_modules missing (run scripts/setup-test-tools)"; exit 77
fi
mkdir -p "$tmp/data"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# wait_url URL: bounded (60 s: node and an ASan issuer start slowly on a
# loaded machine) wait until URL answers 2xx.
wait_url() {
  local end=$(($(date +%s) + 60))
  until curl -sf -m 2 -o /dev/null "$1"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.1; done
}

iport=$(free_port) pport=$(free_port) rport=$(free_port)
base=http://127.0.0.1:$pport idp=http://127.0.0.1:$iport
node "$oidc/idp.mjs" "$iport" "$base/v1/resident/callback" >"$tmp/idp.log" 2>&1 & pids+=($!)
node "$oidc/receiver.mjs" "$rport" "$tmp/receiver.json" >"$tmp/receiver.log" 2>&1 & pids+=($!)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role officer)
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$pport" --list-size 16 \
  --oidc-issuer "$idp" --oidc-client-id ecred-resident \
  --notify-webhook "http://127.0.0.1:$rport/hook" --notify-interval 1 2>"$tmp/issuer.log" & ipid=$!
pids+=($ipid)
wait_url "$idp/.well-known/openid-configuration" || { echo "FAIL: IdP did not start"; cat "$tmp/idp.log"; exit 1; }
wait_url "$base/healthz" || { echo "FAIL: issuer did not start"; cat "$tmp/issuer.log"; exit 1; }
# The webhook receiver too: the outbox counts its attempts, and one made
# before it listens is not the scripted first attempt the check expects.
for _ in $(seq 1 600); do grep -q "receiver ready" "$tmp/receiver.log" && break; sleep 0.1; done
grep -q "receiver ready" "$tmp/receiver.log" || { echo "FAIL: receiver did not start"; cat "$tmp/receiver.log"; exit 1; }

# login USER JAR: the code flow as a browser would run it; prints the callback URL used.
login() {
  local user=$1 jar=$2 c=(curl -s -m 10 -b "$2" -c "$2" -o /dev/null -w '%{redirect_url}')
  local u
  u=$("${c[@]}" "$base/v1/resident/login")
  case $u in "$idp/auth?"*code_challenge_method=S256*) ;; *) bad "login redirect: $u"; return 1 ;; esac
  u=$("${c[@]}" "$u")                                                       # -> interaction (login)
  u=$("${c[@]}" -d prompt=login -d "login=$user" -d password=x "$u")        # -> /auth/UID
  u=$("${c[@]}" "$u")                                                       # -> interaction (consent)
  u=$("${c[@]}" -d prompt=consent "$u")                                     # -> /auth/UID
  u=$("${c[@]}" "$u")                                                       # -> our callback with code
  case $u in "$base/v1/resident/callback?"*) ;; *) bad "no callback: $u"; return 1 ;; esac
  local st
  st=$(curl -s -m 10 -b "$jar" -c "$jar" -o "$tmp/cb" -D "$tmp/cbh" -w '%{http_code}' "$u")
  [ "$st" = 200 ] || { bad "callback HTTP $st: $(cat "$tmp/cb")"; return 1; }
  grep -qi '^set-cookie: ecred_resident=.*HttpOnly; SameSite=Strict' "$tmp/cbh" || { bad "cookie flags"; return 1; }
  echo "$u"
}
# req JAR METHOD PATH [curl args]: body to $tmp/body, prints the status.
req() {
  local jar=$1 m=$2 p=$3; shift 3
  curl -s -m 20 -b "$jar" -c "$jar" -o "$tmp/body" -w '%{http_code}' -X "$m" "$@" "$base$p"
}
expect() {
  local want=$1 code=$2; shift 2
  local got; got=$(req "$@")
  local gotcode; gotcode=$(python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get("code",""))
except Exception: print("")' "$tmp/body")
  if [ "$got" = "$want" ] && { [ -z "$code" ] || [ "$gotcode" = "$code" ]; }; then ok
  else bad "$2 $3: HTTP $got $gotcode, want $want $code: $(head -c 300 "$tmp/body")"; fi
}
jget() { python3 -c "import json,sys; j=json.load(open('$tmp/body')); print($1)"; }

A=$tmp/alice.jar B=$tmp/bob.jar N=$tmp/none.jar
: >"$N"
# ---- before sign-in ----
expect 401 not_signed_in "$N" GET /v1/resident/me
expect 401 not_signed_in "$N" POST /v1/resident/applications -H 'Content-Type: application/json' -d '{}'
# A login state that was never issued, and none at all.
expect 400 login_expired "$N" GET "/v1/resident/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect 400 login_expired "$N" GET "/v1/resident/callback?code=abc"
# A person's browser is sent back to the sign-in page with the reason.
st=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H 'Accept: text/html' "$base/v1/resident/callback?code=x&state=y")
[ "$st" = "303 $base/app/signin.html?error=login_expired" ] && ok || bad "html login failure: $st"

# ---- sign in through the provider ----
t0=$(date +%s.%N)
cb=$(login alice "$A")
t1=$(date +%s.%N)
echo "code flow: $(python3 -c "print(round($t1-$t0,2))") s"
expect 200 "" "$A" GET /v1/resident/me
[ "$(jget "j['name'], j['id_number']")" = "王建国 340102199003072518" ] && ok || bad "identity: $(cat "$tmp/body")"
csrfA=$(jget "j['csrf_token']")
# The same callback again: the state was used once.
expect 400 login_expired "$N" GET "${cb#"$base"}"
login bob "$B" >/dev/null
expect 200 "" "$B" GET /v1/resident/me
csrfB=$(jget "j['csrf_token']")

# ---- apply ----
today=$(python3 -c 'import datetime as d; print((d.datetime.utcnow()+d.timedelta(hours=8)).date())')
day() { python3 -c "import datetime as d; print((d.datetime.utcnow()+d.timedelta(hours=8)).date()+d.timedelta(days=$1))"; }
cred='{"kind":"permit_new","credential":{"sex":"male","birth_date":"1990-03-07","address_division":"310104",
 "address":"漕溪北路88弄3号1201室","housing":{"basis":"relative"},"hukou_division":"340102",
 "registration_date":"'$today'","authority":"上海市公安局徐汇分局","valid_from":"'$today'",
 "valid_until":"'$(day 1095)'","endorsement_date":"'$(day 20)'"},
 "kinship":{"relative_name":"王芳","relationship":"姐姐"}}'
J=(-H 'Content-Type: application/json')
expect 403 csrf_token_invalid "$A" POST /v1/resident/applications "${J[@]}" -d "$cred"
expect 403 csrf_token_invalid "$A" POST /v1/resident/applications "${J[@]}" -H "X-CSRF-Token: $csrfB" -d "$cred"
HA=(-H "X-CSRF-Token: $csrfA" "${J[@]}")
HB=(-H "X-CSRF-Token: $csrfB" "${J[@]}")
typed=$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); b["credential"]["name"]="张三"; print(json.dumps(b))' "$cred")
expect 422 identity_from_signin "$A" POST /v1/resident/applications "${HA[@]}" -d "$typed"
typed=$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); b["credential"]["id_number"]="110101199003074477"; print(json.dumps(b))' "$cred")
expect 422 identity_from_signin "$A" POST /v1/resident/applications "${HA[@]}" -d "$typed"
expect 400 malformed_json "$A" POST /v1/resident/applications "${HA[@]}" -d '{"kind":'
expect 422 unknown_field "$A" POST /v1/resident/applications "${HA[@]}" -d '{"kind":"permit_new","owner":"x"}'
expect 422 invalid_field "$A" POST /v1/resident/applications "${HA[@]}" -d "${cred/1990-03-07/1990-02-30}"
expect 201 "" "$A" POST /v1/resident/applications "${HA[@]}" -H 'Idempotency-Key: phone-1' -d "$cred"
app=$(jget "j['id']")
[ "$(jget "j['credential']['name']")" = "王建国" ] && ok || bad "name not from the sign-in"
sha=$(jget "j['commitment']['sha256']")
expect 200 "" "$A" POST /v1/resident/applications "${HA[@]}" -H 'Idempotency-Key: phone-1' -d "$cred"
[ "$(jget "j['id'], j['replayed']")" = "$app True" ] && ok || bad "idempotent replay"
# Bob's same key is his own: it does not replay Alice's application.
expect 422 "" "$B" POST /v1/resident/applications "${HB[@]}" -H 'Idempotency-Key: phone-1' -d "$cred"

# ---- another resident's application ----
expect 404 not_found "$B" GET "/v1/resident/applications/$app"
expect 404 not_found "$B" POST "/v1/resident/applications/$app/commitment/sign" "${HB[@]}" -d "{\"sha256\":\"$sha\"}"
expect 404 not_found "$A" GET /v1/resident/applications/0000000000000000
expect 404 not_found "$A" GET /v1/resident/applications/nothex

# ---- the commitment, approval ----
expect 409 commitment_unconfirmed "$N" POST "/v1/applications/$app/approve" -H "Authorization: Bearer $officer"
expect 422 "" "$A" POST "/v1/resident/applications/$app/commitment/sign" "${HA[@]}" -d '{"sha256":"00"}'
expect 200 "" "$A" POST "/v1/resident/applications/$app/commitment/sign" "${HA[@]}" -d "{\"sha256\":\"$sha\"}"
[ "$(jget "j['commitment']['confirmed']")" = True ] && ok || bad "commitment not confirmed"
expect 201 "" "$N" POST "/v1/applications/$app/approve" -H "Authorization: Bearer $officer"
cid=$(jget "j['credential_id'] if 'credential_id' in j else j['credential']['id']")
expect 200 "" "$A" GET "/v1/resident/applications/$app"
[ "$(jget "[s['state'] for s in j['progress']]")" = "['submitted', 'approved', 'issued']" ] && ok || bad "progress: $(cat "$tmp/body")"
[ "$(jget "all(s['at'] for s in j['progress'])")" = True ] && ok || bad "progress times"
expect 200 "" "$A" GET /v1/resident/credential
[ "$(jget "j['id']")" = "$cid" ] && ok || bad "current credential $(jget "j['id']") != $cid"
qr=$(jget "j['qr_text']")
expect 200 "" "$A" GET "/v1/resident/credentials/$cid/qr.svg"
head -c 5 "$tmp/body" | grep -q '<' && ok || bad "qr.svg"
expect 404 not_found "$B" GET "/v1/resident/credentials/$cid"
expect 404 not_found "$B" GET "/v1/resident/credentials/$cid/qr.svg"
expect 404 not_found "$B" POST "/v1/resident/credentials/$cid/report-lost" "${HB[@]}"
expect 404 not_found "$B" GET /v1/resident/credential

# ---- verify; loss report and unlock from the phone ----
V="$bin/ecred-verify"
"$V" sync --issuer "$base" --root "$tmp/data/root.pub.pem" --cache "$tmp/cache" >/dev/null && ok || bad "sync"
"$V" --cache "$tmp/cache" "$qr" >"$tmp/v" && ok || bad "verify: $(cat "$tmp/v")"
expect 200 "" "$A" POST "/v1/resident/credentials/$cid/report-lost" "${HA[@]}"
[ "$(jget "j['status']")" = suspended ] && ok || bad "not suspended"
expect 409 invalid_transition "$A" POST "/v1/resident/credentials/$cid/report-lost" "${HA[@]}"
"$V" sync --issuer "$base" --cache "$tmp/cache" >/dev/null && ok || bad "sync 2"
"$V" --cache "$tmp/cache" "$qr" >"$tmp/v" && bad "valid after loss report" || true
grep -q SUSPENDED "$tmp/v" && ok || bad "verifier does not say suspended: $(cat "$tmp/v")"
expect 200 "" "$A" POST "/v1/resident/credentials/$cid/unlock" "${HA[@]}"
"$V" sync --issuer "$base" --cache "$tmp/cache" >/dev/null && ok || bad "sync 3"
"$V" --cache "$tmp/cache" "$qr" >"$tmp/v" && ok || bad "not valid after unlock: $(cat "$tmp/v")"
# An officer's suspension is the office's to lift.
expect 200 "" "$N" POST "/v1/credentials/$cid/suspend" -H "Authorization: Bearer $officer"
expect 409 invalid_transition "$A" POST "/v1/resident/credentials/$cid/unlock" "${HA[@]}"
expect 200 "" "$N" POST "/v1/credentials/$cid/resume" -H "Authorization: Bearer $officer"
expect 422 unexpected_body "$A" POST "/v1/resident/credentials/$cid/report-lost" "${HA[@]}" -d '{"x":1}'

# ---- reminders: listed, and pushed through the outbox exactly once ----
expect 200 "" "$A" GET /v1/resident/reminders
[ "$(jget "[(r['credential_id'], r['due']) for r in j['reminders']]")" = "[('$cid', 'endorsement')]" ] && ok || bad "reminders: $(cat "$tmp/body")"
expect 200 "" "$B" GET /v1/resident/reminders
[ "$(jget "len(j['reminders'])")" = 0 ] && ok || bad "bob sees alice's reminders"
# attempt 1: 500; attempt 2: done but the answer lost; attempt 3: 200. Backoff 1 s, 2 s.
end=$(($(date +%s) + 60))   # three attempts 1 s and 2 s apart; the rest is for a loaded machine
while [ "$(date +%s)" -lt "$end" ]; do
  python3 -c "import json,sys; s=json.load(open('$tmp/receiver.json')); sys.exit(0 if s['attempts'] and min(s['attempts'].values())>=3 else 1)" 2>/dev/null && break
  sleep 0.1
done
sleep 1.2
python3 - "$tmp/receiver.json" "$cid" <<'PY' && ok || bad "outbox: $(cat "$tmp/receiver.json")"
import json, sys
s = json.load(open(sys.argv[1]))
keys = list(s["attempts"])
assert len(keys) == 1, keys                     # one reminder, one key
assert s["attempts"][keys[0]] == 3, s           # retried until acknowledged, then never again
assert len(s["effects"]) == 1 and s["effects"][0]["credential_id"] == sys.argv[2], s
PY
# The outbox is a table of the registry now (shared resident sessions), its lease released.
python3 -c "import sqlite3; print('\n'.join('%d|%d|%s'%r for r in sqlite3.connect('$tmp/data/registry.sqlite').execute('select attempts, delivered_at is not null, lease_owner is null from outbox')))" >"$tmp/ob"
[ "$(cat "$tmp/ob")" = "3|1|1" ] && ok || bad "outbox row: $(cat "$tmp/ob")"
[ ! -e "$tmp/data/outbox.sqlite" ] && ok || bad "an outbox file of its own was made"
# Sessions are registry rows keyed by the cookie's hash: the cookie value
# itself is nowhere in the file.
cookieA=$(awk '$6 == "ecred_resident" {print $7}' "$A" | tail -n 1)
[ -n "$cookieA" ] && ! grep -qa "$cookieA" "$tmp/data/registry.sqlite" "$tmp/data/registry.sqlite-wal" 2>/dev/null && ok || bad "cookie value stored in the registry"
n=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/data/registry.sqlite').execute('select count(*) from resident_sessions').fetchone()[0])")
[ "$n" = 2 ] && ok || bad "resident_sessions rows: $n"

# ---- sign out ----
expect 403 csrf_token_invalid "$A" POST /v1/resident/logout
expect 200 "" "$A" POST /v1/resident/logout -H "X-CSRF-Token: $csrfA"
expect 401 not_signed_in "$A" GET /v1/resident/me

# ---- the pages in a real browser ----
if [ -x /usr/bin/chromium ] && [ -d "$oidc/node_modules/puppeteer-core" ]; then
  rm -rf "$shots"
  t0=$(date +%s.%N)
  if node "$oidc/browser.mjs" "$base" "$officer" "$bin" "$shots" "$tmp/data/root.pub.pem" >"$tmp/browser.log" 2>&1; then ok
  else bad "browser path: $(cat "$tmp/browser.log")"; fi
  t1=$(date +%s.%N)
  grep -E "^verify|browser path" "$tmp/browser.log" || true
  echo "browser path: $(python3 -c "print(round($t1-$t0,2))") s; screenshots in $shots"
else
  bad "chromium or puppeteer-core missing (scripts/setup-test-tools)"
fi

# A graceful stop (outbox thread joined, sessions wiped); under ASan a leak
# or error report would make this fail.
kill -TERM "$ipid"
if wait "$ipid"; then ok; else bad "issuer exit status $?: $(grep -A5 Sanitizer "$tmp/issuer.log" | head -20)"; fi
grep -q '"level":"error"' "$tmp/issuer.log" && bad "errors in the issuer log: $(grep '"level":"error"' "$tmp/issuer.log" | head -3)"
if grep -E 'ecred_resident=|340102199003072518|王建国|code=' "$tmp/issuer.log" >/dev/null; then bad "personal data or secrets in the issuer log"; else ok; fi
echo "resident: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
