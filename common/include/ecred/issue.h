/*
 * issue.h - the issue path in one place: credential claims -> CWT claims CBOR
 * -> COSE_Sign1 (ES256, kid protected) -> optional zlib with the RC1
 * dictionary -> base45 with the RC1: prefix (spec/credential.md sections 2-4).
 *
 * The issuer daemon, ecred-issue and the benchmarks call this, so a credential
 * is signed one way only. The registry row must be committed by the caller
 * before the text is handed out; nothing here touches storage.
 */
#ifndef ECRED_ISSUE_H
#define ECRED_ISSUE_H

#include "ecred/buf.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/qrtext.h"

/* Validate claims (ecred_claims_encode), sign them with key (which must hold
 * its private part) and render the QR text, NUL-terminated, into qr_text. If
 * cose_out is not NULL it receives the COSE_Sign1 bytes too. Outputs are
 * replaced only on success. Errors: ECRED_ERR_CREDENTIAL / ECRED_ERR_CLAIMS
 * for claims encode would refuse, ECRED_ERR_ARG (no private key, a COSE larger
 * than ECRED_COSE_MAX), ECRED_ERR_CRYPTO, ECRED_ERR_NOMEM. */
ecred_err ecred_issue_sign(const ecred_key *key, const ecred_claims *claims,
                           ecred_compress compress_mode, ecred_buf *qr_text, ecred_buf *cose_out);

#endif
