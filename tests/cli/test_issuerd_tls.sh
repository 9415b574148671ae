#!/usr/bin/env bash
# ecred-issuerd over TLS: with --tls-cert/--tls-key it serves HTTPS only, the
# status URIs in credentials and the trust list use https, a plain-HTTP client
# gets no answer, a cert without its key is a usage error, and SIGHUP
# switches to a renewed certificate.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/issuerd_tls.$$
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

if ! command -v openssl >/dev/null; then echo "openssl CLI missing: cannot make a test certificate" >&2; exit 1; fi
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$tmp/tls.key" -out "$tmp/tls.crt" >/dev/null 2>&1

set +e
"$bin/ecred-issuerd" --data "$data" --listen 127.0.0.1:1 --tls-cert "$tmp/tls.crt" >/dev/null 2>&1
check '[ $? -eq 2 ]' "--tls-cert without --tls-key not exit 2"
set -e

# free_port: below the ephemeral range: SIGHUP below closes the listener and
# binds the same port again, which a client's connect() could take meanwhile
# were it an ephemeral one.
. "$src/tests/cli/lib_issuerd.sh"
started=0
for _ in $(seq 1 10); do
  port=$(free_port)
  "$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$port" --tls-cert "$tmp/tls.crt" \
    --tls-key "$tmp/tls.key" 2>>"$tmp/daemon.log" &
  pid=$!
  base="https://127.0.0.1:$port"
  end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; break; fi
    if curl -s -m 2 --cacert "$tmp/tls.crt" -o /dev/null "$base/.well-known/ecred-trust"; then started=1; break; fi
    sleep 0.1
  done
  [ "$started" -eq 1 ] && break
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
done
if [ "$started" -ne 1 ]; then echo "FAIL: TLS daemon did not start"; cat "$tmp/daemon.log" >&2; exit 1; fi

clerk=$("$bin/ecred-issuerd" token add --data "$data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer)
code=$(curl -s -m 10 --cacert "$tmp/tls.crt" -o "$tmp/body" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $clerk" --data-binary @"$src/spec/examples/api/permit_new.json" "$base/v1/applications")
check '[ "$code" = 201 ]' "create over TLS: HTTP $code"
app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/body")
code=$(curl -s -m 10 --cacert "$tmp/tls.crt" -o "$tmp/body" -w '%{http_code}' -X POST \
  -H "Authorization: Bearer $officer" "$base/v1/applications/$app/approve")
check '[ "$code" = 201 ]' "approve over TLS: HTTP $code"
uri=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential"]["status_list"]["uri"])' "$tmp/body")
check '[ "$uri" = "$base/status/1" ]' "status URI is not https: $uri"
code=$(curl -s -m 10 --cacert "$tmp/tls.crt" -o "$tmp/list.cwt" -w '%{http_code}' "$uri")
check '[ "$code" = 200 ]' "status list over TLS: HTTP $code"
check '"$bin/slist_dump" "$tmp/list.cwt" "$data/signing.pub.pem" | grep "^uri $base/status/1\$" >/dev/null' "status list sub is not the https URI"
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/.well-known/ecred-trust" || true)
check '[ "$code" != 200 ]' "plain HTTP answered on the TLS port"

# SIGHUP re-reads the certificate and key (issue 17): the listener restarts
# with the new pair, and the old certificate is no longer what it serves.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$tmp/tls2.key" -out "$tmp/tls2.crt" >/dev/null 2>&1
cp "$tmp/tls.crt" "$tmp/tls1.crt"
cp "$tmp/tls2.crt" "$tmp/tls.crt"; cp "$tmp/tls2.key" "$tmp/tls.key"
kill -HUP "$pid"
served=""
wait_for 30 "the new certificate served after SIGHUP" \
  'curl -s -m 2 --cacert "$tmp/tls2.crt" -o /dev/null "$base/healthz"' && served=new
check '[ "$served" = new ]' "SIGHUP did not switch to the new certificate"
code=$(curl -s -m 5 --cacert "$tmp/tls1.crt" -o /dev/null -w '%{http_code}' "$base/healthz" || true)
check '[ "$code" != 200 ]' "the old certificate is still served after SIGHUP"
check 'grep -q "restarted the listener" "$tmp/daemon.log"' "no log line for the TLS reload"

kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
check '[ $rc -eq 0 ]' "SIGTERM exit $rc"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
