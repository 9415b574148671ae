/*
 * jsonw.h - a small JSON writer into one ecred_buf, for the verify API's
 * answers: one growing buffer instead of a tree of small allocations.
 *
 * Objects only (the answers have no arrays); commas are placed by the writer.
 * Strings are escaped as jansson's json_dumps escapes them (", \, the short
 * forms \b \f \n \r \t, other controls as \u00XX, UTF-8 kept as is), so text
 * written here and text dumped by jansson are the same bytes. Errors are
 * sticky: after the first, every call is a no-op and vjson_finish reports it.
 *
 * Must never: emit invalid JSON (a string that is not valid UTF-8 is an
 * error, not copied), print.
 */
#ifndef ECRED_VERIFIER_JSONW_H
#define ECRED_VERIFIER_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/buf.h"

#define VJSON_DEPTH_MAX 8

typedef struct vjson {
    ecred_buf *out;                    /* appended to, owned by the caller */
    ecred_err err;                     /* first error, ECRED_OK until then */
    unsigned depth;                    /* objects open */
    bool member[VJSON_DEPTH_MAX + 1];  /* the open object has a member: next key needs a comma */
} vjson;

/* Start writing at the end of out (which the caller owns and frees). */
void vjson_init(vjson *w, ecred_buf *out);
/* Open an object (as the top value or as the value of the last key). */
void vjson_begin(vjson *w);
/* Close the innermost open object. */
void vjson_end(vjson *w);
/* A member's key (NUL-terminated); the value call must follow. */
void vjson_key(vjson *w, const char *key);
/* String values: NUL-terminated, or n bytes. */
void vjson_str(vjson *w, const char *s);
void vjson_strn(vjson *w, const char *s, size_t n);
/* Integer and boolean values. */
void vjson_int(vjson *w, int64_t v);
void vjson_bool(vjson *w, bool v);
/* ECRED_OK when every call succeeded and every object was closed;
 * otherwise the first error (ECRED_ERR_NOMEM, ECRED_ERR_INPUT for a string
 * that is not UTF-8, ECRED_ERR_ARG for unbalanced objects). */
ecred_err vjson_finish(const vjson *w);

#endif
