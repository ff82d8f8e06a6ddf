/*
 * test_sdp.c — media/sdp on real browser descriptions: every fixture in
 * tests/unit/sdp/ (Chromium 156 and Firefox ESR 153 captures, plus two
 * hand-written ones) parses with the expected contents, and writing a parsed
 * description then parsing it again gives back the identical struct.
 *
 * The answer helper is in test_sdp_answer.c, refusals in test_sdp_errors.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/sdp/sdp.h"
#include "tests/unit/sdp/fixture.h"

#define MDNS_1 "053dfcd3-bff0-4e94-849d-0f087b3a77cf.local"
#define CHROME_STREAM "70b62a71-8330-4b03-8bd9-7f0ba40e795b"
#define FF_STREAM "{0c45ef0f-454c-4477-ac08-c3b4e8a4a024}"

static const cs_sdp_codec_t *codec(const cs_sdp_media_t *m, unsigned pt)
{
    const cs_sdp_codec_t *k = cs_sdp_codec_by_pt(m, pt);
    assert_non_null(k);
    return k;
}

static void assert_codec(const cs_sdp_media_t *m, unsigned pt, const char *name, uint32_t clock,
                         unsigned channels)
{
    const cs_sdp_codec_t *k = codec(m, pt);
    assert_string_equal(k->name, name);
    assert_int_equal(k->clock, clock);
    assert_int_equal(k->channels, channels);
}

static void assert_extmap(const cs_sdp_media_t *m, const char *uri, unsigned id)
{
    assert_int_equal(cs_sdp_extmap_id(m, uri), id);
}

static void assert_fingerprint(const cs_sdp_fingerprint_t *fp, uint8_t first, uint8_t last)
{
    assert_int_equal(fp->hash, CS_SDP_HASH_SHA256);
    assert_int_equal(fp->len, 32);
    assert_int_equal(fp->value[0], first);
    assert_int_equal(fp->value[31], last);
}

/* ---- Chromium ------------------------------------------------------------- */

static void test_chromium_offer_av_audio(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("chromium-offer-av.sdp");
    assert_string_equal(s->origin_user, "-");
    assert_string_equal(s->origin_sess_id, "8865822317567618629");
    assert_string_equal(s->origin_sess_version, "2");
    assert_string_equal(s->origin_addr, "127.0.0.1");
    assert_true(s->has_bundle);
    assert_int_equal(s->n_bundle, 2);
    assert_string_equal(s->bundle[0], "0");
    assert_string_equal(s->bundle[1], "1");
    assert_true(s->extmap_allow_mixed);
    assert_string_equal(s->msid_semantic, "WMS");
    assert_string_equal(s->msid_semantic_ids, CHROME_STREAM);
    assert_int_equal(s->n_media, 2);

    const cs_sdp_media_t *a = &s->media[0];
    assert_int_equal(a->kind, CS_SDP_KIND_AUDIO);
    assert_int_equal(a->port, 9);
    assert_int_equal(a->proto, CS_SDP_PROTO_UDP_TLS_RTP_SAVPF);
    assert_string_equal(a->conn_addr, "0.0.0.0");
    assert_string_equal(a->mid, "0");
    assert_int_equal(a->direction, CS_SDP_DIR_SENDRECV);
    assert_true(a->rtcp_mux);
    assert_true(a->rtcp_rsize);
    assert_string_equal(a->transport.ice_ufrag, "ttJp");
    assert_string_equal(a->transport.ice_pwd, "IRLW3oP6FFtrSWrGrBRVycwx");
    assert_int_equal(a->transport.ice_options, CS_SDP_ICE_TRICKLE);
    assert_int_equal(a->transport.setup, CS_SDP_SETUP_ACTPASS);
    assert_fingerprint(&a->transport.fingerprint, 0x34, 0x8C);

    static const uint8_t audio_pts[] = {111, 63, 9, 0, 8, 13, 110, 126};
    assert_int_equal(a->n_codecs, sizeof audio_pts);
    for (unsigned i = 0; i < sizeof audio_pts; i++)
        assert_int_equal(a->codecs[i].pt, audio_pts[i]);
    assert_codec(a, 111, "opus", 48000, 2);
    assert_codec(a, 0, "PCMU", 8000, 0);
    assert_codec(a, 126, "telephone-event", 8000, 0);
    const cs_sdp_codec_t *opus = codec(a, 111);
    assert_string_equal(opus->fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(opus->params.useinbandfec, 1);
    assert_int_equal(opus->params.minptime, 10);
    assert_int_equal(opus->params.usedtx, -1);
    assert_int_equal(opus->fb, CS_SDP_FB_TRANSPORT_CC);
    assert_string_equal(codec(a, 63)->fmtp, "111/111");

    assert_int_equal(a->n_extmaps, 4);
    assert_extmap(a, CS_SDP_EXT_AUDIO_LEVEL, 1);
    assert_extmap(a, CS_SDP_EXT_ABS_SEND_TIME, 2);
    assert_extmap(a, CS_SDP_EXT_TWCC, 3);
    assert_extmap(a, CS_SDP_EXT_MID, 4);

    assert_int_equal(a->n_candidates, 2);
    const cs_sdp_candidate_t *c = &a->candidates[0];
    assert_string_equal(c->foundation, "1952713458");
    assert_int_equal(c->component, 1);
    assert_int_equal(c->transport, CS_SDP_TRANSPORT_UDP);
    assert_int_equal(c->priority, 2113937151);
    assert_string_equal(c->address, MDNS_1);
    assert_int_equal(c->port, 55471);
    assert_int_equal(c->type, CS_SDP_CAND_HOST);
    assert_true(c->has_generation);
    assert_int_equal(c->generation, 0);
    assert_true(c->has_network_cost);
    assert_int_equal(c->network_cost, 999);
    assert_false(a->end_of_candidates);

    assert_string_equal(a->msid_stream, CHROME_STREAM);
    assert_string_equal(a->msid_track, "a01c02d2-aca6-44f1-b59a-64b2920f338f");
    assert_int_equal(a->n_ssrcs, 1);
    assert_int_equal(a->ssrcs[0].ssrc, 1472532324u);
    assert_string_equal(a->ssrcs[0].cname, "8bqhkVOMzQFaeEBZ");
    assert_string_equal(a->ssrcs[0].stream, CHROME_STREAM);

    free(s);
}

static void test_chromium_offer_av_video(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("chromium-offer-av.sdp");
    const cs_sdp_media_t *v = &s->media[1];
    assert_int_equal(v->kind, CS_SDP_KIND_VIDEO);
    assert_string_equal(v->mid, "1");
    assert_int_equal(v->n_codecs, 23);
    assert_codec(v, 96, "VP8", 90000, 0);
    assert_int_equal(codec(v, 96)->fb, CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR |
                                           CS_SDP_FB_GOOG_REMB | CS_SDP_FB_TRANSPORT_CC);
    assert_int_equal(cs_sdp_rtx_for(v, 96)->pt, 97);
    assert_int_equal(codec(v, 97)->params.apt, 96);
    assert_int_equal(cs_sdp_rtx_for(v, 108)->pt, 109);
    const cs_sdp_codec_t *h264 = codec(v, 108);
    assert_string_equal(h264->name, "H264");
    assert_true(h264->params.has_profile_level_id);
    assert_int_equal(h264->params.profile_level_id, 0x42e01f);
    assert_int_equal(h264->params.packetization_mode, 1);
    assert_true(h264->params.level_asymmetry_allowed);
    assert_int_equal(codec(v, 104)->params.packetization_mode, 0);
    assert_int_equal(codec(v, 102)->params.profile_level_id, 0x42001f);
    assert_codec(v, 45, "AV1", 90000, 0);
    assert_int_equal(v->n_extmaps, 11);
    assert_extmap(v, "urn:ietf:params:rtp-hdrext:toffset", 14);
    assert_extmap(v, CS_SDP_EXT_RID, 10);
    assert_extmap(v, CS_SDP_EXT_RRID, 11);
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_string_equal(v->ssrc_groups[0].semantics, "FID");
    assert_int_equal(v->ssrc_groups[0].n_ssrcs, 2);
    assert_int_equal(v->ssrc_groups[0].ssrcs[0], 2010827999u);
    assert_int_equal(v->ssrc_groups[0].ssrcs[1], 1624661806u);
    assert_int_equal(v->n_ssrcs, 2);
    assert_string_equal(v->ssrcs[1].track, "49cbaaa3-07bf-42cc-a08d-fe664f0ea859");
    assert_false(v->has_simulcast);
    free(s);
}

static void test_chromium_simulcast(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("chromium-offer-simulcast.sdp");
    const cs_sdp_media_t *v = &s->media[1];
    /* setCodecPreferences put VP8 and its RTX first. */
    assert_int_equal(v->codecs[0].pt, 96);
    assert_string_equal(v->codecs[0].name, "VP8");
    assert_int_equal(v->n_rids, 3);
    static const char *const rids[] = {"q", "h", "f"};
    for (int i = 0; i < 3; i++) {
        assert_string_equal(v->rids[i].id, rids[i]);
        assert_int_equal(v->rids[i].direction, CS_SDP_RID_SEND);
        assert_string_equal(v->rids[i].params, "");
    }
    assert_true(v->has_simulcast);
    assert_int_equal(v->sim_send.n_streams, 3);
    assert_int_equal(v->sim_recv.n_streams, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(v->sim_send.streams[i].n_alts, 1);
        assert_string_equal(v->sim_send.streams[i].alts[0].rid, rids[i]);
        assert_false(v->sim_send.streams[i].alts[0].paused);
    }
    /* Chromium names simulcast streams by rid only: no a=ssrc lines. */
    assert_int_equal(v->n_ssrcs, 0);
    assert_extmap(v, CS_SDP_EXT_RID, 10);
    assert_extmap(v, CS_SDP_EXT_RRID, 11);
    free(s);
}

static void test_chromium_ice_restart(void **state)
{
    (void)state;
    cs_sdp_t *before = fixture_parse("chromium-offer-before-restart.sdp");
    cs_sdp_t *after = fixture_parse("chromium-offer-ice-restart.sdp");
    assert_string_equal(before->origin_sess_id, after->origin_sess_id);
    assert_string_equal(before->origin_sess_version, "2");
    assert_string_equal(after->origin_sess_version, "3");
    for (int i = 0; i < 2; i++) {
        const cs_sdp_media_t *b = &before->media[i], *a = &after->media[i];
        assert_string_equal(b->mid, a->mid);
        assert_string_not_equal(b->transport.ice_ufrag, a->transport.ice_ufrag);
        assert_string_not_equal(b->transport.ice_pwd, a->transport.ice_pwd);
        assert_memory_equal(&b->transport.fingerprint, &a->transport.fingerprint,
                            sizeof b->transport.fingerprint);
    }
    assert_string_equal(after->media[0].transport.ice_ufrag, "njPS");
    /* New candidates are a new generation, and only in the bundle's first section. */
    assert_int_equal(after->media[0].n_candidates, 2);
    assert_int_equal(after->media[0].candidates[0].generation, 1);
    assert_int_equal(after->media[1].n_candidates, 0);
    free(before);
    free(after);
}

static void test_chromium_recvonly_and_data(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("chromium-offer-recvonly.sdp");
    assert_string_equal(s->msid_semantic_ids, "");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(s->media[i].direction, CS_SDP_DIR_RECVONLY);
        assert_string_equal(s->media[i].msid_stream, "");
        assert_int_equal(s->media[i].n_ssrcs, 0);
    }
    /* A receiver lists every decoder: 34 payload types. */
    assert_int_equal(s->media[1].n_codecs, 34);
    free(s);

    s = fixture_parse("chromium-offer-av-data.sdp");
    assert_int_equal(s->n_media, 3);
    assert_int_equal(s->n_bundle, 3);
    const cs_sdp_media_t *d = &s->media[2];
    assert_int_equal(d->kind, CS_SDP_KIND_APPLICATION);
    assert_int_equal(d->proto, CS_SDP_PROTO_UDP_DTLS_SCTP);
    assert_string_equal(d->fmt, "webrtc-datachannel");
    assert_int_equal(d->n_codecs, 0);
    assert_true(d->has_sctp_port);
    assert_int_equal(d->sctp_port, 5000);
    assert_true(d->has_max_message_size);
    assert_int_equal(d->max_message_size, 262144);
    assert_string_equal(d->mid, "2");
    assert_int_equal(d->n_candidates, 2);
    free(s);
}

static void test_chromium_answer(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("chromium-answer-sfu.sdp");
    const cs_sdp_media_t *a = &s->media[0], *v = &s->media[1];
    assert_int_equal(a->transport.setup, CS_SDP_SETUP_ACTIVE);
    assert_int_equal(a->n_codecs, 1);
    assert_codec(a, 111, "opus", 48000, 2);
    assert_int_equal(v->n_codecs, 4);
    assert_int_equal(codec(v, 103)->params.apt, 102);
    assert_int_equal(codec(v, 102)->params.profile_level_id, 0x42e01f);
    assert_int_equal(a->n_candidates, 2);
    assert_int_equal(v->n_candidates, 0);
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_string_equal(v->ssrcs[0].cname, "Cl4ejG3+1Ur1c0AR");
    free(s);
}

/* ---- Firefox --------------------------------------------------------------- */

static void test_firefox_offer_av(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("firefox-offer-av.sdp");
    assert_string_equal(s->origin_user, "mozilla...THIS_IS_SDPARTA-99.0");
    assert_string_equal(s->msid_semantic, "WMS");
    assert_string_equal(s->msid_semantic_ids, "*");
    /* Session-level a=sendrecv, fingerprint and ice-options reach every section. */
    assert_int_equal(s->direction, CS_SDP_DIR_SENDRECV);
    assert_fingerprint(&s->transport.fingerprint, 0x1F, 0xF0);
    const cs_sdp_media_t *a = &s->media[0], *v = &s->media[1];
    for (int i = 0; i < 2; i++) {
        const cs_sdp_media_t *m = &s->media[i];
        assert_fingerprint(&m->transport.fingerprint, 0x1F, 0xF0);
        assert_int_equal(m->transport.ice_options, CS_SDP_ICE_TRICKLE);
        assert_string_equal(m->transport.ice_ufrag, "25cf7e38");
        assert_int_equal(m->transport.setup, CS_SDP_SETUP_ACTPASS);
        assert_true(m->end_of_candidates);
        assert_true(m->extmap_allow_mixed);
        assert_true(m->rtcp_mux);
        assert_int_equal(m->n_candidates, 8);
    }
    assert_int_equal(a->port, 60969);
    assert_string_equal(a->conn_addr, "192.0.2.2");
    const cs_sdp_candidate_t *c = &a->candidates[1];
    assert_string_equal(c->address, "fd00::2");
    assert_int_equal(c->priority, 2122252543u);
    assert_false(c->has_generation);
    c = &a->candidates[2];
    assert_int_equal(c->transport, CS_SDP_TRANSPORT_TCP);
    assert_int_equal(c->tcptype, CS_SDP_TCP_ACTIVE);
    assert_int_equal(c->port, 9);
    assert_int_equal(a->candidates[4].component, 2);

    assert_codec(a, 109, "opus", 48000, 2);
    const cs_sdp_codec_t *opus = codec(a, 109);
    assert_string_equal(opus->fmtp, "maxplaybackrate=48000;stereo=1;useinbandfec=1");
    assert_int_equal(opus->params.maxplaybackrate, 48000);
    assert_int_equal(opus->params.stereo, 1);
    assert_int_equal(opus->params.useinbandfec, 1);
    assert_codec(a, 9, "G722", 8000, 1);
    assert_string_equal(codec(a, 101)->fmtp, "0-15");
    assert_int_equal(a->extmaps[1].id, 2);
    assert_int_equal(a->extmaps[1].direction, CS_SDP_DIR_RECVONLY);
    assert_int_equal(a->extmaps[0].direction, CS_SDP_DIR_NONE);
    assert_extmap(a, CS_SDP_EXT_TWCC, 7);
    assert_string_equal(a->msid_stream, FF_STREAM);
    assert_string_equal(a->ssrcs[0].cname, "{0fb1fd05-0b11-44bf-b980-7074e17cfc92}");
    assert_string_equal(a->ssrcs[0].stream, "");

    static const uint8_t video_pts[] = {120, 124, 121, 125, 99, 100, 123, 122, 119};
    assert_int_equal(v->n_codecs, sizeof video_pts);
    for (unsigned i = 0; i < sizeof video_pts; i++)
        assert_int_equal(v->codecs[i].pt, video_pts[i]);
    assert_codec(v, 120, "VP8", 90000, 0);
    assert_string_equal(codec(v, 120)->fmtp, "max-fs=12288;max-fr=60");
    assert_int_equal(cs_sdp_rtx_for(v, 120)->pt, 124);
    assert_int_equal(cs_sdp_rtx_for(v, 122)->pt, 119);
    assert_null(cs_sdp_codec_by_pt(v, 102)); /* no OpenH264 in Debian's Firefox */
    assert_int_equal(codec(v, 120)->fb, CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR |
                                            CS_SDP_FB_GOOG_REMB | CS_SDP_FB_TRANSPORT_CC);
    assert_int_equal(v->n_ssrc_groups, 1);
    assert_int_equal(v->ssrc_groups[0].ssrcs[0], 2294343916u);
    free(s);
}

static void test_firefox_simulcast_and_data(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("firefox-offer-simulcast.sdp");
    const cs_sdp_media_t *v = &s->media[1];
    assert_int_equal(v->n_rids, 3);
    assert_string_equal(v->rids[2].id, "f");
    assert_int_equal(v->sim_send.n_streams, 3);
    assert_string_equal(v->sim_send.streams[1].alts[0].rid, "h");
    /* Firefox also announces an SSRC and an RTX SSRC per layer. */
    assert_int_equal(v->n_ssrcs, 6);
    assert_int_equal(v->n_ssrc_groups, 3);
    assert_int_equal(v->ssrc_groups[2].ssrcs[1], 2171481914u);
    assert_int_equal(v->extmaps[6].id, 9);
    assert_int_equal(v->extmaps[6].direction, CS_SDP_DIR_SENDONLY);
    free(s);

    s = fixture_parse("firefox-offer-av-data.sdp");
    const cs_sdp_media_t *d = &s->media[2];
    assert_int_equal(d->kind, CS_SDP_KIND_APPLICATION);
    assert_int_equal(d->port, 54668);
    assert_int_equal(d->max_message_size, 1073741823u);
    assert_int_equal(d->n_candidates, 4);
    free(s);

    s = fixture_parse("firefox-answer-sfu.sdp");
    assert_int_equal(s->media[0].transport.setup, CS_SDP_SETUP_ACTIVE);
    assert_int_equal(s->media[1].n_codecs, 2);
    assert_int_equal(s->media[1].n_candidates, 0);
    free(s);
}

static void test_firefox_ice_restart(void **state)
{
    (void)state;
    cs_sdp_t *before = fixture_parse("firefox-offer-before-restart.sdp");
    cs_sdp_t *after = fixture_parse("firefox-offer-ice-restart.sdp");
    assert_string_equal(before->origin_sess_id, after->origin_sess_id);
    assert_string_equal(after->origin_sess_version, "1");
    assert_string_not_equal(before->media[0].transport.ice_pwd, after->media[0].transport.ice_pwd);
    assert_string_equal(after->media[0].transport.ice_ufrag, after->media[1].transport.ice_ufrag);
    free(before);
    free(after);
}

/* ---- hand-written ------------------------------------------------------------ */

static void test_handmade_offer(void **state)
{
    (void)state;
    cs_sdp_t *s = fixture_parse("handmade-offer-ice.sdp");
    assert_string_equal(s->name, "Consilium hand-written offer");
    /* SHA-256 is kept over an earlier SHA-1. */
    assert_int_equal(s->transport.fingerprint.hash, CS_SDP_HASH_SHA256);
    assert_int_equal(s->transport.ice_options, CS_SDP_ICE_TRICKLE | CS_SDP_ICE_ICE2);
    const cs_sdp_media_t *a = &s->media[0], *v = &s->media[1];
    assert_int_equal(a->direction, CS_SDP_DIR_SENDONLY);
    assert_int_equal(a->transport.ice_options, CS_SDP_ICE_TRICKLE | CS_SDP_ICE_ICE2);
    assert_int_equal(codec(a, 111)->params.usedtx, 1);
    /* a=rtcp-fb:* applies to every payload type. */
    assert_int_equal(codec(a, 111)->fb, CS_SDP_FB_NACK);
    assert_int_equal(codec(a, 0)->fb, CS_SDP_FB_NACK);
    assert_codec(a, 0, "PCMU", 8000, 0); /* static type, no a=rtpmap */
    assert_string_equal(a->msid_stream, "-");
    assert_int_equal(a->n_ssrcs, 1);
    /* Unknown transport (sctp) and type (foo) are skipped: 8 of 10 remain. */
    assert_int_equal(a->n_candidates, 8);
    static const cs_sdp_cand_type_t types[] = {CS_SDP_CAND_HOST, CS_SDP_CAND_SRFLX,
                                               CS_SDP_CAND_RELAY, CS_SDP_CAND_HOST,
                                               CS_SDP_CAND_HOST, CS_SDP_CAND_HOST,
                                               CS_SDP_CAND_PRFLX, CS_SDP_CAND_HOST};
    for (int i = 0; i < 8; i++)
        assert_int_equal(a->candidates[i].type, types[i]);
    assert_string_equal(a->candidates[0].ufrag, "F7gI");
    assert_int_equal(a->candidates[0].network_id, 1);
    assert_string_equal(a->candidates[1].raddr, "192.0.2.10");
    assert_int_equal(a->candidates[1].rport, 50000);
    assert_int_equal(a->candidates[3].tcptype, CS_SDP_TCP_ACTIVE);
    assert_string_equal(a->candidates[3].address, "2001:db8::10");
    assert_int_equal(a->candidates[4].tcptype, CS_SDP_TCP_PASSIVE);
    assert_int_equal(a->candidates[5].tcptype, CS_SDP_TCP_SO);
    assert_string_equal(a->candidates[7].address, "a7d0c8f4-3f9e-4f50-9a57-3c1b5b2b7f0e.local");
    assert_true(a->end_of_candidates);

    assert_int_equal(v->port, 0);
    assert_true(v->bundle_only);
    assert_string_equal(v->transport.ice_ufrag, "");
    assert_int_equal(codec(v, 96)->fb, CS_SDP_FB_CCM_FIR | CS_SDP_FB_NACK_PLI);
    assert_string_equal(v->rids[0].params, "max-width=1280;max-height=720");
    assert_int_equal(v->rids[0].direction, CS_SDP_RID_RECV);
    assert_int_equal(v->sim_recv.n_streams, 2);
    assert_int_equal(v->sim_recv.streams[0].n_alts, 2);
    assert_string_equal(v->sim_recv.streams[0].alts[1].rid, "2");
    assert_true(v->sim_recv.streams[0].alts[1].paused);
    assert_string_equal(v->sim_recv.streams[1].alts[0].rid, "3");
    free(s);
}

/* ---- round trip --------------------------------------------------------------- */

static void check_crlf(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            assert_true(i > 0 && text[i - 1] == '\r');
        if (text[i] == '\r')
            assert_true(i + 1 < len && text[i + 1] == '\n');
    }
    assert_true(len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n');
}

static void test_round_trip_every_fixture(void **state)
{
    (void)state;
    size_t n;
    const char *const *names = fixture_names(&n);
    cs_sdp_t *again = malloc(sizeof *again);
    char *text = malloc(CS_SDP_MAX_SIZE), *text2 = malloc(CS_SDP_MAX_SIZE);
    for (size_t i = 0; i < n; i++) {
        cs_sdp_t *s = fixture_parse(names[i]);
        size_t len, len2;
        cs_sdp_error_t err;
        assert_int_equal(cs_sdp_write(s, text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
        assert_int_equal(strlen(text), len);
        check_crlf(text, len);
        assert_int_equal(cs_sdp_parse(text, len, again, &err), CS_OK);
        if (memcmp(s, again, sizeof *s) != 0)
            fail_msg("%s: written and parsed again, the description differs", names[i]);
        /* Writing is a fixed point after one pass. */
        assert_int_equal(cs_sdp_write(again, text2, CS_SDP_MAX_SIZE, &len2, NULL), CS_OK);
        assert_int_equal(len, len2);
        assert_memory_equal(text, text2, len);
        free(s);
    }
    free(again);
    free(text);
    free(text2);
}

/* The same description with LF-only line endings parses to the same struct. */
static void test_lf_and_crlf(void **state)
{
    (void)state;
    size_t len;
    char *crlf = fixture_load("firefox-offer-simulcast.sdp", &len);
    char *lf = malloc(len + 1);
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (crlf[i] != '\r')
            lf[n++] = crlf[i];
    cs_sdp_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
    assert_int_equal(cs_sdp_parse(crlf, len, a, NULL), CS_OK);
    assert_int_equal(cs_sdp_parse(lf, n, b, NULL), CS_OK);
    assert_memory_equal(a, b, sizeof *a);
    free(a);
    free(b);
    free(crlf);
    free(lf);
}

static void test_struct_size(void **state)
{
    (void)state;
    /* The header documents this size; a change there should be deliberate. */
    print_message("sizeof(cs_sdp_t) = %zu, cs_sdp_media_t = %zu, cs_sdp_codec_t = %zu, "
                  "cs_sdp_candidate_t = %zu\n",
                  sizeof(cs_sdp_t), sizeof(cs_sdp_media_t), sizeof(cs_sdp_codec_t),
                  sizeof(cs_sdp_candidate_t));
    assert_true(sizeof(cs_sdp_t) > 1024 * 1024);
    assert_true(sizeof(cs_sdp_t) < 1152 * 1024);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_offer_av_audio),
        cmocka_unit_test(test_chromium_offer_av_video),
        cmocka_unit_test(test_chromium_simulcast),
        cmocka_unit_test(test_chromium_ice_restart),
        cmocka_unit_test(test_chromium_recvonly_and_data),
        cmocka_unit_test(test_chromium_answer),
        cmocka_unit_test(test_firefox_offer_av),
        cmocka_unit_test(test_firefox_simulcast_and_data),
        cmocka_unit_test(test_firefox_ice_restart),
        cmocka_unit_test(test_handmade_offer),
        cmocka_unit_test(test_round_trip_every_fixture),
        cmocka_unit_test(test_lf_and_crlf),
        cmocka_unit_test(test_struct_size),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
