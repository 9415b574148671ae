/*
 * fetch.h - one HTTP GET for the verifier (libcurl): conditional on an ETag,
 * capped in size and time, http/https only, no redirects.
 *
 * Everything fetched here is untrusted until the caller verified its
 * signature; this module only moves bytes. Must never: follow a redirect to
 * another host, buffer more than the caller's cap, print.
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

typedef struct vfetch {
    long status;                    /* 200 or 304 */
    char etag[VFETCH_ETAG_MAX + 1]; /* the answer's ETag, "" if none or unusable */
    ecred_buf body;                 /* empty on 304 */
} vfetch;

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

void vfetch_clear(vfetch *f);

/* True when etag may go into an If-None-Match header: 1..VFETCH_ETAG_MAX
 * printable ASCII bytes, no space (so no CR/LF can inject a header). */
bool vfetch_etag_ok(const char *etag);

#endif
