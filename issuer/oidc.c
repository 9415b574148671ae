/*
 * oidc.c - OpenID Connect relying party for resident sign-in (see oidc.h):
 * the only file that includes cjose.
 *
 * cjose verifies a JWS with the key it is given for the alg the header
 * names, so the choices that make a verification mean something are made
 * here before it runs: the alg allow-list, the key picked by kid only from
 * the configured provider's JWKS, and the key's type matching the alg (an
 * RSA key is never used for ES256 or the other way round).
 *
 * Must never: accept alg "none" or an HMAC alg, pick a key from anywhere but
 * the provider's JWKS, or hold the cache lock while fetching over the network
 * for longer than one fetch (fetches are bounded by outcall timeouts).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "oidc.h"
#include "outcall.h"

#define OIDC_FETCH_TIMEOUT_MS 5000L
#define OIDC_KID_MAX 128

typedef struct oidc_key {
    char kid[OIDC_KID_MAX + 1];
    cjose_jwk_kty_t kty;
    cjose_jwk_t *jwk;
} oidc_key;

struct oidc_provider {
    char *issuer, *client_id, *audience, *redirect_uri;
    unsigned refetch_min_s, leeway_s;
    oidc_fetch_fn fetch;
    void *fetch_ctx;
    pthread_mutex_t lock;
    bool discovered;
    char auth_ep[OIDC_URL_MAX + 1], token_ep[OIDC_URL_MAX + 1], jwks_uri[OIDC_URL_MAX + 1];
    oidc_key keys[OIDC_JWKS_KEYS_MAX];
    size_t n_keys;
    int64_t jwks_fetched_at; /* 0: never */
    unsigned jwks_fetches;
};

/* The default fetcher: libcurl through outcall.h. */
static ecred_err oidc_fetch_curl(void *ctx, const char *url, const char *form, long *status,
                                 ecred_buf *out)
{
    (void)ctx;
    outcall_req q = {url, form ? "application/x-www-form-urlencoded" : NULL, form, NULL,
                     OIDC_DOC_MAX, OIDC_FETCH_TIMEOUT_MS};
    return outcall_do(&q, status, out);
}

/* https anywhere; http only to a loopback host (a provider in tests). */
static bool oidc_url_ok(const char *u)
{
    if (!u || strlen(u) > OIDC_URL_MAX)
        return false;
    if (strncmp(u, "https://", 8) == 0)
        return u[8] != 0;
    static const char *const loop[] = {"http://127.0.0.1:", "http://127.0.0.1/", "http://[::1]:",
                                       "http://localhost:", NULL};
    for (size_t i = 0; loop[i]; i++)
        if (strncmp(u, loop[i], strlen(loop[i])) == 0)
            return true;
    return false;
}

ecred_err oidc_open(const oidc_config *cfg, oidc_provider **out)
{
    if (!cfg->issuer || !cfg->client_id || !cfg->redirect_uri || !cfg->client_id[0])
        return ECRED_ERR_ARG;
    if (!oidc_url_ok(cfg->issuer) || strlen(cfg->redirect_uri) > OIDC_URL_MAX)
        return ECRED_ERR_INPUT;
    oidc_provider *p = calloc(1, sizeof *p);
    if (!p)
        return ECRED_ERR_NOMEM;
    p->issuer = strdup(cfg->issuer);
    p->client_id = strdup(cfg->client_id);
    p->audience = strdup(cfg->audience ? cfg->audience : cfg->client_id);
    p->redirect_uri = strdup(cfg->redirect_uri);
    p->refetch_min_s = cfg->refetch_min_s ? cfg->refetch_min_s : 30;
    p->leeway_s = cfg->leeway_s ? cfg->leeway_s : 60;
    p->fetch = cfg->fetch ? cfg->fetch : oidc_fetch_curl;
    p->fetch_ctx = cfg->fetch_ctx;
    pthread_mutex_init(&p->lock, NULL);
    if (!p->issuer || !p->client_id || !p->audience || !p->redirect_uri) {
        oidc_close(p);
        return ECRED_ERR_NOMEM;
    }
    *out = p;
    return ECRED_OK;
}

static void oidc_keys_clear(oidc_provider *p)
{
    for (size_t i = 0; i < p->n_keys; i++)
        cjose_jwk_release(p->keys[i].jwk);
    p->n_keys = 0;
}

void oidc_close(oidc_provider *p)
{
    if (!p)
        return;
    oidc_keys_clear(p);
    pthread_mutex_destroy(&p->lock);
    free(p->issuer);
    free(p->client_id);
    free(p->audience);
    free(p->redirect_uri);
    free(p);
}

unsigned oidc_jwks_fetches(oidc_provider *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned n = p->jwks_fetches;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* GET url as one JSON object (200 only). */
static ecred_err oidc_get_json(oidc_provider *p, const char *url, const char *form, json_t **out,
                               long *status_out)
{
    ecred_buf b = ECRED_BUF_INIT;
    long status = 0;
    ecred_err e = p->fetch(p->fetch_ctx, url, form, &status, &b);
    if (status_out)
        *status_out = status;
    if (e) {
        ecred_buf_free(&b);
        return e;
    }
    json_t *j = json_loadb((const char *)b.ptr, b.len, JSON_REJECT_DUPLICATES, NULL);
    ecred_buf_wipe(&b); /* a token answer carries the ID token */
    if (!json_is_object(j) || (status != 200 && !form)) {
        json_decref(j);
        return ECRED_ERR_IO;
    }
    *out = j;
    return ECRED_OK;
}

/* Copy a member that must be an acceptable URL. */
static bool oidc_doc_url(json_t *doc, const char *key, char out[OIDC_URL_MAX + 1])
{
    const char *v = json_string_value(json_object_get(doc, key));
    if (!oidc_url_ok(v))
        return false;
    snprintf(out, OIDC_URL_MAX + 1, "%s", v);
    return true;
}

/* Discovery (lock held): the document's issuer must be ours exactly
 * (OpenID Connect Discovery 1.0 section 4.3). */
static ecred_err oidc_discover(oidc_provider *p)
{
    if (p->discovered)
        return ECRED_OK;
    char url[OIDC_URL_MAX + 64];
    size_t n = strlen(p->issuer);
    snprintf(url, sizeof url, "%.*s/.well-known/openid-configuration",
             (int)(n && p->issuer[n - 1] == '/' ? n - 1 : n), p->issuer);
    json_t *doc = NULL;
    ecred_err e = oidc_get_json(p, url, NULL, &doc, NULL);
    if (e)
        return ECRED_ERR_IO;
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    if (!iss || strcmp(iss, p->issuer) != 0 || !oidc_doc_url(doc, "authorization_endpoint", p->auth_ep) ||
        !oidc_doc_url(doc, "token_endpoint", p->token_ep) || !oidc_doc_url(doc, "jwks_uri", p->jwks_uri))
        e = ECRED_ERR_IO;
    else
        p->discovered = true;
    json_decref(doc);
    return e;
}

/* Fetch the JWKS and replace the cache (lock held). Keys for other uses
 * (enc) or without a kid are skipped; a document with no usable key leaves
 * the cache as it was. */
static ecred_err oidc_jwks_load(oidc_provider *p, int64_t now)
{
    ecred_err e = oidc_discover(p);
    if (e)
        return e;
    json_t *doc = NULL;
    p->jwks_fetched_at = now;
    p->jwks_fetches++;
    if ((e = oidc_get_json(p, p->jwks_uri, NULL, &doc, NULL)) != ECRED_OK)
        return ECRED_ERR_IO;
    json_t *keys = json_object_get(doc, "keys");
    oidc_key fresh[OIDC_JWKS_KEYS_MAX];
    size_t n = 0;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        if (n == OIDC_JWKS_KEYS_MAX)
            break;
        const char *kid = json_string_value(json_object_get(k, "kid"));
        const char *use = json_string_value(json_object_get(k, "use"));
        if (!kid || strlen(kid) > OIDC_KID_MAX || (use && strcmp(use, "sig") != 0))
            continue;
        cjose_err cerr;
        cjose_jwk_t *jwk = cjose_jwk_import_json((cjose_header_t *)k, &cerr);
        if (!jwk)
            continue;
        cjose_jwk_kty_t kty = cjose_jwk_get_kty(jwk, &cerr);
        if (kty != CJOSE_JWK_KTY_EC && kty != CJOSE_JWK_KTY_RSA) {
            cjose_jwk_release(jwk);
            continue;
        }
        snprintf(fresh[n].kid, sizeof fresh[n].kid, "%s", kid);
        fresh[n].kty = kty;
        fresh[n].jwk = jwk;
        n++;
    }
    json_decref(doc);
    if (n == 0)
        return ECRED_ERR_IO;
    oidc_keys_clear(p);
    memcpy(p->keys, fresh, n * sizeof fresh[0]);
    p->n_keys = n;
    return ECRED_OK;
}

static const oidc_key *oidc_key_find(const oidc_provider *p, const char *kid)
{
    for (size_t i = 0; i < p->n_keys; i++)
        if (strcmp(p->keys[i].kid, kid) == 0)
            return &p->keys[i];
    return NULL;
}

const char *oidc_reject_text(oidc_reject why)
{
    switch (why) {
    case OIDC_ACCEPTED: return "accepted";
    case OIDC_MALFORMED: return "the ID token is not a signed JWT";
    case OIDC_ALG: return "the ID token's algorithm is not allowed (RS256, ES256)";
    case OIDC_UNKNOWN_KEY: return "the ID token was signed by a key the identity provider does not publish";
    case OIDC_SIGNATURE: return "the ID token's signature does not verify";
    case OIDC_ISSUER: return "the ID token comes from another identity provider";
    case OIDC_AUDIENCE: return "the ID token was issued for another client";
    case OIDC_EXPIRED: return "the ID token has expired";
    case OIDC_IAT: return "the ID token's issue time is missing or in the future";
    case OIDC_NONCE: return "the ID token does not answer this sign-in (nonce)";
    case OIDC_IDENTITY: return "the ID token lacks the resident's name or ID number";
    case OIDC_UNAVAILABLE: return "the identity provider's keys could not be fetched";
    }
    return "rejected";
}

/* Whether the token's aud names our audience; with several audiences azp
 * must be our client (OpenID Connect Core 3.1.3.7 items 3-5). */
static bool oidc_aud_ok(const oidc_provider *p, json_t *claims)
{
    json_t *aud = json_object_get(claims, "aud");
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), p->audience) == 0 &&
               (!azp || strcmp(azp, p->client_id) == 0);
    if (!json_is_array(aud) || json_array_size(aud) == 0)
        return false;
    bool found = false;
    size_t i;
    json_t *a;
    json_array_foreach(aud, i, a) {
        if (!json_is_string(a))
            return false;
        if (strcmp(json_string_value(a), p->audience) == 0)
            found = true;
    }
    if (json_array_size(aud) > 1)
        return found && azp && strcmp(azp, p->client_id) == 0;
    return found && (!azp || strcmp(azp, p->client_id) == 0);
}

/* 18 characters: 17 digits and a digit or X (the lifecycle checks the check digit). */
static bool oidc_id_number_ok(const char *s)
{
    if (!s || strlen(s) != OIDC_ID_NUMBER_LEN)
        return false;
    for (size_t i = 0; i < OIDC_ID_NUMBER_LEN; i++)
        if (!(s[i] >= '0' && s[i] <= '9') && !(i == OIDC_ID_NUMBER_LEN - 1 && s[i] == 'X'))
            return false;
    return true;
}

/* Claims checks after the signature verified. */
static oidc_reject oidc_claims_check(const oidc_provider *p, json_t *c, const char *nonce,
                                     int64_t now, oidc_identity *id)
{
    const char *iss = json_string_value(json_object_get(c, "iss"));
    if (!iss || strcmp(iss, p->issuer) != 0)
        return OIDC_ISSUER;
    if (!oidc_aud_ok(p, c))
        return OIDC_AUDIENCE;
    json_t *exp = json_object_get(c, "exp"), *iat = json_object_get(c, "iat");
    if (!json_is_integer(exp) || json_integer_value(exp) + (json_int_t)p->leeway_s <= now)
        return OIDC_EXPIRED;
    if (!json_is_integer(iat) || json_integer_value(iat) > now + (json_int_t)p->leeway_s)
        return OIDC_IAT;
    const char *tn = json_string_value(json_object_get(c, "nonce"));
    if (!nonce || !tn || strcmp(tn, nonce) != 0)
        return OIDC_NONCE;
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *name = json_string_value(json_object_get(c, "name"));
    const char *idn = json_string_value(json_object_get(c, "id_number"));
    if (!sub || !sub[0] || strlen(sub) > OIDC_SUB_MAX || !name || !name[0] ||
        strlen(name) > OIDC_NAME_MAX || !oidc_id_number_ok(idn))
        return OIDC_IDENTITY;
    snprintf(id->sub, sizeof id->sub, "%s", sub);
    snprintf(id->name, sizeof id->name, "%s", name);
    snprintf(id->id_number, sizeof id->id_number, "%s", idn);
    id->exp = (int64_t)json_integer_value(exp);
    return OIDC_ACCEPTED;
}

ecred_err oidc_verify_id_token(oidc_provider *p, const char *token, const char *nonce, int64_t now,
                               oidc_identity *out, oidc_reject *why)
{
    *why = OIDC_MALFORMED;
    size_t n = token ? strnlen(token, OIDC_TOKEN_MAX + 1) : 0;
    if (n == 0 || n > OIDC_TOKEN_MAX)
        return ECRED_ERR_INPUT;
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_import(token, n, &cerr);
    if (!jws)
        return ECRED_ERR_INPUT;
    ecred_err e = ECRED_ERR_INPUT;
    json_t *claims = NULL;
    json_t *hdr = (json_t *)cjose_jws_get_protected(jws);
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    const char *kid = json_string_value(json_object_get(hdr, "kid"));
    cjose_jwk_kty_t want;
    if (alg && strcmp(alg, "ES256") == 0)
        want = CJOSE_JWK_KTY_EC;
    else if (alg && strcmp(alg, "RS256") == 0)
        want = CJOSE_JWK_KTY_RSA;
    else {
        *why = OIDC_ALG;
        goto out;
    }
    if (json_object_get(hdr, "crit")) { /* no extension is understood here */
        *why = OIDC_MALFORMED;
        goto out;
    }
    if (!kid || strlen(kid) > OIDC_KID_MAX) {
        *why = OIDC_UNKNOWN_KEY;
        goto out;
    }
    pthread_mutex_lock(&p->lock);
    const oidc_key *k = oidc_key_find(p, kid);
    if (!k && (p->jwks_fetched_at == 0 || now - p->jwks_fetched_at >= (int64_t)p->refetch_min_s)) {
        /* Unknown kid: the provider may have rotated; refetch, rate-bounded. */
        if (oidc_jwks_load(p, now) != ECRED_OK && p->n_keys == 0) {
            pthread_mutex_unlock(&p->lock);
            *why = OIDC_UNAVAILABLE;
            e = ECRED_ERR_IO;
            goto out;
        }
        k = oidc_key_find(p, kid);
    }
    bool verified = false;
    if (k && k->kty == want)
        verified = cjose_jws_verify(jws, k->jwk, &cerr);
    cjose_jwk_kty_t kty = k ? k->kty : want;
    pthread_mutex_unlock(&p->lock);
    if (!k) {
        *why = OIDC_UNKNOWN_KEY;
        e = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    if (kty != want) {
        *why = OIDC_ALG;
        e = ECRED_ERR_KEY_ALG_MISMATCH;
        goto out;
    }
    if (!verified) {
        *why = OIDC_SIGNATURE;
        e = ECRED_ERR_SIGNATURE_INVALID;
        goto out;
    }
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    if (!cjose_jws_get_plaintext(jws, &pt, &pt_len, &cerr)) {
        *why = OIDC_MALFORMED;
        goto out;
    }
    claims = json_loadb((const char *)pt, pt_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(claims)) {
        *why = OIDC_MALFORMED;
        goto out;
    }
    oidc_identity id;
    memset(&id, 0, sizeof id);
    *why = oidc_claims_check(p, claims, nonce, now, &id);
    if (*why == OIDC_ACCEPTED) {
        *out = id;
        e = ECRED_OK;
    } else {
        e = *why == OIDC_EXPIRED ? ECRED_ERR_EXPIRED : ECRED_ERR_CLAIMS;
    }
out:
    json_decref(claims);
    cjose_jws_release(jws);
    return e;
}

ecred_err oidc_authorize_url(oidc_provider *p, const char *state, const char *nonce,
                             const char *code_challenge, char *out, size_t cap)
{
    pthread_mutex_lock(&p->lock);
    ecred_err e = oidc_discover(p);
    char ep[OIDC_URL_MAX + 1];
    snprintf(ep, sizeof ep, "%s", p->auth_ep);
    pthread_mutex_unlock(&p->lock);
    if (e)
        return e;
    char *cid = outcall_form_escape(p->client_id), *ru = outcall_form_escape(p->redirect_uri);
    if (!cid || !ru) {
        free(cid);
        free(ru);
        return ECRED_ERR_NOMEM;
    }
    /* state, nonce and challenge are base64url made here: no escaping needed. */
    int w = snprintf(out, cap,
                     "%s%sresponse_type=code&scope=openid%%20profile&client_id=%s&redirect_uri=%s"
                     "&state=%s&nonce=%s&code_challenge=%s&code_challenge_method=S256",
                     ep, strchr(ep, '?') ? "&" : "?", cid, ru, state, nonce, code_challenge);
    free(cid);
    free(ru);
    return w < 0 || (size_t)w >= cap ? ECRED_ERR_BUFFER_SMALL : ECRED_OK;
}

ecred_err oidc_exchange_code(oidc_provider *p, const char *code, const char *code_verifier,
                             const char *nonce, int64_t now, oidc_identity *out, oidc_reject *why)
{
    *why = OIDC_UNAVAILABLE;
    pthread_mutex_lock(&p->lock);
    ecred_err e = oidc_discover(p);
    char ep[OIDC_URL_MAX + 1];
    snprintf(ep, sizeof ep, "%s", p->token_ep);
    pthread_mutex_unlock(&p->lock);
    if (e)
        return ECRED_ERR_IO;
    char *c = outcall_form_escape(code), *v = outcall_form_escape(code_verifier),
         *cid = outcall_form_escape(p->client_id), *ru = outcall_form_escape(p->redirect_uri);
    char *form = NULL;
    e = ECRED_ERR_NOMEM;
    if (!c || !v || !cid || !ru)
        goto out;
    size_t need = strlen(c) + strlen(v) + strlen(cid) + strlen(ru) + 128;
    form = malloc(need);
    if (!form)
        goto out;
    snprintf(form, need, "grant_type=authorization_code&code=%s&redirect_uri=%s&client_id=%s&code_verifier=%s",
             c, ru, cid, v);
    json_t *ans = NULL;
    long status = 0;
    e = oidc_get_json(p, ep, form, &ans, &status);
    if (e || status != 200) {
        /* 400 invalid_grant: a code used twice, expired, or another verifier. */
        json_decref(ans);
        e = ECRED_ERR_IO;
        goto out;
    }
    const char *tok = json_string_value(json_object_get(ans, "id_token"));
    e = oidc_verify_id_token(p, tok, nonce, now, out, why);
    json_decref(ans);
out:
    free(c);
    free(v);
    free(cid);
    free(ru);
    free(form);
    return e;
}
