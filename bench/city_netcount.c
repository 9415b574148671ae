/*
 * city_netcount.c - an LD_PRELOAD shim for bench/city.sh's sync rows: counts
 * the TCP connections a process opens (connect() on an AF_INET/AF_INET6
 * socket) and the bytes it sends and receives over them (send/recv,
 * sendto/recvfrom: what libcurl uses for plain HTTP), and at exit appends
 * "NET|connects|bytes sent|bytes received" to the file named by
 * $CITY_NETCOUNT. Counting on the client side sees every connection of a
 * sync, which the issuer has no metric for.
 *
 * Must never: change what a call does or returns (it only counts), or be
 * loaded into anything but a benchmark's own client process.
 */
/* Not _GNU_SOURCE: it turns glibc's socket prototypes into transparent
 * unions our definitions could not match under -Wpedantic. RTLD_NEXT is then
 * not declared, so glibc's value is spelled here. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#ifndef RTLD_NEXT
#define RTLD_NEXT ((void *)-1l)
#endif

static atomic_ulong nc_connects, nc_sent, nc_recv;

/* The next definition of name (libc's): dlsym's object pointer copied into
 * a function pointer, as POSIX allows and ISO C does not spell. */
static void *nc_next(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

typedef int (*nc_connect_fn)(int, const struct sockaddr *, socklen_t);
typedef ssize_t (*nc_send_fn)(int, const void *, size_t, int);
typedef ssize_t (*nc_recv_fn)(int, void *, size_t, int);
typedef ssize_t (*nc_sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*nc_recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);

/* Count an IPv4/IPv6 connect, then do it. */
int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    nc_connect_fn f;
    void *p = nc_next("connect");
    memcpy(&f, &p, sizeof f);
    if (sa && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
        atomic_fetch_add(&nc_connects, 1);
    return f(fd, sa, len);
}

/* Count what was sent. */
ssize_t send(int fd, const void *b, size_t n, int flags)
{
    nc_send_fn f;
    void *p = nc_next("send");
    memcpy(&f, &p, sizeof f);
    ssize_t r = f(fd, b, n, flags);
    if (r > 0)
        atomic_fetch_add(&nc_sent, (unsigned long)r);
    return r;
}

/* Count what was received. */
ssize_t recv(int fd, void *b, size_t n, int flags)
{
    nc_recv_fn f;
    void *p = nc_next("recv");
    memcpy(&f, &p, sizeof f);
    ssize_t r = f(fd, b, n, flags);
    if (r > 0)
        atomic_fetch_add(&nc_recv, (unsigned long)r);
    return r;
}

/* As send. */
ssize_t sendto(int fd, const void *b, size_t n, int flags, const struct sockaddr *sa, socklen_t len)
{
    nc_sendto_fn f;
    void *p = nc_next("sendto");
    memcpy(&f, &p, sizeof f);
    ssize_t r = f(fd, b, n, flags, sa, len);
    if (r > 0)
        atomic_fetch_add(&nc_sent, (unsigned long)r);
    return r;
}

/* As recv. */
ssize_t recvfrom(int fd, void *b, size_t n, int flags, struct sockaddr *sa, socklen_t *len)
{
    nc_recvfrom_fn f;
    void *p = nc_next("recvfrom");
    memcpy(&f, &p, sizeof f);
    ssize_t r = f(fd, b, n, flags, sa, len);
    if (r > 0)
        atomic_fetch_add(&nc_recv, (unsigned long)r);
    return r;
}

/* At exit: one line to $CITY_NETCOUNT (nothing when it is unset). */
__attribute__((destructor)) static void nc_report(void)
{
    const char *path = getenv("CITY_NETCOUNT");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "a");
    if (!f)
        return;
    fprintf(f, "NET|%lu|%lu|%lu\n", atomic_load(&nc_connects), atomic_load(&nc_sent), atomic_load(&nc_recv));
    fclose(f);
}
