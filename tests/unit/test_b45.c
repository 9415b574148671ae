/*
 * test_b45.c - base45 (RFC 9285): vectors from tests/vectors/b45/ both ways,
 * every rejection path, every byte value as a character, size caps, and a
 * seeded random round trip. Each vector line is its own CHECK.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/b45.h"

static const char ALPHABET[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";





/* Expand \xHH escapes of the invalid-vector format into raw bytes, in place.
 * Returns the resulting length (the text may now contain NUL bytes). */
static size_t unescape(char *s)
{
    size_t r = 0, w = 0, n = strlen(s);
    while (r < n) {
        if (s[r] == '\\' && r + 3 < n && s[r + 1] == 'x') {
            uint8_t byte;
            if (ecred_unhex(s + r + 2, 2, &byte, 1) != ECRED_OK) {
                fprintf(stderr, "bad escape in test data: %s\n", s);
                exit(2);
            }
            s[w++] = (char)byte;
            r += 4;
        } else {
            s[w++] = s[r++];
        }
    }
    return w;
}

static void test_valid_vectors(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/b45/valid.txt");
    char *cursor = (char *)file.ptr, *line;
    int cases = 0;
    while ((line = check_next_line(&cursor)) != NULL) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            fprintf(stderr, "malformed vector line: %s\n", line);
            exit(2);
        }
        *tab = 0;
        const char *text = tab + 1;
        ecred_buf bytes = check_hex(line);
        cases++;

        ecred_buf enc = ECRED_BUF_INIT, dec = ECRED_BUF_INIT;
        ecred_err e = ecred_b45_encode(bytes.ptr, bytes.len, &enc);
        CHECK_ERR(e, ECRED_OK);
        if (!e) {
            int same = enc.len == strlen(text) && memcmp(enc.ptr, text, enc.len) == 0 &&
                       enc.ptr[enc.len] == 0;
            if (!same)
                fprintf(stderr, "encode %s: got '%.*s', want '%s'\n", line, (int)enc.len,
                        (const char *)enc.ptr, text);
            CHECK(same);
        }
        e = ecred_b45_decode(text, strlen(text), &dec);
        CHECK_ERR(e, ECRED_OK);
        if (!e) {
            int same = dec.len == bytes.len && (bytes.len == 0 || memcmp(dec.ptr, bytes.ptr, bytes.len) == 0);
            if (!same)
                fprintf(stderr, "decode '%s' does not give %s\n", text, line);
            CHECK(same);
        }
        ecred_buf_free(&enc);
        ecred_buf_free(&dec);
        ecred_buf_free(&bytes);
    }
    /* The four RFC examples plus the edges: a short file means lost vectors. */
    CHECK(cases >= 17);
    ecred_buf_free(&file);
}

static void test_invalid_vectors(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/b45/invalid.txt");
    char *cursor = (char *)file.ptr, *line;
    int cases = 0;
    while ((line = check_next_line(&cursor)) != NULL) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *tab1 = strchr(line, '\t');
        char *tab2 = tab1 ? strchr(tab1 + 1, '\t') : NULL;
        if (!tab1 || !tab2) {
            fprintf(stderr, "malformed vector line: %s\n", line);
            exit(2);
        }
        *tab1 = 0;
        *tab2 = 0;
        const char *want = tab1 + 1, *why = tab2 + 1;
        size_t n = unescape(line);
        cases++;

        check_sentinel out;
        check_sentinel_init(&out);
        ecred_err e = ecred_b45_decode(line, n, &out.buf);
        int ok = e != ECRED_OK && strcmp(ecred_err_name(e), want) == 0;
        if (!ok)
            fprintf(stderr, "invalid vector (%s): got %s, want %s\n", why, ecred_err_name(e), want);
        CHECK(ok);
        CHECK(check_sentinel_intact(&out));
        ecred_buf_free(&out.buf);
    }
    CHECK(cases >= 30);
    ecred_buf_free(&file);
}

/* Every byte value as the first character of a triple "c00": accepted exactly
 * when it is in the alphabet, decoding to its table index. */
static void test_every_character(void)
{
    int accepted = 0;
    for (int c = 0; c < 256; c++) {
        char text[3] = {(char)c, '0', '0'};
        const char *pos = c ? strchr(ALPHABET, c) : NULL;
        check_sentinel out;
        check_sentinel_init(&out);
        ecred_err e = ecred_b45_decode(text, 3, &out.buf);
        if (pos) {
            unsigned want = (unsigned)(pos - ALPHABET);
            CHECK(e == ECRED_OK && out.buf.len == 2 && out.buf.ptr[0] == 0 && out.buf.ptr[1] == want);
            accepted += e == ECRED_OK;
        } else {
            CHECK_ERR(e, ECRED_ERR_BASE45);
            CHECK(check_sentinel_intact(&out));
        }
        ecred_buf_free(&out.buf);
    }
    CHECK(accepted == 45);
}

/* Lengths from the wire are checked before anything is read or allocated: a
 * lying length far past what the pointer covers must fail on the length alone. */
static void test_caps_and_args(void)
{
    check_sentinel out;
    check_sentinel_init(&out);
    /* ECRED_BUF_MAX + 2 is 0 mod 3, so only the size cap can refuse it. */
    CHECK_ERR(ecred_b45_decode("BB8", ECRED_BUF_MAX + 2, &out.buf), ECRED_ERR_TOO_LARGE);
    CHECK(check_sentinel_intact(&out));
    CHECK_ERR(ecred_b45_decode("BB8", SIZE_MAX, &out.buf), ECRED_ERR_TOO_LARGE);
    CHECK(check_sentinel_intact(&out));
    /* ECRED_BUF_MAX input bytes would need 1.5 times that much text. */
    CHECK_ERR(ecred_b45_encode((const uint8_t *)"AB", ECRED_BUF_MAX, &out.buf), ECRED_ERR_TOO_LARGE);
    CHECK(check_sentinel_intact(&out));
    CHECK_ERR(ecred_b45_encode((const uint8_t *)"AB", SIZE_MAX, &out.buf), ECRED_ERR_TOO_LARGE);
    CHECK(check_sentinel_intact(&out));
    CHECK_ERR(ecred_b45_encode(NULL, 2, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_b45_decode(NULL, 3, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_b45_encode((const uint8_t *)"AB", 2, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_b45_decode("BB8", 3, NULL), ECRED_ERR_ARG);
    CHECK(check_sentinel_intact(&out));
    /* The text need not be NUL-terminated: only n characters are read. */
    CHECK_ERR(ecred_b45_decode("BB8GGW", 3, &out.buf), ECRED_OK);
    CHECK(out.buf.len == 2 && memcmp(out.buf.ptr, "AB", 2) == 0);
    ecred_buf_free(&out.buf);
}

/* xorshift64*: a fixed, libc-independent sequence so failures reproduce. */
static uint64_t rng_state = 0x45e2d1c0ffee1234u;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

static void test_random_round_trip(void)
{
    uint8_t data[600];
    int failures = 0;
    for (int i = 0; i < 1000; i++) {
        size_t n = (size_t)(rng_next() % 601);
        for (size_t k = 0; k < n; k++)
            data[k] = (uint8_t)(rng_next() >> 56);
        ecred_buf text = ECRED_BUF_INIT, back = ECRED_BUF_INIT;
        int ok = ecred_b45_encode(data, n, &text) == ECRED_OK &&
                 text.len == 3 * (n / 2) + 2 * (n % 2) &&
                 strspn((const char *)text.ptr, ALPHABET) == text.len &&
                 ecred_b45_decode((const char *)text.ptr, text.len, &back) == ECRED_OK &&
                 back.len == n && (n == 0 || memcmp(back.ptr, data, n) == 0);
        if (!ok && failures++ < 5)
            fprintf(stderr, "random round trip %d (length %zu) failed\n", i, n);
        ecred_buf_free(&text);
        ecred_buf_free(&back);
    }
    CHECK(failures == 0);
}

int main(void)
{
    test_valid_vectors();
    test_invalid_vectors();
    test_every_character();
    test_caps_and_args();
    test_random_round_trip();
    return check_finish();
}
