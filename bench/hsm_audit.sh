#!/usr/bin/env bash
# bench/hsm_audit.sh BIN_DIR BENCH_BIN SOURCE_DIR REPS SECONDS - issue 16's
# figures: approvals/s of ecred-issuerd at 16 keep-alive clients (durable
# commits, bench/loadgen) with the signing key in a SoftHSM2 token against a
# file key, and with the audit log against without it (ECRED_BENCH_NO_AUDIT),
# all in the same run on the same data directory, the three configurations
# taking turns. Prints one line per configuration with the median rate and
# the ratios. Loopback only, bounded by a request cap and SECONDS.
set -euo pipefail
bin=$1 bb=$2 src=$3 reps=$4 secs=$5
tmp=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }; rm -rf "$tmp"; }
trap cleanup EXIT
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # free_port, bench_app_json
export SOFTHSM2_CONF=$tmp/softhsm2.conf
mkdir -p "$tmp/tokens" "$tmp/data"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >"$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label bench --pin 1111 --so-pin 2222 >/dev/null
printf '1111\n' >"$tmp/pin"; chmod 600 "$tmp/pin"
uri='pkcs11:token=bench;object=issuer'
"$bin/ecred-keys" gen --out "$uri" --pin-file "$tmp/pin" >/dev/null
bench_app_json "$src" "$tmp/app.json"
start() { # start [ENV=...] -- ARGS: the daemon on a fresh port
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  port=$(free_port)
  env ${envs[@]+"${envs[@]}"} "$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" "$@" 2>>"$tmp/d.log" &
  pid=$!
  for _ in $(seq 1 100); do curl -s -m 1 -o /dev/null "http://127.0.0.1:$port/healthz" && return 0; sleep 0.1; done
  echo "daemon did not start: $(tail -2 "$tmp/d.log")" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
CAP=1500
configs=(file hsm noaudit)
start LD_PRELOAD="$bb/libbench_nofsync.so" --
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role officer)
napps=$((reps * ${#configs[@]} * CAP))
timeout 300 "$bb/loadgen" --port "$port" --conns 16 --requests "$napps" --seconds 200 --method POST \
  --path /v1/applications --body-file "$tmp/app.json" --header "Authorization: Bearer $clerk" \
  --header "Content-Type: application/json" --expect 201 --ids-out "$tmp/ids" >/dev/null
stop
sed 's|.*|/v1/applications/&/approve|' "$tmp/ids" >"$tmp/paths"
slice=0
for rep in $(seq 1 "$reps"); do
  for i in 0 1 2; do
    c=${configs[$(((i + rep) % 3))]}
    case $c in
      file) start -- ;;
      hsm) start -- --signing-key "$uri" --pin-file "$tmp/pin" ;;
      noaudit) start ECRED_BENCH_NO_AUDIT=1 -- ;;
    esac
    sed -n "$((slice * CAP + 1)),$(((slice + 1) * CAP))p" "$tmp/paths" >"$tmp/slice"
    slice=$((slice + 1))
    out=$(timeout $((${secs%.*} + 30)) "$bb/loadgen" --port "$port" --conns 16 --requests "$CAP" \
      --seconds "$secs" --paths "$tmp/slice" --method POST --header "Authorization: Bearer $officer" --expect 201)
    IFS='|' read -r _ done errs _ rate p50 p99 _ <<<"$out"
    echo "$c $rate $done $errs $p50 $p99" >>"$tmp/results"
    stop
  done
done
python3 - "$tmp/results" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
med = {c: statistics.median(float(r[1]) for r in rows if r[0] == c) for c in ("file", "hsm", "noaudit")}
errs = sum(int(r[3]) for r in rows)
for c in ("file", "hsm", "noaudit"):
    p99 = statistics.median(float(r[5]) for r in rows if r[0] == c)
    print(f"approvals/s at 16 clients, {c:8s}: median {med[c]:8.1f}  p99 {p99/1000:6.1f} ms  runs: " +
          " ".join(r[1] for r in rows if r[0] == c))
print(f"token key / file key: {med['hsm'] / med['file']:.2f} (goal >= 0.8)")
print(f"audit log cost: {100 * (1 - med['file'] / med['noaudit']):.1f} % of approvals/s (goal <= 10 %)")
print(f"errors: {errs}")
PY
