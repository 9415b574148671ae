/*
 * fuzz_cose.c - COSE_Sign1 structural decode on arbitrary bytes; whatever
 * decodes is verified with a fixed ES256 key and a fixed EdDSA key (the
 * verdict does not matter, only that it is reached safely), and the
 * Sig_structure is built from the received spans.
 */
#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const ecred_key *es256 = fuzz_issuer_public(), *eddsa = fuzz_eddsa_public();
    ecred_cose_sign1 msg;

    if (ecred_cose_sign1_decode(data, size, NULL, &msg) != ECRED_OK)
        return 0;
    FUZZ_ASSERT(msg.total_len == size);
    FUZZ_ASSERT(msg.kid_len <= ECRED_COSE_KID_MAX);
    FUZZ_ASSERT(msg.alg == ECRED_COSE_ALG_ES256 || msg.alg == ECRED_COSE_ALG_EDDSA);

    /* The verdict is not checked: the seeds hold genuine credentials. */
    (void)ecred_cose_sign1_verify(&msg, es256);
    (void)ecred_cose_sign1_verify(&msg, eddsa);

    ecred_buf tbs = ECRED_BUF_INIT;
    (void)ecred_cose_sig_structure(msg.protected_bytes, msg.payload, &tbs);
    ecred_buf_free(&tbs);
    ecred_cose_sign1_clear(&msg);
    return 0;
}
