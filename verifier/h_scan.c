/*
 * h_scan.c - the scanner for landlords and police (issue 13):
 *
 * - GET /scan and GET /scan/... (public): the scanner page, files embedded
 *   from verifier/web/scan/ (they sit under "scan/" in the daemon's asset
 *   table), served by the shared layer with ETag and the strict
 *   Content-Security-Policy; the page decodes camera frames itself and posts
 *   the text to POST /v1/verify.
 * - POST /v1/scan-image (API key, rate-limited by the guard at a photo's
 *   cost): the page's fallback when there is no camera. The photo's declared
 *   size is held to scanimg.h's caps, at most VD_SCAN_DECODES run at once
 *   (zbar on a 12-megapixel picture is tens of milliseconds of one core),
 *   and the decoded text is decided and answered exactly as POST /v1/verify
 *   would (vd_verify_text). In challenge mode the page adds
 *   ?challenge=ID (the id POST /v1/challenges gave): the answer in the photo
 *   is then judged against exactly that challenge of the caller's key, as
 *   POST /v1/verify {"qr", "challenge"} judges it; the id is checked, by
 *   the same decoding (vchal_id_parse), before the photo is looked at.
 *
 * Must never: keep, copy or log the photo or the text read from it (the
 * body is wiped by the layer, the text here); serve a file that is not in
 * the asset table; ignore a query argument it does not know (a mistyped
 * "challenge" would quietly judge an answer as a plain scan).
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "scanimg.h"

void h_scan_page(vd *d, svc_req *r)
{
    /* The table names the page's files "scan/...": look them up there, and
     * only there, whatever r->rest holds (the layer already limited it to
     * one path under /scan/). */
    char name[SVC_ASSET_NAME_MAX + 8];
    int n = snprintf(name, sizeof name, "scan/%s", r->rest ? r->rest : "");
    if (n < 0 || (size_t)n >= sizeof name) {
        vreply_error(r, VE_NOT_FOUND, NULL);
        return;
    }
    const char *rest = r->rest;
    r->rest = name;
    svc_assets_serve(d->assets, r);
    r->rest = rest;
}

/* The challenge the photo must answer, from the query: none (*named false),
 * or exactly one "challenge" argument holding a challenge id. Returns false
 * when it replied (400 bad_query or bad_challenge). */
static bool scan_challenge(svc_req *r, uint8_t nonce[VCHAL_NONCE_LEN], bool *named)
{
    *named = false;
    unsigned n = svc_query_count(r);
    if (n == 0)
        return true;
    size_t len = 0;
    const char *id = svc_query_n(r, "challenge", &len);
    if (n != 1 || !id) {
        vreply_error(r, VE_BAD_QUERY, "POST /v1/scan-image takes one query argument: challenge=ID");
        return false;
    }
    if (!vchal_id_parse(id, len, nonce)) {
        vreply_error(r, VE_BAD_CHALLENGE, NULL);
        return false;
    }
    *named = true;
    return true;
}

void h_scan_image(vd *d, svc_req *r)
{
    uint8_t chal[VCHAL_NONCE_LEN];
    bool named;
    if (!scan_challenge(r, chal, &named))
        return;
    if (r->body.len == 0) {
        vreply_error(r, VE_EMPTY_BODY, NULL);
        return;
    }
    uint32_t w, h;
    if (scanimg_dimensions(r->body.ptr, r->body.len, &w, &h) != ECRED_OK) {
        vreply_error(r, VE_UNSUPPORTED_IMAGE, NULL);
        return;
    }
    if (atomic_fetch_add(&d->scans_running, 1) >= VD_SCAN_DECODES) {
        atomic_fetch_sub(&d->scans_running, 1);
        svc_add_header(r, "Retry-After", "1");
        vreply_error(r, VE_SCAN_BUSY, NULL);
        return;
    }
    ecred_buf text = ECRED_BUF_INIT;
    ecred_err e = scanimg_decode(r->body.ptr, r->body.len, &text);
    atomic_fetch_sub(&d->scans_running, 1);
    if (e == ECRED_ERR_TOO_LARGE) {
        char why[64];
        snprintf(why, sizeof why, "%" PRIu32 "x%" PRIu32 " pixels", w, h);
        vreply_error(r, VE_IMAGE_TOO_LARGE, why);
        return;
    }
    if (e != ECRED_OK) {
        ecred_buf_wipe(&text);
        vreply_error(r, e == ECRED_ERR_NOMEM ? VE_INTERNAL : VE_NO_CODE_FOUND, NULL);
        return;
    }
    vd_verify_text_challenge(d, r, &text, named ? chal : NULL);
}
