/*
 * audit.h - the issuer's side of the audit log (spec/audit.md): recording
 * changes that have no registry call of their own (key switches), checking
 * the chain as stored, the leaf hashes for proofs, and the signed checkpoint
 * published at intervals.
 *
 * The entries themselves are appended by the registry (reg_audit_append) in
 * the transaction of the change they record.
 */
#ifndef ECRED_ISSUER_AUDIT_H
#define ECRED_ISSUER_AUDIT_H

#include <pthread.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/checkpoint.h"
#include "ecred/merkle.h"
#include "keyring.h"
#include "registry.h"

#define AUDIT_KEY_CHANGE "key-change"
#define AUDIT_MAX_ENTRIES (64u * 1024 * 1024) /* leaves held in memory for proofs */
#define AUDIT_CHECKPOINT_INTERVAL 1           /* seconds between new checkpoints */

/* Append one entry in a write of its own (reg_write): for changes with no
 * registry row of their own, such as a key switch. */
ecred_err audit_record(reg_db *db, const char *action, const char *subject, const char *actor,
                       int64_t now);

/* What audit_verify found. */
typedef struct audit_report {
    uint64_t entries;        /* entries read */
    uint64_t bad_seq;        /* first entry that fails (0: none) */
    char why[96];            /* what is wrong with it */
    ecred_merkle_hash root;  /* tree head over the entries (when intact) */
} audit_report;

/* Recompute the whole chain from the registry: seq 1, 2, ... without gaps;
 * each prev equal to the previous entry's hash; each hash equal to the hash
 * of the entry's fields. ECRED_OK when intact, ECRED_ERR_SIGNATURE_INVALID at
 * the first edited, removed or reordered entry (rep says which and why). */
ecred_err audit_verify(reg_db *db, audit_report *rep);

/* The stored leaf hashes, seq order (free()), for proofs. */
ecred_err audit_leaves(reg_db *db, ecred_merkle_hash **out, uint64_t *n);

/* The published checkpoint: made at most every AUDIT_CHECKPOINT_INTERVAL
 * seconds, signed with the current signing key. */
typedef struct audit_pub {
    pthread_mutex_t mu;
    char origin[ECRED_CHECKPOINT_ORIGIN_MAX + 1];
    ecred_buf text;     /* the last signed checkpoint */
    uint64_t size;
    int64_t made_at;
} audit_pub;

/* origin is derived from iss (spaces and '+' become '-', "/audit" added). */
void audit_pub_init(audit_pub *p, const char *iss);
void audit_pub_free(audit_pub *p);
/* The current checkpoint text into out (a copy). */
ecred_err audit_pub_checkpoint(audit_pub *p, reg_db *db, keyring *keys, int64_t now,
                               ecred_buf *out);

#endif
