/*
 * test_ice.c — media/ice against a real ICE peer on 127.0.0.1: a raw libnice
 * agent in controlling mode plays the browser (browsers offer, so they
 * control). Credentials and trickled candidates are carried across by hand;
 * both sides connect and datagrams go both ways byte for byte (also batched:
 * a burst leaves in one sendmmsg); candidates
 * that come before the credentials wait for them; what is broken, TCP and
 * mDNS names are told apart; the per-generation bound holds; the port range,
 * the NAT 1:1 address and the STUN server are used; a restart brings new
 * credentials while media keeps flowing on the old pair, then reconnects;
 * consent revoked by the peer fails the agent; an agent freed mid-check or
 * from inside its own callback never calls back (run under ASan).
 *
 * Each test owns a GMainContext and runs it in the test thread with a
 * deadline; a 10 ms tick source keeps every blocking iteration short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <nice/agent.h>
#include <nice/interfaces.h>

#include "common/common.h"
#include "media/ice/ice.h"

#define NICE_BROWSER_LINE_MAX (CS_ICE_CANDIDATE_MAX + 2)
#include "tests/unit/nice_browser.h"

#define WAIT_MS 5000
#define MAX_CANDS 32
#define MAX_STATES 32
#define MAX_DGRAMS 32

typedef struct {
    uint8_t data[CS_ICE_MAX_DATAGRAM];
    size_t len;
} dgram_t;

static GMainContext *ctx;
static GSource *tick;

/* ---- the context --------------------------------------------------------------------- */

static int ctx_setup(void **state)
{
    (void)state;
    ctx = nice_browser_context_new(&tick);
    return 0;
}

static int ctx_teardown(void **state)
{
    (void)state;
    nice_browser_context_free(ctx, tick);
    return 0;
}

typedef bool (*cond_fn)(void *arg);

/* Runs the context until cond holds or ms have passed; whether it held. */
static bool run_until(cond_fn cond, void *arg, int ms)
{
    return nice_browser_run_until(ctx, NULL, cond, arg, ms);
}

/* Runs the context for ms, to see that nothing (more) happens. */
static void run_for(int ms)
{
    nice_browser_run_for(ctx, NULL, ms);
}

/* ---- our side: the gateway's agent --------------------------------------------------- */

typedef struct {
    cs_ice_agent_t *a;
    char cands[MAX_CANDS][CS_ICE_CANDIDATE_MAX];
    size_t n_cands, n_sent;             /* n_sent: handed to the browser */
    int gathering_done;
    cs_ice_state_t states[MAX_STATES];
    size_t n_states;
    dgram_t rx[MAX_DGRAMS];
    size_t n_rx;
    bool bad_candidate;                 /* one without "candidate:" or too long */
    bool freed;                         /* cs_ice_agent_free was called */
    int late_calls;                     /* callbacks after that: must stay 0 */
    int free_in_state;                  /* free from on_state in this state; -1 never */
    bool free_in_candidate;
} gw_t;

static void gw_free(gw_t *g)
{
    cs_ice_agent_free(g->a);
    g->freed = true;
}

static void gw_candidate(void *user, const char *c)
{
    gw_t *g = user;
    if (g->freed) {
        g->late_calls++;
        return;
    }
    if (strncmp(c, "candidate:", 10) != 0 || strlen(c) >= CS_ICE_CANDIDATE_MAX)
        g->bad_candidate = true;
    else if (g->n_cands < MAX_CANDS)
        cs_strlcpy(g->cands[g->n_cands++], c, CS_ICE_CANDIDATE_MAX);
    if (g->free_in_candidate)
        gw_free(g);
}

static void gw_gathering_done(void *user)
{
    gw_t *g = user;
    if (g->freed)
        g->late_calls++;
    else
        g->gathering_done++;
}

static void gw_state(void *user, cs_ice_state_t s)
{
    gw_t *g = user;
    if (g->freed) {
        g->late_calls++;
        return;
    }
    if (g->n_states < MAX_STATES)
        g->states[g->n_states++] = s;
    if ((int)s == g->free_in_state)
        gw_free(g);
}

static void gw_data(void *user, uint8_t *buf, size_t len)
{
    gw_t *g = user;
    if (g->freed) {
        g->late_calls++;
        return;
    }
    if (g->n_rx < MAX_DGRAMS && len <= sizeof g->rx[0].data) {
        memcpy(g->rx[g->n_rx].data, buf, len);
        g->rx[g->n_rx++].len = len;
    }
    buf[0] ^= 0xff;                     /* the buffer is ours to change */
}

static const cs_ice_callbacks_t gw_cb = {gw_candidate, gw_gathering_done, gw_state, gw_data};

static cs_ice_config_t loopback_cfg(void)
{
    cs_ice_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.addresses[0] = "127.0.0.1";
    cfg.n_addresses = 1;
    return cfg;
}

static void gw_init(gw_t *g, const cs_ice_config_t *cfg)
{
    memset(g, 0, sizeof *g);
    g->free_in_state = -1;
    int err = 1;
    g->a = cs_ice_agent_new(ctx, cfg, &gw_cb, g, &err);
    assert_non_null(g->a);
    assert_int_equal(err, CS_OK);
    assert_int_equal(cs_ice_agent_state(g->a), CS_ICE_STATE_NEW);
}

static cs_ice_state_t gw_last_state(const gw_t *g)
{
    return g->n_states ? g->states[g->n_states - 1] : CS_ICE_STATE_NEW;
}

/* Reported changes only: never the same state twice in a row. */
static void assert_no_repeats(const gw_t *g)
{
    for (size_t i = 1; i < g->n_states; i++)
        assert_int_not_equal(g->states[i], g->states[i - 1]);
}

/* ---- the "browser": nice_browser.h, keeping what it receives ------------------------ */

typedef struct {
    nice_browser_t nb;
    dgram_t rx[MAX_DGRAMS];
    size_t n_rx;
} browser_t;

static void br_recv(NiceAgent *nice, guint stream, guint component, guint len, gchar *buf,
                    gpointer user)
{
    (void)nice, (void)stream, (void)component;
    browser_t *b = user;
    if (b->n_rx < MAX_DGRAMS && len <= sizeof b->rx[0].data) {
        memcpy(b->rx[b->n_rx].data, buf, len);
        b->rx[b->n_rx++].len = len;
    }
}

static void browser_init(browser_t *b)
{
    memset(b, 0, sizeof *b);
    nice_browser_init(&b->nb, ctx, br_recv, b);
}

/* ---- the two together ---------------------------------------------------------------- */

typedef struct {
    gw_t *g;
    browser_t *b;
    bool to_gw, to_browser;             /* which way candidates are carried */
} link_t;

/* Carries what was trickled since the last call. */
static void pump(link_t *l)
{
    nice_browser_t *nb = &l->b->nb;
    while (l->to_gw && !l->g->freed && nb->n_sent < nb->n_cands)
        assert_int_equal(cs_ice_agent_add_remote_candidate(l->g->a, nb->cands[nb->n_sent++]),
                         CS_OK);
    while (l->to_browser && l->g->n_sent < l->g->n_cands)
        nice_browser_add_remote(nb, l->g->cands[l->g->n_sent++]);
}

static void exchange_credentials(gw_t *g, browser_t *b)
{
    char u[CS_ICE_UFRAG_MAX], p[CS_ICE_PWD_MAX];
    assert_int_equal(cs_ice_agent_local_credentials(g->a, u, p), CS_OK);
    assert_true(nice_agent_set_remote_credentials(b->nb.nice, b->nb.stream, u, p));
    char bu[257], bp[257];              /* what RFC 8839 allows, larger than libnice's */
    nice_browser_credentials(&b->nb, bu, sizeof bu, bp, sizeof bp);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g->a, bu, bp), CS_OK);
}

static bool both_connected(void *arg)
{
    link_t *l = arg;
    pump(l);
    return cs_ice_agent_state(l->g->a) == CS_ICE_STATE_CONNECTED &&
           nice_browser_connected(&l->b->nb);
}

/* A gateway agent with cfg (NULL: loopback_cfg()) and a browser, carrying
 * candidates both ways. */
static void link_open(link_t *l, gw_t *g, browser_t *b, const cs_ice_config_t *cfg)
{
    cs_ice_config_t lo = loopback_cfg();
    gw_init(g, cfg ? cfg : &lo);
    browser_init(b);
    l->g = g;
    l->b = b;
    l->to_gw = l->to_browser = true;
}

/* Frees the browser, and the gateway's agent unless the test already did. */
static void link_close(link_t *l)
{
    if (!l->g->freed)
        cs_ice_agent_free(l->g->a);
    nice_browser_free(&l->b->nb);
}

/* The usual order: gateway gathers, credentials cross, candidates trickle;
 * then the context runs until cond holds. */
static void start_until(link_t *l, cond_fn cond)
{
    assert_int_equal(cs_ice_agent_gather(l->g->a), CS_OK);
    exchange_credentials(l->g, l->b);
    assert_true(run_until(cond, l, WAIT_MS));
}

static void connect_pair(link_t *l)
{
    start_until(l, both_connected);
}

/* The selected pair as text contains what. */
static void assert_pair_has(const gw_t *g, const char *what)
{
    char pair[128];
    cs_ice_agent_selected_pair(g->a, pair, sizeof pair);
    if (!strstr(pair, what))
        fail_msg("selected pair \"%s\" lacks \"%s\"", pair, what);
}

typedef struct {
    link_t *l;
    size_t gw_want, br_want;
} rx_wait_t;

static bool received(void *arg)
{
    rx_wait_t *w = arg;
    return w->l->g->n_rx >= w->gw_want && w->l->b->n_rx >= w->br_want;
}

/* A DTLS-looking, an RTP-looking and a large datagram each way, byte for byte. */
static void exchange_data(link_t *l)
{
    static uint8_t big[1200];
    static const uint8_t dtls[] = {22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 1, 0, 3, 1, 2, 3};
    static const uint8_t rtp[] = {0x80, 0x60, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 7};
    const struct {
        const uint8_t *p;
        size_t len;
    } msgs[] = {{dtls, sizeof dtls}, {rtp, sizeof rtp}, {big, sizeof big}};
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)(i * 7 + 1);
    gw_t *g = l->g;
    browser_t *b = l->b;
    size_t g0 = g->n_rx, b0 = b->n_rx;
    for (size_t i = 0; i < CS_ARRAY_LEN(msgs); i++) {
        assert_int_equal(cs_ice_agent_send(g->a, msgs[i].p, msgs[i].len), CS_OK);
        nice_browser_send(&b->nb, msgs[i].p, msgs[i].len);
    }
    rx_wait_t w = {l, g0 + 3, b0 + 3};
    assert_true(run_until(received, &w, WAIT_MS));
    for (size_t i = 0; i < CS_ARRAY_LEN(msgs); i++) {
        assert_int_equal(g->rx[g0 + i].len, msgs[i].len);
        assert_memory_equal(g->rx[g0 + i].data, msgs[i].p, msgs[i].len);
        assert_int_equal(b->rx[b0 + i].len, msgs[i].len);
        assert_memory_equal(b->rx[b0 + i].data, msgs[i].p, msgs[i].len);
    }
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_names_and_arguments(void **state)
{
    (void)state;
    assert_string_equal(cs_ice_state_name(CS_ICE_STATE_NEW), "new");
    assert_string_equal(cs_ice_state_name(CS_ICE_STATE_CHECKING), "checking");
    assert_string_equal(cs_ice_state_name(CS_ICE_STATE_CONNECTED), "connected");
    assert_string_equal(cs_ice_state_name(CS_ICE_STATE_FAILED), "failed");
    assert_string_equal(cs_ice_state_name(CS_ICE_STATE_CLOSED), "closed");
    assert_string_equal(cs_ice_state_name((cs_ice_state_t)42), "unknown");

    static gw_t g;
    int err = 0;
    cs_ice_config_t cfg = loopback_cfg();
    assert_null(cs_ice_agent_new(NULL, &cfg, &gw_cb, &g, &err));
    assert_int_equal(err, CS_EINVAL);
    cs_ice_callbacks_t no_state = gw_cb;
    no_state.on_state = NULL;
    assert_null(cs_ice_agent_new(ctx, &cfg, &no_state, &g, &err));
    assert_int_equal(err, CS_EINVAL);

    static const struct {
        const char *address, *public_address, *stun;
        uint16_t min, max;
        int expect;
    } cases[] = {
        {"127.0.0.1", NULL, NULL, 0, 0, CS_OK},
        {"localhost", NULL, NULL, 0, 0, CS_EINVAL}, /* names are not resolved */
        {"127.0.0.1", NULL, NULL, 6000, 5000, CS_EINVAL},
        {"127.0.0.1", NULL, NULL, 0, 5000, CS_EINVAL},
        {"127.0.0.1", NULL, NULL, 5000, 5000, CS_OK},
        {"127.0.0.1", "203.0.113.7", NULL, 0, 0, CS_OK},
        {"127.0.0.1", "gateway.example", NULL, 0, 0, CS_EINVAL},
        {"127.0.0.1", NULL, "127.0.0.1:3478", 0, 0, CS_OK},
        {"127.0.0.1", NULL, "[::1]:3478", 0, 0, CS_OK},
        {"127.0.0.1", NULL, "stun.example.org:3478", 0, 0, CS_EINVAL},
        {"127.0.0.1", NULL, "127.0.0.1", 0, 0, CS_EINVAL},
        {"127.0.0.1", NULL, "127.0.0.1:0", 0, 0, CS_EINVAL},
        {"127.0.0.1", NULL, "127.0.0.1:99999", 0, 0, CS_EINVAL},
        {"127.0.0.1", NULL, "::1:3478", 0, 0, CS_EINVAL},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        cfg = loopback_cfg();
        cfg.addresses[0] = cases[i].address;
        cfg.public_address = cases[i].public_address;
        cfg.stun_server = cases[i].stun;
        cfg.port_min = cases[i].min;
        cfg.port_max = cases[i].max;
        err = 1;
        cs_ice_agent_t *a = cs_ice_agent_new(ctx, &cfg, &gw_cb, &g, &err);
        assert_int_equal(err, cases[i].expect);
        assert_true((a != NULL) == (cases[i].expect == CS_OK));
        cs_ice_agent_free(a);
    }
    cfg = loopback_cfg();
    cfg.n_addresses = CS_ICE_MAX_ADDRESSES + 1;
    assert_null(cs_ice_agent_new(ctx, &cfg, &gw_cb, &g, NULL));

    /* NULL is harmless everywhere */
    cs_ice_agent_free(NULL);
    assert_int_equal(cs_ice_agent_gather(NULL), CS_EINVAL);
    assert_int_equal(cs_ice_agent_send(NULL, (const uint8_t *)"x", 1), CS_EINVAL);
    assert_int_equal(cs_ice_agent_state(NULL), CS_ICE_STATE_CLOSED);
    char pair[8] = "junk";
    cs_ice_agent_selected_pair(NULL, pair, sizeof pair);
    assert_string_equal(pair, "");
}

static void test_credentials(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg = loopback_cfg();
    gw_init(&g, &cfg);
    char u[CS_ICE_UFRAG_MAX], p[CS_ICE_PWD_MAX];
    assert_int_equal(cs_ice_agent_local_credentials(g.a, u, p), CS_OK);
    assert_true(strlen(u) >= 4 && strlen(p) >= 22);  /* RFC 8839 minimums */

    char long_ufrag[CS_ICE_UFRAG_MAX + 1];
    memset(long_ufrag, 'a', sizeof long_ufrag - 1);
    long_ufrag[sizeof long_ufrag - 1] = '\0';
    const char *pwd = "abcdefghijklmnopqrstuvwxyz";
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "", pwd), CS_EINVAL);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "abcd", ""), CS_EINVAL);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, long_ufrag, pwd), CS_EINVAL);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "ab:cd", pwd), CS_EINVAL);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, NULL, pwd), CS_EINVAL);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "abcd", pwd), CS_OK);
    /* the same again is fine; others need a restart first */
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "abcd", pwd), CS_OK);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "wxyz", pwd), CS_ESTATE);
    assert_int_equal(cs_ice_agent_restart(g.a), CS_OK);
    assert_int_equal(cs_ice_agent_set_remote_credentials(g.a, "wxyz", pwd), CS_OK);
    cs_ice_agent_free(g.a);
}

static void test_send_before_connected(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg = loopback_cfg();
    gw_init(&g, &cfg);
    static const uint8_t rtp[] = {0x80, 0, 0, 1};
    assert_int_equal(cs_ice_agent_send(g.a, rtp, sizeof rtp), CS_ESTATE);
    assert_int_equal(cs_ice_agent_send(g.a, NULL, 4), CS_EINVAL);
    assert_int_equal(cs_ice_agent_send(g.a, rtp, 0), CS_EINVAL);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_ESTATE); /* once per generation */
    assert_int_equal(cs_ice_agent_state(g.a), CS_ICE_STATE_CHECKING);
    assert_int_equal(cs_ice_agent_send(g.a, rtp, sizeof rtp), CS_ESTATE);
    char pair[128] = "junk";
    cs_ice_agent_selected_pair(g.a, pair, sizeof pair);
    assert_string_equal(pair, "");
    cs_ice_agent_free(g.a);
}

static void test_connect_and_data(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    connect_pair(&l);
    assert_int_equal(g.gathering_done, 1);
    assert_false(g.bad_candidate);
    assert_int_equal(g.n_cands, 1);
    assert_non_null(strstr(g.cands[0], " UDP "));
    assert_non_null(strstr(g.cands[0], " 127.0.0.1 "));
    assert_non_null(strstr(g.cands[0], " typ host"));
    /* NEW -> CHECKING -> CONNECTED, each once */
    assert_int_equal(g.n_states, 2);
    assert_int_equal(g.states[0], CS_ICE_STATE_CHECKING);
    assert_int_equal(g.states[1], CS_ICE_STATE_CONNECTED);

    char pair[128];
    cs_ice_agent_selected_pair(g.a, pair, sizeof pair);
    assert_true(strncmp(pair, "udp 127.0.0.1:", 14) == 0);
    assert_non_null(strstr(pair, " -> 127.0.0.1:"));
    assert_non_null(strstr(pair, " (host/"));
    char small[10];
    cs_ice_agent_selected_pair(g.a, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);

    exchange_data(&l);
    cs_ice_agent_remote_gathering_done(g.a); /* end-of-candidates: nothing changes */
    cs_ice_agent_remote_gathering_done(NULL);
    exchange_data(&l);

    /* CS_ICE_MAX_DATAGRAM comes through; one byte more is dropped, and what
     * follows still comes. */
    static uint8_t huge[CS_ICE_MAX_DATAGRAM + 1];
    memset(huge, 0x80, sizeof huge);
    nice_browser_send(&b.nb, huge, sizeof huge);
    nice_browser_send(&b.nb, huge, sizeof huge - 1);
    rx_wait_t w = {&l, 7, 0};
    assert_true(run_until(received, &w, WAIT_MS));
    assert_int_equal(g.rx[6].len, CS_ICE_MAX_DATAGRAM);
    assert_memory_equal(g.rx[6].data, huge, CS_ICE_MAX_DATAGRAM);
    exchange_data(&l);
    assert_int_equal(g.n_rx, 10);

    run_for(100);
    assert_no_repeats(&g);
    assert_int_equal(gw_last_state(&g), CS_ICE_STATE_CONNECTED);
    link_close(&l);
}

/* The browser has none of our candidates: only our checks, to the candidates
 * that waited for the credentials, can open the path. */
static void test_candidates_before_credentials(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    l.to_browser = false;
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    pump(&l);                           /* queued: no credentials yet */
    run_for(50);
    assert_int_equal(cs_ice_agent_state(g.a), CS_ICE_STATE_CHECKING);
    assert_false(nice_browser_connected(&b.nb));
    exchange_credentials(&g, &b);
    assert_true(run_until(both_connected, &l, WAIT_MS));
    assert_pair_has(&g, "(host/host)");
    exchange_data(&l);
    link_close(&l);
}

/* Replaces a candidate's address with an mDNS name, as Chromium does. */
static void obfuscate(const char *in, char *out, size_t cap)
{
    char copy[CS_ICE_CANDIDATE_MAX + 2], *save = NULL;
    cs_strlcpy(copy, in, sizeof copy);
    out[0] = '\0';
    int i = 0;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save), i++) {
        if (i)
            strncat(out, " ", cap - strlen(out) - 1);
        strncat(out, i == 4 ? "0a1b2c3d-1111-4222-8333-444455556666.local" : t,
                cap - strlen(out) - 1);
    }
}

/* None of the browser's candidates is usable: libnice learns its address
 * from its checks (peer-reflexive). */
static void test_mdns_browser(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    l.to_gw = false;
    for (size_t i = 0; i < b.nb.n_cands; i++) {
        char hidden[CS_ICE_CANDIDATE_MAX + 64];
        obfuscate(b.nb.cands[i], hidden, sizeof hidden);
        assert_non_null(strstr(hidden, ".local "));
        assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, hidden), CS_EUNSUPPORTED);
    }
    connect_pair(&l);
    assert_pair_has(&g, "(host/prflx)");
    exchange_data(&l);
    link_close(&l);
}

static void test_candidate_forms(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    cs_ice_config_t cfg = loopback_cfg();
    gw_init(&g, &cfg);
    char too_long[400];
    memset(too_long, '1', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    memcpy(too_long, "candidate:", 10);

    static const struct {
        const char *line;
        int expect;
    } cases[] = {
        {"", CS_EINVAL},
        {"candidate:", CS_EINVAL},
        {"a=candidate:", CS_EINVAL},
        {"hello world", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 127.0.0.1 5000 host", CS_EINVAL},
        {"candidate:1 1 udp abc 127.0.0.1 5000 typ host", CS_EINVAL},
        {"candidate:1 1 udp 4294967296 127.0.0.1 5000 typ host", CS_EINVAL},
        {"candidate:1 x udp 2130706431 127.0.0.1 5000 typ host", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 127.0.0.1 70000 typ host", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 127.0.0.1 0 typ host", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 0.0.0.0 5000 typ host", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 300.1.2.3! 5000 typ host", CS_EINVAL},
        {"candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host generation", CS_EINVAL},
        {"candidate:f:o 1 udp 2130706431 127.0.0.1 5000 typ host", CS_EINVAL},
        /* valid, but not for us */
        {"candidate:2 1 tcp 1518280447 127.0.0.1 9 typ host tcptype active", CS_EUNSUPPORTED},
        {"candidate:2 1 TCP 1518280447 127.0.0.1 9 typ host", CS_EUNSUPPORTED},
        {"candidate:3 1 sctp 1518280447 127.0.0.1 9 typ host", CS_EUNSUPPORTED},
        {"candidate:4 1 udp 2122260223 x.local 54321 typ host", CS_EUNSUPPORTED},
        {"candidate:4 1 udp 2122260223 somehost.example 54321 typ host", CS_EUNSUPPORTED},
        {"candidate:5 2 udp 2122260222 127.0.0.1 5001 typ host", CS_EUNSUPPORTED},
        {"candidate:6 1 udp 1845501695 127.0.0.1 5002 typ prflx", CS_EUNSUPPORTED},
        {"candidate:6 1 udp 1845501695 127.0.0.1 5002 typ quantum", CS_EUNSUPPORTED},
        /* good, in the forms browsers send them */
        {"candidate:7 1 udp 2122260223 127.0.0.1 5003 typ host generation 0 ufrag EEtu "
         "network-id 1",
         CS_OK},
        {"a=candidate:8 1 UDP 1686052607 127.0.0.1 5004 typ srflx raddr 0.0.0.0 rport 0\r\n",
         CS_OK},
        {"candidate:9 1 udp 41885439 127.0.0.1 5005 typ relay raddr 127.0.0.1 rport 5006 ",
         CS_OK},
        {"candidate:10 1 udp 2122262783 ::1 5007 typ host", CS_OK},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        int rc = cs_ice_agent_add_remote_candidate(g.a, cases[i].line);
        if (rc != cases[i].expect)
            fail_msg("%s: %s, expected %s", cases[i].line, cs_errname(rc),
                     cs_errname(cases[i].expect));
    }
    assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, too_long), CS_EINVAL);
    assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, NULL), CS_EINVAL);

    /* none of it hurt: the agent still connects */
    browser_init(&b);
    l = (link_t){&g, &b, true, true};
    connect_pair(&l);
    exchange_data(&l);
    link_close(&l);
}

static void test_limit(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg = loopback_cfg();
    gw_init(&g, &cfg);
    char line[CS_ICE_CANDIDATE_MAX];
    for (int i = 0; i <= CS_ICE_MAX_REMOTE_CANDIDATES; i++) {
        snprintf(line, sizeof line, "candidate:%d 1 udp 2122260223 127.0.0.1 %d typ host", i,
                 40000 + i);
        int expect = i < CS_ICE_MAX_REMOTE_CANDIDATES ? CS_OK : CS_ELIMIT;
        assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, line), expect);
    }
    /* refused ones do not count, and a restart opens a new generation */
    assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, "candidate:x"), CS_EINVAL);
    assert_int_equal(cs_ice_agent_restart(g.a), CS_OK);
    assert_int_equal(cs_ice_agent_add_remote_candidate(g.a, line), CS_OK);
    cs_ice_agent_free(g.a);
}

static unsigned candidate_port(const char *c)
{
    char addr[64];
    unsigned port = 0;
    assert_int_equal(sscanf(c, "candidate:%*s %*u %*s %*u %63s %u typ", addr, &port), 2);
    return port;
}

static int udp_socket(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    socklen_t len = sizeof sa;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void test_port_range(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg = loopback_cfg();
    cfg.addresses[1] = "::1";
    cfg.n_addresses = 2;
    cfg.port_min = 47110;
    cfg.port_max = 47129;
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(g.n_cands, 2);
    for (size_t i = 0; i < g.n_cands; i++) {
        unsigned port = candidate_port(g.cands[i]);
        assert_true(port >= cfg.port_min && port <= cfg.port_max);
    }
    cs_ice_agent_free(g.a);

    /* A range with no free port: gathering fails, and says so. */
    uint16_t taken;
    int fd = udp_socket(&taken);
    cfg = loopback_cfg();
    cfg.port_min = cfg.port_max = taken;
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_EIO);
    assert_int_equal(g.n_cands, 0);
    cs_ice_agent_free(g.a);
    close(fd);
}

static void test_public_address(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg = loopback_cfg();
    cfg.public_address = "203.0.113.7";
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(g.n_cands, 1);
    assert_non_null(strstr(g.cands[0], " 203.0.113.7 "));
    assert_null(strstr(g.cands[0], "127.0.0.1"));
    assert_null(strstr(g.cands[0], "raddr"));
    assert_true(candidate_port(g.cands[0]) > 0);
    cs_ice_agent_free(g.a);

    /* an IPv4 public address says nothing about IPv6 candidates */
    cfg.addresses[0] = "::1";
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(g.n_cands, 1);
    assert_non_null(strstr(g.cands[0], " ::1 "));
    cs_ice_agent_free(g.a);
}

static bool gathered(void *arg)
{
    return ((gw_t *)arg)->gathering_done > 0;
}

/* No address configured: libnice's own list of interfaces, or 127.0.0.1. */
static void test_default_addresses(void **state)
{
    (void)state;
    static gw_t g;
    cs_ice_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_true(run_until(gathered, &g, WAIT_MS));
    assert_true(g.n_cands > 0);
    GList *ips = nice_interfaces_get_local_ips(FALSE);
    for (size_t i = 0; i < g.n_cands; i++)
        assert_true((strstr(g.cands[i], " 127.0.0.1 ") != NULL) == (ips == NULL));
    g_list_free_full(ips, g_free);
    cs_ice_agent_free(g.a);
}

typedef struct {
    int fd;
    uint8_t buf[600];
    ssize_t n;
} sock_wait_t;

static bool sock_readable(void *arg)
{
    sock_wait_t *w = arg;
    w->n = recv(w->fd, w->buf, sizeof w->buf, 0);
    return w->n > 0;
}

/* The STUN server is asked (a Binding request reaches it); freeing the agent
 * while the request waits for an answer is clean. */
static void test_stun_server(void **state)
{
    (void)state;
    static gw_t g;
    uint16_t port;
    sock_wait_t w = {.fd = udp_socket(&port)};
    char server[32];
    snprintf(server, sizeof server, "127.0.0.1:%u", port);
    cs_ice_config_t cfg = loopback_cfg();
    cfg.stun_server = server;
    gw_init(&g, &cfg);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_true(run_until(sock_readable, &w, WAIT_MS));
    assert_true(w.n >= 20);
    assert_int_equal(cs_rd16(w.buf), 0x0001);        /* Binding request */
    assert_int_equal(cs_rd16(w.buf + 2), w.n - 20);  /* (RFC 3489 form: libnice's choice) */
    assert_int_equal(g.gathering_done, 0);            /* waiting for the answer */
    gw_free(&g);
    run_for(200);
    assert_int_equal(g.late_calls, 0);

    close(w.fd);
}

static bool gw_state_is(void *arg)
{
    link_t *l = arg;
    pump(l);
    return gw_last_state(l->g) == CS_ICE_STATE_CONNECTED && nice_browser_connected(&l->b->nb);
}

static void test_restart(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    connect_pair(&l);
    exchange_data(&l);

    char u1[CS_ICE_UFRAG_MAX], p1[CS_ICE_PWD_MAX], u2[CS_ICE_UFRAG_MAX], p2[CS_ICE_PWD_MAX];
    assert_int_equal(cs_ice_agent_local_credentials(g.a, u1, p1), CS_OK);
    assert_int_equal(cs_ice_agent_restart(g.a), CS_OK);
    assert_int_equal(cs_ice_agent_local_credentials(g.a, u2, p2), CS_OK);
    assert_string_not_equal(u1, u2);
    assert_string_not_equal(p1, p2);
    assert_int_equal(gw_last_state(&g), CS_ICE_STATE_CHECKING);
    assert_true(nice_agent_restart_stream(b.nb.nice, b.nb.stream));

    /* Until a new pair is chosen, media keeps to the old one, both ways. */
    exchange_data(&l);
    assert_int_equal(gw_last_state(&g), CS_ICE_STATE_CHECKING);

    /* The new generation: the same candidates told again, then done. */
    size_t n = g.n_cands;
    g.n_sent = g.n_cands;
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(g.n_cands, n + 1);
    assert_int_equal(g.gathering_done, 2);
    assert_int_equal(cs_ice_agent_gather(g.a), CS_ESTATE);
    nice_browser_recollect(&b.nb);
    exchange_credentials(&g, &b);
    assert_true(run_until(gw_state_is, &l, WAIT_MS));
    exchange_data(&l);
    assert_no_repeats(&g);
    assert_int_equal(g.n_states, 4); /* checking, connected, checking, connected */
    link_close(&l);
}

static bool gw_failed(void *arg)
{
    return gw_last_state(arg) == CS_ICE_STATE_FAILED;
}

/* RFC 7675: the peer stops consenting (it answers 403 to our next consent
 * check, sent every 4-6 s): the agent fails and sending stops. */
static void test_consent_revoked(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    cs_ice_config_t cfg = loopback_cfg();
    cs_ice_batch_t *batch = cs_ice_batch_new(ctx, NULL);
    assert_non_null(batch);
    for (int batched = 0; batched < 2; batched++) {   /* the batched path stops too */
        cfg.batch = batched ? batch : NULL;
        link_t l;
        link_open(&l, &g, &b, &cfg);
        connect_pair(&l);
        exchange_data(&l);
        assert_true(nice_agent_consent_lost(b.nb.nice, b.nb.stream, 1));
        assert_true(run_until(gw_failed, &g, 8000));
        static const uint8_t rtp[] = {0x80, 0, 0, 1};
        assert_int_equal(cs_ice_agent_send(g.a, rtp, sizeof rtp), CS_ESTATE);
        assert_no_repeats(&g);
        link_close(&l);
    }
    cs_ice_batch_free(batch);
}

/* With a batch: what is sent in one turn of the context leaves together,
 * one sendmmsg for the socket, in order and byte for byte; an agent freed
 * with datagrams queued sends them first (consent: test_consent_revoked). */
static void test_batched_send(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    int err = 1;
    assert_null(cs_ice_batch_new(NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    cs_ice_batch_t *batch = cs_ice_batch_new(ctx, NULL);
    assert_non_null(batch);
    cs_ice_config_t cfg = loopback_cfg();
    cfg.batch = batch;
    link_t l;
    link_open(&l, &g, &b, &cfg);
    connect_pair(&l);
    exchange_data(&l);                 /* DTLS, RTP and a large datagram, both ways */
    cs_ice_batch_stats_t before, after;
    cs_ice_batch_stats(batch, &before);
    uint8_t pkt[20][300];
    for (int i = 0; i < 20; i++) {
        memset(pkt[i], i + 1, sizeof pkt[i]);
        pkt[i][0] = 0x80;
        assert_int_equal(cs_ice_agent_send(g.a, pkt[i], sizeof pkt[i] - (size_t)i), CS_OK);
    }
    size_t b0 = b.n_rx;
    cs_ice_batch_stats(batch, &after);
    assert_int_equal(after.datagrams, before.datagrams); /* queued until the context turns */
    rx_wait_t w = {&l, 0, b0 + 20};
    assert_true(run_until(received, &w, WAIT_MS));
    for (int i = 0; i < 20; i++) {
        assert_int_equal(b.rx[b0 + i].len, sizeof pkt[i] - (size_t)i);
        assert_memory_equal(b.rx[b0 + i].data, pkt[i], sizeof pkt[i] - (size_t)i);
    }
    cs_ice_batch_stats(batch, &after);
    assert_int_equal(after.datagrams - before.datagrams, 20);
    assert_int_equal(after.syscalls - before.syscalls, 1);
    assert_int_equal(after.dropped, 0);

    /* Queued, then the agent freed: they still arrive. */
    w.br_want = b.n_rx + 3;
    for (int i = 0; i < 3; i++)
        assert_int_equal(cs_ice_agent_send(g.a, pkt[i], 100), CS_OK);
    cs_ice_agent_free(g.a);
    g.freed = true;
    assert_true(run_until(received, &w, WAIT_MS));
    link_close(&l);
    cs_ice_batch_free(batch);
}

static bool browser_checking(void *arg)
{
    link_t *l = arg;
    pump(l);
    return l->b->nb.state == NICE_COMPONENT_STATE_CONNECTING || nice_browser_connected(&l->b->nb);
}

/* Freed while checks fly both ways and the browser keeps sending to it. */
static void test_free_mid_check(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    start_until(&l, browser_checking);
    gw_free(&g);
    run_for(300);
    assert_int_equal(g.late_calls, 0);
    link_close(&l);
}

static bool gw_freed(void *arg)
{
    link_t *l = arg;
    pump(l);
    return l->g->freed;
}

/* Freed from inside its own callbacks: on_state, and on_candidate while
 * cs_ice_agent_gather is still on the stack. */
static void test_free_from_callback(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_t l;
    link_open(&l, &g, &b, NULL);
    g.free_in_state = CS_ICE_STATE_CONNECTED;
    start_until(&l, gw_freed);
    static const uint8_t rtp[] = {0x80, 0, 0, 1};
    for (int i = 0; i < 5; i++)
        nice_agent_send(b.nb.nice, b.nb.stream, 1, sizeof rtp, (const gchar *)rtp);
    run_for(300);
    assert_int_equal(g.late_calls, 0);
    link_close(&l);

    cs_ice_config_t cfg = loopback_cfg();
    cfg.addresses[1] = "::1";
    cfg.n_addresses = 2;
    gw_init(&g, &cfg);
    g.free_in_candidate = true;
    assert_int_equal(cs_ice_agent_gather(g.a), CS_OK);
    assert_int_equal(g.n_cands, 1);     /* the second one was not told */
    run_for(50);
    assert_int_equal(g.late_calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_names_and_arguments, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_credentials, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_send_before_connected, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_connect_and_data, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_batched_send, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_candidates_before_credentials, ctx_setup,
                                        ctx_teardown),
        cmocka_unit_test_setup_teardown(test_mdns_browser, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_candidate_forms, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_limit, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_port_range, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_public_address, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_default_addresses, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_stun_server, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_restart, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_consent_revoked, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_free_mid_check, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
