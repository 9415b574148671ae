/*
 * unit_oidc.c - ID token verification (oidc.c) against a provider served
 * from memory: every rejection path (foreign key, unknown kid, expired,
 * future iat, wrong nonce, issuer, audience, alg none/HS256/key type
 * mismatch, tampered payload, missing identity) and key rotation with the
 * rate-bounded refetch. Tokens are minted here with cjose.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "check.h"
#include "oidc.h"

#define ISS "https://id.example.test"
#define CLIENT "ecred-resident"
#define NOW 1800000000

typedef struct fake_idp {
    char jwks[8192];
    unsigned discovery_fetches, jwks_fetches;
} fake_idp;

/* The fetcher oidc.c calls instead of libcurl. */
static ecred_err fake_fetch(void *ctx, const char *url, const char *form, long *status, ecred_buf *out)
{
    fake_idp *f = ctx;
    (void)form;
    const char *body;
    if (strstr(url, "/.well-known/openid-configuration")) {
        f->discovery_fetches++;
        body = "{\"issuer\":\"" ISS "\",\"authorization_endpoint\":\"" ISS "/auth\","
               "\"token_endpoint\":\"" ISS "/token\",\"jwks_uri\":\"" ISS "/jwks\"}";
    } else if (strcmp(url, ISS "/jwks") == 0) {
        f->jwks_fetches++;
        body = f->jwks;
    } else {
        *status = 404;
        return ecred_buf_set(out, "{}", 2);
    }
    *status = 200;
    return ecred_buf_set(out, body, strlen(body));
}

static cjose_jwk_t *ec_key(const char *kid)
{
    cjose_err e;
    cjose_jwk_t *k = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &e);
    cjose_jwk_set_kid(k, kid, strlen(kid), &e);
    return k;
}

static cjose_jwk_t *rsa_key(const char *kid)
{
    cjose_err e;
    static const uint8_t exp[] = {1, 0, 1};
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, exp, sizeof exp, &e);
    cjose_jwk_set_kid(k, kid, strlen(kid), &e);
    return k;
}

/* Public JWKS of up to two keys. */
static void set_jwks(fake_idp *f, cjose_jwk_t *a, cjose_jwk_t *b)
{
    cjose_err e;
    char *ja = cjose_jwk_to_json(a, false, &e);
    char *jb = b ? cjose_jwk_to_json(b, false, &e) : NULL;
    snprintf(f->jwks, sizeof f->jwks, "{\"keys\":[%s%s%s]}", ja, jb ? "," : "", jb ? jb : "");
    free(ja);
    free(jb);
}

/* A signed token: alg and kid in the header, claims as given. */
static char *mint(cjose_jwk_t *k, const char *alg, const char *kid, json_t *claims)
{
    cjose_err e;
    cjose_header_t *h = cjose_header_new(&e);
    cjose_header_set(h, "alg", alg, &e);
    cjose_header_set(h, "kid", kid, &e);
    char *pl = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_jws_t *jws = cjose_jws_sign(k, h, (const uint8_t *)pl, strlen(pl), &e);
    const char *ser = NULL;
    char *out = NULL;
    if (jws && cjose_jws_export(jws, &ser, &e))
        out = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    free(pl);
    return out;
}

/* Claims of a good token; callers change one thing. */
static json_t *claims(void)
{
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s}", "iss", ISS, "aud", CLIENT, "sub", "alice",
                     "iat", (json_int_t)NOW - 5, "exp", (json_int_t)NOW + 600, "nonce", "n-123", "name",
                     "王建国", "id_number", "340102199003072518");
}

/* Verify and return the reject reason. */
static oidc_reject verify(oidc_provider *p, char *tok, const char *nonce, int64_t now)
{
    oidc_identity id;
    oidc_reject why = OIDC_ACCEPTED;
    ecred_err e = oidc_verify_id_token(p, tok, nonce, now, &id, &why);
    CHECK((e == ECRED_OK) == (why == OIDC_ACCEPTED));
    free(tok);
    return why;
}

int main(void)
{
    fake_idp f;
    memset(&f, 0, sizeof f);
    cjose_jwk_t *es = ec_key("es-1"), *rs = rsa_key("rs-1"), *foreign = ec_key("es-1"),
                *other = ec_key("zz-9"), *next = ec_key("es-2");
    set_jwks(&f, es, rs);
    oidc_config cfg = {.issuer = ISS, .client_id = CLIENT, .redirect_uri = "https://ecred.test/cb",
                       .fetch = fake_fetch, .fetch_ctx = &f};
    oidc_provider *p = NULL;
    CHECK_ERR(oidc_open(&cfg, &p), ECRED_OK);

    /* Accepted: ES256 and RS256, identity copied. */
    oidc_identity id;
    oidc_reject why;
    char *t = mint(es, "ES256", "es-1", claims());
    CHECK_ERR(oidc_verify_id_token(p, t, "n-123", NOW, &id, &why), ECRED_OK);
    CHECK(strcmp(id.sub, "alice") == 0 && strcmp(id.id_number, "340102199003072518") == 0);
    CHECK(strcmp(id.name, "王建国") == 0 && id.exp == NOW + 600);
    free(t);
    CHECK(verify(p, mint(rs, "RS256", "rs-1", claims()), "n-123", NOW) == OIDC_ACCEPTED);
    CHECK(f.jwks_fetches == 1 && f.discovery_fetches == 1);

    /* Foreign tokens: right kid, wrong key; a kid the provider never published. */
    CHECK(verify(p, mint(foreign, "ES256", "es-1", claims()), "n-123", NOW) == OIDC_SIGNATURE);
    CHECK(verify(p, mint(other, "ES256", "zz-9", claims()), "n-123", NOW + 100) == OIDC_UNKNOWN_KEY);
    CHECK(f.jwks_fetches == 2); /* one refetch for the unknown kid */
    CHECK(verify(p, mint(other, "ES256", "zz-9", claims()), "n-123", NOW + 110) == OIDC_UNKNOWN_KEY);
    CHECK(f.jwks_fetches == 2); /* rate-bounded: no second fetch within 30 s */

    /* Time. */
    json_t *c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 61));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_EXPIRED);
    c = claims();
    json_object_set_new(c, "exp", json_integer(NOW - 30)); /* within the 60 s leeway */
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_ACCEPTED);
    c = claims();
    json_object_set_new(c, "iat", json_integer(NOW + 3600));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_IAT);
    c = claims();
    json_object_del(c, "iat");
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_IAT);

    /* Nonce: another login's, missing in the token. */
    CHECK(verify(p, mint(es, "ES256", "es-1", claims()), "n-other", NOW) == OIDC_NONCE);
    c = claims();
    json_object_del(c, "nonce");
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_NONCE);

    /* Issuer and audience. */
    c = claims();
    json_object_set_new(c, "iss", json_string("https://evil.example"));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_ISSUER);
    c = claims();
    json_object_set_new(c, "aud", json_string("another-client"));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_AUDIENCE);
    c = claims();
    json_object_set_new(c, "aud", json_pack("[s, s]", CLIENT, "another-client"));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_AUDIENCE); /* no azp */
    c = claims();
    json_object_set_new(c, "aud", json_pack("[s, s]", CLIENT, "another-client"));
    json_object_set_new(c, "azp", json_string(CLIENT));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_ACCEPTED);

    /* Algorithms: the EC key named by an RS256 header, an RSA kid under ES256, none, HS256. */
    CHECK(verify(p, mint(es, "ES256", "rs-1", claims()), "n-123", NOW) == OIDC_ALG);
    CHECK(verify(p, mint(rs, "RS256", "es-1", claims()), "n-123", NOW) == OIDC_ALG);
    CHECK(verify(p, strdup("eyJhbGciOiJub25lIiwia2lkIjoiZXMtMSJ9.eyJpc3MiOiJ4In0."), "n-123", NOW) != OIDC_ACCEPTED);
    {
        cjose_err e;
        static const uint8_t secret[32] = {1};
        cjose_jwk_t *oct = cjose_jwk_create_oct_spec(secret, sizeof secret, &e);
        CHECK(verify(p, mint(oct, "HS256", "es-1", claims()), "n-123", NOW) == OIDC_ALG);
        cjose_jwk_release(oct);
    }

    /* A payload changed after signing. */
    t = mint(es, "ES256", "es-1", claims());
    char *dot = strchr(t, '.');
    dot[3] = dot[3] == 'A' ? 'B' : 'A';
    CHECK(verify(p, t, "n-123", NOW) != OIDC_ACCEPTED);
    CHECK(verify(p, strdup("not a token"), "n-123", NOW) == OIDC_MALFORMED);

    /* Identity claims. */
    c = claims();
    json_object_del(c, "id_number");
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_IDENTITY);
    c = claims();
    json_object_set_new(c, "id_number", json_string("34010219900307251"));
    CHECK(verify(p, mint(es, "ES256", "es-1", c), "n-123", NOW) == OIDC_IDENTITY);

    /* Rotation: the provider publishes a new key; a token with its kid makes
     * one refetch (past the rate bound) and is accepted; the old key is gone. */
    set_jwks(&f, next, rs);
    unsigned before = f.jwks_fetches;
    CHECK(verify(p, mint(next, "ES256", "es-2", claims()), "n-123", NOW + 200) == OIDC_ACCEPTED);
    CHECK(f.jwks_fetches == before + 1);
    CHECK(verify(p, mint(es, "ES256", "es-1", claims()), "n-123", NOW + 201) == OIDC_UNKNOWN_KEY);
    CHECK(oidc_jwks_fetches(p) == f.jwks_fetches);

    /* The authorization request. */
    char url[1024];
    CHECK_ERR(oidc_authorize_url(p, "st", "no", "ch", url, sizeof url), ECRED_OK);
    CHECK(strncmp(url, ISS "/auth?response_type=code&scope=openid%20profile&client_id=ecred-resident", 80) == 0);
    CHECK(strstr(url, "&code_challenge=ch&code_challenge_method=S256") != NULL);
    CHECK(strstr(url, "redirect_uri=https%3A%2F%2Fecred.test%2Fcb") != NULL);

    /* Configuration: http only on loopback. */
    oidc_provider *q = NULL;
    oidc_config bad = cfg;
    bad.issuer = "http://id.example.test";
    CHECK_ERR(oidc_open(&bad, &q), ECRED_ERR_INPUT);
    bad.issuer = "http://127.0.0.1:9000";
    CHECK_ERR(oidc_open(&bad, &q), ECRED_OK);
    oidc_close(q);

    oidc_close(p);
    cjose_jwk_release(es);
    cjose_jwk_release(rs);
    cjose_jwk_release(foreign);
    cjose_jwk_release(other);
    cjose_jwk_release(next);
    return check_finish();
}
