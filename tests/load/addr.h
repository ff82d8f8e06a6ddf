/*
 * addr.h — an IP literal and a port as a socket address, for the load
 * tool's own sockets (the WebSocket client's server, the hostile mode's
 * target and its bind address). No name lookups: the tool is pointed at
 * addresses.
 */
#ifndef CS_LOAD_ADDR_H
#define CS_LOAD_ADDR_H

#include <stdint.h>
#include <sys/socket.h>

/* "127.0.0.1" or "::1" (no brackets) into *out and *len; CS_EINVAL otherwise. */
int lt_addr_parse(const char *ip, uint16_t port, struct sockaddr_storage *out, socklen_t *len);

#endif
