#!/usr/bin/env bash
# Build the libFuzzer targets (clang, ASan+UBSan) in build-fuzz/ and run each
# for SECONDS (default 20) on its corpus, one at a time, in one process each
# (no -jobs: that forks workers that log into the current directory). Fails when
# any target reports a crash, a leak, a timeout or a broken property; the
# offending input is left in build-fuzz/fuzz-findings/<target>/ — add it to
# tests/fuzz/regressions/<target>/ once the bug is fixed.
#
# usage: tests/fuzz/run-all.sh [SECONDS] [TARGET...]
#        tests/fuzz/run-all.sh --merge [SECONDS]   also fold new coverage into
#            tests/fuzz/corpus/ (minimised with -merge=1), seeds included
# Environment: ECRED_FUZZ_BUILD (default <repo>/build-fuzz), CC (default clang).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${ECRED_FUZZ_BUILD:-$repo/build-fuzz}
merge=0
if [ "${1:-}" = "--merge" ]; then
  merge=1
  shift
fi
seconds=${1:-20}
shift || true
case $seconds in '' | *[!0-9]*) echo "run-all.sh: SECONDS must be a number" >&2; exit 2 ;; esac

all_targets=(b45 inflate cbor cose claims qrtext_decide credential_json slist trustlist present challenge qr_image
  issuer_body verifier_body)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

# Longest input per target: QR-sized formats stay small so the fuzzer spends
# its time on structure; images, trust lists and status lists need more.
max_len() {
  case $1 in
    qr_image) echo 65536 ;;
    slist | trustlist) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

CC=${CC:-clang} cmake -S "$repo" -B "$build" -DECRED_FUZZ=ON -DECRED_SANITIZE=ON >/dev/null
cmake --build "$build" -j2 --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
findings=$build/fuzz-findings
failed=()
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/fuzz_$t
  corpus=$here/corpus/$t
  work=$build/fuzz-work/$t
  mkdir -p "$findings/$t" "$work"
  # New inputs go to a scratch directory; the repository's corpus is only read
  # (and only rewritten by --merge).
  dirs=("$work")
  [ -d "$corpus" ] && dirs+=("$corpus")
  [ -d "$here/regressions/$t" ] && dirs+=("$here/regressions/$t")
  log=$build/fuzz-$t.log
  echo "== fuzz_$t: ${seconds}s" >&2
  if ! "$bin" -max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$findings/$t/" "${dirs[@]}" \
      >"$log" 2>&1; then
    echo "fuzz_$t FAILED: see $log and $findings/$t/" >&2
    tail -n 40 "$log" >&2
    failed+=("$t")
    continue
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units' "$log" | tail -n 2 | cut -c1-120 >&2 || true
  if [ $merge -eq 1 ]; then
    mkdir -p "$corpus"
    merged=$build/fuzz-merged/$t
    rm -rf "$merged" && mkdir -p "$merged"
    if ! "$bin" -merge=1 -max_len="$(max_len "$t")" -artifact_prefix="$findings/$t/" "$merged" \
        "$corpus" "$work" >>"$log" 2>&1; then
      echo "fuzz_$t: merge FAILED (a corpus input crashes): see $log" >&2
      failed+=("$t")
      continue
    fi
    rm -f "$corpus"/*
    cp "$merged"/* "$corpus"/ 2>/dev/null || true
    echo "   corpus/$t: $(find "$corpus" -type f | wc -l) files, $(du -sh "$corpus" | cut -f1)" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "run-all.sh: findings in: ${failed[*]}" >&2
  exit 1
fi
echo "run-all.sh: ${#targets[@]} targets ran ${seconds}s each without findings" >&2
