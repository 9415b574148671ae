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
                                    * ("" grants none); a non-empty prefix also
                                    * requires every credential to name a status list */
    const char *iss;           /* NULL: any; else the credential's iss must equal it
                                * (the trust list's iss: a key vouches for one issuer) */
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

/* The whole policy for a credential: ecred_trust_permits for its type, iat
 * and status URI (NULL when it names none), and two rules more: a key with a
 * non-empty status prefix vouches only for credentials that name a status list
 * (one without could never be revoked), and only for its issuer's name
 * (ecred_trust_permits_iss). ECRED_ERR_KEY_UNKNOWN when any fails. */
ecred_err ecred_trust_permits_credential(const ecred_trusted_key *tk, int64_t type, int64_t iat,
                                         const char *iss, const char *status_uri);

/* ECRED_OK when tk vouches for the issuer name iss (n bytes): tk->iss is NULL
 * or equal to it; ECRED_ERR_KEY_UNKNOWN otherwise. */
ecred_err ecred_trust_permits_iss(const ecred_trusted_key *tk, const char *iss, size_t n);

/* Whether two status URI prefixes nest (one a proper prefix of the other):
 * then one key could sign lists for the other's credentials, so a trust list
 * with nested prefixes is refused. Equal prefixes (rotation) do not nest. */
bool ecred_trust_prefixes_nest(const char *a, const char *b);

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
