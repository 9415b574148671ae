/*
 * cst.h - calendar days in China Standard Time (UTC+8, no daylight saving),
 * the one place that turns Unix seconds into the day numbers credentials
 * carry, and day numbers into dates people read.
 *
 * A day number counts days since 1970-01-01 in the proleptic Gregorian
 * calendar; it names a civil date, and "day d in CST" runs from
 * ecred_cst_day_start(d) to ecred_cst_day_start(d + 1) - 1. Must never consult
 * the clock, the TZ variable or the C library's time zone: the caller passes
 * every instant, so results do not depend on the machine.
 */
#ifndef ECRED_CST_H
#define ECRED_CST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"

#define ECRED_SECONDS_PER_DAY 86400
#define ECRED_CST_OFFSET (8 * 3600) /* seconds China Standard Time is ahead of UTC */

/* Earliest and latest day numbers any date may take: 1900-01-01 and
 * 2199-12-31. Far outside any real credential, but it keeps every time
 * computation well inside int64 and rejects garbage like year 0. */
#define ECRED_DAY_MIN (-25567)
#define ECRED_DAY_MAX 84005

/* Seconds since the epoch of 00:00 China Standard Time on day `days`. */
int64_t ecred_cst_day_start(int32_t days);
/* The CST day number that contains instant t (floor, negative t too). t
 * must be within int32 days of the epoch (any time_t of this millennium). */
int32_t ecred_cst_day_of(int64_t t);
/* True when t is exactly 00:00 CST of some day. */
bool ecred_cst_is_midnight(int64_t t);

/* Day number of an RFC 3339 full-date "YYYY-MM-DD" (exactly 10 bytes, years
 * 1900..2199); ECRED_ERR_INPUT if not a real calendar date. *days is written
 * only on success. */
ecred_err ecred_date_parse(const char *s, size_t n, int32_t *days);
/* Same for the basic form "YYYYMMDD" (exactly 8 digits), as in an ID number. */
ecred_err ecred_date_parse_basic(const char *s, size_t n, int32_t *days);
/* "YYYY-MM-DD" (11 bytes incl. NUL). */
void ecred_date_format(int32_t days, char out[11]);
/* RFC 3339 date-time ("2026-11-26T10:00:00Z", "...+08:00", fraction ignored)
 * to seconds since the epoch; ECRED_ERR_INPUT otherwise. */
ecred_err ecred_time_parse(const char *s, int64_t *t);
/* UTC RFC 3339 "YYYY-MM-DDTHH:MM:SSZ" (21 bytes incl. NUL). */
void ecred_time_format(int64_t t, char out[21]);
/* The same instant as people in China read it: "YYYY-MM-DDTHH:MM:SS+08:00"
 * (26 bytes incl. NUL). For human output only; machine output stays UTC. */
void ecred_time_format_cst(int64_t t, char out[26]);

#endif
