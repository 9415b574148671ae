#!/usr/bin/env bash
# bench/results_write.py, the step of bench/run that writes RESULTS.md, keeps
# every hand-written line and replaces only the generated blocks (issue 10:
# each rerun used to revert the prose). No benchmark runs: each case under
# tests/cli/results_write/ is data:
#   input.md     the RESULTS.md before the run
#   args         the script's arguments, one per line (files relative to the case)
#   status       the exit status expected
#   expected.md  the file after the run (== input.md when nothing may be written)
#   stderr       (optional) text expected in the script's stderr
# Beyond the exact comparison, for every case that writes: a second run with
# the same inputs changes nothing, and every line outside the named blocks'
# markers in input.md is still there, in order.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
src=$2
tmp=$(mktemp -d "${3:-/tmp}/results_write.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
script=$src/bench/results_write.py
cases=$src/tests/cli/results_write
pass=0 fail=0
failed() { echo "FAIL $1: $2"; fail=$((fail + 1)); }

for dir in "$cases"/*/; do
  name=$(basename "$dir")
  out=$tmp/$name.md
  cp "$dir/input.md" "$out"
  mapfile -t args <"$dir/args"
  want=$(cat "$dir/status")
  rc=0
  (cd "$dir" && python3 "$script" "$out" "${args[@]}") 2>"$tmp/$name.err" || rc=$?
  if [[ $rc != "$want" ]]; then
    failed "$name" "exit $rc, expected $want: $(cat "$tmp/$name.err")"
    continue
  fi
  if ! cmp -s "$out" "$dir/expected.md"; then
    failed "$name" "output differs from expected.md:"$'\n'"$(diff "$dir/expected.md" "$out" | head -20)"
    continue
  fi
  if [[ -f $dir/stderr ]] && ! grep -qF "$(cat "$dir/stderr")" "$tmp/$name.err"; then
    failed "$name" "stderr lacks '$(cat "$dir/stderr")': $(cat "$tmp/$name.err")"
    continue
  fi
  if [[ $want == 0 ]]; then
    cp "$out" "$tmp/$name.first"
    (cd "$dir" && python3 "$script" "$out" "${args[@]}") 2>/dev/null ||
      { failed "$name" "second run failed"; continue; }
    cmp -s "$out" "$tmp/$name.first" || { failed "$name" "second run changed the file"; continue; }
    # The prose check, independent of expected.md: input.md's lines outside
    # the named blocks appear in the output in the same order.
    if ! python3 - "$dir/input.md" "$out" "${args[@]}" <<'PY'; then
import re, sys
inp, out, args = open(sys.argv[1]).read().splitlines(), open(sys.argv[2]).read().splitlines(), sys.argv[3:]
named = {args[i + 1].split("=", 1)[0] for i, a in enumerate(args[:-1]) if a in ("--table", "--text")}
marker = re.compile(r"^\s*<!--\s*bench:([a-z0-9_-]+):(begin|end)\s*-->\s*$")
prose, inside = [], None
for line in inp:
    m = marker.match(line)
    if m and m.group(1) in named:
        inside = m.group(1) if m.group(2) == "begin" else None
        continue
    if inside is None and not m:
        prose.append(line)
at = 0
for line in prose:
    try:
        at = out.index(line, at) + 1
    except ValueError:
        print(f"prose line lost or moved: {line!r}")
        sys.exit(1)
PY
      failed "$name" "hand-written lines were lost"
      continue
    fi
  fi
  pass=$((pass + 1))
done

# A RESULTS.md that does not exist yet is created with every block appended.
printf 'ROW|f|1|x|b|1|1.000||n\n' >"$tmp/rows"
if ! python3 "$script" "$tmp/fresh.md" --table main="$tmp/rows" 2>/dev/null ||
     ! grep -q '^<!-- bench:main:begin -->$' "$tmp/fresh.md" || ! grep -q '^| f | 1 |' "$tmp/fresh.md"; then
  failed fresh "a missing RESULTS.md was not created with its block"
else
  pass=$((pass + 1))
fi

echo "$pass passed, $fail failed"
[[ $fail == 0 ]]
