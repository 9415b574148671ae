/*
 * fuzz_claims.c - CWT claims decode on arbitrary bytes, with the property that
 * decode never accepts what encode would refuse: anything decoded re-encodes,
 * decodes again to the identical struct, and encodes to the identical bytes.
 */
#include <string.h>

#include "ecred/credential.h"
#include "fuzz_common.h"

/* Field-by-field equality (padding and bytes after a string's NUL are not
 * part of the value). */
static int credential_equal(const ecred_credential *a, const ecred_credential *b)
{
    return a->type == b->type && strcmp(a->name, b->name) == 0 &&
           strcmp(a->id_number, b->id_number) == 0 && a->sex == b->sex &&
           a->birth_date == b->birth_date && a->address_division == b->address_division &&
           strcmp(a->address, b->address) == 0 && a->housing == b->housing &&
           strcmp(a->housing_ref, b->housing_ref) == 0 && a->hukou_division == b->hukou_division &&
           a->registration_date == b->registration_date &&
           strcmp(a->authority, b->authority) == 0 && a->valid_from == b->valid_from &&
           a->valid_until == b->valid_until && a->endorsement_date == b->endorsement_date;
}

static int claims_equal(const ecred_claims *a, const ecred_claims *b)
{
    return strcmp(a->iss, b->iss) == 0 && a->iat == b->iat && a->nbf == b->nbf &&
           a->exp == b->exp && a->cti_len == b->cti_len &&
           memcmp(a->cti, b->cti, a->cti_len) == 0 && a->has_status == b->has_status &&
           (!a->has_status ||
            (a->status_idx == b->status_idx && strcmp(a->status_uri, b->status_uri) == 0)) &&
           a->has_cnf == b->has_cnf &&
           (!a->has_cnf ||
            (memcmp(a->cnf_x, b->cnf_x, sizeof a->cnf_x) == 0 && a->cnf_y_sign == b->cnf_y_sign &&
             a->cnf_has_y == b->cnf_has_y && (!a->cnf_has_y || memcmp(a->cnf_y, b->cnf_y, 32) == 0))) &&
           credential_equal(&a->cred, &b->cred);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_claims first, second;
    ecred_buf enc1 = ECRED_BUF_INIT, enc2 = ECRED_BUF_INIT;

    if (ecred_claims_decode(data, size, &first) != ECRED_OK)
        return 0;
    FUZZ_ASSERT(ecred_credential_validate(&first.cred, NULL) == ECRED_OK);
    FUZZ_ASSERT(ecred_claims_encode(&first, &enc1) == ECRED_OK);
    FUZZ_ASSERT(ecred_claims_decode(enc1.ptr, enc1.len, &second) == ECRED_OK);
    FUZZ_ASSERT(claims_equal(&first, &second));
    FUZZ_ASSERT(ecred_claims_encode(&second, &enc2) == ECRED_OK);
    FUZZ_ASSERT(enc1.len == enc2.len && memcmp(enc1.ptr, enc2.ptr, enc1.len) == 0);

    ecred_buf json = ECRED_BUF_INIT;
    FUZZ_ASSERT(ecred_credential_to_json(&first.cred, &json) == ECRED_OK);
    ecred_buf_free(&json);
    ecred_buf_free(&enc1);
    ecred_buf_free(&enc2);
    return 0;
}
