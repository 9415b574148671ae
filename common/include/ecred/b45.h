/*
 * b45.h - base45 (RFC 9285), both ways. Pure functions over spans.
 */
#ifndef ECRED_B45_H
#define ECRED_B45_H

#include "ecred/buf.h"

/* Encode n bytes; out receives the text, NUL-terminated (len excludes the NUL).
 * out is replaced only on success. */
ecred_err ecred_b45_encode(const uint8_t *in, size_t n, ecred_buf *out);
/* Decode base45 text. Rejects characters outside the RFC 9285 alphabet, a
 * dangling single character, and triples/pairs whose value overflows
 * (ECRED_ERR_BASE45). Lowercase is NOT accepted. out is replaced only on success. */
ecred_err ecred_b45_decode(const char *text, size_t n, ecred_buf *out);

#endif
