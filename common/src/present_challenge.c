/*
 * present_challenge.c - the challenge a verifier shows (spec/presentation.md
 * section 3, verifier.md "Challenges"): "RN1:" + base45 of one length byte,
 * the nonce, then the verifier id (aud) as UTF-8 text. The phone reads it,
 * signs an RP1 with aud = that id and cnonce = that nonce.
 *
 * It carries no secret and no signature (presentation.md section 7, decision
 * 3): a relayed challenge only lets the relay answer with the holder's phone
 * in hand. This file must never keep state: stores of outstanding challenges
 * belong to the verifier.
 */
#include <string.h>

#include "ecred/b45.h"
#include "ecred/present.h"
#include "ecred/utf8.h"

/* aud as the RP1 payload takes it: 1..64 bytes of UTF-8 text. */
static bool aud_ok(const char *aud, size_t n)
{
    return n >= 1 && n <= ECRED_PRESENT_AUD_MAX && ecred_utf8_valid((const uint8_t *)aud, n, ECRED_UTF8_NO_CONTROLS);
}

ecred_err ecred_challenge_encode_text(const ecred_challenge *c, ecred_buf *text)
{
    if (!c || !text || c->nonce_len == 0 || c->nonce_len > ECRED_PRESENT_NONCE_MAX)
        return ECRED_ERR_ARG;
    size_t al = strnlen(c->aud, sizeof c->aud);
    if (!aud_ok(c->aud, al))
        return ECRED_ERR_ARG;
    uint8_t raw[1 + ECRED_PRESENT_NONCE_MAX + ECRED_PRESENT_AUD_MAX];
    raw[0] = (uint8_t)c->nonce_len;
    memcpy(raw + 1, c->nonce, c->nonce_len);
    memcpy(raw + 1 + c->nonce_len, c->aud, al);
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_set(&b, ECRED_CHALLENGE_PREFIX, strlen(ECRED_CHALLENGE_PREFIX));
    ecred_buf enc = ECRED_BUF_INIT;
    if (!e)
        e = ecred_b45_encode(raw, 1 + c->nonce_len + al, &enc);
    if (!e)
        e = ecred_buf_append(&b, enc.ptr, enc.len);
    if (!e)
        e = ecred_buf_terminate(&b);
    ecred_buf_free(&enc);
    if (e) {
        ecred_buf_free(&b);
        return e;
    }
    ecred_buf_free(text);
    *text = b;
    return ECRED_OK;
}

ecred_err ecred_challenge_decode_text(const char *text, size_t n, ecred_challenge *out)
{
    if (!text || !out)
        return ECRED_ERR_ARG;
    while (n && (text[0] == ' ' || text[0] == '\t' || text[0] == '\r' || text[0] == '\n')) {
        text++;
        n--;
    }
    /* Only line ends after it: a space is a base45 digit. */
    while (n && (text[n - 1] == '\r' || text[n - 1] == '\n'))
        n--;
    size_t pl = strlen(ECRED_CHALLENGE_PREFIX);
    if (n < pl || memcmp(text, ECRED_CHALLENGE_PREFIX, pl) != 0)
        return ECRED_ERR_NOT_OUR_FORMAT;
    /* Longest honest text: base45 of 1 + 32 + 64 bytes. */
    if (n - pl > 3 * ((1 + ECRED_PRESENT_NONCE_MAX + ECRED_PRESENT_AUD_MAX) / 2 + 1))
        return ECRED_ERR_TOO_LARGE;
    ecred_buf raw = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_decode(text + pl, n - pl, &raw);
    if (e) {
        ecred_buf_free(&raw);
        return e;
    }
    e = ECRED_ERR_INPUT;
    if (raw.len >= 2) {
        size_t nl = raw.ptr[0];
        if (nl >= 1 && nl <= ECRED_PRESENT_NONCE_MAX && raw.len > 1 + nl &&
            aud_ok((const char *)raw.ptr + 1 + nl, raw.len - 1 - nl)) {
            ecred_challenge c;
            memset(&c, 0, sizeof c);
            memcpy(c.nonce, raw.ptr + 1, nl);
            c.nonce_len = nl;
            memcpy(c.aud, raw.ptr + 1 + nl, raw.len - 1 - nl);
            *out = c;
            e = ECRED_OK;
        }
    }
    ecred_buf_free(&raw);
    return e;
}
