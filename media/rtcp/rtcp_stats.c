/*
 * rtcp_stats.c — the numbers inside reports: NTP time as SRs carry it, the
 * round-trip time a sender derives from an RR's LSR and DLSR (RFC 3550
 * §6.4.1), and the loss figures of a report block (RFC 3550 A.3) computed from
 * the RTP module's sequence tracker and jitter estimator.
 */
#include "rtcp.h"

#include "common/common.h"
#include "internal.h"

/* Seconds from 1900-01-01 (NTP era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800ULL

uint64_t cs_rtcp_ntp_from_unix_us(int64_t unix_us)
{
    /* Floor division, so times before 1970 still map correctly. */
    int64_t sec = unix_us / 1000000, us = unix_us % 1000000;
    if (us < 0) {
        us += 1000000;
        sec--;
    }
    uint64_t frac = ((uint64_t)us << 32) / 1000000;
    return (uint64_t)(sec + (int64_t)NTP_UNIX_OFFSET) << 32 | frac;
}

int64_t cs_rtcp_ntp_to_unix_us(uint64_t ntp)
{
    int64_t sec = (int64_t)(ntp >> 32) - (int64_t)NTP_UNIX_OFFSET;
    uint64_t frac = ntp & 0xFFFFFFFFu;
    /* Round to the nearest microsecond so to/from round-trips exactly. */
    return sec * 1000000 + (int64_t)((frac * 1000000 + (1ULL << 31)) >> 32);
}

uint32_t cs_rtcp_ntp_compact(uint64_t ntp)
{
    return (uint32_t)(ntp >> 16);
}

uint32_t cs_rtcp_dlsr_from_us(int64_t delay_us)
{
    if (delay_us <= 0)
        return 0;
    /* 65536 units a second; beyond 65535 s the field saturates. */
    uint64_t v = ((uint64_t)delay_us << 16) / 1000000;
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

int cs_rtcp_rtt_us(uint32_t arrival_compact, uint32_t lsr, uint32_t dlsr, int64_t *rtt_us)
{
    if (!rtt_us)
        return CS_EINVAL;
    if (lsr == 0)
        return CS_ENOTFOUND;
    /* Compact NTP wraps every 18 hours; the difference is what counts. */
    int32_t rtt = (int32_t)(arrival_compact - lsr - dlsr);
    *rtt_us = rtt <= 0 ? 0 : ((int64_t)rtt * 1000000) >> 16;
    return CS_OK;
}

uint8_t cs_rtcp_fraction_lost(uint64_t expected_interval, uint64_t received_interval)
{
    if (expected_interval == 0 || received_interval >= expected_interval)
        return 0;
    uint64_t lost = expected_interval - received_interval;
    uint64_t f = (lost << 8) / expected_interval;
    return f > 255 ? 255 : (uint8_t)f;
}

int32_t cs_rtcp_clamp_lost(int64_t lost)
{
    if (lost > 0x7FFFFF)
        return 0x7FFFFF;
    if (lost < -0x800000)
        return -0x800000;
    return (int32_t)lost;
}

void cs_rtcp_report_from_seq(cs_rtcp_report_block_t *rb, uint32_t ssrc, cs_rtp_seqtrack_t *t,
                             const cs_rtp_jitter_t *j)
{
    uint64_t expected = cs_rtp_seqtrack_expected(t);
    uint64_t received = t->received;
    rb->ssrc = ssrc;
    rb->ext_highest_seq = (uint32_t)cs_rtp_seqtrack_ext_max(t);
    rb->cumulative_lost = cs_rtcp_clamp_lost((int64_t)expected - (int64_t)received);
    rb->fraction_lost = cs_rtcp_fraction_lost(expected - t->expected_prior,
                                              received - t->received_prior);
    t->expected_prior = expected;
    t->received_prior = received;
    rb->jitter = j ? cs_rtp_jitter_get(j) : 0;
    rb->lsr = 0;
    rb->dlsr = 0;
}
