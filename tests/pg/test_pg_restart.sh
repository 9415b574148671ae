#!/usr/bin/env bash
# The PostgreSQL server stopped and started again under load (issue 15): on
# its own private cluster (the shared one serves other tests meanwhile). Two
# clients submit, approve and change statuses through one instance; the
# server goes down: /healthz and writes answer 503 registry_unavailable
# (never 500, never a credential whose row did not commit); the server comes
# back and the instance recovers by itself (no restart), the clients finish;
# every acknowledged credential is there, no index is used twice, lists match.
# Args: BIN_DIR SOURCE_DIR TMP_DIR CLUSTER_DIR (unused: own cluster).
set -euo pipefail
bin=$1 src=$2 tmp=$3/pg_restart.$$
mkdir -p "$tmp/data"
pid_a="" workers=""
own="$tmp/pgc"
cleanup() {
  for p in $workers; do kill "$p" 2>/dev/null || true; done
  [ -z "$pid_a" ] || kill -9 "$pid_a" 2>/dev/null || true
  wait 2>/dev/null || true
  "$src/scripts/pg-test-cluster" stop "$own" >/dev/null 2>&1 || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
"$src/scripts/pg-test-cluster" start "$own" reg
ECRED_TEST_REGISTRY=$("$src/scripts/pg-test-cluster" url "$own" reg)
source "$src/tests/pg/common.sh"

port=$(free_port)
start_instance a "$tmp/data" "$port" --list-size 16 --threads 4 || { bad "no start"; cat "$tmp/a.log" >&2; exit 1; }
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --registry "$reg" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --registry "$reg" --role officer)
base="http://127.0.0.1:$port"
journals=()
for w in 1 2; do
  j="$tmp/journal.$w"; : > "$j"; journals+=("$j")
  python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" "r$w" "$j" 60 12 retry503 \
    2>>"$tmp/worker.err" &
  workers="$workers $!"
done
# (grep reads the journals itself: `cat | grep -q` under pipefail is false
# when cat dies of SIGPIPE after the match; 60 s for an ASan instance)
end=$(($(date +%s) + 60))
until grep -qs '^\["issued"' "$tmp"/journal.*; do [ "$(date +%s)" -lt "$end" ] || break; sleep 0.05; done
"$src/scripts/pg-test-cluster" down "$own"
# Down: 503 registry_unavailable, on /healthz and on a write.
code=$(curl -s -m 15 -o "$tmp/h.json" -w '%{http_code}' "$base/healthz")
[ "$code" = 503 ] && grep -q '"registry":"unavailable"' "$tmp/h.json" && ok || bad "/healthz with the database down: $code $(cat "$tmp/h.json")"
code=$(curl -s -m 15 -o "$tmp/w.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $clerk" \
  -H 'Content-Type: application/json' --data-binary @"$tmp/ex/permit_new.json" "$base/v1/applications")
# The bearer check reads the token table first: it is the one to fail.
[ "$code" = 503 ] && grep -q 'registry_unavailable' "$tmp/w.json" && ok || bad "a write with the database down: $code $(head -c 300 "$tmp/w.json")"
sleep 1
"$src/scripts/pg-test-cluster" up "$own"
# Back: the same instance recovers by itself (bounded wait).
recovered=0
end=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$end" ]; do
  if [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ]; then recovered=1; break; fi
  sleep 0.1
done
[ $recovered = 1 ] && ok || bad "the instance did not recover after the database came back"
for w in $workers; do wait "$w" || bad "a client failed: $(tail -n 3 "$tmp/worker.err")"; done
workers=""
kill -0 "$pid_a" && ok || bad "the instance died with the database"
grep -h "replies" "$tmp/worker.err" || true
grep -q "500" "$tmp/worker.err" && bad "a client saw HTTP 500" || ok
if python3 "$tmp/check.py" "$reg" "$bin/slist_dump" "$tmp/data/signing.pub.pem" 16 "$PSQL" \
     "$port" -- "${journals[@]}" >"$tmp/check.out" 2>&1; then ok; else bad "$(cat "$tmp/check.out")"; fi
tail -n 1 "$tmp/check.out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
