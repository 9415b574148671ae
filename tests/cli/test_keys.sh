#!/usr/bin/env bash
# test_keys.sh - drives ecred-keys gen/pub/kid: outputs checked against the
# openssl CLI and the committed test vectors, and every refusal (existing
# file, world-readable key, symlink, bad arguments) checked for its exit code
# and message. Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail

BIN=$1/ecred-keys
SRC=$(cd "$2" && pwd)
TMP=$3/keys-cli-$$
VEC=$SRC/tests/vectors/keys
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

failures=0
checks=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }

# expect CODE PATTERN -- CMD...: run CMD, require exit CODE (a regex such as
# "1|2") and stderr matching PATTERN (empty: no check).
expect() {
    local code=$1 pattern=$2
    shift 3
    local rc=0
    "$@" >"$TMP/out" 2>"$TMP/err" || rc=$?
    if ! [[ $rc =~ ^($code)$ ]]; then
        fail "'$*' exited $rc, want $code; stderr: $(cat "$TMP/err")"
        return
    fi
    if [[ -n $pattern ]] && ! grep -qE -- "$pattern" "$TMP/err"; then
        fail "'$*' stderr does not match /$pattern/: $(cat "$TMP/err")"
        return
    fi
    pass
}

mode_of() { stat -c %a "$1"; }

# --- gen: new files, mode 600 even under umask 000, kid agrees with openssl ---
for alg in ES256 EdDSA; do
    key=$TMP/$alg.key.pem
    old_umask=$(umask)
    umask 000
    expect 0 "" -- "$BIN" gen --out "$key" --alg "$alg"
    umask "$old_umask"
    [[ -f $key ]] || fail "gen --alg $alg wrote no file"
    [[ $(mode_of "$key") == 600 ]] || fail "gen --alg $alg: mode $(mode_of "$key"), want 600"
    want_kid=$(openssl pkey -in "$key" -pubout -outform DER | sha256sum | cut -c1-16)
    got_kid=$("$BIN" kid "$key")
    [[ $got_kid == "$want_kid" ]] || fail "kid of $alg key: got $got_kid, want $want_kid"
    [[ $got_kid =~ ^[0-9a-f]{16}$ ]] || fail "kid not 16 lowercase hex digits: $got_kid"
    "$BIN" pub "$key" > "$TMP/pub.pem"
    openssl pkey -in "$key" -pubout | cmp -s - "$TMP/pub.pem" || fail "pub of $alg key differs from openssl"
    # The printed public key is itself accepted and has the same kid.
    [[ $("$BIN" kid "$TMP/pub.pem") == "$want_kid" ]] || fail "kid of printed pub ($alg)"
    pass
done
grep -q -- "-----BEGIN PRIVATE KEY-----" "$TMP/ES256.key.pem" || fail "gen did not write PKCS#8 PEM"
openssl pkey -in "$TMP/EdDSA.key.pem" -noout -text 2>/dev/null | grep -q ED25519 || fail "EdDSA key is not Ed25519"
openssl pkey -in "$TMP/ES256.key.pem" -noout -text 2>/dev/null | grep -q prime256v1 || fail "ES256 key is not P-256"

# Default algorithm is ES256; --out=FILE form works.
expect 0 "" -- "$BIN" gen --out="$TMP/default.key.pem"
openssl pkey -in "$TMP/default.key.pem" -noout -text 2>/dev/null | grep -q prime256v1 || fail "default alg is not ES256"

# --- gen never overwrites, and leaves the file as it was ---
cp "$TMP/ES256.key.pem" "$TMP/before.pem"
expect "1|2" "already exists" -- "$BIN" gen --out "$TMP/ES256.key.pem"
cmp -s "$TMP/before.pem" "$TMP/ES256.key.pem" || fail "gen over an existing file changed it"
ln -s "$TMP/nowhere.pem" "$TMP/dangling.pem"
expect "1|2" "already exists" -- "$BIN" gen --out "$TMP/dangling.pem"
[[ ! -e $TMP/nowhere.pem ]] || fail "gen followed a dangling symlink"
expect 1 "cannot create" -- "$BIN" gen --out "$TMP/no/such/dir/k.pem"

# --- committed vectors: every public form gives the kid openssl computed ---
want=$(tr -d '\n' < "$VEC/test-issuer.kid.hex")
for f in test-issuer.pub.pem test-issuer.pub.der test-issuer.cert.pem test-issuer.cert.der; do
    got=$("$BIN" kid "$VEC/$f") || fail "kid $f failed"
    [[ $got == "$want" ]] || fail "kid $f: got $got, want $want"
    pass
done
cp "$VEC/test-issuer.key.pem" "$TMP/issuer.key.pem"
chmod 600 "$TMP/issuer.key.pem"
[[ $("$BIN" kid "$TMP/issuer.key.pem") == "$want" ]] || fail "kid of the private test key"
"$BIN" pub "$TMP/issuer.key.pem" | cmp -s - "$VEC/test-issuer.pub.pem" || fail "pub of the test key"

# --- private key readable by group or others: refused with the chmod hint ---
for mode in 644 640 604; do
    chmod "$mode" "$TMP/issuer.key.pem"
    expect 2 "readable by group or others; run chmod 600 " -- "$BIN" kid "$TMP/issuer.key.pem"
    expect 2 "readable by group or others" -- "$BIN" pub "$TMP/issuer.key.pem"
    [[ ! -s $TMP/out ]] || fail "pub printed something for a mode $mode key"
done
chmod 600 "$TMP/issuer.key.pem"
ln -s "$TMP/issuer.key.pem" "$TMP/link.key.pem"
expect 2 "symbolic link" -- "$BIN" kid "$TMP/link.key.pem"
# A symlink to a public key is fine: only private keys are protected.
ln -s "$VEC/test-issuer.pub.pem" "$TMP/link.pub.pem"
expect 0 "" -- "$BIN" kid "$TMP/link.pub.pem"

# --- unusable keys ---
for f in reject-rsa2048.key.pem reject-p384.key.pem reject-garbage.key.pem reject-encrypted.key.pem; do
    cp "$VEC/$f" "$TMP/$f"
    chmod 600 "$TMP/$f"
    expect 2 "not a P-256 or Ed25519" -- "$BIN" kid "$TMP/$f"
done
expect 2 "not a P-256 or Ed25519" -- "$BIN" kid "$VEC/reject-rsa2048.pub.pem"
cp "$VEC/reject-text.txt" "$TMP/text.txt"
chmod 644 "$TMP/text.txt"
expect 2 "not a P-256 or Ed25519" -- "$BIN" pub "$TMP/text.txt"
expect 1 "cannot open" -- "$BIN" kid "$TMP/missing.pem"
expect 1 "cannot read" -- "$BIN" pub "$TMP"

# --- arguments ---
expect 2 "unknown command" -- "$BIN" frobnicate
expect 2 "usage" -- "$BIN"
expect 2 "missing FILE" -- "$BIN" kid
expect 2 "missing FILE" -- "$BIN" pub
expect 2 "extra argument" -- "$BIN" kid "$VEC/test-issuer.pub.pem" "$VEC/test-issuer.pub.pem"
expect 2 "unknown option" -- "$BIN" kid --bogus "$VEC/test-issuer.pub.pem"
expect 2 "--out FILE is required" -- "$BIN" gen
expect 2 "--out FILE is required" -- "$BIN" gen --alg ES256
expect 2 "needs a value" -- "$BIN" gen --out
expect 2 "unknown --alg" -- "$BIN" gen --out "$TMP/x.pem" --alg RS256
expect 2 "given twice" -- "$BIN" gen --out "$TMP/x.pem" --out "$TMP/y.pem"
expect 2 "unknown option" -- "$BIN" gen --out "$TMP/x.pem" --force
expect 2 "unexpected argument" -- "$BIN" gen "$TMP/x.pem"
[[ ! -e $TMP/x.pem && ! -e $TMP/y.pem ]] || fail "a refused gen created a file"
expect 0 "" -- "$BIN" --help
grep -q "usage: ecred-keys" "$TMP/out" || fail "--help prints no usage"
expect 0 "" -- "$BIN" help
grep -q "kid FILE" "$TMP/out" || fail "help prints no usage"
expect 0 "" -- "$BIN" gen --help
expect 0 "" -- "$BIN" kid -- "$VEC/test-issuer.pub.pem"

if (( failures > 0 )); then
    echo "$failures failed, $checks passed" >&2
    exit 1
fi
echo "$checks passed, 0 failed"
