#!/usr/bin/env bash
# Regenerates spec/vectors/presentations.txt (RP1 holder presentations) with the
# PUBLISHED test issuer and holder keys. ECDSA signatures are random, so a rerun
# gives new bytes with the same meaning: regenerate only when the format
# changes, and commit. Usage: spec/vectors/make-presentations.sh BIN_DIR
set -euo pipefail
bin=${1:?usage: make-presentations.sh BIN_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
"$bin/ecred-rp1-vectors" "$root" > "$root/spec/vectors/presentations.txt"
echo "wrote $root/spec/vectors/presentations.txt"
