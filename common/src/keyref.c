/*
 * keyref.c - signing keys opened by reference (ecred_key_open in crypto.h).
 *
 * A table of providers keyed by the reference's scheme, with file paths as the
 * fallback, so callers keep calling ecred_key_open whatever holds the key.
 * "pkcs11:" is an RFC 7512 URI: this file splits it into the path (which key)
 * and the query (module-path, pin-source), finds the PIN, and hands the rest
 * to crypto_openssl.c through crypto_token.h.
 *
 * This file must never call OpenSSL (crypto_openssl.c is the only door), never
 * print, never guess (a scheme or attribute we know but cannot serve is
 * refused, not read as a file name), and never accept a PIN written in the
 * URI itself (pin-value): URIs end up on command lines and in logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/crypto_token.h"

#define URI_MAX 1024
#define PIN_FILE_MAX 256
#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"
#define DEFAULT_PROVIDER "/usr/lib/x86_64-linux-gnu/ossl-modules/pkcs11.so"

/* A pkcs11: URI taken apart. */
typedef struct token_ref {
    char path[URI_MAX + 16];     /* "pkcs11:" + path attributes (+ ";type=private") */
    char module[URI_MAX];        /* module-path, or empty */
    char pin_file[URI_MAX];      /* pin-source file, or empty */
    char pin[ECRED_TOKEN_PIN_MAX + 1];
} token_ref;

/* Percent-decode src[0..n) into out (cap bytes, NUL-terminated). */
static bool pct_decode(const char *src, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            char hex[3] = {src[i + 1], src[i + 2], 0};
            char *end = NULL;
            long v = strtol(hex, &end, 16);
            if (!end || *end || v <= 0)
                return false;
            c = (char)v;
            i += 2;
        }
        if (o + 1 >= cap)
            return false;
        out[o++] = c;
    }
    out[o] = 0;
    return true;
}

/* Read a PIN file: the first line, at most ECRED_TOKEN_PIN_MAX bytes. */
static ecred_err pin_from_file(const char *path, char *pin)
{
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_read_file(path, PIN_FILE_MAX, &b);
    if (e)
        return e;
    size_t n = 0;
    while (n < b.len && b.ptr[n] != '\n' && b.ptr[n] != '\r')
        n++;
    if (n == 0 || n > ECRED_TOKEN_PIN_MAX)
        e = ECRED_ERR_KEY_INVALID;
    else {
        memcpy(pin, b.ptr, n);
        pin[n] = 0;
    }
    ecred_buf_wipe(&b);
    return e;
}

/* Split ref into tr and find the PIN: pin-source in the URI, else the file
 * named by ECRED_PKCS11_PIN_FILE (what --pin-file sets), else the
 * environment's ECRED_PKCS11_PIN. for_open adds type=private. */
static ecred_err token_ref_parse(const char *ref, bool for_open, token_ref *tr)
{
    memset(tr, 0, sizeof *tr);
    size_t len = strlen(ref);
    if (len > URI_MAX)
        return ECRED_ERR_TOO_LARGE;
    const char *q = strchr(ref, '?');
    size_t path_len = q ? (size_t)(q - ref) : len;
    if (path_len <= 7)
        return ECRED_ERR_INPUT; /* "pkcs11:" names no key */
    memcpy(tr->path, "pkcs11:", 7);
    memcpy(tr->path + 7, ref + 7, path_len - 7);
    bool has_type = false;
    for (const char *a = tr->path + 7; a && *a; a = strchr(a, ';'), a = a ? a + 1 : NULL)
        if (strncmp(a, "type=", 5) == 0)
            has_type = true;
    if (for_open && !has_type)
        strcat(tr->path, ";type=private");
    if (!for_open && has_type)
        return ECRED_ERR_INPUT; /* gen makes a pair: no type */

    for (const char *a = q ? q + 1 : NULL; a && *a;) {
        const char *end = strchr(a, '&');
        size_t n = end ? (size_t)(end - a) : strlen(a);
        if (n > 10 && strncmp(a, "pin-value=", 10) == 0)
            return ECRED_ERR_INPUT;
        if (n > 11 && strncmp(a, "pin-source=", 11) == 0) {
            if (!pct_decode(a + 11, n - 11, tr->pin_file, sizeof tr->pin_file))
                return ECRED_ERR_INPUT;
        } else if (n > 12 && strncmp(a, "module-path=", 12) == 0) {
            if (!pct_decode(a + 12, n - 12, tr->module, sizeof tr->module))
                return ECRED_ERR_INPUT;
        } else {
            return ECRED_ERR_INPUT;
        }
        a = end ? end + 1 : NULL;
    }
    /* RFC 7512 pin-source is a URI; a file: URI or a plain path both name a file. */
    char *file = tr->pin_file;
    if (strncmp(file, "file:", 5) == 0)
        file += 5;
    if (!file[0])
        file = getenv("ECRED_PKCS11_PIN_FILE");
    if (file && file[0])
        return pin_from_file(file, tr->pin);
    const char *env = getenv("ECRED_PKCS11_PIN");
    if (!env || !env[0] || strlen(env) > ECRED_TOKEN_PIN_MAX)
        return ECRED_ERR_KEY_PIN; /* we never prompt */
    snprintf(tr->pin, sizeof tr->pin, "%s", env);
    return ECRED_OK;
}

/* The module and provider paths: URI, then environment, then Debian's. */
static ecred_token_cfg token_cfg(const token_ref *tr)
{
    const char *module = tr->module[0] ? tr->module : getenv("ECRED_PKCS11_MODULE");
    const char *provider = getenv("ECRED_PKCS11_PROVIDER");
    ecred_token_cfg cfg = {
        .module_path = module && module[0] ? module : DEFAULT_MODULE,
        .provider_path = provider && provider[0] ? provider : DEFAULT_PROVIDER,
        .pin = tr->pin,
    };
    return cfg;
}

/* Open a key in a PKCS#11 token. */
static ecred_err open_pkcs11(const char *ref, ecred_key **out)
{
    token_ref tr;
    ecred_err e = token_ref_parse(ref, true, &tr);
    if (!e) {
        ecred_token_cfg cfg = token_cfg(&tr);
        e = ecred_token_key_open(&cfg, tr.path, out);
    }
    ecred_wipe(&tr, sizeof tr);
    return e;
}

/* Generate a key pair inside a PKCS#11 token. */
static ecred_err create_pkcs11(const char *ref, int cose_alg, ecred_key **out)
{
    token_ref tr;
    ecred_err e = token_ref_parse(ref, false, &tr);
    if (!e && !strstr(tr.path, "object="))
        e = ECRED_ERR_INPUT; /* a label is how the key is found again */
    if (!e) {
        ecred_token_cfg cfg = token_cfg(&tr);
        e = ecred_token_key_generate(&cfg, tr.path, cose_alg, out);
    }
    ecred_wipe(&tr, sizeof tr);
    return e;
}

/* A provider: the scheme it serves ("pkcs11:"), how it opens the rest of
 * the reference (the whole ref is passed, scheme included), and how it makes
 * a new key there. */
typedef struct key_provider {
    const char *scheme;
    ecred_err (*open)(const char *ref, ecred_key **out);
    ecred_err (*create)(const char *ref, int cose_alg, ecred_key **out);
} key_provider;

static const key_provider providers[] = {
    {"pkcs11:", open_pkcs11, create_pkcs11},
};

/* The provider serving ref, or NULL for a file path. */
static const key_provider *provider_for(const char *ref)
{
    for (size_t i = 0; i < sizeof providers / sizeof providers[0]; i++) {
        size_t n = strlen(providers[i].scheme);
        /* Schemes are case-insensitive (RFC 3986 section 3.1). */
        if (strncasecmp(ref, providers[i].scheme, n) == 0)
            return &providers[i];
    }
    return NULL;
}

bool ecred_key_ref_is_store(const char *ref) { return ref && provider_for(ref) != NULL; }

ecred_err ecred_key_open(const char *ref, ecred_key **out)
{
    if (!ref || !ref[0] || !out)
        return ECRED_ERR_ARG;
    const key_provider *p = provider_for(ref);
    return p ? p->open(ref, out) : ecred_key_private_load(ref, out);
}

ecred_err ecred_key_create(const char *ref, int cose_alg, ecred_key **out)
{
    if (!ref || !ref[0] || !out)
        return ECRED_ERR_ARG;
    const key_provider *p = provider_for(ref);
    if (p)
        return p->create(ref, cose_alg, out);
    ecred_key *k = NULL;
    ecred_err e = ecred_key_generate(cose_alg, &k);
    if (!e)
        e = ecred_key_private_save(k, ref);
    if (e)
        ecred_key_free(k);
    else
        *out = k;
    return e;
}
