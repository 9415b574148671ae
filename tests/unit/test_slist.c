/*
 * test_slist.c - the IETF Token Status List module: packing, the draft's
 * vectors byte for byte (decode and re-encode), the draft's signed CWT, our own
 * sign/verify round trip, every rejection path of decode and verify (data in
 * tests/vectors/statuslist/), caps (zlib bomb, max entries) and speed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "ecred/cose.h"
#include "ecred/crypto.h"
#include "ecred/slist.h"
#include "ecred/zcap.h"

#define VEC_DIR "tests/vectors/statuslist/"
#define IETF_NOW 1686920270 /* the draft's iat + 100 s */
#define IETF_EXP 2291720170
#define CLAIMS_NOW 1700000000


static ecred_buf read_hex_file(const char *rel)
{
    ecred_buf text = check_read_source_file(rel);
    ecred_buf bin = check_hex((const char *)text.ptr);
    ecred_buf_free(&text);
    return bin;
}

/* Next data line of a vector file (skips comments and blanks); strips the
 * trailing "# comment" into *comment. Returns NULL at the end. */
static char *next_line(char **cursor, char **comment)
{
    while (**cursor) {
        char *line = *cursor;
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            *cursor = nl + 1;
        } else {
            *cursor = line + strlen(line);
        }
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char *hash = strstr(line, " # ");
        *comment = hash ? hash + 3 : (char *)"";
        if (hash)
            *hash = '\0';
        return line;
    }
    return NULL;
}

static void test_packing(void)
{
    ecred_slist l;
    unsigned v = 99;
    /* The draft's section 4.1 example: 16 one-bit statuses pack to b9 a3. */
    CHECK_ERR(ecred_slist_init(&l, 1, 16), ECRED_OK);
    const size_t ones[] = {0, 3, 4, 5, 7, 8, 9, 13, 15};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        CHECK_ERR(ecred_slist_set(&l, ones[i], 1), ECRED_OK);
    CHECK(l.nbytes == 2 && l.bytes[0] == 0xb9 && l.bytes[1] == 0xa3);
    CHECK_ERR(ecred_slist_get(&l, 13, &v), ECRED_OK);
    CHECK(v == 1);
    CHECK_ERR(ecred_slist_get(&l, 14, &v), ECRED_OK);
    CHECK(v == 0);
    /* Setting back to 0 clears only that entry. */
    CHECK_ERR(ecred_slist_set(&l, 15, 0), ECRED_OK);
    CHECK(l.bytes[1] == 0x23);
    ecred_slist_free(&l);
    CHECK(l.bytes == NULL && l.count == 0);

    /* The 2-bit example: [1,2,0,3,0,1,0,1,1,2,3,3] packs to c9 44 f9. */
    const unsigned two[] = {1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3};
    CHECK_ERR(ecred_slist_init(&l, 2, 12), ECRED_OK);
    for (size_t i = 0; i < 12; i++)
        CHECK_ERR(ecred_slist_set(&l, i, two[i]), ECRED_OK);
    CHECK(l.nbytes == 3 && l.bytes[0] == 0xc9 && l.bytes[1] == 0x44 && l.bytes[2] == 0xf9);
    /* Overwriting a 3 with a 1 must clear the high bit of the entry. */
    CHECK_ERR(ecred_slist_set(&l, 3, 1), ECRED_OK);
    CHECK(l.bytes[0] == 0x49);
    ecred_slist_free(&l);

    /* 4 and 8 bits: every value at every position within a byte. */
    const unsigned widths[] = {4, 8};
    for (size_t w = 0; w < 2; w++) {
        unsigned bits = widths[w];
        unsigned max = (1u << bits) - 1;
        CHECK_ERR(ecred_slist_init(&l, bits, 37), ECRED_OK);
        CHECK(l.nbytes == (37 * bits + 7) / 8);
        for (size_t i = 0; i < 37; i++)
            CHECK_ERR(ecred_slist_set(&l, i, (unsigned)(i * 7) & max), ECRED_OK);
        int all = 1;
        for (size_t i = 0; i < 37; i++)
            all &= ecred_slist_get(&l, i, &v) == ECRED_OK && v == ((unsigned)(i * 7) & max);
        CHECK(all);
        if (bits == 4)
            CHECK(l.bytes[0] == 0x70); /* index 0 low nibble 0, index 1 high nibble 7 */
        ecred_slist_free(&l);
    }

    /* Misuse is ECRED_ERR_ARG, and *l is untouched. */
    ecred_slist z = {0, 0, NULL, 0};
    CHECK_ERR(ecred_slist_init(&z, 3, 16), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_init(&z, 0, 16), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_init(&z, 16, 16), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_init(&z, 2, 0), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_init(&z, 2, ECRED_SLIST_MAX_ENTRIES + 1), ECRED_ERR_ARG);
    CHECK(z.bytes == NULL && z.count == 0);
    CHECK_ERR(ecred_slist_init(&l, 2, 10), ECRED_OK);
    CHECK_ERR(ecred_slist_set(&l, 10, 1), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_set(&l, SIZE_MAX, 1), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_set(&l, 9, 4), ECRED_ERR_ARG);
    CHECK_ERR(ecred_slist_set(&l, 9, 3), ECRED_OK);
    v = 77;
    CHECK_ERR(ecred_slist_get(&l, 10, &v), ECRED_ERR_ARG);
    CHECK(v == 77);
    CHECK_ERR(ecred_slist_get(&l, 9, &v), ECRED_OK);
    CHECK(v == 3);
    CHECK_ERR(ecred_slist_set(&z, 0, 0), ECRED_ERR_ARG); /* never initialised */
    ecred_buf out = ECRED_BUF_INIT;
    CHECK_ERR(ecred_slist_encode(&z, &out), ECRED_ERR_ARG);
    ecred_slist_free(&l);
    ecred_slist_free(NULL);
}

/* Our encoding is the draft's vector with its two entries in deterministic
 * order: the draft writes a2 64'bits' NN 63'lst' ..., RFC 8949 4.2.1 sorts
 * 63'lst' first. So enc must be exactly a2 + draft[7..] + draft[1..7), and
 * must start with 63 'lst' (the order the spec promises). */
static bool same_as_draft(const ecred_buf *enc, const ecred_buf *draft)
{
    static const uint8_t bits_key[] = {0xa2, 0x64, 'b', 'i', 't', 's'};
    if (draft->len < 8 || enc->len != draft->len || memcmp(draft->ptr, bits_key, sizeof bits_key) != 0 ||
        draft->ptr[6] > 0x17)
        return false;
    return enc->ptr[0] == 0xa2 && memcmp(enc->ptr + 1, draft->ptr + 7, draft->len - 7) == 0 &&
           memcmp(enc->ptr + 1 + (draft->len - 7), draft->ptr + 1, 6) == 0 && enc->ptr[1] == 0x63;
}

/* One line of ietf_lists.txt: decode, compare every entry, re-encode. */
static void check_ietf_list(char *line)
{
    char file[128], mode[16];
    unsigned bits;
    size_t entries;
    int used = 0;
    if (sscanf(line, "%127s %u %zu %15s %n", file, &bits, &entries, mode, &used) != 4) {
        fprintf(stderr, "bad line in ietf_lists.txt: %s\n", line);
        exit(2);
    }
    char rel[256];
    snprintf(rel, sizeof rel, VEC_DIR "ietf/%s", file);
    ecred_buf in = read_hex_file(rel);
    ecred_slist l;
    ecred_err e = ecred_slist_decode(in.ptr, in.len, ECRED_SLIST_MAX_ENTRIES, &l);
    CHECK_ERR(e, ECRED_OK);
    if (e) {
        fprintf(stderr, "  vector %s\n", file);
        ecred_buf_free(&in);
        return;
    }
    CHECK(l.bits == bits);
    CHECK(l.count == entries);

    /* The listed pairs. */
    ecred_slist rebuilt;
    CHECK_ERR(ecred_slist_init(&rebuilt, bits, entries), ECRED_OK);
    size_t listed = 0, mismatches = 0;
    char *p = line + used;
    for (;;) {
        size_t idx;
        unsigned want, got = 999;
        int n = 0;
        if (sscanf(p, "%zu=%u %n", &idx, &want, &n) != 2)
            break;
        p += n;
        listed++;
        if (ecred_slist_get(&l, idx, &got) != ECRED_OK || got != want) {
            mismatches++;
            fprintf(stderr, "  %s: index %zu is %u, want %u\n", file, idx, got, want);
        }
        ecred_slist_set(&rebuilt, idx, want);
    }
    CHECK(listed > 0);
    CHECK(mismatches == 0);

    /* Every entry: count the non-zero ones and, for the 8-bit list, that
     * 1..255 each occur once. */
    size_t nonzero = 0, seen[256] = {0};
    for (size_t i = 0; i < l.count; i++) {
        unsigned v = 0;
        ecred_slist_get(&l, i, &v);
        if (v) {
            nonzero++;
            seen[v & 255]++;
        }
    }
    if (strcmp(mode, "exact") == 0) {
        size_t listed_nonzero = 0;
        for (size_t i = 0; i < rebuilt.count; i++) {
            unsigned v = 0;
            ecred_slist_get(&rebuilt, i, &v);
            listed_nonzero += v != 0;
        }
        CHECK(nonzero == listed_nonzero); /* no entry set that the README omits */
        /* Built from the README's statuses alone, the encoding is the vector. */
        ecred_buf enc = ECRED_BUF_INIT;
        CHECK_ERR(ecred_slist_encode(&rebuilt, &enc), ECRED_OK);
        CHECK(same_as_draft(&enc, &in));
        ecred_buf_free(&enc);
    } else {
        int perm = nonzero == 255;
        for (unsigned v = 1; v < 256; v++)
            perm &= seen[v] == 1;
        CHECK(perm);
    }
    /* Re-encoding the decoded list reproduces the vector byte for byte. */
    ecred_buf enc = ECRED_BUF_INIT;
    CHECK_ERR(ecred_slist_encode(&l, &enc), ECRED_OK);
    CHECK(same_as_draft(&enc, &in));
    if (!same_as_draft(&enc, &in))
        fprintf(stderr, "  re-encoding of %s differs\n", file);

    /* A cap just below the list's size refuses it; the exact size accepts it. */
    ecred_slist capped;
    CHECK_ERR(ecred_slist_decode(in.ptr, in.len, entries - 1, &capped), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_slist_decode(in.ptr, in.len, entries, &capped), ECRED_OK);
    ecred_slist_free(&capped);

    ecred_buf_free(&enc);
    ecred_slist_free(&rebuilt);
    ecred_slist_free(&l);
    ecred_buf_free(&in);
}

static void test_ietf_lists(void)
{
    ecred_buf text = check_read_source_file(VEC_DIR "ietf_lists.txt");
    char *cursor = (char *)text.ptr, *comment, *line;
    int n = 0;
    while ((line = next_line(&cursor, &comment)) != NULL) {
        check_ietf_list(line);
        n++;
    }
    CHECK(n == 6);
    ecred_buf_free(&text);
}

static void test_decode_vectors(void)
{
    ecred_buf text = check_read_source_file(VEC_DIR "decode.txt");
    char *cursor = (char *)text.ptr, *comment, *line;
    int n = 0;
    while ((line = next_line(&cursor, &comment)) != NULL) {
        char *space = strchr(line, ' ');
        if (!space) {
            fprintf(stderr, "bad line in decode.txt\n");
            exit(2);
        }
        *space = '\0';
        ecred_err want = check_err_named(space + 1);
        ecred_buf in = check_hex(line);
        ecred_slist l = {0, 0, NULL, 0};
        ecred_err got = ecred_slist_decode(in.ptr ? in.ptr : (const uint8_t *)"", in.len,
                                           ECRED_SLIST_MAX_ENTRIES, &l);
        CHECK_ERR(got, want);
        if (got != want)
            fprintf(stderr, "  decode.txt: %s\n", comment);
        if (got == ECRED_OK) {
            /* The accepted cases all carry the draft's b9 a3 list. */
            CHECK(l.bits == 1 && l.count == 16 && l.bytes[0] == 0xb9 && l.bytes[1] == 0xa3);
            ecred_slist_free(&l);
        } else {
            CHECK(l.bytes == NULL); /* out written only on success */
        }
        ecred_buf_free(&in);
        n++;
    }
    CHECK(n >= 30);
    ecred_buf_free(&text);
}

/* A list whose lst inflates past the cap must stop at the cap. */
static void test_bomb(void)
{
    /* 16 MiB + 1 of zeros is the smallest 1-bit list over ECRED_SLIST_MAX_ENTRIES
     * (2^27 entries = 16 MiB); it deflates to some 16 KiB. */
    size_t raw_len = ((size_t)16 << 20) + 1;
    uint8_t *zeros = calloc(raw_len, 1);
    CHECK(zeros != NULL);
    if (!zeros)
        return;
    ecred_buf z = ECRED_BUF_INIT, cbor = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(zeros, raw_len, 9, ecred_span_of(NULL, 0), &z), ECRED_OK);
    free(zeros);
    CHECK(z.len < 65536);
    /* {"bits": 1, "lst": h'...'} with a 2-byte bstr length. */
    const uint8_t head[] = {0xa2, 0x64, 'b', 'i', 't', 's', 0x01, 0x63, 'l', 's', 't', 0x59,
                            (uint8_t)(z.len >> 8), (uint8_t)z.len};
    ecred_buf_append(&cbor, head, sizeof head);
    ecred_buf_append(&cbor, z.ptr, z.len);
    ecred_slist l = {0, 0, NULL, 0};
    CHECK_ERR(ecred_slist_decode(cbor.ptr, cbor.len, ECRED_SLIST_MAX_ENTRIES, &l),
              ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_slist_decode(cbor.ptr, cbor.len, SIZE_MAX, &l), ECRED_ERR_TOO_LARGE);
    /* A verifier expecting at most 2^17 entries refuses it far earlier. */
    CHECK_ERR(ecred_slist_decode(cbor.ptr, cbor.len, ECRED_SLIST_MIN_ENTRIES, &l),
              ECRED_ERR_TOO_LARGE);
    CHECK(l.bytes == NULL);
    CHECK_ERR(ecred_slist_decode(cbor.ptr, cbor.len, 0, &l), ECRED_ERR_ARG);
    ecred_buf_free(&z);
    ecred_buf_free(&cbor);
}

/* Offset of the bytes of s within b (SIZE_MAX if absent). */
static size_t find_span(const ecred_buf *b, ecred_span s)
{
    for (size_t i = 0; s.len > 0 && i + s.len <= b->len; i++)
        if (memcmp(b->ptr + i, s.ptr, s.len) == 0)
            return i;
    return SIZE_MAX;
}

/* The draft's signed Status List Token in CWT form, and forgeries of it. */
static void test_ietf_token(void)
{
    ecred_buf tok = read_hex_file(VEC_DIR "ietf/status_list_cwt.hex");
    ecred_key *key = NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/" VEC_DIR "ietf/example-key.pub.pem", ECRED_SOURCE_DIR);
    CHECK_ERR(ecred_key_public_load(path, &key), ECRED_OK);
    if (!key) {
        ecred_buf_free(&tok);
        return;
    }

    ecred_slist_token t;
    memset(&t, 0, sizeof t);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_NOW, &t), ECRED_OK);
    CHECK(strcmp(t.uri, "https://example.com/statuslists/1") == 0);
    CHECK(t.iat == 1686920170);
    CHECK(t.exp == IETF_EXP);
    CHECK(t.ttl == 43200);
    /* lst 78dadbb918000217015d is zlib(b9 a3): 16 one-bit entries. */
    CHECK(t.list.bits == 1 && t.list.count == 16 && t.list.nbytes == 2);
    CHECK(t.list.bytes && t.list.bytes[0] == 0xb9 && t.list.bytes[1] == 0xa3);
    unsigned v = 9;
    CHECK_ERR(ecred_slist_get(&t.list, 0, &v), ECRED_OK);
    CHECK(v == 1); /* the referenced token's idx 0 is INVALID */
    CHECK_ERR(ecred_slist_get(&t.list, 1, &v), ECRED_OK);
    CHECK(v == 0);
    ecred_slist_free(&t.list);

    /* exp is the first second the token is no longer valid. */
    ecred_slist_token t2;
    memset(&t2, 0, sizeof t2);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_EXP, &t2),
              ECRED_ERR_LIST_EXPIRED);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_EXP + 86400, &t2),
              ECRED_ERR_LIST_EXPIRED);
    CHECK(t2.list.bytes == NULL && t2.uri[0] == '\0');
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_EXP - 1, &t2), ECRED_OK);
    ecred_slist_free(&t2.list);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, -1, &t2), ECRED_OK);
    ecred_slist_free(&t2.list);

    uint8_t kid[ECRED_COSE_KID_MAX];
    size_t kid_len = 0;
    CHECK_ERR(ecred_slist_token_kid(tok.ptr, tok.len, kid, &kid_len), ECRED_OK);
    CHECK(kid_len == 2 && kid[0] == '1' && kid[1] == '2');

    /* Forgeries: flip every bit pattern 0x01 in every byte of the payload and
     * the signature; each must be ECRED_ERR_SIGNATURE_INVALID. */
    ecred_cose_sign1 msg;
    CHECK_ERR(ecred_cose_sign1_decode(tok.ptr, tok.len, NULL, &msg), ECRED_OK);
    /* The spans may point into the decoder's copy: find them in the input. */
    size_t pay_len = msg.payload.len, sig_len = msg.signature.len;
    size_t prot_len = msg.protected_bytes.len;
    size_t pay_off = find_span(&tok, msg.payload), sig_off = find_span(&tok, msg.signature);
    size_t prot_off = find_span(&tok, msg.protected_bytes);
    ecred_cose_sign1_clear(&msg);
    CHECK(pay_len == 80 && sig_len == 64 && prot_len == 32);
    CHECK(pay_off < tok.len && prot_off < tok.len && sig_off + sig_len == tok.len);
    if (pay_off >= tok.len || prot_off >= tok.len || sig_off >= tok.len) {
        ecred_key_free(key);
        ecred_buf_free(&tok);
        return;
    }
    size_t bad = 0;
    for (size_t i = 0; i < pay_len; i++) {
        tok.ptr[pay_off + i] ^= 0x01;
        ecred_err e = ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_NOW, &t2);
        if (e != ECRED_ERR_SIGNATURE_INVALID) {
            bad++;
            fprintf(stderr, "  payload byte %zu flipped: %s\n", i, ecred_err_name(e));
        }
        tok.ptr[pay_off + i] ^= 0x01;
    }
    for (size_t i = 0; i < sig_len; i++) {
        tok.ptr[sig_off + i] ^= 0x80;
        ecred_err e = ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_NOW, &t2);
        if (e != ECRED_ERR_SIGNATURE_INVALID) {
            bad++;
            fprintf(stderr, "  signature byte %zu flipped: %s\n", i, ecred_err_name(e));
        }
        tok.ptr[sig_off + i] ^= 0x80;
    }
    CHECK(bad == 0);
    /* A changed protected header never verifies (it may fail earlier). */
    size_t accepted = 0;
    for (size_t i = 0; i < prot_len; i++) {
        tok.ptr[prot_off + i] ^= 0x01;
        if (ecred_slist_token_verify(tok.ptr, tok.len, key, IETF_NOW, &t2) == ECRED_OK) {
            accepted++;
            ecred_slist_free(&t2.list);
        }
        tok.ptr[prot_off + i] ^= 0x01;
    }
    CHECK(accepted == 0);
    /* Truncated or extended tokens. */
    CHECK(ecred_slist_token_verify(tok.ptr, tok.len - 1, key, IETF_NOW, &t2) != ECRED_OK);
    ecred_buf longer = ECRED_BUF_INIT;
    ecred_buf_append(&longer, tok.ptr, tok.len);
    ecred_buf_append(&longer, "", 1);
    CHECK_ERR(ecred_slist_token_verify(longer.ptr, longer.len, key, IETF_NOW, &t2),
              ECRED_ERR_CBOR);
    ecred_buf_free(&longer);

    /* The draft's referenced token is signed by the same key but has no typ:
     * it must not pass as a status list token. */
    ecred_buf ref = read_hex_file(VEC_DIR "ietf/referenced_token_cwt.hex");
    CHECK_ERR(ecred_slist_token_verify(ref.ptr, ref.len, key, IETF_NOW, &t2),
              ECRED_ERR_STATUS_LIST);
    ecred_buf_free(&ref);

    /* Another key: a well-formed token that does not verify. */
    ecred_key *other = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &other), ECRED_OK);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, other, IETF_NOW, &t2),
              ECRED_ERR_SIGNATURE_INVALID);
    ecred_key_free(other);
    ecred_key_free(key);
    ecred_buf_free(&tok);
}

/* Sign a 2^17-entry 2-bit list as the issuer will, verify it, compare. */
static void test_roundtrip(int alg)
{
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_generate(alg, &key), ECRED_OK);
    if (!key)
        return;
    ecred_slist_token in;
    memset(&in, 0, sizeof in);
    snprintf(in.uri, sizeof in.uri, "https://issuer.example/status/7");
    in.iat = 1750000000;
    in.exp = 1750086400;
    in.ttl = 3600;
    CHECK_ERR(ecred_slist_init(&in.list, ECRED_SLIST_BITS, ECRED_SLIST_MIN_ENTRIES), ECRED_OK);
    uint8_t rnd[4 * 2000];
    CHECK_ERR(ecred_random(rnd, sizeof rnd), ECRED_OK);
    for (size_t i = 0; i < 2000; i++) {
        size_t idx = ((size_t)rnd[4 * i] | (size_t)rnd[4 * i + 1] << 8 |
                      (size_t)rnd[4 * i + 2] << 16) % ECRED_SLIST_MIN_ENTRIES;
        unsigned value = i % 2 ? ECRED_STATUS_SUSPENDED : ECRED_STATUS_INVALID;
        CHECK_ERR(ecred_slist_set(&in.list, idx, value), ECRED_OK);
    }
    ecred_buf tok = ECRED_BUF_INIT;
    CHECK_ERR(ecred_slist_token_sign(key, &in, &tok), ECRED_OK);
    CHECK(tok.len > 0 && tok.len < ECRED_SLIST_TOKEN_MAX);
    /* A full-size list travels run-length coded (spec/statuslist.md section
     * 1): it decodes to the same entries (below), at most ~15 % over the
     * level-9 encoding plus the token's own bytes. */
    ecred_buf l9 = ECRED_BUF_INIT;
    CHECK_ERR(ecred_slist_encode(&in.list, &l9), ECRED_OK);
    CHECK(tok.len < l9.len * 115 / 100 + 300);
    ecred_buf_free(&l9);

    ecred_slist_token out;
    memset(&out, 0, sizeof out);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, in.iat + 10, &out), ECRED_OK);
    CHECK(strcmp(out.uri, in.uri) == 0);
    CHECK(out.iat == in.iat && out.exp == in.exp && out.ttl == in.ttl);
    CHECK(out.list.bits == 2 && out.list.count == ECRED_SLIST_MIN_ENTRIES);
    CHECK(out.list.nbytes == in.list.nbytes &&
          memcmp(out.list.bytes, in.list.bytes, in.list.nbytes) == 0);
    ecred_slist_free(&out.list);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, in.exp, &out),
              ECRED_ERR_LIST_EXPIRED);

    /* Headers: typ protected, kid unprotected (as the draft's example). */
    ecred_cose_sign1 msg;
    CHECK_ERR(ecred_cose_sign1_decode(tok.ptr, tok.len, NULL, &msg), ECRED_OK);
    CHECK(strcmp(msg.typ, ECRED_SLIST_TYP) == 0);
    CHECK(msg.alg == alg);
    CHECK(msg.kid_len == ECRED_KID_LEN && !msg.kid_protected &&
          memcmp(msg.kid, ecred_key_kid(key), ECRED_KID_LEN) == 0);
    /* The same payload under another typ, or none, is not a status list. */
    ecred_buf payload = ECRED_BUF_INIT;
    ecred_buf_append(&payload, msg.payload.ptr, msg.payload.len);
    ecred_cose_sign1_clear(&msg);
    ecred_cose_sign_opts opts = {false, false, "application/cwt"};
    ecred_buf wrong = ECRED_BUF_INIT;
    CHECK_ERR(ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, &wrong), ECRED_OK);
    CHECK_ERR(ecred_slist_token_verify(wrong.ptr, wrong.len, key, in.iat, &out),
              ECRED_ERR_STATUS_LIST);
    opts.typ = "application/statuslist+jwt";
    CHECK_ERR(ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, &wrong), ECRED_OK);
    CHECK_ERR(ecred_slist_token_verify(wrong.ptr, wrong.len, key, in.iat, &out),
              ECRED_ERR_STATUS_LIST);
    opts.typ = NULL;
    CHECK_ERR(ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, &wrong), ECRED_OK);
    CHECK_ERR(ecred_slist_token_verify(wrong.ptr, wrong.len, key, in.iat, &out),
              ECRED_ERR_STATUS_LIST);
    opts.typ = ECRED_SLIST_TYP; /* and the control: the right typ verifies */
    CHECK_ERR(ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, &wrong), ECRED_OK);
    CHECK_ERR(ecred_slist_token_verify(wrong.ptr, wrong.len, key, in.iat, &out), ECRED_OK);
    ecred_slist_free(&out.list);
    ecred_buf_free(&wrong);
    ecred_buf_free(&payload);

    uint8_t kid[ECRED_COSE_KID_MAX];
    size_t kid_len = 0;
    CHECK_ERR(ecred_slist_token_kid(tok.ptr, tok.len, kid, &kid_len), ECRED_OK);
    CHECK(kid_len == ECRED_KID_LEN && memcmp(kid, ecred_key_kid(key), ECRED_KID_LEN) == 0);

    ecred_buf_free(&tok);
    ecred_slist_free(&in.list);
    ecred_key_free(key);
}

/* The payload we sign is deterministic: claims 2, 4, 6, 65533, 65534. */
static void test_payload_bytes(void)
{
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &key), ECRED_OK);
    if (!key)
        return;
    ecred_slist_token in;
    memset(&in, 0, sizeof in);
    snprintf(in.uri, sizeof in.uri, "https://example.com/statuslists/1");
    in.iat = 1686920170;
    in.exp = IETF_EXP;
    in.ttl = 43200;
    CHECK_ERR(ecred_slist_init(&in.list, 1, 16), ECRED_OK);
    const size_t ones[] = {0, 3, 4, 5, 7, 8, 9, 13, 15};
    for (size_t i = 0; i < sizeof ones / sizeof ones[0]; i++)
        ecred_slist_set(&in.list, ones[i], 1);
    ecred_buf tok = ECRED_BUF_INIT;
    CHECK_ERR(ecred_slist_token_sign(key, &in, &tok), ECRED_OK);
    /* The draft's example claims, reordered by encoded key, and its
     * StatusList map likewise ("lst" before "bits"). */
    ecred_buf want = check_hex("a5"
                               "02782168747470733a2f2f6578616d706c652e636f6d2f7374617475736c697374732f31"
                               "041a8898dfea"
                               "061a648c5bea"
                               "19fffda2636c73744a78dadbb918000217015d646269747301"
                               "19fffe19a8c0");
    ecred_cose_sign1 msg;
    CHECK_ERR(ecred_cose_sign1_decode(tok.ptr, tok.len, NULL, &msg), ECRED_OK);
    CHECK(msg.payload.len == want.len && memcmp(msg.payload.ptr, want.ptr, want.len) == 0);
    ecred_cose_sign1_clear(&msg);
    ecred_buf_free(&tok);

    /* exp and ttl 0 are left out. */
    in.exp = 0;
    in.ttl = 0;
    CHECK_ERR(ecred_slist_token_sign(key, &in, &tok), ECRED_OK);
    ecred_buf want2 = check_hex("a3"
                                "02782168747470733a2f2f6578616d706c652e636f6d2f7374617475736c697374732f31"
                                "061a648c5bea"
                                "19fffda2636c73744a78dadbb918000217015d646269747301");
    CHECK_ERR(ecred_cose_sign1_decode(tok.ptr, tok.len, NULL, &msg), ECRED_OK);
    CHECK(msg.payload.len == want2.len && memcmp(msg.payload.ptr, want2.ptr, want2.len) == 0);
    ecred_cose_sign1_clear(&msg);
    ecred_slist_token out;
    memset(&out, 0, sizeof out);
    CHECK_ERR(ecred_slist_token_verify(tok.ptr, tok.len, key, INT64_MAX, &out), ECRED_OK);
    CHECK(out.exp == 0 && out.ttl == 0);
    ecred_slist_free(&out.list);
    ecred_buf_free(&tok);

    /* Signer misuse. */
    ecred_slist_token bad = in;
    bad.uri[0] = '\0';
    CHECK_ERR(ecred_slist_token_sign(key, &bad, &tok), ECRED_ERR_ARG);
    bad = in;
    memset(bad.uri, 'a', sizeof bad.uri); /* no terminator within the array */
    CHECK_ERR(ecred_slist_token_sign(key, &bad, &tok), ECRED_ERR_ARG);
    bad = in;
    bad.iat = -1;
    CHECK_ERR(ecred_slist_token_sign(key, &bad, &tok), ECRED_ERR_ARG);
    bad = in;
    bad.ttl = -1;
    CHECK_ERR(ecred_slist_token_sign(key, &bad, &tok), ECRED_ERR_ARG);
    bad = in;
    bad.list.bits = 3;
    CHECK_ERR(ecred_slist_token_sign(key, &bad, &tok), ECRED_ERR_ARG);
    CHECK(tok.len == 0);

    ecred_buf_free(&want);
    ecred_buf_free(&want2);
    ecred_slist_free(&in.list);
    ecred_key_free(key);
}

/* Each claims set of token_claims.txt, signed by us, verified at CLAIMS_NOW. */
static void test_claims_vectors(void)
{
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &key), ECRED_OK);
    if (!key)
        return;
    const ecred_cose_sign_opts opts = {false, false, ECRED_SLIST_TYP};
    ecred_buf text = check_read_source_file(VEC_DIR "token_claims.txt");
    char *cursor = (char *)text.ptr, *comment, *line;
    int n = 0;
    while ((line = next_line(&cursor, &comment)) != NULL) {
        char *space = strchr(line, ' ');
        if (!space) {
            fprintf(stderr, "bad line in token_claims.txt\n");
            exit(2);
        }
        *space = '\0';
        ecred_err want = check_err_named(space + 1);
        ecred_buf payload = check_hex(line);
        ecred_buf tok = ECRED_BUF_INIT;
        CHECK_ERR(ecred_cose_sign1_sign(key, &opts, payload.ptr ? payload.ptr : (const uint8_t *)"",
                                        payload.len, &tok),
                  ECRED_OK);
        ecred_slist_token out;
        memset(&out, 0, sizeof out);
        ecred_err got = ecred_slist_token_verify(tok.ptr, tok.len, key, CLAIMS_NOW, &out);
        CHECK_ERR(got, want);
        if (got != want)
            fprintf(stderr, "  token_claims.txt: %s\n", comment);
        if (got == ECRED_OK) {
            CHECK(out.list.count == 16 && out.iat == 1686920170);
            ecred_slist_free(&out.list);
        } else {
            CHECK(out.list.bytes == NULL && out.uri[0] == '\0');
        }
        ecred_buf_free(&tok);
        ecred_buf_free(&payload);
        n++;
    }
    CHECK(n >= 30);
    ecred_buf_free(&text);

    /* sub of exactly ECRED_SLIST_URI_MAX bytes is accepted, one more is not. */
    for (size_t len = ECRED_SLIST_URI_MAX; len <= ECRED_SLIST_URI_MAX + 1; len++) {
        ecred_buf p = ECRED_BUF_INIT;
        const uint8_t head[] = {0xa3, 0x02, 0x79, (uint8_t)(len >> 8), (uint8_t)len};
        ecred_buf_append(&p, head, sizeof head);
        for (size_t i = 0; i < len; i++)
            ecred_buf_append(&p, "u", 1);
        ecred_buf rest = check_hex("061a648c5bea19fffda2646269747301636c73744a78dadbb918000217015d");
        ecred_buf_append(&p, rest.ptr, rest.len);
        ecred_buf tok = ECRED_BUF_INIT;
        CHECK_ERR(ecred_cose_sign1_sign(key, &opts, p.ptr, p.len, &tok), ECRED_OK);
        ecred_slist_token out;
        memset(&out, 0, sizeof out);
        ecred_err e = ecred_slist_token_verify(tok.ptr, tok.len, key, CLAIMS_NOW, &out);
        if (len == ECRED_SLIST_URI_MAX) {
            CHECK_ERR(e, ECRED_OK);
            CHECK(strlen(out.uri) == ECRED_SLIST_URI_MAX);
            ecred_slist_free(&out.list);
        } else {
            CHECK_ERR(e, ECRED_ERR_CLAIMS);
        }
        ecred_buf_free(&rest);
        ecred_buf_free(&tok);
        ecred_buf_free(&p);
    }
    ecred_key_free(key);
}

static double seconds_since(clock_t start)
{
    return (double)(clock() - start) / CLOCKS_PER_SEC;
}

/* 10 M entries at 2 bits: encode and decode must stay well under seconds. */
static void test_speed(void)
{
    const size_t count = 10u * 1000u * 1000u;
    ecred_slist l, back;
    CHECK_ERR(ecred_slist_init(&l, 2, count), ECRED_OK);
    if (!l.bytes)
        return;
    /* About 1% revoked or suspended, spread by a fixed LCG so runs compare. */
    uint64_t x = 12345;
    for (size_t i = 0; i < count / 100; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        ecred_slist_set(&l, (size_t)(x >> 33) % count, (unsigned)(x >> 20) % 2 + 1);
    }
    ecred_buf enc = ECRED_BUF_INIT;
    clock_t t0 = clock();
    CHECK_ERR(ecred_slist_encode(&l, &enc), ECRED_OK);
    double t_enc = seconds_since(t0);
    t0 = clock();
    CHECK_ERR(ecred_slist_decode(enc.ptr, enc.len, ECRED_SLIST_MAX_ENTRIES, &back), ECRED_OK);
    double t_dec = seconds_since(t0);
    CHECK(back.count == count && back.nbytes == l.nbytes &&
          memcmp(back.bytes, l.bytes, l.nbytes) == 0);
    printf("10M x 2-bit list: %zu bytes encoded, encode %.3f s, decode %.3f s\n", enc.len, t_enc,
           t_dec);
    /* Generous bounds so sanitizer builds pass; the plain build takes ~0.1 s. */
    CHECK(t_enc < 5.0);
    CHECK(t_dec < 5.0);
    ecred_slist_free(&back);
    ecred_slist_free(&l);
    ecred_buf_free(&enc);
}

int main(void)
{
    test_packing();
    test_ietf_lists();
    test_decode_vectors();
    test_bomb();
    test_ietf_token();
    test_roundtrip(ECRED_COSE_ALG_ES256);
    test_roundtrip(ECRED_COSE_ALG_EDDSA);
    test_payload_bytes();
    test_claims_vectors();
    test_speed();
    return check_finish();
}
