/*
 * jsonw.c - the JSON writer of jsonw.h. Escaping follows jansson's dump so
 * answers read the same whichever of the two wrote them. Must never: copy a
 * string byte that would make the output invalid JSON, print.
 */
#include "jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ecred/utf8.h"

void vjson_init(vjson *w, ecred_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static void put(vjson *w, const void *p, size_t n)
{
    if (!w->err)
        w->err = ecred_buf_append(w->out, p, n);
}

/* A quoted, escaped string: runs of plain bytes are copied in one piece. */
static void put_string(vjson *w, const char *str, size_t n)
{
    const uint8_t *s = (const uint8_t *)str;
    put(w, "\"", 1);
    size_t run = 0; /* start of the pending plain run */
    size_t i = 0;
    while (i < n && !w->err) {
        uint8_t c = s[i];
        /* Printable ASCII other than the two escapes is most of every
         * answer: skip it without the escape chain or a UTF-8 decode. */
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20) {
            snprintf(u, sizeof u, "\\u%04X", (unsigned)c);
            esc = u;
        }
        if (esc) {
            put(w, s + run, i - run);
            put(w, esc, strlen(esc));
            run = ++i;
            continue;
        }
        size_t len = ecred_utf8_next(s + i, n - i, NULL);
        if (!len) {
            w->err = ECRED_ERR_INPUT;
            return;
        }
        i += len;
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void vjson_begin(vjson *w)
{
    if (w->depth >= VJSON_DEPTH_MAX) {
        if (!w->err)
            w->err = ECRED_ERR_ARG;
        return;
    }
    put(w, "{", 1);
    w->member[++w->depth] = false;
}

void vjson_end(vjson *w)
{
    if (w->depth == 0) {
        if (!w->err)
            w->err = ECRED_ERR_ARG;
        return;
    }
    put(w, "}", 1);
    w->depth--;
}

void vjson_key(vjson *w, const char *key)
{
    if (w->depth == 0) {
        if (!w->err)
            w->err = ECRED_ERR_ARG;
        return;
    }
    if (w->member[w->depth])
        put(w, ",", 1);
    w->member[w->depth] = true;
    put_string(w, key, strlen(key));
    put(w, ":", 1);
}

void vjson_str(vjson *w, const char *s)
{
    put_string(w, s, strlen(s));
}

void vjson_strn(vjson *w, const char *s, size_t n)
{
    put_string(w, s, n);
}

void vjson_int(vjson *w, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%" PRId64, v);
    put(w, t, (size_t)n);
}

void vjson_bool(vjson *w, bool v)
{
    put(w, v ? "true" : "false", v ? 4 : 5);
}

ecred_err vjson_finish(const vjson *w)
{
    if (w->err)
        return w->err;
    return w->depth == 0 ? ECRED_OK : ECRED_ERR_ARG;
}
