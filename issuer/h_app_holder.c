/*
 * h_app_holder.c - binding the holder's phone key to an application, after
 * OpenID4VCI's proof of possession (spec/api.md "Holder key"):
 *
 *   POST /v1/applications/{id}/holder-nonce  (the applicant with the tracking
 *        code, or a clerk at the counter): a c_nonce for this application;
 *   POST /v1/applications/{id}/holder-key    (the applicant only, with the
 *        tracking code): {"proof": {"proof_type": "jwt", "jwt": "..."}}, a
 *        JWT signed by the phone's key over that c_nonce; the key goes into
 *        the credential's cnf at approval.
 *
 * Must never: bind a key for a request that carries a staff token (a clerk
 * must not bind their own key into someone's credential), or without the
 * application's tracking code.
 */
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"
#include "pop.h"

void h_app_holder_nonce(issuerd *d, reg_db *db, svc_req *r)
{
    if (r->role == 0 &&
        !auth_tracking_ok(d->tracking_secret, r->param, svc_header(r, TRACKING_HEADER))) {
        ireply_error(r, IE_INVALID_TRACKING_CODE, "a clerk's token or the application's tracking code is required");
        return;
    }
    if (r->body.len != 0) {
        ireply_error(r, IE_UNEXPECTED_BODY, "holder-nonce takes no body");
        return;
    }
    char nonce[POP_NONCE_TEXT_MAX + 1];
    int64_t now = (int64_t)time(NULL), expires = 0;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_id_ok(r->param) ? lc_holder_nonce(d, db, r->param, now, nonce, &expires, &fail)
                                     : ECRED_ERR_KEY_UNKNOWN;
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        return;
    }
    /* OpenID4VCI's nonce answer, plus the audience the proof must name. */
    svc_reply_json(r, 200, json_pack("{s:s,s:I,s:o,s:s,s:s}", "c_nonce", nonce, "c_nonce_expires_in",
                                     (json_int_t)(expires - now), "expires_at", view_time(expires), "aud",
                                     d->iss, "proof_type", "jwt"));
}

void h_app_holder_key(issuerd *d, reg_db *db, svc_req *r)
{
    /* The route admits no role: the guard let everyone through, and the
     * tracking code is the only credential accepted here. */
    if (svc_header(r, "Authorization")) {
        ireply_error(r, IE_APPLICANT_ONLY, NULL);
        return;
    }
    if (!auth_tracking_ok(d->tracking_secret, r->param, svc_header(r, TRACKING_HEADER))) {
        ireply_error(r, IE_INVALID_TRACKING_CODE, "the application's tracking code is required");
        return;
    }
    memcpy(r->who, "applicant", sizeof "applicant");
    json_t *body;
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    json_t *jwt = view_proof_jwt(r, body);
    if (!jwt)
        goto out;
    uint8_t x[32];
    bool y_sign = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_id_ok(r->param) ? lc_holder_bind(d, db, r->param, json_string_value(jwt),
                                                      json_string_length(jwt), (int64_t)time(NULL), x,
                                                      &y_sign, &fail)
                                     : ECRED_ERR_KEY_UNKNOWN;
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        goto out;
    }
    view_reply_application(d, db, r, r->param);
out:
    json_decref(body);
}
