/*
 * ws_test_client.h — the raw-socket client the signaling/ws unit tests
 * (test_ws_*.c) talk to the fixture server of ws_test_server.h with: plain
 * POSIX sockets, hand-written HTTP requests and hand-built, masked WebSocket
 * frames. Every socket read has a 5 s timeout (IO_TIMEOUT_S) so a bug fails a
 * test instead of hanging it.
 *
 * Header-only, for one test binary each: every function is static inline, so
 * a test file that does not use one gets no warning.
 */
#ifndef CS_TESTS_UNIT_WS_TEST_CLIENT_H
#define CS_TESTS_UNIT_WS_TEST_CLIENT_H

#include "tests/unit/ws_test_server.h"

/* ---- raw socket helpers ------------------------------------------------------- */

static inline int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static inline void send_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

static inline void send_str(int fd, const char *s)
{
    send_all(fd, s, strlen(s));
}

/* False on EOF, error or timeout. */
static inline bool recv_exact(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = recv(fd, p, len, 0);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* True when the peer closed the connection (EOF or reset) within the timeout. */
static inline bool peer_closed(int fd)
{
    char c;
    for (;;) {
        ssize_t n = recv(fd, &c, 1, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET))
            return true;
        if (n < 0)
            return false;
    }
}

/* True only for an orderly end of stream: EOF, not a reset (a server that
 * closes its socket with our data unread makes the kernel send an RST). */
static inline bool peer_ended_cleanly(int fd)
{
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0)
        print_error("expected EOF, got %s\n", strerror(errno));
    else if (n > 0)
        print_error("expected EOF, got %zd more bytes\n", n);
    return n == 0;
}

/* Writes buf from its own thread, so the test can read while a large amount
 * of data is still going out (as a browser does). No cmocka asserts here; the
 * tests keep it static, as a failed assert leaves the thread behind. */
struct sender {
    pthread_t thread;
    int fd;
    const unsigned char *buf;
    size_t len, sent;
    int err; /* errno of the failed send, 0 when everything went out */
};

static inline void *sender_main(void *arg)
{
    struct sender *w = arg;
    while (w->sent < w->len) {
        ssize_t n = send(w->fd, w->buf + w->sent, w->len - w->sent, MSG_NOSIGNAL);
        if (n <= 0) {
            w->err = n < 0 ? errno : EPIPE;
            break;
        }
        w->sent += (size_t)n;
    }
    return NULL;
}

static inline void sender_start(struct sender *w, int fd, const unsigned char *buf, size_t len)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->buf = buf;
    w->len = len;
    assert_int_equal(pthread_create(&w->thread, NULL, sender_main, w), 0);
}

/* Everything was sent: the server read it all instead of resetting us. */
static inline void sender_finish(struct sender *w)
{
    assert_int_equal(pthread_join(w->thread, NULL), 0);
    if (w->err)
        print_error("send failed after %zu of %zu bytes: %s\n", w->sent, w->len,
                    strerror(w->err));
    assert_int_equal(w->err, 0);
    assert_int_equal(w->sent, w->len);
}

/* Reads up to and including the blank line, byte by byte so nothing after the
 * headers (a WebSocket frame) is consumed. Returns the length or -1. */
static inline int read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        if (!recv_exact(fd, buf + n, 1))
            return -1;
        n++;
        buf[n] = '\0';
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
            return (int)n;
    }
    return -1;
}

static inline int status_of(const char *head)
{
    int status = 0;
    return sscanf(head, "HTTP/1.%*d %d", &status) == 1 ? status : -1;
}

static inline bool has_header(const char *head, const char *line)
{
    char want[256];
    snprintf(want, sizeof want, "\r\n%s\r\n", line);
    return strcasestr(head, want) != NULL;
}

struct http_resp {
    int status;
    char head[4096];
    char body[4096];
    size_t body_len;
};

/* Reads one response on fd; for HEAD requests pass head_only. */
static inline void http_read(int fd, struct http_resp *r, bool head_only)
{
    memset(r, 0, sizeof *r);
    assert_true(read_head(fd, r->head, sizeof r->head) > 0);
    r->status = status_of(r->head);
    const char *cl = strcasestr(r->head, "\r\ncontent-length:");
    assert_non_null(cl);
    size_t len = strtoul(cl + 17, NULL, 10);
    if (head_only)
        return;
    assert_true(len < sizeof r->body);
    assert_true(recv_exact(fd, r->body, len));
    r->body_len = len;
    r->body[len] = '\0';
}

/* One request on a fresh connection. */
static inline void http_once(const char *request, struct http_resp *r)
{
    int fd = tcp_connect(srv.port);
    send_str(fd, request);
    http_read(fd, r, strncmp(request, "HEAD ", 5) == 0);
    close(fd);
}

/* ---- WebSocket client helpers ------------------------------------------------- */

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

/* Sends the upgrade request; returns the status and the response head. */
static inline int ws_handshake(int fd, const char *path, const char *extra, char *head, size_t cap)
{
    char req[1024];
    snprintf(req, sizeof req,
             "GET %s HTTP/1.1\r\n"
             "Host: 127.0.0.1\r\n"
             "Upgrade: websocket\r\n"
             "Connection: Upgrade\r\n"
             "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
             "Sec-WebSocket-Version: 13\r\n"
             "%s\r\n",
             path, extra ? extra : "");
    send_str(fd, req);
    if (read_head(fd, head, cap) < 0)
        return -1;
    return status_of(head);
}

static inline int ws_connect_with(const char *extra, char *head, size_t cap)
{
    int fd = tcp_connect(srv.port);
    assert_int_equal(ws_handshake(fd, "/ws", extra, head, cap), 101);
    assert_non_null(strcasestr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
    return fd;
}

static inline int ws_connect(void)
{
    char head[1024];
    return ws_connect_with(NULL, head, sizeof head);
}

/* Builds one masked client frame; returns a malloc'd buffer of *out_len. */
static inline unsigned char *ws_frame(bool fin, int opcode, const void *data, size_t len,
                                      size_t *out_len)
{
    unsigned char *f = malloc(14 + len);
    size_t n = 0;
    f[n++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        f[n++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        f[n++] = 0x80 | 126;
        f[n++] = (unsigned char)(len >> 8);
        f[n++] = (unsigned char)len;
    } else {
        f[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            f[n++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    memcpy(f + n, mask, 4);
    n += 4;
    for (size_t i = 0; i < len; i++)
        f[n++] = ((const unsigned char *)data)[i] ^ mask[i & 3];
    *out_len = n;
    return f;
}

/* A byte buffer that frames are appended to, to be sent in one go. */
struct wbuf {
    unsigned char *p;
    size_t len, cap;
};

static inline void wbuf_frame(struct wbuf *b, bool fin, int opcode, const void *data, size_t len)
{
    size_t n;
    unsigned char *f = ws_frame(fin, opcode, data, len, &n);
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, f, n);
    b->len += n;
    free(f);
}

static inline void ws_send_frame(int fd, bool fin, int opcode, const void *data, size_t len)
{
    size_t n;
    unsigned char *f = ws_frame(fin, opcode, data, len, &n);
    send_all(fd, f, n);
    free(f);
}

static inline void ws_send_text(int fd, const char *s)
{
    ws_send_frame(fd, true, OP_TEXT, s, strlen(s));
}

struct frame {
    int opcode;
    bool fin;
    size_t len;
    unsigned char *data; /* malloc'd, NUL-terminated */
};

static inline bool ws_read_frame(int fd, struct frame *f)
{
    unsigned char h[8];
    memset(f, 0, sizeof *f);
    if (!recv_exact(fd, h, 2))
        return false;
    f->fin = h[0] & 0x80;
    f->opcode = h[0] & 0x0f;
    assert_int_equal(h[1] & 0x80, 0); /* servers never mask */
    uint64_t len = h[1] & 0x7f;
    if (len >= 126) {
        size_t k = len == 126 ? 2 : 8;
        if (!recv_exact(fd, h, k))
            return false;
        len = 0;
        for (size_t i = 0; i < k; i++)
            len = len << 8 | h[i];
    }
    assert_true(len < (1u << 24));
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    if (!recv_exact(fd, f->data, f->len)) {
        free(f->data);
        return false;
    }
    f->data[f->len] = '\0';
    return true;
}

static inline void expect_text(int fd, const char *want, size_t len)
{
    struct frame f;
    assert_true(ws_read_frame(fd, &f));
    assert_int_equal(f.opcode, OP_TEXT);
    assert_true(f.fin);
    assert_int_equal(f.len, len);
    assert_memory_equal(f.data, want, len);
    free(f.data);
}

static inline void expect_close(int fd, int code, const char *reason)
{
    struct frame f;
    assert_true(ws_read_frame(fd, &f));
    assert_int_equal(f.opcode, OP_CLOSE);
    assert_true(f.len >= 2);
    assert_int_equal(f.data[0] << 8 | f.data[1], code);
    assert_string_equal((char *)f.data + 2, reason);
    free(f.data);
}

/* Answers or starts the closing handshake and hangs up. The server may
 * already be gone (it need not wait for our answer), so errors are fine. */
static inline void ws_hangup(int fd)
{
    const unsigned char normal[2] = {0x03, 0xe8};
    size_t n;
    unsigned char *f = ws_frame(true, OP_CLOSE, normal, 2, &n);
    ssize_t w = send(fd, f, n, MSG_NOSIGNAL);
    (void)w;
    free(f);
    close(fd);
}

#endif
