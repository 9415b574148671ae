/*
 * test_svc.c - the shared HTTP layer without a socket: route matching,
 * HEAD and 405 with Allow through the dispatcher, CORS preflight routing,
 * strict numbers, If-None-Match, JSON quoting of hostile bytes, the JSON
 * body caps, error replies from a table row, and static assets (names,
 * content types, ETags, the security headers, a folder with a symlink).
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "svc_assets.h"
#include "svc_http.h"
#include "svc_log.h"

static int hits_get, hits_post;
static void h_get(svc_req *r)
{
    hits_get++;
    svc_reply_bytes(r, 200, "text/plain", "get", 3);
}
static void h_post(svc_req *r)
{
    hits_post++;
    svc_reply_bytes(r, 201, "text/plain", "post", 4);
}
static void h_silent(svc_req *r)
{
    (void)r; /* a handler that forgets to reply: the layer answers 500 */
}

static bool guard_calls_ok = true;
static int guard_calls, release_calls;
static bool guard(svc_req *r)
{
    guard_calls++;
    if (r->route->auth && !guard_calls_ok) {
        static const svc_apierr denied = {"denied", 401, "拒绝", "denied"};
        svc_reply_error(r, &denied, NULL);
        return false;
    }
    return true;
}
static void release(svc_req *r)
{
    (void)r;
    release_calls++;
}

static const svc_route routes[] = {
    {"GET", "/things/{id}", h_get, SVC_CORS, 0, 0, "thing"},
    {"POST", "/things/{id}", h_post, 0, 1, 0, NULL},
    {"POST", "/things", h_post, 0, 1, 0, NULL},
    {"GET", "/silent", h_silent, 0, 0, 0, NULL},
    {"GET", "/files/{*}", h_get, 0, 0, 0, NULL},
};

static svc_config config(void)
{
    svc_config c;
    memset(&c, 0, sizeof c);
    c.name = "test";
    c.routes = routes;
    c.n_routes = sizeof routes / sizeof routes[0];
    c.guard = guard;
    c.release = release;
    return c;
}

/* Run one request through the dispatcher; the caller frees r->reply. */
static void run(svc_req *r, const char *method, const char *url)
{
    memset(r, 0, sizeof *r);
    r->method = method;
    r->url = url;
    svc_config c = config();
    svc_dispatch_for_test(&c, r);
}

static const char *extra(const svc_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_extra; i++)
        if (strcmp(r->extra_name[i], name) == 0)
            return r->extra_value[i];
    return NULL;
}

static void test_matching(void)
{
    char p[SVC_PARAM_MAX + 1];
    const char *rest;
    CHECK(svc_route_match("/a/{id}", "/a/xyz", p, &rest) && strcmp(p, "xyz") == 0);
    CHECK(!svc_route_match("/a/{id}", "/a/", p, &rest));
    CHECK(!svc_route_match("/a/{id}", "/a/x/y", p, &rest));
    CHECK(!svc_route_match("/a/{id}", "/a/x%2e", p, &rest));
    CHECK(!svc_route_match("/a/{id}", "/a/../b", p, &rest) || strcmp(p, "..") == 0);
    char longid[80];
    memset(longid, 'a', 65);
    longid[65] = 0;
    char url[100];
    snprintf(url, sizeof url, "/a/%s", longid);
    CHECK(!svc_route_match("/a/{id}", url, p, &rest)); /* 65 > SVC_PARAM_MAX */
    CHECK(svc_route_match("/f/{*}", "/f/", p, &rest) && strcmp(rest, "") == 0);
    CHECK(svc_route_match("/f/{*}", "/f/js/app.js", p, &rest) && strcmp(rest, "js/app.js") == 0);
    CHECK(!svc_route_match("/f/{*}", "/f", p, &rest));
    CHECK(svc_route_match("/", "/", p, &rest) && !svc_route_match("/", "/x", p, &rest));
}

static void test_dispatch(void)
{
    svc_req r;
    hits_get = hits_post = 0;
    guard_calls = release_calls = 0;
    guard_calls_ok = true;

    run(&r, "GET", "/things/42");
    CHECK(r.status == 200 && hits_get == 1 && strcmp(r.param, "42") == 0);
    CHECK(guard_calls == 1 && release_calls == 1);
    ecred_buf_free(&r.reply);

    /* HEAD follows GET (the wire drops the body; the layer runs the handler). */
    run(&r, "HEAD", "/things/42");
    CHECK(r.status == 200 && hits_get == 2);
    ecred_buf_free(&r.reply);

    /* Known path, other method: 405 naming every method the path takes. */
    run(&r, "DELETE", "/things/42");
    CHECK(r.status == 405 && r.error_code && strcmp(r.error_code, "method_not_allowed") == 0);
    const char *allow = extra(&r, "Allow");
    CHECK(allow && strstr(allow, "GET") && strstr(allow, "HEAD") && strstr(allow, "POST") &&
          strstr(allow, "OPTIONS"));
    ecred_buf_free(&r.reply);
    run(&r, "GET", "/things");
    CHECK(r.status == 405 && extra(&r, "Allow") && strcmp(extra(&r, "Allow"), "POST") == 0);
    ecred_buf_free(&r.reply);

    run(&r, "GET", "/nothing");
    CHECK(r.status == 404 && strcmp(r.error_code, "not_found") == 0);
    ecred_buf_free(&r.reply);

    /* A guard that refuses: no handler, release still runs. */
    guard_calls_ok = false;
    int before = hits_post;
    run(&r, "POST", "/things/1");
    CHECK(r.status == 401 && hits_post == before && r.www_authenticate);
    CHECK(release_calls == 3); /* 405 and 404 never reach the guard */
    ecred_buf_free(&r.reply);
    guard_calls_ok = true;

    run(&r, "GET", "/silent");
    CHECK(r.status == 500 || !r.replied); /* the wire layer turns "no reply" into 500 */
    ecred_buf_free(&r.reply);

    run(&r, "GET", "/files/a/b.css");
    CHECK(r.status == 200 && strcmp(r.rest, "a/b.css") == 0);
    ecred_buf_free(&r.reply);

    /* OPTIONS reaches only CORS routes. */
    run(&r, "OPTIONS", "/things/1");
    CHECK(r.route == &routes[0]);
    ecred_buf_free(&r.reply);
    run(&r, "OPTIONS", "/things");
    CHECK(r.status == 405);
    ecred_buf_free(&r.reply);
}

static void test_numbers(void)
{
    uint64_t v;
    CHECK(svc_parse_u64("0", 10, &v) && v == 0);
    CHECK(svc_parse_u64("65536", UINT64_MAX, &v) && v == 65536);
    CHECK(svc_parse_u64("18446744073709551615", UINT64_MAX, &v) && v == UINT64_MAX);
    CHECK(!svc_parse_u64("18446744073709551616", UINT64_MAX, &v));
    CHECK(!svc_parse_u64("11", 10, &v));
    CHECK(!svc_parse_u64("", 10, &v) && !svc_parse_u64("+1", 10, &v) && !svc_parse_u64("-1", 10, &v));
    CHECK(!svc_parse_u64(" 1", 10, &v) && !svc_parse_u64("1 ", 10, &v) && !svc_parse_u64("0x1", 10, &v));
    CHECK(!svc_parse_u64(NULL, 10, &v));
}

static void test_quote(void)
{
    ecred_buf b = ECRED_BUF_INIT;
    /* A forged log line, an escape sequence, a quote, invalid UTF-8, DEL. */
    const char hostile[] = "a\n{\"level\":\"error\"}\x1b[31m\"\\\xff\xc0\xaf\x7f\xe4\xb8\xad";
    CHECK_ERR(svc_json_quote(&b, hostile, sizeof hostile - 1), ECRED_OK);
    CHECK_ERR(ecred_buf_terminate(&b), ECRED_OK);
    const char *want = "\"a\\u000a{\\\"level\\\":\\\"error\\\"}\\u001b[31m\\\"\\\\\\ufffd\\ufffd\\ufffd\\u007f中\"";
    CHECK(strcmp((const char *)b.ptr, want) == 0);
    if (strcmp((const char *)b.ptr, want) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", (const char *)b.ptr, want);
    /* And it parses back as one JSON string. */
    json_error_t je;
    json_t *j = json_loadb((const char *)b.ptr, b.len, JSON_DECODE_ANY, &je);
    CHECK(j && json_is_string(j));
    json_decref(j);
    ecred_buf_free(&b);
}

static void test_errors_and_bodies(void)
{
    svc_req r;
    memset(&r, 0, sizeof r);
    static const svc_apierr row = {"some_code", 422, "中文提示", "English hint"};
    svc_reply_error(&r, &row, "field: why \"quoted\"");
    CHECK(r.status == 422 && strcmp(r.error_code, "some_code") == 0);
    json_t *j = json_loadb((const char *)r.reply.ptr, r.reply.len, 0, NULL);
    CHECK(j && json_object_size(j) == 4);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "code")), "some_code") == 0);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "hint_zh")), "中文提示") == 0);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "detail")), "field: why \"quoted\"") == 0);
    json_decref(j);
    ecred_buf_free(&r.reply);

    static const struct {
        const char *body;
        unsigned status;
    } bodies[] = {
        {"", 400},
        {"[]", 400},
        {"{\"a\":1,\"a\":2}", 400},
        {"{\"a\":", 400},
        {"{\"a\":[[[[[[[[[1]]]]]]]]]}", 400},
        {"{\"a\":\"\xff\"}", 400},
        {"{\"a\":[[[[[[[1]]]]]]]}", 0},
        {"{\"s\":\"[[[[[[[[[[[[[\"}", 0},
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        memset(&r, 0, sizeof r);
        ecred_buf_set(&r.body, bodies[i].body, strlen(bodies[i].body));
        json_t *o = NULL;
        ecred_err e = svc_json_body(&r, &o);
        CHECK((e == ECRED_OK) == (bodies[i].status == 0));
        CHECK(bodies[i].status == 0 || r.status == bodies[i].status);
        json_decref(o);
        ecred_buf_free(&r.body);
        ecred_buf_free(&r.reply);
    }
    memset(&r, 0, sizeof r);
    r.body_too_large = true;
    json_t *o = NULL;
    CHECK(svc_json_body(&r, &o) != ECRED_OK && r.status == 413);
    ecred_buf_free(&r.reply);

    /* The out-of-memory reply (a body that cannot be copied): exactly the
     * JSON, no trailing NUL on the wire (the old verifier sent one byte more
     * than its body, issue 11). The length alone makes the copy fail. */
    memset(&r, 0, sizeof r);
    svc_reply_bytes(&r, 200, "text/plain", "x", ECRED_BUF_MAX + 1);
    CHECK(r.status == 500 && strcmp(r.content_type, "application/json") == 0);
    CHECK(r.reply.len > 2 && r.reply.ptr[r.reply.len - 1] == '}' &&
          memchr(r.reply.ptr, 0, r.reply.len) == NULL);
    json_t *oom = json_loadb((const char *)r.reply.ptr, r.reply.len, 0, NULL);
    CHECK(oom && strcmp(json_string_value(json_object_get(oom, "code")), "internal") == 0);
    json_decref(oom);
    ecred_buf_free(&r.reply);

    /* Every layer row has a code, a status and both hints. */
    for (size_t i = 0; i < SVC_E_COUNT; i++)
        CHECK(svc_layer_errors[i].code && svc_layer_errors[i].status >= 400 && svc_layer_errors[i].hint_zh &&
              svc_layer_errors[i].hint_en);
}

static const uint8_t page[] = "<!doctype html><title>x</title>";
static const uint8_t style[] = "body{}";

static void test_assets(void)
{
    CHECK(strcmp(svc_content_type("a.html"), "text/html; charset=utf-8") == 0);
    CHECK(strcmp(svc_content_type("x/y.js"), "text/javascript; charset=utf-8") == 0);
    CHECK(strcmp(svc_content_type("z.wasm"), "application/wasm") == 0);
    CHECK(strcmp(svc_content_type("noext"), "application/octet-stream") == 0);

    const svc_asset_src files[] = {
        {"index.html", page, sizeof page - 1},
        {"css/style.css", style, sizeof style - 1},
    };
    svc_assets *a = NULL;
    char msg[256];
    CHECK_ERR(svc_assets_open(files, 2, NULL, &a, msg, sizeof msg), ECRED_OK);
    CHECK(svc_assets_count(a) == 2);

    svc_req r;
    memset(&r, 0, sizeof r);
    r.rest = "";
    svc_assets_serve(a, &r);
    CHECK(r.status == 200 && r.reply.len == sizeof page - 1 &&
          strcmp(r.content_type, "text/html; charset=utf-8") == 0);
    CHECK(r.etag[0] == '"' && strlen(r.etag) == 34);
    CHECK(extra(&r, "Content-Security-Policy") && strstr(extra(&r, "Content-Security-Policy"), "default-src 'none'"));
    CHECK(extra(&r, "Referrer-Policy") && r.cache_control && strcmp(r.cache_control, "no-cache") == 0);
    ecred_buf_free(&r.reply);

    static const char *const missing[] = {"nope.html", "../index.html", "css/../index.html", "css/",
                                          "/index.html", "index.html/"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        memset(&r, 0, sizeof r);
        r.rest = missing[i];
        svc_assets_serve(a, &r);
        CHECK(r.status == 404);
        ecred_buf_free(&r.reply);
    }
    svc_assets_free(a);

    /* Bad embedded names are refused at start, not served. */
    const svc_asset_src bad[] = {{"../x", page, 1}};
    CHECK(svc_assets_open(bad, 1, NULL, &a, msg, sizeof msg) != ECRED_OK);

    /* A folder: files load, a symlink is refused. */
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/svc-assets-%d", ECRED_TEST_TMP, (int)getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs("<p>hi</p>", f);
        fclose(f);
    }
    CHECK_ERR(svc_assets_open(NULL, 0, dir, &a, msg, sizeof msg), ECRED_OK);
    CHECK(svc_assets_count(a) == 1);
    svc_assets_free(a);
    snprintf(path, sizeof path, "%s/link.html", dir);
    CHECK(symlink("/etc/passwd", path) == 0);
    CHECK(svc_assets_open(NULL, 0, dir, &a, msg, sizeof msg) != ECRED_OK && strstr(msg, "symlink"));
    unlink(path);
    snprintf(path, sizeof path, "%s/index.html", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    test_matching();
    test_dispatch();
    test_numbers();
    test_quote();
    test_errors_and_bodies();
    test_assets();
    return check_finish();
}
