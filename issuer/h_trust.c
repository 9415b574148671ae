/*
 * h_trust.c - GET /.well-known/ecred-trust (public): the signed trust list
 * naming this issuer's signing keys, served byte for byte as installed.
 *
 * Must never: alter the signed bytes.
 */
#include <stdio.h>
#include <string.h>

#include "ecred/trustlist.h"
#include "handlers.h"

void h_trust(issuerd *d, reg_db *db, svc_req *r)
{
    (void)db;
    uint8_t h[32];
    char hx[65];
    /* A SIGHUP reload may replace the list: hash and copy under the lock. */
    pthread_mutex_lock(&d->trust_mu);
    ecred_sha256(d->trust_list.ptr, d->trust_list.len, h);
    ecred_hex(h, 16, hx);
    hx[32] = 0;
    char etag[72];
    snprintf(etag, sizeof etag, "\"%s\"", hx);
    r->cache_control = "public, max-age=300";
    if (!svc_etag_match(r, etag))
        svc_reply_bytes(r, 200, ECRED_TRUSTLIST_TYP, d->trust_list.ptr, d->trust_list.len);
    pthread_mutex_unlock(&d->trust_mu);
}
