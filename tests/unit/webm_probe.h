/*
 * webm_probe.h — reads a post-processor's output back independently of the
 * code that wrote it: decrypts the sealed file with cs_sealed_read into a
 * plain .webm, opens it with libavformat and decodes it with FFmpeg's own
 * VP8 and Opus decoders (not libvpx or libopus, which wrote it), keeping
 * the pictures at the times asked for and the whole audio track; and a
 * Goertzel filter to measure a tone.
 *
 * Test-only.
 */
#ifndef CS_TEST_WEBM_PROBE_H
#define CS_TEST_WEBM_PROBE_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "common/common.h"
#include "media/recorder/recorder.h"

#define PROBE_MAX_SNAPS 16

typedef struct {
    char format[64];
    bool webm_doctype;
    int n_video, n_audio;
    enum AVCodecID vcodec, acodec;
    int width, height;
    double duration_s;
    int video_frames, key_frames;
    int64_t last_video_ms;
    int64_t *frame_ms;               /* every picture: its time and mean luma */
    float *frame_luma;
    size_t cap_frames;
    float *audio;                    /* first channel */
    size_t n_samples, cap_samples;
    int sample_rate;
    int n_snaps;
    double snap_t[PROBE_MAX_SNAPS];  /* asked for, s */
    int64_t snap_pts[PROBE_MAX_SNAPS]; /* of the picture kept, ms; -1 none */
    uint8_t *snap[PROBE_MAX_SNAPS];  /* I420, width × height */
} webm_probe_t;

/* Decrypts a sealed file into a plain one. CS_OK or an error. */
static inline int webm_decrypt(const char *sealed, const uint8_t *key, const char *plain)
{
    cs_sealed_t *f;
    int rc = cs_sealed_open(sealed, key, &f);
    if (rc != CS_OK)
        return rc;
    FILE *o = fopen(plain, "wb");
    if (!o) {
        cs_sealed_free(f);
        return CS_EIO;
    }
    static uint8_t buf[1 << 16];
    uint64_t off = 0;
    long n;
    while ((n = cs_sealed_read(f, off, buf, sizeof buf)) > 0) {
        fwrite(buf, 1, (size_t)n, o);
        off += (uint64_t)n;
    }
    fclose(o);
    cs_sealed_free(f);
    return n < 0 ? (int)n : CS_OK;
}

static inline void probe_keep(webm_probe_t *p, const AVFrame *fr, int64_t ms)
{
    for (int i = 0; i < p->n_snaps; i++) {
        if (p->snap_pts[i] >= 0 || ms < (int64_t)llround(p->snap_t[i] * 1000))
            continue;
        int w = fr->width, h = fr->height;
        uint8_t *d = malloc((size_t)w * h * 3 / 2);
        if (!d)
            abort();
        for (int y = 0; y < h; y++)
            memcpy(d + (size_t)y * w, fr->data[0] + (size_t)y * fr->linesize[0], (size_t)w);
        for (int c = 1; c <= 2; c++)
            for (int y = 0; y < h / 2; y++)
                memcpy(d + (size_t)w * h + (size_t)(c - 1) * (w / 2) * (h / 2) +
                           (size_t)y * (w / 2),
                       fr->data[c] + (size_t)y * fr->linesize[c], (size_t)w / 2);
        p->snap[i] = d;
        p->snap_pts[i] = ms;
    }
}

static inline void probe_audio(webm_probe_t *p, const AVFrame *fr)
{
    if (p->n_samples + (size_t)fr->nb_samples > p->cap_samples) {
        p->cap_samples = (p->n_samples + (size_t)fr->nb_samples) * 2;
        p->audio = realloc(p->audio, p->cap_samples * sizeof *p->audio);
        if (!p->audio)
            abort();
    }
    for (int i = 0; i < fr->nb_samples; i++) {
        float v = 0;
        if (fr->format == AV_SAMPLE_FMT_FLTP || fr->format == AV_SAMPLE_FMT_FLT)
            v = ((const float *)fr->extended_data[0])[fr->format == AV_SAMPLE_FMT_FLT
                                                          ? i * fr->ch_layout.nb_channels
                                                          : i];
        else if (fr->format == AV_SAMPLE_FMT_S16P || fr->format == AV_SAMPLE_FMT_S16)
            v = ((const int16_t *)fr->extended_data[0])[fr->format == AV_SAMPLE_FMT_S16
                                                            ? i * fr->ch_layout.nb_channels
                                                            : i] / 32768.0f;
        p->audio[p->n_samples++] = v;
    }
    p->sample_rate = fr->sample_rate;
}

static inline void probe_drain(webm_probe_t *p, AVCodecContext *c, AVFrame *fr, AVStream *st,
                               bool video)
{
    while (avcodec_receive_frame(c, fr) == 0) {
        if (video) {
            int64_t ms = av_rescale_q(fr->best_effort_timestamp, st->time_base,
                                      (AVRational){1, 1000});
            if ((size_t)p->video_frames == p->cap_frames) {
                p->cap_frames = p->cap_frames ? p->cap_frames * 2 : 1024;
                p->frame_ms = realloc(p->frame_ms, p->cap_frames * sizeof *p->frame_ms);
                p->frame_luma = realloc(p->frame_luma, p->cap_frames * sizeof *p->frame_luma);
                if (!p->frame_ms || !p->frame_luma)
                    abort();
            }
            double sum = 0;
            for (int y = 0; y < fr->height; y++)
                for (int x = 0; x < fr->width; x++)
                    sum += fr->data[0][(size_t)y * fr->linesize[0] + x];
            p->frame_ms[p->video_frames] = ms;
            p->frame_luma[p->video_frames] = (float)(sum / ((double)fr->width * fr->height));
            p->video_frames++;
            p->last_video_ms = ms;
            probe_keep(p, fr, ms);
        } else {
            probe_audio(p, fr);
        }
        av_frame_unref(fr);
    }
}

static inline AVCodecContext *probe_open(const AVStream *st)
{
    const AVCodec *dec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *c = dec ? avcodec_alloc_context3(dec) : NULL;
    if (!c || avcodec_parameters_to_context(c, st->codecpar) < 0)
        goto fail;
    c->pkt_timebase = st->time_base;
    if (avcodec_open2(c, dec, NULL) < 0)
        goto fail;
    return c;
fail:
    avcodec_free_context(&c);
    return NULL;
}

/* Opens and decodes path; keeps the first picture at or after each time. */
static inline int webm_probe(const char *path, const double *times, int n_times, webm_probe_t *p)
{
    memset(p, 0, sizeof *p);
    p->n_snaps = n_times < PROBE_MAX_SNAPS ? n_times : PROBE_MAX_SNAPS;
    for (int i = 0; i < p->n_snaps; i++) {
        p->snap_t[i] = times[i];
        p->snap_pts[i] = -1;
    }
    FILE *f = fopen(path, "rb");
    uint8_t head[64] = {0};
    if (f) {
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        p->webm_doctype = memmem(head, n, "\x42\x82\x84webm", 7) != NULL;  /* DocType "webm" */
    }
    AVFormatContext *fc = NULL;
    if (avformat_open_input(&fc, path, NULL, NULL) < 0)
        return -1;
    if (avformat_find_stream_info(fc, NULL) < 0) {
        avformat_close_input(&fc);
        return -1;
    }
    snprintf(p->format, sizeof p->format, "%s", fc->iformat->name);
    p->duration_s = fc->duration > 0 ? fc->duration / (double)AV_TIME_BASE : 0;
    AVCodecContext *dec[8] = {0};
    for (unsigned i = 0; i < fc->nb_streams && i < 8; i++) {
        const AVCodecParameters *par = fc->streams[i]->codecpar;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
            p->n_video++;
            p->vcodec = par->codec_id;
            p->width = par->width;
            p->height = par->height;
        } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
            p->n_audio++;
            p->acodec = par->codec_id;
        }
        dec[i] = probe_open(fc->streams[i]);
    }
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    while (av_read_frame(fc, pkt) >= 0) {
        unsigned i = (unsigned)pkt->stream_index;
        if (i < 8 && dec[i]) {
            bool video = fc->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO;
            if (video && (pkt->flags & AV_PKT_FLAG_KEY))
                p->key_frames++;
            if (avcodec_send_packet(dec[i], pkt) == 0)
                probe_drain(p, dec[i], fr, fc->streams[i], video);
        }
        av_packet_unref(pkt);
    }
    for (unsigned i = 0; i < fc->nb_streams && i < 8; i++)
        if (dec[i]) {
            avcodec_send_packet(dec[i], NULL);
            probe_drain(p, dec[i], fr, fc->streams[i],
                        fc->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO);
            avcodec_free_context(&dec[i]);
        }
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avformat_close_input(&fc);
    return 0;
}

static inline void webm_probe_free(webm_probe_t *p)
{
    for (int i = 0; i < p->n_snaps; i++)
        free(p->snap[i]);
    free(p->audio);
    free(p->frame_ms);
    free(p->frame_luma);
    memset(p, 0, sizeof *p);
}

/* Mean of a plane (0 Y, 1 U, 2 V) of a kept picture over [x0, x1) × [y0, y1)
 * in luma pixels. */
static inline double probe_mean(const webm_probe_t *p, int snap, int plane, int x0, int y0,
                                int x1, int y1)
{
    const uint8_t *d = p->snap[snap];
    int w = p->width, h = p->height, stride = w;
    if (plane) {
        d += (size_t)w * h + (size_t)(plane - 1) * (w / 2) * (h / 2);
        stride = w / 2;
        x0 /= 2, x1 /= 2, y0 /= 2, y1 /= 2;
    }
    double sum = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            sum += d[(size_t)y * stride + x];
    return sum / ((double)(x1 - x0) * (y1 - y0));
}

/* Power of one frequency over x[0..n) (Goertzel), normalised by n². */
static inline double goertzel(const float *x, size_t n, double freq, double rate)
{
    double w = 2 * M_PI * freq / rate, c = 2 * cos(w), s1 = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        double s0 = x[i] + c * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / ((double)n * n);
}

#endif
