/*
 * test_trustpolicy.c - the one trust policy (trustpolicy.h): signing window
 * edges, types, status URI prefixes, and the mapping from trust list entries.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ecred/credential.h"
#include "ecred/trustpolicy.h"

static void test_permits(void)
{
    const char *uri = "https://jzz.sh.gov.cn/s/3";
    size_t n = strlen(uri);
    ecred_trusted_key tk = {NULL, 1000, 2000, ECRED_TYPE_MASK_PERMIT, "https://jzz.sh.gov.cn/s/", NULL};
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1000, uri, n), ECRED_OK);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 2000, uri, n), ECRED_OK);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 999, uri, n), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 2001, uri, n), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_REGISTRATION, 1500, uri, n),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_TRUST_TYPE_STATUS_LIST, 1500, NULL, 0),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, 0, 1500, NULL, 0), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, 3, 1500, NULL, 0), ECRED_ERR_KEY_UNKNOWN);
    /* Status URIs: under the prefix only; n bounds the comparison. */
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1500, "https://evil.example/s/3", 24),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1500, uri, 10), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1500, NULL, 0), ECRED_OK);
    tk.status_uri_prefix = NULL; /* any */
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1500, "x:", 2), ECRED_OK);
    tk.status_uri_prefix = ""; /* grants none */
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_CRED_TYPE_PERMIT, 1500, uri, n), ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trust_permits(NULL, ECRED_CRED_TYPE_PERMIT, 1500, NULL, 0), ECRED_ERR_ARG);
    ecred_trusted_key open = {NULL, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    CHECK_ERR(ecred_trust_permits(&open, ECRED_CRED_TYPE_REGISTRATION, INT64_MIN, NULL, 0), ECRED_OK);
    CHECK_ERR(ecred_trust_permits(&open, ECRED_CRED_TYPE_REGISTRATION, INT64_MAX, NULL, 0), ECRED_OK);
}

static void test_entries(void)
{
    ecred_key *k = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &k), ECRED_OK);
    ecred_trustlist_entry e;
    memset(&e, 0, sizeof e);
    memcpy(e.kid, ecred_key_kid(k), ECRED_KID_LEN);
    e.key = k;
    e.sign_from = 5;
    e.sign_until = UINT64_MAX; /* past INT64_MAX: no bound */
    e.types = ECRED_TRUST_BIT_REGISTRATION | ECRED_TRUST_BIT_STATUS_LIST;
    strcpy(e.status_uri_prefix, "https://a.example/s/");
    ecred_trusted_key tk = ecred_trust_key_of_entry(&e);
    CHECK(tk.key == k && tk.sign_from == 5 && tk.sign_until == INT64_MAX);
    CHECK(tk.types == (ECRED_TYPE_MASK_REGISTRATION | ECRED_TYPE_MASK_STATUS_LIST));
    CHECK(tk.status_uri_prefix == e.status_uri_prefix);
    CHECK_ERR(ecred_trust_permits(&tk, ECRED_TRUST_TYPE_STATUS_LIST, 6, NULL, 0), ECRED_OK);

    /* The trust list lookups ask the same policy. */
    ecred_trustlist tl;
    memset(&tl, 0, sizeof tl);
    tl.entries = &e;
    tl.n_entries = 1;
    const ecred_trustlist_entry *got = NULL;
    CHECK_ERR(ecred_trustlist_find(&tl, e.kid, ECRED_KID_LEN, 5, ECRED_TRUST_TYPE_REGISTRATION, &got),
              ECRED_OK);
    CHECK(got == &e);
    CHECK_ERR(ecred_trustlist_find(&tl, e.kid, ECRED_KID_LEN, 4, ECRED_TRUST_TYPE_REGISTRATION, &got),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK_ERR(ecred_trustlist_find(&tl, e.kid, ECRED_KID_LEN, 5, ECRED_TRUST_TYPE_PERMIT, &got),
              ECRED_ERR_KEY_UNKNOWN);
    CHECK(ecred_trustlist_uri_allowed(&e, "https://a.example/s/1", 21));
    CHECK(!ecred_trustlist_uri_allowed(&e, "https://a.example/t/1", 21));

    ecred_keyset ks = {&tk, 1};
    CHECK(ecred_keyset_find(&ks, e.kid, ECRED_KID_LEN) == &tk);
    CHECK(ecred_keyset_find(&ks, e.kid, ECRED_KID_LEN - 1) == NULL);
    uint8_t other[ECRED_KID_LEN] = {0};
    CHECK(ecred_keyset_find(&ks, other, ECRED_KID_LEN) == NULL);
    CHECK(ecred_keyset_find(NULL, e.kid, ECRED_KID_LEN) == NULL);
    CHECK(ecred_trust_type_mask(ECRED_CRED_TYPE_PERMIT) == ECRED_TYPE_MASK_PERMIT);
    CHECK(ecred_trust_type_mask(-1) == 0);
    ecred_key_free(k);
}

int main(void)
{
    test_permits();
    test_entries();
    return check_finish();
}
