/*
 * statuspub.c - status list tokens built from the registry on demand and
 * cached per list (see statuspub.h).
 *
 * The cache lock is held while a list is rebuilt so two requests never sign
 * the same generation twice; readers of the registry never block its writers
 * (WAL), so this cannot stall an approval.
 *
 * Must never: serve a token older than the registry state it was asked about
 * by more than the ttl, hold a list's bits anywhere but in the token, or sign
 * two tokens of one list with the same iat: verifiers refuse other bytes at
 * an iat they already hold (a replay from before a change in that second),
 * so each rebuild takes max(now, last iat + 1).
 */
#include "statuspub.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/slist.h"

#define STATUSPUB_CACHE_MAX 64

typedef struct statuspub_entry {
    int64_t list_id;
    int64_t generation;
    int64_t iat;
    ecred_buf token;
    char etag[STATUSPUB_ETAG_MAX];
} statuspub_entry;

struct statuspub {
    pthread_mutex_t mu;
    ecred_key *key;
    char prefix[ECRED_SLIST_URI_MAX + 1];
    int64_t ttl;
    int64_t lifetime;
    statuspub_entry cache[STATUSPUB_CACHE_MAX];
    size_t ncache;
    /* Floor for a list with no cache entry: the highest iat of an evicted
     * entry (its list's last iat is lost), at first the second this object
     * was made in (a restarted issuer may have signed in that second). */
    int64_t evicted_iat;
};

ecred_err statuspub_new(ecred_key *key, const char *base_url, int64_t ttl, int64_t lifetime,
                        statuspub **out)
{
    if (ttl <= 0 || lifetime < ttl)
        return ECRED_ERR_ARG;
    size_t n = strlen(base_url);
    while (n && base_url[n - 1] == '/')
        n--;
    if (n == 0 || n + sizeof "/status/" > sizeof ((statuspub *)0)->prefix)
        return ECRED_ERR_TOO_LARGE;
    statuspub *p = calloc(1, sizeof *p);
    if (!p)
        return ECRED_ERR_NOMEM;
    pthread_mutex_init(&p->mu, NULL);
    memcpy(p->prefix, base_url, n);
    memcpy(p->prefix + n, "/status/", sizeof "/status/");
    p->key = ecred_key_ref(key);
    p->ttl = ttl;
    p->lifetime = lifetime;
    p->evicted_iat = (int64_t)time(NULL);
    *out = p;
    return ECRED_OK;
}

void statuspub_free(statuspub *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->ncache; i++)
        ecred_buf_free(&p->cache[i].token);
    ecred_key_free(p->key);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

const char *statuspub_prefix(const statuspub *p) { return p->prefix; }

ecred_err statuspub_uri(const statuspub *p, int64_t list_id, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s%lld", p->prefix, (long long)list_id);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            out[0] = 0;
        return ECRED_ERR_TOO_LARGE;
    }
    return ECRED_OK;
}

/* reg_list_entries callback: set one non-VALID entry. */
static ecred_err statuspub_set(void *ctx, int64_t idx, int status)
{
    ecred_slist *l = ctx;
    if (idx < 0 || (uint64_t)idx >= l->count || status < 0 || status > 3)
        return ECRED_ERR_IO; /* a registry row we did not write */
    return ecred_slist_set(l, (size_t)idx, (unsigned)status);
}

/* Build and sign the token of one list from the registry. */
static ecred_err statuspub_build(statuspub *p, reg_db *db, const reg_list_info *info,
                                 int64_t iat, ecred_buf *out)
{
    int64_t now = iat;
    ecred_slist_token tok;
    memset(&tok, 0, sizeof tok);
    /* The URI the list was opened with (its credentials carry it); our own
     * only for a list from before URIs were recorded. */
    ecred_err e = ECRED_OK;
    if (info->uri[0] && strlen(info->uri) < sizeof tok.uri)
        memcpy(tok.uri, info->uri, strlen(info->uri) + 1);
    else
        e = statuspub_uri(p, info->id, tok.uri, sizeof tok.uri);
    if (e)
        return e;
    tok.iat = now;
    tok.exp = now + p->lifetime;
    tok.ttl = p->ttl;
    if ((e = ecred_slist_init(&tok.list, 2, info->size)) != ECRED_OK)
        return e;
    e = reg_list_entries(db, info->id, statuspub_set, &tok.list);
    if (!e)
        e = ecred_slist_token_sign(p->key, &tok, out);
    ecred_slist_free(&tok.list);
    return e;
}

ecred_err statuspub_get(statuspub *p, reg_db *db, int64_t list_id, int64_t now, ecred_buf *out,
                        char etag[STATUSPUB_ETAG_MAX])
{
    pthread_mutex_lock(&p->mu);
    ecred_buf fresh = ECRED_BUF_INIT;
    reg_list_info info;
    /* One read transaction: the generation and the entries come from the same snapshot. */
    ecred_err e = reg_begin_read(db);
    if (!e)
        e = reg_list_info_get(db, list_id, &info);
    if (e)
        goto out;
    statuspub_entry *ent = NULL;
    for (size_t i = 0; i < p->ncache; i++)
        if (p->cache[i].list_id == list_id)
            ent = &p->cache[i];
    /* An iat ahead of now is one we stepped forward ourselves (below): that
     * token is fresh, not stale. */
    if (ent && ent->generation == info.generation && now - ent->iat < p->ttl)
        goto serve;
    /* Strictly increasing per list. A list whose entry was evicted lost its
     * last iat: the highest evicted one stands in (only matters when the
     * cache churned within the current second). */
    int64_t iat = now;
    if (ent && ent->iat >= iat)
        iat = ent->iat + 1;
    else if (!ent && p->evicted_iat >= iat)
        iat = p->evicted_iat + 1;
    if ((e = statuspub_build(p, db, &info, iat, &fresh)) != ECRED_OK)
        goto out;
    if (!ent) {
        if (p->ncache < STATUSPUB_CACHE_MAX) {
            ent = &p->cache[p->ncache++];
        } else {
            /* Evict the oldest build: lists are few, this is rare. */
            ent = &p->cache[0];
            for (size_t i = 1; i < p->ncache; i++)
                if (p->cache[i].iat < ent->iat)
                    ent = &p->cache[i];
            if (ent->iat > p->evicted_iat)
                p->evicted_iat = ent->iat;
            ecred_buf_free(&ent->token);
        }
        memset(ent, 0, sizeof *ent);
    }
    ecred_buf_free(&ent->token);
    ent->token = fresh;
    fresh.ptr = NULL;
    fresh.len = fresh.cap = 0;
    ent->list_id = list_id;
    ent->generation = info.generation;
    ent->iat = iat;
    {
        uint8_t h[32];
        char hx[65];
        ecred_sha256(ent->token.ptr, ent->token.len, h);
        ecred_hex(h, 16, hx); /* 32 hex digits: the quoted tag fits STATUSPUB_ETAG_MAX */
        ent->etag[0] = '"';
        memcpy(ent->etag + 1, hx, 32);
        ent->etag[33] = '"';
        ent->etag[34] = 0;
    }
serve:
    if ((e = ecred_buf_set(out, ent->token.ptr, ent->token.len)) != ECRED_OK)
        goto out;
    memcpy(etag, ent->etag, STATUSPUB_ETAG_MAX);
out:
    reg_rollback(db);
    ecred_buf_free(&fresh);
    pthread_mutex_unlock(&p->mu);
    return e;
}
