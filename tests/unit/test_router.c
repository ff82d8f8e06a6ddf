/*
 * test_router.c — media/router, the SFU of one room, driven like the peer
 * layer drives it: real Chromium and Firefox offers (tests/unit/sdp/) or
 * small ones built here, answered with cs_sdp_answer and completed by
 * cs_router_member_negotiate; synthetic RTP in; every packet the router
 * hands to send_rtp/send_rtcp captured and parsed (router_test_room.h).
 *
 * Covered: names and members, SSRC/payload type/mid rewriting and continuous
 * sequence numbers, assignment of tracks to sections (join order, inactive
 * spares, stable across renegotiation), on_tracks_changed, no echo to the
 * publisher, publish limits and sources, Firefox to Chromium.
 * RTCP, repair, simulcast and stats are in test_router_rtcp.c.
 */

#include "tests/unit/router_test_room.h"

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_names_and_members(void **state)
{
    (void)state;
    cs_router_source_t s;
    assert_string_equal(cs_router_source_name(CS_ROUTER_SOURCE_SCREEN), "screen");
    assert_int_equal(cs_router_source_parse("camera", &s), CS_OK);
    assert_int_equal(s, CS_ROUTER_SOURCE_CAMERA);
    assert_int_equal(cs_router_source_parse("webcam", &s), CS_EINVAL);
    assert_string_equal(cs_router_kind_name(CS_ROUTER_AUDIO), "audio");

    int err;
    assert_null(cs_router_new(NULL, NULL, NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    cs_router_config_t bad = {.loss_in_percent = 101};
    assert_null(cs_router_new(&bad, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EINVAL);

    cs_router_t *r = room(NULL);
    assert_null(cs_router_member_add(r, "", "x", NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    char longid[CS_ROUTER_ID_MAX + 1];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_null(cs_router_member_add(r, longid, "x", NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    char id[24];
    for (int i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        snprintf(id, sizeof id, "user %d", i);
        member(r, id, i);
    }
    assert_null(cs_router_member_add(r, "user 0", "x", NULL, &err));
    assert_int_equal(err, CS_EEXIST);
    assert_null(cs_router_member_add(r, "ninth", "x", NULL, &err));
    assert_int_equal(err, CS_ELIMIT);
    assert_int_equal(cs_router_member_count(r), CS_ROUTER_MAX_MEMBERS);
    cs_router_member_t *m = cs_router_member_find(r, "user 3");
    assert_non_null(m);
    cs_router_member_remove(r, m);
    assert_null(cs_router_member_find(r, "user 3"));
    assert_int_equal(cs_router_member_count(r), CS_ROUTER_MAX_MEMBERS - 1);
    assert_int_equal(tracks_changed, 0);            /* it published nothing */
    assert_non_null(member(r, "ninth", 9));
    cs_router_free(r);
    cs_router_free(NULL);
}

static void test_two_members_forward(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    /* Each one's camera was asked for a keyframe when the other connected. */
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t fb;
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, 0), 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &fb), CS_OK);
    assert_int_equal(fb.media_ssrc, AV_VIDEO);
    caps_clear();

    int64_t now = T0;
    for (uint16_t i = 0; i < 5; i++)
        audio_from(d.r, d.a, AV_AUDIO, 65533u + i, now += 20000);
    assert_int_equal(count_rtp(1), 5);
    assert_int_equal(count_rtp(0), 0);              /* never back to the publisher */
    cs_rtp_packet_t q, q0;
    parse_cap(nth_rtp(1, 0), &q0);
    for (size_t i = 0; i < 5; i++) {
        parse_cap(nth_rtp(1, i), &q);
        assert_int_equal(q.hdr.ssrc, d.b_audio);
        assert_int_equal(q.hdr.payload_type, 111);
        assert_int_equal(q.hdr.seq, (uint16_t)(q0.hdr.seq + i));
        assert_int_equal(q.hdr.timestamp, q0.hdr.timestamp + 960 * (uint32_t)i);
        assert_true(ext_str(&q, 4, "0"));
        cs_rtp_ext_t e;
        assert_int_equal(cs_rtp_ext_find(&q, 1, &e), CS_OK);     /* audio level copied */
        assert_int_equal(e.data[0], 0x85);
        assert_int_equal(cs_rtp_ext_find(&q, 2, &e), CS_OK);     /* abs-send-time stamped */
        assert_int_equal(e.len, 3);
        assert_int_equal(cs_rtp_ext_find(&q, 3, &e), CS_ENOTFOUND); /* no transport-cc */
        assert_int_equal(q.payload_len, sizeof opus);
        assert_memory_equal(q.payload, opus, sizeof opus);
    }

    /* Video: nothing before the first keyframe, then everything in order. */
    caps_clear();
    video_from(d.r, d.a, AV_VIDEO, 700, 1, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 701, 2, 400, now += 1000);
    assert_int_equal(count_rtp(1), 0);
    video_from(d.r, d.a, AV_VIDEO, 702, 0, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 703, 2, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 704, 1, 400, now += 1000);
    assert_int_equal(count_rtp(1), 3);
    assert_int_equal(count_rtp(0), 0);
    parse_cap(nth_rtp(1, 0), &q0);
    assert_int_equal(q0.hdr.ssrc, d.b_video);
    assert_int_equal(q0.hdr.payload_type, 96);
    assert_true(ext_str(&q0, 4, "1"));
    for (size_t i = 1; i < 3; i++) {
        parse_cap(nth_rtp(1, i), &q);
        assert_int_equal(q.hdr.seq, (uint16_t)(q0.hdr.seq + i));
        assert_int_equal(q.hdr.timestamp - q0.hdr.timestamp, 3000 * (uint32_t)i);
    }
    /* And bob's audio reaches alice on her section's SSRC. */
    caps_clear();
    audio_from(d.r, d.b, AV_AUDIO, 9, now += 20000);
    assert_int_equal(count_rtp(0), 1);
    assert_int_equal(count_rtp(1), 0);
    parse_cap(nth_rtp(0, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.a_audio);

    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.rtp_in, 11);
    assert_int_equal(c.rtp_out, 9);
    assert_int_equal(c.dropped_malformed + c.dropped_unknown_ssrc, 0);
    cs_router_free(d.r);
}

/* Regression: a long-lived stream's "older than the segment" floor did not
 * move, so once the publisher's seq was half the sequence space past the
 * segment's first packet every packet was dropped for 32,768 packets, and the
 * next one jumped by as much (libsrtp then refused it as a replay). */
static void test_long_stream_crosses_half_the_sequence_space(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    uint32_t total = 70000;
    uint16_t last = 0;
    size_t got = 0;
    for (uint32_t i = 0; i < total; i++) {
        caps_clear();
        audio_from(d.r, d.a, AV_AUDIO, 1000 + i, now += 20000);
        if (count_rtp(1) != 1)
            continue;
        cs_rtp_packet_t q;
        parse_cap(nth_rtp(1, 0), &q);
        if (got)
            assert_int_equal(q.hdr.seq, (uint16_t)(last + 1));
        last = q.hdr.seq;
        got++;
        if (i % 500 == 0)
            cs_router_tick(d.r, now);
    }
    assert_int_equal(got, total);
    cs_router_free(d.r);
}

static void test_third_member_and_assignments(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    cs_router_member_t *c = member(d.r, "carol", 2);
    const sec_t rx[] = {SEC('a', "recvonly", .ssrc = 0), SEC('a', "recvonly", .ssrc = 0), SEC('v', "recvonly", .ssrc = 0),
                        SEC('v', "recvonly", .ssrc = 0), SEC('v', "recvonly", .ssrc = 0)};
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(tracks_changed, 2);            /* carol publishes nothing */
    assert_int_equal(n_assigned, 4);
    const char *want[] = {"alice:microphone", "bob:microphone", "alice:camera", "bob:camera"};
    for (int i = 0; i < 4; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "%d", i);
        assert_string_equal(assigned[i].mid, mid);
        assert_string_equal(assigned[i].track.track_id, want[i]);
        assert_int_equal(answer->media[i].direction, CS_SDP_DIR_SENDONLY);
    }
    /* A spare section: inactive, no SSRC. */
    assert_int_equal(answer->media[4].direction, CS_SDP_DIR_INACTIVE);
    assert_int_equal(answer->media[4].n_ssrcs, 0);
    /* Sections only we send on lose transport-cc (REMB instead). */
    assert_int_equal(cs_sdp_extmap_id(&answer->media[2], CS_SDP_EXT_TWCC), 0);
    assert_int_not_equal(cs_sdp_extmap_id(&answer->media[2], CS_SDP_EXT_ABS_SEND_TIME), 0);
    assert_int_equal(answer->media[2].codecs[0].fb & CS_SDP_FB_TRANSPORT_CC, 0);
    assert_true(answer->media[2].codecs[0].fb & CS_SDP_FB_GOOG_REMB);
    uint32_t ssrcs[4];
    for (int i = 0; i < 4; i++)
        ssrcs[i] = answer_ssrc((unsigned)i);
    assert_string_equal(answer->media[1].msid_stream, "bob");
    cs_router_member_set_connected(d.r, c, true);

    /* Alice's audio reaches bob and carol, each with their own SSRC. */
    caps_clear();
    int64_t now = T0;
    audio_from(d.r, d.a, AV_AUDIO, 50, now);
    assert_int_equal(count_rtp(0), 0);
    assert_int_equal(count_rtp_ssrc(1, d.b_audio), 1);
    assert_int_equal(count_rtp_ssrc(2, ssrcs[0]), 1);
    audio_from(d.r, d.b, AV_AUDIO, 50, now);
    assert_int_equal(count_rtp_ssrc(2, ssrcs[1]), 1);
    assert_int_equal(count_rtp(1), 1);

    /* Renegotiating the same offer changes nothing. */
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(answer_ssrc((unsigned)i), ssrcs[i]);
    assert_int_equal(tracks_changed, 2);

    /* Bob leaves: his sections go inactive, alice's keep their SSRCs. */
    cs_router_member_remove(d.r, d.b);
    assert_int_equal(tracks_changed, 3);
    assert_int_equal(cs_router_tracks(d.r, NULL, 0), 2);
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 2);
    assert_int_equal(answer_ssrc(0), ssrcs[0]);
    assert_int_equal(answer_ssrc(2), ssrcs[2]);
    assert_int_equal(answer->media[1].direction, CS_SDP_DIR_INACTIVE);
    assert_int_equal(answer->media[3].direction, CS_SDP_DIR_INACTIVE);

    /* Dave joins and publishes: the free sections take his tracks. */
    cs_router_member_t *dv = member(d.r, "dave@example.org", 3);
    assert_int_equal(negotiate_fixture(d.r, dv, "chromium-offer-av.sdp"), CS_OK);
    assert_int_equal(tracks_changed, 4);
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 4);
    assert_string_equal(assigned[1].track.track_id, "dave@example.org:microphone");
    assert_string_equal(assigned[3].track.track_id, "dave@example.org:camera");
    assert_string_equal(answer->media[3].msid_stream, "dave_example.org");
    assert_int_equal(answer_ssrc(0), ssrcs[0]);

    /* Alice stops publishing (a recvonly offer): her tracks disappear. */
    parse_fixture("chromium-offer-recvonly.sdp");
    assert_int_equal(negotiate(d.r, d.a), CS_OK);
    assert_int_equal(tracks_changed, 5);
    cs_router_track_t tr[8];
    assert_int_equal(cs_router_tracks(d.r, tr, 8), 2);
    assert_string_equal(tr[0].track_id, "dave@example.org:microphone");
    assert_string_equal(tr[1].track_id, "dave@example.org:camera");
    caps_clear();
    audio_from(d.r, d.a, AV_AUDIO, 51, now);
    assert_int_equal(n_caps, 0);
    cs_router_counters_t k;
    cs_router_counters(d.r, &k);
    assert_int_equal(k.dropped_unknown_ssrc, 1);
    cs_router_free(d.r);
}

static void test_publish_limits_and_sources(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0);
    const sec_t four[] = {SEC('a', "sendonly", .ssrc = 1), SEC('v', "sendonly", .ssrc = 2, .rtx = 3), SEC('v', "sendonly", .ssrc = 4, .rtx = 5),
                          SEC('v', "sendonly", .ssrc = 6, .rtx = 7)};
    assert_int_equal(negotiate_built(r, a, four, 4), CS_ELIMIT);
    assert_int_equal(tracks_changed, 0);
    assert_int_equal(cs_router_tracks(r, NULL, 0), 0);
    const sec_t two_mics[] = {SEC('a', "sendonly", .ssrc = 1), SEC('a', "sendonly", .ssrc = 2)};
    assert_int_equal(negotiate_built(r, a, two_mics, 2), CS_ELIMIT);

    /* Signalling says mid 1 is the screen: the other video is the camera. */
    const sec_t three[] = {SEC('a', "sendonly", .ssrc = 1), SEC('v', "sendonly", .ssrc = 2, .rtx = 3), SEC('v', "sendonly", .ssrc = 4, .rtx = 5)};
    cs_router_section_source_t src[] = {{"1", CS_ROUTER_SOURCE_SCREEN}};
    parse_text(build_offer(three, 3));
    assert_int_equal(negotiate_src(r, a, src, 1), CS_OK);
    assert_int_equal(tracks_changed, 1);
    cs_router_track_t tr[4];
    assert_int_equal(cs_router_tracks(r, tr, 4), 3);
    assert_string_equal(tr[0].track_id, "alice:microphone");
    assert_string_equal(tr[1].track_id, "alice:camera");
    assert_string_equal(tr[2].track_id, "alice:screen");
    /* A microphone cannot be video; a source cannot be named twice. */
    cs_router_section_source_t bad[] = {{"1", CS_ROUTER_SOURCE_MICROPHONE}};
    assert_int_equal(negotiate_src(r, a, bad, 1), CS_EINVAL);
    cs_router_section_source_t twice[] = {{"1", CS_ROUTER_SOURCE_SCREEN},
                                          {"2", CS_ROUTER_SOURCE_SCREEN}};
    assert_int_equal(negotiate_src(r, a, twice, 2), CS_EINVAL);
    assert_int_equal(tracks_changed, 1);
    /* An answer that is not for this offer. */
    cs_sdp_local_t l = fixture_local();
    assert_int_equal(cs_sdp_answer(offer, &l, answer, NULL), CS_OK);
    answer->n_media--;
    assert_int_equal(cs_router_member_negotiate(r, a, offer, NULL, 0, answer, NULL, 0, NULL),
                     CS_EINVAL);
    /* The same three again: nothing changed. */
    assert_int_equal(negotiate_src(r, a, src, 1), CS_OK);
    assert_int_equal(tracks_changed, 1);
    /* Swapping what mid 1 carries is a different track. */
    cs_router_section_source_t swap[] = {{"1", CS_ROUTER_SOURCE_CAMERA},
                                         {"2", CS_ROUTER_SOURCE_SCREEN}};
    assert_int_equal(negotiate_src(r, a, swap, 2), CS_OK);
    assert_int_equal(tracks_changed, 2);
    cs_router_free(r);
}


static void test_firefox_to_chromium(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "firefox-offer-av.sdp"), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    assert_int_equal(n_assigned, 2);
    uint32_t ba = answer_ssrc(0), bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    exts_t x = {.mid_id = 3, .mid = "0"};
    size_t n = mk_rtp(857962675u, 109, 1, 0, &x, opus, sizeof opus);
    cs_router_on_rtp(r, a, pkt, n, T0);
    uint8_t pl[100];
    x.mid = "1";
    n = mk_rtp(2294343916u, 120, 1, 0, &x, pl, vp8(pl, sizeof pl, 0, 1));
    cs_router_on_rtp(r, a, pkt, n, T0);
    assert_int_equal(count_rtp(1), 2);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, ba);
    assert_int_equal(q.hdr.payload_type, 111);       /* Firefox's 109 as Chromium's 111 */
    assert_true(ext_str(&q, 4, "0"));
    parse_cap(nth_rtp(1, 1), &q);
    assert_int_equal(q.hdr.ssrc, bv);
    assert_int_equal(q.hdr.payload_type, 96);        /* 120 as 96 */
    cs_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_members),
        cmocka_unit_test(test_two_members_forward),
        cmocka_unit_test(test_long_stream_crosses_half_the_sequence_space),
        cmocka_unit_test(test_third_member_and_assignments),
        cmocka_unit_test(test_publish_limits_and_sources),
        cmocka_unit_test(test_firefox_to_chromium),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
