/*
 * decide.h - the verify path as one call: QR text -> one outcome with a reason.
 * The CLI, the verifier daemon and the tests all call this; there is one
 * verifier decision, not three (spec/credential.md section 6).
 */
#ifndef ECRED_DECIDE_H
#define ECRED_DECIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/trustpolicy.h" /* ecred_trusted_key, ecred_keyset */

/* Where status comes from. lookup returns ECRED_OK and the 2-bit status and the
 * time the status data was issued (the list's iat), ECRED_ERR_STATUS_UNAVAILABLE
 * when it has no list for uri, ECRED_ERR_STATUS_INDEX when idx is outside the list
 * (passed through as the outcome), or another error. NULL lookup: status is not
 * checked and the verdict says so. */
typedef struct ecred_status_source {
    ecred_err (*lookup)(void *ctx, const char *uri, uint64_t idx, unsigned *status,
                        int64_t *as_of);
    void *ctx;
    int64_t max_age; /* seconds; status data older than this is STATUS_STALE */
} ecred_status_source;

typedef struct ecred_verdict {
    ecred_err outcome;        /* ECRED_OK = valid; else the reason */
    bool compressed;          /* the text carried a zlib layer */
    size_t text_len, cose_len, payload_len;
    uint8_t kid[64];
    size_t kid_len;
    bool signature_checked;   /* a trusted key verified the signature */
    bool claims_ok;           /* claims decoded (only after a good signature) */
    ecred_claims claims;
    bool status_checked;
    unsigned status;          /* ECRED_STATUS_* when status_checked */
    int64_t status_as_of;     /* iat of the status data used */
} ecred_verdict;

/* Decide on QR text at time now (seconds). Always fills *out (outcome is the
 * reason); returns the same value as out->outcome. */
ecred_err ecred_decide(const char *text, size_t n, const ecred_keyset *keys,
                       const ecred_status_source *status, int64_t now, ecred_verdict *out);

#endif
