/*
 * statuspub.h - builds, signs and caches the status list tokens the issuer
 * serves at the URIs its credentials carry.
 *
 * A token is rebuilt when the registry's generation counter of its list moved
 * (every status change bumps it in the same transaction) or when the stored
 * token is older than its ttl; otherwise the stored bytes are served. The
 * signed token is stored in the registry (reg_list_token_put, only ever
 * forward in generation and iat) and served once stored (or, while the
 * registry cannot write, unstored: statuses first): when two
 * instances build the same generation, the first store wins and the other
 * serves the winner's bytes. So a change is visible at the next request
 * after its COMMIT, every instance serves the same bytes and ETag for a
 * generation, and no instance serves a token older than one already served
 * (spec/api.md, "One token per generation").
 */
#ifndef ECRED_ISSUER_STATUSPUB_H
#define ECRED_ISSUER_STATUSPUB_H

#include <stdint.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "registry.h"

#define STATUSPUB_TTL_DEFAULT 300          /* seconds a relying party may cache a token */
#define STATUSPUB_LIFETIME_DEFAULT 86400   /* exp - iat of each token */
#define STATUSPUB_ETAG_MAX 40

typedef struct statuspub statuspub;

/* base_url is the prefix of every list URI ("https://host" -> "https://host/status/N").
 * key is referenced (ecred_key_ref), not taken. */
ecred_err statuspub_new(ecred_key *key, const char *base_url, int64_t ttl, int64_t lifetime,
                        statuspub **out);
void statuspub_free(statuspub *p);

/* The URI of list list_id ("" and ECRED_ERR_TOO_LARGE if it does not fit cap). */
ecred_err statuspub_uri(const statuspub *p, int64_t list_id, char *out, size_t cap);
/* The URI prefix shared by all lists (for the trust list). */
const char *statuspub_prefix(const statuspub *p);

/* The current signed token of a list: bytes copied into out, quoted ETag into
 * etag. ECRED_ERR_KEY_UNKNOWN when the list does not exist. Thread-safe. */
ecred_err statuspub_get(statuspub *p, reg_db *db, int64_t list_id, int64_t now, ecred_buf *out,
                        char etag[STATUSPUB_ETAG_MAX]);

#endif
