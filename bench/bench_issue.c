/*
 * bench_issue.c - the issue pipeline: application JSON -> QR text
 * (ecred_credential_from_json + ecred_issue_sign, compression AUTO as the
 * issuer daemon uses), then also -> QR matrix and -> PNG, each against raw
 * OpenSSL ES256 signing (EVP_DigestSign with a key parsed once) of the same
 * Sig_structure in the same process. Prints ROW lines (bench_util.h); never
 * writes files or talks to the network; every loop is bounded.
 */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/issue.h"
#include "ecred/crypto.h"
#include "ecred/qr.h"
#include "ecred/qrtext.h"

#define N_EXAMPLES 3

static const char *const examples[N_EXAMPLES] = {
    "spec/examples/registration-own.json",
    "spec/examples/permit-rental.json",
    "spec/examples/permit-relative.json",
};

typedef struct issue_ctx {
    ecred_buf json[N_EXAMPLES];
    ecred_buf tbs[N_EXAMPLES]; /* Sig_structure of each example, for the baseline */
    size_t next;
    const ecred_key *key;
    EVP_PKEY *raw_priv;
    const EVP_MD *sha256;
    int stop_at;               /* 0 text, 1 matrix, 2 PNG */
} issue_ctx;

static void die(const char *what) { bench_die("bench_issue", what); }


/* What an issuer does per approval, up to stop_at. */
static int op_issue(void *ctx)
{
    issue_ctx *b = ctx;
    const ecred_buf *json = &b->json[b->next];
    b->next = (b->next + 1) % N_EXAMPLES;
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_field_error field;
    ecred_buf text = ECRED_BUF_INIT, png = ECRED_BUF_INIT;
    ecred_qr qr = {0, 0, NULL};
    int rc = 1;
    if (ecred_credential_from_json((const char *)json->ptr, json->len, &c.cred, &field))
        goto out;
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 10 * 3600;
    c.cti_len = 8;
    if (ecred_random(c.cti, 8))
        goto out;
    c.has_status = true;
    c.status_idx = 123456;
    strcpy(c.status_uri, "https://jzz.sh.gov.cn/s/1");
    if (ecred_issue_sign(b->key, &c, ECRED_COMPRESS_AUTO, &text, NULL))
        goto out;
    if (b->stop_at >= 1 && ecred_qr_encode((const char *)text.ptr, text.len, ECRED_QR_ECC_M, &qr))
        goto out;
    if (b->stop_at >= 2 && ecred_qr_png(&qr, 6, 4, &png))
        goto out;
    rc = 0;
out:
    ecred_qr_free(&qr);
    ecred_buf_free(&png);
    ecred_buf_free(&text);
    return rc;
}

static int op_raw_sign(void *ctx)
{
    issue_ctx *b = ctx;
    const ecred_buf *tbs = &b->tbs[b->next];
    b->next = (b->next + 1) % N_EXAMPLES;
    uint8_t der[80];
    size_t len = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, b->sha256, NULL, b->raw_priv) == 1 &&
             EVP_DigestSign(md, der, &len, tbs->ptr, tbs->len) == 1;
    EVP_MD_CTX_free(md);
    return !ok;
}

/* The Sig_structure an issue of this example signs (for the baseline). */
static void make_tbs(issue_ctx *b, size_t i)
{
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_field_error field;
    ecred_buf cose = ECRED_BUF_INIT, text = ECRED_BUF_INIT;
    if (ecred_credential_from_json((const char *)b->json[i].ptr, b->json[i].len, &c.cred, &field))
        die("example does not parse");
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 10 * 3600;
    c.cti_len = 8;
    c.has_status = true;
    c.status_idx = 123456;
    strcpy(c.status_uri, "https://jzz.sh.gov.cn/s/1");
    ecred_cose_sign1 m;
    if (ecred_issue_sign(b->key, &c, ECRED_COMPRESS_NONE, &text, &cose) ||
        ecred_cose_sign1_decode(cose.ptr, cose.len, NULL, &m))
        die("cannot issue");
    if (ecred_cose_sig_structure(m.protected_bytes, m.payload, &b->tbs[i]))
        die("cannot build Sig_structure");
    ecred_cose_sign1_clear(&m);
    ecred_buf_free(&cose);
    ecred_buf_free(&text);
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
            fprintf(stderr, "usage: bench_issue [--reps N] [--seconds S] [--source-dir DIR]\n");
            return 2;
        }
    }
    static issue_ctx b;
    ecred_key *key = NULL;
    ecred_buf pem = bench_read_source("bench_issue", dir, "tests/vectors/keys/test-issuer.key.pem");
    if (ecred_key_private_from_pem(pem.ptr, pem.len, &key))
        die("cannot load the test issuer key");
    BIO *bio = BIO_new_mem_buf(pem.ptr, (int)pem.len);
    b.raw_priv = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ecred_buf_wipe(&pem);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!b.raw_priv || !md)
        die("OpenSSL setup failed");
    b.sha256 = md;
    b.key = key;
    for (size_t i = 0; i < N_EXAMPLES; i++) {
        b.json[i] = bench_read_source("bench_issue", dir, examples[i]);
        make_tbs(&b, i);
    }

    static const char *const figures[3] = {
        "issue: JSON -> QR text",
        "issue: JSON -> QR matrix (ECC M)",
        "issue: JSON -> PNG (6 px/module)",
    };
    static const char *const notes[3] = {
        "compression AUTO (tries none and dict) as the issuer daemon",
        "adds libqrencode mask selection",
        "adds libpng deflate of the image",
    };
    for (int stop = 0; stop < 3; stop++) {
        b.stop_at = stop;
        bench_pair p;
        if (bench_compare(op_issue, &b, op_raw_sign, &b, &o, 2, &p))
            die("an issue failed");
        char spread[96];
        snprintf(spread, sizeof spread, "%.3f..%.3f (n=%d)", p.ratio_min, p.ratio_max, p.reps);
        bench_row(figures[stop], p.rate, "issues/s", "raw OpenSSL ES256 EVP_DigestSign", p.base_rate,
                  p.ratio, spread, notes[stop]);
    }

    for (size_t i = 0; i < N_EXAMPLES; i++) {
        ecred_buf_free(&b.json[i]);
        ecred_buf_free(&b.tbs[i]);
    }
    EVP_MD_free(md);
    EVP_PKEY_free(b.raw_priv);
    ecred_key_free(key);
    return 0;
}
