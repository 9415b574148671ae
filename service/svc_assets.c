/*
 * svc_assets.c - static files by exact name (see svc_assets.h).
 *
 * Must never: open a file at request time, follow a symlink when loading a
 * folder, serve a name not in the table, or serve without the security
 * headers.
 */
#include "svc_assets.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecred/crypto.h"

typedef struct svc_file {
    char name[SVC_ASSET_NAME_MAX + 1];
    const uint8_t *data; /* embedded bytes, or owned.ptr */
    size_t len;
    ecred_buf owned;
    char etag[72];
    const char *ctype;
} svc_file;

struct svc_assets {
    svc_file *files;
    size_t n;
    size_t bytes;
};

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

const char *svc_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".wasm", "application/wasm"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (ends_with(name, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

/* Whether a table name is acceptable: relative, no empty, "." or ".."
 * segment, only [A-Za-z0-9._-/]. */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SVC_ASSET_NAME_MAX || name[0] == '/' || name[n - 1] == '/')
        return false;
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p == '/' || *p == 0) {
            size_t len = (size_t)(p - seg);
            if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
                return false;
            if (*p == 0)
                return true;
            seg = p + 1;
            continue;
        }
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-'))
            return false;
    }
}

static ecred_err add_file(svc_assets *a, const char *name, const uint8_t *data, size_t len,
                          ecred_buf *owned)
{
    if (!name_ok(name))
        return ECRED_ERR_INPUT;
    if (a->n >= SVC_ASSETS_MAX_FILES || len > SVC_ASSETS_MAX_BYTES - a->bytes)
        return ECRED_ERR_TOO_LARGE;
    svc_file *f = &a->files[a->n];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    if (owned) {
        f->owned = *owned;
        owned->ptr = NULL;
        owned->len = owned->cap = 0;
        f->data = f->owned.ptr;
    } else {
        f->data = data;
    }
    f->len = len;
    uint8_t h[32];
    char hex[65];
    ecred_sha256(f->data ? f->data : (const uint8_t *)"", len, h);
    ecred_hex(h, 16, hex);
    snprintf(f->etag, sizeof f->etag, "\"%s\"", hex);
    f->ctype = svc_content_type(name);
    a->n++;
    a->bytes += len;
    return ECRED_OK;
}

/* Load the regular files under dir/rel, recursively, refusing symlinks. */
static ecred_err load_dir(svc_assets *a, const char *root, const char *rel, unsigned depth,
                          char *errmsg, size_t errcap)
{
    char path[4096];
    snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel);
    if (depth > 8) {
        snprintf(errmsg, errcap, "%s: folders nested too deeply", path);
        return ECRED_ERR_INPUT;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        snprintf(errmsg, errcap, "cannot open assets folder %s", path);
        return ECRED_ERR_IO;
    }
    ecred_err e = ECRED_OK;
    struct dirent *de;
    while (!e && (de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        char child_rel[SVC_ASSET_NAME_MAX + 2];
        int w = snprintf(child_rel, sizeof child_rel, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name);
        if (w < 0 || (size_t)w > SVC_ASSET_NAME_MAX) {
            snprintf(errmsg, errcap, "asset name too long under %s", path);
            e = ECRED_ERR_INPUT;
            break;
        }
        char child[4096];
        snprintf(child, sizeof child, "%s/%s", root, child_rel);
        struct stat st;
        if (lstat(child, &st) != 0) {
            snprintf(errmsg, errcap, "cannot stat %s", child);
            e = ECRED_ERR_IO;
        } else if (S_ISDIR(st.st_mode)) {
            e = load_dir(a, root, child_rel, depth + 1, errmsg, errcap);
        } else if (S_ISREG(st.st_mode)) {
            ecred_buf b = ECRED_BUF_INIT;
            e = ecred_read_file(child, SVC_ASSETS_MAX_BYTES, &b);
            if (!e)
                e = add_file(a, child_rel, NULL, b.len, &b);
            ecred_buf_free(&b);
            if (e)
                snprintf(errmsg, errcap, "cannot load %s (%s)", child, ecred_err_name(e));
        } else {
            snprintf(errmsg, errcap, "%s is not a regular file (symlinks are refused)", child);
            e = ECRED_ERR_INPUT;
        }
    }
    closedir(dir);
    return e;
}

ecred_err svc_assets_open(const svc_asset_src *embedded, size_t n, const char *dir, svc_assets **out,
                          char *errmsg, size_t errcap)
{
    svc_assets *a = calloc(1, sizeof *a);
    if (!a)
        return ECRED_ERR_NOMEM;
    a->files = calloc(SVC_ASSETS_MAX_FILES, sizeof *a->files);
    if (!a->files) {
        free(a);
        return ECRED_ERR_NOMEM;
    }
    ecred_err e = ECRED_OK;
    if (dir) {
        e = load_dir(a, dir, "", 0, errmsg, errcap);
    } else {
        for (size_t i = 0; !e && i < n; i++) {
            e = add_file(a, embedded[i].name, embedded[i].data, embedded[i].len, NULL);
            if (e)
                snprintf(errmsg, errcap, "embedded asset %s refused (%s)", embedded[i].name,
                         ecred_err_name(e));
        }
    }
    if (e) {
        svc_assets_free(a);
        return e;
    }
    *out = a;
    return ECRED_OK;
}

void svc_assets_free(svc_assets *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        ecred_buf_free(&a->files[i].owned);
    free(a->files);
    free(a);
}

size_t svc_assets_count(const svc_assets *a)
{
    return a ? a->n : 0;
}

void svc_assets_serve(const svc_assets *a, svc_req *r)
{
    char name[SVC_ASSET_NAME_MAX + 16];
    const char *rest = r->rest ? r->rest : "";
    size_t n = strlen(rest);
    if (n > SVC_ASSET_NAME_MAX) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_NOT_FOUND], NULL);
        return;
    }
    if (n == 0 || rest[n - 1] == '/')
        snprintf(name, sizeof name, "%sindex.html", rest);
    else
        snprintf(name, sizeof name, "%s", rest);
    const svc_file *f = NULL;
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->files[i].name, name) == 0) {
            f = &a->files[i];
            break;
        }
    if (!f) {
        svc_reply_error(r, &svc_layer_errors[SVC_E_NOT_FOUND], NULL);
        return;
    }
    svc_add_header(r, "Content-Security-Policy", SVC_CSP);
    svc_add_header(r, "Referrer-Policy", "no-referrer");
    r->cache_control = "no-cache";
    if (svc_etag_match(r, f->etag))
        return;
    svc_reply_bytes(r, 200, f->ctype, f->data, f->len);
}
