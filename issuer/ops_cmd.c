/*
 * ops_cmd.c - the operator commands of ecred-issuerd (issue 17):
 *
 *   init    --data DIR               the signing key alone (production); the
 *                                    trust list is made offline and installed
 *   backup  --data DIR --out FILE    a consistent online copy (0600, new file)
 *   restore --data DIR --from FILE   the daemon stopped; closes every list
 *           [--next-list N]          open at backup time and reports what
 *                                    was lost
 *   backup  --registry postgres://... --out FILE      the same on PostgreSQL
 *   restore --registry postgres://... --from FILE     (--data optional): the
 *           [--next-list N]          backup is a SQLite file either way; a
 *                                    restore goes into an EMPTY database no
 *                                    issuer instance uses
 *   upgrade --data DIR               migrate the registry schema, say from what
 *   token add --role R [--label L] [--expires-in DAYS] | token list |
 *   token remove ID                  (all with --data DIR [--registry URL])
 *
 * Must never: print a token more than once or anything but its id after,
 * overwrite a file, or restore under a running daemon.
 */
#include "ops_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "registry.h"
#include "setup.h"

#define EXIT_USAGE 2
#define EXIT_FAIL 1
#define URL_CAP (SETUP_PATH_CAP + 8)
#define NEXT_LIST_MAX 1000000

typedef struct ops_opts {
    const char *data, *registry, *out, *from, *role, *label;
    long long expires_days; /* -1: never */
    long long next_list;    /* 0: from the registry being replaced */
} ops_opts;

static int usage(FILE *f, int code)
{
    fprintf(f, "usage: ecred-issuerd init --data DIR\n"
               "       ecred-issuerd backup --data DIR --out FILE [--registry URL]\n"
               "       ecred-issuerd restore --data DIR --from FILE [--next-list N] [--registry URL]\n"
               "       ecred-issuerd backup --registry postgres://... --out FILE\n"
               "       ecred-issuerd restore --registry postgres://... --from FILE [--next-list N]\n"
               "       ecred-issuerd upgrade --data DIR [--registry URL]\n"
               "       ecred-issuerd token add --data DIR --role clerk|officer|admin [--label TEXT]\n"
               "                               [--expires-in DAYS] [--registry URL]\n"
               "       ecred-issuerd token list --data DIR [--registry URL]\n"
               "       ecred-issuerd token remove --data DIR ID [--registry URL]\n");
    return code;
}

/* Strict decimal in [lo, hi]. */
static bool num(const char *s, long long lo, long long hi, long long *out)
{
    if (!s || !*s || strlen(s) > 12)
        return false;
    long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Whether url names a PostgreSQL registry (its backup and restore need no
 * data directory: the database may serve instances on other machines). */
static bool is_pg_url(const char *url)
{
    return url && (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0);
}

/* Parse argv from first on; positional arguments left in argv[optind..].
 * --data is required unless data_optional and --registry is PostgreSQL. */
static bool parse_opts(int argc, char **argv, int first, bool data_optional, ops_opts *o, int *rest)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},     {"registry", required_argument, NULL, 'r'},
        {"out", required_argument, NULL, 'o'},      {"from", required_argument, NULL, 'f'},
        {"role", required_argument, NULL, 'R'},     {"label", required_argument, NULL, 'l'},
        {"expires-in", required_argument, NULL, 'e'}, {"next-list", required_argument, NULL, 'n'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->expires_days = -1;
    optind = first;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o->data = optarg; break;
        case 'r': o->registry = optarg; break;
        case 'o': o->out = optarg; break;
        case 'f': o->from = optarg; break;
        case 'R': o->role = optarg; break;
        case 'l':
            if (strlen(optarg) > REG_TOKEN_LABEL_MAX) {
                fprintf(stderr, "ecred-issuerd: --label takes at most %d bytes\n", REG_TOKEN_LABEL_MAX);
                return false;
            }
            o->label = optarg;
            break;
        case 'e':
            if (!num(optarg, 1, 3660, &o->expires_days)) {
                fprintf(stderr, "ecred-issuerd: --expires-in takes 1..3660 days\n");
                return false;
            }
            break;
        case 'n':
            if (!num(optarg, 1, NEXT_LIST_MAX, &o->next_list)) {
                fprintf(stderr, "ecred-issuerd: --next-list takes 1..%d\n", NEXT_LIST_MAX);
                return false;
            }
            break;
        case 'h': exit(usage(stdout, 0));
        case ':':
            fprintf(stderr, "ecred-issuerd: option needs a value: %s (see --help)\n", argv[optind - 1]);
            return false;
        default:
            fprintf(stderr, "ecred-issuerd: unknown option %s (see --help)\n", argv[optind - 1]);
            return false;
        }
    }
    *rest = optind;
    if (!o->data && data_optional && is_pg_url(o->registry))
        return true;
    if (!o->data) {
        fprintf(stderr, "ecred-issuerd: --data DIR is required%s\n",
                data_optional ? " (or --registry postgres://...)" : "");
        return false;
    }
    struct stat st;
    if (stat(o->data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ecred-issuerd: --data %s is not a directory\n", o->data);
        return false;
    }
    return true;
}

static bool parse(int argc, char **argv, int first, ops_opts *o, int *rest)
{
    return parse_opts(argc, argv, first, false, o, rest);
}

/* The registry URL (--registry, else sqlite:DIR/registry.sqlite). */
static bool url_of(const ops_opts *o, char out[URL_CAP])
{
    int n = o->registry ? snprintf(out, URL_CAP, "%s", o->registry)
                        : snprintf(out, URL_CAP, "sqlite:%s/registry.sqlite", o->data);
    const char *why = n > 0 && n < URL_CAP ? reg_url_check(out) : "too long";
    if (why) {
        fprintf(stderr, "ecred-issuerd: --registry: %s\n", why);
        return false;
    }
    return true;
}

static int open_registry(const ops_opts *o, reg_db **db)
{
    char url[URL_CAP];
    if (!url_of(o, url))
        return EXIT_USAGE;
    ecred_err e = reg_open_url(url, db);
    if (e == ECRED_ERR_UNSUPPORTED) {
        fprintf(stderr, "ecred-issuerd: the registry's schema is newer than this build (%d): "
                        "run the newer ecred-issuerd, or restore a backup\n", REG_SCHEMA_VERSION);
        return EXIT_FAIL;
    }
    if (e) {
        fprintf(stderr, "ecred-issuerd: cannot open the registry: %s\n", ecred_err_message(e));
        return EXIT_FAIL;
    }
    return 0;
}

int ops_lock_data(const char *dir, const char *who)
{
    char path[SETUP_PATH_CAP];
    if (!setup_path(dir, "issuerd.lock", path))
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "ecred-issuerd: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "ecred-issuerd: %s: another ecred-issuerd uses %s (stop it first)\n", who, dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* UTC RFC 3339 text of t ("-" for 0). */
static const char *when(int64_t t, char buf[32])
{
    if (!t)
        return "-";
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

static int cmd_init(int argc, char **argv)
{
    ops_opts o;
    int rest;
    if (!parse(argc, argv, 2, &o, &rest) || rest != argc)
        return usage(stderr, EXIT_USAGE);
    char root[SETUP_PATH_CAP];
    if (setup_path(o.data, "root.key.pem", root) && access(root, F_OK) == 0)
        fprintf(stderr, "ecred-issuerd: warning: %s is here; a root key belongs offline, not in the "
                        "data directory\n", root);
    ecred_key *key = NULL;
    int64_t from = 0;
    bool created = false;
    if (setup_signing_key(o.data, NULL, true, &key, &from, &created) != ECRED_OK)
        return EXIT_FAIL;
    char kid[2 * ECRED_KID_LEN + 1], t[32];
    ecred_hex(ecred_key_kid(key), ECRED_KID_LEN, kid);
    ecred_key_free(key);
    printf("%s signing key %s/signing.key.pem (kid %s), public key %s/signing.pub.pem\n"
           "signing window starts %s (recorded in %s/%s)\n"
           "next: sign a trust list naming this key with the offline root (ecred-keys trustlist\n"
           "sign), install it as %s/trust.cwt with the root's public key as %s/root.pub.pem,\n"
           "then start ecred-issuerd with the --status-base-url the trust list names.\n",
           created ? "made" : "kept existing", o.data, kid, o.data, when(from, t), o.data, SETUP_KEY_META,
           o.data, o.data);
    return 0;
}

static int cmd_backup(int argc, char **argv)
{
    ops_opts o;
    int rest;
    if (!parse_opts(argc, argv, 2, true, &o, &rest) || rest != argc || !o.out) {
        if (!o.out)
            fprintf(stderr, "ecred-issuerd: backup needs --out FILE\n");
        return usage(stderr, EXIT_USAGE);
    }
    reg_db *db = NULL;
    int rc = open_registry(&o, &db);
    if (rc)
        return rc;
    ecred_err e = reg_backup(db, o.out, (int64_t)time(NULL));
    reg_close(db);
    if (e) {
        fprintf(stderr, "ecred-issuerd: backup to %s failed: %s\n", o.out,
                e == ECRED_ERR_EXISTS ? "the file exists (never overwritten)" : ecred_err_message(e));
        return EXIT_FAIL;
    }
    printf("backup written to %s (mode 0600%s); keep it with the data directory's keys\n", o.out,
           is_pg_url(o.registry) ? ", a SQLite file: one snapshot of the PostgreSQL registry" : "");
    return 0;
}

static int cmd_restore(int argc, char **argv)
{
    ops_opts o;
    int rest;
    if (!parse_opts(argc, argv, 2, true, &o, &rest) || rest != argc || !o.from) {
        if (!o.from)
            fprintf(stderr, "ecred-issuerd: restore needs --from FILE\n");
        return usage(stderr, EXIT_USAGE);
    }
    if (access(o.from, R_OK) != 0) {
        fprintf(stderr, "ecred-issuerd: cannot read %s\n", o.from);
        return EXIT_USAGE;
    }
    bool pg = is_pg_url(o.registry);
    int lock = -1;
    if (o.data && (lock = ops_lock_data(o.data, "restore")) < 0)
        return EXIT_FAIL;
    reg_db *db = NULL;
    int rc = open_registry(&o, &db);
    if (rc) {
        if (lock >= 0)
            close(lock);
        return rc;
    }
    /* A daemon on another machine holds no lock here: the registry itself
     * tells (PostgreSQL: every instance's shared advisory lock). */
    bool claimed = false;
    ecred_err ce = reg_claim(db, &claimed);
    if (ce || !claimed) {
        if (ce)
            fprintf(stderr, "ecred-issuerd: restore: %s\n", ecred_err_message(ce));
        else
            fprintf(stderr, "ecred-issuerd: restore: an ecred-issuerd instance is using this registry "
                            "(stop every instance on it first; nothing was changed)\n");
        reg_close(db);
        if (lock >= 0)
            close(lock);
        return EXIT_FAIL;
    }
    /* Lists the registry being replaced opened after the backup must never
     * open again: start new ones above the highest id it knows. */
    int64_t max = 0;
    if (reg_list_max_id(db, &max) != ECRED_OK)
        max = 0;
    int64_t next = max + 1 > o.next_list ? max + 1 : o.next_list;
    reg_restore_report rep;
    ecred_err e = reg_restore(db, o.from, next, (int64_t)time(NULL), &rep);
    int64_t db_version = REG_SCHEMA_VERSION;
    if (!e && pg && reg_schema_version(db, &db_version) != ECRED_OK)
        db_version = 0;
    reg_close(db);
    if (lock >= 0)
        close(lock);
    if (e == ECRED_ERR_EXISTS && pg) {
        fprintf(stderr, "ecred-issuerd: restore from %s refused: the database is not empty (nothing was "
                        "changed). Restore only into an empty database: note the old registry's highest "
                        "list id (SELECT max(id) FROM status_lists) for --next-list, then drop and "
                        "recreate the database (dropdb NAME; createdb -O OWNER NAME) and run restore "
                        "again\n", o.from);
        return EXIT_FAIL;
    }
    if (e) {
        fprintf(stderr, "ecred-issuerd: restore from %s failed: %s%s\n", o.from,
                e == ECRED_ERR_INPUT ? "not a registry backup (ecred-issuerd backup makes one)"
                                     : ecred_err_message(e),
                e == ECRED_ERR_UNSUPPORTED ? " (backup newer than this build)" : "");
        return EXIT_FAIL;
    }
    char t1[32], t2[32];
    if (pg)
        printf("restored %s into the PostgreSQL database (backup taken %s, backup file schema v%d, "
               "database schema v%lld)\n", o.from, when(rep.taken_at, t1), rep.found_version,
               (long long)db_version);
    else
        printf("restored %s (backup taken %s, schema v%d, now v%d)\n", o.from, when(rep.taken_at, t1),
               rep.found_version, REG_SCHEMA_VERSION);
    printf("lost: everything after the backup; newest credential kept was issued %s\n",
           when(rep.last_issued_at, t2));
    if (rep.closed_first)
        printf("closed status lists %lld..%lld (open at backup time): indices handed out there after "
               "the backup are never handed out again\n",
               (long long)rep.closed_first, (long long)rep.closed_last);
    if (rep.skipped_first)
        printf("reserved status lists %lld..%lld (opened after the backup) as closed\n",
               (long long)rep.skipped_first, (long long)rep.skipped_last);
    printf("credentials issued after the backup still verify and cannot be suspended or revoked "
           "here: re-issue them (new applications) and ask their holders to replace them\n");
    if (max == 0 && !o.next_list && pg)
        printf("warning: no --next-list given: new lists start right after the backup's. If the lost "
               "registry had opened lists after the backup, their ids will be opened again with other "
               "indices: drop and recreate the database and restore again with --next-list N (N above "
               "its highest list id, see /.well-known/ecred-status-lists as verifiers cached it)\n");
    else if (max == 0 && !o.next_list)
        printf("warning: the registry replaced had no status lists; if the lost registry had opened "
               "more lists after the backup, run restore again with --next-list N (N above its "
               "highest list, see /.well-known/ecred-status-lists as verifiers cached it)\n");
    return 0;
}

static int cmd_upgrade(int argc, char **argv)
{
    ops_opts o;
    int rest;
    if (!parse(argc, argv, 2, &o, &rest) || rest != argc)
        return usage(stderr, EXIT_USAGE);
    int lock = ops_lock_data(o.data, "upgrade");
    if (lock < 0)
        return EXIT_FAIL;
    reg_db *db = NULL;
    int rc = open_registry(&o, &db);
    close(lock);
    if (rc)
        return rc;
    int found = 0, now = 0;
    reg_schema_info(db, &found, &now);
    if (now == 0) {
        /* A backend that does not report what it found (PostgreSQL records
         * each applied migration in schema_migrations): say where it is. */
        int64_t v = 0;
        ecred_err e = reg_schema_version(db, &v);
        reg_close(db);
        if (e) {
            fprintf(stderr, "ecred-issuerd: upgrade: %s\n", ecred_err_message(e));
            return EXIT_FAIL;
        }
        printf("registry schema v%lld: up to date\n", (long long)v);
        return 0;
    }
    reg_close(db);
    if (found == 0)
        printf("registry created at schema v%d\n", now);
    else if (found == now)
        printf("registry schema v%d: up to date\n", now);
    else
        printf("registry schema migrated from v%d to v%d\n", found, now);
    return 0;
}

static ecred_err print_token(void *ctx, const reg_token_info *t)
{
    (void)ctx;
    char c[32], x[32];
    bool expired = t->expires_at && t->expires_at <= (int64_t)time(NULL);
    printf("%-8s  %-7s  %-20s  %-20s  %s%s\n", t->id, t->role, when(t->created_at, c),
           when(t->expires_at, x), t->label[0] ? t->label : "-", expired ? "  (expired)" : "");
    return ECRED_OK;
}

typedef struct token_remove_job {
    const char *id;
    int64_t now;
} token_remove_job;

/* reg_write fn: the removal and its audit entry, one transaction. */
static ecred_err token_remove_write(reg_db *db, void *ctx)
{
    const token_remove_job *j = ctx;
    return reg_token_remove(db, j->id, j->now);
}

static int cmd_token(int argc, char **argv)
{
    const char *sub = argc >= 3 ? argv[2] : "";
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0)
        return usage(stdout, 0);
    bool add = strcmp(sub, "add") == 0, list = strcmp(sub, "list") == 0,
         remove = strcmp(sub, "remove") == 0;
    if (!add && !list && !remove) {
        fprintf(stderr, "ecred-issuerd: the token commands are add, list and remove\n");
        return usage(stderr, EXIT_USAGE);
    }
    ops_opts o;
    int rest;
    if (!parse(argc, argv, 3, &o, &rest))
        return usage(stderr, EXIT_USAGE);
    if ((remove && rest != argc - 1) || (!remove && rest != argc)) {
        fprintf(stderr, "ecred-issuerd: token %s: %s\n", sub,
                remove ? "name one token ID (from token list)" : "unexpected argument");
        return usage(stderr, EXIT_USAGE);
    }
    if (add && (!o.role || !auth_role_from_name(o.role))) {
        fprintf(stderr, "ecred-issuerd: --role must be clerk, officer or admin\n");
        return EXIT_USAGE;
    }
    reg_db *db = NULL;
    int rc = open_registry(&o, &db);
    if (rc)
        return rc;
    ecred_err e = ECRED_OK;
    if (add) {
        char tok[AUTH_TOKEN_HEX + 1];
        int64_t exp = o.expires_days > 0 ? (int64_t)time(NULL) + o.expires_days * 86400 : 0;
        e = auth_token_create_labeled(db, o.role, o.label ? o.label : "", exp, tok);
        if (!e)
            printf("%s\n", tok);
        ecred_wipe(tok, sizeof tok);
    } else if (list) {
        printf("%-8s  %-7s  %-20s  %-20s  %s\n", "ID", "ROLE", "CREATED", "EXPIRES", "LABEL");
        e = reg_tokens_list(db, print_token, NULL);
    } else {
        token_remove_job job = {argv[rest], (int64_t)time(NULL)};
        bool failed = false;
        e = reg_write(db, token_remove_write, &job, &failed);
        if (e == ECRED_ERR_KEY_UNKNOWN)
            fprintf(stderr, "ecred-issuerd: no token has the id %s (see token list)\n", argv[rest]);
        else if (e == ECRED_ERR_EXISTS)
            fprintf(stderr, "ecred-issuerd: the id %s names more than one token; nothing removed\n",
                    argv[rest]);
        else if (!e)
            printf("removed token %s (it stops working at once)\n", argv[rest]);
    }
    reg_close(db);
    if (e && e != ECRED_ERR_KEY_UNKNOWN && e != ECRED_ERR_EXISTS)
        fprintf(stderr, "ecred-issuerd: token %s: %s\n", sub, ecred_err_message(e));
    return e ? EXIT_FAIL : 0;
}

int ops_cmd_run(int argc, char **argv, bool *handled)
{
    *handled = true;
    const char *c = argc >= 2 ? argv[1] : "";
    if (strcmp(c, "init") == 0)
        return cmd_init(argc, argv);
    if (strcmp(c, "backup") == 0)
        return cmd_backup(argc, argv);
    if (strcmp(c, "restore") == 0)
        return cmd_restore(argc, argv);
    if (strcmp(c, "upgrade") == 0)
        return cmd_upgrade(argc, argv);
    if (strcmp(c, "token") == 0)
        return cmd_token(argc, argv);
    *handled = false;
    return 0;
}
