/*
 * cose.h - COSE_Sign1 (RFC 9052 section 4.2, tag 18), encode and decode.
 *
 * Decoding is structural only (no key needed) so that `inspect` can show any
 * COSE_Sign1; verification is a separate call that builds the Sig_structure
 * ["Signature1", protected-as-received, external_aad = h'', payload] from the
 * received bytes, never from a re-encoding.
 *
 * Header rules enforced at decode: the protected header is a bstr that is empty
 * or holds a map; no label occurs in both buckets or twice in one; alg (1)
 * must be protected and is ES256 (-7) or EdDSA (-8); kid (4) is a bstr of 1..64
 * bytes in either bucket; typ (16) / content type (3) are text or uint; crit (2)
 * is refused since we understand no extension that would need it. Labels are
 * int or text; other labels are ignored (they are not crit). Only a protected
 * typ is reported: an unprotected one is not signed and must not steer parsing.
 * The unprotected bucket (e.g. a kid there) is not covered by the signature.
 */
#ifndef ECRED_COSE_H
#define ECRED_COSE_H

#include <stdbool.h>

#include "ecred/buf.h"
#include "ecred/cborcur.h"
#include "ecred/crypto.h"

#define ECRED_COSE_TAG_SIGN1 18
#define ECRED_COSE_KID_MAX 64
#define ECRED_COSE_TYP_MAX 128
#define ECRED_COSE_LABELS_MAX 32 /* labels in one header bucket; we use at most 3 */

typedef struct ecred_cose_sign1 {
    int alg;                                 /* from the protected header */
    uint8_t kid[ECRED_COSE_KID_MAX];
    size_t kid_len;                          /* 0 when absent */
    bool kid_protected;                      /* kid came from the protected bucket */
    char typ[ECRED_COSE_TYP_MAX + 1];        /* protected typ (16) when text, else "" */
    ecred_span protected_bytes;              /* the protected bstr's content as received */
    ecred_span payload;                      /* as received; len 0 and detached=true if nil */
    bool detached;
    ecred_span signature;
    size_t total_len;                        /* bytes consumed (== input length); 0 when
                                              * not decoded */
    unsigned relaxed;                        /* ECRED_COSE_RELAXED_* bits a relaxed
                                              * decode or verify used; kid_unprotected
                                              * is reported by the strict decode too */
} ecred_cose_sign1;

/* Rules `inspect` may relax to read other ecosystems' COSE_Sign1 as their
 * own specifications do. Never used on RC1/RP1/status/trust lists, which
 * stay strict (all false: ecred_cose_sign1_decode). */
typedef struct ecred_cose_relax {
    bool untagged;        /* the context says it is a COSE_Sign1: no tag 18 needed */
    bool alg_unprotected; /* alg (1) in the unprotected bucket */
    bool label_in_both;   /* a label in both buckets: the protected value wins */
    bool other_algs;      /* any integer alg (checked at verify: ES384/512, PS*, RS*) */
} ecred_cose_relax;

#define ECRED_COSE_RELAXED_UNTAGGED 0x01u
#define ECRED_COSE_RELAXED_ALG_UNPROTECTED 0x02u
#define ECRED_COSE_RELAXED_LABEL_IN_BOTH 0x04u
#define ECRED_COSE_RELAXED_KID_UNPROTECTED 0x08u /* not signed: anyone may swap it */
#define ECRED_COSE_RELAXED_OTHER_ALG 0x10u
#define ECRED_COSE_RELAXED_CURVE 0x20u           /* ECDSA hash on another curve than RFC 9053 pairs */
#define ECRED_COSE_RELAXED_EMPTY_PROTECTED 0x40u /* h'a0' signed as h'' (RFC 9052 4.4) */
#define ECRED_COSE_RELAXED_ALL 0x7fu

/* Parse a tagged COSE_Sign1 occupying exactly n bytes (caps from
 * ecred_cbor_limits_small unless lim given; pass NULL for the default),
 * without allocating. The spans in *out point into buf: keep buf alive and
 * unchanged while *out is used. Depth counts the tag, the array and the
 * unprotected map (3); the protected header is checked with the same limits.
 * Tag 18 may use either head form (d2, d8 12). A bucket of more than
 * ECRED_COSE_LABELS_MAX labels is refused. Errors: ECRED_ERR_CBOR*,
 * ECRED_ERR_TOO_LARGE, ECRED_ERR_COSE_STRUCTURE (not tag 18, not a 4-array,
 * wrong member types), ECRED_ERR_COSE_HEADER, ECRED_ERR_ALG_UNSUPPORTED.
 * *out is zeroed on failure. */
ecred_err ecred_cose_sign1_decode(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                                  ecred_cose_sign1 *out);
/* ecred_cose_sign1_decode with the rules in *allow relaxed; out->relaxed
 * says which were needed. Errors as ecred_cose_sign1_decode. */
ecred_err ecred_cose_sign1_decode_relaxed(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                                          const ecred_cose_relax *allow, ecred_cose_sign1 *out);
/* Verify a (relaxed-)decoded message with any key kind by its alg
 * (ecred_verify_cose_alg) over ["Signature1", protected, external_aad,
 * payload]; adds ECRED_COSE_RELAXED_CURVE to msg->relaxed when it applied.
 * A protected bucket that is an empty map (the bytes a0) is signed as "no
 * protected attributes", a zero-length bstr, as RFC 9052 section 4.4 says
 * and the COSE WG examples expect (ECRED_COSE_RELAXED_EMPTY_PROTECTED).
 * Errors as ecred_verify_cose_alg, and ECRED_ERR_COSE_STRUCTURE for a
 * detached payload. */
ecred_err ecred_cose_sign1_verify_relaxed(ecred_cose_sign1 *msg, const ecred_key *key, ecred_span external_aad);
/* Stable name of one ECRED_COSE_RELAXED_* bit ("untagged", ...). */
const char *ecred_cose_relaxed_name(unsigned bit);

/* Zero a decoded message (it owns nothing; kept so callers can drop a message
 * the same way whatever it holds). NULL is fine. */
void ecred_cose_sign1_clear(ecred_cose_sign1 *msg);

/* Verify msg with key: ECRED_ERR_KEY_ALG_MISMATCH when msg->alg differs from the
 * key's algorithm (checked before any crypto), ECRED_ERR_COSE_STRUCTURE for a
 * detached (nil) payload, which this call cannot verify, else the result of
 * ecred_verify. */
ecred_err ecred_cose_sign1_verify(const ecred_cose_sign1 *msg, const ecred_key *key);

/* What the signer puts in the headers. */
typedef struct ecred_cose_sign_opts {
    bool kid_in_protected;  /* our credentials: true; unprotected otherwise */
    bool omit_kid;
    const char *typ;        /* NULL: no typ header; else typ (16) as text, protected */
} ecred_cose_sign_opts;

/* Produce tag 18 [protected, unprotected, payload, signature] with alg = the
 * key's algorithm and kid = ecred_key_kid(key) (8 bytes). Deterministic header
 * encoding: protected map keys in ascending order. out is replaced on success.
 * opts NULL means {kid_in_protected = true}. ECRED_ERR_ARG for a key without its
 * private part or a typ longer than ECRED_COSE_TYP_MAX. */
ecred_err ecred_cose_sign1_sign(const ecred_key *key, const ecred_cose_sign_opts *opts,
                                const uint8_t *payload, size_t n, ecred_buf *out);

/* Encode the Sig_structure for the given protected bytes and payload (for tests
 * and for peers that want to check our bytes). */
ecred_err ecred_cose_sig_structure(ecred_span protected_bytes, ecred_span payload,
                                   ecred_buf *out);

#endif
