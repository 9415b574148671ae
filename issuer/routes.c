/*
 * routes.c - the route table and the dispatcher: match the path, check the
 * method, authenticate (401 without a valid token, 403 with the wrong role),
 * borrow a registry connection and run the handler.
 *
 * Roles: admin is admitted wherever clerk or officer is. Routes marked
 * `tracking` also admit an applicant who presents X-Tracking-Code instead of
 * a token; the handler checks the code against the resource.
 *
 * Must never: run a handler of a protected route without a verified token or
 * a tracking code for the handler to check.
 */
#include <string.h>

#include "handlers.h"

typedef void (*route_fn)(issuerd *d, reg_db *db, http_req *r);

typedef struct route {
    const char *method;
    const char *pattern; /* "{id}" marks the one path parameter */
    unsigned roles;      /* 0: public */
    bool tracking;
    route_fn fn;
} route;

#define STAFF (ROLE_CLERK | ROLE_OFFICER | ROLE_ADMIN)
#define CLERK (ROLE_CLERK | ROLE_ADMIN)
#define OFFICER (ROLE_OFFICER | ROLE_ADMIN)

static const route routes[] = {
    {"POST", "/v1/applications", CLERK, false, h_app_create},
    {"GET", "/v1/applications/{id}", STAFF, true, h_app_get},
    {"POST", "/v1/applications/{id}/approve", OFFICER, false, h_app_approve},
    {"POST", "/v1/applications/{id}/reject", OFFICER, false, h_app_reject},
    {"POST", "/v1/applications/{id}/commitment/confirm", CLERK, true, h_app_confirm},
    {"GET", "/v1/credentials/{id}", OFFICER, true, h_cred_get},
    {"GET", "/v1/credentials/{id}/qr.png", OFFICER, true, h_cred_qr_png},
    {"GET", "/v1/credentials/{id}/qr.svg", OFFICER, true, h_cred_qr_svg},
    {"POST", "/v1/credentials/{id}/suspend", OFFICER, false, h_cred_suspend},
    {"POST", "/v1/credentials/{id}/resume", OFFICER, false, h_cred_resume},
    {"POST", "/v1/credentials/{id}/revoke", OFFICER, false, h_cred_revoke},
    {"GET", "/v1/reminders", OFFICER, false, h_reminders},
    {"GET", "/status/{id}", 0, false, h_statuslist},
    {"GET", "/.well-known/ecred-trust", 0, false, h_trust},
    {"GET", "/.well-known/ecred-status-lists", 0, false, h_status_index},
};

/* Whether c may appear in a path parameter. */
static bool param_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

/* Match url against pattern; on a match the parameter (if any) goes to param. */
static bool route_match(const char *pattern, const char *url, char param[HTTP_PARAM_MAX + 1])
{
    const char *p = pattern, *u = url;
    while (*p) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t n = 0;
            while (param_char(u[n]))
                n++;
            if (n == 0 || n > HTTP_PARAM_MAX)
                return false;
            memcpy(param, u, n);
            param[n] = 0;
            u += n;
            p += 4;
            continue;
        }
        if (*p != *u)
            return false;
        p++;
        u++;
    }
    return *u == 0;
}

void routes_dispatch(void *app, http_req *r)
{
    issuerd *d = app;
    const route *hit = NULL;
    bool path_known = false;
    char param[HTTP_PARAM_MAX + 1] = "";
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        char p[HTTP_PARAM_MAX + 1] = "";
        if (!route_match(routes[i].pattern, r->url, p))
            continue;
        path_known = true;
        if (strcmp(routes[i].method, r->method) == 0) {
            hit = &routes[i];
            memcpy(param, p, sizeof p);
            break;
        }
    }
    if (!hit) {
        if (path_known)
            http_reply_error(r, 405, "method_not_allowed", "this path does not take that method", NULL);
        else
            http_reply_error(r, 404, "not_found", "no such route", NULL);
        return;
    }
    r->route = hit->pattern;
    memcpy(r->param, param, sizeof param);

    reg_db *db = reg_pool_get(d->pool);
    if (hit->roles) {
        const char *authz = http_header(r, "Authorization");
        if (authz) {
            unsigned role = 0;
            ecred_err e = auth_bearer(db, authz, &role, r->actor);
            if (e == ECRED_ERR_KEY_UNKNOWN) {
                http_reply_error(r, 401, "invalid_token", "the bearer token is not valid", NULL);
                goto out;
            }
            if (e) {
                http_reply_error(r, 503, "registry_unavailable", "the registry could not be read", NULL);
                goto out;
            }
            if (!(role & hit->roles)) {
                http_reply_error(r, 403, "forbidden", "this role may not use this route",
                                 auth_role_name(role));
                goto out;
            }
            r->role = role;
        } else if (hit->tracking && http_header(r, TRACKING_HEADER)) {
            r->role = 0;
            memcpy(r->actor, "applicant", sizeof "applicant");
        } else {
            http_reply_error(r, 401, "missing_token", "Authorization: Bearer TOKEN is required", NULL);
            goto out;
        }
    }
    hit->fn(d, db, r);
out:
    reg_pool_put(d->pool, db);
}
