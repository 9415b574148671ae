/*
 * setup.c - the issuer's signing key and trust list at start (setup.h): the
 * key's recorded window start (signing.key.meta) and the rules that keep a
 * leftover local root from overriding an installed trust list.
 *
 * Must never: overwrite a key file, replace an installed trust.cwt or
 * root.pub.pem, take a signing window from a file's mtime, or start with a
 * trust list whose status prefix does not cover the URIs we hand out.
 */
#include "setup.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ecred/slist.h"
#include "svc_log.h"

#define META_MAX 512

bool setup_path(const char *dir, const char *name, char out[SETUP_PATH_CAP])
{
    int n = snprintf(out, SETUP_PATH_CAP, "%s/%s", dir, name);
    return n > 0 && n < SETUP_PATH_CAP;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void fail_msg(const char *what, const char *path, ecred_err e)
{
    fprintf(stderr, "ecred-issuerd: %s %s: %s\n", what, path, ecred_err_message(e));
}

/* Write the meta file for key: its kid and the window start, 0600, atomic. */
static ecred_err meta_write(const char *path, const ecred_key *key, int64_t sign_from)
{
    char kid[2 * ECRED_KID_LEN + 1], text[META_MAX];
    ecred_hex(ecred_key_kid(key), ECRED_KID_LEN, kid);
    int n = snprintf(text, sizeof text, "{\"kid\":\"%s\",\"sign_from\":%" PRId64 "}\n", kid, sign_from);
    if (n <= 0 || (size_t)n >= sizeof text)
        return ECRED_ERR_INTERNAL;
    return ecred_write_file_atomic(path, text, (size_t)n, 0600);
}

/* Read the meta file: it must name key's kid (a meta left from another key
 * would move the window). ECRED_ERR_KEY_UNKNOWN when it does not exist,
 * ECRED_ERR_KEY_INVALID when it is malformed or names another key. */
static ecred_err meta_read(const char *path, const ecred_key *key, int64_t *sign_from)
{
    if (!exists(path))
        return ECRED_ERR_KEY_UNKNOWN;
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_read_file(path, META_MAX, &b);
    if (e)
        return e;
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)b.ptr, b.len, JSON_REJECT_DUPLICATES, &jerr);
    ecred_buf_free(&b);
    const char *kid = NULL;
    json_int_t from = -1;
    e = ECRED_ERR_KEY_INVALID;
    if (doc && json_unpack(doc, "{s:s, s:I !}", "kid", &kid, "sign_from", &from) == 0 && from >= 0) {
        char want[2 * ECRED_KID_LEN + 1];
        ecred_hex(ecred_key_kid(key), ECRED_KID_LEN, want);
        if (strcmp(kid, want) == 0) {
            *sign_from = (int64_t)from;
            e = ECRED_OK;
        }
    }
    json_decref(doc);
    return e;
}

/* Write DIR/signing.pub.pem for key (public, atomic). */
static ecred_err write_pub(const char *pub, const ecred_key *key)
{
    ecred_buf pem = ECRED_BUF_INIT;
    ecred_err e = ecred_key_public_pem(key, &pem);
    if (!e)
        e = ecred_write_file_atomic(pub, pem.ptr, strnlen((const char *)pem.ptr, pem.len), 0644);
    ecred_buf_free(&pem);
    if (e)
        fail_msg("cannot write", pub, e);
    return e;
}

ecred_err setup_signing_key(const char *dir, const char *ref, bool may_create, ecred_key **out,
                            int64_t *sign_from, bool *created)
{
    char path[SETUP_PATH_CAP], pub[SETUP_PATH_CAP], meta[SETUP_PATH_CAP];
    if (!setup_path(dir, "signing.key.pem", path) || !setup_path(dir, "signing.pub.pem", pub) ||
        !setup_path(dir, SETUP_KEY_META, meta))
        return ECRED_ERR_TOO_LARGE;
    bool store = ref && ecred_key_ref_is_store(ref);
    if (ref && snprintf(path, sizeof path, "%s", ref) >= (int)sizeof path)
        return ECRED_ERR_TOO_LARGE;
    ecred_err e;
    *created = false;
    if (!store && !exists(path)) {
        if (!may_create) {
            fprintf(stderr, "ecred-issuerd: %s is missing (make it with ecred-issuerd init)\n", path);
            return ECRED_ERR_IO;
        }
        ecred_key *k = NULL;
        if ((e = ecred_key_generate(ECRED_COSE_ALG_ES256, &k)) == ECRED_OK)
            e = ecred_key_private_save(k, path);
        /* The window starts when the key is made, recorded once: an mtime
         * moves with a copy or a restore (issue 9 item 8). */
        if (!e)
            e = meta_write(meta, k, (int64_t)time(NULL));
        ecred_key_free(k);
        if (e) {
            fail_msg("cannot create", path, e);
            return e;
        }
        *created = true;
        svc_log(SVC_INFO, "created signing key", "file", "signing.key.pem");
    }
    ecred_key *key = NULL;
    if ((e = ecred_key_open(path, &key)) != ECRED_OK) {
        fail_msg(store ? "cannot open the signing key" : "cannot load", path, e);
        return e;
    }
    int64_t from = 0;
    e = meta_read(meta, key, &from);
    if (e == ECRED_ERR_KEY_UNKNOWN || e == ECRED_ERR_KEY_INVALID) {
        /* A key made before the meta file existed, installed by hand in place
         * of the one the meta names, or a token key used for the first time:
         * the file's mtime (now for a token key) is the best record there
         * is, taken once and never again. */
        struct stat st;
        /* A token key on its first start in a data directory without a
         * meta file is what a freshly made file key is: the first start. */
        if (store && may_create && e == ECRED_ERR_KEY_UNKNOWN)
            *created = true;
        from = !store && lstat(path, &st) == 0 ? (int64_t)st.st_mtime : (int64_t)time(NULL);
        if ((e = meta_write(meta, key, from)) == ECRED_OK)
            svc_log(SVC_WARNING,
                    store ? "recorded the signing key's window start as now (once)"
                          : "recorded the signing key's window start from its file time (once)",
                    "file", SETUP_KEY_META);
    }
    if (e) {
        fprintf(stderr, "ecred-issuerd: %s is unreadable or names another key: %s\n", meta,
                ecred_err_message(e));
        ecred_key_free(key);
        return e;
    }
    if ((store || !exists(pub)) && (e = write_pub(pub, key)) != ECRED_OK) {
        ecred_key_free(key);
        return e;
    }
    *out = key;
    *sign_from = from;
    return ECRED_OK;
}

/* Check a verified list: our key listed now, our issuer name, and our status
 * URIs under its prefix. Fills info. Prints why not. */
static ecred_err check_list(const ecred_trustlist *tl, const ecred_key *sign_key, const char *iss,
                            const char *status_prefix, const char *trust_path,
                            setup_trust_info *info)
{
    /* sign_key is the key that signs now (the next one after its switch). */
    const ecred_trustlist_entry *ent = NULL;
    ecred_err e = ecred_trustlist_find(tl, ecred_key_kid(sign_key), ECRED_KID_LEN, (int64_t)time(NULL),
                                       ECRED_TRUST_TYPE_PERMIT, &ent);
    if (e) {
        fprintf(stderr, "ecred-issuerd: %s does not name the signing key for now: %s\n", trust_path,
                ecred_err_message(e));
        return e;
    }
    /* Verifiers accept a credential only under its trust list's iss: a
     * daemon signing another name would issue credentials no one accepts. */
    if (strcmp(tl->iss, iss) != 0) {
        fprintf(stderr, "ecred-issuerd: %s names the issuer \"%s\" but this daemon signs as \"%s\" "
                        "(--iss): verifiers would refuse every credential\n",
                trust_path, tl->iss, iss);
        return ECRED_ERR_TRUST_LIST;
    }
    /* Every list URI is status_prefix + a number: list 1 stands for all. */
    char uri[ECRED_SLIST_URI_MAX + 2];
    int n = snprintf(uri, sizeof uri, "%s1", status_prefix);
    if (n <= 0 || (size_t)n >= sizeof uri || !ecred_trustlist_uri_allowed(ent, uri, (size_t)n)) {
        fprintf(stderr,
                "ecred-issuerd: the status lists would be served at %s... but %s allows only %s...: "
                "start with --status-base-url matching the trust list (credentials already issued "
                "point there), or install a trust list for the new URL\n",
                status_prefix, trust_path, ent->status_uri_prefix);
        return ECRED_ERR_TRUST_LIST;
    }
    info->exp = (int64_t)tl->exp;
    info->sign_until = (int64_t)ent->sign_until;
    info->seq = tl->seq;
    return ECRED_OK;
}

/* Read trust_path and verify it with root; checks as check_list, for
 * sign_key or, when the list does not name sign_key for now, alt (a switch
 * being moved to now: the list about to be re-signed still names the key
 * signing until then); alt may be NULL. */
static ecred_err verify_installed(const char *trust_path, const ecred_key *root,
                                  const ecred_key *sign_key, const ecred_key *alt, const char *iss,
                                  const char *status_prefix, ecred_buf *bytes, setup_trust_info *info,
                                  bool *not_by_root)
{
    *not_by_root = false;
    ecred_err e = ecred_read_file(trust_path, ECRED_TRUSTLIST_MAX_BYTES, bytes);
    if (e) {
        fail_msg("cannot read", trust_path, e);
        return e;
    }
    ecred_trustlist tl;
    if ((e = ecred_trustlist_verify(bytes->ptr, bytes->len, root, (int64_t)time(NULL), &tl)) != ECRED_OK) {
        *not_by_root = true;
        return e;
    }
    const ecred_trustlist_entry *ent = NULL;
    if (alt && alt != sign_key &&
        ecred_trustlist_find(&tl, ecred_key_kid(sign_key), ECRED_KID_LEN, (int64_t)time(NULL),
                             ECRED_TRUST_TYPE_PERMIT, &ent) != ECRED_OK)
        sign_key = alt;
    e = check_list(&tl, sign_key, iss, status_prefix, trust_path, info);
    ecred_trustlist_free(&tl);
    return e;
}

/* Sign a fresh list naming sign_key (and during a rotation next, from
 * switch_at) with root (demo set-up), keeping seq above held_seq. The
 * current key signs until the switch second, the next from it, so every
 * signature either makes falls inside its key's window. */
static ecred_err sign_local(ecred_key *root, ecred_key *sign_key, int64_t sign_from, ecred_key *next,
                            int64_t switch_at, const char *iss, const char *status_prefix,
                            uint64_t held_seq, ecred_buf *out, setup_trust_info *info)
{
    int64_t now = (int64_t)time(NULL);
    ecred_trustlist_entry ents[2];
    memset(ents, 0, sizeof ents);
    ecred_trustlist_entry *ent = &ents[0];
    ent->key = sign_key;
    /* An hour of slack before the recorded start covers clock skew between
     * the issuer and the verifiers. */
    ent->sign_from = (uint64_t)(sign_from > 3600 ? sign_from - 3600 : 0);
    ent->sign_until = (uint64_t)(now + SETUP_TRUST_LIFETIME);
    ent->types = ECRED_TRUST_BITS_ALL;
    snprintf(ent->status_uri_prefix, sizeof ent->status_uri_prefix, "%s", status_prefix);
    size_t n_ents = 1;
    if (next) {
        ents[1] = ents[0];
        ents[1].key = next;
        ents[1].sign_from = (uint64_t)switch_at;
        ents[0].sign_until = (uint64_t)switch_at;
        n_ents = 2;
    }
    ecred_trustlist tl;
    memset(&tl, 0, sizeof tl);
    snprintf(tl.iss, sizeof tl.iss, "%s", iss);
    tl.iat = (uint64_t)now;
    tl.exp = (uint64_t)(now + SETUP_TRUST_LIFETIME);
    tl.seq = (uint64_t)now > held_seq ? (uint64_t)now : held_seq + 1; /* no rollback */
    tl.n_entries = n_ents;
    tl.entries = ents;
    ecred_buf_free(out);
    ecred_err e = ecred_trustlist_sign(root, &tl, out);
    if (!e) {
        const ecred_trustlist_entry *cur = next && now >= switch_at ? &ents[1] : &ents[0];
        info->exp = (int64_t)tl.exp;
        info->sign_until = (int64_t)cur->sign_until;
        info->seq = tl.seq;
    }
    return e;
}

ecred_err setup_trust_list(const char *dir, const char *root_ref, ecred_key *sign_key,
                           int64_t sign_from, ecred_key *next, int64_t switch_at, const char *iss,
                           const char *status_prefix, bool demo_allowed, ecred_buf *trust,
                           setup_trust_info *info)
{
    char root_path[SETUP_PATH_CAP], root_pub[SETUP_PATH_CAP], trust_path[SETUP_PATH_CAP];
    if (!setup_path(dir, "root.key.pem", root_path) || !setup_path(dir, "root.pub.pem", root_pub) ||
        !setup_path(dir, "trust.cwt", trust_path))
        return ECRED_ERR_TOO_LARGE;
    if (root_ref && snprintf(root_path, sizeof root_path, "%s", root_ref) >= (int)sizeof root_path)
        return ECRED_ERR_TOO_LARGE;
    memset(info, 0, sizeof *info);
    /* The key whose window holds now: the installed list must name it. */
    ecred_key *now_key = next && (int64_t)time(NULL) >= switch_at ? next : sign_key;
    bool have_root = ecred_key_ref_is_store(root_path) || exists(root_path);
    bool have_pub = exists(root_pub), have_tl = exists(trust_path);
    ecred_err e = ECRED_OK;
    ecred_key *root = NULL, *pub = NULL;
    ecred_buf bytes = ECRED_BUF_INIT, pem = ECRED_BUF_INIT;
    bool not_by_root = false;

    if (!have_root) {
        if (!have_tl && !have_pub && demo_allowed) {
            /* First start of an empty data directory: the demo set-up. */
            if ((e = ecred_key_generate(ECRED_COSE_ALG_ES256, &root)) == ECRED_OK)
                e = ecred_key_private_save(root, root_path);
            ecred_key_free(root);
            root = NULL;
            if (e) {
                fail_msg("cannot create", root_path, e);
                return e;
            }
            svc_log(SVC_INFO, "created a local root key (demo set-up; production uses ecred-issuerd init)",
                    "file", "root.key.pem");
            have_root = true;
        } else if (!have_tl || !have_pub) {
            fprintf(stderr, "ecred-issuerd: %s is missing: install trust.cwt and root.pub.pem made "
                            "offline with ecred-keys (see README, Operations)\n",
                    have_tl ? root_pub : trust_path);
            return ECRED_ERR_IO;
        }
    }
    if (!have_root) {
        /* Production: serve the installed list as is, once it checks out. */
        if ((e = ecred_key_public_load(root_pub, &pub)) != ECRED_OK) {
            fail_msg("cannot load (needed to check the installed trust list)", root_pub, e);
            goto out;
        }
        e = verify_installed(trust_path, pub, now_key, NULL, iss, status_prefix, &bytes, info, &not_by_root);
        if (e && not_by_root)
            fprintf(stderr, "ecred-issuerd: %s does not verify with root.pub.pem: %s\n", trust_path,
                    ecred_err_message(e));
        goto out;
    }

    /* A local root: it may only re-sign what is its own. */
    if ((e = ecred_key_open(root_path, &root)) != ECRED_OK) {
        fail_msg("cannot load", root_path, e);
        goto out;
    }
    if (have_pub) {
        if ((e = ecred_key_public_load(root_pub, &pub)) != ECRED_OK) {
            fail_msg("cannot load", root_pub, e);
            goto out;
        }
        if (memcmp(ecred_key_kid(pub), ecred_key_kid(root), ECRED_KID_LEN) != 0) {
            fprintf(stderr, "ecred-issuerd: %s is not the public key of the local %s: installed "
                            "files and a local root disagree. In production move root.key.pem "
                            "out of the data directory (the root stays offline); the daemon "
                            "never replaces an installed root.pub.pem\n",
                    root_pub, root_path);
            e = ECRED_ERR_TRUST_LIST;
            goto out;
        }
    }
    uint64_t held_seq = 0;
    if (have_tl) {
        e = verify_installed(trust_path, root, now_key, sign_key, iss, status_prefix, &bytes, info, &not_by_root);
        if (e && not_by_root) {
            fprintf(stderr, "ecred-issuerd: %s was not signed by the local %s: installed files and a "
                            "local root disagree. In production move root.key.pem out of the data "
                            "directory; the daemon never replaces an installed trust list\n",
                    trust_path, root_path);
            e = ECRED_ERR_TRUST_LIST;
        }
        if (e)
            goto out;
        held_seq = info->seq;
    }
    if ((e = sign_local(root, sign_key, sign_from, next, switch_at, iss, status_prefix, held_seq, trust,
                        info)) != ECRED_OK) {
        fail_msg("cannot sign the trust list for", trust_path, e);
        goto out;
    }
    info->local_root = true;
    if ((e = ecred_write_file_atomic(trust_path, trust->ptr, trust->len, 0644)) != ECRED_OK) {
        fail_msg("cannot write", trust_path, e);
        goto out;
    }
    if (!have_pub) {
        if ((e = ecred_key_public_pem(root, &pem)) == ECRED_OK)
            e = ecred_write_file_atomic(root_pub, pem.ptr, strnlen((const char *)pem.ptr, pem.len), 0644);
        if (e)
            fail_msg("cannot write", root_pub, e);
    }
    ecred_buf_free(&bytes);
    goto done;
out:
    if (!e) {
        ecred_buf_free(trust);
        *trust = bytes;
        bytes = (ecred_buf)ECRED_BUF_INIT;
    }
done:
    ecred_buf_free(&bytes);
    ecred_buf_free(&pem);
    ecred_key_free(root);
    ecred_key_free(pub);
    return e;
}
