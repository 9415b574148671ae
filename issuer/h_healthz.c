/*
 * h_healthz.c - GET /healthz (public): whether this instance can serve:
 * the registry answers a read. 200 {"status":"ok",...}; 503 with
 * "registry":"unavailable" otherwise, so a load balancer takes the
 * instance out until the registry is back. Also the trust list's expiry and
 * our signing key's window end (a "warning" member when either is within
 * HEALTH_WARN_DAYS: the instance still serves, its operator must act).
 *
 * Must never: reveal anything about applications or credentials.
 */
#include <time.h>

#include "handlers.h"

#define HEALTH_WARN_DAYS 30

void h_healthz(issuerd *d, reg_db *db, svc_req *r)
{
    reg_list_info info;
    ecred_err e = reg_list_info_get(db, 1, &info);
    bool registry_ok = e == ECRED_OK || e == ECRED_ERR_KEY_UNKNOWN;
    int64_t exp = 0, until = 0, now = (int64_t)time(NULL);
    issuerd_trust_info(d, &exp, &until);
    const char *warning = exp - now < (int64_t)HEALTH_WARN_DAYS * 86400 ? "trust list expires soon"
                          : until - now < (int64_t)HEALTH_WARN_DAYS * 86400 ? "signing key window ends soon"
                                                                         : NULL;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:{s:o, s:I}, s:{s:o}}", "status",
                          registry_ok ? "ok" : "unavailable", "registry", registry_ok ? "ok" : "unavailable",
                          "backend", reg_backend_name(db), "uptime_seconds",
                          (json_int_t)(now - d->started_at), "trust_list", "expires_at", view_time(exp),
                          "expires_in_seconds", (json_int_t)(exp - now), "signing_key", "window_ends_at",
                          view_time(until));
    if (o && warning)
        json_object_set_new(o, "warning", json_string(warning));
    svc_reply_json(r, registry_ok ? 200 : 503, o);
}
