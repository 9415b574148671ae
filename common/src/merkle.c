/*
 * merkle.c - RFC 9162 Merkle tree hashes and proofs (merkle.h).
 *
 * Proof generation follows the RFC's recursive definitions (PATH, SUBPROOF)
 * over the leaf hash array; verification follows its iterative algorithms,
 * which never allocate. Must never trust a size or index from the wire
 * without the range checks below, nor write more than ECRED_MERKLE_PROOF_MAX
 * hashes into a proof.
 */
#include <string.h>

#include "ecred/crypto.h"
#include "ecred/merkle.h"

/* SHA-256(0x01 || l || r). */
static void node_hash(const ecred_merkle_hash l, const ecred_merkle_hash r, ecred_merkle_hash out)
{
    uint8_t buf[1 + 2 * ECRED_MERKLE_HASH_LEN];
    buf[0] = 0x01;
    memcpy(buf + 1, l, ECRED_MERKLE_HASH_LEN);
    memcpy(buf + 1 + ECRED_MERKLE_HASH_LEN, r, ECRED_MERKLE_HASH_LEN);
    ecred_sha256(buf, sizeof buf, out);
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split_point(uint64_t n)
{
    uint64_t k = 1;
    while (k << 1 < n)
        k <<= 1;
    return k;
}

void ecred_merkle_leaf_hash(const uint8_t *data, size_t n, ecred_merkle_hash out)
{
    uint8_t prefix = 0x00;
    /* SHA-256 over 0x00 || data without copying data. */
    uint8_t small[257];
    if (n < sizeof small) {
        small[0] = prefix;
        if (n)
            memcpy(small + 1, data, n);
        ecred_sha256(small, n + 1, out);
        return;
    }
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_buf_append(&b, &prefix, 1) == ECRED_OK && ecred_buf_append(&b, data, n) == ECRED_OK)
        ecred_sha256(b.ptr, b.len, out);
    else
        memset(out, 0, ECRED_MERKLE_HASH_LEN); /* out of memory: a hash nothing matches */
    ecred_buf_free(&b);
}

void ecred_merkle_root(const ecred_merkle_hash *leaves, uint64_t n, ecred_merkle_hash out)
{
    if (n == 0) {
        ecred_sha256((const uint8_t *)"", 0, out);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[0], ECRED_MERKLE_HASH_LEN);
        return;
    }
    uint64_t k = split_point(n);
    ecred_merkle_hash l, r;
    ecred_merkle_root(leaves, k, l);
    ecred_merkle_root(leaves + k, n - k, r);
    node_hash(l, r, out);
}

/* Append h to proof; false when full. */
static bool proof_push(ecred_merkle_hash *proof, size_t *len, const ecred_merkle_hash h)
{
    if (*len >= ECRED_MERKLE_PROOF_MAX)
        return false;
    memcpy(proof[*len], h, ECRED_MERKLE_HASH_LEN);
    (*len)++;
    return true;
}

/* PATH(m, D[0:n]) of RFC 9162 2.1.3.1. */
static bool path(const ecred_merkle_hash *d, uint64_t m, uint64_t n, ecred_merkle_hash *proof,
                 size_t *len)
{
    if (n <= 1)
        return true;
    uint64_t k = split_point(n);
    ecred_merkle_hash sub;
    if (m < k) {
        if (!path(d, m, k, proof, len))
            return false;
        ecred_merkle_root(d + k, n - k, sub);
    } else {
        if (!path(d + k, m - k, n - k, proof, len))
            return false;
        ecred_merkle_root(d, k, sub);
    }
    return proof_push(proof, len, sub);
}

ecred_err ecred_merkle_inclusion_proof(const ecred_merkle_hash *leaves, uint64_t n, uint64_t index,
                                       ecred_merkle_hash *proof, size_t *len)
{
    if (!leaves || !proof || !len || index >= n)
        return ECRED_ERR_ARG;
    *len = 0;
    return path(leaves, index, n, proof, len) ? ECRED_OK : ECRED_ERR_TOO_LARGE;
}

/* SUBPROOF(m, D[0:n], b) of RFC 9162 2.1.4.1. */
static bool subproof(const ecred_merkle_hash *d, uint64_t m, uint64_t n, bool b,
                     ecred_merkle_hash *proof, size_t *len)
{
    ecred_merkle_hash sub;
    if (m == n) {
        if (b)
            return true;
        ecred_merkle_root(d, n, sub);
        return proof_push(proof, len, sub);
    }
    uint64_t k = split_point(n);
    if (m <= k) {
        if (!subproof(d, m, k, b, proof, len))
            return false;
        ecred_merkle_root(d + k, n - k, sub);
    } else {
        if (!subproof(d + k, m - k, n - k, false, proof, len))
            return false;
        ecred_merkle_root(d, k, sub);
    }
    return proof_push(proof, len, sub);
}

ecred_err ecred_merkle_consistency_proof(const ecred_merkle_hash *leaves, uint64_t m, uint64_t n,
                                         ecred_merkle_hash *proof, size_t *len)
{
    if (!proof || !len || m > n || (n && !leaves))
        return ECRED_ERR_ARG;
    *len = 0;
    if (m == 0 || m == n)
        return ECRED_OK;
    return subproof(leaves, m, n, true, proof, len) ? ECRED_OK : ECRED_ERR_TOO_LARGE;
}

ecred_err ecred_merkle_inclusion_verify(uint64_t index, uint64_t size, const ecred_merkle_hash leaf,
                                        const ecred_merkle_hash *proof, size_t len,
                                        const ecred_merkle_hash root)
{
    if (index >= size || len > ECRED_MERKLE_PROOF_MAX || (len && !proof))
        return ECRED_ERR_SIGNATURE_INVALID;
    uint64_t fn = index, sn = size - 1;
    ecred_merkle_hash r;
    memcpy(r, leaf, ECRED_MERKLE_HASH_LEN);
    for (size_t i = 0; i < len; i++) {
        if (sn == 0)
            return ECRED_ERR_SIGNATURE_INVALID;
        if ((fn & 1) || fn == sn) {
            node_hash(proof[i], r, r);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            node_hash(r, proof[i], r);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, ECRED_MERKLE_HASH_LEN) == 0 ? ECRED_OK
                                                                  : ECRED_ERR_SIGNATURE_INVALID;
}

ecred_err ecred_merkle_consistency_verify(uint64_t m, uint64_t n, const ecred_merkle_hash old_root,
                                          const ecred_merkle_hash new_root,
                                          const ecred_merkle_hash *proof, size_t len)
{
    if (m > n || len > ECRED_MERKLE_PROOF_MAX || (len && !proof))
        return ECRED_ERR_SIGNATURE_INVALID;
    if (m == n)
        return len == 0 && memcmp(old_root, new_root, ECRED_MERKLE_HASH_LEN) == 0
                   ? ECRED_OK
                   : ECRED_ERR_SIGNATURE_INVALID;
    if (m == 0)
        return len == 0 ? ECRED_OK : ECRED_ERR_SIGNATURE_INVALID;
    if (len == 0)
        return ECRED_ERR_SIGNATURE_INVALID;
    /* When m is a power of two the old root itself starts the path. */
    bool pow2 = (m & (m - 1)) == 0;
    size_t i = 0;
    ecred_merkle_hash fr, sr;
    if (pow2) {
        memcpy(fr, old_root, ECRED_MERKLE_HASH_LEN);
    } else {
        memcpy(fr, proof[0], ECRED_MERKLE_HASH_LEN);
        i = 1;
    }
    memcpy(sr, fr, ECRED_MERKLE_HASH_LEN);
    uint64_t fn = m - 1, sn = n - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < len; i++) {
        if (sn == 0)
            return ECRED_ERR_SIGNATURE_INVALID;
        if ((fn & 1) || fn == sn) {
            node_hash(proof[i], fr, fr);
            node_hash(proof[i], sr, sr);
            if (!(fn & 1))
                while (!(fn & 1) && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
        } else {
            node_hash(sr, proof[i], sr);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(fr, old_root, ECRED_MERKLE_HASH_LEN) == 0 &&
                   memcmp(sr, new_root, ECRED_MERKLE_HASH_LEN) == 0
               ? ECRED_OK
               : ECRED_ERR_SIGNATURE_INVALID;
}
