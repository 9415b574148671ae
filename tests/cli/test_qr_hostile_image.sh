#!/usr/bin/env bash
# QR image CPU bomb (security issue 9, item 5): small PNGs tiled with QR
# finder patterns (made by tests/tools/finder_bomb.py, no binary fixture)
# kept `ecred-verify --image` in zbar for a minute (3000x3000, 1 px modules,
# 19 KB: 61 s). The scanner now hands zbar at most ECRED_QR_SCAN_ZBAR_SIDE
# pixels a side; each image must be refused as "no readable QR code" within
# a few seconds. The worst case (an image that stays crisp at 1200 px) is
# timed and printed. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/qr_hostile.$$
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
key="$src/tests/vectors/keys/test-issuer.pub.pem"
limit=${QR_BOMB_LIMIT_S:-15}   # generous: 2 shared cores, sanitizer builds (before the fix: 61 s)

# side module: 3000/1 was 61 s before; 2400/2 scales down to a crisp 1200/1,
# the worst this scanner can be handed; 6000/4 is near the pixel cap.
for spec in "3000 1" "2400 2" "1200 1" "6000 4"; do
  set -- $spec
  img="$tmp/bomb_$1_$2.png"
  python3 "$src/tests/tools/finder_bomb.py" "$img" "$1" "$2"
  start=$(date +%s%N)
  rc=0
  timeout 60 "$bin/ecred-verify" --trust-key "$key" --image "$img" >"$tmp/out" 2>"$tmp/err" || rc=$?
  ms=$((($(date +%s%N) - start) / 1000000))
  echo "finder-pattern bomb ${1}x${1}, ${2} px modules, $(stat -c %s "$img") bytes: exit $rc in ${ms} ms"
  [ "$rc" -eq 4 ] && grep -q "no readable QR code" "$tmp/err" && ok || bad "$img: exit $rc: $(cat "$tmp/err")"
  [ "$ms" -le $((limit * 1000)) ] && ok || bad "$img took ${ms} ms (limit ${limit} s)"
done

# Real photos and large renderings still decode: tests/unit/test_qr.c (scale 64 PNG,
# permit-photo.jpg, permit-screenshot.png).
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
