#!/usr/bin/env bash
# Storage faults for ecred-issuerd (issue 5, Hardening), on a small tmpfs:
#   - read-only data directory at start (a read-only bind mount: chmod does
#     not stop root): exit 1 with a message naming what failed, both for a
#     set-up directory and an empty one;
#   - disk full while running: submissions and approvals fail with a 5xx and
#     a JSON {code, hint, detail} body, reads keep working, the daemon stays
#     up; once space is freed approvals work again, and after kill -9 and a
#     restart every acknowledged credential is there, SQLite's integrity
#     check passes and the served status lists match the registry;
#   - data directory remounted read-only while running (when the kernel
#     allows it with the registry open): 5xx with JSON, then recovery.
# Mounting needs root and a kernel that lets us: when a mount fails, the
# cases that need it are skipped with a message, not failed.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/issuerd_faults.$$
mkdir -p "$tmp/mnt" "$tmp/ro" "$tmp/ex"
pid="" mounted="" bound=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ -z "$bound" ] || umount "$tmp/ro" 2>/dev/null || true
  [ -z "$mounted" ] || umount "$tmp/mnt" 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! mount -t tmpfs -o size=8m,mode=0700 tmpfs "$tmp/mnt" 2>"$tmp/mount.err"; then
  echo "SKIP: cannot mount a tmpfs ($(cat "$tmp/mount.err")): storage fault cases need root and mounts"
  exit 0
fi
mounted=1
data=$tmp/mnt/data
mkdir -p "$data"
# free_port: below the ephemeral range: the daemon is restarted once on the
# same port after kill -9, and an ephemeral port may meanwhile be any
# client's source port.
. "$src/tests/cli/lib_issuerd.sh"
python3 - "$src/spec/examples/api/permit_new.json" "$tmp/ex/permit_new.json" <<'EOF'
import datetime, json, sys
body = json.load(open(sys.argv[1]))
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
shift = today - datetime.date(2026, 11, 26)
for k in ("registration_date", "valid_from", "valid_until", "endorsement_date"):
    body["credential"][k] = (datetime.date.fromisoformat(body["credential"][k]) + shift).isoformat()
json.dump(body, open(sys.argv[2], "w"), ensure_ascii=False)
EOF
# start_daemon DIR: start on $port and wait (bounded) until it answers.
start_daemon() {
  "$bin/ecred-issuerd" --data "$1" --listen "127.0.0.1:$port" --list-size 16 \
    --status-base-url "http://127.0.0.1:$port" 2>>"$tmp/daemon.log" &
  pid=$!
  local end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; return 1; fi
    if curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/.well-known/ecred-trust"; then return 0; fi
    sleep 0.1
  done
  echo "waited 60 s for ecred-issuerd on port $port" >&2
  kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""
  return 1
}
stop_daemon() { kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

# ---- read-only data directory at start ----
bind_ro() { mount --bind "$1" "$tmp/ro" && bound=1 && mount -o remount,ro,bind "$tmp/ro"; }
# start_ro_fails WHAT: the daemon on the read-only view exits 1 with a message.
start_ro_fails() {
  local rc=0
  timeout 20 "$bin/ecred-issuerd" --data "$tmp/ro" --listen "127.0.0.1:$(free_port)" >"$tmp/ro.out" 2>"$tmp/ro.err" || rc=$?
  if [ $rc -eq 1 ] && grep -q "ecred-issuerd: .*$tmp/ro" "$tmp/ro.err"; then ok
  else bad "read-only $1 data dir: exit $rc, want 1 with a message naming the path: $(head -c 300 "$tmp/ro.err")"; fi
}
mkdir -p "$tmp/mnt/empty"
if bind_ro "$tmp/mnt/empty"; then
  start_ro_fails empty
  umount "$tmp/ro"; bound=""
else
  echo "SKIP: read-only bind mount failed: read-only-at-start cases skipped"
  [ -z "$bound" ] || { umount "$tmp/ro" || true; bound=""; }
fi

port=$(free_port)
started=0
for _ in $(seq 1 5); do if start_daemon "$data"; then started=1; break; fi; port=$(free_port); done
[ $started -eq 1 ] || { echo "FAIL: daemon did not start: $(tail -3 "$tmp/daemon.log")"; exit 1; }
clerk=$("$bin/ecred-issuerd" token add --data "$data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer)
base="http://127.0.0.1:$port"
C=(-H "Authorization: Bearer $clerk")
O=(-H "Authorization: Bearer $officer")
: > "$tmp/acked"
n=0
# issue: submit and approve one application. Prints the two HTTP statuses;
# an acknowledged credential goes to $tmp/acked ("ID LIST IDX").
issue() {
  n=$((n + 1))
  python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["credential"]["address"]="faults %s" % sys.argv[2]; print(json.dumps(j))' \
    "$tmp/ex/permit_new.json" "$n" > "$tmp/app.json"
  local c1 c2 app
  c1=$(curl -s -m 20 -o "$tmp/r1" -w '%{http_code}' -X POST "${C[@]}" --data-binary @"$tmp/app.json" "$base/v1/applications" || true)
  if [ "$c1" != 201 ]; then echo "$c1 -"; return; fi
  app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/r1")
  c2=$(curl -s -m 20 -o "$tmp/r2" -w '%{http_code}' -X POST "${O[@]}" "$base/v1/applications/$app/approve" || true)
  if [ "${c2:0:1}" = 2 ]; then
    python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["credential"]; print(c["id"], c["status_list"]["list"], c["status_list"]["idx"])' \
      "$tmp/r2" >> "$tmp/acked"
  fi
  echo "$c1 $c2"
}
# is_5xx_json FILE: a 5xx error body of the documented shape.
is_5xx_json() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if set(d)=={"code","hint","hint_zh","detail"} and d["code"] and d["hint"] else 1)' "$1"
}
# consistent: integrity check, every acknowledged credential served as
# acknowledged, and every served list equal to the registry, bit for bit.
consistent() {
  python3 - "$data/registry.sqlite" "$tmp/acked" "$base" "$officer" "$bin/slist_dump" "$data/signing.pub.pem" "$tmp" <<'EOF'
import json, sqlite3, subprocess, sys, urllib.request
dbp, acked, base, officer, dump, pub, tmp = sys.argv[1:8]
db = sqlite3.connect("file:%s?mode=ro" % dbp, uri=True)
errs = []
if db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
    errs.append("integrity_check failed")
rows = {r[0]: r[1:] for r in db.execute("SELECT id, list_id, idx, status FROM credentials")}
lists = [r[0] for r in db.execute("SELECT id FROM status_lists")]
for line in open(acked):
    cid, lid, idx = line.split()
    if cid not in rows or rows[cid][:2] != (int(lid), int(idx)):
        errs.append("acknowledged credential %s missing or moved" % cid)
    req = urllib.request.Request(base + "/v1/credentials/" + cid, headers={"Authorization": "Bearer " + officer})
    try:
        urllib.request.urlopen(req, timeout=10).read()
    except Exception as e:
        errs.append("GET credential %s: %s" % (cid, e))
for lid in lists:
    body = urllib.request.urlopen("%s/status/%d" % (base, lid), timeout=10).read()
    open(tmp + "/list.cwt", "wb").write(body)
    out = subprocess.run([dump, tmp + "/list.cwt", pub], capture_output=True, text=True).stdout.splitlines()
    got = {int(a): int(b) for a, b in (l.split() for l in out[5:])}
    want = {r[1]: r[2] for r in rows.values() if r[0] == lid and r[2]}
    if got != want:
        errs.append("list %d served %r, registry %r" % (lid, got, want))
print("\n".join(errs) or "consistent: %d credentials, %d lists" % (len(rows), len(lists)))
sys.exit(1 if errs else 0)
EOF
}

for _ in 1 2 3; do r=$(issue); [ "$r" = "201 201" ] && ok || bad "approval before the fault: $r"; done
# A suspension, so the lists have a bit to compare.
first=$(head -n 1 "$tmp/acked" | cut -d' ' -f1)
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "${O[@]}" "$base/v1/credentials/$first/suspend")
[ "$code" = 200 ] && ok || bad "suspend before the fault: $code"

# ---- disk full while running ----
dd if=/dev/zero of="$tmp/mnt/filler" bs=64k 2>/dev/null || true   # stops at ENOSPC
saw5xx=0 other=""
for _ in $(seq 1 8); do
  r=$(issue)
  case "$r" in
    "201 201") ;;                                   # the WAL still had room: fine if durable
    5??" -") is_5xx_json "$tmp/r1" && saw5xx=1 || other="$other [$r: $(head -c 200 "$tmp/r1")]" ;;
    "201 5"??) is_5xx_json "$tmp/r2" && saw5xx=1 || other="$other [$r: $(head -c 200 "$tmp/r2")]" ;;
    *) other="$other [$r]" ;;
  esac
done
[ $saw5xx -eq 1 ] && ok || bad "disk full: no 5xx with a JSON error"
[ -z "$other" ] && ok || bad "disk full: unexpected replies:$other"
grep -h '"code"' "$tmp/r1" "$tmp/r2" 2>/dev/null | head -c 300; echo
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "${O[@]}" "$base/v1/credentials/$first/resume")
case "$code" in 200|5??) ok ;; *) bad "resume on a full disk: HTTP $code" ;; esac
[ "$code" = 200 ] && echo "$first" > "$tmp/resumed" || true
kill -0 "$pid" 2>/dev/null && ok || bad "daemon died on a full disk"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "${O[@]}" "$base/v1/credentials/$first")
[ "$code" = 200 ] && ok || bad "read on a full disk: HTTP $code"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$base/status/1")
[ "$code" = 200 ] && ok || bad "status list on a full disk: HTTP $code"

# ---- space back: everything works, nothing lost or corrupted ----
rm -f "$tmp/mnt/filler"
for _ in 1 2; do r=$(issue); [ "$r" = "201 201" ] && ok || bad "approval after the disk was freed: $r $(head -c 200 "$tmp/r2")"; done
if out=$(consistent); then ok; else bad "after disk full: $out"; fi
stop_daemon
if start_daemon "$data"; then ok; else bad "no restart after kill -9 following disk full"; tail -3 "$tmp/daemon.log" >&2; fi
if [ -n "$pid" ]; then
  if out=$(consistent); then ok; else bad "after disk full and kill -9: $out"; fi
  r=$(issue); [ "$r" = "201 201" ] && ok || bad "approval after restart: $r"
fi

# ---- read-only while running (remount of the tmpfs) ----
if [ -n "$pid" ]; then
  if mount -o remount,ro "$tmp/mnt" 2>"$tmp/remount.err"; then
    saw5xx=0 other=""
    for _ in 1 2 3; do
      r=$(issue)
      case "$r" in
        5??" -") is_5xx_json "$tmp/r1" && saw5xx=1 || other="$other [$r]" ;;
        "201 5"??) is_5xx_json "$tmp/r2" && saw5xx=1 || other="$other [$r]" ;;
        *) other="$other [$r]" ;;
      esac
    done
    [ $saw5xx -eq 1 ] && [ -z "$other" ] && ok || bad "read-only while running: want 5xx JSON, got$other"
    kill -0 "$pid" 2>/dev/null && ok || bad "daemon died on a read-only data dir"
    mount -o remount,rw "$tmp/mnt"
    r=$(issue); [ "$r" = "201 201" ] && ok || bad "approval after the data dir is writable again: $r"
    if out=$(consistent); then ok; else bad "after read-only: $out"; fi
  else
    echo "SKIP: cannot remount the data dir read-only while the registry is open ($(cat "$tmp/remount.err"))"
  fi
fi

# ---- read-only set-up data directory at start ----
stop_daemon
if bind_ro "$data" 2>/dev/null; then
  start_ro_fails set-up
  umount "$tmp/ro"; bound=""
else
  echo "SKIP: read-only bind mount failed: read-only-at-start case skipped"
fi
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$tmp/daemon.log"; then
  bad "sanitizer report: $(grep -h "ERROR: AddressSanitizer\|runtime error:" "$tmp/daemon.log" | head -3)"
else
  ok
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
