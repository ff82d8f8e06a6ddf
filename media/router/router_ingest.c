/*
 * router_ingest.c — an RTP packet from a publisher, up to the point where it
 * is forwarded: which track and layer it belongs to (by SSRC; on the first
 * packets of a stream the browser has not announced, by its mid, rid or
 * repaired-rid header extension), RTX unwrapping, the test loss hook,
 * transport-wide arrival times, reception statistics, gap detection for
 * upstream NACKs and the retransmission ring; what is fresh is forwarded
 * and, for a recorded member, handed to the recording tap.
 */
#include "media/router/internal.h"

#include <string.h>

/* Deterministic percent loss for tests (xorshift32 from the configured seed). */
bool rt_test_loss(cs_router_t *r, unsigned percent)
{
    if (percent == 0)
        return false;
    uint32_t x = r->loss_rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    r->loss_rng = x;
    return x % 100 < percent;
}

static rt_track_t *by_ssrc(cs_router_member_t *m, uint32_t ssrc, uint8_t *layer, bool *rtx)
{
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++) {
        rt_track_t *t = &m->tracks[k];
        for (unsigned l = 0; t->used && l < t->n_layers; l++) {
            const rt_in_t *in = &t->layers[l];
            if ((in->has_ssrc && in->ssrc == ssrc) || (in->has_rtx && in->rtx_ssrc == ssrc)) {
                *layer = (uint8_t)l;
                *rtx = !(in->has_ssrc && in->ssrc == ssrc);
                return t;
            }
        }
    }
    return NULL;
}

static bool ext_string(const cs_rtp_packet_t *p, uint8_t id, char *out, size_t cap)
{
    cs_rtp_ext_t e;
    return id && cs_rtp_ext_find(p, id, &e) == CS_OK && cs_rtp_ext_string(&e, out, cap) == CS_OK;
}

static const rt_codec_t *rtx_codec(const rt_track_t *t, uint8_t pt)
{
    for (unsigned i = 0; i < t->n_codecs; i++)
        if (t->codecs[i].is_rtx && t->codecs[i].pt == pt)
            return &t->codecs[i];
    return NULL;
}

static int layer_by_rid(const rt_track_t *t, const char *rid)
{
    for (unsigned l = 0; l < t->n_layers; l++)
        if (!strcmp(t->layers[l].rid, rid))
            return (int)l;
    return -1;
}

/*
 * An SSRC not announced in the offer: Chromium's simulcast (rids only) and
 * any stream whose SSRC changed. The mid extension names the section, rid
 * the layer, repaired-rid the layer an RTX stream repairs.
 */
static rt_track_t *learn(cs_router_member_t *m, const cs_rtp_packet_t *p, uint8_t *layer,
                         bool *rtx)
{
    char s[CS_RTP_MID_MAX];
    rt_track_t *t = NULL;
    for (unsigned k = 0; !t && k < CS_ROUTER_MAX_PUBLISHED; k++)
        if (m->tracks[k].used && ext_string(p, m->tracks[k].ext.mid, s, sizeof s) &&
            !strcmp(s, m->tracks[k].mid))
            t = &m->tracks[k];
    if (!t)
        return NULL;
    int l = 0;
    if (t->simulcast) {
        if (ext_string(p, t->ext.rid, s, sizeof s) && (l = layer_by_rid(t, s)) >= 0) {
            *rtx = false;
        } else if (ext_string(p, t->ext.rrid, s, sizeof s) && (l = layer_by_rid(t, s)) >= 0) {
            *rtx = true;
        } else {
            return NULL;
        }
    } else {
        *rtx = rtx_codec(t, p->hdr.payload_type) != NULL;
    }
    rt_in_t *in = &t->layers[l];
    if (*rtx) {
        in->rtx_ssrc = p->hdr.ssrc;
        in->has_rtx = true;
    } else {
        rt_in_bind(t, in, p->hdr.ssrc);
    }
    *layer = (uint8_t)l;
    return t;
}

/* Bookkeeping of an original packet; false when it must not be forwarded. */
static bool receive(rt_track_t *t, rt_in_t *in, int ci, const cs_rtp_packet_t *p,
                    const uint8_t *buf, size_t len, int64_t now)
{
    uint16_t seq = p->hdr.seq;
    int64_t ext;
    cs_rtp_seq_result_t res = cs_rtp_seqtrack_update(&in->seq, seq, &ext);
    if (res == CS_RTP_SEQ_BAD)
        return false;               /* a jump not yet confirmed by the next packet */
    if (res == CS_RTP_SEQ_RESET) {
        in->epoch++;
        in->n_nacks = 0;
        in->have_max = false;
    }
    cs_rtp_jitter_update(&in->jitter, p->hdr.timestamp,
                         cs_rtp_time_to_ts((uint64_t)now, t->codecs[ci].clock));
    rt_nack_note(t, in, seq, now);
    in->packets++;
    in->bytes += len;
    in->last_us = now;
    if (rt_ring_get(in, seq, NULL))
        return false;               /* a duplicate */
    rt_ring_put(in, seq, buf, len, now);
    return true;
}

/* A retransmission we asked for, already unwrapped: fills the hole. */
static bool repaired(rt_track_t *t, rt_in_t *in, const uint8_t *buf, size_t len, uint16_t seq,
                     int64_t now)
{
    rt_nack_note(t, in, seq, now);
    if (rt_ring_get(in, seq, NULL))
        return false;
    rt_ring_put(in, seq, buf, len, now);
    return true;
}

bool rt_is_keyframe(const rt_track_t *t, int ci, const cs_rtp_packet_t *p)
{
    cs_rtp_vp8_t v;
    cs_rtp_h264_t h;
    switch (t->codecs[ci].kind) {
    case RT_CODEC_VP8:
        return cs_rtp_vp8_parse(p->payload, p->payload_len, &v) == CS_OK && v.keyframe;
    case RT_CODEC_H264:
        return cs_rtp_h264_parse(p->payload, p->payload_len, &h) == CS_OK && h.keyframe;
    default:
        return false;
    }
}

void rt_ingest(cs_router_t *r, cs_router_member_t *m, uint8_t *buf, size_t len, int64_t now)
{
    cs_rtp_packet_t p;
    if (len > CS_ROUTER_PACKET_MAX || cs_rtp_parse(buf, len, &p) != CS_OK) {
        r->c.dropped_malformed++;
        return;
    }
    uint8_t layer = 0;
    bool rtx = false;
    rt_track_t *t = by_ssrc(m, p.hdr.ssrc, &layer, &rtx);
    if (!t)
        t = learn(m, &p, &layer, &rtx);
    if (!t) {
        r->c.dropped_unknown_ssrc++;
        return;
    }
    if (!rtx && rt_test_loss(r, r->cfg.loss_in_percent)) {
        r->c.dropped_test_loss++;
        return;
    }
    rt_twcc_record(r, m, t, &p, now);
    rt_in_t *in = &t->layers[layer];
    if (rtx) {
        const rt_codec_t *k = rtx_codec(t, p.hdr.payload_type);
        if (!in->has_ssrc || !k) {
            /* Repairs for a stream not seen yet, or not an RTX payload type. */
            *(in->has_ssrc ? &r->c.dropped_malformed : &r->c.dropped_unknown_ssrc) += 1;
            return;
        }
        if (p.payload_len < 2)
            return;                 /* padding-only bandwidth probe: TWCC had it */
        int n = cs_rtp_rtx_unwrap(buf, len, k->apt, in->ssrc, buf, len);
        if (n < 0 || cs_rtp_parse(buf, (size_t)n, &p) != CS_OK) {
            r->c.dropped_malformed++;
            return;
        }
        len = (size_t)n;
        m->up_rtx++;
    }
    int ci = rt_codec_index(t, p.hdr.payload_type);
    if (ci < 0) {
        r->c.dropped_malformed++;   /* a payload type not negotiated */
        return;
    }
    bool fresh = rtx ? repaired(t, in, buf, len, p.hdr.seq, now)
                     : receive(t, in, ci, &p, buf, len, now);
    if (!fresh)
        return;
    bool key = t->info.kind == CS_ROUTER_VIDEO && rt_is_keyframe(t, ci, &p);
    rt_forward(r, m, t, layer, &p, ci, key, now);
    /* Forwarding writes into the scratch buffer, so buf is still the packet
     * as it arrived (RTX unwrapped). */
    if (m->recording && r->record)
        rt_record(r, m, t, layer, ci, &p, buf, len, now);
}
