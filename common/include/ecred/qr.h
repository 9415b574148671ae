/*
 * qr.h - QR matrices (libqrencode) rendered to PNG (libpng), SVG and UTF-8
 * half blocks for terminals; and QR reading from PNG/JPEG images (zbar).
 */
#ifndef ECRED_QR_H
#define ECRED_QR_H

#include <stdbool.h>

#include "ecred/buf.h"

typedef enum { ECRED_QR_ECC_L = 0, ECRED_QR_ECC_M = 1, ECRED_QR_ECC_Q = 2, ECRED_QR_ECC_H = 3 } ecred_qr_ecc;

#define ECRED_QR_TEXT_MAX 4296 /* alphanumeric capacity of version 40-L */

typedef struct ecred_qr {
    int version;     /* 1..40 */
    int width;       /* modules per side, without quiet zone */
    uint8_t *dark;   /* width*width bytes, 1 = dark module, row-major */
} ecred_qr;

/* Encode text (case-sensitive; base45 text encodes in alphanumeric mode) at the
 * smallest version that fits. ECRED_ERR_TOO_LARGE if it fits no version. */
ecred_err ecred_qr_encode(const char *text, size_t n, ecred_qr_ecc ecc, ecred_qr *out);
void ecred_qr_free(ecred_qr *qr);

/* 8-bit grayscale PNG, `scale` pixels per module, `margin` modules of quiet zone
 * (4 is the standard minimum). out is replaced on success. */
ecred_err ecred_qr_png(const ecred_qr *qr, int scale, int margin, ecred_buf *out);
/* Standalone SVG document, one path, viewBox in modules. */
ecred_err ecred_qr_svg(const ecred_qr *qr, int margin, ecred_buf *out);
/* UTF-8 text using half-block characters (two module rows per text line), dark
 * modules drawn as the terminal's background on a light quiet zone so phones can
 * scan it from a dark terminal; NUL-terminated. */
ecred_err ecred_qr_utf8(const ecred_qr *qr, int margin, ecred_buf *out);

/* Read the first QR code found in a PNG or JPEG image (format detected from the
 * magic bytes). ECRED_ERR_INPUT if the image cannot be decoded or holds no QR
 * code; text is NUL-terminated. Image dimensions are capped (ECRED_ERR_TOO_LARGE). */
ecred_err ecred_qr_scan_image(const uint8_t *img, size_t n, ecred_buf *text);
/* Same from 8-bit grayscale pixels. */
ecred_err ecred_qr_scan_gray(const uint8_t *pixels, int width, int height, ecred_buf *text);

#endif
