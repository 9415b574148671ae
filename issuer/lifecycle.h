/*
 * lifecycle.h - what happens to applications and credentials, each change as
 * one registry transaction:
 *
 *   submitted --approve--> issued      (credential signed and stored in the
 *            \                          same transaction; a replaced credential
 *             --reject---> rejected     becomes INVALID in it too)
 *
 *   credential VALID <--suspend/resume--> SUSPENDED; VALID|SUSPENDED --revoke--> INVALID
 *
 * Each change is one reg_write: on a connection of a pool it runs on the
 * pool's writer, in a group commit shared with concurrent changes (its own
 * savepoint), and the call returns only after that COMMIT; on a lone
 * connection it is its own transaction. On failure it fills an lc_fail with
 * the HTTP status, a stable code and the offending field (if any) for the
 * handler to reply with.
 */
#ifndef ECRED_ISSUER_LIFECYCLE_H
#define ECRED_ISSUER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "issuerd.h"

typedef struct lc_fail {
    unsigned status;
    const char *code;
    const char *hint;
    char detail[160];
} lc_fail;

#define LC_KINSHIP_NAME_MAX 64
#define LC_KINSHIP_RELATION_MAX 32

typedef struct lc_application_in {
    const char *kind;          /* residence_registration | permit_new | address_change | permit_renewal */
    const char *replaces;      /* credential id, NULL when none */
    json_t *credential;        /* borrowed JSON object (may be partial: reuse fills the rest) */
    json_t *kinship;           /* borrowed, NULL when none */
    const char *idem_key;      /* NULL when none */
    uint8_t request_hash[32];  /* SHA-256 of the request body (idempotency) */
    const char *actor;
} lc_application_in;

/* Validate, fill reused fields, store. *replayed is true when the
 * Idempotency-Key named an application made earlier by the same request. */
ecred_err lc_application_create(issuerd *d, reg_db *db, const lc_application_in *in, int64_t now,
                                char app_id[REG_ID_LEN + 1], bool *replayed, lc_fail *fail);

/* Approve and issue in one transaction. *replayed when it was already issued
 * (the same credential comes back). out is owned by the caller. */
ecred_err lc_approve(issuerd *d, reg_db *db, const char *app_id, const char *actor, int64_t now,
                     reg_credential *out, bool *replayed, lc_fail *fail);

ecred_err lc_reject(reg_db *db, const char *app_id, const char *reason, const char *actor,
                    int64_t now, lc_fail *fail);

/* The applicant confirms the kinship commitment by its SHA-256 (hex). */
ecred_err lc_confirm_commitment(reg_db *db, const char *app_id, const char *sha256_hex,
                                int64_t now, lc_fail *fail);

/* action: "suspend" | "resume" | "revoke". */
ecred_err lc_status_action(reg_db *db, const char *cred_id, const char *action,
                           const char *reason, const char *actor, int64_t now, int *new_status,
                           lc_fail *fail);

/* "valid" | "invalid" | "suspended" | "unknown". */
const char *lc_status_name(int status);
/* Whether s is a well-formed registry id (16 lower-case hex digits). */
bool lc_id_ok(const char *s);

#endif
