/*
 * fuzz_slist.c - status list decode (with an entry cap) and status list token
 * verification (with the draft's example key, at a fixed time and with the exp
 * check off) on arbitrary bytes. A decoded list answers its first and last
 * index and refuses the first one out of range.
 *
 * The input is also signed as a token payload (typ statuslist+cwt, kid
 * unprotected) with a generated key and verified with it, so the claims and
 * list parsing behind the signature check are fuzzed as well.
 */
#include "ecred/cose.h"
#include "ecred/slist.h"
#include "fuzz_common.h"

/* Spot-check lookups on a decoded list. */
static void probe(const ecred_slist *l)
{
    unsigned v;
    FUZZ_ASSERT(l->count > 0 && l->bits > 0 && l->bits <= 8);
    FUZZ_ASSERT(l->nbytes == (l->count * l->bits + 7) / 8);
    FUZZ_ASSERT(ecred_slist_get(l, 0, &v) == ECRED_OK && v < (1u << l->bits));
    FUZZ_ASSERT(ecred_slist_get(l, l->count - 1, &v) == ECRED_OK);
    FUZZ_ASSERT(ecred_slist_get(l, l->count, &v) == ECRED_ERR_ARG);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_slist l;
    if (ecred_slist_decode(data, size, (size_t)1 << 20, &l) == ECRED_OK) {
        probe(&l);
        ecred_buf enc = ECRED_BUF_INIT;
        FUZZ_ASSERT(ecred_slist_encode(&l, &enc) == ECRED_OK);
        ecred_buf_free(&enc);
        ecred_slist_free(&l);
    }

    const int64_t nows[] = {-1, FUZZ_NOW};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++) {
        ecred_slist_token tok;
        if (ecred_slist_token_verify(data, size, fuzz_slist_key(), nows[i], &tok) == ECRED_OK) {
            probe(&tok.list);
            ecred_slist_free(&tok.list);
        }
    }

    const ecred_cose_sign_opts opts = {false, false, ECRED_SLIST_TYP};
    ecred_buf token = ECRED_BUF_INIT;
    if (size <= 65536 &&
        ecred_cose_sign1_sign(fuzz_generated_key(), &opts, data, size, &token) == ECRED_OK) {
        ecred_slist_token tok;
        if (ecred_slist_token_verify(token.ptr, token.len, fuzz_generated_key(), FUZZ_NOW, &tok) ==
            ECRED_OK) {
            probe(&tok.list);
            ecred_slist_free(&tok.list);
        }
    }
    ecred_buf_free(&token);

    uint8_t kid[64];
    size_t kid_len;
    if (ecred_slist_token_kid(data, size, kid, &kid_len) == ECRED_OK)
        FUZZ_ASSERT(kid_len > 0 && kid_len <= sizeof kid);
    return 0;
}
