/*
 * ws_internal.h — what ws.c (server, loop, WebSocket side) and ws_http.c (plain
 * HTTP side) share. Not part of the module's interface: only these two files
 * include it, and nothing here may leak libwebsockets types into ws.h.
 */
#ifndef CS_WS_INTERNAL_H
#define CS_WS_INTERNAL_H

#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <libwebsockets.h>

#include "ws.h"

struct cs_http_txn;

/*
 * lws's per-session data, one per wsi. lws zeroes it when it binds our
 * protocol and frees it when it unbinds (after every HTTP transaction, on the
 * WebSocket upgrade and on close), so it only ever holds pointers to state we
 * own and release from the matching callbacks.
 */
struct cs_ws_pss {
    struct cs_ws_conn *conn;  /* WebSocket connections only */
    struct cs_http_txn *tx;   /* the HTTP request being collected or answered */
};

struct cs_ws_server {
    struct lws_context *ctx;
    struct lws_vhost *vh;
    cs_ws_config_t cfg;        /* copy; only static_dir is kept, as our own copy */
    char *static_dir;          /* without trailing '/', or NULL */
    cs_ws_callbacks_t cb;
    void *user;
    /* Our one protocol. Its name points at pcol_name, which ws.c rewrites
     * just before lws selects a subprotocol (see adopt_subprotocol). */
    struct lws_protocols protocols[2];
    char pcol_name[64];
    lws_sorted_usec_list_t tick;
    struct cs_ws_conn *conns;  /* every live cs_ws_conn, for cleanup */
    int nconn;                 /* those that got on_open and not yet on_close */
    bool destroying;           /* inside cs_ws_server_free */
    volatile sig_atomic_t stop;
    /* Set by cs_ws_wake: lws also cancels its own wait (on every accept), and
     * only our wakes may turn into on_tick. */
    atomic_bool wake_pending;
    uint64_t refused_fd;       /* sockets closed at accept for cfg.fd_ceiling */
    int64_t refused_logged_ms; /* last warning about them (monotonic) */
};

/* Handles every HTTP-side lws callback reason (and passes the rest to lws's
 * default handler). */
int cs_ws_http_callback(struct cs_ws_server *s, struct lws *wsi,
                        enum lws_callback_reasons reason, struct cs_ws_pss *pss, void *in,
                        size_t len);
/* Writes a short text/plain response with "Connection: close" and returns -1,
 * which callers return to lws so it flushes the response and hangs up. */
int cs_ws_http_reply_close(struct lws *wsi, unsigned int status, const char *text);

#endif
