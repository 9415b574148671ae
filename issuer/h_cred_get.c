/*
 * h_cred_get.c - GET /v1/credentials/{id} (officer, or the holder with the
 * tracking code of the application it came from): the credential, its QR
 * text and status; officers also see the status history.
 *
 * Must never: show the status history (who did what) to the holder.
 */
#include "handlers.h"

void h_cred_get(issuerd *d, reg_db *db, svc_req *r)
{
    reg_credential c;
    if (!view_load_credential(d, db, r, &c))
        return;
    json_t *view = view_credential(d, db, &c, r->role != 0);
    reg_credential_free(&c);
    svc_reply_json(r, 200, view);
}
