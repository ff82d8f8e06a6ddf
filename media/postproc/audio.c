/*
 * audio.c — Opus in and out, and the mix between.
 *
 * Every stream is decoded to mono at 48 kHz (libopus downmixes a stereo
 * stream itself) and added into one mix ring on the output clock; the output
 * is mono Opus: consultations are speech, and a mono mix at the configured
 * bitrate spends it all on one channel.
 *
 * A stream's samples go where its next sample is due (its write position),
 * so consecutive packets join without a click. Each packet also has a mapped
 * time from the timeline; when the two disagree by more than
 * CS_PP_RESYNC_SAMPLES (the sender's clock drifting against ours, DTX, a gap
 * of lost packets) the stream jumps to the mapped time: forward leaves
 * silence, backward cuts the overlapping samples. One or two lost packets
 * are concealed instead: the last of them from the in-band FEC of the
 * packet after it when there is some, the others by Opus PLC.
 */
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>

#include "internal.h"

#define MAX_PACKET_SAMPLES 5760      /* 120 ms at 48 kHz: the longest Opus packet */

/* ---- the mix ----------------------------------------------------------------- */

int cs_pp_mix_init(cs_pp_mix_t *m)
{
    m->ring = calloc(CS_PP_MIX_SAMPLES, sizeof *m->ring);
    m->read_pos = 0;
    return m->ring ? CS_OK : CS_ENOMEM;
}

void cs_pp_mix_add(cs_pp_mix_t *m, int64_t pos, const float *pcm, size_t n)
{
    size_t skip = 0;
    if (pos < m->read_pos) {
        if ((int64_t)n <= m->read_pos - pos)
            return;
        skip = (size_t)(m->read_pos - pos);
    }
    for (size_t i = skip; i < n; i++) {
        int64_t p = pos + (int64_t)i;
        if (p - m->read_pos >= CS_PP_MIX_SAMPLES)
            break;
        m->ring[(size_t)p & (CS_PP_MIX_SAMPLES - 1)] += pcm[i];
    }
}

void cs_pp_mix_take(cs_pp_mix_t *m, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float *s = &m->ring[(size_t)(m->read_pos + (int64_t)i) & (CS_PP_MIX_SAMPLES - 1)];
        float v = *s;
        out[i] = v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v;
        *s = 0;
    }
    m->read_pos += (int64_t)n;
}

void cs_pp_mix_free(cs_pp_mix_t *m)
{
    free(m->ring);
    m->ring = NULL;
}

/* ---- one incoming stream --------------------------------------------------------- */

int cs_pp_adec_init(cs_pp_adec_t *a)
{
    memset(a, 0, sizeof *a);
    int err = 0;
    a->dec = opus_decoder_create(CS_PP_AUDIO_RATE, 1, &err);
    a->wpos = -1;
    a->last_samples = CS_PP_AUDIO_FRAME;
    return a->dec && err == OPUS_OK ? CS_OK : CS_ENOMEM;
}

void cs_pp_adec_free(cs_pp_adec_t *a)
{
    if (a->dec)
        opus_decoder_destroy(a->dec);
    a->dec = NULL;
}

/* Adds n decoded samples due at pos, resynchronising when far off. */
static void place(cs_pp_adec_t *a, cs_pp_mix_t *m, const float *pcm, int n, int64_t pos)
{
    int64_t at = a->wpos;
    if (at < 0 || pos - at > CS_PP_RESYNC_SAMPLES) {
        if (at >= 0)
            a->resyncs++;
        at = pos;                       /* late start or a gap: silence before */
    } else if (at - pos > CS_PP_RESYNC_SAMPLES) {
        a->resyncs++;
        int cut = (int)(at - pos < n ? at - pos : n);
        pcm += cut;                     /* ahead of its time: drop the overlap */
        n -= cut;
    }
    cs_pp_mix_add(m, at, pcm, (size_t)n);
    a->wpos = at + n;
}

void cs_pp_adec_packet(cs_pp_adec_t *a, cs_pp_mix_t *m, const uint8_t *data, size_t len,
                       int64_t pos)
{
    float pcm[MAX_PACKET_SAMPLES];
    if (len == 0 || len > INT32_MAX)
        return;
    int n = opus_decode_float(a->dec, data, (opus_int32)len, pcm, MAX_PACKET_SAMPLES, 0);
    if (n < 0) {
        a->errors++;
        return;
    }
    a->last_samples = n;
    place(a, m, pcm, n, pos);
}

void cs_pp_adec_conceal(cs_pp_adec_t *a, cs_pp_mix_t *m, unsigned packets, const uint8_t *next,
                        size_t next_len)
{
    float pcm[MAX_PACKET_SAMPLES];
    if (a->wpos < 0 || packets > CS_PP_PLC_MAX || next_len > INT32_MAX)
        return;                         /* longer: the next packet resyncs to silence */
    for (unsigned i = 0; i < packets; i++) {
        /* The packet just before the next one may be in the next one's
         * in-band FEC (browsers send it); libopus falls back to PLC. */
        int fec = i + 1 == packets && next && next_len;
        int n = opus_decode_float(a->dec, fec ? next : NULL, fec ? (opus_int32)next_len : 0, pcm,
                                  a->last_samples, fec);
        if (n <= 0)
            return;
        cs_pp_mix_add(m, a->wpos, pcm, (size_t)n);
        a->wpos += n;
    }
}

/* ---- the encoder ---------------------------------------------------------------------- */

struct cs_pp_aenc {
    OpusEncoder *enc;
    int preskip;
};

int cs_pp_aenc_new(int kbps, cs_pp_aenc_t **out)
{
    cs_pp_aenc_t *e = calloc(1, sizeof *e);
    if (!e)
        return CS_ENOMEM;
    int err = 0;
    e->enc = opus_encoder_create(CS_PP_AUDIO_RATE, 1, OPUS_APPLICATION_AUDIO, &err);
    if (!e->enc || err != OPUS_OK) {
        free(e);
        return CS_ENOMEM;
    }
    opus_int32 lookahead = 0;
    opus_encoder_ctl(e->enc, OPUS_SET_BITRATE(kbps * 1000));
    opus_encoder_ctl(e->enc, OPUS_SET_VBR(1));
    opus_encoder_ctl(e->enc, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    /* Half the CPU of the default 10, indistinguishable on speech at this rate. */
    opus_encoder_ctl(e->enc, OPUS_SET_COMPLEXITY(5));
    opus_encoder_ctl(e->enc, OPUS_GET_LOOKAHEAD(&lookahead));
    e->preskip = (int)lookahead;
    *out = e;
    return CS_OK;
}

int cs_pp_aenc_preskip(const cs_pp_aenc_t *e)
{
    return e->preskip;
}

int cs_pp_aenc_encode(cs_pp_aenc_t *e, const float *pcm, uint8_t *out, size_t cap)
{
    opus_int32 n = opus_encode_float(e->enc, pcm, CS_PP_AUDIO_FRAME, out,
                                     (opus_int32)(cap > 4000 ? 4000 : cap));
    return n < 0 ? CS_EIO : (int)n;
}

void cs_pp_aenc_free(cs_pp_aenc_t *e)
{
    if (!e)
        return;
    opus_encoder_destroy(e->enc);
    free(e);
}

void cs_pp_opus_head(uint8_t out[CS_PP_OPUS_HEAD_LEN], int channels, int preskip)
{
    memcpy(out, "OpusHead", 8);
    out[8] = 1;                                     /* version */
    out[9] = (uint8_t)channels;
    out[10] = (uint8_t)preskip;                     /* little-endian, unlike RTP */
    out[11] = (uint8_t)(preskip >> 8);
    uint32_t rate = CS_PP_AUDIO_RATE;               /* the input's rate, informative */
    for (int i = 0; i < 4; i++)
        out[12 + i] = (uint8_t)(rate >> (8 * i));
    out[16] = 0;                                    /* output gain, Q7.8 dB */
    out[17] = 0;
    out[18] = 0;                                    /* mapping family 0: mono or stereo */
}
