/*
 * media_internal.h — the layout of the encoded loop, shared by media.c (which
 * fills it once) and sender.c (which reads it for every packet). The VP8
 * frames are already cut into payload chunks, so a sender only writes a
 * header and a 4-byte payload descriptor and copies a chunk.
 *
 * Not a public header: tests/load/media.h is the interface.
 */
#ifndef CS_LOAD_MEDIA_INTERNAL_H
#define CS_LOAD_MEDIA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/load/media.h"

#define LT_VP8_DESC_LEN 4                              /* X, I with a 15-bit PictureID */
#define LT_CHUNK_MAX (LT_RTP_PAYLOAD_MAX - LT_VP8_DESC_LEN)
#define LT_OPUS_FRAME_US 20000
#define LT_OPUS_SAMPLES 960                            /* 20 ms at 48 kHz */
#define LT_VIDEO_CLOCK 90000
#define LT_AUDIO_CLOCK 48000

/* Bytes [off, off + len) of lt_media.vdata or .adata. */
typedef struct {
    uint32_t off;
    uint16_t len;
    bool first, last;                                   /* of its frame (video) */
} lt_chunk_t;

typedef struct {
    uint32_t first_chunk;
    uint16_t n_chunks;
    bool key;
} lt_vframe_t;

struct lt_media {
    lt_media_config_t cfg;
    uint8_t *vdata, *adata;
    lt_chunk_t *chunks;                                 /* video chunks, frame after frame */
    size_t n_chunks;
    lt_vframe_t *vframes;
    size_t n_vframes;
    uint32_t *nearest_key;                              /* per video frame: the closest keyframe */
    lt_chunk_t *aframes;                                /* one Opus packet each */
    size_t n_aframes;
    lt_media_info_t info;
};

#endif
