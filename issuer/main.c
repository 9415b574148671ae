/*
 * main.c - ecred-issuerd: command line, data directory setup and the daemon's
 * life (start, serve until SIGTERM/SIGINT, stop cleanly).
 *
 *   ecred-issuerd --data DIR --listen HOST:PORT [--tls-cert PEM --tls-key PEM]
 *                 [--status-base-url URL] [--iss NAME] [--threads N]
 *                 [--status-ttl SECONDS] [--list-size N] [--registry URL]
 *   ecred-issuerd token add --data DIR --role clerk|officer|admin [--registry URL]
 *   ecred-issuerd audit verify --data DIR [--registry URL] [--checkpoint FILE [--key PEM]]
 *   ecred-issuerd migrate --registry URL
 *   ecred-issuerd registry copy --from URL --to URL
 *
 * --registry names the registry (registry.h): sqlite:PATH (a bare path is
 * sqlite too) or postgres://... (libpq URI); the default is
 * sqlite:DIR/registry.sqlite. Opening a registry applies its migrations;
 * `migrate` does only that (for an operator who upgrades before starting
 * instances). `registry copy` moves a whole registry into an empty one.
 * The data directory holds registry.sqlite (WAL), signing.key.pem (0600),
 * tracking.secret (0600) and the trust list trust.cwt. On a first start with
 * no trust list it makes a self-contained setup: a root key (root.key.pem,
 * 0600) whose public key goes to root.pub.pem, and a trust list signed by it
 * naming the signing key. While root.key.pem is present the list is re-signed
 * at every start; in production the root stays offline, trust.cwt is made
 * with ecred-keys and installed, and is served as is.
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
#include "outcall.h"
#include "resident.h"
#include "svc_log.h"

/* The pages under issuer/web/, embedded at build time (service/embed.cmake). */
extern const svc_asset_src issuer_assets[];
extern const size_t issuer_assets_count;

#define EXIT_USAGE 2
#define EXIT_FAIL 1
#define PATH_CAP 4096
#define TRUST_LIFETIME (365 * 86400)

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
            "                      [--oidc-redirect-uri URL]] [--notify-webhook URL [--notify-interval S]]\n"
            "       ecred-issuerd token add --data DIR --role clerk|officer|admin [--registry URL]\n"
            "       ecred-issuerd migrate --registry URL\n"
            "       ecred-issuerd registry copy --from URL --to URL\n");
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

/* Load the signing key, making it (and its public PEM) on first start. */
static ecred_err load_signing_key(const char *dir, const char *ref, ecred_key **out,
                                  int64_t *created)
{
    char path[PATH_CAP], pub[PATH_CAP];
    if (!data_path(dir, "signing.key.pem", path) || !data_path(dir, "signing.pub.pem", pub))
        return ECRED_ERR_TOO_LARGE;
    ecred_err e;
    if (ref && ecred_key_ref_is_store(ref)) {
        /* A token key is made with ecred-keys gen (inside the token), never
         * here; its public half is rewritten so it always matches. */
        if ((e = ecred_key_open(ref, out)) != ECRED_OK) {
            fail_msg("cannot open the signing key", ref, e);
            return e;
        }
        *created = (int64_t)time(NULL);
        ecred_buf pem = ECRED_BUF_INIT;
        if ((e = ecred_key_public_pem(*out, &pem)) == ECRED_OK)
            e = ecred_write_file_atomic(pub, pem.ptr, strnlen((const char *)pem.ptr, pem.len), 0644);
        ecred_buf_free(&pem);
        if (e)
            fail_msg("cannot write", pub, e);
        return e;
    }
    if (ref && snprintf(path, sizeof path, "%s", ref) >= (int)sizeof path)
        return ECRED_ERR_TOO_LARGE;
    if (!file_exists(path)) {
        ecred_key *k = NULL;
        if ((e = ecred_key_generate(ECRED_COSE_ALG_ES256, &k)) == ECRED_OK)
            e = ecred_key_private_save(k, path);
        ecred_key_free(k);
        if (e) {
            fail_msg("cannot create", path, e);
            return e;
        }
        svc_log(SVC_INFO, "created signing key", "file", "signing.key.pem");
    }
    if ((e = ecred_key_open(path, out)) != ECRED_OK) {
        fail_msg("cannot load", path, e);
        return e;
    }
    struct stat st;
    *created = lstat(path, &st) == 0 ? (int64_t)st.st_mtime : (int64_t)time(NULL);
    if (!file_exists(pub)) {
        ecred_buf pem = ECRED_BUF_INIT;
        if ((e = ecred_key_public_pem(*out, &pem)) == ECRED_OK)
            e = ecred_write_file_atomic(pub, pem.ptr, strnlen((const char *)pem.ptr, pem.len), 0644);
        ecred_buf_free(&pem);
        if (e) {
            fail_msg("cannot write", pub, e);
            return e;
        }
    }
    return ECRED_OK;
}

/* Sign a fresh trust list with the local root (self-contained setup). */
static ecred_err make_trust_list(const char *dir, const char *root_ref, issuerd *d,
                                 int64_t key_created, ecred_key *next, int64_t switch_at)
{
    char root_path[PATH_CAP], root_pub[PATH_CAP], trust_path[PATH_CAP];
    if (!data_path(dir, "root.key.pem", root_path) || !data_path(dir, "root.pub.pem", root_pub) ||
        !data_path(dir, "trust.cwt", trust_path))
        return ECRED_ERR_TOO_LARGE;
    if (root_ref && snprintf(root_path, sizeof root_path, "%s", root_ref) >= (int)sizeof root_path)
        return ECRED_ERR_TOO_LARGE;
    ecred_err e;
    ecred_key *root = NULL;
    ecred_buf pem = ECRED_BUF_INIT;
    if (!ecred_key_ref_is_store(root_path) && !file_exists(root_path)) {
        if ((e = ecred_key_generate(ECRED_COSE_ALG_ES256, &root)) == ECRED_OK)
            e = ecred_key_private_save(root, root_path);
        ecred_key_free(root);
        root = NULL;
        if (e) {
            fail_msg("cannot create", root_path, e);
            return e;
        }
        svc_log(SVC_INFO, "created root key (keep it offline in production)", "file", "root.key.pem");
    }
    if ((e = ecred_key_open(root_path, &root)) != ECRED_OK) {
        fail_msg("cannot load", root_path, e);
        return e;
    }
    /* root.pub.pem is what verifiers are given; rewrite it so it always
     * matches the root that signs (atomic, public). */
    if ((e = ecred_key_public_pem(root, &pem)) == ECRED_OK)
        e = ecred_write_file_atomic(root_pub, pem.ptr, strnlen((const char *)pem.ptr, pem.len), 0644);
    if (e) {
        fail_msg("cannot write", root_pub, e);
        goto out;
    }
    int64_t now = (int64_t)time(NULL);
    /* The signing key, and during a rotation the next one: the current key
     * signs until the switch second, the next from it, so every signature
     * either makes falls inside its key's window. */
    ecred_trustlist_entry ents[2];
    memset(ents, 0, sizeof ents);
    ecred_trustlist_entry *ent = &ents[0];
    size_t n_ents = 1;
    ent->key = d->sign_key;
    ent->sign_from = (uint64_t)(key_created > 3600 ? key_created - 3600 : 0);
    ent->sign_until = (uint64_t)(now + TRUST_LIFETIME);
    ent->types = ECRED_TRUST_BITS_ALL;
    snprintf(ent->status_uri_prefix, sizeof ent->status_uri_prefix, "%s", statuspub_prefix(d->pub));
    if (next) {
        ents[1] = ents[0];
        ents[1].key = next;
        ents[1].sign_from = (uint64_t)switch_at;
        ents[0].sign_until = (uint64_t)switch_at;
        n_ents = 2;
    }
    ecred_trustlist tl;
    memset(&tl, 0, sizeof tl);
    snprintf(tl.iss, sizeof tl.iss, "%s", d->iss);
    tl.iat = (uint64_t)now;
    tl.exp = (uint64_t)(now + TRUST_LIFETIME);
    tl.seq = (uint64_t)now; /* a later start signs a higher sequence: no rollback */
    tl.n_entries = n_ents;
    tl.entries = ents;
    ecred_buf signed_list = ECRED_BUF_INIT;
    if ((e = ecred_trustlist_sign(root, &tl, &signed_list)) != ECRED_OK) {
        ecred_buf_free(&signed_list);
        fail_msg("cannot sign the trust list for", trust_path, e);
        goto out;
    }
    pthread_mutex_lock(&d->trust_mu);
    ecred_buf_free(&d->trust_list);
    d->trust_list = signed_list;
    pthread_mutex_unlock(&d->trust_mu);
    if ((e = ecred_write_file_atomic(trust_path, d->trust_list.ptr, d->trust_list.len, 0644)) != ECRED_OK)
        fail_msg("cannot write", trust_path, e);
out:
    ecred_buf_free(&pem);
    ecred_key_free(root);
    return e;
}

/* The trust list: re-signed with a local root, else the installed one. */
static ecred_err load_trust_list(const char *dir, const char *root_ref, issuerd *d,
                                 int64_t key_created)
{
    char root_path[PATH_CAP], trust_path[PATH_CAP], root_pub[PATH_CAP];
    if (!data_path(dir, "root.key.pem", root_path) || !data_path(dir, "trust.cwt", trust_path) ||
        !data_path(dir, "root.pub.pem", root_pub))
        return ECRED_ERR_TOO_LARGE;
    bool installed = file_exists(trust_path);
    if (root_ref || file_exists(root_path) || (!installed && !file_exists(root_pub))) {
        int64_t switch_at = 0;
        ecred_key *next = d->keys ? keyring_next(d->keys, &switch_at) : NULL;
        ecred_err me = make_trust_list(dir, root_ref, d, key_created, next, switch_at);
        ecred_key_free(next);
        return me;
    }
    if (!installed) {
        fprintf(stderr, "ecred-issuerd: %s is missing: install the trust list made with "
                        "ecred-keys (the root key is offline)\n", trust_path);
        return ECRED_ERR_IO;
    }
    ecred_err e = ecred_read_file(trust_path, ECRED_TRUSTLIST_MAX_BYTES, &d->trust_list);
    if (e) {
        fail_msg("cannot read", trust_path, e);
        return e;
    }
    /* Check that the installed list verifies and names our key, so a wrong
     * file is caught at start and not by every verifier. Without a usable
     * root.pub.pem there is nothing to check it with: refuse (api.md), never
     * serve an unchecked list. */
    ecred_key *root = NULL;
    if ((e = ecred_key_public_load(root_pub, &root)) != ECRED_OK) {
        fail_msg("cannot load (needed to check the installed trust list)", root_pub, e);
        return e;
    }
    ecred_trustlist tl;
    const ecred_trustlist_entry *ent;
    e = ecred_trustlist_verify(d->trust_list.ptr, d->trust_list.len, root, (int64_t)time(NULL), &tl);
    if (!e) {
        e = ecred_trustlist_find(&tl, ecred_key_kid(d->sign_key), ECRED_KID_LEN,
                                 (int64_t)time(NULL), ECRED_TRUST_TYPE_PERMIT, &ent);
        /* Verifiers accept a credential only under its trust list's iss: a
         * daemon signing another name would issue credentials no one accepts. */
        if (!e && strcmp(tl.iss, d->iss) != 0) {
            fprintf(stderr, "ecred-issuerd: %s names the issuer \"%s\" but this daemon signs as \"%s\" "
                            "(--iss): verifiers would refuse every credential\n",
                    trust_path, tl.iss, d->iss);
            e = ECRED_ERR_TRUST_LIST;
        }
        ecred_trustlist_free(&tl);
    }
    ecred_key_free(root);
    if (e) {
        fprintf(stderr, "ecred-issuerd: %s does not verify with root.pub.pem or does not "
                        "name the signing key now: %s\n", trust_path, ecred_err_message(e));
        return e;
    }
    return ECRED_OK;
}

/* SIGHUP: the operator's "switch now". The next key may sign only inside a
 * trust-list window, so with the root at hand (self-contained setup) the list
 * is re-signed with the switch moved to now first, and the switch follows at
 * the next look; with an offline root the installed list decides and the
 * timed switch stands. */
static void switch_now(issuerd *d, const opts *o)
{
    int64_t at = 0;
    ecred_key *next = keyring_next(d->keys, &at);
    if (!next) {
        svc_log(SVC_WARNING, "SIGHUP: no next signing key staged", NULL, NULL);
        return;
    }
    char root_path[PATH_CAP];
    bool have_root = o->root_key || (data_path(o->data, "root.key.pem", root_path) &&
                                     file_exists(root_path));
    int64_t now = (int64_t)time(NULL);
    if (!have_root) {
        svc_log(SVC_WARNING, "SIGHUP: the root is offline; the next key takes over at the "
                             "switch time of the installed trust list", NULL, NULL);
    } else if (at > now) {
        /* Publish first, then move the switch: signers may promote the next
         * key the moment its time is now. */
        if (make_trust_list(o->data, o->root_key, d, d->key_created, next, now) != ECRED_OK)
            svc_log(SVC_ERROR, "SIGHUP: cannot re-sign the trust list; switch not moved", NULL,
                    NULL);
        else
            keyring_set_next(d->keys, next, now);
    }
    ecred_key_free(next);
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

static int cmd_token_add(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    if (!parse_opts(argc, argv, 3, true, &o)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!auth_role_from_name(o.role)) {
        fprintf(stderr, "ecred-issuerd: --role must be clerk, officer or admin\n");
        return EXIT_USAGE;
    }
    struct stat st;
    if (stat(o.data, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ecred-issuerd: --data %s is not a directory\n", o.data);
        return EXIT_USAGE;
    }
    char path[PATH_CAP + 8];
    if (!registry_url(&o, path))
        return EXIT_USAGE;
    reg_db *db = NULL;
    ecred_err e = reg_open_url(path, &db);
    if (e) {
        fail_msg("cannot open registry", registry_for_msg(path), e);
        return EXIT_FAIL;
    }
    char tok[AUTH_TOKEN_HEX + 1];
    e = auth_token_create(db, o.role, tok);
    reg_close(db);
    if (e) {
        fail_msg("cannot store token in", registry_for_msg(path), e);
        return EXIT_FAIL;
    }
    printf("%s\n", tok);
    ecred_wipe(tok, sizeof tok);
    return 0;
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

    int rc = EXIT_FAIL;
    issuerd d;
    memset(&d, 0, sizeof d);
    snprintf(d.iss, sizeof d.iss, "%s", o.iss ? o.iss : "ecred-issuer");
    audit_pub audit;
    audit_pub_init(&audit, d.iss);
    d.audit = &audit;
    pthread_mutex_init(&d.trust_mu, NULL);
    svc_server *srv = NULL;
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
    if ((e = load_signing_key(o.data, o.signing_key, &d.sign_key, &key_created)) != ECRED_OK)
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
        ecred_key_free(next);
    }
    if ((e = statuspub_new(d.sign_key, base, o.status_ttl ? o.status_ttl : STATUSPUB_TTL_DEFAULT,
                           STATUSPUB_LIFETIME_DEFAULT, &d.pub)) != ECRED_OK) {
        fprintf(stderr, "ecred-issuerd: status base URL unusable: %s\n", ecred_err_message(e));
        rc = EXIT_USAGE;
        goto out;
    }
    statuspub_set_keyring(d.pub, d.keys);
    d.key_created = key_created;
    if ((e = load_trust_list(o.data, o.root_key, &d, key_created)) != ECRED_OK)
        goto out;

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
        char outbox[PATH_CAP];
        if (!data_path(o.data, "outbox.sqlite", outbox)) {
            rc = EXIT_USAGE;
            goto out;
        }
        notify_config nc = {o.notify_webhook, outbox, o.notify_interval, d.pool};
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
    svc_log(SVC_INFO, "listening", "listen", o.listen);
    int sig = 0;
    uint64_t seen_generation = keyring_generation(d.keys);
    for (;;) {
        /* Wake every second: a staged key takes over at its switch time even
         * when no request asks for a key (status lists, the audit entry). */
        struct timespec tick = {1, 0};
        sig = sigtimedwait(&stop, NULL, &tick);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP)
            switch_now(&d, &o);
        ecred_key_free(keyring_for(d.keys, (int64_t)time(NULL)));
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
    ecred_wipe(d.tracking_secret, sizeof d.tracking_secret);
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
           " %llu status lists, %llu credentials, %llu status events, %llu list tokens\n",
           (unsigned long long)st.tokens, (unsigned long long)st.applications,
           (unsigned long long)st.idempotency, (unsigned long long)st.commitments,
           (unsigned long long)st.lists, (unsigned long long)st.credentials,
           (unsigned long long)st.events, (unsigned long long)st.list_tokens);
    return 0;
}

int main(int argc, char **argv)
{
    /* SQLite creates registry.sqlite (and its -wal/-shm) under the umask; the
     * registry holds personal data, so nothing we create is readable by group
     * or others unless we say so (public files get an explicit fchmod). */
    umask(077);
    svc_log_init("issuer");
    if (argc >= 2 && strcmp(argv[1], "token") == 0) {
        if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        if (argc < 3 || strcmp(argv[2], "add") != 0) {
            fprintf(stderr, "ecred-issuerd: the token command is: token add --data DIR --role ROLE\n");
            return EXIT_USAGE;
        }
        return cmd_token_add(argc, argv);
    }
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
    return cmd_serve(argc, argv);
}
