/*
 * utf8.c - strict UTF-8 validation (utf8.h).
 *
 * The ranges of the second byte carry the whole of RFC 3629's table 3-7: after
 * E0 only A0..BF (else overlong), after ED only 80..9F (else a surrogate),
 * after F0 only 90..BF (overlong), after F4 only 80..8F (past U+10FFFF); lead
 * bytes C0, C1 and F5..FF never occur. Checking that range is all the decoding
 * the validator needs, which keeps it fast enough for the verify path (every
 * CBOR text string of a credential passes here). Must never accept what
 * another part of ecred would refuse: it is the only definition we have.
 */
#include "ecred/utf8.h"

size_t ecred_utf8_next(const uint8_t *s, size_t n, uint32_t *cp)
{
    if (!s || n == 0)
        return 0;
    uint8_t c = s[0];
    if (c < 0x80) {
        if (cp)
            *cp = c;
        return 1;
    }
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2, v = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3, v = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4, v = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0; /* a continuation byte, C0/C1 overlongs, F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (s[k] & 0x3fu);
    }
    if (cp)
        *cp = v;
    return len;
}

bool ecred_utf8_valid(const uint8_t *s, size_t n, unsigned rules)
{
    if (!s)
        return n == 0;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            /* ASCII is nearly all of what we see: no decoding for it. */
            if ((rules & ECRED_UTF8_NO_CONTROLS) && (c < 0x20 || c == 0x7f))
                return false;
            if ((rules & ECRED_UTF8_NO_NUL) && c == 0)
                return false;
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = ecred_utf8_next(s + i, n - i, &cp);
        if (len == 0)
            return false;
        if ((rules & ECRED_UTF8_NO_CONTROLS) && cp < 0xa0)
            return false; /* C1 controls U+0080..U+009F */
        i += len;
    }
    return true;
}
