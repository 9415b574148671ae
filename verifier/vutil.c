/*
 * vutil.c - durations, ages, constant-time comparison and escaping for the
 * verifier (see vutil.h). Must never: print or exit.
 */
#include "vutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vnote_say(const vnote *n, int level, const char *fmt, ...)
{
    if (!n || !n->fn)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    n->fn(n->ctx, level, msg);
}

ecred_err vutil_parse_duration(const char *s, int64_t *out)
{
    if (!s || !*s)
        return ECRED_ERR_INPUT;
    int64_t v = 0;
    size_t i = 0;
    /* Strict: digits then at most one unit letter; the cap is checked per
     * digit so the arithmetic never overflows. */
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        v = v * 10 + (s[i] - '0');
        if (v > VUTIL_DURATION_MAX)
            return ECRED_ERR_INPUT;
    }
    if (i == 0)
        return ECRED_ERR_INPUT;
    int64_t unit = 1;
    if (s[i]) {
        switch (s[i]) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        default: return ECRED_ERR_INPUT;
        }
        if (s[i + 1])
            return ECRED_ERR_INPUT;
    }
    if (v == 0 || v > VUTIL_DURATION_MAX / unit)
        return ECRED_ERR_INPUT;
    *out = v * unit;
    return ECRED_OK;
}

void vutil_format_age(int64_t s, char *out, size_t cap)
{
    if (s < 0)
        s = 0;
    long long d = (long long)(s / 86400), h = (long long)(s % 86400 / 3600),
              m = (long long)(s % 3600 / 60), sec = (long long)(s % 60);
    /* The two largest units, the smaller dropped when zero: "1d", "3h12m". */
    long long big, small;
    char bu, su;
    if (d) {
        big = d, small = h, bu = 'd', su = 'h';
    } else if (h) {
        big = h, small = m, bu = 'h', su = 'm';
    } else if (m) {
        big = m, small = sec, bu = 'm', su = 's';
    } else {
        snprintf(out, cap, "%llds", sec);
        return;
    }
    if (small)
        snprintf(out, cap, "%lld%c%lld%c", big, bu, small, su);
    else
        snprintf(out, cap, "%lld%c", big, bu);
}

bool vutil_equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    volatile uint8_t acc = 0;
    for (size_t i = 0; i < n; i++)
        acc = (uint8_t)(acc | (a[i] ^ b[i]));
    return acc == 0;
}

/* Length of the valid UTF-8 sequence at p (1..4) when it encodes a character
 * a terminal shows as itself, 0 when it must be escaped: C1 controls
 * (U+0080..U+009F: 8-bit CSI and friends), bidi controls that reorder what a
 * reader sees (U+200E/F, U+202A..U+202E, U+2066..U+2069), line and paragraph
 * separators, overlongs, surrogates and anything past U+10FFFF. */
static size_t utf8_printable(const unsigned char *p)
{
    unsigned c = p[0];
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0u) != 0x80u) /* also stops at the NUL */
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp < 0xa0 || cp == 0x200e || cp == 0x200f ||
        (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
        return 0;
    return n;
}

const char *vutil_escape(const char *s, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    if (!out || cap == 0)
        return "";
    if (!s)
        s = "(null)";
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (*p) {
        char piece[8];
        size_t len = 0, take = 1;
        if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
            piece[len++] = (char)*p;
        } else if (*p == '\\') {
            piece[len++] = '\\';
            piece[len++] = '\\';
        } else if ((take = utf8_printable(p)) != 0) {
            memcpy(piece, p, take);
            len = take;
        } else {
            take = 1;
            piece[len++] = '\\';
            piece[len++] = 'x';
            piece[len++] = hex[*p >> 4];
            piece[len++] = hex[*p & 15];
        }
        /* Keep room for "..." and the NUL, so a cut is always visible. */
        if (o + len + 4 > cap) {
            if (cap >= 4) {
                memcpy(out + (o + 4 <= cap ? o : cap - 4), "...", 4);
            } else {
                out[0] = 0;
            }
            return out;
        }
        memcpy(out + o, piece, len);
        o += len;
        p += take;
    }
    out[o] = 0;
    return out;
}
