/*
 * err.c - the single table behind err.h. Reason strings and exit codes are part
 * of the public interface (spec/errors.md): append, never renumber.
 */
#include "ecred/err.h"

#include <stddef.h>
#include <string.h>

struct err_row {
    ecred_err code;
    const char *name;
    const char *reason;
    const char *message;
    int exit_code;
    int http_status;
};

/* Exit codes: 0 valid; 1 internal/IO; 2 usage; 3.. one per verifier outcome. */
static const struct err_row err_table[] = {
    {ECRED_OK, "ok", "ok", "ok", 0, 200},
    {ECRED_ERR_NOT_OUR_FORMAT, "prefix", "not_our_format", "not an ecred residence credential (unknown or missing prefix)", 3, 422},
    {ECRED_ERR_BASE45, "base45", "malformed", "invalid base45 text", 4, 422},
    {ECRED_ERR_INFLATE, "inflate", "malformed", "corrupt or unsupported zlib stream", 4, 422},
    {ECRED_ERR_TOO_LARGE, "too_large", "malformed", "input exceeds a size limit", 4, 413},
    {ECRED_ERR_CBOR, "cbor", "malformed", "malformed CBOR", 4, 422},
    {ECRED_ERR_CBOR_LIMIT, "cbor_limit", "malformed", "CBOR nesting depth or item count over the limit", 4, 422},
    {ECRED_ERR_COSE_STRUCTURE, "cose_structure", "malformed", "not a tagged COSE_Sign1 structure", 4, 422},
    {ECRED_ERR_COSE_HEADER, "cose_header", "malformed", "invalid COSE header", 4, 422},
    {ECRED_ERR_ALG_UNSUPPORTED, "alg_unsupported", "malformed", "missing or unsupported signature algorithm", 4, 422},
    {ECRED_ERR_CLAIMS, "claims", "malformed", "CWT claims missing or invalid", 4, 422},
    {ECRED_ERR_CREDENTIAL, "credential", "malformed", "credential fields missing or invalid", 4, 422},
    {ECRED_ERR_STATUS_LIST, "status_list", "malformed", "malformed status list", 4, 422},
    {ECRED_ERR_TRUST_LIST, "trust_list", "malformed", "malformed trust list", 4, 422},
    {ECRED_ERR_INPUT, "input", "invalid_input", "invalid input", 2, 422},
    {ECRED_ERR_SIGNATURE_INVALID, "signature", "bad_signature", "signature does not verify", 6, 422},
    {ECRED_ERR_KEY_UNKNOWN, "kid_unknown", "unknown_key", "signed by a key that is not trusted (unknown kid)", 5, 422},
    {ECRED_ERR_KEY_ALG_MISMATCH, "alg_key_mismatch", "bad_signature", "header algorithm does not match the key", 6, 422},
    {ECRED_ERR_KEY_INVALID, "key_invalid", "invalid_key", "key unreadable or of an unsupported type", 2, 422},
    {ECRED_ERR_KEY_PERMISSIONS, "key_permissions", "key_permissions", "private key file is readable by group or others (chmod 600)", 2, 500},
    {ECRED_ERR_CRYPTO, "crypto", "crypto_failure", "the cryptographic library failed", 1, 500},
    {ECRED_ERR_EXPIRED, "expired", "expired", "credential has expired", 7, 200},
    {ECRED_ERR_NOT_YET_VALID, "not_yet_valid", "not_yet_valid", "credential is not yet valid", 8, 200},
    {ECRED_ERR_REVOKED, "revoked", "revoked", "credential has been revoked", 9, 200},
    {ECRED_ERR_SUSPENDED, "suspended", "suspended", "credential is suspended (reported lost)", 10, 200},
    {ECRED_ERR_STATUS_STALE, "status_stale", "status_stale", "status unknown: status data is stale", 11, 200},
    {ECRED_ERR_STATUS_UNAVAILABLE, "status_unavailable", "status_unavailable", "status list unavailable", 12, 200},
    {ECRED_ERR_LIST_EXPIRED, "list_expired", "list_expired", "status or trust list has expired", 12, 422},
    {ECRED_ERR_STATUS_INDEX, "status_index", "status_index_invalid", "the credential's status index is outside its status list: rejected", 18, 200},
    {ECRED_ERR_NOMEM, "nomem", "internal", "out of memory", 1, 500},
    {ECRED_ERR_IO, "io", "io_error", "input/output error", 1, 500},
    {ECRED_ERR_EXISTS, "exists", "exists", "file exists; refusing to overwrite", 1, 409},
    {ECRED_ERR_ARG, "arg", "internal", "invalid argument (caller bug)", 1, 500},
    {ECRED_ERR_BUFFER_SMALL, "buffer_small", "internal", "buffer too small", 1, 500},
    {ECRED_ERR_UNSUPPORTED, "unsupported", "internal", "not built with support for this (e.g. PKCS#11 keys: not built with PKCS#11 support yet)", 2, 500},
    {ECRED_ERR_INTERNAL, "internal", "internal", "internal error", 1, 500},
    {ECRED_ERR_PRESENT_STRUCTURE, "presentation_structure", "malformed", "holder presentation is not a tagged COSE_Sign1 of the right shape", 4, 422},
    {ECRED_ERR_PRESENT_HEADER, "presentation_header", "malformed", "holder presentation header is not {alg, kcwt, typ} with an empty unprotected header", 4, 422},
    {ECRED_ERR_PRESENT_CLAIMS, "presentation_claims", "malformed", "holder presentation claims are not exactly aud, iat and an optional cnonce", 4, 422},
    {ECRED_ERR_PRESENT_UNBOUND, "presentation_unbound", "malformed", "holder presentation of a credential that has no holder key", 4, 422},
    {ECRED_ERR_HOLDER_SIGNATURE, "holder_signature", "bad_holder_signature", "holder signature does not verify with the credential's holder key", 14, 422},
    {ECRED_ERR_HOLDER_PROOF_REQUIRED, "static_presentation", "holder_proof_required", "a static code was shown; ask for the live code in the app", 13, 200},
    {ECRED_ERR_HOLDER_UNBOUND, "no_holder_key", "holder_proof_required", "the credential is not bound to a phone; check the ID card", 13, 200},
    {ECRED_ERR_TOO_OLD, "too_old", "not_fresh", "the live code is too old (a screenshot?); ask for a fresh code", 15, 200},
    {ECRED_ERR_IN_FUTURE, "in_future", "not_fresh", "the live code is from the future: the phone or scanner clock is wrong", 15, 200},
    {ECRED_ERR_BEFORE_ISSUE, "before_issue", "not_fresh", "the live code predates the credential: the phone clock is wrong", 15, 200},
    {ECRED_ERR_REPLAYED, "seen_at", "replayed", "this live code was already shown here; ask for a fresh code (tap the QR)", 16, 200},
    {ECRED_ERR_REPLAY_CACHE_FULL, "cache_full", "replayed", "the replay cache is full; refusing rather than forgetting", 16, 503},
    {ECRED_ERR_CHALLENGE_REQUIRED, "challenge_required", "challenge_failed", "this verifier requires the code to answer its challenge", 17, 200},
    {ECRED_ERR_CHALLENGE_UNKNOWN, "challenge_unknown", "challenge_failed", "the challenge is unknown here, expired or already used", 17, 200},
    {ECRED_ERR_CHALLENGE_AUDIENCE, "challenge_audience", "challenge_failed", "the code answers a challenge for another verifier", 17, 200},
    {ECRED_ERR_AUDIENCE, "audience", "challenge_failed", "the code is addressed to someone other than its issuer", 17, 200},
};

static const struct err_row *err_find(ecred_err e)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == e)
            return &err_table[i];
    /* Unknown values read as internal, never as whatever row happens to be
     * last (rows are appended, so the last one changes). */
    static const struct err_row unknown = {ECRED_ERR_INTERNAL, "internal", "internal", "internal error", 1, 500};
    return &unknown;
}

const char *ecred_err_reason(ecred_err e) { return err_find(e)->reason; }
const char *ecred_err_name(ecred_err e) { return err_find(e)->name; }
const char *ecred_err_message(ecred_err e) { return err_find(e)->message; }
int ecred_err_exit_code(ecred_err e) { return err_find(e)->exit_code; }
int ecred_err_http_status(ecred_err e) { return err_find(e)->http_status; }

ecred_err ecred_err_from_name(const char *name, ecred_err *out)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++) {
        if (strcmp(err_table[i].name, name) == 0) {
            *out = err_table[i].code;
            return ECRED_OK;
        }
    }
    return ECRED_ERR_ARG;
}
