#!/usr/bin/env bash
# Two ecred-issuerd instances on one PostgreSQL registry share resident
# sign-in and the reminder outbox (shared resident sessions), with a real OpenID provider
# (tests/oidc/idp.mjs) and a test gateway:
# - a sign-in started on A whose callback reaches B (the provider knows one
#   redirect URI, B's) signs the resident in; the same callback again, on
#   either instance, is refused (one-use state); the session works on both;
#   a sign-out on B signs the resident out on A too;
# - a reminder that falls due is delivered once by the pair;
# - a second reminder whose delivery hangs at the gateway: the instance
#   holding its lease is killed (kill -9) mid-request; the other delivers
#   it with the same Idempotency-Key only after the lease ran out.
# Args: BIN_DIR SOURCE_DIR TMP_DIR CLUSTER_DIR; ECRED_TEST_REGISTRY the
# database. Exits 77 without node and tests/oidc/node_modules.
set -euo pipefail
bin=$1 src=$2 tmp=$3/pg_sessions.$$
oidc=$src/tests/oidc
if ! command -v node >/dev/null || [ ! -d "$oidc/node_modules/oidc-provider" ]; then
  echo "SKIP: node or tests/oidc/node_modules missing (run scripts/setup-test-tools)"; exit 77
fi
mkdir -p "$tmp/a" "$tmp/b"
pid_a="" pid_b="" pid_idp="" pid_rcv=""
cleanup() {
  for p in $pid_idp $pid_rcv; do kill "$p" 2>/dev/null || true; done
  for p in $pid_a $pid_b; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
source "$src/tests/pg/common.sh"

LEASE=10
port_a=$(free_port) port_b=$(free_port) iport=$(free_port) rport=$(free_port)
A=http://127.0.0.1:$port_a B=http://127.0.0.1:$port_b idp=http://127.0.0.1:$iport
node "$oidc/idp.mjs" "$iport" "$B/v1/resident/callback" >"$tmp/idp.log" 2>&1 & pid_idp=$!

# The gateway: counts attempts per Idempotency-Key (with their times) and
# applies each key's effect once; while $tmp/hang exists it holds requests
# unanswered (as a gateway that hangs) and answers nothing.
cat > "$tmp/receiver.py" <<'PY'
import http.server, json, os, sys, threading, time
port, state, hang = int(sys.argv[1]), sys.argv[2], sys.argv[3]
lock = threading.Lock()
s = {"attempts": {}, "times": {}, "effects": []}
def save():
    tmpf = state + ".tmp"
    json.dump(s, open(tmpf, "w")); os.replace(tmpf, state)
save()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        key = self.headers.get("Idempotency-Key", "")
        hanging = os.path.exists(hang)
        with lock:
            s["attempts"][key] = s["attempts"].get(key, 0) + 1
            s["times"].setdefault(key, []).append(time.time())
            if not hanging and not any(e["key"] == key for e in s["effects"]):
                s["effects"].append({"key": key, "credential_id": json.loads(body)["credential_id"]})
            save()
        if hanging:
            time.sleep(30)  # the sender times out (or dies) first
            return
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
PY
python3 "$tmp/receiver.py" "$rport" "$tmp/receiver.json" "$tmp/hang" & pid_rcv=$!
# Listening before any instance may send (an attempt refused at connect is
# one the outbox counts and the gateway does not). Any HTTP answer will do.
end=$(($(date +%s) + 60))
until curl -s -m 2 -o /dev/null "http://127.0.0.1:$rport/"; do
  [ "$(date +%s)" -lt "$end" ] || { bad "the gateway stand-in did not start"; exit 1; }
  sleep 0.1
done

common=(--list-size 16 --threads 4 --status-base-url "$A" --oidc-issuer "$idp" --oidc-client-id ecred-resident
        --oidc-redirect-uri "$B/v1/resident/callback"
        --notify-webhook "http://127.0.0.1:$rport/hook" --notify-interval 1 --notify-lease $LEASE)
start_instance a "$tmp/a" "$port_a" "${common[@]}" || { bad "A did not start"; cat "$tmp/a.log" >&2; exit 1; }
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/a" --registry "$reg" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/a" --registry "$reg" --role officer)
kill "$pid_a"; wait "$pid_a" 2>/dev/null || true
cp -a "$tmp/a/." "$tmp/b/"
start_instance a "$tmp/a" "$port_a" "${common[@]}" || { bad "A did not restart"; exit 1; }
start_instance b "$tmp/b" "$port_b" "${common[@]}" || { bad "B did not start"; cat "$tmp/b.log" >&2; exit 1; }
end=$(($(date +%s) + 60))   # node's IdP starts slowly on a loaded machine
until curl -sf -m 2 -o /dev/null "$idp/.well-known/openid-configuration"; do
  [ "$(date +%s)" -lt "$end" ] || { bad "the IdP did not start: $(tail -3 "$tmp/idp.log" 2>/dev/null)"; exit 1; }
  sleep 0.1
done

# ---- sign-in across instances ----
jar=$tmp/alice.jar
c=(curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}')
u=$("${c[@]}" "$A/v1/resident/login")                      # started on A
case $u in "$idp/auth?"*) ok ;; *) bad "login redirect from A: $u" ;; esac
u=$("${c[@]}" "$u"); u=$("${c[@]}" -d prompt=login -d login=alice -d password=x "$u")
u=$("${c[@]}" "$u"); u=$("${c[@]}" -d prompt=consent "$u"); u=$("${c[@]}" "$u")
case $u in "$B/v1/resident/callback?"*) ok ;; *) bad "callback not to B: $u" ;; esac
st=$(curl -s -m 10 -b "$jar" -c "$jar" -o "$tmp/cb" -w '%{http_code}' "$u")   # lands on B
[ "$st" = 200 ] && ok || bad "callback on B: HTTP $st $(head -c 300 "$tmp/cb")"
# The same callback again, on B and on A: the state was used.
for base in "$B" "$A"; do
  st=$(curl -s -m 10 -o "$tmp/cb2" -w '%{http_code}' "$base${u#"$B"}")
  [ "$st" = 400 ] && grep -q login_expired "$tmp/cb2" && ok || bad "replayed callback on $base: HTTP $st"
done
me() { curl -s -m 10 -b "$jar" -o "$tmp/me" -w '%{http_code}' "$1/v1/resident/me"; }
[ "$(me "$A")" = 200 ] && ok || bad "session from B not valid on A: $(cat "$tmp/me")"
csrf=$(python3 -c "import json; print(json.load(open('$tmp/me'))['csrf_token'])")
[ "$(me "$B")" = 200 ] && ok || bad "session not valid on B"
[ "$(python3 -c "import json; print(json.load(open('$tmp/me'))['csrf_token'])")" = "$csrf" ] && ok || bad "CSRF token differs between instances"
cookie=$(awk '$6 == "ecred_resident" {print $7}' "$jar" | tail -n 1)
n=$(sql "SELECT count(*) FROM resident_sessions")
[ "$n" = 1 ] && ok || bad "resident_sessions rows: $n"
n=$(sql "SELECT count(*) FROM resident_sessions WHERE encode(hash, 'hex') = encode(sha256(convert_to('$cookie', 'UTF8')), 'hex')")
[ "$n" = 1 ] && ok || bad "session row not keyed by the cookie's SHA-256"
sql "SELECT * FROM resident_sessions" | grep -q -- "$cookie" && bad "cookie value stored" || ok
# Sign out on B: signed out on A.
st=$(curl -s -m 10 -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' -X POST -H "X-CSRF-Token: $csrf" "$B/v1/resident/logout")
[ "$st" = 200 ] && ok || bad "logout on B: HTTP $st"
curl -s -m 10 -o "$tmp/me" -w '%{http_code}' -H "Cookie: ecred_resident=$cookie" "$A/v1/resident/me" >"$tmp/st"
[ "$(cat "$tmp/st")" = 401 ] && ok || bad "still signed in on A after signing out on B: $(cat "$tmp/st")"

# ---- reminders: delivered once by the pair ----
issue() { # issue N: a credential whose endorsement falls due in 20 days; prints its id
  python3 - "$tmp/ex/permit_new.json" "$1" >"$tmp/app.$1.json" <<'PY'
import datetime, json, sys
b = json.load(open(sys.argv[1]))
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
b["credential"]["endorsement_date"] = (today + datetime.timedelta(days=20)).isoformat()
b["credential"]["address"] = "pg sessions %s" % sys.argv[2]
print(json.dumps(b, ensure_ascii=False))
PY
  local app
  app=$(curl -s -m 20 -X POST -H "Authorization: Bearer $clerk" -H 'Content-Type: application/json' \
    --data-binary @"$tmp/app.$1.json" "$A/v1/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s -m 20 -X POST -H "Authorization: Bearer $officer" "$B/v1/applications/$app/approve" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["credential"]["id"])'
}
rstate() { python3 -c "import json,sys; s=json.load(open('$tmp/receiver.json')); print(eval(sys.argv[1]))" "$1"; }
cid1=$(issue 1)
end=$(($(date +%s) + 60))   # bounded by time, not tries: each try is a python start
until [ "$(rstate 'len(s["effects"])' 2>/dev/null)" -ge 1 ] 2>/dev/null; do [ "$(date +%s)" -lt "$end" ] || break; sleep 0.1; done
sleep 3 # three more rounds on each instance: nothing may be sent again
[ "$(rstate '[e["credential_id"] for e in s["effects"]]')" = "['$cid1']" ] && ok || bad "effects: $(cat "$tmp/receiver.json")"
[ "$(rstate 'sorted(s["attempts"].values())')" = "[1]" ] && ok || bad "a due reminder sent more than once by the pair: $(cat "$tmp/receiver.json")"
row=$(sql "SELECT attempts, delivered_at IS NOT NULL, lease_owner IS NULL FROM outbox")
[ "$row" = "1|t|t" ] && ok || bad "outbox row after delivery: $row"

# ---- the lease holder dies mid-request; the other takes over after the lease ----
touch "$tmp/hang"
cid2=$(issue 2)
key2=""
end=$(($(date +%s) + 60))
while [ "$(date +%s)" -lt "$end" ]; do
  key2=$(rstate '[k for k in s["attempts"] if k not in [e["key"] for e in s["effects"]]][0] if len(s["attempts"]) > 1 else ""' 2>/dev/null || true)
  [ -n "$key2" ] && break; sleep 0.05
done
[ -n "$key2" ] && ok || bad "the second reminder was never sent"
lease=$(sql "SELECT lease_owner, lease_until FROM outbox WHERE key = '$key2'")
owner=${lease%|*} until=${lease#*|}
holder=$(echo "$owner" | cut -d: -f2)
if [ "$holder" = "$pid_a" ]; then victim=a other=b
elif [ "$holder" = "$pid_b" ]; then victim=b other=a
else bad "lease owner '$owner' is neither A ($pid_a) nor B ($pid_b)"; victim=a other=b; fi
kill -9 "$holder"; t_kill=$(date +%s.%N)
eval "pid_$victim=''"
rm -f "$tmp/hang"
echo "lease of $key2 held by $victim ($owner) until $until; killed at $t_kill"
end=$(($(date +%s) + LEASE + 60))
until [ "$(rstate 'len(s["effects"])' 2>/dev/null)" -ge 2 ] 2>/dev/null; do [ "$(date +%s)" -lt "$end" ] || break; sleep 0.1; done
[ "$(rstate "s['attempts'].get('$key2')")" = 2 ] && ok || bad "attempts for the orphaned reminder: $(cat "$tmp/receiver.json")"
[ "$(rstate "[e['credential_id'] for e in s['effects'] if e['key'] == '$key2']")" = "['$cid2']" ] && ok || bad "effect of the orphaned reminder: $(cat "$tmp/receiver.json")"
second=$(rstate "s['times']['$key2'][1]")
python3 -c "import sys; sys.exit(0 if $second >= $until else 1)" && ok || bad "taken over at $second, before the lease ended at $until"
row=$(sql "SELECT attempts, delivered_at IS NOT NULL, lease_owner IS NULL FROM outbox WHERE key = '$key2'")
[ "$row" = "1|t|t" ] && ok || bad "orphaned row after delivery: $row"
echo "taken over by $other $(python3 -c "print(round($second - $t_kill, 1))") s after the kill (lease ${LEASE} s)"
# The survivor still serves residents and the first reminder stays single.
sleep 2
[ "$(rstate "s['attempts'].get('$(rstate 's["effects"][0]["key"]')')")" = 1 ] && ok || bad "first reminder resent"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
