# lib_issuerd.sh - sourced by CLI tests (not a test itself: no test_ prefix).
#
# start_issuerd DATA LOG [ARG...]: start ecred-issuerd on a free loopback
# port with --data DATA, stderr appended to LOG and the extra ARGs; sets
# $pid and $port once /healthz answers. Retries on another port when the
# one picked was taken meanwhile; exits the test when the daemon never
# comes up, showing its log.
start_issuerd() {
  local data=$1 log=$2
  shift 2
  local started=0
  for _ in $(seq 1 10); do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
    "$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$port" "$@" 2>>"$log" &
    pid=$!
    for _ in $(seq 1 100); do
      if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; break; fi
      if curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then started=1; break; fi
      sleep 0.1
    done
    [ "$started" -eq 1 ] && return 0
  done
  echo "FAIL: ecred-issuerd did not start"
  cat "$log" >&2
  exit 1
}
