/*
 * peer_rtcp.c — the synthetic peer's RTCP, built and parsed with
 * media/rtcp: about every 500 ms a compound report (an SR per sender that
 * has sent, NTP from the wall clock and the RTP time extrapolated to now,
 * report blocks about what the receivers got — else an RR — and an SDES
 * CNAME), every 20 ms feedback when a receiver asks for it (generic NACK
 * from video receivers, PLI when a decoder wants a keyframe; after an empty
 * RR, so each compound starts with a report), and a BYE at the end. What
 * arrives: NACK → retransmission, PLI/FIR → keyframe, SR → the receiver's
 * LSR, report blocks about our senders → the round-trip time.
 *
 * Audio receivers are not NACKed for, as Chromium does not (Opus has no
 * a=rtcp-fb nack in the offer).
 */
#include <string.h>

#include "common/common.h"
#include "media/rtcp/rtcp.h"
#include "tests/load/peer_internal.h"

#define NACK_IN_MAX 256     /* sequence numbers taken from one NACK packet */

static uint32_t clock_of(lt_kind_t k)
{
    return k == LT_AUDIO ? 48000 : 90000;
}

/* Our SSRC for reports and feedback: the first sender's, else our own. */
static uint32_t local_ssrc(const lt_peer_t *p)
{
    for (size_t i = 0; i < p->n_out; i++)
        if (p->out[i].s && p->out[i].active)
            return p->out[i].ssrc;
    return p->rtcp_ssrc;
}

static void send_compound(lt_peer_t *p, cs_rtcp_builder_t *b)
{
    if (b->len && cs_peer_send_rtcp(p->tp, p->rtcp, b->len, sizeof p->rtcp) > 0)
        p->st.rtcp_sent++;
}

static void builder(lt_peer_t *p, cs_rtcp_builder_t *b)
{
    cs_rtcp_builder_init(b, p->rtcp, sizeof p->rtcp - CS_SRTP_MAX_TRAILER);
}

/* ---- reports -------------------------------------------------------------------------------- */

static uint8_t report_blocks(lt_peer_t *p, int64_t now_us, cs_rtcp_report_block_t *out)
{
    uint8_t n = 0;
    for (size_t i = 0; i < p->n_sec && n < CS_RTCP_MAX_COUNT; i++) {
        const lt_section_t *s = &p->sec[i];
        if (s->receiving && s->receiver >= 0)
            lt_receiver_report_block(p->rx[s->receiver], now_us, &out[n++]);
    }
    return n;
}

/* RTP time of now on the sender's clock, from its last frame's. */
static uint32_t rtp_now(const lt_sender_stats_t *st, lt_kind_t kind, int64_t now_us)
{
    int64_t since = now_us - st->last_send_us;
    if (since < 0)
        since = 0;
    return st->last_rtp_ts + (uint32_t)((uint64_t)since * clock_of(kind) / 1000000);
}

static int append_reports(lt_peer_t *p, cs_rtcp_builder_t *b, int64_t now_us)
{
    cs_rtcp_sr_t sr;
    cs_rtcp_rr_t rr;
    uint64_t ntp = cs_rtcp_ntp_from_unix_us(lt_peer_wall_us());
    cs_rtcp_report_block_t blocks[CS_RTCP_MAX_COUNT];
    uint8_t n_blocks = report_blocks(p, now_us, blocks);
    bool first = true;
    for (size_t i = 0; i < p->n_out; i++) {
        const lt_out_t *o = &p->out[i];
        lt_sender_stats_t st;
        if (!o->s || !o->started)
            continue;
        lt_sender_stats(o->s, &st);
        if (!st.packets)
            continue;
        memset(&sr, 0, sizeof sr);
        sr.ssrc = o->ssrc;
        sr.ntp = ntp;
        sr.rtp_ts = rtp_now(&st, o->kind, now_us);
        sr.packet_count = (uint32_t)st.packets;
        sr.octet_count = (uint32_t)st.bytes;
        if (first) {
            sr.n_reports = n_blocks;
            memcpy(sr.reports, blocks, n_blocks * sizeof blocks[0]);
        }
        if (cs_rtcp_sr_append(b, &sr) < 0)
            return CS_ETOOBIG;
        first = false;
    }
    if (!first)
        return CS_OK;
    memset(&rr, 0, sizeof rr);
    rr.ssrc = p->rtcp_ssrc;
    rr.n_reports = n_blocks;
    memcpy(rr.reports, blocks, n_blocks * sizeof blocks[0]);
    return cs_rtcp_rr_append(b, &rr) < 0 ? CS_ETOOBIG : CS_OK;
}

static void append_sdes(lt_peer_t *p, cs_rtcp_builder_t *b)
{
    cs_rtcp_sdes_t sdes;
    memset(&sdes, 0, sizeof sdes);
    sdes.n_chunks = 1;
    sdes.chunks[0].ssrc = local_ssrc(p);
    sdes.chunks[0].cname = (const uint8_t *)p->cname;
    sdes.chunks[0].cname_len = (uint8_t)strlen(p->cname);
    cs_rtcp_sdes_append(b, &sdes);
}

void lt_peer_rtcp_report(lt_peer_t *p, int64_t now_us)
{
    cs_rtcp_builder_t b;
    builder(p, &b);
    if (append_reports(p, &b, now_us) == CS_OK)
        append_sdes(p, &b);
    send_compound(p, &b);
}

/* ---- feedback ------------------------------------------------------------------------------- */

/* An empty RR first: every compound starts with a report (RFC 3550 §6.1). */
static void feedback_start(lt_peer_t *p, cs_rtcp_builder_t *b)
{
    cs_rtcp_rr_t rr = {.ssrc = local_ssrc(p)};
    builder(p, b);
    cs_rtcp_rr_append(b, &rr);
}

static const size_t EMPTY_RR = 8;

/* Appends a NACK (seqs) or a PLI; when the compound is full, sends it and
 * starts another. */
static void feedback_append(lt_peer_t *p, cs_rtcp_builder_t *b, const cs_rtcp_fb_t *ids,
                            const uint16_t *seqs, size_t n)
{
    for (int tries = 0; tries < 2; tries++) {
        int rc = seqs ? cs_rtcp_nack_append(b, ids, seqs, n) : cs_rtcp_pli_append(b, ids);
        if (rc >= 0 || b->len <= EMPTY_RR)
            return;
        send_compound(p, b);
        feedback_start(p, b);
    }
}

void lt_peer_rtcp_feedback(lt_peer_t *p, int64_t now_us)
{
    cs_rtcp_builder_t b;
    feedback_start(p, &b);
    uint16_t seqs[LT_NACK_MAX];
    for (size_t i = 0; i < p->n_sec; i++) {
        const lt_section_t *s = &p->sec[i];
        if (!s->receiving || s->receiver < 0 || s->kind != LT_VIDEO)
            continue;
        lt_receiver_t *r = p->rx[s->receiver];
        cs_rtcp_fb_t ids = {local_ssrc(p), s->ssrc};
        size_t n = lt_receiver_nacks(r, now_us, seqs, LT_NACK_MAX);
        if (n) {
            feedback_append(p, &b, &ids, seqs, n);
            p->st.nacks_sent += n;
        }
        if (lt_receiver_wants_keyframe(r, now_us)) {
            feedback_append(p, &b, &ids, NULL, 0);
            p->st.plis_sent++;
        }
    }
    if (b.len > EMPTY_RR)
        send_compound(p, &b);
}

void lt_peer_rtcp_bye(lt_peer_t *p)
{
    cs_rtcp_builder_t b;
    feedback_start(p, &b);
    cs_rtcp_bye_t bye;
    memset(&bye, 0, sizeof bye);
    for (size_t i = 0; i < p->n_out && bye.n_ssrcs + 2 <= CS_RTCP_MAX_COUNT; i++) {
        if (!p->out[i].s)
            continue;
        bye.ssrcs[bye.n_ssrcs++] = p->out[i].ssrc;
        if (p->out[i].rtx_ssrc)
            bye.ssrcs[bye.n_ssrcs++] = p->out[i].rtx_ssrc;
    }
    if (!bye.n_ssrcs)
        bye.ssrcs[bye.n_ssrcs++] = p->rtcp_ssrc;
    if (cs_rtcp_bye_append(&b, &bye) >= 0)
        send_compound(p, &b);
}

/* ---- what arrives --------------------------------------------------------------------------- */

/* Report blocks about our senders give the round-trip time (RFC 3550 §6.4.1). */
static void on_blocks(lt_peer_t *p, const cs_rtcp_report_block_t *blocks, uint8_t n)
{
    uint32_t arrival = cs_rtcp_ntp_compact(cs_rtcp_ntp_from_unix_us(lt_peer_wall_us()));
    for (uint8_t i = 0; i < n; i++) {
        int64_t rtt;
        if (!lt_peer_out_by_ssrc(p, blocks[i].ssrc) ||
            cs_rtcp_rtt_us(arrival, blocks[i].lsr, blocks[i].dlsr, &rtt) != CS_OK)
            continue;
        p->rtt_us = rtt > 0 ? rtt : 1;
        for (size_t k = 0; k < p->n_rx; k++)
            lt_receiver_set_rtt(p->rx[k], p->rtt_us);
    }
}

static void on_nack(lt_peer_t *p, const cs_rtcp_pkt_t *pkt, int64_t now_us)
{
    cs_rtcp_fb_t ids;
    uint16_t seqs[NACK_IN_MAX];
    size_t n = 0;
    int rc = cs_rtcp_nack_parse(pkt, &ids, seqs, NACK_IN_MAX, &n);
    lt_out_t *o = lt_peer_out_by_ssrc(p, ids.media_ssrc);
    if ((rc != CS_OK && rc != CS_ETOOBIG) || !o)
        return;
    p->st.nacks_received += n;
    for (size_t i = 0; i < n; i++)
        lt_sender_retransmit(o->s, seqs[i], now_us, lt_peer_emit, p);
}

static void keyframe_for(lt_peer_t *p, uint32_t ssrc)
{
    lt_out_t *o = lt_peer_out_by_ssrc(p, ssrc);
    if (!o)
        return;
    p->st.plis_received++;
    lt_sender_request_keyframe(o->s);
}

static void on_psfb(lt_peer_t *p, const cs_rtcp_pkt_t *pkt)
{
    if (pkt->count == CS_RTCP_FMT_PLI) {
        cs_rtcp_fb_t ids;
        if (cs_rtcp_pli_parse(pkt, &ids) == CS_OK)
            keyframe_for(p, ids.media_ssrc);
    } else if (pkt->count == CS_RTCP_FMT_FIR) {
        cs_rtcp_fir_t fir;
        if (cs_rtcp_fir_parse(pkt, &fir) == CS_OK)
            for (uint8_t i = 0; i < fir.n; i++)
                keyframe_for(p, fir.entries[i].ssrc);
    }
}

static void on_report(lt_peer_t *p, const cs_rtcp_pkt_t *pkt, int64_t now_us)
{
    cs_rtcp_sr_t sr;
    cs_rtcp_rr_t rr;
    if (pkt->type == CS_RTCP_SR && cs_rtcp_sr_parse(pkt, &sr) == CS_OK) {
        lt_receiver_t *r = lt_peer_receiver_by_ssrc(p, sr.ssrc);
        if (r)
            lt_receiver_on_sr(r, &sr, now_us);
        on_blocks(p, sr.reports, sr.n_reports);
    } else if (pkt->type == CS_RTCP_RR && cs_rtcp_rr_parse(pkt, &rr) == CS_OK) {
        on_blocks(p, rr.reports, rr.n_reports);
    }
}

void lt_peer_rtcp_in(lt_peer_t *p, const uint8_t *buf, size_t len, int64_t now_us)
{
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t pkt;
    cs_rtcp_iter_init(&it, buf, len);
    while (cs_rtcp_iter_next(&it, &pkt) == 1) {
        if (pkt.type == CS_RTCP_SR || pkt.type == CS_RTCP_RR)
            on_report(p, &pkt, now_us);
        else if (pkt.type == CS_RTCP_RTPFB && pkt.count == CS_RTCP_FMT_NACK)
            on_nack(p, &pkt, now_us);
        else if (pkt.type == CS_RTCP_PSFB)
            on_psfb(p, &pkt);
    }
}
