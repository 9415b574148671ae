/*
 * test_zcap.c - zlib with caps and preset dictionaries: the IETF status list
 * vectors reproduced at level 9, dictionary streams made by stock zlib, every
 * rejection in tests/vectors/zlib/invalid.txt, a zlib bomb against the output
 * cap, truncation at every length, bit flips, and round trips at every level
 * (ECRED_ZLIB_RLE included).
 * Every failing call must leave its `out` exactly as it was.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ecred/zcap.h"
#include "ecred/qrtext.h"




static const ecred_span NO_DICT = {NULL, 0};


/* Split a line at tabs into exactly `want` fields; aborts on malformed data. */
static void split_fields(char *line, char **fields, int want)
{
    for (int i = 0; i < want; i++) {
        fields[i] = line;
        char *tab = strchr(line, '\t');
        if (i < want - 1) {
            if (!tab) {
                fprintf(stderr, "malformed vector line (want %d fields)\n", want);
                exit(2);
            }
            *tab = 0;
            line = tab + 1;
        }
    }
}

static int buf_equals(const ecred_buf *b, const ecred_buf *want)
{
    return b->len == want->len && (want->len == 0 || memcmp(b->ptr, want->ptr, want->len) == 0);
}

/* Inflate expecting failure `want`; checks the error and that out is untouched. */
static void expect_inflate_error(const uint8_t *in, size_t n, size_t max_out, ecred_span dict,
                                 ecred_err want)
{
    check_sentinel out;
    check_sentinel_init(&out);
    CHECK_ERR(ecred_zlib_inflate(in, n, max_out, dict, &out.buf), want);
    CHECK(check_sentinel_intact(&out));
    ecred_buf_free(&out.buf);
}

/* The IETF Token Status List "lst" values: inflate exactly at the cap, one byte
 * under the cap fails, and level 9 reproduces the bytes. */
static void test_ietf_status_lists(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/zlib/ietf_status_lists.txt");
    char *cursor = (char *)file.ptr, *line;
    int cases = 0;
    while ((line = check_next_line(&cursor)) != NULL) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *f[4];
        split_fields(line, f, 4);
        size_t raw_len = (size_t)strtoul(f[1], NULL, 10);
        ecred_buf lst = check_hex(f[3]);
        cases++;

        ecred_buf raw = ECRED_BUF_INIT, again = ECRED_BUF_INIT;
        CHECK_ERR(ecred_zlib_inflate(lst.ptr, lst.len, raw_len, NO_DICT, &raw), ECRED_OK);
        CHECK(raw.len == raw_len);
        if (strcmp(f[2], "-") != 0) {
            ecred_buf want = check_hex(f[2]);
            CHECK(buf_equals(&raw, &want));
            ecred_buf_free(&want);
        }
        CHECK_ERR(ecred_zlib_compress(raw.ptr, raw.len, 9, NO_DICT, &again), ECRED_OK);
        if (!buf_equals(&again, &lst))
            fprintf(stderr, "level 9 does not reproduce %s\n", f[0]);
        CHECK(buf_equals(&again, &lst));
        expect_inflate_error(lst.ptr, lst.len, raw_len - 1, NO_DICT, ECRED_ERR_TOO_LARGE);
        ecred_buf_free(&raw);
        ecred_buf_free(&again);
        ecred_buf_free(&lst);
    }
    CHECK(cases == 6);
    ecred_buf_free(&file);

    /* The draft's smallest example spelled out: b9 a3 at level 9. */
    static const uint8_t raw[] = {0xb9, 0xa3};
    static const uint8_t lst[] = {0x78, 0xda, 0xdb, 0xb9, 0x18, 0x00, 0x02, 0x17, 0x01, 0x5d};
    ecred_buf z = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(raw, sizeof raw, 9, NO_DICT, &z), ECRED_OK);
    CHECK(z.len == sizeof lst && memcmp(z.ptr, lst, sizeof lst) == 0);
    ecred_buf_free(&z);
}

/* Streams with a preset dictionary made by stock zlib: we produce the same
 * bytes, announce the right DICTID, and inflate them only with that dictionary. */
static void test_dictionary_vectors(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/zlib/dict.txt");
    char *cursor = (char *)file.ptr, *line;
    int cases = 0;
    while ((line = check_next_line(&cursor)) != NULL) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *f[4];
        split_fields(line, f, 4);
        int level = atoi(f[0]);
        ecred_buf dict = check_hex(f[1]), input = check_hex(f[2]), stream = check_hex(f[3]);
        ecred_span d = ecred_buf_span(&dict);
        cases++;

        ecred_buf z = ECRED_BUF_INIT, back = ECRED_BUF_INIT;
        CHECK_ERR(ecred_zlib_compress(input.ptr, input.len, level, d, &z), ECRED_OK);
        CHECK(buf_equals(&z, &stream));
        /* FDICT is bit 5 of FLG; DICTID follows big-endian. */
        uint32_t id = ecred_zlib_dictid(d);
        CHECK(stream.len > 6 && (stream.ptr[1] & 0x20) &&
              stream.ptr[2] == (uint8_t)(id >> 24) && stream.ptr[3] == (uint8_t)(id >> 16) &&
              stream.ptr[4] == (uint8_t)(id >> 8) && stream.ptr[5] == (uint8_t)id);
        CHECK_ERR(ecred_zlib_inflate(stream.ptr, stream.len, input.len, d, &back), ECRED_OK);
        CHECK(buf_equals(&back, &input));
        expect_inflate_error(stream.ptr, stream.len, 1024, NO_DICT, ECRED_ERR_INFLATE);
        /* Another dictionary (zlib's own DICTID check refuses it), then the
         * right one again on this thread's reused inflate state. */
        static const uint8_t other[] = "not the dictionary of any vector";
        expect_inflate_error(stream.ptr, stream.len, 1024, ecred_span_of(other, sizeof other - 1),
                             ECRED_ERR_INFLATE);
        ecred_buf_free(&back);
        CHECK_ERR(ecred_zlib_inflate(stream.ptr, stream.len, input.len, d, &back), ECRED_OK);
        CHECK(buf_equals(&back, &input));
        ecred_buf_free(&z);
        ecred_buf_free(&back);
        ecred_buf_free(&dict);
        ecred_buf_free(&input);
        ecred_buf_free(&stream);
    }
    CHECK(cases == 4);
    ecred_buf_free(&file);
}

static void test_invalid_vectors(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/zlib/invalid.txt");
    char *cursor = (char *)file.ptr, *line;
    int cases = 0;
    while ((line = check_next_line(&cursor)) != NULL) {
        if (line[0] == '#' || line[0] == 0)
            continue;
        char *f[5];
        split_fields(line, f, 5);
        ecred_buf stream = check_hex(f[0]);
        ecred_buf dict = strcmp(f[1], "-") == 0 ? (ecred_buf)ECRED_BUF_INIT : check_hex(f[1]);
        size_t max_out = (size_t)strtoul(f[2], NULL, 10);
        cases++;

        check_sentinel out;
        check_sentinel_init(&out);
        ecred_err e = ecred_zlib_inflate(stream.ptr, stream.len, max_out, ecred_buf_span(&dict),
                                         &out.buf);
        int ok = e != ECRED_OK && strcmp(ecred_err_name(e), f[3]) == 0;
        if (!ok)
            fprintf(stderr, "invalid vector (%s): got %s, want %s\n", f[4], ecred_err_name(e), f[3]);
        CHECK(ok);
        CHECK(check_sentinel_intact(&out));
        ecred_buf_free(&out.buf);
        ecred_buf_free(&stream);
        ecred_buf_free(&dict);
    }
    CHECK(cases == 18);
    ecred_buf_free(&file);
}

/* 10 MiB of zeros compress to about 10 KB; a 1 MiB cap must stop inflation at
 * the cap, quickly, with out untouched; the exact size is still accepted. */
static void test_zlib_bomb(void)
{
    const size_t big = (size_t)10 << 20, cap = (size_t)1 << 20;
    uint8_t *zeros = calloc(big, 1);
    if (!zeros) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    ecred_buf bomb = ECRED_BUF_INIT, full = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(zeros, big, 9, NO_DICT, &bomb), ECRED_OK);
    CHECK(bomb.len > 0 && bomb.len < 20000);

    clock_t start = clock();
    expect_inflate_error(bomb.ptr, bomb.len, cap, NO_DICT, ECRED_ERR_TOO_LARGE);
    double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
    /* Inflating 1 MiB takes milliseconds; 10 MiB would take longer but the real
     * point is the cap: allow slow sanitizer builds a generous margin. */
    if (seconds >= 1.0)
        fprintf(stderr, "capped bomb took %.3f s\n", seconds);
    CHECK(seconds < 1.0);

    expect_inflate_error(bomb.ptr, bomb.len, big - 1, NO_DICT, ECRED_ERR_TOO_LARGE);
    expect_inflate_error(bomb.ptr, bomb.len, 0, NO_DICT, ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_zlib_inflate(bomb.ptr, bomb.len, big, NO_DICT, &full), ECRED_OK);
    CHECK(full.len == big && memcmp(full.ptr, zeros, big) == 0);
    /* A cap above ECRED_BUF_MAX means "as much as a buffer can hold". */
    ecred_buf_free(&full);
    CHECK_ERR(ecred_zlib_inflate(bomb.ptr, bomb.len, SIZE_MAX, NO_DICT, &full), ECRED_OK);
    CHECK(full.len == big);
    ecred_buf_free(&full);
    ecred_buf_free(&bomb);
    free(zeros);
}

/* xorshift64*: a fixed, libc-independent sequence so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Du;
}

/* Text-like bytes (compressible) when `text`, else uniform random bytes. */
static void fill(uint8_t *p, size_t n, int text)
{
    static const char words[] = "residence permit holder status list issuer verifier ";
    for (size_t i = 0; i < n; i++)
        p[i] = text ? (uint8_t)words[(i * 7 + (rng_next() % 3 == 0 ? rng_next() % 5 : 0)) %
                                     (sizeof words - 1)]
                    : (uint8_t)(rng_next() >> 56);
}

/* Every truncation of a stream fails with ECRED_ERR_INFLATE. */
static void check_every_truncation(const ecred_buf *stream, ecred_span dict)
{
    int failures = 0;
    for (size_t cut = 0; cut < stream->len; cut++) {
        check_sentinel out;
        check_sentinel_init(&out);
        ecred_err e = ecred_zlib_inflate(stream->ptr, cut, (size_t)1 << 20, dict, &out.buf);
        if ((e != ECRED_ERR_INFLATE || !check_sentinel_intact(&out)) && failures++ < 5)
            fprintf(stderr, "truncation at %zu of %zu: got %s\n", cut, stream->len,
                    ecred_err_name(e));
        ecred_buf_free(&out.buf);
    }
    CHECK(failures == 0);
}

/* Every single-bit flip of a stream is rejected (header check, block structure
 * or Adler-32) unless it left the inflated bytes identical: deflate has a few
 * redundant bits (padding after the last block, a distance that happens to copy
 * the same bytes) that no decoder can notice. Never accepted with other output. */
static void check_every_bit_flip(const ecred_buf *stream, ecred_span dict, const uint8_t *want,
                                 size_t want_len)
{
    ecred_buf copy = ECRED_BUF_INIT;
    if (ecred_buf_set(&copy, stream->ptr, stream->len) != ECRED_OK)
        exit(2);
    int wrong = 0, rejected = 0;
    for (size_t i = 0; i < copy.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            copy.ptr[i] ^= (uint8_t)(1u << bit);
            check_sentinel out;
            check_sentinel_init(&out);
            ecred_err e = ecred_zlib_inflate(copy.ptr, copy.len, (size_t)1 << 20, dict, &out.buf);
            int same = e == ECRED_OK && out.buf.len == want_len &&
                       memcmp(out.buf.ptr, want, want_len) == 0;
            if (e != ECRED_OK)
                rejected += check_sentinel_intact(&out);
            else if (!same && wrong++ < 5)
                fprintf(stderr, "bit %d of byte %zu flipped: other output accepted\n", bit, i);
            ecred_buf_free(&out.buf);
            copy.ptr[i] ^= (uint8_t)(1u << bit);
        }
    }
    CHECK(wrong == 0);
    /* Redundant bits are rare: nearly every flip must be caught. */
    CHECK((size_t)rejected + 16 >= copy.len * 8);
    ecred_buf_free(&copy);
}

static void test_round_trips(void)
{
    static uint8_t data[200000];
    static const size_t sizes[] = {0, 1, 2, 100, 1023, 1024, 1025, 4096, 65537, 200000};
    static const uint8_t dict_bytes[] = "residence permit holder issuer verifier status";
    const ecred_span dict = ecred_span_of(dict_bytes, sizeof dict_bytes - 1);
    int failures = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (int text = 0; text < 2; text++) {
            size_t n = sizes[s];
            fill(data, n, text);
            for (int level = 0; level <= ECRED_ZLIB_RLE; level++) {
                for (int use_dict = 0; use_dict < 2; use_dict++) {
                    ecred_span d = use_dict ? dict : NO_DICT;
                    ecred_buf z = ECRED_BUF_INIT, back = ECRED_BUF_INIT;
                    int ok = ecred_zlib_compress(data, n, level, d, &z) == ECRED_OK &&
                             z.len >= 2 && ((z.ptr[1] & 0x20) != 0) == use_dict &&
                             ecred_zlib_inflate(z.ptr, z.len, n, d, &back) == ECRED_OK &&
                             back.len == n && (n == 0 || memcmp(back.ptr, data, n) == 0);
                    if (!ok && failures++ < 5)
                        fprintf(stderr, "round trip n=%zu text=%d level=%d dict=%d failed\n", n,
                                text, level, use_dict);
                    ecred_buf_free(&z);
                    ecred_buf_free(&back);
                }
            }
        }
    }
    CHECK(failures == 0);

    /* A dictionary offered for a stream that does not ask for one is unused. */
    ecred_buf z = ECRED_BUF_INIT, back = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress((const uint8_t *)"holder", 6, 6, NO_DICT, &z), ECRED_OK);
    CHECK_ERR(ecred_zlib_inflate(z.ptr, z.len, 6, dict, &back), ECRED_OK);
    CHECK(back.len == 6 && memcmp(back.ptr, "holder", 6) == 0);
    ecred_buf_free(&z);
    ecred_buf_free(&back);

    /* Empty input: compresses to a valid stream that inflates to nothing. */
    CHECK_ERR(ecred_zlib_compress(NULL, 0, 9, NO_DICT, &z), ECRED_OK);
    CHECK_ERR(ecred_zlib_inflate(z.ptr, z.len, 0, NO_DICT, &back), ECRED_OK);
    CHECK(back.len == 0);
    ecred_buf_free(&z);
    ecred_buf_free(&back);
}

static void test_truncation_and_damage(void)
{
    static uint8_t data[3000];
    static const uint8_t dict_bytes[] = "residence permit holder issuer verifier status";
    const ecred_span dict = ecred_span_of(dict_bytes, sizeof dict_bytes - 1);
    fill(data, sizeof data, 1);
    ecred_buf plain = ECRED_BUF_INIT, with_dict = ECRED_BUF_INIT, stored = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(data, sizeof data, 9, NO_DICT, &plain), ECRED_OK);
    CHECK_ERR(ecred_zlib_compress(data, sizeof data, 9, dict, &with_dict), ECRED_OK);
    CHECK_ERR(ecred_zlib_compress(data, sizeof data, 0, NO_DICT, &stored), ECRED_OK);
    check_every_truncation(&plain, NO_DICT);
    check_every_truncation(&with_dict, dict);
    check_every_truncation(&stored, NO_DICT);
    check_every_bit_flip(&plain, NO_DICT, data, sizeof data);
    check_every_bit_flip(&with_dict, dict, data, sizeof data);

    /* Any one trailing byte after a complete stream. */
    int accepted = 0;
    for (unsigned byte = 0; byte < 256; byte++) {
        ecred_buf longer = ECRED_BUF_INIT;
        uint8_t extra = (uint8_t)byte;
        if (ecred_buf_set(&longer, plain.ptr, plain.len) || ecred_buf_append(&longer, &extra, 1))
            exit(2);
        check_sentinel out;
        check_sentinel_init(&out);
        ecred_err e = ecred_zlib_inflate(longer.ptr, longer.len, sizeof data, NO_DICT, &out.buf);
        accepted += e != ECRED_ERR_INFLATE || !check_sentinel_intact(&out);
        ecred_buf_free(&out.buf);
        ecred_buf_free(&longer);
    }
    CHECK(accepted == 0);

    /* Every single-bit flip of the two header bytes breaks FCHECK (a multiple of
     * 31 plus a power of two below 2^16 is never a multiple of 31). */
    for (int bit = 0; bit < 16; bit++) {
        plain.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_inflate_error(plain.ptr, plain.len, sizeof data, NO_DICT, ECRED_ERR_INFLATE);
        plain.ptr[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    ecred_buf_free(&plain);
    ecred_buf_free(&with_dict);
    ecred_buf_free(&stored);
}

static void test_args_and_caps(void)
{
    check_sentinel out;
    check_sentinel_init(&out);
    CHECK_ERR(ecred_zlib_compress((const uint8_t *)"x", 1, ECRED_ZLIB_RLE + 1, NO_DICT, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_zlib_compress((const uint8_t *)"x", 1, -1, NO_DICT, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_zlib_compress(NULL, 1, 6, NO_DICT, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_zlib_compress((const uint8_t *)"x", 1, 6, NO_DICT, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_zlib_inflate(NULL, 1, 10, NO_DICT, &out.buf), ECRED_ERR_ARG);
    CHECK_ERR(ecred_zlib_inflate((const uint8_t *)"x", 1, 10, NO_DICT, NULL), ECRED_ERR_ARG);
    ecred_span bad_dict = {NULL, 4};
    CHECK_ERR(ecred_zlib_inflate((const uint8_t *)"x", 1, 10, bad_dict, &out.buf), ECRED_ERR_ARG);
    /* Lengths are checked before any byte is read: a lying length fails alone. */
    CHECK_ERR(ecred_zlib_compress((const uint8_t *)"x", ECRED_BUF_MAX + 1, 6, NO_DICT, &out.buf),
              ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_zlib_inflate((const uint8_t *)"x", ECRED_BUF_MAX + 1, 10, NO_DICT, &out.buf),
              ECRED_ERR_TOO_LARGE);
    CHECK(check_sentinel_intact(&out));
    ecred_buf_free(&out.buf);

    /* Adler-32 reference values: "Wikipedia" is the classic example; no bytes is 1. */
    CHECK(ecred_zlib_dictid(ecred_span_of("Wikipedia", 9)) == 0x11E60398u);
    CHECK(ecred_zlib_dictid(NO_DICT) == 1u);
}

static uint8_t reuse_text[4000];

/* Stream i of test_reused_state: 0 level 9 with the RC1 dictionary, 1 level
 * 9 without (a reset must drop the dictionary), 2 level 1 (another level). */
static void reuse_compress(int i, ecred_buf *out)
{
    if (i == 0)
        CHECK_ERR(ecred_zlib_compress(reuse_text, sizeof reuse_text, 9, ecred_rc1_dictionary(), out), ECRED_OK);
    else if (i == 1)
        CHECK_ERR(ecred_zlib_compress(reuse_text, sizeof reuse_text, 9, NO_DICT, out), ECRED_OK);
    else
        CHECK_ERR(ecred_zlib_compress(reuse_text, sizeof reuse_text / 2, 1, NO_DICT, out), ECRED_OK);
}

typedef struct reuse_job {
    int i;
    ecred_buf out;
} reuse_job;

static void *reuse_thread(void *p)
{
    reuse_job *j = p;
    reuse_compress(j->i, &j->out);
    return NULL;
}

/* Issue 10: compression reuses one deflate state per thread. A stream after
 * others (other dictionary, other level, a refused call) must equal the one
 * a brand-new state makes in a thread of its own, byte for byte. */
static void test_reused_state(void)
{
    fill(reuse_text, sizeof reuse_text, 1);
    reuse_job fresh[3];
    memset(fresh, 0, sizeof fresh);
    for (int i = 0; i < 3; i++) {
        pthread_t t;
        fresh[i].i = i;
        CHECK(pthread_create(&t, NULL, reuse_thread, &fresh[i]) == 0);
        CHECK(pthread_join(t, NULL) == 0);
    }
    ecred_buf junk = ECRED_BUF_INIT, warm = ECRED_BUF_INIT;
    static const int order[] = {0, 1, 0, 0, 2, 1, 1, 2, 0};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        if (k % 3 == 0)
            CHECK_ERR(ecred_zlib_compress(reuse_text, 1, ECRED_ZLIB_RLE + 1, NO_DICT, &junk), ECRED_ERR_ARG);
        int i = order[k];
        reuse_compress(i, &warm);
        CHECK(warm.len == fresh[i].out.len);
        CHECK(memcmp(warm.ptr, fresh[i].out.ptr, fresh[i].out.len) == 0);
    }
    for (int i = 0; i < 3; i++)
        ecred_buf_free(&fresh[i].out);
    ecred_buf_free(&warm);
    ecred_buf_free(&junk);
}

int main(void)
{
    test_ietf_status_lists();
    test_dictionary_vectors();
    test_invalid_vectors();
    test_zlib_bomb();
    test_round_trips();
    test_truncation_and_damage();
    test_args_and_caps();
    test_reused_state();
    return check_finish();
}
