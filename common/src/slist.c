/*
 * slist.c - IETF Token Status List (draft-ietf-oauth-status-list-20) in its
 * CBOR form and the CWT status list token around it: pack and unpack statuses,
 * encode and decode the {"bits", "lst"} map, sign and verify the token.
 *
 * Everything here reads untrusted bytes with a cap fixed before any allocation:
 * the CBOR size, item count and depth, and the inflated size of lst (derived
 * from the largest list the caller accepts). It must never print, exit, or
 * trust a length that came off the wire.
 */
#include "ecred/slist.h"

#include <stdlib.h>
#include <string.h>

#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "ecred/cwt.h"
#include "ecred/zcap.h"

/* A status list map has two or three entries; a token's claims a handful more.
 * The item caps leave room for extra claims the draft allows, and are still
 * small enough that a hostile token cannot make us build a large tree. */
static const ecred_cbor_limits slist_list_limits = {ECRED_SLIST_TOKEN_MAX, 32, 4};
static const ecred_cbor_limits slist_claims_limits = {ECRED_SLIST_TOKEN_MAX, 128, 8};
static const ecred_cbor_limits slist_cose_limits = {ECRED_SLIST_TOKEN_MAX, 32, 4};

/* log2 of bits for the four widths the draft allows, -1 for anything else. */
static int slist_bits_shift(unsigned bits)
{
    switch (bits) {
    case 1: return 0;
    case 2: return 1;
    case 4: return 2;
    case 8: return 3;
    default: return -1;
    }
}

/* Bytes needed for count entries of bits each; callers keep count <=
 * ECRED_SLIST_MAX_ENTRIES so the product cannot overflow. */
static size_t slist_nbytes(size_t count, unsigned bits)
{
    return (count * bits + 7) / 8;
}

ecred_err ecred_slist_init(ecred_slist *l, unsigned bits, size_t count)
{
    if (!l || slist_bits_shift(bits) < 0 || count == 0 || count > ECRED_SLIST_MAX_ENTRIES)
        return ECRED_ERR_ARG;
    size_t nbytes = slist_nbytes(count, bits);
    uint8_t *bytes = calloc(nbytes, 1);
    if (!bytes)
        return ECRED_ERR_NOMEM;
    l->bits = bits;
    l->count = count;
    l->bytes = bytes;
    l->nbytes = nbytes;
    return ECRED_OK;
}

void ecred_slist_free(ecred_slist *l)
{
    if (!l)
        return;
    free(l->bytes);
    memset(l, 0, sizeof *l);
}

/* Whether l is a list this module could have produced (guards set/get/encode
 * against a caller's half-built or freed struct). */
static bool slist_valid(const ecred_slist *l)
{
    return l && l->bytes && slist_bits_shift(l->bits) >= 0 && l->count > 0 &&
           l->count <= ECRED_SLIST_MAX_ENTRIES && l->nbytes == slist_nbytes(l->count, l->bits);
}

ecred_err ecred_slist_set(ecred_slist *l, size_t idx, unsigned value)
{
    if (!slist_valid(l) || idx >= l->count || value >> l->bits != 0)
        return ECRED_ERR_ARG;
    /* Entry idx lives in byte idx / (8/bits) at bit (idx % (8/bits)) * bits,
     * least significant first; shifts replace the divisions. */
    unsigned s = (unsigned)slist_bits_shift(l->bits);
    size_t byte = idx >> (3 - s);
    unsigned off = (unsigned)(idx & ((8u >> s) - 1)) << s;
    unsigned mask = ((1u << l->bits) - 1) << off;
    l->bytes[byte] = (uint8_t)((l->bytes[byte] & ~mask) | (value << off));
    return ECRED_OK;
}

ecred_err ecred_slist_get(const ecred_slist *l, size_t idx, unsigned *value)
{
    if (!slist_valid(l) || !value || idx >= l->count)
        return ECRED_ERR_ARG;
    unsigned s = (unsigned)slist_bits_shift(l->bits);
    size_t byte = idx >> (3 - s);
    unsigned off = (unsigned)(idx & ((8u >> s) - 1)) << s;
    *value = ((unsigned)l->bytes[byte] >> off) & ((1u << l->bits) - 1);
    return ECRED_OK;
}

/* ecred_cbor_map_put with allocation failures of key or value folded in:
 * takes ownership of whichever of key and value is non-NULL. */
static ecred_err slist_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
    if (!key || !value) {
        if (key)
            cbor_decref(&key);
        if (value)
            cbor_decref(&value);
        return ECRED_ERR_NOMEM;
    }
    return ecred_cbor_map_put(map, key, value);
}

/* In a token, packed lists up to this many bytes are compressed at level 9,
 * larger ones with run-length matching (spec/statuslist.md section 1): level
 * 9 spent 88 % of a full list's build (21 ms of bench/city.sh's 21.5 ms)
 * searching the long zero runs that Z_RLE encodes directly.
 * ecred_slist_encode stays at level 9: the draft's encoding, byte for byte. */
#define SLIST_LEVEL9_MAX 4096

/* The compression a token uses for l (spec/statuslist.md section 1). */
static int slist_token_level(const ecred_slist *l)
{
    return l->nbytes <= SLIST_LEVEL9_MAX ? 9 : ECRED_ZLIB_RLE;
}

/* Build the {"lst": zlib(bytes), "bits": n} item at `level`; *out owned by
 * the caller. */
static ecred_err slist_build_item(const ecred_slist *l, int level, cbor_item_t **out)
{
    ecred_buf z = ECRED_BUF_INIT;
    cbor_item_t *map = NULL;
    ecred_err e = ecred_zlib_compress(l->bytes, l->nbytes, level, ecred_span_of(NULL, 0), &z);
    if (e)
        goto done;
    map = cbor_new_definite_map(2);
    if (!map) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    /* Deterministic order (RFC 8949 section 4.2.1: bytewise on the encoded
     * keys): 63 'lst' sorts before 64 'bits'. The draft's examples put
     * "bits" first; readers accept either, and a deterministic encoding is
     * what lets several issuer instances produce the same bytes (ETags). */
    e = slist_put(map, ecred_cbor_text("lst", 3), ecred_cbor_bytes(z.ptr, z.len));
    if (e)
        goto done;
    e = slist_put(map, ecred_cbor_text("bits", 4), ecred_cbor_int((int64_t)l->bits));
    if (e)
        goto done;
    *out = map;
    map = NULL;
done:
    if (map)
        cbor_decref(&map);
    ecred_buf_free(&z);
    return e;
}

ecred_err ecred_slist_encode(const ecred_slist *l, ecred_buf *out)
{
    if (!slist_valid(l) || !out)
        return ECRED_ERR_ARG;
    cbor_item_t *item = NULL;
    ecred_err e = slist_build_item(l, 9, &item);
    if (e)
        return e;
    e = ecred_cbor_encode(item, out);
    cbor_decref(&item);
    return e;
}

/* Turn a decoded status list map into a list, inflating lst with the cap
 * max_entries * bits / 8. *out written only on success. */
static ecred_err slist_from_item(const cbor_item_t *map, size_t max_entries, ecred_slist *out)
{
    cbor_item_t *bits_item = NULL, *lst_item = NULL, *agg_item = NULL;
    ecred_buf raw = ECRED_BUF_INIT;
    ecred_err e;

    if (!cbor_isa_map(map) || !cbor_map_is_definite(map))
        return ECRED_ERR_STATUS_LIST;
    e = ecred_cbor_map_check_unique(map);
    if (e)
        return e;
    if ((e = ecred_cbor_map_get_str(map, "bits", &bits_item)) != ECRED_OK ||
        (e = ecred_cbor_map_get_str(map, "lst", &lst_item)) != ECRED_OK ||
        (e = ecred_cbor_map_get_str(map, "aggregation_uri", &agg_item)) != ECRED_OK)
        return e;
    /* bits is an unsigned int (major type 0) in the CBOR form, never negative. */
    if (!bits_item || !cbor_isa_uint(bits_item))
        return ECRED_ERR_STATUS_LIST;
    int64_t bits = 0;
    if (ecred_cbor_get_int(bits_item, &bits) != ECRED_OK || bits > 8 ||
        slist_bits_shift((unsigned)bits) < 0)
        return ECRED_ERR_STATUS_LIST;
    if (!lst_item || !cbor_isa_bytestring(lst_item) || !cbor_bytestring_is_definite(lst_item))
        return ECRED_ERR_STATUS_LIST;
    /* The draft defines aggregation_uri as text; we do not follow it, but a
     * value of another type means the producer does not speak the draft. */
    if (agg_item && !cbor_isa_string(agg_item))
        return ECRED_ERR_STATUS_LIST;

    if (max_entries > ECRED_SLIST_MAX_ENTRIES)
        max_entries = ECRED_SLIST_MAX_ENTRIES;
    size_t cap = slist_nbytes(max_entries, (unsigned)bits);
    e = ecred_zlib_inflate(cbor_bytestring_handle(lst_item), cbor_bytestring_length(lst_item), cap,
                           ecred_span_of(NULL, 0), &raw);
    if (e)
        goto done;
    if (raw.len == 0) {
        e = ECRED_ERR_STATUS_LIST; /* a list with no entries references nothing */
        goto done;
    }
    /* Every bit of the inflated bytes is an entry: the wire carries no count. */
    size_t count = raw.len * 8 / (size_t)bits;
    if (count > max_entries) {
        e = ECRED_ERR_TOO_LARGE;
        goto done;
    }
    out->bits = (unsigned)bits;
    out->count = count;
    out->nbytes = raw.len;
    /* Hand over the inflated bytes; realloc-owned like calloc'd ones. */
    out->bytes = raw.ptr;
    raw.ptr = NULL;
done:
    ecred_buf_free(&raw);
    return e;
}

ecred_err ecred_slist_decode(const uint8_t *buf, size_t n, size_t max_entries, ecred_slist *out)
{
    if (!buf || !out || max_entries == 0)
        return ECRED_ERR_ARG;
    cbor_item_t *root = NULL;
    ecred_err e = ecred_cbor_decode(buf, n, &slist_list_limits, &root);
    if (e)
        return e;
    ecred_slist l;
    e = slist_from_item(root, max_entries, &l);
    cbor_decref(&root);
    if (e)
        return e;
    *out = l;
    return ECRED_OK;
}

ecred_err ecred_slist_token_sign(const ecred_key *key, const ecred_slist_token *tok,
                                 ecred_buf *out)
{
    if (!key || !tok || !out || !slist_valid(&tok->list) || tok->iat < 0 || tok->exp < 0 ||
        tok->ttl < 0)
        return ECRED_ERR_ARG;
    size_t uri_len = strnlen(tok->uri, sizeof tok->uri);
    if (uri_len == 0 || uri_len > ECRED_SLIST_URI_MAX)
        return ECRED_ERR_ARG;

    cbor_item_t *claims = NULL, *list_item = NULL;
    ecred_buf payload = ECRED_BUF_INIT;
    /* kid unprotected as in the draft's example token: the key is picked by
     * kid, but only the protected alg and typ are bound by the signature. */
    const ecred_cose_sign_opts opts = {.kid_in_protected = false, .omit_kid = false,
                                       .typ = ECRED_SLIST_TYP};
    ecred_err e;
    size_t nclaims = 3 + (tok->exp ? 1u : 0u) + (tok->ttl ? 1u : 0u);

    claims = cbor_new_definite_map(nclaims);
    if (!claims) {
        e = ECRED_ERR_NOMEM;
        goto done;
    }
    /* Keys inserted in deterministic order (RFC 8949 section 4.2.1, bytewise
     * on the encoded key): 02, 04, 06, 19 fffd, 19 fffe. */
    e = slist_put(claims, ecred_cbor_int(ECRED_CWT_SUB), ecred_cbor_text(tok->uri, uri_len));
    if (e)
        goto done;
    if (tok->exp) {
        e = slist_put(claims, ecred_cbor_int(ECRED_CWT_EXP), ecred_cbor_int(tok->exp));
        if (e)
            goto done;
    }
    e = slist_put(claims, ecred_cbor_int(ECRED_CWT_IAT), ecred_cbor_int(tok->iat));
    if (e)
        goto done;
    e = slist_build_item(&tok->list, slist_token_level(&tok->list), &list_item);
    if (e)
        goto done;
    e = slist_put(claims, ecred_cbor_int(ECRED_CWT_STATUS_LIST), list_item);
    list_item = NULL; /* owned by claims now, or already released */
    if (e)
        goto done;
    if (tok->ttl) {
        e = slist_put(claims, ecred_cbor_int(ECRED_CWT_TTL), ecred_cbor_int(tok->ttl));
        if (e)
            goto done;
    }
    e = ecred_cbor_encode(claims, &payload);
    if (e)
        goto done;

    e = ecred_cose_sign1_sign(key, &opts, payload.ptr, payload.len, out);
done:
    ecred_buf_free(&payload);
    if (claims)
        cbor_decref(&claims);
    return e;
}

/* Read an optional integer claim; *present tells whether it was there. */
static ecred_err slist_claim_int(const cbor_item_t *claims, int64_t key, bool *present,
                                 int64_t *value)
{
    cbor_item_t *item = NULL;
    ecred_err e = ecred_cbor_map_get_int(claims, key, &item);
    if (e)
        return e;
    *present = item != NULL;
    if (!item)
        return ECRED_OK;
    if (ecred_cbor_get_int(item, value) != ECRED_OK)
        return ECRED_ERR_CLAIMS;
    /* ttl is an unsigned integer (major type 0) in the draft's CWT form. */
    if (key == ECRED_CWT_TTL && !cbor_isa_uint(item))
        return ECRED_ERR_CLAIMS;
    return ECRED_OK;
}

/* Decode the token's claims (already authenticated) into tok; the list is
 * inflated only once exp has been checked. On error tok->list is empty. */
static ecred_err slist_claims_decode(ecred_span payload, int64_t now, ecred_slist_token *tok)
{
    cbor_item_t *claims = NULL, *sub = NULL, *list_item = NULL;
    bool has_iat = false, has_exp = false, has_ttl = false, has_nbf = false;
    int64_t nbf = 0;
    ecred_err e = ecred_cbor_decode(payload.ptr, payload.len, &slist_claims_limits, &claims);
    if (e)
        return e;
    if (!cbor_isa_map(claims) || !cbor_map_is_definite(claims)) {
        e = ECRED_ERR_CLAIMS;
        goto done;
    }
    if ((e = ecred_cbor_map_check_unique(claims)) != ECRED_OK ||
        (e = ecred_cbor_map_get_int(claims, ECRED_CWT_SUB, &sub)) != ECRED_OK ||
        (e = ecred_cbor_map_get_int(claims, ECRED_CWT_STATUS_LIST, &list_item)) != ECRED_OK ||
        (e = slist_claim_int(claims, ECRED_CWT_IAT, &has_iat, &tok->iat)) != ECRED_OK ||
        (e = slist_claim_int(claims, ECRED_CWT_EXP, &has_exp, &tok->exp)) != ECRED_OK ||
        (e = slist_claim_int(claims, ECRED_CWT_TTL, &has_ttl, &tok->ttl)) != ECRED_OK ||
        (e = slist_claim_int(claims, ECRED_CWT_NBF, &has_nbf, &nbf)) != ECRED_OK)
        goto done;

    /* sub is compared with the credential's uri as a C string, so it must be
     * non-empty text without NUL that fits the struct. */
    if (!sub || !list_item || !has_iat || !cbor_isa_string(sub) ||
        !cbor_string_is_definite(sub)) {
        e = ECRED_ERR_CLAIMS;
        goto done;
    }
    size_t sub_len = cbor_string_length(sub);
    if (sub_len == 0 || sub_len > ECRED_SLIST_URI_MAX ||
        memchr(cbor_string_handle(sub), 0, sub_len) != NULL) {
        e = ECRED_ERR_CLAIMS;
        goto done;
    }
    /* The draft: ttl, if present, MUST be a positive number. */
    if ((has_ttl && tok->ttl <= 0) || tok->iat < 0 || (has_exp && tok->exp <= 0)) {
        e = ECRED_ERR_CLAIMS;
        goto done;
    }
    if (!has_exp)
        tok->exp = 0;
    if (!has_ttl)
        tok->ttl = 0;
    if (has_exp && now >= 0 && now >= tok->exp) {
        e = ECRED_ERR_LIST_EXPIRED;
        goto done;
    }
    /* RFC 8392 nbf: a list that says it is not yet in force vouches for
     * nothing (ecred never issues nbf; another issuer's list may). */
    if (has_nbf && now >= 0 && now < nbf) {
        e = ECRED_ERR_NOT_YET_VALID;
        goto done;
    }
    memcpy(tok->uri, cbor_string_handle(sub), sub_len);
    tok->uri[sub_len] = '\0';
    e = slist_from_item(list_item, ECRED_SLIST_MAX_ENTRIES, &tok->list);
done:
    cbor_decref(&claims);
    return e;
}

ecred_err ecred_slist_token_verify(const uint8_t *buf, size_t n, const ecred_key *key,
                                   int64_t now, ecred_slist_token *out)
{
    if (!buf || !key || !out)
        return ECRED_ERR_ARG;
    ecred_cose_sign1 msg;
    ecred_slist_token tok;
    memset(&tok, 0, sizeof tok);
    ecred_err e = ecred_cose_sign1_decode(buf, n, &slist_cose_limits, &msg);
    if (e)
        return e;
    /* typ first: a credential signed by the same key must never pass as a
     * status list (explicit typing, the draft's "typ REQUIRED"). */
    if (strcmp(msg.typ, ECRED_SLIST_TYP) != 0 || msg.detached) {
        e = ECRED_ERR_STATUS_LIST;
        goto done;
    }
    e = ecred_cose_sign1_verify(&msg, key);
    if (e)
        goto done;
    e = slist_claims_decode(msg.payload, now, &tok);
    if (e)
        goto done;
    *out = tok;
done:
    ecred_cose_sign1_clear(&msg);
    return e;
}

ecred_err ecred_slist_token_kid(const uint8_t *buf, size_t n, uint8_t *kid, size_t *kid_len)
{
    if (!buf || !kid || !kid_len)
        return ECRED_ERR_ARG;
    ecred_cose_sign1 msg;
    ecred_err e = ecred_cose_sign1_decode(buf, n, &slist_cose_limits, &msg);
    if (e)
        return e;
    if (msg.kid_len == 0 || msg.kid_len > ECRED_COSE_KID_MAX) {
        e = ECRED_ERR_COSE_HEADER;
    } else {
        memcpy(kid, msg.kid, msg.kid_len);
        *kid_len = msg.kid_len;
    }
    ecred_cose_sign1_clear(&msg);
    return e;
}
