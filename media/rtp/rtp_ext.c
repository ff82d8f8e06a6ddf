/*
 * rtp_ext.c — RTP header extensions in the RFC 8285 forms browsers use: the
 * one-byte form (profile 0xBEDE: 4-bit id, 4-bit length-1) and the two-byte
 * form (profile 0x100X: 8-bit id, 8-bit length), and the payloads of the
 * extensions a router reads or rewrites: abs-send-time, transport-wide-cc,
 * audio level (RFC 6464), mid (RFC 8843), rid and repaired-rid (RFC 8852).
 */
#include "rtp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

enum { FORM_NONE, FORM_ONE_BYTE, FORM_TWO_BYTE };

static uint8_t ext_form(uint16_t profile)
{
    if (profile == CS_RTP_EXT_PROFILE_ONE_BYTE)
        return FORM_ONE_BYTE;
    if ((profile & CS_RTP_EXT_PROFILE_TWO_BYTE_MASK) == CS_RTP_EXT_PROFILE_TWO_BYTE)
        return FORM_TWO_BYTE;
    return FORM_NONE;
}

void cs_rtp_ext_begin(const cs_rtp_packet_t *pkt, cs_rtp_ext_iter_t *it)
{
    memset(it, 0, sizeof *it);
    if (!pkt || !pkt->has_ext || !pkt->ext)
        return;
    it->p = pkt->ext;
    it->len = pkt->ext_len;
    it->form = ext_form(pkt->ext_profile);
}

static int iter_fail(cs_rtp_ext_iter_t *it)
{
    it->failed = true;
    it->pos = it->len;
    return CS_EINVAL;
}

int cs_rtp_ext_next(cs_rtp_ext_iter_t *it, cs_rtp_ext_t *out)
{
    if (it->failed)
        return CS_EINVAL;
    if (it->form == FORM_NONE)
        return 0;
    while (it->pos < it->len) {
        const uint8_t *e = it->p + it->pos;
        size_t left = it->len - it->pos;
        if (e[0] == 0) {                /* padding between or after elements */
            it->pos++;
            continue;
        }
        size_t hdr, n;
        if (it->form == FORM_ONE_BYTE) {
            /* id 15 is reserved, and id 0 with a length is not padding: RFC
             * 8285 §4.2 says to stop processing there, as libwebrtc does. */
            if (e[0] >> 4 == 15 || e[0] >> 4 == 0) {
                it->pos = it->len;
                return 0;
            }
            hdr = 1;
            n = (size_t)(e[0] & 0x0f) + 1;
            out->id = e[0] >> 4;
        } else {
            if (left < 2)
                return iter_fail(it);
            hdr = 2;
            n = e[1];
            out->id = e[0];
        }
        if (left - hdr < n)
            return iter_fail(it);
        out->len = (uint8_t)n;
        out->data = e + hdr;
        it->pos += hdr + n;
        return 1;
    }
    return 0;
}

int rtp_ext_validate(const cs_rtp_packet_t *pkt)
{
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_t e;
    int rc;
    cs_rtp_ext_begin(pkt, &it);
    while ((rc = cs_rtp_ext_next(&it, &e)) > 0)
        ;
    return rc;
}

int cs_rtp_ext_find(const cs_rtp_packet_t *pkt, uint8_t id, cs_rtp_ext_t *out)
{
    cs_rtp_ext_iter_t it;
    cs_rtp_ext_t e;
    cs_rtp_ext_begin(pkt, &it);
    while (id != 0 && cs_rtp_ext_next(&it, &e) > 0) {
        if (e.id == id) {
            if (out)
                *out = e;
            return CS_OK;
        }
    }
    return CS_ENOTFOUND;
}

int cs_rtp_ext_set(uint8_t *buf, size_t len, uint8_t id, const uint8_t *val, size_t val_len)
{
    cs_rtp_packet_t pkt;
    cs_rtp_ext_t e;
    if (!val || cs_rtp_parse(buf, len, &pkt) != CS_OK)
        return CS_EINVAL;
    if (cs_rtp_ext_find(&pkt, id, &e) != CS_OK)
        return CS_ENOTFOUND;
    if (e.len != val_len)
        return CS_EINVAL;
    /* e.data points into buf: write through the caller's non-const pointer. */
    memcpy(buf + (e.data - buf), val, val_len);
    return CS_OK;
}

/* ---- abs-send-time -------------------------------------------------------------- */

int cs_rtp_ext_abs_send_time(const cs_rtp_ext_t *e, uint32_t *v24)
{
    if (!e || !v24 || e->len != 3 || !e->data)
        return CS_EINVAL;
    *v24 = cs_rd24(e->data);
    return CS_OK;
}

/* 6.18 fixed point: 2^18 units a second, wrapping every 64 s. Reduce first so
 * the shift cannot overflow for wall-clock microseconds. */
uint32_t cs_rtp_abs_send_time_from_us(uint64_t us)
{
    uint64_t r = us % 64000000u;
    return (uint32_t)(((r << 18) + 500000) / 1000000) & 0xFFFFFF;
}

uint64_t cs_rtp_abs_send_time_to_us(uint32_t v24)
{
    return (((uint64_t)(v24 & 0xFFFFFF)) * 1000000 + (1u << 17)) >> 18;
}

void cs_rtp_abs_send_time_encode(uint32_t v24, uint8_t out[3])
{
    cs_wr24(out, v24 & 0xFFFFFF);
}

/* ---- transport-wide-cc, audio level ------------------------------------------------ */

int cs_rtp_ext_twcc_seq(const cs_rtp_ext_t *e, uint16_t *seq)
{
    if (!e || !seq || !e->data || (e->len != 2 && e->len != 4))
        return CS_EINVAL;
    *seq = cs_rd16(e->data);
    return CS_OK;
}

void cs_rtp_twcc_seq_encode(uint16_t seq, uint8_t out[2])
{
    cs_wr16(out, seq);
}

/* RFC 6464 §3: one byte, V in the top bit, the level below; some senders pad
 * the element (length 2..4) with zeros, which we accept and ignore. */
int cs_rtp_ext_audio_level(const cs_rtp_ext_t *e, bool *voice, uint8_t *level)
{
    if (!e || !voice || !level || !e->data || e->len < 1 || e->len > 4)
        return CS_EINVAL;
    *voice = e->data[0] & 0x80;
    *level = e->data[0] & 0x7f;
    return CS_OK;
}

/* ---- mid, rid, repaired-rid ------------------------------------------------------------ */

int cs_rtp_ext_string(const cs_rtp_ext_t *e, char *out, size_t cap)
{
    if (!e || !out || cap == 0 || (e->len && !e->data))
        return CS_EINVAL;
    size_t n = e->len;
    while (n > 0 && e->data[n - 1] == 0)
        n--;
    if (n == 0)
        return CS_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (e->data[i] < 0x21 || e->data[i] > 0x7e)
            return CS_EINVAL;
    if (n >= cap)
        return CS_ETOOBIG;
    memcpy(out, e->data, n);
    out[n] = '\0';
    return CS_OK;
}
