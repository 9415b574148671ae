/*
 * verify_cli.c - ecred-verify: check a credential's QR text or image offline
 * with explicitly trusted keys or against a synced cache (trust list and
 * status lists, optionally refreshed --online), `sync` such a cache from an
 * issuer, and `inspect` any PREFIX:+base45 COSE_Sign1.
 *
 * The decision is ecred_decide() from common/, the same call the verifier
 * daemon makes; this file only gathers input, prints and picks the exit code
 * (spec/errors.md). Must never: store or log a scanned credential.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ecred/cborin.h"
#include "ecred/cose.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/decide.h"
#include "ecred/qr.h"
#include "ecred/qrtext.h"
#include "ecred/slist.h"
#include "ecred/version.h"

#include "answer.h"
#include "cache.h"
#include "fetch.h"
#include "roles.h"
#include "status.h"
#include "sync.h"
#include "vutil.h"

#define EXIT_USAGE 2
#define DEFAULT_MAX_AGE ((int64_t)24 * 3600)
#define MAX_TRUST_KEYS 64
#define IMAGE_MAX ((size_t)32 << 20)

/* --json anywhere on the command line: every exit, errors included, prints
 * one JSON object on stdout, so scripts never parse a bare message. */
static bool g_json;

static void usage(FILE *f)
{
    fputs("usage: ecred-verify --trust-key PEM [--trust-key PEM ...] [--at RFC3339] [--json]\n"
          "                    [--role police|landlord|agency [--fields a,b,c]] (TEXT | --image FILE | -)\n"
          "       ecred-verify --cache DIR [--max-age DURATION] [--online] [--at RFC3339] [--json]\n"
          "                    [--role police|landlord|agency [--fields a,b,c]] (TEXT | --image FILE | -)\n"
          "       ecred-verify sync --issuer URL [--root ROOT.pem] --cache DIR [--sync-timeout DURATION]\n"
          "       ecred-verify inspect [--trust-key PEM] [--external-aad HEX] (TEXT | --image FILE | -)\n"
          "\n"
          "Verifies a residence credential (居住登记凭证 / 居住证) from its QR text, a photo or\n"
          "screenshot of the QR (PNG or JPEG), or standard input.\n"
          "\n"
          "  --trust-key FILE   trusted issuer key: PEM public key or X.509 certificate\n"
          "                     (PEM or DER); the kid is derived from it\n"
          "  --cache DIR        trust the keys of the trust list synced into DIR and\n"
          "                     check status against the status lists synced there\n"
          "  --max-age DURATION oldest status data that may say VALID (default 24h;\n"
          "                     90s, 15m, 24h, 7d); older data gives status_stale\n"
          "  --online           first fetch the credential's whole status list from its\n"
          "                     URI (once per ttl, with its ETag); if that fails, the\n"
          "                     cache is used under the same --max-age rule\n"
          "  --at RFC3339       decide as of this time instead of now\n"
          "  --image FILE       read the QR code from a PNG or JPEG image\n"
          "  --json             print the result as JSON (errors too: always one object)\n"
          "  --role ROLE        show only the fields ROLE may see, as the verify API does:\n"
          "                     police (all), landlord (name, masked ID number, address,\n"
          "                     validity), agency (exactly --fields a,b,c)\n"
          "  -h, --help         this help\n"
          "  --version          print the version\n"
          "\n"
          "With --trust-key alone no status is checked: a good credential reads\n"
          "\"signature valid, status not checked\", never a plain VALID. Times are shown\n"
          "in China Standard Time (+08:00); --json keeps UTC. Colour only on a terminal,\n"
          "and never with NO_COLOR set.\n"
          "\n"
          "inspect decodes any PREFIX:+base45 COSE_Sign1 (zlib or not) into JSON; with\n"
          "--trust-key it checks the signature with that key whatever the kid says and\n"
          "exits 0 only when it holds. RC1: text is judged by ecred's strict rules; any\n"
          "other prefix by other ecosystems' (untagged, kid or alg unprotected, a label\n"
          "in both buckets, ES384/ES512/PS256/RS256/EdDSA on P-384/P-521/Ed448/RSA\n"
          "keys), and \"relaxed\" names each rule that was relaxed. The holder key is\n"
          "shown as an uncompressed COSE_Key and a JWK. --external-aad adds an\n"
          "application's external_aad (hex) to the signed structure.\n"
          "\n"
          "sync fetches the trust list (checked against ROOT.pem, which the cache keeps\n"
          "after the first sync) and every status list of the issuer (checked against\n"
          "the trust list), and replaces the cache atomically; anything refused keeps\n"
          "its old copy. A list the issuer's index stops naming is kept until its exp,\n"
          "and no list older than one accepted before is taken back (DIR/highwater.json).\n"
          "--sync-timeout bounds the whole sync (default 120s): lists not reached keep\n"
          "their copies. Its exit status is the reason code of the first refusal.\n"
          "\n"
          "Exit status (reason code):\n"
          "   0 valid              1 internal or I/O error   2 invalid usage\n"
          "   3 not_our_format     4 malformed               5 unknown_key\n"
          "   6 bad_signature      7 expired                 8 not_yet_valid\n"
          "   9 revoked           10 suspended              11 status_stale\n"
          "  12 status_unavailable 18 status_index_invalid\n",
          f);
}

/* The reason word of an exit code (spec/errors.md), for JSON errors. */
static const char *exit_reason(int code)
{
    static const char *const words[] = {"ok",      "error",         "usage",         "not_our_format",
                                        "malformed", "unknown_key", "bad_signature", "expired",
                                        "not_yet_valid", "revoked", "suspended",     "status_stale",
                                        "status_unavailable"};
    return code >= 0 && (size_t)code < sizeof words / sizeof words[0] ? words[code] : "error";
}

/* Print "PROGRAM: message" on stderr and return code, for `return fail(...)`;
 * with --json also {"outcome": "error", "reason", "message", "exit_code"} on
 * stdout, so a script always gets one object. */
__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char esc[VUTIL_ESC_MAX];
    fprintf(stderr, "ecred-verify: %s\n", vutil_escape(msg, esc, sizeof esc));
    if (g_json) {
        json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:i}", "outcome", "error", "valid", 0, "reason",
                              exit_reason(code), "message", esc, "exit_code", code);
        char *t = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        if (t)
            puts(t);
        free(t);
        json_decref(o);
    }
    return code;
}

/* Colour for people: only on a terminal, never with NO_COLOR set
 * (https://no-color.org) or TERM=dumb. */
static bool use_colour(void)
{
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !(nc && nc[0]) && !(term && strcmp(term, "dumb") == 0);
}

/* The QR text from the one input the user named: argument, image or stdin. */
static int read_input(const char *text, const char *image, ecred_buf *out)
{
    ecred_err e;
    if (image) {
        ecred_buf img = ECRED_BUF_INIT;
        e = ecred_read_file(image, IMAGE_MAX, &img);
        if (e) {
            return fail(e == ECRED_ERR_TOO_LARGE ? EXIT_USAGE : 1, "cannot read image %s", image);
        }
        e = ecred_qr_scan_image(img.ptr, img.len, out);
        ecred_buf_free(&img);
        if (e == ECRED_ERR_TOO_LARGE)
            return fail(EXIT_USAGE, "image %s is too large", image);
        if (e)
            return fail(4, "no readable QR code in %s", image);
        return 0;
    }
    if (strcmp(text, "-") == 0) {
        e = ecred_read_fd(0, ECRED_QRTEXT_MAX + 2, out);
        if (e == ECRED_ERR_TOO_LARGE)
            return fail(4, "%s", "input on stdin is longer than any credential");
        if (e)
            return fail(1, "%s", "cannot read standard input");
    } else if (ecred_buf_set(out, text, strlen(text)) != ECRED_OK) {
        return fail(1, "%s", "out of memory");
    }
    if (ecred_buf_terminate(out) != ECRED_OK)
        return fail(1, "%s", "out of memory");
    return 0;
}

/* ---- human and JSON output ------------------------------------------- */

static const char *housing_label(int h)
{
    switch (h) {
    case ECRED_HOUSING_OWN: return "自有住房 own property";
    case ECRED_HOUSING_RENTAL: return "租赁住房 filed rental contract";
    case ECRED_HOUSING_RELATIVE: return "投靠亲属 relative's home (kinship commitment)";
    default: return "?";
    }
}

/* Labels of the role view's fields (verifier/roles.c names). */
static const char *field_label(const char *k)
{
    static const char *const labels[][2] = {
        {"type", "证件 Credential"},           {"name", "姓名 Name"},
        {"id_number", "公民身份号码 ID number"}, {"id_number_masked", "身份号码 ID number (masked)"},
        {"sex", "性别 Sex"},                   {"birth_date", "出生日期 Date of birth"},
        {"address_division", "居住地区划 Address division"}, {"address", "居住地址 Address"},
        {"housing", "住房 Housing basis"},     {"hukou_division", "户籍地 Hukou origin"},
        {"registration_date", "登记日期 Registered"}, {"authority", "签发机关 Authority"},
        {"valid_from", "有效期起 Valid from"}, {"valid_until", "有效期至 Valid until"},
        {"endorsement_date", "签注日期 Endorsement"}, {"iss", "签发者 Issuer"},
        {"iat", "签发时间 Issued at"},         {"exp", "失效时间 Expires at"},
        {"cti", "序列号 Serial"},
    };
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++)
        if (strcmp(labels[i][0], k) == 0)
            return labels[i][1];
    return k;
}

/* The role's view, one line a field; every value escaped (it comes from the
 * scanned credential) and times in CST. */
static void print_view(const json_t *view)
{
    const char *k;
    json_t *val;
    char esc[VUTIL_ESC_MAX];
    json_object_foreach((json_t *)view, k, val) {
        char line[600] = "";
        if (json_is_object(val)) {
            const char *basis = json_string_value(json_object_get(val, "basis"));
            const char *ref = json_string_value(json_object_get(val, "reference"));
            snprintf(line, sizeof line, "%s%s%s", basis ? basis : "?", ref ? ", ref " : "", ref ? ref : "");
        } else if (json_is_string(val)) {
            int64_t t;
            const char *sv = json_string_value(val);
            if ((strcmp(k, "iat") == 0 || strcmp(k, "exp") == 0) && ecred_time_parse(sv, &t) == ECRED_OK) {
                char cst[26];
                ecred_time_format_cst(t, cst);
                snprintf(line, sizeof line, "%s", cst);
            } else {
                snprintf(line, sizeof line, "%s", sv);
            }
        }
        printf("%s: %s\n", field_label(k), vutil_escape(line, esc, sizeof esc));
    }
}

static void print_human(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age,
                        const json_t *view)
{
    const char *headline;
    bool unchecked = v->outcome == ECRED_OK && !st; /* --trust-key alone: no status source */
    switch (v->outcome) {
    case ECRED_OK:
        headline = unchecked ? "签名有效，状态未检查 SIGNATURE VALID, STATUS NOT CHECKED" : "有效 VALID";
        break;
    case ECRED_ERR_NOT_OUR_FORMAT: headline = "不是居住证件 NOT A RESIDENCE CREDENTIAL"; break;
    case ECRED_ERR_EXPIRED: headline = "已过期 EXPIRED"; break;
    case ECRED_ERR_NOT_YET_VALID: headline = "尚未生效 NOT YET VALID"; break;
    case ECRED_ERR_KEY_UNKNOWN: headline = "签发机关未知 UNKNOWN ISSUER KEY"; break;
    case ECRED_ERR_SIGNATURE_INVALID:
    case ECRED_ERR_KEY_ALG_MISMATCH: headline = "签名无效 BAD SIGNATURE"; break;
    case ECRED_ERR_REVOKED: headline = "已作废 REVOKED"; break;
    case ECRED_ERR_SUSPENDED: headline = "已挂失 SUSPENDED"; break;
    case ECRED_ERR_STATUS_STALE: headline = "状态未知 STATUS UNKNOWN (stale data)"; break;
    case ECRED_ERR_STATUS_UNAVAILABLE: headline = "状态不可用 STATUS UNAVAILABLE"; break;
    case ECRED_ERR_STATUS_INDEX: headline = "状态索引无效 STATUS INDEX OUTSIDE ITS LIST"; break;
    default: headline = "无法识别 MALFORMED"; break;
    }
    const char *on = "", *off = "";
    if (use_colour()) {
        /* green only for a checked VALID; yellow for unknown or unchecked */
        on = v->outcome == ECRED_OK && !unchecked ? "\033[1;32m"
             : unchecked || v->outcome == ECRED_ERR_STATUS_STALE || v->outcome == ECRED_ERR_STATUS_UNAVAILABLE
                 ? "\033[1;33m"
                 : "\033[1;31m";
        off = "\033[0m";
    }
    printf("结果 Result:            %s%s%s\n", on, headline, off);
    printf("原因 Reason:            %s (%s)\n", ecred_err_reason(v->outcome),
           v->outcome ? ecred_err_message(v->outcome)
           : unchecked ? "signature, validity and format check out; status not checked (no --cache)"
                       : "signature, validity and format check out");
    char raw_line[512], line[VUTIL_ESC_MAX], e1[VUTIL_ESC_MAX], e2[VUTIL_ESC_MAX];
    /* Every field below comes from the scanned credential (the status line
     * carries its status URI): escaped, so no QR can drive the terminal. */
    vanswer_status_text(v, st, now, max_age, raw_line, sizeof raw_line);
    vutil_escape(raw_line, line, sizeof line);
    if (!v->claims_ok) {
        if (line[0])
            printf("状态 Status:            %s\n", line);
        return;
    }
    if (view) {
        print_view(view);
        if (line[0])
            printf("状态 Status:            %s\n", line);
        return;
    }
    const ecred_claims *c = &v->claims;
    const ecred_credential *cr = &c->cred;
    char d1[11], d2[11], t[26];
    printf("证件 Credential:        %s\n", cr->type == ECRED_CRED_TYPE_PERMIT ? "居住证 residence permit"
                                          : "居住登记凭证 residence registration certificate");
    printf("姓名 Name:              %s\n", vutil_escape(cr->name, e1, sizeof e1));
    printf("公民身份号码 ID number: %s\n", vutil_escape(cr->id_number, e1, sizeof e1));
    ecred_date_format(cr->birth_date, d1);
    printf("性别 Sex:               %s\n", cr->sex == ECRED_SEX_MALE ? "男 male" : "女 female");
    printf("出生日期 Date of birth: %s\n", d1);
    printf("居住地址 Address:       %s%s (%06u)\n", ecred_division_name(cr->address_division),
           vutil_escape(cr->address, e1, sizeof e1), (unsigned)cr->address_division);
    printf("住房 Housing basis:     %s%s%s\n", housing_label(cr->housing),
           cr->housing_ref[0] ? ", ref " : "", vutil_escape(cr->housing_ref, e1, sizeof e1));
    printf("户籍地 Hukou origin:    %s (%06u)\n", ecred_division_name(cr->hukou_division),
           (unsigned)cr->hukou_division);
    ecred_date_format(cr->registration_date, d1);
    printf("登记日期 Registered:    %s\n", d1);
    printf("签发机关 Authority:     %s\n", vutil_escape(cr->authority, e1, sizeof e1));
    ecred_date_format(cr->valid_from, d1);
    ecred_date_format(cr->valid_until, d2);
    printf("有效期限 Valid:         %s to %s\n", d1, d2);
    if (cr->type == ECRED_CRED_TYPE_PERMIT) {
        ecred_date_format(cr->endorsement_date, d1);
        printf("签注日期 Endorsement:   %s\n", d1);
    }
    char cti[2 * ECRED_CTI_MAX + 1];
    ecred_hex(c->cti, c->cti_len, cti);
    ecred_time_format_cst(c->iat, t);
    printf("签发 Issued:            %s by %s, serial %s\n", t, vutil_escape(c->iss, e2, sizeof e2), cti);
    if (c->has_cnf)
        printf("持有人密钥 Holder key:  bound (cnf, P-256)\n");
    if (line[0])
        printf("状态 Status:            %s\n", line);
}

static json_t *claims_json(const ecred_claims *c)
{
    ecred_buf cj = ECRED_BUF_INIT;
    json_t *cred = NULL;
    if (ecred_credential_to_json(&c->cred, &cj) == ECRED_OK)
        cred = json_loadb((const char *)cj.ptr, cj.len, 0, NULL);
    ecred_buf_free(&cj);
    char cti[2 * ECRED_CTI_MAX + 1], iat[21], nbf[21], exp[21];
    ecred_hex(c->cti, c->cti_len, cti);
    ecred_time_format(c->iat, iat);
    ecred_time_format(c->nbf, nbf);
    ecred_time_format(c->exp, exp);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o*}", "iss", c->iss, "iat", iat, "nbf", nbf,
                          "exp", exp, "cti", cti, "credential", cred);
    if (o && c->has_status)
        json_object_set_new(o, "status", json_pack("{s:I,s:s}", "idx", (json_int_t)c->status_idx,
                                                   "uri", c->status_uri));
    if (o && c->has_cnf) {
        char x[65];
        ecred_hex(c->cnf_x, 32, x);
        json_object_set_new(o, "cnf", json_pack("{s:s,s:s,s:b}", "crv", "P-256", "x", x, "y_sign",
                                                c->cnf_y_sign));
    }
    return o;
}

/* The verdict as one JSON object (UTC times); with a role, its view of the
 * credential ("role", "credential") replaces the full "claims". */
static void print_json(const ecred_verdict *v, const vstatus *st, int64_t now, int64_t max_age, vrole role,
                       json_t *view)
{
    char kid[2 * 64 + 1];
    ecred_hex(v->kid, v->kid_len, kid);
    json_t *o = json_pack("{s:s,s:b,s:s,s:s,s:s,s:{s:I,s:I,s:I,s:b}}", "outcome",
                          vanswer_outcome(v->outcome), "valid", v->outcome == ECRED_OK,
                          "reason", ecred_err_reason(v->outcome), "detail", ecred_err_name(v->outcome),
                          "kid", kid, "sizes", "text", (json_int_t)v->text_len, "cose",
                          (json_int_t)v->cose_len, "payload", (json_int_t)v->payload_len,
                          "compressed", v->compressed);
    if (!o)
        return;
    json_object_set_new(o, "verdict", json_string(v->outcome == ECRED_OK && !st
                                                        ? "signature valid, status not checked"
                                                        : v->outcome == ECRED_OK ? "VALID" : ecred_err_reason(v->outcome)));
    if (role != VROLE_NONE) {
        json_object_set_new(o, "role", json_string(vrole_name(role)));
        if (view)
            json_object_set_new(o, "credential", json_incref(view));
    } else if (v->claims_ok) {
        json_object_set_new(o, "claims", claims_json(&v->claims));
    }
    json_object_set_new(o, "status", vanswer_status_json(v, st, now, max_age));
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
}

/* ---- inspect ---------------------------------------------------------- */

static json_t *hex_json(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    ecred_hex(p, n, h);
    json_t *s = json_string(h);
    free(h);
    return s;
}

/* Any CBOR item as JSON for people: maps become objects keyed by the label's
 * text (integers in decimal), byte strings hex, tags {"tag": n, "value": v}.
 * Depth is already bounded by the capped decoder. */
static json_t *cbor_json(const cbor_item_t *it)
{
    switch (cbor_typeof(it)) {
    case CBOR_TYPE_UINT:
    case CBOR_TYPE_NEGINT: {
        int64_t v;
        if (ecred_cbor_get_int(it, &v) == ECRED_OK)
            return json_integer((json_int_t)v);
        return json_string("(integer out of range)");
    }
    case CBOR_TYPE_BYTESTRING:
        return hex_json(cbor_bytestring_handle(it), cbor_bytestring_length(it));
    case CBOR_TYPE_STRING:
        return json_stringn((const char *)cbor_string_handle(it), cbor_string_length(it));
    case CBOR_TYPE_ARRAY: {
        json_t *a = json_array();
        for (size_t i = 0; a && i < cbor_array_size(it); i++)
            json_array_append_new(a, cbor_json(cbor_array_handle(it)[i]));
        return a;
    }
    case CBOR_TYPE_MAP: {
        json_t *o = json_object();
        struct cbor_pair *p = cbor_map_handle(it);
        for (size_t i = 0; o && i < cbor_map_size(it); i++) {
            char key[64];
            int64_t k;
            if (cbor_isa_string(p[i].key))
                snprintf(key, sizeof key, "%.*s", (int)(cbor_string_length(p[i].key) > 60 ? 60 : cbor_string_length(p[i].key)),
                         (const char *)cbor_string_handle(p[i].key));
            else if (ecred_cbor_get_int(p[i].key, &k) == ECRED_OK)
                snprintf(key, sizeof key, "%lld", (long long)k);
            else
                snprintf(key, sizeof key, "(key %zu)", i);
            json_object_set_new(o, key, cbor_json(p[i].value));
        }
        return o;
    }
    case CBOR_TYPE_TAG: {
        cbor_item_t *inner = cbor_tag_item(it);
        json_t *o = json_pack("{s:I,s:o}", "tag", (json_int_t)cbor_tag_value(it), "value", cbor_json(inner));
        cbor_decref(&inner);
        return o;
    }
    case CBOR_TYPE_FLOAT_CTRL:
        /* Floats first: libcbor 0.8's bool/null/ctrl accessors abort on a
         * float item (found by fuzz_cose on the same pattern in cose.c). */
        if (!cbor_float_ctrl_is_ctrl(it))
            return json_real(cbor_float_get_float(it));
        if (cbor_is_bool(it))
            return json_boolean(cbor_get_bool(it));
        if (cbor_is_null(it))
            return json_null();
        return json_string("(simple value)");
    }
    return json_null();
}

static json_t *cbor_bytes_json(ecred_span s)
{
    cbor_item_t *it = NULL;
    if (s.len == 0)
        return json_object();
    if (ecred_cbor_decode(s.ptr, s.len, &ecred_cbor_limits_small, &it) != ECRED_OK)
        return json_pack("{s:s,s:o}", "error", "not decodable CBOR", "hex", hex_json(s.ptr, s.len));
    json_t *j = cbor_json(it);
    cbor_decref(&it);
    return j;
}

/* base64url without padding (RFC 7515 appendix C), as JWK wants. */
static json_t *b64url_json(const uint8_t *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char out[4 * 64 / 3 + 4];
    size_t o = 0;
    if (n > 64)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        if (i + 1 < n)
            out[o++] = tab[(v >> 6) & 63];
        if (i + 2 < n)
            out[o++] = tab[v & 63];
    }
    out[o] = 0;
    return json_string(out);
}

/* The credential's holder key (cnf) in the forms integrators' libraries
 * take: the uncompressed COSE_Key (many COSE libraries cannot import the
 * compressed point ecred issues), its CBOR bytes, and a JWK (RFC 7517). */
static json_t *holder_key_json(const ecred_claims *c)
{
    ecred_key *k = NULL;
    uint8_t x[32], y[32];
    if (ecred_key_from_ec2(c->cnf_x, c->cnf_has_y ? c->cnf_y : NULL, c->cnf_has_y ? 32 : 0, c->cnf_y_sign, &k) !=
            ECRED_OK ||
        ecred_key_ec2_uncompressed(k, x, y) != ECRED_OK) {
        ecred_key_free(k);
        return json_pack("{s:s}", "error", "not a point on P-256");
    }
    char kid[2 * ECRED_KID_LEN + 1];
    ecred_hex(ecred_key_kid(k), ECRED_KID_LEN, kid);
    ecred_key_free(k);
    /* {1: 2, -1: 1, -2: x, -3: y}: kty EC2, crv P-256, in deterministic order. */
    uint8_t cbor[8 + 32 + 3 + 32];
    static const uint8_t head[] = {0xa4, 0x01, 0x02, 0x20, 0x01, 0x21, 0x58, 0x20};
    memcpy(cbor, head, sizeof head);
    memcpy(cbor + sizeof head, x, 32);
    cbor[sizeof head + 32] = 0x22;
    cbor[sizeof head + 33] = 0x58;
    cbor[sizeof head + 34] = 0x20;
    memcpy(cbor + sizeof head + 35, y, 32);
    return json_pack("{s:s,s:s,s:{s:i,s:i,s:o,s:o},s:o,s:{s:s,s:s,s:o,s:o}}", "form",
                     c->cnf_has_y ? "uncompressed" : "compressed", "spki_kid", kid, "cose_key", "1", 2, "-1", 1,
                     "-2", hex_json(x, 32), "-3", hex_json(y, 32), "cose_key_cbor",
                     hex_json(cbor, sizeof head + 35 + 32), "jwk", "kty", "EC", "crv", "P-256", "x",
                     b64url_json(x, 32), "y", b64url_json(y, 32));
}

/* Why each relaxed rule matters, for the warnings array. */
static const char *relaxed_warning(unsigned bit)
{
    switch (bit) {
    case ECRED_COSE_RELAXED_UNTAGGED: return "untagged COSE_Sign1: read as one because inspect is told it is one";
    case ECRED_COSE_RELAXED_ALG_UNPROTECTED: return "alg is in the unprotected bucket: not covered by the signature";
    case ECRED_COSE_RELAXED_LABEL_IN_BOTH: return "a label is in both buckets: the protected value was used (RFC 9052 section 3)";
    case ECRED_COSE_RELAXED_KID_UNPROTECTED: return "kid is in the unprotected bucket: anyone may change it without breaking the signature";
    case ECRED_COSE_RELAXED_OTHER_ALG: return "an algorithm ecred never issues";
    case ECRED_COSE_RELAXED_CURVE: return "the ECDSA hash is not the one RFC 9053 pairs with the key's curve";
    case ECRED_COSE_RELAXED_EMPTY_PROTECTED: return "the protected bucket is an empty map (a0): signed as no protected attributes";
    default: return "";
    }
}

/* Decode any PREFIX:+base45 COSE_Sign1 and, with a key, check it. "RC1:"
 * text is judged by our own strict rules; anything else by the relaxed ones
 * (ecred_cose_relax), and the output names every rule that was relaxed. */
static int cmd_inspect(const char *text, size_t n, const char *key_path, ecred_span aad)
{
    ecred_buf cose = ECRED_BUF_INIT;
    ecred_cose_sign1 msg;
    memset(&msg, 0, sizeof msg);
    bool compressed = false;
    int rc;
    ecred_key *key = NULL;
    if (key_path) {
        ecred_err ke = ecred_key_public_any_load(key_path, &key);
        if (ke)
            return fail(EXIT_USAGE, "--trust-key %s: not a readable EC (P-256/384/521), Ed25519/Ed448 or RSA (2048+) public key or certificate", key_path);
    }
    const char *colon = memchr(text, ':', n);
    /* Our own format stays strict in inspect too: it shows what a verifier
     * would refuse instead of explaining it away. */
    bool strict = n >= 4 && memcmp(text, "RC1:", 4) == 0;
    static const ecred_cose_relax relaxed = {true, true, true, true}, none = {false, false, false, false};
    ecred_err e = ecred_qrtext_decode(text, n, true, &cose, &compressed);
    if (!e)
        e = ecred_cose_sign1_decode_relaxed(cose.ptr, cose.len, NULL, strict ? &none : &relaxed, &msg);
    if (e) {
        fprintf(stderr, "ecred-verify inspect: %s (%s)\n", ecred_err_message(e), ecred_err_name(e));
        rc = ecred_err_exit_code(e);
        goto out;
    }
    json_t *o = json_object();
    json_object_set_new(o, "prefix", json_stringn(text, colon ? (size_t)(colon - text) + 1 : 0));
    json_object_set_new(o, "rules", json_string(strict ? "strict (RC1)" : "relaxed (other ecosystems)"));
    json_object_set_new(o, "sizes", json_pack("{s:I,s:I,s:I,s:I,s:b}", "text", (json_int_t)n, "cose",
                                              (json_int_t)cose.len, "protected",
                                              (json_int_t)msg.protected_bytes.len, "payload",
                                              (json_int_t)msg.payload.len, "compressed", compressed));
    json_object_set_new(o, "alg", json_integer(msg.alg));
    json_object_set_new(o, "protected", cbor_bytes_json(msg.protected_bytes));
    json_object_set_new(o, "kid", hex_json(msg.kid, msg.kid_len));
    json_object_set_new(o, "kid_protected", json_boolean(msg.kid_protected));
    json_object_set_new(o, "payload", cbor_bytes_json(msg.payload));
    json_object_set_new(o, "signature", hex_json(msg.signature.ptr, msg.signature.len));
    ecred_claims claims;
    ecred_err ce = ecred_claims_decode(msg.payload.ptr, msg.payload.len, &claims);
    if (ce == ECRED_OK) {
        json_object_set_new(o, "ecred_claims", claims_json(&claims));
        if (claims.has_cnf)
            json_object_set_new(o, "holder_key", holder_key_json(&claims));
    } else {
        json_object_set_new(o, "ecred_claims_error", json_string(ecred_err_name(ce)));
    }
    rc = 0;
    if (key) {
        e = strict ? ecred_cose_sign1_verify(&msg, key) : ecred_cose_sign1_verify_relaxed(&msg, key, aad);
        if (strict && aad.len)
            e = ECRED_ERR_INPUT; /* RC1 has no external_aad */
        json_object_set_new(o, "signature_check",
                            json_pack("{s:s,s:s,s:s,s:s}", "result", e ? "fail" : "ok", "reason", ecred_err_reason(e),
                                      "detail", ecred_err_name(e), "key", ecred_key_kind_name(ecred_key_get_kind(key))));
        rc = ecred_err_exit_code(e);
    }
    json_t *rel = json_array(), *warn = json_array();
    for (unsigned bit = 1; bit <= ECRED_COSE_RELAXED_ALL; bit <<= 1)
        if (msg.relaxed & bit) {
            json_array_append_new(rel, json_string(ecred_cose_relaxed_name(bit)));
            json_array_append_new(warn, json_string(relaxed_warning(bit)));
        }
    json_object_set_new(o, "relaxed", rel);
    json_object_set_new(o, "warnings", warn);
    char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s)
        puts(s);
    free(s);
    json_decref(o);
out:
    ecred_cose_sign1_clear(&msg);
    ecred_buf_free(&cose);
    ecred_key_free(key);
    return rc;
}

/* sync's messages: progress to stdout, refusals to stderr. */
static void cli_note(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == 0)
        printf("%s\n", msg);
    else
        fprintf(stderr, "ecred-verify: %s%s\n", level == 1 ? "warning: " : "", msg);
}

static int cmd_sync(int argc, char **argv)
{
    static const struct option opts[] = {
        {"issuer", required_argument, NULL, 'u'}, {"root", required_argument, NULL, 'r'},
        {"cache", required_argument, NULL, 'c'},  {"help", no_argument, NULL, 'h'},
        {"sync-timeout", required_argument, NULL, 't'}, {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *issuer = NULL, *root = NULL, *cache = NULL, *timeout_s = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': issuer = optarg; break;
        case 'r': root = optarg; break;
        case 'c': cache = optarg; break;
        case 't': timeout_s = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ecred-verify %s\n", ECRED_VERSION); return 0;
        case ':': return fail(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
        default: return fail(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc)
        return fail(EXIT_USAGE, "sync takes no argument %s", argv[optind]);
    int64_t timeout = VSYNC_TIMEOUT_DEFAULT;
    if (timeout_s && vutil_parse_duration(timeout_s, &timeout) != ECRED_OK)
        return fail(EXIT_USAGE, "--sync-timeout '%s' is not a duration (90s, 15m, 2h)", timeout_s);
    if (!issuer || !cache)
        return fail(EXIT_USAGE, "%s", "sync needs --issuer URL and --cache DIR (and --root ROOT.pem the first time)");
    if (strlen(cache) > VCACHE_PATH_MAX - 64)
        return fail(EXIT_USAGE, "%s", "--cache path too long");
    if (vfetch_global_init() != ECRED_OK)
        return fail(1, "%s", "libcurl could not start");
    vnote note = {cli_note, NULL};
    vsync_report rep;
    ecred_err e = vsync_run_within(cache, issuer, root, (int64_t)time(NULL), timeout, &note, &rep);
    if (rep.committed)
        printf("cache %s: %zu status lists (%zu updated, %zu not modified, %zu refused and kept, %zu no longer in the index)%s\n",
               cache, rep.lists_total, rep.lists_updated, rep.lists_unchanged, rep.lists_refused, rep.lists_unlisted,
               rep.timed_out ? "; cut short by --sync-timeout" : "");
    if (e)
        fprintf(stderr, "ecred-verify: sync: %s (%s)\n", ecred_err_message(e), ecred_err_reason(e));
    return ecred_err_exit_code(e);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trust-key", required_argument, NULL, 'k'}, {"at", required_argument, NULL, 'a'},
        {"image", required_argument, NULL, 'i'},     {"json", no_argument, NULL, 'j'},
        {"cache", required_argument, NULL, 'c'},     {"max-age", required_argument, NULL, 'm'},
        {"online", no_argument, NULL, 'o'},          {"help", no_argument, NULL, 'h'},
        {"role", required_argument, NULL, 'r'},      {"fields", required_argument, NULL, 'f'},
        {"version", no_argument, NULL, 'V'},         {"external-aad", required_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            g_json = true;
    if (argc > 1 && strcmp(argv[1], "sync") == 0)
        return cmd_sync(argc - 1, argv + 1);
    bool inspect = argc > 1 && strcmp(argv[1], "inspect") == 0;
    if (inspect) {
        argc--;
        argv++;
    }
    const char *key_paths[MAX_TRUST_KEYS];
    size_t nkeys = 0;
    const char *at = NULL, *image = NULL, *cache = NULL, *max_age_s = NULL, *role_s = NULL, *fields = NULL;
    const char *aad_hex = NULL;
    bool as_json = false, online = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (nkeys == MAX_TRUST_KEYS)
                return fail(EXIT_USAGE, "at most %s --trust-key options", "64");
            key_paths[nkeys++] = optarg;
            break;
        case 'a': at = optarg; break;
        case 'i': image = optarg; break;
        case 'j': as_json = true; break;
        case 'c': cache = optarg; break;
        case 'm': max_age_s = optarg; break;
        case 'o': online = true; break;
        case 'r': role_s = optarg; break;
        case 'f': fields = optarg; break;
        case 'x': aad_hex = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ecred-verify %s\n", ECRED_VERSION); return 0;
        case ':': return fail(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
        default: return fail(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    vrole role = VROLE_NONE;
    if (role_s && vrole_parse(role_s, &role) != ECRED_OK)
        return fail(EXIT_USAGE, "--role '%s': police, landlord or agency", role_s);
    if ((role == VROLE_AGENCY) != (fields != NULL))
        return fail(EXIT_USAGE, "%s", "--fields a,b,c goes with --role agency, and agency needs it");
    char badf[80];
    if (fields && vroles_check_fields(fields, badf, sizeof badf) != ECRED_OK)
        return fail(EXIT_USAGE, "--fields: '%s' is not a field (see spec/verifier.md 5.2)", badf);
    int rest = argc - optind;
    if (aad_hex && !inspect)
        return fail(EXIT_USAGE, "%s", "--external-aad is for inspect");
    if ((image && rest != 0) || (!image && rest != 1))
        return fail(EXIT_USAGE, "%s", "give exactly one of TEXT, --image FILE or - (see --help)");
    if (inspect && (nkeys > 1 || at || as_json || cache || max_age_s || online || role_s))
        return fail(EXIT_USAGE, "%s", "inspect takes at most one --trust-key and no --at/--json/--cache");
    if (!inspect && nkeys == 0 && !cache)
        return fail(EXIT_USAGE, "%s", "--trust-key FILE or --cache DIR is required (see --help)");
    if (nkeys && cache)
        return fail(EXIT_USAGE, "%s", "give --trust-key or --cache, not both");
    if ((max_age_s || online) && !cache)
        return fail(EXIT_USAGE, "%s", "--max-age and --online need --cache DIR");
    int64_t max_age = DEFAULT_MAX_AGE;
    if (max_age_s && vutil_parse_duration(max_age_s, &max_age) != ECRED_OK)
        return fail(EXIT_USAGE, "--max-age '%s' is not a duration (90s, 15m, 24h, 7d)", max_age_s);
    int64_t now = (int64_t)time(NULL);
    if (at && ecred_time_parse(at, &now) != ECRED_OK)
        return fail(EXIT_USAGE, "--at '%s' is not an RFC 3339 time (2026-11-26T10:00:00+08:00)", at);
    if (cache && strlen(cache) > VCACHE_PATH_MAX - 64)
        return fail(EXIT_USAGE, "%s", "--cache path too long");

    ecred_buf text = ECRED_BUF_INIT;
    int rc = read_input(image ? NULL : argv[optind], image, &text);
    if (rc)
        return rc;
    if (inspect) {
        uint8_t aad[256];
        size_t aad_len = aad_hex ? strlen(aad_hex) / 2 : 0;
        if (aad_hex && (strlen(aad_hex) % 2 || aad_len > sizeof aad ||
                        ecred_unhex(aad_hex, strlen(aad_hex), aad, aad_len) != ECRED_OK)) {
            ecred_buf_free(&text);
            return fail(EXIT_USAGE, "--external-aad '%s' is not hex of at most 256 bytes", aad_hex);
        }
        rc = cmd_inspect((const char *)text.ptr, text.len, nkeys ? key_paths[0] : NULL,
                         ecred_span_of(aad_len ? aad : NULL, aad_len));
        ecred_buf_free(&text);
        return rc;
    }

    ecred_key *keys[MAX_TRUST_KEYS] = {0};
    ecred_trusted_key trusted[MAX_TRUST_KEYS];
    vcache vc;
    memset(&vc, 0, sizeof vc);
    vnote note = {cli_note, NULL};
    /* --online fetches when the held list is past its ttl or older than
     * --max-age, so a short --max-age means "ask the issuer", not "sync again". */
    vstatus st = {.cache = &vc, .now = now, .online = online, .dir = cache, .note = &note, .max_age = max_age};
    ecred_status_source src = {vstatus_lookup, &st, max_age};
    ecred_keyset ks = {trusted, nkeys};
    if (cache) {
        char msg[512];
        ecred_err e = vcache_load(cache, now, VCACHE_STRICT, &vc, msg, sizeof msg);
        if (e) {
            rc = fail(e == ECRED_ERR_IO ? 1 : ecred_err_exit_code(e), "%s", msg);
            goto out;
        }
        if (online && vfetch_global_init() != ECRED_OK) {
            rc = fail(1, "%s", "libcurl could not start");
            goto out;
        }
        ks = vcache_keyset(&vc);
    }
    for (size_t i = 0; i < nkeys; i++) {
        ecred_err e = ecred_key_public_load(key_paths[i], &keys[i]);
        if (e) {
            rc = fail(EXIT_USAGE, "--trust-key %s: not a readable P-256/Ed25519 public key or certificate",
                      key_paths[i]);
            goto out;
        }
        /* Keys named on the command line are trusted for everything, at any
         * time: the operator vouched for them. A trust list narrows this. */
        trusted[i] = (ecred_trusted_key){keys[i], INT64_MIN, INT64_MAX, ECRED_TYPE_MASK_ALL, NULL, NULL};
    }
    ecred_verdict v;
    ecred_decide((const char *)text.ptr, text.len, &ks, cache ? &src : NULL, now, &v);
    json_t *view = role != VROLE_NONE ? vroles_view(&v, role, fields) : NULL;
    if (role != VROLE_NONE && v.claims_ok && !view) {
        rc = fail(1, "%s", "out of memory"); /* never fall back to showing every field */
        goto out;
    }
    if (as_json)
        print_json(&v, cache ? &st : NULL, now, max_age, role, view);
    else
        print_human(&v, cache ? &st : NULL, now, max_age, view);
    json_decref(view);
    rc = ecred_err_exit_code(v.outcome);
out:
    for (size_t i = 0; i < nkeys; i++)
        ecred_key_free(keys[i]);
    vcache_free(&vc);
    ecred_buf_free(&text);
    return rc;
}
