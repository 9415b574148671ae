/*
 * registry.h - the issuer's durable state: applications, credentials, their
 * status history, API token hashes, idempotency keys, kinship commitments and
 * status lists with their index allocation. The only registry header callers
 * see: a registry is opened by URL and every call goes through the backend's
 * ops table (registry_backend.h), so another backend plugs in without a
 * caller changing.
 *
 *   sqlite:PATH  (or a bare PATH)  registry_sqlite.c: one file, WAL,
 *                                  synchronous=FULL, BEGIN IMMEDIATE writers
 *   postgres://... postgresql://... registry_pg.c: libpq, READ COMMITTED
 *                                  writes retried on serialization failure,
 *                                  synchronous_commit=on, versioned migrations
 *
 * CONTRACT - what every backend guarantees, across threads AND across
 * processes or issuer instances sharing one database:
 *
 * 1. Atomic writes. Everything a reg_write fn does commits together or not at
 *    all: approve-and-issue (credential row, its status index, the
 *    application's state, the replaced credential's status and audit row) is
 *    ONE write. reg_write returns ECRED_OK only after that commit returned.
 * 2. Durability. A commit that returned survives a crash (kill -9, power
 *    loss of a correctly fsyncing disk); a write that did not return OK may
 *    or may not be there, and the caller hands out nothing it produced.
 * 3. Status indices are never reused. Credential rows are never deleted, and
 *    UNIQUE(list_id, idx) on credentials is the last guard: an index that two
 *    writers both chose commits for one of them only (the other's insert
 *    fails with ECRED_ERR_EXISTS). Indices are drawn at random (herd privacy),
 *    lists hold at least REG_LIST_SIZE_DEFAULT entries in production.
 * 4. Retries. A backend whose isolation can abort a transaction for a
 *    serialization failure or deadlock, or whose write lost a race to
 *    another instance (PostgreSQL at READ COMMITTED: a conditional UPDATE
 *    that found the row changed, an idempotency key inserted meanwhile),
 *    retries the WHOLE write itself inside reg_write, at most REG_WRITE_RETRIES times,
 *    before returning ECRED_ERR_IO; the caller never sees the abort. So a
 *    reg_write_fn may run more than once: it must be idempotent and have no
 *    side effect outside the database (no signing, no I/O, no counters; it
 *    resets its outputs on entry). SQLite takes the write lock up front and
 *    never needs to retry.
 * 5. Idempotency keys. reg_idem_put and the application it names commit in
 *    the same write; a key maps to one request hash forever (a second put of
 *    the key fails with ECRED_ERR_EXISTS).
 * 6. Reads outside a write see only committed data (never another writer's
 *    uncommitted rows). Inside a write they see the write's own changes and,
 *    on a pool, those of earlier writes batched in the same transaction.
 *
 * Connections are not shared between threads: a pool hands one to a request
 * and takes it back. Writes from pool connections go through reg_write, which
 * may batch concurrent writes into one commit (SQLite: group commit on the
 * pool's writer connection, each write in its own savepoint). Nothing here
 * logs or prints; errors go back as ecred_err.
 */
#ifndef ECRED_ISSUER_REGISTRY_H
#define ECRED_ISSUER_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"

/* Herd privacy: every status list holds at least this many entries. */
#define REG_LIST_SIZE_DEFAULT 131072u
#define REG_ID_LEN 16        /* application and credential ids: 16 lower-case hex */
#define REG_TEXT_MAX 65536   /* cap on any text column read back */

typedef struct reg_db reg_db;
typedef struct reg_pool reg_pool;

/* At most this many runs of one write when the backend reports a
 * serialization failure (CONTRACT 4). */
#define REG_WRITE_RETRIES 5

/* NULL when url names a registry this build can open ("sqlite:PATH" or a bare
 * path); otherwise a message saying why not, for the operator. */
const char *reg_url_check(const char *url);

/* Open (creating if missing) the registry at url, with its schema: one
 * connection, for tools and tests. ECRED_ERR_ARG for a URL
 * reg_url_check refuses. */
ecred_err reg_open_url(const char *url, reg_db **out);
void reg_close(reg_db *db);

/* A fixed-size pool of size connections to the registry at url, safe across
 * threads (the daemon's). Errors as reg_open_url. */
ecred_err reg_pool_open_url(const char *url, unsigned size, reg_pool **out);
/* Borrow a connection (blocks while all are in use). Never NULL. */
reg_db *reg_pool_get(reg_pool *p);
void reg_pool_put(reg_pool *p, reg_db *db);
void reg_pool_close(reg_pool *p);

/* Transactions. reg_begin_write takes the write lock immediately. */
ecred_err reg_begin_write(reg_db *db);
ecred_err reg_begin_read(reg_db *db);
ecred_err reg_commit(reg_db *db);
void reg_rollback(reg_db *db); /* safe to call when no transaction is open */

/* One write: runs inside a write transaction that reg_write opens and commits.
 * It must not open or end transactions itself, and must keep nothing of db. */
typedef ecred_err (*reg_write_fn)(reg_db *db, void *ctx);

/* Run fn in a write transaction and return only once that transaction has
 * committed durably or failed. On a pool connection fn runs on the pool's
 * writer connection, batched with other threads' writes in one transaction
 * and one COMMIT, inside its own SAVEPOINT (its failure rolls back only its
 * own changes); the writes of earlier items in the batch are visible to it.
 * On any other connection it is BEGIN IMMEDIATE, fn, COMMIT.
 * Returns ECRED_OK when fn succeeded and its changes are committed. Otherwise
 * *fn_failed tells whether fn itself failed (its error is returned) or fn
 * succeeded but its transaction did not commit (the commit's error): then
 * nothing of fn is durable and whatever fn produced must not be handed out. */
ecred_err reg_write(reg_db *db, reg_write_fn fn, void *ctx, bool *fn_failed);

/* The backend's name ("sqlite", "postgres"), for /healthz and messages. */
const char *reg_backend_name(reg_db *db);

/* Group commit counters of a pool: writes run through reg_write and the
 * transactions that committed them (items/commits = mean batch size). */
void reg_pool_write_stats(reg_pool *p, uint64_t *items, uint64_t *commits);

/* List sizes for new lists (tests use a small size to exercise list roll-over;
 * production keeps the default). Applies to lists opened after the call. */
void reg_set_list_size(reg_db *db, uint32_t size);
void reg_pool_set_list_size(reg_pool *p, uint32_t size);

/* ---- tokens ---- */
ecred_err reg_token_add(reg_db *db, const uint8_t hash[32], const char *role, int64_t now);
/* ECRED_ERR_KEY_UNKNOWN if no token has this hash; role is copied (<= 15 bytes). */
ecred_err reg_token_role(reg_db *db, const uint8_t hash[32], char role[16]);

/* ---- applications ---- */
typedef struct reg_application {
    char id[REG_ID_LEN + 1];
    char kind[32];
    char state[16];          /* submitted | issued | rejected */
    char id_number[19];
    char *credential_json;   /* owned */
    char replaces[REG_ID_LEN + 1];   /* "" when none */
    char commitment_ref[41];         /* "" when none */
    int64_t submitted_at;
    char submitted_by[24];
    int64_t decided_at;      /* 0 when undecided */
    char decided_by[24];
    char *reject_reason;     /* owned, NULL when none */
    char credential_id[REG_ID_LEN + 1];
    int64_t issued_at;
} reg_application;

void reg_application_free(reg_application *a);
ecred_err reg_application_insert(reg_db *db, const reg_application *a);
/* ECRED_ERR_KEY_UNKNOWN when there is no such application. */
ecred_err reg_application_get(reg_db *db, const char *id, reg_application *out);
ecred_err reg_application_set_issued(reg_db *db, const char *id, const char *credential_id,
                                     int64_t now, const char *actor);
ecred_err reg_application_set_rejected(reg_db *db, const char *id, const char *reason,
                                       int64_t now, const char *actor);

/* ---- idempotency keys ---- */
/* ECRED_ERR_KEY_UNKNOWN when the key was never used; else the request hash and
 * the application it created. */
ecred_err reg_idem_get(reg_db *db, const char *key, uint8_t req_hash[32],
                       char app_id[REG_ID_LEN + 1]);
ecred_err reg_idem_put(reg_db *db, const char *key, const uint8_t req_hash[32],
                       const char *app_id, int64_t now);

/* ---- kinship commitments ---- */
typedef struct reg_commitment {
    char ref[41];
    char application_id[REG_ID_LEN + 1];
    char *text;              /* owned */
    char sha256_hex[65];
    int64_t created_at;
    int64_t confirmed_at;    /* 0 until the applicant confirms */
} reg_commitment;

void reg_commitment_free(reg_commitment *c);
/* ECRED_ERR_EXISTS if ref is taken (the caller draws another). */
ecred_err reg_commitment_insert(reg_db *db, const reg_commitment *c);
ecred_err reg_commitment_get(reg_db *db, const char *ref, reg_commitment *out);
ecred_err reg_commitment_confirm(reg_db *db, const char *ref, int64_t now);

/* ---- credentials ---- */
typedef struct reg_credential {
    char id[REG_ID_LEN + 1];
    char application_id[REG_ID_LEN + 1];
    int type;
    char id_number[19];
    int64_t list_id;
    int64_t idx;
    int status;              /* ECRED_STATUS_* */
    char *qr_text;           /* owned */
    char *credential_json;   /* owned */
    int32_t valid_until;
    int32_t endorsement_date;
    int64_t issued_at;
    char replaced_by[REG_ID_LEN + 1];
} reg_credential;

void reg_credential_free(reg_credential *c);
ecred_err reg_credential_insert(reg_db *db, const reg_credential *c);
ecred_err reg_credential_get(reg_db *db, const char *id, reg_credential *out);
/* The application a credential came from (ECRED_ERR_KEY_UNKNOWN when there is
 * no such credential): one narrow read, so an applicant's tracking code can be
 * checked before any of the row is loaded. */
ecred_err reg_credential_application(reg_db *db, const char *id, char app_id[REG_ID_LEN + 1]);
/* The most recently issued credential of this ID number (identity reuse). */
ecred_err reg_credential_latest_for(reg_db *db, const char *id_number, reg_credential *out);
ecred_err reg_credential_set_replaced_by(reg_db *db, const char *id, const char *new_id);

/* Change a credential's status and record who, when, why, in the same
 * transaction (the caller holds it); bumps the list's generation so the
 * status publisher knows to rebuild. */
ecred_err reg_status_change(reg_db *db, const char *cred_id, int old_status, int new_status,
                            const char *action, const char *reason, const char *actor,
                            int64_t now);

typedef struct reg_status_event {
    int old_status, new_status;
    char action[16];
    char *reason;            /* owned, may be NULL */
    char actor[24];
    int64_t at;
} reg_status_event;

/* All events of a credential, oldest first; free with reg_status_events_free. */
ecred_err reg_status_events(reg_db *db, const char *cred_id, reg_status_event **out, size_t *n);
void reg_status_events_free(reg_status_event *ev, size_t n);

/* ---- status lists ---- */
#define REG_URI_MAX 255
/* Status indices (issue 10: constant time however full a list is). Each
 * list has a secret key and a cursor (its next unreserved position);
 * position p of a list of size n carries index idxperm_at(key, n, p), a
 * secret permutation of [0, n) (idxperm.h), so indices are handed out
 * uniformly at random, unpredictably to anyone without the key, and never
 * twice. Positions are reserved by advancing the cursor in a committed
 * write BEFORE any of them is used: a crash, a rolled-back write or a
 * restore can lose reserved positions (their entries stay VALID forever,
 * unused) but never hand one out twice. A list whose cursor reached its
 * size takes no new reservation; the next list is opened (with a new key)
 * when none has room. */
#define REG_INDEX_BLOCK 32   /* positions one connection reserves at a time */

/* One position for a credential about to be signed, from this connection's
 * block of reserved positions; an empty block is refilled first by a write
 * of its own (through reg_write, so it may join a group commit). Must NOT be
 * called inside a transaction. *uri: the URI the list was opened with ("":
 * none recorded, the caller names the list itself). The index is the
 * caller's alone; the credential insert (UNIQUE(list_id, idx)) stays the
 * last guard. */
ecred_err reg_index_take(reg_db *db, int64_t *list_id, int64_t *idx, char uri[REG_URI_MAX + 1]);

/* The same for a caller already inside a write transaction: reserves ONE
 * position in that transaction (so it commits or rolls back with the
 * credential row naming it). No block is kept. */
ecred_err reg_index_allocate(reg_db *db, int64_t *list_id, int64_t *idx);

/* Forget this connection's reserved block (its positions are lost, never
 * reused): after a restore, or in tests. */
void reg_index_forget(reg_db *db);


typedef struct reg_list_info {
    int64_t id;
    uint32_t size;
    uint32_t used;
    int64_t generation;
    /* The URI the list was opened with (its credentials carry it); "" for a
     * list opened before URIs were recorded (the caller uses its own). */
    char uri[REG_URI_MAX + 1];
    bool closed;             /* takes no new credentials (closed by a restore) */
} reg_list_info;

/* ECRED_ERR_KEY_UNKNOWN for a list that does not exist. */
ecred_err reg_list_info_get(reg_db *db, int64_t list_id, reg_list_info *out);
/* Calls fn for every entry of the list whose status is not VALID. */
ecred_err reg_list_entries(reg_db *db, int64_t list_id,
                           ecred_err (*fn)(void *ctx, int64_t idx, int status), void *ctx);

/* ---- holder keys (proof of possession at issuance, spec/api.md) ---- */
typedef struct reg_holder {
    bool bound;              /* a key was bound (x, y_sign, bound_at valid) */
    uint8_t x[32];           /* the key as cnf carries it: x and the sign of y */
    bool y_sign;
    uint32_t generation;     /* bindings so far: a c_nonce of an older one is used up */
    int64_t bound_at;
} reg_holder;

/* The application's holder binding; *out zeroed (not bound, generation 0)
 * when it has none, or when the backend keeps no bindings. */
ecred_err reg_holder_get(reg_db *db, const char *app_id, reg_holder *out);
/* Inside a write: set the application's binding (insert or replace).
 * ECRED_ERR_UNSUPPORTED when the backend keeps no bindings. */
ecred_err reg_holder_put(reg_db *db, const char *app_id, const reg_holder *h);

/* Credentials (not yet INVALID) whose valid_until or endorsement date lies in
 * [from_day, to_day]; fn gets the id, what is due ("expiry"/"endorsement") and the day. */
ecred_err reg_reminders(reg_db *db, int32_t from_day, int32_t to_day,
                        ecred_err (*fn)(void *ctx, const char *id, const char *due, int32_t day),
                        void *ctx);

/* ---- audit log (spec/audit.md) ---- */
/* One entry of the hash-chained, Merkle-hashed audit log. Public: no personal
 * data (ids, action, actor role, time and hashes only). */
typedef struct reg_audit_entry {
    uint64_t seq;           /* 1, 2, 3, ... without gaps */
    int64_t at;             /* Unix seconds */
    char action[16];        /* issue | reissue | suspend | resume | revoke | token-add | token-remove | key-change */
    char subject[33];       /* credential id, token hash prefix or kid (hex) */
    char actor[16];         /* role: officer, clerk, admin, staff, operator, holder, system */
    uint8_t prev[32];       /* hash of entry seq - 1; zeros for seq 1 */
    uint8_t hash[32];       /* RFC 9162 leaf hash of this entry's canonical bytes */
} reg_audit_entry;
/* Append an entry (action, subject, the actor's role, at) to the log, in the
 * caller's write transaction: the change and its entry commit together. The
 * actor may be a token label ("token:1a2b3c4d"): its role is looked up, the
 * label itself never enters the log. Every registry change the audit log
 * covers calls this itself (issue, reissue, status change, token add). */
ecred_err reg_audit_append(reg_db *db, const char *action, const char *subject,
                           const char *actor, int64_t at);
/* Every entry as stored, seq order; stops at fn's first error. */
ecred_err reg_audit_scan(reg_db *db, ecred_err (*fn)(void *ctx, const reg_audit_entry *e),
                         void *ctx);
/* The canonical bytes of e (spec/audit.md) hashed as an RFC 9162 leaf:
 * covers seq, at, action, subject, actor and prev, not e->hash. */
void reg_audit_entry_hash(const reg_audit_entry *e, uint8_t out[32]);
/* Benchmarks only: stop appending audit entries in this process. */
void reg_audit_disable_for_bench(void);
/* ---- operations (issue 17) ---- */

/* The SQLite file's schema version this build writes (PostgreSQL numbers
 * its own migrations in registry_pg.c; 6 there adds the same columns).
 * Opening a registry migrates an older one
 * step by step (each step in one transaction) and refuses a newer one with
 * ECRED_ERR_UNSUPPORTED. Version 1 is the schema
 * before versions were recorded; 2 adds status_lists.uri/closed, token
 * labels and expiry, registry_meta; 3 (7 on PostgreSQL) adds each list's
 * permutation key and cursor (issue 10); 4 (9 on PostgreSQL) adds the
 * resident login states, sessions and the reminder outbox (shared resident sessions). */
#define REG_SCHEMA_VERSION 4

/* The version the registry had when this connection opened it (before any
 * migration) and the version it has now; both 0 from a backend that does not
 * report them (then reg_schema_version). */
void reg_schema_info(reg_db *db, int *found, int *now);

/* Lists opened from now on record prefix + their id as their URI (at most
 * REG_URI_MAX bytes in all; longer prefixes are ignored). */
void reg_set_status_prefix(reg_db *db, const char *prefix);
void reg_pool_set_status_prefix(reg_pool *p, const char *prefix);

/* ---- staff tokens ---- */
#define REG_TOKEN_LABEL_MAX 63
typedef struct reg_token_info {
    char id[9];              /* first 8 hex of the token's hash (as in logs: token:ID) */
    char role[16];
    char label[REG_TOKEN_LABEL_MAX + 1];
    int64_t created_at;
    int64_t expires_at;      /* 0: never */
} reg_token_info;

/* reg_token_add with a label ("" for none) and an expiry (0: never). A token
 * past its expiry is unknown to reg_token_role. Appends the token-add audit
 * entry as reg_token_add does (call it inside reg_write). */
ecred_err reg_token_add_labeled(reg_db *db, const uint8_t hash[32], const char *role,
                                const char *label, int64_t expires_at, int64_t now);
/* Every token, oldest first. */
ecred_err reg_tokens_list(reg_db *db, ecred_err (*fn)(void *ctx, const reg_token_info *t), void *ctx);
/* Remove the token whose id (8 hex) is id: ECRED_ERR_KEY_UNKNOWN when none,
 * ECRED_ERR_EXISTS when the id names more than one (nothing removed). Like
 * reg_token_add it appends its audit entry (token-remove): call it inside
 * reg_write so the removal and its entry commit together. */
ecred_err reg_token_remove(reg_db *db, const char *id, int64_t now);

/* ---- backup and restore ---- */
/* A consistent copy of the registry, taken online, to a NEW file at path
 * (created 0600, never overwritten: ECRED_ERR_EXISTS), stamped with now as
 * its backup time. The file is a SQLite registry whatever the backend:
 * SQLite copies its file (online backup API); PostgreSQL copies every table
 * (reg_copy's rows) read in ONE REPEATABLE READ snapshot. */
ecred_err reg_backup(reg_db *db, const char *path, int64_t now);

typedef struct reg_restore_report {
    int64_t taken_at;        /* the backup's time */
    int64_t last_issued_at;  /* newest credential in the backup (0: none) */
    int64_t closed_first;    /* lists open at backup time, now closed: [first, last] */
    int64_t closed_last;     /* (0, 0 when none was open) */
    int64_t skipped_first;   /* list ids reserved as closed placeholders: [first, last] */
    int64_t skipped_last;    /* (lists that may have been opened after the backup) */
    int found_version;       /* schema version of the backup */
} reg_restore_report;

/* Replace this registry's contents with the backup at from_path, migrate it,
 * then close every list that was open at backup time and reserve every list
 * id below min_next_list as a closed placeholder, so no status index handed
 * out after the backup is ever handed out again. One connection, nothing
 * else may use the registry meanwhile. SQLite replaces its file; PostgreSQL
 * loads a private migrated copy of the backup into an EMPTY database in one
 * transaction (ECRED_ERR_EXISTS when it holds anything; the backup file is
 * never written). ECRED_ERR_INPUT: from_path is not a registry backup;
 * ECRED_ERR_UNSUPPORTED: a backup newer than this build. */
ecred_err reg_restore(reg_db *db, const char *from_path, int64_t min_next_list, int64_t now,
                      reg_restore_report *rep);
/* Claim the registry for a restore: *claimed false when an issuer instance
 * has it open (PostgreSQL: every daemon's pool holds a shared advisory lock;
 * the claim takes it exclusively, until reg_close, so none starts meanwhile).
 * Backends that cannot tell (SQLite: the data directory's lock does it)
 * say claimed. */
ecred_err reg_claim(reg_db *db, bool *claimed);
/* The highest list id (0 when none). */
ecred_err reg_list_max_id(reg_db *db, int64_t *max);

/* ---- counter staff ---- */
/* Applications in state, oldest first (submitted_at, then id), strictly after
 * the cursor (after_at, after_id; 0 and "" from the start), at most limit. */
ecred_err reg_applications_by_state(reg_db *db, const char *state, int64_t after_at,
                                    const char *after_id, unsigned limit,
                                    ecred_err (*fn)(void *ctx, const reg_application *a), void *ctx);
/* Credentials of an ID number, newest first, at most limit. */
ecred_err reg_credentials_for(reg_db *db, const char *id_number, unsigned limit,
                              ecred_err (*fn)(void *ctx, const reg_credential *c), void *ctx);
/* ---- signed status list tokens, shared by every issuer instance ---- */
/* The token a list is served with (statuspub.c): the list's generation it was
 * built from and its iat. Stored so that every instance on one registry
 * serves the same bytes for a generation and a token never goes back in
 * generation or iat (a verifier refuses an older iat). */
typedef struct reg_list_token {
    int64_t list_id;
    int64_t generation;
    int64_t iat;
    ecred_buf token;         /* owned */
} reg_list_token;

void reg_list_token_free(reg_list_token *t);
/* The stored token of a list; ECRED_ERR_KEY_UNKNOWN when none was stored yet. */
ecred_err reg_list_token_get(reg_db *db, int64_t list_id, reg_list_token *out);
/* Store t for its list only if it is newer than the stored one (higher
 * generation, or the same generation and a later iat); ECRED_ERR_EXISTS when
 * the stored token is as new or newer (the caller serves that one). A write:
 * run it inside reg_write. */
ecred_err reg_list_token_put(reg_db *db, const reg_list_token *t);

/* ---- moving a registry ---- */
typedef struct reg_copy_stats {
    uint64_t tokens, applications, idempotency, commitments, lists, credentials, events,
        list_tokens, holder_bindings, audit_entries;
} reg_copy_stats;

/* Copy everything of the registry at from_url into the EMPTY registry at
 * to_url in one destination transaction: rows keep their ids, lists their
 * ids, sizes, fill and generations, events their order. ECRED_ERR_EXISTS when
 * the destination holds anything; on any error the destination is unchanged.
 * Counts of what was copied (checked against the destination) in *stats. */
ecred_err reg_copy(const char *from_url, const char *to_url, reg_copy_stats *stats);

/* Schema version of the registry (migrations applied at open). */
ecred_err reg_schema_version(reg_db *db, int64_t *version);

/* ---- resident sign-in and the reminder outbox, shared by every instance
 * (shared resident sessions: sessions; see resident.h and notify.h for the policies) ---- */
/* Every write below runs inside reg_write (it may run more than once:
 * CONTRACT 4); reads may run anywhere. */
#define REG_LOGIN_SECRET_MAX 64  /* nonce and PKCE verifier, base64url */
#define REG_SESSION_NAME_MAX 64  /* bytes of UTF-8, as oidc.h's name */
#define REG_SESSION_WHO_MAX 23
#define REG_OUTBOX_KEY_MAX 39
#define REG_OUTBOX_OWNER_MAX 63

/* Store a pending login keyed by the SHA-256 of its state value (the state
 * itself is never stored). ECRED_ERR_TOO_LARGE when max_pending unexpired
 * logins are stored already (a flood of unauthenticated /login calls must
 * not grow the table); ECRED_ERR_EXISTS for a state hash already stored. */
ecred_err reg_login_put(reg_db *db, const uint8_t state_hash[32], const char *nonce,
                        const char *verifier, int64_t now, int64_t expires_at,
                        unsigned max_pending);
/* Take a pending login: deletes it and hands back its nonce and verifier in
 * one statement, so of two takes of one state (two requests, two instances)
 * exactly one gets it. ECRED_ERR_KEY_UNKNOWN for an unknown, already taken
 * or expired (expires_at <= now) state; an expired one is deleted too.
 * Outputs are written only on ECRED_OK. */
ecred_err reg_login_take(reg_db *db, const uint8_t state_hash[32], int64_t now,
                         char nonce[REG_LOGIN_SECRET_MAX + 1],
                         char verifier[REG_LOGIN_SECRET_MAX + 1]);

/* A resident's session row: keyed by the SHA-256 of the cookie value (the
 * cookie is never stored); the identity the ID token vouched for (no sub:
 * who is "resident:" + 8 hex of SHA-256(sub)); the SHA-256 of the CSRF
 * token. */
typedef struct reg_session {
    uint8_t hash[32];
    char who[REG_SESSION_WHO_MAX + 1];
    char name[REG_SESSION_NAME_MAX + 1];
    char id_number[19];
    uint8_t csrf_hash[32];
    int64_t created_at, expires_at, last_seen;
} reg_session;

/* Insert a new session. ECRED_ERR_EXISTS when the hash is taken. */
ecred_err reg_session_put(reg_db *db, const reg_session *s);
/* The session with this cookie hash, whatever its times (the caller decides
 * expiry). ECRED_ERR_KEY_UNKNOWN when there is none. */
ecred_err reg_session_get(reg_db *db, const uint8_t hash[32], reg_session *out);
/* Record activity: last_seen = now (never moves it back). OK when the row
 * is gone (signed out meanwhile). */
ecred_err reg_session_touch(reg_db *db, const uint8_t hash[32], int64_t now);
/* Delete a session (sign out); OK when there was none. */
ecred_err reg_session_delete(reg_db *db, const uint8_t hash[32]);
/* Delete expired logins (expires_at <= now) and sessions past their absolute
 * expiry or idle for idle_s (last_seen + idle_s <= now). *removed (may be
 * NULL) counts the rows deleted. */
ecred_err reg_resident_prune(reg_db *db, int64_t now, int64_t idle_s, uint64_t *removed);

/* One reminder to deliver (reg_outbox_claim); payload owned. */
typedef struct reg_outbox_item {
    char key[REG_OUTBOX_KEY_MAX + 1];
    char *payload;
    int64_t attempts;
} reg_outbox_item;

typedef struct reg_outbox_stats {
    uint64_t queued, delivered, pending, failed_attempts, given_up, leased;
} reg_outbox_stats;

void reg_outbox_items_free(reg_outbox_item *items, size_t n);
/* Queue a reminder under its idempotency key, due now; a key already queued
 * (by any instance, delivered or not) is left as it is: OK. */
ecred_err reg_outbox_add(reg_db *db, const char *key, const char *payload, int64_t now);
/* Claim up to max rows that are due (undelivered, attempts < max_attempts,
 * next_at <= now) and not leased (no lease, or lease_until <= now): each
 * gets lease_owner = owner, lease_until. Two claims never get the same row
 * while its lease runs, across connections and instances. items[] (max
 * entries) and *n are reset on entry; free with reg_outbox_items_free. */
ecred_err reg_outbox_claim(reg_db *db, const char *owner, int64_t now, int64_t lease_until,
                           int max_attempts, size_t max, reg_outbox_item *items, size_t *n);
/* Record one delivery attempt of key: attempts + 1, last_status, the lease
 * released; delivered sets delivered_at = now (kept if set already: another
 * instance that took over an expired lease may deliver too), otherwise
 * next_at. A failed attempt is recorded only while owner still holds the
 * lease (ECRED_ERR_KEY_UNKNOWN otherwise: another instance owns the row). */
ecred_err reg_outbox_record(reg_db *db, const char *key, const char *owner, bool delivered,
                            int64_t status, int64_t now, int64_t next_at);
/* Give a claimed row back without an attempt (the round ran out of lease). */
ecred_err reg_outbox_release(reg_db *db, const char *key, const char *owner);
/* Counts over the whole outbox (every instance's work). */
ecred_err reg_outbox_get_stats(reg_db *db, int max_attempts, int64_t now, reg_outbox_stats *out);
/* The lease of key (owner "" and 0 when none): tests and operators. */
ecred_err reg_outbox_lease(reg_db *db, const char *key, char owner[REG_OUTBOX_OWNER_MAX + 1],
                           int64_t *lease_until);

#endif
