/*
 * unit_approve_concurrency.c - lc_approve signs outside the registry's write
 * lock: with a slow signer (a test hook sleeping SLOW_SIGN_MS before each
 * signature, as an HSM might) 16 concurrent approvals overlap their signing
 * and finish in about one signing time, not sixteen. Every credential that
 * comes back is the committed row (unique id, unique status index), a
 * second approval returns the same credential, and two approvals of one
 * application racing through the slow signer both get the one credential
 * that committed (the loser's signed bytes are discarded). A status change
 * (suspend, resume, revoke) hands back the row its own write committed.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lifecycle.h"
#include "ecred/slist.h"
#include "reg_backends.h"

#define APPROVALS 16
#define SLOW_SIGN_MS 150

static atomic_int signing, max_signing, signatures;

/* The slow signer: counts how many signings overlap. */
static void slow_sign(void)
{
    int now = atomic_fetch_add(&signing, 1) + 1;
    int seen = atomic_load(&max_signing);
    while (now > seen && !atomic_compare_exchange_weak(&max_signing, &seen, now))
        ;
    atomic_fetch_add(&signatures, 1);
    usleep(SLOW_SIGN_MS * 1000);
    atomic_fetch_sub(&signing, 1);
}

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct approver {
    issuerd *d;
    pthread_barrier_t *start;
    char app_id[REG_ID_LEN + 1];
    ecred_err result;
    bool replayed;
    lc_fail fail;
    reg_credential cred;
} approver;

static void *approve_run(void *arg)
{
    approver *a = arg;
    reg_db *db = reg_pool_get(a->d->pool);
    pthread_barrier_wait(a->start);
    a->result = lc_approve(a->d, db, a->app_id, "token:test", (int64_t)time(NULL), &a->cred,
                           &a->replayed, &a->fail);
    reg_pool_put(a->d->pool, db);
    return NULL;
}

/* One permit_new application from the API example, its id into app_id. */
static ecred_err make_application(issuerd *d, json_t *body, char app_id[REG_ID_LEN + 1])
{
    lc_application_in in;
    memset(&in, 0, sizeof in);
    in.kind = "permit_new";
    in.credential = json_object_get(body, "credential");
    in.actor = "token:test";
    bool replayed = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    reg_db *db = reg_pool_get(d->pool);
    ecred_err e = lc_application_create(d, db, &in, (int64_t)time(NULL), app_id, &replayed, &fail);
    if (e)
        fprintf(stderr, "create: %s (%d: %s)\n", ecred_err_name(e), (int)fail.code, fail.detail);
    reg_pool_put(d->pool, db);
    return e;
}

/* Run n approvers (ids already set) at once; wall seconds out. */
static double approve_all(approver *a, size_t n)
{
    pthread_t th[APPROVALS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    double t0 = seconds();
    for (size_t i = 0; i < n; i++) {
        a[i].start = &start;
        pthread_create(&th[i], NULL, approve_run, &a[i]);
    }
    for (size_t i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    double t = seconds() - t0;
    pthread_barrier_destroy(&start);
    return t;
}

static void case_slow_signer(const char *url)
{
    issuerd d;
    memset(&d, 0, sizeof d);
    snprintf(d.iss, sizeof d.iss, "test-issuer");
    ecred_buf body_bytes = check_read_source_file("spec/examples/api/permit_new.json");
    json_t *body = json_loadb((const char *)body_bytes.ptr, body_bytes.len, 0, NULL);
    CHECK(body != NULL);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &d.sign_key), ECRED_OK);
    CHECK_ERR(statuspub_new(d.sign_key, "http://127.0.0.1:1", 300, 86400, &d.pub), ECRED_OK);
    CHECK_ERR(reg_pool_open_url(url, APPROVALS, &d.pool), ECRED_OK);
    if (!body || !d.sign_key || !d.pub || !d.pool)
        goto out;

    static approver a[APPROVALS];
    memset(a, 0, sizeof a);
    for (size_t i = 0; i < APPROVALS; i++) {
        a[i].d = &d;
        CHECK_ERR(make_application(&d, body, a[i].app_id), ECRED_OK);
    }

    /* 16 approvals through the slow signer at once. */
    d.test_before_sign = slow_sign;
    atomic_store(&max_signing, 0);
    double t = approve_all(a, APPROVALS);
    int ok = 0, dup = 0;
    for (size_t i = 0; i < APPROVALS; i++) {
        if (a[i].result == ECRED_OK && !a[i].replayed && a[i].cred.qr_text)
            ok++;
        else
            fprintf(stderr, "approval %zu: %s (%d: %s)\n", i, ecred_err_name(a[i].result),
                    (int)a[i].fail.code, a[i].fail.detail);
        for (size_t j = 0; j < i; j++)
            if (strcmp(a[i].cred.id, a[j].cred.id) == 0 ||
                (a[i].cred.list_id == a[j].cred.list_id && a[i].cred.idx == a[j].cred.idx))
                dup++;
    }
    CHECK(ok == APPROVALS);
    CHECK(dup == 0);
    printf("%d approvals with a %d ms signer: %.3f s wall (serialised: >= %.3f s), "
           "at most %d signing at once, %d signatures\n",
           APPROVALS, SLOW_SIGN_MS, t, APPROVALS * SLOW_SIGN_MS / 1000.0, atomic_load(&max_signing),
           atomic_load(&signatures));
    /* Signing overlapped: most approvals were signing at the same time, and
     * the whole lot took a few signing times (generous for a loaded machine
     * and sanitizers), far from the sixteen a signer inside the lock costs. */
    CHECK(atomic_load(&max_signing) >= APPROVALS / 2);
    CHECK(t < (APPROVALS / 4) * SLOW_SIGN_MS / 1000.0);

    /* What came back is what committed. */
    reg_db *db = reg_pool_get(d.pool);
    for (size_t i = 0; i < APPROVALS; i++) {
        reg_credential c;
        if (a[i].result != ECRED_OK)
            continue;
        CHECK_ERR(reg_credential_get(db, a[i].cred.id, &c), ECRED_OK);
        CHECK(c.qr_text && a[i].cred.qr_text && strcmp(c.qr_text, a[i].cred.qr_text) == 0);
        reg_credential_free(&c);
    }
    reg_pool_put(d.pool, db);

    /* Approving again: the same credential, no new signature. */
    approver again[1];
    memset(again, 0, sizeof again);
    again[0].d = &d;
    memcpy(again[0].app_id, a[0].app_id, sizeof again[0].app_id);
    int sig0 = atomic_load(&signatures);
    approve_all(again, 1);
    CHECK_ERR(again[0].result, ECRED_OK);
    CHECK(again[0].replayed && strcmp(again[0].cred.id, a[0].cred.id) == 0);
    CHECK(atomic_load(&signatures) == sig0);
    reg_credential_free(&again[0].cred);

    /* Two approvals of one application racing through the signer: both sign,
     * one commits, the other finds it issued and returns that credential. */
    approver race[2];
    memset(race, 0, sizeof race);
    char id[REG_ID_LEN + 1];
    CHECK_ERR(make_application(&d, body, id), ECRED_OK);
    for (int i = 0; i < 2; i++) {
        race[i].d = &d;
        memcpy(race[i].app_id, id, sizeof id);
    }
    approve_all(race, 2);
    CHECK_ERR(race[0].result, ECRED_OK);
    CHECK_ERR(race[1].result, ECRED_OK);
    CHECK(race[0].replayed != race[1].replayed);
    CHECK(strcmp(race[0].cred.id, race[1].cred.id) == 0);
    CHECK(race[0].cred.qr_text && race[1].cred.qr_text &&
          strcmp(race[0].cred.qr_text, race[1].cred.qr_text) == 0);
    for (int i = 0; i < 2; i++)
        reg_credential_free(&race[i].cred);

    /* A status change hands back the row its committed write left, so the
     * reply needs no second read (one failing after the commit would report
     * an error for a change that was made). */
    db = reg_pool_get(d.pool);
    static const struct {
        const char *action;
        int to;
    } steps[] = {{"suspend", ECRED_STATUS_SUSPENDED}, {"resume", ECRED_STATUS_VALID}, {"revoke", ECRED_STATUS_INVALID}};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        reg_credential row, now;
        lc_fail fail;
        memset(&fail, 0, sizeof fail);
        int to = -1;
        CHECK_ERR(lc_status_action(db, a[1].cred.id, steps[i].action, "test", "token:test", (int64_t)time(NULL),
                                   &to, &row, &fail),
                  ECRED_OK);
        CHECK(to == steps[i].to && row.status == steps[i].to);
        CHECK_ERR(reg_credential_get(db, a[1].cred.id, &now), ECRED_OK);
        CHECK(now.status == row.status && strcmp(now.id, row.id) == 0 && now.list_id == row.list_id &&
              now.idx == row.idx && now.qr_text && row.qr_text && strcmp(now.qr_text, row.qr_text) == 0 &&
              strcmp(now.credential_json, row.credential_json) == 0);
        reg_credential_free(&now);
        reg_credential_free(&row);
    }
    /* A refused transition hands back nothing (out untouched). */
    reg_credential untouched;
    memset(&untouched, 0, sizeof untouched);
    untouched.status = 12345;
    lc_fail refused;
    memset(&refused, 0, sizeof refused);
    int to_refused = -1;
    CHECK_ERR(lc_status_action(db, a[1].cred.id, "resume", NULL, "token:test", (int64_t)time(NULL), &to_refused,
                               &untouched, &refused),
              ECRED_ERR_INPUT);
    CHECK(refused.code == LC_INVALID_TRANSITION && to_refused == -1);
    CHECK(untouched.status == 12345 && untouched.qr_text == NULL);
    reg_pool_put(d.pool, db);

    for (size_t i = 0; i < APPROVALS; i++)
        reg_credential_free(&a[i].cred);
out:
    reg_pool_close(d.pool);
    statuspub_free(d.pub);
    ecred_key_free(d.sign_key);
    json_decref(body);
    ecred_buf_free(&body_bytes);
}

int main(void)
{
    static const reg_case cases[] = {
        {"slow_signer", case_slow_signer},
    };
    reg_run_cases("unit_approve_concurrency", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
