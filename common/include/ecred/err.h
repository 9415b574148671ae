/*
 * err.h - the one error enum of ecred.
 *
 * Every fallible function in common/ returns an ecred_err. Values are explicit
 * and append-only: they are written into logs, JSON replies and test vectors,
 * so a value never changes meaning. One table (err.c) maps each value to a
 * stable machine-readable reason string, a human message, a CLI exit code and
 * an HTTP status. Groups: malformed input, crypto result, policy, internal.
 */
#ifndef ECRED_ERR_H
#define ECRED_ERR_H

typedef enum ecred_err {
    ECRED_OK = 0,

    /* Malformed input (10..39): the bytes are not what the format says. */
    ECRED_ERR_NOT_OUR_FORMAT = 10, /* no known prefix: not an ecred credential */
    ECRED_ERR_BASE45 = 11,         /* invalid base45 text (RFC 9285) */
    ECRED_ERR_INFLATE = 12,        /* corrupt zlib stream, unknown dictionary, trailing bytes */
    ECRED_ERR_TOO_LARGE = 13,      /* a size cap was hit (text, inflated size, CBOR size, list size) */
    ECRED_ERR_CBOR = 14,           /* not well-formed CBOR, or trailing bytes after the item */
    ECRED_ERR_CBOR_LIMIT = 15,     /* CBOR item count or nesting depth over the cap */
    ECRED_ERR_COSE_STRUCTURE = 16, /* not a tagged COSE_Sign1 array of the right shape */
    ECRED_ERR_COSE_HEADER = 17,    /* bad, duplicate or misplaced header; unknown crit */
    ECRED_ERR_ALG_UNSUPPORTED = 18,/* alg missing or not ES256/EdDSA */
    ECRED_ERR_CLAIMS = 19,         /* CWT claims missing or of the wrong type */
    ECRED_ERR_CREDENTIAL = 20,     /* credential fields missing or invalid */
    ECRED_ERR_STATUS_LIST = 21,    /* status list or its token malformed */
    ECRED_ERR_TRUST_LIST = 22,     /* trust list malformed */
    ECRED_ERR_INPUT = 23,          /* invalid caller input (application JSON, CLI value) */

    /* Crypto results (40..59). */
    ECRED_ERR_SIGNATURE_INVALID = 40, /* the signature does not match: a forgery or damage */
    ECRED_ERR_KEY_UNKNOWN = 41,       /* no trusted key has this kid */
    ECRED_ERR_KEY_ALG_MISMATCH = 42,  /* the header's alg is not the key's algorithm */
    ECRED_ERR_KEY_INVALID = 43,       /* key bytes unparsable or not an accepted key type */
    ECRED_ERR_KEY_PERMISSIONS = 44,   /* a private key file readable by group or others */
    ECRED_ERR_CRYPTO = 45,            /* the crypto library itself failed (not a verdict) */

    /* Policy outcomes (60..79): well-formed and authentic, but not acceptable. */
    ECRED_ERR_EXPIRED = 60,
    ECRED_ERR_NOT_YET_VALID = 61,
    ECRED_ERR_REVOKED = 62,            /* status INVALID in the status list */
    ECRED_ERR_SUSPENDED = 63,          /* status SUSPENDED in the status list */
    ECRED_ERR_STATUS_STALE = 64,       /* status data older than the allowed age */
    ECRED_ERR_STATUS_UNAVAILABLE = 65, /* no status list for the credential's uri */
    ECRED_ERR_LIST_EXPIRED = 66,       /* a status or trust list past its exp */
    ECRED_ERR_STATUS_INDEX = 67,       /* the credential's status idx is outside its list:
                                        * the draft says MUST reject (not "unknown") */

    /* Internal and I/O (80..99). */
    ECRED_ERR_NOMEM = 80,
    ECRED_ERR_IO = 81,
    ECRED_ERR_EXISTS = 82,       /* refused to overwrite an existing file */
    ECRED_ERR_ARG = 83,          /* caller misuse of an API (a bug in the caller) */
    ECRED_ERR_BUFFER_SMALL = 84,
    ECRED_ERR_INTERNAL = 85,
    ECRED_ERR_UNSUPPORTED = 86,  /* valid request this build cannot serve (a pkcs11: key
                                  * reference without PKCS#11 support) */

    /* Holder-bound presentations (100..119, spec/presentation.md). A block of
     * its own so that the groups above keep their next free values. */
    ECRED_ERR_PRESENT_STRUCTURE = 100, /* RP1 not a tagged 4-array / signature not 64 bytes */
    ECRED_ERR_PRESENT_HEADER = 101,    /* RP1 protected header not exactly {1,13,16}; unprotected not {} */
    ECRED_ERR_PRESENT_CLAIMS = 102,    /* RP1 payload not exactly {3: aud, 6: iat, ? 39: cnonce} */
    ECRED_ERR_PRESENT_UNBOUND = 103,   /* RP1 of a credential without a cnf key */
    ECRED_ERR_HOLDER_SIGNATURE = 104,  /* the holder signature does not verify with cnf */
    ECRED_ERR_HOLDER_PROOF_REQUIRED = 105, /* static code of a bound credential; policy needs proof */
    ECRED_ERR_HOLDER_UNBOUND = 106,    /* static code of an unbound credential; policy needs proof */
    ECRED_ERR_TOO_OLD = 107,           /* iat older than now - (R + S): a screenshot */
    ECRED_ERR_IN_FUTURE = 108,         /* iat later than now + S */
    ECRED_ERR_BEFORE_ISSUE = 109,      /* iat before the credential's iat */
    ECRED_ERR_REPLAYED = 110,          /* this verifier already accepted this presentation */
    ECRED_ERR_REPLAY_CACHE_FULL = 111, /* the replay cache is full: fail closed */
    ECRED_ERR_CHALLENGE_REQUIRED = 112,/* policy needs a challenge answer; none carried */
    ECRED_ERR_CHALLENGE_UNKNOWN = 113, /* cnonce not outstanding here, expired or used */
    ECRED_ERR_CHALLENGE_AUDIENCE = 114,/* aud is not what the challenge named */
    ECRED_ERR_AUDIENCE = 115,          /* timed mode: aud is not the credential's iss */
} ecred_err;

/* Stable outcome reason, e.g. "bad_signature", "malformed"; several errors share one
 * reason (every parse failure is "malformed"). "internal" for unknown values. */
const char *ecred_err_reason(ecred_err e);
/* Specific detail code, e.g. "base45", "cbor_limit": finer than the reason. */
const char *ecred_err_name(ecred_err e);
/* The error whose ecred_err_name() is name (test vectors, logs read back);
 * ECRED_ERR_ARG when no error has that name. */
ecred_err ecred_err_from_name(const char *name, ecred_err *out);
/* One-line English message for people. */
const char *ecred_err_message(ecred_err e);
/* Exit code of the CLIs for this error (0 for ECRED_OK); see spec/errors.md. */
int ecred_err_exit_code(ecred_err e);
/* HTTP status an API answers with when this error is the caller's problem. */
int ecred_err_http_status(ecred_err e);

#endif
