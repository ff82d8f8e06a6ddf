/*
 * addr.c — IP literals as socket addresses (see addr.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "common/common.h"
#include "tests/load/addr.h"

int lt_addr_parse(const char *ip, uint16_t port, struct sockaddr_storage *out, socklen_t *len)
{
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        *len = sizeof *v4;
    } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        *len = sizeof *v6;
    } else {
        return CS_EINVAL;
    }
    return CS_OK;
}
