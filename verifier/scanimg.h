/*
 * scanimg.h - photos uploaded to POST /v1/scan-image: the declared size is
 * read from the PNG or JPEG header and held to the web route's caps (far
 * tighter than common/qr.h's, which are sized for files a person hands the
 * CLI) before common/'s zbar path decodes a single pixel, so one request
 * cannot make the daemon chew on a 40-megapixel picture.
 *
 * Must never: decode pixels of an image over the caps, keep the image or the
 * decoded text beyond the call.
 */
#ifndef ECRED_VERIFIER_SCANIMG_H
#define ECRED_VERIFIER_SCANIMG_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/err.h"

#define SCANIMG_BYTES_MAX ((size_t)4 << 20) /* the route's body cap */
#define SCANIMG_SIDE_MAX 4096               /* width or height in pixels */
#define SCANIMG_PIXELS_MAX 12000000         /* a 12-megapixel phone photo */

/* Width and height a PNG (IHDR) or baseline/progressive JPEG (first SOFn)
 * declares, read without decoding. ECRED_ERR_INPUT when the bytes are neither
 * or the header is cut or zero-sized; *w and *h written only on success. */
ecred_err scanimg_dimensions(const uint8_t *p, size_t n, uint32_t *w, uint32_t *h);

/* Read the QR text in an uploaded photo: ECRED_ERR_TOO_LARGE over the caps
 * above, ECRED_ERR_INPUT when it is not a PNG/JPEG or holds no readable QR
 * code, else the text (NUL-terminated) in *text, replaced only on success. */
ecred_err scanimg_decode(const uint8_t *p, size_t n, ecred_buf *text);

#endif
