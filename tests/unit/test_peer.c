/*
 * test_peer.c — media/peer end to end on 127.0.0.1 against a fake browser: a
 * raw libnice agent in controlling mode, a client cs_dtls session with its own
 * certificate and the cs_srtp sessions keyed from its handshake. The browser
 * offers (SDP text through cs_sdp_parse), the peer answers as the DTLS server;
 * candidates trickle both ways; the peer connects and SRTP and SRTCP go both
 * ways byte for byte. Offered a=setup:passive the peer is the DTLS client; a
 * browser closing DTLS ends the peer. A fingerprint that is not the browser's
 * certificate fails that peer's DTLS and nothing else; garbage, replays and
 * forgeries are dropped and counted while media keeps flowing; an ICE restart
 * brings new credentials over the same DTLS association; refused offers (ICE
 * restarts among them) change nothing.
 *
 * Each test owns a GMainContext and runs it in the test thread with a
 * deadline, ticking the peers and the browser's DTLS timer between
 * iterations; a 10 ms tick source keeps every blocking iteration short.
 */
#include <setjmp.h>
#include <stdarg.h>
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

#include "tests/unit/peer_test_browser.h"

/* ---- tests ---------------------------------------------------------------------------- */

static void test_connect_and_media(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    link_open(&g, &b);
    offer_answered(&g, &b, br_fp);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTING);
    assert_int_equal(g.n_states, 1);
    assert_int_equal(g.states[0], CS_PEER_CONNECTING);
    assert_string_equal(g.reason, "");
    assert_true(cs_peer_same_transport(g.p, offer));
    /* Gathering waits for the first tick: no candidate before the answer. */
    assert_int_equal(g.n_cands, 0);
    cs_peer_stats_t st;
    cs_peer_stats(g.p, &st);
    assert_string_equal(st.srtp_profile, "");
    assert_string_equal(st.selected_pair, "");
    uint8_t buf[PKT_CAP];
    size_t len = make_rtp(buf, 96, 1, 7, 10);
    assert_int_equal(cs_peer_send_rtp(g.p, buf, len, sizeof buf), CS_ESTATE);
    assert_int_equal(cs_peer_send_rtcp(g.p, buf, len, sizeof buf), CS_ESTATE);

    browser_apply_answer(&b, answer);
    link_t l = {&g, &b};
    assert_true(run_until(connected, &l, WAIT_MS));

    /* Trickled: our host candidate on 127.0.0.1, then the end marker. */
    assert_false(g.bad_candidate);
    assert_true(g.n_cands >= 1);
    assert_non_null(strstr(g.cands[0], " 127.0.0.1 "));
    assert_non_null(strstr(g.cands[0], " typ host"));
    assert_int_equal(g.end_of_candidates, 1);
    /* NEW -> CONNECTING -> CONNECTED, once each */
    assert_int_equal(g.n_states, 2);
    assert_int_equal(g.states[1], CS_PEER_CONNECTED);
    assert_int_equal(b.dtls_failed, 0);
    assert_int_equal(cs_dtls_session_state(b.dtls), CS_DTLS_STATE_CONNECTED);

    cs_srtp_profile_t profile;
    assert_int_equal(cs_srtp_profile_from_id(b.profile_id, &profile), CS_OK);
    cs_peer_stats_t before;
    cs_peer_stats(g.p, &before);
    assert_string_equal(before.srtp_profile, cs_srtp_profile_name(profile));
    assert_string_equal(before.srtp_profile, "SRTP_AEAD_AES_128_GCM");
    assert_string_equal(g.reason, before.srtp_profile); /* CONNECTED says the profile */
    assert_true(strncmp(before.selected_pair, "udp 127.0.0.1:", 14) == 0);
    assert_non_null(strstr(before.selected_pair, " -> 127.0.0.1:"));
    assert_true(before.rx_datagrams >= 1 && before.tx_datagrams >= 1); /* the handshake */

    browser_to_peer(&g, &b, 1);
    peer_to_browser(&g, &b, 1);
    browser_to_peer(&g, &b, 2);
    peer_to_browser(&g, &b, 2);

    cs_peer_stats_t after;
    cs_peer_stats(g.p, &after);
    assert_true(after.rx_datagrams >= before.rx_datagrams + 4);
    assert_true(after.rx_bytes >= before.rx_bytes + 2 * (12 + 80 + 16) + 2 * (32 + 20));
    assert_true(after.tx_datagrams >= before.tx_datagrams + 4);
    assert_true(after.tx_bytes >= before.tx_bytes + 2 * (12 + 1000 + 16) + 2 * (48 + 20));
    assert_int_equal(after.dropped_srtp, 0);
    assert_int_equal(after.dropped_other, 0);
    assert_string_equal(after.srtp_profile, before.srtp_profile);
    assert_int_equal(g.n_rtp, 2);
    assert_int_equal(g.n_rtcp, 2);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTED);

    /* The same offer again (renegotiation without changes): same transport,
     * same credentials, nothing restarts. */
    char u[CS_SDP_UFRAG_MAX];
    cs_strlcpy(u, answer->media[0].transport.ice_ufrag, sizeof u);
    assert_true(cs_peer_same_transport(g.p, offer));
    cs_sdp_error_t err;
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_OK);
    assert_string_equal(answer->media[0].transport.ice_ufrag, u);
    browser_to_peer(&g, &b, 3);
    assert_int_equal(g.n_states, 2);
    link_free(&g, &b);
}

static bool peer_closed(void *arg)
{
    return cs_peer_state(arg) == CS_PEER_CLOSED;
}

/* A browser that answers passive (a=setup:passive offered): the peer is the
 * DTLS client and sends the ClientHello once ICE works. Then the browser
 * closes DTLS: the peer's media ends (CLOSED) for good. */
static void test_dtls_client_role_and_close(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    offer_setup = "passive";
    connect_link(&g, &b);
    offer_setup = "actpass";
    assert_int_equal(cs_dtls_session_role(b.dtls), CS_DTLS_ROLE_SERVER);
    browser_to_peer(&g, &b, 1);
    peer_to_browser(&g, &b, 1);

    assert_int_equal(cs_dtls_session_close(b.dtls), CS_OK);
    assert_true(run_until(peer_closed, g.p, WAIT_MS));
    assert_int_equal(g.n_states, 3);
    assert_string_equal(g.reason, "the browser closed DTLS");
    uint8_t buf[PKT_CAP];
    size_t len = make_rtp(buf, 96, 2, 7, 10);
    assert_int_equal(cs_peer_send_rtp(g.p, buf, len, sizeof buf), CS_ESTATE);
    browser_offer(&b, offer, br_fp);
    assert_false(cs_peer_same_transport(g.p, offer));
    cs_sdp_error_t err;
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_ESTATE);
    link_free(&g, &b);
}

static bool first_failed_second_connected(void *arg)
{
    link_t *l = arg;
    return cs_peer_state(l[0].g->p) == CS_PEER_FAILED && connected(&l[1]);
}

/* The offer names a certificate the browser does not have: that peer fails
 * its handshake; a second peer of the same gateway certificate, in the same
 * context at the same time, connects and carries media. */
static void test_wrong_fingerprint(void **state)
{
    (void)state;
    static gw_t ga, gb;
    static browser_t ba, bb;
    cs_sdp_error_t err;
    link_open(&ga, &ba);
    link_open(&gb, &bb);

    offer_answered(&ga, &ba, other_fp);
    browser_apply_answer(&ba, answer);
    offer_answered(&gb, &bb, br_fp);
    browser_apply_answer(&bb, answer);
    assert_true(run_until(first_failed_second_connected, links, WAIT_MS));

    assert_false(gw_saw(&ga, CS_PEER_CONNECTED));
    assert_int_equal(gw_last_state(&ga), CS_PEER_FAILED);
    assert_true(strncmp(ga.reason, "DTLS", 4) == 0);
    assert_non_null(strstr(ga.reason, "fingerprint"));
    assert_int_equal(ba.dtls_connected, 0);
    uint8_t buf[PKT_CAP];
    size_t len = make_rtp(buf, 96, 1, 7, 10);
    assert_int_equal(cs_peer_send_rtp(ga.p, buf, len, sizeof buf), CS_ESTATE);
    assert_int_equal(cs_peer_send_rtcp(ga.p, buf, len, sizeof buf), CS_ESTATE);
    browser_offer(&ba, offer, other_fp);
    assert_false(cs_peer_same_transport(ga.p, offer));
    assert_int_equal(cs_peer_answer(ga.p, offer, answer, &err), CS_ESTATE);
    cs_peer_stats_t st;
    cs_peer_stats(ga.p, &st);
    assert_string_equal(st.srtp_profile, "");

    /* the other participant: untouched, both ways, and stays so */
    assert_int_equal(gb.n_states, 2);
    browser_to_peer(&gb, &bb, 1);
    peer_to_browser(&gb, &bb, 1);
    run_for(200);
    assert_int_equal(gw_last_state(&ga), CS_PEER_FAILED);
    assert_int_equal(gw_last_state(&gb), CS_PEER_CONNECTED);
    assert_int_equal(ga.n_states, 2);   /* connecting, failed: said once */
    browser_to_peer(&gb, &bb, 2);
    link_free(&ga, &ba);
    link_free(&gb, &bb);
}

/* Deterministic "random" bytes (xorshift32). */
static void fill_random(uint8_t *buf, size_t len, uint32_t *seed)
{
    for (size_t i = 0; i < len; i++) {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 17;
        *seed ^= *seed << 5;
        buf[i] = (uint8_t)*seed;
    }
}

static void test_garbage_after_connect(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    connect_link(&g, &b);
    browser_to_peer(&g, &b, 1);
    cs_peer_stats_t s0, s1;
    cs_peer_stats(g.p, &s0);
    uint64_t rx = rx_count(g.p);

    /* Random bytes outside DTLS and SRTP (64..127, 192..255): other; in the
     * SRTP range: failed authentication; in the DTLS range: discarded by
     * DTLS. None of it is handed up. (0..3 is STUN: libnice's.) */
    uint32_t seed = 0x12345678;
    uint8_t junk[PKT_CAP];
    static const struct {
        uint8_t lo, hi;
        size_t len;
    } ranges[] = {
        {64, 127, 1}, {64, 127, 40}, {64, 127, 700},
        {192, 255, 1}, {192, 255, 33}, {192, 255, 1200},
        {128, 191, 1}, {128, 191, 12}, {128, 191, 100}, {128, 191, 1300},
        {20, 63, 1}, {20, 63, 13}, {20, 63, 200},
    };
    size_t n_other = 0, n_srtp = 0;
    for (size_t i = 0; i < CS_ARRAY_LEN(ranges); i++) {
        for (unsigned first = ranges[i].lo; first <= ranges[i].hi; first += 21) {
            fill_random(junk, ranges[i].len, &seed);
            junk[0] = (uint8_t)first;
            nice_browser_send(&b.nb, junk, ranges[i].len);
            if (first >= 128 && first <= 191)
                n_srtp++;
            else if (first >= 64)
                n_other++;
            wait_rx(g.p, rx, 1);
            rx++;
        }
    }
    /* RTP-looking headers with a random body: the tag does not verify */
    for (int i = 0; i < 4; i++) {
        size_t len = make_rtp(junk, 111, (uint16_t)(50 + i), 1111, 60);
        fill_random(junk + 12, len - 12, &seed);
        nice_browser_send(&b.nb, junk, len);
        n_srtp++;
        wait_rx(g.p, rx, 1);
        rx++;
    }
    cs_peer_stats(g.p, &s1);
    assert_int_equal(s1.dropped_other, s0.dropped_other + n_other);
    assert_int_equal(s1.dropped_srtp, s0.dropped_srtp + n_srtp);
    assert_int_equal(g.n_rtp, 1);
    assert_int_equal(g.n_rtcp, 1);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTED);

    /* A replayed packet: handed up once, the copy dropped. */
    uint8_t plain[PKT_CAP], prot[PKT_CAP];
    size_t len = make_rtp(plain, 111, 100, 1111, 80);
    size_t plen = browser_protect(&b, plain, len, false, prot);
    nice_browser_send(&b.nb, prot, plen);
    nice_browser_send(&b.nb, prot, plen);
    wait_rx(g.p, rx, 2);
    rx += 2;
    cs_peer_stats(g.p, &s0);
    assert_int_equal(g.n_rtp, 2);
    assert_memory_equal(g.rtp[1].data, plain, len);
    assert_int_equal(s0.dropped_srtp, s1.dropped_srtp + 1);

    /* Forged: one bit of the authentication tag flipped, RTP and RTCP. */
    len = make_rtp(plain, 111, 101, 1111, 80);
    plen = browser_protect(&b, plain, len, false, prot);
    prot[plen - 1] ^= 0x01;
    nice_browser_send(&b.nb, prot, plen);
    plen = browser_protect(&b, rtcp_rr, sizeof rtcp_rr, true, prot);
    prot[plen - 1] ^= 0x80;
    nice_browser_send(&b.nb, prot, plen);
    wait_rx(g.p, rx, 2);
    rx += 2;
    cs_peer_stats(g.p, &s1);
    assert_int_equal(s1.dropped_srtp, s0.dropped_srtp + 2);
    assert_int_equal(g.n_rtp, 2);
    assert_int_equal(g.n_rtcp, 1);

    /* Still up: good packets both ways. */
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTED);
    browser_to_peer(&g, &b, 102);
    peer_to_browser(&g, &b, 1);
    assert_int_equal(g.n_states, 2);
    assert_false(gw_saw(&g, CS_PEER_FAILED));
    cs_peer_stats(g.p, &s0);
    assert_int_equal(s0.dropped_srtp, s1.dropped_srtp);
    link_free(&g, &b);
}

static bool restarted(void *arg)
{
    link_t *l = arg;
    return l->b->nb.connects >= 2 && nice_browser_state_connected(l->b->nb.state) &&
           l->g->end_of_candidates >= 2;
}

static void test_ice_restart(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    connect_link(&g, &b);
    browser_to_peer(&g, &b, 1);
    peer_to_browser(&g, &b, 1);
    char u1[CS_SDP_UFRAG_MAX], p1[CS_SDP_PWD_MAX];
    cs_strlcpy(u1, answer->media[0].transport.ice_ufrag, sizeof u1);
    cs_strlcpy(p1, answer->media[0].transport.ice_pwd, sizeof p1);
    assert_int_equal(b.nb.connects, 1);

    /* The browser restarts: new credentials, the same certificate. */
    assert_true(nice_agent_restart_stream(b.nb.nice, b.nb.stream));
    browser_offer(&b, offer, br_fp);
    assert_true(cs_peer_same_transport(g.p, offer));
    cs_sdp_error_t err;
    if (cs_peer_answer(g.p, offer, answer, &err) != CS_OK)
        fail_msg("answer refused: %s", err.message);
    check_answer(answer);
    assert_string_not_equal(answer->media[0].transport.ice_ufrag, u1);
    assert_string_not_equal(answer->media[0].transport.ice_pwd, p1);
    assert_true(cs_peer_same_transport(g.p, offer));
    browser_apply_answer(&b, answer);
    browser_recollect(&b);
    size_t old = g.n_cands;
    g.n_sent = g.n_cands;               /* the old generation's are known */
    link_t l = {&g, &b};
    assert_true(run_until(restarted, &l, WAIT_MS));
    assert_true(g.n_cands > old);       /* told again for the new generation */
    assert_int_equal(g.end_of_candidates, 2);

    /* Media over the new generation, both ways; DTLS and SRTP carried on. */
    browser_to_peer(&g, &b, 2);
    peer_to_browser(&g, &b, 2);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTED);
    assert_int_equal(g.n_states, 2);
    assert_int_equal(b.dtls_connected, 1);
    assert_int_equal(b.dtls_failed, 0);
    cs_peer_stats_t st;
    cs_peer_stats(g.p, &st);
    assert_int_equal(st.dropped_srtp, 0);
    assert_true(strncmp(st.selected_pair, "udp 127.0.0.1:", 14) == 0);

    /* and the restarted generation's answer holds when offered again */
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_OK);
    browser_to_peer(&g, &b, 3);
    link_free(&g, &b);
}

static void test_offer_errors(void **state)
{
    (void)state;
    static gw_t g;
    static browser_t b;
    cs_sdp_error_t err;

    assert_string_equal(cs_peer_state_name(CS_PEER_NEW), "new");
    assert_string_equal(cs_peer_state_name(CS_PEER_CONNECTING), "connecting");
    assert_string_equal(cs_peer_state_name(CS_PEER_CONNECTED), "connected");
    assert_string_equal(cs_peer_state_name(CS_PEER_FAILED), "failed");
    assert_string_equal(cs_peer_state_name(CS_PEER_CLOSED), "closed");
    assert_string_equal(cs_peer_state_name((cs_peer_state_t)42), "unknown");
    assert_int_equal(cs_peer_state(NULL), CS_PEER_CLOSED);
    cs_peer_free(NULL);

    /* arguments of cs_peer_new */
    cs_peer_config_t cfg = loopback_cfg();
    int rc = 0;
    assert_null(cs_peer_new(NULL, &cfg, &gw_cb, &g, &rc));
    assert_int_equal(rc, CS_EINVAL);
    cfg.cert = NULL;
    rc = 0;
    assert_null(cs_peer_new(ctx, &cfg, &gw_cb, &g, &rc));
    assert_int_equal(rc, CS_EINVAL);
    cfg = loopback_cfg();
    cs_peer_callbacks_t no_state = gw_cb;
    no_state.on_state = NULL;
    assert_null(cs_peer_new(ctx, &cfg, &no_state, &g, &rc));
    assert_int_equal(rc, CS_EINVAL);
    cfg.ice.addresses[0] = "not-an-address";
    rc = 0;
    assert_null(cs_peer_new(ctx, &cfg, &gw_cb, &g, &rc));
    assert_int_equal(rc, CS_EINVAL);

    link_open(&g, &b);
    b.eoc_sent = true;                  /* carried by hand below */
    b.nb.n_sent = b.nb.n_cands;

    /* before any offer: no candidates taken */
    assert_int_equal(cs_peer_add_remote_candidate(g.p, b.nb.cands[0]), CS_ESTATE);
    assert_int_equal(cs_peer_add_remote_candidate(g.p, ""), CS_ESTATE);
    assert_int_equal(cs_peer_add_remote_candidate(g.p, NULL), CS_EINVAL);
    assert_int_equal(cs_peer_answer(g.p, NULL, answer, &err), CS_EINVAL);

    char u[CS_SDP_UFRAG_MAX], p[CS_SDP_PWD_MAX];
    nice_browser_credentials(&b.nb, u, sizeof u, p, sizeof p);
    /* only a SHA-1 fingerprint */
    memset(&err, 0, sizeof err);
    parse_offer(offer, u, p, "sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB");
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EUNSUPPORTED);
    assert_int_equal(err.code, CS_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "sha-256"));
    /* no fingerprint at all */
    memset(&err, 0, sizeof err);
    parse_offer(offer, u, p, NULL);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EUNSUPPORTED);
    assert_true(err.message[0] != '\0');
    /* no ICE credentials */
    memset(&err, 0, sizeof err);
    char line[128];
    snprintf(line, sizeof line, "sha-256 %s", br_fp);
    parse_offer(offer, NULL, NULL, line);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EINVAL);
    assert_true(err.message[0] != '\0');
    /* nothing changed: still NEW, nothing gathered, nothing taken */
    run_for(100);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_NEW);
    assert_int_equal(g.n_states, 0);
    assert_int_equal(g.n_cands, 0);
    assert_int_equal(g.end_of_candidates, 0);
    assert_int_equal(cs_peer_add_remote_candidate(g.p, b.nb.cands[0]), CS_ESTATE);

    /* a good offer */
    browser_offer(&b, offer, br_fp);
    assert_true(cs_peer_same_transport(g.p, offer));
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_OK);
    char gu[CS_SDP_UFRAG_MAX], gp[CS_SDP_PWD_MAX];
    cs_strlcpy(gu, answer->media[0].transport.ice_ufrag, sizeof gu);
    cs_strlcpy(gp, answer->media[0].transport.ice_pwd, sizeof gp);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTING);

    /* renegotiation with another fingerprint: refused, also with new ICE
     * credentials (that would have restarted ICE) */
    browser_offer(&b, offer, other_fp);
    assert_false(cs_peer_same_transport(g.p, offer));
    memset(&err, 0, sizeof err);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EUNSUPPORTED);
    assert_int_equal(err.code, CS_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "may not change"));
    snprintf(line, sizeof line, "sha-256 %s", other_fp);
    parse_offer(offer, "newU", "aNewPasswordOf22CharsXY", line);
    memset(&err, 0, sizeof err);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "may not change"));
    /* an ICE restart in an offer cs_sdp_answer refuses (no rtcp-mux): refused
     * before anything restarts */
    snprintf(line, sizeof line, "sha-256 %s", br_fp);
    parse_offer(offer, "newU", "aNewPasswordOf22CharsXY", line);
    offer->media[0].rtcp_mux = offer->media[1].rtcp_mux = false;
    memset(&err, 0, sizeof err);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_EUNSUPPORTED);
    assert_non_null(strstr(err.message, "rtcp-mux"));

    /* ... and nothing changed: the first offer again gets the same
     * credentials, and the peer connects with them */
    browser_offer(&b, offer, br_fp);
    assert_int_equal(cs_peer_answer(g.p, offer, answer, &err), CS_OK);
    assert_string_equal(answer->media[0].transport.ice_ufrag, gu);
    assert_string_equal(answer->media[0].transport.ice_pwd, gp);
    assert_int_equal(cs_peer_state(g.p), CS_PEER_CONNECTING);
    assert_int_equal(g.n_states, 1);
    browser_apply_answer(&b, answer);
    b.nb.n_sent = 0;                    /* the browser's candidates, now */
    b.eoc_sent = false;
    link_t l = {&g, &b};
    assert_true(run_until(connected, &l, WAIT_MS));
    browser_to_peer(&g, &b, 1);
    peer_to_browser(&g, &b, 1);
    link_free(&g, &b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect_and_media, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_dtls_client_role_and_close, ctx_setup,
                                        ctx_teardown),
        cmocka_unit_test_setup_teardown(test_wrong_fingerprint, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_garbage_after_connect, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_ice_restart, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_offer_errors, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, browser_group_setup, browser_group_teardown);
}
