/*
 * registry_pg.c - the PostgreSQL backend of registry.h (its ops table,
 * reg_pg_ops; urls "postgres://..." or "postgresql://...", handed to libpq
 * as they are). Several issuer instances may share one database.
 *
 * Schema: versioned migrations (pg_migrations below) applied at every open
 * under a transaction-scoped advisory lock, so instances starting together
 * apply each version once; schema_migrations records what was applied.
 * Durability: every session sets synchronous_commit=on, so a COMMIT that
 * returned is in the server's fsynced WAL; the server's own group commit
 * batches concurrent commits, so each reg_write is its own transaction on
 * its own pool connection (no batching here, unlike SQLite).
 * Concurrency: writes run at READ COMMITTED. The database's constraints are
 * the last guard (UNIQUE(list_id, idx), UNIQUE(application_id), primary
 * keys); a conditional UPDATE that lost a race (0 rows) or a serialization
 * failure or deadlock (SQLSTATE 40001/40P01) marks the write for a rerun and
 * reg_write runs the whole write again, at most REG_WRITE_RETRIES times
 * (registry.h CONTRACT 4). A list's fill is counted in per-connection shard
 * rows (status_list_used), not in the list's row, so concurrent approvals
 * on one list never queue on one row lock through each other's commits.
 * Instances: every pool (an issuer instance) holds a shared session advisory
 * lock while open, so a restore (reg_claim) can tell that one runs.
 * Failures: a lost connection is ECRED_ERR_IO (the issuer's 503
 * registry_unavailable); the next use resets it, so the issuer recovers by
 * itself when the server is back. Connect, statement, lock and idle-in-
 * transaction timeouts bound every wait.
 *
 * Must never: print, exit, build SQL by pasting values (everything binds),
 * or report a write as done before its COMMIT returned.
 */
#include "registry_backend.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "ecred/crypto.h"
#include "ecred/slist.h"

#define PG_POOL_MAX 16
#define PG_PREP_MAX 96
#define PG_PARAMS_MAX 16
/* Fill counter shards per list: connections spread their increments. */
#define PG_USED_SHARDS 64
/* Session settings: waits are bounded, commits durable. A connect_timeout
 * the URL does not set is added when connecting (pg_conn_open). */
#define PG_SESSION_SETTINGS                                                              \
    "SET synchronous_commit = on; SET statement_timeout = '15s'; SET lock_timeout = '10s';" \
    " SET idle_in_transaction_session_timeout = '60s'; SET client_min_messages = warning;"
#define PG_CONNECT_TIMEOUT "5"
/* Key of the advisory lock that serialises migrations across instances. */
#define PG_MIGRATION_LOCK 7301151
/* Key of the advisory lock of reg_begin_write (tools and tests). */
#define PG_WRITE_LOCK 7301152
/* Writes per group commit at most: bounds how long the first of a batch
 * waits and how long a batch holds its locks (the audit chain's among them). */
#define PG_BATCH_MAX 32
/* Key of the session advisory lock every issuer instance's pool holds
 * shared while it is open; a restore takes it exclusively (reg_claim), so
 * it refuses a database an instance uses and no instance starts meanwhile. */
#define PG_INSTANCE_LOCK 7301153
/* The audit chain's lock (pg_audit_last). Every reg_write transaction takes
 * it FIRST (pg_begin_writer): an approval appends to the chain, so it holds
 * this lock until COMMIT anyway, and taking it before any row lock gives all
 * writers one lock order. Taken later, two instances' batches deadlocked
 * (one holding a list's row and waiting for the chain, the other the
 * reverse), each costing PostgreSQL's 1 s deadlock_timeout. */
#define PG_AUDIT_LOCK_KEY "7310163016"

typedef struct pg_db pg_db;
typedef struct pg_pool pg_pool;

struct pg_db {
    reg_db base;               /* first member: a reg_db * of this backend is a pg_db * */
    PGconn *c;
    uint32_t list_size;
    int shard;                 /* this connection's fill counter shard */
    bool in_tx;
    bool rerun;                /* the running write lost a race: reg_write runs it again */
    bool instance_lock;        /* holds PG_INSTANCE_LOCK shared (a pool's first connection) */
    pg_pool *pool;             /* the pool it belongs to (write stats); NULL outside one */
    char status_prefix[REG_URI_MAX + 1]; /* new lists record prefix + id; "" none */
    /* Statements prepared on this session, by the address of their SQL text
     * (string literals of this file): parsed and planned once per session,
     * not once per call. Emptied when the session is replaced. */
    const char *prepared[PG_PREP_MAX];
    unsigned nprepared;
};

struct pg_pool {
    reg_pool base;             /* first member, as in pg_db */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pg_db *free_dbs[PG_POOL_MAX];
    unsigned nfree;
    pg_db *all[PG_POOL_MAX];
    unsigned nall;
    /* Group commit (pg_write, reg_gc in registry.c): one submitter at a time
     * leads, running a batch on its own connection. */
    reg_gc gc;
};

static pg_db *pg_db_of(reg_db *db)
{
    return (pg_db *)db;
}

static pg_pool *pg_pool_of(reg_pool *p)
{
    return (pg_pool *)p;
}

/* ---- migrations: append only; a version once released never changes ---- */

typedef struct pg_migration {
    int64_t version;
    const char *sql;
} pg_migration;

static const pg_migration pg_migrations[] = {
    {1,
     "CREATE TABLE tokens("
     " hash bytea PRIMARY KEY, role text NOT NULL CHECK(role IN('clerk','officer','admin')),"
     " created_at bigint NOT NULL);"
     "CREATE TABLE applications("
     " id text PRIMARY KEY, kind text NOT NULL, state text NOT NULL, id_number text NOT NULL,"
     " credential_json text NOT NULL, replaces text, commitment_ref text,"
     " submitted_at bigint NOT NULL, submitted_by text NOT NULL, decided_at bigint,"
     " decided_by text, reject_reason text, credential_id text, issued_at bigint);"
     "CREATE TABLE idempotency("
     " key text PRIMARY KEY, request_hash bytea NOT NULL, application_id text NOT NULL,"
     " created_at bigint NOT NULL);"
     "CREATE TABLE commitments("
     " ref text PRIMARY KEY, application_id text NOT NULL, text text NOT NULL,"
     " sha256 text NOT NULL, created_at bigint NOT NULL, confirmed_at bigint);"
     "CREATE TABLE status_lists("
     " id bigint PRIMARY KEY CHECK(id > 0), size integer NOT NULL CHECK(size > 0),"
     " generation bigint NOT NULL DEFAULT 0);"
     "CREATE TABLE status_list_used("
     " list_id bigint NOT NULL REFERENCES status_lists(id), shard integer NOT NULL,"
     " n integer NOT NULL CHECK(n >= 0), PRIMARY KEY(list_id, shard));"
     "CREATE TABLE credentials("
     " seq bigserial UNIQUE, id text PRIMARY KEY, application_id text NOT NULL UNIQUE,"
     " type integer NOT NULL, id_number text NOT NULL,"
     " list_id bigint NOT NULL REFERENCES status_lists(id), idx bigint NOT NULL CHECK(idx >= 0),"
     " status integer NOT NULL DEFAULT 0, qr_text text NOT NULL, credential_json text NOT NULL,"
     " valid_until integer NOT NULL, endorsement_date integer NOT NULL,"
     " issued_at bigint NOT NULL, replaced_by text, UNIQUE(list_id, idx));"
     "CREATE INDEX credentials_by_holder ON credentials(id_number, issued_at);"
     "CREATE INDEX credentials_by_expiry ON credentials(valid_until);"
     "CREATE INDEX credentials_by_endorsement ON credentials(endorsement_date);"
     "CREATE TABLE status_events("
     " seq bigserial PRIMARY KEY, credential_id text NOT NULL,"
     " old_status integer NOT NULL, new_status integer NOT NULL, action text NOT NULL,"
     " reason text, actor text NOT NULL, at bigint NOT NULL);"
     "CREATE INDEX status_events_by_credential ON status_events(credential_id, seq);"
     /* Credential rows are never deleted (CONTRACT 3): refuse it in the database too. */
     "CREATE FUNCTION ecred_no_delete() RETURNS trigger LANGUAGE plpgsql AS"
     " $$BEGIN RAISE EXCEPTION 'credentials are never deleted'; END$$;"
     "CREATE TRIGGER credentials_no_delete BEFORE DELETE ON credentials"
     " FOR EACH ROW EXECUTE FUNCTION ecred_no_delete();"},
    {2,
     "CREATE TABLE list_tokens("
     " list_id bigint PRIMARY KEY REFERENCES status_lists(id), generation bigint NOT NULL,"
     " iat bigint NOT NULL, token bytea NOT NULL);"},
    /* The audit log (spec/audit.md): seq is the primary key so two instances
     * can never both append the same position; the loser's transaction fails
     * and is retried (CONTRACT 4) on top of the winner's entry. */
    {3,
     "CREATE TABLE audit_log("
     " seq bigint PRIMARY KEY CHECK(seq > 0), at bigint NOT NULL, action text NOT NULL,"
     " subject text NOT NULL, actor text NOT NULL, prev bytea NOT NULL, hash bytea NOT NULL);"},
    /* Holder key bindings (proof of possession at issuance, spec/api.md). */
    {4,
     "CREATE TABLE holder_bindings("
     " application_id text PRIMARY KEY, x bytea NOT NULL CHECK(length(x) = 32),"
     " y_sign integer NOT NULL, generation bigint NOT NULL, bound_at bigint NOT NULL);"},
    /* Issue 10: a list build reads only its non-VALID entries (a few per cent)
     * from this index, not the whole credentials table. The predicate is the
     * list-entries query's own, so the planner can prove it applies. */
    {5,
     "CREATE INDEX credentials_nonvalid ON credentials(list_id, idx, status) WHERE status <> 0;"},
    /* Issue 17: the URI each list was opened with (the status index is built
     * from it), token labels and expiry, the officer's work queue. Numbered 6:
     * main's audit log (3), holder bindings (4) and the non-VALID index (5)
     * came first. */
    {6,
     "ALTER TABLE status_lists ADD COLUMN uri text;"
     "ALTER TABLE tokens ADD COLUMN label text NOT NULL DEFAULT '';"
     "ALTER TABLE tokens ADD COLUMN expires_at bigint;"
     "CREATE INDEX applications_by_state ON applications(state, submitted_at, id);"},
    /* Issue 10: constant-time index allocation, as SQLite's schema 3: each
     * list's secret permutation key and cursor. Lists from before hold random
     * indices the permutation would collide with: their cursor goes to the
     * end, so the next approval opens a new list. */
    {7,
     "ALTER TABLE status_lists ADD COLUMN perm_key bytea"
     " CHECK(perm_key IS NULL OR length(perm_key) = 32);"
     "ALTER TABLE status_lists ADD COLUMN next_pos integer NOT NULL DEFAULT 0"
     " CHECK(next_pos >= 0);"
     "UPDATE status_lists SET next_pos = size;"},
    /* Issue 17 on PostgreSQL (backup and restore): lists a restore closed,
     * as SQLite's status_lists.closed. A closed list takes no new
     * reservation (pg_index_reserve), whatever its cursor says. Numbered 8
     * (9 went to resident sessions, written at the same time). */
    {8,
     "ALTER TABLE status_lists ADD COLUMN closed boolean NOT NULL DEFAULT false;"},
    /* Issue 18 (sessions): resident login states, sessions and the reminder
     * outbox, shared by every instance (SQLite's schema 4). Numbered 9: 8 is
     * another change's, taken at the same time. */
    {9,
     "CREATE TABLE resident_logins(state_hash bytea PRIMARY KEY CHECK(length(state_hash) = 32),"
     " nonce text NOT NULL, verifier text NOT NULL, created_at bigint NOT NULL,"
     " expires_at bigint NOT NULL);"
     "CREATE INDEX resident_logins_expiry ON resident_logins(expires_at);"
     "CREATE TABLE resident_sessions(hash bytea PRIMARY KEY CHECK(length(hash) = 32),"
     " who text NOT NULL, name text NOT NULL, id_number text NOT NULL,"
     " csrf_hash bytea NOT NULL CHECK(length(csrf_hash) = 32), created_at bigint NOT NULL,"
     " expires_at bigint NOT NULL, last_seen bigint NOT NULL);"
     "CREATE INDEX resident_sessions_expiry ON resident_sessions(expires_at);"
     "CREATE TABLE outbox(key text PRIMARY KEY, payload text NOT NULL, created_at bigint NOT NULL,"
     " attempts integer NOT NULL DEFAULT 0, next_at bigint NOT NULL, delivered_at bigint,"
     " last_status integer, lease_owner text, lease_until bigint);"
     "CREATE INDEX outbox_due ON outbox(next_at) WHERE delivered_at IS NULL;"},
    /* Reminders read in pages keyed by (day, credential id), as SQLite's
     * schema 5: each page seeks its start. */
    {10,
     "CREATE INDEX credentials_by_expiry_id ON credentials(valid_until, id);"
     "CREATE INDEX credentials_by_endorsement_id ON credentials(endorsement_date, id);"},
};

/* ---- statements ---- */

/* Parameters of one statement: text (or binary for bytea) values. */
typedef struct pg_params {
    const char *v[PG_PARAMS_MAX];
    int len[PG_PARAMS_MAX];
    int fmt[PG_PARAMS_MAX];
    char num[PG_PARAMS_MAX][24];
    int n;
} pg_params;

static void pp_text(pg_params *p, const char *s)
{
    p->v[p->n] = s;
    p->len[p->n] = 0;
    p->fmt[p->n] = 0;
    p->n++;
}

/* NULL for an empty or absent string, as the SQLite backend stores it. */
static void pp_text_or_null(pg_params *p, const char *s)
{
    pp_text(p, s && *s ? s : NULL);
}

static void pp_int(pg_params *p, int64_t x)
{
    snprintf(p->num[p->n], sizeof p->num[p->n], "%lld", (long long)x);
    pp_text(p, p->num[p->n]);
}

static void pp_bytes(pg_params *p, const void *b, size_t n)
{
    p->v[p->n] = b;
    p->len[p->n] = (int)n;
    p->fmt[p->n] = 1;
    p->n++;
}

/* Whether SQLSTATE names a constraint violation (the caller's "exists"). */
static bool pg_state_constraint(const char *st)
{
    return st && strncmp(st, "23", 2) == 0;
}

/* Run sql; rows (if any) in *res (the caller PQclears), NULL res for none
 * wanted. Maps failures: constraint -> EXISTS, serialization failure or
 * deadlock -> IO with db->rerun set, anything else (a lost connection
 * included) -> IO. */
static ecred_err pg_run_sql(pg_db *db, const char *sql, const pg_params *p, PGresult **res,
                            bool prepare)
{
    if (res)
        *res = NULL;
    if (!db->c || PQstatus(db->c) != CONNECTION_OK)
        return ECRED_ERR_IO;
    int n = p ? p->n : 0;
    const char *const *v = p ? p->v : NULL;
    const int *len = p ? p->len : NULL, *fmt = p ? p->fmt : NULL;
    PGresult *r = NULL;
    unsigned slot = 0;
    while (prepare && slot < db->nprepared && db->prepared[slot] != sql)
        slot++;
    char name[16];
    snprintf(name, sizeof name, "e%u", slot);
    if (prepare && slot == db->nprepared && slot < PG_PREP_MAX) {
        r = PQprepare(db->c, name, sql, n, NULL);
        if (r && PQresultStatus(r) == PGRES_COMMAND_OK) {
            db->prepared[db->nprepared++] = sql;
            PQclear(r);
            r = NULL;
        }
        /* A failed prepare (an aborted transaction, a lost server) is
         * reported below like a failed statement. */
    }
    if (!r) {
        if (prepare && slot < db->nprepared)
            r = PQexecPrepared(db->c, name, n, v, len, fmt, 0);
        else
            r = PQexecParams(db->c, sql, n, NULL, v, len, fmt, 0);
    }
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        if (res)
            *res = r;
        else
            PQclear(r);
        return ECRED_OK;
    }
    const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    ecred_err e = ECRED_ERR_IO;
    if (pg_state_constraint(st))
        e = ECRED_ERR_EXISTS;
    else if (st && (strcmp(st, "40001") == 0 || strcmp(st, "40P01") == 0))
        db->rerun = true;
    PQclear(r);
    return e;
}

/* pg_run_sql of a string literal of this file: prepared once per session. */
static ecred_err pg_run(pg_db *db, const char *sql, const pg_params *p, PGresult **res)
{
    return pg_run_sql(db, sql, p, res, true);
}

/* Rows changed by a command result. */
static long pg_changes(PGresult *r)
{
    const char *t = PQcmdTuples(r);
    return t && *t ? strtol(t, NULL, 10) : 0;
}

/* Run a command and require exactly one changed row; 0 rows is `zero`. */
static ecred_err pg_run_one(pg_db *db, const char *sql, const pg_params *p, ecred_err zero)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(db, sql, p, &r);
    if (!e && pg_changes(r) != 1)
        e = zero;
    PQclear(r);
    return e;
}

static int64_t pg_int(PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* Copy a text column into a fixed buffer ("" for NULL), truncating safely. */
static void pg_copy(PGresult *r, int row, int col, char *out, size_t cap)
{
    size_t n = PQgetisnull(r, row, col) ? 0 : (size_t)PQgetlength(r, row, col);
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(out, PQgetvalue(r, row, col), n);
    out[n] = 0;
}

/* Heap copy of a text column (NULL for NULL); ECRED_ERR_TOO_LARGE over the cap. */
static ecred_err pg_dup(PGresult *r, int row, int col, char **out)
{
    *out = NULL;
    if (PQgetisnull(r, row, col))
        return ECRED_OK;
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n > REG_TEXT_MAX)
        return ECRED_ERR_TOO_LARGE;
    char *p = malloc(n + 1);
    if (!p)
        return ECRED_ERR_NOMEM;
    memcpy(p, PQgetvalue(r, row, col), n);
    p[n] = 0;
    *out = p;
    return ECRED_OK;
}

/* A bytea column (text output, "\x" hex) decoded into out; at most cap bytes. */
static ecred_err pg_bytea(PGresult *r, int row, int col, size_t cap, ecred_buf *out)
{
    if (PQgetisnull(r, row, col) || (size_t)PQgetlength(r, row, col) > 2 * cap + 2)
        return ECRED_ERR_IO;
    size_t n = 0;
    unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row, col), &n);
    if (!b)
        return ECRED_ERR_NOMEM;
    ecred_err e = n > cap ? ECRED_ERR_IO : ecred_buf_set(out, b, n);
    PQfreemem(b);
    return e;
}

/* ---- connections ---- */

/* Run the session settings (several statements: PQexec, no parameters). */
static ecred_err pg_session(pg_db *db)
{
    PGresult *r = PQexec(db->c, PG_SESSION_SETTINGS);
    ecred_err e = r && PQresultStatus(r) == PGRES_COMMAND_OK ? ECRED_OK : ECRED_ERR_IO;
    PQclear(r);
    return e;
}

/* (Re)connect: session settings, nothing else. */
static ecred_err pg_connect(pg_db *db, const char *conninfo)
{
    /* libpq takes the URI plus keyword overrides; connect_timeout bounds a
     * connect to a server that is down or unreachable. */
    const char *keys[] = {"dbname", "connect_timeout", "application_name", NULL};
    const char *vals[] = {conninfo, PG_CONNECT_TIMEOUT, "ecred-issuerd", NULL};
    if (strstr(conninfo, "connect_timeout="))
        keys[1] = vals[1] = NULL; /* the operator's own timeout wins */
    if (db->c)
        PQfinish(db->c);
    db->nprepared = 0;
    db->c = PQconnectdbParams(keys, vals, 1);
    if (!db->c || PQstatus(db->c) != CONNECTION_OK)
        return ECRED_ERR_IO;
    return pg_session(db);
}

/* Hold PG_INSTANCE_LOCK shared for this session: an issuer instance uses
 * the database. Waits (bounded by lock_timeout) while a restore runs. */
static ecred_err pg_instance_lock(pg_db *db)
{
    pg_params p = {0};
    pp_int(&p, PG_INSTANCE_LOCK);
    return pg_run(db, "SELECT pg_advisory_lock_shared($1)", &p, NULL);
}

/* Make sure the connection works before a transaction starts: a server
 * that restarted closed it, and PQreset reconnects (bounded by the connect
 * timeout). Never inside a transaction: that would silently lose it. */
static ecred_err pg_ready(pg_db *db)
{
    if (db->in_tx)
        return ECRED_OK;
    if (db->c && PQstatus(db->c) == CONNECTION_OK)
        return ECRED_OK;
    if (!db->c)
        return ECRED_ERR_IO;
    PQreset(db->c);
    db->nprepared = 0; /* a new session knows none of them */
    if (PQstatus(db->c) != CONNECTION_OK)
        return ECRED_ERR_IO;
    ecred_err e = pg_session(db);
    /* The new session holds no lock: say again that an instance is here. */
    if (!e && db->instance_lock)
        e = pg_instance_lock(db);
    return e;
}

/* Apply every migration above the database's version, once, in one
 * transaction per open, serialised across instances by an advisory lock. */
static ecred_err pg_migrate(pg_db *db)
{
    ecred_err e = pg_run(db, "BEGIN", NULL, NULL);
    if (e)
        return e;
    pg_params p = {0};
    pp_int(&p, PG_MIGRATION_LOCK);
    PGresult *r = NULL;
    if ((e = pg_run(db, "SELECT pg_advisory_xact_lock($1)", &p, NULL)) != ECRED_OK)
        goto out;
    if ((e = pg_run(db, "CREATE TABLE IF NOT EXISTS schema_migrations("
                        " version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                    NULL, NULL)) != ECRED_OK)
        goto out;
    if ((e = pg_run(db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", NULL, &r)) !=
        ECRED_OK)
        goto out;
    int64_t have = pg_int(r, 0, 0);
    PQclear(r);
    r = NULL;
    if (have > pg_migrations[sizeof pg_migrations / sizeof pg_migrations[0] - 1].version) {
        e = ECRED_ERR_ARG; /* a newer issuer migrated this database: do not guess */
        goto out;
    }
    for (size_t i = 0; i < sizeof pg_migrations / sizeof pg_migrations[0]; i++) {
        if (pg_migrations[i].version <= have)
            continue;
        /* Multi-statement SQL without parameters goes through PQexec. */
        PGresult *m = PQexec(db->c, pg_migrations[i].sql);
        bool ok = m && PQresultStatus(m) == PGRES_COMMAND_OK;
        PQclear(m);
        if (!ok) {
            e = ECRED_ERR_IO;
            goto out;
        }
        pg_params v = {0};
        pp_int(&v, pg_migrations[i].version);
        if ((e = pg_run(db, "INSERT INTO schema_migrations(version) VALUES($1)", &v, NULL)) !=
            ECRED_OK)
            goto out;
    }
    e = pg_run(db, "COMMIT", NULL, NULL);
out:
    if (e)
        pg_run(db, "ROLLBACK", NULL, NULL);
    return e;
}

static void pg_conn_close(pg_db *db)
{
    if (!db)
        return;
    if (db->c)
        PQfinish(db->c);
    free(db);
}

static ecred_err pg_conn_open(const char *conninfo, bool migrate, pg_db **out)
{
    pg_db *db = calloc(1, sizeof *db);
    if (!db)
        return ECRED_ERR_NOMEM;
    db->base.ops = &reg_pg_ops;
    db->list_size = REG_LIST_SIZE_DEFAULT;
    uint8_t b[2];
    ecred_err e = ecred_random(b, sizeof b);
    db->shard = (int)(((unsigned)b[0] << 8 | b[1]) % PG_USED_SHARDS);
    if (!e)
        e = pg_connect(db, conninfo);
    if (!e && migrate)
        e = pg_migrate(db);
    if (e) {
        pg_conn_close(db);
        return e;
    }
    *out = db;
    return ECRED_OK;
}

static ecred_err pg_open(const char *conninfo, reg_db **out)
{
    pg_db *db = NULL;
    ecred_err e = pg_conn_open(conninfo, true, &db);
    if (!e)
        *out = &db->base;
    return e;
}

static void pg_close(reg_db *base)
{
    pg_conn_close(pg_db_of(base));
}

static void pg_set_list_size(reg_db *base, uint32_t size)
{
    if (size >= 8)
        pg_db_of(base)->list_size = size;
}

static void pg_pool_free(pg_pool *p)
{
    if (!p)
        return;
    for (unsigned i = 0; i < p->nall; i++)
        pg_conn_close(p->all[i]);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    reg_gc_destroy(&p->gc);
    free(p);
}

static ecred_err pg_pool_open(const char *conninfo, unsigned size, reg_pool **out)
{
    if (size == 0 || size > PG_POOL_MAX)
        return ECRED_ERR_ARG;
    pg_pool *p = calloc(1, sizeof *p);
    if (!p)
        return ECRED_ERR_NOMEM;
    p->base.ops = &reg_pg_ops;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    reg_gc_init(&p->gc, PG_BATCH_MAX);
    for (unsigned i = 0; i < size; i++) {
        pg_db *db = NULL;
        /* The first connection migrates; the rest find the schema in place. */
        ecred_err e = pg_conn_open(conninfo, i == 0, &db);
        if (e) {
            pg_pool_free(p);
            return e;
        }
        /* An instance is here while the pool is open (reg_claim). */
        if (i == 0 && (e = pg_instance_lock(db)) == ECRED_OK)
            db->instance_lock = true;
        if (e) {
            pg_conn_close(db);
            pg_pool_free(p);
            return e;
        }
        /* Spread the pool's connections over distinct fill shards. */
        db->shard = (p->all[0] ? p->all[0]->shard + (int)i : db->shard) % PG_USED_SHARDS;
        db->pool = p;
        p->all[p->nall++] = db;
        p->free_dbs[p->nfree++] = db;
    }
    *out = &p->base;
    return ECRED_OK;
}

static void pg_rollback(reg_db *base)
{
    pg_db *db = pg_db_of(base);
    if (!db->in_tx)
        return;
    db->in_tx = false;
    if (db->c && PQstatus(db->c) == CONNECTION_OK)
        pg_run(db, "ROLLBACK", NULL, NULL);
}

static reg_db *pg_pool_get(reg_pool *base)
{
    pg_pool *p = pg_pool_of(base);
    pthread_mutex_lock(&p->mu);
    while (p->nfree == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    pg_db *db = p->free_dbs[--p->nfree];
    pthread_mutex_unlock(&p->mu);
    /* A connection the server dropped (restart) is reopened here; if the
     * server is still down the calls on it fail with IO (503) and the next
     * borrower tries again. */
    pg_ready(db);
    return &db->base;
}

static void pg_pool_put(reg_pool *base, reg_db *db)
{
    pg_pool *p = pg_pool_of(base);
    pg_rollback(db);
    pthread_mutex_lock(&p->mu);
    p->free_dbs[p->nfree++] = pg_db_of(db);
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static void pg_pool_close(reg_pool *base)
{
    pg_pool_free(pg_pool_of(base));
}

static void pg_pool_set_list_size(reg_pool *base, uint32_t size)
{
    pg_pool *p = pg_pool_of(base);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nall; i++)
        pg_set_list_size(&p->all[i]->base, size);
    pthread_mutex_unlock(&p->mu);
}

static void pg_pool_write_stats(reg_pool *base, uint64_t *items, uint64_t *commits)
{
    reg_gc_stats(&pg_pool_of(base)->gc, items, commits);
}

/* ---- transactions ---- */

static ecred_err pg_begin(pg_db *db, const char *sql)
{
    if (db->in_tx)
        return ECRED_ERR_INTERNAL; /* nested transaction: a bug */
    ecred_err e = pg_ready(db);
    if (!e)
        e = pg_run(db, sql, NULL, NULL);
    if (!e)
        db->in_tx = true;
    return e;
}

/* A read-write transaction; the callers take their locks (pg_begin_writer,
 * pg_begin_write). */
static ecred_err pg_begin_rw(pg_db *db)
{
    return pg_begin(db, "BEGIN ISOLATION LEVEL READ COMMITTED");
}

/* reg_begin_write: registry.h promises the write lock up front, as SQLite's
 * BEGIN IMMEDIATE: a transaction-scoped advisory lock shared by every
 * instance. Only tools and tests use it (no rerun there); the daemon's
 * writes go through reg_write and never take it. It then takes the audit
 * chain's lock too, before any row, in the daemon's order (PG_AUDIT_LOCK_KEY). */
static ecred_err pg_begin_write(reg_db *base)
{
    pg_db *db = pg_db_of(base);
    ecred_err e = pg_begin_rw(db);
    if (e)
        return e;
    pg_params p = {0};
    pp_int(&p, PG_WRITE_LOCK);
    if ((e = pg_run(db, "SELECT pg_advisory_xact_lock($1)", &p, NULL)) != ECRED_OK ||
        (e = pg_run(db, "SELECT pg_advisory_xact_lock(" PG_AUDIT_LOCK_KEY ")", NULL, NULL)) != ECRED_OK)
        pg_rollback(base);
    return e;
}

static ecred_err pg_begin_read(reg_db *base)
{
    /* One snapshot for the whole read (a list's generation and its entries). */
    return pg_begin(pg_db_of(base), "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static ecred_err pg_commit(reg_db *base)
{
    pg_db *db = pg_db_of(base);
    if (!db->in_tx)
        return ECRED_ERR_INTERNAL;
    PGresult *r = NULL;
    ecred_err e = pg_run(db, "COMMIT", NULL, &r);
    /* A COMMIT of an aborted transaction "succeeds" as ROLLBACK. */
    if (!e && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        e = ECRED_ERR_IO;
    PQclear(r);
    db->in_tx = false;
    return e;
}

/* BEGIN of a reg_write transaction, then the audit chain's lock (see
 * PG_AUDIT_LOCK_KEY): writes are serialised across instances, each instance
 * batching its own (reg_gc_submit), as SQLite's single writer does. */
static ecred_err pg_begin_writer(pg_db *db)
{
    ecred_err e = pg_begin_rw(db);
    if (!e && (e = pg_run(db, "SELECT pg_advisory_xact_lock(" PG_AUDIT_LOCK_KEY ")", NULL, NULL)) != ECRED_OK)
        pg_rollback(&db->base);
    return e;
}

/* One write outside a pool: its own transaction, rerun whole on a lost race. */
static ecred_err pg_write_alone(pg_db *db, reg_write_fn fn, void *ctx, bool *fn_failed)
{
    ecred_err e = ECRED_ERR_IO;
    bool failed = false;
    for (int attempt = 0; attempt < REG_WRITE_RETRIES; attempt++) {
        db->rerun = false;
        failed = false;
        if ((e = pg_begin_writer(db)) != ECRED_OK) {
            /* Nothing ran: a connection lost since the last use is reset
             * by the next attempt's pg_ready. */
            if (db->c && PQstatus(db->c) != CONNECTION_OK)
                continue;
            break;
        }
        e = fn(&db->base, ctx);
        if (e) {
            pg_rollback(&db->base);
            if (db->rerun)
                continue; /* lost a race: the write runs again on fresh data */
            failed = true;
            break;
        }
        e = pg_commit(&db->base);
        if (!e || !db->rerun)
            break; /* done, or an outcome we cannot retry (the connection died mid-commit) */
    }
    if (e && db->rerun)
        failed = false; /* retries exhausted: the registry is busy, not fn wrong */
    *fn_failed = failed;
    return e;
}


/* Run one item in a savepoint of w's open transaction, rerunning it there
 * after a lost race. false when the transaction itself is lost (a savepoint
 * that would not unwind). */
static bool pg_item_run(pg_db *w, reg_gc_item *it)
{
    if (pg_run(w, "SAVEPOINT pg_item", NULL, NULL) != ECRED_OK)
        return false;
    for (int attempt = 0; attempt < REG_WRITE_RETRIES; attempt++) {
        w->rerun = false;
        it->busy = false;
        it->fn_err = it->fn(&w->base, it->ctx);
        if (!it->fn_err)
            return pg_run(w, "RELEASE SAVEPOINT pg_item", NULL, NULL) == ECRED_OK;
        if (pg_run(w, "ROLLBACK TO SAVEPOINT pg_item", NULL, NULL) != ECRED_OK)
            return false;
        if (!w->rerun)
            break; /* a real refusal: fn's error is the answer */
        it->busy = true;
    }
    return pg_run(w, "RELEASE SAVEPOINT pg_item", NULL, NULL) == ECRED_OK;
}

/* Run a batch on w: one transaction, each item in a savepoint, one COMMIT.
 * An item's result is OK only if its fn succeeded and the COMMIT returned. A
 * COMMIT that lost a race (serialization failure, deadlock) reruns the whole
 * batch: bodies may run more than once (registry.h CONTRACT 4). */
static void pg_batch_run(void *leader_db, reg_gc_item *batch)
{
    pg_db *w = leader_db;
    ecred_err e = ECRED_ERR_IO;
    for (int attempt = 0; attempt < REG_WRITE_RETRIES; attempt++) {
        w->rerun = false;
        if ((e = pg_begin_writer(w)) != ECRED_OK) {
            if (w->c && PQstatus(w->c) != CONNECTION_OK)
                continue; /* reset by the next attempt's pg_ready */
            break;
        }
        bool lost = false;
        for (reg_gc_item *it = batch; it && !lost; it = it->next)
            lost = !pg_item_run(w, it);
        if (lost) {
            pg_rollback(&w->base);
            e = ECRED_ERR_IO;
            if (w->rerun)
                continue;
            break;
        }
        w->rerun = false;
        e = pg_commit(&w->base);
        if (!e || !w->rerun)
            break;
    }
    for (reg_gc_item *it = batch; it; it = it->next) {
        if (it->fn_err)
            it->result = it->fn_err; /* it wrote nothing either way */
        else
            it->result = e;
        if (e && !it->fn_err)
            it->busy = w->rerun;
    }
}

/* reg_write. In a pool, group commit as the SQLite backend does: writes
 * waiting while a batch commits go into the next batch, so 16 approvals
 * share a few COMMITs (and a few holds of the audit chain's lock, which
 * every approval takes until its COMMIT) instead of queueing one by one. */
static ecred_err pg_write(reg_db *base, reg_write_fn fn, void *ctx, bool *fn_failed)
{
    pg_db *db = pg_db_of(base);
    if (!db->pool)
        return pg_write_alone(db, fn, ctx, fn_failed);
    if (db->in_tx) {
        *fn_failed = false; /* fn never ran */
        return ECRED_ERR_INTERNAL; /* a write inside a transaction: a bug */
    }
    reg_gc_item item;
    memset(&item, 0, sizeof item);
    item.fn = fn;
    item.ctx = ctx;
    /* The leader runs the batch on its own connection (db, this one when we
     * lead): a pooled connection is its holder's alone. */
    reg_gc_submit(&db->pool->gc, &item, pg_batch_run, db);
    *fn_failed = item.fn_err != ECRED_OK && !item.busy;
    return item.result;
}

/* ---- tokens ---- */

static ecred_err pg_token_add(reg_db *base, const uint8_t hash[32], const char *role, int64_t now)
{
    pg_params p = {0};
    pp_bytes(&p, hash, 32);
    pp_text(&p, role);
    pp_int(&p, now);
    return pg_run(pg_db_of(base), "INSERT INTO tokens(hash, role, created_at) VALUES($1,$2,$3)",
                  &p, NULL);
}

static ecred_err pg_token_role(reg_db *base, const uint8_t hash[32], char role[16])
{
    pg_params p = {0};
    pp_bytes(&p, hash, 32);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT role FROM tokens WHERE hash = $1 AND (expires_at IS NULL"
                         " OR expires_at > extract(epoch FROM now()))",
                         &p, &r);
    if (!e) {
        if (PQntuples(r) == 1)
            pg_copy(r, 0, 0, role, 16);
        else
            e = ECRED_ERR_KEY_UNKNOWN;
    }
    PQclear(r);
    return e;
}

/* ---- applications ---- */

static ecred_err pg_application_insert(reg_db *base, const reg_application *a)
{
    pg_params p = {0};
    pp_text(&p, a->id);
    pp_text(&p, a->kind);
    pp_text(&p, a->state);
    pp_text(&p, a->id_number);
    pp_text(&p, a->credential_json);
    pp_text_or_null(&p, a->replaces);
    pp_text_or_null(&p, a->commitment_ref);
    pp_int(&p, a->submitted_at);
    pp_text(&p, a->submitted_by);
    return pg_run(pg_db_of(base),
                  "INSERT INTO applications(id, kind, state, id_number, credential_json, replaces,"
                  " commitment_ref, submitted_at, submitted_by) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9)",
                  &p, NULL);
}

static ecred_err pg_application_get(reg_db *base, const char *id, reg_application *out)
{
    pg_params p = {0};
    pp_text(&p, id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT id, kind, state, id_number, credential_json, replaces,"
                         " commitment_ref, submitted_at, submitted_by, decided_at, decided_by,"
                         " reject_reason, credential_id, issued_at FROM applications WHERE id = $1",
                         &p, &r);
    if (e)
        return e;
    reg_application a;
    memset(&a, 0, sizeof a);
    if (PQntuples(r) != 1) {
        e = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    pg_copy(r, 0, 0, a.id, sizeof a.id);
    pg_copy(r, 0, 1, a.kind, sizeof a.kind);
    pg_copy(r, 0, 2, a.state, sizeof a.state);
    pg_copy(r, 0, 3, a.id_number, sizeof a.id_number);
    if ((e = pg_dup(r, 0, 4, &a.credential_json)) != ECRED_OK)
        goto out;
    pg_copy(r, 0, 5, a.replaces, sizeof a.replaces);
    pg_copy(r, 0, 6, a.commitment_ref, sizeof a.commitment_ref);
    a.submitted_at = pg_int(r, 0, 7);
    pg_copy(r, 0, 8, a.submitted_by, sizeof a.submitted_by);
    a.decided_at = pg_int(r, 0, 9);
    pg_copy(r, 0, 10, a.decided_by, sizeof a.decided_by);
    if ((e = pg_dup(r, 0, 11, &a.reject_reason)) != ECRED_OK)
        goto out;
    pg_copy(r, 0, 12, a.credential_id, sizeof a.credential_id);
    a.issued_at = pg_int(r, 0, 13);
    if (!a.credential_json) {
        e = ECRED_ERR_IO;
        goto out;
    }
    *out = a;
    memset(&a, 0, sizeof a);
out:
    reg_application_free(&a);
    PQclear(r);
    return e;
}

static ecred_err pg_application_set_issued(reg_db *base, const char *id, const char *credential_id,
                                           int64_t now, const char *actor)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_text(&p, credential_id);
    pp_int(&p, now);
    pp_text(&p, actor);
    pp_text(&p, id);
    ecred_err e = pg_run_one(db,
                             "UPDATE applications SET state = 'issued', credential_id = $1,"
                             " decided_at = $2, issued_at = $2, decided_by = $3"
                             " WHERE id = $4 AND state = 'submitted'",
                             &p, ECRED_ERR_INTERNAL);
    /* At READ COMMITTED another instance may have decided it after this
     * write read it: run the write again, it will see the decision. */
    if (e == ECRED_ERR_INTERNAL)
        db->rerun = true;
    return e;
}

static ecred_err pg_application_set_rejected(reg_db *base, const char *id, const char *reason,
                                             int64_t now, const char *actor)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_text(&p, reason);
    pp_int(&p, now);
    pp_text(&p, actor);
    pp_text(&p, id);
    ecred_err e = pg_run_one(db,
                             "UPDATE applications SET state = 'rejected', reject_reason = $1,"
                             " decided_at = $2, decided_by = $3 WHERE id = $4 AND state = 'submitted'",
                             &p, ECRED_ERR_INTERNAL);
    if (e == ECRED_ERR_INTERNAL)
        db->rerun = true;
    return e;
}

/* ---- idempotency ---- */

static ecred_err pg_idem_get(reg_db *base, const char *key, uint8_t req_hash[32],
                             char app_id[REG_ID_LEN + 1])
{
    pg_params p = {0};
    pp_text(&p, key);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT request_hash, application_id FROM idempotency WHERE key = $1", &p, &r);
    if (e)
        return e;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ECRED_ERR_KEY_UNKNOWN;
    }
    ecred_buf h = ECRED_BUF_INIT;
    e = pg_bytea(r, 0, 0, 32, &h);
    if (!e && h.len != 32)
        e = ECRED_ERR_IO;
    if (!e) {
        memcpy(req_hash, h.ptr, 32);
        pg_copy(r, 0, 1, app_id, REG_ID_LEN + 1);
    }
    ecred_buf_free(&h);
    PQclear(r);
    return e;
}

static ecred_err pg_idem_put(reg_db *base, const char *key, const uint8_t req_hash[32],
                             const char *app_id, int64_t now)
{
    pg_params p = {0};
    pp_text(&p, key);
    pp_bytes(&p, req_hash, 32);
    pp_text(&p, app_id);
    pp_int(&p, now);
    pg_db *db = pg_db_of(base);
    ecred_err e = pg_run(db,
                         "INSERT INTO idempotency(key, request_hash, application_id, created_at)"
                         " VALUES($1,$2,$3,$4)",
                         &p, NULL);
    /* At READ COMMITTED a concurrent request with the same key (on another
     * instance too) committed after this write looked the key up: run the
     * write again, it will find the key and replay that request's answer. */
    if (e == ECRED_ERR_EXISTS)
        db->rerun = true;
    return e;
}

/* ---- commitments ---- */

static ecred_err pg_commitment_insert(reg_db *base, const reg_commitment *c)
{
    pg_params p = {0};
    pp_text(&p, c->ref);
    pp_text(&p, c->application_id);
    pp_text(&p, c->text);
    pp_text(&p, c->sha256_hex);
    pp_int(&p, c->created_at);
    return pg_run(pg_db_of(base),
                  "INSERT INTO commitments(ref, application_id, text, sha256, created_at)"
                  " VALUES($1,$2,$3,$4,$5)",
                  &p, NULL);
}

static ecred_err pg_commitment_get(reg_db *base, const char *ref, reg_commitment *out)
{
    pg_params p = {0};
    pp_text(&p, ref);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT ref, application_id, text, sha256, created_at, confirmed_at"
                         " FROM commitments WHERE ref = $1",
                         &p, &r);
    if (e)
        return e;
    reg_commitment c;
    memset(&c, 0, sizeof c);
    if (PQntuples(r) != 1) {
        e = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    pg_copy(r, 0, 0, c.ref, sizeof c.ref);
    pg_copy(r, 0, 1, c.application_id, sizeof c.application_id);
    if ((e = pg_dup(r, 0, 2, &c.text)) != ECRED_OK)
        goto out;
    if (!c.text) {
        e = ECRED_ERR_IO;
        goto out;
    }
    pg_copy(r, 0, 3, c.sha256_hex, sizeof c.sha256_hex);
    c.created_at = pg_int(r, 0, 4);
    c.confirmed_at = pg_int(r, 0, 5);
    *out = c;
    memset(&c, 0, sizeof c);
out:
    reg_commitment_free(&c);
    PQclear(r);
    return e;
}

static ecred_err pg_commitment_confirm(reg_db *base, const char *ref, int64_t now)
{
    pg_params p = {0};
    pp_int(&p, now);
    pp_text(&p, ref);
    return pg_run(pg_db_of(base),
                  "UPDATE commitments SET confirmed_at = $1 WHERE ref = $2 AND confirmed_at IS NULL",
                  &p, NULL);
}

/* ---- credentials ---- */

static ecred_err pg_credential_insert(reg_db *base, const reg_credential *c)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_text(&p, c->id);
    pp_text(&p, c->application_id);
    pp_int(&p, c->type);
    pp_text(&p, c->id_number);
    pp_int(&p, c->list_id);
    pp_int(&p, c->idx);
    pp_int(&p, c->status);
    pp_text(&p, c->qr_text);
    pp_text(&p, c->credential_json);
    pp_int(&p, c->valid_until);
    pp_int(&p, c->endorsement_date);
    pp_int(&p, c->issued_at);
    /* The index must lie inside its list: the CHECK-free way is the join. */
    ecred_err e = pg_run_one(
        db,
        "INSERT INTO credentials(id, application_id, type, id_number, list_id, idx, status,"
        " qr_text, credential_json, valid_until, endorsement_date, issued_at)"
        " SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12 FROM status_lists"
        " WHERE id = $5 AND $6::bigint < size",
        &p, ECRED_ERR_EXISTS);
    if (e)
        return e;
    /* Count the index as used in its list, in the same transaction, on this
     * connection's shard (no single hot row). */
    pg_params u = {0};
    pp_int(&u, c->list_id);
    pp_int(&u, db->shard);
    return pg_run(db,
                  "INSERT INTO status_list_used(list_id, shard, n) VALUES($1,$2,1)"
                  " ON CONFLICT (list_id, shard) DO UPDATE SET n = status_list_used.n + 1",
                  &u, NULL);
}

#define PG_CRED_COLUMNS                                                                   \
    "SELECT id, application_id, type, id_number, list_id, idx, status, qr_text,"          \
    " credential_json, valid_until, endorsement_date, issued_at, replaced_by FROM credentials "

static ecred_err pg_credential_query(pg_db *db, const char *sql, const char *param,
                                     reg_credential *out)
{
    pg_params p = {0};
    pp_text(&p, param);
    PGresult *r = NULL;
    ecred_err e = pg_run(db, sql, &p, &r);
    if (e)
        return e;
    reg_credential c;
    memset(&c, 0, sizeof c);
    if (PQntuples(r) != 1) {
        e = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    pg_copy(r, 0, 0, c.id, sizeof c.id);
    pg_copy(r, 0, 1, c.application_id, sizeof c.application_id);
    c.type = (int)pg_int(r, 0, 2);
    pg_copy(r, 0, 3, c.id_number, sizeof c.id_number);
    c.list_id = pg_int(r, 0, 4);
    c.idx = pg_int(r, 0, 5);
    c.status = (int)pg_int(r, 0, 6);
    if ((e = pg_dup(r, 0, 7, &c.qr_text)) != ECRED_OK ||
        (e = pg_dup(r, 0, 8, &c.credential_json)) != ECRED_OK)
        goto out;
    if (!c.qr_text || !c.credential_json) {
        e = ECRED_ERR_IO;
        goto out;
    }
    c.valid_until = (int32_t)pg_int(r, 0, 9);
    c.endorsement_date = (int32_t)pg_int(r, 0, 10);
    c.issued_at = pg_int(r, 0, 11);
    pg_copy(r, 0, 12, c.replaced_by, sizeof c.replaced_by);
    *out = c;
    memset(&c, 0, sizeof c);
out:
    reg_credential_free(&c);
    PQclear(r);
    return e;
}

static ecred_err pg_credential_get(reg_db *base, const char *id, reg_credential *out)
{
    return pg_credential_query(pg_db_of(base), PG_CRED_COLUMNS "WHERE id = $1", id, out);
}

static ecred_err pg_credential_application(reg_db *base, const char *id,
                                            char app_id[REG_ID_LEN + 1])
{
    pg_params p = {0};
    pp_text(&p, id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "SELECT application_id FROM credentials WHERE id = $1", &p, &r);
    if (e)
        return e;
    if (PQntuples(r) != 1)
        e = ECRED_ERR_KEY_UNKNOWN;
    else if (PQgetlength(r, 0, 0) != REG_ID_LEN)
        e = ECRED_ERR_INTERNAL;
    else
        memcpy(app_id, PQgetvalue(r, 0, 0), REG_ID_LEN + 1);
    PQclear(r);
    return e;
}

static ecred_err pg_credential_latest_for(reg_db *base, const char *id_number, reg_credential *out)
{
    return pg_credential_query(pg_db_of(base),
                               PG_CRED_COLUMNS
                               "WHERE id_number = $1 ORDER BY issued_at DESC, seq DESC LIMIT 1",
                               id_number, out);
}

static ecred_err pg_credential_set_replaced_by(reg_db *base, const char *id, const char *new_id)
{
    pg_params p = {0};
    pp_text(&p, new_id);
    pp_text(&p, id);
    return pg_run_one(pg_db_of(base), "UPDATE credentials SET replaced_by = $1 WHERE id = $2", &p,
                      ECRED_ERR_KEY_UNKNOWN);
}

static ecred_err pg_status_change(reg_db *base, const char *cred_id, int old_status, int new_status,
                                  const char *action, const char *reason, const char *actor,
                                  int64_t now)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_int(&p, new_status);
    pp_text(&p, cred_id);
    pp_int(&p, old_status);
    /* The WHERE on the old status makes a lost race visible: at READ
     * COMMITTED another instance's change committed meanwhile, so the write
     * runs again and decides on the status as it is now. */
    ecred_err e = pg_run_one(db, "UPDATE credentials SET status = $1 WHERE id = $2 AND status = $3",
                             &p, ECRED_ERR_INTERNAL);
    if (e == ECRED_ERR_INTERNAL)
        db->rerun = true;
    if (e)
        return e;
    pg_params v = {0};
    pp_text(&v, cred_id);
    pp_int(&v, old_status);
    pp_int(&v, new_status);
    pp_text(&v, action);
    pp_text_or_null(&v, reason);
    pp_text(&v, actor);
    pp_int(&v, now);
    if ((e = pg_run(db,
                    "INSERT INTO status_events(credential_id, old_status, new_status, action,"
                    " reason, actor, at) VALUES($1,$2,$3,$4,$5,$6,$7)",
                    &v, NULL)) != ECRED_OK)
        return e;
    pg_params g = {0};
    pp_text(&g, cred_id);
    return pg_run(db,
                  "UPDATE status_lists SET generation = generation + 1 WHERE id ="
                  " (SELECT list_id FROM credentials WHERE id = $1)",
                  &g, NULL);
}

static ecred_err pg_status_events(reg_db *base, const char *cred_id, reg_status_event **out,
                                  size_t *n)
{
    pg_params p = {0};
    pp_text(&p, cred_id);
    PGresult *r = NULL;
    /* A credential's history is short; the cap keeps a hostile table bounded. */
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT old_status, new_status, action, reason, actor, at"
                         " FROM status_events WHERE credential_id = $1 ORDER BY seq LIMIT 1025",
                         &p, &r);
    if (e)
        return e;
    size_t count = (size_t)PQntuples(r);
    reg_status_event *ev = NULL;
    if (count > 1024) {
        e = ECRED_ERR_TOO_LARGE;
        goto out;
    }
    if (count && !(ev = calloc(count, sizeof *ev))) {
        e = ECRED_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        int row = (int)i;
        ev[i].old_status = (int)pg_int(r, row, 0);
        ev[i].new_status = (int)pg_int(r, row, 1);
        pg_copy(r, row, 2, ev[i].action, sizeof ev[i].action);
        if ((e = pg_dup(r, row, 3, &ev[i].reason)) != ECRED_OK)
            goto out;
        pg_copy(r, row, 4, ev[i].actor, sizeof ev[i].actor);
        ev[i].at = pg_int(r, row, 5);
    }
    *out = ev;
    *n = count;
    ev = NULL;
out:
    reg_status_events_free(ev, count);
    PQclear(r);
    return e;
}

/* ---- status lists and index allocation ---- */

/* Fill a block from one row (id, size, first, next, perm_key, uri) of a
 * reserving statement; ECRED_ERR_IO for a row we did not write. */
static ecred_err pg_block_from(PGresult *r, reg_index_block *out)
{
    int64_t id = pg_int(r, 0, 0), size = pg_int(r, 0, 1), first = pg_int(r, 0, 2), next = pg_int(r, 0, 3);
    if (id <= 0 || size <= 0 || (uint64_t)size > ECRED_SLIST_MAX_ENTRIES || first < 0 || next <= first ||
        next > size)
        return ECRED_ERR_IO;
    ecred_buf key = ECRED_BUF_INIT;
    ecred_err e = pg_bytea(r, 0, 4, IDXPERM_KEY_LEN, &key);
    if (!e && key.len != IDXPERM_KEY_LEN)
        e = ECRED_ERR_IO;
    if (!e) {
        out->list_id = id;
        out->size = (uint32_t)size;
        out->first = (uint32_t)first;
        out->count = (uint32_t)(next - first);
        memcpy(out->key, key.ptr, IDXPERM_KEY_LEN);
        pg_copy(r, 0, 5, out->uri, sizeof out->uri);
    }
    if (key.ptr)
        ecred_wipe(key.ptr, key.len);
    ecred_buf_free(&key);
    return e;
}

static ecred_err pg_index_reserve(reg_db *base, uint32_t want, reg_index_block *out)
{
    pg_db *db = pg_db_of(base);
    if (want == 0)
        return ECRED_ERR_ARG;
    pg_params p = {0};
    pp_int(&p, want);
    PGresult *r = NULL;
    /* One statement: lock the open list's row (FOR UPDATE re-reads a row
     * another instance moved meanwhile, and drops it if that filled it), move
     * its cursor, return the range. Two instances never get the same range. */
    ecred_err e = pg_run(db,
                         "WITH cur AS (SELECT id, next_pos FROM status_lists WHERE next_pos < size"
                         " AND NOT closed ORDER BY id DESC LIMIT 1 FOR UPDATE)"
                         " UPDATE status_lists l SET next_pos = LEAST(l.size, cur.next_pos + $1)"
                         " FROM cur WHERE l.id = cur.id"
                         " RETURNING l.id, l.size, cur.next_pos, l.next_pos, l.perm_key, l.uri",
                         &p, &r);
    if (e)
        return e;
    if (PQntuples(r) == 1) {
        e = pg_block_from(r, out);
        PQclear(r);
        return e;
    }
    PQclear(r);
    r = NULL;
    /* No list has room: open the next one with a fresh key, the range
     * reserved in the same insert. Two instances opening the same id: the
     * primary key lets one win, the other gets ECRED_ERR_EXISTS and its
     * caller reserves again (in the list the winner opened). */
    int64_t id = 0;
    if ((e = pg_run(db, "SELECT COALESCE(MAX(id), 0) + 1 FROM status_lists", NULL, &r)) != ECRED_OK)
        return e;
    id = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
    PQclear(r);
    r = NULL;
    if (id <= 0)
        return ECRED_ERR_IO;
    char uri[REG_URI_MAX + 1] = "";
    if (db->status_prefix[0]) {
        int n = snprintf(uri, sizeof uri, "%s%lld", db->status_prefix, (long long)id);
        if (n <= 0 || (size_t)n >= sizeof uri)
            return ECRED_ERR_TOO_LARGE;
    }
    uint8_t key[IDXPERM_KEY_LEN];
    if ((e = ecred_random(key, sizeof key)) != ECRED_OK)
        return e;
    pg_params q = {0};
    pp_int(&q, id);
    pp_int(&q, db->list_size);
    pp_text_or_null(&q, uri);
    pp_bytes(&q, key, sizeof key);
    pp_int(&q, want < db->list_size ? want : db->list_size);
    e = pg_run(db,
               "INSERT INTO status_lists(id, size, uri, perm_key, next_pos) VALUES($1,$2,$3,$4,$5)"
               " RETURNING id, size, 0, next_pos, perm_key, uri",
               &q, &r);
    ecred_wipe(key, sizeof key);
    if (!e)
        e = PQntuples(r) == 1 ? pg_block_from(r, out) : ECRED_ERR_IO;
    PQclear(r);
    return e;
}

static ecred_err pg_list_info_get(reg_db *base, int64_t list_id, reg_list_info *out)
{
    pg_params p = {0};
    pp_int(&p, list_id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT id, size, (SELECT COALESCE(SUM(n), 0) FROM status_list_used u"
                         " WHERE u.list_id = l.id), generation, uri, closed FROM status_lists l WHERE id = $1",
                         &p, &r);
    if (e)
        return e;
    if (PQntuples(r) != 1) {
        e = ECRED_ERR_KEY_UNKNOWN;
    } else {
        int64_t size = pg_int(r, 0, 1), used = pg_int(r, 0, 2);
        if (size <= 0 || (uint64_t)size > ECRED_SLIST_MAX_ENTRIES || used < 0 || used > size) {
            e = ECRED_ERR_IO;
        } else {
            out->id = pg_int(r, 0, 0);
            out->size = (uint32_t)size;
            out->used = (uint32_t)used;
            out->generation = pg_int(r, 0, 3);
            pg_copy(r, 0, 4, out->uri, sizeof out->uri);
            out->closed = strcmp(PQgetvalue(r, 0, 5), "t") == 0; /* closed by a restore */
        }
    }
    PQclear(r);
    return e;
}

static ecred_err pg_list_entries(reg_db *base, int64_t list_id,
                                 ecred_err (*fn)(void *ctx, int64_t idx, int status), void *ctx)
{
    pg_params p = {0};
    pp_int(&p, list_id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT idx, status FROM credentials WHERE list_id = $1 AND status <> 0",
                         &p, &r);
    if (e)
        return e;
    int n = PQntuples(r);
    for (int i = 0; !e && i < n; i++)
        e = fn(ctx, pg_int(r, i, 0), (int)pg_int(r, i, 1));
    PQclear(r);
    return e;
}

/* reg_reminders_page: as the SQLite backend's (each arm seeks its (day, id)
 * index from the cursor $3/$4/$5, at most $6 rows; the merge keeps (day, id,
 * due) order). */
#define PG_REMINDER_ARM_EXPIRY                                                                     \
    "(SELECT id, 'expiry' AS due, valid_until AS day, id_number, valid_until FROM credentials"     \
    " WHERE status <> 1 AND valid_until BETWEEN $1 AND $2 AND (valid_until, id) >= ($3::integer, $4::text)" \
    " AND NOT (valid_until = $3 AND id = $4 AND $5::text >= 'expiry')"
#define PG_REMINDER_ARM_ENDORSE                                                                    \
    "(SELECT id, 'endorsement' AS due, endorsement_date AS day, id_number, valid_until FROM credentials" \
    " WHERE status <> 1 AND endorsement_date <> 0 AND endorsement_date BETWEEN $1 AND $2"           \
    " AND (endorsement_date, id) >= ($3::integer, $4::text)"                                       \
    " AND NOT (endorsement_date = $3 AND id = $4 AND $5::text >= 'endorsement')"

static ecred_err pg_reminders_page(reg_db *base, int32_t from_day, int32_t to_day, const char *id_number,
                                   const reg_reminder *after, reg_reminder *out, size_t max, size_t *n)
{
    pg_params p = {0};
    pp_int(&p, from_day);
    pp_int(&p, to_day);
    pp_int(&p, after ? after->day : from_day - 1);
    pp_text(&p, after ? after->credential_id : "");
    pp_text(&p, after ? after->due : "");
    pp_int(&p, (int64_t)max);
    if (id_number)
        pp_text(&p, id_number);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         id_number ? PG_REMINDER_ARM_EXPIRY " AND id_number = $7 ORDER BY valid_until, id LIMIT $6)"
                                     " UNION ALL " PG_REMINDER_ARM_ENDORSE " AND id_number = $7"
                                     " ORDER BY endorsement_date, id LIMIT $6) ORDER BY 3, 1, 2 LIMIT $6"
                                   : PG_REMINDER_ARM_EXPIRY " ORDER BY valid_until, id LIMIT $6)"
                                     " UNION ALL " PG_REMINDER_ARM_ENDORSE
                                     " ORDER BY endorsement_date, id LIMIT $6) ORDER BY 3, 1, 2 LIMIT $6",
                         &p, &r);
    if (e)
        return e;
    int rows = PQntuples(r);
    for (int i = 0; i < rows && *n < max; i++) {
        reg_reminder *x = &out[*n];
        memset(x, 0, sizeof *x);
        pg_copy(r, i, 0, x->credential_id, sizeof x->credential_id);
        pg_copy(r, i, 1, x->due, sizeof x->due);
        x->day = (int32_t)pg_int(r, i, 2);
        pg_copy(r, i, 3, x->id_number, sizeof x->id_number);
        x->valid_until = (int32_t)pg_int(r, i, 4);
        (*n)++;
    }
    PQclear(r);
    return ECRED_OK;
}

/* ---- stored status list tokens ---- */

static ecred_err pg_holder_get(reg_db *base, const char *app_id, reg_holder *out)
{
    pg_params p = {0};
    pp_text(&p, app_id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT x, y_sign, generation, bound_at FROM holder_bindings WHERE application_id = $1",
                         &p, &r);
    if (e)
        return e;
    reg_holder h;
    memset(&h, 0, sizeof h);
    if (PQntuples(r) == 1) {
        ecred_buf x = ECRED_BUF_INIT;
        e = pg_bytea(r, 0, 0, 32, &x);
        int64_t gen = pg_int(r, 0, 2);
        if (!e && (x.len != 32 || gen < 0 || gen > UINT32_MAX))
            e = ECRED_ERR_INTERNAL;
        if (!e) {
            memcpy(h.x, x.ptr, 32);
            h.y_sign = pg_int(r, 0, 1) != 0;
            h.generation = (uint32_t)gen;
            h.bound_at = pg_int(r, 0, 3);
            h.bound = true;
        }
        ecred_buf_free(&x);
    }
    PQclear(r);
    if (!e)
        *out = h;
    return e;
}

static ecred_err pg_holder_put(reg_db *base, const char *app_id, const reg_holder *h)
{
    pg_params p = {0};
    pp_text(&p, app_id);
    pp_bytes(&p, h->x, 32);
    pp_int(&p, h->y_sign ? 1 : 0);
    pp_int(&p, h->generation);
    pp_int(&p, h->bound_at);
    return pg_run(pg_db_of(base),
                  "INSERT INTO holder_bindings(application_id, x, y_sign, generation, bound_at)"
                  " VALUES($1,$2,$3,$4,$5) ON CONFLICT (application_id) DO UPDATE SET x = EXCLUDED.x,"
                  " y_sign = EXCLUDED.y_sign, generation = EXCLUDED.generation, bound_at = EXCLUDED.bound_at",
                  &p, NULL);
}

static ecred_err pg_list_token_get(reg_db *base, int64_t list_id, reg_list_token *out)
{
    pg_params p = {0};
    pp_int(&p, list_id);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT generation, iat, token FROM list_tokens WHERE list_id = $1", &p, &r);
    if (e)
        return e;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ECRED_ERR_KEY_UNKNOWN;
    }
    reg_list_token t;
    memset(&t, 0, sizeof t);
    t.list_id = list_id;
    t.generation = pg_int(r, 0, 0);
    t.iat = pg_int(r, 0, 1);
    e = pg_bytea(r, 0, 2, ECRED_SLIST_TOKEN_MAX, &t.token);
    if (!e && t.token.len == 0)
        e = ECRED_ERR_IO;
    if (!e)
        *out = t;
    else
        reg_list_token_free(&t);
    PQclear(r);
    return e;
}

static ecred_err pg_list_token_put(reg_db *base, const reg_list_token *t)
{
    if (!t->token.len || t->token.len > ECRED_SLIST_TOKEN_MAX)
        return ECRED_ERR_ARG;
    pg_params p = {0};
    pp_int(&p, t->list_id);
    pp_int(&p, t->generation);
    pp_int(&p, t->iat);
    pp_bytes(&p, t->token.ptr, t->token.len);
    /* Only forward: a newer generation, or the same one signed later. */
    return pg_run_one(pg_db_of(base),
                      "INSERT INTO list_tokens(list_id, generation, iat, token) VALUES($1,$2,$3,$4)"
                      " ON CONFLICT (list_id) DO UPDATE SET generation = EXCLUDED.generation,"
                      " iat = EXCLUDED.iat, token = EXCLUDED.token"
                      " WHERE list_tokens.generation < EXCLUDED.generation OR"
                      " (list_tokens.generation = EXCLUDED.generation AND"
                      " list_tokens.iat < EXCLUDED.iat)",
                      &p, ECRED_ERR_EXISTS);
}

/* ---- registry copy ---- */

/* Dump SELECTs: our own tables in REG_COPY_TABLES order and columns; used
 * is the sum of the fill shards, bytea comes out as "\x" hex text. */
static const char *const pg_dump_sql[] = {
    "SELECT hash, role, created_at, label, expires_at FROM tokens ORDER BY created_at, hash",
    "SELECT id, kind, state, id_number, credential_json, replaces, commitment_ref, submitted_at,"
    " submitted_by, decided_at, decided_by, reject_reason, credential_id, issued_at"
    " FROM applications ORDER BY submitted_at, id",
    "SELECT key, request_hash, application_id, created_at FROM idempotency ORDER BY created_at, key",
    "SELECT ref, application_id, text, sha256, created_at, confirmed_at FROM commitments"
    " ORDER BY created_at, ref",
    "SELECT id, size, (SELECT COALESCE(SUM(n), 0) FROM status_list_used u WHERE u.list_id = l.id),"
    " generation, perm_key, next_pos, uri, closed::integer FROM status_lists l ORDER BY id",
    "SELECT id, application_id, type, id_number, list_id, idx, status, qr_text, credential_json,"
    " valid_until, endorsement_date, issued_at, replaced_by FROM credentials ORDER BY seq",
    "SELECT seq, credential_id, old_status, new_status, action, reason, actor, at"
    " FROM status_events ORDER BY seq",
    "SELECT list_id, generation, iat, token FROM list_tokens ORDER BY list_id",
    "SELECT application_id, x, y_sign, generation, bound_at FROM holder_bindings ORDER BY application_id",
    /* The hash chain as it is: seq, prev and hash copied byte for byte, so
     * `audit verify` and earlier checkpoints hold on the destination. */
    "SELECT seq, at, action, subject, actor, prev, hash FROM audit_log ORDER BY seq",
};

static const char *const pg_copy_names[] = {
#define X(name, cols, n) #name,
    REG_COPY_TABLES
#undef X
};

static ecred_err pg_dump(reg_db *base, reg_row_fn fn, void *ctx)
{
    pg_db *db = pg_db_of(base);
    ecred_err e = ECRED_OK;
    for (size_t t = 0; !e && t < sizeof pg_dump_sql / sizeof pg_dump_sql[0]; t++) {
        PGresult *r = NULL;
        if ((e = pg_run(db, pg_dump_sql[t], NULL, &r)) != ECRED_OK)
            return e;
        int rows = PQntuples(r), ncol = PQnfields(r);
        reg_value v[PG_PARAMS_MAX];
        unsigned char *blobs[PG_PARAMS_MAX];
        if (ncol > PG_PARAMS_MAX)
            e = ECRED_ERR_INTERNAL;
        for (int i = 0; !e && i < rows; i++) {
            int nb = 0;
            for (int k = 0; !e && k < ncol; k++) {
                memset(&v[k], 0, sizeof v[k]);
                if (PQgetisnull(r, i, k)) {
                    v[k].kind = REG_V_NULL;
                } else if (PQftype(r, k) == 17 /* bytea */) {
                    size_t n = 0;
                    unsigned char *b = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, k), &n);
                    if (!b) {
                        e = ECRED_ERR_NOMEM;
                        break;
                    }
                    blobs[nb++] = b;
                    v[k].kind = REG_V_BLOB;
                    v[k].p = b;
                    v[k].len = n;
                } else if (PQftype(r, k) == 20 || PQftype(r, k) == 23 /* int8, int4 */) {
                    v[k].kind = REG_V_INT;
                    v[k].i = pg_int(r, i, k);
                } else {
                    v[k].kind = REG_V_TEXT;
                    v[k].p = PQgetvalue(r, i, k);
                    v[k].len = (size_t)PQgetlength(r, i, k);
                }
            }
            if (!e)
                e = fn(ctx, pg_copy_names[t], v, (size_t)ncol);
            for (int k = 0; k < nb; k++)
                PQfreemem(blobs[k]);
        }
        PQclear(r);
    }
    return e;
}

static ecred_err pg_load_row(reg_db *base, const char *table, const reg_value *cols, size_t n)
{
    pg_db *db = pg_db_of(base);
    static const char *const cols_of[] = {
#define X(name, cols, n) cols,
        REG_COPY_TABLES
#undef X
    };
    size_t t = 0, nt = sizeof pg_copy_names / sizeof pg_copy_names[0];
    while (t < nt && strcmp(pg_copy_names[t], table) != 0)
        t++;
    if (t == nt || n == 0 || n > PG_PARAMS_MAX)
        return ECRED_ERR_ARG;
    pg_params p = {0};
    char *owned[PG_PARAMS_MAX] = {0};
    ecred_err e = ECRED_OK;
    for (size_t i = 0; !e && i < n; i++) {
        switch (cols[i].kind) {
        case REG_V_INT: pp_int(&p, cols[i].i); break;
        case REG_V_BLOB: pp_bytes(&p, cols[i].p, cols[i].len); break;
        case REG_V_TEXT:
            /* Text params are NUL-terminated: copy the borrowed span. */
            if (cols[i].len > REG_TEXT_MAX || !(owned[i] = malloc(cols[i].len + 1))) {
                e = cols[i].len > REG_TEXT_MAX ? ECRED_ERR_TOO_LARGE : ECRED_ERR_NOMEM;
                break;
            }
            memcpy(owned[i], cols[i].p, cols[i].len);
            owned[i][cols[i].len] = 0;
            pp_text(&p, owned[i]);
            break;
        default: pp_text(&p, NULL);
        }
    }
    char sql[1024];
    if (!e) {
        if (strcmp(table, "status_lists") == 0) {
            /* used goes to the fill shards, the rest to the list row. */
            int len = snprintf(sql, sizeof sql,
                               "WITH l AS (INSERT INTO status_lists(id, size, generation, perm_key,"
                               " next_pos, uri, closed) VALUES($1,$2,$4,$5,$6,$7,"
                               " COALESCE($8::integer, 0) <> 0) RETURNING id)"
                               " INSERT INTO status_list_used(list_id, shard, n)"
                               " SELECT id, 0, $3 FROM l");
            if (len <= 0 || (size_t)len >= sizeof sql)
                e = ECRED_ERR_INTERNAL;
        } else {
            int len = snprintf(sql, sizeof sql, "INSERT INTO %s(%s) VALUES(", table, cols_of[t]);
            for (size_t i = 0; len > 0 && (size_t)len < sizeof sql && i < n; i++)
                len += snprintf(sql + len, sizeof sql - (size_t)len, "%s$%zu", i ? "," : "", i + 1);
            if (len > 0 && (size_t)len < sizeof sql - 2) {
                sql[len++] = ')';
                sql[len] = 0;
            } else {
                e = ECRED_ERR_INTERNAL;
            }
        }
    }
    if (!e)
        e = pg_run_sql(db, sql, &p, NULL, false); /* built here: never prepared */
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    return e;
}

static ecred_err pg_load_finish(reg_db *base)
{
    pg_db *db = pg_db_of(base);
    PGresult *r = NULL;
    /* A list's fill must be what its credentials say, or a list would never
     * roll over or would claim room it does not have. */
    ecred_err e = pg_run(db,
                         "SELECT COUNT(*) FROM status_lists l WHERE"
                         " (SELECT COALESCE(SUM(n), 0) FROM status_list_used u WHERE u.list_id = l.id)"
                         " <> (SELECT COUNT(*) FROM credentials c WHERE c.list_id = l.id)",
                         NULL, &r);
    if (!e && pg_int(r, 0, 0) != 0)
        e = ECRED_ERR_INTERNAL;
    PQclear(r);
    /* Sequences continue after the copied rows. */
    if (!e)
        e = pg_run(db,
                   "SELECT setval(pg_get_serial_sequence('status_events', 'seq'),"
                   " GREATEST((SELECT MAX(seq) FROM status_events), 1)),"
                   " setval(pg_get_serial_sequence('credentials', 'seq'),"
                   " GREATEST((SELECT MAX(seq) FROM credentials), 1))",
                   NULL, NULL);
    return e;
}

static ecred_err pg_is_empty(reg_db *base, bool *empty)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT EXISTS(SELECT 1 FROM tokens) OR EXISTS(SELECT 1 FROM applications)"
                         " OR EXISTS(SELECT 1 FROM idempotency) OR EXISTS(SELECT 1 FROM commitments)"
                         " OR EXISTS(SELECT 1 FROM status_lists) OR EXISTS(SELECT 1 FROM credentials)"
                         " OR EXISTS(SELECT 1 FROM status_events) OR EXISTS(SELECT 1 FROM list_tokens)"
                         " OR EXISTS(SELECT 1 FROM holder_bindings) OR EXISTS(SELECT 1 FROM audit_log)",
                         NULL, &r);
    if (!e)
        *empty = strcmp(PQgetvalue(r, 0, 0), "f") == 0;
    PQclear(r);
    return e;
}

static ecred_err pg_schema_version(reg_db *base, int64_t *version)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                         NULL, &r);
    if (!e)
        *version = pg_int(r, 0, 0);
    PQclear(r);
    return e;
}

/* ---- audit log ---- */

/* Advisory lock key of audit appends ("ecred-audit" in spirit; distinct from
 * the migration lock's). */

/* Copy a 32-byte bytea column into out; zeros when it is not 32 bytes (the
 * verifier then reports the mismatch rather than us guessing). */
static void pg_hash32(PGresult *r, int row, int col, uint8_t out[32])
{
    ecred_buf b = ECRED_BUF_INIT;
    memset(out, 0, 32);
    if (pg_bytea(r, row, col, 32, &b) == ECRED_OK && b.len == 32)
        memcpy(out, b.ptr, 32);
    ecred_buf_free(&b);
}

static ecred_err pg_audit_last(reg_db *base, uint64_t *seq, uint8_t hash[32])
{
    PGresult *r = NULL;
    pg_params p = {0};
    /* Appends are serialised across instances until the transaction ends:
     * two writers reading the same head would otherwise both claim seq + 1
     * and one approval would fail on the primary key instead of waiting. */
    ecred_err e = pg_run(pg_db_of(base), "SELECT pg_advisory_xact_lock(" PG_AUDIT_LOCK_KEY ")", &p,
                         NULL);
    if (!e)
        e = pg_run(pg_db_of(base), "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1", &p,
                   &r);
    if (!e) {
        if (PQntuples(r) == 1) {
            *seq = (uint64_t)pg_int(r, 0, 0);
            pg_hash32(r, 0, 1, hash);
        } else {
            *seq = 0;
            memset(hash, 0, 32);
        }
    }
    PQclear(r);
    return e;
}

static ecred_err pg_audit_insert(reg_db *base, const reg_audit_entry *a)
{
    pg_params p = {0};
    pp_int(&p, (int64_t)a->seq);
    pp_int(&p, a->at);
    pp_text(&p, a->action);
    pp_text(&p, a->subject);
    pp_text(&p, a->actor);
    pp_bytes(&p, a->prev, 32);
    pp_bytes(&p, a->hash, 32);
    return pg_run(pg_db_of(base),
                  "INSERT INTO audit_log(seq, at, action, subject, actor, prev, hash)"
                  " VALUES($1, $2, $3, $4, $5, $6, $7)",
                  &p, NULL);
}

static ecred_err pg_audit_scan(reg_db *base, ecred_err (*fn)(void *ctx, const reg_audit_entry *e),
                               void *ctx)
{
    PGresult *r = NULL;
    pg_params p = {0};
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT seq, at, action, subject, actor, prev, hash FROM audit_log"
                         " ORDER BY seq",
                         &p, &r);
    for (int i = 0; !e && i < PQntuples(r); i++) {
        reg_audit_entry a;
        memset(&a, 0, sizeof a);
        a.seq = (uint64_t)pg_int(r, i, 0);
        a.at = pg_int(r, i, 1);
        pg_copy(r, i, 2, a.action, sizeof a.action);
        pg_copy(r, i, 3, a.subject, sizeof a.subject);
        pg_copy(r, i, 4, a.actor, sizeof a.actor);
        pg_hash32(r, i, 5, a.prev);
        pg_hash32(r, i, 6, a.hash);
        e = fn(ctx, &a);
    }
    PQclear(r);
    return e;
}

static ecred_err pg_token_role_by_prefix(reg_db *base, const char prefix[8], char role[16])
{
    char pre[9];
    memcpy(pre, prefix, 8);
    pre[8] = 0;
    pg_params p = {0};
    pp_text(&p, pre);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT role FROM tokens WHERE substr(encode(hash, 'hex'), 1, 8) = $1 LIMIT 1",
                         &p, &r);
    if (!e) {
        if (PQntuples(r) == 1)
            pg_copy(r, 0, 0, role, 16);
        else
            e = ECRED_ERR_KEY_UNKNOWN;
    }
    PQclear(r);
    return e;
}

/* ---- operations (issue 17) ---- */

static void pg_set_status_prefix(reg_db *base, const char *prefix)
{
    pg_db *db = pg_db_of(base);
    if (prefix && strlen(prefix) + 20 < sizeof db->status_prefix)
        snprintf(db->status_prefix, sizeof db->status_prefix, "%s", prefix);
}

static void pg_pool_set_status_prefix(reg_pool *base, const char *prefix)
{
    pg_pool *p = pg_pool_of(base);
    pthread_mutex_lock(&p->mu);
    for (unsigned i = 0; i < p->nall; i++)
        pg_set_status_prefix(&p->all[i]->base, prefix);
    pthread_mutex_unlock(&p->mu);
}

static ecred_err pg_token_add_labeled(reg_db *base, const uint8_t hash[32], const char *role,
                                      const char *label, int64_t expires_at, int64_t now)
{
    pg_params p = {0};
    pp_bytes(&p, hash, 32);
    pp_text(&p, role);
    pp_int(&p, now);
    pp_text(&p, label);
    if (expires_at)
        pp_int(&p, expires_at);
    else
        pp_text(&p, NULL);
    return pg_run(pg_db_of(base),
                  "INSERT INTO tokens(hash, role, created_at, label, expires_at) VALUES($1,$2,$3,$4,$5)",
                  &p, NULL);
}

static ecred_err pg_tokens_list(reg_db *base, ecred_err (*fn)(void *ctx, const reg_token_info *t), void *ctx)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT encode(substring(hash FROM 1 FOR 4), 'hex'), role, label, created_at,"
                         " COALESCE(expires_at, 0) FROM tokens ORDER BY created_at, hash",
                         NULL, &r);
    for (int i = 0; !e && i < PQntuples(r); i++) {
        reg_token_info t;
        memset(&t, 0, sizeof t);
        pg_copy(r, i, 0, t.id, sizeof t.id);
        pg_copy(r, i, 1, t.role, sizeof t.role);
        pg_copy(r, i, 2, t.label, sizeof t.label);
        t.created_at = pg_int(r, i, 3);
        t.expires_at = pg_int(r, i, 4);
        e = fn(ctx, &t);
    }
    PQclear(r);
    return e;
}

static ecred_err pg_token_remove(reg_db *base, const char *id)
{
    uint8_t want[4];
    if (!id || strlen(id) != 8 || ecred_unhex(id, 8, want, sizeof want) != ECRED_OK)
        return ECRED_ERR_KEY_UNKNOWN;
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_bytes(&p, want, 4);
    PGresult *r = NULL;
    ecred_err e = pg_run(db, "SELECT COUNT(*) FROM tokens WHERE substring(hash FROM 1 FOR 4) = $1", &p, &r);
    int64_t n = !e && PQntuples(r) == 1 ? pg_int(r, 0, 0) : -1;
    PQclear(r);
    if (e)
        return e;
    if (n <= 0)
        return n == 0 ? ECRED_ERR_KEY_UNKNOWN : ECRED_ERR_IO;
    if (n > 1)
        return ECRED_ERR_EXISTS;
    return pg_run(db, "DELETE FROM tokens WHERE substring(hash FROM 1 FOR 4) = $1", &p, NULL);
}

static ecred_err pg_list_max_id(reg_db *base, int64_t *max)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "SELECT COALESCE(MAX(id), 0) FROM status_lists", NULL, &r);
    *max = !e && PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
    PQclear(r);
    return e;
}

/* ---- restore (the copy itself is registry.c's reg_restore) ---- */

/* reg_claim: try PG_INSTANCE_LOCK exclusively; a running instance holds it shared. */
static ecred_err pg_claim(reg_db *base, bool *claimed)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_int(&p, PG_INSTANCE_LOCK);
    PGresult *r = NULL;
    /* Session-level: held until this connection closes, so no instance
     * starts (its pool waits for the shared lock) while the restore runs. */
    ecred_err e = pg_run(db, "SELECT pg_try_advisory_lock($1)", &p, &r);
    if (!e)
        *claimed = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
    PQclear(r);
    return e;
}

/* One integer of a one-row query (0 for NULL). */
static ecred_err pg_query_int(pg_db *db, const char *sql, const pg_params *p, int64_t *out)
{
    PGresult *r = NULL;
    ecred_err e = pg_run(db, sql, p, &r);
    if (!e)
        e = PQntuples(r) == 1 ? ECRED_OK : ECRED_ERR_IO;
    if (!e)
        *out = pg_int(r, 0, 0);
    PQclear(r);
    return e;
}

/* The post-restore rules (registry_backend.h restore_finish), inside the
 * transaction that loaded the backup: all of it commits with the rows. */
static ecred_err pg_restore_finish(reg_db *base, int64_t min_next_list, int64_t now,
                                   reg_restore_report *rep)
{
    (void)now; /* no registry_meta here: the restore's time is in the operator's report */
    pg_db *db = pg_db_of(base);
    ecred_err e;
    if ((e = pg_query_int(db, "SELECT COALESCE(MAX(issued_at), 0) FROM credentials", NULL,
                          &rep->last_issued_at)) != ECRED_OK ||
        (e = pg_query_int(db, "SELECT COALESCE(MIN(id), 0) FROM status_lists WHERE next_pos < size"
                              " AND NOT closed", NULL, &rep->closed_first)) != ECRED_OK ||
        (e = pg_query_int(db, "SELECT COALESCE(MAX(id), 0) FROM status_lists WHERE next_pos < size"
                              " AND NOT closed", NULL, &rep->closed_last)) != ECRED_OK)
        return e;
    /* Every list with room at backup time may have handed out positions
     * after it (the cursor in the backup is older than the lost one): none
     * takes a new reservation again (issue 17 trap 3). A list whose cursor
     * reached its size takes none anyway. */
    if ((e = pg_run(db, "UPDATE status_lists SET closed = true WHERE next_pos < size AND NOT closed",
                    NULL, NULL)) != ECRED_OK)
        return e;
    int64_t max = 0;
    if ((e = pg_query_int(db, "SELECT COALESCE(MAX(id), 0) FROM status_lists", NULL, &max)) != ECRED_OK)
        return e;
    /* Lists the lost registry opened after the backup: their ids are taken
     * by closed, full placeholders (no key, cursor at the end), so the next
     * list opened is min_next_list and none of those ids is opened twice. */
    if (min_next_list > max + 1) {
        pg_params p = {0};
        pp_int(&p, max + 1);
        pp_int(&p, min_next_list - 1);
        pp_int(&p, db->list_size);
        if ((e = pg_run(db, "INSERT INTO status_lists(id, size, next_pos, closed)"
                            " SELECT g, $3, $3, true FROM generate_series($1::bigint, $2::bigint) g",
                        &p, NULL)) != ECRED_OK)
            return e;
        rep->skipped_first = max + 1;
        rep->skipped_last = min_next_list - 1;
    }
    return ECRED_OK;
}

static ecred_err pg_applications_by_state(reg_db *base, const char *state, int64_t after_at,
                                          const char *after_id, unsigned limit,
                                          ecred_err (*fn)(void *ctx, const reg_application *a), void *ctx)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_text(&p, state);
    pp_int(&p, after_at);
    pp_text(&p, after_id ? after_id : "");
    pp_int(&p, limit);
    PGresult *r = NULL;
    /* Ids only, oldest first: each row is then read as reg_application_get
     * reads one (one row format for the whole backend). */
    ecred_err e = pg_run(db,
                         "SELECT id FROM applications WHERE state = $1 AND (submitted_at > $2 OR"
                         " (submitted_at = $2 AND id > $3)) ORDER BY submitted_at, id LIMIT $4",
                         &p, &r);
    for (int i = 0; !e && i < PQntuples(r); i++) {
        char id[REG_ID_LEN + 1];
        pg_copy(r, i, 0, id, sizeof id);
        reg_application a;
        if ((e = pg_application_get(base, id, &a)) != ECRED_OK)
            break;
        e = fn(ctx, &a);
        reg_application_free(&a);
    }
    PQclear(r);
    return e;
}

static ecred_err pg_credentials_for(reg_db *base, const char *id_number, unsigned limit,
                                    ecred_err (*fn)(void *ctx, const reg_credential *c), void *ctx)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_text(&p, id_number);
    pp_int(&p, limit);
    PGresult *r = NULL;
    ecred_err e = pg_run(db,
                         "SELECT id FROM credentials WHERE id_number = $1 ORDER BY issued_at DESC, seq DESC"
                         " LIMIT $2",
                         &p, &r);
    for (int i = 0; !e && i < PQntuples(r); i++) {
        char id[REG_ID_LEN + 1];
        pg_copy(r, i, 0, id, sizeof id);
        reg_credential c;
        if ((e = pg_credential_get(base, id, &c)) != ECRED_OK)
            break;
        e = fn(ctx, &c);
        reg_credential_free(&c);
    }
    PQclear(r);
    return e;
}

/* ---- shared resident sessions: resident logins, sessions, the reminder outbox.
 * At READ COMMITTED the row lock decides races: of two DELETE ... RETURNING
 * of one login state the second waits for the first and then finds no row;
 * a claim locks its rows with FOR UPDATE SKIP LOCKED and re-checks the lease
 * on the row's newest version, so two instances never claim one row while
 * its lease runs. ---- */

static ecred_err pg_login_put(reg_db *base, const uint8_t state_hash[32], const char *nonce,
                              const char *verifier, int64_t now, int64_t expires_at,
                              unsigned max_pending)
{
    pg_db *db = pg_db_of(base);
    pg_params p = {0};
    pp_int(&p, now);
    PGresult *r = NULL;
    ecred_err e = pg_run(db, "SELECT count(*) FROM resident_logins WHERE expires_at > $1", &p, &r);
    if (e)
        return e;
    int64_t pending = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
    PQclear(r);
    if (pending >= (int64_t)max_pending)
        return ECRED_ERR_TOO_LARGE;
    pg_params q = {0};
    pp_bytes(&q, state_hash, 32);
    pp_text(&q, nonce);
    pp_text(&q, verifier);
    pp_int(&q, now);
    pp_int(&q, expires_at);
    return pg_run(db, "INSERT INTO resident_logins(state_hash, nonce, verifier, created_at, expires_at)"
                      " VALUES($1,$2,$3,$4,$5)", &q, NULL);
}

static ecred_err pg_login_take(reg_db *base, const uint8_t state_hash[32], int64_t now,
                               char nonce[REG_LOGIN_SECRET_MAX + 1],
                               char verifier[REG_LOGIN_SECRET_MAX + 1])
{
    pg_params p = {0};
    pp_bytes(&p, state_hash, 32);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "DELETE FROM resident_logins WHERE state_hash = $1"
                                         " RETURNING nonce, verifier, expires_at", &p, &r);
    if (e)
        return e;
    e = ECRED_ERR_KEY_UNKNOWN;
    if (PQntuples(r) == 1 && pg_int(r, 0, 2) > now) {
        pg_copy(r, 0, 0, nonce, REG_LOGIN_SECRET_MAX + 1);
        pg_copy(r, 0, 1, verifier, REG_LOGIN_SECRET_MAX + 1);
        e = ECRED_OK;
    }
    PQclear(r);
    return e;
}

static ecred_err pg_session_put(reg_db *base, const reg_session *s)
{
    pg_params p = {0};
    pp_bytes(&p, s->hash, 32);
    pp_text(&p, s->who);
    pp_text(&p, s->name);
    pp_text(&p, s->id_number);
    pp_bytes(&p, s->csrf_hash, 32);
    pp_int(&p, s->created_at);
    pp_int(&p, s->expires_at);
    pp_int(&p, s->last_seen);
    return pg_run(pg_db_of(base), "INSERT INTO resident_sessions(hash, who, name, id_number, csrf_hash,"
                                  " created_at, expires_at, last_seen) VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
                  &p, NULL);
}

static ecred_err pg_session_get(reg_db *base, const uint8_t hash[32], reg_session *out)
{
    pg_params p = {0};
    pp_bytes(&p, hash, 32);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "SELECT who, name, id_number, csrf_hash, created_at, expires_at,"
                                         " last_seen FROM resident_sessions WHERE hash = $1", &p, &r);
    if (e)
        return e;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return ECRED_ERR_KEY_UNKNOWN;
    }
    reg_session s;
    memset(&s, 0, sizeof s);
    memcpy(s.hash, hash, 32);
    pg_copy(r, 0, 0, s.who, sizeof s.who);
    pg_copy(r, 0, 1, s.name, sizeof s.name);
    pg_copy(r, 0, 2, s.id_number, sizeof s.id_number);
    ecred_buf b = ECRED_BUF_INIT;
    e = pg_bytea(r, 0, 3, 32, &b);
    if (!e && b.len != 32)
        e = ECRED_ERR_IO;
    if (!e) {
        memcpy(s.csrf_hash, b.ptr, 32);
        s.created_at = pg_int(r, 0, 4);
        s.expires_at = pg_int(r, 0, 5);
        s.last_seen = pg_int(r, 0, 6);
        *out = s;
    }
    ecred_buf_free(&b);
    ecred_wipe(&s, sizeof s);
    PQclear(r);
    return e;
}

static ecred_err pg_session_touch(reg_db *base, const uint8_t hash[32], int64_t now)
{
    pg_params p = {0};
    pp_int(&p, now);
    pp_bytes(&p, hash, 32);
    return pg_run(pg_db_of(base), "UPDATE resident_sessions SET last_seen = $1 WHERE hash = $2 AND last_seen < $1",
                  &p, NULL);
}

static ecred_err pg_session_delete(reg_db *base, const uint8_t hash[32])
{
    pg_params p = {0};
    pp_bytes(&p, hash, 32);
    return pg_run(pg_db_of(base), "DELETE FROM resident_sessions WHERE hash = $1", &p, NULL);
}

static ecred_err pg_resident_prune(reg_db *base, int64_t now, int64_t idle_s, uint64_t *removed)
{
    pg_db *db = pg_db_of(base);
    *removed = 0;
    pg_params p = {0};
    pp_int(&p, now);
    PGresult *r = NULL;
    ecred_err e = pg_run(db, "DELETE FROM resident_logins WHERE expires_at <= $1", &p, &r);
    if (e)
        return e;
    *removed += (uint64_t)pg_changes(r);
    PQclear(r);
    pg_params q = {0};
    pp_int(&q, now);
    pp_int(&q, now - idle_s);
    if ((e = pg_run(db, "DELETE FROM resident_sessions WHERE expires_at <= $1 OR last_seen <= $2", &q, &r)) !=
        ECRED_OK)
        return e;
    *removed += (uint64_t)pg_changes(r);
    PQclear(r);
    return ECRED_OK;
}

static ecred_err pg_outbox_known(reg_db *base, const char *const *keys, size_t n, bool *known)
{
    /* One round trip for the whole page: the keys as a text[] literal. */
    ecred_buf arr = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_append(&arr, "{", 1);
    for (size_t i = 0; !e && i < n; i++) {
        for (const char *k = keys[i]; *k; k++)
            if (*k == '"' || *k == '\\' || *k == ',' || *k == '{' || *k == '}')
                e = ECRED_ERR_ARG; /* our keys are "rem-" and hex: never these */
        if (!e && i)
            e = ecred_buf_append(&arr, ",", 1);
        if (!e)
            e = ecred_buf_append(&arr, "\"", 1);
        if (!e)
            e = ecred_buf_append(&arr, keys[i], strlen(keys[i]));
        if (!e)
            e = ecred_buf_append(&arr, "\"", 1);
    }
    if (!e)
        e = ecred_buf_append(&arr, "}", 2); /* with the terminating NUL */
    PGresult *r = NULL;
    if (!e) {
        pg_params p = {0};
        pp_text(&p, (const char *)arr.ptr);
        /* The positions (1-based) of the known ones, so no matching here. */
        e = pg_run(pg_db_of(base),
                   "SELECT k.i FROM unnest($1::text[]) WITH ORDINALITY AS k(key, i)"
                   " WHERE EXISTS (SELECT 1 FROM outbox o WHERE o.key = k.key)",
                   &p, &r);
    }
    for (int row = 0; !e && row < PQntuples(r); row++) {
        int64_t i = pg_int(r, row, 0);
        if (i < 1 || (uint64_t)i > n)
            e = ECRED_ERR_IO;
        else
            known[i - 1] = true;
    }
    PQclear(r);
    ecred_buf_free(&arr);
    return e;
}

static ecred_err pg_outbox_add(reg_db *base, const char *key, const char *payload, int64_t now)
{
    pg_params p = {0};
    pp_text(&p, key);
    pp_text(&p, payload);
    pp_int(&p, now);
    return pg_run(pg_db_of(base), "INSERT INTO outbox(key, payload, created_at, next_at) VALUES($1,$2,$3,$3)"
                                  " ON CONFLICT (key) DO NOTHING", &p, NULL);
}

static ecred_err pg_outbox_claim(reg_db *base, const char *owner, int64_t now, int64_t lease_until,
                                 int max_attempts, size_t max, reg_outbox_item *items, size_t *n)
{
    *n = 0;
    pg_params p = {0};
    pp_text(&p, owner);
    pp_int(&p, lease_until);
    pp_int(&p, max_attempts);
    pp_int(&p, now);
    pp_int(&p, (int64_t)max);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE key IN ("
                         " SELECT key FROM outbox WHERE delivered_at IS NULL AND attempts < $3"
                         " AND next_at <= $4 AND (lease_until IS NULL OR lease_until <= $4)"
                         " ORDER BY next_at, key LIMIT $5 FOR UPDATE SKIP LOCKED)"
                         " RETURNING key, payload, attempts", &p, &r);
    if (e)
        return e;
    int rows = PQntuples(r);
    for (int i = 0; !e && i < rows && *n < max; i++) {
        reg_outbox_item *it = &items[*n];
        memset(it, 0, sizeof *it);
        pg_copy(r, i, 0, it->key, sizeof it->key);
        it->attempts = pg_int(r, i, 2);
        if ((e = pg_dup(r, i, 1, &it->payload)) == ECRED_OK && it->payload)
            (*n)++;
    }
    PQclear(r);
    if (e) {
        reg_outbox_items_free(items, *n);
        *n = 0;
    }
    return e;
}

static ecred_err pg_outbox_record(reg_db *base, const char *key, const char *owner, bool delivered,
                                  int64_t status, int64_t now, int64_t next_at)
{
    /* A delivery counts whoever holds the lease now; a failure only from
     * the lease holder (another instance may have taken the row over). */
    pg_params p = {0};
    pp_int(&p, status);
    pp_int(&p, delivered ? now : next_at);
    pp_text(&p, key);
    if (delivered)
        return pg_run_one(pg_db_of(base),
                          "UPDATE outbox SET attempts = attempts + 1, last_status = $1,"
                          " delivered_at = COALESCE(delivered_at, $2), lease_owner = NULL, lease_until = NULL"
                          " WHERE key = $3", &p, ECRED_ERR_KEY_UNKNOWN);
    pp_text(&p, owner);
    return pg_run_one(pg_db_of(base),
                      "UPDATE outbox SET attempts = attempts + 1, last_status = $1, next_at = $2,"
                      " lease_owner = NULL, lease_until = NULL"
                      " WHERE key = $3 AND lease_owner = $4 AND delivered_at IS NULL", &p,
                      ECRED_ERR_KEY_UNKNOWN);
}

static ecred_err pg_outbox_release(reg_db *base, const char *key, const char *owner)
{
    pg_params p = {0};
    pp_text(&p, key);
    pp_text(&p, owner);
    return pg_run(pg_db_of(base), "UPDATE outbox SET lease_owner = NULL, lease_until = NULL"
                                  " WHERE key = $1 AND lease_owner = $2", &p, NULL);
}

static ecred_err pg_outbox_get_stats(reg_db *base, int max_attempts, int64_t now, reg_outbox_stats *out)
{
    pg_params p = {0};
    pp_int(&p, max_attempts);
    pp_int(&p, now);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base),
                         "SELECT count(*), count(delivered_at),"
                         " count(*) FILTER (WHERE delivered_at IS NULL AND attempts < $1),"
                         " COALESCE(sum(attempts), 0) - count(delivered_at),"
                         " count(*) FILTER (WHERE delivered_at IS NULL AND attempts >= $1),"
                         " count(*) FILTER (WHERE delivered_at IS NULL AND lease_until > $2) FROM outbox",
                         &p, &r);
    if (e)
        return e;
    if (PQntuples(r) == 1) {
        out->queued = (uint64_t)pg_int(r, 0, 0);
        out->delivered = (uint64_t)pg_int(r, 0, 1);
        out->pending = (uint64_t)pg_int(r, 0, 2);
        out->failed_attempts = (uint64_t)pg_int(r, 0, 3);
        out->given_up = (uint64_t)pg_int(r, 0, 4);
        out->leased = (uint64_t)pg_int(r, 0, 5);
    } else {
        e = ECRED_ERR_IO;
    }
    PQclear(r);
    return e;
}

static ecred_err pg_outbox_lease(reg_db *base, const char *key, char owner[REG_OUTBOX_OWNER_MAX + 1],
                                 int64_t *lease_until)
{
    pg_params p = {0};
    pp_text(&p, key);
    PGresult *r = NULL;
    ecred_err e = pg_run(pg_db_of(base), "SELECT lease_owner, lease_until FROM outbox WHERE key = $1", &p, &r);
    if (e)
        return e;
    if (PQntuples(r) == 1) {
        pg_copy(r, 0, 0, owner, REG_OUTBOX_OWNER_MAX + 1);
        *lease_until = pg_int(r, 0, 1);
    } else {
        e = ECRED_ERR_KEY_UNKNOWN;
    }
    PQclear(r);
    return e;
}
/* ---- end shared resident sessions ---- */

const reg_ops reg_pg_ops = {
    .name = "postgres",
    .open = pg_open,
    .pool_open = pg_pool_open,
    .close = pg_close,
    .pool_get = pg_pool_get,
    .pool_put = pg_pool_put,
    .pool_close = pg_pool_close,
    .pool_write_stats = pg_pool_write_stats,
    .set_list_size = pg_set_list_size,
    .pool_set_list_size = pg_pool_set_list_size,
    .begin_write = pg_begin_write,
    .begin_read = pg_begin_read,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .write = pg_write,
    .token_add = pg_token_add,
    .token_role = pg_token_role,
    .application_insert = pg_application_insert,
    .application_get = pg_application_get,
    .application_set_issued = pg_application_set_issued,
    .application_set_rejected = pg_application_set_rejected,
    .idem_get = pg_idem_get,
    .idem_put = pg_idem_put,
    .commitment_insert = pg_commitment_insert,
    .commitment_get = pg_commitment_get,
    .commitment_confirm = pg_commitment_confirm,
    .credential_insert = pg_credential_insert,
    .credential_get = pg_credential_get,
    .credential_latest_for = pg_credential_latest_for,
    .credential_application = pg_credential_application,
    .credential_set_replaced_by = pg_credential_set_replaced_by,
    .status_change = pg_status_change,
    .status_events = pg_status_events,
    .index_reserve = pg_index_reserve,
    .list_info_get = pg_list_info_get,
    .list_entries = pg_list_entries,
    .reminders_page = pg_reminders_page,
    .list_token_get = pg_list_token_get,
    .list_token_put = pg_list_token_put,
    .dump = pg_dump,
    .load_row = pg_load_row,
    .load_finish = pg_load_finish,
    .is_empty = pg_is_empty,
    .schema_version = pg_schema_version,
    .audit_last = pg_audit_last,
    .audit_insert = pg_audit_insert,
    .audit_scan = pg_audit_scan,
    .token_role_by_prefix = pg_token_role_by_prefix,
    .holder_get = pg_holder_get,
    .holder_put = pg_holder_put,
    .set_status_prefix = pg_set_status_prefix,
    .pool_set_status_prefix = pg_pool_set_status_prefix,
    .token_add_labeled = pg_token_add_labeled,
    .tokens_list = pg_tokens_list,
    .token_remove = pg_token_remove,
    .list_max_id = pg_list_max_id,
    .claim = pg_claim,
    .restore_finish = pg_restore_finish,
    .applications_by_state = pg_applications_by_state,
    .credentials_for = pg_credentials_for,
    /* shared resident sessions */
    .login_put = pg_login_put,
    .login_take = pg_login_take,
    .session_put = pg_session_put,
    .session_get = pg_session_get,
    .session_touch = pg_session_touch,
    .session_delete = pg_session_delete,
    .resident_prune = pg_resident_prune,
    .outbox_known = pg_outbox_known,
    .outbox_add = pg_outbox_add,
    .outbox_claim = pg_outbox_claim,
    .outbox_record = pg_outbox_record,
    .outbox_release = pg_outbox_release,
    .outbox_get_stats = pg_outbox_get_stats,
    .outbox_lease = pg_outbox_lease,
};
