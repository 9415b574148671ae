/*
 * test_decide.c - the whole verify path from QR text to one outcome: the
 * spec vectors (spec/vectors/credentials.txt), then every rejection path the
 * format defines, driven through ecred_decide exactly as the CLI and the
 * daemon call it: forged signature and header bytes, alg swaps, misplaced
 * headers, foreign keys, trailing bytes, truncation, wrong tags, oversized and
 * deeply nested CBOR, a zlib bomb, bad base45, validity window and status.
 */
#include "check.h"
#include "ecred/b45.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/issue.h"
#include "ecred/crypto.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"
#include "ecred/zcap.h"

static ecred_key *issuer_key, *other_key, *eddsa_key;

static ecred_key *load_private(const char *rel)
{
    ecred_buf pem = check_read_source_file(rel);
    ecred_key *k = NULL;
    if (ecred_key_private_from_pem(pem.ptr, pem.len, &k) != ECRED_OK) {
        fprintf(stderr, "cannot load %s\n", rel);
        exit(2);
    }
    ecred_buf_wipe(&pem);
    return k;
}

static ecred_keyset keyset_of(ecred_trusted_key *tk, const ecred_key *k)
{
    *tk = (ecred_trusted_key){k, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    return (ecred_keyset){tk, 1};
}

/* A valid permit signed by the test key; iat 2026-11-26 10:00 CST. */
static ecred_claims sample_claims(void)
{
    ecred_buf json = check_read_source_file("spec/examples/permit-rental.json");
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_field_error field;
    if (ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, &field)) {
        fprintf(stderr, "example does not parse: %s: %s\n", field.field, field.why);
        exit(2);
    }
    ecred_buf_free(&json);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 10 * 3600;
    c.cti_len = 8;
    memset(c.cti, 0x42, 8);
    c.has_status = true;
    c.status_idx = 77;
    strcpy(c.status_uri, "https://jzz.sh.gov.cn/s/1");
    return c;
}

static int64_t NOW; /* a moment inside the sample's validity */

static ecred_err decide_text(const char *text, size_t n, const ecred_key *k)
{
    ecred_trusted_key tk;
    ecred_keyset ks = keyset_of(&tk, k);
    ecred_verdict v;
    return ecred_decide(text, n, &ks, NULL, NOW, &v);
}

/* Re-wrap raw COSE bytes (possibly damaged) as uncompressed QR text. */
static ecred_err decide_cose(const uint8_t *cose, size_t n, const ecred_key *k)
{
    ecred_buf b45 = ECRED_BUF_INIT, text = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_encode(cose, n, &b45);
    if (e)
        return e;
    ecred_buf_append(&text, "RC1:", 4);
    ecred_buf_append(&text, b45.ptr, b45.len);
    e = decide_text((const char *)text.ptr, text.len, k);
    ecred_buf_free(&b45);
    ecred_buf_free(&text);
    return e;
}

static void test_spec_vectors(void)
{
    ecred_buf f = check_read_source_file("spec/vectors/credentials.txt");
    ecred_key *pub = NULL;
    ecred_buf pem = check_read_source_file("tests/vectors/keys/test-issuer.pub.pem");
    CHECK_ERR(ecred_key_public_from_bytes(pem.ptr, pem.len, &pub), ECRED_OK);
    ecred_buf_free(&pem);
    ecred_trusted_key tk;
    ecred_keyset ks = keyset_of(&tk, pub);
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)f.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *col[5];
        col[0] = line;
        for (int i = 1; i < 5; i++) {
            char *t = strchr(col[i - 1], '\t');
            if (!t) {
                fprintf(stderr, "bad vector line\n");
                exit(2);
            }
            *t = 0;
            col[i] = t + 1;
        }
        int64_t at;
        CHECK_ERR(ecred_time_parse(col[1], &at), ECRED_OK);
        ecred_verdict v;
        ecred_decide(col[4], strlen(col[4]), &ks, NULL, at, &v);
        if (strcmp(ecred_err_reason(v.outcome), col[2]) != 0)
            fprintf(stderr, "vector %s: got %s want %s\n", col[0], ecred_err_reason(v.outcome), col[2]);
        CHECK(strcmp(ecred_err_reason(v.outcome), col[2]) == 0);
        if (strcmp(col[3], "-") != 0) {
            /* The credential inside is exactly the example it was made from. */
            ecred_buf json = check_read_source_file(col[3]);
            ecred_credential want;
            ecred_field_error field;
            CHECK_ERR(ecred_credential_from_json((const char *)json.ptr, json.len, &want, &field), ECRED_OK);
            CHECK(v.claims_ok && memcmp(&want, &v.claims.cred, sizeof want) == 0);
            CHECK((v.claims.has_status && strcmp(v.claims.status_uri, "https://jzz.sh.gov.cn/s/1") == 0) ||
                  (!v.claims.has_status && strncmp(col[0], "permit-relative-", 16) == 0));
            ecred_buf_free(&json);
        }
        cases++;
    }
    CHECK(cases >= 17);
    ecred_key_free(pub);
    ecred_buf_free(&f);
}

static void test_forgery_loops(void)
{
    ecred_claims c = sample_claims();
    ecred_buf text = ECRED_BUF_INIT, cose = ECRED_BUF_INIT;
    CHECK_ERR(ecred_issue_sign(issuer_key, &c, ECRED_COMPRESS_NONE, &text, &cose), ECRED_OK);
    CHECK_ERR(decide_cose(cose.ptr, cose.len, issuer_key), ECRED_OK);

    ecred_cose_sign1 msg;
    CHECK_ERR(ecred_cose_sign1_decode(cose.ptr, cose.len, NULL, &msg), ECRED_OK);
    size_t sig_off = cose.len - 64;
    size_t prot_off = (size_t)(msg.protected_bytes.ptr - msg.protected_bytes.ptr) + 3; /* d2 84 4d */
    size_t prot_len = msg.protected_bytes.len;
    ecred_cose_sign1_clear(&msg);
    CHECK(prot_len == 13);

    uint8_t *copy = malloc(cose.len + 1);
    /* Every signature byte flipped: a forgery, always bad_signature. */
    for (size_t i = sig_off; i < cose.len; i++) {
        memcpy(copy, cose.ptr, cose.len);
        copy[i] ^= 0x01;
        CHECK_ERR(decide_cose(copy, cose.len, issuer_key), ECRED_ERR_SIGNATURE_INVALID);
    }
    /* Every protected header byte flipped: never accepted. Some flips break
     * the CBOR, some change alg or kid; all must fail. */
    for (size_t i = prot_off; i < prot_off + prot_len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, cose.ptr, cose.len);
            copy[i] ^= (uint8_t)(1u << bit);
            CHECK(decide_cose(copy, cose.len, issuer_key) != ECRED_OK);
        }
    }
    /* Every other byte (envelope and payload): never accepted. */
    for (size_t i = 0; i < sig_off; i++) {
        memcpy(copy, cose.ptr, cose.len);
        copy[i] ^= 0x80;
        CHECK(decide_cose(copy, cose.len, issuer_key) != ECRED_OK);
    }
    /* Truncation at every length. */
    for (size_t n = 0; n < cose.len; n++)
        CHECK(decide_cose(cose.ptr, n, issuer_key) != ECRED_OK);
    /* Trailing bytes. */
    memcpy(copy, cose.ptr, cose.len);
    copy[cose.len] = 0x00;
    CHECK_ERR(decide_cose(copy, cose.len + 1, issuer_key), ECRED_ERR_CBOR);
    /* Wrong tag: 17 (COSE_Mac0) and none. */
    memcpy(copy, cose.ptr, cose.len);
    copy[0] = 0xd1;
    CHECK_ERR(decide_cose(copy, cose.len, issuer_key), ECRED_ERR_COSE_STRUCTURE);
    CHECK_ERR(decide_cose(cose.ptr + 1, cose.len - 1, issuer_key), ECRED_ERR_COSE_STRUCTURE);
    /* alg swapped to EdDSA in the protected header (a2 01 26 -> a2 01 27):
     * the ES256 key refuses before any crypto runs. */
    memcpy(copy, cose.ptr, cose.len);
    CHECK(copy[prot_off + 2] == 0x26);
    copy[prot_off + 2] = 0x27;
    CHECK_ERR(decide_cose(copy, cose.len, issuer_key), ECRED_ERR_KEY_ALG_MISMATCH);
    copy[prot_off + 2] = 0x38; /* -25: ECDH, not a signature alg, and breaks the CBOR */
    CHECK(decide_cose(copy, cose.len, issuer_key) != ECRED_OK);
    /* Kid of another key: unknown_key, and a keyset with the other key. */
    CHECK_ERR(decide_cose(cose.ptr, cose.len, other_key), ECRED_ERR_KEY_UNKNOWN);
    free(copy);
    ecred_buf_free(&text);
    ecred_buf_free(&cose);
}

/* Sign claims with explicit header choices, bypassing ecred_issue_sign. */
static ecred_err sign_with(const ecred_key *k, bool kid_protected, ecred_buf *cose)
{
    ecred_claims c = sample_claims();
    ecred_buf payload = ECRED_BUF_INIT;
    ecred_cose_sign_opts o = {.kid_in_protected = kid_protected, .omit_kid = false, .typ = NULL};
    ecred_err e = ecred_claims_encode(&c, &payload);
    if (!e)
        e = ecred_cose_sign1_sign(k, &o, payload.ptr, payload.len, cose);
    ecred_buf_free(&payload);
    return e;
}

/* Build a COSE_Sign1 by hand: lets a test put alg in the unprotected bucket. */
static void test_header_placement(void)
{
    ecred_buf cose = ECRED_BUF_INIT;
    /* kid only in the unprotected header: refused for our format. */
    CHECK_ERR(sign_with(issuer_key, false, &cose), ECRED_OK);
    CHECK_ERR(decide_cose(cose.ptr, cose.len, issuer_key), ECRED_ERR_COSE_HEADER);
    /* alg in the unprotected header: d2 84 43 a1 04 ... | a1 01 26 | ... */
    static const uint8_t alg_unprot[] = {0xd2, 0x84, 0x4b, 0xa1, 0x04, 0x48, 1, 2, 3, 4, 5, 6, 7, 8,
                                         0xa1, 0x01, 0x26, 0x41, 0xa0, 0x58, 0x40};
    ecred_buf m = ECRED_BUF_INIT;
    ecred_buf_append(&m, alg_unprot, sizeof alg_unprot);
    uint8_t zeros[64] = {0};
    ecred_buf_append(&m, zeros, 64);
    CHECK_ERR(decide_cose(m.ptr, m.len, issuer_key), ECRED_ERR_COSE_HEADER);
    /* An EdDSA-signed credential verifies with the EdDSA key (alg -8). */
    CHECK_ERR(sign_with(eddsa_key, true, &cose), ECRED_OK);
    CHECK_ERR(decide_cose(cose.ptr, cose.len, eddsa_key), ECRED_OK);
    ecred_buf_free(&m);
    ecred_buf_free(&cose);
}

static void test_text_layer(void)
{
    ecred_claims c = sample_claims();
    ecred_buf text = ECRED_BUF_INIT;
    CHECK_ERR(ecred_issue_sign(issuer_key, &c, ECRED_COMPRESS_DICT, &text, NULL), ECRED_OK);
    const char *t = (const char *)text.ptr;
    CHECK_ERR(decide_text(t, text.len, issuer_key), ECRED_OK);
    /* Whitespace around is fine (scanners add newlines). */
    char padded[2100];
    snprintf(padded, sizeof padded, "  %s\r\n", t);
    CHECK_ERR(decide_text(padded, strlen(padded), issuer_key), ECRED_OK);
    CHECK_ERR(decide_text("", 0, issuer_key), ECRED_ERR_NOT_OUR_FORMAT);
    CHECK_ERR(decide_text("https://example.com/", 20, issuer_key), ECRED_ERR_NOT_OUR_FORMAT);
    CHECK_ERR(decide_text("rc1:ABC", 7, issuer_key), ECRED_ERR_NOT_OUR_FORMAT);
    CHECK_ERR(decide_text("RC1:", 4, issuer_key), ECRED_ERR_COSE_STRUCTURE);
    CHECK_ERR(decide_text("RC1:A", 5, issuer_key), ECRED_ERR_BASE45);
    CHECK_ERR(decide_text("RC1:GGW", 7, issuer_key), ECRED_ERR_BASE45);
    CHECK_ERR(decide_text("RC1:ab0", 7, issuer_key), ECRED_ERR_BASE45);
    /* Over the text cap, before any decoding. */
    char *big = malloc(ECRED_QRTEXT_MAX + 2);
    memset(big, 'A', ECRED_QRTEXT_MAX + 1);
    memcpy(big, "RC1:", 4);
    CHECK_ERR(decide_text(big, ECRED_QRTEXT_MAX + 1, issuer_key), ECRED_ERR_TOO_LARGE);
    free(big);
    /* Each character of the base45 replaced by one outside the alphabet. */
    for (size_t i = 4; i < text.len; i += 7) {
        char *copy = strdup(t);
        copy[i] = '#';
        CHECK_ERR(decide_text(copy, text.len, issuer_key), ECRED_ERR_BASE45);
        free(copy);
    }

    /* A zlib bomb: 1 MiB of zeros compresses to ~1 KiB; the 1400-byte inflate
     * cap stops it while inflating. */
    uint8_t *zeros = calloc(1, 1 << 20);
    zeros[0] = 0xd2;
    ecred_buf z = ECRED_BUF_INIT, b45 = ECRED_BUF_INIT, bomb = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(zeros, 1 << 20, 9, ecred_rc1_dictionary(), &z), ECRED_OK);
    CHECK_ERR(ecred_b45_encode(z.ptr, z.len, &b45), ECRED_OK);
    ecred_buf_append(&bomb, "RC1:", 4);
    ecred_buf_append(&bomb, b45.ptr, b45.len);
    CHECK(bomb.len < ECRED_QRTEXT_MAX);
    CHECK_ERR(decide_text((const char *)bomb.ptr, bomb.len, issuer_key), ECRED_ERR_TOO_LARGE);
    /* A zlib stream that needs a dictionary we do not have. */
    static const uint8_t other_dict[] = "another dictionary";
    CHECK_ERR(ecred_zlib_compress(zeros, 100, 9, ecred_span_of(other_dict, sizeof other_dict - 1), &z), ECRED_OK);
    CHECK_ERR(ecred_b45_encode(z.ptr, z.len, &b45), ECRED_OK);
    bomb.len = 4;
    ecred_buf_append(&bomb, b45.ptr, b45.len);
    CHECK_ERR(decide_text((const char *)bomb.ptr, bomb.len, issuer_key), ECRED_ERR_INFLATE);
    free(zeros);
    ecred_buf_free(&z);
    ecred_buf_free(&b45);
    ecred_buf_free(&bomb);
    ecred_buf_free(&text);
}

static void test_oversized_and_nested(void)
{
    /* A COSE_Sign1 whose payload is 1000 bytes: within the text cap, but its
     * claims are garbage: malformed, and never parsed before the signature. */
    ecred_buf cose = ECRED_BUF_INIT;
    uint8_t payload[1000];
    memset(payload, 0x81, sizeof payload); /* 1000 nested arrays */
    ecred_cose_sign_opts o = {.kid_in_protected = true, .omit_kid = false, .typ = NULL};
    CHECK_ERR(ecred_cose_sign1_sign(issuer_key, &o, payload, sizeof payload, &cose), ECRED_OK);
    /* Signed by a trusted key, so the claims get parsed: depth cap. */
    CHECK_ERR(decide_cose(cose.ptr, cose.len, issuer_key), ECRED_ERR_CBOR_LIMIT);
    /* Deep nesting inside the protected header is caught by the envelope decoder. */
    uint8_t deep[40] = {0xd2, 0x84, 0x58, 0x20};
    memset(deep + 4, 0x81, 0x20);
    CHECK(decide_cose(deep, 4 + 0x20, issuer_key) != ECRED_OK);
    /* An array declaring 2^32 items in a few bytes: refused, no allocation. */
    static const uint8_t huge[] = {0xd2, 0x9b, 0, 0, 0, 1, 0, 0, 0, 0, 0x40};
    CHECK(decide_cose(huge, sizeof huge, issuer_key) != ECRED_OK);
    /* A bstr declaring 4 GiB. */
    static const uint8_t longstr[] = {0xd2, 0x84, 0x5a, 0xff, 0xff, 0xff, 0xff, 0xa0};
    CHECK(decide_cose(longstr, sizeof longstr, issuer_key) != ECRED_OK);
    ecred_buf_free(&cose);
}

static void test_validity_and_trust(void)
{
    ecred_claims c = sample_claims();
    ecred_buf text = ECRED_BUF_INIT;
    CHECK_ERR(ecred_issue_sign(issuer_key, &c, ECRED_COMPRESS_AUTO, &text, NULL), ECRED_OK);
    const char *t = (const char *)text.ptr;
    ecred_trusted_key tk = {issuer_key, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset ks = {&tk, 1};
    ecred_verdict v;
    int64_t first = ecred_cst_day_start(c.cred.valid_from);
    int64_t end = ecred_cst_day_start(c.cred.valid_until + 1);
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, first - 1, &v), ECRED_ERR_NOT_YET_VALID);
    CHECK(v.claims_ok); /* the verdict still shows what it was */
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, first, &v), ECRED_OK);
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, end - 1, &v), ECRED_OK);
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, end, &v), ECRED_ERR_EXPIRED);
    /* Key trusted only for registration certificates. */
    tk.types = ECRED_TYPE_MASK_REGISTRATION;
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, NOW, &v), ECRED_ERR_KEY_UNKNOWN);
    /* Key rotated out before this credential's iat. */
    tk.types = ECRED_TYPE_MASK_ALL;
    tk.sign_until = c.iat - 1;
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, NOW, &v), ECRED_ERR_KEY_UNKNOWN);
    tk.sign_until = c.iat;
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, NOW, &v), ECRED_OK);
    /* Key bound to another status list host. */
    tk.status_uri_prefix = "https://other.example/";
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, NOW, &v), ECRED_ERR_KEY_UNKNOWN);
    tk.status_uri_prefix = "https://jzz.sh.gov.cn/s/";
    CHECK_ERR(ecred_decide(t, text.len, &ks, NULL, NOW, &v), ECRED_OK);
    /* No keys at all. */
    ecred_keyset empty = {NULL, 0};
    CHECK_ERR(ecred_decide(t, text.len, &empty, NULL, NOW, &v), ECRED_ERR_KEY_UNKNOWN);
    ecred_buf_free(&text);
}

struct fake_status {
    ecred_err result;
    unsigned value;
    int64_t as_of;
    uint64_t seen_idx;
};

static ecred_err fake_lookup(void *ctx, const char *uri, uint64_t idx, unsigned *status, int64_t *as_of)
{
    struct fake_status *f = ctx;
    (void)uri;
    f->seen_idx = idx;
    if (f->result)
        return f->result;
    *status = f->value;
    *as_of = f->as_of;
    return ECRED_OK;
}

static void test_status(void)
{
    ecred_claims c = sample_claims();
    ecred_buf text = ECRED_BUF_INIT;
    CHECK_ERR(ecred_issue_sign(issuer_key, &c, ECRED_COMPRESS_AUTO, &text, NULL), ECRED_OK);
    const char *t = (const char *)text.ptr;
    ecred_trusted_key tk;
    ecred_keyset ks = keyset_of(&tk, issuer_key);
    struct fake_status fs = {ECRED_OK, ECRED_STATUS_VALID, NOW - 60, 0};
    ecred_status_source src = {fake_lookup, &fs, 24 * 3600};
    ecred_verdict v;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_OK);
    CHECK(v.status_checked && v.status_as_of == NOW - 60 && fs.seen_idx == 77);
    fs.as_of = NOW - 24 * 3600 - 1;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_STATUS_STALE);
    fs.value = ECRED_STATUS_INVALID; /* revocation counts even from old data */
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_REVOKED);
    fs.value = ECRED_STATUS_SUSPENDED;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_SUSPENDED);
    fs.value = 3;
    fs.as_of = NOW;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_STATUS_LIST);
    fs.result = ECRED_ERR_STATUS_UNAVAILABLE;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_STATUS_UNAVAILABLE);
    CHECK(!v.status_checked);
    /* An index outside the list is its own rejection, not "unavailable". */
    fs.result = ECRED_ERR_STATUS_INDEX;
    CHECK_ERR(ecred_decide(t, text.len, &ks, &src, NOW, &v), ECRED_ERR_STATUS_INDEX);
    CHECK(strcmp(ecred_err_reason(v.outcome), "status_index_invalid") == 0 && ecred_err_exit_code(v.outcome) == 18);
    ecred_buf_free(&text);
}

int main(void)
{
    issuer_key = load_private("tests/vectors/keys/test-issuer.key.pem");
    eddsa_key = load_private("tests/vectors/keys/test-eddsa.key.pem");
    if (ecred_key_generate(ECRED_COSE_ALG_ES256, &other_key) != ECRED_OK)
        return 2;
    ecred_claims c = sample_claims();
    NOW = c.iat + 3600;
    test_spec_vectors();
    test_forgery_loops();
    test_header_placement();
    test_text_layer();
    test_oversized_and_nested();
    test_validity_and_trust();
    test_status();
    ecred_key_free(issuer_key);
    ecred_key_free(other_key);
    ecred_key_free(eddsa_key);
    return check_finish();
}
