/*
 * h_healthz.c - GET /healthz (public): whether this instance can answer and
 * how old its data is. 200 {"status":"ok"|"stale",...} while a cache with a
 * live trust list is held (stale data is still served, answers say so: the
 * process is healthy); 503 before any usable cache or once the held trust
 * list has expired, so a load balancer takes the instance out.
 *
 * Must never: reveal anything about a scanned credential or a key.
 */
#include <time.h>

#include "ecred/credential.h"
#include "handlers.h"

void h_healthz(vd *d, svc_req *r)
{
    vd_snap *s = vd_snap_get(d);
    int64_t now = (int64_t)time(NULL);
    if (!s || vcache_check_trust(&s->c, now) != ECRED_OK) {
        const char *hint = s ? "the cached trust list has expired; syncs are failing" : "no usable synced cache yet";
        vd_snap_put(d, s);
        svc_reply_json(r, 503, json_pack("{s:s,s:s}", "status", "unavailable", "hint", hint));
        return;
    }
    int64_t oldest = -1;
    size_t usable = 0;
    for (size_t i = 0; i < s->c.n_lists; i++)
        if (s->c.lists[i].ok) {
            usable++;
            if (oldest < 0 || now - s->c.lists[i].tok.iat > oldest)
                oldest = now - s->c.lists[i].tok.iat;
        }
    bool fresh = oldest >= 0 && oldest <= d->max_age;
    char exp[21], synced[21];
    ecred_time_format((int64_t)s->c.trust.exp, exp);
    ecred_time_format(s->c.synced_at, synced);
    json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I}", "status", fresh ? "ok" : "stale", "synced_at", synced,
                          "trust_list_seq", (json_int_t)s->c.trust.seq, "trust_list_expires", exp, "status_lists",
                          (json_int_t)usable, "oldest_status_age_seconds", (json_int_t)oldest, "max_age_seconds",
                          (json_int_t)d->max_age);
    vd_snap_put(d, s);
    svc_reply_json(r, 200, o);
}
