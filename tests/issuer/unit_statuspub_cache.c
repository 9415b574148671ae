/*
 * unit_statuspub_cache.c - a full-size status list is served from its stored
 * token until the list changes (issue 10: ETags that change only when the
 * list does). A list of REG_LIST_SIZE_DEFAULT entries with a few % not
 * valid makes a token larger than 4 KiB, which the freshness check once
 * decoded under the small CBOR limits and so rebuilt and re-signed on every
 * request (bench/city.sh: a new ETag per GET, 21 ms each). Runs on every
 * backend of ECRED_TEST_REGISTRIES.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/crypto.h"
#include "ecred/slist.h"
#include "reg_backends.h"
#include "registry.h"
#include "statuspub.h"

#define N_SUSPENDED 4000 /* ~3 % of a default list: a token of ~5 KiB */

/* Insert N_SUSPENDED suspended credentials at allocated indices in one write. */
static ecred_err fill(reg_db *db, int64_t *list_id)
{
    ecred_err e = reg_begin_write(db);
    for (int n = 0; !e && n < N_SUSPENDED; n++) {
        reg_credential c;
        memset(&c, 0, sizeof c);
        snprintf(c.id, sizeof c.id, "%016x", (unsigned)n);
        snprintf(c.application_id, sizeof c.application_id, "%016x", (unsigned)n);
        c.type = 1;
        snprintf(c.id_number, sizeof c.id_number, "11010519491231002X");
        c.status = ECRED_STATUS_SUSPENDED;
        c.qr_text = (char *)"RC1:TEST";
        c.credential_json = (char *)"{}";
        c.valid_until = 20000;
        c.issued_at = 1;
        if (!(e = reg_index_allocate(db, &c.list_id, &c.idx)))
            e = reg_credential_insert(db, &c);
        *list_id = c.list_id;
    }
    if (e) {
        reg_rollback(db);
        return e;
    }
    return reg_commit(db);
}

/* reg_write body: resume credential 0 (the list's generation moves). */
static ecred_err resume_one(reg_db *db, void *ctx)
{
    (void)ctx;
    return reg_status_change(db, "0000000000000000", ECRED_STATUS_SUSPENDED, ECRED_STATUS_VALID, "resume",
                             NULL, "officer", 1000);
}

static void case_cache(const char *url)
{
    reg_db *db = NULL;
    ecred_key *key = NULL;
    statuspub *pub = NULL;
    ecred_buf a = ECRED_BUF_INIT, b = ECRED_BUF_INIT, c = ECRED_BUF_INIT;
    char ea[STATUSPUB_ETAG_MAX], eb[STATUSPUB_ETAG_MAX], ec[STATUSPUB_ETAG_MAX];
    int64_t list_id = 0;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &key), ECRED_OK);
    if (!db || !key)
        goto out;
    CHECK_ERR(statuspub_new(key, "http://127.0.0.1:1", 300, 86400, &pub), ECRED_OK);
    CHECK_ERR(fill(db, &list_id), ECRED_OK);
    if (!pub || list_id <= 0)
        goto out;
    const int64_t now = 1800000000;
    CHECK_ERR(statuspub_get(pub, db, list_id, now, &a, ea), ECRED_OK);
    printf("token of a %u-entry list with %d suspended: %zu bytes\n", REG_LIST_SIZE_DEFAULT, N_SUSPENDED, a.len);
    CHECK(a.len > 4096); /* over the small CBOR limit the bug tripped on */
    /* Same generation, inside the ttl: the stored bytes, not a new signature. */
    CHECK_ERR(statuspub_get(pub, db, list_id, now + 1, &b, eb), ECRED_OK);
    CHECK(strcmp(ea, eb) == 0);
    CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
    /* A change: a new token and ETag at once. */
    bool fn_failed = false;
    CHECK_ERR(reg_write(db, resume_one, NULL, &fn_failed), ECRED_OK);
    CHECK_ERR(statuspub_get(pub, db, list_id, now + 2, &c, ec), ECRED_OK);
    CHECK(strcmp(ea, ec) != 0);
out:
    ecred_buf_free(&a);
    ecred_buf_free(&b);
    ecred_buf_free(&c);
    statuspub_free(pub);
    ecred_key_free(key);
    reg_close(db);
}

int main(void)
{
    static const reg_case cases[] = {
        {"cache", case_cache},
    };
    reg_run_cases("unit_statuspub_cache", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
