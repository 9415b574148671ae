/*
 * h_audit.c - the public audit-log routes (spec/audit.md):
 *   GET /v1/audit/checkpoint                      the signed checkpoint (text)
 *   GET /v1/audit/consistency?from=M&to=N         RFC 9162 consistency proof
 *   GET /v1/audit/inclusion?credential=ID[&size=N] the credential's "issue"
 *                                                 entry and its inclusion proof
 *
 * Everything served here is public and holds no personal data: ids, action,
 * actor role, time and hashes. Must never: serve a proof for a tree larger
 * than the log, or accept a size it did not parse strictly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "handlers.h"

/* Strict decimal query parameter; false when absent or malformed. */
static bool query_u64(svc_req *r, const char *name, uint64_t *out)
{
    const char *v = svc_query(r, name);
    if (!v || !v[0] || strlen(v) > 19 || (v[0] == '0' && v[1]))
        return false;
    uint64_t x = 0;
    for (const char *p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        x = x * 10 + (uint64_t)(*p - '0');
    }
    *out = x;
    return true;
}

/* A JSON array of base64 hashes. */
static json_t *hashes_json(const ecred_merkle_hash *h, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        char b64[48];
        ecred_base64_encode(h[i], 32, b64, sizeof b64);
        json_array_append_new(a, json_string(b64));
    }
    return a;
}

void h_audit_checkpoint(issuerd *d, reg_db *db, svc_req *r)
{
    ecred_buf text = ECRED_BUF_INIT;
    ecred_err e = audit_pub_checkpoint(d->audit, db, d->keys, (int64_t)time(NULL), &text);
    if (e) {
        ecred_buf_free(&text);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    r->cache_control = "no-cache";
    svc_reply_buf(r, 200, "text/plain; charset=utf-8", &text);
}

void h_audit_consistency(issuerd *d, reg_db *db, svc_req *r)
{
    (void)d;
    uint64_t from = 0, to = 0;
    if (!query_u64(r, "from", &from) || !query_u64(r, "to", &to) || from > to) {
        ireply_error(r, IE_INVALID_FIELD, "from and to: tree sizes, from <= to");
        return;
    }
    ecred_merkle_hash *leaves = NULL;
    uint64_t n = 0;
    ecred_err e = audit_leaves(db, &leaves, &n);
    if (e) {
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    if (to > n) {
        free(leaves);
        ireply_error(r, IE_INVALID_FIELD, "to is larger than the log");
        return;
    }
    ecred_merkle_hash proof[ECRED_MERKLE_PROOF_MAX];
    size_t len = 0;
    e = ecred_merkle_consistency_proof((const ecred_merkle_hash *)leaves, from, to, proof, &len);
    free(leaves);
    if (e) {
        ireply_error(r, IE_INTERNAL, ecred_err_name(e));
        return;
    }
    r->cache_control = "public, max-age=86400"; /* a proof between two sizes never changes */
    svc_reply_json(r, 200,
                   json_pack("{s:I,s:I,s:o}", "from", (json_int_t)from, "to", (json_int_t)to,
                             "proof", hashes_json((const ecred_merkle_hash *)proof, len)));
}

typedef struct find_issue {
    const char *id;
    reg_audit_entry found;
    bool hit;
} find_issue;

/* Stop at the credential's "issue" entry. */
static ecred_err find_issue_one(void *ctx, const reg_audit_entry *e)
{
    find_issue *f = ctx;
    if (!f->hit && strcmp(e->action, "issue") == 0 && strcmp(e->subject, f->id) == 0) {
        f->found = *e;
        f->hit = true;
    }
    return ECRED_OK;
}

void h_audit_inclusion(issuerd *d, reg_db *db, svc_req *r)
{
    (void)d;
    const char *id = svc_query(r, "credential");
    if (!id || strlen(id) != REG_ID_LEN || strspn(id, "0123456789abcdef") != REG_ID_LEN) {
        ireply_error(r, IE_INVALID_FIELD, "credential: 16 lower-case hex digits");
        return;
    }
    uint64_t size = 0;
    bool has_size = svc_query(r, "size") != NULL;
    if (has_size && !query_u64(r, "size", &size)) {
        ireply_error(r, IE_INVALID_FIELD, "size: a tree size");
        return;
    }
    find_issue f;
    memset(&f, 0, sizeof f);
    f.id = id;
    ecred_merkle_hash *leaves = NULL;
    uint64_t n = 0;
    ecred_err e = reg_begin_read(db);
    if (!e) {
        e = reg_audit_scan(db, find_issue_one, &f);
        reg_rollback(db);
    }
    if (!e)
        e = audit_leaves(db, &leaves, &n);
    if (e) {
        free(leaves);
        ireply_error(r, IE_REGISTRY_UNAVAILABLE, ecred_err_name(e));
        return;
    }
    if (!has_size)
        size = n;
    if (!f.hit || f.found.seq == 0 || f.found.seq > size || size > n) {
        free(leaves);
        ireply_error(r, f.hit && size > n ? IE_INVALID_FIELD : IE_NOT_FOUND,
                     f.hit && size > n ? "size is larger than the log"
                                       : "no issue entry for this credential in a tree of this size");
        return;
    }
    ecred_merkle_hash proof[ECRED_MERKLE_PROOF_MAX];
    size_t len = 0;
    e = ecred_merkle_inclusion_proof((const ecred_merkle_hash *)leaves, size, f.found.seq - 1, proof, &len);
    free(leaves);
    if (e) {
        ireply_error(r, IE_INTERNAL, ecred_err_name(e));
        return;
    }
    char prev[65];
    ecred_hex(f.found.prev, 32, prev);
    json_t *entry = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s}", "seq", (json_int_t)f.found.seq, "at",
                              (json_int_t)f.found.at, "action", f.found.action, "subject",
                              f.found.subject, "actor", f.found.actor, "prev", prev);
    r->cache_control = "no-cache";
    svc_reply_json(r, 200,
                   json_pack("{s:I,s:I,s:o,s:o}", "size", (json_int_t)size, "index",
                             (json_int_t)(f.found.seq - 1), "entry", entry, "proof",
                             hashes_json((const ecred_merkle_hash *)proof, len)));
}
