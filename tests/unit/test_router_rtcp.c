/*
 * test_router_rtcp.c — media/router, the SFU of one room: feedback, repair
 * and layers, on the shared room fixture (router_test_room.h) — NACK
 * answered with and without RTX, the history kept for it, upstream NACKs, PLI forwarding and its
 * rate limit, keyframe gating (VP8 and H.264), SR/RR/SDES, TWCC feedback,
 * malformed input, test loss hooks, stats, and simulcast: layer choice from
 * REMB, RTX by repaired RID, Firefox's FID groups.
 * Negotiation, forwarding and limits are in test_router.c.
 */

#include "tests/unit/router_test_room.h"

static void test_nack_answered_with_rtx(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    int64_t now = T0;
    for (uint16_t s = 100; s < 106; s++)
        video_from(d.r, d.a, AV_VIDEO, s, s == 100 ? 0 : (s % 2 ? 1 : 2), 200 + s, now += 5000);
    assert_int_equal(count_rtp(1), 6);
    cs_rtp_packet_t orig, q;
    cap_t kept = *nth_rtp(1, 3);
    parse_cap(&kept, &orig);
    uint16_t bad = (uint16_t)(orig.hdr.seq + 40);   /* never sent */
    caps_clear();
    uint8_t fb[64];
    uint16_t seqs[] = {orig.hdr.seq, bad};
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, seqs, 2), now += 30000);
    assert_int_equal(count_rtp(1), 1);
    assert_int_equal(count_rtp(0), 0);
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.b_rtx);
    assert_int_equal(q.hdr.payload_type, 97);
    assert_int_equal(q.payload_len, orig.payload_len + 2);
    assert_int_equal(cs_rd16(q.payload), orig.hdr.seq);            /* the OSN */
    assert_memory_equal(q.payload + 2, orig.payload, orig.payload_len);
    /* Unwrapped, it is the packet first sent (but for a later abs-send-time). */
    uint8_t un[1600];
    int n = cs_rtp_rtx_unwrap(q.payload - q.header_len, q.header_len + q.payload_len, 96,
                              d.b_video, un, sizeof un);
    assert_int_equal(n, (int)kept.len);
    cs_rtp_packet_t u;
    assert_int_equal(cs_rtp_parse(un, (size_t)n, &u), CS_OK);
    assert_int_equal(u.hdr.seq, orig.hdr.seq);
    assert_int_equal(u.hdr.timestamp, orig.hdr.timestamp);
    assert_true(ext_str(&u, 4, "1"));
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.nacks_in, 2);
    assert_int_equal(c.retransmissions, 1);
    /* The next retransmission continues the RTX sequence. */
    caps_clear();
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, seqs, 1), now += 30000);
    cs_rtp_packet_t q2;
    parse_cap(nth_rtp(1, 0), &q2);
    assert_int_equal(q2.hdr.seq, (uint16_t)(q.hdr.seq + 1));
    cs_router_free(d.r);
}

static void test_nack_answered_without_rtx(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "chromium-offer-av.sdp"), CS_OK);
    const sec_t rx[] = {SEC('a', "recvonly", .ssrc = 0), SEC('v', "recvonly", .no_rtx = true)};
    assert_int_equal(negotiate_built(r, b, rx, 2), CS_OK);
    assert_int_equal(answer->media[1].n_ssrc_groups, 0);      /* no RTX announced */
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    int64_t now = T0;
    video_from(r, a, AV_VIDEO, 7, 0, 500, now);
    video_from(r, a, AV_VIDEO, 8, 2, 500, now);
    cap_t kept = *nth_rtp(1, 1);
    cs_rtp_packet_t orig;
    parse_cap(&kept, &orig);
    caps_clear();
    uint8_t fb[64];
    cs_router_on_rtcp(r, b, fb, rtcp_nack(fb, bv, &orig.hdr.seq, 1), now);
    assert_int_equal(count_rtp(1), 1);
    /* Same time, same packet: byte for byte. */
    assert_int_equal(nth_rtp(1, 0)->len, kept.len);
    assert_memory_equal(nth_rtp(1, 0)->buf, kept.buf, kept.len);
    cs_router_free(r);
}

/* The retransmission history is about a second of the stream, whatever its
 * bitrate: at ~100 kB/s the byte ring (16 KiB at first) grows until half a
 * second back is still there; a packet whose bytes were written over since
 * is not sent, though its slot still names its sequence number. */
static void test_nack_history_follows_bitrate(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    uint16_t seq = 1000;
    for (int i = 0; i < 500; i++, seq++)    /* 5 s of 1,000-byte packets every 10 ms */
        video_from(d.r, d.a, AV_VIDEO, seq, i % 30 == 0 ? 0 : 1, 1000, now += 10000);
    caps_clear();
    video_from(d.r, d.a, AV_VIDEO, seq, 1, 1000, now += 10000);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    uint16_t out = q.hdr.seq;                 /* the subscriber's numbering */
    uint8_t fb[64];
    uint16_t recent = (uint16_t)(out - 50);   /* 0.5 s and ~50 kB back */
    caps_clear();
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, &recent, 1), now);
    assert_int_equal(count_rtp(1), 1);
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(cs_rd16(q.payload), recent);    /* the OSN */

    /* 450 packets back: inside the 512 slots, but ~450 kB ago. */
    uint16_t old = (uint16_t)(out - 450);
    caps_clear();
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, &old, 1), now += 30000);
    assert_int_equal(count_rtp(1), 0);
    cs_router_free(d.r);
}

static size_t rtx_from(uint32_t ssrc, uint16_t rtx_seq, uint16_t osn, uint32_t ts)
{
    uint8_t pl[300];
    vp8(pl + 2, 200, 2, 0x33);
    cs_wr16(pl, osn);
    exts_t x = {.mid_id = 4, .mid = "1"};
    return mk_rtp(ssrc, 97, rtx_seq, ts, &x, pl, 202);
}

static void test_upstream_nack(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    video_from(d.r, d.a, AV_VIDEO, 100, 0, 300, now);
    video_from(d.r, d.a, AV_VIDEO, 101, 2, 300, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 104, 1, 300, now += 1000);
    caps_clear();
    cs_router_tick(d.r, now += 1000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    uint16_t seqs[16];
    size_t n;
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 16, &n), CS_OK);
    assert_int_equal(ids.media_ssrc, AV_VIDEO);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 102);
    assert_int_equal(seqs[1], 103);
    assert_int_equal(count_rtcp(1, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);

    /* 102 comes back as RTX: bob gets it in its place; 103 is asked again. */
    caps_clear();
    size_t len = rtx_from(AV_RTX, 9, 102, 102 * 3000);
    cs_router_on_rtp(d.r, d.a, pkt, len, now += 1000);
    assert_int_equal(count_rtp(1), 1);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.b_video);
    assert_int_equal(q.payload_len, 200);
    cs_router_tick(d.r, now += 40000);             /* too soon to ask again */
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 16, &n), CS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 103);
    /* A few more tries, then given up after half a second. */
    for (int i = 0; i < 5; i++)
        cs_router_tick(d.r, now += 100000);
    caps_clear();
    for (int i = 0; i < 10; i++)
        cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.nacks_out, 1 + 4);           /* 102 once, 103 four times */
    /* An RTX padding probe is only bandwidth: nothing forwarded. */
    caps_clear();
    cs_rtp_header_t h = {.payload_type = 97, .seq = 10, .ssrc = AV_RTX, .padding_len = 200};
    int plen = cs_rtp_serialise(&h, NULL, 0, NULL, 0, pkt, sizeof pkt);
    cs_router_on_rtp(d.r, d.a, pkt, (size_t)plen, now);
    assert_int_equal(count_rtp(1), 0);
    cs_router_free(d.r);
}

static void test_pli_forwarded_and_rate_limited(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    start_video(&d, 1, now);
    caps_clear();
    uint8_t fb[64];
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, d.b_video), now += 10000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, 0), 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    assert_int_equal(ids.media_ssrc, AV_VIDEO);
    /* Within the interval: remembered, not sent. */
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, d.b_video), now += 100000);
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 1);
    cs_router_tick(d.r, now += 310000);             /* 520 ms after the first */
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 2);
    cs_router_tick(d.r, now += 600000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 2);
    /* A FIR is passed on as a PLI too; a PLI for an unknown SSRC is not. */
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, fb, sizeof fb);
    cs_rtcp_fir_t fir = {.sender_ssrc = 5, .n = 1, .entries = {{d.b_video, 1}}};
    cs_rtcp_fir_append(&b, &fir);
    cs_router_on_rtcp(d.r, d.b, fb, b.len, now += 10000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 3);
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, 42), now += 600000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 3);
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now), 2);
    assert_int_equal(st[1].down.keyframe_requests, 3);
    assert_true(st[0].up.keyframe_requests >= 3);
    cs_router_free(d.r);
}

static void test_keyframe_gating_on_reconnect(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    uint16_t s = start_video(&d, 1, now);
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    assert_int_equal(count_rtp(1), 2);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 1), &q);
    uint16_t last = q.hdr.seq;
    cs_router_member_set_connected(d.r, d.b, false);
    caps_clear();
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    audio_from(d.r, d.a, AV_AUDIO, 1, now);
    cs_router_tick(d.r, now += 2000000);
    for (size_t k = 0; k < n_caps; k++)
        assert_int_not_equal(caps[k].to, 1);        /* nothing to a member that is down */
    caps_clear();
    cs_router_member_set_connected(d.r, d.b, true);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 1);
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    assert_int_equal(count_rtp(1), 0);
    video_from(d.r, d.a, AV_VIDEO, s++, 0, 300, now += 1000);
    assert_int_equal(count_rtp(1), 1);
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.seq, (uint16_t)(last + 1));  /* no gap for the decoder */
    cs_router_free(d.r);
}

static const cs_rtcp_sr_t *find_sr(int to, uint32_t ssrc, cs_rtcp_sr_t *sr)
{
    cs_rtcp_pkt_t p;
    size_t n = count_rtcp(to, CS_RTCP_SR, -1, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        count_rtcp(to, CS_RTCP_SR, -1, &p, i);
        assert_int_equal(cs_rtcp_sr_parse(&p, sr), CS_OK);
        if (sr->ssrc == ssrc)
            return sr;
    }
    return NULL;
}

static void test_reports(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    for (uint32_t i = 0; i < 10; i++)
        audio_from(d.r, d.a, AV_AUDIO, 200 + i, now += 20000);
    cs_rtp_packet_t last;
    parse_cap(nth_rtp(1, 9), &last);
    start_video(&d, 1, now);
    video_from(d.r, d.a, AV_VIDEO, 2, 1, 300, now);
    caps_clear();
    cs_router_tick(d.r, now += 1000);

    /* To bob, who receives: an SR per stream, SDES; no RR (he sends nothing). */
    cs_rtcp_sr_t sr;
    assert_int_equal(count_rtcp(1, CS_RTCP_SR, -1, NULL, 0), 2);
    assert_non_null(find_sr(1, d.b_audio, &sr));
    assert_int_equal(sr.packet_count, 10);
    assert_int_equal(sr.octet_count, 10 * sizeof opus);
    assert_int_equal(sr.rtp_ts, last.hdr.timestamp + 48);      /* 1 ms later at 48 kHz */
    uint64_t sr_ntp = sr.ntp;
    assert_non_null(find_sr(1, d.b_video, &sr));
    assert_int_equal(sr.packet_count, 2);
    assert_int_equal(sr.octet_count, 600);
    assert_int_equal(count_rtcp(1, CS_RTCP_RR, -1, NULL, 0), 0);
    cs_rtcp_pkt_t p;
    cs_rtcp_sdes_t sdes;
    assert_int_equal(count_rtcp(1, CS_RTCP_SDES, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_sdes_parse(&p, &sdes), CS_OK);
    assert_int_equal(sdes.n_chunks, 2);
    assert_memory_equal(sdes.chunks[0].cname, "consilium", 9);

    /* To alice, who publishes: report blocks on her two streams. */
    cs_rtcp_rr_t rr;
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_OK);
    assert_int_equal(rr.n_reports, 2);
    assert_int_equal(rr.reports[0].ssrc, AV_AUDIO);
    assert_int_equal(rr.reports[0].ext_highest_seq, 209);
    assert_int_equal(rr.reports[0].cumulative_lost, 0);
    assert_int_equal(rr.reports[1].ssrc, AV_VIDEO);
    assert_int_equal(rr.reports[0].lsr, 0);

    /* Bob's RR on our SR: 10 ms held, back 60 ms after: RTT 50 ms. */
    uint8_t buf[256];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, buf, sizeof buf);
    cs_rtcp_rr_t back = {.ssrc = 77, .n_reports = 1};
    back.reports[0] = (cs_rtcp_report_block_t){.ssrc = d.b_audio, .fraction_lost = 64,
                                               .jitter = 480, .lsr = cs_rtcp_ntp_compact(sr_ntp),
                                               .dlsr = cs_rtcp_dlsr_from_us(10000)};
    cs_rtcp_rr_append(&b, &back);
    cs_router_on_rtcp(d.r, d.b, buf, b.len, now + 60000);
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now + 60000), 2);
    assert_true(st[1].down.rtt_ms > 49 && st[1].down.rtt_ms < 51);
    assert_true(st[1].up.rtt_ms > 49 && st[1].up.rtt_ms < 51);
    assert_true(st[1].down.loss_percent == 25.0);
    assert_true(st[1].down.jitter_ms == 10.0);
    assert_true(st[0].down.rtt_ms == -1 && st[0].down.loss_percent == -1);

    /* Alice's SR: the next RR to her carries its LSR and the delay since. */
    cs_rtcp_builder_init(&b, buf, sizeof buf);
    cs_rtcp_sr_t asr = {.ssrc = AV_AUDIO, .ntp = 0xE1234567ABCD0000ull, .rtp_ts = 5};
    cs_rtcp_sr_append(&b, &asr);
    cs_router_on_rtcp(d.r, d.a, buf, b.len, now += 100000);
    caps_clear();
    cs_router_tick(d.r, now += 500000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, NULL, 0), 0);   /* once a second */
    cs_router_tick(d.r, now += 500000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_OK);
    assert_int_equal(rr.reports[0].lsr, cs_rtcp_ntp_compact(asr.ntp));
    assert_int_equal(rr.reports[0].dlsr, cs_rtcp_dlsr_from_us(1000000));
    cs_router_free(d.r);
}

static void test_twcc_feedback(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    caps_clear();
    for (uint32_t s = 1; s <= 10; s++, now += 20000)
        if (s != 5)
            audio_from(d.r, d.a, AV_AUDIO, s, now);
    cs_router_tick(d.r, now);
    cs_rtcp_pkt_t p;
    cs_rtcp_twcc_t h;
    cs_rtcp_twcc_pkt_t pk[32];
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, &p, 0), 1);
    assert_int_equal(count_rtcp(1, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, NULL, 0), 0);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, 32), CS_OK);
    assert_int_equal(h.base_seq, 1);
    assert_int_equal(h.status_count, 10);
    assert_int_equal(h.fb_count, 0);
    assert_int_equal(h.media_ssrc, AV_AUDIO);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pk[i].received, i != 4);
    assert_int_equal(pk[1].delta_us, 20000);
    assert_int_equal(pk[5].delta_us, 40000);
    int64_t first = (int64_t)h.reference_time * 64000 + pk[0].delta_us;
    assert_true(first <= T0 - T0 + 64000);          /* times since the room's first packet */
    caps_clear();
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, NULL, 0), 0);
    audio_from(d.r, d.a, AV_AUDIO, 11, now);
    audio_from(d.r, d.a, AV_AUDIO, 4, now);         /* reported lost already: ignored */
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, &p, 0), 1);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, 32), CS_OK);
    assert_int_equal(h.base_seq, 11);
    assert_int_equal(h.status_count, 1);
    assert_int_equal(h.fb_count, 1);
    cs_router_free(d.r);
}

static void test_malformed_input(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    cs_router_counters_t c0;
    cs_router_counters(d.r, &c0);
    int64_t now = T0;
    uint8_t junk[1600] = {0x80, 0x60, 0x00};
    cs_router_on_rtp(d.r, d.a, junk, 3, now);                   /* too short */
    junk[0] = 0x40;
    cs_router_on_rtp(d.r, d.a, junk, 12, now);                  /* version 1 */
    junk[0] = 0x80;
    cs_router_on_rtp(d.r, d.a, junk, sizeof junk, now);         /* larger than relayed */
    size_t n = mk_rtp(99, 111, 1, 1, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* unknown SSRC, no mid */
    n = mk_rtp(AV_AUDIO, 63, 1, 1, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* payload type not answered */
    exts_t x = {.mid_id = 4, .mid = "7"};
    n = mk_rtp(98, 111, 1, 1, &x, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* unknown mid */
    static const uint8_t bad_rtcp[][16] = {
        {0x81, 0xc9, 0x00, 0x09, 0, 0, 0, 1},                   /* length past the end */
        {0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1},                   /* RR without its block */
        {0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1},                   /* PLI without media SSRC */
        {0x8f, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B'}, /* REMB cut short */
        {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2},       /* NACK without FCI */
    };
    static const size_t bad_len[] = {8, 8, 8, 16, 12};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_rtcp); i++)
        cs_router_on_rtcp(d.r, d.b, bad_rtcp[i], bad_len[i], now);
    cs_router_on_rtcp(d.r, d.b, bad_rtcp[0], 0, now);
    /* Not a member of this room: ignored. */
    cs_router_t *other = room(NULL);
    cs_router_member_t *stranger = member(other, "stranger", 5);
    cs_router_on_rtp(d.r, stranger, pkt, n, now);
    cs_router_on_rtcp(d.r, stranger, bad_rtcp[1], 8, now);
    cs_router_on_rtp(d.r, NULL, pkt, n, now);
    cs_router_free(other);
    assert_int_equal(n_caps, 0);
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.dropped_malformed, 4 + 6);
    assert_int_equal(c.dropped_unknown_ssrc, 2);
    assert_int_equal(c.rtp_out + c.rtcp_out, c0.rtp_out + c0.rtcp_out);
    cs_router_free(d.r);
}

/* 200 Opus packets from alice; the indexes bob received into got. */
static size_t loss_run(const cs_router_config_t *cfg, uint32_t *got, uint64_t *dropped)
{
    duo_t d;
    duo(&d, cfg);
    caps_clear();
    int64_t now = T0;
    for (uint32_t i = 0; i < 200; i++)
        audio_from(d.r, d.a, AV_AUDIO, 1000 + i, now += 20000);
    size_t n = count_rtp(1);
    cs_rtp_packet_t q0, q;
    for (size_t i = 0; i < n; i++) {
        parse_cap(nth_rtp(1, i), &q);
        if (i == 0)
            q0 = q;
        got[i] = (q.hdr.timestamp - q0.hdr.timestamp) / 960;
    }
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    *dropped = c.dropped_test_loss;
    assert_int_equal(c.rtp_out + c.dropped_test_loss, cfg->loss_in_percent ? n + c.dropped_test_loss : 200);
    if (cfg->loss_out_percent) {
        /* A gap bob sees is repaired on NACK: retransmissions are never dropped. */
        parse_cap(nth_rtp(1, 0), &q0);
        uint16_t missing = 0;
        for (size_t i = 1; i < n && !missing; i++) {
            parse_cap(nth_rtp(1, i), &q);
            if (q.hdr.seq != (uint16_t)(q0.hdr.seq + i))
                missing = (uint16_t)(q0.hdr.seq + i);
        }
        assert_int_not_equal(missing, 0);
        uint8_t fb[64];
        caps_clear();
        cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_audio, &missing, 1), now);
        assert_int_equal(count_rtp(1), 1);
        parse_cap(nth_rtp(1, 0), &q);
        assert_int_equal(q.hdr.seq, missing);
    }
    cs_router_free(d.r);
    return n;
}

static void test_loss_hooks(void **state)
{
    (void)state;
    uint32_t a[200], b[200];
    uint64_t da, db;
    cs_router_config_t in = {.loss_in_percent = 30, .loss_seed = 7};
    size_t na = loss_run(&in, a, &da), nb = loss_run(&in, b, &db);
    assert_int_equal(na, nb);                       /* the same seed, the same losses */
    assert_int_equal(da, db);
    assert_memory_equal(a, b, na * sizeof a[0]);
    assert_int_equal(na + da, 200);
    assert_true(da >= 30 && da <= 90);
    in.loss_seed = 8;
    loss_run(&in, b, &db);
    assert_true(db >= 30 && db <= 90);
    cs_router_config_t out = {.loss_out_percent = 20, .loss_seed = 3};
    na = loss_run(&out, a, &da);
    assert_int_equal(na + da, 200);
    assert_true(da >= 15 && da <= 70);
    cs_router_config_t none = {0};
    assert_int_equal(loss_run(&none, a, &da), 200);
    assert_int_equal(da, 0);
}

static void test_stats(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    int64_t now = T0;
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now), 2);
    assert_string_equal(st[0].member_id, "alice");
    assert_true(st[0].up.loss_percent == -1 && st[0].available_kbps == -1);
    size_t len = 0, out_bytes = 0;
    for (uint32_t s = 1000; s < 1100; s++) {
        now += 10000;
        if (s >= 1010 && s < 1020)
            continue;
        audio_from(d.r, d.a, AV_AUDIO, s, now);
        len = mk_rtp(AV_AUDIO, 111, 0, 0, &(exts_t){.mid_id = 4, .mid = "0", .level_id = 1,
                                                     .level = 0x85, .twcc_id = 3},
                     opus, sizeof opus);
    }
    for (size_t i = 0; i < count_rtp(1); i++)
        out_bytes += nth_rtp(1, i)->len;
    uint8_t fb[64];
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_remb(fb, 1500000), now);
    assert_int_equal(cs_router_stats(d.r, st, 2, T0 + 1000000), 2);
    /* 10 lost of the 99 expected after the first (probation) packet. */
    assert_true(st[0].up.loss_percent > 10.09 && st[0].up.loss_percent < 10.11);
    assert_int_equal(st[0].up.packets, 90);
    assert_int_equal(st[0].up.bytes, 90 * len);
    assert_true(st[0].up.kbps > 90.0 * len * 8 / 1000 - 0.001 &&
                st[0].up.kbps < 90.0 * len * 8 / 1000 + 0.001);
    assert_true(st[0].up.jitter_ms >= 0);
    assert_int_equal(st[1].down.packets, 90);
    assert_true(st[1].down.kbps > out_bytes * 8.0 / 1000 - 0.001 &&
                st[1].down.kbps < out_bytes * 8.0 / 1000 + 0.001);
    assert_true(st[1].available_kbps == 1500);
    assert_true(st[1].up.loss_percent == -1);       /* bob sent nothing */
    /* A new interval: nothing arrived. */
    assert_int_equal(cs_router_stats(d.r, st, 1, T0 + 2000000), 2);
    assert_true(st[0].up.kbps == 0 && st[0].up.loss_percent == -1);
    cs_router_free(d.r);
}

/* ---- simulcast ------------------------------------------------------------------------------- */

#define SIM_Q 1001u
#define SIM_H 1002u
#define SIM_F 1003u
#define SIM_AUDIO 555u

typedef struct {
    cs_router_t *r;
    cs_router_member_t *a, *b;
    uint32_t bv, ba;
    int64_t now;
    uint32_t n;
    uint16_t seq[3];
} sim_t;

static const size_t sim_size[3] = {200, 500, 1100};

/* ms of 50 frames/s on all three layers (keyframes every kf_every frames)
 * and alice's audio, ticking every 20 ms. */
static void sim_feed(sim_t *s, int ms, unsigned kf_every)
{
    static const uint32_t ssrc[3] = {SIM_Q, SIM_H, SIM_F};
    static const char *const rid[3] = {"q", "h", "f"};
    for (int t = 0; t < ms; t += 20) {
        s->now += 20000;
        for (int l = 0; l < 3; l++) {
            uint8_t pl[1200];
            exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = rid[l]};
            size_t n = mk_rtp(ssrc[l], 96, s->seq[l]++, s->n * 1800, &x, pl,
                              vp8(pl, sim_size[l], s->n % kf_every ? 1 : 0, (uint8_t)l));
            cs_router_on_rtp(s->r, s->a, pkt, n, s->now);
        }
        audio_from(s->r, s->a, SIM_AUDIO, s->n, s->now);
        s->n++;
        cs_router_tick(s->r, s->now);
    }
}

/* Bob's video packets (by payload size: the layer), all in sequence. */
static size_t sim_video(const sim_t *s, size_t *per_layer)
{
    size_t n = 0;
    cs_rtp_packet_t q;
    uint16_t prev = 0;
    per_layer[0] = per_layer[1] = per_layer[2] = 0;
    for (size_t k = 0; k < n_caps; k++) {
        if (caps[k].rtcp || caps[k].to != 1)
            continue;
        parse_cap(&caps[k], &q);
        if (q.hdr.ssrc != s->bv)
            continue;
        for (int l = 0; l < 3; l++)
            per_layer[l] += q.payload_len == sim_size[l];
        if (n++)
            assert_int_equal(q.hdr.seq, (uint16_t)(prev + 1));
        prev = q.hdr.seq;
    }
    return n;
}

static uint32_t last_pli(int to)
{
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    size_t n = count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0);
    if (!n)
        return 0;
    count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, n - 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    return ids.media_ssrc;
}

static void test_simulcast_layers(void **state)
{
    (void)state;
    sim_t s = {.now = T0};
    s.r = room(NULL);
    s.a = member(s.r, "alice", 0);
    s.b = member(s.r, "bob", 1);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = SIM_AUDIO),
                         SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(s.r, s.a, pub, 2), CS_OK);
    assert_int_equal(answer->media[1].sim_recv.n_streams, 3);
    assert_int_not_equal(cs_sdp_extmap_id(&answer->media[1], CS_SDP_EXT_TWCC), 0);
    assert_int_equal(negotiate_fixture(s.r, s.b, "chromium-offer-recvonly.sdp"), CS_OK);
    s.ba = answer_ssrc(0);
    s.bv = answer_ssrc(1);
    cs_router_member_set_connected(s.r, s.a, true);
    cs_router_member_set_connected(s.r, s.b, true);
    caps_clear();

    /* No REMB yet: the middle layer, from its first keyframe. */
    size_t per[3];
    sim_feed(&s, 1600, 25);
    assert_int_equal(sim_video(&s, per), 80);
    assert_int_equal(per[1], 80);
    assert_int_equal(last_pli(0), SIM_H);           /* asked for when its SSRC showed */

    /* REMB that fits only the low layer: PLI on it, switch at its keyframe. */
    uint8_t fb[64];
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 150000), s.now);
    assert_int_equal(last_pli(0), SIM_Q);
    sim_feed(&s, 600, 25);
    size_t n = sim_video(&s, per);
    assert_int_equal(n, 30);
    assert_int_equal(per[1], 20);                   /* until the low layer's keyframe */
    assert_int_equal(per[0], 10);
    caps_clear();
    sim_feed(&s, 200, 25);
    assert_int_equal(sim_video(&s, per), 10);
    assert_int_equal(per[0], 10);

    /* REMB a little under the low layer's rate (a receive-side estimate
     * hovers around what arrives): the low layer stays, no pause. */
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 100000), s.now);
    sim_feed(&s, 1000, 25);
    assert_int_equal(sim_video(&s, per), 50);
    assert_int_equal(per[0], 50);

    /* A REMB that lists only the video SSRC does not cover our audio: all
     * of it is for video (Chromium's usual REMB). 110 kbit/s keeps the low
     * layer either way; listing the audio SSRC too, 60 kbit/s left for
     * video with nothing lost still keeps it (no pause without loss). */
    caps_clear();
    cs_rtcp_builder_t rb;
    cs_rtcp_builder_init(&rb, fb, sizeof fb);
    cs_rtcp_remb_t only_video = {.sender_ssrc = 0x1234, .bitrate_bps = 110000, .n_ssrcs = 1};
    only_video.ssrcs[0] = s.bv;
    assert_true(cs_rtcp_remb_append(&rb, &only_video) > 0);
    cs_router_on_rtcp(s.r, s.b, fb, rb.len, s.now);
    sim_feed(&s, 1000, 25);
    assert_int_equal(sim_video(&s, per), 50);
    assert_int_equal(per[0], 50);
    cs_router_member_stats_t st1[2];
    cs_router_stats(s.r, st1, 2, s.now);
    assert_true(st1[1].available_kbps == 110);

    /* REMB below any layer but nothing lost: the low layer stays. */
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 20000), s.now);
    sim_feed(&s, 1000, 25);
    assert_int_equal(sim_video(&s, per), 50);

    /* ... and with a quarter of it lost: no video, audio goes on. */
    uint8_t lossy[128];
    cs_rtcp_builder_t lb;
    cs_rtcp_builder_init(&lb, lossy, sizeof lossy);
    cs_rtcp_rr_t rr = {.ssrc = 0x1234, .n_reports = 1};
    rr.reports[0] = (cs_rtcp_report_block_t){.ssrc = s.bv, .fraction_lost = 64};
    cs_rtcp_rr_append(&lb, &rr);
    cs_router_on_rtcp(s.r, s.b, lossy, lb.len, s.now);
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 20000), s.now);
    sim_feed(&s, 1000, 25);
    assert_int_equal(sim_video(&s, per), 0);
    assert_int_equal(count_rtp_ssrc(1, s.ba), 50);

    /* REMB plenty: up only after it held for 2 s, then the top layer. */
    caps_clear();
    for (int i = 0; i < 2; i++) {
        cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 2000000), s.now);
        sim_feed(&s, 900, 25);
    }
    assert_int_equal(sim_video(&s, per), 0);
    for (int i = 0; i < 3; i++) {
        cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 2000000), s.now);
        sim_feed(&s, 500, 25);
    }
    assert_int_equal(last_pli(0), SIM_F);
    n = sim_video(&s, per);
    assert_true(n > 0 && per[2] == n);
    cs_router_member_stats_t st[2];
    cs_router_stats(s.r, st, 2, s.now);
    assert_true(st[1].available_kbps == 2000);
    cs_router_free(s.r);
}

static void test_simulcast_rtx_by_repaired_rid(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = SIM_AUDIO),
                         SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(r, a, pub, 2), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    int64_t now = T0;
    uint8_t pl[300];
    exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = "h"};
    static const uint16_t seqs[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        size_t n = mk_rtp(SIM_H, 96, seqs[i], seqs[i] * 3000u, &x, pl, vp8(pl, 100, i ? 1 : 0, 0));
        cs_router_on_rtp(r, a, pkt, n, now += 1000);
    }
    assert_int_equal(count_rtp_ssrc(1, bv), 3);       /* the middle layer, learned by rid */
    caps_clear();
    cs_router_tick(r, now += 1000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    uint16_t nacked[8];
    size_t n_nacked;
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, nacked, 8, &n_nacked), CS_OK);
    assert_int_equal(ids.media_ssrc, SIM_H);
    assert_int_equal(n_nacked, 1);
    assert_int_equal(nacked[0], 3);
    /* Its RTX stream, never announced, is known by repaired-rid. */
    caps_clear();
    uint8_t rtx[300];
    cs_wr16(rtx, 3);
    vp8(rtx + 2, 100, 2, 0x44);
    exts_t rx = {.mid_id = 4, .mid = "1", .rid_id = 11, .rid = "h"};
    size_t n = mk_rtp(6002, 97, 77, 3 * 3000, &rx, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, now += 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 1);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.payload_len, 100);
    assert_int_equal(q.payload[2], 0x44);
    /* Once known, without extensions; a repeat of what arrived is dropped. */
    cs_wr16(rtx, 4);
    n = mk_rtp(6002, 97, 78, 4 * 3000, NULL, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, now += 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 1);
    cs_router_member_stats_t st[2];
    cs_router_stats(r, st, 2, now);
    assert_int_equal(st[0].up.retransmissions, 2);
    assert_int_equal(st[0].up.nacks, 1);
    cs_router_counters_t c;
    cs_router_counters(r, &c);
    assert_int_equal(c.dropped_unknown_ssrc + c.dropped_malformed, 0);
    cs_router_free(r);
}

static void test_h264_keyframe_gating(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    static const uint8_t non_idr[] = {0x41, 0x9a, 0x00, 0x01};
    static const uint8_t stap_sps_pps[] = {0x18, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f,
                                           0x00, 0x02, 0x68, 0xce};
    static const uint8_t fu_idr_start[] = {0x7c, 0x85, 0x88, 0x84, 0x00};
    exts_t x = {.mid_id = 4, .mid = "1"};
    const uint8_t *pl[] = {non_idr, stap_sps_pps, fu_idr_start, non_idr};
    const size_t len[] = {sizeof non_idr, sizeof stap_sps_pps, sizeof fu_idr_start, sizeof non_idr};
    size_t got[4];
    for (int i = 0; i < 4; i++) {
        size_t n = mk_rtp(AV_VIDEO, 108, (uint16_t)(40 + i), 90000, &x, pl[i], len[i]);
        cs_router_on_rtp(d.r, d.a, pkt, n, T0 + i);
        got[i] = count_rtp(1);
    }
    assert_int_equal(got[0], 0);                    /* a delta before any IDR */
    assert_int_equal(got[1], 1);                    /* SPS/PPS open the keyframe */
    assert_int_equal(got[3], 3);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.payload_type, 108);
    cs_router_free(d.r);
}

/* Firefox simulcast: rids plus FID pairs that do not say which rid is which. */
static void test_firefox_simulcast_fid(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "firefox-offer-simulcast.sdp"), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    uint8_t pl[120];
    exts_t x = {.mid_id = 3, .mid = "1", .rid_id = 9, .rid = "h"};
    size_t n = mk_rtp(2842319219u, 120, 10, 0, &x, pl, vp8(pl, 100, 0, 3));
    cs_router_on_rtp(r, a, pkt, n, T0);
    n = mk_rtp(2842319219u, 120, 12, 0, NULL, pl, vp8(pl, 100, 2, 3));
    cs_router_on_rtp(r, a, pkt, n, T0 + 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 2);     /* the middle layer */
    /* Its RTX SSRC is the FID partner: known without any extension. */
    uint8_t rtx[120];
    cs_wr16(rtx, 11);
    vp8(rtx + 2, 100, 2, 3);
    n = mk_rtp(3965295085u, 124, 1, 0, NULL, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, T0 + 2000);
    assert_int_equal(count_rtp_ssrc(1, bv), 3);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 2), &q);
    assert_int_equal(q.hdr.payload_type, 96);
    cs_router_counters_t c;
    cs_router_counters(r, &c);
    assert_int_equal(c.dropped_unknown_ssrc + c.dropped_malformed, 0);
    cs_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nack_answered_with_rtx),
        cmocka_unit_test(test_nack_answered_without_rtx),
        cmocka_unit_test(test_nack_history_follows_bitrate),
        cmocka_unit_test(test_upstream_nack),
        cmocka_unit_test(test_pli_forwarded_and_rate_limited),
        cmocka_unit_test(test_keyframe_gating_on_reconnect),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_twcc_feedback),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_loss_hooks),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_simulcast_layers),
        cmocka_unit_test(test_simulcast_rtx_by_repaired_rid),
        cmocka_unit_test(test_h264_keyframe_gating),
        cmocka_unit_test(test_firefox_simulcast_fid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
