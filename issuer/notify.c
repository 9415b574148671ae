/*
 * notify.c - reminder outbox and its delivery thread (see notify.h).
 *
 * Backoff after a failed attempt k (1-based): interval * 2^(k-1), capped at
 * NOTIFY_BACKOFF_MAX_S, so a gateway that is down for an hour is not
 * hammered and one that blinked is retried at the next round.
 *
 * Must never: hold the outbox lock across a network call longer than one
 * delivery (the webhook timeout bounds it), or log the payload (it names a
 * resident).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sqlite3.h>

#include "ecred/crypto.h"
#include "ecred/cst.h"
#include "ecred/credential.h"
#include "notify.h"
#include "outcall.h"
#include "svc_log.h"

#define NOTIFY_TIMEOUT_MS 5000L

struct notify {
    char *webhook;
    unsigned interval_s;
    reg_pool *pool;
    sqlite3 *db;
    pthread_mutex_t lock;   /* the outbox connection */
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    bool stopping, started;
    pthread_t thread;
};

static const char NOTIFY_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS outbox ("
    " key TEXT PRIMARY KEY,"
    " payload TEXT NOT NULL,"
    " created_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0,"
    " next_at INTEGER NOT NULL,"
    " delivered_at INTEGER,"
    " last_status INTEGER);";

static void *notify_thread(void *arg);

ecred_err notify_start(const notify_config *cfg, notify **out)
{
    if (!cfg->webhook || !cfg->outbox_path || !cfg->pool)
        return ECRED_ERR_ARG;
    if (strlen(cfg->webhook) > OUTCALL_URL_MAX ||
        (strncmp(cfg->webhook, "http://", 7) != 0 && strncmp(cfg->webhook, "https://", 8) != 0))
        return ECRED_ERR_INPUT;
    notify *n = calloc(1, sizeof *n);
    if (!n)
        return ECRED_ERR_NOMEM;
    n->webhook = strdup(cfg->webhook);
    n->interval_s = cfg->interval_s ? cfg->interval_s : 300;
    n->pool = cfg->pool;
    pthread_mutex_init(&n->lock, NULL);
    pthread_mutex_init(&n->stop_lock, NULL);
    pthread_cond_init(&n->stop_cond, NULL);
    ecred_err e = ECRED_ERR_IO;
    if (!n->webhook)
        goto fail;
    if (sqlite3_open_v2(cfg->outbox_path, &n->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(n->db, 5000);
    if (sqlite3_exec(n->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(n->db, NOTIFY_SCHEMA, NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
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
    sqlite3_close(n->db);
    pthread_cond_destroy(&n->stop_cond);
    pthread_mutex_destroy(&n->stop_lock);
    pthread_mutex_destroy(&n->lock);
    free(n->webhook);
    free(n);
}

typedef struct scan_ctx {
    notify *n;
    reg_db *reg;
    int64_t now;
    ecred_err e;
} scan_ctx;

/* reg_reminders callback: one outbox row per (credential, due, day). */
static ecred_err notify_enqueue(void *ctx, const char *id, const char *due, int32_t day)
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
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->n->db,
                                "INSERT OR IGNORE INTO outbox(key, payload, created_at, next_at) VALUES(?,?,?,?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, text, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 3, c->now);
        sqlite3_bind_int64(st, 4, c->now);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    free(text);
    if (rc != SQLITE_DONE)
        c->e = ECRED_ERR_IO;
    return ECRED_OK;
}

/* Scan the registry for reminders due within the window into the outbox. */
static ecred_err notify_scan(notify *n, int64_t now)
{
    reg_db *reg = reg_pool_get(n->pool);
    int32_t today = ecred_cst_day_of(now);
    scan_ctx c = {n, reg, now, ECRED_OK};
    pthread_mutex_lock(&n->lock);
    sqlite3_exec(n->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    ecred_err e = reg_reminders(reg, today, today + NOTIFY_WINDOW_DAYS, notify_enqueue, &c);
    if (!e)
        e = c.e;
    sqlite3_exec(n->db, e ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
    pthread_mutex_unlock(&n->lock);
    reg_pool_put(n->pool, reg);
    return e;
}

typedef struct due_row {
    char key[40];
    char *payload;
    int64_t attempts;
} due_row;

/* Record one attempt's outcome. */
static void notify_record(notify *n, const due_row *d, long status, bool ok, int64_t now)
{
    int64_t attempts = d->attempts + 1;
    int64_t backoff = (int64_t)n->interval_s;
    for (int64_t i = 1; i < attempts && backoff < NOTIFY_BACKOFF_MAX_S; i++)
        backoff *= 2;
    if (backoff > NOTIFY_BACKOFF_MAX_S)
        backoff = NOTIFY_BACKOFF_MAX_S;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&n->lock);
    if (sqlite3_prepare_v2(n->db,
                           "UPDATE outbox SET attempts=?, last_status=?, next_at=?,"
                           " delivered_at=CASE WHEN ? THEN ? ELSE NULL END WHERE key=?",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, attempts);
        sqlite3_bind_int64(st, 2, status);
        sqlite3_bind_int64(st, 3, now + backoff);
        sqlite3_bind_int(st, 4, ok);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_text(st, 6, d->key, -1, SQLITE_TRANSIENT);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&n->lock);
}

/* Deliver every row that is due, one request each. */
static ecred_err notify_deliver(notify *n, int64_t now)
{
    due_row rows[NOTIFY_BATCH];
    size_t k = 0;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&n->lock);
    int rc = sqlite3_prepare_v2(n->db,
                                "SELECT key, payload, attempts FROM outbox WHERE delivered_at IS NULL"
                                " AND attempts < ? AND next_at <= ? ORDER BY next_at LIMIT ?",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, NOTIFY_ATTEMPTS_MAX);
        sqlite3_bind_int64(st, 2, now);
        sqlite3_bind_int(st, 3, NOTIFY_BATCH);
        while (k < NOTIFY_BATCH && sqlite3_step(st) == SQLITE_ROW) {
            snprintf(rows[k].key, sizeof rows[k].key, "%s", (const char *)sqlite3_column_text(st, 0));
            rows[k].payload = strdup((const char *)sqlite3_column_text(st, 1));
            rows[k].attempts = sqlite3_column_int64(st, 2);
            if (rows[k].payload)
                k++;
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&n->lock);
    if (rc != SQLITE_OK)
        return ECRED_ERR_IO;
    for (size_t i = 0; i < k; i++) {
        outcall_req q = {n->webhook, "application/json", rows[i].payload, rows[i].key, 4096,
                         NOTIFY_TIMEOUT_MS};
        ecred_buf ans = ECRED_BUF_INIT;
        long status = 0;
        ecred_err e = outcall_do(&q, &status, &ans);
        ecred_buf_free(&ans);
        bool ok = e == ECRED_OK && status >= 200 && status < 300;
        notify_record(n, &rows[i], e ? 0 : status, ok, now);
        if (!ok)
            svc_log(SVC_WARNING, "reminder delivery failed; will retry", "key", rows[i].key);
        free(rows[i].payload);
    }
    return ECRED_OK;
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
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&n->lock);
    int rc = sqlite3_prepare_v2(n->db,
                                "SELECT count(*), count(delivered_at),"
                                " sum(delivered_at IS NULL AND attempts < ?),"
                                " sum(attempts) - count(delivered_at),"
                                " sum(delivered_at IS NULL AND attempts >= ?) FROM outbox",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, NOTIFY_ATTEMPTS_MAX);
        sqlite3_bind_int(st, 2, NOTIFY_ATTEMPTS_MAX);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            out->queued = (uint64_t)sqlite3_column_int64(st, 0);
            out->delivered = (uint64_t)sqlite3_column_int64(st, 1);
            out->pending = (uint64_t)sqlite3_column_int64(st, 2);
            out->failed_attempts = (uint64_t)sqlite3_column_int64(st, 3);
            out->given_up = (uint64_t)sqlite3_column_int64(st, 4);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&n->lock);
    return rc == SQLITE_ROW ? ECRED_OK : ECRED_ERR_IO;
}
