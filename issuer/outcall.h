/*
 * outcall.h - the issuer's only libcurl user: the few requests the issuer
 * itself makes to other services (the identity provider's discovery, JWKS and
 * token endpoints; the notification webhook).
 *
 * Must never: follow redirects, speak anything but http(s), read an answer
 * past its cap, or wait longer than the caller's timeout.
 */
#ifndef ECRED_ISSUER_OUTCALL_H
#define ECRED_ISSUER_OUTCALL_H

#include "ecred/buf.h"

#define OUTCALL_URL_MAX 512

typedef struct outcall_req {
    const char *url;
    const char *content_type;  /* with body: "application/json", form, ...; NULL for GET */
    const char *body;          /* POST body (NUL-terminated); NULL means GET */
    const char *idem_key;      /* sent as Idempotency-Key when not NULL */
    size_t max;                /* cap on the answer's body */
    long timeout_ms;
} outcall_req;

/* Once per process, before threads start. */
ecred_err outcall_global_init(void);
/* Perform one request. On ECRED_OK *status is the HTTP status and body holds
 * the answer (NUL-terminated, caller frees); ECRED_ERR_IO when no answer came
 * (refused, timeout), ECRED_ERR_TOO_LARGE over the cap, ECRED_ERR_INPUT for a
 * URL that is not http(s) or too long. */
ecred_err outcall_do(const outcall_req *q, long *status, ecred_buf *body);
/* application/x-www-form-urlencoded escape of s into a new string (free()),
 * NULL on allocation failure. */
char *outcall_form_escape(const char *s);

#endif
