#!/usr/bin/env python3
"""openapi_contract.py - the OpenAPI documents against the code and the live daemons.

Usage: openapi_contract.py BIN_DIR SOURCE_DIR TMP_DIR

1. Drift, statically: every route of issuer/routes.c and verifier/vd_routes.c
   (plus OPTIONS for the CORS routes) is an operation of spec/openapi-*.yaml and
   every operation is a route; the ErrorCode enum of each document is exactly
   the code column of its spec's error table (spec/api.md, spec/verifier.md);
   every error code a response allows has that response's HTTP status in the
   table.
2. Live: starts ecred-issuerd (tokens for each role) and ecred-verifierd
   (synced from it, one API key per role), drives every documented operation
   with successes and refusals, and validates each answer against the
   document: the status must be documented for the operation, the media type
   must be one of the response's, a JSON body must validate against the
   response's schema (so error codes too).  Every operation must be driven.
3. Residents: the resident routes answer resident_signin_disabled on that
   issuer; a second issuer signs in through the test OpenID provider
   (tests/oidc/idp.mjs, node + tests/oidc/node_modules from
   scripts/setup-test-tools) by the real code flow with PKCE, and every
   resident operation is driven with its successes and refusals. Without
   node or the provider this part is skipped with a NOTE (the resident routes
   are then driven for their disabled answer only).

Must never: touch anything outside TMP_DIR; talk to anything but loopback.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request

import yaml
from jsonschema import Draft202012Validator

BIN, SRC, TMP = sys.argv[1], sys.argv[2], os.path.join(sys.argv[3], "openapi_contract.%d" % os.getpid())
os.makedirs(TMP)
failures = []
checked = 0


def bad(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def load(name):
    with open(os.path.join(SRC, "spec", name), encoding="utf-8") as f:
        return yaml.safe_load(f)


def norm(path):
    """A path with its parameters blanked, so names need not agree."""
    return re.sub(r"\{[^}]*\}", "{}", path)


# ---------------------------------------------------------------- static checks
def table_routes(c_file, table):
    """(METHOD, normalised path) of every row of the route table, plus OPTIONS for CORS rows."""
    src = open(os.path.join(SRC, c_file), encoding="utf-8").read()
    body = src[src.index(table + "[] = {"):]
    body = body[:body.index("\n};")]
    out = set()
    for m in re.finditer(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([^,]+),', body):
        out.add((m.group(1), norm(m.group(2))))
        if "CORS" in m.group(3) or "PUBLIC_LIST" in m.group(3):
            out.add(("OPTIONS", norm(m.group(2))))
    return out


def doc_ops(doc):
    """{(METHOD, normalised path): (template, operation)} of the document."""
    out = {}
    for path, item in doc["paths"].items():
        route = item.get("x-ecred-route", path)
        for method, op in item.items():
            if method in ("get", "post", "put", "delete", "patch", "options", "head"):
                out[(method.upper(), norm(route))] = (path, op)
    return out


def error_table(md):
    text = open(os.path.join(SRC, "spec", md), encoding="utf-8").read()
    block = text.split("<!-- api-errors:begin -->")[1].split("<!-- api-errors:end -->")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^\| `([a-z_]+)` \| (\d{3}) \|", block, re.M)}


def resolve(doc, node):
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = pointer(doc, node["$ref"])
    return node


def pointer(doc, ref):
    node = doc
    for part in ref.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def codes_allowed(doc, schema, seen=None):
    """Error codes a response schema admits (const/enum on `code` anywhere in its allOf/oneOf)."""
    out = set()
    schema = resolve(doc, schema)
    if not isinstance(schema, dict):
        return out
    code = schema.get("properties", {}).get("code")
    if isinstance(code, dict):
        if "const" in code:
            out.add(code["const"])
        out.update(code.get("enum", []))
    for k in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(k, []):
            if isinstance(sub, dict) and sub.get("$ref", "").endswith("/Error"):
                continue  # the generic object: any code, narrowed by its siblings
            out |= codes_allowed(doc, sub)
    return out


def static_checks(doc, c_file, table, md):
    global checked
    routes = table_routes(c_file, table)
    ops = doc_ops(doc)
    for r in sorted(routes - set(ops)):
        bad("%s: route %s %s is not in the OpenAPI document" % (c_file, r[0], r[1]))
    for r in sorted(set(ops) - routes):
        bad("%s: documented %s %s is not in the route table" % (c_file, r[0], r[1]))
    table_codes = error_table(md)
    enum = set(doc["components"]["schemas"]["ErrorCode"]["enum"])
    for c in sorted(set(table_codes) - enum):
        bad("%s: error code %s is missing from ErrorCode" % (md, c))
    for c in sorted(enum - set(table_codes)):
        bad("%s: ErrorCode %s is not in the error table" % (md, c))
    for (method, path), (_, op) in ops.items():
        for status, resp in op["responses"].items():
            resp = resolve(doc, resp)
            for mt, content in resp.get("content", {}).items():
                for code in codes_allowed(doc, content.get("schema", {})):
                    checked += 1
                    if code not in table_codes:
                        bad("%s %s %s: code %s is not in %s" % (method, path, status, code, md))
                    elif str(table_codes[code]) != str(status):
                        bad("%s %s answers %s with status %s, the table says %d" %
                            (method, path, code, status, table_codes[code]))
    print("%s: %d routes, %d error codes, documented both ways" % (c_file, len(routes), len(table_codes)))


# ----------------------------------------------------------------- live checks
class NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to validate, never followed."""

    def redirect_request(self, *args, **kw):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Api:
    """One daemon and its document: send a request, validate the answer."""

    def __init__(self, name, doc, base):
        self.name, self.doc, self.base = name, doc, base
        self.ops = {}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if isinstance(op, dict) and "responses" in op:
                    rx = "^" + re.sub(r"\\\{[^}]*\\\}", "(.+)" if "x-ecred-route" in item else "([^/]+)",
                                      re.escape(path)) + "$"
                    self.ops[(method.upper(), re.compile(rx))] = (path, method, op)
        self.driven = {}
        self.headers = {}  # the last answer's headers

    def find(self, method, path):
        path = path.split("?")[0]
        for (m, rx), v in self.ops.items():
            if m == method and rx.match(path):
                # a literal path beats a template (/v1/applications vs /{id})
                return v
        return None

    def call(self, method, path, body=None, headers=None, want=None):
        global checked
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with OPENER.open(req, timeout=30) as resp:
                status, ctype, raw = resp.status, resp.headers.get("Content-Type", ""), resp.read()
                self.headers = resp.headers
        except urllib.error.HTTPError as e:
            status, ctype, raw = e.code, e.headers.get("Content-Type", ""), e.read()
            self.headers = e.headers
        label = "%s %s %s" % (self.name, method, path[:60])
        if want is not None and status != want:
            bad("%s: HTTP %d, the test expected %d: %s" % (label, status, want, raw[:200]))
        found = self.find(method, path)
        if not found:
            bad("%s: no documented operation" % label)
            return status, raw
        tpl, m, op = found
        self.driven.setdefault(op["operationId"], set()).add(status)
        responses = op["responses"]
        resp = responses.get(str(status))
        if resp is None:
            bad("%s: status %d is not documented (documented: %s)" % (label, status, ", ".join(responses)))
            return status, raw
        ref = resp["$ref"] if "$ref" in resp else "#/paths/%s/%s/responses/%d" % (
            tpl.replace("~", "~0").replace("/", "~1"), m, status)
        resp = resolve(self.doc, resp)
        content = resp.get("content", {})
        mt = ctype.split(";")[0].strip()
        if not content:
            if raw:
                bad("%s: %d documented without a body, got %d bytes" % (label, status, len(raw)))
            checked += 1
            return status, raw
        if mt not in content:
            bad("%s: %d answered %s, documented %s" % (label, status, mt or "(none)", ", ".join(content)))
            return status, raw
        checked += 1
        if mt.endswith("json") and mt != "application/manifest+json" and \
                content[mt].get("schema", {}).get("type") != "string":
            try:
                inst = json.loads(raw)
            except ValueError as e:
                bad("%s: %s body is not JSON: %s" % (label, mt, e))
                return status, raw
            sptr = "%s/content/%s/schema" % (ref, mt.replace("~", "~0").replace("/", "~1"))
            errs = validate(self.doc, sptr, inst)
            for e in errs[:3]:
                bad("%s: %d body does not match %s: %s at %s" % (label, status, sptr, e.message[:200],
                                                              "/".join(map(str, e.absolute_path))))
            return status, inst
        return status, raw

    def uncovered(self):
        for (m, _), (path, _, op) in self.ops.items():
            if op["operationId"] not in self.driven:
                bad("%s: operation %s (%s %s) was never driven" % (self.name, op["operationId"], m, path))


_validators = {}


def validate(doc, ptr, inst):
    key = (id(doc), ptr)
    if key not in _validators:
        try:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT202012
            reg = Registry().with_resource("urn:ecred:doc", Resource(contents=doc, specification=DRAFT202012))
            _validators[key] = Draft202012Validator({"$ref": "urn:ecred:doc" + ptr}, registry=reg)
        except ImportError:  # jsonschema < 4.18 (Debian 12's python3-jsonschema)
            from jsonschema import RefResolver
            _validators[key] = Draft202012Validator({"$ref": ptr}, resolver=RefResolver("", doc))
    return list(_validators[key].iter_errors(inst))


def wait_for(url, pred, what, proc, log):
    for _ in range(200):
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if pred(r.status):
                    return
        except urllib.error.HTTPError as e:
            if pred(e.code):
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("%s did not start: %s" % (what, open(log).read()[-800:]))


def run(*args):
    return subprocess.run([os.path.join(BIN, args[0])] + list(args[1:]), check=True,
                          capture_output=True, text=True).stdout.strip()


def example(name, **over):
    with open(os.path.join(SRC, "spec/examples/api", name + ".json"), encoding="utf-8") as f:
        d = json.load(f)
    d.update(over)
    return json.dumps(d)


def live():
    procs = []
    try:
        data = os.path.join(TMP, "data")
        os.makedirs(data)
        iport = free_port()
        ibase = "http://127.0.0.1:%d" % iport
        ilog = os.path.join(TMP, "issuer.log")
        procs.append(subprocess.Popen([os.path.join(BIN, "ecred-issuerd"), "--data", data, "--listen",
                                       "127.0.0.1:%d" % iport, "--list-size", "16"],
                                      stderr=open(ilog, "w")))
        wait_for(ibase + "/healthz", lambda s: s == 200, "ecred-issuerd", procs[0], ilog)
        tok = {r: run("ecred-issuerd", "token", "add", "--data", data, "--role", r)
               for r in ("clerk", "officer", "admin")}
        api = Api("issuer", load("openapi-issuer.yaml"), ibase)
        drive_issuer(api, tok)
        drive_resident_disabled(api)
        drive_resident(api, procs)
        api.uncovered()

        cache = os.path.join(TMP, "cache")
        os.makedirs(cache)
        keys = {r: run("ecred-verifierd", "key", "add", "--cache", cache, "--role", r,
                       *(["--fields", "name,valid_until"] if r == "agency" else []))
                for r in ("police", "landlord", "agency")}
        vport = free_port()
        vbase = "http://127.0.0.1:%d" % vport
        vlog = os.path.join(TMP, "verifier.log")
        procs.append(subprocess.Popen([os.path.join(BIN, "ecred-verifierd"), "--cache", cache, "--issuer", ibase,
                                       "--root", os.path.join(data, "root.pub.pem"), "--listen",
                                       "127.0.0.1:%d" % vport], stderr=open(vlog, "w")))
        wait_for(vbase + "/healthz", lambda s: s == 200, "ecred-verifierd (synced)", procs[-1], vlog)
        vapi = Api("verifier", load("openapi-verifier.yaml"), vbase)
        drive_verifier(vapi, keys, api.samples)
        vapi.uncovered()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def drive_issuer(api, tok):
    J = {"Content-Type": "application/json"}
    auth = {r: dict(J, Authorization="Bearer " + t) for r, t in tok.items()}
    c = api.call
    # submissions
    st, app = c("POST", "/v1/applications", example("permit_new"), dict(auth["clerk"], **{"Idempotency-Key": "k1"}),
                want=201)
    c("POST", "/v1/applications", example("permit_new"), dict(auth["clerk"], **{"Idempotency-Key": "k1"}), want=200)
    c("POST", "/v1/applications", example("residence_registration"),
      dict(auth["clerk"], **{"Idempotency-Key": "k1"}), want=409)
    c("POST", "/v1/applications", example("permit_new"), dict(auth["clerk"], **{"Idempotency-Key": "bad key!"}),
      want=400)
    c("POST", "/v1/applications", "{", auth["clerk"], want=400)
    c("POST", "/v1/applications", example("permit_new"), J, want=401)
    c("POST", "/v1/applications", example("permit_new"), dict(J, Authorization="Bearer " + "0" * 64), want=401)
    c("POST", "/v1/applications", example("permit_new"), auth["officer"], want=403)
    c("POST", "/v1/applications", example("permit_new", colour="red"), auth["clerk"], want=422)
    c("POST", "/v1/applications", json.dumps({"kind": "permit_new"}), auth["clerk"], want=422)
    c("POST", "/v1/applications", '{"a": "' + "x" * 70000 + '"}', auth["clerk"], want=413)
    aid = app["id"]
    # reading it
    c("GET", "/v1/applications/" + aid, None, auth["clerk"], want=200)
    c("GET", "/v1/applications/" + aid, None, {"X-Tracking-Code": app["tracking_code"]}, want=200)
    c("GET", "/v1/applications/" + aid, None, {"X-Tracking-Code": "0" * 32}, want=401)
    c("GET", "/v1/applications/" + aid, None, {}, want=401)
    c("GET", "/v1/applications/ffffffffffffffff", None, auth["officer"], want=404)
    # kinship commitment
    _, rel = c("POST", "/v1/applications", example("permit_new_relative"), auth["clerk"], want=201)
    c("POST", "/v1/applications/%s/approve" % rel["id"], None, auth["officer"], want=409)
    c("POST", "/v1/applications/%s/commitment/confirm" % rel["id"], json.dumps({"sha256": "0" * 64}),
      dict(J, **{"X-Tracking-Code": rel["tracking_code"]}), want=422)
    c("POST", "/v1/applications/%s/commitment/confirm" % rel["id"], json.dumps({"sha256": rel["commitment"]["sha256"]}),
      dict(J, **{"X-Tracking-Code": rel["tracking_code"]}), want=200)
    c("POST", "/v1/applications/%s/commitment/confirm" % aid, json.dumps({"sha256": "0" * 64}), auth["clerk"],
      want=409)
    c("POST", "/v1/applications/%s/commitment/confirm" % aid, "[1]", auth["clerk"], want=400)
    c("POST", "/v1/applications/%s/commitment/confirm" % aid, json.dumps({"sha256": "0" * 64}), auth["officer"],
      want=403)
    c("POST", "/v1/applications/ffffffffffffffff/commitment/confirm", json.dumps({"sha256": "0" * 64}),
      auth["clerk"], want=404)
    c("POST", "/v1/applications/%s/commitment/confirm" % aid, json.dumps({"sha256": "0" * 64}), J, want=401)
    # holder key: c_nonce (clerk or applicant), binding (applicant only; the
    # end-to-end proof is tests/cli/test_issuerd_pop.sh)
    T = dict(J, **{"X-Tracking-Code": app["tracking_code"]})
    c("POST", "/v1/applications/%s/holder-nonce" % aid, None, {"X-Tracking-Code": app["tracking_code"]}, want=200)
    c("POST", "/v1/applications/%s/holder-nonce" % aid, None, auth["clerk"], want=200)
    c("POST", "/v1/applications/%s/holder-nonce" % aid, None, auth["officer"], want=403)
    c("POST", "/v1/applications/%s/holder-nonce" % aid, None, {}, want=401)
    c("POST", "/v1/applications/ffffffffffffffff/holder-nonce", None, auth["clerk"], want=404)
    proof = json.dumps({"proof": {"proof_type": "jwt", "jwt": "e30.e30.AA"}})
    c("POST", "/v1/applications/%s/holder-key" % aid, proof, T, want=400)
    c("POST", "/v1/applications/%s/holder-key" % aid, proof, dict(T, Authorization=auth["clerk"]["Authorization"]),
      want=403)
    c("POST", "/v1/applications/%s/holder-key" % aid, proof, J, want=401)
    c("POST", "/v1/applications/%s/holder-key" % aid, json.dumps({"proof": {"proof_type": "cwt", "jwt": "x"}}), T,
      want=422)
    # approval
    c("POST", "/v1/applications/%s/approve" % aid, "{}", auth["officer"], want=422)
    _, appr = c("POST", "/v1/applications/%s/approve" % aid, None, auth["officer"], want=201)
    c("POST", "/v1/applications/%s/approve" % aid, None, auth["officer"], want=200)
    c("POST", "/v1/applications/%s/approve" % aid, None, auth["clerk"], want=403)
    c("POST", "/v1/applications/%s/approve" % aid, None, {}, want=401)
    c("POST", "/v1/applications/ffffffffffffffff/approve", None, auth["officer"], want=404)
    _, relc = c("POST", "/v1/applications/%s/approve" % rel["id"], None, auth["admin"], want=201)
    # rejection
    _, rj = c("POST", "/v1/applications", example("residence_registration"), auth["clerk"], want=201)
    c("POST", "/v1/applications/%s/reject" % rj["id"], "{}", auth["officer"], want=422)
    c("POST", "/v1/applications/%s/reject" % rj["id"], "nope", auth["officer"], want=400)
    c("POST", "/v1/applications/%s/reject" % rj["id"], json.dumps({"reason": "x"}), auth["clerk"], want=403)
    c("POST", "/v1/applications/%s/reject" % rj["id"], json.dumps({"reason": "x"}), J, want=401)
    c("POST", "/v1/applications/ffffffffffffffff/reject", json.dumps({"reason": "x"}), auth["officer"], want=404)
    c("POST", "/v1/applications/%s/reject" % rj["id"], json.dumps({"reason": "documents incomplete"}),
      auth["officer"], want=200)
    c("POST", "/v1/applications/%s/reject" % rj["id"], json.dumps({"reason": "again"}), auth["officer"], want=409)
    c("POST", "/v1/applications/%s/approve" % rj["id"], None, auth["officer"], want=409)
    # credentials
    cid = appr["credential"]["id"]
    for suffix in ("", "/qr.png", "/qr.svg"):
        c("GET", "/v1/credentials/%s%s" % (cid, suffix), None, auth["officer"], want=200)
        c("GET", "/v1/credentials/%s%s" % (cid, suffix), None, {"X-Tracking-Code": app["tracking_code"]}, want=200)
        c("GET", "/v1/credentials/%s%s" % (cid, suffix), None, {"X-Tracking-Code": "0" * 32}, want=401)
        c("GET", "/v1/credentials/%s%s" % (cid, suffix), None, auth["clerk"], want=403)
        c("GET", "/v1/credentials/ffffffffffffffff%s" % suffix, None, auth["officer"], want=404)
    rid = relc["credential"]["id"]
    for action in ("suspend", "resume", "revoke"):
        u = "/v1/credentials/%s/%s" % (rid, action)
        c("POST", u, json.dumps({"reason": "x", "extra": 1}), auth["officer"], want=422)
        c("POST", u, "[", auth["officer"], want=400)
        c("POST", u, json.dumps({"reason": "x"}), auth["clerk"], want=403)
        c("POST", u, json.dumps({"reason": "x"}), J, want=401)
        c("POST", "/v1/credentials/ffffffffffffffff/" + action, json.dumps({"reason": "x"}), auth["officer"], want=404)
    c("POST", "/v1/credentials/%s/resume" % rid, None, auth["officer"], want=409)
    c("POST", "/v1/credentials/%s/suspend" % rid, None, auth["officer"], want=200)
    c("POST", "/v1/credentials/%s/suspend" % rid, None, auth["officer"], want=409)
    c("POST", "/v1/credentials/%s/resume" % rid, json.dumps({"reason": "found it"}), auth["officer"], want=200)
    c("POST", "/v1/credentials/%s/revoke" % rid, None, auth["officer"], want=422)
    c("POST", "/v1/credentials/%s/revoke" % rid, json.dumps({"reason": "moved away"}), auth["officer"], want=200)
    c("POST", "/v1/credentials/%s/revoke" % rid, json.dumps({"reason": "twice"}), auth["officer"], want=409)
    # reminders
    c("GET", "/v1/reminders?within=366", None, auth["officer"], want=200)
    c("GET", "/v1/reminders?within=400", None, auth["officer"], want=422)
    c("GET", "/v1/reminders", None, auth["clerk"], want=403)
    c("GET", "/v1/reminders", None, {}, want=401)
    # counter staff and operations (issue 17)
    c("GET", "/v1/applications?state=submitted&limit=1", None, auth["officer"], want=200)
    c("GET", "/v1/applications?state=bogus", None, auth["officer"], want=422)
    c("GET", "/v1/applications?state=submitted", None, auth["clerk"], want=403)
    c("GET", "/v1/applications?state=submitted", None, {}, want=401)
    idn = json.loads(example("permit_new"))["credential"]["id_number"]
    c("GET", "/v1/credentials?id_number=" + idn, None, auth["officer"], want=200)
    c("GET", "/v1/credentials?id_number=123", None, auth["officer"], want=422)
    c("GET", "/v1/credentials?id_number=" + idn, None, auth["clerk"], want=403)
    c("GET", "/v1/credentials?id_number=" + idn, None, {}, want=401)
    c("GET", "/metrics", None, {}, want=200)
    # public
    for u in ("/status/1", "/.well-known/ecred-trust"):
        req = urllib.request.Request(api.base + u)
        with urllib.request.urlopen(req, timeout=10) as r:
            etag = r.headers["ETag"]
        c("GET", u, None, {}, want=200)
        c("GET", u, None, {"If-None-Match": etag}, want=304)
        c("OPTIONS", u, None, {"Origin": "https://example.org", "Access-Control-Request-Method": "GET"}, want=204)
    c("GET", "/status/99", None, {}, want=404)
    c("GET", "/status/1?time=1", None, {}, want=501)
    c("GET", "/.well-known/ecred-status-lists", None, {}, want=200)
    c("OPTIONS", "/.well-known/ecred-status-lists", None, {"Origin": "https://example.org"}, want=204)
    # The audit log's public routes (spec/audit.md).
    c("GET", "/v1/audit/checkpoint", None, {}, want=200)
    c("GET", "/v1/audit/consistency?from=1&to=2", None, {}, want=200)
    c("GET", "/v1/audit/consistency?from=2&to=1", None, {}, want=422)
    c("GET", "/v1/audit/inclusion?credential=%s" % rid, None, {}, want=200)
    c("GET", "/v1/audit/inclusion?credential=ffffffffffffffff", None, {}, want=404)
    c("GET", "/v1/audit/inclusion?credential=xyz", None, {}, want=422)
    for u in ("/v1/audit/checkpoint", "/v1/audit/consistency", "/v1/audit/inclusion"):
        c("OPTIONS", u, None, {"Origin": "https://example.org"}, want=204)
    c("GET", "/.well-known/ecred-trust?" + "x" * 600, None, {}, want=414)
    c("GET", "/healthz", None, {}, want=200)
    c("GET", "/", None, {}, want=200)
    c("GET", "/app/style.css", None, {}, want=200)
    c("GET", "/app/no-such-file.js", None, {}, want=404)
    with urllib.request.urlopen(urllib.request.Request(api.base + "/v1/credentials/%s/qr.png" % cid,
                                                       headers={"Authorization": "Bearer " + tok["officer"]}),
                                timeout=10) as r:
        png = r.read()
    api.samples = {"valid": appr["credential"]["qr_text"], "revoked": relc["credential"]["qr_text"], "png": png}


RESIDENT_GET = ("/v1/resident/login", "/v1/resident/callback?code=x&state=y", "/v1/resident/me",
                "/v1/resident/applications/0000000000000000", "/v1/resident/credential",
                "/v1/resident/credentials/0000000000000000", "/v1/resident/credentials/0000000000000000/qr.svg",
                "/v1/resident/reminders")
RESIDENT_POST = ("/v1/resident/logout", "/v1/resident/applications",
                 "/v1/resident/applications/0000000000000000/commitment/sign",
                 "/v1/resident/applications/0000000000000000/holder-nonce",
                 "/v1/resident/applications/0000000000000000/holder-key",
                 "/v1/resident/credentials/0000000000000000/report-lost",
                 "/v1/resident/credentials/0000000000000000/unlock")


def drive_resident_disabled(api):
    """An issuer without --oidc-issuer: every resident route says so."""
    for u in RESIDENT_GET:
        _, b = api.call("GET", u, None, {}, want=404)
        if isinstance(b, dict) and b.get("code") != "resident_signin_disabled":
            bad("issuer GET %s without OIDC answered %s" % (u, b.get("code")))
    for u in RESIDENT_POST:
        api.call("POST", u, "{}", {"Content-Type": "application/json"}, want=404)


def drive_resident(main_api, procs):
    """A second issuer with resident sign-in through the test OpenID provider."""
    oidc = os.path.join(SRC, "tests/oidc")
    node = shutil.which("node")
    if not node or not os.path.isdir(os.path.join(oidc, "node_modules/oidc-provider")):
        print("NOTE: node or tests/oidc/node_modules missing (scripts/setup-test-tools): "
              "resident routes driven only for resident_signin_disabled")
        return
    data = os.path.join(TMP, "rdata")
    os.makedirs(data)
    pport, iport = free_port(), free_port()
    base, idp = "http://127.0.0.1:%d" % pport, "http://127.0.0.1:%d" % iport
    rlog = os.path.join(TMP, "resident-issuer.log")
    iss = subprocess.Popen([os.path.join(BIN, "ecred-issuerd"), "--data", data, "--listen", "127.0.0.1:%d" % pport,
                            "--list-size", "16", "--oidc-issuer", idp, "--oidc-client-id", "ecred-resident"],
                           stderr=open(rlog, "w"))
    procs.append(iss)
    try:
        wait_for(base + "/healthz", lambda s: s == 200, "ecred-issuerd --oidc-issuer", iss, rlog)
    except SystemExit as e:  # a daemon that cannot enable sign-in is a failure, not a skip
        bad(str(e).strip())
        return
    officer = {"Authorization": "Bearer " + run("ecred-issuerd", "token", "add", "--data", data, "--role", "officer")}
    api = Api("issuer(resident)", main_api.doc, base)
    api.samples = None
    c = api.call
    H = {"Accept": "text/html"}
    # The provider is not up yet: discovery fails (a failure is not cached).
    c("GET", "/v1/resident/login", None, {}, want=502)
    c("GET", "/v1/resident/login", None, H, want=303)
    if api.headers.get("Location") != "/app/signin.html?error=identity_provider_unavailable":
        bad("login failure for a browser went to %s" % api.headers.get("Location"))
    plog = os.path.join(TMP, "idp.log")
    idpp = subprocess.Popen([node, os.path.join(oidc, "idp.mjs"), str(iport), base + "/v1/resident/callback"],
                            stdout=open(plog, "w"), stderr=subprocess.STDOUT)
    procs.append(idpp)
    wait_for(idp + "/.well-known/openid-configuration", lambda s: s == 200, "test OpenID provider", idpp, plog)

    # before sign-in
    J = {"Content-Type": "application/json"}
    for u in RESIDENT_GET[2:]:
        c("GET", u, None, {}, want=401)
    for u in RESIDENT_POST:
        c("POST", u, None, {"Cookie": "ecred_resident=" + "A" * 43}, want=401)
    c("GET", "/v1/resident/callback?code=abc&state=" + "A" * 43, None, {}, want=400)
    c("GET", "/v1/resident/callback?code=abc", None, {}, want=400)
    c("GET", "/v1/resident/callback?code=x&state=y", None, H, want=303)

    def begin():
        """GET /v1/resident/login: the provider's authorization URL and the state in it."""
        c("GET", "/v1/resident/login", None, {}, want=302)
        loc = api.headers.get("Location", "")
        if not loc.startswith(idp + "/auth?") or "code_challenge_method=S256" not in loc:
            bad("login redirect: %s" % loc[:200])
        return loc, urllib.parse.parse_qs(urllib.parse.urlparse(loc).query).get("state", [""])[0]

    def login(user):
        """The code flow as a browser runs it; returns the session's Cookie header."""
        jar = urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

        def hop(url, form=None):
            data = urllib.parse.urlencode(form).encode() if form else None
            try:
                with jar.open(urllib.request.Request(url, data=data), timeout=10) as r:
                    loc = r.headers.get("Location")
            except urllib.error.HTTPError as e:
                loc = e.headers.get("Location")
            if not loc:
                sys.exit("test OpenID provider: no redirect from %s: %s" % (url, open(plog).read()[-800:]))
            return urllib.parse.urljoin(url, loc)
        u, _ = begin()
        u = hop(u)                                                         # -> interaction (login)
        u = hop(u, {"prompt": "login", "login": user, "password": "x"})    # -> /auth/UID
        u = hop(u)                                                         # -> interaction (consent)
        u = hop(u, {"prompt": "consent"})                                  # -> /auth/UID
        u = hop(u)                                                         # -> our callback with the code
        if not u.startswith(base + "/v1/resident/callback?"):
            bad("no callback: %s" % u[:200])
        c("GET", u[len(base):], None, {}, want=200)
        m = re.match(r"(ecred_resident=[A-Za-z0-9_-]{43});", api.headers.get("Set-Cookie", ""))
        if not m:
            bad("callback set no session cookie: %s" % api.headers.get("Set-Cookie"))
            return {}, u
        c("GET", u[len(base):], None, {}, want=400)  # the state was used once
        return {"Cookie": m.group(1)}, u

    # the provider answers error= (the resident declined): the state is used up
    _, st = begin()
    c("GET", "/v1/resident/callback?error=access_denied&state=" + st, None, {}, want=401)
    _, st = begin()
    c("GET", "/v1/resident/callback?error=access_denied&state=" + st, None, H, want=303)

    A, _ = login("alice")
    B, _ = login("bob")
    _, me = c("GET", "/v1/resident/me", None, A, want=200)
    if not isinstance(me, dict) or me.get("id_number") != "340102199003072518":
        bad("resident me: %s" % me)
        return
    if me.get("prefill") is not None:
        bad("resident me: prefill before any credential: %s" % me.get("prefill"))
    _, meb = c("GET", "/v1/resident/me", None, B, want=200)
    HA = dict(A, **J, **{"X-CSRF-Token": me["csrf_token"]})
    HB = dict(B, **J, **{"X-CSRF-Token": meb["csrf_token"]})

    # apply
    with open(os.path.join(SRC, "spec/examples/api/permit_new_relative.json"), encoding="utf-8") as f:
        body = json.load(f)
    del body["credential"]["name"], body["credential"]["id_number"]
    apply = json.dumps(body)
    c("GET", "/v1/resident/credential", None, A, want=404)  # none issued yet
    c("POST", "/v1/resident/applications", apply, dict(A, **J), want=403)
    c("POST", "/v1/resident/applications", apply, dict(A, **J, **{"X-CSRF-Token": meb["csrf_token"]}), want=403)
    typed = json.loads(apply)
    typed["credential"]["name"] = "张三"
    _, e = c("POST", "/v1/resident/applications", json.dumps(typed), HA, want=422)
    if isinstance(e, dict) and e.get("code") != "identity_from_signin":
        bad("typed name answered %s" % e.get("code"))
    c("POST", "/v1/resident/applications", '{"kind":', HA, want=400)
    c("POST", "/v1/resident/applications", apply, dict(HA, **{"Idempotency-Key": "bad key!"}), want=400)
    c("POST", "/v1/resident/applications", json.dumps({"kind": "permit_new", "owner": "x"}), HA, want=422)
    c("POST", "/v1/resident/applications", '{"a": "' + "x" * 70000 + '"}', HA, want=413)
    c("POST", "/v1/resident/applications", json.dumps(dict(body, replaces="0000000000000000")), HA, want=404)
    _, app = c("POST", "/v1/resident/applications", apply, dict(HA, **{"Idempotency-Key": "phone-1"}), want=201)
    c("POST", "/v1/resident/applications", apply, dict(HA, **{"Idempotency-Key": "phone-1"}), want=200)
    other = dict(body, kinship={"relative_name": "李国强", "relationship": "母亲"})
    c("POST", "/v1/resident/applications", json.dumps(other), dict(HA, **{"Idempotency-Key": "phone-1"}), want=409)
    with open(os.path.join(SRC, "spec/examples/api/residence_registration.json"), encoding="utf-8") as f:
        reg = json.load(f)
    del reg["credential"]["name"], reg["credential"]["id_number"]
    _, plain = c("POST", "/v1/resident/applications", json.dumps(reg), HA, want=201)
    aid = app["id"]
    # reading it, the commitment
    c("GET", "/v1/resident/applications/" + aid, None, A, want=200)
    c("GET", "/v1/resident/applications/" + aid, None, B, want=404)
    c("GET", "/v1/resident/applications/nothex", None, A, want=404)
    # the phone's key: a c_nonce, then proofs that do not check out
    c("POST", "/v1/resident/applications/" + aid + "/holder-nonce", None, HA, want=200)
    c("POST", "/v1/resident/applications/" + aid + "/holder-nonce", None, HB, want=404)
    c("POST", "/v1/resident/applications/" + aid + "/holder-nonce", None, A, want=403)
    c("POST", "/v1/resident/applications/" + aid + "/holder-key",
      json.dumps({"proof": {"proof_type": "jwt", "jwt": "a.b.c"}}), HA, want=400)
    c("POST", "/v1/resident/applications/" + aid + "/holder-key", json.dumps({"proof": 1}), HA, want=422)
    sign = "/v1/resident/applications/%s/commitment/sign" % aid
    sha = json.dumps({"sha256": app["commitment"]["sha256"]})
    c("POST", sign, sha, dict(A, **J), want=403)
    c("POST", sign, sha, HB, want=404)
    c("POST", sign, "[", HA, want=400)
    c("POST", sign, json.dumps({"sha256": "0" * 64}), HA, want=422)
    c("POST", sign, "{}", HA, want=422)
    c("POST", sign, '{"a": "' + "x" * 70000 + '"}', HA, want=413)
    if isinstance(plain, dict) and "id" in plain:
        c("POST", "/v1/resident/applications/%s/commitment/sign" % plain["id"], sha, HA, want=409)
    else:
        bad("resident application without kinship: %s" % plain)
    c("POST", sign, sha, HA, want=200)
    _, appr = c("POST", "/v1/applications/%s/approve" % aid, None, officer, want=201)
    cid = appr["credential"]["id"]
    # the credential
    _, cur = c("GET", "/v1/resident/credential", None, A, want=200)
    if isinstance(cur, dict) and cur.get("id") != cid:
        bad("current credential %s, issued %s" % (cur.get("id"), cid))
    c("GET", "/v1/resident/credential", None, B, want=404)
    c("GET", "/v1/resident/credentials/" + cid, None, A, want=200)
    c("GET", "/v1/resident/credentials/" + cid, None, B, want=404)
    c("GET", "/v1/resident/credentials/%s/qr.svg" % cid, None, A, want=200)
    c("GET", "/v1/resident/credentials/%s/qr.svg" % cid, None, B, want=404)
    _, me2 = c("GET", "/v1/resident/me", None, A, want=200)
    if isinstance(me2, dict) and (me2.get("latest_credential_id") != cid or not me2.get("prefill")):
        bad("resident me after issuance: %s" % me2)
    c("GET", "/v1/resident/reminders", None, A, want=200)
    # report lost, unlock
    lost, found = "/v1/resident/credentials/%s/report-lost" % cid, "/v1/resident/credentials/%s/unlock" % cid
    c("POST", lost, None, A, want=403)
    c("POST", lost, None, HB, want=404)
    c("POST", lost, '{"x": 1}', HA, want=422)
    c("POST", lost, "x" * 70000, HA, want=413)
    c("POST", found, None, HA, want=409)  # not suspended
    _, s = c("POST", lost, None, HA, want=200)
    if isinstance(s, dict) and s.get("status") != "suspended":
        bad("report-lost left %s" % s.get("status"))
    c("POST", lost, None, HA, want=409)
    c("POST", found, None, dict(A, **J), want=403)
    c("POST", found, None, HB, want=404)
    c("POST", found, '{"x": 1}', HA, want=422)
    c("POST", found, "x" * 70000, HA, want=413)
    c("POST", found, None, HA, want=200)
    c("POST", "/v1/credentials/%s/suspend" % cid, None, officer, want=200)
    c("POST", found, None, HA, want=409)  # the office's suspension is the office's to lift
    # sign out
    c("POST", "/v1/resident/logout", None, A, want=403)
    c("POST", "/v1/resident/logout", None, HA, want=200)
    c("GET", "/v1/resident/me", None, A, want=401)
    c("GET", "/v1/resident/me", None, B, want=200)
    # the provider goes away between the login and the callback: the code exchange fails
    _, st1 = begin()
    _, st2 = begin()
    idpp.terminate()
    idpp.wait(10)
    c("GET", "/v1/resident/callback?code=x&state=" + st1, None, {}, want=502)
    c("GET", "/v1/resident/callback?code=x&state=" + st2, None, H, want=303)
    if api.headers.get("Location") != "/app/signin.html?error=identity_provider_unavailable":
        bad("callback failure for a browser went to %s" % api.headers.get("Location"))
    # RES_LOGINS_MAX pending logins: the next is refused (discovery is cached)
    for _ in range(1100):
        try:
            with OPENER.open(base + "/v1/resident/login", timeout=10) as r:
                st = r.status
        except urllib.error.HTTPError as e:
            st = e.code
        if st != 302:
            break
    c("GET", "/v1/resident/login", None, {}, want=503)
    c("GET", "/v1/resident/login", None, H, want=303)
    for op, sts in api.driven.items():
        main_api.driven.setdefault(op, set()).update(sts)
    print("resident routes driven through the test OpenID provider: %d operations" %
          sum(1 for op in api.driven if op.startswith("resident")))


def blank_png(w, h):
    """A white PNG with no code in it."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + b"\xff" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def drive_verifier(api, keys, samples):
    c = api.call
    B = {r: {"Authorization": "Bearer " + k} for r, k in keys.items()}
    _, a = c("POST", "/v1/verify", json.dumps({"qr": samples["valid"]}),
             dict(B["police"], **{"Content-Type": "application/json"}), want=200)
    if isinstance(a, dict) and "id_number" not in a.get("credential", {}):
        bad("verifier: police view lacks id_number")
    _, a = c("POST", "/v1/verify", samples["valid"], dict(B["landlord"], **{"Content-Type": "text/plain"}), want=200)
    if isinstance(a, dict) and "id_number" in a.get("credential", {}):
        bad("verifier: landlord view shows id_number")
    _, a = c("POST", "/v1/verify", samples["valid"], B["agency"], want=200)
    if isinstance(a, dict) and set(a.get("credential", {})) != {"name", "valid_until"}:
        bad("verifier: agency view is not its fields: %s" % a.get("credential"))
    _, a = c("POST", "/v1/verify", samples["revoked"], B["police"], want=200)
    if isinstance(a, dict) and a.get("reason") != "revoked":
        bad("verifier: revoked credential answered %s" % a.get("reason"))
    c("POST", "/v1/verify", "HC1:NCFOXN%TS3DH", B["police"], want=422)
    c("POST", "/v1/verify", samples["valid"][:-8] + "AAAAAAAA", B["police"], want=422)
    c("POST", "/v1/verify", "", B["police"], want=400)
    c("POST", "/v1/verify", '{"qr": 1}', B["police"], want=400)
    c("POST", "/v1/verify", samples["valid"], {}, want=401)
    c("POST", "/v1/verify", samples["valid"], {"Authorization": "Bearer ecv_" + "0" * 64}, want=401)
    c("POST", "/v1/verify", "RC1:" + "A" * 9000, B["police"], want=413)
    P = {r: dict(h, **{"Content-Type": "image/png"}) for r, h in B.items()}
    # Police need a holder proof: a static code is holder_proof_required (200).
    _, a = c("POST", "/v1/scan-image", samples["png"], P["police"], want=200)
    if isinstance(a, dict) and a.get("reason") != "holder_proof_required":
        bad("verifier: scanned PNG answered %s" % a.get("reason"))
    _, a = c("POST", "/v1/scan-image", samples["png"], P["landlord"], want=200)
    if isinstance(a, dict) and (a.get("reason") != "ok" or a.get("holder", {}).get("state") != "not_proven"):
        bad("verifier: scanned PNG (landlord) answered %s" % a.get("reason"))
    _, ch = c("POST", "/v1/challenges", "", B["landlord"], want=201)
    for r in ("police", "landlord", "agency"):
        _, sc = c("GET", "/v1/scanner", None, B[r], want=200)
        if isinstance(sc, dict) and (sc.get("role") != r or keys[r] in json.dumps(sc)):
            bad("verifier: /v1/scanner for %s answered %s" % (r, sc))
    c("GET", "/v1/scanner?x=1", None, B["police"], want=400)
    c("GET", "/v1/scanner", None, {}, want=401)
    c("POST", "/v1/scan-image?challenge=zz", samples["png"], P["landlord"], want=400)
    cid = ch.get("challenge", "") if isinstance(ch, dict) else ""
    c("POST", "/v1/scan-image?challenge=%s&x=1" % cid, samples["png"], P["landlord"], want=400)
    c("POST", "/v1/verify", json.dumps({"qr": samples["valid"], "challenge": "zz"}),
      dict(B["landlord"], **{"Content-Type": "application/json"}), want=400)
    c("POST", "/v1/scan-image", blank_png(64, 64), P["landlord"], want=422)
    c("POST", "/v1/scan-image", b"GIF89a" + b"\0" * 64, P["landlord"], want=415)
    c("POST", "/v1/scan-image", b"", P["landlord"], want=400)
    c("POST", "/v1/scan-image", blank_png(5000, 1), P["landlord"], want=413)
    c("POST", "/v1/scan-image", samples["png"], {"Content-Type": "image/png"}, want=401)
    # the agency key's bucket (120 a minute by default) runs dry: 429
    for _ in range(40):
        st, _ = c("POST", "/v1/scan-image", blank_png(8, 8), P["agency"])
        if st == 429:
            break
    else:
        bad("verifier: no 429 after 40 photos with one key")
    for _ in range(40):  # a text costs 1: what is left of the bucket goes, then 429
        if c("POST", "/v1/verify", samples["valid"], B["agency"])[0] == 429:
            break
    else:
        bad("verifier: no 429 on /v1/verify after the bucket ran dry")
    c("GET", "/scan", None, {}, want=200)
    c("GET", "/scan/scan.js", None, {}, want=200)
    c("GET", "/scan/nope.js", None, {}, want=404)
    c("GET", "/healthz", None, {}, want=200)
    c("GET", "/healthz?" + "x" * 600, None, {}, want=414)
    c("GET", "/metrics", None, {}, want=200)
    c("GET", "/", None, {}, want=200)
    c("GET", "/web/style.css", None, {}, want=200)
    c("GET", "/web/nope.js", None, {}, want=404)


def main():
    issuer = load("openapi-issuer.yaml")
    verifier = load("openapi-verifier.yaml")
    static_checks(issuer, "issuer/routes.c", "issuer_routes", "api.md")
    static_checks(verifier, "verifier/vd_routes.c", "vd_routes", "verifier.md")
    live()
    print("%d checks, %d failures" % (checked, len(failures)))
    if not failures and not os.environ.get("KEEP"):
        subprocess.run(["rm", "-rf", TMP])
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
