/*
 * trustlist.c - sign, verify and query the signed trust list
 * (spec/trustlist.md is the normative text; check order follows its section 3).
 *
 * Everything cheap and unauthenticated (size, envelope, typ, root kid) is
 * checked before the signature; the payload is parsed only once the root's
 * signature holds. Listed keys are parsed here, once, so lookups on the verify
 * path never touch OpenSSL. This file must never print, exit, read files or
 * consult the clock: the caller passes `now`.
 */
#include "ecred/trustlist.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "ecred/trustpolicy.h"
#include "ecred/utf8.h"

/* Payload caps: an entry is at most 1 map + 7 keys + 7 values + 16 types. */
#define TL_ITEMS_PER_ENTRY 31
static const ecred_cbor_limits tl_payload_limits = {
    ECRED_TRUSTLIST_MAX_BYTES,
    16 + (size_t)ECRED_TRUSTLIST_MAX_ENTRIES * TL_ITEMS_PER_ENTRY,
    8,
};
/* The envelope holds a handful of items; the payload is one bstr among them. */
static const ecred_cbor_limits tl_envelope_limits = {ECRED_TRUSTLIST_MAX_BYTES, 64, 8};

/* Entry map keys. */
enum {
    TL_E_KID = 1,
    TL_E_ALG = 2,
    TL_E_SPKI = 3,
    TL_E_SIGN_FROM = 4,
    TL_E_SIGN_UNTIL = 5,
    TL_E_TYPES = 6,
    TL_E_URI = 7,
};

uint32_t ecred_trustlist_type_bit(int64_t type)
{
    switch (type) {
    case ECRED_TRUST_TYPE_REGISTRATION: return ECRED_TRUST_BIT_REGISTRATION;
    case ECRED_TRUST_TYPE_PERMIT: return ECRED_TRUST_BIT_PERMIT;
    case ECRED_TRUST_TYPE_STATUS_LIST: return ECRED_TRUST_BIT_STATUS_LIST;
    default: return 0;
    }
}

/* A URI prefix is printable ASCII without spaces (RFC 3986 characters). */
static bool tl_uri_ok(const char *s, size_t n)
{
    if (n == 0 || n > ECRED_TRUSTLIST_URI_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return false;
    return true;
}

/* iss: 1..ECRED_TRUSTLIST_ISS_MAX bytes of UTF-8 without NUL: we keep text
 * as C strings, so an embedded NUL would silently truncate what the signer
 * meant. */
static bool tl_iss_ok(const char *s, size_t n)
{
    return n > 0 && n <= ECRED_TRUSTLIST_ISS_MAX && ecred_utf8_valid((const uint8_t *)s, n, ECRED_UTF8_NO_NUL);
}

/* ---- encoding ---------------------------------------------------------- */

/* Unsigned integer in its smallest width (ecred_cbor_int stops at INT64_MAX). */
static cbor_item_t *tl_uint(uint64_t v)
{
    if (v <= UINT8_MAX)
        return cbor_build_uint8((uint8_t)v);
    if (v <= UINT16_MAX)
        return cbor_build_uint16((uint16_t)v);
    if (v <= UINT32_MAX)
        return cbor_build_uint32((uint32_t)v);
    return cbor_build_uint64(v);
}

/* Check the fields sign reads, as verify would: sign never produces a list
 * verify refuses. ECRED_ERR_ARG otherwise. */
static ecred_err tl_check_for_signing(const ecred_trustlist *list)
{
    if (!tl_iss_ok(list->iss, strnlen(list->iss, sizeof list->iss)) ||
        strnlen(list->iss, sizeof list->iss) == sizeof list->iss)
        return ECRED_ERR_ARG;
    if (list->iat > list->exp)
        return ECRED_ERR_ARG;
    if (list->n_entries == 0 || list->n_entries > ECRED_TRUSTLIST_MAX_ENTRIES || !list->entries)
        return ECRED_ERR_ARG;
    for (size_t i = 0; i < list->n_entries; i++) {
        const ecred_trustlist_entry *e = &list->entries[i];
        size_t ulen = strnlen(e->status_uri_prefix, sizeof e->status_uri_prefix);
        if (!e->key || e->sign_from > e->sign_until)
            return ECRED_ERR_ARG;
        if (e->types == 0 || (e->types & ~(uint32_t)ECRED_TRUST_BITS_ALL) != 0)
            return ECRED_ERR_ARG;
        if (ulen == sizeof e->status_uri_prefix || !tl_uri_ok(e->status_uri_prefix, ulen))
            return ECRED_ERR_ARG;
        for (size_t j = 0; j < i; j++)
            if (memcmp(ecred_key_kid(list->entries[j].key), ecred_key_kid(e->key),
                       ECRED_KID_LEN) == 0)
                return ECRED_ERR_ARG;
    }
    return ECRED_OK;
}

/* Build one entry map {1 kid, 2 alg, 3 spki, 4 from, 5 until, 6 types, 7 uri}. */
static ecred_err tl_encode_entry(const ecred_trustlist_entry *e, cbor_item_t **out)
{
    static const int type_values[] = {ECRED_TRUST_TYPE_REGISTRATION, ECRED_TRUST_TYPE_PERMIT,
                                      ECRED_TRUST_TYPE_STATUS_LIST};
    ecred_buf spki = ECRED_BUF_INIT;
    cbor_item_t *map = NULL, *types = NULL;
    ecred_err err = ecred_key_spki_der(e->key, &spki);
    if (err)
        goto out;
    if (spki.len == 0 || spki.len > ECRED_TRUSTLIST_SPKI_MAX) {
        err = ECRED_ERR_ARG;
        goto out;
    }
    size_t n_types = 0;
    for (size_t i = 0; i < sizeof type_values / sizeof type_values[0]; i++)
        if (e->types & ecred_trustlist_type_bit(type_values[i]))
            n_types++;
    err = ECRED_ERR_NOMEM;
    map = cbor_new_definite_map(7);
    types = cbor_new_definite_array(n_types);
    if (!map || !types)
        goto out;
    /* Ascending type values: the deterministic order spec section 2 promises. */
    for (size_t i = 0; i < sizeof type_values / sizeof type_values[0]; i++) {
        if (!(e->types & ecred_trustlist_type_bit(type_values[i])))
            continue;
        cbor_item_t *v = tl_uint((uint64_t)type_values[i]);
        bool ok = v && cbor_array_push(types, v);
        if (v)
            cbor_decref(&v);
        if (!ok)
            goto out;
    }
    const char *uri = e->status_uri_prefix;
    if ((err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_KID),
                                  ecred_cbor_bytes(ecred_key_kid(e->key), ECRED_KID_LEN))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_ALG),
                                  ecred_cbor_int(ecred_key_alg(e->key)))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_SPKI),
                                  ecred_cbor_bytes(spki.ptr, spki.len))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_SIGN_FROM), tl_uint(e->sign_from))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_SIGN_UNTIL), tl_uint(e->sign_until))))
        goto out;
    err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_TYPES), types);
    types = NULL; /* map_put took it, on failure too */
    if (err)
        goto out;
    if ((err = ecred_cbor_map_put(map, ecred_cbor_int(TL_E_URI),
                                  ecred_cbor_text(uri, strlen(uri)))))
        goto out;
    *out = map;
    map = NULL;
out:
    if (types)
        cbor_decref(&types);
    if (map)
        cbor_decref(&map);
    ecred_buf_free(&spki);
    return err;
}

/* Encode the payload map in deterministic key order: 1, 4, 6, -65538, -65539. */
static ecred_err tl_encode_payload(const ecred_trustlist *list, ecred_buf *out)
{
    cbor_item_t *map = NULL, *entries = NULL;
    ecred_err err = ECRED_ERR_NOMEM;
    map = cbor_new_definite_map(5);
    entries = cbor_new_definite_array(list->n_entries);
    if (!map || !entries)
        goto out;
    for (size_t i = 0; i < list->n_entries; i++) {
        cbor_item_t *entry = NULL;
        if ((err = tl_encode_entry(&list->entries[i], &entry)))
            goto out;
        bool ok = cbor_array_push(entries, entry);
        cbor_decref(&entry);
        if (!ok) {
            err = ECRED_ERR_NOMEM;
            goto out;
        }
    }
    if ((err = ecred_cbor_map_put(map, ecred_cbor_int(ECRED_CWT_ISS),
                                  ecred_cbor_text(list->iss, strlen(list->iss)))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(ECRED_CWT_EXP), tl_uint(list->exp))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(ECRED_CWT_IAT), tl_uint(list->iat))) ||
        (err = ecred_cbor_map_put(map, ecred_cbor_int(ECRED_CWT_TRUSTLIST_SEQ),
                                  tl_uint(list->seq))))
        goto out;
    err = ecred_cbor_map_put(map, ecred_cbor_int(ECRED_CWT_TRUSTLIST_ENTRIES), entries);
    entries = NULL;
    if (err)
        goto out;
    err = ecred_cbor_encode(map, out);
out:
    if (entries)
        cbor_decref(&entries);
    if (map)
        cbor_decref(&map);
    return err;
}

ecred_err ecred_trustlist_sign(const ecred_key *root, const ecred_trustlist *list,
                               ecred_buf *out)
{
    if (!root || !list || !out || !ecred_key_has_private(root))
        return ECRED_ERR_ARG;
    ecred_buf payload = ECRED_BUF_INIT, signed_list = ECRED_BUF_INIT;
    ecred_err err = tl_check_for_signing(list);
    if (err)
        goto out;
    if ((err = tl_encode_payload(list, &payload)))
        goto out;
    const ecred_cose_sign_opts opts = {true, false, ECRED_TRUSTLIST_TYP};
    if ((err = ecred_cose_sign1_sign(root, &opts, payload.ptr, payload.len, &signed_list)))
        goto out;
    if (signed_list.len > ECRED_TRUSTLIST_MAX_BYTES) {
        err = ECRED_ERR_TOO_LARGE;
        goto out;
    }
    ecred_buf_free(out);
    *out = signed_list;
    signed_list = (ecred_buf)ECRED_BUF_INIT;
out:
    ecred_buf_free(&signed_list);
    ecred_buf_free(&payload);
    return err;
}

/* ---- decoding ---------------------------------------------------------- */

/* A CBOR unsigned integer (major type 0) of any width; ECRED_ERR_TRUST_LIST
 * for anything else, negative integers included. */
static ecred_err tl_get_uint(const cbor_item_t *item, uint64_t *out)
{
    if (!item || !cbor_isa_uint(item))
        return ECRED_ERR_TRUST_LIST;
    *out = cbor_get_int(item);
    return ECRED_OK;
}

/* Copy a definite text string of 1..max bytes that passes `ok` into dst
 * (max + 1 bytes). */
static ecred_err tl_get_text(const cbor_item_t *item, size_t max,
                             bool (*ok)(const char *, size_t), char *dst)
{
    if (!item || !cbor_isa_string(item) || !cbor_string_is_definite(item))
        return ECRED_ERR_TRUST_LIST;
    size_t n = cbor_string_length(item);
    const char *s = (const char *)cbor_string_handle(item);
    if (n == 0 || n > max || !s || !ok(s, n))
        return ECRED_ERR_TRUST_LIST;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return ECRED_OK;
}

/* The integer key of a map pair, or ECRED_ERR_TRUST_LIST for any other key type. */
static ecred_err tl_pair_key(const struct cbor_pair *p, int64_t *key)
{
    if (!cbor_isa_uint(p->key) && !cbor_isa_negint(p->key))
        return ECRED_ERR_TRUST_LIST;
    return ecred_cbor_get_int(p->key, key) == ECRED_OK ? ECRED_OK : ECRED_ERR_TRUST_LIST;
}

/* Types array: 1..16 uints, no duplicates; unknown values grant nothing. */
static ecred_err tl_decode_types(const cbor_item_t *item, uint32_t *out)
{
    if (!item || !cbor_isa_array(item) || !cbor_array_is_definite(item))
        return ECRED_ERR_TRUST_LIST;
    size_t n = cbor_array_size(item);
    if (n == 0 || n > ECRED_TRUSTLIST_TYPES_MAX)
        return ECRED_ERR_TRUST_LIST;
    cbor_item_t **v = cbor_array_handle(item);
    uint64_t seen[ECRED_TRUSTLIST_TYPES_MAX];
    uint32_t bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (tl_get_uint(v[i], &seen[i]))
            return ECRED_ERR_TRUST_LIST;
        for (size_t j = 0; j < i; j++)
            if (seen[j] == seen[i])
                return ECRED_ERR_TRUST_LIST;
        if (seen[i] <= INT64_MAX)
            bits |= ecred_trustlist_type_bit((int64_t)seen[i]);
    }
    *out = bits;
    return ECRED_OK;
}

/* Decode one entry map into *e (whose key it then owns), checking every field,
 * that kid = SHA-256(spki)[0..8) and that spki is a canonical SPKI DER of a key
 * of the entry's alg. */
static ecred_err tl_decode_entry(const cbor_item_t *map, ecred_trustlist_entry *e)
{
    if (!cbor_isa_map(map) || !cbor_map_is_definite(map) ||
        ecred_cbor_map_check_unique(map) != ECRED_OK)
        return ECRED_ERR_TRUST_LIST;
    const cbor_item_t *f[8] = {NULL};
    struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < cbor_map_size(map); i++) {
        int64_t key;
        if (tl_pair_key(&pairs[i], &key) || key < TL_E_KID || key > TL_E_URI)
            return ECRED_ERR_TRUST_LIST;
        f[key] = pairs[i].value;
    }
    ecred_trustlist_entry tmp;
    memset(&tmp, 0, sizeof tmp);
    uint64_t alg_abs;
    if (!f[TL_E_KID] || !cbor_isa_bytestring(f[TL_E_KID]) ||
        !cbor_bytestring_is_definite(f[TL_E_KID]) ||
        cbor_bytestring_length(f[TL_E_KID]) != ECRED_KID_LEN)
        return ECRED_ERR_TRUST_LIST;
    memcpy(tmp.kid, cbor_bytestring_handle(f[TL_E_KID]), ECRED_KID_LEN);
    /* alg is -7 or -8: a negint whose stored value is -1 - alg. */
    if (!f[TL_E_ALG] || !cbor_isa_negint(f[TL_E_ALG]))
        return ECRED_ERR_TRUST_LIST;
    alg_abs = cbor_get_int(f[TL_E_ALG]);
    if (alg_abs != 6 && alg_abs != 7)
        return ECRED_ERR_TRUST_LIST;
    tmp.alg = -1 - (int)alg_abs;
    if (tl_get_uint(f[TL_E_SIGN_FROM], &tmp.sign_from) ||
        tl_get_uint(f[TL_E_SIGN_UNTIL], &tmp.sign_until) || tmp.sign_from > tmp.sign_until)
        return ECRED_ERR_TRUST_LIST;
    if (tl_decode_types(f[TL_E_TYPES], &tmp.types))
        return ECRED_ERR_TRUST_LIST;
    if (tl_get_text(f[TL_E_URI], ECRED_TRUSTLIST_URI_MAX, tl_uri_ok, tmp.status_uri_prefix))
        return ECRED_ERR_TRUST_LIST;

    const cbor_item_t *spki = f[TL_E_SPKI];
    if (!spki || !cbor_isa_bytestring(spki) || !cbor_bytestring_is_definite(spki))
        return ECRED_ERR_TRUST_LIST;
    size_t spki_len = cbor_bytestring_length(spki);
    const uint8_t *spki_ptr = cbor_bytestring_handle(spki);
    if (spki_len == 0 || spki_len > ECRED_TRUSTLIST_SPKI_MAX || !spki_ptr)
        return ECRED_ERR_TRUST_LIST;
    /* The kid check is cheap and needs no parse, so it goes first. */
    uint8_t digest[32];
    ecred_sha256(spki_ptr, spki_len, digest);
    if (memcmp(digest, tmp.kid, ECRED_KID_LEN) != 0)
        return ECRED_ERR_TRUST_LIST;

    ecred_buf der = ECRED_BUF_INIT;
    ecred_err err = ecred_key_public_from_bytes(spki_ptr, spki_len, &tmp.key);
    if (err) {
        err = err == ECRED_ERR_NOMEM ? err : ECRED_ERR_TRUST_LIST;
        goto out;
    }
    /* from_bytes also takes certificates; the wire field is SPKI only, and its
     * re-encoding must be these very bytes, so the kid is the key's kid. */
    if ((err = ecred_key_spki_der(tmp.key, &der)))
        goto out;
    if (der.len != spki_len || memcmp(der.ptr, spki_ptr, spki_len) != 0 ||
        ecred_key_alg(tmp.key) != tmp.alg) {
        err = ECRED_ERR_TRUST_LIST;
        goto out;
    }
    *e = tmp;
    tmp.key = NULL;
out:
    ecred_key_free(tmp.key);
    ecred_buf_free(&der);
    return err;
}

/* Decode and check the payload map into *out (owning its keys on success). */
static ecred_err tl_decode_payload(const uint8_t *buf, size_t n, ecred_trustlist *out)
{
    cbor_item_t *root = NULL;
    ecred_trustlist tmp;
    memset(&tmp, 0, sizeof tmp);
    ecred_err err = ecred_cbor_decode(buf, n, &tl_payload_limits, &root);
    if (err) {
        /* Authenticated but ill-formed: the root signed garbage. */
        err = err == ECRED_ERR_NOMEM ? err : ECRED_ERR_TRUST_LIST;
        goto out;
    }
    err = ECRED_ERR_TRUST_LIST;
    if (!cbor_isa_map(root) || !cbor_map_is_definite(root) ||
        ecred_cbor_map_check_unique(root) != ECRED_OK)
        goto out;
    const cbor_item_t *iss = NULL, *exp = NULL, *iat = NULL, *seq = NULL, *entries = NULL;
    struct cbor_pair *pairs = cbor_map_handle(root);
    for (size_t i = 0; i < cbor_map_size(root); i++) {
        int64_t key;
        if (tl_pair_key(&pairs[i], &key))
            goto out;
        switch (key) {
        case ECRED_CWT_ISS: iss = pairs[i].value; break;
        case ECRED_CWT_EXP: exp = pairs[i].value; break;
        case ECRED_CWT_IAT: iat = pairs[i].value; break;
        case ECRED_CWT_TRUSTLIST_SEQ: seq = pairs[i].value; break;
        case ECRED_CWT_TRUSTLIST_ENTRIES: entries = pairs[i].value; break;
        default: goto out;
        }
    }
    if (tl_get_text(iss, ECRED_TRUSTLIST_ISS_MAX, tl_iss_ok, tmp.iss) ||
        tl_get_uint(exp, &tmp.exp) || tl_get_uint(iat, &tmp.iat) ||
        tl_get_uint(seq, &tmp.seq) || tmp.iat > tmp.exp)
        goto out;
    if (!entries || !cbor_isa_array(entries) || !cbor_array_is_definite(entries))
        goto out;
    size_t count = cbor_array_size(entries);
    if (count == 0 || count > ECRED_TRUSTLIST_MAX_ENTRIES)
        goto out;
    tmp.entries = calloc(count, sizeof *tmp.entries);
    if (!tmp.entries) {
        err = ECRED_ERR_NOMEM;
        goto out;
    }
    cbor_item_t **items = cbor_array_handle(entries);
    for (size_t i = 0; i < count; i++) {
        if ((err = tl_decode_entry(items[i], &tmp.entries[i])))
            goto out;
        tmp.n_entries = i + 1;
        for (size_t j = 0; j < i; j++)
            if (memcmp(tmp.entries[j].kid, tmp.entries[i].kid, ECRED_KID_LEN) == 0) {
                err = ECRED_ERR_TRUST_LIST;
                goto out;
            }
    }
    *out = tmp;
    memset(&tmp, 0, sizeof tmp);
    err = ECRED_OK;
out:
    ecred_trustlist_free(&tmp);
    if (root)
        cbor_decref(&root);
    return err;
}

ecred_err ecred_trustlist_verify(const uint8_t *buf, size_t n, const ecred_key *root,
                                 int64_t now, ecred_trustlist *out)
{
    if ((!buf && n) || !root || !out)
        return ECRED_ERR_ARG;
    if (n > ECRED_TRUSTLIST_MAX_BYTES)
        return ECRED_ERR_TOO_LARGE;
    ecred_cose_sign1 msg;
    ecred_trustlist tmp;
    memset(&tmp, 0, sizeof tmp);
    ecred_err err = ecred_cose_sign1_decode(buf, n, &tl_envelope_limits, &msg);
    if (err)
        return err;
    if (strcmp(msg.typ, ECRED_TRUSTLIST_TYP) != 0 || msg.detached) {
        err = ECRED_ERR_TRUST_LIST;
        goto out;
    }
    if (msg.kid_len != ECRED_KID_LEN || !msg.kid_protected ||
        memcmp(msg.kid, ecred_key_kid(root), ECRED_KID_LEN) != 0) {
        err = ECRED_ERR_KEY_UNKNOWN;
        goto out;
    }
    if ((err = ecred_cose_sign1_verify(&msg, root)))
        goto out;
    if ((err = tl_decode_payload(msg.payload.ptr, msg.payload.len, &tmp)))
        goto out;
    if (now >= 0 && (uint64_t)now >= tmp.exp) {
        err = ECRED_ERR_LIST_EXPIRED;
        goto out;
    }
    memcpy(tmp.root_kid, msg.kid, ECRED_KID_LEN);
    *out = tmp;
    memset(&tmp, 0, sizeof tmp);
out:
    ecred_trustlist_free(&tmp);
    ecred_cose_sign1_clear(&msg);
    return err;
}

ecred_err ecred_trustlist_check_newer(uint64_t held_seq, const ecred_trustlist *fresh)
{
    if (!fresh)
        return ECRED_ERR_ARG;
    return fresh->seq < held_seq ? ECRED_ERR_TRUST_LIST : ECRED_OK;
}

ecred_err ecred_trustlist_find(const ecred_trustlist *list, const uint8_t *kid, size_t kid_len,
                               int64_t iat, int type, const ecred_trustlist_entry **out)
{
    if (!list || !out || (!kid && kid_len))
        return ECRED_ERR_ARG;
    if (kid_len != ECRED_KID_LEN)
        return ECRED_ERR_KEY_UNKNOWN;
    for (size_t i = 0; i < list->n_entries; i++) {
        const ecred_trustlist_entry *e = &list->entries[i];
        if (memcmp(e->kid, kid, ECRED_KID_LEN) != 0)
            continue;
        /* Kids are unique in a verified list: this is the only candidate, and
         * the trust policy decides whether it may have signed this. */
        ecred_trusted_key tk = ecred_trust_key_of_entry(e);
        ecred_err err = ecred_trust_permits(&tk, type, iat, NULL, 0);
        if (err)
            return err;
        *out = e;
        return ECRED_OK;
    }
    return ECRED_ERR_KEY_UNKNOWN;
}

bool ecred_trustlist_uri_allowed(const ecred_trustlist_entry *entry, const char *uri, size_t n)
{
    return entry && ecred_trust_uri_under(entry->status_uri_prefix, uri, n);
}

bool ecred_trustlist_uri_owned(const ecred_trustlist *list, const ecred_trustlist_entry *entry,
                               const char *uri, size_t n)
{
    if (!list || !ecred_trustlist_uri_allowed(entry, uri, n))
        return false;
    size_t mine = strlen(entry->status_uri_prefix);
    for (size_t i = 0; i < list->n_entries; i++) {
        const ecred_trustlist_entry *o = &list->entries[i];
        if (o != entry && (o->types & ECRED_TRUST_BIT_STATUS_LIST) &&
            strlen(o->status_uri_prefix) > mine && ecred_trustlist_uri_allowed(o, uri, n))
            return false;
    }
    return true;
}

void ecred_trustlist_free(ecred_trustlist *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n_entries; i++)
        ecred_key_free(list->entries[i].key);
    free(list->entries);
    memset(list, 0, sizeof *list);
}
