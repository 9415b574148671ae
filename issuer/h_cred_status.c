/*
 * h_cred_status.c - POST /v1/credentials/{id}/suspend (loss report, 挂失),
 * /resume (解挂) and /revoke (officer). Revocation needs a reason; every
 * change is recorded with the token that made it and the time.
 *
 * Must never: change a status outside lifecycle's allowed transitions.
 */
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

/* Apply one status action to the credential in r->param. */
static void h_cred_status(issuerd *d, reg_db *db, svc_req *r, const char *action, bool need_reason)
{
    json_t *body;
    const char *reason;
    if (!view_reason_body(r, need_reason, &body, &reason))
        return;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    int to = 0;
    reg_credential c;
    ecred_err e = lc_id_ok(r->param) ? lc_status_action(db, r->param, action, reason, r->who,
                                                        (int64_t)time(NULL), &to, &c, &fail)
                                     : ECRED_ERR_KEY_UNKNOWN;
    json_decref(body);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such credential");
        return;
    }
    atomic_fetch_add_explicit(&d->n_status_changes, 1, memory_order_relaxed);
    /* The row as the committed write left it: no second read can turn a
     * change that was made into an error. */
    json_t *view = view_credential(d, db, &c, true);
    reg_credential_free(&c);
    svc_reply_json(r, 200, view);
}

void h_cred_suspend(issuerd *d, reg_db *db, svc_req *r) { h_cred_status(d, db, r, "suspend", false); }
void h_cred_resume(issuerd *d, reg_db *db, svc_req *r) { h_cred_status(d, db, r, "resume", false); }
void h_cred_revoke(issuerd *d, reg_db *db, svc_req *r) { h_cred_status(d, db, r, "revoke", true); }
