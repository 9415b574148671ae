/*
 * fuzz_credential_json.c - application JSON to credential on arbitrary text.
 * Whatever is accepted validates, and survives credential -> JSON ->
 * credential unchanged.
 */
#include <string.h>

#include "ecred/credential.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_credential first, second;
    ecred_field_error field;
    ecred_buf json = ECRED_BUF_INIT;

    if (ecred_credential_from_json((const char *)data, size, &first, &field) != ECRED_OK)
        return 0;
    FUZZ_ASSERT(ecred_credential_validate(&first, NULL) == ECRED_OK);
    FUZZ_ASSERT(ecred_credential_to_json(&first, &json) == ECRED_OK);
    FUZZ_ASSERT(ecred_credential_from_json((const char *)json.ptr, json.len, &second, &field) == ECRED_OK);
    FUZZ_ASSERT(first.type == second.type && strcmp(first.name, second.name) == 0 &&
                strcmp(first.id_number, second.id_number) == 0 && first.sex == second.sex &&
                first.birth_date == second.birth_date &&
                first.address_division == second.address_division &&
                strcmp(first.address, second.address) == 0 && first.housing == second.housing &&
                strcmp(first.housing_ref, second.housing_ref) == 0 &&
                first.hukou_division == second.hukou_division &&
                first.registration_date == second.registration_date &&
                strcmp(first.authority, second.authority) == 0 &&
                first.valid_from == second.valid_from && first.valid_until == second.valid_until &&
                first.endorsement_date == second.endorsement_date);
    ecred_buf_free(&json);
    return 0;
}
