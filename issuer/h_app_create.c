/*
 * h_app_create.c - POST /v1/applications (clerk): validate an application,
 * fill what the registry already knows, store it; Idempotency-Key retries
 * return the application the first request made.
 *
 * Must never: create a second application for a repeated Idempotency-Key.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "handlers.h"
#include "lifecycle.h"

#define IDEM_KEY_MAX 64

/* Idempotency keys are 1..64 of [A-Za-z0-9._:-]. */
static bool idem_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > IDEM_KEY_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = k[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

void h_app_create(issuerd *d, reg_db *db, svc_req *r)
{
    json_t *body = NULL;
    const char *idem = svc_header(r, "Idempotency-Key");
    if (idem && !idem_key_ok(idem)) {
        ireply_error(r, IE_BAD_IDEMPOTENCY_KEY, "Idempotency-Key must be 1..64 characters of A-Z a-z 0-9 . _ : -");
        return;
    }
    if (svc_json_body(r, &body) != ECRED_OK)
        return;
    static const char *const allowed[] = {"kind", "replaces", "credential", "kinship", NULL};
    if (!view_only_fields(r, body, allowed, NULL))
        goto out;
    lc_application_in in;
    memset(&in, 0, sizeof in);
    json_t *kind = json_object_get(body, "kind");
    if (!json_is_string(kind)) {
        ireply_error(r, kind ? IE_INVALID_FIELD : IE_MISSING_FIELD, kind ? "kind: must be a string" : "kind: required");
        goto out;
    }
    in.kind = json_string_value(kind);
    json_t *cred = json_object_get(body, "credential");
    if (!json_is_object(cred)) {
        ireply_error(r, cred ? IE_INVALID_FIELD : IE_MISSING_FIELD, cred ? "credential: must be an object" : "credential: required");
        goto out;
    }
    in.credential = cred;
    json_t *rep = json_object_get(body, "replaces");
    if (rep && !json_is_string(rep)) {
        ireply_error(r, IE_INVALID_FIELD, "replaces: must be a credential id (16 hex digits)");
        goto out;
    }
    in.replaces = rep ? json_string_value(rep) : NULL;
    json_t *kin = json_object_get(body, "kinship");
    if (kin && !json_is_object(kin)) {
        ireply_error(r, IE_INVALID_FIELD, "kinship: must be an object");
        goto out;
    }
    in.kinship = kin;
    in.idem_key = idem;
    ecred_sha256(r->body.ptr, r->body.len, in.request_hash);
    in.actor = r->who;

    char app_id[REG_ID_LEN + 1];
    bool replayed = false;
    lc_fail fail;
    memset(&fail, 0, sizeof fail);
    if (lc_application_create(d, db, &in, (int64_t)time(NULL), app_id, &replayed, &fail) != ECRED_OK) {
        view_reply_lc_fail(r, ECRED_ERR_INTERNAL, &fail, NULL);
        goto out;
    }
    reg_application a;
    if (reg_application_get(db, app_id, &a) != ECRED_OK) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, "the registry could not be read");
        goto out;
    }
    json_t *view = view_application(d, db, &a, true);
    reg_application_free(&a);
    if (view)
        json_object_set_new(view, "replayed", json_boolean(replayed));
    if (!replayed) {
        char loc[64];
        snprintf(loc, sizeof loc, "/v1/applications/%s", app_id);
        svc_add_header(r, "Location", loc);
    }
    svc_reply_json(r, replayed ? 200 : 201, view);
out:
    json_decref(body);
}
