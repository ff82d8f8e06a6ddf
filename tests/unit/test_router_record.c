/*
 * test_router_record.c — media/router's recording tap, on the shared room
 * fixture (router_test_room.h): what a recorded member publishes reaches the
 * record callback once per fresh packet, as it arrived, with the right
 * description of its stream (kind, source, codec, payload type, simulcast
 * layer, stable stream ids, a new generation when a stream starts over);
 * RTX arrives unwrapped, a repair that fills a hole is recorded, duplicates
 * are not; an unrecorded member's packets are not; switching on asks for
 * keyframes (rate-limited); switching off stops.
 */

#include "tests/unit/router_test_room.h"

/* ---- what the tap saw ---------------------------------------------------------------------- */

#define MAX_RECS 512

typedef struct {
    int member;                 /* member_user */
    cs_router_record_track_t t; /* strings below, not the room's */
    char codec[CS_SDP_NAME_MAX], member_id[CS_ROUTER_ID_MAX], name[CS_ROUTER_ID_MAX];
    int64_t now;
    size_t len;
    uint8_t buf[1600];
} rec_t;

static rec_t recs[MAX_RECS];
static size_t n_recs;

static void on_record(void *room_user, void *member_user, const cs_router_record_track_t *t,
                      const uint8_t *buf, size_t len, int64_t now_us)
{
    (void)room_user;
    assert_true(n_recs < MAX_RECS);
    assert_true(len <= sizeof recs[0].buf);
    assert_true(t->stream < CS_ROUTER_RECORD_STREAMS);
    rec_t *r = &recs[n_recs++];
    r->member = (int)(intptr_t)member_user;
    r->t = *t;
    cs_strlcpy(r->codec, t->codec, sizeof r->codec);
    cs_strlcpy(r->member_id, t->member_id, sizeof r->member_id);
    cs_strlcpy(r->name, t->name, sizeof r->name);
    r->t.codec = r->t.member_id = r->t.name = NULL;
    r->now = now_us;
    r->len = len;
    memcpy(r->buf, buf, len);
}

static void recs_clear(void)
{
    n_recs = 0;
}

static void rec_parse(const rec_t *r, cs_rtp_packet_t *p)
{
    assert_int_equal(cs_rtp_parse(r->buf, r->len, p), CS_OK);
}

/* The duo room (alice 0, bob 1, both publishing chromium-offer-av) with the
 * tap; cfg as for duo(). */
static void duo_recorded(duo_t *d, const cs_router_config_t *cfg)
{
    duo(d, cfg);
    cs_router_set_record_callback(d->r, on_record);
    recs_clear();
    caps_clear();
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_recorded_member_only(void **state)
{
    (void)state;
    duo_t d;
    duo_recorded(&d, NULL);
    int64_t now = T0;
    audio_from(d.r, d.a, AV_AUDIO, 1, now += 20000);
    assert_int_equal(n_recs, 0);                    /* not switched on yet */

    cs_router_member_set_recording(d.r, d.a, true);
    audio_from(d.r, d.a, AV_AUDIO, 2, now += 20000);
    uint8_t sent[1600];
    size_t sent_len = mk_rtp(AV_AUDIO, 111, 2, 2 * 960,
                             &(exts_t){.mid_id = 4, .mid = "0", .level_id = 1, .level = 0x85,
                                       .twcc_id = 3, .twcc = 2},
                             opus, sizeof opus);
    memcpy(sent, pkt, sent_len);
    start_video(&d, 50, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 51, 1, 400, now += 1000);
    audio_from(d.r, d.b, AV_AUDIO, 2, now += 1000);   /* bob is not recorded */
    video_from(d.r, d.b, AV_VIDEO, 70, 0, 300, now);
    assert_int_equal(n_recs, 3);

    const rec_t *a = &recs[0], *v = &recs[1], *v2 = &recs[2];
    assert_int_equal(a->member, 0);
    assert_int_equal(a->t.kind, CS_ROUTER_AUDIO);
    assert_int_equal(a->t.source, CS_ROUTER_SOURCE_MICROPHONE);
    assert_int_equal(a->t.payload_type, 111);
    assert_int_equal(a->t.clock_rate, 48000);
    assert_string_equal(a->codec, "opus");
    assert_int_equal(a->t.layer, 0);
    assert_string_equal(a->member_id, "alice");
    assert_string_equal(a->name, "alice");
    assert_int_equal(a->now, T0 + 40000);
    /* Byte for byte what alice sent: nothing rewritten. */
    assert_int_equal(a->len, sent_len);
    assert_memory_equal(a->buf, sent, sent_len);

    assert_int_equal(v->t.kind, CS_ROUTER_VIDEO);
    assert_int_equal(v->t.source, CS_ROUTER_SOURCE_CAMERA);
    assert_int_equal(v->t.payload_type, 96);
    assert_int_equal(v->t.clock_rate, 90000);
    assert_string_equal(v->codec, "VP8");
    assert_int_not_equal(v->t.stream, a->t.stream);
    assert_int_equal(v2->t.stream, v->t.stream);
    assert_true(v2->t.generation == v->t.generation);
    cs_rtp_packet_t p;
    rec_parse(v2, &p);
    assert_int_equal(p.hdr.ssrc, AV_VIDEO);
    assert_int_equal(p.hdr.seq, 51);
    assert_int_equal(p.payload_len, 400);
    /* Forwarding went on as before. */
    assert_int_equal(count_rtp_ssrc(1, d.b_video), 2);

    /* Bob too, once switched on: his own stream ids (the same numbers are fine:
     * ids are per member). */
    cs_router_member_set_recording(d.r, d.b, true);
    recs_clear();
    audio_from(d.r, d.b, AV_AUDIO, 3, now += 1000);
    assert_int_equal(n_recs, 1);
    assert_int_equal(recs[0].member, 1);
    assert_string_equal(recs[0].member_id, "bob");
    assert_int_equal(recs[0].t.stream, a->t.stream);

    /* Switching off stops; on again goes on. */
    cs_router_member_set_recording(d.r, d.a, false);
    recs_clear();
    audio_from(d.r, d.a, AV_AUDIO, 3, now += 20000);
    video_from(d.r, d.a, AV_VIDEO, 52, 1, 400, now += 1000);
    assert_int_equal(n_recs, 0);
    cs_router_member_set_recording(d.r, d.a, true);
    audio_from(d.r, d.a, AV_AUDIO, 4, now += 20000);
    assert_int_equal(n_recs, 1);
    cs_router_free(d.r);
}

static void test_duplicates_and_drops_not_recorded(void **state)
{
    (void)state;
    duo_t d;
    duo_recorded(&d, NULL);
    cs_router_member_set_recording(d.r, d.a, true);
    int64_t now = T0;
    for (uint32_t s = 10; s < 15; s++)
        audio_from(d.r, d.a, AV_AUDIO, s, now += 20000);
    audio_from(d.r, d.a, AV_AUDIO, 12, now += 1000);  /* a duplicate */
    audio_from(d.r, d.a, AV_AUDIO, 14, now += 1000);  /* another */
    assert_int_equal(n_recs, 5);
    /* Dropped by the router: never recorded. */
    size_t n = mk_rtp(AV_AUDIO, 63, 15, 15 * 960, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);           /* payload type not negotiated */
    n = mk_rtp(4242, 111, 15, 15 * 960, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);           /* unknown SSRC */
    cs_router_on_rtp(d.r, d.a, pkt, 5, now);           /* malformed */
    assert_int_equal(n_recs, 5);
    for (size_t i = 0; i < n_recs; i++) {
        cs_rtp_packet_t p;
        rec_parse(&recs[i], &p);
        assert_int_equal(p.hdr.seq, 10 + i);
    }
    /* With test loss on arrival, what is lost is not recorded either. */
    cs_router_free(d.r);
    cs_router_config_t lossy = {.loss_in_percent = 50, .loss_seed = 9};
    duo_recorded(&d, &lossy);
    cs_router_member_set_recording(d.r, d.a, true);
    for (uint32_t s = 0; s < 100; s++)
        audio_from(d.r, d.a, AV_AUDIO, 100 + s, now += 20000);
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_true(c.dropped_test_loss > 0);
    assert_int_equal(n_recs + c.dropped_test_loss, 100);
    cs_router_free(d.r);
}

static size_t rtx_packet(uint16_t rtx_seq, uint16_t osn, uint8_t fill)
{
    uint8_t pl[300];
    vp8(pl + 2, 200, 2, fill);
    cs_wr16(pl, osn);
    exts_t x = {.mid_id = 4, .mid = "1"};
    return mk_rtp(AV_RTX, 97, rtx_seq, osn * 3000u, &x, pl, 202);
}

static void test_repair_recorded_unwrapped(void **state)
{
    (void)state;
    duo_t d;
    duo_recorded(&d, NULL);
    cs_router_member_set_recording(d.r, d.a, true);
    int64_t now = T0;
    video_from(d.r, d.a, AV_VIDEO, 100, 0, 300, now);
    video_from(d.r, d.a, AV_VIDEO, 101, 2, 300, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 104, 1, 300, now += 1000);
    assert_int_equal(n_recs, 3);
    unsigned stream = recs[0].t.stream;
    uint64_t gen = recs[0].t.generation;

    /* 102 repaired by RTX: recorded as the media packet it stands for. */
    size_t len = rtx_packet(7, 102, 0x21);
    cs_router_on_rtp(d.r, d.a, pkt, len, now += 1000);
    assert_int_equal(n_recs, 4);
    const rec_t *r = &recs[3];
    cs_rtp_packet_t p;
    rec_parse(r, &p);
    assert_int_equal(p.hdr.ssrc, AV_VIDEO);
    assert_int_equal(p.hdr.seq, 102);
    assert_int_equal(p.hdr.payload_type, 96);
    assert_int_equal(p.hdr.timestamp, 102 * 3000u);
    assert_int_equal(p.payload_len, 200);
    assert_int_equal(p.payload[2], 0x21);
    assert_int_equal(r->t.payload_type, 96);
    assert_string_equal(r->codec, "VP8");
    assert_int_equal(r->t.stream, stream);
    assert_true(r->t.generation == gen);

    /* The same repair again, and an original that arrives late after its
     * repair: duplicates, not recorded. A late original that fills the
     * other hole is. */
    len = rtx_packet(8, 102, 0x21);
    cs_router_on_rtp(d.r, d.a, pkt, len, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 102, 2, 300, now += 1000);
    assert_int_equal(n_recs, 4);
    video_from(d.r, d.a, AV_VIDEO, 103, 2, 300, now += 1000);
    assert_int_equal(n_recs, 5);
    rec_parse(&recs[4], &p);
    assert_int_equal(p.hdr.seq, 103);
    /* A padding-only probe on the RTX stream carries no media. */
    cs_rtp_header_t h = {.payload_type = 97, .seq = 9, .ssrc = AV_RTX, .padding_len = 200};
    int plen = cs_rtp_serialise(&h, NULL, 0, NULL, 0, pkt, sizeof pkt);
    cs_router_on_rtp(d.r, d.a, pkt, (size_t)plen, now);
    assert_int_equal(n_recs, 5);
    cs_router_free(d.r);
}

static void test_payload_type_and_restart_streams(void **state)
{
    (void)state;
    duo_t d;
    duo_recorded(&d, NULL);
    cs_router_member_set_recording(d.r, d.a, true);
    int64_t now = T0;
    video_from(d.r, d.a, AV_VIDEO, 1, 0, 300, now += 1000);
    /* H.264 on the same track (Chromium's offer has it as 108): its own stream. */
    static const uint8_t idr[] = {0x65, 0x88, 0x84, 0x00};
    exts_t x = {.mid_id = 4, .mid = "1"};
    size_t n = mk_rtp(AV_VIDEO, 108, 2, 6000, &x, idr, sizeof idr);
    cs_router_on_rtp(d.r, d.a, pkt, n, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 3, 1, 300, now += 1000);
    assert_int_equal(n_recs, 3);
    assert_int_equal(recs[1].t.payload_type, 108);
    assert_string_equal(recs[1].codec, "H264");
    assert_int_equal(recs[1].t.clock_rate, 90000);
    assert_int_not_equal(recs[1].t.stream, recs[0].t.stream);
    assert_int_equal(recs[2].t.stream, recs[0].t.stream);
    assert_true(recs[1].t.generation == recs[0].t.generation);

    /* A renegotiation that keeps the tracks keeps streams and generations. */
    unsigned audio_stream;
    uint64_t audio_gen;
    audio_from(d.r, d.a, AV_AUDIO, 1, now += 1000);
    audio_stream = recs[3].t.stream;
    audio_gen = recs[3].t.generation;
    assert_int_equal(negotiate_fixture(d.r, d.a, "chromium-offer-av.sdp"), CS_OK);
    audio_from(d.r, d.a, AV_AUDIO, 2, now += 20000);
    assert_int_equal(n_recs, 5);
    assert_int_equal(recs[4].t.stream, audio_stream);
    assert_true(recs[4].t.generation == audio_gen);

    /* The browser restarts its microphone with a new SSRC (known by mid):
     * the same stream id, a new generation. */
    audio_from(d.r, d.a, 777777u, 5000, now += 20000);
    assert_int_equal(n_recs, 6);
    assert_int_equal(recs[5].t.stream, audio_stream);
    assert_true(recs[5].t.generation != audio_gen);
    cs_rtp_packet_t p;
    rec_parse(&recs[5], &p);
    assert_int_equal(p.hdr.ssrc, 777777u);
    cs_router_free(d.r);
}

/* ---- simulcast ------------------------------------------------------------------------------- */

static void test_simulcast_layers_distinguished(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_set_record_callback(r, on_record);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = 555), SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(r, a, pub, 2), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    cs_router_member_set_recording(r, a, true);
    recs_clear();
    /* "q" is sent at the highest rate here, "f" at the lowest: once measured,
     * the layer numbers follow the rates, not the names. */
    static const char *const rid[3] = {"q", "h", "f"};
    static const uint32_t ssrc[3] = {1001, 1002, 1003};
    static const size_t size[3] = {1100, 500, 200};
    int64_t now = T0;
    uint16_t seq = 1;
    static const uint8_t want_first[3] = {0, 1, 2}, want_later[3] = {2, 1, 0};
    unsigned stream[3] = {0};
    for (int round = 0; round < 150; round++, seq++) {
        now += 20000;
        recs_clear();
        for (int l = 0; l < 3; l++) {
            uint8_t pl[1200];
            exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = rid[l]};
            size_t n = mk_rtp(ssrc[l], 96, seq, seq * 1800u, &x, pl,
                              vp8(pl, size[l], round % 50 ? 1 : 0, (uint8_t)l));
            cs_router_on_rtp(r, a, pkt, n, now);
            assert_int_equal(n_recs, (size_t)l + 1);
            const rec_t *c = &recs[l];
            cs_rtp_packet_t p;
            rec_parse(c, &p);
            assert_int_equal(p.hdr.ssrc, ssrc[l]);
            assert_int_equal(p.hdr.seq, seq);
            assert_int_equal(c->t.kind, CS_ROUTER_VIDEO);
            assert_int_equal(c->t.source, CS_ROUTER_SOURCE_CAMERA);
            if (round == 0) {
                assert_int_equal(c->t.layer, want_first[l]);   /* a=simulcast order */
                stream[l] = c->t.stream;
            }
            if (round == 149)
                assert_int_equal(c->t.layer, want_later[l]);   /* by measured rate */
            /* The stream id names the layer, whatever its place. */
            assert_int_equal(c->t.stream, stream[l]);
        }
        cs_router_tick(r, now);
    }
    assert_int_not_equal(stream[0], stream[1]);
    assert_int_not_equal(stream[1], stream[2]);
    assert_int_not_equal(stream[0], stream[2]);
    cs_router_free(r);
}

/* ---- keyframes ------------------------------------------------------------------------------- */

static size_t plis_to(int to, uint32_t media)
{
    size_t n = count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), hits = 0;
    for (size_t i = 0; i < n; i++) {
        cs_rtcp_pkt_t p;
        cs_rtcp_fb_t ids;
        count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, i);
        assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
        hits += ids.media_ssrc == media;
    }
    return hits;
}

static void test_switch_on_asks_for_keyframes(void **state)
{
    (void)state;
    duo_t d;
    duo_recorded(&d, NULL);
    int64_t now = T0;
    /* The room's time moves on (the connect-time requests are long past). */
    audio_from(d.r, d.a, AV_AUDIO, 1, now);
    audio_from(d.r, d.b, AV_AUDIO, 1, now);
    caps_clear();
    cs_router_member_set_recording(d.r, d.a, true);
    assert_int_equal(plis_to(0, AV_VIDEO), 1);      /* alice's camera */
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, -1, NULL, 0), 1);   /* nothing for audio */
    assert_int_equal(count_rtcp(1, CS_RTCP_PSFB, -1, NULL, 0), 0);   /* bob is not recorded */

    /* Again at once: within the rate limit, sent by the tick when it passed. */
    caps_clear();
    cs_router_member_set_recording(d.r, d.a, true);
    assert_int_equal(plis_to(0, AV_VIDEO), 0);
    cs_router_tick(d.r, now + 200000);
    assert_int_equal(plis_to(0, AV_VIDEO), 0);
    cs_router_tick(d.r, now + (int64_t)CS_ROUTER_KEYFRAME_INTERVAL_MS * 1000);
    assert_int_equal(plis_to(0, AV_VIDEO), 1);

    /* Off: no request. Its transport coming back while recorded: one. */
    now += 2000000;
    cs_router_tick(d.r, now);
    caps_clear();
    cs_router_member_set_recording(d.r, d.a, false);
    cs_router_member_set_recording(d.r, d.b, false);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, -1, NULL, 0), 0);
    cs_router_member_set_recording(d.r, d.a, true);
    cs_router_member_set_connected(d.r, d.a, false);
    cs_router_tick(d.r, now += 1000000);
    caps_clear();
    cs_router_member_set_connected(d.r, d.a, true);
    assert_int_equal(plis_to(0, AV_VIDEO), 1);
    /* Not recorded: its transport coming back asks only for what it receives. */
    cs_router_tick(d.r, now += 1000000);
    caps_clear();
    cs_router_member_set_connected(d.r, d.b, false);
    cs_router_member_set_connected(d.r, d.b, true);
    assert_int_equal(plis_to(1, AV_VIDEO), 0);
    cs_router_free(d.r);
}

static void test_simulcast_keyframes_every_layer(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = 555), SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(r, a, pub, 2), CS_OK);
    cs_router_member_set_connected(r, a, true);
    int64_t now = T0;
    static const char *const rid[3] = {"q", "h", "f"};
    for (int l = 0; l < 3; l++) {
        uint8_t pl[300];
        exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = rid[l]};
        size_t n = mk_rtp(2001u + (uint32_t)l, 96, 1, 0, &x, pl, vp8(pl, 100, 1, 0));
        cs_router_on_rtp(r, a, pkt, n, now);
    }
    caps_clear();
    cs_router_member_set_recording(r, a, true);
    /* One RTCP packet: a PLI per layer. */
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 3);
    assert_int_equal(plis_to(0, 2001), 1);
    assert_int_equal(plis_to(0, 2002), 1);
    assert_int_equal(plis_to(0, 2003), 1);
    size_t rtcp_packets = 0;
    for (size_t k = 0; k < n_caps; k++)
        rtcp_packets += caps[k].rtcp;
    assert_int_equal(rtcp_packets, 1);
    /* No record callback set: recording is a no-op, not a crash. */
    for (int l = 0; l < 3; l++) {
        uint8_t pl[300];
        size_t n = mk_rtp(2001u + (uint32_t)l, 96, 2, 1800, NULL, pl, vp8(pl, 100, 1, 0));
        cs_router_on_rtp(r, a, pkt, n, now += 1000);
    }
    cs_router_member_set_recording(NULL, a, true);
    cs_router_set_record_callback(NULL, on_record);
    cs_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded_member_only),
        cmocka_unit_test(test_duplicates_and_drops_not_recorded),
        cmocka_unit_test(test_repair_recorded_unwrapped),
        cmocka_unit_test(test_payload_type_and_restart_streams),
        cmocka_unit_test(test_simulcast_layers_distinguished),
        cmocka_unit_test(test_switch_on_asks_for_keyframes),
        cmocka_unit_test(test_simulcast_keyframes_every_layer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
