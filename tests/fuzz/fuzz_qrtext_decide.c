/*
 * fuzz_qrtext_decide.c - the whole verify decision on arbitrary input, with a
 * fixed trusted key and a fake status source.
 *
 * The first byte picks what the rest is: even, the QR text itself (every
 * layer before the signature: prefix, base45, inflate, COSE); odd, a CWT
 * claims payload that the harness signs with the test issuer key, so the
 * fuzzer also reaches what only a good signature unlocks (claims, validity
 * window, key policy, status lookup).
 */
#include <string.h>

#include "ecred/cose.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"
#include "fuzz_common.h"

/* Status by index: a few values of each kind, some data stale, one uri unknown. */
static ecred_err fake_lookup(void *ctx, const char *uri, uint64_t idx, unsigned *status,
                             int64_t *as_of)
{
    (void)ctx;
    if (uri == NULL || strstr(uri, "unknown") != NULL)
        return ECRED_ERR_STATUS_UNAVAILABLE;
    if (idx % 7 == 6)
        return ECRED_ERR_STATUS_LIST;
    *status = (unsigned)(idx % 4);
    *as_of = (idx % 5 == 4) ? FUZZ_NOW - 3 * 86400 : FUZZ_NOW - 60;
    return ECRED_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    ecred_trusted_key tk = {fuzz_issuer_public(), INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL,
                            "https://", NULL};
    ecred_keyset keys = {&tk, 1};
    ecred_status_source src = {fake_lookup, NULL, 86400};
    ecred_verdict v;
    ecred_buf cose = ECRED_BUF_INIT, text = ECRED_BUF_INIT;

    if ((data[0] & 1) == 0) {
        ecred_err e = ecred_decide((const char *)data + 1, size - 1, &keys, &src, FUZZ_NOW, &v);
        FUZZ_ASSERT(e == v.outcome);
        /* Text nobody signed never passes the signature. */
        FUZZ_ASSERT(!v.signature_checked || v.kid_len > 0);
        return 0;
    }

    if (ecred_cose_sign1_sign(fuzz_issuer_private(), NULL, data + 1, size - 1, &cose) != ECRED_OK)
        goto out;
    ecred_compress mode = (data[0] & 2) ? ECRED_COMPRESS_DICT : ECRED_COMPRESS_NONE;
    if (ecred_qrtext_encode(cose.ptr, cose.len, mode, &text) != ECRED_OK)
        goto out;
    ecred_err e = ecred_decide((const char *)text.ptr, text.len, &keys, &src, FUZZ_NOW, &v);
    FUZZ_ASSERT(e == v.outcome);
    /* A verdict of valid needs every check before it. */
    if (e == ECRED_OK)
        FUZZ_ASSERT(v.signature_checked && v.claims_ok);
    /* The same decision without a status source never fails on status. */
    ecred_verdict v2;
    (void)ecred_decide((const char *)text.ptr, text.len, &keys, NULL, FUZZ_NOW, &v2);
out:
    ecred_buf_free(&cose);
    ecred_buf_free(&text);
    return 0;
}
