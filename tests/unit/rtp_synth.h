/*
 * rtp_synth.h — synthetic consultations for the post-processor's tests and
 * benchmark: participants whose cameras show a moving bar on their own
 * colour (VP8 by libvpx, one encoder per simulcast layer) and whose
 * microphones play a tone (Opus by libopus), packetised to RTP as a browser
 * would (RFC 7741 descriptor with a 15-bit PictureID, 90 kHz and 48 kHz
 * timestamps, consecutive sequence numbers), sent over a simulated network
 * (base delay, jitter, loss, a sender clock that drifts), and written
 * through the real recorder into capture files.
 *
 * Test-only. Everything is deterministic (a fixed pseudo-random sequence).
 */
#ifndef CS_TEST_RTP_SYNTH_H
#define CS_TEST_RTP_SYNTH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "common/common.h"
#include "media/recorder/recorder.h"
#include "media/rtp/rtp.h"

#define SYNTH_MTU_PAYLOAD 1100
#define SYNTH_PT_VP8 96
#define SYNTH_PT_OPUS 111
#define SYNTH_MAX_LAYERS 3

/* ---- a recording: records in arrival order ---------------------------------- */

typedef struct {
    cs_capture_record_type_t type;
    cs_rec_track_t track;            /* CS_CAP_TRACK */
    uint16_t track_no;
    int64_t arrival_us;
    uint8_t *data;
    size_t len;
    size_t order;                    /* insertion order, for a stable sort */
} synth_record_t;

typedef struct {
    synth_record_t *r;
    size_t n, cap;
    uint16_t tracks;
} synth_rec_t;

static inline void synth_rec_add(synth_rec_t *rec, const synth_record_t *r)
{
    if (rec->n == rec->cap) {
        rec->cap = rec->cap ? rec->cap * 2 : 4096;
        rec->r = realloc(rec->r, rec->cap * sizeof *rec->r);
        if (!rec->r)
            abort();
    }
    rec->r[rec->n] = *r;
    rec->r[rec->n].order = rec->n;
    rec->n++;
}

static inline uint16_t synth_rec_track(synth_rec_t *rec, const cs_rec_track_t *t,
                                       int64_t arrival_us)
{
    synth_record_t r = {.type = CS_CAP_TRACK, .track = *t, .arrival_us = arrival_us};
    r.track.track = rec->tracks;
    r.track_no = rec->tracks;
    synth_rec_add(rec, &r);
    return rec->tracks++;
}

static inline void synth_rec_packet(synth_rec_t *rec, uint16_t track, int64_t arrival_us,
                                    const uint8_t *data, size_t len)
{
    synth_record_t r = {.type = CS_CAP_PACKET, .track_no = track, .arrival_us = arrival_us,
                        .len = len};
    r.data = malloc(len);
    if (!r.data)
        abort();
    memcpy(r.data, data, len);
    synth_rec_add(rec, &r);
}

static inline int synth_rec_cmp(const void *a, const void *b)
{
    const synth_record_t *x = a, *y = b;
    if (x->arrival_us != y->arrival_us)
        return x->arrival_us < y->arrival_us ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static inline void synth_rec_sort(synth_rec_t *rec)
{
    qsort(rec->r, rec->n, sizeof *rec->r, synth_rec_cmp);
}

static inline void synth_rec_free(synth_rec_t *rec)
{
    for (size_t i = 0; i < rec->n; i++)
        free(rec->r[i].data);
    free(rec->r);
    memset(rec, 0, sizeof *rec);
}

/* Waits until the writer has sealed a chunk past *chunks (at most 10 s, or
 * until the session fails), and updates *chunks. */
static inline void synth_rec_wait_chunk(cs_rec_session_t *s, uint64_t *chunks)
{
    cs_rec_session_stats_t st;
    for (int i = 0; i < 10000; i++) {
        cs_rec_session_stats(s, &st);
        if (st.chunks > *chunks || st.error != CS_OK)
            break;
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    *chunks = st.chunks;
}

/*
 * Writes records [from, to) through the real recorder into a new capture
 * file at path; arrival times are shifted by -shift_us (the file's start).
 * With pace_ms, the recorder seals a chunk pace_ms after its first record
 * and the writing waits for that after every 32 packets: at least one chunk
 * per 32 packets, however busy the machine, as a live call's once-a-second
 * chunks would be. Returns CS_OK or the recorder's error.
 */
static inline int synth_rec_write_paced(const synth_rec_t *rec, size_t from, size_t to,
                                        int64_t shift_us, const char *path, const uint8_t *key,
                                        int64_t start_wall_ms, unsigned pace_ms)
{
    cs_recorder_config_t cfg = {.ring_bytes = 32u << 20, .master_key = key, .flush_ms = pace_ms};
    int err = 0;
    cs_recorder_t *r = cs_recorder_new(&cfg, &err);
    if (!r)
        return err;
    cs_rec_session_t *s = NULL;
    int rc = cs_recorder_open(r, path, "rec-synth", start_wall_ms, 0, &s);
    int map[CS_REC_MAX_TRACKS];
    for (size_t i = 0; i < CS_REC_MAX_TRACKS; i++)
        map[i] = -1;
    uint64_t chunks = 0;
    unsigned pushed = 0;
    /* Tracks declared before this file's range are declared again (a new
     * file after a restart declares what it records). */
    for (size_t i = 0; rc == CS_OK && i < to; i++) {
        const synth_record_t *x = &rec->r[i];
        if (x->type == CS_CAP_TRACK && map[x->track_no] < 0) {
            int no = cs_recorder_add_track(s, &x->track);
            if (no < 0)
                rc = no;
            else
                map[x->track_no] = no;
        }
        if (x->type != CS_CAP_PACKET || i < from)
            continue;
        if (pace_ms && pushed == 32) {
            synth_rec_wait_chunk(s, &chunks);
            pushed = 0;
        }
        for (;;) {
            int p = cs_recorder_push(s, (uint16_t)map[x->track_no], x->arrival_us - shift_us,
                                     x->data, x->len);
            if (p != CS_ELIMIT) {
                rc = p;
                pushed++;
                break;
            }
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (s) {
        cs_recorder_close(s);
        cs_rec_session_release(s);
    }
    cs_recorder_free(r);
    return rc;
}

static inline int synth_rec_write(const synth_rec_t *rec, size_t from, size_t to,
                                  int64_t shift_us, const char *path, const uint8_t *key,
                                  int64_t start_wall_ms)
{
    return synth_rec_write_paced(rec, from, to, shift_us, path, key, start_wall_ms, 0);
}

/* ---- pseudo-random numbers ------------------------------------------------------ */

static inline double synth_rand(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return (double)(*state >> 11) / 9007199254740992.0;
}

/* ---- video: a moving bar on a participant's colour ---------------------------------- */

typedef struct {
    vpx_codec_ctx_t ctx;
    vpx_image_t *img;
    int w, h;
    uint8_t u, v;
    int noise;                       /* sensor noise, ± this much luma */
    bool flash;                      /* the next frame is white */
    uint32_t rng;
} synth_video_t;

static inline int synth_video_init(synth_video_t *sv, int w, int h, int fps, int kbps,
                                   uint8_t u, uint8_t v)
{
    vpx_codec_enc_cfg_t cfg;
    memset(sv, 0, sizeof *sv);
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    cfg.g_w = (unsigned)w;
    cfg.g_h = (unsigned)h;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)kbps;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_max_dist = (unsigned)(2 * fps);
    if (vpx_codec_enc_init(&sv->ctx, vpx_codec_vp8_cx(), &cfg, 0))
        return -1;
    vpx_codec_control(&sv->ctx, VP8E_SET_CPUUSED, 12);
    sv->img = vpx_img_alloc(NULL, VPX_IMG_FMT_I420, (unsigned)w, (unsigned)h, 1);
    sv->w = w;
    sv->h = h;
    sv->u = u;
    sv->v = v;
    sv->rng = 0x12345u + (uint32_t)w;
    return sv->img ? 0 : -1;
}

/* Draws frame k: a vertical gradient, a bright bar moving right 1/100 of
 * the width per frame, the participant's chroma, and (noise > 0) fresh
 * noise every frame, as a camera sensor gives, so the encoder has to spend
 * bits like it does on a real picture. */
static inline void synth_video_draw(synth_video_t *sv, int k)
{
    vpx_image_t *im = sv->img;
    int bar_w = sv->w / 8, bar_x = (k * sv->w / 100) % sv->w;
    for (int y = 0; y < sv->h; y++) {
        uint8_t *row = im->planes[0] + (size_t)y * im->stride[0];
        memset(row, sv->flash ? 235 : 60 + 40 * y / sv->h, (size_t)sv->w);
        for (int i = 0; i < bar_w; i++)
            row[(bar_x + i) % sv->w] = 220;
        for (int x = 0; sv->noise && x < sv->w; x++) {
            sv->rng ^= sv->rng << 13;
            sv->rng ^= sv->rng >> 17;
            sv->rng ^= sv->rng << 5;
            row[x] = (uint8_t)(row[x] + (int)(sv->rng % (2u * sv->noise + 1)) - sv->noise);
        }
    }
    for (int y = 0; y < sv->h / 2; y++) {
        memset(im->planes[1] + (size_t)y * im->stride[1], sv->u, (size_t)sv->w / 2);
        memset(im->planes[2] + (size_t)y * im->stride[2], sv->v, (size_t)sv->w / 2);
    }
}

/* Encodes frame k (forcing a keyframe when asked); the frame's bytes go to
 * out. Returns its length, 0 when the encoder dropped it, -1 on error. */
static inline long synth_video_encode(synth_video_t *sv, int k, bool force_key, uint8_t *out,
                                      size_t cap, bool *key)
{
    synth_video_draw(sv, k);
    if (vpx_codec_encode(&sv->ctx, sv->img, k, 1, force_key ? VPX_EFLAG_FORCE_KF : 0,
                         VPX_DL_REALTIME))
        return -1;
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *p;
    long len = 0;
    while ((p = vpx_codec_get_cx_data(&sv->ctx, &it))) {
        if (p->kind != VPX_CODEC_CX_FRAME_PKT || p->data.frame.sz > cap)
            continue;
        memcpy(out, p->data.frame.buf, p->data.frame.sz);
        len = (long)p->data.frame.sz;
        *key = p->data.frame.flags & VPX_FRAME_IS_KEY;
    }
    return len;
}

static inline void synth_video_free(synth_video_t *sv)
{
    vpx_codec_destroy(&sv->ctx);
    vpx_img_free(sv->img);
}

/* ---- audio: a tone ----------------------------------------------------------------------- */

typedef struct {
    OpusEncoder *enc;
    double freq, amp;
    uint64_t n;                      /* samples so far */
} synth_audio_t;

static inline int synth_audio_init(synth_audio_t *sa, double freq, double amp)
{
    int err = 0;
    memset(sa, 0, sizeof *sa);
    sa->enc = opus_encoder_create(48000, 1, OPUS_APPLICATION_AUDIO, &err);
    opus_encoder_ctl(sa->enc, OPUS_SET_BITRATE(32000));
    sa->freq = freq;
    sa->amp = amp;
    return sa->enc && err == OPUS_OK ? 0 : -1;
}

/* The next 20 ms; silent before sample from (of this stream). */
static inline int synth_audio_encode(synth_audio_t *sa, uint64_t from, uint8_t *out, size_t cap)
{
    float pcm[960];
    for (int i = 0; i < 960; i++, sa->n++) {
        double t = (double)sa->n / 48000.0;
        pcm[i] = sa->n < from ? 0.0f : (float)(sa->amp * sin(2 * M_PI * sa->freq * t));
    }
    return opus_encode_float(sa->enc, pcm, 960, out, (opus_int32)cap);
}

static inline void synth_audio_free(synth_audio_t *sa)
{
    opus_encoder_destroy(sa->enc);
}

/* ---- RTP --------------------------------------------------------------------------------- */

typedef struct {
    uint32_t ssrc, ts0;
    uint16_t seq, pic;
    uint8_t pt;
} synth_rtp_t;

static inline size_t synth_rtp_packet(synth_rtp_t *r, uint32_t ts, bool marker,
                                      const uint8_t *payload, size_t len, uint8_t *out,
                                      size_t cap)
{
    cs_rtp_header_t h = {.marker = marker, .payload_type = r->pt, .seq = r->seq++,
                         .timestamp = r->ts0 + ts, .ssrc = r->ssrc};
    int n = cs_rtp_serialise(&h, NULL, 0, payload, len, out, cap);
    return n > 0 ? (size_t)n : 0;
}

/* ---- a participant on a network ------------------------------------------------------------ */

typedef struct {
    const char *member_id, *name, *source;
    uint8_t u, v;                    /* camera colour */
    int layers;                      /* 0: no camera */
    int w[SYNTH_MAX_LAYERS], h[SYNTH_MAX_LAYERS], kbps[SYNTH_MAX_LAYERS];
    double layer_stop_s[SYNTH_MAX_LAYERS];  /* 0: sends to the end */
    int fps;
    double tone_hz;                  /* 0: silence; < 0: no microphone */
    double join_s, leave_s;
    double video_from_s;             /* the camera starts late (0: at join) */
    double gap_from_s, gap_to_s;     /* the camera sends nothing in between */
    double flash_s;                  /* > 0: the camera shows white for 0.2 s from here */
    double tone_from_s;              /* the microphone is silent before this */
    double video_ppm, audio_ppm;     /* sender clock against ours */
    double loss;                     /* fraction of packets lost, never repaired */
    int noise;                       /* camera noise (synth_video_t) */
    double delay_ms, jitter_ms;      /* base delay, uniform extra delay */
    uint64_t seed;
} synth_member_t;

static inline int64_t synth_arrival(const synth_member_t *m, double send_s, uint64_t *rng)
{
    double d = m->delay_ms + m->jitter_ms * synth_rand(rng);
    return (int64_t)llround(send_s * 1e6 + d * 1e3);
}

static inline void synth_member_video(synth_rec_t *rec, const synth_member_t *m, int layer,
                                      uint64_t *rng, uint64_t *lost)
{
    cs_rec_track_t t = {.kind = CS_REC_VIDEO, .layer = (uint8_t)layer,
                        .payload_type = SYNTH_PT_VP8, .clock_rate = 90000};
    cs_strlcpy(t.codec, "VP8", sizeof t.codec);
    cs_strlcpy(t.source, m->source ? m->source : "camera", sizeof t.source);
    cs_strlcpy(t.member_id, m->member_id, sizeof t.member_id);
    cs_strlcpy(t.name, m->name, sizeof t.name);
    uint16_t no = synth_rec_track(rec, &t, (int64_t)(m->join_s * 1e6));
    synth_video_t sv;
    if (synth_video_init(&sv, m->w[layer], m->h[layer], m->fps, m->kbps[layer],
                         (uint8_t)(m->u + 24 * layer), m->v))
        abort();
    sv.noise = m->noise;
    synth_rtp_t r = {.ssrc = 0x1000u + (uint32_t)(m->seed * 16 + (uint64_t)layer),
                     .ts0 = (uint32_t)(m->seed * 77777u), .seq = (uint16_t)(m->seed * 1111u),
                     .pt = SYNTH_PT_VP8};
    double stop = m->layer_stop_s[layer] > 0 ? m->layer_stop_s[layer] : m->leave_s;
    double from = m->video_from_s > m->join_s ? m->video_from_s : m->join_s;
    static uint8_t frame[1 << 20];
    uint8_t pkt[1500], payload[SYNTH_MTU_PAYLOAD + 4];
    bool key_due = true;
    /* Frame k is captured at k / fps of real time; the sender's 90 kHz clock
     * runs video_ppm fast. */
    for (int k = (int)ceil(from * m->fps); (double)k / m->fps < stop; k++) {
        double send = (double)k / m->fps;
        if (send >= m->gap_from_s && send < m->gap_to_s) {
            key_due = true;     /* after a pause a sender starts with a keyframe */
            continue;
        }
        bool key;
        sv.flash = m->flash_s > 0 && send >= m->flash_s && send < m->flash_s + 0.2;
        long len = synth_video_encode(&sv, k, key_due, frame, sizeof frame, &key);
        key_due = false;
        if (len <= 0)
            continue;
        uint32_t ts = (uint32_t)llround(send * 90000.0 * (1 + m->video_ppm * 1e-6));
        for (long off = 0, i = 0; off < len; i++) {
            size_t n = (size_t)(len - off) > SYNTH_MTU_PAYLOAD ? SYNTH_MTU_PAYLOAD
                                                              : (size_t)(len - off);
            payload[0] = (uint8_t)(0x80 | (off == 0 ? 0x10 : 0));  /* X, S, PID 0 */
            payload[1] = 0x80;                                      /* I */
            payload[2] = (uint8_t)(0x80 | (r.pic >> 8));           /* M, 15 bits */
            payload[3] = (uint8_t)r.pic;
            memcpy(payload + 4, frame + off, n);
            off += (long)n;
            size_t pl = synth_rtp_packet(&r, ts, off == len, payload, n + 4, pkt, sizeof pkt);
            if (synth_rand(rng) < m->loss) {
                (*lost)++;
                continue;
            }
            synth_rec_packet(rec, no, synth_arrival(m, send + (double)i * 1e-4, rng), pkt, pl);
        }
        r.pic = (uint16_t)((r.pic + 1) & 0x7fff);
    }
    synth_video_free(&sv);
}

static inline void synth_member_audio(synth_rec_t *rec, const synth_member_t *m, uint64_t *rng,
                                      uint64_t *lost)
{
    cs_rec_track_t t = {.kind = CS_REC_AUDIO, .payload_type = SYNTH_PT_OPUS,
                        .clock_rate = 48000};
    cs_strlcpy(t.codec, "opus", sizeof t.codec);
    cs_strlcpy(t.source, "microphone", sizeof t.source);
    cs_strlcpy(t.member_id, m->member_id, sizeof t.member_id);
    cs_strlcpy(t.name, m->name, sizeof t.name);
    uint16_t no = synth_rec_track(rec, &t, (int64_t)(m->join_s * 1e6));
    synth_audio_t sa;
    if (synth_audio_init(&sa, m->tone_hz, m->tone_hz > 0 ? 0.5 : 0.0))
        abort();
    synth_rtp_t r = {.ssrc = 0x2000u + (uint32_t)m->seed, .ts0 = (uint32_t)(m->seed * 55555u),
                     .seq = (uint16_t)(m->seed * 3333u), .pt = SYNTH_PT_OPUS};
    uint8_t out[1500], pkt[1600];
    /* The sender's sample clock runs audio_ppm fast: its 20 ms come sooner.
     * Packet k is captured at (join + k * period) of real time. */
    double period = 0.02 / (1 + m->audio_ppm * 1e-6);
    uint64_t from = m->tone_from_s > m->join_s
                        ? (uint64_t)llround((m->tone_from_s - m->join_s) / period * 960)
                        : 0;
    for (uint32_t k = 0; m->join_s + k * period < m->leave_s; k++) {
        int n = synth_audio_encode(&sa, from, out, sizeof out);
        if (n <= 0)
            abort();
        size_t pl = synth_rtp_packet(&r, k * 960, false, out, (size_t)n, pkt, sizeof pkt);
        if (synth_rand(rng) < m->loss) {
            (*lost)++;
            continue;
        }
        synth_rec_packet(rec, no, synth_arrival(m, m->join_s + k * period, rng), pkt, pl);
    }
    synth_audio_free(&sa);
}

/* Adds a participant's camera layers and microphone; returns packets lost. */
static inline uint64_t synth_member(synth_rec_t *rec, const synth_member_t *m)
{
    uint64_t rng = m->seed * 0x9E3779B97F4A7C15ull + 1, lost = 0;
    for (int l = 0; l < m->layers; l++)
        synth_member_video(rec, m, l, &rng, &lost);
    if (m->tone_hz >= 0)
        synth_member_audio(rec, m, &rng, &lost);
    return lost;
}

#endif
