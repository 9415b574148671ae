/*
 * unit_list_index.c - status list builds read only the non-VALID entries
 * (issue 10): reg_list_entries returns exactly the suspended and revoked
 * entries of one list on every backend, and on SQLite the query's plan uses
 * the partial index credentials_nonvalid (EXPLAIN QUERY PLAN), not a scan of
 * the credentials table; on PostgreSQL the planner can use it (migration 3;
 * checked with sequential scans off, as 300 rows are too few to prefer it).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ecred/slist.h"
#include "reg_backends.h"
#include "registry.h"

#define N_CREDS 300

/* registry_sqlite.c's list-entries SQL, so the plan checked is the one run. */
extern const char reg_sq_list_entries_sql[];

/* What reg_list_entries reported: status by index, and how many. */
typedef struct seen {
    int status[N_CREDS];
    int n;
    int64_t bad;
} seen;

static ecred_err on_entry(void *ctx, int64_t idx, int status)
{
    seen *s = ctx;
    if (idx < 0 || idx >= N_CREDS)
        s->bad++;
    else
        s->status[idx] = status;
    s->n++;
    return ECRED_OK;
}

/* Insert credential n at (list_id, idx) in one write. */
static ecred_err insert_one(reg_db *db, int n, int64_t list_id, int64_t idx)
{
    ecred_err e = reg_begin_write(db);
    if (e)
        return e;
    reg_credential c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%016x", (unsigned)n);
    snprintf(c.application_id, sizeof c.application_id, "%016x", (unsigned)n);
    c.type = 1;
    snprintf(c.id_number, sizeof c.id_number, "11010519491231002X");
    c.list_id = list_id;
    c.idx = idx;
    c.qr_text = (char *)"RC1:TEST";
    c.credential_json = (char *)"{}";
    c.valid_until = 20000;
    c.issued_at = 1;
    if ((e = reg_credential_insert(db, &c)) == ECRED_OK)
        e = reg_commit(db);
    reg_rollback(db);
    return e;
}

/* Fill one list, change a few statuses, read the entries back. */
static void case_entries(const char *url)
{
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(url, &db), ECRED_OK);
    if (!db)
        return;
    int64_t list_id = 0, idx = 0;
    /* Open list 1 (reserving one position); the rows below take explicit
     * indices of it. */
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_index_allocate(db, &list_id, &idx), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);
    for (int i = 0; i < N_CREDS; i++)
        CHECK_ERR(insert_one(db, i, list_id, i), ECRED_OK);
    int want[N_CREDS];
    memset(want, 0, sizeof want);
    for (int i = 0; i < N_CREDS; i += 7) {
        int st = i % 2 ? ECRED_STATUS_SUSPENDED : ECRED_STATUS_INVALID;
        char id[32];
        snprintf(id, sizeof id, "%016x", (unsigned)i);
        CHECK_ERR(reg_begin_write(db), ECRED_OK);
        CHECK_ERR(reg_status_change(db, id, ECRED_STATUS_VALID, st, st == 1 ? "revoke" : "suspend", NULL, "t",
                                    100),
                  ECRED_OK);
        CHECK_ERR(reg_commit(db), ECRED_OK);
        want[i] = st;
    }
    /* One suspended and resumed again: VALID, so not listed. */
    CHECK_ERR(reg_begin_write(db), ECRED_OK);
    CHECK_ERR(reg_status_change(db, "0000000000000001", 0, 2, "suspend", NULL, "t", 101), ECRED_OK);
    CHECK_ERR(reg_status_change(db, "0000000000000001", 2, 0, "resume", NULL, "t", 102), ECRED_OK);
    CHECK_ERR(reg_commit(db), ECRED_OK);
    seen s;
    memset(&s, 0, sizeof s);
    CHECK_ERR(reg_list_entries(db, list_id, on_entry, &s), ECRED_OK);
    CHECK(s.bad == 0);
    CHECK(s.n == (N_CREDS + 6) / 7);
    CHECK(memcmp(s.status, want, sizeof want) == 0);
    reg_close(db);

    if (strncmp(url, "postgres", 8) == 0) {
#ifdef ECRED_HAVE_PG
        PGconn *c = PQconnectdb(url);
        PGresult *r = PQexec(c, "SET enable_seqscan = off;");
        PQclear(r);
        char q[160];
        snprintf(q, sizeof q, "EXPLAIN SELECT idx, status FROM credentials WHERE list_id = %lld AND status <> 0",
                 (long long)list_id);
        r = PQexec(c, q);
        char plan[2048] = "";
        for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); i++) {
            size_t n = strlen(plan);
            snprintf(plan + n, sizeof plan - n, "%s; ", PQgetvalue(r, i, 0));
        }
        PQclear(r);
        PQfinish(c);
        printf("list entries plan: %s\n", plan);
        CHECK(strstr(plan, "credentials_nonvalid") != NULL);
#endif
        return;
    }
    if (strncmp(url, "sqlite:", 7) != 0)
        return;
    /* The plan: a search of the partial index (covering: no table rows). */
    sqlite3 *h = NULL;
    CHECK(sqlite3_open_v2(url + 7, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    char sql[256];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", reg_sq_list_entries_sql);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK);
    char plan[1024] = "";
    while (st && sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        size_t n = strlen(plan);
        snprintf(plan + n, sizeof plan - n, "%s; ", d ? d : "");
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    printf("list entries plan: %s\n", plan);
    CHECK(strstr(plan, "USING COVERING INDEX credentials_nonvalid") != NULL);
    CHECK(strstr(plan, "SCAN") == NULL);
}

int main(void)
{
    static const reg_case cases[] = {
        {"entries", case_entries},
    };
    reg_run_cases("unit_list_index", cases, sizeof cases / sizeof cases[0]);
    return check_finish();
}
