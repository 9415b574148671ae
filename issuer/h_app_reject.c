/*
 * h_app_reject.c - POST /v1/applications/{id}/reject (officer) with a reason.
 *
 * Must never: reject an application that was already decided.
 */
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

void h_app_reject(issuerd *d, reg_db *db, http_req *r)
{
    json_t *body;
    const char *reason;
    if (!view_reason_body(r, true, &body, &reason))
        return;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_id_ok(r->param)
                      ? lc_reject(db, r->param, reason, r->actor, (int64_t)time(NULL), &fail)
                      : ECRED_ERR_KEY_UNKNOWN;
    json_decref(body);
    if (e == ECRED_ERR_KEY_UNKNOWN && !fail.code) {
        http_reply_error(r, 404, "not_found", "no such application", NULL);
        return;
    }
    if (e) {
        http_reply_error(r, fail.status, fail.code, fail.hint, fail.detail[0] ? fail.detail : NULL);
        return;
    }
    reg_application a;
    if (reg_application_get(db, r->param, &a) != ECRED_OK) {
        http_reply_error(r, 503, "registry_unavailable", "the registry could not be read", NULL);
        return;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    http_reply_json(r, 200, view);
}
