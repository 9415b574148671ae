/*
 * buf.c - spans, owned buffers and the few file helpers common/ needs.
 * No printing, no exits: errors go back to the caller.
 */
#include "ecred/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

ecred_err ecred_buf_reserve(ecred_buf *b, size_t extra)
{
    if (extra > ECRED_BUF_MAX || b->len > ECRED_BUF_MAX - extra)
        return ECRED_ERR_TOO_LARGE;
    size_t need = b->len + extra;
    if (need <= b->cap)
        return ECRED_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ECRED_BUF_MAX / 2 ? ECRED_BUF_MAX : cap * 2;
    uint8_t *p = realloc(b->ptr, cap);
    if (!p)
        return ECRED_ERR_NOMEM;
    b->ptr = p;
    b->cap = cap;
    return ECRED_OK;
}

ecred_err ecred_buf_append(ecred_buf *b, const void *p, size_t n)
{
    if (n == 0)
        return ECRED_OK;
    ecred_err e = ecred_buf_reserve(b, n);
    if (e)
        return e;
    memcpy(b->ptr + b->len, p, n);
    b->len += n;
    return ECRED_OK;
}

ecred_err ecred_buf_terminate(ecred_buf *b)
{
    ecred_err e = ecred_buf_reserve(b, 1);
    if (e)
        return e;
    b->ptr[b->len] = 0;
    return ECRED_OK;
}

ecred_err ecred_buf_set(ecred_buf *b, const void *p, size_t n)
{
    b->len = 0;
    return ecred_buf_append(b, p, n);
}

void ecred_buf_free(ecred_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
}

void ecred_buf_wipe(ecred_buf *b)
{
    if (b->ptr)
        OPENSSL_cleanse(b->ptr, b->cap);
    ecred_buf_free(b);
}

void ecred_wipe(void *p, size_t n)
{
    if (p && n)
        OPENSSL_cleanse(p, n);
}

ecred_err ecred_read_fd(int fd, size_t max, ecred_buf *out)
{
    ecred_buf b = ECRED_BUF_INIT;
    for (;;) {
        ecred_err e = ecred_buf_reserve(&b, 4096);
        if (e) {
            ecred_buf_free(&b);
            return e;
        }
        ssize_t r = read(fd, b.ptr + b.len, b.cap - b.len);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            ecred_buf_free(&b);
            return ECRED_ERR_IO;
        }
        if (r == 0)
            break;
        b.len += (size_t)r;
        if (b.len > max) {
            ecred_buf_free(&b);
            return ECRED_ERR_TOO_LARGE;
        }
    }
    ecred_buf_free(out);
    *out = b;
    return ECRED_OK;
}

ecred_err ecred_read_file(const char *path, size_t max, ecred_buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ECRED_ERR_IO;
    ecred_err e = ecred_read_fd(fd, max, out);
    close(fd);
    return e;
}

ecred_err ecred_write_file_atomic(const char *path, const void *p, size_t n, unsigned mode)
{
    size_t plen = strlen(path);
    if (plen > 4000)
        return ECRED_ERR_ARG;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return ECRED_ERR_IO;
    ecred_err e = ECRED_OK;
    if (fchmod(fd, (mode_t)mode) != 0) {
        e = ECRED_ERR_IO;
        goto out;
    }
    const uint8_t *q = p;
    size_t left = n;
    while (left) {
        ssize_t w = write(fd, q, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            e = ECRED_ERR_IO;
            goto out;
        }
        q += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0)
        e = ECRED_ERR_IO;
out:
    if (close(fd) != 0 && !e)
        e = ECRED_ERR_IO;
    if (!e && rename(tmp, path) != 0)
        e = ECRED_ERR_IO;
    if (e) {
        unlink(tmp);
        return e;
    }
    /* The rename is durable only once the directory entry is: fsync the
     * directory too, or a crash could bring back the old file (or none). */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        dir[1] = 0;
    else if (slash)
        *slash = 0;
    else
        snprintf(dir, sizeof dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return ECRED_ERR_IO;
    if (fsync(dfd) != 0)
        e = ECRED_ERR_IO;
    close(dfd);
    return e;
}

void ecred_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

ecred_err ecred_unhex(const char *s, size_t slen, uint8_t *out, size_t outlen)
{
    if (slen != 2 * outlen)
        return ECRED_ERR_INPUT;
    for (size_t i = 0; i < outlen; i++) {
        int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return ECRED_ERR_INPUT;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return ECRED_OK;
}
