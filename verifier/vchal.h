/*
 * vchal.h - the verifier's outstanding challenges (spec/verifier.md section
 * 5.5): a bounded, locked, in-memory store behind ecred_challenge_fn. Each
 * challenge has two equivalent faces: 16 random bytes shown as an RN1: QR
 * code, and a 6-digit code the holder can type (its ASCII digits are the
 * cnonce); answering either uses the challenge up.
 *
 * The daemon keeps one store for all its API keys; the CLI keeps one
 * challenge in a file (verify_cli.c). Must never: hand out a code that is
 * live in the store already, keep a used or expired challenge answerable.
 */
#ifndef ECRED_VERIFIER_VCHAL_H
#define ECRED_VERIFIER_VCHAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/present.h"

#define VCHAL_NONCE_LEN 16
#define VCHAL_CODE_LEN 6
#define VCHAL_TTL_DEFAULT ((int64_t)120) /* seconds a challenge may be answered */
#define VCHAL_TTL_MAX ((int64_t)600)
/* The daemon's --challenge-ttl floor: a holder needs some seconds to scan or
 * type the code and hold up the answer. */
#define VCHAL_TTL_MIN ((int64_t)10)
#define VCHAL_CAP_DEFAULT 4096u
#define VCHAL_CAP_MAX 100000u

typedef struct vchal_store vchal_store;

typedef struct vchal_entry {
    uint8_t nonce[VCHAL_NONCE_LEN];
    char code[VCHAL_CODE_LEN + 1];
    char aud[ECRED_PRESENT_AUD_MAX + 1];
    char owner[9];   /* the API key id that asked ("" in the CLI) */
    int64_t expires; /* last second it may be answered */
    bool used;
} vchal_entry;

/* What a verify request may consume: challenges of owner (NULL: anyone's),
 * and when id is set only the one whose nonce it is. */
typedef struct vchal_scope {
    vchal_store *store;
    const char *owner;
    const uint8_t *id; /* VCHAL_NONCE_LEN bytes or NULL */
} vchal_scope;

/* A store of at most cap (1..VCHAL_CAP_MAX) live challenges. ECRED_ERR_NOMEM. */
ecred_err vchal_create(size_t cap, vchal_store **out);
void vchal_free(vchal_store *s); /* NULL is fine */

/* True when aud is a verifier id we hand out: 1..64 bytes of [A-Za-z0-9._:/-]
 * (it appears in logs, files and QR codes). */
bool vchal_aud_ok(const char *aud);

/* The id POST /v1/challenges hands out: exactly 2 * VCHAL_NONCE_LEN hex
 * digits of n bytes (no NUL among them) into nonce. False for anything
 * else; nonce is then untouched. The one decoding of a named challenge,
 * whichever way the request carries it. */
bool vchal_id_parse(const char *id, size_t n, uint8_t nonce[VCHAL_NONCE_LEN]);

/* A new challenge of owner (NULL: "") for aud answerable until now + ttl (1..VCHAL_TTL_MAX):
 * fresh random nonce, a 6-digit code not live in s. *out gets a copy.
 * ECRED_ERR_REPLAY_CACHE_FULL when cap live challenges are outstanding,
 * ECRED_ERR_ARG for a bad aud or ttl, ECRED_ERR_CRYPTO without randomness. */
ecred_err vchal_issue(vchal_store *s, const char *owner, const char *aud, int64_t ttl, int64_t now,
                      vchal_entry *out);
/* Put a challenge made elsewhere (the CLI's file) into s. Errors as vchal_issue. */
ecred_err vchal_put(vchal_store *s, const vchal_entry *e);
/* ecred_challenge_fn over a store (ctx = vchal_store *): the nonce is either
 * face of a live, unused challenge, and aud the one it named; then it is used. */
ecred_err vchal_consume(void *ctx, ecred_span nonce, ecred_span aud, int64_t now);
/* The same within a scope (ctx = vchal_scope *): another owner's challenge,
 * or another than id, is ECRED_ERR_CHALLENGE_UNKNOWN and stays answerable. */
ecred_err vchal_consume_scoped(void *ctx, ecred_span nonce, ecred_span aud, int64_t now);
/* The first entry of s (used or not), for the CLI to write back. False when empty. */
bool vchal_first(vchal_store *s, vchal_entry *out);
/* Live (unused, unexpired) challenges. */
size_t vchal_outstanding(vchal_store *s, int64_t now);
/* The RN1: text of e (NUL-terminated) in text. */
ecred_err vchal_text(const vchal_entry *e, ecred_buf *text);

#endif
