#!/usr/bin/env bash
# One connection per sync (issue 10): ecred-verify sync fetches the trust
# list, the index and N status lists from a keep-alive static issuer on
# loopback (static_server.py logs each request's client port), and must use
# one TCP connection for the whole sync, cold (200s) and warm (304s). A
# server without keep-alive still gets every list (a new connection each).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verifier_sync_conn.$$
mkdir -p "$tmp/www/.well-known" "$tmp/www/status"
srv_pid=
stop_server() { if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; srv_pid=; fi; }
trap 'stop_server; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
N=12
K="$bin/ecred-keys" S="$bin/verifier_slist_sign" V="$bin/ecred-verify"

# start_server KEEPALIVE: serve $tmp/www; base is set to its URL.
start_server() {
  rm -f "$tmp/port" "$tmp/srvlog"*
  STATIC_SERVER_KEEPALIVE=$1 python3 "$src/verifier/testtools/static_server.py" "$tmp/www" "$tmp/port" "$tmp/srvlog" &
  srv_pid=$!
  for _ in $(seq 1 600); do [ -s "$tmp/port" ] && break; sleep 0.05; done   # 30 s: python starts slowly on a loaded machine
  [ -s "$tmp/port" ] || { echo "static server did not start" >&2; exit 1; }
  base="http://127.0.0.1:$(cat "$tmp/port")"
}
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
for k in root a; do "$K" gen --out "$tmp/$k.key"; "$K" pub "$tmp/$k.key" > "$tmp/$k.pub.pem"; done
# publish: the trust list, the index and N signed lists under $base.
publish() {
  printf '{"iss": "%s", "seq": 1, "valid_days": 30, "keys": [{"public_key": "a.pub.pem", "sign_from": "%s", "sign_until": "%s", "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "%s/status/"}]}\n' \
    "$base" "$(rfc $((now - 86400)))" "$(rfc $((now + 86400 * 365)))" "$base" > "$tmp/tl.json"
  "$K" trustlist sign --root "$tmp/root.key" --in "$tmp/tl.json" --out "$tmp/www/.well-known/ecred-trust" >/dev/null
  local sep=
  { printf '{"lists": ['
    for i in $(seq 1 $N); do printf '%s"%s/status/%s"' "$sep" "$base" "$i"; sep=,; done
    printf ']}\n'; } > "$tmp/www/.well-known/ecred-status-lists"
  for i in $(seq 1 $N); do "$S" "$tmp/a.key" "$base/status/$i" "$tmp/www/status/$i" --iat -60 --exp +172800 >/dev/null; done
}
# sync_count WANT_REQS MAX_CONNS LABEL: one sync, then its requests and connections.
sync_count() {
  : > "$tmp/srvlog.conn"
  if "$V" sync --issuer "$base" --root "$tmp/root.pub.pem" --cache "$tmp/cache" >"$tmp/out" 2>"$tmp/err"; then ok; else bad "$3: sync failed: $(cat "$tmp/err")"; fi
  local reqs conns
  reqs=$(wc -l < "$tmp/srvlog.conn")
  conns=$(cut -d' ' -f1 "$tmp/srvlog.conn" | sort -u | wc -l)
  echo "$3: $reqs requests on $conns TCP connection(s)"
  [ "$reqs" -eq "$1" ] && ok || bad "$3: $reqs requests, want $1"
  [ "$conns" -le "$2" ] && ok || bad "$3: $conns connections, want at most $2"
}

start_server 1
publish
sync_count $((N + 2)) 1 "cold sync, keep-alive"
[ "$(grep -c ' 200$' "$tmp/srvlog")" -eq $((N + 2)) ] && ok || bad "cold sync: not all 200"
sync_count $((N + 2)) 1 "warm sync, keep-alive"
[ "$(grep -c ' 304$' "$tmp/srvlog")" -eq $((N + 1)) ] && ok || bad "warm sync: want $((N + 1)) 304s: $(cat "$tmp/srvlog")"
stop_server

# Without keep-alive (HTTP/1.0, closed after each answer) nothing breaks.
start_server 0
rm -rf "$tmp/cache"
publish
sync_count $((N + 2)) $((N + 2)) "cold sync, no keep-alive"
stop_server

echo "verifier sync connections: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
