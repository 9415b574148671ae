#!/usr/bin/env bash
# Regenerates spec/vectors/credentials.txt from spec/examples/ with the published
# TEST key (tests/vectors/keys/test-issuer.key.pem). ECDSA signatures are random,
# so a rerun gives new bytes with the same meaning: vectors are regenerated only
# when the format changes, and committed. Usage: spec/vectors/make-vectors.sh BIN_DIR
set -euo pipefail
bin=${1:?usage: make-vectors.sh BIN_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
install -m 600 "$root/tests/vectors/keys/test-issuer.key.pem" "$tmp/issuer.key"
holder_p256="$root/tests/vectors/keys/test-issuer.pub.pem"
out="$root/spec/vectors/credentials.txt"
iat=2026-11-26T10:00:00+08:00
{
  echo "# name<TAB>verify-at<TAB>expected reason<TAB>example JSON (or -)<TAB>QR text"
  echo "# Signed with tests/vectors/keys/test-issuer.key.pem (a published TEST key) at $iat."
  n=0
  for ex in permit-rental permit-relative registration-own; do
    for mode in none dict; do
      for bind in static bound; do
        args=(--key "$tmp/issuer.key" --in "$root/spec/examples/$ex.json" --iat "$iat"
              --cti "$(printf '%016x' $((0x5243310000000000 + n)))" --compress "$mode"
              --status-uri https://jzz.sh.gov.cn/s/1 --status-idx $((40000 + n * 7919)))
        [ "$bind" = bound ] && args+=(--holder-key "$holder_p256")
        text=$("$bin/ecred-issue" "${args[@]}")
        printf '%s-%s-%s\t2026-11-27T09:00:00+08:00\tok\tspec/examples/%s.json\t%s\n' "$ex" "$mode" "$bind" "$ex" "$text"
        n=$((n + 1))
      done
    done
  done
  text=$("$bin/ecred-issue" --key "$tmp/issuer.key" --in "$root/spec/examples/permit-relative.json" \
         --iat "$iat" --cti 52433100000000ff --compress dict)
  printf 'permit-relative-expired\t2027-11-26T00:00:00+08:00\texpired\tspec/examples/permit-relative.json\t%s\n' "$text"
  printf 'permit-relative-last-second\t2027-11-25T23:59:59+08:00\tok\tspec/examples/permit-relative.json\t%s\n' "$text"
  printf 'permit-relative-before-validity\t2026-11-25T23:59:59+08:00\tnot_yet_valid\tspec/examples/permit-relative.json\t%s\n' "$text"
  printf 'not-our-prefix\t2026-11-27T09:00:00+08:00\tnot_our_format\t-\tHC1:%s\n' "${text#RC1:}"
  printf 'lowercase-base45\t2026-11-27T09:00:00+08:00\tmalformed\t-\tRC1:%s\n' "$(printf '%s' "${text#RC1:}" | tr 'A-Z' 'a-z')"
} > "$out"
echo "wrote $out"
