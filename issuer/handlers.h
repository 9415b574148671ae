/*
 * handlers.h - one function per route (routes.c holds the table).
 *
 * A handler runs after routing and authentication: r->param holds the path
 * parameter, r->role the token's role (0 for an applicant with a tracking
 * code, who each handler checks against the resource) and db a registry
 * connection borrowed for this request. A handler always replies through the
 * svc_reply_* helpers or ireply_error (apierr.h).
 */
#ifndef ECRED_ISSUER_HANDLERS_H
#define ECRED_ISSUER_HANDLERS_H

#include "apierr.h"
#include "svc_assets.h"
#include "svc_http.h"
#include "issuerd.h"
#include "lifecycle.h"
#include "registry.h"

#define TRACKING_HEADER "X-Tracking-Code"
#define REASON_MAX 200

void h_app_create(issuerd *d, reg_db *db, svc_req *r);
void h_app_get(issuerd *d, reg_db *db, svc_req *r);
void h_app_approve(issuerd *d, reg_db *db, svc_req *r);
void h_app_reject(issuerd *d, reg_db *db, svc_req *r);
void h_app_confirm(issuerd *d, reg_db *db, svc_req *r);
void h_app_holder_nonce(issuerd *d, reg_db *db, svc_req *r);
void h_app_holder_key(issuerd *d, reg_db *db, svc_req *r);
void h_cred_get(issuerd *d, reg_db *db, svc_req *r);
void h_cred_qr_png(issuerd *d, reg_db *db, svc_req *r);
void h_cred_qr_svg(issuerd *d, reg_db *db, svc_req *r);
void h_cred_suspend(issuerd *d, reg_db *db, svc_req *r);
void h_cred_resume(issuerd *d, reg_db *db, svc_req *r);
void h_cred_revoke(issuerd *d, reg_db *db, svc_req *r);
void h_reminders(issuerd *d, reg_db *db, svc_req *r);
void h_statuslist(issuerd *d, reg_db *db, svc_req *r);
void h_trust(issuerd *d, reg_db *db, svc_req *r);
void h_status_index(issuerd *d, reg_db *db, svc_req *r);
void h_asset(issuerd *d, reg_db *db, svc_req *r);
void h_healthz(issuerd *d, reg_db *db, svc_req *r);
void h_audit_checkpoint(issuerd *d, reg_db *db, svc_req *r);
void h_audit_consistency(issuerd *d, reg_db *db, svc_req *r);
void h_audit_inclusion(issuerd *d, reg_db *db, svc_req *r);
void h_metrics(issuerd *d, reg_db *db, svc_req *r);
void h_app_list(issuerd *d, reg_db *db, svc_req *r);
void h_cred_lookup(issuerd *d, reg_db *db, svc_req *r);
/* The resident's routes (h_resident.c): sign-in and self-service. */
void h_res_login(issuerd *d, reg_db *db, svc_req *r);
void h_res_callback(issuerd *d, reg_db *db, svc_req *r);
void h_res_logout(issuerd *d, reg_db *db, svc_req *r);
void h_res_me(issuerd *d, reg_db *db, svc_req *r);
void h_res_app_create(issuerd *d, reg_db *db, svc_req *r);
void h_res_app_get(issuerd *d, reg_db *db, svc_req *r);
void h_res_commitment_sign(issuerd *d, reg_db *db, svc_req *r);
void h_res_holder_nonce(issuerd *d, reg_db *db, svc_req *r);
void h_res_holder_key(issuerd *d, reg_db *db, svc_req *r);
void h_res_cred_current(issuerd *d, reg_db *db, svc_req *r);
void h_res_cred_get(issuerd *d, reg_db *db, svc_req *r);
void h_res_cred_qr_svg(issuerd *d, reg_db *db, svc_req *r);
void h_res_cred_lost(issuerd *d, reg_db *db, svc_req *r);
void h_res_cred_found(issuerd *d, reg_db *db, svc_req *r);
void h_res_reminders(issuerd *d, reg_db *db, svc_req *r);

/* ---- helpers shared by handlers (views.c) ---- */

/* RFC 3339 UTC text of a Unix time (json null for 0). */
json_t *view_time(int64_t t);
/* An application as JSON (progress with timestamps, credential fields,
 * commitment); tracking code added when with_tracking. NULL on failure. */
json_t *view_application(issuerd *d, reg_db *db, const reg_application *a, bool with_tracking);
/* A credential as JSON; with_events adds the status history (officers). */
json_t *view_credential(issuerd *d, reg_db *db, const reg_credential *c, bool with_events);
/* Refuse any member of obj not in the NULL-terminated list: replies 422
 * naming it and returns false. */
bool view_only_fields(svc_req *r, json_t *obj, const char *const *allowed, const char *prefix);
/* Read an optional "reason" (1..REASON_MAX bytes) from an optional JSON body;
 * replies and returns false on a bad body. *reason is NULL when absent; it
 * borrows from *body_out, which the caller releases. */
bool view_reason_body(svc_req *r, bool required, json_t **body_out, const char **reason);
/* The holder-key body {"proof": {"proof_type": "jwt", "jwt": TEXT}} (no
 * other member anywhere): the jwt string (borrowed from body), or NULL when
 * it has replied 422 naming the member and what is wrong. */
json_t *view_proof_jwt(svc_req *r, json_t *body);
/* Load the credential r->param names and check the caller may see it (an
 * officer/admin token, or the tracking code of its application). Replies and
 * returns false otherwise. */
bool view_load_credential(issuerd *d, reg_db *db, svc_req *r, reg_credential *out);
/* Reply with the failure a lifecycle call described in fail; an unknown id the
 * handler never passed on (e is ECRED_ERR_KEY_UNKNOWN, fail empty) is a 404
 * with not_found_hint. */
void view_reply_lc_fail(svc_req *r, ecred_err e, const lc_fail *fail, const char *not_found_hint);
/* Reply 200 with the application's view as committed (re-read from the registry). */
void view_reply_application(issuerd *d, reg_db *db, svc_req *r, const char *app_id);

#endif
