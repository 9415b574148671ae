/*
 * vd_metrics.c - GET /metrics (public, Prometheus text): request counters by
 * route label and status (kept by the HTTP layer, written by
 * svc_metrics_write), verify outcomes by reason, sync results, and the age
 * of the trust and status data in use.
 *
 * Must never: put anything from a request in a label (labels are route
 * names, status codes, reasons and the status list URIs the cache holds).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apierr.h"
#include "handlers.h"
#include "vd_state.h"

const char *const vd_reasons[VD_N_REASONS] = {
    "ok",      "not_our_format", "malformed", "unknown_key",  "bad_signature",      "expired",
    "not_yet_valid", "revoked", "suspended", "status_stale", "status_unavailable", "other"};

void vd_count_outcome(vd *d, ecred_err outcome)
{
    const char *r = ecred_err_reason(outcome);
    size_t slot = VD_N_REASONS - 1;
    for (size_t i = 0; i + 1 < VD_N_REASONS; i++)
        if (strcmp(r, vd_reasons[i]) == 0) {
            slot = i;
            break;
        }
    atomic_fetch_add_explicit(&d->outcomes[slot], 1, memory_order_relaxed);
}

/* Append printf output to b; a line is at most 1 KiB (labels are bounded). */
__attribute__((format(printf, 2, 3))) static ecred_err mput(ecred_buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return ECRED_ERR_INTERNAL;
    return ecred_buf_append(b, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* A label value with \ and " escaped and newlines flattened (URIs in labels). */
static void label_escape(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    for (; *in && o + 3 < cap; in++) {
        if (*in == '\\' || *in == '"')
            out[o++] = '\\';
        out[o++] = *in == '\n' ? ' ' : *in;
    }
    out[o] = 0;
}

void h_metrics(vd *d, svc_req *r)
{
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&d->mu);
    svc_server *srv = d->srv;
    uint64_t ok = d->syncs_ok, failed = d->syncs_failed;
    int64_t last_ok = d->last_sync_ok;
    pthread_mutex_unlock(&d->mu);
    if (srv)
        e = svc_metrics_write(srv, "ecred_verifier", &b);
    if (!e)
        e = mput(&b, "# HELP ecred_verifier_outcomes_total Verify answers by reason.\n"
                     "# TYPE ecred_verifier_outcomes_total counter\n");
    for (size_t i = 0; !e && i < VD_N_REASONS; i++)
        e = mput(&b, "ecred_verifier_outcomes_total{reason=\"%s\"} %llu\n", vd_reasons[i],
                 (unsigned long long)atomic_load_explicit(&d->outcomes[i], memory_order_relaxed));
    if (!e)
        e = mput(&b,
                 "# TYPE ecred_verifier_syncs_total counter\n"
                 "ecred_verifier_syncs_total{result=\"ok\"} %llu\n"
                 "ecred_verifier_syncs_total{result=\"failed\"} %llu\n",
                 (unsigned long long)ok, (unsigned long long)failed);
    if (!e && last_ok)
        e = mput(&b,
                 "# TYPE ecred_verifier_last_sync_ok_age_seconds gauge\n"
                 "ecred_verifier_last_sync_ok_age_seconds %lld\n",
                 (long long)(now - last_ok));
    vd_snap *s = vd_snap_get(d);
    if (s && !e) {
        e = mput(&b,
                 "# HELP ecred_verifier_trust_list_age_seconds Age of the trust list in use (now - iat).\n"
                 "# TYPE ecred_verifier_trust_list_age_seconds gauge\n"
                 "ecred_verifier_trust_list_age_seconds %lld\n"
                 "# TYPE ecred_verifier_trust_list_expires_in_seconds gauge\n"
                 "ecred_verifier_trust_list_expires_in_seconds %lld\n",
                 (long long)(now - (int64_t)s->c.trust.iat), (long long)((int64_t)s->c.trust.exp - now));
        if (!e)
            e = mput(&b, "# HELP ecred_verifier_status_list_age_seconds Age of each status list (now - iat).\n"
                         "# TYPE ecred_verifier_status_list_age_seconds gauge\n");
        for (size_t i = 0; !e && i < s->c.n_lists; i++) {
            char uri[2 * ECRED_SLIST_URI_MAX + 1];
            label_escape(s->c.lists[i].uri, uri, sizeof uri);
            if (s->c.lists[i].ok)
                e = mput(&b, "ecred_verifier_status_list_age_seconds{uri=\"%s\"} %lld\n", uri,
                         (long long)(now - s->c.lists[i].tok.iat));
        }
    }
    vd_snap_put(d, s);
    if (e) {
        ecred_buf_free(&b);
        vreply_error(r, VE_INTERNAL, "the metrics could not be written");
        return;
    }
    svc_reply_buf(r, 200, "text/plain; version=0.0.4", &b);
}
