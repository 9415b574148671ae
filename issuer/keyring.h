/*
 * keyring.h - the issuer's signing keys over time: the current key and, during
 * a rotation, the next one with the second it takes over.
 *
 * Every signature picks its key by the time it is stamped with (the CWT iat,
 * the status list iat), so a credential dated before the switch is signed by
 * the key whose trust-list window covers it, and one dated after by the next
 * key: no request is refused or signed outside a window across the switch.
 * The switch happens at the first look at or after switch_at, or at once on
 * keyring_switch_now (SIGHUP). Thread-safe; keys are handed out referenced.
 */
#ifndef ECRED_ISSUER_KEYRING_H
#define ECRED_ISSUER_KEYRING_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/crypto.h"

typedef struct keyring keyring;

/* A ring holding current (referenced, not taken). */
ecred_err keyring_new(ecred_key *current, keyring **out);
void keyring_free(keyring *k);
/* Stage next (referenced) to take over at switch_at (Unix seconds). */
void keyring_set_next(keyring *k, ecred_key *next, int64_t switch_at);
/* The key to sign something stamped `at` with, referenced (ecred_key_free it).
 * Performs a due switch. */
ecred_key *keyring_for(keyring *k, int64_t at);
/* The staged key (referenced) and its switch time, or NULL when none. */
ecred_key *keyring_next(keyring *k, int64_t *switch_at);
/* Switch to the staged key now; false when none is staged. */
bool keyring_switch_now(keyring *k);
/* Counts switches: a watcher compares it with what it saw last. */
uint64_t keyring_generation(keyring *k);

#endif
