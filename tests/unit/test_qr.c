/*
 * test_qr.c - QR encode (version choice against the ISO 18004 capacity table),
 * rendering (PNG, SVG, UTF-8 read back and compared module by module), scanning
 * round trips through PNG flavours and JPEG, and every rejection path of the
 * image decoder: truncation, corruption, no code, oversized declared dimensions.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "check.h"
#include "ecred/qr.h"

/* QR alphanumeric set minus digits: a string of these stays in one alphanumeric
 * segment, so the version libqrencode picks must be exactly the table's. */
static const char ALNUM_NO_DIGITS[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
static const char BASE45[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/* Fixed-seed generator: the same "random" texts and noise on every run. */
static unsigned test_rng_state = 12345u;
static unsigned test_rng(void)
{
    test_rng_state = test_rng_state * 1103515245u + 12345u;
    return (test_rng_state >> 16) & 0x7fffu;
}

/* n characters from alphabet, NUL-terminated; caller frees. */
static char *make_text(const char *alphabet, size_t n, int random)
{
    size_t k = strlen(alphabet);
    char *s = malloc(n + 1);
    if (!s)
        exit(2);
    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[random ? test_rng() % k : i % k];
    s[n] = '\0';
    return s;
}

/* Smallest version per (ecc, length) from the ISO/IEC 18004 alphanumeric
 * capacity table (e.g. 1-M holds 20, 2-M 38, 10-M 311, 14-M 528, 15-M 600,
 * 17-Q 531, 18-Q 574, 40-L 4296, 40-M 3391, 40-Q 2420, 40-H 1852).
 * version 0 = fits no version. */
static const struct {
    ecred_qr_ecc ecc;
    size_t n;
    int version;
} capacity_cases[] = {
    {ECRED_QR_ECC_M, 1, 1},     {ECRED_QR_ECC_M, 20, 1},    {ECRED_QR_ECC_M, 21, 2},
    {ECRED_QR_ECC_M, 38, 2},    {ECRED_QR_ECC_M, 39, 3},    {ECRED_QR_ECC_M, 61, 3},
    {ECRED_QR_ECC_M, 62, 4},    {ECRED_QR_ECC_M, 311, 10},  {ECRED_QR_ECC_M, 312, 11},
    {ECRED_QR_ECC_M, 528, 14},  {ECRED_QR_ECC_M, 529, 15},  {ECRED_QR_ECC_M, 600, 15},
    {ECRED_QR_ECC_M, 601, 16},  {ECRED_QR_ECC_M, 3391, 40}, {ECRED_QR_ECC_M, 3392, 0},
    {ECRED_QR_ECC_L, 25, 1},    {ECRED_QR_ECC_L, 26, 2},    {ECRED_QR_ECC_L, 4296, 40},
    {ECRED_QR_ECC_Q, 16, 1},    {ECRED_QR_ECC_Q, 17, 2},    {ECRED_QR_ECC_Q, 531, 17},
    {ECRED_QR_ECC_Q, 532, 18},  {ECRED_QR_ECC_Q, 574, 18},  {ECRED_QR_ECC_Q, 575, 19},
    {ECRED_QR_ECC_Q, 2420, 40}, {ECRED_QR_ECC_Q, 2421, 0},  {ECRED_QR_ECC_H, 10, 1},
    {ECRED_QR_ECC_H, 11, 2},    {ECRED_QR_ECC_H, 1852, 40}, {ECRED_QR_ECC_H, 1853, 0},
};

static void test_capacity_table(void)
{
    for (size_t i = 0; i < sizeof capacity_cases / sizeof capacity_cases[0]; i++) {
        char *s = make_text(ALNUM_NO_DIGITS, capacity_cases[i].n, 0);
        ecred_qr qr = {0, 0, NULL};
        ecred_err e = ecred_qr_encode(s, capacity_cases[i].n, capacity_cases[i].ecc, &qr);
        if (capacity_cases[i].version == 0) {
            CHECK_ERR(e, ECRED_ERR_TOO_LARGE);
            CHECK(qr.dark == NULL);
        } else {
            CHECK_ERR(e, ECRED_OK);
            CHECK(qr.version == capacity_cases[i].version);
            if (qr.version != capacity_cases[i].version)
                fprintf(stderr, "  case %zu: n=%zu ecc=%d got version %d want %d\n", i,
                        capacity_cases[i].n, (int)capacity_cases[i].ecc, qr.version,
                        capacity_cases[i].version);
            CHECK(qr.width == 17 + 4 * qr.version);
        }
        ecred_qr_free(&qr);
        free(s);
    }
}

static void test_encode(void)
{
    ecred_qr qr = {0, 0, NULL};
    /* A 560-char base45 text (a typical compressed credential): 15-M, 18-Q. */
    char *b45 = make_text(BASE45, 560, 1);
    CHECK_ERR(ecred_qr_encode(b45, 560, ECRED_QR_ECC_M, &qr), ECRED_OK);
    CHECK(qr.version == 15 && qr.width == 77);
    /* Finder pattern at the top left: dark ring, light ring, dark 3x3 centre.
     * This proves we copied bit 0 (dark), not the whole flag byte. */
    CHECK(qr.dark[0] == 1 && qr.dark[6] == 1 && qr.dark[6 * 77 + 6] == 1);
    CHECK(qr.dark[1 * 77 + 1] == 0 && qr.dark[1 * 77 + 5] == 0);
    CHECK(qr.dark[3 * 77 + 3] == 1 && qr.dark[7] == 0);
    ecred_qr_free(&qr);
    CHECK(qr.dark == NULL && qr.version == 0);
    CHECK_ERR(ecred_qr_encode(b45, 560, ECRED_QR_ECC_Q, &qr), ECRED_OK);
    CHECK(qr.version == 18);
    ecred_qr_free(&qr);
    free(b45);

    /* Over our cap, before libqrencode sees it. */
    char *big = make_text(ALNUM_NO_DIGITS, ECRED_QR_TEXT_MAX + 1, 0);
    CHECK_ERR(ecred_qr_encode(big, ECRED_QR_TEXT_MAX + 1, ECRED_QR_ECC_L, &qr), ECRED_ERR_TOO_LARGE);
    /* Under our cap but too much for M (libqrencode's ERANGE). */
    CHECK_ERR(ecred_qr_encode(big, ECRED_QR_TEXT_MAX, ECRED_QR_ECC_M, &qr), ECRED_ERR_TOO_LARGE);
    free(big);
    /* Lower case forces 8-bit mode: 2953 bytes is the 40-L byte capacity. */
    char *lower = make_text("abcdefghijklmnopqrstuvwxyz", 2954, 0);
    CHECK_ERR(ecred_qr_encode(lower, 2953, ECRED_QR_ECC_L, &qr), ECRED_OK);
    CHECK(qr.version == 40);
    ecred_qr_free(&qr);
    CHECK_ERR(ecred_qr_encode(lower, 2954, ECRED_QR_ECC_L, &qr), ECRED_ERR_TOO_LARGE);
    free(lower);

    CHECK_ERR(ecred_qr_encode("", 0, ECRED_QR_ECC_M, &qr), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_qr_encode("AB\0CD", 5, ECRED_QR_ECC_M, &qr), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_qr_encode("ABC", 3, (ecred_qr_ecc)4, &qr), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_encode("ABC", 3, (ecred_qr_ecc)-1, &qr), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_encode(NULL, 3, ECRED_QR_ECC_M, &qr), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_encode("ABC", 3, ECRED_QR_ECC_M, NULL), ECRED_ERR_ARG);
    CHECK(qr.dark == NULL); /* untouched by every failure above */
    ecred_qr_free(NULL);
}

/* Several threads encoding at once must all get the single-threaded result. */
struct thread_job {
    const char *text;
    const ecred_qr *want;
    int mismatches;
};

/* Thread body: encode the job's text 20 times, count differing results. */
static void *encode_thread(void *arg)
{
    struct thread_job *job = arg;
    for (int i = 0; i < 20; i++) {
        ecred_qr qr = {0, 0, NULL};
        if (ecred_qr_encode(job->text, strlen(job->text), ECRED_QR_ECC_M, &qr) != ECRED_OK ||
            qr.width != job->want->width ||
            memcmp(qr.dark, job->want->dark, (size_t)qr.width * (size_t)qr.width) != 0)
            job->mismatches++;
        ecred_qr_free(&qr);
    }
    return NULL;
}

static void test_threads(void)
{
    char *text = make_text(BASE45, 300, 1);
    ecred_qr want = {0, 0, NULL};
    CHECK_ERR(ecred_qr_encode(text, 300, ECRED_QR_ECC_M, &want), ECRED_OK);
    pthread_t threads[4];
    struct thread_job jobs[4];
    for (int i = 0; i < 4; i++) {
        jobs[i] = (struct thread_job){text, &want, 0};
        CHECK(pthread_create(&threads[i], NULL, encode_thread, &jobs[i]) == 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(jobs[i].mismatches == 0);
    }
    ecred_qr_free(&want);
    free(text);
}

/* Gray pixels of the symbol (0 dark, 255 light) as the test's own reference
 * rendering, independent of ecred_qr_png. Caller frees. */
static uint8_t *make_gray(const ecred_qr *qr, int scale, int margin, int *side_out)
{
    int side = (qr->width + 2 * margin) * scale;
    uint8_t *px = malloc((size_t)side * (size_t)side);
    if (!px)
        exit(2);
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int mx = x / scale - margin, my = y / scale - margin;
            int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
                       qr->dark[my * qr->width + mx];
            px[(size_t)y * (size_t)side + (size_t)x] = dark ? 0 : 255;
        }
    *side_out = side;
    return px;
}

/* PNG via libpng's simplified API in any of its formats. Caller frees. */
static ecred_buf write_png_simple(const void *pixels, int w, int h, png_uint_32 format,
                                  const void *colormap, png_uint_32 colormap_entries)
{
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = (png_uint_32)w;
    image.height = (png_uint_32)h;
    image.format = format;
    image.colormap_entries = colormap_entries;
    png_alloc_size_t size = 0;
    if (!png_image_write_get_memory_size(image, size, 0, pixels, 0, colormap)) {
        fprintf(stderr, "png size: %s\n", image.message);
        exit(2);
    }
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_buf_reserve(&b, size) != ECRED_OK)
        exit(2);
    if (!png_image_write_to_memory(&image, b.ptr, &size, 0, pixels, 0, colormap)) {
        fprintf(stderr, "png write: %s\n", image.message);
        exit(2);
    }
    b.len = size;
    return b;
}

/* libpng write callback of the test's own PNG writer. */
static void test_png_sink(png_structp png, png_bytep data, size_t len)
{
    if (ecred_buf_append(png_get_io_ptr(png), data, len) != ECRED_OK)
        png_error(png, "append");
}

/* Memory sink: nothing to flush. */
static void test_png_flush(png_structp png)
{
    (void)png;
}

/* Interlaced (Adam7) 8-bit gray PNG, which the simplified API cannot write. */
static ecred_buf write_png_interlaced(const uint8_t *gray, int w, int h)
{
    ecred_buf b = ECRED_BUF_INIT;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info || setjmp(png_jmpbuf(png)))
        exit(2);
    png_set_write_fn(png, &b, test_png_sink, test_png_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++)
            png_write_row(png, gray + (size_t)y * (size_t)w);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return b;
}

/* JPEG of gray pixels (as 1 or 3 components) at the given quality. Caller frees. */
static ecred_buf write_jpeg(const uint8_t *gray, int w, int h, int components, int quality)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr jerr;
    unsigned char *mem = NULL;
    unsigned long memlen = 0;
    c.err = jpeg_std_error(&jerr); /* exits on error: fine in a test */
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &memlen);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = components;
    c.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, quality, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * (size_t)components);
    if (!row)
        exit(2);
    while (c.next_scanline < c.image_height) {
        const uint8_t *src = gray + (size_t)c.next_scanline * (size_t)w;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < components; k++)
                row[(size_t)x * (size_t)components + (size_t)k] = src[x];
        JSAMPROW rows[1] = {row};
        jpeg_write_scanlines(&c, rows, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_buf_set(&b, mem, memlen) != ECRED_OK)
        exit(2);
    free(mem);
    return b;
}

/* Big-endian 32-bit field (PNG IHDR). */
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Scan must give back exactly text. */
static void check_scan(const ecred_buf *img, const char *text, const char *what)
{
    ecred_buf got = ECRED_BUF_INIT;
    ecred_err e = ecred_qr_scan_image(img->ptr, img->len, &got);
    CHECK_ERR(e, ECRED_OK);
    int same = e == ECRED_OK && got.len == strlen(text) && memcmp(got.ptr, text, got.len) == 0 &&
               got.ptr[got.len] == '\0';
    CHECK(same);
    if (!same)
        fprintf(stderr, "  scan of %s failed\n", what);
    ecred_buf_free(&got);
}

static void test_round_trips(void)
{
    char *b45 = make_text(BASE45, 550, 1);
    char *short45 = make_text(BASE45, 90, 1);
    const char *texts[] = {"A", "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KECTHGWJC0FDC:5AIA%G7X+AQB9746HS80:54IBQF60R6$A80X6S1BTYACG6M+9XG8KIAWNA91AY%67092L4WJCT3EHS8XJC$+DXJCCWENF6OF63W5NW6WF6%JC QE/IAYJC5LEW34U3ET7DXC9 QE-ED8%E.JCBECB1A-:8$96646AL60A60S6Q$D.UDRYA 96NF6L/5QW6307KQEPD09WEQDD+Q6TW6FA7C466KCN9E%961A6DL6FA7D46JPCT3E5JDLA7$Q6E464W5TG6..DX%DZJC6/DTZ9 QE5$CB$DA/D JC1/D3Z8WED1ECW.CCWE.Y92OAGY8MY9L+9MPCG/D5 C5IA5N9$PC5$CWW5%PE4JDN*9W/9F46M.",
                           "hello, world: lower case is 8-bit mode", short45, b45};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        ecred_qr qr = {0, 0, NULL};
        CHECK_ERR(ecred_qr_encode(texts[i], strlen(texts[i]), ECRED_QR_ECC_M, &qr), ECRED_OK);
        ecred_buf png = ECRED_BUF_INIT;
        CHECK_ERR(ecred_qr_png(&qr, 4, 4, &png), ECRED_OK);
        CHECK(png.len > 33 && memcmp(png.ptr, "\x89PNG\r\n\x1a\n", 8) == 0);
        /* IHDR: width and height are (modules + 2 * margin) * scale. */
        uint32_t side = (uint32_t)(qr.width + 8) * 4;
        CHECK(png.len > 33 && be32(png.ptr + 16) == side && be32(png.ptr + 20) == side);
        CHECK(png.len > 33 && png.ptr[24] == 8 && png.ptr[25] == 0); /* 8-bit gray */
        check_scan(&png, texts[i], "own PNG");

        int w = 0;
        uint8_t *gray = make_gray(&qr, 4, 4, &w);
        ecred_buf jpeg = write_jpeg(gray, w, w, 1, 90);
        check_scan(&jpeg, texts[i], "gray JPEG q90");
        ecred_buf_free(&jpeg);
        free(gray);
        ecred_buf_free(&png);
        ecred_qr_free(&qr);
    }
    free(short45);

    /* Other PNG flavours and a colour JPEG, all with the long base45 text. */
    ecred_qr qr = {0, 0, NULL};
    CHECK_ERR(ecred_qr_encode(b45, strlen(b45), ECRED_QR_ECC_M, &qr), ECRED_OK);
    int w = 0;
    uint8_t *gray = make_gray(&qr, 4, 4, &w);
    size_t count = (size_t)w * (size_t)w;

    /* Dark modules on a transparent background whose colour is black too: only
     * compositing onto white (not stripping alpha) makes this readable. */
    uint8_t *rgba = malloc(count * 4);
    uint8_t *index = malloc(count);
    uint16_t *linear = malloc(count * sizeof *linear);
    if (!rgba || !index || !linear)
        exit(2);
    for (size_t i = 0; i < count; i++) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = 0;
        rgba[4 * i + 3] = gray[i] ? 0 : 255;
        index[i] = gray[i] ? 1 : 0;
        linear[i] = gray[i] ? 65535 : 0;
    }
    ecred_buf b = write_png_simple(rgba, w, w, PNG_FORMAT_RGBA, NULL, 0);
    CHECK(b.ptr[25] == 6); /* colour type RGBA */
    check_scan(&b, b45, "transparent RGBA PNG");
    ecred_buf_free(&b);
    static const uint8_t palette[6] = {20, 30, 120, 250, 250, 210}; /* navy on cream */
    b = write_png_simple(index, w, w, PNG_FORMAT_RGB_COLORMAP, palette, 2);
    CHECK(b.ptr[25] == 3); /* colour type palette */
    check_scan(&b, b45, "palette PNG");
    ecred_buf_free(&b);
    b = write_png_simple(linear, w, w, PNG_FORMAT_LINEAR_Y, NULL, 0);
    CHECK(b.ptr[24] == 16); /* 16-bit */
    check_scan(&b, b45, "16-bit gray PNG");
    ecred_buf_free(&b);
    b = write_png_interlaced(gray, w, w);
    CHECK(b.ptr[28] == 1); /* Adam7 */
    check_scan(&b, b45, "interlaced PNG");
    ecred_buf_free(&b);
    b = write_jpeg(gray, w, w, 3, 90);
    check_scan(&b, b45, "colour JPEG q90");
    ecred_buf_free(&b);

    /* Straight from pixels. */
    ecred_buf got = ECRED_BUF_INIT;
    CHECK_ERR(ecred_qr_scan_gray(gray, w, w, &got), ECRED_OK);
    CHECK(got.len == strlen(b45) && memcmp(got.ptr, b45, got.len) == 0);
    ecred_buf_free(&got);

    free(linear);
    free(index);
    free(rgba);
    free(gray);
    ecred_qr_free(&qr);
    free(b45);
}

static void test_render_args(void)
{
    ecred_qr qr = {0, 0, NULL};
    CHECK_ERR(ecred_qr_encode("HC1:TEST", 8, ECRED_QR_ECC_M, &qr), ECRED_OK);
    ecred_buf out = ECRED_BUF_INIT;
    CHECK_ERR(ecred_buf_set(&out, "keep", 4), ECRED_OK);
    CHECK_ERR(ecred_qr_png(&qr, 0, 4, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_png(&qr, ECRED_QR_SCALE_MAX + 1, 4, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_png(&qr, 4, -1, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_png(&qr, 4, ECRED_QR_MARGIN_MAX + 1, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_png(&qr, 4, 4, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_png(NULL, 4, 4, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_svg(&qr, -1, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_svg(&qr, ECRED_QR_MARGIN_MAX + 1, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_utf8(&qr, -1, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_utf8(&qr, ECRED_QR_MARGIN_MAX + 1, &out), ECRED_ERR_ARG);
    /* A struct whose width does not match its version is refused, not read. */
    ecred_qr bad = qr;
    bad.width = 25;
    CHECK_ERR(ecred_qr_png(&bad, 4, 4, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_svg(&bad, 4, &out), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_utf8(&bad, 4, &out), ECRED_ERR_ARG);
    bad = qr;
    bad.version = 41;
    CHECK_ERR(ecred_qr_png(&bad, 4, 4, &out), ECRED_ERR_ARG);
    bad = qr;
    bad.dark = NULL;
    CHECK_ERR(ecred_qr_png(&bad, 4, 4, &out), ECRED_ERR_ARG);
    CHECK(out.len == 4 && memcmp(out.ptr, "keep", 4) == 0); /* untouched on error */

    /* Extremes of the ranges work, and replace the old contents. */
    CHECK_ERR(ecred_qr_png(&qr, ECRED_QR_SCALE_MAX, ECRED_QR_MARGIN_MAX, &out), ECRED_OK);
    CHECK(out.len > 24 && be32(out.ptr + 16) == (uint32_t)(qr.width + 32) * 64);
    check_scan(&out, "HC1:TEST", "scale 64 PNG");
    CHECK_ERR(ecred_qr_png(&qr, 1, 0, &out), ECRED_OK);
    CHECK(out.len > 24 && be32(out.ptr + 16) == (uint32_t)qr.width);
    ecred_buf_free(&out);
    ecred_qr_free(&qr);
}

static void test_svg(void)
{
    ecred_qr qr = {0, 0, NULL};
    char *text = make_text(BASE45, 200, 1);
    CHECK_ERR(ecred_qr_encode(text, 200, ECRED_QR_ECC_M, &qr), ECRED_OK);
    ecred_buf svg = ECRED_BUF_INIT;
    CHECK_ERR(ecred_qr_svg(&qr, 4, &svg), ECRED_OK);
    const char *s = (const char *)svg.ptr;
    CHECK(strncmp(s, "<?xml", 5) == 0 || strncmp(s, "<svg", 4) == 0);
    CHECK(strlen(s) == svg.len);
    char expect[64];
    int side = qr.width + 8;
    snprintf(expect, sizeof expect, "viewBox=\"0 0 %d %d\"", side, side);
    CHECK(strstr(s, expect) != NULL);
    CHECK(strstr(s, "shape-rendering=\"crispEdges\"") != NULL);
    CHECK(strstr(s, "<rect width=") != NULL);
    CHECK(strstr(s, "</svg>") != NULL);
    const char *path = strstr(s, "<path");
    CHECK(path != NULL && strstr(path + 1, "<path") == NULL); /* exactly one path */

    /* Paint the path's boxes into a grid: it must equal the matrix exactly
     * (every dark module covered once, no light module covered). */
    const char *d = path ? strstr(path, " d=\"") : NULL;
    CHECK(d != NULL);
    uint8_t *grid = calloc((size_t)side * (size_t)side, 1);
    if (!grid)
        exit(2);
    int ok = d != NULL;
    if (d) {
        d += 4;
        while (ok && *d == 'M') {
            int x, y, run, run2, used = 0;
            if (sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &run, &run2, &used) != 4 || used == 0 ||
                run != run2 || run < 1 || x < 4 || y < 4 || x + run > side - 4 || y >= side - 4) {
                ok = 0;
                break;
            }
            for (int k = 0; k < run; k++)
                grid[(size_t)y * (size_t)side + (size_t)(x + k)]++;
            d += used;
        }
        ok = ok && *d == '"';
    }
    CHECK(ok);
    int mismatch = 0;
    for (int y = 0; y < side; y++)
        for (int x = 0; x < side; x++) {
            int mx = x - 4, my = y - 4;
            int dark = mx >= 0 && my >= 0 && mx < qr.width && my < qr.width &&
                       qr.dark[my * qr.width + mx];
            if (grid[(size_t)y * (size_t)side + (size_t)x] != dark)
                mismatch++;
        }
    CHECK(mismatch == 0);
    free(grid);
    ecred_buf_free(&svg);
    ecred_qr_free(&qr);
    free(text);
}

/* Read one UTF-8 cell of the terminal rendering: returns bytes used, sets the
 * light flags of its top and bottom halves; 0 for anything unexpected. */
static int utf8_cell(const uint8_t *p, int *top_light, int *bottom_light)
{
    if (p[0] == ' ') {
        *top_light = *bottom_light = 0;
        return 1;
    }
    if (p[0] != 0xe2 || p[1] != 0x96)
        return 0;
    switch (p[2]) {
    case 0x88: *top_light = 1; *bottom_light = 1; return 3; /* full block */
    case 0x80: *top_light = 1; *bottom_light = 0; return 3; /* upper half */
    case 0x84: *top_light = 0; *bottom_light = 1; return 3; /* lower half */
    default: return 0;
    }
}

static void test_utf8(void)
{
    const int margins[] = {0, 1, 4};
    ecred_qr qr = {0, 0, NULL};
    CHECK_ERR(ecred_qr_encode("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH", 37, ECRED_QR_ECC_Q, &qr), ECRED_OK);
    for (size_t m = 0; m < sizeof margins / sizeof margins[0]; m++) {
        int margin = margins[m];
        int side = qr.width + 2 * margin;
        ecred_buf out = ECRED_BUF_INIT;
        CHECK_ERR(ecred_qr_utf8(&qr, margin, &out), ECRED_OK);
        CHECK(out.ptr[out.len] == '\0');
        int lines = 0;
        for (size_t i = 0; i < out.len; i++)
            lines += out.ptr[i] == '\n';
        CHECK(lines == (side + 1) / 2);
        CHECK(out.len > 0 && out.ptr[out.len - 1] == '\n');
        /* Decode back: light halves must be exactly the light modules (the
         * rendering is inverted), and past the last odd row stays background. */
        const uint8_t *p = out.ptr;
        int mismatch = 0;
        for (int line = 0; line < lines; line++) {
            for (int x = 0; x < side; x++) {
                int top, bottom, used = utf8_cell(p, &top, &bottom);
                if (!used) {
                    mismatch++;
                    break;
                }
                p += used;
                for (int half = 0; half < 2; half++) {
                    int y = 2 * line + half;
                    int mx = x - margin, my = y - margin;
                    int want_light = y < side && !(mx >= 0 && my >= 0 && mx < qr.width &&
                                                   my < qr.width && qr.dark[my * qr.width + mx]);
                    if ((half ? bottom : top) != want_light)
                        mismatch++;
                }
            }
            if (*p != '\n') {
                mismatch++;
                break;
            }
            p++;
        }
        CHECK(mismatch == 0);
        CHECK(p == out.ptr + out.len);
        ecred_buf_free(&out);
    }
    ecred_qr_free(&qr);
}

/* Append one PNG chunk with its CRC. */
static void put_chunk(ecred_buf *b, const char *type, const uint8_t *data, uint32_t len)
{
    uint8_t hdr[8] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
    memcpy(hdr + 4, type, 4);
    uLong crc = crc32(0L, (const Bytef *)type, 4);
    if (len)
        crc = crc32(crc, data, len);
    uint8_t tail[4] = {(uint8_t)(crc >> 24), (uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
    ecred_buf_append(b, hdr, 8);
    ecred_buf_append(b, data, len);
    ecred_buf_append(b, tail, 4);
}

/* A PNG whose IHDR declares w x h 8-bit gray, followed by a tiny IDAT and IEND:
 * valid up to the point where pixel data would have to fill the image. */
static ecred_buf craft_png(uint32_t w, uint32_t h)
{
    ecred_buf b = ECRED_BUF_INIT;
    ecred_buf_append(&b, "\x89PNG\r\n\x1a\n", 8);
    uint8_t ihdr[13] = {(uint8_t)(w >> 24), (uint8_t)(w >> 16), (uint8_t)(w >> 8), (uint8_t)w,
                        (uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h,
                        8, 0, 0, 0, 0};
    put_chunk(&b, "IHDR", ihdr, 13);
    static const uint8_t idat[] = {0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01};
    put_chunk(&b, "IDAT", idat, sizeof idat);
    put_chunk(&b, "IEND", NULL, 0);
    return b;
}

/* Scan must fail with want and leave the output buffer untouched. */
static void check_scan_err(const uint8_t *p, size_t n, ecred_err want, const char *what)
{
    ecred_buf got = ECRED_BUF_INIT;
    ecred_buf_set(&got, "keep", 4);
    ecred_err e = ecred_qr_scan_image(p, n, &got);
    CHECK_ERR(e, want);
    if (e != want)
        fprintf(stderr, "  case: %s (len %zu)\n", what, n);
    CHECK(got.len == 4 && memcmp(got.ptr, "keep", 4) == 0);
    ecred_buf_free(&got);
}

static void test_rejections(void)
{
    ecred_qr qr = {0, 0, NULL};
    const char *text = "HC1:6BF+70790T9WJWG.FKY*4GO0.O1CV2 O5 N2FBBRW1*70HS8WY04AC*WIFN0AHCD8KD97TK0F90KEC";
    CHECK_ERR(ecred_qr_encode(text, strlen(text), ECRED_QR_ECC_M, &qr), ECRED_OK);
    ecred_buf png = ECRED_BUF_INIT;
    CHECK_ERR(ecred_qr_png(&qr, 4, 4, &png), ECRED_OK);
    int w = 0;
    uint8_t *gray = make_gray(&qr, 4, 4, &w);
    ecred_buf jpeg = write_jpeg(gray, w, w, 1, 90);

    /* Truncated PNG: every cut, including just before IEND, is corrupt. */
    const size_t png_cuts[] = {0, 1, 3, 4, 8, 16, 33, 40, png.len / 4, png.len / 2, png.len - 13,
                               png.len - 12, png.len - 1};
    for (size_t i = 0; i < sizeof png_cuts / sizeof png_cuts[0]; i++)
        check_scan_err(png.ptr, png_cuts[i], ECRED_ERR_INPUT, "truncated PNG");
    /* Any single flipped byte past the magic breaks a CRC, the signature or zlib. */
    ecred_buf flip = ECRED_BUF_INIT;
    ecred_buf_set(&flip, png.ptr, png.len);
    int flip_failures = 0;
    for (size_t i = 4; i < png.len; i++) {
        flip.ptr[i] ^= 0x55;
        ecred_buf got = ECRED_BUF_INIT;
        if (ecred_qr_scan_image(flip.ptr, flip.len, &got) != ECRED_ERR_INPUT) {
            flip_failures++;
            fprintf(stderr, "  flipped PNG byte %zu was accepted\n", i);
        }
        ecred_buf_free(&got);
        flip.ptr[i] ^= 0x55;
    }
    CHECK(flip_failures == 0);
    ecred_buf_free(&flip);

    /* Truncated JPEG: cuts in the headers and early in the scan lose the code. */
    const size_t jpeg_cuts[] = {0, 2, 3, 4, 10, 50, 100, 200, jpeg.len / 4, jpeg.len / 2};
    for (size_t i = 0; i < sizeof jpeg_cuts / sizeof jpeg_cuts[0]; i++)
        check_scan_err(jpeg.ptr, jpeg_cuts[i], ECRED_ERR_INPUT, "truncated JPEG");
    /* Cut near the end libjpeg pads and warns; whatever zbar makes of it, the
     * answer is the exact text or INPUT, never a crash or garbage. */
    for (size_t cut = jpeg.len - 64; cut < jpeg.len; cut += 7) {
        ecred_buf got = ECRED_BUF_INIT;
        ecred_err e = ecred_qr_scan_image(jpeg.ptr, cut, &got);
        CHECK(e == ECRED_ERR_INPUT ||
              (e == ECRED_OK && got.len == strlen(text) && memcmp(got.ptr, text, got.len) == 0));
        ecred_buf_free(&got);
    }

    /* Random bytes, bare and behind each magic. */
    uint8_t noise[4096];
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < sizeof noise; i++)
            noise[i] = (uint8_t)test_rng();
        check_scan_err(noise, sizeof noise, ECRED_ERR_INPUT, "random bytes");
        memcpy(noise, "\x89PNG\r\n\x1a\n", 8);
        check_scan_err(noise, sizeof noise, ECRED_ERR_INPUT, "random after PNG signature");
        check_scan_err(noise, 4, ECRED_ERR_INPUT, "PNG magic only");
        memcpy(noise, "\xff\xd8\xff\xe0", 4);
        check_scan_err(noise, sizeof noise, ECRED_ERR_INPUT, "random after JPEG SOI");
        check_scan_err(noise, 3, ECRED_ERR_INPUT, "JPEG magic only");
        /* Garbage in the middle of a real file (a hit on the frame size may
         * also make it too large). */
        ecred_buf mangled = ECRED_BUF_INIT;
        ecred_buf_set(&mangled, jpeg.ptr, jpeg.len);
        for (size_t i = 0; i < 64 && i < mangled.len; i++)
            mangled.ptr[(size_t)test_rng() % mangled.len] = (uint8_t)test_rng();
        ecred_buf got = ECRED_BUF_INIT;
        ecred_err e = ecred_qr_scan_image(mangled.ptr, mangled.len, &got);
        CHECK(e == ECRED_ERR_INPUT || e == ECRED_ERR_TOO_LARGE ||
              (e == ECRED_OK && got.len == strlen(text) && memcmp(got.ptr, text, got.len) == 0));
        ecred_buf_free(&got);
        ecred_buf_free(&mangled);
    }
    check_scan_err((const uint8_t *)"GIF89a", 6, ECRED_ERR_INPUT, "GIF");

    /* Valid images with no QR code in them. */
    uint8_t *blank = malloc(200 * 200);
    if (!blank)
        exit(2);
    memset(blank, 255, 200 * 200);
    ecred_buf img = write_png_simple(blank, 200, 200, PNG_FORMAT_GRAY, NULL, 0);
    check_scan_err(img.ptr, img.len, ECRED_ERR_INPUT, "blank PNG");
    ecred_buf_free(&img);
    for (size_t i = 0; i < 200 * 200; i++)
        blank[i] = (uint8_t)test_rng();
    img = write_jpeg(blank, 200, 200, 1, 90);
    check_scan_err(img.ptr, img.len, ECRED_ERR_INPUT, "noise JPEG");
    ecred_buf_free(&img);
    ecred_buf got = ECRED_BUF_INIT;
    CHECK_ERR(ecred_qr_scan_gray(blank, 200, 200, &got), ECRED_ERR_INPUT);
    free(blank);

    /* Declared dimensions beyond the caps: refused before any pixel buffer. */
    const struct {
        uint32_t w, h;
        ecred_err want;
    } dims[] = {
        {100000, 100000, ECRED_ERR_TOO_LARGE},   {ECRED_QR_SCAN_SIDE_MAX + 1, 1, ECRED_ERR_TOO_LARGE},
        {1, ECRED_QR_SCAN_SIDE_MAX + 1, ECRED_ERR_TOO_LARGE}, {7000, 7000, ECRED_ERR_TOO_LARGE},
        {2000000, 2000000, ECRED_ERR_TOO_LARGE}, {0x7fffffff, 0x7fffffff, ECRED_ERR_TOO_LARGE},
        /* Within the caps, then the tiny IDAT cannot fill the image: corrupt. */
        {8000, 5000, ECRED_ERR_INPUT},           {64, 64, ECRED_ERR_INPUT},
        /* Zero and over 2^31-1 are invalid PNG, not large. */
        {0, 10, ECRED_ERR_INPUT},                {0x80000000u, 1, ECRED_ERR_INPUT},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        ecred_buf crafted = craft_png(dims[i].w, dims[i].h);
        check_scan_err(crafted.ptr, crafted.len, dims[i].want, "crafted IHDR");
        ecred_buf_free(&crafted);
    }
    /* Same for JPEG: patch the SOF0 frame size of a real file. */
    const struct {
        uint16_t w, h;
        ecred_err want;
    } jpeg_dims[] = {
        {9000, 9000, ECRED_ERR_TOO_LARGE}, {65500, 65500, ECRED_ERR_TOO_LARGE},
        {8001, 100, ECRED_ERR_TOO_LARGE},  {7000, 7000, ECRED_ERR_TOO_LARGE},
        /* Past libjpeg's JPEG_MAX_DIMENSION (65500): the library refuses it. */
        {65535, 65535, ECRED_ERR_INPUT},   {0, 100, ECRED_ERR_INPUT},
    };
    for (size_t k = 0; k < sizeof jpeg_dims / sizeof jpeg_dims[0]; k++) {
        ecred_buf patched = ECRED_BUF_INIT;
        ecred_buf_set(&patched, jpeg.ptr, jpeg.len);
        int found = 0;
        for (size_t i = 2; i + 9 < patched.len; i++)
            if (patched.ptr[i] == 0xff && patched.ptr[i + 1] == 0xc0) {
                patched.ptr[i + 5] = (uint8_t)(jpeg_dims[k].h >> 8);
                patched.ptr[i + 6] = (uint8_t)jpeg_dims[k].h;
                patched.ptr[i + 7] = (uint8_t)(jpeg_dims[k].w >> 8);
                patched.ptr[i + 8] = (uint8_t)jpeg_dims[k].w;
                found = 1;
                break;
            }
        CHECK(found);
        check_scan_err(patched.ptr, patched.len, jpeg_dims[k].want, "patched SOF0");
        ecred_buf_free(&patched);
    }

    /* Caller mistakes and the byte cap. */
    CHECK_ERR(ecred_qr_scan_image(NULL, 10, &got), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_scan_image(png.ptr, png.len, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_scan_image(png.ptr, ECRED_QR_IMAGE_BYTES_MAX + 1, &got), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_qr_scan_gray(gray, 0, w, &got), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_scan_gray(gray, w, -1, &got), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_scan_gray(NULL, w, w, &got), ECRED_ERR_ARG);
    CHECK_ERR(ecred_qr_scan_gray(gray, ECRED_QR_SCAN_SIDE_MAX + 1, 1, &got), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_qr_scan_gray(gray, 7000, 7000, &got), ECRED_ERR_TOO_LARGE);
    CHECK(got.ptr == NULL);

    ecred_buf_free(&jpeg);
    free(gray);
    ecred_buf_free(&png);
    ecred_qr_free(&qr);
}

int main(void)
{
    test_capacity_table();
    test_encode();
    test_threads();
    test_round_trips();
    test_render_args();
    test_svg();
    test_utf8();
    test_rejections();
    return check_finish();
}
