/*
 * statuspub.c - status list tokens built from the registry on demand and
 * stored in it per list (see statuspub.h), so every issuer instance on one
 * registry serves the same bytes for a generation.
 *
 * The lock is held while a list is rebuilt so two requests of one instance
 * never sign the same generation twice; readers of the registry never block
 * its writers (WAL, MVCC), so this cannot stall an approval.
 *
 * Must never: serve a token older than the registry state it was asked about
 * by more than the ttl, serve bytes the registry did not store (unless it
 * cannot write at all: see the full-disk case below), hold a list's
 * bits anywhere but in the token, or sign two tokens of one list with the
 * same iat: verifiers refuse other bytes at an iat they already hold (a
 * replay from before a change in that second), so each rebuild takes
 * max(now, stored iat + 1), whichever instance stored it.
 */
#include "statuspub.h"

#include "ecred/cose.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/slist.h"

struct statuspub {
    pthread_mutex_t mu;
    ecred_key *key;
    keyring *ring; /* borrowed; NULL: key signs */
    char prefix[ECRED_SLIST_URI_MAX + 1];
    int64_t ttl;
    int64_t lifetime;
    /* Floor for a list with no stored token yet: the second this object was
     * made in (a restarted issuer may have signed in that second). */
    int64_t floor_iat;
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
    p->floor_iat = (int64_t)time(NULL);
    *out = p;
    return ECRED_OK;
}

void statuspub_free(statuspub *p)
{
    if (!p)
        return;
    ecred_key_free(p->key);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void statuspub_set_keyring(statuspub *p, keyring *ring) { p->ring = ring; }

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
    if (!e) {
        ecred_key *key = p->ring ? keyring_for(p->ring, iat) : ecred_key_ref(p->key);
        e = ecred_slist_token_sign(key, &tok, out);
        ecred_key_free(key);
    }
    ecred_slist_free(&tok.list);
    return e;
}

/* The quoted ETag of token bytes: 32 hex digits of their SHA-256, so every
 * instance serving the same bytes sends the same tag. */
static void statuspub_etag(const ecred_buf *tok, char etag[STATUSPUB_ETAG_MAX])
{
    uint8_t h[32];
    char hx[65];
    ecred_sha256(tok->ptr, tok->len, h);
    ecred_hex(h, 16, hx);
    etag[0] = '"';
    memcpy(etag + 1, hx, 32);
    etag[33] = '"';
    etag[34] = 0;
}

/* Whether a stored token was signed by the key that signs at `now`. After a
 * key change (a restart with a new key, a rotation) a token of the same
 * generation signed by the old key may lie outside the old key's window in
 * the new trust list: it is rebuilt with the current key (a later iat, so the
 * registry replaces it) instead of being served until the list changes. */
static bool statuspub_signed_by_current(statuspub *p, const ecred_buf *tok, int64_t now)
{
    /* Decoded with the status list's own CBOR limits: under the small
     * default (4 KiB) a full list's token (131072 entries, a few % not
     * valid: ~4.3 KiB) never decoded, so every GET rebuilt and re-signed it
     * and its ETag changed on every request (bench/city.sh found it). */
    uint8_t tok_kid[ECRED_COSE_KID_MAX];
    size_t tok_kid_len = 0;
    if (ecred_slist_token_kid(tok->ptr, tok->len, tok_kid, &tok_kid_len) != ECRED_OK)
        return false;
    ecred_key *key = p->ring ? keyring_for(p->ring, now) : ecred_key_ref(p->key);
    const uint8_t *kid = key ? ecred_key_kid(key) : NULL;
    bool same = kid && tok_kid_len == ECRED_KID_LEN && memcmp(tok_kid, kid, ECRED_KID_LEN) == 0;
    ecred_key_free(key);
    return same;
}

/* reg_write body: store the token unless a newer one is there. */
static ecred_err statuspub_store(reg_db *db, void *ctx)
{
    return reg_list_token_put(db, ctx);
}

ecred_err statuspub_get(statuspub *p, reg_db *db, int64_t list_id, int64_t now, ecred_buf *out,
                        char etag[STATUSPUB_ETAG_MAX])
{
    /* Within an instance one build at a time; across instances the store
     * below decides which build of a generation is served. */
    pthread_mutex_lock(&p->mu);
    reg_list_token stored, fresh;
    memset(&stored, 0, sizeof stored);
    memset(&fresh, 0, sizeof fresh);
    reg_list_info info;
    bool have = false;
    /* One read transaction: the generation, the stored token and the entries
     * come from the same snapshot. */
    ecred_err e = reg_begin_read(db);
    if (!e)
        e = reg_list_info_get(db, list_id, &info);
    if (!e) {
        e = reg_list_token_get(db, list_id, &stored);
        have = e == ECRED_OK;
        if (e == ECRED_ERR_KEY_UNKNOWN)
            e = ECRED_OK;
    }
    if (e)
        goto out;
    /* Fresh enough: the stored token is of this generation and younger than
     * the ttl (an iat ahead of our clock is another instance's: fresh too). */
    if (have && stored.generation == info.generation && now - stored.iat < p->ttl &&
        statuspub_signed_by_current(p, &stored.token, now)) {
        reg_rollback(db);
        goto serve;
    }
    /* Strictly increasing per list, whichever instance's clock signed the
     * stored one: a verifier refuses an older iat, and other bytes at an iat
     * it holds. */
    fresh.list_id = list_id;
    fresh.generation = info.generation;
    fresh.iat = now;
    if (have && stored.iat >= fresh.iat)
        fresh.iat = stored.iat + 1;
    else if (!have && p->floor_iat >= fresh.iat)
        fresh.iat = p->floor_iat + 1;
    e = statuspub_build(p, db, &info, fresh.iat, &fresh.token);
    reg_rollback(db);
    if (e)
        goto out;
    bool fn_failed = false;
    e = reg_write(db, statuspub_store, &fresh, &fn_failed);
    if (e == ECRED_ERR_EXISTS && fn_failed) {
        /* Another instance stored this generation (or a newer one) first:
         * serve its bytes, never ours, so all instances agree. */
        reg_list_token_free(&stored);
        memset(&stored, 0, sizeof stored);
        e = reg_list_token_get(db, list_id, &stored);
        if (e)
            goto out;
    } else if (e) {
        /* The registry reads but does not write (a full disk): the statuses
         * in these bytes are committed ones, and a verifier must learn of a
         * revocation even now, so serve them unstored. The price, only
         * while writes fail: another instance may serve other bytes for
         * this generation. */
        reg_list_token_free(&stored);
        stored = fresh;
        memset(&fresh, 0, sizeof fresh);
        e = ECRED_OK;
    } else {
        reg_list_token_free(&stored);
        stored = fresh;
        memset(&fresh, 0, sizeof fresh);
    }
serve:
    if ((e = ecred_buf_set(out, stored.token.ptr, stored.token.len)) != ECRED_OK)
        goto out;
    statuspub_etag(&stored.token, etag);
out:
    reg_rollback(db);
    reg_list_token_free(&stored);
    reg_list_token_free(&fresh);
    pthread_mutex_unlock(&p->mu);
    return e;
}
