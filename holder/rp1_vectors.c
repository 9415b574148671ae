/*
 * rp1_vectors.c - ecred-rp1-vectors: writes spec/vectors/presentations.txt,
 * the RP1 test vectors (spec/presentation.md section 9), to stdout.
 *
 * Credentials are issued with the published test issuer key and bound to the
 * published test holder key (tests/vectors/keys/). Well-formed presentations
 * come from ecred_present_make; hostile ones are assembled here byte by byte,
 * because no honest encoder can produce them. ECDSA is randomised, so a rerun
 * gives other bytes with the same meaning: regenerate only when the format
 * changes. A development tool: it must never be shipped or trusted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecred/issue.h"
#include "ecred/b45.h"
#include "ecred/buf.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/present.h"
#include "ecred/zcap.h"

static ecred_key *issuer, *holder, *other;
static const char *root;
static int64_t cred_iat, now;
static ecred_buf cred_bound, cred_unbound, cred_text_bound, cred_text_unbound;

#define NOW_TEXT "2026-11-27T09:00:00+08:00"
#define AUD_VERIFIER "police-station-7"
#define NONCE_HEX "00112233445566778899aabbccddeeff"

static void die(const char *what, ecred_err e)
{
    fprintf(stderr, "ecred-rp1-vectors: %s: %s\n", what, ecred_err_name(e));
    exit(1);
}

static ecred_key *load_private(const char *rel)
{
    char path[4096];
    ecred_buf pem = ECRED_BUF_INIT;
    ecred_key *k = NULL;
    snprintf(path, sizeof path, "%s/%s", root, rel);
    ecred_err e = ecred_read_file(path, 65536, &pem);
    if (!e)
        e = ecred_key_private_from_pem(pem.ptr, pem.len, &k);
    ecred_buf_wipe(&pem);
    if (e)
        die(rel, e);
    return k;
}

/* One credential of spec/examples/permit-rental.json, bound to `cnf` or not. */
static void issue(const ecred_key *cnf, uint8_t cti_last, ecred_buf *cose, ecred_buf *text)
{
    char path[4096];
    ecred_buf json = ECRED_BUF_INIT;
    ecred_claims c;
    memset(&c, 0, sizeof c);
    snprintf(path, sizeof path, "%s/spec/examples/permit-rental.json", root);
    ecred_err e = ecred_read_file(path, 65536, &json);
    if (!e)
        e = ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, NULL);
    if (e)
        die("example", e);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = cred_iat;
    memcpy(c.cti, "\x52\x50\x31\x00\x00\x00\x00", 7);
    c.cti[7] = cti_last;
    c.cti_len = 8;
    c.has_status = true;
    c.status_idx = 4242;
    strcpy(c.status_uri, "https://jzz.sh.gov.cn/s/1");
    if (cnf) {
        c.has_cnf = true;
        if ((e = ecred_key_ec2_compressed(cnf, c.cnf_x, &c.cnf_y_sign)))
            die("cnf", e);
    }
    if ((e = ecred_issue_sign(issuer, &c, ECRED_COMPRESS_DICT, text, cose)))
        die("issue", e);
    ecred_buf_free(&json);
}

static void head(ecred_buf *b, unsigned major, size_t v)
{
    uint8_t h[3];
    ecred_err e;
    if (v < 24) {
        h[0] = (uint8_t)(major << 5 | v);
        e = ecred_buf_append(b, h, 1);
    } else if (v < 256) {
        h[0] = (uint8_t)(major << 5 | 24), h[1] = (uint8_t)v;
        e = ecred_buf_append(b, h, 2);
    } else {
        h[0] = (uint8_t)(major << 5 | 25), h[1] = (uint8_t)(v >> 8), h[2] = (uint8_t)v;
        e = ecred_buf_append(b, h, 3);
    }
    if (e)
        die("append", e);
}

static void put(ecred_buf *b, const void *p, size_t n)
{
    ecred_err e = ecred_buf_append(b, p, n);
    if (e)
        die("append", e);
}

/* Protected header bytes {1: alg, 13: kcwt, 16: typ} with knobs for breakage. */
typedef struct prot_spec {
    int alg;           /* -9 normally */
    ecred_span kcwt;
    int typ;           /* 294 normally; 0 leaves typ out */
    bool dup_alg;      /* a second label 1 */
} prot_spec;

static void build_prot(const prot_spec *s, ecred_buf *out)
{
    head(out, 5, (size_t)(1 + 1 + (s->typ ? 1 : 0) + (s->dup_alg ? 1 : 0)));
    put(out, "\x01", 1);
    put(out, s->alg == -9 ? "\x28" : s->alg == -7 ? "\x26" : "\x27", 1);
    if (s->dup_alg)
        put(out, "\x01\x28", 2);
    put(out, "\x0d", 1);
    put(out, s->kcwt.ptr, s->kcwt.len);
    if (s->typ) {
        put(out, "\x10\x19", 2);
        uint8_t t[2] = {(uint8_t)(s->typ >> 8), (uint8_t)s->typ};
        put(out, t, 2);
    }
}

/* Payload {3: aud, 6: iat, ? 39: nonce} plus raw extra pairs. */
static void build_payload(const char *aud, int64_t iat, const uint8_t *nonce, size_t nonce_len,
                          size_t extra_pairs, const char *extra, size_t extra_len, ecred_buf *out)
{
    head(out, 5, (size_t)(aud ? 2 : 1) + (nonce_len ? 1u : 0u) + extra_pairs);
    if (aud) {
        put(out, "\x03", 1);
        head(out, 3, strlen(aud));
        put(out, aud, strlen(aud));
    }
    uint8_t t[6] = {0x06, 0x1a, (uint8_t)(iat >> 24), (uint8_t)(iat >> 16), (uint8_t)(iat >> 8), (uint8_t)iat};
    put(out, t, 6);
    if (nonce_len) {
        put(out, "\x18\x27", 2);
        head(out, 2, nonce_len);
        put(out, nonce, nonce_len);
    }
    if (extra_len)
        put(out, extra, extra_len);
}

/* tag 18 [bstr prot, unprot (raw bytes), bstr payload, bstr sig] signed by key. */
static void assemble(const ecred_key *key, const ecred_buf *prot, const char *unprot,
                     size_t unprot_len, const ecred_buf *pay, bool high_s, ecred_buf *out)
{
    ecred_buf tbs = ECRED_BUF_INIT;
    uint8_t sig[64];
    size_t sl = 0;
    ecred_err e = ecred_cose_sig_structure(ecred_buf_span(prot), ecred_buf_span(pay), &tbs);
    if (!e)
        e = ecred_sign(key, tbs.ptr, tbs.len, sig, &sl);
    if (e)
        die("sign", e);
    if (high_s) {
        /* s' = n - s: the other valid signature anyone can compute. */
        static const uint8_t n[32] = {
            0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51};
        int borrow = 0;
        for (int i = 31; i >= 0; i--) {
            int d = n[i] - sig[32 + i] - borrow;
            borrow = d < 0;
            sig[32 + i] = (uint8_t)(d + (borrow ? 256 : 0));
        }
    }
    put(out, "\xd2\x84", 2);
    head(out, 2, prot->len);
    put(out, prot->ptr, prot->len);
    put(out, unprot, unprot_len);
    head(out, 2, pay->len);
    put(out, pay->ptr, pay->len);
    put(out, "\x58\x40", 2);
    put(out, sig, 64);
    ecred_buf_free(&tbs);
}

static void emit(const char *name, const char *at, const char *policy, const char *group,
                 const char *expect, const char *holder_state, const char *text)
{
    printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, at, policy, group, expect, holder_state, text);
}

/* Encode bytes as RP1 text (any first byte: hostile vectors need that too). */
static void rp1_text(const uint8_t *p, size_t n, bool z, ecred_buf *text)
{
    ecred_buf zb = ECRED_BUF_INIT, b45 = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    if (z)
        e = ecred_zlib_compress(p, n, 9, ecred_rp1_dictionary(), &zb);
    if (!e)
        e = z ? ecred_b45_encode(zb.ptr, zb.len, &b45) : ecred_b45_encode(p, n, &b45);
    if (e)
        die("text", e);
    ecred_buf_free(text);
    put(text, "RP1:", 4);
    put(text, b45.ptr, b45.len);
    ecred_buf_terminate(text);
    ecred_buf_free(&zb);
    ecred_buf_free(&b45);
}

/* A crafted presentation: defaults are a valid timed one at now - 10. */
typedef struct craft {
    const ecred_key *key;
    prot_spec prot;
    const char *unprot;
    size_t unprot_len;
    const char *aud;
    int64_t iat;
    const uint8_t *nonce;
    size_t nonce_len;
    size_t extra_pairs;
    const char *extra;
    size_t extra_len;
    bool high_s;
    const char *trailing;
} craft;

static craft craft_default(void)
{
    craft c;
    memset(&c, 0, sizeof c);
    c.key = holder;
    c.prot.alg = -9;
    c.prot.kcwt = ecred_buf_span(&cred_bound);
    c.prot.typ = 294;
    c.unprot = "\xa0";
    c.unprot_len = 1;
    c.aud = "https://jzz.sh.gov.cn";
    c.iat = now - 10;
    return c;
}

static void craft_text(const craft *c, ecred_buf *text, ecred_buf *raw)
{
    ecred_buf prot = ECRED_BUF_INIT, pay = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
    build_prot(&c->prot, &prot);
    build_payload(c->aud, c->iat, c->nonce, c->nonce_len, c->extra_pairs, c->extra, c->extra_len, &pay);
    assemble(c->key, &prot, c->unprot, c->unprot_len, &pay, c->high_s, &msg);
    if (c->trailing)
        put(&msg, c->trailing, strlen(c->trailing));
    rp1_text(msg.ptr, msg.len, true, text);
    if (raw) {
        ecred_buf_free(raw);
        *raw = msg;
        msg = (ecred_buf)ECRED_BUF_INIT;
    }
    ecred_buf_free(&prot);
    ecred_buf_free(&pay);
    ecred_buf_free(&msg);
}

static void emit_craft(const char *name, const craft *c, const char *policy, const char *group,
                       const char *expect, const char *state)
{
    ecred_buf t = ECRED_BUF_INIT;
    craft_text(c, &t, NULL);
    emit(name, NOW_TEXT, policy, group, expect, state, (const char *)t.ptr);
    ecred_buf_free(&t);
}

static void make(const ecred_key *k, const ecred_buf *cred_text, const char *aud,
                 const uint8_t *nonce, size_t nonce_len, int64_t iat, ecred_compress z,
                 ecred_buf *out)
{
    ecred_present_make_opts o = {.aud = aud, .nonce = nonce, .nonce_len = nonce_len, .iat = iat,
                                 .compress = z};
    ecred_err e = ecred_present_make(k, (const char *)cred_text->ptr, cred_text->len, &o, out, NULL);
    if (e)
        die("make", e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: ecred-rp1-vectors SOURCE_DIR > spec/vectors/presentations.txt\n", stderr);
        return 2;
    }
    root = argv[1];
    issuer = load_private("tests/vectors/keys/test-issuer.key.pem");
    holder = load_private("tests/vectors/keys/test-holder.key.pem");
    if (ecred_key_generate(ECRED_COSE_ALG_ES256, &other))
        die("keygen", ECRED_ERR_CRYPTO);
    if (ecred_time_parse("2026-11-26T10:00:00+08:00", &cred_iat) || ecred_time_parse(NOW_TEXT, &now))
        die("time", ECRED_ERR_INPUT);
    issue(holder, 1, &cred_bound, &cred_text_bound);
    issue(NULL, 2, &cred_unbound, &cred_text_unbound);
    uint8_t nonce[16];
    ecred_unhex(NONCE_HEX, 32, nonce, 16);
    ecred_buf t = ECRED_BUF_INIT;

    puts("# RP1 presentation vectors (spec/presentation.md section 9). Columns, tab-separated:");
    puts("# name, verifier now, holder policy, group, expected detail (ecred_err_name),");
    puts("# expected holder state, QR text. Lines of one group share a replay cache and");
    puts("# the challenge {aud " AUD_VERIFIER ", nonce " NONCE_HEX ", code 482913} and run in");
    puts("# order; group - gets fresh ones. Credentials: spec/examples/permit-rental.json");
    puts("# issued 2026-11-26T10:00:00+08:00 by tests/vectors/keys/test-issuer.key.pem, bound to");
    puts("# tests/vectors/keys/test-holder.key.pem (both PUBLISHED test keys). Trust: test-issuer");
    puts("# only; status is not checked. Made by spec/vectors/make-presentations.sh.");

    /* Honest presentations. */
    make(holder, &cred_text_bound, NULL, NULL, 0, now - 10, ECRED_COMPRESS_DICT, &t);
    emit("timed-ok", NOW_TEXT, "optional", "-", "ok", "proven", (const char *)t.ptr);
    emit("timed-ok-police", NOW_TEXT, "required", "-", "ok", "proven", (const char *)t.ptr);
    emit("timed-police-challenge-station", NOW_TEXT, "challenge", "-", "challenge_required", "not_proven", (const char *)t.ptr);
    ecred_buf raw = ECRED_BUF_INIT;
    make(holder, &cred_text_bound, NULL, NULL, 0, now - 10, ECRED_COMPRESS_NONE, &raw);
    emit("timed-ok-uncompressed", NOW_TEXT, "required", "-", "ok", "proven", (const char *)raw.ptr);
    emit("timed-replayed-first", NOW_TEXT, "required", "replay", "ok", "proven", (const char *)t.ptr);
    emit("timed-replayed-again", NOW_TEXT, "required", "replay", "seen_at", "not_proven", (const char *)t.ptr);
    emit("timed-replayed-landlord", NOW_TEXT, "optional", "replay", "ok", "not_proven", (const char *)t.ptr);
    /* Another signature and encoding over the same kid, cti and iat: caught. */
    emit("timed-resigned-uncompressed-caught", NOW_TEXT, "required", "replay", "seen_at", "not_proven", (const char *)raw.ptr);
    ecred_buf_free(&raw);
    make(holder, &cred_text_bound, NULL, NULL, 0, now - 90, ECRED_COMPRESS_DICT, &t);
    emit("timed-oldest-accepted", NOW_TEXT, "required", "-", "ok", "proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, NULL, NULL, 0, now - 91, ECRED_COMPRESS_DICT, &t);
    emit("stale-screenshot", NOW_TEXT, "required", "-", "too_old", "not_proven", (const char *)t.ptr);
    emit("stale-screenshot-landlord", NOW_TEXT, "optional", "-", "ok", "not_proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, NULL, NULL, 0, now + 60, ECRED_COMPRESS_DICT, &t);
    emit("future-edge-accepted", NOW_TEXT, "required", "-", "ok", "proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, NULL, NULL, 0, now + 61, ECRED_COMPRESS_DICT, &t);
    emit("future", NOW_TEXT, "required", "-", "in_future", "not_proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, NULL, NULL, 0, cred_iat - 1, ECRED_COMPRESS_DICT, &t);
    emit("before-issue", "2026-11-26T10:00:30+08:00", "required", "-", "before_issue", "not_proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, AUD_VERIFIER, nonce, 16, now - 5, ECRED_COMPRESS_DICT, &t);
    emit("challenge-ok", NOW_TEXT, "challenge", "chal", "ok", "proven", (const char *)t.ptr);
    emit("challenge-nonce-reused", NOW_TEXT, "challenge", "chal", "challenge_unknown", "not_proven", (const char *)t.ptr);
    emit("challenge-answer-to-required-verifier", NOW_TEXT, "required", "-", "ok", "proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, "police-station-8", nonce, 16, now - 5, ECRED_COMPRESS_DICT, &t);
    emit("challenge-other-verifier", NOW_TEXT, "challenge", "-", "challenge_audience", "not_proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, AUD_VERIFIER, (const uint8_t *)"482914", 6, now - 5, ECRED_COMPRESS_DICT, &t);
    emit("challenge-wrong-code", NOW_TEXT, "challenge", "-", "challenge_unknown", "not_proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, AUD_VERIFIER, (const uint8_t *)"482913", 6, now - 5, ECRED_COMPRESS_DICT, &t);
    emit("challenge-typed-code-ok", NOW_TEXT, "challenge", "-", "ok", "proven", (const char *)t.ptr);
    make(holder, &cred_text_bound, "https://evil.example", NULL, 0, now - 5, ECRED_COMPRESS_DICT, &t);
    emit("timed-aud-mismatch", NOW_TEXT, "required", "-", "audience", "not_proven", (const char *)t.ptr);
    int64_t later;
    if (ecred_time_parse("2029-11-26T00:00:10+08:00", &later))
        die("time", ECRED_ERR_INPUT);
    make(holder, &cred_text_bound, NULL, NULL, 0, later - 10, ECRED_COMPRESS_DICT, &t);
    emit("credential-expired-proof-fresh", "2029-11-26T00:00:10+08:00", "required", "-", "expired", "proven", (const char *)t.ptr);

    /* Static codes (the stripped credential and unbound credentials). */
    emit("stripped-static-police", NOW_TEXT, "required", "-", "static_presentation", "not_proven", (const char *)cred_text_bound.ptr);
    emit("stripped-static-landlord", NOW_TEXT, "optional", "-", "ok", "not_proven", (const char *)cred_text_bound.ptr);
    emit("unbound-static-police", NOW_TEXT, "required", "-", "no_holder_key", "not_proven", (const char *)cred_text_unbound.ptr);
    emit("unbound-static-landlord", NOW_TEXT, "optional", "-", "ok", "not_proven", (const char *)cred_text_unbound.ptr);

    /* Hostile presentations. */
    craft c = craft_default();
    emit_craft("crafted-baseline-ok", &c, "required", "-", "ok", "proven");
    c.high_s = true;
    emit_craft("high-s-verifies", &c, "required", "-", "ok", "proven");
    c = craft_default();
    c.iat = now - 20;
    emit_craft("high-s-replay-first", &c, "required", "highs", "ok", "proven");
    c.high_s = true;
    emit_craft("high-s-replay-caught", &c, "required", "highs", "seen_at", "not_proven");
    c = craft_default();
    c.key = other;
    emit_craft("wrong-cnf-key", &c, "optional", "-", "holder_signature", "failed");
    c = craft_default();
    c.prot.kcwt = ecred_buf_span(&cred_unbound);
    emit_craft("no-cnf", &c, "optional", "-", "presentation_unbound", "failed");
    c = craft_default();
    c.extra_pairs = 1;
    c.extra = "\x07\x41\x00"; /* cti */
    c.extra_len = 3;
    emit_craft("extra-claim", &c, "optional", "-", "presentation_claims", "failed");
    c = craft_default();
    c.aud = NULL;
    emit_craft("missing-aud", &c, "optional", "-", "presentation_claims", "failed");
    c = craft_default();
    c.extra_pairs = 1;
    c.extra = "\x03\x61\x78"; /* a second aud */
    c.extra_len = 3;
    emit_craft("duplicate-claim-label", &c, "optional", "-", "presentation_claims", "failed");
    c = craft_default();
    c.prot.dup_alg = true;
    emit_craft("duplicate-header-label", &c, "optional", "-", "presentation_header", "failed");
    c = craft_default();
    c.prot.typ = 293;
    emit_craft("wrong-typ", &c, "optional", "-", "presentation_header", "failed");
    c = craft_default();
    c.prot.typ = 0;
    emit_craft("missing-typ", &c, "optional", "-", "presentation_header", "failed");
    c = craft_default();
    c.prot.alg = -7;
    emit_craft("alg-es256-not-esp256", &c, "optional", "-", "alg_unsupported", "failed");
    c = craft_default();
    c.unprot = "\xa1\x04\x41\x00";
    c.unprot_len = 4;
    emit_craft("unprotected-not-empty", &c, "optional", "-", "presentation_header", "failed");
    c = craft_default();
    c.trailing = "\x01";
    emit_craft("trailing-byte", &c, "optional", "-", "cbor", "failed");
    {
        /* kcwt compressed: a bstr holding the zlib stream of the credential. */
        ecred_buf z = ECRED_BUF_INIT, item = ECRED_BUF_INIT;
        if (ecred_zlib_compress(cred_bound.ptr, cred_bound.len, 9, ecred_rc1_dictionary(), &z))
            die("zlib", ECRED_ERR_INFLATE);
        head(&item, 2, z.len);
        put(&item, z.ptr, z.len);
        c = craft_default();
        c.prot.kcwt = ecred_buf_span(&item);
        emit_craft("kcwt-compressed", &c, "optional", "-", "presentation_header", "failed");
        /* kcwt untagged: the credential's array without tag 18. */
        c.prot.kcwt = ecred_span_of(cred_bound.ptr + 1, cred_bound.len - 1);
        emit_craft("kcwt-untagged", &c, "optional", "-", "presentation_header", "failed");
        /* kcwt nested: a whole presentation inside. */
        ecred_buf inner = ECRED_BUF_INIT;
        craft ci = craft_default();
        craft_text(&ci, &t, &inner);
        c.prot.kcwt = ecred_buf_span(&inner);
        emit_craft("kcwt-nested-presentation", &c, "optional", "-", "alg_unsupported", "failed");
        /* The issuer signature broken inside an otherwise honest proof. */
        ecred_buf bad = ECRED_BUF_INIT;
        put(&bad, cred_bound.ptr, cred_bound.len);
        bad.ptr[bad.len - 1] ^= 1;
        c.prot.kcwt = ecred_buf_span(&bad);
        emit_craft("kcwt-issuer-signature-broken", &c, "optional", "-", "signature", "failed");
        ecred_buf_free(&z);
        ecred_buf_free(&item);
        ecred_buf_free(&inner);
        ecred_buf_free(&bad);
    }
    {
        /* An inflate bomb: 64 KiB of zeros behind the RP1 dictionary. */
        uint8_t *zeros = calloc(65536, 1);
        zeros[0] = 0xd2;
        ecred_buf z = ECRED_BUF_INIT, b45 = ECRED_BUF_INIT;
        if (!zeros || ecred_zlib_compress(zeros, 65536, 9, ecred_rp1_dictionary(), &z) ||
            ecred_b45_encode(z.ptr, z.len, &b45))
            die("bomb", ECRED_ERR_NOMEM);
        ecred_buf_free(&t);
        put(&t, "RP1:", 4);
        put(&t, b45.ptr, b45.len);
        ecred_buf_terminate(&t);
        emit("inflate-bomb", NOW_TEXT, "optional", "-", "too_large", "failed", (const char *)t.ptr);
        free(zeros);
        ecred_buf_free(&z);
        ecred_buf_free(&b45);
        /* A zlib stream of something that is not a presentation. */
        rp1_text((const uint8_t *)"\xa0", 1, true, &t);
        emit("zlib-not-cose", NOW_TEXT, "optional", "-", "presentation_structure", "failed", (const char *)t.ptr);
        rp1_text(cred_bound.ptr + 1, cred_bound.len - 1, false, &t);
        emit("first-byte-unknown", NOW_TEXT, "optional", "-", "presentation_structure", "failed", (const char *)t.ptr);
        /* The crafted baseline for a landlord: proven too. */
        c = craft_default();
        c.extra_pairs = 0;
        emit_craft("crafted-baseline-optional", &c, "optional", "-", "ok", "proven");
    }
    make(holder, &cred_text_bound, NULL, NULL, 0, now - 10, ECRED_COMPRESS_DICT, &t);
    printf("not-our-prefix\t%s\toptional\t-\tprefix\tnot_proven\tRP2:%s\n", NOW_TEXT, (const char *)t.ptr + 4);
    ecred_buf_free(&t);
    ecred_buf_free(&cred_bound);
    ecred_buf_free(&cred_unbound);
    ecred_buf_free(&cred_text_bound);
    ecred_buf_free(&cred_text_unbound);
    ecred_key_free(issuer);
    ecred_key_free(holder);
    ecred_key_free(other);
    return 0;
}
