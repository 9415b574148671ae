/*
 * bare_mhd.c - the baseline of the daemon load figures: libmicrohttpd in the
 * same threading mode as ecred-issuerd and ecred-verifierd (an internal
 * polling thread per pool thread, MHD_OPTION_THREAD_POOL_SIZE, the same
 * connection caps), answering every request with one fixed JSON body after
 * reading (and dropping) any request body. What the daemons add on top of
 * this is what their figures measure.
 *
 * With --verify-bytes N it is the second, fairer baseline of the verify API:
 * before answering, every request does one raw OpenSSL ES256 verification
 * (EVP_DigestVerify, SHA-256 fetched once, a public key parsed once) of a
 * valid signature over N bytes, N being a credential's Sig_structure length.
 * That is the crypto a verifier cannot avoid; the rest of a decision (base45,
 * CBOR, claims, status, the answer) is what the verify API adds on top.
 *
 * Listens on 127.0.0.1 at an ephemeral port written to --port-file, and stops
 * by itself after --max-seconds (or on SIGTERM/SIGINT).
 *
 * Must never: listen on anything but loopback, or run unbounded.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/x509.h>


static const char bare_body[] =
    "{\"outcome\":\"valid\",\"reason\":\"ok\",\"role\":\"police\",\"status\":{\"value\":\"VALID\"}}";

static volatile sig_atomic_t bare_stop;

#define BARE_MSG_MAX 4096

/* The --verify-bytes material: set up once in main, read-only afterwards, so
 * the pool threads share it (OpenSSL 3 keys and fetched digests may be used
 * from several threads at once; each request makes its own EVP_MD_CTX). */
static struct {
    EVP_PKEY *pub;
    EVP_MD *sha256;
    unsigned char msg[BARE_MSG_MAX];
    size_t msg_len;
    unsigned char sig[80];
    size_t sig_len;
} bare_es256;

/* One ES256 verification of the prepared signature: 1 if it verified. */
static int bare_verify_once(void)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, bare_es256.sha256, NULL, bare_es256.pub) == 1 &&
             EVP_DigestVerify(md, bare_es256.sig, bare_es256.sig_len, bare_es256.msg, bare_es256.msg_len) == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

/* A fresh P-256 key signs msg_len bytes once; only the public half, parsed
 * back from its DER as a verifier parses a trust list key, is kept. */
static int bare_es256_setup(size_t msg_len)
{
    int ok = 0;
    EVP_PKEY *priv = EVP_EC_gen("P-256");
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *der = NULL;
    bare_es256.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    bare_es256.msg_len = msg_len;
    for (size_t i = 0; i < msg_len; i++)
        bare_es256.msg[i] = (unsigned char)(i * 131u + 7u);
    size_t sig_len = sizeof bare_es256.sig;
    if (!priv || !md || !bare_es256.sha256 ||
        EVP_DigestSignInit(md, NULL, bare_es256.sha256, NULL, priv) != 1 ||
        EVP_DigestSign(md, bare_es256.sig, &sig_len, bare_es256.msg, msg_len) != 1)
        goto done;
    bare_es256.sig_len = sig_len;
    int der_len = i2d_PUBKEY(priv, &der);
    const unsigned char *p = der;
    if (der_len <= 0 || !(bare_es256.pub = d2i_PUBKEY(NULL, &p, der_len)))
        goto done;
    ok = bare_verify_once();
done:
    OPENSSL_free(der);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(priv);
    return ok;
}

static void bare_on_signal(int sig)
{
    (void)sig;
    bare_stop = 1;
}

/* Access handler: first call marks the request, body pieces are dropped,
 * the final call queues the fixed JSON answer. */
static enum MHD_Result bare_access(void *cls, struct MHD_Connection *conn, const char *url,
                                     const char *method, const char *version,
                                     const char *upload_data, size_t *upload_data_size,
                                     void **con_cls)
{
    static int marker;
    const int *verify = cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) {
        *con_cls = &marker;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*verify && !bare_verify_once())
        return MHD_NO; /* never happens with the prepared signature; fail loudly */
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        sizeof bare_body - 1, (void *)(uintptr_t)bare_body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

int main(int argc, char **argv)
{
    unsigned threads = 4;
    double max_seconds = 120;
    const char *port_file = NULL;
    static int verify;
    size_t verify_bytes = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--threads") == 0)
            threads = (unsigned)strtoul(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--max-seconds") == 0)
            max_seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--port-file") == 0)
            port_file = argv[i + 1];
        else if (strcmp(argv[i], "--verify-bytes") == 0)
            verify_bytes = (size_t)strtoul(argv[i + 1], NULL, 10);
        else {
            fprintf(stderr, "usage: bare_mhd --port-file F [--threads 4] [--max-seconds 120] [--verify-bytes N]\n");
            return 2;
        }
    }
    if (!port_file || threads < 1 || threads > 64 || !(max_seconds > 0 && max_seconds <= 3600) ||
        verify_bytes > BARE_MSG_MAX) {
        fprintf(stderr, "usage: bare_mhd --port-file F [--threads 1..64] [--max-seconds 1..3600]"
                        " [--verify-bytes 1..%d]\n", BARE_MSG_MAX);
        return 2;
    }
    verify = verify_bytes > 0;
    if (verify && !bare_es256_setup(verify_bytes)) {
        fprintf(stderr, "bare_mhd: cannot set up the ES256 verification\n");
        return 1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* The daemons' mode (poll() in one internal thread per pool thread) and
     * the verifier's caps (verifier/vd_state.h); the issuer differs only in allowing
     * 512 connections and 128 KiB each, which a 64-connection run never reaches.
     * (MHD splits the connection limit among the pool threads: 1024, as the
     * verifier, so 64 unevenly accepted connections never hit a thread's share.) */
    struct MHD_Daemon *mhd = MHD_start_daemon(
        MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, bare_access, &verify,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_CONNECTION_LIMIT, 1024u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!mhd) {
        fprintf(stderr, "bare_mhd: cannot start libmicrohttpd\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
    /* Written aside and renamed, so a reader never sees half a number. */
    char tmp_path[4096];
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", port_file);
    FILE *f = info ? fopen(tmp_path, "w") : NULL;
    if (!f) {
        fprintf(stderr, "bare_mhd: cannot learn or write the port\n");
        MHD_stop_daemon(mhd);
        return 1;
    }
    fprintf(f, "%u\n", (unsigned)info->port);
    if (fclose(f) != 0 || rename(tmp_path, port_file) != 0) {
        fprintf(stderr, "bare_mhd: cannot write %s\n", port_file);
        MHD_stop_daemon(mhd);
        return 1;
    }
    signal(SIGTERM, bare_on_signal);
    signal(SIGINT, bare_on_signal);
    struct timespec tick = {0, 50 * 1000 * 1000};
    for (double waited = 0; !bare_stop && waited < max_seconds; waited += 0.05)
        nanosleep(&tick, NULL);
    MHD_stop_daemon(mhd);
    EVP_PKEY_free(bare_es256.pub);
    EVP_MD_free(bare_es256.sha256);
    return 0;
}
