/*
 * h_app_get.c - GET /v1/applications/{id} (clerk, officer, or the applicant
 * with the tracking code): the application and its progress.
 *
 * Must never: tell an applicant without the right code whether an id exists.
 */
#include "handlers.h"
#include "lifecycle.h"

void h_app_get(issuerd *d, reg_db *db, svc_req *r)
{
    if (r->role == 0 &&
        !auth_tracking_ok(d->tracking_secret, r->param, svc_header(r, TRACKING_HEADER))) {
        ireply_error(r, IE_INVALID_TRACKING_CODE, "a valid token or the application's tracking code is required");
        return;
    }
    reg_application a;
    ecred_err e = lc_id_ok(r->param) ? reg_application_get(db, r->param, &a) : ECRED_ERR_KEY_UNKNOWN;
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_NOT_FOUND, "no such application");
        return;
    }
    if (e) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    svc_reply_json(r, 200, view);
}
