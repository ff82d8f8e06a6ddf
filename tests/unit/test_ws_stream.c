/*
 * test_ws_stream.c — unit tests for signaling/ws: streamed HTTP bodies
 * (cs_http_stream_t) with byte ranges, through a real server on loopback
 * spoken to with raw sockets: the whole body, ranges at the start, middle
 * and end and as a suffix, 416, Range headers that are ignored (malformed,
 * several ranges, other methods, If-Range that does not match), HEAD, a
 * client that leaves midway, a download cut by shutdown, a failing read, and
 * several slow downloads at once while a WebSocket client on the same server
 * still gets its echoes.
 *
 * The handler streams a generated body (byte i is i*7 mod 251) and counts
 * every stream it opens and every close(); each test's teardown checks that
 * the two match and that the server asked for each byte once, in order.
 */

#include "tests/unit/ws_test_client.h"

#define REC_SIZE ((uint64_t)5 * 1024 * 1024)
/* The handler answers reads with at most this much, to exercise short reads. */
#define REC_READ_MAX 50000
#define DOWNLOADERS 4
#define HEAD_CAP 4096

static unsigned char pattern(uint64_t i)
{
    return (unsigned char)(i * 7 % 251);
}

/* ---- the streaming handler (runs on the loop thread) ----------------------- */

static struct {
    atomic_int opened, closed, bad;
    atomic_ullong bytes, max_end;
    char last_range[64];
} gs;

struct rec {
    uint64_t size, next, fail_at;
};

static void note_max(uint64_t end)
{
    unsigned long long cur = atomic_load(&gs.max_end);
    while (end > cur && !atomic_compare_exchange_weak(&gs.max_end, &cur, end))
        ;
}

static long rec_read(void *user, uint64_t off, char *buf, size_t cap)
{
    struct rec *r = user;
    /* Asked for nothing, past the end, or not where the last read stopped. */
    if (cap == 0 || off >= r->size || cap > r->size - off ||
        (r->next != UINT64_MAX && off != r->next))
        atomic_fetch_add(&gs.bad, 1);
    if (r->fail_at && off + cap > r->fail_at)
        return -1;
    size_t n = cap < REC_READ_MAX ? cap : REC_READ_MAX;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)pattern(off + i);
    r->next = off + n;
    atomic_fetch_add(&gs.bytes, n);
    note_max(off + n);
    return (long)n;
}

static void rec_close(void *user)
{
    atomic_fetch_add(&gs.closed, 1);
    free(user);
}

static bool query_has(const char *q, const char *key, uint64_t *value)
{
    size_t k = strlen(key);
    for (const char *p = q; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, key, k) != 0 || (p[k] != '=' && p[k] != '&' && p[k] != '\0'))
            continue;
        if (value && p[k] == '=')
            *value = strtoull(p + k + 1, NULL, 10);
        return true;
    }
    return false;
}

/* /rec?size=N&fail=N&noranges&both&decline&status=N */
static int stream_http(void *user, const cs_http_request_t *req, cs_http_response_t *resp)
{
    if (strcmp(req->path, "/rec") != 0)
        return on_http(user, req, resp);
    cs_strlcpy(gs.last_range, req->range, sizeof gs.last_range);
    struct rec *r = calloc(1, sizeof *r);
    if (!r)
        return 0;
    uint64_t status = 200;
    r->size = REC_SIZE;
    r->next = UINT64_MAX;
    query_has(req->query, "size", &r->size);
    query_has(req->query, "fail", &r->fail_at);
    query_has(req->query, "status", &status);
    resp->status = (int)status;
    cs_strlcpy(resp->content_type, "video/webm", sizeof resp->content_type);
    cs_strlcpy(resp->headers[0].name, "etag:", sizeof resp->headers[0].name);
    cs_strlcpy(resp->headers[0].value, "\"rec-1\"", sizeof resp->headers[0].value);
    cs_strlcpy(resp->headers[1].name, "x-rec:", sizeof resp->headers[1].name);
    cs_strlcpy(resp->headers[1].value, "yes", sizeof resp->headers[1].value);
    resp->stream = (cs_http_stream_t){
        .read = rec_read,
        .close = rec_close,
        .user = r,
        .size = r->size,
        .ranges = !query_has(req->query, "noranges", NULL),
    };
    if (query_has(req->query, "both", NULL)) {
        resp->body = strdup("not this");
        resp->body_len = 8;
    }
    atomic_fetch_add(&gs.opened, 1);
    return query_has(req->query, "decline", NULL) ? 0 : 1;
}

static const cs_ws_callbacks_t stream_callbacks = {
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
    .on_http = stream_http,
    .on_tick = on_tick,
};

static void start(void)
{
    cs_ws_config_t cfg = default_cfg();
    int err = 1;
    srv.s = cs_ws_server_new(&cfg, &stream_callbacks, NULL, &err);
    assert_non_null(srv.s);
    assert_int_equal(err, CS_OK);
    srv.port = cs_ws_port(srv.s);
    srv.run_rc = -999;
    assert_int_equal(pthread_create(&srv.thread, NULL, run_thread, srv.s), 0);
    srv.running = true;
}

/* The server, and one keep-alive connection to it. */
static int start_connected(void)
{
    start();
    return tcp_connect(srv.port);
}

/* After the server is gone every stream it was given has been closed once. */
static int stream_teardown(void **state)
{
    int r = teardown(state);
    int opened = atomic_exchange(&gs.opened, 0), closed = atomic_exchange(&gs.closed, 0);
    int bad = atomic_exchange(&gs.bad, 0);
    atomic_store(&gs.bytes, 0);
    atomic_store(&gs.max_end, 0);
    assert_int_equal(opened, closed);
    assert_int_equal(bad, 0);
    return r;
}

/* ---- the client side ---------------------------------------------------------- */

static void request(int fd, const char *method, const char *target, const char *headers)
{
    char req[512];
    snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: x\r\n%s\r\n", method, target,
             headers ? headers : "");
    send_str(fd, req);
}

/* Reads a response head into head (HEAD_CAP bytes); checks its status and
 * Content-Length. */
static void expect_head(int fd, char *head, int status, uint64_t length)
{
    assert_true(read_head(fd, head, HEAD_CAP) > 0);
    assert_int_equal(status_of(head), status);
    const char *cl = strcasestr(head, "\r\ncontent-length:");
    assert_non_null(cl);
    assert_true(strtoull(cl + 17, NULL, 10) == length);
}

/* Sends a request and checks the response head as expect_head does. */
static void expect_reply(int fd, const char *method, const char *target, const char *headers,
                         char *head, int status, uint64_t length)
{
    request(fd, method, target, headers);
    expect_head(fd, head, status, length);
}

/* Reads up to len bytes of body that should be the pattern from start;
 * returns how many came before EOF. No cmocka asserts: threads use it. */
static uint64_t read_body(int fd, uint64_t start, uint64_t len, bool *match)
{
    static _Thread_local char buf[65536];
    uint64_t got = 0;
    *match = true;
    while (got < len) {
        size_t want = len - got < sizeof buf ? (size_t)(len - got) : sizeof buf;
        ssize_t n = recv(fd, buf, want, 0);
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            if ((unsigned char)buf[i] != pattern(start + got + (uint64_t)i))
                *match = false;
        got += (uint64_t)n;
    }
    return got;
}

static void expect_body(int fd, uint64_t start, uint64_t len)
{
    bool match;
    assert_true(read_body(fd, start, len, &match) == len);
    assert_true(match);
}

static void expect_whole(int fd, const char *target, const char *headers, uint64_t size)
{
    char head[HEAD_CAP];
    expect_reply(fd, "GET", target, headers, head, 200, size);
    assert_null(strcasestr(head, "content-range"));
    expect_body(fd, 0, size);
}

static void expect_range(int fd, const char *range, uint64_t first, uint64_t last)
{
    char hdr[128], want[128], head[HEAD_CAP];
    uint64_t len = last - first + 1;
    snprintf(hdr, sizeof hdr, "Range: %s\r\n", range);
    expect_reply(fd, "GET", "/rec", hdr, head, 206, len);
    snprintf(want, sizeof want, "content-range: bytes %llu-%llu/%llu", (unsigned long long)first,
             (unsigned long long)last, (unsigned long long)REC_SIZE);
    assert_true(has_header(head, want));
    assert_true(has_header(head, "accept-ranges: bytes"));
    /* The handler's extra headers ride along with Content-Range. */
    assert_true(has_header(head, "etag: \"rec-1\""));
    assert_true(has_header(head, "x-rec: yes"));
    expect_body(fd, first, len);
}

static void expect_416(int fd, const char *target, const char *range, uint64_t size)
{
    char hdr[128], want[128], head[HEAD_CAP];
    snprintf(hdr, sizeof hdr, "Range: %s\r\n", range);
    expect_reply(fd, "GET", target, hdr, head, 416, 0);
    snprintf(want, sizeof want, "content-range: bytes */%llu", (unsigned long long)size);
    assert_true(has_header(head, want));
}

/* The connection still frames responses correctly: nothing stray before this. */
static void expect_healthz(int fd)
{
    struct http_resp r;
    request(fd, "GET", "/healthz", NULL);
    http_read(fd, &r, false);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_stream_whole_body(void **state)
{
    (void)state;
    int fd = start_connected();
    char head[HEAD_CAP];
    expect_reply(fd, "GET", "/rec", NULL, head, 200, REC_SIZE);
    assert_true(has_header(head, "content-type: video/webm"));
    assert_true(has_header(head, "accept-ranges: bytes"));
    assert_true(has_header(head, "x-content-type-options: nosniff"));
    assert_true(has_header(head, "x-frame-options: DENY"));
    assert_true(has_header(head, "cache-control: no-store"));
    assert_true(has_header(head, "etag: \"rec-1\""));
    assert_true(has_header(head, "x-rec: yes"));
    assert_null(strcasestr(head, "content-range"));
    assert_string_equal(gs.last_range, "");
    expect_body(fd, 0, REC_SIZE);
    assert_true(wait_for(&gs.closed, 1));
    assert_true(atomic_load(&gs.bytes) == REC_SIZE); /* each byte read once */
    expect_healthz(fd); /* keep-alive goes on */
    close(fd);
}

static void test_stream_ranges(void **state)
{
    (void)state;
    int fd = start_connected(); /* all on one keep-alive connection */
    expect_range(fd, "bytes=0-99", 0, 99);
    assert_string_equal(gs.last_range, "bytes=0-99");
    expect_range(fd, "bytes=1000000-1999999", 1000000, 1999999);
    expect_range(fd, "bytes=70000-70000", 70000, 70000);
    expect_range(fd, "bytes=5242000-", 5242000, REC_SIZE - 1);
    expect_range(fd, "bytes=-500", REC_SIZE - 500, REC_SIZE - 1);
    assert_string_equal(gs.last_range, "bytes=-500");
    expect_range(fd, "bytes=5242800-99999999", 5242800, REC_SIZE - 1);
    expect_range(fd, "BYTES=0-0", 0, 0);
    assert_true(wait_for(&gs.closed, 7));
    /* Only the ranges were read, not the body around them. */
    assert_true(atomic_load(&gs.bytes) == 100 + 1000000 + 1 + 880 + 500 + 80 + 1);
    expect_healthz(fd);
    close(fd);
}

static void test_stream_unsatisfiable(void **state)
{
    (void)state;
    int fd = start_connected();
    expect_416(fd, "/rec", "bytes=5242880-", REC_SIZE);
    expect_416(fd, "/rec", "bytes=-0", REC_SIZE);
    expect_416(fd, "/rec?size=0", "bytes=0-", 0);
    expect_416(fd, "/rec?size=0", "bytes=-1", 0);
    assert_true(wait_for(&gs.closed, 4)); /* close() even without a body */
    assert_true(atomic_load(&gs.bytes) == 0);
    expect_whole(fd, "/rec?size=0", NULL, 0);
    expect_range(fd, "bytes=10-19", 10, 19); /* the connection is fine */
    close(fd);
}

static void test_stream_range_ignored(void **state)
{
    (void)state;
    int fd = start_connected();
    /* Malformed, several ranges, another unit: the whole body, 200. */
    static const char *const ignored[] = {
        "Range: bytes=0-99,200-299\r\n", "Range: bytes = 0-99\r\n", "Range: items=0-5\r\n",
        "Range: bytes=9-1\r\n",          "Range: bytes=0-99999999999999999999999\r\n",
        /* If-Range must match the strong ETag the handler sent */
        "Range: bytes=0-99\r\nIf-Range: \"other\"\r\n",
        "Range: bytes=0-99\r\nIf-Range: W/\"rec-1\"\r\n",
        "Range: bytes=0-99\r\nIf-Range: Tue, 15 Nov 1994 08:12:31 GMT\r\n",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(ignored); i++)
        expect_whole(fd, "/rec?size=100000", ignored[i], 100000);
    char head[HEAD_CAP];
    expect_reply(fd, "GET", "/rec", "Range: bytes=0-99\r\nIf-Range: \"rec-1\"\r\n", head, 206, 100);
    expect_body(fd, 0, 100);

    /* A stream without ranges: no Accept-Ranges, Range ignored. */
    expect_reply(fd, "GET", "/rec?size=3000&noranges", "Range: bytes=0-99\r\n", head, 200, 3000);
    assert_null(strcasestr(head, "accept-ranges"));
    expect_body(fd, 0, 3000);
    /* Ranges are for GET, and for 200 answers only. */
    send_str(fd, "POST /rec?size=3000 HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99\r\n"
                 "Content-Length: 3\r\n\r\nabc");
    expect_head(fd, head, 200, 3000);
    expect_body(fd, 0, 3000);
    expect_reply(fd, "GET", "/rec?size=3000&status=404", "Range: bytes=0-99\r\n", head, 404, 3000);
    expect_body(fd, 0, 3000);
    assert_true(wait_for(&gs.closed, (int)CS_ARRAY_LEN(ignored) + 4));
    close(fd);
}

static void test_stream_head(void **state)
{
    (void)state;
    int fd = start_connected();
    char head[HEAD_CAP];
    expect_reply(fd, "HEAD", "/rec", NULL, head, 200, REC_SIZE);
    assert_true(has_header(head, "accept-ranges: bytes"));
    assert_true(has_header(head, "x-rec: yes"));
    /* HEAD is not a range request. */
    expect_reply(fd, "HEAD", "/rec", "Range: bytes=0-99\r\n", head, 200, REC_SIZE);
    assert_null(strcasestr(head, "content-range"));
    expect_healthz(fd); /* no body bytes came before this answer */
    assert_true(wait_for(&gs.closed, 2));
    assert_true(atomic_load(&gs.bytes) == 0);
    close(fd);
}

static void test_stream_client_leaves(void **state)
{
    (void)state;
    int fd = start_connected();
    char head[HEAD_CAP];
    expect_reply(fd, "GET", "/rec", NULL, head, 200, REC_SIZE);
    expect_body(fd, 0, 100 * 1000);
    close(fd); /* with the rest unread */
    assert_true(wait_for(&gs.closed, 1));
    assert_int_equal(atomic_load(&gs.opened), 1);
    assert_true(atomic_load(&gs.bytes) < REC_SIZE);

    fd = tcp_connect(srv.port);
    expect_whole(fd, "/rec?size=200000", NULL, 200000);
    assert_true(wait_for(&gs.closed, 2));
    close(fd);
    /* The teardown checks that close() ran once per stream, not more. */
}

/* A small receive window, so the server really has to wait for this client. */
static int connect_small_window(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    int rcv = 32 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    struct timeval tv = {.tv_sec = IO_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)srv.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* A download still under way when the server shuts down is closed by it. */
static void test_stream_open_at_shutdown(void **state)
{
    (void)state;
    start();
    int fd = connect_small_window();
    char head[HEAD_CAP];
    expect_reply(fd, "GET", "/rec", NULL, head, 200, REC_SIZE);
    expect_body(fd, 0, 100 * 1000);
    cs_ws_stop(srv.s);
    assert_true(join_loop());
    assert_int_equal(atomic_load(&gs.closed), 0);
    cs_ws_server_free(srv.s);
    srv.s = NULL;
    assert_int_equal(atomic_load(&gs.closed), 1);
    close(fd);
}

static void test_stream_read_fails(void **state)
{
    (void)state;
    int fd = start_connected();
    char head[HEAD_CAP];
    expect_reply(fd, "GET", "/rec?fail=1048576", NULL, head, 200, REC_SIZE);
    bool match;
    uint64_t got = read_body(fd, 0, REC_SIZE, &match);
    assert_true(got < REC_SIZE); /* a short body, then the connection is gone */
    assert_true(got <= 1048576);
    assert_true(match);
    assert_true(wait_for(&gs.closed, 1));
    close(fd);
}

static void test_stream_declined_or_with_body(void **state)
{
    (void)state;
    start();
    struct http_resp r;
    /* A handler that returns 0 gets its stream closed; static files answer. */
    http_once("GET /rec?decline HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
    assert_true(wait_for(&gs.closed, 1));
    /* A body set beside a stream is dropped: the stream is the answer. */
    int fd = tcp_connect(srv.port);
    expect_whole(fd, "/rec?size=1000&both", NULL, 1000);
    assert_true(wait_for(&gs.closed, 2));
    close(fd);
}

/* ---- many slow downloads and a WebSocket client at once -------------------------- */

struct downloader {
    pthread_t thread;
    int fd;
    atomic_int *paused;
    atomic_bool *go;
    int status;
    uint64_t length, got;
    bool match;
};

/* Reads the head and 100 KB, then stops reading until told to go on. */
static void *download_main(void *arg)
{
    struct downloader *d = arg;
    char head[HEAD_CAP];
    bool m1 = false, m2 = false;
    if (read_head(d->fd, head, sizeof head) > 0) {
        d->status = status_of(head);
        const char *cl = strcasestr(head, "\r\ncontent-length:");
        d->length = cl ? strtoull(cl + 17, NULL, 10) : 0;
        d->got = read_body(d->fd, 0, 100 * 1000, &m1);
    }
    atomic_fetch_add(d->paused, 1);
    while (!atomic_load(d->go))
        nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
    if (d->got == 100 * 1000 && d->length > d->got)
        d->got += read_body(d->fd, d->got, d->length - d->got, &m2);
    d->match = m1 && m2;
    return NULL;
}

static void echo_round_trips(int ws, int n)
{
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "ping %d", i);
        ws_send_text(ws, msg);
        expect_text(ws, msg, (size_t)len);
    }
}

static void test_stream_downloads_share_the_loop(void **state)
{
    (void)state;
    start();
    static struct downloader d[DOWNLOADERS];
    static atomic_int paused;
    static atomic_bool go;
    atomic_store(&paused, 0);
    atomic_store(&go, false);
    for (int i = 0; i < DOWNLOADERS; i++) {
        d[i] = (struct downloader){.fd = connect_small_window(), .paused = &paused, .go = &go};
        request(d[i].fd, "GET", "/rec", NULL);
        assert_int_equal(pthread_create(&d[i].thread, NULL, download_main, &d[i]), 0);
    }
    assert_true(wait_for(&paused, DOWNLOADERS));

    /* Every download is open and stalled on its client: the loop still
     * answers a WebSocket client at once, and has not read the bodies
     * ahead into memory. */
    int ws = ws_connect();
    echo_round_trips(ws, 20);
    assert_int_equal(atomic_load(&gs.opened), DOWNLOADERS);
    assert_int_equal(atomic_load(&gs.closed), 0);
    assert_true(atomic_load(&gs.max_end) < REC_SIZE);

    atomic_store(&go, true);
    echo_round_trips(ws, 20); /* while the downloads run */
    for (int i = 0; i < DOWNLOADERS; i++) {
        assert_int_equal(pthread_join(d[i].thread, NULL), 0);
        close(d[i].fd);
        assert_int_equal(d[i].status, 200);
        assert_true(d[i].length == REC_SIZE);
        assert_true(d[i].got == REC_SIZE);
        assert_true(d[i].match);
    }
    assert_true(wait_for(&gs.closed, DOWNLOADERS));
    assert_true(atomic_load(&gs.bytes) == DOWNLOADERS * REC_SIZE);
    echo_round_trips(ws, 1);
    ws_hangup(ws);
    assert_true(wait_for(&g.closes, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_stream_whole_body, stream_teardown),
        cmocka_unit_test_teardown(test_stream_ranges, stream_teardown),
        cmocka_unit_test_teardown(test_stream_unsatisfiable, stream_teardown),
        cmocka_unit_test_teardown(test_stream_range_ignored, stream_teardown),
        cmocka_unit_test_teardown(test_stream_head, stream_teardown),
        cmocka_unit_test_teardown(test_stream_client_leaves, stream_teardown),
        cmocka_unit_test_teardown(test_stream_open_at_shutdown, stream_teardown),
        cmocka_unit_test_teardown(test_stream_read_fails, stream_teardown),
        cmocka_unit_test_teardown(test_stream_declined_or_with_body, stream_teardown),
        cmocka_unit_test_teardown(test_stream_downloads_share_the_loop, stream_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
