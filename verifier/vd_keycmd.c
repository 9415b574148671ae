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
#include <string.h>
#include <sys/stat.h>

#include "apikeys.h"
#include "cache.h"
#include "ecred/buf.h"
#include "roles.h"
#include "vd_main.h"

/* The options of the key subcommands (argv[0] is the subcommand's name):
 * --cache, and --role/--fields/--holder where `roles`. Returns -1 to go on,
 * or the exit code (0 after --help). Options may be given once each. */
static int key_opts(int argc, char **argv, bool roles, const char *help, const char **dir, const char **role,
                    const char **fields, const char **holder)
{
    static const struct option opts[] = {
        {"cache", required_argument, NULL, 'c'}, {"role", required_argument, NULL, 'r'},
        {"fields", required_argument, NULL, 'f'}, {"holder", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char **slot = c == 'c'             ? dir
                            : c == 'r' && roles  ? role
                            : c == 'f' && roles  ? fields
                            : c == 'H' && roles  ? holder
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

/* key add --cache DIR --role ROLE [--fields a,b,c] [--holder SETTING]: print
 * a new key once; exit 2 for a usage error, 1 when the file cannot be written. */
int vd_cmd_key_add(int argc, char **argv)
{
    const char *dir = NULL, *role_s = NULL, *fields = NULL, *holder = NULL;
    int rc = key_opts(argc, argv, true,
                      "add --cache DIR --role police|landlord|agency [--fields a,b,c] "
                      "[--holder optional|required|challenge]",
                      &dir, &role_s, &fields, &holder);
    if (rc >= 0)
        return rc;
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
    char key[VKEY_TEXT_LEN + 1], id[9];
    ecred_err e = vkeys_add_holder(dir, role, fields, holder, key, id);
    if (e) {
        fprintf(stderr, "ecred-verifierd: cannot add the key to %s/api-keys: %s\n", dir, ecred_err_message(e));
        return 1;
    }
    printf("%s\n", key);
    fprintf(stderr, "ecred-verifierd: key %s (%s) added; it is shown only this once\n", id, role_s);
    ecred_wipe(key, sizeof key);
    return 0;
}

/* key list --cache DIR: one line per key, "ID ROLE FIELDS"; exit 1 when
 * the file cannot be read or does not parse. */
int vd_cmd_key_list(int argc, char **argv)
{
    const char *dir = NULL;
    int rc = key_opts(argc, argv, false, "list --cache DIR", &dir, NULL, NULL, NULL);
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
    printf("%-8s  %-8s  %s\n", "ID", "ROLE", "FIELDS");
    for (size_t i = 0; i < k.n; i++)
        /* The holder column only for keys that set one: older scripts read
         * the three columns. */
        printf("%-8s  %-8s  %s%s%s\n", k.keys[i].id, vrole_name(k.keys[i].role),
               k.keys[i].role == VROLE_AGENCY ? k.keys[i].fields : "(role default)",
               k.keys[i].holder[0] ? "  holder=" : "", k.keys[i].holder);
    fprintf(stderr, "ecred-verifierd: %zu key%s in %s/api-keys\n", k.n, k.n == 1 ? "" : "s", dir);
    vkeys_free(&k);
    return 0;
}

/* key remove --cache DIR ID: exit 2 for a malformed or unknown id, 1 when the
 * file cannot be read, parsed or rewritten. */
int vd_cmd_key_remove(int argc, char **argv)
{
    const char *dir = NULL, *id = NULL;
    int rc = key_opts(argc, argv, false, "remove --cache DIR ID", &dir, NULL, NULL, NULL);
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
