/*
 * fetch.h - one HTTP GET for the verifier (libcurl): conditional on an ETag,
 * capped in size and time, http/https only; redirects only when the caller
 * asks, a bounded number, each hop checked by the caller.
 *
 * Everything fetched here is untrusted until the caller verified its
 * signature; this module only moves bytes. Must never: follow a redirect the
 * caller's check refused or from https down to http, buffer more than the
 * caller's cap, print.
 */
#ifndef ECRED_VERIFIER_FETCH_H
#define ECRED_VERIFIER_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "ecred/buf.h"

#define VFETCH_ETAG_MAX 128
#define VFETCH_URL_MAX 1024
#define VFETCH_CONNECT_TIMEOUT 5L /* seconds */
#define VFETCH_TOTAL_TIMEOUT 30L  /* seconds */
#define VFETCH_REDIRECTS_MAX 5    /* hops a caller may allow at most */
#define VFETCH_CTYPE_MAX 128

typedef struct vfetch {
    long status;                    /* a 2xx, or 304 */
    char etag[VFETCH_ETAG_MAX + 1]; /* the answer's ETag, "" if none or unusable */
    char content_type[VFETCH_CTYPE_MAX + 1]; /* media type as sent, "" if none */
    char final_url[VFETCH_URL_MAX + 1];      /* where the answer came from */
    unsigned redirects;             /* hops followed */
    ecred_buf body;                 /* empty on 304 */
} vfetch;

/* What a fetch may do beyond a plain GET; zero-initialise for the defaults
 * (no Accept, any content type, no redirects). */
typedef struct vfetch_opts {
    const char *etag;          /* If-None-Match when non-empty */
    size_t max;                /* body cap in bytes */
    long timeout_ms;           /* all hops together; <= 0 refused */
    const char *accept;        /* Accept header value, NULL for none */
    const char *content_type;  /* required media type of a 2xx body (parameters
                                * and case ignored), NULL for any */
    unsigned max_redirects;    /* 0 = a 3xx is an error; capped at VFETCH_REDIRECTS_MAX */
    /* Each redirect target (absolute http(s) URL) must pass this before it
     * is requested; NULL refuses every redirect. */
    bool (*url_ok)(void *ctx, const char *url);
    void *ctx;
} vfetch_opts;

/* Once per process, before any thread fetches (curl_global_init). */
ecred_err vfetch_global_init(void);

/* GET url, with If-None-Match: etag when etag is non-empty. On ECRED_OK
 * *out holds a 200 (body, at most max bytes) or a 304; release with
 * vfetch_clear. ECRED_ERR_TOO_LARGE when the body passes max, ECRED_ERR_IO
 * for a network failure or any other status (why: err, NUL-terminated).
 * *out is written only on success. */
ecred_err vfetch_get(const char *url, const char *etag, size_t max, vfetch *out, char *err,
                     size_t errcap);

/* vfetch_get within at most timeout_ms in all (connect included; at most
 * VFETCH_TOTAL_TIMEOUT s, and <= 0 is refused with ECRED_ERR_IO before any
 * request): for callers that share one time bound among many fetches. */
ecred_err vfetch_get_within(const char *url, const char *etag, size_t max, long timeout_ms, vfetch *out,
                            char *err, size_t errcap);

/* GET url as o says: follows at most o->max_redirects 301/302/303/307/308
 * answers, never from https to http, each target checked by o->url_ok;
 * accepts any 2xx (and 304 when an ETag was sent) whose Content-Type is
 * o->content_type. Errors as vfetch_get, and ECRED_ERR_IO for a refused
 * redirect or a wrong content type (err says which). */
ecred_err vfetch_get_opts(const char *url, const vfetch_opts *o, vfetch *out, char *err, size_t errcap);

/* True when the Content-Type value ctype names the media type want (case
 * insensitive, parameters after ';' ignored). */
bool vfetch_media_type_is(const char *ctype, const char *want);

/* The scheme rule for one redirect hop: both http(s) URLs of at most
 * VFETCH_URL_MAX bytes, and never from https to http. */
bool vfetch_redirect_allowed(const char *from, const char *to);

void vfetch_clear(vfetch *f);

/* True when etag may go into an If-None-Match header: 1..VFETCH_ETAG_MAX
 * printable ASCII bytes, no space (so no CR/LF can inject a header). */
bool vfetch_etag_ok(const char *etag);

#endif
