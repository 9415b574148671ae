/*
 * crypto.h - the only door to OpenSSL. No OpenSSL type or error code crosses
 * this header: keys are opaque, algorithms are COSE ids, signatures are the
 * raw COSE form (r || s for ECDSA, RFC 9053 section 2.1).
 *
 * Keys are parsed once (and the kid computed once) at load; sign and verify
 * reuse the parsed key, which is where OpenSSL 3 spends its time otherwise.
 */
#ifndef ECRED_CRYPTO_H
#define ECRED_CRYPTO_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"

#define ECRED_COSE_ALG_ES256 (-7)
#define ECRED_COSE_ALG_EDDSA (-8)
/* Read by `inspect` only (other ecosystems); ecred never issues them. */
#define ECRED_COSE_ALG_ES384 (-35)
#define ECRED_COSE_ALG_ES512 (-36)
#define ECRED_COSE_ALG_PS256 (-37)
#define ECRED_COSE_ALG_PS384 (-38)
#define ECRED_COSE_ALG_PS512 (-39)
#define ECRED_COSE_ALG_RS256 (-257)
#define ECRED_COSE_ALG_RS384 (-258)
#define ECRED_COSE_ALG_RS512 (-259)
#define ECRED_KID_LEN 8     /* first 8 bytes of SHA-256(SubjectPublicKeyInfo DER) */
#define ECRED_SIG_MAX 64    /* ES256 r||s and Ed25519 are both 64 bytes */
#define ECRED_KEY_FILE_MAX 65536

typedef struct ecred_key ecred_key; /* opaque: public key, optionally with private part */

/* What a key is. Our own paths load only P-256 and Ed25519; the other kinds
 * come in only through ecred_key_public_any_* (inspect). */
typedef enum ecred_key_kind {
    ECRED_KEY_NONE = 0,
    ECRED_KEY_P256,
    ECRED_KEY_P384,
    ECRED_KEY_P521,
    ECRED_KEY_ED25519,
    ECRED_KEY_ED448,
    ECRED_KEY_RSA, /* 2048 bits or more */
} ecred_key_kind;

/* New P-256 key (alg ES256) or Ed25519 key (alg EdDSA). */
ecred_err ecred_key_generate(int cose_alg, ecred_key **out);

/* Private key from PKCS#8 PEM bytes. ECRED_ERR_KEY_INVALID if unparsable or not
 * P-256/Ed25519. */
ecred_err ecred_key_private_from_pem(const uint8_t *pem, size_t n, ecred_key **out);
/* Private key from a file. Refuses (ECRED_ERR_KEY_PERMISSIONS) a file whose mode
 * grants any group or other access, and a symlink; ECRED_ERR_IO if unreadable.
 * The file bytes are wiped from memory after parsing. */
ecred_err ecred_key_private_load(const char *path, ecred_key **out);
/* Open a signing key by reference: the one door issuers and tools use, so a
 * new key store slots in here without touching them. Today:
 *   "pkcs11:..." (RFC 7512 URI)  ECRED_ERR_UNSUPPORTED: not built with
 *                                PKCS#11 support yet (a later issue adds it);
 *   anything else                a file path, opened as ecred_key_private_load
 *                                does (mode 0600 or stricter, no symlink).
 * *out is written only on success and holds the private part. ECRED_ERR_ARG
 * for a NULL or empty ref. */
ecred_err ecred_key_open(const char *ref, ecred_key **out);
/* Write the private key as PKCS#8 PEM to a new file: O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0600, fsync. ECRED_ERR_EXISTS if the path exists (never overwrites). */
ecred_err ecred_key_private_save(const ecred_key *key, const char *path);

/* Public key from PEM SubjectPublicKeyInfo, PEM X.509 certificate, DER X.509
 * certificate or DER SubjectPublicKeyInfo (detected). Only P-256 and Ed25519. */
ecred_err ecred_key_public_from_bytes(const uint8_t *buf, size_t n, ecred_key **out);
/* Same, from a file (max ECRED_KEY_FILE_MAX bytes). */
ecred_err ecred_key_public_load(const char *path, ecred_key **out);
/* Public key of any kind inspect can check with (ecred_key_kind: EC P-256,
 * P-384, P-521 named curves, Ed25519, Ed448, RSA >= 2048 bits), in the forms
 * ecred_key_public_from_bytes reads. ecred_key_alg() is 0 for the kinds our
 * own formats never use, so such a key can never verify an RC1 credential. */
ecred_err ecred_key_public_any_from_bytes(const uint8_t *buf, size_t n, ecred_key **out);
ecred_err ecred_key_public_any_load(const char *path, ecred_key **out);
ecred_key_kind ecred_key_get_kind(const ecred_key *key);
/* "EC P-256", "OKP Ed448", "RSA", ... for people. */
const char *ecred_key_kind_name(ecred_key_kind k);
/* True when ecred_verify_cose_alg knows cose_alg. */
bool ecred_alg_supported(int cose_alg);
/* Verify sig over msg by the COSE algorithm cose_alg (ES256/384/512 with r||s
 * sized by the key's curve, EdDSA, PS256/384/512 with salt = hash length,
 * RS256/384/512). ECRED_ERR_ALG_UNSUPPORTED for another alg,
 * ECRED_ERR_KEY_ALG_MISMATCH when the key's kind cannot do it,
 * ECRED_ERR_SIGNATURE_INVALID when it does not verify, ECRED_ERR_CRYPTO when
 * the library fails. *curve_relaxed is set when an ECDSA hash was used with
 * another curve than RFC 9053 pairs it with (e.g. ES512 on P-256). */
ecred_err ecred_verify_cose_alg(const ecred_key *key, int cose_alg, const uint8_t *msg, size_t n,
                                const uint8_t *sig, size_t sig_len, bool *curve_relaxed);
/* x and y of a P-256 key (uncompressed form), ECRED_ERR_KEY_ALG_MISMATCH for
 * another kind. */
ecred_err ecred_key_ec2_uncompressed(const ecred_key *key, uint8_t x[32], uint8_t y[32]);
/* P-256 public key from COSE EC2 coordinates: x (32 bytes) and either y (32
 * bytes) or, for the compressed form, y_len == 0 and y_sign (RFC 9053 sec. 7.1.1). */
ecred_err ecred_key_from_ec2(const uint8_t x[32], const uint8_t *y, size_t y_len, bool y_sign,
                             ecred_key **out);
/* The x coordinate and the sign bit (lowest bit of y) of a P-256 key. */
ecred_err ecred_key_ec2_compressed(const ecred_key *key, uint8_t x[32], bool *y_sign);

/* PEM SubjectPublicKeyInfo text (NUL-terminated in out). */
ecred_err ecred_key_public_pem(const ecred_key *key, ecred_buf *out);
/* DER SubjectPublicKeyInfo. */
ecred_err ecred_key_spki_der(const ecred_key *key, ecred_buf *out);
/* The kid computed at load: SHA-256(SPKI DER)[0..8). */
const uint8_t *ecred_key_kid(const ecred_key *key);
/* COSE algorithm of the key: ECRED_COSE_ALG_ES256 or ECRED_COSE_ALG_EDDSA. */
int ecred_key_alg(const ecred_key *key);
bool ecred_key_has_private(const ecred_key *key);
/* An independent reference to the same key (for sharing among threads' caches). */
ecred_key *ecred_key_ref(ecred_key *key);
void ecred_key_free(ecred_key *key); /* NULL is fine; drops one reference */

/* Sign msg with the key's algorithm (ES256: SHA-256 then ECDSA, output r||s,
 * 64 bytes). sig must have ECRED_SIG_MAX bytes. */
ecred_err ecred_sign(const ecred_key *key, const uint8_t *msg, size_t n, uint8_t *sig,
                     size_t *sig_len);
/* ECRED_OK if it verifies, ECRED_ERR_SIGNATURE_INVALID if it does not (including a
 * wrong-length signature, r or s out of range), ECRED_ERR_CRYPTO only when
 * the library fails. */
ecred_err ecred_verify(const ecred_key *key, const uint8_t *msg, size_t n, const uint8_t *sig,
                       size_t sig_len);

void ecred_sha256(const uint8_t *msg, size_t n, uint8_t out[32]);
/* HMAC-SHA-256 (RFC 2104) of msg under key; ECRED_ERR_CRYPTO if the library fails. */
ecred_err ecred_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
                            uint8_t out[32]);
/* Cryptographically secure random bytes (ECRED_ERR_CRYPTO if unavailable). */
ecred_err ecred_random(uint8_t *out, size_t n);

#endif
