#!/usr/bin/env bash
# Installs what the browser tests (tests/browser/run.sh) need on Debian 12,
# only what is missing, so a second run costs nothing: Debian's chromium and
# its chromedriver (released together, so they never drift), and a CJK font so
# the screenshots show the Chinese words instead of boxes. Node.js is expected
# from the machine (the tests use only its standard library: no npm install).
# Needs root (or sudo) for apt-get.
set -euo pipefail
packages=(chromium chromium-driver fonts-wqy-microhei)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tests/browser/setup.sh: installing ${missing[*]}" >&2
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
