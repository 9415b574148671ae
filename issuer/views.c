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
    if (statuspub_uri(d->pub, c->list_id, uri, sizeof uri) != ECRED_OK)
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

bool view_only_fields(http_req *r, json_t *obj, const char *const *allowed, const char *prefix)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            if (strcmp(key, allowed[i]) == 0)
                ok = true;
        if (!ok) {
            char f[96];
            snprintf(f, sizeof f, "%s%.80s", prefix ? prefix : "", key);
            http_reply_error(r, 422, "unknown_field", "the body has a field this route does not take", f);
            return false;
        }
    }
    return true;
}

bool view_reason_body(http_req *r, bool required, json_t **body_out, const char **reason)
{
    *body_out = NULL;
    *reason = NULL;
    if (r->body.len == 0 && !r->body_too_large) {
        if (required) {
            http_reply_error(r, 422, "missing_field", "a reason is required", "reason");
            return false;
        }
        return true;
    }
    json_t *body;
    if (http_json_body(r, &body) != ECRED_OK)
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
            http_reply_error(r, 422, "missing_field", "a reason is required", "reason");
            return false;
        }
        *body_out = body;
        return true;
    }
    size_t n = json_is_string(v) ? json_string_length(v) : 0;
    if (n == 0 || n > REASON_MAX || strlen(json_string_value(v)) != n) {
        json_decref(body);
        http_reply_error(r, 422, "invalid_field", "reason must be text of 1..200 bytes", "reason");
        return false;
    }
    *reason = json_string_value(v);
    *body_out = body;
    return true;
}

bool view_load_credential(issuerd *d, reg_db *db, http_req *r, reg_credential *out)
{
    ecred_err e = lc_id_ok(r->param) ? reg_credential_get(db, r->param, out) : ECRED_ERR_KEY_UNKNOWN;
    if (e && e != ECRED_ERR_KEY_UNKNOWN) {
        http_reply_error(r, 503, "registry_unavailable", "the registry could not be read", NULL);
        return false;
    }
    if (r->role == 0) {
        /* An applicant: the same answer for an unknown id and a wrong code. */
        if (e || !auth_tracking_ok(d->tracking_secret, out->application_id,
                                   http_header(r, TRACKING_HEADER))) {
            if (!e)
                reg_credential_free(out);
            http_reply_error(r, 401, "invalid_tracking_code",
                             "a valid token or the application's tracking code is required", NULL);
            return false;
        }
        return true;
    }
    if (e) {
        http_reply_error(r, 404, "not_found", "no such credential", NULL);
        return false;
    }
    return true;
}

/* TEMPORARY, until the API error table replaces it: lc_code to today's
 * (status, code, hint, detail). A field failure's detail "field: why" splits
 * into the reply's detail (the field) and hint (why); other details are the
 * hint alone, except where the reply carries a fixed hint and the detail
 * (an error name, for the internal kinds). */
void view_reply_lc_fail(http_req *r, ecred_err e, const lc_fail *fail, const char *not_found_hint)
{
    if (fail->code == LC_OK) {
        http_reply_error(r, 404, "not_found", not_found_hint, NULL);
        return;
    }
    unsigned status = 500;
    const char *code = "internal", *fixed_hint = NULL;
    switch (fail->code) {
    case LC_NOT_FOUND: status = 404; code = "not_found"; break;
    case LC_INVALID_FIELD: status = 422; code = "invalid_field"; break;
    case LC_MISSING_FIELD: status = 422; code = "missing_field"; break;
    case LC_UNKNOWN_FIELD: status = 422; code = "unknown_field"; break;
    case LC_IDEMPOTENCY_KEY_REUSED: status = 409; code = "idempotency_key_reused"; break;
    case LC_REPLACED_CREDENTIAL_INVALID: status = 409; code = "replaced_credential_invalid"; break;
    case LC_APPLICATION_REJECTED: status = 409; code = "application_rejected"; break;
    case LC_COMMITMENT_UNCONFIRMED: status = 409; code = "commitment_unconfirmed"; break;
    case LC_NO_COMMITMENT: status = 409; code = "no_commitment"; break;
    case LC_INVALID_TRANSITION: status = 409; code = "invalid_transition"; break;
    case LC_CANNOT_ISSUE:
        status = e == ECRED_ERR_CREDENTIAL || e == ECRED_ERR_CLAIMS ? 422 : 500;
        code = "cannot_issue";
        fixed_hint = "the credential could not be signed";
        break;
    case LC_REGISTRY_UNAVAILABLE:
        status = 503;
        code = "registry_unavailable";
        fixed_hint = "the registry could not be written; retry";
        break;
    case LC_OK:
    case LC_INTERNAL:
    default: fixed_hint = "internal error"; break;
    }
    if (fixed_hint) {
        http_reply_error(r, status, code, fixed_hint, fail->detail[0] ? fail->detail : NULL);
        return;
    }
    const char *sep = strstr(fail->detail, ": ");
    if (!sep) {
        http_reply_error(r, status, code, fail->detail, NULL);
        return;
    }
    char field[sizeof fail->detail];
    snprintf(field, sizeof field, "%.*s", (int)(sep - fail->detail), fail->detail);
    http_reply_error(r, status, code, sep + 2, field);
}

void view_reply_application(issuerd *d, reg_db *db, http_req *r, const char *app_id)
{
    reg_application a;
    if (reg_application_get(db, app_id, &a) != ECRED_OK) {
        http_reply_error(r, 503, "registry_unavailable", "the registry could not be read", NULL);
        return;
    }
    json_t *view = view_application(d, db, &a, false);
    reg_application_free(&a);
    http_reply_json(r, 200, view);
}
