/*
 * check.h - the whole test harness: counters, CHECK macros, helpers to read
 * test data. Each test file is one program; main() returns check_finish().
 * It prints "N passed, N failed" so a failure names itself in the log.
 */
#ifndef ECRED_CHECK_H
#define ECRED_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecred/buf.h"
#include "ecred/err.h"

static int check_passed, check_failed;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond) {                                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);  \
        }                                                                             \
    } while (0)

/* Compare two error codes and print both names on mismatch. */
#define CHECK_ERR(got, want)                                                          \
    do {                                                                              \
        ecred_err check_g_ = (got), check_w_ = (want);                                \
        if (check_g_ == check_w_) {                                                   \
            check_passed++;                                                           \
        } else {                                                                      \
            check_failed++;                                                           \
            fprintf(stderr, "%s:%d: %s: got %d (%s), want %d (%s)\n", __FILE__,       \
                    __LINE__, #got, (int)check_g_, ecred_err_name(check_g_),          \
                    (int)check_w_, ecred_err_name(check_w_));                         \
        }                                                                             \
    } while (0)

#define CHECK_MEM(a, b, n) CHECK(memcmp((a), (b), (n)) == 0)

static inline int check_finish(void)
{
    printf("%d passed, %d failed\n", check_passed, check_failed);
    return check_failed ? 1 : 0;
}

/* Read a test data file relative to the source tree; aborts the test on failure
 * (missing test data is a broken checkout, not a test result). */
static inline ecred_buf check_read_source_file(const char *rel)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", ECRED_SOURCE_DIR, rel);
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_read_file(path, (size_t)64 << 20, &b) != ECRED_OK) {
        fprintf(stderr, "cannot read test data %s\n", path);
        exit(2);
    }
    ecred_buf_terminate(&b);
    return b;
}

/* Decode a hex string (whitespace ignored) into a buffer; aborts on bad hex. */
static inline ecred_buf check_hex(const char *hex)
{
    ecred_buf b = ECRED_BUF_INIT;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        int v;
        if (*p >= '0' && *p <= '9') v = *p - '0';
        else if (*p >= 'a' && *p <= 'f') v = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') v = *p - 'A' + 10;
        else if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') continue;
        else { fprintf(stderr, "bad hex in test data\n"); exit(2); }
        if (hi < 0) { hi = v; continue; }
        uint8_t byte = (uint8_t)(hi << 4 | v);
        ecred_buf_append(&b, &byte, 1);
        hi = -1;
    }
    if (hi >= 0) { fprintf(stderr, "odd hex in test data\n"); exit(2); }
    return b;
}

/* The error a vector file names (ecred_err_name); aborts on an unknown name
 * (bad test data is a broken checkout, not a test result). */
static inline ecred_err check_err_named(const char *name)
{
    ecred_err e;
    if (ecred_err_from_name(name, &e) != ECRED_OK) {
        fprintf(stderr, "unknown error name in test data: %s\n", name);
        exit(2);
    }
    return e;
}

/* Next line of a NUL-terminated text, cut in place; NULL at the end. Strips a
 * trailing CR. */
static inline char *check_next_line(char **cursor)
{
    char *line = *cursor;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = 0;
        *cursor = nl + 1;
    } else {
        *cursor = line + strlen(line);
    }
    size_t n = strlen(line);
    if (n && line[n - 1] == '\r')
        line[n - 1] = 0;
    return line;
}

/* A buffer pre-filled with known bytes, to prove a failing call left it alone. */
typedef struct check_sentinel {
    ecred_buf buf;
    uint8_t *ptr;
    size_t len, cap;
} check_sentinel;

static inline void check_sentinel_init(check_sentinel *s)
{
    ecred_buf b = ECRED_BUF_INIT;
    s->buf = b;
    if (ecred_buf_set(&s->buf, "sentinel", 8) != ECRED_OK) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    s->ptr = s->buf.ptr;
    s->len = s->buf.len;
    s->cap = s->buf.cap;
}

static inline int check_sentinel_intact(const check_sentinel *s)
{
    return s->buf.ptr == s->ptr && s->buf.len == s->len && s->buf.cap == s->cap &&
           memcmp(s->buf.ptr, "sentinel", 8) == 0;
}

#endif
