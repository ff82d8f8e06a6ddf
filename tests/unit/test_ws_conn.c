/*
 * test_ws_conn.c — unit tests for signaling/ws: WebSocket connections and
 * messages (echo, fragments, size limits and close codes 1009 and 1003, the
 * send-queue bound, subprotocols, upgrades on other paths, the connection
 * limit) and the server's lifecycle (stopping from another thread, the
 * periodic tick, cs_ws_wake, cs_ws_server_new refusing bad input).
 *
 * Each test runs a real server (ws_test_server.h) and talks to it over raw
 * sockets (ws_test_client.h); nothing asserts on timings beyond wide margins.
 */

#include "tests/unit/ws_test_client.h"
#include "tests/unit/ws_test_server.h"

/* ---- WebSocket tests ------------------------------------------------------------ */

static void test_echo(void **state)
{
    (void)state;
    cs_ws_config_t cfg = default_cfg();
    cfg.max_message = 20000;
    srv_start(cfg);
    int fd = ws_connect();
    ws_send_text(fd, "hello");
    expect_text(fd, "hello", 5);
    assert_int_equal(atomic_load(&g.opens), 1);
    assert_string_equal(g.peer, "127.0.0.1");

    /* Invalid UTF-8 is passed through untouched, and so is an empty message. */
    const char bad[] = {'a', (char)0xff, (char)0xfe, 'z'};
    ws_send_frame(fd, true, OP_TEXT, bad, sizeof bad);
    expect_text(fd, bad, sizeof bad);
    ws_send_frame(fd, true, OP_TEXT, "", 0);
    expect_text(fd, "", 0);

    /* Larger than one lws read chunk (4 KiB) but within max_message. */
    static char mid[10000];
    memset(mid, 'm', sizeof mid);
    ws_send_frame(fd, true, OP_TEXT, mid, sizeof mid);
    expect_text(fd, mid, sizeof mid);
    ws_hangup(fd);
    assert_true(wait_for(&g.closes, 1));
}

static void test_fragments_reassembled(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = ws_connect();
    ws_send_frame(fd, false, OP_TEXT, "frag", 4);
    ws_send_frame(fd, false, OP_CONT, "mented ", 7);
    ws_send_frame(fd, true, OP_CONT, "message", 7);
    expect_text(fd, "fragmented message", 18);
    assert_int_equal(atomic_load(&g.messages), 1);

    /* An empty final fragment still completes the message. */
    ws_send_frame(fd, false, OP_TEXT, "ab", 2);
    ws_send_frame(fd, true, OP_CONT, "", 0);
    expect_text(fd, "ab", 2);

    /* A ping between fragments is answered and does not disturb them. */
    ws_send_frame(fd, false, OP_TEXT, "x", 1);
    ws_send_frame(fd, true, OP_PING, "p!", 2);
    ws_send_frame(fd, true, OP_CONT, "y", 1);
    bool got_pong = false, got_text = false;
    for (int i = 0; i < 2; i++) {
        struct frame f;
        assert_true(ws_read_frame(fd, &f));
        if (f.opcode == OP_PONG && f.len == 2 && memcmp(f.data, "p!", 2) == 0)
            got_pong = true;
        if (f.opcode == OP_TEXT && f.len == 2 && memcmp(f.data, "xy", 2) == 0)
            got_text = true;
        free(f.data);
    }
    assert_true(got_pong && got_text);
    assert_int_equal(atomic_load(&g.messages), 3);
    ws_hangup(fd);
}

static void test_oversized_message_closes_1009(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = ws_connect();
    char big[2000];
    memset(big, 'b', sizeof big);
    ws_send_frame(fd, true, OP_TEXT, big, sizeof big);
    expect_close(fd, 1009, "message too big");
    close(fd);

    /* Fragments that are each small but together too big. */
    fd = ws_connect();
    ws_send_frame(fd, false, OP_TEXT, big, 600);
    ws_send_frame(fd, true, OP_CONT, big, 600);
    expect_close(fd, 1009, "message too big");
    close(fd);
    assert_int_equal(atomic_load(&g.messages), 0);
    assert_true(wait_for(&g.closes, 2));
}

static void test_binary_closes_1003(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = ws_connect();
    ws_send_frame(fd, true, OP_BINARY, "\x01\x02", 2);
    expect_close(fd, 1003, "text messages only");
    close(fd);
    assert_int_equal(atomic_load(&g.messages), 0);
}

static void test_max_connections(void **state)
{
    (void)state;
    cs_ws_config_t cfg = default_cfg();
    cfg.max_connections = 2;
    srv_start(cfg);
    int a = ws_connect(), b = ws_connect();
    assert_true(wait_for(&g.opens, 2));

    int c = ws_connect(); /* the handshake succeeds, then the close frame */
    expect_close(c, 1013, "too many connections");
    close(c);

    ws_send_text(b, "still here");
    expect_text(b, "still here", 10);
    assert_int_equal(atomic_load(&g.opens), 2);

    /* A slot freed by a close is available again. */
    ws_hangup(a);
    assert_true(wait_for(&g.closes, 1));
    int d = ws_connect();
    ws_send_text(d, "new");
    expect_text(d, "new", 3);
    assert_int_equal(atomic_load(&g.opens), 3);
    ws_hangup(b);
    ws_hangup(d);
    assert_true(wait_for(&g.closes, 3));
}

static void test_queue_limit(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = ws_connect();
    ws_send_text(fd, "queue-limit");
    struct frame f;
    for (int i = 0; i < 26; i++) { /* 26 × 40000 ≤ 1 MiB < 27 × 40000 */
        assert_true(ws_read_frame(fd, &f));
        assert_int_equal(f.len, 40000);
        free(f.data);
    }
    char want[64];
    int n = snprintf(want, sizeof want, "26 %d", CS_ELIMIT);
    expect_text(fd, want, (size_t)n); /* the refused message was not queued */
    ws_send_text(fd, "huge-once");
    assert_true(ws_read_frame(fd, &f));
    assert_int_equal(f.len, 300000);
    free(f.data);
    expect_text(fd, "0", 1);
    ws_hangup(fd);
}

static void test_any_or_no_subprotocol(void **state)
{
    (void)state;
    srv_start(default_cfg());
    char head[1024];
    int a = ws_connect_with("Sec-WebSocket-Protocol: chat.v1, other\r\n", head, sizeof head);
    assert_true(has_header(head, "Sec-WebSocket-Protocol: chat.v1"));
    int b = ws_connect_with("Sec-WebSocket-Protocol: x-proto\r\n", head, sizeof head);
    assert_true(has_header(head, "Sec-WebSocket-Protocol: x-proto"));
    int c = ws_connect_with(NULL, head, sizeof head);
    assert_null(strcasestr(head, "Sec-WebSocket-Protocol"));
    ws_send_text(a, "a");
    expect_text(a, "a", 1);
    ws_send_text(c, "c");
    expect_text(c, "c", 1);
    ws_hangup(a);
    ws_hangup(b);
    ws_hangup(c);
}

static void test_upgrade_elsewhere_is_404(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = tcp_connect(srv.port);
    char head[1024];
    assert_int_equal(ws_handshake(fd, "/other", NULL, head, sizeof head), 404);
    close(fd);
    assert_int_equal(atomic_load(&g.opens), 0);
}

/* ---- loop, tick and lifecycle tests --------------------------------------------- */

static void test_stop_from_another_thread(void **state)
{
    (void)state;
    srv_start(default_cfg());
    int fd = ws_connect(); /* a live connection must not keep the loop running */
    assert_true(wait_for(&g.opens, 1));
    cs_ws_stop(srv.s); /* no wake: the periodic tick alone must suffice */
    assert_true(join_loop());
    assert_int_equal(srv.run_rc, CS_OK);
    close(fd);
}

static void test_periodic_tick(void **state)
{
    (void)state;
    srv_start(default_cfg());
    assert_true(wait_for(&g.ticks, 3));
}

static void test_wake_calls_on_tick(void **state)
{
    (void)state;
    cs_ws_config_t cfg = default_cfg();
    cfg.tick_ms = 3600 * 1000; /* so any tick seen here comes from the wake */
    srv_start(cfg);
    /* lws interrupts its own wait on every accept; that is not a wake. */
    int fd = ws_connect();
    ws_send_text(fd, "x");
    expect_text(fd, "x", 1);
    assert_int_equal(atomic_load(&g.ticks), 0);
    cs_ws_wake(srv.s);
    assert_true(wait_for(&g.ticks, 1));
    ws_hangup(fd);
}

static void test_new_rejects_bad_input(void **state)
{
    (void)state;
    int err = 0;
    cs_ws_config_t cfg = default_cfg();
    assert_null(cs_ws_server_new(NULL, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    cfg.max_message = 0;
    assert_null(cs_ws_server_new(&cfg, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EINVAL);

    /* A certificate that is not one. */
    char cert[160], key[160];
    snprintf(cert, sizeof cert, "%s/bad-cert.pem", g_root);
    snprintf(key, sizeof key, "%s/bad-key.pem", g_root);
    write_file(cert, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
    write_file(key, "not a key\n");
    cfg = default_cfg();
    cfg.tls_cert_path = cert;
    cfg.tls_key_path = key;
    err = 0;
    assert_null(cs_ws_server_new(&cfg, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EIO);
    unlink(cert);
    unlink(key);

    /* A port someone else holds. */
    srv_start(default_cfg());
    cfg = default_cfg();
    cfg.port = srv.port;
    err = 0;
    assert_null(cs_ws_server_new(&cfg, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EIO);

    cs_ws_server_free(NULL);
    assert_int_equal(cs_ws_send(NULL, "x", 1), CS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_echo, teardown),
        cmocka_unit_test_teardown(test_fragments_reassembled, teardown),
        cmocka_unit_test_teardown(test_oversized_message_closes_1009, teardown),
        cmocka_unit_test_teardown(test_binary_closes_1003, teardown),
        cmocka_unit_test_teardown(test_max_connections, teardown),
        cmocka_unit_test_teardown(test_queue_limit, teardown),
        cmocka_unit_test_teardown(test_any_or_no_subprotocol, teardown),
        cmocka_unit_test_teardown(test_upgrade_elsewhere_is_404, teardown),
        cmocka_unit_test_teardown(test_stop_from_another_thread, teardown),
        cmocka_unit_test_teardown(test_periodic_tick, teardown),
        cmocka_unit_test_teardown(test_wake_calls_on_tick, teardown),
        cmocka_unit_test_teardown(test_new_rejects_bad_input, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
