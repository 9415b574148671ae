/*
 * status.c - the verifier's status source (status.h): the cached list for a
 * credential's URI, optionally refreshed online first, and the staleness rule.
 *
 * Online mode fetches the whole list by its URI (never a per-credential
 * query), at most once per ttl, conditionally on its ETag; when the issuer
 * cannot be reached or serves a bad list the cached copy is used under the
 * same staleness rule. A fetched list must clear the same floors as in a
 * sync: the held copy and DIR/highwater.json, so a list a sync stopped
 * holding (or never held) cannot be replayed from before a revocation.
 * Must never: accept a list that did not verify against the cached trust
 * list, treat data dated in the future as fresh, print (the URI comes from a
 * scanned credential: it reaches the sink escaped).
 */
#include "status.h"

#include <stdio.h>
#include <string.h>

#include "fetch.h"

/* Store the cache after an online refresh; best effort (a read-only cache
 * still gives the right answer, only from memory). Only over the generation
 * it was loaded from: a sync that committed meanwhile holds newer data (a
 * newer trust list, other lists) that this older load must not roll back. */
static void persist(vstatus *s, const char *uri, const vcache_list *l)
{
    if (!s->dir)
        return;
    char msg[512], em[VUTIL_ESC_MAX];
    /* The floor first, whether or not the generation can be replaced: the
     * token was accepted, so nothing older may be later. */
    vcache_marks m;
    memset(&m, 0, sizeof m);
    int lock = -1;
    if (vcache_marks_raise(&m, uri, &l->tok) != ECRED_OK ||
        vcache_lock(s->dir, &lock) != ECRED_OK || vcache_marks_store(s->dir, &m) != ECRED_OK)
        vnote_say(s->note, 1, "%s", "could not store the status list's rollback floor");
    vcache_unlock(lock);
    vcache_marks_free(&m);
    if (vcache_commit_if_current(s->dir, s->cache, msg, sizeof msg) != ECRED_OK)
        vnote_say(s->note, 1, "could not store the fetched list: %s", vutil_escape(msg, em, sizeof em));
}

/* Refresh uri's list from the issuer when its ttl has passed, when it is
 * older than s->max_age (a caller asking for fresher data than it holds), or
 * when it is not held; leaves the cache as it was on any failure. */
static void refresh_online(vstatus *s, const char *uri)
{
    char eu[VUTIL_ESC_MAX], ee[VUTIL_ESC_MAX];
    vutil_escape(uri, eu, sizeof eu);
    vcache_list *l = vcache_find(s->cache, uri);
    if (l && l->ok && l->tok.ttl > 0 && s->now - l->fetched_at < l->tok.ttl && s->now < l->tok.exp &&
        (s->max_age <= 0 || s->now - l->tok.iat <= s->max_age)) {
        s->source = "cache";
        return;
    }
    if (!s->cache->trust_ok || !vcache_uri_trusted(&s->cache->trust, uri)) {
        vnote_say(s->note, 1, "status list %s: not under a trusted status URI prefix; not fetched", eu);
        return;
    }
    char err[256];
    vfetch f;
    memset(&f, 0, sizeof f);
    ecred_err e = vcache_fetch_slist(&s->cache->trust, uri, l && l->ok ? l->etag : NULL,
                                     VFETCH_TOTAL_TIMEOUT * 1000L, &f, err, sizeof err);
    if (e) {
        vnote_say(s->note, 1, "status list %s: issuer unreachable (%s); using the cache", eu,
                  vutil_escape(err, ee, sizeof ee));
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
    /* A held copy dated in the future is no floor (see sync.c). */
    const vcache_list *floor = l && l->ok && l->tok.iat <= s->now + VCACHE_CLOCK_SKEW ? l : NULL;
    if (!e && (e = vcache_check_newer(floor, &nl.tok)) != ECRED_OK)
        vnote_say(s->note, 1, "status list %s: older than the copy held (rollback)", eu);
    if (!e && s->dir) {
        vcache_marks m;
        if (vcache_marks_load(s->dir, &m) == ECRED_OK) {
            e = vcache_marks_check(&m, uri, &nl.tok, s->now);
            vcache_marks_free(&m);
            if (e)
                vnote_say(s->note, 1, "status list %s: older than a copy accepted before (rollback)", eu);
        }
    }
    if (e) {
        vnote_say(s->note, 1, "status list %s REFUSED: %s (%s); using the cache", eu, ecred_err_message(e),
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
    persist(s, uri, vcache_find(s->cache, uri));
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
    /* The list verified, so an index it does not have is the credential's
     * fault (draft section 8.3: MUST be rejected), never "unavailable". */
    if (idx >= l->tok.list.count || ecred_slist_get(&l->tok.list, (size_t)idx, &v) != ECRED_OK)
        return ECRED_ERR_STATUS_INDEX;
    /* Past exp the list may not vouch for VALID any more (statuslist.md 4.7),
     * whatever --max-age allows; a revocation or suspension is still news. */
    if (s->list_expired && v == ECRED_STATUS_VALID)
        return ECRED_ERR_STATUS_STALE;
    /* Data dated ahead of this clock has a negative age, which must not read
     * as fresh: past the skew it cannot vouch for VALID at all. */
    if (l->tok.iat > s->now + VCACHE_CLOCK_SKEW && v == ECRED_STATUS_VALID)
        return ECRED_ERR_STATUS_STALE;
    *status = v;
    *as_of = l->tok.iat;
    return ECRED_OK;
}
