/*
 * render.c — pass 2: the records again, in arrival order, turned into the
 * output frame by frame.
 *
 * The output clock follows the input CS_PP_HOLD_US behind the latest
 * arrival. Each packet waits in its stream's reorder buffer until the output
 * clock reaches its mapped time; then it goes, in sequence order, to the
 * depacketiser and decoder (video) or into the mix (audio). Video frames
 * and 20 ms audio frames are produced in time order, so the muxer receives
 * them interleaved and never has to hold much.
 *
 * A tile shows, among the simulcast layers of one member's camera (or
 * screen), the highest whose last picture is at most CS_PP_FRESH_US old,
 * else the most recent picture of any (a gap holds the last frame), from
 * its first decoded picture until CS_PP_LINGER_US after its last packet.
 * Streams past that are retired: their decoder and buffers freed.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "media/rtp/rtp.h"

#define FOREVER (INT64_MAX / 4)

static int64_t frame_time(const cs_pp_state_t *st, int64_t k)
{
    return k * 1000000 / st->cfg.fps;
}

/* ---- the output ------------------------------------------------------------------- */

static int on_video_packet(void *user, const uint8_t *data, size_t len, int64_t pts, bool key)
{
    cs_pp_state_t *st = user;
    int fps = st->cfg.fps;
    int rc = cs_pp_mux_video(st->mux, data, len, pts * 1000 / fps,
                             (pts + 1) * 1000 / fps - pts * 1000 / fps, key);
    if (rc == CS_OK)
        st->res->video_frames++;
    return rc;
}

static int open_output(cs_pp_state_t *st)
{
    int rc;
    cs_pp_pool_init(&st->pool);
    if ((rc = cs_pp_mix_init(&st->mix)) != CS_OK ||
        (rc = cs_pp_image_alloc(&st->canvas, st->cfg.width, st->cfg.height)) != CS_OK ||
        (rc = cs_pp_venc_new(st->cfg.width, st->cfg.height, st->cfg.fps, st->cfg.video_kbps,
                             &st->venc)) != CS_OK ||
        (rc = cs_pp_aenc_new(st->cfg.audio_kbps, &st->aenc)) != CS_OK)
        return rc;
    rc = cs_pp_mux_open(st->out, st->cfg.width, st->cfg.height, cs_pp_aenc_preskip(st->aenc),
                        &st->mux);
    if (rc != CS_OK)
        return rc;
    st->n_vframes = (st->duration_us * st->cfg.fps + 999999) / 1000000;
    st->n_aframes = (st->duration_us + 19999) / 20000;
    return CS_OK;
}

/* ---- streams ----------------------------------------------------------------------- */

static int stream_open(cs_pp_stream_t *s)
{
    int rc = cs_pp_jb_init(&s->jb);
    if (rc != CS_OK)
        return rc;
    if (s->video)
        cs_pp_vp8_init(&s->vp8);
    else if ((rc = cs_pp_adec_init(&s->adec)) != CS_OK)
        return rc;
    s->open = true;
    return CS_OK;
}

/* Frees what the stream holds; its counters stay for the result. */
static void stream_close(cs_pp_state_t *st, cs_pp_stream_t *s)
{
    cs_pp_jb_free(&s->jb, &st->pool);
    cs_pp_vdec_free(s->vdec);
    s->vdec = NULL;
    cs_pp_image_free(&s->img);
    if (s->video)
        cs_pp_vp8_free(&s->vp8);
    else
        cs_pp_adec_free(&s->adec);
    s->open = false;
}

static void decode_video(cs_pp_stream_t *s, const cs_pp_pkt_t *pkt)
{
    cs_pp_vp8_frame_t f;
    if (cs_pp_vp8_push(&s->vp8, pkt->ext_seq, pkt->ts, pkt->marker, pkt->data, pkt->len, &f) != 1)
        return;
    if (!s->vdec && cs_pp_vdec_new(&s->vdec) != CS_OK) {
        s->vdec_errors++;
        return;
    }
    int rc = cs_pp_vdec_decode(s->vdec, f.data, f.len, &s->img);
    if (rc == CS_OK) {
        s->img.t_us = pkt->rec_us;
    } else if (rc != CS_EAGAIN) {
        s->vdec_errors++;
        cs_pp_vp8_need_key(&s->vp8);
    }
}

/* One packet out of the reorder buffer, lost ones before it. */
static void consume(cs_pp_state_t *st, cs_pp_stream_t *s, cs_pp_pkt_t *pkt, uint64_t lost)
{
    s->lost += lost;
    if (s->video) {
        decode_video(s, pkt);
    } else {
        if (lost)
            cs_pp_adec_conceal(&s->adec, &st->mix, (unsigned)(lost > 8 ? 8 : lost), pkt->data,
                               pkt->len);
        int64_t pos = pkt->rec_us * CS_PP_AUDIO_RATE / 1000000;
        cs_pp_adec_packet(&s->adec, &st->mix, pkt->data, pkt->len, pos);
    }
    cs_pp_pool_put(&st->pool, pkt);
}

static void release(cs_pp_state_t *st, cs_pp_stream_t *s, int64_t horizon_us)
{
    cs_pp_pkt_t *pkt;
    uint64_t lost;
    while (s->open && (pkt = cs_pp_jb_pop(&s->jb, horizon_us, &lost)))
        consume(st, s, pkt, lost);
}

/* Places one packet in its stream's reorder buffer (decoding some early when
 * a buffer or the pool is full). */
static int ingest(cs_pp_state_t *st, const cs_pp_record_t *rec)
{
    cs_pp_stream_t *s = cs_pp_stream_of(st, rec);
    cs_rtp_packet_t p;
    if (!s || !s->has_media || cs_rtp_parse(rec->data, rec->len, &p) != CS_OK ||
        p.hdr.payload_type != s->track.payload_type)
        return CS_OK;
    cs_pp_tl_loc_t loc;
    cs_pp_tl_locate(&s->tl, p.hdr.ssrc, p.hdr.timestamp, p.hdr.seq, rec->arrival_us, &loc);
    if (s->retired || p.payload_len > CS_REC_PACKET_MAX)
        return CS_OK;
    int rc;
    if (!s->open && (rc = stream_open(s)) != CS_OK)
        return rc;
    if (s->jb.started && loc.seg != s->jb_seg) {
        release(st, s, FOREVER);    /* a new segment: the old one's packets first */
        cs_pp_jb_reset(&s->jb);
    }
    s->jb_seg = loc.seg;
    cs_pp_pkt_t *pkt = cs_pp_pool_get(&st->pool);
    if (!pkt) {
        release(st, s, FOREVER);
        if (!(pkt = cs_pp_pool_get(&st->pool))) {
            st->overflow++;
            return CS_OK;
        }
    }
    pkt->ext_seq = loc.ext_seq;
    pkt->rec_us = cs_pp_tl_map(&s->tl, loc.seg, loc.ext_ts) - st->origin_us;
    pkt->ts = p.hdr.timestamp;
    pkt->marker = p.hdr.marker;
    pkt->len = (uint16_t)p.payload_len;
    memcpy(pkt->data, p.payload, p.payload_len);
    while ((rc = cs_pp_jb_push(&s->jb, pkt)) == CS_ELIMIT) {
        uint64_t lost;
        cs_pp_pkt_t *early = cs_pp_jb_pop(&s->jb, FOREVER, &lost);
        if (!early)
            break;
        st->overflow++;
        consume(st, s, early, lost);
    }
    if (rc != CS_OK) {
        st->late++;
        cs_pp_pool_put(&st->pool, pkt);
    }
    return CS_OK;
}

/* ---- video frames --------------------------------------------------------------------- */

/* The picture each tile shows at t, or NULL. */
static void pick_pictures(cs_pp_state_t *st, int64_t t, const cs_pp_image_t **pic)
{
    int best_layer[CS_PP_MAX_TILES];
    int64_t latest[CS_PP_MAX_TILES];
    for (unsigned i = 0; i < st->n_tiles; i++) {
        pic[i] = NULL;
        best_layer[i] = -1;
        latest[i] = INT64_MIN;
    }
    /* Fresh layers first (highest wins), then the latest of any. */
    const cs_pp_image_t *fresh[CS_PP_MAX_TILES] = {0};
    for (unsigned i = 0; i < st->n_streams; i++) {
        const cs_pp_stream_t *s = st->streams[i];
        if (!s->video || !s->open || s->tile < 0 || !s->img.valid ||
            t > s->last_us + CS_PP_LINGER_US)
            continue;
        int k = s->tile;
        if (t - s->img.t_us <= CS_PP_FRESH_US && s->track.layer > best_layer[k]) {
            best_layer[k] = s->track.layer;
            fresh[k] = &s->img;
        }
        if (s->img.t_us > latest[k]) {
            latest[k] = s->img.t_us;
            pic[k] = &s->img;
        }
    }
    for (unsigned i = 0; i < st->n_tiles; i++)
        if (fresh[i])
            pic[i] = fresh[i];
}

static void draw_label(cs_pp_state_t *st, cs_pp_tile_t *tile, const cs_pp_rect_t *r)
{
    int bh = (r->h / 8) & ~1;
    if (bh < 16)
        bh = 16;
    if (bh > r->h)
        return;
    cs_pp_rect_t band = {r->x, r->y + r->h - bh, r->w, bh};
    if (tile->alpha_w != band.w || tile->alpha_h != band.h) {
        free(tile->alpha);
        tile->alpha = calloc((size_t)band.w * (size_t)band.h, 1);
        tile->alpha_ok = tile->alpha &&
                         st->cfg.label(st->cfg.label_user, tile->label, band.w, band.h,
                                       tile->alpha) >= 0;
        tile->alpha_w = tile->alpha ? band.w : 0;
        tile->alpha_h = tile->alpha ? band.h : 0;
    }
    cs_pp_band(&st->canvas, &band, tile->alpha_ok ? tile->alpha : NULL);
}

static int compose(cs_pp_state_t *st, int64_t t)
{
    const cs_pp_image_t *pic[CS_PP_MAX_TILES];
    pick_pictures(st, t, pic);
    int shown[CS_PP_MAX_TILES], n = 0;
    for (unsigned i = 0; i < st->n_tiles; i++) {
        if (!pic[i])
            continue;
        if (st->tiles[i].order < 0)
            st->tiles[i].order = st->next_order++;
        /* In order of first appearance (insertion sort: a handful). */
        int j = n++;
        while (j > 0 && st->tiles[shown[j - 1]].order > st->tiles[i].order) {
            shown[j] = shown[j - 1];
            j--;
        }
        shown[j] = (int)i;
    }
    if (n > CS_PP_MAX_SHOWN)
        n = CS_PP_MAX_SHOWN;
    cs_pp_image_black(&st->canvas);
    cs_pp_rect_t cells[CS_PP_MAX_SHOWN];
    cs_pp_grid(n, st->canvas.w, st->canvas.h, cells);
    for (int i = 0; i < n; i++) {
        cs_pp_tile_t *tile = &st->tiles[shown[i]];
        const cs_pp_image_t *src = pic[shown[i]];
        cs_pp_rect_t r = cs_pp_fit(src->w, src->h, &cells[i]);
        int rc = cs_pp_scale(&tile->scaler, src, &st->canvas, &r);
        if (rc != CS_OK)
            return rc;
        if (st->cfg.label)
            draw_label(st, tile, &r);
    }
    return CS_OK;
}

/* Half an output frame: each output frame shows the picture nearest its
 * time (sample and hold would show it half a frame late on average). */
static int64_t half_frame(const cs_pp_state_t *st)
{
    return 500000 / st->cfg.fps;
}

/* The open video (or audio) streams' packets due by horizon_us go out; a
 * stream empty CS_PP_LINGER_US after its last packet at t is retired. */
static void advance(cs_pp_state_t *st, bool video, int64_t horizon_us, int64_t t)
{
    for (unsigned i = 0; i < st->n_streams; i++) {
        cs_pp_stream_t *s = st->streams[i];
        if (s->video != video || !s->open)
            continue;
        release(st, s, horizon_us);
        if (t > s->last_us + CS_PP_LINGER_US && !s->jb.count) {
            stream_close(st, s);
            s->retired = true;
        }
    }
}

static int video_frame(cs_pp_state_t *st)
{
    int64_t t = frame_time(st, st->vframes);
    advance(st, true, t + half_frame(st), t);
    int rc = compose(st, t);
    if (rc == CS_OK)
        rc = cs_pp_venc_encode(st->venc, &st->canvas, st->vframes, on_video_packet, st);
    st->vframes++;
    return rc;
}

/* ---- audio frames ------------------------------------------------------------------------ */

static int audio_frame(cs_pp_state_t *st)
{
    int64_t end = (st->aframes + 1) * 20000;
    advance(st, false, end + CS_PP_AUDIO_LEAD_US - 1, end);
    float pcm[CS_PP_AUDIO_FRAME];
    uint8_t out[4000];
    cs_pp_mix_take(&st->mix, pcm, CS_PP_AUDIO_FRAME);
    int n = cs_pp_aenc_encode(st->aenc, pcm, out, sizeof out);
    if (n < 0)
        return n;
    int64_t pts = st->aframes * CS_PP_AUDIO_FRAME;
    st->aframes++;
    return cs_pp_mux_audio(st->mux, out, (size_t)n, pts, CS_PP_AUDIO_FRAME);
}

/* Produces every frame whose inputs are all in by horizon (output clock). */
static int produce(cs_pp_state_t *st, int64_t horizon)
{
    for (;;) {
        bool vdone = st->vframes >= st->n_vframes, adone = st->aframes >= st->n_aframes;
        if (vdone && adone)
            return CS_OK;
        int64_t tv = frame_time(st, st->vframes), te = (st->aframes + 1) * 20000;
        int rc;
        if (!vdone && (adone || tv <= te)) {
            if (tv + half_frame(st) > horizon)
                return CS_OK;
            if (cs_pp_cancelled(st))
                return CS_EAGAIN;
            if ((rc = video_frame(st)) != CS_OK)
                return rc;
            cs_pp_progress(st, 0.1 + 0.9 * (double)st->vframes / (double)st->n_vframes);
        } else {
            if (te + CS_PP_AUDIO_LEAD_US > horizon)
                return CS_OK;
            if ((rc = audio_frame(st)) != CS_OK)
                return rc;
        }
    }
}

int cs_pp_render(cs_pp_state_t *st)
{
    int rc = open_output(st);
    if (rc != CS_OK || (rc = st->src->begin(st->src, 2)) != CS_OK)
        return rc;
    for (unsigned i = 0; i < st->n_streams; i++)
        cs_pp_tl_rewind(&st->streams[i]->tl);
    st->decls = 0;
    st->map_input = ~0u;
    st->now_us = INT64_MIN;
    cs_pp_record_t rec;
    uint64_t n = 0;
    while ((rc = st->src->next(st->src, &rec)) == 1) {
        if (rec.type == CS_CAP_TRACK) {
            cs_pp_declare(st, &rec);
            continue;
        }
        if (rec.type != CS_CAP_PACKET)
            continue;
        if ((rc = ingest(st, &rec)) != CS_OK)
            return rc;
        if (rec.arrival_us - st->origin_us > st->now_us)
            st->now_us = rec.arrival_us - st->origin_us;
        if ((rc = produce(st, st->now_us - CS_PP_HOLD_US)) != CS_OK)
            return rc;
        if (++n % 1024 == 0 && cs_pp_cancelled(st))
            return CS_EAGAIN;
    }
    if (rc < 0 || (rc = produce(st, FOREVER)) != CS_OK)
        return rc;
    if ((rc = cs_pp_venc_encode(st->venc, NULL, st->vframes, on_video_packet, st)) != CS_OK)
        return rc;
    return cs_pp_mux_finish(st->mux);
}

void cs_pp_render_free(cs_pp_state_t *st)
{
    for (unsigned i = 0; i < st->n_streams; i++)
        if (st->streams[i]->open)
            stream_close(st, st->streams[i]);
    for (unsigned i = 0; i < st->n_tiles; i++) {
        cs_pp_scaler_free(&st->tiles[i].scaler);
        free(st->tiles[i].alpha);
        st->tiles[i].alpha = NULL;
    }
    cs_pp_mux_free(st->mux);
    st->mux = NULL;
    cs_pp_venc_free(st->venc);
    st->venc = NULL;
    cs_pp_aenc_free(st->aenc);
    st->aenc = NULL;
    cs_pp_image_free(&st->canvas);
    cs_pp_mix_free(&st->mix);
    cs_pp_pool_free(&st->pool);
}
