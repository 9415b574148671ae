/*
 * b64url.c - base64url without padding (see b64url.h). Must never accept two
 * spellings of one byte string: a proof's bytes are what gets signed.
 */
#include "ecred/b64url.h"

#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

ecred_err ecred_b64url_encode(const uint8_t *in, size_t n, ecred_buf *out)
{
    char quad[4];
    ecred_err e = ECRED_OK;
    for (size_t i = 0; !e && i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        size_t take = n - i >= 3 ? 3 : n - i;
        if (take > 1)
            v |= (uint32_t)in[i + 1] << 8;
        if (take > 2)
            v |= in[i + 2];
        quad[0] = alphabet[(v >> 18) & 63];
        quad[1] = alphabet[(v >> 12) & 63];
        quad[2] = alphabet[(v >> 6) & 63];
        quad[3] = alphabet[v & 63];
        e = ecred_buf_append(out, quad, take + 1);
    }
    return e;
}

/* The 6-bit value of c, or -1 outside the alphabet. */
static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

ecred_err ecred_b64url_decode(const char *text, size_t n, size_t max, ecred_buf *out)
{
    if (!text && n)
        return ECRED_ERR_ARG;
    if (n % 4 == 1)
        return ECRED_ERR_INPUT;
    size_t len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (len > max)
        return ECRED_ERR_TOO_LARGE;
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    for (size_t i = 0; !e && i < n; i += 4) {
        size_t take = n - i >= 4 ? 4 : n - i;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int x = j < take ? value_of(text[i + j]) : 0;
            if (x < 0) {
                e = ECRED_ERR_INPUT;
                break;
            }
            v = v << 6 | (uint32_t)x;
        }
        if (e)
            break;
        uint8_t bytes[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
        /* Pad bits of a short last group must be zero. */
        if ((take == 2 && (v & 0xFFFF)) || (take == 3 && (v & 0xFF)))
            e = ECRED_ERR_INPUT;
        if (!e)
            e = ecred_buf_append(&b, bytes, take - 1);
    }
    if (e) {
        ecred_buf_free(&b);
        return e;
    }
    ecred_buf_free(out);
    *out = b;
    return ECRED_OK;
}
