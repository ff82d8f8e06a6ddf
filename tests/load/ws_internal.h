/*
 * ws_internal.h — what ws.c (the connection) shares with ws_proto.c (the
 * pure parts: URL, handshake, frame headers), and the unit tests with them.
 * Not for other modules: they use ws.h.
 */
#ifndef CS_LOAD_WS_INTERNAL_H
#define CS_LOAD_WS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char host_header[96];        /* "127.0.0.1:8080", "[::1]:8188" */
    char path[512];              /* "/ws", at least "/" */
} lt_ws_url_t;

/* "ws://host[:port][/path]", host an IPv4 literal, [IPv6] or localhost;
 * CS_OK or CS_EINVAL. */
int lt_ws_url_parse(const char *url, lt_ws_url_t *out);
/* True when s has no space or control character (safe in a request line or header). */
bool lt_ws_token_ok(const char *s);
/* The Sec-WebSocket-Accept a server must answer to key. CS_OK or CS_EIO. */
int lt_ws_accept_for(const char *key, char accept[32]);
/* Writes the Upgrade request for u into req (a fresh random key; proto may be
 * NULL or ""), and the accept value the answer must carry. Returns its
 * length, CS_ETOOBIG or CS_EIO. */
int lt_ws_request(const lt_ws_url_t *u, const char *proto, char *req, size_t cap, char accept[32]);
/* Checks a server's answer: head is the status line and headers, each line
 * ending in CRLF, NUL-terminated. NULL when it accepts the upgrade with
 * accept and (when proto is not empty) that subprotocol and no other;
 * otherwise why not (static text, or written into why). */
const char *lt_ws_check_response(const char *head, const char *accept, const char *proto, char *why,
                                 size_t cap);

#endif
