#!/usr/bin/env bash
# ecred-issue and ecred-verify end to end: every example issued and verified
# from text, stdin and a PNG read back by zbar; every documented exit code
# provoked; bad arguments and bad input refused with a message naming the
# problem. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/issue_verify.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
# expect CODE CMD...: run CMD, check its exit status.
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "exit $got, want $want: $*"; cat "$tmp/err" >&2; fi
}
# expect_err PATTERN: the last command's stderr names the problem.
expect_err() { if grep -q -- "$1" "$tmp/err"; then ok; else bad "stderr lacks '$1': $(cat "$tmp/err")"; fi; }

"$bin/ecred-keys" gen --out "$tmp/issuer.key"
"$bin/ecred-keys" pub "$tmp/issuer.key" > "$tmp/issuer.pub.pem"
"$bin/ecred-keys" gen --out "$tmp/other.key"
"$bin/ecred-keys" pub "$tmp/other.key" > "$tmp/other.pub.pem"
trust=(--trust-key "$tmp/issuer.pub.pem")

for ex in permit-rental permit-relative registration-own; do
  expect 0 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/$ex.json" \
    --status-uri https://jzz.sh.gov.cn/s/1 --status-idx 5 --png "$tmp/$ex.png" --svg "$tmp/$ex.svg"
  text=$(cat "$tmp/out")
  case "$text" in RC1:*) ok ;; *) bad "no RC1: text for $ex" ;; esac
  expect 0 "$bin/ecred-verify" "${trust[@]}" "$text"
  # --trust-key alone checks no status: never a plain VALID
  grep -q "SIGNATURE VALID, STATUS NOT CHECKED" "$tmp/out" && ! grep -q "有效 VALID" "$tmp/out" && ok || bad "no unchecked-status verdict for $ex"
  # The PNG read back by zbar gives the same decision.
  expect 0 "$bin/ecred-verify" "${trust[@]}" --image "$tmp/$ex.png"
  grep -q "^<svg\|^<?xml" "$tmp/$ex.svg" && ok || bad "SVG for $ex"
  # stdin, and JSON output that names the fields.
  printf '%s\n' "$text" > "$tmp/text"
  expect 0 "$bin/ecred-verify" "${trust[@]}" --json - < "$tmp/text"
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["valid"] and d["reason"]=="ok" and d["claims"]["credential"]["name"]' "$tmp/out" && ok || bad "JSON for $ex"
done

text=$("$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-relative.json")
# Validity window (permit-relative: 2026-11-26 .. 2027-11-25 CST).
expect 7 "$bin/ecred-verify" "${trust[@]}" --at 2027-11-26T00:00:00+08:00 "$text"
grep -q "EXPIRED" "$tmp/out" && ok || bad "expired wording"
expect 0 "$bin/ecred-verify" "${trust[@]}" --at 2027-11-25T23:59:59+08:00 "$text"
expect 8 "$bin/ecred-verify" "${trust[@]}" --at 2026-11-25T12:00:00+08:00 "$text"
expect 8 "$bin/ecred-verify" "${trust[@]}" --json --at 2026-11-25T12:00:00+08:00 "$text"
grep -q '"reason": "not_yet_valid"' "$tmp/out" && ok || bad "JSON reason not_yet_valid"
# Unknown key, and a certificate as trust key.
expect 5 "$bin/ecred-verify" --trust-key "$tmp/other.pub.pem" "$text"
expect 0 "$bin/ecred-verify" --trust-key "$src/tests/vectors/keys/test-issuer.cert.der" --trust-key "$tmp/issuer.pub.pem" "$text"
# Not our format: a URL and another scheme's prefix.
expect 3 "$bin/ecred-verify" "${trust[@]}" "https://example.com/pay?id=1"
grep -q "NOT A RESIDENCE CREDENTIAL" "$tmp/out" && ok || bad "not-our-format wording"
expect 3 "$bin/ecred-verify" "${trust[@]}" "HC1:${text#RC1:}"
# Malformed: bad base45, truncated.
expect 4 "$bin/ecred-verify" "${trust[@]}" "RC1:abc"
expect 4 "$bin/ecred-verify" "${trust[@]}" "${text:0:200}"
# Bad signature: one character of the signature area changed (last chars
# of uncompressed text are signature bytes).
raw=$("$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-relative.json" --compress none)
last=${raw: -2:1}
if [ "$last" = "A" ]; then repl=B; else repl=A; fi
forged="${raw:0:${#raw}-2}${repl}${raw: -1}"
expect 6 "$bin/ecred-verify" "${trust[@]}" "$forged"
# --render draws already-issued text; the drawing verifies like the original.
expect 0 "$bin/ecred-issue" --render "$text" --png "$tmp/rendered.png"
expect 0 "$bin/ecred-verify" "${trust[@]}" --image "$tmp/rendered.png"
printf '%s\n' "$text" | { expect 0 "$bin/ecred-issue" --render - --svg "$tmp/rendered.svg"; }
expect 2 "$bin/ecred-issue" --render "$text"
expect 2 "$bin/ecred-issue" --render "" --png "$tmp/empty.png"
expect 2 "$bin/ecred-issue" --render "$text" --key "$tmp/issuer.key" --png "$tmp/x.png"
# A photo (rotated, blurred JPEG) and a scaled screenshot of a vector's QR.
for img in permit-photo.jpg permit-screenshot.png; do
  expect 0 "$bin/ecred-verify" --trust-key "$src/tests/vectors/keys/test-issuer.pub.pem" \
    --at 2026-11-27T09:00:00+08:00 --image "$src/tests/vectors/images/$img"
done
# An image with no QR code.
printf 'not an image' > "$tmp/junk.png"
expect 4 "$bin/ecred-verify" "${trust[@]}" --image "$tmp/junk.png"
expect 1 "$bin/ecred-verify" "${trust[@]}" --image "$tmp/missing.png"

# inspect: decodes anything, checks a signature with the given key only.
expect 0 "$bin/ecred-verify" inspect "$text"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["prefix"]=="RC1:" and d["protected"]["1"]==-7 and "ecred_claims" in d' "$tmp/out" && ok || bad "inspect JSON"
expect 0 "$bin/ecred-verify" inspect --trust-key "$tmp/issuer.pub.pem" "$text"
expect 6 "$bin/ecred-verify" inspect --trust-key "$tmp/other.pub.pem" "$text"
expect 0 "$bin/ecred-verify" inspect "HC1:${text#RC1:}"
expect 3 "$bin/ecred-verify" inspect "no prefix here"
# A payload holding a float ({1: 1.0} as a half float): libcbor 0.8 aborts if
# its bool/null accessors see a float; inspect must show it, not crash.
floaty=$(python3 -c '
a = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
b = bytes.fromhex("d28443a10126a045a101f93c005840") + bytes(64)
out = ""
for i in range(0, len(b) - 1, 2):
    n = b[i] * 256 + b[i + 1]
    out += a[n % 45] + a[n // 45 % 45] + a[n // 2025]
if len(b) % 2:
    out += a[b[-1] % 45] + a[b[-1] // 45]
print("RC1:" + out)')
expect 0 "$bin/ecred-verify" inspect "$floaty"
grep -q '"1": 1' "$tmp/out" && ok || bad "inspect shows the float payload"

# Usage errors: exit 2 with a message.
expect 2 "$bin/ecred-verify" "$text"
expect_err "trust-key"
expect 2 "$bin/ecred-verify" "${trust[@]}"
expect 2 "$bin/ecred-verify" "${trust[@]}" --at yesterday "$text"
expect_err "RFC 3339"
expect 2 "$bin/ecred-verify" "${trust[@]}" --bogus "$text"
expect 2 "$bin/ecred-verify" --trust-key "$src/spec/credential.md" "$text"
expect 0 "$bin/ecred-verify" --help
expect 2 "$bin/ecred-issue" --in "$src/spec/examples/permit-rental.json"
expect_err "key"
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key"
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" --status-idx 3
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" --status-uri u --status-idx -3
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" --ecc X
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" --cti xyz
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$src/spec/examples/permit-rental.json" --holder-key "$src/tests/vectors/keys/test-eddsa.pub.pem"
expect 0 "$bin/ecred-issue" --help
# Invalid application: the field is named.
sed 's/"340102199003072518"/"340102199003072519"/' "$src/spec/examples/permit-rental.json" > "$tmp/bad.json"
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$tmp/bad.json"
expect_err "id_number"
printf '{"type": "residence_permit"' > "$tmp/trunc.json"
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$tmp/trunc.json"
expect 2 "$bin/ecred-issue" --key "$tmp/issuer.key" --in "$tmp/nonexistent.json"
# A private key others can read is refused.
cp "$tmp/issuer.key" "$tmp/open.key"
chmod 644 "$tmp/open.key"
expect 2 "$bin/ecred-issue" --key "$tmp/open.key" --in "$src/spec/examples/permit-rental.json"
expect_err "chmod 600"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
