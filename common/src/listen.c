/*
 * listen.c - parse a daemon's --listen argument (listen.h). No name lookup:
 * a daemon binds exactly the address it was given, never what DNS says.
 */
#include "ecred/listen.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

ecred_err ecred_listen_parse(const char *s, struct sockaddr_storage *out, bool *ipv6)
{
    char host[64];
    const char *h = s, *colon;
    size_t hlen;
    bool six = s[0] == '[';
    if (six) {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return ECRED_ERR_INPUT;
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return ECRED_ERR_INPUT;
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= sizeof host)
        return ECRED_ERR_INPUT;
    memcpy(host, h, hlen);
    host[hlen] = 0;
    const char *p = colon + 1;
    unsigned long port = 0;
    if (!*p || strlen(p) > 5)
        return ECRED_ERR_INPUT;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return ECRED_ERR_INPUT;
        port = port * 10 + (unsigned long)(*p - '0');
    }
    if (port == 0 || port > 65535)
        return ECRED_ERR_INPUT;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    if (six) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1)
            return ECRED_ERR_INPUT;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &a4->sin_addr) != 1)
            return ECRED_ERR_INPUT;
    }
    *out = ss;
    *ipv6 = six;
    return ECRED_OK;
}
