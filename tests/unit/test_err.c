/*
 * test_err.c - the one error table: every value has a distinct detail name
 * that reads back to it, and the exit codes and reasons are the ones
 * spec/errors.md promises (a change here is an interface change).
 */
#include "check.h"

static const ecred_err all[] = {
    ECRED_OK, ECRED_ERR_NOT_OUR_FORMAT, ECRED_ERR_BASE45, ECRED_ERR_INFLATE, ECRED_ERR_TOO_LARGE,
    ECRED_ERR_CBOR, ECRED_ERR_CBOR_LIMIT, ECRED_ERR_COSE_STRUCTURE, ECRED_ERR_COSE_HEADER,
    ECRED_ERR_ALG_UNSUPPORTED, ECRED_ERR_CLAIMS, ECRED_ERR_CREDENTIAL, ECRED_ERR_STATUS_LIST,
    ECRED_ERR_TRUST_LIST, ECRED_ERR_INPUT, ECRED_ERR_SIGNATURE_INVALID, ECRED_ERR_KEY_UNKNOWN,
    ECRED_ERR_KEY_ALG_MISMATCH, ECRED_ERR_KEY_INVALID, ECRED_ERR_KEY_PERMISSIONS, ECRED_ERR_CRYPTO,
    ECRED_ERR_EXPIRED, ECRED_ERR_NOT_YET_VALID, ECRED_ERR_REVOKED, ECRED_ERR_SUSPENDED,
    ECRED_ERR_STATUS_STALE, ECRED_ERR_STATUS_UNAVAILABLE, ECRED_ERR_LIST_EXPIRED, ECRED_ERR_NOMEM,
    ECRED_ERR_IO, ECRED_ERR_EXISTS, ECRED_ERR_ARG, ECRED_ERR_BUFFER_SMALL, ECRED_ERR_INTERNAL,
    ECRED_ERR_UNSUPPORTED, ECRED_ERR_STATUS_INDEX,
};
#define N_ALL (sizeof all / sizeof all[0])

int main(void)
{
    for (size_t i = 0; i < N_ALL; i++) {
        ecred_err back;
        CHECK_ERR(ecred_err_from_name(ecred_err_name(all[i]), &back), ECRED_OK);
        CHECK_ERR(back, all[i]);
        for (size_t j = i + 1; j < N_ALL; j++)
            CHECK(strcmp(ecred_err_name(all[i]), ecred_err_name(all[j])) != 0);
        CHECK(ecred_err_message(all[i])[0] != 0);
        int s = ecred_err_http_status(all[i]);
        CHECK(s >= 200 && s < 600);
    }
    ecred_err e = ECRED_OK;
    CHECK_ERR(ecred_err_from_name("no_such_error", &e), ECRED_ERR_ARG);
    /* spec/errors.md: reasons and exit codes of the verifier's outcomes. */
    static const struct { ecred_err e; const char *reason; int exit_code; } outcomes[] = {
        {ECRED_OK, "ok", 0},
        {ECRED_ERR_NOT_OUR_FORMAT, "not_our_format", 3},
        {ECRED_ERR_BASE45, "malformed", 4},
        {ECRED_ERR_TOO_LARGE, "malformed", 4},
        {ECRED_ERR_CBOR_LIMIT, "malformed", 4},
        {ECRED_ERR_KEY_UNKNOWN, "unknown_key", 5},
        {ECRED_ERR_SIGNATURE_INVALID, "bad_signature", 6},
        {ECRED_ERR_KEY_ALG_MISMATCH, "bad_signature", 6},
        {ECRED_ERR_EXPIRED, "expired", 7},
        {ECRED_ERR_NOT_YET_VALID, "not_yet_valid", 8},
        {ECRED_ERR_REVOKED, "revoked", 9},
        {ECRED_ERR_SUSPENDED, "suspended", 10},
        {ECRED_ERR_STATUS_STALE, "status_stale", 11},
        {ECRED_ERR_STATUS_UNAVAILABLE, "status_unavailable", 12},
        {ECRED_ERR_STATUS_INDEX, "status_index_invalid", 18},
    };
    for (size_t i = 0; i < sizeof outcomes / sizeof outcomes[0]; i++) {
        CHECK(strcmp(ecred_err_reason(outcomes[i].e), outcomes[i].reason) == 0);
        CHECK(ecred_err_exit_code(outcomes[i].e) == outcomes[i].exit_code);
    }
    /* An unknown value reads as internal, never as ok. */
    CHECK(strcmp(ecred_err_reason((ecred_err)9999), "internal") == 0);
    CHECK(ecred_err_exit_code((ecred_err)9999) != 0);
    return check_finish();
}
