/*
 * resident.c - pending logins and sessions of residents (see resident.h),
 * kept in the registry through reg_login_* and reg_session_*.
 *
 * Every write is its own reg_write: a login row, a session row, a touch, a
 * sign-out, a prune. The one-use guarantee of a login state is the
 * registry's (reg_login_take deletes and returns in one statement), not a
 * lock of this process, because the callback may reach another instance.
 *
 * Must never: store a cookie value or a CSRF token (only their hashes),
 * return a session past its idle or absolute expiry, or let a login state
 * be taken twice.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "ecred/crypto.h"
#include "resident.h"

struct res_store {
    pthread_mutex_t lock;
    int64_t pruned_at;   /* when this instance last deleted expired rows */
};

/* Label of the CSRF token's derivation from the cookie value. */
static const char RES_CSRF_LABEL[] = "ecred resident csrf v1";

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

/* SHA-256 of a token's text (state, cookie value, CSRF token). */
static void res_hash(const char *token, uint8_t out[32])
{
    ecred_sha256((const uint8_t *)token, strlen(token), out);
}

/* The CSRF token of a cookie value: base64url(SHA-256(label, 0, cookie)). */
static void res_csrf_of(const char *cookie, char out[RES_TOKEN_LEN + 1])
{
    uint8_t buf[sizeof RES_CSRF_LABEL + RES_TOKEN_LEN];
    memcpy(buf, RES_CSRF_LABEL, sizeof RES_CSRF_LABEL);
    memcpy(buf + sizeof RES_CSRF_LABEL, cookie, RES_TOKEN_LEN);
    uint8_t h[32];
    ecred_sha256(buf, sizeof buf, h);
    res_b64url(h, sizeof h, out, RES_TOKEN_LEN + 1);
    OPENSSL_cleanse(buf, sizeof buf);
    OPENSSL_cleanse(h, sizeof h);
}

/* Delete expired rows, at most every RES_PRUNE_S on this instance (another
 * instance pruning meanwhile is harmless: the DELETEs are idempotent). A
 * failure is left to the next time: expiry is checked on every read. */
static ecred_err res_prune_fn(reg_db *db, void *ctx)
{
    const int64_t *now = ctx;
    return reg_resident_prune(db, *now, RES_SESSION_IDLE_S, NULL);
}

/* Prune now if this instance has not for RES_PRUNE_S (best effort). */
static void res_maybe_prune(res_store *s, reg_db *db, int64_t now)
{
    pthread_mutex_lock(&s->lock);
    bool due = now - s->pruned_at >= RES_PRUNE_S;
    if (due)
        s->pruned_at = now;
    pthread_mutex_unlock(&s->lock);
    if (due) {
        bool failed;
        (void)reg_write(db, res_prune_fn, &now, &failed);
    }
}

typedef struct res_login_ctx {
    uint8_t state_hash[32];
    char nonce[RES_TOKEN_LEN + 1];
    char verifier[RES_TOKEN_LEN + 1];
    int64_t now;
} res_login_ctx;

/* reg_write fn: store the pending login of ctx (a res_login_ctx). */
static ecred_err res_login_put_fn(reg_db *db, void *ctx)
{
    res_login_ctx *c = ctx;
    return reg_login_put(db, c->state_hash, c->nonce, c->verifier, c->now, c->now + RES_LOGIN_TTL_S,
                         RES_LOGINS_MAX);
}

ecred_err res_login_begin(res_store *s, reg_db *db, int64_t now, char state[RES_TOKEN_LEN + 1],
                          char nonce[RES_TOKEN_LEN + 1], char challenge[RES_TOKEN_LEN + 1])
{
    res_maybe_prune(s, db, now);
    res_login_ctx c;
    memset(&c, 0, sizeof c);
    char st[RES_TOKEN_LEN + 1];
    ecred_err e;
    if ((e = res_random_token(st, sizeof st, 32)) || (e = res_random_token(c.nonce, sizeof c.nonce, 32)) ||
        (e = res_random_token(c.verifier, sizeof c.verifier, 32)))
        goto out;
    res_hash(st, c.state_hash);
    c.now = now;
    bool failed;
    if ((e = reg_write(db, res_login_put_fn, &c, &failed)) != ECRED_OK) {
        if (e != ECRED_ERR_TOO_LARGE)
            e = ECRED_ERR_IO;
        goto out;
    }
    memcpy(state, st, sizeof st);
    memcpy(nonce, c.nonce, sizeof c.nonce);
    res_challenge(c.verifier, challenge);
out:
    OPENSSL_cleanse(&c, sizeof c);
    OPENSSL_cleanse(st, sizeof st);
    return e;
}

/* reg_write fn: take the login of ctx->state_hash into ctx's nonce and
 * verifier (both checked to be tokens of ours). */
static ecred_err res_login_take_fn(reg_db *db, void *ctx)
{
    res_login_ctx *c = ctx;
    c->nonce[0] = c->verifier[0] = 0; /* a rerun starts clean (CONTRACT 4) */
    char n[REG_LOGIN_SECRET_MAX + 1], v[REG_LOGIN_SECRET_MAX + 1];
    ecred_err e = reg_login_take(db, c->state_hash, c->now, n, v);
    if (!e) {
        if (strlen(n) != RES_TOKEN_LEN || strlen(v) != RES_TOKEN_LEN) {
            e = ECRED_ERR_KEY_UNKNOWN; /* not a row of ours */
        } else {
            memcpy(c->nonce, n, RES_TOKEN_LEN + 1);
            memcpy(c->verifier, v, RES_TOKEN_LEN + 1);
        }
    }
    OPENSSL_cleanse(n, sizeof n);
    OPENSSL_cleanse(v, sizeof v);
    return e;
}

ecred_err res_login_take(res_store *s, reg_db *db, const char *state, int64_t now,
                         char nonce[RES_TOKEN_LEN + 1], char verifier[RES_TOKEN_LEN + 1])
{
    (void)s;
    if (!state || strlen(state) != RES_TOKEN_LEN)
        return ECRED_ERR_KEY_UNKNOWN;
    res_login_ctx c;
    memset(&c, 0, sizeof c);
    res_hash(state, c.state_hash);
    c.now = now;
    bool failed;
    ecred_err e = reg_write(db, res_login_take_fn, &c, &failed);
    if (!e) {
        memcpy(nonce, c.nonce, sizeof c.nonce);
        memcpy(verifier, c.verifier, sizeof c.verifier);
    } else if (e != ECRED_ERR_KEY_UNKNOWN) {
        e = ECRED_ERR_IO;
    }
    OPENSSL_cleanse(&c, sizeof c);
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


/* reg_write fn: insert the reg_session ctx. */
static ecred_err res_session_put_fn(reg_db *db, void *ctx)
{
    return reg_session_put(db, ctx);
}

ecred_err res_session_create(res_store *s, reg_db *db, const oidc_identity *id, int64_t now,
                             char cookie[RES_TOKEN_LEN + 1])
{
    res_maybe_prune(s, db, now);
    reg_session n;
    memset(&n, 0, sizeof n);
    char value[RES_TOKEN_LEN + 1], csrf[RES_TOKEN_LEN + 1];
    ecred_err e;
    if ((e = res_random_token(value, sizeof value, 32)) != ECRED_OK)
        return e;
    res_hash(value, n.hash);
    res_csrf_of(value, csrf);
    res_hash(csrf, n.csrf_hash);
    OPENSSL_cleanse(csrf, sizeof csrf);
    snprintf(n.name, sizeof n.name, "%s", id->name);
    snprintf(n.id_number, sizeof n.id_number, "%s", id->id_number);
    uint8_t sh[32];
    ecred_sha256((const uint8_t *)id->sub, strlen(id->sub), sh);
    snprintf(n.who, sizeof n.who, "resident:%02x%02x%02x%02x", sh[0], sh[1], sh[2], sh[3]);
    n.created_at = n.last_seen = now;
    /* The session ends with the ID token at the latest: the provider said
     * until when this identity is vouched for. */
    n.expires_at = now + RES_SESSION_MAX_S;
    if (id->exp > now && id->exp < n.expires_at && id->exp - now >= 300)
        n.expires_at = id->exp;
    bool failed;
    e = reg_write(db, res_session_put_fn, &n, &failed);
    OPENSSL_cleanse(&n, sizeof n);
    if (e) {
        OPENSSL_cleanse(value, sizeof value);
        return ECRED_ERR_IO;
    }
    memcpy(cookie, value, sizeof value);
    OPENSSL_cleanse(value, sizeof value);
    return ECRED_OK;
}

typedef struct res_touch_ctx {
    uint8_t hash[32];
    int64_t now;
} res_touch_ctx;

/* reg_write fn: record activity of the session ctx names. */
static ecred_err res_touch_fn(reg_db *db, void *ctx)
{
    res_touch_ctx *c = ctx;
    return reg_session_touch(db, c->hash, c->now);
}

/* reg_write fn: delete the session ctx names. */
static ecred_err res_delete_fn(reg_db *db, void *ctx)
{
    res_touch_ctx *c = ctx;
    return reg_session_delete(db, c->hash);
}

ecred_err res_session_from_cookie(res_store *s, reg_db *db, const char *cookie_header, int64_t now,
                                  res_session *out)
{
    (void)s;
    char value[RES_TOKEN_LEN + 1];
    if (!res_cookie_value(cookie_header, value))
        return ECRED_ERR_KEY_UNKNOWN;
    res_touch_ctx t;
    res_hash(value, t.hash);
    t.now = now;
    reg_session row;
    ecred_err e = reg_session_get(db, t.hash, &row);
    if (e) {
        OPENSSL_cleanse(value, sizeof value);
        return e == ECRED_ERR_KEY_UNKNOWN ? e : ECRED_ERR_IO;
    }
    if (row.expires_at <= now || row.last_seen + RES_SESSION_IDLE_S <= now) {
        /* Over: the row goes at the next prune; nobody can use it meanwhile. */
        OPENSSL_cleanse(value, sizeof value);
        OPENSSL_cleanse(&row, sizeof row);
        return ECRED_ERR_KEY_UNKNOWN;
    }
    if (now - row.last_seen >= RES_TOUCH_S) {
        /* A failed touch costs at most an earlier idle end: not worth a 503. */
        bool failed;
        (void)reg_write(db, res_touch_fn, &t, &failed);
    }
    res_session r;
    memset(&r, 0, sizeof r);
    snprintf(r.name, sizeof r.name, "%s", row.name);
    snprintf(r.id_number, sizeof r.id_number, "%s", row.id_number);
    snprintf(r.who, sizeof r.who, "%s", row.who);
    memcpy(r.csrf_hash, row.csrf_hash, 32);
    res_csrf_of(value, r.csrf);
    r.expires_at = row.expires_at;
    *out = r;
    OPENSSL_cleanse(&r, sizeof r);
    OPENSSL_cleanse(&row, sizeof row);
    OPENSSL_cleanse(value, sizeof value);
    return ECRED_OK;
}

bool res_csrf_ok(const res_session *sess, const char *header)
{
    if (!header || strlen(header) != RES_TOKEN_LEN)
        return false;
    uint8_t h[32];
    res_hash(header, h);
    return CRYPTO_memcmp(h, sess->csrf_hash, sizeof h) == 0;
}

ecred_err res_session_end(res_store *s, reg_db *db, const char *cookie_header)
{
    (void)s;
    char value[RES_TOKEN_LEN + 1];
    if (!res_cookie_value(cookie_header, value))
        return ECRED_OK;
    res_touch_ctx t;
    res_hash(value, t.hash);
    t.now = 0;
    OPENSSL_cleanse(value, sizeof value);
    bool failed;
    return reg_write(db, res_delete_fn, &t, &failed) == ECRED_OK ? ECRED_OK : ECRED_ERR_IO;
}
