/*
 * listen.h - the daemons' --listen argument: a numeric address and a port,
 * parsed the same way by ecred-issuerd and ecred-verifierd.
 */
#ifndef ECRED_LISTEN_H
#define ECRED_LISTEN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "ecred/err.h"

/* "IPv4:PORT" or "[IPv6]:PORT" (numeric address, port 1..65535) into a socket
 * address. An unbracketed IPv6 literal is refused: in "::1:80" the port is a
 * guess. ECRED_ERR_INPUT otherwise; *out and *ipv6 are written only on success. */
ecred_err ecred_listen_parse(const char *s, struct sockaddr_storage *out, bool *ipv6);

#endif
