/*
 * router_stats.c — per-member call quality for the engine's quality reports
 * and /metrics, over the interval since the previous cs_router_stats call
 * (or since the member's first activity).
 *
 * Up (member -> gateway): loss from our sequence trackers of its streams
 * (before retransmission repairs it), jitter from our estimators, bitrate
 * of what arrived. Down (gateway -> member): what we sent, and loss and
 * jitter as its receiver reports say (the worst stream). RTT is measured
 * from its reports on our SRs and given for both directions.
 */
#include "media/router/internal.h"

#include <string.h>

static uint32_t clock_of(const rt_track_t *t)
{
    for (unsigned i = 0; i < t->n_codecs; i++)
        if (!t->codecs[i].is_rtx && t->codecs[i].clock)
            return t->codecs[i].clock;
    return 90000;
}

static double kbps(uint64_t bytes, uint64_t prev, double secs)
{
    return secs > 0 && bytes >= prev ? (double)(bytes - prev) * 8 / secs / 1000 : -1;
}

static void up_stats(cs_router_member_t *m, cs_router_direction_stats_t *d, double secs)
{
    uint64_t expected = 0, received = 0;
    double jitter = -1;
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++) {
            rt_in_t *in = &m->tracks[k].layers[l];
            uint64_t e = cs_rtp_seqtrack_expected(&in->seq), rc = in->seq.received;
            /* A tracker that restarted counts from zero again. */
            expected += e >= in->st_expected ? e - in->st_expected : e;
            received += rc >= in->st_received ? rc - in->st_received : rc;
            in->st_expected = e;
            in->st_received = rc;
            d->packets += in->packets;
            d->bytes += in->bytes;
            if (rc) {
                double j = cs_rtp_jitter_get(&in->jitter) * 1000.0 / clock_of(&m->tracks[k]);
                jitter = j > jitter ? j : jitter;
            }
        }
    d->loss_percent =
        expected ? (received < expected ? (double)(expected - received) * 100 / expected : 0) : -1;
    d->jitter_ms = jitter;
    d->kbps = kbps(d->bytes, m->st_up_bytes, secs);
    m->st_up_bytes = d->bytes;
    d->nacks = m->up_nacks;
    d->retransmissions = m->up_rtx;
    d->keyframe_requests = m->up_kf;
}

static void down_stats(cs_router_member_t *m, cs_router_direction_stats_t *d, double secs)
{
    double loss = -1, jitter = -1;
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        const rt_out_t *o = &m->outs[k];
        const rt_track_t *t = rt_out_track(o);
        if (!t || !o->assigned || !o->have_rr)
            continue;
        double l = o->rr_fraction * 100.0 / 256, j = o->rr_jitter * 1000.0 / clock_of(t);
        loss = l > loss ? l : loss;
        jitter = j > jitter ? j : jitter;
    }
    d->loss_percent = loss;
    d->jitter_ms = jitter;
    d->packets = m->down_packets;
    d->bytes = m->down_bytes;
    d->kbps = kbps(d->bytes, m->st_down_bytes, secs);
    m->st_down_bytes = d->bytes;
    d->nacks = m->down_nacks;
    d->retransmissions = m->down_rtx;
    d->keyframe_requests = m->down_kf;
}

size_t cs_router_stats(const cs_router_t *cr, cs_router_member_stats_t *out, size_t cap,
                       int64_t now_us)
{
    if (!cr)
        return 0;
    /* Each call starts a new interval, so the room keeps this call's
     * counters: the room is never a const object, only this view of it. */
    cs_router_t *r = (cs_router_t *)cr;
    cs_router_member_t *ms[CS_ROUTER_MAX_MEMBERS];
    size_t n = rt_members_by_join(r, ms);
    for (size_t i = 0; i < n && out && i < cap; i++) {
        cs_router_member_t *m = ms[i];
        cs_router_member_stats_t *s = &out[i];
        memset(s, 0, sizeof *s);
        cs_strlcpy(s->member_id, m->id, sizeof s->member_id);
        cs_strlcpy(s->name, m->name, sizeof s->name);
        double secs = m->st_at_us >= 0 && now_us > m->st_at_us
                          ? (double)(now_us - m->st_at_us) / 1e6 : 0;
        up_stats(m, &s->up, secs);
        down_stats(m, &s->down, secs);
        s->up.rtt_ms = s->down.rtt_ms = m->rtt_us >= 0 ? (double)m->rtt_us / 1000 : -1;
        s->available_kbps = m->have_remb ? (double)m->remb_bps / 1000 : -1;
        m->st_at_us = now_us;
    }
    return n;
}
