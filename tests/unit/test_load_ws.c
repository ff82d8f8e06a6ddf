/*
 * test_load_ws.c — unit tests for the load tool's WebSocket client
 * (tests/load/ws.c, ws_proto.c): the pure frame parser on every header form
 * and on malformed and truncated input, the header writer read back by the
 * parser, the URL, the Upgrade request and the check of the answer, and real
 * connections on a GMainContext: to the project's own WebSocket
 * server (ws_test_server.h: messages both ways, a server that closes, a
 * refused path, a message too big for it) and to a scripted server thread
 * that sends fragments, pings, masked or oversized frames and bad handshakes.
 *
 * Every wait has a 5 s timeout (IO_TIMEOUT_S), so a bug fails a test instead
 * of hanging it.
 */
#include "tests/unit/ws_test_server.h"

#include <glib.h>
#include <poll.h>

#include "tests/load/ws.h"
#include "tests/load/ws_internal.h"

/* ---- the pure parser -------------------------------------------------------------------------- */

/* A server frame (unmasked unless mask) with len payload bytes of 'p'; malloc'd. */
static uint8_t *frame(uint8_t b0, uint64_t len, const uint8_t *mask, size_t *total)
{
    uint8_t hdr[14];
    size_t hl = lt_ws_frame_header(b0 & 0x0f, len, mask, hdr);
    hdr[0] = b0;
    uint8_t *f = malloc(hl + len + 1);
    assert_non_null(f);
    memcpy(f, hdr, hl);
    memset(f + hl, 'p', len);
    *total = hl + len;
    return f;
}

static void expect_frame(uint8_t b0, uint64_t len, bool masked, size_t want_hl)
{
    const uint8_t mask[4] = {1, 2, 3, 4};
    size_t total;
    uint8_t *f = frame(b0, len, masked ? mask : NULL, &total);
    lt_ws_frame_t out;
    assert_int_equal(lt_ws_frame_parse(f, total, &out), (int)want_hl);
    assert_int_equal(out.header_len, want_hl);
    assert_int_equal(out.payload_len, len);
    assert_int_equal(out.opcode, b0 & 0x0f);
    assert_int_equal(out.fin, (b0 & 0x80) != 0);
    assert_int_equal(out.masked, masked);
    if (masked)
        assert_memory_equal(out.mask, mask, 4);
    /* Every shorter prefix asks for more; once the header is there it is known. */
    for (size_t cut = 0; cut < total; cut += cut < 20 ? 1 : 997) {
        assert_int_equal(lt_ws_frame_parse(f, cut, &out), CS_EAGAIN);
        if (cut >= want_hl) {
            assert_int_equal(out.header_len, want_hl);
            assert_int_equal(out.payload_len, len);
        } else {
            assert_int_equal(out.header_len, 0);
        }
    }
    free(f);
}

static void test_parse_header_forms(void **state)
{
    (void)state;
    expect_frame(0x81, 0, false, 2);          /* empty text */
    expect_frame(0x81, 5, false, 2);          /* 7-bit length */
    expect_frame(0x81, 125, true, 6);         /* largest 7-bit, masked */
    expect_frame(0x82, 126, false, 4);        /* 16-bit length */
    expect_frame(0x81, 65535, true, 8);       /* largest 16-bit, masked */
    expect_frame(0x81, 65536, false, 10);     /* 64-bit length */
    expect_frame(0x81, 70000, true, 14);      /* 64-bit, masked */
    expect_frame(0x01, 10, false, 2);         /* first fragment */
    expect_frame(0x00, 10, false, 2);         /* middle fragment */
    expect_frame(0x80, 3, true, 6);           /* last fragment */
    expect_frame(0x89, 125, false, 2);        /* ping, largest control payload */
    expect_frame(0x8a, 0, true, 6);           /* pong */
    expect_frame(0x88, 2, false, 2);          /* close with a code */
}

static void test_parse_frame_followed_by_more(void **state)
{
    (void)state;
    /* Two frames back to back: the first parses on its own. */
    const uint8_t two[] = {0x81, 0x02, 'h', 'i', 0x89, 0x00};
    lt_ws_frame_t f;
    assert_int_equal(lt_ws_frame_parse(two, sizeof two, &f), 2);
    assert_int_equal(f.payload_len, 2);
    assert_int_equal(lt_ws_frame_parse(two + 4, 2, &f), 2);
    assert_int_equal(f.opcode, 9);
    assert_int_equal(f.payload_len, 0);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    lt_ws_frame_t f;
    const uint8_t rsv1[] = {0xc1, 0x00}, rsv2[] = {0xa1, 0x00}, rsv3[] = {0x91, 0x00};
    assert_int_equal(lt_ws_frame_parse(rsv1, 2, &f), CS_EINVAL);
    assert_int_equal(lt_ws_frame_parse(rsv2, 2, &f), CS_EINVAL);
    assert_int_equal(lt_ws_frame_parse(rsv3, 2, &f), CS_EINVAL);
    for (uint8_t op = 3; op < 16; op++) {
        if (op >= 8 && op <= 10)
            continue;
        const uint8_t r[] = {(uint8_t)(0x80 | op), 0x00};
        assert_int_equal(lt_ws_frame_parse(r, 2, &f), CS_EINVAL);
    }
    const uint8_t big_ping[] = {0x89, 126, 0x00, 126};
    assert_int_equal(lt_ws_frame_parse(big_ping, sizeof big_ping, &f), CS_EINVAL);
    const uint8_t frag_close[] = {0x08, 0x00};
    assert_int_equal(lt_ws_frame_parse(frag_close, 2, &f), CS_EINVAL);
    const uint8_t top_bit[] = {0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 1};
    assert_int_equal(lt_ws_frame_parse(top_bit, sizeof top_bit, &f), CS_EINVAL);
    /* A huge length that is legal is only ever "more needed". */
    const uint8_t huge[] = {0x81, 127, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'};
    assert_int_equal(lt_ws_frame_parse(huge, sizeof huge, &f), CS_EAGAIN);
    assert_int_equal(f.header_len, 10);
    assert_true(f.payload_len == 0x7fffffffffffffffull);
}

static void test_header_writer_round_trip(void **state)
{
    (void)state;
    const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 1ull << 32, (1ull << 63) - 1};
    const uint8_t mask[4] = {0xde, 0xad, 0xbe, 0xef};
    for (size_t i = 0; i < CS_ARRAY_LEN(lens); i++) {
        for (int m = 0; m < 2; m++) {
            uint8_t h[14 + 8] = {0};
            size_t hl = lt_ws_frame_header(1, lens[i], m ? mask : NULL, h);
            size_t want = (lens[i] < 126 ? 2 : lens[i] <= 0xffff ? 4 : 10) + (m ? 4 : 0);
            assert_int_equal(hl, want);
            lt_ws_frame_t f;
            int rc = lt_ws_frame_parse(h, lens[i] <= 8 ? hl + (size_t)lens[i] : hl, &f);
            assert_int_equal(rc, lens[i] <= 8 ? (int)hl : CS_EAGAIN);
            assert_true(f.fin);
            assert_int_equal(f.opcode, 1);
            assert_int_equal(f.masked, m);
            assert_true(f.payload_len == lens[i]);
            assert_int_equal(f.header_len, hl);
            if (m)
                assert_memory_equal(f.mask, mask, 4);
        }
    }
}

/* ---- the handshake's pure parts --------------------------------------------------------------- */

static void test_url_parse(void **state)
{
    (void)state;
    lt_ws_url_t u;
    assert_int_equal(lt_ws_url_parse("ws://127.0.0.1:8080/ws", &u), CS_OK);
    assert_string_equal(u.host_header, "127.0.0.1:8080");
    assert_string_equal(u.path, "/ws");
    assert_int_equal(u.addr.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)&u.addr)->sin_port), 8080);
    assert_int_equal(lt_ws_url_parse("WS://localhost", &u), CS_OK);   /* default port and path */
    assert_string_equal(u.host_header, "localhost:80");
    assert_string_equal(u.path, "/");
    assert_int_equal(ntohl(((struct sockaddr_in *)&u.addr)->sin_addr.s_addr), INADDR_LOOPBACK);
    assert_int_equal(lt_ws_url_parse("ws://[::1]:8188/janus?x=1", &u), CS_OK);
    assert_int_equal(u.addr.ss_family, AF_INET6);
    assert_string_equal(u.host_header, "[::1]:8188");
    assert_string_equal(u.path, "/janus?x=1");
    assert_int_equal(u.addr_len, sizeof(struct sockaddr_in6));
}

static void test_accept_and_request(void **state)
{
    (void)state;
    char accept[32];
    /* The example of RFC 6455 section 1.3. */
    assert_int_equal(lt_ws_accept_for("dGhlIHNhbXBsZSBub25jZQ==", accept), CS_OK);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    lt_ws_url_t u;
    assert_int_equal(lt_ws_url_parse("ws://127.0.0.1:9/ws", &u), CS_OK);
    char req[1024], again[32];
    int n = lt_ws_request(&u, "janus-protocol", req, sizeof req, accept);
    assert_true(n > 0 && (size_t)n == strlen(req));
    const char *start = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9\r\n";
    assert_true(strncmp(req, start, strlen(start)) == 0);
    assert_non_null(strstr(req, "\r\nSec-WebSocket-Protocol: janus-protocol\r\n"));
    assert_string_equal(req + n - 4, "\r\n\r\n");
    /* The accept value is the one for the key sent. */
    char key[32];
    const char *k = strstr(req, "Sec-WebSocket-Key: ");
    assert_non_null(k);
    assert_int_equal(sscanf(k + 19, "%31[^\r]", key), 1);
    assert_int_equal(strlen(key), 24);
    assert_int_equal(lt_ws_accept_for(key, again), CS_OK);
    assert_string_equal(accept, again);
    assert_int_equal(lt_ws_request(&u, NULL, req, 64, accept), CS_ETOOBIG);
}

static void test_check_response(void **state)
{
    (void)state;
    const char *acc = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    char why[64];
    const char *good = "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\n"
                       "CONNECTION: keep-alive, Upgrade\r\nsec-websocket-accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\n";
    assert_null(lt_ws_check_response(good, acc, "", why, sizeof why));
    assert_null(lt_ws_check_response(good, acc, NULL, why, sizeof why));
    const struct {
        const char *head, *proto, *want;
    } bad[] = {
        {"HTTP/1.1 403 Forbidden\r\n", "", "HTTP 403"},
        {"SSH-2.0-OpenSSH\r\n", "", "not an HTTP response"},
        {"HTTP/1.1 101 OK\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "",
         "Upgrade"},
        {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "",
         "Connection"},
        {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n", "", "Accept"},
        {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x\r\n", "",
         "Accept"},
        {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n", "janus-protocol", "subprotocol"},
        {"HTTP/1.1 101 OK\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
         "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: other\r\n", "janus-protocol", "subprotocol"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        const char *r = lt_ws_check_response(bad[i].head, acc, bad[i].proto, why, sizeof why);
        assert_non_null(r);
        if (!strstr(r, bad[i].want))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, r, bad[i].want);
    }
}

/* ---- a client on a GMainContext -------------------------------------------------------------- */

typedef struct {
    int opens, closes, code;
    char reason[128];
    char *msgs[16];
    size_t lens[16];
    int n_msgs;
    lt_ws_t *ws;
    int free_at_message;        /* lt_ws_free inside the n-th on_message (1-based), 0 never */
    bool free_in_close;
} rec_t;

static void rec_open(void *user)
{
    ((rec_t *)user)->opens++;
}

static void rec_message(void *user, const char *text, size_t len)
{
    rec_t *r = user;
    assert_int_equal(text[len], '\0');
    if (r->n_msgs < 16) {
        r->msgs[r->n_msgs] = malloc(len + 1);
        memcpy(r->msgs[r->n_msgs], text, len + 1);
        r->lens[r->n_msgs] = len;
    }
    r->n_msgs++;
    if (r->free_at_message == r->n_msgs) {
        lt_ws_free(r->ws);
        r->ws = NULL;
    }
}

static void rec_close(void *user, int code, const char *reason)
{
    rec_t *r = user;
    r->closes++;
    r->code = code;
    cs_strlcpy(r->reason, reason, sizeof r->reason);
    if (r->free_in_close) {
        lt_ws_free(r->ws);
        r->ws = NULL;
    }
}

static const lt_ws_callbacks_t rec_cb = {rec_open, rec_message, rec_close};

static void rec_clear(rec_t *r)
{
    for (int i = 0; i < r->n_msgs && i < 16; i++)
        free(r->msgs[i]);
    lt_ws_free(r->ws);
    memset(r, 0, sizeof *r);
}

static GMainContext *ctx;

static gboolean tick(gpointer data)
{
    (void)data;
    return G_SOURCE_CONTINUE;
}

/* Runs the context until *v >= want or the timeout. */
static bool pump(const int *v, int want)
{
    int64_t end = cs_mono_ms() + IO_TIMEOUT_S * 1000;
    while (*v < want && cs_mono_ms() < end)
        g_main_context_iteration(ctx, TRUE);
    return *v >= want;
}

/* Runs the context for ms more (to see that nothing else happens). */
static void pump_for(int ms)
{
    int64_t end = cs_mono_ms() + ms;
    while (cs_mono_ms() < end)
        g_main_context_iteration(ctx, TRUE);
}

static int ctx_setup(void **state)
{
    (void)state;
    ctx = g_main_context_new();
    GSource *t = g_timeout_source_new(5);  /* iterations never block long */
    g_source_set_callback(t, tick, NULL, NULL);
    g_source_attach(t, ctx);
    g_source_unref(t);
    return 0;
}

static int ctx_teardown(void **state)
{
    /* Every freed connection has seen its server close and is gone. */
    int64_t end = cs_mono_ms() + IO_TIMEOUT_S * 1000;
    while (lt_ws_lingering() > 0 && cs_mono_ms() < end)
        g_main_context_iteration(ctx, TRUE);
    assert_int_equal(lt_ws_lingering(), 0);
    g_main_context_unref(ctx);
    ctx = NULL;
    return teardown(state);
}

static lt_ws_t *connect_to(rec_t *r, int port, const char *path, const char *proto)
{
    char url[128];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d%s", port, path);
    int err = 1;
    r->ws = lt_ws_connect(ctx, url, proto, &rec_cb, r, &err);
    assert_non_null(r->ws);
    assert_int_equal(err, CS_OK);
    return r->ws;
}

/* ---- against the project's server ------------------------------------------------------------ */

static void test_echo_both_ways(void **state)
{
    (void)state;
    srv_start(default_cfg());
    rec_t r = {0};
    connect_to(&r, srv.port, "/ws", NULL);
    /* Sent before the handshake: queued, then sent in order. */
    assert_int_equal(lt_ws_send(r.ws, "first", 5), CS_OK);
    assert_int_equal(lt_ws_send(r.ws, "второе", strlen("второе")), CS_OK);
    assert_true(pump(&r.opens, 1));
    char big[1000];
    memset(big, 'b', sizeof big);   /* a 16-bit length both ways */
    assert_int_equal(lt_ws_send(r.ws, big, sizeof big), CS_OK);
    assert_true(pump(&r.n_msgs, 3));
    assert_string_equal(r.msgs[0], "first");
    assert_string_equal(r.msgs[1], "второе");
    assert_int_equal(r.lens[2], sizeof big);
    assert_memory_equal(r.msgs[2], big, sizeof big);
    assert_int_equal(atomic_load(&g.messages), 3);

    lt_ws_close(r.ws, 1000);
    assert_int_equal(lt_ws_send(r.ws, "late", 4), CS_ESTATE);
    assert_true(pump(&r.closes, 1));
    assert_int_equal(r.code, 1000);
    assert_true(wait_for(&g.closes, 1));
    pump_for(50);
    assert_int_equal(r.closes, 1);
    rec_clear(&r);
}

static void test_server_closes(void **state)
{
    (void)state;
    srv_start(default_cfg());
    rec_t r = {0};
    connect_to(&r, srv.port, "/ws", "janus-protocol");  /* the server echoes any offer */
    assert_int_equal(lt_ws_send(r.ws, "close-after", 11), CS_OK);
    assert_true(pump(&r.closes, 1));
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.n_msgs, 2);
    assert_string_equal(r.msgs[0], "one");
    assert_string_equal(r.msgs[1], "two");
    assert_int_equal(r.code, 4000);
    assert_string_equal(r.reason, "bye");
    assert_int_equal(lt_ws_send(r.ws, "x", 1), CS_ESTATE);
    assert_true(wait_for(&g.closes, 1));
    rec_clear(&r);
}

static void test_too_big_for_the_server(void **state)
{
    (void)state;
    srv_start(default_cfg());               /* max_message 1024 */
    rec_t r = {0};
    connect_to(&r, srv.port, "/ws", NULL);
    char big[2000];
    memset(big, 'x', sizeof big);
    assert_int_equal(lt_ws_send(r.ws, big, sizeof big), CS_OK);
    assert_true(pump(&r.closes, 1));
    assert_int_equal(r.code, 1009);
    assert_int_equal(r.n_msgs, 0);
    assert_true(wait_for(&g.closes, 1));
    rec_clear(&r);
}

static void test_refused_path_and_port(void **state)
{
    (void)state;
    srv_start(default_cfg());
    rec_t r = {0};
    connect_to(&r, srv.port, "/not-ws", NULL);
    assert_int_equal(lt_ws_send(r.ws, "queued", 6), CS_OK);
    assert_true(pump(&r.closes, 1));
    assert_int_equal(r.opens, 0);
    assert_int_equal(r.code, 1006);
    assert_non_null(strstr(r.reason, "HTTP 404"));
    rec_clear(&r);

    /* Nobody listens on a port we just closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    connect_to(&r, ntohs(a.sin_port), "/ws", NULL);
    assert_true(pump(&r.closes, 1));
    assert_int_equal(r.code, 1006);
    assert_non_null(strstr(r.reason, "cannot connect"));
    rec_clear(&r);
}

static void test_bad_urls(void **state)
{
    (void)state;
    const char *bad[] = {"http://127.0.0.1/ws", "wss://127.0.0.1/ws", "ws://", "ws://:80/ws",
                         "ws://127.0.0.1:0/ws", "ws://127.0.0.1:70000/", "ws://example.org/ws",
                         "ws://127.0.0.1/a b", "ws://127.0.0.1/a\r\nX: y", "ws://[::1/ws",
                         "ws://127.0.0.1x/"};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        int err = 0;
        assert_null(lt_ws_connect(ctx, bad[i], NULL, &rec_cb, NULL, &err));
        assert_int_equal(err, CS_EINVAL);
    }
    int err = 0;
    assert_null(lt_ws_connect(ctx, "ws://127.0.0.1/ws", "bad proto", &rec_cb, NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    /* Freeing a connection that never opened is fine; no callback follows. */
    rec_t r = {0};
    lt_ws_t *ws = lt_ws_connect(ctx, "ws://localhost:9/", NULL, &rec_cb, &r, &err);
    assert_non_null(ws);
    lt_ws_free(ws);
    pump_for(30);
    assert_int_equal(r.closes, 0);
}

/* ---- against a scripted server ------------------------------------------------------------- */

enum { FAKE_SCRIPT, FAKE_BAD_ACCEPT, FAKE_403, FAKE_HUGE, FAKE_MASKED, FAKE_EOF, FAKE_NO_PROTO };

static struct {
    int lfd, port, mode;
    pthread_t th;
    char request[4096];
    uint8_t got[8192];          /* what the client sent after the handshake */
    size_t got_len;
} fake;

static size_t read_head(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, IO_TIMEOUT_S * 1000) <= 0)
            break;
        ssize_t k = recv(fd, buf + n, 1, 0);
        if (k <= 0)
            break;
        n++;
        buf[n] = '\0';
        if (n >= 4 && memcmp(buf + n - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    return n;
}

static void fake_send(int fd, const void *p, size_t n)
{
    (void)!send(fd, p, n, MSG_NOSIGNAL);
}

static void fake_frame(int fd, uint8_t b0, const char *payload, size_t n, const uint8_t *mask)
{
    uint8_t buf[512];
    size_t hl = lt_ws_frame_header(b0 & 0x0f, n, mask, buf);
    buf[0] = b0;
    for (size_t i = 0; i < n; i++)
        buf[hl + i] = (uint8_t)payload[i] ^ (mask ? mask[i & 3] : 0);
    fake_send(fd, buf, hl + n);
}

static void fake_handshake(int fd)
{
    const char *k = strstr(fake.request, "Sec-WebSocket-Key: ");
    char key[64] = "", cat[128], acc[32];
    if (k)
        sscanf(k + 19, "%63[^\r]", key);
    snprintf(cat, sizeof cat, "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    uint8_t d[CS_SHA1_LEN];
    cs_sha1(cat, strlen(cat), d);
    cs_base64_encode(d, sizeof d, acc, sizeof acc);
    if (fake.mode == FAKE_BAD_ACCEPT)
        acc[3] ^= 1;
    char resp[512];
    snprintf(resp, sizeof resp,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n"
             "Sec-WebSocket-Accept: %s\r\n%s\r\n",
             acc, fake.mode == FAKE_NO_PROTO ? "" : "Sec-WebSocket-Protocol: janus-protocol\r\n");
    fake_send(fd, resp, strlen(resp));
}

static void fake_script(int fd)
{
    static char a300[300];
    const uint8_t mask[4] = {9, 8, 7, 6};
    memset(a300, 'a', sizeof a300);
    switch (fake.mode) {
    case FAKE_SCRIPT:
        fake_frame(fd, 0x01, "hel", 3, NULL);       /* a fragmented message ... */
        fake_frame(fd, 0x89, "p1", 2, NULL);        /* ... with a ping inside */
        fake_frame(fd, 0x00, "l", 1, NULL);
        fake_frame(fd, 0x80, "o", 1, NULL);
        fake_frame(fd, 0x81, a300, sizeof a300, NULL);
        fake_frame(fd, 0x8a, "", 0, NULL);          /* an unasked pong is ignored */
        fake_frame(fd, 0x88, "\x03\xe9going away", 12, NULL);
        break;
    case FAKE_HUGE: {
        uint8_t h[14];
        size_t hl = lt_ws_frame_header(1, (uint64_t)LT_WS_MAX_MESSAGE + 1, NULL, h);
        fake_send(fd, h, hl);
        break;
    }
    case FAKE_MASKED:
        fake_frame(fd, 0x81, "hidden", 6, mask);
        break;
    default:
        break;
    }
}

static void *fake_thread(void *arg)
{
    (void)arg;
    struct pollfd p = {fake.lfd, POLLIN, 0};
    if (poll(&p, 1, IO_TIMEOUT_S * 1000) <= 0)
        return NULL;
    int fd = accept(fake.lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    read_head(fd, fake.request, sizeof fake.request);
    if (fake.mode == FAKE_403) {
        const char *r = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        fake_send(fd, r, strlen(r));
    } else {
        fake_handshake(fd);
        fake_script(fd);
    }
    if (fake.mode != FAKE_EOF) {
        /* What the client answers, until it closes. */
        for (;;) {
            struct pollfd q = {fd, POLLIN, 0};
            if (poll(&q, 1, IO_TIMEOUT_S * 1000) <= 0)
                break;
            ssize_t k = recv(fd, fake.got + fake.got_len, sizeof fake.got - fake.got_len, 0);
            if (k <= 0)
                break;
            fake.got_len += (size_t)k;
        }
    }
    close(fd);
    return NULL;
}

static void fake_start(int mode)
{
    memset(&fake, 0, sizeof fake);
    fake.mode = mode;
    fake.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(fake.lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fake.lfd, 1), 0);
    assert_int_equal(getsockname(fake.lfd, (struct sockaddr *)&a, &al), 0);
    fake.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&fake.th, NULL, fake_thread, NULL), 0);
}

static void fake_join(void)
{
    pthread_join(fake.th, NULL);
    close(fake.lfd);
}

/* The client's frames (masked, as a client's must be) after the handshake. */
static int client_frames(uint8_t ops[], char payloads[][128], int max)
{
    size_t off = 0;
    int n = 0;
    lt_ws_frame_t f;
    while (n < max && lt_ws_frame_parse(fake.got + off, fake.got_len - off, &f) > 0) {
        assert_true(f.masked);
        assert_true(f.payload_len < 128);
        for (size_t i = 0; i < f.payload_len; i++)
            payloads[n][i] = (char)(fake.got[off + f.header_len + i] ^ f.mask[i & 3]);
        payloads[n][f.payload_len] = '\0';
        ops[n++] = f.opcode;
        off += f.header_len + (size_t)f.payload_len;
    }
    assert_int_equal(off, fake.got_len);
    return n;
}

static void test_fragments_ping_and_close(void **state)
{
    (void)state;
    fake_start(FAKE_SCRIPT);
    rec_t r = {0};
    connect_to(&r, fake.port, "/janus?x=1", "janus-protocol");
    assert_int_equal(lt_ws_send(r.ws, "{\"janus\":\"create\"}", 18), CS_OK);
    assert_true(pump(&r.closes, 1));
    fake_join();
    assert_int_equal(r.opens, 1);
    assert_int_equal(r.n_msgs, 2);
    assert_string_equal(r.msgs[0], "hello");
    assert_int_equal(r.lens[1], 300);
    assert_int_equal(r.code, 1001);
    assert_string_equal(r.reason, "going away");
    /* The request line, the headers a server checks, and the answers. */
    assert_true(strncmp(fake.request, "GET /janus?x=1 HTTP/1.1\r\n", 25) == 0);
    assert_non_null(strstr(fake.request, "\r\nUpgrade: websocket\r\n"));
    assert_non_null(strstr(fake.request, "\r\nSec-WebSocket-Version: 13\r\n"));
    assert_non_null(strstr(fake.request, "\r\nSec-WebSocket-Protocol: janus-protocol\r\n"));
    char host[64];
    snprintf(host, sizeof host, "\r\nHost: 127.0.0.1:%d\r\n", fake.port);
    assert_non_null(strstr(fake.request, host));
    uint8_t ops[8];
    char pl[8][128];
    int n = client_frames(ops, pl, 8);
    assert_int_equal(n, 3);
    assert_int_equal(ops[0], 1);
    assert_string_equal(pl[0], "{\"janus\":\"create\"}");
    assert_int_equal(ops[1], 10);             /* pong, same payload */
    assert_string_equal(pl[1], "p1");
    assert_int_equal(ops[2], 8);              /* close echoed */
    assert_int_equal((uint8_t)pl[2][0] << 8 | (uint8_t)pl[2][1], 1001);
    rec_clear(&r);
}

static void expect_failure(int mode, const char *proto, int code, const char *why)
{
    fake_start(mode);
    rec_t r = {0};
    connect_to(&r, fake.port, "/", proto);
    assert_true(pump(&r.closes, 1));
    fake_join();
    assert_int_equal(r.code, code);
    if (!strstr(r.reason, why))
        fail_msg("reason \"%s\" lacks \"%s\"", r.reason, why);
    assert_int_equal(r.n_msgs, 0);
    rec_clear(&r);
}

static void test_bad_servers(void **state)
{
    (void)state;
    expect_failure(FAKE_BAD_ACCEPT, "janus-protocol", 1006, "Sec-WebSocket-Accept");
    expect_failure(FAKE_403, NULL, 1006, "HTTP 403");
    expect_failure(FAKE_NO_PROTO, "janus-protocol", 1006, "subprotocol");
    expect_failure(FAKE_SCRIPT, NULL, 1006, "subprotocol");   /* one we did not ask for */
    expect_failure(FAKE_EOF, "janus-protocol", 1006, "without a close frame");
    expect_failure(FAKE_MASKED, "janus-protocol", 1002, "masked");
    expect_failure(FAKE_HUGE, "janus-protocol", 1009, "too big");
    /* The client told the server why it left. */
    uint8_t ops[4];
    char pl[4][128];
    assert_int_equal(client_frames(ops, pl, 4), 1);
    assert_int_equal(ops[0], 8);
    assert_int_equal((uint8_t)pl[0][0] << 8 | (uint8_t)pl[0][1], 1009);
}

static void test_free_inside_callbacks(void **state)
{
    (void)state;
    srv_start(default_cfg());
    rec_t r = {0};
    connect_to(&r, srv.port, "/ws", NULL);
    r.free_at_message = 2;
    for (int i = 0; i < 4; i++)
        assert_int_equal(lt_ws_send(r.ws, "m", 1), CS_OK);
    assert_true(pump(&r.n_msgs, 2));
    pump_for(100);
    assert_int_equal(r.n_msgs, 2);            /* nothing after the free */
    assert_int_equal(r.closes, 0);
    assert_true(wait_for(&g.closes, 1));      /* and the server saw it go */
    rec_clear(&r);

    rec_t s = {.free_in_close = true};
    connect_to(&s, srv.port, "/ws", NULL);
    assert_int_equal(lt_ws_send(s.ws, "close-after", 11), CS_OK);
    assert_true(pump(&s.closes, 1));
    assert_null(s.ws);
    rec_clear(&s);
}

/* The last message before a free reaches the server (the socket is not
 * reset under it: the client waits for the server's close). */
static void test_free_flushes_last_message(void **state)
{
    (void)state;
    srv_start(default_cfg());
    for (int i = 1; i <= 3; i++) {
        rec_t r = {0};
        connect_to(&r, srv.port, "/ws", NULL);
        assert_true(pump(&r.opens, 1));
        pump_for(20);                        /* echoes arrive unread: still no reset */
        assert_int_equal(lt_ws_send(r.ws, "ping-me", 7), CS_OK);
        assert_int_equal(lt_ws_send(r.ws, "last", 4), CS_OK);
        lt_ws_free(r.ws);
        r.ws = NULL;
        assert_int_equal(lt_ws_lingering(), 1);
        int64_t end = cs_mono_ms() + IO_TIMEOUT_S * 1000;
        while (lt_ws_lingering() > 0 && cs_mono_ms() < end)
            g_main_context_iteration(ctx, TRUE);
        assert_int_equal(lt_ws_lingering(), 0);   /* it saw the server close */
        assert_int_equal(atomic_load(&g.messages), 2 * i);
        assert_true(wait_for(&g.closes, i));
        assert_int_equal(r.closes + r.n_msgs, 0);  /* no callback after the free */
        rec_clear(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_header_forms),
        cmocka_unit_test(test_parse_frame_followed_by_more),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_header_writer_round_trip),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_accept_and_request),
        cmocka_unit_test(test_check_response),
        cmocka_unit_test_setup_teardown(test_echo_both_ways, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_server_closes, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_too_big_for_the_server, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_refused_path_and_port, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_urls, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_fragments_ping_and_close, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_servers, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_free_inside_callbacks, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_free_flushes_last_message, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
