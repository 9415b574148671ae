/*
 * vbody.h - the body of POST /v1/verify (spec/verifier.md section 5.1): the
 * QR text itself, or JSON {"qr": "..."} holding exactly that one string
 * member. Split from the daemon so tests/fuzz/fuzz_verifier_body.c can
 * drive it without a server.
 *
 * Must never: print, log, keep or copy the body anywhere but the caller's
 * output buffer (it is a scanned credential).
 */
#ifndef ECRED_VERIFIER_VBODY_H
#define ECRED_VERIFIER_VBODY_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/err.h"

#define VBODY_MAX ((size_t)8 * 1024) /* announced or chunked, checked before reading past it */
#define VBODY_DETAIL_MAX 256
#define VBODY_CHALLENGE_MAX 64 /* the "challenge" member: a challenge id */

/* Why a body was refused: code is the API's error code ("empty_body",
 * "malformed_json", "body_too_large"); detail is "" or a human hint. */
typedef struct vbody_refusal {
    const char *code;
    char detail[VBODY_DETAIL_MAX];
} vbody_refusal;

/* The QR text of a verify body (body may be NULL when n is 0). JSON is chosen
 * by content_type "application/json" (parameters allowed; NULL: none) or a
 * first non-blank byte '{'. On success *text holds a copy of the text (the
 * caller wipes it) and *why is untouched. Errors: ECRED_ERR_TOO_LARGE (n over
 * VBODY_MAX), ECRED_ERR_INPUT (empty or malformed), ECRED_ERR_NOMEM; for the
 * first two *why says what to answer, and *text is untouched on every error. */
ecred_err vbody_parse(const uint8_t *body, size_t n, const char *content_type, ecred_buf *text,
                      vbody_refusal *why);

/* The same, where a JSON body may also carry "challenge" (a string of
 * 1..VBODY_CHALLENGE_MAX bytes, no NUL): copied into challenge on success,
 * "" when absent (a raw text body has none). challenge NULL: vbody_parse. */
ecred_err vbody_parse_verify(const uint8_t *body, size_t n, const char *content_type, ecred_buf *text,
                             char challenge[VBODY_CHALLENGE_MAX + 1], vbody_refusal *why);

#endif
