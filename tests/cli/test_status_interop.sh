#!/usr/bin/env bash
# Status lists fetched the way the Token Status List draft asks (issue 11),
# against the static-file double on loopback. Each block failed before:
#   1. the request carries Accept: application/statuslist+cwt;
#   2. any 2xx with the right Content-Type is taken; a wrong type is refused;
#   3. redirects: followed (bounded) while the target stays under the trust
#      list's status prefix; outside it, or past the bound, refused; sub is
#      still compared with the credential's URI;
#   4. an index outside the list rejects the credential (status_index_invalid,
#      exit 18), not "status unavailable".
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/status_interop.$$
mkdir -p "$tmp/www/.well-known" "$tmp/www/status" "$tmp/www/elsewhere"
srv_pid=
stop_server() { if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; srv_pid=; fi; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "exit $got, want $want: $*"; cat "$tmp/out" "$tmp/err" >&2; fi
}
has() { if grep -q -- "$2" "$tmp/$1"; then ok; else bad "$1 lacks '$2': $(head -c 600 "$tmp/$1")"; fi; }
json_check() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert $1, d" && ok || bad "json: $1"; }

rm -f "$tmp/port"
python3 "$src/verifier/testtools/static_server.py" "$tmp/www" "$tmp/port" "$tmp/srvlog" &
srv_pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/port" ] && break; sleep 0.05; done   # 30 s: python starts slowly on a loaded machine
[ -s "$tmp/port" ] || { echo "static server did not start" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$tmp/port")"
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
far=$((now + 10 * 365 * 86400))
K="$bin/ecred-keys" S="$bin/verifier_slist_sign" V="$bin/ecred-verify"
for k in root a; do "$K" gen --out "$tmp/$k.key" >/dev/null; "$K" pub "$tmp/$k.key" > "$tmp/$k.pub.pem"; done
printf '{"iss": "%s", "seq": 1, "valid_days": 30, "keys": [{"public_key": "a.pub.pem", "sign_from": "%s", "sign_until": "%s", "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "%s/status/"}]}\n' \
  "$base" "$(rfc $((now - 86400)))" "$(rfc "$far")" "$base" > "$tmp/tl.json"
"$K" trustlist sign --root "$tmp/root.key" --in "$tmp/tl.json" --out "$tmp/www/.well-known/ecred-trust" >/dev/null
index() { local sep= ; { printf '{"lists": ['; for u in "$@"; do printf '%s"%s"' "$sep" "$u"; sep=,; done; printf ']}\n'; } > "$tmp/www/.well-known/ecred-status-lists"; }
last_iat=$((now - 100))
sign() { # sign URI FILE ARGS...: a list whose iat is later than the last one
  last_iat=$((last_iat + 1))
  "$S" "$tmp/a.key" "$1" "$2" --iat "$last_iat" --exp +172800 "${@:3}"
}
issue() { "$bin/ecred-issue" --iss "$base" --key "$tmp/a.key" --in "$src/spec/examples/permit-rental.json" --status-uri "$1" --status-idx "$2"; }
C=(--cache "$tmp/cache")

# ---- 1 + 2: Accept sent; a 203 with the right type is taken ----
u1="$base/status/1"
index "$u1"
sign "$u1" "$tmp/www/status/1" --set 6=1 --ttl 1
echo 203 > "$tmp/www/status/1.code"
c5=$(issue "$u1" 5); c6=$(issue "$u1" 6)
expect 0 "$V" sync --issuer "$base" --root "$tmp/root.pub.pem" --cache "$tmp/cache"
if grep -q "^/status/1 application/statuslist+cwt$" "$tmp/srvlog.accept"; then ok; else bad "no Accept: application/statuslist+cwt: $(cat "$tmp/srvlog.accept")"; fi
expect 9 "$V" "${C[@]}" "$c6"
expect 0 "$V" "${C[@]}" "$c5"
# Online too: the same Accept, the same 2xx rule.
: > "$tmp/srvlog.accept"
sign "$u1" "$tmp/www/status/1" --set 6=1 --set 5=2
sleep 1.1 # past the held copy's ttl
expect 10 "$V" "${C[@]}" --online "$c5"
if grep -q "^/status/1 application/statuslist+cwt$" "$tmp/srvlog.accept"; then ok; else bad "online: no Accept header"; fi
# A list served as something else is refused (the held copy answers; a
# refused fetch is an I/O failure of the sync, exit 1).
echo "application/octet-stream" > "$tmp/www/status/1.ctype"
sign "$u1" "$tmp/www/status/1" --set 6=1
expect 1 "$V" sync --issuer "$base" --cache "$tmp/cache"
has err "Content-Type"
expect 10 "$V" "${C[@]}" "$c5"
echo "Application/StatusList+CWT; charset=binary" > "$tmp/www/status/1.ctype"
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 0 "$V" "${C[@]}" "$c5"
rm -f "$tmp/www/status/1.ctype" "$tmp/www/status/1.code"

# ---- 3: redirects ----
# /status/2 moved to /status/v2/2 (still under the prefix): followed, and the
# token's sub is the URI the credential names, not where it was found.
u2="$base/status/2"
mkdir -p "$tmp/www/status/v2"
sign "$u2" "$tmp/www/status/v2/2" --set 8=2
echo "302 $base/status/v2/2" > "$tmp/www/status/2.redirect"
index "$u1" "$u2"
c8=$(issue "$u2" 8)
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 10 "$V" "${C[@]}" "$c8"
# Two hops (301 then 308) are fine too.
echo "301 $base/status/hop" > "$tmp/www/status/2.redirect"
echo "308 $base/status/v2/2" > "$tmp/www/status/hop.redirect"
sign "$u2" "$tmp/www/status/v2/2"
expect 0 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 0 "$V" "${C[@]}" "$c8"
# A redirect out of the status prefix is refused (the held copy stays).
sign "$u2" "$tmp/www/elsewhere/2" --set 8=2
echo "302 $base/elsewhere/2" > "$tmp/www/status/2.redirect"
expect 1 "$V" sync --issuer "$base" --cache "$tmp/cache"
has err "redirect outside the allowed URLs refused"
expect 0 "$V" "${C[@]}" "$c8"
# A redirect loop ends at the bound.
echo "302 $base/status/loop" > "$tmp/www/status/2.redirect"
echo "302 $base/status/2" > "$tmp/www/status/loop.redirect"
expect 1 "$V" sync --issuer "$base" --cache "$tmp/cache"
has err "redirect limit reached"
# A token found under the prefix but naming another list is refused (sub).
sign "$u1" "$tmp/www/status/v2/2"
echo "302 $base/status/v2/2" > "$tmp/www/status/2.redirect"
expect 4 "$V" sync --issuer "$base" --cache "$tmp/cache"
expect 0 "$V" "${C[@]}" "$c8"
# A redirect to a non-http scheme is refused.
echo "302 file:///etc/passwd" > "$tmp/www/status/2.redirect"
expect 1 "$V" sync --issuer "$base" --cache "$tmp/cache"
has err "other than an http(s) URL"
rm -f "$tmp/www/status/2.redirect"

# ---- 4: an index outside the list is a rejection of its own ----
# The lists hold 131072 entries (2 bits): 131072 is one past the end.
cbig=$(issue "$u1" 131072)
expect 18 "$V" "${C[@]}" --json "$cbig"
json_check 'd["reason"]=="status_index_invalid" and d["outcome"]=="invalid"'
clast=$(issue "$u1" 131071)
expect 0 "$V" "${C[@]}" "$clast"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
