/*
 * slist_dump.c - test helper: verify a status list token (CWT form) with a
 * public key and print what the CLI tests check bit by bit.
 *
 *   slist_dump TOKEN_FILE PUBKEY_PEM [IDX ...]
 *   slist_dump TOKEN_FILE PUBKEY_PEM iat      (prints only "iat T")
 *
 * Prints "uri URI", "bits B", "count N", "ttl T", "lifetime S", then one
 * "IDX VALUE" line per requested index, or for every non-zero entry when no
 * index is given. Exit 0 on success, 1 when the token does not verify or an
 * index is out of range, 2 on usage errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/slist.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: slist_dump TOKEN_FILE PUBKEY_PEM [IDX ...]\n");
        return 2;
    }
    ecred_buf tok = ECRED_BUF_INIT;
    ecred_key *key = NULL;
    ecred_slist_token t;
    memset(&t, 0, sizeof t);
    int rc = 1;
    ecred_err e = ecred_read_file(argv[1], ECRED_SLIST_TOKEN_MAX, &tok);
    if (!e)
        e = ecred_key_public_load(argv[2], &key);
    if (!e)
        e = ecred_slist_token_verify(tok.ptr, tok.len, key, (int64_t)time(NULL), &t);
    if (e) {
        fprintf(stderr, "slist_dump: %s\n", ecred_err_message(e));
        goto out;
    }
    if (argc == 4 && strcmp(argv[3], "iat") == 0) {
        printf("iat %lld\n", (long long)t.iat);
        rc = 0;
        goto out;
    }
    printf("uri %s\nbits %u\ncount %zu\nttl %lld\nlifetime %lld\n", t.uri, t.list.bits, t.list.count,
           (long long)t.ttl, (long long)(t.exp - t.iat));
    if (argc == 3) {
        for (size_t i = 0; i < t.list.count; i++) {
            unsigned v = 0;
            ecred_slist_get(&t.list, i, &v);
            if (v)
                printf("%zu %u\n", i, v);
        }
    }
    for (int a = 3; a < argc; a++) {
        char *end = NULL;
        unsigned long long idx = strtoull(argv[a], &end, 10);
        unsigned v = 0;
        if (!*argv[a] || *end || ecred_slist_get(&t.list, (size_t)idx, &v) != ECRED_OK) {
            fprintf(stderr, "slist_dump: index %s out of range\n", argv[a]);
            goto out;
        }
        printf("%llu %u\n", idx, v);
    }
    rc = 0;
out:
    ecred_slist_free(&t.list);
    ecred_key_free(key);
    ecred_buf_free(&tok);
    return rc;
}
