/*
 * h_healthz.c - GET /healthz (public): whether this instance can serve:
 * the registry answers a read. 200 {"status":"ok",...}; 503 with
 * "registry":"unavailable" otherwise, so a load balancer takes the
 * instance out until the registry is back.
 *
 * Must never: reveal anything about applications or credentials.
 */
#include <time.h>

#include "handlers.h"

void h_healthz(issuerd *d, reg_db *db, svc_req *r)
{
    reg_list_info info;
    ecred_err e = reg_list_info_get(db, 1, &info);
    bool registry_ok = e == ECRED_OK || e == ECRED_ERR_KEY_UNKNOWN;
    json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "status", registry_ok ? "ok" : "unavailable",
                          "registry", registry_ok ? "ok" : "unavailable", "backend",
                          reg_backend_name(db), "uptime_seconds",
                          (json_int_t)((int64_t)time(NULL) - d->started_at));
    svc_reply_json(r, registry_ok ? 200 : 503, o);
}
