/*
 * sync.c - one sync of a verifier cache from an issuer (sync.h,
 * spec/verifier.md section 2).
 *
 * The new cache is built in memory from what verified, then committed as one
 * generation; whatever was refused keeps its previous bytes. The index of
 * lists is unsigned, so it only adds work: a held list it stops naming is
 * still refreshed and kept until its exp, and the rollback floors of every
 * list ever accepted live in DIR/highwater.json, outside the generations.
 * Must never: commit a trust list that fails the root, is expired, is dated
 * in the future or rolls back seq; accept a status list below its floor;
 * print raw outside text (every URI and server message is escaped: it
 * reaches terminals and log lines); print (messages go to the caller's sink).
 */
#include "sync.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "fetch.h"

/* One sync's state shared by its steps. */
typedef struct sync_ctx {
    const char *issuer;
    int64_t now;
    const vnote *note;
    vsync_report *rep;
    vcache *old;           /* what the cache held (compared with, kept) */
    vcache *nc;            /* the generation being built */
    vcache_marks marks;    /* rollback floors, raised as lists verify */
    struct timespec deadline; /* CLOCK_MONOTONIC end of the time bound */
} sync_ctx;

/* Milliseconds left before the deadline (<= 0: none). */
static long time_left_ms(const sync_ctx *x)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t ms = ((int64_t)x->deadline.tv_sec - (int64_t)t.tv_sec) * 1000 +
                 ((int64_t)x->deadline.tv_nsec - (int64_t)t.tv_nsec) / 1000000;
    return ms > 0 ? (long)ms : 0;
}

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
static ecred_err sync_trust(sync_ctx *x, const ecred_key *root)
{
    char url[VFETCH_URL_MAX + 64], err[256], eu[VUTIL_ESC_MAX], ee[VUTIL_ESC_MAX];
    vcache *old = x->old;
    vfetch f;
    memset(&f, 0, sizeof f);
    ecred_trustlist tl;
    memset(&tl, 0, sizeof tl);
    if (!issuer_url(url, sizeof url, x->issuer, VSYNC_TRUST_PATH))
        return ECRED_ERR_INPUT;
    vutil_escape(url, eu, sizeof eu);
    /* Revalidate only bytes that still verify: a 304 for a damaged copy
     * would keep it (and refuse every sync) for good. */
    ecred_err e = vfetch_get_within(url, old->trust_ok ? old->trust_etag : NULL, ECRED_TRUSTLIST_MAX_BYTES,
                                    time_left_ms(x), &f, err, sizeof err);
    if (e) {
        vnote_say(x->note, 2, "trust list %s: %s; cache unchanged", eu, vutil_escape(err, ee, sizeof ee));
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
        e = ecred_trustlist_verify(raw.ptr, raw.len, root, x->now, &tl);
    if (e) {
        vnote_say(x->note, 2, "trust list %s REFUSED: %s (%s); cache unchanged", eu, ecred_err_message(e),
                  ecred_err_name(e));
        goto out;
    }
    /* A list dated ahead of our clock is a clock fault or worse; refusing it
     * keeps its seq from becoming the floor every later list must clear. */
    if (tl.iat > (uint64_t)(x->now + VCACHE_CLOCK_SKEW)) {
        char t[21];
        ecred_time_format(tl.iat > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)tl.iat, t);
        vnote_say(x->note, 2, "trust list %s REFUSED: issued %s, more than %ds ahead of this clock; cache unchanged",
                  eu, t, VCACHE_CLOCK_SKEW);
        e = ECRED_ERR_NOT_YET_VALID;
        goto out;
    }
    /* The floor is the held list's seq and, should that copy be damaged or
     * gone, the highest seq ever accepted. */
    uint64_t floor = x->marks.have_trust ? x->marks.trust_seq : 0;
    if (old->trust_ok && old->trust.seq > floor)
        floor = old->trust.seq;
    if ((old->trust_ok || x->marks.have_trust) && (e = ecred_trustlist_check_newer(floor, &tl)) != ECRED_OK) {
        vnote_say(x->note, 2, "trust list %s REFUSED: seq %llu is older than seq %llu already accepted (rollback); cache unchanged",
                  eu, (unsigned long long)tl.seq, (unsigned long long)floor);
        goto out;
    }
    x->rep->trust_changed = raw.len != old->trust_raw.len || memcmp(raw.ptr, old->trust_raw.ptr, raw.len) != 0;
    char exp[21];
    ecred_time_format((int64_t)tl.exp, exp);
    vnote_say(x->note, 0, "trust list: %s, seq %llu, %zu keys, expires %s",
              f.status == 304 ? "not modified" : x->rep->trust_changed ? "updated" : "same", (unsigned long long)tl.seq,
              tl.n_entries, exp);
    vcache_marks_raise_trust(&x->marks, tl.seq);
    e = vcache_set_trust(x->nc, &tl, &raw, f.etag, x->now);
out:
    ecred_trustlist_free(&tl);
    ecred_buf_free(&raw);
    vfetch_clear(&f);
    return e;
}

/* Keep the old copy of a refused list in the new cache (when there is one). */
static ecred_err keep_old(sync_ctx *x, const char *uri)
{
    char eu[VUTIL_ESC_MAX];
    vcache_list *ol = vcache_find(x->old, uri);
    vutil_escape(uri, eu, sizeof eu);
    if (!ol) {
        vnote_say(x->note, 1, "status list %s: no earlier copy to keep", eu);
        return ECRED_OK;
    }
    char t[21];
    ecred_time_format(ol->fetched_at, t);
    vnote_say(x->note, 1, "status list %s: keeping the copy fetched %s", eu, t);
    vcache_list moved = *ol;
    memset(ol, 0, sizeof *ol);
    moved.ok = false;
    ecred_slist_free(&moved.tok.list);
    return vcache_put_list(x->nc, &moved);
}

/* Fetch and check one status list. A refusal (fetch failed, too large, did
 * not verify, rollback, dated in the future) keeps the old copy and is
 * reported in *refused; only what must stop the sync (memory, a full cache)
 * comes back. */
static ecred_err sync_list(sync_ctx *x, const char *uri, ecred_err *refused)
{
    char err[256], eu[VUTIL_ESC_MAX], ee[VUTIL_ESC_MAX];
    vfetch f;
    memset(&f, 0, sizeof f);
    vcache_list nl;
    memset(&nl, 0, sizeof nl);
    ecred_err e;
    *refused = ECRED_OK;
    vutil_escape(uri, eu, sizeof eu);
    if (!vcache_uri_trusted(&x->nc->trust, uri)) {
        vnote_say(x->note, 2, "status list %s REFUSED: no trusted key may sign lists under this URI", eu);
        e = ECRED_ERR_KEY_UNKNOWN;
        goto refused;
    }
    vcache_list *ol = vcache_find(x->old, uri);
    /* As for the trust list: a copy that no longer verifies is fetched whole. */
    e = vcache_fetch_slist(&x->nc->trust, uri, ol && ol->ok ? ol->etag : NULL, time_left_ms(x), &f, err,
                           sizeof err);
    if (e) {
        vnote_say(x->note, 2, "status list %s: %s", eu, vutil_escape(err, ee, sizeof ee));
        goto refused;
    }
    snprintf(nl.uri, sizeof nl.uri, "%s", uri);
    snprintf(nl.etag, sizeof nl.etag, "%s", f.etag);
    nl.fetched_at = x->now;
    if (f.status == 304) {
        e = ecred_buf_set(&nl.raw, ol->raw.ptr, ol->raw.len);
    } else {
        nl.raw = f.body;
        f.body = (ecred_buf)ECRED_BUF_INIT;
    }
    if (!e)
        e = vcache_verify_slist(&x->nc->trust, nl.raw.ptr, nl.raw.len, uri, x->now, &nl.tok);
    if (e) {
        vnote_say(x->note, 2, "status list %s REFUSED: %s (%s)%s", eu, ecred_err_message(e), ecred_err_name(e),
                  e == ECRED_ERR_NOT_YET_VALID ? ": issued in the future (issuer clock?)" : "");
        goto refused;
    }
    /* A held copy dated in the future (accepted before its clock was
     * checked) is no floor: correct data must be able to replace it. */
    const vcache_list *floor = ol && ol->ok && ol->tok.iat <= x->now + VCACHE_CLOCK_SKEW ? ol : NULL;
    if ((e = vcache_check_newer(floor, &nl.tok)) != ECRED_OK) {
        char held[21], got[21];
        ecred_time_format(ol->tok.iat, held);
        ecred_time_format(nl.tok.iat, got);
        vnote_say(x->note, 2, "status list %s REFUSED: issued %s, %s the copy held (issued %s): rollback (%s)", eu,
                  got, nl.tok.iat == ol->tok.iat ? "other statuses at the same time as" : "older than", held,
                  ecred_err_name(e));
        goto refused;
    }
    if ((e = vcache_marks_check(&x->marks, uri, &nl.tok, x->now)) != ECRED_OK) {
        char got[21];
        ecred_time_format(nl.tok.iat, got);
        vnote_say(x->note, 2, "status list %s REFUSED: issued %s, older than a copy accepted before: rollback (%s)",
                  eu, got, ecred_err_name(e));
        goto refused;
    }
    if ((e = vcache_marks_raise(&x->marks, uri, &nl.tok)) != ECRED_OK)
        goto fatal;
    nl.ok = true;
    char iat[21];
    ecred_time_format(nl.tok.iat, iat);
    vnote_say(x->note, 0, "status list %s: %s, issued %s, %zu entries", eu,
              f.status == 304 ? "not modified" : "updated", iat, nl.tok.list.count);
    if (f.status == 304)
        x->rep->lists_unchanged++;
    else
        x->rep->lists_updated++;
    e = vcache_put_list(x->nc, &nl);
fatal:
    ecred_buf_free(&nl.raw);
    ecred_slist_free(&nl.tok.list);
    vfetch_clear(&f);
    return e;
refused:
    *refused = e;
    ecred_buf_free(&nl.raw);
    ecred_slist_free(&nl.tok.list);
    vfetch_clear(&f);
    return keep_old(x, uri);
}

/* Whether a held list the index no longer names is still kept: while it
 * verifies and has not expired, it is the only record of what its issuer
 * said; dropping it on an unsigned word would undo a revocation. */
static bool keep_unlisted(const vcache_list *l, int64_t now)
{
    if (!l->ok || !l->uri[0])
        return false;
    int64_t until = l->tok.exp ? l->tok.exp : l->tok.iat + VCACHE_KEEP_NO_EXP;
    return now < until;
}

/* Fetch the index {"lists": [...]} into a JSON array the caller owns, or
 * NULL (reason noted) when it cannot be had. */
static json_t *fetch_index(sync_ctx *x)
{
    char url[VFETCH_URL_MAX + 64], err[256], eu[VUTIL_ESC_MAX], ee[VUTIL_ESC_MAX];
    vfetch f;
    memset(&f, 0, sizeof f);
    json_t *uris = NULL;
    if (!issuer_url(url, sizeof url, x->issuer, VSYNC_INDEX_PATH))
        return NULL;
    ecred_err ie = vfetch_get_within(url, NULL, VSYNC_INDEX_MAX, time_left_ms(x), &f, err, sizeof err);
    if (!ie && !(uris = parse_index(&f.body))) {
        snprintf(err, sizeof err, "%s", "not a JSON {\"lists\": [\"http(s) URI\", ...]}");
        ie = ECRED_ERR_STATUS_LIST;
    }
    vfetch_clear(&f);
    if (ie)
        vnote_say(x->note, 1, "status list index %s: %s; refreshing the %zu lists already held",
                  vutil_escape(url, eu, sizeof eu), vutil_escape(err, ee, sizeof ee), x->old->n_lists);
    return uris;
}

/* Say once that the time bound cut the sync short. */
static void note_timeout(sync_ctx *x, int64_t timeout_s)
{
    if (!x->rep->timed_out)
        vnote_say(x->note, 2, "sync time bound of %llds reached; the lists not yet fetched keep their copies",
                  (long long)timeout_s);
    x->rep->timed_out = true;
}

ecred_err vsync_run(const char *dir, const char *issuer, const char *root_path, int64_t now,
                    const vnote *note, vsync_report *rep)
{
    return vsync_run_within(dir, issuer, root_path, now, VSYNC_TIMEOUT_DEFAULT, note, rep);
}

ecred_err vsync_run_within(const char *dir, const char *issuer, const char *root_path, int64_t now,
                           int64_t timeout_s, const vnote *note, vsync_report *rep)
{
    memset(rep, 0, sizeof *rep);
    vcache old, nc;
    memset(&old, 0, sizeof old);
    memset(&nc, 0, sizeof nc);
    sync_ctx x = {issuer, now, note, rep, &old, &nc, {NULL, 0, 0, false}, {0, 0}};
    ecred_key *root = NULL;
    json_t *uris = NULL;
    int lock = -1;
    char msg[512], eu[VUTIL_ESC_MAX];
    if (strlen(issuer) > VCACHE_ISSUER_MAX ||
        (strncmp(issuer, "http://", 7) != 0 && strncmp(issuer, "https://", 8) != 0)) {
        vnote_say(note, 2, "--issuer must be an http(s) URL of at most %d bytes", VCACHE_ISSUER_MAX);
        return ECRED_ERR_INPUT;
    }
    if (timeout_s < 1 || timeout_s > VUTIL_DURATION_MAX)
        return ECRED_ERR_ARG;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        vnote_say(note, 2, "cannot create the cache directory %s: %s", vutil_escape(dir, eu, sizeof eu),
                  strerror(errno));
        return ECRED_ERR_IO;
    }
    ecred_err e = vcache_dir_safe(dir, msg, sizeof msg);
    if (e) {
        vnote_say(note, 2, "%s", vutil_escape(msg, eu, sizeof eu));
        return e;
    }
    e = vcache_lock(dir, &lock);
    if (e) {
        vnote_say(note, 2, "cannot lock %s/.lock (another sync still running?)", vutil_escape(dir, eu, sizeof eu));
        return e;
    }
    /* The bound starts with the lock held: it is what others wait on. */
    clock_gettime(CLOCK_MONOTONIC, &x.deadline);
    x.deadline.tv_sec += (time_t)timeout_s;
    if ((e = pick_root(dir, root_path, note, &root)) != ECRED_OK)
        goto out;
    /* What the cache holds now: compared with (ETags, seq) and kept where
     * the new data is refused. No cache yet is a first sync, not an error. */
    if (vcache_load(dir, now, VCACHE_LENIENT, &old, msg, sizeof msg) != ECRED_OK)
        memset(&old, 0, sizeof old);
    /* A damaged floor file loses only the floors of lists no longer held
     * (the held ones are floors themselves); it is rewritten below. */
    if (vcache_marks_load(dir, &x.marks) != ECRED_OK)
        vnote_say(note, 1, "%s/highwater.json is unreadable; rebuilding it from the lists held",
                  vutil_escape(dir, eu, sizeof eu));
    if ((e = sync_trust(&x, root)) != ECRED_OK)
        goto out;
    snprintf(nc.issuer, sizeof nc.issuer, "%s", issuer);
    nc.synced_at = now;

    /* The index names the lists to fetch; the held ones are refreshed too,
     * named or not (an unsigned index only ever adds work). */
    uris = fetch_index(&x);
    size_t n_named = json_array_size(uris);
    if (!uris && !(uris = json_array())) {
        e = ECRED_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < old.n_lists; i++)
        if (keep_unlisted(&old.lists[i], now) && json_array_append_new(uris, json_string(old.lists[i].uri)) != 0) {
            e = ECRED_ERR_NOMEM;
            goto out;
        }
    ecred_err first = ECRED_OK;
    for (size_t i = 0; i < json_array_size(uris); i++) {
        const char *u = json_string_value(json_array_get(uris, i));
        bool named = i < n_named;
        if (vcache_find(&nc, u))
            continue; /* listed twice, or named and held */
        if (!named)
            rep->lists_unlisted++;
        if (time_left_ms(&x) == 0) {
            note_timeout(&x, timeout_s);
            rep->lists_refused++;
            if ((e = keep_old(&x, u)) != ECRED_OK)
                goto out;
            continue;
        }
        ecred_err why = ECRED_OK;
        if ((e = sync_list(&x, u, &why)) != ECRED_OK)
            goto out;
        if (why && time_left_ms(&x) == 0)
            note_timeout(&x, timeout_s); /* this fetch was cut by the bound */
        if (why && named)
            rep->lists_refused++;
        if (why && named && !first)
            first = why;
        if (!named)
            vnote_say(note, 1, "status list %s: not in the index; kept until its exp",
                      vutil_escape(u, eu, sizeof eu));
    }
    for (size_t i = 0; i < old.n_lists; i++)
        if (old.lists[i].uri[0] && !vcache_find(&nc, old.lists[i].uri))
            vnote_say(note, 1, "status list %s: no longer published and expired or unusable; dropped",
                      vutil_escape(old.lists[i].uri, eu, sizeof eu));
    if (rep->timed_out && !first)
        first = ECRED_ERR_IO;
    /* The root goes in first: a cache is never current without its root. */
    if (root_path && (e = vcache_root_store(dir, root)) != ECRED_OK) {
        vnote_say(note, 2, "cannot write %s/root.pub.pem", vutil_escape(dir, eu, sizeof eu));
        goto out;
    }
    /* Floors before the generation: a crash between the two leaves floors
     * the held data meets, never data above its floors unrecorded. */
    if ((e = vcache_marks_store(dir, &x.marks)) != ECRED_OK) {
        vnote_say(note, 2, "cannot write %s/highwater.json", vutil_escape(dir, eu, sizeof eu));
        goto out;
    }
    if ((e = vcache_commit(dir, &nc, msg, sizeof msg)) != ECRED_OK) {
        vnote_say(note, 2, "%s", vutil_escape(msg, eu, sizeof eu));
        goto out;
    }
    rep->committed = true;
    rep->lists_total = nc.n_lists;
    e = first;
out:
    json_decref(uris);
    vcache_marks_free(&x.marks);
    vcache_free(&nc);
    vcache_free(&old);
    ecred_key_free(root);
    vcache_unlock(lock);
    return e;
}
