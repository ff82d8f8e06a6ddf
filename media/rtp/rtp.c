/*
 * rtp.c — the RTP fixed header (RFC 3550 §5.1): parse a packet into a view of
 * the caller's buffer, read and rewrite header fields in place for forwarding,
 * and serialise a packet from fields, extension elements and a payload.
 *
 * Parsing is strict about what would make later reads unsafe (lengths that run
 * past the buffer) and about what RFC 3550 A.1 calls invalid (version, padding
 * count); it is lenient about everything a router merely forwards.
 */
#include "rtp.h"

#include <string.h>

#include "common/common.h"
#include "internal.h"

/* Extension body plus its 4-byte header, from the header_len position. */
static int parse_ext(const uint8_t *buf, size_t len, size_t *pos, cs_rtp_packet_t *out)
{
    if (len - *pos < 4)
        return CS_EINVAL;
    out->ext_profile = cs_rd16(buf + *pos);
    size_t body = (size_t)cs_rd16(buf + *pos + 2) * 4;
    if (len - *pos - 4 < body)
        return CS_EINVAL;
    out->ext = buf + *pos + 4;
    out->ext_len = body;
    *pos += 4 + body;
    return rtp_ext_validate(out);
}

int cs_rtp_parse(const uint8_t *buf, size_t len, cs_rtp_packet_t *out)
{
    if (!buf || !out || len < CS_RTP_HEADER_MIN || buf[0] >> 6 != CS_RTP_VERSION)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    cs_rtp_header_t *h = &out->hdr;
    h->marker = buf[1] & 0x80;
    h->payload_type = buf[1] & 0x7f;
    h->seq = cs_rd16(buf + 2);
    h->timestamp = cs_rd32(buf + 4);
    h->ssrc = cs_rd32(buf + 8);
    h->csrc_count = buf[0] & 0x0f;

    size_t pos = CS_RTP_HEADER_MIN;
    if (len - pos < (size_t)h->csrc_count * 4)
        return CS_EINVAL;
    for (int i = 0; i < h->csrc_count; i++, pos += 4)
        h->csrc[i] = cs_rd32(buf + pos);

    out->has_ext = buf[0] & 0x10;
    if (out->has_ext && parse_ext(buf, len, &pos, out) != CS_OK)
        return CS_EINVAL;

    size_t pad = 0;
    if (buf[0] & 0x20) {
        /* The count includes itself, so 0 is malformed; it may eat the whole
         * payload (padding-only probes) but not the header. */
        pad = buf[len - 1];
        if (pad == 0 || pad > len - pos)
            return CS_EINVAL;
        h->padding_len = (uint8_t)pad;
    }
    out->header_len = pos;
    out->payload = buf + pos;
    out->payload_len = len - pos - pad;
    return CS_OK;
}

bool cs_rtp_is_rtcp(const uint8_t *buf, size_t len)
{
    return buf && len >= 2 && buf[1] >= 192 && buf[1] <= 223;
}

/* ---- in-place accessors ----------------------------------------------------- */

static bool fixed_ok(const uint8_t *buf, size_t len)
{
    return buf && len >= CS_RTP_HEADER_MIN && buf[0] >> 6 == CS_RTP_VERSION;
}

int cs_rtp_get_seq(const uint8_t *buf, size_t len, uint16_t *seq)
{
    if (!fixed_ok(buf, len) || !seq)
        return CS_EINVAL;
    *seq = cs_rd16(buf + 2);
    return CS_OK;
}

int cs_rtp_get_timestamp(const uint8_t *buf, size_t len, uint32_t *ts)
{
    if (!fixed_ok(buf, len) || !ts)
        return CS_EINVAL;
    *ts = cs_rd32(buf + 4);
    return CS_OK;
}

int cs_rtp_get_ssrc(const uint8_t *buf, size_t len, uint32_t *ssrc)
{
    if (!fixed_ok(buf, len) || !ssrc)
        return CS_EINVAL;
    *ssrc = cs_rd32(buf + 8);
    return CS_OK;
}

int cs_rtp_get_marker(const uint8_t *buf, size_t len, bool *marker)
{
    if (!fixed_ok(buf, len) || !marker)
        return CS_EINVAL;
    *marker = buf[1] & 0x80;
    return CS_OK;
}

int cs_rtp_get_payload_type(const uint8_t *buf, size_t len, uint8_t *pt)
{
    if (!fixed_ok(buf, len) || !pt)
        return CS_EINVAL;
    *pt = buf[1] & 0x7f;
    return CS_OK;
}

int cs_rtp_set_seq(uint8_t *buf, size_t len, uint16_t seq)
{
    if (!fixed_ok(buf, len))
        return CS_EINVAL;
    cs_wr16(buf + 2, seq);
    return CS_OK;
}

int cs_rtp_set_timestamp(uint8_t *buf, size_t len, uint32_t ts)
{
    if (!fixed_ok(buf, len))
        return CS_EINVAL;
    cs_wr32(buf + 4, ts);
    return CS_OK;
}

int cs_rtp_set_ssrc(uint8_t *buf, size_t len, uint32_t ssrc)
{
    if (!fixed_ok(buf, len))
        return CS_EINVAL;
    cs_wr32(buf + 8, ssrc);
    return CS_OK;
}

int cs_rtp_set_marker(uint8_t *buf, size_t len, bool marker)
{
    if (!fixed_ok(buf, len))
        return CS_EINVAL;
    buf[1] = (uint8_t)((buf[1] & 0x7f) | (marker ? 0x80 : 0));
    return CS_OK;
}

int cs_rtp_set_payload_type(uint8_t *buf, size_t len, uint8_t pt)
{
    if (!fixed_ok(buf, len) || pt > 127)
        return CS_EINVAL;
    buf[1] = (uint8_t)((buf[1] & 0x80) | pt);
    return CS_OK;
}

/* ---- serialise ---------------------------------------------------------------- */

/* Bytes of the extension elements before padding, and which form they need;
 * CS_EINVAL for an element no form can carry. */
static int ext_size(const cs_rtp_ext_t *ext, size_t n, bool *one_byte, size_t *size)
{
    *one_byte = true;
    for (size_t i = 0; i < n; i++) {
        if (ext[i].id == 0 || (ext[i].len && !ext[i].data))
            return CS_EINVAL;
        if (ext[i].id > 14 || ext[i].len < 1 || ext[i].len > 16)
            *one_byte = false;
    }
    *size = 0;
    for (size_t i = 0; i < n; i++)
        *size += (*one_byte ? 1u : 2u) + ext[i].len;
    return CS_OK;
}

static size_t write_ext(const cs_rtp_ext_t *ext, size_t n, bool one_byte, size_t padded,
                        uint8_t *out)
{
    cs_wr16(out, one_byte ? CS_RTP_EXT_PROFILE_ONE_BYTE : CS_RTP_EXT_PROFILE_TWO_BYTE);
    cs_wr16(out + 2, (uint16_t)(padded / 4));
    size_t pos = 4;
    for (size_t i = 0; i < n; i++) {
        if (one_byte) {
            out[pos++] = (uint8_t)(ext[i].id << 4 | (ext[i].len - 1));
        } else {
            out[pos++] = ext[i].id;
            out[pos++] = ext[i].len;
        }
        if (ext[i].len)
            memcpy(out + pos, ext[i].data, ext[i].len);
        pos += ext[i].len;
    }
    memset(out + pos, 0, 4 + padded - pos);
    return 4 + padded;
}

int cs_rtp_serialise(const cs_rtp_header_t *h, const cs_rtp_ext_t *ext, size_t n_ext,
                     const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap)
{
    if (!h || !out || h->csrc_count > CS_RTP_MAX_CSRC || h->payload_type > 127 ||
        (n_ext && !ext) || (payload_len && !payload))
        return CS_EINVAL;
    bool one_byte = true;
    size_t ext_bytes = 0, padded = 0;
    if (n_ext) {
        /* 255 bytes an element at most, so this cannot overflow before the check. */
        if (n_ext > 65535 || ext_size(ext, n_ext, &one_byte, &ext_bytes) != CS_OK)
            return CS_EINVAL;
        padded = (ext_bytes + 3) & ~(size_t)3;
        if (padded / 4 > 65535)
            return CS_EINVAL;
    }
    size_t hdr = CS_RTP_HEADER_MIN + (size_t)h->csrc_count * 4 + (n_ext ? 4 + padded : 0);
    if (cap < hdr || cap - hdr < payload_len || cap - hdr - payload_len < h->padding_len)
        return CS_ETOOBIG;
    if (hdr + payload_len + h->padding_len > INT32_MAX)
        return CS_ETOOBIG;

    out[0] = (uint8_t)(CS_RTP_VERSION << 6 | (h->padding_len ? 0x20 : 0) | (n_ext ? 0x10 : 0) |
                       h->csrc_count);
    out[1] = (uint8_t)((h->marker ? 0x80 : 0) | h->payload_type);
    cs_wr16(out + 2, h->seq);
    cs_wr32(out + 4, h->timestamp);
    cs_wr32(out + 8, h->ssrc);
    size_t pos = CS_RTP_HEADER_MIN;
    for (int i = 0; i < h->csrc_count; i++, pos += 4)
        cs_wr32(out + pos, h->csrc[i]);
    if (n_ext)
        pos += write_ext(ext, n_ext, one_byte, padded, out + pos);
    if (payload_len)
        memmove(out + pos, payload, payload_len);
    pos += payload_len;
    if (h->padding_len) {
        memset(out + pos, 0, h->padding_len);
        pos += h->padding_len;
        out[pos - 1] = h->padding_len;
    }
    return (int)pos;
}
