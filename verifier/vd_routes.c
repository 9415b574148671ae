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
 * Keyed routes are also rate-limited per key here (--rate, ratelimit.h): 429
 * rate_limited with Retry-After; a photo costs VD_PHOTO_COST tokens.
 *
 * Must never: run POST /v1/verify or /v1/scan-image without a key we hold;
 * log a key (only its id goes to r->who).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "handlers.h"
#include "scanimg.h"
#include "vbody.h"

#define NEEDS_KEY 1u /* in svc_route.auth */
#define PHOTO 2u     /* costs VD_PHOTO_COST tokens of the key's rate limit */

#define ROUTE(fn)                                                                                  \
    static void fn##_route(svc_req *r)                                                             \
    {                                                                                              \
        fn(r->app, r);                                                                             \
    }
ROUTE(h_verify)
ROUTE(h_challenge)
ROUTE(h_scanner)
ROUTE(h_healthz)
ROUTE(h_metrics)
ROUTE(h_page)
ROUTE(h_scan_page)
ROUTE(h_scan_image)

/* The verify body cap is VBODY_MAX (8 KiB), judged by the layer on the
 * announced length and again on every chunk, before the handler runs; the
 * other routes take no body, so they get the same small cap. */
const svc_route vd_routes[] = {
    {"POST", "/v1/verify", h_verify_route, SVC_SENSITIVE, NEEDS_KEY, VBODY_MAX, "verify"},
    {"POST", "/v1/challenges", h_challenge_route, SVC_SENSITIVE, NEEDS_KEY, VBODY_MAX, "challenge"},
    {"GET", "/v1/scanner", h_scanner_route, 0, NEEDS_KEY, VBODY_MAX, "scanner"},
    {"GET", "/healthz", h_healthz_route, 0, 0, VBODY_MAX, "healthz"},
    {"GET", "/metrics", h_metrics_route, 0, 0, VBODY_MAX, "metrics"},
    {"GET", "/", h_page_route, 0, 0, VBODY_MAX, "page"},
    {"GET", "/web/{*}", h_page_route, 0, 0, VBODY_MAX, "page"},
    {"GET", "/scan", h_scan_page_route, 0, 0, VBODY_MAX, "scan"},
    {"GET", "/scan/{*}", h_scan_page_route, 0, 0, VBODY_MAX, "scan"},
    /* A photo up to SCANIMG_BYTES_MAX; scanimg.c caps its pixels before decoding. */
    {"POST", "/v1/scan-image", h_scan_image_route, SVC_SENSITIVE, NEEDS_KEY | PHOTO, SCANIMG_BYTES_MAX,
     "scan-image"},
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
    /* Per-key token bucket (ratelimit.h): a leaked key cannot scrape. */
    vd *d = r->app;
    unsigned cost = (r->route->auth & PHOTO) ? VD_PHOTO_COST : 1;
    unsigned wait = vrate_take(d->rate, (uint32_t)strtoul(key->id, NULL, 16), cost, vd_monotonic_ms());
    if (wait) {
        char s[16];
        snprintf(s, sizeof s, "%u", wait);
        svc_add_header(r, "Retry-After", s);
        vreply_error(r, VE_RATE_LIMITED, NULL);
        return false;
    }
    return true;
}

void vd_release(svc_req *r)
{
    free(r->scope);
    r->scope = NULL;
}
