/*
 * vd_routes.c - the verifier daemon's route table and the guard the shared
 * HTTP layer runs before each handler: routes that need an API key get one
 * checked here (401 missing_key without "Authorization: Bearer", 401
 * invalid_key for a key we do not hold), and the handler gets a copy of the
 * key in r->scope, freed by the release hook.
 *
 * Metric labels stay "verify", "healthz", "metrics" (and "page"), the names
 * /metrics has always used, so dashboards and alerts keep working.
 *
 * Must never: run POST /v1/verify without a key we hold; log a key (only its
 * id goes to r->who).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "vbody.h"

#define NEEDS_KEY 1u /* in svc_route.auth */

#define ROUTE(fn)                                                                                  \
    static void fn##_route(svc_req *r)                                                             \
    {                                                                                              \
        fn(r->app, r);                                                                             \
    }
ROUTE(h_verify)
ROUTE(h_challenge)
ROUTE(h_healthz)
ROUTE(h_metrics)
ROUTE(h_page)

/* The verify body cap is VBODY_MAX (8 KiB), judged by the layer on the
 * announced length and again on every chunk, before the handler runs; the
 * other routes take no body, so they get the same small cap. */
const svc_route vd_routes[] = {
    {"POST", "/v1/verify", h_verify_route, SVC_SENSITIVE, NEEDS_KEY, VBODY_MAX, "verify"},
    {"POST", "/v1/challenges", h_challenge_route, SVC_SENSITIVE, NEEDS_KEY, VBODY_MAX, "challenge"},
    {"GET", "/healthz", h_healthz_route, 0, 0, VBODY_MAX, "healthz"},
    {"GET", "/metrics", h_metrics_route, 0, 0, VBODY_MAX, "metrics"},
    {"GET", "/", h_page_route, 0, 0, VBODY_MAX, "page"},
    {"GET", "/web/{*}", h_page_route, 0, 0, VBODY_MAX, "page"},
};
const size_t vd_n_routes = sizeof vd_routes / sizeof vd_routes[0];

bool vd_guard(svc_req *r)
{
    if (!(r->route->auth & NEEDS_KEY))
        return true;
    const char *h = svc_header(r, "Authorization");
    if (!h) {
        vreply_error(r, VE_MISSING_KEY, NULL);
        return false;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        vreply_error(r, VE_INVALID_KEY, NULL);
        return false;
    }
    vkey *key = malloc(sizeof *key);
    if (!key) {
        vreply_error(r, VE_INTERNAL, "out of memory");
        return false;
    }
    const char *k = h + 7;
    if (!vd_keys_check(r->app, k, strlen(k), key)) {
        free(key);
        vreply_error(r, VE_INVALID_KEY, NULL);
        return false;
    }
    r->scope = key;
    r->role = 1u << key->role; /* as the issuer: role bits */
    memcpy(r->who, "key:", 4);
    memcpy(r->who + 4, key->id, sizeof key->id); /* 8 hex digits and NUL */
    return true;
}

void vd_release(svc_req *r)
{
    free(r->scope);
    r->scope = NULL;
}
