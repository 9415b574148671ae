/*
 * unit_groupcommit.c - reg_write, the registry's group commit: on a lone
 * connection one transaction per write; on a pool concurrent writes share
 * one COMMIT, each in its own savepoint (a failed write rolls back only its
 * own rows and reports its own error, later writes in the batch see earlier
 * ones), and every write that reported success is in the database. Each
 * case runs once per backend of ECRED_TEST_REGISTRIES (reg_backends.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "reg_backends.h"
#include "registry.h"

#define THREADS 4
#define PER_THREAD 25


/* A token hash that names (thread, item) so the test can look each write up. */
static void token_hash(int thread, int item, uint8_t h[32])
{
    memset(h, 0, 32);
    h[0] = (uint8_t)thread;
    h[1] = (uint8_t)item;
    h[2] = 0x5a;
}

/* One write: add a token, then fail on purpose when asked to (the token must
 * then be rolled back with the write's savepoint). */
typedef struct token_write {
    uint8_t hash[32];
    bool fail_after;
    unsigned sleep_us;         /* held inside the transaction: makes others queue */
} token_write;

static ecred_err token_write_fn(reg_db *db, void *ctx)
{
    token_write *w = ctx;
    ecred_err e = reg_token_add(db, w->hash, "clerk", 1);
    if (w->sleep_us)
        usleep(w->sleep_us);
    if (!e && w->fail_after)
        e = ECRED_ERR_INPUT;
    return e;
}

typedef struct worker {
    reg_pool *pool;
    int id;
    ecred_err results[PER_THREAD];
    bool fn_failed[PER_THREAD];
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    reg_db *db = reg_pool_get(w->pool);
    for (int i = 0; i < PER_THREAD; i++) {
        token_write tw;
        token_hash(w->id, i, tw.hash);
        tw.fail_after = i % 5 == 3;
        tw.sleep_us = 500;
        w->results[i] = reg_write(db, token_write_fn, &tw, &w->fn_failed[i]);
    }
    reg_pool_put(w->pool, db);
    return NULL;
}

/* ---- the same-batch case: a slow leader, two writes queued behind it ---- */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static int queued;             /* writers about to call reg_write */

/* The leader's write: waits (bounded) until both others are about to queue,
 * then a little longer so they are in the queue when its batch ends. */
static ecred_err slow_leader_fn(reg_db *db, void *ctx)
{
    (void)db;
    (void)ctx;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&gate_mu);
        int n = queued;
        pthread_mutex_unlock(&gate_mu);
        if (n == 2)
            break;
        usleep(10000);
    }
    usleep(200000);
    return ECRED_OK;
}

typedef struct racer {
    reg_pool *pool;
    bool leader;
    ecred_err result;
    bool fn_failed;
} racer;

static void *racer_run(void *arg)
{
    racer *r = arg;
    reg_db *db = reg_pool_get(r->pool);
    token_write tw;
    memset(&tw, 0, sizeof tw);
    token_hash(99, 0, tw.hash); /* both racers add the same token */
    if (r->leader) {
        r->result = reg_write(db, slow_leader_fn, NULL, &r->fn_failed);
    } else {
        pthread_mutex_lock(&gate_mu);
        queued++;
        pthread_mutex_unlock(&gate_mu);
        r->result = reg_write(db, token_write_fn, &tw, &r->fn_failed);
    }
    reg_pool_put(r->pool, db);
    return NULL;
}

/* A lone connection: its own transaction per write. */
static void case_lone(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    char role[16];
    bool fn_failed = true;
    token_write tw;
    memset(&tw, 0, sizeof tw);
    token_hash(200, 1, tw.hash);
    CHECK_ERR(reg_write(db, token_write_fn, &tw, &fn_failed), ECRED_OK);
    CHECK(!fn_failed);
    CHECK_ERR(reg_token_role(db, tw.hash, role), ECRED_OK);
    /* The same token again: the constraint is fn's failure, nothing commits. */
    CHECK_ERR(reg_write(db, token_write_fn, &tw, &fn_failed), ECRED_ERR_EXISTS);
    CHECK(fn_failed);
    token_hash(200, 2, tw.hash);
    tw.fail_after = true;
    CHECK_ERR(reg_write(db, token_write_fn, &tw, &fn_failed), ECRED_ERR_INPUT);
    CHECK(fn_failed);
    CHECK_ERR(reg_token_role(db, tw.hash, role), ECRED_ERR_KEY_UNKNOWN); /* rolled back */
    /* The connection is free again: a plain transaction works. */
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    reg_rollback(db);
    reg_close(db);
}

/* A pool: concurrent writes, some failing, share commits; writes queued in
 * one batch see each other. */
static void case_pool(const char *url)
{
    reg_db *db = NULL;
    char role[16];
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    reg_pool *pool = NULL;
    CHECK_ERR(reg_pool_open_url(url, THREADS, &pool), ECRED_OK);
    if (!pool || !db) {
        reg_pool_close(pool);
        reg_close(db);
        return;
    }
    worker w[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&w[t], 0, sizeof w[t]);
        w[t].pool = pool;
        w[t].id = t + 1;
        pthread_create(&th[t], NULL, worker_run, &w[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    int wrong = 0;
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            uint8_t h[32];
            token_hash(t + 1, i, h);
            ecred_err stored = reg_token_role(db, h, role);
            if (i % 5 == 3) {
                /* Its own error, its own rows rolled back, its batch unharmed. */
                if (w[t].results[i] != ECRED_ERR_INPUT || !w[t].fn_failed[i] ||
                    stored != ECRED_ERR_KEY_UNKNOWN)
                    wrong++;
            } else if (w[t].results[i] != ECRED_OK || w[t].fn_failed[i] || stored != ECRED_OK) {
                wrong++;
            }
        }
    }
    CHECK(wrong == 0);
    uint64_t items = 0, commits = 0;
    reg_pool_write_stats(pool, &items, &commits);
    CHECK(items == THREADS * PER_THREAD);
    /* Writes held 0.5 ms in the transaction by 4 threads: batches formed. */
    CHECK(commits >= 1 && commits < items);
    printf("pool: %llu writes in %llu commits\n", (unsigned long long)items,
           (unsigned long long)commits);

    /* Two writes of the same token queued behind a slow leader run in one
     * batch: the second sees the first's uncommitted row (EXISTS, its own
     * failure), the first commits. One commit for the leader, one for both. */
    uint64_t items0 = items, commits0 = commits;
    racer rc[3];
    pthread_t rt[3];
    for (int i = 0; i < 3; i++) {
        memset(&rc[i], 0, sizeof rc[i]);
        rc[i].pool = pool;
        rc[i].leader = i == 0;
        pthread_create(&rt[i], NULL, racer_run, &rc[i]);
        if (i == 0)
            usleep(50000); /* the leader takes the writer first */
    }
    for (int i = 0; i < 3; i++)
        pthread_join(rt[i], NULL);
    CHECK_ERR(rc[0].result, ECRED_OK);
    bool one_won = (rc[1].result == ECRED_OK && rc[2].result == ECRED_ERR_EXISTS && rc[2].fn_failed) ||
                   (rc[2].result == ECRED_OK && rc[1].result == ECRED_ERR_EXISTS && rc[1].fn_failed);
    CHECK(one_won);
    uint8_t h99[32];
    token_hash(99, 0, h99);
    CHECK_ERR(reg_token_role(db, h99, role), ECRED_OK);
    reg_pool_write_stats(pool, &items, &commits);
    CHECK(items - items0 == 3);
    CHECK(commits - commits0 == 2);

    reg_pool_close(pool);
    reg_close(db);
}

int main(void)
{
    static const reg_case cases[] = {
        {"lone", case_lone},
        {"pool", case_pool},
    };
    reg_run_cases("unit_groupcommit", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
