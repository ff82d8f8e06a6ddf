/*
 * test_postproc_timeline.c — media/postproc's RTP time → recording time
 * estimator (timeline.c) on synthetic arrivals: senders whose clocks drift
 * (+100 ppm audio, -50 ppm video from the same sender) over 30 simulated
 * minutes of network jitter, retransmission spikes and a congested
 * stretch stay within 40 ms of the truth (and together); timestamps and
 * sequence numbers unwrap across their wrap; a new SSRC or a timestamp jump
 * starts a segment, found again by pass 2; short streams get an offset only.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/postproc/internal.h"

typedef struct {
    uint64_t rng;
    double base_ms;
} net_t;

static double rnd(net_t *n)
{
    n->rng ^= n->rng << 13;
    n->rng ^= n->rng >> 7;
    n->rng ^= n->rng << 17;
    return (double)(n->rng >> 11) / 9007199254740992.0;
}

/* One packet's delay: base, a standing queue that swells and drains
 * (0..10 ms over 7 minutes), an exponential queue (mean 15 ms), a
 * retransmission now and then (+150..450 ms), and from 12:00 to 12:20 a
 * congested path (+150 ms for everyone). */
static double delay_us(net_t *n, double send_s)
{
    double d = n->base_ms + 5 * (1 - cos(2 * M_PI * send_s / 420)) + -log(1 - rnd(n)) * 15.0;
    if (rnd(n) < 0.01)
        d += 150 + 300 * rnd(n);
    if (send_s >= 720 && send_s < 740)
        d += 150;
    return d * 1000;
}

/* A stream: packets every period_s of sender time (its clock ppm fast),
 * ticks per packet, from t0 for dur_s. Calls fn for each. */
typedef struct {
    uint32_t clock, ssrc, ts0;
    uint16_t seq0;
    double period_s, ppm;
    uint32_t ticks;
} stream_t;

typedef void (*pkt_fn)(void *user, const stream_t *s, uint32_t ts, uint16_t seq,
                       int64_t arrival_us, double send_s);

static void run_stream(const stream_t *s, double dur_s, net_t *net, pkt_fn fn, void *user)
{
    net_t n = *net;
    for (uint64_t k = 0;; k++) {
        /* Sender time k * period on a clock ppm fast: real time is less. */
        double send = (double)k * s->period_s / (1 + s->ppm * 1e-6);
        if (send >= dur_s)
            break;
        uint32_t ts = s->ts0 + (uint32_t)(k * s->ticks);
        fn(user, s, ts, (uint16_t)(s->seq0 + k), (int64_t)llround(send * 1e6 + delay_us(&n, send)),
           send);
    }
}

typedef struct {
    cs_pp_timeline_t *tl;
    double max_err_us, base_us;
    bool pass2;
    int64_t last_mapped;
    int64_t last_ext_seq;
    bool monotonic, seq_ok, started;
    unsigned segs_seen;
} check_t;

static void learn(void *user, const stream_t *s, uint32_t ts, uint16_t seq, int64_t arr,
                  double send)
{
    (void)send;
    check_t *c = user;
    cs_pp_tl_loc_t loc;
    assert_int_equal(cs_pp_tl_learn(c->tl, s->ssrc, ts, seq, arr, &loc), CS_OK);
}

static void check(void *user, const stream_t *s, uint32_t ts, uint16_t seq, int64_t arr,
                  double send)
{
    check_t *c = user;
    cs_pp_tl_loc_t loc;
    cs_pp_tl_locate(c->tl, s->ssrc, ts, seq, arr, &loc);
    int64_t m = cs_pp_tl_map(c->tl, loc.seg, loc.ext_ts);
    /* The truth: the real send time plus the path's base delay. */
    double err = fabs((double)m - (send * 1e6 + c->base_us));
    if (err > c->max_err_us)
        c->max_err_us = err;
    if (c->started && (m < c->last_mapped || loc.ext_seq != c->last_ext_seq + 1))
        c->monotonic = false;
    c->last_mapped = m;
    c->last_ext_seq = loc.ext_seq;
    c->started = true;
    if (loc.seg + 1 > c->segs_seen)
        c->segs_seen = loc.seg + 1;
}

/* Both passes over one stream; returns the worst error in µs. */
static double two_passes(cs_pp_timeline_t *tl, const stream_t *s, double dur_s, net_t *net,
                         check_t *c)
{
    cs_pp_tl_init(tl, s->clock);
    memset(c, 0, sizeof *c);
    c->tl = tl;
    c->base_us = net->base_ms * 1000;
    c->monotonic = true;
    run_stream(s, dur_s, net, learn, c);
    cs_pp_tl_finish(tl);
    cs_pp_tl_rewind(tl);
    run_stream(s, dur_s, net, check, c);
    return c->max_err_us;
}

static void test_drift_30_minutes(void **state)
{
    (void)state;
    static cs_pp_timeline_t audio, video;
    net_t net = {.rng = 42, .base_ms = 35};
    stream_t a = {.clock = 48000, .ssrc = 1, .ts0 = 1000, .seq0 = 10, .period_s = 0.02,
                  .ppm = 100, .ticks = 960};
    stream_t v = {.clock = 90000, .ssrc = 2, .ts0 = 5000, .seq0 = 20, .period_s = 1.0 / 30,
                  .ppm = -50, .ticks = 3000};
    check_t ca, cv;
    double ea = two_passes(&audio, &a, 1800, &net, &ca);
    net.rng = 43;
    double ev = two_passes(&video, &v, 1800, &net, &cv);
    print_message("timeline: worst error audio %.1f ms, video %.1f ms over 30 min\n", ea / 1000,
                  ev / 1000);
    assert_true(ea < 40000);
    assert_true(ev < 40000);
    assert_true(ca.monotonic && cv.monotonic);
    assert_int_equal(ca.segs_seen, 1);
    assert_int_equal(cv.segs_seen, 1);
    /* The drift was followed, not ignored: 100 ppm over 30 minutes is 180 ms. */
    assert_true(fabs(audio.segs[0].beta - (-100e-6 / (1 + 100e-6))) < 10e-6);
    assert_true(fabs(video.segs[0].beta - (50e-6 / (1 - 50e-6))) < 10e-6);
    /* Audio and video of one instant together: each within 40 ms of the truth. */
    for (double t = 0; t < 1800; t += 60) {
        int64_t ma = cs_pp_tl_map(&audio, 0, audio.segs[0].base_ts +
                                                 (int64_t)llround(t * (1 + 100e-6) * 48000));
        int64_t mv = cs_pp_tl_map(&video, 0, video.segs[0].base_ts +
                                                 (int64_t)llround(t * (1 - 50e-6) * 90000));
        assert_true(llabs(ma - mv) < 40000);
    }
    cs_pp_tl_free(&audio);
    cs_pp_tl_free(&video);
}

static void test_wrap(void **state)
{
    (void)state;
    static cs_pp_timeline_t tl;
    net_t net = {.rng = 7, .base_ms = 20};
    /* The timestamp wraps after 10 s, the sequence number after ~0.3 s. */
    stream_t a = {.clock = 48000, .ssrc = 9, .ts0 = UINT32_MAX - 480000, .seq0 = 65520,
                  .period_s = 0.02, .ppm = 0, .ticks = 960};
    check_t c;
    double e = two_passes(&tl, &a, 60, &net, &c);
    assert_true(e < 20000);
    assert_true(c.monotonic);
    assert_int_equal(c.segs_seen, 1);
    cs_pp_tl_free(&tl);
}

/* Reordered packets (neighbours swapped) keep their own place. */
static void test_reordered(void **state)
{
    (void)state;
    cs_pp_timeline_t tl;
    cs_pp_tl_init(&tl, 90000);
    cs_pp_tl_loc_t loc;
    /* In sequence order 65534, 65535, 0, 1, 2 with timestamps 3000 apart
     * across the 32-bit wrap; delivered as 65534, 0, 65535, 1, 2. */
    const uint16_t seqs[] = {65534, 0, 65535, 1, 2};
    const uint32_t tss[] = {4294964296u, 3000, 0, 6000, 9000};
    int64_t ext_seq[5], ext_ts[5];
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cs_pp_tl_learn(&tl, 5, tss[i], seqs[i], 1000 * i, &loc), CS_OK);
        ext_seq[i] = loc.ext_seq;
        ext_ts[i] = loc.ext_ts;
        assert_int_equal(loc.seg, 0);
    }
    assert_int_equal(ext_seq[1], ext_seq[0] + 2);
    assert_int_equal(ext_seq[2], ext_seq[0] + 1);
    assert_int_equal(ext_seq[3], ext_seq[0] + 3);
    assert_int_equal(ext_seq[4], ext_seq[0] + 4);
    assert_int_equal(ext_ts[1] - ext_ts[0], 6000);
    assert_int_equal(ext_ts[2] - ext_ts[0], 3000);
    assert_int_equal(ext_ts[4] - ext_ts[0], 12000);
    cs_pp_tl_free(&tl);
}

/* A sender that restarts at 30 s: a new SSRC and a random timestamp base;
 * and at 60 s its timestamps jump an hour ahead without a new SSRC. */
static void test_segments(void **state)
{
    (void)state;
    static cs_pp_timeline_t tl;
    cs_pp_tl_init(&tl, 48000);
    net_t net = {.rng = 11, .base_ms = 30};
    for (int pass = 1; pass <= 2; pass++) {
        net_t n = net;
        if (pass == 2)
            cs_pp_tl_rewind(&tl);
        double worst = 0;
        for (uint32_t k = 0; k < 90 * 50; k++) {
            double send = k * 0.02;
            uint32_t ssrc = send < 30 ? 100 : 200;
            uint32_t ts = send < 30 ? 5000 + k * 960 : 777777777u + k * 960;
            if (send >= 60)
                ts += 3600u * 48000u;
            int64_t arr = (int64_t)llround(send * 1e6 + delay_us(&n, send));
            cs_pp_tl_loc_t loc;
            if (pass == 1) {
                assert_int_equal(cs_pp_tl_learn(&tl, ssrc, ts, (uint16_t)k, arr, &loc), CS_OK);
                continue;
            }
            cs_pp_tl_locate(&tl, ssrc, ts, (uint16_t)k, arr, &loc);
            assert_int_equal(loc.seg, send < 30 ? 0 : send < 60 ? 1 : 2);
            int64_t m = cs_pp_tl_map(&tl, loc.seg, loc.ext_ts);
            double err = fabs((double)m - (send * 1e6 + 30000));
            worst = fmax(worst, err);
        }
        if (pass == 1) {
            cs_pp_tl_finish(&tl);
            assert_int_equal(tl.n_segs, 3);
        } else {
            assert_true(worst < 20000);
        }
    }
    int64_t first, last;
    assert_true(cs_pp_tl_span(&tl, &first, &last));
    assert_true(llabs(first - 30000) < 20000);
    assert_true(llabs(last - (int64_t)(89.98e6 + 30000)) < 20000);
    cs_pp_tl_free(&tl);
}

/* Ten seconds are too short to tell drift from jitter: offset only, and
 * from the lower envelope (not the mean delay). */
static void test_short_stream(void **state)
{
    (void)state;
    static cs_pp_timeline_t tl;
    net_t net = {.rng = 5, .base_ms = 50};
    stream_t v = {.clock = 90000, .ssrc = 3, .ts0 = 0, .seq0 = 0, .period_s = 1.0 / 30,
                  .ppm = 0, .ticks = 3000};
    check_t c;
    double e = two_passes(&tl, &v, 10, &net, &c);
    assert_true(tl.segs[0].beta == 0);
    assert_true(e < 10000);     /* the mean delay would be 15 ms off */
    int64_t first, last;
    assert_true(cs_pp_tl_span(&tl, &first, &last));
    assert_true(llabs(first - 50000) < 10000);
    cs_pp_tl_free(&tl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drift_30_minutes),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_reordered),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_short_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
