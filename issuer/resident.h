/*
 * resident.h - the resident's sign-in state on the issuer: pending logins
 * (state -> nonce and PKCE verifier, one use, ten minutes) and sessions
 * (cookie -> verified identity and CSRF token, with idle and absolute
 * expiry), both in memory, bounded.
 *
 * Sessions live in this process only: a restart or another issuer instance
 * means signing in again (a few seconds at the identity provider, no data
 * lost: applications and credentials are in the registry). The cookie value
 * is 256 random bits; the table keeps only its SHA-256, so a memory dump or
 * a timing side channel on the lookup does not give out a usable cookie.
 *
 * Must never: hand out a session for a state used twice or expired; keep a
 * cookie value or a PKCE verifier after it is used (wiped); log an identity.
 */
#ifndef ECRED_ISSUER_RESIDENT_H
#define ECRED_ISSUER_RESIDENT_H

#include <stdint.h>

#include "ecred/buf.h"
#include "oidc.h"

#define RES_TOKEN_LEN 43          /* 32 random bytes as base64url, no padding */
#define RES_LOGINS_MAX 1024       /* pending logins at once */
#define RES_SESSIONS_MAX 4096
#define RES_LOGIN_TTL_S 600
#define RES_SESSION_IDLE_S 1800   /* half an hour without a request */
#define RES_SESSION_MAX_S 28800   /* eight hours however active */
#define RES_COOKIE "ecred_resident"

typedef struct res_store res_store;

/* What a handler knows of the signed-in resident (a copy). */
typedef struct res_session {
    char name[OIDC_NAME_MAX + 1];
    char id_number[OIDC_ID_NUMBER_LEN + 1];
    char csrf[RES_TOKEN_LEN + 1];
    char who[24];                 /* "resident:" + 8 hex of SHA-256(sub): logs, audit */
    int64_t expires_at;
} res_session;

ecred_err res_store_new(res_store **out);
void res_store_free(res_store *s);

/* base64url (no padding) of n random bytes into out (cap >= 4n/3 + 2). */
ecred_err res_random_token(char *out, size_t cap, size_t n);

/* Start a login: new state, nonce, PKCE verifier and its S256 challenge.
 * ECRED_ERR_TOO_LARGE when RES_LOGINS_MAX unexpired logins are pending. */
ecred_err res_login_begin(res_store *s, int64_t now, char state[RES_TOKEN_LEN + 1],
                          char nonce[RES_TOKEN_LEN + 1], char challenge[RES_TOKEN_LEN + 1]);
/* Take (and forget) a pending login by state: its nonce and verifier.
 * ECRED_ERR_KEY_UNKNOWN for an unknown, used or expired state. */
ecred_err res_login_take(res_store *s, const char *state, int64_t now,
                         char nonce[RES_TOKEN_LEN + 1], char verifier[RES_TOKEN_LEN + 1]);

/* A new session for a verified identity; the cookie value goes to cookie
 * (set it, then forget it). Evicts the session closest to expiry when full. */
ecred_err res_session_create(res_store *s, const oidc_identity *id, int64_t now,
                             char cookie[RES_TOKEN_LEN + 1]);
/* The session a Cookie header names (the RES_COOKIE pair); refreshes its
 * idle time. ECRED_ERR_KEY_UNKNOWN when none is valid. */
ecred_err res_session_from_cookie(res_store *s, const char *cookie_header, int64_t now,
                                  res_session *out);
/* End the session the Cookie header names (sign out); no-op when none. */
void res_session_end(res_store *s, const char *cookie_header);

#endif
