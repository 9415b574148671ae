/*
 * present.c - RP1 holder-bound presentations: making one (the holder's side)
 * and deciding on one (the verifier's side), spec/presentation.md.
 *
 * The holder COSE_Sign1 is read with the non-allocating cursor, strictly:
 * the protected header is exactly {1: -9, 13: credential, 16: 294} in that
 * order and the payload exactly {3: aud, 6: iat, ? 39: cnonce}, so duplicate
 * or extra labels cannot exist in anything we accept. The embedded credential
 * is judged by ecred_decide on its received bytes: this file must never copy
 * or re-implement the RC1 decision, never verify over a re-encoding, and never
 * key the replay cache on signature bytes.
 */
#include "ecred/present.h"

#include <pthread.h>
#include <string.h>

#include "ecred/b45.h"
#include "ecred/cborcur.h"
#include "ecred/cose.h"
#include "ecred/zcap.h"

#define PREFIX_LEN (sizeof ECRED_PRESENT_PREFIX - 1)

/* ---- the RP1 dictionary ---- */

/* The envelope bytes appended to the RC1 dictionary, in the order deflate
 * likes (most used last): signature head; typ, empty unprotected header,
 * payload head, aud = the reference issuer, iat head; the presentation head;
 * the protected header up to the credential's kid. spec/rp1-dictionary.hex. */
static const uint8_t rp1_tail[] = {
    0x58, 0x40,
    0x10, 0x19, 0x01, 0x26, 0xa0, 0x58, 0x1e, 0xa2, 0x03, 0x75,
    'h', 't', 't', 'p', 's', ':', '/', '/', 'j', 'z', 'z', '.', 's', 'h', '.', 'g', 'o', 'v', '.',
    'c', 'n',
    0x06, 0x1a,
    0xd2, 0x84, 0x59, 0x01,
    0xa3, 0x01, 0x28, 0x0d, 0xd2, 0x84, 0x4d, 0xa2, 0x01, 0x26, 0x04, 0x48,
};

/* Built once from the RC1 dictionary so the two can never drift apart; it is
 * immutable after pthread_once. 1024 bytes is room for RC1's 716 + 51. */
static uint8_t rp1_dict[1024];
static size_t rp1_dict_len;
static pthread_once_t rp1_once = PTHREAD_ONCE_INIT;

static void rp1_dict_build(void)
{
    ecred_span rc1 = ecred_rc1_dictionary();
    if (rc1.len + sizeof rp1_tail > sizeof rp1_dict)
        return; /* leaves the length 0: every RP1 inflate then fails closed */
    memcpy(rp1_dict, rc1.ptr, rc1.len);
    memcpy(rp1_dict + rc1.len, rp1_tail, sizeof rp1_tail);
    rp1_dict_len = rc1.len + sizeof rp1_tail;
}

ecred_span ecred_rp1_dictionary(void)
{
    pthread_once(&rp1_once, rp1_dict_build);
    return ecred_span_of(rp1_dict, rp1_dict_len);
}

/* ---- text layer ---- */

ecred_err ecred_present_encode_text(const uint8_t *cose, size_t n, ecred_compress mode,
                                    ecred_buf *text)
{
    if (!cose || n == 0 || n > ECRED_PRESENT_MAX || cose[0] != 0xd2 || !text)
        return ECRED_ERR_ARG;
    ecred_buf z = ECRED_BUF_INIT, b45 = ECRED_BUF_INIT, t = ECRED_BUF_INIT;
    ecred_span bin = ecred_span_of(cose, n);
    ecred_err e = ECRED_OK;
    if (mode == ECRED_COMPRESS_AUTO || mode == ECRED_COMPRESS_DICT) {
        e = ecred_zlib_compress(cose, n, 9, ecred_rp1_dictionary(), &z);
        if (e)
            goto out;
        /* AUTO: ties go to the raw form, which costs the verifier nothing. */
        if (mode == ECRED_COMPRESS_DICT || z.len < n)
            bin = ecred_buf_span(&z);
    } else if (mode != ECRED_COMPRESS_NONE) {
        e = ECRED_ERR_ARG;
        goto out;
    }
    e = ecred_b45_encode(bin.ptr, bin.len, &b45);
    if (!e)
        e = ecred_buf_append(&t, ECRED_PRESENT_PREFIX, PREFIX_LEN);
    if (!e)
        e = ecred_buf_append(&t, b45.ptr, b45.len);
    if (!e)
        e = ecred_buf_terminate(&t);
    if (!e) {
        ecred_buf_free(text);
        *text = t;
        t = (ecred_buf)ECRED_BUF_INIT;
    }
out:
    ecred_buf_free(&z);
    ecred_buf_free(&b45);
    ecred_buf_free(&t);
    return e;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

ecred_err ecred_present_decode_text(const char *text, size_t n, ecred_buf *cose,
                                    bool *compressed)
{
    if (!text || !cose)
        return ECRED_ERR_ARG;
    if (n > ECRED_QRTEXT_MAX)
        return ECRED_ERR_TOO_LARGE;
    while (n && is_space(text[0]))
        text++, n--;
    while (n && is_space(text[n - 1]))
        n--;
    if (n < PREFIX_LEN || memcmp(text, ECRED_PRESENT_PREFIX, PREFIX_LEN) != 0)
        return ECRED_ERR_NOT_OUR_FORMAT;
    ecred_buf bin = ECRED_BUF_INIT, out = ECRED_BUF_INIT;
    bool z = false;
    ecred_err e = ecred_b45_decode(text + PREFIX_LEN, n - PREFIX_LEN, &bin);
    if (e)
        goto fail;
    if (bin.len > 0 && bin.ptr[0] == 0x78) {
        /* The cap holds while inflating: a bomb stops at byte 1601. */
        e = ecred_zlib_inflate(bin.ptr, bin.len, ECRED_PRESENT_MAX, ecred_rp1_dictionary(), &out);
        if (e)
            goto fail;
        z = true;
    } else if (bin.len > 0 && bin.ptr[0] == 0xd2) {
        out = bin;
        bin = (ecred_buf)ECRED_BUF_INIT;
    } else {
        e = ECRED_ERR_PRESENT_STRUCTURE;
        goto fail;
    }
    if (out.len > ECRED_PRESENT_MAX) {
        e = ECRED_ERR_TOO_LARGE;
        goto fail;
    }
    if (out.ptr[0] != 0xd2) { /* a zlib layer around something else */
        e = ECRED_ERR_PRESENT_STRUCTURE;
        goto fail;
    }
    ecred_buf_free(&bin);
    ecred_buf_free(cose);
    *cose = out;
    if (compressed)
        *compressed = z;
    return ECRED_OK;
fail:
    ecred_buf_free(&bin);
    ecred_buf_free(&out);
    return e;
}

/* ---- the holder COSE_Sign1 on the cursor ---- */

typedef struct rp1_parts {
    ecred_span protected_bytes; /* the protected bstr's content as received */
    ecred_span payload;
    ecred_span signature;
    ecred_span kcwt;            /* the credential's bytes as received */
    char aud[ECRED_PRESENT_AUD_MAX + 1];
    int64_t iat;
    uint8_t cnonce[ECRED_PRESENT_NONCE_MAX];
    size_t cnonce_len;
} rp1_parts;

/* Read the next head and require major type `major`; `err` otherwise. */
static ecred_err want_head(ecred_cborcur *cur, uint8_t major, ecred_cbor_head *h, ecred_err err)
{
    ecred_err e = ecred_cborcur_head(cur, h);
    if (e)
        return e;
    return h->major == major ? ECRED_OK : err;
}

/* Read one integer label and require it to be `label`. */
static ecred_err want_label(ecred_cborcur *cur, int64_t label, ecred_err err)
{
    ecred_cbor_head h;
    ecred_err e = ecred_cborcur_head(cur, &h);
    if (e)
        return e;
    int64_t v;
    return ecred_cbor_head_int(&h, &v) && v == label ? ECRED_OK : err;
}

/* Outer structure: tag 18 [bstr protected, {} , bstr payload, bstr(64)],
 * nothing after it. */
static ecred_err parse_outer(const uint8_t *buf, size_t n, rp1_parts *p)
{
    ecred_cborcur cur;
    ecred_cbor_head h;
    ecred_err e = ecred_cborcur_init(&cur, buf, n, NULL);
    if (e)
        return e;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_TAG, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    if (h.arg != ECRED_COSE_TAG_SIGN1)
        return ECRED_ERR_PRESENT_STRUCTURE;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_ARRAY, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    if (h.arg != 4)
        return ECRED_ERR_PRESENT_STRUCTURE;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_BYTES, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    p->protected_bytes = h.str;
    /* The unprotected bucket is not signed: anything in it could steer a
     * reader without the holder's consent, so it must be empty. */
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_MAP, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    if (h.arg != 0)
        return ECRED_ERR_PRESENT_HEADER;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_BYTES, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    p->payload = h.str;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_BYTES, &h, ECRED_ERR_PRESENT_STRUCTURE)))
        return e;
    if (h.str.len != 64)
        return ECRED_ERR_PRESENT_STRUCTURE;
    p->signature = h.str;
    return ecred_cborcur_finish(&cur);
}

/* Protected header: exactly {1: -9, 13: tag-18 item, 16: 294}, in order. Its
 * own decode, so its depth and item caps start again. */
static ecred_err parse_protected(rp1_parts *p)
{
    ecred_cborcur cur;
    ecred_cbor_head h;
    ecred_err e = ecred_cborcur_init(&cur, p->protected_bytes.ptr, p->protected_bytes.len, NULL);
    if (e)
        return e;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_MAP, &h, ECRED_ERR_PRESENT_HEADER)))
        return e;
    if (h.arg != 3)
        return ECRED_ERR_PRESENT_HEADER;
    if ((e = want_label(&cur, 1, ECRED_ERR_PRESENT_HEADER)))
        return e;
    if ((e = ecred_cborcur_head(&cur, &h)))
        return e;
    int64_t alg;
    if (!ecred_cbor_head_int(&h, &alg) || alg != ECRED_COSE_ALG_ESP256)
        return ECRED_ERR_ALG_UNSUPPORTED;
    if ((e = want_label(&cur, ECRED_COSE_HDR_KCWT, ECRED_ERR_PRESENT_HEADER)))
        return e;
    if ((e = ecred_cborcur_skip(&cur, &p->kcwt)))
        return e;
    /* The credential as issued: a tagged COSE_Sign1 in its one-byte tag head.
     * A bstr (zlib, or a wrapped credential) or an untagged array is not. */
    if (p->kcwt.len == 0 || p->kcwt.ptr[0] != 0xd2)
        return ECRED_ERR_PRESENT_HEADER;
    if (p->kcwt.len > ECRED_PRESENT_CRED_MAX)
        return ECRED_ERR_TOO_LARGE;
    if ((e = want_label(&cur, 16, ECRED_ERR_PRESENT_HEADER)))
        return e;
    if ((e = ecred_cborcur_head(&cur, &h)))
        return e;
    if (h.major != ECRED_CBOR_MAJOR_UINT || h.arg != ECRED_COSE_TYP_KBT)
        return ECRED_ERR_PRESENT_HEADER;
    e = ecred_cborcur_finish(&cur);
    return e == ECRED_ERR_CBOR ? ECRED_ERR_PRESENT_HEADER : e;
}

/* Payload: exactly {3: tstr(1..64), 6: uint, ? 39: bstr(1..32)}, in order. */
static ecred_err parse_payload(rp1_parts *p)
{
    if (p->payload.len > ECRED_PRESENT_PAYLOAD_MAX)
        return ECRED_ERR_TOO_LARGE;
    ecred_cborcur cur;
    ecred_cbor_head h;
    ecred_err e = ecred_cborcur_init(&cur, p->payload.ptr, p->payload.len, NULL);
    if (e)
        return e;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_MAP, &h, ECRED_ERR_PRESENT_CLAIMS)))
        return e;
    if (h.arg != 2 && h.arg != 3)
        return ECRED_ERR_PRESENT_CLAIMS;
    uint64_t pairs = h.arg;
    if ((e = want_label(&cur, ECRED_CWT_AUD, ECRED_ERR_PRESENT_CLAIMS)))
        return e;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_TEXT, &h, ECRED_ERR_PRESENT_CLAIMS)))
        return e;
    if (h.str.len == 0 || h.str.len > ECRED_PRESENT_AUD_MAX)
        return ECRED_ERR_PRESENT_CLAIMS;
    memcpy(p->aud, h.str.ptr, h.str.len);
    p->aud[h.str.len] = 0;
    if (memchr(p->aud, 0, h.str.len))
        return ECRED_ERR_PRESENT_CLAIMS;
    if ((e = want_label(&cur, ECRED_CWT_IAT, ECRED_ERR_PRESENT_CLAIMS)))
        return e;
    if ((e = want_head(&cur, ECRED_CBOR_MAJOR_UINT, &h, ECRED_ERR_PRESENT_CLAIMS)))
        return e;
    if (h.arg > (uint64_t)INT64_MAX / 2)
        return ECRED_ERR_PRESENT_CLAIMS;
    p->iat = (int64_t)h.arg;
    p->cnonce_len = 0;
    if (pairs == 3) {
        if ((e = want_label(&cur, ECRED_CWT_CNONCE, ECRED_ERR_PRESENT_CLAIMS)))
            return e;
        if ((e = want_head(&cur, ECRED_CBOR_MAJOR_BYTES, &h, ECRED_ERR_PRESENT_CLAIMS)))
            return e;
        if (h.str.len == 0 || h.str.len > ECRED_PRESENT_NONCE_MAX)
            return ECRED_ERR_PRESENT_CLAIMS;
        memcpy(p->cnonce, h.str.ptr, h.str.len);
        p->cnonce_len = h.str.len;
    }
    e = ecred_cborcur_finish(&cur);
    return e == ECRED_ERR_CBOR ? ECRED_ERR_PRESENT_CLAIMS : e;
}

/* ---- making ---- */

static ecred_err cbor_head_out(ecred_buf *b, uint8_t major, uint64_t v)
{
    uint8_t h[9];
    size_t n;
    if (v < 24) {
        h[0] = (uint8_t)((uint64_t)major << 5 | v);
        n = 1;
    } else if (v <= 0xff) {
        h[0] = (uint8_t)(major << 5 | 24);
        h[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xffff) {
        h[0] = (uint8_t)(major << 5 | 25);
        h[1] = (uint8_t)(v >> 8);
        h[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xffffffffu) {
        h[0] = (uint8_t)(major << 5 | 26);
        for (int i = 0; i < 4; i++)
            h[1 + i] = (uint8_t)(v >> (24 - 8 * i));
        n = 5;
    } else {
        h[0] = (uint8_t)(major << 5 | 27);
        for (int i = 0; i < 8; i++)
            h[1 + i] = (uint8_t)(v >> (56 - 8 * i));
        n = 9;
    }
    return ecred_buf_append(b, h, n);
}

/* Write deterministic CBOR by hand so the credential goes in untouched. */
static ecred_err build_presentation(const ecred_key *holder, ecred_span cred, const char *aud,
                                    const uint8_t *nonce, size_t nonce_len, int64_t iat,
                                    ecred_buf *out)
{
    ecred_buf prot = ECRED_BUF_INIT, pay = ECRED_BUF_INIT, tbs = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    size_t aud_len = strlen(aud);
    ecred_err e = cbor_head_out(&prot, 5, 3);
    if (!e)
        e = ecred_buf_append(&prot, "\x01\x28\x0d", 3); /* 1: -9, 13: */
    if (!e)
        e = ecred_buf_append(&prot, cred.ptr, cred.len);
    if (!e)
        e = ecred_buf_append(&prot, "\x10\x19\x01\x26", 4); /* 16: 294 */
    if (!e)
        e = cbor_head_out(&pay, 5, nonce_len ? 3 : 2);
    if (!e)
        e = cbor_head_out(&pay, 0, ECRED_CWT_AUD);
    if (!e)
        e = cbor_head_out(&pay, 3, aud_len);
    if (!e)
        e = ecred_buf_append(&pay, aud, aud_len);
    if (!e)
        e = cbor_head_out(&pay, 0, ECRED_CWT_IAT);
    if (!e)
        e = cbor_head_out(&pay, 0, (uint64_t)iat);
    if (!e && nonce_len) {
        e = cbor_head_out(&pay, 0, ECRED_CWT_CNONCE);
        if (!e)
            e = cbor_head_out(&pay, 2, nonce_len);
        if (!e)
            e = ecred_buf_append(&pay, nonce, nonce_len);
    }
    if (!e)
        e = ecred_cose_sig_structure(ecred_buf_span(&prot), ecred_buf_span(&pay), &tbs);
    if (!e)
        e = ecred_sign(holder, tbs.ptr, tbs.len, sig, &sig_len);
    if (!e && sig_len != 64)
        e = ECRED_ERR_ARG; /* an Ed25519 key: holder keys are P-256 only */
    if (!e)
        e = ecred_buf_append(&msg, "\xd2\x84", 2);
    if (!e)
        e = cbor_head_out(&msg, 2, prot.len);
    if (!e)
        e = ecred_buf_append(&msg, prot.ptr, prot.len);
    if (!e)
        e = ecred_buf_append(&msg, "\xa0", 1);
    if (!e)
        e = cbor_head_out(&msg, 2, pay.len);
    if (!e)
        e = ecred_buf_append(&msg, pay.ptr, pay.len);
    if (!e)
        e = ecred_buf_append(&msg, "\x58\x40", 2);
    if (!e)
        e = ecred_buf_append(&msg, sig, 64);
    if (!e && msg.len > ECRED_PRESENT_MAX)
        e = ECRED_ERR_TOO_LARGE;
    if (!e) {
        ecred_buf_free(out);
        *out = msg;
        msg = (ecred_buf)ECRED_BUF_INIT;
    }
    ecred_buf_free(&prot);
    ecred_buf_free(&pay);
    ecred_buf_free(&tbs);
    ecred_buf_free(&msg);
    return e;
}

ecred_err ecred_present_make(const ecred_key *holder, const char *rc1_text, size_t n,
                             const ecred_present_make_opts *opts, ecred_buf *text,
                             ecred_buf *cose_out)
{
    if (!holder || !rc1_text || !opts || !text || !ecred_key_has_private(holder) ||
        ecred_key_alg(holder) != ECRED_COSE_ALG_ES256)
        return ECRED_ERR_ARG;
    if (opts->iat < 0 || opts->nonce_len > ECRED_PRESENT_NONCE_MAX ||
        (opts->nonce_len && !opts->nonce) ||
        (opts->aud && (opts->aud[0] == 0 || strlen(opts->aud) > ECRED_PRESENT_AUD_MAX)))
        return ECRED_ERR_INPUT;
    ecred_buf cose = ECRED_BUF_INIT, pres = ECRED_BUF_INIT;
    ecred_cose_sign1 msg;
    ecred_claims claims;
    memset(&msg, 0, sizeof msg);
    ecred_err e = ecred_qrtext_decode(rc1_text, n, false, &cose, NULL);
    if (e)
        goto out;
    /* The holder reads its own credential without the issuer key: the
     * verifier checks the issuer signature; here we only need iss and cnf. */
    e = ecred_cose_sign1_decode(cose.ptr, cose.len, NULL, &msg);
    if (!e)
        e = ecred_claims_decode(msg.payload.ptr, msg.payload.len, &claims);
    if (e)
        goto out;
    if (!claims.has_cnf) {
        e = ECRED_ERR_PRESENT_UNBOUND;
        goto out;
    }
    uint8_t x[32];
    bool y_sign;
    e = ecred_key_ec2_compressed(holder, x, &y_sign);
    if (e)
        goto out;
    if (memcmp(x, claims.cnf_x, 32) != 0 || y_sign != claims.cnf_y_sign) {
        e = ECRED_ERR_INPUT; /* a proof with another key could never verify */
        goto out;
    }
    e = build_presentation(holder, ecred_buf_span(&cose), opts->aud ? opts->aud : claims.iss,
                           opts->nonce, opts->nonce_len, opts->iat, &pres);
    if (!e)
        e = ecred_present_encode_text(pres.ptr, pres.len, opts->compress, text);
    if (!e && cose_out) {
        ecred_buf_free(cose_out);
        *cose_out = pres;
        pres = (ecred_buf)ECRED_BUF_INIT;
    }
out:
    ecred_cose_sign1_clear(&msg);
    ecred_buf_free(&cose);
    ecred_buf_free(&pres);
    return e;
}

/* ---- challenges ---- */

ecred_err ecred_challenge_consume_one(void *ctx, ecred_span nonce, ecred_span aud, int64_t now)
{
    ecred_challenge *c = ctx;
    if (!c || c->used || now > c->expires || nonce.len != c->nonce_len ||
        memcmp(nonce.ptr, c->nonce, nonce.len) != 0)
        return ECRED_ERR_CHALLENGE_UNKNOWN;
    if (aud.len != strlen(c->aud) || memcmp(aud.ptr, c->aud, aud.len) != 0)
        return ECRED_ERR_CHALLENGE_AUDIENCE;
    c->used = true;
    return ECRED_OK;
}

/* ---- policy ---- */

const char *ecred_holder_policy_name(ecred_holder_policy p)
{
    switch (p) {
    case ECRED_HOLDER_POLICY_REQUIRED: return "required";
    case ECRED_HOLDER_POLICY_CHALLENGE: return "challenge";
    default: return "optional";
    }
}

const char *ecred_holder_state_name(ecred_holder_state s)
{
    switch (s) {
    case ECRED_HOLDER_PROVEN: return "proven";
    case ECRED_HOLDER_FAILED: return "failed";
    default: return "not_proven";
    }
}

ecred_err ecred_present_policy(const char *role, const char *setting, ecred_holder_policy *out)
{
    ecred_holder_policy base;
    if (!out)
        return ECRED_ERR_ARG;
    if (!role || strcmp(role, "agency") == 0 || strcmp(role, "landlord") == 0)
        base = ECRED_HOLDER_POLICY_OPTIONAL;
    else if (strcmp(role, "police") == 0)
        base = ECRED_HOLDER_POLICY_REQUIRED;
    else
        return ECRED_ERR_INPUT;
    ecred_holder_policy p = base;
    if (setting) {
        if (strcmp(setting, "optional") == 0)
            p = ECRED_HOLDER_POLICY_OPTIONAL;
        else if (strcmp(setting, "required") == 0)
            p = ECRED_HOLDER_POLICY_REQUIRED;
        else if (strcmp(setting, "challenge") == 0)
            p = ECRED_HOLDER_POLICY_CHALLENGE;
        else
            return ECRED_ERR_INPUT;
    }
    /* Police never accept a copy: a setting may tighten a role, not loosen it. */
    if (base == ECRED_HOLDER_POLICY_REQUIRED && p == ECRED_HOLDER_POLICY_OPTIONAL)
        return ECRED_ERR_INPUT;
    *out = p;
    return ECRED_OK;
}

ecred_present_params ecred_present_params_default(int64_t now)
{
    ecred_present_params p;
    memset(&p, 0, sizeof p);
    p.now = now;
    p.policy = ECRED_HOLDER_POLICY_OPTIONAL;
    p.refresh = ECRED_PRESENT_REFRESH_DEFAULT;
    p.skew = ECRED_PRESENT_SKEW_DEFAULT;
    return p;
}

/* ---- deciding ---- */

/* Outcomes of the credential's own time and status (RC1 steps 7-8): judged
 * after the holder checks (spec/presentation.md 5, step 11). Everything else
 * ecred_decide can answer is a failure of the credential itself. */
static bool is_credential_state(const ecred_verdict *v)
{
    return v->claims_ok && v->outcome != ECRED_ERR_KEY_UNKNOWN;
}

/* Run the one RC1 decision on the embedded credential's received bytes. It
 * takes QR text, so the bytes travel as an uncompressed "RC1:" text: base45
 * round-trips them exactly, and decide.c stays the only RC1 verifier. */
static ecred_err decide_embedded(ecred_span kcwt, const ecred_keyset *keys,
                                 const ecred_status_source *status, int64_t now,
                                 ecred_verdict *v)
{
    ecred_buf b45 = ECRED_BUF_INIT, text = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_encode(kcwt.ptr, kcwt.len, &b45);
    if (!e)
        e = ecred_buf_append(&text, ECRED_QRTEXT_PREFIX, sizeof ECRED_QRTEXT_PREFIX - 1);
    if (!e)
        e = ecred_buf_append(&text, b45.ptr, b45.len);
    if (!e)
        e = ecred_decide((const char *)text.ptr, text.len, keys, status, now, v);
    else
        memset(v, 0, sizeof *v), v->outcome = e;
    ecred_buf_free(&b45);
    ecred_buf_free(&text);
    return v->outcome;
}

/* Holder failures a role may downgrade to "not proven" (the credential's own
 * verdict then stands); anything else is a hard failure for every role. */
static bool is_soft_holder_failure(ecred_err e)
{
    switch (e) {
    case ECRED_ERR_TOO_OLD:
    case ECRED_ERR_IN_FUTURE:
    case ECRED_ERR_BEFORE_ISSUE:
    case ECRED_ERR_REPLAYED:
    case ECRED_ERR_REPLAY_CACHE_FULL:
    case ECRED_ERR_CHALLENGE_REQUIRED:
    case ECRED_ERR_CHALLENGE_UNKNOWN:
    case ECRED_ERR_CHALLENGE_AUDIENCE:
    case ECRED_ERR_AUDIENCE:
        return true;
    default:
        return false;
    }
}

/* Steps 2-10 of spec/presentation.md 5 on an RP1 text. Returns the holder
 * result: ECRED_OK (proven), a soft failure, or a hard failure. v->cred is
 * filled when the credential was reached. */
static ecred_err check_rp1(const char *text, size_t n, const ecred_keyset *keys,
                           const ecred_status_source *status, const ecred_present_params *p,
                           ecred_present_verdict *v)
{
    ecred_buf pres = ECRED_BUF_INIT, tbs = ECRED_BUF_INIT;
    ecred_key *hk = NULL;
    rp1_parts parts;
    memset(&parts, 0, sizeof parts);
    ecred_err e = ecred_present_decode_text(text, n, &pres, &v->compressed);
    if (e)
        goto out;
    v->presentation_len = pres.len;
    if ((e = parse_outer(pres.ptr, pres.len, &parts)))
        goto out;
    if ((e = parse_protected(&parts)))
        goto out;
    /* Issuer signature, claims and trust of the credential (RC1 steps 3-6). */
    decide_embedded(parts.kcwt, keys, status, p->now, &v->cred);
    if (v->cred.outcome != ECRED_OK && !is_credential_state(&v->cred)) {
        e = v->cred.outcome;
        goto out;
    }
    if (!v->cred.claims.has_cnf) {
        e = ECRED_ERR_PRESENT_UNBOUND;
        goto out;
    }
    e = ecred_holder_key_get(p->holder_keys, v->cred.claims.cnf_x, v->cred.claims.cnf_y_sign, &hk);
    if (e) {
        e = e == ECRED_ERR_KEY_INVALID ? ECRED_ERR_PRESENT_UNBOUND : e;
        goto out;
    }
    if ((e = ecred_cose_sig_structure(parts.protected_bytes, parts.payload, &tbs)))
        goto out;
    e = ecred_verify(hk, tbs.ptr, tbs.len, parts.signature.ptr, parts.signature.len);
    if (e) {
        e = e == ECRED_ERR_SIGNATURE_INVALID ? ECRED_ERR_HOLDER_SIGNATURE : e;
        goto out;
    }
    /* Both signatures hold: only now may the payload, challenges and the
     * replay cache be touched, so a forger can fill or use up neither. */
    if ((e = parse_payload(&parts)))
        goto out;
    memcpy(v->aud, parts.aud, sizeof v->aud);
    v->presented_at = parts.iat;
    v->challenge = parts.cnonce_len > 0;
    ecred_span aud = ecred_span_of(parts.aud, strlen(parts.aud));
    if (p->policy == ECRED_HOLDER_POLICY_CHALLENGE && !parts.cnonce_len) {
        e = ECRED_ERR_CHALLENGE_REQUIRED;
        goto out;
    }
    if (parts.cnonce_len) {
        e = p->challenge ? p->challenge(p->challenge_ctx, ecred_span_of(parts.cnonce, parts.cnonce_len),
                                        aud, p->now)
                         : ECRED_ERR_CHALLENGE_UNKNOWN;
        if (e)
            goto out;
    } else if (strcmp(parts.aud, v->cred.claims.iss) != 0) {
        e = ECRED_ERR_AUDIENCE;
        goto out;
    }
    if (parts.iat < v->cred.claims.iat) {
        e = ECRED_ERR_BEFORE_ISSUE;
        goto out;
    }
    if (p->now - parts.iat > p->refresh + p->skew) {
        e = ECRED_ERR_TOO_OLD;
        goto out;
    }
    if (parts.iat - p->now > p->skew) {
        e = ECRED_ERR_IN_FUTURE;
        goto out;
    }
    if (p->replay) {
        uint8_t key[ECRED_REPLAY_KEY_LEN];
        ecred_present_replay_key(v->cred.kid, v->cred.kid_len, v->cred.claims.cti,
                                 v->cred.claims.cti_len, parts.iat, parts.cnonce,
                                 parts.cnonce_len, key);
        v->replay_checked = true;
        /* Live until the last moment this code could still be accepted. */
        e = ecred_replay_check_insert(p->replay, key, parts.iat + p->refresh + p->skew, p->now,
                                      &v->first_seen);
    }
out:
    ecred_key_free(hk);
    ecred_buf_free(&tbs);
    ecred_buf_free(&pres);
    return e;
}

/* The static path: RC1 text judged as before, then labelled. */
static ecred_err check_rc1(const char *text, size_t n, const ecred_keyset *keys,
                           const ecred_status_source *status, const ecred_present_params *p,
                           ecred_present_verdict *v)
{
    ecred_decide(text, n, keys, status, p->now, &v->cred);
    if (!v->cred.claims_ok)
        return v->cred.outcome;
    /* A static code never proves the holder, even one cut out of an RP1. */
    return v->cred.claims.has_cnf ? ECRED_ERR_HOLDER_PROOF_REQUIRED : ECRED_ERR_HOLDER_UNBOUND;
}

static bool has_prefix(const char *text, size_t n, const char *prefix)
{
    size_t pl = strlen(prefix);
    while (n && is_space(text[0]))
        text++, n--;
    return n >= pl && memcmp(text, prefix, pl) == 0;
}

ecred_err ecred_present_decide(const char *text, size_t n, const ecred_keyset *keys,
                               const ecred_status_source *status, const ecred_present_params *p,
                               ecred_present_verdict *out)
{
    memset(out, 0, sizeof *out);
    if (!text || !p || p->skew < 0 || p->skew > ECRED_PRESENT_SKEW_MAX || p->refresh < 0 ||
        p->refresh > 3600) {
        out->outcome = out->holder_reason = ECRED_ERR_ARG;
        out->holder = ECRED_HOLDER_FAILED;
        return out->outcome;
    }
    out->now = p->now;
    out->policy = p->policy;
    bool required = p->policy != ECRED_HOLDER_POLICY_OPTIONAL;
    ecred_err h;
    if (n <= ECRED_QRTEXT_MAX && has_prefix(text, n, ECRED_PRESENT_PREFIX)) {
        out->presentation = true;
        h = check_rp1(text, n, keys, status, p, out);
    } else {
        h = check_rc1(text, n, keys, status, p, out);
        out->holder_reason = h;
        out->holder = ECRED_HOLDER_NOT_PROVEN;
        /* The credential's own failure comes first; then the role. */
        if (!out->cred.claims_ok || out->cred.outcome != ECRED_OK)
            out->outcome = out->cred.outcome;
        else
            out->outcome = required ? h : ECRED_OK;
        return out->outcome;
    }
    out->holder_reason = h;
    if (h == ECRED_OK) {
        out->holder = ECRED_HOLDER_PROVEN;
        out->outcome = out->cred.outcome; /* step 11: the credential's time and status */
    } else if (is_soft_holder_failure(h)) {
        out->holder = ECRED_HOLDER_NOT_PROVEN;
        out->outcome = required ? h : out->cred.outcome;
    } else {
        out->holder = ECRED_HOLDER_FAILED;
        out->outcome = h;
    }
    return out->outcome;
}
