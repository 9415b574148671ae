/*
 * fuzz_common.c - the fixed keys the harnesses verify with, read once from
 * tests/vectors (ECRED_SOURCE_DIR is compiled in).
 *
 * Test-only code: it may print and abort, which library code never does.
 */
#include "fuzz_common.h"

#include <string.h>

#include "ecred/buf.h"

/* Read a vector file under the source tree, or abort. */
static void read_vector(const char *rel, ecred_buf *out)
{
    char path[1024];
    int w = snprintf(path, sizeof path, "%s/%s", ECRED_SOURCE_DIR, rel);
    if (w < 0 || (size_t)w >= sizeof path || ecred_read_file(path, ECRED_KEY_FILE_MAX, out) != ECRED_OK) {
        fprintf(stderr, "fuzz: cannot read %s\n", path);
        abort();
    }
}

/* Load a public (private=0) or private key once; abort when unusable. */
static const ecred_key *load_key(ecred_key **slot, const char *rel, int private_key)
{
    if (*slot != NULL)
        return *slot;
    ecred_buf b = ECRED_BUF_INIT;
    read_vector(rel, &b);
    ecred_err e = private_key ? ecred_key_private_from_pem(b.ptr, b.len, slot)
                              : ecred_key_public_from_bytes(b.ptr, b.len, slot);
    ecred_buf_wipe(&b);
    if (e != ECRED_OK) {
        fprintf(stderr, "fuzz: cannot parse key %s: %s\n", rel, ecred_err_name(e));
        abort();
    }
    return *slot;
}

static ecred_key *issuer_pub, *issuer_priv, *eddsa_pub, *trust_root, *slist_key, *root_priv, *generated;

const ecred_key *fuzz_issuer_public(void)
{
    return load_key(&issuer_pub, "tests/vectors/keys/test-issuer.pub.pem", 0);
}
const ecred_key *fuzz_issuer_private(void)
{
    return load_key(&issuer_priv, "tests/vectors/keys/test-issuer.key.pem", 1);
}
const ecred_key *fuzz_eddsa_public(void)
{
    return load_key(&eddsa_pub, "tests/vectors/keys/test-eddsa.pub.pem", 0);
}
const ecred_key *fuzz_trust_root(void)
{
    return load_key(&trust_root, "tests/vectors/trustlist/root.pub.pem", 0);
}
const ecred_key *fuzz_slist_key(void)
{
    return load_key(&slist_key, "tests/vectors/statuslist/ietf/example-key.pub.pem", 0);
}
const ecred_key *fuzz_trust_root_private(void)
{
    return load_key(&root_priv, "tests/vectors/trustlist/root.key.pem", 1);
}
const ecred_key *fuzz_generated_key(void)
{
    if (generated == NULL && ecred_key_generate(ECRED_COSE_ALG_ES256, &generated) != ECRED_OK) {
        fprintf(stderr, "fuzz: cannot generate a key\n");
        abort();
    }
    return generated;
}
