/*
 * test_verifier_core.c - the verifier's core without the network: durations
 * (vectors), ages, ID masking, role views and agency field lists, API keys
 * stored hashed, status list checks against a trust list (every rejection
 * path), the cache's atomic commit and reload, the staleness rule of the
 * status source, and a tampered cache directory (CR LF ETags and wild times
 * in state.json, a planted gen.* symlink), a trust list past exp, and a
 * writer holding an older load (no rollback of a newer generation).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "apikeys.h"
#include "cache.h"
#include "check.h"
#include "fetch.h"
#include "ecred/credential.h"
#include "roles.h"
#include "status.h"
#include "vutil.h"

#define URI "https://i.example/status/1"
#define PREFIX "https://i.example/status/"

static ecred_key *root, *signer, *other;
static int64_t now;

static ecred_key *gen(void)
{
    ecred_key *k = NULL;
    if (ecred_key_generate(ECRED_COSE_ALG_ES256, &k) != ECRED_OK) {
        fprintf(stderr, "cannot generate a key\n");
        exit(2);
    }
    return k;
}

static void test_durations(void)
{
    ecred_buf v = check_read_source_file("tests/vectors/verifier/durations.txt");
    char *save = NULL;
    int cases = 0;
    for (char *line = strtok_r((char *)v.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char in[64], want[32];
        if (sscanf(line, "%63s %31s", in, want) != 2)
            continue;
        int64_t got = -1;
        ecred_err e = vutil_parse_duration(in, &got);
        if (strcmp(want, "error") == 0) {
            CHECK_ERR(e, ECRED_ERR_INPUT);
        } else {
            CHECK_ERR(e, ECRED_OK);
            CHECK(got == strtoll(want, NULL, 10));
        }
        cases++;
    }
    CHECK(cases >= 15);
    ecred_buf_free(&v);
    int64_t x = 7;
    CHECK_ERR(vutil_parse_duration("", &x), ECRED_ERR_INPUT);
    CHECK(x == 7); /* out-param untouched on failure */
}

static void test_ages(void)
{
    char b[32];
    static const struct { int64_t s; const char *want; } v[] = {
        {-5, "0s"}, {0, "0s"}, {45, "45s"}, {60, "1m"}, {750, "12m30s"}, {3600, "1h"},
        {11520, "3h12m"}, {86400, "1d"}, {187200, "2d4h"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        vutil_format_age(v[i].s, b, sizeof b);
        CHECK(strcmp(b, v[i].want) == 0);
    }
    uint8_t a[4] = {1, 2, 3, 4}, c[4] = {1, 2, 3, 5};
    CHECK(vutil_equal_ct(a, a, 4));
    CHECK(!vutil_equal_ct(a, c, 4));
}

/* A verdict with decoded claims from the spec's example application. */
static ecred_verdict example_verdict(void)
{
    ecred_verdict v;
    memset(&v, 0, sizeof v);
    ecred_buf j = check_read_source_file("spec/examples/permit-rental.json");
    ecred_field_error field;
    CHECK_ERR(ecred_credential_from_json((const char *)j.ptr, j.len, &v.claims.cred, &field),
              ECRED_OK);
    ecred_buf_free(&j);
    strcpy(v.claims.iss, "https://i.example");
    v.claims.iat = now;
    v.claims.exp = now + 86400;
    v.claims.cti_len = 8;
    v.claims_ok = true;
    return v;
}

static void test_roles(void)
{
    char m[19];
    vroles_mask_id("340102199003072518", m);
    CHECK(strcmp(m, "340102********2518") == 0);
    vroles_mask_id("12345", m);
    CHECK(strcmp(m, "******************") == 0);
    vrole r = VROLE_NONE;
    CHECK_ERR(vrole_parse("landlord", &r), ECRED_OK);
    CHECK(r == VROLE_LANDLORD);
    CHECK_ERR(vrole_parse("Police", &r), ECRED_ERR_INPUT);
    char bad[80];
    CHECK_ERR(vroles_check_fields("name,valid_until,id_number_masked", bad, sizeof bad), ECRED_OK);
    CHECK_ERR(vroles_check_fields("name,,valid_until", bad, sizeof bad), ECRED_ERR_INPUT);
    CHECK_ERR(vroles_check_fields("name,salary", bad, sizeof bad), ECRED_ERR_INPUT);
    CHECK(strcmp(bad, "salary") == 0);
    CHECK_ERR(vroles_check_fields("", bad, sizeof bad), ECRED_ERR_INPUT);
    CHECK_ERR(vroles_check_fields("name,", bad, sizeof bad), ECRED_ERR_INPUT);

    ecred_verdict v = example_verdict();
    json_t *police = vroles_view(&v, VROLE_POLICE, NULL);
    CHECK(police && strcmp(json_string_value(json_object_get(police, "id_number")), "340102199003072518") == 0);
    CHECK(police && json_object_get(police, "housing") && json_object_get(police, "cti"));
    json_t *land = vroles_view(&v, VROLE_LANDLORD, NULL);
    CHECK(land && !json_object_get(land, "id_number") && !json_object_get(land, "birth_date") &&
          !json_object_get(land, "sex") && !json_object_get(land, "housing") && !json_object_get(land, "hukou_division"));
    CHECK(land && strcmp(json_string_value(json_object_get(land, "id_number_masked")), "340102********2518") == 0);
    CHECK(land && json_object_get(land, "name") && json_object_get(land, "address") &&
          json_object_get(land, "valid_until"));
    json_t *ag = vroles_view(&v, VROLE_AGENCY, "name,birth_date");
    CHECK(ag && json_object_size(ag) == 2 && json_object_get(ag, "birth_date"));
    json_t *none = vroles_view(&v, VROLE_AGENCY, NULL);
    CHECK(none && json_object_size(none) == 0);
    json_decref(police);
    json_decref(land);
    json_decref(ag);
    json_decref(none);
    v.claims_ok = false;
    CHECK(vroles_view(&v, VROLE_POLICE, NULL) == NULL);
}

static void test_apikeys(const char *dir)
{
    char key[VKEY_TEXT_LEN + 1], id[9], key2[VKEY_TEXT_LEN + 1], id2[9];
    CHECK_ERR(vkeys_add(dir, VROLE_AGENCY, "name,valid_until", key, id), ECRED_OK);
    CHECK_ERR(vkeys_add(dir, VROLE_LANDLORD, NULL, key2, id2), ECRED_OK);
    CHECK(strncmp(key, "ecv_", 4) == 0 && strlen(key) == VKEY_TEXT_LEN);
    CHECK(strcmp(key, key2) != 0);
    vkeys k;
    CHECK_ERR(vkeys_load(dir, &k), ECRED_OK);
    CHECK(k.n == 2);
    const vkey *a = vkeys_check(&k, key, strlen(key));
    CHECK(a && a->role == VROLE_AGENCY && strcmp(a->fields, "name,valid_until") == 0 && strcmp(a->id, id) == 0);
    const vkey *b = vkeys_check(&k, key2, strlen(key2));
    CHECK(b && b->role == VROLE_LANDLORD);
    key[10] = key[10] == 'a' ? 'b' : 'a';
    CHECK(vkeys_check(&k, key, strlen(key)) == NULL);
    CHECK(vkeys_check(&k, key2, strlen(key2) - 1) == NULL);
    vkeys_free(&k);
    /* Only hashes on disk, mode 0600. */
    char p[1100];
    snprintf(p, sizeof p, "%s/api-keys", dir);
    ecred_buf f = ECRED_BUF_INIT;
    CHECK_ERR(ecred_read_file(p, 1 << 20, &f), ECRED_OK);
    ecred_buf_terminate(&f);
    CHECK(f.ptr && !strstr((const char *)f.ptr, key2 + 4));
    ecred_buf_free(&f);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    /* Remove: by id only; unknown or malformed ids change nothing. */
    size_t gone = 99;
    CHECK_ERR(vkeys_remove(dir, "00000000", &gone), ECRED_OK);
    CHECK(gone == 0);
    CHECK_ERR(vkeys_remove(dir, "0000000", &gone), ECRED_ERR_INPUT);
    CHECK_ERR(vkeys_remove(dir, "ABCDEF01", &gone), ECRED_ERR_INPUT);
    CHECK(!vkeys_id_ok("0000000g") && !vkeys_id_ok("000000000") && vkeys_id_ok(id));
    CHECK_ERR(vkeys_remove(dir, id, &gone), ECRED_OK);
    CHECK(gone == 1);
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK_ERR(vkeys_load(dir, &k), ECRED_OK);
    CHECK(k.n == 1 && vkeys_check(&k, key2, strlen(key2)) && strcmp(k.keys[0].id, id2) == 0);
    vkeys_free(&k);
    CHECK_ERR(vkeys_remove(dir, id, &gone), ECRED_OK);
    CHECK(gone == 0);
    /* Issue 17: labels (spaces kept) and expiry; an expired key is refused. */
    char key3[VKEY_TEXT_LEN + 1], id3[9], key4[VKEY_TEXT_LEN + 1], id4[9];
    CHECK_ERR(vkeys_add_labeled(dir, VROLE_POLICE, NULL, "desk 4, north station", 4102444800, key3, id3),
              ECRED_OK);
    CHECK_ERR(vkeys_add_labeled(dir, VROLE_LANDLORD, NULL, "old", 1000, key4, id4), ECRED_OK);
    CHECK_ERR(vkeys_add_labeled(dir, VROLE_LANDLORD, NULL, "bad\nlabel", 0, key4, id4), ECRED_ERR_INPUT);
    CHECK_ERR(vkeys_load(dir, &k), ECRED_OK);
    const vkey *c3 = vkeys_check(&k, key3, strlen(key3));
    CHECK(k.n == 3 && c3 && strcmp(c3->label, "desk 4, north station") == 0 && c3->expires_at == 4102444800);
    CHECK(vkeys_check(&k, key4, strlen(key4)) == NULL);
    CHECK(vkeys_check(&k, key2, strlen(key2)) && k.keys[0].expires_at == 0 && k.keys[0].label[0] == 0);
    vkeys_free(&k);
    CHECK_ERR(vkeys_remove(dir, id3, &gone), ECRED_OK);
    CHECK(gone == 1);
    CHECK_ERR(vkeys_remove(dir, id4, &gone), ECRED_OK);
    CHECK(gone == 1);
    /* A malformed line refuses the whole file. */
    FILE *fp = fopen(p, "a");
    if (fp) {
        fputs("v1 deadbeef 00 police -\n", fp);
        fclose(fp);
    }
    CHECK_ERR(vkeys_load(dir, &k), ECRED_ERR_INPUT);
    /* ... and is never rewritten by a remove. */
    CHECK_ERR(vkeys_remove(dir, id2, &gone), ECRED_ERR_INPUT);
    CHECK_ERR(vkeys_load(dir, &k), ECRED_ERR_INPUT);
}

/* A trust list naming signer for everything under PREFIX, signed by root. */
static ecred_err make_trust(uint32_t types, const char *prefix, ecred_buf *out)
{
    ecred_trustlist_entry e;
    memset(&e, 0, sizeof e);
    e.key = signer;
    e.sign_from = (uint64_t)(now - 86400);
    e.sign_until = (uint64_t)(now + 86400);
    e.types = types;
    snprintf(e.status_uri_prefix, sizeof e.status_uri_prefix, "%s", prefix);
    ecred_trustlist l;
    memset(&l, 0, sizeof l);
    strcpy(l.iss, "https://i.example");
    l.iat = (uint64_t)now;
    l.exp = (uint64_t)(now + 30 * 86400);
    l.seq = 1;
    l.n_entries = 1;
    l.entries = &e;
    return ecred_trustlist_sign(root, &l, out);
}

static ecred_err make_list(const ecred_key *k, const char *uri, int64_t iat, int64_t exp, size_t idx,
                           unsigned val, ecred_buf *out)
{
    ecred_slist_token t;
    memset(&t, 0, sizeof t);
    snprintf(t.uri, sizeof t.uri, "%s", uri);
    t.iat = iat;
    t.exp = exp;
    t.ttl = 300;
    ecred_err e = ecred_slist_init(&t.list, 2, 1024);
    if (!e && val)
        e = ecred_slist_set(&t.list, idx, val);
    if (!e)
        e = ecred_slist_token_sign(k, &t, out);
    ecred_slist_free(&t.list);
    return e;
}

static void test_slist_checks(void)
{
    ecred_buf tb = ECRED_BUF_INIT, tb2 = ECRED_BUF_INIT, lb = ECRED_BUF_INIT;
    ecred_trustlist tl, tl_nolist;
    CHECK_ERR(make_trust(ECRED_TRUST_BITS_ALL, PREFIX, &tb), ECRED_OK);
    CHECK_ERR(ecred_trustlist_verify(tb.ptr, tb.len, root, now, &tl), ECRED_OK);
    CHECK_ERR(make_trust(ECRED_TRUST_BIT_PERMIT, PREFIX, &tb2), ECRED_OK);
    CHECK_ERR(ecred_trustlist_verify(tb2.ptr, tb2.len, root, now, &tl_nolist), ECRED_OK);
    ecred_slist_token tok;
    struct {
        const ecred_key *k;
        const char *sub, *asked;
        int64_t iat, exp;
        const ecred_trustlist *tl;
        ecred_err want;
    } v[] = {
        {signer, URI, URI, now - 10, now + 100, &tl, ECRED_OK},
        {other, URI, URI, now - 10, now + 100, &tl, ECRED_ERR_KEY_UNKNOWN},           /* unlisted key */
        {signer, URI, PREFIX "2", now - 10, now + 100, &tl, ECRED_ERR_STATUS_LIST},   /* sub differs */
        {signer, URI, URI, now - 100, now - 10, &tl, ECRED_ERR_LIST_EXPIRED},         /* past exp */
        {signer, URI, URI, now - 10, now + 100, &tl_nolist, ECRED_ERR_KEY_UNKNOWN},   /* key not for lists */
        {signer, "https://evil.example/s/1", "https://evil.example/s/1", now - 10, now + 100, &tl,
         ECRED_ERR_KEY_UNKNOWN},                                                       /* outside prefix */
        {signer, URI, URI, now + 3 * 86400, now + 4 * 86400, &tl, ECRED_ERR_KEY_UNKNOWN}, /* iat past sign_until */
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_ERR(make_list(v[i].k, v[i].sub, v[i].iat, v[i].exp, 0, 0, &lb), ECRED_OK);
        memset(&tok, 0, sizeof tok);
        ecred_err e = vcache_verify_slist(v[i].tl, lb.ptr, lb.len, v[i].asked, now, &tok);
        CHECK_ERR(e, v[i].want);
        ecred_slist_free(&tok.list);
    }
    /* Every byte flipped in a good list: refused (or, in the unprotected kid,
     * pointing at no key), never accepted. */
    CHECK_ERR(make_list(signer, URI, now - 10, now + 100, 3, 1, &lb), ECRED_OK);
    int accepted = 0;
    for (size_t i = 0; i < lb.len; i++) {
        lb.ptr[i] ^= 0x01;
        memset(&tok, 0, sizeof tok);
        if (vcache_verify_slist(&tl, lb.ptr, lb.len, URI, now, &tok) == ECRED_OK) {
            unsigned val = 9;
            ecred_slist_get(&tok.list, 3, &val);
            accepted += val != 1; /* only an inconsequential bit may survive */
            ecred_slist_free(&tok.list);
        }
        lb.ptr[i] ^= 0x01;
    }
    CHECK(accepted == 0);
    CHECK(!vcache_uri_trusted(&tl_nolist, URI));
    CHECK(vcache_uri_trusted(&tl, URI));
    ecred_trustlist_free(&tl);
    ecred_trustlist_free(&tl_nolist);
    ecred_buf_free(&tb);
    ecred_buf_free(&tb2);
    ecred_buf_free(&lb);
}

/* Build a cache in memory, commit it, load it back, and check the status
 * source's staleness rule on it. */
static void test_cache_and_status(const char *dir)
{
    ecred_buf tb = ECRED_BUF_INIT;
    ecred_trustlist tl;
    CHECK_ERR(make_trust(ECRED_TRUST_BITS_ALL, PREFIX, &tb), ECRED_OK);
    CHECK_ERR(ecred_trustlist_verify(tb.ptr, tb.len, root, now, &tl), ECRED_OK);
    vcache c;
    memset(&c, 0, sizeof c);
    strcpy(c.issuer, "https://i.example");
    c.synced_at = now;
    CHECK_ERR(vcache_set_trust(&c, &tl, &tb, "\"t1\"", now), ECRED_OK);
    CHECK(c.n_keys == 1 && c.keys[0].types == ECRED_TYPE_MASK_ALL);
    vcache_list l;
    memset(&l, 0, sizeof l);
    strcpy(l.uri, URI);
    strcpy(l.etag, "\"l1\"");
    l.fetched_at = now;
    CHECK_ERR(make_list(signer, URI, now - 3600, now + 3600, 7, ECRED_STATUS_SUSPENDED, &l.raw), ECRED_OK);
    CHECK_ERR(vcache_put_list(&c, &l), ECRED_OK);
    char msg[512];
    CHECK_ERR(vcache_commit(dir, &c, msg, sizeof msg), ECRED_OK);
    vcache_free(&c);

    /* No root yet: the load says so. */
    vcache got;
    CHECK_ERR(vcache_load(dir, now, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_ERR_IO);
    CHECK_ERR(vcache_root_store(dir, root), ECRED_OK);
    CHECK_ERR(vcache_load(dir, now, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_OK);
    CHECK(got.trust_ok && got.n_lists == 1 && got.lists[0].ok && strcmp(got.lists[0].etag, "\"l1\"") == 0);
    CHECK(strcmp(got.trust_etag, "\"t1\"") == 0 && got.synced_at == now);

    vstatus s = {.cache = &got, .now = now};
    unsigned st = 9;
    int64_t as_of = 0;
    CHECK_ERR(vstatus_lookup(&s, URI, 1, &st, &as_of), ECRED_OK);
    CHECK(st == ECRED_STATUS_VALID && as_of == now - 3600 && s.found && !s.list_expired);
    CHECK_ERR(vstatus_lookup(&s, URI, 7, &st, &as_of), ECRED_OK);
    CHECK(st == ECRED_STATUS_SUSPENDED);
    /* An index the list does not have rejects the credential (draft: MUST). */
    CHECK_ERR(vstatus_lookup(&s, URI, 5000, &st, &as_of), ECRED_ERR_STATUS_INDEX);
    CHECK_ERR(vstatus_lookup(&s, URI, UINT64_MAX, &st, &as_of), ECRED_ERR_STATUS_INDEX);
    CHECK_ERR(vstatus_lookup(&s, PREFIX "9", 1, &st, &as_of), ECRED_ERR_STATUS_UNAVAILABLE);
    /* Past the list's exp: VALID is stale, a suspension is still news. */
    s.now = now + 7200;
    CHECK_ERR(vstatus_lookup(&s, URI, 1, &st, &as_of), ECRED_ERR_STATUS_STALE);
    CHECK(s.list_expired);
    CHECK_ERR(vstatus_lookup(&s, URI, 7, &st, &as_of), ECRED_OK);
    CHECK(st == ECRED_STATUS_SUSPENDED);

    /* Answers: the status block says how old the data is. */
    ecred_verdict v;
    memset(&v, 0, sizeof v);
    v.outcome = ECRED_ERR_STATUS_STALE;
    json_t *j = vanswer_status_json(&v, &s, now + 7200, 86400);
    CHECK(j && strcmp(json_string_value(json_object_get(j, "value")), "stale") == 0 &&
          json_integer_value(json_object_get(j, "age_seconds")) == 3 * 3600);
    json_decref(j);
    CHECK(strcmp(vanswer_outcome(ECRED_ERR_STATUS_STALE), "unknown") == 0);
    CHECK(strcmp(vanswer_outcome(ECRED_ERR_REVOKED), "invalid") == 0);
    CHECK(strcmp(vanswer_outcome(ECRED_OK), "valid") == 0);

    /* The trust list's own expiry fails a STRICT load, not a LENIENT one. */
    vcache_free(&got);
    CHECK_ERR(vcache_load(dir, now + 31 * 86400, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_ERR_LIST_EXPIRED);
    CHECK(strstr(msg, "expired") != NULL);
    CHECK_ERR(vcache_load(dir, now + 31 * 86400, VCACHE_LENIENT, &got, msg, sizeof msg), ECRED_OK);
    CHECK(got.trust_ok && got.trust.seq == 1);
    /* A second commit replaces the generation atomically and keeps one old one. */
    CHECK_ERR(vcache_commit(dir, &got, msg, sizeof msg), ECRED_OK);
    CHECK_ERR(vcache_commit(dir, &got, msg, sizeof msg), ECRED_OK);
    vcache_free(&got);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "test $(ls -d %s/gen.* | wc -l) -eq 2", dir);
    CHECK(system(cmd) == 0);
    /* A tampered list on disk is kept but not usable. */
    snprintf(cmd, sizeof cmd, "for f in %s/current/sl-*.cwt; do printf 'x' >> \"$f\"; done", dir);
    CHECK(system(cmd) == 0);
    CHECK_ERR(vcache_load(dir, now, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_OK);
    CHECK(got.n_lists == 1 && !got.lists[0].ok);
    vstatus s2 = {.cache = &got, .now = now};
    CHECK_ERR(vstatus_lookup(&s2, URI, 1, &st, &as_of), ECRED_ERR_STATUS_UNAVAILABLE);
    vcache_free(&got);
}

/* Commit a one-list cache (trust list valid 30 days) into dir with its root. */
static void commit_small_cache(const char *dir)
{
    ecred_buf tb = ECRED_BUF_INIT;
    ecred_trustlist tl;
    CHECK_ERR(make_trust(ECRED_TRUST_BITS_ALL, PREFIX, &tb), ECRED_OK);
    CHECK_ERR(ecred_trustlist_verify(tb.ptr, tb.len, root, now, &tl), ECRED_OK);
    vcache c;
    memset(&c, 0, sizeof c);
    strcpy(c.issuer, "https://i.example");
    c.synced_at = now;
    CHECK_ERR(vcache_set_trust(&c, &tl, &tb, "\"t1\"", now), ECRED_OK);
    vcache_list l;
    memset(&l, 0, sizeof l);
    strcpy(l.uri, URI);
    strcpy(l.etag, "\"l1\"");
    l.fetched_at = now;
    CHECK_ERR(make_list(signer, URI, now - 60, now + 3600, 7, ECRED_STATUS_INVALID, &l.raw), ECRED_OK);
    CHECK_ERR(vcache_put_list(&c, &l), ECRED_OK);
    char msg[512];
    CHECK_ERR(vcache_root_store(dir, root), ECRED_OK);
    CHECK_ERR(vcache_commit(dir, &c, msg, sizeof msg), ECRED_OK);
    vcache_free(&c);
}

/* What a tampered cache directory must not achieve, and what a held cache
 * must not vouch for once its trust list has expired. */
static void test_cache_hardening(const char *dir)
{
    char cmd[4 * 600 + 128], msg[512], p[1200];
    commit_small_cache(dir);

    /* state.json read back: an ETag with CR LF (a header injected into the
     * next If-None-Match) and out-of-range times are not taken as given. */
    snprintf(cmd, sizeof cmd,
             "python3 - '%s/current/state.json' <<'PY'\n"
             "import json,sys\n"
             "p=sys.argv[1]; d=json.load(open(p))\n"
             "d['trust']['etag']='\"t1\"\\r\\nX-Injected: 1'\n"
             "d['trust']['fetched_at']=-9223372036854775808\n"
             "d['lists'][0]['etag']='\"l1\"\\r\\nX-Injected: 1'\n"
             "d['lists'][0]['fetched_at']=-9223372036854775808\n"
             "d['synced_at']=9223372036854775807\n"
             "open(p,'w').write(json.dumps(d))\n"
             "PY",
             dir);
    CHECK(system(cmd) == 0);
    vcache got;
    CHECK_ERR(vcache_load(dir, now, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_OK);
    CHECK(got.trust_etag[0] == 0 && got.n_lists == 1 && got.lists[0].etag[0] == 0);
    CHECK(got.trust_fetched_at >= 0 && got.lists[0].fetched_at >= 0 && got.synced_at < ((int64_t)1 << 40));
    CHECK(!vfetch_etag_ok("\"a\"\r\nX: 1") && !vfetch_etag_ok("") && vfetch_etag_ok("W/\"abc\""));
    /* Redirect hops: https never down to http; only http(s). */
    CHECK(vfetch_redirect_allowed("http://a/s/1", "https://a/s/1"));
    CHECK(vfetch_redirect_allowed("http://a/s/1", "http://b/s/1"));
    CHECK(vfetch_redirect_allowed("https://a/s/1", "https://b/s/1"));
    CHECK(!vfetch_redirect_allowed("https://a/s/1", "http://a/s/1"));
    CHECK(!vfetch_redirect_allowed("https://a/s/1", "ftp://a/s/1"));
    CHECK(!vfetch_redirect_allowed("http://a/s/1", "file:///etc/passwd"));
    CHECK(vfetch_media_type_is("application/statuslist+cwt", "application/statuslist+cwt"));
    CHECK(vfetch_media_type_is("Application/StatusList+CWT ; x=1", "application/statuslist+cwt"));
    CHECK(!vfetch_media_type_is("application/statuslist+cwtx", "application/statuslist+cwt"));
    CHECK(!vfetch_media_type_is("", "application/statuslist+cwt"));

    /* The trust list vouches for keys only before its exp. */
    CHECK_ERR(vcache_check_trust(&got, now), ECRED_OK);
    CHECK_ERR(vcache_check_trust(&got, now + 31 * 86400), ECRED_ERR_LIST_EXPIRED);
    vcache none;
    memset(&none, 0, sizeof none);
    CHECK(vcache_check_trust(&none, now) != ECRED_OK);

    /* A writer holding an older load (ecred-verify --online) must not put
     * it back over a generation a sync committed meanwhile (rollback). */
    commit_small_cache(dir); /* the "sync" */
    char cur_before[256] = "", cur_after[256] = "";
    snprintf(p, sizeof p, "%s/current", dir);
    CHECK(readlink(p, cur_before, sizeof cur_before - 1) > 0);
    CHECK_ERR(vcache_commit_if_current(dir, &got, msg, sizeof msg), ECRED_ERR_EXISTS);
    CHECK(readlink(p, cur_after, sizeof cur_after - 1) > 0 && strcmp(cur_before, cur_after) == 0);
    vcache_free(&got);
    CHECK_ERR(vcache_load(dir, now, VCACHE_STRICT, &got, msg, sizeof msg), ECRED_OK);
    CHECK_ERR(vcache_commit_if_current(dir, &got, msg, sizeof msg), ECRED_OK);
    memset(cur_after, 0, sizeof cur_after);
    CHECK(readlink(p, cur_after, sizeof cur_after - 1) > 0 && strcmp(cur_before, cur_after) != 0);
    vcache_free(&got);

    /* A gen.* symlink planted in the cache: cleaning old generations removes
     * the link, never the files it points at. */
    snprintf(cmd, sizeof cmd, "mkdir -p '%s.outside' && echo keep > '%s.outside/precious' && ln -s '%s.outside' '%s/gen.planted'",
             dir, dir, dir, dir);
    CHECK(system(cmd) == 0);
    commit_small_cache(dir);
    commit_small_cache(dir);
    snprintf(p, sizeof p, "%s.outside/precious", dir);
    struct stat st;
    CHECK(stat(p, &st) == 0);
    snprintf(p, sizeof p, "%s/gen.planted", dir);
    CHECK(lstat(p, &st) != 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s.outside'", dir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    now = (int64_t)time(NULL);
    root = gen();
    signer = gen();
    other = gen();
    char dir[512], keys_dir[600], cache_dir[600], cmd[1400];
    snprintf(dir, sizeof dir, "%s/verifier_core.%ld", ECRED_TEST_TMP, (long)getpid());
    snprintf(keys_dir, sizeof keys_dir, "%s/keys", dir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache", dir);
    mkdir(ECRED_TEST_TMP, 0755);
    if (mkdir(dir, 0755) != 0 || mkdir(keys_dir, 0755) != 0 || mkdir(cache_dir, 0755) != 0) {
        fprintf(stderr, "cannot make %s\n", dir);
        return 2;
    }
    test_durations();
    test_ages();
    test_roles();
    test_apikeys(keys_dir);
    test_slist_checks();
    test_cache_and_status(cache_dir);
    snprintf(cache_dir, sizeof cache_dir, "%s/cache2", dir);
    mkdir(cache_dir, 0755);
    test_cache_hardening(cache_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    ecred_key_free(root);
    ecred_key_free(signer);
    ecred_key_free(other);
    return check_finish();
}
