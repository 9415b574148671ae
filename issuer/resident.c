/*
 * resident.c - pending logins and sessions of residents (see resident.h).
 *
 * Both tables are small fixed arrays under one mutex: a lookup is a scan
 * of at most a few thousand 32-byte hashes, far below a request's cost,
 * and a fixed size is the bound that keeps a flood of logins from growing
 * memory.
 *
 * Must never: store a cookie value (only its hash), return a session past
 * its idle or absolute expiry, or let a login state be taken twice.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "ecred/crypto.h"
#include "resident.h"

typedef struct res_login {
    char state[RES_TOKEN_LEN + 1];
    char nonce[RES_TOKEN_LEN + 1];
    char verifier[RES_TOKEN_LEN + 1];
    int64_t expires_at; /* 0: free slot */
} res_login;

typedef struct res_slot {
    uint8_t hash[32];
    int64_t created_at, last_seen; /* created_at 0: free slot */
    res_session s;
} res_slot;

struct res_store {
    pthread_mutex_t lock;
    res_login logins[RES_LOGINS_MAX];
    res_slot sessions[RES_SESSIONS_MAX];
};

ecred_err res_store_new(res_store **out)
{
    res_store *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    pthread_mutex_init(&s->lock, NULL);
    *out = s;
    return ECRED_OK;
}

void res_store_free(res_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    OPENSSL_cleanse(s, sizeof *s);
    free(s);
}

/* base64url without padding of n bytes. */
static void res_b64url(const uint8_t *p, size_t n, char *out, size_t cap)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        size_t chars = n - i >= 3 ? 4 : n - i + 1;
        for (size_t k = 0; k < chars && o + 1 < cap; k++)
            out[o++] = a[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = 0;
}

ecred_err res_random_token(char *out, size_t cap, size_t n)
{
    uint8_t r[64];
    if (n > sizeof r || cap < (n * 4 + 2) / 3 + 1)
        return ECRED_ERR_ARG;
    ecred_err e = ecred_random(r, n);
    if (!e)
        res_b64url(r, n, out, cap);
    OPENSSL_cleanse(r, sizeof r);
    return e;
}

/* S256: base64url(SHA-256(verifier)) (RFC 7636 section 4.2). */
static void res_challenge(const char *verifier, char out[RES_TOKEN_LEN + 1])
{
    uint8_t h[32];
    ecred_sha256((const uint8_t *)verifier, strlen(verifier), h);
    res_b64url(h, sizeof h, out, RES_TOKEN_LEN + 1);
}

ecred_err res_login_begin(res_store *s, int64_t now, char state[RES_TOKEN_LEN + 1],
                          char nonce[RES_TOKEN_LEN + 1], char challenge[RES_TOKEN_LEN + 1])
{
    res_login l;
    memset(&l, 0, sizeof l);
    ecred_err e;
    if ((e = res_random_token(l.state, sizeof l.state, 32)) ||
        (e = res_random_token(l.nonce, sizeof l.nonce, 32)) ||
        (e = res_random_token(l.verifier, sizeof l.verifier, 32)))
        return e;
    l.expires_at = now + RES_LOGIN_TTL_S;
    pthread_mutex_lock(&s->lock);
    res_login *slot = NULL;
    for (size_t i = 0; i < RES_LOGINS_MAX && !slot; i++)
        if (s->logins[i].expires_at <= now)
            slot = &s->logins[i];
    if (slot)
        *slot = l;
    pthread_mutex_unlock(&s->lock);
    if (!slot) {
        OPENSSL_cleanse(&l, sizeof l);
        return ECRED_ERR_TOO_LARGE;
    }
    memcpy(state, l.state, sizeof l.state);
    memcpy(nonce, l.nonce, sizeof l.nonce);
    res_challenge(l.verifier, challenge);
    OPENSSL_cleanse(&l, sizeof l);
    return ECRED_OK;
}

ecred_err res_login_take(res_store *s, const char *state, int64_t now,
                         char nonce[RES_TOKEN_LEN + 1], char verifier[RES_TOKEN_LEN + 1])
{
    if (!state || strlen(state) != RES_TOKEN_LEN)
        return ECRED_ERR_KEY_UNKNOWN;
    ecred_err e = ECRED_ERR_KEY_UNKNOWN;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < RES_LOGINS_MAX; i++) {
        res_login *l = &s->logins[i];
        if (l->expires_at > now && CRYPTO_memcmp(l->state, state, RES_TOKEN_LEN) == 0) {
            memcpy(nonce, l->nonce, sizeof l->nonce);
            memcpy(verifier, l->verifier, sizeof l->verifier);
            OPENSSL_cleanse(l, sizeof *l); /* one use */
            e = ECRED_OK;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return e;
}

/* The value of the RES_COOKIE pair in a Cookie header (into out). */
static bool res_cookie_value(const char *hdr, char out[RES_TOKEN_LEN + 1])
{
    if (!hdr)
        return false;
    const size_t nl = strlen(RES_COOKIE);
    for (const char *p = hdr; *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == nl + 1 + RES_TOKEN_LEN && strncmp(p, RES_COOKIE, nl) == 0 && p[nl] == '=') {
            memcpy(out, p + nl + 1, RES_TOKEN_LEN);
            out[RES_TOKEN_LEN] = 0;
            return true;
        }
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

ecred_err res_session_create(res_store *s, const oidc_identity *id, int64_t now,
                             char cookie[RES_TOKEN_LEN + 1])
{
    res_slot n;
    memset(&n, 0, sizeof n);
    char value[RES_TOKEN_LEN + 1];
    ecred_err e;
    if ((e = res_random_token(value, sizeof value, 32)) ||
        (e = res_random_token(n.s.csrf, sizeof n.s.csrf, 32)))
        return e;
    ecred_sha256((const uint8_t *)value, RES_TOKEN_LEN, n.hash);
    memcpy(n.s.name, id->name, sizeof n.s.name);
    memcpy(n.s.id_number, id->id_number, sizeof n.s.id_number);
    uint8_t sh[32];
    ecred_sha256((const uint8_t *)id->sub, strlen(id->sub), sh);
    snprintf(n.s.who, sizeof n.s.who, "resident:%02x%02x%02x%02x", sh[0], sh[1], sh[2], sh[3]);
    n.created_at = n.last_seen = now;
    /* The session ends with the ID token at the latest: the provider said
     * until when this identity is vouched for. */
    n.s.expires_at = now + RES_SESSION_MAX_S;
    if (id->exp > now && id->exp < n.s.expires_at && id->exp - now >= 300)
        n.s.expires_at = id->exp;
    pthread_mutex_lock(&s->lock);
    res_slot *slot = NULL;
    for (size_t i = 0; i < RES_SESSIONS_MAX; i++) {
        res_slot *c = &s->sessions[i];
        if (c->created_at == 0 || c->s.expires_at <= now || c->last_seen + RES_SESSION_IDLE_S <= now) {
            slot = c;
            break;
        }
        if (!slot || c->s.expires_at < slot->s.expires_at)
            slot = c;
    }
    *slot = n;
    pthread_mutex_unlock(&s->lock);
    memcpy(cookie, value, sizeof value);
    OPENSSL_cleanse(value, sizeof value);
    OPENSSL_cleanse(&n, sizeof n);
    return ECRED_OK;
}

/* The live slot with this cookie's hash (lock held), or NULL. */
static res_slot *res_find(res_store *s, const char *cookie_header, int64_t now)
{
    char value[RES_TOKEN_LEN + 1];
    if (!res_cookie_value(cookie_header, value))
        return NULL;
    uint8_t h[32];
    ecred_sha256((const uint8_t *)value, RES_TOKEN_LEN, h);
    OPENSSL_cleanse(value, sizeof value);
    for (size_t i = 0; i < RES_SESSIONS_MAX; i++) {
        res_slot *c = &s->sessions[i];
        if (c->created_at && memcmp(c->hash, h, sizeof h) == 0) {
            if (c->s.expires_at <= now || c->last_seen + RES_SESSION_IDLE_S <= now) {
                OPENSSL_cleanse(c, sizeof *c);
                return NULL;
            }
            return c;
        }
    }
    return NULL;
}

ecred_err res_session_from_cookie(res_store *s, const char *cookie_header, int64_t now,
                                  res_session *out)
{
    pthread_mutex_lock(&s->lock);
    res_slot *c = res_find(s, cookie_header, now);
    if (c) {
        c->last_seen = now;
        *out = c->s;
    }
    pthread_mutex_unlock(&s->lock);
    return c ? ECRED_OK : ECRED_ERR_KEY_UNKNOWN;
}

void res_session_end(res_store *s, const char *cookie_header)
{
    pthread_mutex_lock(&s->lock);
    res_slot *c = res_find(s, cookie_header, INT64_MIN + 1);
    if (c)
        OPENSSL_cleanse(c, sizeof *c);
    pthread_mutex_unlock(&s->lock);
}
