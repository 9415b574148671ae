/*
 * cose.c - COSE_Sign1 (RFC 9052 section 4.2): decode with the header rules of
 * cose.h, verify over the bytes as received, sign with deterministic headers.
 *
 * The decoded tree is kept alive in priv_ so the spans (protected bytes,
 * payload, signature) point at exactly the bytes that arrived: the
 * Sig_structure is built from them, never from a re-encoding of the headers.
 * This file must never call OpenSSL directly (crypto.h is the only door), never
 * print, and never run crypto before the header and key checks have passed.
 */
#include "ecred/cose.h"

#include <string.h>

#include "ecred/cborin.h"

/* COSE header labels (RFC 9052 section 3.1). */
#define COSE_LABEL_ALG 1
#define COSE_LABEL_CRIT 2
#define COSE_LABEL_CONTENT_TYPE 3
#define COSE_LABEL_KID 4
#define COSE_LABEL_TYP 16

static const char sig1_context[] = "Signature1";

/* Append a CBOR head written by one of libcbor's cbor_encode_* functions. */
static ecred_err append_head(ecred_buf *b, const unsigned char *head, size_t head_len)
{
    if (head_len == 0)
        return ECRED_ERR_INTERNAL; /* a 9-byte buffer always fits a head */
    return ecred_buf_append(b, head, head_len);
}

/* Append a definite bstr: head then content. */
static ecred_err append_bstr(ecred_buf *b, const uint8_t *p, size_t n)
{
    unsigned char head[9];
    ecred_err err = append_head(b, head, cbor_encode_bytestring_start(n, head, sizeof head));
    if (err == ECRED_OK && n > 0)
        err = ecred_buf_append(b, p, n);
    return err;
}

/* Sig_structure = ["Signature1", body_protected, external_aad = h'', payload],
 * appended to b (RFC 9052 section 4.4). */
static ecred_err sig_structure_append(ecred_buf *b, ecred_span prot, ecred_span payload)
{
    unsigned char head[9];
    ecred_err err = append_head(b, head, cbor_encode_array_start(4, head, sizeof head));
    if (err == ECRED_OK)
        err = append_head(b, head,
                          cbor_encode_string_start(sizeof sig1_context - 1, head, sizeof head));
    if (err == ECRED_OK)
        err = ecred_buf_append(b, sig1_context, sizeof sig1_context - 1);
    if (err == ECRED_OK)
        err = append_bstr(b, prot.ptr, prot.len);
    if (err == ECRED_OK)
        err = append_bstr(b, NULL, 0);
    if (err == ECRED_OK)
        err = append_bstr(b, payload.ptr, payload.len);
    return err;
}

ecred_err ecred_cose_sig_structure(ecred_span protected_bytes, ecred_span payload, ecred_buf *out)
{
    if (!out || (!protected_bytes.ptr && protected_bytes.len) || (!payload.ptr && payload.len))
        return ECRED_ERR_ARG;
    ecred_buf tmp = ECRED_BUF_INIT;
    ecred_err err = sig_structure_append(&tmp, protected_bytes, payload);
    if (err != ECRED_OK) {
        ecred_buf_free(&tmp);
        return err;
    }
    ecred_buf_free(out);
    *out = tmp;
    return ECRED_OK;
}

/* ECRED_OK when every label of the bucket is an int (in int64 range) or a text
 * string and none occurs twice; ECRED_ERR_COSE_HEADER otherwise. */
static ecred_err check_labels(const cbor_item_t *bucket)
{
    const struct cbor_pair *pairs = cbor_map_handle(bucket);
    for (size_t i = 0; i < cbor_map_size(bucket); i++) {
        int64_t v;
        const cbor_item_t *k = pairs[i].key;
        bool ok = cbor_is_int(k) ? ecred_cbor_get_int(k, &v) == ECRED_OK
                                 : cbor_isa_string(k) && cbor_string_is_definite(k);
        if (!ok)
            return ECRED_ERR_COSE_HEADER;
    }
    return ecred_cbor_map_check_unique(bucket) == ECRED_OK ? ECRED_OK : ECRED_ERR_COSE_HEADER;
}

/* ECRED_ERR_COSE_HEADER if any label of a occurs in b. */
static ecred_err check_disjoint(const cbor_item_t *a, const cbor_item_t *b)
{
    const struct cbor_pair *pa = cbor_map_handle(a), *pb = cbor_map_handle(b);
    for (size_t i = 0; i < cbor_map_size(a); i++)
        for (size_t j = 0; j < cbor_map_size(b); j++)
            if (ecred_cbor_key_equal(pa[i].key, pb[j].key))
                return ECRED_ERR_COSE_HEADER;
    return ECRED_OK;
}

static bool is_definite_text(const cbor_item_t *v)
{
    return cbor_isa_string(v) && cbor_string_is_definite(v);
}

/* What the header walk found about alg. */
struct alg_seen {
    bool present;
    bool supported;
    int alg;
};

/* Apply the header rules to one bucket (labels already checked) and fill m.
 * typ is reported only from the protected bucket: an unprotected typ could be
 * swapped by anyone and must not steer how the payload is read. */
static ecred_err parse_bucket(const cbor_item_t *bucket, bool is_protected, ecred_cose_sign1 *m,
                              struct alg_seen *alg)
{
    const struct cbor_pair *pairs = cbor_map_handle(bucket);
    for (size_t i = 0; i < cbor_map_size(bucket); i++) {
        int64_t label;
        const cbor_item_t *v = pairs[i].value;
        if (!cbor_is_int(pairs[i].key) || ecred_cbor_get_int(pairs[i].key, &label) != ECRED_OK)
            continue; /* text labels carry nothing we act on */
        switch (label) {
        case COSE_LABEL_ALG: {
            int64_t a;
            if (!is_protected)
                return ECRED_ERR_COSE_HEADER;
            alg->present = true;
            if (cbor_is_int(v)) {
                if (ecred_cbor_get_int(v, &a) == ECRED_OK &&
                    (a == ECRED_COSE_ALG_ES256 || a == ECRED_COSE_ALG_EDDSA)) {
                    alg->supported = true;
                    alg->alg = (int)a;
                }
            } else if (!is_definite_text(v)) {
                return ECRED_ERR_COSE_HEADER; /* alg is int / tstr (RFC 9052 3.1) */
            }
            break;
        }
        case COSE_LABEL_CRIT:
            return ECRED_ERR_COSE_HEADER;
        case COSE_LABEL_CONTENT_TYPE:
            if (!is_definite_text(v) && !cbor_isa_uint(v))
                return ECRED_ERR_COSE_HEADER;
            break;
        case COSE_LABEL_KID: {
            if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
                return ECRED_ERR_COSE_HEADER;
            size_t klen = cbor_bytestring_length(v);
            if (klen < 1 || klen > ECRED_COSE_KID_MAX)
                return ECRED_ERR_COSE_HEADER;
            memcpy(m->kid, cbor_bytestring_handle(v), klen);
            m->kid_len = klen;
            m->kid_protected = is_protected;
            break;
        }
        case COSE_LABEL_TYP:
            if (is_definite_text(v)) {
                size_t tlen = cbor_string_length(v);
                if (tlen > ECRED_COSE_TYP_MAX)
                    return ECRED_ERR_COSE_HEADER;
                if (tlen > 0 && memchr(cbor_string_handle(v), 0, tlen))
                    return ECRED_ERR_COSE_HEADER; /* would truncate the C string */
                if (is_protected) {
                    if (tlen > 0)
                        memcpy(m->typ, cbor_string_handle(v), tlen);
                    m->typ[tlen] = '\0';
                }
            } else if (!cbor_isa_uint(v)) {
                return ECRED_ERR_COSE_HEADER;
            }
            break;
        default:
            break; /* unknown labels are ignorable without crit */
        }
    }
    return ECRED_OK;
}

static bool is_definite_bstr(const cbor_item_t *v)
{
    return cbor_isa_bytestring(v) && cbor_bytestring_is_definite(v);
}

/* True for the simple value null. libcbor 0.8's cbor_is_null asserts (aborts)
 * when handed a half/single/double float, so the width is checked first. */
static bool is_null(const cbor_item_t *v)
{
    return cbor_isa_float_ctrl(v) && cbor_float_ctrl_is_ctrl(v) && cbor_is_null(v);
}

static ecred_span bstr_span(const cbor_item_t *v)
{
    return ecred_span_of(cbor_bytestring_handle(v), cbor_bytestring_length(v));
}

ecred_err ecred_cose_sign1_decode(const uint8_t *buf, size_t n,
                                  const struct ecred_cbor_limits *lim, ecred_cose_sign1 *out)
{
    if (!out)
        return ECRED_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf && n > 0)
        return ECRED_ERR_ARG;
    if (!lim)
        lim = &ecred_cbor_limits_small;

    ecred_cose_sign1 m;
    memset(&m, 0, sizeof m);
    cbor_item_t *root = NULL, *prot_map = NULL, *ref;
    const cbor_item_t *arr, *prot, *unprot, *payload, *sig;
    cbor_item_t **member;
    struct alg_seen alg = {false, false, 0};
    ecred_err err = ecred_cbor_decode(buf, n, lim, &root);
    if (err != ECRED_OK)
        goto out;

    err = ECRED_ERR_COSE_STRUCTURE;
    if (!cbor_isa_tag(root) || cbor_tag_value(root) != ECRED_COSE_TAG_SIGN1)
        goto out;
    /* cbor_tag_item hands out a reference; root keeps its own, so borrow */
    ref = cbor_tag_item(root);
    arr = ref;
    cbor_decref(&ref);
    if (!cbor_isa_array(arr) || !cbor_array_is_definite(arr) || cbor_array_size(arr) != 4)
        goto out;
    member = cbor_array_handle(arr);
    prot = member[0];
    unprot = member[1];
    payload = member[2];
    sig = member[3];
    if (!is_definite_bstr(prot) || !cbor_isa_map(unprot) || !is_definite_bstr(sig) ||
        !(is_definite_bstr(payload) || is_null(payload)))
        goto out;

    /* The protected bucket: empty bstr, or a bstr holding exactly one map. */
    m.protected_bytes = bstr_span(prot);
    if (m.protected_bytes.len > 0) {
        err = ecred_cbor_decode(m.protected_bytes.ptr, m.protected_bytes.len, lim, &prot_map);
        if (err != ECRED_OK)
            goto out;
        err = ECRED_ERR_COSE_HEADER;
        if (!cbor_isa_map(prot_map))
            goto out;
    } else {
        m.protected_bytes.ptr = NULL;
    }
    if ((err = check_labels(unprot)) != ECRED_OK)
        goto out;
    if (prot_map) {
        if ((err = check_labels(prot_map)) != ECRED_OK ||
            (err = check_disjoint(prot_map, unprot)) != ECRED_OK)
            goto out;
    }
    if (prot_map && (err = parse_bucket(prot_map, true, &m, &alg)) != ECRED_OK)
        goto out;
    if ((err = parse_bucket(unprot, false, &m, &alg)) != ECRED_OK)
        goto out;
    err = ECRED_ERR_ALG_UNSUPPORTED;
    if (!alg.present || !alg.supported)
        goto out;
    m.alg = alg.alg;

    if (is_null(payload)) {
        m.detached = true;
        m.payload = ecred_span_of(NULL, 0);
    } else {
        m.payload = bstr_span(payload);
    }
    m.signature = bstr_span(sig);
    m.total_len = n;
    m.priv_ = root;
    root = NULL;
    *out = m;
    err = ECRED_OK;
out:
    if (prot_map)
        cbor_decref(&prot_map);
    if (root)
        cbor_decref(&root);
    return err;
}

void ecred_cose_sign1_clear(ecred_cose_sign1 *msg)
{
    if (!msg)
        return;
    cbor_item_t *root = msg->priv_;
    if (root)
        cbor_decref(&root);
    memset(msg, 0, sizeof *msg);
}

ecred_err ecred_cose_sign1_verify(const ecred_cose_sign1 *msg, const ecred_key *key)
{
    if (!msg || !key || !msg->priv_)
        return ECRED_ERR_ARG;
    if (msg->alg != ecred_key_alg(key))
        return ECRED_ERR_KEY_ALG_MISMATCH;
    /* We never issue detached payloads and this call has no way to receive one. */
    if (msg->detached)
        return ECRED_ERR_COSE_STRUCTURE;
    ecred_buf tbs = ECRED_BUF_INIT;
    ecred_err err = sig_structure_append(&tbs, msg->protected_bytes, msg->payload);
    if (err == ECRED_OK)
        err = ecred_verify(key, tbs.ptr, tbs.len, msg->signature.ptr, msg->signature.len);
    ecred_buf_free(&tbs);
    return err;
}

/* Encode the protected map {1: alg [, 4: kid] [, 16: typ]}: keys ascending and
 * integers in their smallest width, so the bytes are deterministic. */
static ecred_err encode_protected(const ecred_key *key, bool with_kid, const char *typ,
                                  ecred_buf *out)
{
    size_t pairs = 1u + (with_kid ? 1u : 0u) + (typ ? 1u : 0u);
    cbor_item_t *map = cbor_new_definite_map(pairs);
    if (!map)
        return ECRED_ERR_NOMEM;
    ecred_err err = ecred_cbor_map_put(map, ecred_cbor_int(COSE_LABEL_ALG),
                                       ecred_cbor_int(ecred_key_alg(key)));
    if (err == ECRED_OK && with_kid)
        err = ecred_cbor_map_put(map, ecred_cbor_int(COSE_LABEL_KID),
                                 ecred_cbor_bytes(ecred_key_kid(key), ECRED_KID_LEN));
    if (err == ECRED_OK && typ)
        err = ecred_cbor_map_put(map, ecred_cbor_int(COSE_LABEL_TYP),
                                 ecred_cbor_text(typ, strlen(typ)));
    if (err == ECRED_OK)
        err = ecred_cbor_encode(map, out);
    cbor_decref(&map);
    return err;
}

ecred_err ecred_cose_sign1_sign(const ecred_key *key, const ecred_cose_sign_opts *opts,
                                const uint8_t *payload, size_t n, ecred_buf *out)
{
    /* Without options we sign the way our credentials are signed. */
    static const ecred_cose_sign_opts default_opts = {true, false, NULL};
    if (!key || !out || (!payload && n > 0))
        return ECRED_ERR_ARG;
    if (!opts)
        opts = &default_opts;
    if (!ecred_key_has_private(key))
        return ECRED_ERR_ARG;
    if (opts->typ && strlen(opts->typ) > ECRED_COSE_TYP_MAX)
        return ECRED_ERR_ARG;
    bool kid_prot = opts->kid_in_protected && !opts->omit_kid;
    bool kid_unprot = !opts->kid_in_protected && !opts->omit_kid;

    ecred_buf prot = ECRED_BUF_INIT, tbs = ECRED_BUF_INIT, msg = ECRED_BUF_INIT;
    uint8_t sig[ECRED_SIG_MAX];
    size_t sig_len = 0;
    unsigned char head[9];
    ecred_err err = encode_protected(key, kid_prot, opts->typ, &prot);
    if (err == ECRED_OK)
        err = sig_structure_append(&tbs, ecred_buf_span(&prot), ecred_span_of(payload, n));
    if (err == ECRED_OK)
        err = ecred_sign(key, tbs.ptr, tbs.len, sig, &sig_len);
    if (err == ECRED_OK)
        err = append_head(&msg, head, cbor_encode_tag(ECRED_COSE_TAG_SIGN1, head, sizeof head));
    if (err == ECRED_OK)
        err = append_head(&msg, head, cbor_encode_array_start(4, head, sizeof head));
    if (err == ECRED_OK)
        err = append_bstr(&msg, prot.ptr, prot.len);
    if (err == ECRED_OK)
        err = append_head(&msg, head, cbor_encode_map_start(kid_unprot ? 1 : 0, head, sizeof head));
    if (err == ECRED_OK && kid_unprot) {
        err = append_head(&msg, head, cbor_encode_uint(COSE_LABEL_KID, head, sizeof head));
        if (err == ECRED_OK)
            err = append_bstr(&msg, ecred_key_kid(key), ECRED_KID_LEN);
    }
    if (err == ECRED_OK)
        err = append_bstr(&msg, payload, n);
    if (err == ECRED_OK)
        err = append_bstr(&msg, sig, sig_len);
    if (err == ECRED_OK) {
        ecred_buf_free(out);
        *out = msg;
        msg = (ecred_buf)ECRED_BUF_INIT;
    }
    ecred_buf_free(&msg);
    ecred_buf_free(&tbs);
    ecred_buf_free(&prot);
    return err;
}
