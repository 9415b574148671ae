/*
 * city_fill.c - fill an issuer registry to city scale for bench/city.sh:
 * LISTS status lists of SIZE entries (the last one only PCT % full), written
 * DIRECTLY through the registry API (reg_open_url, reg_begin_write/reg_commit
 * in big batches, reg_index_allocate, reg_credential_insert,
 * reg_status_change), not through HTTP, so it is correct for every backend
 * and for the schema as it stands.
 *
 * Rows are realistic where the benchmark reads them (list, index from the
 * list's secret permutation, status, id, id number, dates) and placeholders
 * where it does not: qr_text and credential_json are short stand-ins (about
 * 40 bytes, not ~1 KB), no application rows are written and the audit log
 * is not filled (reg_audit_disable_for_bench), so the file stays a few GB.
 * About PERMILLE / 1000 of the entries are suspended or revoked with
 * reg_status_change (events and list generation as the daemon writes them),
 * spread uniformly over every list.
 *
 * Ids are "c1" + 14 hex digits of a counter (credentials) and "a1" + ...
 * (their application ids), so inserts append to the id indices; the daemon's
 * random ids never collide in practice (64 random bits).
 *
 * Output: one line on stdout, "FILL|credentials|non-valid|seconds|rows/s";
 * progress on stderr. Must never: open anything but the registry at --registry,
 * or run unbounded (--max-seconds stops it, with exit 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/err.h"
#include "ecred/slist.h"
#include "registry.h"

#define FILL_BATCH_DEFAULT 20000u

typedef struct fill_opts {
    const char *registry;
    const char *prefix;     /* status URI prefix the daemon will use ("" none) */
    uint32_t lists;         /* lists in all, the last one partly full */
    uint32_t size;          /* entries per list */
    double last_pct;        /* how full the last list is, percent */
    uint32_t permille;      /* non-VALID entries per 1000 */
    uint32_t batch;         /* credentials per transaction */
    double max_seconds;     /* give up (exit 1) after this long */
} fill_opts;

/* Wall-clock seconds (monotonic). */
static double fill_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64*: which entries become non-VALID. Not a secret (the benchmark's
 * choice of suspended entries), so no CSPRNG is needed. */
static uint64_t fill_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Print why and exit 1: a fill that fails leaves nothing worth measuring. */
__attribute__((noreturn)) static void fill_die(const char *what, ecred_err e)
{
    fprintf(stderr, "city_fill: %s: %s\n", what, e ? ecred_err_message(e) : "failed");
    exit(1);
}

/* Parse a positive number into *out within [lo, hi]; false when it is not one. */
static bool fill_num(const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Options from argv; exits 2 with the usage on anything else. */
static void fill_args(int argc, char **argv, fill_opts *o)
{
    *o = (fill_opts){NULL, "", 80, REG_LIST_SIZE_DEFAULT, 95.0, 25, FILL_BATCH_DEFAULT, 600.0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double d = 0;
        bool ok = v != NULL;
        if (ok && strcmp(a, "--registry") == 0)
            o->registry = v;
        else if (ok && strcmp(a, "--prefix") == 0)
            o->prefix = v;
        else if (ok && strcmp(a, "--lists") == 0 && (ok = fill_num(v, 1, 1000, &d)))
            o->lists = (uint32_t)d;
        else if (ok && strcmp(a, "--list-size") == 0 && (ok = fill_num(v, 64, ECRED_SLIST_MAX_ENTRIES, &d)))
            o->size = (uint32_t)d;
        else if (ok && strcmp(a, "--last-pct") == 0 && (ok = fill_num(v, 0, 100, &d)))
            o->last_pct = d;
        else if (ok && strcmp(a, "--permille") == 0 && (ok = fill_num(v, 0, 1000, &d)))
            o->permille = (uint32_t)d;
        else if (ok && strcmp(a, "--batch") == 0 && (ok = fill_num(v, 1, 1e6, &d)))
            o->batch = (uint32_t)d;
        else if (ok && strcmp(a, "--max-seconds") == 0 && (ok = fill_num(v, 1, 86400, &d)))
            o->max_seconds = d;
        else
            ok = false;
        if (!ok) {
            fprintf(stderr, "usage: city_fill --registry URL [--prefix URI] [--lists N] [--list-size N]\n"
                            "                 [--last-pct P] [--permille N] [--batch N] [--max-seconds S]\n");
            exit(2);
        }
        i++;
    }
    if (!o->registry) {
        fprintf(stderr, "city_fill: --registry URL is required\n");
        exit(2);
    }
}

int main(int argc, char **argv)
{
    fill_opts o;
    fill_args(argc, argv, &o);
    const char *why = reg_url_check(o.registry);
    if (why) {
        fprintf(stderr, "city_fill: %s\n", why);
        return 2;
    }
    reg_db *db = NULL;
    ecred_err e = reg_open_url(o.registry, &db);
    if (e)
        fill_die("opening the registry", e);
    reg_set_list_size(db, o.size);
    if (o.prefix[0])
        reg_set_status_prefix(db, o.prefix);
    /* Benchmark rows, not issuance: the audit log is left as it is. */
    reg_audit_disable_for_bench();

    const uint64_t total = (uint64_t)(o.lists - 1) * o.size + (uint64_t)((double)o.size * o.last_pct / 100.0);
    const int64_t now = (int64_t)time(NULL);
    const int32_t today = (int32_t)(now / 86400);
    uint64_t seed = 0x9e3779b97f4a7c15ull, nonvalid = 0;
    char qr[64] = "HC1:city-fill-placeholder";
    char json[] = "{\"bench\":\"city_fill\"}";
    const double t0 = fill_now();
    uint64_t done = 0;
    while (done < total) {
        if ((e = reg_begin_write(db)) != ECRED_OK)
            fill_die("BEGIN", e);
        uint64_t end = done + o.batch < total ? done + o.batch : total;
        for (; done < end; done++) {
            reg_credential c;
            memset(&c, 0, sizeof c);
            /* The masks bound the digits (and tell the compiler so):
             * total never comes near 2^56 or 10^17. */
            const uint64_t hex14 = done & 0xffffffffffffffull, dec17 = done % 100000000000000000ull;
            snprintf(c.id, sizeof c.id, "c1%014" PRIx64, hex14);
            snprintf(c.application_id, sizeof c.application_id, "a1%014" PRIx64, hex14);
            snprintf(c.id_number, sizeof c.id_number, "9%017" PRIu64, dec17);
            c.type = 2;
            c.status = ECRED_STATUS_VALID;
            c.qr_text = qr;
            c.credential_json = json;
            /* Expiry and endorsement days spread over five years in insert
             * order, so those indices append as the id indices do. */
            c.valid_until = today + 30 + (int32_t)(done * 1825 / total);
            c.endorsement_date = today + 15 + (int32_t)(done * 365 / total);
            c.issued_at = now - (int64_t)(total - done);
            if ((e = reg_index_allocate(db, &c.list_id, &c.idx)) != ECRED_OK)
                fill_die("reg_index_allocate", e);
            if ((e = reg_credential_insert(db, &c)) != ECRED_OK)
                fill_die("reg_credential_insert", e);
            if (fill_rand(&seed) % 1000 < o.permille) {
                /* Four suspensions to one revocation, as a city's mix might be. */
                bool revoke = fill_rand(&seed) % 5 == 0;
                e = reg_status_change(db, c.id, ECRED_STATUS_VALID,
                                      revoke ? ECRED_STATUS_INVALID : ECRED_STATUS_SUSPENDED,
                                      revoke ? "revoke" : "suspend", revoke ? "bench: city fill" : NULL,
                                      "officer", now);
                if (e)
                    fill_die("reg_status_change", e);
                nonvalid++;
            }
        }
        if ((e = reg_commit(db)) != ECRED_OK)
            fill_die("COMMIT", e);
        double el = fill_now() - t0;
        if (done % ((uint64_t)o.batch * 25) == 0 || done == total)
            fprintf(stderr, "city_fill: %" PRIu64 " / %" PRIu64 " credentials, %.0f s, %.0f rows/s\n", done,
                    total, el, (double)done / el);
        if (el > o.max_seconds) {
            fprintf(stderr, "city_fill: stopped after %.0f s at %" PRIu64 " of %" PRIu64 " (--max-seconds)\n",
                    el, done, total);
            reg_close(db);
            return 1;
        }
    }
    double el = fill_now() - t0;
    printf("FILL|%" PRIu64 "|%" PRIu64 "|%.1f|%.0f\n", total, nonvalid, el, (double)total / (el > 0 ? el : 1));
    reg_close(db);
    return 0;
}
