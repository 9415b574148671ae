/*
 * crypto_token.h - keys held in a PKCS#11 token, for keyref.c only.
 *
 * The OpenSSL side (OpenSSL 3's pkcs11-provider loaded into a library context
 * of our own) lives in crypto_openssl.c like every other OpenSSL call; the
 * URI and PIN handling (RFC 7512 query attributes, pin-source, the
 * environment) lives in keyref.c. Nothing here ever sees a key's private
 * bytes: the token signs, we only hold a handle.
 */
#ifndef ECRED_CRYPTO_TOKEN_H
#define ECRED_CRYPTO_TOKEN_H

#include "ecred/crypto.h"

/* Where the token is and how to log in. All strings are borrowed. */
typedef struct ecred_token_cfg {
    const char *module_path;   /* PKCS#11 module (.so), e.g. SoftHSM2's */
    const char *provider_path; /* OpenSSL's pkcs11.so provider module */
    const char *pin;           /* user PIN; never logged, wiped by the caller */
} ecred_token_cfg;

/* Longest PIN we pass on (PKCS#11 tokens allow far less in practice). */
#define ECRED_TOKEN_PIN_MAX 128

/* Open the private key named by uri (RFC 7512, path attributes only, no PIN
 * in it) in the token. The process keeps one token context (the first cfg
 * wins; a later different module is ECRED_ERR_UNSUPPORTED). *out signs in the
 * token and carries the public key for kid, PEM and verification.
 * ECRED_ERR_IO when the token holds no such key (as for a missing file); ECRED_ERR_CRYPTO when the provider or
 * module cannot be loaded or the login fails. */
ecred_err ecred_token_key_open(const ecred_token_cfg *cfg, const char *uri, ecred_key **out);

/* Generate a new key pair inside the token, labelled and identified as uri
 * says (object=, id=), private half sensitive and never extractable. Only
 * ES256 (P-256). *out as for ecred_token_key_open. */
ecred_err ecred_token_key_generate(const ecred_token_cfg *cfg, const char *uri, int cose_alg,
                                   ecred_key **out);

/* Is key held in a token (true) or in memory? */
bool ecred_key_in_token(const ecred_key *key);

#endif
