/*
 * h_verify.c - POST /v1/verify (API key): decide on one QR text (RC1: static
 * or RP1: holder presentation) with the current snapshot, exactly as the CLI
 * decides (ecred_present_decide), under the holder policy of the caller's
 * key, and answer with the outcome, the status block, the holder block and
 * the key's role view of the credential (spec/verifier.md sections 5.1, 5.5).
 * The outcome JSON is an answer, not an error: 200, 422 or 503 (replay cache
 * full) by the outcome (ecred_err_http_status).
 *
 * The daemon's one replay cache is shared by every key, so a code shown at
 * one scanner is refused at the next; a request naming a challenge
 * ({"qr", "challenge"}) must answer exactly that challenge of its own key.
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
#include "ecred/present.h"
#include "handlers.h"
#include "jsonw.h"
#include "roles.h"
#include "status.h"
#include "vbody.h"

/* Write the answer for verdict v into body. */
static ecred_err verify_answer(const vd *d, const vkey *key, const ecred_present_verdict *pv,
                               const vstatus *vs, int64_t now, ecred_buf *body)
{
    const ecred_verdict *v = &pv->cred;
    ecred_err outcome = pv->outcome;
    char at[21];
    ecred_time_format(now, at);
    /* Written straight into one buffer (jsonw.h): a jansson tree here was
     * some sixty small allocations per request (~13% of the daemon's CPU). */
    vjson w;
    vjson_init(&w, body);
    vjson_begin(&w);
    vjson_key(&w, "outcome");
    vjson_str(&w, vanswer_outcome(outcome));
    vjson_key(&w, "valid");
    vjson_bool(&w, outcome == ECRED_OK);
    vjson_key(&w, "reason");
    vjson_str(&w, ecred_err_reason(outcome));
    vjson_key(&w, "detail");
    vjson_str(&w, ecred_err_name(outcome));
    vjson_key(&w, "message");
    vjson_str(&w, outcome ? ecred_err_message(outcome) : "signature, validity, format and status check out");
    vjson_key(&w, "checked_at");
    vjson_str(&w, at);
    vjson_key(&w, "status");
    vanswer_status_write(&w, v, vs, now, d->max_age);
    vjson_key(&w, "holder");
    vanswer_holder_write(&w, pv);
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
    char chal_id[VBODY_CHALLENGE_MAX + 1];
    ecred_err be = vbody_parse_verify(r->body.ptr, r->body.len, svc_header(r, "Content-Type"), &text, chal_id, &why);
    if (be) {
        if (be == ECRED_ERR_TOO_LARGE || be == ECRED_ERR_INPUT)
            vreply_error(r, verr_by_code(why.code), why.detail[0] ? why.detail : NULL);
        else
            vreply_error(r, VE_INTERNAL, "out of memory");
        return;
    }
    /* A named challenge: 32 hex digits, the id POST /v1/challenges gave. */
    uint8_t chal_nonce[VCHAL_NONCE_LEN];
    if (chal_id[0] && !vchal_id_parse(chal_id, strlen(chal_id), chal_nonce)) {
        ecred_buf_wipe(&text);
        vreply_error(r, VE_BAD_CHALLENGE, NULL);
        return;
    }
    vd_verify_text_challenge(d, r, &text, chal_id[0] ? chal_nonce : NULL);
}

void vd_verify_text(vd *d, svc_req *r, ecred_buf *textp)
{
    vd_verify_text_challenge(d, r, textp, NULL);
}

void vd_verify_text_challenge(vd *d, svc_req *r, ecred_buf *textp, const uint8_t *challenge)
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
    /* The policy is the key's, fixed before anything shown is read; naming
     * a challenge raises it to "challenge" for this request. */
    ecred_present_params pp = ecred_present_params_default(now);
    pp.policy = challenge ? ECRED_HOLDER_POLICY_CHALLENGE : key->policy;
    pp.skew = d->skew;
    pp.replay = d->replay;
    pp.holder_keys = d->holder_keys;
    vchal_scope scope = {d->challenges, key->id, challenge};
    pp.challenge = vchal_consume_scoped;
    pp.challenge_ctx = &scope;
    ecred_present_verdict v;
    ecred_present_decide(text.ptr ? (const char *)text.ptr : "", text.len, &ks, &src, &pp, &v);
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
