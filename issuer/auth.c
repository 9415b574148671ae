/*
 * auth.c - tokens, roles and tracking codes (see auth.h).
 *
 * Must never: log, store or return a token or tracking code except the one
 * time a token is created; compare secrets with memcmp/strcmp.
 */
#include "auth.h"

#include <string.h>
#include <time.h>

#include "ecred/crypto.h"

unsigned auth_role_from_name(const char *name)
{
    if (!name)
        return 0;
    if (strcmp(name, "clerk") == 0)
        return ROLE_CLERK;
    if (strcmp(name, "officer") == 0)
        return ROLE_OFFICER;
    if (strcmp(name, "admin") == 0)
        return ROLE_ADMIN;
    return 0;
}

const char *auth_role_name(unsigned role)
{
    switch (role) {
    case ROLE_CLERK: return "clerk";
    case ROLE_OFFICER: return "officer";
    case ROLE_ADMIN: return "admin";
    default: return "none";
    }
}

typedef struct token_add_job {
    const uint8_t *hash;
    const char *role;
    const char *label;
    int64_t expires_at;
    int64_t now;
} token_add_job;

/* reg_write fn: the token row and its audit entry, one transaction. */
static ecred_err token_add_write(reg_db *db, void *ctx)
{
    const token_add_job *j = ctx;
    return reg_token_add_labeled(db, j->hash, j->role, j->label, j->expires_at, j->now);
}

ecred_err auth_token_create(reg_db *db, const char *role, char out[AUTH_TOKEN_HEX + 1])
{
    return auth_token_create_labeled(db, role, "", 0, out);
}

ecred_err auth_token_create_labeled(reg_db *db, const char *role, const char *label,
                                    int64_t expires_at, char out[AUTH_TOKEN_HEX + 1])
{
    if (!auth_role_from_name(role))
        return ECRED_ERR_INPUT;
    uint8_t tok[AUTH_TOKEN_BYTES], hash[32];
    char hex[AUTH_TOKEN_HEX + 1];
    ecred_err e = ecred_random(tok, sizeof tok);
    if (e)
        goto out;
    ecred_hex(tok, sizeof tok, hex);
    /* Hash the text form: that is what a client presents. */
    ecred_sha256((const uint8_t *)hex, AUTH_TOKEN_HEX, hash);
    token_add_job job = {hash, role, label, expires_at, (int64_t)time(NULL)};
    bool failed = false;
    e = reg_write(db, token_add_write, &job, &failed);
    if (e)
        goto out;
    memcpy(out, hex, sizeof hex);
out:
    ecred_wipe(tok, sizeof tok);
    ecred_wipe(hex, sizeof hex);
    return e;
}

/* Whether c is a lower-case or upper-case hex digit. */
static bool auth_is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

ecred_err auth_bearer(reg_db *db, const char *header, unsigned *role, char actor[24])
{
    static const char scheme[] = "Bearer ";
    if (!header || strncmp(header, scheme, sizeof scheme - 1) != 0)
        return ECRED_ERR_KEY_UNKNOWN;
    const char *t = header + sizeof scheme - 1;
    if (strlen(t) != AUTH_TOKEN_HEX)
        return ECRED_ERR_KEY_UNKNOWN;
    char lower[AUTH_TOKEN_HEX];
    for (size_t i = 0; i < AUTH_TOKEN_HEX; i++) {
        if (!auth_is_hex(t[i]))
            return ECRED_ERR_KEY_UNKNOWN;
        lower[i] = (char)(t[i] >= 'A' && t[i] <= 'F' ? t[i] - 'A' + 'a' : t[i]);
    }
    uint8_t hash[32];
    ecred_sha256((const uint8_t *)lower, sizeof lower, hash);
    ecred_wipe(lower, sizeof lower);
    char name[16];
    ecred_err e = reg_token_role(db, hash, name);
    if (e)
        return e;
    unsigned r = auth_role_from_name(name);
    if (!r)
        return ECRED_ERR_KEY_UNKNOWN;
    char hx[65];
    ecred_hex(hash, 32, hx);
    memcpy(actor, "token:", 6);
    memcpy(actor + 6, hx, 8);
    actor[14] = 0;
    *role = r;
    return ECRED_OK;
}

ecred_err auth_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t n,
                           uint8_t out[32])
{
    if (n > AUTH_HMAC_MSG_MAX)
        return ECRED_ERR_ARG;
    return ecred_hmac_sha256(key, key_len, msg, n, out);
}

/* The tracking code's hex into out; the library's failure (out of memory, a
 * broken provider) is reported rather than leaving the MAC uninitialised. */
static ecred_err auth_tracking_hex(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                                   char out[AUTH_TRACKING_HEX + 1])
{
    char msg[64];
    size_t idlen = strnlen(app_id, 40);
    memcpy(msg, "ecred-tracking:", 15);
    memcpy(msg + 15, app_id, idlen);
    uint8_t mac[32];
    /* The message is at most 55 bytes, under AUTH_HMAC_MSG_MAX. */
    ecred_err e = auth_hmac_sha256(secret, AUTH_SECRET_BYTES, (const uint8_t *)msg, 15 + idlen, mac);
    if (!e)
        ecred_hex(mac, AUTH_TRACKING_HEX / 2, out);
    ecred_wipe(mac, sizeof mac);
    return e;
}

void auth_tracking_code(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                        char out[AUTH_TRACKING_HEX + 1])
{
    /* On failure an empty code: shown as "", it matches nothing. */
    if (auth_tracking_hex(secret, app_id, out) != ECRED_OK)
        out[0] = 0;
}

bool auth_tracking_ok(const uint8_t secret[AUTH_SECRET_BYTES], const char *app_id,
                      const char *presented)
{
    if (!presented || strlen(presented) != AUTH_TRACKING_HEX)
        return false;
    char want[AUTH_TRACKING_HEX + 1];
    if (auth_tracking_hex(secret, app_id, want) != ECRED_OK)
        return false; /* fail closed */
    unsigned diff = 0;
    for (size_t i = 0; i < AUTH_TRACKING_HEX; i++)
        diff |= (unsigned)(want[i] ^ presented[i]);
    ecred_wipe(want, sizeof want);
    return diff == 0;
}
