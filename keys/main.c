/*
 * main.c - the ecred-keys command line: make a private key, print a key's
 * public form or kid, and hand `trustlist` to its own module.
 *
 * This file only parses arguments, calls crypto.h and turns results into
 * messages and exit codes (0 ok, 1 I/O, 2 bad argument or unusable input).
 * It must never write a private key anywhere but through
 * ecred_key_private_save (O_EXCL, 0600: no overwrite), and never print one.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "ecred/buf.h"
#include "ecred/crypto.h"
#include "ecred/err.h"
#include "ecred/version.h"

#ifdef ECRED_HAVE_TRUSTLIST_CMD
#include "trustlist_cmd.h"
#endif

#define EXIT_IO 1
#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: ecred-keys <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  gen --out FILE [--alg ES256|EdDSA]\n"
    "        make a new private key (PKCS#8 PEM, mode 0600) in FILE; never\n"
    "        overwrites an existing FILE. Default algorithm: ES256 (P-256).\n"
    "  pub FILE\n"
    "        print the public key as PEM SubjectPublicKeyInfo.\n"
    "  kid FILE\n"
    "        print the key id (first 8 bytes of SHA-256 over the\n"
    "        SubjectPublicKeyInfo DER) as 16 lowercase hex digits.\n"
    "  trustlist sign|show ...\n"
    "        make or check a signed trust list (ecred-keys trustlist --help).\n"
    "  help, --help\n"
    "        show this text.\n"
    "\n"
    "FILE for pub and kid: a private key (which must not be readable by group\n"
    "or others), a public key (PEM or DER) or an X.509 certificate (PEM or DER).\n"
    "\n"
    "exit status: 0 ok, 1 input/output error, 2 bad argument or unusable key.\n";

/* Print a usage error and the hint to --help; returns the usage exit code. */
static int usage_error(const char *what, const char *arg)
{
    if (arg)
        fprintf(stderr, "ecred-keys: %s: %s\n", what, arg);
    else
        fprintf(stderr, "ecred-keys: %s\n", what);
    fprintf(stderr, "Try 'ecred-keys --help'.\n");
    return EXIT_USAGE;
}

/* Exit code for a library error: bad keys and bad input are the caller's
 * argument (2), everything else follows the shared table. */
static int exit_code_for(ecred_err e)
{
    switch (e) {
    case ECRED_ERR_KEY_INVALID:
    case ECRED_ERR_KEY_PERMISSIONS:
    case ECRED_ERR_TOO_LARGE:
    case ECRED_ERR_INPUT:
        return EXIT_USAGE;
    default:
        return ecred_err_exit_code(e);
    }
}

/* Flush stdout and turn a failed write (e.g. a full disk) into exit code 1. */
static int finish_stdout(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ecred-keys: cannot write output: %s\n", strerror(errno));
        return code ? code : EXIT_IO;
    }
    return code;
}

/* Does the file at path look like a PEM private key (of any kind)? Used only
 * to word a refusal; the bytes read are wiped. */
static bool file_looks_private(const char *path)
{
    static const char marker[] = "PRIVATE KEY-----";
    ecred_buf b = ECRED_BUF_INIT;
    bool found = false;
    if (ecred_read_file(path, ECRED_KEY_FILE_MAX, &b) == ECRED_OK) {
        size_t k = sizeof marker - 1;
        for (size_t i = 0; !found && k <= b.len && i <= b.len - k; i++)
            found = memcmp(b.ptr + i, marker, k) == 0;
    }
    ecred_buf_wipe(&b);
    return found;
}

/* Load FILE as a private key (permission rules apply) or else as a public key
 * or certificate. On failure prints why and returns the exit code; 0 on
 * success with *out set. */
static int load_any_key(const char *path, ecred_key **out)
{
    struct stat lst;
    if (lstat(path, &lst) != 0) {
        fprintf(stderr, "ecred-keys: cannot open %s: %s\n", path, strerror(errno));
        return EXIT_IO;
    }
    ecred_err e = ecred_key_open(path, out);
    if (e == ECRED_OK)
        return 0;
    if (e == ECRED_ERR_KEY_PERMISSIONS || e == ECRED_ERR_KEY_INVALID) {
        /* Public keys and certificates need no protection: a refused or
         * unparsable private key may still be one of those. */
        if (ecred_key_public_load(path, out) == ECRED_OK)
            return 0;
    }
    /* A world-readable file that is no key at all gets "not a key", not a
     * chmod hint that would not help. */
    if (e == ECRED_ERR_KEY_PERMISSIONS && !file_looks_private(path))
        e = ECRED_ERR_KEY_INVALID;
    switch (e) {
    case ECRED_ERR_KEY_PERMISSIONS:
        if (S_ISLNK(lst.st_mode))
            fprintf(stderr,
                    "ecred-keys: %s is a symbolic link; private keys are read only from "
                    "regular files (give the link's target instead)\n",
                    path);
        else
            fprintf(stderr,
                    "ecred-keys: %s is readable by group or others; run chmod 600 %s\n", path,
                    path);
        break;
    case ECRED_ERR_KEY_INVALID:
        fprintf(stderr,
                "ecred-keys: %s is not a P-256 or Ed25519 private key (PKCS#8 PEM, "
                "unencrypted), public key or certificate\n",
                path);
        break;
    case ECRED_ERR_TOO_LARGE:
        fprintf(stderr, "ecred-keys: %s is too large to be a key (limit %d bytes)\n", path,
                ECRED_KEY_FILE_MAX);
        break;
    case ECRED_ERR_IO:
        fprintf(stderr, "ecred-keys: cannot read %s (not a readable regular file)\n", path);
        break;
    default:
        fprintf(stderr, "ecred-keys: %s: %s\n", path, ecred_err_message(e));
        break;
    }
    return exit_code_for(e);
}

/* Parse "CMD FILE" (with an optional "--" before FILE) into *file; prints
 * usage text for --help and returns -1 then; otherwise 0 or an exit code. */
static int parse_one_file(const char *cmd, int argc, char **argv, const char **file)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        if (c == 'h') {
            printf("usage: ecred-keys %s FILE\n", cmd);
            return -1;
        }
        return usage_error("unknown option", argv[optind - 1]);
    }
    if (optind < argc && argv[optind][0] == 0)
        return usage_error("empty FILE argument", NULL);
    if (optind + 1 < argc)
        return usage_error("unexpected extra argument", argv[optind + 1]);
    if (optind == argc) {
        fprintf(stderr, "ecred-keys: %s: missing FILE\n", cmd);
        fprintf(stderr, "usage: ecred-keys %s FILE\n", cmd);
        return EXIT_USAGE;
    }
    *file = argv[optind];
    return 0;
}

/* ecred-keys pub FILE */
static int cmd_pub(int argc, char **argv)
{
    const char *file = NULL;
    int rc = parse_one_file("pub", argc, argv, &file);
    if (rc != 0)
        return rc < 0 ? finish_stdout(0) : rc;
    ecred_key *key = NULL;
    rc = load_any_key(file, &key);
    if (rc != 0)
        return rc;
    ecred_buf pem = ECRED_BUF_INIT;
    ecred_err e = ecred_key_public_pem(key, &pem);
    if (e == ECRED_OK)
        fputs((const char *)pem.ptr, stdout);
    else
        fprintf(stderr, "ecred-keys: %s\n", ecred_err_message(e));
    ecred_buf_free(&pem);
    ecred_key_free(key);
    return finish_stdout(e == ECRED_OK ? 0 : exit_code_for(e));
}

/* ecred-keys kid FILE */
static int cmd_kid(int argc, char **argv)
{
    const char *file = NULL;
    int rc = parse_one_file("kid", argc, argv, &file);
    if (rc != 0)
        return rc < 0 ? finish_stdout(0) : rc;
    ecred_key *key = NULL;
    rc = load_any_key(file, &key);
    if (rc != 0)
        return rc;
    char hex[2 * ECRED_KID_LEN + 1];
    ecred_hex(ecred_key_kid(key), ECRED_KID_LEN, hex);
    printf("%s\n", hex);
    ecred_key_free(key);
    return finish_stdout(0);
}

/* ecred-keys gen --out FILE [--alg ES256|EdDSA] */
static int cmd_gen(int argc, char **argv)
{
    static const char gen_usage[] = "usage: ecred-keys gen --out FILE [--alg ES256|EdDSA]\n";
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'}, {"alg", required_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
    };
    const char *out = NULL, *alg_name = NULL;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': fputs(gen_usage, stdout); return finish_stdout(0);
        case 'o':
            if (out)
                return usage_error("--out given twice", NULL);
            out = optarg;
            break;
        case 'a':
            if (alg_name)
                return usage_error("--alg given twice", NULL);
            alg_name = optarg;
            break;
        case ':': return usage_error("option needs a value", argv[optind - 1]);
        default: return usage_error("unknown option", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument (did you mean --out?)", argv[optind]);
    if (!out || out[0] == 0) {
        fprintf(stderr, "ecred-keys: gen: --out FILE is required\n");
        fputs(gen_usage, stderr);
        return EXIT_USAGE;
    }
    int alg = ECRED_COSE_ALG_ES256;
    if (alg_name) {
        if (strcasecmp(alg_name, "ES256") == 0)
            alg = ECRED_COSE_ALG_ES256;
        else if (strcasecmp(alg_name, "EdDSA") == 0 || strcasecmp(alg_name, "Ed25519") == 0)
            alg = ECRED_COSE_ALG_EDDSA;
        else
            return usage_error("unknown --alg (use ES256 or EdDSA)", alg_name);
    }

    ecred_key *key = NULL;
    ecred_err e = ecred_key_generate(alg, &key);
    if (e != ECRED_OK) {
        fprintf(stderr, "ecred-keys: cannot generate a key: %s\n", ecred_err_message(e));
        return exit_code_for(e);
    }
    errno = 0;
    e = ecred_key_private_save(key, out);
    /* errno still names the failed system call: the library prints nothing. */
    int save_errno = errno;
    if (e == ECRED_ERR_EXISTS) {
        fprintf(stderr, "ecred-keys: %s already exists; refusing to overwrite it\n", out);
    } else if (e == ECRED_ERR_IO) {
        fprintf(stderr, "ecred-keys: cannot create %s: %s\n", out,
                save_errno ? strerror(save_errno) : "input/output error");
    } else if (e != ECRED_OK) {
        fprintf(stderr, "ecred-keys: cannot write %s: %s\n", out, ecred_err_message(e));
    } else {
        char hex[2 * ECRED_KID_LEN + 1];
        ecred_hex(ecred_key_kid(key), ECRED_KID_LEN, hex);
        printf("wrote %s (%s, kid %s)\n", out, alg == ECRED_COSE_ALG_ES256 ? "ES256" : "EdDSA",
               hex);
    }
    ecred_key_free(key);
    return finish_stdout(e == ECRED_OK ? 0 : exit_code_for(e));
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage_text, stdout);
        return finish_stdout(0);
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("ecred-keys %s\n", ECRED_VERSION);
        return finish_stdout(0);
    }
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "pub") == 0)
        return cmd_pub(argc - 1, argv + 1);
    if (strcmp(cmd, "kid") == 0)
        return cmd_kid(argc - 1, argv + 1);
    if (strcmp(cmd, "trustlist") == 0) {
#ifdef ECRED_HAVE_TRUSTLIST_CMD
        return keys_cmd_trustlist(argc - 1, argv + 1);
#else
        fprintf(stderr, "ecred-keys: trustlist: not built into this ecred-keys\n");
        return EXIT_USAGE;
#endif
    }
    return usage_error("unknown command", cmd);
}
