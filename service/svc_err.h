/*
 * svc_err.h - API error tables.
 *
 * Every error a daemon's API answers with is one row of a table: a stable
 * machine code, its HTTP status and a hint in Chinese and English. Handlers
 * pass a row, never a free string, so a code cannot be invented at a call
 * site and the tables can be checked against spec/api.md and spec/verifier.md
 * (tests/unit/test_apierr.c does, both ways). The reply is always
 *
 *   {"code": "...", "hint": "English", "hint_zh": "中文", "detail": "why" | null}
 *
 * The layer's own rows (svc_layer_errors) are answered before any handler
 * runs, in both daemons, and both specs document them.
 */
#ifndef ECRED_SVC_ERR_H
#define ECRED_SVC_ERR_H

#include <stddef.h>

typedef struct svc_apierr {
    const char *code;    /* stable: clients switch on it */
    unsigned status;     /* HTTP status */
    const char *hint_zh; /* for a person: what to do */
    const char *hint_en;
} svc_apierr;

typedef enum svc_layer_err {
    SVC_E_NOT_FOUND,
    SVC_E_METHOD_NOT_ALLOWED,
    SVC_E_BODY_TOO_LARGE,
    SVC_E_URI_TOO_LONG,
    SVC_E_MALFORMED_JSON,
    SVC_E_INTERNAL,
    SVC_E_COUNT
} svc_layer_err;

extern const svc_apierr svc_layer_errors[SVC_E_COUNT];

#endif
