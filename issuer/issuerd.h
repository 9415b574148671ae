/*
 * issuerd.h - the state the issuer daemon shares among its request threads.
 *
 * Everything here is set up by main.c before the HTTP server starts and is
 * read-only afterwards (the registry pool and the status publisher do their
 * own locking), so handlers need no locks of their own, with two exceptions:
 * the trust list and its facts, which a SIGHUP reload replaces (under
 * trust_mu, through issuerd_trust_* in ops_state.c), and the operations
 * counters (atomics).
 */
#ifndef ECRED_ISSUER_ISSUERD_H
#define ECRED_ISSUER_ISSUERD_H

#include <pthread.h>
#include <stdatomic.h>
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
    /* Replaced by a SIGHUP reload: read and written under trust_mu. */
    int64_t trust_exp;                   /* the served trust list's exp */
    int64_t key_sign_until;              /* our signing key's window end in it */
    /* Operations counters for /metrics (relaxed atomics). */
    _Atomic uint64_t n_approvals;        /* credentials issued (not replays) */
    _Atomic uint64_t n_status_changes;   /* suspend, resume, revoke committed */
    _Atomic uint64_t n_registry_errors;  /* replies that failed on the registry */
    svc_server *srv;                     /* for request counters; NULL in tests */
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

/* Trust list facts (ops_state.c), under trust_mu. */
void issuerd_set_trust_info(issuerd *d, int64_t exp, int64_t sign_until);
void issuerd_trust_info(issuerd *d, int64_t *exp, int64_t *sign_until);
/* The running HTTP server (for /metrics), NULL while restarting. */
void issuerd_set_server(issuerd *d, svc_server *srv);
svc_server *issuerd_server(issuerd *d);
/* Replace the served trust list bytes (taking over b) and its facts. */
void issuerd_trust_replace(issuerd *d, ecred_buf *b, int64_t exp, int64_t sign_until);

/* The route table and its hooks (routes.c), for svc_start. */
extern const svc_route issuer_routes[];
extern const size_t issuer_n_routes;
/* Borrow a registry connection and authenticate for the matched route;
 * false when it has replied (401/403/503). */
bool routes_guard(svc_req *r);
/* Give the borrowed connection back. */
void routes_release(svc_req *r);

#endif
