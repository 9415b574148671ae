/*
 * vd_state.h - the state ecred-verifierd shares among its threads (the
 * request threads of the HTTP layer, the refresh thread, the main thread
 * waiting for signals), and the functions of each concern that touch it:
 * snapshots and the refresh thread (vd_refresh.c), API keys (vd_keys.c),
 * counters (vd_metrics.c), the route table and its guard (vd_routes.c).
 *
 * Locking: `mu` guards the snapshot pointer and its reference counts, the
 * sync counters and `srv`; `keys_mu` guards the key set and its file stamp;
 * `keys_reload_mu` serialises re-reads of DIR/api-keys so an older read never
 * lands last. The verify outcome counters are atomics (one per request on
 * the hot path). Nothing here may hold a scanned credential.
 */
#ifndef ECRED_VERIFIER_VD_STATE_H
#define ECRED_VERIFIER_VD_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "apikeys.h"
#include "cache.h"
#include "ecred/present.h"
#include "ratelimit.h"
#include "svc_assets.h"
#include "svc_http.h"
#include "vchal.h"

#define VD_DEFAULT_REFRESH ((int64_t)300)
#define VD_DEFAULT_MAX_AGE ((int64_t)24 * 3600)
#define VD_THREADS 4
#define VD_CONN_MEMORY ((size_t)32 * 1024) /* caps URL and headers per connection */
#define VD_CONN_LIMIT 1024u
#define VD_KEYS_CHECK_MS 1000 /* bound on how long a removed key keeps working */
#define VD_VERIFIER_ID_DEFAULT "ecred-verifierd" /* aud of our challenges */
#define VD_SCAN_DECODES 2      /* photos decoded at once (POST /v1/scan-image); more wait: 503 */
#define VD_PHOTO_COST 4        /* rate-limit tokens a photo takes (a text takes 1) */

/* One loaded cache, immutable once published; freed by the last vd_snap_put. */
typedef struct vd_snap {
    int refs;
    vcache c;
} vd_snap;

/* What identifies one version of DIR/api-keys without reading it: an atomic
 * rewrite (rename) gives a new inode and ctime, an edit in place a new
 * mtime, ctime or size. */
typedef struct vd_keys_stamp {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
} vd_keys_stamp;

/* Verify outcomes counted by reason (ecred_err_reason); the last is "other". */
#define VD_N_REASONS 12
extern const char *const vd_reasons[VD_N_REASONS];

typedef struct vd {
    /* Set by vd_main.c before any thread starts; read-only afterwards. */
    const char *dir, *issuer, *root;
    int64_t refresh, max_age;
    svc_assets *assets;
    /* Holder proofs (spec/verifier.md 5.5): one replay cache and one parsed
     * holder key cache for all clients (a screenshot reused at two scanners
     * behind this daemon is caught), the outstanding challenges, and the id
     * our challenges name. Each object locks itself. */
    ecred_replay_cache *replay;
    ecred_holder_keys *holder_keys;
    vchal_store *challenges;
    const char *verifier_id;
    int64_t challenge_ttl;    /* seconds a challenge may be answered (--challenge-ttl) */
    int64_t skew;
    vrate *rate;              /* per-key limit on verify and scan-image (--rate) */
    /* Snapshot, sync counters, the server (for request counters). */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    vd_snap *cur; /* NULL until a cache loaded */
    uint64_t syncs_ok, syncs_failed;
    int64_t last_sync_ok;
    svc_server *srv; /* NULL until svc_start returned */
    /* API keys. */
    pthread_mutex_t keys_mu;
    pthread_mutex_t keys_reload_mu;
    vkeys keys;
    vd_keys_stamp keys_seen;  /* the file as last loaded (or found malformed) */
    int64_t keys_checked_ms;  /* monotonic time of the last stat */
    bool keys_busy;           /* one request thread checks at a time */
    /* Photos being decoded now (POST /v1/scan-image). */
    atomic_uint scans_running;
    /* Verify outcomes by reason slot. */
    atomic_uint_fast64_t outcomes[VD_N_REASONS];
} vd;

/* ---- vd_refresh.c ---- */

/* A reference to the current snapshot, or NULL when none loaded; give it
 * back with vd_snap_put. */
vd_snap *vd_snap_get(vd *d);
/* Drop a reference (NULL is fine); the last one frees the cache. */
void vd_snap_put(vd *d, vd_snap *s);
/* Load DIR's cache and make it current; on failure the old one stays and
 * the reason is logged. */
ecred_err vd_reload(vd *d);
/* Start the refresh thread (sync, reload, re-read keys, every d->refresh). */
ecred_err vd_refresh_start(vd *d, pthread_t *th);
/* Tell the refresh thread to stop and wait for it. */
void vd_refresh_stop(vd *d, pthread_t th);

/* ---- vd_keys.c ---- */

/* Monotonic milliseconds (the key check's clock). */
int64_t vd_monotonic_ms(void);
/* Re-read DIR/api-keys and swap it in; a file that does not load keeps the
 * keys held (logged as an error). why goes to the log ("start", "SIGHUP"). */
void vd_keys_reload(vd *d, const char *why);
/* At most once per VD_KEYS_CHECK_MS: stat DIR/api-keys and re-read it when
 * it changed. Cheap when not due (one lock, no system call). */
void vd_keys_maybe_reload(vd *d);
/* Whether the presented key text (n bytes) is one of ours; on a hit *out
 * gets a copy of its entry (role, fields, id). */
bool vd_keys_check(vd *d, const char *presented, size_t n, vkey *out);

/* ---- vd_metrics.c ---- */

/* Count one verify answer under its reason. */
void vd_count_outcome(vd *d, ecred_err outcome);

/* ---- vd_routes.c ---- */

extern const svc_route vd_routes[];
extern const size_t vd_n_routes;
/* Check the API key of a route that needs one: 401 missing_key /
 * invalid_key, else r->who = "key:ID", r->role the key's role and r->scope a
 * copy of the key (for its agency fields). Returns false when it replied. */
bool vd_guard(svc_req *r);
/* Free what the guard put in r->scope. */
void vd_release(svc_req *r);

#endif
