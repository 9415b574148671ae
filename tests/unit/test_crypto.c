/*
 * test_crypto.c - crypto.h: key loading in every accepted form and every
 * refused one, kid against values computed with the openssl CLI, ES256 and
 * EdDSA sign/verify, forgery loops, known-answer signatures (RFC 6979, RFC
 * 8032, openssl CLI), private-key file permissions and safe saving, EC2 keys.
 *
 * Test data lives in tests/vectors/keys (see its README: published TEST keys).
 * Scratch files go under ECRED_TEST_TMP only.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "ecred/crypto.h"

#define VEC "tests/vectors/keys/"


/* Path of a scratch file under ECRED_TEST_TMP, removed first. */
static void tmp_path(char *out, size_t size, const char *name)
{
    snprintf(out, size, "%s/crypto-%ld-%s", ECRED_TEST_TMP, (long)getpid(), name);
    unlink(out);
}

/* Copy a vector file to a scratch file with exactly this mode. */
static void copy_with_mode(const char *rel, const char *dst, unsigned mode)
{
    ecred_buf b = check_read_source_file(rel);
    if (ecred_write_file_atomic(dst, b.ptr, b.len, mode) != ECRED_OK) {
        fprintf(stderr, "cannot write scratch file %s\n", dst);
        exit(2);
    }
    ecred_buf_free(&b);
}

/* The kid written in a .kid.hex vector file. */
static void read_kid(const char *rel, uint8_t kid[ECRED_KID_LEN])
{
    ecred_buf b = check_read_source_file(rel);
    if (b.len < 2 * ECRED_KID_LEN ||
        ecred_unhex((const char *)b.ptr, 2 * ECRED_KID_LEN, kid, ECRED_KID_LEN) != ECRED_OK) {
        fprintf(stderr, "bad kid file %s\n", rel);
        exit(2);
    }
    ecred_buf_free(&b);
}

static ecred_key *load_private_vector(const char *rel)
{
    char path[4096];
    tmp_path(path, sizeof path, "load.key.pem");
    copy_with_mode(rel, path, 0600);
    ecred_key *key = NULL;
    if (ecred_key_private_load(path, &key) != ECRED_OK) {
        fprintf(stderr, "cannot load %s\n", rel);
        exit(2);
    }
    unlink(path);
    return key;
}

/* private-cases.txt: each private key file loads or fails as listed. */
static void test_private_cases(void)
{
    ecred_buf list = check_read_source_file(VEC "private-cases.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)list.ptr, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char file[256], want[64];
        if (line[0] == '#' || sscanf(line, "%255s %63s", file, want) != 2)
            continue;
        char rel[512], path[4096];
        snprintf(rel, sizeof rel, VEC "%s", file);
        tmp_path(path, sizeof path, "case.key.pem");
        copy_with_mode(rel, path, 0600);
        ecred_key *key = NULL;
        ecred_err e = ecred_key_private_load(path, &key);
        if (e != check_err_named(want))
            fprintf(stderr, "private case %s\n", file);
        CHECK_ERR(e, check_err_named(want));
        CHECK((key != NULL) == (e == ECRED_OK));
        if (key)
            CHECK(ecred_key_has_private(key));
        ecred_key_free(key);
        unlink(path);
        cases++;
    }
    CHECK(cases >= 12);
    ecred_buf_free(&list);
}

/* public-cases.txt: each public form loads with the expected kid or fails. */
static void test_public_cases(void)
{
    ecred_buf list = check_read_source_file(VEC "public-cases.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)list.ptr, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char file[256], want[64], kidfile[256];
        if (line[0] == '#')
            continue;
        int fields = sscanf(line, "%255s %63s %255s", file, want, kidfile);
        if (fields < 2)
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, VEC "%s", file);
        ecred_buf b = check_read_source_file(rel);
        ecred_key *key = NULL;
        ecred_err e = ecred_key_public_from_bytes(b.ptr, b.len, &key);
        if (e != check_err_named(want))
            fprintf(stderr, "public case %s\n", file);
        CHECK_ERR(e, check_err_named(want));
        if (fields == 3) {
            uint8_t kid[ECRED_KID_LEN];
            snprintf(rel, sizeof rel, VEC "%s", kidfile);
            read_kid(rel, kid);
            CHECK(key != NULL && memcmp(ecred_key_kid(key), kid, ECRED_KID_LEN) == 0);
            CHECK(key != NULL && !ecred_key_has_private(key));
        }
        /* The file-based loader must agree with the byte-based one. */
        char path[4096];
        snprintf(path, sizeof path, "%s/" VEC "%s", ECRED_SOURCE_DIR, file);
        ecred_key *key2 = NULL;
        CHECK_ERR(ecred_key_public_load(path, &key2), check_err_named(want));
        CHECK(!key2 || !key || memcmp(ecred_key_kid(key), ecred_key_kid(key2), ECRED_KID_LEN) == 0);
        ecred_key_free(key2);
        ecred_key_free(key);
        ecred_buf_free(&b);
        cases++;
    }
    CHECK(cases >= 15);
    ecred_buf_free(&list);
}

/* The private key's kid, PEM and DER SPKI equal what the openssl CLI made. */
static void test_private_matches_public(void)
{
    uint8_t kid[ECRED_KID_LEN];
    read_kid(VEC "test-issuer.kid.hex", kid);
    ecred_key *key = load_private_vector(VEC "test-issuer.key.pem");
    CHECK_MEM(ecred_key_kid(key), kid, ECRED_KID_LEN);
    CHECK(ecred_key_alg(key) == ECRED_COSE_ALG_ES256);

    ecred_buf pem = ECRED_BUF_INIT, der = ECRED_BUF_INIT;
    ecred_buf want_pem = check_read_source_file(VEC "test-issuer.pub.pem");
    ecred_buf want_der = check_read_source_file(VEC "test-issuer.pub.der");
    CHECK_ERR(ecred_key_public_pem(key, &pem), ECRED_OK);
    CHECK(pem.len == want_pem.len && memcmp(pem.ptr, want_pem.ptr, pem.len) == 0);
    CHECK(pem.ptr && pem.ptr[pem.len] == 0);
    CHECK_ERR(ecred_key_spki_der(key, &der), ECRED_OK);
    CHECK(der.len == want_der.len && memcmp(der.ptr, want_der.ptr, der.len) == 0);
    ecred_buf_free(&pem);
    ecred_buf_free(&der);
    ecred_buf_free(&want_pem);
    ecred_buf_free(&want_der);
    ecred_key_free(key);

    read_kid(VEC "test-eddsa.kid.hex", kid);
    key = load_private_vector(VEC "test-eddsa.key.pem");
    CHECK_MEM(ecred_key_kid(key), kid, ECRED_KID_LEN);
    CHECK(ecred_key_alg(key) == ECRED_COSE_ALG_EDDSA);
    ecred_key_free(key);
}

/* Sign, verify, then every single-byte change of the signature, a changed
 * message, wrong lengths and another key must all fail as a bad signature. */
static void sign_verify_forgeries(ecred_key *key, ecred_key *other)
{
    static const uint8_t msg[] = "residence permit claims";
    uint8_t sig[ECRED_SIG_MAX], bad[ECRED_SIG_MAX + 1];
    size_t sig_len = 0;
    CHECK_ERR(ecred_sign(key, msg, sizeof msg, sig, &sig_len), ECRED_OK);
    CHECK(sig_len == 64);
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, sig, sig_len), ECRED_OK);

    int flips_rejected = 0;
    for (size_t i = 0; i < sig_len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            memcpy(bad, sig, sig_len);
            bad[i] ^= (uint8_t)(1u << bit);
            if (ecred_verify(key, msg, sizeof msg, bad, sig_len) == ECRED_ERR_SIGNATURE_INVALID)
                flips_rejected++;
        }
    }
    CHECK(flips_rejected == (int)(2 * sig_len));

    uint8_t msg2[sizeof msg];
    for (size_t i = 0; i < sizeof msg; i++) {
        memcpy(msg2, msg, sizeof msg);
        msg2[i] ^= 0x20;
        CHECK_ERR(ecred_verify(key, msg2, sizeof msg2, sig, sig_len), ECRED_ERR_SIGNATURE_INVALID);
    }
    CHECK_ERR(ecred_verify(key, msg, sizeof msg - 1, sig, sig_len), ECRED_ERR_SIGNATURE_INVALID);

    memcpy(bad, sig, sig_len);
    bad[64] = 0;
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 65), ECRED_ERR_SIGNATURE_INVALID);
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, sig, 63), ECRED_ERR_SIGNATURE_INVALID);
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, sig, 0), ECRED_ERR_SIGNATURE_INVALID);
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, NULL, 0), ECRED_ERR_SIGNATURE_INVALID);
    CHECK_ERR(ecred_verify(other, msg, sizeof msg, sig, sig_len), ECRED_ERR_SIGNATURE_INVALID);

    /* Empty message: NULL with length 0 is a valid empty span. */
    CHECK_ERR(ecred_sign(key, NULL, 0, sig, &sig_len), ECRED_OK);
    CHECK_ERR(ecred_verify(key, NULL, 0, sig, sig_len), ECRED_OK);
    CHECK_ERR(ecred_verify(key, (const uint8_t *)"", 0, sig, sig_len), ECRED_OK);
}

static void test_sign_verify(void)
{
    ecred_key *es = NULL, *es2 = NULL, *ed = NULL, *ed2 = NULL;
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &es), ECRED_OK);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_ES256, &es2), ECRED_OK);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_EDDSA, &ed), ECRED_OK);
    CHECK_ERR(ecred_key_generate(ECRED_COSE_ALG_EDDSA, &ed2), ECRED_OK);
    if (!es || !es2 || !ed || !ed2)
        exit(1);
    CHECK(ecred_key_alg(es) == ECRED_COSE_ALG_ES256 && ecred_key_has_private(es));
    CHECK(ecred_key_alg(ed) == ECRED_COSE_ALG_EDDSA && ecred_key_has_private(ed));
    CHECK(memcmp(ecred_key_kid(es), ecred_key_kid(es2), ECRED_KID_LEN) != 0);

    sign_verify_forgeries(es, es2);
    sign_verify_forgeries(ed, ed2);
    /* A key of the other algorithm never accepts the signature. */
    sign_verify_forgeries(es, ed);
    sign_verify_forgeries(ed, es);

    /* Many signatures, so r and s with a leading zero byte or a high bit (the
     * DER padding cases) go through both conversions. */
    int ok = 0;
    for (int i = 0; i < 600; i++) {
        uint8_t msg[4] = {(uint8_t)i, (uint8_t)(i >> 8), 1, 2}, sig[ECRED_SIG_MAX];
        size_t sig_len = 0;
        if (ecred_sign(es, msg, sizeof msg, sig, &sig_len) == ECRED_OK &&
            ecred_verify(es, msg, sizeof msg, sig, sig_len) == ECRED_OK)
            ok++;
    }
    CHECK(ok == 600);

    CHECK_ERR(ecred_key_generate(-35, &es2 /* untouched on failure */), ECRED_ERR_ALG_UNSUPPORTED);
    CHECK(es2 != NULL);
    ecred_key_free(es);
    ecred_key_free(es2);
    ecred_key_free(ed);
    ecred_key_free(ed2);
}

/* r or s equal to 0 or to n (or above): verification fails, no crash, no
 * library error leaking out. */
static void test_scalar_range(void)
{
    static const char n_hex[] = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
    ecred_key *key = load_private_vector(VEC "test-issuer.key.pem");
    static const uint8_t msg[] = "m";
    uint8_t sig[ECRED_SIG_MAX], bad[64];
    size_t sig_len = 0;
    CHECK_ERR(ecred_sign(key, msg, sizeof msg, sig, &sig_len), ECRED_OK);
    ecred_buf n = check_hex(n_hex);

    for (int half = 0; half < 2; half++) {
        uint8_t *part = bad + 32 * half;
        memcpy(bad, sig, 64);
        memset(part, 0, 32);
        CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
        memcpy(part, n.ptr, 32);
        CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
        part[31]++; /* n + 1 */
        CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
        memset(part, 0xff, 32);
        CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
        /* s := n - s is the other valid signature only when r is kept: here,
         * changing one half to n - 1 must fail, but it is in range. */
        memcpy(part, n.ptr, 32);
        part[31]--;
        CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
    }
    memset(bad, 0, 64);
    CHECK_ERR(ecred_verify(key, msg, sizeof msg, bad, 64), ECRED_ERR_SIGNATURE_INVALID);
    ecred_buf_free(&n);
    ecred_key_free(key);
}

/* Independent known answers: RFC 6979 A.2.5 (P-256, SHA-256), RFC 8032 7.1
 * test 1 (Ed25519), and signatures made by the openssl CLI. */
static void test_known_answers(void)
{
    ecred_buf ux = check_hex("60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6");
    ecred_buf uy = check_hex("7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299");
    ecred_buf sample = check_hex(
        "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
        "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8");
    ecred_buf test = check_hex(
        "F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
        "019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083");
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_from_ec2(ux.ptr, uy.ptr, 32, false, &key), ECRED_OK);
    if (key) {
        CHECK(ecred_key_alg(key) == ECRED_COSE_ALG_ES256 && !ecred_key_has_private(key));
        CHECK_ERR(ecred_verify(key, (const uint8_t *)"sample", 6, sample.ptr, 64), ECRED_OK);
        CHECK_ERR(ecred_verify(key, (const uint8_t *)"test", 4, test.ptr, 64), ECRED_OK);
        CHECK_ERR(ecred_verify(key, (const uint8_t *)"test", 4, sample.ptr, 64),
                  ECRED_ERR_SIGNATURE_INVALID);
        uint8_t sig[ECRED_SIG_MAX];
        size_t sig_len = 0;
        CHECK_ERR(ecred_sign(key, (const uint8_t *)"x", 1, sig, &sig_len), ECRED_ERR_ARG);
        CHECK_ERR(ecred_key_private_save(key, ECRED_TEST_TMP "/never-created.pem"), ECRED_ERR_ARG);
        CHECK(access(ECRED_TEST_TMP "/never-created.pem", F_OK) != 0);
    }
    ecred_key_free(key);

    ecred_buf spki = check_hex("302a300506032b6570032100"
                               "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    ecred_buf ed_sig = check_hex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    key = NULL;
    CHECK_ERR(ecred_key_public_from_bytes(spki.ptr, spki.len, &key), ECRED_OK);
    if (key) {
        CHECK(ecred_key_alg(key) == ECRED_COSE_ALG_EDDSA);
        CHECK_ERR(ecred_verify(key, NULL, 0, ed_sig.ptr, 64), ECRED_OK);
        CHECK_ERR(ecred_verify(key, (const uint8_t *)"x", 1, ed_sig.ptr, 64),
                  ECRED_ERR_SIGNATURE_INVALID);
        uint8_t x[32];
        bool sign;
        CHECK_ERR(ecred_key_ec2_compressed(key, x, &sign), ECRED_ERR_KEY_ALG_MISMATCH);
    }
    ecred_key_free(key);

    /* openssl dgst -sha256 -sign: DER converted to r||s by make-es256-vectors.sh. */
    ecred_key *issuer = load_private_vector(VEC "test-issuer.key.pem");
    ecred_buf list = check_read_source_file(VEC "es256-openssl.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)list.ptr, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char *space = strchr(line, ' ');
        if (!space)
            continue;
        *space = 0;
        ecred_buf m = check_hex(line), s = check_hex(space + 1);
        CHECK(s.len == 64);
        CHECK_ERR(ecred_verify(issuer, m.ptr, m.len, s.ptr, s.len), ECRED_OK);
        s.ptr[0] ^= 1;
        CHECK_ERR(ecred_verify(issuer, m.ptr, m.len, s.ptr, s.len), ECRED_ERR_SIGNATURE_INVALID);
        ecred_buf_free(&m);
        ecred_buf_free(&s);
        cases++;
    }
    CHECK(cases == 3);
    ecred_buf_free(&list);
    ecred_key_free(issuer);
    ecred_buf_free(&ux);
    ecred_buf_free(&uy);
    ecred_buf_free(&sample);
    ecred_buf_free(&test);
    ecred_buf_free(&spki);
    ecred_buf_free(&ed_sig);
}

/* Loading refuses group/other-accessible files, symlinks, non-files. */
static void test_permissions(void)
{
    char path[4096], link[4096];
    tmp_path(path, sizeof path, "perm.key.pem");
    tmp_path(link, sizeof link, "perm-link.key.pem");
    static const unsigned refused[] = {0644, 0640, 0604, 0660, 0606, 0700 | 0070, 0601, 0610};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        copy_with_mode(VEC "test-issuer.key.pem", path, refused[i]);
        ecred_key *key = NULL;
        CHECK_ERR(ecred_key_private_load(path, &key), ECRED_ERR_KEY_PERMISSIONS);
        CHECK(key == NULL);
    }
    static const unsigned accepted[] = {0600, 0400, 0700};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        copy_with_mode(VEC "test-issuer.key.pem", path, accepted[i]);
        ecred_key *key = NULL;
        CHECK_ERR(ecred_key_private_load(path, &key), ECRED_OK);
        ecred_key_free(key);
    }
    /* A symlink to a perfectly good 0600 key is still refused. */
    copy_with_mode(VEC "test-issuer.key.pem", path, 0600);
    CHECK(symlink(path, link) == 0);
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_private_load(link, &key), ECRED_ERR_KEY_PERMISSIONS);
    unlink(link);
    unlink(path);

    CHECK_ERR(ecred_key_private_load(path, &key), ECRED_ERR_IO); /* gone */
    CHECK_ERR(ecred_key_private_load(ECRED_TEST_TMP, &key), ECRED_ERR_IO); /* directory */
    char fifo[4096];
    tmp_path(fifo, sizeof fifo, "fifo");
    CHECK(mkfifo(fifo, 0600) == 0);
    CHECK_ERR(ecred_key_private_load(fifo, &key), ECRED_ERR_IO); /* must not block */
    unlink(fifo);

    /* Over the size cap, even with good permissions. */
    size_t big_len = (size_t)ECRED_KEY_FILE_MAX + 1;
    char *big = calloc(1, big_len);
    if (!big)
        exit(1);
    memset(big, 'A', big_len);
    CHECK_ERR(ecred_write_file_atomic(path, big, big_len, 0600), ECRED_OK);
    CHECK_ERR(ecred_key_private_load(path, &key), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_key_private_from_pem((const uint8_t *)big, big_len, &key), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_key_public_from_bytes((const uint8_t *)big, big_len, &key), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_key_public_load(path, &key), ECRED_ERR_TOO_LARGE);
    CHECK_ERR(ecred_key_public_from_bytes((const uint8_t *)big, 0, &key), ECRED_ERR_KEY_INVALID);
    CHECK(key == NULL);
    free(big);
    unlink(path);
}

/* Saving: never overwrites, always 0600 (even under umask 0), round-trips. */
static void test_save(void)
{
    char path[4096], link[4096], target[4096];
    tmp_path(path, sizeof path, "saved.key.pem");
    tmp_path(link, sizeof link, "saved-link.key.pem");
    tmp_path(target, sizeof target, "saved-target.key.pem");
    static const int algs[] = {ECRED_COSE_ALG_ES256, ECRED_COSE_ALG_EDDSA};
    mode_t old_umask = umask(0);
    for (size_t i = 0; i < 2; i++) {
        ecred_key *key = NULL, *back = NULL;
        CHECK_ERR(ecred_key_generate(algs[i], &key), ECRED_OK);
        if (!key)
            exit(1);
        CHECK_ERR(ecred_key_private_save(key, path), ECRED_OK);
        struct stat st;
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
        CHECK_ERR(ecred_key_private_load(path, &back), ECRED_OK);
        CHECK(back && memcmp(ecred_key_kid(key), ecred_key_kid(back), ECRED_KID_LEN) == 0);
        CHECK(back && ecred_key_alg(back) == algs[i]);
        /* The reloaded key signs what the original verifies. */
        uint8_t sig[ECRED_SIG_MAX];
        size_t sig_len = 0;
        CHECK(back && ecred_sign(back, (const uint8_t *)"a", 1, sig, &sig_len) == ECRED_OK);
        CHECK_ERR(ecred_verify(key, (const uint8_t *)"a", 1, sig, sig_len), ECRED_OK);

        /* A second save, even of another key, leaves the file byte for byte. */
        ecred_buf before = ECRED_BUF_INIT, after = ECRED_BUF_INIT;
        ecred_key *other = NULL;
        CHECK_ERR(ecred_read_file(path, ECRED_KEY_FILE_MAX, &before), ECRED_OK);
        CHECK_ERR(ecred_key_private_save(key, path), ECRED_ERR_EXISTS);
        CHECK_ERR(ecred_key_generate(algs[i], &other), ECRED_OK);
        CHECK_ERR(ecred_key_private_save(other, path), ECRED_ERR_EXISTS);
        CHECK_ERR(ecred_read_file(path, ECRED_KEY_FILE_MAX, &after), ECRED_OK);
        CHECK(before.len == after.len && before.len > 0 &&
              memcmp(before.ptr, after.ptr, before.len) == 0);
        CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
        ecred_buf_wipe(&before);
        ecred_buf_wipe(&after);
        ecred_key_free(other);
        ecred_key_free(back);
        ecred_key_free(key);
        unlink(path);
    }
    umask(old_umask);

    /* A dangling symlink is "exists": nothing is created at its target. */
    ecred_key *key = load_private_vector(VEC "test-eddsa.key.pem");
    CHECK(symlink(target, link) == 0);
    CHECK_ERR(ecred_key_private_save(key, link), ECRED_ERR_EXISTS);
    CHECK(access(target, F_OK) != 0 && errno == ENOENT);
    unlink(link);
    CHECK_ERR(ecred_key_private_save(key, ECRED_TEST_TMP "/no-such-dir/x.pem"), ECRED_ERR_IO);
    ecred_key_free(key);
}

/* COSE EC2: compressed round trip, sign bit matters, off-curve refused. */
static void test_ec2(void)
{
    ecred_key *key = load_private_vector(VEC "test-issuer.key.pem");
    uint8_t x[32];
    bool y_sign = false;
    CHECK_ERR(ecred_key_ec2_compressed(key, x, &y_sign), ECRED_OK);
    ecred_buf der = check_read_source_file(VEC "test-issuer.pub.der");
    /* SPKI DER of P-256 ends with 0x04 || x || y. */
    CHECK(der.len == 91 && der.ptr[26] == 0x04);
    CHECK_MEM(x, der.ptr + 27, 32);
    CHECK(y_sign == ((der.ptr[90] & 1) != 0));

    ecred_key *comp = NULL, *uncomp = NULL, *flipped = NULL;
    CHECK_ERR(ecred_key_from_ec2(x, NULL, 0, y_sign, &comp), ECRED_OK);
    CHECK_ERR(ecred_key_from_ec2(x, der.ptr + 59, 32, false, &uncomp), ECRED_OK);
    CHECK_ERR(ecred_key_from_ec2(x, NULL, 0, !y_sign, &flipped), ECRED_OK);
    CHECK(comp && memcmp(ecred_key_kid(comp), ecred_key_kid(key), ECRED_KID_LEN) == 0);
    CHECK(uncomp && memcmp(ecred_key_kid(uncomp), ecred_key_kid(key), ECRED_KID_LEN) == 0);
    CHECK(flipped && memcmp(ecred_key_kid(flipped), ecred_key_kid(key), ECRED_KID_LEN) != 0);
    /* A holder key from cnf: the same point, verifies the same, but no kid. */
    ecred_key *cnf = NULL, *cnf_bad = NULL;
    CHECK_ERR(ecred_key_from_cnf(x, y_sign, &cnf), ECRED_OK);
    CHECK(cnf && ecred_key_kid(cnf) == NULL);
    {
        uint8_t s1[ECRED_SIG_MAX];
        size_t s1_len = 0;
        CHECK_ERR(ecred_sign(key, (const uint8_t *)"cnf", 3, s1, &s1_len), ECRED_OK);
        CHECK(cnf && ecred_verify(cnf, (const uint8_t *)"cnf", 3, s1, s1_len) == ECRED_OK);
    }
    uint8_t one_x[32] = {0};
    one_x[31] = 1; /* x = 1: no point on P-256 */
    CHECK_ERR(ecred_key_from_cnf(one_x, false, &cnf_bad), ECRED_ERR_KEY_INVALID);
    ecred_key_free(cnf);
    uint8_t x2[32];
    bool sign2 = !y_sign;
    CHECK(comp && ecred_key_ec2_compressed(comp, x2, &sign2) == ECRED_OK);
    CHECK_MEM(x2, x, 32);
    CHECK(sign2 == y_sign);

    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    CHECK_ERR(ecred_sign(key, (const uint8_t *)"ec2", 3, sig, &sig_len), ECRED_OK);
    CHECK(comp && ecred_verify(comp, (const uint8_t *)"ec2", 3, sig, sig_len) == ECRED_OK);
    CHECK(flipped && ecred_verify(flipped, (const uint8_t *)"ec2", 3, sig, sig_len) ==
                         ECRED_ERR_SIGNATURE_INVALID);

    /* y one off: not on the curve. x = 1: no y exists (x^3 - 3x + b is not a
     * square mod p, checked offline). x = p: not a field element. */
    ecred_key *bad = NULL;
    uint8_t y_bad[32];
    memcpy(y_bad, der.ptr + 59, 32);
    y_bad[31] ^= 1;
    CHECK_ERR(ecred_key_from_ec2(x, y_bad, 32, false, &bad), ECRED_ERR_KEY_INVALID);
    uint8_t one[32] = {0};
    one[31] = 1;
    CHECK_ERR(ecred_key_from_ec2(one, NULL, 0, false, &bad), ECRED_ERR_KEY_INVALID);
    CHECK_ERR(ecred_key_from_ec2(one, NULL, 0, true, &bad), ECRED_ERR_KEY_INVALID);
    ecred_buf p = check_hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    CHECK_ERR(ecred_key_from_ec2(p.ptr, NULL, 0, false, &bad), ECRED_ERR_KEY_INVALID);
    uint8_t zero[32] = {0};
    CHECK_ERR(ecred_key_from_ec2(zero, zero, 32, false, &bad), ECRED_ERR_KEY_INVALID);
    CHECK_ERR(ecred_key_from_ec2(x, der.ptr + 59, 31, false, &bad), ECRED_ERR_KEY_INVALID);
    CHECK_ERR(ecred_key_from_ec2(x, der.ptr + 59, 33, false, &bad), ECRED_ERR_KEY_INVALID);
    CHECK(bad == NULL);

    ecred_buf_free(&p);
    ecred_buf_free(&der);
    ecred_key_free(comp);
    ecred_key_free(uncomp);
    ecred_key_free(flipped);
    ecred_key_free(key);
}

/* References: each ref needs its own free; the key lives until the last. */
static void test_refcount(void)
{
    ecred_key *key = load_private_vector(VEC "test-eddsa.key.pem");
    ecred_key *a = ecred_key_ref(key), *b = ecred_key_ref(key);
    CHECK(a == key && b == key);
    ecred_key_free(key);
    ecred_key_free(a);
    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    CHECK_ERR(ecred_sign(b, (const uint8_t *)"r", 1, sig, &sig_len), ECRED_OK);
    CHECK_ERR(ecred_verify(b, (const uint8_t *)"r", 1, sig, sig_len), ECRED_OK);
    ecred_key_free(b);
    ecred_key_free(NULL);
    CHECK(ecred_key_ref(NULL) == NULL);
}

struct thread_job {
    ecred_key *key; /* the thread's own reference to the shared key */
    const uint8_t *sig;
    int ok;
};

/* Verify (and sign) many times with a key shared by other threads. */
static void *thread_verify(void *arg)
{
    struct thread_job *job = arg;
    for (int i = 0; i < 200; i++) {
        uint8_t sig[ECRED_SIG_MAX];
        size_t sig_len = 0;
        if (ecred_verify(job->key, (const uint8_t *)"shared", 6, job->sig, 64) == ECRED_OK &&
            ecred_verify(job->key, (const uint8_t *)"shareD", 6, job->sig, 64) ==
                ECRED_ERR_SIGNATURE_INVALID &&
            ecred_sign(job->key, (const uint8_t *)"t", 1, sig, &sig_len) == ECRED_OK)
            job->ok++;
    }
    ecred_key_free(job->key);
    return NULL;
}

/* More threads than the key keeps idle verification contexts (8), so some
 * find the pool empty and some find it full when they give theirs back. */
#define TEST_THREADS 12

/* One parsed key used from several threads at once, each holding a reference:
 * what the verifier daemon does with its trust-list cache. */
static void test_threads(void)
{
    ecred_key *key = load_private_vector(VEC "test-issuer.key.pem");
    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    CHECK_ERR(ecred_sign(key, (const uint8_t *)"shared", 6, sig, &sig_len), ECRED_OK);
    pthread_t threads[TEST_THREADS];
    struct thread_job jobs[TEST_THREADS];
    for (int i = 0; i < TEST_THREADS; i++) {
        jobs[i] = (struct thread_job){ecred_key_ref(key), sig, 0};
        CHECK(pthread_create(&threads[i], NULL, thread_verify, &jobs[i]) == 0);
    }
    ecred_key_free(key); /* the threads' references keep it alive */
    for (int i = 0; i < TEST_THREADS; i++) {
        CHECK(pthread_join(threads[i], NULL) == 0);
        CHECK(jobs[i].ok == 200);
    }
}

static void test_sha256_random(void)
{
    uint8_t out[32];
    ecred_buf want = check_hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ecred_sha256((const uint8_t *)"abc", 3, out);
    CHECK_MEM(out, want.ptr, 32);
    ecred_buf_free(&want);
    want = check_hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ecred_sha256(NULL, 0, out);
    CHECK_MEM(out, want.ptr, 32);
    ecred_buf_free(&want);

    uint8_t r1[32] = {0}, r2[32] = {0};
    CHECK_ERR(ecred_random(r1, sizeof r1), ECRED_OK);
    CHECK_ERR(ecred_random(r2, sizeof r2), ECRED_OK);
    CHECK(memcmp(r1, r2, sizeof r1) != 0);
    CHECK_ERR(ecred_random(r1, 0), ECRED_OK);
}

/* ecred_key_open: a path goes through the same checks as the file loader;
 * a pkcs11: URI is refused clearly, never read as a file name. */
static void test_key_open(void)
{
    char path[4096], link[4096];
    tmp_path(path, sizeof path, "open.key.pem");
    tmp_path(link, sizeof link, "open-link.key.pem");
    copy_with_mode(VEC "test-issuer.key.pem", path, 0600);
    ecred_key *key = NULL;
    CHECK_ERR(ecred_key_open(path, &key), ECRED_OK);
    CHECK(key && ecred_key_has_private(key));
    ecred_key_free(key);
    key = NULL;
    CHECK(symlink(path, link) == 0);
    CHECK_ERR(ecred_key_open(link, &key), ECRED_ERR_KEY_PERMISSIONS);
    unlink(link);
    copy_with_mode(VEC "test-issuer.key.pem", path, 0644);
    CHECK_ERR(ecred_key_open(path, &key), ECRED_ERR_KEY_PERMISSIONS);
    unlink(path);
    CHECK_ERR(ecred_key_open(path, &key), ECRED_ERR_IO);
    /* pkcs11: URIs are never read as file names; what the URI may not say
     * is refused before any token is touched (tests/cli/test_hsm.sh covers a
     * real token). */
    unsetenv("ECRED_PKCS11_PIN");
    unsetenv("ECRED_PKCS11_PIN_FILE");
    CHECK_ERR(ecred_key_open("pkcs11:token=ecred;object=issuer", &key), ECRED_ERR_KEY_PIN);
    CHECK_ERR(ecred_key_open("PKCS11:object=issuer", &key), ECRED_ERR_KEY_PIN);
    CHECK_ERR(ecred_key_open("pkcs11:object=issuer?pin-value=1234", &key), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_key_open("pkcs11:object=issuer?unknown=1", &key), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_key_open("pkcs11:", &key), ECRED_ERR_INPUT);
    CHECK_ERR(ecred_key_create("pkcs11:object=x;type=private", ECRED_COSE_ALG_ES256, &key),
              ECRED_ERR_INPUT);
    CHECK_ERR(ecred_key_open("", &key), ECRED_ERR_ARG);
    CHECK_ERR(ecred_key_open(NULL, &key), ECRED_ERR_ARG);
    CHECK_ERR(ecred_key_open(path, NULL), ECRED_ERR_ARG);
    CHECK(key == NULL);
}

int main(void)
{
    test_private_cases();
    test_public_cases();
    test_private_matches_public();
    test_sign_verify();
    test_scalar_range();
    test_known_answers();
    test_permissions();
    test_key_open();
    test_save();
    test_ec2();
    test_refcount();
    test_threads();
    test_sha256_random();
    return check_finish();
}
