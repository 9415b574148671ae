/*
 * issuerd.h - the state the issuer daemon shares among its request threads.
 *
 * Everything here is set up by main.c before the HTTP server starts and is
 * read-only afterwards (the registry pool and the status publisher do their
 * own locking), so handlers need no locks of their own.
 */
#ifndef ECRED_ISSUER_ISSUERD_H
#define ECRED_ISSUER_ISSUERD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "keyring.h"
#include "ecred/buf.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "svc_assets.h"
#include "svc_http.h"
#include "registry.h"
#include "statuspub.h"

struct oidc_provider;
struct res_store;
struct notify;

typedef struct issuerd {
    reg_pool *pool;
    ecred_key *sign_key;                 /* the key at start (keys in use: keys) */
    keyring *keys;                       /* current and next signing key */
    struct audit_pub *audit;             /* the published audit checkpoint */
    statuspub *pub;
    uint8_t tracking_secret[AUTH_SECRET_BYTES];
    char iss[ECRED_ISS_MAX + 1];
    ecred_buf trust_list;                /* signed trust list bytes, served as is */
    pthread_mutex_t trust_mu;            /* guards trust_list once serving (SIGHUP re-signs it) */
    svc_assets *assets;                  /* the pages under /app/ */
    int64_t started_at;
    int64_t key_created;                 /* start of the first key's trust-list window (+1 h) */
    /* Resident sign-in (NULL when --oidc-issuer is not given: the resident
     * routes answer resident_signin_disabled). */
    struct oidc_provider *oidc;
    struct res_store *residents;
    bool cookie_secure;                  /* served over TLS: cookies get Secure */
    struct notify *notify;               /* reminder outbox (NULL without --notify-webhook) */
    /* Tests only (NULL in the daemon): runs just before each credential is
     * signed, to make the signer slow as an HSM can be. */
    void (*test_before_sign)(void);
} issuerd;

/* The route table and its hooks (routes.c), for svc_start. */
extern const svc_route issuer_routes[];
extern const size_t issuer_n_routes;
/* Borrow a registry connection and authenticate for the matched route;
 * false when it has replied (401/403/503). */
bool routes_guard(svc_req *r);
/* Give the borrowed connection back. */
void routes_release(svc_req *r);

#endif
