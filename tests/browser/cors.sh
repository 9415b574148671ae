#!/usr/bin/env bash
# A browser page on another origin reads the issuer's public data (issue 11):
# headless Chromium (Debian's) loads a page from a second loopback port that
# fetches the trust list, the status list index and a status list from
# ecred-issuerd in CORS mode, revalidates the list with its ETag (preflight),
# and is refused a private route. The page posts what it saw to its own
# server; no browser driver is needed (shared/notes/platform-components.md 1).
# Exit 77 (skipped, says so) where chromium is not installed
# (tests/browser/setup.sh, run by scripts/test, installs it).
# Args: BIN_DIR SOURCE_DIR TMP_DIR.
set -euo pipefail
bin=$1 src=$2 tmp=$3/browser_cors.$$
mkdir -p "$tmp/data" "$tmp/www" "$tmp/profile"
pid="" web_pid="" chrome_pid=""
cleanup() {
  for p in $chrome_pid $web_pid $pid; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$tmp" 2>/dev/null || { sleep 1; rm -rf "$tmp" 2>/dev/null || true; }
}
trap cleanup EXIT
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chrome" ]; then echo "chromium not installed (tests/browser/setup.sh installs it): skipped"; exit 77; fi
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
started=0
for _ in $(seq 1 10); do
  port=$(free_port)
  "$bin/ecred-issuerd" --data "$tmp/data" --listen "127.0.0.1:$port" --list-size 64 2>>"$tmp/daemon.log" &
  pid=$!
  base="http://127.0.0.1:$port"
  end=$(($(date +%s) + 60))
  while [ "$(date +%s)" -lt "$end" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" 2>/dev/null || true; pid=""; break; fi
    if curl -s -m 2 -o /dev/null "$base/healthz"; then started=1; break; fi
    sleep 0.1
  done
  if [ "$started" -ne 1 ] && [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
  [ "$started" -eq 1 ] && break
done
[ "$started" -eq 1 ] || { echo "FAIL: issuer did not start"; cat "$tmp/daemon.log" >&2; exit 1; }
# One credential, so there is a status list to fetch.
clerk=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role clerk)
officer=$("$bin/ecred-issuerd" token add --data "$tmp/data" --role officer)
curl -s -m 10 -o "$tmp/app" -X POST -H "Authorization: Bearer $clerk" \
  --data-binary @"$src/spec/examples/api/permit_new.json" "$base/v1/applications"
app=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$tmp/app")
curl -s -m 10 -o /dev/null -X POST -H "Authorization: Bearer $officer" "$base/v1/applications/$app/approve"

# The page's own origin: a second loopback port serving the page and taking /result.
cp "$src/tests/browser/cors_page.html" "$tmp/www/index.html"
cat > "$tmp/web.py" <<'PY'
import http.server, os, sys
www, port_file, result = sys.argv[1], sys.argv[2], sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        body = open(os.path.join(www, "index.html"), "rb").read()
        self.send_response(200); self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(min(n, 1 << 20))
        open(result + ".tmp", "wb").write(data); os.rename(result + ".tmp", result)
        self.send_response(204); self.end_headers()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(port_file + ".tmp", "w").write(str(srv.server_address[1])); os.rename(port_file + ".tmp", port_file)
srv.serve_forever()
PY
python3 "$tmp/web.py" "$tmp/www" "$tmp/web.port" "$tmp/result.json" &
web_pid=$!
for _ in $(seq 1 600); do [ -s "$tmp/web.port" ] && break; sleep 0.05; done   # 30 s
[ -s "$tmp/web.port" ] || { bad "the page's web server did not start"; exit 1; }
page="http://127.0.0.1:$(cat "$tmp/web.port")/?issuer=$base"

"$chrome" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile" "$page" \
  >"$tmp/chrome.log" 2>&1 &
chrome_pid=$!
# 90 s: a first headless Chromium start on a loaded machine (an ASan suite
# alongside) has taken more than the 30 s this once allowed.
for _ in $(seq 1 900); do [ -s "$tmp/result.json" ] && break; sleep 0.1; done
[ -s "$tmp/result.json" ] || { bad "the page posted no result in 90 s"; tail -5 "$tmp/chrome.log" >&2; }
if [ -s "$tmp/result.json" ]; then
  python3 - "$tmp/result.json" "$base" <<'PY' && ok || bad "page saw: $(cat "$tmp/result.json")"
import json, sys
r = json.load(open(sys.argv[1])); base = sys.argv[2]
assert r["origin"] != base, r["origin"]
t = r["trust"]; assert t.get("status") == 200 and t["len"] > 100 and t["first"] == 0xD2, t
i = r["index"]; assert i.get("status") == 200 and r["list_uri"].startswith(base + "/status/"), (i, r["list_uri"])
l = r["list"]; assert l.get("status") == 200 and l["type"] == "application/statuslist+cwt" and l["first"] == 0xD2, l
assert l["etag"], "ETag not exposed to the page"
v = r.get("list_revalidated", {}); assert v.get("status") in (200, 304), v
assert "error" in r["private"], r["private"]  # no CORS on a private route: unreadable
print("page on", r["origin"], "read trust list", t["len"], "bytes, status list", l["len"], "bytes; revalidated:", v.get("status"))
PY
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
