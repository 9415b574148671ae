/*
 * bench_slist.c - status lists at 1 M and 10 M entries (2 bits, 1% INVALID at
 * random): build, compress (ecred_slist_encode), sign (ecred_slist_token_sign),
 * load (ecred_slist_token_verify), lookup cost, and resident memory of the
 * loaded lists. Baselines in the same process: raw zlib compress2/uncompress
 * level 9 of the same packed bytes (Z_RLE for the token, which uses it), a raw 2-bit array read, and the packed
 * size itself for memory. Prints ROW lines (bench_util.h); never writes files.
 */
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bench_util.h"
#include "ecred/crypto.h"
#include "ecred/slist.h"

#define LOOKUP_BATCH 1024
#define N_LOOKUP_IDX ((size_t)1 << 16)

static void die(const char *what) { bench_die("bench_slist", what); }

/* xorshift64*: deterministic, so every run revokes the same entries. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

/* An all-VALID list with exactly count/100 distinct entries INVALID. */
static void build_list(size_t count, ecred_slist *l)
{
    if (ecred_slist_init(l, ECRED_SLIST_BITS, count))
        die("cannot allocate the list");
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ count;
    size_t want = count / 100, set = 0;
    for (size_t tries = 0; set < want && tries < 4 * want; tries++) {
        size_t idx = (size_t)(rng_next(&seed) % count);
        unsigned v;
        if (ecred_slist_get(l, idx, &v))
            die("lookup failed");
        if (v == ECRED_STATUS_VALID) {
            if (ecred_slist_set(l, idx, ECRED_STATUS_INVALID))
                die("set failed");
            set++;
        }
    }
    if (set != want)
        die("could not revoke 1% of the list");
}

/* Baseline of build_list: the same revocations written straight into a
 * calloc'd byte array, no API. Returns the number of entries set. */
static size_t raw_build(size_t count)
{
    size_t nbytes = (count * 2 + 7) / 8;
    uint8_t *bytes = calloc(nbytes, 1);
    if (!bytes)
        die("out of memory");
    uint64_t seed = 0x9E3779B97F4A7C15ULL ^ count;
    size_t want = count / 100, set = 0;
    for (size_t tries = 0; set < want && tries < 4 * want; tries++) {
        size_t idx = (size_t)(rng_next(&seed) % count);
        unsigned shift = (unsigned)(idx & 3) * 2;
        if ((((unsigned)bytes[idx >> 2] >> shift) & 3u) == ECRED_STATUS_VALID) {
            bytes[idx >> 2] = (uint8_t)(bytes[idx >> 2] | (ECRED_STATUS_INVALID << shift));
            set++;
        }
    }
    free(bytes);
    return set;
}

static long vm_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
    return kib;
}

typedef struct lookup_ctx {
    const ecred_slist *l;
    const size_t *idx;
    size_t pos;
    unsigned sink;
} lookup_ctx;

static int op_lookup(void *ctx)
{
    lookup_ctx *c = ctx;
    for (int i = 0; i < LOOKUP_BATCH; i++) {
        unsigned v;
        if (ecred_slist_get(c->l, c->idx[c->pos], &v))
            return 1;
        c->sink += v;
        c->pos = (c->pos + 1) % N_LOOKUP_IDX;
    }
    return 0;
}

/* The same read without the API: byte, shift, mask. */
static int op_raw_read(void *ctx)
{
    lookup_ctx *c = ctx;
    const uint8_t *bytes = c->l->bytes;
    for (int i = 0; i < LOOKUP_BATCH; i++) {
        size_t k = c->idx[c->pos];
        c->sink += ((unsigned)bytes[k >> 2] >> ((k & 3) * 2)) & 3u;
        c->pos = (c->pos + 1) % N_LOOKUP_IDX;
    }
    return 0;
}

typedef struct timings {
    double build, raw_build, encode, sign, raw_compress, raw_compress_rle, verify, raw_uncompress;
    size_t lst_size, token_size, raw_z_size;
} timings;

static void one_rep(size_t count, const ecred_key *key, timings *t)
{
    ecred_slist l;
    double t0 = bench_cpu_now();
    build_list(count, &l);
    t->build = bench_cpu_now() - t0;
    t0 = bench_cpu_now();
    if (raw_build(count) != count / 100)
        die("raw build differs");
    t->raw_build = bench_cpu_now() - t0;

    ecred_buf enc = ECRED_BUF_INIT, tok = ECRED_BUF_INIT;
    t0 = bench_cpu_now();
    if (ecred_slist_encode(&l, &enc))
        die("encode failed");
    t->encode = bench_cpu_now() - t0;
    t->lst_size = enc.len;

    ecred_slist_token tk;
    memset(&tk, 0, sizeof tk);
    strcpy(tk.uri, "https://jzz.sh.gov.cn/s/1");
    tk.iat = 1795000000;
    tk.exp = tk.iat + 86400;
    tk.ttl = 3600;
    tk.list = l;
    t0 = bench_cpu_now();
    if (ecred_slist_token_sign(key, &tk, &tok))
        die("token sign failed");
    t->sign = bench_cpu_now() - t0;
    t->token_size = tok.len;

    uLongf zcap = compressBound((uLong)l.nbytes);
    uint8_t *z = malloc(zcap), *back = malloc(l.nbytes);
    if (!z || !back)
        die("out of memory");
    t0 = bench_cpu_now();
    if (compress2(z, &zcap, l.bytes, (uLong)l.nbytes, 9) != Z_OK)
        die("compress2 failed");
    t->raw_compress = bench_cpu_now() - t0;
    t->raw_z_size = zcap;
    /* The token's own compression for a list this size: run-length matching
     * (ECRED_ZLIB_RLE, spec/statuslist.md section 1), raw. */
    {
        uLongf rcap = compressBound((uLong)l.nbytes);
        uint8_t *rz = malloc(rcap);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        if (!rz || deflateInit2(&zs, 9, Z_DEFLATED, 15, 8, Z_RLE) != Z_OK)
            die("deflateInit2 failed");
        t0 = bench_cpu_now();
        zs.next_in = l.bytes;
        zs.avail_in = (uInt)l.nbytes;
        zs.next_out = rz;
        zs.avail_out = (uInt)rcap;
        if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
            die("deflate Z_RLE failed");
        t->raw_compress_rle = bench_cpu_now() - t0;
        deflateEnd(&zs);
        free(rz);
    }

    ecred_slist_token out;
    t0 = bench_cpu_now();
    if (ecred_slist_token_verify(tok.ptr, tok.len, key, tk.iat, &out))
        die("token verify failed");
    t->verify = bench_cpu_now() - t0;
    if (out.list.nbytes != l.nbytes || memcmp(out.list.bytes, l.bytes, l.nbytes) != 0)
        die("the loaded list differs from the signed one");
    ecred_slist_free(&out.list);

    uLongf blen = (uLongf)l.nbytes;
    t0 = bench_cpu_now();
    if (uncompress(back, &blen, z, zcap) != Z_OK || blen != l.nbytes)
        die("uncompress failed");
    t->raw_uncompress = bench_cpu_now() - t0;

    free(z);
    free(back);
    ecred_buf_free(&enc);
    ecred_buf_free(&tok);
    ecred_slist_free(&l);
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median of field at byte offset off across reps. */
static double med(const timings *t, int reps, size_t off)
{
    double v[64];
    for (int i = 0; i < reps; i++)
        v[i] = *(const double *)((const char *)&t[i] + off);
    qsort(v, (size_t)reps, sizeof *v, cmp_d);
    return reps % 2 ? v[reps / 2] : (v[reps / 2 - 1] + v[reps / 2]) / 2;
}

static void run_size(size_t count, const char *label, const ecred_key *key, const bench_opts *o)
{
    timings t[64];
    int reps = o->reps > 64 ? 64 : o->reps;
    for (int r = 0; r < reps; r++)
        one_rep(count, key, &t[r]);
    double build = med(t, reps, offsetof(timings, build));
    double rawb = med(t, reps, offsetof(timings, raw_build));
    double encode = med(t, reps, offsetof(timings, encode));
    double sign = med(t, reps, offsetof(timings, sign));
    double rawc = med(t, reps, offsetof(timings, raw_compress));
    double rawr = med(t, reps, offsetof(timings, raw_compress_rle));
    double verify = med(t, reps, offsetof(timings, verify));
    double rawu = med(t, reps, offsetof(timings, raw_uncompress));
    char fig[128], note[192];

    snprintf(fig, sizeof fig, "status list %s: build (1%% INVALID)", label);
    snprintf(note, sizeof note, "%zu ecred_slist_set calls; ratio = raw time / our time", count / 100);
    bench_row(fig, build * 1e3, "ms", "calloc + the same 2-bit writes, no API", rawb * 1e3,
              rawb / build, "", note);
    snprintf(fig, sizeof fig, "status list %s: compress (slist_encode)", label);
    snprintf(note, sizeof note, "lst %zu bytes (raw zlib %zu) of %zu packed, %.2f%%", t[0].lst_size,
             t[0].raw_z_size, (count * 2 + 7) / 8, 100.0 * (double)t[0].lst_size / (double)((count * 2 + 7) / 8));
    bench_row(fig, encode * 1e3, "ms", "raw zlib compress2 -9 of the packed bytes", rawc * 1e3,
              rawc / encode, "", note);
    snprintf(fig, sizeof fig, "status list %s: encode+sign token", label);
    snprintf(note, sizeof note, "token %zu bytes, run-length coded (spec/statuslist.md 1); ES256 signature included",
             t[0].token_size);
    bench_row(fig, sign * 1e3, "ms", "raw zlib Z_RLE (the token's compression) of the packed bytes", rawr * 1e3,
              rawr / sign, "", note);
    snprintf(fig, sizeof fig, "status list %s: verify+load token", label);
    bench_row(fig, verify * 1e3, "ms", "raw zlib uncompress of the same bytes", rawu * 1e3, rawu / verify,
              "", "verifier side: signature, CBOR, capped inflate");

    /* Lookup: random indices over the whole list (cache misses included). */
    ecred_slist l;
    build_list(count, &l);
    size_t *idx = malloc(N_LOOKUP_IDX * sizeof *idx);
    if (!idx)
        die("out of memory");
    uint64_t seed = 12345;
    for (size_t i = 0; i < N_LOOKUP_IDX; i++)
        idx[i] = (size_t)(rng_next(&seed) % count);
    lookup_ctx a = {&l, idx, 0, 0}, b = {&l, idx, 0, 0};
    bench_pair p;
    if (bench_compare(op_lookup, &a, op_raw_read, &b, o, 16, &p))
        die("lookup failed");
    double ns = 1e9 / (p.rate * LOOKUP_BATCH), base_ns = 1e9 / (p.base_rate * LOOKUP_BATCH);
    char spread[96];
    snprintf(spread, sizeof spread, "%.3f..%.3f (n=%d)", p.ratio_min, p.ratio_max, p.reps);
    snprintf(fig, sizeof fig, "status list %s: lookup (ecred_slist_get)", label);
    bench_row(fig, ns, "ns", "raw 2-bit array read", base_ns, p.ratio, spread,
              a.sink + b.sink == 0 ? "random indices" : "random indices over the whole list");
    free(idx);
    ecred_slist_free(&l);
}

/* Resident memory of both lists loaded as a verifier holds them. */
static void run_rss(const ecred_key *key)
{
    const size_t counts[2] = {(size_t)1000000, (size_t)10000000};
    ecred_buf tok[2] = {ECRED_BUF_INIT, ECRED_BUF_INIT};
    for (int i = 0; i < 2; i++) {
        ecred_slist l;
        build_list(counts[i], &l);
        ecred_slist_token tk;
        memset(&tk, 0, sizeof tk);
        strcpy(tk.uri, "https://jzz.sh.gov.cn/s/1");
        tk.iat = 1795000000;
        tk.list = l;
        if (ecred_slist_token_sign(key, &tk, &tok[i]))
            die("token sign failed");
        ecred_slist_free(&l);
    }
    malloc_trim(0);
    long before = vm_rss_kib();
    ecred_slist_token out[2];
    size_t packed = 0;
    for (int i = 0; i < 2; i++) {
        if (ecred_slist_token_verify(tok[i].ptr, tok[i].len, key, 1795000000, &out[i]))
            die("token verify failed");
        packed += out[i].list.nbytes;
    }
    malloc_trim(0);
    long after = vm_rss_kib();
    double delta = (double)(after - before) * 1024;
    char note[160];
    snprintf(note, sizeof note, "VmRSS %ld -> %ld KiB; ratio = packed bytes / RSS growth", before, after);
    bench_row("status lists 1M+10M loaded: RSS growth", delta / 1048576, "MiB",
              "packed 2-bit bytes of both lists", (double)packed / 1048576,
              delta > 0 ? (double)packed / delta : 0, "", note);
    for (int i = 0; i < 2; i++) {
        ecred_slist_free(&out[i].list);
        ecred_buf_free(&tok[i]);
    }
}

int main(int argc, char **argv)
{
    bench_opts o = {5, 0.3, 1000000};
    const char *dir = ECRED_SOURCE_DIR;
    for (int i = 1; i < argc; i++) {
        int t = bench_take_common(argc, argv, &i, &o);
        if (t < 0)
            die("bad --reps or --seconds");
        if (t)
            continue;
        if (strcmp(argv[i], "--source-dir") == 0 && i + 1 < argc) {
            dir = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_slist [--reps N] [--seconds S] [--source-dir DIR]\n");
            return 2;
        }
    }
    char path[4096];
    ecred_key *key = NULL;
    ecred_buf pem = ECRED_BUF_INIT;
    if ((size_t)snprintf(path, sizeof path, "%s/tests/vectors/keys/test-issuer.key.pem", dir) >=
            sizeof path ||
        ecred_read_file(path, 65536, &pem) || ecred_key_private_from_pem(pem.ptr, pem.len, &key))
        die("cannot load the test issuer key");
    ecred_buf_wipe(&pem);
    /* RSS first, while the heap is still small and quiet. */
    run_rss(key);
    run_size((size_t)1000000, "1M", key, &o);
    run_size((size_t)10000000, "10M", key, &o);
    ecred_key_free(key);
    return 0;
}
