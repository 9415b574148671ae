/*
 * fuzz_challenge.c - the verifier's challenge text ("RN1:" + base45 of
 * nonce length, nonce, aud: common/src/present_challenge.c) on arbitrary
 * input. A phone decodes it from a camera, so every byte is hostile.
 *
 * Properties beyond "no crash, no leak": a decoded challenge has a nonce of
 * 1..32 bytes and an aud of 1..64 bytes without NUL; encoding it again and
 * decoding that gives the same nonce and aud (what the phone signs is what
 * the verifier issued).
 */
#include <string.h>

#include "ecred/present.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_challenge c;
    memset(&c, 0, sizeof c);
    if (ecred_challenge_decode_text((const char *)data, size, &c) != ECRED_OK)
        return 0;
    FUZZ_ASSERT(c.nonce_len >= 1 && c.nonce_len <= ECRED_PRESENT_NONCE_MAX);
    size_t aud_len = strlen(c.aud);
    FUZZ_ASSERT(aud_len >= 1 && aud_len <= ECRED_PRESENT_AUD_MAX);
    FUZZ_ASSERT(c.expires == 0 && !c.used);
    ecred_buf text = ECRED_BUF_INIT;
    FUZZ_ASSERT(ecred_challenge_encode_text(&c, &text) == ECRED_OK);
    ecred_challenge again;
    memset(&again, 0, sizeof again);
    FUZZ_ASSERT(ecred_challenge_decode_text((const char *)text.ptr, text.len, &again) == ECRED_OK);
    FUZZ_ASSERT(again.nonce_len == c.nonce_len && memcmp(again.nonce, c.nonce, c.nonce_len) == 0);
    FUZZ_ASSERT(strcmp(again.aud, c.aud) == 0);
    ecred_buf_free(&text);
    return 0;
}
