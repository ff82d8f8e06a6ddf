/*
 * test_load_peer.c — the load tool's synthetic peer (tests/load/peer.c) on
 * 127.0.0.1 against media/peer in the same process:
 *  - its offer reads like Chromium's (BUNDLE, trickle, actpass, Opus and
 *    VP8 + RTX, a=ssrc and FID, the MID extension, no bandwidth feedback)
 *    and only grows on renegotiation;
 *  - answered by the gateway's own answerer (cs_peer_answer, cs_sdp_answer)
 *    it connects; its senders' RTP arrives decrypted with the offered SSRCs,
 *    payload types and MID; a NACK gets the RTX retransmission, a PLI a
 *    keyframe; SR, RR and SDES come every half second, BYE at the end;
 *  - media echoed back as an SFU would (SSRCs from the answer's a=ssrc, or
 *    learnt from the MID extension) lands in receivers whose figures count
 *    it, a lost packet is NACKed and repaired by RTX, unwrapped;
 *  - as Janus's subscriber it answers a Janus-like offer (recvonly, active,
 *    the offered payload types, candidates from the offer, the data channel
 *    refused) and receives; as Janus's publisher it takes an answer that
 *    says active with candidates in it (it is the DTLS server);
 *  - callbacks may free it; refused input changes nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/load_peer_fixture.h"

/* ---- the offer ------------------------------------------------------------------------------ */

static void check_codecs(const cs_sdp_media_t *m, bool video)
{
    if (!video) {
        assert_int_equal(m->n_codecs, 1);
        assert_int_equal(m->codecs[0].pt, 111);
        assert_string_equal(m->codecs[0].name, "opus");
        assert_int_equal(m->codecs[0].clock, 48000);
        assert_int_equal(m->codecs[0].channels, 2);
        assert_string_equal(m->codecs[0].fmtp, "minptime=10;useinbandfec=1");
        assert_int_equal(m->codecs[0].fb, 0);
        return;
    }
    assert_int_equal(m->n_codecs, 2);
    assert_int_equal(m->codecs[0].pt, 96);
    assert_string_equal(m->codecs[0].name, "VP8");
    assert_int_equal(m->codecs[0].fb, CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR);
    assert_int_equal(m->codecs[1].pt, 97);
    assert_string_equal(m->codecs[1].name, "rtx");
    assert_int_equal(m->codecs[1].params.apt, 96);
}

static void check_section(const cs_sdp_media_t *m, const char *mid, bool video,
                          cs_sdp_direction_t dir, const char *fp)
{
    uint8_t want[32];
    assert_int_equal(cs_dtls_fingerprint_parse(fp, want), CS_OK);
    assert_string_equal(m->mid, mid);
    assert_int_equal(m->kind, video ? CS_SDP_KIND_VIDEO : CS_SDP_KIND_AUDIO);
    assert_int_equal(m->proto, CS_SDP_PROTO_UDP_TLS_RTP_SAVPF);
    assert_int_equal(m->direction, dir);
    assert_true(m->rtcp_mux);
    assert_int_equal(m->transport.setup, CS_SDP_SETUP_ACTPASS);
    assert_true(m->transport.ice_options & CS_SDP_ICE_TRICKLE);
    assert_int_equal(m->transport.fingerprint.hash, CS_SDP_HASH_SHA256);
    assert_memory_equal(m->transport.fingerprint.value, want, 32);
    assert_int_equal(cs_sdp_extmap_id(m, CS_SDP_EXT_MID), 4);
    assert_int_equal(cs_sdp_extmap_id(m, CS_SDP_EXT_TWCC), 0);
    check_codecs(m, video);
}

static void test_offer(void **state)
{
    (void)state;
    static lp_t l;
    lt_peer_config_t cfg = lp_config(true, true);
    lp_init(&l, &cfg);
    assert_string_equal(lt_peer_sources_json(l.p), "{}");
    int n = lt_peer_create_offer(l.p, 1, 1, text, LT_SDP_MAX);
    assert_true(n > 0 && (size_t)n == strlen(text));
    parse_into(sdp_a, text);
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    cs_dtls_cert_fingerprint(lt_cert, fp);
    assert_int_equal(sdp_a->n_media, 4);
    assert_int_equal(sdp_a->n_bundle, 4);
    check_section(&sdp_a->media[0], "0", false, CS_SDP_DIR_SENDONLY, fp);
    check_section(&sdp_a->media[1], "1", true, CS_SDP_DIR_SENDONLY, fp);
    check_section(&sdp_a->media[2], "2", false, CS_SDP_DIR_RECVONLY, fp);
    check_section(&sdp_a->media[3], "3", true, CS_SDP_DIR_RECVONLY, fp);
    assert_false(has_line(text, "goog-remb"));
    assert_false(has_line(text, "transport-cc"));
    assert_true(has_line(text, "a=group:BUNDLE 0 1 2 3\r\n"));
    /* Senders announce themselves: a=ssrc with cname and msid, FID for video. */
    assert_int_equal(sdp_a->media[0].n_ssrcs, 1);
    assert_true(sdp_a->media[0].ssrcs[0].cname[0] && sdp_a->media[0].ssrcs[0].stream[0]);
    assert_int_equal(sdp_a->media[1].n_ssrcs, 2);
    assert_string_equal(sdp_a->media[1].ssrc_groups[0].semantics, "FID");
    assert_int_equal(sdp_a->media[2].n_ssrcs, 0);
    assert_string_equal(lt_peer_sources_json(l.p), "{\"0\":\"microphone\",\"1\":\"camera\"}");
    /* Its senders exist already: other peers may take them as sources. */
    const lt_sender_t *senders[4];
    assert_int_equal(lt_peer_senders(l.p, senders, 4), 2);
    assert_int_equal(lt_sender_ssrc(senders[0]), sdp_a->media[0].ssrcs[0].ssrc);
    assert_int_equal(lt_sender_kind(senders[1]), LT_VIDEO);
    const cs_sdp_transport_t t0 = sdp_a->media[0].transport;

    /* Renegotiation: same transport, sections only added. */
    assert_true(lt_peer_create_offer(l.p, 2, 3, text, LT_SDP_MAX) > 0);
    parse_into(sdp_b, text);
    assert_int_equal(sdp_b->n_media, 7);
    assert_string_equal(sdp_b->media[0].transport.ice_ufrag, t0.ice_ufrag);
    assert_string_equal(sdp_b->media[0].transport.ice_pwd, t0.ice_pwd);
    assert_int_equal(sdp_b->media[0].ssrcs[0].ssrc, sdp_a->media[0].ssrcs[0].ssrc);
    check_section(&sdp_b->media[4], "4", false, CS_SDP_DIR_RECVONLY, fp);
    check_section(&sdp_b->media[5], "5", true, CS_SDP_DIR_RECVONLY, fp);
    check_section(&sdp_b->media[6], "6", true, CS_SDP_DIR_RECVONLY, fp);
    assert_true(lt_peer_create_offer(l.p, 0, 0, text, LT_SDP_MAX) > 0);
    parse_into(sdp_b, text);
    assert_int_equal(sdp_b->n_media, 7);

    /* Refused: nothing added. */
    assert_int_equal(lt_peer_create_offer(l.p, LT_PEER_MAX_RECV + 1, 0, text, LT_SDP_MAX),
                     CS_EINVAL);
    assert_int_equal(lt_peer_create_offer(l.p, 4, 4, text, 100), CS_ETOOBIG);
    assert_true(lt_peer_create_offer(l.p, 0, 0, text, LT_SDP_MAX) > 0);
    parse_into(sdp_b, text);
    assert_int_equal(sdp_b->n_media, 7);
    char err[160];
    assert_int_equal(lt_peer_answer_offer(l.p, text, text, LT_SDP_MAX, err, sizeof err),
                     CS_ESTATE);
    lt_peer_free(l.p);
}

/* ---- answered by the gateway ---------------------------------------------------------------- */

typedef struct {
    lp_t l;
    side_t g;
} link_t;

static link_t lk;

/* lt_peer offers (n_recv of each kind), the gateway answers; with_ssrcs:
 * the answer announces what the gateway sends on the receiving sections. */
static void gateway_link(bool with_ssrcs, size_t n_recv)
{
    lt_peer_config_t cfg = lp_config(true, true);
    lp_init(&lk.l, &cfg);
    side_init(&lk.g, false);
    cur_lp = &lk.l;
    cur_side = &lk.g;
    assert_true(lt_peer_create_offer(lk.l.p, n_recv, n_recv, text, LT_SDP_MAX) > 0);
    parse_into(sdp_a, text);
    side_learn_offer(&lk.g, sdp_a);
    cs_sdp_error_t e;
    if (cs_peer_answer(lk.g.p, sdp_a, sdp_b, &e) != CS_OK)
        fail_msg("the gateway refused the offer: %s", e.message);
    lk.g.ready = true;
    if (with_ssrcs && n_recv) {
        assert_int_equal(cs_sdp_media_add_stream(&sdp_b->media[2], ECHO_AUDIO_SSRC, 0, "gw", "s",
                                                 "a"), CS_OK);
        assert_int_equal(cs_sdp_media_add_stream(&sdp_b->media[3], ECHO_VIDEO_SSRC, ECHO_RTX_SSRC,
                                                 "gw", "s", "v"), CS_OK);
    }
    write_sdp(sdp_b, text);
    char err[160] = "";
    if (lt_peer_set_answer(lk.l.p, text, err, sizeof err) != CS_OK)
        fail_msg("the answer was refused: %s", err);
    assert_int_equal(lt_peer_state(lk.l.p), LT_PEER_CONNECTING);
    assert_true(run_until(both_connected, NULL, WAIT_MS));
}

static void link_free(void)
{
    if (lk.l.p)
        lt_peer_free(lk.l.p);
    lk.l.p = NULL;
    side_free(&lk.g);
    cur_lp = NULL;
    cur_side = NULL;
}

static void test_gateway_receives(void **state)
{
    (void)state;
    gateway_link(false, 0);
    side_t *g = &lk.g;
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_string_equal(st.srtp_profile, "SRTP_AEAD_AES_128_GCM");
    assert_true(st.connected_us > 0);
    const lt_sender_t *senders[4];
    assert_int_equal(lt_peer_senders(lk.l.p, senders, 4), 2);
    assert_int_equal(lt_sender_ssrc(senders[0]), g->audio_ssrc);

    wait_for(&g->video, 20);
    wait_for(&g->audio, 10);
    assert_true(g->audio_ok && g->video_ok);
    assert_true(g->keyframes >= 1);         /* a stream starts with one */
    assert_int_equal(g->bad + g->other, 0);
    assert_int_equal(lk.l.n_states, 2);     /* connecting, connected, delivered in order */
    assert_int_equal(lk.l.states[0], LT_PEER_CONNECTING);
    assert_int_equal(lk.l.states[1], LT_PEER_CONNECTED);

    /* NACK: the packet again, as RTX with its original sequence number. */
    uint16_t seq = g->last_vseq;
    side_send_rtcp_fb(g, g->video_ssrc, &seq, 1);
    wait_for(&g->n_rtx, 1);
    assert_int_equal(g->rtx_osn[0], seq);

    /* PLI: a keyframe (the loop has one keyframe, at its start, 10 s away). */
    uint64_t k0 = g->keyframes;
    side_send_rtcp_fb(g, g->video_ssrc, NULL, 0);
    wait_for(&g->keyframes, k0 + 1);

    /* Reports: an SR per sender, SDES. */
    wait_for(&g->sr_video, 1);
    wait_for(&g->sr_audio, 1);
    assert_true(g->sdes >= 1);
    lt_peer_stats(lk.l.p, &st);
    assert_int_equal(st.nacks_received, 1);
    assert_int_equal(st.plis_received, 1);
    assert_true(st.rtp_sent >= g->audio + g->video);
    assert_true(st.rtcp_sent >= 1);
    assert_int_equal(st.srtp_errors, 0);
    lt_sender_stats_t ss;
    lt_sender_stats(senders[1], &ss);
    assert_int_equal(ss.retransmitted, 1);
    assert_int_equal(ss.keyframe_requests, 1);

    /* Freed: BYE. */
    lt_peer_free(lk.l.p);
    lk.l.p = NULL;
    wait_for(&g->byes, 1);
    link_free();
}

static size_t find_receiver(lt_peer_t *p, lt_kind_t kind, lt_receiver_stats_t *out)
{
    lt_peer_stats_t st;
    lt_peer_stats(p, &st);
    for (size_t i = 0; i < st.n_receivers; i++) {
        lt_peer_receiver_stats(p, i, out);
        if (out->kind == kind)
            return i;
    }
    fail_msg("no receiver of that kind");
    return 0;
}

typedef struct {
    lt_peer_t *p;
    uint64_t audio, video;   /* packets each receiver should have */
    bool repaired;           /* ... and the video one recovered its loss */
} rx_wait_t;

static bool receivers_got(void *arg)
{
    rx_wait_t *w = arg;
    lt_peer_stats_t st;
    lt_peer_stats(w->p, &st);
    if (st.n_receivers < 2)
        return false;
    lt_receiver_stats_t a, v;
    find_receiver(w->p, LT_AUDIO, &a);
    find_receiver(w->p, LT_VIDEO, &v);
    return a.received >= w->audio && v.received >= w->video &&
           (!w->repaired || (v.recovered >= 1 && v.lost == 0));
}

/* The gateway echoes the peer's media back, losing the 10th video packet;
 * the peer NACKs it and the RTX repair arrives unwrapped. */
static void echo_and_check(bool announced)
{
    side_t *g = &lk.g;
    const lt_sender_t *senders[2];
    assert_int_equal(lt_peer_senders(lk.l.p, senders, 2), 2);
    lt_peer_set_sources(lk.l.p, (lt_sources_t){senders, 2});
    g->drop_at = 10;
    g->echo = true;
    rx_wait_t w = {lk.l.p, 10, 20, true};
    assert_true(run_until(receivers_got, &w, WAIT_MS));
    lt_receiver_stats_t a, v;
    find_receiver(lk.l.p, LT_AUDIO, &a);
    find_receiver(lk.l.p, LT_VIDEO, &v);
    assert_int_equal(a.ssrc, ECHO_AUDIO_SSRC);
    assert_int_equal(v.ssrc, ECHO_VIDEO_SSRC);
    assert_true(a.late_matched > 0 && v.late_matched > 0);  /* send times found */
    assert_true(v.latency.count > 0);
    assert_true(g->repaired);
    assert_true(g->n_nacked >= 1);
    assert_int_equal(g->nacked[0], g->dropped_seq);
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_int_equal(st.n_receivers, 2);
    assert_true(st.nacks_sent >= 1);
    assert_true(st.rtp_received >= a.received + v.received);
    /* Receiver reports about the echoed streams. */
    wait_for(&g->blocks_echo, 2);
    lt_peer_reset_window(lk.l.p);
    find_receiver(lk.l.p, LT_VIDEO, &v);
    assert_int_equal(v.latency.count, 0);
    assert_int_equal(v.received, 0);
    (void)announced;
}

static void test_receive_announced(void **state)
{
    (void)state;
    gateway_link(true, 1);
    /* Receivers exist as soon as the answer names the SSRCs. */
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_int_equal(st.n_receivers, 2);
    echo_and_check(true);
    link_free();
}

static void test_receive_learnt(void **state)
{
    (void)state;
    gateway_link(false, 1);
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_int_equal(st.n_receivers, 0);
    lk.g.echo_mid_audio = "2";
    lk.g.echo_mid_video = "3";
    echo_and_check(false);
    link_free();
}

/* ---- Janus ---------------------------------------------------------------------------------- */

#define JANUS_A 0x1a2b3c01u
#define JANUS_V 0x1a2b3c02u
#define JANUS_VRTX 0x1a2b3c03u

/* A subscriber offer shaped like Janus 1.x VideoRoom's: session-level
 * fingerprint, credentials per section, ssrc-audio-level and playout-delay
 * extensions, transport-cc and goog-remb feedback, RTX with FID, its
 * candidates (one TCP) in the first section, a data channel. */
static void janus_offer(const side_t *j, char *out)
{
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(j->p, &l), CS_OK);
    char cands[1024] = "";
    size_t o = 0;
    for (size_t i = 0; i < j->n_cands; i++)
        o += (size_t)snprintf(cands + o, sizeof cands - o, "a=%s\r\n", j->cands[i]);
    snprintf(cands + o, sizeof cands - o,
             "a=candidate:9 1 tcp 1015021823 127.0.0.1 9 typ host tcptype active\r\n");
    int n = snprintf(
        out, CS_SDP_MAX_SIZE,
        "v=0\r\no=- 7781256094811 1 IN IP4 127.0.0.1\r\ns=VideoRoom 1234\r\nt=0 0\r\n"
        "a=group:BUNDLE 0 1 2\r\na=ice-options:trickle\r\na=fingerprint:sha-256 %s\r\n"
        "a=extmap-allow-mixed\r\na=msid-semantic: WMS *\r\n"
        "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 127.0.0.1\r\na=sendonly\r\na=mid:0\r\n"
        "a=rtcp-mux\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n"
        "a=setup:actpass\r\na=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
        "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=fmtp:111 useinbandfec=1\r\n"
        "a=msid:janus janusa0\r\na=ssrc:%u cname:janus\r\na=ssrc:%u msid:janus janusa0\r\n"
        "%sa=end-of-candidates\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 127.0.0.1\r\na=sendonly\r\na=mid:1\r\n"
        "a=rtcp-mux\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:trickle\r\n"
        "a=setup:actpass\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 ccm fir\r\n"
        "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\na=rtcp-fb:96 goog-remb\r\n"
        "a=rtcp-fb:96 transport-cc\r\n"
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
        "a=extmap:12 http://www.webrtc.org/experiments/rtp-hdrext/playout-delay\r\n"
        "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=ssrc-group:FID %u %u\r\n"
        "a=msid:janus janusv1\r\na=ssrc:%u cname:janus\r\na=ssrc:%u msid:janus janusv1\r\n"
        "a=ssrc:%u cname:janus\r\na=ssrc:%u msid:janus janusv1\r\n"
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 127.0.0.1\r\n"
        "a=sendrecv\r\na=mid:2\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=setup:actpass\r\n"
        "a=sctp-port:5000\r\n",
        l.fingerprint, l.ice_ufrag, l.ice_pwd, JANUS_A, JANUS_A, cands, l.ice_ufrag, l.ice_pwd,
        JANUS_V, JANUS_VRTX, JANUS_V, JANUS_V, JANUS_VRTX, JANUS_VRTX, l.ice_ufrag, l.ice_pwd);
    assert_true(n > 0 && n < CS_SDP_MAX_SIZE);
}

static void check_janus_answer(const cs_sdp_t *a)
{
    char fp[CS_DTLS_FINGERPRINT_SIZE];
    uint8_t want[32];
    cs_dtls_cert_fingerprint(lt_cert, fp);
    assert_int_equal(cs_dtls_fingerprint_parse(fp, want), CS_OK);
    assert_int_equal(a->n_media, 3);
    assert_int_equal(a->n_bundle, 2);
    for (int i = 0; i < 2; i++) {
        const cs_sdp_media_t *m = &a->media[i];
        assert_true(m->port != 0);
        assert_int_equal(m->direction, CS_SDP_DIR_RECVONLY);
        assert_int_equal(m->transport.setup, CS_SDP_SETUP_ACTIVE);
        assert_memory_equal(m->transport.fingerprint.value, want, 32);
        assert_int_equal(m->n_extmaps, 1);
        assert_int_equal(cs_sdp_extmap_id(m, CS_SDP_EXT_MID), 4);
        assert_int_equal(m->n_ssrcs, 0);
        for (unsigned k = 0; k < m->n_codecs; k++)
            assert_int_equal(m->codecs[k].fb & (CS_SDP_FB_TRANSPORT_CC | CS_SDP_FB_GOOG_REMB), 0);
    }
    assert_int_equal(a->media[0].codecs[0].pt, 111);
    assert_int_equal(a->media[1].n_codecs, 2);
    assert_int_equal(a->media[1].codecs[0].pt, 96);
    assert_int_equal(a->media[1].codecs[1].pt, 97);
    assert_int_equal(a->media[1].codecs[1].params.apt, 96);
    assert_int_equal(a->media[2].port, 0);  /* the data channel */
}

static lt_sender_t *janus_sender(lt_kind_t kind, uint32_t ssrc, uint32_t rtx, const char *mid)
{
    lt_sender_config_t c = {.kind = kind, .ssrc = ssrc, .pt = kind == LT_AUDIO ? 111 : 96,
                            .rtx_ssrc = rtx, .rtx_pt = rtx ? 97 : 0, .mid_ext_id = 4, .mid = mid};
    int err;
    lt_sender_t *s = lt_sender_new(media, &c, &err);
    assert_non_null(s);
    return s;
}

/* Janus offers to a subscriber: the peer answers and receives, and a video
 * packet lost on the way is NACKed and comes back as RTX (FID of the offer). */
static void test_janus_subscriber(void **state)
{
    (void)state;
    side_t *j = &lk.g;
    lt_peer_config_t cfg = lp_config(false, false);
    cfg.decode = true;
    lp_init(&lk.l, &cfg);
    side_init(j, true);             /* Janus, full ICE, offering: controlling */
    j->trickle = false;             /* its candidates are in the offer */
    cur_lp = &lk.l;
    cur_side = j;
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(j->p, &l), CS_OK);
    assert_true(run_until(side_gathered, j, WAIT_MS));
    janus_offer(j, text);
    char *ans = malloc(CS_SDP_MAX_SIZE), err[160] = "";
    assert_non_null(ans);
    int n = lt_peer_answer_offer(lk.l.p, text, ans, LT_SDP_MAX, err, sizeof err);
    if (n <= 0)
        fail_msg("the offer was refused: %s", err);
    parse_into(sdp_b, ans);
    check_janus_answer(sdp_b);
    assert_true(has_line(ans, "a=setup:active\r\n"));
    assert_false(has_line(ans, "a=candidate"));
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_int_equal(st.n_receivers, 2);    /* from the offer's a=ssrc */
    /* Janus takes the answer: we offered actpass, the peer is the client. */
    const cs_sdp_transport_t *t = &sdp_b->media[0].transport;
    cs_peer_remote_t r = {t->ice_ufrag, t->ice_pwd, t->fingerprint, t->setup, true};
    assert_int_equal(cs_peer_set_remote(j->p, &r), CS_OK);
    j->ready = true;
    free(ans);
    assert_true(run_until(both_connected, NULL, WAIT_MS));

    j->send[0] = janus_sender(LT_AUDIO, JANUS_A, 0, "0");
    j->send[1] = janus_sender(LT_VIDEO, JANUS_V, JANUS_VRTX, "1");
    j->drop_send_at = 12;
    lt_sender_start(j->send[0], cs_mono_us());
    lt_sender_start(j->send[1], cs_mono_us());
    const lt_sender_t *src[2] = {j->send[0], j->send[1]};
    lt_peer_set_sources(lk.l.p, (lt_sources_t){src, 2});
    rx_wait_t w = {lk.l.p, 10, 20, true};
    assert_true(run_until(receivers_got, &w, WAIT_MS));
    lt_receiver_stats_t a, v;
    find_receiver(lk.l.p, LT_AUDIO, &a);
    find_receiver(lk.l.p, LT_VIDEO, &v);
    assert_int_equal(a.ssrc, JANUS_A);
    assert_int_equal(v.ssrc, JANUS_V);
    assert_true(a.late_matched > 0 && v.late_matched > 0);
    assert_true(j->send_dropped);
    assert_int_equal(j->nacked[0], j->send_dropped_seq);
    assert_true(v.frames_decoded > 0);
    assert_int_equal(v.decode_errors, 0);
    /* No senders: receiver reports come from an RR. */
    wait_for(&j->blocks_echo, 2);
    assert_true(j->rr >= 1);
    assert_int_equal(j->sr_audio + j->sr_video, 0);
    link_free();
}

/* Janus answers a publisher's offer with a=setup:active and its candidates
 * in the answer: the peer is the DTLS server; AES-CM only, as configured. */
static void test_janus_publisher(void **state)
{
    (void)state;
    side_t *j = &lk.g;
    lt_peer_config_t cfg = lp_config(true, true);
    cfg.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
    lp_init(&lk.l, &cfg);
    side_init(j, false);
    j->trickle = false;
    cur_lp = &lk.l;
    cur_side = j;
    assert_true(lt_peer_create_offer(lk.l.p, 0, 0, text, LT_SDP_MAX) > 0);
    parse_into(sdp_a, text);
    assert_int_equal(sdp_a->n_media, 2);
    side_learn_offer(j, sdp_a);
    const cs_sdp_transport_t *t = &sdp_a->media[0].transport;
    cs_peer_remote_t r = {t->ice_ufrag, t->ice_pwd, t->fingerprint, t->setup, false};
    assert_int_equal(cs_peer_set_remote(j->p, &r), CS_OK);
    j->ready = true;
    cs_peer_local_t l;
    assert_int_equal(cs_peer_local_transport(j->p, &l), CS_OK);
    assert_int_equal(l.setup, CS_SDP_SETUP_ACTIVE);
    assert_true(run_until(side_gathered, j, WAIT_MS));

    cs_sdp_local_t loc;
    memset(&loc, 0, sizeof loc);
    cs_strlcpy(loc.ice_ufrag, l.ice_ufrag, sizeof loc.ice_ufrag);
    cs_strlcpy(loc.ice_pwd, l.ice_pwd, sizeof loc.ice_pwd);
    loc.fingerprint.hash = CS_SDP_HASH_SHA256;
    loc.fingerprint.len = 32;
    assert_int_equal(cs_dtls_fingerprint_parse(l.fingerprint, loc.fingerprint.value), CS_OK);
    cs_sdp_candidate_t cands[FX_CANDS];
    for (size_t i = 0; i < j->n_cands; i++)
        assert_int_equal(cs_sdp_candidate_parse(j->cands[i], strlen(j->cands[i]), &cands[i], NULL),
                         CS_OK);
    loc.candidates = cands;
    loc.n_candidates = j->n_cands;
    loc.end_of_candidates = true;
    cs_sdp_error_t e;
    assert_int_equal(cs_sdp_answer(sdp_a, &loc, sdp_b, &e), CS_OK);
    sdp_b->media[0].transport.setup = sdp_b->media[1].transport.setup = CS_SDP_SETUP_ACTIVE;
    write_sdp(sdp_b, text);
    assert_true(has_line(text, "a=candidate:"));
    char err[160] = "";
    if (lt_peer_set_answer(lk.l.p, text, err, sizeof err) != CS_OK)
        fail_msg("the answer was refused: %s", err);
    assert_true(run_until(both_connected, NULL, WAIT_MS));
    wait_for(&j->video, 10);
    wait_for(&j->audio, 5);
    assert_true(j->audio_ok && j->video_ok);
    lt_peer_stats_t st;
    lt_peer_stats(lk.l.p, &st);
    assert_string_equal(st.srtp_profile, "SRTP_AES128_CM_SHA1_80");
    /* A second answer to the same offer is refused. */
    assert_int_equal(lt_peer_set_answer(lk.l.p, text, err, sizeof err), CS_ESTATE);
    link_free();
}

/* ---- life and errors ------------------------------------------------------------------------ */

static bool lp_gone(void *arg)
{
    return ((lp_t *)arg)->p == NULL;
}

/* Freed from inside its first callback (a candidate): no callback after. */
static void test_free_in_callback(void **state)
{
    (void)state;
    static lp_t l;
    lt_peer_config_t cfg = lp_config(true, false);
    lp_init(&l, &cfg);
    cur_lp = &l;
    cur_side = NULL;
    assert_true(lt_peer_create_offer(l.p, 0, 1, text, LT_SDP_MAX) > 0);
    assert_int_equal(l.calls, 0);           /* callbacks never run inside a call */
    l.free_in_callback = true;
    assert_true(run_until(lp_gone, &l, WAIT_MS));
    nice_browser_run_for(ctx, NULL, 100);
    assert_int_equal(l.calls, 1);
    cur_lp = NULL;
}

static void test_errors(void **state)
{
    (void)state;
    static lp_t l;
    int err = 0;
    lt_peer_config_t cfg = lp_config(true, true);
    assert_null(lt_peer_new(NULL, &cfg, &lp_cb, &l, &err));
    assert_int_equal(err, CS_EINVAL);
    cfg.cert = NULL;
    assert_null(lt_peer_new(ctx, &cfg, &lp_cb, &l, &err));
    cfg = lp_config(true, true);
    cfg.media = NULL;
    assert_null(lt_peer_new(ctx, &cfg, &lp_cb, &l, &err));
    assert_int_equal(err, CS_EINVAL);

    cfg = lp_config(true, true);
    lp_init(&l, &cfg);
    char msg[160] = "";
    assert_int_equal(lt_peer_set_answer(l.p, "v=0\r\n", msg, sizeof msg), CS_ESTATE);
    assert_int_equal(lt_peer_add_remote_candidate(l.p, ""), CS_ESTATE);
    assert_int_equal(lt_peer_create_offer(l.p, 0, 0, NULL, 0), CS_EINVAL);
    assert_true(lt_peer_create_offer(l.p, 1, 0, text, LT_SDP_MAX) > 0);
    parse_into(sdp_a, text);
    msg[0] = '\0';
    assert_int_equal(lt_peer_set_answer(l.p, "garbage", msg, sizeof msg), CS_EINVAL);
    assert_non_null(strstr(msg, "does not parse"));
    /* An answer with another number of sections. */
    sdp_a->n_media = 2;
    sdp_a->n_bundle = 2;
    write_sdp(sdp_a, text);
    assert_int_equal(lt_peer_set_answer(l.p, text, msg, sizeof msg), CS_EINVAL);
    assert_non_null(strstr(msg, "m= sections"));
    /* Its own offer as the answer: actpass is no answer. */
    assert_true(lt_peer_create_offer(l.p, 1, 0, text, LT_SDP_MAX) > 0);
    assert_int_equal(lt_peer_set_answer(l.p, text, msg, sizeof msg), CS_EINVAL);
    assert_non_null(strstr(msg, "transport"));
    assert_int_equal(lt_peer_state(l.p), LT_PEER_NEW);
    lt_peer_free(l.p);

    /* A peer that sends nothing has nothing to offer; nonsense is no offer. */
    cfg = lp_config(false, false);
    lp_init(&l, &cfg);
    assert_int_equal(lt_peer_answer_offer(l.p, "v=0\r\n", text, LT_SDP_MAX, msg, sizeof msg),
                     CS_EINVAL);
    assert_int_equal(lt_peer_create_offer(l.p, 0, 0, text, LT_SDP_MAX), CS_EINVAL);
    lt_peer_free(l.p);
    assert_string_equal(lt_peer_state_name(LT_PEER_CONNECTED), "connected");
    assert_int_equal(lt_peer_state(NULL), LT_PEER_CLOSED);
}

/* ---- setup ---------------------------------------------------------------------------------- */

static int ctx_setup(void **state)
{
    (void)state;
    ctx = nice_browser_context_new(&tick);
    memset(&lk, 0, sizeof lk);
    return 0;
}

static int ctx_teardown(void **state)
{
    (void)state;
    nice_browser_context_free(ctx, tick);
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    int err;
    lt_cert = cs_dtls_cert_generate(&err);
    side_cert = cs_dtls_cert_generate(&err);
    /* Small and quick to encode; one keyframe a loop, so PLI's shows. */
    lt_media_config_t mc = {.width = 160, .height = 96, .fps = 30, .video_kbps = 150,
                            .audio_kbps = 24, .loop_seconds = 10, .keyframe_seconds = 10};
    media = lt_media_new(&mc, &err);
    text = malloc(CS_SDP_MAX_SIZE);
    sdp_a = malloc(sizeof *sdp_a);
    sdp_b = malloc(sizeof *sdp_b);
    return lt_cert && side_cert && media && text && sdp_a && sdp_b ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    cs_dtls_cert_free(lt_cert);
    cs_dtls_cert_free(side_cert);
    lt_media_free(media);
    free(text);
    free(sdp_a);
    free(sdp_b);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_offer, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_gateway_receives, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_receive_announced, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_receive_learnt, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_janus_subscriber, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_janus_publisher, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_free_in_callback, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_errors, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
