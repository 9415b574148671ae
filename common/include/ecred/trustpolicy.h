/*
 * trustpolicy.h - the trust policy in one place: which key may have signed
 * what. A trusted key carries its signing window (sign_from..sign_until, on
 * the object's iat), the object types it may sign, and the status URI prefix
 * its credentials' status lists must live under. ecred_trust_permits is the
 * one function the verify decision, the trust list lookups and the
 * verifier's status list checks all ask.
 *
 * Must never look at signatures or parse anything: it judges claims that
 * have already been authenticated by the key it is asked about.
 */
#ifndef ECRED_TRUSTPOLICY_H
#define ECRED_TRUSTPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/crypto.h"
#include "ecred/trustlist.h"

/* What a key may sign, as bits of ecred_trusted_key.types: credential types
 * (1 << ECRED_CRED_TYPE_*) and status list tokens. */
#define ECRED_TYPE_MASK_REGISTRATION (1u << 1) /* 1 << ECRED_CRED_TYPE_REGISTRATION */
#define ECRED_TYPE_MASK_PERMIT (1u << 2)       /* 1 << ECRED_CRED_TYPE_PERMIT */
#define ECRED_TYPE_MASK_ALL (ECRED_TYPE_MASK_REGISTRATION | ECRED_TYPE_MASK_PERMIT)
#define ECRED_TYPE_MASK_STATUS_LIST (1u << 31)

/* A key the verifier trusts, with what it is trusted for. */
typedef struct ecred_trusted_key {
    const ecred_key *key;      /* borrowed */
    int64_t sign_from;         /* earliest iat it may sign (INT64_MIN: no bound) */
    int64_t sign_until;        /* latest iat it may sign, inclusive (INT64_MAX: no bound) */
    unsigned types;            /* ECRED_TYPE_MASK_* */
    const char *status_uri_prefix; /* NULL: any; else status URIs must start with it
                                    * ("" grants none) */
} ecred_trusted_key;

typedef struct ecred_keyset {
    const ecred_trusted_key *keys;
    size_t n;
} ecred_keyset;

/* The mask bit for an object type: ECRED_CRED_TYPE_* (= ECRED_TRUST_TYPE_
 * REGISTRATION / _PERMIT) or ECRED_TRUST_TYPE_STATUS_LIST; 0 for a type this
 * version does not know (which no key may sign). */
unsigned ecred_trust_type_mask(int64_t type);

/* The policy: ECRED_OK when tk may have signed an object of `type` issued at
 * iat, whose status list (status_uri, n bytes; NULL when the object names
 * none) lies under tk's prefix; ECRED_ERR_KEY_UNKNOWN otherwise (it is not a
 * key we trust for this object); ECRED_ERR_ARG for a NULL tk. */
ecred_err ecred_trust_permits(const ecred_trusted_key *tk, int64_t type, int64_t iat,
                              const char *status_uri, size_t n);

/* True when uri (n bytes) starts with the non-empty prefix (NUL-terminated). */
bool ecred_trust_uri_under(const char *prefix, const char *uri, size_t n);

/* The trusted key a verified trust list entry describes: its key (borrowed
 * from the list), window (clamped to int64), every type it may sign and its
 * status URI prefix (borrowed). */
ecred_trusted_key ecred_trust_key_of_entry(const ecred_trustlist_entry *e);

/* The key with this kid in ks (borrowed), or NULL; only ECRED_KID_LEN kids
 * can match. */
const ecred_trusted_key *ecred_keyset_find(const ecred_keyset *ks, const uint8_t *kid,
                                           size_t kid_len);

#endif
