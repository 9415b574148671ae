#!/usr/bin/env bash
# Every program and subcommand: --version (project version), --help exits 0
# with a usage text on stdout, an unknown option exits 2 saying "unknown
# option", an option without its value says "needs a value" (getopt_long
# everywhere, issue 17). Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -uo pipefail
bin=$1 src=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
version=$(sed -n 's/^project(ecred VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
for p in ecred-keys ecred-issue ecred-issuerd ecred-verify ecred-verifierd ecred-present; do
  [ -x "$bin/$p" ] || { [ "$p" = ecred-present ] && continue; bad "$p not built"; continue; }
  out=$("$bin/$p" --version 2>&1); rc=$?
  [ $rc -eq 0 ] && [[ "$out" == "$p $version"* ]] && ok || bad "$p --version: rc $rc, '$out'"
done
# CMD... : --help exits 0 with usage on stdout
helps=(
  "ecred-keys --help" "ecred-keys gen --help" "ecred-keys pub --help" "ecred-keys kid --help"
  "ecred-keys trustlist --help" "ecred-keys trustlist sign --help" "ecred-keys trustlist show --help"
  "ecred-issue --help" "ecred-issuerd --help" "ecred-issuerd token --help" "ecred-issuerd token add --help"
  "ecred-verify --help" "ecred-verify sync --help" "ecred-verify inspect --help"
  "ecred-verifierd --help" "ecred-verifierd key --help" "ecred-verifierd key add --help"
  "ecred-verifierd key list --help" "ecred-verifierd key remove --help"
  "ecred-present --help" "ecred-present timed --help" "ecred-present challenge --help" "ecred-present keygen --help"
)
for h in "${helps[@]}"; do
  read -r -a cmd <<<"$h"
  [ -x "$bin/${cmd[0]}" ] || continue
  out=$("$bin/${cmd[0]}" "${cmd[@]:1}" 2>/dev/null); rc=$?
  [ $rc -eq 0 ] && grep -qi "usage" <<<"$out" && ok || bad "$h: rc $rc, stdout '${out:0:80}'"
done
# unknown options
unknowns=(
  "ecred-keys gen --bogus" "ecred-keys kid --bogus x" "ecred-keys trustlist sign --bogus x"
  "ecred-keys trustlist show --bogus x" "ecred-issue --bogus" "ecred-issuerd --bogus x"
  "ecred-issuerd token add --bogus x" "ecred-verify --bogus" "ecred-verify sync --bogus"
  "ecred-verify inspect --bogus" "ecred-verifierd --bogus x" "ecred-verifierd key add --bogus x"
  "ecred-verifierd key list --bogus" "ecred-verifierd key remove --bogus" "ecred-present --bogus"
)
for u in "${unknowns[@]}"; do
  read -r -a cmd <<<"$u"
  [ -x "$bin/${cmd[0]}" ] || continue
  err=$("$bin/${cmd[0]}" "${cmd[@]:1}" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && grep -q "unknown option" <<<"$err" && ! grep -q "needs a value\|missing value" <<<"$err" && ok ||
    bad "$u: rc $rc, '$err'"
done
# options without their value
missing=(
  "ecred-keys gen --out" "ecred-keys trustlist sign --root" "ecred-issue --key" "ecred-issuerd --data"
  "ecred-issuerd token add --role" "ecred-verify --trust-key" "ecred-verify sync --issuer"
  "ecred-verifierd --cache" "ecred-verifierd key add --cache" "ecred-present --key"
)
for m in "${missing[@]}"; do
  read -r -a cmd <<<"$m"
  [ -x "$bin/${cmd[0]}" ] || continue
  err=$("$bin/${cmd[0]}" "${cmd[@]:1}" 2>&1 >/dev/null); rc=$?
  [ $rc -eq 2 ] && grep -q "needs a value" <<<"$err" && ok || bad "$m: rc $rc, '$err'"
done
echo "options: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
