/*
 * svc_log.c - JSON log lines (see svc_log.h).
 *
 * Must never: write a line in more than one write(2), pass a byte from its
 * arguments through unescaped, or fail loudly (a log that cannot be written
 * is dropped; the request it describes is not affected).
 */
#include "svc_log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *svc_daemon = "ecred";

void svc_log_init(const char *daemon)
{
    svc_daemon = daemon;
}

const char *svc_level_name(svc_level level)
{
    return level == SVC_ERROR ? "error" : level == SVC_WARNING ? "warning" : "info";
}

void svc_log_timestamp(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Length of the valid UTF-8 sequence at p (1..4), or 0 when it is not one
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (len == 0 || c > 0xF4 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if (len == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)))
        return 0;
    if (len == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)))
        return 0;
    return len;
}

ecred_err svc_json_quote(ecred_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    ecred_err e = ecred_buf_append(b, "\"", 1);
    for (size_t i = 0; e == ECRED_OK && i < n;) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            e = ecred_buf_append(b, esc, 2);
            i++;
        } else if (c < 0x20 || c == 0x7F) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            e = ecred_buf_append(b, esc, 6);
            i++;
        } else {
            size_t len = utf8_seq(p + i, n - i);
            if (len == 0) {
                e = ecred_buf_append(b, "\\ufffd", 6);
                i++;
            } else {
                e = ecred_buf_append(b, p + i, len);
                i += len;
            }
        }
    }
    if (e == ECRED_OK)
        e = ecred_buf_append(b, "\"", 1);
    return e;
}

void svc_log_emit(ecred_buf *b)
{
    if (ecred_buf_append(b, "\n", 1) == ECRED_OK) {
        ssize_t w = write(STDERR_FILENO, b->ptr, b->len);
        (void)w; /* nothing sensible to do when stderr is gone */
    }
    ecred_buf_free(b);
}

/* Append "key":"value" with a leading comma. */
static ecred_err kv_append(ecred_buf *b, const char *key, const char *value)
{
    ecred_err e = ecred_buf_append(b, ",", 1);
    if (!e)
        e = svc_json_quote(b, key, strlen(key));
    if (!e)
        e = ecred_buf_append(b, ":", 1);
    if (!e)
        e = svc_json_quote(b, value, strlen(value));
    return e;
}

void svc_logv(svc_level level, const char *msg, const char *const *kv, size_t n_kv)
{
    char ts[32];
    svc_log_timestamp(ts);
    ecred_buf b = ECRED_BUF_INIT;
    ecred_err e = ecred_buf_reserve(&b, 256);
    if (!e)
        e = ecred_buf_append(&b, "{\"ts\":\"", 7);
    if (!e)
        e = ecred_buf_append(&b, ts, strlen(ts));
    if (!e)
        e = ecred_buf_append(&b, "\"", 1);
    if (!e)
        e = kv_append(&b, "level", svc_level_name(level));
    if (!e)
        e = kv_append(&b, "daemon", svc_daemon);
    if (!e)
        e = kv_append(&b, "msg", msg);
    for (size_t i = 0; !e && i < n_kv; i++)
        if (kv[2 * i] && kv[2 * i + 1])
            e = kv_append(&b, kv[2 * i], kv[2 * i + 1]);
    if (!e)
        e = ecred_buf_append(&b, "}", 1);
    if (e) {
        ecred_buf_free(&b);
        return;
    }
    svc_log_emit(&b);
}

void svc_log(svc_level level, const char *msg, const char *key, const char *value)
{
    const char *kv[2] = {key, value};
    svc_logv(level, msg, kv, key ? 1 : 0);
}
