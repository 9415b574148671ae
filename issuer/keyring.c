/*
 * keyring.c - current and next signing key (keyring.h).
 *
 * Must never: sign (callers do, outside the lock), or free a key a signer
 * may still hold (keys are reference counted; a switch drops only the
 * ring's reference).
 */
#include <pthread.h>
#include <stdlib.h>

#include "keyring.h"

struct keyring {
    pthread_mutex_t mu;
    ecred_key *current;
    ecred_key *next;   /* NULL when no rotation is staged */
    int64_t switch_at;
    uint64_t generation;
};

ecred_err keyring_new(ecred_key *current, keyring **out)
{
    if (!current || !out)
        return ECRED_ERR_ARG;
    keyring *k = calloc(1, sizeof *k);
    if (!k)
        return ECRED_ERR_NOMEM;
    pthread_mutex_init(&k->mu, NULL);
    k->current = ecred_key_ref(current);
    *out = k;
    return ECRED_OK;
}

void keyring_free(keyring *k)
{
    if (!k)
        return;
    ecred_key_free(k->current);
    ecred_key_free(k->next);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

void keyring_set_next(keyring *k, ecred_key *next, int64_t switch_at)
{
    pthread_mutex_lock(&k->mu);
    ecred_key_free(k->next);
    k->next = ecred_key_ref(next);
    k->switch_at = switch_at;
    pthread_mutex_unlock(&k->mu);
}

/* Make the staged key current. Caller holds mu. */
static void keyring_promote(keyring *k)
{
    ecred_key_free(k->current);
    k->current = k->next;
    k->next = NULL;
    k->generation++;
}

ecred_key *keyring_for(keyring *k, int64_t at)
{
    pthread_mutex_lock(&k->mu);
    if (k->next && at >= k->switch_at)
        keyring_promote(k);
    ecred_key *key = ecred_key_ref(k->current);
    pthread_mutex_unlock(&k->mu);
    return key;
}

ecred_key *keyring_next(keyring *k, int64_t *switch_at)
{
    pthread_mutex_lock(&k->mu);
    ecred_key *key = ecred_key_ref(k->next);
    if (switch_at)
        *switch_at = k->switch_at;
    pthread_mutex_unlock(&k->mu);
    return key;
}

bool keyring_switch_now(keyring *k)
{
    pthread_mutex_lock(&k->mu);
    bool staged = k->next != NULL;
    if (staged)
        keyring_promote(k);
    pthread_mutex_unlock(&k->mu);
    return staged;
}

uint64_t keyring_generation(keyring *k)
{
    pthread_mutex_lock(&k->mu);
    uint64_t g = k->generation;
    pthread_mutex_unlock(&k->mu);
    return g;
}
