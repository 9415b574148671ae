/*
 * roles.h - what each caller of the verify API may see of a credential.
 *
 *   police    every field, with the credential's serial, issuer and times
 *   landlord  type, name, masked ID number, address, validity (and status,
 *             which every answer carries)
 *   agency    the field list configured on its API key
 *
 * The masked ID number keeps the first 6 characters (the issuing region) and
 * the last 4 (including the check character) and replaces the 8 in between
 * (the date of birth) with '*': 340102********2518. Must never: hand out a
 * field the role does not name; print.
 */
#ifndef ECRED_VERIFIER_ROLES_H
#define ECRED_VERIFIER_ROLES_H

#include <jansson.h>
#include <stddef.h>

#include "ecred/decide.h"
#include "jsonw.h"

typedef enum vrole { VROLE_NONE = 0, VROLE_POLICE = 1, VROLE_LANDLORD = 2, VROLE_AGENCY = 3 } vrole;

#define VROLE_FIELDS_MAX 512 /* bytes of an agency's comma-separated field list */

const char *vrole_name(vrole r);
/* "police", "landlord", "agency"; ECRED_ERR_INPUT otherwise. */
ecred_err vrole_parse(const char *s, vrole *out);

/* Check an agency field list "a,b,c": each a known field name (spec/verifier.md
 * section 5.3), 1..VROLE_FIELDS_MAX bytes, no empty item. On failure the bad
 * item goes to bad and the result is ECRED_ERR_INPUT. */
ecred_err vroles_check_fields(const char *csv, char *bad, size_t badcap);

/* 18-character ID number -> masked form (19 bytes with NUL). */
void vroles_mask_id(const char *id, char out[19]);

/* The credential fields the role may see, written as an object value into
 * w (police: all; landlord: its list; agency: its fields in the order
 * listed, each once; any other role: none). Returns false, writing nothing,
 * when the verdict has no decoded claims (nothing verified to show). */
bool vroles_view_write(vjson *w, const ecred_verdict *v, vrole role, const char *fields);

/* The same view as a new jansson tree; NULL when the verdict has no decoded
 * claims or memory ran out. */
json_t *vroles_view(const ecred_verdict *v, vrole role, const char *fields);

#endif
