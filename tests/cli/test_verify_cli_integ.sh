#!/usr/bin/env bash
# ecred-verify for integrators and people (issue 17): --json always prints one
# JSON object, errors included; --role filters fields like the verify API;
# --trust-key alone reads "signature valid, status not checked", never a
# plain VALID; --online honours --max-age by fetching (against a real
# ecred-issuerd); times for people in China Standard Time (+08:00) while JSON
# stays UTC; colour only on a terminal and never with NO_COLOR.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verify_cli_integ.$$
mkdir -p "$tmp/data"
iss_pid=
cleanup() {
  if [ -n "$iss_pid" ]; then kill "$iss_pid" 2>/dev/null || true; wait "$iss_pid" 2>/dev/null || true; fi
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
has() { grep -q -- "$1" "$tmp/out" && ok || { bad "output lacks '$1'"; cat "$tmp/out" >&2; }; }
hasnt() { ! grep -q -- "$1" "$tmp/out" && ok || { bad "output has '$1'"; cat "$tmp/out" >&2; }; }
V="$bin/ecred-verify"

"$bin/ecred-keys" gen --out "$tmp/k.pem" >/dev/null
"$bin/ecred-keys" pub "$tmp/k.pem" >"$tmp/k.pub"
qr=$("$bin/ecred-issue" --key "$tmp/k.pem" --in "$src/spec/examples/permit-rental.json")
T=(--trust-key "$tmp/k.pub")

# ---- --trust-key alone: never a plain VALID ----
expect 0 "$V" "${T[@]}" "$qr"
has "SIGNATURE VALID, STATUS NOT CHECKED"; hasnt "有效 VALID"
expect 0 "$V" "${T[@]}" --json "$qr"
jcheck 'd["verdict"]=="signature valid, status not checked" and d["status"]["value"]=="not_checked"'

# ---- --json: always one object, errors included ----
for args in "--bogus" "--trust-key" "--role mayor ${T[*]} $qr" "--role agency ${T[*]} $qr" \
            "--cache $tmp/nonexistent $qr" "${T[*]}" "${T[*]} --image $tmp/missing.png"; do
  got=0
  # shellcheck disable=SC2086 # word splitting wanted
  "$V" --json $args >"$tmp/out" 2>"$tmp/err" || got=$?
  [ "$got" -ne 0 ] && ok || bad "exit 0 for --json $args"
  jcheck "d['outcome']=='error' and d['valid'] is False and d['exit_code']==$got and d['message']"
done
expect 2 "$V" --json --bogus
jcheck 'd["reason"]=="usage" and "unknown option" in d["message"]'
grep -q "unknown option --bogus" "$tmp/err" && ok || bad "no 'unknown option' on stderr"
expect 2 "$V" --json --trust-key
jcheck '"needs a value" in d["message"]'
expect 3 "$V" "${T[@]}" --json "HC1:NOTOURS"
jcheck 'd["outcome"]=="invalid" and d["reason"]=="not_our_format"'

# ---- --role: the API's views ----
# Police need a holder proof (spec/presentation.md 5): a static code exits 13, fields still shown.
expect 13 "$V" "${T[@]}" --json --role police "$qr"
jcheck 'd["role"]=="police" and d["reason"]=="holder_proof_required" and d["holder"]["policy"]=="required" and d["credential"]["id_number"]=="340102199003072518" and "claims" not in d'
expect 0 "$V" "${T[@]}" --json --role landlord "$qr"
jcheck 'd["credential"]["id_number_masked"]=="340102********2518" and "id_number" not in d["credential"] and not set(d["credential"]) & {"sex","birth_date","housing","hukou_division","authority","cti","iss"} and "claims" not in d'
expect 0 "$V" "${T[@]}" --json --role agency --fields name,valid_until "$qr"
jcheck 'list(d["credential"])==["name","valid_until"]'
expect 0 "$V" "${T[@]}" --role landlord "$qr"
has "340102\*\*\*\*\*\*\*\*2518"; hasnt "340102199003072518"; hasnt "1990-03-07"
expect 2 "$V" "${T[@]}" --role agency --fields name,shoe_size "$qr"

# ---- times: CST for people, UTC for machines ----
expect 0 "$V" "${T[@]}" "$qr"
grep -q "签发 Issued: .*+08:00" "$tmp/out" && ok || bad "issued time not in CST"
expect 0 "$V" "${T[@]}" --json "$qr"
jcheck 'd["claims"]["iat"].endswith("Z")'

# ---- colour: a terminal gets it, NO_COLOR and pipes do not ----
expect 0 "$V" "${T[@]}" "$qr"
hasnt $'\033'
if command -v script >/dev/null; then
  cmd=$(printf '%q ' "$V" "${T[@]}" "$qr")
  env -u NO_COLOR TERM=xterm script -qec "$cmd" /dev/null >"$tmp/out" 2>&1 || true
  has $'\033\[1;33m'
  NO_COLOR=1 TERM=xterm script -qec "$cmd" /dev/null >"$tmp/out" 2>&1 || true
  hasnt $'\033\['
else
  echo "note: script(1) missing; terminal colour not checked"
fi

# ---- --online honours --max-age by fetching (real issuer, ttl 300 s) ----
. "$src/tests/cli/lib_issuerd.sh"   # free_port (below the ephemeral range), wait_for
port=$(free_port)
base="http://127.0.0.1:$port"
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" --list-size 16 2>>"$tmp/isslog" &
iss_pid=$!
wait_for 60 "ecred-issuerd's /healthz" 'curl -s -m 2 -o /dev/null "$base/healthz"' ||
  { bad "ecred-issuerd did not start: $(tail -5 "$tmp/isslog")"; exit 1; }
admin=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role admin)
A=(-H "Authorization: Bearer $admin" -H "Content-Type: application/json")
issue() {
  local app
  app=$(curl -s -m 20 -X POST "${A[@]}" --data-binary "@$src/spec/examples/api/$1.json" "$base/v1/applications" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -m 20 -X POST "${A[@]}" "$base/v1/applications/$app/approve" |
    python3 -c 'import json,sys; c=json.load(sys.stdin)["credential"]; print(c["id"], c["qr_text"])'
}
read -r _ qr2 <<<"$(issue permit_new)"
read -r id3 _ <<<"$(issue residence_registration)"
expect 0 "$V" sync --issuer "$base" --root "$tmp/data/root.pub.pem" --cache "$tmp/cache"
C=(--cache "$tmp/cache")
expect 0 "$V" "${C[@]}" "$qr2"
grep -q "VALID (as of .*+08:00" "$tmp/out" && ok || bad "status time not in CST"
sleep 4.2   # the issuer's iat may run a second or two ahead after bursts (strictly increasing per list)
# The list moves (another credential suspended), so the issuer signs a new
# token at the next request; the held copy is within its ttl (300 s) but
# older than --max-age 1s.
curl -s -m 20 -o /dev/null -X POST "${A[@]}" --data '{"reason": "test"}' "$base/v1/credentials/$id3/suspend"
expect 11 "$V" "${C[@]}" --max-age 1s --json "$qr2"       # offline: stale, sync again
jcheck 'd["reason"]=="status_stale" and d["status"]["as_of"].endswith("Z")'
expect 0 "$V" "${C[@]}" --online --max-age 1s --json "$qr2" # online: fetched, not "sync again"
jcheck 'd["reason"]=="ok" and d["status"]["source"]=="online" and d["status"]["age_seconds"]<=1'
expect 0 "$V" "${C[@]}" --online --json "$qr2"              # within ttl and max-age: the cache answers
jcheck 'd["status"]["source"]=="cache"'
sleep 4.2                                                    # issuer's token now 2 s old, ttl 300
expect 11 "$V" "${C[@]}" --online --max-age 1s "$qr2"
has "the issuer's newest list is that old"; hasnt "sync again"

echo "verify CLI (integrators): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
