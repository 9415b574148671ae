/*
 * apierr.h - every error the verify API answers with: one row each
 * (svc_err.h), documented in spec/verifier.md's error table (between the
 * api-errors markers), which tests/unit/test_verifier_apierr.c checks against
 * this table both ways.
 *
 * Handlers reply with vreply_error(r, VE_..., detail): code, status and hint
 * come from the row; detail says why for this request, never anything from
 * the scanned text. Verify answers (the outcome JSON, including 422 for text
 * that is not ours or does not verify) are answers, not errors: they are not
 * in this table.
 */
#ifndef ECRED_VERIFIER_APIERR_H
#define ECRED_VERIFIER_APIERR_H

#include "svc_http.h"

typedef enum verr_id {
    VE_NOT_FOUND,
    VE_METHOD_NOT_ALLOWED,
    VE_BODY_TOO_LARGE,
    VE_URI_TOO_LONG,
    VE_MALFORMED_JSON,
    VE_INTERNAL,
    VE_MISSING_KEY,
    VE_INVALID_KEY,
    VE_EMPTY_BODY,
    VE_CACHE_UNAVAILABLE,
    VE_RATE_LIMITED,
    VE_UNSUPPORTED_IMAGE,
    VE_IMAGE_TOO_LARGE,
    VE_NO_CODE_FOUND,
    VE_SCAN_BUSY,
    VE_BAD_CHALLENGE,
    VE_CHALLENGES_FULL,
    VE_BAD_QUERY,
    VE_COUNT
} verr_id;

extern const svc_apierr verifier_errors[VE_COUNT];

/* Reply with row id; detail may be NULL. */
void vreply_error(svc_req *r, verr_id id, const char *detail);

/* The row whose code is `code` (a refusal code from vbody_parse), or
 * VE_INTERNAL when none is: a code the table does not know never reaches a
 * client. */
verr_id verr_by_code(const char *code);

#endif
