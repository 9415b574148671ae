/*
 * test_verifier_apierr.c - the verify API's error table (verifier/apierr.c)
 * against spec/verifier.md's table between the api-errors markers, both
 * ways (every row documented with its status and both hints, every
 * documented row in the table), rows shared with the HTTP layer agreeing on
 * status, vbody's refusal codes each mapped to a row; then the daemon's route
 * table, guard and handlers driven without a socket (svc_dispatch_for_test):
 * 401 without a key, 405 with Allow, 404, the vbody refusals, 503 with no
 * cache, /metrics and /healthz, the landing page.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apierr.h"
#include "check.h"
#include "handlers.h"
#include "svc_assets.h"
#include "svc_err.h"
#include "vbody.h"
#include "vd_state.h"

extern const svc_asset_src verifier_assets[];
extern const size_t verifier_assets_count;

/* Cut s at the next '|' and trim it; returns the rest after the '|' or NULL. */
static char *cell(char *s, char **out)
{
    char *bar = strchr(s, '|');
    if (!bar)
        return NULL;
    *bar = 0;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n && s[n - 1] == ' ')
        s[--n] = 0;
    if (n >= 2 && s[0] == '`' && s[n - 1] == '`') {
        s[n - 1] = 0;
        s++;
    }
    *out = s;
    return bar + 1;
}

static void test_table_against_spec(void)
{
    ecred_buf f = check_read_source_file("spec/verifier.md");
    char *text = (char *)f.ptr;
    char *begin = strstr(text, "<!-- api-errors:begin -->");
    char *end = strstr(text, "<!-- api-errors:end -->");
    CHECK(begin && end && begin < end);
    if (!begin || !end || end < begin) {
        ecred_buf_free(&f);
        return;
    }
    *end = 0;
    bool seen[VE_COUNT] = {false};
    int rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(begin, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] != '|' || strncmp(line, "| code", 6) == 0 || strncmp(line, "|---", 4) == 0)
            continue;
        char *code = NULL, *status = NULL, *zh = NULL, *en = NULL;
        char *p = line + 1;
        if (!(p = cell(p, &code)) || !(p = cell(p, &status)) || !(p = cell(p, &zh)) || !cell(p, &en)) {
            fprintf(stderr, "spec row not | code | HTTP | zh | en |: %s\n", line);
            CHECK(0);
            continue;
        }
        rows++;
        verr_id id = verr_by_code(code);
        bool known = strcmp(verifier_errors[id].code, code) == 0;
        if (!known)
            fprintf(stderr, "spec documents %s, which verifier/apierr.c lacks\n", code);
        CHECK(known);
        if (!known)
            continue;
        CHECK(!seen[id]);
        seen[id] = true;
        CHECK((unsigned)atoi(status) == verifier_errors[id].status);
        if (strcmp(zh, verifier_errors[id].hint_zh) != 0 || strcmp(en, verifier_errors[id].hint_en) != 0)
            fprintf(stderr, "hints of %s differ between spec and table\n", code);
        CHECK(strcmp(zh, verifier_errors[id].hint_zh) == 0);
        CHECK(strcmp(en, verifier_errors[id].hint_en) == 0);
    }
    for (size_t i = 0; i < VE_COUNT; i++) {
        if (!seen[i])
            fprintf(stderr, "verifier/apierr.c row %s is not in spec/verifier.md\n", verifier_errors[i].code);
        CHECK(seen[i]);
    }
    CHECK(rows == VE_COUNT);
    ecred_buf_free(&f);
}

static void test_table_rows(void)
{
    for (size_t i = 0; i < VE_COUNT; i++) {
        const svc_apierr *e = &verifier_errors[i];
        CHECK(e->code && e->hint_zh && e->hint_en && e->status >= 400 && e->status < 600);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(e->code, verifier_errors[j].code) != 0);
        /* A code the layer answers too must mean the same status. */
        for (size_t j = 0; j < SVC_E_COUNT; j++)
            if (strcmp(e->code, svc_layer_errors[j].code) == 0)
                CHECK(e->status == svc_layer_errors[j].status);
    }
    /* Every layer row the verifier can meet is in the table. */
    const svc_layer_err layer[] = {SVC_E_NOT_FOUND, SVC_E_METHOD_NOT_ALLOWED, SVC_E_BODY_TOO_LARGE,
                                   SVC_E_URI_TOO_LONG, SVC_E_INTERNAL};
    for (size_t j = 0; j < sizeof layer / sizeof layer[0]; j++)
        CHECK(strcmp(verifier_errors[verr_by_code(svc_layer_errors[layer[j]].code)].code,
                     svc_layer_errors[layer[j]].code) == 0);
    /* vbody's refusal codes each have their row; anything else is internal. */
    CHECK(verr_by_code("empty_body") == VE_EMPTY_BODY);
    CHECK(verr_by_code("malformed_json") == VE_MALFORMED_JSON);
    CHECK(verr_by_code("body_too_large") == VE_BODY_TOO_LARGE);
    CHECK(verr_by_code("no_such_code") == VE_INTERNAL);
    CHECK(verr_by_code(NULL) == VE_INTERNAL);
    uint8_t big[VBODY_MAX + 1];
    memset(big, 'A', sizeof big);
    const struct {
        const char *body;
        size_t n;
        const char *ct;
        verr_id want;
    } cases[] = {
        {"", 0, NULL, VE_EMPTY_BODY},
        {"{\"qr\": ", 7, "application/json", VE_MALFORMED_JSON},
        {"{\"qr\": 5}", 9, NULL, VE_MALFORMED_JSON},
        {(const char *)big, sizeof big, NULL, VE_BODY_TOO_LARGE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecred_buf t = ECRED_BUF_INIT;
        vbody_refusal why;
        ecred_err e = vbody_parse((const uint8_t *)cases[i].body, cases[i].n, cases[i].ct, &t, &why);
        CHECK(e != ECRED_OK);
        CHECK(e == ECRED_OK || verr_by_code(why.code) == cases[i].want);
        ecred_buf_wipe(&t);
    }
}

static vd d;

static svc_config test_config(void)
{
    svc_config c;
    memset(&c, 0, sizeof c);
    c.name = "verifier";
    c.routes = vd_routes;
    c.n_routes = vd_n_routes;
    c.guard = vd_guard;
    c.release = vd_release;
    c.app = &d;
    return c;
}

/* Run one request; returns its status, the reply (terminated) in *out. */
static unsigned run(const char *method, const char *url, const char *body, svc_req *r)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->url = url;
    if (body)
        ecred_buf_set(&r->body, body, strlen(body));
    svc_config c = test_config();
    svc_dispatch_for_test(&c, r);
    ecred_buf_terminate(&r->reply);
    return r->status;
}

static bool reply_has(const svc_req *r, const char *s)
{
    return r->reply.ptr && strstr((const char *)r->reply.ptr, s) != NULL;
}

static void done(svc_req *r)
{
    ecred_buf_wipe(&r->body);
    ecred_buf_wipe(&r->reply);
}

static void test_routes(void)
{
    pthread_mutex_init(&d.mu, NULL);
    pthread_mutex_init(&d.keys_mu, NULL);
    pthread_mutex_init(&d.keys_reload_mu, NULL);
    d.dir = ECRED_TEST_TMP "/verifier_apierr_no_keys";
    d.max_age = VD_DEFAULT_MAX_AGE;
    d.keys_checked_ms = vd_monotonic_ms();
    char err[128];
    CHECK_ERR(svc_assets_open(verifier_assets, verifier_assets_count, NULL, &d.assets, err, sizeof err), ECRED_OK);
    svc_req r;

    CHECK(run("POST", "/v1/verify", "RC1:x", &r) == 401);
    CHECK(reply_has(&r, "\"code\":\"missing_key\"") && reply_has(&r, "\"hint_zh\""));
    CHECK(r.www_authenticate && !r.who[0] && !r.outcome);
    done(&r);
    CHECK(run("GET", "/v1/verify", NULL, &r) == 405);
    CHECK(reply_has(&r, "method_not_allowed") && r.n_extra == 1 && strcmp(r.extra_name[0], "Allow") == 0 &&
          strcmp(r.extra_value[0], "POST") == 0);
    done(&r);
    CHECK(run("GET", "/v1/nothing", NULL, &r) == 404);
    CHECK(reply_has(&r, "\"code\":\"not_found\""));
    done(&r);
    CHECK(run("POST", "/healthz", NULL, &r) == 405);
    done(&r);

    /* No cache loaded yet. */
    CHECK(run("GET", "/healthz", NULL, &r) == 503);
    CHECK(reply_has(&r, "\"status\":\"unavailable\""));
    done(&r);
    CHECK(run("HEAD", "/healthz", NULL, &r) == 503);
    done(&r);
    CHECK(run("GET", "/metrics", NULL, &r) == 200);
    CHECK(reply_has(&r, "ecred_verifier_outcomes_total{reason=\"ok\"} 0"));
    CHECK(reply_has(&r, "ecred_verifier_syncs_total{result=\"failed\"} 0"));
    CHECK(r.content_type && strncmp(r.content_type, "text/plain", 10) == 0);
    done(&r);

    /* The landing page and its stylesheet; nothing else under /web/. */
    CHECK(run("GET", "/", NULL, &r) == 200);
    CHECK(reply_has(&r, "<html lang=\"zh-CN\">") && reply_has(&r, "/web/style.css"));
    CHECK(r.content_type && strncmp(r.content_type, "text/html", 9) == 0 && r.etag[0]);
    done(&r);
    CHECK(run("GET", "/web/style.css", NULL, &r) == 200);
    done(&r);
    CHECK(run("GET", "/web/../vd_main.c", NULL, &r) == 404);
    done(&r);

    /* The handler behind the guard: a key in scope, as the guard leaves it. */
    vkey key;
    memset(&key, 0, sizeof key);
    key.role = VROLE_POLICE;
    memcpy(key.id, "0123abcd", 9);
    const struct {
        const char *body;
        unsigned status;
        const char *code;
    } cases[] = {
        {"", 400, "\"code\":\"empty_body\""},
        {"{\"qr\": ", 400, "\"code\":\"malformed_json\""},
        {"{\"qr\": \"a\", \"qr\": \"b\"}", 400, "\"code\":\"malformed_json\""},
        {"RC1:ABC", 503, "\"code\":\"cache_unavailable\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&r, 0, sizeof r);
        r.method = "POST";
        r.url = "/v1/verify";
        r.app = &d;
        r.scope = &key;
        ecred_buf_set(&r.body, cases[i].body, strlen(cases[i].body));
        h_verify(&d, &r);
        ecred_buf_terminate(&r.reply);
        CHECK(r.replied && r.status == cases[i].status);
        if (!reply_has(&r, cases[i].code))
            fprintf(stderr, "case %zu: %s\n", i, r.reply.ptr ? (const char *)r.reply.ptr : "(none)");
        CHECK(reply_has(&r, cases[i].code));
        CHECK(r.outcome == NULL); /* refusals are not verify outcomes */
        done(&r);
    }
    svc_assets_free(d.assets);
    vkeys_free(&d.keys);
}

int main(void)
{
    test_table_against_spec();
    test_table_rows();
    test_routes();
    return check_finish();
}
