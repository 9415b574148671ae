/*
 * issue_cli.c - ecred-issue: sign one credential offline from application
 * JSON and print the QR text (optionally the QR as PNG, SVG or in the
 * terminal). The daemon (ecred-issuerd) uses the same common/ calls; this
 * CLI exists for demos, test vectors and air-gapped issuance.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ecred/credential.h"
#include "ecred/issue.h"
#include "ecred/crypto.h"
#include "ecred/qr.h"
#include "ecred/qrtext.h"
#include "ecred/version.h"

#define EXIT_USAGE 2
#define DEFAULT_ISS "https://jzz.sh.gov.cn"

static void usage(FILE *f)
{
    fputs("usage: ecred-issue --key FILE --in APPLICATION.json [options]\n"
          "       ecred-issue --render TEXT [--png OUT] [--svg OUT] [--terminal] [--ecc M|Q]\n"
          "\n"
          "Signs a residence credential (居住登记凭证 or 居住证) and prints its QR text.\n"
          "\n"
          "  --key FILE          issuer private key (PKCS#8 PEM, mode 0600)\n"
          "  --in FILE           credential JSON (spec/credential.md section 5; - for stdin)\n"
          "  --png FILE          also write the QR code as PNG\n"
          "  --svg FILE          also write the QR code as SVG\n"
          "  --terminal          also draw the QR code on stderr\n"
          "  --ecc M|Q           QR error correction level (default M)\n"
          "  --iss TEXT          issuer (default " DEFAULT_ISS ")\n"
          "  --status-uri URI    status list URI (with --status-idx)\n"
          "  --status-idx N      index in that status list\n"
          "  --holder-key FILE   holder device public key (P-256 PEM) to bind (cnf)\n"
          "  --holder-key-uncompressed  write cnf's y whole (32 bytes), not its sign\n"
          "                      bit (measurement and interop tests only)\n"
          "  --iat RFC3339       issued-at time (default now)\n"
          "  --cti HEX           credential serial, 1..16 bytes (default 8 random bytes)\n"
          "  --compress MODE     auto (default: the shorter of none and dict), none, dict,\n"
          "                      zlib (no dictionary; for measurement only)\n"
          "  --cose-out FILE     also write the COSE_Sign1 bytes\n"
          "  --render TEXT       draw already-issued QR text (- for stdin); signs nothing\n"
          "  -h, --help          this help\n"
          "\n"
          "Exit status: 0 issued; 1 I/O or internal error; 2 invalid usage or input.\n",
          f);
}

/* Print "PROGRAM: message" on stderr and return code, for `return fail(...)`. */
__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ecred-issue: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* Strict unsigned decimal: digits only, no sign, no overflow. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int write_out(const char *path, const ecred_buf *b)
{
    if (ecred_write_file_atomic(path, b->ptr, b->len, 0644) != ECRED_OK)
        return fail(1, "cannot write %s", path);
    return 0;
}

/* Draw text as PNG, SVG and/or terminal QR; 0 or an exit code. */
static int draw(const char *text, size_t n, const char *png, const char *svg, bool terminal,
                ecred_qr_ecc ecc)
{
    ecred_qr qr = {0, 0, NULL};
    ecred_buf img = ECRED_BUF_INIT;
    int rc = 0;
    ecred_err e = ecred_qr_encode(text, n, ecc, &qr);
    if (e)
        return fail(e == ECRED_ERR_TOO_LARGE || e == ECRED_ERR_INPUT ? EXIT_USAGE : 1,
                    "cannot make a QR code: %s", ecred_err_message(e));
    if (png && (ecred_qr_png(&qr, 6, 4, &img) != ECRED_OK || write_out(png, &img) != 0))
        rc = fail(1, "cannot write PNG %s", png);
    if (!rc && svg && (ecred_qr_svg(&qr, 4, &img) != ECRED_OK || write_out(svg, &img) != 0))
        rc = fail(1, "cannot write SVG %s", svg);
    if (!rc && terminal) {
        if (ecred_qr_utf8(&qr, 2, &img) != ECRED_OK)
            rc = fail(1, "%s", "cannot draw the QR code");
        else
            fwrite(img.ptr, 1, img.len, stderr);
    }
    if (!rc)
        fprintf(stderr, "ecred-issue: %zu characters, QR version %d at ECC %s\n", n, qr.version,
                ecc == ECRED_QR_ECC_M ? "M" : "Q");
    ecred_qr_free(&qr);
    ecred_buf_free(&img);
    return rc;
}

static int render_only(const char *arg, const char *png, const char *svg, bool terminal,
                       ecred_qr_ecc ecc)
{
    ecred_buf text = ECRED_BUF_INIT;
    ecred_err e = strcmp(arg, "-") == 0 ? ecred_read_fd(0, ECRED_QR_TEXT_MAX + 2, &text)
                                        : ecred_buf_set(&text, arg, strlen(arg));
    if (e) {
        ecred_buf_free(&text);
        return fail(e == ECRED_ERR_TOO_LARGE ? EXIT_USAGE : 1, "%s", "cannot read the text to render");
    }
    while (text.len && (text.ptr[text.len - 1] == '\n' || text.ptr[text.len - 1] == '\r'))
        text.len--;
    ecred_buf_terminate(&text);
    int rc = text.len ? draw((const char *)text.ptr, text.len, png, svg, terminal, ecc)
                      : fail(EXIT_USAGE, "%s", "nothing to render");
    ecred_buf_free(&text);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},      {"in", required_argument, NULL, 'i'},
        {"png", required_argument, NULL, 'p'},      {"svg", required_argument, NULL, 's'},
        {"terminal", no_argument, NULL, 't'},       {"ecc", required_argument, NULL, 'e'},
        {"iss", required_argument, NULL, 'I'},      {"status-uri", required_argument, NULL, 'u'},
        {"status-idx", required_argument, NULL, 'x'}, {"holder-key", required_argument, NULL, 'H'},
        {"iat", required_argument, NULL, 'a'},      {"cti", required_argument, NULL, 'c'},
        {"compress", required_argument, NULL, 'z'}, {"cose-out", required_argument, NULL, 'o'},
        {"render", required_argument, NULL, 'r'},  {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"holder-key-uncompressed", no_argument, NULL, 'U'}, {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *in_path = NULL, *png = NULL, *svg = NULL, *iss = DEFAULT_ISS;
    const char *status_uri = NULL, *status_idx = NULL, *holder = NULL, *iat_s = NULL, *cti_s = NULL;
    const char *cose_path = NULL, *render = NULL;
    bool terminal = false, holder_full = false;
    ecred_qr_ecc ecc = ECRED_QR_ECC_M;
    ecred_compress mode = ECRED_COMPRESS_AUTO;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'i': in_path = optarg; break;
        case 'p': png = optarg; break;
        case 's': svg = optarg; break;
        case 't': terminal = true; break;
        case 'I': iss = optarg; break;
        case 'u': status_uri = optarg; break;
        case 'x': status_idx = optarg; break;
        case 'H': holder = optarg; break;
        case 'U': holder_full = true; break;
        case 'a': iat_s = optarg; break;
        case 'c': cti_s = optarg; break;
        case 'o': cose_path = optarg; break;
        case 'r': render = optarg; break;
        case 'e':
            if (strcmp(optarg, "M") == 0) ecc = ECRED_QR_ECC_M;
            else if (strcmp(optarg, "Q") == 0) ecc = ECRED_QR_ECC_Q;
            else return fail(EXIT_USAGE, "--ecc must be M or Q, not '%s'", optarg);
            break;
        case 'z':
            if (strcmp(optarg, "auto") == 0) mode = ECRED_COMPRESS_AUTO;
            else if (strcmp(optarg, "none") == 0) mode = ECRED_COMPRESS_NONE;
            else if (strcmp(optarg, "dict") == 0) mode = ECRED_COMPRESS_DICT;
            else if (strcmp(optarg, "zlib") == 0) mode = ECRED_COMPRESS_PLAIN;
            else return fail(EXIT_USAGE, "--compress must be auto, none, dict or zlib, not '%s'", optarg);
            break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ecred-issue %s\n", ECRED_VERSION); return 0;
        case ':': return fail(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
        default: return fail(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return fail(EXIT_USAGE, "unexpected argument '%s' (see --help)", argv[optind]);
    if (render) {
        if (key_path || in_path || !(png || svg || terminal))
            return fail(EXIT_USAGE, "%s", "--render takes --png/--svg/--terminal and no --key or --in");
        return render_only(render, png, svg, terminal, ecc);
    }
    if (!key_path)
        return fail(EXIT_USAGE, "%s", "--key FILE is required (see --help)");
    if (!in_path)
        return fail(EXIT_USAGE, "%s", "--in FILE is required (see --help)");
    if (!status_uri != !status_idx)
        return fail(EXIT_USAGE, "%s", "--status-uri and --status-idx go together");

    ecred_claims claims;
    memset(&claims, 0, sizeof claims);
    if (strlen(iss) > ECRED_ISS_MAX || !*iss)
        return fail(EXIT_USAGE, "--iss must be 1..%s bytes", "64");
    memcpy(claims.iss, iss, strlen(iss) + 1);
    if (status_uri) {
        if (strlen(status_uri) > ECRED_URI_MAX || !*status_uri)
            return fail(EXIT_USAGE, "--status-uri must be 1..%s bytes", "128");
        memcpy(claims.status_uri, status_uri, strlen(status_uri) + 1);
        if (parse_u64(status_idx, &claims.status_idx) != 0 || claims.status_idx > INT64_MAX)
            return fail(EXIT_USAGE, "--status-idx '%s' is not a non-negative integer", status_idx);
        claims.has_status = true;
    }
    if (iat_s) {
        if (ecred_time_parse(iat_s, &claims.iat) != ECRED_OK || claims.iat < 0)
            return fail(EXIT_USAGE, "--iat '%s' is not an RFC 3339 time (2026-11-26T10:00:00+08:00)", iat_s);
    } else {
        claims.iat = (int64_t)time(NULL);
    }
    if (cti_s) {
        size_t n = strlen(cti_s);
        if (n == 0 || n % 2 || n / 2 > ECRED_CTI_MAX ||
            ecred_unhex(cti_s, n, claims.cti, n / 2) != ECRED_OK)
            return fail(EXIT_USAGE, "--cti '%s' must be 2..32 hex digits", cti_s);
        claims.cti_len = n / 2;
    } else {
        claims.cti_len = 8;
        if (ecred_random(claims.cti, 8) != ECRED_OK)
            return fail(1, "%s", "no random bytes available");
    }

    int rc = 1;
    ecred_key *key = NULL;
    ecred_buf json = ECRED_BUF_INIT, text = ECRED_BUF_INIT, cose = ECRED_BUF_INIT;
    ecred_field_error field;

    ecred_err e = strcmp(in_path, "-") == 0 ? ecred_read_fd(0, 65536, &json)
                                             : ecred_read_file(in_path, 65536, &json);
    if (e) {
        rc = fail(EXIT_USAGE, "cannot read application JSON %s", in_path);
        goto out;
    }
    e = ecred_credential_from_json((const char *)json.ptr, json.len, &claims.cred, &field);
    if (e) {
        fprintf(stderr, "ecred-issue: invalid application: field '%s' %s%s (%s)\n", field.field,
                field.kind == ECRED_FIELD_MISSING   ? "is missing: "
                : field.kind == ECRED_FIELD_UNKNOWN ? "is unknown: "
                                                    : "is invalid: ",
                field.why, in_path);
        rc = EXIT_USAGE;
        goto out;
    }
    if (holder) {
        ecred_key *hk = NULL;
        e = ecred_key_public_load(holder, &hk);
        if (!e && ecred_key_alg(hk) != ECRED_COSE_ALG_ES256)
            e = ECRED_ERR_KEY_INVALID;
        if (!e)
            e = ecred_key_ec2_compressed(hk, claims.cnf_x, &claims.cnf_y_sign);
        /* The uncompressed form is for measurement and interop tests only
         * (spec/credential.md 4.2: ecred issues the compressed point). */
        if (!e && holder_full && (e = ecred_key_ec2_uncompressed(hk, claims.cnf_x, claims.cnf_y)) == ECRED_OK)
            claims.cnf_has_y = true;
        ecred_key_free(hk);
        if (e) {
            rc = fail(EXIT_USAGE, "--holder-key %s: not a readable P-256 public key", holder);
            goto out;
        }
        claims.has_cnf = true;
    }
    e = ecred_key_open(key_path, &key);
    if (e) {
        fprintf(stderr, "ecred-issue: %s: %s\n", key_path,
                e == ECRED_ERR_KEY_PERMISSIONS ? "private key file is readable by group or others; run chmod 600 on it"
                                               : ecred_err_message(e));
        rc = e == ECRED_ERR_IO ? 1 : EXIT_USAGE;
        goto out;
    }
    e = ecred_issue_sign(key, &claims, mode, &text, &cose);
    if (e) {
        fprintf(stderr, "ecred-issue: cannot issue: %s\n", ecred_err_message(e));
        rc = e == ECRED_ERR_CLAIMS ? EXIT_USAGE : 1;
        goto out;
    }
    printf("%s\n", (const char *)text.ptr);
    if (cose_path && (rc = write_out(cose_path, &cose)) != 0)
        goto out;
    if ((png || svg || terminal) && (rc = draw((const char *)text.ptr, text.len, png, svg, terminal, ecc)) != 0)
        goto out;
    rc = 0;
out:
    ecred_key_free(key);
    ecred_buf_wipe(&json);
    ecred_buf_free(&text);
    ecred_buf_free(&cose);
    return rc;
}
