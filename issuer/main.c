/*
 * main.c - ecred-issuerd: command line, data directory setup and the daemon's
 * life (start, serve until SIGTERM/SIGINT, stop cleanly).
 *
 *   ecred-issuerd --data DIR --listen HOST:PORT [--tls-cert PEM --tls-key PEM]
 *                 [--status-base-url URL] [--iss NAME] [--threads N]
 *                 [--status-ttl SECONDS] [--list-size N] [--registry URL]
 *                 [--signing-key REF] [--root-key REF] [--pin-file FILE]
 *                 [--next-key REF --switch-at UNIX_SECONDS]
 *   ecred-issuerd init|backup|restore|upgrade|token ... (ops_cmd.c)
 *   ecred-issuerd audit verify --data DIR [--registry URL] [--checkpoint FILE [--key PEM]]
 *   ecred-issuerd migrate --registry URL
 *   ecred-issuerd registry copy --from URL --to URL
 *
 * --registry names the registry (registry.h): sqlite:PATH (a bare path is
 * sqlite too) or postgres://... (libpq URI); the default is
 * sqlite:DIR/registry.sqlite. Opening a registry applies its migrations;
 * `migrate` does only that (for an operator who upgrades before starting
 * instances). `registry copy` moves a whole registry into an empty one.
 * The data directory holds registry.sqlite (WAL), signing.key.pem (0600,
 * unless --signing-key names a key elsewhere or in a PKCS#11 token),
 * signing.key.meta, tracking.secret (0600) and the trust list trust.cwt.
 * setup.c makes and checks them (the issue 17 traps: a local root is made
 * only on the first start of an empty data directory and never replaces an
 * installed trust.cwt or root.pub.pem). SIGHUP is one handler: the staged
 * next key's switch moved to now (re-signing first when the root is at
 * hand), the trust list reloaded, TLS files re-read.
 *
 * Must never: overwrite a key file, print a token more than once, log
 * personal data, or exit with a half-written file (writes are atomic).
 */
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ecred/listen.h"
#include "ecred/slist.h"
#include "ecred/trustlist.h"
#include "audit.h"
#include "ecred/version.h"
#include "issuerd.h"
#include "notify.h"
#include "oidc.h"
#include "ops_cmd.h"
#include "outcall.h"
#include "resident.h"
#include "setup.h"
#include "svc_log.h"

/* The pages under issuer/web/, embedded at build time (service/embed.cmake). */
extern const svc_asset_src issuer_assets[];
extern const size_t issuer_assets_count;

#define EXIT_USAGE 2
#define EXIT_FAIL 1
#define TRUST_WARN_DAYS 30
#define PATH_CAP 4096

typedef struct opts {
    const char *data;
    const char *listen;
    const char *tls_cert;
    const char *tls_key;
    const char *status_base;
    const char *iss;
    const char *role;
    const char *assets;
    const char *registry;      /* registry URL; NULL for sqlite:DATA/registry.sqlite */
    const char *signing_key;   /* key reference; NULL for DATA/signing.key.pem */
    const char *root_key;      /* key reference; NULL for DATA/root.key.pem */
    const char *next_key;      /* key reference of the next signing key (rotation) */
    const char *pin_file;      /* PKCS#11 PIN file */
    int64_t switch_at;         /* when next_key takes over (Unix seconds) */
    const char *oidc_issuer;   /* resident sign-in (oidc.h); NULL: off */
    const char *oidc_client_id;
    const char *oidc_audience;
    const char *oidc_redirect;
    const char *notify_webhook; /* reminder outbox (notify.h); NULL: off */
    unsigned notify_interval;
    unsigned notify_lease;      /* outbox claim lease (shared resident sessions); 0: default */
    unsigned threads;
    long long client_conns; /* -1: default */
    int64_t status_ttl;
    uint32_t list_size;
} opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: ecred-issuerd --data DIR --listen HOST:PORT [--tls-cert PEM --tls-key PEM]\n"
            "                     [--status-base-url URL] [--iss NAME] [--threads 1..16]\n"
            "                     [--status-ttl SECONDS] [--list-size N] [--assets DIR]\n"
            "                     [--max-client-conns N] [--registry URL]\n"
            "                     [--signing-key REF] [--root-key REF] [--pin-file FILE]\n"
            "                     [--next-key REF --switch-at UNIX_SECONDS]\n"
            "  REF: a key file or a PKCS#11 URI (pkcs11:token=...;object=...); the PIN\n"
            "  comes from --pin-file, pin-source=file: in the URI or ECRED_PKCS11_PIN.\n"
            "  SIGHUP switches to the next key at once.\n"
            "                     [--oidc-issuer URL --oidc-client-id ID [--oidc-audience AUD]\n"
            "                      [--oidc-redirect-uri URL]] [--notify-webhook URL [--notify-interval S] [--notify-lease S]]\n"
            "       ecred-issuerd token add --data DIR --role clerk|officer|admin [--registry URL]\n"
            "       ecred-issuerd migrate --registry URL\n"
            "       ecred-issuerd registry copy --from URL --to URL\n"
            "       ecred-issuerd init|backup|restore|upgrade|token ... (ecred-issuerd token --help)\n");
}

/* Strict unsigned parse within [lo, hi]. */
static bool parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
                       unsigned long long *out)
{
    if (!s || !*s || strlen(s) > 12)
        return false;
    unsigned long long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (unsigned long long)(*p - '0');
    }
    if (v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Parse options from argv[first..]; `token` selects which are allowed.
 * Prints the reason and returns false on any misuse. */
static bool parse_opts(int argc, char **argv, int first, bool token, opts *o)
{
    /* getopt_long finds the options (--opt VALUE and --opt=VALUE); the
     * chain below says which this command takes and checks each value. */
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 1},          {"registry", required_argument, NULL, 1},
        {"role", required_argument, NULL, 1},          {"listen", required_argument, NULL, 1},
        {"tls-cert", required_argument, NULL, 1},      {"tls-key", required_argument, NULL, 1},
        {"status-base-url", required_argument, NULL, 1}, {"iss", required_argument, NULL, 1},
        {"assets", required_argument, NULL, 1},        {"threads", required_argument, NULL, 1},
        {"max-client-conns", required_argument, NULL, 1}, {"status-ttl", required_argument, NULL, 1},
        {"list-size", required_argument, NULL, 1},     {"signing-key", required_argument, NULL, 1},
        {"root-key", required_argument, NULL, 1},      {"next-key", required_argument, NULL, 1},
        {"pin-file", required_argument, NULL, 1},      {"switch-at", required_argument, NULL, 1},
        {"oidc-issuer", required_argument, NULL, 1},   {"oidc-client-id", required_argument, NULL, 1},
        {"oidc-audience", required_argument, NULL, 1}, {"oidc-redirect-uri", required_argument, NULL, 1},
        {"notify-webhook", required_argument, NULL, 1}, {"notify-interval", required_argument, NULL, 1},
        {"notify-lease", required_argument, NULL, 1},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},           {NULL, 0, NULL, 0},
    };
    int c, li = 0;
    opterr = 0;
    optind = first;
    while ((c = getopt_long(argc, argv, "+:h", longopts, &li)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (c == 'V') {
            printf("ecred-issuerd %s\n", ECRED_VERSION);
            exit(0);
        }
        if (c == ':' || c == '?') {
            fprintf(stderr, "ecred-issuerd: %s %s (see --help)\n",
                    c == ':' ? "option needs a value:" : "unknown option", argv[optind - 1]);
            return false;
        }
        char a[32] = "--";
        strncat(a, longopts[li].name, sizeof a - 3);
        const char *v = optarg;
        const char **slot = NULL;
        unsigned long long n;
        if (strcmp(a, "--data") == 0)
            slot = &o->data;
        else if (strcmp(a, "--registry") == 0)
            slot = &o->registry;
        else if (token && strcmp(a, "--role") == 0)
            slot = &o->role;
        else if (!token && strcmp(a, "--listen") == 0)
            slot = &o->listen;
        else if (!token && strcmp(a, "--tls-cert") == 0)
            slot = &o->tls_cert;
        else if (!token && strcmp(a, "--tls-key") == 0)
            slot = &o->tls_key;
        else if (!token && strcmp(a, "--status-base-url") == 0)
            slot = &o->status_base;
        else if (!token && strcmp(a, "--iss") == 0)
            slot = &o->iss;
        else if (!token && strcmp(a, "--assets") == 0)
            slot = &o->assets;
        else if (!token && strcmp(a, "--signing-key") == 0)
            slot = &o->signing_key;
        else if (!token && strcmp(a, "--root-key") == 0)
            slot = &o->root_key;
        else if (!token && strcmp(a, "--next-key") == 0)
            slot = &o->next_key;
        else if (!token && strcmp(a, "--pin-file") == 0)
            slot = &o->pin_file;
        else if (!token && strcmp(a, "--switch-at") == 0) {
            if (o->switch_at || !parse_uint(v, 1, 99999999999ULL, &n)) {
                fprintf(stderr, "ecred-issuerd: --switch-at takes Unix seconds, once\n");
                return false;
            }
            o->switch_at = (int64_t)n;
            continue;
        }
        else if (!token && strcmp(a, "--oidc-issuer") == 0)
            slot = &o->oidc_issuer;
        else if (!token && strcmp(a, "--oidc-client-id") == 0)
            slot = &o->oidc_client_id;
        else if (!token && strcmp(a, "--oidc-audience") == 0)
            slot = &o->oidc_audience;
        else if (!token && strcmp(a, "--oidc-redirect-uri") == 0)
            slot = &o->oidc_redirect;
        else if (!token && strcmp(a, "--notify-webhook") == 0)
            slot = &o->notify_webhook;
        else if (!token && strcmp(a, "--notify-interval") == 0) {
            if (o->notify_interval || !parse_uint(v, 1, 86400, &n)) {
                fprintf(stderr, "ecred-issuerd: --notify-interval takes 1..86400 seconds, once\n");
                return false;
            }
            o->notify_interval = (unsigned)n;
            continue;
        }
        else if (!token && strcmp(a, "--notify-lease") == 0) {
            if (o->notify_lease || !parse_uint(v, NOTIFY_LEASE_MIN_S, 3600, &n)) {
                fprintf(stderr, "ecred-issuerd: --notify-lease takes %d..3600 seconds, once\n", NOTIFY_LEASE_MIN_S);
                return false;
            }
            o->notify_lease = (unsigned)n;
            continue;
        }
        else if (!token && strcmp(a, "--threads") == 0) {
            if (o->threads || !parse_uint(v, 1, 16, &n)) {
                fprintf(stderr, "ecred-issuerd: --threads takes 1..16, once\n");
                return false;
            }
            o->threads = (unsigned)n;
            continue;
        } else if (!token && strcmp(a, "--max-client-conns") == 0) {
            if (o->client_conns >= 0 || !parse_uint(v, 0, 1024, &n)) {
                fprintf(stderr, "ecred-issuerd: --max-client-conns takes 0..1024 (0: no limit), once\n");
                return false;
            }
            o->client_conns = (long long)n;
            continue;
        } else if (!token && strcmp(a, "--status-ttl") == 0) {
            if (o->status_ttl || !parse_uint(v, 1, 86400, &n)) {
                fprintf(stderr, "ecred-issuerd: --status-ttl takes 1..86400 seconds, once\n");
                return false;
            }
            o->status_ttl = (int64_t)n;
            continue;
        } else if (!token && strcmp(a, "--list-size") == 0) {
            if (o->list_size || !parse_uint(v, 16, ECRED_SLIST_MAX_ENTRIES, &n)) {
                fprintf(stderr, "ecred-issuerd: --list-size takes 16..%zu, once\n",
                        (size_t)ECRED_SLIST_MAX_ENTRIES);
                return false;
            }
            o->list_size = (uint32_t)n;
            continue;
        } else {
            fprintf(stderr, "ecred-issuerd: unknown option %s\n", a);
            return false;
        }
        if (*slot) {
            fprintf(stderr, "ecred-issuerd: %s given twice\n", a);
            return false;
        }
        if (!*v) {
            fprintf(stderr, "ecred-issuerd: %s: empty value\n", a);
            return false;
        }
        *slot = v;
    }
    if (optind < argc) {
        fprintf(stderr, "ecred-issuerd: %s: unexpected argument (see --help)\n", argv[optind]);
        return false;
    }
    if (!o->data) {
        fprintf(stderr, "ecred-issuerd: --data DIR is required\n");
        return false;
    }
    if (token && !o->role) {
        fprintf(stderr, "ecred-issuerd: --role clerk|officer|admin is required\n");
        return false;
    }
    if (!token && !o->listen) {
        fprintf(stderr, "ecred-issuerd: --listen HOST:PORT is required\n");
        return false;
    }
    if (!token && (o->next_key != NULL) != (o->switch_at != 0)) {
        fprintf(stderr, "ecred-issuerd: --next-key and --switch-at go together\n");
        return false;
    }
    if (!token && (o->oidc_issuer != NULL) != (o->oidc_client_id != NULL)) {
        fprintf(stderr, "ecred-issuerd: --oidc-issuer and --oidc-client-id go together\n");
        return false;
    }
    if (!token && (o->tls_cert != NULL) != (o->tls_key != NULL)) {
        fprintf(stderr, "ecred-issuerd: --tls-cert and --tls-key go together\n");
        return false;
    }
    return true;
}

/* DIR/name into out; false if it does not fit. */
static bool data_path(const char *dir, const char *name, char out[PATH_CAP])
{
    int n = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < PATH_CAP;
}

static bool file_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* The registry URL: --registry, else sqlite:DIR/registry.sqlite. False (and a
 * message) when it is too long or names a registry this build cannot open. */
static bool registry_url(const opts *o, char out[PATH_CAP + 8])
{
    int n = o->registry ? snprintf(out, PATH_CAP + 8, "%s", o->registry)
                        : snprintf(out, PATH_CAP + 8, "sqlite:%s/registry.sqlite", o->data);
    if (n <= 0 || n >= PATH_CAP + 8) {
        fprintf(stderr, "ecred-issuerd: registry path too long\n");
        return false;
    }
    const char *why = reg_url_check(out);
    if (why) {
        /* Not the URL itself: a database URL may carry a password. */
        fprintf(stderr, "ecred-issuerd: --registry: %s\n", why);
        return false;
    }
    return true;
}

/* How a registry URL appears in messages: a database URL may carry a
 * password, so only its scheme is shown; a file path is shown as is. */
static const char *registry_for_msg(const char *url)
{
    if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0)
        return "(the postgres:// registry)";
    return url;
}

/* Print an error about a data file to stderr (daemon start, before serving). */
static void fail_msg(const char *what, const char *path, ecred_err e)
{
    fprintf(stderr, "ecred-issuerd: %s %s: %s\n", what, path, ecred_err_message(e));
}

/* The tracking secret: created once (0600), then loaded. */
static ecred_err load_tracking_secret(const char *dir, uint8_t out[AUTH_SECRET_BYTES])
{
    char path[PATH_CAP];
    if (!data_path(dir, "tracking.secret", path))
        return ECRED_ERR_TOO_LARGE;
    ecred_err e;
    if (!file_exists(path)) {
        uint8_t s[AUTH_SECRET_BYTES];
        if ((e = ecred_random(s, sizeof s)) == ECRED_OK)
            e = ecred_write_file_atomic(path, s, sizeof s, 0600);
        ecred_wipe(s, sizeof s);
        if (e) {
            fail_msg("cannot create", path, e);
            return e;
        }
    }
    /* Check and read through one descriptor: a check by path followed by an
     * open by path could read a file swapped in between (a symlink too). */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077)) {
        if (fd >= 0)
            close(fd);
        fprintf(stderr, "ecred-issuerd: %s must be a regular file of mode 0600\n", path);
        return ECRED_ERR_KEY_PERMISSIONS;
    }
    ecred_buf b = ECRED_BUF_INIT;
    e = ecred_read_fd(fd, AUTH_SECRET_BYTES, &b);
    close(fd);
    if (!e && b.len != AUTH_SECRET_BYTES)
        e = ECRED_ERR_KEY_INVALID;
    if (!e)
        memcpy(out, b.ptr, AUTH_SECRET_BYTES);
    else
        fail_msg("cannot load", path, e);
    ecred_buf_wipe(&b);
    return e;
}

/* Log loudly while the served trust list is within TRUST_WARN_DAYS of its
 * exp (or past it): verifiers refuse every credential once it expires. */
static void trust_expiry_warn(issuerd *d)
{
    int64_t exp = 0, until = 0;
    issuerd_trust_info(d, &exp, &until);
    int64_t left = exp - (int64_t)time(NULL);
    if (left > (int64_t)TRUST_WARN_DAYS * 86400)
        return;
    char days[32];
    snprintf(days, sizeof days, "%lld", (long long)(left / 86400));
    svc_log(left > 0 ? SVC_WARNING : SVC_ERROR,
            left > 0 ? "TRUST LIST EXPIRES SOON: sign and install a new trust.cwt (ecred-keys trustlist rotate), then SIGHUP"
                     : "TRUST LIST HAS EXPIRED: verifiers refuse every credential; install a new trust.cwt, then SIGHUP",
            "days_left", days);
}

/* What the served trust list says of a key rotation: the next key
 * (referenced) and the second it takes over; NULL, 0 when none. Set at start
 * from --next-key/--switch-at, the switch moved to now by a SIGHUP. It stays
 * after the switch, so a later re-signed list still names the key that
 * signed until then. */
typedef struct rotation {
    ecred_key *next;
    int64_t switch_at;
} rotation;

/* Whether a root key is at hand (self-contained set-up): --root-key or
 * DIR/root.key.pem. */
static bool have_local_root(const opts *o)
{
    char root_path[PATH_CAP];
    return o->root_key || (data_path(o->data, "root.key.pem", root_path) && file_exists(root_path));
}

/* SIGHUP, one handler for the key switch and the reload:
 *
 * 1. The operator's "switch now", when a next key is staged and its switch
 *    is still ahead. The next key may sign only inside a trust-list window,
 *    so with the root at hand the list is re-signed with the switch moved to
 *    now first (signers may promote the next key the moment its time is
 *    now), and the switch follows at the main loop's next look; with an
 *    offline root the installed list decides and the timed switch stands.
 * 2. The trust list is re-read (checked as at start; the old one stays on
 *    any error; a local root re-signs it, never replacing an installed list
 *    it did not sign) and, with TLS, the certificate and key. libmicrohttpd
 *    reads its certificate only when a daemon starts (the GnuTLS
 *    certificate callback would tie us to one TLS backend), so the listener
 *    is restarted: requests in flight finish, connections open at that
 *    moment are closed, and a connect in the few milliseconds between stop
 *    and start is refused. Tokens live in the registry and need no reload
 *    (a removed token fails at once). */
static void reload(issuerd *d, const opts *o, int64_t key_created, rotation *rot,
                   const svc_config *cfg, svc_server **srv)
{
    int64_t now = (int64_t)time(NULL);
    int64_t at = 0;
    ecred_key *next = keyring_next(d->keys, &at);
    bool move = false;
    if (!next) {
        svc_log(SVC_INFO, "SIGHUP: no next signing key staged", NULL, NULL);
    } else if (at > now) {
        if (have_local_root(o))
            move = true;
        else
            svc_log(SVC_WARNING, "SIGHUP: the root is offline; the next key takes over at the "
                                 "switch time of the installed trust list", NULL, NULL);
    }
    setup_trust_info ti;
    ecred_buf fresh = ECRED_BUF_INIT;
    ecred_err e = setup_trust_list(o->data, o->root_key, d->sign_key, key_created, move ? next : rot->next,
                                   move ? now : rot->switch_at, d->iss, statuspub_prefix(d->pub), false,
                                   &fresh, &ti);
    if (e == ECRED_OK) {
        /* Publish first, then move the switch. */
        issuerd_trust_replace(d, &fresh, ti.exp, ti.sign_until);
        svc_log(SVC_INFO, "reloaded the trust list", "file", "trust.cwt");
        if (move) {
            keyring_set_next(d->keys, next, now);
            rot->switch_at = now;
        }
    } else {
        svc_log(SVC_ERROR, "trust list reload refused; still serving the previous one (see stderr)",
                "file", "trust.cwt");
        if (move)
            svc_log(SVC_ERROR, "SIGHUP: cannot re-sign the trust list; switch not moved", NULL, NULL);
    }
    ecred_key_free(next);
    ecred_buf_free(&fresh);
    trust_expiry_warn(d);
    if (!o->tls_cert)
        return;
    char err[256] = "";
    issuerd_set_server(d, NULL);
    svc_stop(*srv);
    *srv = NULL;
    if (svc_start(cfg, srv, err, sizeof err) != ECRED_OK) {
        svc_log(SVC_ERROR, "cannot restart the listener with the new TLS files; not serving", "why", err);
        return;
    }
    issuerd_set_server(d, *srv);
    svc_log(SVC_INFO, "restarted the listener with re-read TLS files", "listen", o->listen);
}

/* Log a key switch and append it to the audit log (the kid only). */
static void key_switched(issuerd *d)
{
    ecred_key *k = keyring_for(d->keys, (int64_t)time(NULL));
    char kid[2 * ECRED_KID_LEN + 1];
    ecred_hex(ecred_key_kid(k), ECRED_KID_LEN, kid);
    ecred_key_free(k);
    svc_log(SVC_INFO, "signing key switched", "kid", kid);
    reg_db *db = reg_pool_get(d->pool);
    ecred_err e = audit_record(db, AUDIT_KEY_CHANGE, kid, "operator", (int64_t)time(NULL));
    reg_pool_put(d->pool, db);
    if (e)
        svc_log(SVC_ERROR, "cannot append the key change to the audit log", "error",
                ecred_err_name(e));
}

/* `audit verify --data DIR [--registry URL] [--checkpoint FILE --key PUB.pem]`:
 * recompute the chain from the registry; with a checkpoint published
 * earlier, also check that the log still holds it (size not shrunk, same
 * head over that prefix), which catches a removed tail the chain alone
 * cannot. Exit 0 intact, 1 broken or unreadable, 2 usage. */
static int cmd_audit_verify(int argc, char **argv)
{
    const char *data = NULL, *registry = NULL, *cp_path = NULL, *key_path = NULL;
    for (int i = 3; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--data") == 0         ? &data
                            : strcmp(argv[i], "--registry") == 0   ? &registry
                            : strcmp(argv[i], "--checkpoint") == 0 ? &cp_path
                            : strcmp(argv[i], "--key") == 0        ? &key_path
                                                                   : NULL;
        if (!slot || i + 1 >= argc || *slot) {
            fprintf(stderr, "usage: ecred-issuerd audit verify --data DIR [--registry URL]\n"
                            "                                  [--checkpoint FILE [--key PUB.pem]]\n");
            return EXIT_USAGE;
        }
        *slot = argv[++i];
    }
    if (!data) {
        fprintf(stderr, "ecred-issuerd: audit verify: --data DIR is required\n");
        return EXIT_USAGE;
    }
    opts o;
    memset(&o, 0, sizeof o);
    o.data = data;
    o.registry = registry;
    char url[PATH_CAP + 8];
    if (!registry_url(&o, url))
        return EXIT_USAGE;
    reg_db *db = NULL;
    ecred_err e = reg_open_url(url, &db);
    if (e) {
        fail_msg("cannot open registry", url, e);
        return EXIT_FAIL;
    }
    audit_report rep;
    e = audit_verify(db, &rep);
    int rc = 0;
    if (e == ECRED_ERR_SIGNATURE_INVALID) {
        printf("audit log BROKEN at entry %llu: %s\n", (unsigned long long)rep.bad_seq, rep.why);
        rc = EXIT_FAIL;
    } else if (e) {
        fail_msg("cannot read the audit log in", url, e);
        rc = EXIT_FAIL;
    } else {
        char root[48];
        ecred_base64_encode(rep.root, 32, root, sizeof root);
        printf("audit log intact: %llu entries, tree head %s\n", (unsigned long long)rep.entries,
               root);
    }
    if (rc == 0 && cp_path) {
        char pub[PATH_CAP];
        if (!key_path && data_path(data, "signing.pub.pem", pub))
            key_path = pub;
        ecred_key *key = NULL;
        ecred_buf text = ECRED_BUF_INIT;
        ecred_checkpoint cp;
        ecred_merkle_hash *leaves = NULL;
        uint64_t n = 0;
        if ((e = ecred_key_public_load(key_path, &key)) != ECRED_OK ||
            (e = ecred_read_file(cp_path, ECRED_CHECKPOINT_MAX, &text)) != ECRED_OK ||
            (e = ecred_checkpoint_verify(text.ptr, text.len, &key, 1, &cp)) != ECRED_OK) {
            fail_msg("cannot check the checkpoint", cp_path, e);
            rc = EXIT_FAIL;
        } else if ((e = audit_leaves(db, &leaves, &n)) != ECRED_OK) {
            fail_msg("cannot read the audit log in", url, e);
            rc = EXIT_FAIL;
        } else {
            ecred_merkle_hash head;
            if (cp.size <= n)
                ecred_merkle_root((const ecred_merkle_hash *)leaves, cp.size, head);
            if (cp.size > n || memcmp(head, cp.root, 32) != 0) {
                printf("audit log BROKEN: it no longer holds the checkpoint of %llu entries "
                       "(%s)\n",
                       (unsigned long long)cp.size,
                       cp.size > n ? "entries were removed" : "an entry was changed");
                rc = EXIT_FAIL;
            } else {
                printf("checkpoint of %llu entries: contained\n", (unsigned long long)cp.size);
            }
        }
        free(leaves);
        ecred_buf_free(&text);
        ecred_key_free(key);
    }
    reg_close(db);
    return rc;
}

static int cmd_serve(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    o.client_conns = -1;
    if (!parse_opts(argc, argv, 1, false, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct sockaddr_storage listen_addr;
    bool listen_v6;
    if (ecred_listen_parse(o.listen, &listen_addr, &listen_v6) != ECRED_OK) {
        fprintf(stderr, "ecred-issuerd: --listen must be IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:8443\n");
        return EXIT_USAGE;
    }
    if (o.iss && strlen(o.iss) > ECRED_ISS_MAX) {
        fprintf(stderr, "ecred-issuerd: --iss is longer than %d bytes\n", ECRED_ISS_MAX);
        return EXIT_USAGE;
    }
    char base[ECRED_URI_MAX + 1];
    if (o.status_base) {
        if ((strncmp(o.status_base, "http://", 7) != 0 && strncmp(o.status_base, "https://", 8) != 0) ||
            strlen(o.status_base) > ECRED_URI_MAX - 20) {
            fprintf(stderr, "ecred-issuerd: --status-base-url must be an http(s) URL of at most %d bytes\n",
                    ECRED_URI_MAX - 20);
            return EXIT_USAGE;
        }
        snprintf(base, sizeof base, "%s", o.status_base);
    } else {
        snprintf(base, sizeof base, "%s://%s", o.tls_cert ? "https" : "http", o.listen);
    }
    struct stat st;
    if (stat(o.data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ecred-issuerd: --data %s is not a directory\n", o.data);
        return EXIT_USAGE;
    }

    /* One daemon per data directory; restore refuses while it runs. */
    int lock = ops_lock_data(o.data, "serve");
    if (lock < 0)
        return EXIT_FAIL;
    int rc = EXIT_FAIL;
    issuerd d;
    memset(&d, 0, sizeof d);
    pthread_mutex_init(&d.trust_mu, NULL);
    snprintf(d.iss, sizeof d.iss, "%s", o.iss ? o.iss : "ecred-issuer");
    audit_pub audit;
    audit_pub_init(&audit, d.iss);
    d.audit = &audit;
    svc_server *srv = NULL;
    rotation rot = {NULL, 0};
    int64_t key_created = 0;
    ecred_err e;
    unsigned threads = o.threads ? o.threads : 4;

    /* Block the stop signals before any thread starts, so only sigwait sees them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    char url[PATH_CAP + 8];
    if (!registry_url(&o, url)) {
        rc = EXIT_USAGE;
        goto out;
    }
    if ((e = reg_pool_open_url(url, threads, &d.pool)) != ECRED_OK) {
        fail_msg("cannot open registry", registry_for_msg(url), e);
        goto out;
    }
    if (o.list_size) {
        reg_pool_set_list_size(d.pool, o.list_size);
        if (o.list_size < REG_LIST_SIZE_DEFAULT)
            svc_log(SVC_WARNING, "--list-size below 131072 weakens herd privacy (tests only)", NULL, NULL);
    }
    if ((e = load_tracking_secret(o.data, d.tracking_secret)) != ECRED_OK)
        goto out;
    /* Benchmarks only (bench/hsm_audit.sh): the cost of the audit log. */
    if (getenv("ECRED_BENCH_NO_AUDIT")) {
        reg_audit_disable_for_bench();
        svc_log(SVC_WARNING, "audit log OFF (ECRED_BENCH_NO_AUDIT, benchmarks only)", NULL, NULL);
    }
    if (o.pin_file && setenv("ECRED_PKCS11_PIN_FILE", o.pin_file, 1) != 0)
        goto out;
    bool key_made = false;
    if ((e = setup_signing_key(o.data, o.signing_key, true, &d.sign_key, &key_created, &key_made)) !=
        ECRED_OK)
        goto out;
    if ((e = keyring_new(d.sign_key, &d.keys)) != ECRED_OK)
        goto out;
    if (o.next_key) {
        ecred_key *next = NULL;
        if ((e = ecred_key_open(o.next_key, &next)) != ECRED_OK) {
            fail_msg("cannot open the next signing key", o.next_key, e);
            goto out;
        }
        keyring_set_next(d.keys, next, o.switch_at);
        rot.next = next; /* the reference is rot's now */
        rot.switch_at = o.switch_at;
    }
    if ((e = statuspub_new(d.sign_key, base, o.status_ttl ? o.status_ttl : STATUSPUB_TTL_DEFAULT,
                           STATUSPUB_LIFETIME_DEFAULT, &d.pub)) != ECRED_OK) {
        fprintf(stderr, "ecred-issuerd: status base URL unusable: %s\n", ecred_err_message(e));
        rc = EXIT_USAGE;
        goto out;
    }
    statuspub_set_keyring(d.pub, d.keys);
    d.key_created = key_created;
    /* New lists record the URI they are opened with (issue 17 trap 2). */
    reg_pool_set_status_prefix(d.pool, statuspub_prefix(d.pub));
    setup_trust_info ti;
    if ((e = setup_trust_list(o.data, o.root_key, d.sign_key, key_created, rot.next, rot.switch_at, d.iss,
                              statuspub_prefix(d.pub), key_made, &d.trust_list, &ti)) != ECRED_OK)
        goto out;
    issuerd_set_trust_info(&d, ti.exp, ti.sign_until);

    char err[256] = "";
    if ((e = svc_assets_open(issuer_assets, issuer_assets_count, o.assets, &d.assets, err, sizeof err)) !=
        ECRED_OK) {
        fprintf(stderr, "ecred-issuerd: pages: %s\n", err);
        goto out;
    }
    if (o.oidc_issuer || o.notify_webhook) {
        if ((e = outcall_global_init()) != ECRED_OK)
            goto out;
    }
    if (o.oidc_issuer) {
        /* The redirect URI the provider has registered for us; by default
         * this listener's own callback. */
        char redirect[OIDC_URL_MAX + 1];
        snprintf(redirect, sizeof redirect, "%s://%s/v1/resident/callback", o.tls_cert ? "https" : "http",
                 o.listen);
        oidc_config oc = {.issuer = o.oidc_issuer,
                          .client_id = o.oidc_client_id,
                          .audience = o.oidc_audience,
                          .redirect_uri = o.oidc_redirect ? o.oidc_redirect : redirect};
        if ((e = oidc_open(&oc, &d.oidc)) != ECRED_OK || (e = res_store_new(&d.residents)) != ECRED_OK) {
            fprintf(stderr, "ecred-issuerd: --oidc-issuer must be an https URL (http only on loopback)\n");
            rc = EXIT_USAGE;
            goto out;
        }
        d.cookie_secure = o.tls_cert != NULL;
    }
    if (o.notify_webhook) {
        /* The outbox is a registry table (shared resident sessions): shared by every instance. */
        notify_config nc = {.webhook = o.notify_webhook, .interval_s = o.notify_interval,
                            .lease_s = o.notify_lease, .pool = d.pool};
        if ((e = notify_start(&nc, &d.notify)) != ECRED_OK) {
            fprintf(stderr, "ecred-issuerd: --notify-webhook: %s\n", ecred_err_message(e));
            rc = EXIT_USAGE;
            goto out;
        }
    }
    d.started_at = (int64_t)time(NULL);
    svc_config cfg = {
        .name = "issuer",
        .listen = o.listen,
        .tls_cert_path = o.tls_cert,
        .tls_key_path = o.tls_key,
        .threads = threads,
        .body_max = SVC_BODY_DEFAULT,
        .conn_memory = (size_t)128 * 1024,
        .per_ip_limit = o.client_conns < 0 ? SVC_PER_IP_DEFAULT : (unsigned)o.client_conns,
        .routes = issuer_routes,
        .n_routes = issuer_n_routes,
        .guard = routes_guard,
        .release = routes_release,
        .app = &d,
    };
    if (svc_start(&cfg, &srv, err, sizeof err) != ECRED_OK) {
        fprintf(stderr, "ecred-issuerd: %s\n", err);
        goto out;
    }
    issuerd_set_server(&d, srv);
    svc_log(SVC_INFO, "listening", "listen", o.listen);
    trust_expiry_warn(&d);
    int sig = 0;
    uint64_t seen_generation = keyring_generation(d.keys);
    int64_t warned_at = (int64_t)time(NULL);
    for (;;) {
        /* Wake every second: a staged key takes over at its switch time even
         * when no request asks for a key (status lists, the audit entry). */
        struct timespec tick = {1, 0};
        sig = sigtimedwait(&stop, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP)
            reload(&d, &o, key_created, &rot, &cfg, &srv);
        int64_t now = (int64_t)time(NULL);
        /* Repeat the trust list expiry warning hourly. */
        if (now - warned_at >= 3600) {
            warned_at = now;
            trust_expiry_warn(&d);
        }
        ecred_key_free(keyring_for(d.keys, now));
        uint64_t g = keyring_generation(d.keys);
        if (g != seen_generation) {
            seen_generation = g;
            key_switched(&d);
        }
    }
    svc_log(SVC_INFO, "stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    rc = 0;
out:
    /* Stop serving first: in-flight requests finish and commit before the
     * registry closes. */
    svc_stop(srv);
    notify_stop(d.notify);
    oidc_close(d.oidc);
    res_store_free(d.residents);
    svc_assets_free(d.assets);
    statuspub_free(d.pub);
    reg_pool_close(d.pool);
    audit_pub_free(&audit);
    pthread_mutex_destroy(&d.trust_mu);
    keyring_free(d.keys);
    ecred_key_free(d.sign_key);
    ecred_buf_free(&d.trust_list);
    ecred_key_free(rot.next);
    ecred_wipe(d.tracking_secret, sizeof d.tracking_secret);
    close(lock);
    if (rc == 0)
        svc_log(SVC_INFO, "stopped", NULL, NULL);
    return rc;
}

/* Check a registry URL given on the command line; false (and why) if this
 * build cannot open it. Never prints the URL: it may carry a password. */
static bool url_usable(const char *opt, const char *url)
{
    const char *why = reg_url_check(url);
    if (why)
        fprintf(stderr, "ecred-issuerd: %s: %s\n", opt, why);
    return why == NULL;
}

/* ecred-issuerd migrate --registry URL: open (which migrates) and report. */
static int cmd_migrate(int argc, char **argv)
{
    if (argc == 3 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 4 || strcmp(argv[2], "--registry") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!url_usable("--registry", argv[3]))
        return EXIT_USAGE;
    reg_db *db = NULL;
    int64_t version = 0;
    ecred_err e = reg_open_url(argv[3], &db);
    if (!e)
        e = reg_schema_version(db, &version);
    if (e) {
        fprintf(stderr, "ecred-issuerd: migrate: cannot open or migrate the registry: %s\n",
                ecred_err_message(e));
        reg_close(db);
        return EXIT_FAIL;
    }
    printf("registry (%s) at schema version %lld\n", reg_backend_name(db), (long long)version);
    reg_close(db);
    return 0;
}

/* ecred-issuerd registry copy --from URL --to URL. */
static int cmd_registry_copy(int argc, char **argv)
{
    if (argc == 4 && (strcmp(argv[3], "-h") == 0 || strcmp(argv[3], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    const char *from = NULL, *to = NULL;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--from") == 0 && !from)
            from = argv[i + 1];
        else if (strcmp(argv[i], "--to") == 0 && !to)
            to = argv[i + 1];
        else
            from = to = NULL, i = argc;
    }
    if (argc != 7 || !from || !to) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!url_usable("--from", from) || !url_usable("--to", to))
        return EXIT_USAGE;
    reg_copy_stats st;
    memset(&st, 0, sizeof st);
    ecred_err e = reg_copy(from, to, &st);
    if (e == ECRED_ERR_EXISTS) {
        fprintf(stderr, "ecred-issuerd: registry copy: the destination is not empty; nothing copied\n");
        return EXIT_FAIL;
    }
    if (e) {
        fprintf(stderr, "ecred-issuerd: registry copy failed, the destination is unchanged: %s\n",
                ecred_err_message(e));
        return EXIT_FAIL;
    }
    printf("copied: %llu tokens, %llu applications, %llu idempotency keys, %llu commitments,"
           " %llu status lists, %llu credentials, %llu status events, %llu list tokens,"
           " %llu holder bindings, %llu audit entries\n",
           (unsigned long long)st.tokens, (unsigned long long)st.applications,
           (unsigned long long)st.idempotency, (unsigned long long)st.commitments,
           (unsigned long long)st.lists, (unsigned long long)st.credentials,
           (unsigned long long)st.events, (unsigned long long)st.list_tokens,
           (unsigned long long)st.holder_bindings, (unsigned long long)st.audit_entries);
    return 0;
}

int main(int argc, char **argv)
{
    /* SQLite creates registry.sqlite (and its -wal/-shm) under the umask; the
     * registry holds personal data, so nothing we create is readable by group
     * or others unless we say so (public files get an explicit fchmod). */
    umask(077);
    svc_log_init("issuer");
    if (argc >= 2 && strcmp(argv[1], "audit") == 0) {
        if (argc < 3 || strcmp(argv[2], "verify") != 0) {
            fprintf(stderr, "ecred-issuerd: the audit command is: audit verify --data DIR\n");
            return EXIT_USAGE;
        }
        return cmd_audit_verify(argc, argv);
    }
    if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
        return cmd_migrate(argc, argv);
    if (argc >= 2 && strcmp(argv[1], "registry") == 0) {
        if (argc < 3 || strcmp(argv[2], "copy") != 0) {
            fprintf(stderr, "ecred-issuerd: the registry command is: registry copy --from URL --to URL\n");
            return EXIT_USAGE;
        }
        return cmd_registry_copy(argc, argv);
    }
    bool handled = false;
    int code = ops_cmd_run(argc, argv, &handled);
    if (handled)
        return code;
    return cmd_serve(argc, argv);
}
