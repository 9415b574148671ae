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

void h_statuslist(issuerd *d, reg_db *db, http_req *r)
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
    if (!ok) {
        http_reply_error(r, 404, "not_found", "no such status list", NULL);
        return;
    }
    ecred_buf tok = ECRED_BUF_INIT;
    char etag[STATUSPUB_ETAG_MAX];
    ecred_err e = statuspub_get(d->pub, db, id, (int64_t)time(NULL), &tok, etag);
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        http_reply_error(r, 404, "not_found", "no such status list", NULL);
        return;
    }
    if (e) {
        http_reply_error(r, 503, "status_unavailable", "the status list could not be built",
                         ecred_err_name(e));
        return;
    }
    const char *inm = http_header(r, "If-None-Match");
    if (inm && strcmp(inm, etag) == 0)
        http_reply_bytes(r, 304, ECRED_SLIST_TYP, NULL, 0);
    else
        http_reply_bytes(r, 200, ECRED_SLIST_TYP, tok.ptr, tok.len);
    ecred_buf_free(&tok);
    memcpy(r->etag, etag, sizeof etag);
    /* Revalidate every time: a change is visible at the next request. */
    r->cache_control = "no-cache";
}
