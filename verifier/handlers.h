/*
 * handlers.h - the verifier daemon's handlers, one per route (vd_routes.c
 * holds the table). A handler runs after routing and the guard: for
 * the keyed routes (vd_routes.c's NEEDS_KEY), r->scope holds a copy of the caller's key (role, agency
 * fields) and r->who its id. Handlers reply through svc_reply_* or
 * vreply_error, never with a free-string error.
 */
#ifndef ECRED_VERIFIER_HANDLERS_H
#define ECRED_VERIFIER_HANDLERS_H

#include "apierr.h"
#include "svc_http.h"
#include "vd_state.h"

void h_verify(vd *d, svc_req *r);
void h_challenge(vd *d, svc_req *r);
void h_scanner(vd *d, svc_req *r);
void h_healthz(vd *d, svc_req *r);
void h_metrics(vd *d, svc_req *r);
void h_page(vd *d, svc_req *r);
void h_scan_page(vd *d, svc_req *r);
void h_scan_image(vd *d, svc_req *r);

/* Decide on one QR text (taken over and wiped, whatever happens) with the
 * current snapshot and reply with the verify answer for r's key: what
 * POST /v1/verify and POST /v1/scan-image both answer. */
void vd_verify_text(vd *d, svc_req *r, ecred_buf *text);
/* The same where the request named a challenge (its 16-byte nonce, or NULL):
 * the presentation must answer exactly that challenge of r's key. */
void vd_verify_text_challenge(vd *d, svc_req *r, ecred_buf *text, const uint8_t *challenge);

#endif
