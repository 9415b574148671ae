/*
 * unit_idxperm.c - the status list permutation (issuer/idxperm.h): a
 * bijection of [0, n) for every n tried, different per key, not the
 * identity, out-of-range arguments refused, and pinned outputs (a
 * credential carries its index for years: the mapping must never change).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "idxperm.h"

/* Pinned: key 00 01 .. 1f, the first positions of lists of these sizes. */
static const struct {
    uint32_t n;
    uint32_t idx[4];
} pinned[] = {
    {2, {0, 1}},
    {16, {15, 10, 9, 12}},
    {100, {80, 41, 37, 3}},
    {131072, {125061, 19088, 67066, 41633}},
    {(uint32_t)1 << 30, {607815196, 820969218, 434218367, 74510401}},
};

/* Every position of a list of n maps into [0, n), each index exactly once. */
static void check_bijection(const uint8_t *key, uint32_t n)
{
    uint8_t *hit = calloc(n, 1);
    if (!hit) {
        CHECK(!"out of memory");
        return;
    }
    uint32_t bad = 0, fixed = 0;
    for (uint32_t p = 0; p < n; p++) {
        uint32_t v = idxperm_at(key, n, p);
        if (v >= n || hit[v]) {
            bad++;
            continue;
        }
        hit[v] = 1;
        fixed += v == p;
    }
    CHECK(bad == 0);
    /* A random permutation fixes about one point; the identity fixes n. */
    if (n >= 64)
        CHECK(fixed < n / 8);
    free(hit);
}

int main(void)
{
    uint8_t key[IDXPERM_KEY_LEN], other[IDXPERM_KEY_LEN];
    for (int i = 0; i < IDXPERM_KEY_LEN; i++) {
        key[i] = (uint8_t)i;
        other[i] = (uint8_t)(i * 7 + 1);
    }
    for (size_t t = 0; t < sizeof pinned / sizeof pinned[0]; t++)
        for (uint32_t p = 0; p < 4 && p < pinned[t].n; p++)
            CHECK(idxperm_at(key, pinned[t].n, p) == pinned[t].idx[p]);

    static const uint32_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 100, 1000, 4095, 4096, 4097, 65537, 131072};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        check_bijection(key, sizes[i]);
        check_bijection(other, sizes[i]);
    }

    /* Another key, another order: of the first 64 positions of a full-size
     * list, chance agreement is about 64 / 131072. */
    uint32_t same = 0;
    for (uint32_t p = 0; p < 64; p++)
        same += idxperm_at(key, 131072, p) == idxperm_at(other, 131072, p);
    CHECK(same < 4);

    /* Refused: an empty list, a position past the end, a list over 2^30. */
    CHECK(idxperm_at(key, 0, 0) == UINT32_MAX);
    CHECK(idxperm_at(key, 16, 16) == UINT32_MAX);
    CHECK(idxperm_at(key, ((uint32_t)1 << 30) + 1, 0) == UINT32_MAX);
    return check_finish();
}
