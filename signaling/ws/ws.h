/*
 * ws.h — the HTTP and WebSocket front door of the gateway.
 *
 * The only user of libwebsockets. One server runs one event loop on the thread
 * that calls cs_ws_run(); every callback is invoked on that thread. It serves:
 *   - WebSocket connections on /ws: each complete text message (reassembled
 *     from fragments, bounded by max_message) is handed to on_message;
 *   - dynamic HTTP routes through on_http (e.g. /healthz, /metrics), answered
 *     with one malloc'd body or with a streamed one (cs_http_stream_t: pulled
 *     piece by piece as the client reads, with single byte ranges for
 *     <video>, so a recording of hundreds of MB never sits in memory);
 *   - static files from static_dir for every other GET.
 * Sending copies the message into the connection's bounded outgoing queue, so a
 * slow reader can never make the server block or grow without limit; a
 * streamed body holds at most one 64 KiB piece per download.
 */
#ifndef CS_WS_H
#define CS_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cs_ws_server cs_ws_server_t;
typedef struct cs_ws_conn cs_ws_conn_t;

typedef struct {
    const char *bind_address;  /* e.g. "127.0.0.1", "0.0.0.0", "::" */
    int port;                  /* 0 = pick a free port (see cs_ws_port) */
    const char *tls_cert_path; /* NULL: plain http/ws */
    const char *tls_key_path;
    const char *static_dir;    /* NULL: no static files */
    size_t max_message;        /* largest inbound WebSocket message, bytes */
    size_t max_queued_bytes;   /* per-connection backlog a reader may keep for long (see cs_ws_send) */
    int max_connections;       /* WebSocket connections at once */
    size_t max_http_body;      /* largest inbound HTTP request body */
    int tick_ms;               /* period of on_tick */
    int fd_ceiling;            /* an accepted socket whose descriptor number is at or
                                  above this is closed at once (0: no ceiling): the
                                  process is near its open-files limit, and what it
                                  opens later (media, recordings) must find room */
} cs_ws_config_t;

typedef struct {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query string */
    const char *query;         /* after '?', or ""; already %-decoded by the
                                  HTTP parser, arguments joined with '&' */
    const char *authorization; /* Authorization header value, or "" */
    const char *content_type;  /* Content-Type header value, or "" */
    const char *file_name;     /* X-File-Name header value as sent (an upload's
                                  name, percent-encoded by the client), or "" */
    const char *accept;        /* Accept header value, or "" */
    const char *body;          /* request body (POST/PUT), may be NULL */
    size_t body_len;
    const char *range;         /* Range header value as sent, or ""; the server
                                  applies it to streamed bodies itself (last, so
                                  positional initialisers elsewhere still fit) */
} cs_http_request_t;

/* An extra response header: the name in lower case with its colon
 * ("etag:"), a value without CR or LF; an empty name is no header, and a
 * malformed one is left out. */
typedef struct {
    char name[32];
    char value[160];
} cs_http_header_t;

/*
 * A body the server pulls as the client reads it, a piece (at most 64 KiB) per
 * turn of the loop, so a slow client costs neither blocking nor memory.
 * Ownership: `user` belongs to the handler until close() runs; the server
 * calls close() exactly once for every response that carries a stream (read
 * non-NULL) -- when the body is sent, when it fails, when the client goes away,
 * at shutdown, and also when nothing is sent (HEAD, 416, size 0, a
 * handler that returned 0) -- and never calls read() after it.
 */
typedef struct {
    /* Up to cap bytes of the body from offset into buf (offsets only grow,
     * each byte is asked for once): returns the count (1..cap), or < 0 on an
     * error (0 counts as one) -- the connection is then closed and the client
     * sees a short body. Called on the loop thread, so it must not block long. */
    long (*read)(void *user, uint64_t offset, char *buf, size_t cap);
    /* May be NULL. See above. */
    void (*close)(void *user);
    void *user;
    uint64_t size;   /* the whole body's length */
    /* Answer a GET's Range header (206, or 416 when unsatisfiable) and send
     * Accept-Ranges: bytes. Only for a 200 response; several ranges or a
     * malformed Range get the whole body (200), as RFC 9110 §14.2 allows; with
     * If-Range the range is served only when it equals the handler's strong
     * "etag:" header. */
    bool ranges;
} cs_http_stream_t;

typedef struct {
    int status;                /* e.g. 200 */
    char content_type[64];
    char *body;                /* malloc'd; the server frees it */
    size_t body_len;
    cs_http_header_t headers[2]; /* optional, e.g. www-authenticate:, etag: */
    /* With stream.read set the body is streamed and `body` must be NULL (one
     * set anyway is freed and ignored). Zeroed before on_http: no stream. */
    cs_http_stream_t stream;
} cs_http_response_t;

typedef struct {
    /* A WebSocket connection was opened (already counted against the limit). */
    void (*on_open)(void *user, cs_ws_conn_t *c);
    /* One complete text message; data is valid only during the call. */
    void (*on_message)(void *user, cs_ws_conn_t *c, const char *data, size_t len);
    /* The connection is gone; c is invalid after this returns. */
    void (*on_close)(void *user, cs_ws_conn_t *c);
    /* Return 1 after filling *resp to handle the request, 0 to fall through to
     * static files (or 404). */
    int (*on_http)(void *user, const cs_http_request_t *req, cs_http_response_t *resp);
    /* Called every tick_ms with the wall clock, and once after each cs_ws_wake()
     * (wakes that arrive together may be merged into one call). */
    void (*on_tick)(void *user, int64_t now_ms);
} cs_ws_callbacks_t;

/* Resolves a Range header value (RFC 9110 §14.1.1) against a body of size
 * bytes to the single range it asks for: *first..*last, inclusive. Accepts
 * "bytes=a-b" (b clamped to size-1), "bytes=a-" and "bytes=-n" (the last n
 * bytes, or all of them); the unit is case-insensitive. Whitespace is allowed
 * only around the value and next to commas (empty list elements are skipped);
 * anywhere else -- around "=" or "-", inside a number -- makes the value
 * malformed, as do signs and numbers past 2^64-1. Returns CS_OK; CS_ENOTFOUND
 * when there is no usable range (absent, malformed, another unit, several
 * ranges: answer with the whole body); CS_ELIMIT when well formed but
 * unsatisfiable (first byte at or past size, a suffix of 0, size 0: 416);
 * CS_EINVAL without first or last. Pure; reads value only up to its NUL. */
int cs_http_range_parse(const char *value, uint64_t size, uint64_t *first, uint64_t *last);

/* Binds and listens. Returns NULL and sets *err (CS_EIO: cannot bind / bad
 * certificate; CS_EINVAL; CS_ENOMEM) on failure. cb and user are kept. */
cs_ws_server_t *cs_ws_server_new(const cs_ws_config_t *cfg, const cs_ws_callbacks_t *cb,
                                 void *user, int *err);
/* Closes every connection and frees the server. NULL is safe. Call it after
 * cs_ws_run() has returned; it sends each open connection a 1001 close frame
 * (or the one already requested with cs_ws_close) and waits up to 1 s for the
 * peers before dropping them; on_close runs for each, on this thread. */
void cs_ws_server_free(cs_ws_server_t *s);
/* The port actually bound (useful with port 0). */
int cs_ws_port(const cs_ws_server_t *s);

/* Runs the loop until cs_ws_stop(). Returns CS_OK. A stop requested before
 * the call makes it return at once. */
int cs_ws_run(cs_ws_server_t *s);
/* Ask the loop to return; async-signal-safe and thread-safe. */
void cs_ws_stop(cs_ws_server_t *s);
/* Thread-safe: makes the loop call on_tick soon. */
void cs_ws_wake(cs_ws_server_t *s);

/* Queues a text message (copied). A message to an empty queue is always
 * taken, whatever its size. CS_ELIMIT marks a slow reader (the caller normally
 * closes the connection then): its backlog has stayed over max_queued_bytes
 * for more than 5 s, or would grow past 16 times it;
 * CS_ESTATE once the connection is closing. This and the functions below are
 * not thread-safe: call them from the callbacks, or once cs_ws_run() returned. */
int cs_ws_send(cs_ws_conn_t *c, const char *data, size_t len);
/* Closes with a WebSocket close code and a short reason (≤ 120 bytes) after the
 * already queued messages are sent. A code that may not be sent becomes 1000;
 * a peer that has not taken its queue within 10 s is dropped. It is a full
 * closing handshake: after the close frame, what the peer still sends is
 * discarded (never passed to on_message) until its own close frame or EOF, so
 * the close frame is never lost to a TCP reset. The connection, and its place
 * in max_connections, lasts until then -- at most 5 s more, less for a peer that
 * goes on sending -- and on_close comes at that point. */
void cs_ws_close(cs_ws_conn_t *c, int code, const char *reason);
void cs_ws_conn_set_user(cs_ws_conn_t *c, void *p);
void *cs_ws_conn_user(const cs_ws_conn_t *c);
/* The peer's address as text, e.g. "127.0.0.1". */
const char *cs_ws_conn_peer(const cs_ws_conn_t *c);
/* Number of open WebSocket connections. */
int cs_ws_connections(const cs_ws_server_t *s);

#endif
