/*
 * fuzz_trustlist.c - signed trust list verification with the fixed test root.
 *
 * The first byte picks what the rest is: even, a whole signed list (what
 * reaches the parser before the signature check); odd, a payload the harness
 * signs with the test root (typ trust list, kid protected), so the fuzzer
 * reaches the field parsing and the key loading that only a good signature
 * unlocks. A verified list is then queried with each listed kid.
 */
#include "ecred/cose.h"
#include "ecred/trustlist.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    ecred_buf signed_list = ECRED_BUF_INIT;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        const ecred_cose_sign_opts opts = {true, false, ECRED_TRUSTLIST_TYP};
        if (ecred_cose_sign1_sign(fuzz_trust_root_private(), &opts, p, n, &signed_list) != ECRED_OK)
            return 0;
        p = signed_list.ptr;
        n = signed_list.len;
    }

    ecred_trustlist tl;
    if (ecred_trustlist_verify(p, n, fuzz_trust_root(), FUZZ_NOW, &tl) == ECRED_OK) {
        FUZZ_ASSERT(tl.n_entries <= ECRED_TRUSTLIST_MAX_ENTRIES);
        for (size_t i = 0; i < tl.n_entries; i++) {
            const ecred_trustlist_entry *e = NULL;
            (void)ecred_trustlist_find(&tl, tl.entries[i].kid, ECRED_KID_LEN, (int64_t)tl.iat,
                                       ECRED_TRUST_TYPE_PERMIT, &e);
            (void)ecred_trustlist_uri_allowed(&tl.entries[i], "https://x/", 10);
        }
        (void)ecred_trustlist_check_newer(tl.seq, &tl);
        ecred_trustlist_free(&tl);
    }
    ecred_buf_free(&signed_list);
    return 0;
}
