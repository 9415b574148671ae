/*
 * vutil.c - durations, ages and constant-time comparison for the verifier
 * (see vutil.h). Must never: print or exit.
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
