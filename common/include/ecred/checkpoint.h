/*
 * checkpoint.h - signed checkpoints of the audit log (spec/audit.md): the
 * C2SP tlog-checkpoint body (origin, tree size, base64 tree head) in a C2SP
 * signed note, signed with the issuer's ES256 key.
 *
 *   <origin>\n<size>\n<base64 root>\n\n— <origin> <base64(keyhash[4] || r||s)>\n
 *
 * keyhash = SHA-256(origin || "\n" || 0x02 || SPKI DER)[0..4) (type 0x02:
 * ECDSA P-256 with SHA-256, our choice for a type the signed-note spec leaves
 * to the log); the signature covers the body, its final newline included.
 */
#ifndef ECRED_CHECKPOINT_H
#define ECRED_CHECKPOINT_H

#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/merkle.h"

#define ECRED_CHECKPOINT_ORIGIN_MAX 128
#define ECRED_CHECKPOINT_MAX 1024 /* bytes of a whole signed checkpoint */

typedef struct ecred_checkpoint {
    char origin[ECRED_CHECKPOINT_ORIGIN_MAX + 1]; /* printable ASCII, no spaces */
    uint64_t size;
    ecred_merkle_hash root;
} ecred_checkpoint;

/* Sign cp with key (ES256) into out (text, NUL-terminated, len excludes it). */
ecred_err ecred_checkpoint_sign(const ecred_key *key, const ecred_checkpoint *cp, ecred_buf *out);
/* Parse text and check its signature against the keys[0..n) (the first whose
 * key hash matches). ECRED_ERR_INPUT for text not in the format,
 * ECRED_ERR_KEY_UNKNOWN when no key matches, ECRED_ERR_SIGNATURE_INVALID when
 * the signature fails. *out written only on success. */
ecred_err ecred_checkpoint_verify(const uint8_t *text, size_t len, ecred_key *const *keys,
                                  size_t n, ecred_checkpoint *out);

/* One audit-log entry's public fields (spec/audit.md). */
typedef struct ecred_audit_entry {
    uint64_t seq;
    int64_t at;
    char action[16];
    char subject[33];
    char actor[16];
    uint8_t prev[32]; /* leaf hash of entry seq - 1, zeros for seq 1 */
} ecred_audit_entry;

/* The canonical bytes of e hashed as an RFC 9162 leaf:
 *   "ecred-audit/1\nseq N\nat T\naction A\nsubject S\nactor R\nprev HEX64\n" */
void ecred_audit_leaf_hash(const ecred_audit_entry *e, ecred_merkle_hash out);

/* Standard base64 (RFC 4648 section 4, padded) of in into out (NUL-terminated,
 * cap >= 4 * ceil(n / 3) + 1). */
ecred_err ecred_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap);
/* Strict decode of exactly len characters; *out_len bytes written. */
ecred_err ecred_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                              size_t *out_len);

#endif
