/*
 * oidc.h - the resident's identity from the city's OpenID Connect provider:
 * discovery, the JWKS cache with rotation, the authorization request (code +
 * PKCE S256), the code exchange and ID token verification. cjose (JWS and
 * JWK) is behind this one file; no other file sees a JWT.
 *
 * The provider's keys are cached; a token whose kid is not in the cache
 * makes one refetch of the JWKS (a provider rotating its keys), at most once
 * per refetch_min_s so a stream of tokens with made-up kids cannot turn the
 * issuer into a load generator against the provider.
 *
 * An ID token is accepted only when: compact JWS, alg RS256 or ES256 (never
 * "none", never HMAC: the client has no secret), the kid names a key of the
 * matching type in the provider's JWKS, the signature verifies, iss is the
 * configured issuer, aud contains the audience (and azp, when aud has
 * several, is our client), exp is in the future and iat not in the future
 * (both with leeway), nonce equals the one this login sent, and the identity
 * claims (sub, name, id_number) are present and sane.
 *
 * Must never: accept a token on a failed or skipped check, log a token or an
 * identity, or fetch keys more often than refetch_min_s for unknown kids.
 */
#ifndef ECRED_ISSUER_OIDC_H
#define ECRED_ISSUER_OIDC_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"

#define OIDC_SUB_MAX 255
#define OIDC_NAME_MAX 64       /* bytes of UTF-8, as a credential's name */
#define OIDC_ID_NUMBER_LEN 18
#define OIDC_TOKEN_MAX 16384   /* an ID token larger than this is refused unread */
#define OIDC_DOC_MAX 65536     /* discovery, JWKS and token answers */
#define OIDC_JWKS_KEYS_MAX 16
#define OIDC_URL_MAX 512

typedef struct oidc_provider oidc_provider;

/* Fetch url (GET when form is NULL, else POST form as
 * application/x-www-form-urlencoded) into out; *status the HTTP status.
 * The default goes through outcall.h; tests plug in their own. */
typedef ecred_err (*oidc_fetch_fn)(void *ctx, const char *url, const char *form, long *status,
                                   ecred_buf *out);

typedef struct oidc_config {
    const char *issuer;        /* https://id.example (http only on loopback, for tests) */
    const char *client_id;
    const char *audience;      /* NULL: client_id */
    const char *redirect_uri;  /* our /v1/resident/callback as the provider knows it */
    unsigned refetch_min_s;    /* 0: 30 */
    unsigned leeway_s;         /* clock skew allowed on exp/iat; 0: 60 */
    oidc_fetch_fn fetch;       /* NULL: libcurl (outcall.h) */
    void *fetch_ctx;
} oidc_config;

/* Why a token was refused: the detail an error reply carries (no personal data). */
typedef enum oidc_reject {
    OIDC_ACCEPTED = 0,
    OIDC_MALFORMED,      /* not a compact JWS of JSON claims */
    OIDC_ALG,            /* alg not RS256/ES256, or not the key's type */
    OIDC_UNKNOWN_KEY,    /* kid not in the provider's JWKS, even after a refetch */
    OIDC_SIGNATURE,      /* the signature does not verify */
    OIDC_ISSUER,         /* iss is not the configured provider */
    OIDC_AUDIENCE,       /* aud does not name us (or azp is another client) */
    OIDC_EXPIRED,        /* exp passed */
    OIDC_IAT,            /* iat missing or in the future */
    OIDC_NONCE,          /* nonce missing or not this login's */
    OIDC_IDENTITY,       /* sub, name or id_number missing or malformed */
    OIDC_UNAVAILABLE     /* the provider's keys could not be fetched */
} oidc_reject;

typedef struct oidc_identity {
    char sub[OIDC_SUB_MAX + 1];
    char name[OIDC_NAME_MAX + 1];
    char id_number[OIDC_ID_NUMBER_LEN + 1];
    int64_t exp;
} oidc_identity;

/* Check cfg and copy it (strings too). Nothing is fetched yet: discovery
 * runs on first use, so the issuer starts while the provider is down.
 * ECRED_ERR_ARG for a missing field, ECRED_ERR_INPUT for an issuer that is
 * not https (or http on 127.0.0.1/[::1]/localhost). */
ecred_err oidc_open(const oidc_config *cfg, oidc_provider **out);
void oidc_close(oidc_provider *p);

/* The URL to send the browser to: authorization endpoint with response_type
 * code, scope "openid profile", state, nonce and the S256 challenge.
 * ECRED_ERR_IO when discovery failed. */
ecred_err oidc_authorize_url(oidc_provider *p, const char *state, const char *nonce,
                             const char *code_challenge, char *out, size_t cap);

/* Exchange an authorization code (with its PKCE verifier) at the token
 * endpoint and verify the ID token in the answer against nonce: *why says
 * which check failed. ECRED_OK only with *why == OIDC_ACCEPTED and out set;
 * ECRED_ERR_IO when the provider could not be reached or refused the code. */
ecred_err oidc_exchange_code(oidc_provider *p, const char *code, const char *code_verifier,
                             const char *nonce, int64_t now, oidc_identity *out,
                             oidc_reject *why);

/* Verify one ID token (see the banner). ECRED_OK only when accepted. */
ecred_err oidc_verify_id_token(oidc_provider *p, const char *token, const char *nonce, int64_t now,
                               oidc_identity *out, oidc_reject *why);

/* A short English phrase for a reject reason (error details, logs). */
const char *oidc_reject_text(oidc_reject why);

/* Counters for tests and /metrics: JWKS fetches made so far. */
unsigned oidc_jwks_fetches(oidc_provider *p);

#endif
