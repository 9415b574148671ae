/*
 * scanimg.c - size checks of uploaded photos, then common/'s zbar path
 * (scanimg.h). The header walk trusts no length: every read is checked
 * against n first. Must never: allocate for pixels (common/qr.c does, after
 * our caps passed).
 */
#include "scanimg.h"

#include <stdbool.h>
#include <string.h>

#include "ecred/qr.h"

static uint32_t be16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }

/* PNG: signature, then IHDR must be the first chunk (PNG spec 5.6). */
static ecred_err png_dims(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 24 || memcmp(p, sig, 8) != 0 || memcmp(p + 12, "IHDR", 4) != 0)
        return ECRED_ERR_INPUT;
    *w = be32(p + 16);
    *h = be32(p + 20);
    return ECRED_OK;
}

/* JPEG: walk the marker segments up to the first start-of-frame. */
static ecred_err jpeg_dims(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
    if (n < 4 || p[0] != 0xff || p[1] != 0xd8)
        return ECRED_ERR_INPUT;
    size_t i = 2;
    while (i + 1 < n) {
        if (p[i] != 0xff)
            return ECRED_ERR_INPUT;
        uint8_t m = p[i + 1];
        if (m == 0xff) { /* fill byte before a marker */
            i++;
            continue;
        }
        i += 2;
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) /* TEM, RSTn: no length */
            continue;
        if (m == 0xd9 || m == 0xda) /* EOI, or SOS before any frame header */
            return ECRED_ERR_INPUT;
        if (i + 2 > n)
            return ECRED_ERR_INPUT;
        size_t len = be16(p + i);
        if (len < 2 || len > n - i)
            return ECRED_ERR_INPUT;
        bool sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (len < 7)
                return ECRED_ERR_INPUT;
            *h = be16(p + i + 3);
            *w = be16(p + i + 5);
            return ECRED_OK;
        }
        i += len;
    }
    return ECRED_ERR_INPUT;
}

ecred_err scanimg_dimensions(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h)
{
    if (!p || !w || !h)
        return ECRED_ERR_ARG;
    uint32_t ww = 0, hh = 0;
    ecred_err e = n >= 8 && p[0] == 0x89 ? png_dims(p, n, &ww, &hh) : jpeg_dims(p, n, &ww, &hh);
    if (e)
        return e;
    if (ww == 0 || hh == 0)
        return ECRED_ERR_INPUT;
    *w = ww;
    *h = hh;
    return ECRED_OK;
}

ecred_err scanimg_decode(const uint8_t *p, size_t n, ecred_buf *text)
{
    if (!p || !text)
        return ECRED_ERR_ARG;
    if (n > SCANIMG_BYTES_MAX)
        return ECRED_ERR_TOO_LARGE;
    uint32_t w, h;
    ecred_err e = scanimg_dimensions(p, n, &w, &h);
    if (e)
        return e;
    if (w > SCANIMG_SIDE_MAX || h > SCANIMG_SIDE_MAX || (uint64_t)w * h > SCANIMG_PIXELS_MAX)
        return ECRED_ERR_TOO_LARGE;
    return ecred_qr_scan_image(p, n, text);
}
