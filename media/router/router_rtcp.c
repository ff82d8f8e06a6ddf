/*
 * router_rtcp.c — RTCP between the router and its members, except TWCC
 * (router_twcc.c) and keyframe requests (router_simulcast.c):
 *  - in: SRs from publishers (for our RR's LSR/DLSR and the SR timestamps
 *    we send on), report blocks from subscribers (their loss and jitter, the
 *    RTT against our SRs), NACKs answered from the retransmission rings,
 *    PLI/FIR passed on to the publisher, REMB for layer choice;
 *  - out: once a second per member one compound of an SR per stream we send
 *    it, an RR on every stream it publishes and an SDES CNAME; and NACKs to
 *    publishers for the gaps in what they send.
 */
#include "media/router/internal.h"

#include <string.h>

/* ---- reception reports and sender reports in -------------------------------------------- */

static rt_in_t *in_by_ssrc(cs_router_member_t *m, uint32_t ssrc)
{
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++)
            if (m->tracks[k].layers[l].has_ssrc && m->tracks[k].layers[l].ssrc == ssrc)
                return &m->tracks[k].layers[l];
    return NULL;
}

static uint32_t compact_now(const cs_router_t *r, int64_t now)
{
    return cs_rtcp_ntp_compact(cs_rtcp_ntp_from_unix_us(now + r->wall_offset_us));
}

static void on_blocks(cs_router_t *r, cs_router_member_t *m, const cs_rtcp_report_block_t *rb,
                      unsigned n, int64_t now)
{
    for (unsigned i = 0; i < n; i++) {
        rt_out_t *o = rt_out_by_ssrc(m, rb[i].ssrc);
        if (!o)
            continue;
        o->have_rr = true;
        o->rr_fraction = rb[i].fraction_lost;
        o->rr_jitter = rb[i].jitter;
        int64_t rtt;
        /* Only an LSR we sent gives a true RTT. */
        if (rb[i].lsr && (rb[i].lsr == o->sr_lsr[0] || rb[i].lsr == o->sr_lsr[1]) &&
            cs_rtcp_rtt_us(compact_now(r, now), rb[i].lsr, rb[i].dlsr, &rtt) == CS_OK)
            m->rtt_us = rtt;
    }
}

static void on_sr(cs_router_t *r, cs_router_member_t *m, const cs_rtcp_sr_t *sr, int64_t now)
{
    rt_in_t *in = in_by_ssrc(m, sr->ssrc);
    if (in) {
        in->have_sr = true;
        in->sr_lsr = cs_rtcp_ntp_compact(sr->ntp);
        in->sr_rtp = sr->rtp_ts;
        in->sr_arrival_us = now;
    }
    on_blocks(r, m, sr->reports, sr->n_reports, now);
}

/* ---- NACK from a subscriber ------------------------------------------------------------------- */

/* The segment an outgoing sequence number belongs to (newest first). */
static const rt_segment_t *segment_of(const rt_out_t *o, uint16_t seq)
{
    for (unsigned i = 0; i < RT_SEGMENTS; i++) {
        const rt_segment_t *g = &o->segs[(o->seg_head + RT_SEGMENTS - i) % RT_SEGMENTS];
        if (!g->used)
            return NULL;
        if (cs_rtp_seq_diff(seq, g->first_out) >= 0)
            return g;
    }
    return NULL;
}

static void retransmit(cs_router_t *r, cs_router_member_t *s, rt_out_t *o, uint16_t seq,
                       int64_t now)
{
    rt_track_t *t = rt_out_track(o);
    if (!t || !o->started || cs_rtp_seq_diff(seq, o->last_seq) > 0)
        return;
    const rt_segment_t *g = segment_of(o, seq);
    if (!g || g->layer >= t->n_layers || g->epoch != t->layers[g->layer].epoch)
        return;
    size_t len;
    const uint8_t *stored = rt_ring_get(&t->layers[g->layer], (uint16_t)(seq - g->seq_offset), &len);
    cs_rtp_packet_t p;
    if (!stored || cs_rtp_parse(stored, len, &p) != CS_OK)
        return;
    int ci = rt_codec_index(t, p.hdr.payload_type);
    if (ci < 0)
        return;
    int n = rt_rewrite(r, o, t, ci, &p, seq, p.hdr.timestamp + g->ts_offset, now);
    if (n > 0 && o->rtx_ssrc && o->rtx_map[ci] >= 0)
        n = cs_rtp_rtx_wrap(r->scratch, (size_t)n, (uint8_t)o->rtx_map[ci], o->rtx_ssrc,
                            o->rtx_seq++, r->scratch, RT_OUT_MAX + 2);
    if (n <= 0 || !s->connected)
        return;
    o->retransmissions++;
    s->down_rtx++;
    r->c.retransmissions++;
    r->c.rtp_out++;
    r->cb.send_rtp(r->user, s->user, r->scratch, (size_t)n, RT_SCRATCH);
}

static bool on_nack(cs_router_t *r, cs_router_member_t *m, const cs_rtcp_pkt_t *p, int64_t now)
{
    uint16_t seqs[RT_NACK_IN_MAX];
    size_t n;
    cs_rtcp_fb_t ids;
    int rc = cs_rtcp_nack_parse(p, &ids, seqs, RT_NACK_IN_MAX, &n);
    if (rc != CS_OK && rc != CS_ETOOBIG)
        return false;
    rt_out_t *o = rt_out_by_ssrc(m, ids.media_ssrc);
    if (!o)
        return true;
    m->down_nacks += n;
    r->c.nacks_in += n;
    for (size_t i = 0; i < n; i++)
        retransmit(r, m, o, seqs[i], now);
    return true;
}

/* ---- PLI, FIR, REMB from a subscriber ------------------------------------------------------------ */

static void on_keyframe_wanted(cs_router_t *r, cs_router_member_t *m, uint32_t media_ssrc,
                               int64_t now)
{
    rt_out_t *o = rt_out_by_ssrc(m, media_ssrc);
    rt_track_t *t = o ? rt_out_track(o) : NULL;
    if (!t || t->info.kind != CS_ROUTER_VIDEO)
        return;
    m->down_kf++;
    rt_keyframe_request(r, t, o->cur_layer >= 0 ? o->cur_layer : o->target_layer, now);
}


/* Whether a REMB's SSRC list names one of the audio streams we send m (an
 * empty list is taken to cover everything). */
static bool remb_lists_audio(const cs_router_member_t *m, const cs_rtcp_remb_t *remb)
{
    if (remb->n_ssrcs == 0)
        return true;
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        const rt_out_t *o = &m->outs[k];
        const rt_track_t *t = rt_out_track(o);
        if (!t || !o->assigned || t->info.kind != CS_ROUTER_AUDIO)
            continue;
        for (unsigned i = 0; i < remb->n_ssrcs; i++)
            if (remb->ssrcs[i] == o->ssrc)
                return true;
    }
    return false;
}

static bool on_psfb(cs_router_t *r, cs_router_member_t *m, const cs_rtcp_pkt_t *p, int64_t now)
{
    if (p->count == CS_RTCP_FMT_PLI) {
        cs_rtcp_fb_t ids;
        if (cs_rtcp_pli_parse(p, &ids) != CS_OK)
            return false;
        on_keyframe_wanted(r, m, ids.media_ssrc, now);
    } else if (p->count == CS_RTCP_FMT_FIR) {
        cs_rtcp_fir_t fir;
        int rc = cs_rtcp_fir_parse(p, &fir);
        if (rc != CS_OK)
            return false;
        for (unsigned i = 0; i < fir.n; i++)
            on_keyframe_wanted(r, m, fir.entries[i].ssrc, now);
    } else if (p->count == CS_RTCP_FMT_AFB) {
        cs_rtcp_remb_t remb;
        int rc = cs_rtcp_remb_parse(p, &remb);
        if (rc == CS_EUNSUPPORTED)
            return true;            /* someone else's application feedback */
        if (rc != CS_OK && rc != CS_ETOOBIG)
            return false;
        m->have_remb = true;
        m->remb_bps = remb.bitrate_bps;
        m->remb_has_audio = remb_lists_audio(m, &remb);
        rt_layers_select(r, m, now);
    }
    return true;
}

void rt_rtcp_in(cs_router_t *r, cs_router_member_t *m, const uint8_t *buf, size_t len,
                int64_t now)
{
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t p;
    int rc;
    bool ok = true;
    cs_rtcp_iter_init(&it, buf, len);
    while ((rc = cs_rtcp_iter_next(&it, &p)) == 1) {
        if (p.type == CS_RTCP_SR) {
            cs_rtcp_sr_t sr;
            if (cs_rtcp_sr_parse(&p, &sr) == CS_OK)
                on_sr(r, m, &sr, now);
            else
                ok = false;
        } else if (p.type == CS_RTCP_RR) {
            cs_rtcp_rr_t rr;
            if (cs_rtcp_rr_parse(&p, &rr) == CS_OK)
                on_blocks(r, m, rr.reports, rr.n_reports, now);
            else
                ok = false;
        } else if (p.type == CS_RTCP_RTPFB && p.count == CS_RTCP_FMT_NACK) {
            ok &= on_nack(r, m, &p, now);
        } else if (p.type == CS_RTCP_PSFB) {
            ok &= on_psfb(r, m, &p, now);
        }
        /* TWCC feedback (not negotiated on what we send), SDES, BYE, APP: ignored. */
    }
    if (rc < 0 || !ok || len == 0)
        r->c.dropped_malformed++;
}

/* ---- reports out ------------------------------------------------------------------------------ */

/* Our SR timestamp: from the publisher's SR when we have one for what we
 * forward (keeps audio and video of one publisher in sync), else from the
 * last packet sent. */
static uint32_t sr_timestamp(const rt_out_t *o, const rt_track_t *t, int64_t now)
{
    uint32_t clock = 90000;
    for (unsigned i = 0; i < t->n_codecs; i++)
        if (!t->codecs[i].is_rtx) {
            clock = t->codecs[i].clock;
            break;
        }
    const rt_segment_t *g = &o->segs[o->seg_head];
    if (g->used && g->layer < t->n_layers) {
        const rt_in_t *in = &t->layers[g->layer];
        if (in->have_sr && in->epoch == g->epoch)
            return in->sr_rtp + g->ts_offset + rt_ts_elapsed(now - in->sr_arrival_us, clock);
    }
    return o->last_ts + rt_ts_elapsed(now - o->last_us, clock);
}

static void sdes_add(cs_rtcp_sdes_t *sdes, uint32_t ssrc)
{
    if (sdes->n_chunks >= CS_RTCP_MAX_COUNT)
        return;
    cs_rtcp_sdes_chunk_t *c = &sdes->chunks[sdes->n_chunks++];
    c->ssrc = ssrc;
    c->cname = (const uint8_t *)RT_CNAME;
    c->cname_len = (uint8_t)(sizeof RT_CNAME - 1);
}

static unsigned append_srs(cs_router_t *r, cs_router_member_t *m, cs_rtcp_builder_t *b,
                           cs_rtcp_sdes_t *sdes, int64_t now)
{
    uint64_t ntp = cs_rtcp_ntp_from_unix_us(now + r->wall_offset_us);
    unsigned n = 0;
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        rt_out_t *o = &m->outs[k];
        const rt_track_t *t = rt_out_track(o);
        if (!t || !o->assigned || !o->started || !o->packets)
            continue;
        cs_rtcp_sr_t sr = {
            .ssrc = o->ssrc,
            .ntp = ntp,
            .rtp_ts = sr_timestamp(o, t, now),
            .packet_count = (uint32_t)o->packets,
            .octet_count = (uint32_t)o->octets,
        };
        if (cs_rtcp_sr_append(b, &sr) < 0)
            break;
        o->sr_lsr[1] = o->sr_lsr[0];
        o->sr_lsr[0] = cs_rtcp_ntp_compact(ntp);
        sdes_add(sdes, o->ssrc);
        n++;
    }
    return n;
}

void rt_reports(cs_router_t *r, cs_router_member_t *m, int64_t now)
{
    cs_rtcp_builder_t b;
    cs_rtcp_sdes_t sdes = {0};
    cs_rtcp_rr_t rr = {.ssrc = m->local_ssrc};
    cs_rtcp_builder_init(&b, r->rtcp, CS_ROUTER_PACKET_MAX);
    unsigned n_sr = append_srs(r, m, &b, &sdes, now);
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++) {
            rt_in_t *in = &m->tracks[k].layers[l];
            if (!in->has_ssrc || !in->seq.received || rr.n_reports >= CS_RTCP_MAX_COUNT)
                continue;
            cs_rtcp_report_block_t *rb = &rr.reports[rr.n_reports++];
            cs_rtcp_report_from_seq(rb, in->ssrc, &in->seq, &in->jitter);
            if (in->have_sr) {
                rb->lsr = in->sr_lsr;
                rb->dlsr = cs_rtcp_dlsr_from_us(now - in->sr_arrival_us);
            }
        }
    if (!n_sr && !rr.n_reports)
        return;
    if (rr.n_reports || !n_sr) {
        if (cs_rtcp_rr_append(&b, &rr) > 0)
            sdes_add(&sdes, m->local_ssrc);
    }
    cs_rtcp_sdes_append(&b, &sdes);
    rt_send_rtcp(r, m, &b);
}

/* ---- NACKs to a publisher ---------------------------------------------------------------------- */

static void nack_remove(rt_in_t *in, uint16_t seq)
{
    for (unsigned i = 0; i < in->n_nacks; i++)
        if (in->nacks[i].seq == seq) {
            memmove(&in->nacks[i], &in->nacks[i + 1], (in->n_nacks - i - 1) * sizeof in->nacks[0]);
            in->n_nacks--;
            return;
        }
}

static void nack_add(rt_in_t *in, uint16_t seq, int64_t now)
{
    if (in->n_nacks == RT_NACK_MAX) {   /* the oldest is the least likely to help */
        memmove(&in->nacks[0], &in->nacks[1], (RT_NACK_MAX - 1) * sizeof in->nacks[0]);
        in->n_nacks--;
    }
    in->nacks[in->n_nacks++] = (rt_nack_t){.seq = seq, .first_us = now};
}

/* Every original packet: the highest sequence number so far, gaps to ask for
 * (when the publisher answers NACKs), holes filled. */
void rt_nack_note(rt_track_t *t, rt_in_t *in, uint16_t seq, int64_t now)
{
    if (!in->have_max) {
        in->have_max = true;
        in->max_seq = seq;
        return;
    }
    int32_t d = cs_rtp_seq_diff(seq, in->max_seq);
    if (d <= 0) {
        nack_remove(in, seq);
        return;
    }
    if (t->nack && d > 1) {
        if (d - 1 > RT_NACK_MAX)
            in->n_nacks = 0;        /* a burst NACKs cannot fix: keyframes will */
        else
            for (uint16_t q = (uint16_t)(in->max_seq + 1); q != seq; q++)
                nack_add(in, q, now);
    }
    in->max_seq = seq;
}

void rt_nack_upstream(cs_router_t *r, cs_router_member_t *m, int64_t now)
{
    cs_rtcp_builder_t b;
    rt_fb_begin(r, m, &b);
    int64_t retry = m->rtt_us > 0 ? m->rtt_us * 5 / 4 : RT_NACK_RETRY_US;
    if (retry < 20000)
        retry = 20000;
    uint64_t total = 0;
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++) {
            rt_in_t *in = &m->tracks[k].layers[l];
            uint16_t seqs[RT_NACK_MAX];
            unsigned n = 0, keep = 0;
            for (unsigned i = 0; i < in->n_nacks; i++) {
                rt_nack_t e = in->nacks[i];
                if (now - e.first_us > RT_NACK_GIVE_UP_US || e.tries >= RT_NACK_MAX_TRIES)
                    continue;
                if (!e.tries || now - e.sent_us >= retry) {
                    seqs[n++] = e.seq;
                    e.tries++;
                    e.sent_us = now;
                }
                in->nacks[keep++] = e;
            }
            in->n_nacks = (uint8_t)keep;
            cs_rtcp_fb_t ids = {m->local_ssrc, in->ssrc};
            if (n && in->has_ssrc && cs_rtcp_nack_append(&b, &ids, seqs, n) > 0)
                total += n;
        }
    if (!total)
        return;
    m->up_nacks += total;
    r->c.nacks_out += total;
    rt_send_rtcp(r, m, &b);
}
