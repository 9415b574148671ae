/*
 * test_merkle.c - RFC 9162 tree heads and proofs: for every tree of 1..70
 * leaves, every inclusion proof and every consistency proof verifies, and
 * each fails when any proof hash, the leaf, the index, the sizes or a root
 * is changed. Tree heads are checked against a second, iterative
 * computation (a stack of complete subtrees), so the recursive code is not
 * checked only against itself.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ecred/crypto.h"
#include "ecred/merkle.h"

#define N_MAX 70

static ecred_merkle_hash leaves[N_MAX];
/* Pointer-to-array arguments need an explicit const before C2X. */
#define L ((const ecred_merkle_hash *)leaves)
#define P ((const ecred_merkle_hash *)proof)

/* The head by the iterative method: merge equal-height subtrees as leaves
 * arrive, then fold the rest right to left. */
static void root_iterative(uint64_t n, ecred_merkle_hash out)
{
    ecred_merkle_hash stack[64];
    unsigned height[64];
    size_t top = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(stack[top], leaves[i], 32);
        height[top++] = 0;
        while (top >= 2 && height[top - 1] == height[top - 2]) {
            uint8_t buf[65];
            buf[0] = 1;
            memcpy(buf + 1, stack[top - 2], 32);
            memcpy(buf + 33, stack[top - 1], 32);
            ecred_sha256(buf, 65, stack[top - 2]);
            height[top - 2]++;
            top--;
        }
    }
    if (top == 0) {
        ecred_sha256((const uint8_t *)"", 0, out);
        return;
    }
    while (top >= 2) {
        uint8_t buf[65];
        buf[0] = 1;
        memcpy(buf + 1, stack[top - 2], 32);
        memcpy(buf + 33, stack[top - 1], 32);
        ecred_sha256(buf, 65, stack[top - 2]);
        top--;
    }
    memcpy(out, stack[0], 32);
}

int main(void)
{
    for (int i = 0; i < N_MAX; i++) {
        uint8_t leaf[8] = {'l', 'e', 'a', 'f', (uint8_t)i, 0, 0, 0};
        ecred_merkle_leaf_hash(leaf, sizeof leaf, leaves[i]);
    }
    ecred_merkle_hash roots[N_MAX + 1];
    for (uint64_t n = 0; n <= N_MAX; n++) {
        ecred_merkle_hash it;
        ecred_merkle_root(L, n, roots[n]);
        root_iterative(n, it);
        CHECK(memcmp(it, roots[n], 32) == 0);
    }
    ecred_merkle_hash proof[ECRED_MERKLE_PROOF_MAX];
    size_t len;
    for (uint64_t n = 1; n <= N_MAX; n++) {
        for (uint64_t i = 0; i < n; i++) {
            CHECK_ERR(ecred_merkle_inclusion_proof(L, n, i, proof, &len), ECRED_OK);
            CHECK_ERR(ecred_merkle_inclusion_verify(i, n, leaves[i], P, len, roots[n]), ECRED_OK);
            CHECK(ecred_merkle_inclusion_verify(i, n, leaves[(i + 1) % N_MAX], P, len,
                                                roots[n]) != ECRED_OK);
            if (n > 1)
                CHECK(ecred_merkle_inclusion_verify((i + 1) % n, n, leaves[i], P, len,
                                                    roots[n]) != ECRED_OK);
            /* (A size alone is not checked: size and root come together in a
             * signed checkpoint, and the root binds the tree.) */
            if (n < N_MAX)
                CHECK(ecred_merkle_inclusion_verify(i, n + 1, leaves[i], P, len, roots[n + 1]) !=
                      ECRED_OK);
            for (size_t k = 0; k < len; k++) {
                proof[k][k % 32] ^= 0x40;
                CHECK(ecred_merkle_inclusion_verify(i, n, leaves[i], P, len, roots[n]) !=
                      ECRED_OK);
                proof[k][k % 32] ^= 0x40;
            }
        }
        CHECK_ERR(ecred_merkle_inclusion_proof(L, n, n, proof, &len), ECRED_ERR_ARG);
        for (uint64_t m = 0; m <= n; m++) {
            CHECK_ERR(ecred_merkle_consistency_proof(L, m, n, proof, &len), ECRED_OK);
            CHECK_ERR(ecred_merkle_consistency_verify(m, n, roots[m], roots[n], P, len),
                      ECRED_OK);
            if (m == 0 || m == n)
                continue;
            CHECK(ecred_merkle_consistency_verify(m, n, roots[m - 1], roots[n], P, len) !=
                  ECRED_OK);
            CHECK(ecred_merkle_consistency_verify(m, n, roots[m], roots[n - 1], P, len) !=
                  ECRED_OK);
            CHECK(ecred_merkle_consistency_verify(m - 1, n, roots[m], roots[n], P, len) !=
                  ECRED_OK);
            for (size_t k = 0; k < len; k++) {
                proof[k][0] ^= 1;
                CHECK(ecred_merkle_consistency_verify(m, n, roots[m], roots[n], P, len) !=
                      ECRED_OK);
                proof[k][0] ^= 1;
            }
        }
    }
    return check_finish();
}
