/*
 * audit.c - audit log checks and checkpoints (audit.h, spec/audit.md).
 *
 * Must never: put anything but ids, action, role, time and hashes into the
 * public log, or publish a checkpoint over entries it has not read from the
 * registry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

typedef struct audit_one {
    const char *action, *subject, *actor;
    int64_t now;
} audit_one;

/* reg_write fn: one entry. */
static ecred_err audit_one_write(reg_db *db, void *ctx)
{
    const audit_one *a = ctx;
    return reg_audit_append(db, a->action, a->subject, a->actor, a->now);
}

ecred_err audit_record(reg_db *db, const char *action, const char *subject, const char *actor,
                       int64_t now)
{
    audit_one a = {action, subject, actor, now};
    bool failed = false;
    return reg_write(db, audit_one_write, &a, &failed);
}

typedef struct verify_walk {
    audit_report *rep;
    uint8_t prev[32];
    ecred_merkle_hash *leaves;
    uint64_t cap;
} verify_walk;

/* Check one entry against the one before. */
static ecred_err verify_one(void *ctx, const reg_audit_entry *e)
{
    verify_walk *w = ctx;
    audit_report *rep = w->rep;
    uint64_t want = rep->entries + 1;
    uint8_t h[32];
    reg_audit_entry_hash(e, h);
    const char *why = NULL;
    if (e->seq != want)
        why = e->seq > want ? "entries missing before it (removed)" : "sequence out of order";
    else if (memcmp(e->prev, w->prev, 32) != 0)
        why = "does not chain to the entry before it (removed, reordered or edited)";
    else if (memcmp(e->hash, h, 32) != 0)
        why = "its fields do not match its hash (edited)";
    if (why) {
        rep->bad_seq = e->seq ? e->seq : want;
        snprintf(rep->why, sizeof rep->why, "%s", why);
        return ECRED_ERR_SIGNATURE_INVALID;
    }
    if (rep->entries >= AUDIT_MAX_ENTRIES)
        return ECRED_ERR_TOO_LARGE;
    if (rep->entries == w->cap) {
        uint64_t cap = w->cap ? w->cap * 2 : 1024;
        ecred_merkle_hash *n = realloc(w->leaves, (size_t)cap * sizeof *n);
        if (!n)
            return ECRED_ERR_NOMEM;
        w->leaves = n;
        w->cap = cap;
    }
    memcpy(w->leaves[rep->entries], e->hash, 32);
    memcpy(w->prev, e->hash, 32);
    rep->entries++;
    return ECRED_OK;
}

ecred_err audit_verify(reg_db *db, audit_report *rep)
{
    memset(rep, 0, sizeof *rep);
    verify_walk w;
    memset(&w, 0, sizeof w);
    w.rep = rep;
    ecred_err e = reg_begin_read(db);
    if (!e) {
        e = reg_audit_scan(db, verify_one, &w);
        reg_rollback(db);
    }
    if (!e)
        ecred_merkle_root((const ecred_merkle_hash *)w.leaves, rep->entries, rep->root);
    free(w.leaves);
    return e;
}

typedef struct leaves_walk {
    ecred_merkle_hash *leaves;
    uint64_t n, cap;
} leaves_walk;

/* Collect one stored hash. */
static ecred_err leaves_one(void *ctx, const reg_audit_entry *e)
{
    leaves_walk *w = ctx;
    if (w->n >= AUDIT_MAX_ENTRIES)
        return ECRED_ERR_TOO_LARGE;
    if (w->n == w->cap) {
        uint64_t cap = w->cap ? w->cap * 2 : 1024;
        ecred_merkle_hash *n = realloc(w->leaves, (size_t)cap * sizeof *n);
        if (!n)
            return ECRED_ERR_NOMEM;
        w->leaves = n;
        w->cap = cap;
    }
    memcpy(w->leaves[w->n++], e->hash, 32);
    return ECRED_OK;
}

ecred_err audit_leaves(reg_db *db, ecred_merkle_hash **out, uint64_t *n)
{
    leaves_walk w;
    memset(&w, 0, sizeof w);
    /* One read transaction: the hashes of one consistent prefix. */
    ecred_err e = reg_begin_read(db);
    if (!e) {
        e = reg_audit_scan(db, leaves_one, &w);
        reg_rollback(db);
    }
    if (e) {
        free(w.leaves);
        return e;
    }
    *out = w.leaves;
    *n = w.n;
    return ECRED_OK;
}

void audit_pub_init(audit_pub *p, const char *iss)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    snprintf(p->origin, sizeof p->origin, "%.*s/audit", ECRED_CHECKPOINT_ORIGIN_MAX - 7,
             iss && iss[0] ? iss : "ecred-issuer");
    for (char *c = p->origin; *c; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f || *c == '+')
            *c = '-';
}

void audit_pub_free(audit_pub *p)
{
    ecred_buf_free(&p->text);
    pthread_mutex_destroy(&p->mu);
}

ecred_err audit_pub_checkpoint(audit_pub *p, reg_db *db, keyring *keys, int64_t now,
                               ecred_buf *out)
{
    ecred_err e = ECRED_OK;
    pthread_mutex_lock(&p->mu);
    if (p->text.len == 0 || now - p->made_at >= AUDIT_CHECKPOINT_INTERVAL) {
        ecred_merkle_hash *leaves = NULL;
        uint64_t n = 0;
        if ((e = audit_leaves(db, &leaves, &n)) == ECRED_OK && (n != p->size || p->text.len == 0)) {
            ecred_checkpoint cp;
            memset(&cp, 0, sizeof cp);
            snprintf(cp.origin, sizeof cp.origin, "%s", p->origin);
            cp.size = n;
            ecred_merkle_root((const ecred_merkle_hash *)leaves, n, cp.root);
            ecred_key *key = keyring_for(keys, now);
            ecred_buf text = ECRED_BUF_INIT;
            e = ecred_checkpoint_sign(key, &cp, &text);
            ecred_key_free(key);
            if (!e) {
                ecred_buf_free(&p->text);
                p->text = text;
                p->size = n;
            } else {
                ecred_buf_free(&text);
            }
        }
        if (!e)
            p->made_at = now;
        free(leaves);
    }
    if (!e) {
        out->len = 0;
        e = ecred_buf_append(out, p->text.ptr, p->text.len);
    }
    pthread_mutex_unlock(&p->mu);
    return e;
}
