/*
 * trustpolicy.c - which key may have signed what (trustpolicy.h).
 *
 * Before this file the same three rules (window, type, status prefix) were
 * written three times, in decide.c, trustlist.c and the verifier's cache,
 * with different edge cases. This file must never parse, verify or allocate:
 * callers ask it only after the signature held.
 */
#include "ecred/trustpolicy.h"

#include <string.h>

#include "ecred/credential.h"

unsigned ecred_trust_type_mask(int64_t type)
{
    switch (type) {
    case ECRED_CRED_TYPE_REGISTRATION: return ECRED_TYPE_MASK_REGISTRATION;
    case ECRED_CRED_TYPE_PERMIT: return ECRED_TYPE_MASK_PERMIT;
    case ECRED_TRUST_TYPE_STATUS_LIST: return ECRED_TYPE_MASK_STATUS_LIST;
    default: return 0;
    }
}

bool ecred_trust_uri_under(const char *prefix, const char *uri, size_t n)
{
    if (!prefix || !uri)
        return false;
    size_t plen = strlen(prefix);
    return plen > 0 && n >= plen && memcmp(uri, prefix, plen) == 0;
}

ecred_err ecred_trust_permits(const ecred_trusted_key *tk, int64_t type, int64_t iat,
                              const char *status_uri, size_t n)
{
    if (!tk)
        return ECRED_ERR_ARG;
    unsigned bit = ecred_trust_type_mask(type);
    if (bit == 0 || !(tk->types & bit))
        return ECRED_ERR_KEY_UNKNOWN;
    if (iat < tk->sign_from || iat > tk->sign_until)
        return ECRED_ERR_KEY_UNKNOWN;
    if (status_uri && tk->status_uri_prefix &&
        !ecred_trust_uri_under(tk->status_uri_prefix, status_uri, n))
        return ECRED_ERR_KEY_UNKNOWN;
    return ECRED_OK;
}

ecred_err ecred_trust_permits_credential(const ecred_trusted_key *tk, int64_t type, int64_t iat,
                                         const char *iss, const char *status_uri)
{
    ecred_err e = ecred_trust_permits(tk, type, iat, status_uri, status_uri ? strlen(status_uri) : 0);
    if (e)
        return e;
    /* A key whose entry names where its status lists live issues only
     * revocable credentials: one without a status claim would verify from any
     * cache forever. */
    if (!status_uri && tk->status_uri_prefix && tk->status_uri_prefix[0])
        return ECRED_ERR_KEY_UNKNOWN;
    return ecred_trust_permits_iss(tk, iss, iss ? strlen(iss) : 0);
}

ecred_err ecred_trust_permits_iss(const ecred_trusted_key *tk, const char *iss, size_t n)
{
    if (!tk)
        return ECRED_ERR_ARG;
    if (!tk->iss)
        return ECRED_OK;
    return iss && strlen(tk->iss) == n && memcmp(tk->iss, iss, n) == 0 ? ECRED_OK : ECRED_ERR_KEY_UNKNOWN;
}

bool ecred_trust_prefixes_nest(const char *a, const char *b)
{
    if (!a || !b || !a[0] || !b[0])
        return false;
    size_t na = strlen(a), nb = strlen(b);
    if (na == nb)
        return false;
    return na < nb ? memcmp(a, b, na) == 0 : memcmp(a, b, nb) == 0;
}

/* Seconds as int64: a window end past INT64_MAX is "no bound". */
static int64_t clamp64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

ecred_trusted_key ecred_trust_key_of_entry(const ecred_trustlist_entry *e)
{
    ecred_trusted_key tk;
    memset(&tk, 0, sizeof tk);
    if (!e)
        return tk;
    if (e->types & ECRED_TRUST_BIT_REGISTRATION)
        tk.types |= ECRED_TYPE_MASK_REGISTRATION;
    if (e->types & ECRED_TRUST_BIT_PERMIT)
        tk.types |= ECRED_TYPE_MASK_PERMIT;
    if (e->types & ECRED_TRUST_BIT_STATUS_LIST)
        tk.types |= ECRED_TYPE_MASK_STATUS_LIST;
    tk.key = e->key;
    tk.sign_from = clamp64(e->sign_from);
    tk.sign_until = clamp64(e->sign_until);
    tk.status_uri_prefix = e->status_uri_prefix;
    return tk;
}

const ecred_trusted_key *ecred_keyset_find(const ecred_keyset *ks, const uint8_t *kid,
                                           size_t kid_len)
{
    if (!ks || !kid || kid_len != ECRED_KID_LEN)
        return NULL;
    for (size_t i = 0; i < ks->n; i++)
        if (ks->keys[i].key && memcmp(ecred_key_kid(ks->keys[i].key), kid, ECRED_KID_LEN) == 0)
            return &ks->keys[i];
    return NULL;
}
