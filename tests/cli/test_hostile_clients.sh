#!/usr/bin/env bash
# Hostile clients against both daemons (issue 5, Hardening). ecred-issuerd
# runs on loopback with a fresh data dir and issues one credential;
# ecred-verifierd syncs from it. Against each daemon, while 8 slow senders
# (request headers one byte a second) and 400 idle connections are held open
# (all of them kept by the daemon, well under its connection limit):
#   - a normal client is served within 2 s, several times;
#   - oversized headers (100 KiB line), bodies announced over the cap and
#     chunked bodies over the cap, malformed JSON (syntax, invalid UTF-8,
#     nesting, NUL, wrong types), malformed QR text and CBOR (verifier),
#     garbage request lines and truncated requests each get the documented
#     4xx (spec/api.md, spec/verifier.md) or a closed connection;
#   - the daemon stays alive, its resident memory grows by less than a bound
#     (RSS_BOUND_KIB, default 64 MiB; ASan's quarantine counts too), and it
#     stops cleanly on SIGTERM afterwards (exit 0: no sanitizer report).
# Loopback only; every background process is bounded and killed on exit.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/hostile_clients.$$
rss_bound=${RSS_BOUND_KIB:-65536}
mkdir -p "$tmp/data" "$tmp/cache" "$tmp/ex"
data=$tmp/data
ipid="" vpid="" bg=""
cleanup() {
  for p in $bg; do kill "$p" 2>/dev/null || true; done
  for p in $vpid $ipid; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
# wait_up URL PID: bounded wait until URL answers (any HTTP status).
wait_up() {
  for _ in $(seq 1 150); do
    kill -0 "$2" 2>/dev/null || return 1
    [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$1" || true)" != 000 ] && return 0
    sleep 0.1
  done
  return 1
}
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# ---- the hostile client: one case per run, prints what came back ----
# "STATUS NNN" for a reply, "CLOSED" when the server closed without one,
# "TIMEOUT" when nothing came within 10 s (a failure: the daemon must answer
# or hang up). Modes "slow" and "idle" hold connections open in the
# background and write READY to a file once they are connected.
cat > "$tmp/hostile.py" <<'EOF'
import socket, sys, threading, time
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
args = sys.argv[4:]

def connect():
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def answer(s):
    """Read until the status line is known or the server hangs up."""
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "TIMEOUT"
    except ConnectionResetError:
        return "CLOSED"
    if data.startswith(b"HTTP/1.") and len(data.split(b" ")) > 1:
        return "STATUS " + data.split(b" ")[1].decode()
    return "CLOSED" if not data else "GARBAGE %r" % data[:40]

def send_all(s, parts):
    """Send; a server that refuses early may reset us mid-way, which is fine."""
    try:
        for p in parts:
            s.sendall(p)
    except (BrokenPipeError, ConnectionResetError):
        pass

def half_close(s):
    try:
        s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server hung up first

auth = [a for a in args if a.startswith("Authorization:")]
auth = (auth[0] + "\r\n").encode() if auth else b""
path = args[0].encode() if args else b"/"
head = b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth

if mode == "slow":
    # N connections sending a request one byte a second for SECONDS.
    n, seconds, ready = int(args[1]), float(args[2]), args[3]
    req = head + b"Content-Type: application/json\r\nX-Slow: " + b"a" * 200 + b"\r\n\r\n"
    socks = [connect() for _ in range(n)]
    open(ready, "w").write("READY\n")
    end = time.time() + seconds
    i = 0
    while time.time() < end and i < len(req):
        for s in socks:
            try:
                s.send(req[i:i + 1])
            except OSError:
                pass
        i += 1
        time.sleep(1)
    sys.exit(0)
if mode == "idle":
    n, seconds, ready = int(args[1]), float(args[2]), args[3]
    socks = [connect() for _ in range(n)]
    # Count the sockets the server kept: one it accepted and dropped (a
    # thread over its connection limit) reads as EOF.
    time.sleep(0.5)
    alive = 0
    for s in socks:
        s.setblocking(False)  # a timeout socket would wait for data first
        try:
            alive += s.recv(1, socket.MSG_PEEK) != b""
        except BlockingIOError:
            alive += 1
        except OSError:
            pass
    open(ready, "w").write("READY %d\n" % alive)
    time.sleep(seconds)
    sys.exit(0)

s = connect()
if mode == "big_header":
    # 200 KiB: over the per-connection memory of both daemons (issuer 128
    # KiB, verifier 32 KiB), which is what caps headers.
    send_all(s, [b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + b"a" * (200 * 1024) + b"\r\n\r\n"])
elif mode == "many_headers":
    send_all(s, [b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                 b"".join(b"X-H%d: %s\r\n" % (i, b"b" * 60) for i in range(2000)) + b"\r\n"])
elif mode == "big_body_declared":
    # Announce 100 MiB, send 1 KiB: the cap must be judged on the header.
    send_all(s, [head + b"Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n", b"{" * 1024])
elif mode == "huge_content_length":
    send_all(s, [head + b"Content-Length: 99999999999999999999999999\r\n\r\n{}"])
elif mode == "big_body_chunked":
    # 1 MiB in 4 KiB chunks; stop sending once the server answered or hung up.
    send_all(s, [head + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"])
    try:
        for _ in range(256):
            s.sendall(b"1000\r\n" + b" " * 4096 + b"\r\n")
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
elif mode == "truncated_body":
    send_all(s, [head + b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"qr\": \"RC"])
    half_close(s)
elif mode == "truncated_headers":
    send_all(s, [head + b"Content-Le"])
    half_close(s)
elif mode == "garbage":
    # (A line starting with NUL reads as an empty line, which HTTP lets a
    # server skip: that client is just idle until the connection timeout.)
    send_all(s, [b"\xff\xfe GARBAGE \x00\x01\x02\r\n\r\n"])
elif mode == "bad_chunk":
    send_all(s, [head + b"Transfer-Encoding: chunked\r\n\r\nzzzz\r\nabc\r\n0\r\n\r\n"])
else:
    sys.exit("unknown mode " + mode)
print(answer(s))
EOF
H=(python3 "$tmp/hostile.py")

# ---- the issuer, one credential, and the verifier synced from it ----
python3 - "$src/spec/examples/api/permit_new.json" "$tmp/ex/permit_new.json" <<'EOF'
import datetime, json, sys
body = json.load(open(sys.argv[1]))
today = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=8)).date()
shift = today - datetime.date(2026, 11, 26)
for k in ("registration_date", "valid_from", "valid_until", "endorsement_date"):
    body["credential"][k] = (datetime.date.fromisoformat(body["credential"][k]) + shift).isoformat()
json.dump(body, open(sys.argv[2], "w"), ensure_ascii=False)
EOF
started=0
for _ in $(seq 1 10); do
  iport=$(free_port)
  # 16 threads: libmicrohttpd splits the connection limit among them, which
  # is where idle connections used to lock clients out (32 per thread).
  "$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$iport" --list-size 16 --threads 16 --max-client-conns 0 \
    2>>"$tmp/issuerd.log" &
  ipid=$!
  if wait_up "http://127.0.0.1:$iport/.well-known/ecred-trust" "$ipid"; then started=1; break; fi
  kill -9 "$ipid" 2>/dev/null || true; wait "$ipid" 2>/dev/null || true; ipid=""
done
[ $started -eq 1 ] || { echo "FAIL: issuerd did not start: $(tail -3 "$tmp/issuerd.log")"; exit 1; }
ibase="http://127.0.0.1:$iport"
clerk=$("$bin/ecred-issuerd" token add --data "$data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$data" --role officer)
app=$(curl -s -m 10 -X POST -H "Authorization: Bearer $clerk" --data-binary @"$tmp/ex/permit_new.json" \
  "$ibase/v1/applications" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -s -m 10 -X POST -H "Authorization: Bearer $officer" "$ibase/v1/applications/$app/approve" > "$tmp/cred.json"
cred=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential"]["id"])' "$tmp/cred.json")
qr=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["credential"]["qr_text"])' "$tmp/cred.json")

vkey=$("$bin/ecred-verifierd" key add --cache "$tmp/cache" --role police 2>/dev/null)
started=0
for _ in $(seq 1 10); do
  vport=$(free_port)
  "$bin/ecred-verifierd" --cache "$tmp/cache" --issuer "$ibase" --root "$data/root.pub.pem" \
    --listen "127.0.0.1:$vport" --refresh 1h --max-client-conns 0 2>>"$tmp/verifierd.log" &
  vpid=$!
  if wait_up "http://127.0.0.1:$vport/healthz" "$vpid"; then started=1; break; fi
  kill -9 "$vpid" 2>/dev/null || true; wait "$vpid" 2>/dev/null || true; vpid=""
done
[ $started -eq 1 ] || { echo "FAIL: verifierd did not start: $(tail -3 "$tmp/verifierd.log")"; exit 1; }
vbase="http://127.0.0.1:$vport"
# /healthz is 200 once the first sync is in: a deadline, not 100 tries (an
# ASan verifier on a loaded machine), and a failure if it never comes.
end=$(($(date +%s) + 60))
until [ "$(curl -s -m 2 -o /dev/null -w '%{http_code}' "$vbase/healthz")" = 200 ]; do
  [ "$(date +%s)" -lt "$end" ] || { echo "FAIL: verifierd /healthz not 200 after 60 s: $(tail -3 "$tmp/verifierd.log")"; exit 1; }
  sleep 0.1
done

# normal NAME: one well-behaved request, served right and within 2 s.
normal() {
  local out code t
  if [ "$1" = issuer ]; then
    out=$(curl -s -m 5 -o "$tmp/normal.out" -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $officer" "$ibase/v1/credentials/$cred" || true)
  else
    out=$(curl -s -m 5 -o "$tmp/normal.out" -w '%{http_code} %{time_total}' \
      -H "Authorization: Bearer $vkey" --data-binary "$qr" "$vbase/v1/verify" || true)
  fi
  code=${out% *} t=${out#* }
  if [ "$code" = 200 ] && python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2.0 else 1)" "$t"; then
    ok
  else
    bad "$1: normal client got HTTP $code in ${t}s while hostile clients were active: $(head -c 200 "$tmp/normal.out")"
  fi
}
# raw NAME PID MODE WANT... : a hostile case answered by one of WANT.
raw() {
  local name=$1 pid=$2 mode=$3; shift 3
  local want=$1 port path auth got
  if [ "$name" = issuer ]; then port=$iport path=/v1/applications auth="Authorization: Bearer $clerk"
  else port=$vport path=/v1/verify auth="Authorization: Bearer $vkey"; fi
  got=$(timeout 20 "${H[@]}" "$mode" 127.0.0.1 "$port" "$path" "$auth" 2>&1 || echo "client error")
  local w
  for w in "$@"; do [ "$got" = "$w" ] && { ok; alive "$name" "$pid" "$mode"; return; }; done
  bad "$name $mode: got '$got', want one of: $*"
  alive "$name" "$pid" "$mode"
}
alive() { if kill -0 "$2" 2>/dev/null; then ok; else bad "$1 died after $3"; fi; }
# body NAME WANT CODE ARGS...: a curl body case; WANT the status, CODE the error code.
body() {
  local name=$1 want=$2 code=$3; shift 3
  local url auth got
  if [ "$name" = issuer ]; then url="$ibase/v1/applications" auth="Authorization: Bearer $clerk"
  else url="$vbase/v1/verify" auth="Authorization: Bearer $vkey"; fi
  got=$(curl -s -m 10 -o "$tmp/body.out" -w '%{http_code}' -H "$auth" "$@" "$url" || true)
  if [ "$got" = "$want" ] && grep -q "\"$code\"" "$tmp/body.out"; then ok
  else bad "$name body $*: HTTP $got, want $want $code: $(head -c 200 "$tmp/body.out")"; fi
}

hostile_suite() {
  local name=$1 pid=$2 port=$3
  local rss0 rss1
  normal "$name"
  rss0=$(rss_kib "$pid")
  # Hostile background: slow senders and idle connections, bounded in time.
  rm -f "$tmp/slow.ready" "$tmp/idle.ready"
  "${H[@]}" slow 127.0.0.1 "$port" /v1/x 8 12 "$tmp/slow.ready" 2>>"$tmp/hostile.err" & bg="$bg $!"
  "${H[@]}" idle 127.0.0.1 "$port" /v1/x 400 12 "$tmp/idle.ready" 2>>"$tmp/hostile.err" & bg="$bg $!"
  for _ in $(seq 1 300); do [ -s "$tmp/slow.ready" ] && [ -s "$tmp/idle.ready" ] && break; sleep 0.1; done   # 30 s
  if [ -s "$tmp/slow.ready" ] && grep -q "READY 400" "$tmp/idle.ready"; then ok
  else bad "$name: idle connections not all kept: $(cat "$tmp/idle.ready" "$tmp/hostile.err" 2>/dev/null | tail -2)"; fi
  normal "$name"

  # Oversized headers: MHD answers 431 (or 413/414/400) or hangs up.
  raw "$name" "$pid" big_header "STATUS 431" "STATUS 413" "STATUS 414" "STATUS 400" CLOSED
  raw "$name" "$pid" many_headers "STATUS 431" "STATUS 413" "STATUS 400" CLOSED
  normal "$name"
  # Oversized bodies: 413 body_too_large, announced or chunked.
  raw "$name" "$pid" big_body_declared "STATUS 413"
  raw "$name" "$pid" huge_content_length "STATUS 413" "STATUS 400" CLOSED
  raw "$name" "$pid" big_body_chunked "STATUS 413" CLOSED
  # Garbage and truncated requests: a 400 or a hang-up, never a crash.
  raw "$name" "$pid" garbage "STATUS 400" "STATUS 505" CLOSED
  raw "$name" "$pid" bad_chunk "STATUS 400" "STATUS 413" CLOSED
  raw "$name" "$pid" truncated_headers "STATUS 400" CLOSED
  raw "$name" "$pid" truncated_body "STATUS 400" CLOSED
  normal "$name"

  # Malformed JSON: 400 malformed_json (both APIs).
  local ct=(-H "Content-Type: application/json")
  body "$name" 400 malformed_json "${ct[@]}" --data-binary '{"qr": '
  body "$name" 400 malformed_json "${ct[@]}" --data-binary $'{"qr": "\xff\xfe"}'
  body "$name" 400 malformed_json "${ct[@]}" --data-binary '{"qr": "a\u0000b", "qr": 1}'
  body "$name" 400 malformed_json "${ct[@]}" --data-binary '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]'
  body "$name" 400 malformed_json "${ct[@]}" --data-binary '"just a string"'
  body "$name" 400 malformed_json "${ct[@]}" --data-binary '{"qr": 1e999999999}'
  python3 -c 'import sys; sys.stdout.write("{\"a\":" * 1500)' > "$tmp/deep.json"
  body "$name" 400 malformed_json "${ct[@]}" --data-binary @"$tmp/deep.json"
  # Bodies over the cap by curl too: announced and chunked.
  head -c $((70 * 1024)) /dev/zero | tr '\0' 'A' > "$tmp/big.txt"
  body "$name" 413 body_too_large --data-binary @"$tmp/big.txt"
  body "$name" 413 body_too_large -H "Transfer-Encoding: chunked" --data-binary @"$tmp/big.txt"
  normal "$name"

  # Still within memory with the hostile clients attached, then after.
  rss1=$(rss_kib "$pid")
  if [ $((rss1 - rss0)) -lt "$rss_bound" ]; then ok
  else bad "$name: RSS grew from ${rss0} to ${rss1} KiB (bound $rss_bound KiB)"; fi
  echo "$name: RSS ${rss0} -> ${rss1} KiB"
  for p in $bg; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  bg=""
  normal "$name"
}

hostile_suite issuer "$ipid" "$iport"

# Verifier only: malformed QR text and CBOR are 422 "malformed" (or
# not_our_format), with no credential in the answer.
vpost() {
  local want=$1 reason=$2; shift 2
  local got
  got=$(curl -s -m 10 -o "$tmp/v.out" -w '%{http_code}' -H "Authorization: Bearer $vkey" "$@" "$vbase/v1/verify" || true)
  if [ "$got" = "$want" ] && python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["reason"]==sys.argv[2] and "credential" not in d else 1)' "$tmp/v.out" "$reason"; then ok
  else bad "verifier QR case $*: HTTP $got, want $want $reason: $(head -c 200 "$tmp/v.out")"; fi
}
# b45 TEXT-OF-HEX: RC1: + base45 of the bytes (no compression).
b45() {
  python3 -c '
import sys
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
b = bytes.fromhex(sys.argv[1]); out = ""
for i in range(0, len(b) - 1, 2):
    n = b[i] * 256 + b[i + 1]; out += A[n % 45] + A[n // 45 % 45] + A[n // 2025]
if len(b) % 2:
    out += A[b[-1] % 45] + A[b[-1] // 45]
print("RC1:" + out)' "$1"
}
vpost 422 malformed --data-binary "RC1:"
vpost 422 malformed --data-binary "RC1:::::"
vpost 422 malformed --data-binary "$(b45 d2)"                       # tag 18, nothing after
vpost 422 malformed --data-binary "$(b45 d28440a0f6)"               # 3 items of 4
vpost 422 malformed --data-binary "$(b45 d2845bffffffffffffffff)"   # bstr of 2^64-1 bytes
vpost 422 malformed --data-binary "$(b45 d2849fffffffffffffffffff)"  # indefinite array, stray breaks
vpost 422 malformed --data-binary "$(b45 "$(python3 -c 'print("81" * 300)')")" # nesting 300
vpost 413 malformed --data-binary "$(b45 "$(python3 -c 'print("81" * 3000)')")" # over the text cap
vpost 422 malformed --data-binary "$(b45 d28443a10126a0f658400000)"  # truncated signature
printf '\000\001\002binary' > "$tmp/binary"
vpost 422 not_our_format --data-binary @"$tmp/binary"
vpost 422 malformed -H "Content-Type: application/json" --data-binary '{"qr": "RC1:%%%%"}'
if kill -0 "$vpid" 2>/dev/null; then ok; else bad "verifier died on malformed QR text"; fi

hostile_suite verifier "$vpid" "$vport"

# ---- both stop cleanly: no crash, no sanitizer report at exit ----
for name in verifier issuer; do
  if [ "$name" = issuer ]; then p=$ipid; else p=$vpid; fi
  kill -TERM "$p"
  rc=0
  for _ in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  wait "$p" || rc=$?
  if [ "$name" = issuer ]; then ipid=""; else vpid=""; fi
  if [ $rc -eq 0 ]; then ok; else bad "$name exit $rc after SIGTERM: $(tail -5 "$tmp/$name"d.log)"; fi
done
if grep -q "ERROR: AddressSanitizer\|runtime error:" "$tmp/issuerd.log" "$tmp/verifierd.log"; then
  bad "sanitizer report: $(grep -h "ERROR: AddressSanitizer\|runtime error:" "$tmp"/*d.log | head -3)"
else
  ok
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
