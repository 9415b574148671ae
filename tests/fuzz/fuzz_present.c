/*
 * fuzz_present.c - the RP1 presentation decision on arbitrary input.
 *
 * The first byte picks what the rest is (mod 3):
 *   0: the QR text itself (prefix, base45, inflate with the RP1 dictionary);
 *   1: the bytes after base45, wrapped as "RP1:" text by the harness, so the
 *      fuzzer spends its time in the COSE and header parser, not in base45;
 *   2: a holder claims payload that the harness signs, with a valid header
 *      over a credential bound to the signing key: this reaches what only two
 *      good signatures unlock (claims, audience, challenge, window, replay).
 * One replay cache lives for the whole run, as in a daemon.
 */
#include <string.h>

#include "ecred/issue.h"
#include "ecred/b45.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/present.h"
#include "fuzz_common.h"

static ecred_replay_cache *cache;
static ecred_buf cred_cose;

/* Issue once: a registration certificate bound to the issuer test key, which
 * also plays the holder (one key is enough to reach every branch). */
static void setup(void)
{
    if (cache)
        return;
    /* spec/examples/registration-own.json */
    static const char json[] =
        "{\"type\":\"registration_certificate\",\"name\":\"陈思远\",\"id_number\":\"320583200101011235\",\"address_division\":\"310112\",\"address\":\"七莘路3555弄8号101室\",\"housing\":{\"basis\":\"own\"},\"hukou_division\":\"320583\",\"registration_date\":\"2026-11-26\",\"authority\":\"上海市公安局闵行分局\",\"valid_from\":\"2026-11-26\",\"valid_until\":\"2031-11-25\"}";
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_buf text = ECRED_BUF_INIT;
    FUZZ_ASSERT(ecred_credential_from_json(json, sizeof json - 1, &c.cred, NULL) == ECRED_OK);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = FUZZ_NOW - 86400;
    c.cti_len = 8;
    memcpy(c.cti, "fuzzcti1", 8);
    c.has_cnf = true;
    FUZZ_ASSERT(ecred_key_ec2_compressed(fuzz_issuer_private(), c.cnf_x, &c.cnf_y_sign) == ECRED_OK);
    FUZZ_ASSERT(ecred_issue_sign(fuzz_issuer_private(), &c, ECRED_COMPRESS_NONE, &text, &cred_cose) == ECRED_OK);
    ecred_buf_free(&text);
    FUZZ_ASSERT(ecred_replay_create(4096, &cache) == ECRED_OK);
}

static void append_head(ecred_buf *b, uint8_t major, size_t v)
{
    uint8_t h[3] = {(uint8_t)(major << 5 | 25), (uint8_t)(v >> 8), (uint8_t)v};
    if (v < 24) {
        h[0] = (uint8_t)((size_t)major << 5 | v);
        ecred_buf_append(b, h, 1);
    } else {
        ecred_buf_append(b, h, 3); /* a two-byte length: non-preferred is still valid CBOR */
    }
}

/* tag 18 [{1:-9, 13: credential, 16: 294}, {}, payload, signature]. */
static void sign_payload(const uint8_t *pay, size_t n, ecred_buf *text)
{
    ecred_buf prot = ECRED_BUF_INIT, tbs = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
    uint8_t sig[64];
    size_t sl = 0;
    ecred_buf_append(&prot, "\xa3\x01\x28\x0d", 4);
    ecred_buf_append(&prot, cred_cose.ptr, cred_cose.len);
    ecred_buf_append(&prot, "\x10\x19\x01\x26", 4);
    if (ecred_cose_sig_structure(ecred_buf_span(&prot), ecred_span_of(pay, n), &tbs) == ECRED_OK &&
        ecred_sign(fuzz_issuer_private(), tbs.ptr, tbs.len, sig, &sl) == ECRED_OK && n < 65536) {
        ecred_buf_append(&msg, "\xd2\x84", 2);
        append_head(&msg, 2, prot.len);
        ecred_buf_append(&msg, prot.ptr, prot.len);
        ecred_buf_append(&msg, "\xa0", 1);
        append_head(&msg, 2, n);
        ecred_buf_append(&msg, pay, n);
        ecred_buf_append(&msg, "\x58\x40", 2);
        ecred_buf_append(&msg, sig, 64);
        if (msg.len <= ECRED_PRESENT_MAX)
            ecred_present_encode_text(msg.ptr, msg.len, ECRED_COMPRESS_NONE, text);
    }
    ecred_buf_free(&prot);
    ecred_buf_free(&tbs);
    ecred_buf_free(&msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    setup();
    ecred_trusted_key tk = {fuzz_issuer_public(), INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset keys = {&tk, 1};
    ecred_buf text = ECRED_BUF_INIT, b45 = ECRED_BUF_INIT;
    ecred_challenge chal = {.nonce = {1, 2, 3, 4}, .nonce_len = 4, .aud = "v", .expires = FUZZ_NOW + 60};
    ecred_present_params p = ecred_present_params_default(FUZZ_NOW);
    p.policy = (ecred_holder_policy)(data[0] / 3 % 3);
    p.replay = cache;
    p.challenge = ecred_challenge_consume_one;
    p.challenge_ctx = &chal;
    switch (data[0] % 3) {
    case 0:
        ecred_buf_set(&text, data + 1, size - 1);
        break;
    case 1:
        if (ecred_b45_encode(data + 1, size - 1, &b45) == ECRED_OK) {
            ecred_buf_append(&text, "RP1:", 4);
            ecred_buf_append(&text, b45.ptr, b45.len);
        }
        break;
    default:
        sign_payload(data + 1, size - 1, &text);
        break;
    }
    ecred_present_verdict v;
    ecred_err e = ecred_present_decide(text.ptr ? (const char *)text.ptr : "", text.len, &keys, NULL, &p, &v);
    FUZZ_ASSERT(e == v.outcome);
    /* Proven needs a presentation whose every holder check passed. */
    if (v.holder == ECRED_HOLDER_PROVEN)
        FUZZ_ASSERT(v.presentation && v.holder_reason == ECRED_OK && v.cred.signature_checked &&
                    v.cred.claims.has_cnf);
    /* A verifier that requires proof never says valid without it. */
    if (e == ECRED_OK && p.policy != ECRED_HOLDER_POLICY_OPTIONAL)
        FUZZ_ASSERT(v.holder == ECRED_HOLDER_PROVEN);
    if (e == ECRED_OK && p.policy == ECRED_HOLDER_POLICY_CHALLENGE)
        FUZZ_ASSERT(v.challenge);
    ecred_buf_free(&text);
    ecred_buf_free(&b45);
    return 0;
}
