/*
 * keyref.c - signing keys opened by reference (ecred_key_open in crypto.h).
 *
 * A table of providers keyed by the reference's scheme, with file paths as the
 * fallback, so adding the HSM (PKCS#11) later is one row and one file, and
 * callers keep calling ecred_key_open. This file must never call OpenSSL
 * (crypto_openssl.c is the only door), never print, and never guess: a
 * scheme we know but cannot serve is refused, not read as a file name.
 */
#include <string.h>
#include <strings.h>

#include "ecred/crypto.h"

/* A provider: the scheme it serves ("pkcs11:"), and how it opens the rest of
 * the reference (the whole ref is passed, scheme included). */
typedef struct key_provider {
    const char *scheme;
    ecred_err (*open)(const char *ref, ecred_key **out);
} key_provider;

/* PKCS#11 (RFC 7512 "pkcs11:" URIs) is not built yet: a clear refusal rather
 * than trying to read a file named "pkcs11:...". */
static ecred_err open_pkcs11_unbuilt(const char *ref, ecred_key **out)
{
    (void)ref;
    (void)out;
    return ECRED_ERR_UNSUPPORTED;
}

static const key_provider providers[] = {
    {"pkcs11:", open_pkcs11_unbuilt},
};

ecred_err ecred_key_open(const char *ref, ecred_key **out)
{
    if (!ref || !ref[0] || !out)
        return ECRED_ERR_ARG;
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        size_t n = strlen(providers[i].scheme);
        /* Schemes are case-insensitive (RFC 3986 section 3.1). */
        if (strncasecmp(ref, providers[i].scheme, n) == 0)
            return providers[i].open(ref, out);
    }
    return ecred_key_private_load(ref, out);
}
