/*
 * h_statuslist.c - GET /status/{n} (public): the signed status list token
 * (application/statuslist+cwt) that credentials in list n point to, with an
 * ETag; If-None-Match answers 304.
 *
 * Must never: serve a list that does not reflect every committed change.
 */
#include <string.h>
#include <time.h>

#include "ecred/slist.h"
#include "handlers.h"

void h_statuslist(issuerd *d, reg_db *db, svc_req *r)
{
    int64_t id = 0;
    size_t n = strlen(r->param);
    bool ok = n > 0 && n <= 12 && r->param[0] != '0';
    for (size_t i = 0; ok && i < n; i++) {
        if (r->param[i] < '0' || r->param[i] > '9')
            ok = false;
        else
            id = id * 10 + (r->param[i] - '0');
    }
    /* The draft's historical resolution: a server that keeps no history
     * answers 501 (draft-ietf-oauth-status-list, section 8.4). */
    if (svc_query(r, "time")) {
        ireply_error(r, IE_HISTORY_UNSUPPORTED, NULL);
        return;
    }
    if (!ok) {
        ireply_error(r, IE_NOT_FOUND, "no such status list");
        return;
    }
    ecred_buf tok = ECRED_BUF_INIT;
    char etag[STATUSPUB_ETAG_MAX];
    ecred_err e = statuspub_get(d->pub, db, id, (int64_t)time(NULL), &tok, etag);
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_NOT_FOUND, "no such status list");
        return;
    }
    if (e) {
        ireply_error(r, IE_STATUS_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    /* Revalidate every time: a change is visible at the next request. */
    r->cache_control = "no-cache";
    if (!svc_etag_match(r, etag))
        svc_reply_bytes(r, 200, ECRED_SLIST_TYP, tok.ptr, tok.len);
    ecred_buf_free(&tok);
}
