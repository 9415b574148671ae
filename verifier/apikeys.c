/*
 * apikeys.c - API key store of ecred-verifierd (apikeys.h). Keys are 32
 * random bytes; only SHA-256 of the key text is written, so a copy of the
 * cache directory hands out no access. Must never: write or log a key.
 */
#include "apikeys.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "vutil.h"

#define KEYS_FILE "api-keys"

static bool keys_path(const char *dir, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s", dir, KEYS_FILE);
    return n > 0 && (size_t)n < cap;
}

/* The policy of role with holder setting (NULL or "": the role's default). */
static ecred_err key_policy(vrole role, const char *setting, ecred_holder_policy *out)
{
    return ecred_present_policy(vrole_name(role), setting && setting[0] ? setting : NULL, out);
}

/* A label we write and accept: printable bytes (UTF-8 allowed), no control
 * characters, not "-" alone (that means none), not a holder setting, within
 * the cap. */
static bool label_ok(const char *l)
{
    size_t n = strlen(l);
    if (n > VKEY_LABEL_MAX || strcmp(l, "-") == 0 || strncmp(l, "holder=", 7) == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)l[i] < 0x20 || l[i] == 0x7f)
            return false;
    return true;
}

/* Parse one line "v1 ID HASH ROLE FIELDS [holder=SETTING]" or "v2 ID HASH
 * ROLE FIELDS EXPIRES [holder=SETTING] LABEL" into *k. */
static ecred_err parse_line(char *line, vkey *k)
{
    char *save = NULL;
    char *ver = strtok_r(line, " ", &save);
    bool v2 = ver && strcmp(ver, "v2") == 0;
    char *id = strtok_r(NULL, " ", &save), *hash = strtok_r(NULL, " ", &save),
         *role = strtok_r(NULL, " ", &save), *fields = strtok_r(NULL, " ", &save);
    char *expires = v2 ? strtok_r(NULL, " ", &save) : NULL;
    char *holder = NULL, *label = NULL, *extra = NULL;
    if (v2) {
        /* An optional holder token, then the label: the rest of the line,
         * spaces included. */
        if (save && strncmp(save, "holder=", 7) == 0)
            holder = strtok_r(NULL, " ", &save);
        label = save;
    } else {
        holder = strtok_r(NULL, " ", &save);
        extra = strtok_r(NULL, " ", &save);
    }
    if (holder && strncmp(holder, "holder=", 7) != 0)
        return ECRED_ERR_INPUT;
    if (!ver || (!v2 && strcmp(ver, "v1") != 0) || !id || strlen(id) != 8 || !hash || !role || !fields ||
        extra || (v2 && (!expires || !label || !*label)))
        return ECRED_ERR_INPUT;
    memset(k, 0, sizeof *k);
    memcpy(k->id, id, 9);
    if (ecred_unhex(hash, strlen(hash), k->hash, sizeof k->hash) != ECRED_OK ||
        vrole_parse(role, &k->role) != ECRED_OK)
        return ECRED_ERR_INPUT;
    if (v2) {
        if (strcmp(expires, "-") != 0) {
            size_t n = strlen(expires);
            if (n == 0 || n > 12)
                return ECRED_ERR_INPUT;
            for (size_t i = 0; i < n; i++) {
                if (expires[i] < '0' || expires[i] > '9')
                    return ECRED_ERR_INPUT;
                k->expires_at = k->expires_at * 10 + (expires[i] - '0');
            }
        }
        if (strcmp(label, "-") != 0) {
            if (!label_ok(label))
                return ECRED_ERR_INPUT;
            memcpy(k->label, label, strlen(label) + 1);
        }
    }
    if (k->role == VROLE_AGENCY) {
        char bad[80];
        if (vroles_check_fields(fields, bad, sizeof bad) != ECRED_OK)
            return ECRED_ERR_INPUT;
        memcpy(k->fields, fields, strlen(fields) + 1);
    } else if (strcmp(fields, "-") != 0) {
        return ECRED_ERR_INPUT;
    }
    if (holder) {
        if (strlen(holder + 7) >= sizeof k->holder)
            return ECRED_ERR_INPUT;
        memcpy(k->holder, holder + 7, strlen(holder + 7) + 1);
    }
    return key_policy(k->role, k->holder, &k->policy) == ECRED_OK ? ECRED_OK : ECRED_ERR_INPUT;
}

ecred_err vkeys_load(const char *dir, vkeys *out)
{
    char p[VCACHE_PATH_MAX];
    if (!keys_path(dir, p, sizeof p))
        return ECRED_ERR_INPUT;
    ecred_buf b = ECRED_BUF_INIT;
    vkeys k = {NULL, 0};
    FILE *f = fopen(p, "r");
    if (!f) {
        *out = k;
        return ECRED_OK;
    }
    fclose(f);
    ecred_err e = ecred_read_file(p, VKEYS_FILE_MAX, &b);
    if (!e)
        e = ecred_buf_terminate(&b);
    if (e)
        goto out;
    k.keys = calloc(VKEYS_MAX, sizeof *k.keys);
    if (!k.keys) {
        e = ECRED_ERR_NOMEM;
        goto out;
    }
    char *save = NULL;
    for (char *line = strtok_r((char *)b.ptr, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (k.n == VKEYS_MAX) {
            e = ECRED_ERR_TOO_LARGE;
            goto out;
        }
        if ((e = parse_line(line, &k.keys[k.n])) != ECRED_OK)
            goto out;
        k.n++;
    }
    *out = k;
    k.keys = NULL;
out:
    free(k.keys);
    ecred_buf_free(&b);
    return e;
}

void vkeys_free(vkeys *k)
{
    free(k->keys);
    k->keys = NULL;
    k->n = 0;
}

/* True when the file text b (NUL-terminated) has a line for key id `id`. */
static bool has_id(const ecred_buf *b, const char *id)
{
    char pat[16];
    const char *t = b->ptr ? (const char *)b->ptr : "";
    for (int v = 1; v <= 2; v++) {
        snprintf(pat, sizeof pat, "v%d %.8s ", v, id);
        for (const char *hit = strstr(t, pat); hit; hit = strstr(hit + 1, pat))
            if (hit == t || hit[-1] == '\n')
                return true;
    }
    return false;
}

ecred_err vkeys_add(const char *dir, vrole role, const char *fields, char key[VKEY_TEXT_LEN + 1], char id[9])
{
    return vkeys_add_full(dir, role, fields, NULL, NULL, 0, key, id);
}

ecred_err vkeys_add_holder(const char *dir, vrole role, const char *fields, const char *holder,
                           char key[VKEY_TEXT_LEN + 1], char id[9])
{
    return vkeys_add_full(dir, role, fields, holder, NULL, 0, key, id);
}

ecred_err vkeys_add_labeled(const char *dir, vrole role, const char *fields, const char *label,
                            int64_t expires_at, char key[VKEY_TEXT_LEN + 1], char id[9])
{
    return vkeys_add_full(dir, role, fields, NULL, label, expires_at, key, id);
}

ecred_err vkeys_add_full(const char *dir, vrole role, const char *fields, const char *holder,
                         const char *label, int64_t expires_at, char key[VKEY_TEXT_LEN + 1], char id[9])
{
    ecred_holder_policy pol;
    if (key_policy(role, holder, &pol) != ECRED_OK || (holder && strlen(holder) > 11))
        return ECRED_ERR_INPUT;
    if (label && *label && !label_ok(label))
        return ECRED_ERR_INPUT;
    if (expires_at < 0)
        return ECRED_ERR_INPUT;
    char p[VCACHE_PATH_MAX];
    if (!keys_path(dir, p, sizeof p))
        return ECRED_ERR_INPUT;
    uint8_t raw[32], h[32];
    char text[VKEY_TEXT_LEN + 1], hx[65], line[VROLE_FIELDS_MAX + VKEY_LABEL_MAX + 160];
    ecred_buf b = ECRED_BUF_INIT;
    int lock = -1;
    ecred_err e;
    /* Read-modify-write under the cache's writer lock so two adds never
     * lose one another. */
    if ((e = vcache_lock(dir, &lock)) != ECRED_OK)
        goto out;
    e = ecred_read_file(p, VKEYS_FILE_MAX, &b);
    if (e == ECRED_ERR_IO) {
        FILE *f = fopen(p, "r");
        if (f) {
            fclose(f);
            goto out; /* exists but unreadable: do not replace it */
        }
        e = ECRED_OK;
    }
    if (!e)
        e = ecred_buf_terminate(&b);
    /* Ids name keys in logs and in `key remove`: draw again on the rare
     * clash of a 32-bit id so that every id names one key. */
    for (int tries = 0; !e; tries++) {
        if (tries == 8) {
            e = ECRED_ERR_INTERNAL;
            break;
        }
        if ((e = ecred_random(raw, sizeof raw)) != ECRED_OK)
            break;
        memcpy(text, "ecv_", 4);
        ecred_hex(raw, sizeof raw, text + 4);
        ecred_wipe(raw, sizeof raw);
        ecred_sha256((const uint8_t *)text, VKEY_TEXT_LEN, h);
        ecred_hex(h, sizeof h, hx);
        if (!has_id(&b, hx))
            break;
    }
    if (!e) {
        const char *hs = holder && holder[0] ? " holder=" : "", *hv = holder && holder[0] ? holder : "";
        /* Keys without label and expiry keep the v1 line older builds read. */
        if ((label && *label) || expires_at) {
            char exp[24] = "-";
            if (expires_at)
                snprintf(exp, sizeof exp, "%lld", (long long)expires_at);
            snprintf(line, sizeof line, "v2 %.8s %s %s %s %s%s%s %s\n", hx, hx, vrole_name(role),
                     role == VROLE_AGENCY ? fields : "-", exp, hs, hv, label && *label ? label : "-");
        } else {
            snprintf(line, sizeof line, "v1 %.8s %s %s %s%s%s\n", hx, hx, vrole_name(role),
                     role == VROLE_AGENCY ? fields : "-", hs, hv);
        }
        e = ecred_buf_append(&b, line, strlen(line));
    }
    if (!e && b.len > VKEYS_FILE_MAX)
        e = ECRED_ERR_TOO_LARGE;
    if (!e)
        e = ecred_write_file_atomic(p, b.ptr, b.len, 0600);
    if (!e) {
        memcpy(key, text, sizeof text);
        memcpy(id, hx, 8);
        id[8] = 0;
    }
out:
    vcache_unlock(lock);
    ecred_wipe(text, sizeof text);
    ecred_buf_free(&b);
    return e;
}

bool vkeys_id_ok(const char *id)
{
    if (strlen(id) != 8)
        return false;
    for (size_t i = 0; i < 8; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
            return false;
    return true;
}

ecred_err vkeys_remove(const char *dir, const char *id, size_t *removed)
{
    char p[VCACHE_PATH_MAX];
    if (!vkeys_id_ok(id) || !keys_path(dir, p, sizeof p))
        return ECRED_ERR_INPUT;
    ecred_buf in = ECRED_BUF_INIT, kept = ECRED_BUF_INIT;
    int lock = -1;
    size_t gone = 0;
    ecred_err e = vcache_lock(dir, &lock);
    if (e)
        goto out;
    e = ecred_read_file(p, VKEYS_FILE_MAX, &in);
    if (e == ECRED_ERR_IO) {
        FILE *f = fopen(p, "r");
        if (!f) /* no file: no keys, nothing to remove */
            e = ECRED_OK;
        else
            fclose(f);
        goto out;
    }
    if (e)
        goto out;
    /* Every line is checked as vkeys_load would: a file we do not fully
     * understand is not rewritten. Blank lines are dropped, as load skips them. */
    size_t pos = 0;
    while (!e && pos < in.len) {
        const uint8_t *nl = memchr(in.ptr + pos, '\n', in.len - pos);
        size_t len = nl ? (size_t)(nl - (in.ptr + pos)) : in.len - pos;
        char line[VROLE_FIELDS_MAX + VKEY_LABEL_MAX + 160];
        vkey k;
        if (len >= sizeof line) {
            e = ECRED_ERR_INPUT;
            break;
        }
        if (len > 0) {
            memcpy(line, in.ptr + pos, len);
            line[len] = 0;
            if (memchr(line, 0, len) || (e = parse_line(line, &k)) != ECRED_OK) {
                e = ECRED_ERR_INPUT;
                break;
            }
            if (strcmp(k.id, id) == 0)
                gone++;
            else if ((e = ecred_buf_append(&kept, in.ptr + pos, len)) == ECRED_OK)
                e = ecred_buf_append(&kept, "\n", 1);
        }
        pos += len + 1;
    }
    if (!e && gone > 0)
        e = ecred_write_file_atomic(p, kept.ptr ? (const void *)kept.ptr : "", kept.len, 0600);
out:
    if (!e)
        *removed = gone;
    vcache_unlock(lock);
    ecred_buf_free(&in);
    ecred_buf_free(&kept);
    return e;
}

const vkey *vkeys_check(const vkeys *k, const char *presented, size_t n)
{
    if (n != VKEY_TEXT_LEN)
        return NULL;
    uint8_t h[32];
    ecred_sha256((const uint8_t *)presented, n, h);
    const vkey *hit = NULL;
    for (size_t i = 0; i < k->n; i++)
        if (vutil_equal_ct(h, k->keys[i].hash, sizeof h))
            hit = &k->keys[i];
    /* An expired key is refused like an unknown one (the daemon's reply is
     * the same 401: nothing to learn about which keys once existed). */
    if (hit && hit->expires_at && hit->expires_at <= (int64_t)time(NULL))
        return NULL;
    return hit;
}
