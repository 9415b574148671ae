# tests/pg/common.sh - shared by tests/pg/test_pg_*.sh (sourced): counters,
# example applications dated today, free ports, starting an issuer instance
# on the registry in $ECRED_TEST_REGISTRY, psql on the test cluster, and the
# load client (worker.py: submit, approve, random status walks, a journal
# line per acknowledged event, stops at its first transport error).
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
reg=$ECRED_TEST_REGISTRY
PSQL=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql
# sql QUERY: rows as "a|b|c" lines from the test's database.
sql() { "$PSQL" -X -At -F '|' -v ON_ERROR_STOP=1 "$reg" -c "$1"; }
# free_port (below the ephemeral range: these tests stop a daemon and start
# it again on the same port; seen once in CI: "A did not restart"), and
# wait_for / is_asan: the CLI tests' helpers, one copy.
. "$src/tests/cli/lib_issuerd.sh"
# start_instance NAME DATA PORT [args...]: start ecred-issuerd, set pid_NAME,
# wait (bounded: 60 s, for an ASan instance on a loaded machine) until it
# answers.
start_instance() {
  local name=$1 data=$2 port=$3; shift 3
  "$bin/ecred-issuerd" --data "$data" --registry "$reg" --listen "127.0.0.1:$port" "$@" \
    2>>"$tmp/$name.log" &
  local p=$!
  eval "pid_$name=$p"
  local end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    kill -0 "$p" 2>/dev/null || return 1
    curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/.well-known/ecred-trust" && return 0
    sleep 0.1
  done
  echo "waited 60 s for instance $name on port $port" >&2
  return 1
}
mkdir -p "$tmp/ex"
python3 - "$src/spec/examples/api" "$tmp/ex" <<'PY'
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
PY
cat > "$tmp/worker.py" <<'PY'
import http.client, json, os, random, sys, time
host, port, clerk, officer, exdir, wid, journal, max_ops, deadline = sys.argv[1:10]
port, max_ops, deadline = int(port), int(max_ops), time.time() + float(deadline)
# ECRED_WORKER_STOP=FILE: also stop (cleanly) once FILE exists, so a test can
# end the load on a condition (enough done) rather than after fixed seconds.
stop_file = os.environ.get("ECRED_WORKER_STOP")
tolerate_503 = len(sys.argv) > 10 and sys.argv[10] == "retry503"
rnd = random.Random()
out = open(journal, "a", buffering=1)
conn = http.client.HTTPConnection(host, port, timeout=15)
codes = {}
retried = False   # the last call() met a 503 and sent its request again
def call(method, path, token, body=None):
    # With retry503 a 503 (registry unavailable) is retried until the deadline.
    global retried
    retried = False
    while True:
        conn.request(method, path, body=body,
                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
        r = conn.getresponse()
        data = r.read()
        codes[r.status] = codes.get(r.status, 0) + 1
        if r.status == 503 and tolerate_503 and time.time() < deadline + 30:
            retried = True
            time.sleep(0.1)
            continue
        return r.status, data
templates = [json.load(open(exdir + "/permit_new.json")),
             json.load(open(exdir + "/residence_registration.json"))]
try:
    for n in range(max_ops):
        if time.time() > deadline or (stop_file and os.path.exists(stop_file)):
            break
        app = json.loads(json.dumps(rnd.choice(templates)))
        app["credential"]["address"] = "pg %s-%d-%d" % (wid, n, rnd.randrange(1 << 30))
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
        sl = c["status_list"]
        out.write(json.dumps(["issued", c["id"], sl["list"], sl["idx"], c["qr_text"]]) + "\n")
        status = "valid"
        for _ in range(rnd.randrange(0, 3)):
            moves = {"valid": [("suspend", "suspended"), ("revoke", "invalid")],
                     "suspended": [("resume", "valid"), ("revoke", "invalid")]}.get(status)
            if not moves:
                break
            action, to = rnd.choice(moves)
            out.write(json.dumps(["sent", c["id"], to]) + "\n")
            st, body = call("POST", "/v1/credentials/%s/%s" % (c["id"], action), officer,
                            json.dumps({"reason": "pg test"}).encode())
            if st == 409 and retried:
                # A 503 while the database went away need not mean nothing
                # was done: the commit may have landed and only its answer
                # been lost. The retry then finds the change made (409); it
                # counts as acknowledged only if the credential now holds it.
                st, body = call("GET", "/v1/credentials/%s" % c["id"], officer)
            if st != 200 or json.loads(body)["status"] != to:
                print("worker %s: %s gave %d %r" % (wid, action, st, body[:200]), file=sys.stderr)
                sys.exit(1)
            out.write(json.dumps(["acked", c["id"], to]) + "\n")
            status = to
except (OSError, http.client.HTTPException):
    pass  # the instance was killed: expected
print("worker %s: replies %s" % (wid, sorted(codes.items())), file=sys.stderr)
PY

# check.py REG SLIST_DUMP PUB LIST_SIZE PORT... -- JOURNALS...: the registry
# (through psql) against the journals and against the lists every instance
# on PORT... serves: acknowledged => present as returned; no (list, idx)
# twice; fill counters = rows; each list byte-identical (and same ETag) on
# every instance, and bit for bit the registry's statuses.
cat > "$tmp/check.py" <<'PY'
import http.client, json, os, subprocess, sys
reg, slist_dump, pub, list_size, psql = sys.argv[1:6]
rest = sys.argv[6:]
cut = rest.index("--")
ports, journals = [int(p) for p in rest[:cut]], rest[cut + 1:]
list_size = int(list_size)
errors = []
def err(m):
    if len(errors) < 30: errors.append(m)
def sql(q):
    out = subprocess.run([psql, "-X", "-At", "-F", "|", "-v", "ON_ERROR_STOP=1", reg, "-c", q],
                         capture_output=True, text=True, check=True).stdout
    return [l.split("|") for l in out.splitlines() if l]
NAME = {0: "valid", 1: "invalid", 2: "suspended"}
issued, allowed = {}, {}
for j in journals:
    last, pending = {}, {}
    for line in open(j):
        f = json.loads(line)
        if f[0] == "issued":
            issued[f[1]] = (int(f[2]), int(f[3]), f[4]); last[f[1]] = "valid"; pending[f[1]] = set()
        elif f[0] == "sent":
            pending.setdefault(f[1], set()).add(f[2])
        elif f[0] == "acked":
            last[f[1]] = f[2]; pending[f[1]] = set()
    for c in last:
        allowed[c] = {last[c]} | pending.get(c, set())
    for c in pending:  # changes sent in a later journal than the issue
        if c not in last:
            allowed[c] = allowed.get(c, set()) | pending[c]
rows = {r[0]: (int(r[1]), int(r[2]), int(r[3]), r[4]) for r in
        sql("SELECT id, list_id, idx, status, qr_text FROM credentials")}
lists = {int(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in
         sql("SELECT l.id, l.size, (SELECT COALESCE(SUM(n),0) FROM status_list_used u"
             " WHERE u.list_id = l.id), l.generation FROM status_lists l")}
seen = {}
for cid, (lid, idx, st, qr) in rows.items():
    if (lid, idx) in seen: err("index %d of list %d used twice" % (idx, lid))
    seen[(lid, idx)] = cid
    if lid not in lists or not 0 <= idx < lists[lid][0]: err("credential %s outside its list" % cid)
for lid, (size, used, gen) in lists.items():
    n = sum(1 for r in rows.values() if r[0] == lid)
    if size != list_size or used != n: err("list %d: size %d used %d, %d rows" % (lid, size, used, n))
for cid, (lid, idx, qr) in issued.items():
    if cid not in rows: err("acknowledged credential %s missing" % cid); continue
    if rows[cid][:2] != (lid, idx) or rows[cid][3] != qr: err("credential %s changed" % cid)
    if NAME[rows[cid][2]] not in allowed[cid]:
        err("credential %s is %s, acknowledged/sent %s" % (cid, NAME[rows[cid][2]], sorted(allowed[cid])))
tmpdir = os.path.dirname(journals[0]) if journals else "/tmp"
for lid in sorted(lists):
    got = []
    for port in ports:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        c.request("GET", "/status/%d" % lid)
        r = c.getresponse(); body = r.read()
        got.append((r.status, r.getheader("ETag"), body))
    if any(g[0] != 200 for g in got): err("list %d: HTTP %r" % (lid, [g[0] for g in got])); continue
    if len({(g[1], g[2]) for g in got}) != 1: err("list %d: instances serve different tokens" % lid)
    f = "%s/list%d.cwt" % (tmpdir, lid)
    open(f, "wb").write(got[0][2])
    p = subprocess.run([slist_dump, f, pub], capture_output=True, text=True)
    if p.returncode != 0: err("list %d does not verify: %s" % (lid, p.stderr.strip())); continue
    nonzero = {int(a): int(b) for a, b in (l.split() for l in p.stdout.splitlines()[5:])}
    want = {r[1]: r[2] for r in rows.values() if r[0] == lid and r[2] != 0}
    if nonzero != want: err("list %d served %r, registry %r" % (lid, nonzero, want))
print("checked %d acknowledged of %d credentials on %d lists, %d instances" %
      (len(issued), len(rows), len(lists), len(ports)))
for e in errors: print("ERROR: " + e)
sys.exit(1 if errors else 0)
PY
