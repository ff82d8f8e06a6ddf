/*
 * ws.h — a small WebSocket client (RFC 6455) for the load tool's signalling:
 * ws:// only, text messages, on a GLib main context, non-blocking. The
 * frame parser is pure (no allocation, never reads past the end) so it is
 * unit-tested and fuzzed on its own.
 *
 * Threads: a connection lives on the thread running its GMainContext.
 * Ownership: strings passed in are copied; text given to on_message is
 * valid only during the call.
 */
#ifndef CS_LOAD_WS_H
#define CS_LOAD_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LT_WS_MAX_MESSAGE (1 << 20)  /* a larger incoming message closes with 1009 */

typedef struct {
    void (*on_open)(void *user);
    /* One whole text message (fragments joined), NUL-terminated. */
    void (*on_message)(void *user, const char *text, size_t len);
    /* The connection ended (close frame, error, refused handshake); after
     * it no callback comes. code 1006 when there was no close frame. The
     * callee may lt_ws_free the connection. */
    void (*on_close)(void *user, int code, const char *reason);
} lt_ws_callbacks_t;

typedef struct lt_ws lt_ws_t;

/* Starts connecting to url ("ws://host:port/path", host an IP literal or
 * "localhost"); subprotocol may be NULL (Janus needs "janus-protocol").
 * NULL with *err = CS_EINVAL (bad URL) / CS_ENOMEM / CS_EIO. */
lt_ws_t *lt_ws_connect(void *ctx, const char *url, const char *subprotocol,
                       const lt_ws_callbacks_t *cb, void *user, int *err);
/* Queues one text message (masked, one frame). CS_ESTATE when closing or
 * closed, CS_ETOOBIG above LT_WS_MAX_MESSAGE, CS_EAGAIN when 8 MiB are
 * already queued. Messages sent before on_open are queued and go out after
 * the handshake. */
int lt_ws_send(lt_ws_t *ws, const char *text, size_t len);
/* Sends a close frame after what is queued; on_close follows. */
void lt_ws_close(lt_ws_t *ws, int code);
/* Frees at once, no callback during or after (an open connection lingers
 * internally, up to 1 s, to flush what is queued and a close frame and to
 * see the server close: closing with unread bytes would reset it and the
 * server could lose the last messages). */
void lt_ws_free(lt_ws_t *ws);
/* Connections freed but still lingering (the runner iterates the context
 * until none is left, so a last consult.end goes out before it exits). */
size_t lt_ws_lingering(void);

/* ---- pure frame parsing (exposed for tests and fuzzing) -------------------------------------- */

typedef struct {
    bool fin;
    uint8_t opcode;              /* 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong */
    bool masked;
    uint8_t mask[4];
    uint64_t payload_len;
    size_t header_len;           /* bytes before the payload */
} lt_ws_frame_t;

/* Parses a frame header at buf. Returns header_len when the whole frame
 * (header + payload) is in buf, CS_EAGAIN when more bytes are needed,
 * CS_EINVAL when malformed (reserved bits, control frame > 125 bytes or
 * fragmented, 64-bit length with the top bit set, a reserved opcode). On
 * CS_EAGAIN, out->header_len is non-zero once the header itself is complete
 * (payload_len then tells how big the frame will be, so a reader can refuse
 * an oversized one before buffering it). */
int lt_ws_frame_parse(const uint8_t *buf, size_t len, lt_ws_frame_t *out);
/* Writes a client frame header (masked with mask; mask NULL: unmasked, as a
 * server's) for a payload of len bytes, FIN set, into out (at least 14
 * bytes); returns its length. */
size_t lt_ws_frame_header(uint8_t opcode, uint64_t len, const uint8_t mask[4], uint8_t *out);

#endif
