/*
 * rtcp.c — compound RTCP packets (RFC 3550 §6.1): the iterator that walks a
 * compound's framing, the builder that appends packets to one, and the
 * RFC 3550 packet types: SR, RR, SDES, BYE and APP.
 */
#include "rtcp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

/* ---- iteration ------------------------------------------------------------------- */

void cs_rtcp_iter_init(cs_rtcp_iter_t *it, const uint8_t *buf, size_t len)
{
    memset(it, 0, sizeof *it);
    it->buf = buf;
    it->len = buf ? len : 0;
}

static int iter_fail(cs_rtcp_iter_t *it)
{
    it->failed = true;
    return CS_EINVAL;
}

int cs_rtcp_iter_next(cs_rtcp_iter_t *it, cs_rtcp_pkt_t *out)
{
    if (it->failed)
        return CS_EINVAL;
    if (it->pos == it->len)
        return 0;
    const uint8_t *p = it->buf + it->pos;
    size_t left = it->len - it->pos;
    if (left < CS_RTCP_HEADER_LEN || p[0] >> 6 != 2)
        return iter_fail(it);
    size_t size = ((size_t)cs_rd16(p + 2) + 1) * 4;
    if (size > left)
        return iter_fail(it);
    size_t pad = 0;
    if (p[0] & 0x20) {
        pad = p[size - 1];
        if (pad == 0 || pad > size - CS_RTCP_HEADER_LEN)
            return iter_fail(it);
    }
    out->count = p[0] & 0x1f;
    out->type = p[1];
    out->padding = pad > 0;
    out->raw = p;
    out->raw_len = size;
    out->body = p + CS_RTCP_HEADER_LEN;
    out->body_len = size - CS_RTCP_HEADER_LEN - pad;
    it->pos += size;
    return 1;
}

int cs_rtcp_validate(const uint8_t *buf, size_t len)
{
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t p;
    int rc, n = 0;
    cs_rtcp_iter_init(&it, buf, len);
    while ((rc = cs_rtcp_iter_next(&it, &p)) > 0)
        n++;
    return rc < 0 || n == 0 ? CS_EINVAL : n;
}

bool rtcp_is(const cs_rtcp_pkt_t *p, uint8_t type, int fmt, size_t min)
{
    return p && p->type == type && (fmt < 0 || p->count == fmt) && p->body_len >= min &&
           (p->body || p->body_len == 0);
}

/* ---- building ---------------------------------------------------------------------- */

void cs_rtcp_builder_init(cs_rtcp_builder_t *b, uint8_t *buf, size_t cap)
{
    b->buf = buf;
    b->cap = buf ? cap : 0;
    b->len = 0;
}

uint8_t *rtcp_begin(cs_rtcp_builder_t *b, size_t size, uint8_t count, uint8_t type)
{
    if (!b || size < CS_RTCP_HEADER_LEN || size % 4 || size > RTCP_MAX_PACKET ||
        b->len > b->cap || b->cap - b->len < size)
        return NULL;
    uint8_t *p = b->buf + b->len;
    memset(p, 0, size);
    p[0] = (uint8_t)(2u << 6 | (count & 0x1f));
    p[1] = type;
    cs_wr16(p + 2, (uint16_t)(size / 4 - 1));
    return p;
}

int rtcp_commit(cs_rtcp_builder_t *b, size_t size)
{
    b->len += size;
    return (int)size;
}

/* ---- report blocks, SR, RR ------------------------------------------------------------- */

#define REPORT_BLOCK_LEN 24
#define SENDER_INFO_LEN 24  /* SSRC, NTP (8), RTP timestamp, packet count, octet count */

static void block_read(const uint8_t *p, cs_rtcp_report_block_t *rb)
{
    rb->ssrc = cs_rd32(p);
    rb->fraction_lost = p[4];
    uint32_t lost = cs_rd24(p + 5);
    /* Sign-extend the 24-bit two's complement count. */
    rb->cumulative_lost = (lost & 0x800000) ? (int32_t)lost - 0x1000000 : (int32_t)lost;
    rb->ext_highest_seq = cs_rd32(p + 8);
    rb->jitter = cs_rd32(p + 12);
    rb->lsr = cs_rd32(p + 16);
    rb->dlsr = cs_rd32(p + 20);
}

static void block_write(uint8_t *p, const cs_rtcp_report_block_t *rb)
{
    cs_wr32(p, rb->ssrc);
    p[4] = rb->fraction_lost;
    cs_wr24(p + 5, (uint32_t)cs_rtcp_clamp_lost(rb->cumulative_lost) & 0xFFFFFF);
    cs_wr32(p + 8, rb->ext_highest_seq);
    cs_wr32(p + 12, rb->jitter);
    cs_wr32(p + 16, rb->lsr);
    cs_wr32(p + 20, rb->dlsr);
}

int cs_rtcp_sr_parse(const cs_rtcp_pkt_t *p, cs_rtcp_sr_t *out)
{
    if (!p || !out ||
        !rtcp_is(p, CS_RTCP_SR, -1, SENDER_INFO_LEN + (size_t)p->count * REPORT_BLOCK_LEN))
        return CS_EINVAL;
    const uint8_t *b = p->body;
    out->ssrc = cs_rd32(b);
    out->ntp = cs_rd64(b + 4);
    out->rtp_ts = cs_rd32(b + 12);
    out->packet_count = cs_rd32(b + 16);
    out->octet_count = cs_rd32(b + 20);
    out->n_reports = p->count;
    for (int i = 0; i < p->count; i++)
        block_read(b + SENDER_INFO_LEN + i * REPORT_BLOCK_LEN, &out->reports[i]);
    return CS_OK;
}

int cs_rtcp_rr_parse(const cs_rtcp_pkt_t *p, cs_rtcp_rr_t *out)
{
    if (!p || !out || !rtcp_is(p, CS_RTCP_RR, -1, 4 + (size_t)p->count * REPORT_BLOCK_LEN))
        return CS_EINVAL;
    out->ssrc = cs_rd32(p->body);
    out->n_reports = p->count;
    for (int i = 0; i < p->count; i++)
        block_read(p->body + 4 + i * REPORT_BLOCK_LEN, &out->reports[i]);
    return CS_OK;
}

int cs_rtcp_sr_append(cs_rtcp_builder_t *b, const cs_rtcp_sr_t *sr)
{
    if (!sr || sr->n_reports > CS_RTCP_MAX_COUNT)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN + SENDER_INFO_LEN + (size_t)sr->n_reports * REPORT_BLOCK_LEN;
    uint8_t *p = rtcp_begin(b, size, sr->n_reports, CS_RTCP_SR);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, sr->ssrc);
    cs_wr64(p + 8, sr->ntp);
    cs_wr32(p + 16, sr->rtp_ts);
    cs_wr32(p + 20, sr->packet_count);
    cs_wr32(p + 24, sr->octet_count);
    for (int i = 0; i < sr->n_reports; i++)
        block_write(p + 28 + i * REPORT_BLOCK_LEN, &sr->reports[i]);
    return rtcp_commit(b, size);
}

int cs_rtcp_rr_append(cs_rtcp_builder_t *b, const cs_rtcp_rr_t *rr)
{
    if (!rr || rr->n_reports > CS_RTCP_MAX_COUNT)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN + 4 + (size_t)rr->n_reports * REPORT_BLOCK_LEN;
    uint8_t *p = rtcp_begin(b, size, rr->n_reports, CS_RTCP_RR);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, rr->ssrc);
    for (int i = 0; i < rr->n_reports; i++)
        block_write(p + 8 + i * REPORT_BLOCK_LEN, &rr->reports[i]);
    return rtcp_commit(b, size);
}

/* ---- SDES ---------------------------------------------------------------------------------- */

/* One chunk at *pos: SSRC, items up to the null item, zeros to a 32-bit boundary. */
static int sdes_chunk(const uint8_t *body, size_t len, size_t *pos, cs_rtcp_sdes_chunk_t *c)
{
    if (len - *pos < 4)
        return CS_EINVAL;
    c->ssrc = cs_rd32(body + *pos);
    c->cname = NULL;
    c->cname_len = 0;
    size_t i = *pos + 4;
    for (;;) {
        if (i >= len)
            return CS_EINVAL;       /* the list must end with a null item */
        uint8_t type = body[i];
        if (type == 0)
            break;
        if (len - i < 2 || len - i - 2 < body[i + 1])
            return CS_EINVAL;
        if (type == CS_RTCP_SDES_CNAME && !c->cname) {
            c->cname = body + i + 2;
            c->cname_len = body[i + 1];
        }
        i += 2 + (size_t)body[i + 1];
    }
    /* The null item, then padding to the next multiple of 4 (chunks start
     * word-aligned, and so does the body). */
    i = (i + 1 + 3) & ~(size_t)3;
    if (i > len)
        return CS_EINVAL;
    *pos = i;
    return CS_OK;
}

int cs_rtcp_sdes_parse(const cs_rtcp_pkt_t *p, cs_rtcp_sdes_t *out)
{
    if (!out || !rtcp_is(p, CS_RTCP_SDES, -1, 0))
        return CS_EINVAL;
    size_t pos = 0;
    out->n_chunks = p->count;
    for (int i = 0; i < p->count; i++)
        if (sdes_chunk(p->body, p->body_len, &pos, &out->chunks[i]) != CS_OK)
            return CS_EINVAL;
    return CS_OK;
}

int cs_rtcp_sdes_append(cs_rtcp_builder_t *b, const cs_rtcp_sdes_t *sdes)
{
    if (!sdes || sdes->n_chunks > CS_RTCP_MAX_COUNT)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN;
    for (int i = 0; i < sdes->n_chunks; i++) {
        const cs_rtcp_sdes_chunk_t *c = &sdes->chunks[i];
        if (c->cname_len && !c->cname)
            return CS_EINVAL;
        size_t items = c->cname ? 2 + (size_t)c->cname_len : 0;
        size += (4 + items + 1 + 3) & ~(size_t)3;
    }
    uint8_t *p = rtcp_begin(b, size, sdes->n_chunks, CS_RTCP_SDES);
    if (!p)
        return CS_ETOOBIG;
    size_t pos = CS_RTCP_HEADER_LEN;
    for (int i = 0; i < sdes->n_chunks; i++) {
        const cs_rtcp_sdes_chunk_t *c = &sdes->chunks[i];
        cs_wr32(p + pos, c->ssrc);
        pos += 4;
        if (c->cname) {
            p[pos] = CS_RTCP_SDES_CNAME;
            p[pos + 1] = c->cname_len;
            memcpy(p + pos + 2, c->cname, c->cname_len);
            pos += 2 + (size_t)c->cname_len;
        }
        pos = (pos + 1 + 3) & ~(size_t)3;   /* null item and padding, zeroed by rtcp_begin */
    }
    return rtcp_commit(b, size);
}

/* ---- BYE, APP ---------------------------------------------------------------------------------- */

int cs_rtcp_bye_parse(const cs_rtcp_pkt_t *p, cs_rtcp_bye_t *out)
{
    if (!p || !out || !rtcp_is(p, CS_RTCP_BYE, -1, (size_t)p->count * 4))
        return CS_EINVAL;
    out->n_ssrcs = p->count;
    for (int i = 0; i < p->count; i++)
        out->ssrcs[i] = cs_rd32(p->body + 4 * i);
    out->reason = NULL;
    out->reason_len = 0;
    size_t pos = (size_t)p->count * 4;
    if (pos < p->body_len) {
        size_t n = p->body[pos];
        if (p->body_len - pos - 1 < n)
            return CS_EINVAL;
        out->reason = p->body + pos + 1;
        out->reason_len = (uint8_t)n;
    }
    return CS_OK;
}

int cs_rtcp_bye_append(cs_rtcp_builder_t *b, const cs_rtcp_bye_t *bye)
{
    if (!bye || bye->n_ssrcs > CS_RTCP_MAX_COUNT || (bye->reason_len && !bye->reason))
        return CS_EINVAL;
    size_t reason = bye->reason ? 1 + (size_t)bye->reason_len : 0;
    size_t size = CS_RTCP_HEADER_LEN + (size_t)bye->n_ssrcs * 4 + ((reason + 3) & ~(size_t)3);
    uint8_t *p = rtcp_begin(b, size, bye->n_ssrcs, CS_RTCP_BYE);
    if (!p)
        return CS_ETOOBIG;
    size_t pos = CS_RTCP_HEADER_LEN;
    for (int i = 0; i < bye->n_ssrcs; i++, pos += 4)
        cs_wr32(p + pos, bye->ssrcs[i]);
    if (bye->reason) {
        p[pos] = bye->reason_len;
        memcpy(p + pos + 1, bye->reason, bye->reason_len);
    }
    return rtcp_commit(b, size);
}

int cs_rtcp_app_parse(const cs_rtcp_pkt_t *p, cs_rtcp_app_t *out)
{
    if (!out || !rtcp_is(p, CS_RTCP_APP, -1, 8))
        return CS_EINVAL;
    out->subtype = p->count;
    out->ssrc = cs_rd32(p->body);
    memcpy(out->name, p->body + 4, 4);
    out->data = p->body + 8;
    out->data_len = p->body_len - 8;
    return CS_OK;
}

int cs_rtcp_app_append(cs_rtcp_builder_t *b, const cs_rtcp_app_t *app)
{
    if (!app || app->subtype > 31 || app->data_len % 4 || (app->data_len && !app->data) ||
        app->data_len > RTCP_MAX_PACKET)
        return CS_EINVAL;
    size_t size = CS_RTCP_HEADER_LEN + 8 + app->data_len;
    uint8_t *p = rtcp_begin(b, size, app->subtype, CS_RTCP_APP);
    if (!p)
        return CS_ETOOBIG;
    cs_wr32(p + 4, app->ssrc);
    memcpy(p + 8, app->name, 4);
    if (app->data_len)
        memcpy(p + 12, app->data, app->data_len);
    return rtcp_commit(b, size);
}
