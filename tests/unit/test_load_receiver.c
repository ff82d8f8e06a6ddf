/*
 * test_load_receiver.c — the load tool's receivers (tests/load/receiver.c):
 * loss across gaps, reordering, duplicates and the sequence wrap; the RFC
 * 3550 interarrival jitter of a paced and of a jittered stream against
 * hand-computed values; which sequence numbers are NACKed when and how
 * often; RTCP report blocks; forwarding latency matched across an SFU that
 * changes SSRC and sequence numbers (and switches sources); decoding a
 * sample, dropping a broken frame and asking for a keyframe.
 *
 * Times are simulated: every call gets its now_us.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "tests/load/media.h"

#define T0 1000000                    /* 48000 and 90000 timestamp units exactly */

static lt_media_t *media;             /* a small loop: 160x120, 2 s, a keyframe a second */

static int setup(void **state)
{
    (void)state;
    int err = 1;
    lt_media_config_t cfg = {.width = 160, .height = 120, .video_kbps = 150, .loop_seconds = 2,
                             .keyframe_seconds = 1};
    media = lt_media_new(&cfg, &err);
    return media && err == CS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lt_media_free(media);
    return 0;
}

static lt_receiver_t *new_receiver(lt_kind_t kind, bool decode)
{
    int err = 1;
    lt_receiver_t *r = lt_receiver_new(kind, 0x5555, decode, &err);
    assert_non_null(r);
    assert_int_equal(err, CS_OK);
    return r;
}

/* A packet of an audio stream: seq, timestamp 960 a packet, 3 bytes of payload. */
static void feed(lt_receiver_t *r, uint16_t seq, uint32_t ts, int64_t now_us)
{
    uint8_t pkt[64], payload[3] = {(uint8_t)seq, (uint8_t)(seq >> 8), 7};
    cs_rtp_header_t h = {.payload_type = 111, .seq = seq, .timestamp = ts, .ssrc = 0x5555};
    int n = cs_rtp_serialise(&h, NULL, 0, payload, sizeof payload, pkt, sizeof pkt);
    assert_true(n > 0);
    assert_int_equal(lt_receiver_on_rtp(r, pkt, (size_t)n, now_us), CS_OK);
}

static void feed_seq(lt_receiver_t *r, uint16_t seq, int64_t now_us)
{
    feed(r, seq, (uint32_t)seq * 960, now_us);
}

static lt_receiver_stats_t stats(const lt_receiver_t *r)
{
    lt_receiver_stats_t st;
    lt_receiver_stats(r, &st);
    return st;
}

/* ---- counting ---------------------------------------------------------------------------- */

static void test_loss_gaps(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 100; s < 200; s++)
        if (s != 120 && s != 121 && s != 150)
            feed_seq(r, s, T0 + s * 20000);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.expected, 100);
    assert_int_equal(st.received, 97);
    assert_int_equal(st.lost, 3);
    assert_int_equal(st.duplicates, 0);
    assert_int_equal(st.ssrc, 0x5555);
    assert_int_equal(st.kind, LT_AUDIO);
    assert_int_equal(st.first_us, T0 + 100 * 20000);
    assert_int_equal(st.last_us, T0 + 199 * 20000);
    uint8_t bad[8] = {0x80};
    assert_int_equal(lt_receiver_on_rtp(r, bad, sizeof bad, T0), CS_EINVAL);
    lt_receiver_free(r);
}

static void test_reorder_and_duplicates(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    const uint16_t order[] = {10, 11, 13, 12, 14, 14, 11, 16, 15, 9};
    for (size_t i = 0; i < CS_ARRAY_LEN(order); i++)
        feed_seq(r, order[i], T0 + (int64_t)i * 20000);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.received, 8);           /* 9 .. 16: 9 came before the first */
    assert_int_equal(st.expected, 8);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.duplicates, 2);
    assert_int_equal(st.recovered, 0);          /* reordered, never NACKed */
    lt_receiver_free(r);
}

static void test_seq_wrap(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (int i = 0; i < 12; i++)
        if (i != 8)
            feed_seq(r, (uint16_t)(65530 + i), T0 + i * 20000);   /* 65530 .. 5, seq 2 lost */
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.expected, 12);
    assert_int_equal(st.lost, 1);
    cs_rtcp_report_block_t rb;
    lt_receiver_report_block(r, T0, &rb);
    assert_int_equal(rb.ext_highest_seq, 0x10005);
    assert_int_equal(rb.cumulative_lost, 1);
    lt_receiver_free(r);
}

static void test_big_jump_needs_confirmation(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 1; s <= 10; s++)
        feed_seq(r, s, T0 + s * 20000);
    feed_seq(r, 40000, T0 + 220000);            /* a stray packet: set aside */
    feed_seq(r, 11, T0 + 240000);
    assert_int_equal(stats(r).expected, 11);
    assert_int_equal(stats(r).lost, 0);
    feed_seq(r, 50000, T0 + 260000);            /* the source restarts at 50000 */
    feed_seq(r, 50001, T0 + 280000);
    feed_seq(r, 50002, T0 + 300000);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.received, 13);
    assert_int_equal(st.expected, 13);          /* no gap of 40000 counted as loss */
    lt_receiver_free(r);
}

static void test_reset_window(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 0; s < 50; s++)
        if (s != 10)
            feed_seq(r, s, T0 + s * 20000);
    lt_receiver_reset_window(r);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.received, 0);
    assert_int_equal(st.expected, 0);
    assert_int_equal(st.lost, 0);
    for (uint16_t s = 50; s < 100; s++)
        if (s != 60 && s != 61)
            feed_seq(r, s, T0 + s * 20000);
    st = stats(r);
    assert_int_equal(st.expected, 50);
    assert_int_equal(st.lost, 2);
    assert_int_equal(st.first_us, T0 + 50 * 20000);
    /* the report block is about the whole stream */
    cs_rtcp_report_block_t rb;
    lt_receiver_report_block(r, T0, &rb);
    assert_int_equal(rb.cumulative_lost, 3);
    lt_receiver_free(r);
}

/* ---- jitter ------------------------------------------------------------------------------------ */

static void test_jitter_paced_is_zero(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 0; s < 200; s++)
        feed_seq(r, s, T0 + 5000 + s * 20000);
    assert_true(stats(r).jitter_ms == 0.0);
    lt_receiver_free(r);
}

/*
 * Arrivals alternately on time and 1 ms late (48 timestamp units): every
 * transit difference is 48. RFC 3550 A.8 in its integer form (J16 += |D| -
 * round(J16 / 16)): 0 → 48 → 93 → 135 → 175 → 212, so the report says
 * 212 / 16 = 13 and the jitter is 212 / 16 / 48 ms.
 */
static void test_jitter_hand_computed(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 0; s < 6; s++)
        feed_seq(r, s, T0 + s * 20000 + (s % 2) * 1000);
    lt_receiver_stats_t st = stats(r);
    assert_true(st.jitter_ms > 212.0 / 16 / 48 - 1e-9 && st.jitter_ms < 212.0 / 16 / 48 + 1e-9);
    cs_rtcp_report_block_t rb;
    lt_receiver_report_block(r, T0, &rb);
    assert_int_equal(rb.jitter, 13);
    lt_receiver_free(r);
}

/* ---- NACK ---------------------------------------------------------------------------------------- */

static void expect_nacks(lt_receiver_t *r, int64_t now, const uint16_t *want, size_t n)
{
    uint16_t got[LT_NACK_MAX];
    size_t k = lt_receiver_nacks(r, now, got, LT_NACK_MAX);
    assert_int_equal(k, n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(got[i], want[i]);
}

static void test_nack_schedule(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 1; s <= 10; s++)
        if (s != 5 && s != 6)
            feed_seq(r, s, T0);
    const uint16_t both[] = {5, 6};
    expect_nacks(r, T0 + 4000, NULL, 0);         /* could still be reordering */
    expect_nacks(r, T0 + 5000, both, 2);
    expect_nacks(r, T0 + 20000, NULL, 0);        /* 20 ms between tries */
    expect_nacks(r, T0 + 25000, both, 2);
    feed_seq(r, 6, T0 + 30000);                  /* repaired */
    const uint16_t five[] = {5};
    expect_nacks(r, T0 + 45000, five, 1);        /* third and last time */
    expect_nacks(r, T0 + 65000, NULL, 0);
    expect_nacks(r, T0 + 500000, NULL, 0);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.recovered, 1);
    assert_int_equal(st.lost, 1);
    lt_receiver_free(r);
}

static void test_nack_rtt_and_give_up(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    lt_receiver_set_rtt(r, 600000);
    feed_seq(r, 1, T0);
    feed_seq(r, 3, T0);
    const uint16_t two[] = {2};
    expect_nacks(r, T0 + 10000, two, 1);
    expect_nacks(r, T0 + 400000, NULL, 0);       /* spaced by the RTT */
    expect_nacks(r, T0 + 610000, two, 1);
    expect_nacks(r, T0 + 1000000, NULL, 0);      /* given up after 1 s */
    expect_nacks(r, T0 + 1300000, NULL, 0);
    lt_receiver_free(r);
}

static void test_nack_cap(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    feed_seq(r, 100, T0);
    feed_seq(r, 200, T0);                        /* 99 missing */
    uint16_t got[LT_NACK_MAX];
    assert_int_equal(lt_receiver_nacks(r, T0 + 10000, got, LT_NACK_MAX), LT_NACK_MAX);
    assert_int_equal(got[0], 101);
    assert_int_equal(got[LT_NACK_MAX - 1], 100 + LT_NACK_MAX);
    assert_int_equal(lt_receiver_nacks(r, T0 + 11000, got, LT_NACK_MAX), 99 - LT_NACK_MAX);
    assert_int_equal(got[0], 101 + LT_NACK_MAX);
    lt_receiver_free(r);
}

/* ---- report blocks --------------------------------------------------------------------------- */

static void test_report_block(void **state)
{
    (void)state;
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    for (uint16_t s = 1000; s < 1100; s++)
        if (s != 1010 && s != 1020 && s != 1030)
            feed_seq(r, s, T0 + s * 20000);
    cs_rtcp_report_block_t rb;
    lt_receiver_report_block(r, T0, &rb);
    assert_int_equal(rb.ssrc, 0x5555);
    assert_int_equal(rb.fraction_lost, 3 * 256 / 100);
    assert_int_equal(rb.cumulative_lost, 3);
    assert_int_equal(rb.ext_highest_seq, 1099);
    assert_int_equal(rb.lsr, 0);
    assert_int_equal(rb.dlsr, 0);
    cs_rtcp_sr_t sr = {.ssrc = 0x5555, .ntp = 0x1234567890abcdefull};
    lt_receiver_on_sr(r, &sr, T0 + 100000);
    for (uint16_t s = 1100; s < 1200; s++)
        feed_seq(r, s, T0 + s * 20000);
    lt_receiver_report_block(r, T0 + 600000, &rb);
    assert_int_equal(rb.fraction_lost, 0);       /* this interval lost nothing */
    assert_int_equal(rb.cumulative_lost, 3);
    assert_int_equal(rb.lsr, 0x567890ab);
    assert_int_equal(rb.dlsr, 32768);            /* 0.5 s in 1/65536 s */
    lt_receiver_free(r);
}

/* ---- latency ---------------------------------------------------------------------------------- */

typedef struct {
    uint8_t buf[LT_RTP_MAX];
    size_t len;
} pkt_t;

typedef struct {
    pkt_t p[64];
    size_t n;
} queue_t;

static int queue_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    (void)cap;
    queue_t *q = user;
    assert_true(q->n < CS_ARRAY_LEN(q->p));
    memcpy(q->p[q->n].buf, buf, len);
    q->p[q->n++].len = len;
    return 0;
}

static lt_sender_t *new_sender(lt_kind_t kind, uint32_t ssrc)
{
    int err = 1;
    lt_sender_config_t cfg = {.kind = kind, .ssrc = ssrc, .pt = kind == LT_VIDEO ? 96 : 111};
    lt_sender_t *s = lt_sender_new(media, &cfg, &err);
    assert_non_null(s);
    return s;
}

/* What an SFU does to a packet: its own SSRC and sequence numbers, same payload. */
static void forward(lt_receiver_t *r, pkt_t *p, uint16_t seq, int64_t arrival)
{
    assert_int_equal(cs_rtp_set_ssrc(p->buf, p->len, 0x5555), CS_OK);
    assert_int_equal(cs_rtp_set_seq(p->buf, p->len, seq), CS_OK);
    assert_int_equal(lt_receiver_on_rtp(r, p->buf, p->len, arrival), CS_OK);
}

/*
 * A receiver gets video from A for 2 s, then (the SFU switched) from B with
 * sequence numbers running on; latencies alternate 300 and 700 µs. Every
 * packet is matched, to the right sender.
 */
static void test_latency_matching(void **state)
{
    (void)state;
    lt_sender_t *a = new_sender(LT_VIDEO, 0xa), *b = new_sender(LT_VIDEO, 0xb);
    lt_sender_t *audio = new_sender(LT_AUDIO, 0xc);
    const lt_sender_t *list[] = {audio, b, a};
    lt_receiver_t *r = new_receiver(LT_VIDEO, false);
    lt_receiver_set_sources(r, (lt_sources_t){list, 3});
    lt_sender_start(a, T0);
    lt_sender_start(b, T0 + 7000);
    uint16_t fwd = 1000;
    size_t forwarded = 0;
    for (int64_t t = T0; t < T0 + 4000000; t += 1000) {
        queue_t qa = {0}, qb = {0};
        lt_sender_poll(a, t, queue_emit, &qa);
        lt_sender_poll(b, t, queue_emit, &qb);
        queue_t *q = t < T0 + 2000000 ? &qa : &qb;
        for (size_t i = 0; i < q->n; i++, forwarded++)
            forward(r, &q->p[i], fwd++, t + (forwarded % 2 ? 700 : 300));
    }
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.received, forwarded);
    assert_int_equal(st.lost, 0);
    assert_int_equal(st.late_matched, forwarded);
    assert_int_equal(st.latency.count, forwarded);
    assert_int_equal(st.latency.max_us, 700);
    uint64_t p25 = lt_hist_quantile(&st.latency, 0.25);
    assert_true(p25 >= 300 && p25 < 308);        /* 300's bucket is 8 µs wide */
    assert_int_equal(lt_hist_quantile(&st.latency, 0.99), 700);
    /* dropping the sender it follows forgets it: nothing more is matched */
    lt_receiver_reset_window(r);
    lt_receiver_set_sources(r, (lt_sources_t){list, 1});
    queue_t q = {0};
    lt_sender_poll(b, T0 + 4100000, queue_emit, &q);
    for (size_t i = 0; i < q.n; i++)
        forward(r, &q.p[i], fwd++, T0 + 4100500);
    assert_int_equal(stats(r).late_matched, 0);
    assert_int_equal(stats(r).received, q.n);
    lt_receiver_free(r);
    lt_sender_free(a);
    lt_sender_free(b);
    lt_sender_free(audio);
}

/*
 * Audio from two senders of the same loop carries the same payloads: the
 * receiver takes the sender that sent it most recently (B sends each packet
 * 7 ms after A, so B's last copy is a loop older) and then follows it by
 * sequence offset.
 */
static void test_latency_same_payloads(void **state)
{
    (void)state;
    lt_sender_t *a = new_sender(LT_AUDIO, 0xa), *b = new_sender(LT_AUDIO, 0xb);
    const lt_sender_t *list[] = {b, a};
    lt_receiver_t *r = new_receiver(LT_AUDIO, false);
    lt_receiver_set_sources(r, (lt_sources_t){list, 2});
    lt_sender_start(a, T0);
    lt_sender_start(b, T0 + 7000);
    uint16_t fwd = 65000;
    size_t forwarded = 0;
    for (int64_t t = T0; t < T0 + 5000000; t += 500) {
        queue_t qa = {0}, qb = {0};
        lt_sender_poll(a, t, queue_emit, &qa);
        lt_sender_poll(b, t, queue_emit, &qb);
        /* from the loop's second round: B's log holds the same payloads too */
        for (size_t i = 0; t >= T0 + 2500000 && i < qa.n; i++, forwarded++)
            forward(r, &qa.p[i], fwd++, t + 300);
    }
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(forwarded, 125);
    assert_int_equal(st.late_matched, forwarded);
    assert_int_equal(st.latency.max_us, 300);
    assert_int_equal(lt_hist_quantile(&st.latency, 0.0), 300);
    lt_receiver_free(r);
    lt_sender_free(a);
    lt_sender_free(b);
}

/* ---- decoding and keyframe requests ------------------------------------------------------------- */

static void test_decode_and_keyframe_request(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0xa);
    const lt_sender_t *list[] = {s};
    lt_receiver_t *r = new_receiver(LT_VIDEO, true);
    lt_receiver_set_sources(r, (lt_sources_t){list, 1});
    lt_sender_start(s, T0);
    size_t packets = 0, dropped = 0;
    bool asked = false;
    int64_t t;
    for (t = T0; t < T0 + 3000000; t += 1000) {
        queue_t q = {0};
        lt_sender_poll(s, t, queue_emit, &q);
        for (size_t i = 0; i < q.n; i++, packets++) {
            /* frame 10 (due at 333.3 ms) loses its last packet */
            if (t == T0 + 334000 && i == q.n - 1 && !dropped++)
                continue;
            assert_int_equal(lt_receiver_on_rtp(r, q.p[i].buf, q.p[i].len, t + 200), CS_OK);
        }
        if (lt_receiver_wants_keyframe(r, t + 300)) {
            assert_false(asked);
            asked = true;
            assert_true(t > T0 + 333000 && t < T0 + 400000);
            lt_sender_request_keyframe(s);
        }
    }
    assert_true(asked);
    assert_int_equal(dropped, 1);
    lt_sender_stats_t ss;
    lt_sender_stats(s, &ss);
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.decode_errors, 0);
    /* every frame but the broken one and those between it and the keyframe
     * (the next frame: the request came within the frame interval) */
    assert_int_equal(st.frames_decoded, ss.frames - 2);
    assert_int_equal(st.lost, 1);
    assert_false(lt_receiver_wants_keyframe(r, t + 5000000));
    lt_receiver_free(r);
    lt_sender_free(s);
}

static void test_decode_audio(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_AUDIO, 0xa);
    lt_receiver_t *r = new_receiver(LT_AUDIO, true);
    lt_sender_start(s, T0);
    for (int64_t t = T0; t < T0 + 1000000; t += 20000) {
        queue_t q = {0};
        lt_sender_poll(s, t, queue_emit, &q);
        for (size_t i = 0; i < q.n; i++)
            assert_int_equal(lt_receiver_on_rtp(r, q.p[i].buf, q.p[i].len, t + 100), CS_OK);
    }
    lt_receiver_stats_t st = stats(r);
    assert_int_equal(st.frames_decoded, 50);
    assert_int_equal(st.decode_errors, 0);
    assert_false(lt_receiver_wants_keyframe(r, T0 + 5000000));   /* audio never asks */
    lt_receiver_free(r);
    lt_sender_free(s);
}

/* A receiver that joins mid-stream asks once a second until a keyframe comes. */
static void test_keyframe_wait(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0xa);
    lt_receiver_t *r = new_receiver(LT_VIDEO, false);
    lt_sender_start(s, T0);
    int asks = 0;
    int64_t asked[3] = {0};
    for (int64_t t = T0; t < T0 + 2900000; t += 1000) {
        queue_t q = {0};
        lt_sender_poll(s, t, queue_emit, &q);
        for (size_t i = 0; i < q.n; i++) {
            cs_rtp_packet_t p;
            assert_int_equal(cs_rtp_parse(q.p[i].buf, q.p[i].len, &p), CS_OK);
            cs_rtp_vp8_t v;
            assert_int_equal(cs_rtp_vp8_parse(p.payload, p.payload_len, &v), CS_OK);
            if (t < T0 + 2500000 && v.keyframe)
                continue;                        /* no keyframe gets through before 2.5 s */
            assert_int_equal(lt_receiver_on_rtp(r, q.p[i].buf, q.p[i].len, t), CS_OK);
        }
        if (lt_receiver_wants_keyframe(r, t)) {
            assert_true(asks < 3);
            asked[asks++] = t;
        }
    }
    /* a second after the first packet (frame 0's second packet, or frame 1's), then a second later */
    assert_int_equal(asks, 2);
    assert_true(asked[0] == T0 + 1000000 || asked[0] == T0 + 1034000);
    assert_int_equal(asked[1], asked[0] + 1000000);
    lt_receiver_free(r);
    lt_sender_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loss_gaps),
        cmocka_unit_test(test_reorder_and_duplicates),
        cmocka_unit_test(test_seq_wrap),
        cmocka_unit_test(test_big_jump_needs_confirmation),
        cmocka_unit_test(test_reset_window),
        cmocka_unit_test(test_jitter_paced_is_zero),
        cmocka_unit_test(test_jitter_hand_computed),
        cmocka_unit_test(test_nack_schedule),
        cmocka_unit_test(test_nack_rtt_and_give_up),
        cmocka_unit_test(test_nack_cap),
        cmocka_unit_test(test_report_block),
        cmocka_unit_test(test_latency_matching),
        cmocka_unit_test(test_latency_same_payloads),
        cmocka_unit_test(test_decode_and_keyframe_request),
        cmocka_unit_test(test_decode_audio),
        cmocka_unit_test(test_keyframe_wait),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
