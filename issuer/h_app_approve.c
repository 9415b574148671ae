/*
 * h_app_approve.c - POST /v1/applications/{id}/approve (officer): approval
 * and issuance in one transaction; the reply carries the committed credential
 * (id, QR text, status index). A second approval returns the same credential.
 *
 * Must never: reply with a credential before its row is committed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

void h_app_approve(issuerd *d, reg_db *db, svc_req *r)
{
    if (r->body.len || r->body_too_large) {
        ireply_error(r, IE_UNEXPECTED_BODY, "approve takes no body");
        return;
    }
    if (!lc_id_ok(r->param)) {
        ireply_error(r, IE_NOT_FOUND, "no such application");
        return;
    }
    reg_credential c;
    bool replayed = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_approve(d, db, r->param, r->who, (int64_t)time(NULL), &c, &replayed, &fail);
    if (e != ECRED_OK) {
        view_reply_lc_fail(r, e, &fail, NULL);
        return;
    }
    if (!replayed) {
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/credentials/%s", c.id);
        svc_add_header(r, "Location", loc);
        atomic_fetch_add_explicit(&d->n_approvals, 1, memory_order_relaxed);
    }
    json_t *cv = view_credential(d, db, &c, false);
    reg_credential_free(&c);
    json_t *o = cv ? json_pack("{s:s, s:o, s:b}", "application_id", r->param, "credential", cv,
                               "replayed", replayed)
                   : NULL;
    svc_reply_json(r, replayed ? 200 : 201, o);
}
