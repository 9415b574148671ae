/*
 * answer.c - status block of verification answers (answer.h). The wording of
 * a stale or missing status is spelled out here once, so the CLI and the API
 * never disagree. Must never: print, include credential fields.
 */
#include <string.h>

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

void vanswer_status_write(vjson *w, const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age)
{
    vjson_begin(w);
    vjson_key(w, "value");
    vjson_str(w, status_value(v, st));
    if (st) {
        if (st->found) {
            char t[21];
            ecred_time_format(st->as_of, t);
            vjson_key(w, "as_of");
            vjson_str(w, t);
            vjson_key(w, "age_seconds");
            vjson_int(w, now - st->as_of);
            if (st->list_exp) {
                ecred_time_format(st->list_exp, t);
                vjson_key(w, "list_expires");
                vjson_str(w, t);
            }
            vjson_key(w, "list_expired");
            vjson_bool(w, st->list_expired);
        }
        vjson_key(w, "max_age_seconds");
        vjson_int(w, max_age);
        if (st->looked_up && st->source) {
            vjson_key(w, "source");
            vjson_str(w, st->source);
        }
        if (v->claims_ok && v->claims.has_status) {
            vjson_key(w, "list");
            vjson_str(w, v->claims.status_uri);
        }
    }
    vjson_end(w);
}

/* The same block as a jansson tree (the CLI's answers), parsed from the one
 * writer above so the CLI and the API can never word it differently. */
json_t *vanswer_status_json(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age)
{
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    vanswer_status_write(&w, v, st, now, max_age);
    json_t *o = vjson_finish(&w) == ECRED_OK ? json_loadb((const char *)b.ptr, b.len, 0, NULL) : NULL;
    ecred_buf_free(&b);
    return o;
}

void vanswer_status_text(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age,
                         char *out, size_t cap)
{
    char t[26] = "", age[32] = "", max[32];
    vutil_format_age(max_age, max, sizeof max);
    if (st && st->found) {
        ecred_time_format_cst(st->as_of, t); /* shown to people: CST */
        vutil_format_age(now - st->as_of, age, sizeof age);
    }
    if (v->status_checked && v->outcome != ECRED_ERR_STATUS_STALE) {
        snprintf(out, cap, "%s (as of %s, %s old; max age %s; %s)", vanswer_status_label(v->status), t, age,
                 max, st && st->source ? st->source : "cache");
    } else if (v->outcome == ECRED_ERR_STATUS_STALE && st && st->found) {
        if (st->list_expired) {
            char x[26];
            ecred_time_format_cst(st->list_exp, x);
            snprintf(out, cap, "unknown: status data from %s (%s old) expired at %s; sync again", t, age, x);
        } else {
            /* Fetched just now (--online) and still old: the issuer serves
             * lists up to their ttl old, so syncing again would not help. */
            bool fetched = st->source && strncmp(st->source, "online", 6) == 0;
            snprintf(out, cap, "unknown: status data from %s is %s old, more than the allowed %s; %s", t, age,
                     max, fetched ? "the issuer's newest list is that old (allow at least its ttl)" : "sync again");
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
