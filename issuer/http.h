/*
 * http.h - the issuer's HTTP layer over libmicrohttpd.
 *
 * http.c owns everything about the wire: it caps URLs and bodies, collects the
 * body into a per-request context, calls one dispatch function when the
 * request is complete, turns the reply the handler left in the context into a
 * response, and writes one JSON log line per request (method, route pattern,
 * status, duration; never a body, a header value, a path id or a query).
 * Handlers never touch libmicrohttpd: they read http_req and reply through the
 * http_reply_* helpers, which is also what makes them testable.
 */
#ifndef ECRED_ISSUER_HTTP_H
#define ECRED_ISSUER_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ecred/buf.h"

#define HTTP_BODY_MAX ((size_t)64 * 1024)
#define HTTP_URL_MAX 512
#define HTTP_JSON_DEPTH_MAX 8
#define HTTP_PARAM_MAX 64

typedef struct http_req {
    /* Set by http.c. */
    uint64_t id;
    const char *method;
    const char *url;
    ecred_buf body;
    bool body_too_large;
    void *conn_;                 /* struct MHD_Connection *, private to http.c */
    double t0;
    /* Set by the router. */
    const char *route;           /* the matched pattern, for logs */
    char param[HTTP_PARAM_MAX + 1];
    unsigned role;               /* role bit of the bearer token; 0 when none */
    char actor[24];              /* "token:xxxxxxxx" or "applicant" */
    /* The reply. */
    bool replied;
    unsigned status;
    const char *content_type;
    ecred_buf reply;
    char etag[72];
    const char *cache_control;
    const char *error_code;      /* logged: a code, never personal data */
    bool www_authenticate;
} http_req;

/* A request header or query argument; NULL when absent. */
const char *http_header(const http_req *r, const char *name);
const char *http_query(const http_req *r, const char *name);

/* Reply with a JSON document; takes ownership of obj (NULL means 500). */
void http_reply_json(http_req *r, unsigned status, json_t *obj);
/* Reply {"code", "hint", "detail"}; detail may be NULL. */
void http_reply_error(http_req *r, unsigned status, const char *code, const char *hint,
                      const char *detail);
/* Reply with raw bytes of a content type. */
void http_reply_bytes(http_req *r, unsigned status, const char *ctype, const void *p, size_t n);

/* Parse the request body as one JSON object under the depth cap, refusing
 * duplicate keys. On failure it has already replied (400/413) and returns the
 * error; on success *out is a new reference. */
ecred_err http_json_body(http_req *r, json_t **out);
/* Whether the JSON text nests arrays/objects no deeper than max (strings are
 * skipped correctly, so brackets inside them do not count). */
bool http_json_depth_ok(const uint8_t *p, size_t n, unsigned max);

/* Write one JSON log line to stderr: {"ts", "level", "msg"[, key: value]}. */
void http_log(const char *level, const char *msg, const char *key, const char *value);

typedef void (*http_dispatch_fn)(void *app, http_req *r);

typedef struct http_config {
    const char *listen;        /* "127.0.0.1:8080" or "[::1]:8080" */
    const char *tls_cert_path; /* both or neither */
    const char *tls_key_path;
    unsigned threads;
} http_config;

typedef struct http_server http_server;

/* Start serving; errmsg gets a reason on failure. */
ecred_err http_start(const http_config *cfg, http_dispatch_fn fn, void *app, http_server **out,
                     char *errmsg, size_t errcap);
/* Stop accepting, finish in-flight requests, release everything. */
void http_stop(http_server *s);

#endif
