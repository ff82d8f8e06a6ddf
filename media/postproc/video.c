/*
 * video.c — I420 pictures, and libvpx on both ends: a VP8 decoder per
 * received stream and the encoder of the composed output.
 *
 * Both run single-threaded: several jobs may run at once, each on its own
 * worker thread, and the gateway decides how many. The encoder uses the
 * realtime deadline at its fastest fixed speed (a batch job must run many
 * times faster than real time on one core; tests/bench/bench_postproc.c
 * measures it: the encoder is about half of the job's CPU), no lag (packets
 * come out as frames go in) and a keyframe at most every 3 s so a player
 * seeks quickly. A negative cpu-used is a fixed speed; a positive one lets
 * libvpx pick a speed from how long frames took against real time, so a
 * job that runs faster than real time would slow itself down, and its
 * output would depend on the machine's load.
 */
#include <stdlib.h>
#include <string.h>

#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

#include "internal.h"

#define KEYFRAME_EVERY_S 3
#define ENCODER_SPEED (-16)  /* VP8E_SET_CPUUSED: fixed, the fastest */

int cs_pp_image_alloc(cs_pp_image_t *img, int w, int h)
{
    if (w <= 0 || h <= 0 || (w & 1) || (h & 1))
        return CS_EINVAL;
    size_t need = (size_t)w * (size_t)h * 3 / 2;
    if (need > img->cap) {
        uint8_t *b = realloc(img->y, need);
        if (!b)
            return CS_ENOMEM;
        img->y = b;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    img->u = img->y + (size_t)w * (size_t)h;
    img->v = img->u + (size_t)w * (size_t)h / 4;
    return CS_OK;
}

void cs_pp_image_free(cs_pp_image_t *img)
{
    free(img->y);
    memset(img, 0, sizeof *img);
}

void cs_pp_image_black(cs_pp_image_t *img)
{
    size_t luma = (size_t)img->w * (size_t)img->h;
    memset(img->y, 16, luma);
    memset(img->u, 128, luma / 2);
}

/* ---- decoder --------------------------------------------------------------------- */

struct cs_pp_vdec {
    vpx_codec_ctx_t ctx;
};

int cs_pp_vdec_new(cs_pp_vdec_t **out)
{
    cs_pp_vdec_t *d = calloc(1, sizeof *d);
    if (!d)
        return CS_ENOMEM;
    vpx_codec_dec_cfg_t cfg = {.threads = 1};
    if (vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
        free(d);
        return CS_ENOMEM;
    }
    *out = d;
    return CS_OK;
}

/* Copies a decoded picture (cropped to even sizes) into our own planes. */
static int copy_image(const vpx_image_t *im, cs_pp_image_t *out)
{
    int w = (int)im->d_w & ~1, h = (int)im->d_h & ~1;
    if (im->fmt != VPX_IMG_FMT_I420 || w < 2 || h < 2 || (size_t)w * (size_t)h > CS_PP_MAX_PIXELS)
        return CS_EINVAL;
    int rc = cs_pp_image_alloc(out, w, h);
    if (rc != CS_OK)
        return rc;
    for (int y = 0; y < h; y++)
        memcpy(out->y + (size_t)y * w, im->planes[0] + (size_t)y * im->stride[0], (size_t)w);
    for (int y = 0; y < h / 2; y++) {
        memcpy(out->u + (size_t)y * (w / 2), im->planes[1] + (size_t)y * im->stride[1],
               (size_t)w / 2);
        memcpy(out->v + (size_t)y * (w / 2), im->planes[2] + (size_t)y * im->stride[2],
               (size_t)w / 2);
    }
    out->valid = true;
    return CS_OK;
}

int cs_pp_vdec_decode(cs_pp_vdec_t *d, const uint8_t *frame, size_t len, cs_pp_image_t *out)
{
    if (len == 0 || len > UINT32_MAX)
        return CS_EINVAL;
    if (vpx_codec_decode(&d->ctx, frame, (unsigned)len, NULL, 0) != VPX_CODEC_OK)
        return CS_EINVAL;
    int corrupt = 0;
    if (vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK &&
        corrupt)
        return CS_EINVAL;
    vpx_codec_iter_t it = NULL;
    vpx_image_t *im = vpx_codec_get_frame(&d->ctx, &it), *last = NULL;
    for (; im; im = vpx_codec_get_frame(&d->ctx, &it))
        last = im;
    if (!last)
        return CS_EAGAIN;
    return copy_image(last, out);
}

void cs_pp_vdec_free(cs_pp_vdec_t *d)
{
    if (!d)
        return;
    vpx_codec_destroy(&d->ctx);
    free(d);
}

/* ---- encoder ----------------------------------------------------------------------- */

struct cs_pp_venc {
    vpx_codec_ctx_t ctx;
    vpx_image_t img;
    int w, h;
};

int cs_pp_venc_new(int w, int h, int fps, int kbps, cs_pp_venc_t **out)
{
    vpx_codec_enc_cfg_t cfg;
    if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK)
        return CS_EIO;
    cfg.g_w = (unsigned)w;
    cfg.g_h = (unsigned)h;
    cfg.g_timebase.num = 1;
    cfg.g_timebase.den = fps;
    cfg.g_threads = 1;
    cfg.g_lag_in_frames = 0;
    cfg.g_error_resilient = 0;
    cfg.rc_end_usage = VPX_VBR;
    cfg.rc_target_bitrate = (unsigned)kbps;
    cfg.rc_min_quantizer = 4;
    cfg.rc_max_quantizer = 56;
    cfg.rc_undershoot_pct = 95;
    cfg.rc_overshoot_pct = 25;
    cfg.kf_mode = VPX_KF_AUTO;
    cfg.kf_min_dist = 0;
    cfg.kf_max_dist = (unsigned)(fps * KEYFRAME_EVERY_S);
    cs_pp_venc_t *e = calloc(1, sizeof *e);
    if (!e)
        return CS_ENOMEM;
    if (vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
        free(e);
        return CS_EIO;
    }
    vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, ENCODER_SPEED);
    vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
    vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
    e->w = w;
    e->h = h;
    *out = e;
    return CS_OK;
}

int cs_pp_venc_encode(cs_pp_venc_t *e, const cs_pp_image_t *img, int64_t index,
                      cs_pp_packet_fn fn, void *user)
{
    vpx_image_t *in = NULL;
    if (img) {
        if (img->w != e->w || img->h != e->h)
            return CS_EINVAL;
        vpx_img_wrap(&e->img, VPX_IMG_FMT_I420, (unsigned)e->w, (unsigned)e->h, 1, img->y);
        in = &e->img;
    }
    if (vpx_codec_encode(&e->ctx, in, index, 1, 0, VPX_DL_REALTIME) != VPX_CODEC_OK)
        return CS_EIO;
    vpx_codec_iter_t it = NULL;
    const vpx_codec_cx_pkt_t *p;
    while ((p = vpx_codec_get_cx_data(&e->ctx, &it))) {
        if (p->kind != VPX_CODEC_CX_FRAME_PKT)
            continue;
        int rc = fn(user, p->data.frame.buf, p->data.frame.sz, p->data.frame.pts,
                    (p->data.frame.flags & VPX_FRAME_IS_KEY) != 0);
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

void cs_pp_venc_free(cs_pp_venc_t *e)
{
    if (!e)
        return;
    vpx_codec_destroy(&e->ctx);
    free(e);
}
