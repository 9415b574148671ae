/*
 * answer.h - the parts of a verification answer the CLI and the daemon share:
 * the status block (value, as-of, age, source) in JSON and in words.
 *
 * Must never: include credential fields (roles.h decides those), print.
 */
#ifndef ECRED_VERIFIER_ANSWER_H
#define ECRED_VERIFIER_ANSWER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ecred/decide.h"
#include "jsonw.h"
#include "status.h"

/* The answer's outcome word: "valid"; "unknown" when the credential checks
 * out but its status cannot be vouched for (status_stale,
 * status_unavailable); "invalid" for every other reason. */
const char *vanswer_outcome(ecred_err e);

/* "VALID", "INVALID", "SUSPENDED", "UNKNOWN" for a 2-bit status. */
const char *vanswer_status_label(unsigned s);

/* The "status" object of an answer, written as a value into w (after a
 * key, or as the top value). st NULL: status not checked (no cache). max_age
 * in seconds. Errors stay in w (vjson_finish). */
void vanswer_status_write(vjson *w, const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age);

/* The same object as a new jansson tree; NULL when out of memory. */
json_t *vanswer_status_json(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age);

/* One line for people saying what the status is and how old its data is;
 * times in China Standard Time (+08:00). */
void vanswer_status_text(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age,
                         char *out, size_t cap);

#endif
