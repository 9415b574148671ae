/*
 * fuzz_issuer_body.c - the issuer daemon's request-body parsing without a
 * server: svc_json_body (size, depth and duplicate-key caps, object only),
 * view_reason_body as the status routes call it (reason optional and
 * required) and view_only_fields on whatever parsed. Each call gets a fresh
 * request whose reply is built in memory and released here.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "handlers.h"
#include "svc_http.h"

/* A request carrying data as its body; false if the copy failed. */
static bool request_with_body(svc_req *r, const uint8_t *data, size_t size)
{
    memset(r, 0, sizeof *r);
    r->method = "POST";
    r->url = "/fuzz";
    if (size > SVC_BODY_DEFAULT) {
        r->body_too_large = true;
        return true;
    }
    return ecred_buf_set(&r->body, data, size) == ECRED_OK;
}

static void request_done(svc_req *r)
{
    ecred_buf_free(&r->body);
    ecred_buf_free(&r->reply);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const app_fields[] = {"kind", "replaces", "credential", "kinship", NULL};
    svc_req r;

    (void)svc_json_depth_ok(data, size, SVC_JSON_DEPTH_MAX);

    if (request_with_body(&r, data, size)) {
        json_t *obj = NULL;
        if (svc_json_body(&r, &obj) == ECRED_OK) {
            FUZZ_ASSERT(json_is_object(obj) && !r.replied);
            (void)view_only_fields(&r, obj, app_fields, "credential.");
            json_decref(obj);
        } else {
            FUZZ_ASSERT(r.replied && r.status >= 400);
        }
    }
    request_done(&r);

    for (int required = 0; required < 2; required++) {
        if (!request_with_body(&r, data, size)) {
            request_done(&r);
            continue;
        }
        json_t *body = NULL;
        const char *reason = NULL;
        if (view_reason_body(&r, required != 0, &body, &reason)) {
            FUZZ_ASSERT(!r.replied);
            FUZZ_ASSERT(!required || reason != NULL);
            if (reason != NULL)
                FUZZ_ASSERT(strlen(reason) > 0);
        } else {
            FUZZ_ASSERT(r.replied && r.status >= 400);
        }
        json_decref(body);
        request_done(&r);
    }
    return 0;
}
