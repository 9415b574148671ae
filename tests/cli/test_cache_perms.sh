#!/usr/bin/env bash
# The verifier's cache holds the trust anchor (root.pub.pem): a cache
# directory or anchor that others can write, or an anchor that is a symlink,
# is refused by `ecred-verify --cache` and by `ecred-verify sync` before any
# network or parsing (issue 9: the cache directory's mode and owner).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/cache_perms.$$
mkdir -p "$tmp"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
qr="RC1:NCFOXN%TS3DHZN4HAF*PQFKKGTNA.Q/R8WRU2FCAH9BDF%188WA.*RFVJRKC9TMCS/8KOJ6ZP6*NV8"

mkdir -p "$tmp/c"
chmod 0777 "$tmp/c"
set +e
out=$("$bin/ecred-verify" --cache "$tmp/c" "$qr" 2>&1); rc=$?
set -e
check '[ $rc -ne 0 ] && [[ "$out" == *"writable by group or others"* ]]' "world-writable cache accepted (exit $rc): $out"
set +e
out=$("$bin/ecred-verify" sync --issuer http://127.0.0.1:9 --root "$src/tests/vectors/trustlist/root.pub.pem" --cache "$tmp/c" 2>&1); rc=$?
set -e
check '[ $rc -ne 0 ] && [[ "$out" == *"writable by group or others"* ]]' "sync into a world-writable cache (exit $rc): $out"

chmod 0755 "$tmp/c"
cp "$src/tests/vectors/trustlist/root.pub.pem" "$tmp/c/root.pub.pem" 2>/dev/null || "$bin/ecred-keys" gen --out "$tmp/r.key" >/dev/null
[ -f "$tmp/c/root.pub.pem" ] || "$bin/ecred-keys" pub "$tmp/r.key" >"$tmp/c/root.pub.pem"
chmod 0666 "$tmp/c/root.pub.pem"
set +e
out=$("$bin/ecred-verify" --cache "$tmp/c" "$qr" 2>&1); rc=$?
set -e
check '[ $rc -ne 0 ] && [[ "$out" == *"root.pub.pem is writable by group or others"* ]]' "writable anchor accepted (exit $rc): $out"
chmod 0644 "$tmp/c/root.pub.pem"
mv "$tmp/c/root.pub.pem" "$tmp/real.pem"; ln -s "$tmp/real.pem" "$tmp/c/root.pub.pem"
set +e
out=$("$bin/ecred-verify" --cache "$tmp/c" "$qr" 2>&1); rc=$?
set -e
check '[ $rc -ne 0 ] && [[ "$out" == *"symlink"* ]]' "symlinked anchor accepted (exit $rc): $out"
rm "$tmp/c/root.pub.pem"; mv "$tmp/real.pem" "$tmp/c/root.pub.pem"
set +e
out=$("$bin/ecred-verify" --cache "$tmp/c" "$qr" 2>&1); rc=$?
set -e
check '[[ "$out" != *"writable"* ]] && [[ "$out" != *"symlink"* ]]' "a safe cache still refused for its mode: $out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
