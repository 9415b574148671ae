/*
 * h_cred_qr.c - GET /v1/credentials/{id}/qr.png and /qr.svg (same access as
 * the credential): the stored QR text rendered as an image.
 *
 * Must never: render anything but the committed QR text.
 */
#include <string.h>

#include "ecred/qr.h"
#include "handlers.h"

#define QR_PNG_SCALE 6
#define QR_MARGIN 4

/* Render the credential's QR as PNG or SVG. */
static void h_cred_qr(issuerd *d, reg_db *db, svc_req *r, bool png)
{
    reg_credential c;
    if (!view_load_credential(d, db, r, &c))
        return;
    ecred_qr qr;
    ecred_buf img = ECRED_BUF_INIT;
    ecred_err e = ecred_qr_encode(c.qr_text, strlen(c.qr_text), ECRED_QR_ECC_M, &qr);
    reg_credential_free(&c);
    if (e) {
        ireply_error(r, IE_INTERNAL, ecred_err_name(e));
        return;
    }
    e = png ? ecred_qr_png(&qr, QR_PNG_SCALE, QR_MARGIN, &img) : ecred_qr_svg(&qr, QR_MARGIN, &img);
    ecred_qr_free(&qr);
    if (e)
        ireply_error(r, IE_INTERNAL, ecred_err_name(e));
    else
        svc_reply_bytes(r, 200, png ? "image/png" : "image/svg+xml", img.ptr, img.len);
    ecred_buf_free(&img);
}

void h_cred_qr_png(issuerd *d, reg_db *db, svc_req *r) { h_cred_qr(d, db, r, true); }
void h_cred_qr_svg(issuerd *d, reg_db *db, svc_req *r) { h_cred_qr(d, db, r, false); }
