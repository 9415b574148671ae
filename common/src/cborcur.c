/*
 * cborcur.c - the non-allocating CBOR cursor of cborcur.h.
 *
 * Hot verify-path decoders (CWT claims, the COSE envelope) read a few hundred
 * bytes of untrusted CBOR per credential. Building a libcbor tree for that
 * costs one malloc per item; this reader walks the bytes in place instead and
 * applies the rules of cborin.c's prescan plus the UTF-8 check cbor_load does,
 * so both paths accept and refuse the same inputs with the same errors. This
 * file must never allocate, read outside [buf, buf + len), or trust a length
 * before comparing it with the bytes that are left.
 */
#include "ecred/cborcur.h"

#include <string.h>

#include "ecred/utf8.h"

const ecred_cbor_limits ecred_cbor_limits_small = {
    ECRED_CBOR_SMALL_MAX_BYTES,
    ECRED_CBOR_SMALL_MAX_ITEMS,
    ECRED_CBOR_SMALL_MAX_DEPTH,
};

/* Parse the head at p (left bytes) and, for a string, its content: what
 * libcbor 0.8's streaming decoder accepts, except that one-byte tag heads
 * 6..20 are accepted too (cborin.c explains why). *used is the bytes taken.
 * Indefinite starts and breaks come back as info 31 for next_head to refuse. */
static ecred_err parse_head(const uint8_t *p, size_t left, ecred_cbor_head *h, size_t *used)
{
    if (left == 0)
        return ECRED_ERR_CBOR;
    uint8_t major = (uint8_t)(p[0] >> 5), info = (uint8_t)(p[0] & 0x1f);
    uint64_t arg = info;
    size_t head_len = 1;
    if (info == 31 && major != ECRED_CBOR_MAJOR_UINT && major != ECRED_CBOR_MAJOR_NEGINT &&
        major != ECRED_CBOR_MAJOR_TAG) {
        /* An indefinite-length start or a break: a well-formed head that we
         * refuse. next_head refuses it only after counting it, because
         * libcbor's streaming decoder reports it as an item and the prescan
         * checks the item cap first. */
        h->major = major;
        h->info = info;
        h->arg = 0;
        h->str = ecred_span_of(NULL, 0);
        *used = 1;
        return ECRED_OK;
    }
    if (info >= 24) {
        if (info > 27)
            return ECRED_ERR_CBOR; /* 28..30 reserved; 31 on an int or tag */
        size_t width = (size_t)1 << (info - 24);
        if (left - 1 < width)
            return ECRED_ERR_CBOR;
        arg = 0;
        for (size_t i = 0; i < width; i++)
            arg = arg << 8 | p[1 + i];
        head_len += width;
    }
    /* Simple values: only false, true, null, undefined (20..23) are assigned;
     * 0..19 are unassigned and the two-byte form (info 24) carries nothing
     * assigned either (RFC 8949 section 3.3, IANA registry). 25..27 are floats. */
    if (major == ECRED_CBOR_MAJOR_SIMPLE && (info < 20 || info == 24))
        return ECRED_ERR_CBOR;
    ecred_span str = {NULL, 0};
    if (major == ECRED_CBOR_MAJOR_BYTES || major == ECRED_CBOR_MAJOR_TEXT) {
        if (arg > left - head_len)
            return ECRED_ERR_CBOR;
        str = ecred_span_of(p + head_len, (size_t)arg);
        head_len += (size_t)arg;
    }
    h->major = major;
    h->info = info;
    h->arg = arg;
    h->str = str;
    *used = head_len;
    return ECRED_OK;
}

/* One head with the cursor's accounting: parse, count the item, bound the
 * container count by the rest. Text is UTF-8-checked unless bad_text is not
 * NULL, in which case a failure is only recorded there (see check below). */
static ecred_err next_head(ecred_cborcur *cur, ecred_cbor_head *h, bool *bad_text)
{
    ecred_cbor_head tmp;
    size_t used;
    ecred_err err = parse_head(cur->buf + cur->pos, cur->len - cur->pos, &tmp, &used);
    if (err != ECRED_OK)
        return err;
    if (cur->items_left == 0)
        return ECRED_ERR_CBOR_LIMIT;
    if (tmp.info == 31)
        return ECRED_ERR_CBOR; /* indefinite length or break */
    size_t rest = cur->len - cur->pos - used;
    /* Each element needs at least one byte, each pair two: a count that
     * cannot fit is refused before anyone loops over it. */
    if (tmp.major == ECRED_CBOR_MAJOR_ARRAY && tmp.arg > rest)
        return ECRED_ERR_CBOR;
    if (tmp.major == ECRED_CBOR_MAJOR_MAP && tmp.arg > rest / 2)
        return ECRED_ERR_CBOR;
    if (tmp.major == ECRED_CBOR_MAJOR_TEXT && !ecred_utf8_valid(tmp.str.ptr, tmp.str.len, 0)) {
        if (!bad_text)
            return ECRED_ERR_CBOR;
        *bad_text = true;
    }
    cur->items_left--;
    cur->pos += used;
    *h = tmp;
    return ECRED_OK;
}

/* Skip one whole item, nesting capped at max_depth; see ecred_cborcur_skip. */
static ecred_err skip_item(ecred_cborcur *cur, ecred_span *item, bool *bad_text)
{
    size_t open_left[ECRED_CBOR_DEPTH_MAX]; /* items still due per open container */
    size_t depth = 0, start = cur->pos;
    for (;;) {
        ecred_cbor_head h;
        ecred_err err = next_head(cur, &h, bad_text);
        if (err != ECRED_OK)
            return err;
        size_t due = 0;
        bool container = true;
        if (h.major == ECRED_CBOR_MAJOR_ARRAY)
            due = (size_t)h.arg;
        else if (h.major == ECRED_CBOR_MAJOR_MAP)
            due = (size_t)h.arg * 2; /* arg <= rest / 2: no overflow */
        else if (h.major == ECRED_CBOR_MAJOR_TAG)
            due = 1;
        else
            container = false;
        if (container) {
            /* the container sits one level below its parent, even when empty */
            if (depth + 1 > cur->max_depth)
                return ECRED_ERR_CBOR_LIMIT;
            if (due > 0) {
                open_left[depth++] = due;
                continue;
            }
        }
        /* One item completed: close every container it completes in turn. */
        while (depth > 0 && --open_left[depth - 1] == 0)
            depth--;
        if (depth == 0)
            break;
    }
    if (item)
        *item = ecred_span_of(cur->buf + start, cur->pos - start);
    return ECRED_OK;
}

ecred_err ecred_cborcur_init(ecred_cborcur *cur, const uint8_t *buf, size_t n,
                             const ecred_cbor_limits *lim)
{
    if (!cur || (!buf && n > 0))
        return ECRED_ERR_ARG;
    if (!lim)
        lim = &ecred_cbor_limits_small;
    if (lim->max_depth > ECRED_CBOR_DEPTH_MAX)
        return ECRED_ERR_ARG;
    if (n > lim->max_bytes || n > ECRED_BUF_MAX)
        return ECRED_ERR_TOO_LARGE;
    cur->buf = buf;
    cur->len = n;
    cur->pos = 0;
    cur->items_left = lim->max_items;
    cur->max_depth = lim->max_depth;
    return ECRED_OK;
}

ecred_err ecred_cborcur_check(const uint8_t *buf, size_t n, const ecred_cbor_limits *lim)
{
    ecred_cborcur cur;
    ecred_err err = ecred_cborcur_init(&cur, buf, n, lim);
    if (err != ECRED_OK)
        return err;
    /* cborin.c's prescan finds caps and structure errors first and cbor_load
     * the bad UTF-8 afterwards: deferring the text verdict to the end keeps
     * the same error for input that has both. */
    bool bad_text = false;
    err = skip_item(&cur, NULL, &bad_text);
    if (err == ECRED_OK)
        err = ecred_cborcur_finish(&cur);
    if (err == ECRED_OK && bad_text)
        err = ECRED_ERR_CBOR;
    return err;
}

ecred_err ecred_cborcur_head(ecred_cborcur *cur, ecred_cbor_head *h)
{
    if (!cur || !h)
        return ECRED_ERR_ARG;
    return next_head(cur, h, NULL);
}

ecred_err ecred_cborcur_skip(ecred_cborcur *cur, ecred_span *item)
{
    if (!cur)
        return ECRED_ERR_ARG;
    return skip_item(cur, item, NULL);
}

ecred_err ecred_cborcur_finish(const ecred_cborcur *cur)
{
    return cur->pos == cur->len ? ECRED_OK : ECRED_ERR_CBOR;
}

size_t ecred_cborcur_left(const ecred_cborcur *cur)
{
    return cur->len - cur->pos;
}

bool ecred_cbor_head_int(const ecred_cbor_head *h, int64_t *out)
{
    if ((h->major != ECRED_CBOR_MAJOR_UINT && h->major != ECRED_CBOR_MAJOR_NEGINT) ||
        h->arg > (uint64_t)INT64_MAX)
        return false;
    /* a negint carries v for the value -1 - v; v <= INT64_MAX keeps it in range */
    *out = h->major == ECRED_CBOR_MAJOR_UINT ? (int64_t)h->arg : -1 - (int64_t)h->arg;
    return true;
}

bool ecred_cbor_head_text_is(const ecred_cbor_head *h, const char *s)
{
    size_t n = strlen(s);
    return h->major == ECRED_CBOR_MAJOR_TEXT && h->str.len == n &&
           (n == 0 || memcmp(h->str.ptr, s, n) == 0);
}

bool ecred_cbor_head_bool(const ecred_cbor_head *h, bool *out)
{
    if (h->major != ECRED_CBOR_MAJOR_SIMPLE ||
        (h->arg != ECRED_CBOR_SIMPLE_FALSE && h->arg != ECRED_CBOR_SIMPLE_TRUE) || h->info >= 24)
        return false;
    *out = h->arg == ECRED_CBOR_SIMPLE_TRUE;
    return true;
}
