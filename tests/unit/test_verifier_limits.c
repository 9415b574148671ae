/*
 * test_verifier_limits.c - the verify API's per-key rate limit
 * (verifier/ratelimit.c: a bucket of one minute's allowance, exact refill,
 * Retry-After seconds, keys apart, a full table, --rate parsing) and the
 * photo route's size checks (verifier/scanimg.c: PNG and JPEG headers read
 * without decoding, cut or hostile headers refused, caps before decoding,
 * the test photos decoded).
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ratelimit.h"
#include "scanimg.h"

static void test_bucket(void)
{
    vrate *r = NULL;
    CHECK_ERR(vrate_new(120, &r), ECRED_OK);
    int64_t t = 1000000;
    unsigned passed = 0, wait = 0;
    for (int i = 0; i < 200; i++) {
        unsigned w = vrate_take(r, 0x1a2b3c4d, 1, t);
        if (w == 0)
            passed++;
        else if (!wait)
            wait = w;
    }
    CHECK(passed == 120);        /* one minute's allowance at once */
    CHECK(wait == 1);            /* 120/min: the next token in 0.5 s -> 1 s */
    CHECK(vrate_take(r, 0x1a2b3c4d, 1, t + 499) != 0);
    CHECK(vrate_take(r, 0x1a2b3c4d, 1, t + 500) == 0);
    /* Another key has its own bucket. */
    CHECK(vrate_take(r, 0x11111111, 1, t) == 0);
    /* Frequent requests still see the refill (no rounding loss): one request
     * a millisecond for 10 s gets 20 tokens through at 120/min. */
    passed = 0;
    for (int64_t ms = 1; ms <= 10000; ms++)
        passed += vrate_take(r, 0x1a2b3c4d, 1, t + 500 + ms) == 0;
    CHECK(passed == 20);
    /* A clock that goes back refills nothing. */
    CHECK(vrate_take(r, 0x1a2b3c4d, 1, t) != 0);
    /* A full minute later the bucket is full again, and no fuller. */
    passed = 0;
    for (int i = 0; i < 200; i++)
        passed += vrate_take(r, 0x1a2b3c4d, 1, t + 10000 + 3600000) == 0;
    CHECK(passed == 120);
    /* Costs: a photo may cost more than a text; more than the bucket never passes. */
    CHECK(vrate_take(r, 0x22222222, 100, t) == 0);
    CHECK(vrate_take(r, 0x22222222, 100, t) == 40); /* 80 missing tokens at 2/s */
    CHECK(vrate_take(r, 0x22222222, 121, t + 3600000) == 60);
    vrate_free(r);

    /* Slow rates: 1/min waits a minute. */
    CHECK_ERR(vrate_new(1, &r), ECRED_OK);
    CHECK(vrate_take(r, 7, 1, 0) == 0);
    CHECK(vrate_take(r, 7, 1, 0) == 60);
    CHECK(vrate_take(r, 7, 1, 59999) == 1);
    CHECK(vrate_take(r, 7, 1, 60000) == 0);
    vrate_free(r);

    /* 0: no limit. */
    CHECK_ERR(vrate_new(0, &r), ECRED_OK);
    for (int i = 0; i < 10000; i++)
        CHECK(vrate_take(r, 7, 1, 0) == 0);
    vrate_free(r);
    CHECK_ERR(vrate_new(VRATE_PER_MINUTE_MAX + 1, &r), ECRED_ERR_ARG);
    vrate_free(NULL);
}

static void test_full_table(void)
{
    vrate *r = NULL;
    CHECK_ERR(vrate_new(10, &r), ECRED_OK);
    /* More keys than slots: each still gets its allowance, and a key that
     * spent its bucket is not the one evicted while fuller ones exist. */
    CHECK(vrate_take(r, 0xdead, 10, 0) == 0);
    for (uint32_t k = 1; k <= VRATE_SLOTS + 100; k++)
        CHECK(vrate_take(r, k, 1, 0) == 0);
    CHECK(vrate_take(r, 0xdead, 1, 0) != 0);
    vrate_free(r);
}

static void test_parse(void)
{
    unsigned v = 99;
    CHECK_ERR(vrate_parse("120/min", &v), ECRED_OK);
    CHECK(v == 120);
    CHECK_ERR(vrate_parse("0", &v), ECRED_OK);
    CHECK(v == 0);
    CHECK_ERR(vrate_parse("600000", &v), ECRED_OK);
    const char *bad[] = {"", "/min", "-1", "+5", " 5", "5 ", "5/s", "5/minute", "600001", "99999999999999999999",
                         "1e3", "0x10"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(vrate_parse(bad[i], &v), ECRED_ERR_INPUT);
}

static void test_images(void)
{
    uint32_t w = 0, h = 0;
    ecred_buf png = check_read_source_file("tests/vectors/images/permit-screenshot.png");
    ecred_buf jpg = check_read_source_file("tests/vectors/images/permit-photo.jpg");
    CHECK_ERR(scanimg_dimensions(png.ptr, png.len, &w, &h), ECRED_OK);
    CHECK(w > 0 && h > 0);
    CHECK_ERR(scanimg_dimensions(jpg.ptr, jpg.len, &w, &h), ECRED_OK);
    CHECK(w > 0 && h > 0);
    ecred_buf text = ECRED_BUF_INIT;
    CHECK_ERR(scanimg_decode(png.ptr, png.len, &text), ECRED_OK);
    CHECK(text.len > 4 && memcmp(text.ptr, "RC1:", 4) == 0);
    CHECK_ERR(scanimg_decode(jpg.ptr, jpg.len, &text), ECRED_OK);
    CHECK(text.len > 4 && memcmp(text.ptr, "RC1:", 4) == 0);
    ecred_buf_free(&text);
    /* Every cut of each header is refused, never read past. */
    for (size_t n = 0; n < 24; n++)
        CHECK_ERR(scanimg_dimensions(png.ptr, n, &w, &h), ECRED_ERR_INPUT);
    size_t refused = 0;
    for (size_t n = 0; n < 700 && n < jpg.len; n++)
        refused += scanimg_dimensions(jpg.ptr, n, &w, &h) == ECRED_ERR_INPUT;
    CHECK(refused > 0);
    /* Declared sizes over the caps: refused before any pixel is decoded (the
     * rest of the file is garbage, so decoding would fail otherwise). */
    uint8_t big[64];
    memcpy(big, png.ptr, 33);
    big[16] = 0, big[17] = 0, big[18] = 0x10, big[19] = 0x01; /* width 4097 */
    CHECK_ERR(scanimg_decode(big, sizeof big, &text), ECRED_ERR_TOO_LARGE);
    big[18] = 0x0f, big[19] = 0xa0;                            /* 4000 x 4000 = 16 MP */
    big[20] = 0, big[21] = 0, big[22] = 0x0f, big[23] = 0xa0;
    CHECK_ERR(scanimg_decode(big, sizeof big, &text), ECRED_ERR_TOO_LARGE);
    big[18] = 0, big[19] = 0;                                   /* width 0 */
    CHECK_ERR(scanimg_decode(big, sizeof big, &text), ECRED_ERR_INPUT);
    const uint8_t sof[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x0b, 0x08,
                           0x20, 0x00, 0x20, 0x00, 0x01, 0x01, 0x11, 0x00};   /* 8192 x 8192 */
    CHECK_ERR(scanimg_dimensions(sof, sizeof sof, &w, &h), ECRED_OK);
    CHECK(w == 8192 && h == 8192);
    CHECK_ERR(scanimg_decode(sof, sizeof sof, &text), ECRED_ERR_TOO_LARGE);
    const uint8_t badlen[] = {0xff, 0xd8, 0xff, 0xe0, 0xff, 0xff, 0x00};
    CHECK_ERR(scanimg_dimensions(badlen, sizeof badlen, &w, &h), ECRED_ERR_INPUT);
    CHECK_ERR(scanimg_decode((const uint8_t *)"GIF89a......", 12, &text), ECRED_ERR_INPUT);
    CHECK(text.len == 0);
    ecred_buf_free(&png);
    ecred_buf_free(&jpg);
}

int main(void)
{
    test_bucket();
    test_full_table();
    test_parse();
    test_images();
    return check_finish();
}
