/*
 * rtcp_twcc.c — transport-wide congestion control feedback
 * (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), the RTPFB FMT 15
 * packet a receiver sends so the sender's bandwidth estimator learns when each
 * packet arrived:
 *
 *   sender SSRC | media SSRC | base seq (16) | packet status count (16) |
 *   reference time (24, signed, 64 ms) | fb pkt count (8) |
 *   packet chunks (16 bits each) | receive deltas | zero padding
 *
 * A chunk is run-length (T=0: 2-bit symbol, 13-bit run) or a status vector
 * (T=1, S=0: fourteen 1-bit symbols; S=1: seven 2-bit symbols). Symbols:
 * 0 not received, 1 received with a 1-byte delta (0..255 ticks of 250 µs),
 * 2 received with a 2-byte signed delta, 3 reserved.
 */
#include "rtcp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

#define TWCC_FIXED_LEN 16   /* the two SSRCs .. fb pkt count */
#define RUN_MAX 0x1FFF

enum { SYM_LOST = 0, SYM_SMALL = 1, SYM_LARGE = 2, SYM_RESERVED = 3 };

/* ---- parse ---------------------------------------------------------------------------- */

/*
 * Reads chunks from *pos until count symbols are known, storing each symbol in
 * pkts[i].delta_us for the delta pass. Symbols past count in the last chunk
 * are ignored (a vector may be only partly used).
 */
static int read_chunks(const uint8_t *b, size_t len, size_t *pos, cs_rtcp_twcc_pkt_t *pkts,
                       size_t count)
{
    size_t i = 0;
    while (i < count) {
        if (len - *pos < 2)
            return CS_EINVAL;       /* the status count promises more than the chunks give */
        uint16_t c = cs_rd16(b + *pos);
        *pos += 2;
        if (!(c & 0x8000)) {
            int sym = c >> 13 & 3;
            size_t run = c & RUN_MAX;
            if (sym == SYM_RESERVED)
                return CS_EINVAL;
            for (size_t k = 0; k < run && i < count; k++)
                pkts[i++].delta_us = sym;
        } else if (!(c & 0x4000)) {
            for (int k = 13; k >= 0 && i < count; k--)
                pkts[i++].delta_us = c >> k & 1;
        } else {
            for (int k = 12; k >= 0 && i < count; k -= 2) {
                int sym = c >> k & 3;
                if (sym == SYM_RESERVED)
                    return CS_EINVAL;
                pkts[i++].delta_us = sym;
            }
        }
    }
    return CS_OK;
}

static int read_deltas(const uint8_t *b, size_t len, size_t *pos, cs_rtcp_twcc_pkt_t *pkts,
                       size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int sym = pkts[i].delta_us;
        pkts[i].received = sym != SYM_LOST;
        if (sym == SYM_SMALL) {
            if (len - *pos < 1)
                return CS_EINVAL;
            pkts[i].delta_us = b[*pos] * CS_RTCP_TWCC_DELTA_US;
            *pos += 1;
        } else if (sym == SYM_LARGE) {
            if (len - *pos < 2)
                return CS_EINVAL;
            pkts[i].delta_us = (int16_t)cs_rd16(b + *pos) * CS_RTCP_TWCC_DELTA_US;
            *pos += 2;
        } else {
            pkts[i].delta_us = 0;
        }
    }
    return CS_OK;
}

int cs_rtcp_twcc_parse(const cs_rtcp_pkt_t *p, cs_rtcp_twcc_t *out, cs_rtcp_twcc_pkt_t *pkts,
                       size_t cap)
{
    if (!out || (cap && !pkts) || !rtcp_is(p, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, TWCC_FIXED_LEN))
        return CS_EINVAL;
    const uint8_t *b = p->body;
    out->sender_ssrc = cs_rd32(b);
    out->media_ssrc = cs_rd32(b + 4);
    out->base_seq = cs_rd16(b + 8);
    out->status_count = cs_rd16(b + 10);
    uint32_t ref = cs_rd24(b + 12);
    out->reference_time = (ref & 0x800000) ? (int32_t)ref - 0x1000000 : (int32_t)ref;
    out->fb_count = b[15];
    size_t count = out->status_count;
    if (count == 0)
        return CS_EINVAL;           /* libwebrtc refuses empty feedback too */
    if (count > cap)
        return CS_ETOOBIG;
    size_t pos = TWCC_FIXED_LEN;
    if (read_chunks(b, p->body_len, &pos, pkts, count) != CS_OK ||
        read_deltas(b, p->body_len, &pos, pkts, count) != CS_OK || p->body_len - pos > 3)
        return CS_EINVAL;
    for (size_t i = 0; i < count; i++)
        pkts[i].seq = (uint16_t)(out->base_seq + i);
    return CS_OK;
}

/* ---- build ----------------------------------------------------------------------------- */

/* Rounds to the nearest 250 µs tick, half away from zero. */
static int32_t to_ticks(int32_t us)
{
    int64_t v = us;
    return (int32_t)((v >= 0 ? v + 125 : v - 125) / CS_RTCP_TWCC_DELTA_US);
}

static int symbol_of(const cs_rtcp_twcc_pkt_t *pk)
{
    if (!pk->received)
        return SYM_LOST;
    int32_t t = to_ticks(pk->delta_us);
    if (t >= 0 && t <= 255)
        return SYM_SMALL;
    return t >= INT16_MIN && t <= INT16_MAX ? SYM_LARGE : SYM_RESERVED;
}

/* Checks what the packet format cannot carry; returns the delta bytes needed. */
static int check_input(const cs_rtcp_twcc_t *h, const cs_rtcp_twcc_pkt_t *pkts, size_t n,
                       size_t *delta_bytes)
{
    if (!h || !pkts || n == 0 || n > 65535 || h->reference_time < -0x800000 ||
        h->reference_time > 0x7FFFFF)
        return CS_EINVAL;
    *delta_bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (pkts[i].seq != (uint16_t)(h->base_seq + i))
            return CS_EINVAL;
        int sym = symbol_of(&pkts[i]);
        if (sym == SYM_RESERVED)
            return CS_EINVAL;
        *delta_bytes += (size_t)sym;      /* 0, 1 or 2 bytes: the symbol's value */
    }
    return CS_OK;
}

/* Writes one chunk for the symbols from i on and returns how many it covers. */
static size_t write_chunk(const cs_rtcp_twcc_pkt_t *pkts, size_t i, size_t n, uint8_t *out)
{
    int sym = symbol_of(&pkts[i]);
    size_t run = 1;
    while (i + run < n && run < RUN_MAX && symbol_of(&pkts[i + run]) == sym)
        run++;
    /* A run at least as long as the vector that could hold it, or the rest. */
    if (run >= (sym == SYM_LARGE ? 7u : 14u) || i + run == n) {
        cs_wr16(out, (uint16_t)(sym << 13 | run));
        return run;
    }
    size_t m = n - i < 14 ? n - i : 14;
    bool one_bit = true;
    for (size_t k = 0; k < m; k++)
        one_bit &= symbol_of(&pkts[i + k]) != SYM_LARGE;
    uint16_t c;
    if (one_bit) {
        c = 0x8000;
        for (size_t k = 0; k < m; k++)
            c |= (uint16_t)(symbol_of(&pkts[i + k]) << (13 - k));
    } else {
        m = m < 7 ? m : 7;
        c = 0xC000;
        for (size_t k = 0; k < m; k++)
            c |= (uint16_t)(symbol_of(&pkts[i + k]) << (12 - 2 * k));
    }
    cs_wr16(out, c);
    return m;
}

/* Chunks into out (NULL: only count them); returns their bytes. */
static size_t write_chunks(const cs_rtcp_twcc_pkt_t *pkts, size_t n, uint8_t *out)
{
    uint8_t scratch[2];
    size_t bytes = 0;
    for (size_t i = 0; i < n; bytes += 2)
        i += write_chunk(pkts, i, n, out ? out + bytes : scratch);
    return bytes;
}

static void write_deltas(const cs_rtcp_twcc_pkt_t *pkts, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int sym = symbol_of(&pkts[i]);
        int32_t t = to_ticks(pkts[i].delta_us);
        if (sym == SYM_SMALL) {
            *out++ = (uint8_t)t;
        } else if (sym == SYM_LARGE) {
            cs_wr16(out, (uint16_t)(int16_t)t);
            out += 2;
        }
    }
}

int cs_rtcp_twcc_append(cs_rtcp_builder_t *b, const cs_rtcp_twcc_t *h,
                        const cs_rtcp_twcc_pkt_t *pkts, size_t n)
{
    size_t delta_bytes;
    if (check_input(h, pkts, n, &delta_bytes) != CS_OK)
        return CS_EINVAL;
    size_t chunk_bytes = write_chunks(pkts, n, NULL);
    size_t body = TWCC_FIXED_LEN + chunk_bytes + delta_bytes;
    size_t size = CS_RTCP_HEADER_LEN + ((body + 3) & ~(size_t)3);
    uint8_t *p = rtcp_begin(b, size, CS_RTCP_FMT_TWCC, CS_RTCP_RTPFB);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, h->sender_ssrc);
    cs_wr32(p + 8, h->media_ssrc);
    cs_wr16(p + 12, h->base_seq);
    cs_wr16(p + 14, (uint16_t)n);
    cs_wr24(p + 16, (uint32_t)h->reference_time & 0xFFFFFF);
    p[19] = h->fb_count;
    write_chunks(pkts, n, p + 20);
    write_deltas(pkts, n, p + 20 + chunk_bytes);
    return rtcp_commit(b, size);   /* the zero padding came from rtcp_begin */
}
