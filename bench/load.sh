#!/usr/bin/env bash
# bench/load.sh BIN_DIR BENCH_BIN SOURCE_DIR REPS SECONDS - the daemon load
# figures of bench/run, printed as ROW lines (bench_util.h format) on stdout.
#
# Issuer: ecred-issuerd on loopback with a fresh data directory. Applications
# are created beforehand (by a daemon with fsync disabled, which only speeds
# up the setup); each timed run approves a fresh slice of them with 1 and
# with 16 keep-alive clients (bench/loadgen), every approval a durable
# commit. Baselines in the same repetition: bare SQLite INSERT+COMMIT with the
# registry's settings on the same disk (bench/sqlite_commit: 1 thread with
# one COMMIT per insert for the 1-client figure; 4 threads = the issuer's
# pool with the daemon's group commit for the 16-client figure, and 4
# unbatched threads for reference), the same daemon binary with fsync made a
# no-op (bench/nofsync.c: the cost of durability) and bare libmicrohttpd.
# Durable and no-fsync daemons, and the SQLite baselines against the
# daemons, swap order every repetition. The daemon's own mean batch (writes
# per COMMIT) is read from its /metrics around the 16-client run.
# Verifier: ecred-verifierd synced from that issuer, POST /v1/verify of one
# valid QR text at 64 connections, against two baselines at 64 connections:
# bench/bare_mhd answering fixed JSON, and bench/bare_mhd doing one raw
# OpenSSL ES256 verification over as many bytes as that credential's
# Sig_structure before answering (the crypto a verifier cannot skip). The
# three sides take turns going first. Medians of REPS repetitions.
#
# LOAD_ONLY=verify skips the issuer figures (and most of their setup): for
# profiling the verify API. LOAD_PERF=FILE also records perf on the verifier.
#
# Loopback only; every run is bounded by a request count and SECONDS; every
# daemon started here is killed on exit.
set -euo pipefail
bin=$1 bb=$2 src=$3 reps=$4 secs=$5
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [[ -n ${LOAD_KEEP:-} ]] && echo "bench/load.sh: kept $tmp" >&2 || rm -rf "$tmp"
}
trap cleanup EXIT
note() { echo "bench/load.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # free_port, bench_app_json
# not_measured WHY: the load rows, each saying why it is missing.
not_measured() {
  for fig in "issuer under load: approvals/s with durable commit, p50/p99" \
             "verify API under load: req/s and p99 at 64 connections"; do
    echo "ROW|$fig|0|-|-|0|0||not measured: $1"
  done
  exit 0
}
for f in "$bin/ecred-issuerd" "$bin/ecred-verifierd" "$bin/ecred-verify" "$bb/loadgen" "$bb/bare_mhd" "$bb/sqlite_commit" \
         "$bb/libbench_nofsync.so"; do
  [[ -e $f ]] || not_measured "$f was not built"
done
nofsync=(env "LD_PRELOAD=$bb/libbench_nofsync.so")
CAP=1500 # approvals per timed run at most (and applications set aside for it)
RESULTS=$tmp/results # lines: KIND REP RATE P50_US P99_US DONE ERRORS [WRITES_PER_COMMIT]

CPU=$tmp/cpu # lines: KIND REP SERVER_CPU_US_PER_REQUEST
# cpu_ticks PID: user + system CPU ticks the process has used so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))

# run_load KIND REP LOADGEN-ARGS...: one bounded loadgen run, recorded under
# KIND. With SERVER_PID set, also the server's CPU time per request (from
# /proc: on a shared machine req/s moves with everyone else's load, the CPU
# the server spends on each request much less).
run_load() {
  local kind=$1 rep=$2 out t0=0; shift 2
  [[ -n ${SERVER_PID:-} ]] && t0=$(cpu_ticks "$SERVER_PID")
  if out=$(timeout $((${secs%.*} + 30)) "$bb/loadgen" --seconds "$secs" "$@" 2>>"$tmp/loadgen.err"); then
    IFS='|' read -r _ done errs _ rate p50 p99 _ <<<"$out"
    echo "$kind $rep $rate $p50 $p99 $done $errs" >>"$RESULTS"
    if [[ -n ${SERVER_PID:-} ]] && ((done > 0)); then
      echo "$kind $rep $(( ($(cpu_ticks "$SERVER_PID") - t0) * TICK_US / done ))" >>"$CPU"
    fi
  else
    note "$kind: loadgen failed: $(tail -1 "$tmp/loadgen.err")"
  fi
}

# start_daemon VAR_PID VAR_PORT PROBE_PATH CMD...: start CMD (with PORT in
# its arguments replaced by a free port) and wait, bounded, until it answers.
start_daemon() {
  local -n _pid=$1 _port=$2
  local probe=$3; shift 3
  _port=$(free_port)
  local args=("${@//@PORT@/$_port}")
  "${args[@]}" 2>>"$tmp/daemons.log" &
  _pid=$!
  pids+=("$_pid")
  for _ in $(seq 1 100); do
    curl -s -m 1 -o /dev/null "http://127.0.0.1:$_port$probe" && return 0
    kill -0 "$_pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop_daemon() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# --- setup: issuer data, applications, one valid QR text, the verifier --------
mkdir -p "$tmp/data" "$tmp/sq"
bench_app_json "$src" "$tmp/app.json"
start_daemon setup_pid setup_port /.well-known/ecred-trust \
  "${nofsync[@]}" "$bin/ecred-issuerd" --data "$tmp/data" --listen 127.0.0.1:@PORT@ ||
  not_measured "ecred-issuerd did not start: $(tail -2 "$tmp/daemons.log")"
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role officer)
napps=$((reps * 4 * CAP + 1))
[[ ${LOAD_ONLY:-} == verify ]] && napps=1
note "creating $napps applications (setup, not timed)"
timeout 120 "$bb/loadgen" --port "$setup_port" --conns 16 --requests "$napps" --seconds 60 --method POST \
  --path /v1/applications --body-file "$tmp/app.json" --header "Authorization: Bearer $clerk" \
  --header "Content-Type: application/json" --expect 201 --ids-out "$tmp/ids" >/dev/null ||
  not_measured "creating applications failed: $(tail -1 "$tmp/loadgen.err" 2>/dev/null)"
sed 's|.*|/v1/applications/&/approve|' "$tmp/ids" >"$tmp/paths"
qr=$(curl -s -m 10 -X POST -H "Authorization: Bearer $officer" \
       "http://127.0.0.1:$setup_port$(tail -1 "$tmp/paths")" |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["credential"]["qr_text"])') ||
  not_measured "approving the verifier's credential failed"
printf '%s' "$qr" >"$tmp/qr.body"
vkey=$("$bin/ecred-verifierd" key add --cache "$tmp/vcache" --role landlord 2>/dev/null)
start_daemon vd_pid vd_port /healthz "$bin/ecred-verifierd" --cache "$tmp/vcache" \
  --issuer "http://127.0.0.1:$setup_port" --root "$tmp/data/root.pub.pem" --listen 127.0.0.1:@PORT@ \
  --rate 0 --max-client-conns 0 ||
  not_measured "ecred-verifierd did not start: $(tail -2 "$tmp/daemons.log")"
verify_ok=
for _ in $(seq 1 100); do
  code=$(curl -s -m 2 -o "$tmp/v.out" -w '%{http_code}' -H "Authorization: Bearer $vkey" \
           --data-binary @"$tmp/qr.body" "http://127.0.0.1:$vd_port/v1/verify" || true)
  if [[ $code == 200 ]] && grep -q '"outcome":"valid"' "$tmp/v.out"; then verify_ok=1; break; fi
  sleep 0.1
done
[[ -n $verify_ok ]] || not_measured "ecred-verifierd never answered valid: $(head -c 200 "$tmp/v.out")"
# bare_mhd picks its own port and writes it down.
"$bb/bare_mhd" --threads 4 --max-seconds 600 --port-file "$tmp/bare.port" 2>>"$tmp/daemons.log" &
bare_pid=$!
pids+=("$bare_pid")
for _ in $(seq 1 100); do [[ -s $tmp/bare.port ]] && break; sleep 0.05; done
bare_port=$(cat "$tmp/bare.port" 2>/dev/null || true)
[[ -n $bare_port ]] || not_measured "bench/bare_mhd did not start"
# The crypto baseline signs and verifies as many bytes as the credential's
# Sig_structure: ["Signature1", protected bstr, h'', payload bstr] in CBOR.
sig_len=$("$bin/ecred-verify" inspect "$qr" | python3 -c '
import json, sys
z = json.load(sys.stdin)["sizes"]
bstr = lambda n: n + (1 if n < 24 else 2 if n < 256 else 3)
print(1 + 11 + bstr(z["protected"]) + 1 + bstr(z["payload"]))') ||
  not_measured "ecred-verify inspect could not size the credential's Sig_structure"
"$bb/bare_mhd" --threads 4 --max-seconds 600 --port-file "$tmp/barec.port" --verify-bytes "$sig_len" \
  2>>"$tmp/daemons.log" &
barec_pid=$!
pids+=("$barec_pid")
for _ in $(seq 1 100); do [[ -s $tmp/barec.port ]] && break; sleep 0.05; done
barec_port=$(cat "$tmp/barec.port" 2>/dev/null || true)
[[ -n $barec_port ]] || not_measured "bench/bare_mhd --verify-bytes did not start"

# --- verify API at 64 connections, against bare libmicrohttpd -------------------
note "verify API under load ($reps x 3 runs of ${secs}s; Sig_structure $sig_len bytes)"
V=(--conns 64 --requests 2000000 --method POST --path /v1/verify --body-file "$tmp/qr.body"
   --header "Content-Type: text/plain")
sides=(ours bare barec)
for r in $(seq 1 "$reps"); do
  for k in 0 1 2; do
    case ${sides[$(((r + k) % 3))]} in
      ours) SERVER_PID=$vd_pid run_load verify64 "$r" --port "$vd_port" "${V[@]}" --header "Authorization: Bearer $vkey" --expect 200 ;;
      bare) SERVER_PID=$bare_pid run_load bare64 "$r" --port "$bare_port" "${V[@]}" --expect 200 ;;
      barec) SERVER_PID=$barec_pid run_load barec64 "$r" --port "$barec_port" "${V[@]}" --expect 200 ;;
    esac
  done
done
stop_daemon "$barec_pid"
if [[ -n ${LOAD_PERF:-} ]] && command -v perf >/dev/null; then
  perf record -g -F 2000 -o "$LOAD_PERF.data" -p "$vd_pid" -- sleep "$secs" >/dev/null 2>&1 &
  perf_pid=$!
  timeout 60 "$bb/loadgen" --seconds "$secs" --port "$vd_port" "${V[@]}" --header "Authorization: Bearer $vkey" >&2 || true
  wait "$perf_pid" || true
  perf report -i "$LOAD_PERF.data" --no-children --sort dso 2>/dev/null | grep '%' | grep -v '^#' | head -12 >"$LOAD_PERF" || true
fi
stop_daemon "$vd_pid"
stop_daemon "$setup_pid"

# --- issuer approvals -------------------------------------------------------------
[[ ${LOAD_ONLY:-} == verify ]] && reps_issuer=0 || reps_issuer=$reps
note "issuer under load ($reps_issuer repetitions)"
slice=0
next_slice() { # the next CAP unused approve paths, into $tmp/slice (not in a subshell)
  slice=$((slice + 1))
  sed -n "$(((slice - 1) * CAP + 1)),$((slice * CAP))p" "$tmp/paths" >"$tmp/slice"
}
A=(--method POST --requests "$CAP" --header "Authorization: Bearer $officer" --expect 201)
# batch_stats PORT: "WRITES COMMITS" from the issuer's group-commit summary.
batch_stats() {
  curl -s -m 5 "http://127.0.0.1:$1/metrics" |
    awk '/^ecred_issuer_group_commit_batch_size_sum / {s=$2} /^ecred_issuer_group_commit_batch_size_count / {c=$2}
         END {print (s == "" ? 0 : s), (c == "" ? 0 : c)}'
}
# sqlite_runs REP: the bare SQLite baselines of one repetition.
sqlite_runs() {
  local r=$1 kind t b out
  for kind in sqlite1:1:0 sqlite4:4:0 sqlite4b:4:64; do
    IFS=: read -r kind t b <<<"$kind"
    if out=$(timeout $((${secs%.*} + 30)) "$bb/sqlite_commit" --dir "$tmp/sq" --threads "$t" --batch "$b" \
               --seconds "$secs"); then
      IFS='|' read -r _ done errs _ rate p50 p99 _ per_commit <<<"$out"
      echo "$kind $r $rate $p50 $p99 $done $errs ${per_commit:-0}" >>"$RESULTS"
    fi
    rm -f "$tmp/sq"/sqlite_commit.sqlite*
  done
}
# daemon_runs REP MODE: one issuer (durable, or nofsync under the shim) at 1
# and at 16 clients, each on a fresh slice of applications.
daemon_runs() {
  local r=$1 mode=$2 pre=() before after
  [[ $mode == nofsync ]] && pre=("${nofsync[@]}")
  if start_daemon iss_pid iss_port /.well-known/ecred-trust \
       "${pre[@]}" "$bin/ecred-issuerd" --data "$tmp/data" --listen 127.0.0.1:@PORT@ \
       --status-base-url "http://127.0.0.1:$setup_port" --max-client-conns 0; then
    next_slice
    run_load "${mode}1" "$r" --port "$iss_port" --conns 1 --paths "$tmp/slice" "${A[@]}"
    next_slice
    before=$(batch_stats "$iss_port")
    run_load "${mode}16" "$r" --port "$iss_port" --conns 16 --paths "$tmp/slice" "${A[@]}"
    after=$(batch_stats "$iss_port")
    # Writes per COMMIT during the 16-client run: the daemon's side of the
    # batching the baseline mirrors.
    echo "$before $after" | awk -v k="${mode}16" -v r="$r" \
      '$4 > $2 {printf "%s %s %.2f\n", k, r, ($3 - $1) / ($4 - $2)}' >>"$tmp/batches"
  else
    note "ecred-issuerd ($mode) did not start: $(tail -2 "$tmp/daemons.log")"
  fi
  stop_daemon "$iss_pid"
}
: >"$tmp/batches"
for r in $(seq 1 "$reps_issuer"); do
  run_load bare1 "$r" --port "$bare_port" --conns 1 --requests 2000000 --method POST --path /x --expect 200
  run_load bare16 "$r" --port "$bare_port" --conns 16 --requests 2000000 --method POST --path /x --expect 200
  # Odd repetitions: SQLite first, durable before no-fsync; even: the reverse,
  # so neither side always meets the disk (or the page cache) in the same state.
  if ((r % 2)); then
    sqlite_runs "$r"
    daemon_runs "$r" durable
    daemon_runs "$r" nofsync
  else
    daemon_runs "$r" nofsync
    daemon_runs "$r" durable
    sqlite_runs "$r"
  fi
done
stop_daemon "$bare_pid"

# --- rows ------------------------------------------------------------------------
python3 - "$RESULTS" "$reps" "${sig_len:-0}" "$tmp/batches" "$CPU" <<'EOF'
import os, statistics, sys
runs = {}
cpu = {}
if os.path.exists(sys.argv[5]):
    for line in open(sys.argv[5]):
        kind, rep, us = line.split()
        cpu.setdefault(kind, {})[int(rep)] = float(us)
for line in open(sys.argv[1]):
    kind, rep, rate, p50, p99, done, errs, *per_commit = line.split()
    runs.setdefault(kind, {})[int(rep)] = (float(rate), float(p50), float(p99), int(done), int(errs),
                                           float(per_commit[0]) if per_commit else 0.0)
batches = {}
if os.path.exists(sys.argv[4]):
    for line in open(sys.argv[4]):
        kind, rep, per_commit = line.split()
        batches.setdefault(kind, []).append(float(per_commit))

def batch_med(kind):
    v = batches.get(kind, [])
    return f"{statistics.median(v):.2f}" if v else "?"

def med(kind, i):
    v = [x[i] for x in runs.get(kind, {}).values()]
    return statistics.median(v) if v else 0.0

def ratio(a, b, i=0, invert=False):
    """median and spread of per-repetition ratios a/b (b/a if invert)"""
    rs = []
    for rep, x in runs.get(a, {}).items():
        y = runs.get(b, {}).get(rep)
        if y and x[i] > 0 and y[i] > 0:
            rs.append(y[i] / x[i] if invert else x[i] / y[i])
    if not rs:
        return 0.0, ""
    return statistics.median(rs), f"{min(rs):.3f}..{max(rs):.3f} (n={len(rs)})"

def ms(us):
    return f"{us / 1000:.2f} ms"

def errs(kind):
    return sum(x[4] for x in runs.get(kind, {}).values())

def row(fig, val, unit, base, bval, r, spread, note):
    print(f"ROW|{fig}|{val:.6g}|{unit}|{base}|{bval:.6g}|{r:.3f}|{spread}|{note}")

# 1 client: nothing to batch, so the baseline commits each insert alone.
# 16 clients: the daemon's 4 pool threads group-commit, so the baseline is 4
# threads group-committing the same way (sqlite_commit --batch 64).
for n, sq, base_name in ((1, "sqlite1", "bare SQLite INSERT+COMMIT (WAL, synchronous=FULL), 1 thread, no batching"),
                         (16, "sqlite4b", "bare SQLite INSERT+COMMIT (WAL, synchronous=FULL), 4 threads, "
                                          "group commit as the daemon (savepoint each, <= 64 per COMMIT)")):
    d, nf, bare = f"durable{n}", f"nofsync{n}", f"bare{n}"
    cl = f"{n} client{'s' if n > 1 else ''}"
    if d not in runs or sq not in runs:
        print(f"ROW|issuer under load: approvals/s, {cl}|0|-|-|0|0||not measured: a run failed (see bench/run's log)")
        continue
    r, spread = ratio(d, sq)
    if n == 1:
        fair = "fairness: neither side batches (one client)"
    else:
        fair = (f"fairness: both sides group-commit; writes per COMMIT: daemon {batch_med(d)}, baseline "
                f"{med(sq, 5):.2f}; unbatched 4-thread SQLite: {med('sqlite4', 0):.0f} commits/s")
    row(f"issuer under load: approvals/s, {cl}", med(d, 0), "approvals/s", base_name, med(sq, 0), r, spread,
        f"{fair}; approval p50 {ms(med(d, 1))}, p99 {ms(med(d, 2))}; SQLite p50 {ms(med(sq, 1))}, "
        f"p99 {ms(med(sq, 2))}; bare libmicrohttpd at {n} conn: {med(bare, 0):.0f} req/s; errors {errs(d)}")
    r, spread = ratio(d, sq, 2, invert=True)
    row(f"  approval p99 latency, {cl}", med(d, 2) / 1000, "ms",
        f"bare SQLite p99 ({'no batching' if n == 1 else 'group commit'}), {'1 thread' if n == 1 else '4 threads'}",
        med(sq, 2) / 1000, r, spread, "ratio = baseline p99 / ours")
    if nf in runs:
        r, spread = ratio(d, nf)
        row(f"  durability cost, {cl}: approvals/s with fsync a no-op",
            med(nf, 0), "approvals/s", "the same daemon with fsync (the row above)", med(d, 0), r, spread,
            f"ratio = durable / no-fsync; no-fsync p50 {ms(med(nf, 1))}, p99 {ms(med(nf, 2))} "
            f"(LD_PRELOAD bench/nofsync.c); the two runs swap order every repetition")
if "verify64" in runs and "bare64" in runs:
    r, spread = ratio("verify64", "bare64")
    row("verify API under load: req/s at 64 connections", med("verify64", 0), "req/s",
        "bare libmicrohttpd fixed JSON, 64 connections, same threading", med("bare64", 0), r, spread,
        f"goal >= 0.5; p50 {ms(med('verify64', 1))}, p99 {ms(med('verify64', 2))}; bare p50 "
        f"{ms(med('bare64', 1))}, p99 {ms(med('bare64', 2))}; errors {errs('verify64')}")
    r, spread = ratio("verify64", "bare64", 2, invert=True)
    row("  verify API p99 latency at 64 connections", med("verify64", 2) / 1000, "ms",
        "bare libmicrohttpd p99, 64 connections", med("bare64", 2) / 1000, r, spread, "ratio = baseline p99 / ours")
    if "barec64" in runs:
        r, spread = ratio("verify64", "barec64")
        row("  verify API against bare libmicrohttpd + one ES256 verify", med("verify64", 0), "req/s",
            f"bare libmicrohttpd + raw OpenSSL ES256 EVP_DigestVerify of {sys.argv[3]} bytes per request, 64 connections",
            med("barec64", 0), r, spread,
            f"the crypto we cannot avoid; its p50 {ms(med('barec64', 1))}, p99 {ms(med('barec64', 2))}; "
            f"errors {errs('barec64')}")
        # The same comparison in server CPU per request (baseline / ours):
        # what the daemon costs beyond the crypto, whatever else runs.
        rs = [cpu["barec64"][k] / cpu["verify64"][k] for k in cpu.get("verify64", {})
              if k in cpu.get("barec64", {}) and cpu["verify64"][k] > 0]
        if rs:
            row("  verify API server CPU per request against bare + ES256",
                statistics.median(cpu["verify64"].values()), "us/req",
                "bare libmicrohttpd + one ES256 verify, CPU per request", statistics.median(cpu["barec64"].values()),
                statistics.median(rs), f"{min(rs):.3f}..{max(rs):.3f} (n={len(rs)})",
                "utime+stime of the server process from /proc over each run / requests answered; "
                "goal >= 0.85 (issue 8), steadier than req/s on a shared machine")
        r, spread = ratio("verify64", "barec64", 2, invert=True)
        row("  verify API p99 latency against bare + ES256", med("verify64", 2) / 1000, "ms",
            "bare libmicrohttpd + ES256 p99, 64 connections", med("barec64", 2) / 1000, r, spread,
            "ratio = baseline p99 / ours")
else:
    print("ROW|verify API under load: req/s and p99 at 64 connections|0|-|-|0|0||not measured: a run failed (see bench/run's log)")
EOF
