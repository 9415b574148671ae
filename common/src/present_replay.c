/*
 * present_replay.c - the replay cache for RP1 presentations
 * (spec/presentation.md section 6): which presentations this verifier has
 * already accepted, for exactly as long as each could still be accepted.
 *
 * Keys are semantic (ecred_present_replay_key: kid, cti, iat, cnonce), never
 * signature bytes or QR text, because ECDSA signatures are malleable and the
 * same signed bytes can be re-encoded. Memory is bounded: a fixed open-
 * addressing table sized at create time; when cap live entries are held the
 * cache refuses (fail closed) rather than forget one. Expired entries are
 * dropped with backward-shift deletion, so no tombstones accumulate. One mutex
 * guards everything: an insert is a few dozen nanoseconds next to the two
 * ECDSA verifications that must precede it. This file must never store
 * anything but the 16-byte hashes and times.
 */
#include "ecred/present.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct replay_slot {
    uint8_t key[ECRED_REPLAY_KEY_LEN];
    int64_t expires;    /* last second the entry is live */
    int64_t first_seen;
    uint8_t used;
} replay_slot;

struct ecred_replay_cache {
    pthread_mutex_t lock;
    replay_slot *slots;
    size_t mask;        /* slot count - 1 (a power of two >= 2 * cap) */
    size_t cap;
    size_t count;
    int64_t last_sweep; /* now of the last full sweep: at most one per second */
};

#define REPLAY_CAP_MAX 10000000u

ecred_err ecred_replay_create(size_t cap, ecred_replay_cache **out)
{
    if (!out || cap == 0 || cap > REPLAY_CAP_MAX)
        return ECRED_ERR_ARG;
    size_t n = 2;
    while (n < 2 * cap)
        n <<= 1; /* load stays <= 1/2: short probe runs */
    ecred_replay_cache *c = calloc(1, sizeof *c);
    if (!c)
        return ECRED_ERR_NOMEM;
    c->slots = calloc(n, sizeof *c->slots);
    if (!c->slots || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->slots);
        free(c);
        return ECRED_ERR_NOMEM;
    }
    c->mask = n - 1;
    c->cap = cap;
    c->last_sweep = INT64_MIN;
    *out = c;
    return ECRED_OK;
}

void ecred_replay_free(ecred_replay_cache *c)
{
    if (!c)
        return;
    ecred_wipe(c->slots, (c->mask + 1) * sizeof *c->slots);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/* The key is already a SHA-256 prefix: its first bytes are a uniform hash. */
static size_t slot_of(const ecred_replay_cache *c, const uint8_t *key)
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | key[i];
    return (size_t)h & c->mask;
}

/* Remove slot i and shift later members of its probe run back into the gap
 * (Knuth's algorithm R), so lookups never need tombstones. */
static void slot_delete(ecred_replay_cache *c, size_t i)
{
    size_t j = i;
    for (;;) {
        c->slots[i].used = 0;
        for (;;) {
            j = (j + 1) & c->mask;
            if (!c->slots[j].used) {
                c->count--;
                return;
            }
            size_t home = slot_of(c, c->slots[j].key);
            /* j may move to i only if its home is not cyclically in (i, j]. */
            bool in_between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!in_between)
                break;
        }
        c->slots[i] = c->slots[j];
        i = j;
    }
}

/* Drop every entry whose time has passed. A slot refilled by a shift is
 * looked at again; entries wrapped from the table's start are seen twice,
 * which is harmless. */
static void sweep(ecred_replay_cache *c, int64_t now)
{
    for (size_t i = 0; i <= c->mask;) {
        if (c->slots[i].used && c->slots[i].expires < now)
            slot_delete(c, i);
        else
            i++;
    }
    c->last_sweep = now;
}

ecred_err ecred_replay_check_insert(ecred_replay_cache *c, const uint8_t key[ECRED_REPLAY_KEY_LEN],
                                    int64_t expires, int64_t now, int64_t *first_seen)
{
    if (!c || !key)
        return ECRED_ERR_ARG;
    ecred_err e = ECRED_OK;
    pthread_mutex_lock(&c->lock);
    size_t i = slot_of(c, key);
    for (; c->slots[i].used; i = (i + 1) & c->mask) {
        if (memcmp(c->slots[i].key, key, ECRED_REPLAY_KEY_LEN) != 0)
            continue;
        if (c->slots[i].expires >= now) {
            if (first_seen)
                *first_seen = c->slots[i].first_seen;
            e = ECRED_ERR_REPLAYED;
            goto out;
        }
        /* A dead entry with our key: reuse its slot. */
        c->slots[i].expires = expires;
        c->slots[i].first_seen = now;
        goto out;
    }
    if (c->count >= c->cap && now != c->last_sweep) {
        sweep(c, now);
        i = slot_of(c, key); /* the shift may have opened an earlier slot */
        while (c->slots[i].used)
            i = (i + 1) & c->mask;
    }
    if (c->count >= c->cap) {
        e = ECRED_ERR_REPLAY_CACHE_FULL;
        goto out;
    }
    memcpy(c->slots[i].key, key, ECRED_REPLAY_KEY_LEN);
    c->slots[i].expires = expires;
    c->slots[i].first_seen = now;
    c->slots[i].used = 1;
    c->count++;
out:
    pthread_mutex_unlock(&c->lock);
    return e;
}

size_t ecred_replay_count(ecred_replay_cache *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

void ecred_present_replay_key(const uint8_t *kid, size_t kid_len, const uint8_t *cti,
                              size_t cti_len, int64_t iat, const uint8_t *cnonce,
                              size_t cnonce_len, uint8_t out[ECRED_REPLAY_KEY_LEN])
{
    /* Length-prefixed fields: no two inputs share an encoding. All lengths
     * are <= 64 by the decoders' caps, so one byte each suffices. */
    uint8_t m[16 + 1 + 64 + 1 + 64 + 8 + 1 + 64];
    size_t n = 0;
    memcpy(m, "ecred-rp1-replay", 16);
    n = 16;
    kid_len = kid_len > 64 ? 64 : kid_len;
    cti_len = cti_len > 64 ? 64 : cti_len;
    cnonce_len = cnonce_len > 64 ? 64 : cnonce_len;
    m[n++] = (uint8_t)kid_len;
    if (kid_len)
        memcpy(m + n, kid, kid_len);
    n += kid_len;
    m[n++] = (uint8_t)cti_len;
    if (cti_len)
        memcpy(m + n, cti, cti_len);
    n += cti_len;
    for (int i = 0; i < 8; i++)
        m[n++] = (uint8_t)((uint64_t)iat >> (56 - 8 * i));
    m[n++] = (uint8_t)cnonce_len;
    if (cnonce_len)
        memcpy(m + n, cnonce, cnonce_len);
    n += cnonce_len;
    uint8_t h[32];
    ecred_sha256(m, n, h);
    memcpy(out, h, ECRED_REPLAY_KEY_LEN);
}

void ecred_replay_each(ecred_replay_cache *c, int64_t now, ecred_replay_each_fn fn, void *ctx)
{
    if (!c || !fn)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i <= c->mask; i++)
        if (c->slots[i].used && c->slots[i].expires >= now)
            fn(ctx, c->slots[i].key, c->slots[i].expires, c->slots[i].first_seen);
    pthread_mutex_unlock(&c->lock);
}
