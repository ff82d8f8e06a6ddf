/*
 * postproc.h — turns a consultation's capture files into one playable WebM
 * file: VP8 video of the participants composed into a grid with their names,
 * and Opus audio of everyone mixed.
 *
 * A job reads the capture files of one recording (media/recorder), in order;
 * per stream it reorders packets by sequence number, depacketises and decodes
 * VP8 (libvpx) and Opus (libopus), maps RTP time to the recording's time line
 * from the arrival times (so audio and video stay in sync however the
 * senders' clocks drift), composes the video tracks present at each instant
 * into a grid (a late joiner appears when they joined; a gap holds the last
 * frame), mixes the audio (a gap is silence), encodes VP8 + Opus and muxes
 * WebM with libavformat into a sealed (encrypted) output file. The audio of
 * the output is one mono Opus track (the mix of everyone, 48 kHz).
 *
 * It is a pure batch function of its inputs, run on a gateway worker thread:
 * bounded memory (a few seconds of packets per stream; the exact bound is in
 * media/postproc/internal.h), no global state, so several jobs may run at
 * once on different threads; each is single-threaded (libvpx and libopus
 * included) and runs roughly ten times faster than real time on one core
 * for two members at the default output (tests/bench/bench_postproc.c).
 * Damaged input is skipped and reported (res->incomplete), never fatal
 * unless nothing at all can be read.
 */
#ifndef CS_MEDIA_POSTPROC_H
#define CS_MEDIA_POSTPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/recorder/recorder.h"

/*
 * Draws a participant's name for the grid: fills alpha (width × height, one
 * byte per pixel, 0 transparent … 255 opaque) with the text, in white on the
 * caller's terms. Returns 0, or <0 to go without a label. Called on the
 * job's thread. The gateway supplies one that uses its text renderer, so this
 * module needs no font library.
 */
typedef int (*cs_postproc_label_fn)(void *user, const char *text, int width, int height,
                                    uint8_t *alpha);

typedef struct {
    const char *const *inputs;        /* capture files, in recording order */
    size_t n_inputs;
    const uint8_t *master_key;        /* CS_REC_KEY_LEN bytes */
    const char *output_path;          /* a sealed file; must not exist */
    int width, height;                /* output frame; 0: 960 × 540 */
    int fps;                          /* 0: 25 */
    int video_kbps;                   /* 0: 1200 */
    int audio_kbps;                   /* 0: 48 */
    cs_postproc_label_fn label;       /* may be NULL: no names drawn */
    void *label_user;
    /* Progress in [0, 1], called now and then on the job's thread. May be NULL. */
    void (*progress)(void *user, double fraction);
    void *progress_user;
    /* Polled between frames; when it reads true the job stops with CS_EAGAIN
     * (the gateway shutting down; the job is run again after a restart). */
    const volatile bool *cancel;
} cs_postproc_job_t;

typedef struct {
    int64_t duration_ms;              /* of the output */
    uint64_t video_frames;            /* frames encoded */
    uint64_t audio_samples;           /* per channel (the output is mono), at 48 kHz */
    uint64_t output_bytes;
    unsigned tracks_audio, tracks_video;  /* streams found */
    uint64_t packets, packets_lost;   /* media packets read / sequence gaps never filled */
    uint64_t decode_errors;           /* frames lost after the first keyframe (incomplete,
                                         refused by the decoder, or waiting for a keyframe
                                         after a loss), Opus packets refused */
    uint64_t chunks_bad;              /* from the capture readers */
    bool truncated;                   /* a capture file ended in a cut chunk */
    bool incomplete;                  /* anything above (or an unreadable input, or one
                                         never closed: no end record) lost media */
    char error[160];                  /* why, in a sentence, when the job failed or is incomplete */
} cs_postproc_result_t;

/*
 * Runs the job. CS_OK with res filled (incomplete may be set); on failure a
 * negative code with res->error saying why: CS_EINVAL (bad job), CS_EAUTH
 * (an input under an unknown key), CS_ENOTFOUND (no media in any input),
 * CS_EIO (cannot read or write; the output is removed; also when no input
 * could be opened at all), CS_EAGAIN (cancelled; the output is removed),
 * CS_ENOMEM. CS_EEXIST when output_path already exists (say, left by a run
 * killed midway): that file is neither used nor removed.
 */
int cs_postproc_run(const cs_postproc_job_t *job, cs_postproc_result_t *res);

#endif
