#!/usr/bin/env bash
# ecred-issuerd registry copy from SQLite to PostgreSQL (issue 15): an issuer
# runs on SQLite (approvals, status changes, an idempotency key, a kinship
# commitment, status lists served); it stops; its registry is copied into an
# empty PostgreSQL database (counts checked, a second copy into the now
# non-empty database refused); the issuer starts on PostgreSQL with the same
# data directory: the same API tokens work, the idempotency key replays,
# every credential and status list is as before (the same token bytes for an
# unchanged generation), and new approvals take indices never used before.
# Args: BIN_DIR SOURCE_DIR TMP_DIR CLUSTER_DIR; ECRED_TEST_REGISTRY the database.
set -euo pipefail
bin=$1 src=$2 tmp=$3/pg_copy.$$
mkdir -p "$tmp/data"
pid_s="" pid_p=""
cleanup() {
  for p in $pid_s $pid_p; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
source "$src/tests/pg/common.sh"
pgreg=$reg
sq="sqlite:$tmp/data/registry.sqlite"

# ---- on SQLite ----
reg=$sq
port=$(free_port)
start_instance s "$tmp/data" "$port" --list-size 16 || { bad "no start on sqlite"; cat "$tmp/s.log" >&2; exit 1; }
base="http://127.0.0.1:$port"
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --registry "$reg" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --registry "$reg" --role officer)
j1="$tmp/journal.1"; : > "$j1"
python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" s1 "$j1" 20 20 2>>"$tmp/worker.err" || bad "sqlite load"
H=(-H "Authorization: Bearer $clerk" -H 'Content-Type: application/json')
idem=$(curl -s -m 10 -X POST "${H[@]}" -H "Idempotency-Key: copy-1" --data-binary @"$tmp/ex/permit_new.json" \
  "$base/v1/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
cp "$src/spec/examples/api/permit_new_relative.json" "$tmp/rel.json"
rel=$(curl -s -m 10 -X POST "${H[@]}" --data-binary @"$tmp/rel.json" "$base/v1/applications" |
  python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["id"], j.get("commitment", {}).get("reference", ""))')
[ -n "$idem" ] && [ -n "${rel#* }" ] && ok || bad "idempotent create / commitment: '$idem' '$rel'"
nlists=$(python3 -c "import sqlite3; print(sqlite3.connect('$tmp/data/registry.sqlite').execute('select count(*) from status_lists').fetchone()[0])")
for l in $(seq 1 "$nlists"); do curl -s -m 10 -o "$tmp/before.$l.cwt" "$base/status/$l"; done
kill "$pid_s"; wait "$pid_s" 2>/dev/null || true; pid_s=""
counts=$(python3 - "$tmp/data/registry.sqlite" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
t = ["tokens", "applications", "idempotency", "commitments", "status_lists", "credentials", "status_events", "list_tokens",
     "holder_bindings", "audit_log"]
print(" ".join(str(db.execute("select count(*) from %s" % x).fetchone()[0]) for x in t))
PY
)

# ---- copy ----
out=$("$bin/ecred-issuerd" registry copy --from "$sq" --to "$pgreg") || bad "registry copy failed: $out"
echo "$out"
got=$(echo "$out" | python3 -c 'import re,sys; print(" ".join(re.findall(r"(\d+) ", sys.stdin.read())))')
[ "$got" = "$counts" ] && ok || bad "copied counts '$got', sqlite has '$counts'"
rc=0; "$bin/ecred-issuerd" registry copy --from "$sq" --to "$pgreg" >/dev/null 2>"$tmp/again.err" || rc=$?
[ $rc -eq 1 ] && grep -q "not empty" "$tmp/again.err" && ok || bad "a second copy was not refused: $rc $(cat "$tmp/again.err")"
# The audit log moves with its hash chain intact: the same tree head on both.
ah_s=$("$bin/ecred-issuerd" audit verify --data "$tmp/data" --registry "$sq" | sed -n 's/.*tree head //p')
ah_p=$("$bin/ecred-issuerd" audit verify --data "$tmp/data" --registry "$pgreg" | sed -n 's/.*tree head //p')
[ -n "$ah_s" ] && [ "$ah_s" = "$ah_p" ] && ok || bad "audit log not copied intact: sqlite '$ah_s', postgres '$ah_p'"
"$bin/ecred-issuerd" migrate --registry "$pgreg" | grep -q "schema version 9" && ok || bad "migrate does not report version 9 (3: audit_log, 4: holder_bindings, 5: credentials_nonvalid, 6: issue 17 operations, 7: list permutation keys and cursors, 8: closed lists, 9: resident sessions and the outbox)"

# A registry URL may carry a password: never printed, not even on failure.
rc=0; "$bin/ecred-issuerd" token add --data "$tmp/data" --role clerk \
  --registry "postgres://u:s3cretpw@127.0.0.1:1/x?connect_timeout=2" >"$tmp/pw.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && ! grep -q s3cretpw "$tmp/pw.out" && ok || bad "a failing postgres URL: exit $rc, printed: $(cat "$tmp/pw.out")"

# ---- on PostgreSQL, same data directory ----
reg=$pgreg
start_instance p "$tmp/data" "$port" --list-size 16 || { bad "no start on postgres"; cat "$tmp/p.log" >&2; exit 1; }
code=$(curl -s -m 10 -o "$tmp/replay.json" -w '%{http_code}' -X POST "${H[@]}" -H "Idempotency-Key: copy-1" \
  --data-binary @"$tmp/ex/permit_new.json" "$base/v1/applications")
[ "$code" = 200 ] && grep -q "$idem" "$tmp/replay.json" && ok || bad "idempotency key not replayed after the copy: $code"
for l in $(seq 1 "$nlists"); do
  curl -s -m 10 -o "$tmp/after.$l.cwt" "$base/status/$l"
  cmp -s "$tmp/before.$l.cwt" "$tmp/after.$l.cwt" && ok || bad "status list $l changed bytes across the copy"
done
j2="$tmp/journal.2"; : > "$j2"
python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" p1 "$j2" 20 20 2>>"$tmp/worker.err" || bad "postgres load"
if python3 "$tmp/check.py" "$reg" "$bin/slist_dump" "$tmp/data/signing.pub.pem" 16 "$PSQL" \
     "$port" -- "$j1" "$j2" >"$tmp/check.out" 2>&1; then ok; else bad "$(cat "$tmp/check.out")"; fi
tail -n 1 "$tmp/check.out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
