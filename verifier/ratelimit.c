/*
 * ratelimit.c - per-key token buckets (ratelimit.h). Tokens are counted in
 * units of 1/60000 so that one millisecond refills exactly per_minute units:
 * integer arithmetic, nothing lost to rounding between frequent requests, no
 * float letting a bucket creep past its size. Must never: allocate
 * after vrate_new, hold the lock while doing anything but arithmetic.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define VRATE_UNIT 60000 /* units per token: one minute in milliseconds */

typedef struct vrate_slot {
    bool used;
    uint32_t key_id;
    int64_t units;     /* tokens * VRATE_UNIT */
    int64_t at_ms;     /* when units were last brought up to date */
} vrate_slot;

struct vrate {
    unsigned per_minute;
    int64_t cap;       /* per_minute * VRATE_UNIT: one minute's allowance */
    pthread_mutex_t lock;
    vrate_slot slot[VRATE_SLOTS];
};

ecred_err vrate_new(unsigned per_minute, vrate **out)
{
    if (!out || per_minute > VRATE_PER_MINUTE_MAX)
        return ECRED_ERR_ARG;
    vrate *r = calloc(1, sizeof *r);
    if (!r)
        return ECRED_ERR_NOMEM;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return ECRED_ERR_INTERNAL;
    }
    r->per_minute = per_minute;
    r->cap = (int64_t)per_minute * VRATE_UNIT;
    *out = r;
    return ECRED_OK;
}

void vrate_free(vrate *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* Bring a bucket up to now: per_minute units per millisecond. A clock that
 * went back refills nothing. */
static void refill(const vrate *r, vrate_slot *s, int64_t now_ms)
{
    if (now_ms <= s->at_ms)
        return;
    int64_t dt = now_ms - s->at_ms;
    /* dt is capped at a minute: a longer gap fills the bucket anyway, and the
     * product below stays far from overflow. */
    if (dt > 60000)
        dt = 60000;
    s->units += dt * (int64_t)r->per_minute;
    if (s->units > r->cap)
        s->units = r->cap;
    s->at_ms = now_ms;
}

/* The key's bucket: found, a free slot, or the fullest one reused. */
static vrate_slot *slot_for(vrate *r, uint32_t key_id, int64_t now_ms)
{
    size_t start = (size_t)(key_id * 2654435761u) % VRATE_SLOTS;
    vrate_slot *free_slot = NULL;
    for (size_t i = 0; i < VRATE_SLOTS; i++) {
        vrate_slot *s = &r->slot[(start + i) % VRATE_SLOTS];
        if (s->used && s->key_id == key_id)
            return s;
        if (!s->used) {
            free_slot = s;
            break;  /* probing stops at the first hole: no deletions ever make holes */
        }
    }
    vrate_slot *s = free_slot;
    if (!s) {
        s = &r->slot[start];
        for (size_t i = 0; i < VRATE_SLOTS; i++) {
            refill(r, &r->slot[i], now_ms);
            if (r->slot[i].units > s->units)
                s = &r->slot[i];
        }
    }
    s->used = true;
    s->key_id = key_id;
    s->units = r->cap;
    s->at_ms = now_ms;
    return s;
}

unsigned vrate_take(vrate *r, uint32_t key_id, unsigned cost, int64_t now_ms)
{
    if (!r || r->per_minute == 0)
        return 0;
    if (cost == 0)
        cost = 1;
    int64_t need = (int64_t)cost * VRATE_UNIT;
    if (need > r->cap)
        return 60;
    unsigned wait = 0;
    pthread_mutex_lock(&r->lock);
    vrate_slot *s = slot_for(r, key_id, now_ms);
    refill(r, s, now_ms);
    if (s->units >= need) {
        s->units -= need;
    } else {
        /* Milliseconds until the missing units have dripped in, rounded up
         * to whole seconds (Retry-After has no fractions). */
        int64_t ms = (need - s->units + r->per_minute - 1) / r->per_minute;
        wait = (unsigned)((ms + 999) / 1000);
        if (wait == 0)
            wait = 1;
    }
    pthread_mutex_unlock(&r->lock);
    return wait;
}

ecred_err vrate_parse(const char *s, unsigned *per_minute)
{
    if (!s || !per_minute || !*s)
        return ECRED_ERR_INPUT;
    uint64_t v = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++) {
        v = v * 10 + (uint64_t)(*p - '0');
        if (v > VRATE_PER_MINUTE_MAX)
            return ECRED_ERR_INPUT;
    }
    if (p == s || (*p && strcmp(p, "/min") != 0))
        return ECRED_ERR_INPUT;
    *per_minute = (unsigned)v;
    return ECRED_OK;
}
