#!/usr/bin/env bash
# bench/peer's lock file is complete enough for `npm ci` (issue 11): every
# optional dependency a locked package names is locked itself. npm ci refuses
# a lock that lacks them ("Missing: ... from lock file"), which is how the
# peer benchmark broke. Offline: reads the two JSON files only.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
src=$2
python3 - "$src/bench/peer" <<'PY'
import json, sys
d = sys.argv[1]
pkg = json.load(open(d + "/package.json"))
lock = json.load(open(d + "/package-lock.json"))
packages = lock["packages"]
fail = 0
if packages[""].get("dependencies") != pkg.get("dependencies"):
    print("FAIL: lock root dependencies differ from package.json"); fail += 1
for path, p in packages.items():
    for kind in ("dependencies", "optionalDependencies"):
        for name in p.get(kind, {}):
            if "node_modules/" + name not in packages and f"{path}/node_modules/{name}" not in packages:
                print(f"FAIL: {path or 'root'} {kind} {name} not in the lock file"); fail += 1
print(f"{len(packages) - fail} passed, {fail} failed")
sys.exit(1 if fail else 0)
PY
