/*
 * pop.c - holder proof of possession at issuance (see pop.h): stateless
 * c_nonces and the OpenID4VCI "jwt" proof check. The JWT is parsed by hand
 * into its three segments, each capped before decoding; the header and
 * claims are strict JSON objects with exactly the members we name, so a
 * proof means one thing only. Must never: log a proof or a nonce.
 */
#include "pop.h"

#include <jansson.h>
#include <string.h>

#include "ecred/b64url.h"
#include "ecred/buf.h"
#include "ecred/crypto.h"

#define NONCE_RAW 28 /* generation (4) || expiry (8) || MAC (16) */
#define NONCE_TAG "ecred-holder-nonce"

/* Constant time: a MAC compared byte by byte early-out would leak how much
 * of a forged nonce was right. */
static bool equal_ct(const uint8_t *a, const uint8_t *b, size_t n)
{
    unsigned diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned)(a[i] ^ b[i]);
    return diff == 0;
}

static void put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* MAC over tag, app id, generation and expiry (the first 12 bytes of raw). */
static ecred_err nonce_mac(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                           const uint8_t head[12], uint8_t mac[32])
{
    uint8_t msg[sizeof NONCE_TAG + 64 + 12];
    size_t al = strlen(app_id);
    if (al > 64)
        return ECRED_ERR_ARG;
    memcpy(msg, NONCE_TAG, sizeof NONCE_TAG); /* with its NUL: a separator */
    memcpy(msg + sizeof NONCE_TAG, app_id, al);
    memcpy(msg + sizeof NONCE_TAG + al, head, 12);
    return ecred_hmac_sha256(secret, AUTH_SECRET_BYTES, msg, sizeof NONCE_TAG + al + 12, mac);
}

ecred_err pop_nonce_make(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id, uint32_t gen,
                         int64_t now, char out[POP_NONCE_TEXT_MAX + 1], int64_t *expires)
{
    uint8_t raw[NONCE_RAW], mac[32];
    int64_t exp = now + POP_NONCE_TTL;
    put_be(raw, gen, 4);
    put_be(raw + 4, (uint64_t)exp, 8);
    ecred_err e = nonce_mac(secret, app_id, raw, mac);
    if (e)
        return e;
    memcpy(raw + 12, mac, 16);
    ecred_buf b = ECRED_BUF_INIT;
    e = ecred_b64url_encode(raw, sizeof raw, &b);
    if (!e && b.len > POP_NONCE_TEXT_MAX)
        e = ECRED_ERR_INTERNAL;
    if (!e) {
        memcpy(out, b.ptr, b.len);
        out[b.len] = 0;
        *expires = exp;
    }
    ecred_buf_free(&b);
    return e;
}

ecred_err pop_nonce_check(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                          const char *nonce, int64_t now, uint32_t *gen)
{
    ecred_buf b = ECRED_BUF_INIT;
    size_t n = nonce ? strlen(nonce) : 0;
    if (n == 0 || n > POP_NONCE_TEXT_MAX || ecred_b64url_decode(nonce, n, NONCE_RAW, &b) != ECRED_OK ||
        b.len != NONCE_RAW) {
        ecred_buf_free(&b);
        return ECRED_ERR_INPUT;
    }
    uint8_t mac[32];
    ecred_err e = nonce_mac(secret, app_id, b.ptr, mac);
    if (!e && !equal_ct(mac, b.ptr + 12, 16))
        e = ECRED_ERR_INPUT;
    if (!e && (int64_t)get_be(b.ptr + 4, 8) < now)
        e = ECRED_ERR_EXPIRED;
    if (!e)
        *gen = (uint32_t)get_be(b.ptr, 4);
    ecred_buf_free(&b);
    return e;
}

/* A base64url segment decoded into a JSON object (strict: no duplicate
 * members), or NULL. */
static json_t *segment_json(const char *s, size_t n)
{
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_b64url_decode(s, n, POP_JWT_MAX, &b) != ECRED_OK)
        return NULL;
    json_t *o = b.len ? json_loadb((const char *)b.ptr, b.len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    ecred_buf_free(&b);
    if (o && !json_is_object(o)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* Whether o has only members named in allowed (NULL-terminated). */
static bool only_members(json_t *o, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        bool known = false;
        for (size_t i = 0; allowed[i] && !known; i++)
            known = strcmp(k, allowed[i]) == 0;
        if (!known)
            return false;
    }
    return true;
}

static bool str_is(json_t *o, const char *key, const char *want)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && strcmp(json_string_value(v), want) == 0 &&
           strlen(json_string_value(v)) == json_string_length(v);
}

/* A 32-byte coordinate from the jwk member key. */
static bool coord(json_t *jwk, const char *key, uint8_t out[32])
{
    json_t *v = json_object_get(jwk, key);
    ecred_buf b = ECRED_BUF_INIT;
    bool ok = json_is_string(v) && json_string_length(v) == 43 &&
              ecred_b64url_decode(json_string_value(v), 43, 32, &b) == ECRED_OK && b.len == 32;
    if (ok)
        memcpy(out, b.ptr, 32);
    ecred_buf_free(&b);
    return ok;
}

ecred_err pop_jwt_verify(const char *jwt, size_t n, const char *aud, int64_t now, pop_proof *out,
                         const char **why)
{
    static const char *const header_members[] = {"typ", "alg", "jwk", NULL};
    static const char *const jwk_members[] = {"kty", "crv", "x", "y", NULL};
    static const char *const claim_members[] = {"aud", "iat", "nonce", "iss", NULL};
    *why = "not a JWT of three base64url segments";
    if (!jwt || n == 0 || n > POP_JWT_MAX || memchr(jwt, 0, n))
        return ECRED_ERR_INPUT;
    const char *d1 = memchr(jwt, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - jwt)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - jwt)))
        return ECRED_ERR_INPUT;
    json_t *hdr = segment_json(jwt, (size_t)(d1 - jwt));
    json_t *claims = segment_json(d1 + 1, (size_t)(d2 - d1 - 1));
    ecred_buf sig = ECRED_BUF_INIT;
    ecred_key *key = NULL;
    ecred_err e = ECRED_ERR_INPUT;
    pop_proof p;
    memset(&p, 0, sizeof p);
    uint8_t y[32];
    if (!hdr || !claims)
        goto out;
    *why = "header must be exactly {typ: openid4vci-proof+jwt, alg: ES256, jwk}";
    json_t *jwk = json_object_get(hdr, "jwk");
    if (!only_members(hdr, header_members) || !str_is(hdr, "typ", POP_TYP) || !str_is(hdr, "alg", "ES256") ||
        !json_is_object(jwk))
        goto out;
    *why = "jwk must be exactly {kty: EC, crv: P-256, x, y} (a public key only)";
    if (!only_members(jwk, jwk_members) || !str_is(jwk, "kty", "EC") || !str_is(jwk, "crv", "P-256") ||
        !coord(jwk, "x", p.x) || !coord(jwk, "y", y))
        goto out;
    *why = "claims must be exactly {aud, iat, nonce} and an optional iss";
    json_t *iat = json_object_get(claims, "iat"), *nonce = json_object_get(claims, "nonce"),
           *iss = json_object_get(claims, "iss");
    if (!only_members(claims, claim_members) || !json_is_integer(iat) || !json_is_string(nonce) ||
        json_string_length(nonce) == 0 || json_string_length(nonce) > POP_NONCE_TEXT_MAX ||
        strlen(json_string_value(nonce)) != json_string_length(nonce) || (iss && !json_is_string(iss)) ||
        !json_is_string(json_object_get(claims, "aud")))
        goto out;
    *why = "aud must be this issuer's identifier";
    if (!str_is(claims, "aud", aud))
        goto out;
    *why = "iat is too far from the issuer's clock";
    p.iat = (int64_t)json_integer_value(iat);
    if (p.iat < now - POP_IAT_PAST || p.iat > now + POP_IAT_FUTURE)
        goto out;
    *why = "jwk is not a P-256 point";
    if (ecred_key_from_ec2(p.x, y, 32, false, &key) != ECRED_OK)
        goto out;
    *why = "signature must be 64 bytes of base64url (r||s)";
    size_t sl = n - (size_t)(d2 + 1 - jwt);
    if (ecred_b64url_decode(d2 + 1, sl, 64, &sig) != ECRED_OK || sig.len != 64)
        goto out;
    *why = "signature does not verify with the jwk";
    ecred_err ve = ecred_verify(key, (const uint8_t *)jwt, (size_t)(d2 - jwt), sig.ptr, sig.len);
    if (ve) {
        e = ve == ECRED_ERR_SIGNATURE_INVALID ? ECRED_ERR_INPUT : ve;
        goto out;
    }
    p.y_sign = (y[31] & 1) != 0;
    memcpy(p.nonce, json_string_value(nonce), json_string_length(nonce) + 1);
    *out = p;
    *why = NULL;
    e = ECRED_OK;
out:
    ecred_key_free(key);
    ecred_buf_free(&sig);
    json_decref(hdr);
    json_decref(claims);
    return e;
}
