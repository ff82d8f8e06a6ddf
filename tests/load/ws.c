/*
 * ws.c — the load tool's WebSocket client (RFC 6455, ws:// only): a
 * non-blocking TCP connection watched by a GSource on the run's
 * GMainContext, the HTTP/1.1 Upgrade handshake (Sec-WebSocket-Accept
 * checked), masked client frames, fragment reassembly, ping → pong and the
 * closing handshake. Every buffer has a maximum. The pure parts (URL,
 * handshake text, frame headers) are in ws_proto.c.
 *
 * Callbacks come only from the source's dispatch or the connection's timer,
 * never from inside an lt_ws_* call, so a caller is never re-entered; an
 * lt_ws_free from inside a callback is deferred until the callback returns.
 */
#include <errno.h>
#include <glib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/load/ws.h"
#include "tests/load/ws_internal.h"

#define WS_HANDSHAKE_MAX 8192                       /* the server's 101 response */
#define WS_IN_MAX (LT_WS_MAX_MESSAGE + 65536)       /* one whole frame and some of the next */
#define WS_OUT_MAX (8u << 20)                       /* queued, not yet written */
#define WS_READ_BUDGET (256 * 1024)                 /* per dispatch, so one socket cannot starve the rest */
#define WS_HANDSHAKE_MS 10000
#define WS_CLOSE_MS 2000
#define WS_LINGER_MS 1000

typedef enum { ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSING, ST_CLOSED } ws_state_t;

typedef struct {
    uint8_t *p;
    size_t len, off, cap, max;  /* bytes p[off..len) are pending; never more than max */
} wbuf_t;

typedef struct {
    GSource base;
    lt_ws_t *ws;
} ws_source_t;

struct lt_ws {
    GMainContext *ctx;
    GSource *src;               /* the socket */
    gpointer tag;
    GSource *timer;             /* handshake, close or linger deadline; or "as soon as possible" */
    int fd;
    int connect_err;            /* connect(2) failed at once with this errno */
    ws_state_t state;
    lt_ws_callbacks_t cb;
    void *user;
    int depth;                  /* callbacks running */
    bool freed;                 /* lt_ws_free was called: no more callbacks */
    bool lingering;             /* freed, flushing what is queued */
    bool got_close;             /* the server's close frame arrived */
    int close_code;             /* what on_close will report */
    char close_reason[128];
    lt_ws_url_t url;
    char proto[64];
    char accept[32];            /* the Sec-WebSocket-Accept we expect */
    uint64_t rng;               /* masking keys (xorshift) */
    wbuf_t in, out, pre, msg;   /* received; to write; sent before open; message being joined */
    uint8_t msg_opcode;         /* 0: no fragmented message in progress */
};

static void ws_dispatch(lt_ws_t *ws);
static void finish(lt_ws_t *ws, int code, const char *reason);

/* Freed connections still flushing; the loop thread's only global. */
static size_t lingering_count;

/* ---- bounded byte buffers ------------------------------------------------------------------- */

static int buf_reserve(wbuf_t *b, size_t more)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len - b->off + more > b->max)
        return CS_ETOOBIG;
    if (b->off && b->len + more > b->cap) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->len + more <= b->cap)
        return CS_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    if (cap > b->max + 64)
        cap = b->max + 64;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return CS_ENOMEM;
    b->p = p;
    b->cap = cap;
    return CS_OK;
}

static int buf_add(wbuf_t *b, const void *data, size_t len)
{
    int rc = buf_reserve(b, len);
    if (rc)
        return rc;
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return CS_OK;
}

static void buf_free(wbuf_t *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->off = b->cap = 0;
}

/* ---- the socket's source and the timer ------------------------------------------------------- */

static gboolean source_dispatch(GSource *s, GSourceFunc cb, gpointer data)
{
    (void)cb;
    (void)data;
    ws_dispatch(((ws_source_t *)s)->ws);
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs source_funcs = {.dispatch = source_dispatch};

static void watch(lt_ws_t *ws)
{
    if (!ws->src)
        return;
    GIOCondition c = G_IO_IN | G_IO_ERR | G_IO_HUP;
    if (ws->state == ST_CONNECTING || ws->out.len > ws->out.off)
        c |= G_IO_OUT;
    g_source_modify_unix_fd(ws->src, ws->tag, c);
}

static void timer_stop(lt_ws_t *ws)
{
    if (ws->timer) {
        g_source_destroy(ws->timer);
        g_source_unref(ws->timer);
        ws->timer = NULL;
    }
}

static void really_free(lt_ws_t *ws)
{
    if (ws->freed)
        lingering_count--;
    timer_stop(ws);
    if (ws->src) {
        g_source_destroy(ws->src);
        g_source_unref(ws->src);
    }
    if (ws->fd >= 0)
        close(ws->fd);
    buf_free(&ws->in);
    buf_free(&ws->out);
    buf_free(&ws->pre);
    buf_free(&ws->msg);
    free(ws);
}

/* Runs at the end of every dispatch: a connection freed meanwhile goes now. */
static void leave(lt_ws_t *ws)
{
    ws->depth--;
    if (ws->depth == 0 && ws->freed && !ws->lingering)
        really_free(ws);
}

static gboolean timer_fired(gpointer data)
{
    lt_ws_t *ws = data;
    g_source_unref(ws->timer);
    ws->timer = NULL;
    ws->depth++;
    if (ws->lingering) {
        ws->lingering = false;          /* gave up flushing */
    } else if (ws->state == ST_CONNECTING && ws->connect_err) {
        char why[128];
        snprintf(why, sizeof why, "cannot connect: %s", strerror(ws->connect_err));
        finish(ws, 1006, why);
    } else if (ws->state == ST_CONNECTING || ws->state == ST_HANDSHAKE) {
        finish(ws, 1006, "handshake timed out");
    } else if (ws->state == ST_CLOSING) {
        finish(ws, ws->close_code, ws->close_reason[0] ? ws->close_reason : "no close frame from the server");
    }
    leave(ws);
    return G_SOURCE_REMOVE;
}

static void timer_start(lt_ws_t *ws, unsigned ms)
{
    timer_stop(ws);
    ws->timer = g_timeout_source_new(ms);
    g_source_set_callback(ws->timer, timer_fired, ws, NULL);
    g_source_attach(ws->timer, ws->ctx);
}

/* The end: no more I/O; on_close once unless the user freed it. */
static void finish(lt_ws_t *ws, int code, const char *reason)
{
    if (ws->state == ST_CLOSED)
        return;
    ws->state = ST_CLOSED;
    timer_stop(ws);
    if (ws->src) {
        g_source_destroy(ws->src);
        g_source_unref(ws->src);
        ws->src = NULL;
    }
    if (ws->fd >= 0) {
        close(ws->fd);
        ws->fd = -1;
    }
    buf_free(&ws->in);
    buf_free(&ws->msg);
    ws->lingering = false;
    if (!ws->freed && ws->cb.on_close) {
        ws->depth++;
        ws->cb.on_close(ws->user, code, reason ? reason : "");
        leave(ws);
    }
}

/* ---- frames out ------------------------------------------------------------------------------ */

static uint32_t rng_next(lt_ws_t *ws)
{
    uint64_t x = ws->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    ws->rng = x;
    return (uint32_t)(x >> 16);
}

static int queue_frame(lt_ws_t *ws, wbuf_t *b, uint8_t opcode, const void *payload, size_t len)
{
    uint8_t hdr[14], mask[4];
    uint32_t m = rng_next(ws);
    memcpy(mask, &m, 4);
    size_t hl = lt_ws_frame_header(opcode, len, mask, hdr);
    int rc = buf_reserve(b, hl + len);
    if (rc)
        return rc;
    memcpy(b->p + b->len, hdr, hl);
    uint8_t *dst = b->p + b->len + hl;
    const uint8_t *src = payload;
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i] ^ mask[i & 3];
    b->len += hl + len;
    return CS_OK;
}

static void queue_close(lt_ws_t *ws, int code, const char *reason)
{
    uint8_t p[125];
    size_t n = 0;
    if (code > 0) {
        cs_wr16(p, (uint16_t)code);
        n = 2 + cs_strlcpy((char *)p + 2, reason ? reason : "", sizeof p - 2);
        if (n > sizeof p - 1)
            n = sizeof p - 1;
    }
    (void)queue_frame(ws, &ws->out, 8, p, n);
}

/* Writes what the kernel takes; CS_OK, or CS_EIO with errno set. */
static int flush_out(lt_ws_t *ws)
{
    while (ws->out.len > ws->out.off) {
        ssize_t n = send(ws->fd, ws->out.p + ws->out.off, ws->out.len - ws->out.off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? CS_OK : CS_EIO;
        ws->out.off += (size_t)n;
    }
    ws->out.off = ws->out.len = 0;
    return CS_OK;
}

/* ---- handshake ------------------------------------------------------------------------------- */

static int send_request(lt_ws_t *ws)
{
    char req[1024];
    int n = lt_ws_request(&ws->url, ws->proto, req, sizeof req, ws->accept);
    return n < 0 ? n : buf_add(&ws->out, req, (size_t)n);
}

/* The response so far in ws->in: 0 waiting, 1 open, -1 finished. */
static int handshake_step(lt_ws_t *ws)
{
    size_t avail = ws->in.len - ws->in.off;
    const uint8_t *p = ws->in.p + ws->in.off;
    const uint8_t *end = avail >= 4 ? memmem(p, avail, "\r\n\r\n", 4) : NULL;
    if (!end) {
        if (avail >= WS_HANDSHAKE_MAX) {
            finish(ws, 1006, "handshake refused: response too long");
            return -1;
        }
        return 0;
    }
    size_t hl = (size_t)(end - p) + 4;
    if (hl > WS_HANDSHAKE_MAX) {
        finish(ws, 1006, "handshake refused: response too long");
        return -1;
    }
    char head[WS_HANDSHAKE_MAX + 1], why[64];
    memcpy(head, p, hl - 2);
    head[hl - 2] = '\0';               /* keep one CRLF so the last header ends like the others */
    ws->in.off += hl;
    const char *bad = lt_ws_check_response(head, ws->accept, ws->proto, why, sizeof why);
    if (bad) {
        finish(ws, 1006, bad);
        return -1;
    }
    ws->state = ST_OPEN;
    timer_stop(ws);
    if (ws->pre.len > ws->pre.off && buf_add(&ws->out, ws->pre.p + ws->pre.off, ws->pre.len - ws->pre.off)) {
        finish(ws, 1006, "out of memory");
        return -1;
    }
    buf_free(&ws->pre);
    if (ws->cb.on_open && !ws->freed)
        ws->cb.on_open(ws->user);
    return ws->state == ST_CLOSED || ws->freed ? -1 : 1;
}

/* ---- frames in ------------------------------------------------------------------------------- */

/* Protocol trouble: tell the server, then end with code. */
static void fail(lt_ws_t *ws, int code, const char *reason)
{
    if (ws->state == ST_OPEN) {
        queue_close(ws, code, reason);
        (void)flush_out(ws);
    }
    finish(ws, code, reason);
}

static void deliver(lt_ws_t *ws, uint8_t opcode)
{
    if (opcode != 1) {
        fail(ws, 1003, "text messages only");
        return;
    }
    size_t n = ws->msg.len;
    if (!cs_utf8_valid((const char *)ws->msg.p, n)) {
        fail(ws, 1007, "invalid UTF-8");
        return;
    }
    ws->msg.p[n] = '\0';               /* room kept by on_data's reserve */
    ws->msg.len = 0;
    if (ws->state == ST_OPEN && !ws->freed && ws->cb.on_message)
        ws->cb.on_message(ws->user, (const char *)ws->msg.p, n);
}

static void on_close_frame(lt_ws_t *ws, const uint8_t *p, size_t n)
{
    int code = 1005;
    char reason[124] = "";
    if (n == 1) {
        fail(ws, 1002, "malformed close frame");
        return;
    }
    if (n >= 2) {
        code = cs_rd16(p);
        memcpy(reason, p + 2, n - 2);
        reason[n - 2] = '\0';
    }
    ws->got_close = true;
    if (ws->state == ST_OPEN) {
        queue_close(ws, code == 1005 ? 1000 : code, "");
        (void)flush_out(ws);
    }
    finish(ws, code, reason);
}

static void on_data(lt_ws_t *ws, uint8_t opcode, bool fin, const uint8_t *p, size_t n)
{
    if (opcode == 0 ? ws->msg_opcode == 0 : ws->msg_opcode != 0) {
        fail(ws, 1002, opcode ? "new message inside a fragmented one" : "continuation of nothing");
        return;
    }
    if (opcode)
        ws->msg_opcode = opcode;
    if (ws->msg.len + n > LT_WS_MAX_MESSAGE) {
        fail(ws, 1009, "message too big");
        return;
    }
    if (buf_reserve(&ws->msg, n + 1)) {
        fail(ws, 1011, "out of memory");
        return;
    }
    memcpy(ws->msg.p + ws->msg.len, p, n);
    ws->msg.len += n;
    if (fin) {
        uint8_t op = ws->msg_opcode;
        ws->msg_opcode = 0;
        deliver(ws, op);
    }
}

/* One whole frame; the server's are never masked. */
static void on_frame(lt_ws_t *ws, const lt_ws_frame_t *f, const uint8_t *payload)
{
    size_t n = (size_t)f->payload_len;
    if (f->masked) {
        fail(ws, 1002, "masked frame from the server");
        return;
    }
    switch (f->opcode) {
    case 8:
        on_close_frame(ws, payload, n);
        break;
    case 9:
        if (ws->state == ST_OPEN)
            (void)queue_frame(ws, &ws->out, 10, payload, n);
        break;
    case 10:
        break;
    default:
        on_data(ws, f->opcode, f->fin, payload, n);
    }
}

static void process_frames(lt_ws_t *ws)
{
    while (ws->in.len > ws->in.off && (ws->state == ST_OPEN || ws->state == ST_CLOSING) && !ws->freed) {
        lt_ws_frame_t f;
        const uint8_t *p = ws->in.p + ws->in.off;
        int rc = lt_ws_frame_parse(p, ws->in.len - ws->in.off, &f);
        if (rc == CS_EAGAIN) {
            if (f.header_len && f.payload_len > LT_WS_MAX_MESSAGE)
                fail(ws, 1009, "message too big");
            return;
        }
        if (rc < 0) {
            fail(ws, 1002, "malformed frame");
            return;
        }
        ws->in.off += f.header_len + (size_t)f.payload_len;
        on_frame(ws, &f, p + f.header_len);
    }
}

/* Reads what is there (up to a budget) and handles it. */
static void read_in(lt_ws_t *ws)
{
    size_t budget = WS_READ_BUDGET;
    while (budget && (ws->state == ST_HANDSHAKE || ws->state == ST_OPEN || ws->state == ST_CLOSING)) {
        if (buf_reserve(&ws->in, 4096)) {
            fail(ws, 1009, "message too big");
            return;
        }
        size_t room = ws->in.cap - ws->in.len;
        ssize_t n = recv(ws->fd, ws->in.p + ws->in.len, room < budget ? room : budget, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            if (ws->state == ST_CLOSING && ws->got_close)
                finish(ws, ws->close_code, ws->close_reason);
            else
                finish(ws, 1006, n == 0 ? "connection closed without a close frame" : strerror(errno));
            return;
        }
        ws->in.len += (size_t)n;
        budget -= (size_t)n;
        if (ws->state == ST_HANDSHAKE && handshake_step(ws) <= 0)
            return;
        process_frames(ws);
        if (ws->freed)
            return;
    }
}

static void connected(lt_ws_t *ws)
{
    int err = ws->connect_err;
    socklen_t len = sizeof err;
    if (!err && getsockopt(ws->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        char why[128];
        snprintf(why, sizeof why, "cannot connect: %s", strerror(err));
        finish(ws, 1006, why);
        return;
    }
    ws->state = ST_HANDSHAKE;
    if (send_request(ws))
        finish(ws, 1006, "cannot write the handshake");
}

/* A freed connection: flush, then read and drop until the server closes
 * (closing with unread bytes would reset the connection, and the server
 * could lose what we sent last). finish() ends the lingering. */
static void linger_step(lt_ws_t *ws, GIOCondition rev)
{
    if (flush_out(ws)) {
        finish(ws, 1006, "connection lost");
        return;
    }
    if (!(rev & (G_IO_IN | G_IO_HUP | G_IO_ERR)))
        return;
    char sink[4096];
    for (size_t budget = WS_READ_BUDGET; budget >= sizeof sink; budget -= sizeof sink) {
        ssize_t n = recv(ws->fd, sink, sizeof sink, 0);
        if (n > 0 || (n < 0 && errno == EINTR))
            continue;
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            finish(ws, 1000, "");
        return;
    }
}

static void ws_dispatch(lt_ws_t *ws)
{
    GIOCondition rev = ws->src ? g_source_query_unix_fd(ws->src, ws->tag) : 0;
    ws->depth++;
    if (ws->lingering) {
        linger_step(ws, rev);
    } else {
        if (ws->state == ST_CONNECTING && rev)
            connected(ws);
        if (ws->fd >= 0 && ws->state != ST_CONNECTING && flush_out(ws)) {
            char why[128];
            snprintf(why, sizeof why, "connection lost: %s", strerror(errno));
            finish(ws, 1006, why);
        }
        if (ws->fd >= 0 && (rev & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
            read_in(ws);
            if (ws->fd >= 0 && ws->state != ST_CONNECTING && flush_out(ws))
                finish(ws, 1006, "connection lost");
        }
    }
    watch(ws);
    leave(ws);
}

/* ---- public API ------------------------------------------------------------------------------ */

lt_ws_t *lt_ws_connect(void *ctx, const char *url, const char *subprotocol,
                       const lt_ws_callbacks_t *cb, void *user, int *err)
{
    int dummy;
    err = err ? err : &dummy;
    lt_ws_t *ws = calloc(1, sizeof *ws);
    if (!ws) {
        *err = CS_ENOMEM;
        return NULL;
    }
    ws->fd = -1;
    ws->ctx = ctx;
    ws->user = user;
    if (cb)
        ws->cb = *cb;
    ws->close_code = 1006;
    ws->in.max = WS_IN_MAX;
    ws->out.max = WS_OUT_MAX;
    ws->pre.max = WS_OUT_MAX;
    ws->msg.max = LT_WS_MAX_MESSAGE + 1;
    if (!url || lt_ws_url_parse(url, &ws->url) ||
        (subprotocol && (!lt_ws_token_ok(subprotocol) ||
                         cs_strlcpy(ws->proto, subprotocol, sizeof ws->proto) >= sizeof ws->proto))) {
        free(ws);
        *err = CS_EINVAL;
        return NULL;
    }
    if (cs_random_bytes(&ws->rng, sizeof ws->rng) || !ws->rng)
        ws->rng = 0x9e3779b97f4a7c15ull;
    ws->fd = socket(ws->url.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (ws->fd < 0) {
        free(ws);
        *err = CS_EIO;
        return NULL;
    }
    int one = 1;
    (void)setsockopt(ws->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Refused at once (loopback does that): on_close reports it from the loop. */
    if (connect(ws->fd, (struct sockaddr *)&ws->url.addr, ws->url.addr_len) < 0 && errno != EINPROGRESS)
        ws->connect_err = errno;
    ws->src = g_source_new(&source_funcs, sizeof(ws_source_t));
    ((ws_source_t *)ws->src)->ws = ws;
    ws->tag = g_source_add_unix_fd(ws->src, ws->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP);
    g_source_attach(ws->src, ctx);
    timer_start(ws, ws->connect_err ? 0 : WS_HANDSHAKE_MS);
    *err = CS_OK;
    return ws;
}

int lt_ws_send(lt_ws_t *ws, const char *text, size_t len)
{
    if (!ws || ws->freed || ws->state == ST_CLOSING || ws->state == ST_CLOSED)
        return CS_ESTATE;
    if (len > LT_WS_MAX_MESSAGE)
        return CS_ETOOBIG;
    int rc = queue_frame(ws, ws->state == ST_OPEN ? &ws->out : &ws->pre, 1, text, len);
    if (rc == CS_ETOOBIG)
        return CS_EAGAIN;              /* the queue is full, not the message too big */
    watch(ws);
    return rc;
}

void lt_ws_close(lt_ws_t *ws, int code)
{
    if (!ws || ws->freed || ws->state == ST_CLOSING || ws->state == ST_CLOSED)
        return;
    ws->close_code = code;
    if (ws->state != ST_OPEN) {
        ws->state = ST_CLOSING;
        snprintf(ws->close_reason, sizeof ws->close_reason, "closed before the handshake ended");
        timer_start(ws, 0);
        return;
    }
    queue_close(ws, code, "");
    ws->state = ST_CLOSING;
    timer_start(ws, WS_CLOSE_MS);
    watch(ws);
}

void lt_ws_free(lt_ws_t *ws)
{
    if (!ws || ws->freed)
        return;
    ws->freed = true;
    lingering_count++;             /* until really_free, even when that is at once */
    if (ws->fd >= 0 && (ws->state == ST_OPEN || ws->state == ST_CLOSING)) {
        /* Lingers: the source flushes what is queued and a close frame and
         * waits for the server to close; the timer bounds it. */
        if (ws->state == ST_OPEN)
            queue_close(ws, 1000, "");
        ws->lingering = true;
        ws->state = ST_CLOSING;
        timer_start(ws, WS_LINGER_MS);
        watch(ws);
        return;
    }
    if (ws->depth == 0)
        really_free(ws);
}

size_t lt_ws_lingering(void)
{
    return lingering_count;
}
