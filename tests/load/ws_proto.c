/*
 * ws_proto.c — the pure pieces of the load tool's WebSocket client (RFC
 * 6455): the ws:// URL, the HTTP/1.1 Upgrade request and the check of the
 * server's 101 answer (Sec-WebSocket-Accept, subprotocol), and frame headers
 * read and written. No I/O and no allocation, so they are unit-tested and
 * the frame parser is fuzzed; ws.c does the I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "tests/load/addr.h"
#include "tests/load/ws.h"
#include "tests/load/ws_internal.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* ---- the URL ------------------------------------------------------------------------------------- */

bool lt_ws_token_ok(const char *p)
{
    for (; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

int lt_ws_url_parse(const char *url, lt_ws_url_t *u)
{
    if (strncasecmp(url, "ws://", 5) != 0)
        return CS_EINVAL;
    const char *h = url + 5, *end;
    char host[64];
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end || (size_t)(end - h - 1) >= sizeof host)
            return CS_EINVAL;
        memcpy(host, h + 1, (size_t)(end - h - 1));
        host[end - h - 1] = '\0';
        end++;
    } else {
        end = h + strcspn(h, ":/");
        if (end == h || (size_t)(end - h) >= sizeof host)
            return CS_EINVAL;
        memcpy(host, h, (size_t)(end - h));
        host[end - h] = '\0';
    }
    long port = 80;
    if (*end == ':') {
        char *e;
        port = strtol(end + 1, &e, 10);
        if (e == end + 1 || port < 1 || port > 65535)
            return CS_EINVAL;
        end = e;
    }
    const char *path = *end ? end : "/";
    if (*path != '/' || !lt_ws_token_ok(path) || cs_strlcpy(u->path, path, sizeof u->path) >= sizeof u->path)
        return CS_EINVAL;
    const char *ip = strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    if (lt_addr_parse(ip, (uint16_t)port, &u->addr, &u->addr_len) != CS_OK)
        return CS_EINVAL;
    bool v6 = u->addr.ss_family == AF_INET6;
    snprintf(u->host_header, sizeof u->host_header, "%s%s%s:%ld", v6 ? "[" : "", host,
             v6 ? "]" : "", port);
    return CS_OK;
}

/* ---- the handshake ----------------------------------------------------------------------------- */

int lt_ws_accept_for(const char *key, char accept[32])
{
    char cat[96];
    uint8_t digest[CS_SHA1_LEN];
    if ((size_t)snprintf(cat, sizeof cat, "%s%s", key, WS_GUID) >= sizeof cat || cs_sha1(cat, strlen(cat), digest) ||
        cs_base64_encode(digest, sizeof digest, accept, 32))
        return CS_EIO;
    return CS_OK;
}

int lt_ws_request(const lt_ws_url_t *u, const char *proto_name, char *req, size_t cap, char accept[32])
{
    uint8_t nonce[16];
    char key[32];
    if (cs_random_bytes(nonce, sizeof nonce) || cs_base64_encode(nonce, sizeof nonce, key, sizeof key) ||
        lt_ws_accept_for(key, accept))
        return CS_EIO;
    char proto[96] = "";
    if (proto_name && proto_name[0])
        snprintf(proto, sizeof proto, "Sec-WebSocket-Protocol: %s\r\n", proto_name);
    int n = snprintf(req, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n%s"
                     "User-Agent: consilium-load\r\n\r\n",
                     u->path, u->host_header, key, proto);
    if (n < 0 || (size_t)n >= cap)
        return CS_ETOOBIG;
    return n;
}

/* The value of header name in the response head (lines after the status), trimmed. */
static bool header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (strncasecmp(s, name, nl) != 0 || s[nl] != ':')
            continue;
        s += nl + 1;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t n = strcspn(s, "\r");
        while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n >= cap)
            return false;
        memcpy(out, s, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

const char *lt_ws_check_response(const char *head, const char *accept, const char *proto, char *why,
                                 size_t cap)
{
    int status = 0;
    if (sscanf(head, "HTTP/1.%*1[01] %3d", &status) != 1)
        return "handshake refused: not an HTTP response";
    if (status != 101) {
        snprintf(why, cap, "handshake refused: HTTP %d", status);
        return why;
    }
    char v[256];
    if (!header_value(head, "Upgrade", v, sizeof v) || strcasecmp(v, "websocket") != 0)
        return "handshake refused: no Upgrade: websocket";
    if (!header_value(head, "Connection", v, sizeof v) || !strcasestr(v, "upgrade"))
        return "handshake refused: no Connection: Upgrade";
    if (!header_value(head, "Sec-WebSocket-Accept", v, sizeof v) || strcmp(v, accept) != 0)
        return "handshake refused: wrong Sec-WebSocket-Accept";
    bool has = header_value(head, "Sec-WebSocket-Protocol", v, sizeof v);
    if (proto && proto[0] ? !has || strcmp(v, proto) != 0 : has)
        return "handshake refused: subprotocol not agreed";
    return NULL;
}

/* ---- frames ---------------------------------------------------------------------- */

int lt_ws_frame_parse(const uint8_t *buf, size_t len, lt_ws_frame_t *out)
{
    memset(out, 0, sizeof *out);
    if (len < 2)
        return CS_EAGAIN;
    uint8_t b0 = buf[0], b1 = buf[1], op = b0 & 0x0f;
    if ((b0 & 0x70) || (op > 2 && op < 8) || op > 10)
        return CS_EINVAL;              /* reserved bits or a reserved opcode */
    size_t hl = 2;
    uint64_t plen = b1 & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return CS_EAGAIN;
        plen = cs_rd16(buf + 2);
        hl = 4;
    } else if (plen == 127) {
        if (len < 10)
            return CS_EAGAIN;
        plen = cs_rd64(buf + 2);
        if (plen >> 63)
            return CS_EINVAL;
        hl = 10;
    }
    bool fin = b0 & 0x80, masked = b1 & 0x80;
    if ((op & 8) && (!fin || plen > 125))
        return CS_EINVAL;              /* control frames are short and whole */
    if (masked) {
        if (len < hl + 4)
            return CS_EAGAIN;
        memcpy(out->mask, buf + hl, 4);
        hl += 4;
    }
    out->fin = fin;
    out->opcode = op;
    out->masked = masked;
    out->payload_len = plen;
    out->header_len = hl;
    if ((uint64_t)(len - hl) < plen)
        return CS_EAGAIN;              /* header known (header_len set), payload incomplete */
    return (int)hl;
}

size_t lt_ws_frame_header(uint8_t opcode, uint64_t len, const uint8_t mask[4], uint8_t *out)
{
    size_t n = 2;
    out[0] = (uint8_t)(0x80 | (opcode & 0x0f));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xffff) {
        out[1] = m | 126;
        cs_wr16(out + 2, (uint16_t)len);
        n = 4;
    } else {
        out[1] = m | 127;
        cs_wr64(out + 2, len);
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}
