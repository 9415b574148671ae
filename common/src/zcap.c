/*
 * zcap.c - zlib (RFC 1950) compression and capped inflation, with an optional
 * preset dictionary (FDICT/DICTID).
 *
 * Inflation runs on untrusted bytes from a QR code or a fetched status list, so
 * a few hundred input bytes may claim gigabytes of output. The output cap is
 * therefore enforced while inflating: the output buffer is grown only up to the
 * cap and one probe byte beyond it tells "stream ends here" from "more output".
 * This file must never inflate without a cap, accept a stream that does not end
 * exactly at the end of its input, print, or touch `out` unless it succeeds.
 *
 * Compression keeps one deflate state per thread (deflateReset between
 * streams): a fresh deflateInit allocates and faults in ~256 KiB of window and
 * hash tables per credential, most of the issue path's time. A reset state
 * produces the same bytes as a fresh one. Freed when the thread exits.
 * Inflation likewise keeps one inflate state per thread (inflateReset): a
 * fresh inflateInit plus the 32 KiB window a preset dictionary needs cost
 * about 2 % of a verification. A reset state carries nothing of the previous
 * stream into the next (zlib's contract for inflateReset).
 */
#define ZLIB_CONST /* next_in and dictionaries are const: we never write input */
#include "ecred/zcap.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* First output allocation when inflating; doubled as needed, never past the cap. */
#define ZCAP_INFLATE_FIRST_CHUNK ((size_t)1024)

/* Adler-32 of the dictionary bytes (RFC 1950 section 2.2 DICTID).
 * An empty dictionary has DICTID 1, the Adler-32 of no bytes. */
uint32_t ecred_zlib_dictid(ecred_span dict)
{
    uLong a = adler32_z(0L, Z_NULL, 0);
    if (dict.ptr && dict.len)
        a = adler32_z(a, dict.ptr, dict.len);
    return (uint32_t)a;
}

/* Map a zlib status that is not a normal step to our error enum. */
static ecred_err zcap_map_zlib_error(int ret)
{
    switch (ret) {
    case Z_MEM_ERROR: return ECRED_ERR_NOMEM;
    case Z_DATA_ERROR:
    case Z_NEED_DICT:
    case Z_BUF_ERROR: return ECRED_ERR_INFLATE;
    default: return ECRED_ERR_INTERNAL;
    }
}

/* One thread's reusable deflate state and the level it was made for. */
typedef struct zcap_deflater {
    z_stream zs;
    int level;
} zcap_deflater;

static pthread_key_t zcap_key;
static pthread_key_t zcap_inflate_key;
static pthread_once_t zcap_once = PTHREAD_ONCE_INIT;
static bool zcap_key_ok;
static bool zcap_inflate_key_ok;

/* Thread exit: end the thread's deflate state. */
static void zcap_deflater_free(void *p)
{
    zcap_deflater *d = p;
    deflateEnd(&d->zs);
    free(d);
}

/* Thread exit: end the thread's inflate state. */
static void zcap_inflater_free(void *p)
{
    z_stream *zs = p;
    inflateEnd(zs);
    free(zs);
}

static void zcap_key_init(void)
{
    zcap_key_ok = pthread_key_create(&zcap_key, zcap_deflater_free) == 0;
    zcap_inflate_key_ok = pthread_key_create(&zcap_inflate_key, zcap_inflater_free) == 0;
}

/* This thread's inflate state, reset for a new zlib-wrapped stream (made on
 * first use); NULL with *zret set when it cannot be made. */
static z_stream *zcap_inflater_get(int *zret)
{
    *zret = Z_OK;
    pthread_once(&zcap_once, zcap_key_init);
    if (!zcap_inflate_key_ok) {
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    z_stream *zs = pthread_getspecific(zcap_inflate_key);
    if (zs) {
        if ((*zret = inflateReset(zs)) == Z_OK)
            return zs;
        pthread_setspecific(zcap_inflate_key, NULL);
        zcap_inflater_free(zs);
    }
    zs = calloc(1, sizeof *zs);
    if (!zs) {
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    /* windowBits 15: a zlib wrapper only; raw deflate and gzip are refused. */
    if ((*zret = inflateInit(zs)) != Z_OK) {
        free(zs);
        return NULL;
    }
    if (pthread_setspecific(zcap_inflate_key, zs) != 0) {
        zcap_inflater_free(zs);
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    return zs;
}

/* This thread's deflate state at `level`, reset for a new stream (made on
 * first use, or again for another level); NULL when memory runs out. */
static z_stream *zcap_deflater_get(int level, int *zret)
{
    *zret = Z_OK;
    pthread_once(&zcap_once, zcap_key_init);
    if (!zcap_key_ok) {
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    zcap_deflater *d = pthread_getspecific(zcap_key);
    if (d && d->level == level) {
        if ((*zret = deflateReset(&d->zs)) == Z_OK)
            return &d->zs;
    }
    if (d) {
        pthread_setspecific(zcap_key, NULL);
        zcap_deflater_free(d);
    }
    d = calloc(1, sizeof *d);
    if (!d) {
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    d->level = level;
    *zret = level == ECRED_ZLIB_RLE ? deflateInit2(&d->zs, 9, Z_DEFLATED, 15, 8, Z_RLE)
                                    : deflateInit(&d->zs, level);
    if (*zret != Z_OK) {
        free(d);
        return NULL;
    }
    if (pthread_setspecific(zcap_key, d) != 0) {
        zcap_deflater_free(d);
        *zret = Z_MEM_ERROR;
        return NULL;
    }
    return &d->zs;
}

/* Compress n bytes into one zlib stream at `level` (0..9 or ECRED_ZLIB_RLE;
 * default window and memory settings so output matches stock zlib byte for
 * byte). A non-empty dict
 * is preset and announced via FDICT/DICTID. out is replaced only on success. */
ecred_err ecred_zlib_compress(const uint8_t *in, size_t n, int level, ecred_span dict,
                              ecred_buf *out)
{
    if (!out || (!in && n) || (!dict.ptr && dict.len) || level < 0 || level > ECRED_ZLIB_RLE)
        return ECRED_ERR_ARG;
    /* avail_in is a 32-bit uInt; ECRED_BUF_MAX keeps both lengths within it. */
    if (n > ECRED_BUF_MAX || dict.len > ECRED_BUF_MAX)
        return ECRED_ERR_TOO_LARGE;

    ecred_buf result = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    int ret;
    z_stream *zs = zcap_deflater_get(level, &ret);
    if (!zs)
        return ret == Z_MEM_ERROR ? ECRED_ERR_NOMEM : ECRED_ERR_INTERNAL;

    if (dict.len > 0) {
        ret = deflateSetDictionary(zs, dict.ptr, (uInt)dict.len);
        if (ret != Z_OK) {
            e = zcap_map_zlib_error(ret);
            goto done;
        }
    }
    /* deflateBound covers the header and trailer; +4 for the DICTID it may omit. */
    uLong bound = deflateBound(zs, (uLong)n) + 4;
    e = ecred_buf_reserve(&result, bound > ECRED_BUF_MAX ? ECRED_BUF_MAX : (size_t)bound);
    if (e)
        goto done;

    zs->next_in = n ? in : (const Bytef *)"";
    zs->avail_in = (uInt)n;
    for (;;) {
        if (result.cap == result.len) {
            e = ecred_buf_reserve(&result, result.cap);
            if (e)
                goto done;
        }
        size_t room = result.cap - result.len;
        uInt avail = room > UINT_MAX ? UINT_MAX : (uInt)room;
        zs->next_out = result.ptr + result.len;
        zs->avail_out = avail;
        ret = deflate(zs, Z_FINISH);
        result.len += (size_t)(avail - zs->avail_out);
        if (ret == Z_STREAM_END)
            break;
        /* Z_OK means "give me more output space"; anything else is a zlib fault
         * since we always offer space and all input at once. */
        if (ret != Z_OK) {
            e = ECRED_ERR_INTERNAL;
            goto done;
        }
    }
    ecred_buf_free(out);
    *out = result;
    result.ptr = NULL;
done:
    /* The state stays for the next stream; pointers into the caller's input
     * and our output must not. */
    zs->next_in = Z_NULL;
    zs->avail_in = 0;
    zs->next_out = Z_NULL;
    zs->avail_out = 0;
    ecred_buf_free(&result);
    return e;
}

/* Inflate one complete zlib stream occupying exactly in[0..n), producing at most
 * max_out bytes (ECRED_ERR_TOO_LARGE as soon as one more byte appears). Memory
 * use is bounded by the cap (rounded up by ecred_buf's power-of-two growth),
 * never by what the stream claims. out is replaced only on success. */
ecred_err ecred_zlib_inflate(const uint8_t *in, size_t n, size_t max_out, ecred_span dict,
                             ecred_buf *out)
{
    if (!out || (!in && n) || (!dict.ptr && dict.len))
        return ECRED_ERR_ARG;
    if (n > ECRED_BUF_MAX || dict.len > ECRED_BUF_MAX)
        return ECRED_ERR_TOO_LARGE;
    /* No buffer may exceed ECRED_BUF_MAX, so a larger cap means the same thing. */
    if (max_out > ECRED_BUF_MAX)
        max_out = ECRED_BUF_MAX;

    int ret;
    z_stream *zs = zcap_inflater_get(&ret);
    if (!zs)
        return ret == Z_MEM_ERROR ? ECRED_ERR_NOMEM : ECRED_ERR_INTERNAL;
    zs->next_in = n ? in : (const Bytef *)"";
    zs->avail_in = (uInt)n;

    ecred_buf result = ECRED_BUF_INIT;
    ecred_err e = ECRED_OK;
    uint8_t probe;
    for (;;) {
        size_t allowed = max_out - result.len;
        uint8_t *dst;
        size_t room;
        if (allowed == 0) {
            /* At the cap: one byte of scratch space. Any output there means the
             * stream is larger than the cap; the stream may still legally end. */
            dst = &probe;
            room = 1;
        } else {
            if (result.cap == result.len) {
                size_t grow = result.cap ? result.cap : ZCAP_INFLATE_FIRST_CHUNK;
                e = ecred_buf_reserve(&result, grow < allowed ? grow : allowed);
                if (e)
                    goto done;
            }
            dst = result.ptr + result.len;
            room = result.cap - result.len;
            if (room > allowed)
                room = allowed;
        }
        uInt avail = room > UINT_MAX ? UINT_MAX : (uInt)room;
        zs->next_out = dst;
        zs->avail_out = avail;
        ret = inflate(zs, Z_NO_FLUSH);
        size_t produced = (size_t)(avail - zs->avail_out);
        if (dst == &probe && produced > 0) {
            e = ECRED_ERR_TOO_LARGE;
            goto done;
        }
        if (dst != &probe)
            result.len += produced;

        if (ret == Z_STREAM_END) {
            /* Trailing bytes after the Adler-32 trailer are not ours to ignore. */
            if (zs->avail_in != 0)
                e = ECRED_ERR_INFLATE;
            break;
        }
        if (ret == Z_OK)
            continue;
        if (ret == Z_NEED_DICT) {
            /* inflateSetDictionary compares the dictionary's Adler-32 with
             * the stream's DICTID itself (Z_DATA_ERROR on a mismatch, zlib
             * manual): computing it here as well doubled the cost. */
            if (dict.len == 0) {
                e = ECRED_ERR_INFLATE;
                goto done;
            }
            ret = inflateSetDictionary(zs, dict.ptr, (uInt)dict.len);
            if (ret != Z_OK) {
                e = zcap_map_zlib_error(ret);
                goto done;
            }
            continue;
        }
        /* Z_BUF_ERROR here means no progress with output space on offer: the
         * input ended before the stream did (truncation). */
        e = zcap_map_zlib_error(ret);
        goto done;
    }
    if (e)
        goto done;
    ecred_buf_free(out);
    *out = result;
    result.ptr = NULL;
done:
    /* The state stays for the next stream (reset then); pointers into the
     * caller's input and our output must not. */
    zs->next_in = Z_NULL;
    zs->avail_in = 0;
    zs->next_out = Z_NULL;
    zs->avail_out = 0;
    ecred_buf_free(&result);
    return e;
}
