#!/usr/bin/env bash
# ecred-verifierd over TLS: with --tls-cert/--tls-key it serves HTTPS only
# (/healthz, POST /v1/verify with a key, the landing page), a plain-HTTP
# client on the TLS port gets no answer, a cert without its key is a usage
# error and an unreadable key file a start-up failure. The cache comes from
# a static-file issuer on loopback (as test_verifier_api.sh).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verifierd_tls.$$
mkdir -p "$tmp/www/.well-known" "$tmp/www/status"
srv_pid= pid=
cleanup() {
  for p in $pid $srv_pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
. "$src/tests/cli/lib_issuerd.sh"   # free_port (below the ephemeral range), wait_for

if ! command -v openssl >/dev/null; then echo "openssl CLI missing: cannot make a test certificate" >&2; exit 1; fi
# CN=localhost, and the loopback address as a subjectAltName so curl accepts
# the certificate for https://127.0.0.1:PORT.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 1 \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1

# ---- a static issuer: trust list, one status list, one credential ----
python3 "$src/verifier/testtools/static_server.py" "$tmp/www" "$tmp/port" "$tmp/srvlog" &
srv_pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/port" ] && break; sleep 0.05; done   # 30 s: python starts slowly on a loaded machine
base="http://127.0.0.1:$(cat "$tmp/port")"
uri="$base/status/1"
rfc() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
now=$(date +%s)
K="$bin/ecred-keys"
for k in root a; do "$K" gen --out "$tmp/$k.key" >/dev/null; "$K" pub "$tmp/$k.key" > "$tmp/$k.pub.pem"; done
cat > "$tmp/tl.json" <<JSON
{"iss": "$base", "seq": 1, "valid_days": 30, "keys": [{"public_key": "a.pub.pem",
 "sign_from": "$(rfc $((now - 86400)))", "sign_until": "$(rfc $((now + 86400 * 365)))",
 "types": ["registration_certificate", "residence_permit", "status_list"], "status_uri_prefix": "$base/status/"}]}
JSON
"$K" trustlist sign --root "$tmp/root.key" --in "$tmp/tl.json" --out "$tmp/www/.well-known/ecred-trust" >/dev/null
printf '{"lists": ["%s"]}\n' "$uri" > "$tmp/www/.well-known/ecred-status-lists"
"$bin/verifier_slist_sign" "$tmp/a.key" "$uri" "$tmp/www/status/1" --set 6=1
qr=$("$bin/ecred-issue" --iss "$base" --key "$tmp/a.key" --in "$src/spec/examples/permit-rental.json" --status-uri "$uri" --status-idx 5)
qr_revoked=$("$bin/ecred-issue" --iss "$base" --key "$tmp/a.key" --in "$src/spec/examples/permit-rental.json" --status-uri "$uri" --status-idx 6)

D="$bin/ecred-verifierd"
cache="$tmp/cache"
mkdir -p "$cache"
key=$("$D" key add --cache "$cache" --role police 2>/dev/null)

# ---- usage errors ----
set +e
"$D" --cache "$cache" --issuer "$base" --listen 127.0.0.1:1 --tls-cert "$tmp/tls.crt" >/dev/null 2>&1
check '[ $? -eq 2 ]' "--tls-cert without --tls-key not exit 2"
"$D" --cache "$cache" --issuer "$base" --listen 127.0.0.1:1 --tls-key "$tmp/tls.key" >/dev/null 2>&1
check '[ $? -eq 2 ]' "--tls-key without --tls-cert not exit 2"
"$D" --cache "$cache" --issuer "$base" --root "$tmp/root.pub.pem" --listen "127.0.0.1:$(free_port)" \
  --tls-cert "$tmp/tls.crt" --tls-key "$tmp/no-such.key" >/dev/null 2>"$tmp/err"
check '[ $? -eq 1 ]' "missing --tls-key file not exit 1"
check 'grep -q "tls-key" "$tmp/err"' "missing key file not named: $(cat "$tmp/err")"
set -e

# ---- the daemon over TLS ----
started=0
for _ in $(seq 1 10); do
  port=$(free_port)
  "$D" --cache "$cache" --issuer "$base" --root "$tmp/root.pub.pem" --listen "127.0.0.1:$port" \
    --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" --refresh 1h 2>>"$tmp/daemon.log" &
  pid=$!
  api="https://127.0.0.1:$port"
  end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; break; fi
    if [ "$(curl -s -m 2 --cacert "$tmp/tls.crt" -o /dev/null -w '%{http_code}' "$api/healthz")" = 200 ]; then
      started=1; break
    fi
    sleep 0.1
  done
  [ "$started" -eq 1 ] && break
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
done
if [ "$started" -ne 1 ]; then echo "FAIL: TLS daemon did not start"; cat "$tmp/daemon.log" >&2; exit 1; fi
C=(curl -s -m 10 --cacert "$tmp/tls.crt")

code=$("${C[@]}" -o "$tmp/out" -w '%{http_code}' "$api/healthz")
check '[ "$code" = 200 ]' "healthz over TLS: HTTP $code"
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"status\"]==\"ok\"" "$tmp/out"' \
  "healthz body: $(cat "$tmp/out")"
code=$("${C[@]}" -o "$tmp/out" -w '%{http_code}' -H "Authorization: Bearer $key" --data-binary "$qr" "$api/v1/verify")
check '[ "$code" = 200 ]' "verify over TLS: HTTP $code"
check 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"reason\"]==\"holder_proof_required\" and d[\"status\"][\"value\"]==\"VALID\" and d[\"role\"]==\"police\"" "$tmp/out"' \
  "verify body: $(head -c 300 "$tmp/out")"
code=$("${C[@]}" -o "$tmp/out" -w '%{http_code}' -H "Authorization: Bearer $key" --data-binary "$qr_revoked" "$api/v1/verify")
check '[ "$code" = 200 ] && grep -q "\"reason\":\"revoked\"" "$tmp/out"' "revoked over TLS: HTTP $code $(head -c 200 "$tmp/out")"
code=$("${C[@]}" -o "$tmp/out" -w '%{http_code}' --data-binary "$qr" "$api/v1/verify")
check '[ "$code" = 401 ] && grep -q "\"code\":\"missing_key\"" "$tmp/out"' "no key over TLS: HTTP $code"
code=$("${C[@]}" -o "$tmp/out" -w '%{http_code}' "$api/")
check '[ "$code" = 200 ] && grep -q "核验" "$tmp/out"' "landing page over TLS: HTTP $code"
# Plain HTTP to the TLS port: no HTTP answer.
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" || true)
check '[ "$code" != 200 ]' "plain HTTP answered on the TLS port ($code)"
# The daemon survived it and still answers over TLS.
code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$api/healthz")
check '[ "$code" = 200 ]' "healthz after a plain-HTTP client: HTTP $code"
# The certificate is checked: without --cacert curl refuses it.
check '! curl -s -m 5 -o /dev/null "$api/healthz"' "an untrusted certificate was accepted"
check 'grep -q "\"msg\":\"listening\",\"listen\":\"127.0.0.1:$port\",\"tls\":\"on\"" "$tmp/daemon.log"' \
  "no listening line with tls on"

kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
check '[ $rc -eq 0 ]' "SIGTERM exit $rc"
check '! grep -q -- "${qr:4:40}" "$tmp/daemon.log"' "QR text in the log"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
