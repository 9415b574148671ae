/*
 * outcall.c - outgoing HTTP requests of the issuer through libcurl (see
 * outcall.h). One easy handle per request: calls are rare (a login, a
 * reminder), so a shared handle would buy nothing but locking.
 *
 * Must never: follow a redirect (a token endpoint that redirects is
 * misconfigured, and following it would send the code elsewhere).
 */
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "outcall.h"

typedef struct sink {
    ecred_buf *body;
    size_t max;
    int over;
} sink;

ecred_err outcall_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ECRED_OK : ECRED_ERR_INTERNAL;
}

/* Append a chunk unless the cap would be passed (a short count aborts). */
static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    sink *s = ud;
    size_t n = size * nmemb;
    if (n > s->max - s->body->len) {
        s->over = 1;
        return 0;
    }
    return ecred_buf_append(s->body, p, n) == ECRED_OK ? n : 0;
}

ecred_err outcall_do(const outcall_req *q, long *status, ecred_buf *out)
{
    if (!q->url || strlen(q->url) > OUTCALL_URL_MAX ||
        (strncmp(q->url, "http://", 7) != 0 && strncmp(q->url, "https://", 8) != 0))
        return ECRED_ERR_INPUT;
    ecred_buf body = ECRED_BUF_INIT;
    sink s = {&body, q->max, 0};
    struct curl_slist *hdrs = NULL;
    ecred_err e = ECRED_ERR_NOMEM;
    CURL *c = curl_easy_init();
    if (!c)
        return ECRED_ERR_INTERNAL;
    char line[160];
    if (q->body && q->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", q->content_type);
        struct curl_slist *h = curl_slist_append(hdrs, line);
        if (!h)
            goto out;
        hdrs = h;
    }
    if (q->idem_key) {
        snprintf(line, sizeof line, "Idempotency-Key: %.100s", q->idem_key);
        struct curl_slist *h = curl_slist_append(hdrs, line);
        if (!h)
            goto out;
        hdrs = h;
    }
    {
        struct curl_slist *h = curl_slist_append(hdrs, "Accept: application/json");
        if (!h)
            goto out;
        hdrs = h;
    }
    curl_easy_setopt(c, CURLOPT_URL, q->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM for DNS timeouts */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, q->timeout_ms);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)q->max);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ecred-issuer/0.1");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
    if (q->body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    CURLcode rc = curl_easy_perform(c);
    if (s.over || rc == CURLE_FILESIZE_EXCEEDED) {
        e = ECRED_ERR_TOO_LARGE;
        goto out;
    }
    if (rc != CURLE_OK) {
        e = ECRED_ERR_IO;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    if ((e = ecred_buf_terminate(&body)) != ECRED_OK)
        goto out;
    ecred_buf_free(out);
    *out = body;
    body = (ecred_buf)ECRED_BUF_INIT;
out:
    ecred_buf_free(&body);
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(c);
    return e;
}

char *outcall_form_escape(const char *s)
{
    /* curl_easy_escape needs no handle since 7.82 but takes one anyway. */
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char *t = curl_easy_escape(c, s, 0);
    char *r = t ? strdup(t) : NULL;
    curl_free(t);
    curl_easy_cleanup(c);
    return r;
}
