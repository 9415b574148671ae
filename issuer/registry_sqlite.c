/*
 * registry_sqlite.c - the SQLite backend of registry.h (its ops table,
 * reg_sqlite_ops; urls "sqlite:PATH" or a bare PATH).
 *
 * Durability: WAL with synchronous=FULL, so every COMMIT that returned has
 * been fsynced; a kill -9 loses only transactions that never returned.
 * Concurrency: writers use BEGIN IMMEDIATE and a busy timeout, so concurrent
 * approvals serialise instead of failing. Status indices are never reused
 * because credential rows are never deleted and UNIQUE(list_id, idx) holds.
 * Group commit (reg_write on a pool): SQLite commits one transaction per
 * fsync and holds the write lock through it, so a pool's writes queue and
 * whichever waiting thread finds no batch running becomes the leader: it
 * runs everything queued (up to REG_BATCH_MAX) on the pool's writer
 * connection in one transaction, each item in a savepoint, COMMITs once and
 * wakes the others with their results. Nobody is told "done" before the
 * COMMIT that holds their write returned.
 *
 * Must never: print, exit, or build SQL by pasting values (everything binds).
 */
#include "registry_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ecred/crypto.h"
#include "ecred/slist.h"

#define REG_BUSY_TIMEOUT_MS 10000
/* Statements one connection keeps prepared (reg_prep): the registry has about
 * fifty distinct ones, the hot path of an approval about twenty. */
#define REG_STMT_CACHE 96
#define REG_POOL_MAX 16
/* Writes per group commit at most: bounds how long the first of a batch
 * waits for the others (each runs its SQL; approvals sign before they queue). */
#define REG_BATCH_MAX 64
#define REG_STR2(x) #x
#define REG_STR(x) REG_STR2(x)
#define REG_SCHEMA_VERSION_TEXT REG_STR(REG_SCHEMA_VERSION)

typedef struct sq_db sq_db;
typedef struct sq_pool sq_pool;

struct sq_db {
    reg_db base;               /* first member: a reg_db * of this backend is an sq_db * */
    sqlite3 *h;
    uint32_t list_size;
    pthread_mutex_t *write_mu; /* the pool's writer lock; NULL outside a pool */
    bool holds_write;          /* write_mu is held by this connection's transaction */
    sq_pool *pool;            /* the pool whose writer runs reg_write; NULL outside one */
    char status_prefix[REG_URI_MAX + 1]; /* new lists record prefix + id; "" none */
    int schema_found, schema_now;        /* versions at open, after migration */
    /* Prepared statements kept for reuse (reg_prep/reg_fin): parsing and
     * planning a statement cost more than running it, and an approval runs
     * about twenty (measured: sqlite3_prepare_v2 was 43 % of an approving
     * daemon's CPU before this cache). Keyed by the SQL text. */
    struct sq_stmt_slot {
        uint64_t hash;
        char *sql;             /* owned copy; NULL: free slot */
        sqlite3_stmt *st;
        bool busy;             /* handed out and not yet given back */
    } stmts[REG_STMT_CACHE];
};

/* This backend's connection behind a reg_db of its own (base is first). */
static sq_db *sq_db_of(reg_db *db)
{
    return (sq_db *)db;
}

static sq_pool *sq_pool_of(reg_pool *p)
{
    return (sq_pool *)p;
}

static void sq_conn_close(sq_db *db);
static void sq_pool_free(sq_pool *p);
static void sq_rollback(reg_db *base);

struct sq_pool {
    reg_pool base;             /* first member, as in sq_db */
    pthread_mutex_t mu;
    /* Writers of one pool queue here before BEGIN IMMEDIATE. SQLite's busy
     * handler would otherwise make them poll with sleeps of up to 100 ms, so
     * under concurrent approvals a writer could lose the race for the lock
     * many times (bench/RESULTS.md: p99 ~0.4 s at 16 clients). Other
     * processes on the same file still wait in the busy handler. */
    pthread_mutex_t write_mu;
    pthread_cond_t cv;
    sq_db *free_dbs[REG_POOL_MAX];
    unsigned nfree;
    sq_db *all[REG_POOL_MAX];
    unsigned nall;
    /* Group commit (reg_gc, registry.c) and the one connection batches run on. */
    reg_gc gc;
    sq_db *writer;
};

static const char reg_schema[] =
    "CREATE TABLE IF NOT EXISTS tokens("
    " hash BLOB PRIMARY KEY, role TEXT NOT NULL CHECK(role IN('clerk','officer','admin')),"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS applications("
    " id TEXT PRIMARY KEY, kind TEXT NOT NULL, state TEXT NOT NULL, id_number TEXT NOT NULL,"
    " credential_json TEXT NOT NULL, replaces TEXT, commitment_ref TEXT,"
    " submitted_at INTEGER NOT NULL, submitted_by TEXT NOT NULL, decided_at INTEGER,"
    " decided_by TEXT, reject_reason TEXT, credential_id TEXT, issued_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS idempotency("
    " key TEXT PRIMARY KEY, request_hash BLOB NOT NULL, application_id TEXT NOT NULL,"
    " created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS commitments("
    " ref TEXT PRIMARY KEY, application_id TEXT NOT NULL, text TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, created_at INTEGER NOT NULL, confirmed_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS status_lists("
    " id INTEGER PRIMARY KEY, size INTEGER NOT NULL, used INTEGER NOT NULL DEFAULT 0,"
    " generation INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS credentials("
    " id TEXT PRIMARY KEY, application_id TEXT NOT NULL UNIQUE, type INTEGER NOT NULL,"
    " id_number TEXT NOT NULL, list_id INTEGER NOT NULL REFERENCES status_lists(id),"
    " idx INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0, qr_text TEXT NOT NULL,"
    " credential_json TEXT NOT NULL, valid_until INTEGER NOT NULL,"
    " endorsement_date INTEGER NOT NULL, issued_at INTEGER NOT NULL, replaced_by TEXT,"
    " UNIQUE(list_id, idx));"
    "CREATE INDEX IF NOT EXISTS credentials_by_holder ON credentials(id_number, issued_at);"
    "CREATE INDEX IF NOT EXISTS credentials_by_expiry ON credentials(valid_until);"
    "CREATE INDEX IF NOT EXISTS credentials_by_endorsement ON credentials(endorsement_date);"
    "CREATE TABLE IF NOT EXISTS status_events("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, credential_id TEXT NOT NULL,"
    " old_status INTEGER NOT NULL, new_status INTEGER NOT NULL, action TEXT NOT NULL,"
    " reason TEXT, actor TEXT NOT NULL, at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS status_events_by_credential ON status_events(credential_id, seq);"
    /* Added with the PostgreSQL backend: older files get it at their next open. */
    "CREATE TABLE IF NOT EXISTS list_tokens("
    " list_id INTEGER PRIMARY KEY REFERENCES status_lists(id), generation INTEGER NOT NULL,"
    " iat INTEGER NOT NULL, token BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS audit_log("
    " seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
    " actor TEXT NOT NULL, prev BLOB NOT NULL, hash BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS holder_bindings("
    " application_id TEXT PRIMARY KEY, x BLOB NOT NULL CHECK(length(x) = 32),"
    " y_sign INTEGER NOT NULL, generation INTEGER NOT NULL, bound_at INTEGER NOT NULL);"
    /* Issue 10: list builds (sq_list_entries) read only the non-VALID entries
     * from this partial index instead of scanning every credential. Its WHERE
     * is the query's own term, which is what lets SQLite use it; older files
     * get it at their next open. */
    "CREATE INDEX IF NOT EXISTS credentials_nonvalid ON credentials(list_id, idx, status) WHERE status <> 0;";

/* Schema migrations, one per version step, applied in order inside the
 * opening transaction: migrations[k] takes version k+1 to k+2. Append only;
 * an applied step is never edited (registries in the field ran it). */
static const char *const reg_migrations[] = {
    /* 1 -> 2 (issue 17): the URI each list was opened with, lists a restore
     * closed, token labels and expiry, backup/restore records, the work
     * queue's index. */
    "ALTER TABLE status_lists ADD COLUMN uri TEXT;"
    "ALTER TABLE status_lists ADD COLUMN closed INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE tokens ADD COLUMN label TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tokens ADD COLUMN expires_at INTEGER;"
    "CREATE TABLE registry_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE INDEX applications_by_state ON applications(state, submitted_at, id);",
    /* 2 -> 3 (issue 10): constant-time index allocation. Each list gets a
     * secret permutation key and a cursor (registry.h "status lists"). Lists
     * from before have random indices the permutation would collide with:
     * their cursor is set to the end, so they take no new credential and
     * the next approval opens a new list (at most one list's free entries
     * are left unused, once). */
    "ALTER TABLE status_lists ADD COLUMN perm_key BLOB;"
    "ALTER TABLE status_lists ADD COLUMN next_pos INTEGER NOT NULL DEFAULT 0;"
    "UPDATE status_lists SET next_pos = size;",
    /* 3 -> 4 (shared resident sessions): resident login states, sessions and the reminder
     * outbox move here from each instance's memory and DATA/outbox.sqlite,
     * so every instance on one registry sees the same ones. */
    "CREATE TABLE resident_logins(state_hash BLOB PRIMARY KEY CHECK(length(state_hash) = 32),"
    " nonce TEXT NOT NULL, verifier TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL);"
    "CREATE INDEX resident_logins_expiry ON resident_logins(expires_at);"
    "CREATE TABLE resident_sessions(hash BLOB PRIMARY KEY CHECK(length(hash) = 32),"
    " who TEXT NOT NULL, name TEXT NOT NULL, id_number TEXT NOT NULL,"
    " csrf_hash BLOB NOT NULL CHECK(length(csrf_hash) = 32), created_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL, last_seen INTEGER NOT NULL);"
    "CREATE INDEX resident_sessions_expiry ON resident_sessions(expires_at);"
    "CREATE TABLE outbox(key TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL, delivered_at INTEGER,"
    " last_status INTEGER, lease_owner TEXT, lease_until INTEGER);"
    "CREATE INDEX outbox_due ON outbox(next_at) WHERE delivered_at IS NULL;",
};
#define REG_N_MIGRATIONS (sizeof reg_migrations / sizeof reg_migrations[0])
_Static_assert(REG_N_MIGRATIONS + 1 == REG_SCHEMA_VERSION, "one migration per schema version step");

/* Inside a write transaction: create the version-1 tables if missing, then
 * migrate to REG_SCHEMA_VERSION. *found: 0 for a new registry, else the
 * version it had. ECRED_ERR_UNSUPPORTED for a registry newer than this build. */
static ecred_err reg_migrate(sqlite3 *h, int *found)
{
    sqlite3_stmt *st = NULL;
    bool fresh = true;
    if (sqlite3_prepare_v2(h, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'applications'",
                           -1, &st, NULL) != SQLITE_OK)
        return ECRED_ERR_IO;
    fresh = sqlite3_step(st) != SQLITE_ROW;
    sqlite3_finalize(st);
    if (sqlite3_exec(h, reg_schema, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(h, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL);", NULL,
                     NULL, NULL) != SQLITE_OK)
        return ECRED_ERR_IO;
    int version = 1; /* no row: the schema before versions were recorded */
    if (sqlite3_prepare_v2(h, "SELECT MAX(version) FROM schema_version", -1, &st, NULL) != SQLITE_OK)
        return ECRED_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    *found = fresh ? 0 : version;
    if (version > REG_SCHEMA_VERSION || version < 1)
        return ECRED_ERR_UNSUPPORTED;
    for (int v = version; v < REG_SCHEMA_VERSION; v++)
        if (sqlite3_exec(h, reg_migrations[v - 1], NULL, NULL, NULL) != SQLITE_OK)
            return ECRED_ERR_IO;
    if (version != REG_SCHEMA_VERSION || !fresh) {
        if (sqlite3_exec(h, "DELETE FROM schema_version; INSERT INTO schema_version VALUES(" 
                            REG_SCHEMA_VERSION_TEXT ");", NULL, NULL, NULL) != SQLITE_OK)
            return ECRED_ERR_IO;
    } else if (sqlite3_exec(h, "INSERT INTO schema_version SELECT " REG_SCHEMA_VERSION_TEXT
                               " WHERE NOT EXISTS (SELECT 1 FROM schema_version);",
                            NULL, NULL, NULL) != SQLITE_OK) {
        return ECRED_ERR_IO;
    }
    return ECRED_OK;
}

/* Map an SQLite result to our enum: constraint violations are the caller's
 * "exists", everything else is I/O. */
static ecred_err reg_map(int rc)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return ECRED_OK;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        return ECRED_ERR_EXISTS;
    if (rc == SQLITE_NOMEM)
        return ECRED_ERR_NOMEM;
    return ECRED_ERR_IO;
}

/* FNV-1a of the SQL text: the statement cache's key. */
static uint64_t reg_sql_hash(const char *sql)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
        h = (h ^ *p) * 0x100000001b3u;
    return h;
}

/* A prepared statement for sql, ready to bind and step; NULL on failure (the
 * caller maps that to ECRED_ERR_IO). Give it back with reg_fin, never
 * sqlite3_finalize. A statement of the cache is reused (reset, bindings
 * cleared) when it is not handed out already; a second concurrent use of the
 * same text on this connection, or a full cache, gets a statement of its own
 * that reg_fin finalizes. */
static sqlite3_stmt *reg_prep(sq_db *db, const char *sql)
{
    uint64_t h = reg_sql_hash(sql);
    struct sq_stmt_slot *free_slot = NULL;
    for (size_t i = 0; i < REG_STMT_CACHE; i++) {
        struct sq_stmt_slot *s = &db->stmts[i];
        if (!s->sql) {
            if (!free_slot)
                free_slot = s;
            continue;
        }
        if (s->hash == h && !s->busy && strcmp(s->sql, sql) == 0) {
            s->busy = true;
            return s->st;
        }
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->h, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, &st, NULL) !=
        SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    if (free_slot && (free_slot->sql = strdup(sql)) != NULL) {
        free_slot->hash = h;
        free_slot->st = st;
        free_slot->busy = true;
    }
    return st;
}

/* Give back a statement of reg_prep: reset for the next use when it is the
 * cache's (so it holds no read transaction open), finalized otherwise.
 * db may be NULL for a statement prepared outside the cache. */
static void reg_fin(sq_db *db, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; db && i < REG_STMT_CACHE; i++) {
        if (db->stmts[i].st == st && db->stmts[i].sql) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            db->stmts[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(st);
}

/* Run one SQL statement without results through the cache (BEGIN, COMMIT,
 * SAVEPOINT...: sqlite3_exec would parse them on every call). Returns the
 * SQLite result code, SQLITE_OK on success. */
static int reg_exec1(sq_db *db, const char *sql)
{
    sqlite3_stmt *st = reg_prep(db, sql);
    if (!st)
        return sqlite3_errcode(db->h) != SQLITE_OK ? sqlite3_errcode(db->h) : SQLITE_ERROR;
    int rc = sqlite3_step(st);
    reg_fin(db, st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* Finalize every cached statement (before the connection closes). */
static void reg_stmt_cache_clear(sq_db *db)
{
    for (size_t i = 0; i < REG_STMT_CACHE; i++) {
        if (db->stmts[i].sql) {
            sqlite3_finalize(db->stmts[i].st);
            free(db->stmts[i].sql);
        }
        memset(&db->stmts[i], 0, sizeof db->stmts[i]);
    }
}

/* Bind text, or NULL for an empty or absent string. */
static int reg_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (!s || !*s)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

/* Copy a text column into a fixed buffer ("" for NULL); truncation cannot
 * happen for our own rows, but a tampered file must not overflow. */
static void reg_col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    size_t n = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, t, n);
    out[n] = 0;
}

/* Heap copy of a text column (NULL for NULL); ECRED_ERR_TOO_LARGE over the cap. */
static ecred_err reg_col_dup(sqlite3_stmt *st, int i, char **out)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (!t) {
        *out = NULL;
        return ECRED_OK;
    }
    size_t n = (size_t)sqlite3_column_bytes(st, i);
    if (n > REG_TEXT_MAX)
        return ECRED_ERR_TOO_LARGE;
    char *p = malloc(n + 1);
    if (!p)
        return ECRED_ERR_NOMEM;
    memcpy(p, t, n);
    p[n] = 0;
    *out = p;
    return ECRED_OK;
}

/* Run a statement that returns no rows to completion. */
static ecred_err reg_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    ecred_err e = rc == SQLITE_DONE ? ECRED_OK : reg_map(rc);
    if (rc == SQLITE_ROW)
        e = ECRED_ERR_INTERNAL;
    return e;
}

/* Process-wide SQLite settings, once, before the first connection (they
 * must precede sqlite3_initialize): memory statistics off, because keeping
 * them takes one global mutex on every allocation of every connection, and
 * the pool's threads contended on it (futex waits were a fifth of an
 * approving daemon's CPU). Another library that initialised SQLite first
 * leaves the defaults: correct, only slower. */
static void reg_sqlite_global_config(void)
{
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static ecred_err sq_conn_open(const char *path, sq_db **out)
{
    static pthread_once_t config_once = PTHREAD_ONCE_INIT;
    pthread_once(&config_once, reg_sqlite_global_config);
    ecred_err e = ECRED_ERR_IO;
    sq_db *db = calloc(1, sizeof *db);
    if (!db)
        return ECRED_ERR_NOMEM;
    db->base.ops = &reg_sqlite_ops;
    db->list_size = REG_LIST_SIZE_DEFAULT;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK)
        goto out;
    sqlite3_busy_timeout(db->h, REG_BUSY_TIMEOUT_MS);
    /* journal_mode returns a row; exec ignores it. WAL keeps readers (status
     * list builds) off the writers' path. */
    if (sqlite3_exec(db->h, "PRAGMA journal_mode=WAL;", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db->h, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", NULL, NULL,
                     NULL) != SQLITE_OK)
        goto out;
    if (reg_exec1(db, "BEGIN IMMEDIATE") != SQLITE_OK)
        goto out;
    if ((e = reg_migrate(db->h, &db->schema_found)) != ECRED_OK) {
        reg_exec1(db, "ROLLBACK");
        goto out;
    }
    e = ECRED_ERR_IO;
    db->schema_now = REG_SCHEMA_VERSION;
    if (reg_exec1(db, "COMMIT") != SQLITE_OK)
        goto out;
    *out = db;
    db = NULL;
    e = ECRED_OK;
out:
    sq_conn_close(db);
    return e;
}

static ecred_err sq_open(const char *path, reg_db **out)
{
    sq_db *db = NULL;
    ecred_err e = sq_conn_open(path, &db);
    if (!e)
        *out = &db->base;
    return e;
}

static void sq_conn_close(sq_db *db)
{
    if (!db)
        return;
    reg_stmt_cache_clear(db);
    sqlite3_close_v2(db->h);
    free(db);
}

static void sq_close(reg_db *base)
{
    sq_conn_close(sq_db_of(base));
}

static void sq_set_list_size(reg_db *base, uint32_t size)
{
    sq_db *db = sq_db_of(base);
    if (size >= 8)
        db->list_size = size;
}

static void sq_pool_set_list_size(reg_pool *base, uint32_t size)
{
    sq_pool *p = sq_pool_of(base);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nall; i++)
        sq_set_list_size(&p->all[i]->base, size);
    pthread_mutex_unlock(&p->mu);
    /* Only the writer opens lists; set under the queue's lock. */
    pthread_mutex_lock(&p->gc.mu);
    sq_set_list_size(&p->writer->base, size);
    pthread_mutex_unlock(&p->gc.mu);
}

static ecred_err sq_pool_open(const char *path, unsigned size, reg_pool **out)
{
    if (size == 0 || size > REG_POOL_MAX)
        return ECRED_ERR_ARG;
    sq_pool *p = calloc(1, sizeof *p);
    if (!p)
        return ECRED_ERR_NOMEM;
    p->base.ops = &reg_sqlite_ops;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->write_mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    reg_gc_init(&p->gc, REG_BATCH_MAX);
    ecred_err e = sq_conn_open(path, &p->writer);
    if (e) {
        sq_pool_free(p);
        return e;
    }
    /* The writer takes write_mu too, so a plain reg_begin_write on a pool
     * connection still queues behind a batch instead of busy-polling. */
    p->writer->write_mu = &p->write_mu;
    for (unsigned i = 0; i < size; i++) {
        sq_db *db = NULL;
        e = sq_conn_open(path, &db);
        if (e) {
            sq_pool_free(p);
            return e;
        }
        db->write_mu = &p->write_mu;
        db->pool = p;
        p->all[p->nall++] = db;
        p->free_dbs[p->nfree++] = db;
    }
    *out = &p->base;
    return ECRED_OK;
}

static reg_db *sq_pool_get(reg_pool *base)
{
    sq_pool *p = sq_pool_of(base);
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    sq_db *db = p->free_dbs[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    return &db->base;
}

static void sq_pool_put(reg_pool *base, reg_db *db)
{
    sq_pool *p = sq_pool_of(base);
    /* A handler that bailed out mid-transaction must not leak it to the next. */
    sq_rollback(db);
    pthread_mutex_lock(&p->mu);
    p->free_dbs[p->nfree++] = sq_db_of(db);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void sq_pool_close(reg_pool *base)
{
    sq_pool_free(sq_pool_of(base));
}

static void sq_pool_free(sq_pool *p)
{
    if (!p)
        return;
    /* The caller stopped every thread that could call reg_write (the HTTP
     * server first), so no item is queued and no leader is running. */
    for (unsigned i = 0; i < p->nall; i++)
        sq_conn_close(p->all[i]);
    sq_conn_close(p->writer);
    reg_gc_destroy(&p->gc);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->write_mu);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* Release the pool's writer lock if this connection holds it. */
static void reg_write_unlock(sq_db *db)
{
    if (db->holds_write) {
        db->holds_write = false;
        pthread_mutex_unlock(db->write_mu);
    }
}

static ecred_err sq_begin_write(reg_db *base)
{
    sq_db *db = sq_db_of(base);
    if (db->write_mu) {
        if (db->holds_write)
            return ECRED_ERR_INTERNAL; /* nested write transaction: a bug, never a deadlock */
        pthread_mutex_lock(db->write_mu);
        db->holds_write = true;
    }
    ecred_err e = reg_map(reg_exec1(db, "BEGIN IMMEDIATE"));
    if (e)
        reg_write_unlock(db);
    return e;
}

static ecred_err sq_begin_read(reg_db *base)
{
    sq_db *db = sq_db_of(base);
    return reg_map(reg_exec1(db, "BEGIN DEFERRED"));
}

static ecred_err sq_commit(reg_db *base)
{
    sq_db *db = sq_db_of(base);
    int rc = reg_exec1(db, "COMMIT");
    if (rc != SQLITE_OK) {
        sq_rollback(&db->base);
        return reg_map(rc) ? reg_map(rc) : ECRED_ERR_IO;
    }
    reg_write_unlock(db);
    return ECRED_OK;
}

static void sq_rollback(reg_db *base)
{
    sq_db *db = sq_db_of(base);
    if (!sqlite3_get_autocommit(db->h))
        reg_exec1(db, "ROLLBACK");
    reg_write_unlock(db);
}

/* ---- group commit ---- */

/* Run one batch on the writer: BEGIN IMMEDIATE, each item in a savepoint,
 * one COMMIT. Sets every item's fn_err and result; an item's result is OK
 * only if its fn succeeded and the COMMIT returned. Called by
 * reg_gc_submit's leader without the queue's lock: the writer connection is
 * the leader's alone. */
static void reg_batch_run(void *writer, reg_gc_item *batch)
{
    sq_db *w = writer;
    ecred_err e = sq_begin_write(&w->base);
    /* Once the transaction is lost (an SQLite error that rolled it back, a
     * savepoint that would not unwind) no item after it may run. */
    bool broken = e != ECRED_OK;
    for (reg_gc_item *it = batch; it; it = it->next) {
        it->fn_err = ECRED_OK;
        if (broken) {
            it->result = e;
            continue;
        }
        if (reg_exec1(w, "SAVEPOINT reg_item") != SQLITE_OK) {
            broken = true;
            e = it->result = ECRED_ERR_IO;
            continue;
        }
        it->fn_err = it->fn(&w->base, it->ctx);
        it->result = it->fn_err;
        bool unwound = (!it->fn_err || reg_exec1(w, "ROLLBACK TO reg_item") == SQLITE_OK) &&
                       reg_exec1(w, "RELEASE reg_item") == SQLITE_OK;
        if (!unwound || sqlite3_get_autocommit(w->h)) {
            broken = true;
            e = ECRED_ERR_IO;
            if (!it->fn_err)
                it->result = e;
        }
    }
    if (!broken)
        e = sq_commit(&w->base);
    else
        sq_rollback(&w->base);
    /* A lost transaction or failed COMMIT undoes every item that had
     * succeeded; the items whose fn failed keep their own error (they wrote
     * nothing either way). */
    if (e) {
        for (reg_gc_item *it = batch; it; it = it->next)
            if (!it->fn_err)
                it->result = e;
    }
}

static ecred_err sq_write(reg_db *base, reg_write_fn fn, void *ctx, bool *fn_failed)
{
    sq_db *db = sq_db_of(base);
    reg_gc_item item;
    memset(&item, 0, sizeof item);
    item.fn = fn;
    item.ctx = ctx;
    if (db->pool) {
        reg_gc_submit(&db->pool->gc, &item, reg_batch_run, db->pool->writer);
    } else {
        item.result = sq_begin_write(&db->base);
        if (!item.result) {
            item.fn_err = item.result = fn(&db->base, ctx);
            if (!item.result)
                item.result = sq_commit(&db->base);
            sq_rollback(&db->base);
        }
    }
    *fn_failed = item.fn_err != ECRED_OK;
    return item.result;
}

static void sq_pool_write_stats(reg_pool *base, uint64_t *items, uint64_t *commits)
{
    reg_gc_stats(&sq_pool_of(base)->gc, items, commits);
}

/* ---- tokens ---- */

static ecred_err sq_token_add(reg_db *base, const uint8_t hash[32], const char *role, int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO tokens(hash, role, created_at) VALUES(?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_token_role(reg_db *base, const uint8_t hash[32], char role[16])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT role FROM tokens WHERE hash = ? AND (expires_at IS NULL"
                                    " OR expires_at > CAST(strftime('%s', 'now') AS INTEGER))");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ecred_err e = ECRED_OK;
    if (rc == SQLITE_ROW)
        reg_col_copy(st, 0, role, 16);
    else
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    reg_fin(db, st);
    return e;
}

/* ---- applications ---- */

static ecred_err sq_application_insert(reg_db *base, const reg_application *a)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "INSERT INTO applications(id, kind, state, id_number, credential_json, replaces,"
            " commitment_ref, submitted_at, submitted_by) VALUES(?,?,?,?,?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, a->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, a->kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, a->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, a->id_number, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, a->credential_json, -1, SQLITE_TRANSIENT);
    reg_bind_text_or_null(st, 6, a->replaces);
    reg_bind_text_or_null(st, 7, a->commitment_ref);
    sqlite3_bind_int64(st, 8, a->submitted_at);
    sqlite3_bind_text(st, 9, a->submitted_by, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

#define REG_APP_COLUMNS                                                                    \
    "SELECT id, kind, state, id_number, credential_json, replaces, commitment_ref,"         \
    " submitted_at, submitted_by, decided_at, decided_by, reject_reason,"                    \
    " credential_id, issued_at FROM applications "

/* One application row of REG_APP_COLUMNS into *out (owned by the caller). */
static ecred_err reg_application_row(sqlite3_stmt *st, reg_application *out)
{
    reg_application a;
    memset(&a, 0, sizeof a);
    ecred_err e = ECRED_OK;
    reg_col_copy(st, 0, a.id, sizeof a.id);
    reg_col_copy(st, 1, a.kind, sizeof a.kind);
    reg_col_copy(st, 2, a.state, sizeof a.state);
    reg_col_copy(st, 3, a.id_number, sizeof a.id_number);
    if ((e = reg_col_dup(st, 4, &a.credential_json)) != ECRED_OK)
        goto out;
    reg_col_copy(st, 5, a.replaces, sizeof a.replaces);
    reg_col_copy(st, 6, a.commitment_ref, sizeof a.commitment_ref);
    a.submitted_at = sqlite3_column_int64(st, 7);
    reg_col_copy(st, 8, a.submitted_by, sizeof a.submitted_by);
    a.decided_at = sqlite3_column_int64(st, 9);
    reg_col_copy(st, 10, a.decided_by, sizeof a.decided_by);
    if ((e = reg_col_dup(st, 11, &a.reject_reason)) != ECRED_OK)
        goto out;
    reg_col_copy(st, 12, a.credential_id, sizeof a.credential_id);
    a.issued_at = sqlite3_column_int64(st, 13);
    if (!a.credential_json) {
        e = ECRED_ERR_IO;
        goto out;
    }
    *out = a;
    memset(&a, 0, sizeof a);
out:
    reg_application_free(&a);
    return e;
}

static ecred_err sq_application_get(reg_db *base, const char *id, reg_application *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, REG_APP_COLUMNS "WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    ecred_err e;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        e = reg_application_row(st, out);
    else
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_application_set_issued(reg_db *base, const char *id, const char *credential_id,
                                     int64_t now, const char *actor)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "UPDATE applications SET state = 'issued', credential_id = ?, decided_at = ?,"
            " issued_at = ?, decided_by = ? WHERE id = ? AND state = 'submitted'");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, credential_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, id, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_INTERNAL;
    reg_fin(db, st);
    return e;
}

static ecred_err sq_application_set_rejected(reg_db *base, const char *id, const char *reason,
                                       int64_t now, const char *actor)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "UPDATE applications SET state = 'rejected', reject_reason = ?, decided_at = ?,"
            " decided_by = ? WHERE id = ? AND state = 'submitted'");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, reason, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_INTERNAL;
    reg_fin(db, st);
    return e;
}

/* ---- idempotency ---- */

static ecred_err sq_idem_get(reg_db *base, const char *key, uint8_t req_hash[32],
                       char app_id[REG_ID_LEN + 1])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st =
        reg_prep(db, "SELECT request_hash, application_id FROM idempotency WHERE key = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != 32) {
            e = ECRED_ERR_IO;
        } else {
            memcpy(req_hash, sqlite3_column_blob(st, 0), 32);
            reg_col_copy(st, 1, app_id, REG_ID_LEN + 1);
        }
    } else {
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    }
    reg_fin(db, st);
    return e;
}

static ecred_err sq_idem_put(reg_db *base, const char *key, const uint8_t req_hash[32],
                       const char *app_id, int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "INSERT INTO idempotency(key, request_hash, application_id, created_at) VALUES(?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, req_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, app_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

/* ---- commitments ---- */

static ecred_err sq_commitment_insert(reg_db *base, const reg_commitment *c)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO commitments(ref, application_id, text, sha256,"
                                    " created_at) VALUES(?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, c->ref, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->application_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, c->text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, c->sha256_hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, c->created_at);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_commitment_get(reg_db *base, const char *ref, reg_commitment *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT ref, application_id, text, sha256, created_at,"
                                    " confirmed_at FROM commitments WHERE ref = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
    reg_commitment c;
    memset(&c, 0, sizeof c);
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
        goto out;
    }
    reg_col_copy(st, 0, c.ref, sizeof c.ref);
    reg_col_copy(st, 1, c.application_id, sizeof c.application_id);
    if ((e = reg_col_dup(st, 2, &c.text)) != ECRED_OK)
        goto out;
    if (!c.text) {
        e = ECRED_ERR_IO;
        goto out;
    }
    reg_col_copy(st, 3, c.sha256_hex, sizeof c.sha256_hex);
    c.created_at = sqlite3_column_int64(st, 4);
    c.confirmed_at = sqlite3_column_int64(st, 5);
    *out = c;
    memset(&c, 0, sizeof c);
out:
    reg_commitment_free(&c);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_commitment_confirm(reg_db *base, const char *ref, int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "UPDATE commitments SET confirmed_at = ? WHERE ref = ? AND confirmed_at IS NULL");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_text(st, 2, ref, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

/* ---- credentials ---- */

static ecred_err sq_credential_insert(reg_db *base, const reg_credential *c)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "INSERT INTO credentials(id, application_id, type, id_number, list_id, idx, status,"
            " qr_text, credential_json, valid_until, endorsement_date, issued_at)"
            " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, c->id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, c->application_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, c->type);
    sqlite3_bind_text(st, 4, c->id_number, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, c->list_id);
    sqlite3_bind_int64(st, 6, c->idx);
    sqlite3_bind_int(st, 7, c->status);
    sqlite3_bind_text(st, 8, c->qr_text, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, c->credential_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 10, c->valid_until);
    sqlite3_bind_int(st, 11, c->endorsement_date);
    sqlite3_bind_int64(st, 12, c->issued_at);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    if (e)
        return e;
    /* Count the index as used in its list, in the same transaction. */
    st = reg_prep(db, "UPDATE status_lists SET used = used + 1 WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, c->list_id);
    e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_INTERNAL;
    reg_fin(db, st);
    return e;
}

#define REG_CRED_COLUMNS                                                                  \
    "SELECT id, application_id, type, id_number, list_id, idx, status, qr_text,"          \
    " credential_json, valid_until, endorsement_date, issued_at, replaced_by FROM credentials "

/* Read the current row of a credential query into out. */
static ecred_err reg_credential_row(sqlite3_stmt *st, reg_credential *out)
{
    reg_credential c;
    memset(&c, 0, sizeof c);
    ecred_err e = ECRED_OK;
    reg_col_copy(st, 0, c.id, sizeof c.id);
    reg_col_copy(st, 1, c.application_id, sizeof c.application_id);
    c.type = sqlite3_column_int(st, 2);
    reg_col_copy(st, 3, c.id_number, sizeof c.id_number);
    c.list_id = sqlite3_column_int64(st, 4);
    c.idx = sqlite3_column_int64(st, 5);
    c.status = sqlite3_column_int(st, 6);
    if ((e = reg_col_dup(st, 7, &c.qr_text)) != ECRED_OK ||
        (e = reg_col_dup(st, 8, &c.credential_json)) != ECRED_OK)
        goto out;
    if (!c.qr_text || !c.credential_json) {
        e = ECRED_ERR_IO;
        goto out;
    }
    c.valid_until = (int32_t)sqlite3_column_int(st, 9);
    c.endorsement_date = (int32_t)sqlite3_column_int(st, 10);
    c.issued_at = sqlite3_column_int64(st, 11);
    reg_col_copy(st, 12, c.replaced_by, sizeof c.replaced_by);
    *out = c;
    memset(&c, 0, sizeof c);
out:
    reg_credential_free(&c);
    return e;
}

/* Run a one-parameter credential query and read its first row. */
static ecred_err reg_credential_query(sq_db *db, const char *sql, const char *param,
                                      reg_credential *out)
{
    sqlite3_stmt *st = reg_prep(db, sql);
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    ecred_err e;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        e = reg_credential_row(st, out);
    else
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_credential_get(reg_db *base, const char *id, reg_credential *out)
{
    sq_db *db = sq_db_of(base);
    return reg_credential_query(db, REG_CRED_COLUMNS "WHERE id = ?", id, out);
}

/* ---- holder bindings ---- */

static ecred_err sq_holder_get(reg_db *base, const char *app_id, reg_holder *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st =
        reg_prep(db, "SELECT x, y_sign, generation, bound_at FROM holder_bindings WHERE application_id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_TRANSIENT);
    reg_holder h;
    memset(&h, 0, sizeof h);
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *x = sqlite3_column_blob(st, 0);
        int64_t gen = sqlite3_column_int64(st, 2);
        if (!x || sqlite3_column_bytes(st, 0) != 32 || gen < 0 || gen > UINT32_MAX) {
            e = ECRED_ERR_INTERNAL;
        } else {
            memcpy(h.x, x, 32);
            h.y_sign = sqlite3_column_int(st, 1) != 0;
            h.generation = (uint32_t)gen;
            h.bound_at = sqlite3_column_int64(st, 3);
            h.bound = true;
        }
    } else if (rc != SQLITE_DONE) {
        e = ECRED_ERR_IO;
    }
    reg_fin(db, st);
    if (!e)
        *out = h;
    return e;
}

static ecred_err sq_holder_put(reg_db *base, const char *app_id, const reg_holder *h)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT OR REPLACE INTO holder_bindings(application_id, x, y_sign,"
                                    " generation, bound_at) VALUES(?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, app_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 2, h->x, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, h->y_sign ? 1 : 0);
    sqlite3_bind_int64(st, 4, h->generation);
    sqlite3_bind_int64(st, 5, h->bound_at);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_credential_application(reg_db *base, const char *id, char app_id[REG_ID_LEN + 1])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT application_id FROM credentials WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
    ecred_err e = ECRED_ERR_KEY_UNKNOWN;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(st, 0);
        e = t && strlen((const char *)t) == REG_ID_LEN ? ECRED_OK : ECRED_ERR_INTERNAL;
        if (!e)
            memcpy(app_id, t, REG_ID_LEN + 1);
    } else if (rc != SQLITE_DONE) {
        e = ECRED_ERR_IO;
    }
    reg_fin(db, st);
    return e;
}

static ecred_err sq_credential_latest_for(reg_db *base, const char *id_number, reg_credential *out)
{
    sq_db *db = sq_db_of(base);
    return reg_credential_query(
        db, REG_CRED_COLUMNS "WHERE id_number = ? ORDER BY issued_at DESC, rowid DESC LIMIT 1",
        id_number, out);
}

static ecred_err sq_credential_set_replaced_by(reg_db *base, const char *id, const char *new_id)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "UPDATE credentials SET replaced_by = ? WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, new_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_KEY_UNKNOWN;
    reg_fin(db, st);
    return e;
}

static ecred_err sq_status_change(reg_db *base, const char *cred_id, int old_status, int new_status,
                            const char *action, const char *reason, const char *actor,
                            int64_t now)
{
    sq_db *db = sq_db_of(base);
    ecred_err e = ECRED_ERR_IO;
    /* The WHERE on the old status makes a lost race visible instead of silent. */
    sqlite3_stmt *st = reg_prep(db, "UPDATE credentials SET status = ? WHERE id = ? AND status = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int(st, 1, new_status);
    sqlite3_bind_text(st, 2, cred_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 3, old_status);
    e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_INTERNAL;
    reg_fin(db, st);
    if (e)
        return e;

    st = reg_prep(db, "INSERT INTO status_events(credential_id, old_status, new_status, action,"
                      " reason, actor, at) VALUES(?,?,?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, cred_id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, old_status);
    sqlite3_bind_int(st, 3, new_status);
    sqlite3_bind_text(st, 4, action, -1, SQLITE_TRANSIENT);
    reg_bind_text_or_null(st, 5, reason);
    sqlite3_bind_text(st, 6, actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, now);
    e = reg_step_done(st);
    reg_fin(db, st);
    if (e)
        return e;

    st = reg_prep(db, "UPDATE status_lists SET generation = generation + 1 WHERE id ="
                      " (SELECT list_id FROM credentials WHERE id = ?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, cred_id, -1, SQLITE_TRANSIENT);
    e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_status_events(reg_db *base, const char *cred_id, reg_status_event **out, size_t *n)
{
    sq_db *db = sq_db_of(base);
    /* A credential's history is short; the cap keeps a tampered file bounded. */
    enum { MAX_EVENTS = 1024 };
    sqlite3_stmt *st = reg_prep(db, "SELECT old_status, new_status, action, reason, actor, at"
                                    " FROM status_events WHERE credential_id = ? ORDER BY seq"
                                    " LIMIT 1024");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, cred_id, -1, SQLITE_TRANSIENT);
    reg_status_event *ev = NULL;
    size_t count = 0;
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == MAX_EVENTS) {
            e = ECRED_ERR_TOO_LARGE;
            goto out;
        }
        reg_status_event *grown = realloc(ev, (count + 1) * sizeof *ev);
        if (!grown) {
            e = ECRED_ERR_NOMEM;
            goto out;
        }
        ev = grown;
        reg_status_event *x = &ev[count];
        memset(x, 0, sizeof *x);
        count++;
        x->old_status = sqlite3_column_int(st, 0);
        x->new_status = sqlite3_column_int(st, 1);
        reg_col_copy(st, 2, x->action, sizeof x->action);
        if ((e = reg_col_dup(st, 3, &x->reason)) != ECRED_OK)
            goto out;
        reg_col_copy(st, 4, x->actor, sizeof x->actor);
        x->at = sqlite3_column_int64(st, 5);
    }
    if (rc != SQLITE_DONE) {
        e = reg_map(rc);
        goto out;
    }
    *out = ev;
    *n = count;
    ev = NULL;
    count = 0;
out:
    reg_status_events_free(ev, count);
    reg_fin(db, st);
    return e;
}

/* ---- status lists and index allocation ---- */

/* Record the URI a list is opened with (issue 17 trap 2): the status index
 * is built from it, never from whatever URL the daemon runs with later. */
static ecred_err reg_list_record_uri(sq_db *db, int64_t list_id)
{
    if (!db->status_prefix[0])
        return ECRED_OK;
    char uri[REG_URI_MAX + 1];
    int n = snprintf(uri, sizeof uri, "%s%lld", db->status_prefix, (long long)list_id);
    if (n <= 0 || (size_t)n >= sizeof uri)
        return ECRED_ERR_TOO_LARGE;
    sqlite3_stmt *st = reg_prep(db, "UPDATE status_lists SET uri = ? WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, uri, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, list_id);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

/* The list URI of id as reg_list_record_uri writes it ("" without a prefix). */
static void reg_list_uri_of(const sq_db *db, int64_t id, char uri[REG_URI_MAX + 1])
{
    uri[0] = 0;
    if (db->status_prefix[0]) {
        int n = snprintf(uri, REG_URI_MAX + 1, "%s%lld", db->status_prefix, (long long)id);
        if (n <= 0 || n > REG_URI_MAX)
            uri[0] = 0;
    }
}

/* Open the next list: a fresh random key, the cursor at 0, the URI recorded. */
static ecred_err reg_list_open(sq_db *db, reg_index_block *out)
{
    uint8_t key[IDXPERM_KEY_LEN];
    ecred_err e = ecred_random(key, sizeof key);
    if (e)
        return e;
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO status_lists(size, perm_key, next_pos) VALUES(?, ?, 0)");
    if (!st) {
        ecred_wipe(key, sizeof key);
        return ECRED_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, db->list_size);
    sqlite3_bind_blob(st, 2, key, sizeof key, SQLITE_TRANSIENT);
    e = reg_step_done(st);
    reg_fin(db, st);
    if (!e) {
        out->list_id = sqlite3_last_insert_rowid(db->h);
        out->size = db->list_size;
        out->first = 0;
        memcpy(out->key, key, sizeof key);
        e = reg_list_record_uri(db, out->list_id);
        reg_list_uri_of(db, out->list_id, out->uri);
    }
    ecred_wipe(key, sizeof key);
    return e;
}

static ecred_err sq_index_reserve(reg_db *base, uint32_t want, reg_index_block *out)
{
    sq_db *db = sq_db_of(base);
    if (want == 0)
        return ECRED_ERR_ARG;
    /* The open list: the newest with room that a restore did not close. A
     * handful of rows (one per 131072 credentials by default). */
    sqlite3_stmt *st = reg_prep(db, "SELECT id, size, next_pos, perm_key, uri FROM status_lists"
                                    " WHERE next_pos < size AND closed = 0 ORDER BY id DESC LIMIT 1");
    if (!st)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t size = sqlite3_column_int64(st, 1), next = sqlite3_column_int64(st, 2);
        const void *key = sqlite3_column_blob(st, 3);
        if (size <= 0 || (uint64_t)size > ECRED_SLIST_MAX_ENTRIES || next < 0 || next >= size ||
            !key || sqlite3_column_bytes(st, 3) != IDXPERM_KEY_LEN) {
            e = ECRED_ERR_IO; /* not a row we wrote */
        } else {
            out->list_id = sqlite3_column_int64(st, 0);
            out->size = (uint32_t)size;
            out->first = (uint32_t)next;
            memcpy(out->key, key, IDXPERM_KEY_LEN);
            reg_col_copy(st, 4, out->uri, sizeof out->uri);
        }
        reg_fin(db, st);
    } else {
        reg_fin(db, st);
        e = rc == SQLITE_DONE ? reg_list_open(db, out) : reg_map(rc);
    }
    if (e)
        return e;
    out->count = out->size - out->first < want ? out->size - out->first : want;
    /* The cursor moves in this write: committed before any position of the
     * range is used, so no crash or rollback can hand one out twice. */
    st = reg_prep(db, "UPDATE status_lists SET next_pos = next_pos + ? WHERE id = ? AND next_pos = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, out->count);
    sqlite3_bind_int64(st, 2, out->list_id);
    sqlite3_bind_int64(st, 3, out->first);
    e = reg_step_done(st);
    reg_fin(db, st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_EXISTS; /* moved meanwhile: cannot happen under the write lock */
    return e;
}

static ecred_err sq_list_info_get(reg_db *base, int64_t list_id, reg_list_info *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st =
        reg_prep(db, "SELECT id, size, used, generation, uri, closed FROM status_lists WHERE id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, list_id);
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        int64_t size = sqlite3_column_int64(st, 1), used = sqlite3_column_int64(st, 2);
        if (size <= 0 || (uint64_t)size > ECRED_SLIST_MAX_ENTRIES || used < 0 || used > size) {
            e = ECRED_ERR_IO;
        } else {
            out->id = sqlite3_column_int64(st, 0);
            out->size = (uint32_t)size;
            out->used = (uint32_t)used;
            out->generation = sqlite3_column_int64(st, 3);
            reg_col_copy(st, 4, out->uri, sizeof out->uri);
            out->closed = sqlite3_column_int(st, 5) != 0;
        }
    } else {
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    }
    reg_fin(db, st);
    return e;
}

/* The list-entries query, visible to its plan test
 * (tests/issuer/unit_list_index.c): its "status <> 0" is the partial index's
 * WHERE, so the index covers it and no other row is read. */
extern const char reg_sq_list_entries_sql[];
const char reg_sq_list_entries_sql[] =
    "SELECT idx, status FROM credentials WHERE list_id = ? AND status <> 0";

static ecred_err sq_list_entries(reg_db *base, int64_t list_id,
                           ecred_err (*fn)(void *ctx, int64_t idx, int status), void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, reg_sq_list_entries_sql);
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, list_id);
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if ((e = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1))) != ECRED_OK)
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_reminders(reg_db *base, int32_t from_day, int32_t to_day,
                        ecred_err (*fn)(void *ctx, const char *id, const char *due, int32_t day),
                        void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "SELECT id, 'expiry', valid_until FROM credentials"
            " WHERE status <> 1 AND valid_until BETWEEN ?1 AND ?2"
            " UNION ALL SELECT id, 'endorsement', endorsement_date FROM credentials"
            " WHERE status <> 1 AND endorsement_date <> 0 AND endorsement_date BETWEEN ?1 AND ?2"
            " ORDER BY 3, 1 LIMIT 10000");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int(st, 1, from_day);
    sqlite3_bind_int(st, 2, to_day);
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[REG_ID_LEN + 1], due[16];
        reg_col_copy(st, 0, id, sizeof id);
        reg_col_copy(st, 1, due, sizeof due);
        if ((e = fn(ctx, id, due, (int32_t)sqlite3_column_int(st, 2))) != ECRED_OK)
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

/* ---- stored status list tokens ---- */

static ecred_err sq_list_token_get(reg_db *base, int64_t list_id, reg_list_token *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT generation, iat, token FROM list_tokens WHERE list_id = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, list_id);
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 2);
        const void *p = sqlite3_column_blob(st, 2);
        if (n == 0 || n > ECRED_SLIST_TOKEN_MAX || !p) {
            e = ECRED_ERR_IO;
        } else {
            reg_list_token t;
            memset(&t, 0, sizeof t);
            t.list_id = list_id;
            t.generation = sqlite3_column_int64(st, 0);
            t.iat = sqlite3_column_int64(st, 1);
            if ((e = ecred_buf_set(&t.token, p, n)) == ECRED_OK)
                *out = t;
        }
    } else {
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    }
    reg_fin(db, st);
    return e;
}

static ecred_err sq_list_token_put(reg_db *base, const reg_list_token *t)
{
    sq_db *db = sq_db_of(base);
    if (!t->token.len || t->token.len > ECRED_SLIST_TOKEN_MAX)
        return ECRED_ERR_ARG;
    /* Only forward: a newer generation, or the same one signed later. */
    sqlite3_stmt *st = reg_prep(
        db, "INSERT INTO list_tokens(list_id, generation, iat, token) VALUES(?,?,?,?)"
            " ON CONFLICT(list_id) DO UPDATE SET generation = excluded.generation,"
            " iat = excluded.iat, token = excluded.token"
            " WHERE list_tokens.generation < excluded.generation OR"
            " (list_tokens.generation = excluded.generation AND list_tokens.iat < excluded.iat)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, t->list_id);
    sqlite3_bind_int64(st, 2, t->generation);
    sqlite3_bind_int64(st, 3, t->iat);
    sqlite3_bind_blob(st, 4, t->token.ptr, (int)t->token.len, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_EXISTS;
    reg_fin(db, st);
    return e;
}

/* ---- registry copy (reg_copy) ---- */

static ecred_err sq_dump(reg_db *base, reg_row_fn fn, void *ctx)
{
    sq_db *db = sq_db_of(base);
    /* rowid order keeps insertion order: events by seq, credentials by issue. */
    static const char *const sql[] = {
#define X(name, cols, n) "SELECT " cols " FROM " #name " ORDER BY rowid",
        REG_COPY_TABLES
#undef X
    };
    static const char *const names[] = {
#define X(name, cols, n) #name,
        REG_COPY_TABLES
#undef X
    };
    ecred_err e = ECRED_OK;
    for (size_t t = 0; !e && t < sizeof sql / sizeof sql[0]; t++) {
        sqlite3_stmt *st = reg_prep(db, sql[t]);
        if (!st)
            return ECRED_ERR_IO;
        int ncol = sqlite3_column_count(st), rc;
        reg_value v[16];
        if (ncol > 16) {
            reg_fin(db, st);
            return ECRED_ERR_INTERNAL;
        }
        while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            for (int i = 0; i < ncol; i++) {
                memset(&v[i], 0, sizeof v[i]);
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER:
                    v[i].kind = REG_V_INT;
                    v[i].i = sqlite3_column_int64(st, i);
                    break;
                case SQLITE_TEXT:
                    v[i].kind = REG_V_TEXT;
                    v[i].p = sqlite3_column_text(st, i);
                    v[i].len = (size_t)sqlite3_column_bytes(st, i);
                    break;
                case SQLITE_BLOB:
                    v[i].kind = REG_V_BLOB;
                    v[i].p = sqlite3_column_blob(st, i);
                    v[i].len = (size_t)sqlite3_column_bytes(st, i);
                    break;
                case SQLITE_NULL:
                    v[i].kind = REG_V_NULL;
                    break;
                default:
                    e = ECRED_ERR_IO; /* a float: not a row we wrote */
                }
            }
            if (!e)
                e = fn(ctx, names[t], v, (size_t)ncol);
        }
        if (!e && rc != SQLITE_DONE)
            e = reg_map(rc);
        reg_fin(db, st);
    }
    return e;
}

static ecred_err sq_load_row(reg_db *base, const char *table, const reg_value *cols, size_t n)
{
    sq_db *db = sq_db_of(base);
    static const char *const sql[] = {
#define X(name, cols, n) "INSERT INTO " #name "(" cols ") VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?",
        REG_COPY_TABLES
#undef X
    };
    static const char *const names[] = {
#define X(name, cols, n) #name,
        REG_COPY_TABLES
#undef X
    };
    size_t t = 0;
    while (t < sizeof names / sizeof names[0] && strcmp(names[t], table) != 0)
        t++;
    if (t == sizeof names / sizeof names[0] || n == 0 || n > 16)
        return ECRED_ERR_ARG;
    /* The VALUES list cut to n placeholders: "?," is two bytes each. */
    char q[1024];
    const char *v = strstr(sql[t], "VALUES(");
    int len = snprintf(q, sizeof q, "%.*s%.*s)", (int)(v - sql[t] + 7), sql[t], (int)(2 * n - 1),
                       v + 7);
    if (len <= 0 || (size_t)len >= sizeof q)
        return ECRED_ERR_INTERNAL;
    sqlite3_stmt *st = reg_prep(db, q);
    if (!st)
        return ECRED_ERR_IO;
    for (size_t i = 0; i < n; i++) {
        int k = (int)i + 1;
        if (cols[i].len > (size_t)ECRED_SLIST_TOKEN_MAX) {
            reg_fin(db, st);
            return ECRED_ERR_TOO_LARGE;
        }
        switch (cols[i].kind) {
        case REG_V_INT: sqlite3_bind_int64(st, k, cols[i].i); break;
        case REG_V_TEXT: sqlite3_bind_text(st, k, cols[i].p, (int)cols[i].len, SQLITE_TRANSIENT); break;
        case REG_V_BLOB: sqlite3_bind_blob(st, k, cols[i].p, (int)cols[i].len, SQLITE_TRANSIENT); break;
        default: sqlite3_bind_null(st, k);
        }
    }
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_load_finish(reg_db *base)
{
    sq_db *db = sq_db_of(base);
    /* A list's fill must be what its credentials say, or indices could be
     * handed out twice or a list never roll over. */
    sqlite3_stmt *st = reg_prep(db, "SELECT COUNT(*) FROM status_lists l WHERE used <>"
                                    " (SELECT COUNT(*) FROM credentials c WHERE c.list_id = l.id)");
    if (!st)
        return ECRED_ERR_IO;
    int rc = sqlite3_step(st);
    ecred_err e = rc == SQLITE_ROW ? (sqlite3_column_int64(st, 0) ? ECRED_ERR_INTERNAL : ECRED_OK)
                                   : reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_is_empty(reg_db *base, bool *empty)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(
        db, "SELECT (SELECT COUNT(*) FROM tokens) + (SELECT COUNT(*) FROM applications) +"
            " (SELECT COUNT(*) FROM idempotency) + (SELECT COUNT(*) FROM commitments) +"
            " (SELECT COUNT(*) FROM status_lists) + (SELECT COUNT(*) FROM credentials) +"
            " (SELECT COUNT(*) FROM status_events) + (SELECT COUNT(*) FROM list_tokens) +"
            " (SELECT COUNT(*) FROM holder_bindings) + (SELECT COUNT(*) FROM audit_log)");
    if (!st)
        return ECRED_ERR_IO;
    int rc = sqlite3_step(st);
    ecred_err e = ECRED_OK;
    if (rc == SQLITE_ROW)
        *empty = sqlite3_column_int64(st, 0) == 0;
    else
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_schema_version(reg_db *base, int64_t *version)
{
    /* The version recorded in schema_version (reg_migrate ran at open). */
    *version = sq_db_of(base)->schema_now;
    return ECRED_OK;
}

/* ---- audit log ---- */

static ecred_err sq_audit_last(reg_db *base, uint64_t *seq, uint8_t hash[32])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
    if (!st)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const void *h = sqlite3_column_blob(st, 1);
        if (sqlite3_column_int64(st, 0) < 1 || !h || sqlite3_column_bytes(st, 1) != 32) {
            e = ECRED_ERR_INTERNAL; /* a row we did not write */
        } else {
            *seq = (uint64_t)sqlite3_column_int64(st, 0);
            memcpy(hash, h, 32);
        }
    } else if (rc == SQLITE_DONE) {
        *seq = 0;
        memset(hash, 0, 32);
    } else {
        e = reg_map(rc);
    }
    reg_fin(db, st);
    return e;
}

static ecred_err sq_audit_insert(reg_db *base, const reg_audit_entry *a)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO audit_log(seq, at, action, subject, actor, prev,"
                                    " hash) VALUES(?,?,?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)a->seq);
    sqlite3_bind_int64(st, 2, a->at);
    sqlite3_bind_text(st, 3, a->action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, a->subject, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, a->actor, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 6, a->prev, 32, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 7, a->hash, 32, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_audit_scan(reg_db *base, ecred_err (*fn)(void *ctx, const reg_audit_entry *e),
                               void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT seq, at, action, subject, actor, prev, hash"
                                    " FROM audit_log ORDER BY seq");
    if (!st)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    int rc;
    while (!e && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        reg_audit_entry a;
        memset(&a, 0, sizeof a);
        /* Rows are reported as they are; a wrong-sized blob reads as zeros so
         * the verifier sees a hash mismatch rather than us guessing. */
        a.seq = (uint64_t)sqlite3_column_int64(st, 0);
        a.at = sqlite3_column_int64(st, 1);
        reg_col_copy(st, 2, a.action, sizeof a.action);
        reg_col_copy(st, 3, a.subject, sizeof a.subject);
        reg_col_copy(st, 4, a.actor, sizeof a.actor);
        if (sqlite3_column_bytes(st, 5) == 32 && sqlite3_column_blob(st, 5))
            memcpy(a.prev, sqlite3_column_blob(st, 5), 32);
        if (sqlite3_column_bytes(st, 6) == 32 && sqlite3_column_blob(st, 6))
            memcpy(a.hash, sqlite3_column_blob(st, 6), 32);
        e = fn(ctx, &a);
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_token_role_by_prefix(reg_db *base, const char prefix[8], char role[16])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st =
        reg_prep(db, "SELECT role FROM tokens WHERE substr(lower(hex(hash)), 1, 8) = ? LIMIT 1");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, prefix, 8, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ecred_err e = ECRED_OK;
    if (rc == SQLITE_ROW)
        reg_col_copy(st, 0, role, 16);
    else
        e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    reg_fin(db, st);
    return e;
}

/* ---- operations (issue 17) ---- */

static void sq_schema_info(reg_db *base, int *found, int *now)
{
    sq_db *db = sq_db_of(base);
    *found = db->schema_found;
    *now = db->schema_now;
}

static void sq_set_status_prefix(reg_db *base, const char *prefix)
{
    sq_db *db = sq_db_of(base);
    if (prefix && strlen(prefix) + 20 < sizeof db->status_prefix)
        snprintf(db->status_prefix, sizeof db->status_prefix, "%s", prefix);
}

static void sq_pool_set_status_prefix(reg_pool *base, const char *prefix)
{
    sq_pool *p = sq_pool_of(base);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nall; i++)
        sq_set_status_prefix(&p->all[i]->base, prefix);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_lock(&p->gc.mu);
    sq_set_status_prefix(&p->writer->base, prefix);
    pthread_mutex_unlock(&p->gc.mu);
}

static ecred_err sq_token_add_labeled(reg_db *base, const uint8_t hash[32], const char *role,
                                      const char *label, int64_t expires_at, int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO tokens(hash, role, created_at, label, expires_at)"
                                    " VALUES(?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_text(st, 4, label, -1, SQLITE_TRANSIENT);
    if (expires_at)
        sqlite3_bind_int64(st, 5, expires_at);
    else
        sqlite3_bind_null(st, 5);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_tokens_list(reg_db *base, ecred_err (*fn)(void *ctx, const reg_token_info *t),
                                void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT hash, role, label, created_at, expires_at FROM tokens"
                                    " ORDER BY created_at, rowid");
    if (!st)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        reg_token_info t;
        memset(&t, 0, sizeof t);
        if (sqlite3_column_bytes(st, 0) != 32) {
            e = ECRED_ERR_IO;
            break;
        }
        ecred_hex(sqlite3_column_blob(st, 0), 4, t.id);
        reg_col_copy(st, 1, t.role, sizeof t.role);
        reg_col_copy(st, 2, t.label, sizeof t.label);
        t.created_at = sqlite3_column_int64(st, 3);
        t.expires_at = sqlite3_column_int64(st, 4);
        if ((e = fn(ctx, &t)) != ECRED_OK)
            break;
    }
    if (!e && rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_token_remove(reg_db *base, const char *id)
{
    sq_db *db = sq_db_of(base);
    uint8_t want[4];
    if (!id || strlen(id) != 8 || ecred_unhex(id, 8, want, sizeof want) != ECRED_OK)
        return ECRED_ERR_KEY_UNKNOWN;
    /* The id is the hash's first 4 bytes: compare them as a blob prefix. */
    sqlite3_stmt *st = reg_prep(db, "SELECT COUNT(*) FROM tokens WHERE substr(hash, 1, 4) = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, want, 4, SQLITE_TRANSIENT);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    reg_fin(db, st);
    if (n < 0)
        return ECRED_ERR_IO;
    if (n == 0)
        return ECRED_ERR_KEY_UNKNOWN;
    if (n > 1)
        return ECRED_ERR_EXISTS;
    st = reg_prep(db, "DELETE FROM tokens WHERE substr(hash, 1, 4) = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, want, 4, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

/* Copy all of src's main database into dst's (the online backup API: one
 * step holds one read snapshot of src, so the copy is consistent). */
static ecred_err reg_copy_db(sqlite3 *dst, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b)
        return ECRED_ERR_IO;
    int rc = sqlite3_backup_step(b, -1);
    int rc2 = sqlite3_backup_finish(b);
    return rc == SQLITE_DONE && rc2 == SQLITE_OK ? ECRED_OK : reg_map(rc == SQLITE_DONE ? rc2 : rc);
}

static ecred_err sq_backup(reg_db *base, const char *path, int64_t now)
{
    sq_db *db = sq_db_of(base);
    /* Made here, 0600 and exclusive, before SQLite opens it: the copy holds
     * personal data and an existing file is never overwritten. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? ECRED_ERR_EXISTS : ECRED_ERR_IO;
    close(fd);
    sqlite3 *dst = NULL;
    ecred_err e = ECRED_ERR_IO;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto out;
    if ((e = reg_copy_db(dst, db->h)) != ECRED_OK)
        goto out;
    /* One self-contained file (no -wal beside it), stamped with its time. */
    char sql[160];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=DELETE; INSERT OR REPLACE INTO registry_meta VALUES('backup_taken_at', '%lld');",
             (long long)now);
    e = sqlite3_exec(dst, sql, NULL, NULL, NULL) == SQLITE_OK ? ECRED_OK : ECRED_ERR_IO;
out:
    if (dst && sqlite3_close(dst) != SQLITE_OK && !e)
        e = ECRED_ERR_IO;
    if (!e) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            e = ECRED_ERR_IO;
        if (fd >= 0)
            close(fd);
    }
    if (e)
        unlink(path);
    return e;
}

/* One integer from a one-row query (0 for NULL); false on error. */
static bool reg_query_int(sqlite3 *h, const char *sql, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return false;
    bool ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return ok;
}

static ecred_err sq_list_max_id(reg_db *base, int64_t *max)
{
    sq_db *db = sq_db_of(base);
    *max = 0;
    return reg_query_int(db->h, "SELECT COALESCE(MAX(id), 0) FROM status_lists", max) ? ECRED_OK
                                                                                       : ECRED_ERR_IO;
}

static ecred_err sq_restore(reg_db *base, const char *from_path, int64_t min_next_list, int64_t now,
                            reg_restore_report *rep)
{
    sq_db *db = sq_db_of(base);
    memset(rep, 0, sizeof *rep);
    sqlite3 *src = NULL;
    ecred_err e = ECRED_ERR_IO;
    if (sqlite3_open_v2(from_path, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto out;
    int64_t v = 0;
    /* Refuse anything that is not a registry before touching ours. */
    if (!reg_query_int(src, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('status_lists','credentials')", &v) ||
        v != 2) {
        e = ECRED_ERR_INPUT;
        goto out;
    }
    if ((e = reg_copy_db(db->h, src)) != ECRED_OK)
        goto out;
    if (reg_exec1(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
        e = ECRED_ERR_IO;
        goto out;
    }
    if ((e = reg_migrate(db->h, &rep->found_version)) != ECRED_OK)
        goto rollback;
    db->schema_found = rep->found_version;
    e = ECRED_ERR_IO;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->h, "SELECT value FROM registry_meta WHERE key = 'backup_taken_at'", -1, &st,
                           NULL) != SQLITE_OK)
        goto rollback;
    if (sqlite3_step(st) == SQLITE_ROW)
        rep->taken_at = sqlite3_column_int64(st, 0);
    reg_fin(db, st);
    if (!reg_query_int(db->h, "SELECT COALESCE(MAX(issued_at), 0) FROM credentials", &rep->last_issued_at) ||
        !reg_query_int(db->h, "SELECT COALESCE(MIN(id), 0) FROM status_lists WHERE used < size AND closed = 0",
                       &rep->closed_first) ||
        !reg_query_int(db->h, "SELECT COALESCE(MAX(id), 0) FROM status_lists WHERE used < size AND closed = 0",
                       &rep->closed_last))
        goto rollback;
    /* Every list open at backup time may have handed out indices after it:
     * none of them takes a new credential again (issue 17 trap 3). */
    if (sqlite3_exec(db->h, "UPDATE status_lists SET closed = 1 WHERE used < size AND closed = 0;", NULL,
                     NULL, NULL) != SQLITE_OK)
        goto rollback;
    int64_t max = 0;
    if (!reg_query_int(db->h, "SELECT COALESCE(MAX(id), 0) FROM status_lists", &max))
        goto rollback;
    /* Lists opened after the backup are unknown to it: reserve their ids as
     * closed, so the list index stays gap-free and no id is opened twice. */
    if (min_next_list > max + 1) {
        if (sqlite3_prepare_v2(db->h, "INSERT INTO status_lists(id, size, used, closed) VALUES(?, ?, 0, 1)",
                               -1, &st, NULL) != SQLITE_OK)
            goto rollback;
        for (int64_t id = max + 1; id < min_next_list; id++) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int64(st, 2, db->list_size);
            if (sqlite3_step(st) != SQLITE_DONE) {
                reg_fin(db, st);
                goto rollback;
            }
        }
        reg_fin(db, st);
        rep->skipped_first = max + 1;
        rep->skipped_last = min_next_list - 1;
    }
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT OR REPLACE INTO registry_meta VALUES('restored_at', '%lld');"
             "DELETE FROM registry_meta WHERE key = 'backup_taken_at';",
             (long long)now);
    if (sqlite3_exec(db->h, sql, NULL, NULL, NULL) != SQLITE_OK ||
        reg_exec1(db, "COMMIT") != SQLITE_OK)
        goto rollback;
    e = ECRED_OK;
    goto out;
rollback:
    if (!e)
        e = ECRED_ERR_IO;
    reg_exec1(db, "ROLLBACK");
out:
    sqlite3_close(src);
    return e;
}

/* A registry just filled by a copy becomes a backup file: stamped with its
 * time (reg_restore reports it) and self-contained (no -wal beside it). */
static ecred_err sq_backup_stamp(reg_db *base, int64_t taken_at)
{
    sq_db *db = sq_db_of(base);
    reg_stmt_cache_clear(db); /* leaving WAL mode wants no statement pending */
    char sql[160];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=DELETE; INSERT OR REPLACE INTO registry_meta VALUES('backup_taken_at', '%lld');",
             (long long)taken_at);
    return sqlite3_exec(db->h, sql, NULL, NULL, NULL) == SQLITE_OK ? ECRED_OK : ECRED_ERR_IO;
}

/* The time a backup file was taken; ECRED_ERR_KEY_UNKNOWN for a registry
 * that is not a backup. */
static ecred_err sq_backup_taken_at(reg_db *base, int64_t *taken_at)
{
    sq_db *db = sq_db_of(base);
    int64_t n = 0;
    if (!reg_query_int(db->h, "SELECT COUNT(*) FROM registry_meta WHERE key = 'backup_taken_at'", &n))
        return ECRED_ERR_IO;
    if (n == 0)
        return ECRED_ERR_KEY_UNKNOWN;
    return reg_query_int(db->h, "SELECT CAST(value AS INTEGER) FROM registry_meta WHERE key = 'backup_taken_at'",
                         taken_at)
               ? ECRED_OK
               : ECRED_ERR_IO;
}

static ecred_err sq_applications_by_state(reg_db *base, const char *state, int64_t after_at,
                                          const char *after_id, unsigned limit,
                                          ecred_err (*fn)(void *ctx, const reg_application *a), void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, REG_APP_COLUMNS "WHERE state = ? AND (submitted_at > ? OR"
                                    " (submitted_at = ? AND id > ?)) ORDER BY submitted_at, id LIMIT ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, after_at);
    sqlite3_bind_int64(st, 3, after_at);
    sqlite3_bind_text(st, 4, after_id ? after_id : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, limit);
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        reg_application a;
        if ((e = reg_application_row(st, &a)) != ECRED_OK)
            break;
        e = fn(ctx, &a);
        reg_application_free(&a);
        if (e)
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_credentials_for(reg_db *base, const char *id_number, unsigned limit,
                                    ecred_err (*fn)(void *ctx, const reg_credential *c), void *ctx)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, REG_CRED_COLUMNS "WHERE id_number = ? ORDER BY issued_at DESC, rowid DESC LIMIT ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, id_number, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, limit);
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        reg_credential c;
        if ((e = reg_credential_row(st, &c)) != ECRED_OK)
            break;
        e = fn(ctx, &c);
        reg_credential_free(&c);
        if (e)
            break;
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

/* ---- shared resident sessions: resident logins, sessions, the reminder outbox.
 * Writes run inside reg_write, which holds SQLite's one write lock: a
 * DELETE ... RETURNING or an UPDATE ... RETURNING is therefore atomic
 * against every other connection and process on the file. ---- */

static ecred_err sq_login_put(reg_db *base, const uint8_t state_hash[32], const char *nonce,
                              const char *verifier, int64_t now, int64_t expires_at,
                              unsigned max_pending)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT count(*) FROM resident_logins WHERE expires_at > ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, now);
    int rc = sqlite3_step(st);
    int64_t pending = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    reg_fin(db, st);
    if (rc != SQLITE_ROW)
        return reg_map(rc);
    if (pending >= (int64_t)max_pending)
        return ECRED_ERR_TOO_LARGE;
    st = reg_prep(db, "INSERT INTO resident_logins(state_hash, nonce, verifier, created_at, expires_at)"
                      " VALUES(?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, state_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, nonce, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, verifier, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, expires_at);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_login_take(reg_db *base, const uint8_t state_hash[32], int64_t now,
                               char nonce[REG_LOGIN_SECRET_MAX + 1],
                               char verifier[REG_LOGIN_SECRET_MAX + 1])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "DELETE FROM resident_logins WHERE state_hash = ?"
                                    " RETURNING nonce, verifier, expires_at");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, state_hash, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ecred_err e = ECRED_ERR_KEY_UNKNOWN;
    if (rc == SQLITE_ROW && sqlite3_column_int64(st, 2) > now) {
        reg_col_copy(st, 0, nonce, REG_LOGIN_SECRET_MAX + 1);
        reg_col_copy(st, 1, verifier, REG_LOGIN_SECRET_MAX + 1);
        e = ECRED_OK;
    } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        e = reg_map(rc);
    }
    /* Run the DELETE to its end before the statement is reset. */
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && !e)
        e = reg_map(rc);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_session_put(reg_db *base, const reg_session *s)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO resident_sessions(hash, who, name, id_number, csrf_hash,"
                                    " created_at, expires_at, last_seen) VALUES(?,?,?,?,?,?,?,?)");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, s->hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, s->who, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, s->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, s->id_number, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 5, s->csrf_hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, s->created_at);
    sqlite3_bind_int64(st, 7, s->expires_at);
    sqlite3_bind_int64(st, 8, s->last_seen);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_session_get(reg_db *base, const uint8_t hash[32], reg_session *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT who, name, id_number, csrf_hash, created_at, expires_at,"
                                    " last_seen FROM resident_sessions WHERE hash = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ecred_err e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 3) != 32) {
            e = ECRED_ERR_IO;
        } else {
            reg_session s;
            memset(&s, 0, sizeof s);
            memcpy(s.hash, hash, 32);
            reg_col_copy(st, 0, s.who, sizeof s.who);
            reg_col_copy(st, 1, s.name, sizeof s.name);
            reg_col_copy(st, 2, s.id_number, sizeof s.id_number);
            memcpy(s.csrf_hash, sqlite3_column_blob(st, 3), 32);
            s.created_at = sqlite3_column_int64(st, 4);
            s.expires_at = sqlite3_column_int64(st, 5);
            s.last_seen = sqlite3_column_int64(st, 6);
            *out = s;
            ecred_wipe(&s, sizeof s);
        }
    }
    reg_fin(db, st);
    return e;
}

static ecred_err sq_session_touch(reg_db *base, const uint8_t hash[32], int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "UPDATE resident_sessions SET last_seen = ? WHERE hash = ? AND last_seen < ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_blob(st, 2, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_session_delete(reg_db *base, const uint8_t hash[32])
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "DELETE FROM resident_sessions WHERE hash = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_resident_prune(reg_db *base, int64_t now, int64_t idle_s, uint64_t *removed)
{
    sq_db *db = sq_db_of(base);
    *removed = 0;
    sqlite3_stmt *st = reg_prep(db, "DELETE FROM resident_logins WHERE expires_at <= ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, now);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    if (e)
        return e;
    *removed += (uint64_t)sqlite3_changes(db->h);
    st = reg_prep(db, "DELETE FROM resident_sessions WHERE expires_at <= ? OR last_seen <= ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int64(st, 2, now - idle_s);
    e = reg_step_done(st);
    reg_fin(db, st);
    if (!e)
        *removed += (uint64_t)sqlite3_changes(db->h);
    return e;
}

static ecred_err sq_outbox_add(reg_db *base, const char *key, const char *payload, int64_t now)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "INSERT INTO outbox(key, payload, created_at, next_at) VALUES(?,?,?,?)"
                                    " ON CONFLICT(key) DO NOTHING");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, payload, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int64(st, 4, now);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_outbox_claim(reg_db *base, const char *owner, int64_t now, int64_t lease_until,
                                 int max_attempts, size_t max, reg_outbox_item *items, size_t *n)
{
    sq_db *db = sq_db_of(base);
    *n = 0;
    sqlite3_stmt *st = reg_prep(db, "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE key IN ("
                                    " SELECT key FROM outbox WHERE delivered_at IS NULL AND attempts < ?"
                                    " AND next_at <= ? AND (lease_until IS NULL OR lease_until <= ?)"
                                    " ORDER BY next_at, key LIMIT ?) RETURNING key, payload, attempts");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, owner, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, lease_until);
    sqlite3_bind_int(st, 3, max_attempts);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now);
    sqlite3_bind_int64(st, 6, (int64_t)max);
    ecred_err e = ECRED_OK;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (e || *n == max)
            continue; /* step to the end: the UPDATE completes either way */
        reg_outbox_item *it = &items[*n];
        memset(it, 0, sizeof *it);
        reg_col_copy(st, 0, it->key, sizeof it->key);
        it->attempts = sqlite3_column_int64(st, 2);
        if ((e = reg_col_dup(st, 1, &it->payload)) == ECRED_OK && it->payload)
            (*n)++;
    }
    if (!e && rc != SQLITE_DONE)
        e = reg_map(rc);
    reg_fin(db, st);
    if (e) {
        reg_outbox_items_free(items, *n);
        *n = 0;
    }
    return e;
}

static ecred_err sq_outbox_record(reg_db *base, const char *key, const char *owner, bool delivered,
                                  int64_t status, int64_t now, int64_t next_at)
{
    sq_db *db = sq_db_of(base);
    /* A delivery counts whoever holds the lease now; a failure only from
     * the lease holder (another instance may have taken the row over). */
    sqlite3_stmt *st = reg_prep(
        db, delivered ? "UPDATE outbox SET attempts = attempts + 1, last_status = ?,"
                        " delivered_at = COALESCE(delivered_at, ?), lease_owner = NULL, lease_until = NULL"
                        " WHERE key = ?"
                      : "UPDATE outbox SET attempts = attempts + 1, last_status = ?, next_at = ?,"
                        " lease_owner = NULL, lease_until = NULL"
                        " WHERE key = ? AND lease_owner = ? AND delivered_at IS NULL");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int64(st, 1, status);
    sqlite3_bind_int64(st, 2, delivered ? now : next_at);
    sqlite3_bind_text(st, 3, key, -1, SQLITE_TRANSIENT);
    if (!delivered)
        sqlite3_bind_text(st, 4, owner, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    if (!e && sqlite3_changes(db->h) != 1)
        e = ECRED_ERR_KEY_UNKNOWN;
    return e;
}

static ecred_err sq_outbox_release(reg_db *base, const char *key, const char *owner)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "UPDATE outbox SET lease_owner = NULL, lease_until = NULL"
                                    " WHERE key = ? AND lease_owner = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, owner, -1, SQLITE_TRANSIENT);
    ecred_err e = reg_step_done(st);
    reg_fin(db, st);
    return e;
}

static ecred_err sq_outbox_get_stats(reg_db *base, int max_attempts, int64_t now, reg_outbox_stats *out)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT count(*), count(delivered_at),"
                                    " coalesce(sum(delivered_at IS NULL AND attempts < ?1), 0),"
                                    " coalesce(sum(attempts) - count(delivered_at), 0),"
                                    " coalesce(sum(delivered_at IS NULL AND attempts >= ?1), 0),"
                                    " coalesce(sum(delivered_at IS NULL AND lease_until > ?2), 0) FROM outbox");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_int(st, 1, max_attempts);
    sqlite3_bind_int64(st, 2, now);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        out->queued = (uint64_t)sqlite3_column_int64(st, 0);
        out->delivered = (uint64_t)sqlite3_column_int64(st, 1);
        out->pending = (uint64_t)sqlite3_column_int64(st, 2);
        out->failed_attempts = (uint64_t)sqlite3_column_int64(st, 3);
        out->given_up = (uint64_t)sqlite3_column_int64(st, 4);
        out->leased = (uint64_t)sqlite3_column_int64(st, 5);
    }
    reg_fin(db, st);
    return rc == SQLITE_ROW ? ECRED_OK : reg_map(rc);
}

static ecred_err sq_outbox_lease(reg_db *base, const char *key, char owner[REG_OUTBOX_OWNER_MAX + 1],
                                 int64_t *lease_until)
{
    sq_db *db = sq_db_of(base);
    sqlite3_stmt *st = reg_prep(db, "SELECT lease_owner, lease_until FROM outbox WHERE key = ?");
    if (!st)
        return ECRED_ERR_IO;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    ecred_err e = rc == SQLITE_DONE ? ECRED_ERR_KEY_UNKNOWN : reg_map(rc);
    if (rc == SQLITE_ROW) {
        reg_col_copy(st, 0, owner, REG_OUTBOX_OWNER_MAX + 1);
        *lease_until = sqlite3_column_int64(st, 1);
    }
    reg_fin(db, st);
    return e;
}
/* ---- end shared resident sessions ---- */

const reg_ops reg_sqlite_ops = {
    .name = "sqlite",
    .open = sq_open,
    .pool_open = sq_pool_open,
    .close = sq_close,
    .pool_get = sq_pool_get,
    .pool_put = sq_pool_put,
    .pool_close = sq_pool_close,
    .pool_write_stats = sq_pool_write_stats,
    .set_list_size = sq_set_list_size,
    .pool_set_list_size = sq_pool_set_list_size,
    .begin_write = sq_begin_write,
    .begin_read = sq_begin_read,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .write = sq_write,
    .token_add = sq_token_add,
    .token_role = sq_token_role,
    .application_insert = sq_application_insert,
    .application_get = sq_application_get,
    .application_set_issued = sq_application_set_issued,
    .application_set_rejected = sq_application_set_rejected,
    .idem_get = sq_idem_get,
    .idem_put = sq_idem_put,
    .commitment_insert = sq_commitment_insert,
    .commitment_get = sq_commitment_get,
    .commitment_confirm = sq_commitment_confirm,
    .credential_insert = sq_credential_insert,
    .credential_get = sq_credential_get,
    .credential_latest_for = sq_credential_latest_for,
    .credential_application = sq_credential_application,
    .credential_set_replaced_by = sq_credential_set_replaced_by,
    .status_change = sq_status_change,
    .status_events = sq_status_events,
    .index_reserve = sq_index_reserve,
    .list_info_get = sq_list_info_get,
    .list_entries = sq_list_entries,
    .reminders = sq_reminders,
    .schema_info = sq_schema_info,
    .set_status_prefix = sq_set_status_prefix,
    .pool_set_status_prefix = sq_pool_set_status_prefix,
    .token_add_labeled = sq_token_add_labeled,
    .tokens_list = sq_tokens_list,
    .token_remove = sq_token_remove,
    .backup = sq_backup,
    .restore = sq_restore,
    .list_max_id = sq_list_max_id,
    .backup_stamp = sq_backup_stamp,
    .backup_taken_at = sq_backup_taken_at,
    .applications_by_state = sq_applications_by_state,
    .credentials_for = sq_credentials_for,
    .list_token_get = sq_list_token_get,
    .list_token_put = sq_list_token_put,
    .dump = sq_dump,
    .load_row = sq_load_row,
    .load_finish = sq_load_finish,
    .is_empty = sq_is_empty,
    .schema_version = sq_schema_version,
    .audit_last = sq_audit_last,
    .audit_insert = sq_audit_insert,
    .audit_scan = sq_audit_scan,
    .token_role_by_prefix = sq_token_role_by_prefix,
    .holder_get = sq_holder_get,
    .holder_put = sq_holder_put,
    /* shared resident sessions */
    .login_put = sq_login_put,
    .login_take = sq_login_take,
    .session_put = sq_session_put,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .resident_prune = sq_resident_prune,
    .outbox_add = sq_outbox_add,
    .outbox_claim = sq_outbox_claim,
    .outbox_record = sq_outbox_record,
    .outbox_release = sq_outbox_release,
    .outbox_get_stats = sq_outbox_get_stats,
    .outbox_lease = sq_outbox_lease,
};
