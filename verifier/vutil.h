/*
 * vutil.h - small helpers the verifier's programs share: durations on the
 * command line, ages for people, constant-time comparison, a message sink,
 * and escaping of outside text before it reaches a log line or a terminal.
 *
 * Must never: print or exit (the programs decide how to report).
 */
#ifndef ECRED_VERIFIER_VUTIL_H
#define ECRED_VERIFIER_VUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"

#define VUTIL_DURATION_MAX ((int64_t)3660 * 86400) /* ten years and change */

/* Where the verifier's modules send messages for people (sync progress,
 * refused lists). level: 0 info, 1 warning, 2 error. ctx is the sink's own. */
typedef struct vnote {
    void (*fn)(void *ctx, int level, const char *msg);
    void *ctx;
} vnote;

/* Format a message and hand it to the sink (a NULL sink or fn drops it). */
__attribute__((format(printf, 3, 4))) void vnote_say(const vnote *n, int level, const char *fmt, ...);

/* "90", "90s", "15m", "24h", "7d" -> seconds, 1..VUTIL_DURATION_MAX;
 * ECRED_ERR_INPUT for anything else (no signs, no spaces, no mixing). */
ecred_err vutil_parse_duration(const char *s, int64_t *out);

/* An age for people: "45s", "12m30s", "3h12m", "2d4h" (negative ages, from
 * clocks out of step, print as "0s"). */
void vutil_format_age(int64_t seconds, char *out, size_t cap);

/* Text from outside (an index's URIs, a server's error, a credential's
 * fields) made safe for one log line or a terminal: valid UTF-8 of printable
 * characters passes, every other byte (C0 and C1 controls such as ESC, CR
 * and LF, DEL, bidi overrides, invalid UTF-8) and the backslash become \xHH
 * or \\, so no byte can start an escape sequence or forge a line. Writes at
 * most cap bytes, always NUL-terminated; an escape that would not fit ends
 * the text with "...". Returns out, for use as a printf argument; NULL s
 * gives "(null)". */
const char *vutil_escape(const char *s, char *out, size_t cap);
/* Escaped text buffer big enough for a URI or an error message. */
#define VUTIL_ESC_MAX 1200

/* Compare n bytes without an early exit. */
bool vutil_equal_ct(const uint8_t *a, const uint8_t *b, size_t n);

#endif
