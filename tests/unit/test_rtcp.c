/*
 * test_rtcp.c — media/rtcp: the compound packets Chromium and Firefox send
 * parse to the right fields, the builder writes those same bytes, framing and
 * content errors are refused where the header documents, and the derived
 * values (RTT, fraction and cumulative lost) follow RFC 3550.
 *
 * The pkt_* arrays are also the seeds of tests/fuzz/corpus/rtcp/ (one file
 * each, named after the array); keep them literal bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/rtcp/rtcp.h"

/* Chromium receiving: RR with one report block, then REMB (1.5 Mbit/s). */
static const uint8_t pkt_rr_remb[] = {
    0x81, 0xc9, 0x00, 0x07, 0x00, 0x00, 0x00, 0x01,
    0xde, 0xad, 0xbe, 0xef,             /* about this SSRC */
    0x0a, 0x00, 0x00, 0x03,             /* fraction 10/256, cumulative 3 */
    0x00, 0x01, 0x12, 0x34,             /* one wrap, highest 0x1234 */
    0x00, 0x00, 0x00, 0x1c,             /* jitter 28 */
    0xa1, 0xb2, 0xc3, 0xd4,             /* LSR */
    0x00, 0x01, 0x80, 0x00,             /* DLSR 1.5 s */
    0x8f, 0xce, 0x00, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
    0x52, 0x45, 0x4d, 0x42,             /* 'REMB' */
    0x01, 0x0e, 0xdc, 0x6c,             /* 1 SSRC, exp 3, mantissa 187500 */
    0xde, 0xad, 0xbe, 0xef,
};

/* Firefox sending: SR without blocks and SDES with its "{uuid}" CNAME. */
static const uint8_t pkt_sr_sdes[] = {
    0x80, 0xc8, 0x00, 0x06, 0x3a, 0x2c, 0x1f, 0x5e,
    0xe9, 0x5a, 0x3b, 0x10, 0x80, 0x00, 0x00, 0x00,   /* NTP, .5 s */
    0x00, 0x2e, 0x36, 0x40, 0x00, 0x00, 0x01, 0xf4, 0x00, 0x01, 0x38, 0x80,
    0x81, 0xca, 0x00, 0x0c, 0x3a, 0x2c, 0x1f, 0x5e, 0x01, 0x26,
    '{', '2', 'c', '2', 'b', '3', 'e', 'd', '4', '-', 'e', '9', 'a', '3', '-', '4', 'e', '6',
    '7', '-', '8', 'a', '8', 'a', '-', '0', 'e', '5', 'c', '3', 'b', '1', 'b', '8', 'a', '1',
    '2', '}', 0x00, 0x00, 0x00, 0x00,
};

/* Chromium's transport-cc feedback: run-length, 2-bit and 1-bit chunks, the
 * sequence wrapping 65535 → 0, two large deltas (-50 ms, +1.25 s). */
static const uint8_t pkt_twcc[] = {
    0x8f, 0xcd, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x5e, 0x1f, 0x2c, 0x3a,
    0xff, 0xfe, 0x00, 0x14,             /* base 65534, 20 packets */
    0x0a, 0x1b, 0x2c, 0x07,             /* reference time, fb count 7 */
    0x20, 0x05,                         /* run: 5 x small */
    0xd2, 0x42,                         /* 2-bit: 1 0 2 1 0 0 2 */
    0xb3, 0xc0,                         /* 1-bit: 1 1 0 0 1 1 1 1 (6 unused) */
    0x10, 0x01, 0x00, 0xfa, 0x04, 0x08, 0xff, 0x38, 0x20, 0x13, 0x88, 0x03, 0x05,
    0x06, 0x07, 0x08, 0x09,
    0x00,
};

/* Feedback after a burst of loss: run-length chunks only. */
static const uint8_t pkt_twcc_runs[] = {
    0x8f, 0xcd, 0x00, 0x0b, 0x00, 0x00, 0x00, 0x01, 0x5e, 0x1f, 0x2c, 0x3a,
    0x00, 0x64, 0x00, 0x1e, 0xff, 0xff, 0xfe, 0x08,  /* base 100, 30, ref -2 */
    0x20, 0x0a, 0x00, 0x0f, 0x40, 0x05,             /* 10 small, 15 lost, 5 large */
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
    0x00, 0x04, 0xff, 0xfc, 0x00, 0x00, 0x01, 0x00, 0x80, 0x00,
    0x00, 0x00,
};

/* NACK for 0x1234, 0x1235, 0x1237, 0x1244 and 0xffff, 0x0000. */
static const uint8_t pkt_nack[] = {
    0x81, 0xcd, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44,
    0x12, 0x34, 0x80, 0x05, 0xff, 0xff, 0x00, 0x01,
};

static const uint8_t pkt_pli[] = {0x81, 0xce, 0x00, 0x02, 0x00, 0x00, 0x00, 0x01,
                                  0x11, 0x22, 0x33, 0x44};

static const uint8_t pkt_fir[] = {0x84, 0xce, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
                                  0x00, 0x00, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44,
                                  0x05, 0x00, 0x00, 0x00};

/* SR with a report block (cumulative lost -1: duplicates), then BYE with a reason. */
static const uint8_t pkt_sr_bye[] = {
    0x81, 0xc8, 0x00, 0x0c, 0x11, 0x22, 0x33, 0x44, 0xe9, 0x5a, 0x3b, 0x10, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x04, 0x00,
    0x5e, 0x1f, 0x2c, 0x3a, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x64, 0x00, 0x00, 0x00,
    0x02, 0x3b, 0x10, 0x80, 0x00, 0x00, 0x00, 0x40, 0x00,
    0x81, 0xcb, 0x00, 0x02, 0x11, 0x22, 0x33, 0x44, 0x03, 'b', 'y', 'e',
};

static const uint8_t pkt_app[] = {0x83, 0xcc, 0x00, 0x04, 0x11, 0x22, 0x33, 0x44,
                                  'T', 'E', 'S', 'T', 1, 2, 3, 4, 5, 6, 7, 8};

/* Malformed framing and contents. */
static const uint8_t pkt_bad_second_version[] = {0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,
                                                 0x41, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t pkt_bad_length[] = {0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2,
                                         0x81, 0xce, 0x00, 0x09, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t pkt_bad_trailing[] = {0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2, 0x81};
static const uint8_t pkt_bad_pad_zero[] = {0xa1, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0};
static const uint8_t pkt_bad_pad_big[] = {0xa1, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 9};
/* An RR whose RC promises a block its length has no room for, then a good PLI. */
static const uint8_t pkt_bad_rr_then_pli[] = {0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1,
                                              0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t pkt_bad_twcc_count[] = {
    0x8f, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00, 0x09,
    0x00, 0x00, 0x00, 0x01, 0x20, 0x05, 1, 2, 3, 4, 5, 0x00};
static const uint8_t pkt_bad_twcc_reserved[] = {
    0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x01, 0x60, 0x01, 0x00, 0x00};
static const uint8_t pkt_bad_nack_padded[] = {0xa1, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2,
                                              0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02};
/* Header-only (length 0) RR, then a good PLI. */
static const uint8_t pkt_bad_zero_length_rr[] = {0x80, 0xc9, 0x00, 0x00,
                                                 0x81, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2};
static const uint8_t pkt_bad_sdes[] = {0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x05, 'a', 'b'};

static uint8_t *copy;
static cs_rtcp_iter_t it;

/* Iterates an exact-size heap copy, so ASan sees any read past the end. */
static void start(const uint8_t *b, size_t len)
{
    free(copy);
    copy = malloc(len ? len : 1);
    memcpy(copy, b, len);
    cs_rtcp_iter_init(&it, copy, len);
}

#define START(a) start(a, sizeof a)

static void next_ok(cs_rtcp_pkt_t *p, uint8_t type, uint8_t count)
{
    assert_int_equal(cs_rtcp_iter_next(&it, p), 1);
    assert_int_equal(p->type, type);
    assert_int_equal(p->count, count);
}

static void test_chrome_rr_remb(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_rr_t rr;
    cs_rtcp_remb_t remb;
    START(pkt_rr_remb);
    next_ok(&p, CS_RTCP_RR, 1);
    assert_int_equal(p.raw_len, 32);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_OK);
    assert_int_equal(rr.ssrc, 1);
    assert_int_equal(rr.n_reports, 1);
    const cs_rtcp_report_block_t *rb = &rr.reports[0];
    assert_int_equal(rb->ssrc, 0xdeadbeef);
    assert_int_equal(rb->fraction_lost, 10);
    assert_int_equal(rb->cumulative_lost, 3);
    assert_int_equal(rb->ext_highest_seq, 0x00011234);
    assert_int_equal(rb->jitter, 28);
    assert_int_equal(rb->lsr, 0xa1b2c3d4);
    assert_int_equal(rb->dlsr, cs_rtcp_dlsr_from_us(1500000));
    assert_int_equal(cs_rtcp_remb_parse(&p, &remb), CS_EINVAL);   /* not a REMB */
    next_ok(&p, CS_RTCP_PSFB, CS_RTCP_FMT_AFB);
    assert_int_equal(cs_rtcp_remb_parse(&p, &remb), CS_OK);
    assert_int_equal(remb.sender_ssrc, 1);
    assert_int_equal(remb.bitrate_bps, 1500000);
    assert_int_equal(remb.n_ssrcs, 1);
    assert_int_equal(remb.ssrcs[0], 0xdeadbeef);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_EINVAL);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 0);
    assert_int_equal(cs_rtcp_validate(pkt_rr_remb, sizeof pkt_rr_remb), 2);

    /* The builder writes the same bytes. */
    uint8_t out[128];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_rr_append(&b, &rr), 32);
    assert_int_equal(cs_rtcp_remb_append(&b, &remb), 24);
    assert_int_equal(b.len, sizeof pkt_rr_remb);
    assert_memory_equal(out, pkt_rr_remb, sizeof pkt_rr_remb);
}

static void test_firefox_sr_sdes(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_sr_t sr;
    cs_rtcp_sdes_t sdes;
    START(pkt_sr_sdes);
    next_ok(&p, CS_RTCP_SR, 0);
    assert_int_equal(cs_rtcp_sr_parse(&p, &sr), CS_OK);
    assert_int_equal(sr.ssrc, 0x3a2c1f5e);
    assert_int_equal(sr.ntp, 0xe95a3b1080000000ULL);
    assert_int_equal(sr.rtp_ts, 0x002e3640);
    assert_int_equal(sr.packet_count, 500);
    assert_int_equal(sr.octet_count, 80000);
    assert_int_equal(sr.n_reports, 0);
    assert_int_equal(cs_rtcp_ntp_compact(sr.ntp), 0x3b108000);
    next_ok(&p, CS_RTCP_SDES, 1);
    assert_int_equal(cs_rtcp_sdes_parse(&p, &sdes), CS_OK);
    assert_int_equal(sdes.n_chunks, 1);
    assert_int_equal(sdes.chunks[0].ssrc, 0x3a2c1f5e);
    assert_int_equal(sdes.chunks[0].cname_len, 38);
    assert_memory_equal(sdes.chunks[0].cname, "{2c2b3ed4-e9a3-4e67-8a8a-0e5c3b1b8a12}", 38);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 0);

    uint8_t out[128];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_sr_append(&b, &sr), 28);
    assert_int_equal(cs_rtcp_sdes_append(&b, &sdes), 52);
    assert_memory_equal(out, pkt_sr_sdes, sizeof pkt_sr_sdes);
    /* Too small for the SDES: the SR stays, nothing else is added. */
    cs_rtcp_builder_init(&b, out, 60);
    assert_int_equal(cs_rtcp_sr_append(&b, &sr), 28);
    assert_int_equal(cs_rtcp_sdes_append(&b, &sdes), CS_ETOOBIG);
    assert_int_equal(b.len, 28);
    assert_int_equal(cs_rtcp_validate(out, b.len), 1);
}

static void test_sr_block_bye_app(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_sr_t sr;
    cs_rtcp_bye_t bye;
    cs_rtcp_app_t app;
    START(pkt_sr_bye);
    next_ok(&p, CS_RTCP_SR, 1);
    assert_int_equal(cs_rtcp_sr_parse(&p, &sr), CS_OK);
    assert_int_equal(sr.n_reports, 1);
    assert_int_equal(sr.reports[0].ssrc, 0x5e1f2c3a);
    assert_int_equal(sr.reports[0].cumulative_lost, -1);
    assert_int_equal(sr.reports[0].ext_highest_seq, 100);
    assert_int_equal(sr.reports[0].lsr, 0x3b108000);
    assert_int_equal(sr.reports[0].dlsr, 0x4000);
    next_ok(&p, CS_RTCP_BYE, 1);
    assert_int_equal(cs_rtcp_bye_parse(&p, &bye), CS_OK);
    assert_int_equal(bye.ssrcs[0], 0x11223344);
    assert_int_equal(bye.reason_len, 3);
    assert_memory_equal(bye.reason, "bye", 3);

    uint8_t out[128];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_true(cs_rtcp_sr_append(&b, &sr) > 0);
    assert_true(cs_rtcp_bye_append(&b, &bye) > 0);
    assert_int_equal(b.len, sizeof pkt_sr_bye);
    assert_memory_equal(out, pkt_sr_bye, sizeof pkt_sr_bye);

    START(pkt_app);
    next_ok(&p, CS_RTCP_APP, 3);
    assert_int_equal(cs_rtcp_app_parse(&p, &app), CS_OK);
    assert_int_equal(app.ssrc, 0x11223344);
    assert_memory_equal(app.name, "TEST", 4);
    assert_int_equal(app.data_len, 8);
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_app_append(&b, &app), 20);
    assert_memory_equal(out, pkt_app, sizeof pkt_app);
    app.data_len = 7;
    assert_int_equal(cs_rtcp_app_append(&b, &app), CS_EINVAL);

    /* Cumulative lost is clamped to 24 bits on the wire. */
    sr.reports[0].cumulative_lost = -20000000;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_true(cs_rtcp_sr_append(&b, &sr) > 0);
    assert_memory_equal(out + 28 + 5, "\x80\x00\x00", 3);
    sr.n_reports = 32;
    assert_int_equal(cs_rtcp_sr_append(&b, &sr), CS_EINVAL);
}

static const struct { uint16_t seq; bool rx; int32_t us; } twcc_want[20] = {
    {65534, 1, 4000}, {65535, 1, 250}, {0, 1, 0}, {1, 1, 62500}, {2, 1, 1000},
    {3, 1, 2000}, {4, 0, 0}, {5, 1, -50000}, {6, 1, 8000}, {7, 0, 0},
    {8, 0, 0}, {9, 1, 1250000}, {10, 1, 750}, {11, 1, 1250}, {12, 0, 0},
    {13, 0, 0}, {14, 1, 1500}, {15, 1, 1750}, {16, 1, 2000}, {17, 1, 2250},
};

/* Field by field: the structs have padding bytes. */
static void assert_twcc_equal(const cs_rtcp_twcc_pkt_t *a, const cs_rtcp_twcc_pkt_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(a[i].seq, b[i].seq);
        assert_int_equal(a[i].received, b[i].received);
        assert_int_equal(a[i].delta_us, b[i].delta_us);
    }
}

static void test_twcc(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_twcc_t h;
    cs_rtcp_twcc_pkt_t pk[64];
    START(pkt_twcc);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, CS_ARRAY_LEN(pk)), CS_OK);
    assert_int_equal(h.sender_ssrc, 1);
    assert_int_equal(h.media_ssrc, 0x5e1f2c3a);
    assert_int_equal(h.base_seq, 65534);
    assert_int_equal(h.status_count, 20);
    assert_int_equal(h.reference_time, 0x0a1b2c);
    assert_int_equal(h.fb_count, 7);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(pk[i].seq, twcc_want[i].seq);
        assert_int_equal(pk[i].received, twcc_want[i].rx);
        assert_int_equal(pk[i].delta_us, twcc_want[i].us);
    }
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, 19), CS_ETOOBIG);
    assert_int_equal(cs_rtcp_nack_parse(&p, NULL, NULL, 0, &(size_t){0}), CS_EINVAL);

    /* Our encoder picks other chunks (2-bit, 2-bit, 1-bit), same deltas. */
    uint8_t out[128], want[sizeof pkt_twcc];
    memcpy(want, pkt_twcc, sizeof want);
    memcpy(want + 20, "\xd5\x54\xe4\x25\x8f\x00", 6);
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 20), sizeof pkt_twcc);
    assert_memory_equal(out, want, sizeof want);

    /* Run-length chunks, a negative reference time, large deltas. */
    START(pkt_twcc_runs);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, CS_ARRAY_LEN(pk)), CS_OK);
    assert_int_equal(h.status_count, 30);
    assert_int_equal(h.reference_time, -2);
    assert_int_equal(pk[9].delta_us, 2500);
    assert_false(pk[10].received || pk[24].received);
    assert_int_equal(pk[25].delta_us, 1000);
    assert_int_equal(pk[26].delta_us, -1000);
    assert_int_equal(pk[27].delta_us, 0);       /* a large delta of 0 is legal */
    assert_int_equal(pk[28].delta_us, 256 * 250);
    assert_int_equal(pk[29].delta_us, -32768 * 250);
    assert_int_equal(pk[29].seq, 129);
    cs_rtcp_builder_init(&b, out, sizeof out);
    int n = cs_rtcp_twcc_append(&b, &h, pk, 30);
    assert_true(n > 0);
    cs_rtcp_twcc_pkt_t again[64];
    cs_rtcp_twcc_t h2;
    start(out, (size_t)n);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h2, again, CS_ARRAY_LEN(again)), CS_OK);
    assert_int_equal(h2.reference_time, -2);
    assert_twcc_equal(again, pk, 30);
}

static void test_twcc_build_refusals_and_rounding(void **state)
{
    (void)state;
    uint8_t out[256];
    cs_rtcp_builder_t b;
    cs_rtcp_twcc_t h = {.sender_ssrc = 1, .media_ssrc = 2, .base_seq = 10};
    cs_rtcp_twcc_pkt_t pk[3] = {{10, true, 1130}, {11, false, 0}, {12, true, -130}};
    cs_rtcp_builder_init(&b, out, sizeof out);
    int n = cs_rtcp_twcc_append(&b, &h, pk, 3);
    assert_true(n > 0);
    cs_rtcp_pkt_t p;
    cs_rtcp_twcc_pkt_t got[3];
    start(out, (size_t)n);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, got, 3), CS_OK);
    assert_int_equal(got[0].delta_us, 1250);    /* 1130 → 4.52 ticks → 5 */
    assert_int_equal(got[2].delta_us, -250);    /* -130 → -0.52 → -1 */

    pk[1].seq = 99;
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 3), CS_EINVAL);
    pk[1].seq = 11;
    pk[0].delta_us = 8192000;                   /* one tick past the large form */
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 3), CS_EINVAL);
    pk[0].delta_us = 0;
    h.reference_time = 0x800000;
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 3), CS_EINVAL);
    h.reference_time = 0;
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 0), CS_EINVAL);
    cs_rtcp_builder_init(&b, out, 23);
    assert_int_equal(cs_rtcp_twcc_append(&b, &h, pk, 3), CS_ETOOBIG);
    assert_int_equal(b.len, 0);

    /* A long feedback: a run past the 8191-packet chunk limit, vectors of
     * every kind, sequence numbers wrapping. */
    static cs_rtcp_twcc_pkt_t big[20000], back[20000];
    static uint8_t buf[65536];
    for (int i = 0; i < 20000; i++) {
        bool rx = i < 1000 || i >= 10500 ? i % 3 != 0 : false;
        int32_t us = i < 1000 ? (i % 5) * 250 : (i % 7 == 0 ? -1000 : (i % 300) * 250);
        big[i] = (cs_rtcp_twcc_pkt_t){(uint16_t)(65000 + i), rx, rx ? us : 0};
    }
    cs_rtcp_builder_init(&b, buf, sizeof buf);
    h.base_seq = 65000;
    n = cs_rtcp_twcc_append(&b, &h, big, 20000);
    assert_true(n > 0);
    start(buf, (size_t)n);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, back, 20000), CS_OK);
    assert_int_equal(h.status_count, 20000);
    assert_twcc_equal(back, big, 20000);
}

static void test_nack_pli_fir(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    uint16_t seqs[32];
    size_t n;
    START(pkt_nack);
    next_ok(&p, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 32, &n), CS_OK);
    assert_int_equal(ids.sender_ssrc, 1);
    assert_int_equal(ids.media_ssrc, 0x11223344);
    static const uint16_t want[] = {0x1234, 0x1235, 0x1237, 0x1244, 0xffff, 0x0000};
    assert_int_equal(n, 6);
    assert_memory_equal(seqs, want, sizeof want);
    /* The bound: the first three, and the caller is told there were more. */
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 3, &n), CS_ETOOBIG);
    assert_int_equal(n, 3);
    assert_memory_equal(seqs, want, 3 * sizeof want[0]);

    uint8_t out[64];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_nack_append(&b, &ids, want, 6), sizeof pkt_nack);
    assert_memory_equal(out, pkt_nack, sizeof pkt_nack);
    assert_int_equal(cs_rtcp_nack_append(&b, &ids, want, 0), CS_EINVAL);

    START(pkt_pli);
    next_ok(&p, CS_RTCP_PSFB, CS_RTCP_FMT_PLI);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    assert_int_equal(ids.media_ssrc, 0x11223344);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 32, &n), CS_EINVAL);  /* PSFB, not RTPFB */
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_pli_append(&b, &ids), 12);
    assert_memory_equal(out, pkt_pli, sizeof pkt_pli);

    cs_rtcp_fir_t fir;
    START(pkt_fir);
    next_ok(&p, CS_RTCP_PSFB, CS_RTCP_FMT_FIR);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_EINVAL);               /* FMT 4 */
    assert_int_equal(cs_rtcp_fir_parse(&p, &fir), CS_OK);
    assert_int_equal(fir.n, 1);
    assert_int_equal(fir.entries[0].ssrc, 0x11223344);
    assert_int_equal(fir.entries[0].seq, 5);
    cs_rtcp_builder_init(&b, out, sizeof out);
    assert_int_equal(cs_rtcp_fir_append(&b, &fir), 20);
    assert_memory_equal(out, pkt_fir, sizeof pkt_fir);
    fir.n = 0;
    assert_int_equal(cs_rtcp_fir_append(&b, &fir), CS_EINVAL);
}

static void test_framing_errors(void **state)
{
    (void)state;
    cs_rtcp_pkt_t p;
    cs_rtcp_rr_t rr;
    cs_rtcp_fb_t ids;
    /* The packets before a framing error stay usable; nothing after it. */
    START(pkt_bad_second_version);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);       /* still the first one */
    START(pkt_bad_length);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    START(pkt_bad_trailing);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    START(pkt_bad_pad_zero);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    START(pkt_bad_pad_big);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), CS_EINVAL);
    assert_int_equal(cs_rtcp_validate(pkt_bad_length, sizeof pkt_bad_length), CS_EINVAL);
    assert_int_equal(cs_rtcp_validate(pkt_pli, 0), CS_EINVAL);
    start(pkt_pli, 0);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 0);
    /* Padding that fits is removed from the body. */
    static const uint8_t padded[] = {0xa1, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 4};
    START(padded);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_true(p.padding);
    assert_int_equal(p.body_len, 8);

    /* A content error spoils one packet, not the ones after it. */
    START(pkt_bad_zero_length_rr);
    next_ok(&p, CS_RTCP_RR, 0);
    assert_int_equal(p.raw_len, 4);
    assert_int_equal(p.body_len, 0);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_EINVAL);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 0);
    START(pkt_bad_rr_then_pli);
    next_ok(&p, CS_RTCP_RR, 1);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_EINVAL);
    next_ok(&p, CS_RTCP_PSFB, 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 0);
}

static void expect_content_error(const uint8_t *b, size_t len, int want)
{
    cs_rtcp_pkt_t p;
    start(b, len);
    assert_int_equal(cs_rtcp_iter_next(&it, &p), 1);
    cs_rtcp_twcc_pkt_t pk[64];
    cs_rtcp_twcc_t h;
    cs_rtcp_sdes_t sdes;
    cs_rtcp_bye_t bye;
    cs_rtcp_remb_t remb;
    cs_rtcp_fir_t fir;
    cs_rtcp_sr_t sr;
    cs_rtcp_fb_t ids;
    uint16_t seqs[64];
    size_t n;
    int rc;
    if (p.type == CS_RTCP_RTPFB && p.count == CS_RTCP_FMT_TWCC)
        rc = cs_rtcp_twcc_parse(&p, &h, pk, 64);
    else if (p.type == CS_RTCP_RTPFB)
        rc = cs_rtcp_nack_parse(&p, &ids, seqs, 64, &n);
    else if (p.type == CS_RTCP_SDES)
        rc = cs_rtcp_sdes_parse(&p, &sdes);
    else if (p.type == CS_RTCP_BYE)
        rc = cs_rtcp_bye_parse(&p, &bye);
    else if (p.type == CS_RTCP_SR)
        rc = cs_rtcp_sr_parse(&p, &sr);
    else if (p.count == CS_RTCP_FMT_AFB)
        rc = cs_rtcp_remb_parse(&p, &remb);
    else if (p.count == CS_RTCP_FMT_FIR)
        rc = cs_rtcp_fir_parse(&p, &fir);
    else
        rc = cs_rtcp_pli_parse(&p, &ids);
    assert_int_equal(rc, want);
}

#define CONTENT_ERROR(want, ...)                                                          \
    do {                                                                                  \
        static const uint8_t b_[] = {__VA_ARGS__};                                        \
        expect_content_error(b_, sizeof b_, want);                                        \
    } while (0)

static void test_content_errors(void **state)
{
    (void)state;
    /* TWCC: the count outruns the chunks; reserved symbol; deltas cut short;
     * a status count of 0; more than 3 bytes after the deltas. */
    expect_content_error(pkt_bad_twcc_count, sizeof pkt_bad_twcc_count, CS_EINVAL);
    expect_content_error(pkt_bad_twcc_reserved, sizeof pkt_bad_twcc_reserved, CS_EINVAL);
    uint8_t cut[sizeof pkt_twcc];
    memcpy(cut, pkt_twcc, sizeof cut);
    cut[3] = 0x09;                      /* one word shorter: the last deltas are gone */
    expect_content_error(cut, sizeof cut - 4, CS_EINVAL);
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xcd, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x00, 0x00, 0x00, 0x00, 0x01);
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xcd, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x01, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x05, 0, 0, 0, 0, 0);
    CONTENT_ERROR(CS_OK, 0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x01, 0x00, 0x00, 0x00, 0x01, 0x20, 0x01, 0x05, 0);
    /* TWCC: the chunks run out (a zero run makes no progress); a reserved
     * symbol in a 2-bit vector; a large delta cut to one byte. */
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x14, 0x00, 0x00, 0x00, 0x01, 0x20, 0x05, 0x00, 0x00);
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x07, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x03, 0x00, 0x00);
    CONTENT_ERROR(CS_OK, 0x8f, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x06, 0x00, 0x00, 0x00, 0x01, 0xc0, 0x03, 0x00, 0x00);
    CONTENT_ERROR(CS_EINVAL, 0xaf, 0xcd, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x01, 0x00, 0x00, 0x00, 0x01, 0x40, 0x01, 0x7f, 0x01);
    /* TWCC too short for its fixed part. */
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xcd, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 2, 0x00, 0x00, 0x00,
                  0x01);
    /* NACK: FCI not a multiple of 4 (padding), no FCI at all. */
    expect_content_error(pkt_bad_nack_padded, sizeof pkt_bad_nack_padded, CS_EINVAL);
    CONTENT_ERROR(CS_EINVAL, 0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2);
    /* PLI too short; FIR entry not 8 bytes; FIR with no entry. */
    CONTENT_ERROR(CS_EINVAL, 0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1);
    CONTENT_ERROR(CS_EINVAL, 0x84, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2);
    CONTENT_ERROR(CS_EINVAL, 0x84, 0xce, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 0);
    /* REMB: another AFB; fewer SSRCs than its count; a 64-bit overflow. */
    CONTENT_ERROR(CS_EUNSUPPORTED, 0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'G', 'O', 'O',
                  'G', 0, 0, 0, 0);
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xce, 0x00, 0x05, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B',
                  0x02, 0x0e, 0xdc, 0x6c, 0, 0, 0, 1);
    CONTENT_ERROR(CS_EINVAL, 0x8f, 0xce, 0x00, 0x04, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B',
                  0x00, 0xff, 0xff, 0xff);
    /* SDES: item past the end; no null item; BYE reason past the end; SR short of its block. */
    expect_content_error(pkt_bad_sdes, sizeof pkt_bad_sdes, CS_EINVAL);
    CONTENT_ERROR(CS_EINVAL, 0x81, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x02, 'a', 'b');
    CONTENT_ERROR(CS_EINVAL, 0x82, 0xca, 0x00, 0x02, 0, 0, 0, 1, 0x01, 0x01, 'a', 0x00);
    CONTENT_ERROR(CS_EINVAL, 0x81, 0xcb, 0x00, 0x02, 0, 0, 0, 1, 0x05, 'b', 'y', 'e');
    CONTENT_ERROR(CS_EINVAL, 0x81, 0xc8, 0x00, 0x06, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0, 0, 0, 0, 0);
}

static void test_remb_fir_bounds(void **state)
{
    (void)state;
    uint8_t out[512];
    cs_rtcp_builder_t b;
    cs_rtcp_remb_t remb = {.sender_ssrc = 1, .bitrate_bps = UINT64_MAX, .n_ssrcs = 2,
                           .ssrcs = {7, 8}};
    cs_rtcp_builder_init(&b, out, sizeof out);
    int n = cs_rtcp_remb_append(&b, &remb);
    assert_int_equal(n, 28);
    cs_rtcp_pkt_t p;
    cs_rtcp_remb_t back;
    start(out, (size_t)n);
    next_ok(&p, CS_RTCP_PSFB, CS_RTCP_FMT_AFB);
    assert_int_equal(cs_rtcp_remb_parse(&p, &back), CS_OK);
    assert_int_equal(back.bitrate_bps, 0x3FFFFULL << 46);       /* rounded down */
    assert_int_equal(back.ssrcs[1], 8);
    remb.n_ssrcs = CS_RTCP_REMB_MAX_SSRCS + 1;
    assert_int_equal(cs_rtcp_remb_append(&b, &remb), CS_EINVAL);

    /* A FIR with more entries than we keep is refused, not truncated. */
    uint8_t fir[12 + 8 * (CS_RTCP_FIR_MAX + 1)] = {0x84, 0xce, 0x00, 2 + 2 * (CS_RTCP_FIR_MAX + 1)};
    cs_rtcp_fir_t f;
    start(fir, sizeof fir);
    next_ok(&p, CS_RTCP_PSFB, CS_RTCP_FMT_FIR);
    assert_int_equal(cs_rtcp_fir_parse(&p, &f), CS_ETOOBIG);
}

/* ---- derived values ---------------------------------------------------------------- */

static void test_ntp_rtt_loss(void **state)
{
    (void)state;
    assert_int_equal(cs_rtcp_ntp_from_unix_us(0), 2208988800ULL << 32);
    assert_int_equal(cs_rtcp_ntp_from_unix_us(1672531200500000LL),
                     (0xe75b4b80ULL << 32) | 0x80000000u);   /* 2023-01-01T00:00:00.5Z */
    for (int64_t us = 1700000000000000LL; us < 1700000000000000LL + 3000000; us += 333331)
        assert_int_equal(cs_rtcp_ntp_to_unix_us(cs_rtcp_ntp_from_unix_us(us)), us);
    assert_int_equal(cs_rtcp_ntp_to_unix_us(cs_rtcp_ntp_from_unix_us(-1500000)), -1500000);
    assert_int_equal(cs_rtcp_dlsr_from_us(1500000), 0x00018000);
    assert_int_equal(cs_rtcp_dlsr_from_us(-5), 0);

    /* RFC 3550 §6.4.1, Figure 2: A 0xb7108000, LSR 0xb7052000, DLSR
     * 0x00054000 give an RTT of 0x00062000, 6.125 s. */
    int64_t rtt;
    assert_int_equal(cs_rtcp_rtt_us(0xb7108000, 0xb7052000, 0x00054000, &rtt), CS_OK);
    assert_int_equal(rtt, 6125000);
    assert_int_equal(cs_rtcp_rtt_us(0x00001000, 0xffff8000, 0x00004000, &rtt), CS_OK);
    assert_int_equal(rtt, 312500);                                  /* across the wrap */
    assert_int_equal(cs_rtcp_rtt_us(0xb7108000, 0xb7052000, 0x00100000, &rtt), CS_OK);
    assert_int_equal(rtt, 0);                                       /* negative: clamped */
    assert_int_equal(cs_rtcp_rtt_us(0xb7108000, 0, 0, &rtt), CS_ENOTFOUND);

    assert_int_equal(cs_rtcp_fraction_lost(100, 90), 25);
    assert_int_equal(cs_rtcp_fraction_lost(100, 0), 255);
    assert_int_equal(cs_rtcp_fraction_lost(100, 105), 0);
    assert_int_equal(cs_rtcp_fraction_lost(0, 0), 0);
    assert_int_equal(cs_rtcp_clamp_lost(0x800000), 0x7fffff);
    assert_int_equal(cs_rtcp_clamp_lost(-0x900000), -0x800000);
    assert_int_equal(cs_rtcp_clamp_lost(-3), -3);
}

static void test_report_from_seq(void **state)
{
    (void)state;
    cs_rtp_seqtrack_t t;
    cs_rtp_jitter_t j;
    cs_rtcp_report_block_t rb;
    cs_rtp_seqtrack_init(&t);
    cs_rtp_jitter_init(&j);
    /* 65500 .. 65535, 0 .. 63 with every tenth lost: 100 expected after the
     * first (probation), 90 received. */
    for (int i = 0; i < 101; i++) {
        uint16_t seq = (uint16_t)(65499 + i);
        if (i % 10 == 5)
            continue;
        cs_rtp_seqtrack_update(&t, seq, NULL);
        cs_rtp_jitter_update(&j, (uint32_t)i * 960, (uint32_t)i * 960 + (i % 2) * 32);
    }
    cs_rtcp_report_from_seq(&rb, 0xabc, &t, &j);
    assert_int_equal(rb.ssrc, 0xabc);
    assert_int_equal(rb.ext_highest_seq, 65536 + 63);
    assert_int_equal(rb.cumulative_lost, 10);
    assert_int_equal(rb.fraction_lost, 10 * 256 / 100);
    assert_int_equal(rb.jitter, cs_rtp_jitter_get(&j));
    assert_true(rb.jitter > 0);
    /* The next interval: 10 more, 2 of them lost, and 3 duplicates. */
    for (uint16_t seq = 64; seq < 74; seq++)
        if (seq != 66 && seq != 67)
            cs_rtp_seqtrack_update(&t, seq, NULL);
    cs_rtp_seqtrack_update(&t, 70, NULL);
    cs_rtp_seqtrack_update(&t, 71, NULL);
    cs_rtp_seqtrack_update(&t, 71, NULL);
    cs_rtcp_report_from_seq(&rb, 0xabc, &t, NULL);
    assert_int_equal(rb.fraction_lost, 0);      /* duplicates outweigh the 2 lost */
    assert_int_equal(rb.cumulative_lost, 10 + 2 - 3);
    assert_int_equal(rb.jitter, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chrome_rr_remb),
        cmocka_unit_test(test_firefox_sr_sdes),
        cmocka_unit_test(test_sr_block_bye_app),
        cmocka_unit_test(test_twcc),
        cmocka_unit_test(test_twcc_build_refusals_and_rounding),
        cmocka_unit_test(test_nack_pli_fir),
        cmocka_unit_test(test_framing_errors),
        cmocka_unit_test(test_content_errors),
        cmocka_unit_test(test_remb_fir_bounds),
        cmocka_unit_test(test_ntp_rtt_loss),
        cmocka_unit_test(test_report_from_seq),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(copy);
    return rc;
}
