/*
 * fuzz_b45.c - base45 decode on arbitrary text, and the round trip both ways:
 * any accepted text re-encodes to itself (RFC 9285 has one encoding per byte
 * string), and any bytes encode to text that decodes back to them.
 */
#include <string.h>

#include "ecred/b45.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_buf dec = ECRED_BUF_INIT, enc = ECRED_BUF_INIT, back = ECRED_BUF_INIT;

    if (ecred_b45_decode((const char *)data, size, &dec) == ECRED_OK) {
        FUZZ_ASSERT(ecred_b45_encode(dec.ptr, dec.len, &enc) == ECRED_OK);
        FUZZ_ASSERT(enc.len == size && (size == 0 || memcmp(enc.ptr, data, size) == 0));
        ecred_buf_free(&enc);
    }

    FUZZ_ASSERT(ecred_b45_encode(data, size, &enc) == ECRED_OK);
    FUZZ_ASSERT(enc.ptr[enc.len] == '\0');
    FUZZ_ASSERT(ecred_b45_decode((const char *)enc.ptr, enc.len, &back) == ECRED_OK);
    FUZZ_ASSERT(back.len == size && (size == 0 || memcmp(back.ptr, data, size) == 0));

    ecred_buf_free(&dec);
    ecred_buf_free(&enc);
    ecred_buf_free(&back);
    return 0;
}
