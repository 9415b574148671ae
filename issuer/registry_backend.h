/*
 * registry_backend.h - what a registry backend implements: the ops table
 * behind every reg_* call of registry.h. Only registry.c (the dispatcher) and
 * the backends (registry_sqlite.c; a PostgreSQL one later) include this file;
 * the rest of the issuer sees registry.h alone.
 *
 * A backend embeds reg_db (and reg_pool) as the FIRST member of its own
 * connection (and pool) struct and sets ops there, so the dispatcher finds the
 * table without knowing the backend and the backend gets its struct back with
 * a plain cast. Each op has the contract of the reg_* function of the same
 * name in registry.h, including the CONTRACT at its top.
 *
 * Must never: be included by callers of the registry (handlers, lifecycle,
 * statuspub), or grow a backend-specific type.
 */
#ifndef ECRED_ISSUER_REGISTRY_BACKEND_H
#define ECRED_ISSUER_REGISTRY_BACKEND_H

#include <pthread.h>

#include "idxperm.h"
#include "registry.h"

/* One column of a copied row (reg_copy). Text and blobs are borrowed. */
typedef struct reg_value {
    enum { REG_V_NULL, REG_V_INT, REG_V_TEXT, REG_V_BLOB } kind;
    int64_t i;
    const void *p;
    size_t len;
} reg_value;

/* A range of reserved positions of one list (registry.h "status lists"). */
typedef struct reg_index_block {
    int64_t list_id;
    uint32_t size;
    uint8_t key[IDXPERM_KEY_LEN];
    uint32_t first, count;      /* positions [first, first + count) */
    char uri[REG_URI_MAX + 1];  /* "" when the list has none recorded */
} reg_index_block;

typedef ecred_err (*reg_row_fn)(void *ctx, const char *table, const reg_value *cols, size_t n);

/* The tables a registry copy moves, in load order (parents first), each with
 * its columns in dump order. Both backends dump and load exactly these. */
#define REG_COPY_TABLES                                                                      \
    X(tokens, "hash, role, created_at, label, expires_at", 5)                                 \
    X(applications, "id, kind, state, id_number, credential_json, replaces, commitment_ref,"  \
                    " submitted_at, submitted_by, decided_at, decided_by, reject_reason,"    \
                    " credential_id, issued_at", 14)                                         \
    X(idempotency, "key, request_hash, application_id, created_at", 4)                       \
    X(commitments, "ref, application_id, text, sha256, created_at, confirmed_at", 6)          \
    X(status_lists, "id, size, used, generation, perm_key, next_pos, uri, closed", 8)         \
    X(credentials, "id, application_id, type, id_number, list_id, idx, status, qr_text,"      \
                   " credential_json, valid_until, endorsement_date, issued_at, replaced_by", 13) \
    X(status_events, "seq, credential_id, old_status, new_status, action, reason, actor, at", 8) \
    X(list_tokens, "list_id, generation, iat, token", 4)                                     \
    X(holder_bindings, "application_id, x, y_sign, generation, bound_at", 5)                  \
    X(audit_log, "seq, at, action, subject, actor, prev, hash", 7)

typedef struct reg_ops {
    const char *name; /* "sqlite": for messages */
    /* location is the URL without its scheme (a file path for sqlite). */
    ecred_err (*open)(const char *location, reg_db **out);
    ecred_err (*pool_open)(const char *location, unsigned size, reg_pool **out);
    void (*close)(reg_db *db);
    reg_db *(*pool_get)(reg_pool *p);
    void (*pool_put)(reg_pool *p, reg_db *db);
    void (*pool_close)(reg_pool *p);
    void (*pool_write_stats)(reg_pool *p, uint64_t *items, uint64_t *commits);
    void (*set_list_size)(reg_db *db, uint32_t size);
    void (*pool_set_list_size)(reg_pool *p, uint32_t size);

    ecred_err (*begin_write)(reg_db *db);
    ecred_err (*begin_read)(reg_db *db);
    ecred_err (*commit)(reg_db *db);
    void (*rollback)(reg_db *db);
    ecred_err (*write)(reg_db *db, reg_write_fn fn, void *ctx, bool *fn_failed);

    ecred_err (*token_add)(reg_db *db, const uint8_t hash[32], const char *role, int64_t now);
    ecred_err (*token_role)(reg_db *db, const uint8_t hash[32], char role[16]);

    ecred_err (*application_insert)(reg_db *db, const reg_application *a);
    ecred_err (*application_get)(reg_db *db, const char *id, reg_application *out);
    ecred_err (*application_set_issued)(reg_db *db, const char *id, const char *credential_id,
                                        int64_t now, const char *actor);
    ecred_err (*application_set_rejected)(reg_db *db, const char *id, const char *reason,
                                          int64_t now, const char *actor);

    ecred_err (*idem_get)(reg_db *db, const char *key, uint8_t req_hash[32],
                          char app_id[REG_ID_LEN + 1]);
    ecred_err (*idem_put)(reg_db *db, const char *key, const uint8_t req_hash[32],
                          const char *app_id, int64_t now);

    ecred_err (*commitment_insert)(reg_db *db, const reg_commitment *c);
    ecred_err (*commitment_get)(reg_db *db, const char *ref, reg_commitment *out);
    ecred_err (*commitment_confirm)(reg_db *db, const char *ref, int64_t now);

    ecred_err (*credential_insert)(reg_db *db, const reg_credential *c);
    ecred_err (*credential_get)(reg_db *db, const char *id, reg_credential *out);
    ecred_err (*credential_latest_for)(reg_db *db, const char *id_number, reg_credential *out);
    ecred_err (*credential_set_replaced_by)(reg_db *db, const char *id, const char *new_id);
    ecred_err (*status_change)(reg_db *db, const char *cred_id, int old_status, int new_status,
                               const char *action, const char *reason, const char *actor,
                               int64_t now);
    ecred_err (*status_events)(reg_db *db, const char *cred_id, reg_status_event **out, size_t *n);

    /* Inside the caller's write transaction: reserve up to want (>= 1)
     * positions of the open list by advancing its cursor, opening the next
     * list (a fresh random key, the URI recorded) when no list has room.
     * Fills *out with the list, its key, size and URI, and the reserved
     * range [first, first + count), count >= 1. Two writers never get the
     * same range (the cursor update is the serialization point; a loser of
     * a race is retried per CONTRACT 4 or answers ECRED_ERR_EXISTS). */
    ecred_err (*index_reserve)(reg_db *db, uint32_t want, reg_index_block *out);
    ecred_err (*list_info_get)(reg_db *db, int64_t list_id, reg_list_info *out);
    ecred_err (*list_entries)(reg_db *db, int64_t list_id,
                              ecred_err (*fn)(void *ctx, int64_t idx, int status), void *ctx);
    ecred_err (*reminders)(reg_db *db, int32_t from_day, int32_t to_day,
                           ecred_err (*fn)(void *ctx, const char *id, const char *due, int32_t day),
                           void *ctx);
    /* Optional (NULL: the dispatcher falls back to credential_get): the
     * application id of a credential, by one narrow indexed read. */
    ecred_err (*credential_application)(reg_db *db, const char *id, char app_id[REG_ID_LEN + 1]);
    /* The audit log (reg_audit_append, reg_audit_scan). audit_last gives the
     * highest seq and its hash (seq 0 and zeros when empty); audit_insert
     * stores an entry exactly as given and fails (ECRED_ERR_EXISTS) on a
     * taken seq, so two writers can never fork the chain. */
    ecred_err (*audit_last)(reg_db *db, uint64_t *seq, uint8_t hash[32]);
    ecred_err (*audit_insert)(reg_db *db, const reg_audit_entry *e);
    ecred_err (*audit_scan)(reg_db *db, ecred_err (*fn)(void *ctx, const reg_audit_entry *e),
                            void *ctx);
    /* Optional (NULL: "staff"): the role of the token whose hash starts with
     * the 8 hex digits of an actor label. */
    ecred_err (*token_role_by_prefix)(reg_db *db, const char prefix[8], char role[16]);
    /* Issue 17: operations. Optional ones may be NULL (the dispatcher
     * answers ECRED_ERR_UNSUPPORTED, or does nothing for setters). */
    void (*schema_info)(reg_db *db, int *found, int *now);
    void (*set_status_prefix)(reg_db *db, const char *prefix);
    void (*pool_set_status_prefix)(reg_pool *p, const char *prefix);
    ecred_err (*token_add_labeled)(reg_db *db, const uint8_t hash[32], const char *role,
                                   const char *label, int64_t expires_at, int64_t now);
    ecred_err (*tokens_list)(reg_db *db, ecred_err (*fn)(void *ctx, const reg_token_info *t), void *ctx);
    ecred_err (*token_remove)(reg_db *db, const char *id);
    ecred_err (*backup)(reg_db *db, const char *path, int64_t now);
    ecred_err (*restore)(reg_db *db, const char *from_path, int64_t min_next_list, int64_t now,
                         reg_restore_report *rep);
    ecred_err (*list_max_id)(reg_db *db, int64_t *max);
    ecred_err (*applications_by_state)(reg_db *db, const char *state, int64_t after_at,
                                       const char *after_id, unsigned limit,
                                       ecred_err (*fn)(void *ctx, const reg_application *a), void *ctx);
    ecred_err (*credentials_for)(reg_db *db, const char *id_number, unsigned limit,
                                 ecred_err (*fn)(void *ctx, const reg_credential *c), void *ctx);

    /* Appended for issue 15 (PostgreSQL; several instances). */
    ecred_err (*list_token_get)(reg_db *db, int64_t list_id, reg_list_token *out);
    ecred_err (*list_token_put)(reg_db *db, const reg_list_token *t);
    /* Registry copy: dump calls fn for every row of every table in the order
     * of REG_COPY_TABLES, columns as listed there; load_row inserts one such
     * row inside the destination's write transaction; load_finish checks and
     * completes what the rows imply (counters, sequences) in that transaction;
     * is_empty tells whether the registry holds no row at all. */
    ecred_err (*dump)(reg_db *db, reg_row_fn fn, void *ctx);
    ecred_err (*load_row)(reg_db *db, const char *table, const reg_value *cols, size_t n);
    ecred_err (*load_finish)(reg_db *db);
    ecred_err (*is_empty)(reg_db *db, bool *empty);
    ecred_err (*schema_version)(reg_db *db, int64_t *version);
    /* Optional (NULL: no bindings kept; get says "none", put is
     * ECRED_ERR_UNSUPPORTED): holder key bindings of applications. */
    ecred_err (*holder_get)(reg_db *db, const char *app_id, reg_holder *out);
    ecred_err (*holder_put)(reg_db *db, const char *app_id, const reg_holder *h);

    /* ---- shared resident sessions: resident logins, sessions, the reminder
     * outbox; contracts in registry.h. Optional: NULL answers
     * ECRED_ERR_UNSUPPORTED. ---- */
    ecred_err (*login_put)(reg_db *db, const uint8_t state_hash[32], const char *nonce,
                           const char *verifier, int64_t now, int64_t expires_at,
                           unsigned max_pending);
    ecred_err (*login_take)(reg_db *db, const uint8_t state_hash[32], int64_t now,
                            char nonce[REG_LOGIN_SECRET_MAX + 1],
                            char verifier[REG_LOGIN_SECRET_MAX + 1]);
    ecred_err (*session_put)(reg_db *db, const reg_session *s);
    ecred_err (*session_get)(reg_db *db, const uint8_t hash[32], reg_session *out);
    ecred_err (*session_touch)(reg_db *db, const uint8_t hash[32], int64_t now);
    ecred_err (*session_delete)(reg_db *db, const uint8_t hash[32]);
    ecred_err (*resident_prune)(reg_db *db, int64_t now, int64_t idle_s, uint64_t *removed);
    ecred_err (*outbox_add)(reg_db *db, const char *key, const char *payload, int64_t now);
    ecred_err (*outbox_claim)(reg_db *db, const char *owner, int64_t now, int64_t lease_until,
                              int max_attempts, size_t max, reg_outbox_item *items, size_t *n);
    ecred_err (*outbox_record)(reg_db *db, const char *key, const char *owner, bool delivered,
                               int64_t status, int64_t now, int64_t next_at);
    ecred_err (*outbox_release)(reg_db *db, const char *key, const char *owner);
    ecred_err (*outbox_get_stats)(reg_db *db, int max_attempts, int64_t now, reg_outbox_stats *out);
    ecred_err (*outbox_lease)(reg_db *db, const char *key, char owner[REG_OUTBOX_OWNER_MAX + 1],
                              int64_t *lease_until);
    /* ---- end shared resident sessions ---- */
    /* Backup and restore by copy (issue 17 on PostgreSQL; registry.c's
     * reg_backup/reg_restore when the backend has no backup/restore op of
     * its own). The backup file is a SQLite registry, so only the SQLite
     * backend implements the first two; optional, NULL: unsupported.
     * backup_stamp records taken_at in a registry just filled by a copy and
     * makes its file self-contained (no -wal beside it); backup_taken_at
     * reads it back (ECRED_ERR_KEY_UNKNOWN: not a backup). */
    ecred_err (*backup_stamp)(reg_db *db, int64_t taken_at);
    ecred_err (*backup_taken_at)(reg_db *db, int64_t *taken_at);
    /* reg_claim: *claimed false when an issuer instance (a pool) has the
     * registry open; otherwise held until reg_close. */
    ecred_err (*claim)(reg_db *db, bool *claimed);
    /* Inside the write transaction that loaded a backup, after load_finish:
     * the post-restore rules of reg_restore (close the lists open at backup
     * time, reserve ids below min_next_list as closed), filling rep's
     * last_issued_at, closed_* and skipped_*. */
    ecred_err (*restore_finish)(reg_db *db, int64_t min_next_list, int64_t now,
                                reg_restore_report *rep);
} reg_ops;

struct reg_db {
    const reg_ops *ops;
    /* This connection's reserved positions (reg_index_take), used in order;
     * blk.count == 0: none. Only its current user touches it. */
    reg_index_block blk;
};

struct reg_pool {
    const reg_ops *ops;
};

/* ---- group commit, shared by the backends (registry.c) ----
 * A pool's reg_write items queue here; one submitter at a time leads: it
 * takes up to batch_max queued items off the queue and hands them to the
 * backend's run function, which runs them in one transaction (each in a
 * savepoint) with one COMMIT and sets every item's fn_err/result/busy. The
 * submitters wait until their item is done. */
typedef struct reg_gc_item {
    reg_write_fn fn;
    void *ctx;
    ecred_err fn_err;          /* what fn returned on its last run */
    ecred_err result;          /* fn_err, or why the batch did not commit */
    bool busy;                 /* fn kept losing races: busy registry, fn not wrong */
    bool done;                 /* set by the leader under mu */
    struct reg_gc_item *next;
} reg_gc_item;

typedef struct reg_gc {
    pthread_mutex_t mu;        /* the queue; held by nobody while a batch runs */
    pthread_cond_t cv;
    reg_gc_item *head, *tail;
    bool leading;
    unsigned batch_max;
    uint64_t items, commits;   /* under mu */
} reg_gc;

void reg_gc_init(reg_gc *g, unsigned batch_max);
void reg_gc_destroy(reg_gc *g);
/* Queue item and wait until a batch holding it is done, leading batches
 * (run(run_ctx, batch), called without mu) whenever none runs. */
void reg_gc_submit(reg_gc *g, reg_gc_item *item, void (*run)(void *run_ctx, reg_gc_item *batch),
                   void *run_ctx);
void reg_gc_stats(reg_gc *g, uint64_t *items, uint64_t *commits);

/* The SQLite backend (registry_sqlite.c). */
extern const reg_ops reg_sqlite_ops;
#ifdef ECRED_HAVE_PG
/* The PostgreSQL backend (registry_pg.c). */
extern const reg_ops reg_pg_ops;
#endif

#endif
