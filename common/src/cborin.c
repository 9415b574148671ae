/*
 * cborin.c - libcbor trees, capped and exact, and deterministic output; private
 * to common/ (common/internal/ecred/cborin.h). Untrusted input before a
 * signature is read with the cursor (cborcur.c) instead; trees are for the
 * encoders, signed payloads (status and trust lists) and the inspect view.
 *
 * cbor_load allocates whatever a header declares, so untrusted bytes first go
 * through a prescan with libcbor's non-allocating streaming decoder: it walks
 * the input head by head, keeps one counter per open container, and refuses
 * anything over the caps, any length or count that cannot fit in the bytes left,
 * indefinite lengths and trailing bytes. Only input that passes is handed to
 * cbor_load, whose allocations are then bounded by a small multiple of the
 * input size. This file must never print, exit, or decode without the prescan.
 */
#include "ecred/cborin.h"

#include <stdlib.h>
#include <string.h>

/* What the last streaming-decoder callback saw: one head per call. */
enum prescan_kind {
    PRESCAN_NONE = 0, /* no callback ran: treat as ill-formed */
    PRESCAN_SCALAR,   /* int, definite string (complete), float, simple */
    PRESCAN_ARRAY,
    PRESCAN_MAP,
    PRESCAN_TAG,
    PRESCAN_REFUSED, /* indefinite-length start or "break" */
};

struct prescan_event {
    enum prescan_kind kind;
    size_t count; /* array/map declared count */
};

static void on_scalar(struct prescan_event *ev) { ev->kind = PRESCAN_SCALAR; }
static void cb_u8(void *c, uint8_t v) { (void)v; on_scalar(c); }
static void cb_u16(void *c, uint16_t v) { (void)v; on_scalar(c); }
static void cb_u32(void *c, uint32_t v) { (void)v; on_scalar(c); }
static void cb_u64(void *c, uint64_t v) { (void)v; on_scalar(c); }
static void cb_string(void *c, cbor_data d, size_t n) { (void)d; (void)n; on_scalar(c); }
static void cb_float(void *c, float v) { (void)v; on_scalar(c); }
static void cb_double(void *c, double v) { (void)v; on_scalar(c); }
static void cb_bool(void *c, bool v) { (void)v; on_scalar(c); }
static void cb_simple(void *c) { on_scalar(c); }
static void cb_refused(void *c) { ((struct prescan_event *)c)->kind = PRESCAN_REFUSED; }
static void cb_array(void *c, size_t n)
{
    struct prescan_event *ev = c;
    ev->kind = PRESCAN_ARRAY;
    ev->count = n;
}
static void cb_map(void *c, size_t n)
{
    struct prescan_event *ev = c;
    ev->kind = PRESCAN_MAP;
    ev->count = n;
}
static void cb_tag(void *c, uint64_t v) { (void)v; ((struct prescan_event *)c)->kind = PRESCAN_TAG; }

/* Every slot is set: a slot left to libcbor's no-op would look like "no
 * callback" and must never silently accept an item. Note libcbor's field
 * names: byte_string/string are the definite forms, *_start the indefinite. */
static const struct cbor_callbacks prescan_callbacks = {
    .uint8 = cb_u8, .uint16 = cb_u16, .uint32 = cb_u32, .uint64 = cb_u64,
    .negint64 = cb_u64, .negint32 = cb_u32, .negint16 = cb_u16, .negint8 = cb_u8,
    .byte_string_start = cb_refused, .byte_string = cb_string,
    .string = cb_string, .string_start = cb_refused,
    .indef_array_start = cb_refused, .array_start = cb_array,
    .indef_map_start = cb_refused, .map_start = cb_map,
    .tag = cb_tag,
    .float2 = cb_float, .float4 = cb_float, .float8 = cb_double,
    .undefined = cb_simple, .null = cb_simple, .boolean = cb_bool,
    .indef_break = cb_refused,
};

/* libcbor 0.8 refuses the one-byte tag heads 0xc6..0xd4 (tags 6..20, which
 * include COSE_Sign1's 18) in both cbor_stream_decode and cbor_load: libcbor
 * issue #307, fixed in 0.11. The walk below reads those heads itself, and
 * ecred_cbor_decode hands cbor_load a copy where each is spelled in the
 * equivalent two-byte form (0xd8, value), which 0.8 accepts. Only heads are
 * rewritten, never string content, so every string decodes to the same bytes. */
#define SHORT_TAG_FIRST 0xc6
#define SHORT_TAG_LAST 0xd4

/* Walk buf[0..n) without allocating; ECRED_OK only if it is exactly one
 * definite-length item within the item and depth caps. Counts the short tag
 * heads in *short_tags; when rewrite is non-NULL (n + *short_tags bytes, from a
 * previous successful walk) also writes the copy for cbor_load there. */
static ecred_err cbor_walk(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                           uint8_t *rewrite, size_t *short_tags)
{
    size_t open_left[ECRED_CBOR_DEPTH_MAX]; /* items still due per open container */
    size_t depth = 0, items = 0, pos = 0, wpos = 0, tags = 0;
    bool top_done = false;

    while (pos < n) {
        if (top_done)
            return ECRED_ERR_CBOR; /* trailing bytes after the one item */
        struct prescan_event ev = {PRESCAN_NONE, 0};
        size_t read;
        if (buf[pos] >= SHORT_TAG_FIRST && buf[pos] <= SHORT_TAG_LAST) {
            ev.kind = PRESCAN_TAG;
            read = 1;
            tags++;
            if (rewrite) {
                rewrite[wpos++] = 0xd8;
                rewrite[wpos++] = (uint8_t)(buf[pos] & 0x1f);
            }
        } else {
            struct cbor_decoder_result r = cbor_stream_decode(buf + pos, n - pos,
                                                              &prescan_callbacks, &ev);
            if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || r.read > n - pos)
                return ECRED_ERR_CBOR; /* ill-formed head, or truncated */
            read = r.read;
            if (rewrite) {
                memcpy(rewrite + wpos, buf + pos, read);
                wpos += read;
            }
        }
        pos += read;
        if (++items > lim->max_items)
            return ECRED_ERR_CBOR_LIMIT;
        size_t rest = n - pos;
        size_t due = 0; /* children this head opens */
        switch (ev.kind) {
        case PRESCAN_SCALAR:
            break;
        case PRESCAN_ARRAY:
            /* each element needs at least one byte */
            if (ev.count > rest)
                return ECRED_ERR_CBOR;
            due = ev.count;
            break;
        case PRESCAN_MAP:
            if (ev.count > rest / 2)
                return ECRED_ERR_CBOR;
            due = ev.count * 2;
            break;
        case PRESCAN_TAG:
            due = 1;
            break;
        case PRESCAN_NONE:
        case PRESCAN_REFUSED:
        default:
            return ECRED_ERR_CBOR;
        }
        if (ev.kind != PRESCAN_SCALAR) {
            /* the container itself sits one level below its parent */
            if (depth + 1 > lim->max_depth)
                return ECRED_ERR_CBOR_LIMIT;
            if (due > 0) {
                open_left[depth++] = due;
                continue;
            }
        }
        /* One item completed: close every container it completes in turn. */
        for (;;) {
            if (depth == 0) {
                top_done = true;
                break;
            }
            if (--open_left[depth - 1] > 0)
                break;
            depth--;
        }
    }
    if (!top_done)
        return ECRED_ERR_CBOR;
    *short_tags = tags;
    return ECRED_OK;
}

ecred_err ecred_cbor_decode(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim,
                            cbor_item_t **out)
{
    if (!out || (!buf && n > 0))
        return ECRED_ERR_ARG;
    if (!lim)
        lim = &ecred_cbor_limits_small;
    if (lim->max_depth > ECRED_CBOR_DEPTH_MAX)
        return ECRED_ERR_ARG;
    if (n > lim->max_bytes || n > ECRED_BUF_MAX)
        return ECRED_ERR_TOO_LARGE;
    if (n == 0)
        return ECRED_ERR_CBOR;
    size_t short_tags = 0;
    ecred_err err = cbor_walk(buf, n, lim, NULL, &short_tags);
    if (err != ECRED_OK)
        return err;

    const uint8_t *load_from = buf;
    size_t load_len = n;
    uint8_t *copy = NULL;
    if (short_tags > 0) {
        /* short_tags <= n <= ECRED_BUF_MAX: the sum cannot overflow */
        load_len = n + short_tags;
        copy = malloc(load_len);
        if (!copy)
            return ECRED_ERR_NOMEM;
        err = cbor_walk(buf, n, lim, copy, &short_tags);
        if (err != ECRED_OK)
            goto out;
        load_from = copy;
    }

    struct cbor_load_result res;
    cbor_item_t *item = cbor_load(load_from, load_len, &res);
    if (!item) {
        err = res.error.code == CBOR_ERR_MEMERROR ? ECRED_ERR_NOMEM : ECRED_ERR_CBOR;
        goto out;
    }
    if (res.read != load_len) {
        /* cannot happen after the walk; refuse rather than trust it */
        cbor_decref(&item);
        err = ECRED_ERR_CBOR;
        goto out;
    }
    *out = item;
    err = ECRED_OK;
out:
    free(copy);
    return err;
}

ecred_err ecred_cbor_get_int(const cbor_item_t *item, int64_t *out)
{
    if (!item || !out)
        return ECRED_ERR_ARG;
    if (!cbor_is_int(item))
        return ECRED_ERR_CBOR;
    uint64_t v = cbor_get_int(item);
    if (v > (uint64_t)INT64_MAX)
        return ECRED_ERR_CBOR;
    /* a negint holds v for the value -1 - v; v <= INT64_MAX keeps it in range */
    *out = cbor_isa_uint(item) ? (int64_t)v : -1 - (int64_t)v;
    return ECRED_OK;
}

/* Keys we can compare without ambiguity. */
static bool key_comparable(const cbor_item_t *k)
{
    switch (cbor_typeof(k)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return true;
    case CBOR_TYPE_BYTESTRING:
        return cbor_bytestring_is_definite(k);
    case CBOR_TYPE_STRING:
        return cbor_string_is_definite(k);
    case CBOR_TYPE_FLOAT_CTRL:
        return cbor_float_ctrl_is_ctrl(k);
    default:
        return false;
    }
}

static bool bytes_equal(const unsigned char *a, size_t alen, const unsigned char *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

bool ecred_cbor_key_equal(const cbor_item_t *a, const cbor_item_t *b)
{
    if (!a || !b || !key_comparable(a) || !key_comparable(b) || cbor_typeof(a) != cbor_typeof(b))
        return false;
    switch (cbor_typeof(a)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT:
        return cbor_get_int(a) == cbor_get_int(b);
    case CBOR_TYPE_BYTESTRING:
        return bytes_equal(cbor_bytestring_handle(a), cbor_bytestring_length(a),
                           cbor_bytestring_handle(b), cbor_bytestring_length(b));
    case CBOR_TYPE_STRING:
        return bytes_equal(cbor_string_handle(a), cbor_string_length(a), cbor_string_handle(b),
                           cbor_string_length(b));
    case CBOR_TYPE_FLOAT_CTRL:
        /* Simple values only: libcbor 0.8's cbor_ctrl_value aborts on a float. */
        return cbor_float_ctrl_is_ctrl(a) && cbor_float_ctrl_is_ctrl(b) &&
               cbor_ctrl_value(a) == cbor_ctrl_value(b);
    default:
        return false;
    }
}

ecred_err ecred_cbor_map_check_unique(const cbor_item_t *map)
{
    if (!map)
        return ECRED_ERR_ARG;
    if (!cbor_isa_map(map))
        return ECRED_ERR_CBOR;
    size_t n = cbor_map_size(map);
    if (n > ECRED_CBOR_MAP_MAX_PAIRS)
        return ECRED_ERR_CBOR_LIMIT;
    const struct cbor_pair *pairs = cbor_map_handle(map);
    for (size_t i = 0; i < n; i++) {
        if (!key_comparable(pairs[i].key))
            return ECRED_ERR_CBOR;
        for (size_t j = 0; j < i; j++)
            if (ecred_cbor_key_equal(pairs[i].key, pairs[j].key))
                return ECRED_ERR_CBOR;
    }
    return ECRED_OK;
}

ecred_err ecred_cbor_map_get_int(const cbor_item_t *map, int64_t key, cbor_item_t **out)
{
    if (!map || !out)
        return ECRED_ERR_ARG;
    ecred_err err = ecred_cbor_map_check_unique(map);
    if (err != ECRED_OK)
        return err;
    const struct cbor_pair *pairs = cbor_map_handle(map);
    cbor_item_t *found = NULL;
    for (size_t i = 0; i < cbor_map_size(map) && !found; i++) {
        int64_t k;
        if (cbor_is_int(pairs[i].key) && ecred_cbor_get_int(pairs[i].key, &k) == ECRED_OK &&
            k == key)
            found = pairs[i].value;
    }
    *out = found;
    return ECRED_OK;
}

ecred_err ecred_cbor_map_get_str(const cbor_item_t *map, const char *key, cbor_item_t **out)
{
    if (!map || !key || !out)
        return ECRED_ERR_ARG;
    ecred_err err = ecred_cbor_map_check_unique(map);
    if (err != ECRED_OK)
        return err;
    const struct cbor_pair *pairs = cbor_map_handle(map);
    size_t klen = strlen(key);
    cbor_item_t *found = NULL;
    for (size_t i = 0; i < cbor_map_size(map) && !found; i++) {
        const cbor_item_t *k = pairs[i].key;
        if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
            bytes_equal(cbor_string_handle(k), cbor_string_length(k),
                        (const unsigned char *)key, klen))
            found = pairs[i].value;
    }
    *out = found;
    return ECRED_OK;
}

cbor_item_t *ecred_cbor_int(int64_t v)
{
    /* negative v is major type 1 carrying -1 - v; INT64_MIN gives INT64_MAX */
    bool neg = v < 0;
    uint64_t u = neg ? (uint64_t)(-1 - v) : (uint64_t)v;
    if (u <= UINT8_MAX)
        return neg ? cbor_build_negint8((uint8_t)u) : cbor_build_uint8((uint8_t)u);
    if (u <= UINT16_MAX)
        return neg ? cbor_build_negint16((uint16_t)u) : cbor_build_uint16((uint16_t)u);
    if (u <= UINT32_MAX)
        return neg ? cbor_build_negint32((uint32_t)u) : cbor_build_uint32((uint32_t)u);
    return neg ? cbor_build_negint64(u) : cbor_build_uint64(u);
}

cbor_item_t *ecred_cbor_bytes(const uint8_t *p, size_t n)
{
    /* libcbor copies from handle even for n == 0; give it a valid address */
    static const uint8_t empty[1] = {0};
    if (!p && n > 0)
        return NULL;
    return cbor_build_bytestring(n ? p : empty, n);
}

cbor_item_t *ecred_cbor_text(const char *s, size_t n)
{
    static const char empty[1] = {0};
    if (!s && n > 0)
        return NULL;
    return cbor_build_stringn(n ? s : empty, n);
}

ecred_err ecred_cbor_map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
    ecred_err err = ECRED_OK;
    if (!key || !value) {
        err = ECRED_ERR_NOMEM;
        goto out;
    }
    if (!map || !cbor_isa_map(map) ||
        (cbor_map_is_definite(map) && cbor_map_size(map) >= cbor_map_allocated(map))) {
        err = ECRED_ERR_ARG;
        goto out;
    }
    /* cbor_map_add takes its own references */
    if (!cbor_map_add(map, (struct cbor_pair){.key = key, .value = value}))
        err = ECRED_ERR_NOMEM;
out:
    if (key)
        cbor_decref(&key);
    if (value)
        cbor_decref(&value);
    return err;
}

ecred_err ecred_cbor_encode(const cbor_item_t *item, ecred_buf *out)
{
    if (!item || !out)
        return ECRED_ERR_ARG;
    unsigned char *bytes = NULL;
    size_t cap = 0;
    size_t len = cbor_serialize_alloc(item, &bytes, &cap);
    if (len == 0) {
        free(bytes);
        return ECRED_ERR_NOMEM;
    }
    ecred_err err = ecred_buf_set(out, bytes, len);
    free(bytes);
    return err;
}
