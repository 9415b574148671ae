/*
 * unit_registry.c - the issuer registry: schema, tokens, status index
 * allocation (random, never reused, list roll-over, correct under concurrent
 * writers on separate connections), status changes with their audit rows and
 * the list generation the status publisher keys its cache on.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ecred/slist.h"
#include "registry.h"

#define SMALL_LIST 16
#define THREADS 4
#define PER_THREAD 12

static char db_path[512];

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
    if (reg_open_url(db_path, &db) != ECRED_OK) {
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

int main(void)
{
    snprintf(db_path, sizeof db_path, "%s/unit_registry.sqlite", ECRED_TEST_TMP);
    unlink(db_path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", db_path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db_path);
    unlink(side);

    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(db_path, &db), ECRED_OK);
    if (!db)
        return check_finish();

    /* Tokens: only the hash is stored; unknown hashes are refused. */
    uint8_t h1[32] = {1}, h2[32] = {2};
    char role[16];
    CHECK_ERR(reg_token_add(db, h1, "officer", 1), ECRED_OK);
    CHECK_ERR(reg_token_role(db, h1, role), ECRED_OK);
    CHECK(strcmp(role, "officer") == 0);
    CHECK_ERR(reg_token_role(db, h2, role), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_token_add(db, h2, "root", 1), ECRED_ERR_EXISTS); /* CHECK constraint */
    CHECK_ERR(reg_token_add(db, h1, "clerk", 1), ECRED_ERR_EXISTS); /* same hash twice */

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

    /* Idempotency keys. */
    uint8_t rh[32] = {7}, got[32];
    char app[17];
    CHECK_ERR(reg_idem_get(db, "k1", got, app), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_idem_put(db, "k1", rh, "0123456789abcdef", 1), ECRED_OK);
    CHECK_ERR(reg_idem_get(db, "k1", got, app), ECRED_OK);
    CHECK(memcmp(got, rh, 32) == 0 && strcmp(app, "0123456789abcdef") == 0);
    CHECK_ERR(reg_idem_put(db, "k1", rh, "0123456789abcdef", 1), ECRED_ERR_EXISTS);

    reg_close(db);

    /* Durability across a reopen: rows and list state are still there. */
    CHECK_ERR(reg_open_url(db_path, &db), ECRED_OK);
    if (db) {
        CHECK_ERR(reg_credential_get(db, cid, &c), ECRED_OK);
        CHECK(c.status == ECRED_STATUS_SUSPENDED && c.idx == idx);
        reg_credential_free(&c);
        reg_close(db);
    }
    return check_finish();
}
