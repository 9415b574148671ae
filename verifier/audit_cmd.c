/*
 * audit_cmd.c - ecred-verify audit --issuer URL --key PUB.pem [--key ...]
 *                                  [--state FILE] [--credential ID]
 *
 * Fetches the issuer's signed checkpoint and checks its signature with the
 * given keys (the issuer's signing keys: several during a rotation). With
 * --state, the checkpoint accepted last time is read from FILE, the issuer's
 * consistency proof from it to the new one is checked (the log only grew,
 * nothing before was changed), and the new checkpoint replaces it in FILE
 * (atomically) only when everything checked. With --credential, the
 * credential's "issue" entry and its inclusion proof in the new tree are
 * fetched and checked: the leaf is recomputed from the entry's fields.
 *
 * Must never: save a checkpoint it did not verify, or accept a smaller tree
 * than the one it saved (a rollback).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_cmd.h"
#include "ecred/checkpoint.h"
#include "ecred/merkle.h"
#include "fetch.h"

#define EXIT_OK 0
#define EXIT_IO 1
#define EXIT_USAGE 2
#define EXIT_BAD 6
#define MAX_KEYS 8
#define PROOF_BODY_MAX (64 * 1024)

/* Fetch base + path into out (capped). */
static int fetch(const char *base, const char *path, size_t max, vfetch *out)
{
    char url[VFETCH_URL_MAX + 1], err[256] = "";
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    int w = snprintf(url, sizeof url, "%.*s%s", (int)n, base, path);
    if (w < 0 || (size_t)w >= sizeof url) {
        fprintf(stderr, "ecred-verify audit: URL too long\n");
        return EXIT_USAGE;
    }
    if (vfetch_get(url, "", max, out, err, sizeof err) != ECRED_OK || out->status != 200) {
        fprintf(stderr, "ecred-verify audit: %s: %s\n", url, err[0] ? err : "no answer");
        return EXIT_IO;
    }
    return EXIT_OK;
}

/* The "proof" array of a JSON answer into proof; false when malformed. */
static bool proof_from_json(json_t *o, ecred_merkle_hash *proof, size_t *len)
{
    json_t *a = json_object_get(o, "proof");
    if (!json_is_array(a) || json_array_size(a) > ECRED_MERKLE_PROOF_MAX)
        return false;
    *len = json_array_size(a);
    for (size_t i = 0; i < *len; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        size_t n = 0;
        if (!s || ecred_base64_decode(s, strlen(s), proof[i], 32, &n) != ECRED_OK || n != 32)
            return false;
    }
    return true;
}

/* Copy a JSON string member into out (cap bytes); false when absent/long. */
static bool json_str(json_t *o, const char *name, char *out, size_t cap)
{
    const char *s = json_string_value(json_object_get(o, name));
    if (!s || strlen(s) >= cap)
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

/* Check the consistency proof from old to cp. */
static int check_consistency(const char *issuer, const ecred_checkpoint *old,
                             const ecred_checkpoint *cp)
{
    if (old->size > cp->size || strcmp(old->origin, cp->origin) != 0) {
        printf("audit: ROLLBACK or different log: saved checkpoint has %llu entries of %s, the "
               "issuer now shows %llu of %s\n",
               (unsigned long long)old->size, old->origin, (unsigned long long)cp->size,
               cp->origin);
        return EXIT_BAD;
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/audit/consistency?from=%llu&to=%llu",
             (unsigned long long)old->size, (unsigned long long)cp->size);
    vfetch f;
    int rc = fetch(issuer, path, PROOF_BODY_MAX, &f);
    if (rc)
        return rc;
    json_t *o = json_loadb((const char *)f.body.ptr, f.body.len, JSON_REJECT_DUPLICATES, NULL);
    vfetch_clear(&f);
    ecred_merkle_hash proof[ECRED_MERKLE_PROOF_MAX];
    size_t len = 0;
    bool ok = o && proof_from_json(o, proof, &len);
    json_decref(o);
    if (!ok) {
        printf("audit: malformed consistency proof\n");
        return EXIT_BAD;
    }
    if (ecred_merkle_consistency_verify(old->size, cp->size, old->root, cp->root,
                                        (const ecred_merkle_hash *)proof, len) != ECRED_OK) {
        printf("audit: INCONSISTENT: the log of %llu entries is not a prefix of the log of %llu "
               "entries (history was rewritten)\n",
               (unsigned long long)old->size, (unsigned long long)cp->size);
        return EXIT_BAD;
    }
    printf("audit: consistent: %llu -> %llu entries (append-only)\n",
           (unsigned long long)old->size, (unsigned long long)cp->size);
    return EXIT_OK;
}

/* Check the credential's issue entry is in cp's tree. */
static int check_inclusion(const char *issuer, const char *cred, const ecred_checkpoint *cp)
{
    if (strlen(cred) != 16 || strspn(cred, "0123456789abcdef") != 16) {
        fprintf(stderr, "ecred-verify audit: --credential takes 16 lower-case hex digits\n");
        return EXIT_USAGE;
    }
    char path[128];
    snprintf(path, sizeof path, "/v1/audit/inclusion?credential=%s&size=%llu", cred,
             (unsigned long long)cp->size);
    vfetch f;
    int rc = fetch(issuer, path, PROOF_BODY_MAX, &f);
    if (rc)
        return rc;
    json_t *o = json_loadb((const char *)f.body.ptr, f.body.len, JSON_REJECT_DUPLICATES, NULL);
    vfetch_clear(&f);
    ecred_merkle_hash proof[ECRED_MERKLE_PROOF_MAX];
    size_t len = 0;
    ecred_audit_entry e;
    memset(&e, 0, sizeof e);
    char prev[65] = "";
    json_t *ent = o ? json_object_get(o, "entry") : NULL;
    json_int_t index = o ? json_integer_value(json_object_get(o, "index")) : -1;
    json_int_t seq = ent ? json_integer_value(json_object_get(ent, "seq")) : 0;
    bool ok = o && proof_from_json(o, proof, &len) && ent && seq >= 1 && index == seq - 1 &&
              json_is_integer(json_object_get(ent, "at")) &&
              json_str(ent, "action", e.action, sizeof e.action) &&
              json_str(ent, "subject", e.subject, sizeof e.subject) &&
              json_str(ent, "actor", e.actor, sizeof e.actor) &&
              json_str(ent, "prev", prev, sizeof prev) && strlen(prev) == 64 &&
              ecred_unhex(prev, 64, e.prev, 32) == ECRED_OK;
    if (ok) {
        e.seq = (uint64_t)seq;
        e.at = (int64_t)json_integer_value(json_object_get(ent, "at"));
    }
    json_decref(o);
    if (!ok || strcmp(e.action, "issue") != 0 || strcmp(e.subject, cred) != 0) {
        printf("audit: malformed inclusion answer for %s\n", cred);
        return EXIT_BAD;
    }
    ecred_merkle_hash leaf;
    ecred_audit_leaf_hash(&e, leaf);
    if (ecred_merkle_inclusion_verify(e.seq - 1, cp->size, leaf, (const ecred_merkle_hash *)proof,
                                      len, cp->root) != ECRED_OK) {
        printf("audit: NOT INCLUDED: the issuance of %s is not in the log of %llu entries\n", cred,
               (unsigned long long)cp->size);
        return EXIT_BAD;
    }
    printf("audit: included: credential %s issued at %lld by %s, entry %llu of %llu\n", cred,
           (long long)e.at, e.actor, (unsigned long long)e.seq, (unsigned long long)cp->size);
    return EXIT_OK;
}

int cmd_audit(int argc, char **argv)
{
    const char *issuer = NULL, *state = NULL, *cred = NULL;
    const char *key_paths[MAX_KEYS];
    size_t nkeys = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "ecred-verify audit: %s needs a value\n", a);
            return EXIT_USAGE;
        }
        const char *v = argv[++i];
        if (strcmp(a, "--issuer") == 0 && !issuer)
            issuer = v;
        else if (strcmp(a, "--state") == 0 && !state)
            state = v;
        else if (strcmp(a, "--credential") == 0 && !cred)
            cred = v;
        else if (strcmp(a, "--key") == 0 && nkeys < MAX_KEYS)
            key_paths[nkeys++] = v;
        else {
            fprintf(stderr, "usage: ecred-verify audit --issuer URL --key PUB.pem [--key ...]\n"
                            "                          [--state FILE] [--credential ID]\n");
            return EXIT_USAGE;
        }
    }
    if (!issuer || nkeys == 0) {
        fprintf(stderr, "ecred-verify audit: --issuer URL and --key PUB.pem are required\n");
        return EXIT_USAGE;
    }
    ecred_key *keys[MAX_KEYS] = {NULL};
    int rc = EXIT_OK;
    for (size_t k = 0; k < nkeys; k++)
        if (ecred_key_public_load(key_paths[k], &keys[k]) != ECRED_OK) {
            fprintf(stderr, "ecred-verify audit: cannot load key %s\n", key_paths[k]);
            rc = EXIT_USAGE;
            goto out;
        }
    if (vfetch_global_init() != ECRED_OK) {
        rc = EXIT_IO;
        goto out;
    }
    vfetch f;
    if ((rc = fetch(issuer, "/v1/audit/checkpoint", ECRED_CHECKPOINT_MAX, &f)) != EXIT_OK)
        goto out;
    ecred_checkpoint cp;
    ecred_buf text = ECRED_BUF_INIT;
    ecred_err e = ecred_checkpoint_verify(f.body.ptr, f.body.len, keys, nkeys, &cp);
    if (!e)
        e = ecred_buf_append(&text, f.body.ptr, f.body.len);
    vfetch_clear(&f);
    if (e) {
        printf("audit: the issuer's checkpoint does not verify: %s\n", ecred_err_message(e));
        rc = EXIT_BAD;
        goto done;
    }
    char root[48];
    ecred_base64_encode(cp.root, 32, root, sizeof root);
    printf("audit: checkpoint %s: %llu entries, tree head %s\n", cp.origin,
           (unsigned long long)cp.size, root);
    if (state) {
        ecred_buf old_text = ECRED_BUF_INIT;
        e = ecred_read_file(state, ECRED_CHECKPOINT_MAX, &old_text);
        if (e == ECRED_OK) {
            ecred_checkpoint old;
            if (ecred_checkpoint_verify(old_text.ptr, old_text.len, keys, nkeys, &old) != ECRED_OK) {
                printf("audit: the saved checkpoint %s does not verify with the given keys\n",
                       state);
                rc = EXIT_BAD;
            } else {
                rc = check_consistency(issuer, &old, &cp);
            }
        } else {
            printf("audit: no saved checkpoint yet in %s (first run)\n", state);
        }
        ecred_buf_free(&old_text);
    }
    if (rc == EXIT_OK && cred)
        rc = check_inclusion(issuer, cred, &cp);
    if (rc == EXIT_OK && state &&
        ecred_write_file_atomic(state, text.ptr, text.len, 0644) != ECRED_OK) {
        fprintf(stderr, "ecred-verify audit: cannot write %s\n", state);
        rc = EXIT_IO;
    }
done:
    ecred_buf_free(&text);
out:
    for (size_t k = 0; k < nkeys; k++)
        ecred_key_free(keys[k]);
    return rc;
}
