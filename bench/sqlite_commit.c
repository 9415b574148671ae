/*
 * sqlite_commit.c - the durability baseline of the issuer load figure: bare
 * SQLite transactions (BEGIN IMMEDIATE; one INSERT of a row the size of an
 * issued credential; COMMIT) in WAL mode with synchronous=FULL, the issuer's
 * registry settings, in a fresh database under --dir (the same disk as the
 * issuer's data directory). With --threads N, N threads each with their own
 * connection commit concurrently, as the issuer's pool threads do.
 *
 * Output, one line on stdout (the loadgen format):
 *   LOAD|commits|errors|wall seconds|commits per second|p50 us|p99 us|max us
 *
 * Must never: touch any file but its own database under --dir, or run
 * unbounded (--seconds and --max both stop it).
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#define SC_THREADS_MAX 64
#define SC_MAX_COMMITS 1000000u

typedef struct sc_shared {
    const char *db_path;
    double t0, seconds;
    uint64_t max;
    pthread_mutex_t mu;
    uint64_t taken, done, errors; /* under mu */
    double *lat_us;               /* under mu; one per commit */
    double t_last;
} sc_shared;

/* Monotonic wall-clock seconds. */
static double sc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sc_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Open a connection with the registry's settings (issuer/registry.c); NULL on error. */
static sqlite3 *sc_open(const char *path)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, 10000);
    if (sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL) != SQLITE_OK) {
        sqlite3_close(h);
        return NULL;
    }
    return h;
}

/* One committer: claim a slot, run one transaction, record its latency, until the budget ends. */
static void *sc_worker(void *arg)
{
    sc_shared *s = arg;
    sqlite3 *h = sc_open(s->db_path);
    sqlite3_stmt *ins = NULL;
    /* ~1 KB: an issued credential row holds its QR text and credential JSON. */
    static char payload[1000];
    memset(payload, 'x', sizeof payload);
    if (!h || sqlite3_prepare_v2(h, "INSERT INTO t(payload) VALUES (?1)", -1, &ins, NULL) != SQLITE_OK) {
        pthread_mutex_lock(&s->mu);
        s->errors++;
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    for (;;) {
        pthread_mutex_lock(&s->mu);
        bool go = s->taken < s->max && sc_now() - s->t0 < s->seconds;
        if (go)
            s->taken++;
        pthread_mutex_unlock(&s->mu);
        if (!go)
            break;
        double t = sc_now();
        bool ok = sqlite3_exec(h, "BEGIN IMMEDIATE;", NULL, NULL, NULL) == SQLITE_OK &&
                  sqlite3_bind_text(ins, 1, payload, (int)sizeof payload, SQLITE_STATIC) == SQLITE_OK &&
                  sqlite3_step(ins) == SQLITE_DONE &&
                  sqlite3_exec(h, "COMMIT;", NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_reset(ins);
        if (!ok)
            sqlite3_exec(h, "ROLLBACK;", NULL, NULL, NULL);
        double e = sc_now();
        pthread_mutex_lock(&s->mu);
        if (ok) {
            s->lat_us[s->done++] = (e - t) * 1e6;
            s->t_last = e;
        } else {
            s->errors++;
        }
        pthread_mutex_unlock(&s->mu);
    }
out:
    sqlite3_finalize(ins);
    sqlite3_close(h);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned threads = 1;
    sc_shared s;
    memset(&s, 0, sizeof s);
    s.seconds = 2;
    s.max = 20000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0)
            dir = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--seconds") == 0)
            s.seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--max") == 0)
            s.max = strtoull(argv[i + 1], NULL, 10);
        else
            dir = NULL, argc = 0;
    }
    if (!dir || threads < 1 || threads > SC_THREADS_MAX || !(s.seconds > 0 && s.seconds <= 600) ||
        s.max < 1 || s.max > SC_MAX_COMMITS) {
        fprintf(stderr, "usage: sqlite_commit --dir D [--threads 1..64] [--seconds S] [--max N]\n");
        return 2;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/sqlite_commit.sqlite", dir);
    sqlite3 *h = sc_open(path);
    if (!h || sqlite3_exec(h, "CREATE TABLE IF NOT EXISTS t(id INTEGER PRIMARY KEY, payload TEXT);",
                           NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite_commit: cannot create %s\n", path);
        sqlite3_close(h);
        return 1;
    }
    s.db_path = path;
    s.lat_us = calloc((size_t)s.max, sizeof *s.lat_us);
    pthread_mutex_init(&s.mu, NULL);
    pthread_t tid[SC_THREADS_MAX];
    s.t0 = s.t_last = sc_now();
    unsigned started = 0;
    for (; s.lat_us && started < threads; started++)
        if (pthread_create(&tid[started], NULL, sc_worker, &s) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    sqlite3_close(h);
    if (!s.lat_us || started < threads) {
        fprintf(stderr, "sqlite_commit: out of memory or threads\n");
        return 1;
    }
    double wall = s.t_last - s.t0;
    qsort(s.lat_us, (size_t)s.done, sizeof *s.lat_us, sc_cmp_double);
    double p50 = 0, p99 = 0, mx = 0;
    if (s.done) {
        p50 = s.lat_us[(size_t)((double)(s.done - 1) * 0.50)];
        p99 = s.lat_us[(size_t)((double)(s.done - 1) * 0.99)];
        mx = s.lat_us[s.done - 1];
    }
    printf("LOAD|%llu|%llu|%.3f|%.1f|%.0f|%.0f|%.0f\n", (unsigned long long)s.done,
           (unsigned long long)s.errors, wall, wall > 0 ? (double)s.done / wall : 0.0, p50, p99, mx);
    free(s.lat_us);
    return s.done && !s.errors ? 0 : 1;
}
