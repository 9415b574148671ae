/*
 * setup.h - the issuer's data directory at start: the signing key with its
 * recorded signing window start, and the trust list (installed, or the
 * self-contained demo set-up with a local root).
 *
 * Production vs demo (issue 17 trap 1): a local root key (root.key.pem) is
 * only ever made on the very first start of an empty data directory (the
 * demo, README's main job). `ecred-issuerd init` makes only the signing key;
 * the operator then installs trust.cwt and root.pub.pem made offline. The
 * daemon never replaces an installed trust.cwt or root.pub.pem: when a local
 * root is present it must be the root those files belong to, or start-up is
 * refused.
 *
 * Start-up code: these functions print the reason for a refusal to stderr
 * (the operator reads it before anything serves) and return an ecred_err.
 */
#ifndef ECRED_ISSUER_SETUP_H
#define ECRED_ISSUER_SETUP_H

#include <stdbool.h>
#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/trustlist.h"

#define SETUP_PATH_CAP 4096
#define SETUP_TRUST_LIFETIME (365 * 86400)
/* Written next to the signing key: {"kid":"<hex>","sign_from":N}, 0600. */
#define SETUP_KEY_META "signing.key.meta"

/* What start-up learned from the trust list, for /healthz and /metrics. */
typedef struct setup_trust_info {
    int64_t exp;          /* the trust list's exp */
    int64_t sign_until;   /* our signing key's window end in it */
    uint64_t seq;
    bool local_root;      /* re-signed with a local root (demo set-up) */
} setup_trust_info;

/* Load the signing key, making it (and signing.pub.pem and the meta file)
 * when missing and may_create. ref is a key reference (ecred_key_open: a file
 * path or a pkcs11: URI); NULL for DIR/signing.key.pem. A key in a token is
 * never made here (ecred-keys gen makes it inside the token); its public half
 * is rewritten at every start so it always matches. *sign_from is the window
 * start recorded in the meta file when the key was first used (never a
 * file's mtime after that); *created tells whether the key was made now. */
ecred_err setup_signing_key(const char *dir, const char *ref, bool may_create, ecred_key **out,
                            int64_t *sign_from, bool *created);

/* The trust list to serve, into *trust (replaced). root_ref: the local root's
 * key reference (--root-key), NULL for DIR/root.key.pem. demo_allowed: the
 * data directory was empty (the signing key was made by this start), so a
 * local root may be created. next/switch_at: during a rotation the next
 * signing key and the second it takes over (NULL, 0 otherwise): a list
 * signed with a local root then names sign_key until switch_at and next from
 * it. The key that signs now (next once switch_at has passed) must be listed
 * for now, status_prefix (the prefix of every status list URI this daemon
 * hands out) must lie under its entry's status_uri_prefix (trap 2), and the
 * list must name iss as its issuer, or it is refused with
 * ECRED_ERR_TRUST_LIST. */
ecred_err setup_trust_list(const char *dir, const char *root_ref, ecred_key *sign_key,
                           int64_t sign_from, ecred_key *next, int64_t switch_at, const char *iss,
                           const char *status_prefix, bool demo_allowed, ecred_buf *trust,
                           setup_trust_info *info);

/* DIR/name into out; false if it does not fit. */
bool setup_path(const char *dir, const char *name, char out[SETUP_PATH_CAP]);

#endif
