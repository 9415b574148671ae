/*
 * fetch.c - the verifier's only libcurl user (see fetch.h). Bodies stream
 * into a buffer that refuses to grow past the caller's cap, whatever
 * Content-Length claimed.
 *
 * Must never: follow redirects, speak anything but http/https, print.
 */
#include "fetch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct sink {
    ecred_buf *body;
    size_t max;
    bool over;
    char etag[VFETCH_ETAG_MAX + 1];
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

/* Keep the ETag header value when it is printable ASCII and short enough. */
static size_t on_header(char *p, size_t size, size_t nitems, void *ud)
{
    sink *s = ud;
    size_t n = size * nitems;
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

ecred_err vfetch_get(const char *url, const char *etag, size_t max, vfetch *out, char *err,
                     size_t errcap)
{
    return vfetch_get_within(url, etag, max, VFETCH_TOTAL_TIMEOUT * 1000L, out, err, errcap);
}

ecred_err vfetch_get_within(const char *url, const char *etag, size_t max, long timeout_ms, vfetch *out,
                            char *err, size_t errcap)
{
    ecred_buf body = ECRED_BUF_INIT;
    sink s = {&body, max, false, ""};
    struct curl_slist *hdrs = NULL;
    ecred_err e = ECRED_ERR_IO;
    err[0] = 0;
    if (timeout_ms <= 0) {
        snprintf(err, errcap, "%s", "no time left");
        return ECRED_ERR_IO;
    }
    if (timeout_ms > VFETCH_TOTAL_TIMEOUT * 1000L)
        timeout_ms = VFETCH_TOTAL_TIMEOUT * 1000L;
    if (strlen(url) > VFETCH_URL_MAX ||
        (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
        snprintf(err, errcap, "not an http(s) URL of at most %d bytes", VFETCH_URL_MAX);
        return ECRED_ERR_INPUT;
    }
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errcap, "%s", "libcurl could not start");
        return ECRED_ERR_INTERNAL;
    }
    char inm[VFETCH_ETAG_MAX + 32];
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
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     timeout_ms < VFETCH_CONNECT_TIMEOUT * 1000L ? timeout_ms : VFETCH_CONNECT_TIMEOUT * 1000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ecred-verifier/0.1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(c);
    if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
        snprintf(err, errcap, "answer larger than %zu bytes", max);
        e = ECRED_ERR_TOO_LARGE;
        goto out;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errcap, "%s", cerr[0] ? cerr : curl_easy_strerror(rc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200 && !(status == 304 && etag && *etag)) {
        snprintf(err, errcap, "HTTP status %ld", status);
        goto out;
    }
    out->status = status;
    memcpy(out->etag, s.etag, sizeof s.etag);
    if (status == 304) {
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
