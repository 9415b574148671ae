/*
 * unit_auth_http.c - issuer auth and HTTP helpers that need no network:
 * HMAC-SHA256 against RFC 4231, tracking codes, bearer parsing, role names,
 * the JSON depth pre-check and --listen parsing.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include <arpa/inet.h>
#include <netinet/in.h>

#include "check.h"
#include "ecred/listen.h"
#include "svc_http.h"

static void hmac_vector(const char *key_hex, const char *msg, const char *want_hex)
{
    ecred_buf key = check_hex(key_hex), want = check_hex(want_hex);
    uint8_t out[32];
    CHECK_ERR(auth_hmac_sha256(key.ptr, key.len, (const uint8_t *)msg, strlen(msg), out), ECRED_OK);
    CHECK(want.len == 32 && memcmp(out, want.ptr, 32) == 0);
    ecred_buf_free(&key);
    ecred_buf_free(&want);
}

int main(void)
{
    /* RFC 4231 test cases 1 and 2, and 6 (a key longer than the block). */
    hmac_vector("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    hmac_vector("4a656665", "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    {
        char key[131 * 2 + 1];
        for (int i = 0; i < 131; i++)
            memcpy(key + 2 * i, "aa", 2);
        key[262] = 0;
        hmac_vector(key, "Test Using Larger Than Block-Size Key - Hash Key First",
                    "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
    uint8_t big[AUTH_HMAC_MSG_MAX + 1] = {0}, out[32];
    CHECK_ERR(auth_hmac_sha256(big, 1, big, sizeof big, out), ECRED_ERR_ARG);

    /* Tracking codes: deterministic per id, differ between ids, exact match only. */
    uint8_t secret[AUTH_SECRET_BYTES] = {9};
    char a[AUTH_TRACKING_HEX + 1], b[AUTH_TRACKING_HEX + 1];
    auth_tracking_code(secret, "0123456789abcdef", a);
    auth_tracking_code(secret, "0123456789abcdef", b);
    CHECK(strcmp(a, b) == 0 && strlen(a) == AUTH_TRACKING_HEX);
    CHECK(auth_tracking_ok(secret, "0123456789abcdef", a));
    auth_tracking_code(secret, "0123456789abcdee", b);
    CHECK(strcmp(a, b) != 0);
    CHECK(!auth_tracking_ok(secret, "0123456789abcdee", a));
    CHECK(!auth_tracking_ok(secret, "0123456789abcdef", NULL));
    CHECK(!auth_tracking_ok(secret, "0123456789abcdef", ""));
    a[5] = a[5] == '0' ? '1' : '0';
    CHECK(!auth_tracking_ok(secret, "0123456789abcdef", a));

    /* Roles. */
    CHECK(auth_role_from_name("clerk") == ROLE_CLERK);
    CHECK(auth_role_from_name("officer") == ROLE_OFFICER);
    CHECK(auth_role_from_name("admin") == ROLE_ADMIN);
    CHECK(auth_role_from_name("Admin") == 0 && auth_role_from_name("") == 0 &&
          auth_role_from_name(NULL) == 0);

    /* Tokens: created, accepted once hashed, every malformed header refused. */
    char path[512];
    snprintf(path, sizeof path, "%s/unit_auth.sqlite", ECRED_TEST_TMP);
    unlink(path);
    reg_db *db = NULL;
    CHECK_ERR(reg_open_url(path, &db), ECRED_OK);
    if (db) {
        char tok[AUTH_TOKEN_HEX + 1], hdr[128], actor[24];
        unsigned role = 0;
        CHECK_ERR(auth_token_create(db, "superuser", tok), ECRED_ERR_INPUT);
        CHECK_ERR(auth_token_create(db, "officer", tok), ECRED_OK);
        CHECK(strlen(tok) == AUTH_TOKEN_HEX);
        snprintf(hdr, sizeof hdr, "Bearer %s", tok);
        CHECK_ERR(auth_bearer(db, hdr, &role, actor), ECRED_OK);
        CHECK(role == ROLE_OFFICER && strncmp(actor, "token:", 6) == 0 && strlen(actor) == 14);
        const char *bad[] = {NULL, "", "Bearer", "Bearer ", "bearer x", "Basic abc", hdr + 1};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            CHECK_ERR(auth_bearer(db, bad[i], &role, actor), ECRED_ERR_KEY_UNKNOWN);
        char wrong[160];
        snprintf(wrong, sizeof wrong, "%s", hdr);
        wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
        CHECK_ERR(auth_bearer(db, wrong, &role, actor), ECRED_ERR_KEY_UNKNOWN);
        snprintf(wrong, sizeof wrong, "%s0", hdr);
        CHECK_ERR(auth_bearer(db, wrong, &role, actor), ECRED_ERR_KEY_UNKNOWN);
        snprintf(wrong, sizeof wrong, "%s", hdr);
        wrong[12] = 'g';
        CHECK_ERR(auth_bearer(db, wrong, &role, actor), ECRED_ERR_KEY_UNKNOWN);
        reg_close(db);
    }

    /* JSON depth pre-check: brackets in strings do not count, escapes handled. */
    struct { const char *json; unsigned max; bool ok; } depth[] = {
        {"{}", 1, true},
        {"{\"a\":{}}", 1, false},
        {"{\"a\":{}}", 2, true},
        {"[[[[[[[[[]]]]]]]]]", 8, false},
        {"[[[[[[[[]]]]]]]]", 8, true},
        {"{\"a\":\"[[[[[[[[[[[[\"}", 1, true},
        {"{\"a\":\"\\\"[[[[\"}", 1, true},
        {"{\"a\":\"\\\\\",\"b\":[[]]}", 2, false},
    };
    for (size_t i = 0; i < sizeof depth / sizeof depth[0]; i++)
        CHECK(svc_json_depth_ok((const uint8_t *)depth[i].json, strlen(depth[i].json),
                                 depth[i].max) == depth[i].ok);

    /* --listen parsing. */
    struct sockaddr_storage ss;
    bool v6 = true;
    CHECK_ERR(ecred_listen_parse("127.0.0.1:8080", &ss, &v6), ECRED_OK);
    CHECK(!v6 && ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&ss)->sin_port) == 8080);
    CHECK_ERR(ecred_listen_parse("[::1]:443", &ss, &v6), ECRED_OK);
    CHECK(v6 && ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == 443);
    const char *badl[] = {"127.0.0.1", "127.0.0.1:", ":80", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:80x", "[::1]80", "127.0.0.1:123456", "::1:8080",
                          "localhost:80", "[127.0.0.1]:80", "300.0.0.1:80", "[::1:80"};
    for (size_t i = 0; i < sizeof badl / sizeof badl[0]; i++)
        CHECK_ERR(ecred_listen_parse(badl[i], &ss, &v6), ECRED_ERR_INPUT);
    return check_finish();
}
