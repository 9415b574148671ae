/*
 * http.c - libmicrohttpd glue for the issuer (see http.h).
 *
 * The per-request context is created on the first callback of a connection's
 * request, fed the body in pieces (dropped once over the cap), dispatched on
 * the final callback and freed in the MHD_OPTION_NOTIFY_COMPLETED hook, which
 * also writes the request's log line with its final status.
 *
 * Must never: log bodies, header values, query strings or path parameters
 * (they carry personal data and secrets); let a handler see a body over the
 * cap; crash on any input.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "ecred/listen.h"

#define HTTP_TLS_FILE_MAX (256 * 1024)

struct http_server {
    struct MHD_Daemon *mhd;
    http_dispatch_fn fn;
    void *app;
    atomic_uint_fast64_t next_id;
    ecred_buf tls_cert;
    ecred_buf tls_key;
    struct sockaddr_storage addr;
};

/* Seconds since an arbitrary start, for durations. */
static double http_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* UTC timestamp "YYYY-MM-DDTHH:MM:SSZ". */
static void http_timestamp(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Emit one finished line with a single write so concurrent lines never interleave. */
static void http_log_emit(json_t *o)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s) {
        size_t n = strlen(s);
        char *line = malloc(n + 2);
        if (line) {
            memcpy(line, s, n);
            line[n] = '\n';
            fwrite(line, 1, n + 1, stderr);
            free(line);
        }
        free(s);
    }
    json_decref(o);
}

void http_log(const char *level, const char *msg, const char *key, const char *value)
{
    char ts[32];
    http_timestamp(ts);
    json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "level", level, "msg", msg);
    if (!o)
        return;
    if (key && value)
        json_object_set_new(o, key, json_string(value));
    http_log_emit(o);
}

const char *http_header(const http_req *r, const char *name)
{
    if (!r->conn_)
        return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_HEADER_KIND, name);
}

const char *http_query(const http_req *r, const char *name)
{
    if (!r->conn_)
        return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND,
                                       name);
}

void http_reply_bytes(http_req *r, unsigned status, const char *ctype, const void *p, size_t n)
{
    ecred_buf_free(&r->reply);
    if (ecred_buf_set(&r->reply, p, n) != ECRED_OK) {
        static const char oom[] = "{\"code\":\"internal\",\"hint\":\"out of memory\",\"detail\":null}";
        ecred_buf_free(&r->reply);
        ecred_buf_set(&r->reply, oom, sizeof oom - 1);
        status = 500;
        ctype = "application/json";
    }
    r->status = status;
    r->content_type = ctype;
    r->replied = true;
}

void http_reply_json(http_req *r, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    if (!s) {
        http_reply_error(r, 500, "internal", "could not build the reply", NULL);
        return;
    }
    http_reply_bytes(r, status, "application/json", s, strlen(s));
    free(s);
}

void http_reply_error(http_req *r, unsigned status, const char *code, const char *hint,
                      const char *detail)
{
    json_t *o = json_pack("{s:s, s:s, s:o}", "code", code, "hint", hint, "detail",
                          detail ? json_string(detail) : json_null());
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (s) {
        http_reply_bytes(r, status, "application/json", s, strlen(s));
        free(s);
    } else {
        static const char oom[] = "{\"code\":\"internal\",\"hint\":\"out of memory\",\"detail\":null}";
        http_reply_bytes(r, 500, "application/json", oom, sizeof oom - 1);
    }
    r->error_code = code;
    if (status == 401)
        r->www_authenticate = true;
}

bool http_json_depth_ok(const uint8_t *p, size_t n, unsigned max)
{
    unsigned depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (c == '\\')
                escaped = true;
            else if (c == '"')
                in_string = false;
            continue;
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return false;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return true;
}

ecred_err http_json_body(http_req *r, json_t **out)
{
    if (r->body_too_large) {
        http_reply_error(r, 413, "body_too_large", "request body over 64 KiB", NULL);
        return ECRED_ERR_TOO_LARGE;
    }
    if (r->body.len == 0) {
        http_reply_error(r, 400, "malformed_json", "a JSON object body is required", "empty body");
        return ECRED_ERR_INPUT;
    }
    if (!http_json_depth_ok(r->body.ptr, r->body.len, HTTP_JSON_DEPTH_MAX)) {
        http_reply_error(r, 400, "malformed_json", "JSON nested too deeply", "depth over 8");
        return ECRED_ERR_INPUT;
    }
    json_error_t err;
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len,
                           JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        char detail[200];
        snprintf(detail, sizeof detail, "line %d column %d: %s", err.line, err.column, err.text);
        http_reply_error(r, 400, "malformed_json", "the body is not valid JSON", detail);
        return ECRED_ERR_INPUT;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        http_reply_error(r, 400, "malformed_json", "the body must be a JSON object", NULL);
        return ECRED_ERR_INPUT;
    }
    *out = j;
    return ECRED_OK;
}

/* Turn the reply in r into a queued MHD response. */
static enum MHD_Result http_queue(struct MHD_Connection *c, http_req *r)
{
    if (!r->replied)
        http_reply_error(r, 500, "internal", "the handler gave no reply", NULL);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->reply.len, r->reply.ptr ? r->reply.ptr : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->cache_control ? r->cache_control : "no-store");
    if (r->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Parse a Content-Length value strictly (digits only, no overflow). */
static bool http_parse_size(const char *s, size_t *out)
{
    size_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

/* MHD_OPTION_URI_LOG_CALLBACK: the only place that sees the whole request
 * target. The access handler's url has the query string cut off, so the
 * 512-byte cap (path and query together, api.md) is judged here; the
 * request context starts here and its return value becomes *con_cls. NULL
 * (no memory) lets http_access allocate it and judge the path alone. */
static void *http_uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls;
    (void)c;
    http_req *r = calloc(1, sizeof *r);
    if (r)
        r->t0 = http_now();
    if (r && strlen(uri) > HTTP_URL_MAX)
        http_reply_error(r, 414, "uri_too_long", "URL over 512 bytes", NULL);
    return r;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    http_server *s = cls;
    http_req *r = *con_cls;
    if (!r || !r->conn_) {
        if (!r) {
            r = calloc(1, sizeof *r);
            if (!r)
                return MHD_NO;
        }
        r->id = atomic_fetch_add(&s->next_id, 1) + 1;
        r->conn_ = c;
        r->method = method;
        r->url = url;
        if (r->t0 == 0)
            r->t0 = http_now();
        *con_cls = r;
        /* Refuse early what we will refuse anyway: long URLs, announced big bodies. */
        if (r->replied)
            return http_queue(c, r); /* the target was over the cap (http_uri_seen) */
        if (strlen(url) > HTTP_URL_MAX) {
            http_reply_error(r, 414, "uri_too_long", "URL over 512 bytes", NULL);
            return http_queue(c, r);
        }
        size_t cl;
        const char *clh = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                      MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (clh && http_parse_size(clh, &cl) && cl > HTTP_BODY_MAX) {
            http_reply_error(r, 413, "body_too_large", "request body over 64 KiB", NULL);
            return http_queue(c, r);
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->replied && !r->body_too_large) {
            if (*upload_data_size > HTTP_BODY_MAX - r->body.len) {
                r->body_too_large = true;
                ecred_buf_free(&r->body);
            } else if (ecred_buf_append(&r->body, upload_data, *upload_data_size) != ECRED_OK) {
                r->body_too_large = true;
                ecred_buf_free(&r->body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->replied)
        return MHD_YES; /* already queued at the first call */
    if (r->body_too_large)
        http_reply_error(r, 413, "body_too_large", "request body over 64 KiB", NULL);
    else
        s->fn(s->app, r);
    return http_queue(c, r);
}

static void http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    http_req *r = *con_cls;
    if (!r)
        return;
    char ts[32];
    http_timestamp(ts);
    unsigned st = r->replied ? r->status : 0;
    const char *level = st >= 500 || st == 0 ? "error" : st >= 400 ? "warning" : "info";
    json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:f}", "ts", ts, "level", level, "req",
                          (json_int_t)r->id, "method", r->method ? r->method : "",
                          "route", r->route ? r->route : "unmatched", "status", (int)st, "ms",
                          (http_now() - r->t0) * 1000.0);
    if (o) {
        if (r->error_code)
            json_object_set_new(o, "code", json_string(r->error_code));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(o, "terminated", json_integer((json_int_t)toe));
        http_log_emit(o);
    }
    ecred_buf_free(&r->body);
    ecred_buf_free(&r->reply);
    free(r);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt,
                                                              va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = 0;
    http_log("warning", "libmicrohttpd", "detail", msg);
}

ecred_err http_start(const http_config *cfg, http_dispatch_fn fn, void *app, http_server **out,
                     char *errmsg, size_t errcap)
{
    ecred_err e = ECRED_ERR_INPUT;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    s->fn = fn;
    s->app = app;
    atomic_init(&s->next_id, 0);

    bool v6 = false;
    if (ecred_listen_parse(cfg->listen, &s->addr, &v6) != ECRED_OK) {
        snprintf(errmsg, errcap, "--listen must be IPv4:PORT or [IPv6]:PORT with a numeric address (got '%s')",
                 cfg->listen);
        goto out;
    }
    /* poll(), not select(): the connection limit below lets descriptors
     * pass select()'s FD_SETSIZE. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    bool tls = cfg->tls_cert_path != NULL;
    if (tls != (cfg->tls_key_path != NULL)) {
        snprintf(errmsg, errcap, "--tls-cert and --tls-key go together");
        goto out;
    }
    if (tls) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            snprintf(errmsg, errcap, "this libmicrohttpd has no TLS support");
            goto out;
        }
        if ((e = ecred_read_file(cfg->tls_cert_path, HTTP_TLS_FILE_MAX, &s->tls_cert)) != ECRED_OK ||
            (e = ecred_buf_terminate(&s->tls_cert)) != ECRED_OK) {
            snprintf(errmsg, errcap, "cannot read --tls-cert %s", cfg->tls_cert_path);
            goto out;
        }
        if ((e = ecred_read_file(cfg->tls_key_path, HTTP_TLS_FILE_MAX, &s->tls_key)) != ECRED_OK ||
            (e = ecred_buf_terminate(&s->tls_key)) != ECRED_OK) {
            snprintf(errmsg, errcap, "cannot read --tls-key %s", cfg->tls_key_path);
            goto out;
        }
        flags |= MHD_USE_TLS;
    }
    unsigned threads = cfg->threads ? cfg->threads : 4;
    /* MHD splits the connection limit evenly among the pool's threads and a
     * thread at its share closes whatever it accepts: 512 was 32 per thread
     * at --threads 16, and 200 idle sockets locked real clients out until the
     * 30 s timeout (tests/cli/test_hostile_clients.sh). The memory limit is
     * reserved, not touched: idle connections cost a few pages each. */
    const unsigned conn_limit = 1024;
    if (tls)
        s->mhd = MHD_start_daemon(
            flags, 0 /* MHD_OPTION_SOCK_ADDR decides */, NULL, NULL, http_access, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
            MHD_OPTION_SOCK_ADDR, &s->addr,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_LIMIT, conn_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
            MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, s, MHD_OPTION_HTTPS_MEM_CERT,
            (const char *)s->tls_cert.ptr, MHD_OPTION_HTTPS_MEM_KEY, (const char *)s->tls_key.ptr,
            MHD_OPTION_END);
    else
        s->mhd = MHD_start_daemon(
            flags, 0 /* MHD_OPTION_SOCK_ADDR decides */, NULL, NULL, http_access, s, MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, s,
            MHD_OPTION_SOCK_ADDR, &s->addr,
            MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
            MHD_OPTION_CONNECTION_LIMIT, conn_limit, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
            MHD_OPTION_URI_LOG_CALLBACK, http_uri_seen, s, MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(errmsg, errcap, "cannot listen on %s: %s", cfg->listen,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        e = ECRED_ERR_IO;
        goto out;
    }
    *out = s;
    s = NULL;
    e = ECRED_OK;
out:
    if (s) {
        ecred_buf_free(&s->tls_cert);
        ecred_buf_wipe(&s->tls_key);
        free(s);
    }
    return e;
}

void http_stop(http_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    ecred_buf_free(&s->tls_cert);
    ecred_buf_wipe(&s->tls_key);
    free(s);
}
