#!/bin/bash
# test_trustlist.sh - `ecred-keys trustlist sign|show` end to end: sign from
# JSON (key paths relative to the JSON file), show, overwrite, and every input
# error exits 2 naming its field. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -u
BIN=$1/ecred-keys
SRC=$2
W=$(mktemp -d "$3/trustlist.XXXXXX")
trap 'rm -rf "$W"' EXIT
VEC=$SRC/tests/vectors/trustlist
fails=0
passes=0

fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
pass() { passes=$((passes + 1)); }

# expect NAME WANT_EXIT STDERR_SUBSTRING -- command...
expect() {
    local name=$1 want=$2 needle=$3
    shift 4
    "$@" >"$W/out" 2>"$W/err"
    local rc=$?
    if [ "$rc" -ne "$want" ]; then
        fail "$name: exit $rc, want $want; stderr: $(cat "$W/err")"
    elif [ -n "$needle" ] && ! grep -qF -- "$needle" "$W/err"; then
        fail "$name: stderr lacks '$needle': $(cat "$W/err")"
    else
        pass
    fi
}

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/root.key" 2>/dev/null
chmod 600 "$W/root.key"
openssl pkey -in "$W/root.key" -pubout -out "$W/root.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/other.key" 2>/dev/null
openssl pkey -in "$W/other.key" -pubout -out "$W/other.pub.pem"
mkdir -p "$W/cfg/keys"
cp "$VEC/issuer-2025.pub.pem" "$VEC/issuer-2026.pub.pem" "$W/cfg/keys/"

# write_json FILE [KEY0_EXTRA] [SIGN_UNTIL0] [TYPES1] [TOP_EXTRA] [SEQ]
write_json() {
    cat >"$1" <<EOF
{
  "iss": "https://issuer.example",
  "seq": ${6:-3},
  "valid_days": 30,${5:-}
  "keys": [
    {
      "public_key": "keys/issuer-2025.pub.pem",
      "sign_from": "2025-01-01T00:00:00Z",
      "sign_until": "${3:-2026-01-01T00:00:00Z}",
      "types": ["registration_certificate", "residence_permit", "status_list"],${2:-}
      "status_uri_prefix": "https://issuer.example/status/"
    },
    {
      "public_key": "keys/issuer-2026.pub.pem",
      "sign_from": "2026-01-01T00:00:00Z",
      "sign_until": "2030-01-01T00:00:00Z",
      "types": [${4:-\"residence_permit\"}],
      "status_uri_prefix": "https://issuer.example/status/2026/"
    }
  ]
}
EOF
}

write_json "$W/cfg/list.json"
expect sign 0 "" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/list.json" --out "$W/list.cose"
mode=$(stat -c %a "$W/list.cose" 2>/dev/null)
[ "$mode" = 644 ] && pass || fail "output mode $mode, want 644"

expect show 0 "" -- "$BIN" trustlist show --root "$W/root.pub.pem" "$W/list.cose"
cp "$W/out" "$W/show.json"
for want in '"iss": "https://issuer.example"' '"seq": 3' '"kid": "4082e85df4f4e01f"' \
    '"kid": "c157c2cb764e2a1c"' '"alg": "EdDSA"' '"sign_until": "2026-01-01T00:00:00Z"' \
    '"status_uri_prefix": "https://issuer.example/status/2026/"' '"status_list"'; do
    grep -qF -- "$want" "$W/show.json" && pass || fail "show output lacks $want"
done
grep -qE '"exp": "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"' "$W/show.json" \
    && pass || fail "exp is not RFC 3339 UTC"
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$W/show.json" 2>/dev/null \
    && pass || fail "show output is not valid JSON"

# Trust lists are replaced: signing again overwrites.
write_json "$W/cfg/list.json" "" "" "" "" 4
expect overwrite 0 "" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/list.json" --out "$W/list.cose"
expect show-new 0 "" -- "$BIN" trustlist show --root "$W/root.pub.pem" "$W/list.cose"
grep -qF '"seq": 4' "$W/out" && pass || fail "overwritten list does not show seq 4"

# Verification failures carry the verifier's exit codes.
expect other-root 5 "kid_unknown" -- "$BIN" trustlist show --root "$W/other.pub.pem" "$W/list.cose"
expect expired 12 "list_expired" -- "$BIN" trustlist show --root "$W/root.pub.pem" --at 2099-01-01T00:00:00Z "$W/list.cose"
head -c 100 "$W/list.cose" >"$W/short.cose"
expect truncated 4 "" -- "$BIN" trustlist show --root "$W/root.pub.pem" "$W/short.cose"
expect show-bad-at 2 "--at" -- "$BIN" trustlist show --root "$W/root.pub.pem" --at yesterday "$W/list.cose"

# The checked-in vector shows with its own root.
expect vector 0 "" -- "$BIN" trustlist show --root "$VEC/root.pub.pem" --at 2026-12-01T00:00:00Z "$VEC/list.cose"
grep -qF '"root_kid": "6c1f1ec01b550928"' "$W/out" && pass || fail "vector root kid"

# Input errors: exit 2, the message names the field.
write_json "$W/cfg/bad.json" ' "foo": 1,'
expect unknown-field 2 'keys[0]: unknown field "foo"' -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "" "" ' "extra": true,'
expect unknown-top-field 2 'unknown field "extra"' -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "2026-13-01T00:00:00Z"
expect bad-time 2 "keys[0].sign_until" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "2026-01-01T00:00:00+08:00"
expect offset-time 2 "keys[0].sign_until" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "2024-01-01T00:00:00Z"
expect until-before-from 2 "keys[0].sign_until" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "" '"residence_permit", "passport"'
expect bad-type 2 "keys[1].types[1]" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "" '"residence_permit", "residence_permit"'
expect dup-type 2 "keys[1].types[1]" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "" "" "" '"3"'
expect seq-string 2 "seq" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
write_json "$W/cfg/bad.json" "" "" "" "" -1
expect seq-negative 2 "seq" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
sed 's/"valid_days": 30/"valid_days": 0/' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect valid-days 2 "valid_days" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
sed '/"iss"/d' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect no-iss 2 "iss" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
sed '0,/"status_uri_prefix"/{/"status_uri_prefix"/d}' "$W/cfg/list.json" | sed 's/"status_list"\],/"status_list"]/' >"$W/cfg/bad.json"
expect no-uri 2 "keys[0].status_uri_prefix" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
sed 's#keys/issuer-2026.pub.pem#keys/issuer-2025.pub.pem#' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect same-key 2 "keys[1].public_key" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
echo "not a key" >"$W/cfg/keys/garbage.pem"
sed 's#keys/issuer-2026.pub.pem#keys/garbage.pem#' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect bad-key 2 "keys[1].public_key" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
sed 's#"iss"#"iss": "a", "iss"#' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect duplicate-member 2 "" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
echo '{"iss": ' >"$W/cfg/bad.json"
expect not-json 2 "bad.json" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
[ ! -e "$W/x.cose" ] && pass || fail "a refused input still wrote output"

# I/O errors exit 1.
sed 's#keys/issuer-2026.pub.pem#keys/missing.pem#' "$W/cfg/list.json" >"$W/cfg/bad.json"
expect missing-key 1 "keys[1].public_key" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/bad.json" --out "$W/x.cose"
expect missing-json 1 "" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/none.json" --out "$W/x.cose"
expect unwritable 1 "" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/list.json" --out "$W/no/such/dir/x.cose"

# The root private key must be private.
cp "$W/root.key" "$W/open.key"
chmod 644 "$W/open.key"
expect root-permissions 2 "" -- "$BIN" trustlist sign --root "$W/open.key" --in "$W/cfg/list.json" --out "$W/x.cose"

# Usage errors exit 2.
expect no-action 2 "" -- "$BIN" trustlist
expect bad-action 2 "unknown action" -- "$BIN" trustlist frob
expect sign-no-out 2 "--out" -- "$BIN" trustlist sign --root "$W/root.key" --in "$W/cfg/list.json"
expect sign-repeated 2 "--in" -- "$BIN" trustlist sign --root "$W/root.key" --in a --in b --out c
expect show-no-file 2 "FILE" -- "$BIN" trustlist show --root "$W/root.pub.pem"

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
