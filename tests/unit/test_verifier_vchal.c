/*
 * test_verifier_vchal.c - the verifier's challenge store (vchal.h) and the
 * RN1: challenge text: either face (16-byte nonce, typed code) answers once,
 * a wrong aud leaves the challenge answerable, scopes by key and by id,
 * expiry, a full store, unique live codes, and one winner among threads
 * answering the same challenge at once.
 */
#include <pthread.h>
#include <string.h>

#include "check.h"
#include "vchal.h"

static ecred_span sp(const void *p, size_t n) { return ecred_span_of(p, n); }

static void test_store(void)
{
    vchal_store *s = NULL;
    CHECK_ERR(vchal_create(0, &s), ECRED_ERR_ARG);
    CHECK_ERR(vchal_create(3, &s), ECRED_OK);
    vchal_entry a, b, c, d;
    int64_t now = 1000;
    CHECK_ERR(vchal_issue(s, "k1", "desk-1", VCHAL_TTL_DEFAULT, now, &a), ECRED_OK);
    CHECK_ERR(vchal_issue(s, "k1", "bad aud", 10, now, &b), ECRED_ERR_ARG);
    CHECK_ERR(vchal_issue(s, "k1", "desk-1", 0, now, &b), ECRED_ERR_ARG);
    CHECK_ERR(vchal_issue(s, "k2", "desk-1", 10, now, &b), ECRED_OK);
    CHECK_ERR(vchal_issue(s, "k1", "desk-1", 10, now, &c), ECRED_OK);
    CHECK(strcmp(a.code, b.code) != 0 && strcmp(a.code, c.code) != 0 && strcmp(b.code, c.code) != 0);
    CHECK(strlen(a.code) == VCHAL_CODE_LEN);
    CHECK_ERR(vchal_issue(s, "k1", "desk-1", 10, now, &d), ECRED_ERR_REPLAY_CACHE_FULL);
    CHECK(vchal_outstanding(s, now) == 3);
    ecred_span aud = sp("desk-1", 6);
    /* Wrong aud: refused, still answerable. */
    CHECK_ERR(vchal_consume(s, sp(a.nonce, 16), sp("desk-2", 6), now), ECRED_ERR_CHALLENGE_AUDIENCE);
    /* Another key's scope, another id: unknown, still answerable. */
    vchal_scope other = {s, "k2", NULL};
    CHECK_ERR(vchal_consume_scoped(&other, sp(a.nonce, 16), aud, now), ECRED_ERR_CHALLENGE_UNKNOWN);
    vchal_scope by_id = {s, "k1", c.nonce};
    CHECK_ERR(vchal_consume_scoped(&by_id, sp(a.nonce, 16), aud, now), ECRED_ERR_CHALLENGE_UNKNOWN);
    vchal_scope mine = {s, "k1", a.nonce};
    CHECK_ERR(vchal_consume_scoped(&mine, sp(a.nonce, 16), aud, now), ECRED_OK);
    CHECK_ERR(vchal_consume(s, sp(a.nonce, 16), aud, now), ECRED_ERR_CHALLENGE_UNKNOWN);
    /* The typed code face; used up for both faces. */
    CHECK_ERR(vchal_consume(s, sp(c.code, 6), aud, now), ECRED_OK);
    CHECK_ERR(vchal_consume(s, sp(c.nonce, 16), aud, now), ECRED_ERR_CHALLENGE_UNKNOWN);
    /* Expiry: answerable at expires, not after. */
    CHECK_ERR(vchal_consume(s, sp(b.code, 6), aud, b.expires + 1), ECRED_ERR_CHALLENGE_UNKNOWN);
    CHECK_ERR(vchal_consume(s, sp(b.code, 6), aud, b.expires), ECRED_OK);
    /* Used and expired slots are free again. */
    CHECK(vchal_outstanding(s, now) == 0);
    CHECK_ERR(vchal_issue(s, "k1", "desk-1", 10, now, &d), ECRED_OK);
    vchal_free(s);
}

static void test_rn1(void)
{
    vchal_entry e;
    memset(&e, 0, sizeof e);
    for (int i = 0; i < VCHAL_NONCE_LEN; i++)
        e.nonce[i] = (uint8_t)(i * 17);
    memcpy(e.aud, "desk-7.example", 15);
    ecred_buf t = ECRED_BUF_INIT;
    CHECK_ERR(vchal_text(&e, &t), ECRED_OK);
    CHECK(t.len > 4 && memcmp(t.ptr, "RN1:", 4) == 0);
    ecred_challenge c;
    CHECK_ERR(ecred_challenge_decode_text((const char *)t.ptr, t.len, &c), ECRED_OK);
    CHECK(c.nonce_len == VCHAL_NONCE_LEN && memcmp(c.nonce, e.nonce, 16) == 0 && strcmp(c.aud, "desk-7.example") == 0);
    CHECK_ERR(ecred_challenge_decode_text("RC1:AAAA", 8, &c), ECRED_ERR_NOT_OUR_FORMAT);
    CHECK_ERR(ecred_challenge_decode_text("RN1:", 4, &c), ECRED_ERR_INPUT);
    CHECK(ecred_challenge_decode_text("RN1:%%%", 7, &c) != ECRED_OK);
    ecred_challenge bad;
    memset(&bad, 0, sizeof bad);
    bad.nonce_len = 0;
    CHECK_ERR(ecred_challenge_encode_text(&bad, &t), ECRED_ERR_ARG);
    ecred_buf_free(&t);
}

typedef struct race {
    vchal_store *s;
    const vchal_entry *e;
    int wins;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    if (vchal_consume(r->s, sp(r->e->nonce, 16), sp(r->e->aud, strlen(r->e->aud)), 1000) == ECRED_OK)
        __atomic_add_fetch(&r->wins, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_race(void)
{
    vchal_store *s = NULL;
    vchal_entry e;
    CHECK_ERR(vchal_create(16, &s), ECRED_OK);
    CHECK_ERR(vchal_issue(s, NULL, "desk-1", 60, 1000, &e), ECRED_OK);
    race r = {s, &e, 0};
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, racer, &r);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    CHECK(r.wins == 1);
    vchal_free(s);
}

/* The one decoding of a named challenge (JSON member and query argument alike). */
static void test_id_parse(void)
{
    uint8_t n[VCHAL_NONCE_LEN], want[VCHAL_NONCE_LEN];
    for (size_t i = 0; i < sizeof want; i++)
        want[i] = (uint8_t)(0xa0 + i);
    const char *id = "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf";
    CHECK(vchal_id_parse(id, 32, n) && memcmp(n, want, sizeof n) == 0);
    CHECK(vchal_id_parse("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF", 32, n) && memcmp(n, want, sizeof n) == 0);
    memset(n, 0x55, sizeof n);
    CHECK(!vchal_id_parse(id, 31, n));
    CHECK(!vchal_id_parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf00", 34, n));
    CHECK(!vchal_id_parse("", 0, n));
    CHECK(!vchal_id_parse(NULL, 32, n));
    CHECK(!vchal_id_parse("a0a1a2a3a4a5a6a7a8a9aaabacadaeag", 32, n));
    CHECK(!vchal_id_parse("a0a1a2a3a4a5a6a7a8a9aaabacadae\0f", 32, n));
    CHECK(!vchal_id_parse(" 0a1a2a3a4a5a6a7a8a9aaabacadaeaf", 32, n));
    CHECK(n[0] == 0x55 && n[15] == 0x55); /* untouched on refusal */
}

int main(void)
{
    test_id_parse();
    test_store();
    test_rn1();
    test_race();
    return check_finish();
}
