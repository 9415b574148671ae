/*
 * test_failalloc.c - out-of-memory paths of the decoders: for each decoder and
 * a valid input, fail the k-th allocation for k = 1, 2, ... until a run makes
 * fewer than k allocations. Every run must return ECRED_OK or an error (never
 * crash), and nothing may leak (LeakSanitizer checks at exit in the ASan build).
 *
 * How allocations are failed depends on the build (CMake picks):
 * - FAILALLOC_WRAP (sanitizer builds): ecred's own malloc/calloc/realloc calls
 *   are redirected by -Wl,--wrap; OpenSSL is hooked through
 *   CRYPTO_set_mem_functions. libcbor 0.8 as Debian ships it has no allocator
 *   hook (CBOR_CUSTOM_ALLOC is 0), so its allocations are not failed in this
 *   mode.
 * - otherwise: this program defines malloc/calloc/realloc/free itself (glibc
 *   supports replacing them), so every allocation of every library, libcbor's
 *   included, can be failed. ASan owns malloc, hence the two modes.
 *
 * jansson's allocations are never failed (json_set_alloc_funcs routes them
 * around the counter): jansson 2.14's lexer ignores a failed buffer append
 * (lex_save, upstream akheron/jansson issue #362) and then writes out of
 * bounds, so failing them tests jansson's bug, not ours. With jansson exempt,
 * credential_from_json makes no allocation of its own and is not listed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "../unit/check.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/decide.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"
#include "ecred/trustlist.h"

/* 0: no failure armed. Otherwise the armed allocation number that fails. */
static unsigned long fail_at, alloc_count;

/* Count one allocation while armed; true when this one must fail. */
static bool fail_now(void)
{
    if (fail_at == 0)
        return false;
    return ++alloc_count == fail_at;
}

#ifdef FAILALLOC_WRAP
#include <sanitizer/lsan_interface.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t m, size_t n);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t m, size_t n);
void *__wrap_realloc(void *p, size_t n);

void *__wrap_malloc(size_t n)
{
    return fail_now() ? NULL : __real_malloc(n);
}
void *__wrap_calloc(size_t m, size_t n)
{
    return fail_now() ? NULL : __real_calloc(m, n);
}
void *__wrap_realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __real_realloc(p, n);
}

static void *json_alloc(size_t n)
{
    return __real_malloc(n);
}
static void *ossl_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    return fail_now() ? NULL : __real_malloc(n);
}
static void *ossl_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    return fail_now() ? NULL : __real_realloc(p, n);
}
static void ossl_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    free(p);
}

/* Route OpenSSL through the counter and jansson around it; must run before
 * either allocates. */
static bool install_hooks(void)
{
    json_set_alloc_funcs(json_alloc, free);
    return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc, ossl_free) == 1;
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t m, size_t n);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);

void *malloc(size_t n)
{
    return fail_now() ? NULL : __libc_malloc(n);
}
void *calloc(size_t m, size_t n)
{
    return fail_now() ? NULL : __libc_calloc(m, n);
}
void *realloc(void *p, size_t n)
{
    return fail_now() ? NULL : __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}

static void *json_alloc(size_t n)
{
    return __libc_malloc(n);
}

static bool install_hooks(void)
{
    json_set_alloc_funcs(json_alloc, free);
    return true;
}
#endif

/* True when memory leaked since the last check (LeakSanitizer in sanitizer
 * builds; without it leaks go unseen and this says false). */
static bool leaked(void)
{
#ifdef FAILALLOC_WRAP
    return __lsan_do_recoverable_leak_check() != 0;
#else
    return false;
#endif
}

/* One decoder run on fixed input; frees whatever it produced. */
typedef ecred_err (*decoder_fn)(void);

static ecred_buf claims_cbor, cose_bytes, slist_cbor, slist_token, trust_signed, qr_plain,
    qr_dict;
static ecred_key *issuer_pub, *trust_root, *slist_key;

/* 2026-11-27T01:00:00Z: inside every vector's validity. */
#define NOW ((int64_t)1795741200)

static ecred_err run_claims(void)
{
    ecred_claims c;
    return ecred_claims_decode(claims_cbor.ptr, claims_cbor.len, &c);
}
static ecred_err run_cose(void)
{
    ecred_cose_sign1 m;
    ecred_err e = ecred_cose_sign1_decode(cose_bytes.ptr, cose_bytes.len, NULL, &m);
    if (e == ECRED_OK) {
        e = ecred_cose_sign1_verify(&m, issuer_pub);
        ecred_cose_sign1_clear(&m);
    }
    return e;
}
static ecred_err run_slist(void)
{
    ecred_slist l;
    ecred_err e = ecred_slist_decode(slist_cbor.ptr, slist_cbor.len, 1u << 20, &l);
    if (e == ECRED_OK)
        ecred_slist_free(&l);
    return e;
}
static ecred_err run_slist_token(void)
{
    ecred_slist_token t;
    ecred_err e = ecred_slist_token_verify(slist_token.ptr, slist_token.len, slist_key, -1, &t);
    if (e == ECRED_OK)
        ecred_slist_free(&t.list);
    return e;
}
static ecred_err run_trustlist(void)
{
    ecred_trustlist tl;
    ecred_err e = ecred_trustlist_verify(trust_signed.ptr, trust_signed.len, trust_root, NOW, &tl);
    if (e == ECRED_OK)
        ecred_trustlist_free(&tl);
    return e;
}
/* The whole verify path on a text, raw and compressed (inflate's allocations). */
static ecred_err decide_on(const ecred_buf *text)
{
    ecred_trusted_key tk = {issuer_pub, INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    ecred_keyset ks = {&tk, 1};
    ecred_verdict v;
    return ecred_decide((const char *)text->ptr, text->len, &ks, NULL, NOW, &v);
}
static ecred_err run_decide_plain(void)
{
    return decide_on(&qr_plain);
}
static ecred_err run_decide_dict(void)
{
    return decide_on(&qr_dict);
}

/* Fail allocation k = 1.. of fn until a run needs fewer than k allocations. */
static void fail_each_allocation(const char *name, decoder_fn fn, bool expect_allocs)
{
    CHECK_ERR(fn(), ECRED_OK); /* the input is good, and lazy init is done */
    unsigned long k;
    unsigned errors = 0, nomem = 0;
    /* FAILALLOC_DEBUG=<name>: check for leaks after every run of that decoder. */
    const char *debug = getenv("FAILALLOC_DEBUG");
    for (k = 1; k < 100000; k++) {
        alloc_count = 0;
        fail_at = k;
        ecred_err e = fn();
        unsigned long made = alloc_count;
        fail_at = 0;
        if (made < k) {
            CHECK_ERR(e, ECRED_OK); /* nothing failed: the result must be the good one */
            break;
        }
        if (debug && strcmp(debug, name) == 0 && leaked())
            printf("  %s: leak after failing allocation %lu\n", name, k);
        if (e != ECRED_OK)
            errors++;
        if (e == ECRED_ERR_NOMEM)
            nomem++;
        else if (e != ECRED_OK)
            printf("  %s: allocation %lu failed -> %s\n", name, k, ecred_err_name(e));
    }
    printf("%s: %lu allocations, %u failed runs reported an error (%u as nomem)\n", name, k - 1,
           errors, nomem);
    if (expect_allocs) {
        /* It allocates (else this tests nothing) and failures are noticed. */
        CHECK(k > 1);
        CHECK(errors > 0);
    } else {
        CHECK(k == 1); /* an allocation-free decoder stays allocation-free */
    }
    bool leak = leaked();
    if (leak)
        fprintf(stderr, "%s: leaks under failing allocations (FAILALLOC_DEBUG=<name> names k)\n", name);
    CHECK(!leak);
}

/* The QR text (last tab-separated field) of the named vector in
 * spec/vectors/credentials.txt. */
static ecred_buf credential_text(const char *name)
{
    ecred_buf all = check_read_source_file("spec/vectors/credentials.txt");
    ecred_buf out = ECRED_BUF_INIT;
    size_t nlen = strlen(name);
    for (char *line = (char *)all.ptr; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        if (strncmp(line, name, nlen) == 0 && line[nlen] == '\t') {
            const char *text = strrchr(line, '\t') + 1;
            ecred_buf_set(&out, text, strlen(text));
        }
        line = end ? end + 1 : NULL;
    }
    ecred_buf_free(&all);
    if (out.len == 0) {
        fprintf(stderr, "no credential vector %s\n", name);
        exit(2);
    }
    return out;
}

static ecred_key *public_key(const char *rel)
{
    ecred_buf b = check_read_source_file(rel);
    ecred_key *k = NULL;
    if (ecred_key_public_from_bytes(b.ptr, b.len, &k) != ECRED_OK) {
        fprintf(stderr, "cannot load %s\n", rel);
        exit(2);
    }
    ecred_buf_free(&b);
    return k;
}

static ecred_buf hex_file(const char *rel)
{
    ecred_buf h = check_read_source_file(rel);
    ecred_buf b = check_hex((const char *)h.ptr);
    ecred_buf_free(&h);
    return b;
}

int main(void)
{
    CHECK(install_hooks());

    issuer_pub = public_key("tests/vectors/keys/test-issuer.pub.pem");
    trust_root = public_key("tests/vectors/trustlist/root.pub.pem");
    slist_key = public_key("tests/vectors/statuslist/ietf/example-key.pub.pem");
    qr_plain = credential_text("permit-rental-none-static");
    qr_dict = credential_text("permit-rental-dict-bound");
    CHECK_ERR(ecred_qrtext_decode((const char *)qr_plain.ptr, qr_plain.len, false, &cose_bytes, NULL),
              ECRED_OK);
    ecred_cose_sign1 m;
    CHECK_ERR(ecred_cose_sign1_decode(cose_bytes.ptr, cose_bytes.len, NULL, &m), ECRED_OK);
    ecred_buf_set(&claims_cbor, m.payload.ptr, m.payload.len);
    ecred_cose_sign1_clear(&m);
    slist_cbor = hex_file("tests/vectors/statuslist/ietf/status_list_encoding2_long_cbor.hex");
    slist_token = hex_file("tests/vectors/statuslist/ietf/status_list_cwt.hex");
    trust_signed = check_read_source_file("tests/vectors/trustlist/list.cose");

    /* Claims decode reads the CBOR in place (credential.c): no allocation at all. */
    fail_each_allocation("claims_decode", run_claims, false);
    fail_each_allocation("cose_decode_verify", run_cose, true);
    fail_each_allocation("slist_decode", run_slist, true);
    fail_each_allocation("slist_token_verify", run_slist_token, true);
    fail_each_allocation("trustlist_verify", run_trustlist, true);
    fail_each_allocation("decide_plain", run_decide_plain, true);
    fail_each_allocation("decide_dict", run_decide_dict, true);

    ecred_buf *bufs[] = {&claims_cbor, &cose_bytes, &slist_cbor, &slist_token,
                         &trust_signed, &qr_plain, &qr_dict};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        ecred_buf_free(bufs[i]);
    ecred_key_free(issuer_pub);
    ecred_key_free(trust_root);
    ecred_key_free(slist_key);
    return check_finish();
}
