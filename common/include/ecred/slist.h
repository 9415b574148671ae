/*
 * slist.h - IETF Token Status List (draft-ietf-oauth-status-list), CBOR/CWT form.
 *
 * A list is `bits` (1, 2, 4 or 8) per token; index i sits in byte i*bits/8 at
 * bit offset (i % (8/bits))*bits, least significant first. Encoded as the CBOR
 * map {"bits": uint, "lst": bstr = zlib(level 9) of the packed bytes
 * [, "aggregation_uri": tstr]} and carried in a status list token: a COSE_Sign1
 * (tag 18) with typ "application/statuslist+cwt" whose CWT payload holds
 * sub (2) = the list's URI, iat (6), exp (4), ttl (65534), status_list (65533);
 * a verifier also honours nbf (5) when another issuer sets it.
 */
#ifndef ECRED_SLIST_H
#define ECRED_SLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"

/* Token status values used by ecred (the draft's registered values). */
#define ECRED_STATUS_VALID 0x00
#define ECRED_STATUS_INVALID 0x01
#define ECRED_STATUS_SUSPENDED 0x02

#define ECRED_SLIST_TYP "application/statuslist+cwt"
#define ECRED_SLIST_MAX_ENTRIES ((size_t)1 << 27) /* 128 Mi entries; 32 MiB at 2 bits */
#define ECRED_SLIST_TOKEN_MAX ((size_t)16 << 20)   /* cap on a whole status list token */
#define ECRED_SLIST_URI_MAX 512
/* ecred's profile (spec/statuslist.md): 2 bits per credential, and no list
 * shorter than 2^17 entries so one credential hides in a large herd. */
#define ECRED_SLIST_BITS 2u
#define ECRED_SLIST_MIN_ENTRIES ((size_t)1 << 17)

typedef struct ecred_slist {
    unsigned bits;      /* 1, 2, 4 or 8 */
    size_t count;       /* number of entries */
    uint8_t *bytes;     /* packed, ceil(count*bits/8) bytes, owned */
    size_t nbytes;
} ecred_slist;

/* New all-zero (VALID) list. count must be > 0 and <= ECRED_SLIST_MAX_ENTRIES and
 * bits one of 1, 2, 4, 8 (else ECRED_ERR_ARG). *l is written only on success. */
ecred_err ecred_slist_init(ecred_slist *l, unsigned bits, size_t count);
/* Release the packed bytes; the struct is left zeroed. NULL is fine. */
void ecred_slist_free(ecred_slist *l);
/* O(1). ECRED_ERR_ARG for index out of range or value wider than bits. */
ecred_err ecred_slist_set(ecred_slist *l, size_t idx, unsigned value);
ecred_err ecred_slist_get(const ecred_slist *l, size_t idx, unsigned *value);

/* {"lst", "bits"} map in deterministic key order (RFC 8949 4.2.1: 63 'lst'
 * before 64 'bits'; the draft's examples put bits first, so its vectors are
 * reproduced with the two entries swapped); lst is zlib level 9. out replaced
 * on success. */
ecred_err ecred_slist_encode(const ecred_slist *l, ecred_buf *out);
/* Decode a {"bits","lst"[,"aggregation_uri"]} map: bits in {1,2,4,8}, lst
 * inflated with the cap max_entries*bits/8, count = inflated bytes*8/bits.
 * Unknown keys are ignored as the draft allows; duplicates rejected.
 * max_entries above ECRED_SLIST_MAX_ENTRIES is clamped to it; 0 is ECRED_ERR_ARG.
 * Errors: ECRED_ERR_STATUS_LIST (not a map, bits missing or not in {1,2,4,8},
 * lst missing or not a bstr, aggregation_uri not text, empty list),
 * ECRED_ERR_TOO_LARGE (lst inflates past the cap), ECRED_ERR_INFLATE (corrupt,
 * truncated or trailing zlib), ECRED_ERR_CBOR* (ill-formed, duplicate keys,
 * trailing bytes). */
ecred_err ecred_slist_decode(const uint8_t *buf, size_t n, size_t max_entries, ecred_slist *out);

/* A verified (or to-be-signed) status list token. */
typedef struct ecred_slist_token {
    char uri[ECRED_SLIST_URI_MAX + 1]; /* sub */
    int64_t iat;
    int64_t exp;  /* 0 if absent */
    int64_t ttl;  /* 0 if absent */
    ecred_slist list;
} ecred_slist_token;

/* Sign a status list token (protected {1: alg, 16: typ}, unprotected {4: kid}).
 * Payload: {2: uri, 4: exp (if != 0), 6: iat, 65533: list, 65534: ttl (if != 0)}
 * in deterministic key order; the list's lst is zlib level 9 up to 4 KiB
 * packed, run-length (ECRED_ZLIB_RLE) above (spec/statuslist.md section 1).
 * ECRED_ERR_ARG for an empty or too long uri, negative times, or an invalid
 * list. out is replaced on success. */
ecred_err ecred_slist_token_sign(const ecred_key *key, const ecred_slist_token *tok,
                                 ecred_buf *out);
/* Decode and verify a token with key: checks tag 18, typ, signature over the
 * received bytes, required claims sub/iat/status_list, and exp against now
 * (ECRED_ERR_LIST_EXPIRED when now >= exp), nbf against now
 * (ECRED_ERR_NOT_YET_VALID when now < nbf); now < 0 skips both checks.
 * Wrong or missing typ: ECRED_ERR_STATUS_LIST. Missing or mistyped claims (sub
 * text of 1..ECRED_SLIST_URI_MAX bytes without NUL, iat/exp integers, ttl a
 * positive integer): ECRED_ERR_CLAIMS; status_list errors as ecred_slist_decode.
 * out is written only on success; out->list is then owned by the caller
 * (ecred_slist_free). */
ecred_err ecred_slist_token_verify(const uint8_t *buf, size_t n, const ecred_key *key,
                                   int64_t now, ecred_slist_token *out);
/* The kid of a token without verifying (to pick the key). kid must have room
 * for ECRED_COSE_KID_MAX (64) bytes. A token without kid: ECRED_ERR_COSE_HEADER. */
ecred_err ecred_slist_token_kid(const uint8_t *buf, size_t n, uint8_t *kid, size_t *kid_len);

#endif
