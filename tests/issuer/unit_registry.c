/*
 * unit_registry.c - the issuer registry: schema, tokens, status index
 * allocation (random, never reused, list roll-over, correct under concurrent
 * writers on separate connections), status changes with their audit rows and
 * the list generation the status publisher keys its cache on; choosing an
 * index outside the write and claiming it inside (lc_approve's path). Each
 * case runs once per backend of ECRED_TEST_REGISTRIES (reg_backends.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ecred/slist.h"
#include "reg_backends.h"
#include "registry.h"

#define SMALL_LIST 16
#define THREADS 4
#define PER_THREAD 12

static const char *db_url; /* the case's registry (reg_backends.h) */

/* Insert a credential row at a freshly allocated index, in one transaction. */
static ecred_err issue_one(reg_db *db, int n, int64_t *list_id, int64_t *idx)
{
    ecred_err e = reg_begin_write(db);
    if (e)
        return e;
    reg_credential c;
    memset(&c, 0, sizeof c);
    if ((e = reg_index_allocate(db, list_id, idx)) != ECRED_OK)
        goto out;
    snprintf(c.id, sizeof c.id, "%016x", (unsigned)n);
    snprintf(c.application_id, sizeof c.application_id, "%016x", (unsigned)n);
    c.type = 1;
    snprintf(c.id_number, sizeof c.id_number, "11010519491231002X");
    c.list_id = *list_id;
    c.idx = *idx;
    c.qr_text = (char *)"RC1:TEST";
    c.credential_json = (char *)"{}";
    c.valid_until = 20000;
    c.issued_at = 1;
    if ((e = reg_credential_insert(db, &c)) != ECRED_OK)
        goto out;
    e = reg_commit(db);
out:
    reg_rollback(db);
    return e;
}

typedef struct worker {
    int base;
    int64_t lists[PER_THREAD], idxs[PER_THREAD];
    int failures;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    reg_db *db = NULL;
    if (reg_open_url(db_url, &db) != ECRED_OK) {
        w->failures = PER_THREAD;
        return NULL;
    }
    reg_set_list_size(db, SMALL_LIST);
    for (int i = 0; i < PER_THREAD; i++)
        if (issue_one(db, w->base + i, &w->lists[i], &w->idxs[i]) != ECRED_OK)
            w->failures++;
    reg_close(db);
    return NULL;
}

/* Collects non-VALID entries of a list. */
typedef struct seen {
    int64_t idx[8];
    int status[8];
    size_t n;
} seen;

static ecred_err collect(void *ctx, int64_t idx, int status)
{
    seen *s = ctx;
    if (s->n == 8)
        return ECRED_ERR_TOO_LARGE;
    s->idx[s->n] = idx;
    s->status[s->n++] = status;
    return ECRED_OK;
}

/* Tokens: only the hash is stored; unknown hashes are refused. */
static void case_tokens(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    uint8_t h1[32] = {1}, h2[32] = {2};
    char role[16];
    CHECK_ERR(reg_token_add(db, h1, "officer", 1), ECRED_OK);
    CHECK_ERR(reg_token_role(db, h1, role), ECRED_OK);
    CHECK(strcmp(role, "officer") == 0);
    CHECK_ERR(reg_token_role(db, h2, role), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_token_add(db, h2, "root", 1), ECRED_ERR_EXISTS); /* CHECK constraint */
    CHECK_ERR(reg_token_add(db, h1, "clerk", 1), ECRED_ERR_EXISTS); /* same hash twice */
    reg_close(db);
}

/* Idempotency keys: one request hash per key, forever. */
static void case_idempotency(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    uint8_t rh[32] = {7}, got[32];
    char app[17];
    CHECK_ERR(reg_idem_get(db, "k1", got, app), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_idem_put(db, "k1", rh, "0123456789abcdef", 1), ECRED_OK);
    CHECK_ERR(reg_idem_get(db, "k1", got, app), ECRED_OK);
    CHECK(memcmp(got, rh, 32) == 0 && strcmp(app, "0123456789abcdef") == 0);
    CHECK_ERR(reg_idem_put(db, "k1", rh, "0123456789abcdef", 1), ECRED_ERR_EXISTS);
    reg_close(db);
}

/* Stored status list tokens only move forward (generation, then iat), and
 * a whole registry copies into an empty one (and not into a used one). */
static void case_list_tokens_and_copy(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    int64_t lid = 0, idx = 0;
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_index_allocate(db, &lid, &idx), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);
    reg_list_token t, got;
    memset(&t, 0, sizeof t);
    memset(&got, 0, sizeof got);
    CHECK_ERR(reg_list_token_get(db, lid, &got), ECRED_ERR_KEY_UNKNOWN);
    t.list_id = lid;
    t.generation = 3;
    t.iat = 1000;
    CHECK_ERR(ecred_buf_set(&t.token, "token-g3", 8), ECRED_OK);
    CHECK_ERR(reg_list_token_put(db, &t), ECRED_OK);
    CHECK_ERR(reg_list_token_put(db, &t), ECRED_ERR_EXISTS);     /* the same again */
    t.generation = 2;
    t.iat = 2000;
    CHECK_ERR(reg_list_token_put(db, &t), ECRED_ERR_EXISTS);     /* an older generation */
    t.generation = 3;
    t.iat = 1001;
    CHECK_ERR(ecred_buf_set(&t.token, "token-g3b", 9), ECRED_OK);
    CHECK_ERR(reg_list_token_put(db, &t), ECRED_OK);              /* same generation, later */
    CHECK_ERR(reg_list_token_get(db, lid, &got), ECRED_OK);
    CHECK(got.generation == 3 && got.iat == 1001 && got.token.len == 9 &&
          memcmp(got.token.ptr, "token-g3b", 9) == 0);
    reg_list_token_free(&got);
    reg_list_token_free(&t);
    uint8_t h[32] = {9};
    CHECK_ERR(reg_token_add(db, h, "clerk", 1), ECRED_OK);
    reg_close(db);

    /* Copy into a fresh SQLite file, then refuse a second copy into it. */
    char to[700];
    reg_case_url("sqlite:", "unit_registry", "copy_target", to, sizeof to);
    reg_copy_stats st;
    memset(&st, 0, sizeof st);
    CHECK_ERR(reg_copy(url, to, &st), ECRED_OK);
    CHECK(st.tokens == 1 && st.lists == 1 && st.list_tokens == 1 && st.credentials == 0);
    CHECK_ERR(reg_copy(url, to, &st), ECRED_ERR_EXISTS);
    reg_db *copy = NULL;
    CHECK_ERR(reg_open_url(to, &copy), ECRED_OK);
    if (copy) {
        char role[16];
        CHECK_ERR(reg_token_role(copy, h, role), ECRED_OK);
        CHECK_ERR(reg_list_token_get(copy, lid, &got), ECRED_OK);
        CHECK(got.generation == 3 && got.iat == 1001 && got.token.len == 9);
        reg_list_token_free(&got);
        reg_close(copy);
    }
}

/* A credential row at (list_id, idx) for choose/claim, inserted in the
 * caller's write transaction. */
static ecred_err insert_at(reg_db *db, int n, int64_t list_id, int64_t idx)
{
    reg_credential c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%016x", (unsigned)n);
    snprintf(c.application_id, sizeof c.application_id, "%016x", (unsigned)n);
    c.type = 1;
    snprintf(c.id_number, sizeof c.id_number, "11010519491231002X");
    c.list_id = list_id;
    c.idx = idx;
    c.qr_text = (char *)"RC1:TEST";
    c.credential_json = (char *)"{}";
    c.valid_until = 20000;
    c.issued_at = 1;
    return reg_credential_insert(db, &c);
}

/* Reminders in pages (reg_reminders_page): more rows due on one day than a
 * page holds are all reached, in (day, id, due) order, none twice; a
 * credential due twice on one day (expiry and endorsement) gives two rows;
 * INVALID ones none; the holder filter gives the holder's only. */
static void case_reminders(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    enum { N = 40, DAY = 20500 };
    int64_t lid = 0, idx = 0;
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_index_allocate(db, &lid, &idx), ECRED_OK);
    for (int k = 0; k < N; k++) {
        reg_credential c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "%016x", (unsigned)(7000 + k));
        snprintf(c.application_id, sizeof c.application_id, "%016x", (unsigned)(7000 + k));
        c.type = 1;
        /* Two holders; every one due for endorsement on DAY, the first
         * three also expiring that day, the rest the day after. */
        snprintf(c.id_number, sizeof c.id_number, k % 4 ? "11010519491231002X" : "310101199001011234");
        c.list_id = lid;
        c.idx = 1000 + k;
        c.qr_text = (char *)"RC1:TEST";
        c.credential_json = (char *)"{}";
        c.valid_until = k < 3 ? DAY : DAY + 1;
        c.endorsement_date = DAY;
        c.issued_at = 1;
        CHECK_ERR(reg_credential_insert(db, &c), ECRED_OK);
    }
    CHECK_ERR(reg_commit(db), ECRED_OK);
    /* One revoked: it is reminded of nothing. */
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_status_change(db, "0000000000001b58", 0, 1, "revoke", NULL, "t", 5), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);

    reg_reminder page[7], after, prev;
    memset(&prev, 0, sizeof prev);
    size_t got = 7, total = 0, out_of_order = 0, pages = 0;
    bool first = true;
    while (got == 7 && pages < 100) {
        got = 0;
        CHECK_ERR(reg_reminders_page(db, DAY, DAY + 1, NULL, first ? NULL : &after, page, 7, &got), ECRED_OK);
        for (size_t i = 0; i < got; i++) {
            int c = page[i].day != prev.day ? (page[i].day > prev.day ? 1 : -1)
                                            : strcmp(page[i].credential_id, prev.credential_id)
                                                  ? strcmp(page[i].credential_id, prev.credential_id)
                                                  : strcmp(page[i].due, prev.due);
            out_of_order += !first && c <= 0;
            CHECK(strcmp(page[i].credential_id, "0000000000001b58") != 0);
            prev = page[i];
            first = false;
            total++;
        }
        if (got)
            after = page[got - 1];
        pages++;
    }
    /* 39 live credentials: 39 endorsements + 39 expiries (2 of the first
     * three on DAY, as the revoked one was the first), all in the window. */
    CHECK(total == 78 && out_of_order == 0);
    CHECK(pages == 12);
    /* The holder filter: k % 4 == 0 and not the revoked k == 0: 9 credentials. */
    size_t own = 0, foreign = 0;
    got = 7;
    first = true;
    for (int p = 0; got == 7 && p < 10; p++) {
        got = 0;
        CHECK_ERR(reg_reminders_page(db, DAY, DAY + 1, "310101199001011234", first ? NULL : &after, page, 7, &got),
                  ECRED_OK);
        for (size_t i = 0; i < got; i++)
            foreign += strcmp(page[i].id_number, "310101199001011234") != 0;
        own += got;
        if (got)
            after = page[got - 1];
        first = false;
    }
    CHECK(own == 18 && foreign == 0);
    CHECK_ERR(reg_reminders_page(db, DAY, DAY + 1, NULL, NULL, page, 0, &got), ECRED_ERR_ARG);
    CHECK_ERR(reg_reminders_page(db, DAY + 1, DAY, NULL, NULL, page, 7, &got), ECRED_ERR_ARG);
    reg_close(db);
}

/* Taking indices outside any transaction (lc_approve's path, issue 10):
 * a list of n hands out exactly the indices 0..n-1, each once, not in
 * order; then the next list opens with another permutation. Reserved
 * positions are never handed out again: not after the connection forgets
 * its block, not to another connection, not after a reopen (a crash). */
static void case_take(const char *url)
{
    reg_db *db = NULL, *other = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &other), ECRED_OK);
    if (!db || !other) {
        reg_close(db);
        reg_close(other);
        return;
    }
    enum { BIG = 3 * REG_INDEX_BLOCK + 5 };
    reg_set_list_size(db, BIG);
    reg_set_list_size(other, BIG);
    char uri[REG_URI_MAX + 1];
    bool taken[BIG];
    memset(taken, 0, sizeof taken);
    int64_t lid = 0, idx = 0, prev = -1;
    int ascending = 0, n = 0, dup = 0, out_of_range = 0;
    /* Alternate connections, one forgetting its block now and then: the
     * positions in a forgotten block are lost, so fewer than BIG issue. */
    bool lost = false;
    for (int k = 0; k < 4 * BIG; k++) {
        reg_db *c = k % 3 == 0 ? other : db;
        if (k == 40) {
            reg_index_forget(db);
            lost = true;
        }
        CHECK_ERR(reg_index_take(c, &lid, &idx, uri), ECRED_OK);
        if (lid != 1)
            break;
        if (idx < 0 || idx >= BIG) {
            out_of_range++;
            continue;
        }
        dup += taken[idx];
        taken[idx] = true;
        ascending += idx > prev;
        prev = idx;
        n++;
        CHECK_ERR(reg_begin_write(c), ECRED_OK);
        CHECK_ERR(insert_at(c, 1000 + k, lid, idx), ECRED_OK);
        CHECK_ERR(reg_commit(c), ECRED_OK);
    }
    CHECK(dup == 0 && out_of_range == 0);
    CHECK(lid == 2);                    /* list 1 ran out, list 2 opened */
    CHECK(lost && n < BIG && n >= BIG - 2 * REG_INDEX_BLOCK);
    CHECK(ascending < n - 5);           /* not handed out in index order */
    reg_list_info info;
    CHECK_ERR(reg_list_info_get(db, 1, &info), ECRED_OK);
    CHECK(info.size == BIG && info.used == (uint32_t)n);
    /* A reopen (a crash: the block in memory is gone) continues after the
     * reserved positions: list 2's indices so far never come again. */
    bool taken2[BIG];
    memset(taken2, 0, sizeof taken2);
    taken2[idx] = true;
    for (int k = 0; k < 5; k++) {
        int64_t l2 = 0, i2 = 0;
        CHECK_ERR(reg_index_take(db, &l2, &i2, uri), ECRED_OK);
        CHECK(l2 == 2 && i2 >= 0 && i2 < BIG && !taken2[i2]);
        if (l2 == 2 && i2 >= 0 && i2 < BIG)
            taken2[i2] = true;
    }
    reg_close(db);
    reg_close(other);
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    reg_set_list_size(db, BIG);
    for (int k = 0; k < 2 * REG_INDEX_BLOCK; k++) {
        int64_t l2 = 0, i2 = 0;
        CHECK_ERR(reg_index_take(db, &l2, &i2, uri), ECRED_OK);
        CHECK(l2 == 2 && i2 >= 0 && i2 < BIG && !taken2[i2]);
        if (l2 == 2 && i2 >= 0 && i2 < BIG)
            taken2[i2] = true;
    }
    reg_close(db);
}

/* Allocation under concurrent writers on separate connections, list
 * roll-over, the registry refusing a reused index, status changes with
 * their audit rows and generation, and all of it still there after a
 * reopen. One case: each step builds on the rows of the one before. */
static void case_allocation_and_status(const char *url)
{
    db_url = url;
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    /* Concurrent issuance on separate connections: every index unique, lists
     * roll over exactly when full. */
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].base = t * 1000;
        pthread_create(&th[t], NULL, worker_run, &w[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int total = 0, dup = 0, range = 0;
    for (int t = 0; t < THREADS; t++) {
        CHECK(w[t].failures == 0);
        for (int i = 0; i < PER_THREAD; i++) {
            total++;
            if (w[t].idxs[i] < 0 || w[t].idxs[i] >= SMALL_LIST)
                range++;
            for (int u = 0; u < THREADS; u++)
                for (int j = 0; j < PER_THREAD; j++)
                    if ((u != t || j != i) && w[u].lists[j] == w[t].lists[i] &&
                        w[u].idxs[j] == w[t].idxs[i])
                        dup++;
        }
    }
    CHECK(total == THREADS * PER_THREAD);
    CHECK(dup == 0);
    CHECK(range == 0);
    /* 48 credentials in lists of 16: lists 1..3 full, nothing in a 4th. */
    reg_list_info info;
    for (int64_t l = 1; l <= 3; l++) {
        CHECK_ERR(reg_list_info_get(db, l, &info), ECRED_OK);
        CHECK(info.size == SMALL_LIST && info.used == SMALL_LIST);
    }
    CHECK_ERR(reg_list_info_get(db, 4, &info), ECRED_ERR_KEY_UNKNOWN);

    /* A new allocation after that opens list 4. */
    reg_set_list_size(db, SMALL_LIST);
    int64_t lid, idx;
    CHECK_ERR(issue_one(db, 5000, &lid, &idx), ECRED_OK);
    CHECK(lid == 4);

    /* Reusing an index is refused by the registry itself. */
    reg_credential c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "ffffffffffffffff");
    snprintf(c.application_id, sizeof c.application_id, "ffffffffffffffff");
    c.list_id = lid;
    c.idx = idx;
    c.qr_text = (char *)"RC1:X";
    c.credential_json = (char *)"{}";
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_credential_insert(db, &c), ECRED_ERR_EXISTS);
    reg_rollback(db);

    /* Status changes: audited, guarded by the old status, bump the generation. */
    char cid[17];
    snprintf(cid, sizeof cid, "%016x", 5000u);
    CHECK_ERR(reg_list_info_get(db, 4, &info), ECRED_OK);
    int64_t gen0 = info.generation;
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_status_change(db, cid, ECRED_STATUS_VALID, ECRED_STATUS_SUSPENDED, "suspend",
                                "lost", "token:abcd", 10), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_status_change(db, cid, ECRED_STATUS_VALID, ECRED_STATUS_INVALID, "revoke", NULL,
                                "token:abcd", 11), ECRED_ERR_INTERNAL); /* stale old status */
    reg_rollback(db);
    CHECK_ERR(reg_list_info_get(db, 4, &info), ECRED_OK);
    CHECK(info.generation == gen0 + 1);
    seen s;
    memset(&s, 0, sizeof s);
    CHECK_ERR(reg_list_entries(db, 4, collect, &s), ECRED_OK);
    CHECK(s.n == 1 && s.idx[0] == idx && s.status[0] == ECRED_STATUS_SUSPENDED);
    reg_status_event *ev = NULL;
    size_t nev = 0;
    CHECK_ERR(reg_status_events(db, cid, &ev, &nev), ECRED_OK);
    CHECK(nev == 1);
    if (nev == 1) {
        CHECK(strcmp(ev[0].action, "suspend") == 0 && strcmp(ev[0].actor, "token:abcd") == 0);
        CHECK(ev[0].reason && strcmp(ev[0].reason, "lost") == 0 && ev[0].at == 10);
    }
    reg_status_events_free(ev, nev);

    reg_close(db);

    /* Durability across a reopen: rows and list state are still there. */
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (db) {
        CHECK_ERR(reg_credential_get(db, cid, &c), ECRED_OK);
        CHECK(c.status == ECRED_STATUS_SUSPENDED && c.idx == idx);
        reg_credential_free(&c);
        reg_close(db);
    }
}

/* Counts audit entries whose action is ctx's first string. */
typedef struct audit_count {
    const char *action;
    const char *subject;
    size_t n;
} audit_count;

static ecred_err count_audit(void *ctx, const reg_audit_entry *e)
{
    audit_count *c = ctx;
    if (strcmp(e->action, c->action) == 0 && strcmp(e->subject, c->subject) == 0)
        c->n++;
    return ECRED_OK;
}

static ecred_err count_token(void *ctx, const reg_token_info *t)
{
    size_t *n = ctx;
    if (strcmp(t->label, "desk 3") == 0 && t->expires_at == 4102444800)
        (*n) += 100;
    (*n)++;
    return ECRED_OK;
}

static ecred_err collect_app(void *ctx, const reg_application *a)
{
    char *ids = ctx;
    strncat(ids, a->id, 17);
    strncat(ids, " ", 2);
    return ECRED_OK;
}

/* Issue 17: schema versions, token labels/expiry/removal, the URI a list is
 * opened with, the work queue's order and paging. */
static void case_operations(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    /* Each backend numbers its own migrations; a fresh registry has them all. */
    int64_t version = 0;
    CHECK_ERR(reg_schema_version(db, &version), ECRED_OK);
    CHECK(version >= 2);

    uint8_t h1[32] = {7}, h2[32] = {8}, h3[32] = {9};
    char role[16];
    CHECK_ERR(reg_token_add_labeled(db, h1, "officer", "desk 3", 4102444800, 1), ECRED_OK);
    CHECK_ERR(reg_token_add_labeled(db, h2, "clerk", "", 1000, 1), ECRED_OK); /* long expired */
    CHECK_ERR(reg_token_add(db, h3, "admin", 2), ECRED_OK);
    CHECK_ERR(reg_token_role(db, h1, role), ECRED_OK);
    CHECK_ERR(reg_token_role(db, h2, role), ECRED_ERR_KEY_UNKNOWN);
    size_t n = 0;
    CHECK_ERR(reg_tokens_list(db, count_token, &n), ECRED_OK);
    CHECK(n == 103);
    CHECK_ERR(reg_token_remove(db, "07000000", 100), ECRED_OK);
    CHECK_ERR(reg_token_role(db, h1, role), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_token_remove(db, "07000000", 100), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_token_remove(db, "zz", 100), ECRED_ERR_KEY_UNKNOWN);
    /* Adding and removing a token are both in the audit log, under the same
     * subject (the token's id). */
    audit_count added = {"token-add", "07000000", 0}, removed = {"token-remove", "07000000", 0};
    CHECK_ERR(reg_audit_scan(db, count_audit, &added), ECRED_OK);
    CHECK_ERR(reg_audit_scan(db, count_audit, &removed), ECRED_OK);
    CHECK(added.n == 1 && removed.n == 1);

    /* A list records the prefix it was opened under; a later prefix does not
     * rewrite it. */
    reg_set_list_size(db, 16);
    reg_set_status_prefix(db, "https://a.example/status/");
    int64_t lid = 0, idx = 0;
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_index_allocate(db, &lid, &idx), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);
    reg_set_status_prefix(db, "https://b.example/status/");
    reg_list_info info;
    CHECK_ERR(reg_list_info_get(db, lid, &info), ECRED_OK);
    CHECK(strcmp(info.uri, "https://a.example/status/1") == 0 && !info.closed);
    int64_t max = 0;
    CHECK_ERR(reg_list_max_id(db, &max), ECRED_OK);
    CHECK(max == lid);

    /* Work queue: oldest first, ties by id, paged strictly after the cursor. */
    static const struct { const char *id; int64_t at; const char *state; } apps[] = {
        {"00000000000000c3", 30, "submitted"}, {"00000000000000a1", 10, "submitted"},
        {"00000000000000b2", 20, "rejected"},  {"00000000000000a2", 10, "submitted"},
    };
    for (size_t i = 0; i < sizeof apps / sizeof apps[0]; i++) {
        reg_application a;
        memset(&a, 0, sizeof a);
        snprintf(a.id, sizeof a.id, "%s", apps[i].id);
        snprintf(a.kind, sizeof a.kind, "permit_new");
        snprintf(a.state, sizeof a.state, "%s", apps[i].state);
        snprintf(a.id_number, sizeof a.id_number, "110101199003070012");
        a.credential_json = (char *)"{}";
        a.submitted_at = apps[i].at;
        snprintf(a.submitted_by, sizeof a.submitted_by, "token:00000000");
        CHECK_ERR(reg_application_insert(db, &a), ECRED_OK);
    }
    char ids[200] = "";
    CHECK_ERR(reg_applications_by_state(db, "submitted", 0, "", 2, collect_app, ids), ECRED_OK);
    CHECK(strcmp(ids, "00000000000000a1 00000000000000a2 ") == 0);
    ids[0] = 0;
    CHECK_ERR(reg_applications_by_state(db, "submitted", 10, "00000000000000a2", 2, collect_app, ids), ECRED_OK);
    CHECK(strcmp(ids, "00000000000000c3 ") == 0);
    reg_close(db);
}

int main(void)
{
    static const reg_case cases[] = {
        {"tokens", case_tokens},
        {"idempotency", case_idempotency},
        {"take", case_take},
        {"reminders", case_reminders},
        {"allocation_and_status", case_allocation_and_status},
        {"operations", case_operations},
        {"list_tokens_and_copy", case_list_tokens_and_copy},
    };
    reg_run_cases("unit_registry", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
