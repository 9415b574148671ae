/*
 * credential.c - ecred's two credential types: validation, application JSON,
 * and the CWT claims CBOR that gets signed (spec/credential.md, section 4).
 *
 * The three directions (JSON -> struct, struct -> CBOR, CBOR -> struct) all
 * end in ecred_credential_validate, so decode never accepts what encode would
 * refuse to produce. A refused field is reported with why it was refused
 * (ecred_field_error), because the clerk who typed it has to fix it. Claims
 * are read with the cursor (cborcur.h), dates come from cst.c, text rules
 * from utf8.c and claim keys from cwt.h. This file never prints, exits or
 * touches the network.
 */
#include "ecred/credential.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ecred/cborcur.h"
#include "ecred/crypto.h"
#include "ecred/cborin.h"
#include "ecred/textclass.h"
#include "ecred/utf8.h"

/* Credential map keys inside claim -65537 (spec/credential.md, table 3). */
enum {
    CK_TYPE = 1,
    CK_NAME = 2,
    CK_ID = 3,
    CK_ADDRESS_DIVISION = 4,
    CK_ADDRESS = 5,
    CK_HOUSING = 6,
    CK_HOUSING_REF = 7,
    CK_HUKOU_DIVISION = 8,
    CK_REGISTRATION_DATE = 9,
    CK_AUTHORITY = 10,
    CK_ENDORSEMENT_DATE = 11,
};

/* ---- field checks ----------------------------------------------------- */

/* Value of n decimal digits, -1 if any is not a digit. */
static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Strict UTF-8 (utf8.h) without C0/C1 controls or DEL: these fields are
 * printed on screens and paper. */
static bool text_ok(const char *s, size_t n)
{
    return ecred_utf8_valid((const uint8_t *)s, n, ECRED_UTF8_NO_CONTROLS);
}

/* Province-level codes of GB/T 2260 (the first two digits of a division code
 * and of an ID number). */
static bool province_ok(unsigned p)
{
    static const unsigned char codes[] = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34,
                                          35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
                                          53, 54, 61, 62, 63, 64, 65, 71, 81, 82};
    for (size_t i = 0; i < sizeof codes; i++)
        if (codes[i] == p)
            return true;
    return false;
}

static bool division_ok(uint32_t code)
{
    return code >= 110000 && code <= 829999 && province_ok(code / 10000);
}

/* GB 11643-1999 check character over the first 17 digits. */
static char id_check_char(const char *id17)
{
    static const int weights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
    static const char map[] = "10X98765432";
    int sum = 0;
    for (int i = 0; i < 17; i++)
        sum += (id17[i] - '0') * weights[i];
    return map[sum % 11];
}

/* Why an ID number is not self-consistent (digits, province, birth date,
 * check character), or NULL when it is; then *sex and *birth are what it
 * encodes. */
static const char *id_number_why(const char *id, int *sex, int32_t *birth)
{
    if (strlen(id) != ECRED_ID_NUMBER_LEN)
        return "must be 18 characters";
    for (int i = 0; i < 17; i++)
        if (id[i] < '0' || id[i] > '9')
            return "the first 17 characters must be digits";
    if (!province_ok((unsigned)((id[0] - '0') * 10 + (id[1] - '0'))))
        return "the first two digits are not a province code";
    if (id[17] != id_check_char(id))
        return "check character does not match";
    if (ecred_date_parse_basic(id + 6, 8, birth) != ECRED_OK)
        return "digits 7-14 are not a birth date 1900..2199";
    *sex = ((id[16] - '0') % 2) ? ECRED_SEX_MALE : ECRED_SEX_FEMALE;
    return NULL;
}

static bool id_number_ok(const char *id, int *sex, int32_t *birth)
{
    return id_number_why(id, sex, birth) == NULL;
}

/* Record a failure in *why (may be NULL) and return e. */
static ecred_err field_fail(ecred_field_error *why, int kind, const char *field,
                            const char *reason, ecred_err e)
{
    if (why) {
        memset(why, 0, sizeof *why);
        why->kind = kind == ECRED_FIELD_MISSING ? ECRED_FIELD_MISSING
                    : kind == ECRED_FIELD_UNKNOWN ? ECRED_FIELD_UNKNOWN : ECRED_FIELD_INVALID;
        snprintf(why->field, sizeof why->field, "%s", field);
        snprintf(why->why, sizeof why->why, "%s", reason);
    }
    return e;
}

/* Why a text field of at most max bytes is refused, or NULL when it is fine. */
static const char *text_field_why(const char *s, size_t max, bool may_be_empty)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return "too long";
    if (!may_be_empty && n == 0)
        return "must not be empty";
    if (!text_ok(s, n))
        return "must be UTF-8 text without control characters";
    return NULL;
}

/* Why a person's text of at most max bytes is refused for its class
 * (textclass.h), or NULL when it is fine. */
static const char *class_field_why(const char *s, size_t max, ecred_text_class cls)
{
    size_t n = strnlen(s, max + 1);
    if (n > max)
        return "too long";
    /* ecred_text_class_why refuses an empty or non-UTF-8 or control-bearing
     * text in text_field_why's words: checking here first walked every byte
     * of a name or address twice more on every verification. */
    return ecred_text_class_why(s, n, cls);
}

static bool str_field_ok(const char *s, size_t max, bool may_be_empty)
{
    return text_field_why(s, max, may_be_empty) == NULL;
}

/* Why a division code is refused, or NULL. */
static const char *division_why(uint32_t code)
{
    return division_ok(code) ? NULL : "not a GB/T 2260 code of a known province";
}

ecred_err ecred_credential_validate(const ecred_credential *c, ecred_field_error *why)
{
    const ecred_err E = ECRED_ERR_CREDENTIAL;
    const int BAD = ECRED_FIELD_INVALID;
    const char *r;
    if (!c)
        return ECRED_ERR_ARG;
    if (c->type != ECRED_CRED_TYPE_REGISTRATION && c->type != ECRED_CRED_TYPE_PERMIT)
        return field_fail(why, BAD, "type", "unknown credential type", E);
    if ((r = class_field_why(c->name, ECRED_NAME_MAX, ECRED_TEXT_NAME)))
        return field_fail(why, BAD, "name", r, E);
    int sex = 0;
    int32_t birth = 0;
    if ((r = id_number_why(c->id_number, &sex, &birth)))
        return field_fail(why, BAD, "id_number", r, E);
    if (c->sex != sex)
        return field_fail(why, BAD, "sex", "does not match the ID number", E);
    if (c->birth_date != birth)
        return field_fail(why, BAD, "birth_date", "does not match the ID number", E);
    if ((r = division_why(c->address_division)))
        return field_fail(why, BAD, "address_division", r, E);
    if ((r = class_field_why(c->address, ECRED_ADDRESS_MAX, ECRED_TEXT_ADDRESS)))
        return field_fail(why, BAD, "address", r, E);
    switch (c->housing) {
    case ECRED_HOUSING_OWN:
        if (c->housing_ref[0])
            return field_fail(why, BAD, "housing.reference", "must be absent for basis own", E);
        break;
    case ECRED_HOUSING_RENTAL:
    case ECRED_HOUSING_RELATIVE:
        if ((r = class_field_why(c->housing_ref, ECRED_REF_MAX, ECRED_TEXT_ADDRESS)))
            return field_fail(why, BAD, "housing.reference", r, E);
        break;
    default:
        return field_fail(why, BAD, "housing.basis", "must be own, rental or relative", E);
    }
    if ((r = division_why(c->hukou_division)))
        return field_fail(why, BAD, "hukou_division", r, E);
    if (c->registration_date < ECRED_DAY_MIN || c->registration_date > ECRED_DAY_MAX)
        return field_fail(why, BAD, "registration_date", "outside 1900-01-01..2199-12-31", E);
    if (c->registration_date < birth)
        return field_fail(why, BAD, "registration_date", "before birth_date", E);
    if ((r = class_field_why(c->authority, ECRED_AUTHORITY_MAX, ECRED_TEXT_ADDRESS)))
        return field_fail(why, BAD, "authority", r, E);
    if (c->valid_from < ECRED_DAY_MIN || c->valid_from > ECRED_DAY_MAX)
        return field_fail(why, BAD, "valid_from", "outside 1900-01-01..2199-12-31", E);
    if (c->valid_from < c->registration_date)
        return field_fail(why, BAD, "valid_from", "before registration_date", E);
    if (c->valid_until < c->valid_from)
        return field_fail(why, BAD, "valid_until", "before valid_from", E);
    if (c->valid_until > ECRED_DAY_MAX)
        return field_fail(why, BAD, "valid_until", "after 2199-12-31", E);
    /* A credential valid for a lifetime could never be replaced by policy; the
     * issuing rules of both kinds stay within ten years (spec/credential.md
     * 4.3), so longer ones are a mistake or a forgery's convenience. */
    if (c->valid_until - c->valid_from >= ECRED_VALIDITY_DAYS_MAX)
        return field_fail(why, BAD, "valid_until", "more than ten years after valid_from", E);
    if (c->type == ECRED_CRED_TYPE_PERMIT) {
        if (c->endorsement_date <= c->valid_from)
            return field_fail(why, BAD, "endorsement_date", "not after valid_from", E);
        if (c->endorsement_date > c->valid_until + 1)
            return field_fail(why, BAD, "endorsement_date", "more than a day after valid_until", E);
    } else if (c->endorsement_date != 0) {
        return field_fail(why, BAD, "endorsement_date",
                          "only a residence permit has an endorsement date", E);
    }
    return ECRED_OK;
}

/* ---- application JSON ------------------------------------------------- */

#define JSON_MAX_BYTES 65536

static const char *const type_names[] = {NULL, "registration_certificate", "residence_permit"};
static const char *const housing_names[] = {NULL, "own", "rental", "relative"};

static int name_index(const char *const *names, int count, const char *s)
{
    for (int i = 1; i < count; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return 0;
}

/* Copy the JSON string member `key` of obj into dst (max bytes + NUL); the
 * field is named `field` in errors. Absent and not required: dst = "" and
 * true. Otherwise false with *why filled: absent (MISSING), not a string, too
 * long, or holding a NUL (INVALID). */
static bool json_str(json_t *obj, const char *key, const char *field, char *dst, size_t max,
                     bool required, ecred_field_error *why)
{
    json_t *v = json_object_get(obj, key);
    dst[0] = 0;
    if (!v) {
        if (required)
            field_fail(why, ECRED_FIELD_MISSING, field, "is required", ECRED_ERR_INPUT);
        return !required;
    }
    if (!json_is_string(v)) {
        field_fail(why, ECRED_FIELD_INVALID, field, "must be a string", ECRED_ERR_INPUT);
        return false;
    }
    size_t n = json_string_length(v);
    const char *s = json_string_value(v);
    if (n > max) {
        char r[64];
        snprintf(r, sizeof r, "longer than %zu bytes", max);
        field_fail(why, ECRED_FIELD_INVALID, field, r, ECRED_ERR_INPUT);
        return false;
    }
    if (memchr(s, 0, n)) {
        field_fail(why, ECRED_FIELD_INVALID, field, "contains a NUL character", ECRED_ERR_INPUT);
        return false;
    }
    memcpy(dst, s, n);
    dst[n] = 0;
    return true;
}

/* A date member "YYYY-MM-DD"; *present tells whether it was given (may be
 * NULL). False with *why filled as json_str does, or for a date that is not
 * a real one. */
static bool json_date(json_t *obj, const char *key, int32_t *days, bool required, bool *present,
                      ecred_field_error *why)
{
    char buf[16];
    if (!json_str(obj, key, key, buf, 10, required, why))
        return false;
    if (present)
        *present = buf[0] != 0;
    if (!buf[0]) {
        if (required) /* given as "": absent was refused by json_str */
            return field_fail(why, ECRED_FIELD_INVALID, key, "must not be empty", ECRED_ERR_INPUT) == ECRED_OK;
        return true;
    }
    if (ecred_date_parse(buf, strlen(buf), days) != ECRED_OK) {
        field_fail(why, ECRED_FIELD_INVALID, key, "not a date YYYY-MM-DD in 1900..2199",
                   ECRED_ERR_INPUT);
        return false;
    }
    return true;
}

/* A required 6-digit GB/T 2260 division code member. */
static bool json_division(json_t *obj, const char *key, uint32_t *code, ecred_field_error *why)
{
    char buf[8];
    if (!json_str(obj, key, key, buf, 6, true, why))
        return false;
    int v = strlen(buf) == 6 ? digits_value(buf, 6) : -1;
    if (v < 0) {
        field_fail(why, ECRED_FIELD_INVALID, key, "must be 6 digits", ECRED_ERR_INPUT);
        return false;
    }
    *code = (uint32_t)v;
    const char *r = division_why(*code);
    if (r) {
        field_fail(why, ECRED_FIELD_INVALID, key, r, ECRED_ERR_INPUT);
        return false;
    }
    return true;
}

/* Refuse members we do not know: a typo must not silently drop a field. */
static const char *json_unknown_key(json_t *obj, const char *const *known)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        (void)v;
        bool ok = false;
        for (size_t i = 0; known[i]; i++)
            if (strcmp(key, known[i]) == 0)
                ok = true;
        if (!ok)
            return key;
    }
    return NULL;
}

static ecred_err credential_from_object(json_t *root, ecred_credential *c, ecred_field_error *why)
{
    static const char *const known[] = {"type", "name", "id_number", "sex", "birth_date",
                                        "address_division", "address", "housing",
                                        "hukou_division", "registration_date", "authority",
                                        "valid_from", "valid_until", "endorsement_date", NULL};
    static const char *const housing_known[] = {"basis", "reference", NULL};
    const ecred_err E = ECRED_ERR_INPUT;
    const int BAD = ECRED_FIELD_INVALID;
    char buf[32];
    const char *r;

    if (!json_is_object(root))
        return field_fail(why, BAD, "(root)", "must be a JSON object", E);
    const char *unknown = json_unknown_key(root, known);
    if (unknown)
        return field_fail(why, ECRED_FIELD_UNKNOWN, unknown, "is not a credential field", E);

    memset(c, 0, sizeof *c);
    if (!json_str(root, "type", "type", buf, sizeof buf - 1, true, why))
        return E;
    if (!(c->type = name_index(type_names, 3, buf)))
        return field_fail(why, BAD, "type", "must be registration_certificate or residence_permit", E);
    if (!json_str(root, "name", "name", c->name, ECRED_NAME_MAX, true, why))
        return E;
    if ((r = class_field_why(c->name, ECRED_NAME_MAX, ECRED_TEXT_NAME)))
        return field_fail(why, BAD, "name", r, E);
    if (!json_str(root, "id_number", "id_number", c->id_number, ECRED_ID_NUMBER_LEN, true, why))
        return E;
    if ((r = id_number_why(c->id_number, &c->sex, &c->birth_date)))
        return field_fail(why, BAD, "id_number", r, E);
    /* sex and birth_date are optional: they are implied by the ID number, but a
     * clerk who types them gets told when they disagree. */
    if (!json_str(root, "sex", "sex", buf, sizeof buf - 1, false, why))
        return E;
    if (buf[0]) {
        int sex = strcmp(buf, "male") == 0 ? ECRED_SEX_MALE
                  : strcmp(buf, "female") == 0 ? ECRED_SEX_FEMALE : 0;
        if (!sex)
            return field_fail(why, BAD, "sex", "must be male or female", E);
        if (sex != c->sex)
            return field_fail(why, BAD, "sex", "does not match the ID number", E);
    }
    int32_t birth = c->birth_date;
    bool present = false;
    if (!json_date(root, "birth_date", &birth, false, &present, why))
        return E;
    if (birth != c->birth_date)
        return field_fail(why, BAD, "birth_date", "does not match the ID number", E);
    if (!json_division(root, "address_division", &c->address_division, why))
        return E;
    if (!json_str(root, "address", "address", c->address, ECRED_ADDRESS_MAX, true, why))
        return E;
    if ((r = class_field_why(c->address, ECRED_ADDRESS_MAX, ECRED_TEXT_ADDRESS)))
        return field_fail(why, BAD, "address", r, E);

    json_t *housing = json_object_get(root, "housing");
    if (!housing)
        return field_fail(why, ECRED_FIELD_MISSING, "housing", "is required", E);
    if (!json_is_object(housing))
        return field_fail(why, BAD, "housing", "must be an object", E);
    unknown = json_unknown_key(housing, housing_known);
    if (unknown) {
        snprintf(buf, sizeof buf, "housing.%.20s", unknown);
        return field_fail(why, ECRED_FIELD_UNKNOWN, buf, "is not a housing field", E);
    }
    if (!json_str(housing, "basis", "housing.basis", buf, sizeof buf - 1, true, why))
        return E;
    if (!(c->housing = name_index(housing_names, 4, buf)))
        return field_fail(why, BAD, "housing.basis", "must be own, rental or relative", E);
    if (!json_str(housing, "reference", "housing.reference", c->housing_ref, ECRED_REF_MAX,
                  c->housing != ECRED_HOUSING_OWN, why))
        return E;
    if (c->housing == ECRED_HOUSING_OWN && c->housing_ref[0])
        return field_fail(why, BAD, "housing.reference", "must be absent for basis own", E);
    if (c->housing != ECRED_HOUSING_OWN && !c->housing_ref[0])
        return field_fail(why, BAD, "housing.reference", "must not be empty", E);

    if (!json_division(root, "hukou_division", &c->hukou_division, why) ||
        !json_date(root, "registration_date", &c->registration_date, true, NULL, why) ||
        !json_str(root, "authority", "authority", c->authority, ECRED_AUTHORITY_MAX, true, why) ||
        !json_date(root, "valid_from", &c->valid_from, true, NULL, why) ||
        !json_date(root, "valid_until", &c->valid_until, true, NULL, why) ||
        !json_date(root, "endorsement_date", &c->endorsement_date,
                   c->type == ECRED_CRED_TYPE_PERMIT, &present, why))
        return E;
    if (!present)
        c->endorsement_date = 0;

    ecred_err e = ecred_credential_validate(c, why);
    return e ? ECRED_ERR_INPUT : ECRED_OK;
}

ecred_err ecred_credential_from_json(const char *json, size_t n, ecred_credential *out,
                                     ecred_field_error *why)
{
    if (!out || (!json && n))
        return ECRED_ERR_ARG;
    if (n > JSON_MAX_BYTES)
        return field_fail(why, ECRED_FIELD_INVALID, "(root)", "the application is too large",
                          ECRED_ERR_TOO_LARGE);
    json_error_t jerr;
    json_t *root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        char r[112];
        snprintf(r, sizeof r, "not JSON: %.80s", jerr.text);
        return field_fail(why, ECRED_FIELD_INVALID, "(json)", r, ECRED_ERR_INPUT);
    }
    ecred_credential c;
    ecred_err e = credential_from_object(root, &c, why);
    json_decref(root);
    if (e == ECRED_OK)
        *out = c;
    return e;
}

ecred_err ecred_credential_to_json(const ecred_credential *c, ecred_buf *out)
{
    char from[11], until[11], reg[11], birth[11], endorse[11], div[8], hukou[8];
    ecred_date_format(c->valid_from, from);
    ecred_date_format(c->valid_until, until);
    ecred_date_format(c->registration_date, reg);
    ecred_date_format(c->birth_date, birth);
    snprintf(div, sizeof div, "%06u", (unsigned)(c->address_division % 1000000));
    snprintf(hukou, sizeof hukou, "%06u", (unsigned)(c->hukou_division % 1000000));
    if (c->type < 1 || c->type > 2 || c->housing < 1 || c->housing > 3)
        return ECRED_ERR_ARG;

    json_t *housing = json_pack("{s:s}", "basis", housing_names[c->housing]);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:s,s:s,s:s,s:s,s:s}",
                          "type", type_names[c->type], "name", c->name, "id_number",
                          c->id_number, "sex", c->sex == ECRED_SEX_MALE ? "male" : "female",
                          "birth_date", birth, "address_division", div, "address", c->address,
                          "housing", housing, "hukou_division", hukou, "registration_date",
                          reg, "authority", c->authority, "valid_from", from, "valid_until",
                          until);
    if (!o)
        return ECRED_ERR_NOMEM;
    if (c->housing_ref[0])
        json_object_set_new(housing, "reference", json_string(c->housing_ref));
    if (c->type == ECRED_CRED_TYPE_PERMIT) {
        ecred_date_format(c->endorsement_date, endorse);
        json_object_set_new(o, "endorsement_date", json_string(endorse));
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    if (!s)
        return ECRED_ERR_NOMEM;
    ecred_err e = ecred_buf_set(out, s, strlen(s));
    free(s);
    return e ? e : ecred_buf_terminate(out);
}

/* ---- claims CBOR ------------------------------------------------------ */

/* Put helpers: each takes ownership of what it builds and reports NOMEM. */
static ecred_err put_int(cbor_item_t *map, int64_t key, int64_t v)
{
    return ecred_cbor_map_put(map, ecred_cbor_int(key), ecred_cbor_int(v));
}

static ecred_err put_text(cbor_item_t *map, int64_t key, const char *s)
{
    return ecred_cbor_map_put(map, ecred_cbor_int(key), ecred_cbor_text(s, strlen(s)));
}

/* The first 17 digits of the ID as an integer: the 18th is a check character
 * the decoder recomputes (spec/credential.md 4.3). */
static int64_t id_to_int(const char *id)
{
    int64_t v = 0;
    for (int i = 0; i < 17; i++)
        v = v * 10 + (id[i] - '0');
    return v;
}

static cbor_item_t *build_credential(const ecred_credential *c)
{
    cbor_item_t *m = cbor_new_definite_map(c->type == ECRED_CRED_TYPE_PERMIT ? 11 : 10);
    if (!m)
        return NULL;
    ecred_err e = put_int(m, CK_TYPE, c->type);
    if (!e) e = put_text(m, CK_NAME, c->name);
    if (!e) e = put_int(m, CK_ID, id_to_int(c->id_number));
    if (!e) e = put_int(m, CK_ADDRESS_DIVISION, c->address_division);
    if (!e) e = put_text(m, CK_ADDRESS, c->address);
    if (!e) e = put_int(m, CK_HOUSING, c->housing);
    if (!e && c->housing != ECRED_HOUSING_OWN) e = put_text(m, CK_HOUSING_REF, c->housing_ref);
    if (!e) e = put_int(m, CK_HUKOU_DIVISION, c->hukou_division);
    if (!e) e = put_int(m, CK_REGISTRATION_DATE, c->registration_date);
    if (!e) e = put_text(m, CK_AUTHORITY, c->authority);
    if (!e && c->type == ECRED_CRED_TYPE_PERMIT)
        e = put_int(m, CK_ENDORSEMENT_DATE, c->endorsement_date);
    if (e) {
        cbor_decref(&m);
        return NULL;
    }
    return m;
}

static cbor_item_t *build_status(const ecred_claims *c)
{
    cbor_item_t *inner = cbor_new_definite_map(2);
    cbor_item_t *outer = cbor_new_definite_map(1);
    if (!inner || !outer)
        goto fail;
    /* "idx" < "uri" in bytewise order: deterministic as written. */
    if (ecred_cbor_map_put(inner, ecred_cbor_text("idx", 3), ecred_cbor_int((int64_t)c->status_idx)) ||
        ecred_cbor_map_put(inner, ecred_cbor_text("uri", 3),
                           ecred_cbor_text(c->status_uri, strlen(c->status_uri))))
        goto fail;
    if (ecred_cbor_map_put(outer, ecred_cbor_text("status_list", 11), inner)) {
        inner = NULL;
        goto fail;
    }
    return outer;
fail:
    if (inner)
        cbor_decref(&inner);
    if (outer)
        cbor_decref(&outer);
    return NULL;
}

/* cnf: {1 (COSE_Key): {1 kty: 2 EC2, -1 crv: 1 P-256, -2 x, -3 y-sign bool}}
 * (RFC 8747 section 3.2; compressed point per RFC 9053 section 7.1.1), or
 * with -3 y as a 32-byte bstr when the claims ask for the uncompressed form
 * (spec/credential.md section 4.3: ecred issues the compressed one). */
static cbor_item_t *build_cnf(const ecred_claims *c)
{
    cbor_item_t *key = cbor_new_definite_map(4);
    cbor_item_t *cnf = cbor_new_definite_map(1);
    if (!key || !cnf)
        goto fail;
    if (put_int(key, 1, 2) || put_int(key, -1, 1) ||
        ecred_cbor_map_put(key, ecred_cbor_int(-2), ecred_cbor_bytes(c->cnf_x, 32)) ||
        ecred_cbor_map_put(key, ecred_cbor_int(-3),
                           c->cnf_has_y ? ecred_cbor_bytes(c->cnf_y, 32) : cbor_build_bool(c->cnf_y_sign)))
        goto fail;
    if (ecred_cbor_map_put(cnf, ecred_cbor_int(1), key)) {
        key = NULL;
        goto fail;
    }
    return cnf;
fail:
    if (key)
        cbor_decref(&key);
    if (cnf)
        cbor_decref(&cnf);
    return NULL;
}

ecred_err ecred_claims_encode(const ecred_claims *c, ecred_buf *out)
{
    ecred_err e = ecred_credential_validate(&c->cred, NULL);
    if (e)
        return e;
    if (!str_field_ok(c->iss, ECRED_ISS_MAX, false) || c->cti_len == 0 ||
        c->cti_len > ECRED_CTI_MAX || c->iat < 0)
        return ECRED_ERR_CLAIMS;
    if (c->has_status && (!str_field_ok(c->status_uri, ECRED_URI_MAX, false) ||
                          c->status_idx > (uint64_t)INT64_MAX))
        return ECRED_ERR_CLAIMS;

    int64_t nbf = ecred_cst_day_start(c->cred.valid_from);
    int64_t exp = ecred_cst_day_start(c->cred.valid_until + 1);
    if (exp <= c->iat)
        return ECRED_ERR_CLAIMS; /* issuing an already expired credential is a mistake */
    /* nbf is carried only when the validity does not start on the day of iat
     * (spec/credential.md 4.2): that saves 6 bytes on the common case. */
    bool carry_nbf = c->cred.valid_from != ecred_cst_day_of(c->iat);

    size_t n = 5u + (carry_nbf ? 1u : 0u) + (c->has_cnf ? 1u : 0u) + (c->has_status ? 1u : 0u);
    cbor_item_t *m = cbor_new_definite_map(n);
    if (!m)
        return ECRED_ERR_NOMEM;
    /* Keys in deterministic order (RFC 8949 4.2.1): 1,4,5,6,7,8,65535,-65537. */
    e = put_text(m, ECRED_CWT_ISS, c->iss);
    if (!e) e = put_int(m, ECRED_CWT_EXP, exp);
    if (!e && carry_nbf) e = put_int(m, ECRED_CWT_NBF, nbf);
    if (!e) e = put_int(m, ECRED_CWT_IAT, c->iat);
    if (!e) e = ecred_cbor_map_put(m, ecred_cbor_int(ECRED_CWT_CTI), ecred_cbor_bytes(c->cti, c->cti_len));
    if (!e && c->has_cnf) {
        cbor_item_t *cnf = build_cnf(c);
        e = cnf ? ecred_cbor_map_put(m, ecred_cbor_int(ECRED_CWT_CNF), cnf) : ECRED_ERR_NOMEM;
    }
    if (!e && c->has_status) {
        cbor_item_t *st = build_status(c);
        e = st ? ecred_cbor_map_put(m, ecred_cbor_int(ECRED_CWT_STATUS), st) : ECRED_ERR_NOMEM;
    }
    if (!e) {
        cbor_item_t *cred = build_credential(&c->cred);
        e = cred ? ecred_cbor_map_put(m, ecred_cbor_int(ECRED_CWT_CREDENTIAL), cred)
                 : ECRED_ERR_NOMEM;
    }
    if (!e)
        e = ecred_cbor_encode(m, out);
    cbor_decref(&m);
    return e;
}

/* --- decode --- */

/* Decoding reads the bytes in place with the cursor of cborcur.h once
 * ecred_cborcur_check has passed the whole input under the small caps (the
 * same acceptance and errors as ecred_cbor_decode): a libcbor tree cost one
 * malloc per item and was 12% of a whole verification. Each map is read in
 * one pass that files every value, as the bytes it occupies, under its key,
 * refusing unknown and repeated keys; the fields are then checked in a fixed
 * order, so the error for input with several faults does not depend on the
 * order its keys arrive in (any order is accepted: signatures cover the bytes
 * received, so nothing requires deterministic order of input). A value span
 * has ptr NULL when its key was absent. Cursor reads inside a checked input
 * cannot fail; if one did, the helpers refuse rather than guess. */

/* The first head of value v; false when v is absent. */
static bool value_head(ecred_span v, ecred_cbor_head *h)
{
    ecred_cborcur cur;
    return v.ptr && ecred_cborcur_init(&cur, v.ptr, v.len, NULL) == ECRED_OK &&
           ecred_cborcur_head(&cur, h) == ECRED_OK;
}

/* Integer value in [min, max]; false when absent, of another type (a tagged
 * integer too) or out of range. */
static bool get_int(ecred_span v, int64_t min, int64_t max, int64_t *out)
{
    ecred_cbor_head h;
    int64_t x;
    if (!value_head(v, &h) || !ecred_cbor_head_int(&h, &x) || x < min || x > max)
        return false;
    *out = x;
    return true;
}

/* Non-empty text of at most max bytes passing text_ok, copied NUL-terminated
 * into dst (max + 1 bytes). */
static bool get_text(ecred_span v, char *dst, size_t max)
{
    ecred_cbor_head h;
    if (!value_head(v, &h) || h.major != ECRED_CBOR_MAJOR_TEXT || h.str.len == 0 ||
        h.str.len > max || !text_ok((const char *)h.str.ptr, h.str.len))
        return false;
    memcpy(dst, h.str.ptr, h.str.len);
    dst[h.str.len] = 0;
    return true;
}

/* Position *cur after the head of map value v and give its pair count; false
 * when v is absent or not a map. */
static bool open_map(ecred_span v, ecred_cborcur *cur, size_t *pairs)
{
    ecred_cbor_head h;
    if (!v.ptr || ecred_cborcur_init(cur, v.ptr, v.len, NULL) != ECRED_OK ||
        ecred_cborcur_head(cur, &h) != ECRED_OK || h.major != ECRED_CBOR_MAJOR_MAP)
        return false;
    *pairs = (size_t)h.arg; /* bounded by the bytes left (cborcur.h) */
    return true;
}

/* Read the pairs of an opened map whose keys must all be integers from
 * keys[0..n): vals[i] receives the value of keys[i] (ptr NULL when absent).
 * An unknown, non-integer or repeated key is refused, so two verifiers never
 * disagree about what was signed. */
static bool keys_allowed(ecred_cborcur *cur, size_t pairs, const int64_t *keys, size_t n,
                         ecred_span *vals)
{
    for (size_t i = 0; i < n; i++)
        vals[i] = ecred_span_of(NULL, 0);
    for (size_t p = 0; p < pairs; p++) {
        ecred_cbor_head h;
        int64_t k;
        if (ecred_cborcur_head(cur, &h) != ECRED_OK || !ecred_cbor_head_int(&h, &k))
            return false;
        size_t slot = 0;
        while (slot < n && keys[slot] != k)
            slot++;
        if (slot == n || vals[slot].ptr)
            return false;
        if (ecred_cborcur_skip(cur, &vals[slot]) != ECRED_OK)
            return false;
    }
    return true;
}

static ecred_err decode_credential(ecred_span m, ecred_credential *c)
{
    static const int64_t keys[] = {CK_TYPE, CK_NAME, CK_ID, CK_ADDRESS_DIVISION, CK_ADDRESS,
                                   CK_HOUSING, CK_HOUSING_REF, CK_HUKOU_DIVISION,
                                   CK_REGISTRATION_DATE, CK_AUTHORITY, CK_ENDORSEMENT_DATE};
    ecred_span v[sizeof keys / sizeof keys[0]]; /* v[k - 1] is key k */
    ecred_cborcur cur;
    size_t pairs;
    if (!open_map(m, &cur, &pairs) || !keys_allowed(&cur, pairs, keys, sizeof keys / sizeof keys[0], v))
        return ECRED_ERR_CREDENTIAL;

    int64_t t;
    memset(c, 0, sizeof *c);
    if (!get_int(v[CK_TYPE - 1], 1, 2, &t))
        return ECRED_ERR_CREDENTIAL;
    c->type = (int)t;
    if (!get_text(v[CK_NAME - 1], c->name, ECRED_NAME_MAX))
        return ECRED_ERR_CREDENTIAL;
    if (!get_int(v[CK_ID - 1], 10000000000000000LL, 99999999999999999LL, &t))
        return ECRED_ERR_CREDENTIAL;
    snprintf(c->id_number, sizeof c->id_number, "%017lld", (long long)t);
    c->id_number[17] = id_check_char(c->id_number);
    c->id_number[18] = 0;
    if (!id_number_ok(c->id_number, &c->sex, &c->birth_date))
        return ECRED_ERR_CREDENTIAL;
    if (!get_int(v[CK_ADDRESS_DIVISION - 1], 0, 999999, &t))
        return ECRED_ERR_CREDENTIAL;
    c->address_division = (uint32_t)t;
    if (!get_text(v[CK_ADDRESS - 1], c->address, ECRED_ADDRESS_MAX))
        return ECRED_ERR_CREDENTIAL;
    if (!get_int(v[CK_HOUSING - 1], 1, 3, &t))
        return ECRED_ERR_CREDENTIAL;
    c->housing = (int)t;
    if (c->housing == ECRED_HOUSING_OWN) {
        if (v[CK_HOUSING_REF - 1].ptr)
            return ECRED_ERR_CREDENTIAL;
    } else if (!get_text(v[CK_HOUSING_REF - 1], c->housing_ref, ECRED_REF_MAX)) {
        return ECRED_ERR_CREDENTIAL;
    }
    if (!get_int(v[CK_HUKOU_DIVISION - 1], 0, 999999, &t))
        return ECRED_ERR_CREDENTIAL;
    c->hukou_division = (uint32_t)t;
    if (!get_int(v[CK_REGISTRATION_DATE - 1], ECRED_DAY_MIN, ECRED_DAY_MAX, &t))
        return ECRED_ERR_CREDENTIAL;
    c->registration_date = (int32_t)t;
    if (!get_text(v[CK_AUTHORITY - 1], c->authority, ECRED_AUTHORITY_MAX))
        return ECRED_ERR_CREDENTIAL;
    if (c->type == ECRED_CRED_TYPE_PERMIT) {
        if (!get_int(v[CK_ENDORSEMENT_DATE - 1], ECRED_DAY_MIN, ECRED_DAY_MAX, &t))
            return ECRED_ERR_CREDENTIAL;
        c->endorsement_date = (int32_t)t;
    } else if (v[CK_ENDORSEMENT_DATE - 1].ptr) {
        return ECRED_ERR_CREDENTIAL;
    }
    return ECRED_OK;
}

/* status: {"status_list": {"idx": uint, "uri": text}} with exactly these
 * members, in either order (draft-ietf-oauth-status-list, CWT form). */
static ecred_err decode_status(ecred_span st, ecred_claims *c)
{
    ecred_cborcur cur;
    ecred_cbor_head k;
    ecred_span sl, idx = {NULL, 0}, uri = {NULL, 0};
    size_t pairs;
    if (!open_map(st, &cur, &pairs) || pairs != 1 || ecred_cborcur_head(&cur, &k) != ECRED_OK ||
        !ecred_cbor_head_text_is(&k, "status_list") || ecred_cborcur_skip(&cur, &sl) != ECRED_OK ||
        !open_map(sl, &cur, &pairs) || pairs != 2)
        return ECRED_ERR_CLAIMS;
    for (size_t p = 0; p < pairs; p++) {
        ecred_span val;
        if (ecred_cborcur_head(&cur, &k) != ECRED_OK || ecred_cborcur_skip(&cur, &val) != ECRED_OK)
            return ECRED_ERR_CLAIMS;
        if (ecred_cbor_head_text_is(&k, "idx") && !idx.ptr)
            idx = val;
        else if (ecred_cbor_head_text_is(&k, "uri") && !uri.ptr)
            uri = val;
        else
            return ECRED_ERR_CLAIMS; /* another member, or one repeated */
    }
    int64_t i;
    if (!get_int(idx, 0, INT64_MAX, &i) || !get_text(uri, c->status_uri, ECRED_URI_MAX))
        return ECRED_ERR_CLAIMS;
    c->status_idx = (uint64_t)i;
    c->has_status = true;
    return ECRED_OK;
}

/* cnf: {1: COSE_Key} with COSE_Key = {1 kty: 2, -1 crv: 1, -2 x: bstr .size
 * 32, -3 y: bool (compressed) / bstr .size 32, ? 2 kid: bstr, ? 3 alg: -7}
 * (RFC 9052 section 7.1 allows kid and alg in a key; alg, when present,
 * must be the only algorithm ecred verifies holder signatures with). kty,
 * crv, x and y are required; any other label is refused. A y sent whole
 * must make a point on the curve with x: it is checked here, not assumed. */
static ecred_err decode_cnf(ecred_span cnf, ecred_claims *c)
{
    static const int64_t cnf_keys[] = {1};
    static const int64_t key_keys[] = {1, -1, -2, -3, 2, 3};
    ecred_span cv[1], kv[6];
    ecred_cborcur cur;
    size_t pairs;
    if (!open_map(cnf, &cur, &pairs) || !keys_allowed(&cur, pairs, cnf_keys, 1, cv) ||
        !open_map(cv[0], &cur, &pairs) || !keys_allowed(&cur, pairs, key_keys, 6, kv))
        return ECRED_ERR_CLAIMS;
    int64_t v;
    ecred_cbor_head x, y, kid;
    bool y_sign = false, has_y = false;
    if (!get_int(kv[0], 2, 2, &v) || !get_int(kv[1], 1, 1, &v))
        return ECRED_ERR_CLAIMS;
    if (!value_head(kv[2], &x) || x.major != ECRED_CBOR_MAJOR_BYTES || x.str.len != 32)
        return ECRED_ERR_CLAIMS;
    if (!value_head(kv[3], &y))
        return ECRED_ERR_CLAIMS;
    if (y.major == ECRED_CBOR_MAJOR_BYTES && y.str.len == 32) {
        has_y = true;
        y_sign = (y.str.ptr[31] & 1) != 0;
    } else if (!ecred_cbor_head_bool(&y, &y_sign)) {
        return ECRED_ERR_CLAIMS;
    }
    if (kv[4].ptr && (!value_head(kv[4], &kid) || kid.major != ECRED_CBOR_MAJOR_BYTES || kid.str.len == 0 ||
                      kid.str.len > 64))
        return ECRED_ERR_CLAIMS;
    if (kv[5].ptr && !get_int(kv[5], ECRED_COSE_ALG_ES256, ECRED_COSE_ALG_ES256, &v))
        return ECRED_ERR_CLAIMS;
    if (has_y) {
        ecred_key *k = NULL;
        ecred_err e = ecred_key_from_ec2(x.str.ptr, y.str.ptr, 32, false, &k);
        ecred_key_free(k);
        if (e)
            return e == ECRED_ERR_NOMEM ? e : ECRED_ERR_CLAIMS;
        memcpy(c->cnf_y, y.str.ptr, 32);
    }
    memcpy(c->cnf_x, x.str.ptr, 32);
    c->cnf_y_sign = y_sign;
    c->cnf_has_y = has_y;
    c->has_cnf = true;
    return ECRED_OK;
}

ecred_err ecred_claims_decode(const uint8_t *buf, size_t n, ecred_claims *out)
{
    enum { R_ISS, R_SUB, R_AUD, R_EXP, R_NBF, R_IAT, R_CTI, R_CNF, R_STATUS, R_CRED, R_COUNT };
    static const int64_t keys[R_COUNT] = {ECRED_CWT_ISS,  ECRED_CWT_SUB, ECRED_CWT_AUD, ECRED_CWT_EXP,
                                          ECRED_CWT_NBF,  ECRED_CWT_IAT, ECRED_CWT_CTI, ECRED_CWT_CNF,
                                          ECRED_CWT_STATUS, ECRED_CWT_CREDENTIAL};
    if (!out)
        return ECRED_ERR_ARG;
    ecred_err e = ecred_cborcur_check(buf, n, &ecred_cbor_limits_small);
    if (e)
        return e;
    ecred_claims c;
    memset(&c, 0, sizeof c);
    ecred_span v[R_COUNT];
    ecred_cborcur cur;
    size_t pairs;
    if (!open_map(ecred_span_of(buf, n), &cur, &pairs) || !keys_allowed(&cur, pairs, keys, R_COUNT, v))
        return ECRED_ERR_CLAIMS;
    int64_t t_exp, t_iat, t_nbf;
    if (!get_text(v[R_ISS], c.iss, ECRED_ISS_MAX) ||
        !get_int(v[R_IAT], 0, ecred_cst_day_start(ECRED_DAY_MAX), &t_iat) ||
        !get_int(v[R_EXP], 0, ecred_cst_day_start(ECRED_DAY_MAX + 1), &t_exp))
        return ECRED_ERR_CLAIMS;
    ecred_cbor_head cti;
    if (!value_head(v[R_CTI], &cti) || cti.major != ECRED_CBOR_MAJOR_BYTES || cti.str.len < 1 ||
        cti.str.len > ECRED_CTI_MAX)
        return ECRED_ERR_CLAIMS;
    c.cti_len = cti.str.len;
    memcpy(c.cti, cti.str.ptr, c.cti_len);
    if (v[R_CNF].ptr && decode_cnf(v[R_CNF], &c))
        return ECRED_ERR_CLAIMS;
    if (v[R_STATUS].ptr && decode_status(v[R_STATUS], &c))
        return ECRED_ERR_CLAIMS;
    if (!v[R_CRED].ptr)
        return ECRED_ERR_CREDENTIAL;
    e = decode_credential(v[R_CRED], &c.cred);
    if (e)
        return e;
    /* Validity comes from nbf/exp at CST day boundaries (spec 4.2): anything
     * else is not an encoding we produce, so it is refused, not rounded. */
    if (!ecred_cst_is_midnight(t_exp))
        return ECRED_ERR_CLAIMS;
    c.cred.valid_until = ecred_cst_day_of(t_exp) - 1;
    if (v[R_NBF].ptr) {
        if (!get_int(v[R_NBF], 0, ecred_cst_day_start(ECRED_DAY_MAX), &t_nbf) ||
            !ecred_cst_is_midnight(t_nbf))
            return ECRED_ERR_CLAIMS;
        c.cred.valid_from = ecred_cst_day_of(t_nbf);
        if (c.cred.valid_from == ecred_cst_day_of(t_iat))
            return ECRED_ERR_CLAIMS; /* an nbf the encoder would have left out */
    } else {
        c.cred.valid_from = ecred_cst_day_of(t_iat);
    }
    c.iat = t_iat;
    c.exp = t_exp;
    c.nbf = ecred_cst_day_start(c.cred.valid_from);
    if (ecred_credential_validate(&c.cred, NULL) != ECRED_OK)
        return ECRED_ERR_CREDENTIAL;
    /* The encoder refuses exp <= iat (already expired when issued); decode
     * must not accept what encode would refuse (found by fuzz_claims). */
    if (t_exp <= t_iat)
        return ECRED_ERR_CLAIMS;
    *out = c;
    return ECRED_OK;
}
