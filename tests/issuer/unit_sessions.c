/*
 * unit_sessions.c - resident login states, sessions and the reminder outbox
 * in the registry, once per backend of ECRED_TEST_REGISTRIES
 * (reg_backends.h): one-use login states (also with two connections racing
 * for each state), session rows and their expiry and pruning, resident.c's
 * cookie/CSRF handling across two connections (two instances), and outbox
 * claims with leases (a lease holder's rows are nobody else's until the
 * lease ends; two connections draining one outbox never claim a row twice).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/crypto.h"
#include "reg_backends.h"
#include "registry.h"
#include "resident.h"

#define RACES 40
#define OUTBOX_ROWS 60

static void hash_of(const char *s, uint8_t h[32])
{
    ecred_sha256((const uint8_t *)s, strlen(s), h);
}

/* One-use states: taken once, never after expiry, bounded. */
static void case_logins(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    uint8_t s1[32], s2[32], s3[32];
    hash_of("state-1", s1);
    hash_of("state-2", s2);
    hash_of("state-3", s3);
    char n[REG_LOGIN_SECRET_MAX + 1] = "", v[REG_LOGIN_SECRET_MAX + 1] = "";
    CHECK_ERR(reg_login_put(db, s1, "nonce-1", "verifier-1", 1000, 1600, 2), ECRED_OK);
    CHECK_ERR(reg_login_put(db, s1, "nonce-x", "verifier-x", 1000, 1600, 8), ECRED_ERR_EXISTS);
    CHECK_ERR(reg_login_put(db, s2, "nonce-2", "verifier-2", 1000, 1100, 2), ECRED_OK);
    /* Two pending: a third is refused until one expires. */
    CHECK_ERR(reg_login_put(db, s3, "nonce-3", "verifier-3", 1050, 1650, 2), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(reg_login_put(db, s3, "nonce-3", "verifier-3", 1100, 1700, 2), ECRED_OK);
    CHECK_ERR(reg_login_take(db, s1, 1200, n, v), ECRED_OK);
    CHECK(strcmp(n, "nonce-1") == 0 && strcmp(v, "verifier-1") == 0);
    CHECK_ERR(reg_login_take(db, s1, 1200, n, v), ECRED_ERR_KEY_UNKNOWN); /* one use */
    CHECK_ERR(reg_login_take(db, s2, 1200, n, v), ECRED_ERR_KEY_UNKNOWN); /* expired at 1100 */
    CHECK_ERR(reg_login_take(db, s2, 1000, n, v), ECRED_ERR_KEY_UNKNOWN); /* and gone with it */
    uint64_t removed = 0;
    CHECK_ERR(reg_resident_prune(db, 1700, RES_SESSION_IDLE_S, &removed), ECRED_OK);
    CHECK(removed == 1); /* state-3 expired at 1700 */
    CHECK_ERR(reg_login_take(db, s3, 1000, n, v), ECRED_ERR_KEY_UNKNOWN);
    reg_close(db);
}

typedef struct taker {
    const char *url;
    reg_db *db;
    pthread_barrier_t *go;
    uint8_t state[RACES][32];
    int won[RACES];
    int errors;
} taker;

typedef struct take_ctx {
    const uint8_t *state;
    int64_t now;
    char nonce[REG_LOGIN_SECRET_MAX + 1], verifier[REG_LOGIN_SECRET_MAX + 1];
} take_ctx;

static ecred_err take_fn(reg_db *db, void *ctx)
{
    take_ctx *t = ctx;
    return reg_login_take(db, t->state, t->now, t->nonce, t->verifier);
}

static void *taker_run(void *arg)
{
    taker *t = arg;
    for (int i = 0; i < RACES; i++) {
        pthread_barrier_wait(t->go);
        take_ctx c = {t->state[i], 1000, "", ""};
        bool failed;
        ecred_err e = reg_write(t->db, take_fn, &c, &failed);
        if (e == ECRED_OK && strcmp(c.nonce, "n") == 0)
            t->won[i] = 1;
        else if (e != ECRED_ERR_KEY_UNKNOWN)
            t->errors++;
    }
    return NULL;
}

/* Two connections (two instances) take the same state at the same moment,
 * RACES times: exactly one wins each time. */
static void case_login_race(const char *url)
{
    reg_db *db = NULL, *a = NULL, *b = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &a), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &b), ECRED_OK);
    if (!db || !a || !b)
        goto out;
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    static taker ta, tb;
    memset(&ta, 0, sizeof ta);
    memset(&tb, 0, sizeof tb);
    ta.db = a;
    tb.db = b;
    ta.go = tb.go = &go;
    for (int i = 0; i < RACES; i++) {
        char s[32];
        snprintf(s, sizeof s, "race-%d", i);
        hash_of(s, ta.state[i]);
        memcpy(tb.state[i], ta.state[i], 32);
        CHECK_ERR(reg_login_put(db, ta.state[i], "n", "v", 900, 1600, 1000), ECRED_OK);
    }
    pthread_t x, y;
    pthread_create(&x, NULL, taker_run, &ta);
    pthread_create(&y, NULL, taker_run, &tb);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    pthread_barrier_destroy(&go);
    int once = 0, wa = 0;
    for (int i = 0; i < RACES; i++) {
        once += ta.won[i] + tb.won[i] == 1;
        wa += ta.won[i];
    }
    CHECK(once == RACES);
    CHECK(ta.errors == 0 && tb.errors == 0);
    printf("  login race: %d states, each taken once (%d by A, %d by B)\n", RACES, wa, RACES - wa);
out:
    reg_close(a);
    reg_close(b);
    reg_close(db);
}

/* Session rows: stored by hash, read back, touched forward only, deleted,
 * pruned when idle or past their end. */
static void case_session_rows(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    reg_session s;
    memset(&s, 0, sizeof s);
    hash_of("cookie-1", s.hash);
    hash_of("csrf-1", s.csrf_hash);
    snprintf(s.who, sizeof s.who, "resident:0a0b0c0d");
    snprintf(s.name, sizeof s.name, "王建国");
    snprintf(s.id_number, sizeof s.id_number, "340102199003072518");
    s.created_at = s.last_seen = 1000;
    s.expires_at = 1000 + RES_SESSION_MAX_S;
    CHECK_ERR(reg_session_put(db, &s), ECRED_OK);
    CHECK_ERR(reg_session_put(db, &s), ECRED_ERR_EXISTS);
    reg_session g;
    CHECK_ERR(reg_session_get(db, s.hash, &g), ECRED_OK);
    CHECK(strcmp(g.name, "王建国") == 0 && strcmp(g.id_number, s.id_number) == 0 && strcmp(g.who, s.who) == 0);
    CHECK_MEM(g.csrf_hash, s.csrf_hash, 32);
    CHECK(g.created_at == 1000 && g.last_seen == 1000 && g.expires_at == s.expires_at);
    CHECK_ERR(reg_session_touch(db, s.hash, 1500), ECRED_OK);
    CHECK_ERR(reg_session_touch(db, s.hash, 1200), ECRED_OK); /* never back */
    CHECK_ERR(reg_session_get(db, s.hash, &g), ECRED_OK);
    CHECK(g.last_seen == 1500);
    /* A second session, idle since 1000: pruned at 1000 + idle; the first
     * (seen at 1500) stays. */
    reg_session t = s;
    hash_of("cookie-2", t.hash);
    CHECK_ERR(reg_session_put(db, &t), ECRED_OK);
    uint64_t removed = 0;
    CHECK_ERR(reg_resident_prune(db, 1000 + RES_SESSION_IDLE_S, RES_SESSION_IDLE_S, &removed), ECRED_OK);
    CHECK(removed == 1);
    CHECK_ERR(reg_session_get(db, t.hash, &g), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_session_get(db, s.hash, &g), ECRED_OK);
    CHECK_ERR(reg_session_delete(db, s.hash), ECRED_OK);
    CHECK_ERR(reg_session_delete(db, s.hash), ECRED_OK);
    CHECK_ERR(reg_session_get(db, s.hash, &g), ECRED_ERR_KEY_UNKNOWN);
    reg_close(db);
}

/* resident.c on two connections, as on two instances: a login begun on A is
 * taken on B once; a session made on A works on B with its CSRF token; a
 * sign-out on B ends it on A. */
static void case_resident_two_instances(const char *url)
{
    reg_db *a = NULL, *b = NULL;
    res_store *sa = NULL, *sb = NULL;
    CHECK_ERR(reg_open_url(url, &a), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &b), ECRED_OK);
    CHECK_ERR(res_store_new(&sa), ECRED_OK);
    CHECK_ERR(res_store_new(&sb), ECRED_OK);
    if (!a || !b || !sa || !sb)
        goto out;
    const int64_t now = 2000000000;
    char state[RES_TOKEN_LEN + 1], nonce[RES_TOKEN_LEN + 1], chal[RES_TOKEN_LEN + 1];
    char n2[RES_TOKEN_LEN + 1], v2[RES_TOKEN_LEN + 1];
    CHECK_ERR(res_login_begin(sa, a, now, state, nonce, chal), ECRED_OK);
    CHECK_ERR(res_login_take(sb, b, state, now + 5, n2, v2), ECRED_OK);
    CHECK(strcmp(n2, nonce) == 0 && strlen(v2) == RES_TOKEN_LEN);
    CHECK_ERR(res_login_take(sa, a, state, now + 5, n2, v2), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(res_login_begin(sa, a, now, state, nonce, chal), ECRED_OK);
    CHECK_ERR(res_login_take(sb, b, state, now + RES_LOGIN_TTL_S, n2, v2), ECRED_ERR_KEY_UNKNOWN);

    oidc_identity id;
    memset(&id, 0, sizeof id);
    snprintf(id.sub, sizeof id.sub, "alice-sub");
    snprintf(id.name, sizeof id.name, "王建国");
    snprintf(id.id_number, sizeof id.id_number, "340102199003072518");
    id.exp = now + 3600;
    char cookie[RES_TOKEN_LEN + 1];
    CHECK_ERR(res_session_create(sa, a, &id, now, cookie), ECRED_OK);
    char hdr[128];
    snprintf(hdr, sizeof hdr, "other=1; %s=%s", RES_COOKIE, cookie);
    res_session s1, s2;
    CHECK_ERR(res_session_from_cookie(sb, b, hdr, now + 10, &s2), ECRED_OK);
    CHECK_ERR(res_session_from_cookie(sa, a, hdr, now + 10, &s1), ECRED_OK);
    CHECK(strcmp(s2.id_number, id.id_number) == 0 && strcmp(s2.who, s1.who) == 0);
    CHECK(s2.expires_at == now + 3600); /* the ID token's end */
    CHECK(strcmp(s1.csrf, s2.csrf) == 0 && strlen(s1.csrf) == RES_TOKEN_LEN);
    CHECK(res_csrf_ok(&s2, s1.csrf));
    CHECK(!res_csrf_ok(&s2, cookie));
    CHECK(!res_csrf_ok(&s2, NULL));
    /* Neither the cookie nor the CSRF token is what the row holds. */
    reg_session row;
    uint8_t ch[32];
    hash_of(cookie, ch);
    CHECK_ERR(reg_session_get(a, ch, &row), ECRED_OK);
    CHECK(memcmp(row.csrf_hash, s1.csrf, 32) != 0);
    /* Idle: a request after the idle time finds no session. */
    CHECK_ERR(res_session_from_cookie(sa, a, hdr, now + 10 + RES_SESSION_IDLE_S, &s1), ECRED_ERR_KEY_UNKNOWN);
    /* Activity on B (touch) keeps it alive for A. */
    CHECK_ERR(res_session_from_cookie(sb, b, hdr, now + 1000, &s2), ECRED_OK);
    CHECK_ERR(res_session_from_cookie(sa, a, hdr, now + 1000 + RES_SESSION_IDLE_S - 1, &s1), ECRED_OK);
    /* Past the ID token's end: over. */
    CHECK_ERR(res_session_from_cookie(sa, a, hdr, now + 3600, &s1), ECRED_ERR_KEY_UNKNOWN);
    /* Sign-out on B ends it on A. */
    CHECK_ERR(res_session_end(sb, b, hdr), ECRED_OK);
    CHECK_ERR(res_session_from_cookie(sa, a, hdr, now + 20, &s1), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(res_session_from_cookie(sa, a, "ecred_resident=short", now, &s1), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(res_session_from_cookie(sa, a, NULL, now, &s1), ECRED_ERR_KEY_UNKNOWN);
out:
    res_store_free(sa);
    res_store_free(sb);
    reg_close(a);
    reg_close(b);
}

/* The outbox: a key is queued once; a claim leases; the lease holder's rows
 * are nobody else's until the lease ends, then another owner takes over and
 * the old holder can no longer record a failure. */
static void case_outbox_lease(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    CHECK_ERR(reg_outbox_add(db, "rem-1", "{\"a\":1}", 100), ECRED_OK);
    CHECK_ERR(reg_outbox_add(db, "rem-1", "{\"a\":2}", 150), ECRED_OK); /* kept as it was */
    CHECK_ERR(reg_outbox_add(db, "rem-2", "{\"b\":1}", 200), ECRED_OK);
    reg_outbox_item it[4];
    size_t n = 9;
    CHECK_ERR(reg_outbox_claim(db, "A", 150, 160, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 1 && strcmp(it[0].key, "rem-1") == 0 && strcmp(it[0].payload, "{\"a\":1}") == 0 &&
          it[0].attempts == 0);
    reg_outbox_items_free(it, n);
    char owner[REG_OUTBOX_OWNER_MAX + 1];
    int64_t until = 0;
    CHECK_ERR(reg_outbox_lease(db, "rem-1", owner, &until), ECRED_OK);
    CHECK(strcmp(owner, "A") == 0 && until == 160);
    /* B at 155: rem-1 is A's, rem-2 not due. */
    CHECK_ERR(reg_outbox_claim(db, "B", 155, 165, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 0);
    /* At 200 A's lease is over (A crashed): B takes both. */
    CHECK_ERR(reg_outbox_claim(db, "B", 200, 230, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 2);
    reg_outbox_items_free(it, n);
    /* A's late failure is not recorded (B owns the row); B's is. */
    CHECK_ERR(reg_outbox_record(db, "rem-1", "A", false, 500, 201, 300), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(reg_outbox_record(db, "rem-1", "B", false, 500, 202, 300), ECRED_OK);
    CHECK_ERR(reg_outbox_lease(db, "rem-1", owner, &until), ECRED_OK);
    CHECK(owner[0] == 0 && until == 0);
    reg_outbox_stats st;
    CHECK_ERR(reg_outbox_get_stats(db, 12, 205, &st), ECRED_OK);
    CHECK(st.queued == 2 && st.delivered == 0 && st.pending == 2 && st.failed_attempts == 1 && st.leased == 1);
    /* B gives rem-2 back unsent: due again at once, for anyone. */
    CHECK_ERR(reg_outbox_release(db, "rem-2", "B"), ECRED_OK);
    CHECK_ERR(reg_outbox_claim(db, "A", 210, 240, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 1 && strcmp(it[0].key, "rem-2") == 0);
    reg_outbox_items_free(it, n);
    /* A delivers rem-2; rem-1 comes back after its backoff with attempts 1. */
    CHECK_ERR(reg_outbox_record(db, "rem-2", "A", true, 200, 211, 0), ECRED_OK);
    CHECK_ERR(reg_outbox_claim(db, "A", 299, 330, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 0);
    CHECK_ERR(reg_outbox_claim(db, "A", 300, 330, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 1 && strcmp(it[0].key, "rem-1") == 0 && it[0].attempts == 1);
    reg_outbox_items_free(it, n);
    CHECK_ERR(reg_outbox_record(db, "rem-1", "A", true, 204, 301, 0), ECRED_OK);
    CHECK_ERR(reg_outbox_claim(db, "A", 10000, 10030, 12, 4, it, &n), ECRED_OK);
    CHECK(n == 0); /* delivered rows are never claimed again */
    CHECK_ERR(reg_outbox_get_stats(db, 12, 10000, &st), ECRED_OK);
    CHECK(st.queued == 2 && st.delivered == 2 && st.pending == 0 && st.failed_attempts == 1 && st.leased == 0);
    /* A row out of attempts is given up. */
    CHECK_ERR(reg_outbox_add(db, "rem-3", "{}", 400), ECRED_OK);
    CHECK_ERR(reg_outbox_claim(db, "A", 400, 430, 1, 4, it, &n), ECRED_OK);
    CHECK(n == 1);
    reg_outbox_items_free(it, n);
    CHECK_ERR(reg_outbox_record(db, "rem-3", "A", false, 0, 401, 402), ECRED_OK);
    CHECK_ERR(reg_outbox_claim(db, "A", 500, 530, 1, 4, it, &n), ECRED_OK);
    CHECK(n == 0);
    CHECK_ERR(reg_outbox_get_stats(db, 1, 500, &st), ECRED_OK);
    CHECK(st.given_up == 1);
    reg_close(db);
}

typedef struct drainer {
    reg_db *db;
    const char *owner;
    pthread_barrier_t *go;
    char keys[OUTBOX_ROWS][REG_OUTBOX_KEY_MAX + 1];
    int n, errors;
} drainer;

typedef struct claim_ctx {
    const char *owner;
    reg_outbox_item items[3];
    size_t n;
} claim_ctx;

static ecred_err claim_fn(reg_db *db, void *ctx)
{
    claim_ctx *c = ctx;
    reg_outbox_items_free(c->items, c->n);
    c->n = 0;
    return reg_outbox_claim(db, c->owner, 1000, 1060, 12, 3, c->items, &c->n);
}

static void *drainer_run(void *arg)
{
    drainer *d = arg;
    pthread_barrier_wait(d->go);
    for (;;) {
        claim_ctx c;
        memset(&c, 0, sizeof c);
        c.owner = d->owner;
        bool failed;
        ecred_err e = reg_write(d->db, claim_fn, &c, &failed);
        if (e) {
            d->errors++;
            break;
        }
        if (c.n == 0)
            break;
        for (size_t i = 0; i < c.n && d->n < OUTBOX_ROWS; i++)
            snprintf(d->keys[d->n++], sizeof d->keys[0], "%s", c.items[i].key);
        reg_outbox_items_free(c.items, c.n);
    }
    return NULL;
}

/* Two connections drain one outbox at once: every row is claimed exactly
 * once between them. */
static void case_outbox_race(const char *url)
{
    reg_db *db = NULL, *a = NULL, *b = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &a), ECRED_OK);
    CHECK_ERR(reg_open_url(url, &b), ECRED_OK);
    if (!db || !a || !b)
        goto out;
    for (int i = 0; i < OUTBOX_ROWS; i++) {
        char k[32];
        snprintf(k, sizeof k, "rem-%03d", i);
        CHECK_ERR(reg_outbox_add(db, k, "{}", 900), ECRED_OK);
    }
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    static drainer da, dbb;
    memset(&da, 0, sizeof da);
    memset(&dbb, 0, sizeof dbb);
    da.db = a;
    da.owner = "A";
    dbb.db = b;
    dbb.owner = "B";
    da.go = dbb.go = &go;
    pthread_t x, y;
    pthread_create(&x, NULL, drainer_run, &da);
    pthread_create(&y, NULL, drainer_run, &dbb);
    pthread_join(x, NULL);
    pthread_join(y, NULL);
    pthread_barrier_destroy(&go);
    CHECK(da.errors == 0 && dbb.errors == 0);
    CHECK(da.n + dbb.n == OUTBOX_ROWS);
    int dup = 0;
    for (int i = 0; i < da.n; i++)
        for (int j = 0; j < dbb.n; j++)
            dup += strcmp(da.keys[i], dbb.keys[j]) == 0;
    CHECK(dup == 0);
    printf("  outbox race: %d rows, %d claimed by A, %d by B, %d twice\n", OUTBOX_ROWS, da.n, dbb.n, dup);
out:
    reg_close(a);
    reg_close(b);
    reg_close(db);
}

int main(void)
{
    static const reg_case cases[] = {
        {"logins", case_logins},
        {"login_race", case_login_race},
        {"session_rows", case_session_rows},
        {"resident_two_instances", case_resident_two_instances},
        {"outbox_lease", case_outbox_lease},
        {"outbox_race", case_outbox_race},
    };
    reg_run_cases("unit_sessions", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
