#!/usr/bin/env bash
# The installed tree (issue 17, packaging): `cmake --install` into a DESTDIR,
# then from there: every program's --version, a key, an issued credential
# verified, man pages that render, and each systemd unit through
# `systemd-analyze verify` (ExecStart pointed at the DESTDIR copy, since
# /usr/local/bin is not on this machine) and `systemd-analyze security`.
# Args: BIN_DIR SOURCE_DIR TMP_DIR (the build directory is BIN_DIR/..).
set -uo pipefail
bin=$1 src=$2 tmp=$3/install.$$
build=$(cd "$bin/.." && pwd)
dest=$tmp/dest prefix=/usr/local
cleanup() { [ -n "${KEEP:-}" ] || rm -rf "$tmp"; }
trap cleanup EXIT
mkdir -p "$tmp"
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

if ! DESTDIR=$dest cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
  bad "cmake --install failed"; cat "$tmp/install.log" >&2; exit 1
fi
root=$dest$prefix
for f in bin/ecred-keys bin/ecred-issue bin/ecred-issuerd bin/ecred-verify bin/ecred-verifierd \
         share/man/man1/ecred-verify.1 share/man/man1/ecred-issuerd.1 lib/systemd/system/ecred-issuerd.service \
         lib/systemd/system/ecred-verifierd.service lib/systemd/system/ecred-verify-sync.service \
         lib/systemd/system/ecred-verify-sync.timer lib/sysusers.d/ecred.conf share/doc/ecred/README.md \
         share/doc/ecred/spec/openapi-issuer.yaml share/ecred/web/issuer/index.html; do
  [ -e "$root/$f" ] && ok || bad "not installed: $f"
done

# ---- the installed programs run ----
for p in ecred-keys ecred-issue ecred-issuerd ecred-verify ecred-verifierd; do
  out=$("$root/bin/$p" --version 2>&1) && [[ "$out" == "$p "[0-9]* ]] && ok || bad "$p --version: '$out'"
done
B=$root/bin
"$B/ecred-keys" gen --out "$tmp/k.pem" >/dev/null && "$B/ecred-keys" pub "$tmp/k.pem" >"$tmp/k.pub" && ok || bad "keys"
qr=$("$B/ecred-issue" --key "$tmp/k.pem" --in "$src/spec/examples/permit-rental.json") && ok || bad "issue"
"$B/ecred-verify" --trust-key "$tmp/k.pub" --json "$qr" >"$tmp/v.json" && ok || bad "verify"
python3 -c "import json; d=json.load(open('$tmp/v.json')); assert d['reason']=='ok', d" && ok || bad "verify answer"

# ---- man pages render ----
if command -v man >/dev/null; then
  for m in "$root"/share/man/man1/*.1; do
    out=$(MANWIDTH=80 man -l "$m" 2>&1) && grep -q "SYNOPSIS" <<<"$out" && ok || bad "man $m does not render"
  done
else
  for m in "$root"/share/man/man1/*.1; do grep -q '^\.TH' "$m" && grep -q '^\.SH "SYNOPSIS"' "$m" && ok || bad "$m"; done
  echo "note: man(1) missing; checked the pages' roff headers only"
fi

# ---- systemd units ----
units=$tmp/units
mkdir -p "$units"
for u in "$root"/lib/systemd/system/*; do
  grep -q "^ExecStart=$prefix/bin/" "$u" || [[ "$u" == *.timer ]] || bad "$(basename "$u"): ExecStart not under $prefix/bin"
  sed "s|$prefix/bin/|$root/bin/|g" "$u" >"$units/$(basename "$u")"
done
for u in "$units"/*.service; do
  for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes RestrictAddressFamilies= \
           StateDirectory= User=ecred; do
    grep -q "^$k" "$u" && ok || bad "$(basename "$u") lacks $k"
  done
done
if command -v systemd-analyze >/dev/null; then
  out=$(MANPATH=$root/share/man systemd-analyze verify "$units"/*.service "$units"/*.timer 2>&1); rc=$?
  if [ $rc -eq 0 ] && [ -z "$out" ]; then ok; echo "systemd-analyze verify: all units clean"
  else bad "systemd-analyze verify (rc $rc): $out"; fi
  for u in "$units"/*.service; do
    score=$(systemd-analyze security --offline=yes "$u" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    echo "systemd-analyze security $(basename "$u"): exposure $score"
    [ -n "$score" ] && python3 -c "import sys; sys.exit(0 if float('$score') <= 2.0 else 1)" && ok ||
      bad "$(basename "$u"): exposure '$score' over 2.0"
  done
else
  echo "note: systemd-analyze is not installed here (apt-get install systemd): units checked by key only"
fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
