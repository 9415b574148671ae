/*
 * apikeys.h - the verify API's keys: each has a role (and for agencies a
 * field list). A key is shown once when made; DIR/api-keys (mode 0600) keeps
 * only its SHA-256, one line per key:
 *
 *   v1 <key id: 8 hex> <sha256 of the key: 64 hex> <role> <fields or -> [holder=SETTING]
 *   v2 <key id> <sha256> <role> <fields or -> <expires: Unix time or -> [holder=SETTING] <label or ->
 *
 * The optional holder token raises the key's holder policy above its role's
 * default (ecred_present_policy: optional, required, challenge). v2 (issue
 * 17) adds an expiry and a label for people (the rest of the line, printable,
 * no control characters, not starting with "holder="); v1 lines stay valid
 * and never expire. Keys without label and expiry are written as v1 lines.
 *
 * Must never: store or log a key itself; print.
 */
#ifndef ECRED_VERIFIER_APIKEYS_H
#define ECRED_VERIFIER_APIKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/err.h"
#include "ecred/present.h"
#include "roles.h"

#define VKEYS_MAX 1024
#define VKEY_TEXT_LEN 68       /* "ecv_" + 64 hex */
#define VKEYS_FILE_MAX ((size_t)1 << 20)
#define VKEY_LABEL_MAX 63

typedef struct vkey {
    char id[9];                          /* first 4 bytes of the hash, hex: for logs */
    uint8_t hash[32];
    vrole role;
    char fields[VROLE_FIELDS_MAX + 1];   /* agency only, else "" */
    char holder[12];                     /* the holder setting, "" for the role's default */
    ecred_holder_policy policy;          /* from role and setting, fixed at load */
    int64_t expires_at;                  /* 0: never */
    char label[VKEY_LABEL_MAX + 1];      /* "" when none */
} vkey;

typedef struct vkeys {
    vkey *keys;
    size_t n;
} vkeys;

/* Read DIR/api-keys (no file: no keys). ECRED_ERR_INPUT for a malformed line. */
ecred_err vkeys_load(const char *dir, vkeys *out);
void vkeys_free(vkeys *k);

/* Make a key for role (fields: the agency list, NULL otherwise), append its
 * hash to DIR/api-keys and return the key text (VKEY_TEXT_LEN + 1 bytes) and
 * its id. */
ecred_err vkeys_add(const char *dir, vrole role, const char *fields, char key[VKEY_TEXT_LEN + 1],
                    char id[9]);
/* The same with a holder setting (NULL: the role's default). ECRED_ERR_INPUT
 * when ecred_present_policy refuses role and setting (police below required). */
ecred_err vkeys_add_holder(const char *dir, vrole role, const char *fields, const char *holder,
                           char key[VKEY_TEXT_LEN + 1], char id[9]);

/* vkeys_add with a label ("" or NULL for none: printable, no control
 * characters, at most VKEY_LABEL_MAX bytes, else ECRED_ERR_INPUT) and an
 * expiry (Unix time, 0: never). */
ecred_err vkeys_add_labeled(const char *dir, vrole role, const char *fields, const char *label,
                            int64_t expires_at, char key[VKEY_TEXT_LEN + 1], char id[9]);
/* All of it: a holder setting (NULL or "": the role's default), a label and
 * an expiry, as vkeys_add_holder and vkeys_add_labeled check them. */
ecred_err vkeys_add_full(const char *dir, vrole role, const char *fields, const char *holder,
                         const char *label, int64_t expires_at, char key[VKEY_TEXT_LEN + 1], char id[9]);

/* Remove every key whose id is `id` (8 lower-case hex) from DIR/api-keys,
 * rewriting it atomically (mode 0600) under the cache's writer lock, and say
 * how many went (0: unknown id, the file is left alone). ECRED_ERR_INPUT for
 * a malformed id or file, ECRED_ERR_IO when it cannot be read or written. */
ecred_err vkeys_remove(const char *dir, const char *id, size_t *removed);

/* True for a well-formed key id: exactly 8 lower-case hex digits. */
bool vkeys_id_ok(const char *id);

/* The key whose hash matches the presented text and has not expired (by the
 * clock now), or NULL. */
const vkey *vkeys_check(const vkeys *k, const char *presented, size_t n);

#endif
