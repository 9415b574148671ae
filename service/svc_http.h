/*
 * svc_http.h - the one HTTP layer both daemons stand on (libmicrohttpd).
 *
 * A daemon describes itself with a table of routes and a few hooks; this layer
 * owns everything about the wire:
 *
 * - matching: a declarative table of {method, pattern, handler, flags};
 *   "{id}" in a pattern takes one path segment of [A-Za-z0-9._-]{1,64},
 *   "{*}" at the end takes the rest of the path (static assets). HEAD is
 *   answered for every GET route (RFC 9110 section 9.3.2: same headers, no
 *   body); a known path with another method is 405 with an Allow header;
 *   OPTIONS on a CORS route is a preflight answer.
 * - caps, before anything is read or allocated: the request target (path and
 *   query) at SVC_URL_MAX, headers through the connection memory limit, bodies
 *   at the route's cap (an announced Content-Length over it is refused before
 *   the body is read, a chunked one as soon as it passes), Content-Length
 *   parsed strictly.
 * - one request context (svc_req), created when the request line arrives and
 *   released with its body wiped when the request completes;
 * - replies built by helpers, every error from a table row (svc_err.h);
 * - common headers: Content-Type, X-Content-Type-Options: nosniff,
 *   Cache-Control (no-store unless the handler says otherwise), ETag and
 *   If-None-Match -> 304, CORS (Access-Control-Allow-Origin: *, never
 *   credentials) only on routes flagged SVC_CORS;
 * - TLS from a certificate and key file (both daemons, --tls-cert/--tls-key);
 * - one access-log line per request, the same schema in both daemons:
 *   {"ts","level","daemon","msg":"request","req","method","route","status",
 *    "ms"[,"code"][,"who"][,"outcome"][,"terminated"]} where route is the
 *   pattern, never the path, and nothing from a body, a query, a header value
 *   or a path parameter is written;
 * - request counters by route and status for /metrics.
 *
 * Handlers never touch libmicrohttpd: they read svc_req and reply through the
 * svc_reply_* helpers, which is also what makes them testable without a socket.
 *
 * Must never: run a handler for a body over its cap, log personal data or a
 * secret, answer CORS on a route not flagged for it, crash on any input.
 */
#ifndef ECRED_SVC_HTTP_H
#define ECRED_SVC_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ecred/buf.h"
#include "svc_err.h"

#define SVC_URL_MAX 512             /* request target, path and query together */
#define SVC_PARAM_MAX 64            /* one {id} path parameter */
#define SVC_BODY_DEFAULT ((size_t)64 * 1024)
#define SVC_JSON_DEPTH_MAX 8
#define SVC_EXTRA_HEADERS 4
/* Connections one client address may hold: a browser opens at most six per
 * origin, an integrator's pool a few dozen; 1100 idle sockets from one
 * address used to starve everyone else (issue 9). */
#define SVC_PER_IP_DEFAULT 64u

typedef struct svc_req svc_req;
typedef struct svc_route svc_route;

/* One route's handler. It must reply (a handler that does not is a 500). */
typedef void (*svc_handler)(svc_req *r);

enum {
    SVC_CORS = 1u << 0,      /* public, cacheable: Access-Control-Allow-Origin: * */
    SVC_SENSITIVE = 1u << 1, /* body wiped on release (it carries personal data) */
};

struct svc_route {
    const char *method;   /* "GET" (HEAD follows), "POST", ... */
    const char *pattern;  /* "/v1/applications/{id}", "/app/{*}" */
    svc_handler fn;
    unsigned flags;       /* SVC_* */
    unsigned auth;        /* the daemon's own meaning (roles); 0 = public */
    size_t body_max;      /* 0: the server's default cap */
    const char *metric;   /* label in request counters; NULL: the pattern */
};

struct svc_req {
    /* Set by the layer. */
    uint64_t id;
    const char *method;          /* as sent (HEAD, GET, ...) */
    const char *url;             /* the path, query cut off */
    const svc_route *route;      /* the matched route */
    char param[SVC_PARAM_MAX + 1];
    const char *rest;            /* what "{*}" matched ("" when none); points into url */
    ecred_buf body;
    void *app;                   /* the daemon's state (svc_config.app) */
    void *conn_;                 /* struct MHD_Connection *, private to the layer */
    double t0;
    bool body_too_large;
    /* Set by the daemon's guard or handler, logged (never personal data). */
    void *scope;                 /* e.g. a borrowed registry connection */
    unsigned role;               /* the caller's role bits; 0 when none */
    char who[24];                /* "token:1a2b3c4d", "key:1a2b3c4d", "applicant" */
    const char *outcome;         /* e.g. the verify reason */
    /* The reply. */
    bool replied;
    unsigned status;
    const char *content_type;
    ecred_buf reply;
    char etag[72];
    const char *cache_control;
    const char *error_code;
    const char *extra_name[SVC_EXTRA_HEADERS];
    char extra_value[SVC_EXTRA_HEADERS][512];
    size_t n_extra;
    bool www_authenticate;
};

/* A request header or query argument; NULL when absent. */
const char *svc_header(const svc_req *r, const char *name);
const char *svc_query(const svc_req *r, const char *name);
/* Whether the request carries any query argument at all. */
bool svc_has_query(const svc_req *r);
/* How many query arguments the request carries (a name given twice counts
 * twice), for routes that refuse any they do not know. */
unsigned svc_query_count(const svc_req *r);
/* A query argument as decoded, with its length in *len (it may hold a NUL
 * decoded from %00, so strlen may be shorter); NULL when absent or given
 * without "=". */
const char *svc_query_n(const svc_req *r, const char *name, size_t *len);

/* Reply with bytes of a content type (copied). */
void svc_reply_bytes(svc_req *r, unsigned status, const char *ctype, const void *p, size_t n);
/* Reply with a buffer, taking it over (b is left empty). */
void svc_reply_buf(svc_req *r, unsigned status, const char *ctype, ecred_buf *b);
/* Reply with a JSON document; takes ownership of obj (NULL means 500). */
void svc_reply_json(svc_req *r, unsigned status, json_t *obj);
/* Reply with a table row: {code, hint, hint_zh, detail}; detail says why
 * (may be NULL). 401 adds WWW-Authenticate. */
void svc_reply_error(svc_req *r, const svc_apierr *err, const char *detail);
/* Add a response header (Location, Retry-After, ...); at most
 * SVC_EXTRA_HEADERS, value cut at 511 bytes. name must be a literal. */
void svc_add_header(svc_req *r, const char *name, const char *value);
/* Set the ETag (quoted by the caller, e.g. "\"abc\"") and answer 304 instead
 * when If-None-Match names it. Returns true when it replied 304. */
bool svc_etag_match(svc_req *r, const char *etag);

/* Parse the body as one JSON object under the depth cap, refusing duplicate
 * keys. On failure it has replied (400/413) and returns the error; on
 * success *out is a new reference. */
ecred_err svc_json_body(svc_req *r, json_t **out);
/* Whether JSON text nests no deeper than max (brackets inside strings do not count). */
bool svc_json_depth_ok(const uint8_t *p, size_t n, unsigned max);

/* Strict decimal: digits only, no sign, no spaces, no leading '+', value <= max. */
bool svc_parse_u64(const char *s, uint64_t max, uint64_t *out);

/* Match a path against a pattern ("{id}", trailing "{*}"); on a match the
 * parameter goes to param and *rest to what "{*}" took. Exposed for tests. */
bool svc_route_match(const char *pattern, const char *path, char param[SVC_PARAM_MAX + 1],
                     const char **rest);

/* Runs after matching and before the handler: authenticate, borrow
 * resources into r->scope. Returns false when it has replied (401, 403,
 * 503) and the handler must not run. */
typedef bool (*svc_guard_fn)(svc_req *r);
/* Runs after the handler (or a refusing guard): give back r->scope. */
typedef void (*svc_release_fn)(svc_req *r);

typedef struct svc_config {
    const char *name;           /* "issuer" | "verifier": metric prefix, logs */
    const char *listen;         /* "127.0.0.1:8080" or "[::1]:8080" */
    const char *tls_cert_path;  /* both or neither */
    const char *tls_key_path;
    unsigned threads;           /* 0: 4 */
    size_t body_max;            /* 0: SVC_BODY_DEFAULT */
    unsigned conn_limit;        /* 0: 1024 */
    unsigned per_ip_limit;      /* connections per client address; 0: none (behind a balancer
                                 * every client has the balancer's address: set it there) */
    unsigned timeout_s;         /* idle connection timeout; 0: 30 */
    size_t conn_memory;         /* per connection, caps headers; 0: 64 KiB */
    const svc_route *routes;
    size_t n_routes;
    svc_guard_fn guard;         /* may be NULL */
    svc_release_fn release;     /* may be NULL */
    void *app;
} svc_config;

typedef struct svc_server svc_server;

/* Start serving; errmsg gets a reason for a person on failure. */
ecred_err svc_start(const svc_config *cfg, svc_server **out, char *errmsg, size_t errcap);
/* Stop accepting, finish in-flight requests, release everything. */
void svc_stop(svc_server *s);

/* Append Prometheus text for the request counters:
 * PREFIX_requests_total{route="...",code="200"} N (only non-zero cells). */
ecred_err svc_metrics_write(svc_server *s, const char *prefix, ecred_buf *out);

/* Run a request through routing, guard and handler without a socket (tests):
 * r must have method, url, body and app set; headers are absent. */
void svc_dispatch_for_test(const svc_config *cfg, svc_req *r);

#endif
