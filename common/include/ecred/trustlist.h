/*
 * trustlist.h - the signed trust list (spec/trustlist.md): a root key signs
 * the list of issuer signing keys a verifier may use, each with its kid, the
 * period in which it may sign and what it may sign.
 *
 * Verification parses every listed key once, at load, so the verify path only
 * looks keys up. A verified list owns its keys; release it with
 * ecred_trustlist_free.
 */
#ifndef ECRED_TRUSTLIST_H
#define ECRED_TRUSTLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/cwt.h"

#define ECRED_TRUSTLIST_TYP "application/ecred-trustlist+cwt"
#define ECRED_TRUSTLIST_MAX_BYTES ((size_t)256 * 1024) /* whole signed list */
#define ECRED_TRUSTLIST_MAX_ENTRIES 256
#define ECRED_TRUSTLIST_ISS_MAX 256      /* bytes of iss, excluding NUL */
#define ECRED_TRUSTLIST_URI_MAX 512      /* bytes of a status URI prefix, excluding NUL */
#define ECRED_TRUSTLIST_SPKI_MAX 512     /* bytes of one SubjectPublicKeyInfo DER */
#define ECRED_TRUSTLIST_TYPES_MAX 16     /* values in one entry's types array */

/* Payload map keys: ECRED_CWT_ISS, _EXP, _IAT, _TRUSTLIST_SEQ and
 * _TRUSTLIST_ENTRIES of cwt.h. */

/* Type values on the wire. Credential types equal ECRED_CRED_TYPE_*. */
#define ECRED_TRUST_TYPE_REGISTRATION 1
#define ECRED_TRUST_TYPE_PERMIT 2
#define ECRED_TRUST_TYPE_STATUS_LIST 100

/* Bits of ecred_trustlist_entry.types, one per known type value. */
#define ECRED_TRUST_BIT_REGISTRATION (1u << 0)
#define ECRED_TRUST_BIT_PERMIT (1u << 1)
#define ECRED_TRUST_BIT_STATUS_LIST (1u << 2)
#define ECRED_TRUST_BITS_ALL (ECRED_TRUST_BIT_REGISTRATION | ECRED_TRUST_BIT_PERMIT | \
                              ECRED_TRUST_BIT_STATUS_LIST)

typedef struct ecred_trustlist_entry {
    uint8_t kid[ECRED_KID_LEN];  /* SHA-256(SPKI)[0..8), checked at load */
    int alg;                     /* ECRED_COSE_ALG_ES256 or ECRED_COSE_ALG_EDDSA */
    ecred_key *key;              /* public key parsed once; owned by the list */
    uint64_t sign_from;          /* earliest iat this key may sign (seconds) */
    uint64_t sign_until;         /* latest iat this key may sign, inclusive */
    uint32_t types;              /* ECRED_TRUST_BIT_* */
    char status_uri_prefix[ECRED_TRUSTLIST_URI_MAX + 1];
} ecred_trustlist_entry;

typedef struct ecred_trustlist {
    char iss[ECRED_TRUSTLIST_ISS_MAX + 1];
    uint64_t iat;
    uint64_t exp;
    uint64_t seq;
    uint8_t root_kid[ECRED_KID_LEN]; /* set by verify: the root that signed it */
    size_t n_entries;
    ecred_trustlist_entry *entries;  /* n_entries items, heap; NULL when empty */
} ecred_trustlist;

/* Sign a trust list with the root key. Reads iss, iat, exp, seq and for each
 * entry key, sign_from, sign_until, types, status_uri_prefix; kid, alg and
 * the SPKI come from the key itself. ECRED_ERR_ARG when the list is not one
 * verify would accept (sizes, empty types, duplicate keys, iat > exp...).
 * out is replaced on success. */
ecred_err ecred_trustlist_sign(const ecred_key *root, const ecred_trustlist *list,
                               ecred_buf *out);

/* Verify a signed trust list against the root public key at time now
 * (spec/trustlist.md section 3). On success *out owns parsed keys (release
 * with ecred_trustlist_free); on failure *out is untouched. Errors:
 * ECRED_ERR_TOO_LARGE, ECRED_ERR_CBOR*, ECRED_ERR_COSE_*, ECRED_ERR_KEY_UNKNOWN
 * (another root), ECRED_ERR_SIGNATURE_INVALID, ECRED_ERR_KEY_ALG_MISMATCH,
 * ECRED_ERR_TRUST_LIST (any field), ECRED_ERR_LIST_EXPIRED, ECRED_ERR_NOMEM. */
ecred_err ecred_trustlist_verify(const uint8_t *buf, size_t n, const ecred_key *root,
                                 int64_t now, ecred_trustlist *out);

/* Refuse a rollback: ECRED_ERR_TRUST_LIST when fresh->seq < held_seq (the
 * sequence number of the list the caller already holds from the same root). */
ecred_err ecred_trustlist_check_newer(uint64_t held_seq, const ecred_trustlist *fresh);

/* The entry allowed to verify an object with this kid, issued at iat, of wire
 * type `type` (ECRED_TRUST_TYPE_*). *out borrows from list. ECRED_ERR_KEY_UNKNOWN
 * when the kid is not listed, iat is outside [sign_from, sign_until] or the
 * type is not among the entry's types. */
ecred_err ecred_trustlist_find(const ecred_trustlist *list, const uint8_t *kid, size_t kid_len,
                               int64_t iat, int type, const ecred_trustlist_entry **out);

/* True when uri (n bytes) starts with the entry's status URI prefix. */
bool ecred_trustlist_uri_allowed(const ecred_trustlist_entry *entry, const char *uri, size_t n);
/* Whether entry may sign the status list at uri given the whole list: the URI
 * lies under its prefix and no other entry that signs status lists has a
 * longer prefix covering it. Nested prefixes (a rotation to
 * ".../status/2026/") would otherwise let the older, shorter-prefix key sign
 * lists for the newer key's credentials; the most specific prefix owns a URI,
 * and entries with the same prefix share it. */
bool ecred_trustlist_uri_owned(const ecred_trustlist *list, const ecred_trustlist_entry *entry,
                               const char *uri, size_t n);

/* Bit for a wire type value; 0 for a type this version does not know. */
uint32_t ecred_trustlist_type_bit(int64_t type);

/* Release the keys and entries; the struct is left zeroed. NULL is fine. */
void ecred_trustlist_free(ecred_trustlist *list);

#endif
