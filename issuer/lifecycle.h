/*
 * lifecycle.h - what happens to applications and credentials, each change as
 * one registry transaction:
 *
 *   submitted --approve--> issued      (credential signed before, stored in
 *            \                          one transaction with the new state; a
 *             --reject---> rejected     replaced credential becomes INVALID in it too)
 *
 *   credential VALID <--suspend/resume--> SUSPENDED; VALID|SUSPENDED --revoke--> INVALID
 *
 * Each change is one reg_write: on a connection of a pool it runs on the
 * pool's writer, in a group commit shared with concurrent changes (its own
 * savepoint), and the call returns only after that COMMIT; on a lone
 * connection it is its own transaction. On failure it fills an lc_fail with
 * a DOMAIN code and a detail: this file knows no HTTP (views.c maps codes to
 * replies). The application body still arrives as jansson objects
 * (lc_application_in): the fields are validated and merged as JSON against
 * the registry's stored JSON, and a parsed struct would only move that code.
 */
#ifndef ECRED_ISSUER_LIFECYCLE_H
#define ECRED_ISSUER_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h> /* json_t inputs of lc_application_in only */

#include "issuerd.h"
#include "pop.h"

/* Why a lifecycle call failed. Append only: views.c (and later the API's
 * error table) maps each to a reply. */
typedef enum lc_code {
    LC_OK = 0,
    LC_NOT_FOUND,                  /* no such application or credential */
    LC_INVALID_FIELD,              /* a field's value is wrong (detail: "field: why") */
    LC_MISSING_FIELD,              /* a required field is absent (detail: "field: why") */
    LC_UNKNOWN_FIELD,              /* a field that does not exist (detail: "field: why") */
    LC_IDEMPOTENCY_KEY_REUSED,     /* the key came with a different request */
    LC_REPLACED_CREDENTIAL_INVALID,/* the credential to replace is INVALID or replaced */
    LC_APPLICATION_REJECTED,       /* approving a rejected application */
    LC_COMMITMENT_UNCONFIRMED,     /* kinship commitment not confirmed yet */
    LC_NO_COMMITMENT,              /* confirming an application without one */
    LC_INVALID_TRANSITION,         /* the action does not apply in the current state */
    LC_CANNOT_ISSUE,               /* the credential could not be built or signed */
    LC_REGISTRY_UNAVAILABLE,       /* the registry could not be written: retry */
    LC_INTERNAL,                   /* our bug or the environment's */
    LC_HOLDER_PROOF_INVALID,       /* the proof of possession JWT does not check out */
    LC_HOLDER_NONCE_INVALID,       /* its c_nonce is not ours, expired or used */
    LC_HOLDER_KEY_MISSING          /* holder_rebind approved before a key was bound */
} lc_code;

/* detail: for a field error "field: why" ("credential.valid_until: the
 * validity has already ended"); otherwise why, or the ecred_err name for
 * LC_CANNOT_ISSUE, LC_REGISTRY_UNAVAILABLE and LC_INTERNAL. Never personal
 * data (it may be logged). */
typedef struct lc_fail {
    lc_code code;
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

/* Approve and issue: the credential is signed outside the registry's write
 * lock, then approval and issuance commit as one write (see lifecycle.c).
 * *replayed when it was already issued (the same credential comes back). out
 * is owned by the caller. On failure the returned ecred_err is the cause
 * (for LC_CANNOT_ISSUE: ECRED_ERR_CREDENTIAL/CLAIMS when the data is at
 * fault, another error when the signer failed). */
ecred_err lc_approve(issuerd *d, reg_db *db, const char *app_id, const char *actor, int64_t now,
                     reg_credential *out, bool *replayed, lc_fail *fail);

ecred_err lc_reject(reg_db *db, const char *app_id, const char *reason, const char *actor,
                    int64_t now, lc_fail *fail);

/* The applicant confirms the kinship commitment by its SHA-256 (hex). */
ecred_err lc_confirm_commitment(reg_db *db, const char *app_id, const char *sha256_hex,
                                int64_t now, lc_fail *fail);

/* action: "suspend" | "resume" | "revoke". With out set, *out gets the
 * credential as the committed write left it (free with reg_credential_free),
 * so the reply never needs a second read: a read failing after the commit
 * would report an error for a change that was made, and a client retrying
 * it would be told the transition is invalid. */
ecred_err lc_status_action(reg_db *db, const char *cred_id, const char *action,
                           const char *reason, const char *actor, int64_t now, int *new_status,
                           reg_credential *out, lc_fail *fail);

/* A c_nonce for binding a holder key to a submitted application (spec/api.md
 * "Holder key"): stateless, valid until *expires, used up by the next
 * successful binding. LC_NOT_FOUND, LC_INVALID_TRANSITION once decided. */
ecred_err lc_holder_nonce(issuerd *d, reg_db *db, const char *app_id, int64_t now,
                          char nonce[POP_NONCE_TEXT_MAX + 1], int64_t *expires, lc_fail *fail);
/* Bind the key of a proof JWT (pop_jwt_verify, aud = our iss) over a c_nonce
 * of this application, as one write; the key goes into cnf at approval and
 * replaces an earlier binding. The caller has checked the applicant's
 * tracking code. x and *y_sign get the bound key. LC_HOLDER_PROOF_INVALID,
 * LC_HOLDER_NONCE_INVALID (not ours, expired or used), LC_INVALID_TRANSITION. */
ecred_err lc_holder_bind(issuerd *d, reg_db *db, const char *app_id, const char *jwt, size_t n,
                         int64_t now, uint8_t x[32], bool *y_sign, lc_fail *fail);

/* "valid" | "invalid" | "suspended" | "unknown". */
const char *lc_status_name(int status);
/* Whether s is a well-formed registry id (16 lower-case hex digits). */
bool lc_id_ok(const char *s);

#endif
