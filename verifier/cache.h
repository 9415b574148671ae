/*
 * cache.h - the verifier's synced cache: the trust list and the status list
 * tokens exactly as the issuer served them, with their ETags and fetch
 * times, in one directory (format: spec/verifier.md section 3).
 *
 *   DIR/root.pub.pem        the root public key the trust list must verify under
 *   DIR/current -> gen.XXXX one complete, consistent generation:
 *       trust.cwt  sl-<16 hex>.cwt ...  state.json
 *   DIR/api-keys            the daemon's API key hashes (apikeys.h)
 *   DIR/highwater.json      per status list URI the newest token ever
 *                           accepted (iat, hash) and the highest trust list
 *                           seq: the rollback floors, kept across generations
 *
 * A new generation is written in full in a fresh directory, fsynced, and made
 * current by renaming a symlink over `current`: a reader sees the old cache or
 * the new one, never a mix, and a sync that dies half way leaves the old one.
 *
 * Everything loaded is verified again at load (trust list against the root,
 * every status list against the trust list): the cache directory is not
 * trusted more than the network it came from.
 *
 * Must never: keep a scanned credential, print, exit.
 */
#ifndef ECRED_VERIFIER_CACHE_H
#define ECRED_VERIFIER_CACHE_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/decide.h"
#include "ecred/slist.h"
#include "ecred/trustlist.h"
#include "fetch.h"

#define VCACHE_PATH_MAX 1024       /* a cache directory path, bytes */
#define VCACHE_LISTS_MAX 1024      /* status lists one cache holds */
#define VCACHE_STATE_MAX ((size_t)1 << 20)
#define VCACHE_ISSUER_MAX 512
#define VCACHE_LOCK_WAIT_MS 30000  /* how long a writer waits for another */
/* How far a token's iat may lie ahead of the verifier's clock: issuers and
 * verifiers keep NTP time; more than this is a clock fault or a forgery
 * attempt, and such a token could block every correct one as a rollback. */
#define VCACHE_CLOCK_SKEW 300
#define VCACHE_MARKS_MAX (4 * VCACHE_LISTS_MAX)
/* A held list the index no longer names is kept until its exp, or this long
 * after its iat when it has none. */
#define VCACHE_KEEP_NO_EXP ((int64_t)30 * 86400)

typedef struct vcache_list {
    char uri[ECRED_SLIST_URI_MAX + 1];
    char etag[VFETCH_ETAG_MAX + 1];
    int64_t fetched_at;     /* when the issuer last confirmed these bytes (200 or 304) */
    ecred_buf raw;          /* the token as received */
    bool ok;                /* tok is verified and usable */
    ecred_err err;          /* why not, when !ok */
    ecred_slist_token tok;  /* valid when ok */
} vcache_list;

typedef struct vcache {
    char issuer[VCACHE_ISSUER_MAX + 1];
    int64_t synced_at;               /* last sync that committed this data */
    ecred_key *root;
    ecred_buf trust_raw;             /* empty: no trust list */
    char trust_etag[VFETCH_ETAG_MAX + 1];
    int64_t trust_fetched_at;
    bool trust_ok;
    ecred_err trust_err;             /* why not, when !trust_ok */
    ecred_trustlist trust;           /* valid when trust_ok */
    vcache_list *lists;
    size_t n_lists;
    ecred_trusted_key *keys;         /* credential keys derived from trust */
    size_t n_keys;
    char gen[256];                   /* generation loaded from or last committed ("" none) */
} vcache;

/* Load modes. STRICT: the trust list must verify at now (else the error
 * comes back). LENIENT (for sync): the held trust list's expiry is ignored
 * and nothing is fatal but a missing or unreadable directory, so a sync can
 * compare with and keep what the cache holds. */
#define VCACHE_STRICT 0u
#define VCACHE_LENIENT 1u

/* Load DIR's current generation into *out (release with vcache_free).
 * ECRED_ERR_IO with msg when DIR holds no synced cache; in STRICT mode the
 * trust list's own error (list_expired, bad signature...). On failure *out
 * is left zeroed. */
/* Whether DIR and DIR/root.pub.pem (the trust anchor) are safe to trust:
 * owned by this user or root, not writable by group or others, the anchor
 * not a symlink. ECRED_ERR_KEY_PERMISSIONS with a reason in msg otherwise.
 * vcache_load and a sync both ask it first. */
ecred_err vcache_dir_safe(const char *dir, char *msg, size_t msgcap);

ecred_err vcache_load(const char *dir, int64_t now, unsigned mode, vcache *out, char *msg,
                      size_t msgcap);
void vcache_free(vcache *c);

/* Whether c may vouch for keys at now: its trust list verified and now <
 * its exp. ECRED_ERR_LIST_EXPIRED past exp, ECRED_ERR_KEY_UNKNOWN when no
 * trust list verified. A daemon holding a snapshot asks at every request:
 * the snapshot outlives the moment it was loaded. */
ecred_err vcache_check_trust(const vcache *c, int64_t now);

/* The root key of a cache (DIR/root.pub.pem). */
ecred_err vcache_root_load(const char *dir, ecred_key **out);
/* Install the root key (PEM) as DIR/root.pub.pem, atomically. */
ecred_err vcache_root_store(const char *dir, const ecred_key *root);

/* Verify a status list token served for uri under a trust list at now (now <
 * 0 skips the token's exp and iat checks): the kid names a trust entry
 * allowed to sign status lists at the token's iat for this uri, the
 * signature holds, sub == uri, iat is at most VCACHE_CLOCK_SKEW ahead of now.
 * ECRED_ERR_KEY_UNKNOWN, ECRED_ERR_SIGNATURE_INVALID, ECRED_ERR_LIST_EXPIRED,
 * ECRED_ERR_NOT_YET_VALID (iat in the future), ECRED_ERR_STATUS_LIST (sub
 * differs) or the token's own error. *out written
 * only on success (out->list is the caller's). */
ecred_err vcache_verify_slist(const ecred_trustlist *tl, const uint8_t *buf, size_t n,
                              const char *uri, int64_t now, ecred_slist_token *out);

/* A verified token may replace the held copy only if it was not issued
 * before it (iat), and at an equal iat only if it says the same (the same
 * statuses: vcache_slist_digest): a replayed or stale-cached older list
 * could say VALID for a credential revoked since. ECRED_ERR_STATUS_LIST when
 * refused; ECRED_OK when nothing usable is held (held NULL or not ok). */
ecred_err vcache_check_newer(const vcache_list *held, const ecred_slist_token *tok);

/* What a token says, as one hash: its entries (bits, count, packed values).
 * Not a hash of the token's bytes: ES256 signatures are randomized, so the
 * same list signed twice in one second differs in bytes but not in what it
 * says, and must not read as a replay. */
void vcache_slist_digest(const ecred_slist_token *tok, uint8_t out[32]);

/* ---- rollback floors that outlive generations (DIR/highwater.json) ----
 * A generation only holds what the last index named: an unsigned index that
 * stops naming a list must not erase what the verifier has seen of it. */
typedef struct vcache_mark {
    char uri[ECRED_SLIST_URI_MAX + 1];
    int64_t iat;          /* newest iat accepted for uri */
    int64_t exp;          /* that token's exp (0: none); the oldest go first past the cap */
    uint8_t sha256[32];   /* vcache_slist_digest of that token: an equal iat must match it */
} vcache_mark;

typedef struct vcache_marks {
    vcache_mark *m;
    size_t n;
    uint64_t trust_seq;   /* highest trust list seq accepted */
    bool have_trust;      /* trust_seq is set */
} vcache_marks;

/* Load DIR/highwater.json into *out (release with vcache_marks_free). A
 * missing file is an empty set (ECRED_OK); an unreadable or malformed one is
 * ECRED_ERR_IO with *out empty, and the caller decides (sync goes on with the
 * floors of the lists it holds and rewrites the file). */
ecred_err vcache_marks_load(const char *dir, vcache_marks *out);
void vcache_marks_free(vcache_marks *m);

/* ECRED_ERR_STATUS_LIST when tok is older than the mark for uri, or as old
 * and saying something else; ECRED_OK otherwise (also with no mark, or a
 * mark more than VCACHE_CLOCK_SKEW ahead of now: such a floor can only be
 * left by a clock fault, and correct data must be able to clear it). */
ecred_err vcache_marks_check(const vcache_marks *m, const char *uri, const ecred_slist_token *tok,
                             int64_t now);

/* Raise uri's mark to tok (only upwards); past VCACHE_MARKS_MAX the mark
 * whose exp passed longest ago is dropped. Call only for a token that
 * verified and passed the clock and rollback checks. */
ecred_err vcache_marks_raise(vcache_marks *m, const char *uri, const ecred_slist_token *tok);

/* Raise the trust seq floor (only upwards). */
void vcache_marks_raise_trust(vcache_marks *m, uint64_t seq);

/* Merge m into DIR/highwater.json (each floor the maximum of both) and write
 * it atomically; the caller holds DIR's lock. */
ecred_err vcache_marks_store(const char *dir, const vcache_marks *m);

/* True when some trust entry may sign status lists under uri. */
bool vcache_uri_trusted(const ecred_trustlist *tl, const char *uri);

/* Fetch the status list token at uri the way the draft asks (section 8):
 * Accept: application/statuslist+cwt, any 2xx whose Content-Type is that
 * type, at most VCACHE_SLIST_REDIRECTS redirects, none from https to http and
 * each to a URL still under a status prefix of tl. The token's sub is still
 * compared with uri (the credential's), never with the final URL. As
 * vfetch_get_opts otherwise. */
#define VCACHE_SLIST_REDIRECTS 3
ecred_err vcache_fetch_slist(const ecred_trustlist *tl, const char *uri, const char *etag, long timeout_ms,
                             vfetch *out, char *err, size_t errcap);

/* Set trust to a verified list (taken: *tl is zeroed), with its bytes (raw
 * taken) and rebuild the credential keys. */
ecred_err vcache_set_trust(vcache *c, ecred_trustlist *tl, ecred_buf *raw, const char *etag,
                           int64_t fetched_at);

/* Replace or add the list for l->uri; *l is taken (zeroed). ECRED_ERR_TOO_LARGE
 * past VCACHE_LISTS_MAX. */
ecred_err vcache_put_list(vcache *c, vcache_list *l);

/* The list held for uri, or NULL. */
vcache_list *vcache_find(const vcache *c, const char *uri);

/* The keyset decide() uses: the trust list's credential-signing keys. */
ecred_keyset vcache_keyset(const vcache *c);

/* Write c (trust list, every list's raw bytes, state.json) as a new
 * generation and make it current; the caller holds the lock. Old
 * generations but the one just replaced are removed. */
ecred_err vcache_commit(const char *dir, const vcache *c, char *msg, size_t msgcap);

/* Commit c under DIR's lock only if DIR's current generation is still the
 * one c was loaded from (c->gen), so a writer holding an older load never
 * rolls back what a sync committed meanwhile; c->gen then names the new
 * generation. ECRED_ERR_EXISTS (nothing written) when current moved on. */
ecred_err vcache_commit_if_current(const char *dir, vcache *c, char *msg, size_t msgcap);

/* Take DIR's writer lock (DIR/.lock, flock), waiting at most
 * VCACHE_LOCK_WAIT_MS; *fd is the lock to pass to vcache_unlock. */
ecred_err vcache_lock(const char *dir, int *fd);
void vcache_unlock(int fd);

#endif
