/*
 * vd_keycmd.c - `ecred-verifierd key add|list|remove`: manage DIR/api-keys
 * from the command line (spec/verifier.md section 5.2). A running daemon
 * sees the change within a second (vd_keys.c).
 *
 * Must never: print a key except the one just made, once, on stdout; store
 * a key (apikeys.c keeps only its SHA-256).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apikeys.h"
#include "cache.h"
#include "ecred/buf.h"
#include "roles.h"
#include "vd_main.h"

/* What key add takes besides --cache (NULL members for the other commands). */
typedef struct key_add_opts {
    const char *role, *fields, *holder, *label, *expires;
} key_add_opts;

/* The options of the key subcommands (argv[0] is the subcommand's name):
 * --cache, and --role/--fields/--holder/--label/--expires-in where `add` is
 * given. Returns -1 to go on, or the exit code (0 after --help). Options may
 * be given once each. */
static int key_opts(int argc, char **argv, key_add_opts *add, const char *help, const char **dir)
{
    static const struct option opts[] = {
        {"cache", required_argument, NULL, 'c'}, {"role", required_argument, NULL, 'r'},
        {"fields", required_argument, NULL, 'f'}, {"holder", required_argument, NULL, 'H'},
        {"label", required_argument, NULL, 'l'}, {"expires-in", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char **slot = c == 'c'          ? dir
                             : !add         ? NULL
                             : c == 'r'     ? &add->role
                             : c == 'f'     ? &add->fields
                             : c == 'H'     ? &add->holder
                             : c == 'l'     ? &add->label
                             : c == 'e'     ? &add->expires
                                            : NULL;
        if (c == 'h') {
            printf("usage: ecred-verifierd key %s\n", help);
            return 0;
        }
        if (c == ':') {
            fprintf(stderr, "ecred-verifierd: option %s needs a value\n", argv[optind - 1]);
            return 2;
        }
        if (!slot) {
            fprintf(stderr, "ecred-verifierd: unknown option %s (usage: key %s)\n", argv[optind - 1], help);
            return 2;
        }
        if (*slot) {
            fprintf(stderr, "ecred-verifierd: option %s given twice\n", argv[optind - 1]);
            return 2;
        }
        *slot = optarg;
    }
    return -1;
}

/* key add --cache DIR --role ROLE [--fields a,b,c] [--holder SETTING]
 * [--label TEXT] [--expires-in DAYS]: print a new key once; exit 2 for a
 * usage error, 1 when the file cannot be written. */
int vd_cmd_key_add(int argc, char **argv)
{
    const char *dir = NULL;
    key_add_opts ao = {NULL, NULL, NULL, NULL, NULL};
    int rc = key_opts(argc, argv, &ao,
                      "add --cache DIR --role police|landlord|agency [--fields a,b,c] "
                      "[--holder optional|required|challenge] [--label TEXT] [--expires-in DAYS]",
                      &dir);
    if (rc >= 0)
        return rc;
    const char *role_s = ao.role, *fields = ao.fields, *holder = ao.holder, *label = ao.label,
               *expires = ao.expires;
    if (optind != argc) {
        fprintf(stderr, "ecred-verifierd: key add takes no argument %s\n", argv[optind]);
        return 2;
    }
    vrole role;
    if (!dir || !role_s || vrole_parse(role_s, &role) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: key add needs --cache DIR and --role police|landlord|agency\n");
        return 2;
    }
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    char bad[80];
    if (role == VROLE_AGENCY && (!fields || vroles_check_fields(fields, bad, sizeof bad) != ECRED_OK)) {
        fprintf(stderr, "ecred-verifierd: the agency role needs --fields a,b,c of known fields%s%s (see --help)\n",
                fields ? "; unknown: " : "", fields ? bad : "");
        return 2;
    }
    if (role != VROLE_AGENCY && fields) {
        fprintf(stderr, "ecred-verifierd: --fields is for the agency role only\n");
        return 2;
    }
    ecred_holder_policy pol;
    if (holder && ecred_present_policy(role_s, holder, &pol) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: --holder is optional, required or challenge%s\n",
                role == VROLE_POLICE ? " (police: required or challenge)" : "");
        return 2;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ecred-verifierd: cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    long long days = 0;
    if (expires) {
        char *end = NULL;
        errno = 0;
        days = strtoll(expires, &end, 10);
        if (errno || !end || *end || expires[0] < '0' || expires[0] > '9' || days < 1 || days > 3660) {
            fprintf(stderr, "ecred-verifierd: --expires-in takes 1..3660 days\n");
            return 2;
        }
    }
    if (label && (strlen(label) > VKEY_LABEL_MAX || strcmp(label, "-") == 0)) {
        fprintf(stderr, "ecred-verifierd: --label takes 1..%d printable bytes\n", VKEY_LABEL_MAX);
        return 2;
    }
    char key[VKEY_TEXT_LEN + 1], id[9];
    int64_t exp = days ? (int64_t)time(NULL) + (int64_t)days * 86400 : 0;
    ecred_err e = vkeys_add_full(dir, role, fields, holder, label, exp, key, id);
    if (e == ECRED_ERR_INPUT) {
        fprintf(stderr, "ecred-verifierd: --label must be printable text without control characters"
                        " (and not start with holder=)\n");
        return 2;
    }
    if (e) {
        fprintf(stderr, "ecred-verifierd: cannot add the key to %s/api-keys: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "ecred-verifierd: key %s (%s) added; it is shown only this once\n", id, role_s);
    ecred_wipe(key, sizeof key);
    return 0;
}

/* key list --cache DIR: one line per key, "ID ROLE FIELDS EXPIRES LABEL"
 * (an expired key's time ends in "!"); exit 1 when the file cannot be read
 * or does not parse. */
int vd_cmd_key_list(int argc, char **argv)
{
    const char *dir = NULL;
    int rc = key_opts(argc, argv, NULL, "list --cache DIR", &dir);
    if (rc >= 0)
        return rc;
    if (!dir || optind != argc) {
        fprintf(stderr, "ecred-verifierd: usage: key list --cache DIR\n");
        return 2;
    }
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    vkeys k;
    ecred_err e = vkeys_load(dir, &k);
    if (e) {
        fprintf(stderr, "ecred-verifierd: %s/api-keys unreadable or malformed: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    printf("%-8s  %-8s  %-24s  %-21s  %s\n", "ID", "ROLE", "FIELDS", "EXPIRES", "LABEL");
    int64_t now = (int64_t)time(NULL);
    for (size_t i = 0; i < k.n; i++) {
        char exp[40] = "-";
        if (k.keys[i].expires_at) {
            time_t t = (time_t)k.keys[i].expires_at;
            struct tm tm;
            gmtime_r(&t, &tm);
            strftime(exp, sizeof exp, "%Y-%m-%dT%H:%M:%SZ", &tm);
            if (k.keys[i].expires_at <= now)
                strcat(exp, "!"); /* expired: refused */
        }
        /* The holder setting after the label, only for keys that set one. */
        printf("%-8s  %-8s  %-24s  %-21s  %s%s%s\n", k.keys[i].id, vrole_name(k.keys[i].role),
               k.keys[i].role == VROLE_AGENCY ? k.keys[i].fields : "(role default)", exp,
               k.keys[i].label[0] ? k.keys[i].label : "-", k.keys[i].holder[0] ? "  holder=" : "",
               k.keys[i].holder);
    }
    fprintf(stderr, "ecred-verifierd: %zu key%s in %s/api-keys\n", k.n, k.n == 1 ? "" : "s", dir);
    vkeys_free(&k);
    return 0;
}

/* key remove --cache DIR ID: exit 2 for a malformed or unknown id, 1 when the
 * file cannot be read, parsed or rewritten. */
int vd_cmd_key_remove(int argc, char **argv)
{
    const char *dir = NULL, *id = NULL;
    int rc = key_opts(argc, argv, NULL, "remove --cache DIR ID", &dir);
    if (rc >= 0)
        return rc;
    if (optind + 1 == argc)
        id = argv[optind];
    if (!dir || !id) {
        fprintf(stderr, "ecred-verifierd: usage: key remove --cache DIR ID (ID from key list)\n");
        return 2;
    }
    if (strlen(dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    if (!vkeys_id_ok(id)) {
        fprintf(stderr, "ecred-verifierd: '%.16s' is not a key id (8 lower-case hex digits, see key list)\n", id);
        return 2;
    }
    size_t removed = 0;
    ecred_err e = vkeys_remove(dir, id, &removed);
    if (e) {
        fprintf(stderr, "ecred-verifierd: cannot remove the key from %s/api-keys: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    if (removed == 0) {
        fprintf(stderr, "ecred-verifierd: no key with id %s in %s/api-keys (see key list)\n", id, dir);
        return 2;
    }
    fprintf(stderr, "ecred-verifierd: key %s removed; a running daemon refuses it within 1 second\n", id);
    return 0;
}
