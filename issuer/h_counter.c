/*
 * h_counter.c - the counter officer's two reads (issue 17):
 *
 *   GET /v1/applications?state=submitted[&limit=N][&after=CURSOR]
 *       the work queue, oldest first, paged by an opaque cursor ("next");
 *   GET /v1/credentials?id_number=...
 *       a resident reporting a loss knows their ID number, not a credential
 *       id: their credentials, newest first.
 *
 * Both are role-checked by the route table (officer or admin) and audited: a
 * log line names the route, the role, the token and how many rows went out.
 * Must never: log an ID number or any other field of a row (the audit line
 * counts rows; the request line has only the route pattern).
 */
#include <stdio.h>
#include <string.h>

#include "handlers.h"
#include "svc_log.h"

#define QUEUE_LIMIT_DEFAULT 20
#define QUEUE_LIMIT_MAX 100
#define LOOKUP_LIMIT 50
#define CURSOR_MAX 40

/* The audit line: who read what kind of rows, and how many. */
static void counter_audit(svc_req *r, const char *route, size_t rows)
{
    char n[24];
    snprintf(n, sizeof n, "%zu", rows);
    const char *kv[] = {"route", route, "role", auth_role_name(r->role), "who", r->who, "rows", n};
    svc_logv(SVC_INFO, "audit", kv, 4);
}

typedef struct queue_ctx {
    issuerd *d;
    reg_db *db;
    json_t *arr;
    int64_t last_at;
    char last_id[REG_ID_LEN + 1];
    size_t n;
    bool failed;
} queue_ctx;

static ecred_err queue_add(void *arg, const reg_application *a)
{
    queue_ctx *q = arg;
    json_t *v = view_application(q->d, q->db, a, false);
    if (!v || json_array_append_new(q->arr, v) != 0) {
        q->failed = true;
        return ECRED_ERR_NOMEM;
    }
    q->last_at = a->submitted_at;
    memcpy(q->last_id, a->id, sizeof q->last_id);
    q->n++;
    return ECRED_OK;
}

/* Parse "<submitted_at>.<id>" (what we hand out as "next"). */
static bool cursor_parse(const char *s, int64_t *at, char id[REG_ID_LEN + 1])
{
    const char *dot = s ? strchr(s, '.') : NULL;
    if (!dot || strlen(s) > CURSOR_MAX || dot == s)
        return false;
    char num[24];
    size_t nl = (size_t)(dot - s);
    if (nl >= sizeof num)
        return false;
    memcpy(num, s, nl);
    num[nl] = 0;
    uint64_t v = 0;
    if (!svc_parse_u64(num, INT64_MAX, &v) || !lc_id_ok(dot + 1))
        return false;
    *at = (int64_t)v;
    memcpy(id, dot + 1, REG_ID_LEN + 1);
    return true;
}

void h_app_list(issuerd *d, reg_db *db, svc_req *r)
{
    const char *state = svc_query(r, "state");
    if (!state) {
        ireply_error(r, IE_MISSING_FIELD, "state: give state=submitted (the work queue)");
        return;
    }
    if (strcmp(state, "submitted") != 0 && strcmp(state, "issued") != 0 && strcmp(state, "rejected") != 0) {
        ireply_error(r, IE_INVALID_FIELD, "state: one of submitted, issued, rejected");
        return;
    }
    uint64_t limit = QUEUE_LIMIT_DEFAULT;
    const char *ls = svc_query(r, "limit");
    if (ls && (!svc_parse_u64(ls, QUEUE_LIMIT_MAX, &limit) || limit == 0)) {
        ireply_error(r, IE_INVALID_FIELD, "limit: 1..100");
        return;
    }
    int64_t after_at = 0;
    char after_id[REG_ID_LEN + 1] = "";
    const char *cur = svc_query(r, "after");
    if (cur && !cursor_parse(cur, &after_at, after_id)) {
        ireply_error(r, IE_INVALID_FIELD, "after: pass the \"next\" value of the previous page");
        return;
    }
    queue_ctx q = {.d = d, .db = db, .arr = json_array()};
    if (!q.arr) {
        svc_reply_json(r, 500, NULL);
        return;
    }
    /* One more than asked tells whether another page exists. */
    ecred_err e = reg_applications_by_state(db, state, after_at, after_id, (unsigned)limit, queue_add, &q);
    if (e) {
        json_decref(q.arr);
        ireply_error(r, q.failed ? IE_INTERNAL : IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    json_t *next = json_null();
    if (q.n == limit) {
        char c[CURSOR_MAX + 8];
        snprintf(c, sizeof c, "%lld.%s", (long long)q.last_at, q.last_id);
        next = json_string(c);
    }
    counter_audit(r, "GET /v1/applications", q.n);
    r->cache_control = "no-store";
    svc_reply_json(r, 200, json_pack("{s:o, s:o}", "applications", q.arr, "next", next));
}

typedef struct lookup_ctx {
    issuerd *d;
    reg_db *db;
    json_t *arr;
    size_t n;
} lookup_ctx;

static ecred_err lookup_add(void *arg, const reg_credential *c)
{
    lookup_ctx *l = arg;
    json_t *v = view_credential(l->d, l->db, c, false);
    if (!v || json_array_append_new(l->arr, v) != 0)
        return ECRED_ERR_NOMEM;
    l->n++;
    return ECRED_OK;
}

/* 17 digits and a digit or X: the shape of a resident ID number (the check
 * digit is the issuer's concern at submission; a lookup only finds rows). */
static bool id_number_shape(const char *s)
{
    if (!s || strlen(s) != 18)
        return false;
    for (int i = 0; i < 17; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return (s[17] >= '0' && s[17] <= '9') || s[17] == 'X';
}

void h_cred_lookup(issuerd *d, reg_db *db, svc_req *r)
{
    const char *idn = svc_query(r, "id_number");
    if (!idn) {
        ireply_error(r, IE_MISSING_FIELD, "id_number: the resident's 18-character ID number");
        return;
    }
    if (!id_number_shape(idn)) {
        ireply_error(r, IE_INVALID_FIELD, "id_number: 17 digits and a digit or X");
        return;
    }
    lookup_ctx l = {.d = d, .db = db, .arr = json_array()};
    if (!l.arr) {
        svc_reply_json(r, 500, NULL);
        return;
    }
    ecred_err e = reg_credentials_for(db, idn, LOOKUP_LIMIT, lookup_add, &l);
    if (e) {
        json_decref(l.arr);
        ireply_error(r, e == ECRED_ERR_NOMEM ? IE_INTERNAL : IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    counter_audit(r, "GET /v1/credentials", l.n);
    r->cache_control = "no-store";
    svc_reply_json(r, 200, json_pack("{s:o}", "credentials", l.arr));
}
