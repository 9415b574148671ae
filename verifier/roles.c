/*
 * roles.c - field views per API role (roles.h). Views are written straight
 * from the decoded claims into the answer's buffer (jsonw.h): no tree of
 * small allocations per request. Field names and values are those of
 * ecred_credential_to_json (spec/credential.md), which
 * tests/unit/test_verifier_reply.c holds us to. Must never: return a field
 * not in the role's list; print.
 */
#include "roles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every field an agency may name. The first 14 are credential.md's; the
 * rest are derived (id_number_masked) or come from the CWT claims. */
static const char *const known_fields[] = {
    "type", "name", "id_number", "sex", "birth_date", "address_division", "address", "housing",
    "hukou_division", "registration_date", "authority", "valid_from", "valid_until",
    "endorsement_date", "id_number_masked", "iss", "iat", "exp", "cti",
};

static const char *const landlord_fields[] = {
    "type", "name", "id_number_masked", "address_division", "address", "valid_from", "valid_until",
    "endorsement_date",
};

const char *vrole_name(vrole r)
{
    switch (r) {
    case VROLE_POLICE: return "police";
    case VROLE_LANDLORD: return "landlord";
    case VROLE_AGENCY: return "agency";
    default: return "none";
    }
}

ecred_err vrole_parse(const char *s, vrole *out)
{
    for (vrole r = VROLE_POLICE; r <= VROLE_AGENCY; r++)
        if (strcmp(s, vrole_name(r)) == 0) {
            *out = r;
            return ECRED_OK;
        }
    return ECRED_ERR_INPUT;
}

static size_t field_index(const char *f, size_t n);

static bool known(const char *f, size_t n)
{
    return field_index(f, n) < sizeof known_fields / sizeof known_fields[0];
}

ecred_err vroles_check_fields(const char *csv, char *bad, size_t badcap)
{
    size_t len = strlen(csv);
    if (len == 0 || len > VROLE_FIELDS_MAX) {
        snprintf(bad, badcap, "%s", len ? "(list too long)" : "(empty list)");
        return ECRED_ERR_INPUT;
    }
    const char *p = csv;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (!known(p, n)) {
            snprintf(bad, badcap, "%.*s", (int)(n > 64 ? 64 : n), p);
            return ECRED_ERR_INPUT;
        }
        if (!comma)
            return ECRED_OK;
        p = comma + 1;
    }
}

void vroles_mask_id(const char *id, char out[19])
{
    size_t n = strlen(id);
    if (n != 18) {
        /* Not an ID number of the one valid shape: show nothing of it. */
        memcpy(out, "******************", 19);
        return;
    }
    memcpy(out, id, 6);
    memset(out + 6, '*', 8);
    memcpy(out + 14, id + 14, 4);
    out[18] = 0;
}

/* Field indexes into known_fields, in the full view's order. */
enum {
    F_TYPE, F_NAME, F_ID_NUMBER, F_SEX, F_BIRTH_DATE, F_ADDRESS_DIVISION, F_ADDRESS, F_HOUSING,
    F_HUKOU_DIVISION, F_REGISTRATION_DATE, F_AUTHORITY, F_VALID_FROM, F_VALID_UNTIL,
    F_ENDORSEMENT_DATE, F_ID_NUMBER_MASKED, F_ISS, F_IAT, F_EXP, F_CTI, F_COUNT
};

/* The names ecred_credential_to_json gives these values (spec/credential.md);
 * test_verifier_reply checks the two stay the same. */
static const char *const type_words[] = {NULL, "registration_certificate", "residence_permit"};
static const char *const housing_words[] = {NULL, "own", "rental", "relative"};

/* Index of the named field (n bytes), F_COUNT if unknown. */
static size_t field_index(const char *f, size_t n)
{
    for (size_t i = 0; i < F_COUNT; i++)
        if (strlen(known_fields[i]) == n && strncmp(known_fields[i], f, n) == 0)
            return i;
    return F_COUNT;
}

static void put_date(vjson *w, int32_t days)
{
    char d[11];
    ecred_date_format(days, d);
    vjson_str(w, d);
}

static void put_division(vjson *w, uint32_t code)
{
    char d[8];
    snprintf(d, sizeof d, "%06u", (unsigned)(code % 1000000));
    vjson_str(w, d);
}

static void put_time(vjson *w, int64_t t)
{
    char s[21];
    ecred_time_format(t, s);
    vjson_str(w, s);
}

/* Write field f of the credential as a member of the open object; false (and
 * nothing written) when this credential has no such field. */
static bool put_field(vjson *w, const ecred_claims *c, size_t f)
{
    const ecred_credential *cr = &c->cred;
    if (f == F_ENDORSEMENT_DATE && cr->type != ECRED_CRED_TYPE_PERMIT)
        return false;
    if ((f == F_TYPE && (cr->type < 1 || cr->type > 2)) || (f == F_HOUSING && (cr->housing < 1 || cr->housing > 3)))
        return false; /* decoded claims never hold these; show nothing rather than guess */
    vjson_key(w, known_fields[f]);
    switch (f) {
    case F_TYPE: vjson_str(w, type_words[cr->type]); break;
    case F_NAME: vjson_str(w, cr->name); break;
    case F_ID_NUMBER: vjson_str(w, cr->id_number); break;
    case F_SEX: vjson_str(w, cr->sex == ECRED_SEX_MALE ? "male" : "female"); break;
    case F_BIRTH_DATE: put_date(w, cr->birth_date); break;
    case F_ADDRESS_DIVISION: put_division(w, cr->address_division); break;
    case F_ADDRESS: vjson_str(w, cr->address); break;
    case F_HOUSING:
        vjson_begin(w);
        vjson_key(w, "basis");
        vjson_str(w, housing_words[cr->housing]);
        if (cr->housing_ref[0]) {
            vjson_key(w, "reference");
            vjson_str(w, cr->housing_ref);
        }
        vjson_end(w);
        break;
    case F_HUKOU_DIVISION: put_division(w, cr->hukou_division); break;
    case F_REGISTRATION_DATE: put_date(w, cr->registration_date); break;
    case F_AUTHORITY: vjson_str(w, cr->authority); break;
    case F_VALID_FROM: put_date(w, cr->valid_from); break;
    case F_VALID_UNTIL: put_date(w, cr->valid_until); break;
    case F_ENDORSEMENT_DATE: put_date(w, cr->endorsement_date); break;
    case F_ID_NUMBER_MASKED: {
        char masked[19];
        vroles_mask_id(cr->id_number, masked);
        vjson_str(w, masked);
        break;
    }
    case F_ISS: vjson_str(w, c->iss); break;
    case F_IAT: put_time(w, c->iat); break;
    case F_EXP: put_time(w, c->exp); break;
    default: {
        char cti[2 * ECRED_CTI_MAX + 1];
        ecred_hex(c->cti, c->cti_len < ECRED_CTI_MAX ? c->cti_len : ECRED_CTI_MAX, cti);
        vjson_str(w, cti);
        break;
    }
    }
    return true;
}

/* Field f once: a name listed twice is shown once, where it first appears. */
static void put_once(vjson *w, const ecred_claims *c, size_t f, uint32_t *shown)
{
    if (f >= F_COUNT || (*shown & (1u << f)))
        return;
    *shown |= 1u << f;
    put_field(w, c, f);
}

bool vroles_view_write(vjson *w, const ecred_verdict *v, vrole role, const char *fields)
{
    if (!v->claims_ok)
        return false;
    const ecred_claims *c = &v->claims;
    uint32_t shown = 0;
    vjson_begin(w);
    if (role == VROLE_POLICE) {
        for (size_t f = 0; f < F_COUNT; f++)
            put_once(w, c, f, &shown);
    } else if (role == VROLE_LANDLORD) {
        for (size_t i = 0; i < sizeof landlord_fields / sizeof landlord_fields[0]; i++)
            put_once(w, c, field_index(landlord_fields[i], strlen(landlord_fields[i])), &shown);
    } else if (role == VROLE_AGENCY && fields) {
        const char *p = fields;
        for (size_t guard = 0; guard < VROLE_FIELDS_MAX; guard++) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            put_once(w, c, field_index(p, n), &shown);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    vjson_end(w);
    return true;
}

json_t *vroles_view(const ecred_verdict *v, vrole role, const char *fields)
{
    if (!v->claims_ok)
        return NULL;
    ecred_buf b = ECRED_BUF_INIT;
    vjson w;
    vjson_init(&w, &b);
    vroles_view_write(&w, v, role, fields);
    json_t *o = vjson_finish(&w) == ECRED_OK ? json_loadb((const char *)b.ptr, b.len, 0, NULL) : NULL;
    ecred_buf_wipe(&b); /* personal fields */
    return o;
}
