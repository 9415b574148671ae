/*
 * vd_main.c - ecred-verifierd: the verify API for agencies, police and
 * landlords' systems (spec/verifier.md section 5). This file is the command
 * line, start-up and signals; the rest is split by concern:
 *
 *   vd_state.h    the shared daemon state
 *   vd_refresh.c  snapshots and the background sync thread
 *   vd_keys.c     API keys, reloaded while running
 *   vd_routes.c   the route table and the API-key guard
 *   h_*.c         one handler per route; vd_metrics.c is /metrics
 *   vd_keycmd.c   `key add|list|remove`
 *   apierr.c      the API's error table
 *
 * The HTTP side is the shared layer (service/svc_http.h): caps, TLS, HEAD,
 * 405 with Allow, the JSON access log. SIGHUP re-reads DIR/api-keys at once;
 * SIGINT and SIGTERM stop after in-flight requests finish.
 *
 * Must never: answer /v1/verify without a valid key, show a field the key's
 * role does not allow, keep or log a scanned credential or any personal
 * field (the access log carries route, status, reason, key id and duration).
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "svc_log.h"
#include "vd_main.h"
#include "vd_state.h"
#include "ecred/listen.h"
#include "ecred/version.h"
#include "vbody.h"
#include "vutil.h"

extern const svc_asset_src verifier_assets[];
extern const size_t verifier_assets_count;

static void usage(FILE *f)
{
    fputs("usage: ecred-verifierd --cache DIR --issuer URL --listen IPv4:PORT|[IPv6]:PORT\n"
          "                       [--root ROOT.pem] [--refresh INTERVAL] [--max-age DURATION]\n"
          "                       [--tls-cert PEM --tls-key PEM] [--max-client-conns N] [--rate N/min]\n"
          "                       [--verifier-id ID] [--skew DURATION] [--replay-cap N]\n"
          "                       [--challenge-ttl SECONDS]\n"
          "       ecred-verifierd key add --cache DIR --role police|landlord|agency [--fields a,b,c]\n"
          "                               [--holder optional|required|challenge]\n"
          "                               [--label TEXT] [--expires-in DAYS]\n"
          "       ecred-verifierd key list --cache DIR\n"
          "       ecred-verifierd key remove --cache DIR ID\n"
          "\n"
          "Serves POST /v1/verify (Authorization: Bearer KEY; body: QR text or {\"qr\": \"...\"}),\n"
          "GET /healthz, GET /metrics and a landing page at GET /. The cache is synced from the\n"
          "issuer at start and every INTERVAL (default 5m); --root is needed only if DIR was\n"
          "never synced. --max-age (default 24h) is the oldest status data that may say VALID.\n"
          "--tls-cert and --tls-key (PEM files, both or neither) serve HTTPS.\n"
          "--rate N/min (default 120/min, 0: none) limits each API key: a QR text costs 1,\n"
          "a photo (POST /v1/scan-image) 4; over it the answer is 429 with Retry-After.\n"
          "The scanner page for phones is GET /scan.\n"
          "Live codes (RP1) are remembered for replay in one cache of --replay-cap entries\n"
          "(default 100000; full: 503); --skew (default 60s, max 300s) is the allowed phone\n"
          "clock difference; --verifier-id (default ecred-verifierd) is the aud our\n"
          "challenges name. POST /v1/challenges makes a challenge for POST /v1/verify\n"
          "{\"qr\", \"challenge\"} (or POST /v1/scan-image?challenge=ID), answerable for\n"
          "--challenge-ttl SECONDS (10..600, default 120). GET /v1/scanner tells a key's\n"
          "scanner its role, holder policy, verifier id and challenge lifetime. key add --holder raises a key's holder policy above its\n"
          "role's (police: required; landlord and agency: optional, a static code then\n"
          "says \"holder not proven\").\n"
          "key add prints a new API key once; only its SHA-256 is kept in DIR/api-keys.\n"
          "key list shows each key's id, role and fields (never the key); key remove\n"
          "takes the id. A running daemon sees added and removed keys within 1 second\n"
          "(or at once on SIGHUP).\n"
          "Agency fields: type name id_number id_number_masked sex birth_date\n"
          "address_division address housing hukou_division registration_date authority\n"
          "valid_from valid_until endorsement_date iss iat exp cti.\n",
          f);
}

typedef struct vd_opts {
    const char *listen, *refresh, *max_age, *tls_cert, *tls_key, *client_conns, *rate, *replay_cap, *skew;
    const char *challenge_ttl;
    unsigned per_ip;
    unsigned per_minute; /* --rate, parsed */
} vd_opts;

/* Parse the serve command line into d and o; returns 0, or the exit code
 * (0 with *done for --help). */
static int parse_args(int argc, char **argv, vd *d, vd_opts *o, bool *done)
{
    *done = false;
    static const struct option opts[] = {
        {"cache", required_argument, NULL, 'c'},     {"issuer", required_argument, NULL, 'u'},
        {"root", required_argument, NULL, 'r'},      {"listen", required_argument, NULL, 'l'},
        {"refresh", required_argument, NULL, 'R'},   {"max-age", required_argument, NULL, 'm'},
        {"tls-cert", required_argument, NULL, 'C'},  {"tls-key", required_argument, NULL, 'K'},
        {"max-client-conns", required_argument, NULL, 'n'}, {"help", no_argument, NULL, 'h'},
        {"rate", required_argument, NULL, 'q'},      {"version", no_argument, NULL, 'V'},
        {"replay-cap", required_argument, NULL, 'P'}, {"skew", required_argument, NULL, 'S'},
        {"verifier-id", required_argument, NULL, 'I'}, {"challenge-ttl", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        const char **slot = NULL;
        switch (c) {
        case 'h': usage(stdout); *done = true; return 0;
        case 'V': printf("ecred-verifierd %s\n", ECRED_VERSION); *done = true; return 0;
        case ':':
            fprintf(stderr, "ecred-verifierd: option %s needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        case 'c': slot = &d->dir; break;
        case 'u': slot = &d->issuer; break;
        case 'r': slot = &d->root; break;
        case 'l': slot = &o->listen; break;
        case 'R': slot = &o->refresh; break;
        case 'm': slot = &o->max_age; break;
        case 'C': slot = &o->tls_cert; break;
        case 'K': slot = &o->tls_key; break;
        case 'n': slot = &o->client_conns; break;
        case 'q': slot = &o->rate; break;
        case 'P': slot = &o->replay_cap; break;
        case 'S': slot = &o->skew; break;
        case 'I': slot = &d->verifier_id; break;
        case 'T': slot = &o->challenge_ttl; break;
        default:
            fprintf(stderr, "ecred-verifierd: unknown option %s (see --help)\n", argv[optind - 1]);
            return 2;
        }
        if (*slot) {
            fprintf(stderr, "ecred-verifierd: option %s given twice\n", argv[optind - 1]);
            return 2;
        }
        *slot = optarg;
    }
    if (optind != argc) {
        fprintf(stderr, "ecred-verifierd: unexpected argument %s (see --help)\n", argv[optind]);
        return 2;
    }
    if (!d->dir || !d->issuer || !o->listen) {
        usage(stderr);
        fprintf(stderr, "ecred-verifierd: --cache, --issuer and --listen are required\n");
        return 2;
    }
    struct sockaddr_storage sa;
    bool v6 = false;
    if (ecred_listen_parse(o->listen, &sa, &v6) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: --listen must be IPv4:PORT or [IPv6]:PORT, e.g. 127.0.0.1:8444 or "
                        "[::1]:8444\n");
        return 2;
    }
    if ((o->tls_cert != NULL) != (o->tls_key != NULL)) {
        fprintf(stderr, "ecred-verifierd: --tls-cert and --tls-key go together\n");
        return 2;
    }
    if (o->client_conns) {
        uint64_t n;
        if (!svc_parse_u64(o->client_conns, 1024, &n)) {
            fprintf(stderr, "ecred-verifierd: --max-client-conns takes 0..1024 (0: no limit)\n");
            return 2;
        }
        o->per_ip = (unsigned)n;
    } else {
        o->per_ip = SVC_PER_IP_DEFAULT;
    }
    d->refresh = VD_DEFAULT_REFRESH;
    d->max_age = VD_DEFAULT_MAX_AGE;
    if ((o->refresh && vutil_parse_duration(o->refresh, &d->refresh) != ECRED_OK) ||
        (o->max_age && vutil_parse_duration(o->max_age, &d->max_age) != ECRED_OK)) {
        fprintf(stderr, "ecred-verifierd: --refresh and --max-age take durations (90s, 15m, 24h, 7d)\n");
        return 2;
    }
    o->per_minute = VRATE_DEFAULT;
    if (o->rate && vrate_parse(o->rate, &o->per_minute) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: --rate takes N/min (0..%u, 0: no limit), e.g. 120/min\n",
                (unsigned)VRATE_PER_MINUTE_MAX);
        return 2;
    }
    d->skew = ECRED_PRESENT_SKEW_DEFAULT;
    if (o->skew && (vutil_parse_duration(o->skew, &d->skew) != ECRED_OK || d->skew > ECRED_PRESENT_SKEW_MAX)) {
        fprintf(stderr, "ecred-verifierd: --skew takes a duration up to 300s\n");
        return 2;
    }
    /* Whole seconds only: the answer's ttl_seconds and the page's countdown
     * count them, and a unit here would invite "2m" for a phone's 120 s. */
    d->challenge_ttl = VCHAL_TTL_DEFAULT;
    uint64_t ttl = 0;
    if (o->challenge_ttl) {
        if (!svc_parse_u64(o->challenge_ttl, (uint64_t)VCHAL_TTL_MAX, &ttl) || ttl < (uint64_t)VCHAL_TTL_MIN) {
            fprintf(stderr, "ecred-verifierd: --challenge-ttl takes whole seconds, %d..%d\n", (int)VCHAL_TTL_MIN,
                    (int)VCHAL_TTL_MAX);
            return 2;
        }
        d->challenge_ttl = (int64_t)ttl;
    }
    if (!d->verifier_id)
        d->verifier_id = VD_VERIFIER_ID_DEFAULT;
    if (!vchal_aud_ok(d->verifier_id)) {
        fprintf(stderr, "ecred-verifierd: --verifier-id: 1..64 of A-Z a-z 0-9 . _ : / -\n");
        return 2;
    }
    if (strlen(d->dir) > VCACHE_PATH_MAX - 64) {
        fprintf(stderr, "ecred-verifierd: --cache path too long\n");
        return 2;
    }
    return 0;
}

static int serve(int argc, char **argv)
{
    static vd d; /* zeroed; lives as long as any thread that may touch it */
    vd_opts o;
    memset(&o, 0, sizeof o);
    bool done = false;
    int rc = parse_args(argc, argv, &d, &o, &done);
    if (rc || done)
        return rc;
    if (vfetch_global_init() != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: libcurl could not start\n");
        return 1;
    }
    char err[256] = "";
    if (svc_assets_open(verifier_assets, verifier_assets_count, NULL, &d.assets, err, sizeof err) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: pages: %s\n", err);
        return 1;
    }
    uint64_t replay_cap = ECRED_REPLAY_CAP_DEFAULT;
    if (o.replay_cap && (!svc_parse_u64(o.replay_cap, 10000000, &replay_cap) || replay_cap == 0)) {
        fprintf(stderr, "ecred-verifierd: --replay-cap takes 1..10000000\n");
        svc_assets_free(d.assets);
        return 2;
    }
    if (vrate_new(o.per_minute, &d.rate) != ECRED_OK ||
        ecred_replay_create((size_t)replay_cap, &d.replay) != ECRED_OK ||
        ecred_holder_keys_create(4096, &d.holder_keys) != ECRED_OK ||
        vchal_create(VCHAL_CAP_DEFAULT, &d.challenges) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: out of memory\n");
        vrate_free(d.rate);
        ecred_replay_free(d.replay);
        ecred_holder_keys_free(d.holder_keys);
        svc_assets_free(d.assets);
        return 1;
    }
    pthread_mutex_init(&d.mu, NULL);
    pthread_mutex_init(&d.keys_mu, NULL);
    pthread_mutex_init(&d.keys_reload_mu, NULL);
    pthread_cond_init(&d.cv, NULL);
    for (size_t i = 0; i < VD_N_REASONS; i++)
        atomic_init(&d.outcomes[i], 0);
    atomic_init(&d.scans_running, 0);
    /* Block the signals before any thread starts, so only sigwait sees them. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d.keys_checked_ms = vd_monotonic_ms();
    vd_keys_reload(&d, "start");
    vd_reload(&d); /* serve the cache held while the first sync runs */
    pthread_t th;
    if (vd_refresh_start(&d, &th) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: cannot start the refresh thread\n");
        svc_assets_free(d.assets);
        vrate_free(d.rate);
        return 1;
    }
    /* 4 threads, 1024 connections (MHD splits the limit among the threads:
     * 256 per thread leaves room for 200 idle sockets), 32 KiB per
     * connection (caps URL and headers), poll(); 64 connections per client
     * address unless --max-client-conns says otherwise (0 behind a load
     * balancer, where every client has the balancer's address). */
    svc_config cfg = {
        .name = "verifier",
        .listen = o.listen,
        .tls_cert_path = o.tls_cert,
        .tls_key_path = o.tls_key,
        .threads = VD_THREADS,
        .body_max = VBODY_MAX,
        .conn_limit = VD_CONN_LIMIT,
        .conn_memory = VD_CONN_MEMORY,
        .per_ip_limit = o.per_ip,
        .routes = vd_routes,
        .n_routes = vd_n_routes,
        .guard = vd_guard,
        .release = vd_release,
        .app = &d,
    };
    svc_server *srv = NULL;
    if (svc_start(&cfg, &srv, err, sizeof err) != ECRED_OK) {
        fprintf(stderr, "ecred-verifierd: %s\n", err);
        rc = 1;
    } else {
        pthread_mutex_lock(&d.mu);
        d.srv = srv;
        pthread_mutex_unlock(&d.mu);
        char refresh[24], max_age[24], chal_ttl[24];
        snprintf(refresh, sizeof refresh, "%lld", (long long)d.refresh);
        snprintf(max_age, sizeof max_age, "%lld", (long long)d.max_age);
        snprintf(chal_ttl, sizeof chal_ttl, "%lld", (long long)d.challenge_ttl);
        const char *kv[] = {"listen", o.listen, "tls", o.tls_cert ? "on" : "off",
                            "refresh_seconds", refresh, "max_age_seconds", max_age,
                            "challenge_ttl_seconds", chal_ttl};
        svc_logv(SVC_INFO, "listening", kv, 5);
        int sig = 0;
        while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
            vd_keys_reload(&d, "SIGHUP");
        svc_log(SVC_INFO, "stopping", "signal", sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "other");
        pthread_mutex_lock(&d.mu);
        d.srv = NULL;
        pthread_mutex_unlock(&d.mu);
        svc_stop(srv); /* in-flight requests finish first */
    }
    vd_refresh_stop(&d, th);
    vd_snap_put(&d, d.cur);
    d.cur = NULL;
    vkeys_free(&d.keys);
    ecred_replay_free(d.replay);
    ecred_holder_keys_free(d.holder_keys);
    vchal_free(d.challenges);
    svc_assets_free(d.assets);
    vrate_free(d.rate);
    if (rc == 0)
        svc_log(SVC_INFO, "stopped", NULL, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    svc_log_init("verifier");
    if (argc > 1 && strcmp(argv[1], "key") == 0) {
        if (argc > 2 && strcmp(argv[2], "add") == 0)
            return vd_cmd_key_add(argc - 2, argv + 2);
        if (argc > 2 && strcmp(argv[2], "list") == 0)
            return vd_cmd_key_list(argc - 2, argv + 2);
        if (argc > 2 && strcmp(argv[2], "remove") == 0)
            return vd_cmd_key_remove(argc - 2, argv + 2);
        if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
            usage(stdout);
            return 0;
        }
        usage(stderr);
        return 2;
    }
    return serve(argc, argv);
}
