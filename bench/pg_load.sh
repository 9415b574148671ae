#!/usr/bin/env bash
# bench/pg_load.sh BIN_DIR BENCH_BIN SOURCE_DIR REPS SECONDS - the issuer on
# PostgreSQL (issue 15), printed as ROW lines (bench_util.h format).
#
# A private PostgreSQL cluster (scripts/pg-test-cluster --durable: fsync on,
# synchronous_commit on, unix socket) in a temp dir. Each repetition, in the
# same run and on the same server: approvals/s (every approval one durable
# COMMIT) through one ecred-issuerd at 1 and 16 keep-alive clients, through
# two instances on the same database at 1+1 and 8+8 clients, against the
# bare baseline `INSERT ... ; COMMIT` of a 600-byte row by pgbench at 1 and
# 16 clients; and beside them the same issuer on SQLite (WAL,
# synchronous=FULL) at 1 and 16 clients. Every issuer runs --threads 16 (its
# pool: 16 registry connections). Applications are created beforehand (not
# timed). Medians of REPS repetitions; ratios per repetition.
#
# Loopback and a unix socket only; every run bounded; everything started here
# is stopped on exit. Without the PostgreSQL server binaries the rows say
# "not measured" and why.
set -euo pipefail
bin=$1 bb=$2 src=$3 reps=$4 secs=$5
tmp=$(mktemp -d /tmp/ecred-pgbench.XXXXXX)
chmod 711 "$tmp" # the postgres user reaches its cluster dir inside
pids=()
cluster=$tmp/pgc
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  "$src/scripts/pg-test-cluster" stop "$cluster" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
note() { echo "bench/pg_load.sh: $*" >&2; }
not_measured() {
  echo "ROW|PostgreSQL: issuer approvals/s|0|-|-|0|0||not measured: $1"
  exit 0
}
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # free_port, bench_app_json
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -x $PGBIN/pgbench ]] || not_measured "PostgreSQL server binaries (pgbench) not installed"
for f in "$bin/ecred-issuerd" "$bb/loadgen"; do [[ -x $f ]] || not_measured "$f was not built"; done
"$src/scripts/pg-test-cluster" start "$cluster" --durable bench >/dev/null 2>&1 ||
  not_measured "the private PostgreSQL cluster did not start"
url=$("$src/scripts/pg-test-cluster" url "$cluster" bench)
pgver=$("$PGBIN/postgres" --version | awk '{print $3}')
CAP=1000
RESULTS=$tmp/results

# start_issuer VAR_PID VAR_PORT DATA REGISTRY: start and wait (bounded).
start_issuer() {
  local -n _pid=$1 _port=$2
  _port=$(free_port)
  # The trust list made at the first start names that start's status URL;
  # later starts (another port) keep serving lists under it, or the daemon
  # refuses to start (issue 17: the status base URL must match the trust list).
  [[ -s $3/bench.status-base ]] || echo "http://127.0.0.1:$_port" >"$3/bench.status-base"
  "$bin/ecred-issuerd" --data "$3" --registry "$4" --listen "127.0.0.1:$_port" --threads 16 \
    --status-base-url "$(cat "$3/bench.status-base")" 2>>"$tmp/daemons.log" &
  _pid=$!
  pids+=("$_pid")
  for _ in $(seq 1 100); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$_port/healthz" && return 0
    kill -0 "$_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_issuer() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

bench_app_json "$src" "$tmp/app.json"

# setup NAME REGISTRY COUNT: a data dir with tokens and COUNT applications;
# their approve paths in $tmp/NAME.paths. Sets officer_NAME.
setup() {
  local name=$1 reg=$2 n=$3 pid port
  mkdir -p "$tmp/$name"
  start_issuer pid port "$tmp/$name" "$reg" || not_measured "ecred-issuerd on $name did not start: $(tail -2 "$tmp/daemons.log")"
  local clerk
  clerk=$("$bin/ecred-issuerd" token add --data "$tmp/$name" --registry "$reg" --role clerk)
  eval "officer_$name=\$(\"$bin/ecred-issuerd\" token add --data \"$tmp/$name\" --registry \"$reg\" --role officer)"
  timeout 300 "$bb/loadgen" --port "$port" --conns 16 --requests "$n" --seconds 240 --method POST \
    --path /v1/applications --body-file "$tmp/app.json" --header "Authorization: Bearer $clerk" \
    --header "Content-Type: application/json" --expect 201 --ids-out "$tmp/$name.ids" >/dev/null ||
    not_measured "creating applications on $name failed"
  sed 's|.*|/v1/applications/&/approve|' "$tmp/$name.ids" >"$tmp/$name.paths"
  stop_issuer "$pid"
}
declare -A slice_of
# take NAME: the next CAP unused approve paths of NAME into the file named by
# $slice (not in a subshell: the count must stay).
take() {
  local k=$((${slice_of[$1]:-0} + 1))
  slice_of[$1]=$k
  slice=$tmp/slice.$1.$k
  sed -n "$(((k - 1) * CAP + 1)),$((k * CAP))p" "$tmp/$1.paths" >"$slice"
}
# load KIND REP PORT CONNS PATHS OFFICER: one bounded loadgen run.
load() {
  local out
  if out=$(timeout $((${secs%.*} + 30)) "$bb/loadgen" --seconds "$secs" --port "$3" --conns "$4" \
             --paths "$5" --method POST --requests "$CAP" --header "Authorization: Bearer $6" --expect 201 \
             2>>"$tmp/loadgen.err"); then
    IFS='|' read -r _ done errs _ rate p50 p99 _ <<<"$out"
    echo "$1 $2 $rate $p50 $p99 $done $errs" >>"$RESULTS"
  else
    note "$1: loadgen failed: $(tail -1 "$tmp/loadgen.err")"
  fi
}
# pgbare KIND REP CLIENTS: pgbench, one INSERT per transaction (autocommit).
"$PGBIN/psql" -X -q "$url" -c "CREATE TABLE bare(id bigserial PRIMARY KEY, x int, pad text)"
echo "INSERT INTO bare(x, pad) VALUES (1, repeat('x', 600));" >"$tmp/bare.sql"
pgbare() {
  local tps
  tps=$(timeout $((${secs%.*} + 30)) "$PGBIN/pgbench" -n -M prepared -c "$3" -j "$(( $3 < 2 ? 1 : 2 ))" \
          -T "$(python3 -c "import math; print(max(1, math.ceil($secs)))")" -f "$tmp/bare.sql" "$url" 2>>"$tmp/pgbench.err" |
        awk '/^tps = / {print $3; exit}')
  [[ -n $tps ]] && echo "$1 $2 $tps 0 0 0 0" >>"$RESULTS"
}

note "setup: applications on PostgreSQL and SQLite (not timed)"
setup pg "$url" $((reps * 6 * CAP))
setup sq "sqlite:$tmp/sq/registry.sqlite" $((reps * 2 * CAP))
# The second instance: the same issuer (keys) on the same database.
mkdir -p "$tmp/pg2"; cp -a "$tmp/pg/." "$tmp/pg2/"

for r in $(seq 1 "$reps"); do
  note "repetition $r of $reps"
  pgbare pgbare1 "$r" 1
  pgbare pgbare16 "$r" 16
  start_issuer a pa "$tmp/pg" "$url" || not_measured "instance A did not start: $(tail -2 "$tmp/daemons.log")"
  take pg; load pg1_1 "$r" "$pa" 1 "$slice" "$officer_pg"
  take pg; load pg1_16 "$r" "$pa" 16 "$slice" "$officer_pg"
  start_issuer b pb "$tmp/pg2" "$url" || not_measured "instance B did not start"
  for c in 1 8; do
    take pg; sa=$slice
    take pg; sb=$slice
    load "pg2a_$c" "$r" "$pa" "$c" "$sa" "$officer_pg" &
    la=$!
    load "pg2b_$c" "$r" "$pb" "$c" "$sb" "$officer_pg"
    wait "$la" || true
  done
  stop_issuer "$b"; stop_issuer "$a"
  start_issuer s ps "$tmp/sq" "sqlite:$tmp/sq/registry.sqlite" || not_measured "SQLite issuer did not start"
  take sq; load sq1 "$r" "$ps" 1 "$slice" "$officer_sq"
  take sq; load sq16 "$r" "$ps" 16 "$slice" "$officer_sq"
  stop_issuer "$s"
done

python3 - "$RESULTS" "$pgver" "$(nproc)" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    kind, rep, rate, p50, p99, done, errs = line.split()
    runs.setdefault(kind, {})[int(rep)] = (float(rate), float(p50), float(p99), int(done), int(errs))
pgver, ncpu = sys.argv[2], sys.argv[3]
# Two instances run concurrently: their rates add up per repetition.
for c in ("1", "8"):
    a, b = runs.get("pg2a_" + c, {}), runs.get("pg2b_" + c, {})
    for rep in set(a) & set(b):
        x, y = a[rep], b[rep]
        runs.setdefault("pg2_" + c, {})[rep] = (x[0] + y[0], max(x[1], y[1]), max(x[2], y[2]), x[3] + y[3], x[4] + y[4])
def med(k, i=0):
    v = [x[i] for x in runs.get(k, {}).values()]
    return statistics.median(v) if v else 0.0
def ratio(a, b):
    rs = [x[0] / runs[b][rep][0] for rep, x in runs.get(a, {}).items()
          if rep in runs.get(b, {}) and runs[b][rep][0] > 0]
    if not rs:
        return 0.0, ""
    return statistics.median(rs), f"{min(rs):.3f}..{max(rs):.3f} (n={len(rs)})"
def row(fig, k, base, bk, note):
    if k not in runs or bk not in runs:
        print(f"ROW|{fig}|0|-|-|0|0||not measured: a run failed (see the log)")
        return
    r, spread = ratio(k, bk)
    errs = sum(x[4] for x in runs[k].values())
    print(f"ROW|{fig}|{med(k):.6g}|approvals/s|{base}|{med(bk):.6g}|{r:.3f}|{spread}|"
          f"p50 {med(k, 1) / 1000:.2f} ms, p99 {med(k, 2) / 1000:.2f} ms; errors {errs}; {note}")
bare = f"bare INSERT+COMMIT on the same PostgreSQL {pgver} (pgbench)"
row("PostgreSQL: approvals/s, 1 instance, 1 client", "pg1_1", bare + ", 1 client", "pgbare1", "fsync on, synchronous_commit on")
row("PostgreSQL: approvals/s, 1 instance, 16 clients", "pg1_16", bare + ", 16 clients", "pgbare16", "goal: ratio >= 0.5")
row("PostgreSQL: approvals/s, 2 instances, 1+1 clients", "pg2_1", "1 instance, 1 client (row above)", "pg1_1", "sum of both instances")
row("PostgreSQL: approvals/s, 2 instances, 8+8 clients", "pg2_8", "1 instance, 16 clients", "pg1_16",
    f"goal 1.6 where the database is not the bottleneck; here issuers, PostgreSQL and loadgen share {ncpu} CPU cores")
row("  2 instances, 8+8 clients, against the bare commit", "pg2_8", bare + ", 16 clients", "pgbare16", "")
row("SQLite beside it: approvals/s, 1 client", "sq1", "PostgreSQL, 1 instance, 1 client", "pg1_1", "same issuer, --threads 16, WAL synchronous=FULL")
row("SQLite beside it: approvals/s, 16 clients", "sq16", "PostgreSQL, 1 instance, 16 clients", "pg1_16", "group commit on the pool's writer")
PY
