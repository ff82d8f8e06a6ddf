/*
 * rtp_codec.c — the few facts a router needs from payloads it does not decode:
 * where a VP8 (RFC 7741) or H.264 (RFC 6184) key frame starts, so it can
 * switch a subscriber onto a stream or stop asking for keyframes; and RTX
 * (RFC 4588), so it can answer NACKs on a separate stream and read them back.
 */
#include "rtp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

/* ---- VP8 -------------------------------------------------------------------------- */

/* The X byte's optional fields (RFC 7741 §4.2): I, L, then one byte for T|K. */
static int vp8_extension(const uint8_t *p, size_t len, size_t *pos, cs_rtp_vp8_t *out)
{
    uint8_t x = p[(*pos)++];
    out->has_picture_id = x & 0x80;
    out->has_tl0picidx = x & 0x40;
    out->has_tid = x & 0x20;
    out->has_keyidx = x & 0x10;
    if (out->has_picture_id) {
        if (*pos >= len)
            return CS_EINVAL;
        out->picture_id_15bit = p[*pos] & 0x80;
        if (out->picture_id_15bit) {
            if (len - *pos < 2)
                return CS_EINVAL;
            out->picture_id = (uint16_t)((p[*pos] & 0x7f) << 8 | p[*pos + 1]);
            *pos += 2;
        } else {
            out->picture_id = p[(*pos)++];
        }
    }
    if (out->has_tl0picidx) {
        if (*pos >= len)
            return CS_EINVAL;
        out->tl0picidx = p[(*pos)++];
    }
    if (out->has_tid || out->has_keyidx) {
        if (*pos >= len)
            return CS_EINVAL;
        uint8_t b = p[(*pos)++];
        if (out->has_tid) {
            out->tid = b >> 6;
            out->layer_sync = b & 0x20;
        }
        if (out->has_keyidx)
            out->keyidx = b & 0x1f;
    }
    return CS_OK;
}

int cs_rtp_vp8_parse(const uint8_t *payload, size_t len, cs_rtp_vp8_t *out)
{
    if (!payload || !out || len < 1)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    out->non_reference = payload[0] & 0x20;
    out->start = payload[0] & 0x10;
    out->partition_id = payload[0] & 0x07;
    size_t pos = 1;
    if (payload[0] & 0x80) {
        if (pos >= len || vp8_extension(payload, len, &pos, out) != CS_OK)
            return CS_EINVAL;
    }
    /* libwebrtc refuses a descriptor with no VP8 data after it; so do we. */
    if (pos >= len)
        return CS_EINVAL;
    out->descriptor_len = pos;
    if (out->start && out->partition_id == 0 && !(payload[pos] & 0x01)) {
        out->keyframe = true;
        /* RFC 6386 §9.1: 3-byte frame tag, start code 9d 01 2a, then 14-bit
         * width and height, little-endian, under 2 scaling bits. */
        const uint8_t *f = payload + pos;
        if (len - pos >= 10 && f[3] == 0x9d && f[4] == 0x01 && f[5] == 0x2a) {
            out->width = (uint16_t)((f[6] | f[7] << 8) & 0x3fff);
            out->height = (uint16_t)((f[8] | f[9] << 8) & 0x3fff);
        }
    }
    return CS_OK;
}

/* ---- H.264 --------------------------------------------------------------------------- */

enum { NAL_IDR = 5, NAL_SPS = 7, NAL_PPS = 8, NAL_STAP_A = 24, NAL_FU_A = 28 };

static void h264_note(cs_rtp_h264_t *out, uint8_t type)
{
    out->nal_count++;
    out->has_idr |= type == NAL_IDR;
    out->has_sps |= type == NAL_SPS;
    out->has_pps |= type == NAL_PPS;
}

/* STAP-A (RFC 6184 §5.7.1): after the STAP-A byte, (16-bit size, NAL unit)*. */
static int h264_stap_a(const uint8_t *p, size_t len, cs_rtp_h264_t *out)
{
    size_t pos = 1;
    if (pos >= len)
        return CS_EINVAL;
    while (pos < len) {
        if (len - pos < 2)
            return CS_EINVAL;
        size_t size = cs_rd16(p + pos);
        pos += 2;
        if (size == 0 || len - pos < size)
            return CS_EINVAL;
        h264_note(out, p[pos] & 0x1f);
        pos += size;
    }
    return CS_OK;
}

int cs_rtp_h264_parse(const uint8_t *payload, size_t len, cs_rtp_h264_t *out)
{
    if (!payload || !out || len < 1)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    uint8_t type = payload[0] & 0x1f;
    out->nal_type = type;
    int rc = CS_OK;
    if (type == 0) {
        rc = CS_EINVAL;
    } else if (type < NAL_STAP_A) {
        h264_note(out, type);
    } else if (type == NAL_STAP_A) {
        rc = h264_stap_a(payload, len, out);
    } else if (type == NAL_FU_A) {
        /* FU indicator, FU header |S|E|R|Type|; S and E both set is forbidden. */
        if (len < 2 || (payload[1] & 0xc0) == 0xc0)
            return CS_EINVAL;
        out->fu_start = payload[1] & 0x80;
        out->fu_end = payload[1] & 0x40;
        if (out->fu_start)
            h264_note(out, payload[1] & 0x1f);
    } else {
        rc = CS_EUNSUPPORTED;             /* STAP-B, MTAP16/24, FU-B, 30, 31 */
    }
    /* SPS and PPS only ever precede an IDR in WebRTC streams, so the first
     * packet carrying any of them is where a subscriber can start decoding. */
    out->keyframe = out->has_idr || out->has_sps || out->has_pps;
    return rc;
}

/* ---- RTX (RFC 4588) ------------------------------------------------------------------------ */

int cs_rtp_rtx_osn(const cs_rtp_packet_t *rtx, uint16_t *osn)
{
    if (!rtx || !osn || rtx->payload_len < 2 || !rtx->payload)
        return CS_EINVAL;
    *osn = cs_rd16(rtx->payload);
    return CS_OK;
}

/*
 * Copies header (fixed part, CSRCs, extension) with the P bit cleared and the
 * given payload type, SSRC and sequence number, then head (0 or 2 bytes) and
 * the payload. Both directions of RTX are this copy with different fields.
 */
static int rewrap(const cs_rtp_packet_t *pkt, const uint8_t *src, uint8_t pt, uint32_t ssrc,
                  uint16_t seq, const uint8_t *head, size_t head_len, const uint8_t *payload,
                  size_t payload_len, uint8_t *out, size_t cap)
{
    size_t total = pkt->header_len + head_len + payload_len;
    if (pt > 127)
        return CS_EINVAL;
    if (total > cap || total > INT32_MAX)
        return CS_ETOOBIG;
    /* Payload first, then head, then header: so out == src works in place. */
    memmove(out + pkt->header_len + head_len, payload, payload_len);
    if (head_len)
        memcpy(out + pkt->header_len, head, head_len);
    memmove(out, src, pkt->header_len);
    out[0] &= (uint8_t)~0x20;
    out[1] = (uint8_t)((out[1] & 0x80) | pt);
    cs_wr16(out + 2, seq);
    cs_wr32(out + 8, ssrc);
    return (int)total;
}

int cs_rtp_rtx_wrap(const uint8_t *orig, size_t orig_len, uint8_t rtx_pt, uint32_t rtx_ssrc,
                    uint16_t rtx_seq, uint8_t *out, size_t cap)
{
    cs_rtp_packet_t pkt;
    if (!out || cs_rtp_parse(orig, orig_len, &pkt) != CS_OK)
        return CS_EINVAL;
    uint8_t osn[2];
    cs_wr16(osn, pkt.hdr.seq);
    return rewrap(&pkt, orig, rtx_pt, rtx_ssrc, rtx_seq, osn, 2, pkt.payload, pkt.payload_len,
                  out, cap);
}

int cs_rtp_rtx_unwrap(const uint8_t *rtx, size_t rtx_len, uint8_t orig_pt, uint32_t orig_ssrc,
                      uint8_t *out, size_t cap)
{
    cs_rtp_packet_t pkt;
    uint16_t osn;
    if (!out || cs_rtp_parse(rtx, rtx_len, &pkt) != CS_OK || cs_rtp_rtx_osn(&pkt, &osn) != CS_OK)
        return CS_EINVAL;
    return rewrap(&pkt, rtx, orig_pt, orig_ssrc, osn, NULL, 0, pkt.payload + 2,
                  pkt.payload_len - 2, out, cap);
}
