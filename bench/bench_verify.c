/*
 * bench_verify.c - the verify pipeline (QR text -> decision through
 * ecred_decide, with a trusted key and an in-memory status list) against raw
 * OpenSSL ES256 verification of the same message in the same process (a
 * fresh EVP_MD_CTX per call, as a plain program does), plus each stage timed
 * on its own so the gap can be attributed, and the floor: raw OpenSSL that
 * keeps its contexts as crypto_openssl.c does.
 *
 * Modes: default prints ROW lines (bench_util.h); --texts-out FILE writes the
 * QR texts used (one per line) for the Node.js peer; --profile MODE N runs N
 * decisions only (no baseline, no timing) for callgrind. This program never
 * talks to the network and every loop is bounded.
 */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "ecred/b45.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/issue.h"
#include "ecred/crypto.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"
#include "ecred/zcap.h"

#define N_EXAMPLES 3
#define STATUS_URI "https://jzz.sh.gov.cn/s/1"

static const char *const examples[N_EXAMPLES] = {
    "spec/examples/registration-own.json",
    "spec/examples/permit-rental.json",
    "spec/examples/permit-relative.json",
};

/* One signed credential in every form a stage needs. */
typedef struct sample {
    ecred_buf text;       /* QR text */
    ecred_buf cose;       /* COSE_Sign1 bytes */
    ecred_buf b45_bin;    /* base45-decoded bytes (zlib stream or COSE) */
    ecred_buf tbs;        /* Sig_structure */
    uint8_t der_sig[80];  /* the same signature as DER for EVP_DigestVerify */
    size_t der_len;
    ecred_buf payload;    /* CWT claims bytes */
} sample;

typedef struct bench_ctx {
    sample s[N_EXAMPLES];
    size_t next;
    ecred_keyset keys;
    ecred_status_source status;
    int64_t now;
    EVP_PKEY *raw_pub;     /* the issuer key parsed once by OpenSSL directly */
    const EVP_MD *sha256;  /* fetched once */
    EVP_PKEY_CTX *kept_pctx; /* op_raw_kept: verify_init once, then reused */
    EVP_MD_CTX *kept_md;     /* op_raw_kept: one digest context, reinitialised */
    const ecred_key *pub;
    ecred_slist list;
} bench_ctx;

static void die(const char *what) { bench_die("bench_verify", what); }


/* Status from the in-memory list: one URI, the list's own iat as "now". */
static ecred_err slist_lookup(void *ctx, const char *uri, uint64_t idx, unsigned *status,
                              int64_t *as_of)
{
    bench_ctx *b = ctx;
    if (strcmp(uri, STATUS_URI) != 0)
        return ECRED_ERR_STATUS_UNAVAILABLE;
    ecred_err e = ecred_slist_get(&b->list, (size_t)idx, status);
    if (e)
        return e;
    *as_of = b->now;
    return ECRED_OK;
}

/* r||s -> DER ECDSA-Sig-Value, the form EVP_DigestVerify takes. */
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

static void make_sample(const char *dir, const char *rel, const ecred_key *priv, int mode,
                        uint64_t idx, sample *s, int32_t *valid_from)
{
    ecred_buf json = bench_read_source("bench_verify", dir, rel);
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_field_error field;
    if (ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, &field))
        die("example does not parse");
    ecred_buf_free(&json);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 10 * 3600;
    c.cti_len = 8;
    if (ecred_random(c.cti, 8))
        die("no random bytes");
    c.has_status = true;
    c.status_idx = idx;
    strcpy(c.status_uri, STATUS_URI);
    *valid_from = c.cred.valid_from;

    memset(s, 0, sizeof *s);
    if (ecred_issue_sign(priv, &c, mode, &s->text, &s->cose) || ecred_buf_terminate(&s->text))
        die("cannot issue");
    if (ecred_b45_decode((const char *)s->text.ptr + 4, s->text.len - 4, &s->b45_bin))
        die("cannot base45-decode our own text");
    ecred_cose_sign1 m;
    if (ecred_cose_sign1_decode(s->cose.ptr, s->cose.len, NULL, &m))
        die("cannot decode our own COSE");
    if (ecred_cose_sig_structure(m.protected_bytes, m.payload, &s->tbs) ||
        ecred_buf_set(&s->payload, m.payload.ptr, m.payload.len) || m.signature.len != 64)
        die("cannot rebuild Sig_structure");
    s->der_len = raw_to_der(m.signature.ptr, s->der_sig, sizeof s->der_sig);
    ecred_cose_sign1_clear(&m);
}

static void free_sample(sample *s)
{
    ecred_buf_free(&s->text);
    ecred_buf_free(&s->cose);
    ecred_buf_free(&s->b45_bin);
    ecred_buf_free(&s->tbs);
    ecred_buf_free(&s->payload);
}

static sample *next_sample(bench_ctx *b)
{
    sample *s = &b->s[b->next];
    b->next = (b->next + 1) % N_EXAMPLES;
    return s;
}

/* --- the measured operations ------------------------------------------- */

static int op_decide(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_verdict v;
    return ecred_decide((const char *)s->text.ptr, s->text.len, &b->keys, &b->status, b->now, &v) !=
           ECRED_OK;
}

static int op_raw_verify(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, b->sha256, NULL, b->raw_pub) == 1 &&
             EVP_DigestVerify(md, s->der_sig, s->der_len, s->tbs.ptr, s->tbs.len) == 1;
    EVP_MD_CTX_free(md);
    return !ok;
}

/* The floor: raw OpenSSL keeping its contexts (what crypto_openssl.c does
 * since the verifier pool), SHA-256 then ECDSA over the digest. The headline
 * baseline stays op_raw_verify, a plain program's fresh context per call. */
static int op_raw_kept(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    uint8_t digest[32];
    unsigned int dlen = 0;
    int ok = EVP_DigestInit_ex(b->kept_md, b->sha256, NULL) == 1 &&
             EVP_DigestUpdate(b->kept_md, s->tbs.ptr, s->tbs.len) == 1 &&
             EVP_DigestFinal_ex(b->kept_md, digest, &dlen) == 1 &&
             EVP_PKEY_verify(b->kept_pctx, s->der_sig, s->der_len, digest, dlen) == 1;
    return !ok;
}

static int op_qrtext(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_buf out = ECRED_BUF_INIT;
    ecred_err e = ecred_qrtext_decode((const char *)s->text.ptr, s->text.len, false, &out, NULL);
    ecred_buf_free(&out);
    return e != ECRED_OK;
}

static int op_b45(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_buf out = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_decode((const char *)s->text.ptr + 4, s->text.len - 4, &out);
    ecred_buf_free(&out);
    return e != ECRED_OK;
}

static int op_inflate(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    if (s->b45_bin.ptr[0] != 0x78)
        return 0; /* uncompressed text: nothing to inflate */
    ecred_buf out = ECRED_BUF_INIT;
    ecred_err e = ecred_zlib_inflate(s->b45_bin.ptr, s->b45_bin.len, ECRED_COSE_MAX,
                                     ecred_rc1_dictionary(), &out);
    ecred_buf_free(&out);
    return e != ECRED_OK;
}

static int op_cose_decode(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_cose_sign1 m;
    ecred_err e = ecred_cose_sign1_decode(s->cose.ptr, s->cose.len, NULL, &m);
    if (!e)
        ecred_cose_sign1_clear(&m);
    return e != ECRED_OK;
}

/* Decode outside the timed region is impossible per call, so this times
 * decode + verify; the report subtracts op_cose_decode. */
static int op_cose_verify(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_cose_sign1 m;
    ecred_err e = ecred_cose_sign1_decode(s->cose.ptr, s->cose.len, NULL, &m);
    if (!e) {
        e = ecred_cose_sign1_verify(&m, b->pub);
        ecred_cose_sign1_clear(&m);
    }
    return e != ECRED_OK;
}

static int op_claims(void *ctx)
{
    bench_ctx *b = ctx;
    sample *s = next_sample(b);
    ecred_claims c;
    return ecred_claims_decode(s->payload.ptr, s->payload.len, &c) != ECRED_OK;
}

static int op_status(void *ctx)
{
    bench_ctx *b = ctx;
    unsigned st;
    int64_t as_of;
    return slist_lookup(b, STATUS_URI, 77, &st, &as_of) != ECRED_OK;
}

/* --- setup and reports ------------------------------------------------- */

static void setup(bench_ctx *b, const char *dir, const ecred_key *priv, int mode)
{
    int32_t vf = 0, latest = INT32_MIN;
    for (int i = 0; i < N_EXAMPLES; i++) {
        make_sample(dir, examples[i], priv, mode, (uint64_t)(77 + i), &b->s[i], &vf);
        latest = vf > latest ? vf : latest;
    }
    b->next = 0;
    /* A day after the latest valid_from: inside every example's window. */
    b->now = ecred_cst_day_start(latest) + 86400;
}

static void report_pair(const char *figure, const bench_pair *p, const char *note)
{
    char spread[96];
    snprintf(spread, sizeof spread, "%.3f..%.3f (n=%d)", p->ratio_min, p->ratio_max, p->reps);
    bench_row(figure, p->rate, "verif/s", "raw OpenSSL ES256 EVP_DigestVerify", p->base_rate,
              p->ratio, spread, note);
}

/* Time one stage alone: microseconds per op, and its share of the decide time. */
static void report_stage(const char *figure, bench_fn fn, bench_ctx *b, const bench_opts *o,
                         double decide_us, double minus_us, double *us_out)
{
    double r[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    for (int i = 0; i < reps; i++)
        r[i] = bench_rate(fn, b, o, 8);
    double rate = bench_median(r, (size_t)reps);
    double us = (rate > 0 ? 1e6 / rate : 0) - minus_us;
    *us_out = us;
    char note[128];
    snprintf(note, sizeof note, "%.1f%% of one decision (%.2f us)", 100 * us / decide_us, decide_us);
    bench_row(figure, us, "us/op", "the whole ecred_decide", decide_us, us / decide_us, "", note);
}

static void run_mode(bench_ctx *b, const char *dir, const ecred_key *priv, int mode,
                     const char *label, const bench_opts *o)
{
    setup(b, dir, priv, mode);
    bench_pair p;
    if (bench_compare(op_decide, b, op_raw_verify, b, o, 4, &p))
        die("a verification failed");
    char fig[128], note[160];
    snprintf(fig, sizeof fig, "verify pipeline, %s", label);
    snprintf(note, sizeof note, "goal >= 0.90; texts of %zu/%zu/%zu chars", b->s[0].text.len,
             b->s[1].text.len, b->s[2].text.len);
    report_pair(fig, &p, note);

    double decide_us = 1e6 / p.rate, us, cose_dec_us;
    snprintf(fig, sizeof fig, "  floor %s: raw OpenSSL ES256 with its contexts kept", label);
    report_stage(fig, op_raw_kept, b, o, decide_us, 0, &us);
    snprintf(fig, sizeof fig, "  stage %s: prefix+base45+inflate (qrtext_decode)", label);
    report_stage(fig, op_qrtext, b, o, decide_us, 0, &us);
    snprintf(fig, sizeof fig, "  stage %s: base45 alone", label);
    report_stage(fig, op_b45, b, o, decide_us, 0, &us);
    if (mode == ECRED_COMPRESS_DICT) {
        snprintf(fig, sizeof fig, "  stage %s: inflate alone", label);
        report_stage(fig, op_inflate, b, o, decide_us, 0, &us);
    }
    snprintf(fig, sizeof fig, "  stage %s: COSE_Sign1 decode (cursor)", label);
    report_stage(fig, op_cose_decode, b, o, decide_us, 0, &cose_dec_us);
    snprintf(fig, sizeof fig, "  stage %s: Sig_structure + ES256 verify", label);
    report_stage(fig, op_cose_verify, b, o, decide_us, cose_dec_us, &us);
    snprintf(fig, sizeof fig, "  stage %s: CWT claims decode", label);
    report_stage(fig, op_claims, b, o, decide_us, 0, &us);
    snprintf(fig, sizeof fig, "  stage %s: status lookup", label);
    report_stage(fig, op_status, b, o, decide_us, 0, &us);
    for (int i = 0; i < N_EXAMPLES; i++)
        free_sample(&b->s[i]);
}

static void write_texts(bench_ctx *b, const char *dir, const ecred_key *priv, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write the texts file");
    const int modes[2] = {ECRED_COMPRESS_NONE, ECRED_COMPRESS_DICT};
    for (int m = 0; m < 2; m++) {
        setup(b, dir, priv, modes[m]);
        for (int i = 0; i < N_EXAMPLES; i++)
            fprintf(f, "%s\n", (const char *)b->s[i].text.ptr);
        for (int i = 0; i < N_EXAMPLES; i++)
            free_sample(&b->s[i]);
    }
    if (fclose(f) != 0)
        die("cannot write the texts file");
}

/* Our decide on exactly the texts the peer verifies (a file of lines). */
static void run_texts(bench_ctx *b, const char *path, const bench_opts *o)
{
    ecred_buf all = ECRED_BUF_INIT;
    if (ecred_read_file(path, 1 << 20, &all) || ecred_buf_terminate(&all))
        die("cannot read the texts file");
    /* Reuse the sample slots: the texts file holds 2 * N_EXAMPLES lines;
     * measure the compressed half and the plain half together by cycling. */
    sample peer[2 * N_EXAMPLES];
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)all.ptr, "\n", &save); line && n < 2 * N_EXAMPLES;
         line = strtok_r(NULL, "\n", &save)) {
        memset(&peer[n], 0, sizeof peer[n]);
        if (ecred_buf_set(&peer[n].text, line, strlen(line)))
            die("out of memory");
        n++;
    }
    if (n == 0)
        die("empty texts file");
    double rates[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    for (int r = 0; r < reps; r++) {
        uint64_t done = 0;
        double t0 = bench_cpu_now(), t = t0;
        while (t - t0 < o->seconds && done < o->max_iters) {
            for (size_t i = 0; i < n; i++) {
                ecred_verdict v;
                if (ecred_decide((const char *)peer[i].text.ptr, peer[i].text.len, &b->keys,
                                 &b->status, b->now, &v) != ECRED_OK)
                    die("a peer text did not verify");
            }
            done += n;
            t = bench_cpu_now();
        }
        rates[r] = (double)done / (t - t0);
    }
    printf("PEERTEXTS|%.6g\n", bench_median(rates, (size_t)reps));
    for (size_t i = 0; i < n; i++)
        ecred_buf_free(&peer[i].text);
    ecred_buf_free(&all);
}

int main(int argc, char **argv)
{
    bench_opts o = {5, 0.4, 2000000};
    const char *dir = ECRED_SOURCE_DIR, *texts_out = NULL, *texts_in = NULL, *profile = NULL;
    long profile_n = 0;
    for (int i = 1; i < argc; i++) {
        int t = bench_take_common(argc, argv, &i, &o);
        if (t < 0)
            die("bad --reps or --seconds");
        if (t)
            continue;
        if (strcmp(argv[i], "--source-dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--texts-out") == 0 && i + 1 < argc)
            texts_out = argv[++i];
        else if (strcmp(argv[i], "--texts") == 0 && i + 1 < argc)
            texts_in = argv[++i];
        else if (strcmp(argv[i], "--profile") == 0 && i + 2 < argc) {
            profile = argv[++i];
            profile_n = strtol(argv[++i], NULL, 10);
            if (profile_n < 1 || profile_n > 1000000)
                die("--profile MODE N: N in 1..1000000");
        } else {
            fprintf(stderr, "usage: bench_verify [--reps N] [--seconds S] [--source-dir DIR]\n"
                            "       [--texts-out FILE | --texts FILE | --profile none|dict N]\n");
            return 2;
        }
    }

    static bench_ctx b;
    ecred_key *priv = NULL, *pub = NULL;
    ecred_buf pem = bench_read_source("bench_verify", dir, "tests/vectors/keys/test-issuer.key.pem");
    if (ecred_key_private_from_pem(pem.ptr, pem.len, &priv))
        die("cannot load the test issuer key");
    ecred_buf_wipe(&pem);
    ecred_buf pubpem = bench_read_source("bench_verify", dir, "tests/vectors/keys/test-issuer.pub.pem");
    if (ecred_key_public_from_bytes(pubpem.ptr, pubpem.len, &pub))
        die("cannot load the test issuer public key");
    BIO *bio = BIO_new_mem_buf(pubpem.ptr, (int)pubpem.len);
    b.raw_pub = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    ecred_buf_free(&pubpem);
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!b.raw_pub || !md)
        die("OpenSSL setup failed");
    b.kept_md = EVP_MD_CTX_new();
    b.kept_pctx = EVP_PKEY_CTX_new_from_pkey(NULL, b.raw_pub, NULL);
    if (!b.kept_md || !b.kept_pctx || EVP_PKEY_verify_init(b.kept_pctx) != 1)
        die("OpenSSL setup failed");
    b.sha256 = md;
    b.pub = pub;
    ecred_trusted_key tk = {pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    b.keys = (ecred_keyset){&tk, 1};
    b.status = (ecred_status_source){slist_lookup, &b, 86400};
    /* A realistic list: the profile's minimum herd, all VALID. */
    if (ecred_slist_init(&b.list, ECRED_SLIST_BITS, ECRED_SLIST_MIN_ENTRIES))
        die("cannot make the status list");

    if (profile) {
        int mode = strcmp(profile, "dict") == 0 ? ECRED_COMPRESS_DICT : ECRED_COMPRESS_NONE;
        setup(&b, dir, priv, mode);
        for (long i = 0; i < profile_n; i++)
            if (op_decide(&b))
                die("a verification failed");
        for (int i = 0; i < N_EXAMPLES; i++)
            free_sample(&b.s[i]);
    } else if (texts_out) {
        write_texts(&b, dir, priv, texts_out);
    } else if (texts_in) {
        /* setup fixes "now" inside the examples' validity windows. */
        setup(&b, dir, priv, ECRED_COMPRESS_NONE);
        for (int i = 0; i < N_EXAMPLES; i++)
            free_sample(&b.s[i]);
        run_texts(&b, texts_in, &o);
    } else {
        run_mode(&b, dir, priv, ECRED_COMPRESS_NONE, "uncompressed", &o);
        run_mode(&b, dir, priv, ECRED_COMPRESS_DICT, "dict-compressed", &o);
    }

    ecred_slist_free(&b.list);
    EVP_PKEY_CTX_free(b.kept_pctx);
    EVP_MD_CTX_free(b.kept_md);
    EVP_MD_free(md);
    EVP_PKEY_free(b.raw_pub);
    ecred_key_free(pub);
    ecred_key_free(priv);
    return 0;
}
