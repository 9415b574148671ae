/*
 * vchal.c - the store of outstanding challenges (see vchal.h). A flat array
 * under one mutex: a lookup scans it, which for the default 4096 entries is a
 * few microseconds next to the two ECDSA verifications that run before any
 * lookup (presentation.md section 4: challenges are consulted only once both
 * signatures hold). Used and expired challenges free their slot at once.
 */
#include "vchal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"

struct vchal_store {
    pthread_mutex_t mu;
    vchal_entry *e;
    bool *taken;
    size_t cap;
};

ecred_err vchal_create(size_t cap, vchal_store **out)
{
    if (!out || cap == 0 || cap > VCHAL_CAP_MAX)
        return ECRED_ERR_ARG;
    vchal_store *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    s->e = calloc(cap, sizeof *s->e);
    s->taken = calloc(cap, sizeof *s->taken);
    if (!s->e || !s->taken || pthread_mutex_init(&s->mu, NULL) != 0) {
        free(s->e);
        free(s->taken);
        free(s);
        return ECRED_ERR_NOMEM;
    }
    s->cap = cap;
    *out = s;
    return ECRED_OK;
}

void vchal_free(vchal_store *s)
{
    if (!s)
        return;
    ecred_wipe(s->e, s->cap * sizeof *s->e);
    free(s->e);
    free(s->taken);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

bool vchal_aud_ok(const char *aud)
{
    size_t n = aud ? strlen(aud) : 0;
    if (n == 0 || n > ECRED_PRESENT_AUD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = aud[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == ':' || c == '/' || c == '-'))
            return false;
    }
    return true;
}

bool vchal_id_parse(const char *id, size_t n, uint8_t nonce[VCHAL_NONCE_LEN])
{
    uint8_t tmp[VCHAL_NONCE_LEN];
    if (!id || n != 2 * VCHAL_NONCE_LEN || memchr(id, '\0', n) ||
        ecred_unhex(id, n, tmp, sizeof tmp) != ECRED_OK)
        return false;
    memcpy(nonce, tmp, sizeof tmp);
    return true;
}

/* Under mu: whether slot i holds a challenge that can still be answered. */
static bool live(const vchal_store *s, size_t i, int64_t now)
{
    return s->taken[i] && !s->e[i].used && now <= s->e[i].expires;
}

/* Under mu: a free slot (never taken, used or expired), or cap when none. */
static size_t free_slot(vchal_store *s, int64_t now)
{
    for (size_t i = 0; i < s->cap; i++)
        if (!live(s, i, now))
            return i;
    return s->cap;
}

static bool code_live(const vchal_store *s, const char *code, int64_t now)
{
    for (size_t i = 0; i < s->cap; i++)
        if (live(s, i, now) && memcmp(s->e[i].code, code, VCHAL_CODE_LEN) == 0)
            return true;
    return false;
}

ecred_err vchal_issue(vchal_store *s, const char *owner, const char *aud, int64_t ttl, int64_t now,
                      vchal_entry *out)
{
    if (!s || !out || !vchal_aud_ok(aud) || ttl < 1 || ttl > VCHAL_TTL_MAX ||
        (owner && strlen(owner) >= sizeof out->owner))
        return ECRED_ERR_ARG;
    vchal_entry n;
    memset(&n, 0, sizeof n);
    if (ecred_random(n.nonce, sizeof n.nonce) != ECRED_OK)
        return ECRED_ERR_CRYPTO;
    memcpy(n.aud, aud, strlen(aud) + 1);
    if (owner)
        memcpy(n.owner, owner, strlen(owner) + 1);
    n.expires = now + ttl;
    ecred_err e = ECRED_OK;
    pthread_mutex_lock(&s->mu);
    size_t i = free_slot(s, now);
    if (i == s->cap) {
        e = ECRED_ERR_REPLAY_CACHE_FULL;
        goto out;
    }
    /* A code live twice would let one answer use up the other's challenge.
     * With at most VCHAL_CAP_MAX of 10^6 codes live, a few draws suffice. */
    for (int tries = 0;; tries++) {
        uint8_t r[4];
        if (tries == 64 || ecred_random(r, sizeof r) != ECRED_OK) {
            e = ECRED_ERR_CRYPTO;
            goto out;
        }
        uint32_t v = ((uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 | (uint32_t)r[2] << 8 | r[3]);
        if (v >= 4294000000u)
            continue; /* keep the digits uniform: 4294000000 is a multiple of 10^6 */
        v %= 1000000u;
        for (int d = VCHAL_CODE_LEN - 1; d >= 0; d--) {
            n.code[d] = (char)('0' + v % 10);
            v /= 10;
        }
        n.code[VCHAL_CODE_LEN] = '\0';
        if (!code_live(s, n.code, now))
            break;
    }
    s->e[i] = n;
    s->taken[i] = true;
    *out = n;
out:
    pthread_mutex_unlock(&s->mu);
    ecred_wipe(&n, sizeof n);
    return e;
}

ecred_err vchal_put(vchal_store *s, const vchal_entry *in)
{
    if (!s || !in || !vchal_aud_ok(in->aud) || strlen(in->code) != VCHAL_CODE_LEN)
        return ECRED_ERR_ARG;
    ecred_err e = ECRED_OK;
    pthread_mutex_lock(&s->mu);
    size_t i = 0;
    while (i < s->cap && s->taken[i])
        i++;
    if (i == s->cap)
        e = ECRED_ERR_REPLAY_CACHE_FULL;
    else {
        s->e[i] = *in;
        s->taken[i] = true;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

ecred_err vchal_consume(void *ctx, ecred_span nonce, ecred_span aud, int64_t now)
{
    vchal_scope any = {ctx, NULL, NULL};
    return vchal_consume_scoped(&any, nonce, aud, now);
}

ecred_err vchal_consume_scoped(void *ctx, ecred_span nonce, ecred_span aud, int64_t now)
{
    const vchal_scope *sc = ctx;
    vchal_store *s = sc ? sc->store : NULL;
    if (!s)
        return ECRED_ERR_CHALLENGE_UNKNOWN;
    ecred_err e = ECRED_ERR_CHALLENGE_UNKNOWN;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap; i++) {
        if (!live(s, i, now))
            continue;
        vchal_entry *c = &s->e[i];
        if ((sc->owner && strcmp(sc->owner, c->owner) != 0) ||
            (sc->id && memcmp(sc->id, c->nonce, VCHAL_NONCE_LEN) != 0))
            continue;
        bool hit = (nonce.len == VCHAL_NONCE_LEN && memcmp(nonce.ptr, c->nonce, VCHAL_NONCE_LEN) == 0) ||
                   (nonce.len == VCHAL_CODE_LEN && memcmp(nonce.ptr, c->code, VCHAL_CODE_LEN) == 0);
        if (!hit)
            continue;
        if (aud.len != strlen(c->aud) || memcmp(aud.ptr, c->aud, aud.len) != 0) {
            /* Not used up: the rightful phone may still answer it. */
            e = ECRED_ERR_CHALLENGE_AUDIENCE;
            break;
        }
        c->used = true;
        e = ECRED_OK;
        break;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

bool vchal_first(vchal_store *s, vchal_entry *out)
{
    bool found = false;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap && !found; i++)
        if (s->taken[i]) {
            *out = s->e[i];
            found = true;
        }
    pthread_mutex_unlock(&s->mu);
    return found;
}

size_t vchal_outstanding(vchal_store *s, int64_t now)
{
    size_t n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap; i++)
        n += live(s, i, now);
    pthread_mutex_unlock(&s->mu);
    return n;
}

ecred_err vchal_text(const vchal_entry *e, ecred_buf *text)
{
    ecred_challenge c;
    memset(&c, 0, sizeof c);
    memcpy(c.nonce, e->nonce, VCHAL_NONCE_LEN);
    c.nonce_len = VCHAL_NONCE_LEN;
    memcpy(c.aud, e->aud, sizeof c.aud);
    return ecred_challenge_encode_text(&c, text);
}
