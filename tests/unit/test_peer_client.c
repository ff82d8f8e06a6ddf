/*
 * test_peer_client.c — media/peer's client side (what the load tool's
 * synthetic browsers use) end to end on 127.0.0.1, in one process: a
 * client-mode cs_peer offers (cs_peer_local_transport, ICE controlling),
 * the gateway-mode cs_peer answers (cs_peer_answer), the client applies the
 * answer (cs_peer_set_remote) and both connect and carry SRTP and SRTCP
 * both ways byte for byte (and raw bytes, which the other side drops). With a client-mode answerer as well, the
 * offerer becomes the DTLS server; an SRTP profile list narrows what DTLS
 * negotiates. Refused remote descriptions change nothing.
 *
 * Both peers share the test's GMainContext, stepped with a deadline; the
 * test carries the trickled candidates between them as signalling would.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/dtls/dtls.h"
#include "media/ice/internal.h"
#include "media/peer/peer.h"
#include "media/sdp/sdp.h"

#include "tests/unit/peer_test_browser.h"

/* The two sides: each a cs_peer with what its callbacks saw (gw_t). */
typedef struct {
    gw_t *a, *b;        /* a offers; b answers */
    bool b_ready;       /* b has the remote credentials: it may take candidates */
    bool a_ready;
    bool a_eoc, b_eoc;  /* end-of-candidates carried */
} pair_t;

static pair_t pair;

static void client_init(gw_t *g, const cs_dtls_cert_t *cert, bool controlling,
                        const char *profiles)
{
    memset(g, 0, sizeof *g);
    cs_peer_config_t cfg = loopback_cfg();
    cfg.cert = cert;
    cfg.ice.controlling = controlling;
    cfg.srtp_profiles = profiles;
    int err = 1;
    g->p = cs_peer_new(ctx, &cfg, &gw_cb, g, &err);
    assert_non_null(g->p);
}

static void carry(gw_t *from, gw_t *to, bool *eoc)
{
    while (from->n_sent < from->n_cands)
        assert_int_equal(cs_peer_add_remote_candidate(to->p, from->cands[from->n_sent++]), CS_OK);
    if (from->end_of_candidates && !*eoc) {
        assert_int_equal(cs_peer_add_remote_candidate(to->p, ""), CS_OK);
        *eoc = true;
    }
}

static void step_pair(void)
{
    if (pair.b_ready)
        carry(pair.a, pair.b, &pair.a_eoc);
    if (pair.a_ready)
        carry(pair.b, pair.a, &pair.b_eoc);
    cs_peer_tick(pair.a->p, cs_mono_us());
    cs_peer_tick(pair.b->p, cs_mono_us());
}

static bool both_connected(void *arg)
{
    (void)arg;
    return cs_peer_state(pair.a->p) == CS_PEER_CONNECTED &&
           cs_peer_state(pair.b->p) == CS_PEER_CONNECTED;
}

static bool reached(void *arg)
{
    count_wait_t *w = arg;
    return *w->counter >= w->want;
}

static void wait_n(const size_t *counter, size_t want)
{
    count_wait_t w = {counter, want};
    assert_true(nice_browser_run_until(ctx, step_pair, reached, &w, WAIT_MS));
}

/* RTP and RTCP from one side arrive as the same plaintext on the other. */
static void media_one_way(gw_t *from, gw_t *to, uint16_t seq)
{
    uint8_t plain[PKT_CAP], buf[PKT_CAP];
    size_t len = make_rtp(plain, 96, seq, 0x5eed, 900);
    size_t r0 = to->n_rtp, c0 = to->n_rtcp;
    memcpy(buf, plain, len);
    assert_true(cs_peer_send_rtp(from->p, buf, len, sizeof buf) > (int)len); /* the protected length */
    memcpy(buf, rtcp_rr, sizeof rtcp_rr);
    assert_true(cs_peer_send_rtcp(from->p, buf, sizeof rtcp_rr, sizeof buf) > (int)sizeof rtcp_rr); /* the protected length */
    wait_n(&to->n_rtp, r0 + 1);
    wait_n(&to->n_rtcp, c0 + 1);
    assert_int_equal(to->rtp[r0].len, len);
    assert_memory_equal(to->rtp[r0].data, plain, len);
    assert_int_equal(to->rtcp[c0].len, sizeof rtcp_rr);
    assert_memory_equal(to->rtcp[c0].data, rtcp_rr, sizeof rtcp_rr);
}

static cs_peer_remote_t remote_of(const cs_sdp_t *sdp, bool we_offered)
{
    const cs_sdp_transport_t *t = &sdp->media[0].transport;
    cs_peer_remote_t r = {t->ice_ufrag, t->ice_pwd, t->fingerprint, t->setup, we_offered};
    return r;
}

/* The client's offer as text (the Chromium-like one of peer_test_browser.h)
 * with its own credentials and fingerprint. */
static void client_offer(gw_t *c, cs_sdp_t *out)
{
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(c->p, &l), CS_OK);
    assert_int_equal(l.setup, CS_SDP_SETUP_ACTPASS);
    assert_true(strlen(l.ice_ufrag) >= 4 && strlen(l.ice_pwd) >= 22);
    char fp[128];
    snprintf(fp, sizeof fp, "sha-256 %s", l.fingerprint);
    offer_setup = "actpass";
    parse_offer(out, l.ice_ufrag, l.ice_pwd, fp);
}

static uint64_t dropped_by(const gw_t *g)
{
    cs_peer_stats_t st;
    cs_peer_stats(g->p, &st);
    return st.dropped_srtp + st.dropped_other;
}

static bool b_dropped(void *arg)
{
    return dropped_by(pair.b) >= *(const uint64_t *)arg;
}

static void stats_profile(const gw_t *g, char out[32])
{
    cs_peer_stats_t st;
    cs_peer_stats(g->p, &st);
    cs_strlcpy(out, st.srtp_profile, 32);
}

/* ---- tests ---------------------------------------------------------------------------------- */

/* Client offers, the gateway answers passive: the client is the DTLS client. */
static void test_client_offers_gateway_answers(void **state)
{
    (void)state;
    static gw_t c, g;
    client_init(&c, br_cert, true, NULL);
    gw_init(&g);
    pair = (pair_t){.a = &c, .b = &g};
    /* Before anything is described the client takes no candidate. */
    assert_int_equal(cs_peer_add_remote_candidate(c.p, ""), CS_ESTATE);
    client_offer(&c, offer);
    /* Gathering starts at the next tick, after the offer was handed out. */
    assert_int_equal(c.n_cands, 0);
    static const uint8_t junk[40] = {0x80, 0x60, 0x12, 0x34};  /* RTP-like, no valid tag */
    assert_int_equal(cs_peer_send_raw(c.p, junk, sizeof junk), CS_ESTATE);
    struct sockaddr_storage to;
    socklen_t to_len = 0;
    assert_int_equal(cs_peer_remote_address(c.p, &to, &to_len), CS_ESTATE);

    cs_sdp_error_t err;
    if (cs_peer_answer(g.p, offer, answer, &err) != CS_OK)
        fail_msg("answer refused: %s", err.message);
    pair.b_ready = true;
    assert_int_equal(answer->media[0].transport.setup, CS_SDP_SETUP_PASSIVE);
    cs_peer_remote_t r = remote_of(answer, true);
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_OK);
    pair.a_ready = true;
    assert_int_equal(cs_peer_state(c.p), CS_PEER_CONNECTING);
    /* A re-offer from the client is actpass again. */
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(c.p, &l), CS_OK);
    assert_int_equal(l.setup, CS_SDP_SETUP_ACTPASS);

    assert_true(nice_browser_run_until(ctx, step_pair, both_connected, NULL, WAIT_MS));
    assert_true(c.n_cands >= 1 && g.n_cands >= 1);
    assert_non_null(strstr(c.cands[0], " 127.0.0.1 "));
    char pc[32], pg[32];
    stats_profile(&c, pc);
    stats_profile(&g, pg);
    assert_string_equal(pc, "SRTP_AEAD_AES_128_GCM");
    assert_string_equal(pc, pg);
    assert_string_equal(c.reason, pc);

    media_one_way(&c, &g, 1);
    media_one_way(&g, &c, 1);
    media_one_way(&c, &g, 2);
    media_one_way(&g, &c, 2);

    /* The same answer again (a renegotiation): nothing changes. */
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_OK);
    media_one_way(&c, &g, 3);
    /* The media goes to the gateway's side of the pair. */
    assert_int_equal(cs_peer_remote_address(c.p, &to, &to_len), CS_OK);
    assert_int_equal(to.ss_family, AF_INET);
    assert_int_equal(to_len, sizeof(struct sockaddr_in));
    const struct sockaddr_in *in = (const struct sockaddr_in *)&to;
    assert_int_equal(ntohl(in->sin_addr.s_addr), INADDR_LOOPBACK);
    char where[48];
    snprintf(where, sizeof where, " 127.0.0.1 %u typ ", ntohs(in->sin_port));
    bool theirs = false;
    for (size_t i = 0; i < g.n_cands; i++)
        theirs |= strstr(g.cands[i], where) != NULL;
    assert_true(theirs);                /* one of the gateway's candidates */
    /* Raw bytes leave as they are: the other side drops them (they do not
     * authenticate) and the media goes on. */
    uint64_t want = dropped_by(&g) + 1;
    assert_int_equal(cs_peer_send_raw(c.p, junk, sizeof junk), (int)sizeof junk);
    assert_true(nice_browser_run_until(ctx, step_pair, b_dropped, &want, WAIT_MS));
    media_one_way(&c, &g, 4);
    assert_int_equal(c.n_states, 2);    /* connecting, connected */
    cs_peer_free(c.p);
    cs_peer_free(g.p);
}

/* Both sides client-mode: the answerer answers actpass with active (it is
 * the DTLS client), so the offerer is the DTLS server. The answerer accepts
 * only AES-CM, so that is the profile both end up with. */
static void test_offerer_is_dtls_server(void **state)
{
    (void)state;
    static gw_t c, s;
    client_init(&c, br_cert, true, NULL);
    client_init(&s, gw_cert, false, "SRTP_AES128_CM_SHA1_80");
    pair = (pair_t){.a = &c, .b = &s};
    client_offer(&c, offer);

    cs_peer_remote_t r = remote_of(offer, false);
    assert_int_equal(cs_peer_set_remote(s.p, &r), CS_OK);
    pair.b_ready = true;
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(s.p, &l), CS_OK);
    assert_int_equal(l.setup, CS_SDP_SETUP_ACTIVE);
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    cs_dtls_cert_fingerprint(gw_cert, fp);
    assert_string_equal(l.fingerprint, fp);

    /* The answer, as the offerer parses it: the answerer's credentials. */
    char line[128];
    snprintf(line, sizeof line, "sha-256 %s", l.fingerprint);
    offer_setup = "active";
    parse_offer(answer, l.ice_ufrag, l.ice_pwd, line);
    offer_setup = "actpass";
    r = remote_of(answer, true);
    assert_int_equal(r.setup, CS_SDP_SETUP_ACTIVE);
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_OK);
    pair.a_ready = true;

    assert_true(nice_browser_run_until(ctx, step_pair, both_connected, NULL, WAIT_MS));
    char pc[32], ps[32];
    stats_profile(&c, pc);
    stats_profile(&s, ps);
    assert_string_equal(pc, "SRTP_AES128_CM_SHA1_80");
    assert_string_equal(ps, pc);
    media_one_way(&c, &s, 7);
    media_one_way(&s, &c, 7);
    cs_peer_free(c.p);
    cs_peer_free(s.p);
}

/* Refused remote descriptions change nothing; candidates in an SDP count. */
static void test_set_remote_errors(void **state)
{
    (void)state;
    static gw_t c;
    client_init(&c, br_cert, true, NULL);
    client_offer(&c, offer);
    cs_peer_remote_t r = remote_of(offer, true);    /* its own, as if answered */
    assert_int_equal(cs_peer_set_remote(NULL, &r), CS_EINVAL);
    assert_int_equal(cs_peer_set_remote(c.p, NULL), CS_EINVAL);
    r.setup = CS_SDP_SETUP_ACTPASS;                 /* an answer must choose */
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_EINVAL);
    r.setup = CS_SDP_SETUP_NONE;
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_EINVAL);
    r.setup = CS_SDP_SETUP_PASSIVE;
    r.fingerprint.hash = CS_SDP_HASH_SHA1;
    r.fingerprint.len = 20;
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_EUNSUPPORTED);
    r = remote_of(offer, true);
    r.setup = CS_SDP_SETUP_PASSIVE;
    r.ice_ufrag = "bad ufrag";
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_EINVAL);
    assert_int_equal(cs_peer_state(c.p), CS_PEER_NEW);
    assert_int_equal(c.n_states, 0);

    r = remote_of(offer, true);
    r.setup = CS_SDP_SETUP_PASSIVE;
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_OK);
    assert_int_equal(cs_peer_state(c.p), CS_PEER_CONNECTING);
    cs_peer_remote_t other = r;
    other.ice_pwd = "anotherpasswordof22chars";
    assert_int_equal(cs_peer_set_remote(c.p, &other), CS_ESTATE);
    other = r;
    assert_int_equal(cs_dtls_fingerprint_parse(other_fp, other.fingerprint.value), CS_OK);
    assert_int_equal(cs_peer_set_remote(c.p, &other), CS_EUNSUPPORTED);
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_OK);

    /* Two candidates in the SDP: the UDP one is taken, the TCP one not. */
    static const char text[] =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\n"
        "a=candidate:1 1 udp 2015363327 127.0.0.1 40000 typ host\r\n"
        "a=candidate:2 1 tcp 1015021823 127.0.0.1 9 typ host tcptype active\r\n"
        "a=mid:0\r\na=rtpmap:111 opus/48000/2\r\n";
    cs_sdp_error_t err;
    assert_int_equal(cs_sdp_parse(text, strlen(text), answer, &err), CS_OK);
    assert_int_equal(answer->media[0].n_candidates, 2);
    assert_int_equal(cs_peer_add_sdp_candidates(c.p, answer), 1);
    assert_int_equal(cs_peer_add_sdp_candidates(NULL, answer), CS_EINVAL);
    cs_peer_free(c.p);

    /* An unknown SRTP profile is refused when the DTLS session is made. */
    client_init(&c, br_cert, true, "SRTP_NULL_SHA1_80");
    client_offer(&c, offer);
    r = remote_of(offer, true);
    r.setup = CS_SDP_SETUP_ACTIVE;
    assert_int_equal(cs_peer_set_remote(c.p, &r), CS_EINVAL);
    assert_int_equal(cs_peer_state(c.p), CS_PEER_NEW);
    cs_peer_free(c.p);
    /* A list longer than any valid one is refused at once. */
    char longlist[CS_DTLS_SRTP_PROFILES_MAX + 8];
    memset(longlist, 'A', sizeof longlist - 1);
    longlist[sizeof longlist - 1] = '\0';
    cs_peer_config_t cfg = loopback_cfg();
    cfg.srtp_profiles = longlist;
    int e = 0;
    assert_null(cs_peer_new(ctx, &cfg, &gw_cb, &c, &e));
    assert_int_equal(e, CS_EINVAL);
}

static void ice_nothing(void *user, const char *c)
{
    (void)user, (void)c;
}

static void ice_nothing_done(void *user)
{
    (void)user;
}

static void ice_nothing_state(void *user, cs_ice_state_t s)
{
    (void)user, (void)s;
}

/* The ICE role is the configured one (a role conflict would hide a wrong
 * one in the tests above: libnice resolves it by tie-breaker). */
static void test_ice_controlling_config(void **state)
{
    (void)state;
    static const cs_ice_callbacks_t cb = {ice_nothing, ice_nothing_done, ice_nothing_state, NULL};
    for (int want = 0; want < 2; want++) {
        cs_ice_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.addresses[0] = "127.0.0.1";
        cfg.n_addresses = 1;
        cfg.controlling = want;
        int err = 1;
        cs_ice_agent_t *a = cs_ice_agent_new(ctx, &cfg, &cb, NULL, &err);
        assert_non_null(a);
        gboolean controlling = !want;
        g_object_get(a->nice, "controlling-mode", &controlling, NULL);
        assert_int_equal(controlling, want);
        cs_ice_agent_free(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_offers_gateway_answers, ctx_setup,
                                        ctx_teardown),
        cmocka_unit_test_setup_teardown(test_offerer_is_dtls_server, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_set_remote_errors, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ice_controlling_config, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, browser_group_setup, browser_group_teardown);
}
