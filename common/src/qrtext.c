/*
 * qrtext.c - the text a QR code carries: "RC1:" + base45 of a COSE_Sign1,
 * optionally zlib-compressed with an RC1 preset dictionary
 * (spec/credential.md section 2). The text <-> COSE-bytes layer only: it
 * must never know about claims or keys (the issue path is issue.c).
 *
 * How a verifier tells the two apart without a flag: after base45, a tagged
 * COSE_Sign1 starts with 0xD2 (major type 6, tag 18) and a zlib stream with
 * the CMF byte 0x78 (deflate, 32 KiB window). No other first byte is accepted.
 */
#include "ecred/qrtext.h"

#include <string.h>

#include "ecred/b45.h"
#include "ecred/zcap.h"

/*
 * The RC1 preset dictionaries: byte sequences that recur in every credential,
 * in increasing order of how often they recur, because deflate codes nearer
 * matches (the dictionary's end) more cheaply. A zlib stream names its
 * dictionary by DICTID (Adler-32), so a dictionary is versioned by it: v1
 * (spec/rc1-dictionary.hex) assumed status lists at `/s/N`, which
 * ecred-issuerd never served; v2 (spec/rc1-dictionary-v2.hex) is v1 with the
 * URI the daemon really writes, `/status/N`. Issuers write v2; verifiers read
 * both for ever (credentials issued with v1 stay readable). A unit test keeps
 * each equal to its .hex file.
 */
#define RC1_DICT_HEAD                                                                              \
    /* Shanghai district police branches: the issuing authorities. */                             \
    "上海市公安局浦东分局上海市公安局黄浦分局上海市公安局静安分局上海市公安局徐汇分局"             \
    "上海市公安局长宁分局上海市公安局普陀分局上海市公安局虹口分局上海市公安局杨浦分局"             \
    "上海市公安局宝山分局上海市公安局闵行分局上海市公安局嘉定分局上海市公安局金山分局"             \
    "上海市公安局松江分局上海市公安局青浦分局上海市公安局奉贤分局上海市公安局崇明分局"             \
    /* Words of Shanghai street addresses. */                                                       \
    "街道镇村新村小区公寓大厦花园苑中路东路西路南路北路大道支路弄号楼室幢单元层"
/* Structure: the COSE_Sign1 head with ES256 and an 8-byte kid, the claims
 * map head, status claim, cnf with a compressed P-256 key, the credential
 * claim head. */
#define RC1_DICT_STRUCT                                                                            \
    "\xd2\x84\x4d\xa2\x01\x26\x04\x48"                                                             \
    "\x08\xa1\x01\xa4\x01\x02\x20\x01\x21\x58\x20"                                                 \
    "\x22\xf5\x22\xf4"                                                                             \
    "\x19\xff\xff\xa1\x6b" "status_list" "\xa2\x63" "idx" "\x1a\x00" "\x63" "uri"
#define RC1_DICT_TAIL "\x3a\x00\x01\x00\x00\xab\x01\x02\x02" \
                      "\x04\x1a\x00\x04\x83\x03\x19\x05\x05\x06\x1a\x07\x48\x40\x58\x01"

/* v1: the reference deployment's URIs as first (wrongly) assumed. */
static const uint8_t rc1_dictionary[] =
    RC1_DICT_HEAD "https://jzz.sh.gov.cn/s/" RC1_DICT_STRUCT "\x78\x1a" "https://jzz.sh.gov.cn/s/" RC1_DICT_TAIL;
/* v2: text(30) "https://jzz.sh.gov.cn/status/N", as ecred-issuerd writes. */
static const uint8_t rc1_dictionary_v2[] =
    RC1_DICT_HEAD "https://jzz.sh.gov.cn/status/" RC1_DICT_STRUCT "\x78\x1e"
                  "https://jzz.sh.gov.cn/status/" RC1_DICT_TAIL;

ecred_span ecred_rc1_dictionary(void)
{
    /* sizeof includes the literal's terminating NUL, which is not part of it. */
    return ecred_span_of(rc1_dictionary, sizeof rc1_dictionary - 1);
}

ecred_span ecred_rc1_dictionary_v2(void)
{
    return ecred_span_of(rc1_dictionary_v2, sizeof rc1_dictionary_v2 - 1);
}

/* The dictionary a zlib stream names: v2 when its FDICT DICTID is v2's, v1
 * otherwise (a stream naming neither then fails in ecred_zlib_inflate, as
 * one naming no dictionary inflates without it). */
static ecred_span dictionary_for(const uint8_t *z, size_t n)
{
    ecred_span v2 = ecred_rc1_dictionary_v2();
    if (n >= 6 && (z[1] & 0x20)) {
        uint32_t id = (uint32_t)z[2] << 24 | (uint32_t)z[3] << 16 | (uint32_t)z[4] << 8 | z[5];
        if (id == ecred_zlib_dictid(v2))
            return v2;
    }
    return ecred_rc1_dictionary();
}

#define PREFIX_LEN (sizeof ECRED_QRTEXT_PREFIX - 1)

static ecred_err append_b45(const ecred_buf *bin, ecred_buf *text)
{
    ecred_buf b45 = ECRED_BUF_INIT;
    ecred_buf t = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_encode(bin->ptr, bin->len, &b45);
    if (!e)
        e = ecred_buf_append(&t, ECRED_QRTEXT_PREFIX, PREFIX_LEN);
    if (!e)
        e = ecred_buf_append(&t, b45.ptr, b45.len);
    if (!e)
        e = ecred_buf_terminate(&t);
    ecred_buf_free(&b45);
    if (e) {
        ecred_buf_free(&t);
        return e;
    }
    ecred_buf_free(text);
    *text = t;
    return ECRED_OK;
}

ecred_err ecred_qrtext_encode(const uint8_t *cose, size_t n, ecred_compress mode, ecred_buf *text)
{
    if (n == 0 || n > ECRED_COSE_MAX || cose[0] != 0xd2)
        return ECRED_ERR_ARG;
    ecred_buf raw = ECRED_BUF_INIT, z = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_set(&raw, cose, n);
    if (e)
        goto out;
    if (mode != ECRED_COMPRESS_NONE) {
        ecred_span dict = mode == ECRED_COMPRESS_PLAIN ? ecred_span_of(NULL, 0) : ecred_rc1_dictionary_v2();
        e = ecred_zlib_compress(cose, n, 9, dict, &z);
        if (e)
            goto out;
    }
    /* AUTO keeps whichever is shorter; ties go to the uncompressed form,
     * which costs the verifier nothing to read. */
    bool use_z = mode == ECRED_COMPRESS_DICT || mode == ECRED_COMPRESS_PLAIN ||
                 (mode == ECRED_COMPRESS_AUTO && z.len < raw.len);
    e = append_b45(use_z ? &z : &raw, text);
out:
    ecred_buf_free(&raw);
    ecred_buf_free(&z);
    return e;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

ecred_err ecred_qrtext_decode(const char *text, size_t n, bool any_prefix, ecred_buf *cose,
                              bool *compressed)
{
    if (n > ECRED_QRTEXT_MAX)
        return ECRED_ERR_TOO_LARGE;
    while (n && is_space(text[0]))
        text++, n--;
    while (n && is_space(text[n - 1]))
        n--;
    size_t plen;
    if (any_prefix) {
        const char *colon = memchr(text, ':', n < 9 ? n : 9);
        if (!colon || colon == text)
            return ECRED_ERR_NOT_OUR_FORMAT;
        plen = (size_t)(colon - text) + 1;
        for (size_t i = 0; i + 1 < plen; i++)
            if (!((text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= '0' && text[i] <= '9')))
                return ECRED_ERR_NOT_OUR_FORMAT;
    } else {
        if (n < PREFIX_LEN || memcmp(text, ECRED_QRTEXT_PREFIX, PREFIX_LEN) != 0)
            return ECRED_ERR_NOT_OUR_FORMAT;
        plen = PREFIX_LEN;
    }
    ecred_buf bin = ECRED_BUF_INIT, out = ECRED_BUF_INIT;
    ecred_err e = ecred_b45_decode(text + plen, n - plen, &bin);
    if (e)
        goto fail;
    bool z = false;
    if (bin.len == 0) {
        e = ECRED_ERR_COSE_STRUCTURE;
        goto fail;
    }
    if (bin.ptr[0] == 0x78) {
        /* zlib: inflate with the RC1 dictionary the stream names (v1 or v2);
         * a stream that asks for another dictionary fails inside
         * ecred_zlib_inflate. */
        e = ecred_zlib_inflate(bin.ptr, bin.len, ECRED_COSE_MAX, dictionary_for(bin.ptr, bin.len), &out);
        if (e)
            goto fail;
        z = true;
    } else if (bin.ptr[0] == 0xd2 || any_prefix) {
        out = bin;
        bin = (ecred_buf)ECRED_BUF_INIT;
    } else {
        e = ECRED_ERR_COSE_STRUCTURE;
        goto fail;
    }
    ecred_buf_free(&bin);
    ecred_buf_free(cose);
    *cose = out;
    if (compressed)
        *compressed = z;
    return ECRED_OK;
fail:
    ecred_buf_free(&bin);
    ecred_buf_free(&out);
    return e;
}
