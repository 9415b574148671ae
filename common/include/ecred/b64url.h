/*
 * b64url.h - base64url without padding (RFC 4648 section 5), as JWTs and
 * JWKs use it: the one place that reads or writes it. Decoding is strict:
 * the URL-safe alphabet only, no '=', no whitespace, and the unused low bits
 * of the last character must be zero (one text per byte string).
 */
#ifndef ECRED_B64URL_H
#define ECRED_B64URL_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"

/* Append base64url of in[0..n) to out (not NUL-terminated). ECRED_ERR_NOMEM. */
ecred_err ecred_b64url_encode(const uint8_t *in, size_t n, ecred_buf *out);
/* Decode text[0..n) into out (replaced on success). ECRED_ERR_INPUT for a
 * character outside the alphabet, a length of 1 mod 4 or non-zero pad bits;
 * ECRED_ERR_TOO_LARGE when the result would exceed max bytes. */
ecred_err ecred_b64url_decode(const char *text, size_t n, size_t max, ecred_buf *out);

#endif
