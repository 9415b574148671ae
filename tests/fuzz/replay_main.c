/*
 * replay_main.c - runs stored fuzz inputs through a harness without libFuzzer,
 * so any compiler's build (gcc with ASan+UBSan in CI) replays the corpus and
 * every regression input as an ordinary test.
 *
 * Arguments are files or directories (one level, every regular file in it).
 * A missing directory is skipped: a target may have no regressions yet. A
 * crash, a sanitizer report or a failed property aborts the process, which is
 * the test failing; reading errors fail it too.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecred/buf.h"
#include "fuzz_common.h"

/* Inputs larger than this are not replayed: libFuzzer runs use -max_len well below. */
#define REPLAY_MAX ((size_t)8 << 20)

/* Feed one file to the harness; 0 on success, -1 if unreadable. */
static int replay_file(const char *path)
{
    ecred_buf b = ECRED_BUF_INIT;
    if (ecred_read_file(path, REPLAY_MAX, &b) != ECRED_OK) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    /* An exact-size heap copy, so ASan sees any read past the input's end. */
    uint8_t *copy = malloc(b.len ? b.len : 1);
    if (copy == NULL) {
        ecred_buf_free(&b);
        return -1;
    }
    if (b.len)
        memcpy(copy, b.ptr, b.len);
    (void)LLVMFuzzerTestOneInput(copy, b.len);
    free(copy);
    ecred_buf_free(&b);
    return 0;
}

/* Replay every regular file directly in dir; counts them into *n. */
static int replay_dir(const char *dir, size_t *n)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    int rc = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char path[4096];
        int w = snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        struct stat st;
        if (w < 0 || (size_t)w >= sizeof path || stat(path, &st) != 0) {
            rc = -1;
            continue;
        }
        if (!S_ISREG(st.st_mode))
            continue;
        if (replay_file(path) != 0)
            rc = -1;
        (*n)++;
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    size_t n = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(argv[i]) != 0)
                rc = 1;
            n++;
        } else if (replay_dir(argv[i], &n) != 0) {
            rc = 1;
        }
    }
    printf("replayed %zu inputs\n", n);
    return rc;
}
