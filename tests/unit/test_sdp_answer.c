/*
 * test_sdp_answer.c — cs_sdp_answer on real Chromium and Firefox offers and
 * on variations of them: the codecs, payload types, extensions, DTLS role,
 * direction and simulcast the gateway answers; data channels rejected; the
 * H.264 profile policy; every refusal with its message; outgoing streams
 * added with cs_sdp_media_add_stream; and an offer built in code.
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

static cs_sdp_t *offer, *answer, *again;
static char *text;
static cs_sdp_error_t err;
static cs_sdp_candidate_t cands[2];

static int setup(void **state)
{
    (void)state;
    offer = malloc(sizeof *offer);
    answer = malloc(sizeof *answer);
    again = malloc(sizeof *again);
    text = malloc(CS_SDP_MAX_SIZE);
    return offer && answer && again && text ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(offer);
    free(answer);
    free(again);
    free(text);
    return 0;
}

/* fixture_local(), trickled: two candidates (UDP and TCP), then the end. */
static cs_sdp_local_t local(void)
{
    cs_sdp_local_t l = fixture_local();
    l.trickle = true;
    static const char *const c[] = {"candidate:1 1 udp 2130706431 192.0.2.1 40000 typ host",
                                    "candidate:2 1 tcp 1518280447 192.0.2.1 40000 typ host tcptype passive"};
    for (int i = 0; i < 2; i++)
        assert_int_equal(cs_sdp_candidate_parse(c[i], strlen(c[i]), &cands[i], NULL), CS_OK);
    l.candidates = cands;
    l.n_candidates = 2;
    l.end_of_candidates = true;
    return l;
}

/* text with every `from` replaced by `to`; the result is heap memory. */
static char *replace(const char *src, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), n = 0;
    for (const char *p = src; (p = strstr(p, from)); p += nf)
        n++;
    char *out = malloc(strlen(src) + n * nt + 1), *o = out;
    for (const char *p = src;;) {
        const char *hit = strstr(p, from);
        size_t k = hit ? (size_t)(hit - p) : strlen(p);
        memcpy(o, p, k);
        o += k;
        if (!hit)
            break;
        memcpy(o, to, nt);
        o += nt;
        p = hit + nf;
    }
    *o = '\0';
    return out;
}

static void parse_offer_text(const char *sdp)
{
    if (cs_sdp_parse(sdp, strlen(sdp), offer, &err) != CS_OK)
        fail_msg("offer does not parse: %s", err.message);
}

static void parse_offer_fixture(const char *name)
{
    size_t len;
    char *t = fixture_load(name, &len);
    parse_offer_text(t);
    free(t);
}

/* Answers, writes the answer, parses it back and checks nothing changed. */
static void answer_ok(const cs_sdp_local_t *l)
{
    if (cs_sdp_answer(offer, l, answer, &err) != CS_OK)
        fail_msg("answer refused: %s", err.message);
    size_t len;
    assert_int_equal(cs_sdp_write(answer, text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
    assert_int_equal(cs_sdp_parse(text, len, again, &err), CS_OK);
    assert_memory_equal(answer, again, sizeof *answer);
}

static void assert_pts(const cs_sdp_media_t *m, const uint8_t *pts, unsigned n)
{
    assert_int_equal(m->n_codecs, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(m->codecs[i].pt, pts[i]);
}

static void assert_line(const char *line)
{
    if (!strstr(text, line))
        fail_msg("answer lacks \"%s\":\n%s", line, text);
}

/* ---- real offers ------------------------------------------------------------ */

static void test_chromium_offer(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("chromium-offer-av.sdp");
    answer_ok(&l);
    assert_string_equal(answer->origin_sess_id, "4242");
    assert_true(answer->has_bundle);
    assert_int_equal(answer->n_bundle, 2);
    assert_true(answer->extmap_allow_mixed);
    assert_false(answer->ice_lite);
    const cs_sdp_media_t *a = &answer->media[0], *v = &answer->media[1];
    static const uint8_t audio[] = {111}, video[] = {96, 97, 108, 109};
    assert_pts(a, audio, 1);
    assert_pts(v, video, 4);
    assert_string_equal(a->codecs[0].name, "opus");
    assert_int_equal(a->codecs[0].channels, 2);
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(a->codecs[0].fb, CS_SDP_FB_TRANSPORT_CC);
    assert_string_equal(v->codecs[1].fmtp, "apt=96");
    assert_string_equal(v->codecs[2].fmtp,
                        "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
    assert_string_equal(v->codecs[3].fmtp, "apt=108");
    assert_int_equal(v->codecs[0].fb, CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR |
                                          CS_SDP_FB_GOOG_REMB | CS_SDP_FB_TRANSPORT_CC);
    assert_int_equal(a->n_extmaps, 4);
    assert_int_equal(cs_sdp_extmap_id(a, CS_SDP_EXT_AUDIO_LEVEL), 1);
    static const char *const vext[] = {CS_SDP_EXT_ABS_SEND_TIME, CS_SDP_EXT_TWCC, CS_SDP_EXT_MID,
                                       CS_SDP_EXT_RID, CS_SDP_EXT_RRID};
    static const unsigned vids[] = {2, 3, 4, 10, 11};
    assert_int_equal(v->n_extmaps, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cs_sdp_extmap_id(v, vext[i]), vids[i]);
    for (int i = 0; i < 2; i++) {
        const cs_sdp_media_t *m = &answer->media[i];
        assert_int_equal(m->port, 9);
        assert_int_equal(m->transport.setup, CS_SDP_SETUP_PASSIVE);
        assert_int_equal(m->direction, CS_SDP_DIR_SENDRECV);
        assert_true(m->rtcp_mux);
        assert_true(m->rtcp_rsize);
        assert_true(m->extmap_allow_mixed == false);
        assert_string_equal(m->transport.ice_ufrag, "gw01");
        assert_int_equal(m->transport.fingerprint.value[0], 0xA0);
        assert_string_equal(m->mid, offer->media[i].mid);
        assert_int_equal(m->n_ssrcs, 0);
    }
    assert_int_equal(a->n_candidates, 2);
    assert_true(a->end_of_candidates);
    assert_int_equal(v->n_candidates, 0);
    assert_line("a=group:BUNDLE 0 1\r\n");
    assert_line("a=setup:passive\r\n");
    assert_line("a=candidate:2 1 tcp 1518280447 192.0.2.1 40000 typ host tcptype passive\r\n");
    assert_line("a=fingerprint:sha-256 A0:A1:A2:A3:");
}

static void test_codec_preferences(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("chromium-offer-av.sdp");
    l.prefer_h264 = true;
    answer_ok(&l);
    static const uint8_t h264_first[] = {108, 109, 96, 97}, h264_only[] = {108, 109};
    assert_pts(&answer->media[1], h264_first, 4);
    l.codecs = CS_SDP_CODEC_OPUS | CS_SDP_CODEC_H264;
    answer_ok(&l);
    assert_pts(&answer->media[1], h264_only, 2);
    /* Without Opus the audio section is rejected but video still works. */
    l.codecs = CS_SDP_CODEC_VP8;
    answer_ok(&l);
    assert_int_equal(answer->media[0].port, 0);
    assert_int_equal(answer->n_bundle, 1);
    assert_string_equal(answer->bundle[0], "1");
    assert_int_equal(answer->media[1].n_candidates, 2); /* the first accepted one */
}

static void test_chromium_simulcast(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("chromium-offer-simulcast.sdp");
    answer_ok(&l);
    const cs_sdp_media_t *v = &answer->media[1];
    assert_int_equal(v->codecs[0].pt, 96);
    assert_true(v->has_simulcast);
    assert_int_equal(v->sim_send.n_streams, 0);
    assert_int_equal(v->sim_recv.n_streams, 3);
    assert_int_equal(v->n_rids, 3);
    assert_int_equal(v->rids[0].direction, CS_SDP_RID_RECV);
    assert_line("a=rid:q recv\r\na=rid:h recv\r\na=rid:f recv\r\na=simulcast:recv q;h;f\r\n");
    assert_int_equal(cs_sdp_extmap_id(v, CS_SDP_EXT_RID), 10);
}

static void test_simulcast_limits(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    size_t len;
    char *base = fixture_load("chromium-offer-simulcast.sdp", &len);
    /* Four layers offered, the third with an alternative and the second paused. */
    char *four = replace(base, "a=simulcast:send q;h;f",
                         "a=rid:x send\r\na=simulcast:send q;~h;zz,f;x");
    parse_offer_text(four);
    answer_ok(&l);
    const cs_sdp_media_t *v = &answer->media[1];
    assert_int_equal(v->sim_recv.n_streams, 3);
    /* "zz" has no a=rid line: its alternative "f" is taken. */
    assert_string_equal(v->sim_recv.streams[2].alts[0].rid, "f");
    assert_true(v->sim_recv.streams[1].alts[0].paused);
    assert_line("a=simulcast:recv q;~h;f\r\n");
    l.max_simulcast = 2;
    answer_ok(&l);
    assert_int_equal(answer->media[1].n_rids, 2);
    free(four);
    free(base);
}

static void test_data_channel_rejected(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("chromium-offer-av-data.sdp");
    answer_ok(&l);
    const cs_sdp_media_t *d = &answer->media[2];
    assert_int_equal(answer->n_media, 3);
    assert_int_equal(d->port, 0);
    assert_int_equal(d->kind, CS_SDP_KIND_APPLICATION);
    assert_string_equal(d->mid, "2");
    assert_int_equal(answer->n_bundle, 2);
    assert_line("m=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\n");
    assert_line("a=group:BUNDLE 0 1\r\n");

    parse_offer_fixture("firefox-offer-av-data.sdp");
    answer_ok(&l);
    assert_int_equal(answer->media[2].port, 0);
    assert_int_equal(answer->media[0].port, 9);
}

static void test_recvonly_gets_streams(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("chromium-offer-recvonly.sdp");
    if (cs_sdp_answer(offer, &l, answer, &err) != CS_OK)
        fail_msg("%s", err.message);
    cs_sdp_media_t *a = &answer->media[0], *v = &answer->media[1];
    assert_int_equal(a->direction, CS_SDP_DIR_SENDONLY);
    assert_int_equal(v->direction, CS_SDP_DIR_SENDONLY);
    assert_int_equal(cs_sdp_media_add_stream(a, 1111, 0, "consilium", "peer-2", "audio-2"), CS_OK);
    assert_int_equal(cs_sdp_media_add_stream(v, 2222, 2223, "consilium", "peer-2", "video-2"), CS_OK);
    size_t len;
    assert_int_equal(cs_sdp_write(answer, text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
    assert_line("a=sendonly\r\na=msid:peer-2 audio-2\r\n");
    assert_line("a=ssrc:1111 cname:consilium\r\na=ssrc:1111 msid:peer-2 audio-2\r\n");
    assert_line("a=ssrc-group:FID 2222 2223\r\n");
    assert_line("a=ssrc:2223 cname:consilium\r\na=ssrc:2223 msid:peer-2 video-2\r\n");
    assert_int_equal(cs_sdp_parse(text, len, again, &err), CS_OK);
    assert_memory_equal(answer, again, sizeof *answer);

    assert_int_equal(cs_sdp_media_add_stream(v, 5, 5, "c", "s", "t"), CS_EINVAL);
    assert_int_equal(cs_sdp_media_add_stream(v, 5, 6, "two words", "s", "t"), CS_EINVAL);
    assert_int_equal(cs_sdp_media_add_stream(v, 5, 6, "c", "", "t"), CS_EINVAL);
    int rc = CS_OK;
    for (uint32_t i = 0; rc == CS_OK && i < 20; i++)
        rc = cs_sdp_media_add_stream(v, 10 + 2 * i, 11 + 2 * i, "c", "s", "t");
    assert_int_equal(rc, CS_ELIMIT);
}

static void test_firefox_offer(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("firefox-offer-av.sdp");
    answer_ok(&l);
    const cs_sdp_media_t *a = &answer->media[0], *v = &answer->media[1];
    static const uint8_t audio[] = {109}, video[] = {120, 124};
    assert_pts(a, audio, 1);
    assert_pts(v, video, 2);
    /* Firefox sends no minptime, so none comes back. */
    assert_string_equal(a->codecs[0].fmtp, "useinbandfec=1");
    assert_string_equal(v->codecs[0].fmtp, "");
    assert_string_equal(v->codecs[1].fmtp, "apt=120");
    assert_int_equal(a->n_extmaps, 3); /* csrc-audio-level is not forwarded */
    assert_int_equal(cs_sdp_extmap_id(a, CS_SDP_EXT_TWCC), 7);
    assert_int_equal(cs_sdp_extmap_id(v, "urn:ietf:params:rtp-hdrext:toffset"), 0);
    /* Firefox says a=extmap-allow-mixed per section; so does the answer. */
    assert_false(answer->extmap_allow_mixed);
    assert_true(a->extmap_allow_mixed);
    assert_int_equal(a->transport.setup, CS_SDP_SETUP_PASSIVE);
    assert_int_equal(a->direction, CS_SDP_DIR_SENDRECV);
    assert_int_equal(answer->n_bundle, 2);
}

static void test_firefox_simulcast(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("firefox-offer-simulcast.sdp");
    answer_ok(&l);
    const cs_sdp_media_t *v = &answer->media[1];
    assert_int_equal(v->sim_recv.n_streams, 3);
    /* a=extmap:9/sendonly is answered recvonly. */
    assert_line("a=extmap:9/recvonly urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n");
    assert_line("a=extmap:10/recvonly urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n");
    assert_line("a=simulcast:recv q;h;f\r\n");
}

static void test_bundle_only_section(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_fixture("handmade-offer-ice.sdp");
    answer_ok(&l);
    const cs_sdp_media_t *a = &answer->media[0], *v = &answer->media[1];
    /* The bundle-only video section uses the tagged audio section's transport. */
    assert_int_equal(v->port, 9);
    assert_int_equal(a->direction, CS_SDP_DIR_RECVONLY);
    assert_int_equal(v->direction, CS_SDP_DIR_SENDONLY);
    assert_false(v->has_simulcast); /* it wanted to receive simulcast: not offered by us */
    assert_string_equal(a->codecs[0].fmtp, "minptime=10;useinbandfec=1");
    assert_int_equal(a->codecs[0].fb, CS_SDP_FB_NACK);
    assert_int_equal(a->extmaps[0].direction, CS_SDP_DIR_RECVONLY);
    assert_int_equal(answer->n_bundle, 2);
    assert_false(v->bundle_only);
}

static void test_setup_roles(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    size_t len;
    char *base = fixture_load("chromium-offer-av.sdp", &len);
    static const struct {
        const char *offered;
        cs_sdp_setup_t answered;
    } roles[] = {
        {"a=setup:active", CS_SDP_SETUP_PASSIVE},
        {"a=setup:passive", CS_SDP_SETUP_ACTIVE},
        {"a=x-no-setup:1", CS_SDP_SETUP_PASSIVE},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(roles); i++) {
        char *t = replace(base, "a=setup:actpass", roles[i].offered);
        parse_offer_text(t);
        answer_ok(&l);
        assert_int_equal(answer->media[1].transport.setup, roles[i].answered);
        free(t);
    }
    free(base);
}

/* ---- refusals ------------------------------------------------------------ */

static void test_refusals(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    size_t len;
    char *base = fixture_load("chromium-offer-av.sdp", &len);
    static const struct {
        const char *from, *to;
        int code;
        const char *message;
    } cases[] = {
        {"a=rtcp-mux\r\n", "", CS_EUNSUPPORTED, "has no a=rtcp-mux (it is required)"},
        {"a=fingerprint:sha-256", "a=fingerprint:md5", CS_EUNSUPPORTED,
         "no usable a=fingerprint (DTLS-SRTP is required)"},
        {"a=ice-pwd:", "a=x-ice-pwd:", CS_EINVAL, "has no ICE credentials"},
        {"a=group:BUNDLE 0 1\r\n", "", CS_EUNSUPPORTED, "no a=group:BUNDLE"},
        {"a=setup:actpass", "a=setup:holdconn", CS_EUNSUPPORTED, "holdconn"},
        {"a=mid:1\r\n", "", CS_EINVAL, "m= section 2 has no a=mid"},
        {"opus/48000/2", "opus/48000/1", CS_EUNSUPPORTED, "no usable audio or video codec"},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        char *t = replace(base, cases[i].from, cases[i].to);
        if (i == 5) {
            char *u = replace(t, "a=group:BUNDLE 0 1", "a=group:BUNDLE 0");
            free(t);
            t = u;
        }
        if (i == 6) { /* and no VP8 or H.264 either */
            char *u = replace(t, "VP8/", "VP7/"), *w = replace(u, "H264/", "H263/");
            free(t);
            free(u);
            t = w;
        }
        parse_offer_text(t);
        int rc = cs_sdp_answer(offer, &l, answer, &err);
        if (rc != cases[i].code || !strstr(err.message, cases[i].message))
            fail_msg("case %zu: got %d \"%s\"", i, rc, err.message);
        assert_int_equal(err.code, rc);
        /* Never a password or a fingerprint in a message. */
        assert_null(strstr(err.message, "IRLW3oP6FFtrSWrGrBRVycwx"));
        assert_null(strstr(err.message, "34:78:C5"));
        free(t);
    }
    free(base);
}

static void test_nothing_usable(void **state)
{
    (void)state;
    cs_sdp_local_t l = local();
    parse_offer_text("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                     "a=group:BUNDLE d\r\n"
                     "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
                     "c=IN IP4 0.0.0.0\r\na=mid:d\r\na=ice-ufrag:abcd\r\n"
                     "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n"
                     "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:"
                     "19:E5:7C:AB:3D:AF:FC:02:A5:7A:42:4B:71:D7:26:6E\r\na=sctp-port:5000\r\n");
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EUNSUPPORTED);
    assert_string_equal(err.message, "no usable audio or video codec");
    parse_offer_text("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EUNSUPPORTED);
    assert_string_equal(err.message, "no usable audio or video codec");
}

static void test_local_checks(void **state)
{
    (void)state;
    parse_offer_fixture("sfu-offer.sdp");
    cs_sdp_local_t l = local();
    l.ice_ufrag[0] = '\0';
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EINVAL);
    l = local();
    strcpy(l.ice_pwd, "has space");
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EINVAL);
    l = local();
    l.fingerprint.len = 20;
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EINVAL);
    assert_string_equal(err.message, "local fingerprint is missing or malformed");
    l = local();
    l.n_candidates = CS_SDP_MAX_CANDIDATES + 1;
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EINVAL);
    l = local();
    offer->n_media = CS_SDP_MAX_MEDIA + 1; /* only an offer built in code can */
    assert_int_equal(cs_sdp_answer(offer, &l, answer, &err), CS_EINVAL);
    parse_offer_fixture("sfu-offer.sdp");
    l.ice_lite = true;
    l.trickle = false;
    answer_ok(&l);
    assert_line("a=ice-lite\r\n");
    assert_null(strstr(text, "a=ice-options"));
}

/* ---- the H.264 policy --------------------------------------------------------- */

static void test_h264_policy(void **state)
{
    (void)state;
    static const char head[] =
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE v\r\n"
        "m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\nc=IN IP4 0.0.0.0\r\na=mid:v\r\n"
        "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass\r\n"
        "a=fingerprint:sha-256 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:"
        "3D:AF:FC:02:A5:7A:42:4B:71:D7:26:6E\r\na=rtcp-mux\r\na=sendonly\r\n"
        "a=rtpmap:102 H264/90000\r\na=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
        "a=fmtp:102 ";
    static const struct {
        const char *offered, *answered; /* NULL: refused */
    } cases[] = {
        {"profile-level-id=42e01f;packetization-mode=1", "packetization-mode=1;profile-level-id=42e01f"},
        {"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e034",
         "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"},
        {"packetization-mode=1;profile-level-id=42e00d", "packetization-mode=1;profile-level-id=42e00d"},
        {"packetization-mode=1;profile-level-id=42e034", "packetization-mode=1;profile-level-id=42e01f"},
        {"packetization-mode=1;profile-level-id=4de01f", "packetization-mode=1;profile-level-id=42e01f"},
        {"packetization-mode=1", "packetization-mode=1;profile-level-id=42e01f"},
        {"packetization-mode=1;profile-level-id=4d001f", NULL},
        {"packetization-mode=1;profile-level-id=42001f", NULL},
        {"packetization-mode=1;profile-level-id=640c1f", NULL},
        {"packetization-mode=0;profile-level-id=42e01f", NULL},
        {"profile-level-id=42e01f", NULL},
    };
    cs_sdp_local_t l = local();
    for (size_t i = 0; i < CS_ARRAY_LEN(cases); i++) {
        char sdp[1024];
        snprintf(sdp, sizeof sdp, "%s%s\r\n", head, cases[i].offered);
        parse_offer_text(sdp);
        int rc = cs_sdp_answer(offer, &l, answer, &err);
        if (!cases[i].answered) {
            assert_int_equal(rc, CS_EUNSUPPORTED);
            continue;
        }
        if (rc != CS_OK)
            fail_msg("case %zu refused: %s", i, err.message);
        const cs_sdp_media_t *v = &answer->media[0];
        assert_int_equal(v->n_codecs, 2);
        assert_string_equal(v->codecs[0].fmtp, cases[i].answered);
        assert_string_equal(v->codecs[1].fmtp, "apt=102");
        assert_int_equal(v->direction, CS_SDP_DIR_RECVONLY);
    }
    assert_int_equal(cs_sdp_h264_profile(0x42e01f), CS_SDP_H264_CONSTRAINED_BASELINE);
    assert_int_equal(cs_sdp_h264_profile(0x58f01f), CS_SDP_H264_CONSTRAINED_BASELINE);
    assert_int_equal(cs_sdp_h264_profile(0x42001f), CS_SDP_H264_BASELINE);
    assert_int_equal(cs_sdp_h264_profile(0x4d001f), CS_SDP_H264_MAIN);
    assert_int_equal(cs_sdp_h264_profile(0x640c1f), CS_SDP_H264_CONSTRAINED_HIGH);
    assert_int_equal(cs_sdp_h264_profile(0x64001f), CS_SDP_H264_HIGH);
    assert_int_equal(cs_sdp_h264_profile(0xf4001f), CS_SDP_H264_PREDICTIVE_HIGH_444);
    assert_int_equal(cs_sdp_h264_profile(0x42f11f), CS_SDP_H264_UNKNOWN);
}

/* ---- an offer the gateway builds in code --------------------------------------- */

static void test_offer_built_in_code(void **state)
{
    (void)state;
    cs_sdp_t *s = offer;
    memset(s, 0, sizeof *s);
    s->has_bundle = true;
    s->n_bundle = 1;
    strcpy(s->bundle[0], "0");
    s->n_media = 1;
    cs_sdp_media_t *m = &s->media[0];
    m->kind = CS_SDP_KIND_VIDEO;
    m->proto = CS_SDP_PROTO_UDP_TLS_RTP_SAVPF;
    m->port = 9;
    strcpy(m->mid, "0");
    m->direction = CS_SDP_DIR_SENDONLY;
    m->rtcp_mux = true;
    m->transport = (cs_sdp_transport_t){.setup = CS_SDP_SETUP_ACTPASS};
    strcpy(m->transport.ice_ufrag, "gw01");
    strcpy(m->transport.ice_pwd, "gatewayIcePassword0123456");
    m->transport.fingerprint = local().fingerprint;
    m->n_codecs = 2;
    m->codecs[0] = (cs_sdp_codec_t){.pt = 96, .clock = 90000, .fb = CS_SDP_FB_NACK};
    strcpy(m->codecs[0].name, "VP8");
    m->codecs[1] = (cs_sdp_codec_t){.pt = 97, .clock = 90000};
    strcpy(m->codecs[1].name, "rtx");
    strcpy(m->codecs[1].fmtp, "apt=96");
    assert_int_equal(cs_sdp_media_add_stream(m, 7, 8, "consilium", "p1", "v1"), CS_OK);
    size_t len;
    assert_int_equal(cs_sdp_write(s, text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
    assert_string_equal(text,
                        "v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
                        "a=group:BUNDLE 0\r\n"
                        "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n"
                        "a=ice-ufrag:gw01\r\na=ice-pwd:gatewayIcePassword0123456\r\n"
                        "a=fingerprint:sha-256 A0:A1:A2:A3:A4:A5:A6:A7:A8:A9:AA:AB:AC:AD:AE:AF:"
                        "B0:B1:B2:B3:B4:B5:B6:B7:B8:B9:BA:BB:BC:BD:BE:BF\r\n"
                        "a=setup:actpass\r\na=mid:0\r\na=sendonly\r\na=msid:p1 v1\r\n"
                        "a=rtcp-mux\r\na=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 nack\r\n"
                        "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"
                        "a=ssrc-group:FID 7 8\r\n"
                        "a=ssrc:7 cname:consilium\r\na=ssrc:7 msid:p1 v1\r\n"
                        "a=ssrc:8 cname:consilium\r\na=ssrc:8 msid:p1 v1\r\n");
    assert_int_equal(cs_sdp_parse(text, len, again, &err), CS_OK);
    assert_int_equal(again->media[0].codecs[1].params.apt, 96);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_offer),
        cmocka_unit_test(test_codec_preferences),
        cmocka_unit_test(test_chromium_simulcast),
        cmocka_unit_test(test_simulcast_limits),
        cmocka_unit_test(test_data_channel_rejected),
        cmocka_unit_test(test_recvonly_gets_streams),
        cmocka_unit_test(test_firefox_offer),
        cmocka_unit_test(test_firefox_simulcast),
        cmocka_unit_test(test_bundle_only_section),
        cmocka_unit_test(test_setup_roles),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_nothing_usable),
        cmocka_unit_test(test_local_checks),
        cmocka_unit_test(test_h264_policy),
        cmocka_unit_test(test_offer_built_in_code),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
