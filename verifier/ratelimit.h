/*
 * ratelimit.h - per-API-key token buckets for the verify API, so a leaked
 * landlord key cannot be used to scrape: every key holds one minute's
 * allowance (N tokens, --rate N/min), refilled continuously at N per minute;
 * a request takes its cost in tokens or is refused with the seconds until it
 * could pass (the daemon answers 429 with Retry-After).
 *
 * Buckets are keyed by the API key's id (8 hex digits: only authenticated
 * callers reach the limiter, so the table cannot be flooded by strangers);
 * the table is fixed-size and, when full, reuses the fullest bucket (a full
 * bucket is the same as no bucket). Thread-safe.
 *
 * Must never: allocate per request, store a key (only its id), block.
 */
#ifndef ECRED_VERIFIER_RATELIMIT_H
#define ECRED_VERIFIER_RATELIMIT_H

#include <stdint.h>

#include "ecred/err.h"

#define VRATE_SLOTS 1024            /* distinct keys tracked at once */
#define VRATE_PER_MINUTE_MAX 600000 /* 10000/s: anything above is "no limit" in all but name */
#define VRATE_DEFAULT 120           /* per key per minute */

typedef struct vrate vrate;

/* A limiter allowing per_minute tokens a minute per key (1..VRATE_PER_MINUTE_MAX),
 * or none at all when per_minute is 0 (vrate_take always allows). */
ecred_err vrate_new(unsigned per_minute, vrate **out);
void vrate_free(vrate *r);

/* Take cost tokens (>= 1) from key_id's bucket at now_ms (a monotonic clock).
 * Returns 0 when the request may pass, else the whole seconds (>= 1) until
 * it could: the Retry-After value. A cost above the bucket's size can never
 * pass and returns 60. */
unsigned vrate_take(vrate *r, uint32_t key_id, unsigned cost, int64_t now_ms);

/* "--rate" values: "N" or "N/min" with N in 0..VRATE_PER_MINUTE_MAX (0: no
 * limit); ECRED_ERR_INPUT for anything else. */
ecred_err vrate_parse(const char *s, unsigned *per_minute);

#endif
