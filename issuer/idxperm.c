/*
 * idxperm.c - keyed permutation of a status list's positions (see idxperm.h).
 *
 * A balanced Feistel network on 2h bits, the smallest even width holding
 * n - 1 (at least 2), so its domain is below 4n; values landing at or
 * above n are fed through again (cycle walking), which keeps a permutation
 * of [0, n) and needs fewer than 4 passes on average. Round function: the
 * first 4 bytes of SHA-256(key || round || right half), reduced to h bits.
 * Eight rounds: four already make a Feistel network a strong pseudorandom
 * permutation when its round function is a PRF (Luby-Rackoff); the margin
 * costs microseconds per credential.
 *
 * Must never: allocate, or depend on anything but its arguments.
 */
#include "idxperm.h"

#include <string.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"

#define IDXPERM_ROUNDS 8
#define IDXPERM_N_MAX ((uint32_t)1 << 30)

/* One round's output: h bits of SHA-256(key || round || r). */
static uint32_t idxperm_f(const uint8_t key[IDXPERM_KEY_LEN], unsigned round, uint32_t r, unsigned h)
{
    uint8_t in[IDXPERM_KEY_LEN + 5], d[32];
    memcpy(in, key, IDXPERM_KEY_LEN);
    in[IDXPERM_KEY_LEN] = (uint8_t)round;
    in[IDXPERM_KEY_LEN + 1] = (uint8_t)(r >> 24);
    in[IDXPERM_KEY_LEN + 2] = (uint8_t)(r >> 16);
    in[IDXPERM_KEY_LEN + 3] = (uint8_t)(r >> 8);
    in[IDXPERM_KEY_LEN + 4] = (uint8_t)r;
    ecred_sha256(in, sizeof in, d);
    uint32_t v = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3];
    ecred_wipe(in, sizeof in);
    return v & (((uint32_t)1 << h) - 1);
}

/* The Feistel network on 2h bits. */
static uint32_t idxperm_feistel(const uint8_t key[IDXPERM_KEY_LEN], unsigned h, uint32_t x)
{
    uint32_t mask = ((uint32_t)1 << h) - 1;
    uint32_t l = x >> h, r = x & mask;
    for (unsigned i = 0; i < IDXPERM_ROUNDS; i++) {
        uint32_t t = l ^ idxperm_f(key, i, r, h);
        l = r;
        r = t;
    }
    return l << h | r;
}

uint32_t idxperm_at(const uint8_t key[IDXPERM_KEY_LEN], uint32_t n, uint32_t pos)
{
    if (n == 0 || n > IDXPERM_N_MAX || pos >= n)
        return UINT32_MAX;
    unsigned bits = 0;
    while (bits < 31 && ((uint32_t)1 << bits) < n)
        bits++;
    unsigned h = (bits + 1) / 2;
    if (h == 0)
        h = 1;
    /* pos < n <= 2^(2h), so every walk stays in the network's domain and
     * ends: the cycle through pos returns to [0, n) before reaching pos. */
    uint32_t x = pos;
    do
        x = idxperm_feistel(key, h, x);
    while (x >= n);
    return x;
}
