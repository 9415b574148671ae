/*
 * auth.h - API tokens, roles and applicant tracking codes.
 *
 * A token is 32 random bytes shown once as 64 hex digits; the registry keeps
 * only SHA-256 of it, so a copy of the database grants no access. A tracking
 * code lets an applicant follow their own application without a token: it is
 * HMAC-SHA256(tracking secret, "ecred-tracking:" || application id), truncated,
 * so the issuer never stores it and can give the same code on an idempotent
 * retry. Comparisons run in constant time.
 */
#ifndef ECRED_ISSUER_AUTH_H
#define ECRED_ISSUER_AUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/err.h"
#include "registry.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_HEX (2 * AUTH_TOKEN_BYTES)
#define AUTH_TRACKING_HEX 32
#define AUTH_SECRET_BYTES 32

/* Role bits (a route names the set it admits). */
#define ROLE_CLERK 1u
#define ROLE_OFFICER 2u
#define ROLE_ADMIN 4u

/* Role name -> bit; 0 for an unknown name. */
unsigned auth_role_from_name(const char *name);
const char *auth_role_name(unsigned role);

/* Make a token for role, store its hash, write the hex token (NUL-terminated)
 * into out. ECRED_ERR_INPUT for an unknown role. */
ecred_err auth_token_create(reg_db *db, const char *role, char out[AUTH_TOKEN_HEX + 1]);
/* The same with a label for people ("" for none) and an expiry (Unix time,
 * 0: never); the token stops working at expires_at. */
ecred_err auth_token_create_labeled(reg_db *db, const char *role, const char *label,
                                    int64_t expires_at, char out[AUTH_TOKEN_HEX + 1]);

/* Resolve the value of an Authorization header ("Bearer <hex>"). On success
 * *role is the token's role bit and actor names the token without revealing it
 * ("token:" + first 8 hex of its hash). ECRED_ERR_KEY_UNKNOWN when the header
 * is malformed or the token unknown. */
ecred_err auth_bearer(reg_db *db, const char *header, unsigned *role, char actor[24]);

/* Tracking code of an application (NUL-terminated hex). */
void auth_tracking_code(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                        char out[AUTH_TRACKING_HEX + 1]);
/* Constant-time check of a presented tracking code. */
bool auth_tracking_ok(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                      const char *presented);

/* HMAC-SHA256 (RFC 2104) over the SHA-256 that crypto.h offers; messages up
 * to AUTH_HMAC_MSG_MAX bytes (ECRED_ERR_ARG beyond), keys of any length. */
#define AUTH_HMAC_MSG_MAX 256
ecred_err auth_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
                           uint8_t out[32]);

#endif
