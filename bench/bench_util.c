/*
 * bench_util.c - timing, medians and the row format of the bench programs.
 * Measures CPU time rather than wall time: the machine is shared, and a
 * descheduled benchmark should not look slower than it is.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double bench_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_rate(bench_fn fn, void *ctx, const bench_opts *o, uint64_t batch)
{
    uint64_t done = 0;
    double t0 = bench_cpu_now(), t = t0;
    /* Check the clock once per batch: cheap operations are timed in bulk so
     * clock_gettime does not dominate them. */
    while (t - t0 < o->seconds && done < o->max_iters) {
        for (uint64_t i = 0; i < batch; i++)
            if (fn(ctx) != 0)
                return -1;
        done += batch;
        t = bench_cpu_now();
    }
    return t > t0 ? (double)done / (t - t0) : 0;
}

int bench_compare(bench_fn fn, void *ctx, bench_fn base, void *base_ctx, const bench_opts *o,
                  uint64_t batch, bench_pair *out)
{
    enum { MAX_REPS = 64 };
    double rates[MAX_REPS], bases[MAX_REPS], ratios[MAX_REPS];
    int reps = o->reps < 1 ? 1 : o->reps > MAX_REPS ? MAX_REPS : o->reps;
    /* One untimed warm-up of each so caches, lazy fetches and the allocator
     * are in steady state before the first timed run. */
    bench_opts warm = {1, o->seconds / 4, o->max_iters};
    if (bench_rate(fn, ctx, &warm, batch) < 0 || bench_rate(base, base_ctx, &warm, batch) < 0)
        return -1;
    for (int r = 0; r < reps; r++) {
        double a, b;
        if (r % 2) {
            b = bench_rate(base, base_ctx, o, batch);
            a = bench_rate(fn, ctx, o, batch);
        } else {
            a = bench_rate(fn, ctx, o, batch);
            b = bench_rate(base, base_ctx, o, batch);
        }
        if (a < 0 || b <= 0)
            return -1;
        rates[r] = a;
        bases[r] = b;
        ratios[r] = a / b;
    }
    double lo = ratios[0], hi = ratios[0];
    for (int r = 1; r < reps; r++) {
        lo = ratios[r] < lo ? ratios[r] : lo;
        hi = ratios[r] > hi ? ratios[r] : hi;
    }
    out->rate = bench_median(rates, (size_t)reps);
    out->base_rate = bench_median(bases, (size_t)reps);
    out->ratio = bench_median(ratios, (size_t)reps);
    out->ratio_min = lo;
    out->ratio_max = hi;
    out->reps = reps;
    return 0;
}

void bench_row(const char *figure, double value, const char *unit, const char *baseline,
               double base_value, double ratio, const char *spread, const char *note)
{
    printf("ROW|%s|%.6g|%s|%s|%.6g|%.3f|%s|%s\n", figure, value, unit, baseline, base_value, ratio,
           spread ? spread : "", note ? note : "");
    fflush(stdout);
}

int bench_take_common(int argc, char **argv, int *i, bench_opts *o)
{
    char *end = NULL;
    if (*i + 1 >= argc)
        return 0;
    if (strcmp(argv[*i], "--reps") == 0) {
        long v = strtol(argv[*i + 1], &end, 10);
        if (*end || v < 1 || v > 64)
            return -1;
        o->reps = (int)v;
    } else if (strcmp(argv[*i], "--seconds") == 0) {
        double v = strtod(argv[*i + 1], &end);
        if (*end || !(v > 0) || v > 60)
            return -1;
        o->seconds = v;
    } else {
        return 0;
    }
    *i += 1;
    return 1;
}

void bench_die(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s\n", prog, what);
    exit(1);
}

ecred_buf bench_read_source(const char *prog, const char *dir, const char *rel)
{
    char path[4096];
    ecred_buf b = ECRED_BUF_INIT;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, rel) >= sizeof path ||
        ecred_read_file(path, 1 << 20, &b) != ECRED_OK) {
        fprintf(stderr, "%s: cannot read %s\n", prog, path);
        exit(1);
    }
    return b;
}
