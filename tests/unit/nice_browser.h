/*
 * nice_browser.h — the ICE side of a fake browser for the unit tests that
 * connect a gateway agent on 127.0.0.1 (test_ice.c, test_peer.c): a raw
 * libnice agent in controlling mode (browsers offer, so they control) with
 * trickle, consent freshness and regular nomination, its candidates kept as
 * "a=candidate:..." lines, and the GMainContext each test runs in its own
 * thread with a deadline (a 10 ms tick source keeps every blocking iteration
 * short). What the browser does with the datagrams it receives is the test's
 * (the recv function given to nice_browser_init).
 *
 * A leaf: it knows libnice, GLib and cmocka, nothing of the gateway. Define
 * NICE_BROWSER_LINE_MAX before including it to size the candidate lines.
 */
#ifndef CS_TEST_NICE_BROWSER_H
#define CS_TEST_NICE_BROWSER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <nice/agent.h>

#ifndef NICE_BROWSER_LINE_MAX
#define NICE_BROWSER_LINE_MAX 258       /* "a=" + a candidate line + NUL */
#endif
#define NICE_BROWSER_MAX_CANDS 32

typedef struct {
    GMainContext *ctx;
    NiceAgent *nice;
    guint stream;
    guint state;                        /* of the one component */
    int connects;                       /* times it became connected */
    char cands[NICE_BROWSER_MAX_CANDS][NICE_BROWSER_LINE_MAX]; /* "a=candidate:..." */
    size_t n_cands, n_sent;             /* n_sent: handed to the gateway */
    bool gathered;
} nice_browser_t;

/* ---- the context ---------------------------------------------------------------------- */

static inline gboolean nice_browser_on_tick(gpointer unused)
{
    (void)unused;
    return G_SOURCE_CONTINUE;
}

/* A new context with a 10 ms tick attached (*tick: for nice_browser_context_free). */
static inline GMainContext *nice_browser_context_new(GSource **tick)
{
    GMainContext *ctx = g_main_context_new();
    *tick = g_timeout_source_new(10);
    g_source_set_callback(*tick, nice_browser_on_tick, NULL, NULL);
    g_source_attach(*tick, ctx);
    return ctx;
}

/* Runs what is still pending (a bounded number of iterations), then frees. */
static inline void nice_browser_context_free(GMainContext *ctx, GSource *tick)
{
    for (int i = 0; i < 1000 && g_main_context_iteration(ctx, FALSE); i++) {
    }
    g_source_destroy(tick);
    g_source_unref(tick);
    g_main_context_unref(ctx);
}

/* Runs ctx until cond holds or ms have passed; whether it held. step (may be
 * NULL) runs before every look at cond: what the test does between
 * iterations. */
static inline bool nice_browser_run_until(GMainContext *ctx, void (*step)(void),
                                          bool (*cond)(void *arg), void *arg, int ms)
{
    gint64 end = g_get_monotonic_time() / 1000 + ms;
    for (;;) {
        if (step)
            step();
        if (cond(arg))
            return true;
        if (g_get_monotonic_time() / 1000 > end)
            return false;
        g_main_context_iteration(ctx, TRUE);
    }
}

static inline bool nice_browser_never(void *arg)
{
    (void)arg;
    return false;
}

/* Runs ctx for ms, to see that nothing (more) happens. */
static inline void nice_browser_run_for(GMainContext *ctx, void (*step)(void), int ms)
{
    nice_browser_run_until(ctx, step, nice_browser_never, NULL, ms);
}

/* ---- the agent ------------------------------------------------------------------------ */

static inline bool nice_browser_state_connected(guint state)
{
    return state == NICE_COMPONENT_STATE_CONNECTED || state == NICE_COMPONENT_STATE_READY;
}

static inline bool nice_browser_connected(const nice_browser_t *b)
{
    return nice_browser_state_connected(b->state);
}

static inline void nice_browser_on_candidate(NiceAgent *nice, NiceCandidate *c, gpointer user)
{
    nice_browser_t *b = user;
    gchar *sdp = nice_agent_generate_local_candidate_sdp(nice, c);
    if (b->n_cands < NICE_BROWSER_MAX_CANDS)
        g_strlcpy(b->cands[b->n_cands++], sdp, sizeof b->cands[0]);
    g_free(sdp);
}

static inline void nice_browser_on_gathered(NiceAgent *nice, guint stream, gpointer user)
{
    (void)nice, (void)stream;
    nice_browser_t *b = user;
    b->gathered = true;
}

static inline void nice_browser_on_state(NiceAgent *nice, guint stream, guint component,
                                         guint state, gpointer user)
{
    (void)nice, (void)stream, (void)component;
    nice_browser_t *b = user;
    if (nice_browser_state_connected(state) && !nice_browser_connected(b))
        b->connects++;
    b->state = state;
}

/* One stream of one component on 127.0.0.1, gathered (host candidates come
 * at once); what arrives goes to recv with recv_user. */
static inline void nice_browser_init(nice_browser_t *b, GMainContext *ctx, NiceAgentRecvFunc recv,
                                     gpointer recv_user)
{
    memset(b, 0, sizeof *b);
    b->ctx = ctx;
    b->nice = nice_agent_new_full(ctx, NICE_COMPATIBILITY_RFC5245,
                                  NICE_AGENT_OPTION_ICE_TRICKLE |
                                      NICE_AGENT_OPTION_CONSENT_FRESHNESS |
                                      NICE_AGENT_OPTION_REGULAR_NOMINATION);
    assert_non_null(b->nice);
    g_object_set(b->nice, "controlling-mode", TRUE, "ice-tcp", FALSE, "upnp", FALSE, NULL);
    NiceAddress lo;
    nice_address_init(&lo);
    assert_true(nice_address_set_from_string(&lo, "127.0.0.1"));
    assert_true(nice_agent_add_local_address(b->nice, &lo));
    b->stream = nice_agent_add_stream(b->nice, 1);
    assert_true(b->stream > 0);
    g_signal_connect(b->nice, "new-candidate-full", G_CALLBACK(nice_browser_on_candidate), b);
    g_signal_connect(b->nice, "candidate-gathering-done", G_CALLBACK(nice_browser_on_gathered), b);
    g_signal_connect(b->nice, "component-state-changed", G_CALLBACK(nice_browser_on_state), b);
    assert_true(nice_agent_attach_recv(b->nice, b->stream, 1, ctx, recv, recv_user));
    assert_true(nice_agent_gather_candidates(b->nice, b->stream));
    assert_true(b->n_cands > 0);
}

static inline void nice_browser_free(nice_browser_t *b)
{
    g_signal_handlers_disconnect_by_data(b->nice, b);
    nice_agent_attach_recv(b->nice, b->stream, 1, b->ctx, NULL, NULL);
    g_object_unref(b->nice);
    b->nice = NULL;
}

/* After a restart libnice does not gather again: the same candidates, anew. */
static inline void nice_browser_recollect(nice_browser_t *b)
{
    GSList *list = nice_agent_get_local_candidates(b->nice, b->stream, 1);
    b->n_cands = b->n_sent = 0;
    for (GSList *i = list; i; i = i->next)
        nice_browser_on_candidate(b->nice, i->data, b);
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    assert_true(b->n_cands > 0);
}

/* A candidate trickled by the gateway ("candidate:...", without "a="). */
static inline void nice_browser_add_remote(nice_browser_t *b, const char *candidate)
{
    char line[NICE_BROWSER_LINE_MAX];
    snprintf(line, sizeof line, "a=%s", candidate);
    NiceCandidate *c = nice_agent_parse_remote_candidate_sdp(b->nice, b->stream, line);
    assert_non_null(c);
    GSList one = {c, NULL};
    assert_true(nice_agent_set_remote_candidates(b->nice, b->stream, 1, &one) > 0);
    nice_candidate_free(c);
}

static inline void nice_browser_credentials(const nice_browser_t *b, char *ufrag, size_t ucap,
                                            char *pwd, size_t pcap)
{
    gchar *u = NULL, *p = NULL;
    assert_true(nice_agent_get_local_credentials(b->nice, b->stream, &u, &p));
    g_strlcpy(ufrag, u, ucap);
    g_strlcpy(pwd, p, pcap);
    g_free(u);
    g_free(p);
}

/* Sends one datagram, which libnice must take whole. */
static inline void nice_browser_send(nice_browser_t *b, const void *data, size_t len)
{
    assert_int_equal(nice_agent_send(b->nice, b->stream, 1, (guint)len, (const gchar *)data),
                     (int)len);
}

#endif
