/*
 * router_forward.c — one publisher packet to every subscriber of its track:
 * whether this subscriber takes it now (its simulcast layer, a keyframe to
 * start or switch on, paused video), and the rewrite into the room's scratch
 * buffer with the subscriber's SSRC, sequence number, timestamp, payload
 * type and header extension ids.
 *
 * Sequence numbers and timestamps of an outgoing stream are continuous: each
 * time it starts on a layer (first keyframe, simulcast switch, the publisher
 * restarting its stream) a new segment begins right after the last number
 * sent, and the segment's offsets are kept so NACKs can be mapped back.
 */
#include "media/router/internal.h"

#include <string.h>

void rt_out_restart(rt_out_t *o)
{
    o->cur_layer = -1;
    memset(o->segs, 0, sizeof o->segs);
}

static void begin_segment(cs_router_t *r, rt_out_t *o, const rt_track_t *t, uint8_t layer,
                          const rt_in_t *in, const cs_rtp_packet_t *p, int ci, int64_t now)
{
    uint16_t first_out;
    uint32_t first_ts;
    if (!o->started) {
        first_out = (uint16_t)rt_rand(r);
        first_ts = rt_rand(r);
        o->started = true;
    } else {
        /* Right after the last packet sent, at least one tick later. */
        uint32_t d = rt_ts_elapsed(now - o->last_us, t->codecs[ci].clock);
        first_out = (uint16_t)(o->last_seq + 1);
        first_ts = o->last_ts + (d ? d : 1);
    }
    o->seg_head = (uint8_t)((o->seg_head + 1) % RT_SEGMENTS);
    rt_segment_t *g = &o->segs[o->seg_head];
    g->used = true;
    g->layer = layer;
    g->first_out = first_out;
    g->first_in = p->hdr.seq;
    g->seq_offset = (uint16_t)(first_out - p->hdr.seq);
    g->ts_offset = first_ts - p->hdr.timestamp;
    g->epoch = in->epoch;
    o->cur_layer = (int8_t)layer;
    o->last_seq = (uint16_t)(first_out - 1);
}

/* Whether subscriber stream o takes this packet; may start a segment. */
static bool admit(cs_router_t *r, rt_out_t *o, const rt_track_t *t, uint8_t layer,
                  const cs_rtp_packet_t *p, int ci, bool keyframe, int64_t now)
{
    const rt_in_t *in = &t->layers[layer];
    rt_segment_t *g = &o->segs[o->seg_head];
    bool same = o->cur_layer == layer && g->used && g->epoch == in->epoch;
    if (t->info.kind == CS_ROUTER_VIDEO) {
        if (o->target_layer < 0) {
            o->cur_layer = -1;          /* paused: resuming needs a keyframe */
            return false;
        }
        if (!same) {
            /* Start or switch only where the decoder can: a keyframe of the target. */
            if (layer != o->target_layer || !keyframe)
                return false;
            begin_segment(r, o, t, layer, in, p, ci, now);
            return true;
        }
    } else if (!same) {
        begin_segment(r, o, t, layer, in, p, ci, now);
        return true;
    }
    /* Older than the segment: it would reuse numbers already sent. The floor
     * trails the newest packet by a quarter of the sequence space, so a long
     * segment never wraps past it (which would drop half of all packets). */
    int32_t d = cs_rtp_seq_diff(p->hdr.seq, g->first_in);
    if (d < 0)
        return false;
    if (d > 0x4000)
        g->first_in = (uint16_t)(p->hdr.seq - 0x4000);
    return true;
}

/*
 * Writes the packet as subscriber stream o sends it into r->scratch: the
 * payload and padding as they came, our SSRC, the given seq and ts, our
 * payload type, and only the extensions we rebuild (mid, abs-send-time
 * stamped now, audio-level copied). Returns the length, or a negative code.
 */
int rt_rewrite(cs_router_t *r, const rt_out_t *o, const rt_track_t *t, int ci,
               const cs_rtp_packet_t *p, uint16_t seq, uint32_t ts, int64_t now)
{
    if (o->pt_map[ci] < 0)
        return CS_ENOTFOUND;
    cs_rtp_header_t h = {
        .marker = p->hdr.marker,
        .payload_type = (uint8_t)o->pt_map[ci],
        .seq = seq,
        .timestamp = ts,
        .ssrc = o->ssrc,
        .padding_len = p->hdr.padding_len,
    };
    cs_rtp_ext_t ext[3], e;
    size_t n = 0;
    uint8_t abs[3];
    if (o->ext.mid)
        ext[n++] = (cs_rtp_ext_t){o->ext.mid, (uint8_t)strlen(o->mid), (const uint8_t *)o->mid};
    if (o->ext.abs) {
        cs_rtp_abs_send_time_encode(cs_rtp_abs_send_time_from_us((uint64_t)now), abs);
        ext[n++] = (cs_rtp_ext_t){o->ext.abs, 3, abs};
    }
    if (o->ext.level && t->ext.level && cs_rtp_ext_find(p, t->ext.level, &e) == CS_OK &&
        e.len >= 1)
        ext[n++] = (cs_rtp_ext_t){o->ext.level, 1, e.data};
    return cs_rtp_serialise(&h, ext, n, p->payload, p->payload_len, r->scratch, RT_OUT_MAX);
}

void rt_forward(cs_router_t *r, cs_router_member_t *pub, rt_track_t *t, uint8_t layer,
                const cs_rtp_packet_t *p, int ci, bool keyframe, int64_t now)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        cs_router_member_t *s = &r->members[i];
        if (!s->used || s == pub || !s->connected)
            continue;
        rt_out_t *o = &s->outs[t->slot];
        if (!o->assigned || rt_out_track(o) != t || o->pt_map[ci] < 0)
            continue;
        if (!admit(r, o, t, layer, p, ci, keyframe, now))
            continue;
        const rt_segment_t *g = &o->segs[o->seg_head];
        uint16_t seq = (uint16_t)(p->hdr.seq + g->seq_offset);
        uint32_t ts = p->hdr.timestamp + g->ts_offset;
        int n = rt_rewrite(r, o, t, ci, p, seq, ts, now);
        if (n < 0)
            continue;
        if (cs_rtp_seq_diff(seq, o->last_seq) > 0) {
            o->last_seq = seq;
            o->last_ts = ts;
            o->last_us = now;
        }
        o->packets++;
        o->bytes += (uint64_t)n;
        o->octets += p->payload_len;
        s->down_packets++;
        s->down_bytes += (uint64_t)n;
        if (rt_test_loss(r, r->cfg.loss_out_percent)) {
            r->c.dropped_test_loss++;
            continue;
        }
        r->c.rtp_out++;
        r->cb.send_rtp(r->user, s->user, r->scratch, (size_t)n, RT_SCRATCH);
    }
}
