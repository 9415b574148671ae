/*
 * credential.h - ecred's two credential types and the CWT that carries them
 * (spec/credential.md is the normative text; this is its C shape).
 *
 *   residence registration certificate (居住登记凭证)  type 1
 *   residence permit (居住证)                          type 2
 *
 * Functions here convert between three forms: application JSON (what a clerk
 * submits), the in-memory struct, and the CWT claims CBOR (what gets signed).
 * Every field is validated in every direction: decode never accepts what
 * encode would refuse to produce.
 */
#ifndef ECRED_CREDENTIAL_H
#define ECRED_CREDENTIAL_H

/* Longest validity of either credential type, valid_from to valid_until
 * inclusive: ten years (3653 days with leap days). */
#define ECRED_VALIDITY_DAYS_MAX 3653

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/cst.h"
#include "ecred/cwt.h"

#define ECRED_CRED_TYPE_REGISTRATION 1
#define ECRED_CRED_TYPE_PERMIT 2

#define ECRED_HOUSING_OWN 1      /* own property (自有住房) */
#define ECRED_HOUSING_RENTAL 2   /* filed rental contract (租赁住房, 备案) */
#define ECRED_HOUSING_RELATIVE 3 /* relative's home under a kinship commitment (投靠亲属, 承诺制) */

#define ECRED_SEX_MALE 1
#define ECRED_SEX_FEMALE 2

/* Byte limits of UTF-8 text fields (excluding NUL). */
#define ECRED_NAME_MAX 64
#define ECRED_ADDRESS_MAX 192
#define ECRED_REF_MAX 40
#define ECRED_AUTHORITY_MAX 96
#define ECRED_ISS_MAX 64
#define ECRED_URI_MAX 128
#define ECRED_CTI_MAX 16
#define ECRED_ID_NUMBER_LEN 18

typedef struct ecred_credential {
    int type;                               /* ECRED_CRED_TYPE_* */
    char name[ECRED_NAME_MAX + 1];          /* holder name, UTF-8 */
    char id_number[ECRED_ID_NUMBER_LEN + 1];/* 18-char resident ID, check digit valid */
    int sex;                                /* derived from id_number */
    int32_t birth_date;                     /* days since 1970-01-01, derived from id_number */
    uint32_t address_division;              /* GB/T 2260 6-digit code of the residence */
    char address[ECRED_ADDRESS_MAX + 1];    /* the address below that division, UTF-8 */
    int housing;                            /* ECRED_HOUSING_* */
    char housing_ref[ECRED_REF_MAX + 1];    /* filing number / commitment reference; "" for OWN */
    uint32_t hukou_division;                /* GB/T 2260 code of hukou origin */
    int32_t registration_date;              /* days since epoch (居住登记日期) */
    char authority[ECRED_AUTHORITY_MAX + 1];/* issuing authority, UTF-8 */
    int32_t valid_from;                     /* days, first valid day (China Standard Time) */
    int32_t valid_until;                    /* days, last valid day inclusive */
    int32_t endorsement_date;               /* permits: next 签注 date, days; 0 for type 1 */
} ecred_credential;

typedef struct ecred_claims {
    char iss[ECRED_ISS_MAX + 1];
    int64_t iat;
    int64_t nbf;                            /* = iat when not carried */
    int64_t exp;
    uint8_t cti[ECRED_CTI_MAX];
    size_t cti_len;
    bool has_status;
    uint64_t status_idx;
    char status_uri[ECRED_URI_MAX + 1];
    bool has_cnf;                           /* holder device key (P-256) */
    uint8_t cnf_x[32];
    bool cnf_y_sign;                        /* always set (from y when y was sent whole) */
    bool cnf_has_y;                         /* y came (or goes) as a 32-byte bstr, not a
                                             * sign bit: the uncompressed form */
    uint8_t cnf_y[32];
    ecred_credential cred;
} ecred_claims;

/* Why a credential field was refused: which field (its JSON name, e.g.
 * "id_number" or "housing.reference"), what kind of fault, and a short
 * English reason for people ("check character does not match"). */
typedef struct ecred_field_error {
    enum { ECRED_FIELD_INVALID, ECRED_FIELD_MISSING, ECRED_FIELD_UNKNOWN } kind;
    char field[48];
    char why[112];
} ecred_field_error;

/* Validate every field of a credential (lengths, UTF-8, ID check digit and its
 * agreement with sex/birth date, known enum values, division codes, dates in
 * order, housing_ref present exactly when the basis needs one, endorsement only
 * for permits). On failure fills *why (if not NULL; kind INVALID) and returns
 * ECRED_ERR_CREDENTIAL. */
ecred_err ecred_credential_validate(const ecred_credential *c, ecred_field_error *why);

/* Fill a credential from application JSON text (spec/examples/ files; field
 * names in spec/credential.md). Fields derived from the ID number (sex,
 * birth_date) may be given and must agree. On failure *why (if not NULL) says
 * which field and why: ECRED_FIELD_UNKNOWN for a member we do not know (they
 * are refused), ECRED_FIELD_MISSING for a required one absent, else
 * ECRED_FIELD_INVALID (field "(json)" for text that is not JSON, "(root)" for
 * JSON that is not an object). Returns ECRED_ERR_INPUT, ECRED_ERR_TOO_LARGE
 * (over 64 KiB) or ECRED_ERR_ARG; *out is written only on success. */
ecred_err ecred_credential_from_json(const char *json, size_t n, ecred_credential *out,
                                     ecred_field_error *why);
/* Credential as a JSON object text (the same names; dates as YYYY-MM-DD). */
ecred_err ecred_credential_to_json(const ecred_credential *c, ecred_buf *out);

/* Display name of a GB/T 2260 division code for people: the province, and for
 * Shanghai's districts the district ("上海市徐汇区"); "" when the province is
 * unknown. Display only: the code is what was signed. */
const char *ecred_division_name(uint32_t code);

/* CWT claims <-> deterministic CBOR. encode validates first. decode applies the
 * small CBOR caps, requires exact consumption, unique keys, the required
 * claims, and a credential that passes ecred_credential_validate; unknown
 * claims are refused (ECRED_ERR_CLAIMS) except registered ones we ignore
 * (aud, sub). */
ecred_err ecred_claims_encode(const ecred_claims *c, ecred_buf *out);
ecred_err ecred_claims_decode(const uint8_t *buf, size_t n, ecred_claims *out);

#endif
