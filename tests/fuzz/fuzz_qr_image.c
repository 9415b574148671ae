/*
 * fuzz_qr_image.c - QR scanning of arbitrary PNG/JPEG bytes: the image
 * decoders' caps and error paths. Text found is NUL-terminated and capped.
 */
#include <string.h>

#include "ecred/qr.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ecred_buf text = ECRED_BUF_INIT;
    if (ecred_qr_scan_image(data, size, &text) == ECRED_OK) {
        FUZZ_ASSERT(text.len <= ECRED_QR_TEXT_MAX);
        FUZZ_ASSERT(text.ptr != NULL && text.ptr[text.len] == '\0');
    }
    ecred_buf_free(&text);
    return 0;
}
