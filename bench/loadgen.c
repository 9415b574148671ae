/*
 * loadgen.c - a small closed-loop HTTP/1.1 load generator for bench/run: a
 * fixed number of keep-alive connections to one loopback address, each
 * sending its next request as soon as the previous answer is complete, with
 * the latency of every request recorded (p50/p99 from the full sample, not a
 * histogram).
 *
 * Every request is the same (method, path, headers, body) unless --paths
 * names a file of paths, one per line, each used exactly once (approvals of
 * pre-created applications). A run stops by itself at the first of: the
 * request cap, the path list running out, or --seconds of wall time; answers
 * still missing --grace seconds after that count as errors.
 *
 * Output, one line on stdout:
 *   LOAD|completed|errors|wall seconds|requests per second|p50 us|p99 us|max us
 * With --ids-out FILE, the value of the first "id":"..." of each answer is
 * written there, one per line (how bench/run learns created application ids).
 *
 * Must never: talk to anything but a numeric IPv4 address given on the
 * command line, run unbounded, or count an answer whose status differs from
 * --expect as a success.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LG_CONNS_MAX 1024
#define LG_REQUESTS_MAX 5000000u
#define LG_HEADERS_MAX 8
#define LG_BODY_MAX (1024 * 1024)
#define LG_REPLY_MAX (4 * 1024 * 1024)
#define LG_PATH_MAX 1024

typedef struct lg_conn {
    int fd;
    bool busy;          /* a request is in flight */
    char *out;          /* the request being sent */
    size_t out_len, out_off;
    char *in;           /* the answer read so far */
    size_t in_len, in_cap;
    double started;     /* wall time the request was first written */
    bool want_out;      /* EPOLLOUT armed: only while a write is pending */
} lg_conn;

typedef struct lg_run {
    struct sockaddr_in addr;
    const char *method;
    const char *path;
    char **paths;       /* --paths: each used once; NULL for a fixed path */
    size_t npaths;
    const char *headers[LG_HEADERS_MAX];
    size_t nheaders;
    char *body;
    size_t body_len;
    unsigned expect;
    uint64_t max_requests;
    double seconds, grace;
    FILE *ids_out;
    /* progress */
    uint64_t issued, completed, errors;
    double *lat_us;     /* one per completed request */
    double t0, t_last;
    lg_conn conns[LG_CONNS_MAX];
    unsigned nconns;
    int ep;
} lg_run;

/* Monotonic wall-clock seconds. */
static double lg_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int lg_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Read a whole file (at most cap bytes) into a NUL-terminated heap buffer;
 * NULL on error or if larger. */
static char *lg_slurp(const char *path, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *p = malloc(cap + 1);
    size_t n = p ? fread(p, 1, cap + 1, f) : 0;
    bool bad = !p || ferror(f) || n > cap;
    fclose(f);
    if (bad) {
        free(p);
        return NULL;
    }
    p[n] = '\0';
    *len = n;
    return p;
}

/* Split the --paths file into lines (in place); false if a line is empty or too long. */
static bool lg_load_paths(lg_run *r, const char *file)
{
    size_t len;
    char *all = lg_slurp(file, 64u * 1024 * 1024, &len);
    if (!all)
        return false;
    size_t cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += all[i] == '\n';
    r->paths = calloc(cap, sizeof *r->paths);
    if (!r->paths)
        return false;
    for (char *line = all, *nl; line && *line; line = nl) {
        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        size_t n = strlen(line);
        if (n == 0 || n > LG_PATH_MAX || line[0] != '/')
            return false;
        r->paths[r->npaths++] = line;
    }
    return r->npaths > 0;
}

/* Build the next request for c; false once the budget (count, paths, time) is spent. */
static bool lg_next_request(lg_run *r, lg_conn *c, double now)
{
    if (r->issued >= r->max_requests || now - r->t0 >= r->seconds)
        return false;
    const char *path = r->path;
    if (r->paths) {
        if (r->issued >= r->npaths)
            return false;
        path = r->paths[r->issued];
    }
    size_t cap = 256 + strlen(r->method) + strlen(path) + r->body_len;
    for (size_t i = 0; i < r->nheaders; i++)
        cap += strlen(r->headers[i]) + 2;
    char *p = malloc(cap);
    if (!p)
        return false;
    int n = snprintf(p, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %zu\r\n", r->method,
                     path, r->body_len);
    size_t off = (size_t)n;
    for (size_t i = 0; i < r->nheaders; i++)
        off += (size_t)snprintf(p + off, cap - off, "%s\r\n", r->headers[i]);
    off += (size_t)snprintf(p + off, cap - off, "\r\n");
    memcpy(p + off, r->body, r->body_len);
    off += r->body_len;
    free(c->out);
    c->out = p;
    c->out_len = off;
    c->out_off = 0;
    c->in_len = 0;
    c->busy = true;
    c->started = now;
    r->issued++;
    return true;
}

/* Open a non-blocking connection for c and register it; false on failure. */
static bool lg_connect(lg_run *r, lg_conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (const struct sockaddr *)&r->addr, sizeof r->addr) != 0 && errno != EINPROGRESS) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    /* Writable until the connect finishes: arm EPOLLOUT for the first request. */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    c->want_out = true;
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

static void lg_close(lg_run *r, lg_conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(r->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
}

/* Case-insensitive search for header `name` in the head [h, h+n); returns its value or NULL. */
static const char *lg_header(const char *h, size_t n, const char *name)
{
    size_t k = strlen(name);
    for (size_t i = 0; i + k < n; i++) {
        if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, name, k) == 0 && h[i + k] == ':') {
            const char *v = h + i + k + 1;
            while (*v == ' ')
                v++;
            return v;
        }
    }
    return NULL;
}

/* Write the first "id":"..." value of a complete answer body to --ids-out. */
static void lg_capture_id(lg_run *r, const char *body, size_t n)
{
    static const char key[] = "\"id\":\"";
    const char *p = memmem(body, n, key, sizeof key - 1);
    if (!p)
        return;
    p += sizeof key - 1;
    const char *end = memchr(p, '"', n - (size_t)(p - body));
    if (end && end - p < 128)
        fprintf(r->ids_out, "%.*s\n", (int)(end - p), p);
}

/* The answer in c->in is complete when it returns 1 (and says whether to
 * reconnect), 0 if more bytes are needed, -1 if it is not HTTP we understand. */
static int lg_answer_done(lg_run *r, lg_conn *c, bool *close_after)
{
    char *head_end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!head_end)
        return c->in_len > 64 * 1024 ? -1 : 0;
    size_t head_len = (size_t)(head_end - c->in) + 4;
    const char *cl = lg_header(c->in, head_len, "Content-Length");
    if (!cl || strncmp(c->in, "HTTP/1.", 7) != 0)
        return -1; /* our daemons always send Content-Length */
    char *end;
    unsigned long long body_len = strtoull(cl, &end, 10);
    if (end == cl || body_len > LG_REPLY_MAX)
        return -1;
    if (c->in_len < head_len + body_len)
        return 0;
    unsigned status = (unsigned)strtoul(c->in + 9, NULL, 10);
    const char *conn = lg_header(c->in, head_len, "Connection");
    *close_after = conn && strncasecmp(conn, "close", 5) == 0;
    if (status != r->expect) {
        r->errors++;
        if (r->errors <= 3)
            fprintf(stderr, "loadgen: HTTP %u (want %u): %.*s\n", status, r->expect,
                    (int)(body_len > 300 ? 300 : body_len), c->in + head_len);
    } else {
        if (r->ids_out)
            lg_capture_id(r, c->in + head_len, (size_t)body_len);
        double t = lg_now();
        r->lat_us[r->completed++] = (t - c->started) * 1e6;
        r->t_last = t;
    }
    c->busy = false;
    return 1;
}

/* Arm or disarm EPOLLOUT: level-triggered and always armed, it would spin. */
static bool lg_want_out(lg_run *r, lg_conn *c, bool on)
{
    if (c->want_out == on)
        return true;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0u), .data.ptr = c};
    c->want_out = on;
    return epoll_ctl(r->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0;
}

/* Drive one connection after an epoll event; false if it failed (counted as an error). */
static bool lg_service(lg_run *r, lg_conn *c, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP) && !(events & EPOLLIN))
        return false;
    while (c->busy && c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN))
            return lg_want_out(r, c, true);
        if (n < 0)
            return false;
        c->out_off += (size_t)n;
    }
    if (!lg_want_out(r, c, false))
        return false;
    if (!(events & EPOLLIN))
        return true;
    for (;;) {
        if (c->in_cap - c->in_len < 16384) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
            if (cap > LG_REPLY_MAX + 65536)
                return false;
            char *p = realloc(c->in, cap);
            if (!p)
                return false;
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        if (n <= 0)
            return false;
        if (!c->busy)
            return false; /* bytes nobody asked for */
        c->in_len += (size_t)n;
        bool close_after = false;
        int done = lg_answer_done(r, c, &close_after);
        if (done < 0)
            return false;
        if (done == 0)
            continue;
        if (close_after) {
            lg_close(r, c);
            if (!lg_connect(r, c))
                return false;
        }
        if (lg_next_request(r, c, lg_now()) && c->fd >= 0) {
            /* Try to send at once; EPOLLOUT finishes a partial write. */
            return lg_service(r, c, EPOLLOUT);
        }
        return true;
    }
}

static void lg_usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P [--host 127.0.0.1] --conns N --requests MAX --seconds S\n"
            "               [--method POST] [--path /x | --paths FILE] [--header 'K: V']...\n"
            "               [--body-file F] [--expect 200] [--grace 5] [--ids-out FILE]\n");
}

/* Strict unsigned parse within [lo, hi]. */
static bool lg_uint(const char *s, unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    static lg_run r;
    const char *host = "127.0.0.1", *paths_file = NULL, *body_file = NULL, *ids_file = NULL;
    unsigned long long port = 0, conns = 1, v;
    r.method = "GET";
    r.path = "/";
    r.expect = 200;
    r.max_requests = 1000;
    r.seconds = 2;
    r.grace = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!val) {
            lg_usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--host") == 0)
            host = val;
        else if (strcmp(a, "--port") == 0 && lg_uint(val, 1, 65535, &port))
            ;
        else if (strcmp(a, "--conns") == 0 && lg_uint(val, 1, LG_CONNS_MAX, &conns))
            ;
        else if (strcmp(a, "--requests") == 0 && lg_uint(val, 1, LG_REQUESTS_MAX, &v))
            r.max_requests = v;
        else if (strcmp(a, "--expect") == 0 && lg_uint(val, 100, 599, &v))
            r.expect = (unsigned)v;
        else if (strcmp(a, "--seconds") == 0 && (r.seconds = atof(val)) > 0 && r.seconds <= 600)
            ;
        else if (strcmp(a, "--grace") == 0 && (r.grace = atof(val)) > 0 && r.grace <= 60)
            ;
        else if (strcmp(a, "--method") == 0)
            r.method = val;
        else if (strcmp(a, "--path") == 0 && val[0] == '/' && strlen(val) <= LG_PATH_MAX)
            r.path = val;
        else if (strcmp(a, "--paths") == 0)
            paths_file = val;
        else if (strcmp(a, "--header") == 0 && r.nheaders < LG_HEADERS_MAX && !strpbrk(val, "\r\n"))
            r.headers[r.nheaders++] = val;
        else if (strcmp(a, "--body-file") == 0)
            body_file = val;
        else if (strcmp(a, "--ids-out") == 0)
            ids_file = val;
        else {
            fprintf(stderr, "loadgen: bad option or value: %s %s\n", a, val);
            lg_usage();
            return 2;
        }
    }
    r.addr.sin_family = AF_INET;
    r.addr.sin_port = htons((uint16_t)port);
    if (port == 0 || inet_pton(AF_INET, host, &r.addr.sin_addr) != 1) {
        fprintf(stderr, "loadgen: --port and a numeric IPv4 --host are required\n");
        return 2;
    }
    if (paths_file && !lg_load_paths(&r, paths_file)) {
        fprintf(stderr, "loadgen: cannot read paths from %s (one /path per line)\n", paths_file);
        return 2;
    }
    if (body_file && !(r.body = lg_slurp(body_file, LG_BODY_MAX, &r.body_len))) {
        fprintf(stderr, "loadgen: cannot read --body-file %s (at most 1 MiB)\n", body_file);
        return 2;
    }
    if (!r.body)
        r.body = calloc(1, 1);
    if (ids_file && !(r.ids_out = fopen(ids_file, "w"))) {
        fprintf(stderr, "loadgen: cannot write %s\n", ids_file);
        return 2;
    }
    r.lat_us = calloc((size_t)r.max_requests, sizeof *r.lat_us);
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r.lat_us || !r.body || r.ep < 0) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    r.nconns = (unsigned)conns;
    r.t0 = r.t_last = lg_now();
    for (unsigned i = 0; i < r.nconns; i++) {
        lg_conn *c = &r.conns[i];
        c->fd = -1;
        if (!lg_connect(&r, c)) {
            fprintf(stderr, "loadgen: cannot connect: %s\n", strerror(errno));
            return 1;
        }
        lg_next_request(&r, c, lg_now());
    }
    struct epoll_event evs[256];
    for (;;) {
        double now = lg_now();
        bool any_busy = false;
        for (unsigned i = 0; i < r.nconns; i++)
            any_busy |= r.conns[i].busy;
        if (!any_busy || now - r.t0 > r.seconds + r.grace)
            break;
        int n = epoll_wait(r.ep, evs, 256, 50);
        if (n < 0 && errno != EINTR) {
            perror("loadgen: epoll_wait");
            return 1;
        }
        for (int k = 0; k < n; k++) {
            lg_conn *c = evs[k].data.ptr;
            if (c->fd < 0)
                continue;
            if (!lg_service(&r, c, evs[k].events)) {
                if (c->busy)
                    r.errors++;
                c->busy = false;
                lg_close(&r, c);
                /* Keep the connection count fixed: reconnect and go on. */
                if (lg_connect(&r, c))
                    lg_next_request(&r, c, lg_now());
            }
        }
    }
    for (unsigned i = 0; i < r.nconns; i++) {
        if (r.conns[i].busy)
            r.errors++; /* no answer within the grace period */
        lg_close(&r, &r.conns[i]);
    }
    if (r.ids_out)
        fclose(r.ids_out);
    double wall = r.t_last - r.t0;
    qsort(r.lat_us, (size_t)r.completed, sizeof *r.lat_us, lg_cmp_double);
    double p50 = 0, p99 = 0, mx = 0;
    if (r.completed) {
        p50 = r.lat_us[(size_t)((double)(r.completed - 1) * 0.50)];
        p99 = r.lat_us[(size_t)((double)(r.completed - 1) * 0.99)];
        mx = r.lat_us[r.completed - 1];
    }
    printf("LOAD|%llu|%llu|%.3f|%.1f|%.0f|%.0f|%.0f\n", (unsigned long long)r.completed,
           (unsigned long long)r.errors, wall, wall > 0 ? (double)r.completed / wall : 0.0, p50, p99, mx);
    return r.completed ? 0 : 1;
}
