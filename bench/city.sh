#!/usr/bin/env bash
# bench/city.sh [BIN_DIR BENCH_BIN SOURCE_DIR] - issue 10's city-scale figures,
# printed as ROW lines (bench_util.h format) on stdout, notes on stderr.
# bench/run --city calls it with load.sh's first three arguments; with none
# it builds and uses build-release/ (cmake --preset release) itself.
#
# 1. Fill: a registry of CITY_LISTS (80) status lists of CITY_LIST_SIZE
#    (131072) entries, about 10.5 M credentials, the last list 95 % full,
#    ~2.5 % of entries suspended or revoked. Written DIRECTLY through the
#    registry API by bench/city_fill (not through HTTP): placeholder QR
#    text and JSON, no application rows, no audit entries (city_fill.c).
# 2. Approvals through the API (bench/loadgen, 16 keep-alive clients,
#    durable commit): in the last 5 % of a list and in the first 5 % of the
#    next one, against an empty registry in the same run (its own daemon,
#    same flags, each after 300 untimed approvals), alternating which goes
#    first; applications are created
#    beforehand by a no-fsync daemon as load.sh does. Goal: >= 0.8 of empty.
# 3. One status list build: GET /status/1 (a full list) right after a status
#    change in it, so the issuer rebuilds its token; median of CITY_BUILDS.
#    Goal: < 20 ms.
# 4. Cold and warm sync of every list by `ecred-verify sync` (the same
#    vsync_run as ecred-verifierd's refresh): wall time, and the client's TCP
#    connections and bytes counted by an LD_PRELOAD shim (bench/city_netcount.c).
#    Goal: cold < 3 s on loopback.
# 5. ecred-verifierd's VmRSS with every list loaded (after its own start-up
#    sync and one verification). Goal: < 32 MiB.
#
# Environment: CITY_LISTS, CITY_LIST_SIZE scale the fill (every row says the
# scale it ran at); ECRED_BENCH_QUICK=1 (bench/run --quick) runs 2 repetitions
# instead of 3. CITY_KEEP=DIR keeps the freshly filled data directory (and the
# port its list URIs name) in DIR/city-LISTSxSIZE and copies it from there on
# the next run instead of filling again (a few GB; delete it yourself).
#
# Loopback only; every step is bounded (timeouts, request caps); every daemon
# started here is killed on exit and the scratch directory removed.
set -euo pipefail
if [[ $# -eq 0 ]]; then
  src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin=$src/build-release/bin bb=$src/build-release/bench
  (cd "$src" && cmake --preset release >/dev/null)
elif [[ $# -eq 3 ]]; then
  bin=$1 bb=$2 src=$3
else
  echo "usage: bench/city.sh [BIN_DIR BENCH_BIN SOURCE_DIR]" >&2
  exit 2
fi
LISTS=${CITY_LISTS:-80}
SIZE=${CITY_LIST_SIZE:-131072}
LAST_PCT=95 # the fill stops the last list here: approvals then run in its last 5 %
REPS=3
[[ ${ECRED_BENCH_QUICK:-0} == 1 ]] && REPS=2
CAP=1500    # approvals per timed run at most
SECS=3      # and seconds per timed run at most
BUILDS=${CITY_BUILDS:-7}
WARM=300    # untimed approvals per daemon before the timed runs
SCALE="$LISTS lists x $SIZE"
tmp=$(mktemp -d)
pids=()
cpid='' epid='' vpid=''
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
note() { echo "bench/city.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # free_port, bench_app_json
port_free() { python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null; }
FIGS=("city: approvals/s at 16 clients, last 5 % of a list" "city: approvals/s at 16 clients, first 5 % of the next list"
      "city: one status list build" "city: cold sync of every list" "city: warm sync of every list"
      "city: verifier RSS with every list")
# not_measured WHY: every city row, each saying why it is missing.
not_measured() {
  for fig in "${FIGS[@]}"; do echo "ROW|$fig|0|-|-|0|0||not measured: $1"; done
  exit 0
}

# --- build (only the targets this script runs) ------------------------------------
build_dir=$(dirname "$bb")
if [[ -f $build_dir/CMakeCache.txt ]]; then
  timeout 900 cmake --build "$build_dir" --target ecred-issuerd ecred-verifierd ecred-verify loadgen bench_nofsync \
    city_fill city_netcount -j2 >"$tmp/build.log" 2>&1 || not_measured "the build failed: $(grep -m1 error "$tmp/build.log")"
fi
for f in "$bin/ecred-issuerd" "$bin/ecred-verifierd" "$bin/ecred-verify" "$bb/loadgen" "$bb/city_fill" \
         "$bb/libbench_nofsync.so" "$bb/libcity_netcount.so"; do
  [[ -e $f ]] || not_measured "$f was not built"
done
nofsync=(env "LD_PRELOAD=$bb/libbench_nofsync.so")
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
OSSL=$(openssl version 2>/dev/null | cut -d' ' -f1-2 || echo "OpenSSL ?")
HW="$CPU, $(nproc) cores, $OSSL"
note "hardware: $HW; $(uname -sr)"
note "disk: $(df -h "$tmp" | awk 'NR == 2 {print $4 " free on " $6}')"

# start_daemon VAR_PID PORT PROBE CMD...: start CMD and wait, bounded, until it answers on PORT.
start_daemon() {
  local -n _pid=$1
  local port=$2 probe=$3; shift 3
  "$@" 2>>"$tmp/daemons.log" &
  _pid=$!
  pids+=("$_pid")
  for _ in $(seq 1 300); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$port$probe" && return 0
    kill -0 "$_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_daemon() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
# issuerd DATA PORT [PRE...]: the issuer's command line for a data directory, into ICMD.
issuerd() {
  local data=$1 port=$2; shift 2
  ICMD=("$@" "$bin/ecred-issuerd" --data "$data" --listen "127.0.0.1:$port"
        --status-base-url "http://127.0.0.1:$port" --list-size "$SIZE" --max-client-conns 0)
}
# cursor DATA: "LIST NEXT_POS SIZE" of the newest list (a WAL reader beside the daemon).
cursor() {
  python3 - "$1/registry.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
r = db.execute("SELECT id, next_pos, size FROM status_lists ORDER BY id DESC LIMIT 1").fetchone()
print(*(r or (0, 0, 0)))
EOF
}

# --- setup: application bodies, two data directories ------------------------------
bench_app_json "$src" "$tmp/app.json"
# setup_data DATA PORT NAPPS: issuer keys and trust list, two tokens, NAPPS
# applications (all by a no-fsync daemon: setup, not timed); ids in DATA.ids.
setup_data() {
  local data=$1 port=$2 napps=$3 pid
  mkdir -p "$data"
  issuerd "$data" "$port" "${nofsync[@]}"
  start_daemon pid "$port" /.well-known/ecred-trust "${ICMD[@]}" ||
    not_measured "ecred-issuerd did not start: $(tail -2 "$tmp/daemons.log")"
  "$bin/ecred-issuerd" token add --data "$data" --role clerk >"$data.clerk"
  "$bin/ecred-issuerd" token add --data "$data" --role officer >"$data.officer"
  timeout 300 "$bb/loadgen" --port "$port" --conns 16 --requests "$napps" --seconds 240 --method POST \
    --path /v1/applications --body-file "$tmp/app.json" --header "Authorization: Bearer $(cat "$data.clerk")" \
    --header "Content-Type: application/json" --expect 201 --ids-out "$data.ids" >/dev/null 2>>"$tmp/loadgen.err" ||
    not_measured "creating applications failed: $(tail -1 "$tmp/loadgen.err")"
  stop_daemon "$pid"
  sed 's|.*|/v1/applications/&/approve|' "$data.ids" >"$data.paths"
}
EMPTY=$tmp/empty CITY=$tmp/city
EPORT=$(free_port)
# City: REPS runs at the end of a list, up to (a list's last 5 % + 2 blocks
# of every pool connection) to reach the next list, REPS runs there, and
# the WARM (300) warm-up approvals.
CITY_APPS=$((WARM + 2 * REPS * CAP + SIZE * (100 - LAST_PCT) / 100 + 16 * 32 + 100))
keep=
[[ -n ${CITY_KEEP:-} ]] && keep=$CITY_KEEP/city-${LISTS}x$SIZE
t_fill=0 fill_rate=0 fill_nonvalid=0 fill_rows=0 fill_how=filled
if [[ -n $keep && -s $keep/port ]] && port_free "$(cat "$keep/port")" &&
   [[ $(wc -l <"$keep/data.ids") -ge $CITY_APPS ]]; then
  CPORT=$(cat "$keep/port")
  note "copying the filled registry from $keep (CITY_KEEP)"
  cp -r --reflink=auto "$keep/data" "$CITY"
  for f in ids clerk officer; do cp "$keep/data.$f" "$CITY.$f"; done
  sed 's|.*|/v1/applications/&/approve|' "$CITY.ids" >"$CITY.paths"
  read -r fill_rows fill_nonvalid t_fill fill_rate <"$keep/fill"
  fill_how="copied from CITY_KEEP (filled earlier in ${t_fill} s)"
else
  CPORT=$(free_port)
  note "setup: $CITY_APPS applications on the city issuer, $((WARM + REPS * CAP + 100)) on the empty one"
  setup_data "$CITY" "$CPORT" "$CITY_APPS"
  # A full fill writes ~300 bytes a credential (file and indices).
  need=$((LISTS * SIZE * 400 / 1024))
  avail=$(df -k --output=avail "$tmp" | tail -1)
  ((avail > need + 1048576)) || not_measured "$((avail / 1048576)) GiB free in $tmp, the fill needs ~$((need / 1048576)) GiB"
  note "fill: $SCALE, last list $LAST_PCT % full, directly through the registry API (bench/city_fill)"
  timeout 600 "$bb/city_fill" --registry "sqlite:$CITY/registry.sqlite" --prefix "http://127.0.0.1:$CPORT/status/" \
    --lists "$LISTS" --list-size "$SIZE" --last-pct "$LAST_PCT" --max-seconds 540 >"$tmp/fill" ||
    not_measured "bench/city_fill failed or took more than 9 minutes"
  IFS='|' read -r _ fill_rows fill_nonvalid t_fill fill_rate <"$tmp/fill"
  note "fill: $fill_rows credentials ($fill_nonvalid not valid) in $t_fill s, $fill_rate rows/s;" \
       "registry $(du -sh "$CITY/registry.sqlite" | cut -f1)"
  if [[ -n $keep ]]; then
    rm -rf "$keep" && mkdir -p "$keep"
    cp -r "$CITY" "$keep/data"
    for f in ids clerk officer; do cp "$CITY.$f" "$keep/data.$f"; done
    echo "$fill_rows $fill_nonvalid $t_fill $fill_rate" >"$keep/fill"
    echo "$CPORT" >"$keep/port"
    note "kept the filled data directory in $keep (CITY_KEEP)"
  fi
fi
setup_data "$EMPTY" "$EPORT" $((WARM + REPS * CAP + 100))
FILLNOTE="fill: $fill_rows credentials in $LISTS lists of $SIZE (last $LAST_PCT % full, $fill_nonvalid not valid) written directly through the registry API by bench/city_fill, not HTTP, $fill_how; $HW"

# --- 2. approvals: end of a list, next list, empty registry ------------------------
RESULTS=$tmp/results # KIND REP RATE P50_US P99_US DONE ERRORS FROM TO
# approve KIND REP DATA PORT PID: one timed run on the next CAP applications of DATA.
declare -A used=([city]=0 [empty]=0)
approve() {
  local kind=$1 rep=$2 data=$3 port=$4 key=$5 out from to ndone errs rate p50 p99
  sed -n "$((used[$key] + 1)),$((used[$key] + CAP))p" "$data.paths" >"$tmp/slice"
  used[$key]=$((used[$key] + CAP))
  from=$(cursor "$data")
  if out=$(timeout $((SECS + 30)) "$bb/loadgen" --seconds "$SECS" --port "$port" --conns 16 --paths "$tmp/slice" \
             --method POST --requests "$CAP" --header "Authorization: Bearer $(cat "$data.officer")" --expect 201 \
             2>>"$tmp/loadgen.err"); then
    to=$(cursor "$data")
    IFS="|" read -r _ ndone errs _ rate p50 p99 _ <<<"$out"
    echo "$kind $rep $rate $p50 $p99 $ndone $errs ${from// /:} ${to// /:}" >>"$RESULTS"
    note "$kind rep $rep: $rate/s p99 $p99 us ($ndone done, $errs errors), cursor $from -> $to"
  else
    note "$kind: loadgen failed: $(tail -1 "$tmp/loadgen.err")"
  fi
}
issuerd "$CITY" "$CPORT"
start_daemon cpid "$CPORT" /.well-known/ecred-trust "${ICMD[@]}" ||
  not_measured "ecred-issuerd did not start on the filled registry: $(tail -2 "$tmp/daemons.log")"
issuerd "$EMPTY" "$EPORT"
start_daemon epid "$EPORT" /.well-known/ecred-trust "${ICMD[@]}" ||
  not_measured "ecred-issuerd did not start on the empty registry: $(tail -2 "$tmp/daemons.log")"
# Untimed warm-up of both daemons (WARM approvals each): a daemon just started
# on a 2.7 GB registry first reads its index pages into its connections'
# caches; the rows compare steady states. The city's come from list $LISTS.
for side in city:$CITY:$CPORT empty:$EMPTY:$EPORT; do
  IFS=: read -r key data port <<<"$side"
  sed -n "$((used[$key] + 1)),$((used[$key] + WARM))p" "$data.paths" >"$tmp/slice"
  used[$key]=$((used[$key] + WARM))
  timeout 60 "$bb/loadgen" --seconds 30 --port "$port" --conns 16 --paths "$tmp/slice" --method POST \
    --requests "$WARM" --header "Authorization: Bearer $(cat "$data.officer")" --expect 201 >"$tmp/warm.$key" \
    2>>"$tmp/loadgen.err" || note "warm-up of the $key issuer failed: $(tail -1 "$tmp/loadgen.err")"
  note "warm-up ($key): $(cut -d'|' -f2,5,7 "$tmp/warm.$key" | tr '|' ' ' | awk '{printf "%s done, %s/s, p99 %s us", $1, $2, $3}')"
done
note "approvals: $REPS x (last 5 % of list $LISTS | empty registry), then the next list"
: >"$RESULTS"
# CITY_PERF=FILE: perf profile of the city issuer over the end-of-list runs.
if [[ -n ${CITY_PERF:-} ]] && command -v perf >/dev/null; then
  perf record -g -F 999 -o "$CITY_PERF.data" -p "$cpid" >/dev/null 2>&1 &
  perf_pid=$!
fi
for r in $(seq 1 "$REPS"); do
  if ((r % 2)); then
    approve end "$r" "$CITY" "$CPORT" city; approve empty "$r" "$EMPTY" "$EPORT" empty
  else
    approve empty "$r" "$EMPTY" "$EPORT" empty; approve end "$r" "$CITY" "$CPORT" city
  fi
done
if [[ -n ${perf_pid:-} ]]; then
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf report -i "$CITY_PERF.data" --no-children --sort dso,sym 2>/dev/null | grep '%' | grep -v '^#' | head -40 >"$CITY_PERF" || true
  note "perf of the city issuer over the end-of-list runs: $CITY_PERF"
fi
# Untimed: use up list LISTS (the rest of its positions, and the blocks the
# pool connections still hold) so the next runs are at the start of a new list.
read -r l pos sz <<<"$(cursor "$CITY")"
rest=$((sz - pos + 16 * 32))
sed -n "$((used[city] + 1)),$((used[city] + rest))p" "$CITY.paths" >"$tmp/slice"
used[city]=$((used[city] + rest))
timeout 120 "$bb/loadgen" --seconds 60 --port "$CPORT" --conns 16 --paths "$tmp/slice" --method POST \
  --requests "$rest" --header "Authorization: Bearer $(cat "$CITY.officer")" --expect 201 >/dev/null 2>>"$tmp/loadgen.err" ||
  note "using up list $l failed: $(tail -1 "$tmp/loadgen.err")"
note "list $l used up; now at $(cursor "$CITY")"
for r in $(seq 1 "$REPS"); do
  approve next "$r" "$CITY" "$CPORT" city
done
stop_daemon "$epid"

# --- 3. one status list build ------------------------------------------------------
# Credential 0 of the fill sits in list 1, a full list. Each suspend/resume
# bumps the list's generation; the GET after it misses the issuer's cache.
note "status list build: GET /status/1 after a status change, $BUILDS times"
officer=$(cat "$CITY.officer")
: >"$tmp/builds"
: >"$tmp/hits"
for i in $(seq 1 "$BUILDS"); do
  act=suspend
  ((i % 2)) || act=resume
  code=$(curl -s -m 10 -o "$tmp/st.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $officer" \
           -H 'Content-Type: application/json' --data '{}' "http://127.0.0.1:$CPORT/v1/credentials/c100000000000000/$act")
  [[ $code == 200 ]] || { note "$act: HTTP $code $(head -c 200 "$tmp/st.out")"; break; }
  curl -s -m 10 -o "$tmp/list1" -w '%{time_total}\n' "http://127.0.0.1:$CPORT/status/1" >>"$tmp/builds"
  curl -s -m 10 -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$CPORT/status/1" >>"$tmp/hits"
done
list_bytes=$(stat -c %s "$tmp/list1" 2>/dev/null || echo 0)
list_nonvalid=$(python3 - "$CITY/registry.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True, timeout=10)
print(db.execute("SELECT count(*) FROM credentials WHERE list_id = 1 AND status <> 0").fetchone()[0])
EOF
)

# --- 4. cold and warm sync -----------------------------------------------------------
# sync_run KIND CACHE: one `ecred-verify sync`, timed, its connections and
# bytes counted by the shim: "KIND SECONDS CONNECTS SENT RECEIVED SUMMARY".
sync_run() {
  local kind=$1 cache=$2 t0 t1 summary
  rm -f "$tmp/net"
  t0=$(date +%s.%N)
  summary=$(CITY_NETCOUNT=$tmp/net LD_PRELOAD=$bb/libcity_netcount.so timeout 300 "$bin/ecred-verify" sync \
              --issuer "http://127.0.0.1:$CPORT" --root "$CITY/root.pub.pem" --cache "$cache" \
              --sync-timeout 280s 2>>"$tmp/sync.err" | tail -1 | sed 's/^cache [^:]*: //') ||
    note "$kind sync failed: $(tail -1 "$tmp/sync.err")"
  t1=$(date +%s.%N)
  IFS='|' read -r _ conns sent recvd <"$tmp/net" || conns=0 sent=0 recvd=0
  echo "$kind $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') $conns $sent $recvd $summary" >>"$tmp/syncs"
  note "$kind sync: $(tail -1 "$tmp/syncs")"
}
: >"$tmp/syncs"
note "sync: cold (issuer's list cache cold too), 2 more cold, then warm x 3"
sync_run cold1 "$tmp/vc1"
sync_run cold "$tmp/vc2"
sync_run cold "$tmp/vc3"
for _ in 1 2 3; do sync_run warm "$tmp/vc1"; done

# --- 5. verifier RSS -------------------------------------------------------------------
note "verifier RSS: ecred-verifierd synced from the city issuer"
VPORT=$(free_port)
vkey=$("$bin/ecred-verifierd" key add --cache "$tmp/vd" --role landlord 2>/dev/null)
start_daemon vpid "$VPORT" /healthz "$bin/ecred-verifierd" --cache "$tmp/vd" --issuer "http://127.0.0.1:$CPORT" \
  --root "$CITY/root.pub.pem" --listen "127.0.0.1:$VPORT" --rate 0 --max-client-conns 0 ||
  note "ecred-verifierd did not start: $(tail -2 "$tmp/daemons.log")"
# One valid credential of the city registry to verify (list $LISTS + 1).
qr=$(sed -n "$((used[city] + 1))p" "$CITY.paths" | xargs -I{} curl -s -m 10 -X POST -H "Authorization: Bearer $officer" \
       "http://127.0.0.1:$CPORT{}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["qr_text"])' ||
     true)
vd_lists=0 outcome=none
for _ in $(seq 1 200); do
  vd_lists=$(curl -s -m 2 "http://127.0.0.1:$VPORT/healthz" |
             python3 -c 'import json,sys; print(json.load(sys.stdin).get("status_lists", 0))' 2>/dev/null || echo 0)
  if ((vd_lists >= LISTS)) && [[ -n $qr ]]; then
    outcome=$(curl -s -m 5 -H "Authorization: Bearer $vkey" --data-binary "$qr" "http://127.0.0.1:$VPORT/v1/verify" |
              python3 -c 'import json,sys; print(json.load(sys.stdin).get("outcome", "?"))' 2>/dev/null || echo "?")
    [[ $outcome == valid ]] && break
  fi
  sleep 0.2
done
rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$vpid/status" 2>/dev/null || echo 0)
hwm_kb=$(awk '/^VmHWM/ {print $2}' "/proc/$vpid/status" 2>/dev/null || echo 0)
note "verifier: $vd_lists lists, outcome $outcome, VmRSS $rss_kb kB, VmHWM $hwm_kb kB"
stop_daemon "$vpid"
stop_daemon "$cpid"

# --- rows --------------------------------------------------------------------------------
python3 - "$RESULTS" "$tmp/builds" "$tmp/hits" "$tmp/syncs" <<EOF
import statistics, sys
fill_note = """$FILLNOTE"""
size, lists = $SIZE, $LISTS
runs = {}
for line in open(sys.argv[1]):
    kind, rep, rate, p50, p99, done, errs, frm, to = line.split()
    runs.setdefault(kind, {})[int(rep)] = (float(rate), float(p50), float(p99), int(done), int(errs), frm, to)

def row(fig, val, unit, base, bval, r, spread, note):
    print(f"ROW|{fig}|{val:.6g}|{unit}|{base}|{bval:.6g}|{r:.3f}|{spread}|{note}")

def span(kind):
    """the list positions a kind's runs covered, as percent of the list"""
    out = []
    for v in runs[kind].values():
        (l0, p0, _), (l1, p1, _) = v[5].split(":"), v[6].split(":")
        out.append(f"list {l0} {100 * int(p0) / size:.1f} %..list {l1} {100 * int(p1) / size:.1f} %")
    return "; ".join(out)

for kind, fig in (("end", "$(printf '%s' "${FIGS[0]}")"), ("next", "$(printf '%s' "${FIGS[1]}")")):
    if kind not in runs or "empty" not in runs:
        row(fig, 0, "-", "-", 0, 0, "", "not measured: a run failed (bench/city.sh's notes)")
        continue
    # Empty registry runs pair with the same repetition's city run.
    rs = [x[0] / runs["empty"][k][0] for k, x in runs[kind].items() if k in runs["empty"] and runs["empty"][k][0] > 0]
    med = lambda k, i: statistics.median(v[i] for v in runs[k].values())
    errs = sum(v[4] for v in runs[kind].values()) + sum(v[4] for v in runs["empty"].values())
    row(fig, med(kind, 0), "approvals/s", "empty registry, same run, same flags (16 clients, durable)",
        med("empty", 0), statistics.median(rs) if rs else 0,
        f"{min(rs):.3f}..{max(rs):.3f} (n={len(rs)})" if rs else "",
        f"goal >= 0.8 of empty; p50/p99 {med(kind, 1) / 1000:.1f}/{med(kind, 2) / 1000:.1f} ms vs empty "
        f"{med('empty', 1) / 1000:.1f}/{med('empty', 2) / 1000:.1f} ms; before issue 10: 0.04-0.09, p99 0.34-0.74 s; "
        f"positions {span(kind)}; {errs} errors; {fill_note}")

b = [float(x) * 1000 for x in open(sys.argv[2]) if x.strip()]
h = [float(x) * 1000 for x in open(sys.argv[3]) if x.strip()]
if b:
    mb = statistics.median(b)
    row("$(printf '%s' "${FIGS[2]}")", mb, "ms", "goal", 20, 20 / mb, f"{min(b):.1f}..{max(b):.1f} ms (n={len(b)})",
        f"GET /status/1 right after a suspend/resume in it (cache miss, rebuilt from the partial index: "
        f"$list_nonvalid non-valid of {size} entries, token $list_bytes bytes), curl time_total over loopback; "
        f"a cache hit right after: {statistics.median(h):.1f} ms; before issue 10: 450-1400 ms; {fill_note}")
else:
    row("$(printf '%s' "${FIGS[2]}")", 0, "-", "-", 0, 0, "", "not measured: the status change failed (notes)")

syncs = {}
for line in open(sys.argv[4]):
    kind, secs, conns, sent, recvd, *summary = line.split()
    syncs.setdefault(kind, []).append((float(secs), int(conns), int(sent), int(recvd), " ".join(summary)))

def sync_row(fig, kinds, goal_note):
    v = [x for k in kinds for x in syncs.get(k, [])]
    if not v:
        row(fig, 0, "-", "-", 0, 0, "", "not measured: the sync failed (notes)")
        return
    first = v[0]
    med = statistics.median(x[0] for x in v)
    t = [x[0] for x in v]
    cold = syncs.get("cold1", [(0,)])[0][0]
    if kinds[0] == "cold1":
        val, base, bval, r = first[0], "goal", 3, 3 / first[0] if first[0] else 0
    else:
        val, base, bval = med, "the cold sync, same run", cold
        r = med / cold if cold else 0
    row(fig, val, "s", base, bval, r, f"{min(t):.2f}..{max(t):.2f} s (n={len(t)})",
        f"{goal_note}; {first[1]} TCP connection(s), {first[3]} bytes received, {first[2]} sent "
        f"(client side, bench/city_netcount.c); ecred-verify sync: {first[4]}; {fill_note}")

sync_row("$(printf '%s' "${FIGS[3]}")", ["cold1", "cold"],
         "value: the first sync (verifier AND issuer list cache cold: every list built once); spread over it and "
         "2 more cold verifier caches; goal < 3 s on loopback; projected before issue 10: 40-110 s")
sync_row("$(printf '%s' "${FIGS[4]}")", ["warm"],
         "median of 3 syncs of a synced cache (conditional GETs, 304 expected)")
rss = $rss_kb / 1024
row("$(printf '%s' "${FIGS[5]}")", rss, "MiB", "goal", 32, 32 / rss if rss else 0, "",
    f"VmRSS of ecred-verifierd holding $vd_lists lists after its start-up sync and one verification "
    f"(outcome $outcome); VmHWM {$hwm_kb / 1024:.1f} MiB; {fill_note}")
EOF
