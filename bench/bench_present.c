/*
 * bench_present.c - the RP1 verify pipeline (RP1 text -> decision through
 * ecred_present_decide: base45, inflate with the RP1 dictionary, the holder
 * COSE_Sign1 on the cursor, the embedded credential through ecred_decide, the
 * cnf point, the holder signature, claims, window) against raw OpenSSL ES256
 * verification of one message in the same process, following bench_verify.c.
 * A decision does two ES256 verifications, so the goal is >= 0.45, not 0.90.
 * The replay cache is timed on its own (a decision with a cache would refuse
 * the second loop over the same texts). Prints ROW lines (bench_util.h); never
 * talks to the network and every loop is bounded.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ecred/issue.h"
#include "ecred/b45.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/present.h"

#define N_EXAMPLES 3

static const char *const examples[N_EXAMPLES] = {
    "spec/examples/registration-own.json",
    "spec/examples/permit-rental.json",
    "spec/examples/permit-relative.json",
};

typedef struct bench_ctx {
    ecred_buf text[N_EXAMPLES];
    ecred_buf tbs[N_EXAMPLES];   /* the holder Sig_structure, for the baseline */
    uint8_t der[N_EXAMPLES][80];
    size_t der_len[N_EXAMPLES];
    size_t next;
    ecred_keyset keys;
    int64_t now;
    EVP_PKEY *raw_holder;
    const EVP_MD *sha256;
    ecred_replay_cache *cache;
    ecred_holder_keys *holder_keys; /* NULL: cold, every cnf key parsed */
    uint64_t counter;
} bench_ctx;

static void die(const char *what) { bench_die("bench_present", what); }

static size_t raw_to_der(const uint8_t *raw, uint8_t *der, size_t cap)
{
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, 32, NULL), *s = BN_bin2bn(raw + 32, 32, NULL);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1)
        die("cannot build ECDSA_SIG");
    int len = i2d_ECDSA_SIG(sig, NULL);
    if (len <= 0 || (size_t)len > cap)
        die("DER signature too long");
    uint8_t *p = der;
    i2d_ECDSA_SIG(sig, &p);
    ECDSA_SIG_free(sig);
    return (size_t)len;
}

/* Issue one bound credential and present it (timed, RP1 dictionary). */
static void make_sample(bench_ctx *b, int i, const char *dir, const ecred_key *issuer,
                        const ecred_key *holder, int64_t *iat_out)
{
    ecred_buf json = bench_read_source("bench_present", dir, examples[i]);
    ecred_claims c;
    memset(&c, 0, sizeof c);
    if (ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, NULL))
        die("example does not parse");
    ecred_buf_free(&json);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 10 * 3600;
    c.cti_len = 8;
    if (ecred_random(c.cti, 8) || ecred_key_ec2_compressed(holder, c.cnf_x, &c.cnf_y_sign))
        die("setup");
    c.has_cnf = true;
    *iat_out = c.iat;
    ecred_buf cred = ECRED_BUF_INIT, cose = ECRED_BUF_INIT;
    if (ecred_issue_sign(issuer, &c, ECRED_COMPRESS_DICT, &cred, NULL))
        die("cannot issue");
    /* One presentation time for all: inside every example's validity. */
    ecred_present_make_opts o = {.iat = 0, .compress = ECRED_COMPRESS_DICT};
    if (ecred_time_parse("2026-12-27T10:00:00+08:00", &o.iat))
        die("time");
    if (ecred_present_make(holder, (const char *)cred.ptr, cred.len, &o, &b->text[i], &cose))
        die("cannot present");
    /* The holder Sig_structure and signature, cut from the COSE bytes. */
    /* cose.c refuses alg -9, so take the parts by position: tag, array, bstr(protected). */
    size_t pos = 2, plen;
    if (cose.ptr[pos] == 0x59) {
        plen = (size_t)cose.ptr[pos + 1] << 8 | cose.ptr[pos + 2];
        pos += 3;
    } else {
        die("unexpected protected header length form");
    }
    ecred_span prot = ecred_span_of(cose.ptr + pos, plen);
    pos += plen + 1; /* the empty unprotected map */
    size_t ylen = cose.ptr[pos] == 0x58 ? cose.ptr[pos + 1] : (size_t)(cose.ptr[pos] & 0x1f);
    pos += cose.ptr[pos] == 0x58 ? 2 : 1;
    ecred_span pay = ecred_span_of(cose.ptr + pos, ylen);
    pos += ylen + 2;
    if (pos + 64 != cose.len || ecred_cose_sig_structure(prot, pay, &b->tbs[i]))
        die("cannot cut the presentation");
    b->der_len[i] = raw_to_der(cose.ptr + pos, b->der[i], sizeof b->der[i]);
    b->now = o.iat + 5;
    ecred_buf_free(&cred);
    ecred_buf_free(&cose);
}

static int op_decide(void *ctx)
{
    bench_ctx *b = ctx;
    size_t i = b->next;
    b->next = (b->next + 1) % N_EXAMPLES;
    ecred_present_params p = ecred_present_params_default(b->now);
    p.policy = ECRED_HOLDER_POLICY_REQUIRED;
    p.holder_keys = b->holder_keys;
    ecred_present_verdict v;
    return ecred_present_decide((const char *)b->text[i].ptr, b->text[i].len, &b->keys, NULL, &p, &v) !=
               ECRED_OK ||
           v.holder != ECRED_HOLDER_PROVEN;
}

static int op_raw_verify(void *ctx)
{
    bench_ctx *b = ctx;
    size_t i = b->next;
    b->next = (b->next + 1) % N_EXAMPLES;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, b->sha256, NULL, b->raw_holder) == 1 &&
             EVP_DigestVerify(md, b->der[i], b->der_len[i], b->tbs[i].ptr, b->tbs[i].len) == 1;
    EVP_MD_CTX_free(md);
    return !ok;
}

/* One replay check of a new key (the cache keeps up to 100,000 live ones). */
static int op_replay(void *ctx)
{
    bench_ctx *b = ctx;
    uint8_t key[ECRED_REPLAY_KEY_LEN];
    uint64_t n = b->counter++;
    ecred_present_replay_key((const uint8_t *)"kid12345", 8, (const uint8_t *)&n, sizeof n,
                             b->now, NULL, 0, key);
    /* Entries expire after one simulated second, so the table churns. */
    int64_t t = b->now + (int64_t)(n / 50000);
    ecred_err e = ecred_replay_check_insert(b->cache, key, t, t, NULL);
    return e != ECRED_OK;
}

int main(int argc, char **argv)
{
    bench_opts o = {5, 0.4, 2000000};
    const char *dir = ECRED_SOURCE_DIR;
    for (int i = 1; i < argc; i++) {
        int t = bench_take_common(argc, argv, &i, &o);
        if (t < 0)
            die("bad --reps or --seconds");
        if (t)
            continue;
        if (strcmp(argv[i], "--source-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_present [--reps N] [--seconds S] [--source-dir DIR]\n");
            return 2;
        }
    }
    static bench_ctx b;
    ecred_key *issuer = NULL, *issuer_pub = NULL, *holder = NULL;
    ecred_buf pem = bench_read_source("bench_present", dir, "tests/vectors/keys/test-issuer.key.pem");
    if (ecred_key_private_from_pem(pem.ptr, pem.len, &issuer))
        die("cannot load the test issuer key");
    ecred_buf_wipe(&pem);
    pem = bench_read_source("bench_present", dir, "tests/vectors/keys/test-holder.key.pem");
    if (ecred_key_private_from_pem(pem.ptr, pem.len, &holder))
        die("cannot load the test holder key");
    ecred_buf_wipe(&pem);
    pem = bench_read_source("bench_present", dir, "tests/vectors/keys/test-issuer.pub.pem");
    if (ecred_key_public_from_bytes(pem.ptr, pem.len, &issuer_pub))
        die("cannot load the test issuer public key");
    ecred_buf_free(&pem);
    pem = bench_read_source("bench_present", dir, "tests/vectors/keys/test-holder.pub.pem");
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    b.raw_holder = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ecred_buf_free(&pem);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!b.raw_holder || !md)
        die("OpenSSL setup failed");
    b.sha256 = md;
    ecred_trusted_key tk = {issuer_pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    b.keys.keys = &tk;
    b.keys.n = 1;
    int64_t iat, latest = 0;
    for (int i = 0; i < N_EXAMPLES; i++) {
        make_sample(&b, i, dir, issuer, holder, &iat);
        latest = b.now > latest ? b.now : latest;
    }
    /* Every sample must be proven before anything is timed. */
    for (int i = 0; i < N_EXAMPLES; i++)
        if (op_decide(&b))
            die("a sample presentation does not verify");

    bench_pair p, cold;
    char spread[96], note[240];
    /* Cold: every decision parses the holder's cnf point (a phone seen for
     * the first time). Warm: the verifier's holder key cache already holds
     * it (the same phones again, as at a gate or behind one daemon). */
    if (bench_compare(op_decide, &b, op_raw_verify, &b, &o, 4, &cold))
        die("a verification failed");
    snprintf(spread, sizeof spread, "%.3f..%.3f (n=%d)", cold.ratio_min, cold.ratio_max, cold.reps);
    snprintf(note, sizeof note,
             "cold: cnf key parsed each time (ecred_key_from_ec2 ~110-160 us); goal >= 0.45 (two ES256 verifications)");
    bench_row("RP1 verify pipeline, new phone (timed, dict)", cold.rate, "verif/s",
              "raw OpenSSL ES256 EVP_DigestVerify (one)", cold.base_rate, cold.ratio, spread, note);
    if (ecred_holder_keys_create(1024, &b.holder_keys))
        die("cannot create the holder key cache");
    if (bench_compare(op_decide, &b, op_raw_verify, &b, &o, 4, &p))
        die("a verification failed");
    snprintf(spread, sizeof spread, "%.3f..%.3f (n=%d)", p.ratio_min, p.ratio_max, p.reps);
    snprintf(note, sizeof note,
             "warm: holder key cache hit; goal >= 0.45 (two ES256 verifications per decision); RP1 texts of %zu/%zu/%zu chars",
             b.text[0].len, b.text[1].len, b.text[2].len);
    bench_row("RP1 verify pipeline, known phone (timed, dict)", p.rate, "verif/s",
              "raw OpenSSL ES256 EVP_DigestVerify (one)", p.base_rate, p.ratio, spread, note);
    if (ecred_replay_create(ECRED_REPLAY_CAP_DEFAULT, &b.cache))
        die("cannot create the replay cache");
    double r[64];
    int reps = o.reps > 64 ? 64 : o.reps;
    for (int i = 0; i < reps; i++)
        r[i] = bench_rate(op_replay, &b, &o, 64);
    double rate = bench_median(r, (size_t)reps);
    double decide_us = 1e6 / p.rate, us = rate > 0 ? 1e6 / rate : 0;
    snprintf(note, sizeof note, "key hash + locked check-and-insert, cap 100000; %.2f%% of one decision",
             100 * us / decide_us);
    bench_row("  RP1 replay cache check", us, "us/op", "one RP1 decision", decide_us, us / decide_us, "", note);
    (void)iat;
    ecred_replay_free(b.cache);
    ecred_holder_keys_free(b.holder_keys);
    for (int i = 0; i < N_EXAMPLES; i++) {
        ecred_buf_free(&b.text[i]);
        ecred_buf_free(&b.tbs[i]);
    }
    EVP_PKEY_free(b.raw_holder);
    EVP_MD_free(md);
    ecred_key_free(issuer);
    ecred_key_free(issuer_pub);
    ecred_key_free(holder);
    return 0;
}
