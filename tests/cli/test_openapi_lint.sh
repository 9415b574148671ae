#!/usr/bin/env bash
# Lints spec/openapi-*.yaml with the pinned @redocly/cli (tools/openapi:
# package.json + package-lock.json, ruleset recommended-strict, so a warning
# fails too). Offline: the linter comes from tools/openapi/node_modules or is
# installed with `npm ci --prefer-offline` into the test's directory; without
# node/npm or the package the test is skipped (exit 77), never silently passed.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
src=$2 tmp=$3/openapi_lint
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_COLOR=1
command -v node >/dev/null && command -v npm >/dev/null || { echo "SKIP: node/npm not installed"; exit 77; }
tools=$src/tools/openapi
if [ ! -x "$tools/node_modules/.bin/redocly" ]; then
  mkdir -p "$tmp"
  cp "$tools/package.json" "$tools/package-lock.json" "$tmp/"
  if [ ! -x "$tmp/node_modules/.bin/redocly" ] &&
     ! (cd "$tmp" && npm ci --prefer-offline --no-audit --no-fund >npm.log 2>&1); then
    echo "SKIP: npm ci of @redocly/cli failed (offline without a cache?):"; tail -5 "$tmp/npm.log"; exit 77
  fi
  tools_bin=$tmp/node_modules/.bin
else
  tools_bin=$tools/node_modules/.bin
fi
rc=0
out=$("$tools_bin/redocly" lint --config "$tools/redocly.yaml" "$src/spec/openapi-issuer.yaml" \
      "$src/spec/openapi-verifier.yaml" 2>&1) || rc=$?
printf '%s\n' "$out" | grep -v '[║╔╚]' | grep -v '^ *$'
[ "$rc" -eq 0 ] || { echo "FAIL: redocly lint exit $rc"; exit 1; }
echo "both documents lint clean (recommended-strict)"
