/*
 * merkle.h - RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing over
 * leaf hashes: tree head, inclusion and consistency proofs, and their checks.
 *
 * Trees are given as the array of their leaf hashes (SHA-256(0x00 || leaf)),
 * which is what the audit log stores; internal nodes are
 * SHA-256(0x01 || left || right) and the empty tree's hash is SHA-256("").
 * Proofs are arrays of 32-byte hashes, at most ECRED_MERKLE_PROOF_MAX long.
 */
#ifndef ECRED_MERKLE_H
#define ECRED_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"

#define ECRED_MERKLE_HASH_LEN 32
#define ECRED_MERKLE_PROOF_MAX 64 /* log2 of the largest tree we can name */

typedef uint8_t ecred_merkle_hash[ECRED_MERKLE_HASH_LEN];

/* SHA-256(0x00 || data): the hash of one leaf. */
void ecred_merkle_leaf_hash(const uint8_t *data, size_t n, ecred_merkle_hash out);
/* The tree head MTH over leaves[0..n). */
void ecred_merkle_root(const ecred_merkle_hash *leaves, uint64_t n, ecred_merkle_hash out);
/* Inclusion proof of leaf index in the tree of the first n leaves (RFC 9162
 * 2.1.3.1) into proof (ECRED_MERKLE_PROOF_MAX entries); *len its length.
 * ECRED_ERR_ARG when index >= n. */
ecred_err ecred_merkle_inclusion_proof(const ecred_merkle_hash *leaves, uint64_t n, uint64_t index,
                                       ecred_merkle_hash *proof, size_t *len);
/* Consistency proof between the trees of the first m and n leaves (RFC 9162
 * 2.1.4.1); empty when m == 0 or m == n. ECRED_ERR_ARG when m > n. */
ecred_err ecred_merkle_consistency_proof(const ecred_merkle_hash *leaves, uint64_t m, uint64_t n,
                                         ecred_merkle_hash *proof, size_t *len);
/* ECRED_OK when proof shows leaf (a leaf hash) at index in the tree of size
 * whose head is root (RFC 9162 2.1.3.2), else ECRED_ERR_SIGNATURE_INVALID. */
ecred_err ecred_merkle_inclusion_verify(uint64_t index, uint64_t size, const ecred_merkle_hash leaf,
                                        const ecred_merkle_hash *proof, size_t len,
                                        const ecred_merkle_hash root);
/* ECRED_OK when proof shows the tree (m, old_root) is a prefix of (n,
 * new_root) (RFC 9162 2.1.4.2), else ECRED_ERR_SIGNATURE_INVALID. */
ecred_err ecred_merkle_consistency_verify(uint64_t m, uint64_t n, const ecred_merkle_hash old_root,
                                          const ecred_merkle_hash new_root,
                                          const ecred_merkle_hash *proof, size_t len);

#endif
