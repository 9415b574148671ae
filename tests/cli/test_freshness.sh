#!/usr/bin/env bash
# The freshness bound (spec/verifier.md section 4.1, issue 10) against a real
# ecred-issuerd on loopback: a suspension reaches an ecred-verifierd with a
# short --refresh within publish delay + sync interval + one sync (no HTTP
# cache in between here), and it never answers VALID for that credential
# afterwards; `ecred-verify --online` answers from a cache younger than the
# list's ttl, but with --max-age N fetches once the held list is older than
# N even though the ttl would still allow the cache. Args: BIN_DIR
# SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/freshness.$$
mkdir -p "$tmp/data"
pid= vd_pid=
cleanup() {
  for p in $vd_pid $pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
# shellcheck source=tests/cli/lib_issuerd.sh
. "$src/tests/cli/lib_issuerd.sh"
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
now_ms() { date +%s%3N; }

# The default ttl (300 s): far longer than this test, so every fetch below
# that happens is due to a changed list or to --max-age, never to the ttl.
start_issuerd "$tmp/data" "$tmp/isslog" --list-size 16
base="http://127.0.0.1:$port"
admin=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role admin)
A=(-H "Authorization: Bearer $admin" -H "Content-Type: application/json")
# issue EXAMPLE: prints "ID QR_TEXT" of a newly approved credential.
issue() {
  local app
  app=$(curl -s -m 20 -X POST "${A[@]}" --data-binary "@$src/spec/examples/api/$1.json" "$base/v1/applications" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -m 20 -X POST "${A[@]}" "$base/v1/applications/$app/approve" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["credential"]; print(c["id"], c["qr_text"])'
}
suspend() {
  local code
  code=$(curl -s -m 20 -o "$tmp/susp.out" -w '%{http_code}' -X POST "${A[@]}" --data '{"reason": "test"}' \
    "$base/v1/credentials/$1/suspend")
  [ "$code" = 200 ] && ok || bad "suspend $1: HTTP $code $(cat "$tmp/susp.out")"
}
read -r id_a qr_a <<<"$(issue permit_new)"
read -r id_b qr_b <<<"$(issue residence_registration)"
[ -n "$qr_a" ] && [ -n "$qr_b" ] && ok || { bad "could not issue the two credentials"; exit 1; }

# ---- ecred-verifierd: --refresh 1s ----
REFRESH=1
# One sync of one list on loopback takes milliseconds; the allowance covers
# a loaded test machine (ctest -j2 beside other builds), not the protocol,
# and a sanitizer build, 3-5x slower in every step of the path (the issuer
# signing the list, the daemon fetching, verifying and reloading it).
SYNC_ALLOWANCE=4
if is_asan "$bin/ecred-verifierd"; then SYNC_ALLOWANCE=15; fi
BOUND=$((REFRESH + SYNC_ALLOWANCE))
D="$bin/ecred-verifierd"
vkey=$("$D" key add --cache "$tmp/vcache" --role landlord 2>/dev/null)
vport=$(free_port)
api="http://127.0.0.1:$vport"
"$D" --cache "$tmp/vcache" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$vport" \
  --refresh "${REFRESH}s" --max-age 1h 2>"$tmp/vdlog" &
vd_pid=$!
# verdict QR: the reason the verify API gives for QR ("" when it cannot answer).
verdict() {
  curl -s -m 5 -H "Authorization: Bearer $vkey" -H "Content-Type: text/plain" --data-binary "$1" \
    "$api/v1/verify" 2>/dev/null | python3 -c 'import json,sys
try: print(json.load(sys.stdin).get("reason", ""))
except Exception: print("")' || true
}
seen=
wait_for 60 "ecred-verifierd to answer VALID" '[ "$(verdict "$qr_a")" = ok ]' && seen=1
[ -n "$seen" ] && ok || { bad "ecred-verifierd never answered VALID: $(tail -5 "$tmp/vdlog")"; exit 1; }

t0=$(now_ms)
suspend "$id_a"
seen= last=
while [ $(($(now_ms) - t0)) -le $((BOUND * 1000)) ]; do
  last=$(verdict "$qr_a")
  [ "$last" = suspended ] && { seen=$(($(now_ms) - t0)); break; }
  sleep 0.1
done
if [ -n "$seen" ]; then
  ok
  echo "suspension seen by ecred-verifierd after ${seen} ms (bound ${BOUND} s: --refresh ${REFRESH}s + ${SYNC_ALLOWANCE} s for one sync)"
else
  bad "ecred-verifierd still says '$last' ${BOUND} s after the suspension: $(tail -5 "$tmp/vdlog")"
fi
# After the bound, never VALID again (every refresh re-syncs the same news).
for _ in $(seq 1 12); do
  r=$(verdict "$qr_a")
  [ "$r" = suspended ] && ok || bad "after the bound ecred-verifierd says '$r', not suspended"
  sleep 0.25
done
grep -q '"msg":"sync"' "$tmp/vdlog" && ok || bad "no sync lines in the daemon's log"

# ---- ecred-verify --online: ttl allows the cache, --max-age does not ----
V="$bin/ecred-verify"
C=(--cache "$tmp/cache")
expect 0 "$V" sync --issuer "$base" --root "$tmp/data/root.pub.pem" "${C[@]}"
expect 0 "$V" "${C[@]}" --online --json "$qr_b"
jcheck 'd["reason"]=="ok" and d["status"]["source"]=="cache"'
sleep 4.2   # the held list is now > 2 s old (the issuer's iat may run a second ahead), ttl 300 s
suspend "$id_b"
# Within the ttl and the default --max-age (24h): the cache answers, and it
# does not know yet. This is the ttl term of the bound.
expect 0 "$V" "${C[@]}" --online --json "$qr_b"
jcheck 'd["reason"]=="ok" and d["status"]["source"]=="cache"'
# --max-age 2s: the held list is older than that, so it fetches although
# the ttl would allow the cache, and sees the suspension.
expect 10 "$V" "${C[@]}" --online --max-age 2s --json "$qr_b"
jcheck 'd["reason"]=="suspended" and d["status"]["value"]=="SUSPENDED" and d["status"]["source"]=="online"'
# The fetched list was stored: offline now knows too.
expect 10 "$V" "${C[@]}" --json "$qr_b"
jcheck 'd["reason"]=="suspended"'

echo "freshness: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
