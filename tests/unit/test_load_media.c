/*
 * test_load_media.c — the load tool's media and senders (tests/load/media.c,
 * sender.c): the loop is encoded at the configured rates with keyframes where
 * asked; a sender driven by a simulated clock emits 30 video frames and 50
 * audio packets a second with consecutive sequence numbers and timestamps
 * that run on across the loop's end, the MID extension and the VP8 payload
 * descriptor of RFC 7741, and a stream libvpx and libopus decode frame by
 * frame; retransmissions are the same packet (or its RFC 4588 RTX form); a
 * keyframe request restarts from a keyframe without a timestamp jump; the
 * send log finds packets by payload hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <opus/opus.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "tests/load/media.h"

#define T0 5000000                    /* the simulated clock starts here (µs) */
#define STEP_US 5000                  /* the caller's timer */
#define PT_VP8 96
#define PT_RTX 97
#define PT_OPUS 111
#define MID_EXT 4

static lt_media_t *media;             /* the default loop: 640x360, 600 + 32 kbit/s, 10 s */

typedef struct {
    uint8_t buf[LT_RTP_MAX];
    size_t len;
} pkt_t;

typedef struct {
    pkt_t *p;
    size_t n, cap;
    int refuse;                       /* emit refuses this many packets first */
} capture_t;

static int capture_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    capture_t *c = user;
    assert_true(cap >= len + 64);
    if (c->refuse > 0) {
        c->refuse--;
        return -1;
    }
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->p = realloc(c->p, c->cap * sizeof *c->p);
        assert_non_null(c->p);
    }
    memcpy(c->p[c->n].buf, buf, len);
    c->p[c->n].len = len;
    c->n++;
    /* The callee may protect in place: the sender must not rely on buf after this. */
    memset(buf, 0xee, len);
    return 0;
}

static void run(lt_sender_t *s, int64_t from, int64_t to, capture_t *c)
{
    for (int64_t t = from; t <= to; t += STEP_US)
        lt_sender_poll(s, t, capture_emit, c);
}

static lt_sender_t *new_sender(lt_kind_t kind, uint8_t rtx_pt, uint32_t offset_ms)
{
    lt_sender_config_t cfg = {.kind = kind, .ssrc = kind == LT_VIDEO ? 0x1111 : 0x2222,
                              .pt = kind == LT_VIDEO ? PT_VP8 : PT_OPUS, .rtx_pt = rtx_pt,
                              .rtx_ssrc = rtx_pt ? 0x3333 : 0, .mid_ext_id = MID_EXT,
                              .mid = kind == LT_VIDEO ? "1" : "0", .start_offset_ms = offset_ms};
    int err = 1;
    lt_sender_t *s = lt_sender_new(media, &cfg, &err);
    assert_non_null(s);
    assert_int_equal(err, CS_OK);
    return s;
}

static cs_rtp_packet_t parse(const pkt_t *p)
{
    cs_rtp_packet_t pkt;
    assert_int_equal(cs_rtp_parse(p->buf, p->len, &pkt), CS_OK);
    return pkt;
}

static int setup(void **state)
{
    (void)state;
    int err = 1;
    media = lt_media_new(&(lt_media_config_t){0}, &err);
    return media && err == CS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    lt_media_free(media);
    return 0;
}

/* ---- the encoded loop ------------------------------------------------------------------- */

static void test_media_rates(void **state)
{
    (void)state;
    lt_media_info_t info;
    lt_media_info(media, &info);
    assert_int_equal(info.video_frames, 300);
    assert_int_equal(info.audio_frames, 500);
    assert_int_equal(info.keyframes, 4);          /* 0 s, 3 s, 6 s, 9 s */
    assert_true(info.video_kbps > 600 * 0.75 && info.video_kbps < 600 * 1.25);
    assert_true(info.audio_kbps > 32 * 0.75 && info.audio_kbps < 32 * 1.25);
}

static void test_media_config_errors(void **state)
{
    (void)state;
    lt_media_config_t bad[] = {{.width = 641}, {.fps = -1}, {.video_kbps = 5},
                               {.loop_seconds = 2, .keyframe_seconds = 3}, {.audio_kbps = 1000}};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad); i++) {
        int err = 0;
        assert_null(lt_media_new(&bad[i], &err));
        assert_int_equal(err, CS_EINVAL);
    }
    lt_media_config_t c = {.fps = 15};
    lt_media_config_defaults(&c);
    assert_int_equal(c.width, 640);
    assert_int_equal(c.height, 360);
    assert_int_equal(c.fps, 15);
    assert_int_equal(c.video_kbps, 600);
    assert_int_equal(c.audio_kbps, 32);
    assert_int_equal(c.loop_seconds, 10);
    assert_int_equal(c.keyframe_seconds, 3);

    int err = 0;
    lt_sender_config_t sc = {.kind = LT_VIDEO, .pt = 96, .mid_ext_id = 3,
                             .mid = "this-mid-is-too-long"};
    assert_null(lt_sender_new(media, &sc, &err));
    assert_int_equal(err, CS_EINVAL);
    sc.mid = "v";
    sc.pt = 200;
    assert_null(lt_sender_new(media, &sc, &err));
    assert_int_equal(err, CS_EINVAL);
}

/* ---- a video sender over 12 simulated seconds (the loop wraps at 10 s) ---------------------- */

/* Decodes one reassembled frame; the image must be the configured size. */
static void decode_frame(vpx_codec_ctx_t *dec, const uint8_t *frame, size_t len)
{
    assert_int_equal(vpx_codec_decode(dec, frame, (unsigned)len, NULL, 0), VPX_CODEC_OK);
    int corrupt = 1;
    assert_int_equal(vpx_codec_control(dec, VP8D_GET_FRAME_CORRUPTED, &corrupt), VPX_CODEC_OK);
    assert_int_equal(corrupt, 0);
    vpx_codec_iter_t it = NULL;
    vpx_image_t *img = vpx_codec_get_frame(dec, &it);
    assert_non_null(img);
    assert_int_equal(img->d_w, 640);
    assert_int_equal(img->d_h, 360);
}

/* Walks a captured video stream: RTP fields, the descriptor, frame
 * reassembly and decoding. Returns the frames decoded. */
static size_t check_video_stream(const capture_t *c, size_t *keyframes)
{
    vpx_codec_ctx_t dec;
    vpx_codec_dec_cfg_t dcfg = {.threads = 1};
    assert_int_equal(vpx_codec_dec_init(&dec, vpx_codec_vp8_dx(), &dcfg, 0), VPX_CODEC_OK);
    static uint8_t frame[512 * 1024];
    size_t flen = 0, frames = 0;
    bool in_frame = false;
    uint32_t ts = 0;
    uint16_t pid = 0;
    *keyframes = 0;
    for (size_t i = 0; i < c->n; i++) {
        cs_rtp_packet_t p = parse(&c->p[i]);
        assert_int_equal(p.hdr.ssrc, 0x1111);
        assert_int_equal(p.hdr.payload_type, PT_VP8);
        if (i > 0)
            assert_int_equal(p.hdr.seq, (uint16_t)(parse(&c->p[i - 1]).hdr.seq + 1));
        cs_rtp_ext_t e;
        char mid[CS_RTP_MID_MAX];
        assert_int_equal(cs_rtp_ext_find(&p, MID_EXT, &e), CS_OK);
        assert_int_equal(cs_rtp_ext_string(&e, mid, sizeof mid), CS_OK);
        assert_string_equal(mid, "1");
        assert_true(p.payload_len <= LT_RTP_PAYLOAD_MAX);
        cs_rtp_vp8_t v;
        assert_int_equal(cs_rtp_vp8_parse(p.payload, p.payload_len, &v), CS_OK);
        assert_true(v.has_picture_id && v.picture_id_15bit);
        assert_int_equal(v.partition_id, 0);
        assert_int_equal(v.start, !in_frame);
        if (!in_frame) {
            if (frames > 0) {
                /* 90 kHz at 30 fps: +3000 a frame, at the loop's wrap too */
                assert_int_equal(p.hdr.timestamp, ts + 3000);
                assert_int_equal(v.picture_id, (pid + 1) & 0x7fff);
            }
            ts = p.hdr.timestamp;
            pid = v.picture_id;
            *keyframes += v.keyframe;
            in_frame = true;
        }
        assert_int_equal(p.hdr.timestamp, ts);
        memcpy(frame + flen, p.payload + v.descriptor_len, p.payload_len - v.descriptor_len);
        flen += p.payload_len - v.descriptor_len;
        if (p.hdr.marker) {
            decode_frame(&dec, frame, flen);
            frames++;
            flen = 0;
            in_frame = false;
        }
    }
    assert_false(in_frame);
    vpx_codec_destroy(&dec);
    return frames;
}

static void test_video_sender_12s(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0, 0);
    assert_int_equal(lt_sender_next_due(s), INT64_MAX);
    capture_t c = {0};
    lt_sender_start(s, T0);
    assert_int_equal(lt_sender_next_due(s), T0);
    run(s, T0, T0 + 12000000 - 1, &c);
    lt_sender_stats_t st;
    lt_sender_stats(s, &st);
    assert_int_equal(st.frames, 360);           /* 30 a second */
    assert_int_equal(st.packets, c.n);
    assert_int_equal(lt_sender_next_due(s), T0 + 12000000);
    size_t keys = 0;
    assert_int_equal(check_video_stream(&c, &keys), 360);
    assert_int_equal(keys, 5);                  /* 0, 3, 6, 9 s and the loop's start at 10 s */
    assert_int_equal(st.keyframes, 5);
    uint64_t payload = 0;
    for (size_t i = 0; i < c.n; i++)
        payload += parse(&c.p[i]).payload_len;
    double kbps = (double)payload * 8 / 12 / 1000;
    assert_true(kbps > 600 * 0.75 && kbps < 600 * 1.25);
    cs_rtp_packet_t last = parse(&c.p[c.n - 1]);
    assert_int_equal(st.last_rtp_ts, last.hdr.timestamp);
    assert_int_equal(st.last_send_us, T0 + 11970000);   /* frame 359 is due at 11.9667 s */
    free(c.p);
    lt_sender_free(s);
}

static void test_audio_sender_12s(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_AUDIO, 0, 0);
    capture_t c = {0};
    lt_sender_start(s, T0);
    run(s, T0, T0 + 12000000 - 1, &c);
    assert_int_equal(c.n, 600);                 /* 50 a second */
    int err = 0;
    OpusDecoder *dec = opus_decoder_create(48000, 1, &err);
    assert_non_null(dec);
    int16_t pcm[5760];
    uint64_t bytes = 0;
    for (size_t i = 0; i < c.n; i++) {
        cs_rtp_packet_t p = parse(&c.p[i]);
        assert_int_equal(p.hdr.payload_type, PT_OPUS);
        assert_int_equal(p.hdr.ssrc, 0x2222);
        if (i > 0) {
            cs_rtp_packet_t q = parse(&c.p[i - 1]);
            assert_int_equal(p.hdr.seq, (uint16_t)(q.hdr.seq + 1));
            assert_int_equal(p.hdr.timestamp, q.hdr.timestamp + 960);
            /* the noise makes consecutive packets differ */
            assert_true(p.payload_len != q.payload_len ||
                        memcmp(p.payload, q.payload, p.payload_len) != 0);
        }
        cs_rtp_ext_t e;
        char mid[CS_RTP_MID_MAX];
        assert_int_equal(cs_rtp_ext_find(&p, MID_EXT, &e), CS_OK);
        assert_int_equal(cs_rtp_ext_string(&e, mid, sizeof mid), CS_OK);
        assert_string_equal(mid, "0");
        assert_int_equal(opus_decode(dec, p.payload, (opus_int32)p.payload_len, pcm, 5760, 0), 960);
        bytes += p.payload_len;
    }
    /* the loop came round: packet 500 is packet 0's payload again */
    cs_rtp_packet_t a = parse(&c.p[0]), b = parse(&c.p[500]);
    assert_int_equal(a.payload_len, b.payload_len);
    assert_memory_equal(a.payload, b.payload, a.payload_len);
    double kbps = (double)bytes * 8 / 12 / 1000;
    assert_true(kbps > 32 * 0.75 && kbps < 32 * 1.25);
    opus_decoder_destroy(dec);
    free(c.p);
    lt_sender_free(s);
}

/* ---- keyframe requests, stalls -------------------------------------------------------------- */

static void test_keyframe_request(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0, 0);
    capture_t c = {0};
    lt_sender_start(s, T0);
    run(s, T0, T0 + 1500000, &c);                /* frame 45: between keyframes */
    size_t before = c.n;
    lt_sender_request_keyframe(s);
    run(s, T0 + 1505000, T0 + 2500000, &c);
    cs_rtp_packet_t p = parse(&c.p[before]), q = parse(&c.p[before - 1]);
    cs_rtp_vp8_t v;
    assert_int_equal(cs_rtp_vp8_parse(p.payload, p.payload_len, &v), CS_OK);
    assert_true(v.keyframe);
    assert_int_equal(p.hdr.timestamp, q.hdr.timestamp + 3000);
    size_t keys = 0;
    assert_int_equal(check_video_stream(&c, &keys), 76);   /* frames 0..75 all decode */
    assert_int_equal(keys, 2);
    lt_sender_stats_t st;
    lt_sender_stats(s, &st);
    assert_int_equal(st.keyframe_requests, 1);
    assert_int_equal(st.keyframes, 2);
    free(c.p);
    lt_sender_free(s);

    /* audio ignores it */
    s = new_sender(LT_AUDIO, 0, 0);
    lt_sender_request_keyframe(s);
    lt_sender_stats(s, &st);
    assert_int_equal(st.keyframe_requests, 0);
    lt_sender_free(s);
}

static void test_stall_skips_ahead(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0, 0);
    capture_t c = {0};
    lt_sender_start(s, T0);
    run(s, T0, T0 + 100000, &c);                 /* frames 0..3 */
    size_t before = c.n;
    /* 0.5 s late: a burst of the 15 frames due */
    lt_sender_poll(s, T0 + 600000, capture_emit, &c);
    lt_sender_stats_t st;
    lt_sender_stats(s, &st);
    assert_int_equal(st.frames, 19);
    assert_int_equal(st.skipped_frames, 0);
    /* 5 s late: only the frame due now, from a keyframe, stamped for now */
    before = c.n;
    cs_rtp_packet_t q = parse(&c.p[c.n - 1]);
    lt_sender_poll(s, T0 + 5600000, capture_emit, &c);
    lt_sender_stats(s, &st);
    assert_int_equal(st.frames, 20);
    assert_int_equal(st.skipped_frames, 168 - 19);
    cs_rtp_packet_t p = parse(&c.p[before]);
    assert_int_equal(p.hdr.timestamp, q.hdr.timestamp + (168 - 18) * 3000);
    assert_int_equal(p.hdr.seq, (uint16_t)(q.hdr.seq + 1));
    cs_rtp_vp8_t v;
    assert_int_equal(cs_rtp_vp8_parse(p.payload, p.payload_len, &v), CS_OK);
    assert_true(v.keyframe);
    assert_int_equal(lt_sender_next_due(s), T0 + 169 * 1000000 / 30);
    free(c.p);
    lt_sender_free(s);
}

/* ---- retransmission ---------------------------------------------------------------------------- */

static void test_retransmit_same_packet(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, 0, 0);
    capture_t c = {0}, r = {0};
    lt_sender_start(s, T0);
    run(s, T0, T0 + 1000000, &c);
    for (size_t i = 0; i < c.n; i += 7) {
        uint16_t seq = parse(&c.p[i]).hdr.seq;
        assert_int_equal(lt_sender_retransmit(s, seq, T0 + 1000000, capture_emit, &r), CS_OK);
        assert_int_equal(r.p[r.n - 1].len, c.p[i].len);
        assert_memory_equal(r.p[r.n - 1].buf, c.p[i].buf, c.p[i].len);
    }
    uint16_t next = (uint16_t)(parse(&c.p[c.n - 1]).hdr.seq + 1);
    assert_int_equal(lt_sender_retransmit(s, next, T0, capture_emit, &r), CS_ENOTFOUND);
    lt_sender_stats_t st;
    lt_sender_stats(s, &st);
    assert_int_equal(st.retransmitted, (c.n + 6) / 7);
    assert_int_equal(st.nack_misses, 1);
    assert_int_equal(st.packets, c.n);           /* retransmissions are counted apart */
    free(c.p);
    free(r.p);
    lt_sender_free(s);
}

static void test_retransmit_rtx(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_VIDEO, PT_RTX, 0);
    capture_t c = {0}, r = {0};
    lt_sender_start(s, T0);
    run(s, T0, T0 + 200000, &c);
    uint16_t s1 = parse(&c.p[2]).hdr.seq, s2 = parse(&c.p[5]).hdr.seq;
    assert_int_equal(lt_sender_retransmit(s, s1, T0 + 200000, capture_emit, &r), CS_OK);
    assert_int_equal(lt_sender_retransmit(s, s2, T0 + 200000, capture_emit, &r), CS_OK);
    cs_rtp_packet_t a = parse(&r.p[0]), b = parse(&r.p[1]);
    assert_int_equal(a.hdr.payload_type, PT_RTX);
    assert_int_equal(a.hdr.ssrc, 0x3333);
    assert_int_equal(b.hdr.seq, (uint16_t)(a.hdr.seq + 1));  /* its own numbering */
    uint16_t osn;
    assert_int_equal(cs_rtp_rtx_osn(&a, &osn), CS_OK);
    assert_int_equal(osn, s1);
    /* unwrapped, it is the original packet, byte for byte */
    uint8_t orig[LT_RTP_MAX];
    int n = cs_rtp_rtx_unwrap(r.p[1].buf, r.p[1].len, PT_VP8, 0x1111, orig, sizeof orig);
    assert_int_equal(n, (int)c.p[5].len);
    assert_memory_equal(orig, c.p[5].buf, c.p[5].len);
    cs_rtp_ext_t e;
    assert_int_equal(cs_rtp_ext_find(&a, MID_EXT, &e), CS_OK);
    free(c.p);
    free(r.p);
    lt_sender_free(s);
}

static void test_retransmit_forgets_old(void **state)
{
    (void)state;
    lt_sender_t *s = new_sender(LT_AUDIO, 0, 0);
    capture_t c = {0};
    lt_sender_start(s, T0);
    int64_t end = T0 + (int64_t)(LT_SENDLOG_SIZE + 10) * 20000;
    for (int64_t t = T0; t < end; t += 20000)
        lt_sender_poll(s, t, capture_emit, &c);
    assert_int_equal(c.n, LT_SENDLOG_SIZE + 10);
    capture_t r = {0};
    uint16_t first = parse(&c.p[0]).hdr.seq, kept = parse(&c.p[10]).hdr.seq;
    assert_int_equal(lt_sender_retransmit(s, first, end, capture_emit, &r), CS_ENOTFOUND);
    assert_int_equal(lt_sender_retransmit(s, kept, end, capture_emit, &r), CS_OK);
    assert_memory_equal(r.p[0].buf, c.p[10].buf, c.p[10].len);
    free(c.p);
    free(r.p);
    lt_sender_free(s);
}

/* ---- the send log ------------------------------------------------------------------------------- */

static uint64_t hash_of(const pkt_t *p)
{
    cs_rtp_packet_t pkt = parse(p);
    return lt_payload_hash(pkt.payload, pkt.payload_len);
}

static uint16_t pid_of(const pkt_t *p)
{
    cs_rtp_packet_t pkt = parse(p);
    cs_rtp_vp8_t v;
    assert_int_equal(cs_rtp_vp8_parse(pkt.payload, pkt.payload_len, &v), CS_OK);
    return v.picture_id;
}

static void test_send_log(void **state)
{
    (void)state;
    lt_sender_t *a = new_sender(LT_VIDEO, 0, 0), *b = new_sender(LT_VIDEO, 0, 0);
    capture_t ca = {0}, cb = {0};
    ca.refuse = 1;                                /* the very first packet is dropped */
    lt_sender_start(a, T0);
    lt_sender_start(b, T0);
    run(a, T0, T0 + 500000, &ca);
    run(b, T0, T0 + 500000, &cb);
    lt_sender_stats_t st;
    lt_sender_stats(a, &st);
    assert_int_equal(st.send_failures, 1);
    for (size_t i = 0; i < ca.n; i++) {
        uint16_t seq;
        int64_t at;
        uint64_t h = hash_of(&ca.p[i]);
        assert_int_equal(lt_sender_find(a, h, &seq, &at), CS_OK);
        assert_int_equal(seq, parse(&ca.p[i]).hdr.seq);
        assert_true(at >= T0 && at <= T0 + 500000);
        assert_int_equal(lt_sender_sent_at(a, seq, h, &at), CS_OK);
        assert_int_equal(lt_sender_sent_at(a, (uint16_t)(seq + 1), h, &at), CS_ENOTFOUND);
        assert_int_equal(lt_sender_sent_at(a, seq, h ^ 1, &at), CS_ENOTFOUND);
        /* the same loop position from another sender: another PictureID (random
         * start: equal once in 32768 runs), another hash */
        if (pid_of(&ca.p[0]) != pid_of(&cb.p[0]))
            assert_int_equal(lt_sender_find(b, h, &seq, &at), CS_ENOTFOUND);
    }
    /* the dropped packet is not "sent" until it is retransmitted */
    uint16_t first = (uint16_t)(parse(&ca.p[0]).hdr.seq - 1);
    uint64_t h;
    int64_t at;
    capture_t r = {0};
    assert_int_equal(lt_sender_retransmit(a, first, T0 + 600000, capture_emit, &r), CS_OK);
    h = hash_of(&r.p[0]);
    assert_int_equal(lt_sender_sent_at(a, first, h, &at), CS_OK);
    assert_int_equal(at, T0 + 600000);
    /* the hash covers the length and the first 64 bytes only */
    uint8_t x[100] = {1, 2, 3}, y[100] = {1, 2, 3};
    y[80] = 9;
    assert_true(lt_payload_hash(x, 100) == lt_payload_hash(y, 100));
    assert_true(lt_payload_hash(x, 100) != lt_payload_hash(x, 99));
    y[63] = 9;
    assert_true(lt_payload_hash(x, 100) != lt_payload_hash(y, 100));
    free(ca.p);
    free(cb.p);
    free(r.p);
    lt_sender_free(a);
    lt_sender_free(b);
}

static void test_start_offset(void **state)
{
    (void)state;
    lt_sender_t *a = new_sender(LT_AUDIO, 0, 0), *b = new_sender(LT_AUDIO, 0, 3000);
    capture_t ca = {0}, cb = {0};
    lt_sender_start(a, T0);
    lt_sender_start(b, T0);
    run(a, T0, T0 + 3000000, &ca);
    run(b, T0, T0, &cb);
    /* b starts where a is 3 s later */
    cs_rtp_packet_t pa = parse(&ca.p[150]), pb = parse(&cb.p[0]);
    assert_int_equal(pa.payload_len, pb.payload_len);
    assert_memory_equal(pa.payload, pb.payload, pa.payload_len);
    free(ca.p);
    free(cb.p);
    lt_sender_free(a);
    lt_sender_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_media_rates),
        cmocka_unit_test(test_media_config_errors),
        cmocka_unit_test(test_video_sender_12s),
        cmocka_unit_test(test_audio_sender_12s),
        cmocka_unit_test(test_keyframe_request),
        cmocka_unit_test(test_stall_skips_ahead),
        cmocka_unit_test(test_retransmit_same_packet),
        cmocka_unit_test(test_retransmit_rtx),
        cmocka_unit_test(test_retransmit_forgets_old),
        cmocka_unit_test(test_send_log),
        cmocka_unit_test(test_start_offset),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
