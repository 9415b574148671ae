#!/usr/bin/env bash
# inspect against other ecosystems' COSE_Sign1: the COSE WG examples when a
# copy is present (ECRED_COSE_WG_DIR, or shared/vectors/cose-wg-examples
# beside the source tree) and our own cases for every relaxed rule
# (tests/cli/cose_interop.py says which and why).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/cose_interop.$$
mkdir -p "$tmp"
trap '[ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
corpus=${ECRED_COSE_WG_DIR:-}
for d in "$src/../shared/vectors/cose-wg-examples" /work/shared/vectors/cose-wg-examples; do
  [ -z "$corpus" ] && [ -d "$d" ] && corpus=$d
done
python3 "$src/tests/cli/cose_interop.py" "$bin" "$tmp" "$corpus"
