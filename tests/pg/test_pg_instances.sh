#!/usr/bin/env bash
# Two ecred-issuerd instances on one PostgreSQL registry (issue 15): three
# clients on each submit, approve and change statuses concurrently while
# instance A is killed with SIGKILL; a verifier keeps syncing through a
# switchable front (the load balancer: status list URIs point at it) from A,
# then B, then A... and must never be refused a list or trust list as older.
# Afterwards: every acknowledged credential is in the registry as returned
# and verifies with ecred-verify; no (list, index) is used twice; every list
# is byte-identical (same ETag) on both instances and matches the registry
# bit for bit. Lists of 16 entries roll over many times.
# Args: BIN_DIR SOURCE_DIR TMP_DIR CLUSTER_DIR; ECRED_TEST_REGISTRY the database.
set -euo pipefail
bin=$1 src=$2 tmp=$3/pg_instances.$$ cluster=$4
mkdir -p "$tmp/a" "$tmp/b"
pid_a="" pid_b="" pid_front="" workers="" syncer=""
cleanup() {
  for p in $workers $syncer $pid_front; do kill "$p" 2>/dev/null || true; done
  for p in $pid_a $pid_b; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
source "$src/tests/pg/common.sh"

port_a=$(free_port) port_b=$(free_port) port_f=$(free_port)
front="http://127.0.0.1:$port_f"
# The front: forwards GETs to the instance named in $tmp/target.
echo "$port_a" > "$tmp/target"
cat > "$tmp/front.py" <<'PY'
import http.client, http.server, sys
port, target = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        to = int(open(target).read())
        try:
            c = http.client.HTTPConnection("127.0.0.1", to, timeout=10)
            c.request("GET", self.path, headers={k: v for k, v in self.headers.items() if k.lower() == "if-none-match"})
            r = c.getresponse(); body = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() in ("content-type", "etag", "cache-control"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers(); self.wfile.write(body)
        except OSError:
            self.send_error(502)
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$tmp/front.py" "$port_f" "$tmp/target" & pid_front=$!

common=(--list-size 16 --status-base-url "$front" --threads 4)
# First start of A makes the keys and the trust list; then the root goes
# offline (as in production) so both instances serve the same installed
# trust list, and B gets A's keys: two instances of one issuer.
start_instance a "$tmp/a" "$port_a" "${common[@]}" || { bad "A did not start"; cat "$tmp/a.log" >&2; exit 1; }
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/a" --registry "$reg" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/a" --registry "$reg" --role officer)
kill "$pid_a"; wait "$pid_a" 2>/dev/null || true
mv "$tmp/a/root.key.pem" "$tmp/root.key.pem"
cp -a "$tmp/a/." "$tmp/b/"
start_instance a "$tmp/a" "$port_a" "${common[@]}" || { bad "A did not restart"; tail -n 5 "$tmp/a.log" >&2; exit 1; }
start_instance b "$tmp/b" "$port_b" "${common[@]}" || { bad "B did not start"; cat "$tmp/b.log" >&2; exit 1; }
check_health() { curl -s -m 5 "http://127.0.0.1:$1/healthz" | grep -q '"backend":"postgres"'; }
check_health "$port_a" && check_health "$port_b" && ok || bad "/healthz does not report the postgres registry"

# The syncing verifier: one cache, alternately through A and B.
cat > "$tmp/syncer.sh" <<SH
i=0
while [ ! -e "$tmp/stop-sync" ]; do
  if [ \$((i % 2)) -eq 0 ]; then echo $port_a > "$tmp/target"; else echo $port_b > "$tmp/target"; fi
  [ -e "$tmp/a-dead" ] && echo $port_b > "$tmp/target"
  if ! "$bin/ecred-verify" sync --issuer "$front" --root "$tmp/a/root.pub.pem" --cache "$tmp/vcache" \
       >"$tmp/sync.\$i.out" 2>&1; then
    # A list refused as a rollback (or badly signed) is the failure; a 502
    # from the front while A is down is not.
    if grep "REFUSED" "$tmp/sync.\$i.out" | grep -qv "HTTP status"; then cp "$tmp/sync.\$i.out" "$tmp/sync.refused.\$i"; fi
  fi
  i=\$((i + 1))
  sleep 0.2
done
echo \$i > "$tmp/sync.count"
SH
bash "$tmp/syncer.sh" & syncer=$!

journals=()
for w in 1 2 3; do
  for side in a b; do
    port=$port_a; [ $side = b ] && port=$port_b
    j="$tmp/journal.$side.$w"; : > "$j"; journals+=("$j")
    python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" "$side$w" "$j" 40 15 \
      2>>"$tmp/worker.$side.err" &
    workers="$workers $!"
  done
done
# (grep reads the journals itself: `cat | grep -q` under pipefail is false
# when cat dies of SIGPIPE after the match, and the wait ran out with
# credentials already issued; 60 s for an ASan instance on a loaded machine)
end=$(($(date +%s) + 60))
until grep -qs '^\["issued"' "$tmp"/journal.a.*; do [ "$(date +%s)" -lt "$end" ] || break; sleep 0.05; done
sleep "0.$((RANDOM % 10 + 5))"
touch "$tmp/a-dead"
kill -9 "$pid_a"; wait "$pid_a" 2>/dev/null || true; pid_a=""
for w in $workers; do wait "$w" || bad "a client failed: $(tail -n 3 "$tmp"/worker.*.err)"; done
workers=""
n_a=$(cat "$tmp"/journal.a.* | grep -c '^\["issued"' || true)
n_b=$(cat "$tmp"/journal.b.* | grep -c '^\["issued"' || true)
[ "$n_a" -gt 0 ] && [ "$n_b" -gt 0 ] && ok || bad "acknowledged before/after the kill: A $n_a, B $n_b"

# A comes back; the verifier goes on syncing from both.
start_instance a "$tmp/a" "$port_a" "${common[@]}" && ok || bad "A did not restart after kill -9"
rm -f "$tmp/a-dead"
# One Idempotency-Key sent to both instances at once: one application.
for i in 1 2 3 4 5 6; do
  p=$port_a; [ $((i % 2)) -eq 0 ] && p=$port_b
  curl -s -m 20 -o "$tmp/idem.$i" -X POST -H "Authorization: Bearer $clerk" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: pg-both" --data-binary @"$tmp/ex/permit_new.json" "http://127.0.0.1:$p/v1/applications" &
  idem_pids="${idem_pids:-} $!"
done
for p in $idem_pids; do wait "$p" || true; done
n=$(python3 -c 'import json,sys; print(len({json.load(open(f)).get("id") for f in sys.argv[1:]}))' "$tmp"/idem.* 2>/dev/null || echo x)
[ "$n" = 1 ] && ok || bad "one Idempotency-Key on two instances gave $n answers: $(head -c 200 "$tmp"/idem.*)"
# Status changes through both, lists rebuilt on whichever is asked first.
extra="$tmp/journal.extra"; : > "$extra"
for c in $(cat "$tmp"/journal.b.* | python3 -c '
import json, sys
ids = [json.loads(l)[1] for l in sys.stdin if l.startswith("[\"issued\"")]
print("\n".join(ids[:4]))'); do
  echo "[\"sent\", \"$c\", \"invalid\"]" >> "$extra"
  for p in "$port_a" "$port_b"; do
    curl -s -m 10 -o /dev/null -X POST -H "Authorization: Bearer $officer" -H 'Content-Type: application/json' \
      -d '{"reason":"pg test"}' "http://127.0.0.1:$p/v1/credentials/$c/revoke" || true
  done
  sleep 0.3
done
journals+=("$extra")
sleep 1
# At least four syncs before stopping the verifier (bounded): how many fit
# in the load's time depends on the machine's speed, not on the code. The
# syncer writes sync.N.out as sync N starts: five of them, four are done.
end=$(($(date +%s) + 60))
while [ "$(ls "$tmp"/sync.*.out 2>/dev/null | wc -l)" -lt 5 ] && [ "$(date +%s)" -lt "$end" ]; do sleep 0.2; done
touch "$tmp/stop-sync"; wait "$syncer" 2>/dev/null || true; syncer=""
nsync=$(cat "$tmp/sync.count" 2>/dev/null || echo 0)
if ls "$tmp"/sync.refused.* >/dev/null 2>&1; then
  bad "the verifier was refused a list while alternating instances: $(cat "$tmp"/sync.refused.* | head -5)"
else
  ok
fi
[ "$nsync" -ge 4 ] && ok || bad "only $nsync syncs ran"

# Registry against journals, lists on both instances identical and right.
echo "$port_b" > "$tmp/target"
if python3 "$tmp/check.py" "$reg" "$bin/slist_dump" "$tmp/a/signing.pub.pem" 16 "$PSQL" \
     "$port_a" "$port_b" -- "${journals[@]}" >"$tmp/check.out" 2>&1; then ok; else bad "$(cat "$tmp/check.out")"; fi
cat "$tmp/check.out" | tail -n 1
# A sample of acknowledged credentials verifies offline with the status the registry holds.
rm -rf "$tmp/vc2"
"$bin/ecred-verify" sync --issuer "$front" --root "$tmp/a/root.pub.pem" --cache "$tmp/vc2" >/dev/null 2>&1 && ok || bad "final sync"
verified=0
while IFS='|' read -r cid st qr; do
  want=$(case $st in 0) echo ok;; 1) echo revoked;; 2) echo suspended;; esac)
  got=$("$bin/ecred-verify" --cache "$tmp/vc2" --json "$qr" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reason"])' || true)
  [ "$got" = "$want" ] && verified=$((verified + 1)) || bad "credential $cid: ecred-verify $got, registry $want"
done < <(sql "SELECT id, status, qr_text FROM credentials ORDER BY random() LIMIT 8")
echo "verified $verified credentials with ecred-verify; $nsync verifier syncs alternating A/B"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
