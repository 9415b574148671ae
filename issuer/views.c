/*
 * views.c - the JSON shapes of applications and credentials, and the small
 * request checks several handlers share (unknown fields, reasons, access to
 * a credential by token or tracking code).
 *
 * Must never: put a tracking code into a reply except to the clerk or
 * applicant who created the application; reveal whether an id exists to a
 * caller without access.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

json_t *view_time(int64_t t)
{
    if (t <= 0)
        return json_null();
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    gmtime_r(&tt, &tm);
    strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_string(s);
}

/* Append one {"state", "at"} step to the progress array. */
static void view_step(json_t *progress, const char *state, int64_t at)
{
    json_array_append_new(progress, json_pack("{s:s, s:o}", "state", state, "at", view_time(at)));
}

json_t *view_application(issuerd *d, reg_db *db, const reg_application *a, bool with_tracking)
{
    json_t *cred = json_loads(a->credential_json, 0, NULL);
    json_t *progress = json_array();
    json_t *o = json_object();
    if (!cred || !progress || !o) {
        json_decref(cred);
        json_decref(progress);
        json_decref(o);
        return NULL;
    }
    view_step(progress, "submitted", a->submitted_at);
    if (strcmp(a->state, "issued") == 0) {
        view_step(progress, "approved", a->decided_at);
        view_step(progress, "issued", a->issued_at);
    } else if (strcmp(a->state, "rejected") == 0) {
        view_step(progress, "rejected", a->decided_at);
    }
    json_object_set_new(o, "id", json_string(a->id));
    json_object_set_new(o, "kind", json_string(a->kind));
    json_object_set_new(o, "state", json_string(a->state));
    json_object_set_new(o, "progress", progress);
    json_object_set_new(o, "replaces", a->replaces[0] ? json_string(a->replaces) : json_null());
    json_object_set_new(o, "credential_id",
                        a->credential_id[0] ? json_string(a->credential_id) : json_null());
    json_object_set_new(o, "reject_reason",
                        a->reject_reason ? json_string(a->reject_reason) : json_null());
    json_object_set_new(o, "credential", cred);
    if (a->commitment_ref[0]) {
        reg_commitment c;
        if (reg_commitment_get(db, a->commitment_ref, &c) == ECRED_OK) {
            json_object_set_new(o, "commitment",
                                json_pack("{s:s, s:s, s:s, s:b, s:o}", "reference", c.ref, "text",
                                          c.text, "sha256", c.sha256_hex, "confirmed",
                                          c.confirmed_at != 0, "confirmed_at",
                                          view_time(c.confirmed_at)));
            reg_commitment_free(&c);
        }
    }
    /* The bound holder key (its point, public), so the applicant can check
     * it is their phone's before approval. */
    reg_holder h;
    if (reg_holder_get(db, a->id, &h) == ECRED_OK && h.bound) {
        char x[65];
        ecred_hex(h.x, sizeof h.x, x);
        json_object_set_new(o, "holder_key", json_pack("{s:s,s:s,s:b,s:o}", "crv", "P-256", "x", x, "y_sign",
                                                       h.y_sign, "bound_at", view_time(h.bound_at)));
    }
    if (with_tracking) {
        char code[AUTH_TRACKING_HEX + 1];
        auth_tracking_code(d->tracking_secret, a->id, code);
        json_object_set_new(o, "tracking_code", json_string(code));
    }
    return o;
}

json_t *view_credential(issuerd *d, reg_db *db, const reg_credential *c, bool with_events)
{
    char uri[ECRED_URI_MAX + 1];
    /* The URI the list was opened with (what the credential carries). */
    reg_list_info info;
    if (reg_list_info_get(db, c->list_id, &info) == ECRED_OK && info.uri[0] && strlen(info.uri) < sizeof uri)
        memcpy(uri, info.uri, strlen(info.uri) + 1);
    else if (statuspub_uri(d->pub, c->list_id, uri, sizeof uri) != ECRED_OK)
        return NULL;
    json_t *fields = json_loads(c->credential_json, 0, NULL);
    if (!fields)
        return NULL;
    char vu[11];
    ecred_date_format(c->valid_until, vu);
    json_t *o = json_pack("{s:s, s:s, s:s, s:{s:s, s:I, s:I}, s:s, s:o, s:s, s:o, s:o}",
                          "id", c->id, "application_id", c->application_id, "status",
                          lc_status_name(c->status), "status_list", "uri", uri, "list",
                          (json_int_t)c->list_id, "idx", (json_int_t)c->idx, "qr_text",
                          c->qr_text, "issued_at", view_time(c->issued_at), "valid_until", vu,
                          "replaced_by", c->replaced_by[0] ? json_string(c->replaced_by) : json_null(),
                          "credential", fields);
    if (!o)
        return NULL;
    if (with_events) {
        reg_status_event *ev = NULL;
        size_t n = 0;
        json_t *arr = json_array();
        if (arr && reg_status_events(db, c->id, &ev, &n) == ECRED_OK) {
            for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    arr, json_pack("{s:s, s:s, s:s, s:o, s:s, s:o}", "action", ev[i].action, "from",
                                   lc_status_name(ev[i].old_status), "to",
                                   lc_status_name(ev[i].new_status), "reason",
                                   ev[i].reason ? json_string(ev[i].reason) : json_null(), "by",
                                   ev[i].actor, "at", view_time(ev[i].at)));
            reg_status_events_free(ev, n);
        }
        json_object_set_new(o, "events", arr ? arr : json_null());
    }
    return o;
}

bool view_only_fields(svc_req *r, json_t *obj, const char *const *allowed, const char *prefix)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            char f[128];
            snprintf(f, sizeof f, "%s%.60s: not a member this route takes", prefix ? prefix : "", key);
            ireply_error(r, IE_UNKNOWN_FIELD, f);
            return false;
        }
    }
    return true;
}

bool view_reason_body(svc_req *r, bool required, json_t **body_out, const char **reason)
{
    *body_out = NULL;
    *reason = NULL;
    if (r->body.len == 0 && !r->body_too_large) {
        if (required) {
            ireply_error(r, IE_MISSING_FIELD, "reason: required");
            return false;
        }
        return true;
    }
    json_t *body;
    if (svc_json_body(r, &body) != ECRED_OK)
        return false;
    static const char *const allowed[] = {"reason", NULL};
    if (!view_only_fields(r, body, allowed, NULL)) {
        json_decref(body);
        return false;
    }
    json_t *v = json_object_get(body, "reason");
    if (!v) {
        if (required) {
            json_decref(body);
            ireply_error(r, IE_MISSING_FIELD, "reason: required");
            return false;
        }
        *body_out = body;
        return true;
    }
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n == 0 || n > REASON_MAX || strlen(json_string_value(v)) != n) {
        json_decref(body);
        ireply_error(r, IE_INVALID_FIELD, "reason: must be text of 1..200 bytes");
        return false;
    }
    *reason = json_string_value(v);
    *body_out = body;
    return true;
}

json_t *view_proof_jwt(svc_req *r, json_t *body)
{
    static const char *const allowed[] = {"proof", NULL};
    static const char *const proof_allowed[] = {"proof_type", "jwt", NULL};
    json_t *proof = json_object_get(body, "proof");
    json_t *jwt = json_object_get(proof, "jwt");
    json_t *type = json_object_get(proof, "proof_type");
    if (!view_only_fields(r, body, allowed, NULL))
        return NULL;
    if (!json_is_object(proof)) {
        ireply_error(r, proof ? IE_INVALID_FIELD : IE_MISSING_FIELD,
                     "proof: required, {\"proof_type\": \"jwt\", \"jwt\": \"...\"}");
        return NULL;
    }
    if (!view_only_fields(r, proof, proof_allowed, "proof."))
        return NULL;
    if (!json_is_string(type) || strcmp(json_string_value(type), "jwt") != 0) {
        ireply_error(r, type ? IE_INVALID_FIELD : IE_MISSING_FIELD, "proof.proof_type: must be \"jwt\"");
        return NULL;
    }
    if (!json_is_string(jwt)) {
        ireply_error(r, jwt ? IE_INVALID_FIELD : IE_MISSING_FIELD, "proof.jwt: required, the proof JWT");
        return NULL;
    }
    return jwt;
}

bool view_load_credential(issuerd *d, reg_db *db, svc_req *r, reg_credential *out)
{
    if (r->role == 0) {
        /* An applicant: the code is checked before any of the row is read,
         * with the same work for an unknown id (an HMAC over a fixed id,
         * compared in constant time), so neither the answer nor its timing
         * tells whether a credential id exists. */
        char app_id[REG_ID_LEN + 1];
        ecred_err e = lc_id_ok(r->param) ? reg_credential_application(db, r->param, app_id)
                                         : ECRED_ERR_KEY_UNKNOWN;
        if (e && e != ECRED_ERR_KEY_UNKNOWN) {
            ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
            return false;
        }
        bool code_ok = auth_tracking_ok(d->tracking_secret, e ? "0000000000000000" : app_id,
                                        svc_header(r, TRACKING_HEADER));
        if (e || !code_ok) {
            ireply_error(r, IE_INVALID_TRACKING_CODE, NULL);
            return false;
        }
    }
    ecred_err e = lc_id_ok(r->param) ? reg_credential_get(db, r->param, out) : ECRED_ERR_KEY_UNKNOWN;
    if (e == ECRED_ERR_KEY_UNKNOWN) {
        ireply_error(r, IE_NOT_FOUND, "no such credential");
        return false;
    }
    if (e) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return false;
    }
    return true;
}

/* A lifecycle failure as an API error: the domain code picks the row; the
 * detail ("field: why", or what went wrong) is passed on as it is. */
void view_reply_lc_fail(svc_req *r, ecred_err e, const lc_fail *fail, const char *not_found_hint)
{
    static const ierr_id rows[] = {
        [LC_OK] = IE_NOT_FOUND,
        [LC_NOT_FOUND] = IE_NOT_FOUND,
        [LC_INVALID_FIELD] = IE_INVALID_FIELD,
        [LC_MISSING_FIELD] = IE_MISSING_FIELD,
        [LC_UNKNOWN_FIELD] = IE_UNKNOWN_FIELD,
        [LC_IDEMPOTENCY_KEY_REUSED] = IE_IDEMPOTENCY_KEY_REUSED,
        [LC_REPLACED_CREDENTIAL_INVALID] = IE_REPLACED_CREDENTIAL_INVALID,
        [LC_APPLICATION_REJECTED] = IE_APPLICATION_REJECTED,
        [LC_COMMITMENT_UNCONFIRMED] = IE_COMMITMENT_UNCONFIRMED,
        [LC_NO_COMMITMENT] = IE_NO_COMMITMENT,
        [LC_INVALID_TRANSITION] = IE_INVALID_TRANSITION,
        [LC_CANNOT_ISSUE] = IE_CANNOT_ISSUE,
        [LC_REGISTRY_UNAVAILABLE] = IE_REGISTRY_UNAVAILABLE,
        [LC_INTERNAL] = IE_INTERNAL,
        [LC_HOLDER_PROOF_INVALID] = IE_INVALID_PROOF,
        [LC_HOLDER_NONCE_INVALID] = IE_INVALID_NONCE,
        [LC_HOLDER_KEY_MISSING] = IE_HOLDER_KEY_MISSING,
    };
    if (fail->code == LC_OK) {
        /* An id the handler never passed on (malformed): the same 404. */
        ireply_error(r, IE_NOT_FOUND, not_found_hint);
        return;
    }
    ierr_id id = (size_t)fail->code < sizeof rows / sizeof rows[0] ? rows[fail->code] : IE_INTERNAL;
    /* A credential the signer refused for its own reasons (not its fields)
     * is our failure, not the caller's. */
    if (fail->code == LC_CANNOT_ISSUE && e != ECRED_ERR_CREDENTIAL && e != ECRED_ERR_CLAIMS)
        id = IE_INTERNAL;
    ireply_error(r, id, fail->detail[0] ? fail->detail : NULL);
}

void view_reply_application(issuerd *d, reg_db *db, svc_req *r, const char *app_id)
{
    reg_application a;
    if (reg_application_get(db, app_id, &a) != ECRED_OK) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        return;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    svc_reply_json(r, 200, view);
}
