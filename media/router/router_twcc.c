/*
 * router_twcc.c — transport-wide congestion control feedback to publishers
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01), so Chromium's and
 * Firefox's send-side bandwidth estimation work through the gateway.
 *
 * Every packet from a member carrying the transport-wide sequence number
 * (RTX and padding probes included: probing is how the sender's estimate
 * grows) has its arrival time recorded in a ring by that number; every
 * RT_TWCC_INTERVAL_US the tick reports what arrived since the last feedback,
 * at most RT_TWCC_PER_FB packets per feedback packet. Numbers reported as
 * lost that arrive later are not reported again.
 */
#include "media/router/internal.h"

#include <string.h>

#define RT_TWCC_PER_FB 256          /* keeps one feedback packet well under the MTU */
#define RT_TWCC_MAX_FB 4            /* feedback packets per flush */
#define REF_UNIT_US CS_RTCP_TWCC_REF_US
#define DELTA_MIN_US (-8192000)
#define DELTA_MAX_US 8191750

void rt_twcc_reset(rt_twcc_t *tw)
{
    uint8_t id = tw->id;
    memset(tw, 0, sizeof *tw);
    tw->id = id;
    for (unsigned i = 0; i < RT_TWCC_RING; i++)
        tw->arrival[i] = -1;
}

static void forget(rt_twcc_t *tw, uint16_t from, unsigned n)
{
    if (n > RT_TWCC_RING)
        n = RT_TWCC_RING;
    for (unsigned i = 0; i < n; i++)
        tw->arrival[(uint16_t)(from + i) % RT_TWCC_RING] = -1;
}

void rt_twcc_record(cs_router_t *r, cs_router_member_t *m, const rt_track_t *t,
                    const cs_rtp_packet_t *p, int64_t now)
{
    rt_twcc_t *tw = &m->twcc;
    cs_rtp_ext_t e;
    uint16_t s;
    if (!t->ext.twcc || cs_rtp_ext_find(p, t->ext.twcc, &e) != CS_OK ||
        cs_rtp_ext_twcc_seq(&e, &s) != CS_OK)
        return;
    if (!tw->have) {
        tw->have = true;
        tw->base = tw->max = s;
    }
    int32_t d = cs_rtp_seq_diff(s, tw->base);
    if (d < 0)
        return;                     /* already reported */
    if (d >= RT_TWCC_RING) {
        /* Far ahead of the last feedback: give up the oldest unreported. */
        uint16_t nb = (uint16_t)(s - (RT_TWCC_RING - 1));
        forget(tw, tw->base, (unsigned)cs_rtp_seq_diff(nb, tw->base));
        tw->base = nb;
        if (cs_rtp_seq_diff(tw->max, nb) < 0)
            tw->max = nb;
    }
    if (cs_rtp_seq_diff(s, tw->max) > 0)
        tw->max = s;
    int64_t *a = &tw->arrival[s % RT_TWCC_RING];
    if (*a < 0)
        *a = now - r->epoch_us >= 0 ? now - r->epoch_us : 0;
}

static uint32_t media_ssrc(const cs_router_member_t *m)
{
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++)
            if (m->tracks[k].layers[l].has_ssrc)
                return m->tracks[k].layers[l].ssrc;
    return 0;
}

/* One feedback packet from tw->base; returns the packets it covers (0: none). */
static unsigned feedback(cs_router_t *r, cs_router_member_t *m)
{
    rt_twcc_t *tw = &m->twcc;
    int32_t span = cs_rtp_seq_diff(tw->max, tw->base) + 1;
    if (span <= 0)
        return 0;
    unsigned n = (unsigned)span < RT_TWCC_PER_FB ? (unsigned)span : RT_TWCC_PER_FB;
    cs_rtcp_twcc_pkt_t pkts[RT_TWCC_PER_FB];
    int64_t first = -1, prev = 0;
    unsigned count = 0;
    for (; count < n; count++) {
        uint16_t seq = (uint16_t)(tw->base + count);
        int64_t a = tw->arrival[seq % RT_TWCC_RING];
        pkts[count] = (cs_rtcp_twcc_pkt_t){.seq = seq, .received = a >= 0};
        if (a < 0)
            continue;
        a -= a % CS_RTCP_TWCC_DELTA_US;
        if (first < 0)
            prev = first = a - a % REF_UNIT_US;
        int64_t delta = a - prev;
        if (delta < DELTA_MIN_US || delta > DELTA_MAX_US)
            break;                  /* the next feedback starts here */
        pkts[count].delta_us = (int32_t)delta;
        prev = a;
    }
    if (first < 0 || count == 0)
        return 0;                   /* nothing arrived yet: wait */
    /* 24-bit signed reference time, wrapping as receivers expect. */
    int64_t ref = (first / REF_UNIT_US) & 0xFFFFFF;
    cs_rtcp_twcc_t h = {
        .sender_ssrc = m->local_ssrc,
        .media_ssrc = media_ssrc(m),
        .base_seq = tw->base,
        .reference_time = (int32_t)(ref >= 0x800000 ? ref - 0x1000000 : ref),
        .fb_count = tw->fb_count,
    };
    cs_rtcp_builder_t b;
    rt_fb_begin(r, m, &b);
    if (cs_rtcp_twcc_append(&b, &h, pkts, count) <= 0)
        return 0;
    tw->fb_count++;
    forget(tw, tw->base, count);
    tw->base = (uint16_t)(tw->base + count);
    rt_send_rtcp(r, m, &b);
    return count;
}

void rt_twcc_flush(cs_router_t *r, cs_router_member_t *m, int64_t now)
{
    (void)now;
    if (!m->twcc.id || !m->twcc.have)
        return;
    for (unsigned i = 0; i < RT_TWCC_MAX_FB && cs_rtp_seq_diff(m->twcc.max, m->twcc.base) >= 0;
         i++)
        if (!feedback(r, m))
            break;
}
