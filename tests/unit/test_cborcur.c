/*
 * test_cborcur.c - the non-allocating CBOR cursor.
 *
 * The cursor must accept and refuse exactly what ecred_cbor_decode does, with
 * the same error: tests/vectors/cbor/decode.txt is replayed through
 * ecred_cborcur_check, and a differential run compares both on every one-byte
 * change and every prefix of real CWT claims (tests/vectors/credential/).
 * The head-by-head API is tested on hand-written items.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/cborcur.h"
#include "ecred/cborin.h"

/* ---- decode.txt through ecred_cborcur_check --------------------------- */

static void decode_vectors(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/cbor/decode.txt");
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
        ecred_err err = ecred_cborcur_check(in.ptr, in.len, NULL);
        if (strcmp(ecred_err_name(err), want) != 0) {
            fprintf(stderr, "decode.txt case %d: got %s, want %s\n", line, ecred_err_name(err), want);
            CHECK(0);
        } else {
            CHECK(1);
        }
        if (err == ECRED_OK) {
            /* skip must take exactly the whole item */
            ecred_cborcur cur;
            ecred_span item = {NULL, 0};
            CHECK_ERR(ecred_cborcur_init(&cur, in.ptr, in.len, NULL), ECRED_OK);
            CHECK_ERR(ecred_cborcur_skip(&cur, &item), ECRED_OK);
            CHECK(item.ptr == in.ptr && item.len == in.len);
            CHECK_ERR(ecred_cborcur_finish(&cur), ECRED_OK);
        }
        ecred_buf_free(&in);
        cases++;
    }
    CHECK(cases > 100); /* an empty or unreadable vector file must not pass */
    ecred_buf_free(&file);
}

/* ---- differential against ecred_cbor_decode --------------------------- */

static int diff_mismatches;

static void compare_with_libcbor(const uint8_t *p, size_t n, const ecred_cbor_limits *lim)
{
    cbor_item_t *item = NULL;
    ecred_err want = ecred_cbor_decode(p, n, lim, &item);
    if (item)
        cbor_decref(&item);
    ecred_err got = ecred_cborcur_check(p, n, lim);
    if (got != want) {
        if (diff_mismatches++ < 5) {
            char hex[2 * 64 + 1];
            size_t shown = n < 64 ? n : 64;
            ecred_hex(p, shown, hex);
            fprintf(stderr, "cursor %s, ecred_cbor_decode %s on %zu bytes %s...\n",
                    ecred_err_name(got), ecred_err_name(want), n, hex);
        }
    }
}

/* Every one-byte change (to a few values that hit every major type and the
 * reserved infos) and every prefix of the first claims vectors. */
static void differential(void)
{
    ecred_buf file = check_read_source_file("tests/vectors/credential/claims.txt");
    static const uint8_t repl[] = {0x00, 0x18, 0x1c, 0x1f, 0x3b, 0x41, 0x5f, 0x61, 0x7a,
                                   0x80, 0x9f, 0xa1, 0xbf, 0xc6, 0xd8, 0xdf, 0xe0, 0xf4,
                                   0xf8, 0xf9, 0xfc, 0xff, 0xc0, 0xed, 0x80, 0xbf};
    ecred_cbor_limits tight = {4096, 40, 3};
    int seeds = 0;
    char *text = (char *)file.ptr;
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && seeds < 4;
         l = strtok_r(NULL, "\n", &save)) {
        if (l[0] == '#')
            continue;
        char *tab1 = strchr(l, '\t');
        if (!tab1)
            continue;
        char *tab2 = strchr(tab1 + 1, '\t');
        if (tab2)
            *tab2 = '\0';
        ecred_buf in = check_hex(tab1 + 1);
        for (size_t i = 0; i < in.len; i++) {
            uint8_t keep = in.ptr[i];
            for (size_t r = 0; r < sizeof repl; r++) {
                in.ptr[i] = repl[r];
                compare_with_libcbor(in.ptr, in.len, NULL);
                compare_with_libcbor(in.ptr, in.len, &tight);
            }
            in.ptr[i] = keep;
            compare_with_libcbor(in.ptr, i, NULL);
        }
        ecred_buf_free(&in);
        seeds++;
    }
    CHECK(seeds == 4);
    CHECK(diff_mismatches == 0);
    ecred_buf_free(&file);
}

/* ---- limits and arguments --------------------------------------------- */

static void limits(void)
{
    static uint8_t big[8192];

    /* Items: array(511) of zeros is 512 items; array(512) is 513. */
    big[0] = 0x99, big[1] = 0x01, big[2] = 0xff;
    memset(big + 3, 0, 512);
    CHECK_ERR(ecred_cborcur_check(big, 3 + 511, NULL), ECRED_OK);
    big[1] = 0x02, big[2] = 0x00;
    CHECK_ERR(ecred_cborcur_check(big, 3 + 512, NULL), ECRED_ERR_CBOR_LIMIT);

    /* Size: 4096 bytes pass, 4097 do not, unless the caller allows more. */
    big[0] = 0x59, big[1] = 0x0f, big[2] = 0xfd; /* bstr(4093) */
    memset(big + 3, 0xab, 4094);
    CHECK_ERR(ecred_cborcur_check(big, 4096, NULL), ECRED_OK);
    big[2] = 0xfe;
    CHECK_ERR(ecred_cborcur_check(big, 4097, NULL), ECRED_ERR_TOO_LARGE);
    ecred_cbor_limits roomy = {8192, 512, 16};
    CHECK_ERR(ecred_cborcur_check(big, 4097, &roomy), ECRED_OK);
    ecred_cborcur cur;
    CHECK_ERR(ecred_cborcur_init(&cur, big, 4097, NULL), ECRED_ERR_TOO_LARGE);

    /* Depth: the caller's cap as given; one past the hard maximum is misuse. */
    ecred_cbor_limits shallow = {4096, 512, 2};
    uint8_t two[] = {0x81, 0x81, 0x00}, three[] = {0x81, 0x81, 0x81, 0x00};
    CHECK_ERR(ecred_cborcur_check(two, sizeof two, &shallow), ECRED_OK);
    CHECK_ERR(ecred_cborcur_check(three, sizeof three, &shallow), ECRED_ERR_CBOR_LIMIT);
    ecred_cbor_limits deep = {4096, 512, ECRED_CBOR_DEPTH_MAX + 1};
    CHECK_ERR(ecred_cborcur_check(two, sizeof two, &deep), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cborcur_init(&cur, two, sizeof two, &deep), ECRED_ERR_ARG);

    /* 64 nested arrays at the hard maximum depth: the skip stack is full. */
    ecred_cbor_limits deepest = {4096, 512, ECRED_CBOR_DEPTH_MAX};
    memset(big, 0x81, ECRED_CBOR_DEPTH_MAX);
    big[ECRED_CBOR_DEPTH_MAX] = 0x00;
    CHECK_ERR(ecred_cborcur_check(big, ECRED_CBOR_DEPTH_MAX + 1, &deepest), ECRED_OK);
    big[ECRED_CBOR_DEPTH_MAX] = 0x81;
    big[ECRED_CBOR_DEPTH_MAX + 1] = 0x00;
    CHECK_ERR(ecred_cborcur_check(big, ECRED_CBOR_DEPTH_MAX + 2, &deepest), ECRED_ERR_CBOR_LIMIT);

    /* Arguments. */
    CHECK_ERR(ecred_cborcur_check(NULL, 1, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cborcur_check(NULL, 0, NULL), ECRED_ERR_CBOR);
    CHECK_ERR(ecred_cborcur_init(NULL, two, sizeof two, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cborcur_init(&cur, NULL, 3, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cborcur_init(&cur, two, sizeof two, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, NULL), ECRED_ERR_ARG);
    CHECK_ERR(ecred_cborcur_skip(NULL, NULL), ECRED_ERR_ARG);
}

/* ---- UTF-8 ------------------------------------------------------------- */

static void utf8(void)
{
    static const struct {
        const char *hex;
        ecred_err want;
    } cases[] = {
        {"6161", ECRED_OK},
        {"6100", ECRED_OK},           /* NUL is valid UTF-8; field rules are the caller's */
        {"62c2a9", ECRED_OK},         /* U+00A9 */
        {"63e282ac", ECRED_OK},       /* U+20AC */
        {"63ed9fbf", ECRED_OK},       /* U+D7FF, just below the surrogates */
        {"63ee8080", ECRED_OK},       /* U+E000, just above */
        {"64f09f9880", ECRED_OK},     /* U+1F600 */
        {"64f48fbfbf", ECRED_OK},     /* U+10FFFF */
        {"6180", ECRED_ERR_CBOR},     /* lone continuation byte */
        {"62c0af", ECRED_ERR_CBOR},   /* overlong '/' */
        {"62c1bf", ECRED_ERR_CBOR},   /* overlong */
        {"63e080af", ECRED_ERR_CBOR}, /* overlong three-byte */
        {"63eda080", ECRED_ERR_CBOR}, /* surrogate U+D800 */
        {"63edbfbf", ECRED_ERR_CBOR}, /* surrogate U+DFFF */
        {"64f08080af", ECRED_ERR_CBOR}, /* overlong four-byte */
        {"64f4908080", ECRED_ERR_CBOR}, /* U+110000 */
        {"64f5808080", ECRED_ERR_CBOR}, /* lead byte past F4 */
        {"62e282", ECRED_ERR_CBOR},   /* sequence cut short by the string end */
        {"63e22882", ECRED_ERR_CBOR}, /* bad second byte */
        {"63e28228", ECRED_ERR_CBOR}, /* bad third byte */
        {"42c0af", ECRED_OK},         /* byte strings are not text */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ecred_buf in = check_hex(cases[i].hex);
        CHECK_ERR(ecred_cborcur_check(in.ptr, in.len, NULL), cases[i].want);
        compare_with_libcbor(in.ptr, in.len, NULL);
        ecred_cborcur cur;
        ecred_cbor_head h;
        CHECK_ERR(ecred_cborcur_init(&cur, in.ptr, in.len, NULL), ECRED_OK);
        CHECK_ERR(ecred_cborcur_head(&cur, &h), cases[i].want);
        ecred_buf_free(&in);
    }
    CHECK(diff_mismatches == 0);

    /* Bad text hidden behind a cap: the cap is reported, as ecred_cbor_decode
     * does (its prescan runs before cbor_load checks the text). */
    ecred_buf both = check_hex("826180818100");
    ecred_cbor_limits shallow = {4096, 512, 2};
    CHECK_ERR(ecred_cborcur_check(both.ptr, both.len, &shallow), ECRED_ERR_CBOR_LIMIT);
    compare_with_libcbor(both.ptr, both.len, &shallow);
    CHECK(diff_mismatches == 0);
    ecred_buf_free(&both);
}

/* ---- head by head ------------------------------------------------------ */

static void heads(void)
{
    /* {1: "ab", -2: h'0102', "k": [true, false, null], 3: 18(0), 4: 1.0} */
    ecred_buf in = check_hex("a5 01 626162 21 420102 616b 83f5f4f6 03 d200 04 f93c00");
    ecred_cborcur cur;
    ecred_cbor_head h;
    int64_t v = 0;
    bool b = false;
    CHECK_ERR(ecred_cborcur_init(&cur, in.ptr, in.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_MAP && h.arg == 5);
    CHECK(!ecred_cbor_head_int(&h, &v));

    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(ecred_cbor_head_int(&h, &v) && v == 1);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_TEXT && h.str.len == 2 && h.str.ptr == in.ptr + 3);
    CHECK(ecred_cbor_head_text_is(&h, "ab"));
    CHECK(!ecred_cbor_head_text_is(&h, "a"));
    CHECK(!ecred_cbor_head_text_is(&h, "abc"));
    CHECK(!ecred_cbor_head_int(&h, &v));

    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(ecred_cbor_head_int(&h, &v) && v == -2);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_BYTES && h.str.len == 2 && memcmp(h.str.ptr, "\x01\x02", 2) == 0);
    CHECK(!ecred_cbor_head_text_is(&h, "\x01\x02")); /* bytes are not text */

    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(ecred_cbor_head_text_is(&h, "k"));
    size_t before = ecred_cborcur_left(&cur);
    ecred_span arr;
    CHECK_ERR(ecred_cborcur_skip(&cur, &arr), ECRED_OK);
    CHECK(arr.len == 4 && arr.ptr[0] == 0x83);
    CHECK(ecred_cborcur_left(&cur) == before - 4);
    /* the skipped array, read again head by head */
    ecred_cborcur sub;
    CHECK_ERR(ecred_cborcur_init(&sub, arr.ptr, arr.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&sub, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_ARRAY && h.arg == 3);
    CHECK_ERR(ecred_cborcur_head(&sub, &h), ECRED_OK);
    CHECK(ecred_cbor_head_bool(&h, &b) && b);
    CHECK_ERR(ecred_cborcur_head(&sub, &h), ECRED_OK);
    CHECK(ecred_cbor_head_bool(&h, &b) && !b);
    CHECK_ERR(ecred_cborcur_head(&sub, &h), ECRED_OK);
    CHECK(!ecred_cbor_head_bool(&h, &b)); /* null */
    CHECK_ERR(ecred_cborcur_finish(&sub), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&sub, &h), ECRED_ERR_CBOR); /* nothing left */

    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(ecred_cbor_head_int(&h, &v) && v == 3);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_TAG && h.arg == 18); /* one-byte tag head 0xd2 */
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(ecred_cbor_head_int(&h, &v) && v == 0);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK_ERR(ecred_cborcur_finish(&cur), ECRED_ERR_CBOR); /* the float is still due */
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(h.major == ECRED_CBOR_MAJOR_SIMPLE && h.info == 25 && h.arg == 0x3c00);
    CHECK(!ecred_cbor_head_bool(&h, &b) && !ecred_cbor_head_int(&h, &v));
    CHECK_ERR(ecred_cborcur_finish(&cur), ECRED_OK);
    ecred_buf_free(&in);

    /* A half float whose bits equal the simple value of true is not true. */
    ecred_buf half = check_hex("f90015");
    CHECK_ERR(ecred_cborcur_init(&cur, half.ptr, half.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK(!ecred_cbor_head_bool(&h, &b));
    ecred_buf_free(&half);

    /* Integers at the edges of int64. */
    static const struct {
        const char *hex;
        bool ok;
        int64_t v;
    } ints[] = {
        {"1b7fffffffffffffff", true, INT64_MAX},
        {"1b8000000000000000", false, 0},
        {"3b7fffffffffffffff", true, INT64_MIN},
        {"3b8000000000000000", false, 0},
        {"1800", true, 0}, /* non-preferred width is still the value */
        {"20", true, -1},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        ecred_buf x = check_hex(ints[i].hex);
        CHECK_ERR(ecred_cborcur_init(&cur, x.ptr, x.len, NULL), ECRED_OK);
        CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
        v = 12345;
        CHECK(ecred_cbor_head_int(&h, &v) == ints[i].ok);
        CHECK(v == (ints[i].ok ? ints[i].v : 12345)); /* out untouched on failure */
        ecred_buf_free(&x);
    }

    /* A failed head leaves the cursor where it was and *h untouched. */
    ecred_buf trunc = check_hex("01 6361");
    CHECK_ERR(ecred_cborcur_init(&cur, trunc.ptr, trunc.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    h.arg = 777;
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_ERR_CBOR);
    CHECK(h.arg == 777 && ecred_cborcur_left(&cur) == 2);
    ecred_buf_free(&trunc);

    /* Counts that cannot fit, seen head by head. */
    ecred_buf arr2 = check_hex("8201"), map1 = check_hex("a101");
    CHECK_ERR(ecred_cborcur_init(&cur, arr2.ptr, arr2.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_ERR_CBOR);
    CHECK_ERR(ecred_cborcur_init(&cur, map1.ptr, map1.len, NULL), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_ERR_CBOR);
    ecred_buf_free(&arr2);
    ecred_buf_free(&map1);

    /* The item budget covers head-by-head reads too. */
    ecred_cbor_limits two_items = {4096, 2, 16};
    uint8_t three_ints[] = {0x01, 0x02, 0x03};
    CHECK_ERR(ecred_cborcur_init(&cur, three_ints, 3, &two_items), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_ERR_CBOR_LIMIT);

    /* Skip caps nesting inside the item it skips. */
    ecred_cbor_limits shallow = {4096, 512, 2};
    uint8_t nest[] = {0x81, 0x81, 0x81, 0x00};
    CHECK_ERR(ecred_cborcur_init(&cur, nest, sizeof nest, &shallow), ECRED_OK);
    CHECK_ERR(ecred_cborcur_skip(&cur, NULL), ECRED_ERR_CBOR_LIMIT);
    CHECK_ERR(ecred_cborcur_init(&cur, nest, sizeof nest, &shallow), ECRED_OK);
    CHECK_ERR(ecred_cborcur_head(&cur, &h), ECRED_OK);
    CHECK_ERR(ecred_cborcur_skip(&cur, NULL), ECRED_OK); /* two levels below the first */
}

int main(void)
{
    decode_vectors();
    differential();
    limits();
    utf8();
    heads();
    return check_finish();
}
