/*
 * vd_keys.c - the verifier daemon's API keys, reloaded while it runs:
 * DIR/api-keys is stat'ed at most once a second before a key check (and
 * re-read when it changed), re-read at every refresh and on SIGHUP, so
 * `key add` and `key remove` take effect within a second without a restart
 * (spec/verifier.md section 5.2, "Reload bound").
 *
 * The stat and the read run outside the key lock; only the swap holds it,
 * so a slow disk never stalls request threads checking keys.
 *
 * Must never: log a key or its hash; drop the keys held because the file
 * was mistyped (an operator's typo must not lock every client out).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "svc_log.h"
#include "vd_state.h"

int64_t vd_monotonic_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The stamp of DIR/api-keys now (exists false when there is no file). */
static vd_keys_stamp vd_keys_stamp_now(const vd *d)
{
    char p[VCACHE_PATH_MAX];
    vd_keys_stamp k;
    memset(&k, 0, sizeof k);
    struct stat st;
    snprintf(p, sizeof p, "%s/api-keys", d->dir);
    if (stat(p, &st) == 0) {
        k.exists = true;
        k.dev = st.st_dev;
        k.ino = st.st_ino;
        k.size = st.st_size;
        k.mtime = st.st_mtim;
        k.ctime = st.st_ctim;
    }
    return k;
}

static bool vd_keys_stamp_same(const vd_keys_stamp *a, const vd_keys_stamp *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* The stamp is taken before reading, so a change made while reading shows
 * as a new stamp at the next check. A deleted file means no keys. */
void vd_keys_reload(vd *d, const char *why)
{
    pthread_mutex_lock(&d->keys_reload_mu);
    vd_keys_stamp st = vd_keys_stamp_now(d);
    vkeys k;
    ecred_err e = vkeys_load(d->dir, &k);
    pthread_mutex_lock(&d->keys_mu);
    d->keys_seen = st;
    if (e) {
        pthread_mutex_unlock(&d->keys_mu);
        pthread_mutex_unlock(&d->keys_reload_mu);
        const char *kv[] = {"why", why, "error", ecred_err_name(e)};
        svc_logv(SVC_ERROR, "api-keys unreadable or malformed; keeping the keys held", kv, 2);
        return;
    }
    vkeys old = d->keys;
    d->keys = k;
    size_t before = old.n, after = k.n;
    pthread_mutex_unlock(&d->keys_mu);
    pthread_mutex_unlock(&d->keys_reload_mu);
    vkeys_free(&old);
    if (before != after || strcmp(why, "start") == 0 || strcmp(why, "SIGHUP") == 0) {
        char n[24];
        snprintf(n, sizeof n, "%zu", after);
        const char *kv[] = {"why", why, "keys", n};
        svc_logv(SVC_INFO, "api keys loaded", kv, 2);
    }
}

void vd_keys_maybe_reload(vd *d)
{
    int64_t now = vd_monotonic_ms();
    pthread_mutex_lock(&d->keys_mu);
    bool due = !d->keys_busy && now - d->keys_checked_ms >= VD_KEYS_CHECK_MS;
    if (due) {
        d->keys_busy = true;
        d->keys_checked_ms = now;
    }
    vd_keys_stamp seen = d->keys_seen;
    pthread_mutex_unlock(&d->keys_mu);
    if (!due)
        return;
    vd_keys_stamp st = vd_keys_stamp_now(d);
    if (!vd_keys_stamp_same(&st, &seen))
        vd_keys_reload(d, "file changed");
    pthread_mutex_lock(&d->keys_mu);
    d->keys_busy = false;
    pthread_mutex_unlock(&d->keys_mu);
}

bool vd_keys_check(vd *d, const char *presented, size_t n, vkey *out)
{
    vd_keys_maybe_reload(d);
    pthread_mutex_lock(&d->keys_mu);
    const vkey *hit = vkeys_check(&d->keys, presented, n);
    if (hit)
        *out = *hit;
    pthread_mutex_unlock(&d->keys_mu);
    return hit != NULL;
}
