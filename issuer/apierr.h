/*
 * apierr.h - every error the issuer's API answers with: one row each
 * (svc_err.h), documented in spec/api.md's error table, which
 * tests/unit/test_apierr.c checks against this table both ways.
 *
 * Handlers reply with ireply_error(r, IE_..., detail): the code, status and
 * hint come from the row; detail says why for this request (which field and
 * what is wrong with it), never personal data.
 */
#ifndef ECRED_ISSUER_APIERR_H
#define ECRED_ISSUER_APIERR_H

#include "svc_http.h"

typedef enum ierr_id {
    IE_NOT_FOUND,
    IE_METHOD_NOT_ALLOWED,
    IE_BODY_TOO_LARGE,
    IE_URI_TOO_LONG,
    IE_MALFORMED_JSON,
    IE_INTERNAL,
    IE_MISSING_TOKEN,
    IE_INVALID_TOKEN,
    IE_FORBIDDEN,
    IE_INVALID_TRACKING_CODE,
    IE_BAD_IDEMPOTENCY_KEY,
    IE_UNEXPECTED_BODY,
    IE_INVALID_FIELD,
    IE_MISSING_FIELD,
    IE_UNKNOWN_FIELD,
    IE_IDEMPOTENCY_KEY_REUSED,
    IE_REPLACED_CREDENTIAL_INVALID,
    IE_APPLICATION_REJECTED,
    IE_COMMITMENT_UNCONFIRMED,
    IE_NO_COMMITMENT,
    IE_INVALID_TRANSITION,
    IE_CANNOT_ISSUE,
    IE_REGISTRY_UNAVAILABLE,
    IE_STATUS_UNAVAILABLE,
    IE_HISTORY_UNSUPPORTED,
    IE_RESIDENT_DISABLED,
    IE_NOT_SIGNED_IN,
    IE_CSRF_TOKEN_INVALID,
    IE_LOGIN_EXPIRED,
    IE_ID_TOKEN_REJECTED,
    IE_IDENTITY_PROVIDER_UNAVAILABLE,
    IE_IDENTITY_FROM_SIGNIN,
    IE_TOO_MANY_LOGINS,
    IE_COUNT
} ierr_id;

extern const svc_apierr issuer_errors[IE_COUNT];

/* Reply with row id; detail may be NULL. */
void ireply_error(svc_req *r, ierr_id id, const char *detail);

#endif
