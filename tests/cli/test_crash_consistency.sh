#!/usr/bin/env bash
# Crash consistency of ecred-issuerd (issue 5, Hardening): for N rounds
# (ECRED_CRASH_ROUNDS, default 5), four concurrent clients submit, approve and
# change the status (suspend/resume/revoke) of credentials while the daemon is
# killed with SIGKILL at a random moment; after the restart every
# acknowledged credential (a 2xx reply carrying its QR text) must be in the
# registry with its list, index and QR text and verify against the served
# trust and status lists (ecred-verify sync + --cache), every acknowledged
# status change must hold (or a later one the client sent but never saw
# answered), no (list, index) pair may be used twice, every list's `used`
# count must match its rows, and every served status list must agree bit for
# bit with the registry (no bit set for an index nobody holds). Lists have 16
# entries so roll-over to new lists happens many times a round.
# Loopback only, bounded loops, everything cleaned up on exit.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/crash_consistency.$$
rounds=${ECRED_CRASH_ROUNDS:-5}
mkdir -p "$tmp/data" "$tmp/ex"
data=$tmp/data
pid="" workers=""
cleanup() {
  for w in $workers; do kill "$w" 2>/dev/null || true; done
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

# Example applications with their dates moved to today (CST) so credentials
# verify as valid on any day the suite runs (as test_issuerd_lifecycle.sh).
python3 - "$src/spec/examples/api" "$tmp/ex" <<'EOF'
import datetime, json, os, sys
src, dst = sys.argv[1], sys.argv[2]
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
shift = today - datetime.date(2026, 11, 26)
for name in ("permit_new.json", "residence_registration.json"):
    body = json.load(open(os.path.join(src, name)))
    cred = body["credential"]
    for k in ("registration_date", "valid_from", "valid_until", "endorsement_date"):
        if k in cred:
            cred[k] = (datetime.date.fromisoformat(cred[k]) + shift).isoformat()
    json.dump(body, open(os.path.join(dst, name), "w"), ensure_ascii=False)
EOF

# ---- the client: one per worker, writes a journal line per event ----
# Journal lines (JSON arrays, flushed one by one; QR text holds spaces):
# ["issued", CRED, LIST, IDX, QR] after a 2xx approval; ["sent", CRED, STATUS]
# before a status change and ["acked", CRED, STATUS] after its 200. The client stops at its first transport error (the daemon
# died), after MAX_OPS credentials or after DEADLINE seconds.
cat > "$tmp/worker.py" <<'EOF'
import http.client, json, random, sys, time
host, port, clerk, officer, exdir, wid, journal, max_ops, deadline = sys.argv[1:10]
port, max_ops, deadline = int(port), int(max_ops), time.time() + float(deadline)
rnd = random.Random()
out = open(journal, "a", buffering=1)
conn = http.client.HTTPConnection(host, port, timeout=15)
def call(method, path, token, body=None):
    conn.request(method, path, body=body,
                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()
templates = [json.load(open(exdir + "/permit_new.json")),
             json.load(open(exdir + "/residence_registration.json"))]
try:
    for n in range(max_ops):
        if time.time() > deadline:
            break
        app = json.loads(json.dumps(rnd.choice(templates)))
        app["credential"]["address"] = "crash %s-%d-%d" % (wid, n, rnd.randrange(1 << 30))
        st, body = call("POST", "/v1/applications", clerk, json.dumps(app, ensure_ascii=False).encode())
        if st != 201:
            print("worker %s: create gave %d %r" % (wid, st, body[:200]), file=sys.stderr)
            sys.exit(1)
        app_id = json.loads(body)["id"]
        st, body = call("POST", "/v1/applications/%s/approve" % app_id, officer)
        if st // 100 != 2:
            print("worker %s: approve gave %d %r" % (wid, st, body[:200]), file=sys.stderr)
            sys.exit(1)
        c = json.loads(body)["credential"]
        if not c.get("qr_text"):
            continue
        sl = c["status_list"]
        out.write(json.dumps(["issued", c["id"], sl["list"], sl["idx"], c["qr_text"]]) + "\n")
        # A random walk of status changes on our own credential, so the
        # last acknowledged change per credential is well defined.
        status = "valid"
        for _ in range(rnd.randrange(0, 4)):
            moves = {"valid": [("suspend", "suspended"), ("revoke", "invalid")],
                     "suspended": [("resume", "valid"), ("revoke", "invalid")]}.get(status)
            if not moves:
                break
            action, to = rnd.choice(moves)
            out.write(json.dumps(["sent", c["id"], to]) + "\n")
            st, body = call("POST", "/v1/credentials/%s/%s" % (c["id"], action), officer,
                            json.dumps({"reason": "crash test"}).encode())
            if st != 200 or json.loads(body)["status"] != to:
                print("worker %s: %s gave %d %r" % (wid, action, st, body[:200]), file=sys.stderr)
                sys.exit(1)
            out.write(json.dumps(["acked", c["id"], to]) + "\n")
            status = to
except (OSError, http.client.HTTPException):
    pass  # the daemon was killed: expected
EOF

# ---- the checker: registry, API, served lists, journals ----
cat > "$tmp/check.py" <<'EOF'
import http.client, json, os, sqlite3, subprocess, sys
host, port, officer, dbpath, slist_dump, pub, list_size = sys.argv[1:8]
journals = sys.argv[8:]
port, list_size = int(port), int(list_size)
errors = []
def err(msg):
    if len(errors) < 30:
        errors.append(msg)
conn = http.client.HTTPConnection(host, port, timeout=15)
def get(path, token=None):
    conn.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
    r = conn.getresponse()
    return r.status, r.read()
NAME = {0: "valid", 1: "invalid", 2: "suspended"}
BIT = {"valid": 0, "invalid": 1, "suspended": 2}

# Journals: issued credentials and the statuses each may now have.
issued, allowed = {}, {}
for j in journals:
    last, pending = {}, {}
    for line in open(j):
        f = json.loads(line)
        if f[0] == "issued":
            issued[f[1]] = (int(f[2]), int(f[3]), f[4])
            last[f[1]] = "valid"; pending[f[1]] = set()
        elif f[0] == "sent":
            pending.setdefault(f[1], set()).add(f[2])
        elif f[0] == "acked":
            last[f[1]] = f[2]; pending[f[1]] = set()
    for c in last:
        allowed[c] = {last[c]} | pending.get(c, set())

# The registry as stored (read-only; the daemon keeps running).
db = sqlite3.connect("file:%s?mode=ro" % dbpath, uri=True)
rows = {r[0]: r[1:] for r in db.execute("SELECT id, list_id, idx, status, qr_text FROM credentials")}
lists = {r[0]: (r[1], r[2]) for r in db.execute("SELECT id, size, used FROM status_lists")}
db.close()
seen = {}
for cid, (lid, idx, status, qr) in rows.items():
    if (lid, idx) in seen:
        err("index %d of list %d used by %s and %s" % (idx, lid, seen[(lid, idx)], cid))
    seen[(lid, idx)] = cid
    if lid not in lists:
        err("credential %s on unknown list %d" % (cid, lid))
    elif not 0 <= idx < lists[lid][0]:
        err("credential %s index %d outside list %d of %d" % (cid, idx, lid, lists[lid][0]))
for lid, (size, used) in lists.items():
    n = sum(1 for r in rows.values() if r[0] == lid)
    if size != list_size or used != n:
        err("list %d: size %d used %d but %d credentials" % (lid, size, used, n))

# Every acknowledged credential: in the registry and served as returned.
for cid, (lid, idx, qr) in issued.items():
    if cid not in rows:
        err("acknowledged credential %s missing from the registry" % cid)
        continue
    if rows[cid][:2] != (lid, idx) or rows[cid][3] != qr:
        err("credential %s changed: registry %r, returned %r" % (cid, rows[cid][:2], (lid, idx)))
    st, body = get("/v1/credentials/" + cid, officer)
    if st != 200:
        err("GET credential %s: HTTP %d" % (cid, st))
        continue
    c = json.loads(body)
    if c["qr_text"] != qr or c["status_list"]["idx"] != idx or c["status_list"]["list"] != lid:
        err("credential %s served differently from its acknowledgement" % cid)
    if NAME[rows[cid][2]] not in allowed[cid]:
        err("credential %s is %s, acknowledged/sent %s" % (cid, NAME[rows[cid][2]], sorted(allowed[cid])))

# Every served list against every registry row, both ways.
st, body = get("/.well-known/ecred-status-lists")
served = json.loads(body)["lists"] if st == 200 else []
if len(served) != len(lists):
    err("%d lists served, %d in the registry" % (len(served), len(lists)))
for lid in lists:
    st, body = get("/status/%d" % lid)
    if st != 200:
        err("GET /status/%d: HTTP %d" % (lid, st))
        continue
    tokfile = "%s/list%d.cwt" % (os.path.dirname(journals[0]), lid)
    open(tokfile, "wb").write(body)
    p = subprocess.run([slist_dump, tokfile, pub], capture_output=True, text=True)
    if p.returncode != 0:
        err("list %d does not verify: %s" % (lid, p.stderr.strip()))
        continue
    lines = p.stdout.splitlines()
    count = int(lines[2].split()[1])
    nonzero = {int(a): int(b) for a, b in (l.split() for l in lines[5:])}
    if count < lists[lid][0]:
        err("list %d serves %d entries, registry size %d" % (lid, count, lists[lid][0]))
    want = {r[1]: r[2] for r in rows.values() if r[0] == lid and r[2] != 0}
    if nonzero != want:
        err("list %d served %r, registry says %r" % (lid, nonzero, want))
# A sample of this round's acknowledged credentials verifies offline against
# the served trust list and status lists (ecred-verify sync + --cache) with the
# status the registry holds: VERIFY_BIN, VERIFY_CACHE and VERIFY_JOURNALS (a
# name prefix) select them. A sample, because one process per credential is
# slow under ASan; the served lists were compared bit by bit above.
vbin, vcache, vpre = (os.environ.get(k) for k in ("VERIFY_BIN", "VERIFY_CACHE", "VERIFY_JOURNALS"))
if vbin and vcache and vpre:
    mine = []
    for j in journals:
        if j.startswith(vpre):
            mine += [json.loads(l)[1] for l in open(j) if l.startswith('["issued"')]
    mine = [c for c in mine if c in rows]
    changed = [c for c in mine if rows[c][2] != 0][:6]
    plain = [c for c in mine if rows[c][2] == 0][:6]
    for cid in changed + plain:
        p = subprocess.run([vbin, "--cache", vcache, "--json", rows[cid][3]], capture_output=True, text=True)
        try:
            got = json.loads(p.stdout)["reason"]
        except ValueError:
            got = "?"
        want = {0: "ok", 1: "revoked", 2: "suspended"}[rows[cid][2]]
        if got != want:
            err("credential %s: ecred-verify says %s, registry %s: %s" % (cid, got, want, p.stdout[:300]))
    print("verified %d credentials with ecred-verify" % len(changed + plain))
print("checked %d acknowledged of %d credentials on %d lists" % (len(issued), len(rows), len(lists)))
for e in errors:
    print("ERROR: " + e)
sys.exit(1 if errors else 0)
EOF

# free_port: below the ephemeral range: every round restarts on the same
# port, which a client's connect() could take were it an ephemeral one.
. "$src/tests/cli/lib_issuerd.sh"
# The registry by URL (the default file, named explicitly: --registry is what
# a PostgreSQL run will change); a registry this build cannot open is refused
# up front with a usage error that says why.
reg="sqlite:$data/registry.sqlite"
for u in "mysql://x/y" "sqlite:"; do
  rc=0; "$bin/ecred-issuerd" --data "$data" --listen 127.0.0.1:1 --registry "$u" 2>"$tmp/refused.log" || rc=$?
  if [ "$rc" -eq 2 ] && grep -q -- "--registry: " "$tmp/refused.log"; then ok; else bad "--registry $u: exit $rc"; fi
done
# A postgres:// registry that does not answer: a plain failure (exit 1), not a usage error.
rc=0; "$bin/ecred-issuerd" token add --data "$data" --role clerk \
  --registry "postgres://ecred@127.0.0.1:1/ecred?connect_timeout=2" >/dev/null 2>&1 || rc=$?
{ [ "$rc" -eq 1 ] || [ "$rc" -eq 2 ]; } && ok || bad "token add on an unreachable postgres:// registry: exit $rc, want 1 (2 without PostgreSQL support)"
# start_daemon: start on $port and wait (bounded) until it answers.
start_daemon() {
  "$bin/ecred-issuerd" --data "$data" --registry "$reg" --listen "127.0.0.1:$port" --list-size 16 \
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
# restart: the port of the killed daemon may linger briefly; retry, bounded.
restart() {
  for _ in $(seq 1 20); do start_daemon && return 0; sleep 0.5; done
  return 1
}
started=0
for _ in $(seq 1 10); do port=$(free_port); if start_daemon; then started=1; break; fi; done
if [ $started -ne 1 ]; then echo "FAIL: daemon did not start"; cat "$tmp/daemon.log" >&2; exit 1; fi
clerk=$("$bin/ecred-issuerd" token add --data "$data" --registry "$reg" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer) # the default: the same file

all_journals=()
for round in $(seq 1 "$rounds"); do
  workers=""
  for w in 1 2 3 4; do
    j="$tmp/journal.$round.$w"; : > "$j"; all_journals+=("$j")
    python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" "$round.$w" "$j" 200 20 \
      2>>"$tmp/worker.err" &
    workers="$workers $!"
  done
  # Kill at a random moment once the first credential reached a client
  # (bounded wait: an ASan build on a loaded machine is slow; grep reads the
  # journals itself: `cat | grep -q` under pipefail fails when cat gets
  # SIGPIPE, so the wait ran out with credentials already issued).
  wait_for 60 "a first credential issued in round $round" \
    "grep -qs '^\\[\"issued\"' \"\$tmp\"/journal.$round.*" || true
  sleep "0.$((RANDOM % 10))"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  for w in $workers; do wait "$w" || bad "round $round: a client failed: $(tail -n 3 "$tmp/worker.err")"; done
  workers=""
  n=$(cat "$tmp"/journal."$round".* | grep -c '^\["issued"' || true)
  if [ "$n" -gt 0 ]; then ok; else bad "round $round: no credential acknowledged before the kill"; fi
  if restart; then ok; else bad "round $round: no restart after kill -9"; tail -5 "$tmp/daemon.log" >&2; break; fi
  # Sync a fresh cache from the restarted daemon for check.py's ecred-verify sample.
  venv=()
  if [ -x "$bin/ecred-verify" ]; then
    rm -rf "$tmp/cache"
    if "$bin/ecred-verify" sync --issuer "http://127.0.0.1:$port" --root "$data/root.pub.pem" \
         --cache "$tmp/cache" >"$tmp/sync.out" 2>&1; then
      ok; venv=(VERIFY_BIN="$bin/ecred-verify" VERIFY_CACHE="$tmp/cache" VERIFY_JOURNALS="$tmp/journal.$round.")
    else
      bad "round $round: sync: $(cat "$tmp/sync.out")"
    fi
  fi
  if env "${venv[@]}" python3 "$tmp/check.py" 127.0.0.1 "$port" "$officer" "$data/registry.sqlite" "$bin/slist_dump" \
       "$data/signing.pub.pem" 16 "${all_journals[@]}" > "$tmp/check.out" 2>&1; then
    ok
  else
    bad "round $round: $(cat "$tmp/check.out")"
  fi
  [ -z "${VERBOSE:-}" ] || cat "$tmp/check.out"
done

# After the last crash new approvals still work and take fresh indices (the
# checker's uniqueness test covers them).
j="$tmp/journal.final"; : > "$j"; all_journals+=("$j")
if python3 "$tmp/worker.py" 127.0.0.1 "$port" "$clerk" "$officer" "$tmp/ex" final "$j" 5 20 2>>"$tmp/worker.err" &&
   [ "$(grep -c '^\["issued"' "$j")" = 5 ]; then ok; else bad "approvals after the last restart: $(tail -n 3 "$tmp/worker.err")"; fi
if python3 "$tmp/check.py" 127.0.0.1 "$port" "$officer" "$data/registry.sqlite" "$bin/slist_dump" \
     "$data/signing.pub.pem" 16 "${all_journals[@]}" > "$tmp/check.out" 2>&1; then ok; else bad "final: $(cat "$tmp/check.out")"; fi
echo "$(tail -n 1 "$tmp/check.out" | grep checked || true)"
if grep '"level":"error"' "$tmp/daemon.log" | grep -v '"terminated"' >/dev/null; then
  bad "daemon logged errors: $(grep '"level":"error"' "$tmp/daemon.log" | grep -v '"terminated"' | head -3)"
else
  ok
fi
echo "$pass passed, $fail failed ($rounds rounds)"
[ "$fail" -eq 0 ]
