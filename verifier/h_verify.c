/*
 * h_verify.c - POST /v1/verify (API key): decide on one QR text with the
 * current snapshot, exactly as the CLI decides (ecred_decide), and answer with
 * the outcome, the status block and the key's role view of the credential
 * (spec/verifier.md section 5.1). The outcome JSON is an answer, not an
 * error: 200 or 422 by the outcome (ecred_err_http_status).
 *
 * Must never: keep, copy or log the QR text or any field (the text and the
 * verdict are wiped before returning; the access log gets the reason only);
 * show a field the key's role does not allow.
 */
#include <string.h>
#include <time.h>

#include "answer.h"
#include "ecred/credential.h"
#include "ecred/decide.h"
#include "handlers.h"
#include "jsonw.h"
#include "roles.h"
#include "status.h"
#include "vbody.h"

/* Write the answer for verdict v into body. */
static ecred_err verify_answer(const vd *d, const vkey *key, const ecred_verdict *v, const vstatus *vs,
                               int64_t now, ecred_buf *body)
{
    char at[21];
    ecred_time_format(now, at);
    /* Written straight into one buffer (jsonw.h): a jansson tree here was
     * some sixty small allocations per request (~13% of the daemon's CPU). */
    vjson w;
    vjson_init(&w, body);
    vjson_begin(&w);
    vjson_key(&w, "outcome");
    vjson_str(&w, vanswer_outcome(v->outcome));
    vjson_key(&w, "valid");
    vjson_bool(&w, v->outcome == ECRED_OK);
    vjson_key(&w, "reason");
    vjson_str(&w, ecred_err_reason(v->outcome));
    vjson_key(&w, "detail");
    vjson_str(&w, ecred_err_name(v->outcome));
    vjson_key(&w, "message");
    vjson_str(&w, v->outcome ? ecred_err_message(v->outcome) : "signature, validity, format and status check out");
    vjson_key(&w, "checked_at");
    vjson_str(&w, at);
    vjson_key(&w, "status");
    vanswer_status_write(&w, v, vs, now, d->max_age);
    vjson_key(&w, "role");
    vjson_str(&w, vrole_name(key->role));
    if (v->claims_ok) {
        vjson_key(&w, "credential");
        vroles_view_write(&w, v, key->role, key->fields);
    }
    vjson_end(&w);
    return vjson_finish(&w);
}

void h_verify(vd *d, svc_req *r)
{
    ecred_buf text = ECRED_BUF_INIT;
    vbody_refusal why;
    ecred_err be = vbody_parse(r->body.ptr, r->body.len, svc_header(r, "Content-Type"), &text, &why);
    if (be) {
        if (be == ECRED_ERR_TOO_LARGE || be == ECRED_ERR_INPUT)
            vreply_error(r, verr_by_code(why.code), why.detail[0] ? why.detail : NULL);
        else
            vreply_error(r, VE_INTERNAL, "out of memory");
        return;
    }
    vd_verify_text(d, r, &text);
}

void vd_verify_text(vd *d, svc_req *r, ecred_buf *textp)
{
    const vkey *key = r->scope;
    ecred_buf text = *textp;
    *textp = (ecred_buf)ECRED_BUF_INIT;
    vd_snap *s = vd_snap_get(d);
    int64_t now = (int64_t)time(NULL);
    if (!s) {
        ecred_buf_wipe(&text);
        vreply_error(r, VE_CACHE_UNAVAILABLE, NULL);
        return;
    }
    /* The snapshot was checked when loaded; while syncs fail it is kept, and
     * past its trust list's exp it may vouch for no key (as the CLI). */
    if (vcache_check_trust(&s->c, now) != ECRED_OK) {
        vd_snap_put(d, s);
        ecred_buf_wipe(&text);
        vreply_error(r, VE_CACHE_UNAVAILABLE, "list_expired");
        return;
    }
    vstatus vs = {.cache = &s->c, .now = now};
    ecred_status_source src = {vstatus_lookup, &vs, d->max_age};
    ecred_keyset ks = vcache_keyset(&s->c);
    ecred_verdict v;
    ecred_decide((const char *)text.ptr, text.len, &ks, &src, now, &v);
    ecred_buf_wipe(&text);
    ecred_buf body = ECRED_BUF_INIT;
    ecred_err we = verify_answer(d, key, &v, &vs, now, &body);
    vd_snap_put(d, s);
    ecred_err outcome = v.outcome;
    ecred_wipe(&v, sizeof v); /* personal fields leave memory with the answer */
    vd_count_outcome(d, outcome);
    if (we != ECRED_OK) {
        ecred_buf_wipe(&body);
        vreply_error(r, VE_INTERNAL, "the answer could not be written");
        return;
    }
    r->outcome = ecred_err_reason(outcome);
    /* The layer takes the buffer and wipes it after sending. */
    svc_reply_buf(r, (unsigned)ecred_err_http_status(outcome), "application/json", &body);
}
