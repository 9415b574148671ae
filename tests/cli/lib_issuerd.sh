# lib_issuerd.sh - sourced by CLI tests (not a test itself: no test_ prefix).
# Helpers that keep a test correct on a slow machine (an ASan daemon under
# ctest -j beside other work); it must never hide a failure: every wait is
# bounded and says what it waited for.
#
# free_port: a loopback port free now, below Linux's ephemeral range
# (32768-60999). A port taken from the kernel (bind to 0) is in that range,
# and once closed the kernel may hand it to any client's connect() as a
# source port (curl, loadgen, psql of a test running alongside): a daemon
# started, or restarted, on it could then fail to bind.
free_port() {
  python3 - <<'PY'
import random, socket
for _ in range(500):
    p = random.randint(20000, 32767)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
PY
}
# wait_for SECONDS WHAT CMD: run CMD (eval'd) every 0.1 s until it succeeds
# (0) or SECONDS have passed (1, with "waited N s for WHAT" on stderr). The
# deadline is wall-clock time, not a count of tries: each try may itself be
# slow on a loaded machine.
wait_for() {
  local secs=$1 what=$2 cmd=$3
  local end=$(($(date +%s) + secs))
  while :; do
    if eval "$cmd"; then return 0; fi
    if [ "$(date +%s)" -ge "$end" ]; then
      echo "waited $secs s for $what" >&2
      return 1
    fi
    sleep 0.1
  done
}
# is_asan BIN: true when BIN is built with AddressSanitizer (3-5x slower,
# slower still to start). ldd's output is read whole: `ldd | grep -q`
# under pipefail fails when grep exits before ldd has written everything.
is_asan() {
  local libs
  libs=$(ldd "$1" 2>/dev/null || true)
  [[ $libs == *libasan* ]]
}
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
    port=$(free_port)
    "$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$port" "$@" 2>>"$log" &
    pid=$!
    local end=$(($(date +%s) + 60))
    while [ "$(date +%s)" -lt "$end" ]; do
      if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; break; fi
      if curl -s -m 2 -o /dev/null "http://127.0.0.1:$port/healthz"; then started=1; break; fi
      sleep 0.1
    done
    [ "$started" -eq 1 ] && return 0
    # Alive but silent for a minute: not left running beside the next try.
    if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
  done
  echo "FAIL: ecred-issuerd did not start"
  cat "$log" >&2
  exit 1
}
