#!/usr/bin/env bash
# The OpenAPI documents (spec/openapi-issuer.yaml, spec/openapi-verifier.yaml)
# against the route tables, the error tables and the live daemons: every
# documented route driven, every answer validated (tests/tools/openapi_contract.py).
# Needs python3 with PyYAML and jsonschema (Debian: python3-yaml python3-jsonschema).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
  echo "SKIP: python3 lacks yaml or jsonschema (apt-get install python3-yaml python3-jsonschema)"
  exit 77
fi
exec python3 "$2/tests/tools/openapi_contract.py" "$@"
