/*
 * vbody.c - parsing of the verify API's request body (vbody.h). Must never:
 * print, log or keep the body; accept a JSON object with anything but the
 * string member "qr" (and, where the caller asks for it, "challenge").
 */
#include "vbody.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define JSON_TYPE "application/json"

/* True for "application/json", alone or followed by parameters
 * ("; charset=utf-8"); "application/jsonp" is not JSON. */
static bool is_json_type(const char *ct)
{
    size_t n = strlen(JSON_TYPE);
    if (!ct || strncasecmp(ct, JSON_TYPE, n) != 0)
        return false;
    char c = ct[n];
    return c == 0 || c == ';' || c == ' ' || c == '\t';
}

/* True when the first byte that is not JSON whitespace is '{'. */
static bool starts_with_brace(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i < n && p[i] == '{';
}

static void refuse(vbody_refusal *why, const char *code, const char *detail)
{
    why->code = code;
    snprintf(why->detail, sizeof why->detail, "%s", detail);
}

ecred_err vbody_parse(const uint8_t *body, size_t n, const char *content_type, ecred_buf *text,
                      vbody_refusal *why)
{
    return vbody_parse_verify(body, n, content_type, text, NULL, why);
}

ecred_err vbody_parse_verify(const uint8_t *body, size_t n, const char *content_type, ecred_buf *text,
                             char challenge[VBODY_CHALLENGE_MAX + 1], vbody_refusal *why)
{
    if (challenge)
        challenge[0] = 0;
    if (n > VBODY_MAX) {
        refuse(why, "body_too_large", "the body is capped at 8 KiB");
        return ECRED_ERR_TOO_LARGE;
    }
    if (n == 0 || !body) {
        refuse(why, "empty_body", "");
        return ECRED_ERR_INPUT;
    }
    ecred_buf tmp = ECRED_BUF_INIT;
    ecred_err e;
    if (!is_json_type(content_type) && !starts_with_brace(body, n)) {
        e = ecred_buf_set(&tmp, body, n);
        goto out;
    }

    /* Duplicates refused: {"qr": A, "qr": B} must not mean whichever one a
     * parser keeps. jansson refuses "\u0000" in strings by default, so the
     * text never holds a NUL a raw body could not. */
    json_error_t jerr;
    json_t *o = json_loadb((const char *)body, n, JSON_REJECT_DUPLICATES, &jerr);
    json_t *qr = json_object_get(o, "qr");
    json_t *ch = challenge ? json_object_get(o, "challenge") : NULL;
    bool ch_ok = !ch || (json_is_string(ch) && json_string_length(ch) >= 1 &&
                         json_string_length(ch) <= VBODY_CHALLENGE_MAX &&
                         strlen(json_string_value(ch)) == json_string_length(ch));
    if (!o || !json_is_object(o) || !json_is_string(qr) || !ch_ok || json_object_size(o) != 1 + (ch != NULL)) {
        char detail[VBODY_DETAIL_MAX];
        if (!o)
            snprintf(detail, sizeof detail, "line %d column %d: %s", jerr.line, jerr.column, jerr.text);
        else if (challenge)
            snprintf(detail, sizeof detail, "%s", "the object must hold \"qr\", a string, and optionally \"challenge\", a challenge id");
        else
            snprintf(detail, sizeof detail, "%s", "the object must hold exactly one member, \"qr\", a string");
        json_decref(o);
        refuse(why, "malformed_json", detail);
        return ECRED_ERR_INPUT;
    }
    e = ecred_buf_set(&tmp, json_string_value(qr), json_string_length(qr));
    if (!e && challenge) {
        challenge[0] = 0;
        if (ch)
            memcpy(challenge, json_string_value(ch), json_string_length(ch) + 1);
    }
    json_decref(o);
out:
    if (e) {
        ecred_buf_wipe(&tmp);
        return e;
    }
    ecred_buf_wipe(text);
    *text = tmp;
    return ECRED_OK;
}
