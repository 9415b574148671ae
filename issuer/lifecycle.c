/*
 * lifecycle.c - application and credential state changes (see lifecycle.h).
 *
 * Every change is one body function run by reg_write: inside a write
 * transaction (on a pool, a savepoint of a group commit shared with other
 * requests' changes), committed only when every row it touches is written.
 * Bodies may be re-run by a backend after a serialization failure (registry.h
 * CONTRACT 4), so they reset their outputs and do nothing outside the
 * database.
 *
 * Approval signs OUTSIDE the write, so a slow signer (an HSM) does not
 * serialise approvals behind the registry's write lock:
 *   1. read (a short read transaction, no write lock): the application must
 *      be submitted (issued: hand back its credential, a replay), its
 *      kinship commitment confirmed, the credential it replaces still
 *      replaceable; then take a status index (reg_index_take: the next
 *      position of this connection's reserved block through the list's
 *      secret permutation, constant time) and a random cti (the id);
 *   2. build the claims and SIGN, holding nothing;
 *   3. one write: re-check the application (issued meanwhile: return THAT
 *      credential, drop ours; rejected: fail) and the replaced credential,
 *      insert the credential row
 *      (UNIQUE(list_id, idx) and the id are the last guard), mark the
 *      application issued, make the replaced credential INVALID, read the
 *      row back. Approval and issuance are this ONE write;
 *   4. index or id taken meanwhile: discard the signed bytes and redo from
 *      1, at most LC_APPROVE_ATTEMPTS times.
 * The QR text leaves this file only after the write's COMMIT returned; signed
 * bytes whose row did not commit are freed, never returned. The index stays
 * random and never reused: its position was reserved in a committed write.
 *
 * Must never: return a credential that is not committed; reuse a status
 * index; sign inside a reg_write body; put personal data into lc_fail (it
 * may be logged).
 */
#include "lifecycle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecred/cst.h"
#include "ecred/issue.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"
#include "ecred/textclass.h"
#include "pop.h"


/* Fill a failure: detail "field: why", or why alone when field is NULL.
 * Returns err for tail calls. */
static ecred_err lc_set(lc_fail *f, ecred_err err, lc_code code, const char *field, const char *why)
{
    f->code = code;
    /* Cut at the buffer (a field path is short, a reason shorter than the
     * rest); the check keeps -Wformat-truncation quiet at -O2. */
    int n = field ? snprintf(f->detail, sizeof f->detail, "%.63s: %.90s", field, why)
                  : snprintf(f->detail, sizeof f->detail, "%.155s", why);
    (void)n;
    return err;
}

/* Map a registry error to a failure: I/O is the registry being unavailable,
 * anything else is internal. */
static ecred_err lc_internal(lc_fail *f, ecred_err e)
{
    return lc_set(f, e, e == ECRED_ERR_IO ? LC_REGISTRY_UNAVAILABLE : LC_INTERNAL, NULL,
                  ecred_err_name(e));
}

/* Run body as one registry write (batched with concurrent writes on a pool).
 * A failed body has filled fail itself; a write that did not commit is a 503
 * like any other registry write error. */
static ecred_err lc_run(reg_db *db, reg_write_fn body, void *job, lc_fail *fail)
{
    bool body_failed = false;
    ecred_err e = reg_write(db, body, job, &body_failed);
    if (e && !body_failed)
        return lc_internal(fail, e);
    return e;
}

const char *lc_status_name(int status)
{
    switch (status) {
    case ECRED_STATUS_VALID: return "valid";
    case ECRED_STATUS_INVALID: return "invalid";
    case ECRED_STATUS_SUSPENDED: return "suspended";
    default: return "unknown";
    }
}

bool lc_id_ok(const char *s)
{
    if (!s || strlen(s) != REG_ID_LEN)
        return false;
    for (size_t i = 0; i < REG_ID_LEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

/* A fresh random id (16 hex digits). */
static ecred_err lc_new_id(char out[REG_ID_LEN + 1])
{
    uint8_t b[REG_ID_LEN / 2];
    ecred_err e = ecred_random(b, sizeof b);
    if (!e)
        ecred_hex(b, sizeof b, out);
    return e;
}

/* Commitment reference: "QS" + 12 random decimal digits (fits ECRED_REF_MAX). */
static ecred_err lc_new_commitment_ref(char out[41])
{
    uint8_t b[12];
    ecred_err e = ecred_random(b, sizeof b);
    if (e)
        return e;
    out[0] = 'Q';
    out[1] = 'S';
    for (size_t i = 0; i < 12; i++)
        out[2 + i] = (char)('0' + b[i] % 10); /* slight bias is harmless: not a secret */
    out[14] = 0;
    return ECRED_OK;
}

/* Credential type of an application kind; 0 for a kind that takes it from the
 * credential it replaces. -1 for an unknown kind. */
static int lc_kind_type(const char *kind, bool *needs_replaces)
{
    *needs_replaces = false;
    if (strcmp(kind, "residence_registration") == 0)
        return ECRED_CRED_TYPE_REGISTRATION;
    if (strcmp(kind, "permit_new") == 0)
        return ECRED_CRED_TYPE_PERMIT;
    *needs_replaces = true;
    if (strcmp(kind, "address_change") == 0)
        return 0;
    if (strcmp(kind, "permit_renewal") == 0)
        return ECRED_CRED_TYPE_PERMIT;
    if (strcmp(kind, "holder_rebind") == 0)
        return 0; /* the same credential again, bound to a new phone */
    return -1;
}

/* The kinship commitment (亲属关系承诺书) text. The applicant confirms exactly
 * these bytes (by their SHA-256); the credential carries only the reference. */
static char *lc_commitment_text(const char *ref, const char *name, const char *id_number,
                                const char *relative_name, const char *relationship,
                                const char *address, int64_t now)
{
    char day[11];
    ecred_date_format(ecred_cst_day_of(now), day);
#define LC_COMMITMENT_TEMPLATE                                                              \
    "亲属关系承诺书\n"                                                                   \
    "承诺编号：%s\n"                                                                     \
    "本人%s（公民身份号码%s）郑重承诺：%s系本人的%s，本人现投靠其居住于%s。\n"          \
    "本人对以上内容的真实性负责，如有不实，愿意承担相应的法律责任。\n"                \
    "承诺日期：%s\n"
    int n = snprintf(NULL, 0, LC_COMMITMENT_TEMPLATE, ref, name, id_number, relative_name, relationship, address, day);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        snprintf(s, (size_t)n + 1, LC_COMMITMENT_TEMPLATE, ref, name, id_number, relative_name, relationship, address,
                 day);
    return s;
}

/* A non-empty string member of at most max bytes, or NULL. */
static const char *lc_json_text(json_t *o, const char *key, size_t max)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_string(v))
        return NULL;
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(json_string_value(v)) != n)
        return NULL;
    return json_string_value(v);
}

/* Check the kinship object: only its two members, each present, within its
 * length and of its character class (textclass.h: the text goes into the
 * signed commitment, where ESC or a newline would forge lines). On failure
 * field names the member and *why says what is wrong. */
static bool lc_kinship_ok(json_t *k, char *field, size_t cap, const char **why)
{
    const char *key;
    json_t *v;
    json_object_foreach(k, key, v) {
        if (strcmp(key, "relative_name") && strcmp(key, "relationship")) {
            snprintf(field, cap, "kinship.%.40s", key);
            *why = "not a member of kinship";
            return false;
        }
    }
    static const struct {
        const char *name;
        size_t max;
        ecred_text_class cls;
    } members[] = {{"relative_name", LC_KINSHIP_NAME_MAX, ECRED_TEXT_NAME},
                   {"relationship", LC_KINSHIP_RELATION_MAX, ECRED_TEXT_RELATION}};
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        snprintf(field, cap, "kinship.%s", members[i].name);
        json_t *m = json_object_get(k, members[i].name);
        if (!m) {
            *why = "required";
            return false;
        }
        const char *t = lc_json_text(k, members[i].name, members[i].max);
        if (!t) {
            *why = members[i].max == LC_KINSHIP_NAME_MAX ? "must be text of 1..64 bytes"
                                                         : "must be text of 1..32 bytes";
            return false;
        }
        if ((*why = ecred_text_class_why(t, strlen(t), members[i].cls)) != NULL)
            return false;
    }
    return true;
}

/* Build the complete credential JSON for an application: the registry's
 * known fields first (the replaced credential, or the identity of an earlier
 * credential of the same ID number), the submitted fields over them. */
static ecred_err lc_merge(reg_db *db, const lc_application_in *in, int kind_type,
                          const reg_credential *replaced, json_t **out, lc_fail *fail)
{
    json_t *merged = NULL;
    ecred_err e = ECRED_OK;
    if (replaced) {
        merged = json_loads(replaced->credential_json, JSON_REJECT_DUPLICATES, NULL);
        if (!merged)
            return lc_internal(fail, ECRED_ERR_IO);
    } else {
        merged = json_object();
        if (!merged)
            return lc_internal(fail, ECRED_ERR_NOMEM);
        const char *idn = lc_json_text(in->credential, "id_number", ECRED_ID_NUMBER_LEN);
        reg_credential prior;
        if (idn && reg_credential_latest_for(db, idn, &prior) == ECRED_OK) {
            /* Identity verified at an earlier approval: reuse it. */
            json_t *old = json_loads(prior.credential_json, JSON_REJECT_DUPLICATES, NULL);
            reg_credential_free(&prior);
            static const char *const identity[] = {"name", "sex", "birth_date", "hukou_division"};
            for (size_t i = 0; old && i < sizeof identity / sizeof identity[0]; i++) {
                json_t *v = json_object_get(old, identity[i]);
                if (v)
                    json_object_set(merged, identity[i], v);
            }
            json_decref(old);
        }
    }
    if (json_object_update(merged, in->credential) != 0) {
        e = lc_internal(fail, ECRED_ERR_NOMEM);
        goto out;
    }
    if (replaced) {
        /* The new credential keeps the holder of the one it replaces. */
        json_t *idn = json_object_get(in->credential, "id_number");
        if (idn && !(json_is_string(idn) && strcmp(json_string_value(idn), replaced->id_number) == 0)) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "credential.id_number",
                       "the ID number differs from the replaced credential's holder");
            goto out;
        }
    }
    if (kind_type) {
        const char *want = kind_type == ECRED_CRED_TYPE_PERMIT ? "residence_permit"
                                                               : "registration_certificate";
        json_t *t = json_object_get(in->credential, "type");
        if (t && !(json_is_string(t) && strcmp(json_string_value(t), want) == 0)) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "credential.type",
                       "the credential type does not match the application kind");
            goto out;
        }
        json_object_set_new(merged, "type", json_string(want));
    }
    *out = merged;
    merged = NULL;
out:
    json_decref(merged);
    return e;
}

/* Fields an application of this kind must state itself even when reusing. */
static const char *lc_missing_required(const char *kind, json_t *cred)
{
    /* A new address is a new registration: its date and the validity that
     * starts from it are stated anew (valid_from may not precede it). */
    static const char *const address_change[] = {"address_division", "address", "housing",
                                                 "registration_date", "valid_from", "valid_until",
                                                 NULL};
    static const char *const renewal[] = {"valid_from", "valid_until", "endorsement_date", NULL};
    const char *const *need = NULL;
    if (strcmp(kind, "address_change") == 0)
        need = address_change;
    else if (strcmp(kind, "permit_renewal") == 0)
        need = renewal;
    for (size_t i = 0; need && need[i]; i++)
        if (!json_object_get(cred, need[i]))
            return need[i];
    return NULL;
}

/* lc_application_create's write: the request, checked for shape, in; the
 * new (or replayed) application's id out. */
typedef struct lc_create_job {
    const lc_application_in *in;
    int64_t now;
    int kind_type;
    lc_fail *fail;
    char app_id[REG_ID_LEN + 1];
    bool replayed;
} lc_create_job;

/* reg_write body of lc_application_create: idempotency replay, merge with
 * registry data, validation and the inserts. */
static ecred_err lc_create_body(reg_db *db, void *arg)
{
    lc_create_job *job = arg;
    const lc_application_in *in = job->in;
    int64_t now = job->now;
    int kind_type = job->kind_type;
    lc_fail *fail = job->fail;
    ecred_err e;
    json_t *merged = NULL;
    char *text = NULL, *commit_text = NULL;
    ecred_buf normalized = ECRED_BUF_INIT;
    reg_credential replaced;
    bool have_replaced = false;
    reg_application app;
    memset(&app, 0, sizeof app);
    memset(&replaced, 0, sizeof replaced);

    if (in->idem_key) {
        uint8_t h[32];
        char prior[REG_ID_LEN + 1];
        e = reg_idem_get(db, in->idem_key, h, prior);
        if (e == ECRED_OK) {
            if (memcmp(h, in->request_hash, 32) != 0) {
                e = lc_set(fail, ECRED_ERR_EXISTS, LC_IDEMPOTENCY_KEY_REUSED, NULL,
                           "this Idempotency-Key was used with a different request");
                goto out;
            }
            memcpy(job->app_id, prior, REG_ID_LEN + 1);
            job->replayed = true;
            return ECRED_OK;
        }
        if (e != ECRED_ERR_KEY_UNKNOWN) {
            e = lc_internal(fail, e);
            goto out;
        }
    }

    if (in->replaces) {
        e = reg_credential_get(db, in->replaces, &replaced);
        if (e == ECRED_ERR_KEY_UNKNOWN) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "replaces", "no such credential");
            goto out;
        }
        if (e) {
            e = lc_internal(fail, e);
            goto out;
        }
        have_replaced = true;
        if (replaced.status == ECRED_STATUS_INVALID || replaced.replaced_by[0]) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_REPLACED_CREDENTIAL_INVALID, "replaces",
                       "the credential to replace is no longer valid");
            goto out;
        }
        if (kind_type && replaced.type != kind_type) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "replaces",
                       "a permit renewal replaces a residence permit");
            goto out;
        }
        kind_type = replaced.type;
    }

    if ((e = lc_merge(db, in, kind_type, have_replaced ? &replaced : NULL, &merged, fail)) != ECRED_OK)
        goto out;

    /* Housing "relative": the issuer writes the commitment and its reference. */
    json_t *housing = json_object_get(in->credential, "housing");
    json_t *basis = json_is_object(housing) ? json_object_get(housing, "basis") : NULL;
    bool relative = json_is_string(basis) && strcmp(json_string_value(basis), "relative") == 0;
    char field[64] = "";
    if (relative) {
        if (json_object_get(housing, "reference")) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "credential.housing.reference",
                       "the issuer sets the commitment reference");
            goto out;
        }
        if (!json_is_object(in->kinship)) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_MISSING_FIELD, "kinship",
                       "housing basis relative needs the kinship object");
            goto out;
        }
        const char *kwhy = NULL;
        if (!lc_kinship_ok(in->kinship, field, sizeof field, &kwhy)) {
            bool unknown = strcmp(field, "kinship.relative_name") && strcmp(field, "kinship.relationship");
            bool missing = kwhy && strcmp(kwhy, "required") == 0;
            e = lc_set(fail, ECRED_ERR_INPUT,
                       unknown ? LC_UNKNOWN_FIELD : missing ? LC_MISSING_FIELD : LC_INVALID_FIELD, field,
                       kwhy ? kwhy : "invalid");
            goto out;
        }
        if ((e = lc_new_commitment_ref(app.commitment_ref)) != ECRED_OK) {
            e = lc_internal(fail, e);
            goto out;
        }
        json_t *mh = json_object_get(merged, "housing");
        json_object_set_new(mh, "reference", json_string(app.commitment_ref));
    } else if (in->kinship) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "kinship",
                   "kinship is only for housing basis relative");
        goto out;
    }

    text = json_dumps(merged, JSON_COMPACT);
    if (!text) {
        e = lc_internal(fail, ECRED_ERR_NOMEM);
        goto out;
    }
    ecred_credential cred;
    ecred_field_error fe;
    memset(&fe, 0, sizeof fe);
    e = ecred_credential_from_json(text, strlen(text), &cred, &fe);
    if (!e)
        e = ecred_credential_validate(&cred, &fe);
    if (e) {
        /* The detail says which field and why: "credential.id_number: check
         * character does not match". */
        char cf[64];
        snprintf(cf, sizeof cf, "credential.%.40s", fe.field[0] ? fe.field : "?");
        e = lc_set(fail, ECRED_ERR_INPUT,
                   fe.kind == ECRED_FIELD_MISSING   ? LC_MISSING_FIELD
                   : fe.kind == ECRED_FIELD_UNKNOWN ? LC_UNKNOWN_FIELD
                                                    : LC_INVALID_FIELD,
                   cf, fe.why[0] ? fe.why : "invalid");
        goto out;
    }
    int32_t today = ecred_cst_day_of(now);
    if (cred.valid_until < today) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "credential.valid_until",
                   "the validity has already ended");
        goto out;
    }
    if ((e = ecred_credential_to_json(&cred, &normalized)) != ECRED_OK ||
        (e = ecred_buf_terminate(&normalized)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto out;
    }

    if ((e = lc_new_id(app.id)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto out;
    }
    snprintf(app.kind, sizeof app.kind, "%s", in->kind);
    snprintf(app.state, sizeof app.state, "submitted");
    memcpy(app.id_number, cred.id_number, sizeof cred.id_number);
    app.credential_json = (char *)normalized.ptr;
    if (in->replaces)
        snprintf(app.replaces, sizeof app.replaces, "%s", in->replaces);
    app.submitted_at = now;
    snprintf(app.submitted_by, sizeof app.submitted_by, "%s", in->actor);
    e = reg_application_insert(db, &app);
    app.credential_json = NULL;
    if (e) {
        e = lc_internal(fail, e);
        goto out;
    }

    if (relative) {
        commit_text = lc_commitment_text(app.commitment_ref, cred.name, cred.id_number,
                                         lc_json_text(in->kinship, "relative_name", LC_KINSHIP_NAME_MAX),
                                         lc_json_text(in->kinship, "relationship", LC_KINSHIP_RELATION_MAX),
                                         cred.address, now);
        if (!commit_text) {
            e = lc_internal(fail, ECRED_ERR_NOMEM);
            goto out;
        }
        reg_commitment c;
        memset(&c, 0, sizeof c);
        memcpy(c.ref, app.commitment_ref, sizeof c.ref);
        memcpy(c.application_id, app.id, sizeof c.application_id);
        c.text = commit_text;
        uint8_t h[32];
        ecred_sha256((const uint8_t *)commit_text, strlen(commit_text), h);
        ecred_hex(h, 32, c.sha256_hex);
        c.created_at = now;
        /* A taken reference (1 in 10^12 per pair) fails the request; the client retries. */
        if ((e = reg_commitment_insert(db, &c)) != ECRED_OK) {
            e = lc_internal(fail, e);
            goto out;
        }
    }
    if (in->idem_key && (e = reg_idem_put(db, in->idem_key, in->request_hash, app.id, now)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto out;
    }
    memcpy(job->app_id, app.id, sizeof app.id);
    job->replayed = false;
out:
    free(commit_text);
    free(text);
    json_decref(merged);
    ecred_buf_free(&normalized);
    if (have_replaced)
        reg_credential_free(&replaced);
    return e;
}

ecred_err lc_application_create(issuerd *d, reg_db *db, const lc_application_in *in, int64_t now,
                                char app_id[REG_ID_LEN + 1], bool *replayed, lc_fail *fail)
{
    (void)d;
    /* Checks that need no registry run before the write, off the writer. */
    bool needs_replaces;
    int kind_type = lc_kind_type(in->kind, &needs_replaces);
    if (kind_type < 0)
        return lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "kind",
                      "one of residence_registration, permit_new, address_change, permit_renewal, holder_rebind");
    if (needs_replaces != (in->replaces != NULL))
        return lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "replaces",
                      needs_replaces ? "this kind names the credential it replaces"
                                     : "only address_change, permit_renewal and holder_rebind replace a credential");
    /* A new phone changes the key and nothing else: the data stays what an
     * officer approved before. */
    if (strcmp(in->kind, "holder_rebind") == 0 && json_object_size(in->credential) != 0)
        return lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "credential",
                      "holder_rebind changes only the holder key: send an empty object");
    if (in->replaces && !lc_id_ok(in->replaces))
        return lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "replaces", "not a credential id");
    const char *missing = lc_missing_required(in->kind, in->credential);
    if (missing) {
        char f[64];
        snprintf(f, sizeof f, "credential.%s", missing);
        return lc_set(fail, ECRED_ERR_INPUT, LC_MISSING_FIELD, f,
                      "this application kind must state the field");
    }

    lc_create_job job;
    memset(&job, 0, sizeof job);
    job.in = in;
    job.now = now;
    job.kind_type = kind_type;
    job.fail = fail;
    ecred_err e = lc_run(db, lc_create_body, &job, fail);
    if (e)
        return e;
    memcpy(app_id, job.app_id, sizeof job.app_id);
    *replayed = job.replayed;
    return ECRED_OK;
}

/* Load the application a write will change, inside its transaction. On
 * failure fail is filled (404 for an unknown id); *app is set only on success. */
static ecred_err lc_load_application(reg_db *db, const char *app_id, reg_application *app,
                                     lc_fail *fail)
{
    ecred_err e = reg_application_get(db, app_id, app);
    if (e == ECRED_ERR_KEY_UNKNOWN)
        return lc_set(fail, e, LC_NOT_FOUND, NULL, "no such application");
    return e ? lc_internal(fail, e) : ECRED_OK;
}

/* Times lc_approve prepares and tries its write before giving up: each retry
 * means the chosen status index or credential id was taken meanwhile, which
 * with random indices in lists of >= 131072 entries is rare, so a run of
 * them means something else is wrong. */
#define LC_APPROVE_ATTEMPTS 8

/* Whether the credential an application replaces can still be replaced
 * (not INVALID, not replaced already); fail filled when not. */
static ecred_err lc_replaced_ok(reg_db *db, const char *cred_id, lc_fail *fail)
{
    reg_credential c;
    ecred_err e = reg_credential_get(db, cred_id, &c);
    if (e)
        return lc_internal(fail, e);
    bool ok = c.status != ECRED_STATUS_INVALID && !c.replaced_by[0];
    reg_credential_free(&c);
    if (!ok)
        return lc_set(fail, ECRED_ERR_INPUT, LC_REPLACED_CREDENTIAL_INVALID, NULL,
                      "the credential to replace is no longer valid");
    return ECRED_OK;
}

/* lc_approve's read phase, run outside any write: the application as stored
 * (app), and either the credential it already has (*already, in issued) or
 * a candidate credential row signed over a chosen status index and cti
 * (row; its qr_text is qr's bytes and its credential_json app's, both
 * borrowed). Checks here only spare a signature: the write checks again. */
static ecred_err lc_approve_prepare(issuerd *d, reg_db *db, const char *app_id, int64_t now,
                                    reg_application *app, reg_credential *row, ecred_buf *qr,
                                    reg_credential *issued, bool *already, uint32_t *holder_gen,
                                    lc_fail *fail)
{
    *already = false;
    reg_holder holder;
    memset(&holder, 0, sizeof holder);
    ecred_err e = reg_begin_read(db);
    if (e)
        return lc_internal(fail, e);
    if ((e = lc_load_application(db, app_id, app, fail)) != ECRED_OK) {
        reg_rollback(db);
        return e;
    }
    int64_t list_id = 0, idx = 0;
    char list_uri[REG_URI_MAX + 1] = "";
    if (strcmp(app->state, "issued") == 0) {
        e = reg_credential_get(db, app->credential_id, issued);
        reg_rollback(db);
        if (e)
            return lc_internal(fail, e);
        *already = true;
        return ECRED_OK;
    }
    if (strcmp(app->state, "submitted") != 0) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_APPLICATION_REJECTED, NULL,
                   "a rejected application cannot be approved");
        goto read_done;
    }
    if (app->commitment_ref[0]) {
        reg_commitment c;
        if ((e = reg_commitment_get(db, app->commitment_ref, &c)) != ECRED_OK) {
            e = lc_internal(fail, e);
            goto read_done;
        }
        bool confirmed = c.confirmed_at != 0;
        reg_commitment_free(&c);
        if (!confirmed) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_COMMITMENT_UNCONFIRMED, NULL,
                       "the applicant has not confirmed the kinship commitment");
            goto read_done;
        }
    }
    if (app->replaces[0] && (e = lc_replaced_ok(db, app->replaces, fail)) != ECRED_OK)
        goto read_done;
    /* A key the applicant proved to hold goes into cnf (spec/api.md); a new
     * phone's re-issue exists only for that key. */
    if ((e = reg_holder_get(db, app->id, &holder)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto read_done;
    }
    if (!holder.bound && strcmp(app->kind, "holder_rebind") == 0) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_HOLDER_KEY_MISSING, NULL,
                   "holder_rebind needs the new phone's key bound first (holder-key)");
        goto read_done;
    }
    *holder_gen = holder.generation;
read_done:
    /* The read ends before signing: a slow signer holds no snapshot or lock. */
    reg_rollback(db);
    if (e)
        return e;
    /* Only now, when the approval can go ahead: a position taken is never
     * handed out again, even if this approval fails later. The list keeps
     * the URI it was opened with (issue 17 trap 2). */
    if ((e = reg_index_take(db, &list_id, &idx, list_uri)) != ECRED_OK)
        return lc_internal(fail, e);

    ecred_claims claims;
    memset(&claims, 0, sizeof claims);
    if (ecred_credential_from_json(app->credential_json, strlen(app->credential_json), &claims.cred,
                                   NULL) != ECRED_OK)
        return lc_internal(fail, ECRED_ERR_INTERNAL); /* we validated it at submission */
    snprintf(claims.iss, sizeof claims.iss, "%s", d->iss);
    claims.iat = now;
    claims.nbf = ecred_cst_day_start(claims.cred.valid_from);
    claims.exp = ecred_cst_day_start(claims.cred.valid_until + 1);
    claims.cti_len = 8;
    if ((e = ecred_random(claims.cti, claims.cti_len)) != ECRED_OK)
        return lc_internal(fail, e);
    claims.has_status = true;
    claims.status_idx = (uint64_t)idx;
    if (holder.bound) {
        claims.has_cnf = true;
        memcpy(claims.cnf_x, holder.x, sizeof claims.cnf_x);
        claims.cnf_y_sign = holder.y_sign;
    }
    if (list_uri[0] && strlen(list_uri) < sizeof claims.status_uri)
        memcpy(claims.status_uri, list_uri, strlen(list_uri) + 1);
    else if ((e = statuspub_uri(d->pub, list_id, claims.status_uri, sizeof claims.status_uri)) != ECRED_OK)
        return lc_internal(fail, e);
    if (d->test_before_sign)
        d->test_before_sign();
    /* The key whose trust-list window holds this credential's iat. */
    ecred_key *key = d->keys ? keyring_for(d->keys, now) : ecred_key_ref(d->sign_key);
    e = ecred_issue_sign(key, &claims, ECRED_COMPRESS_AUTO, qr, NULL);
    ecred_key_free(key);
    if (e == ECRED_OK)
        e = ecred_buf_terminate(qr);
    if (e)
        return lc_set(fail, e, LC_CANNOT_ISSUE, NULL, ecred_err_name(e));

    memset(row, 0, sizeof *row);
    ecred_hex(claims.cti, claims.cti_len, row->id);
    memcpy(row->application_id, app->id, sizeof app->id);
    row->type = claims.cred.type;
    memcpy(row->id_number, claims.cred.id_number, sizeof row->id_number);
    row->list_id = list_id;
    row->idx = idx;
    row->status = ECRED_STATUS_VALID;
    row->qr_text = (char *)qr->ptr;
    row->credential_json = app->credential_json;
    row->valid_until = claims.cred.valid_until;
    row->endorsement_date = claims.cred.endorsement_date;
    row->issued_at = now;
    return ECRED_OK;
}

/* lc_approve's write: the signed candidate row in; the committed credential
 * (owned, valid only once committed), whether it was a replay, and whether
 * the candidate lost its index or id to another write (retry) out. */
typedef struct lc_issue_job {
    const char *app_id;
    const char *actor;
    int64_t now;
    const reg_credential *row;
    uint32_t holder_gen;     /* the binding generation the signed cnf came from */
    lc_fail *fail;
    reg_credential out;
    bool replayed;
    bool retry;
} lc_issue_job;

/* reg_write body of lc_approve: re-check the application and the replaced
 * credential as they are now, claim the index, insert the row, mark the
 * application issued and the replaced credential INVALID, read the row back
 * (the reply is exactly what commits). May run more than once (registry.h
 * CONTRACT 4): it resets its outputs and touches nothing but the database. */
static ecred_err lc_issue_body(reg_db *db, void *arg)
{
    lc_issue_job *job = arg;
    const reg_credential *row = job->row;
    lc_fail *fail = job->fail;
    reg_application app;
    reg_credential replaced;
    bool have_replaced = false;
    reg_credential_free(&job->out);
    memset(&job->out, 0, sizeof job->out);
    job->replayed = false;
    job->retry = false;

    ecred_err e = lc_load_application(db, job->app_id, &app, fail);
    if (e)
        return e;
    if (strcmp(app.state, "issued") == 0) {
        /* Issued meanwhile (a concurrent approval, perhaps earlier in this
         * group commit): that credential is the answer; ours is discarded. */
        if ((e = reg_credential_get(db, app.credential_id, &job->out)) != ECRED_OK)
            e = lc_internal(fail, e);
        job->replayed = true;
        goto out;
    }
    if (strcmp(app.state, "submitted") != 0) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_APPLICATION_REJECTED, NULL,
                   "a rejected application cannot be approved");
        goto out;
    }
    /* A confirmed commitment stays confirmed: the read phase's check holds.
     * A holder binding can change meanwhile: then our cnf is stale, sign again. */
    reg_holder holder;
    if ((e = reg_holder_get(db, app.id, &holder)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto out;
    }
    if (holder.generation != job->holder_gen) {
        job->retry = true;
        e = lc_set(fail, ECRED_ERR_EXISTS, LC_INTERNAL, NULL, "the holder key changed while signing");
        goto out;
    }
    if (app.replaces[0]) {
        if ((e = reg_credential_get(db, app.replaces, &replaced)) != ECRED_OK) {
            e = lc_internal(fail, e);
            goto out;
        }
        have_replaced = true;
        if (replaced.status == ECRED_STATUS_INVALID || replaced.replaced_by[0]) {
            e = lc_set(fail, ECRED_ERR_INPUT, LC_REPLACED_CREDENTIAL_INVALID, NULL,
                       "the credential to replace is no longer valid");
            goto out;
        }
    }
    /* The index was reserved for this credential alone (reg_index_take);
     * UNIQUE(list_id, idx) and the id are the last guard all the same. */
    e = reg_credential_insert(db, row);
    if (e == ECRED_ERR_EXISTS) {
        job->retry = true;
        e = lc_internal(fail, e);
        goto out;
    }
    if (!e)
        e = reg_application_set_issued(db, app.id, row->id, job->now, job->actor);
    if (!e && have_replaced) {
        char why[64];
        snprintf(why, sizeof why, "replaced by %s", row->id);
        e = reg_status_change(db, replaced.id, replaced.status, ECRED_STATUS_INVALID, "replace", why,
                              job->actor, job->now);
        if (!e)
            e = reg_credential_set_replaced_by(db, replaced.id, row->id);
    }
    if (!e)
        e = reg_credential_get(db, row->id, &job->out);
    if (e)
        e = lc_internal(fail, e);
out:
    if (have_replaced)
        reg_credential_free(&replaced);
    reg_application_free(&app);
    return e;
}

ecred_err lc_approve(issuerd *d, reg_db *db, const char *app_id, const char *actor, int64_t now,
                     reg_credential *out, bool *replayed, lc_fail *fail)
{
    for (int attempt = 0; attempt < LC_APPROVE_ATTEMPTS; attempt++) {
        reg_application app;
        reg_credential row, issued;
        ecred_buf qr = ECRED_BUF_INIT;
        bool already = false;
        uint32_t holder_gen = 0;
        memset(&app, 0, sizeof app);
        memset(&issued, 0, sizeof issued);
        ecred_err e = lc_approve_prepare(d, db, app_id, now, &app, &row, &qr, &issued, &already, &holder_gen,
                                         fail);
        if (e || already) {
            reg_application_free(&app);
            ecred_buf_free(&qr);
            if (!e) {
                *out = issued;
                *replayed = true;
            }
            return e;
        }
        lc_issue_job job;
        memset(&job, 0, sizeof job);
        job.app_id = app_id;
        job.actor = actor;
        job.now = now;
        job.row = &row;
        job.holder_gen = holder_gen;
        job.fail = fail;
        bool body_failed = false;
        e = reg_write(db, lc_issue_body, &job, &body_failed);
        /* The signed bytes die here unless their row committed (then the
         * reply is the row read back in the write, job.out). */
        ecred_buf_free(&qr);
        reg_application_free(&app);
        if (!e) {
            *out = job.out;
            *replayed = job.replayed;
            return ECRED_OK;
        }
        /* A write that read a credential but did not commit: that credential
         * does not exist and must not be handed out. */
        reg_credential_free(&job.out);
        if (body_failed && job.retry)
            continue;
        return body_failed ? e : lc_internal(fail, e);
    }
    return lc_set(fail, ECRED_ERR_IO, LC_REGISTRY_UNAVAILABLE, NULL,
                  "the chosen status index kept being taken");
}

/* lc_reject's write. */
typedef struct lc_reject_job {
    const char *app_id, *reason, *actor;
    int64_t now;
    lc_fail *fail;
} lc_reject_job;

/* reg_write body of lc_reject: only a submitted application is rejected. */
static ecred_err lc_reject_body(reg_db *db, void *arg)
{
    lc_reject_job *job = arg;
    reg_application app;
    ecred_err e = lc_load_application(db, job->app_id, &app, job->fail);
    if (e)
        return e;
    bool submitted = strcmp(app.state, "submitted") == 0;
    reg_application_free(&app);
    if (!submitted)
        return lc_set(job->fail, ECRED_ERR_INPUT, LC_INVALID_TRANSITION, NULL,
                      "only a submitted application can be rejected");
    if ((e = reg_application_set_rejected(db, job->app_id, job->reason, job->now,
                                          job->actor)) != ECRED_OK)
        return lc_internal(job->fail, e);
    return ECRED_OK;
}

ecred_err lc_reject(reg_db *db, const char *app_id, const char *reason, const char *actor,
                    int64_t now, lc_fail *fail)
{
    lc_reject_job job = {app_id, reason, actor, now, fail};
    return lc_run(db, lc_reject_body, &job, fail);
}

/* lc_confirm_commitment's write. */
typedef struct lc_confirm_job {
    const char *app_id, *sha256_hex;
    int64_t now;
    lc_fail *fail;
} lc_confirm_job;

/* reg_write body of lc_confirm_commitment: the hash must match; confirming
 * twice keeps the first time. */
static ecred_err lc_confirm_body(reg_db *db, void *arg)
{
    lc_confirm_job *job = arg;
    lc_fail *fail = job->fail;
    reg_application app;
    reg_commitment c;
    bool have_app = false, have_c = false;
    ecred_err e = lc_load_application(db, job->app_id, &app, fail);
    if (e)
        goto out;
    have_app = true;
    if (!app.commitment_ref[0]) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_NO_COMMITMENT, NULL,
                   "this application has no kinship commitment");
        goto out;
    }
    if ((e = reg_commitment_get(db, app.commitment_ref, &c)) != ECRED_OK) {
        e = lc_internal(fail, e);
        goto out;
    }
    have_c = true;
    if (strcmp(c.sha256_hex, job->sha256_hex) != 0) {
        e = lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_FIELD, "sha256",
                   "sha256 does not match the commitment text");
        goto out;
    }
    if (c.confirmed_at == 0 && (e = reg_commitment_confirm(db, c.ref, job->now)) != ECRED_OK)
        e = lc_internal(fail, e);
out:
    if (have_c)
        reg_commitment_free(&c);
    if (have_app)
        reg_application_free(&app);
    return e;
}

ecred_err lc_confirm_commitment(reg_db *db, const char *app_id, const char *sha256_hex,
                                int64_t now, lc_fail *fail)
{
    lc_confirm_job job = {app_id, sha256_hex, now, fail};
    return lc_run(db, lc_confirm_body, &job, fail);
}

/* lc_status_action's write: the new status out. */
typedef struct lc_status_job {
    const char *cred_id, *action, *reason, *actor;
    int64_t now;
    lc_fail *fail;
    int new_status;
    reg_credential row; /* as read in the write, with the new status */
    bool have_row;
} lc_status_job;

/* reg_write body of lc_status_action: the allowed transitions only, with the
 * audit row and the list's generation bump (reg_status_change). */
static ecred_err lc_status_body(reg_db *db, void *arg)
{
    lc_status_job *job = arg;
    /* A rerun (CONTRACT 4) starts from nothing read. */
    if (job->have_row) {
        reg_credential_free(&job->row);
        job->have_row = false;
    }
    reg_credential c;
    ecred_err e = reg_credential_get(db, job->cred_id, &c);
    if (e == ECRED_ERR_KEY_UNKNOWN)
        return lc_set(job->fail, e, LC_NOT_FOUND, NULL, "no such credential");
    if (e)
        return lc_internal(job->fail, e);
    int from = c.status, to = -1;
    if (strcmp(job->action, "suspend") == 0 && from == ECRED_STATUS_VALID)
        to = ECRED_STATUS_SUSPENDED;
    else if (strcmp(job->action, "resume") == 0 && from == ECRED_STATUS_SUSPENDED)
        to = ECRED_STATUS_VALID;
    else if (strcmp(job->action, "revoke") == 0 && from != ECRED_STATUS_INVALID)
        to = ECRED_STATUS_INVALID;
    if (to < 0) {
        char detail[48];
        snprintf(detail, sizeof detail, "credential is %s", lc_status_name(from));
        reg_credential_free(&c);
        return lc_set(job->fail, ECRED_ERR_INPUT, LC_INVALID_TRANSITION, detail,
                      "this action does not apply to the credential's current status");
    }
    if ((e = reg_status_change(db, job->cred_id, from, to, job->action, job->reason, job->actor,
                               job->now)) != ECRED_OK) {
        reg_credential_free(&c);
        return lc_internal(job->fail, e);
    }
    job->new_status = to;
    c.status = to;
    job->row = c;
    job->have_row = true;
    return ECRED_OK;
}

ecred_err lc_status_action(reg_db *db, const char *cred_id, const char *action,
                           const char *reason, const char *actor, int64_t now, int *new_status,
                           reg_credential *out, lc_fail *fail)
{
    lc_status_job job;
    memset(&job, 0, sizeof job);
    job.cred_id = cred_id;
    job.action = action;
    job.reason = reason;
    job.actor = actor;
    job.now = now;
    job.fail = fail;
    ecred_err e = lc_run(db, lc_status_body, &job, fail);
    if (!e) {
        *new_status = job.new_status;
        if (out) {
            *out = job.row;
            job.have_row = false;
        }
    }
    if (job.have_row)
        reg_credential_free(&job.row);
    return e;
}

/* ---- holder keys: proof of possession (pop.h, spec/api.md) ---- */

ecred_err lc_holder_nonce(issuerd *d, reg_db *db, const char *app_id, int64_t now,
                          char nonce[POP_NONCE_TEXT_MAX + 1], int64_t *expires, lc_fail *fail)
{
    reg_application app;
    reg_holder h;
    ecred_err e = reg_begin_read(db);
    if (e)
        return lc_internal(fail, e);
    e = lc_load_application(db, app_id, &app, fail);
    if (e) {
        reg_rollback(db);
        return e;
    }
    bool submitted = strcmp(app.state, "submitted") == 0;
    reg_application_free(&app);
    if (!submitted) {
        reg_rollback(db);
        return lc_set(fail, ECRED_ERR_INPUT, LC_INVALID_TRANSITION, NULL,
                      "a holder key is bound before the application is decided");
    }
    e = reg_holder_get(db, app_id, &h);
    reg_rollback(db);
    if (e)
        return lc_internal(fail, e);
    if ((e = pop_nonce_make(d->tracking_secret, app_id, h.generation, now, nonce, expires)) != ECRED_OK)
        return lc_internal(fail, e);
    return ECRED_OK;
}

/* lc_holder_bind's write: the checked proof in. */
typedef struct lc_bind_job {
    const char *app_id;
    const pop_proof *proof;
    uint32_t nonce_gen;
    int64_t now;
    lc_fail *fail;
} lc_bind_job;

/* reg_write body of lc_holder_bind: the application still submitted, the
 * nonce's generation still the current one (else it was used), then the
 * binding with the next generation. Touches nothing but the database. */
static ecred_err lc_bind_body(reg_db *db, void *arg)
{
    lc_bind_job *job = arg;
    reg_application app;
    ecred_err e = lc_load_application(db, job->app_id, &app, job->fail);
    if (e)
        return e;
    bool submitted = strcmp(app.state, "submitted") == 0;
    reg_application_free(&app);
    if (!submitted)
        return lc_set(job->fail, ECRED_ERR_INPUT, LC_INVALID_TRANSITION, NULL,
                      "a holder key is bound before the application is decided");
    reg_holder h;
    if ((e = reg_holder_get(db, job->app_id, &h)) != ECRED_OK)
        return lc_internal(job->fail, e);
    if (h.generation != job->nonce_gen || h.generation == UINT32_MAX)
        return lc_set(job->fail, ECRED_ERR_INPUT, LC_HOLDER_NONCE_INVALID, "proof.nonce",
                      "this c_nonce was already used: ask for a new one");
    reg_holder n = {.bound = true, .y_sign = job->proof->y_sign, .generation = h.generation + 1,
                    .bound_at = job->now};
    memcpy(n.x, job->proof->x, sizeof n.x);
    if ((e = reg_holder_put(db, job->app_id, &n)) != ECRED_OK)
        return e == ECRED_ERR_UNSUPPORTED
                   ? lc_set(job->fail, e, LC_INTERNAL, NULL, "this registry keeps no holder keys")
                   : lc_internal(job->fail, e);
    return ECRED_OK;
}

ecred_err lc_holder_bind(issuerd *d, reg_db *db, const char *app_id, const char *jwt, size_t n,
                         int64_t now, uint8_t x[32], bool *y_sign, lc_fail *fail)
{
    pop_proof p;
    const char *why = NULL;
    /* The signature and the nonce's MAC are checked before the write: pure
     * computation, and a forger never reaches the registry's writer. */
    ecred_err e = pop_jwt_verify(jwt, n, d->iss, now, &p, &why);
    if (e == ECRED_ERR_NOMEM)
        return lc_internal(fail, e);
    if (e)
        return lc_set(fail, ECRED_ERR_INPUT, LC_HOLDER_PROOF_INVALID, "proof.jwt", why ? why : "invalid");
    uint32_t gen = 0;
    e = pop_nonce_check(d->tracking_secret, app_id, p.nonce, now, &gen);
    if (e)
        return lc_set(fail, ECRED_ERR_INPUT, LC_HOLDER_NONCE_INVALID, "proof.nonce",
                      e == ECRED_ERR_EXPIRED ? "the c_nonce has expired: ask for a new one"
                                             : "not a c_nonce of this application");
    lc_bind_job job = {app_id, &p, gen, now, fail};
    if ((e = lc_run(db, lc_bind_body, &job, fail)) != ECRED_OK)
        return e;
    memcpy(x, p.x, 32);
    *y_sign = p.y_sign;
    return ECRED_OK;
}
