/*
 * b45.c - base45 (RFC 9285) encoding and strict decoding.
 *
 * This is the outermost layer of a QR credential, so the decoder sees raw
 * attacker text: it accepts exactly the RFC 9285 alphabet (no lowercase, no
 * whitespace), rejects a dangling single character and every chunk whose value
 * does not fit its byte count, and computes output sizes with overflow checks.
 * It must never print, never allocate before the text length has been checked,
 * and never touch `out` unless it succeeds.
 */
#include "ecred/b45.h"

#include <string.h>

/* RFC 9285 section 4.2, Table 1: value i is B45_ALPHABET[i]. */
static const char B45_ALPHABET[45] = {
    '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'B', 'C', 'D', 'E',
    'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T',
    'U', 'V', 'W', 'X', 'Y', 'Z', ' ', '$', '%', '*', '+', '-', '.', '/', ':'};

/* Value 0..44 of one base45 character, or -1 for anything outside the alphabet.
 * A switch rather than strchr so that NUL and bytes >= 0x80 are plainly rejected. */
static int b45_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    switch (c) {
    case ' ': return 36;
    case '$': return 37;
    case '%': return 38;
    case '*': return 39;
    case '+': return 40;
    case '-': return 41;
    case '.': return 42;
    case '/': return 43;
    case ':': return 44;
    default: return -1;
    }
}

/* Encode n bytes: every 2 bytes become 3 characters, a last odd byte 2.
 * Fails with ECRED_ERR_TOO_LARGE when the text would exceed ECRED_BUF_MAX;
 * out is replaced (and NUL-terminated) only on success. */
ecred_err ecred_b45_encode(const uint8_t *in, size_t n, ecred_buf *out)
{
    if (!out || (!in && n))
        return ECRED_ERR_ARG;
    /* text = 3*(n/2) + 2*(n%2), plus the NUL; bounded before multiplying. */
    if (n / 2 > (ECRED_BUF_MAX - 3) / 3)
        return ECRED_ERR_TOO_LARGE;
    size_t text_len = 3 * (n / 2) + 2 * (n % 2);

    ecred_buf text = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_reserve(&text, text_len + 1);
    if (e)
        return e;
    char *p = (char *)text.ptr;
    size_t i = 0;
    for (; i + 1 < n; i += 2) {
        unsigned v = (unsigned)in[i] << 8 | in[i + 1];
        p[0] = B45_ALPHABET[v % 45];
        p[1] = B45_ALPHABET[(v / 45) % 45];
        p[2] = B45_ALPHABET[v / 2025];
        p += 3;
    }
    if (i < n) {
        unsigned v = in[i];
        p[0] = B45_ALPHABET[v % 45];
        p[1] = B45_ALPHABET[v / 45];
    }
    text.len = text_len;
    text.ptr[text_len] = 0;
    ecred_buf_free(out);
    *out = text;
    return ECRED_OK;
}

/* Decode n characters of base45 text (text need not be NUL-terminated).
 * ECRED_ERR_BASE45 for a character outside the alphabet, n % 3 == 1, a triple
 * above 65535 or a final pair above 255. out is replaced only on success. */
ecred_err ecred_b45_decode(const char *text, size_t n, ecred_buf *out)
{
    if (!out || (!text && n))
        return ECRED_ERR_ARG;
    if (n % 3 == 1)
        return ECRED_ERR_BASE45;
    /* Output is never longer than the text, so n bounds the allocation; still
     * refuse anything over the buffer ceiling before allocating. */
    if (n > ECRED_BUF_MAX)
        return ECRED_ERR_TOO_LARGE;
    size_t byte_len = 2 * (n / 3) + (n % 3 == 2 ? 1 : 0);

    /* Validate everything first: a rejection then costs no allocation. */
    for (size_t i = 0; i < n; i += 3) {
        size_t chunk = n - i < 3 ? n - i : 3;
        unsigned long v = 0, weight = 1;
        for (size_t k = 0; k < chunk; k++) {
            int d = b45_value((unsigned char)text[i + k]);
            if (d < 0)
                return ECRED_ERR_BASE45;
            v += (unsigned long)d * weight;
            weight *= 45;
        }
        if (v > (chunk == 3 ? 65535ul : 255ul))
            return ECRED_ERR_BASE45;
    }

    ecred_buf bytes = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_reserve(&bytes, byte_len ? byte_len : 1);
    if (e)
        return e;
    uint8_t *q = bytes.ptr;
    for (size_t i = 0; i < n; i += 3) {
        unsigned c0 = (unsigned)b45_value((unsigned char)text[i]);
        unsigned c1 = (unsigned)b45_value((unsigned char)text[i + 1]);
        if (n - i >= 3) {
            unsigned c2 = (unsigned)b45_value((unsigned char)text[i + 2]);
            unsigned v = c0 + c1 * 45 + c2 * 2025;
            *q++ = (uint8_t)(v >> 8);
            *q++ = (uint8_t)(v & 0xff);
        } else {
            *q++ = (uint8_t)(c0 + c1 * 45);
        }
    }
    bytes.len = byte_len;
    ecred_buf_free(out);
    *out = bytes;
    return ECRED_OK;
}
