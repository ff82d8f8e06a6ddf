/*
 * mux.c — the WebM container, by libavformat's muxer, written through a
 * custom AVIOContext straight into the sealed (encrypted) output file.
 *
 * The output is seekable (cs_sealed_write writes anywhere), so the muxer
 * goes back at the end to write the duration, the seek head and the cues: a
 * player can seek at once. The streams' parameters are set by hand (we do
 * not use libavcodec's encoders): VP8 with its size, and Opus with an
 * OpusHead (RFC 7845) as extradata and the encoder's look-ahead as initial
 * padding (Matroska CodecDelay). Packet times are given in ms for video and
 * in samples for audio, rescaled to the stream's time base (1/1000 in WebM).
 *
 * Sync: a block's time minus CodecDelay is the time of its first decoded
 * sample, and the decoder drops the first pre-skip samples; so the audio
 * packet that starts with input sample n is stored at n / 48 kHz, the same
 * clock as the video. FFmpeg's own convention (the first packet at
 * -preskip, then everything shifted to start at zero) would leave the video
 * 6.5 ms behind the sound; so packets are written as given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/mem.h>

#include "internal.h"

#define IO_BUFFER 65536

struct cs_pp_mux {
    AVFormatContext *oc;
    AVIOContext *io;
    AVPacket *pkt;
    cs_sealed_t *out;
    uint64_t pos, size;
    int io_error;
};

static int io_write(void *opaque, uint8_t *buf, int len)
{
    cs_pp_mux_t *m = opaque;
    if (len < 0)
        return AVERROR(EINVAL);
    int rc = cs_sealed_write(m->out, m->pos, buf, (size_t)len);
    if (rc != CS_OK) {
        m->io_error = rc;
        return AVERROR(EIO);
    }
    m->pos += (uint64_t)len;
    if (m->pos > m->size)
        m->size = m->pos;
    return len;
}

static int64_t io_seek(void *opaque, int64_t offset, int whence)
{
    cs_pp_mux_t *m = opaque;
    int64_t base;
    switch (whence & ~AVSEEK_FORCE) {
    case AVSEEK_SIZE:
        return (int64_t)m->size;
    case SEEK_SET:
        base = 0;
        break;
    case SEEK_CUR:
        base = (int64_t)m->pos;
        break;
    case SEEK_END:
        base = (int64_t)m->size;
        break;
    default:
        return AVERROR(EINVAL);
    }
    if (base + offset < 0)
        return AVERROR(EINVAL);
    m->pos = (uint64_t)(base + offset);
    return (int64_t)m->pos;
}

static int add_video(cs_pp_mux_t *m, int w, int h)
{
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st)
        return CS_ENOMEM;
    st->time_base = (AVRational){1, 1000};
    AVCodecParameters *par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_VIDEO;
    par->codec_id = AV_CODEC_ID_VP8;
    par->width = w;
    par->height = h;
    par->format = AV_PIX_FMT_YUV420P;
    par->sample_aspect_ratio = (AVRational){1, 1};
    return CS_OK;
}

static int add_audio(cs_pp_mux_t *m, int preskip)
{
    AVStream *st = avformat_new_stream(m->oc, NULL);
    if (!st)
        return CS_ENOMEM;
    st->time_base = (AVRational){1, 1000};
    AVCodecParameters *par = st->codecpar;
    par->codec_type = AVMEDIA_TYPE_AUDIO;
    par->codec_id = AV_CODEC_ID_OPUS;
    par->sample_rate = CS_PP_AUDIO_RATE;
    av_channel_layout_default(&par->ch_layout, 1);
    par->initial_padding = preskip;
    par->extradata = av_mallocz(CS_PP_OPUS_HEAD_LEN + AV_INPUT_BUFFER_PADDING_SIZE);
    if (!par->extradata)
        return CS_ENOMEM;
    par->extradata_size = CS_PP_OPUS_HEAD_LEN;
    cs_pp_opus_head(par->extradata, 1, preskip);
    return CS_OK;
}

static int fail(cs_pp_mux_t *m, int av_rc)
{
    if (m->io_error)
        return m->io_error;
    return av_rc == AVERROR(ENOMEM) ? CS_ENOMEM : CS_EIO;
}

int cs_pp_mux_open(cs_sealed_t *out, int w, int h, int preskip, cs_pp_mux_t **mux)
{
    cs_pp_mux_t *m = calloc(1, sizeof *m);
    if (!m)
        return CS_ENOMEM;
    m->out = out;
    *mux = m;
    if (avformat_alloc_output_context2(&m->oc, NULL, "webm", NULL) < 0 || !m->oc)
        return CS_ENOMEM;
    uint8_t *buf = av_malloc(IO_BUFFER);
    if (!buf)
        return CS_ENOMEM;
    m->io = avio_alloc_context(buf, IO_BUFFER, 1, m, NULL, io_write, io_seek);
    if (!m->io) {
        av_free(buf);
        return CS_ENOMEM;
    }
    m->io->seekable = AVIO_SEEKABLE_NORMAL;
    m->oc->pb = m->io;
    m->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
    m->oc->avoid_negative_ts = AVFMT_AVOID_NEG_TS_DISABLED;   /* none are negative */
    m->pkt = av_packet_alloc();
    if (!m->pkt)
        return CS_ENOMEM;
    int rc;
    if ((rc = add_video(m, w, h)) != CS_OK || (rc = add_audio(m, preskip)) != CS_OK)
        return rc;
    int av = avformat_write_header(m->oc, NULL);
    return av < 0 ? fail(m, av) : CS_OK;
}

static int write_packet(cs_pp_mux_t *m, int index, const uint8_t *data, size_t len,
                        int64_t pts, int64_t duration, AVRational tb, bool key)
{
    if (len > INT32_MAX)
        return CS_EINVAL;
    AVPacket *p = m->pkt;
    av_packet_unref(p);
    /* Not reference-counted: the muxer copies what it must keep. */
    p->data = (uint8_t *)data;
    p->size = (int)len;
    p->stream_index = index;
    p->pts = p->dts = pts;
    p->duration = duration;
    p->flags = key ? AV_PKT_FLAG_KEY : 0;
    av_packet_rescale_ts(p, tb, m->oc->streams[index]->time_base);
    int av = av_interleaved_write_frame(m->oc, p);
    return av < 0 ? fail(m, av) : CS_OK;
}

int cs_pp_mux_video(cs_pp_mux_t *m, const uint8_t *data, size_t len, int64_t pts_ms,
                    int64_t duration_ms, bool key)
{
    return write_packet(m, 0, data, len, pts_ms, duration_ms, (AVRational){1, 1000}, key);
}

int cs_pp_mux_audio(cs_pp_mux_t *m, const uint8_t *data, size_t len, int64_t pts_samples,
                    int samples)
{
    return write_packet(m, 1, data, len, pts_samples, samples,
                        (AVRational){1, CS_PP_AUDIO_RATE}, true);
}

int cs_pp_mux_finish(cs_pp_mux_t *m)
{
    int av = av_write_trailer(m->oc);
    if (av < 0)
        return fail(m, av);
    avio_flush(m->io);
    if (m->io_error)
        return m->io_error;
    return CS_OK;
}

uint64_t cs_pp_mux_size(const cs_pp_mux_t *m)
{
    return m->size;
}

void cs_pp_mux_free(cs_pp_mux_t *m)
{
    if (!m)
        return;
    av_packet_free(&m->pkt);
    if (m->oc) {
        m->oc->pb = NULL;
        avformat_free_context(m->oc);
    }
    if (m->io) {
        av_freep(&m->io->buffer);
        avio_context_free(&m->io);
    }
    free(m);
}
