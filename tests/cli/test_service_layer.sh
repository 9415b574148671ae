#!/usr/bin/env bash
# The shared HTTP layer on a live ecred-issuerd: HEAD on every GET route (same
# headers, no body), 405 with Allow, CORS on the public routes only (and the
# preflight), pages with their content type, ETag, 304, CSP and nosniff,
# ?time= on a status list answered 501, error bodies with both hints, and the
# access log: one JSON line per request with the route pattern, never the
# path, the query or a header value, and a hostile method escaped.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/service_layer.$$
mkdir -p "$tmp/data"
data=$tmp/data
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

. "$src/tests/cli/lib_issuerd.sh"
start_issuerd "$data" "$tmp/daemon.log" --list-size 64
base="http://127.0.0.1:$port"

clerk=$("$bin/ecred-issuerd" token add --data "$data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer)
code=$(curl -s -m 10 -o "$tmp/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $clerk" \
  --data-binary @"$src/spec/examples/api/permit_new.json" "$base/v1/applications")
check '[ "$code" = 201 ]' "create: HTTP $code"
app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/body")
code=$(curl -s -m 10 -o "$tmp/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $officer" \
  "$base/v1/applications/$app/approve")
check '[ "$code" = 201 ]' "approve: HTTP $code"
cred=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential"]["id"])' "$tmp/body")

# hdr FILE NAME: the value of a response header in a curl -D dump (case-insensitive).
hdr() { tr -d '\r' <"$1" | awk -v n="$(echo "$2" | tr A-Z a-z)" -F': ' 'tolower($1)==n {print substr($0, length($1)+3); exit}'; }

# raw_head_body PATH [-H "Authorization: ..."]: bytes a HEAD answer carries
# after its headers, read off the socket (curl would hide them).
raw_head_body() {
  local path=$1 authz=""
  [ $# -ge 3 ] && authz=$3
  python3 - "$port" "$path" "$authz" <<'PY'
import socket, sys
port, path, authz = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
req = "HEAD %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" % path
if authz:
    req += authz + "\r\n"
s.sendall((req + "\r\n").encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, _, rest = data.partition(b"\r\n\r\n")
print(len(rest) if head.startswith(b"HTTP/1.1 200") else -1)
PY
}

# HEAD on every GET route: same status and headers as GET, no body.
for path in /.well-known/ecred-trust /.well-known/ecred-status-lists /status/1 /healthz / /app/style.css \
            "/v1/applications/$app" "/v1/credentials/$cred" "/v1/credentials/$cred/qr.png" \
            "/v1/credentials/$cred/qr.svg" "/v1/reminders?within=30"; do
  auth=(); case $path in /v1/*) auth=(-H "Authorization: Bearer $officer");; esac
  gcode=$(curl -s -m 10 -D "$tmp/gh" -o "$tmp/gb" -w '%{http_code}' "${auth[@]}" "$base$path")
  hcode=$(curl -s -m 10 -I -D "$tmp/hh" -o "$tmp/hb" -w '%{http_code}' "${auth[@]}" "$base$path")
  check '[ "$gcode" = 200 ] && [ "$hcode" = 200 ]' "GET/HEAD $path: $gcode/$hcode"
  check '[ "$(hdr "$tmp/gh" content-length)" = "$(hdr "$tmp/hh" content-length)" ]' "HEAD $path: Content-Length differs"
  check '[ "$(hdr "$tmp/gh" content-type)" = "$(hdr "$tmp/hh" content-type)" ]' "HEAD $path: Content-Type differs"
  check '[ "$(hdr "$tmp/gh" etag)" = "$(hdr "$tmp/hh" etag)" ]' "HEAD $path: ETag differs"
  check '[ "$(raw_head_body "$path" "${auth[@]}")" = 0 ]' "HEAD $path: bytes after the headers on the wire"
  check '[ "$(hdr "$tmp/hh" x-content-type-options)" = nosniff ]' "HEAD $path: no nosniff"
done

# 405 with Allow.
code=$(curl -s -m 10 -D "$tmp/h" -o "$tmp/body" -w '%{http_code}' -X DELETE "$base/.well-known/ecred-trust")
check '[ "$code" = 405 ]' "DELETE trust list: $code"
check '[ "$(hdr "$tmp/h" allow)" = "GET, HEAD, OPTIONS" ]' "Allow on trust list: $(hdr "$tmp/h" allow)"
code=$(curl -s -m 10 -D "$tmp/h" -o "$tmp/body" -w '%{http_code}' "$base/v1/applications/0123456789abcdef/approve")
check '[ "$code" = 405 ] && [ "$(hdr "$tmp/h" allow)" = POST ]' "GET .../approve: $code Allow $(hdr "$tmp/h" allow)"
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if set(d)=={\"code\",\"hint\",\"hint_zh\",\"detail\"} and d[\"code\"]==\"method_not_allowed\" else 1)" "$tmp/body"' "405 body"

# CORS: public routes only, never with credentials; preflight on them only.
for path in /.well-known/ecred-trust /.well-known/ecred-status-lists /status/1; do
  curl -s -m 10 -D "$tmp/h" -o /dev/null -H "Origin: https://scanner.example" "$base$path"
  check '[ "$(hdr "$tmp/h" access-control-allow-origin)" = "*" ]' "no CORS on $path"
  check '[ -z "$(hdr "$tmp/h" access-control-allow-credentials)" ]' "credentials allowed on $path"
  check '[ "$(hdr "$tmp/h" access-control-expose-headers)" = ETag ]' "ETag not exposed on $path"
  code=$(curl -s -m 10 -D "$tmp/h" -o /dev/null -w '%{http_code}' -X OPTIONS -H "Origin: https://scanner.example" \
    -H "Access-Control-Request-Method: GET" -H "Access-Control-Request-Headers: if-none-match" "$base$path")
  check '[ "$code" = 204 ] && [ "$(hdr "$tmp/h" access-control-allow-methods)" = "GET, HEAD" ]' "preflight $path: $code"
done
for path in /healthz / "/v1/applications/$app"; do
  curl -s -m 10 -D "$tmp/h" -o /dev/null -H "Origin: https://scanner.example" -H "Authorization: Bearer $officer" "$base$path"
  check '[ -z "$(hdr "$tmp/h" access-control-allow-origin)" ]' "CORS on private route $path"
  code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X OPTIONS "$base$path")
  check '[ "$code" = 405 ]' "OPTIONS on $path: $code"
done

# Pages: type, ETag, 304, security headers; no traversal.
curl -s -m 10 -D "$tmp/h" -o "$tmp/page" "$base/"
check '[ "$(hdr "$tmp/h" content-type)" = "text/html; charset=utf-8" ]' "page type: $(hdr "$tmp/h" content-type)"
check 'hdr "$tmp/h" content-security-policy | grep -q "default-src '"'"'none'"'"'"' "page CSP missing"
check 'hdr "$tmp/h" content-security-policy | grep -q "frame-ancestors '"'"'none'"'"'"' "page CSP lacks frame-ancestors"
check '[ "$(hdr "$tmp/h" referrer-policy)" = no-referrer ]' "page Referrer-Policy"
check '[ "$(hdr "$tmp/h" cache-control)" = no-cache ]' "page Cache-Control"
check 'cmp -s "$tmp/page" "$src/issuer/web/index.html"' "page bytes differ from issuer/web/index.html"
etag=$(hdr "$tmp/h" etag)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$base/")
check '[ "$code" = 304 ]' "If-None-Match on page: $code"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: W/$etag, \"other\"" "$base/")
check '[ "$code" = 304 ]' "weak If-None-Match list on page: $code"
curl -s -m 10 -D "$tmp/h" -o /dev/null "$base/app/style.css"
check '[ "$(hdr "$tmp/h" content-type)" = "text/css; charset=utf-8" ]' "css type"
for p in /app/nope.js /app/../main.c "/app/%2e%2e/x" /app/.hidden /appx; do
  code=$(curl -s -m 10 --path-as-is -o /dev/null -w '%{http_code}' "$base$p")
  check '[ "$code" = 404 ]' "$p: $code"
done

# Status list history is not kept: 501.
code=$(curl -s -m 10 -o "$tmp/body" -w '%{http_code}' "$base/status/1?time=1700000000")
check '[ "$code" = 501 ] && grep -q history_unsupported "$tmp/body"' "?time=: $code"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -H "If-None-Match: $(curl -s -m 10 -D - -o /dev/null "$base/status/1" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')" "$base/status/1")
check '[ "$code" = 304 ]' "status list 304: $code"

# A hostile method and a long query: escaped and not logged.
curl -s -m 10 -o /dev/null -X 'BREW' "$base/.well-known/ecred-trust?secret=hunter2" || true
curl -s -m 10 -o /dev/null "$base/v1/applications/$app?tracking=sekrit" -H "Authorization: Bearer $officer" || true

kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
check '[ $rc -eq 0 ]' "SIGTERM exit $rc"

# Every line of the log is one JSON object of the shared schema.
check 'python3 - "$tmp/daemon.log" "$app" "$cred" <<'"'"'EOF'"'"'
import json, sys
path, app, cred = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
lines = [l for l in text.split("\n") if l]
reqs = 0
for l in lines:
    d = json.loads(l)
    assert {"ts", "level", "daemon", "msg"} <= set(d), l
    assert d["daemon"] == "issuer", l
    if d["msg"] == "request":
        reqs += 1
        assert {"req", "method", "route", "status", "ms"} <= set(d), l
        assert "/" not in d["route"] or "{" in d["route"] or d["route"] in ("/", "/healthz", "/v1/applications", "/v1/reminders") or d["route"].startswith("/.well-known/"), l
for secret in (app, cred, "hunter2", "sekrit", "Bearer"):
    assert secret not in text, secret
assert reqs >= 40, reqs
EOF' "daemon log is not one JSON object per line of the shared schema, or leaks ids/queries"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
