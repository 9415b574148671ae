/*
 * present_keys.c - a small cache of parsed holder (cnf) keys for RP1
 * verification, keyed by the compressed point.
 *
 * Why: turning a COSE compressed point into a verification key costs more
 * than the ECDSA verification itself (point decompression, the adapter's
 * public-key check and kid computation: ~110-160 us against ~70 us for a
 * verify, bench/bench_present). A gate or a daemon sees the same phones again
 * and again (every scan, every 30 s refresh), so a verifier keeps the parsed
 * key. Direct-mapped and fixed-size: memory is bounded and a collision simply
 * replaces the older key. Only keys from credentials whose issuer signature
 * verified reach it. It holds public keys only, never anything secret; it
 * must never be used to decide trust (a hit is the same key a miss would
 * parse).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ecred/present.h"

typedef struct holder_slot {
    uint8_t point[33]; /* y sign byte (0x02 / 0x03) || x */
    ecred_key *key;    /* one reference owned by the cache; NULL when empty */
} holder_slot;

struct ecred_holder_keys {
    pthread_mutex_t lock;
    holder_slot *slots;
    size_t n;
    uint64_t hits, misses;
};

ecred_err ecred_holder_keys_create(size_t slots, ecred_holder_keys **out)
{
    if (!out || slots == 0 || slots > 1u << 20)
        return ECRED_ERR_ARG;
    ecred_holder_keys *c = calloc(1, sizeof *c);
    if (!c)
        return ECRED_ERR_NOMEM;
    c->slots = calloc(slots, sizeof *c->slots);
    if (!c->slots || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->slots);
        free(c);
        return ECRED_ERR_NOMEM;
    }
    c->n = slots;
    *out = c;
    return ECRED_OK;
}

void ecred_holder_keys_free(ecred_holder_keys *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        ecred_key_free(c->slots[i].key);
    free(c->slots);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void ecred_holder_keys_stats(ecred_holder_keys *c, uint64_t *hits, uint64_t *misses)
{
    pthread_mutex_lock(&c->lock);
    *hits = c->hits;
    *misses = c->misses;
    pthread_mutex_unlock(&c->lock);
}

ecred_err ecred_holder_key_get(ecred_holder_keys *c, const uint8_t x[32], bool y_sign,
                               ecred_key **out)
{
    if (!x || !out)
        return ECRED_ERR_ARG;
    if (!c)
        return ecred_key_from_cnf(x, y_sign, out);
    uint8_t point[33];
    point[0] = y_sign ? 0x03 : 0x02;
    memcpy(point + 1, x, 32);
    /* x of a key is uniformly distributed: its first bytes index the table. */
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | x[i];
    holder_slot *s = &c->slots[h % c->n];
    pthread_mutex_lock(&c->lock);
    if (s->key && memcmp(s->point, point, sizeof point) == 0) {
        *out = ecred_key_ref(s->key);
        c->hits++;
        pthread_mutex_unlock(&c->lock);
        return ECRED_OK;
    }
    c->misses++;
    pthread_mutex_unlock(&c->lock);
    /* Parse outside the lock: it is the slow part, and two threads parsing
     * the same key at once only waste a little work. */
    ecred_key *k = NULL;
    ecred_err e = ecred_key_from_cnf(x, y_sign, &k);
    if (e)
        return e;
    pthread_mutex_lock(&c->lock);
    ecred_key *old = s->key;
    s->key = ecred_key_ref(k);
    memcpy(s->point, point, sizeof point);
    pthread_mutex_unlock(&c->lock);
    ecred_key_free(old);
    *out = k;
    return ECRED_OK;
}
