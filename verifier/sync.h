/*
 * sync.h - bring a verifier cache up to date from an issuer: the trust list
 * (checked against the root key, never rolled back), the index of status
 * lists, and every status list (checked against the trust list, exp and
 * URI), each fetched conditionally on its ETag. Used by `ecred-verify sync`
 * and by ecred-verifierd's refresh thread.
 *
 * Must never: replace a good cache with anything that did not verify. A
 * refused trust list aborts the whole sync; a refused status list keeps its
 * old copy while the others move on. Never let the unsigned index remove a
 * held list that still verifies or lower a rollback floor (highwater.json,
 * cache.h), and never hold the cache lock longer than the sync's time bound.
 */
#ifndef ECRED_VERIFIER_SYNC_H
#define ECRED_VERIFIER_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"
#include "vutil.h"

#define VSYNC_TRUST_PATH "/.well-known/ecred-trust"
#define VSYNC_INDEX_PATH "/.well-known/ecred-status-lists"
#define VSYNC_INDEX_MAX ((size_t)256 * 1024)
#define VSYNC_TIMEOUT_DEFAULT 120 /* seconds for one whole sync */

typedef struct vsync_report {
    bool trust_changed;       /* a new trust list was installed */
    size_t lists_total;       /* lists the committed cache holds */
    size_t lists_updated;     /* 200 and verified */
    size_t lists_unchanged;   /* 304 */
    size_t lists_refused;     /* fetch failed or did not verify: old copy kept */
    size_t lists_unlisted;    /* held lists the index no longer names, kept until exp */
    bool timed_out;           /* the time bound cut the sync short: the rest kept */
    bool committed;           /* a new generation is current */
} vsync_report;

/* Sync dir from issuer_url (scheme://host[:port], no trailing path). root_path
 * may be NULL once the cache holds a root; when both exist they must be the
 * same key. Returns ECRED_OK when everything verified and was committed, else
 * the first error met (its exit code and reason come from err.h); messages go
 * to note. */
ecred_err vsync_run(const char *dir, const char *issuer_url, const char *root_path, int64_t now,
                    const vnote *note, vsync_report *rep);

/* vsync_run bounded to timeout_s seconds (1..VUTIL_DURATION_MAX) of fetching
 * in all; vsync_run uses VSYNC_TIMEOUT_DEFAULT. When the bound is reached the
 * lists not yet fetched keep their old copies, what verified is committed,
 * and ECRED_ERR_IO comes back (rep->timed_out). */
ecred_err vsync_run_within(const char *dir, const char *issuer_url, const char *root_path, int64_t now,
                           int64_t timeout_s, const vnote *note, vsync_report *rep);

#endif
