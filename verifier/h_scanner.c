/*
 * h_scanner.c - GET /v1/scanner (API key): what the calling key's scanner
 * needs to know before its first scan (spec/verifier.md section 5.1): the
 * key's public id, its role, its holder policy (a "challenge" key opens the
 * scanner page in challenge mode), the verifier id its challenges name and
 * how long one may be answered. It is also how the page checks a typed key
 * at sign-in: the guard answers 401 for a wrong one.
 *
 * Must never: change anything (no challenge is made, nothing is counted but
 * the request); answer with the key itself, its hash, its label or any
 * scanned data; take a query (a typo there would pass unseen).
 */
#include "ecred/present.h"
#include "handlers.h"
#include "jsonw.h"
#include "roles.h"

void h_scanner(vd *d, svc_req *r)
{
    const vkey *key = r->scope;
    if (svc_query_count(r) != 0) {
        vreply_error(r, VE_BAD_QUERY, "GET /v1/scanner takes no query");
        return;
    }
    ecred_buf body = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &body);
    vjson_begin(&w);
    vjson_key(&w, "key_id");
    vjson_str(&w, key->id);
    vjson_key(&w, "role");
    vjson_str(&w, vrole_name(key->role));
    vjson_key(&w, "holder_policy");
    vjson_str(&w, ecred_holder_policy_name(key->policy));
    vjson_key(&w, "aud");
    vjson_str(&w, d->verifier_id);
    vjson_key(&w, "challenge_ttl_seconds");
    vjson_int(&w, d->challenge_ttl);
    vjson_end(&w);
    if (vjson_finish(&w) != ECRED_OK) {
        ecred_buf_free(&body);
        vreply_error(r, VE_INTERNAL, "the answer could not be written");
        return;
    }
    svc_reply_buf(r, 200, "application/json", &body);
}
