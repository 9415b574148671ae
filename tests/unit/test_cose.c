/*
 * test_cose.c - COSE_Sign1 decode, verify and sign, and the forgery loops.
 *
 * Header rules are data (tests/vectors/cose/headers.txt): each line's headers
 * are wrapped in a message carrying a VALID signature, so a pass can only come
 * from the header check itself. The forgery loops flip every bit of a signed
 * message and every byte of each signed region and require a rejection.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "ecred/crypto.h"

static const uint8_t test_payload[] = "payload: a residence credential would be here";

/* Append a CBOR head (major type, argument) in preferred form. */
static void put_head(ecred_buf *b, unsigned major, uint64_t v)
{
    uint8_t h[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24) {
        h[0] = (uint8_t)(mt | v);
        n = 1;
    } else if (v <= 0xff) {
        h[0] = mt | 24, h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        h[0] = mt | 25, h[1] = (uint8_t)(v >> 8), h[2] = (uint8_t)v;
        n = 3;
    } else {
        h[0] = mt | 26;
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
        n = 5;
    }
    ecred_buf_append(b, h, n);
}

static void put_bstr(ecred_buf *b, ecred_span s)
{
    put_head(b, 2, s.len);
    if (s.len)
        ecred_buf_append(b, s.ptr, s.len);
}

/* 18([h'prot', <unprot bytes>, h'payload', sig]) with a valid signature by key
 * over the Sig_structure: a message whose only possible fault is its headers. */
static ecred_buf build_signed(const ecred_key *key, ecred_span prot, ecred_span unprot,
                              ecred_span payload)
{
    ecred_buf tbs = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    CHECK_ERR(ecred_cose_sig_structure(prot, payload, &tbs), ECRED_OK);
    CHECK_ERR(ecred_sign(key, tbs.ptr, tbs.len, sig, &sig_len), ECRED_OK);
    put_head(&msg, 6, ECRED_COSE_TAG_SIGN1);
    put_head(&msg, 4, 4);
    put_bstr(&msg, prot);
    ecred_buf_append(&msg, unprot.ptr, unprot.len);
    put_bstr(&msg, payload);
    put_bstr(&msg, ecred_span_of(sig, sig_len));
    ecred_buf_free(&tbs);
    return msg;
}

/* Decode then (if that passed) verify: the verifier's one verdict. */
static ecred_err decode_verify(const uint8_t *p, size_t n, const ecred_key *key)
{
    ecred_cose_sign1 m;
    ecred_err err = ecred_cose_sign1_decode(p, n, NULL, &m);
    if (err == ECRED_OK) {
        err = ecred_cose_sign1_verify(&m, key);
        ecred_cose_sign1_clear(&m);
    }
    return err;
}

static size_t head_len(size_t n) { return n < 24 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5; }

static ecred_buf load_hex_file(const char *rel)
{
    ecred_buf text = check_read_source_file(rel);
    ecred_buf bytes = check_hex((const char *)text.ptr);
    ecred_buf_free(&text);
    return bytes;
}

static ecred_key *load_test_issuer(void)
{
    ecred_buf pem = check_read_source_file("tests/vectors/keys/test-issuer.key.pem");
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_private_from_pem(pem.ptr, pem.len, &key), ECRED_OK);
    ecred_buf_wipe(&pem);
    if (!key) {
        fprintf(stderr, "cannot load the test issuer key\n");
        exit(2);
    }
    return key;
}

static void test_ietf_examples(void)
{
    ecred_key *key = NULL, *other = NULL;
    CHECK_ERR(ecred_key_public_load(ECRED_SOURCE_DIR "/tests/vectors/cose/ietf/example-key.pub.pem",
                                    &key),
              ECRED_OK);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &other), ECRED_OK);
    if (!key || !other)
        return;
    const char *files[] = {"tests/vectors/cose/ietf/status_list_cwt.hex",
                           "tests/vectors/cose/ietf/referenced_token_cwt.hex"};
    for (size_t f = 0; f < 2; f++) {
        ecred_buf msg = load_hex_file(files[f]);
        ecred_cose_sign1 m;
        CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_OK);
        CHECK(m.alg == ECRED_COSE_ALG_ES256);
        CHECK(m.kid_len == 2 && memcmp(m.kid, "12", 2) == 0);
        CHECK(!m.kid_protected);
        CHECK(!m.detached && m.payload.len > 0);
        CHECK(m.signature.len == 64);
        CHECK(m.total_len == msg.len);
        /* the protected span is the bstr content exactly as it arrived */
        CHECK(m.protected_bytes.len > 0 && m.protected_bytes.len < msg.len &&
              memcmp(msg.ptr + 2 + head_len(m.protected_bytes.len), m.protected_bytes.ptr, m.protected_bytes.len) == 0);
        if (f == 0)
            CHECK(strcmp(m.typ, "application/statuslist+cwt") == 0);
        else
            CHECK(m.typ[0] == '\0');
        CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_OK);
        CHECK_ERR(ecred_cose_sign1_verify(&m, other), ECRED_ERR_SIGNATURE_INVALID);
        /* Spans point into the caller's bytes (no copy, no tree). */
        CHECK(m.payload.ptr > msg.ptr && m.payload.ptr + m.payload.len <= msg.ptr + msg.len);
        CHECK(m.signature.ptr + m.signature.len == msg.ptr + msg.len);
        ecred_cose_sign1_clear(&m);
        CHECK(m.total_len == 0 && m.payload.ptr == NULL);
        /* A cleared (or failed) message is not something verify will look at. */
        CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_ERR_ARG);

        /* A trailing byte, and every truncation, of a real token. */
        ecred_buf longer = ECRED_BUF_INIT;
        ecred_buf_append(&longer, msg.ptr, msg.len);
        ecred_buf_append(&longer, "\x00", 1);
        CHECK_ERR(decode_verify(longer.ptr, longer.len, key), ECRED_ERR_CBOR);
        for (size_t k = 0; k < msg.len; k++)
            CHECK_ERR(decode_verify(msg.ptr, k, key), ECRED_ERR_CBOR);
        ecred_buf_free(&longer);
        ecred_buf_free(&msg);
    }
    ecred_key_free(key);
    ecred_key_free(other);
}

static void test_sign_roundtrip(ecred_key *key)
{
    const uint8_t *kid = ecred_key_kid(key);
    struct {
        ecred_cose_sign_opts opts;
        bool use_default;
        size_t want_kid_len;
        bool want_kid_protected;
    } cases[] = {
        {{true, false, NULL}, true, ECRED_KID_LEN, true},
        {{true, false, NULL}, false, ECRED_KID_LEN, true},
        {{false, false, NULL}, false, ECRED_KID_LEN, false},
        {{true, true, NULL}, false, 0, false},
        {{false, true, "application/example+cwt"}, false, 0, false},
        {{true, false, "application/statuslist+cwt"}, false, ECRED_KID_LEN, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecred_buf msg = ECRED_BUF_INIT;
        const ecred_cose_sign_opts *opts = cases[i].use_default ? NULL : &cases[i].opts;
        CHECK_ERR(ecred_cose_sign1_sign(key, opts, test_payload, sizeof test_payload, &msg),
                  ECRED_OK);
        ecred_cose_sign1 m;
        CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_OK);
        CHECK(m.alg == ecred_key_alg(key));
        CHECK(m.kid_len == cases[i].want_kid_len);
        CHECK(m.kid_len == 0 || memcmp(m.kid, kid, ECRED_KID_LEN) == 0);
        CHECK(m.kid_protected == cases[i].want_kid_protected);
        CHECK(strcmp(m.typ, cases[i].opts.typ ? cases[i].opts.typ : "") == 0);
        CHECK(m.payload.len == sizeof test_payload &&
              memcmp(m.payload.ptr, test_payload, sizeof test_payload) == 0);
        CHECK(m.signature.len == 64);
        CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_OK);

        /* Deterministic protected header: {1: alg, 4: kid, 16: typ}, keys ascending. */
        ecred_buf want = ECRED_BUF_INIT;
        bool with_kid = cases[i].want_kid_protected;
        const char *typ = cases[i].opts.typ;
        put_head(&want, 5, 1u + (with_kid ? 1u : 0u) + (typ ? 1u : 0u));
        put_head(&want, 0, 1);
        put_head(&want, 1, (uint64_t)(-1 - ecred_key_alg(key)));
        if (with_kid) {
            put_head(&want, 0, 4);
            put_bstr(&want, ecred_span_of(kid, ECRED_KID_LEN));
        }
        if (typ) {
            put_head(&want, 0, 16);
            put_head(&want, 3, strlen(typ));
            ecred_buf_append(&want, typ, strlen(typ));
        }
        CHECK(m.protected_bytes.len == want.len &&
              memcmp(m.protected_bytes.ptr, want.ptr, want.len) == 0);
        /* and the whole message is that header wrapped as the spec says */
        CHECK(msg.len > 2 && msg.ptr[0] == 0xd2 && msg.ptr[1] == 0x84);
        ecred_buf_free(&want);
        ecred_cose_sign1_clear(&m);
        ecred_buf_free(&msg);
    }

    /* Empty payload signs and verifies too. */
    ecred_buf msg = ECRED_BUF_INIT;
    CHECK_ERR(ecred_cose_sign1_sign(key, NULL, NULL, 0, &msg), ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, key), ECRED_OK);
    ecred_buf_free(&msg);
}

/* Count of each rejection, printed so a reviewer sees what the flips hit. */
static int flip_counts[100];

static void record(ecred_err err)
{
    CHECK(err != ECRED_OK);
    if ((int)err >= 0 && (int)err < 100)
        flip_counts[err]++;
}

static void print_counts(const char *what)
{
    printf("%s:", what);
    for (int e = 0; e < 100; e++)
        if (flip_counts[e])
            printf(" %s=%d", ecred_err_name((ecred_err)e), flip_counts[e]);
    printf("\n");
    memset(flip_counts, 0, sizeof flip_counts);
}

static void test_forgery_loops(ecred_key *key)
{
    ecred_buf msg = ECRED_BUF_INIT;
    CHECK_ERR(ecred_cose_sign1_sign(key, NULL, test_payload, sizeof test_payload, &msg), ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, key), ECRED_OK);
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_OK);
    /* Layout of our message: d2 84 bstr(prot) a0 bstr(payload) 58 40 sig. */
    size_t prot_off = 2 + head_len(m.protected_bytes.len);
    size_t prot_end = prot_off + m.protected_bytes.len;
    size_t sig_off = msg.len - 64;
    size_t pay_off = sig_off - 2 - sizeof test_payload;
    CHECK(memcmp(msg.ptr + prot_off, m.protected_bytes.ptr, m.protected_bytes.len) == 0);
    CHECK(memcmp(msg.ptr + pay_off, test_payload, sizeof test_payload) == 0);
    ecred_cose_sign1_clear(&m);

    ecred_buf bad = ECRED_BUF_INIT;
    ecred_buf_set(&bad, msg.ptr, msg.len);

    /* Every single-bit change anywhere in the message is rejected. */
    for (size_t i = 0; i < msg.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            bad.ptr[i] ^= (uint8_t)(1u << bit);
            record(decode_verify(bad.ptr, bad.len, key));
            bad.ptr[i] ^= (uint8_t)(1u << bit);
        }
    }
    print_counts(ecred_key_alg(key) == ECRED_COSE_ALG_ES256 ? "ES256 every bit"
                                                            : "EdDSA every bit");

    /* Signature and payload bytes: the structure stays intact, so the verdict
     * must be precisely "signature invalid". */
    for (size_t i = sig_off; i < msg.len; i++) {
        bad.ptr[i] ^= 0x01;
        CHECK_ERR(decode_verify(bad.ptr, bad.len, key), ECRED_ERR_SIGNATURE_INVALID);
        bad.ptr[i] ^= 0x01;
    }
    for (size_t i = pay_off; i < pay_off + sizeof test_payload; i++) {
        bad.ptr[i] ^= 0x01;
        CHECK_ERR(decode_verify(bad.ptr, bad.len, key), ECRED_ERR_SIGNATURE_INVALID);
        bad.ptr[i] ^= 0x01;
    }
    /* Protected header bytes: some flips break the CBOR, some change alg, some
     * the kid (still decodes, signature fails); none may pass. */
    for (size_t i = prot_off; i < prot_end; i++) {
        bad.ptr[i] ^= 0x01;
        record(decode_verify(bad.ptr, bad.len, key));
        bad.ptr[i] ^= 0x01;
    }
    print_counts("protected header bytes ^ 0x01");
    /* The kid bytes in particular decode fine and fail the signature. */
    for (size_t i = prot_end - ECRED_KID_LEN; i < prot_end; i++) {
        bad.ptr[i] ^= 0x01;
        CHECK_ERR(decode_verify(bad.ptr, bad.len, key), ECRED_ERR_SIGNATURE_INVALID);
        bad.ptr[i] ^= 0x01;
    }
    CHECK(memcmp(bad.ptr, msg.ptr, msg.len) == 0);

    /* A kid in the UNprotected bucket is not covered by the signature: it is a
     * hint for key lookup only, which is why our credentials protect it. */
    ecred_cose_sign_opts unprot_kid = {false, false, NULL};
    CHECK_ERR(ecred_cose_sign1_sign(key, &unprot_kid, test_payload, sizeof test_payload, &bad),
              ECRED_OK);
    /* layout: d2 84 43 a1 01 xx a1 04 48 kid... */
    size_t kid_off = 2 + 1 + 3 + 3;
    CHECK(bad.ptr[kid_off - 3] == 0xa1 && bad.ptr[kid_off - 1] == 0x48);
    bad.ptr[kid_off] ^= 0x01;
    ecred_cose_sign1 u;
    CHECK_ERR(ecred_cose_sign1_decode(bad.ptr, bad.len, NULL, &u), ECRED_OK);
    CHECK(!u.kid_protected && u.kid_len == ECRED_KID_LEN &&
          memcmp(u.kid, ecred_key_kid(key), ECRED_KID_LEN) != 0);
    CHECK_ERR(ecred_cose_sign1_verify(&u, key), ECRED_OK);
    ecred_cose_sign1_clear(&u);

    ecred_buf_free(&bad);
    ecred_buf_free(&msg);
}

static void header_case(const ecred_key *key, const char *want, const char *prot_hex,
                        const char *unprot_hex, int line)
{
    ecred_buf prot = check_hex(strcmp(prot_hex, "-") == 0 ? "" : prot_hex);
    ecred_buf unprot = check_hex(unprot_hex);
    ecred_buf msg = build_signed(key, ecred_buf_span(&prot), ecred_buf_span(&unprot),
                                 ecred_span_of("payload", 7));
    ecred_err err = decode_verify(msg.ptr, msg.len, key);
    if (strcmp(ecred_err_name(err), want) != 0) {
        fprintf(stderr, "headers.txt line %d: got %s, want %s\n", line, ecred_err_name(err),
                want);
        CHECK(0);
    } else {
        CHECK(1);
    }
    ecred_buf_free(&prot);
    ecred_buf_free(&unprot);
    ecred_buf_free(&msg);
}

static void test_header_vectors(const ecred_key *key)
{
    ecred_buf file = check_read_source_file("tests/vectors/cose/headers.txt");
    int line = 0, cases = 0;
    char *save = NULL;
    for (char *l = strtok_r((char *)file.ptr, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *hash = strchr(l, '#');
        if (hash)
            *hash = '\0';
        char want[64], prot[1024], unprot[1024];
        if (sscanf(l, "%63s %1023s %1023s", want, prot, unprot) != 3)
            continue;
        header_case(key, want, prot, unprot, line);
        cases++;
    }
    CHECK(cases > 40);
    ecred_buf_free(&file);
}

static void test_structure(ecred_key *key)
{
    ecred_span prot = ecred_span_of("\xa1\x01\x26", 3), a0 = ecred_span_of("\xa0", 1);
    ecred_buf good = build_signed(key, prot, a0, ecred_span_of("payload", 7));
    CHECK_ERR(decode_verify(good.ptr, good.len, key), ECRED_OK);

    /* Wrong tag: 17 (COSE_Mac0), 98 (COSE_Sign), 16 in the two-byte form, none. */
    const char *tags[] = {"d1", "d862", "d810", ""};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        ecred_buf msg = check_hex(tags[i]);
        ecred_buf_append(&msg, good.ptr + 1, good.len - 1);
        CHECK_ERR(decode_verify(msg.ptr, msg.len, key), ECRED_ERR_COSE_STRUCTURE);
        ecred_buf_free(&msg);
    }
    /* Tag 18 in the two-byte form is the same tag. */
    ecred_buf two = check_hex("d812");
    ecred_buf_append(&two, good.ptr + 1, good.len - 1);
    CHECK_ERR(decode_verify(two.ptr, two.len, key), ECRED_OK);
    ecred_buf_free(&two);
    /* Nested tag 18 around the message is not a COSE_Sign1 either. */
    ecred_buf nested = check_hex("d2");
    ecred_buf_append(&nested, good.ptr, good.len);
    CHECK_ERR(decode_verify(nested.ptr, nested.len, key), ECRED_ERR_COSE_STRUCTURE);
    ecred_buf_free(&nested);

    /* Array of 3 and of 5. */
    ecred_buf three = check_hex("d283 43a10126 a0 4770 61796c6f6164");
    CHECK_ERR(decode_verify(three.ptr, three.len, key), ECRED_ERR_COSE_STRUCTURE);
    ecred_buf five = check_hex("d285");
    ecred_buf_append(&five, good.ptr + 2, good.len - 2);
    ecred_buf_append(&five, "\x40", 1);
    CHECK_ERR(decode_verify(five.ptr, five.len, key), ECRED_ERR_COSE_STRUCTURE);
    ecred_buf_free(&three);
    ecred_buf_free(&five);

    /* Members of the wrong type. */
    const char *wrong[] = {
        "d284 a10126 a0 40 40",       /* protected as a map, not a bstr */
        "d284 43a10126 a0 60 40",     /* payload text */
        "d284 43a10126 a0 40 60",     /* signature text */
        "d284 43a10126 a0 40 f6",     /* signature nil */
        "d284 43a10126 f6 40 40",     /* unprotected nil */
        "d284 f6 a0 40 40",           /* protected nil */
        "d2a0",                       /* a map */
        "d243a10126",                 /* a bstr */
        "d3 84 43a10126 a0 40 40",    /* tag 19 */
        "84 43a10126 a0 40 40",       /* untagged */
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        ecred_buf msg = check_hex(wrong[i]);
        ecred_cose_sign1 m;
        memset(&m, 0xaa, sizeof m);
        CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_ERR_COSE_STRUCTURE);
        /* *out is zeroed on failure */
        ecred_cose_sign1 zero;
        memset(&zero, 0, sizeof zero);
        CHECK(memcmp(&m, &zero, sizeof m) == 0);
        ecred_buf_free(&msg);
    }
    /* Indefinite-length array: not well-formed for us. */
    ecred_buf indef = check_hex("d29f 43a10126 a0 40 40 ff");
    CHECK_ERR(decode_verify(indef.ptr, indef.len, key), ECRED_ERR_CBOR);
    ecred_buf_free(&indef);

    /* A detached (nil) payload decodes, but this API cannot verify it. */
    ecred_buf detached = check_hex("d284 43a10126 a0 f6 40");
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(detached.ptr, detached.len, NULL, &m), ECRED_OK);
    CHECK(m.detached && m.payload.len == 0);
    CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_ERR_COSE_STRUCTURE);
    ecred_cose_sign1_clear(&m);
    ecred_buf_free(&detached);

    /* A wrong-length signature is a bad signature, not a crash. */
    ecred_buf shortsig = check_hex("d284 43a10126 a0 4770 61796c6f6164 43010203");
    CHECK_ERR(decode_verify(shortsig.ptr, shortsig.len, key), ECRED_ERR_SIGNATURE_INVALID);
    ecred_buf_free(&shortsig);

    ecred_buf_free(&good);
}

static void test_alg_key_mismatch(ecred_key *es256, ecred_key *eddsa)
{
    /* alg -8 in a message that the ES256 key signed: the alg/key check comes
     * first, so it is a mismatch, not a signature failure. */
    ecred_buf msg = build_signed(es256, ecred_span_of("\xa1\x01\x27", 3),
                                 ecred_span_of("\xa0", 1), ecred_span_of("payload", 7));
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_OK);
    CHECK(m.alg == ECRED_COSE_ALG_EDDSA);
    CHECK_ERR(ecred_cose_sign1_verify(&m, es256), ECRED_ERR_KEY_ALG_MISMATCH);
    ecred_cose_sign1_clear(&m);
    ecred_buf_free(&msg);

    /* An EdDSA-signed message shown to an ES256 key, and the reverse. */
    CHECK_ERR(ecred_cose_sign1_sign(eddsa, NULL, test_payload, sizeof test_payload, &msg),
              ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, eddsa), ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, es256), ECRED_ERR_KEY_ALG_MISMATCH);
    CHECK_ERR(ecred_cose_sign1_sign(es256, NULL, test_payload, sizeof test_payload, &msg),
              ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, eddsa), ECRED_ERR_KEY_ALG_MISMATCH);

    /* Same algorithm, another key (its kid is not ours): signature invalid. */
    ecred_key *other = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &other), ECRED_OK);
    CHECK(memcmp(ecred_key_kid(other), ecred_key_kid(es256), ECRED_KID_LEN) != 0);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, other), ECRED_ERR_SIGNATURE_INVALID);
    ecred_key_free(other);
    ecred_buf_free(&msg);
}

static void test_sizes(ecred_key *key)
{
    static uint8_t big[5000];
    memset(big, 0x5a, sizeof big);
    ecred_buf msg = ECRED_BUF_INIT;
    CHECK_ERR(ecred_cose_sign1_sign(key, NULL, big, sizeof big, &msg), ECRED_OK);
    CHECK_ERR(decode_verify(msg.ptr, msg.len, key), ECRED_ERR_TOO_LARGE);
    ecred_cbor_limits roomy = {8192, 512, 16};
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, &roomy, &m), ECRED_OK);
    CHECK(m.payload.len == sizeof big);
    CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_OK);
    ecred_cose_sign1_clear(&m);
    ecred_buf_free(&msg);

    /* Caller limits apply to the message (tag, array, unprotected map: depth 3)
     * and to the protected header decode. */
    ecred_cbor_limits shallow = {4096, 512, 3};
    CHECK_ERR(ecred_cose_sign1_sign(key, NULL, test_payload, sizeof test_payload, &msg), ECRED_OK);
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, &shallow, &m), ECRED_OK);
    ecred_cose_sign1_clear(&m);
    ecred_cbor_limits flat = {4096, 512, 2};
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, &flat, &m), ECRED_ERR_CBOR_LIMIT);
    ecred_buf_free(&msg);
}

static void test_sig_structure(void)
{
    ecred_buf out = ECRED_BUF_INIT;
    ecred_buf want = check_hex("84 6a5369676e617475726531 43a10126 40 43616263");
    CHECK_ERR(ecred_cose_sig_structure(ecred_span_of("\xa1\x01\x26", 3),
                                       ecred_span_of("abc", 3), &out),
              ECRED_OK);
    CHECK(out.len == want.len && memcmp(out.ptr, want.ptr, want.len) == 0);
    ecred_buf_free(&want);
    /* empty protected and payload */
    want = check_hex("84 6a5369676e617475726531 40 40 40");
    CHECK_ERR(ecred_cose_sig_structure(ecred_span_of(NULL, 0), ecred_span_of(NULL, 0), &out),
              ECRED_OK);
    CHECK(out.len == want.len && memcmp(out.ptr, want.ptr, want.len) == 0);
    CHECK_ERR(ecred_cose_sig_structure(ecred_span_of(NULL, 3), ecred_span_of(NULL, 0), &out),
              ECRED_ERR_ARG);
    ecred_buf_free(&want);
    ecred_buf_free(&out);
}

static void test_args(ecred_key *key)
{
    ecred_key *pub = NULL;
    CHECK_ERR(ecred_key_public_load(ECRED_SOURCE_DIR "/tests/vectors/keys/test-issuer.pub.pem",
                                    &pub),
              ECRED_OK);
    ecred_buf msg = ECRED_BUF_INIT;
    if (pub) {
        CHECK(memcmp(ecred_key_kid(pub), ecred_key_kid(key), ECRED_KID_LEN) == 0);
        CHECK_ERR(ecred_cose_sign1_sign(pub, NULL, test_payload, 4, &msg), ECRED_ERR_ARG);
        CHECK(msg.len == 0);
        /* a public key is all verify needs */
        CHECK_ERR(ecred_cose_sign1_sign(key, NULL, test_payload, 4, &msg), ECRED_OK);
        CHECK_ERR(decode_verify(msg.ptr, msg.len, pub), ECRED_OK);
    }
    char long_typ[ECRED_COSE_TYP_MAX + 2];
    memset(long_typ, 't', sizeof long_typ - 1);
    long_typ[sizeof long_typ - 1] = '\0';
    ecred_cose_sign_opts o = {true, false, long_typ};
    CHECK_ERR(ecred_cose_sign1_sign(key, &o, test_payload, 4, &msg), ECRED_ERR_ARG);
    long_typ[ECRED_COSE_TYP_MAX] = '\0'; /* exactly the maximum */
    CHECK_ERR(ecred_cose_sign1_sign(key, &o, test_payload, 4, &msg), ECRED_OK);
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, msg.len, NULL, &m), ECRED_OK);
    CHECK(strlen(m.typ) == ECRED_COSE_TYP_MAX);
    ecred_cose_sign1_clear(&m);
    CHECK_ERR(ecred_cose_sign1_sign(key, NULL, NULL, 4, &msg), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cose_sign1_decode(NULL, 4, NULL, &m), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cose_sign1_decode(msg.ptr, 0, NULL, &m), ECRED_ERR_CBOR);
    memset(&m, 0, sizeof m);
    CHECK_ERR(ecred_cose_sign1_verify(&m, key), ECRED_ERR_ARG); /* never decoded */
    ecred_cose_sign1_clear(NULL);
    ecred_buf_free(&msg);
    ecred_key_free(pub);
}

int main(void)
{
    ecred_key *es256 = load_test_issuer(), *eddsa = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_EDDSA, &eddsa), ECRED_OK);
    if (!eddsa)
        return check_finish();
    test_ietf_examples();
    test_sign_roundtrip(es256);
    test_sign_roundtrip(eddsa);
    test_forgery_loops(es256);
    test_forgery_loops(eddsa);
    test_header_vectors(es256);
    test_structure(es256);
    test_alg_key_mismatch(es256, eddsa);
    test_sizes(es256);
    test_sig_structure();
    test_args(es256);
    ecred_key_free(eddsa);
    ecred_key_free(es256);
    return check_finish();
}
