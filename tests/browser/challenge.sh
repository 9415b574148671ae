#!/usr/bin/env bash
# The police officer's challenge end to end in two real browsers (issue 15):
# a resident signs in at the test OpenID provider (tests/oidc/idp.mjs), applies
# on the issuer's pages (the phone's WebCrypto key bound into the credential),
# an officer approves; then the officer's scanner (/scan on ecred-verifierd)
# shows a challenge, the resident's card page reads it from a fake camera
# (fed a screenshot of the officer's QR) or by the typed code and shows the
# challenge-bound RP1 code, and the scanner reads that from its own fake
# camera (fed a screenshot of the resident's QR): "holder proven (challenge)".
# Rejections: the same answer twice, an answer to another verifier's
# challenge (a second ecred-verifierd with its own --verifier-id and
# --challenge-ttl 30, whose key has the challenge policy: its scanner opens in
# challenge mode with no &mode= in the link), and an answer after one of that
# verifier's challenges expired (30 s: the case waits for what is left). A
# photographed answer is uploaded with the challenge's id.
# challenge_test.mjs drives both browsers (puppeteer-core from tests/oidc).
# Screenshots: OUT (default TMP/../browser-shots/challenge).
# Args: BIN_DIR SOURCE_DIR TMP_DIR [OUT_DIR]. Exit 77 (skipped) without
# chromium, node or tests/oidc/node_modules (scripts/setup-test-tools).
set -euo pipefail
bin=$(realpath "$1") src=$(realpath "$2") tmp=$(realpath "$3")/challenge.$$
out=$(realpath -m "${4:-$3/../browser-shots/challenge}")
oidc=$src/tests/oidc
for tool in chromium node python3 curl; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed (tests/browser/setup.sh)"; exit 77; }
done
[ -d "$oidc/node_modules/puppeteer-core" ] && [ -d "$oidc/node_modules/oidc-provider" ] ||
  { echo "SKIP: tests/oidc/node_modules missing (run scripts/setup-test-tools)"; exit 77; }
mkdir -p "$tmp/data" "$out"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_url() { # URL LOG
  for _ in $(seq 1 150); do curl -s -m 1 -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "did not start: $1: $(tail -5 "$2")" >&2; exit 1
}

# ---- identity provider and issuer ----
iport=$(free_port) pport=$(free_port)
base=http://127.0.0.1:$pport idp=http://127.0.0.1:$iport
node "$oidc/idp.mjs" "$iport" "$base/v1/resident/callback" >"$tmp/idp.log" 2>&1 & pids+=($!)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role officer)
"$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$pport" --status-ttl 1 \
  --oidc-issuer "$idp" --oidc-client-id ecred-resident 2>"$tmp/issuer.log" & pids+=($!)
wait_url "$idp/.well-known/openid-configuration" "$tmp/idp.log"
wait_url "$base/healthz" "$tmp/issuer.log"

# ---- two verifiers: ours (default id) and another one ----
D="$bin/ecred-verifierd"
key_a=$("$D" key add --cache "$tmp/vcache-a" --role police 2>/dev/null)
key_b=$("$D" key add --cache "$tmp/vcache-b" --role police --holder challenge 2>/dev/null)
aport=$(free_port) bport=$(free_port)
ttl_b=30   # verifier b's challenges: the expired case waits for one
"$D" --cache "$tmp/vcache-a" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$aport" \
  --refresh 1s 2>"$tmp/vd-a.log" & pids+=($!)
"$D" --cache "$tmp/vcache-b" --issuer "$base" --root "$tmp/data/root.pub.pem" --listen "127.0.0.1:$bport" \
  --refresh 1s --verifier-id other-verifier.example --challenge-ttl "$ttl_b" 2>"$tmp/vd-b.log" & pids+=($!)
for port in "$aport" "$bport"; do
  for _ in $(seq 1 150); do curl -s -m 1 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz" | grep -q 200 && break; sleep 0.1; done
done

python3 - "$tmp/config.json" <<PY
import json, sys
json.dump({"issuer": "$base", "officer": "$officer", "bin": "$bin", "src": "$src", "tmp": "$tmp", "out": "$out",
           "verifier_a": "http://127.0.0.1:$aport", "verifier_b": "http://127.0.0.1:$bport",
           "key_a": "$key_a", "key_b": "$key_b", "ttl_a": 120, "ttl_b": $ttl_b,
           "quick": bool("${QUICK:-}")}, open(sys.argv[1], "w"))
PY
NODE_PATH="$oidc/node_modules" node "$src/tests/browser/challenge_test.mjs" "$tmp/config.json"
