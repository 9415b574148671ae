/*
 * verifierd.c - ecred-verifierd: the verify API for agencies, police and
 * landlords' systems (spec/verifier.md section 5).
 *
 *   ecred-verifierd --cache DIR --issuer URL --listen IPv4:PORT|[IPv6]:PORT
 *                   [--root ROOT.pem] [--refresh INTERVAL] [--max-age DURATION]
 *   ecred-verifierd key add --cache DIR --role police|landlord|agency [--fields a,b,c]
 *   ecred-verifierd key list --cache DIR
 *   ecred-verifierd key remove --cache DIR ID
 *
 * A refresh thread syncs the cache every INTERVAL (sync.c) and swaps in the
 * newly loaded cache; request threads decide on an immutable, reference
 * counted snapshot with ecred_decide(), the CLI's decision. Routes:
 * POST /v1/verify (API key), GET /healthz, GET /metrics. DIR/api-keys is
 * re-read when it changes (checked at most once a second), at every refresh
 * and on SIGHUP.
 *
 * Must never: answer /v1/verify without a valid key, show a field the key's
 * role does not allow, keep or log a scanned credential or any personal
 * field (logs carry route, status, reason, key id and duration only).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "answer.h"
#include "apikeys.h"
#include "cache.h"
#include "ecred/listen.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"
#include "fetch.h"
#include "roles.h"
#include "status.h"
#include "sync.h"
#include "vbody.h"
#include "vutil.h"

#define BODY_MAX VBODY_MAX
#define DEFAULT_REFRESH ((int64_t)300)
#define DEFAULT_MAX_AGE ((int64_t)24 * 3600)
#define THREADS 4
#define CONN_MEMORY (32 * 1024) /* caps URL and headers per connection */
#define KEYS_CHECK_MS 1000      /* bound on how long a removed key keeps working */

/* ---- state --------------------------------------------------------------- */

typedef struct snap {
    int refs;
    vcache c;
} snap;

enum { R_VERIFY, R_HEALTHZ, R_METRICS, R_OTHER, R_COUNT };
static const char *const route_names[R_COUNT] = {"verify", "healthz", "metrics", "other"};
static const int status_codes[] = {200, 304, 400, 401, 404, 405, 413, 422, 500, 503};
#define N_CODES (sizeof status_codes / sizeof status_codes[0])
static const char *const reasons[] = {"ok", "not_our_format", "malformed", "unknown_key", "bad_signature",
                                      "expired", "not_yet_valid", "revoked", "suspended", "status_stale",
                                      "status_unavailable", "other"};
#define N_REASONS (sizeof reasons / sizeof reasons[0])

/* What identifies one version of DIR/api-keys without reading it: an atomic
 * rewrite (rename) gives a new inode and ctime, an edit in place a new
 * mtime, ctime or size. */
typedef struct keys_stamp {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} keys_stamp;

typedef struct vd {
    const char *dir, *issuer, *root;
    int64_t refresh, max_age;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    snap *cur;          /* NULL until a cache loaded */
    vkeys keys;
    keys_stamp keys_seen;   /* the file as last loaded (or found malformed) */
    int64_t keys_checked_ms; /* monotonic time of the last stat */
    bool keys_busy;         /* one request thread checks at a time */
    pthread_mutex_t keys_mu; /* serialises re-reads, so an older read never lands last */
    uint64_t requests[R_COUNT][N_CODES + 1];
    uint64_t outcomes[N_REASONS];
    uint64_t syncs_ok, syncs_failed;
    int64_t last_sync_ok;
} vd;

typedef struct reqctx {
    ecred_buf body;
    bool too_big;
} reqctx;

/* ---- logging --------------------------------------------------------------- */

__attribute__((format(printf, 2, 3))) static void logf_(const char *level, const char *fmt, ...)
{
    char ts[21];
    ecred_time_format((int64_t)time(NULL), ts);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s %s\n", ts, level, msg);
}

static void daemon_note(void *ctx, int level, const char *msg)
{
    (void)ctx;
    logf_(level == 0 ? "INFO" : level == 1 ? "WARNING" : "ERROR", "sync: %s", msg);
}

/* ---- snapshots ------------------------------------------------------------- */

static snap *snap_get(vd *d)
{
    pthread_mutex_lock(&d->mu);
    snap *s = d->cur;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&d->mu);
    return s;
}

static void snap_put(vd *d, snap *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&d->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&d->mu);
    if (last) {
        vcache_free(&s->c);
        free(s);
    }
}

/* Load the cache from disk and make it the current snapshot. */
static ecred_err reload(vd *d)
{
    char msg[512];
    snap *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    ecred_err e = vcache_load(d->dir, (int64_t)time(NULL), VCACHE_STRICT, &s->c, msg, sizeof msg);
    if (e) {
        logf_("WARNING", "cache not loaded: %s", msg);
        free(s);
        return e;
    }
    s->refs = 1;
    pthread_mutex_lock(&d->mu);
    snap *old = d->cur;
    d->cur = s;
    pthread_mutex_unlock(&d->mu);
    snap_put(d, old);
    return ECRED_OK;
}

static int64_t monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The stamp of DIR/api-keys now (exists false when there is no file). */
static keys_stamp keys_stamp_now(const vd *d)
{
    char p[VCACHE_PATH_MAX];
    keys_stamp k;
    memset(&k, 0, sizeof k);
    struct stat st;
    snprintf(p, sizeof p, "%s/api-keys", d->dir);
    if (stat(p, &st) == 0) {
        k.exists = true;
        k.dev = st.st_dev;
        k.ino = st.st_ino;
        k.size = st.st_size;
        k.mtime = st.st_mtim;
        k.ctime = st.st_ctim;
    }
    return k;
}

static bool keys_stamp_same(const keys_stamp *a, const keys_stamp *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Re-read DIR/api-keys and swap it in. The stamp is taken before reading, so
 * a change made while reading shows as a new stamp at the next check. A file
 * that does not load keeps the keys held (an operator's typo must not lock
 * every client out); a deleted file means no keys. */
static void reload_keys(vd *d, const char *why)
{
    pthread_mutex_lock(&d->keys_mu);
    keys_stamp st = keys_stamp_now(d);
    vkeys k;
    ecred_err e = vkeys_load(d->dir, &k);
    pthread_mutex_lock(&d->mu);
    d->keys_seen = st;
    if (e) {
        pthread_mutex_unlock(&d->mu);
        pthread_mutex_unlock(&d->keys_mu);
        logf_("ERROR", "%s/api-keys unreadable or malformed (%s); keeping the keys held", d->dir,
              ecred_err_name(e));
        return;
    }
    vkeys old = d->keys;
    d->keys = k;
    size_t before = old.n, after = k.n;
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_unlock(&d->keys_mu);
    vkeys_free(&old);
    if (before != after || strcmp(why, "start") == 0 || strcmp(why, "SIGHUP") == 0)
        logf_("INFO", "api keys loaded (%s): %zu", why, after);
}

/* Called before each key check: at most once per KEYS_CHECK_MS, stat
 * DIR/api-keys and re-read it if it changed, so `key add` and `key remove`
 * take effect within a second without a restart. The stat and the read run
 * outside the mutex; only the swap holds it. */
static void keys_maybe_reload(vd *d)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&d->mu);
    bool due = !d->keys_busy && now - d->keys_checked_ms >= KEYS_CHECK_MS;
    if (due) {
        d->keys_busy = true;
        d->keys_checked_ms = now;
    }
    keys_stamp seen = d->keys_seen;
    pthread_mutex_unlock(&d->mu);
    if (!due)
        return;
    keys_stamp st = keys_stamp_now(d);
    if (!keys_stamp_same(&st, &seen))
        reload_keys(d, "file changed");
    pthread_mutex_lock(&d->mu);
    d->keys_busy = false;
    pthread_mutex_unlock(&d->mu);
}

/* The refresh thread: sync, reload, sleep INTERVAL, until stop. */
static void *refresher(void *arg)
{
    vd *d = arg;
    vnote note = {daemon_note, NULL};
    for (;;) {
        vsync_report rep;
        ecred_err e = vsync_run(d->dir, d->issuer, d->root, (int64_t)time(NULL), &note, &rep);
        pthread_mutex_lock(&d->mu);
        if (e)
            d->syncs_failed++;
        else {
            d->syncs_ok++;
            d->last_sync_ok = (int64_t)time(NULL);
        }
        pthread_mutex_unlock(&d->mu);
        logf_(e ? "WARNING" : "INFO", "sync %s: %zu lists, %zu updated, %zu not modified, %zu refused",
              e ? ecred_err_reason(e) : "ok", rep.lists_total, rep.lists_updated, rep.lists_unchanged,
              rep.lists_refused);
        if (rep.committed || !d->cur)
            reload(d);
        reload_keys(d, "refresh");
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)d->refresh;
        pthread_mutex_lock(&d->mu);
        int waits = 0;
        while (!d->stop && waits++ < 1000) {
            if (pthread_cond_timedwait(&d->cv, &d->mu, &until) == ETIMEDOUT)
                break;
        }
        bool stop = d->stop;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            return NULL;
    }
}

/* ---- replies ---------------------------------------------------------------- */

static void count_request(vd *d, int route, int status)
{
    size_t c = N_CODES;
    for (size_t i = 0; i < N_CODES; i++)
        if (status_codes[i] == status)
            c = i;
    pthread_mutex_lock(&d->mu);
    d->requests[route][c]++;
    pthread_mutex_unlock(&d->mu);
}

static enum MHD_Result reply(struct MHD_Connection *conn, int status, const char *type, const char *body,
                             size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ok;
}

static enum MHD_Result reply_json(struct MHD_Connection *conn, int status, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s)
        return reply(conn, 500, "application/json", "{\"code\":\"internal\",\"hint\":\"out of memory\",\"detail\":null}", 57);
    enum MHD_Result ok = reply(conn, status, "application/json", s, strlen(s));
    free(s);
    return ok;
}

/* Every error reply: {code, hint, detail} with its HTTP status. */
static enum MHD_Result reply_error(struct MHD_Connection *conn, int status, const char *code, const char *hint,
                                   const char *detail)
{
    return reply_json(conn, status, json_pack("{s:s,s:s,s:s?}", "code", code, "hint", hint, "detail", detail));
}

/* ---- routes ------------------------------------------------------------------ */

static const vkey *find_key(vd *d, struct MHD_Connection *conn, vkey *copy, int *status, const char **code)
{
    const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (!h) {
        *status = 401;
        *code = "missing_key";
        return NULL;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *status = 401;
        *code = "invalid_key";
        return NULL;
    }
    const char *k = h + 7;
    keys_maybe_reload(d);
    pthread_mutex_lock(&d->mu);
    const vkey *hit = vkeys_check(&d->keys, k, strlen(k));
    if (hit)
        *copy = *hit;
    pthread_mutex_unlock(&d->mu);
    if (!hit) {
        *status = 401;
        *code = "invalid_key";
        return NULL;
    }
    return copy;
}

static size_t reason_slot(ecred_err e)
{
    const char *r = ecred_err_reason(e);
    for (size_t i = 0; i + 1 < N_REASONS; i++)
        if (strcmp(r, reasons[i]) == 0)
            return i;
    return N_REASONS - 1;
}

static enum MHD_Result h_verify(vd *d, struct MHD_Connection *conn, const reqctx *rc, int *status,
                                const char **reason, char key_id[9])
{
    vkey key;
    const char *code = NULL;
    enum MHD_Result res = MHD_YES;
    if (!find_key(d, conn, &key, status, &code)) {
        *reason = code;
        return reply_error(conn, 401, code, "Authorization: Bearer API-KEY is required (ecred-verifierd key add)",
                           NULL);
    }
    memcpy(key_id, key.id, 9);
    ecred_buf text = ECRED_BUF_INIT;
    vbody_refusal why;
    ecred_err be = vbody_parse(rc->body.ptr, rc->body.len,
                               MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type"), &text, &why);
    if (be) {
        *reason = "bad_request";
        *status = be == ECRED_ERR_TOO_LARGE ? 413 : be == ECRED_ERR_INPUT ? 400 : 500;
        if (*status == 500)
            return reply_error(conn, 500, "internal", "out of memory", NULL);
        return reply_error(conn, *status, why.code, "send the QR text, or JSON {\"qr\": \"...\"}",
                           why.detail[0] ? why.detail : NULL);
    }
    snap *s = snap_get(d);
    if (!s) {
        ecred_buf_wipe(&text);
        *status = 503;
        *reason = "cache_unavailable";
        return reply_error(conn, 503, "cache_unavailable", "no usable synced cache yet; see the daemon's log", NULL);
    }
    int64_t now = (int64_t)time(NULL);
    /* The snapshot was checked when loaded; while syncs fail it is kept, and
     * past its trust list's exp it may vouch for no key (as the CLI). */
    if (vcache_check_trust(&s->c, now) != ECRED_OK) {
        snap_put(d, s);
        ecred_buf_wipe(&text);
        *status = 503;
        *reason = "cache_unavailable";
        return reply_error(conn, 503, "cache_unavailable",
                           "the cached trust list has expired and no sync has replaced it; see the daemon's log",
                           "list_expired");
    }
    vstatus vs = {.cache = &s->c, .now = now};
    ecred_status_source src = {vstatus_lookup, &vs, d->max_age};
    ecred_keyset ks = vcache_keyset(&s->c);
    ecred_verdict v;
    ecred_decide((const char *)text.ptr, text.len, &ks, &src, now, &v);
    ecred_buf_wipe(&text);
    char at[21];
    ecred_time_format(now, at);
    /* Written straight into one buffer (jsonw.h): the answer used to be a
     * jansson tree of some sixty small allocations, built, dumped and freed
     * per request (~13% of the daemon's CPU under load, plus malloc). */
    ecred_buf body = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &body);
    vjson_begin(&w);
    vjson_key(&w, "outcome");
    vjson_str(&w, vanswer_outcome(v.outcome));
    vjson_key(&w, "valid");
    vjson_bool(&w, v.outcome == ECRED_OK);
    vjson_key(&w, "reason");
    vjson_str(&w, ecred_err_reason(v.outcome));
    vjson_key(&w, "detail");
    vjson_str(&w, ecred_err_name(v.outcome));
    vjson_key(&w, "message");
    vjson_str(&w, v.outcome ? ecred_err_message(v.outcome) : "signature, validity, format and status check out");
    vjson_key(&w, "checked_at");
    vjson_str(&w, at);
    vjson_key(&w, "status");
    vanswer_status_write(&w, &v, &vs, now, d->max_age);
    vjson_key(&w, "role");
    vjson_str(&w, vrole_name(key.role));
    if (v.claims_ok) {
        vjson_key(&w, "credential");
        vroles_view_write(&w, &v, key.role, key.fields);
    }
    vjson_end(&w);
    snap_put(d, s);
    ecred_err outcome = v.outcome;
    ecred_wipe(&v, sizeof v); /* personal fields leave memory with the answer */
    pthread_mutex_lock(&d->mu);
    d->outcomes[reason_slot(outcome)]++;
    pthread_mutex_unlock(&d->mu);
    if (vjson_finish(&w) != ECRED_OK) {
        ecred_buf_wipe(&body);
        *status = 500;
        *reason = "internal";
        return reply_error(conn, 500, "internal", "the answer could not be written", NULL);
    }
    *status = ecred_err_http_status(outcome);
    *reason = ecred_err_reason(outcome);
    res = reply(conn, *status, "application/json", (const char *)body.ptr, body.len);
    ecred_buf_wipe(&body);
    return res;
}

static enum MHD_Result h_healthz(vd *d, struct MHD_Connection *conn, int *status)
{
    snap *s = snap_get(d);
    int64_t now = (int64_t)time(NULL);
    if (!s || vcache_check_trust(&s->c, now) != ECRED_OK) {
        const char *hint = s ? "the cached trust list has expired; syncs are failing" : "no usable synced cache yet";
        snap_put(d, s);
        *status = 503;
        return reply_json(conn, 503, json_pack("{s:s,s:s}", "status", "unavailable", "hint", hint));
    }
    int64_t oldest = -1;
    size_t usable = 0;
    for (size_t i = 0; i < s->c.n_lists; i++)
        if (s->c.lists[i].ok) {
            usable++;
            if (oldest < 0 || now - s->c.lists[i].tok.iat > oldest)
                oldest = now - s->c.lists[i].tok.iat;
        }
    bool fresh = oldest >= 0 && oldest <= d->max_age;
    char exp[21], synced[21];
    ecred_time_format((int64_t)s->c.trust.exp, exp);
    ecred_time_format(s->c.synced_at, synced);
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I}", "status", fresh ? "ok" : "stale", "synced_at", synced,
                          "trust_list_seq", (json_int_t)s->c.trust.seq, "trust_list_expires", exp, "status_lists",
                          (json_int_t)usable, "oldest_status_age_seconds", (json_int_t)oldest, "max_age_seconds",
                          (json_int_t)d->max_age);
    snap_put(d, s);
    /* Stale data is still served (answers say so): the process is healthy. */
    *status = 200;
    return reply_json(conn, 200, o);
}

/* Append printf output to a growing buffer (metrics text). */
__attribute__((format(printf, 2, 3))) static void mput(ecred_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        ecred_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A label value with \ and " escaped (URIs in labels). */
static void label_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"')
            out[o++] = '\\';
        out[o++] = *in == '\n' ? ' ' : *in;
    }
    out[o] = 0;
}

static enum MHD_Result h_metrics(vd *d, struct MHD_Connection *conn, int *status)
{
    ecred_buf b = ECRED_BUF_INIT;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&d->mu);
    mput(&b, "# HELP ecred_verifier_requests_total HTTP requests by route and status.\n"
             "# TYPE ecred_verifier_requests_total counter\n");
    for (int r = 0; r < R_COUNT; r++)
        for (size_t c = 0; c <= N_CODES; c++)
            if (d->requests[r][c])
                mput(&b, "ecred_verifier_requests_total{route=\"%s\",code=\"%s%d\"} %llu\n", route_names[r],
                     c == N_CODES ? "other" : "", c == N_CODES ? 0 : status_codes[c],
                     (unsigned long long)d->requests[r][c]);
    mput(&b, "# HELP ecred_verifier_outcomes_total Verify answers by reason.\n"
             "# TYPE ecred_verifier_outcomes_total counter\n");
    for (size_t i = 0; i < N_REASONS; i++)
        mput(&b, "ecred_verifier_outcomes_total{reason=\"%s\"} %llu\n", reasons[i],
             (unsigned long long)d->outcomes[i]);
    mput(&b, "# TYPE ecred_verifier_syncs_total counter\n"
             "ecred_verifier_syncs_total{result=\"ok\"} %llu\necred_verifier_syncs_total{result=\"failed\"} %llu\n",
         (unsigned long long)d->syncs_ok, (unsigned long long)d->syncs_failed);
    if (d->last_sync_ok)
        mput(&b, "# TYPE ecred_verifier_last_sync_ok_age_seconds gauge\n"
                 "ecred_verifier_last_sync_ok_age_seconds %lld\n", (long long)(now - d->last_sync_ok));
    pthread_mutex_unlock(&d->mu);
    snap *s = snap_get(d);
    if (s) {
        mput(&b, "# HELP ecred_verifier_trust_list_age_seconds Age of the trust list in use (now - iat).\n"
                 "# TYPE ecred_verifier_trust_list_age_seconds gauge\n"
                 "ecred_verifier_trust_list_age_seconds %lld\n"
                 "# TYPE ecred_verifier_trust_list_expires_in_seconds gauge\n"
                 "ecred_verifier_trust_list_expires_in_seconds %lld\n",
             (long long)(now - (int64_t)s->c.trust.iat), (long long)((int64_t)s->c.trust.exp - now));
        mput(&b, "# HELP ecred_verifier_status_list_age_seconds Age of each status list (now - iat).\n"
                 "# TYPE ecred_verifier_status_list_age_seconds gauge\n");
        for (size_t i = 0; i < s->c.n_lists; i++) {
            char uri[2 * ECRED_SLIST_URI_MAX + 1];
            label_escape(s->c.lists[i].uri, uri, sizeof uri);
            if (s->c.lists[i].ok)
                mput(&b, "ecred_verifier_status_list_age_seconds{uri=\"%s\"} %lld\n", uri,
                     (long long)(now - s->c.lists[i].tok.iat));
        }
        snap_put(d, s);
    }
    *status = 200;
    enum MHD_Result res = b.ptr ? reply(conn, 200, "text/plain; version=0.0.4", (const char *)b.ptr, b.len)
                                : reply_error(conn, 500, "internal", "out of memory", NULL);
    if (!b.ptr)
        *status = 500;
    ecred_buf_free(&b);
    return res;
}

/* ---- MHD glue ------------------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    vd *d = cls;
    reqctx *rc = *con_cls;
    if (!rc) {
        rc = calloc(1, sizeof *rc);
        if (!rc)
            return MHD_NO;
        *con_cls = rc;
        /* Refuse a declared oversize body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > BODY_MAX) {
            rc->too_big = true;
            count_request(d, strcmp(url, "/v1/verify") == 0 ? R_VERIFY : R_OTHER, 413);
            logf_("WARNING", "%s %s 413 body_too_large", method, strcmp(url, "/v1/verify") == 0 ? url : "-");
            return reply_error(conn, 413, "body_too_large", "the body is capped at 8 KiB", NULL);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!rc->too_big && rc->body.len + *upload_size <= BODY_MAX) {
            if (ecred_buf_append(&rc->body, upload, *upload_size) != ECRED_OK)
                rc->too_big = true;
        } else {
            rc->too_big = true;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int route = R_OTHER, status = 0;
    const char *reason = "-";
    char key_id[9] = "-";
    enum MHD_Result res;
    bool is_get = strcmp(method, "GET") == 0, is_post = strcmp(method, "POST") == 0;
    if (strcmp(url, "/v1/verify") == 0) {
        route = R_VERIFY;
        if (!is_post) {
            status = 405;
            res = reply_error(conn, 405, "method_not_allowed", "use POST", NULL);
        } else if (rc->too_big) {
            status = 413;
            res = reply_error(conn, 413, "body_too_large", "the body is capped at 8 KiB", NULL);
        } else {
            res = h_verify(d, conn, rc, &status, &reason, key_id);
        }
    } else if (strcmp(url, "/healthz") == 0 || strcmp(url, "/metrics") == 0) {
        route = url[1] == 'h' ? R_HEALTHZ : R_METRICS;
        if (!is_get) {
            status = 405;
            res = reply_error(conn, 405, "method_not_allowed", "use GET", NULL);
        } else {
            res = route == R_HEALTHZ ? h_healthz(d, conn, &status) : h_metrics(d, conn, &status);
        }
    } else {
        status = 404;
        res = reply_error(conn, 404, "not_found", "routes: POST /v1/verify, GET /healthz, GET /metrics", NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    count_request(d, route, status);
    long ms = (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    /* No URL for unknown routes (it could carry anything), never a body. */
    logf_(status >= 500 ? "ERROR" : status >= 400 ? "WARNING" : "INFO", "%s %s %d %s key=%s %ldms", method,
          route == R_OTHER ? "-" : url, status, reason, key_id, ms);
    return res;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    reqctx *rc = *con_cls;
    if (rc) {
        ecred_buf_wipe(&rc->body);
        free(rc);
        *con_cls = NULL;
    }
}

/* ---- command line ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fputs("usage: ecred-verifierd --cache DIR --issuer URL --listen IPv4:PORT|[IPv6]:PORT\n"
          "                       [--root ROOT.pem] [--refresh INTERVAL] [--max-age DURATION]\n"
          "       ecred-verifierd key add --cache DIR --role police|landlord|agency [--fields a,b,c]\n"
          "       ecred-verifierd key list --cache DIR\n"
          "       ecred-verifierd key remove --cache DIR ID\n"
          "\n"
          "Serves POST /v1/verify (Authorization: Bearer KEY; body: QR text or {\"qr\": \"...\"}),\n"
          "GET /healthz and GET /metrics. The cache is synced from the issuer at start and\n"
          "every INTERVAL (default 5m); --root is needed only if DIR was never synced.\n"
          "--max-age (default 24h) is the oldest status data that may say VALID.\n"
          "key add prints a new API key once; only its SHA-256 is kept in DIR/api-keys.\n"
          "key list shows each key's id, role and fields (never the key); key remove\n"
          "takes the id. A running daemon sees added and removed keys within 1 second\n"
          "(or at once on SIGHUP).\n"
          "Agency fields: type name id_number id_number_masked sex birth_date\n"
          "address_division address housing hukou_division registration_date authority\n"
          "valid_from valid_until endorsement_date iss iat exp cti.\n",
          f);
}

static int cmd_key_add(int argc, char **argv)
{
    const char *dir = NULL, *role_s = NULL, *fields = NULL;
    for (int i = 0; i < argc; i += 2) {
        if (i + 1 >= argc) {
            fprintf(stderr, "ecred-verifierd: %s needs a value\n", argv[i]);
            return 2;
        }
        if (strcmp(argv[i], "--cache") == 0 && !dir)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--role") == 0 && !role_s)
            role_s = argv[i + 1];
        else if (strcmp(argv[i], "--fields") == 0 && !fields)
            fields = argv[i + 1];
        else {
            fprintf(stderr, "ecred-verifierd: unknown or repeated option %s\n", argv[i]);
            return 2;
        }
    }
    vrole role;
    if (!dir || !role_s || vrole_parse(role_s, &role) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: key add needs --cache DIR and --role police|landlord|agency\n");
        return 2;
    }
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    char bad[80];
    if (role == VROLE_AGENCY && (!fields || vroles_check_fields(fields, bad, sizeof bad) != ECRED_OK)) {
        fprintf(stderr, "ecred-verifierd: the agency role needs --fields a,b,c of known fields%s%s (see --help)\n",
                fields ? "; unknown: " : "", fields ? bad : "");
        return 2;
    }
    if (role != VROLE_AGENCY && fields) {
        fprintf(stderr, "ecred-verifierd: --fields is for the agency role only\n");
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ecred-verifierd: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    char key[VKEY_TEXT_LEN + 1], id[9];
    ecred_err e = vkeys_add(dir, role, fields, key, id);
    if (e) {
        fprintf(stderr, "ecred-verifierd: cannot add the key to %s/api-keys: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "ecred-verifierd: key %s (%s) added; it is shown only this once\n", id, role_s);
    ecred_wipe(key, sizeof key);
    return 0;
}

/* key list --cache DIR: one line per key, "ID ROLE FIELDS"; exit 1 when
 * the file cannot be read or does not parse. */
static int cmd_key_list(int argc, char **argv)
{
    if (argc != 2 || strcmp(argv[0], "--cache") != 0) {
        fprintf(stderr, "ecred-verifierd: usage: key list --cache DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    vkeys k;
    ecred_err e = vkeys_load(dir, &k);
    if (e) {
        fprintf(stderr, "ecred-verifierd: %s/api-keys unreadable or malformed: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    printf("%-8s  %-8s  %s\n", "ID", "ROLE", "FIELDS");
    for (size_t i = 0; i < k.n; i++)
        printf("%-8s  %-8s  %s\n", k.keys[i].id, vrole_name(k.keys[i].role),
               k.keys[i].role == VROLE_AGENCY ? k.keys[i].fields : "(role default)");
    fprintf(stderr, "ecred-verifierd: %zu key%s in %s/api-keys\n", k.n, k.n == 1 ? "" : "s", dir);
    vkeys_free(&k);
    return 0;
}

/* key remove --cache DIR ID: exit 2 for a malformed or unknown id, 1 when the
 * file cannot be read, parsed or rewritten. */
static int cmd_key_remove(int argc, char **argv)
{
    const char *dir = NULL, *id = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--cache") == 0 && i + 1 < argc && !dir)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !id)
            id = argv[i];
        else {
            fprintf(stderr, "ecred-verifierd: unknown or repeated argument %s\n", argv[i]);
            return 2;
        }
    }
    if (!dir || !id) {
        fprintf(stderr, "ecred-verifierd: usage: key remove --cache DIR ID (ID from key list)\n");
        return 2;
    }
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    if (!vkeys_id_ok(id)) {
        fprintf(stderr, "ecred-verifierd: '%.16s' is not a key id (8 lower-case hex digits, see key list)\n", id);
        return 2;
    }
    size_t removed = 0;
    ecred_err e = vkeys_remove(dir, id, &removed);
    if (e) {
        fprintf(stderr, "ecred-verifierd: cannot remove the key from %s/api-keys: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    if (removed == 0) {
        fprintf(stderr, "ecred-verifierd: no key with id %s in %s/api-keys (see key list)\n", id, dir);
        return 2;
    }
    fprintf(stderr, "ecred-verifierd: key %s removed; a running daemon refuses it within 1 second\n", id);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "key") == 0) {
        if (argc > 2 && strcmp(argv[2], "add") == 0)
            return cmd_key_add(argc - 3, argv + 3);
        if (argc > 2 && strcmp(argv[2], "list") == 0)
            return cmd_key_list(argc - 3, argv + 3);
        if (argc > 2 && strcmp(argv[2], "remove") == 0)
            return cmd_key_remove(argc - 3, argv + 3);
        usage(stderr);
        return 2;
    }
    static vd d;
    const char *listen = NULL, *refresh_s = NULL, *max_age_s = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            fprintf(stderr, "ecred-verifierd: %s needs a value\n", argv[i]);
            return 2;
        }
        const char **slot = NULL;
        if (strcmp(argv[i], "--cache") == 0)
            slot = &d.dir;
        else if (strcmp(argv[i], "--issuer") == 0)
            slot = &d.issuer;
        else if (strcmp(argv[i], "--root") == 0)
            slot = &d.root;
        else if (strcmp(argv[i], "--listen") == 0)
            slot = &listen;
        else if (strcmp(argv[i], "--refresh") == 0)
            slot = &refresh_s;
        else if (strcmp(argv[i], "--max-age") == 0)
            slot = &max_age_s;
        if (!slot || *slot) {
            usage(stderr);
            fprintf(stderr, "ecred-verifierd: unknown or repeated option %s\n", argv[i]);
            return 2;
        }
        *slot = argv[++i];
    }
    struct sockaddr_storage sa;
    bool v6 = false;
    if (!d.dir || !d.issuer || !listen) {
        usage(stderr);
        fprintf(stderr, "ecred-verifierd: --cache, --issuer and --listen are required\n");
        return 2;
    }
    if (ecred_listen_parse(listen, &sa, &v6) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: --listen must be IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:8444 or "
                        "[::1]:8444\n");
        return 2;
    }
    d.refresh = DEFAULT_REFRESH;
    d.max_age = DEFAULT_MAX_AGE;
    if ((refresh_s && vutil_parse_duration(refresh_s, &d.refresh) != ECRED_OK) ||
        (max_age_s && vutil_parse_duration(max_age_s, &d.max_age) != ECRED_OK)) {
        fprintf(stderr, "ecred-verifierd: --refresh and --max-age take durations (90s, 15m, 24h, 7d)\n");
        return 2;
    }
    if (strlen(d.dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    if (vfetch_global_init() != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: libcurl could not start\n");
        return 1;
    }
    pthread_mutex_init(&d.mu, NULL);
    pthread_mutex_init(&d.keys_mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    /* Signals go to the main thread's sigwait only. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d.keys_checked_ms = monotonic_ms();
    reload_keys(&d, "start");
    reload(&d); /* serve the cache held while the first sync runs */
    pthread_t th;
    if (pthread_create(&th, NULL, refresher, &d) != 0) {
        fprintf(stderr, "ecred-verifierd: cannot start the refresh thread\n");
        return 1;
    }
    /* MHD splits CONNECTION_LIMIT evenly among the pool's threads and a
     * thread at its share closes whatever it accepts: a total of 256 was 64
     * per thread, and 200 idle sockets (tests/cli/test_hostile_clients.sh)
     * locked real clients out until the 30 s timeout. 1024 (32 KiB each:
     * 32 MiB at most) leaves room; poll() so descriptors past select()'s
     * FD_SETSIZE still work (not epoll: libmicrohttpd 0.9.75's epoll mode
     * sometimes misses a client's half-close mid-headers and holds the
     * socket until the timeout). No per-IP limit: verifiers sit behind load
     * balancers, where every client has the balancer's address. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, &d,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)THREADS,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY, MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, &d, MHD_OPTION_END);
    int rc = 0;
    if (!mhd) {
        fprintf(stderr, "ecred-verifierd: cannot listen on %s\n", listen);
        rc = 1;
    } else {
        logf_("INFO", "listening on %s, cache %s, issuer %s, refresh %llds, max age %llds", listen, d.dir, d.issuer,
              (long long)d.refresh, (long long)d.max_age);
        /* SIGHUP re-reads DIR/api-keys at once (no need to wait for the
         * once-a-second check); SIGINT and SIGTERM stop. */
        int sig = 0;
        while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
            reload_keys(&d, "SIGHUP");
        logf_("INFO", "signal %d: stopping", sig);
        MHD_stop_daemon(mhd);
    }
    pthread_mutex_lock(&d.mu);
    d.stop = true;
    pthread_cond_signal(&d.cv);
    pthread_mutex_unlock(&d.mu);
    pthread_join(th, NULL);
    snap_put(&d, d.cur);
    vkeys_free(&d.keys);
    return rc;
}
