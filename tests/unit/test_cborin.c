/*
 * test_cborin.c - capped CBOR decoding and deterministic integer encoding.
 *
 * Data-driven cases come from tests/vectors/cbor/ (one CHECK per line); the
 * cases that need sizes too large to write out by hand (item count, total size,
 * every prefix of a valid item) are generated here.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/cborin.h"

/* Run fn(name, bytes, len, line) for every "<name> <hex> [# comment]" line. */
typedef void (*vector_fn)(const char *want, const ecred_buf *in, int line);

static void for_each_vector(const char *rel, vector_fn fn)
{
    ecred_buf file = check_read_source_file(rel);
    char *text = (char *)file.ptr;
    int line = 0, cases = 0;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *hash = strchr(l, '#');
        if (hash)
            *hash = '\0';
        char want[64], hex[8192];
        if (sscanf(l, "%63s %8191s", want, hex) != 2)
            continue;
        ecred_buf in = check_hex(hex);
        fn(want, &in, line);
        ecred_buf_free(&in);
        cases++;
    }
    CHECK(cases > 10); /* an empty or unreadable vector file must not pass */
    ecred_buf_free(&file);
}

static void decode_case(const char *want, const ecred_buf *in, int line)
{
    cbor_item_t *item = NULL;
    ecred_err err = ecred_cbor_decode(in->ptr, in->len, NULL, &item);
    if (strcmp(ecred_err_name(err), want) != 0) {
        fprintf(stderr, "decode.txt case %d: got %s, want %s\n", line, ecred_err_name(err), want);
        CHECK(0);
    } else {
        CHECK(1);
    }
    if (err == ECRED_OK) {
        /* preferred-serialization input must come back byte for byte */
        ecred_buf again = ECRED_BUF_INIT;
        CHECK_ERR(ecred_cbor_encode(item, &again), ECRED_OK);
        CHECK(again.len == in->len && memcmp(again.ptr, in->ptr, in->len) == 0);
        ecred_buf_free(&again);
        cbor_decref(&item);
    } else {
        CHECK(item == NULL); /* out-param untouched on failure */
    }
}

static void unique_case(const char *want, const ecred_buf *in, int line)
{
    cbor_item_t *item = NULL;
    CHECK_ERR(ecred_cbor_decode(in->ptr, in->len, NULL, &item), ECRED_OK);
    if (!item)
        return;
    ecred_err err = ecred_cbor_map_check_unique(item);
    if (strcmp(ecred_err_name(err), want) != 0) {
        fprintf(stderr, "unique.txt case %d: got %s, want %s\n", line, ecred_err_name(err), want);
        CHECK(0);
    } else {
        CHECK(1);
    }
    cbor_decref(&item);
}

static ecred_err decode_with(const uint8_t *p, size_t n, const ecred_cbor_limits *lim)
{
    cbor_item_t *item = NULL;
    ecred_err err = ecred_cbor_decode(p, n, lim, &item);
    if (item)
        cbor_decref(&item);
    return err;
}

/* Every proper prefix of a well-formed item is truncated: ECRED_ERR_CBOR. */
static void test_every_prefix(const char *hex)
{
    ecred_buf full = check_hex(hex);
    CHECK_ERR(decode_with(full.ptr, full.len, NULL), ECRED_OK);
    for (size_t k = 0; k < full.len; k++)
        CHECK_ERR(decode_with(full.ptr, k, NULL), ECRED_ERR_CBOR);
    ecred_buf_free(&full);
}

static void test_generated_limits(void)
{
    static uint8_t big[8192];

    /* Item count: an array head plus 511 zeros is 512 items; one more is over. */
    big[0] = 0x99, big[1] = 0x01, big[2] = 0xff; /* array(511) */
    memset(big + 3, 0, 511);
    CHECK_ERR(decode_with(big, 3 + 511, NULL), ECRED_OK);
    big[1] = 0x02, big[2] = 0x00; /* array(512): 513 items */
    memset(big + 3, 0, 512);
    CHECK_ERR(decode_with(big, 3 + 512, NULL), ECRED_ERR_CBOR_LIMIT);

    /* Total size: a bstr of exactly 4096 bytes in all passes, 4097 does not. */
    big[0] = 0x59, big[1] = 0x0f, big[2] = 0xfd; /* bstr(4093) */
    memset(big + 3, 0xab, 4094);
    CHECK_ERR(decode_with(big, 4096, NULL), ECRED_OK);
    big[2] = 0xfe; /* bstr(4094) */
    CHECK_ERR(decode_with(big, 4097, NULL), ECRED_ERR_TOO_LARGE);
    ecred_cbor_limits roomy = {8192, 512, 16};
    CHECK_ERR(decode_with(big, 4097, &roomy), ECRED_OK);

    /* A caller's limits are used as given; an impossible depth is a caller bug. */
    ecred_cbor_limits shallow = {4096, 512, 2};
    ecred_buf two = check_hex("8181 00"), three = check_hex("818181 00");
    CHECK_ERR(decode_with(two.ptr, two.len, &shallow), ECRED_OK);
    CHECK_ERR(decode_with(three.ptr, three.len, &shallow), ECRED_ERR_CBOR_LIMIT);
    ecred_cbor_limits few = {4096, 3, 16};
    CHECK_ERR(decode_with(three.ptr, three.len, &few), ECRED_ERR_CBOR_LIMIT);
    ecred_cbor_limits deep = {4096, 512, ECRED_CBOR_DEPTH_MAX + 1};
    CHECK_ERR(decode_with(two.ptr, two.len, &deep), ECRED_ERR_ARG);
    ecred_buf_free(&two);
    ecred_buf_free(&three);

    /* Deepest allowed nesting with a depth-64 caller. */
    ecred_cbor_limits max = {4096, 512, ECRED_CBOR_DEPTH_MAX};
    memset(big, 0x81, ECRED_CBOR_DEPTH_MAX);
    big[ECRED_CBOR_DEPTH_MAX] = 0x00;
    CHECK_ERR(decode_with(big, ECRED_CBOR_DEPTH_MAX + 1, &max), ECRED_OK);
    memset(big, 0x81, ECRED_CBOR_DEPTH_MAX + 1);
    big[ECRED_CBOR_DEPTH_MAX + 1] = 0x00;
    CHECK_ERR(decode_with(big, ECRED_CBOR_DEPTH_MAX + 2, &max), ECRED_ERR_CBOR_LIMIT);

    /* Empty input and argument misuse. */
    CHECK_ERR(decode_with(big, 0, NULL), ECRED_ERR_CBOR);
    CHECK_ERR(decode_with(NULL, 1, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cbor_decode(big, 1, NULL, NULL), ECRED_ERR_ARG);
}

/* RFC 8949 Appendix A encodings, plus the width boundaries either side. */
static const struct {
    int64_t v;
    const char *hex;
} int_cases[] = {
    {0, "00"},
    {1, "01"},
    {10, "0a"},
    {23, "17"},
    {24, "1818"},
    {25, "1819"},
    {100, "1864"},
    {255, "18ff"},
    {256, "190100"},
    {1000, "1903e8"},
    {65535, "19ffff"},
    {65536, "1a00010000"},
    {1000000, "1a000f4240"},
    {4294967295LL, "1affffffff"},
    {4294967296LL, "1b0000000100000000"},
    {1000000000000LL, "1b000000e8d4a51000"},
    {INT64_MAX, "1b7fffffffffffffff"},
    {-1, "20"},
    {-10, "29"},
    {-24, "37"},
    {-25, "3818"},
    {-100, "3863"},
    {-256, "38ff"},
    {-257, "390100"},
    {-1000, "3903e7"},
    {-65537, "3a00010000"},
    {-4294967297LL, "3b0000000100000000"},
    {INT64_MIN, "3b7fffffffffffffff"},
};

static void test_int_encoding(void)
{
    for (size_t i = 0; i < sizeof int_cases / sizeof int_cases[0]; i++) {
        ecred_buf want = check_hex(int_cases[i].hex), got = ECRED_BUF_INIT;
        cbor_item_t *item = ecred_cbor_int(int_cases[i].v);
        CHECK(item != NULL);
        CHECK_ERR(ecred_cbor_encode(item, &got), ECRED_OK);
        if (got.len != want.len || memcmp(got.ptr, want.ptr, want.len) != 0) {
            fprintf(stderr, "ecred_cbor_int(%lld) != %s\n", (long long)int_cases[i].v,
                    int_cases[i].hex);
            CHECK(0);
        }
        cbor_decref(&item);
        /* and back: the decoded value is the original */
        cbor_item_t *back = NULL;
        int64_t v = 0;
        CHECK_ERR(ecred_cbor_decode(want.ptr, want.len, NULL, &back), ECRED_OK);
        CHECK_ERR(ecred_cbor_get_int(back, &v), ECRED_OK);
        CHECK(v == int_cases[i].v);
        cbor_decref(&back);
        ecred_buf_free(&want);
        ecred_buf_free(&got);
    }

    /* Integers outside int64 and non-integers are refused, out untouched. */
    const char *not_int64[] = {"1b8000000000000000", "1bffffffffffffffff",
                               "3b8000000000000000", "6131", "f4", "c249010000000000000000"};
    for (size_t i = 0; i < sizeof not_int64 / sizeof not_int64[0]; i++) {
        ecred_buf in = check_hex(not_int64[i]);
        cbor_item_t *item = NULL;
        int64_t v = 42;
        CHECK_ERR(ecred_cbor_decode(in.ptr, in.len, NULL, &item), ECRED_OK);
        CHECK_ERR(ecred_cbor_get_int(item, &v), ECRED_ERR_CBOR);
        CHECK(v == 42);
        cbor_decref(&item);
        ecred_buf_free(&in);
    }
}

static void test_map_lookup(void)
{
    /* Build {1: -7, 4: h'3132', "lst": ""} and check the exact bytes. */
    cbor_item_t *map = cbor_new_definite_map(3);
    CHECK_ERR(ecred_cbor_map_put(map, ecred_cbor_int(1), ecred_cbor_int(-7)), ECRED_OK);
    CHECK_ERR(ecred_cbor_map_put(map, ecred_cbor_int(4), ecred_cbor_bytes((const uint8_t *)"12", 2)),
              ECRED_OK);
    CHECK_ERR(ecred_cbor_map_put(map, ecred_cbor_text("lst", 3), ecred_cbor_bytes(NULL, 0)),
              ECRED_OK);
    /* full definite map: a caller bug, and both references are released */
    CHECK_ERR(ecred_cbor_map_put(map, ecred_cbor_int(5), ecred_cbor_int(5)), ECRED_ERR_ARG);
    /* a failed builder passed inline: the other reference is released */
    CHECK_ERR(ecred_cbor_map_put(map, ecred_cbor_int(6), NULL), ECRED_ERR_NOMEM);
    ecred_buf enc = ECRED_BUF_INIT, want = check_hex("a3 0126 04423132 636c7374 40");
    CHECK_ERR(ecred_cbor_encode(map, &enc), ECRED_OK);
    CHECK(enc.len == want.len && memcmp(enc.ptr, want.ptr, want.len) == 0);

    cbor_item_t *v = NULL;
    int64_t iv = 0;
    CHECK_ERR(ecred_cbor_map_get_int(map, 1, &v), ECRED_OK);
    CHECK(v != NULL && ecred_cbor_get_int(v, &iv) == ECRED_OK && iv == -7);
    CHECK_ERR(ecred_cbor_map_get_int(map, 2, &v), ECRED_OK);
    CHECK(v == NULL);
    CHECK_ERR(ecred_cbor_map_get_int(map, -2, &v), ECRED_OK);
    CHECK(v == NULL);
    CHECK_ERR(ecred_cbor_map_get_str(map, "lst", &v), ECRED_OK);
    CHECK(v != NULL && cbor_isa_bytestring(v) && cbor_bytestring_length(v) == 0);
    CHECK_ERR(ecred_cbor_map_get_str(map, "ls", &v), ECRED_OK);
    CHECK(v == NULL);
    cbor_decref(&map);

    /* Negative keys, and a lookup refused because of a duplicate elsewhere. */
    ecred_buf in = check_hex("a2 20 01 3903e7 02");
    cbor_item_t *m = NULL;
    CHECK_ERR(ecred_cbor_decode(in.ptr, in.len, NULL, &m), ECRED_OK);
    CHECK_ERR(ecred_cbor_map_get_int(m, -1000, &v), ECRED_OK);
    CHECK(v != NULL && ecred_cbor_get_int(v, &iv) == ECRED_OK && iv == 2);
    cbor_decref(&m);
    ecred_buf_free(&in);
    in = check_hex("a3 01 00 6161 00 6161 01");
    CHECK_ERR(ecred_cbor_decode(in.ptr, in.len, NULL, &m), ECRED_OK);
    v = (cbor_item_t *)1;
    CHECK_ERR(ecred_cbor_map_get_int(m, 1, &v), ECRED_ERR_CBOR);
    CHECK(v == (cbor_item_t *)1);
    CHECK_ERR(ecred_cbor_map_get_str(m, "a", &v), ECRED_ERR_CBOR);
    cbor_decref(&m);
    ecred_buf_free(&in);
    /* not a map */
    in = check_hex("80");
    CHECK_ERR(ecred_cbor_decode(in.ptr, in.len, NULL, &m), ECRED_OK);
    CHECK_ERR(ecred_cbor_map_get_int(m, 1, &v), ECRED_ERR_CBOR);
    CHECK_ERR(ecred_cbor_map_check_unique(m), ECRED_ERR_CBOR);
    cbor_decref(&m);
    ecred_buf_free(&in);

    /* Past ECRED_CBOR_MAP_MAX_PAIRS the pairwise check refuses to run. */
    cbor_item_t *huge = cbor_new_definite_map(ECRED_CBOR_MAP_MAX_PAIRS + 1);
    for (int64_t k = 0; k <= ECRED_CBOR_MAP_MAX_PAIRS; k++)
        CHECK_ERR(ecred_cbor_map_put(huge, ecred_cbor_int(k), ecred_cbor_int(0)), ECRED_OK);
    CHECK_ERR(ecred_cbor_map_check_unique(huge), ECRED_ERR_CBOR_LIMIT);
    cbor_decref(&huge);

    ecred_buf_free(&enc);
    ecred_buf_free(&want);
}

static void test_text_builder(void)
{
    ecred_buf enc = ECRED_BUF_INIT, want = check_hex("60");
    cbor_item_t *t = ecred_cbor_text(NULL, 0);
    CHECK(t != NULL);
    CHECK_ERR(ecred_cbor_encode(t, &enc), ECRED_OK);
    CHECK(enc.len == 1 && enc.ptr[0] == 0x60);
    cbor_decref(&t);
    CHECK(ecred_cbor_text(NULL, 3) == NULL);
    CHECK(ecred_cbor_bytes(NULL, 3) == NULL);
    ecred_buf_free(&enc);
    ecred_buf_free(&want);
}

int main(void)
{
    for_each_vector("tests/vectors/cbor/decode.txt", decode_case);
    for_each_vector("tests/vectors/cbor/unique.txt", unique_case);
    test_every_prefix("a26161016162820203");
    test_every_prefix("826161a161626163");
    test_every_prefix("98190102030405060708090a0b0c0d0e0f101112131415161718181819");
    test_every_prefix("c074323031332d30332d32315432303a30343a30305a");
    test_every_prefix("1b000000e8d4a51000");
    test_every_prefix("d28443a10126a0f640");
    test_generated_limits();
    test_int_encoding();
    test_map_lookup();
    test_text_builder();
    return check_finish();
}
