/*
 * h_app_get.c - GET /v1/applications/{id} (clerk, officer, or the applicant
 * with the tracking code): the application and its progress.
 *
 * Must never: tell an applicant without the right code whether an id exists.
 */
#include "handlers.h"
#include "lifecycle.h"

void h_app_get(issuerd *d, reg_db *db, http_req *r)
{
    if (r->role == 0 &&
        !auth_tracking_ok(d->tracking_secret, r->param, http_header(r, TRACKING_HEADER))) {
        http_reply_error(r, 401, "invalid_tracking_code",
                         "a valid token or the application's tracking code is required", NULL);
        return;
    }
    reg_application a;
    ecred_err e = lc_id_ok(r->param) ? reg_application_get(db, r->param, &a) : ECRED_ERR_KEY_UNKNOWN;
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        http_reply_error(r, 404, "not_found", "no such application", NULL);
        return;
    }
    if (e) {
        http_reply_error(r, 503, "registry_unavailable", "the registry could not be read", NULL);
        return;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    http_reply_json(r, 200, view);
}
