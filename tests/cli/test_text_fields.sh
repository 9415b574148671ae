#!/usr/bin/env bash
# Invisible, direction-changing and control characters in signed text are
# refused at submission with the field and the reason (issue 9, item 7): a
# name of only U+202E, an address with a zero-width space or an isolate, a
# kinship name with ESC, a relationship with a newline (which would forge a
# line in the commitment text). A Uyghur name with the middle dot passes.
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/text_fields.$$
mkdir -p "$tmp/data"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }

. "$src/tests/cli/lib_issuerd.sh"
start_issuerd "$tmp/data" "$tmp/daemon.log" --list-size 16
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role clerk)

# submit NAME EXPR: the relative-housing example with one member changed by a
# python expression on `d`; prints "STATUS CODE DETAIL".
submit() {
  python3 - "$src/spec/examples/api/permit_new_relative.json" "$2" >"$tmp/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exec(sys.argv[2])
print(json.dumps(d, ensure_ascii=False))
PY
  code=$(curl -s -m 10 -o "$tmp/$1.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $clerk" \
    --data-binary @"$tmp/$1.json" "http://127.0.0.1:$port/v1/applications")
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], d.get("code","-"), d.get("detail") or "")' "$tmp/$1.out" "$code"
}

r=$(submit rlo 'd["credential"]["name"] = "\u202e"')
check '[[ "$r" == "422 invalid_field credential.name: contains an invisible"* ]]' "name U+202E: $r"
r=$(submit zwsp 'd["credential"]["address"] = "张杨路15\u200b00弄12号602室"')
check '[[ "$r" == "422 invalid_field credential.address: contains an invisible"* ]]' "address ZWSP: $r"
r=$(submit iso 'd["credential"]["address"] = "张杨路\u20661500\u2069弄12号602室"')
check '[[ "$r" == "422 invalid_field credential.address:"* ]]' "address isolate: $r"
r=$(submit esc 'd["kinship"]["relative_name"] = "李\u001b[31m国强"')
check '[[ "$r" == "422 invalid_field kinship.relative_name: must be UTF-8 text without control"* ]]' "kinship ESC: $r"
r=$(submit nl 'd["kinship"]["relationship"] = "父亲\n本人承诺无效"')
check '[[ "$r" == "422 invalid_field kinship.relationship:"* ]]' "kinship newline: $r"
r=$(submit miss 'del d["kinship"]["relationship"]')
check '[[ "$r" == "422 missing_field kinship.relationship: required"* ]]' "kinship missing member: $r"
r=$(submit good 'd["credential"]["name"] = "阿卜杜·热合曼"')
check '[[ "$r" == "201 -"* ]]' "Uyghur name with the middle dot: $r"

kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=""
check '[ $rc -eq 0 ]' "SIGTERM exit $rc"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
