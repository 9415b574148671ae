/*
 * trustlist_rotate.c - `ecred-keys trustlist rotate` (spec/trustlist.md
 * section 5.1): the next trust list for a signing key rotation, made from the
 * current one without hand-editing JSON.
 *
 * The windows overlap on purpose. A switch at an exact second T (old key
 * until T, new key from T) cannot be met: the daemon restarts a little
 * before or after T, and a verifier that has not synced the new list yet
 * knows only the old key. So the new key is trusted from the moment the list
 * is made, the old key until the switch time plus an overlap, and seq goes
 * up: install the list, let verifiers sync, then switch keys at any moment
 * inside the overlap.
 *
 * Must never: lower seq, shorten a window below what is already trusted for
 * credentials signed in it (only an old key's *future* is cut), or write a
 * list that does not verify with the root it was read with.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/err.h"
#include "ecred/trustlist.h"
#include "trustlist_cmd.h"

#define ROT_EXIT_USAGE 2
#define ROT_EXIT_IO 1
#define ROT_SLACK 3600 /* clock skew between the issuer and verifiers */

static int rot_usage(FILE *to, int code)
{
    fputs("usage: ecred-keys trustlist rotate --root ROOT.key --current TRUST.cwt --new-key NEW.pub.pem\n"
          "                                   --out FILE [--switch-at YYYY-MM-DDTHH:MM:SSZ]\n"
          "                                   [--overlap DAYS] [--valid-days DAYS]\n"
          "                                   [--status-uri-prefix URI]\n"
          "The new key is trusted from now, every other key until the switch time plus the\n"
          "overlap (default: switch in 1 day, 7 days overlap, list valid 365 days).\n",
          to);
    return code;
}

/* Strict decimal in [lo, hi]. */
static bool rot_num(const char *s, long lo, long hi, long *out)
{
    if (!s || !*s || strlen(s) > 6)
        return false;
    long v = 0;
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

/* "YYYY-MM-DDTHH:MM:SSZ" (UTC) to Unix time; strict shape and ranges. */
static bool rot_time(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (!s || strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &se) != 6 || y < 1970 || mo < 1 ||
        mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59)
        return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    if (t < 0)
        return false;
    /* timegm normalises 31 February into March: refuse what moved. */
    struct tm back;
    gmtime_r(&t, &back);
    if (back.tm_mday != d || back.tm_mon != mo - 1)
        return false;
    *out = (int64_t)t;
    return true;
}

static void rot_fmt(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int keys_cmd_trustlist_rotate(int argc, char **argv)
{
    const char *root_path = NULL, *cur_path = NULL, *new_path = NULL, *out_path = NULL,
               *switch_s = NULL, *overlap_s = NULL, *valid_s = NULL, *prefix = NULL;
    static const struct option longopts[] = {
        {"root", required_argument, NULL, 'r'},      {"current", required_argument, NULL, 'c'},
        {"new-key", required_argument, NULL, 'n'},   {"out", required_argument, NULL, 'o'},
        {"switch-at", required_argument, NULL, 's'}, {"overlap", required_argument, NULL, 'l'},
        {"valid-days", required_argument, NULL, 'v'}, {"status-uri-prefix", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        const char **slot = c == 'r'   ? &root_path
                             : c == 'c' ? &cur_path
                             : c == 'n' ? &new_path
                             : c == 'o' ? &out_path
                             : c == 's' ? &switch_s
                             : c == 'l' ? &overlap_s
                             : c == 'v' ? &valid_s
                             : c == 'p' ? &prefix
                                        : NULL;
        if (c == 'h')
            return rot_usage(stdout, 0);
        if (c == ':' || !slot || *slot) {
            fprintf(stderr, "ecred-keys trustlist rotate: %s %s\n",
                    c == ':' ? "option needs a value:" : !slot ? "unknown option" : "given twice:",
                    argv[optind - 1]);
            return rot_usage(stderr, ROT_EXIT_USAGE);
        }
        *slot = optarg;
    }
    if (optind < argc) {
        fprintf(stderr, "ecred-keys trustlist rotate: unexpected argument %s\n", argv[optind]);
        return rot_usage(stderr, ROT_EXIT_USAGE);
    }
    if (!root_path || !cur_path || !new_path || !out_path) {
        fprintf(stderr, "ecred-keys trustlist rotate: --root, --current, --new-key and --out are required\n");
        return rot_usage(stderr, ROT_EXIT_USAGE);
    }
    int64_t now = (int64_t)time(NULL), switch_at = now + 86400;
    long overlap = 7, valid = 365;
    if ((switch_s && !rot_time(switch_s, &switch_at)) || switch_at < now) {
        fprintf(stderr, "ecred-keys trustlist rotate: --switch-at: a UTC time YYYY-MM-DDTHH:MM:SSZ, not in the past\n");
        return ROT_EXIT_USAGE;
    }
    if (overlap_s && !rot_num(overlap_s, 1, 365, &overlap)) {
        fprintf(stderr, "ecred-keys trustlist rotate: --overlap takes 1..365 days\n");
        return ROT_EXIT_USAGE;
    }
    if (valid_s && !rot_num(valid_s, 1, 3660, &valid)) {
        fprintf(stderr, "ecred-keys trustlist rotate: --valid-days takes 1..3660\n");
        return ROT_EXIT_USAGE;
    }
    if (prefix && strlen(prefix) > ECRED_TRUSTLIST_URI_MAX) {
        fprintf(stderr, "ecred-keys trustlist rotate: --status-uri-prefix is too long\n");
        return ROT_EXIT_USAGE;
    }
    int64_t old_until = switch_at + (int64_t)overlap * 86400;
    int64_t exp = now + (int64_t)valid * 86400;
    if (exp <= old_until) {
        fprintf(stderr, "ecred-keys trustlist rotate: the list would expire before the overlap ends: raise --valid-days\n");
        return ROT_EXIT_USAGE;
    }

    int rc = ROT_EXIT_IO;
    ecred_key *root = NULL, *newkey = NULL;
    ecred_buf cur = ECRED_BUF_INIT, out = ECRED_BUF_INIT;
    ecred_trustlist tl, next;
    memset(&tl, 0, sizeof tl);
    memset(&next, 0, sizeof next);
    bool have_tl = false;
    ecred_trustlist_entry *ents = NULL;
    ecred_err e;
    if ((e = ecred_key_open(root_path, &root)) != ECRED_OK) {
        fprintf(stderr, "ecred-keys trustlist rotate: %s: %s\n", root_path, ecred_err_message(e));
        goto out;
    }
    if ((e = ecred_key_public_load(new_path, &newkey)) != ECRED_OK) {
        fprintf(stderr, "ecred-keys trustlist rotate: %s: %s\n", new_path, ecred_err_message(e));
        rc = ROT_EXIT_USAGE;
        goto out;
    }
    if ((e = ecred_read_file(cur_path, ECRED_TRUSTLIST_MAX_BYTES, &cur)) != ECRED_OK ||
        (e = ecred_trustlist_verify(cur.ptr, cur.len, root, now, &tl)) != ECRED_OK) {
        fprintf(stderr, "ecred-keys trustlist rotate: %s does not verify with this root now: %s "
                        "(an expired list: make the next one with trustlist sign)\n",
                cur_path, ecred_err_message(e));
        rc = ecred_err_exit_code(e);
        goto out;
    }
    have_tl = true;
    if (tl.n_entries == 0 || tl.n_entries >= ECRED_TRUSTLIST_MAX_ENTRIES) {
        fprintf(stderr, "ecred-keys trustlist rotate: %s has %zu keys; cannot add one\n", cur_path, tl.n_entries);
        goto out;
    }
    ents = calloc(tl.n_entries + 1, sizeof *ents);
    if (!ents)
        goto out;
    const ecred_trustlist_entry *newest = &tl.entries[0];
    for (size_t i = 0; i < tl.n_entries; i++) {
        if (memcmp(tl.entries[i].kid, ecred_key_kid(newkey), ECRED_KID_LEN) == 0) {
            fprintf(stderr, "ecred-keys trustlist rotate: the new key is already in %s\n", cur_path);
            rc = ROT_EXIT_USAGE;
            goto out;
        }
        /* The entries borrow the current list's keys (freed with it). */
        ents[i] = tl.entries[i];
        if ((int64_t)ents[i].sign_until > old_until)
            ents[i].sign_until = (uint64_t)old_until; /* only the future is cut */
        if (tl.entries[i].sign_from >= newest->sign_from)
            newest = &tl.entries[i];
    }
    ecred_trustlist_entry *n = &ents[tl.n_entries];
    n->key = newkey;
    n->sign_from = (uint64_t)(now - ROT_SLACK);
    n->sign_until = (uint64_t)exp;
    n->types = ECRED_TRUST_BITS_ALL;
    snprintf(n->status_uri_prefix, sizeof n->status_uri_prefix, "%s",
             prefix ? prefix : newest->status_uri_prefix);
    memcpy(next.iss, tl.iss, sizeof next.iss);
    next.iat = (uint64_t)now;
    next.exp = (uint64_t)exp;
    next.seq = tl.seq + 1 > (uint64_t)now ? tl.seq + 1 : (uint64_t)now; /* always up */
    next.n_entries = tl.n_entries + 1;
    next.entries = ents;
    if ((e = ecred_trustlist_sign(root, &next, &out)) != ECRED_OK) {
        fprintf(stderr, "ecred-keys trustlist rotate: sign: %s\n", ecred_err_message(e));
        rc = ecred_err_exit_code(e);
        goto out;
    }
    if ((e = ecred_write_file_atomic(out_path, out.ptr, out.len, 0644)) != ECRED_OK) {
        fprintf(stderr, "ecred-keys trustlist rotate: %s: cannot write: %s\n", out_path, ecred_err_message(e));
        goto out;
    }
    char t_now[32], t_switch[32], t_end[32], t_exp[32];
    rot_fmt(now, t_now);
    rot_fmt(switch_at, t_switch);
    rot_fmt(old_until, t_end);
    rot_fmt(exp, t_exp);
    printf("%s: trust list seq %" PRIu64 " (was %" PRIu64 "), %zu keys, expires %s\n"
           "new key trusted from %s; every other key until %s (switch %s + %ld days overlap)\n"
           "next: install it as trust.cwt now (SIGHUP the issuer), let verifiers sync, then\n"
           "switch signing.key.pem between the next verifier sync and %s\n",
           out_path, next.seq, tl.seq, next.n_entries, t_exp, t_now, t_end, t_switch, overlap, t_end);
    rc = 0;
out:
    free(ents);
    if (have_tl)
        ecred_trustlist_free(&tl);
    ecred_buf_free(&cur);
    ecred_buf_free(&out);
    ecred_key_free(newkey);
    ecred_key_free(root);
    return rc;
}
