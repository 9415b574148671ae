/*
 * buf.h - byte spans (borrowed) and growable buffers (owned).
 *
 * A span never owns its bytes. A buffer owns its bytes and is released with
 * ecred_buf_free (or ecred_buf_wipe for secrets). All size arithmetic here is
 * overflow-checked: a buffer never grows past ECRED_BUF_MAX.
 */
#ifndef ECRED_BUF_H
#define ECRED_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"

/* Hard ceiling for any single buffer: nothing in ecred legitimately needs more. */
#define ECRED_BUF_MAX ((size_t)1 << 30)

typedef struct ecred_span {
    const uint8_t *ptr;
    size_t len;
} ecred_span;

typedef struct ecred_buf {
    uint8_t *ptr; /* NULL when empty and never grown */
    size_t len;
    size_t cap;
} ecred_buf;

#define ECRED_BUF_INIT {NULL, 0, 0}

static inline ecred_span ecred_span_of(const void *p, size_t n)
{
    ecred_span s = {(const uint8_t *)p, n};
    return s;
}
static inline ecred_span ecred_buf_span(const ecred_buf *b)
{
    return ecred_span_of(b->ptr, b->len);
}

/* Ensure room for `extra` more bytes; ECRED_ERR_NOMEM or ECRED_ERR_TOO_LARGE. */
ecred_err ecred_buf_reserve(ecred_buf *b, size_t extra);
/* Append n bytes (p may be NULL only when n is 0). */
ecred_err ecred_buf_append(ecred_buf *b, const void *p, size_t n);
/* Append one NUL without counting it in len, so ptr can be used as a C string. */
ecred_err ecred_buf_terminate(ecred_buf *b);
/* Replace contents with a copy of n bytes. */
ecred_err ecred_buf_set(ecred_buf *b, const void *p, size_t n);
/* Release memory; the buffer is left empty and reusable. */
void ecred_buf_free(ecred_buf *b);
/* Cleanse the whole capacity, then release: for anything secret. */
void ecred_buf_wipe(ecred_buf *b);
/* Overwrite memory in a way the compiler may not elide (wraps OPENSSL_cleanse). */
void ecred_wipe(void *p, size_t n);

/* Read a whole file, refusing more than max bytes (ECRED_ERR_TOO_LARGE). */
ecred_err ecred_read_file(const char *path, size_t max, ecred_buf *out);
/* Read all of a stream (e.g. stdin), refusing more than max bytes. */
ecred_err ecred_read_fd(int fd, size_t max, ecred_buf *out);
/* Write a file atomically and durably: temp file in the same directory,
 * fsync, rename, fsync of the directory. mode is the new file's permission bits. */
ecred_err ecred_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode);

/* Lower-case hex of n bytes into out (2n+1 bytes incl. NUL). */
void ecred_hex(const uint8_t *p, size_t n, char *out);
/* Parse exactly 2*outlen hex digits; ECRED_ERR_INPUT otherwise. */
ecred_err ecred_unhex(const char *s, size_t slen, uint8_t *out, size_t outlen);

#endif
