/*
 * pop.h - proof of possession of a holder key at issuance (spec/api.md
 * section "Holder key"), after OpenID4VCI's "jwt" proof type: the issuer
 * hands out a c_nonce for one application; the phone signs a JWT
 * {typ: openid4vci-proof+jwt, alg: ES256, jwk: its P-256 key} with claims
 * {aud: our iss, iat, nonce: c_nonce}; we check it and bind the key.
 *
 * Nonces are stateless (an HMAC under the daemon's tracking secret over the
 * application id, a binding generation and an expiry), so every issuer
 * instance sharing a registry accepts every other's; they are single use
 * because a successful binding raises the application's generation, which
 * kills every nonce handed out before it.
 *
 * Must never: accept a JWK with a private part, a proof over another nonce,
 * audience or algorithm, or one whose signature is not over the bytes sent.
 */
#ifndef ECRED_ISSUER_POP_H
#define ECRED_ISSUER_POP_H

#include <stdbool.h>
#include <stdint.h>

#include "auth.h"
#include "ecred/err.h"

#define POP_NONCE_TTL ((int64_t)300)    /* seconds a c_nonce may be answered */
#define POP_NONCE_TEXT_MAX 40           /* base64url of 28 bytes is 38 */
#define POP_JWT_MAX 2048                /* a proof JWT, characters */
#define POP_IAT_PAST ((int64_t)300)     /* a proof may be this old ... */
#define POP_IAT_FUTURE ((int64_t)60)    /* ... or this far ahead of our clock */
#define POP_TYP "openid4vci-proof+jwt"

/* A c_nonce for application app_id at binding generation gen, valid until
 * *expires (now + POP_NONCE_TTL); out is NUL-terminated. ECRED_ERR_CRYPTO. */
ecred_err pop_nonce_make(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id, uint32_t gen,
                         int64_t now, char out[POP_NONCE_TEXT_MAX + 1], int64_t *expires);
/* Whether nonce is a c_nonce we made for app_id, not expired at now; *gen
 * gets its generation (the caller compares it with the stored one).
 * ECRED_ERR_INPUT when not ours or malformed, ECRED_ERR_EXPIRED when late. */
ecred_err pop_nonce_check(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                          const char *nonce, int64_t now, uint32_t *gen);

typedef struct pop_proof {
    uint8_t x[32];                          /* the holder key as cnf carries it */
    bool y_sign;
    char nonce[POP_NONCE_TEXT_MAX + 1];
    int64_t iat;
} pop_proof;

/* Check a proof JWT (n characters): header exactly {typ, alg: ES256, jwk
 * {kty: EC, crv: P-256, x, y}}, claims exactly {aud, iat, nonce} and an
 * optional iss, aud equal to `aud`, iat within [now - POP_IAT_PAST, now +
 * POP_IAT_FUTURE], and the ES256 signature over the first two segments as
 * sent, by the jwk. On success *out holds the key and the nonce (not yet
 * checked: pop_nonce_check). ECRED_ERR_INPUT with *why (a static string)
 * otherwise; ECRED_ERR_NOMEM. */
ecred_err pop_jwt_verify(const char *jwt, size_t n, const char *aud, int64_t now, pop_proof *out,
                         const char **why);

#endif
