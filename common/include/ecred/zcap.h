/*
 * zcap.h - zlib (RFC 1950) with an output cap and optional preset dictionary.
 */
#ifndef ECRED_ZCAP_H
#define ECRED_ZCAP_H

#include "ecred/buf.h"

/* Level for run-length matching only (zlib's Z_RLE strategy, level 9's
 * header): for data that is mostly long runs, as a status list is. On a full
 * 131072-entry list at 2.5 % non-VALID it took 0.7 ms against 36 ms at level
 * 9 for 5 % more bytes, and was smaller than level 9 from 10 % non-VALID up
 * (zlib 1.2.13, this machine). */
#define ECRED_ZLIB_RLE 10

/* Compress into a zlib stream at level 0..9 (or ECRED_ZLIB_RLE). With
 * dict.len > 0 the stream has FDICT set and DICTID = Adler-32 of the
 * dictionary (RFC 1950 section 2.2). out is replaced only on success. */
ecred_err ecred_zlib_compress(const uint8_t *in, size_t n, int level, ecred_span dict,
                              ecred_buf *out);

/* Inflate one complete zlib stream that must end exactly at in+n.
 * Never produces more than max_out bytes: ECRED_ERR_TOO_LARGE as soon as the
 * output would exceed it (checked while inflating, not after).
 * A stream asking for a dictionary is accepted only when dict.len > 0 and its
 * DICTID matches; otherwise ECRED_ERR_INFLATE. Corrupt data, a truncated
 * stream or trailing bytes: ECRED_ERR_INFLATE. out is replaced only on success. */
ecred_err ecred_zlib_inflate(const uint8_t *in, size_t n, size_t max_out, ecred_span dict,
                             ecred_buf *out);

/* Adler-32 of a dictionary, as carried in a zlib DICTID. */
uint32_t ecred_zlib_dictid(ecred_span dict);

#endif
