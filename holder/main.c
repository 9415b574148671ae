/*
 * main.c - ecred-present: make a holder-bound presentation (RP1) of a
 * credential with the holder's P-256 device key, or make such a key.
 *
 * It stands in for the phone app in tests, vectors and the demo: the app does
 * the same with a non-exportable StrongBox / Secure Enclave key. It never
 * verifies anything (ecred-verify does) and never writes over an existing key.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ecred/buf.h"
#include "ecred/credential.h"
#include "ecred/crypto.h"
#include "ecred/present.h"
#include "ecred/version.h"

#define EXIT_USAGE 2

static void usage(FILE *f)
{
    fputs("usage: ecred-present [timed] --key FILE --in RC1-TEXT-FILE [options]\n"
          "       ecred-present challenge --key FILE --in FILE --aud ID (--nonce HEX | --code DIGITS)\n"
          "       ecred-present keygen --out FILE [--pub FILE]\n"
          "\n"
          "Signs a holder-bound presentation (RP1:) of a residence credential with the\n"
          "device key bound in its cnf claim, and prints the QR text.\n"
          "\n"
          "  --key FILE        holder private key (PKCS#8 PEM, mode 0600)\n"
          "  --in FILE         the credential's RC1: QR text (- for stdin)\n"
          "  --iat RFC3339     presentation time (default now); --iat-unix N in seconds\n"
          "  --aud ID          challenge mode: the verifier id the challenge named\n"
          "  --nonce HEX       challenge mode: the verifier's nonce (1..32 bytes)\n"
          "  --code DIGITS     challenge mode: a typed code (its ASCII digits are the nonce)\n"
          "  --compress MODE   auto (default), none or dict (the RP1 dictionary)\n"
          "  --cose-out FILE   also write the presentation's COSE_Sign1 bytes\n"
          "  --out FILE        keygen: new private key file (never overwritten)\n"
          "  --pub FILE        keygen: also write the public key PEM (for ecred-issue --holder-key)\n"
          "\n"
          "Exit status: 0 done; 1 I/O or internal error; 2 invalid usage or input.\n",
          f);
}

/* Print "ecred-present: message" on stderr and return code. */
__attribute__((format(printf, 2, 3))) static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("ecred-present: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

/* keygen: a fresh P-256 key in a new 0600 file; its public half on request. */
static int keygen(const char *out, const char *pub)
{
    if (!out)
        return fail(EXIT_USAGE, "keygen needs --out FILE");
    ecred_key *k = NULL;
    ecred_buf pem = ECRED_BUF_INIT;
    int rc = 0;
    ecred_err e = ecred_key_generate(ECRED_COSE_ALG_ES256, &k);
    if (!e)
        e = ecred_key_private_save(k, out);
    if (e) {
        rc = fail(e == ECRED_ERR_EXISTS ? EXIT_USAGE : 1, "%s: %s", out, ecred_err_message(e));
        goto done;
    }
    e = ecred_key_public_pem(k, &pem);
    if (!e && pub)
        e = ecred_write_file_atomic(pub, pem.ptr, pem.len, 0644);
    if (e) {
        rc = fail(1, "public key: %s", ecred_err_message(e));
        goto done;
    }
    if (!pub)
        fputs((const char *)pem.ptr, stdout);
done:
    ecred_buf_free(&pem);
    ecred_key_free(k);
    return rc;
}

int main(int argc, char **argv)
{
    enum { MODE_TIMED, MODE_CHALLENGE, MODE_KEYGEN } mode = MODE_TIMED;
    if (argc > 1 && strcmp(argv[1], "timed") == 0)
        argv++, argc--;
    else if (argc > 1 && strcmp(argv[1], "challenge") == 0)
        mode = MODE_CHALLENGE, argv++, argc--;
    else if (argc > 1 && strcmp(argv[1], "keygen") == 0)
        mode = MODE_KEYGEN, argv++, argc--;
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},   {"in", required_argument, NULL, 'i'},
        {"iat", required_argument, NULL, 't'},   {"iat-unix", required_argument, NULL, 'u'},
        {"aud", required_argument, NULL, 'a'},   {"nonce", required_argument, NULL, 'n'},
        {"code", required_argument, NULL, 'c'},  {"compress", required_argument, NULL, 'z'},
        {"cose-out", required_argument, NULL, 'C'}, {"out", required_argument, NULL, 'o'},
        {"pub", required_argument, NULL, 'p'},   {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0},
    };
    const char *key_path = NULL, *in = NULL, *aud = NULL, *nonce_hex = NULL, *code = NULL;
    const char *cose_path = NULL, *out = NULL, *pub = NULL;
    int64_t iat = (int64_t)time(NULL);
    ecred_compress compress = ECRED_COMPRESS_AUTO;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key_path = optarg; break;
        case 'i': in = optarg; break;
        case 't':
            if (ecred_time_parse(optarg, &iat) != ECRED_OK)
                return fail(EXIT_USAGE, "--iat %s: not an RFC 3339 date-time", optarg);
            break;
        case 'u': {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*optarg == 0 || *end || v < 0)
                return fail(EXIT_USAGE, "--iat-unix %s: not a number of seconds", optarg);
            iat = (int64_t)v;
            break;
        }
        case 'a': aud = optarg; break;
        case 'n': nonce_hex = optarg; break;
        case 'c': code = optarg; break;
        case 'z':
            if (strcmp(optarg, "auto") == 0)
                compress = ECRED_COMPRESS_AUTO;
            else if (strcmp(optarg, "none") == 0)
                compress = ECRED_COMPRESS_NONE;
            else if (strcmp(optarg, "dict") == 0)
                compress = ECRED_COMPRESS_DICT;
            else
                return fail(EXIT_USAGE, "--compress %s: auto, none or dict", optarg);
            break;
        case 'C': cose_path = optarg; break;
        case 'o': out = optarg; break;
        case 'p': pub = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("ecred-present %s\n", ECRED_VERSION); return 0;
        case ':': return fail(EXIT_USAGE, "option %s needs a value (see --help)", argv[optind - 1]);
        default: return fail(EXIT_USAGE, "unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (mode == MODE_KEYGEN)
        return keygen(out, pub);
    if (!key_path || !in)
        return fail(EXIT_USAGE, "--key and --in are required");
    uint8_t nonce[ECRED_PRESENT_NONCE_MAX];
    size_t nonce_len = 0;
    if (mode == MODE_CHALLENGE) {
        if (!aud || (!nonce_hex == !code))
            return fail(EXIT_USAGE, "challenge needs --aud and one of --nonce or --code");
        if (nonce_hex) {
            size_t hl = strlen(nonce_hex);
            if (hl == 0 || hl % 2 || hl / 2 > sizeof nonce ||
                ecred_unhex(nonce_hex, hl, nonce, hl / 2) != ECRED_OK)
                return fail(EXIT_USAGE, "--nonce: 2 to 64 hex digits");
            nonce_len = hl / 2;
        } else {
            size_t cl = strlen(code);
            if (cl < 4 || cl > 12 || strspn(code, "0123456789") != cl)
                return fail(EXIT_USAGE, "--code: 4 to 12 digits");
            memcpy(nonce, code, cl);
            nonce_len = cl;
        }
    } else if (aud || nonce_hex || code) {
        return fail(EXIT_USAGE, "--aud, --nonce and --code belong to `challenge`");
    }
    ecred_key *key = NULL;
    ecred_buf text_in = ECRED_BUF_INIT, text = ECRED_BUF_INIT, cose = ECRED_BUF_INIT;
    int rc = 0;
    ecred_err e = ecred_key_private_load(key_path, &key);
    if (e) {
        rc = fail(e == ECRED_ERR_IO ? 1 : EXIT_USAGE, "%s: %s", key_path, ecred_err_message(e));
        goto done;
    }
    e = strcmp(in, "-") == 0 ? ecred_read_fd(STDIN_FILENO, ECRED_QRTEXT_MAX, &text_in)
                             : ecred_read_file(in, ECRED_QRTEXT_MAX, &text_in);
    if (e) {
        rc = fail(e == ECRED_ERR_TOO_LARGE ? EXIT_USAGE : 1, "%s: %s", in, ecred_err_message(e));
        goto done;
    }
    ecred_present_make_opts mo = {.aud = aud, .nonce = nonce_len ? nonce : NULL,
                                  .nonce_len = nonce_len, .iat = iat, .compress = compress};
    e = ecred_present_make(key, (const char *)text_in.ptr, text_in.len, &mo, &text,
                           cose_path ? &cose : NULL);
    if (e == ECRED_ERR_INPUT) {
        rc = fail(EXIT_USAGE, "the credential is bound to another key, or --aud/--nonce out of range");
        goto done;
    }
    if (e) {
        rc = fail(e == ECRED_ERR_NOMEM || e == ECRED_ERR_CRYPTO ? 1 : EXIT_USAGE, "%s (%s)",
                  ecred_err_message(e), ecred_err_name(e));
        goto done;
    }
    if (cose_path && (e = ecred_write_file_atomic(cose_path, cose.ptr, cose.len, 0644))) {
        rc = fail(1, "%s: %s", cose_path, ecred_err_message(e));
        goto done;
    }
    printf("%s\n", (const char *)text.ptr);
done:
    ecred_buf_free(&text_in);
    ecred_buf_free(&text);
    ecred_buf_free(&cose);
    ecred_key_free(key);
    return rc;
}
