/*
 * peer_test_browser.h — the fixture of test_peer.c: the gateway's side (a
 * cs_peer and what its callbacks saw), the fake browser (nice_browser.h's ICE
 * agent, a client cs_dtls session with its own certificate, the cs_srtp
 * sessions keyed from its handshake), the Chromium-like SDP offer and the
 * checks on the answer, the shared GMainContext stepping both sides with a
 * deadline, and the RTP/RTCP packets with the helpers that carry them both
 * ways byte for byte.
 *
 * For one test binary: it holds that binary's state (context, certificates,
 * offer and answer) as static globals. Every function is static inline, so
 * a test that does not use one gets no warning.
 */
#ifndef CS_TESTS_UNIT_PEER_TEST_BROWSER_H
#define CS_TESTS_UNIT_PEER_TEST_BROWSER_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nice/agent.h>

#include "common/common.h"
#include "media/dtls/dtls.h"
#include "media/peer/peer.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"
#include "media/srtp/srtp.h"

#define NICE_BROWSER_LINE_MAX (CS_ICE_CANDIDATE_MAX + 2)
#include "tests/unit/nice_browser.h"

#define WAIT_MS 5000
#define MAX_CANDS 32
#define MAX_STATES 16
#define MAX_PKTS 32
#define MAX_LINKS 2
#define PKT_CAP (1500 + CS_SRTP_MAX_TRAILER)

typedef struct {
    uint8_t data[PKT_CAP];
    size_t len;
} pkt_t;

static GMainContext *ctx;
static GSource *tick;
static cs_dtls_cert_t *gw_cert, *br_cert, *other_cert;
static char gw_fp[CS_DTLS_FINGERPRINT_SIZE], br_fp[CS_DTLS_FINGERPRINT_SIZE],
    other_fp[CS_DTLS_FINGERPRINT_SIZE];
static cs_sdp_t *offer, *answer;        /* 1.1 MiB each: on the heap */
static char *sdp_text;
static const char *offer_setup = "actpass"; /* the browser's a=setup */

/* ---- the gateway's side: a cs_peer and what its callbacks saw ------------------------ */

typedef struct {
    cs_peer_t *p;
    char cands[MAX_CANDS][CS_ICE_CANDIDATE_MAX];
    size_t n_cands, n_sent;             /* n_sent: handed to the browser */
    int end_of_candidates;              /* "" seen */
    bool bad_candidate;
    cs_peer_state_t states[MAX_STATES];
    size_t n_states;
    char reason[160];                   /* of the last state */
    pkt_t rtp[MAX_PKTS], rtcp[MAX_PKTS];
    size_t n_rtp, n_rtcp;
} gw_t;

static inline void gw_candidate(void *user, const char *c)
{
    gw_t *g = user;
    if (!c[0])
        g->end_of_candidates++;
    else if (strncmp(c, "candidate:", 10) != 0 || strlen(c) >= CS_ICE_CANDIDATE_MAX)
        g->bad_candidate = true;
    else if (g->n_cands < MAX_CANDS)
        cs_strlcpy(g->cands[g->n_cands++], c, CS_ICE_CANDIDATE_MAX);
}

static inline void gw_state(void *user, cs_peer_state_t s, const char *reason)
{
    gw_t *g = user;
    assert_non_null(reason);
    if (g->n_states < MAX_STATES)
        g->states[g->n_states++] = s;
    cs_strlcpy(g->reason, reason, sizeof g->reason);
}

static inline void keep(pkt_t *list, size_t *n, const uint8_t *buf, size_t len)
{
    assert_true(len <= sizeof list[0].data);
    if (*n < MAX_PKTS) {
        memcpy(list[*n].data, buf, len);
        list[(*n)++].len = len;
    }
}

static inline void gw_rtp(void *user, uint8_t *buf, size_t len)
{
    gw_t *g = user;
    keep(g->rtp, &g->n_rtp, buf, len);
    buf[0] ^= 0xff;                     /* the buffer is ours to change */
}

static inline void gw_rtcp(void *user, uint8_t *buf, size_t len)
{
    gw_t *g = user;
    keep(g->rtcp, &g->n_rtcp, buf, len);
}

static const cs_peer_callbacks_t gw_cb = {gw_candidate, gw_state, gw_rtp, gw_rtcp};

static inline cs_peer_config_t loopback_cfg(void)
{
    cs_peer_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ice.addresses[0] = "127.0.0.1";
    cfg.ice.n_addresses = 1;
    cfg.cert = gw_cert;
    return cfg;
}

static inline void gw_init(gw_t *g)
{
    memset(g, 0, sizeof *g);
    cs_peer_config_t cfg = loopback_cfg();
    int err = 1;
    g->p = cs_peer_new(ctx, &cfg, &gw_cb, g, &err);
    assert_non_null(g->p);
    assert_int_equal(cs_peer_state(g->p), CS_PEER_NEW);
}

static inline cs_peer_state_t gw_last_state(const gw_t *g)
{
    return g->n_states ? g->states[g->n_states - 1] : CS_PEER_NEW;
}

static inline bool gw_saw(const gw_t *g, cs_peer_state_t s)
{
    for (size_t i = 0; i < g->n_states; i++)
        if (g->states[i] == s)
            return true;
    return false;
}

/* ---- the "browser": nice_browser.h, DTLS client, SRTP --------------------------------- */

typedef struct {
    nice_browser_t nb;                  /* nb.n_sent: candidates handed to the peer */
    bool eoc_sent;
    cs_dtls_session_t *dtls;
    int dtls_connected, dtls_failed;
    char dtls_reason[160];
    uint16_t profile_id;
    cs_srtp_session_t *srtp_in, *srtp_out;
    pkt_t rtp[MAX_PKTS], rtcp[MAX_PKTS];
    size_t n_rtp, n_rtcp, n_bad_srtp;
} browser_t;

static inline void br_recv(NiceAgent *nice, guint stream, guint component, guint len, gchar *buf,
                    gpointer user)
{
    (void)nice, (void)stream, (void)component;
    browser_t *b = user;
    const uint8_t *d = (const uint8_t *)buf;
    if (cs_dtls_is_dtls(d, len)) {
        if (b->dtls)
            assert_true(cs_dtls_session_receive(b->dtls, d, len) <= 0);
        return;
    }
    if (len == 0 || d[0] < 128 || d[0] > 191 || !b->srtp_in || len > PKT_CAP) {
        b->n_bad_srtp++;
        return;
    }
    uint8_t tmp[PKT_CAP];
    size_t out = 0;
    memcpy(tmp, d, len);
    bool rtcp = cs_rtp_is_rtcp(tmp, len);
    int rc = rtcp ? cs_srtp_unprotect_rtcp(b->srtp_in, tmp, len, &out)
                  : cs_srtp_unprotect(b->srtp_in, tmp, len, &out);
    if (rc != CS_OK)
        b->n_bad_srtp++;
    else if (rtcp)
        keep(b->rtcp, &b->n_rtcp, tmp, out);
    else
        keep(b->rtp, &b->n_rtp, tmp, out);
}

static inline void br_dtls_send(void *user, const uint8_t *data, size_t len)
{
    browser_t *b = user;
    nice_agent_send(b->nb.nice, b->nb.stream, 1, (guint)len, (const gchar *)data);
}

static inline void br_dtls_connected(void *user, const cs_dtls_keys_t *keys)
{
    browser_t *b = user;
    cs_srtp_profile_t profile;
    uint8_t local[CS_SRTP_MAX_KEY_SALT_LEN], remote[CS_SRTP_MAX_KEY_SALT_LEN];
    assert_int_equal(cs_srtp_profile_from_id(keys->profile_id, &profile), CS_OK);
    assert_int_equal(cs_srtp_split_keys(profile, keys->material, keys->material_len,
                                        keys->is_client, local, remote),
                     CS_OK);
    size_t kl = cs_srtp_key_len(profile);
    int err;
    b->srtp_out = cs_srtp_session_new(profile, local, local + kl, true, &err);
    b->srtp_in = cs_srtp_session_new(profile, remote, remote + kl, false, &err);
    assert_non_null(b->srtp_out);
    assert_non_null(b->srtp_in);
    b->profile_id = keys->profile_id;
    b->dtls_connected++;
}

static inline void br_dtls_failed(void *user, int code, const char *reason)
{
    (void)code;
    browser_t *b = user;
    b->dtls_failed++;
    cs_strlcpy(b->dtls_reason, reason, sizeof b->dtls_reason);
}

static inline void br_dtls_closed(void *user, const char *reason)
{
    browser_t *b = user;
    b->dtls_failed++;
    cs_strlcpy(b->dtls_reason, reason, sizeof b->dtls_reason);
}

static const cs_dtls_callbacks_t br_dtls_cb = {br_dtls_send, br_dtls_connected, br_dtls_failed,
                                               br_dtls_closed};

static inline void browser_init(browser_t *b)
{
    memset(b, 0, sizeof *b);
    nice_browser_init(&b->nb, ctx, br_recv, b);
}

static inline void browser_free(browser_t *b)
{
    nice_browser_free(&b->nb);
    cs_dtls_session_free(b->dtls);
    cs_srtp_session_free(b->srtp_in);
    cs_srtp_session_free(b->srtp_out);
    b->dtls = NULL;
    b->srtp_in = b->srtp_out = NULL;
}

/* After a restart: the same candidates, anew, and the end marker again. */
static inline void browser_recollect(browser_t *b)
{
    nice_browser_recollect(&b->nb);
    b->eoc_sent = false;
}

/* Protects a copy of plain into out (PKT_CAP bytes); returns the SRTP length. */
static inline size_t browser_protect(browser_t *b, const uint8_t *plain, size_t len, bool rtcp,
                              uint8_t *out)
{
    size_t n = 0;
    assert_non_null(b->srtp_out);
    memcpy(out, plain, len);
    int rc = rtcp ? cs_srtp_protect_rtcp(b->srtp_out, out, len, PKT_CAP, &n)
                  : cs_srtp_protect(b->srtp_out, out, len, PKT_CAP, &n);
    assert_int_equal(rc, CS_OK);
    return n;
}

static inline void browser_send(browser_t *b, const uint8_t *plain, size_t len, bool rtcp)
{
    uint8_t buf[PKT_CAP];
    nice_browser_send(&b->nb, buf, browser_protect(b, plain, len, rtcp, buf));
}

/* ---- SDP ------------------------------------------------------------------------------ */

static inline void fingerprint_text(const cs_sdp_fingerprint_t *fp, char out[CS_DTLS_FINGERPRINT_SIZE])
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    assert_int_equal(fp->len, 32);
    for (unsigned i = 0; i < 32; i++) {
        if (i)
            out[o++] = ':';
        out[o++] = hex[fp->value[i] >> 4];
        out[o++] = hex[fp->value[i] & 15];
    }
    out[o] = '\0';
}

/* A Chromium-like offer, BUNDLEd and rtcp-muxed: audio (Opus) with mid "0",
 * video (VP8) with mid "1". fp_line is what follows "a=fingerprint:" (NULL:
 * no fingerprint); ufrag NULL: no ICE credentials. */
static inline void parse_offer(cs_sdp_t *out, const char *ufrag, const char *pwd, const char *fp_line)
{
    char cred[256] = "", fp[160] = "";
    if (ufrag)
        snprintf(cred, sizeof cred, "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", ufrag, pwd);
    if (fp_line)
        snprintf(fp, sizeof fp, "a=fingerprint:%s\r\n", fp_line);
    int n = snprintf(sdp_text, CS_SDP_MAX_SIZE,
                     "v=0\r\n"
                     "o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n"
                     "s=-\r\n"
                     "t=0 0\r\n"
                     "a=group:BUNDLE 0 1\r\n"
                     "a=extmap-allow-mixed\r\n"
                     "a=msid-semantic: WMS stream\r\n"
                     "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                     "%s"
                     "a=ice-options:trickle\r\n"
                     "%s"
                     "a=setup:%s\r\n"
                     "a=mid:0\r\n"
                     "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                     "a=sendrecv\r\n"
                     "a=msid:stream audio0\r\n"
                     "a=rtcp-mux\r\n"
                     "a=rtpmap:111 opus/48000/2\r\n"
                     "a=rtcp-fb:111 transport-cc\r\n"
                     "a=fmtp:111 minptime=10;useinbandfec=1\r\n"
                     "a=ssrc:1111 cname:browser\r\n"
                     "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                     "c=IN IP4 0.0.0.0\r\n"
                     "a=rtcp:9 IN IP4 0.0.0.0\r\n"
                     "%s"
                     "a=ice-options:trickle\r\n"
                     "%s"
                     "a=setup:%s\r\n"
                     "a=mid:1\r\n"
                     "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                     "a=sendrecv\r\n"
                     "a=msid:stream video0\r\n"
                     "a=rtcp-mux\r\n"
                     "a=rtcp-rsize\r\n"
                     "a=rtpmap:96 VP8/90000\r\n"
                     "a=rtcp-fb:96 nack\r\n"
                     "a=rtcp-fb:96 nack pli\r\n"
                     "a=rtpmap:97 rtx/90000\r\n"
                     "a=fmtp:97 apt=96\r\n"
                     "a=ssrc-group:FID 2222 2223\r\n"
                     "a=ssrc:2222 cname:browser\r\n"
                     "a=ssrc:2223 cname:browser\r\n",
                     cred, fp, offer_setup, cred, fp, offer_setup);
    assert_true(n > 0 && n < CS_SDP_MAX_SIZE);
    cs_sdp_error_t err;
    if (cs_sdp_parse(sdp_text, (size_t)n, out, &err) != CS_OK)
        fail_msg("offer does not parse: %s", err.message);
}

/* The browser's current credentials and the given certificate fingerprint. */
static inline void browser_offer(const browser_t *b, cs_sdp_t *out, const char *fp)
{
    char u[CS_SDP_UFRAG_MAX], p[CS_SDP_PWD_MAX], line[128];
    nice_browser_credentials(&b->nb, u, sizeof u, p, sizeof p);
    snprintf(line, sizeof line, "sha-256 %s", fp);
    parse_offer(out, u, p, line);
}

/* The transport half of the answer: the gateway's fingerprint, passive
 * (active to a passive offer), credentials, the codecs, nothing trickled into
 * it; also as text. */
static inline void check_answer(const cs_sdp_t *a)
{
    bool active = strcmp(offer_setup, "passive") == 0;
    uint8_t want[32];
    assert_int_equal(cs_dtls_fingerprint_parse(gw_fp, want), CS_OK);
    assert_true(a->has_bundle);
    assert_int_equal(a->n_media, 2);
    static const char *const mids[] = {"0", "1"}, *const codecs[] = {"opus", "VP8"};
    for (unsigned i = 0; i < 2; i++) {
        const cs_sdp_media_t *m = &a->media[i];
        assert_string_equal(m->mid, mids[i]);
        assert_true(m->port != 0);
        assert_true(m->rtcp_mux);
        assert_true(cs_sdp_in_bundle(a, m->mid));
        assert_int_equal(m->transport.setup, active ? CS_SDP_SETUP_ACTIVE : CS_SDP_SETUP_PASSIVE);
        assert_int_equal(m->transport.fingerprint.hash, CS_SDP_HASH_SHA256);
        assert_int_equal(m->transport.fingerprint.len, 32);
        assert_memory_equal(m->transport.fingerprint.value, want, 32);
        assert_true(strlen(m->transport.ice_ufrag) >= 4);
        assert_true(strlen(m->transport.ice_pwd) >= 22);
        assert_string_equal(m->transport.ice_ufrag, a->media[0].transport.ice_ufrag);
        assert_int_equal(m->n_candidates, 0);
        assert_true(m->n_codecs >= 1);
        assert_string_equal(m->codecs[0].name, codecs[i]);
    }
    assert_int_equal(a->media[0].kind, CS_SDP_KIND_AUDIO);
    assert_int_equal(a->media[1].kind, CS_SDP_KIND_VIDEO);
    size_t len;
    cs_sdp_error_t err;
    assert_int_equal(cs_sdp_write(a, sdp_text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
    assert_non_null(strstr(sdp_text, active ? "a=setup:active\r\n" : "a=setup:passive\r\n"));
    char line[128];
    snprintf(line, sizeof line, "a=fingerprint:sha-256 %s\r\n", gw_fp);
    assert_non_null(strstr(sdp_text, line));
    assert_null(strstr(sdp_text, "a=candidate"));
}

/* The browser takes the answer: the gateway's ICE credentials and, the first
 * time, a DTLS session expecting the fingerprint in the answer (the client
 * unless the answer says active). */
static inline void browser_apply_answer(browser_t *b, const cs_sdp_t *a)
{
    const cs_sdp_transport_t *t = &a->media[0].transport;
    assert_true(
        nice_agent_set_remote_credentials(b->nb.nice, b->nb.stream, t->ice_ufrag, t->ice_pwd));
    if (b->dtls)
        return;
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    fingerprint_text(&t->fingerprint, fp);
    int err = 1;
    cs_dtls_role_t role =
        t->setup == CS_SDP_SETUP_ACTIVE ? CS_DTLS_ROLE_SERVER : CS_DTLS_ROLE_CLIENT;
    b->dtls = cs_dtls_session_new(br_cert, role, fp, &br_dtls_cb, b, &err);
    assert_non_null(b->dtls);
    assert_int_equal(err, CS_OK);
}

/* ---- the context and the two together ------------------------------------------------ */

typedef struct {
    gw_t *g;
    browser_t *b;
} link_t;

static link_t links[MAX_LINKS];
static size_t n_links;

static inline int ctx_setup(void **state)
{
    (void)state;
    ctx = nice_browser_context_new(&tick);
    n_links = 0;
    return 0;
}

static inline int ctx_teardown(void **state)
{
    (void)state;
    nice_browser_context_free(ctx, tick);
    return 0;
}

static inline void link_add(gw_t *g, browser_t *b)
{
    assert_true(n_links < MAX_LINKS);
    links[n_links++] = (link_t){g, b};
}

/* What a signalling channel and the two event loops would do between
 * iterations: carry trickled candidates, start the browser's DTLS once its
 * ICE works, run the DTLS timers. */
static inline void step_link(link_t *l)
{
    gw_t *g = l->g;
    browser_t *b = l->b;
    while (b->dtls && g->n_sent < g->n_cands)    /* answer applied: credentials set */
        nice_browser_add_remote(&b->nb, g->cands[g->n_sent++]);
    while (b->nb.n_sent < b->nb.n_cands)
        assert_int_equal(cs_peer_add_remote_candidate(g->p, b->nb.cands[b->nb.n_sent++]),
                         CS_OK);
    if (b->nb.gathered && !b->eoc_sent) {
        assert_int_equal(cs_peer_add_remote_candidate(g->p, ""), CS_OK);
        b->eoc_sent = true;
    }
    if (b->dtls && nice_browser_state_connected(b->nb.state) &&
        cs_dtls_session_state(b->dtls) == CS_DTLS_STATE_NEW)
        assert_int_equal(cs_dtls_session_start(b->dtls), CS_OK);
    if (b->dtls && cs_dtls_session_timeout_ms(b->dtls) == 0)
        assert_true(cs_dtls_session_on_timer(b->dtls) <= 0);
    cs_peer_tick(g->p, cs_mono_us());
}

static inline void step_links(void)
{
    for (size_t i = 0; i < n_links; i++)
        step_link(&links[i]);
}

typedef bool (*cond_fn)(void *arg);

/* Runs everything until cond holds or ms have passed; whether it held. */
static inline bool run_until(cond_fn cond, void *arg, int ms)
{
    return nice_browser_run_until(ctx, step_links, cond, arg, ms);
}

static inline void run_for(int ms)
{
    nice_browser_run_for(ctx, step_links, ms);
}

static inline bool connected(void *arg)
{
    link_t *l = arg;
    return cs_peer_state(l->g->p) == CS_PEER_CONNECTED && l->b->dtls_connected > 0;
}

/* A new peer and browser, stepped by run_until from now on. */
static inline void link_open(gw_t *g, browser_t *b)
{
    gw_init(g);
    browser_init(b);
    link_add(g, b);
}

/* The browser offers with the certificate fingerprint fp; the peer answers
 * (into answer), and the answer is checked. */
static inline void offer_answered(gw_t *g, const browser_t *b, const char *fp)
{
    browser_offer(b, offer, fp);
    cs_sdp_error_t err;
    if (cs_peer_answer(g->p, offer, answer, &err) != CS_OK)
        fail_msg("answer refused: %s", err.message);
    check_answer(answer);
}

/* Offer, answer, trickle, handshake: both sides CONNECTED. */
static inline void connect_link(gw_t *g, browser_t *b)
{
    link_open(g, b);
    offer_answered(g, b, br_fp);
    assert_int_equal(cs_peer_state(g->p), CS_PEER_CONNECTING);
    browser_apply_answer(b, answer);
    link_t l = {g, b};
    assert_true(run_until(connected, &l, WAIT_MS));
}

typedef struct {
    const size_t *counter;
    size_t want;
} count_wait_t;

static inline bool count_reached(void *arg)
{
    count_wait_t *w = arg;
    return *w->counter >= w->want;
}

static inline void wait_count(const size_t *counter, size_t want)
{
    count_wait_t w = {counter, want};
    assert_true(run_until(count_reached, &w, WAIT_MS));
}

typedef struct {
    cs_peer_t *p;
    uint64_t want;
} rx_wait_t;

static inline bool rx_reached(void *arg)
{
    rx_wait_t *w = arg;
    cs_peer_stats_t s;
    cs_peer_stats(w->p, &s);
    return s.rx_datagrams >= w->want;
}

/* Waits until the peer has taken n more datagrams than before (STUN is not
 * counted: only what reaches the demultiplexer). */
static inline void wait_rx(cs_peer_t *p, uint64_t before, uint64_t n)
{
    rx_wait_t w = {p, before + n};
    assert_true(run_until(rx_reached, &w, WAIT_MS));
}

static inline uint64_t rx_count(const cs_peer_t *p)
{
    cs_peer_stats_t s;
    cs_peer_stats(p, &s);
    return s.rx_datagrams;
}

/* ---- packets -------------------------------------------------------------------------- */

static inline size_t make_rtp(uint8_t *buf, uint8_t pt, uint16_t seq, uint32_t ssrc, size_t payload)
{
    uint32_t ts = 960u * seq;
    uint8_t hdr[12] = {0x80, pt, (uint8_t)(seq >> 8), (uint8_t)seq,
                       (uint8_t)(ts >> 24), (uint8_t)(ts >> 16), (uint8_t)(ts >> 8), (uint8_t)ts,
                       (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
                       (uint8_t)ssrc};
    memcpy(buf, hdr, sizeof hdr);
    for (size_t i = 0; i < payload; i++)
        buf[12 + i] = (uint8_t)(seq + i * 13 + 1);
    return 12 + payload;
}

/* A receiver report with one block: 32 bytes. */
static const uint8_t rtcp_rr[] = {
    0x81, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x04, 0x57, 0x00, 0x00, 0x08, 0xae, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x10, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x01, 0x00,
};

/* SR without report blocks + SDES CNAME: 48 bytes. */
static const uint8_t rtcp_sr_sdes[] = {
    0x80, 0xc8, 0x00, 0x06, 0x3a, 0x2c, 0x1f, 0x5e, 0xe9, 0x5a, 0x3b, 0x10, 0x80, 0x00,
    0x00, 0x00, 0x00, 0x2e, 0x36, 0x40, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x01, 0x38, 0x80,
    0x81, 0xca, 0x00, 0x04, 0x3a, 0x2c, 0x1f, 0x5e, 0x01, 0x08, 'c',  'o',  'n',  's',
    'i',  'l',  'i',  'u',  0x00, 0x00,
};

/* The browser sends RTP and RTCP; the peer hands out the same plaintext. */
static inline void browser_to_peer(gw_t *g, browser_t *b, uint16_t seq)
{
    uint8_t rtp[PKT_CAP];
    size_t len = make_rtp(rtp, 111, seq, 1111, 80);
    size_t r0 = g->n_rtp, c0 = g->n_rtcp;
    browser_send(b, rtp, len, false);
    browser_send(b, rtcp_rr, sizeof rtcp_rr, true);
    wait_count(&g->n_rtp, r0 + 1);
    wait_count(&g->n_rtcp, c0 + 1);
    assert_int_equal(g->rtp[r0].len, len);
    assert_memory_equal(g->rtp[r0].data, rtp, len);
    assert_int_equal(g->rtcp[c0].len, sizeof rtcp_rr);
    assert_memory_equal(g->rtcp[c0].data, rtcp_rr, sizeof rtcp_rr);
}

/* The peer sends RTP and RTCP; the browser unprotects the same plaintext. */
static inline void peer_to_browser(gw_t *g, browser_t *b, uint16_t seq)
{
    uint8_t rtp[PKT_CAP], buf[PKT_CAP];
    size_t len = make_rtp(rtp, 96, seq, 0xcafe, 1000);
    size_t r0 = b->n_rtp, c0 = b->n_rtcp;
    memcpy(buf, rtp, len);
    assert_true(cs_peer_send_rtp(g->p, buf, len, sizeof buf) > (int)len); /* the protected length */
    memcpy(buf, rtcp_sr_sdes, sizeof rtcp_sr_sdes);
    assert_true(cs_peer_send_rtcp(g->p, buf, sizeof rtcp_sr_sdes, sizeof buf) > (int)sizeof rtcp_sr_sdes); /* the protected length */
    wait_count(&b->n_rtp, r0 + 1);
    wait_count(&b->n_rtcp, c0 + 1);
    assert_int_equal(b->rtp[r0].len, len);
    assert_memory_equal(b->rtp[r0].data, rtp, len);
    assert_int_equal(b->rtcp[c0].len, sizeof rtcp_sr_sdes);
    assert_memory_equal(b->rtcp[c0].data, rtcp_sr_sdes, sizeof rtcp_sr_sdes);
    assert_int_equal(b->n_bad_srtp, 0);
}

static inline void link_free(gw_t *g, browser_t *b)
{
    cs_peer_free(g->p);
    g->p = NULL;
    browser_free(b);
}

/* The binary's certificates and SDP buffers, made once for all its tests. */
static inline int browser_group_setup(void **state)
{
    (void)state;
    int err;
    gw_cert = cs_dtls_cert_generate(&err);
    br_cert = cs_dtls_cert_generate(&err);
    other_cert = cs_dtls_cert_generate(&err);
    offer = malloc(sizeof *offer);
    answer = malloc(sizeof *answer);
    sdp_text = malloc(CS_SDP_MAX_SIZE);
    if (!gw_cert || !br_cert || !other_cert || !offer || !answer || !sdp_text)
        return -1;
    cs_dtls_cert_fingerprint(gw_cert, gw_fp);
    cs_dtls_cert_fingerprint(br_cert, br_fp);
    cs_dtls_cert_fingerprint(other_cert, other_fp);
    return 0;
}

static inline int browser_group_teardown(void **state)
{
    (void)state;
    cs_dtls_cert_free(gw_cert);
    cs_dtls_cert_free(br_cert);
    cs_dtls_cert_free(other_cert);
    free(offer);
    free(answer);
    free(sdp_text);
    return 0;
}

#endif /* CS_TESTS_UNIT_PEER_TEST_BROWSER_H */
