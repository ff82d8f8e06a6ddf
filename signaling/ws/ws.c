/*
 * ws.c — the gateway's HTTP and WebSocket front door, built on libwebsockets.
 *
 * This file owns the server's lifetime, the event loop and its tick, and the
 * WebSocket side: accepting connections on /ws within max_connections,
 * reassembling text messages within max_message, the bounded per-connection
 * outgoing queue and the orderly close. Plain HTTP lives in ws_http.c.
 *
 * The close we start (cs_ws_close, or a peer breaking a limit) is a complete
 * RFC 6455 closing handshake, not a hang-up: our queue goes out, then the close
 * frame, then the peer's remaining input is read and discarded until its own
 * close frame (or EOF) arrives, and only then is the socket closed. Closing a
 * socket with unread input makes the kernel answer with a TCP RST, and the
 * peer would then lose our close frame and the replies before it. A peer that
 * never answers is dropped after lws's close timeout or once it has sent more
 * than a byte budget after our decision to close.
 *
 * Everything except cs_ws_stop() and cs_ws_wake() runs on the loop thread.
 */
#include "ws_internal.h"

#include <arpa/inet.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_bytes_received; glibc's lacks it */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"

#define MOD "ws"

/* Bytes lws hands us per RECEIVE; larger frames arrive in pieces. */
#define RX_CHUNK 4096
/* Request headers carry a JWT in Authorization plus whatever browsers add. */
#define MAX_HEADER_DATA 8192
/* Outgoing bytes written per writeable callback at most (see conn_writeable). */
#define WRITE_BUDGET_BYTES (256 * 1024)
/* Slow readers (see queue_admits). */
#define SLOW_READER_GRACE_MS 5000
#define SLOW_READER_HARD_FACTOR 16

/* A close frame's payload is 125 bytes: 2 for the code, the rest reason. */
#define CLOSE_REASON_MAX 120
/* After cs_ws_close, a peer that will not read its queue is dropped. */
#define CLOSE_GRACE_S 10
/* cs_ws_server_free turns the loop this long at most so close frames go out,
 * waking every SHUTDOWN_POLL_MS to check. */
#define SHUTDOWN_FLUSH_MS 1000
#define SHUTDOWN_POLL_MS 20
#define CLOSE_TRY_AGAIN_LATER 1013
/* Once we have decided to close, the peer may still send this much plus twice
 * max_message (the rest of a message it had in flight, an oversized one
 * included) before its close frame; a peer that sends more is dropped. Counted
 * in TCP bytes received, checked every DRAIN_CHECK_US. Time is bounded too:
 * CLOSE_GRACE_S for our queue, then lws's 5 s for the close handshake. */
#define DRAIN_BUDGET_BASE ((uint64_t)8 << 20)
#define DRAIN_CHECK_US ((lws_usec_t)10 * LWS_US_PER_MS)

enum conn_state {
    CONN_OPEN,
    /* Closing: what is queued goes out first; the peer's input is discarded. */
    CONN_CLOSING,
    /* The close frame has been handed to lws (see hand_close_to_lws): it
     * sends it and discards the peer's input until the peer's close frame. */
    CONN_CLOSE_SENT,
    CONN_GONE
};

struct out_msg {
    struct out_msg *next;
    size_t len;
    unsigned char buf[]; /* LWS_PRE bytes for lws's frame header, then data */
};

struct cs_ws_conn {
    cs_ws_server_t *srv;
    struct lws *wsi;
    struct cs_ws_conn *prev, *next;
    void *user;
    struct out_msg *head, *tail;
    size_t queued;
    int64_t over_since_ms; /* when the backlog went over max_queued_bytes, or 0 */
    char *rx; /* reassembly buffer, only while a message is split */
    size_t rx_len, rx_cap;
    enum conn_state state;
    bool opened; /* got on_open, so owes an on_close */
    bool drain_counted; /* drain_base is valid */
    uint64_t drain_base; /* TCP bytes received when we decided to close */
    int close_code;
    size_t reason_len;
    char reason[CLOSE_REASON_MAX];
    char peer[64];
};

/* ---- process set-up -------------------------------------------------------- */

static void log_emit(int level, const char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    cs_log(level == LLL_ERR ? CS_LOG_ERROR : CS_LOG_WARN, "lws", "%.*s", (int)n, line);
}

static bool config_valid(const cs_ws_config_t *cfg)
{
    return cfg && cfg->port >= 0 && cfg->port <= 65535 && cfg->max_message > 0 &&
           cfg->max_queued_bytes > 0 && cfg->max_connections > 0 && cfg->tick_ms > 0 &&
           !cfg->tls_cert_path == !cfg->tls_key_path;
}

static bool is_ipv4_literal(const char *addr)
{
    struct in_addr a;
    return addr && inet_pton(AF_INET, addr, &a) == 1;
}

/* ---- connections ------------------------------------------------------------ */

static void drop_queue(struct cs_ws_conn *c)
{
    while (c->head) {
        struct out_msg *m = c->head;
        c->head = m->next;
        free(m);
    }
    c->tail = NULL;
    c->queued = 0;
}

static void conn_free(struct cs_ws_conn *c)
{
    cs_ws_server_t *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    drop_queue(c);
    free(c->rx);
    free(c);
}

/* The wsi is gone: tell the application (once) and release everything. */
static void conn_finish(struct cs_ws_conn *c)
{
    cs_ws_server_t *s = c->srv;
    c->state = CONN_GONE;
    if (c->opened) {
        c->opened = false;
        s->nconn--;
        if (s->cb.on_close)
            s->cb.on_close(s->user, c);
    }
    conn_free(c);
}

static int wire_close_code(int code)
{
    bool ok = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
              (code >= 3000 && code <= 4999);
    /* 1005/1006/1015 and the rest may not appear on the wire. */
    return ok ? code : LWS_CLOSE_STATUS_NORMAL;
}

/* Bytes the peer has sent on this TCP connection (TLS records included). */
static bool tcp_bytes_received(struct lws *wsi, uint64_t *out)
{
    struct tcp_info ti;
    socklen_t n = sizeof ti;
    memset(&ti, 0, sizeof ti);
    lws_sockfd_type fd = lws_get_socket_fd(wsi);
    if (fd < 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &n) != 0 ||
        n < offsetof(struct tcp_info, tcpi_bytes_received) + sizeof ti.tcpi_bytes_received)
        return false; /* kernel without the counter: only the timeouts apply */
    *out = ti.tcpi_bytes_received;
    return true;
}

static uint64_t drain_budget(const struct cs_ws_conn *c)
{
    uint64_t m = c->srv->cfg.max_message;
    return DRAIN_BUDGET_BASE + (m > UINT64_MAX / 4 ? UINT64_MAX / 2 : 2 * m);
}

/* From the decision to close on, what the peer sends is counted (see
 * drain_check, run on lws's per-wsi timer whatever lws's own state). */
static void drain_begin(struct cs_ws_conn *c)
{
    c->drain_counted = tcp_bytes_received(c->wsi, &c->drain_base);
    if (c->drain_counted)
        lws_set_timer_usecs(c->wsi, DRAIN_CHECK_US);
}

/* LWS_CALLBACK_TIMER: -1 drops a peer that is over its budget (lws then
 * closes without waiting for anything more). */
static int drain_check(struct cs_ws_conn *c, struct lws *wsi)
{
    uint64_t now;
    if ((c->state != CONN_CLOSING && c->state != CONN_CLOSE_SENT) || !c->drain_counted ||
        !tcp_bytes_received(wsi, &now))
        return 0;
    if (now - c->drain_base > drain_budget(c)) {
        CS_LOGW(MOD, "%s sent more than %llu bytes after the close began: dropped", c->peer,
                (unsigned long long)drain_budget(c));
        return -1;
    }
    lws_set_timer_usecs(wsi, DRAIN_CHECK_US);
    return 0;
}

static void start_close(struct cs_ws_conn *c, int code, const char *reason)
{
    size_t n = reason ? strlen(reason) : 0;
    if (n > CLOSE_REASON_MAX) {
        n = CLOSE_REASON_MAX;
        while (n > 0 && ((unsigned char)reason[n] & 0xC0) == 0x80)
            n--; /* never cut a UTF-8 sequence in half */
    }
    if (n)
        memcpy(c->reason, reason, n);
    c->reason_len = n;
    c->close_code = wire_close_code(code);
    c->state = CONN_CLOSING;
    drain_begin(c);
    lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CLOSE_GRACE_S);
    lws_callback_on_writable(c->wsi);
}

/*
 * The peer broke a rule (from inside a RECEIVE): the close frame goes out
 * next, ahead of anything still queued, and the rest of the peer's input -- the
 * rest of an oversized frame included -- is discarded as it arrives, never
 * buffered. Returning 0, not -1, keeps lws's frame parser in step with the
 * stream (a -1 drops the rest of the buffer lws is parsing), so the peer's
 * close frame is still recognised when it comes.
 */
static int fail_now(struct cs_ws_conn *c, int code, const char *reason)
{
    drop_queue(c);
    free(c->rx);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    start_close(c, code, reason);
    return 0;
}

/*
 * Called from SERVER_WRITEABLE once our queue is empty (so lws has no partial
 * frame of ours left to finish): the -1 makes lws run its own closing
 * handshake. __lws_close_free_wsi() calls rops_close_via_role_protocol_ws(),
 * which, with the reason set here, moves the wsi to LRS_WAITING_TO_SEND_CLOSE;
 * lws writes the close frame on the next POLLOUT and waits in
 * LRS_AWAITING_CLOSE_ACK (5 s), where it discards data frames without calling
 * us and closes when the peer's close frame or EOF arrives.
 *
 * lws leaves POLLOUT armed after writing that close frame, so we get one more
 * SERVER_WRITEABLE in LRS_AWAITING_CLOSE_ACK: it must be a no-op (see
 * conn_writeable). A second -1 there makes __lws_close_free_wsi() see "we tried
 * the polite way" and close the socket at once, unread input and all, which
 * the kernel turns into an RST that destroys our close frame on its way.
 */
static int hand_close_to_lws(struct cs_ws_conn *c, struct lws *wsi)
{
    lws_close_reason(wsi, (enum lws_close_status)c->close_code, (unsigned char *)c->reason,
                     c->reason_len);
    c->state = CONN_CLOSE_SENT;
    return -1;
}

static int conn_established(cs_ws_server_t *s, struct lws *wsi, struct cs_ws_pss *pss)
{
    struct cs_ws_conn *c = calloc(1, sizeof *c);
    if (!c || !pss) {
        free(c);
        return -1;
    }
    c->srv = s;
    c->wsi = wsi;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    pss->conn = c;

    if (!lws_get_peer_simple(wsi, c->peer, sizeof c->peer))
        c->peer[0] = '\0';
    if (strncmp(c->peer, "::ffff:", 7) == 0 && strchr(c->peer, '.'))
        memmove(c->peer, c->peer + 7, strlen(c->peer + 7) + 1);

    if (s->nconn >= s->cfg.max_connections) {
        /* Accepted at the WebSocket level so the client learns why. */
        start_close(c, CLOSE_TRY_AGAIN_LATER, "too many connections");
        return 0;
    }
    c->opened = true;
    s->nconn++;
    if (s->cb.on_open)
        s->cb.on_open(s->user, c);
    return 0;
}

static void deliver(struct cs_ws_conn *c, const char *data, size_t len)
{
    cs_ws_server_t *s = c->srv;
    if (s->cb.on_message)
        s->cb.on_message(s->user, c, data, len);
}

static int conn_receive(struct cs_ws_conn *c, struct lws *wsi, const char *in, size_t len)
{
    size_t max = c->srv->cfg.max_message;
    if (c->state != CONN_OPEN || !c->opened)
        return 0; /* closing or refused: input is drained and ignored */
    if (lws_frame_is_binary(wsi))
        return fail_now(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text messages only");

    /* Count the rest of this frame too, to refuse before buffering it. */
    size_t rest = lws_remaining_packet_payload(wsi);
    if (len > max || c->rx_len > max - len || rest > max - len - c->rx_len)
        return fail_now(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too big");

    bool final = lws_is_final_fragment(wsi);
    if (final && c->rx_len == 0) {
        deliver(c, in, len); /* the common case: whole message in one piece */
        return 0;
    }
    size_t need = c->rx_len + len + rest;
    if (need > c->rx_cap) {
        char *p = realloc(c->rx, need);
        if (!p)
            return fail_now(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        c->rx = p;
        c->rx_cap = need;
    }
    if (len)
        memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (!final)
        return 0;
    deliver(c, c->rx, c->rx_len);
    free(c->rx); /* split messages are rare; idle connections keep nothing */
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
    return 0;
}

/* One message per writeable callback keeps any single peer from hogging the
 * loop; the close frame goes only once the queue is empty. */
static int conn_writeable(struct cs_ws_conn *c, struct lws *wsi)
{
    if (c->state == CONN_CLOSE_SENT)
        return 0; /* lws's closing handshake is under way: nothing to add */
    /* Several messages per callback while the socket takes them whole: a
     * burst (a specialist's offers) then costs one turn of the loop, not one
     * turn per message. The budget keeps one peer from holding the loop. */
    size_t budget = WRITE_BUDGET_BYTES;
    struct out_msg *m;
    while ((m = c->head) != NULL && budget > 0) {
        c->head = m->next;
        if (!c->head)
            c->tail = NULL;
        c->queued -= m->len;
        int n = lws_write(wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT);
        bool ok = n >= 0 && (size_t)n >= m->len;
        budget = m->len < budget ? budget - m->len : 0;
        free(m);
        if (!ok)
            return -1;
        if (lws_send_pipe_choked(wsi))
            break; /* lws holds the rest of this one; wait for the socket */
    }
    if (c->queued < c->srv->cfg.max_queued_bytes)
        c->over_since_ms = 0;
    /* The close is handed to lws only when lws holds no unsent part of our
     * frames (see hand_close_to_lws): a choked pipe waits for the next turn. */
    if (c->head || (c->state == CONN_CLOSING && lws_send_pipe_choked(wsi))) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    if (c->state == CONN_CLOSING)
        return hand_close_to_lws(c, wsi);
    return 0;
}

/*
 * lws 4.1 accepts a Sec-WebSocket-Protocol offer only when it names one of the
 * vhost's protocols, and echoes that name. We accept any offer: just before
 * lws chooses, our single protocol is renamed to the client's first offer, so
 * lws binds it and echoes a name the client asked for (browsers fail the
 * handshake otherwise). Without an offer lws uses protocols[0] and echoes
 * nothing, whatever the name. Same tokenizer flags as lws, so same token.
 */
static void adopt_subprotocol(cs_ws_server_t *s, struct lws *wsi)
{
    char buf[128], name[sizeof s->pcol_name];
    int n = lws_hdr_copy(wsi, buf, sizeof buf - 1, WSI_TOKEN_PROTOCOL);
    if (n <= 0)
        return;
    struct lws_tokenize ts;
    lws_tokenize_init(&ts, buf, LWS_TOKENIZE_F_COMMA_SEP_LIST | LWS_TOKENIZE_F_MINUS_NONTERM |
                                    LWS_TOKENIZE_F_DOT_NONTERM | LWS_TOKENIZE_F_RFC7230_DELIMS);
    ts.len = (size_t)n;
    lws_tokenize_elem e;
    do {
        e = lws_tokenize(&ts);
        if (e == LWS_TOKZE_TOKEN) {
            if (lws_tokenize_cstr(&ts, name, sizeof name) == 0)
                cs_strlcpy(s->pcol_name, name, sizeof s->pcol_name);
            return;
        }
    } while (e == LWS_TOKZE_DELIMITER);
}

static int confirm_upgrade(cs_ws_server_t *s, struct lws *wsi, const char *upgrade)
{
    char *uri = NULL;
    int ulen = 0;
    int meth = lws_http_get_uri_and_method(wsi, &uri, &ulen);
    if (upgrade && strcasecmp(upgrade, "h2c") == 0)
        return cs_ws_http_reply_close(wsi, 400, "unsupported upgrade\n");
    if (!upgrade || strcasecmp(upgrade, "websocket") != 0)
        return -1; /* lws has already answered 403 to anything else */
    if (meth != LWSHUMETH_GET || !uri || ulen != 3 || memcmp(uri, "/ws", 3) != 0)
        return cs_ws_http_reply_close(wsi, 404, "not found\n");
    adopt_subprotocol(s, wsi);
    return 0;
}

/* A descriptor number at the ceiling means every number below it is taken:
 * the process is near its open-files limit. Closing the socket at once (the
 * peer sees the connection closed) keeps descriptors for media and
 * recordings, and unlike an accept() failing with EMFILE it takes the
 * connection off the listen queue, so the loop does not spin on it. */
static int filter_accept(cs_ws_server_t *s, int fd)
{
    if (!s || s->cfg.fd_ceiling <= 0 || fd < s->cfg.fd_ceiling)
        return 0;
    s->refused_fd++;
    int64_t now = cs_mono_ms();
    if (!s->refused_logged_ms || now - s->refused_logged_ms >= 10000) {
        s->refused_logged_ms = now;
        CS_LOGW(MOD, "near the open-files limit: closing new connections at once (%llu so far)",
                (unsigned long long)s->refused_fd);
    }
    return 1;
}

/* ---- the lws protocol callback ---------------------------------------------- */

static int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                       size_t len)
{
    cs_ws_server_t *s = lws_context_user(lws_get_context(wsi));
    struct cs_ws_pss *pss = user;
    switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (s && atomic_exchange(&s->wake_pending, false) && !s->destroying && s->cb.on_tick)
            s->cb.on_tick(s->user, cs_now_ms());
        return 0;
    case LWS_CALLBACK_FILTER_NETWORK_CONNECTION: /* in: the accepted descriptor */
        return filter_accept(s, (int)(intptr_t)in);
    case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
        return confirm_upgrade(s, wsi, in);
    case LWS_CALLBACK_ESTABLISHED:
        return conn_established(s, wsi, pss);
    case LWS_CALLBACK_RECEIVE:
        return pss && pss->conn ? conn_receive(pss->conn, wsi, in, len) : -1;
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return pss && pss->conn ? conn_writeable(pss->conn, wsi) : 0;
    case LWS_CALLBACK_TIMER:
        return pss && pss->conn ? drain_check(pss->conn, wsi) : 0;
    case LWS_CALLBACK_CLOSED:
        if (pss && pss->conn) {
            struct cs_ws_conn *c = pss->conn;
            pss->conn = NULL;
            conn_finish(c);
        }
        return 0;
    case LWS_CALLBACK_RAW_ADOPT:
        return -1; /* CONNECT and other non-HTTP fallbacks: not ours */
    default:
        return cs_ws_http_callback(s, wsi, reason, pss, in, len);
    }
}

/* ---- the loop ----------------------------------------------------------------- */

static void tick_cb(lws_sorted_usec_list_t *sul)
{
    cs_ws_server_t *s = lws_container_of(sul, cs_ws_server_t, tick);
    /* Re-armed first: the tick is also what makes lws_service() return for
     * cs_ws_stop(), so it must never stop. */
    int ms = s->destroying ? SHUTDOWN_POLL_MS : s->cfg.tick_ms;
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, (lws_usec_t)ms * LWS_US_PER_MS);
    if (!s->destroying && s->cb.on_tick)
        s->cb.on_tick(s->user, cs_now_ms());
}

static int create_lws(cs_ws_server_t *s, const cs_ws_config_t *cfg)
{
    bool tls = cfg->tls_cert_path != NULL;
    struct lws_context_creation_info ci;
    memset(&ci, 0, sizeof ci);
    ci.options = LWS_SERVER_OPTION_EXPLICIT_VHOSTS |
                 (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    ci.port = CONTEXT_PORT_NO_LISTEN;
    ci.gid = -1;
    ci.uid = -1;
    ci.user = s;
    ci.max_http_header_data = MAX_HEADER_DATA;
    ci.server_string = "consilium";
    s->ctx = lws_create_context(&ci);
    if (!s->ctx)
        return CS_EIO; /* OpenSSL, eventfd or fd-table set-up failed */

    struct lws_context_creation_info vi;
    memset(&vi, 0, sizeof vi);
    vi.vhost_name = "consilium";
    vi.port = cfg->port;
    vi.iface = cfg->bind_address;
    vi.protocols = s->protocols;
    vi.options = LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND |
                 (is_ipv4_literal(cfg->bind_address) ? LWS_SERVER_OPTION_DISABLE_IPV6 : 0) |
                 (tls ? LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT : 0);
    vi.ssl_cert_filepath = cfg->tls_cert_path;
    vi.ssl_private_key_filepath = cfg->tls_key_path;
    vi.alpn = "http/1.1"; /* no h2: one request per wsi keeps ws_http.c simple */
    s->vh = lws_create_vhost(s->ctx, &vi);
    return s->vh ? CS_OK : CS_EIO;
}

cs_ws_server_t *cs_ws_server_new(const cs_ws_config_t *cfg, const cs_ws_callbacks_t *cb,
                                 void *user, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    *err = CS_EINVAL;
    if (!config_valid(cfg) || !cb)
        return NULL;
    *err = CS_ENOMEM;
    cs_ws_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->cfg.bind_address = s->cfg.tls_cert_path = s->cfg.tls_key_path = NULL;
    s->cb = *cb;
    s->user = user;
    atomic_init(&s->wake_pending, false);
    if (cfg->static_dir) {
        s->static_dir = strdup(cfg->static_dir);
        if (!s->static_dir) {
            free(s);
            return NULL;
        }
        size_t n = strlen(s->static_dir);
        while (n > 0 && s->static_dir[n - 1] == '/')
            s->static_dir[--n] = '\0';
    }
    s->cfg.static_dir = s->static_dir;
    cs_strlcpy(s->pcol_name, "consilium", sizeof s->pcol_name);
    s->protocols[0].name = s->pcol_name;
    s->protocols[0].callback = ws_callback;
    s->protocols[0].per_session_data_size = sizeof(struct cs_ws_pss);
    s->protocols[0].rx_buffer_size = RX_CHUNK;

    lws_set_log_level(LLL_ERR | LLL_WARN, log_emit);
    *err = create_lws(s, cfg);
    if (*err != CS_OK) {
        CS_LOGE(MOD, "cannot listen on %s:%d%s", cfg->bind_address ? cfg->bind_address : "*",
                cfg->port, cfg->tls_cert_path ? " with TLS" : "");
        if (s->ctx)
            lws_context_destroy(s->ctx);
        free(s->static_dir);
        free(s);
        return NULL;
    }
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, (lws_usec_t)cfg->tick_ms * LWS_US_PER_MS);
    return s;
}

/* The loop has stopped, but connections deserve a close frame (the
 * application's own cs_ws_close calls made after cs_ws_run returned included):
 * turn the loop by hand until they are gone or the time is up. */
static void flush_closes(cs_ws_server_t *s)
{
    for (struct cs_ws_conn *c = s->conns; c; c = c->next)
        if (c->state == CONN_OPEN)
            start_close(c, LWS_CLOSE_STATUS_GOINGAWAY, "server shutting down");
    lws_sul_schedule(s->ctx, 0, &s->tick, tick_cb, SHUTDOWN_POLL_MS * LWS_US_PER_MS);
    int64_t deadline = cs_mono_ms() + SHUTDOWN_FLUSH_MS;
    while (s->conns && cs_mono_ms() < deadline)
        if (lws_service(s->ctx, 0) < 0)
            break;
}

void cs_ws_server_free(cs_ws_server_t *s)
{
    if (!s)
        return;
    s->destroying = true; /* no more on_tick, sends or new closes */
    flush_closes(s);
    lws_sul_cancel(&s->tick);
    /* Closes every wsi through our callback, so on_close runs for each. */
    lws_context_destroy(s->ctx);
    while (s->conns)
        conn_finish(s->conns); /* should be none left; never leak one */
    free(s->static_dir);
    free(s);
}

int cs_ws_port(const cs_ws_server_t *s)
{
    return s ? lws_get_vhost_listen_port(s->vh) : 0;
}

int cs_ws_run(cs_ws_server_t *s)
{
    if (!s)
        return CS_EINVAL;
    while (!s->stop) {
        if (lws_service(s->ctx, 0) < 0) {
            CS_LOGE(MOD, "event loop failed");
            break;
        }
    }
    s->stop = 0; /* a later cs_ws_run() runs again */
    return CS_OK;
}

void cs_ws_stop(cs_ws_server_t *s)
{
    if (s)
        s->stop = 1;
}

void cs_ws_wake(cs_ws_server_t *s)
{
    if (!s)
        return;
    atomic_store(&s->wake_pending, true);
    lws_cancel_service(s->ctx);
}

int cs_ws_connections(const cs_ws_server_t *s)
{
    return s ? s->nconn : 0;
}

/* ---- per-connection API --------------------------------------------------------- */

/*
 * A reader is slow when its backlog stays over max_queued_bytes for longer
 * than SLOW_READER_GRACE_MS. A prompt reader may thus receive a message (a
 * coordinator's snapshot) or a burst (a specialist's offers) bigger than the
 * bound; SLOW_READER_HARD_FACTOR times it is the most memory one connection
 * may hold meanwhile.
 */
static bool queue_admits(struct cs_ws_conn *c, size_t len)
{
    size_t max = c->srv->cfg.max_queued_bytes;
    size_t hard = max * SLOW_READER_HARD_FACTOR;
    if (c->queued == 0)
        return true; /* one message, however large, is ours to send */
    if (c->queued > hard || len > hard - c->queued)
        return false;
    if (c->queued + len <= max)
        return true;
    int64_t now = cs_mono_ms();
    if (!c->over_since_ms)
        c->over_since_ms = now;
    return now - c->over_since_ms <= SLOW_READER_GRACE_MS;
}

int cs_ws_send(cs_ws_conn_t *c, const char *data, size_t len)
{
    if (!c || (!data && len))
        return CS_EINVAL;
    if (c->state != CONN_OPEN || !c->opened || c->srv->destroying)
        return CS_ESTATE;
    if (!queue_admits(c, len))
        return CS_ELIMIT;
    struct out_msg *m = malloc(sizeof *m + LWS_PRE + len);
    if (!m)
        return CS_ENOMEM;
    m->next = NULL;
    m->len = len;
    if (len)
        memcpy(m->buf + LWS_PRE, data, len);
    if (c->tail)
        c->tail->next = m;
    else
        c->head = m;
    c->tail = m;
    c->queued += len;
    lws_callback_on_writable(c->wsi);
    return CS_OK;
}

void cs_ws_close(cs_ws_conn_t *c, int code, const char *reason)
{
    if (!c || c->state != CONN_OPEN || c->srv->destroying)
        return;
    start_close(c, code, reason);
}

void cs_ws_conn_set_user(cs_ws_conn_t *c, void *p)
{
    if (c)
        c->user = p;
}

void *cs_ws_conn_user(const cs_ws_conn_t *c)
{
    return c ? c->user : NULL;
}

const char *cs_ws_conn_peer(const cs_ws_conn_t *c)
{
    return c ? c->peer : "";
}
