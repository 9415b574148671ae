/*
 * fuzz_inflate.c - capped zlib inflate on arbitrary bytes, with and without the
 * RC1 preset dictionary, at the credential cap (1400) and at 64 KiB; the
 * output never exceeds the cap. Then the round trip: the input compressed
 * (with the dictionary) inflates back to itself under a cap of its own size.
 */
#include <string.h>

#include "ecred/qrtext.h"
#include "ecred/zcap.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t caps[] = {ECRED_COSE_MAX, (size_t)64 * 1024};
    const ecred_span none = {NULL, 0};
    const ecred_span dicts[] = {none, ecred_rc1_dictionary()};

    for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
        for (size_t d = 0; d < sizeof dicts / sizeof dicts[0]; d++) {
            ecred_buf out = ECRED_BUF_INIT;
            if (ecred_zlib_inflate(data, size, caps[c], dicts[d], &out) == ECRED_OK)
                FUZZ_ASSERT(out.len <= caps[c]);
            ecred_buf_free(&out);
        }
    }

    if (size <= 4096) {
        ecred_buf z = ECRED_BUF_INIT, back = ECRED_BUF_INIT;
        FUZZ_ASSERT(ecred_zlib_compress(data, size, 9, dicts[1], &z) == ECRED_OK);
        FUZZ_ASSERT(ecred_zlib_inflate(z.ptr, z.len, size, dicts[1], &back) == ECRED_OK);
        FUZZ_ASSERT(back.len == size && (size == 0 || memcmp(back.ptr, data, size) == 0));
        ecred_buf_free(&z);
        ecred_buf_free(&back);
    }
    return 0;
}
