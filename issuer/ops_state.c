/*
 * ops_state.c - the parts of the issuer daemon's state that change while it
 * serves: the trust list a SIGHUP reload replaces and the facts /healthz and
 * /metrics report about it.
 *
 * Must never: hand out a pointer into the trust list outside trust_mu.
 */
#include "issuerd.h"

void issuerd_set_trust_info(issuerd *d, int64_t exp, int64_t sign_until)
{
    pthread_mutex_lock(&d->trust_mu);
    d->trust_exp = exp;
    d->key_sign_until = sign_until;
    pthread_mutex_unlock(&d->trust_mu);
}

void issuerd_trust_info(issuerd *d, int64_t *exp, int64_t *sign_until)
{
    pthread_mutex_lock(&d->trust_mu);
    *exp = d->trust_exp;
    *sign_until = d->key_sign_until;
    pthread_mutex_unlock(&d->trust_mu);
}

void issuerd_trust_replace(issuerd *d, ecred_buf *b, int64_t exp, int64_t sign_until)
{
    pthread_mutex_lock(&d->trust_mu);
    ecred_buf old = d->trust_list;
    d->trust_list = *b;
    d->trust_exp = exp;
    d->key_sign_until = sign_until;
    pthread_mutex_unlock(&d->trust_mu);
    *b = (ecred_buf)ECRED_BUF_INIT;
    ecred_buf_free(&old);
}

void issuerd_set_server(issuerd *d, svc_server *srv)
{
    pthread_mutex_lock(&d->trust_mu);
    d->srv = srv;
    pthread_mutex_unlock(&d->trust_mu);
}

svc_server *issuerd_server(issuerd *d)
{
    pthread_mutex_lock(&d->trust_mu);
    svc_server *s = d->srv;
    pthread_mutex_unlock(&d->trust_mu);
    return s;
}
