/*
 * test_trustlist.c - the signed trust list (spec/trustlist.md): round trip and
 * key rotation, every rejection path of verify (one table row per malformed
 * payload, each signed by the real root so only the field under test is
 * wrong), a forgery loop over every byte, and the checked-in vector in
 * tests/vectors/trustlist/.
 */
#include <stdint.h>
#include <string.h>

#include <cbor.h>

#include "check.h"
#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "ecred/crypto.h"
#include "ecred/trustlist.h"

#define T_ROTATE INT64_C(1767225600) /* 2026-01-01T00:00:00Z: old key out, new key in */
#define T_YEAR INT64_C(31536000)
#define T_IAT (T_ROTATE - 10)
#define T_EXP (T_ROTATE + 30 * 86400)
#define PREFIX_OLD "https://a.example/status/"
#define PREFIX_NEW "https://a.example/status/2026/"

static ecred_key *root, *other_root, *key_old, *key_new;

static ecred_key *gen(int alg)
{
    ecred_key *k = NULL;
    if (ecred_key_generate(alg, &k) != ECRED_OK) {
        fprintf(stderr, "cannot generate a test key\n");
        exit(2);
    }
    return k;
}

/* The two-key rotation list used by most tests; entries point at a static array. */
static ecred_trustlist rotation_list(void)
{
    static ecred_trustlist_entry e[2];
    memset(e, 0, sizeof e);
    e[0].key = key_old;
    e[0].sign_from = (uint64_t)(T_ROTATE - T_YEAR);
    e[0].sign_until = (uint64_t)T_ROTATE;
    e[0].types = ECRED_TRUST_BITS_ALL;
    strcpy(e[0].status_uri_prefix, PREFIX_OLD);
    e[1].key = key_new;
    e[1].sign_from = (uint64_t)T_ROTATE;
    e[1].sign_until = (uint64_t)(T_ROTATE + 5 * T_YEAR);
    e[1].types = ECRED_TRUST_BIT_PERMIT;
    strcpy(e[1].status_uri_prefix, PREFIX_NEW);
    ecred_trustlist l;
    memset(&l, 0, sizeof l);
    strcpy(l.iss, "https://a.example");
    l.iat = (uint64_t)T_IAT;
    l.exp = (uint64_t)T_EXP;
    l.seq = 3;
    l.n_entries = 2;
    l.entries = e;
    return l;
}

static void test_round_trip(void)
{
    ecred_trustlist in = rotation_list(), out;
    ecred_buf signed_list = ECRED_BUF_INIT;
    CHECK_ERR(ecred_trustlist_sign(root, &in, &signed_list), ECRED_OK);
    CHECK_ERR(ecred_trustlist_verify(signed_list.ptr, signed_list.len, root, T_ROTATE, &out),
              ECRED_OK);
    CHECK(strcmp(out.iss, "https://a.example") == 0);
    CHECK(out.iat == (uint64_t)T_IAT && out.exp == (uint64_t)T_EXP && out.seq == 3);
    CHECK_MEM(out.root_kid, ecred_key_kid(root), ECRED_KID_LEN);
    CHECK(out.n_entries == 2);
    if (out.n_entries == 2) {
        CHECK_MEM(out.entries[0].kid, ecred_key_kid(key_old), ECRED_KID_LEN);
        CHECK(out.entries[0].alg == ECRED_COSE_ALG_ES256);
        CHECK(out.entries[1].alg == ECRED_COSE_ALG_EDDSA);
        CHECK(out.entries[0].types == ECRED_TRUST_BITS_ALL);
        CHECK(out.entries[1].types == ECRED_TRUST_BIT_PERMIT);
        CHECK(out.entries[0].sign_until == (uint64_t)T_ROTATE);
        CHECK(strcmp(out.entries[1].status_uri_prefix, PREFIX_NEW) == 0);
        CHECK_MEM(ecred_key_kid(out.entries[1].key), ecred_key_kid(key_new), ECRED_KID_LEN);
    }

    const uint8_t *kid_old = ecred_key_kid(key_old), *kid_new = ecred_key_kid(key_new);
    const ecred_trustlist_entry *e = NULL;
    /* Rotation: the old key signs up to and including T, the new one from T. */
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE - 100, ECRED_TRUST_TYPE_PERMIT, &e),
              ECRED_OK);
    CHECK(e == &out.entries[0]);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE, ECRED_TRUST_TYPE_PERMIT, &e),
              ECRED_OK);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE + 1, ECRED_TRUST_TYPE_PERMIT, &e),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE - T_YEAR - 1,
                                   ECRED_TRUST_TYPE_PERMIT, &e), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_new, 8, T_ROTATE + 1, ECRED_TRUST_TYPE_PERMIT, &e),
              ECRED_OK);
    CHECK(e == &out.entries[1]);
    CHECK_ERR(ecred_trustlist_find(&out, kid_new, 8, T_ROTATE - 1, ECRED_TRUST_TYPE_PERMIT, &e),
              ECRED_ERR_KEY_UNKNOWN);
    /* Types: the new key may sign permits only. */
    CHECK_ERR(ecred_trustlist_find(&out, kid_new, 8, T_ROTATE + 1,
                                   ECRED_TRUST_TYPE_REGISTRATION, &e), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_new, 8, T_ROTATE + 1,
                                   ECRED_TRUST_TYPE_STATUS_LIST, &e), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE - 1,
                                   ECRED_TRUST_TYPE_STATUS_LIST, &e), ECRED_OK);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, T_ROTATE - 1, 3, &e), ECRED_ERR_KEY_UNKNOWN);
    /* Unlisted kids, short kids, negative times. */
    CHECK_ERR(ecred_trustlist_find(&out, ecred_key_kid(root), 8, T_ROTATE, 2, &e),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 7, T_ROTATE, 2, &e), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&out, kid_old, 8, -1, 2, &e), ECRED_ERR_KEY_UNKNOWN);

    if (out.n_entries == 2) {
        const char *ok = "https://a.example/status/2026/7", *bad = "https://a.example/status/7";
        CHECK(ecred_trustlist_uri_allowed(&out.entries[1], ok, strlen(ok)));
        CHECK(!ecred_trustlist_uri_allowed(&out.entries[1], bad, strlen(bad)));
        CHECK(ecred_trustlist_uri_allowed(&out.entries[0], bad, strlen(bad)));
        CHECK(!ecred_trustlist_uri_allowed(&out.entries[0], bad, 10));
    }
    CHECK_ERR(ecred_trustlist_check_newer(3, &out), ECRED_OK);
    CHECK_ERR(ecred_trustlist_check_newer(2, &out), ECRED_OK);
    CHECK_ERR(ecred_trustlist_check_newer(4, &out), ECRED_ERR_TRUST_LIST);

    /* Expiry: exp is the first instant the list is no longer valid. */
    ecred_trustlist tmp;
    CHECK_ERR(ecred_trustlist_verify(signed_list.ptr, signed_list.len, root, T_EXP - 1, &tmp),
              ECRED_OK);
    ecred_trustlist_free(&tmp);
    memset(&tmp, 0x5a, sizeof tmp);
    CHECK_ERR(ecred_trustlist_verify(signed_list.ptr, signed_list.len, root, T_EXP, &tmp),
              ECRED_ERR_LIST_EXPIRED);
    CHECK(tmp.n_entries == (size_t)0x5a5a5a5a5a5a5a5aULL); /* untouched on failure */
    /* Signed by a root we do not trust. */
    CHECK_ERR(ecred_trustlist_verify(signed_list.ptr, signed_list.len, other_root, T_ROTATE,
                                     &tmp), ECRED_ERR_KEY_UNKNOWN);
    /* Trailing bytes after the COSE_Sign1. */
    ecred_buf longer = ECRED_BUF_INIT;
    ecred_buf_append(&longer, signed_list.ptr, signed_list.len);
    ecred_buf_append(&longer, "\x00", 1);
    CHECK_ERR(ecred_trustlist_verify(longer.ptr, longer.len, root, T_ROTATE, &tmp), ECRED_ERR_CBOR);
    ecred_buf_free(&longer);
    /* Empty input, and more than the cap before any parsing. */
    CHECK(ecred_trustlist_verify((const uint8_t *)"", 0, root, T_ROTATE, &tmp) != ECRED_OK);
    uint8_t *big = calloc(ECRED_TRUSTLIST_MAX_BYTES + 1, 1);
    if (big) {
        memcpy(big, signed_list.ptr, signed_list.len);
        CHECK_ERR(ecred_trustlist_verify(big, ECRED_TRUSTLIST_MAX_BYTES + 1, root, T_ROTATE,
                                         &tmp), ECRED_ERR_TOO_LARGE);
        free(big);
    }

    /* Forgery loop: every signature byte flipped is a bad signature, and any
     * byte flipped anywhere is refused. The signature is the last 64 bytes. */
    size_t sig_at = signed_list.len - ECRED_SIG_MAX;
    int sig_bad = 0, any_bad = 0;
    for (size_t i = 0; i < signed_list.len; i++) {
        signed_list.ptr[i] ^= 0x01;
        ecred_err err = ecred_trustlist_verify(signed_list.ptr, signed_list.len, root, T_ROTATE,
                                               &tmp);
        if (err == ECRED_OK)
            ecred_trustlist_free(&tmp);
        if (i >= sig_at && err != ECRED_ERR_SIGNATURE_INVALID) {
            fprintf(stderr, "signature byte %zu flipped: %s\n", i, ecred_err_name(err));
            sig_bad++;
        }
        if (err == ECRED_OK) {
            fprintf(stderr, "byte %zu flipped still verifies\n", i);
            any_bad++;
        }
        signed_list.ptr[i] ^= 0x01;
    }
    CHECK(sig_bad == 0);
    CHECK(any_bad == 0);

    ecred_trustlist_free(&out);
    CHECK(out.entries == NULL && out.n_entries == 0);
    ecred_trustlist_free(&out); /* twice is harmless */
    ecred_trustlist_free(NULL);
    ecred_buf_free(&signed_list);
}

/* An EdDSA root signs deterministically, so the whole list must be byte-equal
 * when signed twice: the encoding is deterministic. */
static void test_deterministic(void)
{
    ecred_key *ed_root = gen(ECRED_COSE_ALG_EDDSA);
    ecred_trustlist in = rotation_list(), out;
    ecred_buf a = ECRED_BUF_INIT, b = ECRED_BUF_INIT;
    CHECK_ERR(ecred_trustlist_sign(ed_root, &in, &a), ECRED_OK);
    CHECK_ERR(ecred_trustlist_sign(ed_root, &in, &b), ECRED_OK);
    CHECK(a.len == b.len && a.len > 0 && memcmp(a.ptr, b.ptr, a.len) == 0);
    CHECK_ERR(ecred_trustlist_verify(a.ptr, a.len, ed_root, T_ROTATE, &out), ECRED_OK);
    ecred_trustlist_free(&out);
    /* The ES256 root's kid does not match: unknown root. */
    CHECK_ERR(ecred_trustlist_verify(a.ptr, a.len, root, T_ROTATE, &out), ECRED_ERR_KEY_UNKNOWN);
    ecred_buf_free(&a);
    ecred_buf_free(&b);
    ecred_key_free(ed_root);
}

/* sign refuses what verify would refuse. */
static void test_sign_refuses(void)
{
    ecred_buf out = ECRED_BUF_INIT;
    ecred_trustlist l = rotation_list();
    ecred_key *pub = NULL;
    ecred_buf pem = ECRED_BUF_INIT;
    CHECK_ERR(ecred_key_public_pem(root, &pem), ECRED_OK);
    CHECK_ERR(ecred_key_public_from_bytes(pem.ptr, pem.len, &pub), ECRED_OK);
    CHECK_ERR(ecred_trustlist_sign(pub, &l, &out), ECRED_ERR_ARG); /* no private part */
    ecred_key_free(pub);
    ecred_buf_free(&pem);

    l = rotation_list(); l.iat = l.exp + 1;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.iss[0] = '\0';
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.n_entries = 0;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.entries[1].key = key_old; /* duplicate kid */
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.entries[0].types = 0;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.entries[0].types = 1u << 9;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.entries[0].sign_from = l.entries[0].sign_until + 1;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); strcpy(l.entries[0].status_uri_prefix, "has space");
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    l = rotation_list(); l.entries[0].key = NULL;
    CHECK_ERR(ecred_trustlist_sign(root, &l, &out), ECRED_ERR_ARG);
    CHECK(out.len == 0);
}

/* ---- malformed payloads, each signed by the real root ----------------- */

enum mut {
    M_NONE, M_KID_MISMATCH, M_KID_SHORT, M_DUP_KID, M_ALG_MISMATCH, M_ALG_BAD, M_ALG_TEXT,
    M_ENTRY_EXTRA, M_LIST_EXTRA, M_LIST_TEXT_KEY, M_NO_KID, M_NO_ALG, M_NO_SPKI, M_NO_FROM,
    M_NO_UNTIL, M_NO_TYPES, M_NO_URI, M_NO_ISS, M_NO_EXP, M_NO_IAT, M_NO_SEQ, M_NO_ENTRIES,
    M_ENTRIES_EMPTY, M_ENTRIES_257, M_FROM_AFTER_UNTIL, M_IAT_AFTER_EXP, M_TYPES_EMPTY,
    M_TYPES_DUP, M_TYPES_TEXT, M_TYPES_17, M_TYPES_UNKNOWN_ONLY, M_URI_EMPTY, M_URI_SPACE,
    M_ISS_EMPTY, M_ISS_BAD_UTF8, M_ISS_NUL, M_SPKI_CERT, M_SPKI_GARBAGE, M_SEQ_NEGATIVE,
    M_EXP_TEXT, M_ENTRY_NOT_MAP, M_ENTRIES_MAP, M_PAYLOAD_ARRAY, M_PAYLOAD_TRAILING,
    M_FROM_NEGATIVE,
};

static const struct payload_case {
    const char *name;
    enum mut mut;
    ecred_err want;
} payload_cases[] = {
    {"baseline", M_NONE, ECRED_OK},
    {"kid_mismatch", M_KID_MISMATCH, ECRED_ERR_TRUST_LIST},
    {"kid_short", M_KID_SHORT, ECRED_ERR_TRUST_LIST},
    {"duplicate_kid", M_DUP_KID, ECRED_ERR_TRUST_LIST},
    {"alg_not_the_keys", M_ALG_MISMATCH, ECRED_ERR_TRUST_LIST},
    {"alg_unknown", M_ALG_BAD, ECRED_ERR_TRUST_LIST},
    {"alg_text", M_ALG_TEXT, ECRED_ERR_TRUST_LIST},
    {"entry_unknown_field", M_ENTRY_EXTRA, ECRED_ERR_TRUST_LIST},
    {"list_unknown_field", M_LIST_EXTRA, ECRED_ERR_TRUST_LIST},
    {"list_text_key", M_LIST_TEXT_KEY, ECRED_ERR_TRUST_LIST},
    {"no_kid", M_NO_KID, ECRED_ERR_TRUST_LIST},
    {"no_alg", M_NO_ALG, ECRED_ERR_TRUST_LIST},
    {"no_spki", M_NO_SPKI, ECRED_ERR_TRUST_LIST},
    {"no_sign_from", M_NO_FROM, ECRED_ERR_TRUST_LIST},
    {"no_sign_until", M_NO_UNTIL, ECRED_ERR_TRUST_LIST},
    {"no_types", M_NO_TYPES, ECRED_ERR_TRUST_LIST},
    {"no_uri", M_NO_URI, ECRED_ERR_TRUST_LIST},
    {"no_iss", M_NO_ISS, ECRED_ERR_TRUST_LIST},
    {"no_exp", M_NO_EXP, ECRED_ERR_TRUST_LIST},
    {"no_iat", M_NO_IAT, ECRED_ERR_TRUST_LIST},
    {"no_seq", M_NO_SEQ, ECRED_ERR_TRUST_LIST},
    {"no_entries", M_NO_ENTRIES, ECRED_ERR_TRUST_LIST},
    {"entries_empty", M_ENTRIES_EMPTY, ECRED_ERR_TRUST_LIST},
    {"entries_257", M_ENTRIES_257, ECRED_ERR_TRUST_LIST},
    {"sign_from_after_until", M_FROM_AFTER_UNTIL, ECRED_ERR_TRUST_LIST},
    {"iat_after_exp", M_IAT_AFTER_EXP, ECRED_ERR_TRUST_LIST},
    {"types_empty", M_TYPES_EMPTY, ECRED_ERR_TRUST_LIST},
    {"types_duplicate", M_TYPES_DUP, ECRED_ERR_TRUST_LIST},
    {"types_text", M_TYPES_TEXT, ECRED_ERR_TRUST_LIST},
    {"types_17", M_TYPES_17, ECRED_ERR_TRUST_LIST},
    {"types_unknown_only", M_TYPES_UNKNOWN_ONLY, ECRED_OK},
    {"uri_empty", M_URI_EMPTY, ECRED_ERR_TRUST_LIST},
    {"uri_space", M_URI_SPACE, ECRED_ERR_TRUST_LIST},
    {"iss_empty", M_ISS_EMPTY, ECRED_ERR_TRUST_LIST},
    {"iss_bad_utf8", M_ISS_BAD_UTF8, ECRED_ERR_TRUST_LIST},
    {"iss_nul", M_ISS_NUL, ECRED_ERR_TRUST_LIST},
    {"spki_is_certificate", M_SPKI_CERT, ECRED_ERR_TRUST_LIST},
    {"spki_garbage", M_SPKI_GARBAGE, ECRED_ERR_TRUST_LIST},
    {"seq_negative", M_SEQ_NEGATIVE, ECRED_ERR_TRUST_LIST},
    {"exp_text", M_EXP_TEXT, ECRED_ERR_TRUST_LIST},
    {"entry_not_map", M_ENTRY_NOT_MAP, ECRED_ERR_TRUST_LIST},
    {"entries_is_map", M_ENTRIES_MAP, ECRED_ERR_TRUST_LIST},
    {"payload_array", M_PAYLOAD_ARRAY, ECRED_ERR_TRUST_LIST},
    {"payload_trailing_byte", M_PAYLOAD_TRAILING, ECRED_ERR_TRUST_LIST},
    {"sign_from_negative", M_FROM_NEGATIVE, ECRED_ERR_TRUST_LIST},
};

static void put(cbor_item_t *map, int64_t k, cbor_item_t *v)
{
    if (ecred_cbor_map_put(map, ecred_cbor_int(k), v) != ECRED_OK) {
        fprintf(stderr, "cbor build failed\n");
        exit(2);
    }
}

static void push(cbor_item_t *array, cbor_item_t *v)
{
    if (!v || !cbor_array_push(array, v)) {
        fprintf(stderr, "cbor build failed\n");
        exit(2);
    }
    cbor_decref(&v);
}

/* One entry for key k, mutated per m. The map has room for an extra field. */
static cbor_item_t *build_entry(const ecred_key *k, enum mut m)
{
    ecred_buf spki = ECRED_BUF_INIT;
    if (m == M_SPKI_CERT) {
        spki = check_read_source_file("tests/vectors/keys/test-issuer.cert.der");
    } else if (m == M_SPKI_GARBAGE) {
        ecred_buf_set(&spki, "\x30\x03\x02\x01\x01", 5);
    } else if (ecred_key_spki_der(k, &spki) != ECRED_OK) {
        exit(2);
    }
    uint8_t kid[32];
    ecred_sha256(spki.ptr, spki.len, kid); /* = the key's kid for a real SPKI */
    if (m == M_KID_MISMATCH)
        kid[0] ^= 0xff;
    cbor_item_t *e = cbor_new_definite_map(8);
    if (m != M_NO_KID)
        put(e, 1, ecred_cbor_bytes(kid, m == M_KID_SHORT ? 7 : ECRED_KID_LEN));
    if (m != M_NO_ALG) {
        int alg = ecred_key_alg(k);
        if (m == M_ALG_MISMATCH)
            alg = alg == ECRED_COSE_ALG_ES256 ? ECRED_COSE_ALG_EDDSA : ECRED_COSE_ALG_ES256;
        put(e, 2, m == M_ALG_TEXT ? ecred_cbor_text("ES256", 5)
                                  : ecred_cbor_int(m == M_ALG_BAD ? -35 : alg));
    }
    if (m != M_NO_SPKI)
        put(e, 3, ecred_cbor_bytes(spki.ptr, spki.len));
    if (m != M_NO_FROM)
        put(e, 4, ecred_cbor_int(m == M_FROM_NEGATIVE ? -1
                                 : m == M_FROM_AFTER_UNTIL ? T_ROTATE + 1 : T_ROTATE - T_YEAR));
    if (m != M_NO_UNTIL)
        put(e, 5, ecred_cbor_int(T_ROTATE));
    if (m != M_NO_TYPES) {
        size_t n = m == M_TYPES_EMPTY ? 0 : m == M_TYPES_17 ? 17 : 2;
        cbor_item_t *types = cbor_new_definite_array(n);
        for (size_t i = 0; i < n; i++) {
            if (m == M_TYPES_TEXT && i == 1)
                push(types, ecred_cbor_text("2", 1));
            else if (m == M_TYPES_DUP)
                push(types, ecred_cbor_int(2));
            else if (m == M_TYPES_UNKNOWN_ONLY)
                push(types, ecred_cbor_int(50 + (int64_t)i));
            else
                push(types, ecred_cbor_int(m == M_TYPES_17 ? 1000 + (int64_t)i
                                                           : (int64_t)i + 1));
        }
        put(e, 6, types);
    }
    if (m != M_NO_URI) {
        const char *uri = m == M_URI_EMPTY ? "" : m == M_URI_SPACE ? "https://a b/" : PREFIX_OLD;
        put(e, 7, ecred_cbor_text(uri, strlen(uri)));
    }
    if (m == M_ENTRY_EXTRA)
        put(e, 8, ecred_cbor_int(0));
    ecred_buf_free(&spki);
    return e;
}

/* The whole payload for mutation m. */
static void build_payload(enum mut m, ecred_buf *out)
{
    if (m == M_PAYLOAD_ARRAY) {
        cbor_item_t *a = cbor_new_definite_array(1);
        push(a, build_entry(key_old, M_NONE));
        ecred_cbor_encode(a, out);
        cbor_decref(&a);
        return;
    }
    cbor_item_t *map = cbor_new_definite_map(6);
    if (m != M_NO_ISS) {
        const char *iss = "https://a.example";
        size_t n = strlen(iss);
        if (m == M_ISS_EMPTY) {
            n = 0;
        } else if (m == M_ISS_BAD_UTF8) {
            iss = "a\xc3\x28"; /* 0xc3 followed by a non-continuation byte */
            n = 3;
        } else if (m == M_ISS_NUL) {
            iss = "iss\0x";
            n = 5;
        }
        put(map, 1, ecred_cbor_text(iss, n));
    }
    if (m == M_LIST_EXTRA)
        put(map, 2, ecred_cbor_int(0));
    if (m != M_NO_EXP)
        put(map, 4, m == M_EXP_TEXT ? ecred_cbor_text("soon", 4) : ecred_cbor_int(T_EXP));
    if (m != M_NO_IAT)
        put(map, 6, ecred_cbor_int(m == M_IAT_AFTER_EXP ? T_EXP + 1 : T_IAT));
    if (m != M_NO_SEQ)
        put(map, ECRED_CWT_TRUSTLIST_SEQ, ecred_cbor_int(m == M_SEQ_NEGATIVE ? -3 : 3));
    if (m != M_NO_ENTRIES) {
        size_t n = m == M_ENTRIES_EMPTY ? 0 : m == M_ENTRIES_257 ? 257 : 2;
        cbor_item_t *entries = m == M_ENTRIES_MAP ? cbor_new_definite_map(0)
                                                  : cbor_new_definite_array(n);
        for (size_t i = 0; i < n && m != M_ENTRIES_MAP; i++) {
            if (m == M_ENTRY_NOT_MAP && i == 1)
                push(entries, ecred_cbor_int(1));
            else if (i == 1)
                push(entries, build_entry(m == M_DUP_KID ? key_old : key_new, M_NONE));
            else
                push(entries, build_entry(key_old, m));
        }
        put(map, ECRED_CWT_TRUSTLIST_ENTRIES, entries);
    }
    if (m == M_LIST_TEXT_KEY) {
        if (ecred_cbor_map_put(map, ecred_cbor_text("x", 1), ecred_cbor_int(0)) != ECRED_OK)
            exit(2);
    }
    if (ecred_cbor_encode(map, out) != ECRED_OK)
        exit(2);
    cbor_decref(&map);
    if (m == M_PAYLOAD_TRAILING)
        ecred_buf_append(out, "\x00", 1);
}

static void test_payload_cases(void)
{
    const ecred_cose_sign_opts opts = {true, false, ECRED_TRUSTLIST_TYP};
    for (size_t i = 0; i < sizeof payload_cases / sizeof payload_cases[0]; i++) {
        const struct payload_case *c = &payload_cases[i];
        ecred_buf payload = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
        build_payload(c->mut, &payload);
        CHECK_ERR(ecred_cose_sign1_sign(root, &opts, payload.ptr, payload.len, &msg), ECRED_OK);
        ecred_trustlist out;
        ecred_err got = ecred_trustlist_verify(msg.ptr, msg.len, root, T_ROTATE, &out);
        if (got != c->want)
            fprintf(stderr, "payload case %s:\n", c->name);
        CHECK_ERR(got, c->want);
        if (got == ECRED_OK) {
            if (c->mut == M_TYPES_UNKNOWN_ONLY) {
                /* Unknown types grant nothing. */
                const ecred_trustlist_entry *e;
                CHECK(out.entries[0].types == 0);
                for (int t = 0; t <= 100; t++)
                    CHECK_ERR(ecred_trustlist_find(&out, out.entries[0].kid, 8, T_ROTATE, t, &e),
                              ECRED_ERR_KEY_UNKNOWN);
            }
            ecred_trustlist_free(&out);
        }
        ecred_buf_free(&payload);
        ecred_buf_free(&msg);
    }
}

/* Envelope: typ must be ours; the root kid must be protected. */
static void test_envelope(void)
{
    static const struct {
        const char *name;
        ecred_cose_sign_opts opts;
        ecred_err want;
    } cases[] = {
        {"ours", {true, false, ECRED_TRUSTLIST_TYP}, ECRED_OK},
        {"status_list_typ", {true, false, "application/statuslist+cwt"}, ECRED_ERR_TRUST_LIST},
        {"typ_suffix", {true, false, ECRED_TRUSTLIST_TYP "x"}, ECRED_ERR_TRUST_LIST},
        {"no_typ", {true, false, NULL}, ECRED_ERR_TRUST_LIST},
        {"kid_unprotected", {false, false, ECRED_TRUSTLIST_TYP}, ECRED_ERR_KEY_UNKNOWN},
        {"no_kid", {true, true, ECRED_TRUSTLIST_TYP}, ECRED_ERR_KEY_UNKNOWN},
    };
    ecred_buf payload = ECRED_BUF_INIT;
    build_payload(M_NONE, &payload);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecred_buf msg = ECRED_BUF_INIT;
        CHECK_ERR(ecred_cose_sign1_sign(root, &cases[i].opts, payload.ptr, payload.len, &msg),
                  ECRED_OK);
        ecred_trustlist out;
        ecred_err got = ecred_trustlist_verify(msg.ptr, msg.len, root, T_ROTATE, &out);
        if (got != cases[i].want)
            fprintf(stderr, "envelope case %s:\n", cases[i].name);
        CHECK_ERR(got, cases[i].want);
        if (got == ECRED_OK)
            ecred_trustlist_free(&out);
        ecred_buf_free(&msg);
    }
    ecred_buf_free(&payload);
}

/* The checked-in vector: signed with tests/vectors/trustlist/root.key.pem by
 * `ecred-keys trustlist sign --in list.json`; its decoded fields are fixed. */
static void test_vector(void)
{
    ecred_buf pub_pem = check_read_source_file("tests/vectors/trustlist/root.pub.pem");
    ecred_buf priv_pem = check_read_source_file("tests/vectors/trustlist/root.key.pem");
    ecred_buf file = check_read_source_file("tests/vectors/trustlist/list.cose");
    ecred_key *vroot = NULL, *vpriv = NULL;
    CHECK_ERR(ecred_key_public_from_bytes(pub_pem.ptr, pub_pem.len, &vroot), ECRED_OK);
    CHECK_ERR(ecred_key_private_from_pem(priv_pem.ptr, priv_pem.len, &vpriv), ECRED_OK);
    if (!vroot || !vpriv)
        goto out;
    CHECK_MEM(ecred_key_kid(vroot), ecred_key_kid(vpriv), ECRED_KID_LEN);

    const uint64_t iat = UINT64_C(1795735543), exp = iat + 3650 * UINT64_C(86400);
    ecred_trustlist l;
    CHECK_ERR(ecred_trustlist_verify(file.ptr, file.len, vroot, (int64_t)exp, &l),
              ECRED_ERR_LIST_EXPIRED);
    CHECK_ERR(ecred_trustlist_verify(file.ptr, file.len, root, (int64_t)iat, &l),
              ECRED_ERR_KEY_UNKNOWN);
    ecred_err err = ecred_trustlist_verify(file.ptr, file.len, vroot, (int64_t)iat, &l);
    CHECK_ERR(err, ECRED_OK);
    if (err != ECRED_OK)
        goto out;
    char hex[17];
    ecred_hex(l.root_kid, 8, hex);
    CHECK(strcmp(hex, "6c1f1ec01b550928") == 0);
    CHECK(strcmp(l.iss, "https://permits.example.gov.cn") == 0);
    CHECK(l.seq == 7);
    CHECK(l.iat == iat && l.exp == exp);
    CHECK(l.n_entries == 2);
    if (l.n_entries == 2) {
        ecred_hex(l.entries[0].kid, 8, hex);
        CHECK(strcmp(hex, "4082e85df4f4e01f") == 0);
        CHECK(l.entries[0].alg == ECRED_COSE_ALG_ES256);
        CHECK(l.entries[0].sign_from == UINT64_C(1735689600));  /* 2025-01-01 */
        CHECK(l.entries[0].sign_until == UINT64_C(1767225600)); /* 2026-01-01 */
        CHECK(l.entries[0].types == ECRED_TRUST_BITS_ALL);
        CHECK(strcmp(l.entries[0].status_uri_prefix, "https://permits.example.gov.cn/status/") == 0);
        ecred_hex(l.entries[1].kid, 8, hex);
        CHECK(strcmp(hex, "c157c2cb764e2a1c") == 0);
        CHECK(l.entries[1].alg == ECRED_COSE_ALG_EDDSA);
        CHECK(l.entries[1].sign_from == UINT64_C(1767225600));
        CHECK(l.entries[1].sign_until == UINT64_C(1893456000)); /* 2030-01-01 */
        CHECK(l.entries[1].types == (ECRED_TRUST_BIT_PERMIT | ECRED_TRUST_BIT_STATUS_LIST));
        CHECK(strcmp(l.entries[1].status_uri_prefix,
                     "https://permits.example.gov.cn/status/2026/") == 0);
    }
    ecred_trustlist_free(&l);
out:
    ecred_key_free(vroot);
    ecred_key_free(vpriv);
    ecred_buf_free(&pub_pem);
    ecred_buf_wipe(&priv_pem);
    ecred_buf_free(&file);
}

int main(void)
{
    root = gen(ECRED_COSE_ALG_ES256);
    other_root = gen(ECRED_COSE_ALG_ES256);
    key_old = gen(ECRED_COSE_ALG_ES256);
    key_new = gen(ECRED_COSE_ALG_EDDSA);
    test_round_trip();
    test_deterministic();
    test_sign_refuses();
    test_payload_cases();
    test_envelope();
    test_vector();
    ecred_key_free(root);
    ecred_key_free(other_root);
    ecred_key_free(key_old);
    ecred_key_free(key_new);
    return check_finish();
}
