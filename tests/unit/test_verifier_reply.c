/*
 * test_verifier_reply.c - the verify API's answer writer (verifier/jsonw.c)
 * and the views written with it (roles.c, answer.c): strings escaped byte
 * for byte as jansson's json_dumps escapes them and malformed UTF-8 refused
 * (vectors in tests/vectors/verifier/jsonw-strings.txt), unbalanced objects
 * refused, and every role's view of the three example credentials equal,
 * byte for byte, to the view the daemon built with jansson before (the
 * credential's own JSON from ecred_credential_to_json plus the derived and
 * claim fields), so the writer's field names and values cannot drift from
 * the credential module's.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "check.h"
#include "ecred/credential.h"
#include "jsonw.h"
#include "roles.h"

/* Text written for one string value by the writer; its error in *e. */
static char *write_string(const uint8_t *s, size_t n, ecred_err *e)
{
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    vjson_strn(&w, (const char *)s, n);
    *e = vjson_finish(&w);
    char *out = NULL;
    if (*e == ECRED_OK && ecred_buf_terminate(&b) == ECRED_OK)
        out = strdup((const char *)b.ptr);
    ecred_buf_free(&b);
    return out;
}

static void test_string_vectors(void)
{
    ecred_buf f = check_read_source_file("tests/vectors/verifier/jsonw-strings.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)f.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || !line[0])
            continue;
        char hex[256], want_name[64];
        if (sscanf(line, "%255s %63s", hex, want_name) != 2) {
            fprintf(stderr, "bad vector line: %s\n", line);
            CHECK(0);
            continue;
        }
        ecred_buf s = strcmp(hex, "-") == 0 ? (ecred_buf)ECRED_BUF_INIT : check_hex(hex);
        ecred_err want = ECRED_ERR_ARG;
        CHECK_ERR(ecred_err_from_name(want_name, &want), ECRED_OK);
        ecred_err got = ECRED_OK;
        char *ours = write_string(s.ptr, s.len, &got);
        CHECK_ERR(got, want);
        if (want == ECRED_OK) {
            json_t *j = json_stringn(s.len ? (const char *)s.ptr : "", s.len);
            char *theirs = j ? json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            CHECK(ours && theirs && strcmp(ours, theirs) == 0);
            if (ours && theirs && strcmp(ours, theirs) != 0)
                fprintf(stderr, "%s: ours %s, jansson %s\n", hex, ours, theirs);
            free(theirs);
            json_decref(j);
        }
        free(ours);
        ecred_buf_free(&s);
        cases++;
    }
    CHECK(cases >= 20);
    ecred_buf_free(&f);
}

static void test_structure(void)
{
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    vjson_begin(&w);
    vjson_key(&w, "a");
    vjson_int(&w, -9223372036854775807LL - 1);
    vjson_key(&w, "b");
    vjson_begin(&w);
    vjson_key(&w, "c");
    vjson_bool(&w, true);
    vjson_key(&w, "d\"");
    vjson_bool(&w, false);
    vjson_end(&w);
    vjson_key(&w, "e");
    vjson_begin(&w);
    vjson_end(&w);
    vjson_end(&w);
    CHECK_ERR(vjson_finish(&w), ECRED_OK);
    const char *want = "{\"a\":-9223372036854775808,\"b\":{\"c\":true,\"d\\\"\":false},\"e\":{}}";
    CHECK(b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0);
    ecred_buf_free(&b);

    /* An object left open, a close too many, a key outside any object. */
    vjson_init(&w, &b);
    vjson_begin(&w);
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_ARG);
    ecred_buf_free(&b);
    vjson_init(&w, &b);
    vjson_end(&w);
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_ARG);
    vjson_init(&w, &b);
    vjson_key(&w, "k");
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_ARG);
    ecred_buf_free(&b);
    /* Nesting past VJSON_DEPTH_MAX, and errors that stick. */
    vjson_init(&w, &b);
    for (int i = 0; i <= VJSON_DEPTH_MAX; i++) {
        vjson_begin(&w);
        if (i < VJSON_DEPTH_MAX)
            vjson_key(&w, "k");
    }
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_ARG);
    for (int i = 0; i < VJSON_DEPTH_MAX; i++)
        vjson_end(&w);
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_ARG);
    ecred_buf_free(&b);
    vjson_init(&w, &b);
    vjson_begin(&w);
    vjson_key(&w, "bad");
    vjson_strn(&w, "\xc0\x80", 2);
    vjson_key(&w, "after");
    vjson_str(&w, "ok");
    vjson_end(&w);
    CHECK_ERR(vjson_finish(&w), ECRED_ERR_INPUT);
    ecred_buf_free(&b);
}

/* The view as the daemon built it with jansson before the writer: the
 * credential's JSON, parsed, plus the derived and claim fields; then picked. */
static json_t *jansson_full_view(const ecred_claims *c)
{
    ecred_buf cj = ECRED_BUF_INIT;
    json_t *o = NULL;
    if (ecred_credential_to_json(&c->cred, &cj) == ECRED_OK)
        o = json_loadb((const char *)cj.ptr, cj.len, 0, NULL);
    ecred_buf_free(&cj);
    if (!o)
        return NULL;
    char masked[19], cti[2 * ECRED_CTI_MAX + 1], iat[21], exp[21];
    vroles_mask_id(c->cred.id_number, masked);
    ecred_hex(c->cti, c->cti_len, cti);
    ecred_time_format(c->iat, iat);
    ecred_time_format(c->exp, exp);
    json_object_set_new(o, "id_number_masked", json_string(masked));
    json_object_set_new(o, "iss", json_string(c->iss));
    json_object_set_new(o, "iat", json_string(iat));
    json_object_set_new(o, "exp", json_string(exp));
    json_object_set_new(o, "cti", json_string(cti));
    return o;
}

static char *jansson_view(const ecred_claims *c, const char *const *names, size_t n)
{
    json_t *all = jansson_full_view(c);
    json_t *o = names ? json_object() : json_incref(all);
    for (size_t i = 0; names && i < n; i++) {
        json_t *v = json_object_get(all, names[i]);
        if (v)
            json_object_set(o, names[i], v);
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    json_decref(all);
    return s;
}

static char *writer_view(const ecred_verdict *v, vrole role, const char *fields)
{
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    bool wrote = vroles_view_write(&w, v, role, fields);
    char *s = NULL;
    if (wrote && vjson_finish(&w) == ECRED_OK && ecred_buf_terminate(&b) == ECRED_OK)
        s = strdup((const char *)b.ptr);
    ecred_buf_free(&b);
    return s;
}

static void check_same(const char *what, const char *ours, const char *theirs)
{
    CHECK(ours && theirs && strcmp(ours, theirs) == 0);
    if (ours && theirs && strcmp(ours, theirs) != 0)
        fprintf(stderr, "%s:\n  writer  %s\n  jansson %s\n", what, ours, theirs);
}

static void test_views(const char *example)
{
    ecred_buf j = check_read_source_file(example);
    ecred_verdict v;
    memset(&v, 0, sizeof v);
    ecred_field_error field;
    CHECK_ERR(ecred_credential_from_json((const char *)j.ptr, j.len, &v.claims.cred, &field), ECRED_OK);
    ecred_buf_free(&j);
    strcpy(v.claims.iss, "https://jzz.sh.gov.cn/\"a\\b");
    v.claims.iat = 1795622400;
    v.claims.exp = 1890316800;
    v.claims.cti_len = 8;
    memcpy(v.claims.cti, "\x01\x23\x45\x67\x89\xab\xcd\xef", 8);
    v.claims_ok = true;

    static const char *const landlord[] = {"type", "name", "id_number_masked", "address_division", "address",
                                           "valid_from", "valid_until", "endorsement_date"};
    static const char *const agency[] = {"cti", "name", "housing", "endorsement_date", "birth_date", "iat"};
    char *ours = writer_view(&v, VROLE_POLICE, NULL), *theirs = jansson_view(&v.claims, NULL, 0);
    check_same(example, ours, theirs);
    free(ours);
    free(theirs);
    ours = writer_view(&v, VROLE_LANDLORD, NULL);
    theirs = jansson_view(&v.claims, landlord, sizeof landlord / sizeof landlord[0]);
    check_same(example, ours, theirs);
    free(ours);
    free(theirs);
    /* A name listed twice is shown once, where it first appears (as
     * json_object_set kept it). */
    ours = writer_view(&v, VROLE_AGENCY, "cti,name,housing,endorsement_date,name,birth_date,iat,cti");
    theirs = jansson_view(&v.claims, agency, sizeof agency / sizeof agency[0]);
    check_same(example, ours, theirs);
    free(ours);
    free(theirs);
    ours = writer_view(&v, VROLE_AGENCY, NULL);
    CHECK(ours && strcmp(ours, "{}") == 0);
    free(ours);
    ours = writer_view(&v, VROLE_NONE, NULL);
    CHECK(ours && strcmp(ours, "{}") == 0);
    free(ours);
    /* Nothing verified, nothing shown: not even an empty object. */
    v.claims_ok = false;
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    CHECK(!vroles_view_write(&w, &v, VROLE_POLICE, NULL));
    CHECK(b.len == 0);
    ecred_buf_free(&b);
}

static void test_status_block(void)
{
    ecred_verdict v;
    memset(&v, 0, sizeof v);
    v.outcome = ECRED_OK;
    v.status_checked = true;
    v.status = 0;
    v.claims_ok = true;
    v.claims.has_status = true;
    strcpy(v.claims.status_uri, "https://i.example/status/1");
    vstatus st;
    memset(&st, 0, sizeof st);
    st.looked_up = st.found = true;
    st.as_of = 1795622400;
    st.list_exp = 1795708800;
    st.source = "cache";
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    vanswer_status_write(&w, &v, &st, 1795622400 + 90, 86400);
    CHECK_ERR(vjson_finish(&w), ECRED_OK);
    const char *want = "{\"value\":\"VALID\",\"as_of\":\"2026-11-25T16:00:00Z\",\"age_seconds\":90,"
                       "\"list_expires\":\"2026-11-26T16:00:00Z\",\"list_expired\":false,\"max_age_seconds\":86400,"
                       "\"source\":\"cache\",\"list\":\"https://i.example/status/1\"}";
    CHECK(b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0);
    if (!(b.len == strlen(want) && memcmp(b.ptr, want, b.len) == 0))
        fprintf(stderr, "status block: %.*s\n", (int)b.len, (const char *)b.ptr);
    json_t *j = vanswer_status_json(&v, &st, 1795622400 + 90, 86400);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    CHECK(s && strcmp(s, want) == 0);
    free(s);
    json_decref(j);
    ecred_buf_free(&b);
    /* No status source at all: the value alone. */
    vjson_init(&w, &b);
    v.status_checked = false;
    vanswer_status_write(&w, &v, NULL, 0, 86400);
    CHECK_ERR(vjson_finish(&w), ECRED_OK);
    CHECK(b.len == strlen("{\"value\":\"not_checked\"}") && memcmp(b.ptr, "{\"value\":\"not_checked\"}", b.len) == 0);
    ecred_buf_free(&b);
}

int main(void)
{
    test_string_vectors();
    test_structure();
    test_views("spec/examples/permit-relative.json");
    test_views("spec/examples/permit-rental.json");
    test_views("spec/examples/registration-own.json");
    test_status_block();
    return check_finish();
}
