/*
 * test_ws_http.c — unit tests for signaling/ws: plain HTTP on the WebSocket
 * port — dynamic routes (on_http) with keep-alive and HEAD, request bodies and
 * their limits (413, 411), static files from the configured directory and
 * path traversal out of it.
 *
 * Each test runs a real server (ws_test_server.h) and sends it hand-written
 * requests over raw sockets (ws_test_client.h).
 */

#include "tests/unit/ws_test_client.h"
#include "tests/unit/ws_test_server.h"

/* ---- HTTP tests ------------------------------------------------------------------ */

static void test_http_dynamic_route(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = tcp_connect(srv.port);
    struct http_resp r;
    /* Two requests on one keep-alive connection. */
    for (int i = 0; i < 2; i++) {
        send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        http_read(fd, &r, false);
        assert_int_equal(r.status, 200);
        assert_string_equal(r.body, "ok\n");
        assert_true(has_header(r.head, "content-type: text/plain"));
        assert_true(has_header(r.head, "x-content-type-options: nosniff"));
        assert_true(has_header(r.head, "cache-control: no-store"));
    }
    /* HEAD: same headers, no body, and the connection stays usable. */
    send_str(fd, "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    http_read(fd, &r, true);
    assert_int_equal(r.status, 200);
    assert_true(has_header(r.head, "content-length: 3"));
    send_str(fd, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    http_read(fd, &r, false);
    assert_string_equal(r.body, "ok\n");
    close(fd);

    http_once("GET /echo?room=a1&x=2 HTTP/1.1\r\nHost: x\r\n"
              "Authorization: Bearer tok.en\r\n\r\n",
              &r);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "GET|/echo|room=a1&x=2|Bearer tok.en|");
    assert_true(has_header(r.head, "content-type: application/json"));

    http_once("GET /echo?q=a%20b&flag&last= HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_string_equal(r.body, "GET|/echo|q=a b&flag&last=||");

    http_once("GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
}

static void test_http_post_body(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = tcp_connect(srv.port);
    /* The body arrives in two pieces. */
    send_str(fd, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello");
    nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    send_str(fd, " world");
    struct http_resp r;
    http_read(fd, &r, false);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "POST|/echo|||hello world");

    /* Keep-alive still works after a body; an empty POST too. */
    send_str(fd, "POST /echo?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    http_read(fd, &r, false);
    assert_int_equal(r.status, 201);
    assert_string_equal(r.body, "POST|/echo|a=b||");

    send_str(fd, "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
    http_read(fd, &r, false);
    assert_string_equal(r.body, "PUT|/echo|||abc");
    close(fd);
}

static void test_http_body_too_large(void **state)
{
    (void)state;
    srv_start(default_cfg());
    char req[4096];
    int n = snprintf(req, sizeof req, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n");
    memset(req + n, 'z', 2000);
    int fd = tcp_connect(srv.port);
    send_all(fd, req, (size_t)n + 2000);
    struct http_resp r;
    http_read(fd, &r, false);
    assert_int_equal(r.status, 413);
    assert_true(peer_closed(fd));
    close(fd);

    http_once("POST /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 411);
}

static void test_static_files(void **state)
{
    (void)state;
    srv_start(default_cfg());
    struct http_resp r;
    http_once("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "<h1>consilium</h1>\n");
    assert_true(has_header(r.head, "content-type: text/html; charset=utf-8"));
    assert_true(has_header(r.head, "x-content-type-options: nosniff"));

    http_once("GET /app.mjs HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "export {};\n");
    assert_true(has_header(r.head, "content-type: text/javascript; charset=utf-8"));

    http_once("GET /sub/ HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "sub\n");

    http_once("HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(r.head, "content-type: text/css; charset=utf-8"));

    http_once("GET /missing.png HTTP/1.1\r\nHost: x\r\n\r\n", &r);
    assert_int_equal(r.status, 404);

    /* POST to a static path is not a static request. */
    http_once("POST /index.html HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", &r);
    assert_int_equal(r.status, 404);
}

static void test_static_traversal_is_404(void **state)
{
    (void)state;
    srv_start(default_cfg());
    static const char *const paths[] = {
        "/../secret.txt", "/../../secret.txt", "/sub/../../secret.txt",
        "/%2e%2e/secret.txt", "/..%5csecret.txt", "/sub\\..\\..\\secret.txt",
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(paths); i++) {
        char req[256];
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", paths[i]);
        struct http_resp r;
        http_once(req, &r);
        assert_int_equal(r.status, 404);
        assert_null(strstr(r.body, SECRET));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_http_dynamic_route, teardown),
        cmocka_unit_test_teardown(test_http_post_body, teardown),
        cmocka_unit_test_teardown(test_http_body_too_large, teardown),
        cmocka_unit_test_teardown(test_static_files, teardown),
        cmocka_unit_test_teardown(test_static_traversal_is_404, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
