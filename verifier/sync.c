/*
 * sync.c - one sync of a verifier cache from an issuer (sync.h,
 * spec/verifier.md section 2).
 *
 * The new cache is built in memory from what verified, then committed as one
 * generation; whatever was refused keeps its previous bytes. Must never:
 * commit a trust list that fails the root, is expired or rolls back seq;
 * print (messages go to the caller's sink).
 */
#include "sync.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "fetch.h"

/* issuer + path, without a doubled slash. */
static bool issuer_url(char *out, size_t cap, const char *issuer, const char *path)
{
    size_t n = strlen(issuer);
    while (n > 0 && issuer[n - 1] == '/')
        n--;
    int w = snprintf(out, cap, "%.*s%s", (int)n, issuer, path);
    return w > 0 && (size_t)w < cap;
}

/* The root to check the trust list with: the one the cache was set up with,
 * the one given, and they must agree. */
static ecred_err pick_root(const char *dir, const char *root_path, const vnote *note, ecred_key **out)
{
    ecred_key *stored = NULL, *given = NULL;
    bool have_stored = vcache_root_load(dir, &stored) == ECRED_OK;
    if (root_path) {
        ecred_err e = ecred_key_public_load(root_path, &given);
        if (e) {
            vnote_say(note, 2, "--root %s: not a readable P-256/Ed25519 public key or certificate", root_path);
            ecred_key_free(stored);
            return ECRED_ERR_KEY_INVALID;
        }
    }
    if (have_stored && given && memcmp(ecred_key_kid(stored), ecred_key_kid(given), ECRED_KID_LEN) != 0) {
        vnote_say(note, 2, "%s", "--root is not the root this cache was set up with; use a new --cache directory");
        ecred_key_free(stored);
        ecred_key_free(given);
        return ECRED_ERR_KEY_UNKNOWN;
    }
    if (!have_stored && !given) {
        vnote_say(note, 2, "%s", "--root ROOT.pem is required for the first sync of a cache");
        return ECRED_ERR_INPUT;
    }
    if (given) {
        ecred_key_free(stored);
        *out = given;
    } else {
        *out = stored;
    }
    return ECRED_OK;
}

/* Parse the status list index {"lists": ["uri", ...]} into a JSON array the
 * caller owns; NULL when it is not one. */
static json_t *parse_index(const ecred_buf *body)
{
    json_t *o = json_loadb((const char *)body->ptr, body->len, JSON_REJECT_DUPLICATES, NULL);
    json_t *a = json_object_get(o, "lists");
    if (!json_is_array(a) || json_array_size(a) > VCACHE_LISTS_MAX) {
        json_decref(o);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *u = json_string_value(json_array_get(a, i));
        if (!u || !*u || strlen(u) > ECRED_SLIST_URI_MAX ||
            (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0)) {
            json_decref(o);
            return NULL;
        }
    }
    json_incref(a);
    json_decref(o);
    return a;
}

/* Fetch and check the trust list; on success nc holds it. */
static ecred_err sync_trust(const char *issuer, const ecred_key *root, vcache *old, vcache *nc,
                            int64_t now, const vnote *note, vsync_report *rep)
{
    char url[VFETCH_URL_MAX + 64], err[256];
    vfetch f;
    memset(&f, 0, sizeof f);
    ecred_trustlist tl;
    memset(&tl, 0, sizeof tl);
    if (!issuer_url(url, sizeof url, issuer, VSYNC_TRUST_PATH))
        return ECRED_ERR_INPUT;
    /* Revalidate only bytes that still verify: a 304 for a damaged copy
     * would keep it (and refuse every sync) for good. */
    ecred_err e = vfetch_get(url, old->trust_ok ? old->trust_etag : NULL, ECRED_TRUSTLIST_MAX_BYTES, &f, err,
                             sizeof err);
    if (e) {
        vnote_say(note, 2, "trust list %s: %s; cache unchanged", url, err);
        return e;
    }
    ecred_buf raw = ECRED_BUF_INIT;
    if (f.status == 304) {
        e = ecred_buf_set(&raw, old->trust_raw.ptr, old->trust_raw.len);
    } else {
        raw = f.body;
        f.body = (ecred_buf)ECRED_BUF_INIT;
    }
    if (!e)
        e = ecred_trustlist_verify(raw.ptr, raw.len, root, now, &tl);
    if (e) {
        vnote_say(note, 2, "trust list %s REFUSED: %s (%s); cache unchanged", url, ecred_err_message(e),
                  ecred_err_name(e));
        goto out;
    }
    if (old->trust_ok && (e = ecred_trustlist_check_newer(old->trust.seq, &tl)) != ECRED_OK) {
        vnote_say(note, 2, "trust list %s REFUSED: seq %llu is older than the held seq %llu (rollback); cache unchanged",
                  url, (unsigned long long)tl.seq, (unsigned long long)old->trust.seq);
        goto out;
    }
    rep->trust_changed = raw.len != old->trust_raw.len || memcmp(raw.ptr, old->trust_raw.ptr, raw.len) != 0;
    char exp[21];
    ecred_time_format((int64_t)tl.exp, exp);
    vnote_say(note, 0, "trust list: %s, seq %llu, %zu keys, expires %s",
              f.status == 304 ? "not modified" : rep->trust_changed ? "updated" : "same", (unsigned long long)tl.seq,
              tl.n_entries, exp);
    e = vcache_set_trust(nc, &tl, &raw, f.etag, now);
out:
    ecred_trustlist_free(&tl);
    ecred_buf_free(&raw);
    vfetch_clear(&f);
    return e;
}

/* Keep the old copy of a refused list in the new cache (when there is one). */
static ecred_err keep_old(vcache *old, vcache *nc, const char *uri, const vnote *note)
{
    vcache_list *ol = vcache_find(old, uri);
    if (!ol) {
        vnote_say(note, 1, "status list %s: no earlier copy to keep", uri);
        return ECRED_OK;
    }
    char t[21];
    ecred_time_format(ol->fetched_at, t);
    vnote_say(note, 1, "status list %s: keeping the copy fetched %s", uri, t);
    vcache_list moved = *ol;
    memset(ol, 0, sizeof *ol);
    moved.ok = false;
    ecred_slist_free(&moved.tok.list);
    return vcache_put_list(nc, &moved);
}

/* Fetch and check one status list; a refusal keeps the old copy and returns
 * the reason, which the caller reports but does not stop on. */
static ecred_err sync_list(const char *uri, vcache *old, vcache *nc, int64_t now, const vnote *note,
                           vsync_report *rep)
{
    char err[256];
    vfetch f;
    memset(&f, 0, sizeof f);
    vcache_list nl;
    memset(&nl, 0, sizeof nl);
    ecred_err e;
    if (!vcache_uri_trusted(&nc->trust, uri)) {
        vnote_say(note, 2, "status list %s REFUSED: no trusted key may sign lists under this URI", uri);
        e = ECRED_ERR_KEY_UNKNOWN;
        goto refused;
    }
    vcache_list *ol = vcache_find(old, uri);
    /* As for the trust list: a copy that no longer verifies is fetched whole. */
    e = vfetch_get(uri, ol && ol->ok ? ol->etag : NULL, ECRED_SLIST_TOKEN_MAX, &f, err, sizeof err);
    if (e) {
        vnote_say(note, 2, "status list %s: %s", uri, err);
        goto refused;
    }
    snprintf(nl.uri, sizeof nl.uri, "%s", uri);
    snprintf(nl.etag, sizeof nl.etag, "%s", f.etag);
    nl.fetched_at = now;
    if (f.status == 304) {
        e = ecred_buf_set(&nl.raw, ol->raw.ptr, ol->raw.len);
    } else {
        nl.raw = f.body;
        f.body = (ecred_buf)ECRED_BUF_INIT;
    }
    if (!e)
        e = vcache_verify_slist(&nc->trust, nl.raw.ptr, nl.raw.len, uri, now, &nl.tok);
    if (e) {
        vnote_say(note, 2, "status list %s REFUSED: %s (%s)", uri, ecred_err_message(e), ecred_err_name(e));
        goto refused;
    }
    if ((e = vcache_check_newer(ol, &nl.tok)) != ECRED_OK) {
        char held[21], got[21];
        ecred_time_format(ol->tok.iat, held);
        ecred_time_format(nl.tok.iat, got);
        vnote_say(note, 2, "status list %s REFUSED: issued %s, older than the copy held (issued %s): rollback (%s)",
                  uri, got, held, ecred_err_name(e));
        goto refused;
    }
    nl.ok = true;
    char iat[21];
    ecred_time_format(nl.tok.iat, iat);
    vnote_say(note, 0, "status list %s: %s, issued %s, %zu entries", uri,
              f.status == 304 ? "not modified" : "updated", iat, nl.tok.list.count);
    if (f.status == 304)
        rep->lists_unchanged++;
    else
        rep->lists_updated++;
    e = vcache_put_list(nc, &nl);
    vfetch_clear(&f);
    return e;
refused:
    rep->lists_refused++;
    ecred_buf_free(&nl.raw);
    ecred_slist_free(&nl.tok.list);
    vfetch_clear(&f);
    ecred_err ke = keep_old(old, nc, uri, note);
    return ke ? ke : e;
}

ecred_err vsync_run(const char *dir, const char *issuer, const char *root_path, int64_t now,
                    const vnote *note, vsync_report *rep)
{
    memset(rep, 0, sizeof *rep);
    vcache old, nc;
    memset(&old, 0, sizeof old);
    memset(&nc, 0, sizeof nc);
    ecred_key *root = NULL;
    json_t *uris = NULL;
    int lock = -1;
    char msg[512];
    if (strlen(issuer) > VCACHE_ISSUER_MAX ||
        (strncmp(issuer, "http://", 7) != 0 && strncmp(issuer, "https://", 8) != 0)) {
        vnote_say(note, 2, "--issuer must be an http(s) URL of at most %d bytes", VCACHE_ISSUER_MAX);
        return ECRED_ERR_INPUT;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        vnote_say(note, 2, "cannot create the cache directory %s: %s", dir, strerror(errno));
        return ECRED_ERR_IO;
    }
    ecred_err e = vcache_lock(dir, &lock);
    if (e) {
        vnote_say(note, 2, "cannot lock %s/.lock (another sync still running?)", dir);
        return e;
    }
    if ((e = pick_root(dir, root_path, note, &root)) != ECRED_OK)
        goto out;
    /* What the cache holds now: compared with (ETags, seq) and kept where
     * the new data is refused. No cache yet is a first sync, not an error. */
    if (vcache_load(dir, now, VCACHE_LENIENT, &old, msg, sizeof msg) != ECRED_OK)
        memset(&old, 0, sizeof old);
    if ((e = sync_trust(issuer, root, &old, &nc, now, note, rep)) != ECRED_OK)
        goto out;
    snprintf(nc.issuer, sizeof nc.issuer, "%s", issuer);
    nc.synced_at = now;

    char url[VFETCH_URL_MAX + 64], err[256];
    vfetch f;
    memset(&f, 0, sizeof f);
    if (!issuer_url(url, sizeof url, issuer, VSYNC_INDEX_PATH)) {
        e = ECRED_ERR_INPUT;
        goto out;
    }
    ecred_err ie = vfetch_get(url, NULL, VSYNC_INDEX_MAX, &f, err, sizeof err);
    if (!ie && !(uris = parse_index(&f.body))) {
        snprintf(err, sizeof err, "%s", "not a JSON {\"lists\": [\"http(s) URI\", ...]}");
        ie = ECRED_ERR_STATUS_LIST;
    }
    vfetch_clear(&f);
    if (ie) {
        /* Without the index, refresh what we hold rather than nothing. */
        vnote_say(note, 1, "status list index %s: %s; refreshing the %zu lists already held", url, err,
                  old.n_lists);
        uris = json_array();
        for (size_t i = 0; uris && i < old.n_lists; i++)
            json_array_append_new(uris, json_string(old.lists[i].uri));
        if (!uris) {
            e = ECRED_ERR_NOMEM;
            goto out;
        }
    }
    ecred_err first = ECRED_OK;
    for (size_t i = 0; i < json_array_size(uris); i++) {
        const char *u = json_string_value(json_array_get(uris, i));
        if (vcache_find(&nc, u))
            continue; /* listed twice */
        ecred_err le = sync_list(u, &old, &nc, now, note, rep);
        if (le == ECRED_ERR_NOMEM || le == ECRED_ERR_TOO_LARGE) {
            e = le;
            goto out;
        }
        if (le && !first)
            first = le;
    }
    for (size_t i = 0; i < old.n_lists; i++)
        if (old.lists[i].uri[0] && !vcache_find(&nc, old.lists[i].uri))
            vnote_say(note, 1, "status list %s: no longer published; dropped", old.lists[i].uri);
    /* The root goes in first: a cache is never current without its root. */
    if (root_path && (e = vcache_root_store(dir, root)) != ECRED_OK) {
        vnote_say(note, 2, "cannot write %s/root.pub.pem", dir);
        goto out;
    }
    if ((e = vcache_commit(dir, &nc, msg, sizeof msg)) != ECRED_OK) {
        vnote_say(note, 2, "%s", msg);
        goto out;
    }
    rep->committed = true;
    rep->lists_total = nc.n_lists;
    e = first;
out:
    json_decref(uris);
    vcache_free(&nc);
    vcache_free(&old);
    ecred_key_free(root);
    vcache_unlock(lock);
    return e;
}
