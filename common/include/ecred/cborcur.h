/*
 * cborcur.h - a non-allocating CBOR reader for untrusted input: a cursor over
 * caller-owned bytes that hands out one head at a time, strings as spans into
 * the input.
 *
 * This is the one CBOR read path for untrusted input (COSE envelopes, CWT
 * claims, status list token envelopes). It accepts exactly what the libcbor
 * loader of the private cborin.h (ecred_cbor_decode) accepts and refuses the
 * rest with the same error: every length and count is checked against the
 * bytes left, indefinite lengths, breaks, reserved additional information and
 * unassigned simple values are refused, text strings must be valid UTF-8, tags
 * 6..20 in their one-byte head are read like any other tag. Decoders that only
 * need to look at a few fields use it instead of building a libcbor tree (one
 * malloc per item). The cursor never allocates and never reads past len.
 */
#ifndef ECRED_CBORCUR_H
#define ECRED_CBORCUR_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"

/* Caps for reading untrusted CBOR (here and in the private cborin.h). Deepest
 * nesting any caller may ask for: the check keeps one counter per open
 * container on the stack. */
#define ECRED_CBOR_DEPTH_MAX 64

typedef struct ecred_cbor_limits {
    size_t max_bytes;
    size_t max_items;
    size_t max_depth;
} ecred_cbor_limits;

/* Limits for a credential or any small signed object (a QR payload). */
#define ECRED_CBOR_SMALL_MAX_BYTES 4096
#define ECRED_CBOR_SMALL_MAX_ITEMS 512
#define ECRED_CBOR_SMALL_MAX_DEPTH 16
extern const ecred_cbor_limits ecred_cbor_limits_small;

/* CBOR major types (RFC 8949 section 3.1). */
enum {
    ECRED_CBOR_MAJOR_UINT = 0,
    ECRED_CBOR_MAJOR_NEGINT = 1,
    ECRED_CBOR_MAJOR_BYTES = 2,
    ECRED_CBOR_MAJOR_TEXT = 3,
    ECRED_CBOR_MAJOR_ARRAY = 4,
    ECRED_CBOR_MAJOR_MAP = 5,
    ECRED_CBOR_MAJOR_TAG = 6,
    ECRED_CBOR_MAJOR_SIMPLE = 7, /* simple values and floats */
};

/* Simple values as carried in a head's arg (major 7, info 20..23). */
#define ECRED_CBOR_SIMPLE_FALSE 20
#define ECRED_CBOR_SIMPLE_TRUE 21
#define ECRED_CBOR_SIMPLE_NULL 22

/* One head as read: for strings the content too (already consumed). */
typedef struct ecred_cbor_head {
    uint8_t major; /* ECRED_CBOR_MAJOR_* */
    uint8_t info;  /* the head's additional information (low 5 bits) */
    uint64_t arg;  /* int value, string length, element or pair count, tag
                    * number, simple value, or the raw bits of a float */
    ecred_span str; /* major 2 and 3: the content, pointing into the input */
} ecred_cbor_head;

/* Caller-owned cursor state; fields are private to cborcur.c. */
typedef struct ecred_cborcur {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    size_t items_left; /* heads still allowed by max_items */
    size_t max_depth;  /* nesting allowed inside one ecred_cborcur_skip */
} ecred_cborcur;

/* Check that buf[0..n) is exactly one well-formed item within lim (NULL: the
 * small limits), without allocating. Same acceptance and same error as
 * ecred_cbor_decode for every input: ECRED_ERR_TOO_LARGE, ECRED_ERR_CBOR_LIMIT,
 * ECRED_ERR_CBOR, ECRED_ERR_ARG (bad arguments, max_depth > ECRED_CBOR_DEPTH_MAX). */
ecred_err ecred_cborcur_check(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim);

/* Start reading buf[0..n) (borrowed for the cursor's life) under lim (NULL:
 * the small limits). ECRED_ERR_TOO_LARGE when n > max_bytes, ECRED_ERR_ARG on
 * bad arguments; *cur is written only on success. */
ecred_err ecred_cborcur_init(ecred_cborcur *cur, const uint8_t *buf, size_t n,
                             const ecred_cbor_limits *lim);

/* Read the next head (for a definite string its content too, as h->str);
 * containers' elements follow as the next heads. ECRED_ERR_CBOR when the head
 * is ill-formed, truncated, indefinite, a break, an unassigned simple value,
 * a string longer than the rest, a count that cannot fit in the rest, or text
 * that is not UTF-8; ECRED_ERR_CBOR_LIMIT past max_items heads. The cursor
 * advances only on success; *h is written only on success. */
ecred_err ecred_cborcur_head(ecred_cborcur *cur, ecred_cbor_head *h);

/* Read one whole item (a container with everything in it) and give the bytes
 * it occupies in *item (may be NULL). Nesting inside it is capped at
 * max_depth (ECRED_ERR_CBOR_LIMIT); otherwise the errors of ecred_cborcur_head.
 * On failure the cursor position is unspecified: stop reading. */
ecred_err ecred_cborcur_skip(ecred_cborcur *cur, ecred_span *item);

/* ECRED_OK when every byte was read, ECRED_ERR_CBOR when bytes remain. */
ecred_err ecred_cborcur_finish(const ecred_cborcur *cur);

/* Bytes not read yet. */
size_t ecred_cborcur_left(const ecred_cborcur *cur);

/* True when h is an integer (major 0 or 1) in int64 range; sets *out. */
bool ecred_cbor_head_int(const ecred_cbor_head *h, int64_t *out);
/* True when h is a text string equal to the NUL-terminated s. */
bool ecred_cbor_head_text_is(const ecred_cbor_head *h, const char *s);
/* True when h is false or true; sets *out. */
bool ecred_cbor_head_bool(const ecred_cbor_head *h, bool *out);

#endif
