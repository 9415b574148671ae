/*
 * roles.c - field views per API role (roles.h). Views are built by picking
 * from the credential's own JSON form (ecred_credential_to_json), so field
 * names are those of spec/credential.md. Must never: return a field not in
 * the role's list; print.
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

static bool known(const char *f, size_t n)
{
    for (size_t i = 0; i < sizeof known_fields / sizeof known_fields[0]; i++)
        if (strlen(known_fields[i]) == n && strncmp(known_fields[i], f, n) == 0)
            return true;
    return false;
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

/* The full view: credential fields plus the derived and claim fields. */
static json_t *full_view(const ecred_claims *c)
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

/* Copy the named field (n bytes of name) from src to dst when present. */
static void pick(json_t *dst, json_t *src, const char *name, size_t n)
{
    char key[64];
    if (n >= sizeof key)
        return;
    memcpy(key, name, n);
    key[n] = 0;
    json_t *v = json_object_get(src, key);
    if (v)
        json_object_set(dst, key, v);
}

json_t *vroles_view(const ecred_verdict *v, vrole role, const char *fields)
{
    if (!v->claims_ok)
        return NULL;
    json_t *all = full_view(&v->claims);
    if (!all || role == VROLE_POLICE)
        return all;
    json_t *o = json_object();
    if (o && role == VROLE_LANDLORD) {
        for (size_t i = 0; i < sizeof landlord_fields / sizeof landlord_fields[0]; i++)
            pick(o, all, landlord_fields[i], strlen(landlord_fields[i]));
    } else if (o && role == VROLE_AGENCY && fields) {
        const char *p = fields;
        for (size_t guard = 0; guard < VROLE_FIELDS_MAX; guard++) {
            const char *comma = strchr(p, ',');
            size_t n = comma ? (size_t)(comma - p) : strlen(p);
            if (known(p, n))
                pick(o, all, p, n);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    json_decref(all);
    return o;
}
