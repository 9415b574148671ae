/*
 * status.h - the status source decide() calls, over a loaded cache, with an
 * optional online refresh of the one list a credential names (--online).
 *
 * It also records what it saw (which list, its iat, its age, where it came
 * from) so every answer can say how old its status data is.
 *
 * Staleness rule (spec/verifier.md section 4): status data is as old as its
 * list's iat. VALID from data older than max_age, or from a list past its
 * exp, is "status_stale"; INVALID and SUSPENDED are reported from any data.
 */
#ifndef ECRED_VERIFIER_STATUS_H
#define ECRED_VERIFIER_STATUS_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "vutil.h"

typedef struct vstatus {
    /* set by the caller */
    vcache *cache;
    int64_t now;
    bool online;          /* fetch the credential's list when its ttl has passed */
    const char *dir;      /* online: the cache to store a fresher list in (NULL: memory only) */
    const vnote *note;
    int64_t max_age;      /* online: also fetch when the held list is older than this (0: ttl only) */
    /* filled by the lookup */
    bool looked_up;
    bool found;           /* a usable list for the uri was held or fetched */
    int64_t as_of;        /* the list's iat */
    int64_t list_exp;     /* the list's exp (0: none) */
    int64_t fetched_at;   /* when the issuer last confirmed it */
    bool list_expired;    /* now >= exp */
    const char *source;   /* "cache", "online", "online-not-modified", "cache-fallback" */
} vstatus;

/* ecred_status_source.lookup over a vstatus (ctx). */
ecred_err vstatus_lookup(void *ctx, const char *uri, uint64_t idx, unsigned *status, int64_t *as_of);

#endif
