/*
 * svc_log.h - the one log format of both daemons: one JSON object per line on
 * stderr, written with a single write(2) so concurrent lines never interleave.
 *
 *   {"ts":"2026-11-29T13:00:00Z","level":"info","daemon":"issuer","msg":"listening",...}
 *
 * Every value is JSON-escaped here, so bytes from outside (a method, a URI
 * from a status list index, a library's message) can never forge a line or
 * reach a terminal as an escape sequence. Callers still keep personal data
 * and secrets out of logs: escaping makes a value harmless, not private.
 */
#ifndef ECRED_SVC_LOG_H
#define ECRED_SVC_LOG_H

#include <stddef.h>

#include "ecred/buf.h"

typedef enum svc_level { SVC_INFO = 0, SVC_WARNING = 1, SVC_ERROR = 2 } svc_level;

/* The daemon's name in every line ("issuer", "verifier"); set once in main(). */
void svc_log_init(const char *daemon);
/* The level's name: "info", "warning", "error". */
const char *svc_level_name(svc_level level);

/* One line with up to four extra string fields: kv holds n_kv pairs
 * {key, value}; a NULL value is skipped. */
void svc_logv(svc_level level, const char *msg, const char *const *kv, size_t n_kv);
/* The common case: msg with at most one extra field (key NULL for none). */
void svc_log(svc_level level, const char *msg, const char *key, const char *value);

/* Append s as a JSON string literal (quotes included) to b: control bytes,
 * quote, backslash and DEL escaped, invalid UTF-8 replaced by U+FFFD, so any
 * bytes become one safe token. */
ecred_err svc_json_quote(ecred_buf *b, const char *s, size_t n);
/* UTC "YYYY-MM-DDTHH:MM:SSZ" of now. */
void svc_log_timestamp(char out[32]);
/* Write one finished line (b holds it without the newline) to stderr. */
void svc_log_emit(ecred_buf *b);

#endif
