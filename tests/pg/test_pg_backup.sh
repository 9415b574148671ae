#!/usr/bin/env bash
# Backup and restore of a PostgreSQL registry (issue 17 on PostgreSQL):
#  - backup under load: three clients approve and change statuses on an
#    issuer while `backup --registry postgres://...` runs; the file (0600,
#    SQLite, stamped) is one snapshot: every list's fill equals its rows,
#    every credential and status event has its audit entry, the audit log
#    verifies; a second backup once the load stopped has exactly the
#    database's row counts;
#  - refusals, each leaving the target untouched: a restore while an issuer
#    instance uses the database, into a non-empty database, from a missing
#    file, a garbage file, a SQLite file that is no registry backup;
#  - restore into an empty database with --next-list: lists open at backup
#    time closed, the lost list ids reserved, token labels and expiry and
#    list URIs kept, the audit log verifies with the backup's tree head,
#    the backup file itself unchanged;
#  - an issuer on the restored database: new approvals never take a status
#    index handed out before or after the backup (the source database and
#    the clients' journals), and only on lists opened after the lost ones.
# Args: BIN_DIR SOURCE_DIR TMP_DIR CLUSTER_DIR; ECRED_TEST_REGISTRY the database.
set -euo pipefail
bin=$1 src=$2 tmp=$3/pg_backup.$$ cluster=$4
mkdir -p "$tmp/data"
pid_a="" pid_b="" workers=""
cleanup() {
  for p in $workers; do kill "$p" 2>/dev/null || true; done
  for p in $pid_a $pid_b; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
source "$src/tests/pg/common.sh"
I="$bin/ecred-issuerd"
src_reg=$reg
tgt="postgresql://postgres@/pg_backup_r?host=$cluster"
admin_sql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 "postgresql://postgres@/postgres?host=$cluster" -c "$1"; }
recreate_target() { admin_sql "DROP DATABASE IF EXISTS pg_backup_r" && admin_sql "CREATE DATABASE pg_backup_r"; }
tsql() { "$PSQL" -X -At -F '|' -v ON_ERROR_STOP=1 "$tgt" -c "$1"; }
# sqf FILE QUERY: rows of a SQLite file as "a|b" lines.
sqf() {
  python3 -c 'import sqlite3, sys
for r in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print("|".join("" if v is None else str(v) for v in r))' "$1" "$2"
}
TABLES="tokens applications idempotency commitments status_lists credentials status_events list_tokens holder_bindings audit_log"
pg_counts() { for t in $TABLES; do "$PSQL" -X -At -v ON_ERROR_STOP=1 "$1" -c "SELECT count(*) FROM $t"; done | tr '\n' ' '; }
sq_counts() { for t in $TABLES; do sqf "$1" "SELECT count(*) FROM $t"; done | tr '\n' ' '; }
# tree FILE_OR_URL: the audit log's tree head ("" when it does not verify).
tree() {
  local url=$1
  case $url in postgres*) ;; *) cp "$url" "$tmp/verify.sqlite"; rm -f "$tmp/verify.sqlite-"*; url="sqlite:$tmp/verify.sqlite" ;; esac
  "$I" audit verify --data "$tmp/data" --registry "$url" 2>/dev/null | sed -n 's/^audit log intact: .*tree head //p'
}
recreate_target

# ---- an issuer on the source database, under load ----
port=$(free_port)
# Lists of 512: each connection reserves 32 positions at a time, so the list
# open at backup time is part used and goes on being used after it.
start_instance a "$tmp/data" "$port" --list-size 512 --threads 4 --status-base-url "http://127.0.0.1:$port" || { bad "A did not start"; cat "$tmp/a.log" >&2; exit 1; }
clerk=$("$I" token add --data "$tmp/data" --registry "$reg" --role clerk)
officer=$("$I" token add --data "$tmp/data" --registry "$reg" --role officer)
"$I" token add --data "$tmp/data" --registry "$reg" --role admin --label "night shift" --expires-in 30 >/dev/null
# The load runs until $tmp/stop-load appears (below, once it has gone on
# past the backup), 120 s at most: a fixed 8 s of load could end before a
# sanitizer build had issued the 60 credentials the backup waits for, or
# before any approval after the backup.
rm -f "$tmp/stop-load"
for w in 1 2 3; do
  : > "$tmp/j.$w"
  ECRED_WORKER_STOP="$tmp/stop-load" python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" \
    "a$w" "$tmp/j.$w" 100000 120 2>>"$tmp/worker.err" &
  workers="$workers $!"
done
# Back up once the load is well under way (at least 60 credentials; a
# sanitizer build starts slowly, and a fixed sleep once backed up before the
# first approval, so no list was open to close), bounded to 60 s.
for _ in $(seq 1 600); do
  n=$("$PSQL" -X -At -v ON_ERROR_STOP=1 "$reg" -c "SELECT count(*) FROM credentials" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 60 ] && break
  sleep 0.1
done
[ "${n:-0}" -ge 60 ] && ok || bad "the load issued only ${n:-0} credentials in 60 s"
"$I" backup --registry "$reg" --out "$tmp/b1.sqlite" >"$tmp/backup.out" 2>&1 && ok || bad "backup under load failed: $(cat "$tmp/backup.out")"
# The load goes on after the backup (30 more credentials, bounded to 60 s),
# then stops; the checks below compare the backup with what followed it.
n_backup=$("$PSQL" -X -At -v ON_ERROR_STOP=1 "$reg" -c "SELECT count(*) FROM credentials" 2>/dev/null || echo 0)
for _ in $(seq 1 600); do
  n=$("$PSQL" -X -At -v ON_ERROR_STOP=1 "$reg" -c "SELECT count(*) FROM credentials" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge $((n_backup + 30)) ] && break
  sleep 0.1
done
touch "$tmp/stop-load"
for p in $workers; do wait "$p" || bad "a load client failed: $(tail -n 3 "$tmp/worker.err")"; done
workers=""
cat "$tmp/backup.out"

# ---- the backup: one consistent snapshot ----
[ "$(stat -c %a "$tmp/b1.sqlite")" = 600 ] && ok || bad "backup mode $(stat -c %a "$tmp/b1.sqlite"), not 600"
[ ! -e "$tmp/b1.sqlite-wal" ] && ok || bad "backup left a -wal file beside it"
taken=$(sqf "$tmp/b1.sqlite" "SELECT value FROM registry_meta WHERE key = 'backup_taken_at'")
now=$(date +%s)
[ -n "$taken" ] && [ "$taken" -le "$now" ] && [ "$taken" -gt $((now - 120)) ] && ok || bad "backup_taken_at '$taken'"
bad_lists=$(sqf "$tmp/b1.sqlite" "SELECT id FROM status_lists l WHERE used <> (SELECT count(*) FROM credentials c WHERE c.list_id = l.id) OR next_pos < used")
[ -z "$bad_lists" ] && ok || bad "backup lists whose fill or cursor disagree with their rows: $bad_lists"
pairs=$(sqf "$tmp/b1.sqlite" "SELECT (SELECT count(*) FROM credentials), (SELECT count(*) FROM audit_log WHERE action = 'issue'),
  (SELECT count(*) FROM applications WHERE state = 'issued'), (SELECT count(*) FROM status_events),
  (SELECT count(*) FROM audit_log WHERE action IN ('suspend', 'resume', 'revoke'))")
IFS='|' read -r b_creds b_issue b_apps b_events b_changes <<<"$pairs"
[ "$b_creds" -gt 0 ] && [ "$b_creds" = "$b_issue" ] && [ "$b_creds" = "$b_apps" ] && [ "$b_events" = "$b_changes" ] && ok ||
  bad "backup not one snapshot: credentials/issue entries/issued applications $b_creds/$b_issue/$b_apps, events/entries $b_events/$b_changes"
s_creds=$(sql "SELECT count(*) FROM credentials")
[ "$b_creds" -lt "$s_creds" ] && ok || bad "the load did not go on after the backup ($b_creds in the backup, $s_creds now)"
tree_b1=$(tree "$tmp/b1.sqlite")
[ -n "$tree_b1" ] && ok || bad "the backup's audit log does not verify"
[ "$(sqf "$tmp/b1.sqlite" "SELECT label, expires_at IS NOT NULL FROM tokens WHERE role = 'admin'")" = "night shift|1" ] && ok ||
  bad "the token label and expiry are not in the backup"
# Quiescent: the second backup holds exactly what the database holds.
"$I" backup --registry "$reg" --out "$tmp/b2.sqlite" >/dev/null || bad "second backup failed"
c_pg=$(pg_counts "$reg") c_b2=$(sq_counts "$tmp/b2.sqlite")
[ "$c_pg" = "$c_b2" ] && ok || bad "quiescent backup counts '$c_b2', database '$c_pg'"
rc=0; "$I" backup --registry "$reg" --out "$tmp/b2.sqlite" >/dev/null 2>"$tmp/ow.err" || rc=$?
[ $rc -eq 1 ] && grep -q "never overwritten" "$tmp/ow.err" && ok || bad "backup over an existing file: $rc $(cat "$tmp/ow.err")"

# ---- refusals ----
rc=0; "$I" restore --registry "$reg" --from "$tmp/b1.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "instance is using" "$tmp/r.out" && ok || bad "restore under a running instance: $rc $(cat "$tmp/r.out")"
max_list=$(sql "SELECT max(id) FROM status_lists")
kill "$pid_a"; wait "$pid_a" 2>/dev/null || true; pid_a=""
next=$((max_list + 1))
sum_before=$(sql "SELECT count(*), max(seq) FROM audit_log")
rc=0; "$I" restore --registry "$reg" --from "$tmp/b1.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "not empty" "$tmp/r.out" && grep -q "createdb" "$tmp/r.out" && ok ||
  bad "restore into a non-empty database: $rc $(cat "$tmp/r.out")"
[ "$(sql "SELECT count(*), max(seq) FROM audit_log")" = "$sum_before" ] && ok || bad "a refused restore changed the database"
rc=0; "$I" restore --registry "$tgt" --from "$tmp/none.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && grep -q "cannot read" "$tmp/r.out" && ok || bad "restore from a missing file: $rc $(cat "$tmp/r.out")"
head -c 20000 /dev/urandom > "$tmp/garbage.sqlite"
rc=0; "$I" restore --registry "$tgt" --from "$tmp/garbage.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "not a registry backup" "$tmp/r.out" && ok || bad "restore from a garbage file: $rc $(cat "$tmp/r.out")"
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("create table t(x)"); c.commit()' "$tmp/other.sqlite"
rc=0; "$I" restore --registry "$tgt" --from "$tmp/other.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "not a registry backup" "$tmp/r.out" && ok || bad "restore from a SQLite file that is no registry: $rc $(cat "$tmp/r.out")"
[ "$(tsql "SELECT count(*) FROM status_lists") $(tsql "SELECT count(*) FROM audit_log")" = "0 0" ] && ok ||
  bad "a refused restore left rows in the target"
rc=0; "$I" restore --from "$tmp/b1.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 2 ] && ok || bad "restore without --data or --registry: $rc"

# ---- restore into the empty database ----
sha_b1=$(sha256sum < "$tmp/b1.sqlite")
recreate_target
"$I" restore --registry "$tgt" --from "$tmp/b1.sqlite" --next-list "$next" >"$tmp/restore.out" 2>&1 && ok ||
  bad "restore failed: $(cat "$tmp/restore.out")"
cat "$tmp/restore.out"
[ "$(sha256sum < "$tmp/b1.sqlite")" = "$sha_b1" ] && ok || bad "restore wrote to the backup file"
b_open=$(sqf "$tmp/b1.sqlite" "SELECT min(id) || '..' || max(id) FROM status_lists WHERE next_pos < size AND closed = 0")
b_max=$(sqf "$tmp/b1.sqlite" "SELECT max(id) FROM status_lists")
[ "$b_open" != ".." ] && grep -q "closed status lists $b_open " "$tmp/restore.out" && ok ||
  bad "restore does not report closing lists '$b_open' (none open at backup time?)"
if [ "$b_max" -lt "$max_list" ]; then
  grep -q "reserved status lists $((b_max + 1))..$max_list " "$tmp/restore.out" && ok ||
    bad "restore does not report reserving lists $((b_max + 1))..$max_list"
fi
[ "$(tsql "SELECT count(*) FROM status_lists WHERE next_pos < size AND NOT closed")" = 0 ] && ok || bad "a list is still open after the restore"
[ "$(tsql "SELECT max(id) FROM status_lists")" = "$max_list" ] && ok || bad "list ids up to $max_list not reserved"
c_b1=$(sq_counts "$tmp/b1.sqlite") c_t=$(pg_counts "$tgt")
want_lists=$(( $(sqf "$tmp/b1.sqlite" "SELECT count(*) FROM status_lists") + max_list - b_max ))
[ "$(echo "$c_t" | awk '{$5 = ""; print}')" = "$(echo "$c_b1" | awk '{$5 = ""; print}')" ] &&
  [ "$(echo "$c_t" | awk '{print $5}')" = "$want_lists" ] && ok || bad "restored counts '$c_t', backup '$c_b1' (+ reserved lists)"
[ "$(tsql "SELECT label, expires_at IS NOT NULL FROM tokens WHERE role = 'admin'")" = "night shift|t" ] && ok ||
  bad "the token label and expiry did not survive the restore"
[ "$(tsql "SELECT count(*) FROM status_lists WHERE uri IS NOT NULL")" = "$(sqf "$tmp/b1.sqlite" "SELECT count(*) FROM status_lists WHERE uri IS NOT NULL")" ] && ok ||
  bad "list URIs lost in the restore"
[ "$(tree "$tgt")" = "$tree_b1" ] && ok || bad "the restored audit log: tree head '$(tree "$tgt")', backup '$tree_b1'"
"$I" migrate --registry "$tgt" | grep -q "schema version 10" && ok || bad "migrate does not report version 10 (8: closed lists, 9: resident sessions and the outbox, 10: reminder page indexes)"

# ---- an issuer on the restored database ----
# Every (list, index) the source database handed out, before and after the backup.
sql "SELECT list_id, idx FROM credentials" > "$tmp/before_and_after.txt"
port_b=$(free_port)
reg=$tgt
start_instance b "$tmp/data" "$port_b" --list-size 512 --threads 4 --status-base-url "http://127.0.0.1:$port" ||
  { bad "B did not start on the restored database"; cat "$tmp/b.log" >&2; exit 1; }
rc=0; "$I" restore --registry "$tgt" --from "$tmp/b1.sqlite" >"$tmp/r.out" 2>&1 || rc=$?
[ $rc -eq 1 ] && grep -q "instance is using" "$tmp/r.out" && ok || bad "restore under the running instance B: $rc $(cat "$tmp/r.out")"
: > "$tmp/j.b"
python3 "$tmp/worker.py" 127.0.0.1 "$port_b" "$clerk" "$officer" "$tmp/ex" b1 "$tmp/j.b" 40 30 2>>"$tmp/worker.err" ||
  bad "load on the restored database failed: $(tail -n 3 "$tmp/worker.err")"
python3 - "$tmp/before_and_after.txt" "$next" "$tmp/j.b" "$tmp/j.1" "$tmp/j.2" "$tmp/j.3" >"$tmp/reuse.out" 2>&1 <<'PY' && ok || bad "$(cat "$tmp/reuse.out")"
import json, sys
old = {tuple(map(int, l.split("|"))) for l in open(sys.argv[1]) if l.strip()}
first_new = int(sys.argv[2])
new = [json.loads(l) for l in open(sys.argv[3])]
new = [(int(f[2]), int(f[3])) for f in new if f[0] == "issued"]
journal = set()
for j in sys.argv[4:]:
    journal |= {(int(f[2]), int(f[3])) for f in map(json.loads, open(j)) if f[0] == "issued"}
errors = []
if len(new) < 40: errors.append("only %d approvals on the restored database" % len(new))
if not journal <= old: errors.append("journal entries missing from the source database")
for p in new:
    if p in old: errors.append("index %d of list %d handed out again" % (p[1], p[0]))
    if p[0] < first_new: errors.append("new credential on list %d, opened before the restore" % p[0])
if len(set(new)) != len(new): errors.append("an index handed out twice after the restore")
print("%d new approvals, none on the %d indices of the source database (%d journaled)" % (len(new), len(old), len(journal)))
for e in errors[:20]: print("ERROR:", e)
sys.exit(1 if errors else 0)
PY
cat "$tmp/reuse.out"
[ -n "$(tree "$tgt")" ] && ok || bad "the audit log does not verify after new approvals on the restored database"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
