/*
 * trustlist_cmd.c - `ecred-keys trustlist sign|show` (spec/trustlist.md
 * section 5).
 *
 * sign: a strict JSON description (unknown fields refused, every error names
 * its field) becomes an ecred_trustlist, signed with the offline root key and
 * written atomically; trust lists are meant to be replaced, so an existing
 * output file is overwritten. show: verify with the root public key and print
 * the list as JSON. The format itself lives in common/src/trustlist.c; this
 * file must never encode or check wire bytes on its own.
 */
#include "trustlist_cmd.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/err.h"
#include "ecred/trustlist.h"

#define TL_JSON_MAX ((size_t)1 << 20)
#define TL_PATH_MAX 4096
#define TL_VALID_DAYS_MAX 3660
#define TL_SEQ_MAX ((json_int_t)1 << 53) /* largest integer every JSON reader keeps exact */
#define TL_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define EXIT_USAGE 2
#define EXIT_IO 1

static const struct {
    const char *name;
    uint32_t bit;
} tl_type_names[] = {
    {"registration_certificate", ECRED_TRUST_BIT_REGISTRATION},
    {"residence_permit", ECRED_TRUST_BIT_PERMIT},
    {"status_list", ECRED_TRUST_BIT_STATUS_LIST},
};
#define TL_N_TYPE_NAMES (sizeof tl_type_names / sizeof tl_type_names[0])

/* Print "ecred-keys trustlist: <message>" to stderr and return code. */
__attribute__((format(printf, 2, 3))) static int tl_fail(int code, const char *fmt, ...)
{
    va_list ap;
    fputs("ecred-keys trustlist: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* Exit code for a library error while reading input: I/O is 1, everything the
 * user can fix in the input is 2. */
static int tl_input_exit(ecred_err e)
{
    return e == ECRED_ERR_IO || e == ECRED_ERR_NOMEM ? EXIT_IO : EXIT_USAGE;
}

/* Print the usage text to `to`. */
static void tl_usage(FILE *to)
{
    fputs("usage: ecred-keys trustlist sign --root ROOT.key --in LIST.json --out FILE\n"
          "       ecred-keys trustlist show --root ROOT.pub.pem [--at YYYY-MM-DDTHH:MM:SSZ] FILE\n"
          "       ecred-keys trustlist rotate --root ROOT.key --current TRUST.cwt --new-key NEW.pub.pem\n"
          "                                   --out FILE [--switch-at TIME] [--overlap DAYS]\n"
          "The list format and the JSON input are described in spec/trustlist.md.\n",
          to);
}

/* ---- RFC 3339 UTC times ----------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (y >= 1970). */
static int64_t tl_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = y / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* Parse exactly "YYYY-MM-DDTHH:MM:SSZ" (years 1970..9999) into seconds. */
static bool tl_parse_time(const char *s, int64_t *out)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
    if (strlen(s) != sizeof shape - 1)
        return false;
    for (size_t i = 0; i < sizeof shape - 1; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return false;
    }
#define TL_NUM2(p) (((p)[0] - '0') * 10 + ((p)[1] - '0'))
    int year = TL_NUM2(s) * 100 + TL_NUM2(s + 2);
    int mon = TL_NUM2(s + 5), day = TL_NUM2(s + 8);
    int hh = TL_NUM2(s + 11), mm = TL_NUM2(s + 14), ss = TL_NUM2(s + 17);
#undef TL_NUM2
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (year < 1970 || mon < 1 || mon > 12 || day < 1 ||
        day > mdays[mon - 1] + (mon == 2 && leap ? 1 : 0) || hh > 23 || mm > 59 || ss > 59)
        return false;
    *out = tl_days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
    return true;
}

/* Format seconds as RFC 3339 UTC into out (21 bytes); times past year 9999
 * print as plain decimal seconds, which is still unambiguous. */
static void tl_format_time(uint64_t t, char out[32])
{
    if (t > (uint64_t)TL_TIME_MAX) {
        snprintf(out, 32, "%" PRIu64, t);
        return;
    }
    int64_t z = (int64_t)(t / 86400) + 719468;
    int64_t secs = (int64_t)(t % 86400);
    int64_t era = z / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    /* The modulos only tell the compiler the field widths; t <= TL_TIME_MAX
     * already keeps every value in range. */
    snprintf(out, 32, "%04u-%02u-%02uT%02u:%02u:%02uZ", (unsigned)y % 10000u,
             (unsigned)m % 100u, (unsigned)d % 100u, (unsigned)(secs / 3600) % 100u,
             (unsigned)(secs / 60 % 60) % 100u, (unsigned)(secs % 60) % 100u);
}

/* ---- sign ------------------------------------------------------------- */

/* Refuse any member of obj not in allowed (NULL-terminated); where names the
 * object in messages. */
static int tl_check_fields(const char *file, const char *where, json_t *obj,
                           const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value) {
        bool known = false;
        for (const char *const *a = allowed; *a; a++)
            known = known || strcmp(key, *a) == 0;
        if (!known)
            return tl_fail(EXIT_USAGE, "%s: %s%sunknown field \"%s\"", file, where,
                           *where ? ": " : "", key);
    }
    return 0;
}

/* A required string member; NULL after printing the error otherwise. */
static const char *tl_get_string(const char *file, const char *where, json_t *obj,
                                 const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!v || !json_is_string(v)) {
        tl_fail(EXIT_USAGE, "%s: %s%s: required, must be a string", file, where, name);
        return NULL;
    }
    return json_string_value(v);
}

/* A required RFC 3339 UTC time member into seconds; 0 or the exit code after
 * printing the error. */
static int tl_get_time(const char *file, const char *where, json_t *obj, const char *name,
                       uint64_t *out)
{
    const char *s = tl_get_string(file, where, obj, name);
    if (!s)
        return EXIT_USAGE;
    int64_t t;
    if (!tl_parse_time(s, &t))
        return tl_fail(EXIT_USAGE, "%s: %s%s: \"%s\" is not an RFC 3339 UTC time like "
                       "2026-01-01T00:00:00Z", file, where, name, s);
    *out = (uint64_t)t;
    return 0;
}

/* Resolve a key path relative to the JSON file's directory. */
static int tl_key_path(const char *json_path, const char *rel, char out[TL_PATH_MAX])
{
    int n;
    const char *slash = strrchr(json_path, '/');
    if (rel[0] == '/' || !slash)
        n = snprintf(out, TL_PATH_MAX, "%s", rel);
    else
        n = snprintf(out, TL_PATH_MAX, "%.*s/%s", (int)(slash - json_path), json_path, rel);
    return n < 0 || n >= TL_PATH_MAX ? -1 : 0;
}

/* Fill entry e from keys[i] of the JSON (loading its public key). */
static int tl_parse_entry(const char *file, size_t i, json_t *obj, ecred_trustlist_entry *e)
{
    static const char *const fields[] = {"public_key", "sign_from", "sign_until", "types",
                                         "status_uri_prefix", NULL};
    char where[32];
    snprintf(where, sizeof where, "keys[%zu]", i);
    if (!json_is_object(obj))
        return tl_fail(EXIT_USAGE, "%s: %s: must be an object", file, where);
    char where_dot[40];
    snprintf(where_dot, sizeof where_dot, "%s.", where);
    int rc = tl_check_fields(file, where, obj, fields);
    if (rc)
        return rc;

    const char *pk = tl_get_string(file, where_dot, obj, "public_key");
    if (!pk)
        return EXIT_USAGE;
    char path[TL_PATH_MAX];
    if (pk[0] == '\0' || tl_key_path(file, pk, path))
        return tl_fail(EXIT_USAGE, "%s: %spublic_key: bad path \"%s\"", file, where_dot, pk);
    ecred_err err = ecred_key_public_load(path, &e->key);
    if (err)
        return tl_fail(tl_input_exit(err), "%s: %spublic_key: %s: %s", file, where_dot, path,
                       ecred_err_message(err));

    if ((rc = tl_get_time(file, where_dot, obj, "sign_from", &e->sign_from)) ||
        (rc = tl_get_time(file, where_dot, obj, "sign_until", &e->sign_until)))
        return rc;
    if (e->sign_from > e->sign_until)
        return tl_fail(EXIT_USAGE, "%s: %ssign_until: earlier than sign_from", file, where_dot);

    json_t *types = json_object_get(obj, "types");
    if (!json_is_array(types) || json_array_size(types) == 0)
        return tl_fail(EXIT_USAGE, "%s: %stypes: required, a non-empty array of "
                       "\"registration_certificate\", \"residence_permit\", \"status_list\"",
                       file, where_dot);
    size_t k;
    json_t *t;
    json_array_foreach(types, k, t) {
        const char *name = json_is_string(t) ? json_string_value(t) : "";
        uint32_t bit = 0;
        for (size_t j = 0; j < TL_N_TYPE_NAMES; j++)
            if (strcmp(name, tl_type_names[j].name) == 0)
                bit = tl_type_names[j].bit;
        if (bit == 0)
            return tl_fail(EXIT_USAGE, "%s: %stypes[%zu]: unknown type (want "
                           "\"registration_certificate\", \"residence_permit\" or "
                           "\"status_list\")", file, where_dot, k);
        if (e->types & bit)
            return tl_fail(EXIT_USAGE, "%s: %stypes[%zu]: \"%s\" listed twice", file,
                           where_dot, k, name);
        e->types |= bit;
    }

    const char *uri = tl_get_string(file, where_dot, obj, "status_uri_prefix");
    if (!uri)
        return EXIT_USAGE;
    size_t ulen = strlen(uri);
    bool uri_ok = ulen > 0 && ulen <= ECRED_TRUSTLIST_URI_MAX;
    for (size_t j = 0; uri_ok && j < ulen; j++)
        uri_ok = uri[j] >= 0x21 && uri[j] <= 0x7e;
    if (!uri_ok)
        return tl_fail(EXIT_USAGE, "%s: %sstatus_uri_prefix: must be 1..%d printable ASCII "
                       "characters without spaces", file, where_dot, ECRED_TRUSTLIST_URI_MAX);
    memcpy(e->status_uri_prefix, uri, ulen + 1);
    return 0;
}

/* Fill list from the JSON document (iat = now). */
static int tl_parse_list(const char *file, json_t *doc, int64_t now, ecred_trustlist *list)
{
    static const char *const fields[] = {"iss", "seq", "valid_days", "keys", NULL};
    if (!json_is_object(doc))
        return tl_fail(EXIT_USAGE, "%s: the document must be a JSON object", file);
    int rc = tl_check_fields(file, "", doc, fields);
    if (rc)
        return rc;
    const char *iss = tl_get_string(file, "", doc, "iss");
    if (!iss)
        return EXIT_USAGE;
    size_t iss_len = strlen(iss);
    if (iss_len == 0 || iss_len > ECRED_TRUSTLIST_ISS_MAX)
        return tl_fail(EXIT_USAGE, "%s: iss: must be 1..%d bytes", file, ECRED_TRUSTLIST_ISS_MAX);
    memcpy(list->iss, iss, iss_len + 1);

    json_t *seq = json_object_get(doc, "seq");
    if (!json_is_integer(seq) || json_integer_value(seq) < 0 ||
        json_integer_value(seq) > TL_SEQ_MAX)
        return tl_fail(EXIT_USAGE, "%s: seq: required, an integer 0..2^53", file);
    list->seq = (uint64_t)json_integer_value(seq);

    json_t *days = json_object_get(doc, "valid_days");
    if (!json_is_integer(days) || json_integer_value(days) < 1 ||
        json_integer_value(days) > TL_VALID_DAYS_MAX)
        return tl_fail(EXIT_USAGE, "%s: valid_days: required, an integer 1..%d", file,
                       TL_VALID_DAYS_MAX);
    list->iat = (uint64_t)now;
    list->exp = list->iat + (uint64_t)json_integer_value(days) * 86400u;

    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0 ||
        json_array_size(keys) > ECRED_TRUSTLIST_MAX_ENTRIES)
        return tl_fail(EXIT_USAGE, "%s: keys: required, an array of 1..%d keys", file,
                       ECRED_TRUSTLIST_MAX_ENTRIES);
    list->entries = calloc(json_array_size(keys), sizeof *list->entries);
    if (!list->entries)
        return tl_fail(EXIT_IO, "out of memory");
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        list->n_entries = i + 1; /* so free releases a key loaded before a later error */
        if ((rc = tl_parse_entry(file, i, k, &list->entries[i])))
            return rc;
        for (size_t j = 0; j < i; j++)
            if (memcmp(ecred_key_kid(list->entries[j].key), ecred_key_kid(list->entries[i].key),
                       ECRED_KID_LEN) == 0)
                return tl_fail(EXIT_USAGE, "%s: keys[%zu].public_key: same key as keys[%zu]",
                               file, i, j);
    }
    return 0;
}

/* The --NAME VALUE options of one action (argv[0] is the action) with
 * getopt_long: names[i] fills *slots[i], each at most once; one non-option
 * argument goes to *file when file is not NULL. Returns -1 to go on, 0 after
 * --help (usage on stdout), or EXIT_USAGE with a message ("unknown option",
 * "needs a value", "given twice", "unexpected argument"). */
static int tl_opts(int argc, char **argv, const char *const *names, const char **const *slots, size_t n,
                   const char **file)
{
    struct option opts[8];
    size_t k = 0;
    for (; k < n && k < 6; k++)
        opts[k] = (struct option){names[k], required_argument, NULL, (int)k + 1};
    opts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    opts[k] = (struct option){NULL, 0, NULL, 0};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        if (c == 'h') {
            tl_usage(stdout);
            return 0;
        }
        if (c == ':')
            return tl_fail(EXIT_USAGE, "%s: option %s needs a value", argv[0], argv[optind - 1]);
        if (c < 1 || (size_t)c > n)
            return tl_fail(EXIT_USAGE, "%s: unknown option %s (see --help)", argv[0], argv[optind - 1]);
        if (*slots[c - 1])
            return tl_fail(EXIT_USAGE, "%s: option --%s given twice", argv[0], names[c - 1]);
        *slots[c - 1] = optarg;
    }
    if (file && optind < argc)
        *file = argv[optind++];
    if (optind < argc)
        return tl_fail(EXIT_USAGE, "%s: unexpected argument \"%s\"", argv[0], argv[optind]);
    return -1;
}

/* `trustlist sign --root ROOT.key --in LIST.json --out FILE`: returns the exit code. */
static int tl_cmd_sign(int argc, char **argv)
{
    const char *root_path = NULL, *in_path = NULL, *out_path = NULL;
    static const char *const names[] = {"root", "in", "out"};
    const char **const slots[] = {&root_path, &in_path, &out_path};
    int orc = tl_opts(argc, argv, names, slots, 3, NULL);
    if (orc >= 0)
        return orc;
    if (!root_path || !in_path || !out_path) {
        tl_usage(stderr);
        return tl_fail(EXIT_USAGE, "sign: --root, --in and --out are required");
    }

    ecred_key *root = NULL;
    ecred_buf text = ECRED_BUF_INIT, out = ECRED_BUF_INIT;
    json_t *doc = NULL;
    ecred_trustlist list;
    memset(&list, 0, sizeof list);
    int rc;
    ecred_err err = ecred_key_open(root_path, &root);
    if (err) {
        rc = tl_fail(tl_input_exit(err), "%s: %s", root_path, ecred_err_message(err));
        goto out;
    }
    if ((err = ecred_read_file(in_path, TL_JSON_MAX, &text))) {
        rc = tl_fail(err == ECRED_ERR_TOO_LARGE ? EXIT_USAGE : EXIT_IO, "%s: cannot read: %s",
                     in_path, ecred_err_message(err));
        goto out;
    }
    json_error_t jerr;
    doc = json_loadb((const char *)text.ptr, text.len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        rc = tl_fail(EXIT_USAGE, "%s:%d:%d: %s", in_path, jerr.line, jerr.column, jerr.text);
        goto out;
    }
    time_t now = time(NULL);
    if (now < 0) {
        rc = tl_fail(EXIT_IO, "cannot read the clock");
        goto out;
    }
    if ((rc = tl_parse_list(in_path, doc, (int64_t)now, &list)))
        goto out;
    if ((err = ecred_trustlist_sign(root, &list, &out))) {
        rc = tl_fail(ecred_err_exit_code(err), "sign: %s", ecred_err_message(err));
        goto out;
    }
    if ((err = ecred_write_file_atomic(out_path, out.ptr, out.len, 0644))) {
        rc = tl_fail(EXIT_IO, "%s: cannot write: %s", out_path, ecred_err_message(err));
        goto out;
    }
    char exp[32];
    tl_format_time(list.exp, exp);
    printf("%s: trust list seq %" PRIu64 ", %zu keys, expires %s\n", out_path, list.seq,
           list.n_entries, exp);
    rc = 0;
out:
    ecred_trustlist_free(&list);
    json_decref(doc);
    ecred_buf_free(&out);
    ecred_buf_free(&text);
    ecred_key_free(root);
    return rc;
}

/* ---- show ------------------------------------------------------------- */

/* The verified list as a JSON document (NULL on allocation failure). */
static json_t *tl_list_json(const ecred_trustlist *list)
{
    char t[32], hex[2 * ECRED_KID_LEN + 1];
    json_t *doc = json_object(), *keys = json_array();
    if (!doc || !keys) {
        json_decref(doc);
        json_decref(keys);
        return NULL;
    }
    int bad = 0;
    bad |= json_object_set_new(doc, "iss", json_string(list->iss));
    if (list->seq <= (uint64_t)INT64_MAX) {
        bad |= json_object_set_new(doc, "seq", json_integer((json_int_t)list->seq));
    } else {
        snprintf(t, sizeof t, "%" PRIu64, list->seq); /* beyond json_int_t: keep it exact */
        bad |= json_object_set_new(doc, "seq", json_string(t));
    }
    tl_format_time(list->iat, t);
    bad |= json_object_set_new(doc, "iat", json_string(t));
    tl_format_time(list->exp, t);
    bad |= json_object_set_new(doc, "exp", json_string(t));
    ecred_hex(list->root_kid, ECRED_KID_LEN, hex);
    bad |= json_object_set_new(doc, "root_kid", json_string(hex));
    for (size_t i = 0; i < list->n_entries; i++) {
        const ecred_trustlist_entry *e = &list->entries[i];
        json_t *k = json_object(), *types = json_array();
        if (!k || !types) {
            json_decref(k);
            json_decref(types);
            bad = 1;
            break;
        }
        for (size_t j = 0; j < TL_N_TYPE_NAMES; j++)
            if (e->types & tl_type_names[j].bit)
                bad |= json_array_append_new(types, json_string(tl_type_names[j].name));
        ecred_hex(e->kid, ECRED_KID_LEN, hex);
        bad |= json_object_set_new(k, "kid", json_string(hex));
        bad |= json_object_set_new(k, "alg", json_string(e->alg == ECRED_COSE_ALG_ES256 ? "ES256"
                                                                                      : "EdDSA"));
        tl_format_time(e->sign_from, t);
        bad |= json_object_set_new(k, "sign_from", json_string(t));
        tl_format_time(e->sign_until, t);
        bad |= json_object_set_new(k, "sign_until", json_string(t));
        bad |= json_object_set_new(k, "types", types);
        bad |= json_object_set_new(k, "status_uri_prefix", json_string(e->status_uri_prefix));
        bad |= json_array_append_new(keys, k);
    }
    bad |= json_object_set_new(doc, "keys", keys);
    if (bad) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* `trustlist show --root ROOT.pub.pem [--at TIME] FILE`: verify, print JSON;
 * returns the exit code (the verifier's code when the list is refused). */
static int tl_cmd_show(int argc, char **argv)
{
    const char *root_path = NULL, *at = NULL, *file = NULL;
    static const char *const names[] = {"root", "at"};
    const char **const slots[] = {&root_path, &at};
    int orc = tl_opts(argc, argv, names, slots, 2, &file);
    if (orc >= 0)
        return orc;
    if (!root_path || !file) {
        tl_usage(stderr);
        return tl_fail(EXIT_USAGE, "show: --root and a FILE are required");
    }
    int64_t now = (int64_t)time(NULL);
    if (at && !tl_parse_time(at, &now))
        return tl_fail(EXIT_USAGE, "show: --at: \"%s\" is not an RFC 3339 UTC time like "
                       "2026-01-01T00:00:00Z", at);

    ecred_key *root = NULL;
    ecred_buf bytes = ECRED_BUF_INIT;
    ecred_trustlist list;
    memset(&list, 0, sizeof list);
    json_t *doc = NULL;
    int rc;
    ecred_err err = ecred_key_public_load(root_path, &root);
    if (err) {
        rc = tl_fail(tl_input_exit(err), "%s: %s", root_path, ecred_err_message(err));
        goto out;
    }
    /* Read one byte past the cap so an oversized list is reported by verify. */
    if ((err = ecred_read_file(file, ECRED_TRUSTLIST_MAX_BYTES + 1, &bytes))) {
        rc = tl_fail(err == ECRED_ERR_TOO_LARGE ? ecred_err_exit_code(err) : EXIT_IO,
                     "%s: cannot read: %s", file, ecred_err_message(err));
        goto out;
    }
    if ((err = ecred_trustlist_verify(bytes.ptr, bytes.len, root, now, &list))) {
        rc = tl_fail(ecred_err_exit_code(err), "%s: %s (%s)", file, ecred_err_message(err),
                     ecred_err_name(err));
        goto out;
    }
    doc = tl_list_json(&list);
    if (!doc || json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
        rc = tl_fail(EXIT_IO, "cannot write the output");
        goto out;
    }
    rc = 0;
out:
    json_decref(doc);
    ecred_trustlist_free(&list);
    ecred_buf_free(&bytes);
    ecred_key_free(root);
    return rc;
}

/* Dispatch to sign or show (contract in trustlist_cmd.h). */
int keys_cmd_trustlist(int argc, char **argv)
{
    if (argc > 0 && strcmp(argv[0], "trustlist") == 0) {
        argc--;
        argv++;
    }
    if (argc < 1) {
        tl_usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0 ||
        strcmp(argv[0], "help") == 0) {
        tl_usage(stdout);
        return fflush(stdout) == 0 ? 0 : EXIT_IO;
    }
    if (strcmp(argv[0], "sign") == 0)
        return tl_cmd_sign(argc, argv);
    if (strcmp(argv[0], "show") == 0)
        return tl_cmd_show(argc, argv);
    if (strcmp(argv[0], "rotate") == 0)
        return keys_cmd_trustlist_rotate(argc, argv);
    tl_usage(stderr);
    return tl_fail(EXIT_USAGE, "unknown action \"%s\" (want sign, show or rotate)", argv[0]);
}
