/*
 * test_postproc_parts.c — media/postproc's parts on their own: the VP8
 * depacketiser (whole frames only; after a loss, a keyframe, unless the
 * PictureIDs or the N bit prove the references intact), the reorder buffer
 * (sequence order, gaps given up when the next packet is due, duplicates
 * and late packets refused), the grid and the letterbox, the resampler
 * (flat stays flat, shrinking averages instead of aliasing), the name band,
 * and the audio side (the mix, resync to the mapped time, loss concealment,
 * the OpusHead).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <opus/opus.h>

#include "common/common.h"
#include "media/postproc/internal.h"

/* ---- VP8 depacketiser ------------------------------------------------------------ */

typedef struct {
    cs_pp_vp8_t d;
    int64_t ext;
    uint16_t pic;
    uint32_t ts;
} vp8_fx_t;

/* Temporal layer fields (L, T: TL0PICIDX, TID, Y), as libwebrtc sends VP8
 * in L1T3. */
typedef struct {
    int tid;
    uint8_t tl0;
    bool sync;
} vp8_tl_t;

/* One packet of a frame: descriptor X=1, S, PID 0, I=1, 15-bit PictureID,
 * N when non_ref, the layer fields when tl; then bytes. The VP8 payload
 * header's first byte has the P bit clear on keyframes. */
static int vp8_packet(vp8_fx_t *f, bool start, bool marker, bool key, bool non_ref,
                      const vp8_tl_t *tl, uint8_t fill, cs_pp_vp8_frame_t *out)
{
    uint8_t p[16];
    size_t h = 4;
    p[0] = (uint8_t)(0x80 | (non_ref ? 0x20 : 0) | (start ? 0x10 : 0));
    p[1] = tl ? 0xe0 : 0x80;                            /* I (L T) */
    p[2] = (uint8_t)(0x80 | f->pic >> 8);
    p[3] = (uint8_t)f->pic;
    if (tl) {
        p[h++] = tl->tl0;
        p[h++] = (uint8_t)(tl->tid << 6 | (tl->sync ? 0x20 : 0));
    }
    memset(p + h, fill, sizeof p - h);
    if (start)
        p[h] = key ? 0x10 : 0x11;
    return cs_pp_vp8_push(&f->d, f->ext++, f->ts, marker, p, sizeof p, out);
}

/* A frame of n packets; skip (1-based, 0 none) is lost, skip < 0 the whole
 * frame. Returns 1 when emitted. */
static int vp8_frame_tl(vp8_fx_t *f, int n, bool key, bool non_ref, const vp8_tl_t *tl,
                        int skip, cs_pp_vp8_frame_t *out)
{
    int rc = 0;
    for (int i = 1; i <= n; i++) {
        if (i == skip || skip < 0) {
            f->ext++;
            continue;
        }
        rc = vp8_packet(f, i == 1, i == n, key, non_ref, tl, (uint8_t)i, out);
        if (i < n)
            assert_int_equal(rc, 0);
    }
    f->pic = (uint16_t)((f->pic + 1) & 0x7fff);
    f->ts += 3000;
    return rc;
}

static int vp8_frame(vp8_fx_t *f, int n, bool key, bool non_ref, int skip, cs_pp_vp8_frame_t *out)
{
    return vp8_frame_tl(f, n, key, non_ref, NULL, skip, out);
}

static void test_vp8_frames(void **state)
{
    (void)state;
    vp8_fx_t f = {.ext = 100, .pic = 0x7ffe, .ts = 1234};
    cs_pp_vp8_init(&f.d);
    cs_pp_vp8_frame_t out;
    /* Before any keyframe nothing goes out, and nothing counts as an error. */
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 0);
    assert_int_equal(f.d.skipped + f.d.dropped, 0);
    assert_int_equal(vp8_frame(&f, 3, true, false, 0, &out), 1);
    assert_true(out.keyframe);
    assert_int_equal(out.len, 3 * 12);  /* the descriptors are stripped */
    assert_int_equal(out.data[0], 0x10);
    assert_int_equal(out.data[12], 2);
    assert_int_equal(out.ts, 1234 + 3000);
    /* PictureID wraps at 15 bits; padding takes numbers, breaks nothing. */
    assert_int_equal(cs_pp_vp8_push(&f.d, f.ext++, f.ts - 3000, false, NULL, 0, &out), 0);
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 1);
    assert_false(out.keyframe);
    assert_int_equal(f.d.frames, 2);
    cs_pp_vp8_free(&f.d);
}

static void test_vp8_loss(void **state)
{
    (void)state;
    vp8_fx_t f = {.ext = 0, .pic = 10, .ts = 0};
    cs_pp_vp8_init(&f.d);
    cs_pp_vp8_frame_t out;
    assert_int_equal(vp8_frame(&f, 3, true, false, 0, &out), 1);
    /* A hole in the middle: the frame is dropped, then the next ones wait
     * for a keyframe. */
    assert_int_equal(vp8_frame(&f, 3, false, false, 2, &out), 0);
    assert_int_equal(f.d.dropped, 1);
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 0);
    assert_int_equal(f.d.skipped, 1);
    assert_int_equal(vp8_frame(&f, 2, true, false, 0, &out), 1);
    /* The first packet lost: same. The last packet (marker) lost: the next
     * frame's first packet ends it. */
    assert_int_equal(vp8_frame(&f, 3, false, false, 1, &out), 0);
    assert_int_equal(vp8_frame(&f, 3, true, false, 0, &out), 1);
    assert_int_equal(vp8_frame(&f, 3, false, false, 3, &out), 0);
    assert_int_equal(vp8_frame(&f, 1, false, false, 0, &out), 0);
    assert_int_equal(f.d.dropped, 3);
    assert_int_equal(f.d.skipped, 2);
    /* A non-reference frame lost costs only itself. */
    assert_int_equal(vp8_frame(&f, 2, true, false, 0, &out), 1);
    assert_int_equal(vp8_frame(&f, 3, false, true, 2, &out), 0);
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 1);
    /* A whole frame lost between two whole ones: the PictureID skips, so a
     * keyframe is needed ... */
    f.ext += 2;
    f.pic++;
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 0);
    assert_int_equal(vp8_frame(&f, 2, true, false, 0, &out), 1);
    /* ... but a gap with consecutive PictureIDs lost only padding. */
    f.ext += 3;
    assert_int_equal(vp8_frame(&f, 2, false, false, 0, &out), 1);
    /* An unreadable packet inside a frame breaks it. */
    uint8_t bad[2] = {0x80, 0x80};     /* X and I set, PictureID cut short */
    assert_int_equal(vp8_packet(&f, true, false, false, false, NULL, 1, &out), 0);
    assert_int_equal(cs_pp_vp8_push(&f.d, f.ext++, f.ts, false, bad, sizeof bad, &out), 0);
    assert_int_equal(vp8_packet(&f, false, true, false, false, NULL, 2, &out), 0);
    cs_pp_vp8_free(&f.d);
}

/* A frame with temporal layer fields; skip as vp8_frame_tl. */
static int tl_frame(vp8_fx_t *f, int n, bool key, int tid, uint8_t tl0, bool sync, int skip,
                    cs_pp_vp8_frame_t *out)
{
    return vp8_frame_tl(f, n, key, false, &(vp8_tl_t){tid, tl0, sync}, skip, out);
}

static void test_vp8_temporal_layers(void **state)
{
    (void)state;
    vp8_fx_t f = {.ext = 7, .pic = 300, .ts = 90};
    cs_pp_vp8_init(&f.d);
    cs_pp_vp8_frame_t out;
    assert_int_equal(tl_frame(&f, 2, true, 0, 5, false, 0, &out), 1);
    assert_int_equal(tl_frame(&f, 2, false, 2, 5, false, 0, &out), 1);
    /* A TID 1 frame broken: the upper layers wait for the base, not for a
     * keyframe. */
    assert_int_equal(tl_frame(&f, 3, false, 1, 5, false, 2, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 2, 5, false, 0, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 0, 6, false, 0, &out), 1);
    assert_false(out.keyframe);
    /* A whole TID 2 frame lost: the TL0PICIDX runs on, so the base is
     * intact; a layer-sync frame needs only the base. */
    assert_int_equal(tl_frame(&f, 2, false, 2, 6, false, -1, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 1, 6, false, 0, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 2, 6, false, 0, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 1, 6, true, 0, &out), 1);
    /* A whole base frame lost (TL0PICIDX 7 never seen): a keyframe it is. */
    assert_int_equal(tl_frame(&f, 2, false, 0, 7, false, -1, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 2, 7, false, 0, &out), 0);
    assert_int_equal(tl_frame(&f, 2, false, 0, 8, false, 0, &out), 0);
    assert_int_equal(tl_frame(&f, 2, true, 0, 9, false, 0, &out), 1);
    assert_int_equal(f.d.dropped, 1);
    assert_int_equal(f.d.skipped, 5);
    cs_pp_vp8_free(&f.d);
}

/* ---- reorder buffer ---------------------------------------------------------------- */

static cs_pp_pkt_t *pkt(cs_pp_pool_t *pool, int64_t ext, int64_t rec_us)
{
    cs_pp_pkt_t *p = cs_pp_pool_get(pool);
    assert_non_null(p);
    p->ext_seq = ext;
    p->rec_us = rec_us;
    return p;
}

static void test_jitter(void **state)
{
    (void)state;
    cs_pp_pool_t pool;
    cs_pp_jb_t jb;
    cs_pp_pool_init(&pool);
    assert_int_equal(cs_pp_jb_init(&jb), CS_OK);
    uint64_t lost;
    /* Arrivals 12, 10, 11, 14 (13 missing), times 10 ms apart by number. */
    const int order[] = {12, 10, 11, 14};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cs_pp_jb_push(&jb, pkt(&pool, order[i], order[i] * 10000)), CS_OK);
    cs_pp_pkt_t *dup = pkt(&pool, 11, 110000);
    assert_int_equal(cs_pp_jb_push(&jb, dup), CS_EEXIST);
    cs_pp_pool_put(&pool, dup);
    for (int e = 10; e <= 12; e++) {
        cs_pp_pkt_t *p = cs_pp_jb_pop(&jb, 130000, &lost);
        assert_non_null(p);
        assert_int_equal(p->ext_seq, e);
        assert_int_equal(lost, 0);
        cs_pp_pool_put(&pool, p);
    }
    /* 14 is not due yet: 13 may still come. */
    assert_null(cs_pp_jb_pop(&jb, 130000, &lost));
    cs_pp_pkt_t *p = cs_pp_jb_pop(&jb, 140000, &lost);
    assert_non_null(p);
    assert_int_equal(p->ext_seq, 14);
    assert_int_equal(lost, 1);
    cs_pp_pool_put(&pool, p);
    /* 13 after it was given up: too late. */
    cs_pp_pkt_t *late = pkt(&pool, 13, 130000);
    assert_int_equal(cs_pp_jb_push(&jb, late), CS_ESTATE);
    cs_pp_pool_put(&pool, late);
    /* Too far ahead for the window. */
    cs_pp_pkt_t *far = pkt(&pool, 15 + CS_PP_JB_SLOTS, 0);
    assert_int_equal(cs_pp_jb_push(&jb, far), CS_ELIMIT);
    cs_pp_pool_put(&pool, far);
    assert_int_equal(jb.count, 0);
    /* Buffers are reused, not allocated per packet. */
    size_t total = pool.total;
    for (int i = 0; i < 10000; i++) {
        assert_int_equal(cs_pp_jb_push(&jb, pkt(&pool, 15 + i, 0)), CS_OK);
        cs_pp_pool_put(&pool, cs_pp_jb_pop(&jb, 0, &lost));
    }
    assert_int_equal(pool.total, total);
    assert_int_equal(pool.in_use, 0);
    /* Held packets go back to the pool with the buffer. */
    assert_int_equal(cs_pp_jb_push(&jb, pkt(&pool, 10016, 0)), CS_OK);
    cs_pp_jb_free(&jb, &pool);
    assert_int_equal(pool.in_use, 0);
    cs_pp_pool_free(&pool);
}

static void test_jitter_start_reordered(void **state)
{
    (void)state;
    cs_pp_pool_t pool;
    cs_pp_jb_t jb;
    cs_pp_pool_init(&pool);
    assert_int_equal(cs_pp_jb_init(&jb), CS_OK);
    uint64_t lost;
    /* The second packet of the stream overtook the first. */
    assert_int_equal(cs_pp_jb_push(&jb, pkt(&pool, 501, 0)), CS_OK);
    assert_int_equal(cs_pp_jb_push(&jb, pkt(&pool, 500, 0)), CS_OK);
    cs_pp_pkt_t *p = cs_pp_jb_pop(&jb, 0, &lost);
    assert_int_equal(p->ext_seq, 500);
    cs_pp_pool_put(&pool, p);
    p = cs_pp_jb_pop(&jb, 0, &lost);
    assert_int_equal(p->ext_seq, 501);
    cs_pp_pool_put(&pool, p);
    cs_pp_jb_free(&jb, &pool);
    cs_pp_pool_free(&pool);
}

/* ---- layout and pictures ------------------------------------------------------------- */

static void test_grid(void **state)
{
    (void)state;
    const int cols[] = {0, 1, 2, 2, 2, 3, 3, 3, 3, 3};
    const int rows[] = {0, 1, 1, 2, 2, 2, 2, 3, 3, 3};
    for (int n = 1; n <= 9; n++) {
        cs_pp_rect_t c[CS_PP_MAX_SHOWN];
        cs_pp_grid(n, 960, 540, c);
        for (int i = 0; i < n; i++) {
            assert_int_equal(c[i].w, (960 / cols[n]) & ~1);
            assert_int_equal(c[i].h, (540 / rows[n]) & ~1);
            assert_true(c[i].x >= 0 && c[i].y >= 0 && c[i].x + c[i].w <= 960 &&
                        c[i].y + c[i].h <= 540);
            assert_int_equal((c[i].x | c[i].y) & 1, 0);
            for (int j = 0; j < i; j++)     /* no overlaps */
                assert_true(c[j].x + c[j].w <= c[i].x || c[i].x + c[i].w <= c[j].x ||
                            c[j].y + c[j].h <= c[i].y || c[i].y + c[i].h <= c[j].y);
        }
    }
    cs_pp_rect_t c[3];
    cs_pp_grid(2, 960, 540, c);     /* side by side */
    assert_true(c[0].x == 0 && c[1].x == 480 && c[0].y == 0 && c[1].y == 0);
    cs_pp_grid(3, 960, 540, c);     /* 2 × 2, the last one centred */
    assert_int_equal(c[2].x, 240);
    assert_int_equal(c[2].y, 270);
    /* Letterbox and pillarbox. */
    cs_pp_rect_t r = cs_pp_fit(640, 360, &(cs_pp_rect_t){480, 0, 480, 540});
    assert_true(r.x == 480 && r.w == 480 && r.h == 270 && r.y == 134);
    r = cs_pp_fit(640, 480, &(cs_pp_rect_t){0, 0, 960, 540});
    assert_true(r.h == 540 && r.w == 720 && r.x == 120 && r.y == 0);
}

static void fill(cs_pp_image_t *im, int w, int h, uint8_t (*f)(int x, int y), uint8_t uv)
{
    assert_int_equal(cs_pp_image_alloc(im, w, h), CS_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            im->y[(size_t)y * w + x] = f(x, y);
    memset(im->u, uv, (size_t)w * h / 2);
}

static uint8_t flat(int x, int y)
{
    (void)x, (void)y;
    return 77;
}

static uint8_t checker(int x, int y)
{
    return (x + y) & 1 ? 235 : 16;
}

static uint8_t ramp(int x, int y)
{
    (void)y;
    return (uint8_t)(16 + x * 200 / 639);
}

static void test_scale(void **state)
{
    (void)state;
    cs_pp_image_t src = {0}, dst = {0};
    cs_pp_scaler_t s = {0};
    assert_int_equal(cs_pp_image_alloc(&dst, 960, 540), CS_OK);
    cs_pp_image_black(&dst);
    /* Flat stays flat, growing or shrinking; nothing outside the rect. */
    fill(&src, 640, 360, flat, 99);
    cs_pp_rect_t r = {100, 50, 854, 480};
    assert_int_equal(cs_pp_scale(&s, &src, &dst, &r), CS_OK);
    for (int y = 0; y < 540; y++)
        for (int x = 0; x < 960; x++) {
            bool in = x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h;
            assert_int_equal(dst.y[(size_t)y * 960 + x], in ? 77 : 16);
        }
    assert_int_equal(dst.u[(size_t)(r.y / 2 + 10) * 480 + r.x / 2 + 10], 99);
    assert_int_equal(dst.v[(size_t)(r.y / 2 + 10) * 480 + r.x / 2 + 10], 99);
    /* A one-pixel checkerboard shrunk four times averages to grey, where
     * picking pixels (or a 2-tap bilinear) would alias to black or white. */
    fill(&src, 640, 360, checker, 128);
    r = (cs_pp_rect_t){0, 0, 160, 90};
    assert_int_equal(cs_pp_scale(&s, &src, &dst, &r), CS_OK);
    for (int y = 2; y < 88; y++)     /* inside: at the edges the border repeats */
        for (int x = 2; x < 158; x++)
            assert_true(abs(dst.y[(size_t)y * 960 + x] - 126) <= 8);
    /* A ramp keeps its order and its ends, grown to 960. */
    fill(&src, 640, 360, ramp, 128);
    r = (cs_pp_rect_t){0, 0, 960, 540};
    assert_int_equal(cs_pp_scale(&s, &src, &dst, &r), CS_OK);
    for (int x = 1; x < 960; x++)
        assert_true(dst.y[300 * 960 + x] >= dst.y[300 * 960 + x - 1]);
    assert_true(dst.y[300 * 960] <= 17 && dst.y[300 * 960 + 959] >= 215);
    /* Bad rectangles. */
    r = (cs_pp_rect_t){1, 0, 100, 100};
    assert_int_equal(cs_pp_scale(&s, &src, &dst, &r), CS_EINVAL);
    r = (cs_pp_rect_t){900, 0, 100, 100};
    assert_int_equal(cs_pp_scale(&s, &src, &dst, &r), CS_EINVAL);
    cs_pp_scaler_free(&s);
    cs_pp_image_free(&src);
    cs_pp_image_free(&dst);
}

static void test_band(void **state)
{
    (void)state;
    cs_pp_image_t im = {0};
    assert_int_equal(cs_pp_image_alloc(&im, 64, 32), CS_OK);
    memset(im.y, 200, 64 * 32);
    memset(im.u, 200, 64 * 16);
    uint8_t alpha[64 * 16] = {0};
    memset(alpha, 255, 8);          /* the first row's first 8 pixels: text */
    cs_pp_band(&im, &(cs_pp_rect_t){0, 16, 64, 16}, alpha);
    assert_int_equal(im.y[0], 200);                     /* above the band */
    assert_int_equal(im.y[16 * 64], 235);               /* text: white */
    assert_true(im.y[16 * 64 + 20] < 90);               /* band: dark */
    assert_int_equal(im.u[8 * 32], 128);                /* no colour under text */
    assert_true(im.u[8 * 32 + 10] > 128 && im.u[8 * 32 + 10] < 160);
    cs_pp_image_free(&im);
}

/* ---- audio ---------------------------------------------------------------------------- */

static void test_mix(void **state)
{
    (void)state;
    cs_pp_mix_t m;
    assert_int_equal(cs_pp_mix_init(&m), CS_OK);
    float a[100], out[200];
    for (int i = 0; i < 100; i++)
        a[i] = 0.6f;
    cs_pp_mix_add(&m, 50, a, 100);
    cs_pp_mix_add(&m, 100, a, 100);     /* overlaps: sums, then clips */
    cs_pp_mix_take(&m, out, 200);
    assert_true(out[49] == 0 && out[50] == 0.6f && out[120] == 1.0f && out[199] == 0.6f);
    cs_pp_mix_add(&m, 150, a, 100);     /* half of it is in the past */
    cs_pp_mix_take(&m, out, 100);
    assert_true(out[0] == 0.6f && out[49] == 0.6f && out[50] == 0);
    cs_pp_mix_take(&m, out, 200);       /* taken samples are cleared */
    for (int i = 0; i < 200; i++)
        assert_true(out[i] == 0);
    cs_pp_mix_free(&m);
}

/* Opus packets of a 1 kHz tone, 20 ms each. */
static int tone_packets(uint8_t pk[][400], int *len, int n)
{
    int err;
    OpusEncoder *e = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
    assert_non_null(e);
    float pcm[960];
    for (int k = 0; k < n; k++) {
        for (int i = 0; i < 960; i++)
            pcm[i] = (float)(0.5 * sin(2 * M_PI * 1000 * (k * 960 + i) / 48000.0));
        len[k] = opus_encode_float(e, pcm, 960, pk[k], 400);
        assert_true(len[k] > 0);
    }
    opus_encoder_destroy(e);
    return n;
}

static double energy(const float *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    return s / (double)n;
}

static void test_audio_placement(void **state)
{
    (void)state;
    static uint8_t pk[20][400];
    int len[20];
    tone_packets(pk, len, 20);
    cs_pp_mix_t m;
    cs_pp_adec_t a;
    assert_int_equal(cs_pp_mix_init(&m), CS_OK);
    assert_int_equal(cs_pp_adec_init(&a), CS_OK);
    static float out[48000];
    /* Packets 0-4 due at 0, 960 ...; then the mapped time jumps 100 ms
     * ahead (DTX, a long loss): silence; then 10 ms behind: within the
     * tolerance, joined without a cut. */
    for (int k = 0; k < 5; k++)
        cs_pp_adec_packet(&a, &m, pk[k], (size_t)len[k], k * 960);
    for (int k = 5; k < 10; k++)
        cs_pp_adec_packet(&a, &m, pk[k], (size_t)len[k], k * 960 + 4800);
    assert_int_equal(a.resyncs, 1);
    cs_pp_adec_packet(&a, &m, pk[10], (size_t)len[10], 10 * 960 + 4800 - 480);
    assert_int_equal(a.resyncs, 1);
    assert_int_equal(a.wpos, 11 * 960 + 4800);
    /* One lost packet concealed: not silent; three are silence. */
    cs_pp_adec_conceal(&a, &m, 1, NULL, 0);
    assert_int_equal(a.wpos, 12 * 960 + 4800);
    cs_pp_adec_conceal(&a, &m, 3, pk[15], (size_t)len[15]);
    assert_int_equal(a.wpos, 12 * 960 + 4800);
    /* Two: PLC, then the next packet's FEC. */
    cs_pp_adec_conceal(&a, &m, 2, pk[14], (size_t)len[14]);
    assert_int_equal(a.wpos, 14 * 960 + 4800);
    cs_pp_mix_take(&m, out, 19 * 960);
    assert_true(energy(out + 960, 3840) > 0.05);            /* the tone */
    assert_true(energy(out + 4800 + 200, 4000) < 1e-6);     /* the jump: silence */
    assert_true(energy(out + 11 * 960 + 4800, 960) > 1e-3); /* concealment */
    assert_true(energy(out + 12 * 960 + 4800, 1920) > 1e-3);
    /* Far behind the samples written: the overlap is cut. */
    cs_pp_adec_packet(&a, &m, pk[12], (size_t)len[12], a.wpos - 4000);
    assert_int_equal(a.resyncs, 2);
    assert_int_equal(a.wpos, 14 * 960 + 4800);
    /* Garbage is counted, not played. */
    uint8_t junk[3] = {0xff, 0xff, 0xff};
    cs_pp_adec_packet(&a, &m, junk, sizeof junk, a.wpos);
    assert_int_equal(a.errors, 1);
    cs_pp_adec_free(&a);
    cs_pp_mix_free(&m);
}

static void test_opus_head(void **state)
{
    (void)state;
    uint8_t h[CS_PP_OPUS_HEAD_LEN];
    cs_pp_opus_head(h, 1, 312);
    const uint8_t want[] = {'O', 'p', 'u', 's', 'H', 'e', 'a', 'd', 1, 1, 0x38, 0x01,
                            0x80, 0xbb, 0x00, 0x00, 0, 0, 0};
    assert_memory_equal(h, want, sizeof want);
    cs_pp_aenc_t *e;
    assert_int_equal(cs_pp_aenc_new(48, &e), CS_OK);
    assert_true(cs_pp_aenc_preskip(e) > 0 && cs_pp_aenc_preskip(e) < 1000);
    float pcm[960] = {0};
    uint8_t out[4000];
    assert_true(cs_pp_aenc_encode(e, pcm, out, sizeof out) > 0);
    cs_pp_aenc_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vp8_frames),
        cmocka_unit_test(test_vp8_loss),
        cmocka_unit_test(test_vp8_temporal_layers),
        cmocka_unit_test(test_jitter),
        cmocka_unit_test(test_jitter_start_reordered),
        cmocka_unit_test(test_grid),
        cmocka_unit_test(test_scale),
        cmocka_unit_test(test_band),
        cmocka_unit_test(test_mix),
        cmocka_unit_test(test_audio_placement),
        cmocka_unit_test(test_opus_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
