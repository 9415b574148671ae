/*
 * qr.h - QR matrices (libqrencode) rendered to PNG (libpng), SVG and UTF-8
 * half blocks for terminals; and QR reading from PNG/JPEG images (zbar).
 *
 * Images handed to the scanner are untrusted: their size in bytes, their
 * declared dimensions and their pixel count are capped before any pixel buffer
 * is allocated, and a corrupt image is an error, never a crash.
 */
#ifndef ECRED_QR_H
#define ECRED_QR_H

#include <stdbool.h>

#include "ecred/buf.h"

typedef enum { ECRED_QR_ECC_L = 0, ECRED_QR_ECC_M = 1, ECRED_QR_ECC_Q = 2, ECRED_QR_ECC_H = 3 } ecred_qr_ecc;

#define ECRED_QR_TEXT_MAX 4296 /* alphanumeric capacity of version 40-L */

/* Rendering limits: anything outside is ECRED_ERR_ARG (a caller bug). */
#define ECRED_QR_SCALE_MAX 64  /* pixels per module in a PNG (minimum 1) */
#define ECRED_QR_MARGIN_MAX 16 /* quiet-zone modules on each side (minimum 0) */

/* Scanning limits: an image beyond them is ECRED_ERR_TOO_LARGE. */
#define ECRED_QR_IMAGE_BYTES_MAX ((size_t)64 << 20) /* encoded PNG/JPEG bytes */
#define ECRED_QR_SCAN_SIDE_MAX 8000                 /* width or height in pixels */
#define ECRED_QR_SCAN_PIXELS_MAX 40000000           /* width * height */
/* What zbar itself is given: the longer side is first scaled down (area
 * average) to at most this. A version-20 code (97 modules + quiet zone)
 * filling a third of the frame still gets ~4 px per module. It bounds the
 * CPU a hostile image can cost: a 1200x1200 image tiled with 7 px finder
 * patterns (9 KB as PNG) takes zbar 1.3 s on the reference machine, where
 * 2000x2000 took 12 s and 3000x3000 61 s (zbar's finder search is
 * quadratic in the candidates). */
#define ECRED_QR_SCAN_ZBAR_SIDE 1200
/* A second pass at half that size (blurry photos decode better smaller)
 * starts only if the first took less than this. */
#define ECRED_QR_SCAN_BUDGET_MS 1000

typedef struct ecred_qr {
    int version;     /* 1..40 */
    int width;       /* modules per side, without quiet zone: 17 + 4 * version */
    uint8_t *dark;   /* width*width bytes, 1 = dark module, row-major */
} ecred_qr;

/* Encode text (case-sensitive; base45 text encodes in alphanumeric mode) at the
 * smallest version that fits. ECRED_ERR_TOO_LARGE if n > ECRED_QR_TEXT_MAX or it
 * fits no version at this ecc; ECRED_ERR_INPUT for empty text or a NUL inside.
 * out is written only on success; release it with ecred_qr_free. */
ecred_err ecred_qr_encode(const char *text, size_t n, ecred_qr_ecc ecc, ecred_qr *out);
/* Release the matrix; qr is left zeroed. NULL and zeroed structs are fine. */
void ecred_qr_free(ecred_qr *qr);

/* 8-bit grayscale PNG, `scale` pixels per module, `margin` modules of quiet zone
 * (4 is the standard minimum). out is replaced on success. */
ecred_err ecred_qr_png(const ecred_qr *qr, int scale, int margin, ecred_buf *out);
/* Standalone SVG document, one path, viewBox in modules. out is replaced on
 * success and NUL-terminated. */
ecred_err ecred_qr_svg(const ecred_qr *qr, int margin, ecred_buf *out);
/* UTF-8 text using half-block characters (two module rows per text line, so
 * (width + 2*margin + 1) / 2 lines, each ending in '\n'), dark modules drawn as
 * the terminal's background on a light quiet zone so phones can scan it from a
 * dark terminal; NUL-terminated. out is replaced on success. */
ecred_err ecred_qr_utf8(const ecred_qr *qr, int margin, ecred_buf *out);

/* Read the first QR code found in a PNG or JPEG image (format detected from the
 * magic bytes). ECRED_ERR_INPUT if the image cannot be decoded or holds no QR
 * code; text is NUL-terminated and replaced only on success. Image bytes and
 * dimensions are capped (ECRED_ERR_TOO_LARGE), as is the decoded text
 * (ECRED_QR_TEXT_MAX); larger images are scanned scaled down to
 * ECRED_QR_SCAN_ZBAR_SIDE, so the scan's time is bounded whatever the image. */
ecred_err ecred_qr_scan_image(const uint8_t *img, size_t n, ecred_buf *text);
/* Same from 8-bit grayscale pixels, width*height bytes, row-major. */
ecred_err ecred_qr_scan_gray(const uint8_t *pixels, int width, int height, ecred_buf *text);

#endif
