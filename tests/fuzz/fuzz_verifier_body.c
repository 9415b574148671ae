/*
 * fuzz_verifier_body.c - the verify API's request-body parsing without a
 * server: vbody_parse (verifier/vbody.h) on the input as is, under no
 * Content-Type, application/json (with a parameter) and text/plain. Checks
 * that every refusal names an API error code, that an accepted text is never
 * longer than the body, that a plain body comes back byte for byte, and that
 * a body over the cap is refused before it is looked at.
 */
#include <string.h>

#include "fuzz_common.h"
#include "vbody.h"

/* True when the first byte that is not JSON whitespace is '{'. */
static bool brace_first(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i < n && p[i] == '{';
}

static void one(const uint8_t *data, size_t size, const char *ct, bool json_type)
{
    ecred_buf text = ECRED_BUF_INIT;
    vbody_refusal why;
    memset(&why, 0, sizeof why);
    ecred_err e = vbody_parse(data, size, ct, &text, &why);
    if (e == ECRED_OK) {
        FUZZ_ASSERT(size > 0 && size <= VBODY_MAX);
        FUZZ_ASSERT(text.len <= size);
        FUZZ_ASSERT(why.code == NULL);
        if (!json_type && !brace_first(data, size))
            FUZZ_ASSERT(text.len == size && memcmp(text.ptr, data, size) == 0);
        else /* a JSON string: jansson refuses \u0000 */
            FUZZ_ASSERT(text.len == 0 || memchr(text.ptr, 0, text.len) == NULL);
    } else {
        FUZZ_ASSERT(e == ECRED_ERR_INPUT || e == ECRED_ERR_TOO_LARGE || e == ECRED_ERR_NOMEM);
        FUZZ_ASSERT(text.ptr == NULL && text.len == 0);
        if (e == ECRED_ERR_TOO_LARGE)
            FUZZ_ASSERT(size > VBODY_MAX && strcmp(why.code, "body_too_large") == 0);
        if (e == ECRED_ERR_INPUT) {
            FUZZ_ASSERT(why.code != NULL);
            FUZZ_ASSERT(strcmp(why.code, size == 0 ? "empty_body" : "malformed_json") == 0);
            FUZZ_ASSERT(memchr(why.detail, 0, sizeof why.detail) != NULL);
        }
    }
    ecred_buf_wipe(&text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, NULL, false);
    one(data, size, "application/json; charset=utf-8", true);
    one(data, size, "text/plain", false);
    /* The cap holds whatever the bytes: the daemon stops reading at it, so
     * only a caller's bug could pass more, and that must still be refused. */
    if (size > 0 && size <= 64) {
        uint8_t big[VBODY_MAX + 1];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = data[i % size];
        one(big, sizeof big, NULL, false);
    }
    return 0;
}
