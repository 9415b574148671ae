/*
 * registry.c - opens a registry by URL and dispatches every reg_* call of
 * registry.h to the backend's ops table (registry_backend.h). Also the
 * backend-independent helpers: freeing the row structs.
 *
 * Must never: know a backend's SQL or types, or decide anything a backend
 * guarantees (that is the CONTRACT in registry.h).
 */
#include "ecred/checkpoint.h"
#include "registry_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The backend for url and where its location starts; NULL backend when this
 * build cannot open url (*why says why). */
static const reg_ops *reg_url_backend(const char *url, const char **location, const char **why)
{
    *why = NULL;
    if (!url || !*url) {
        *why = "empty registry URL";
        return NULL;
    }
    if (strncmp(url, "sqlite:", 7) == 0) {
        *location = url + 7;
        if (!**location) {
            *why = "sqlite: needs a file path (sqlite:PATH)";
            return NULL;
        }
        return &reg_sqlite_ops;
    }
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
#ifdef ECRED_HAVE_PG
        /* libpq takes the whole URI (host, port, user, dbname, parameters). */
        *location = url;
        return &reg_pg_ops;
#else
        *why = "not built with PostgreSQL support (install libpq-dev and rebuild)";
        return NULL;
#endif
    }
    /* A scheme is letters, digits, '+', '-', '.' before ':'; anything else is
     * a bare path (kept for compatibility: a bare path is sqlite). */
    const char *colon = strchr(url, ':');
    const char *slash = strchr(url, '/');
    if (colon && (!slash || colon < slash) && colon > url) {
        bool scheme = true;
        for (const char *q = url; q < colon; q++)
            if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') ||
                  *q == '+' || *q == '-' || *q == '.'))
                scheme = false;
        if (scheme) {
            *why = "unknown registry URL scheme (use sqlite:PATH or postgres://...)";
            return NULL;
        }
    }
    *location = url;
    return &reg_sqlite_ops;
}

const char *reg_url_check(const char *url)
{
    const char *location, *why;
    reg_url_backend(url, &location, &why);
    return why;
}

ecred_err reg_open_url(const char *url, reg_db **out)
{
    const char *location = NULL, *why;
    const reg_ops *ops = reg_url_backend(url, &location, &why);
    if (!ops)
        return ECRED_ERR_ARG;
    return ops->open(location, out);
}

ecred_err reg_pool_open_url(const char *url, unsigned size, reg_pool **out)
{
    const char *location = NULL, *why;
    const reg_ops *ops = reg_url_backend(url, &location, &why);
    if (!ops)
        return ECRED_ERR_ARG;
    return ops->pool_open(location, size, out);
}

void reg_close(reg_db *db)
{
    if (db)
        db->ops->close(db);
}

reg_db *reg_pool_get(reg_pool *p)
{
    return p->ops->pool_get(p);
}

void reg_pool_put(reg_pool *p, reg_db *db)
{
    p->ops->pool_put(p, db);
}

void reg_pool_close(reg_pool *p)
{
    if (p)
        p->ops->pool_close(p);
}

const char *reg_backend_name(reg_db *db)
{
    return db->ops->name;
}

void reg_pool_write_stats(reg_pool *p, uint64_t *items, uint64_t *commits)
{
    p->ops->pool_write_stats(p, items, commits);
}

void reg_set_list_size(reg_db *db, uint32_t size)
{
    db->ops->set_list_size(db, size);
}

void reg_pool_set_list_size(reg_pool *p, uint32_t size)
{
    p->ops->pool_set_list_size(p, size);
}

/* ---- operations (issue 17): optional ops answer ECRED_ERR_UNSUPPORTED ---- */

void reg_schema_info(reg_db *db, int *found, int *now)
{
    *found = *now = 0;
    if (db->ops->schema_info)
        db->ops->schema_info(db, found, now);
}

void reg_set_status_prefix(reg_db *db, const char *prefix)
{
    if (db->ops->set_status_prefix)
        db->ops->set_status_prefix(db, prefix);
}

void reg_pool_set_status_prefix(reg_pool *p, const char *prefix)
{
    if (p->ops->pool_set_status_prefix)
        p->ops->pool_set_status_prefix(p, prefix);
}

ecred_err reg_token_add_labeled(reg_db *db, const uint8_t hash[32], const char *role,
                                const char *label, int64_t expires_at, int64_t now)
{
    ecred_err e;
    if (!db->ops->token_add_labeled)
        e = (label && *label) || expires_at ? ECRED_ERR_UNSUPPORTED : db->ops->token_add(db, hash, role, now);
    else
        e = db->ops->token_add_labeled(db, hash, role, label ? label : "", expires_at, now);
    if (e)
        return e;
    /* The token's hash prefix (as in actor labels), never the token. */
    char prefix[9];
    ecred_hex(hash, 4, prefix);
    return reg_audit_append(db, "token-add", prefix, "operator", now);
}

ecred_err reg_tokens_list(reg_db *db, ecred_err (*fn)(void *ctx, const reg_token_info *t), void *ctx)
{
    return db->ops->tokens_list ? db->ops->tokens_list(db, fn, ctx) : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_token_remove(reg_db *db, const char *id, int64_t now)
{
    if (!db->ops->token_remove)
        return ECRED_ERR_UNSUPPORTED;
    ecred_err e = db->ops->token_remove(db, id);
    if (e)
        return e;
    /* The id is the hash prefix token-add recorded: the pair can be matched. */
    char prefix[9];
    for (int i = 0; i < 8; i++)
        prefix[i] = (char)(id[i] >= 'A' && id[i] <= 'F' ? id[i] - 'A' + 'a' : id[i]);
    prefix[8] = 0;
    return reg_audit_append(db, "token-remove", prefix, "operator", now);
}

static ecred_err reg_backup_by_copy(reg_db *db, const char *path, int64_t now);
static ecred_err reg_restore_by_copy(reg_db *db, const char *from_path, int64_t min_next_list,
                                     int64_t now, reg_restore_report *rep);

ecred_err reg_backup(reg_db *db, const char *path, int64_t now)
{
    if (db->ops->backup)
        return db->ops->backup(db, path, now);
    return db->ops->dump ? reg_backup_by_copy(db, path, now) : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_restore(reg_db *db, const char *from_path, int64_t min_next_list, int64_t now,
                      reg_restore_report *rep)
{
    if (db->ops->restore)
        return db->ops->restore(db, from_path, min_next_list, now, rep);
    return db->ops->restore_finish ? reg_restore_by_copy(db, from_path, min_next_list, now, rep)
                                   : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_claim(reg_db *db, bool *claimed)
{
    *claimed = true;
    return db->ops->claim ? db->ops->claim(db, claimed) : ECRED_OK;
}

ecred_err reg_list_max_id(reg_db *db, int64_t *max)
{
    return db->ops->list_max_id ? db->ops->list_max_id(db, max) : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_applications_by_state(reg_db *db, const char *state, int64_t after_at,
                                    const char *after_id, unsigned limit,
                                    ecred_err (*fn)(void *ctx, const reg_application *a), void *ctx)
{
    return db->ops->applications_by_state
               ? db->ops->applications_by_state(db, state, after_at, after_id, limit, fn, ctx)
               : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_credentials_for(reg_db *db, const char *id_number, unsigned limit,
                              ecred_err (*fn)(void *ctx, const reg_credential *c), void *ctx)
{
    return db->ops->credentials_for ? db->ops->credentials_for(db, id_number, limit, fn, ctx)
                                    : ECRED_ERR_UNSUPPORTED;
}

/* ---- the row structs ---- */

void reg_application_free(reg_application *a)
{
    free(a->credential_json);
    free(a->reject_reason);
    a->credential_json = NULL;
    a->reject_reason = NULL;
}

void reg_commitment_free(reg_commitment *c)
{
    free(c->text);
    c->text = NULL;
}

void reg_credential_free(reg_credential *c)
{
    free(c->qr_text);
    free(c->credential_json);
    c->qr_text = NULL;
    c->credential_json = NULL;
}

void reg_list_token_free(reg_list_token *t)
{
    ecred_buf_free(&t->token);
}

void reg_status_events_free(reg_status_event *ev, size_t n)
{
    if (!ev)
        return;
    for (size_t i = 0; i < n; i++)
        free(ev[i].reason);
    free(ev);
}

/* ---- dispatch: each call is its backend's op (contracts in registry.h) ---- */

ecred_err reg_begin_write(reg_db *db)
{
    return db->ops->begin_write(db);
}

ecred_err reg_begin_read(reg_db *db)
{
    return db->ops->begin_read(db);
}

ecred_err reg_commit(reg_db *db)
{
    return db->ops->commit(db);
}

void reg_rollback(reg_db *db)
{
    db->ops->rollback(db);
}

ecred_err reg_write(reg_db *db, reg_write_fn fn, void *ctx, bool *fn_failed)
{
    return db->ops->write(db, fn, ctx, fn_failed);
}

ecred_err reg_token_add(reg_db *db, const uint8_t hash[32], const char *role, int64_t now)
{
    ecred_err e = db->ops->token_add(db, hash, role, now);
    if (e)
        return e;
    /* The token's hash prefix (as in actor labels), never the token. */
    char prefix[9];
    ecred_hex(hash, 4, prefix);
    return reg_audit_append(db, "token-add", prefix, "operator", now);
}

ecred_err reg_token_role(reg_db *db, const uint8_t hash[32], char role[16])
{
    return db->ops->token_role(db, hash, role);
}

ecred_err reg_application_insert(reg_db *db, const reg_application *a)
{
    return db->ops->application_insert(db, a);
}

ecred_err reg_application_get(reg_db *db, const char *id, reg_application *out)
{
    return db->ops->application_get(db, id, out);
}

ecred_err reg_application_set_issued(reg_db *db, const char *id, const char *credential_id,
                                     int64_t now, const char *actor)
{
    ecred_err e = db->ops->application_set_issued(db, id, credential_id, now, actor);
    return e ? e : reg_audit_append(db, "issue", credential_id, actor, now);
}

ecred_err reg_application_set_rejected(reg_db *db, const char *id, const char *reason, int64_t now,
                                       const char *actor)
{
    return db->ops->application_set_rejected(db, id, reason, now, actor);
}

ecred_err reg_idem_get(reg_db *db, const char *key, uint8_t req_hash[32],
                       char app_id[REG_ID_LEN + 1])
{
    return db->ops->idem_get(db, key, req_hash, app_id);
}

ecred_err reg_idem_put(reg_db *db, const char *key, const uint8_t req_hash[32], const char *app_id,
                       int64_t now)
{
    return db->ops->idem_put(db, key, req_hash, app_id, now);
}

ecred_err reg_commitment_insert(reg_db *db, const reg_commitment *c)
{
    return db->ops->commitment_insert(db, c);
}

ecred_err reg_commitment_get(reg_db *db, const char *ref, reg_commitment *out)
{
    return db->ops->commitment_get(db, ref, out);
}

ecred_err reg_commitment_confirm(reg_db *db, const char *ref, int64_t now)
{
    return db->ops->commitment_confirm(db, ref, now);
}

ecred_err reg_credential_insert(reg_db *db, const reg_credential *c)
{
    return db->ops->credential_insert(db, c);
}

ecred_err reg_credential_get(reg_db *db, const char *id, reg_credential *out)
{
    return db->ops->credential_get(db, id, out);
}

ecred_err reg_holder_get(reg_db *db, const char *app_id, reg_holder *out)
{
    if (db->ops->holder_get)
        return db->ops->holder_get(db, app_id, out);
    memset(out, 0, sizeof *out);
    return ECRED_OK;
}

ecred_err reg_holder_put(reg_db *db, const char *app_id, const reg_holder *h)
{
    return db->ops->holder_put ? db->ops->holder_put(db, app_id, h) : ECRED_ERR_UNSUPPORTED;
}

ecred_err reg_credential_application(reg_db *db, const char *id, char app_id[REG_ID_LEN + 1])
{
    if (db->ops->credential_application)
        return db->ops->credential_application(db, id, app_id);
    reg_credential c;
    ecred_err e = db->ops->credential_get(db, id, &c);
    if (e)
        return e;
    memcpy(app_id, c.application_id, REG_ID_LEN + 1);
    reg_credential_free(&c);
    return ECRED_OK;
}

ecred_err reg_credential_latest_for(reg_db *db, const char *id_number, reg_credential *out)
{
    return db->ops->credential_latest_for(db, id_number, out);
}

ecred_err reg_credential_set_replaced_by(reg_db *db, const char *id, const char *new_id)
{
    ecred_err e = db->ops->credential_set_replaced_by(db, id, new_id);
    /* The replaced credential; its successor has its own "issue" entry. */
    return e ? e : reg_audit_append(db, "reissue", id, "staff", (int64_t)time(NULL));
}

ecred_err reg_status_change(reg_db *db, const char *cred_id, int old_status, int new_status,
                            const char *action, const char *reason, const char *actor, int64_t now)
{
    ecred_err e =
        db->ops->status_change(db, cred_id, old_status, new_status, action, reason, actor, now);
    return e ? e : reg_audit_append(db, action, cred_id, actor, now);
}

ecred_err reg_status_events(reg_db *db, const char *cred_id, reg_status_event **out, size_t *n)
{
    return db->ops->status_events(db, cred_id, out, n);
}

/* reg_write body of reg_index_take's refill: one block of positions. */
static ecred_err reg_reserve_body(reg_db *db, void *arg)
{
    reg_index_block *b = arg;
    memset(b, 0, sizeof *b);
    return db->ops->index_reserve(db, REG_INDEX_BLOCK, b);
}

/* Whether a backend's block is one we can hand out from. */
static bool reg_block_sane(const reg_index_block *b, uint32_t want)
{
    return b->list_id > 0 && b->size > 0 && b->count >= 1 && b->count <= want &&
           b->first < b->size && b->count <= b->size - b->first;
}

/* The index of a block's first position, and the block advanced past it. */
static ecred_err reg_block_next(reg_index_block *b, int64_t *list_id, int64_t *idx)
{
    uint32_t v = idxperm_at(b->key, b->size, b->first);
    if (v == UINT32_MAX)
        return ECRED_ERR_INTERNAL;
    *list_id = b->list_id;
    *idx = v;
    b->first++;
    b->count--;
    return ECRED_OK;
}

void reg_index_forget(reg_db *db)
{
    ecred_wipe(&db->blk, sizeof db->blk);
}

ecred_err reg_index_take(reg_db *db, int64_t *list_id, int64_t *idx, char uri[REG_URI_MAX + 1])
{
    if (db->blk.count == 0) {
        reg_index_block b;
        ecred_err e = ECRED_ERR_EXISTS;
        /* EXISTS: another instance opened the same next list first; the next
         * attempt reserves in the list it opened. */
        for (int attempt = 0; attempt < 4 && e == ECRED_ERR_EXISTS; attempt++) {
            bool fn_failed = false;
            e = reg_write(db, reg_reserve_body, &b, &fn_failed);
        }
        if (!e && !reg_block_sane(&b, REG_INDEX_BLOCK))
            e = ECRED_ERR_IO; /* a registry row we did not write */
        if (e) {
            ecred_wipe(&b, sizeof b);
            return e;
        }
        reg_index_forget(db);
        db->blk = b;
        ecred_wipe(&b, sizeof b);
    }
    ecred_err e = reg_block_next(&db->blk, list_id, idx);
    if (!e)
        memcpy(uri, db->blk.uri, sizeof db->blk.uri);
    if (e || db->blk.count == 0)
        reg_index_forget(db);
    return e;
}

ecred_err reg_index_allocate(reg_db *db, int64_t *list_id, int64_t *idx)
{
    reg_index_block b;
    memset(&b, 0, sizeof b);
    ecred_err e = db->ops->index_reserve(db, 1, &b);
    if (!e && !reg_block_sane(&b, 1))
        e = ECRED_ERR_IO;
    if (!e)
        e = reg_block_next(&b, list_id, idx);
    ecred_wipe(&b, sizeof b);
    return e;
}

ecred_err reg_list_info_get(reg_db *db, int64_t list_id, reg_list_info *out)
{
    return db->ops->list_info_get(db, list_id, out);
}

ecred_err reg_list_entries(reg_db *db, int64_t list_id,
                           ecred_err (*fn)(void *ctx, int64_t idx, int status), void *ctx)
{
    return db->ops->list_entries(db, list_id, fn, ctx);
}

ecred_err reg_reminders(reg_db *db, int32_t from_day, int32_t to_day,
                        ecred_err (*fn)(void *ctx, const char *id, const char *due, int32_t day),
                        void *ctx)
{
    return db->ops->reminders(db, from_day, to_day, fn, ctx);
}

/* ---- group commit (registry_backend.h) ---- */

void reg_gc_init(reg_gc *g, unsigned batch_max)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->batch_max = batch_max ? batch_max : 1;
}

void reg_gc_destroy(reg_gc *g)
{
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
}

void reg_gc_submit(reg_gc *g, reg_gc_item *item, void (*run)(void *run_ctx, reg_gc_item *batch),
                   void *run_ctx)
{
    pthread_mutex_lock(&g->mu);
    item->next = NULL;
    if (g->tail)
        g->tail->next = item;
    else
        g->head = item;
    g->tail = item;
    while (!item->done) {
        if (g->leading) {
            pthread_cond_wait(&g->cv, &g->mu);
            continue;
        }
        /* Lead: take up to batch_max items off the queue (ours is among them
         * unless a longer queue put it in a later batch: then we lead again). */
        g->leading = true;
        reg_gc_item *batch = g->head, *last = batch;
        unsigned n = 1;
        while (last->next && n < g->batch_max) {
            last = last->next;
            n++;
        }
        g->head = last->next;
        if (!g->head)
            g->tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&g->mu);

        run(run_ctx, batch);

        pthread_mutex_lock(&g->mu);
        bool committed = false;
        for (reg_gc_item *it = batch; it; it = it->next) {
            it->done = true;
            committed = committed || it->result == ECRED_OK;
        }
        g->items += n;
        if (committed)
            g->commits++;
        g->leading = false;
        pthread_cond_broadcast(&g->cv);
    }
    pthread_mutex_unlock(&g->mu);
}

void reg_gc_stats(reg_gc *g, uint64_t *items, uint64_t *commits)
{
    pthread_mutex_lock(&g->mu);
    *items = g->items;
    *commits = g->commits;
    pthread_mutex_unlock(&g->mu);
}

/* ---- audit log ---- */

/* Set once by a benchmark before any thread starts; read-only afterwards. */
static bool audit_disabled;

void reg_audit_disable_for_bench(void) { audit_disabled = true; }

void reg_audit_entry_hash(const reg_audit_entry *e, uint8_t out[32])
{
    ecred_audit_entry pub;
    memset(&pub, 0, sizeof pub);
    pub.seq = e->seq;
    pub.at = e->at;
    memcpy(pub.action, e->action, sizeof pub.action);
    memcpy(pub.subject, e->subject, sizeof pub.subject);
    memcpy(pub.actor, e->actor, sizeof pub.actor);
    memcpy(pub.prev, e->prev, sizeof pub.prev);
    ecred_audit_leaf_hash(&pub, out);
}

/* Is s a short run of [a-z0-9-]? The log's text fields are restricted so the
 * canonical bytes cannot be forged by a field holding a newline. */
static bool audit_word(const char *s, size_t cap)
{
    size_t n = strlen(s);
    if (n == 0 || n >= cap)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

/* The role to record for actor: a token label becomes its token's role;
 * other actors (holder, operator, system) are kept when they are one word. */
static void audit_role(reg_db *db, const char *actor, char role[16])
{
    snprintf(role, 16, "staff");
    if (!actor)
        return;
    if (strncmp(actor, "token:", 6) == 0 && strlen(actor) == 14) {
        char r[16];
        if (db->ops->token_role_by_prefix &&
            db->ops->token_role_by_prefix(db, actor + 6, r) == ECRED_OK && audit_word(r, 16))
            snprintf(role, 16, "%s", r);
        return;
    }
    if (audit_word(actor, 16))
        snprintf(role, 16, "%s", actor);
}

ecred_err reg_audit_append(reg_db *db, const char *action, const char *subject,
                           const char *actor, int64_t at)
{
    if (audit_disabled)
        return ECRED_OK;
    reg_audit_entry e;
    memset(&e, 0, sizeof e);
    if (!action || !subject || !audit_word(action, sizeof e.action) ||
        !audit_word(subject, sizeof e.subject))
        return ECRED_ERR_ARG;
    snprintf(e.action, sizeof e.action, "%s", action);
    snprintf(e.subject, sizeof e.subject, "%s", subject);
    audit_role(db, actor, e.actor);
    e.at = at;
    uint64_t last = 0;
    ecred_err err = db->ops->audit_last(db, &last, e.prev);
    if (err)
        return err;
    e.seq = last + 1;
    reg_audit_entry_hash(&e, e.hash);
    return db->ops->audit_insert(db, &e);
}

ecred_err reg_audit_scan(reg_db *db, ecred_err (*fn)(void *ctx, const reg_audit_entry *e),
                         void *ctx)
{
    return db->ops->audit_scan(db, fn, ctx);
}

ecred_err reg_list_token_get(reg_db *db, int64_t list_id, reg_list_token *out)
{
    return db->ops->list_token_get(db, list_id, out);
}

ecred_err reg_list_token_put(reg_db *db, const reg_list_token *t)
{
    return db->ops->list_token_put(db, t);
}

ecred_err reg_schema_version(reg_db *db, int64_t *version)
{
    return db->ops->schema_version(db, version);
}

/* ---- registry copy ---- */

/* Rows per table, in REG_COPY_TABLES order. */
enum {
#define X(name, cols, n) REG_T_##name,
    REG_COPY_TABLES
#undef X
    REG_T_COUNT
};

static const char *const reg_copy_names[] = {
#define X(name, cols, n) #name,
    REG_COPY_TABLES
#undef X
};

static const size_t reg_copy_ncols[] = {
#define X(name, cols, n) n,
    REG_COPY_TABLES
#undef X
};

typedef struct reg_copy_ctx {
    reg_db *to;              /* NULL: only count */
    uint64_t counts[REG_T_COUNT];
} reg_copy_ctx;

/* dump callback: count the row and, when copying, load it into the destination. */
static ecred_err reg_copy_row(void *arg, const char *table, const reg_value *cols, size_t n)
{
    reg_copy_ctx *c = arg;
    size_t t = 0;
    while (t < REG_T_COUNT && strcmp(reg_copy_names[t], table) != 0)
        t++;
    if (t == REG_T_COUNT || n != reg_copy_ncols[t])
        return ECRED_ERR_INTERNAL; /* a backend dumped what REG_COPY_TABLES does not list */
    c->counts[t]++;
    return c->to ? c->to->ops->load_row(c->to, table, cols, n) : ECRED_OK;
}

/* Count every row of db (in one read snapshot). */
static ecred_err reg_copy_count(reg_db *db, reg_copy_ctx *c)
{
    memset(c, 0, sizeof *c);
    ecred_err e = db->ops->begin_read(db);
    if (!e)
        e = db->ops->dump(db, reg_copy_row, c);
    db->ops->rollback(db);
    return e;
}

/* What a restore adds to a copy: the post-restore rules, run in the
 * destination's transaction (restore_finish), and their report. */
typedef struct reg_restore_job {
    int64_t min_next_list, now;
    reg_restore_report *rep;
} reg_restore_job;

/* Copy every row of from into the EMPTY registry to (ECRED_ERR_EXISTS when it
 * holds anything): from read in one snapshot, to written in one transaction
 * (with job's rules when job is not NULL), then read back and counted. On
 * any error to is unchanged. Counts of what was copied in c->counts. */
static ecred_err reg_copy_dbs(reg_db *from, reg_db *to, const reg_restore_job *job, reg_copy_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->to = to;
    bool empty = false;
    ecred_err e = from->ops->begin_read(from);
    if (e)
        return e;
    if ((e = to->ops->begin_write(to)) == ECRED_OK) {
        /* Inside the write: nothing can slip in between the check and the load. */
        e = to->ops->is_empty(to, &empty);
        if (!e && !empty)
            e = ECRED_ERR_EXISTS; /* never merge into a registry in use: indices could collide */
        if (!e)
            e = from->ops->dump(from, reg_copy_row, c);
        if (!e)
            e = to->ops->load_finish(to);
        if (!e && job)
            e = to->ops->restore_finish(to, job->min_next_list, job->now, job->rep);
        if (!e)
            e = to->ops->commit(to);
    }
    to->ops->rollback(to);
    from->ops->rollback(from);
    if (e)
        return e;
    /* Read the destination back: every row arrived (and nothing else but
     * the placeholder lists a restore reserved). */
    reg_copy_ctx check;
    if ((e = reg_copy_count(to, &check)) != ECRED_OK)
        return e;
    if (job && job->rep->skipped_first)
        check.counts[REG_T_status_lists] -= (uint64_t)(job->rep->skipped_last - job->rep->skipped_first + 1);
    return memcmp(check.counts, c->counts, sizeof c->counts) == 0 ? ECRED_OK : ECRED_ERR_INTERNAL;
}

ecred_err reg_copy(const char *from_url, const char *to_url, reg_copy_stats *stats)
{
    reg_db *from = NULL, *to = NULL;
    reg_copy_ctx c;
    ecred_err e = reg_open_url(from_url, &from);
    if (!e)
        e = reg_open_url(to_url, &to);
    if (!e)
        e = reg_copy_dbs(from, to, NULL, &c);
    if (e)
        goto out;
    stats->tokens = c.counts[REG_T_tokens];
    stats->applications = c.counts[REG_T_applications];
    stats->idempotency = c.counts[REG_T_idempotency];
    stats->commitments = c.counts[REG_T_commitments];
    stats->lists = c.counts[REG_T_status_lists];
    stats->credentials = c.counts[REG_T_credentials];
    stats->events = c.counts[REG_T_status_events];
    stats->list_tokens = c.counts[REG_T_list_tokens];
    stats->holder_bindings = c.counts[REG_T_holder_bindings];
    stats->audit_entries = c.counts[REG_T_audit_log];
out:
    reg_close(to);
    reg_close(from);
    return e;
}

/* ---- shared resident sessions: resident logins, sessions, the reminder outbox.
 * Plain dispatch; a backend without them answers ECRED_ERR_UNSUPPORTED. ---- */

#define REG_DISPATCH(op, ...) (db->ops->op ? db->ops->op(db, __VA_ARGS__) : ECRED_ERR_UNSUPPORTED)

ecred_err reg_login_put(reg_db *db, const uint8_t state_hash[32], const char *nonce,
                        const char *verifier, int64_t now, int64_t expires_at,
                        unsigned max_pending)
{
    if (strlen(nonce) > REG_LOGIN_SECRET_MAX || strlen(verifier) > REG_LOGIN_SECRET_MAX)
        return ECRED_ERR_ARG;
    return REG_DISPATCH(login_put, state_hash, nonce, verifier, now, expires_at, max_pending);
}

ecred_err reg_login_take(reg_db *db, const uint8_t state_hash[32], int64_t now,
                         char nonce[REG_LOGIN_SECRET_MAX + 1],
                         char verifier[REG_LOGIN_SECRET_MAX + 1])
{
    return REG_DISPATCH(login_take, state_hash, now, nonce, verifier);
}

ecred_err reg_session_put(reg_db *db, const reg_session *s)
{
    return REG_DISPATCH(session_put, s);
}

ecred_err reg_session_get(reg_db *db, const uint8_t hash[32], reg_session *out)
{
    return REG_DISPATCH(session_get, hash, out);
}

ecred_err reg_session_touch(reg_db *db, const uint8_t hash[32], int64_t now)
{
    return REG_DISPATCH(session_touch, hash, now);
}

ecred_err reg_session_delete(reg_db *db, const uint8_t hash[32])
{
    return REG_DISPATCH(session_delete, hash);
}

ecred_err reg_resident_prune(reg_db *db, int64_t now, int64_t idle_s, uint64_t *removed)
{
    uint64_t dummy = 0;
    return REG_DISPATCH(resident_prune, now, idle_s, removed ? removed : &dummy);
}

void reg_outbox_items_free(reg_outbox_item *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].payload);
        items[i].payload = NULL;
    }
}

ecred_err reg_outbox_add(reg_db *db, const char *key, const char *payload, int64_t now)
{
    if (strlen(key) > REG_OUTBOX_KEY_MAX || strlen(payload) > REG_TEXT_MAX)
        return ECRED_ERR_ARG;
    return REG_DISPATCH(outbox_add, key, payload, now);
}

ecred_err reg_outbox_claim(reg_db *db, const char *owner, int64_t now, int64_t lease_until,
                           int max_attempts, size_t max, reg_outbox_item *items, size_t *n)
{
    *n = 0;
    if (strlen(owner) > REG_OUTBOX_OWNER_MAX || max == 0)
        return ECRED_ERR_ARG;
    return REG_DISPATCH(outbox_claim, owner, now, lease_until, max_attempts, max, items, n);
}

ecred_err reg_outbox_record(reg_db *db, const char *key, const char *owner, bool delivered,
                            int64_t status, int64_t now, int64_t next_at)
{
    return REG_DISPATCH(outbox_record, key, owner, delivered, status, now, next_at);
}

ecred_err reg_outbox_release(reg_db *db, const char *key, const char *owner)
{
    return REG_DISPATCH(outbox_release, key, owner);
}

ecred_err reg_outbox_get_stats(reg_db *db, int max_attempts, int64_t now, reg_outbox_stats *out)
{
    memset(out, 0, sizeof *out);
    return REG_DISPATCH(outbox_get_stats, max_attempts, now, out);
}

ecred_err reg_outbox_lease(reg_db *db, const char *key, char owner[REG_OUTBOX_OWNER_MAX + 1],
                           int64_t *lease_until)
{
    return REG_DISPATCH(outbox_lease, key, owner, lease_until);
}
/* ---- end shared resident sessions ---- */
/* ---- backup and restore by copy (a backend without its own: PostgreSQL) ---- */

/* reg_backup: a new SQLite registry at path (0600, O_EXCL: never an existing
 * file) filled by reg_copy_dbs from db's one read snapshot, then stamped. */
static ecred_err reg_backup_by_copy(reg_db *db, const char *path, int64_t now)
{
    /* Made here, before SQLite opens it: the copy holds personal data. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno == EEXIST ? ECRED_ERR_EXISTS : ECRED_ERR_IO;
    close(fd);
    reg_db *to = NULL;
    reg_copy_ctx c;
    ecred_err e = reg_sqlite_ops.open(path, &to);
    if (!e)
        e = reg_copy_dbs(db, to, NULL, &c);
    if (!e)
        e = to->ops->backup_stamp ? to->ops->backup_stamp(to, now) : ECRED_ERR_UNSUPPORTED;
    reg_close(to);
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

/* Copy the file at from into the open file out (ours, just made). */
static ecred_err reg_file_copy(const char *from, int out)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            e = n == 0 ? ECRED_OK : ECRED_ERR_IO;
            break;
        }
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                e = ECRED_ERR_IO;
                break;
            }
            done += w;
        }
        if (e)
            break;
    }
    close(in);
    return e;
}

/* reg_restore: the backup is opened (and migrated) as a private 0600 copy in
 * $TMPDIR, so the operator's file is never written, then reg_copy_dbs loads
 * it into db with the post-restore rules in the same transaction. */
static ecred_err reg_restore_by_copy(reg_db *db, const char *from_path, int64_t min_next_list,
                                     int64_t now, reg_restore_report *rep)
{
    memset(rep, 0, sizeof *rep);
    const char *dir = getenv("TMPDIR");
    char tmp[4096], side[4096 + 8];
    int n = snprintf(tmp, sizeof tmp, "%s/ecred-restore-XXXXXX", dir && *dir ? dir : "/tmp");
    if (n <= 0 || (size_t)n >= sizeof tmp)
        return ECRED_ERR_ARG;
    int fd = mkstemp(tmp); /* 0600: the copy holds personal data */
    if (fd < 0)
        return ECRED_ERR_IO;
    ecred_err e = reg_file_copy(from_path, fd);
    if (close(fd) != 0 && !e)
        e = ECRED_ERR_IO;
    reg_db *src = NULL;
    if (!e) {
        e = reg_sqlite_ops.open(tmp, &src);
        if (e && e != ECRED_ERR_UNSUPPORTED && e != ECRED_ERR_NOMEM)
            e = ECRED_ERR_INPUT; /* not SQLite, or not a registry SQLite can migrate */
    }
    if (!e) {
        int found = 0, cur = 0;
        reg_schema_info(src, &found, &cur);
        rep->found_version = found;
        /* found 0: the file had no registry tables (opening just made them). */
        e = found == 0 || !src->ops->backup_taken_at ? ECRED_ERR_INPUT
                                                      : src->ops->backup_taken_at(src, &rep->taken_at);
        if (e == ECRED_ERR_KEY_UNKNOWN)
            e = ECRED_ERR_INPUT; /* a registry file, but not a backup: run backup on it first */
    }
    if (!e) {
        reg_restore_job job = {min_next_list, now, rep};
        reg_copy_ctx c;
        e = reg_copy_dbs(src, db, &job, &c);
    }
    reg_close(src);
    unlink(tmp);
    static const char *const sides[] = {"-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        snprintf(side, sizeof side, "%s%s", tmp, sides[i]);
        unlink(side);
    }
    reg_index_forget(db);
    return e;
}
