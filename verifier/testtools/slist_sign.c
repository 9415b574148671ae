/*
 * slist_sign.c - test helper: sign a status list token, so the CLI tests can
 * serve good, expired, wrongly signed or mislabelled lists from static files.
 *
 *   verifier_slist_sign KEY URI OUT [--count N] [--iat T] [--exp T] [--ttl S]
 *                       [--set IDX=VALUE ...]
 *
 * T are seconds since the epoch, or +S/-S relative to now; defaults: iat now,
 * exp iat+86400, ttl 300, count 131072. Exit 0 ok, 1 failure, 2 usage.
 * Must never: be installed or used outside tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/slist.h"

/* Strict integer, optionally "+N"/"-N" relative to now. */
static int parse_time(const char *s, int64_t now, int64_t *out)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end)
        return -1;
    *out = (s[0] == '+' || s[0] == '-') ? now + v : v;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: verifier_slist_sign KEY URI OUT [--count N] [--iat T] [--exp T] [--ttl S] [--set IDX=V ...]\n");
        return 2;
    }
    int64_t now = (int64_t)time(NULL);
    ecred_slist_token t;
    memset(&t, 0, sizeof t);
    int64_t count = (int64_t)ECRED_SLIST_MIN_ENTRIES;
    t.iat = now;
    t.exp = -1;
    t.ttl = 300;
    snprintf(t.uri, sizeof t.uri, "%s", argv[2]);
    for (int i = 4; i < argc; i++) {
        if (i + 1 >= argc)
            return 2;
        const char *a = argv[i], *v = argv[++i];
        int bad = 0;
        if (strcmp(a, "--count") == 0)
            bad = parse_time(v, 0, &count);
        else if (strcmp(a, "--iat") == 0)
            bad = parse_time(v, now, &t.iat);
        else if (strcmp(a, "--exp") == 0)
            bad = parse_time(v, now, &t.exp);
        else if (strcmp(a, "--ttl") == 0)
            bad = parse_time(v, 0, &t.ttl);
        else if (strcmp(a, "--set") != 0)
            bad = 1;
        if (bad) {
            fprintf(stderr, "verifier_slist_sign: bad %s %s\n", a, v);
            return 2;
        }
    }
    if (t.exp < 0)
        t.exp = t.iat + 86400;
    ecred_key *key = NULL;
    ecred_buf out = ECRED_BUF_INIT;
    int rc = 1;
    ecred_err e = ecred_key_private_load(argv[1], &key);
    if (!e)
        e = ecred_slist_init(&t.list, ECRED_SLIST_BITS, (size_t)count);
    for (int i = 4; !e && i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--set") != 0)
            continue;
        unsigned long long idx = 0;
        unsigned val = 0;
        if (sscanf(argv[i + 1], "%llu=%u", &idx, &val) != 2) {
            fprintf(stderr, "verifier_slist_sign: --set IDX=VALUE\n");
            rc = 2;
            goto out;
        }
        e = ecred_slist_set(&t.list, (size_t)idx, val);
    }
    if (!e)
        e = ecred_slist_token_sign(key, &t, &out);
    if (!e)
        e = ecred_write_file_atomic(argv[3], out.ptr, out.len, 0644);
    if (e) {
        fprintf(stderr, "verifier_slist_sign: %s\n", ecred_err_message(e));
        goto out;
    }
    rc = 0;
out:
    ecred_slist_free(&t.list);
    ecred_buf_free(&out);
    ecred_key_free(key);
    return rc;
}
