/*
 * test_credential.c - the credential and CWT claims layer: examples round trip
 * byte for byte, every JSON field is refused by name when wrong
 * (vectors/credential/json-invalid.txt), every claims rejection path
 * (vectors/credential/claims.txt), dates and times, the RC1 dictionary.
 */
#include <jansson.h>

#include "check.h"
#include "ecred/b45.h"
#include "ecred/cborin.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/qrtext.h"
#include "ecred/zcap.h"

static const char *const examples[] = {"spec/examples/permit-rental.json",
                                       "spec/examples/permit-relative.json",
                                       "spec/examples/registration-own.json"};

static void test_examples(void)
{
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        ecred_buf json = check_read_source_file(examples[i]);
        ecred_field_error field;
        ecred_claims c;
        memset(&c, 0, sizeof c);
        CHECK_ERR(ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, &field), ECRED_OK);
        strcpy(c.iss, "https://jzz.sh.gov.cn");
        c.iat = ecred_cst_day_start(c.cred.valid_from) + 3600;
        c.cti_len = 8;
        memset(c.cti, 0xab, 8);
        c.has_status = true;
        c.status_idx = 131071;
        strcpy(c.status_uri, "https://jzz.sh.gov.cn/s/1");
        c.has_cnf = i == 0;
        memset(c.cnf_x, 7, 32);

        ecred_buf cbor = ECRED_BUF_INIT, again = ECRED_BUF_INIT, js = ECRED_BUF_INIT;
        CHECK_ERR(ecred_claims_encode(&c, &cbor), ECRED_OK);
        ecred_claims d;
        CHECK_ERR(ecred_claims_decode(cbor.ptr, cbor.len, &d), ECRED_OK);
        CHECK_ERR(ecred_claims_encode(&d, &again), ECRED_OK);
        CHECK(cbor.len == again.len && memcmp(cbor.ptr, again.ptr, cbor.len) == 0);
        CHECK(memcmp(&c.cred, &d.cred, sizeof c.cred) == 0);
        CHECK(d.iat == c.iat && d.status_idx == 131071 && d.has_cnf == c.has_cnf);
        CHECK(d.nbf == ecred_cst_day_start(c.cred.valid_from));
        CHECK(d.exp == ecred_cst_day_start(c.cred.valid_until + 1));

        /* JSON out and in again gives the same credential. */
        CHECK_ERR(ecred_credential_to_json(&d.cred, &js), ECRED_OK);
        ecred_credential back;
        CHECK_ERR(ecred_credential_from_json((const char *)js.ptr, js.len, &back, &field), ECRED_OK);
        CHECK(memcmp(&back, &d.cred, sizeof back) == 0);

        /* Validity starting on an earlier day than iat carries nbf. */
        c.iat += 2 * 86400;
        CHECK_ERR(ecred_claims_encode(&c, &again), ECRED_OK);
        CHECK(again.len == cbor.len + 6);
        CHECK_ERR(ecred_claims_decode(again.ptr, again.len, &d), ECRED_OK);
        CHECK(d.cred.valid_from == c.cred.valid_from);
        /* Issuing an already expired credential is refused. */
        c.iat = ecred_cst_day_start(c.cred.valid_until + 1);
        CHECK_ERR(ecred_claims_encode(&c, &again), ECRED_ERR_CLAIMS);
        ecred_buf_free(&cbor);
        ecred_buf_free(&again);
        ecred_buf_free(&js);
        ecred_buf_free(&json);
    }
}

static void test_json_invalid(void)
{
    ecred_buf f = check_read_source_file("tests/vectors/credential/json-invalid.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)f.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = 0;
        const char *json = tab + 1;
        ecred_field_error field;
        ecred_credential c;
        memset(&c, 0x5a, sizeof c);
        ecred_credential before = c;
        ecred_err e = ecred_credential_from_json(json, strlen(json), &c, &field);
        CHECK_ERR(e, ECRED_ERR_INPUT);
        if (strcmp(field.field, line) != 0)
            fprintf(stderr, "json case for '%s' named field '%s'\n", line, field.field);
        CHECK(strcmp(field.field, line) == 0);
        CHECK(field.why[0] != 0); /* every refusal says why */
        CHECK(memcmp(&c, &before, sizeof c) == 0); /* out untouched on failure */
        cases++;
    }
    CHECK(cases >= 40);
    ecred_buf_free(&f);
}

/* Each line of json-why.txt names the exact kind, field and reason. */
static void test_json_why(void)
{
    ecred_buf f = check_read_source_file("tests/vectors/credential/json-why.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)f.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *field = strchr(line, '\t');
        char *why = field ? strchr(field + 1, '\t') : NULL;
        char *json = why ? strchr(why + 1, '\t') : NULL;
        CHECK(json != NULL);
        if (!json)
            continue;
        *field++ = 0;
        *why++ = 0;
        *json++ = 0;
        int kind = strcmp(line, "missing") == 0   ? ECRED_FIELD_MISSING
                   : strcmp(line, "unknown") == 0 ? ECRED_FIELD_UNKNOWN
                                                  : ECRED_FIELD_INVALID;
        ecred_field_error fe;
        ecred_credential c;
        CHECK_ERR(ecred_credential_from_json(json, strlen(json), &c, &fe), ECRED_ERR_INPUT);
        if ((int)fe.kind != kind || strcmp(fe.field, field) != 0 || strcmp(fe.why, why) != 0)
            fprintf(stderr, "want %s %s '%s', got %d %s '%s'\n", line, field, why, (int)fe.kind,
                    fe.field, fe.why);
        CHECK((int)fe.kind == kind && strcmp(fe.field, field) == 0 && strcmp(fe.why, why) == 0);
        cases++;
    }
    CHECK(cases >= 25);
    ecred_buf_free(&f);

    /* Not JSON at all, and not an object; NULL why is fine. */
    ecred_field_error fe;
    ecred_credential c;
    CHECK_ERR(ecred_credential_from_json("{", 1, &c, &fe), ECRED_ERR_INPUT);
    CHECK(fe.kind == ECRED_FIELD_INVALID && strcmp(fe.field, "(json)") == 0 &&
          strncmp(fe.why, "not JSON: ", 10) == 0);
    CHECK_ERR(ecred_credential_from_json("[]", 2, &c, &fe), ECRED_ERR_INPUT);
    CHECK(strcmp(fe.field, "(root)") == 0 && strcmp(fe.why, "must be a JSON object") == 0);
    CHECK_ERR(ecred_credential_from_json("[]", 2, &c, NULL), ECRED_ERR_INPUT);
}

static void test_claims_vectors(void)
{
    ecred_buf f = check_read_source_file("tests/vectors/credential/claims.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)f.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *hex = strchr(line, '\t');
        char *what = hex ? strchr(hex + 1, '\t') : NULL;
        if (!what)
            continue;
        *hex++ = 0;
        *what++ = 0;
        ecred_buf bytes = check_hex(hex);
        ecred_claims c;
        ecred_err got = ecred_claims_decode(bytes.ptr, bytes.len, &c);
        ecred_err want = check_err_named(line);
        if (got != want)
            fprintf(stderr, "claims vector '%s': got %s want %s\n", what, ecred_err_name(got), line);
        CHECK_ERR(got, want);
        if (got == ECRED_OK) {
            /* What we accept, we re-encode to the same bytes. */
            ecred_buf again = ECRED_BUF_INIT;
            CHECK_ERR(ecred_claims_encode(&c, &again), ECRED_OK);
            CHECK(again.len == bytes.len && memcmp(again.ptr, bytes.ptr, bytes.len) == 0);
            ecred_buf_free(&again);
        }
        ecred_buf_free(&bytes);
        cases++;
    }
    CHECK(cases >= 50);
    ecred_buf_free(&f);
}

static void test_dates(void)
{
    int32_t d;
    CHECK_ERR(ecred_date_parse("1970-01-01", 10, &d), ECRED_OK);
    CHECK(d == 0);
    CHECK_ERR(ecred_date_parse("2000-02-29", 10, &d), ECRED_OK);
    CHECK(d == 11016);
    CHECK_ERR(ecred_date_parse("1900-02-29", 10, &d), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_date_parse("2026-13-01", 10, &d), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_date_parse("2026-1-01x", 10, &d), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_date_parse("20261126", 8, &d), ECRED_ERR_INPUT);
    char out[21];
    ecred_date_format(-1, out);
    CHECK(strcmp(out, "1969-12-31") == 0);
    int64_t t;
    CHECK_ERR(ecred_time_parse("2026-11-26T10:00:00+08:00", &t), ECRED_OK);
    CHECK(t == ecred_cst_day_start(20783) + 36000);
    ecred_time_format(t, out);
    CHECK(strcmp(out, "2026-11-26T02:00:00Z") == 0);
    char cst[26]; /* the same instant for people: CST, and it parses back */
    ecred_time_format_cst(t, cst);
    CHECK(strcmp(cst, "2026-11-26T10:00:00+08:00") == 0);
    int64_t back;
    CHECK_ERR(ecred_time_parse(cst, &back), ECRED_OK);
    CHECK(back == t);
    ecred_time_format_cst(ecred_cst_day_start(20783) - 1, cst); /* 23:59:59 the day before */
    CHECK(strcmp(cst, "2026-11-25T23:59:59+08:00") == 0);
    CHECK_ERR(ecred_time_parse("2026-11-26T02:00:00.123Z", &t), ECRED_OK);
    CHECK_ERR(ecred_time_parse("2026-11-26 02:00:00Z", &t), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_time_parse("2026-11-26T02:00:00", &t), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_time_parse("2026-11-26T24:00:00Z", &t), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_time_parse("2026-11-26T02:00:00+0800", &t), ECRED_ERR_INPUT);
    CHECK(strcmp(ecred_division_name(310104), "上海市徐汇区") == 0);
    CHECK(strcmp(ecred_division_name(340102), "安徽省") == 0);
    CHECK(strcmp(ecred_division_name(990000), "") == 0);
}

static void test_dictionary(void)
{
    ecred_buf hex = check_read_source_file("spec/rc1-dictionary.hex");
    ecred_buf bytes = check_hex((const char *)hex.ptr);
    ecred_span d = ecred_rc1_dictionary();
    CHECK(d.len == bytes.len && memcmp(d.ptr, bytes.ptr, d.len) == 0);
    CHECK(d.len == 716);
    CHECK(ecred_zlib_dictid(d) == 0x4e46cab8u);
    ecred_buf_free(&hex);
    ecred_buf_free(&bytes);
    /* v2: the status URI the daemon serves; v1 stays readable. */
    hex = check_read_source_file("spec/rc1-dictionary-v2.hex");
    bytes = check_hex((const char *)hex.ptr);
    ecred_span d2 = ecred_rc1_dictionary_v2();
    CHECK(d2.len == bytes.len && memcmp(d2.ptr, bytes.ptr, d2.len) == 0);
    CHECK(d2.len == 726);
    CHECK(ecred_zlib_dictid(d2) == 0xc22ccf1eu);
    static const char uri[] = "https://jzz.sh.gov.cn/status/";
    size_t hits = 0;
    for (size_t i = 0; i + sizeof uri - 1 <= d2.len; i++)
        hits += memcmp(d2.ptr + i, uri, sizeof uri - 1) == 0;
    CHECK(hits == 2);
    ecred_buf_free(&hex);
    ecred_buf_free(&bytes);
    /* New text is written with v2 and read back; a v1 stream still reads. */
    const uint8_t cose[] = {0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa0, 0x41, 0x00, 0x40};
    ecred_buf text = ECRED_BUF_INIT, back = ECRED_BUF_INIT, z = ECRED_BUF_INIT, bin = ECRED_BUF_INIT;
    CHECK_ERR(ecred_qrtext_encode(cose, sizeof cose, ECRED_COMPRESS_DICT, &text), ECRED_OK);
    CHECK_ERR(ecred_b45_decode((const char *)text.ptr + 4, text.len - 4, &bin), ECRED_OK);
    CHECK(bin.len > 6 && bin.ptr[2] == 0xc2 && bin.ptr[3] == 0x2c && bin.ptr[4] == 0xcf && bin.ptr[5] == 0x1e);
    bool comp = false;
    CHECK_ERR(ecred_qrtext_decode((const char *)text.ptr, text.len, false, &back, &comp), ECRED_OK);
    CHECK(comp && back.len == sizeof cose && memcmp(back.ptr, cose, sizeof cose) == 0);
    ecred_buf b45 = ECRED_BUF_INIT;
    CHECK_ERR(ecred_zlib_compress(cose, sizeof cose, 9, ecred_rc1_dictionary(), &z), ECRED_OK);
    CHECK_ERR(ecred_b45_encode(z.ptr, z.len, &b45), ECRED_OK);
    ecred_buf v1text = ECRED_BUF_INIT;
    ecred_buf_append(&v1text, "RC1:", 4);
    ecred_buf_append(&v1text, b45.ptr, b45.len);
    CHECK_ERR(ecred_qrtext_decode((const char *)v1text.ptr, v1text.len, false, &back, &comp), ECRED_OK);
    CHECK(comp && back.len == sizeof cose && memcmp(back.ptr, cose, sizeof cose) == 0);
    ecred_buf_free(&v1text);
    ecred_buf_free(&b45);
    ecred_buf_free(&text);
    ecred_buf_free(&back);
    ecred_buf_free(&z);
    ecred_buf_free(&bin);
}

/* Find needle in b (SIZE_MAX when absent). */
static size_t find_bytes(const ecred_buf *b, const uint8_t *needle, size_t n)
{
    for (size_t i = 0; i + n <= b->len; i++)
        if (memcmp(b->ptr + i, needle, n) == 0)
            return i;
    return SIZE_MAX;
}

/* The holder key (cnf) in the forms other COSE libraries write (issue 11):
 * y as a 32-byte bstr (checked on the curve), and kid / alg (-7 only) in the
 * COSE_Key. Each form failed to decode before. */
static void test_cnf_forms(void)
{
    ecred_buf json = check_read_source_file(examples[0]);
    ecred_field_error field;
    ecred_claims c;
    memset(&c, 0, sizeof c);
    CHECK_ERR(ecred_credential_from_json((const char *)json.ptr, json.len, &c.cred, &field), ECRED_OK);
    strcpy(c.iss, "https://jzz.sh.gov.cn");
    c.iat = ecred_cst_day_start(c.cred.valid_from) + 3600;
    c.cti_len = 8;
    memset(c.cti, 0xab, 8);
    ecred_key *holder = NULL;
    CHECK_ERR(ecred_key_public_load(ECRED_SOURCE_DIR "/tests/vectors/keys/test-issuer.pub.pem", &holder), ECRED_OK);
    if (!holder)
        return;
    uint8_t x[32], y[32];
    bool sign = false;
    CHECK_ERR(ecred_key_ec2_uncompressed(holder, x, y), ECRED_OK);
    CHECK_ERR(ecred_key_ec2_compressed(holder, c.cnf_x, &sign), ECRED_OK);
    CHECK(memcmp(x, c.cnf_x, 32) == 0 && sign == ((y[31] & 1) != 0));
    c.has_cnf = true;
    c.cnf_y_sign = sign;

    ecred_buf comp = ECRED_BUF_INIT, full = ECRED_BUF_INIT, again = ECRED_BUF_INIT;
    CHECK_ERR(ecred_claims_encode(&c, &comp), ECRED_OK);
    c.cnf_has_y = true;
    memcpy(c.cnf_y, y, 32);
    CHECK_ERR(ecred_claims_encode(&c, &full), ECRED_OK);
    /* Uncompressed costs y's 32 bytes and a 2-byte head instead of one bool byte. */
    CHECK(full.len == comp.len + 33);
    printf("cnf: compressed %zu bytes of claims, uncompressed %zu\n", comp.len, full.len);
    ecred_claims d;
    CHECK_ERR(ecred_claims_decode(full.ptr, full.len, &d), ECRED_OK);
    CHECK(d.has_cnf && d.cnf_has_y && memcmp(d.cnf_x, x, 32) == 0 && memcmp(d.cnf_y, y, 32) == 0 &&
          d.cnf_y_sign == sign);
    CHECK_ERR(ecred_claims_encode(&d, &again), ECRED_OK);
    CHECK(again.len == full.len && memcmp(again.ptr, full.ptr, full.len) == 0);
    CHECK_ERR(ecred_claims_decode(comp.ptr, comp.len, &d), ECRED_OK);
    CHECK(d.has_cnf && !d.cnf_has_y && d.cnf_y_sign == sign);

    /* A y that is not the point's (one bit off) is refused, not repaired. */
    static const uint8_t y_head[] = {0x22, 0x58, 0x20};
    size_t at = find_bytes(&full, y_head, sizeof y_head);
    CHECK(at != SIZE_MAX);
    if (at != SIZE_MAX) {
        full.ptr[at + 3 + 5] ^= 0x01;
        CHECK_ERR(ecred_claims_decode(full.ptr, full.len, &d), ECRED_ERR_CLAIMS);
        full.ptr[at + 3 + 5] ^= 0x01;
    }

    /* kid and alg in the COSE_Key: {1: {2: h'aa', 3: -7, 1: 2, -1: 1, ...}}. */
    static const uint8_t key_head[] = {0xa1, 0x01, 0xa4, 0x01, 0x02, 0x20, 0x01};
    struct { uint8_t extra[8]; size_t n; ecred_err want; } cases[] = {
        {{0x02, 0x41, 0xaa, 0x03, 0x26}, 5, ECRED_OK},       /* kid h'aa', alg ES256 */
        {{0x02, 0x41, 0xaa, 0x02, 0x41, 0xbb}, 6, ECRED_ERR_CLAIMS}, /* kid twice */
        {{0x03, 0x38, 0x22, 0x02, 0x41, 0xaa}, 6, ECRED_ERR_CLAIMS}, /* alg ES384: not this key's */
        {{0x02, 0x40, 0x03, 0x26}, 4, ECRED_ERR_CLAIMS},     /* empty kid */
        {{0x04, 0x81, 0x02, 0x03, 0x26}, 5, ECRED_ERR_CLAIMS}, /* key_ops: not allowed here */
    };
    for (int form = 0; form < 2; form++) {
        const ecred_buf *src = form ? &full : &comp;
        size_t k = find_bytes(src, key_head, sizeof key_head);
        CHECK(k != SIZE_MAX);
        if (k == SIZE_MAX)
            continue;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            ecred_buf b = ECRED_BUF_INIT;
            ecred_buf_append(&b, src->ptr, k + 2);
            uint8_t head = 0xa6;
            ecred_buf_append(&b, &head, 1);
            ecred_buf_append(&b, cases[i].extra, cases[i].n);
            ecred_buf_append(&b, src->ptr + k + 3, src->len - k - 3);
            ecred_err got = ecred_claims_decode(b.ptr, b.len, &d);
            CHECK_ERR(got, cases[i].want);
            if (got == ECRED_OK)
                CHECK(d.has_cnf && memcmp(d.cnf_x, x, 32) == 0 && d.cnf_y_sign == sign && d.cnf_has_y == (form == 1));
            ecred_buf_free(&b);
        }
    }
    ecred_buf_free(&comp);
    ecred_buf_free(&full);
    ecred_buf_free(&again);
    ecred_buf_free(&json);
    ecred_key_free(holder);
}

int main(void)
{
    test_examples();
    test_json_invalid();
    test_json_why();
    test_claims_vectors();
    test_dates();
    test_dictionary();
    test_cnf_forms();
    return check_finish();
}
