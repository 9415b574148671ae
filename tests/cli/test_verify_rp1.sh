#!/usr/bin/env bash
# ecred-verify with holder-bound presentations (RP1): a live code proven, the
# same code shown again refused as a replay (--replay-file, also under
# concurrent scans), a stale screenshot, a static code under the police
# policy, and the challenge flow (a saved challenge answered by typed code and
# by its RN1: QR text, used up once; the interactive `challenge` command).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/verify_rp1.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
expect() {
  local want=$1; shift
  local got=0
  "$@" >"$tmp/out" 2>"$tmp/err" || got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "exit $got, want $want: $*"; cat "$tmp/out" "$tmp/err" >&2; fi
}
has() { if grep -q -- "$1" "$tmp/out"; then ok; else bad "output lacks '$1'"; cat "$tmp/out" >&2; fi; }
jq_ok() { python3 -c "import json,sys; d=json.load(open('$tmp/out')); assert $1, d" && ok || bad "JSON: $1"; }

"$bin/ecred-keys" gen --out "$tmp/iss.key" >/dev/null
"$bin/ecred-keys" pub "$tmp/iss.key" >"$tmp/iss.pub"
"$bin/ecred-present" keygen --out "$tmp/phone.key" --pub "$tmp/phone.pub" >/dev/null
"$bin/ecred-issue" --key "$tmp/iss.key" --in "$src/spec/examples/permit-rental.json" \
  --holder-key "$tmp/phone.pub" >"$tmp/cred.txt"
"$bin/ecred-issue" --key "$tmp/iss.key" --in "$src/spec/examples/permit-rental.json" >"$tmp/unbound.txt"
trust=(--trust-key "$tmp/iss.pub")
now=$(date +%s)

# 1. A live timed code: proven, under every policy.
"$bin/ecred-present" --key "$tmp/phone.key" --in "$tmp/cred.txt" >"$tmp/p1"
expect 0 "$bin/ecred-verify" "${trust[@]}" --holder required --replay-file "$tmp/seen" "$(cat "$tmp/p1")"
has "VALID"
has "已证明 PROVEN (timed code"
has "replay checked"
[ "$(stat -c %a "$tmp/seen")" = 600 ] && ok || bad "replay file mode"
# 2. The same code again: replayed (police refuse; a landlord gets the
#    credential's verdict, holder not proven, with when it was first shown).
expect 16 "$bin/ecred-verify" "${trust[@]}" --holder required --replay-file "$tmp/seen" "$(cat "$tmp/p1")"
has "ALREADY SHOWN"
expect 0 "$bin/ecred-verify" "${trust[@]}" --json --replay-file "$tmp/seen" "$(cat "$tmp/p1")"
jq_ok 'd["valid"] and d["holder"]["state"]=="not_proven" and d["holder"]["reason"]=="seen_at" and "first_seen" in d["holder"] and d["holder"]["replay_checked"]'
# Without a replay memory the answer says it was not checked.
expect 0 "$bin/ecred-verify" "${trust[@]}" --json --holder required "$(cat "$tmp/p1")"
jq_ok 'd["holder"]["state"]=="proven" and not d["holder"]["replay_checked"] and d["holder"]["mode"]=="timed" and d["holder"]["policy"]=="required"'
# 3. A stale screenshot (signed 10 minutes ago), a code from the future.
later=$(date -u -d "@$((now + 600))" +%Y-%m-%dT%H:%M:%SZ)
expect 15 "$bin/ecred-verify" "${trust[@]}" --holder required --at "$later" "$(cat "$tmp/p1")"
has "NOT FRESH"
expect 0 "$bin/ecred-verify" "${trust[@]}" --json --at "$later" "$(cat "$tmp/p1")"
jq_ok 'd["valid"] and d["holder"]["reason"]=="too_old" and d["holder"]["age_seconds"]>=600'
# A wider skew (300 s) still refuses a 10-minute-old code; --skew is bounded.
expect 15 "$bin/ecred-verify" "${trust[@]}" --holder required --skew 300s --at "$later" "$(cat "$tmp/p1")"
expect 2 "$bin/ecred-verify" "${trust[@]}" --skew 301s "$(cat "$tmp/p1")"
"$bin/ecred-present" --key "$tmp/phone.key" --in "$tmp/cred.txt" --iat-unix $((now + 120)) >"$tmp/future"
expect 15 "$bin/ecred-verify" "${trust[@]}" --holder required "$(cat "$tmp/future")"
# 4. Static codes under the police policy: bound and unbound.
expect 13 "$bin/ecred-verify" "${trust[@]}" --holder required "$(cat "$tmp/cred.txt")"
has "HOLDER PROOF REQUIRED"
has "static_presentation"
expect 13 "$bin/ecred-verify" "${trust[@]}" --json --holder required "$(cat "$tmp/unbound.txt")"
jq_ok 'd["reason"]=="holder_proof_required" and d["holder"]["reason"]=="no_holder_key" and d["holder"]["mode"]=="static"'
expect 0 "$bin/ecred-verify" "${trust[@]}" "$(cat "$tmp/cred.txt")"
has "未证明 NOT PROVEN: static_presentation"
expect 2 "$bin/ecred-verify" "${trust[@]}" --holder sometimes "$(cat "$tmp/cred.txt")"
expect 2 "$bin/ecred-verify" "${trust[@]}" --holder challenge "$(cat "$tmp/cred.txt")"
# 5. Challenges: saved, answered by the typed code, used up once.
expect 0 "$bin/ecred-verify" challenge --aud scanner-7 --state "$tmp/ch1"
has "RN1:"
[ "$(stat -c %a "$tmp/ch1")" = 600 ] && ok || bad "challenge file mode"
expect 2 "$bin/ecred-verify" challenge --aud scanner-7 --state "$tmp/ch1"
code=$(awk '{print $3}' "$tmp/ch1")
"$bin/ecred-present" challenge --key "$tmp/phone.key" --in "$tmp/cred.txt" --aud scanner-7 --code "$code" >"$tmp/a1"
"$bin/ecred-present" challenge --key "$tmp/phone.key" --in "$tmp/cred.txt" --aud scanner-8 --code "$code" >"$tmp/a1x"
expect 17 "$bin/ecred-verify" "${trust[@]}" --json --challenge "$tmp/ch1" "$(cat "$tmp/a1x")"
jq_ok 'd["holder"]["reason"]=="challenge_audience"'
expect 17 "$bin/ecred-verify" "${trust[@]}" --challenge "$tmp/ch1" "$(cat "$tmp/p1")"
has "challenge_required"
expect 0 "$bin/ecred-verify" "${trust[@]}" --json --challenge "$tmp/ch1" "$(cat "$tmp/a1")"
jq_ok 'd["holder"]["state"]=="proven" and d["holder"]["mode"]=="challenge" and d["holder"]["aud"]=="scanner-7" and d["holder"]["policy"]=="challenge"'
expect 17 "$bin/ecred-verify" "${trust[@]}" --challenge "$tmp/ch1" "$(cat "$tmp/a1")"
has "challenge_unknown"
# Answered from the RN1: QR text, as a phone scanning the challenge would.
expect 0 "$bin/ecred-verify" challenge --aud scanner-7 --ttl 30s --state "$tmp/ch2"
rn1=$(sed -n 's/^挑战 Challenge: *//p' "$tmp/out")
expect 0 "$bin/ecred-present" challenge --key "$tmp/phone.key" --in "$tmp/cred.txt" --challenge "$rn1"
cp "$tmp/out" "$tmp/a2"
expect 0 "$bin/ecred-verify" "${trust[@]}" --challenge "$tmp/ch2" "$(cat "$tmp/a2")"
has "已证明 PROVEN (challenge code"
# An expired challenge.
expect 0 "$bin/ecred-verify" challenge --aud scanner-7 --ttl 1s --state "$tmp/ch3"
code=$(awk '{print $3}' "$tmp/ch3")
"$bin/ecred-present" challenge --key "$tmp/phone.key" --in "$tmp/cred.txt" --aud scanner-7 --code "$code" >"$tmp/a3"
expect 17 "$bin/ecred-verify" "${trust[@]}" --at "$(date -u -d "@$((now + 30))" +%Y-%m-%dT%H:%M:%SZ)" \
  --challenge "$tmp/ch3" "$(cat "$tmp/a3")"
# Interactive: the challenge is shown, the answer read from the next line.
mkfifo "$tmp/fifo"
"$bin/ecred-verify" challenge --aud desk-1 --json "${trust[@]}" <"$tmp/fifo" >"$tmp/iout" 2>&1 &
cpid=$!
exec 7>"$tmp/fifo"
# (30 s: an ASan build on a loaded machine; 50 tries of 0.1 s was the bound)
for _ in $(seq 300); do grep -q 'RN1:' "$tmp/iout" 2>/dev/null && break; sleep 0.1; done
rn1=$(sed -n 's/^挑战 Challenge: *//p' "$tmp/iout")
"$bin/ecred-present" challenge --key "$tmp/phone.key" --in "$tmp/cred.txt" --challenge "$rn1" >&7
exec 7>&-
crc=0; wait $cpid || crc=$?
[ "$crc" -eq 0 ] && ok || { bad "interactive challenge exit $crc"; cat "$tmp/iout" >&2; }
sed -n '/^{/,$p' "$tmp/iout" >"$tmp/out"
jq_ok 'd["holder"]["state"]=="proven" and d["holder"]["aud"]=="desk-1"'
# 6. Concurrent scans sharing one replay memory: exactly one accepts a code.
"$bin/ecred-present" --key "$tmp/phone.key" --in "$tmp/cred.txt" --iat-unix $((now + 1)) >"$tmp/p2"
pids=()
for i in 1 2 3 4 5 6; do
  ( r=0; "$bin/ecred-verify" "${trust[@]}" --holder required --replay-file "$tmp/seen" "$(cat "$tmp/p2")" \
      >/dev/null 2>&1 || r=$?
    echo $r >"$tmp/rc.$i" ) &
  pids+=($!)
done
wait "${pids[@]}"
n0=$(cat "$tmp"/rc.* | grep -c '^0$' || true)
n16=$(cat "$tmp"/rc.* | grep -c '^16$' || true)
[ "$n0" -eq 1 ] && [ "$n16" -eq 5 ] && ok || bad "concurrent replay: $n0 accepted, $n16 replayed"
# A corrupt replay memory is refused, never silently forgotten.
echo "garbage" >"$tmp/bad.seen"
expect 4 "$bin/ecred-verify" "${trust[@]}" --replay-file "$tmp/bad.seen" "$(cat "$tmp/p1")"
# 7. inspect decodes RP1 and checks the embedded credential's signature.
expect 0 "$bin/ecred-verify" inspect --trust-key "$tmp/iss.pub" "$(cat "$tmp/a1")"
jq_ok 'd["prefix"]=="RP1:" and d["payload"]["3"]=="scanner-7" and d["protected"]["13 (kcwt)"]["signature_check"]["result"]=="ok"'
"$bin/ecred-keys" gen --out "$tmp/other.key" >/dev/null
"$bin/ecred-keys" pub "$tmp/other.key" >"$tmp/other.pub"
expect 6 "$bin/ecred-verify" inspect --trust-key "$tmp/other.pub" "$(cat "$tmp/a1")"

echo "verify_rp1: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
