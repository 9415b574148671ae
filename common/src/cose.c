/*
 * cose.c - COSE_Sign1 (RFC 9052 section 4.2): decode with the header rules of
 * cose.h, verify over the bytes as received, sign with deterministic headers.
 *
 * Decoding reads the caller's bytes in place with the cursor of cborcur.h
 * (the one CBOR read path for untrusted input: no tree, no allocation), so
 * the spans (protected bytes, payload, signature) point at exactly the bytes
 * that arrived: the Sig_structure is built from them, never from a
 * re-encoding of the headers. Encoding (sign) uses the libcbor builders of
 * the private cborin.h. This file must never call OpenSSL directly (crypto.h
 * is the only door), never print, and never run crypto before the header and
 * key checks have passed.
 */
#include "ecred/cose.h"

#include <stdint.h>
#include <string.h>

#include "ecred/cborcur.h"
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
static ecred_err sig_structure_append_aad(ecred_buf *b, ecred_span prot, ecred_span aad, ecred_span payload);

static ecred_err sig_structure_append(ecred_buf *b, ecred_span prot, ecred_span payload)
{
    return sig_structure_append_aad(b, prot, ecred_span_of(NULL, 0), payload);
}

/* The same with an application's external_aad (RFC 9052 section 4.3): ours
 * is always empty; another ecosystem's may not be. */
static ecred_err sig_structure_append_aad(ecred_buf *b, ecred_span prot, ecred_span aad, ecred_span payload)
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
        err = append_bstr(b, aad.ptr, aad.len);
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

/* ---- decode, on the cursor ---------------------------------------------- */

/* A header label as read: an int64 or a text string (span into the input). */
typedef struct cose_label {
    bool is_text;
    int64_t num;
    ecred_span text;
} cose_label;

/* Read one label head: an integer in int64 range or a text string. Anything
 * else (a tag, a bstr, a float...) is ECRED_ERR_COSE_HEADER. */
static ecred_err read_label(ecred_cborcur *cur, cose_label *l)
{
    ecred_cbor_head h;
    if (ecred_cborcur_head(cur, &h) != ECRED_OK)
        return ECRED_ERR_COSE_HEADER; /* cannot happen after the check: refuse, not guess */
    memset(l, 0, sizeof *l);
    if (h.major == ECRED_CBOR_MAJOR_TEXT) {
        l->is_text = true;
        l->text = h.str;
        return ECRED_OK;
    }
    return ecred_cbor_head_int(&h, &l->num) ? ECRED_OK : ECRED_ERR_COSE_HEADER;
}

/* Equal labels: same kind and value, whatever width the integer was encoded
 * in (1 and 0x18 0x01 are the same label). */
static bool label_equal(const cose_label *a, const cose_label *b)
{
    if (a->is_text != b->is_text)
        return false;
    if (!a->is_text)
        return a->num == b->num;
    return a->text.len == b->text.len &&
           (a->text.len == 0 || memcmp(a->text.ptr, b->text.ptr, a->text.len) == 0);
}

/* What the header walk found about alg, and which rules it was told to
 * relax and did (inspect only; all false for our own formats). */
struct alg_seen {
    bool present;
    bool supported;
    int alg;
    const ecred_cose_relax *allow;
    unsigned relaxed; /* ECRED_COSE_RELAXED_* */
};

/* One bucket's labels, kept for the duplicate and disjointness checks. */
typedef struct bucket {
    cose_label labels[ECRED_COSE_LABELS_MAX];
    size_t n;
} bucket;

/* Apply the header rules to one value whose label is known, reading it from
 * cur. typ is reported only from the protected bucket: an unprotected typ
 * could be swapped by anyone and must not steer how the payload is read. */
static ecred_err read_value(ecred_cborcur *cur, const cose_label *label, bool is_protected,
                            ecred_cose_sign1 *m, struct alg_seen *alg)
{
    ecred_cbor_head h;
    if (label->is_text || (label->num != COSE_LABEL_ALG && label->num != COSE_LABEL_CRIT &&
                           label->num != COSE_LABEL_CONTENT_TYPE &&
                           label->num != COSE_LABEL_KID && label->num != COSE_LABEL_TYP))
        /* text labels and unknown ints carry nothing we act on, and are
         * ignorable without crit */
        return ecred_cborcur_skip(cur, NULL) == ECRED_OK ? ECRED_OK : ECRED_ERR_COSE_HEADER;
    if (label->num == COSE_LABEL_CRIT)
        return ECRED_ERR_COSE_HEADER; /* we understand no extension that needs it */
    if (label->num == COSE_LABEL_ALG && !is_protected) {
        if (!alg->allow->alg_unprotected)
            return ECRED_ERR_COSE_HEADER;
        alg->relaxed |= ECRED_COSE_RELAXED_ALG_UNPROTECTED;
    }
    /* Every value we act on is a single head (int, text or bstr): a container
     * or a tag is the wrong type, refused before it is read any further. */
    if (ecred_cborcur_head(cur, &h) != ECRED_OK)
        return ECRED_ERR_COSE_HEADER;
    bool is_uint = h.major == ECRED_CBOR_MAJOR_UINT;
    bool is_text = h.major == ECRED_CBOR_MAJOR_TEXT;
    switch (label->num) {
    case COSE_LABEL_ALG: {
        int64_t a;
        alg->present = true;
        if (is_uint || h.major == ECRED_CBOR_MAJOR_NEGINT) {
            /* An integer out of int64 range is present but unsupported. */
            if (ecred_cbor_head_int(&h, &a) &&
                (a == ECRED_COSE_ALG_ES256 || a == ECRED_COSE_ALG_EDDSA ||
                 (alg->allow->other_algs && a >= INT32_MIN && a <= INT32_MAX))) {
                alg->supported = true;
                alg->alg = (int)a;
                if (a != ECRED_COSE_ALG_ES256 && a != ECRED_COSE_ALG_EDDSA)
                    alg->relaxed |= ECRED_COSE_RELAXED_OTHER_ALG;
            }
        } else if (!is_text) {
            return ECRED_ERR_COSE_HEADER; /* alg is int / tstr (RFC 9052 3.1) */
        }
        return ECRED_OK;
    }
    case COSE_LABEL_CONTENT_TYPE:
        return is_text || is_uint ? ECRED_OK : ECRED_ERR_COSE_HEADER;
    case COSE_LABEL_KID:
        if (h.major != ECRED_CBOR_MAJOR_BYTES || h.str.len < 1 || h.str.len > ECRED_COSE_KID_MAX)
            return ECRED_ERR_COSE_HEADER;
        memcpy(m->kid, h.str.ptr, h.str.len);
        m->kid_len = h.str.len;
        m->kid_protected = is_protected;
        if (!is_protected)
            alg->relaxed |= ECRED_COSE_RELAXED_KID_UNPROTECTED;
        return ECRED_OK;
    default: /* COSE_LABEL_TYP */
        if (is_uint)
            return ECRED_OK;
        if (!is_text || h.str.len > ECRED_COSE_TYP_MAX)
            return ECRED_ERR_COSE_HEADER;
        if (h.str.len > 0 && memchr(h.str.ptr, 0, h.str.len))
            return ECRED_ERR_COSE_HEADER; /* would truncate the C string */
        if (is_protected) {
            if (h.str.len > 0)
                memcpy(m->typ, h.str.ptr, h.str.len);
            m->typ[h.str.len] = '\0';
        }
        return ECRED_OK;
    }
}

/* Walk one bucket (cur positioned after its map head of `pairs` pairs):
 * collect its labels in b (refusing repeats and, when other is not NULL, any
 * label other already holds) and apply the header rules to its values. */
static ecred_err read_bucket(ecred_cborcur *cur, size_t pairs, bool is_protected,
                             const bucket *other, bucket *b, ecred_cose_sign1 *m,
                             struct alg_seen *alg)
{
    if (pairs > ECRED_COSE_LABELS_MAX)
        return ECRED_ERR_COSE_HEADER;
    b->n = 0;
    for (size_t p = 0; p < pairs; p++) {
        cose_label *l = &b->labels[b->n];
        ecred_err err = read_label(cur, l);
        if (err != ECRED_OK)
            return err;
        for (size_t i = 0; i < b->n; i++)
            if (label_equal(&b->labels[i], l))
                return ECRED_ERR_COSE_HEADER;
        bool in_other = false;
        for (size_t i = 0; other && i < other->n; i++)
            if (label_equal(&other->labels[i], l))
                in_other = true;
        b->n++;
        if (in_other) {
            /* RFC 9052 section 3: a label in both buckets SHOULD be refused;
             * if not, the protected value is the one that counts. */
            if (!alg->allow->label_in_both)
                return ECRED_ERR_COSE_HEADER;
            alg->relaxed |= ECRED_COSE_RELAXED_LABEL_IN_BOTH;
            if (ecred_cborcur_skip(cur, NULL) != ECRED_OK)
                return ECRED_ERR_COSE_HEADER;
            continue;
        }
        if ((err = read_value(cur, l, is_protected, m, alg)) != ECRED_OK)
            return err;
    }
    return ECRED_OK;
}

/* Read the next head from a checked input; false if it is not there (cannot
 * happen after ecred_cborcur_check, and is then refused, not guessed). */
static bool next_head(ecred_cborcur *cur, ecred_cbor_head *h)
{
    return ecred_cborcur_head(cur, h) == ECRED_OK;
}

static bool is_null(const ecred_cbor_head *h)
{
    return h->major == ECRED_CBOR_MAJOR_SIMPLE && h->info == ECRED_CBOR_SIMPLE_NULL;
}

static const ecred_cose_relax strict_rules = {false, false, false, false};

ecred_err ecred_cose_sign1_decode(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                                  ecred_cose_sign1 *out)
{
    return ecred_cose_sign1_decode_relaxed(buf, n, lim, &strict_rules, out);
}

ecred_err ecred_cose_sign1_decode_relaxed(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                                          const ecred_cose_relax *allow, ecred_cose_sign1 *out)
{
    if (!out || !allow)
        return ECRED_ERR_ARG;
    memset(out, 0, sizeof *out);
    if (!buf && n > 0)
        return ECRED_ERR_ARG;
    if (!lim)
        lim = &ecred_cbor_limits_small;

    /* The whole message first: caps, well-formedness and exact consumption,
     * without allocating; afterwards every read below is inside checked bytes. */
    ecred_err err = ecred_cborcur_check(buf, n, lim);
    if (err != ECRED_OK)
        return err;

    ecred_cose_sign1 m;
    memset(&m, 0, sizeof m);
    ecred_cborcur cur, pcur;
    ecred_cbor_head h, prot, payload, sig, unprot;
    ecred_span unprot_item;
    struct alg_seen alg = {false, false, 0, allow, 0};
    bucket buckets[2]; /* [0] protected, [1] unprotected */
    buckets[0].n = buckets[1].n = 0;

    /* Structure: 18([bstr, map, bstr / nil, bstr]), tag in either head form. */
    if ((err = ecred_cborcur_init(&cur, buf, n, lim)) != ECRED_OK)
        return err;
    if (!next_head(&cur, &h))
        return ECRED_ERR_COSE_STRUCTURE;
    if (h.major == ECRED_CBOR_MAJOR_ARRAY && allow->untagged) {
        /* COSE_Sign1 untagged, where the context says what it is (RFC 9052
         * section 2): the array head is already read. */
        alg.relaxed |= ECRED_COSE_RELAXED_UNTAGGED;
    } else if (h.major != ECRED_CBOR_MAJOR_TAG || h.arg != ECRED_COSE_TAG_SIGN1 || !next_head(&cur, &h)) {
        return ECRED_ERR_COSE_STRUCTURE;
    }
    if (h.major != ECRED_CBOR_MAJOR_ARRAY || h.arg != 4)
        return ECRED_ERR_COSE_STRUCTURE;
    if (!next_head(&cur, &prot) || prot.major != ECRED_CBOR_MAJOR_BYTES)
        return ECRED_ERR_COSE_STRUCTURE;
    ecred_cborcur at_unprot = cur;
    if (!next_head(&at_unprot, &unprot) || unprot.major != ECRED_CBOR_MAJOR_MAP)
        return ECRED_ERR_COSE_STRUCTURE;
    if (ecred_cborcur_skip(&cur, &unprot_item) != ECRED_OK)
        return ECRED_ERR_COSE_STRUCTURE;
    if (!next_head(&cur, &payload) ||
        !(payload.major == ECRED_CBOR_MAJOR_BYTES || is_null(&payload)))
        return ECRED_ERR_COSE_STRUCTURE;
    if (!next_head(&cur, &sig) || sig.major != ECRED_CBOR_MAJOR_BYTES)
        return ECRED_ERR_COSE_STRUCTURE;
    if (ecred_cborcur_finish(&cur) != ECRED_OK)
        return ECRED_ERR_CBOR; /* the check consumed it all: unreachable */

    /* The protected bucket: empty bstr, or a bstr holding exactly one map,
     * under the same caps as the message. */
    size_t prot_pairs = 0;
    m.protected_bytes = prot.str;
    if (prot.str.len > 0) {
        if ((err = ecred_cborcur_check(prot.str.ptr, prot.str.len, lim)) != ECRED_OK)
            return err;
        if ((err = ecred_cborcur_init(&pcur, prot.str.ptr, prot.str.len, lim)) != ECRED_OK)
            return err;
        if (!next_head(&pcur, &h) || h.major != ECRED_CBOR_MAJOR_MAP)
            return ECRED_ERR_COSE_HEADER;
        prot_pairs = (size_t)h.arg; /* bounded by the bytes (cborcur.h) */
    } else {
        m.protected_bytes.ptr = NULL;
    }

    /* Labels: int or text, none twice in a bucket, none in both buckets. */
    if (prot.str.len > 0 &&
        (err = read_bucket(&pcur, prot_pairs, true, NULL, &buckets[0], &m, &alg)) != ECRED_OK)
        return err;
    if ((err = read_bucket(&at_unprot, (size_t)unprot.arg, false, &buckets[0], &buckets[1], &m,
                           &alg)) != ECRED_OK)
        return err;
    if (!alg.present || !alg.supported)
        return ECRED_ERR_ALG_UNSUPPORTED;
    m.alg = alg.alg;

    if (is_null(&payload)) {
        m.detached = true;
        m.payload = ecred_span_of(NULL, 0);
    } else {
        m.payload = payload.str;
    }
    m.signature = sig.str;
    m.total_len = n;
    m.relaxed = alg.relaxed;
    *out = m;
    return ECRED_OK;
}

ecred_err ecred_cose_sign1_verify_relaxed(ecred_cose_sign1 *msg, const ecred_key *key, ecred_span external_aad)
{
    if (!msg || !key || msg->total_len == 0 || (!external_aad.ptr && external_aad.len))
        return ECRED_ERR_ARG;
    if (msg->detached)
        return ECRED_ERR_COSE_STRUCTURE;
    if (!ecred_alg_supported(msg->alg))
        return ECRED_ERR_ALG_UNSUPPORTED;
    ecred_buf tbs = ECRED_BUF_INIT;
    bool curve = false;
    ecred_span prot = msg->protected_bytes;
    if (prot.len == 1 && prot.ptr[0] == 0xa0) {
        prot = ecred_span_of(NULL, 0);
        msg->relaxed |= ECRED_COSE_RELAXED_EMPTY_PROTECTED;
    }
    ecred_err err = sig_structure_append_aad(&tbs, prot, external_aad, msg->payload);
    if (err == ECRED_OK)
        err = ecred_verify_cose_alg(key, msg->alg, tbs.ptr, tbs.len, msg->signature.ptr, msg->signature.len, &curve);
    if (curve)
        msg->relaxed |= ECRED_COSE_RELAXED_CURVE;
    ecred_buf_free(&tbs);
    return err;
}

const char *ecred_cose_relaxed_name(unsigned bit)
{
    switch (bit) {
    case ECRED_COSE_RELAXED_UNTAGGED: return "untagged";
    case ECRED_COSE_RELAXED_ALG_UNPROTECTED: return "alg_unprotected";
    case ECRED_COSE_RELAXED_LABEL_IN_BOTH: return "label_in_both_buckets";
    case ECRED_COSE_RELAXED_KID_UNPROTECTED: return "kid_unprotected";
    case ECRED_COSE_RELAXED_OTHER_ALG: return "other_alg";
    case ECRED_COSE_RELAXED_CURVE: return "curve_not_paired_with_hash";
    case ECRED_COSE_RELAXED_EMPTY_PROTECTED: return "empty_protected_map_signed_as_empty";
    default: return "unknown";
    }
}

void ecred_cose_sign1_clear(ecred_cose_sign1 *msg)
{
    if (msg)
        memset(msg, 0, sizeof *msg);
}

ecred_err ecred_cose_sign1_verify(const ecred_cose_sign1 *msg, const ecred_key *key)
{
    if (!msg || !key || msg->total_len == 0)
        return ECRED_ERR_ARG; /* not a decoded message (zeroed by a failed decode) */
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
