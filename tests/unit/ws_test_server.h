/*
 * ws_test_server.h — the server fixture shared by the signaling/ws unit tests
 * (test_ws_*.c): callbacks that record what the server saw, a real server on
 * 127.0.0.1 (ephemeral port) run by cs_ws_run() in its own thread, the
 * per-test teardown that stops it and checks the callbacks' bookkeeping, and
 * the group setup that writes the static files served from g_www.
 *
 * Every wait has a 5 s timeout so a bug fails a test instead of hanging it.
 *
 * Header-only, for one test binary each: every function is static inline and
 * every object static, so a test file that does not use one gets no warning.
 */
#ifndef CS_TESTS_UNIT_WS_TEST_SERVER_H
#define CS_TESTS_UNIT_WS_TEST_SERVER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "signaling/ws/ws.h"

#define IO_TIMEOUT_S 5
#define SECRET "TOPSECRET-outside-www"

/* ---- what the server callbacks saw (written on the loop thread) ---------- */

__attribute__((unused)) static struct {
    atomic_int opens, closes, messages, ticks;
    atomic_int send_after_close, send_in_close, bad_tick;
    char peer[64];
    cs_ws_conn_t *conns[8]; /* in order of on_open */
} g;

__attribute__((unused)) static char g_root[64], g_www[96];

static inline void on_open(void *user, cs_ws_conn_t *c)
{
    (void)user;
    cs_strlcpy(g.peer, cs_ws_conn_peer(c), sizeof g.peer);
    int n = atomic_load(&g.opens);
    if (n < (int)CS_ARRAY_LEN(g.conns))
        g.conns[n] = c;
    atomic_fetch_add(&g.opens, 1); /* last: the test reads the rest after opens */
}

static inline void on_message(void *user, cs_ws_conn_t *c, const char *data, size_t len)
{
    (void)user;
    atomic_fetch_add(&g.messages, 1);
    if (len == 11 && memcmp(data, "close-after", 11) == 0) {
        cs_ws_send(c, "one", 3);
        cs_ws_send(c, "two", 3);
        cs_ws_close(c, 4000, "bye");
        atomic_store(&g.send_after_close, cs_ws_send(c, "late", 4));
        return;
    }
    if (len == 11 && memcmp(data, "queue-limit", 11) == 0) {
        /* max_queued_bytes is 65536: a backlog may exceed it for a while
         * (a burst to a prompt reader) but never 16 times it (1 MiB). */
        static char big[40000];
        memset(big, 'q', sizeof big);
        int ok = 0, rc = CS_OK;
        while (ok < 100 && (rc = cs_ws_send(c, big, sizeof big)) == CS_OK)
            ok++;
        char reply[32];
        int n = snprintf(reply, sizeof reply, "%d %d", ok, rc);
        cs_ws_send(c, reply, (size_t)n);
        return;
    }
    if (len == 9 && memcmp(data, "huge-once", 9) == 0) {
        /* One message larger than the whole bound goes out when it is alone. */
        char *huge = malloc(300000);
        memset(huge, 'h', 300000);
        int r = cs_ws_send(c, huge, 300000);
        free(huge);
        char reply[16];
        int n = snprintf(reply, sizeof reply, "%d", r);
        cs_ws_send(c, reply, (size_t)n);
        return;
    }
    cs_ws_send(c, data, len);
}

static inline void on_close(void *user, cs_ws_conn_t *c)
{
    (void)user;
    /* No cmocka asserts on the loop thread: record, check in teardown. */
    if (cs_ws_send(c, "x", 1) != CS_ESTATE)
        atomic_fetch_add(&g.send_in_close, 1);
    atomic_fetch_add(&g.closes, 1);
}

static inline int on_http(void *user, const cs_http_request_t *req, cs_http_response_t *resp)
{
    (void)user;
    if (strcmp(req->path, "/healthz") == 0) {
        resp->status = 200;
        cs_strlcpy(resp->content_type, "text/plain", sizeof resp->content_type);
        resp->body = strdup("ok\n");
        resp->body_len = 3;
        return 1;
    }
    if (strcmp(req->path, "/echo") == 0) {
        char *b = malloc(4096);
        int n = snprintf(b, 4096, "%s|%s|%s|%s|%.*s", req->method, req->path, req->query,
                         req->authorization, (int)req->body_len, req->body ? req->body : "");
        if (n < 0 || n >= 4096)
            n = 0;
        resp->status = 201;
        cs_strlcpy(resp->content_type, "application/json", sizeof resp->content_type);
        resp->body = b;
        resp->body_len = (size_t)n;
        return 1;
    }
    return 0;
}

static inline void on_tick(void *user, int64_t now_ms)
{
    (void)user;
    if (now_ms < 1700000000000LL) /* wall clock, not monotonic */
        atomic_fetch_add(&g.bad_tick, 1);
    atomic_fetch_add(&g.ticks, 1);
}

__attribute__((unused)) static const cs_ws_callbacks_t callbacks = {
    .on_open = on_open,
    .on_message = on_message,
    .on_close = on_close,
    .on_http = on_http,
    .on_tick = on_tick,
};

/* ---- the server under test -------------------------------------------------- */

__attribute__((unused)) static struct {
    cs_ws_server_t *s;
    pthread_t thread;
    bool running;
    int run_rc;
    int port;
} srv;

static inline void *run_thread(void *arg)
{
    srv.run_rc = cs_ws_run(arg);
    return NULL;
}

static inline cs_ws_config_t default_cfg(void)
{
    return (cs_ws_config_t){
        .bind_address = "127.0.0.1",
        .port = 0,
        .static_dir = g_www,
        .max_message = 1024,
        .max_queued_bytes = 65536,
        .max_connections = 8,
        .max_http_body = 1024,
        .tick_ms = 50,
    };
}

static inline void srv_start(cs_ws_config_t cfg)
{
    int err = 1;
    srv.s = cs_ws_server_new(&cfg, &callbacks, NULL, &err);
    assert_non_null(srv.s);
    assert_int_equal(err, CS_OK);
    srv.port = cs_ws_port(srv.s);
    assert_true(srv.port > 0 && srv.port < 65536);
    srv.run_rc = -999;
    assert_int_equal(pthread_create(&srv.thread, NULL, run_thread, srv.s), 0);
    srv.running = true;
}

static inline bool join_loop(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += IO_TIMEOUT_S;
    if (pthread_timedjoin_np(srv.thread, NULL, &ts) != 0)
        return false;
    srv.running = false;
    return true;
}

static inline int teardown(void **state)
{
    (void)state;
    if (srv.running) {
        cs_ws_stop(srv.s);
        cs_ws_wake(srv.s); /* some tests use a tick far in the future */
        assert_true(join_loop()); /* on failure the server leaks: it is still running */
    }
    cs_ws_server_free(srv.s);
    srv.s = NULL;
    assert_int_equal(atomic_load(&g.opens), atomic_load(&g.closes));
    assert_int_equal(atomic_load(&g.send_in_close), 0);
    assert_int_equal(atomic_load(&g.bad_tick), 0);
    atomic_store(&g.opens, 0);
    atomic_store(&g.closes, 0);
    atomic_store(&g.messages, 0);
    atomic_store(&g.ticks, 0);
    atomic_store(&g.send_after_close, 0);
    return 0;
}

/* Waits (up to the I/O timeout) until *v reaches want. */
static inline bool wait_for(atomic_int *v, int want)
{
    for (int i = 0; i < IO_TIMEOUT_S * 100; i++) {
        if (atomic_load(v) >= want)
            return true;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    return atomic_load(v) >= want;
}

/* ---- fixture files -------------------------------------------------------------- */

static inline void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static inline int group_setup(void **state)
{
    (void)state;
    cs_log_setup(CS_LOG_ERROR, false);
    snprintf(g_root, sizeof g_root, "/tmp/test_ws.XXXXXX");
    if (!mkdtemp(g_root))
        return -1;
    snprintf(g_www, sizeof g_www, "%s/www/", g_root); /* trailing '/' on purpose */
    char p[256];
    mkdir(g_www, 0700);
    snprintf(p, sizeof p, "%s/sub", g_www);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/index.html", g_www);
    write_file(p, "<h1>consilium</h1>\n");
    snprintf(p, sizeof p, "%s/app.mjs", g_www);
    write_file(p, "export {};\n");
    snprintf(p, sizeof p, "%s/style.css", g_www);
    write_file(p, "body{}\n");
    snprintf(p, sizeof p, "%s/sub/index.html", g_www);
    write_file(p, "sub\n");
    snprintf(p, sizeof p, "%s/secret.txt", g_root);
    write_file(p, SECRET "\n");
    return 0;
}

static inline int group_teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
