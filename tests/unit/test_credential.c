/*
 * test_credential.c - the credential and CWT claims layer: examples round trip
 * byte for byte, every JSON field is refused by name when wrong
 * (vectors/credential/json-invalid.txt), every claims rejection path
 * (vectors/credential/claims.txt), dates and times, the RC1 dictionary.
 */
#include <jansson.h>

#include "check.h"
#include "ecred/cborin.h"
#include "ecred/credential.h"
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
}

int main(void)
{
    test_examples();
    test_json_invalid();
    test_json_why();
    test_claims_vectors();
    test_dates();
    test_dictionary();
    return check_finish();
}
