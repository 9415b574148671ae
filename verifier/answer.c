/*
 * answer.c - status block of verification answers (answer.h). The wording of
 * a stale or missing status is spelled out here once, so the CLI and the API
 * never disagree. Must never: print, include credential fields.
 */
#include "answer.h"

#include <stdio.h>

#include "ecred/slist.h"
#include "vutil.h"

const char *vanswer_outcome(ecred_err e)
{
    if (e == ECRED_OK)
        return "valid";
    if (e == ECRED_ERR_STATUS_STALE || e == ECRED_ERR_STATUS_UNAVAILABLE)
        return "unknown";
    return "invalid";
}

const char *vanswer_status_label(unsigned s)
{
    switch (s) {
    case ECRED_STATUS_VALID: return "VALID";
    case ECRED_STATUS_INVALID: return "INVALID";
    case ECRED_STATUS_SUSPENDED: return "SUSPENDED";
    default: return "UNKNOWN";
    }
}

/* The value field: the list's word, or why there is none. */
static const char *status_value(const ecred_verdict *v, const vstatus *st)
{
    if (v->outcome == ECRED_ERR_STATUS_STALE)
        return "stale";
    if (v->status_checked)
        return vanswer_status_label(v->status);
    if (st && st->looked_up)
        return "unavailable";
    return "not_checked";
}

json_t *vanswer_status_json(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age)
{
    json_t *o = json_pack("{s:s}", "value", status_value(v, st));
    if (!o || !st)
        return o;
    if (st->found) {
        char t[21];
        ecred_time_format(st->as_of, t);
        json_object_set_new(o, "as_of", json_string(t));
        json_object_set_new(o, "age_seconds", json_integer((json_int_t)(now - st->as_of)));
        if (st->list_exp) {
            ecred_time_format(st->list_exp, t);
            json_object_set_new(o, "list_expires", json_string(t));
        }
        json_object_set_new(o, "list_expired", json_boolean(st->list_expired));
    }
    json_object_set_new(o, "max_age_seconds", json_integer((json_int_t)max_age));
    if (st->looked_up && st->source)
        json_object_set_new(o, "source", json_string(st->source));
    if (v->claims_ok && v->claims.has_status)
        json_object_set_new(o, "list", json_string(v->claims.status_uri));
    return o;
}

void vanswer_status_text(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age,
                         char *out, size_t cap)
{
    char t[21] = "", age[32] = "", max[32];
    vutil_format_age(max_age, max, sizeof max);
    if (st && st->found) {
        ecred_time_format(st->as_of, t);
        vutil_format_age(now - st->as_of, age, sizeof age);
    }
    if (v->status_checked && v->outcome != ECRED_ERR_STATUS_STALE) {
        snprintf(out, cap, "%s (as of %s, %s old; max age %s; %s)", vanswer_status_label(v->status), t, age,
                 max, st && st->source ? st->source : "cache");
    } else if (v->outcome == ECRED_ERR_STATUS_STALE && st && st->found) {
        if (st->list_expired) {
            char x[21];
            ecred_time_format(st->list_exp, x);
            snprintf(out, cap, "unknown: status data from %s (%s old) expired at %s; sync again", t, age, x);
        } else {
            snprintf(out, cap, "unknown: status data from %s is %s old, more than the allowed %s; sync again",
                     t, age, max);
        }
    } else if (st && st->looked_up) {
        snprintf(out, cap, "unavailable: no usable status list for %s in the cache",
                 v->claims_ok ? v->claims.status_uri : "?");
    } else if (v->claims_ok && v->claims.has_status) {
        snprintf(out, cap, "not checked (no status list given; index %llu at %s)",
                 (unsigned long long)v->claims.status_idx, v->claims.status_uri);
    } else {
        out[0] = 0;
    }
}
