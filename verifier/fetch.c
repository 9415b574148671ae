/*
 * fetch.c - the verifier's only libcurl user (see fetch.h). Bodies stream
 * into a buffer that refuses to grow past the caller's cap, whatever
 * Content-Length claimed.
 *
 * Redirects are followed here, hop by hop, not by libcurl: each target is
 * checked (scheme, no https->http, the caller's prefix rule) before any
 * request goes to it.
 *
 * Must never: follow a redirect the caller did not allow, speak anything but
 * http/https, print.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct sink {
    ecred_buf *body;
    size_t max;
    bool over;
    char etag[VFETCH_ETAG_MAX + 1];
    char ctype[VFETCH_CTYPE_MAX + 1];
} sink;

ecred_err vfetch_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ECRED_OK : ECRED_ERR_INTERNAL;
}

/* Append a chunk unless the cap would be passed (returning a short count
 * makes curl abort the transfer). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->max - s->body->len) {
        s->over = true;
        return 0;
    }
    if (ecred_buf_append(s->body, p, n) != ECRED_OK)
        return 0;
    return n;
}

bool vfetch_etag_ok(const char *etag)
{
    size_t n = etag ? strnlen(etag, VFETCH_ETAG_MAX + 1) : 0;
    if (n == 0 || n > VFETCH_ETAG_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (etag[i] <= 0x20 || etag[i] >= 0x7f)
            return false;
    return true;
}

/* Keep the Content-Type value (printable ASCII, trimmed), "" otherwise. */
static void keep_ctype(sink *s, const char *p, size_t n)
{
    size_t a = 13, b = n;
    while (a < b && (p[a] == ' ' || p[a] == '\t'))
        a++;
    while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' '))
        b--;
    bool ok = b - a <= VFETCH_CTYPE_MAX;
    for (size_t i = a; ok && i < b; i++)
        ok = p[i] >= 0x20 && p[i] < 0x7f;
    s->ctype[0] = 0;
    if (ok) {
        memcpy(s->ctype, p + a, b - a);
        s->ctype[b - a] = 0;
    }
}

/* Keep the ETag header value when it is printable ASCII and short enough,
 * and the Content-Type. A new status line (the next hop's answer) resets
 * both. */
static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    sink *s = ud;
    size_t n = size * nitems;
    if (n > 5 && strncmp(p, "HTTP/", 5) == 0) {
        s->etag[0] = 0;
        s->ctype[0] = 0;
    }
    if (n > 13 && strncasecmp(p, "content-type:", 13) == 0)
        keep_ctype(s, p, n);
    if (n > 5 && strncasecmp(p, "etag:", 5) == 0) {
        size_t a = 5, b = n;
        while (a < b && (p[a] == ' ' || p[a] == '\t'))
            a++;
        while (b > a && (p[b - 1] == '\r' || p[b - 1] == '\n' || p[b - 1] == ' '))
            b--;
        bool ok = b - a > 0 && b - a <= VFETCH_ETAG_MAX;
        for (size_t i = a; ok && i < b; i++)
            ok = p[i] > 0x20 && p[i] < 0x7f;
        if (ok) {
            memcpy(s->etag, p + a, b - a);
            s->etag[b - a] = 0;
        } else {
            s->etag[0] = 0;
        }
    }
    return n;
}

bool vfetch_media_type_is(const char *ctype, const char *want)
{
    size_t n = strlen(want);
    if (!ctype || strncasecmp(ctype, want, n) != 0)
        return false;
    const char *rest = ctype + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    return *rest == 0 || *rest == ';';
}

ecred_err vfetch_get(const char *url, const char *etag, size_t max, vfetch *out, char *err,
                     size_t errcap)
{
    return vfetch_get_within(url, etag, max, VFETCH_TOTAL_TIMEOUT * 1000L, out, err, errcap);
}

ecred_err vfetch_get_within(const char *url, const char *etag, size_t max, long timeout_ms, vfetch *out,
                            char *err, size_t errcap)
{
    const vfetch_opts o = {.etag = etag, .max = max, .timeout_ms = timeout_ms};
    return vfetch_get_opts(url, &o, out, err, errcap);
}

static bool is_http_url(const char *url)
{
    return strlen(url) <= VFETCH_URL_MAX &&
           (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0);
}

bool vfetch_redirect_allowed(const char *from, const char *to)
{
    if (!is_http_url(from) || !is_http_url(to))
        return false;
    /* A downgrade would hand the answer to anyone on the path. */
    return strncmp(from, "https://", 8) != 0 || strncmp(to, "https://", 8) == 0;
}

static bool is_redirect(long status)
{
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

/* Milliseconds since start on CLOCK_MONOTONIC. */
static long elapsed_ms(const struct timespec *start)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)((t.tv_sec - start->tv_sec) * 1000L + (t.tv_nsec - start->tv_nsec) / 1000000L);
}

ecred_err vfetch_get_opts(const char *url, const vfetch_opts *o, vfetch *out, char *err, size_t errcap)
{
    ecred_buf body = ECRED_BUF_INIT;
    sink s = {&body, o->max, false, "", ""};
    struct curl_slist *hdrs = NULL;
    ecred_err e = ECRED_ERR_IO;
    const char *etag = o->etag;
    long timeout_ms = o->timeout_ms;
    unsigned max_redirects = o->max_redirects > VFETCH_REDIRECTS_MAX ? VFETCH_REDIRECTS_MAX : o->max_redirects;
    char cur[VFETCH_URL_MAX + 1];
    err[0] = 0;
    if (timeout_ms <= 0) {
        snprintf(err, errcap, "%s", "no time left");
        return ECRED_ERR_IO;
    }
    if (timeout_ms > VFETCH_TOTAL_TIMEOUT * 1000L)
        timeout_ms = VFETCH_TOTAL_TIMEOUT * 1000L;
    if (!is_http_url(url)) {
        snprintf(err, errcap, "not an http(s) URL of at most %d bytes", VFETCH_URL_MAX);
        return ECRED_ERR_INPUT;
    }
    snprintf(cur, sizeof cur, "%s", url);
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errcap, "%s", "libcurl could not start");
        return ECRED_ERR_INTERNAL;
    }
    char inm[VFETCH_ETAG_MAX + 32], acc[160];
    /* The ETag may come from a cache file read back: one that could carry a
     * CR LF into the request is not sent (a full GET instead). */
    if (etag && !vfetch_etag_ok(etag))
        etag = NULL;
    if (etag) {
        snprintf(inm, sizeof inm, "If-None-Match: %s", etag);
        struct curl_slist *h = curl_slist_append(hdrs, inm);
        if (!h) {
            e = ECRED_ERR_NOMEM;
            goto out;
        }
        hdrs = h;
    }
    if (o->accept) {
        int w = snprintf(acc, sizeof acc, "Accept: %s", o->accept);
        struct curl_slist *h = w > 0 && (size_t)w < sizeof acc ? curl_slist_append(hdrs, acc) : NULL;
        if (!h) {
            e = ECRED_ERR_ARG;
            goto out;
        }
        hdrs = h;
    }
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ecred-verifier/0.1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long status = 0;
    unsigned hops = 0;
    for (;;) {
        /* One time bound for every hop together. */
        long left = timeout_ms - elapsed_ms(&start);
        if (left <= 0) {
            snprintf(err, errcap, "%s", "time bound reached while following redirects");
            goto out;
        }
        curl_easy_setopt(c, CURLOPT_URL, cur);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                         left < VFETCH_CONNECT_TIMEOUT * 1000L ? left : VFETCH_CONNECT_TIMEOUT * 1000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, left);
        ecred_buf_free(&body);
        s.over = false;
        s.etag[0] = 0;
        s.ctype[0] = 0;
        cerr[0] = 0;
        CURLcode rc = curl_easy_perform(c);
        if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
            snprintf(err, errcap, "answer larger than %zu bytes", o->max);
            e = ECRED_ERR_TOO_LARGE;
            goto out;
        }
        if (rc != CURLE_OK) {
            snprintf(err, errcap, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
            goto out;
        }
        status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (!is_redirect(status))
            break;
        char *loc = NULL;
        curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
        if (hops >= max_redirects) {
            snprintf(err, errcap, "HTTP status %ld: redirect %s", status,
                     max_redirects ? "limit reached" : "not followed here");
            goto out;
        }
        if (!loc || !is_http_url(loc)) {
            snprintf(err, errcap, "HTTP status %ld: redirect to something other than an http(s) URL", status);
            goto out;
        }
        if (!vfetch_redirect_allowed(cur, loc)) {
            snprintf(err, errcap, "HTTP status %ld: redirect from https to http refused", status);
            goto out;
        }
        if (!o->url_ok || !o->url_ok(o->ctx, loc)) {
            snprintf(err, errcap, "HTTP status %ld: redirect outside the allowed URLs refused", status);
            goto out;
        }
        snprintf(cur, sizeof cur, "%s", loc);
        hops++;
    }
    bool not_modified = status == 304 && etag && *etag;
    if (!(status >= 200 && status <= 299) && !not_modified) {
        snprintf(err, errcap, "HTTP status %ld", status);
        goto out;
    }
    if (!not_modified && o->content_type && !vfetch_media_type_is(s.ctype, o->content_type)) {
        snprintf(err, errcap, "Content-Type \"%s\", want %s", s.ctype, o->content_type);
        goto out;
    }
    out->status = status;
    memcpy(out->etag, s.etag, sizeof s.etag);
    memcpy(out->content_type, s.ctype, sizeof s.ctype);
    memcpy(out->final_url, cur, sizeof cur);
    out->redirects = hops;
    if (not_modified) {
        /* A 304 may omit the ETag; it still names the one we sent. */
        if (!out->etag[0])
            snprintf(out->etag, sizeof out->etag, "%s", etag);
        ecred_buf_free(&body);
    }
    out->body = body;
    body = (ecred_buf)ECRED_BUF_INIT;
    e = ECRED_OK;
out:
    ecred_buf_free(&body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return e;
}

void vfetch_clear(vfetch *f)
{
    ecred_buf_free(&f->body);
    f->status = 0;
    f->etag[0] = 0;
}
