/*
 * status.c - the verifier's status source (status.h): the cached list for a
 * credential's URI, optionally refreshed online first, and the staleness rule.
 *
 * Online mode fetches the whole list by its URI (never a per-credential
 * query), at most once per ttl, conditionally on its ETag; when the issuer
 * cannot be reached or serves a bad list the cached copy is used under the
 * same staleness rule. Must never: accept a list that did not verify against
 * the cached trust list, print.
 */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "fetch.h"

/* Store the cache after an online refresh; best effort (a read-only cache
 * still gives the right answer, only from memory). Only over the generation
 * it was loaded from: a sync that committed meanwhile holds newer data (a
 * newer trust list, other lists) that this older load must not roll back. */
static void persist(vstatus *s)
{
    if (!s->dir)
        return;
    char msg[512];
    if (vcache_commit_if_current(s->dir, s->cache, msg, sizeof msg) != ECRED_OK)
        vnote_say(s->note, 1, "could not store the fetched list: %s", msg);
}

/* Refresh uri's list from the issuer when its ttl has passed (or it is not
 * held); leaves the cache as it was on any failure. */
static void refresh_online(vstatus *s, const char *uri)
{
    vcache_list *l = vcache_find(s->cache, uri);
    if (l && l->ok && l->tok.ttl > 0 && s->now - l->fetched_at < l->tok.ttl && s->now < l->tok.exp) {
        s->source = "cache";
        return;
    }
    if (!s->cache->trust_ok || !vcache_uri_trusted(&s->cache->trust, uri)) {
        vnote_say(s->note, 1, "status list %s: not under a trusted status URI prefix; not fetched", uri);
        return;
    }
    char err[256];
    vfetch f;
    memset(&f, 0, sizeof f);
    ecred_err e = vfetch_get(uri, l && l->ok ? l->etag : NULL, ECRED_SLIST_TOKEN_MAX, &f, err, sizeof err);
    if (e) {
        vnote_say(s->note, 1, "status list %s: issuer unreachable (%s); using the cache", uri, err);
        s->source = "cache-fallback";
        return;
    }
    vcache_list nl;
    memset(&nl, 0, sizeof nl);
    snprintf(nl.uri, sizeof nl.uri, "%s", uri);
    snprintf(nl.etag, sizeof nl.etag, "%s", f.etag);
    nl.fetched_at = s->now;
    bool not_modified = f.status == 304;
    if (not_modified) {
        e = ecred_buf_set(&nl.raw, l->raw.ptr, l->raw.len);
    } else {
        nl.raw = f.body;
        f.body = (ecred_buf)ECRED_BUF_INIT;
    }
    vfetch_clear(&f);
    if (!e)
        e = vcache_verify_slist(&s->cache->trust, nl.raw.ptr, nl.raw.len, uri, s->now, &nl.tok);
    if (!e && (e = vcache_check_newer(l, &nl.tok)) != ECRED_OK)
        vnote_say(s->note, 1, "status list %s: older than the copy held (rollback)", uri);
    if (e) {
        vnote_say(s->note, 1, "status list %s REFUSED: %s (%s); using the cache", uri, ecred_err_message(e),
                  ecred_err_name(e));
        ecred_buf_free(&nl.raw);
        ecred_slist_free(&nl.tok.list);
        s->source = "cache-fallback";
        return;
    }
    nl.ok = true;
    s->source = not_modified ? "online-not-modified" : "online";
    if (vcache_put_list(s->cache, &nl) != ECRED_OK) {
        ecred_buf_free(&nl.raw);
        ecred_slist_free(&nl.tok.list);
        s->source = "cache-fallback";
        return;
    }
    persist(s);
}

ecred_err vstatus_lookup(void *ctx, const char *uri, uint64_t idx, unsigned *status, int64_t *as_of)
{
    vstatus *s = ctx;
    s->looked_up = true;
    if (!s->source)
        s->source = "cache";
    if (s->online)
        refresh_online(s, uri);
    const vcache_list *l = vcache_find(s->cache, uri);
    if (!l || !l->ok)
        return ECRED_ERR_STATUS_UNAVAILABLE;
    s->found = true;
    s->as_of = l->tok.iat;
    s->list_exp = l->tok.exp;
    s->fetched_at = l->fetched_at;
    s->list_expired = l->tok.exp != 0 && s->now >= l->tok.exp;
    unsigned v = 0;
    if (idx > SIZE_MAX || ecred_slist_get(&l->tok.list, (size_t)idx, &v) != ECRED_OK)
        return ECRED_ERR_STATUS_LIST;
    /* Past exp the list may not vouch for VALID any more (statuslist.md 4.7),
     * whatever --max-age allows; a revocation or suspension is still news. */
    if (s->list_expired && v == ECRED_STATUS_VALID)
        return ECRED_ERR_STATUS_STALE;
    *status = v;
    *as_of = l->tok.iat;
    return ECRED_OK;
}
