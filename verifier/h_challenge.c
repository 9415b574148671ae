/*
 * h_challenge.c - POST /v1/challenges (API key): make a challenge for the
 * caller's scanner (spec/verifier.md section 5.5): 16 random bytes the phone
 * scans as RN1: text, or a 6-digit code the holder types, naming this
 * daemon's verifier id, answerable for --challenge-ttl seconds (default
 * VCHAL_TTL_DEFAULT) and only through the same API key. The answer gives
 * the id to send back with the presentation in POST /v1/verify {"qr",
 * "challenge"} or POST /v1/scan-image?challenge=ID.
 *
 * Must never: hand a challenge to another key, keep one past its expiry.
 */
#include <string.h>
#include <time.h>

#include "ecred/cst.h"
#include "handlers.h"
#include "jsonw.h"
#include "vbody.h"

void h_challenge(vd *d, svc_req *r)
{
    const vkey *key = r->scope;
    if (r->body.len != 0) {
        vreply_error(r, VE_MALFORMED_JSON, "POST /v1/challenges takes no body");
        return;
    }
    int64_t now = (int64_t)time(NULL);
    vchal_entry c;
    ecred_err e = vchal_issue(d->challenges, key->id, d->verifier_id, d->challenge_ttl, now, &c);
    if (e == ECRED_ERR_REPLAY_CACHE_FULL) {
        vreply_error(r, VE_CHALLENGES_FULL, NULL);
        return;
    }
    ecred_buf qr = ECRED_BUF_INIT, body = ECRED_BUF_INIT;
    if (e || vchal_text(&c, &qr) != ECRED_OK) {
        ecred_wipe(&c, sizeof c);
        vreply_error(r, VE_INTERNAL, "no challenge could be made");
        return;
    }
    char id[2 * VCHAL_NONCE_LEN + 1], exp[21];
    ecred_hex(c.nonce, VCHAL_NONCE_LEN, id);
    ecred_time_format(c.expires, exp);
    vjson w;
    vjson_init(&w, &body);
    vjson_begin(&w);
    vjson_key(&w, "challenge");
    vjson_str(&w, id);
    vjson_key(&w, "qr");
    vjson_strn(&w, (const char *)qr.ptr, qr.len);
    vjson_key(&w, "code");
    vjson_str(&w, c.code);
    vjson_key(&w, "aud");
    vjson_str(&w, c.aud);
    vjson_key(&w, "expires_at");
    vjson_str(&w, exp);
    vjson_key(&w, "ttl_seconds");
    vjson_int(&w, d->challenge_ttl);
    vjson_end(&w);
    e = vjson_finish(&w);
    ecred_wipe(&c, sizeof c);
    ecred_buf_free(&qr);
    if (e) {
        ecred_buf_wipe(&body);
        vreply_error(r, VE_INTERNAL, "the answer could not be written");
        return;
    }
    svc_reply_buf(r, 201, "application/json", &body);
}
