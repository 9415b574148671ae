/*
 * h_metrics.c - GET /metrics (public, Prometheus text format 0.0.4): request
 * counters by route and status (kept by the HTTP layer), approvals, status
 * changes, registry errors, group-commit batch sizes, and the two dates an
 * operator must never miss: the trust list's expiry and the end of our
 * signing key's window in it.
 *
 * Must never: put anything from a request in a label (labels are route
 * names and status codes from the layer), or read the registry (a scrape
 * must not queue behind approvals).
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "handlers.h"

/* Append printf output to b (lines here are short and fixed). */
__attribute__((format(printf, 2, 3))) static ecred_err mput(ecred_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        return ECRED_ERR_INTERNAL;
    return ecred_buf_append(b, line, (size_t)n);
}

void h_metrics(issuerd *d, reg_db *db, svc_req *r)
{
    (void)db;
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    svc_server *srv = issuerd_server(d);
    if (srv)
        e = svc_metrics_write(srv, "ecred_issuer", &b);
    uint64_t items = 0, commits = 0;
    if (d->pool)
        reg_pool_write_stats(d->pool, &items, &commits);
    int64_t exp = 0, until = 0, now = (int64_t)time(NULL);
    issuerd_trust_info(d, &exp, &until);
    unsigned long long approvals = atomic_load_explicit(&d->n_approvals, memory_order_relaxed);
    unsigned long long changes = atomic_load_explicit(&d->n_status_changes, memory_order_relaxed);
    unsigned long long regerr = atomic_load_explicit(&d->n_registry_errors, memory_order_relaxed);
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_approvals_total Credentials issued (replays not counted).\n"
                     "# TYPE ecred_issuer_approvals_total counter\n"
                     "ecred_issuer_approvals_total %llu\n", approvals);
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_status_changes_total Suspensions, resumptions and revocations committed.\n"
                     "# TYPE ecred_issuer_status_changes_total counter\n"
                     "ecred_issuer_status_changes_total %llu\n", changes);
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_registry_errors_total Replies that failed because the registry did.\n"
                     "# TYPE ecred_issuer_registry_errors_total counter\n"
                     "ecred_issuer_registry_errors_total %llu\n", regerr);
    /* Batch sizes as a summary's sum and count: writes / commits is the
     * mean batch; a rate() of each gives it over any window. */
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_group_commit_batch_size Registry writes per group commit.\n"
                     "# TYPE ecred_issuer_group_commit_batch_size summary\n"
                     "ecred_issuer_group_commit_batch_size_sum %llu\n"
                     "ecred_issuer_group_commit_batch_size_count %llu\n",
                 (unsigned long long)items, (unsigned long long)commits);
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_trust_list_expiry_seconds Seconds until the served trust list expires (negative: expired).\n"
                     "# TYPE ecred_issuer_trust_list_expiry_seconds gauge\n"
                     "ecred_issuer_trust_list_expiry_seconds %lld\n"
                     "# HELP ecred_issuer_trust_list_expiry_timestamp_seconds The served trust list's exp.\n"
                     "# TYPE ecred_issuer_trust_list_expiry_timestamp_seconds gauge\n"
                     "ecred_issuer_trust_list_expiry_timestamp_seconds %lld\n",
                 (long long)(exp - now), (long long)exp);
    if (!e)
        e = mput(&b, "# HELP ecred_issuer_signing_key_window_end_timestamp_seconds Last second our signing key may sign, per the trust list.\n"
                     "# TYPE ecred_issuer_signing_key_window_end_timestamp_seconds gauge\n"
                     "ecred_issuer_signing_key_window_end_timestamp_seconds %lld\n",
                 (long long)until);
    if (e) {
        ecred_buf_free(&b);
        ireply_error(r, IE_INTERNAL, "metrics");
        return;
    }
    r->cache_control = "no-store";
    svc_reply_buf(r, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}
