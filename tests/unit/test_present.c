/*
 * test_present.c - RP1 holder-bound presentations: the vectors of
 * spec/vectors/presentations.txt (every rejection path, each with its reason
 * and holder state), the RP1 dictionary against spec/rp1-dictionary.hex, a
 * forgery loop, role policy, the new error rows, and the replay cache alone
 * and under concurrent deciders.
 */
#include "check.h"

#include <pthread.h>

#include "ecred/issue.h"
#include "ecred/credential.h"
#include "ecred/present.h"
#include "ecred/zcap.h"

static ecred_key *issuer_pub, *issuer, *holder;

static ecred_key *load_key(const char *rel, bool priv)
{
    ecred_buf b = check_read_source_file(rel);
    ecred_key *k = NULL;
    ecred_err e = priv ? ecred_key_private_from_pem(b.ptr, b.len, &k)
                       : ecred_key_public_from_bytes(b.ptr, b.len, &k);
    ecred_buf_wipe(&b);
    if (e) {
        fprintf(stderr, "cannot load %s\n", rel);
        exit(2);
    }
    return k;
}

/* ---- a verifier's outstanding challenges: the vectors' two ---- */

typedef struct chal_store {
    ecred_challenge c[2];
} chal_store;

static void chal_store_init(chal_store *s, int64_t now)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < 2; i++) {
        strcpy(s->c[i].aud, "police-station-7");
        s->c[i].expires = now + 120;
    }
    ecred_unhex("00112233445566778899aabbccddeeff", 32, s->c[0].nonce, 16);
    s->c[0].nonce_len = 16;
    memcpy(s->c[1].nonce, "482913", 6);
    s->c[1].nonce_len = 6;
}

static ecred_err chal_store_consume(void *ctx, ecred_span nonce, ecred_span aud, int64_t now)
{
    chal_store *s = ctx;
    for (int i = 0; i < 2; i++)
        if (nonce.len == s->c[i].nonce_len && memcmp(nonce.ptr, s->c[i].nonce, nonce.len) == 0)
            return ecred_challenge_consume_one(&s->c[i], nonce, aud, now);
    return ECRED_ERR_CHALLENGE_UNKNOWN;
}

/* ---- vectors ---- */

static void test_vectors(void)
{
    ecred_buf file = check_read_source_file("spec/vectors/presentations.txt");
    ecred_trusted_key tk = {issuer_pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset ks = {&tk, 1};
    char *cur = (char *)file.ptr, *line;
    char group[64] = "";
    ecred_replay_cache *cache = NULL;
    chal_store chal;
    int n = 0;
    while ((line = check_next_line(&cur))) {
        if (!*line || *line == '#')
            continue;
        char *f[7];
        for (int i = 0; i < 7; i++) {
            f[i] = line;
            char *tab = strchr(line, '\t');
            if (i < 6) {
                if (!tab) {
                    fprintf(stderr, "bad vector line\n");
                    exit(2);
                }
                *tab = 0;
                line = tab + 1;
            }
        }
        int64_t now;
        CHECK_ERR(ecred_time_parse(f[1], &now), ECRED_OK);
        if (strcmp(f[3], "-") == 0 || strcmp(f[3], group) != 0) {
            ecred_replay_free(cache);
            CHECK_ERR(ecred_replay_create(1000, &cache), ECRED_OK);
            chal_store_init(&chal, now);
            snprintf(group, sizeof group, "%s", f[3]);
        }
        ecred_present_params p = ecred_present_params_default(now);
        CHECK_ERR(ecred_present_policy(NULL, f[2], &p.policy), ECRED_OK);
        p.replay = cache;
        p.challenge = chal_store_consume;
        p.challenge_ctx = &chal;
        ecred_present_verdict v;
        ecred_err got = ecred_present_decide(f[6], strlen(f[6]), &ks, NULL, &p, &v);
        ecred_err want = check_err_named(f[4]);
        if (got != want || strcmp(ecred_holder_state_name(v.holder), f[5]) != 0)
            fprintf(stderr, "vector %s: got %s/%s (holder reason %s), want %s/%s\n", f[0],
                    ecred_err_name(got), ecred_holder_state_name(v.holder),
                    ecred_err_name(v.holder_reason), f[4], f[5]);
        CHECK_ERR(got, want);
        CHECK(strcmp(ecred_holder_state_name(v.holder), f[5]) == 0);
        CHECK(v.now == now);
        /* Never "proven" without the holder's signature over a fresh claim. */
        if (v.holder == ECRED_HOLDER_PROVEN)
            CHECK(v.presentation && v.holder_reason == ECRED_OK && v.cred.claims.has_cnf);
        if (strcmp(f[0], "timed-replayed-again") == 0)
            CHECK(v.first_seen == now && v.replay_checked);
        n++;
    }
    CHECK(n >= 45);
    ecred_replay_free(cache);
    ecred_buf_free(&file);
}

/* ---- the dictionary ---- */

static void test_dictionary(void)
{
    ecred_buf hex = check_read_source_file("spec/rp1-dictionary.hex");
    ecred_buf want = check_hex((const char *)hex.ptr);
    ecred_span d = ecred_rp1_dictionary(), rc1 = ecred_rc1_dictionary();
    CHECK(d.len == want.len && d.len == rc1.len + 51);
    CHECK(d.len == want.len && memcmp(d.ptr, want.ptr, d.len) == 0);
    CHECK_MEM(d.ptr, rc1.ptr, rc1.len);
    CHECK(ecred_zlib_dictid(d) == 0x52e7dadcu);
    ecred_buf_free(&hex);
    ecred_buf_free(&want);
}

/* ---- a live credential, made and verified now; forgery loop ---- */

static void issue_bound(ecred_buf *text)
{
    ecred_buf json = check_read_source_file("spec/examples/registration-own.json");
    ecred_claims c;
    memset(&c, 0, sizeof c);
    CHECK_ERR(ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, NULL), ECRED_OK);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    CHECK_ERR(ecred_time_parse("2026-11-26T10:00:00+08:00", &c.iat), ECRED_OK);
    c.cti_len = 8;
    memcpy(c.cti, "testcti1", 8);
    c.has_cnf = true;
    CHECK_ERR(ecred_key_ec2_compressed(holder, c.cnf_x, &c.cnf_y_sign), ECRED_OK);
    CHECK_ERR(ecred_issue_sign(issuer, &c, ECRED_COMPRESS_DICT, text, NULL), ECRED_OK);
    ecred_buf_free(&json);
}

static void test_make_and_forgeries(void)
{
    ecred_trusted_key tk = {issuer_pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset ks = {&tk, 1};
    ecred_buf cred = ECRED_BUF_INIT, text = ECRED_BUF_INIT, cose = ECRED_BUF_INIT, t2 = ECRED_BUF_INIT;
    issue_bound(&cred);
    int64_t now;
    CHECK_ERR(ecred_time_parse("2026-12-01T12:00:00+08:00", &now), ECRED_OK);
    ecred_present_make_opts o = {.aud = NULL, .iat = now - 3, .compress = ECRED_COMPRESS_AUTO};
    CHECK_ERR(ecred_present_make(holder, (const char *)cred.ptr, cred.len, &o, &text, &cose), ECRED_OK);
    ecred_present_params p = ecred_present_params_default(now);
    p.policy = ECRED_HOLDER_POLICY_REQUIRED;
    ecred_present_verdict v;
    CHECK_ERR(ecred_present_decide((const char *)text.ptr, text.len, &ks, NULL, &p, &v), ECRED_OK);
    CHECK(v.holder == ECRED_HOLDER_PROVEN && !v.challenge && v.presented_at == now - 3);
    CHECK(strcmp(v.aud, "https://jzz.sh.gov.cn") == 0);
    CHECK(!v.replay_checked); /* no cache given: the verdict says so */
    /* The holder key cache: the second decision parses nothing, same answer. */
    ecred_holder_keys *hk = NULL;
    uint64_t hits = 0, misses = 0;
    CHECK_ERR(ecred_holder_keys_create(0, &hk), ECRED_ERR_ARG);
    CHECK_ERR(ecred_holder_keys_create(2, &hk), ECRED_OK);
    p.holder_keys = hk;
    for (int i = 0; i < 3; i++) {
        CHECK_ERR(ecred_present_decide((const char *)text.ptr, text.len, &ks, NULL, &p, &v), ECRED_OK);
        CHECK(v.holder == ECRED_HOLDER_PROVEN);
    }
    ecred_holder_keys_stats(hk, &hits, &misses);
    CHECK(hits == 2 && misses == 1);
    /* The issuer key is not the holder key: make refuses rather than sign a
     * proof that could never verify; an unbound credential has no holder. */
    CHECK_ERR(ecred_present_make(issuer, (const char *)cred.ptr, cred.len, &o, &t2, NULL), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_present_make(issuer_pub, (const char *)cred.ptr, cred.len, &o, &t2, NULL), ECRED_ERR_ARG);
    /* Flip every bit of every byte: nothing but the original may be proven. */
    int proven = 0, tried = 0;
    for (size_t i = 0; i < cose.len; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            cose.ptr[i] ^= (uint8_t)(1u << bit);
            if (ecred_present_encode_text(cose.ptr, cose.len, ECRED_COMPRESS_NONE, &t2) == ECRED_OK) {
                ecred_present_decide((const char *)t2.ptr, t2.len, &ks, NULL, &p, &v);
                proven += v.holder == ECRED_HOLDER_PROVEN || v.outcome == ECRED_OK;
            }
            tried++;
            cose.ptr[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK(tried > 1000);
    CHECK(proven == 0);
    p.holder_keys = NULL;
    ecred_holder_keys_free(hk);
    /* Truncations are malformed, never a verdict about the holder. */
    for (size_t cut = 1; cut < cose.len; cut += 7) {
        if (ecred_present_encode_text(cose.ptr, cut, ECRED_COMPRESS_NONE, &t2) == ECRED_OK) {
            ecred_present_decide((const char *)t2.ptr, t2.len, &ks, NULL, &p, &v);
            CHECK(v.holder == ECRED_HOLDER_FAILED && strcmp(ecred_err_reason(v.outcome), "malformed") == 0);
        }
    }
    ecred_buf_free(&cred);
    ecred_buf_free(&text);
    ecred_buf_free(&cose);
    ecred_buf_free(&t2);
}

/* ---- policy and the error rows ---- */

static void test_policy_and_errors(void)
{
    ecred_holder_policy p;
    CHECK_ERR(ecred_present_policy("police", NULL, &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_REQUIRED);
    CHECK_ERR(ecred_present_policy("police", "challenge", &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_CHALLENGE);
    CHECK_ERR(ecred_present_policy("police", "optional", &p), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_present_policy("landlord", NULL, &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_OPTIONAL);
    CHECK_ERR(ecred_present_policy("landlord", "required", &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_REQUIRED);
    CHECK_ERR(ecred_present_policy("agency", "challenge", &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_CHALLENGE);
    CHECK_ERR(ecred_present_policy("agency", NULL, &p), ECRED_OK);
    CHECK(p == ECRED_HOLDER_POLICY_OPTIONAL);
    CHECK_ERR(ecred_present_policy("bouncer", NULL, &p), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_present_policy("agency", "sometimes", &p), ECRED_ERR_INPUT);
    static const struct { ecred_err e; const char *name, *reason; int exit_code; } rows[] = {
        {ECRED_ERR_PRESENT_STRUCTURE, "presentation_structure", "malformed", 4},
        {ECRED_ERR_PRESENT_HEADER, "presentation_header", "malformed", 4},
        {ECRED_ERR_PRESENT_CLAIMS, "presentation_claims", "malformed", 4},
        {ECRED_ERR_PRESENT_UNBOUND, "presentation_unbound", "malformed", 4},
        {ECRED_ERR_HOLDER_SIGNATURE, "holder_signature", "bad_holder_signature", 14},
        {ECRED_ERR_HOLDER_PROOF_REQUIRED, "static_presentation", "holder_proof_required", 13},
        {ECRED_ERR_HOLDER_UNBOUND, "no_holder_key", "holder_proof_required", 13},
        {ECRED_ERR_TOO_OLD, "too_old", "not_fresh", 15},
        {ECRED_ERR_IN_FUTURE, "in_future", "not_fresh", 15},
        {ECRED_ERR_BEFORE_ISSUE, "before_issue", "not_fresh", 15},
        {ECRED_ERR_REPLAYED, "seen_at", "replayed", 16},
        {ECRED_ERR_REPLAY_CACHE_FULL, "cache_full", "replayed", 16},
        {ECRED_ERR_CHALLENGE_REQUIRED, "challenge_required", "challenge_failed", 17},
        {ECRED_ERR_CHALLENGE_UNKNOWN, "challenge_unknown", "challenge_failed", 17},
        {ECRED_ERR_CHALLENGE_AUDIENCE, "challenge_audience", "challenge_failed", 17},
        {ECRED_ERR_AUDIENCE, "audience", "challenge_failed", 17},
    };
    ecred_buf spec = check_read_source_file("spec/errors.md");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ecred_err back;
        CHECK(strcmp(ecred_err_name(rows[i].e), rows[i].name) == 0);
        CHECK(strcmp(ecred_err_reason(rows[i].e), rows[i].reason) == 0);
        CHECK(ecred_err_exit_code(rows[i].e) == rows[i].exit_code);
        CHECK_ERR(ecred_err_from_name(rows[i].name, &back), ECRED_OK);
        CHECK(back == rows[i].e);
        char needle[80];
        snprintf(needle, sizeof needle, "`%s`", rows[i].name);
        CHECK(strstr((const char *)spec.ptr, needle) != NULL); /* documented */
        snprintf(needle, sizeof needle, "| `%s` | %d |", rows[i].reason, rows[i].exit_code);
        CHECK(strstr((const char *)spec.ptr, needle) != NULL || rows[i].exit_code == 4);
    }
    /* Unknown values still read as internal now that rows were appended. */
    CHECK(strcmp(ecred_err_reason((ecred_err)9999), "internal") == 0);
    ecred_buf_free(&spec);
}

/* ---- the replay cache ---- */

static void key_of(uint32_t i, uint8_t key[16])
{
    uint8_t cti[4] = {(uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
    ecred_present_replay_key((const uint8_t *)"kid12345", 8, cti, 4, 1000, NULL, 0, key);
}

static void test_replay_cache(void)
{
    ecred_replay_cache *c = NULL;
    uint8_t k[16], k2[16];
    int64_t seen = 0;
    CHECK_ERR(ecred_replay_create(0, &c), ECRED_ERR_ARG);
    CHECK_ERR(ecred_replay_create(4, &c), ECRED_OK);
    key_of(1, k);
    CHECK_ERR(ecred_replay_check_insert(c, k, 150, 100, &seen), ECRED_OK);
    CHECK_ERR(ecred_replay_check_insert(c, k, 150, 120, &seen), ECRED_ERR_REPLAYED);
    CHECK(seen == 100);
    CHECK_ERR(ecred_replay_check_insert(c, k, 150, 150, &seen), ECRED_ERR_REPLAYED); /* last live second */
    CHECK_ERR(ecred_replay_check_insert(c, k, 300, 151, &seen), ECRED_OK);        /* dead: reusable */
    /* Fill to the cap: the next live key is refused, never an old one forgotten. */
    for (uint32_t i = 2; i <= 4; i++) {
        key_of(i, k2);
        CHECK_ERR(ecred_replay_check_insert(c, k2, 200, 160, NULL), ECRED_OK);
    }
    key_of(5, k2);
    CHECK_ERR(ecred_replay_check_insert(c, k2, 400, 170, NULL), ECRED_ERR_REPLAY_CACHE_FULL);
    CHECK_ERR(ecred_replay_check_insert(c, k, 300, 171, NULL), ECRED_ERR_REPLAYED);
    /* Once 2..4 expire, a sweep makes room; k (live to 300) stays. */
    CHECK_ERR(ecred_replay_check_insert(c, k2, 400, 201, NULL), ECRED_OK);
    CHECK(ecred_replay_count(c) == 2);
    CHECK_ERR(ecred_replay_check_insert(c, k, 300, 202, NULL), ECRED_ERR_REPLAYED);
    ecred_replay_free(c);
    /* Semantic key: the nonce and iat matter, lengths cannot be shifted. */
    uint8_t a[16], b[16];
    ecred_present_replay_key((const uint8_t *)"kid", 3, (const uint8_t *)"ab", 2, 5, NULL, 0, a);
    ecred_present_replay_key((const uint8_t *)"kid", 3, (const uint8_t *)"ab", 2, 6, NULL, 0, b);
    CHECK(memcmp(a, b, 16) != 0);
    ecred_present_replay_key((const uint8_t *)"kida", 4, (const uint8_t *)"b", 1, 5, NULL, 0, b);
    CHECK(memcmp(a, b, 16) != 0);
    ecred_present_replay_key((const uint8_t *)"kid", 3, (const uint8_t *)"ab", 2, 5, (const uint8_t *)"n", 1, b);
    CHECK(memcmp(a, b, 16) != 0);
    /* Many keys with sweeps in between: the table stays consistent. */
    CHECK_ERR(ecred_replay_create(1000, &c), ECRED_OK);
    int ok = 0;
    for (uint32_t round = 0; round < 20; round++) {
        for (uint32_t i = 0; i < 1000; i++) {
            key_of(round * 1000 + i, k);
            ok += ecred_replay_check_insert(c, k, (int64_t)round * 10 + 5, (int64_t)round * 10, NULL) == ECRED_OK;
        }
        for (uint32_t i = 0; i < 1000; i += 37) {
            key_of(round * 1000 + i, k);
            CHECK_ERR(ecred_replay_check_insert(c, k, 0, (int64_t)round * 10 + 1, NULL), ECRED_ERR_REPLAYED);
        }
    }
    CHECK(ok == 20000);
    ecred_replay_free(c);
}

/* ---- concurrency: many deciders, one cache ---- */

#define N_THREADS 8
#define N_PRES 6

typedef struct race {
    const ecred_keyset *ks;
    ecred_buf *texts;
    ecred_replay_cache *cache;
    ecred_holder_keys *keys;
    int64_t now;
    int proven[N_PRES];
    int replayed[N_PRES];
} race;

static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;

static void *race_thread(void *arg)
{
    race *r = arg;
    for (int i = 0; i < N_PRES; i++) {
        ecred_present_params p = ecred_present_params_default(r->now);
        p.policy = ECRED_HOLDER_POLICY_REQUIRED;
        p.replay = r->cache;
        p.holder_keys = r->keys;
        ecred_present_verdict v;
        ecred_present_decide((const char *)r->texts[i].ptr, r->texts[i].len, r->ks, NULL, &p, &v);
        pthread_mutex_lock(&race_lock);
        r->proven[i] += v.outcome == ECRED_OK && v.holder == ECRED_HOLDER_PROVEN;
        r->replayed[i] += v.outcome == ECRED_ERR_REPLAYED;
        pthread_mutex_unlock(&race_lock);
    }
    return NULL;
}

static void test_concurrent(void)
{
    ecred_trusted_key tk = {issuer_pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset ks = {&tk, 1};
    ecred_buf cred = ECRED_BUF_INIT;
    ecred_buf texts[N_PRES];
    issue_bound(&cred);
    race r;
    memset(&r, 0, sizeof r);
    CHECK_ERR(ecred_time_parse("2026-12-01T12:00:00+08:00", &r.now), ECRED_OK);
    for (int i = 0; i < N_PRES; i++) {
        texts[i] = (ecred_buf)ECRED_BUF_INIT;
        ecred_present_make_opts o = {.iat = r.now - i, .compress = ECRED_COMPRESS_DICT};
        CHECK_ERR(ecred_present_make(holder, (const char *)cred.ptr, cred.len, &o, &texts[i], NULL), ECRED_OK);
    }
    r.ks = &ks;
    r.texts = texts;
    CHECK_ERR(ecred_replay_create(100, &r.cache), ECRED_OK);
    CHECK_ERR(ecred_holder_keys_create(4, &r.keys), ECRED_OK);
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, race_thread, &r) == 0);
    for (int t = 0; t < N_THREADS; t++)
        pthread_join(th[t], NULL);
    for (int i = 0; i < N_PRES; i++) {
        CHECK(r.proven[i] == 1); /* exactly one first sighting per presentation */
        CHECK(r.replayed[i] == N_THREADS - 1);
    }
    CHECK(ecred_replay_count(r.cache) == N_PRES);
    ecred_replay_free(r.cache);
    ecred_holder_keys_free(r.keys);
    for (int i = 0; i < N_PRES; i++)
        ecred_buf_free(&texts[i]);
    ecred_buf_free(&cred);
}

int main(void)
{
    issuer_pub = load_key("tests/vectors/keys/test-issuer.pub.pem", false);
    issuer = load_key("tests/vectors/keys/test-issuer.key.pem", true);
    holder = load_key("tests/vectors/keys/test-holder.key.pem", true);
    test_dictionary();
    test_vectors();
    test_make_and_forgeries();
    test_policy_and_errors();
    test_replay_cache();
    test_concurrent();
    ecred_key_free(issuer_pub);
    ecred_key_free(issuer);
    ecred_key_free(holder);
    return check_finish();
}
