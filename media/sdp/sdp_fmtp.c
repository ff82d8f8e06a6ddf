/*
 * sdp_fmtp.c — reading a=fmtp parameters (the raw text stays in the codec;
 * these are helpers) and classifying H.264 profile-level-ids.
 *
 * Only the parameters the answer and the router act on are parsed: RTX's apt,
 * Opus's useinbandfec/usedtx/stereo/minptime/maxplaybackrate, and H.264's
 * profile-level-id/packetization-mode/level-asymmetry-allowed.
 */
#include "media/sdp/sdp_internal.h"

#include <string.h>

#include "common/common.h"

static cs_sdp_span_t trim(cs_sdp_span_t s)
{
    s = cs_sdp_skip_space(s);
    while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
        s.n--;
    return s;
}

static bool flag(cs_sdp_span_t v, int8_t *out)
{
    if (!cs_sdp_eq(v, "0") && !cs_sdp_eq(v, "1"))
        return false;
    *out = (int8_t)(v.p[0] - '0');
    return true;
}

static bool hex6(cs_sdp_span_t v, uint32_t *out)
{
    if (v.n != 6)
        return false;
    uint32_t x = 0;
    for (size_t i = 0; i < 6; i++) {
        char ch = v.p[i];
        unsigned d = ch >= '0' && ch <= '9'   ? (unsigned)(ch - '0')
                     : ch >= 'a' && ch <= 'f' ? (unsigned)(ch - 'a' + 10)
                     : ch >= 'A' && ch <= 'F' ? (unsigned)(ch - 'A' + 10)
                                              : 16u;
        if (d > 15)
            return false;
        x = x << 4 | d;
    }
    *out = x;
    return true;
}

static void param(cs_sdp_span_t key, cs_sdp_span_t v, cs_sdp_fmtp_t *o)
{
    uint32_t n;
    if (cs_sdp_ieq(key, "apt")) {
        if (cs_sdp_u32(v, 127, &n))
            o->apt = (int16_t)n;
    } else if (cs_sdp_ieq(key, "useinbandfec")) {
        flag(v, &o->useinbandfec);
    } else if (cs_sdp_ieq(key, "usedtx")) {
        flag(v, &o->usedtx);
    } else if (cs_sdp_ieq(key, "stereo")) {
        flag(v, &o->stereo);
    } else if (cs_sdp_ieq(key, "minptime")) {
        if (cs_sdp_u32(v, 65535, &n))
            o->minptime = (uint16_t)n;
    } else if (cs_sdp_ieq(key, "maxplaybackrate")) {
        if (cs_sdp_u32(v, UINT32_MAX, &n))
            o->maxplaybackrate = n;
    } else if (cs_sdp_ieq(key, "packetization-mode")) {
        if (cs_sdp_u32(v, 2, &n))
            o->packetization_mode = (int8_t)n;
    } else if (cs_sdp_ieq(key, "level-asymmetry-allowed")) {
        int8_t f;
        if (flag(v, &f))
            o->level_asymmetry_allowed = f == 1;
    } else if (cs_sdp_ieq(key, "profile-level-id")) {
        o->has_profile_level_id = hex6(v, &o->profile_level_id);
        if (!o->has_profile_level_id)
            o->profile_level_id = 0;
    }
}

void cs_sdp_fmtp_parse(const char *params, cs_sdp_fmtp_t *out)
{
    memset(out, 0, sizeof *out);
    out->apt = -1;
    out->useinbandfec = out->usedtx = out->stereo = -1;
    out->packetization_mode = -1;
    cs_sdp_span_t s = cs_sdp_span(params), item, key;
    for (bool more = s.n > 0; more;) {
        more = cs_sdp_split(&s, ';', &item);
        if (cs_sdp_split(&item, '=', &key))
            param(trim(key), trim(item), out);
    }
}

/*
 * RFC 6184 profile-level-id: profile_idc, profile-iop (constraint flags),
 * level_idc. The profile is decided by profile_idc and a pattern over the
 * iop bits ('x' = either), the table libwebrtc uses; the first match wins.
 */
cs_sdp_h264_profile_t cs_sdp_h264_profile(uint32_t profile_level_id)
{
    static const struct {
        uint8_t idc;
        const char *iop; /* bit 7 first */
        cs_sdp_h264_profile_t profile;
    } table[] = {
        {0x42, "x1xx0000", CS_SDP_H264_CONSTRAINED_BASELINE},
        {0x4D, "1xxx0000", CS_SDP_H264_CONSTRAINED_BASELINE},
        {0x58, "11xx0000", CS_SDP_H264_CONSTRAINED_BASELINE},
        {0x42, "x0xx0000", CS_SDP_H264_BASELINE},
        {0x58, "10xx0000", CS_SDP_H264_BASELINE},
        {0x4D, "0x0x0000", CS_SDP_H264_MAIN},
        {0x64, "00000000", CS_SDP_H264_HIGH},
        {0x64, "00001100", CS_SDP_H264_CONSTRAINED_HIGH},
        {0xF4, "00000000", CS_SDP_H264_PREDICTIVE_HIGH_444},
    };
    unsigned idc = (profile_level_id >> 16) & 0xff, iop = (profile_level_id >> 8) & 0xff;
    for (size_t i = 0; i < CS_ARRAY_LEN(table); i++) {
        if (table[i].idc != idc)
            continue;
        bool match = true;
        for (int b = 0; b < 8 && match; b++) {
            char want = table[i].iop[b];
            unsigned bit = (iop >> (7 - b)) & 1;
            match = want == 'x' || (unsigned)(want - '0') == bit;
        }
        if (match)
            return table[i].profile;
    }
    return CS_SDP_H264_UNKNOWN;
}
