/*
 * reg_backends.h - runs a registry test's cases once per backend.
 *
 * ECRED_TEST_REGISTRIES lists the registries to test, separated by spaces:
 * "sqlite:" (the default) gives each case a fresh SQLite file in the test
 * tmp directory; any other URL is passed to the cases as is, and its backend
 * must start each case empty: a postgres:// URL names a scratch database
 * whose public schema is dropped and recreated before each case
 * (tests/pg/CMakeLists.txt gives each test its own database on the private
 * cluster of scripts/pg-test-cluster). A URL this build cannot open is
 * reported and skipped, not failed: the list may name a backend before it
 * is built.
 *
 * Must never: touch a database it was not given, or name a backend in a case.
 */
#ifndef ECRED_TEST_REG_BACKENDS_H
#define ECRED_TEST_REG_BACKENDS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

#ifdef ECRED_HAVE_PG
#include <libpq-fe.h>
#endif

typedef struct reg_case {
    const char *name;
    void (*run)(const char *url); /* reports through CHECK */
} reg_case;

/* The URL for one case on one backend: a fresh file for "sqlite:". */
static void reg_case_url(const char *backend, const char *test, const char *cname, char *out,
                         size_t cap)
{
    if (strcmp(backend, "sqlite:") != 0) {
#ifdef ECRED_HAVE_PG
        if (strncmp(backend, "postgres", 8) == 0) {
            /* Empty the scratch database: the case starts from no schema, so
             * the migrations run too. A failure shows up as the case's open
             * failing. */
            PGconn *c = PQconnectdb(backend);
            PGresult *r = PQexec(c, "SET client_min_messages = warning;"
                                    " DROP SCHEMA public CASCADE; CREATE SCHEMA public;");
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                printf("reset of the scratch database failed: %s", PQerrorMessage(c));
            PQclear(r);
            PQfinish(c);
        }
#endif
        snprintf(out, cap, "%s", backend);
        return;
    }
    static const char *const sides[] = {"", "-wal", "-shm"};
    char path[600];
    snprintf(path, sizeof path, "%s/%s-%s.sqlite", ECRED_TEST_TMP, test, cname);
    for (size_t i = 0; i < 3; i++) {
        char p[700];
        snprintf(p, sizeof p, "%s%s", path, sides[i]);
        unlink(p);
    }
    snprintf(out, cap, "sqlite:%s", path);
}

/* Run every case against every backend of ECRED_TEST_REGISTRIES. */
static void reg_run_cases(const char *test, const reg_case *cases, size_t n)
{
    const char *list = getenv("ECRED_TEST_REGISTRIES");
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list && *list ? list : "sqlite:");
    char *save = NULL;
    for (char *backend = strtok_r(buf, " ", &save); backend; backend = strtok_r(NULL, " ", &save)) {
        const char *why = reg_url_check(strcmp(backend, "sqlite:") == 0 ? "sqlite:x" : backend);
        if (why) {
            /* Scheme only in the message: a database URL may carry a password. */
            printf("SKIP backend %.*s: %s\n", (int)strcspn(backend, ":"), backend, why);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            char url[800];
            reg_case_url(backend, test, cases[i].name, url, sizeof url);
            printf("case %s on %.*s\n", cases[i].name, (int)strcspn(backend, ":"), backend);
            cases[i].run(url);
        }
    }
}

#endif
