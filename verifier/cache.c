/*
 * cache.c - load, verify and atomically replace the verifier's cache
 * (cache.h, spec/verifier.md section 3).
 *
 * Must never: trust a file because it is on disk (everything is verified at
 * load), leave a half-written generation current, print or exit.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define GEN_PREFIX "gen."
#define LIST_FILE_LEN 23 /* "sl-" + 16 hex + ".cwt" */

/* dir + "/" + name into out; false when it does not fit. */
static bool join(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    return n > 0 && (size_t)n < cap;
}

/* The file name a list's token is stored under: derived from its URI so no
 * URI text ever becomes a path. */
static void list_file_name(const char *uri, char out[LIST_FILE_LEN + 1])
{
    uint8_t h[32];
    char hx[65];
    ecred_sha256((const uint8_t *)uri, strlen(uri), h);
    ecred_hex(h, 8, hx);
    snprintf(out, LIST_FILE_LEN + 1, "sl-%.16s.cwt", hx);
}

static void list_clear(vcache_list *l)
{
    ecred_buf_free(&l->raw);
    ecred_slist_free(&l->tok.list);
    memset(l, 0, sizeof *l);
}

void vcache_free(vcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_lists; i++)
        list_clear(&c->lists[i]);
    free(c->lists);
    free(c->keys);
    ecred_trustlist_free(&c->trust);
    ecred_buf_free(&c->trust_raw);
    ecred_key_free(c->root);
    memset(c, 0, sizeof *c);
}

ecred_err vcache_check_trust(const vcache *c, int64_t now)
{
    if (!c->trust_ok)
        return c->trust_err ? c->trust_err : ECRED_ERR_KEY_UNKNOWN;
    if (now < 0 || (uint64_t)now >= c->trust.exp)
        return ECRED_ERR_LIST_EXPIRED;
    return ECRED_OK;
}

ecred_err vcache_root_load(const char *dir, ecred_key **out)
{
    char p[VCACHE_PATH_MAX];
    if (!join(p, sizeof p, dir, "root.pub.pem"))
        return ECRED_ERR_INPUT;
    return ecred_key_public_load(p, out);
}

ecred_err vcache_root_store(const char *dir, const ecred_key *root)
{
    char p[VCACHE_PATH_MAX];
    if (!join(p, sizeof p, dir, "root.pub.pem"))
        return ECRED_ERR_INPUT;
    ecred_buf pem = ECRED_BUF_INIT;
    ecred_err e = ecred_key_public_pem(root, &pem);
    if (!e)
        e = ecred_write_file_atomic(p, pem.ptr, strlen((const char *)pem.ptr), 0644);
    ecred_buf_free(&pem);
    return e;
}

/* Rebuild c->keys from c->trust: one trusted key per entry that may sign a
 * credential type, with its window, types and status URI prefix. */
static ecred_err build_keys(vcache *c)
{
    free(c->keys);
    c->keys = NULL;
    c->n_keys = 0;
    if (!c->trust_ok || c->trust.n_entries == 0)
        return ECRED_OK;
    /* The trust list's iss is copied behind the array, in the same block:
     * the keys point at it and a vcache is copied by value. */
    size_t iss_len = strnlen(c->trust.iss, sizeof c->trust.iss);
    ecred_trusted_key *k = calloc(1, c->trust.n_entries * sizeof *k + iss_len + 1);
    if (!k)
        return ECRED_ERR_NOMEM;
    char *iss = (char *)(k + c->trust.n_entries);
    memcpy(iss, c->trust.iss, iss_len);
    size_t n = 0;
    for (size_t i = 0; i < c->trust.n_entries; i++) {
        ecred_trusted_key tk = ecred_trust_key_of_entry(&c->trust.entries[i]);
        tk.types &= ECRED_TYPE_MASK_ALL; /* credential keys; status list keys: vcache_verify_slist */
        tk.iss = iss;                    /* a key vouches for its trust list's issuer only */
        if (!tk.types)
            continue;
        k[n++] = tk;
    }
    c->keys = k;
    c->n_keys = n;
    return ECRED_OK;
}

ecred_keyset vcache_keyset(const vcache *c)
{
    ecred_keyset ks = {c->keys, c->n_keys};
    return ks;
}

void vcache_slist_digest(const ecred_slist_token *tok, uint8_t out[32])
{
    uint8_t in[12 + 32];
    uint64_t count = tok->list.count;
    uint32_t bits = tok->list.bits;
    for (int i = 0; i < 4; i++)
        in[i] = (uint8_t)(bits >> (8 * i));
    for (int i = 0; i < 8; i++)
        in[4 + i] = (uint8_t)(count >> (8 * i));
    ecred_sha256(tok->list.bytes, tok->list.nbytes, in + 12);
    ecred_sha256(in, sizeof in, out);
}

ecred_err vcache_check_newer(const vcache_list *held, const ecred_slist_token *tok)
{
    if (!held || !held->ok)
        return ECRED_OK;
    if (tok->iat < held->tok.iat)
        return ECRED_ERR_STATUS_LIST;
    /* The issuer never signs two different lists in one second (its iat
     * strictly increases per list), so other entries at the same iat are a
     * replay of a list from before a change made in that second. */
    if (tok->iat == held->tok.iat) {
        uint8_t a[32], b[32];
        vcache_slist_digest(tok, a);
        vcache_slist_digest(&held->tok, b);
        if (memcmp(a, b, sizeof a) != 0)
            return ECRED_ERR_STATUS_LIST;
    }
    return ECRED_OK;
}

/* ---- rollback floors ------------------------------------------------------ */

void vcache_marks_free(vcache_marks *m)
{
    if (!m)
        return;
    free(m->m);
    memset(m, 0, sizeof *m);
}

static vcache_mark *marks_find(const vcache_marks *m, const char *uri)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->m[i].uri, uri) == 0)
            return &m->m[i];
    return NULL;
}

ecred_err vcache_marks_check(const vcache_marks *m, const char *uri, const ecred_slist_token *tok,
                             int64_t now)
{
    const vcache_mark *k = m ? marks_find(m, uri) : NULL;
    if (!k || k->iat > now + VCACHE_CLOCK_SKEW)
        return ECRED_OK;
    if (tok->iat < k->iat)
        return ECRED_ERR_STATUS_LIST;
    if (tok->iat == k->iat) {
        uint8_t h[32];
        vcache_slist_digest(tok, h);
        if (memcmp(h, k->sha256, sizeof h) != 0)
            return ECRED_ERR_STATUS_LIST;
    }
    return ECRED_OK;
}

/* Raise (or add) one mark; the new values win only when newer. */
static ecred_err marks_put(vcache_marks *m, const vcache_mark *nk)
{
    vcache_mark *k = marks_find(m, nk->uri);
    if (k) {
        if (nk->iat > k->iat)
            *k = *nk;
        return ECRED_OK;
    }
    if (m->n >= VCACHE_MARKS_MAX) {
        /* Only tokens that verified under the trust list get a mark, so this
         * takes a thousand genuine lists; drop the one that expired first. */
        size_t oldest = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->m[i].exp < m->m[oldest].exp)
                oldest = i;
        m->m[oldest] = *nk;
        return ECRED_OK;
    }
    vcache_mark *a = realloc(m->m, (m->n + 1) * sizeof *a);
    if (!a)
        return ECRED_ERR_NOMEM;
    m->m = a;
    a[m->n++] = *nk;
    return ECRED_OK;
}

ecred_err vcache_marks_raise(vcache_marks *m, const char *uri, const ecred_slist_token *tok)
{
    vcache_mark nk;
    memset(&nk, 0, sizeof nk);
    if (strlen(uri) > ECRED_SLIST_URI_MAX)
        return ECRED_ERR_ARG;
    memcpy(nk.uri, uri, strlen(uri) + 1);
    nk.iat = tok->iat;
    nk.exp = tok->exp;
    vcache_slist_digest(tok, nk.sha256);
    return marks_put(m, &nk);
}

void vcache_marks_raise_trust(vcache_marks *m, uint64_t seq)
{
    if (!m->have_trust || seq > m->trust_seq)
        m->trust_seq = seq;
    m->have_trust = true;
}

/* Parse the file's JSON into *m (already empty). */
static ecred_err marks_parse(const ecred_buf *b, vcache_marks *m)
{
    json_t *root = json_loadb((const char *)b->ptr, b->len, JSON_REJECT_DUPLICATES, NULL);
    json_t *lists = json_object_get(root, "lists");
    ecred_err e = ECRED_ERR_IO;
    if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_array(lists) || json_array_size(lists) > VCACHE_MARKS_MAX)
        goto out;
    const char *seq = json_string_value(json_object_get(root, "trust_seq"));
    if (seq) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(seq, &end, 10);
        if (!*seq || *seq == '-' || *end || errno)
            goto out;
        m->trust_seq = (uint64_t)v;
        m->have_trust = true;
    }
    for (size_t i = 0; i < json_array_size(lists); i++) {
        json_t *j = json_array_get(lists, i);
        const char *uri = json_string_value(json_object_get(j, "uri"));
        const char *h = json_string_value(json_object_get(j, "sha256"));
        json_t *iat = json_object_get(j, "iat"), *exp = json_object_get(j, "exp");
        vcache_mark k;
        memset(&k, 0, sizeof k);
        if (!uri || !*uri || strlen(uri) > ECRED_SLIST_URI_MAX || !h || !json_is_integer(iat) ||
            !json_is_integer(exp) || ecred_unhex(h, strlen(h), k.sha256, sizeof k.sha256) != ECRED_OK)
            goto out;
        memcpy(k.uri, uri, strlen(uri) + 1);
        k.iat = (int64_t)json_integer_value(iat);
        k.exp = (int64_t)json_integer_value(exp);
        if ((e = marks_put(m, &k)) != ECRED_OK)
            goto out;
        e = ECRED_ERR_IO;
    }
    e = ECRED_OK;
out:
    json_decref(root);
    return e;
}

ecred_err vcache_marks_load(const char *dir, vcache_marks *out)
{
    char p[VCACHE_PATH_MAX];
    ecred_buf b = ECRED_BUF_INIT;
    vcache_marks m;
    memset(&m, 0, sizeof m);
    memset(out, 0, sizeof *out);
    if (!join(p, sizeof p, dir, "highwater.json"))
        return ECRED_ERR_INPUT;
    struct stat st;
    if (lstat(p, &st) != 0 && errno == ENOENT)
        return ECRED_OK;
    ecred_err e = ecred_read_file(p, VCACHE_STATE_MAX, &b);
    if (!e)
        e = marks_parse(&b, &m);
    ecred_buf_free(&b);
    if (e) {
        vcache_marks_free(&m);
        return e == ECRED_ERR_NOMEM ? e : ECRED_ERR_IO;
    }
    *out = m;
    return ECRED_OK;
}

ecred_err vcache_marks_store(const char *dir, const vcache_marks *m)
{
    char p[VCACHE_PATH_MAX], seq[24];
    vcache_marks all;
    /* What another writer stored meanwhile stays: floors only go up. A
     * damaged file is replaced by what this writer knows. */
    if (vcache_marks_load(dir, &all) != ECRED_OK)
        memset(&all, 0, sizeof all);
    ecred_err e = ECRED_OK;
    for (size_t i = 0; !e && i < m->n; i++)
        e = marks_put(&all, &m->m[i]);
    if (m->have_trust)
        vcache_marks_raise_trust(&all, m->trust_seq);
    json_t *lists = json_array();
    json_t *o = json_pack("{s:i,s:o}", "version", 1, "lists", lists);
    if (e || !o) {
        json_decref(o);
        vcache_marks_free(&all);
        return e ? e : ECRED_ERR_NOMEM;
    }
    if (all.have_trust) {
        snprintf(seq, sizeof seq, "%llu", (unsigned long long)all.trust_seq);
        json_object_set_new(o, "trust_seq", json_string(seq));
    }
    for (size_t i = 0; i < all.n; i++) {
        char hx[65];
        ecred_hex(all.m[i].sha256, 32, hx);
        json_array_append_new(lists, json_pack("{s:s,s:I,s:I,s:s}", "uri", all.m[i].uri, "iat",
                                               (json_int_t)all.m[i].iat, "exp", (json_int_t)all.m[i].exp,
                                               "sha256", hx));
    }
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    vcache_marks_free(&all);
    if (!s)
        return ECRED_ERR_NOMEM;
    e = join(p, sizeof p, dir, "highwater.json") ? ecred_write_file_atomic(p, s, strlen(s), 0644)
                                                   : ECRED_ERR_INPUT;
    free(s);
    return e;
}

bool vcache_uri_trusted(const ecred_trustlist *tl, const char *uri)
{
    for (size_t i = 0; i < tl->n_entries; i++)
        if ((tl->entries[i].types & ECRED_TRUST_BIT_STATUS_LIST) &&
            ecred_trustlist_uri_allowed(&tl->entries[i], uri, strlen(uri)))
            return true;
    return false;
}

/* vfetch's redirect check: the target is under a trusted status prefix. */
static bool slist_hop_ok(void *ctx, const char *url)
{
    return vcache_uri_trusted(ctx, url);
}

ecred_err vcache_fetch_slist(const ecred_trustlist *tl, const char *uri, const char *etag, long timeout_ms,
                             vfetch *out, char *err, size_t errcap)
{
    const vfetch_opts o = {.etag = etag,
                           .max = ECRED_SLIST_TOKEN_MAX,
                           .timeout_ms = timeout_ms,
                           .accept = ECRED_SLIST_TYP,
                           .content_type = ECRED_SLIST_TYP,
                           .max_redirects = VCACHE_SLIST_REDIRECTS,
                           .url_ok = slist_hop_ok,
                           .ctx = (void *)(uintptr_t)tl};
    return vfetch_get_opts(uri, &o, out, err, errcap);
}

ecred_err vcache_verify_slist(const ecred_trustlist *tl, const uint8_t *buf, size_t n,
                              const char *uri, int64_t now, ecred_slist_token *out)
{
    uint8_t kid[64];
    size_t kid_len = 0;
    ecred_err e = ecred_slist_token_kid(buf, n, kid, &kid_len);
    if (e)
        return e;
    const ecred_trustlist_entry *en = NULL;
    for (size_t i = 0; kid_len == ECRED_KID_LEN && i < tl->n_entries; i++)
        if (memcmp(tl->entries[i].kid, kid, ECRED_KID_LEN) == 0)
            en = &tl->entries[i];
    if (!en)
        return ECRED_ERR_KEY_UNKNOWN;
    ecred_slist_token tok;
    memset(&tok, 0, sizeof tok);
    e = ecred_slist_token_verify(buf, n, en->key, now, &tok);
    if (e)
        return e;
    /* Signature first, then what the signed claims must say: the list is the
     * one asked for, signed in the key's window, under its URI prefix. */
    const ecred_trustlist_entry *allowed = NULL;
    if (strcmp(tok.uri, uri) != 0)
        e = ECRED_ERR_STATUS_LIST;
    else if (ecred_trustlist_find(tl, kid, kid_len, tok.iat, ECRED_TRUST_TYPE_STATUS_LIST,
                                  &allowed) != ECRED_OK ||
             !ecred_trustlist_uri_owned(tl, allowed, uri, strlen(uri)))
        e = ECRED_ERR_KEY_UNKNOWN;
    /* A token from the future would count as fresh for as long as the clocks
     * stay apart and, held, block every correct later token as a rollback. */
    else if (now >= 0 && tok.iat > now + VCACHE_CLOCK_SKEW)
        e = ECRED_ERR_NOT_YET_VALID;
    if (e) {
        ecred_slist_free(&tok.list);
        return e;
    }
    *out = tok;
    return ECRED_OK;
}

ecred_err vcache_set_trust(vcache *c, ecred_trustlist *tl, ecred_buf *raw, const char *etag,
                           int64_t fetched_at)
{
    ecred_trustlist_free(&c->trust);
    ecred_buf_free(&c->trust_raw);
    c->trust = *tl;
    memset(tl, 0, sizeof *tl);
    c->trust_raw = *raw;
    *raw = (ecred_buf)ECRED_BUF_INIT;
    snprintf(c->trust_etag, sizeof c->trust_etag, "%s", etag ? etag : "");
    c->trust_fetched_at = fetched_at;
    c->trust_ok = true;
    c->trust_err = ECRED_OK;
    return build_keys(c);
}

vcache_list *vcache_find(const vcache *c, const char *uri)
{
    for (size_t i = 0; i < c->n_lists; i++)
        if (strcmp(c->lists[i].uri, uri) == 0)
            return &c->lists[i];
    return NULL;
}

ecred_err vcache_put_list(vcache *c, vcache_list *l)
{
    vcache_list *old = vcache_find(c, l->uri);
    if (old) {
        list_clear(old);
        *old = *l;
        memset(l, 0, sizeof *l);
        return ECRED_OK;
    }
    if (c->n_lists >= VCACHE_LISTS_MAX)
        return ECRED_ERR_TOO_LARGE;
    vcache_list *a = realloc(c->lists, (c->n_lists + 1) * sizeof *a);
    if (!a)
        return ECRED_ERR_NOMEM;
    c->lists = a;
    a[c->n_lists++] = *l;
    memset(l, 0, sizeof *l);
    return ECRED_OK;
}

/* ---- loading ----------------------------------------------------------- */

/* The current generation's directory name, checked to be one of ours. */
static ecred_err current_gen(const char *dir, char *gen, size_t cap)
{
    char link[VCACHE_PATH_MAX];
    if (!join(link, sizeof link, dir, "current"))
        return ECRED_ERR_INPUT;
    ssize_t n = readlink(link, gen, cap - 1);
    if (n <= 0)
        return ECRED_ERR_IO;
    gen[n] = 0;
    if (strncmp(gen, GEN_PREFIX, strlen(GEN_PREFIX)) != 0 || strchr(gen, '/'))
        return ECRED_ERR_IO;
    return ECRED_OK;
}

/* A time read back from state.json: 0 unless within 0..9999-12-31, so no
 * later age or ttl arithmetic on it can overflow. */
static int64_t json_time(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    json_int_t t = json_is_integer(v) ? json_integer_value(v) : 0;
    return t >= 0 && t <= (json_int_t)253402300799 ? (int64_t)t : 0;
}

/* An ETag read back from state.json goes into a request header: one that
 * is not a plain token (CR LF, controls, too long) is dropped. */
static void json_etag(json_t *o, char out[VFETCH_ETAG_MAX + 1])
{
    const char *s = json_string_value(json_object_get(o, "etag"));
    out[0] = 0;
    if (vfetch_etag_ok(s))
        memcpy(out, s, strlen(s) + 1);
}

static void json_text(json_t *o, const char *key, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, key));
    out[0] = 0;
    if (s && strlen(s) < cap)
        memcpy(out, s, strlen(s) + 1);
}

/* Read one list entry of state.json and its token from the generation
 * directory; verification happens later, once the trust list is known. */
static ecred_err load_list(const char *gendir, json_t *j, vcache_list *l)
{
    memset(l, 0, sizeof *l);
    const char *uri = json_string_value(json_object_get(j, "uri"));
    if (!uri || !*uri || strlen(uri) > ECRED_SLIST_URI_MAX)
        return ECRED_ERR_STATUS_LIST;
    memcpy(l->uri, uri, strlen(uri) + 1);
    json_etag(j, l->etag);
    l->fetched_at = json_time(j, "fetched_at");
    char name[LIST_FILE_LEN + 1], path[VCACHE_PATH_MAX];
    list_file_name(uri, name);
    if (!join(path, sizeof path, gendir, name))
        return ECRED_ERR_INPUT;
    return ecred_read_file(path, ECRED_SLIST_TOKEN_MAX, &l->raw);
}

/* Verify every held list against the trust list (exp left to the caller's
 * staleness rule); a list that fails is kept, marked unusable. */
static void verify_lists(vcache *c)
{
    for (size_t i = 0; i < c->n_lists; i++) {
        vcache_list *l = &c->lists[i];
        ecred_slist_free(&l->tok.list);
        l->ok = false;
        if (!c->trust_ok) {
            l->err = ECRED_ERR_KEY_UNKNOWN;
            continue;
        }
        l->err = vcache_verify_slist(&c->trust, l->raw.ptr, l->raw.len, l->uri, -1, &l->tok);
        l->ok = l->err == ECRED_OK;
    }
}

static ecred_err load_once(const char *dir, int64_t now, unsigned mode, vcache *c, char *msg,
                           size_t msgcap)
{
    char gen[256], gendir[VCACHE_PATH_MAX], path[VCACHE_PATH_MAX];
    ecred_buf state = ECRED_BUF_INIT;
    json_t *root = NULL;
    ecred_err e = current_gen(dir, gen, sizeof gen);
    if (e) {
        snprintf(msg, msgcap, "%s holds no synced cache (run: ecred-verify sync --issuer URL --root ROOT.pem --cache %s)",
                 dir, dir);
        return ECRED_ERR_IO;
    }
    if (!join(gendir, sizeof gendir, dir, gen) || !join(path, sizeof path, gendir, "state.json"))
        return ECRED_ERR_INPUT;
    e = ecred_read_file(path, VCACHE_STATE_MAX, &state);
    if (e) {
        snprintf(msg, msgcap, "cannot read %s", path);
        goto out;
    }
    root = json_loadb((const char *)state.ptr, state.len, JSON_REJECT_DUPLICATES, NULL);
    json_t *lists = json_object_get(root, "lists");
    if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_array(lists) || json_array_size(lists) > VCACHE_LISTS_MAX) {
        snprintf(msg, msgcap, "%s is not a cache state file of this version", path);
        e = ECRED_ERR_IO;
        goto out;
    }
    json_text(root, "issuer", c->issuer, sizeof c->issuer);
    c->synced_at = json_time(root, "synced_at");
    json_t *trust = json_object_get(root, "trust");
    json_etag(trust, c->trust_etag);
    c->trust_fetched_at = json_time(trust, "fetched_at");
    if (!join(path, sizeof path, gendir, "trust.cwt")) {
        e = ECRED_ERR_INPUT;
        goto out;
    }
    if ((e = ecred_read_file(path, ECRED_TRUSTLIST_MAX_BYTES, &c->trust_raw)) != ECRED_OK) {
        snprintf(msg, msgcap, "cannot read %s", path);
        goto out;
    }
    c->lists = calloc(json_array_size(lists) + 1, sizeof *c->lists);
    if (!c->lists) {
        e = ECRED_ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < json_array_size(lists); i++) {
        e = load_list(gendir, json_array_get(lists, i), &c->lists[c->n_lists]);
        if (e) {
            list_clear(&c->lists[c->n_lists]);
            snprintf(msg, msgcap, "cache entry %zu in %s/%s is unreadable", i, dir, gen);
            goto out;
        }
        c->n_lists++;
    }
    if ((e = vcache_root_load(dir, &c->root)) != ECRED_OK) {
        snprintf(msg, msgcap, "cannot read the root key %s/root.pub.pem", dir);
        goto out;
    }
    /* LENIENT reads the held list whatever its exp (time 0 is before any
     * exp): sync needs its seq to refuse a rollback. */
    e = ecred_trustlist_verify(c->trust_raw.ptr, c->trust_raw.len, c->root,
                               mode == VCACHE_LENIENT ? 0 : now, &c->trust);
    c->trust_ok = e == ECRED_OK;
    c->trust_err = e;
    if (e && mode == VCACHE_STRICT) {
        if (e == ECRED_ERR_LIST_EXPIRED)
            snprintf(msg, msgcap, "the cached trust list has expired: sync again (ecred-verify sync)");
        else
            snprintf(msg, msgcap, "the cached trust list does not verify under the root key: %s",
                     ecred_err_message(e));
        goto out;
    }
    e = build_keys(c);
    if (!e)
        verify_lists(c);
    if (!e)
        memcpy(c->gen, gen, sizeof c->gen);
out:
    json_decref(root);
    ecred_buf_free(&state);
    return e;
}

ecred_err vcache_dir_safe(const char *dir, char *msg, size_t msgcap)
{
    static const char *const anchors[] = {"", "root.pub.pem"};
    uid_t me = geteuid();
    for (size_t i = 0; i < sizeof anchors / sizeof anchors[0]; i++) {
        char p[VCACHE_PATH_MAX];
        if (anchors[i][0] ? !join(p, sizeof p, dir, anchors[i]) : snprintf(p, sizeof p, "%s", dir) >= (int)sizeof p)
            return ECRED_ERR_TOO_LARGE;
        struct stat st;
        if (lstat(p, &st) != 0) {
            if (anchors[i][0])
                continue; /* no root yet: sync --root installs it */
            return ECRED_OK; /* no cache yet: load reports that */
        }
        if (anchors[i][0] && S_ISLNK(st.st_mode)) {
            snprintf(msg, msgcap, "%s is a symlink: the trust anchor must be a plain file", p);
            return ECRED_ERR_KEY_PERMISSIONS;
        }
        /* The cache holds the trust anchor: anyone who can write it (or
         * replace it) decides which keys are trusted. */
        if (st.st_uid != me && st.st_uid != 0) {
            snprintf(msg, msgcap, "%s belongs to uid %u, not to this user (%u) or root: refusing a trust anchor others control",
                     p, (unsigned)st.st_uid, (unsigned)me);
            return ECRED_ERR_KEY_PERMISSIONS;
        }
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
            snprintf(msg, msgcap, "%s is writable by group or others (mode %04o): chmod go-w it",
                     p, (unsigned)(st.st_mode & 07777));
            return ECRED_ERR_KEY_PERMISSIONS;
        }
    }
    return ECRED_OK;
}

ecred_err vcache_load(const char *dir, int64_t now, unsigned mode, vcache *out, char *msg,
                      size_t msgcap)
{
    msg[0] = 0;
    ecred_err safe = vcache_dir_safe(dir, msg, msgcap);
    if (safe) {
        memset(out, 0, sizeof *out);
        return safe;
    }
    /* A concurrent sync removes generations older than the one it replaced:
     * a reader that lost the race reads the new current one. Two tries. */
    ecred_err e = ECRED_ERR_IO;
    for (int attempt = 0; attempt < 2; attempt++) {
        vcache c;
        memset(&c, 0, sizeof c);
        e = load_once(dir, now, mode, &c, msg, msgcap);
        if (e == ECRED_OK) {
            *out = c;
            return ECRED_OK;
        }
        vcache_free(&c);
        if (e != ECRED_ERR_IO)
            break;
    }
    memset(out, 0, sizeof *out);
    return e;
}

/* ---- writing ----------------------------------------------------------- */

/* Remove a generation directory: its plain files, then itself. The
 * directory is opened without following a link and its files are unlinked
 * relative to it, so a gen.* symlink planted in DIR loses only itself,
 * never the files of the directory it points at. */
static void remove_gen(const char *dir, const char *gen)
{
    char gendir[VCACHE_PATH_MAX];
    if (!join(gendir, sizeof gendir, dir, gen))
        return;
    int fd = open(gendir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct stat st;
        if (lstat(gendir, &st) == 0 && !S_ISDIR(st.st_mode))
            unlink(gendir);
        return;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return;
    }
    struct dirent *de;
    size_t guard = 0;
    while ((de = readdir(d)) != NULL && guard++ < 4 * VCACHE_LISTS_MAX) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        unlinkat(fd, de->d_name, 0);
    }
    closedir(d);
    rmdir(gendir);
}

static ecred_err fsync_path(const char *p)
{
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return ECRED_ERR_IO;
    int r = fsync(fd);
    close(fd);
    return r == 0 ? ECRED_OK : ECRED_ERR_IO;
}

static ecred_err write_state(const char *gendir, const vcache *c)
{
    json_t *lists = json_array();
    json_t *o = json_pack("{s:i,s:s,s:I,s:{s:s,s:I},s:o}", "version", 1, "issuer", c->issuer,
                          "synced_at", (json_int_t)c->synced_at, "trust", "etag", c->trust_etag,
                          "fetched_at", (json_int_t)c->trust_fetched_at, "lists", lists);
    if (!o)
        return ECRED_ERR_NOMEM;
    for (size_t i = 0; i < c->n_lists; i++) {
        const vcache_list *l = &c->lists[i];
        char name[LIST_FILE_LEN + 1];
        list_file_name(l->uri, name);
        json_array_append_new(lists, json_pack("{s:s,s:s,s:s,s:I}", "uri", l->uri, "file", name,
                                               "etag", l->etag, "fetched_at", (json_int_t)l->fetched_at));
    }
    char *s = json_dumps(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return ECRED_ERR_NOMEM;
    char p[VCACHE_PATH_MAX];
    ecred_err e = join(p, sizeof p, gendir, "state.json")
                      ? ecred_write_file_atomic(p, s, strlen(s), 0644)
                      : ECRED_ERR_INPUT;
    free(s);
    return e;
}

ecred_err vcache_commit(const char *dir, const vcache *c, char *msg, size_t msgcap)
{
    char tmpl[VCACHE_PATH_MAX], p[VCACHE_PATH_MAX], link_tmp[VCACHE_PATH_MAX], cur[VCACHE_PATH_MAX];
    char prev[256] = "";
    msg[0] = 0;
    if (!c->trust_raw.len)
        return ECRED_ERR_ARG;
    if (!join(tmpl, sizeof tmpl, dir, GEN_PREFIX "XXXXXX") || !join(link_tmp, sizeof link_tmp, dir, ".current.new") ||
        !join(cur, sizeof cur, dir, "current"))
        return ECRED_ERR_INPUT;
    if (!mkdtemp(tmpl)) {
        snprintf(msg, msgcap, "cannot create a directory in %s: %s", dir, strerror(errno));
        return ECRED_ERR_IO;
    }
    chmod(tmpl, 0755);
    const char *gen = strrchr(tmpl, '/') + 1;
    ecred_err e = ECRED_OK;
    if (!join(p, sizeof p, tmpl, "trust.cwt"))
        e = ECRED_ERR_INPUT;
    if (!e)
        e = ecred_write_file_atomic(p, c->trust_raw.ptr, c->trust_raw.len, 0644);
    for (size_t i = 0; !e && i < c->n_lists; i++) {
        char name[LIST_FILE_LEN + 1];
        list_file_name(c->lists[i].uri, name);
        if (!join(p, sizeof p, tmpl, name))
            e = ECRED_ERR_INPUT;
        else
            e = ecred_write_file_atomic(p, c->lists[i].raw.ptr, c->lists[i].raw.len, 0644);
    }
    if (!e)
        e = write_state(tmpl, c);
    if (!e)
        e = fsync_path(tmpl);
    if (e) {
        snprintf(msg, msgcap, "cannot write the new cache generation in %s: %s", dir, ecred_err_message(e));
        remove_gen(dir, gen);
        return e;
    }
    /* The generation's entry in DIR must be durable before `current` can
     * point at it. */
    fsync_path(dir);
    /* The switch: a new symlink renamed over `current` is atomic. */
    ssize_t pn = readlink(cur, prev, sizeof prev - 1);
    prev[pn > 0 ? pn : 0] = 0;
    unlink(link_tmp);
    if (symlink(gen, link_tmp) != 0 || rename(link_tmp, cur) != 0) {
        snprintf(msg, msgcap, "cannot switch %s to the new generation: %s", cur, strerror(errno));
        unlink(link_tmp);
        remove_gen(dir, gen);
        return ECRED_ERR_IO;
    }
    fsync_path(dir);
    /* Keep the generation just replaced (a reader may be in it); drop older
     * ones and any left by a sync that died half way. */
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        char names[64][256];
        size_t n = 0;
        while ((de = readdir(d)) != NULL && n < 64)
            if (strncmp(de->d_name, GEN_PREFIX, strlen(GEN_PREFIX)) == 0 && strcmp(de->d_name, gen) != 0 &&
                strcmp(de->d_name, prev) != 0 && strlen(de->d_name) < 256)
                memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
        closedir(d);
        for (size_t i = 0; i < n; i++)
            remove_gen(dir, names[i]);
    }
    return ECRED_OK;
}

ecred_err vcache_commit_if_current(const char *dir, vcache *c, char *msg, size_t msgcap)
{
    int lock = -1;
    char cur[sizeof c->gen], link[VCACHE_PATH_MAX], now_gen[sizeof c->gen] = "";
    msg[0] = 0;
    ecred_err e = vcache_lock(dir, &lock);
    if (e) {
        snprintf(msg, msgcap, "cannot lock %s/.lock", dir);
        return e;
    }
    if (current_gen(dir, cur, sizeof cur) != ECRED_OK || strcmp(cur, c->gen) != 0) {
        snprintf(msg, msgcap, "%s", "the cache changed since it was loaded (a sync ran); not overwriting it");
        e = ECRED_ERR_EXISTS;
        goto out;
    }
    e = vcache_commit(dir, c, msg, msgcap);
    if (!e && join(link, sizeof link, dir, "current")) {
        ssize_t n = readlink(link, now_gen, sizeof now_gen - 1);
        now_gen[n > 0 ? n : 0] = 0;
        memcpy(c->gen, now_gen, sizeof c->gen);
    }
out:
    vcache_unlock(lock);
    return e;
}

ecred_err vcache_lock(const char *dir, int *fd)
{
    char p[VCACHE_PATH_MAX];
    if (!join(p, sizeof p, dir, ".lock"))
        return ECRED_ERR_INPUT;
    int f = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (f < 0)
        return ECRED_ERR_IO;
    for (int waited = 0; waited <= VCACHE_LOCK_WAIT_MS; waited += 50) {
        if (flock(f, LOCK_EX | LOCK_NB) == 0) {
            *fd = f;
            return ECRED_OK;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(f);
    return ECRED_ERR_IO;
}

void vcache_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}
