#!/usr/bin/env python3
"""Test double of an issuer's public routes for the verifier's tests: serves
files from ROOT on 127.0.0.1 (an OS-chosen port, written to PORT_FILE) with a
strong ETag and If-None-Match -> 304, logging "PATH STATUS" lines to LOG.
A path containing "slow" waits 30 s first (to kill a sync mid-way).
Files under status/ are served as application/statuslist+cwt. Beside a file
F, F.ctype holds another Content-Type to send ("-" for none), F.code another
2xx status; a file F.redirect holding "CODE URL" answers GET F with that
redirect. The request's Accept header is logged to LOG.accept as "PATH VALUE".
Must never: listen on anything but loopback.
usage: static_server.py ROOT PORT_FILE LOG"""
import hashlib
import http.server
import os
import sys
import time

root, port_file, log = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _log(self, status):
        with open(log, "a") as f:
            f.write(f"{self.path} {status}\n")

    def do_GET(self):
        if "slow" in self.path:
            time.sleep(30)
        with open(log + ".accept", "a") as f:
            f.write(f"{self.path} {self.headers.get('Accept', '-')}\n")
        path = os.path.normpath(os.path.join(root, self.path.lstrip("/")))
        if path.startswith(os.path.abspath(root)) and os.path.isfile(path + ".redirect"):
            code, url = open(path + ".redirect").read().split()
            self._log(int(code))
            self.send_response(int(code))
            self.send_header("Location", url)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if not path.startswith(os.path.abspath(root)) or not os.path.isfile(path):
            self._log(404)
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = open(path, "rb").read()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            self._log(304)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        code = 200
        if os.path.isfile(path + ".code"):
            code = int(open(path + ".code").read())
        ctype = "application/statuslist+cwt" if "/status/" in self.path else None
        if os.path.isfile(path + ".ctype"):
            ctype = open(path + ".ctype").read().strip()
            ctype = None if ctype == "-" else ctype
        self._log(code)
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
tmp = port_file + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, port_file)
srv.serve_forever()
