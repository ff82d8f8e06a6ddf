/*
 * vp8_depack.c — RTP VP8 payloads (RFC 7741) back into whole frames, and
 * the judgement of which frames a decoder may take.
 *
 * A frame is the packets of one timestamp from the one with S=1, PID=0 to
 * the one with the marker bit, with no sequence number missing in between.
 * Anything less is dropped, never handed to the decoder: libvpx would
 * conceal it with garbage that then spreads through every frame that
 * references it. After a drop the decoder waits for the next keyframe,
 * except where the loss provably did not touch the reference chain: the
 * dropped frame was marked non-reference (N), or, across a gap between
 * frames, the PictureIDs run on without a hole (the lost packets belonged
 * to the frame already dropped).
 *
 * Temporal layers (libwebrtc sends VP8 as L1T3 in simulcast): a frame of
 * the base layer (TID 0) references only base frames, and a frame marked
 * layer-sync (Y) only base frames too. So a loss that provably spared the
 * base layer (the lost frame had TID > 0, or across a gap the TL0PICIDX of
 * the next frame shows no base frame missing) costs only the upper-layer
 * frames until the next base or sync frame, not the wait for a keyframe.
 *
 * The descriptor is read by cs_rtp_vp8_parse (media/rtp); the frame grows
 * in one buffer, doubled as needed up to CS_PP_VP8_FRAME_MAX.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "media/rtp/rtp.h"

void cs_pp_vp8_init(cs_pp_vp8_t *d)
{
    memset(d, 0, sizeof *d);
    d->need_key = true;
}

void cs_pp_vp8_free(cs_pp_vp8_t *d)
{
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

void cs_pp_vp8_need_key(cs_pp_vp8_t *d)
{
    d->need_key = true;
}

/* A frame in progress will not be complete. */
static void drop_frame(cs_pp_vp8_t *d)
{
    if (!d->in_frame)
        return;
    d->in_frame = false;
    if (d->seen_key)
        d->dropped++;
    if (d->non_ref)
        return;
    if (d->has_tid && d->tid > 0)
        d->need_sync = true;    /* an upper layer's reference: the base is intact */
    else
        d->need_key = true;
}

static bool pic_next(const cs_pp_vp8_t *d, uint16_t pic)
{
    uint16_t mask = d->pic_15bit ? 0x7fff : 0x7f;
    return pic == ((d->last_pic + 1) & mask) || pic == d->last_pic;
}

/*
 * Packets were missing before this one and it starts or continues a frame:
 * unless PictureIDs show that no frame went missing entirely, the
 * reference chain may be broken.
 */
static void judge_gap(cs_pp_vp8_t *d, const cs_rtp_vp8_t *v)
{
    if (!d->gap)
        return;
    d->gap = false;
    if (v->has_picture_id && d->pic_known && pic_next(d, v->picture_id))
        return;
    /* Frames went missing; if the base layer's index runs on, none of them
     * was a base frame. */
    bool base_intact = v->has_tl0picidx && d->tl0_known && v->has_tid &&
                       (v->tl0picidx == d->last_tl0 ||
                        (v->tid == 0 && v->tl0picidx == (uint8_t)(d->last_tl0 + 1)));
    if (base_intact)
        d->need_sync = true;
    else
        d->need_key = true;
}

static void start_frame(cs_pp_vp8_t *d, uint32_t ts, const cs_rtp_vp8_t *v)
{
    judge_gap(d, v);
    d->in_frame = true;
    d->ts = ts;
    d->len = 0;
    d->non_ref = v->non_reference;
    d->keyframe = v->keyframe;
    /* Its head lost: the rest of it is of no use. */
    d->broken = !(v->start && v->partition_id == 0);
    if (v->has_picture_id) {
        d->pic_known = true;
        d->pic_15bit = v->picture_id_15bit;
        d->last_pic = v->picture_id;
    } else {
        d->pic_known = false;
    }
    d->has_tid = v->has_tid;
    d->tid = v->tid;
    d->layer_sync = v->layer_sync;
    d->tl0_known = v->has_tl0picidx;
    d->last_tl0 = v->tl0picidx;
}

static void append(cs_pp_vp8_t *d, const uint8_t *p, size_t n)
{
    if (d->broken)
        return;
    if (d->len + n > CS_PP_VP8_FRAME_MAX) {
        d->broken = true;
        return;
    }
    if (d->len + n > d->cap) {
        size_t cap = d->cap ? d->cap : 65536;
        while (cap < d->len + n)
            cap *= 2;
        uint8_t *b = realloc(d->buf, cap);
        if (!b) {
            d->broken = true;
            return;
        }
        d->buf = b;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, p, n);
    d->len += n;
}

/* The marker bit: the frame is whole unless something was missing. */
static int end_frame(cs_pp_vp8_t *d, cs_pp_vp8_frame_t *out)
{
    if (d->broken) {
        drop_frame(d);
        return 0;
    }
    d->in_frame = false;
    if (d->keyframe)
        d->need_key = d->need_sync = false;
    if (d->need_sync && (!d->has_tid || d->tid == 0 || d->layer_sync))
        d->need_sync = false;   /* references only the base layer */
    if (d->need_key || d->need_sync) {
        if (d->seen_key)
            d->skipped++;
        return 0;
    }
    d->seen_key = true;
    d->frames++;
    out->data = d->buf;
    out->len = d->len;
    out->ts = d->ts;
    out->keyframe = d->keyframe;
    return 1;
}

int cs_pp_vp8_push(cs_pp_vp8_t *d, int64_t ext, uint32_t ts, bool marker,
                   const uint8_t *payload, size_t len, cs_pp_vp8_frame_t *out)
{
    bool gap = d->have_prev && ext != d->next_ext;
    d->have_prev = true;
    d->next_ext = ext + 1;
    if (gap) {
        if (d->in_frame)
            d->broken = true;   /* whatever went missing, this frame lacks it */
        d->gap = true;
    }
    if (len == 0)           /* padding: takes a number, carries nothing */
        return 0;
    cs_rtp_vp8_t v;
    if (cs_rtp_vp8_parse(payload, len, &v) != CS_OK) {
        if (d->in_frame)
            d->broken = true;
        else
            d->gap = true;  /* an unreadable packet counts as a lost one */
        return 0;
    }
    if (d->in_frame && ts != d->ts)
        drop_frame(d);      /* the previous frame never saw its marker */
    if (!d->in_frame)
        start_frame(d, ts, &v);
    else if (v.start && v.partition_id == 0)
        d->broken = true;   /* a second first packet in one frame */
    append(d, payload + v.descriptor_len, len - v.descriptor_len);
    if (!marker)
        return 0;
    return end_frame(d, out);
}
