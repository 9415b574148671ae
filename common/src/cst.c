/*
 * cst.c - China Standard Time days and RFC 3339 dates (cst.h).
 *
 * Civil-date arithmetic is Howard Hinnant's days_from_civil / civil_from_days
 * algorithm (public domain description), proleptic Gregorian, exact for every
 * year we accept. This file must never call localtime, mktime or read TZ:
 * CST has had no daylight saving since 1991, so a fixed offset is the truth.
 */
#include "ecred/cst.h"

#include <string.h>

/* ---- dates ------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (y, m 1..12, d 1..31). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return mdays[m - 1];
}

static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Parse YYYYMMDD digits (8 chars) or YYYY-MM-DD (10 chars). */
static ecred_err parse_ymd(const char *s, size_t n, int32_t *days)
{
    int y, m, d;
    if (n == 10 && s[4] == '-' && s[7] == '-') {
        y = digits_value(s, 4);
        m = digits_value(s + 5, 2);
        d = digits_value(s + 8, 2);
    } else if (n == 8) {
        y = digits_value(s, 4);
        m = digits_value(s + 4, 2);
        d = digits_value(s + 6, 2);
    } else {
        return ECRED_ERR_INPUT;
    }
    if (y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return ECRED_ERR_INPUT;
    *days = days_from_civil(y, m, d);
    return ECRED_OK;
}

ecred_err ecred_date_parse_basic(const char *s, size_t n, int32_t *days)
{
    if (!s || !days || n != 8)
        return ECRED_ERR_INPUT;
    return parse_ymd(s, n, days);
}

ecred_err ecred_date_parse(const char *s, size_t n, int32_t *days)
{
    if (!s || !days)
        return ECRED_ERR_INPUT;
    if (n != 10)
        return ECRED_ERR_INPUT;
    return parse_ymd(s, n, days);
}

/* Write v as exactly `width` decimal digits (v is known to fit). */
static char *put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

void ecred_date_format(int32_t days, char out[11])
{
    int y, m, d;
    civil_from_days(days, &y, &m, &d);
    char *p = put_digits(out, y < 0 ? 0 : y % 10000, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p = 0;
}

ecred_err ecred_time_parse(const char *s, int64_t *t)
{
    size_t n = strlen(s);
    int32_t days;
    if (n < 20 || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' ||
        parse_ymd(s, 10, &days) != ECRED_OK)
        return ECRED_ERR_INPUT;
    int hh = digits_value(s + 11, 2), mm = digits_value(s + 14, 2), ss = digits_value(s + 17, 2);
    if (hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
        return ECRED_ERR_INPUT;
    size_t i = 19;
    if (s[i] == '.') {
        i++;
        size_t start = i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return ECRED_ERR_INPUT;
    }
    int64_t offset = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
        offset = 0;
    } else if ((s[i] == '+' || s[i] == '-') && i + 6 == n && s[i + 3] == ':') {
        int oh = digits_value(s + i + 1, 2), om = digits_value(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return ECRED_ERR_INPUT;
        offset = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
    } else {
        return ECRED_ERR_INPUT;
    }
    *t = (int64_t)days * ECRED_SECONDS_PER_DAY + hh * 3600 + mm * 60 + ss - offset;
    return ECRED_OK;
}

void ecred_time_format(int64_t t, char out[21])
{
    int64_t d = t / ECRED_SECONDS_PER_DAY, r = t % ECRED_SECONDS_PER_DAY;
    if (r < 0) {
        r += ECRED_SECONDS_PER_DAY;
        d--;
    }
    ecred_date_format((int32_t)d, out);
    char *p = out + 10;
    *p++ = 'T';
    p = put_digits(p, (int)(r / 3600), 2);
    *p++ = ':';
    p = put_digits(p, (int)(r / 60 % 60), 2);
    *p++ = ':';
    p = put_digits(p, (int)(r % 60), 2);
    *p++ = 'Z';
    *p = 0;
}

int64_t ecred_cst_day_start(int32_t days)
{
    return (int64_t)days * ECRED_SECONDS_PER_DAY - ECRED_CST_OFFSET;
}

int32_t ecred_cst_day_of(int64_t t)
{
    int64_t s = t + ECRED_CST_OFFSET;
    int64_t d = s / ECRED_SECONDS_PER_DAY;
    if (s % ECRED_SECONDS_PER_DAY < 0)
        d--;
    return (int32_t)d;
}


bool ecred_cst_is_midnight(int64_t t)
{
    return ecred_cst_day_start(ecred_cst_day_of(t)) == t;
}

void ecred_time_format_cst(int64_t t, char out[26])
{
    char utc[21];
    ecred_time_format(t + ECRED_CST_OFFSET, utc);
    memcpy(out, utc, 19); /* the wall clock in CST, then the offset instead of Z */
    memcpy(out + 19, "+08:00", 7);
}
