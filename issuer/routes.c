/*
 * routes.c - the issuer's route table and the two hooks the shared HTTP
 * layer runs around each handler: the guard borrows a registry connection and
 * authenticates (401 without a valid token, 403 with the wrong role), the
 * release gives the connection back.
 *
 * Roles: admin is admitted wherever clerk or officer is. Routes marked
 * TRACKING also admit an applicant who presents X-Tracking-Code instead of a
 * token; the handler checks the code against the resource. Public, cacheable
 * routes (trust list, status lists, their index) carry SVC_CORS so a
 * verifier in a browser on another origin can fetch them.
 *
 * Must never: run a handler of a protected route without a verified token or
 * a tracking code for the handler to check.
 */
#include <string.h>

#include "handlers.h"

#define STAFF (ROLE_CLERK | ROLE_OFFICER | ROLE_ADMIN)
#define CLERK (ROLE_CLERK | ROLE_ADMIN)
#define OFFICER (ROLE_OFFICER | ROLE_ADMIN)
#define TRACKING (1u << 8) /* in svc_route.auth beside the role bits */

/* The layer calls handlers with the request alone; ours take the daemon and
 * the connection the guard borrowed as well. */
#define ROUTE(fn)                                                                                  \
    static void fn##_route(svc_req *r)                                                             \
    {                                                                                              \
        fn(r->app, r->scope, r);                                                                   \
    }
ROUTE(h_app_create)
ROUTE(h_app_get)
ROUTE(h_app_approve)
ROUTE(h_app_reject)
ROUTE(h_app_confirm)
ROUTE(h_app_holder_nonce)
ROUTE(h_app_holder_key)
ROUTE(h_cred_get)
ROUTE(h_cred_qr_png)
ROUTE(h_cred_qr_svg)
ROUTE(h_cred_suspend)
ROUTE(h_cred_resume)
ROUTE(h_cred_revoke)
ROUTE(h_reminders)
ROUTE(h_statuslist)
ROUTE(h_trust)
ROUTE(h_status_index)
ROUTE(h_healthz)
ROUTE(h_asset)
ROUTE(h_audit_checkpoint)
ROUTE(h_audit_consistency)
ROUTE(h_audit_inclusion)
ROUTE(h_app_list)
ROUTE(h_cred_lookup)
ROUTE(h_metrics)
ROUTE(h_res_login)
ROUTE(h_res_callback)
ROUTE(h_res_logout)
ROUTE(h_res_me)
ROUTE(h_res_app_create)
ROUTE(h_res_app_get)
ROUTE(h_res_commitment_sign)
ROUTE(h_res_holder_nonce)
ROUTE(h_res_holder_key)
ROUTE(h_res_cred_current)
ROUTE(h_res_cred_get)
ROUTE(h_res_cred_qr_svg)
ROUTE(h_res_cred_lost)
ROUTE(h_res_cred_found)
ROUTE(h_res_reminders)

#define PUBLIC_LIST (SVC_CORS)

const svc_route issuer_routes[] = {
    {"POST", "/v1/applications", h_app_create_route, SVC_SENSITIVE, CLERK, 0, "applications"},
    {"GET", "/v1/applications", h_app_list_route, 0, OFFICER, 0, "application_queue"},
    {"GET", "/v1/applications/{id}", h_app_get_route, 0, STAFF | TRACKING, 0, "application"},
    {"POST", "/v1/applications/{id}/approve", h_app_approve_route, 0, OFFICER, 0, "approve"},
    {"POST", "/v1/applications/{id}/reject", h_app_reject_route, 0, OFFICER, 0, "reject"},
    {"POST", "/v1/applications/{id}/commitment/confirm", h_app_confirm_route, 0, CLERK | TRACKING, 0,
     "confirm"},
    {"POST", "/v1/applications/{id}/holder-nonce", h_app_holder_nonce_route, 0, CLERK | TRACKING, 0,
     "holder_nonce"},
    /* Applicant only: no role bit, so the guard admits the request and the
     * handler refuses any token and checks the tracking code itself. */
    {"POST", "/v1/applications/{id}/holder-key", h_app_holder_key_route, SVC_SENSITIVE, TRACKING, 0,
     "holder_key"},
    {"GET", "/v1/credentials", h_cred_lookup_route, 0, OFFICER, 0, "credential_lookup"},
    {"GET", "/v1/credentials/{id}", h_cred_get_route, 0, OFFICER | TRACKING, 0, "credential"},
    {"GET", "/v1/credentials/{id}/qr.png", h_cred_qr_png_route, 0, OFFICER | TRACKING, 0, "qr_png"},
    {"GET", "/v1/credentials/{id}/qr.svg", h_cred_qr_svg_route, 0, OFFICER | TRACKING, 0, "qr_svg"},
    {"POST", "/v1/credentials/{id}/suspend", h_cred_suspend_route, 0, OFFICER, 0, "suspend"},
    {"POST", "/v1/credentials/{id}/resume", h_cred_resume_route, 0, OFFICER, 0, "resume"},
    {"POST", "/v1/credentials/{id}/revoke", h_cred_revoke_route, 0, OFFICER, 0, "revoke"},
    {"GET", "/v1/reminders", h_reminders_route, 0, OFFICER, 0, "reminders"},
    {"GET", "/status/{id}", h_statuslist_route, PUBLIC_LIST, 0, 0, "status_list"},
    {"GET", "/.well-known/ecred-trust", h_trust_route, PUBLIC_LIST, 0, 0, "trust_list"},
    {"GET", "/.well-known/ecred-status-lists", h_status_index_route, PUBLIC_LIST, 0, 0, "status_index"},
    {"GET", "/v1/audit/checkpoint", h_audit_checkpoint_route, PUBLIC_LIST, 0, 0, "audit_checkpoint"},
    {"GET", "/v1/audit/consistency", h_audit_consistency_route, PUBLIC_LIST, 0, 0, "audit_consistency"},
    {"GET", "/v1/audit/inclusion", h_audit_inclusion_route, PUBLIC_LIST, 0, 0, "audit_inclusion"},
    {"GET", "/healthz", h_healthz_route, 0, 0, 0, "healthz"},
    {"GET", "/metrics", h_metrics_route, 0, 0, 0, "metrics"},
    /* The resident's routes: public to the guard, the handler checks the
     * session cookie (and X-CSRF-Token on POST) itself (h_resident.c). */
    {"GET", "/v1/resident/login", h_res_login_route, 0, 0, 0, "resident_login"},
    {"GET", "/v1/resident/callback", h_res_callback_route, 0, 0, 0, "resident_callback"},
    {"POST", "/v1/resident/logout", h_res_logout_route, 0, 0, 0, "resident_logout"},
    {"GET", "/v1/resident/me", h_res_me_route, SVC_SENSITIVE, 0, 0, "resident_me"},
    {"POST", "/v1/resident/applications", h_res_app_create_route, SVC_SENSITIVE, 0, 0, "resident_apply"},
    {"GET", "/v1/resident/applications/{id}", h_res_app_get_route, 0, 0, 0, "resident_application"},
    {"POST", "/v1/resident/applications/{id}/commitment/sign", h_res_commitment_sign_route, 0, 0, 0,
     "resident_commitment"},
    {"POST", "/v1/resident/applications/{id}/holder-nonce", h_res_holder_nonce_route, 0, 0, 0,
     "resident_holder_nonce"},
    {"POST", "/v1/resident/applications/{id}/holder-key", h_res_holder_key_route, SVC_SENSITIVE, 0, 0,
     "resident_holder_key"},
    {"GET", "/v1/resident/credential", h_res_cred_current_route, 0, 0, 0, "resident_credential"},
    {"GET", "/v1/resident/credentials/{id}", h_res_cred_get_route, 0, 0, 0, "resident_credential"},
    {"GET", "/v1/resident/credentials/{id}/qr.svg", h_res_cred_qr_svg_route, 0, 0, 0, "resident_qr"},
    {"POST", "/v1/resident/credentials/{id}/report-lost", h_res_cred_lost_route, 0, 0, 0, "resident_lost"},
    {"POST", "/v1/resident/credentials/{id}/unlock", h_res_cred_found_route, 0, 0, 0, "resident_unlock"},
    {"GET", "/v1/resident/reminders", h_res_reminders_route, 0, 0, 0, "resident_reminders"},
    {"GET", "/", h_asset_route, 0, 0, 0, "page"},
    {"GET", "/app/{*}", h_asset_route, 0, 0, 0, "page"},
};
const size_t issuer_n_routes = sizeof issuer_routes / sizeof issuer_routes[0];

bool routes_guard(svc_req *r)
{
    issuerd *d = r->app;
    const unsigned roles = r->route->auth & ~TRACKING;
    reg_db *db = reg_pool_get(d->pool);
    r->scope = db;
    if (!roles)
        return true;
    const char *authz = svc_header(r, "Authorization");
    if (authz) {
        unsigned role = 0;
        ecred_err e = auth_bearer(db, authz, &role, r->who);
        if (e == ECRED_ERR_KEY_UNKNOWN) {
            ireply_error(r, IE_INVALID_TOKEN, NULL);
            return false;
        }
        if (e) {
            ireply_error(r, IE_REGISTRY_UNAVAILABLE, "tokens could not be read");
            return false;
        }
        if (!(role & roles)) {
            ireply_error(r, IE_FORBIDDEN, auth_role_name(role));
            return false;
        }
        r->role = role;
        return true;
    }
    if ((r->route->auth & TRACKING) && svc_header(r, TRACKING_HEADER)) {
        r->role = 0;
        memcpy(r->who, "applicant", sizeof "applicant");
        return true;
    }
    ireply_error(r, IE_MISSING_TOKEN, NULL);
    return false;
}

void routes_release(svc_req *r)
{
    issuerd *d = r->app;
    /* Registry errors for /metrics: every reply that failed on the registry. */
    if (r->error_code && (strcmp(r->error_code, "registry_unavailable") == 0 ||
                          strcmp(r->error_code, "status_unavailable") == 0))
        atomic_fetch_add_explicit(&d->n_registry_errors, 1, memory_order_relaxed);
    if (r->scope)
        reg_pool_put(d->pool, r->scope);
    r->scope = NULL;
}
