/*
 * checkpoint.c - signed audit-log checkpoints (checkpoint.h, spec/audit.md)
 * and the base64 they are written in.
 *
 * Parsing is strict and bounded: the whole note is capped, every line must be
 * exactly where the format puts it, numbers are plain decimal without
 * leading zeros, and a signature must verify before anything is returned.
 * Must never accept a checkpoint whose body it did not verify byte for byte.
 */
#include <stdio.h>
#include <string.h>

#include "ecred/checkpoint.h"

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The signed-note signature line starts with an em dash (U+2014) and a space. */
static const char sig_dash[] = "\xe2\x80\x94 ";

#define SIG_TYPE_ES256 0x02

void ecred_audit_leaf_hash(const ecred_audit_entry *e, ecred_merkle_hash out)
{
    char prev[65];
    ecred_hex(e->prev, 32, prev);
    char text[256];
    /* %.*s: fields are bounded by their arrays even if not NUL-terminated. */
    int n = snprintf(text, sizeof text,
                     "ecred-audit/1\nseq %llu\nat %lld\naction %.*s\nsubject %.*s\nactor %.*s\n"
                     "prev %s\n",
                     (unsigned long long)e->seq, (long long)e->at, (int)sizeof e->action,
                     e->action, (int)sizeof e->subject, e->subject, (int)sizeof e->actor, e->actor,
                     prev);
    if (n < 0 || (size_t)n >= sizeof text)
        n = 0; /* cannot happen with the field caps; hashes the empty leaf */
    ecred_merkle_leaf_hash((const uint8_t *)text, (size_t)n, out);
}

ecred_err ecred_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
    if (!out || (n && !in) || n > (SIZE_MAX - 1) / 4 || cap < (n + 2) / 3 * 4 + 1)
        return ECRED_ERR_BUFFER_SMALL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64_alphabet[(v >> 18) & 63];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
    }
    out[o] = 0;
    return ECRED_OK;
}

/* Value of one base64 character, or -1. */
static int b64_value(char c)
{
    const char *p = c ? strchr(b64_alphabet, c) : NULL;
    return p ? (int)(p - b64_alphabet) : -1;
}

ecred_err ecred_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                              size_t *out_len)
{
    if (!in || !out || !out_len || len % 4 != 0)
        return ECRED_ERR_INPUT;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            if (in[i + (size_t)k] == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad) {
                return ECRED_ERR_INPUT; /* data after padding */
            } else if ((v[k] = b64_value(in[i + (size_t)k])) < 0) {
                return ECRED_ERR_INPUT;
            }
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t take = 3 - (size_t)pad;
        /* Canonical: the bits under the padding must be zero. */
        if ((pad == 1 && (w & 0xff)) || (pad == 2 && (w & 0xffff)))
            return ECRED_ERR_INPUT;
        if (o + take > cap)
            return ECRED_ERR_TOO_LARGE;
        out[o++] = (uint8_t)(w >> 16);
        if (take > 1)
            out[o++] = (uint8_t)(w >> 8);
        if (take > 2)
            out[o++] = (uint8_t)w;
    }
    *out_len = o;
    return ECRED_OK;
}

/* Is the origin usable as a note key name (printable, no space or '+')? */
static bool origin_ok(const char *s, size_t n)
{
    if (n == 0 || n > ECRED_CHECKPOINT_ORIGIN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '+')
            return false;
    return true;
}

/* keyhash = SHA-256(name || "\n" || 0x02 || SPKI DER)[0..4). */
static ecred_err key_hash(const ecred_key *key, const char *name, uint8_t out[4])
{
    ecred_buf spki = ECRED_BUF_INIT, m = ECRED_BUF_INIT;
    uint8_t tail[2] = {'\n', SIG_TYPE_ES256};
    ecred_err e = ecred_key_spki_der(key, &spki);
    if (!e)
        e = ecred_buf_append(&m, name, strlen(name));
    if (!e)
        e = ecred_buf_append(&m, tail, 2);
    if (!e)
        e = ecred_buf_append(&m, spki.ptr, spki.len);
    if (!e) {
        uint8_t h[32];
        ecred_sha256(m.ptr, m.len, h);
        memcpy(out, h, 4);
    }
    ecred_buf_free(&spki);
    ecred_buf_free(&m);
    return e;
}

/* The body text of cp into body (cap bytes); its length or 0. */
static size_t body_text(const ecred_checkpoint *cp, char *body, size_t cap)
{
    char root[64];
    if (ecred_base64_encode(cp->root, 32, root, sizeof root) != ECRED_OK)
        return 0;
    int n = snprintf(body, cap, "%s\n%llu\n%s\n", cp->origin, (unsigned long long)cp->size, root);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

ecred_err ecred_checkpoint_sign(const ecred_key *key, const ecred_checkpoint *cp, ecred_buf *out)
{
    if (!key || !cp || !out)
        return ECRED_ERR_ARG;
    if (ecred_key_alg(key) != ECRED_COSE_ALG_ES256)
        return ECRED_ERR_ALG_UNSUPPORTED;
    if (!origin_ok(cp->origin, strlen(cp->origin)))
        return ECRED_ERR_INPUT;
    char body[ECRED_CHECKPOINT_MAX];
    size_t blen = body_text(cp, body, sizeof body);
    if (!blen)
        return ECRED_ERR_TOO_LARGE;
    uint8_t blob[4 + ECRED_SIG_MAX];
    size_t sig_len = 0;
    ecred_err e = key_hash(key, cp->origin, blob);
    if (!e)
        e = ecred_sign(key, (const uint8_t *)body, blen, blob + 4, &sig_len);
    if (e)
        return e;
    char b64[2 * sizeof blob];
    if ((e = ecred_base64_encode(blob, 4 + sig_len, b64, sizeof b64)) != ECRED_OK)
        return e;
    char text[ECRED_CHECKPOINT_MAX];
    int n = snprintf(text, sizeof text, "%s\n%s%s %s\n", body, sig_dash, cp->origin, b64);
    if (n <= 0 || (size_t)n >= sizeof text)
        return ECRED_ERR_TOO_LARGE;
    out->len = 0;
    if ((e = ecred_buf_append(out, text, (size_t)n)) != ECRED_OK)
        return e;
    return ecred_buf_terminate(out);
}

/* Strict decimal without leading zeros (except "0"). */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

ecred_err ecred_checkpoint_verify(const uint8_t *text, size_t len, ecred_key *const *keys,
                                  size_t n, ecred_checkpoint *out)
{
    if (!text || !out || (n && !keys))
        return ECRED_ERR_ARG;
    if (len > ECRED_CHECKPOINT_MAX)
        return ECRED_ERR_TOO_LARGE;
    const char *s = (const char *)text;
    if (memchr(s, 0, len))
        return ECRED_ERR_INPUT;
    /* Body: three lines, then an empty line. Extension lines are not used by
     * this log and are refused rather than skipped. */
    const char *line[3];
    size_t line_len[3];
    size_t pos = 0;
    for (int i = 0; i < 3; i++) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        if (!nl)
            return ECRED_ERR_INPUT;
        line[i] = s + pos;
        line_len[i] = (size_t)(nl - line[i]);
        pos += line_len[i] + 1;
    }
    size_t body_len = pos;
    if (pos >= len || s[pos] != '\n')
        return ECRED_ERR_INPUT;
    pos++;
    ecred_checkpoint cp;
    memset(&cp, 0, sizeof cp);
    if (!origin_ok(line[0], line_len[0]) || !parse_u64(line[1], line_len[1], &cp.size))
        return ECRED_ERR_INPUT;
    memcpy(cp.origin, line[0], line_len[0]);
    size_t root_len = 0;
    if (ecred_base64_decode(line[2], line_len[2], cp.root, sizeof cp.root, &root_len) != ECRED_OK ||
        root_len != 32)
        return ECRED_ERR_INPUT;
    /* Signature lines: "— name base64\n"; the one whose key hash we know
     * must verify (other lines, e.g. witnesses' cosignatures, are skipped). */
    ecred_err verdict = ECRED_ERR_KEY_UNKNOWN;
    bool any = false;
    while (pos < len) {
        const char *nl = memchr(s + pos, '\n', len - pos);
        if (!nl)
            return ECRED_ERR_INPUT;
        const char *l = s + pos;
        size_t ll = (size_t)(nl - l);
        pos += ll + 1;
        size_t dl = sizeof sig_dash - 1;
        if (ll <= dl || memcmp(l, sig_dash, dl) != 0)
            return ECRED_ERR_INPUT;
        const char *sp = memchr(l + dl, ' ', ll - dl);
        if (!sp)
            return ECRED_ERR_INPUT;
        any = true;
        size_t name_len = (size_t)(sp - (l + dl));
        if (name_len != line_len[0] || memcmp(l + dl, line[0], name_len) != 0)
            continue; /* another signer's line */
        uint8_t blob[4 + ECRED_SIG_MAX + 8];
        size_t blob_len = 0;
        size_t b64_len = ll - (size_t)(sp + 1 - l);
        if (ecred_base64_decode(sp + 1, b64_len, blob, sizeof blob, &blob_len) != ECRED_OK ||
            blob_len != 4 + 64)
            return ECRED_ERR_INPUT;
        for (size_t k = 0; k < n; k++) {
            uint8_t kh[4];
            if (!keys[k] || key_hash(keys[k], cp.origin, kh) != ECRED_OK || memcmp(kh, blob, 4))
                continue;
            ecred_err e = ecred_verify(keys[k], text, body_len, blob + 4, 64);
            if (e == ECRED_OK) {
                *out = cp;
                return ECRED_OK;
            }
            verdict = e;
        }
    }
    return any ? verdict : ECRED_ERR_INPUT;
}
