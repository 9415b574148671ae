/*
 * decide.c - the verifier's one decision (spec/credential.md section 6).
 *
 * Order matters: nothing inside the payload is parsed before a trusted key
 * has verified the signature over the received bytes, and every failure maps
 * to exactly one reason. Which key may have signed what is trustpolicy.c's
 * call, not this file's. This file never prints and never touches the network
 * (status comes through a caller-supplied source).
 */
#include "ecred/decide.h"

#include <string.h>

#include "ecred/cose.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"

static ecred_err check_status(const ecred_status_source *src, int64_t now, ecred_verdict *v)
{
    if (!src || !src->lookup || !v->claims.has_status)
        return ECRED_OK;
    unsigned st = 0;
    int64_t as_of = 0;
    ecred_err e = src->lookup(src->ctx, v->claims.status_uri, v->claims.status_idx, &st, &as_of);
    /* An index past the list's end is the draft's "MUST be rejected": a
     * verdict on the credential, not missing data. */
    if (e)
        return e == ECRED_ERR_STATUS_STALE || e == ECRED_ERR_STATUS_INDEX ? e : ECRED_ERR_STATUS_UNAVAILABLE;
    v->status_checked = true;
    v->status = st;
    v->status_as_of = as_of;
    /* A revocation is news even from old data; only VALID needs fresh data. */
    if (st == ECRED_STATUS_INVALID)
        return ECRED_ERR_REVOKED;
    if (st == ECRED_STATUS_SUSPENDED)
        return ECRED_ERR_SUSPENDED;
    if (st != ECRED_STATUS_VALID)
        return ECRED_ERR_STATUS_LIST;
    if (src->max_age >= 0 && now - as_of > src->max_age)
        return ECRED_ERR_STATUS_STALE;
    return ECRED_OK;
}

static ecred_err decide(const char *text, size_t n, const ecred_keyset *keys,
                        const ecred_status_source *status, int64_t now, ecred_verdict *v)
{
    ecred_buf cose = ECRED_BUF_INIT;
    ecred_cose_sign1 msg;
    memset(&msg, 0, sizeof msg);
    v->text_len = n;
    ecred_err e = ecred_qrtext_decode(text, n, false, &cose, &v->compressed);
    if (e)
        goto out;
    v->cose_len = cose.len;
    e = ecred_cose_sign1_decode(cose.ptr, cose.len, NULL, &msg);
    if (e)
        goto out;
    v->payload_len = msg.payload.len;
    memcpy(v->kid, msg.kid, msg.kid_len);
    v->kid_len = msg.kid_len;
    /* Our format carries kid in the protected header (spec 3.1): an
     * unprotected kid could be swapped without breaking the signature. */
    if (msg.kid_len == 0 || !msg.kid_protected || msg.detached) {
        e = ECRED_ERR_COSE_HEADER;
        goto out;
    }
    if (msg.alg != ECRED_COSE_ALG_ES256 && msg.alg != ECRED_COSE_ALG_EDDSA) {
        e = ECRED_ERR_ALG_UNSUPPORTED;
        goto out;
    }
    const ecred_trusted_key *tk = ecred_keyset_find(keys, msg.kid, msg.kid_len);
    if (!tk) {
        e = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    e = ecred_cose_sign1_verify(&msg, tk->key);
    if (e)
        goto out;
    v->signature_checked = true;
    e = ecred_claims_decode(msg.payload.ptr, msg.payload.len, &v->claims);
    if (e)
        goto out;
    v->claims_ok = true;
    /* The key must be trusted for this type, at the time it signed, for the
     * status list the credential names (and a key with a status prefix only
     * for credentials naming one), and for the issuer name the credential
     * claims (trustpolicy.h): otherwise it is not a key we trust for this
     * credential. */
    e = ecred_trust_permits_credential(tk, v->claims.cred.type, v->claims.iat, v->claims.iss,
                                       v->claims.has_status ? v->claims.status_uri : NULL);
    if (e)
        goto out;
    if (now < v->claims.nbf) {
        e = ECRED_ERR_NOT_YET_VALID;
        goto out;
    }
    if (now >= v->claims.exp) {
        e = ECRED_ERR_EXPIRED;
        goto out;
    }
    e = check_status(status, now, v);
out:
    ecred_cose_sign1_clear(&msg);
    ecred_buf_free(&cose);
    return e;
}

ecred_err ecred_decide(const char *text, size_t n, const ecred_keyset *keys,
                       const ecred_status_source *status, int64_t now, ecred_verdict *out)
{
    memset(out, 0, sizeof *out);
    out->outcome = decide(text, n, keys, status, now, out);
    return out->outcome;
}
