/*
 * rtcp_fb.c — the feedback a router reads from subscribers and sends to
 * publishers (RFC 4585, RFC 5104): generic NACK (retransmit these packets),
 * PLI and FIR (send a keyframe), and REMB (a receiver's bandwidth estimate).
 */
#include "rtcp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

#define FB_COMMON_LEN 8     /* sender SSRC, media SSRC */

static void fb_ids(const cs_rtcp_pkt_t *p, cs_rtcp_fb_t *ids)
{
    ids->sender_ssrc = cs_rd32(p->body);
    ids->media_ssrc = cs_rd32(p->body + 4);
}

/* ---- generic NACK (RFC 4585 §6.2.1) ------------------------------------------------ */

int cs_rtcp_nack_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fb_t *ids, uint16_t *seqs, size_t cap,
                       size_t *n)
{
    if (!n || (cap && !seqs) || !rtcp_is(p, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, FB_COMMON_LEN + 4) ||
        (p->body_len - FB_COMMON_LEN) % 4)
        return CS_EINVAL;
    if (ids)
        fb_ids(p, ids);
    *n = 0;
    for (size_t pos = FB_COMMON_LEN; pos < p->body_len; pos += 4) {
        uint16_t pid = cs_rd16(p->body + pos);
        uint16_t blp = cs_rd16(p->body + pos + 2);
        if (*n == cap)
            return CS_ETOOBIG;
        seqs[(*n)++] = pid;
        for (int bit = 0; bit < 16; bit++) {
            if (!(blp & (1u << bit)))
                continue;
            if (*n == cap)
                return CS_ETOOBIG;
            seqs[(*n)++] = (uint16_t)(pid + bit + 1);
        }
    }
    return CS_OK;
}

/* Packs seqs into (PID, BLP) pairs; writes them to fci when it is not NULL.
 * Returns the number of pairs. */
static size_t nack_pack(const uint16_t *seqs, size_t n, uint8_t *fci)
{
    size_t pairs = 0, i = 0;
    while (i < n) {
        uint16_t pid = seqs[i++], blp = 0;
        for (; i < n; i++) {
            uint16_t d = (uint16_t)(seqs[i] - pid);
            if (d > 16)
                break;
            if (d > 0)
                blp |= (uint16_t)(1u << (d - 1));
        }
        if (fci) {
            cs_wr16(fci + pairs * 4, pid);
            cs_wr16(fci + pairs * 4 + 2, blp);
        }
        pairs++;
    }
    return pairs;
}

int cs_rtcp_nack_append(cs_rtcp_builder_t *b, const cs_rtcp_fb_t *ids, const uint16_t *seqs,
                        size_t n)
{
    if (!ids || !seqs || n == 0)
        return CS_EINVAL;
    size_t pairs = nack_pack(seqs, n, NULL);
    if (pairs > (RTCP_MAX_PACKET - CS_RTCP_HEADER_LEN - FB_COMMON_LEN) / 4)
        return CS_ETOOBIG;
    size_t size = CS_RTCP_HEADER_LEN + FB_COMMON_LEN + pairs * 4;
    uint8_t *p = rtcp_begin(b, size, CS_RTCP_FMT_NACK, CS_RTCP_RTPFB);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, ids->sender_ssrc);
    cs_wr32(p + 8, ids->media_ssrc);
    nack_pack(seqs, n, p + 12);
    return rtcp_commit(b, size);
}

/* ---- PLI (RFC 4585 §6.3.1) ------------------------------------------------------------ */

int cs_rtcp_pli_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fb_t *out)
{
    if (!out || !rtcp_is(p, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, FB_COMMON_LEN))
        return CS_EINVAL;
    fb_ids(p, out);
    return CS_OK;
}

int cs_rtcp_pli_append(cs_rtcp_builder_t *b, const cs_rtcp_fb_t *ids)
{
    if (!ids)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN + FB_COMMON_LEN;
    uint8_t *p = rtcp_begin(b, size, CS_RTCP_FMT_PLI, CS_RTCP_PSFB);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, ids->sender_ssrc);
    cs_wr32(p + 8, ids->media_ssrc);
    return rtcp_commit(b, size);
}

/* ---- FIR (RFC 5104 §4.3.1) ------------------------------------------------------------ */

#define FIR_ENTRY_LEN 8     /* SSRC, seq nr, 3 reserved bytes */

int cs_rtcp_fir_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fir_t *out)
{
    /* The media SSRC of the common header is unused (0) in a FIR. */
    if (!out || !rtcp_is(p, CS_RTCP_PSFB, CS_RTCP_FMT_FIR, FB_COMMON_LEN + FIR_ENTRY_LEN) ||
        (p->body_len - FB_COMMON_LEN) % FIR_ENTRY_LEN)
        return CS_EINVAL;
    size_t n = (p->body_len - FB_COMMON_LEN) / FIR_ENTRY_LEN;
    if (n > CS_RTCP_FIR_MAX)
        return CS_ETOOBIG;
    out->sender_ssrc = cs_rd32(p->body);
    out->n = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = p->body + FB_COMMON_LEN + i * FIR_ENTRY_LEN;
        out->entries[i].ssrc = cs_rd32(e);
        out->entries[i].seq = e[4];
    }
    return CS_OK;
}

int cs_rtcp_fir_append(cs_rtcp_builder_t *b, const cs_rtcp_fir_t *fir)
{
    if (!fir || fir->n == 0 || fir->n > CS_RTCP_FIR_MAX)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN + FB_COMMON_LEN + (size_t)fir->n * FIR_ENTRY_LEN;
    uint8_t *p = rtcp_begin(b, size, CS_RTCP_FMT_FIR, CS_RTCP_PSFB);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, fir->sender_ssrc);
    for (int i = 0; i < fir->n; i++) {
        cs_wr32(p + 12 + i * FIR_ENTRY_LEN, fir->entries[i].ssrc);
        p[16 + i * FIR_ENTRY_LEN] = fir->entries[i].seq;
    }
    return rtcp_commit(b, size);
}

/* ---- REMB (draft-alvestrand-rmcat-remb-03 §2.2) ------------------------------------------ */

#define REMB_FIXED_LEN 8    /* 'REMB', num SSRC | exp (6) | mantissa (18) */

int cs_rtcp_remb_parse(const cs_rtcp_pkt_t *p, cs_rtcp_remb_t *out)
{
    if (!out || !rtcp_is(p, CS_RTCP_PSFB, CS_RTCP_FMT_AFB, FB_COMMON_LEN))
        return CS_EINVAL;
    const uint8_t *f = p->body + FB_COMMON_LEN;
    size_t flen = p->body_len - FB_COMMON_LEN;
    if (flen < 4 || memcmp(f, "REMB", 4) != 0)
        return CS_EUNSUPPORTED;
    if (flen < REMB_FIXED_LEN)
        return CS_EINVAL;
    uint8_t n = f[4];
    uint8_t exp = f[5] >> 2;
    uint64_t mantissa = cs_rd24(f + 5) & 0x3FFFF;
    if (flen - REMB_FIXED_LEN < (size_t)n * 4 || ((mantissa << exp) >> exp) != mantissa)
        return CS_EINVAL;
    out->sender_ssrc = cs_rd32(p->body);
    out->bitrate_bps = mantissa << exp;
    out->n_ssrcs = 0;
    if (n > CS_RTCP_REMB_MAX_SSRCS)
        return CS_ETOOBIG;          /* the estimate is good; its list is not kept */
    out->n_ssrcs = n;
    for (int i = 0; i < n; i++)
        out->ssrcs[i] = cs_rd32(f + REMB_FIXED_LEN + 4 * i);
    return CS_OK;
}

int cs_rtcp_remb_append(cs_rtcp_builder_t *b, const cs_rtcp_remb_t *remb)
{
    if (!remb || remb->n_ssrcs > CS_RTCP_REMB_MAX_SSRCS)
        return CS_EINVAL;
    uint32_t exp = 0;
    while (exp < 63 && (remb->bitrate_bps >> exp) > 0x3FFFF)
        exp++;
    uint32_t mantissa = (uint32_t)(remb->bitrate_bps >> exp);
    size_t size = CS_RTCP_HEADER_LEN + FB_COMMON_LEN + REMB_FIXED_LEN + (size_t)remb->n_ssrcs * 4;
    uint8_t *p = rtcp_begin(b, size, CS_RTCP_FMT_AFB, CS_RTCP_PSFB);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, remb->sender_ssrc);     /* media SSRC stays 0, as the draft says */
    memcpy(p + 12, "REMB", 4);
    p[16] = remb->n_ssrcs;
    cs_wr24(p + 17, exp << 18 | mantissa);
    for (int i = 0; i < remb->n_ssrcs; i++)
        cs_wr32(p + 20 + 4 * i, remb->ssrcs[i]);
    return rtcp_commit(b, size);
}
