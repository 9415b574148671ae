/*
 * svc_http.c - libmicrohttpd glue shared by both daemons (see svc_http.h).
 *
 * A request's life: MHD_OPTION_URI_LOG_CALLBACK sees the whole target first
 * (the only place the query string is still attached, so the URL cap is
 * judged there) and creates the context; the first access callback matches
 * the route, which fixes the body cap, and refuses early what will be refused
 * anyway (unknown path, wrong method, announced oversize body); body pieces
 * are appended up to the cap; the last callback runs guard, handler and
 * release, then queues the reply; the completion hook writes the access-log
 * line, counts the request and wipes the context.
 *
 * Must never: log bodies, header values, query strings or path parameters;
 * let a handler see a body over its cap; answer CORS on a route not flagged
 * for it; crash on any input.
 */
#include "svc_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "ecred/listen.h"
#include "svc_log.h"

#define SVC_TLS_FILE_MAX (256 * 1024)

/* Status codes counted one by one; anything else is counted as "other". */
static const unsigned svc_codes[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 410,
                                     413, 414, 415, 422, 429, 500, 501, 503};
#define SVC_N_CODES (sizeof svc_codes / sizeof svc_codes[0])

struct svc_server {
    struct MHD_Daemon *mhd;
    svc_config cfg;
    atomic_uint_fast64_t next_id;
    ecred_buf tls_cert;
    ecred_buf tls_key;
    struct sockaddr_storage addr;
    /* counters[route index or n_routes for unmatched][code slot or SVC_N_CODES] */
    atomic_uint_fast64_t *counters;
};

static double svc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- request accessors and replies ---------------------------------------- */

const char *svc_header(const svc_req *r, const char *name)
{
    if (!r->conn_)
        return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_HEADER_KIND, name);
}

const char *svc_query(const svc_req *r, const char *name)
{
    if (!r->conn_)
        return NULL;
    return MHD_lookup_connection_value((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND,
                                       name);
}

static enum MHD_Result svc_count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    (void)key;
    (void)value;
    (*(unsigned *)cls)++;
    return MHD_YES;
}

bool svc_has_query(const svc_req *r)
{
    if (!r->conn_)
        return false;
    unsigned n = 0;
    MHD_get_connection_values((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND,
                              svc_count_arg, &n);
    return n > 0;
}

unsigned svc_query_count(const svc_req *r)
{
    if (!r->conn_)
        return 0;
    unsigned n = 0;
    MHD_get_connection_values((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND,
                              svc_count_arg, &n);
    return n;
}

const char *svc_query_n(const svc_req *r, const char *name, size_t *len)
{
    const char *v = NULL;
    size_t n = 0;
    if (!r->conn_ ||
        MHD_lookup_connection_value_n((struct MHD_Connection *)r->conn_, MHD_GET_ARGUMENT_KIND, name,
                                      strlen(name), &v, &n) != MHD_YES ||
        !v)
        return NULL;
    *len = n;
    return v;
}

static const char svc_oom[] =
    "{\"code\":\"internal\",\"hint\":\"out of memory\",\"hint_zh\":\"内存不足\",\"detail\":null}";

void svc_reply_bytes(svc_req *r, unsigned status, const char *ctype, const void *p, size_t n)
{
    ecred_buf_wipe(&r->reply);
    if (ecred_buf_set(&r->reply, p, n) != ECRED_OK) {
        ecred_buf_wipe(&r->reply);
        if (ecred_buf_set(&r->reply, svc_oom, sizeof svc_oom - 1) != ECRED_OK)
            ecred_buf_free(&r->reply);
        status = 500;
        ctype = "application/json";
        r->error_code = "internal";
    }
    r->status = status;
    r->content_type = ctype;
    r->replied = true;
}

void svc_reply_buf(svc_req *r, unsigned status, const char *ctype, ecred_buf *b)
{
    ecred_buf_wipe(&r->reply);
    r->reply = *b;
    b->ptr = NULL;
    b->len = b->cap = 0;
    r->status = status;
    r->content_type = ctype;
    r->replied = true;
}

void svc_reply_json(svc_req *r, unsigned status, json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (!s) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_INTERNAL], "the reply could not be built");
        return;
    }
    svc_reply_bytes(r, status, "application/json", s, strlen(s));
    ecred_wipe(s, strlen(s));
    free(s);
}

void svc_reply_error(svc_req *r, const svc_apierr *err, const char *detail)
{
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_reserve(&b, 256);
    if (!e)
        e = ecred_buf_append(&b, "{\"code\":", 8);
    if (!e)
        e = svc_json_quote(&b, err->code, strlen(err->code));
    if (!e)
        e = ecred_buf_append(&b, ",\"hint\":", 8);
    if (!e)
        e = svc_json_quote(&b, err->hint_en, strlen(err->hint_en));
    if (!e)
        e = ecred_buf_append(&b, ",\"hint_zh\":", 11);
    if (!e)
        e = svc_json_quote(&b, err->hint_zh, strlen(err->hint_zh));
    if (!e)
        e = ecred_buf_append(&b, ",\"detail\":", 10);
    if (!e)
        e = detail ? svc_json_quote(&b, detail, strlen(detail)) : ecred_buf_append(&b, "null", 4);
    if (!e)
        e = ecred_buf_append(&b, "}", 1);
    if (e) {
        ecred_buf_free(&b);
        svc_reply_bytes(r, 500, "application/json", svc_oom, sizeof svc_oom - 1);
        r->error_code = "internal";
        return;
    }
    svc_reply_buf(r, err->status, "application/json", &b);
    r->error_code = err->code;
    r->www_authenticate = err->status == 401;
}

void svc_add_header(svc_req *r, const char *name, const char *value)
{
    for (size_t i = 0; i < r->n_extra; i++)
        if (strcmp(r->extra_name[i], name) == 0) {
            snprintf(r->extra_value[i], sizeof r->extra_value[i], "%s", value);
            return;
        }
    if (r->n_extra >= SVC_EXTRA_HEADERS)
        return;
    r->extra_name[r->n_extra] = name;
    snprintf(r->extra_value[r->n_extra], sizeof r->extra_value[0], "%s", value);
    r->n_extra++;
}

/* Whether an If-None-Match value names etag: "*", or a comma-separated list
 * of entity tags compared weakly (RFC 9110 section 13.1.2). */
static bool svc_inm_names(const char *inm, const char *etag)
{
    const char *tag = etag[0] == 'W' && etag[1] == '/' ? etag + 2 : etag;
    size_t tn = strlen(tag);
    const char *p = inm;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (p[0] == 'W' && p[1] == '/')
            p += 2;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *e2 = end;
        while (e2 > p && (e2[-1] == ' ' || e2[-1] == '\t'))
            e2--;
        if ((size_t)(e2 - p) == tn && memcmp(p, tag, tn) == 0)
            return true;
        p = end;
    }
    return false;
}

bool svc_etag_match(svc_req *r, const char *etag)
{
    snprintf(r->etag, sizeof r->etag, "%s", etag);
    const char *inm = svc_header(r, "If-None-Match");
    if (inm && svc_inm_names(inm, r->etag)) {
        svc_reply_bytes(r, 304, NULL, "", 0);
        return true;
    }
    return false;
}

bool svc_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

bool svc_json_depth_ok(const uint8_t *p, size_t n, unsigned max)
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

ecred_err svc_json_body(svc_req *r, json_t **out)
{
    const svc_apierr *bad = &svc_layer_errors[SVC_E_MALFORMED_JSON];
    if (r->body_too_large) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_BODY_TOO_LARGE], NULL);
        return ECRED_ERR_TOO_LARGE;
    }
    if (r->body.len == 0) {
        svc_reply_error(r, bad, "empty body");
        return ECRED_ERR_INPUT;
    }
    if (!svc_json_depth_ok(r->body.ptr, r->body.len, SVC_JSON_DEPTH_MAX)) {
        svc_reply_error(r, bad, "depth over 8: nested too deeply");
        return ECRED_ERR_INPUT;
    }
    json_error_t err;
    json_t *j = json_loadb((const char *)r->body.ptr, r->body.len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        char detail[200];
        snprintf(detail, sizeof detail, "line %d column %d: %s", err.line, err.column, err.text);
        svc_reply_error(r, bad, detail);
        return ECRED_ERR_INPUT;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        svc_reply_error(r, bad, "not an object");
        return ECRED_ERR_INPUT;
    }
    *out = j;
    return ECRED_OK;
}

/* ---- routing ----------------------------------------------------------------- */

static bool svc_param_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

bool svc_route_match(const char *pattern, const char *path, char param[SVC_PARAM_MAX + 1],
                     const char **rest)
{
    const char *p = pattern, *u = path;
    *rest = "";
    while (*p) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = 0;
            while (svc_param_char(u[n]))
                n++;
            if (n == 0 || n > SVC_PARAM_MAX)
                return false;
            memcpy(param, u, n);
            param[n] = 0;
            u += n;
            p += 4;
            continue;
        }
        if (strcmp(p, "{*}") == 0) {
            *rest = u;
            return true;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    return *u == 0;
}

/* The route for (method, path) and whether the path is known under another
 * method; allow gets the methods the path takes ("GET, HEAD, POST"). HEAD
 * matches GET routes; OPTIONS matches any CORS route of the path. */
static const svc_route *svc_find(const svc_config *cfg, const char *method, const char *path,
                                 svc_req *r, bool *path_known, char *allow, size_t allow_cap)
{
    const svc_route *hit = NULL;
    bool head = strcmp(method, "HEAD") == 0;
    *path_known = false;
    allow[0] = 0;
    for (size_t i = 0; i < cfg->n_routes; i++) {
        const svc_route *rt = &cfg->routes[i];
        char p[SVC_PARAM_MAX + 1] = "";
        const char *rest = "";
        if (!svc_route_match(rt->pattern, path, p, &rest))
            continue;
        *path_known = true;
        size_t used = strlen(allow);
        snprintf(allow + used, allow_cap - used, "%s%s%s", used ? ", " : "", rt->method,
                 strcmp(rt->method, "GET") == 0 ? ", HEAD" : "");
        if (rt->flags & SVC_CORS) {
            used = strlen(allow);
            if (!strstr(allow, "OPTIONS"))
                snprintf(allow + used, allow_cap - used, ", OPTIONS");
        }
        if (hit)
            continue;
        bool same = strcmp(rt->method, method) == 0 || (head && strcmp(rt->method, "GET") == 0) ||
                    (strcmp(method, "OPTIONS") == 0 && (rt->flags & SVC_CORS));
        if (same) {
            hit = rt;
            memcpy(r->param, p, sizeof p);
            r->rest = rest;
        }
    }
    return hit;
}

/* ---- the wire ------------------------------------------------------------------ */

/* Response memory carries its length in front, so the free callback can wipe
 * it: replies hold personal data (verify answers, applications). */
typedef struct svc_block {
    size_t len;
    uint8_t data[];
} svc_block;

static void svc_block_free(void *p)
{
    if (!p)
        return;
    svc_block *b = (svc_block *)((uint8_t *)p - offsetof(svc_block, data));
    ecred_wipe(b->data, b->len);
    free(b);
}

static size_t svc_code_slot(unsigned status)
{
    for (size_t i = 0; i < SVC_N_CODES; i++)
        if (svc_codes[i] == status)
            return i;
    return SVC_N_CODES;
}

/* Turn the reply in r into a queued MHD response with the common headers. */
static enum MHD_Result svc_queue(svc_server *s, struct MHD_Connection *c, svc_req *r)
{
    (void)s;
    if (!r->replied)
        svc_reply_error(r, &svc_layer_errors[SVC_E_INTERNAL], "the handler gave no reply");
    svc_block *blk = malloc(sizeof *blk + r->reply.len + 1);
    if (!blk)
        return MHD_NO;
    blk->len = r->reply.len;
    if (r->reply.len)
        memcpy(blk->data, r->reply.ptr, r->reply.len);
    ecred_buf_wipe(&r->reply);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(blk->len, blk->data, svc_block_free);
    if (!resp) {
        svc_block_free(blk->data);
        return MHD_NO;
    }
    if (r->status != 304 && r->status != 204)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                r->content_type ? r->content_type : "application/json");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->etag[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, r->etag);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            r->cache_control ? r->cache_control : "no-store");
    if (r->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (r->route && (r->route->flags & SVC_CORS)) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "ETag");
    }
    for (size_t i = 0; i < r->n_extra; i++)
        MHD_add_response_header(resp, r->extra_name[i], r->extra_value[i]);
    enum MHD_Result ret = MHD_queue_response(c, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* URI log callback: the whole target, query included. The context starts
 * here; NULL (no memory) lets svc_access allocate it and judge the path alone. */
static void *svc_uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    svc_server *s = cls;
    svc_req *r = calloc(1, sizeof *r);
    if (r) {
        r->t0 = svc_now();
        r->app = s->cfg.app;
        if (strlen(uri) > SVC_URL_MAX)
            svc_reply_error(r, &svc_layer_errors[SVC_E_URI_TOO_LONG], NULL);
    }
    return r;
}

/* The first callback of a request: match the route, refuse early. Returns
 * true when the request already has its reply. */
static bool svc_begin(svc_server *s, struct MHD_Connection *c, svc_req *r, const char *url,
                      const char *method)
{
    r->id = atomic_fetch_add(&s->next_id, 1) + 1;
    r->conn_ = c;
    r->method = method;
    r->url = url;
    r->app = s->cfg.app;
    if (r->replied)
        return true; /* target over the cap (svc_uri_seen) */
    if (strlen(url) > SVC_URL_MAX) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_URI_TOO_LONG], NULL);
        return true;
    }
    bool known = false;
    char allow[128];
    r->route = svc_find(&s->cfg, method, url, r, &known, allow, sizeof allow);
    if (!r->route) {
        if (known) {
            svc_add_header(r, "Allow", allow);
            svc_reply_error(r, &svc_layer_errors[SVC_E_METHOD_NOT_ALLOWED], NULL);
        } else {
            svc_reply_error(r, &svc_layer_errors[SVC_E_NOT_FOUND], NULL);
        }
        return true;
    }
    if (strcmp(method, "OPTIONS") == 0) {
        /* CORS preflight: GET/HEAD only, with the one header a cache-aware
         * browser verifier sends; never credentials. */
        svc_add_header(r, "Access-Control-Allow-Methods", "GET, HEAD");
        svc_add_header(r, "Access-Control-Allow-Headers", "If-None-Match");
        svc_add_header(r, "Access-Control-Max-Age", "86400");
        svc_add_header(r, "Allow", allow);
        svc_reply_bytes(r, 204, NULL, "", 0);
        return true;
    }
    size_t cap = r->route->body_max ? r->route->body_max : s->cfg.body_max;
    const char *clh = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    uint64_t cl;
    if (clh && svc_parse_u64(clh, UINT64_MAX, &cl) && cl > cap) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_BODY_TOO_LARGE], NULL);
        return true;
    }
    return false;
}

/* Guard, handler, release. */
static void svc_run(const svc_config *cfg, svc_req *r)
{
    if (r->body_too_large) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_BODY_TOO_LARGE], NULL);
        return;
    }
    bool go = cfg->guard ? cfg->guard(r) : true;
    if (go)
        r->route->fn(r);
    if (cfg->release)
        cfg->release(r);
}

static enum MHD_Result svc_access(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    svc_server *s = cls;
    svc_req *r = *con_cls;
    if (!r || !r->conn_) {
        if (!r) {
            r = calloc(1, sizeof *r);
            if (!r)
                return MHD_NO;
            r->t0 = svc_now();
        }
        *con_cls = r;
        if (svc_begin(s, c, r, url, method))
            return svc_queue(s, c, r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t cap = r->route && r->route->body_max ? r->route->body_max : s->cfg.body_max;
        if (!r->replied && !r->body_too_large) {
            if (*upload_data_size > cap - r->body.len ||
                ecred_buf_append(&r->body, upload_data, *upload_data_size) != ECRED_OK) {
                r->body_too_large = true;
                ecred_buf_wipe(&r->body);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->replied)
        return MHD_YES; /* queued at the first call */
    svc_run(&s->cfg, r);
    return svc_queue(s, c, r);
}

/* Append ,"key":value-as-JSON-string to b. */
static ecred_err svc_kv(ecred_buf *b, const char *key, const char *value)
{
    ecred_err e = ecred_buf_append(b, ",\"", 2);
    if (!e)
        e = ecred_buf_append(b, key, strlen(key));
    if (!e)
        e = ecred_buf_append(b, "\":", 2);
    if (!e)
        e = svc_json_quote(b, value, strlen(value));
    return e;
}

static void svc_access_log(const svc_server *s, const svc_req *r, unsigned status,
                           enum MHD_RequestTerminationCode toe)
{
    char ts[32], num[96];
    svc_log_timestamp(ts);
    const char *level = status >= 500 || status == 0 ? "error" : status >= 400 ? "warning" : "info";
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_reserve(&b, 256);
    if (!e)
        e = ecred_buf_append(&b, "{\"ts\":\"", 7);
    if (!e)
        e = ecred_buf_append(&b, ts, strlen(ts));
    if (!e)
        e = ecred_buf_append(&b, "\"", 1);
    if (!e)
        e = svc_kv(&b, "level", level);
    if (!e)
        e = svc_kv(&b, "daemon", s->cfg.name);
    if (!e)
        e = svc_kv(&b, "msg", "request");
    if (!e) {
        snprintf(num, sizeof num, ",\"req\":%llu", (unsigned long long)r->id);
        e = ecred_buf_append(&b, num, strlen(num));
    }
    /* A method is a token from the client: quoted (escaped), and cut short. */
    if (!e)
        e = svc_kv(&b, "method", r->method && strlen(r->method) <= 16 ? r->method : "?");
    if (!e)
        e = svc_kv(&b, "route", r->route ? r->route->pattern : "unmatched");
    if (!e) {
        snprintf(num, sizeof num, ",\"status\":%u,\"ms\":%.3f", status, (svc_now() - r->t0) * 1000.0);
        e = ecred_buf_append(&b, num, strlen(num));
    }
    if (!e && r->error_code)
        e = svc_kv(&b, "code", r->error_code);
    if (!e && r->who[0])
        e = svc_kv(&b, "who", r->who);
    if (!e && r->outcome)
        e = svc_kv(&b, "outcome", r->outcome);
    if (!e && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK) {
        snprintf(num, sizeof num, ",\"terminated\":%d", (int)toe);
        e = ecred_buf_append(&b, num, strlen(num));
    }
    if (!e)
        e = ecred_buf_append(&b, "}", 1);
    if (e) {
        ecred_buf_free(&b);
        return;
    }
    svc_log_emit(&b);
}

static void svc_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)c;
    svc_server *s = cls;
    svc_req *r = *con_cls;
    if (!r)
        return;
    unsigned st = r->replied ? r->status : 0;
    size_t ri = r->route ? (size_t)(r->route - s->cfg.routes) : s->cfg.n_routes;
    atomic_fetch_add(&s->counters[ri * (SVC_N_CODES + 1) + svc_code_slot(st)], 1);
    svc_access_log(s, r, st, toe);
    ecred_buf_wipe(&r->body);
    ecred_buf_wipe(&r->reply);
    free(r);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages can quote the request target or a header:
 * keep only the text before the first quote, slash or question mark (its
 * fixed wording), and let svc_log escape that. */
__attribute__((format(printf, 2, 0))) static void svc_mhd_log(void *cls, const char *fmt,
                                                             va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strcspn(msg, "/?'`\"\r\n");
    msg[n] = 0;
    while (n && (msg[n - 1] == ' ' || msg[n - 1] == ':'))
        msg[--n] = 0;
    svc_log(SVC_WARNING, "libmicrohttpd", "detail", msg);
}

ecred_err svc_start(const svc_config *cfg, svc_server **out, char *errmsg, size_t errcap)
{
    ecred_err e = ECRED_ERR_INPUT;
    svc_server *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    s->cfg = *cfg;
    if (!s->cfg.body_max)
        s->cfg.body_max = SVC_BODY_DEFAULT;
    atomic_init(&s->next_id, 0);
    s->counters = calloc((cfg->n_routes + 1) * (SVC_N_CODES + 1), sizeof *s->counters);
    if (!s->counters) {
        e = ECRED_ERR_NOMEM;
        goto out;
    }

    bool v6 = false;
    if (ecred_listen_parse(cfg->listen, &s->addr, &v6) != ECRED_OK) {
        snprintf(errmsg, errcap,
                 "--listen must be IPv4:PORT or [IPv6]:PORT with a numeric address (got '%s')",
                 cfg->listen);
        goto out;
    }
    /* poll(), not select(): the connection limit lets descriptors pass
     * select()'s FD_SETSIZE. Not epoll: libmicrohttpd 0.9.75's epoll mode
     * sometimes misses a client's half-close mid-headers and holds the socket
     * until the timeout. */
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
        if ((e = ecred_read_file(cfg->tls_cert_path, SVC_TLS_FILE_MAX, &s->tls_cert)) != ECRED_OK ||
            (e = ecred_buf_terminate(&s->tls_cert)) != ECRED_OK) {
            snprintf(errmsg, errcap, "cannot read --tls-cert %s", cfg->tls_cert_path);
            goto out;
        }
        if ((e = ecred_read_file(cfg->tls_key_path, SVC_TLS_FILE_MAX, &s->tls_key)) != ECRED_OK ||
            (e = ecred_buf_terminate(&s->tls_key)) != ECRED_OK) {
            snprintf(errmsg, errcap, "cannot read --tls-key %s", cfg->tls_key_path);
            goto out;
        }
        flags |= MHD_USE_TLS;
    }
    unsigned threads = cfg->threads ? cfg->threads : 4;
    /* MHD splits the connection limit evenly among the pool's threads and a
     * thread at its share closes whatever it accepts: 512 was 32 per thread
     * at 16 threads, and 200 idle sockets locked real clients out until the
     * timeout (tests/cli/test_hostile_clients.sh). The memory limit is
     * reserved, not touched: idle connections cost a few pages each. */
    unsigned conn_limit = cfg->conn_limit ? cfg->conn_limit : 1024;
    unsigned timeout = cfg->timeout_s ? cfg->timeout_s : 30;
    size_t conn_memory = cfg->conn_memory ? cfg->conn_memory : (size_t)64 * 1024;
    struct MHD_OptionItem opts[16];
    size_t n = 0;
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)timeout, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, (intptr_t)conn_limit, NULL};
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)conn_memory, NULL};
    if (cfg->per_ip_limit)
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            (intptr_t)cfg->per_ip_limit, NULL};
    if (tls) {
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert.ptr};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key.ptr};
    }
    opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    s->mhd = MHD_start_daemon(flags, 0 /* MHD_OPTION_SOCK_ADDR decides */, NULL, NULL, svc_access, s,
                              MHD_OPTION_EXTERNAL_LOGGER, svc_mhd_log, s, MHD_OPTION_SOCK_ADDR,
                              &s->addr, MHD_OPTION_NOTIFY_COMPLETED, svc_completed, s,
                              MHD_OPTION_URI_LOG_CALLBACK, svc_uri_seen, s, MHD_OPTION_ARRAY, opts,
                              MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(errmsg, errcap, "cannot listen on %s: %s", cfg->listen,
                 errno ? strerror(errno) : "libmicrohttpd refused to start (TLS files?)");
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
        free(s->counters);
        free(s);
    }
    return e;
}

void svc_stop(svc_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    ecred_buf_free(&s->tls_cert);
    ecred_buf_wipe(&s->tls_key);
    free(s->counters);
    free(s);
}

ecred_err svc_metrics_write(svc_server *s, const char *prefix, ecred_buf *out)
{
    char line[512];
    int n = snprintf(line, sizeof line,
                     "# HELP %s_requests_total HTTP requests by route and status.\n"
                     "# TYPE %s_requests_total counter\n",
                     prefix, prefix);
    ecred_err e = ecred_buf_append(out, line, (size_t)n);
    for (size_t ri = 0; !e && ri <= s->cfg.n_routes; ri++) {
        const char *name = "unmatched";
        if (ri < s->cfg.n_routes)
            name = s->cfg.routes[ri].metric ? s->cfg.routes[ri].metric : s->cfg.routes[ri].pattern;
        for (size_t ci = 0; !e && ci <= SVC_N_CODES; ci++) {
            uint64_t v = atomic_load(&s->counters[ri * (SVC_N_CODES + 1) + ci]);
            if (!v)
                continue;
            char code[8];
            if (ci == SVC_N_CODES)
                snprintf(code, sizeof code, "other");
            else
                snprintf(code, sizeof code, "%u", svc_codes[ci]);
            n = snprintf(line, sizeof line, "%s_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
                         prefix, name, code, (unsigned long long)v);
            if (n > 0 && (size_t)n < sizeof line)
                e = ecred_buf_append(out, line, (size_t)n);
        }
    }
    return e;
}

void svc_dispatch_for_test(const svc_config *cfg, svc_req *r)
{
    bool known = false;
    char allow[128];
    r->app = cfg->app;
    r->route = svc_find(cfg, r->method, r->url, r, &known, allow, sizeof allow);
    if (!r->route) {
        if (known) {
            svc_add_header(r, "Allow", allow);
            svc_reply_error(r, &svc_layer_errors[SVC_E_METHOD_NOT_ALLOWED], NULL);
        } else {
            svc_reply_error(r, &svc_layer_errors[SVC_E_NOT_FOUND], NULL);
        }
        return;
    }
    svc_run(cfg, r);
}
