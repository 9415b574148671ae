/*
 * h_resident.c - the resident's routes (/v1/resident/...): sign-in through
 * the city's identity provider (OpenID Connect code flow with PKCE), and
 * self-service on the resident's own applications and credentials.
 *
 * Who is who: the session (resident.h, kept in the registry so every
 * instance knows it) holds the identity the provider's ID token vouched
 * for. An application's or credential's id_number must equal the session's,
 * or the answer is the same 404 as for an id that does not exist (a
 * resident cannot learn which ids exist). Name and ID number are
 * never taken from a body: they come from the session ("免交身份证").
 *
 * Every POST needs X-CSRF-Token equal to the session's token (given by GET
 * /v1/resident/me): a custom header cannot be sent cross-origin without a
 * CORS preflight we never grant, and the cookie is SameSite=Strict besides.
 *
 * Must never: act on a record of another identity; take identity fields
 * from a request; put the cookie value, a code or a token into a log or a
 * reply body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "ecred/b64url.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/cst.h"
#include "ecred/qrtext.h"
#include "ecred/qr.h"
#include "handlers.h"
#include "lifecycle.h"
#include "notify.h"
#include "oidc.h"
#include "pop.h"
#include "resident.h"

#define CSRF_HEADER "X-CSRF-Token"
#define RES_REMINDER_DAYS 60

/* Whether the browser asked for a page (a person at the callback) rather
 * than JSON (a script). */
static bool res_wants_html(const svc_req *r)
{
    const char *a = svc_header(r, "Accept");
    return a && strstr(a, "text/html") != NULL;
}

/* A login failure: a person goes back to the sign-in page, which says what
 * happened in words; a script gets the JSON row. */
static void res_login_fail(svc_req *r, ierr_id id, const char *detail)
{
    if (!res_wants_html(r)) {
        ireply_error(r, id, detail);
        return;
    }
    char loc[128];
    snprintf(loc, sizeof loc, "/app/signin.html?error=%s", issuer_errors[id].code);
    svc_add_header(r, "Location", loc);
    r->error_code = issuer_errors[id].code;
    svc_reply_bytes(r, 303, "text/plain; charset=utf-8", "", 0);
}

/* The signed-in resident, or a reply (disabled, not signed in, registry
 * down, CSRF). */
static bool res_require(issuerd *d, reg_db *db, svc_req *r, res_session *s, bool post)
{
    if (!d->oidc) {
        ireply_error(r, IE_RESIDENT_DISABLED, NULL);
        return false;
    }
    ecred_err e = res_session_from_cookie(d->residents, db, svc_header(r, "Cookie"), (int64_t)time(NULL), s);
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_NOT_SIGNED_IN, NULL);
        return false;
    }
    if (e) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the session could not be read");
        return false;
    }
    snprintf(r->who, sizeof r->who, "%s", s->who);
    if (post) {
        if (!res_csrf_ok(s, svc_header(r, CSRF_HEADER))) {
            ireply_error(r, IE_CSRF_TOKEN_INVALID, NULL);
            return false;
        }
    }
    return true;
}

void h_res_login(issuerd *d, reg_db *db, svc_req *r)
{
    if (!d->oidc) {
        ireply_error(r, IE_RESIDENT_DISABLED, NULL);
        return;
    }
    char state[RES_TOKEN_LEN + 1], nonce[RES_TOKEN_LEN + 1], chal[RES_TOKEN_LEN + 1];
    ecred_err e = res_login_begin(d->residents, db, (int64_t)time(NULL), state, nonce, chal);
    if (e) {
        res_login_fail(r, e == ECRED_ERR_TOO_LARGE ? IE_TOO_MANY_LOGINS
                          : e == ECRED_ERR_IO      ? IE_REGISTRY_UNAVAILABLE
                                                   : IE_INTERNAL,
                       NULL);
        return;
    }
    char url[2048];
    e = oidc_authorize_url(d->oidc, state, nonce, chal, url, sizeof url);
    OPENSSL_cleanse(nonce, sizeof nonce);
    if (e) {
        res_login_fail(r, IE_IDENTITY_PROVIDER_UNAVAILABLE, "discovery failed");
        return;
    }
    if (strlen(url) >= sizeof r->extra_value[0]) {
        ireply_error(r, IE_INTERNAL, "authorization URL too long");
        return;
    }
    svc_add_header(r, "Location", url);
    svc_reply_bytes(r, 302, "text/plain; charset=utf-8", "", 0);
}

void h_res_callback(issuerd *d, reg_db *db, svc_req *r)
{
    if (!d->oidc) {
        ireply_error(r, IE_RESIDENT_DISABLED, NULL);
        return;
    }
    const int64_t now = (int64_t)time(NULL);
    const char *state = svc_query(r, "state");
    const char *code = svc_query(r, "code");
    char nonce[RES_TOKEN_LEN + 1], verifier[RES_TOKEN_LEN + 1];
    /* The state is taken first, whatever else is wrong: one use only, on
     * whichever instance the callback reaches. */
    ecred_err te = res_login_take(d->residents, db, state, now, nonce, verifier);
    if (te) {
        res_login_fail(r, te == ECRED_ERR_KEY_UNKNOWN ? IE_LOGIN_EXPIRED : IE_REGISTRY_UNAVAILABLE, NULL);
        return;
    }
    if (svc_query(r, "error") || !code || !code[0] || strlen(code) > 512) {
        /* The resident declined at the provider, or the provider failed. */
        res_login_fail(r, IE_ID_TOKEN_REJECTED, "the identity provider returned no code");
        goto out;
    }
    oidc_identity id;
    oidc_reject why = OIDC_ACCEPTED;
    ecred_err e = oidc_exchange_code(d->oidc, code, verifier, nonce, now, &id, &why);
    if (e == ECRED_ERR_IO && why == OIDC_UNAVAILABLE) {
        res_login_fail(r, IE_IDENTITY_PROVIDER_UNAVAILABLE, "the code exchange failed");
        goto out;
    }
    if (e) {
        res_login_fail(r, why == OIDC_UNAVAILABLE ? IE_IDENTITY_PROVIDER_UNAVAILABLE : IE_ID_TOKEN_REJECTED,
                       oidc_reject_text(why));
        goto out;
    }
    char cookie[RES_TOKEN_LEN + 1];
    if (res_session_create(d->residents, db, &id, now, cookie) != ECRED_OK) {
        OPENSSL_cleanse(&id, sizeof id);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the session could not be stored");
        goto out;
    }
    OPENSSL_cleanse(&id, sizeof id);
    char set[160];
    snprintf(set, sizeof set, "%s=%s; Path=/; Max-Age=%d; HttpOnly; SameSite=Strict%s", RES_COOKIE,
             cookie, RES_SESSION_MAX_S, d->cookie_secure ? "; Secure" : "");
    OPENSSL_cleanse(cookie, sizeof cookie);
    svc_add_header(r, "Set-Cookie", set);
    OPENSSL_cleanse(set, sizeof set);
    /* Not a redirect: a SameSite=Strict cookie is not sent along a redirect
     * chain that began on the provider's site, so the resident would land
     * signed out. A page of our own that moves on (meta refresh: no script,
     * the CSP allows it) makes the next request same-site. */
    static const char page[] =
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"refresh\" content=\"0;url=/app/resident.html\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        "<title>已登录 Signed in</title></head><body>"
        "<p><a href=\"/app/resident.html\">已登录，继续 Signed in: continue</a></p></body></html>";
    svc_add_header(r, "Content-Security-Policy", SVC_CSP);
    svc_reply_bytes(r, 200, "text/html; charset=utf-8", page, sizeof page - 1);
out:
    OPENSSL_cleanse(nonce, sizeof nonce);
    OPENSSL_cleanse(verifier, sizeof verifier);
}

void h_res_logout(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    if (!res_require(d, db, r, &s, true))
        return;
    OPENSSL_cleanse(&s, sizeof s);
    if (res_session_end(d->residents, db, svc_header(r, "Cookie")) != ECRED_OK) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the session could not be ended");
        return;
    }
    char set[128];
    snprintf(set, sizeof set, "%s=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict%s", RES_COOKIE,
             d->cookie_secure ? "; Secure" : "");
    svc_add_header(r, "Set-Cookie", set);
    svc_reply_json(r, 200, json_pack("{s:b}", "signed_out", 1));
}

/* The credential fields of the latest credential to prefill a form (no name
 * or ID number: those come from the session), or JSON null. */
static json_t *res_prefill(reg_db *db, const char *id_number, json_t **latest_id)
{
    reg_credential c;
    *latest_id = json_null();
    if (reg_credential_latest_for(db, id_number, &c) != ECRED_OK)
        return json_null();
    json_t *f = json_loads(c.credential_json, 0, NULL);
    json_decref(*latest_id);
    *latest_id = json_string(c.id);
    reg_credential_free(&c);
    if (!f)
        return json_null();
    json_object_del(f, "name");
    json_object_del(f, "id_number");
    return f;
}

void h_res_me(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    if (!res_require(d, db, r, &s, false))
        return;
    json_t *latest = NULL;
    json_t *prefill = res_prefill(db, s.id_number, &latest);
    svc_reply_json(r, 200, json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "name", s.name, "id_number",
                                     s.id_number, "csrf_token", s.csrf, "session_expires_at",
                                     view_time(s.expires_at), "latest_credential_id", latest,
                                     "prefill", prefill));
    OPENSSL_cleanse(&s, sizeof s);
}

/* Load application r->param if it is the resident's; else reply 404. */
static bool res_own_application(reg_db *db, svc_req *r, const res_session *s, reg_application *a)
{
    ecred_err e = lc_id_ok(r->param) ? reg_application_get(db, r->param, a) : ECRED_ERR_KEY_UNKNOWN;
    if (e && e != ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return false;
    }
    if (e || strcmp(a->id_number, s->id_number) != 0) {
        if (!e)
            reg_application_free(a);
        ireply_error(r, IE_NOT_FOUND, "no such application");
        return false;
    }
    return true;
}

/* Load credential id if it is the resident's; else reply 404. */
static bool res_own_credential(reg_db *db, svc_req *r, const char *id, const res_session *s,
                               reg_credential *c)
{
    ecred_err e = lc_id_ok(id) ? reg_credential_get(db, id, c) : ECRED_ERR_KEY_UNKNOWN;
    if (e && e != ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return false;
    }
    if (e || strcmp(c->id_number, s->id_number) != 0) {
        if (!e)
            reg_credential_free(c);
        ireply_error(r, IE_NOT_FOUND, "no such credential");
        return false;
    }
    return true;
}

void h_res_app_create(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    if (!res_require(d, db, r, &s, true))
        return;
    json_t *body = NULL, *cred = NULL;
    const char *idem = svc_header(r, "Idempotency-Key");
    if (idem && (strlen(idem) == 0 || strlen(idem) > 64 || strspn(idem, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") != strlen(idem))) {
        ireply_error(r, IE_BAD_IDEMPOTENCY_KEY, NULL);
        return;
    }
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    static const char *const allowed[] = {"kind", "replaces", "credential", "kinship", NULL};
    if (!view_only_fields(r, body, allowed, NULL))
        goto out;
    json_t *kind = json_object_get(body, "kind");
    if (!json_is_string(kind)) {
        ireply_error(r, kind ? IE_INVALID_FIELD : IE_MISSING_FIELD,
                     kind ? "kind: must be a string" : "kind: required");
        goto out;
    }
    json_t *in_cred = json_object_get(body, "credential");
    if (in_cred && !json_is_object(in_cred)) {
        ireply_error(r, IE_INVALID_FIELD, "credential: must be an object");
        goto out;
    }
    if (in_cred && (json_object_get(in_cred, "name") || json_object_get(in_cred, "id_number"))) {
        ireply_error(r, IE_IDENTITY_FROM_SIGNIN,
                     json_object_get(in_cred, "name") ? "credential.name: comes from your sign-in"
                                                      : "credential.id_number: comes from your sign-in");
        goto out;
    }
    cred = in_cred ? json_deep_copy(in_cred) : json_object();
    if (!cred || json_object_set_new(cred, "name", json_string(s.name)) ||
        json_object_set_new(cred, "id_number", json_string(s.id_number))) {
        ireply_error(r, IE_INTERNAL, NULL);
        goto out;
    }
    json_t *rep = json_object_get(body, "replaces");
    if (rep && !json_is_string(rep)) {
        ireply_error(r, IE_INVALID_FIELD, "replaces: must be a credential id (16 hex digits)");
        goto out;
    }
    if (rep) {
        /* Only a credential of one's own can be replaced. */
        reg_credential old;
        if (!res_own_credential(db, r, json_string_value(rep), &s, &old))
            goto out;
        reg_credential_free(&old);
    }
    json_t *kin = json_object_get(body, "kinship");
    if (kin && !json_is_object(kin)) {
        ireply_error(r, IE_INVALID_FIELD, "kinship: must be an object");
        goto out;
    }
    lc_application_in in;
    memset(&in, 0, sizeof in);
    in.kind = json_string_value(kind);
    in.replaces = rep ? json_string_value(rep) : NULL;
    in.credential = cred;
    in.kinship = kin;
    /* Idempotency keys are global: the request hash covers the identity
     * too, so one resident's key never replays another's application. */
    char *idem_scoped = NULL;
    if (idem) {
        size_t n = strlen(idem) + 10 + 1;
        idem_scoped = malloc(n);
        if (!idem_scoped) {
            ireply_error(r, IE_INTERNAL, NULL);
            goto out;
        }
        snprintf(idem_scoped, n, "r%.8s:%s", s.who + 9, idem);
    }
    in.idem_key = idem_scoped;
    {
        ecred_buf hb = ECRED_BUF_INIT;
        if (ecred_buf_append(&hb, s.id_number, strlen(s.id_number) + 1) ||
            ecred_buf_append(&hb, r->body.ptr, r->body.len)) {
            ecred_buf_free(&hb);
            free(idem_scoped);
            ireply_error(r, IE_INTERNAL, NULL);
            goto out;
        }
        ecred_sha256(hb.ptr, hb.len, in.request_hash);
        ecred_buf_wipe(&hb);
    }
    in.actor = r->who;
    char app_id[REG_ID_LEN + 1];
    bool replayed = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_application_create(d, db, &in, (int64_t)time(NULL), app_id, &replayed, &fail);
    free(idem_scoped);
    if (e) {
        view_reply_lc_fail(r, ECRED_ERR_INTERNAL, &fail, NULL);
        goto out;
    }
    reg_application a;
    if (reg_application_get(db, app_id, &a) != ECRED_OK) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        goto out;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    if (view)
        json_object_set_new(view, "replayed", json_boolean(replayed));
    svc_reply_json(r, replayed ? 200 : 201, view);
out:
    json_decref(cred);
    json_decref(body);
    OPENSSL_cleanse(&s, sizeof s);
}

void h_res_app_get(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_application a;
    if (!res_require(d, db, r, &s, false) || !res_own_application(db, r, &s, &a))
        return;
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    svc_reply_json(r, 200, view);
}

/* The commitment is signed by confirming its SHA-256 inside the identity
 * session (see spec/api.md "Residents" for why not a device key). */
void h_res_commitment_sign(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_application a;
    if (!res_require(d, db, r, &s, true) || !res_own_application(db, r, &s, &a))
        return;
    reg_application_free(&a);
    json_t *body = NULL;
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    static const char *const allowed[] = {"sha256", NULL};
    if (!view_only_fields(r, body, allowed, NULL)) {
        json_decref(body);
        return;
    }
    const char *h = json_string_value(json_object_get(body, "sha256"));
    if (!h) {
        ireply_error(r, json_object_get(body, "sha256") ? IE_INVALID_FIELD : IE_MISSING_FIELD,
                     "sha256: the commitment text's SHA-256 as 64 hex digits");
        json_decref(body);
        return;
    }
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_confirm_commitment(db, r->param, h, (int64_t)time(NULL), &fail);
    json_decref(body);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        return;
    }
    view_reply_application(d, db, r, r->param);
}

/* Binding the phone's key to one's own application (spec/api.md "Holder
 * key"): the same c_nonce and proof checks as the tracking-code routes
 * (pop.c through lifecycle.c), with the session and CSRF token instead of
 * the tracking code. */
void h_res_holder_nonce(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_application a;
    if (!res_require(d, db, r, &s, true) || !res_own_application(db, r, &s, &a))
        return;
    reg_application_free(&a);
    if (r->body.len != 0) {
        ireply_error(r, IE_UNEXPECTED_BODY, "holder-nonce takes no body");
        return;
    }
    char nonce[POP_NONCE_TEXT_MAX + 1];
    int64_t now = (int64_t)time(NULL), expires = 0;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_holder_nonce(d, db, r->param, now, nonce, &expires, &fail);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        return;
    }
    svc_reply_json(r, 200, json_pack("{s:s,s:I,s:o,s:s,s:s}", "c_nonce", nonce, "c_nonce_expires_in",
                                     (json_int_t)(expires - now), "expires_at", view_time(expires), "aud",
                                     d->iss, "proof_type", "jwt"));
}

void h_res_holder_key(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_application a;
    if (!res_require(d, db, r, &s, true) || !res_own_application(db, r, &s, &a))
        return;
    reg_application_free(&a);
    json_t *body;
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    json_t *jwt = view_proof_jwt(r, body);
    if (!jwt)
        goto out;
    uint8_t x[32];
    bool y_sign = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    ecred_err e = lc_holder_bind(d, db, r->param, json_string_value(jwt), json_string_length(jwt),
                                 (int64_t)time(NULL), x, &y_sign, &fail);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such application");
        goto out;
    }
    view_reply_application(d, db, r, r->param);
out:
    json_decref(body);
}

/* What the card page needs to sign an RP1 presentation in the browser: the
 * credential's COSE_Sign1 exactly as issued (base64url), the audience of a
 * timed presentation (its iss) and its cnf point (x hex and y's sign), or
 * null when the credential carries no holder key. */
static void res_add_holder(json_t *view, const reg_credential *c)
{
    ecred_buf cose = ECRED_BUF_INIT, b64 = ECRED_BUF_INIT;
    ecred_cose_sign1 msg;
    ecred_claims claims;
    memset(&msg, 0, sizeof msg);
    json_t *h = json_null();
    if (view && ecred_qrtext_decode(c->qr_text, strlen(c->qr_text), false, &cose, NULL) == ECRED_OK &&
        ecred_cose_sign1_decode(cose.ptr, cose.len, NULL, &msg) == ECRED_OK &&
        ecred_claims_decode(msg.payload.ptr, msg.payload.len, &claims) == ECRED_OK && claims.has_cnf &&
        ecred_b64url_encode(cose.ptr, cose.len, &b64) == ECRED_OK) {
        char x[65];
        for (int i = 0; i < 32; i++)
            snprintf(x + 2 * i, 3, "%02x", claims.cnf_x[i]);
        h = json_pack("{s:s%,s:s,s:s,s:b}", "cose", (const char *)b64.ptr, b64.len, "aud", claims.iss, "x", x,
                      "y_sign", claims.cnf_y_sign);
    }
    if (view)
        json_object_set_new(view, "holder", h ? h : json_null());
    else
        json_decref(h);
    ecred_cose_sign1_clear(&msg);
    ecred_buf_free(&cose);
    ecred_buf_free(&b64);
}

void h_res_cred_current(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    if (!res_require(d, db, r, &s, false))
        return;
    reg_credential c;
    ecred_err e = reg_credential_latest_for(db, s.id_number, &c);
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_NOT_FOUND, "no credential has been issued to you yet");
        return;
    }
    if (e) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    json_t *view = view_credential(d, db, &c, true);
    res_add_holder(view, &c);
    reg_credential_free(&c);
    svc_reply_json(r, 200, view);
}

void h_res_cred_get(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_credential c;
    if (!res_require(d, db, r, &s, false) || !res_own_credential(db, r, r->param, &s, &c))
        return;
    json_t *view = view_credential(d, db, &c, true);
    res_add_holder(view, &c);
    reg_credential_free(&c);
    svc_reply_json(r, 200, view);
}

void h_res_cred_qr_svg(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    reg_credential c;
    if (!res_require(d, db, r, &s, false) || !res_own_credential(db, r, r->param, &s, &c))
        return;
    ecred_qr qr;
    ecred_buf img = ECRED_BUF_INIT;
    ecred_err e = ecred_qr_encode(c.qr_text, strlen(c.qr_text), ECRED_QR_ECC_M, &qr);
    reg_credential_free(&c);
    if (!e) {
        e = ecred_qr_svg(&qr, 4, &img);
        ecred_qr_free(&qr);
    }
    if (e)
        ireply_error(r, IE_INTERNAL, ecred_err_name(e));
    else
        svc_reply_bytes(r, 200, "image/svg+xml", img.ptr, img.len);
    ecred_buf_free(&img);
}

/* Whether the last status change was a resident's own loss report: only
 * that may the resident undo (a suspension by an officer is the office's). */
static bool res_suspended_by_holder(reg_db *db, const char *cred_id)
{
    reg_status_event *ev = NULL;
    size_t n = 0;
    if (reg_status_events(db, cred_id, &ev, &n) != ECRED_OK)
        return false;
    bool ok = n > 0 && strcmp(ev[n - 1].action, "suspend") == 0 &&
              strncmp(ev[n - 1].actor, "resident:", 9) == 0;
    reg_status_events_free(ev, n);
    return ok;
}

/* 挂失 (lost = true) or 解挂 from the phone: the same lifecycle change as an
 * officer's suspend/resume, recorded with the resident as actor, so the
 * status list changes the same way. */
static void res_cred_status(issuerd *d, reg_db *db, svc_req *r, bool lost)
{
    res_session s;
    reg_credential c;
    if (!res_require(d, db, r, &s, true) || !res_own_credential(db, r, r->param, &s, &c))
        return;
    reg_credential_free(&c);
    if (r->body.len) {
        ireply_error(r, IE_UNEXPECTED_BODY, NULL);
        return;
    }
    if (!lost && !res_suspended_by_holder(db, r->param)) {
        ireply_error(r, IE_INVALID_TRANSITION,
                     "only your own loss report can be undone here; a suspension by the office is lifted by the office");
        return;
    }
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    int to = 0;
    ecred_err e = lc_status_action(db, r->param, lost ? "suspend" : "resume",
                                   lost ? "reported lost by the holder" : "found by the holder", r->who,
                                   (int64_t)time(NULL), &to, &c, &fail);
    if (e) {
        view_reply_lc_fail(r, e, &fail, "no such credential");
        return;
    }
    /* The row as the committed write left it (no second read to fail). */
    json_t *view = view_credential(d, db, &c, true);
    res_add_holder(view, &c);
    reg_credential_free(&c);
    svc_reply_json(r, 200, view);
}

void h_res_cred_lost(issuerd *d, reg_db *db, svc_req *r) { res_cred_status(d, db, r, true); }
void h_res_cred_found(issuerd *d, reg_db *db, svc_req *r) { res_cred_status(d, db, r, false); }

void h_res_reminders(issuerd *d, reg_db *db, svc_req *r)
{
    res_session s;
    if (!res_require(d, db, r, &s, false))
        return;
    int32_t today = ecred_cst_day_of((int64_t)time(NULL));
    /* The holder's own credentials only: an index lookup by ID number, in
     * pages (a person holds a handful; the cap only bounds a bad row). */
    json_t *arr = json_array();
    reg_reminder page[32], after;
    size_t got = sizeof page / sizeof page[0];
    ecred_err e = arr ? ECRED_OK : ECRED_ERR_NOMEM;
    for (int pages = 0; !e && got == sizeof page / sizeof page[0] && pages < 8; pages++) {
        got = 0;
        e = reg_reminders_page(db, today, today + RES_REMINDER_DAYS, s.id_number, pages ? &after : NULL, page,
                               sizeof page / sizeof page[0], &got);
        for (size_t i = 0; !e && i < got; i++) {
            char ds[11];
            ecred_date_format(page[i].day, ds);
            json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "credential_id", page[i].credential_id, "due",
                                                 page[i].due, "day", ds));
        }
        if (got)
            after = page[got - 1];
    }
    if (e) {
        json_decref(arr);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    svc_reply_json(r, 200, json_pack("{s:o}", "reminders", arr));
}
