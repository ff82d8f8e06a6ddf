/*
 * media.c — the media every synthetic peer sends, encoded once per process:
 * a moving pattern in VP8 (libvpx, realtime CBR, forced keyframes at a fixed
 * interval, error resilient, one token partition, as libwebrtc configures
 * it) and a 440 Hz tone in Opus (libopus, 48 kHz mono, 20 ms, CBR, in-band
 * FEC). Both carry a little pseudo-random noise so that no two frames are the
 * same bytes: the send log tells packets apart by their payload.
 *
 * VP8 frames are cut into payload chunks here, so that a sender's per-packet
 * work is a header and a copy (see media_internal.h). The loop is seamless
 * for a decoder because its first frame is a keyframe.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include "common/common.h"
#include "tests/load/media_internal.h"

#define OPUS_MAX_PACKET 1275

/* A byte buffer that grows while the loop is encoded (creation only). */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} bytes_t;

static int bytes_append(bytes_t *b, const void *data, size_t len)
{
    if (b->len + len > UINT32_MAX)
        return CS_ETOOBIG;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + len)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return CS_ENOMEM;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    return CS_OK;
}

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

void lt_media_config_defaults(lt_media_config_t *cfg)
{
    if (!cfg->width)
        cfg->width = 640;
    if (!cfg->height)
        cfg->height = 360;
    if (!cfg->fps)
        cfg->fps = 30;
    if (!cfg->video_kbps)
        cfg->video_kbps = 600;
    if (!cfg->audio_kbps)
        cfg->audio_kbps = 32;
    if (!cfg->loop_seconds)
        cfg->loop_seconds = 10;
    if (!cfg->keyframe_seconds)
        cfg->keyframe_seconds = 3;
}

static bool config_valid(const lt_media_config_t *c)
{
    return c->width >= 16 && c->width <= 4096 && c->width % 2 == 0 && c->height >= 16 &&
           c->height <= 4096 && c->height % 2 == 0 && c->fps >= 1 && c->fps <= 120 &&
           c->video_kbps >= 10 && c->video_kbps <= 50000 && c->audio_kbps >= 6 &&
           c->audio_kbps <= 510 && c->loop_seconds >= 1 && c->loop_seconds <= 600 &&
           c->keyframe_seconds >= 0 && c->keyframe_seconds <= c->loop_seconds;
}

/* ---- video -------------------------------------------------------------------------------- */

/* Frame i of the pattern: bars sliding right, the frame number as 16 black or
 * white blocks in the top-left corner, slowly shifting colours, and noise of
 * a few levels on luma. */
static void draw_frame(uint8_t *img, int w, int h, int i, uint32_t *rng)
{
    uint8_t *y = img, *u = img + (size_t)w * h, *v = u + (size_t)(w / 2) * (h / 2);
    for (int r = 0; r < h; r++) {
        uint8_t *row = y + (size_t)r * w;
        for (int c = 0; c < w; c++) {
            int base = ((c + i * 4) / 40) % 2 ? 180 : 70;
            row[c] = (uint8_t)(base + r / 8 + (int)(lcg(rng) & 3));
        }
    }
    for (int bit = 0; bit < 16; bit++) {
        uint8_t val = (i >> bit) & 1 ? 235 : 16;
        for (int r = 0; r < 16 && r < h; r++)
            for (int c = bit * 16; c < bit * 16 + 16 && c < w; c++)
                y[(size_t)r * w + c] = val;
    }
    size_t chroma = (size_t)(w / 2) * (h / 2);
    memset(u, 128 + (i % 64) - 32, chroma);
    memset(v, 128 - (i % 48) + 24, chroma);
}

static bool is_key_index(const lt_media_config_t *c, int i)
{
    return i == 0 || (c->keyframe_seconds > 0 && i % (c->fps * c->keyframe_seconds) == 0);
}

static int encoder_open(vpx_codec_ctx_t *ctx, const lt_media_config_t *c)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
        return CS_EIO;
    cfg.g_w = (unsigned)c->width;
    cfg.g_h = (unsigned)c->height;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = c->fps;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.g_pass = VPX_RC_ONE_PASS;
    cfg.g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
    cfg.rc_end_usage = VPX_CBR;
    cfg.rc_target_bitrate = (unsigned)c->video_kbps;
    cfg.rc_dropframe_thresh = 0;     /* one encoded frame per input: timestamps stay regular */
    cfg.rc_min_quantizer = 2;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 100;
    cfg.rc_overshoot_pct = 15;
    cfg.rc_buf_initial_sz = 500;
    cfg.rc_buf_optimal_sz = 600;
    cfg.rc_buf_sz = 1000;
    cfg.kf_mode = VPX_KF_DISABLED;   /* keyframes only where we force them */
    if (vpx_codec_enc_init(ctx, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
        return CS_EIO;
    vpx_codec_control(ctx, VP8E_SET_CPUUSED, -6);
    vpx_codec_control(ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
    vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 600);
    return CS_OK;
}

/* Cuts one encoded frame into chunks of balanced sizes (as libwebrtc does). */
static int add_video_frame(lt_media_t *m, bytes_t *data, lt_chunk_t *chunks, const uint8_t *buf,
                           size_t len, bool key)
{
    size_t n = (len + LT_CHUNK_MAX - 1) / LT_CHUNK_MAX;
    if (n == 0 || n > UINT16_MAX)
        return CS_EIO;
    lt_vframe_t *f = &m->vframes[m->n_vframes++];
    f->first_chunk = (uint32_t)m->n_chunks;
    f->n_chunks = (uint16_t)n;
    f->key = key;
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        size_t part = (len - off) / (n - k);
        lt_chunk_t *ch = &chunks[m->n_chunks++];
        ch->off = (uint32_t)(data->len + off);
        ch->len = (uint16_t)part;
        ch->first = k == 0;
        ch->last = k == n - 1;
        off += part;
    }
    return bytes_append(data, buf, len);
}

/* Takes the encoder's output for one input frame: exactly one frame. */
static int collect_frame(lt_media_t *m, vpx_codec_ctx_t *ctx, bytes_t *data, lt_chunk_t **chunks,
                         size_t *chunk_cap)
{
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *p;
    int frames = 0, rc = CS_OK;
    while ((p = vpx_codec_get_cx_data(ctx, &it))) {
        if (p->kind != VPX_CODEC_CX_FRAME_PKT || rc != CS_OK)
            continue;
        size_t need = m->n_chunks + p->data.frame.sz / LT_CHUNK_MAX + 1;
        if (need > *chunk_cap) {
            size_t cap = need * 2;
            lt_chunk_t *c = realloc(*chunks, cap * sizeof *c);
            if (!c)
                return CS_ENOMEM;
            *chunks = c;
            *chunk_cap = cap;
        }
        rc = add_video_frame(m, data, *chunks, p->data.frame.buf, p->data.frame.sz,
                             (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0);
        frames++;
    }
    return rc != CS_OK ? rc : frames == 1 ? CS_OK : CS_EIO;
}

static void find_nearest_keys(lt_media_t *m)
{
    size_t n = m->n_vframes, prev = 0;
    for (size_t i = 0; i < n; i++) {
        if (m->vframes[i].key)
            prev = i;
        m->nearest_key[i] = (uint32_t)prev;
    }
    size_t next = n;   /* frame 0 of the next loop */
    for (size_t i = n; i-- > 0;) {
        if (m->vframes[i].key)
            next = i;
        size_t p = m->nearest_key[i];
        if (next - i < i - p)
            m->nearest_key[i] = (uint32_t)(next == n ? 0 : next);
    }
}

static int encode_video(lt_media_t *m)
{
    const lt_media_config_t *c = &m->cfg;
    int n = c->fps * c->loop_seconds;
    m->vframes = calloc((size_t)n, sizeof *m->vframes);
    m->nearest_key = calloc((size_t)n, sizeof *m->nearest_key);
    uint8_t *img = malloc((size_t)c->width * c->height * 3 / 2);
    if (!m->vframes || !m->nearest_key || !img) {
        free(img);
        return CS_ENOMEM;
    }
    vpx_codec_ctx_t ctx;
    int rc = encoder_open(&ctx, c);
    if (rc != CS_OK) {
        free(img);
        return rc;
    }
    vpx_image_t vimg;
    vpx_img_wrap(&vimg, VPX_IMG_FMT_I420, (unsigned)c->width, (unsigned)c->height, 1, img);
    bytes_t data = {0};
    size_t chunk_cap = 0;
    uint32_t rng = 12345;
    for (int i = 0; i < n && rc == CS_OK; i++) {
        draw_frame(img, c->width, c->height, i, &rng);
        vpx_enc_frame_flags_t flags = is_key_index(c, i) ? VPX_EFLAG_FORCE_KF : 0;
        if (vpx_codec_encode(&ctx, &vimg, i, 1, flags, VPX_DL_REALTIME) != VPX_CODEC_OK)
            rc = CS_EIO;
        else
            rc = collect_frame(m, &ctx, &data, &m->chunks, &chunk_cap);
    }
    vpx_codec_destroy(&ctx);
    free(img);
    m->vdata = data.p;
    if (rc != CS_OK)
        return rc;
    if (!m->vframes[0].key)
        return CS_EIO;
    find_nearest_keys(m);
    m->info.video_frames = m->n_vframes;
    m->info.video_bytes = data.len;
    for (size_t i = 0; i < m->n_vframes; i++)
        m->info.keyframes += m->vframes[i].key;
    return CS_OK;
}

/* ---- audio -------------------------------------------------------------------------------- */

static OpusEncoder *opus_open(const lt_media_config_t *c)
{
    int err = 0;
    OpusEncoder *enc = opus_encoder_create(LT_AUDIO_CLOCK, 1, OPUS_APPLICATION_VOIP, &err);
    if (!enc || err != OPUS_OK)
        return NULL;
    opus_encoder_ctl(enc, OPUS_SET_BITRATE(c->audio_kbps * 1000));
    opus_encoder_ctl(enc, OPUS_SET_VBR(0));     /* a steady rate makes the load predictable */
    opus_encoder_ctl(enc, OPUS_SET_INBAND_FEC(1));
    opus_encoder_ctl(enc, OPUS_SET_PACKET_LOSS_PERC(10));  /* FEC is only coded when loss is expected */
    opus_encoder_ctl(enc, OPUS_SET_COMPLEXITY(5));
    return enc;
}

static int encode_audio(lt_media_t *m)
{
    size_t n = (size_t)m->cfg.loop_seconds * (1000000 / LT_OPUS_FRAME_US);
    m->aframes = calloc(n, sizeof *m->aframes);
    OpusEncoder *enc = opus_open(&m->cfg);
    if (!m->aframes || !enc) {
        if (enc)
            opus_encoder_destroy(enc);
        return m->aframes ? CS_EIO : CS_ENOMEM;
    }
    bytes_t data = {0};
    int16_t pcm[LT_OPUS_SAMPLES];
    uint8_t out[OPUS_MAX_PACKET];
    uint32_t rng = 777;
    int rc = CS_OK;
    for (size_t f = 0; f < n && rc == CS_OK; f++) {
        for (int k = 0; k < LT_OPUS_SAMPLES; k++) {
            double t = (double)(f * LT_OPUS_SAMPLES + (size_t)k) / LT_AUDIO_CLOCK;
            double noise = ((double)(lcg(&rng) & 0xffff) / 32768.0 - 1.0) * 0.002;
            pcm[k] = (int16_t)lrint((0.25 * sin(2 * M_PI * 440.0 * t) + noise) * 32767.0);
        }
        opus_int32 len = opus_encode(enc, pcm, LT_OPUS_SAMPLES, out, (opus_int32)sizeof out);
        if (len <= 0 || len > LT_RTP_PAYLOAD_MAX) {
            rc = CS_EIO;
            break;
        }
        m->aframes[f] = (lt_chunk_t){.off = (uint32_t)data.len, .len = (uint16_t)len,
                                     .first = true, .last = true};
        rc = bytes_append(&data, out, (size_t)len);
        m->n_aframes++;
    }
    opus_encoder_destroy(enc);
    m->adata = data.p;
    m->info.audio_frames = m->n_aframes;
    m->info.audio_bytes = data.len;
    return rc;
}

/* ---- the loop ------------------------------------------------------------------------------ */

lt_media_t *lt_media_new(const lt_media_config_t *cfg, int *err)
{
    lt_media_config_t c = cfg ? *cfg : (lt_media_config_t){0};
    lt_media_config_defaults(&c);
    if (!config_valid(&c)) {
        *err = CS_EINVAL;
        return NULL;
    }
    lt_media_t *m = calloc(1, sizeof *m);
    if (!m) {
        *err = CS_ENOMEM;
        return NULL;
    }
    m->cfg = c;
    int rc = encode_video(m);
    if (rc == CS_OK)
        rc = encode_audio(m);
    if (rc != CS_OK) {
        lt_media_free(m);
        *err = rc == CS_ENOMEM ? CS_ENOMEM : CS_EIO;
        return NULL;
    }
    m->info.video_kbps = (double)m->info.video_bytes * 8 / c.loop_seconds / 1000;
    m->info.audio_kbps = (double)m->info.audio_bytes * 8 / c.loop_seconds / 1000;
    *err = CS_OK;
    return m;
}

void lt_media_free(lt_media_t *m)
{
    if (!m)
        return;
    free(m->vdata);
    free(m->adata);
    free(m->chunks);
    free(m->vframes);
    free(m->nearest_key);
    free(m->aframes);
    free(m);
}

void lt_media_info(const lt_media_t *m, lt_media_info_t *out)
{
    *out = m->info;
}
