/*
 * issue.c - the issue path: claims -> CBOR -> COSE_Sign1 -> QR text (issue.h).
 *
 * Each step is its own module (credential.c, cose.c, qrtext.c); this file only
 * chains them so every issuer signs the same way. It must never parse
 * untrusted input, print, or keep a signing key beyond the call.
 */
#include "ecred/issue.h"

#include "ecred/cose.h"

ecred_err ecred_issue_sign(const ecred_key *key, const ecred_claims *claims,
                           ecred_compress compress_mode, ecred_buf *qr_text, ecred_buf *cose_out)
{
    if (!key || !claims || !qr_text)
        return ECRED_ERR_ARG;
    ecred_buf payload = ECRED_BUF_INIT, cose = ECRED_BUF_INIT, text = ECRED_BUF_INIT;
    /* Our credentials carry kid protected (spec 3.1): an unprotected kid could
     * be swapped without breaking the signature. */
    ecred_cose_sign_opts opts = {.kid_in_protected = true, .omit_kid = false, .typ = NULL};
    ecred_err e = ecred_claims_encode(claims, &payload);
    if (!e)
        e = ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, &cose);
    if (!e)
        e = ecred_qrtext_encode(cose.ptr, cose.len, compress_mode, &text);
    if (!e) {
        ecred_buf_free(qr_text);
        *qr_text = text;
        text = (ecred_buf)ECRED_BUF_INIT;
        if (cose_out) {
            ecred_buf_free(cose_out);
            *cose_out = cose;
            cose = (ecred_buf)ECRED_BUF_INIT;
        }
    }
    ecred_buf_free(&text);
    ecred_buf_free(&payload);
    ecred_buf_free(&cose);
    return e;
}
