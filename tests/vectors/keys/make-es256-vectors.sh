#!/usr/bin/env bash
# Regenerates es256-openssl.txt: ES256 signatures made by the openssl CLI with
# test-issuer.key.pem, converted from DER to COSE r||s. Picks one ordinary
# signature, one whose r and one whose s has a leading zero byte (short DER
# INTEGER), so the r||s <-> DER conversion is tested on its edge cases.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
want_plain=1 want_short_r=1 want_short_s=1
out=$tmp/out.txt
echo "# <message hex> <signature r||s hex>: openssl dgst -sha256 -sign test-issuer.key.pem" > "$out"
i=0
while (( want_plain + want_short_r + want_short_s > 0 )); do
    i=$((i + 1))
    msg="ecred test message $i"
    printf '%s' "$msg" > "$tmp/msg"
    openssl dgst -sha256 -sign test-issuer.key.pem -out "$tmp/sig.der" "$tmp/msg"
    mapfile -t ints < <(openssl asn1parse -inform DER -in "$tmp/sig.der" | awk -F: '/INTEGER/ {print $NF}')
    r=$(printf '%064s' "${ints[0]}" | tr ' ' 0) s=$(printf '%064s' "${ints[1]}" | tr ' ' 0)
    kind=plain
    [[ $r == 00* ]] && kind=short_r
    [[ $s == 00* ]] && kind=short_s
    var=want_$kind
    (( ${!var} > 0 )) || continue
    printf -v "$var" 0
    echo "$(printf '%s' "$msg" | xxd -p | tr -d '\n') ${r,,}${s,,}" >> "$out"
done
mv "$out" es256-openssl.txt
