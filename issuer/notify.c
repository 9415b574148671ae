/*
 * notify.c - reminder outbox and its delivery thread (see notify.h); the
 * outbox rows live in the registry (reg_outbox_*).
 *
 * Backoff after a failed attempt k (1-based): interval * 2^(k-1), capped at
 * NOTIFY_BACKOFF_MAX_S, so a gateway that is down for an hour is not
 * hammered and one that blinked is retried at the next round.
 *
 * A round claims a few rows (as many as fit in the lease, one webhook
 * timeout each), delivers them, records each outcome, and claims again
 * until nothing is due. No registry connection is held across a network
 * call: the pool serves the requests meanwhile.
 *
 * Must never: send a row whose lease has less than one request's time left,
 * hold a registry connection across a webhook call, or log the payload (it
 * names a resident).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ecred/crypto.h"
#include "ecred/cst.h"
#include "ecred/credential.h"
#include "notify.h"
#include "outcall.h"
#include "svc_log.h"

/* Rows queued per registry write while scanning. */
#define NOTIFY_ADD_CHUNK 128

struct notify {
    char *webhook;
    unsigned interval_s, lease_s;
    size_t claim_max;       /* rows per claim: what one lease has time for */
    reg_pool *pool;
    char owner[REG_OUTBOX_OWNER_MAX + 1];
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping, started;
    pthread_t thread;
};

static void *notify_thread(void *arg);

const char *notify_owner(const notify *n)
{
    return n->owner;
}

ecred_err notify_start(const notify_config *cfg, notify **out)
{
    if (!cfg->webhook || !cfg->pool)
        return ECRED_ERR_ARG;
    if (strlen(cfg->webhook) > OUTCALL_URL_MAX ||
        (strncmp(cfg->webhook, "http://", 7) != 0 && strncmp(cfg->webhook, "https://", 8) != 0))
        return ECRED_ERR_INPUT;
    if (cfg->lease_s && cfg->lease_s < NOTIFY_LEASE_MIN_S)
        return ECRED_ERR_INPUT;
    notify *n = calloc(1, sizeof *n);
    if (!n)
        return ECRED_ERR_NOMEM;
    n->webhook = strdup(cfg->webhook);
    n->interval_s = cfg->interval_s ? cfg->interval_s : 300;
    n->lease_s = cfg->lease_s ? cfg->lease_s : NOTIFY_LEASE_DEFAULT_S;
    /* One request per NOTIFY_TIMEOUT_S + 1 s, keeping the last slot free. */
    n->claim_max = (n->lease_s - NOTIFY_TIMEOUT_S) / (NOTIFY_TIMEOUT_S + 1);
    if (n->claim_max < 1)
        n->claim_max = 1;
    if (n->claim_max > NOTIFY_BATCH)
        n->claim_max = NOTIFY_BATCH;
    n->pool = cfg->pool;
    pthread_mutex_init(&n->stop_lock, NULL);
    pthread_cond_init(&n->stop_cond, NULL);
    ecred_err e = ECRED_ERR_NOMEM;
    if (!n->webhook)
        goto fail;
    /* The owner names the instance to an operator (host and pid) and is
     * unique even when a pid is reused after a crash (the random part). */
    char host[32] = "";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "host");
    host[sizeof host - 1] = 0;
    uint8_t r[4];
    if ((e = ecred_random(r, sizeof r)) != ECRED_OK)
        goto fail;
    snprintf(n->owner, sizeof n->owner, "%s:%ld:%02x%02x%02x%02x", host, (long)getpid(), r[0], r[1], r[2], r[3]);
    e = ECRED_ERR_IO;
    if (pthread_create(&n->thread, NULL, notify_thread, n) != 0)
        goto fail;
    n->started = true;
    *out = n;
    return ECRED_OK;
fail:
    notify_stop(n);
    return e;
}

void notify_stop(notify *n)
{
    if (!n)
        return;
    if (n->started) {
        pthread_mutex_lock(&n->stop_lock);
        n->stopping = true;
        pthread_cond_signal(&n->stop_cond);
        pthread_mutex_unlock(&n->stop_lock);
        pthread_join(n->thread, NULL);
    }
    pthread_cond_destroy(&n->stop_cond);
    pthread_mutex_destroy(&n->stop_lock);
    free(n->webhook);
    free(n);
}

/* Whether notify_stop has been asked for. */
static bool notify_stopping(notify *n)
{
    pthread_mutex_lock(&n->stop_lock);
    bool s = n->stopping;
    pthread_mutex_unlock(&n->stop_lock);
    return s;
}

/* Reminders found by one scan, queued in chunks. */
typedef struct scan_row {
    char key[REG_OUTBOX_KEY_MAX + 1];
    char *payload;
} scan_row;

typedef struct scan_ctx {
    reg_db *reg;
    scan_row *rows;
    size_t n, cap;
    ecred_err e;
} scan_ctx;

/* reg_reminders callback: one outbox row per (credential, due, day). */
static ecred_err notify_collect(void *ctx, const char *id, const char *due, int32_t day)
{
    scan_ctx *c = ctx;
    reg_credential cr;
    if (reg_credential_get(c->reg, id, &cr) != ECRED_OK)
        return ECRED_OK;
    char dstr[11];
    ecred_date_format(day, dstr);
    char vu[11];
    ecred_date_format(cr.valid_until, vu);
    char seed[96];
    snprintf(seed, sizeof seed, "%s|%s|%s", id, due, dstr);
    uint8_t h[32];
    ecred_sha256((const uint8_t *)seed, strlen(seed), h);
    char key[4 + 32 + 1] = "rem-";
    for (size_t i = 0; i < 16; i++)
        snprintf(key + 4 + 2 * i, 3, "%02x", h[i]);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "key", key, "credential_id", id, "due", due,
                          "day", dstr, "id_number", cr.id_number, "valid_until", vu);
    reg_credential_free(&cr);
    char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (!text)
        return ECRED_ERR_NOMEM;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        scan_row *g = realloc(c->rows, cap * sizeof *g);
        if (!g) {
            free(text);
            return ECRED_ERR_NOMEM;
        }
        c->rows = g;
        c->cap = cap;
    }
    snprintf(c->rows[c->n].key, sizeof c->rows[c->n].key, "%s", key);
    c->rows[c->n++].payload = text;
    return ECRED_OK;
}

typedef struct add_ctx {
    const scan_row *rows;
    size_t n;
    int64_t now;
} add_ctx;

/* reg_write fn: queue a chunk (idempotent: a queued key stays as it is). */
static ecred_err notify_add_fn(reg_db *db, void *ctx)
{
    const add_ctx *a = ctx;
    for (size_t i = 0; i < a->n; i++) {
        ecred_err e = reg_outbox_add(db, a->rows[i].key, a->rows[i].payload, a->now);
        if (e)
            return e;
    }
    return ECRED_OK;
}

/* Scan the registry for reminders due within the window into the outbox. */
static ecred_err notify_scan(notify *n, int64_t now)
{
    reg_db *reg = reg_pool_get(n->pool);
    int32_t today = ecred_cst_day_of(now);
    scan_ctx c = {reg, NULL, 0, 0, ECRED_OK};
    ecred_err e = reg_reminders(reg, today, today + NOTIFY_WINDOW_DAYS, notify_collect, &c);
    for (size_t i = 0; !e && i < c.n; i += NOTIFY_ADD_CHUNK) {
        add_ctx a = {c.rows + i, c.n - i < NOTIFY_ADD_CHUNK ? c.n - i : NOTIFY_ADD_CHUNK, now};
        bool failed;
        e = reg_write(reg, notify_add_fn, &a, &failed);
    }
    reg_pool_put(n->pool, reg);
    for (size_t i = 0; i < c.n; i++)
        free(c.rows[i].payload);
    free(c.rows);
    return e;
}

typedef struct claim_ctx {
    notify *n;
    int64_t now;
    reg_outbox_item *items;
    size_t count;
} claim_ctx;

/* reg_write fn: claim up to claim_max due rows for this instance. */
static ecred_err notify_claim_fn(reg_db *db, void *ctx)
{
    claim_ctx *c = ctx;
    /* A rerun (CONTRACT 4) starts from nothing claimed. */
    reg_outbox_items_free(c->items, c->count);
    c->count = 0;
    return reg_outbox_claim(db, c->n->owner, c->now, c->now + (int64_t)c->n->lease_s, NOTIFY_ATTEMPTS_MAX,
                            c->n->claim_max, c->items, &c->count);
}

typedef struct record_ctx {
    const char *key, *owner;
    bool ok, release;
    int64_t status, now, next_at;
} record_ctx;

/* reg_write fn: record an attempt, or release the row unsent. */
static ecred_err notify_record_fn(reg_db *db, void *ctx)
{
    const record_ctx *r = ctx;
    if (r->release)
        return reg_outbox_release(db, r->key, r->owner);
    return reg_outbox_record(db, r->key, r->owner, r->ok, r->status, r->now, r->next_at);
}

/* Record one attempt's outcome (or give the row back unsent). */
static void notify_record(notify *n, const reg_outbox_item *d, long status, bool ok, bool release,
                          int64_t now)
{
    int64_t attempts = d->attempts + 1;
    int64_t backoff = (int64_t)n->interval_s;
    for (int64_t i = 1; i < attempts && backoff < NOTIFY_BACKOFF_MAX_S; i++)
        backoff *= 2;
    if (backoff > NOTIFY_BACKOFF_MAX_S)
        backoff = NOTIFY_BACKOFF_MAX_S;
    record_ctx r = {d->key, n->owner, ok, release, status, now, now + backoff};
    reg_db *db = reg_pool_get(n->pool);
    bool failed;
    ecred_err e = reg_write(db, notify_record_fn, &r, &failed);
    reg_pool_put(n->pool, db);
    if (e == ECRED_ERR_KEY_UNKNOWN)
        svc_log(SVC_WARNING, "reminder lease lost before its outcome was recorded; another instance retries it",
                "key", d->key);
    else if (e)
        svc_log(SVC_WARNING, "reminder outcome not recorded; the lease's end makes it due again", "key",
                d->key);
}

/* Deliver every row that is due, claiming a few at a time. now is the
 * round's clock; real time elapsed since start is added to it, so a test's
 * artificial clock still sees deliveries take time. */
static ecred_err notify_deliver(notify *n, int64_t now)
{
    const time_t start = time(NULL);
    reg_outbox_item *items = calloc(n->claim_max, sizeof *items);
    if (!items)
        return ECRED_ERR_NOMEM;
    ecred_err e = ECRED_OK;
    size_t done = 0;
    while (done < NOTIFY_ROUND_MAX && !notify_stopping(n)) {
        claim_ctx c = {n, now + (int64_t)(time(NULL) - start), items, 0};
        reg_db *db = reg_pool_get(n->pool);
        bool failed;
        e = reg_write(db, notify_claim_fn, &c, &failed);
        reg_pool_put(n->pool, db);
        if (e || c.count == 0) {
            /* A claim that ran but did not commit may have filled items. */
            reg_outbox_items_free(items, c.count);
            break;
        }
        const int64_t lease_until = c.now + (int64_t)n->lease_s;
        for (size_t i = 0; i < c.count; i++) {
            int64_t t = now + (int64_t)(time(NULL) - start);
            if (notify_stopping(n) || t + NOTIFY_TIMEOUT_S + 1 >= lease_until) {
                /* Not enough lease left for one request: give it back. */
                notify_record(n, &items[i], 0, false, true, t);
                continue;
            }
            outcall_req q = {n->webhook, "application/json", items[i].payload, items[i].key, 4096,
                             NOTIFY_TIMEOUT_S * 1000L};
            ecred_buf ans = ECRED_BUF_INIT;
            long status = 0;
            ecred_err oe = outcall_do(&q, &status, &ans);
            ecred_buf_free(&ans);
            bool ok = oe == ECRED_OK && status >= 200 && status < 300;
            notify_record(n, &items[i], oe ? 0 : status, ok, false, now + (int64_t)(time(NULL) - start));
            if (!ok)
                svc_log(SVC_WARNING, "reminder delivery failed; will retry", "key", items[i].key);
            done++;
        }
        reg_outbox_items_free(items, c.count);
    }
    free(items);
    return e;
}

ecred_err notify_round(notify *n, int64_t now)
{
    ecred_err e = notify_scan(n, now);
    ecred_err d = notify_deliver(n, now);
    return e ? e : d;
}

static void *notify_thread(void *arg)
{
    notify *n = arg;
    for (;;) {
        ecred_err e = notify_round(n, (int64_t)time(NULL));
        if (e)
            svc_log(SVC_WARNING, "reminder outbox round failed", "error", ecred_err_name(e));
        pthread_mutex_lock(&n->stop_lock);
        if (!n->stopping) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += (time_t)n->interval_s;
            pthread_cond_timedwait(&n->stop_cond, &n->stop_lock, &until);
        }
        bool stop = n->stopping;
        pthread_mutex_unlock(&n->stop_lock);
        if (stop)
            break;
    }
    return NULL;
}

ecred_err notify_get_stats(notify *n, notify_stats *out)
{
    memset(out, 0, sizeof *out);
    reg_outbox_stats s;
    reg_db *db = reg_pool_get(n->pool);
    ecred_err e = reg_outbox_get_stats(db, NOTIFY_ATTEMPTS_MAX, (int64_t)time(NULL), &s);
    reg_pool_put(n->pool, db);
    if (e)
        return e;
    out->queued = s.queued;
    out->delivered = s.delivered;
    out->pending = s.pending;
    out->failed_attempts = s.failed_attempts;
    out->given_up = s.given_up;
    out->leased = s.leased;
    return ECRED_OK;
}
