/*
 * bench_util.h - timing helpers shared by the bench programs: CPU-time rates,
 * medians, and paired measurements (pipeline against a baseline, interleaved
 * in the same process so a noisy shared machine moves both alike).
 *
 * Every loop here is bounded by a CPU-time budget and an iteration cap; the
 * helpers never print except through bench_row, the one output format that
 * bench/run parses.
 */
#ifndef ECRED_BENCH_UTIL_H
#define ECRED_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"

/* One operation; returns 0 on success, non-zero aborts the measurement. */
typedef int (*bench_fn)(void *ctx);

typedef struct bench_opts {
    int reps;          /* repetitions; the median is reported (>= 1) */
    double seconds;    /* CPU-time budget of one timed run */
    uint64_t max_iters;/* hard cap on iterations of one timed run */
} bench_opts;

typedef struct bench_pair {
    double rate;          /* median ops/s of the measured function */
    double base_rate;     /* median ops/s of the baseline */
    double ratio;         /* median of the per-repetition ratios rate/base_rate */
    double ratio_min, ratio_max;
    int reps;
} bench_pair;

/* CPU seconds consumed by this process (one thread: "per second on one core"). */
double bench_cpu_now(void);
/* Wall-clock seconds (monotonic). */
double bench_wall_now(void);
/* Median of n values (sorts v in place); 0 for n == 0. */
double bench_median(double *v, size_t n);
/* Run fn batch at a time until the CPU budget or the cap is reached; ops/s,
 * or -1 if fn failed. */
double bench_rate(bench_fn fn, void *ctx, const bench_opts *o, uint64_t batch);
/* Measure fn against base o->reps times, alternating which goes first.
 * Returns 0, or -1 if either function failed. */
int bench_compare(bench_fn fn, void *ctx, bench_fn base, void *base_ctx, const bench_opts *o,
                  uint64_t batch, bench_pair *out);
/* Print one result row: "ROW|figure|value|unit|baseline|baseline value|ratio|spread|note"
 * (bench/run turns these into the table and RESULTS.md). */
void bench_row(const char *figure, double value, const char *unit, const char *baseline,
               double base_value, double ratio, const char *spread, const char *note);
/* Take argv[*i] if it is a common flag (--reps N, --seconds S), advancing *i
 * past its value: 1 if taken, 0 if not a common flag, -1 for a bad value. */
int bench_take_common(int argc, char **argv, int *i, bench_opts *o);
/* Print "PROG: what" and exit 1: a benchmark that cannot set up measures nothing. */
__attribute__((noreturn)) void bench_die(const char *prog, const char *what);
/* Read dir/rel (at most 1 MiB), exiting via bench_die when it cannot. */
ecred_buf bench_read_source(const char *prog, const char *dir, const char *rel);

#endif
