/*
 * h_app_confirm.c - POST /v1/applications/{id}/commitment/confirm (the
 * applicant with the tracking code, or a clerk at the counter): records the
 * applicant's confirmation of the kinship commitment text, bound to that
 * text by its SHA-256.
 *
 * Must never: record a confirmation of a text other than the stored one.
 */
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

void h_app_confirm(issuerd *d, reg_db *db, svc_req *r)
{
    if (r->role == 0 &&
        !auth_tracking_ok(d->tracking_secret, r->param, svc_header(r, TRACKING_HEADER))) {
        ireply_error(r, IE_INVALID_TRACKING_CODE, "a valid token or the application's tracking code is required");
        return;
    }
    json_t *body;
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    static const char *const allowed[] = {"sha256", NULL};
    if (!view_only_fields(r, body, allowed, NULL)) {
        json_decref(body);
        return;
    }
    json_t *h = json_object_get(body, "sha256");
    if (!json_is_string(h) || json_string_length(h) != 64) {
        json_decref(body);
        ireply_error(r, h ? IE_INVALID_FIELD : IE_MISSING_FIELD, h ? "sha256: must be the SHA-256 of the commitment text as 64 hex digits" : "sha256: required (SHA-256 of the commitment text, 64 hex digits)");
        return;
    }
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_id_ok(r->param) ? lc_confirm_commitment(db, r->param, json_string_value(h),
                                                             (int64_t)time(NULL), &fail)
                                     : ECRED_ERR_KEY_UNKNOWN;
    json_decref(body);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        return;
    }
    view_reply_application(d, db, r, r->param);
}
