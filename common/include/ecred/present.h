/*
 * present.h - holder-bound presentations (RP1, spec/presentation.md): the
 * phone signs a short-lived COSE_Sign1 with the credential's cnf key, carrying
 * the RC1 credential byte for byte in its protected header (kcwt, label 13).
 *
 *   make:    RC1 text + holder key -> "RP1:" text (timed or challenge mode)
 *   decide:  QR text (RC1: or RP1:) -> one outcome plus a holder verdict
 *            (proven / not proven / failed), under a role's holder policy
 *   replay:  a bounded, thread-safe cache of semantic presentation keys
 *
 * The embedded credential is judged by ecred_decide (decide.h), never by a
 * copy of it. Nothing here prints, exits or keeps mutable global state; the
 * replay cache and challenges are caller-owned objects.
 */
#ifndef ECRED_PRESENT_H
#define ECRED_PRESENT_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"

#define ECRED_PRESENT_PREFIX "RP1:"
#define ECRED_PRESENT_MAX 1600         /* inflated presentation, bytes */
#define ECRED_PRESENT_CRED_MAX ECRED_COSE_MAX /* the embedded credential (kcwt) */
#define ECRED_PRESENT_PAYLOAD_MAX 128  /* the holder's claims map */
#define ECRED_PRESENT_AUD_MAX 64       /* aud text, bytes */
#define ECRED_PRESENT_NONCE_MAX 32     /* cnonce, bytes (16 random or 6 typed digits) */
#define ECRED_COSE_ALG_ESP256 (-9)     /* RFC 9864: ECDSA P-256 with SHA-256 */
#define ECRED_COSE_HDR_KCWT 13         /* RFC 9528 */
#define ECRED_COSE_TYP_KBT 294         /* application/kb+cwt (SD-CWT key binding token) */
#define ECRED_CWT_AUD 3
#define ECRED_CWT_IAT 6
#define ECRED_CWT_CNONCE 39
#define ECRED_PRESENT_REFRESH_DEFAULT 30 /* R: the app's longest refresh period, s */
#define ECRED_PRESENT_SKEW_DEFAULT 60    /* S: allowed phone/scanner clock difference, s */
#define ECRED_PRESENT_SKEW_MAX 300
#define ECRED_REPLAY_KEY_LEN 16
#define ECRED_REPLAY_CAP_DEFAULT 100000

/* The RP1 preset dictionary: the RC1 dictionary followed by 51 envelope bytes
 * (spec/rp1-dictionary.hex). Fixed forever for RP1. */
ecred_span ecred_rp1_dictionary(void);

/* ---- making a presentation (the holder's side) ---- */

typedef struct ecred_present_make_opts {
    const char *aud;        /* NULL: timed mode, aud = the credential's iss */
    const uint8_t *nonce;   /* challenge mode: the verifier's cnonce (1..32 bytes) */
    size_t nonce_len;       /* 0: no cnonce */
    int64_t iat;            /* the phone's clock, seconds */
    ecred_compress compress;/* AUTO, NONE or DICT (the RP1 dictionary) */
} ecred_present_make_opts;

/* Sign a presentation of the credential in rc1_text (n bytes) with the holder
 * key and write "RP1:..." (NUL-terminated) into text; cose_out (may be NULL)
 * receives the presentation's COSE_Sign1 bytes. The credential is embedded as
 * issued. ECRED_ERR_PRESENT_UNBOUND when it has no cnf key, ECRED_ERR_INPUT when
 * cnf is not this key or aud/nonce are out of range, ECRED_ERR_ARG for a key
 * without its private part; else the errors of decoding the RC1 text. */
ecred_err ecred_present_make(const ecred_key *holder, const char *rc1_text, size_t n,
                             const ecred_present_make_opts *opts, ecred_buf *text,
                             ecred_buf *cose_out);

/* Presentation COSE bytes -> "RP1:" text (NUL-terminated), compressed with the
 * RP1 dictionary per mode (AUTO: the shorter). ECRED_ERR_ARG if the bytes are
 * not a tagged COSE_Sign1 of at most ECRED_PRESENT_MAX bytes. */
ecred_err ecred_present_encode_text(const uint8_t *cose, size_t n, ecred_compress mode,
                                    ecred_buf *text);
/* "RP1:" text -> presentation COSE bytes (whitespace around is ignored).
 * ECRED_ERR_NOT_OUR_FORMAT without the prefix, ECRED_ERR_TOO_LARGE over the
 * text or inflate cap, ECRED_ERR_BASE45 / ECRED_ERR_INFLATE, and
 * ECRED_ERR_PRESENT_STRUCTURE when the first byte is neither 0xD2 nor 0x78. */
ecred_err ecred_present_decode_text(const char *text, size_t n, ecred_buf *cose,
                                    bool *compressed);

/* ---- the replay cache (present_replay.c) ---- */

typedef struct ecred_replay_cache ecred_replay_cache;

/* A cache for at most cap live entries (1..10,000,000). ECRED_ERR_NOMEM. */
ecred_err ecred_replay_create(size_t cap, ecred_replay_cache **out);
void ecred_replay_free(ecred_replay_cache *c); /* NULL is fine; wipes the keys */

/* Atomically: if key is present and live (now <= its expiry), ECRED_ERR_REPLAYED
 * and *first_seen (may be NULL) = the time it was first inserted; otherwise
 * insert it, live until `expires`, and return ECRED_OK. When cap live entries
 * remain after dropping expired ones: ECRED_ERR_REPLAY_CACHE_FULL (fail closed,
 * never forget a live entry). Safe to call from many threads. */
ecred_err ecred_replay_check_insert(ecred_replay_cache *c, const uint8_t key[ECRED_REPLAY_KEY_LEN],
                                    int64_t expires, int64_t now, int64_t *first_seen);
/* Number of stored entries (live or not yet swept). */
size_t ecred_replay_count(ecred_replay_cache *c);
/* Call fn for every entry live at now (expires >= now), under the cache's
 * lock: fn must not call back into c. For a verifier that keeps its memory
 * across runs (ecred-verify --replay-file); reload with check_insert at
 * now = first_seen. */
typedef void (*ecred_replay_each_fn)(void *ctx, const uint8_t key[ECRED_REPLAY_KEY_LEN], int64_t expires,
                                     int64_t first_seen);
void ecred_replay_each(ecred_replay_cache *c, int64_t now, ecred_replay_each_fn fn, void *ctx);

/* The semantic replay key: SHA-256 over a domain tag, the issuer kid, the
 * credential's cti, iat (8 bytes big-endian) and the cnonce, each length-
 * prefixed; the first 16 bytes. Never the signature: ECDSA is malleable. */
void ecred_present_replay_key(const uint8_t *kid, size_t kid_len, const uint8_t *cti,
                              size_t cti_len, int64_t iat, const uint8_t *cnonce,
                              size_t cnonce_len, uint8_t out[ECRED_REPLAY_KEY_LEN]);

/* ---- parsed holder keys (present_keys.c) ---- */

/* Parsing a cnf point into a key costs more than the verification itself, so
 * a verifier that sees the same phones again keeps parsed keys: a bounded,
 * direct-mapped, thread-safe cache of public keys (a collision replaces). */
typedef struct ecred_holder_keys ecred_holder_keys;

/* A cache of `slots` keys (1..1,048,576). ECRED_ERR_NOMEM. */
ecred_err ecred_holder_keys_create(size_t slots, ecred_holder_keys **out);
void ecred_holder_keys_free(ecred_holder_keys *c); /* NULL is fine */
/* The P-256 key of a compressed COSE point, from c when present (c may be
 * NULL: parse every time). *out is a new reference the caller frees with
 * ecred_key_free. Errors of ecred_key_from_cnf. */
ecred_err ecred_holder_key_get(ecred_holder_keys *c, const uint8_t x[32], bool y_sign,
                               ecred_key **out);
/* Lookups answered from the cache and lookups that parsed. */
void ecred_holder_keys_stats(ecred_holder_keys *c, uint64_t *hits, uint64_t *misses);

/* ---- challenges ---- */

/* Called once both signatures verified, for a presentation with a cnonce:
 * ECRED_OK when nonce is one of this verifier's outstanding, unexpired,
 * unused challenges and aud is what it named (then it is marked used);
 * ECRED_ERR_CHALLENGE_UNKNOWN or ECRED_ERR_CHALLENGE_AUDIENCE otherwise. */
typedef ecred_err (*ecred_challenge_fn)(void *ctx, ecred_span nonce, ecred_span aud, int64_t now);

/* One outstanding challenge (the CLI's and the tests' store). */
typedef struct ecred_challenge {
    uint8_t nonce[ECRED_PRESENT_NONCE_MAX];
    size_t nonce_len;
    char aud[ECRED_PRESENT_AUD_MAX + 1];
    int64_t expires; /* last second it may be answered */
    bool used;
} ecred_challenge;

/* ecred_challenge_fn over one ecred_challenge (ctx). Not thread-safe: a daemon
 * keeps its own locked store with the same contract. */
ecred_err ecred_challenge_consume_one(void *ctx, ecred_span nonce, ecred_span aud, int64_t now);

/* The challenge as the verifier shows it (present_challenge.c): "RN1:" +
 * base45 of (nonce length byte, nonce, aud text); only nonce, nonce_len and
 * aud are carried. */
#define ECRED_CHALLENGE_PREFIX "RN1:"
/* c -> "RN1:..." (NUL-terminated) in text. ECRED_ERR_ARG for a nonce outside
 * 1..32 bytes or an aud that is not 1..64 bytes of printable UTF-8. */
ecred_err ecred_challenge_encode_text(const ecred_challenge *c, ecred_buf *text);
/* "RN1:..." (whitespace around ignored) -> *out (nonce and aud; expires 0,
 * used false). ECRED_ERR_NOT_OUR_FORMAT without the prefix, ECRED_ERR_TOO_LARGE,
 * ECRED_ERR_BASE45, ECRED_ERR_INPUT for a body of the wrong shape. */
ecred_err ecred_challenge_decode_text(const char *text, size_t n, ecred_challenge *out);

/* ---- policy and decision (the verifier's side) ---- */

typedef enum ecred_holder_policy {
    ECRED_HOLDER_POLICY_OPTIONAL = 0,  /* static accepted, labelled "holder not proven" */
    ECRED_HOLDER_POLICY_REQUIRED = 1,  /* an RP1 proof (timed or challenge) is required */
    ECRED_HOLDER_POLICY_CHALLENGE = 2, /* an RP1 proof answering our challenge is required */
} ecred_holder_policy;

/* The holder policy of a verifier role, decided before anything is shown:
 * "police" -> required, "landlord" -> optional, "agency" (or NULL) -> optional;
 * setting ("optional" | "required" | "challenge", NULL: the role's default)
 * may raise it; a police setting below required is ECRED_ERR_INPUT, as is an
 * unknown role or setting. */
ecred_err ecred_present_policy(const char *role, const char *setting, ecred_holder_policy *out);
/* "optional" / "required" / "challenge". */
const char *ecred_holder_policy_name(ecred_holder_policy p);

typedef struct ecred_present_params {
    int64_t now;                  /* the verifier's clock, seconds */
    ecred_holder_policy policy;
    int64_t refresh;              /* R, seconds (ECRED_PRESENT_REFRESH_DEFAULT) */
    int64_t skew;                 /* S, 0..ECRED_PRESENT_SKEW_MAX */
    ecred_replay_cache *replay;   /* NULL: no replay check (verdict says so) */
    ecred_challenge_fn challenge; /* NULL: no outstanding challenges */
    void *challenge_ctx;
    ecred_holder_keys *holder_keys; /* NULL: parse the cnf key on every decision */
} ecred_present_params;

/* Defaults: policy optional, R and S defaults, no caches, no challenges. */
ecred_present_params ecred_present_params_default(int64_t now);

typedef enum ecred_holder_state {
    ECRED_HOLDER_NOT_PROVEN = 0, /* static code, or a proof that is stale/replayed/off-challenge */
    ECRED_HOLDER_PROVEN = 1,
    ECRED_HOLDER_FAILED = 2,     /* the proof is malformed or its signature is bad */
} ecred_holder_state;

/* "proven" / "not_proven" / "failed". */
const char *ecred_holder_state_name(ecred_holder_state s);

typedef struct ecred_present_verdict {
    ecred_err outcome;          /* the final answer after role policy; ECRED_OK = valid */
    ecred_verdict cred;         /* ecred_decide on the static or embedded credential */
    bool presentation;          /* the text was RP1 */
    bool compressed;            /* the RP1 text carried a zlib layer */
    size_t presentation_len;    /* inflated RP1 bytes */
    ecred_holder_policy policy;
    ecred_holder_state holder;
    ecred_err holder_reason;    /* ECRED_OK when proven; else why not (also when outcome is OK) */
    bool challenge;             /* the proof carried a cnonce */
    char aud[ECRED_PRESENT_AUD_MAX + 1];
    int64_t presented_at;       /* the proof's iat (valid when a payload decoded) */
    int64_t now;                /* the clock used */
    bool replay_checked;        /* a replay cache was consulted */
    int64_t first_seen;         /* when holder_reason is ECRED_ERR_REPLAYED */
} ecred_present_verdict;

/* Decide on QR text (RC1: or RP1:) at p->now under p->policy (spec/presentation.md
 * section 5). Always fills *out; returns out->outcome. ECRED_ERR_ARG for a
 * skew or refresh out of range. */
ecred_err ecred_present_decide(const char *text, size_t n, const ecred_keyset *keys,
                               const ecred_status_source *status, const ecred_present_params *p,
                               ecred_present_verdict *out);

#endif
