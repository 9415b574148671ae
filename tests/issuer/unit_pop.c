/*
 * unit_pop.c - the proof of possession pieces that need no server: strict
 * base64url (one spelling per byte string) and the stateless c_nonce (bound
 * to its application, generation and expiry; a forged or foreign nonce
 * refused). The JWT proof itself is driven end to end by
 * tests/cli/test_issuerd_pop.sh.
 */
#include <string.h>

#include "check.h"
#include "ecred/b64url.h"
#include "pop.h"

static void test_b64url(void)
{
    ecred_buf b = ECRED_BUF_INIT, d = ECRED_BUF_INIT;
    const uint8_t raw[] = {0xfb, 0xff, 0x00, 0x10, 0x83};
    for (size_t n = 0; n <= sizeof raw; n++) {
        ecred_buf_free(&b);
        CHECK_ERR(ecred_b64url_encode(raw, n, &b), ECRED_OK);
        CHECK(b.len == (n * 4 + 2) / 3);
        CHECK(memchr(b.ptr ? (const char *)b.ptr : "", '=', b.len) == NULL);
        CHECK_ERR(ecred_b64url_decode((const char *)b.ptr, b.len, 16, &d), ECRED_OK);
        CHECK(d.len == n && (n == 0 || memcmp(d.ptr, raw, n) == 0));
    }
    CHECK(b.len == 7 && memcmp(b.ptr, "-_8AEIM", 7) == 0);
    CHECK_ERR(ecred_b64url_decode("-_8AEIM=", 8, 16, &d), ECRED_ERR_INPUT);  /* padding */
    CHECK_ERR(ecred_b64url_decode("+/8AEIM", 7, 16, &d), ECRED_ERR_INPUT);   /* base64, not url */
    CHECK_ERR(ecred_b64url_decode("-_8AEIN", 7, 16, &d), ECRED_ERR_INPUT);   /* pad bits set */
    CHECK_ERR(ecred_b64url_decode("-_8AE", 5, 16, &d), ECRED_ERR_INPUT);     /* 1 mod 4 */
    CHECK_ERR(ecred_b64url_decode("AAAA AAA", 8, 16, &d), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_b64url_decode("AAAAAAAA", 8, 5, &d), ECRED_ERR_TOO_LARGE);
    ecred_buf_free(&b);
    ecred_buf_free(&d);
}

static void test_nonce(void)
{
    uint8_t secret[AUTH_SECRET_BYTES], other[AUTH_SECRET_BYTES];
    memset(secret, 7, sizeof secret);
    memset(other, 8, sizeof other);
    const char *app = "0123456789abcdef", *app2 = "fedcba9876543210";
    char n1[POP_NONCE_TEXT_MAX + 1], n2[POP_NONCE_TEXT_MAX + 1];
    int64_t now = 1800000000, exp = 0;
    uint32_t gen = 99;
    CHECK_ERR(pop_nonce_make(secret, app, 0, now, n1, &exp), ECRED_OK);
    CHECK(exp == now + POP_NONCE_TTL && strlen(n1) == 38);
    CHECK_ERR(pop_nonce_check(secret, app, n1, now, &gen), ECRED_OK);
    CHECK(gen == 0);
    CHECK_ERR(pop_nonce_check(secret, app, n1, exp, &gen), ECRED_OK);
    CHECK_ERR(pop_nonce_check(secret, app, n1, exp + 1, &gen), ECRED_ERR_EXPIRED);
    CHECK_ERR(pop_nonce_check(secret, app2, n1, now, &gen), ECRED_ERR_INPUT);
    CHECK_ERR(pop_nonce_check(other, app, n1, now, &gen), ECRED_ERR_INPUT);
    CHECK_ERR(pop_nonce_make(secret, app, 3, now, n2, &exp), ECRED_OK);
    CHECK(strcmp(n1, n2) != 0);
    CHECK_ERR(pop_nonce_check(secret, app, n2, now, &gen), ECRED_OK);
    CHECK(gen == 3);
    /* Every single-character change is refused (never read as another nonce). */
    for (size_t i = 0; i < strlen(n2); i++) {
        char t[POP_NONCE_TEXT_MAX + 1];
        memcpy(t, n2, sizeof t);
        t[i] = t[i] == 'A' ? 'B' : 'A';
        CHECK(pop_nonce_check(secret, app, t, now, &gen) != ECRED_OK);
    }
    CHECK_ERR(pop_nonce_check(secret, app, "", now, &gen), ECRED_ERR_INPUT);
    CHECK_ERR(pop_nonce_check(secret, app, NULL, now, &gen), ECRED_ERR_INPUT);
}

static void test_jwt_shape(void)
{
    pop_proof p;
    const char *why = NULL;
    CHECK_ERR(pop_jwt_verify("a.b", 3, "https://x", 0, &p, &why), ECRED_ERR_INPUT);
    CHECK(why != NULL);
    CHECK_ERR(pop_jwt_verify("a.b.c.d", 7, "https://x", 0, &p, &why), ECRED_ERR_INPUT);
    CHECK_ERR(pop_jwt_verify("e30.e30.AA", 10, "https://x", 0, &p, &why), ECRED_ERR_INPUT);
    char big[POP_JWT_MAX + 2];
    memset(big, 'A', sizeof big);
    CHECK_ERR(pop_jwt_verify(big, sizeof big, "https://x", 0, &p, &why), ECRED_ERR_INPUT);
}

int main(void)
{
    test_b64url();
    test_nonce();
    test_jwt_shape();
    return check_finish();
}
