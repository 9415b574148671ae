/*
 * sqlite_commit.c - the durability baseline of the issuer load figure: bare
 * SQLite transactions (BEGIN IMMEDIATE; one INSERT of a row the size of an
 * issued credential; COMMIT) in WAL mode with synchronous=FULL, the issuer's
 * registry settings, in a fresh database under --dir (the same disk as the
 * issuer's data directory). With --threads N, N threads each with their own
 * connection commit concurrently, as the issuer's pool threads did before
 * group commit.
 *
 * --batch MAX mirrors the daemon's group commit (issuer/registry_sqlite.c,
 * reg_pool_submit and reg_batch_run) so the 16-client issuer figure is
 * compared with a baseline that shares fsyncs the same way: each thread
 * queues its insert; whichever waiting thread finds no batch running leads
 * one, taking up to MAX queued inserts (the daemon's REG_BATCH_MAX is 64)
 * onto one writer connection: BEGIN IMMEDIATE, each insert in its own
 * SAVEPOINT, one COMMIT; every waiter is answered after that COMMIT. An
 * insert's latency runs from queueing to that answer, as an approval waits.
 * Like the registry (issuer/registry_sqlite.c) every connection prepares its
 * statements once, BEGIN/SAVEPOINT/COMMIT included, and SQLite's memory
 * statistics are off, so neither side parses SQL per transaction.
 *
 * Output, one line on stdout (the loadgen format plus the mean batch):
 *   LOAD|inserts|errors|wall seconds|inserts per second|p50 us|p99 us|max us|inserts per COMMIT
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
#define SC_BATCH_CAP 1024u

/* One queued insert: filled by the leader that runs it, read by its
 * submitter once done is set (both under queue_mu). */
typedef struct sc_item {
    bool done, ok;
    struct sc_item *next;
} sc_item;

typedef struct sc_shared {
    const char *db_path;
    double t0, seconds;
    uint64_t max;
    unsigned batch_max;           /* 0: every thread commits alone */
    pthread_mutex_t mu;
    uint64_t taken, done, errors; /* under mu */
    double *lat_us;               /* under mu; one per insert */
    double t_last;
    /* Group commit (batch_max > 0): the queue, whether a leader runs a
     * batch, and the one writer connection batches run on. */
    pthread_mutex_t queue_mu;
    pthread_cond_t queue_cv;
    sc_item *queue_head, *queue_tail; /* under queue_mu */
    bool leading;                     /* under queue_mu */
    uint64_t commits;                 /* under queue_mu; COMMITs that returned */
    struct sc_conn *writer;           /* the leader's alone while leading */
} sc_shared;

/* The statements a connection prepares once (see sc_conn_open). */
enum { SC_INS, SC_BEGIN, SC_COMMIT, SC_ROLLBACK, SC_SAVEPOINT, SC_RELEASE, SC_ROLLBACK_TO, SC_NSTMT };
static const char *const sc_sql[SC_NSTMT] = {
    "INSERT INTO t(payload) VALUES (?1)", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK",
    "SAVEPOINT sc_item", "RELEASE sc_item", "ROLLBACK TO sc_item",
};

typedef struct sc_conn {
    sqlite3 *h;
    sqlite3_stmt *st[SC_NSTMT];
} sc_conn;

/* ~1 KB: an issued credential row holds its QR text and credential JSON. */
static char sc_payload[1000];

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

/* Close c (any of its members may be NULL) and free it. */
static void sc_conn_close(sc_conn *c)
{
    if (!c)
        return;
    for (int i = 0; i < SC_NSTMT; i++)
        sqlite3_finalize(c->st[i]);
    sqlite3_close(c->h);
    free(c);
}

/* A connection with every statement of sc_sql prepared (the table must
 * exist); NULL on error. Free with sc_conn_close. */
static sc_conn *sc_conn_open(const char *path)
{
    sc_conn *c = calloc(1, sizeof *c);
    if (!c || !(c->h = sc_open(path))) {
        free(c);
        return NULL;
    }
    for (int i = 0; i < SC_NSTMT; i++) {
        if (sqlite3_prepare_v2(c->h, sc_sql[i], -1, &c->st[i], NULL) != SQLITE_OK) {
            sc_conn_close(c);
            return NULL;
        }
    }
    return c;
}

/* Step statement which of c once (no rows); true if it ran. */
static bool sc_run(sc_conn *c, int which)
{
    int rc = sqlite3_step(c->st[which]);
    sqlite3_reset(c->st[which]);
    return rc == SQLITE_DONE;
}

/* Insert one row on c; true on success. */
static bool sc_insert(sc_conn *c)
{
    sqlite3_stmt *ins = c->st[SC_INS];
    bool ok = sqlite3_bind_text(ins, 1, sc_payload, (int)sizeof sc_payload, SQLITE_STATIC) == SQLITE_OK &&
              sqlite3_step(ins) == SQLITE_DONE;
    sqlite3_reset(ins);
    return ok;
}

/* Run one batch on the writer as reg_batch_run does: BEGIN IMMEDIATE, each
 * insert in a savepoint, one COMMIT. An item is ok only if its insert
 * succeeded and the COMMIT returned. Called without queue_mu held. */
static void sc_batch_run(sc_shared *s, sc_item *batch)
{
    sc_conn *w = s->writer;
    bool broken = !sc_run(w, SC_BEGIN);
    for (sc_item *it = batch; it; it = it->next) {
        it->ok = false;
        if (broken)
            continue;
        if (!sc_run(w, SC_SAVEPOINT)) {
            broken = true;
            continue;
        }
        it->ok = sc_insert(w);
        bool undone = it->ok || sc_run(w, SC_ROLLBACK_TO);
        if (!undone || !sc_run(w, SC_RELEASE) || sqlite3_get_autocommit(w->h))
            broken = true;
    }
    if (!broken && sc_run(w, SC_COMMIT))
        return;
    if (!sqlite3_get_autocommit(w->h))
        sc_run(w, SC_ROLLBACK);
    for (sc_item *it = batch; it; it = it->next)
        it->ok = false;
}

/* Queue item and wait until a batch holding it is done, leading batches
 * whenever none runs (reg_pool_submit's policy). True if it committed. */
static bool sc_submit(sc_shared *s, sc_item *item)
{
    pthread_mutex_lock(&s->queue_mu);
    if (s->queue_tail)
        s->queue_tail->next = item;
    else
        s->queue_head = item;
    s->queue_tail = item;
    while (!item->done) {
        if (s->leading) {
            pthread_cond_wait(&s->queue_cv, &s->queue_mu);
            continue;
        }
        s->leading = true;
        sc_item *batch = s->queue_head, *last = batch;
        unsigned n = 1;
        while (last->next && n < s->batch_max) {
            last = last->next;
            n++;
        }
        s->queue_head = last->next;
        if (!s->queue_head)
            s->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&s->queue_mu);

        sc_batch_run(s, batch);

        pthread_mutex_lock(&s->queue_mu);
        bool committed = false;
        for (sc_item *it = batch; it; it = it->next) {
            it->done = true;
            committed = committed || it->ok;
        }
        if (committed)
            s->commits++;
        s->leading = false;
        pthread_cond_broadcast(&s->queue_cv);
    }
    bool ok = item->ok;
    pthread_mutex_unlock(&s->queue_mu);
    return ok;
}

/* One committer: claim a slot, run one transaction (alone, or queued into a
 * group commit), record its latency, until the budget ends. */
static void *sc_worker(void *arg)
{
    sc_shared *s = arg;
    sc_conn *c = NULL;
    /* Batched threads never touch a connection: the leader writes on the
     * shared writer, as the daemon's request threads hand writes over. */
    if (!s->batch_max && !(c = sc_conn_open(s->db_path))) {
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
        bool ok;
        if (s->batch_max) {
            sc_item item;
            memset(&item, 0, sizeof item);
            ok = sc_submit(s, &item);
        } else {
            ok = sc_run(c, SC_BEGIN) && sc_insert(c) && sc_run(c, SC_COMMIT);
            if (!ok && !sqlite3_get_autocommit(c->h))
                sc_run(c, SC_ROLLBACK);
            if (ok) {
                pthread_mutex_lock(&s->queue_mu);
                s->commits++;
                pthread_mutex_unlock(&s->queue_mu);
            }
        }
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
    sc_conn_close(c);
    return NULL;
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned threads = 1;
    unsigned long batch = 0;
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
        else if (strcmp(argv[i], "--batch") == 0)
            batch = strtoul(argv[i + 1], NULL, 10);
        else
            dir = NULL, argc = 0;
    }
    if (!dir || threads < 1 || threads > SC_THREADS_MAX || !(s.seconds > 0 && s.seconds <= 600) ||
        s.max < 1 || s.max > SC_MAX_COMMITS || batch > SC_BATCH_CAP) {
        fprintf(stderr, "usage: sqlite_commit --dir D [--threads 1..64] [--seconds S] [--max N] [--batch 0..1024]\n");
        return 2;
    }
    s.batch_max = (unsigned)batch;
    memset(sc_payload, 'x', sizeof sc_payload);
    /* As the registry: no global memory statistics (a mutex per malloc). */
    (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
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
    if (s.batch_max && !(s.writer = sc_conn_open(path))) {
        fprintf(stderr, "sqlite_commit: cannot open the writer connection on %s\n", path);
        sqlite3_close(h);
        return 1;
    }
    s.lat_us = calloc((size_t)s.max, sizeof *s.lat_us);
    pthread_mutex_init(&s.mu, NULL);
    pthread_mutex_init(&s.queue_mu, NULL);
    pthread_cond_init(&s.queue_cv, NULL);
    pthread_t tid[SC_THREADS_MAX];
    s.t0 = s.t_last = sc_now();
    unsigned started = 0;
    for (; s.lat_us && started < threads; started++)
        if (pthread_create(&tid[started], NULL, sc_worker, &s) != 0)
            break;
    for (unsigned i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
    sc_conn_close(s.writer);
    sqlite3_close(h);
    pthread_cond_destroy(&s.queue_cv);
    pthread_mutex_destroy(&s.queue_mu);
    pthread_mutex_destroy(&s.mu);
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
    printf("LOAD|%llu|%llu|%.3f|%.1f|%.0f|%.0f|%.0f|%.2f\n", (unsigned long long)s.done,
           (unsigned long long)s.errors, wall, wall > 0 ? (double)s.done / wall : 0.0, p50, p99, mx,
           s.commits ? (double)s.done / (double)s.commits : 0.0);
    free(s.lat_us);
    return s.done && !s.errors ? 0 : 1;
}
