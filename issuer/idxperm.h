/*
 * idxperm.h - the secret permutation that turns a status list's positions
 * (0, 1, 2, ... in the order credentials are issued) into its status
 * indices (issue 10: constant-time allocation).
 *
 * Each list has its own 32-byte random key, kept in the registry. Position p
 * of a list of size n maps to idxperm_at(key, n, p): a bijection of [0, n),
 * so handing out positions in order hands out every index exactly once, in
 * an order an outsider cannot predict or relate to issue time without the
 * key (a Feistel network keyed by SHA-256, with cycle walking onto [0, n)).
 * The cost is constant: about 8 rounds times at most a few walks, however
 * full the list is.
 *
 * Must never: be used with a key that leaves the registry, or change its
 * output for a given (key, n, p) (credentials already carry its indices;
 * tests/issuer/unit_idxperm.c pins vectors).
 */
#ifndef ECRED_ISSUER_IDXPERM_H
#define ECRED_ISSUER_IDXPERM_H

#include <stdint.h>

#define IDXPERM_KEY_LEN 32

/* The index of position pos in a list of size n (1 <= n <= 2^30, pos < n);
 * UINT32_MAX for arguments outside that. */
uint32_t idxperm_at(const uint8_t key[IDXPERM_KEY_LEN], uint32_t n, uint32_t pos);

#endif
