/*
 * qrtext.h - the text in the QR: prefix "RC1:" + base45 of either a tagged
 * COSE_Sign1 (first byte 0xD2) or a zlib stream of it (first byte 0x78,
 * compressed with the RC1 preset dictionary). See spec/credential.md.
 */
#ifndef ECRED_QRTEXT_H
#define ECRED_QRTEXT_H

#include <stdbool.h>

#include "ecred/buf.h"

#define ECRED_QRTEXT_PREFIX "RC1:"
#define ECRED_QRTEXT_MAX 2048        /* longest QR text we look at */
#define ECRED_COSE_MAX 1400          /* longest COSE_Sign1 a credential may inflate to */

typedef enum {
    ECRED_COMPRESS_AUTO = 0, /* the shorter of raw and zlib+dictionary */
    ECRED_COMPRESS_NONE = 1,
    ECRED_COMPRESS_DICT = 2, /* zlib level 9 with the RC1 preset dictionary (v2) */
    ECRED_COMPRESS_PLAIN = 3 /* zlib level 9 without dictionary (measured only) */
} ecred_compress;

/* The RC1 preset dictionary v1 (fixed forever; spec/rc1-dictionary.hex,
 * DICTID 0x4e46cab8): still read, no longer written. */
ecred_span ecred_rc1_dictionary(void);
/* v2 (spec/rc1-dictionary-v2.hex): v1 with the status list URI ecred-issuerd
 * serves (`/status/N`, not `/s/N`). ecred_qrtext_encode writes it; decode
 * reads v1 and v2 by the stream's DICTID. */
ecred_span ecred_rc1_dictionary_v2(void);

/* COSE bytes -> "RC1:..." text (NUL-terminated). */
ecred_err ecred_qrtext_encode(const uint8_t *cose, size_t n, ecred_compress mode, ecred_buf *text);

/* Text -> COSE bytes. Surrounding ASCII whitespace is ignored. With
 * any_prefix, any "PREFIX:" of 1..8 characters from [A-Z0-9] is accepted
 * (inspect); otherwise only RC1: (else ECRED_ERR_NOT_OUR_FORMAT). *compressed
 * tells whether a zlib layer was removed (may be NULL). */
ecred_err ecred_qrtext_decode(const char *text, size_t n, bool any_prefix, ecred_buf *cose,
                              bool *compressed);

#endif
