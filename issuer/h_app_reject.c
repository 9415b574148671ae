/*
 * h_app_reject.c - POST /v1/applications/{id}/reject (officer) with a reason.
 *
 * Must never: reject an application that was already decided.
 */
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

void h_app_reject(issuerd *d, reg_db *db, svc_req *r)
{
    json_t *body;
    const char *reason;
    if (!view_reason_body(r, true, &body, &reason))
        return;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_id_ok(r->param)
                      ? lc_reject(db, r->param, reason, r->who, (int64_t)time(NULL), &fail)
                      : ECRED_ERR_KEY_UNKNOWN;
    json_decref(body);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        return;
    }
    view_reply_application(d, db, r, r->param);
}
