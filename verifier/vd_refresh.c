/*
 * vd_refresh.c - the verifier daemon's cache snapshots and the background
 * thread that keeps them fresh: sync from the issuer (sync.c) every
 * --refresh, load the committed cache, publish it as the new snapshot.
 *
 * Request threads decide on an immutable, reference-counted snapshot, so a
 * refresh never blocks a request or mixes two caches in one answer; the old
 * snapshot is freed by whichever thread drops its last reference.
 *
 * Must never: publish a cache that did not load strictly (VCACHE_STRICT),
 * free a snapshot a request still holds, log personal data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ecred/err.h"
#include "svc_log.h"
#include "sync.h"
#include "vd_state.h"
#include "vutil.h"

vd_snap *vd_snap_get(vd *d)
{
    pthread_mutex_lock(&d->mu);
    vd_snap *s = d->cur;
    if (s)
        s->refs++;
    pthread_mutex_unlock(&d->mu);
    return s;
}

void vd_snap_put(vd *d, vd_snap *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&d->mu);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&d->mu);
    if (last) {
        vcache_free(&s->c);
        free(s);
    }
}

ecred_err vd_reload(vd *d)
{
    char msg[512];
    vd_snap *s = calloc(1, sizeof *s);
    if (!s)
        return ECRED_ERR_NOMEM;
    ecred_err e = vcache_load(d->dir, (int64_t)time(NULL), VCACHE_STRICT, &s->c, msg, sizeof msg);
    if (e) {
        svc_log(SVC_WARNING, "cache not loaded", "detail", msg);
        free(s);
        return e;
    }
    s->refs = 1;
    pthread_mutex_lock(&d->mu);
    vd_snap *old = d->cur;
    d->cur = s;
    pthread_mutex_unlock(&d->mu);
    vd_snap_put(d, old);
    return ECRED_OK;
}

/* sync.c's notes (fetch failures, refused lists, rollbacks) as log lines;
 * they name URIs and reasons, never a credential. */
static void vd_sync_note(void *ctx, int level, const char *msg)
{
    (void)ctx;
    svc_log(level <= 0 ? SVC_INFO : level == 1 ? SVC_WARNING : SVC_ERROR, "sync note", "detail", msg);
}

/* The refresh thread: sync, reload, re-read keys, sleep INTERVAL, until stop. */
static void *vd_refresher(void *arg)
{
    vd *d = arg;
    vnote note = {vd_sync_note, NULL};
    for (;;) {
        vsync_report rep;
        ecred_err e = vsync_run(d->dir, d->issuer, d->root, (int64_t)time(NULL), &note, &rep);
        pthread_mutex_lock(&d->mu);
        if (e) {
            d->syncs_failed++;
        } else {
            d->syncs_ok++;
            d->last_sync_ok = (int64_t)time(NULL);
        }
        bool have = d->cur != NULL;
        pthread_mutex_unlock(&d->mu);
        char counts[128];
        snprintf(counts, sizeof counts, "%zu lists, %zu updated, %zu not modified, %zu refused", rep.lists_total,
                 rep.lists_updated, rep.lists_unchanged, rep.lists_refused);
        const char *kv[] = {"result", e ? ecred_err_reason(e) : "ok", "lists", counts};
        svc_logv(e ? SVC_WARNING : SVC_INFO, "sync", kv, 2);
        if (rep.committed || !have)
            vd_reload(d);
        vd_keys_reload(d, "refresh");
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)d->refresh;
        pthread_mutex_lock(&d->mu);
        int waits = 0;
        while (!d->stop && waits++ < 1000) {
            if (pthread_cond_timedwait(&d->cv, &d->mu, &until) == ETIMEDOUT)
                break;
        }
        bool stop = d->stop;
        pthread_mutex_unlock(&d->mu);
        if (stop)
            return NULL;
    }
}

ecred_err vd_refresh_start(vd *d, pthread_t *th)
{
    return pthread_create(th, NULL, vd_refresher, d) == 0 ? ECRED_OK : ECRED_ERR_IO;
}

void vd_refresh_stop(vd *d, pthread_t th)
{
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_signal(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(th, NULL);
}
