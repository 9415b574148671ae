/*
 * qr.c - QR codes in and out: libqrencode builds the module matrix, we render it
 * as PNG (libpng, to memory), SVG or UTF-8 half blocks; images (PNG via libpng,
 * JPEG via libjpeg) are decoded to 8-bit gray and read with zbar.
 *
 * Every image given to the scanner is untrusted. This file must never allocate
 * a pixel buffer before the declared dimensions passed our caps, never let a
 * library print (libpng and libjpeg print by default: both get silent error
 * handlers) and never crash or exit on a corrupt image: errors longjmp back to
 * a function whose callers free what was acquired, then become ECRED_ERR_INPUT.
 * Nor may it hand zbar more pixels than ECRED_QR_SCAN_ZBAR_SIDE allows: zbar
 * has no cancel, and a small image tiled with finder patterns keeps it busy
 * for minutes at full size.
 */
#include "ecred/qr.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs FILE */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jpeglib.h>
#include <png.h>
#include <qrencode.h>
#include <zbar.h>

/* libjpeg-turbo's advice for untrusted progressive JPEGs: a file can declare
 * thousands of tiny scans and burn CPU for minutes; real photos use ~10. */
#define QR_JPEG_MAX_SCANS 100

/* QRcode_encodeString is documented "THREAD UNSAFE when pthread is disabled".
 * Debian's 4.1.1 is built with pthread (it imports pthread_mutex_lock), but we
 * cannot see from here how the library we are linked against was built, and
 * the issuer daemon encodes from several threads. One process-wide mutex makes
 * us correct with either build; its cost is negligible next to encoding. */
static pthread_mutex_t qr_encode_lock = PTHREAD_MUTEX_INITIALIZER;

/* The struct is consistent: version in range, width matching it, matrix present. */
static ecred_err qr_check(const ecred_qr *qr)
{
    if (!qr || !qr->dark || qr->version < 1 || qr->version > 40 ||
        qr->width != 17 + 4 * qr->version)
        return ECRED_ERR_ARG;
    return ECRED_OK;
}

/* Is module (x, y) dark? Coordinates outside the symbol (the quiet zone) are light. */
static int qr_dark_at(const ecred_qr *qr, int x, int y)
{
    if (x < 0 || y < 0 || x >= qr->width || y >= qr->width)
        return 0;
    return qr->dark[(size_t)y * (size_t)qr->width + (size_t)x] != 0;
}

ecred_err ecred_qr_encode(const char *text, size_t n, ecred_qr_ecc ecc, ecred_qr *out)
{
    static const QRecLevel levels[] = {QR_ECLEVEL_L, QR_ECLEVEL_M, QR_ECLEVEL_Q, QR_ECLEVEL_H};
    if (!out || (!text && n) || (int)ecc < 0 || (int)ecc > 3)
        return ECRED_ERR_ARG;
    if (n > ECRED_QR_TEXT_MAX)
        return ECRED_ERR_TOO_LARGE;
    if (n == 0 || memchr(text, 0, n))
        return ECRED_ERR_INPUT;

    ecred_err e = ECRED_OK;
    QRcode *code = NULL;
    uint8_t *dark = NULL;
    /* libqrencode wants a C string; ours is a counted span. */
    char *copy = malloc(n + 1);
    if (!copy)
        return ECRED_ERR_NOMEM;
    memcpy(copy, text, n);
    copy[n] = '\0';

    pthread_mutex_lock(&qr_encode_lock);
    errno = 0;
    /* Version 0 = smallest that fits; QR_MODE_8 hint with case sensitivity lets
     * the library pick alphanumeric mode for base45 text (its whole alphabet is
     * QR's alphanumeric set) and 8-bit mode for anything else. */
    code = QRcode_encodeString(copy, 0, levels[ecc], QR_MODE_8, 1);
    int saved_errno = errno;
    pthread_mutex_unlock(&qr_encode_lock);

    if (!code) {
        e = saved_errno == ERANGE   ? ECRED_ERR_TOO_LARGE
            : saved_errno == ENOMEM ? ECRED_ERR_NOMEM
            : saved_errno == EINVAL ? ECRED_ERR_INPUT
                                    : ECRED_ERR_INTERNAL;
        goto done;
    }
    if (code->version < 1 || code->version > 40 || code->width != 17 + 4 * code->version) {
        e = ECRED_ERR_INTERNAL;
        goto done;
    }
    size_t cells = (size_t)code->width * (size_t)code->width;
    dark = malloc(cells);
    if (!dark) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    /* libqrencode packs several flags per byte; bit 0 is "dark". */
    for (size_t i = 0; i < cells; i++)
        dark[i] = (uint8_t)(code->data[i] & 1u);
    out->version = code->version;
    out->width = code->width;
    out->dark = dark;
    dark = NULL;
done:
    free(dark);
    if (code)
        QRcode_free(code);
    free(copy);
    return e;
}

void ecred_qr_free(ecred_qr *qr)
{
    if (!qr)
        return;
    free(qr->dark);
    qr->dark = NULL;
    qr->version = 0;
    qr->width = 0;
}

/* ---- PNG output ---------------------------------------------------------- */

/* libpng's default handlers print to stderr; library code must not. The error
 * handler only jumps back to the setjmp of the running decode/encode. */
static void qr_png_error(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_longjmp(png, 1);
}

/* Warnings (e.g. a damaged ancillary chunk libpng skips) are not our business. */
static void qr_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Write sink: appends to an owned buffer, remembering why it failed. */
struct qr_png_sink {
    ecred_buf buf;
    ecred_err err;
};

/* libpng write callback: append, or abort the write with the reason kept. */
static void qr_png_sink_write(png_structp png, png_bytep data, size_t len)
{
    struct qr_png_sink *sink = png_get_io_ptr(png);
    ecred_err e = ecred_buf_append(&sink->buf, data, len);
    if (e) {
        sink->err = e;
        png_error(png, "output buffer");
    }
}

/* Nothing to flush: the sink is memory. */
static void qr_png_sink_flush(png_structp png)
{
    (void)png;
}

/* The part of PNG writing that libpng may abandon by longjmp. It owns nothing:
 * png, info and row belong to the caller, which frees them on either result.
 * Returns 0 on success, -1 if libpng failed. */
static int qr_png_write_rows(png_structp png, png_infop info, const ecred_qr *qr, int scale,
                             int margin, uint32_t side, uint8_t *row)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    png_set_IHDR(png, info, side, side, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int modules = qr->width + 2 * margin;
    for (uint32_t y = 0; y < side; y++) {
        /* A pixel row repeats its module row `scale` times: rebuild only on change. */
        if (y % (uint32_t)scale == 0) {
            int my = (int)(y / (uint32_t)scale) - margin;
            for (int mx = 0; mx < modules; mx++)
                memset(row + (size_t)mx * (size_t)scale,
                       qr_dark_at(qr, mx - margin, my) ? 0x00 : 0xff, (size_t)scale);
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    return 0;
}

ecred_err ecred_qr_png(const ecred_qr *qr, int scale, int margin, ecred_buf *out)
{
    ecred_err e = qr_check(qr);
    if (e)
        return e;
    if (!out || scale < 1 || scale > ECRED_QR_SCALE_MAX || margin < 0 || margin > ECRED_QR_MARGIN_MAX)
        return ECRED_ERR_ARG;
    /* (177 + 2*16) * 64 = 13376: the limits above keep this tiny, but the
     * product is computed in size_t and checked rather than assumed. */
    size_t modules = (size_t)qr->width + 2 * (size_t)margin;
    if (modules > SIZE_MAX / (size_t)scale)
        return ECRED_ERR_TOO_LARGE;
    size_t side = modules * (size_t)scale;
    if (side > PNG_UINT_31_MAX)
        return ECRED_ERR_TOO_LARGE;

    struct qr_png_sink sink = {ECRED_BUF_INIT, ECRED_OK};
    png_structp png = NULL;
    png_infop info = NULL;
    uint8_t *row = malloc(side);
    if (!row)
        return ECRED_ERR_NOMEM;
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, qr_png_error, qr_png_warning);
    if (!png) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    info = png_create_info_struct(png);
    if (!info) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    png_set_write_fn(png, &sink, qr_png_sink_write, qr_png_sink_flush);
    if (qr_png_write_rows(png, info, qr, scale, margin, (uint32_t)side, row) != 0) {
        e = sink.err ? sink.err : ECRED_ERR_INTERNAL;
        goto done;
    }
    ecred_buf_free(out);
    *out = sink.buf;
    sink.buf = (ecred_buf)ECRED_BUF_INIT;
done:
    png_destroy_write_struct(&png, &info);
    ecred_buf_free(&sink.buf);
    free(row);
    return e;
}

/* ---- SVG and terminal output -------------------------------------------- */

/* Append a C string (without its NUL). */
static ecred_err qr_append_str(ecred_buf *b, const char *s)
{
    return ecred_buf_append(b, s, strlen(s));
}

/* Append v in decimal: no printf, so no locale and no format-string risk. */
static ecred_err qr_append_uint(ecred_buf *b, unsigned v)
{
    char digits[16];
    size_t i = sizeof digits;
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return ecred_buf_append(b, digits + i, sizeof digits - i);
}

/* Append "M<x> <y>h<run>v1h-<run>z": one run of dark modules as a closed box. */
static ecred_err qr_svg_run(ecred_buf *b, unsigned x, unsigned y, unsigned run)
{
    ecred_err e;
    if ((e = qr_append_str(b, "M")) || (e = qr_append_uint(b, x)) || (e = qr_append_str(b, " ")) ||
        (e = qr_append_uint(b, y)) || (e = qr_append_str(b, "h")) || (e = qr_append_uint(b, run)) ||
        (e = qr_append_str(b, "v1h-")) || (e = qr_append_uint(b, run)) || (e = qr_append_str(b, "z")))
        return e;
    return ECRED_OK;
}

ecred_err ecred_qr_svg(const ecred_qr *qr, int margin, ecred_buf *out)
{
    ecred_err e = qr_check(qr);
    if (e)
        return e;
    if (!out || margin < 0 || margin > ECRED_QR_MARGIN_MAX)
        return ECRED_ERR_ARG;
    unsigned side = (unsigned)(qr->width + 2 * margin);
    ecred_buf b = ECRED_BUF_INIT;

    /* crispEdges: module edges are integer user units, so no anti-aliasing seams
     * between adjacent runs that a scanner could read as light lines. */
    if ((e = qr_append_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 ")) ||
        (e = qr_append_uint(&b, side)) || (e = qr_append_str(&b, " ")) || (e = qr_append_uint(&b, side)) ||
        (e = qr_append_str(&b, "\" shape-rendering=\"crispEdges\">\n<rect width=\"")) ||
        (e = qr_append_uint(&b, side)) || (e = qr_append_str(&b, "\" height=\"")) ||
        (e = qr_append_uint(&b, side)) ||
        (e = qr_append_str(&b, "\" fill=\"#ffffff\"/>\n<path fill=\"#000000\" d=\"")))
        goto fail;
    for (int y = 0; y < qr->width; y++) {
        int x = 0;
        while (x < qr->width) {
            if (!qr_dark_at(qr, x, y)) {
                x++;
                continue;
            }
            int start = x;
            while (x < qr->width && qr_dark_at(qr, x, y))
                x++;
            e = qr_svg_run(&b, (unsigned)(start + margin), (unsigned)(y + margin), (unsigned)(x - start));
            if (e)
                goto fail;
        }
    }
    if ((e = qr_append_str(&b, "\"/>\n</svg>\n")) || (e = ecred_buf_terminate(&b)))
        goto fail;
    ecred_buf_free(out);
    *out = b;
    return ECRED_OK;
fail:
    ecred_buf_free(&b);
    return e;
}

ecred_err ecred_qr_utf8(const ecred_qr *qr, int margin, ecred_buf *out)
{
    /* Colours are inverted on purpose: terminals are mostly light text on a dark
     * background, and a QR code needs dark modules on a light quiet zone. So the
     * glyphs draw the LIGHT modules in the text colour and leave dark modules as
     * the (dark) background; printing dark modules as blocks would give a
     * negative image many phone scanners refuse. Index: top light*2 + bottom light. */
    static const char *const cell[4] = {" ", "\xe2\x96\x84" /* lower half */,
                                        "\xe2\x96\x80" /* upper half */, "\xe2\x96\x88" /* full */};
    ecred_err e = qr_check(qr);
    if (e)
        return e;
    if (!out || margin < 0 || margin > ECRED_QR_MARGIN_MAX)
        return ECRED_ERR_ARG;
    int side = qr->width + 2 * margin;
    ecred_buf b = ECRED_BUF_INIT;
    for (int y = 0; y < side; y += 2) {
        for (int x = 0; x < side; x++) {
            int top_light = !qr_dark_at(qr, x - margin, y - margin);
            /* Past the last row (side is odd) is outside the image: leave it as
             * terminal background rather than extend the quiet zone unevenly. */
            int bottom_light = y + 1 < side && !qr_dark_at(qr, x - margin, y + 1 - margin);
            if ((e = qr_append_str(&b, cell[top_light * 2 + bottom_light])))
                goto fail;
        }
        if ((e = qr_append_str(&b, "\n")))
            goto fail;
    }
    if ((e = ecred_buf_terminate(&b)))
        goto fail;
    ecred_buf_free(out);
    *out = b;
    return ECRED_OK;
fail:
    ecred_buf_free(&b);
    return e;
}

/* ---- Image decoding ------------------------------------------------------ */

/* A decoded image: 8-bit gray, row-major, owned by whoever holds the struct. */
struct qr_gray {
    uint8_t *pixels;
    uint8_t **rows; /* libpng's row pointers, only while decoding */
    uint32_t width, height;
    ecred_err err;  /* why a decode stopped, when it was not the format's fault */
};

/* Our caps on declared dimensions, checked before any pixel allocation. */
static ecred_err qr_check_dims(uint64_t width, uint64_t height)
{
    if (width == 0 || height == 0)
        return ECRED_ERR_INPUT;
    if (width > ECRED_QR_SCAN_SIDE_MAX || height > ECRED_QR_SCAN_SIDE_MAX ||
        width * height > ECRED_QR_SCAN_PIXELS_MAX)
        return ECRED_ERR_TOO_LARGE;
    return ECRED_OK;
}

/* Read cursor over the caller's image bytes. */
struct qr_png_source {
    const uint8_t *ptr;
    size_t len, pos;
};

/* libpng read callback: never reads past the span; a short read is corruption. */
static void qr_png_source_read(png_structp png, png_bytep out, size_t n)
{
    struct qr_png_source *src = png_get_io_ptr(png);
    if (n > src->len - src->pos)
        png_error(png, "truncated");
    memcpy(out, src->ptr + src->pos, n);
    src->pos += n;
}

/* The part of PNG reading libpng may abandon by longjmp. Allocations go into
 * img, which the caller frees on either result. Returns 0 or -1 (img->err set
 * when the reason is ours: a cap or memory; unset means a corrupt PNG). */
static int qr_png_read_rows(png_structp png, png_infop info, struct qr_gray *img)
{
    if (setjmp(png_jmpbuf(png)))
        return -1;
    /* libpng's own default limit (1e6 px) would turn an oversized image into a
     * generic libpng error; lift it so our caps below decide, as TOO_LARGE. */
    png_set_user_limits(png, PNG_UINT_31_MAX, PNG_UINT_31_MAX);
    /* Ancillary chunks (text, ICC profiles) are useless to a scanner: bound the
     * memory and count libpng spends on them instead of trusting build defaults. */
    png_set_chunk_malloc_max(png, (png_alloc_size_t)1 << 20);
    png_set_chunk_cache_max(png, 128);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    if ((img->err = qr_check_dims(width, height)))
        return -1;
    /* Normalise every PNG flavour to 8-bit gray, keeping alpha (as a second
     * channel) so transparency can be composited onto white below. */
    png_set_expand(png); /* palette -> RGB, gray < 8 bit -> 8 bit, tRNS -> alpha */
    png_set_strip_16(png);
    if (png_get_color_type(png, info) & PNG_COLOR_MASK_COLOR)
        png_set_rgb_to_gray_fixed(png, 1 /* silently */, -1, -1);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    png_byte channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || channels < 1 || channels > 2 ||
        rowbytes != (size_t)width * channels) {
        img->err = ECRED_ERR_INPUT;
        return -1;
    }
    /* Bounded by the caps: at most 2 * 40e6 bytes. */
    img->pixels = malloc(rowbytes * height);
    img->rows = malloc(sizeof *img->rows * height);
    if (!img->pixels || !img->rows) {
        img->err = ECRED_ERR_NOMEM;
        return -1;
    }
    for (png_uint_32 y = 0; y < height; y++)
        img->rows[y] = img->pixels + (size_t)y * rowbytes;
    png_read_image(png, img->rows);
    /* Read to IEND so a damaged tail is rejected like any other corruption. */
    png_read_end(png, NULL);
    if (channels == 2) {
        /* Composite onto white: a QR drawn as dark modules on a transparent
         * background (common) would otherwise become dark on dark. In place:
         * output index i never passes input index 2i. */
        size_t count = (size_t)width * height;
        for (size_t i = 0; i < count; i++) {
            unsigned g = img->pixels[2 * i], a = img->pixels[2 * i + 1];
            img->pixels[i] = (uint8_t)((g * a + 255u * (255u - a) + 127u) / 255u);
        }
    }
    img->width = width;
    img->height = height;
    return 0;
}

/* Decode a PNG into img (caller frees img->pixels). ECRED_ERR_INPUT if corrupt. */
static ecred_err qr_png_decode(const uint8_t *p, size_t n, struct qr_gray *img)
{
    struct qr_png_source src = {p, n, 0};
    png_infop info = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, qr_png_error, qr_png_warning);
    if (!png)
        return ECRED_ERR_NOMEM;
    ecred_err e = ECRED_OK;
    info = png_create_info_struct(png);
    if (!info) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    png_set_read_fn(png, &src, qr_png_source_read);
    if (qr_png_read_rows(png, info, img) != 0)
        e = img->err ? img->err : ECRED_ERR_INPUT;
done:
    png_destroy_read_struct(&png, &info, NULL);
    free(img->rows);
    img->rows = NULL;
    return e;
}

/* libjpeg error manager that neither prints nor exits: jumps back instead. */
struct qr_jpeg_error {
    struct jpeg_error_mgr mgr;
    jmp_buf jump;
};

/* libjpeg fatal error: back to qr_jpeg_read_rows' setjmp (default: exit()). */
static void qr_jpeg_error_exit(j_common_ptr cinfo)
{
    struct qr_jpeg_error *err = (struct qr_jpeg_error *)(void *)cinfo->err;
    longjmp(err->jump, 1);
}

/* libjpeg messages (default: stderr) are dropped: library code never prints. */
static void qr_jpeg_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Progress hook that stops a decode with too many scans (see QR_JPEG_MAX_SCANS). */
static void qr_jpeg_progress(j_common_ptr cinfo)
{
    if (cinfo->is_decompressor &&
        ((j_decompress_ptr)(void *)cinfo)->input_scan_number > QR_JPEG_MAX_SCANS)
        cinfo->err->error_exit(cinfo);
}

/* The part of JPEG reading libjpeg may abandon by longjmp. cinfo (zeroed, err
 * set) and img belong to the caller, which destroys and frees them on either
 * result. Returns 0 or -1 (img->err set when the reason is a cap or memory). */
static int qr_jpeg_read_rows(struct jpeg_decompress_struct *cinfo, struct qr_jpeg_error *err,
                             struct jpeg_progress_mgr *progress, const uint8_t *p, size_t n,
                             struct qr_gray *img)
{
    if (setjmp(err->jump))
        return -1;
    jpeg_create_decompress(cinfo);
    progress->progress_monitor = qr_jpeg_progress;
    cinfo->progress = progress;
    jpeg_mem_src(cinfo, p, (unsigned long)n);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK)
        return -1;
    if ((img->err = qr_check_dims(cinfo->image_width, cinfo->image_height)))
        return -1;
    cinfo->out_color_space = JCS_GRAYSCALE;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 1 || cinfo->output_width != cinfo->image_width ||
        cinfo->output_height != cinfo->image_height)
        return -1;
    size_t width = cinfo->output_width;
    img->pixels = malloc(width * cinfo->output_height);
    if (!img->pixels) {
        img->err = ECRED_ERR_NOMEM;
        return -1;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = img->pixels + (size_t)cinfo->output_scanline * width;
        /* A memory source never suspends; 0 rows would mean a loop forever. */
        if (jpeg_read_scanlines(cinfo, &row, 1) != 1)
            return -1;
    }
    /* A truncated JPEG only warns (libjpeg pads it with gray): zbar then finds
     * nothing or reads what survived, and either outcome is honest. */
    jpeg_finish_decompress(cinfo);
    img->width = cinfo->output_width;
    img->height = cinfo->output_height;
    return 0;
}

/* Decode a JPEG into img (caller frees img->pixels). ECRED_ERR_INPUT if corrupt. */
static ecred_err qr_jpeg_decode(const uint8_t *p, size_t n, struct qr_gray *img)
{
    struct jpeg_decompress_struct cinfo;
    struct qr_jpeg_error err;
    struct jpeg_progress_mgr progress;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&progress, 0, sizeof progress);
    cinfo.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = qr_jpeg_error_exit;
    err.mgr.output_message = qr_jpeg_output_message;
    ecred_err e = ECRED_OK;
    if (qr_jpeg_read_rows(&cinfo, &err, &progress, p, n, img) != 0)
        e = img->err ? img->err : ECRED_ERR_INPUT;
    /* Safe in every state, even if create failed: it checks cinfo.mem. */
    jpeg_destroy_decompress(&cinfo);
    return e;
}

ecred_err ecred_qr_scan_image(const uint8_t *img, size_t n, ecred_buf *text)
{
    static const uint8_t png_magic[4] = {0x89, 0x50, 0x4e, 0x47};
    static const uint8_t jpeg_magic[3] = {0xff, 0xd8, 0xff};
    if (!text || (!img && n))
        return ECRED_ERR_ARG;
    if (n > ECRED_QR_IMAGE_BYTES_MAX)
        return ECRED_ERR_TOO_LARGE;
    struct qr_gray gray = {NULL, NULL, 0, 0, ECRED_OK};
    ecred_err e;
    if (n >= sizeof png_magic && memcmp(img, png_magic, sizeof png_magic) == 0)
        e = qr_png_decode(img, n, &gray);
    else if (n >= sizeof jpeg_magic && memcmp(img, jpeg_magic, sizeof jpeg_magic) == 0)
        e = qr_jpeg_decode(img, n, &gray);
    else
        e = ECRED_ERR_INPUT;
    if (e == ECRED_OK)
        e = ecred_qr_scan_gray(gray.pixels, (int)gray.width, (int)gray.height, text);
    free(gray.pixels);
    return e;
}

/* One zbar pass over w*h gray pixels (w, h already within QR_SCAN_ZBAR_SIDE):
 * text replaced on success, ECRED_ERR_INPUT when no QR code is found. */
static ecred_err qr_zbar_once(const uint8_t *pixels, unsigned w, unsigned h, ecred_buf *text)
{
    ecred_err e;
    ecred_buf result = ECRED_BUF_INIT;
    zbar_image_t *image = NULL;
    zbar_image_scanner_t *scanner = zbar_image_scanner_create();
    if (!scanner)
        return ECRED_ERR_NOMEM;
    /* Only QR: other symbologies cost time and could "find" a barcode in noise. */
    if (zbar_image_scanner_set_config(scanner, ZBAR_NONE, ZBAR_CFG_ENABLE, 0) != 0 ||
        zbar_image_scanner_set_config(scanner, ZBAR_QRCODE, ZBAR_CFG_ENABLE, 1) != 0) {
        e = ECRED_ERR_INTERNAL;
        goto done;
    }
    image = zbar_image_create();
    if (!image) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    zbar_image_set_format(image, zbar_fourcc('Y', '8', '0', '0'));
    zbar_image_set_size(image, w, h);
    /* NULL cleanup: the pixels stay the caller's; zbar only reads them. */
    zbar_image_set_data(image, pixels, (unsigned long)w * (unsigned long)h, NULL);
    int found = zbar_scan_image(scanner, image);
    if (found < 0) {
        e = ECRED_ERR_INTERNAL;
        goto done;
    }
    const zbar_symbol_t *symbol = zbar_image_first_symbol(image);
    while (symbol && zbar_symbol_get_type(symbol) != ZBAR_QRCODE)
        symbol = zbar_symbol_next(symbol);
    if (!symbol) {
        e = ECRED_ERR_INPUT;
        goto done;
    }
    const char *data = zbar_symbol_get_data(symbol);
    size_t len = zbar_symbol_get_data_length(symbol);
    if (len > ECRED_QR_TEXT_MAX) {
        e = ECRED_ERR_TOO_LARGE;
        goto done;
    }
    /* The text is handed on as a C string: an embedded NUL would cut it short. */
    if (!data || len == 0 || memchr(data, 0, len)) {
        e = ECRED_ERR_INPUT;
        goto done;
    }
    if ((e = ecred_buf_append(&result, data, len)) || (e = ecred_buf_terminate(&result)))
        goto done;
    ecred_buf_free(text);
    *text = result;
    result = (ecred_buf)ECRED_BUF_INIT;
done:
    ecred_buf_free(&result);
    if (image)
        zbar_image_destroy(image);
    zbar_image_scanner_destroy(scanner);
    return e;
}

/* Area-average src (sw*sh) down to dw*dh (each no larger than the source's):
 * every source pixel counts once, so thin lines fade to gray instead of
 * aliasing into new edges. dst holds dw*dh bytes. */
static void qr_downscale(const uint8_t *src, unsigned sw, unsigned sh, uint8_t *dst, unsigned dw, unsigned dh)
{
    for (unsigned y = 0; y < dh; y++) {
        size_t y0 = (size_t)y * sh / dh, y1 = (size_t)(y + 1) * sh / dh;
        for (unsigned x = 0; x < dw; x++) {
            size_t x0 = (size_t)x * sw / dw, x1 = (size_t)(x + 1) * sw / dw;
            uint64_t sum = 0;
            for (size_t yy = y0; yy < y1; yy++)
                for (size_t xx = x0; xx < x1; xx++)
                    sum += src[yy * sw + xx];
            dst[(size_t)y * dw + x] = (uint8_t)(sum / ((y1 - y0) * (x1 - x0)));
        }
    }
}

/* Milliseconds on the monotonic clock. */
static int64_t qr_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + (int64_t)t.tv_nsec / 1000000;
}

ecred_err ecred_qr_scan_gray(const uint8_t *pixels, int width, int height, ecred_buf *text)
{
    /* zbar cannot be cancelled and its finder search grows with the square
     * of the candidates an image holds, so the work is bounded in two ways:
     * no pass sees more than QR_SCAN_ZBAR_SIDE on its longer side (its
     * worst case: see ECRED_QR_SCAN_ZBAR_SIDE in qr.h), and a pass at a
     * smaller scale starts only while the time budget lasts. */
    static const unsigned sides[] = {ECRED_QR_SCAN_ZBAR_SIDE, ECRED_QR_SCAN_ZBAR_SIDE / 2};
    if (!pixels || !text || width <= 0 || height <= 0)
        return ECRED_ERR_ARG;
    ecred_err e = qr_check_dims((uint64_t)width, (uint64_t)height);
    if (e)
        return e;
    unsigned w = (unsigned)width, h = (unsigned)height, longer = w > h ? w : h;
    uint8_t *small = NULL;
    int64_t start = qr_now_ms();
    unsigned last = 0;
    e = ECRED_ERR_INPUT;
    for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
        unsigned target = longer < sides[i] ? longer : sides[i];
        if (target == last)
            continue; /* already scanned at this size */
        if (i > 0 && qr_now_ms() - start >= ECRED_QR_SCAN_BUDGET_MS)
            break;
        last = target;
        if (target == longer) {
            e = qr_zbar_once(pixels, w, h, text);
        } else {
            /* Scale both sides alike; neither may round down to zero. */
            unsigned dw = (unsigned)((uint64_t)w * target / longer), dh = (unsigned)((uint64_t)h * target / longer);
            dw = dw ? dw : 1;
            dh = dh ? dh : 1;
            if (!small && !(small = malloc((size_t)target * target))) {
                e = ECRED_ERR_NOMEM;
                break;
            }
            qr_downscale(pixels, w, h, small, dw, dh);
            e = qr_zbar_once(small, dw, dh, text);
        }
        if (e != ECRED_ERR_INPUT)
            break; /* found, or a failure a smaller scale will not fix */
    }
    free(small);
    return e;
}
