/*
 * resident.h - the resident's sign-in state on the issuer: pending logins
 * (state -> nonce and PKCE verifier, one use, ten minutes) and sessions
 * (cookie -> verified identity and CSRF token, with idle and absolute
 * expiry), both kept in the registry (registry.h, "resident sessions"), so that every
 * issuer instance on one registry knows them: a sign-in started on one
 * instance may come back to another, a session made on one works on all,
 * and a sign-out on one ends it on all.
 *
 * What is stored is the least that works: a login row is keyed by the
 * SHA-256 of its state; a session row by the SHA-256 of the cookie value
 * (256 random bits), with the name, ID number, an actor tag of the subject
 * (never sub itself), the SHA-256 of the CSRF token and its times. The CSRF
 * token is derived from the cookie (SHA-256 of a label and the cookie
 * value), so neither the cookie nor the token can be read out of the
 * registry, and /me can still hand the token to the page.
 *
 * Must never: hand out a session for a state used twice or expired; store
 * or log a cookie value; keep a PKCE verifier after it is used (wiped);
 * log an identity.
 */
#ifndef ECRED_ISSUER_RESIDENT_H
#define ECRED_ISSUER_RESIDENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "oidc.h"
#include "registry.h"

#define RES_TOKEN_LEN 43          /* 32 random bytes as base64url, no padding */
/* Pending logins at once across every instance of the registry: anyone can
 * start one, so a flood of /login calls must stop at a bound. (It was per
 * instance while logins lived in memory; 1024 started within ten minutes is
 * still far above a city's sign-in rate.) */
#define RES_LOGINS_MAX 1024
#define RES_LOGIN_TTL_S 600
#define RES_SESSION_IDLE_S 1800   /* half an hour without a request */
#define RES_SESSION_MAX_S 28800   /* eight hours however active */
/* last_seen is written at most this often per session: a page load makes
 * several requests, and each would otherwise be a registry write. */
#define RES_TOUCH_S 60
/* Expired logins and sessions are deleted at most this often per instance. */
#define RES_PRUNE_S 60
#define RES_COOKIE "ecred_resident"

typedef struct res_store res_store;

/* What a handler knows of the signed-in resident (a copy). */
typedef struct res_session {
    char name[OIDC_NAME_MAX + 1];
    char id_number[OIDC_ID_NUMBER_LEN + 1];
    char csrf[RES_TOKEN_LEN + 1];  /* the token the page sends back (derived from the cookie) */
    uint8_t csrf_hash[32];         /* SHA-256 of the token, as stored */
    char who[24];                 /* "resident:" + 8 hex of SHA-256(sub): logs, audit */
    int64_t expires_at;
} res_session;

/* This instance's side of the store: only when it last pruned. */
ecred_err res_store_new(res_store **out);
void res_store_free(res_store *s);

/* base64url (no padding) of n random bytes into out (cap >= 4n/3 + 2). */
ecred_err res_random_token(char *out, size_t cap, size_t n);

/* Start a login: new state, nonce, PKCE verifier (stored in the registry)
 * and its S256 challenge. ECRED_ERR_TOO_LARGE when RES_LOGINS_MAX unexpired
 * logins are pending; ECRED_ERR_IO when the registry failed. */
ecred_err res_login_begin(res_store *s, reg_db *db, int64_t now, char state[RES_TOKEN_LEN + 1],
                          char nonce[RES_TOKEN_LEN + 1], char challenge[RES_TOKEN_LEN + 1]);
/* Take (and delete) a pending login by state: its nonce and verifier. Of
 * two takes of one state, on any instances, one wins. ECRED_ERR_KEY_UNKNOWN
 * for an unknown, used or expired state; ECRED_ERR_IO for the registry. */
ecred_err res_login_take(res_store *s, reg_db *db, const char *state, int64_t now,
                         char nonce[RES_TOKEN_LEN + 1], char verifier[RES_TOKEN_LEN + 1]);

/* A new session for a verified identity; the cookie value goes to cookie
 * (set it, then forget it). ECRED_ERR_IO when the registry failed. */
ecred_err res_session_create(res_store *s, reg_db *db, const oidc_identity *id, int64_t now,
                             char cookie[RES_TOKEN_LEN + 1]);
/* The session a Cookie header names (the RES_COOKIE pair); records
 * activity (at most every RES_TOUCH_S). ECRED_ERR_KEY_UNKNOWN when none is
 * valid (absent, signed out, idle or past its end); ECRED_ERR_IO when the
 * registry could not be asked. */
ecred_err res_session_from_cookie(res_store *s, reg_db *db, const char *cookie_header, int64_t now,
                                  res_session *out);
/* Whether header (X-CSRF-Token) is the session's token, in constant time. */
bool res_csrf_ok(const res_session *sess, const char *header);
/* End the session the Cookie header names (sign out) on every instance;
 * OK when there was none. */
ecred_err res_session_end(res_store *s, reg_db *db, const char *cookie_header);

#endif
