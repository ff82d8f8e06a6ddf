/*
 * internal.h — the post-processor's parts and the state they share.
 *
 *   source.c      records of the capture files, in order, one time line
 *   timeline.c    per stream: RTP time → recording time from arrival times
 *   jitter.c      per stream: reorder by extended sequence number, release late
 *   vp8_depack.c  RTP VP8 payloads → whole frames a decoder may take
 *   video.c       libvpx decoder and encoder, I420 images
 *   audio.c       libopus decoder placing samples on the time line, the mix,
 *                 the encoder and its OpusHead
 *   compose.c     grid layout, an I420 resampler, label bands
 *   mux.c         libavformat WebM into a sealed file
 *   render.c      pass 2: the output clock, streams and tiles, frame by frame
 *   postproc.c    the job: checks, pass 1, the result
 *
 * Memory (the bound cs_postproc_run promises; nothing grows with the
 * recording's length):
 *   - packets: per stream a reorder window of CS_PP_JB_SLOTS pointers; the
 *     packets themselves in one job-wide pool of at most CS_PP_POOL_MAX
 *     buffers of CS_REC_PACKET_MAX (26 MB; in practice what arrives in
 *     CS_PP_HOLD_US plus the network delay: ~150 packets per 600 kbit/s);
 *   - per video stream: the VP8 frame being assembled (at most
 *     CS_PP_VP8_FRAME_MAX, typically tens of KB), one libvpx decoder (its
 *     reference frames) and its last picture (at most CS_PP_MAX_PIXELS),
 *     freed CS_PP_LINGER_US after the stream's last packet; per audio
 *     stream one Opus decoder (~26 KB);
 *   - per stream a timeline: during pass 1 at most CS_PP_TL_MAX_SEGS ×
 *     CS_PP_TL_MAX_POINTS points (one per 5 s window: 6 KB an hour), freed
 *     after pass 1;
 *   - per job: the output picture, a resampler per tile, the encoders, a
 *     1.4 s mix ring and libavformat's buffers (a few seconds of packets
 *     while it interleaves).
 * Measured (peak RSS over the process with the libraries loaded): two
 * members at 640 × 360 into the default 960 × 540 take ~31 MB, most of it
 * libvpx's encoder, the same for a 10 s and a 4 min recording.
 */
#ifndef CS_POSTPROC_INTERNAL_H
#define CS_POSTPROC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "media/postproc/postproc.h"
#include "media/recorder/recorder.h"

#define CS_PP_HOLD_US 2000000        /* output runs this far behind arrivals */
#define CS_PP_LINGER_US 2000000      /* a tile stays this long after its last packet */
#define CS_PP_FRESH_US 500000        /* a simulcast layer is shown while this recent */
#define CS_PP_MAX_STREAMS 512        /* over all inputs */
#define CS_PP_MAX_TILES 64           /* members' cameras and screens over the recording */
#define CS_PP_MAX_SHOWN 16           /* tiles on screen at once */
#define CS_PP_AUDIO_RATE 48000
#define CS_PP_AUDIO_FRAME 960        /* 20 ms */
#define CS_PP_AUDIO_LEAD_US 40000    /* audio packets are released this far ahead */
#define CS_PP_RESYNC_SAMPLES 1440    /* 30 ms: beyond this, silence or a cut */
#define CS_PP_PLC_MAX 2              /* lost audio packets concealed; more is silence */

/* ---- source: the records of a recording, in order (source.c) ------------- */

typedef struct {
    cs_capture_record_type_t type;
    unsigned input;                  /* which input (file) it came from */
    const cs_rec_track_t *track;     /* CS_CAP_TRACK */
    uint16_t track_no;               /* CS_CAP_PACKET */
    int64_t arrival_us;              /* µs after the first input's start */
    const uint8_t *data;             /* CS_CAP_PACKET, valid until the next call */
    size_t len;
} cs_pp_record_t;

typedef struct {
    unsigned inputs, inputs_unreadable, read_errors;
    unsigned unclosed;               /* inputs without an end record (and not cut) */
    uint64_t chunks_bad;
    bool truncated;
    uint64_t bytes;                  /* of every input, for progress */
} cs_pp_source_stats_t;

/*
 * What a job reads: the capture files (cs_pp_files_source). Two passes:
 * begin(pass) rewinds; next() gives the records in order (1), then 0; a
 * negative code is fatal for the job (CS_EAUTH: an input under another
 * key). A pass gives the same records as the one before.
 */
typedef struct cs_pp_source {
    int (*begin)(struct cs_pp_source *s, unsigned pass);
    int (*next)(struct cs_pp_source *s, cs_pp_record_t *rec);
    double (*progress)(struct cs_pp_source *s);  /* of this pass, 0..1 */
    void (*stats)(struct cs_pp_source *s, cs_pp_source_stats_t *out);
    void (*close)(struct cs_pp_source *s);       /* frees s */
} cs_pp_source_t;

int cs_pp_files_source(const char *const *paths, size_t n, const uint8_t *key,
                       cs_pp_source_t **out);

/* ---- timeline (timeline.c) ------------------------------------------------ */

#define CS_PP_TL_WINDOW_US 5000000   /* one lower-envelope point per window */
#define CS_PP_TL_MAX_POINTS 1024     /* then windows merge pairwise */
#define CS_PP_TL_MAX_SEGS 32
#define CS_PP_TL_JUMP_US 3000000     /* a timestamp jump this large starts a segment
                                        (no packet survives that long in a real-time path) */
#define CS_PP_TL_MIN_SPAN_US 20000000 /* shorter: no drift estimate */
#define CS_PP_TL_MAX_DRIFT 0.002     /* 2000 ppm: beyond it the clock rate is wrong */

typedef struct {
    double x, d;                     /* sender µs since the segment's base; arrival - x */
} cs_pp_tl_point_t;

/* One stretch of a stream with continuous timestamps (one SSRC). */
typedef struct {
    uint32_t ssrc;
    int64_t base_ts;                 /* extended timestamp at x = 0 */
    double x_min, x_max;             /* timestamps seen, as sender µs */
    double win_start, win_min_d, win_min_x;
    bool win_open;
    unsigned merge;                  /* windows per point (doubles when points run out) */
    cs_pp_tl_point_t *pts;
    unsigned n_pts;
    double alpha, beta;              /* recording µs = x + alpha + beta * x */
    uint64_t packets;
} cs_pp_tl_seg_t;

/* Where one packet lies: its segment and unwrapped counters. */
typedef struct {
    unsigned seg;
    int64_t ext_ts, ext_seq;
    bool new_seg;                    /* first packet of a segment */
} cs_pp_tl_loc_t;

typedef struct {
    uint32_t clock_rate;
    cs_pp_tl_seg_t segs[CS_PP_TL_MAX_SEGS];
    unsigned n_segs;
    /* the cursor: restarted each pass so both passes cut the same segments */
    bool started;
    unsigned cur, seen_segs;
    int64_t ref_ts, ref_seq;
    double floor_d;
} cs_pp_timeline_t;

void cs_pp_tl_init(cs_pp_timeline_t *tl, uint32_t clock_rate);
void cs_pp_tl_rewind(cs_pp_timeline_t *tl);
/* Pass 1: locates and learns. CS_OK or CS_ENOMEM. */
int cs_pp_tl_learn(cs_pp_timeline_t *tl, uint32_t ssrc, uint32_t ts, uint16_t seq,
                   int64_t arrival_us, cs_pp_tl_loc_t *loc);
/* After pass 1: fits every segment and frees the points. */
void cs_pp_tl_finish(cs_pp_timeline_t *tl);
/* Pass 2: locates only (same cuts as pass 1). */
void cs_pp_tl_locate(cs_pp_timeline_t *tl, uint32_t ssrc, uint32_t ts, uint16_t seq,
                     int64_t arrival_us, cs_pp_tl_loc_t *loc);
/* Recording µs of an extended timestamp of a segment. */
int64_t cs_pp_tl_map(const cs_pp_timeline_t *tl, unsigned seg, int64_t ext_ts);
/* The earliest and latest recording µs of the stream; false without packets. */
bool cs_pp_tl_span(const cs_pp_timeline_t *tl, int64_t *first_us, int64_t *last_us);
void cs_pp_tl_free(cs_pp_timeline_t *tl);

/* ---- reorder buffer (jitter.c) ---------------------------------------------- */

#define CS_PP_JB_SLOTS 2048          /* a power of two */
#define CS_PP_POOL_MAX 16384         /* packet buffers per job (26 MB) */
#define CS_PP_POOL_BLOCK 256

typedef struct cs_pp_pkt {
    struct cs_pp_pkt *next_free;
    int64_t ext_seq;
    int64_t rec_us;                  /* mapped time on the output clock */
    uint32_t ts;
    bool marker;
    uint16_t len;                    /* payload bytes */
    uint8_t data[CS_REC_PACKET_MAX]; /* the RTP payload */
} cs_pp_pkt_t;

typedef struct {
    cs_pp_pkt_t *free_list;
    void **blocks;
    size_t n_blocks, cap_blocks;
    size_t total, in_use;
} cs_pp_pool_t;

void cs_pp_pool_init(cs_pp_pool_t *p);
cs_pp_pkt_t *cs_pp_pool_get(cs_pp_pool_t *p);   /* NULL at CS_PP_POOL_MAX or ENOMEM */
void cs_pp_pool_put(cs_pp_pool_t *p, cs_pp_pkt_t *pkt);
void cs_pp_pool_free(cs_pp_pool_t *p);

typedef struct {
    cs_pp_pkt_t **slot;              /* CS_PP_JB_SLOTS, by ext_seq */
    int64_t next;                    /* next sequence number to release */
    int64_t max;                     /* highest held */
    size_t count;
    bool started, released;
} cs_pp_jb_t;

int cs_pp_jb_init(cs_pp_jb_t *jb);
/* Takes pkt (its ext_seq set). CS_OK; CS_EEXIST (duplicate) or CS_ESTATE
 * (behind what was released) with pkt left to the caller; CS_ELIMIT when it
 * lies CS_PP_JB_SLOTS or more ahead: release some first. */
int cs_pp_jb_push(cs_pp_jb_t *jb, cs_pp_pkt_t *pkt);
/* The next packet in sequence order if its time is <= horizon_us (a gap
 * before it is given up: *lost says how many); NULL otherwise. */
cs_pp_pkt_t *cs_pp_jb_pop(cs_pp_jb_t *jb, int64_t horizon_us, uint64_t *lost);
/* Starts over after a new segment (nothing held). */
void cs_pp_jb_reset(cs_pp_jb_t *jb);
void cs_pp_jb_free(cs_pp_jb_t *jb, cs_pp_pool_t *pool);

/* ---- VP8 depacketiser (vp8_depack.c) ------------------------------------------ */

#define CS_PP_VP8_FRAME_MAX (4u << 20)

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    bool have_prev;
    int64_t next_ext;                /* expected next sequence number */
    bool in_frame, broken, keyframe, non_ref;
    uint32_t ts;
    bool pic_known;                  /* last_pic holds the last frame's PictureID */
    uint16_t last_pic;
    bool pic_15bit;
    bool has_tid, layer_sync;        /* the frame's temporal layer (RFC 7741 T, Y) */
    uint8_t tid;
    bool tl0_known;                  /* last_tl0 holds the frame's TL0PICIDX */
    uint8_t last_tl0;
    bool gap;                        /* packets missing since the last frame ended */
    bool need_key;                   /* the reference chain is broken */
    bool need_sync;                  /* an upper temporal layer's chain is broken */
    bool seen_key;                   /* a keyframe was emitted once */
    uint64_t frames, dropped, skipped;
} cs_pp_vp8_t;

typedef struct {
    const uint8_t *data;             /* valid until the next push */
    size_t len;
    uint32_t ts;
    bool keyframe;
} cs_pp_vp8_frame_t;

void cs_pp_vp8_init(cs_pp_vp8_t *d);
/*
 * One RTP payload, in sequence order (ext = extended sequence number; a jump
 * means packets were lost). Returns 1 with *out when a whole frame the
 * decoder may take is ready, 0 otherwise. Incomplete frames are dropped
 * (counted in dropped) and, unless marked non-reference, the depacketiser
 * waits for the next keyframe, or for the next base-layer frame when only
 * an upper temporal layer was hit (frames meanwhile counted in skipped).
 */
int cs_pp_vp8_push(cs_pp_vp8_t *d, int64_t ext, uint32_t ts, bool marker,
                   const uint8_t *payload, size_t len, cs_pp_vp8_frame_t *out);
/* The decoder refused a frame: wait for a keyframe. */
void cs_pp_vp8_need_key(cs_pp_vp8_t *d);
/* Frees the frame buffer; the counters stay (cs_pp_vp8_init to use it again). */
void cs_pp_vp8_free(cs_pp_vp8_t *d);

/* ---- images, VP8 decoder and encoder (video.c) -------------------------------- */

#define CS_PP_MAX_PIXELS (4096 * 4096) /* a larger decoded picture is refused */

/* An I420 picture with its own planes (strides = width, width / 2). */
typedef struct {
    int w, h;
    uint8_t *y, *u, *v;
    size_t cap;
    int64_t t_us;                    /* when it was taken (output clock) */
    bool valid;
} cs_pp_image_t;

int cs_pp_image_alloc(cs_pp_image_t *img, int w, int h);  /* w, h even */
void cs_pp_image_free(cs_pp_image_t *img);
/* Video black (Y 16, U V 128). */
void cs_pp_image_black(cs_pp_image_t *img);

typedef struct cs_pp_vdec cs_pp_vdec_t;
int cs_pp_vdec_new(cs_pp_vdec_t **out);
/* CS_OK with out filled (resized as needed), CS_EAGAIN (no picture shown),
 * CS_EINVAL (the decoder refused it or reports corruption), CS_ENOMEM. */
int cs_pp_vdec_decode(cs_pp_vdec_t *d, const uint8_t *frame, size_t len, cs_pp_image_t *out);
void cs_pp_vdec_free(cs_pp_vdec_t *d);

typedef int (*cs_pp_packet_fn)(void *user, const uint8_t *data, size_t len, int64_t pts,
                               bool key);
typedef struct cs_pp_venc cs_pp_venc_t;
int cs_pp_venc_new(int w, int h, int fps, int kbps, cs_pp_venc_t **out);
/* Encodes picture number index (NULL: flush) and hands every packet to fn
 * with pts in frames. */
int cs_pp_venc_encode(cs_pp_venc_t *e, const cs_pp_image_t *img, int64_t index,
                      cs_pp_packet_fn fn, void *user);
void cs_pp_venc_free(cs_pp_venc_t *e);

/* ---- audio (audio.c) -------------------------------------------------------------- */

#define CS_PP_MIX_SAMPLES 65536      /* 1.37 s: a power of two */

/* The mono mix on the output clock, in samples at 48 kHz. */
typedef struct {
    float *ring;
    int64_t read_pos;                /* samples before it were taken */
} cs_pp_mix_t;

int cs_pp_mix_init(cs_pp_mix_t *m);
/* Adds n samples at pos; what lies before read_pos or too far ahead is lost. */
void cs_pp_mix_add(cs_pp_mix_t *m, int64_t pos, const float *pcm, size_t n);
/* Takes the next n samples (clipped to [-1, 1]) and clears them. */
void cs_pp_mix_take(cs_pp_mix_t *m, float *out, size_t n);
void cs_pp_mix_free(cs_pp_mix_t *m);

/* One Opus stream decoded to mono 48 kHz and placed in the mix. */
typedef struct {
    void *dec;                       /* OpusDecoder */
    int64_t wpos;                    /* where its next sample goes; -1 before the first */
    int last_samples;                /* duration of its last packet */
    uint64_t errors, resyncs;
} cs_pp_adec_t;

int cs_pp_adec_init(cs_pp_adec_t *a);
/* Decodes one packet due at pos (samples, output clock) into the mix. */
void cs_pp_adec_packet(cs_pp_adec_t *a, cs_pp_mix_t *m, const uint8_t *data, size_t len,
                       int64_t pos);
/* Conceals lost packets at the stream's position (at most CS_PP_PLC_MAX;
 * more are left to silence): PLC, and the in-band FEC of next (the packet
 * after the gap, may be NULL) for the last of them. */
void cs_pp_adec_conceal(cs_pp_adec_t *a, cs_pp_mix_t *m, unsigned packets, const uint8_t *next,
                        size_t next_len);
void cs_pp_adec_free(cs_pp_adec_t *a);

typedef struct cs_pp_aenc cs_pp_aenc_t;
int cs_pp_aenc_new(int kbps, cs_pp_aenc_t **out);
/* Samples the decoder will drop at the start (the encoder's look-ahead). */
int cs_pp_aenc_preskip(const cs_pp_aenc_t *e);
/* One 20 ms frame: bytes written to out, or CS_EIO. */
int cs_pp_aenc_encode(cs_pp_aenc_t *e, const float *pcm, uint8_t *out, size_t cap);
void cs_pp_aenc_free(cs_pp_aenc_t *e);
/* RFC 7845 §5.1 identification header, channel mapping family 0. */
#define CS_PP_OPUS_HEAD_LEN 19
void cs_pp_opus_head(uint8_t out[CS_PP_OPUS_HEAD_LEN], int channels, int preskip);

/* ---- composition (compose.c) -------------------------------------------------------- */

typedef struct {
    int x, y, w, h;
} cs_pp_rect_t;

/* The grid for n tiles (1 full, 2 side by side, 3-4 2×2, 5-6 3×2, 7-9 3×3,
 * then ceil(sqrt)), cells on even pixels. n <= CS_PP_MAX_SHOWN. */
void cs_pp_grid(int n, int w, int h, cs_pp_rect_t *cells);
/* The largest rectangle of the source's aspect centred in cell (even). */
cs_pp_rect_t cs_pp_fit(int src_w, int src_h, const cs_pp_rect_t *cell);

/* One axis of a resampler: for each output pixel, taps weights (Q8,
 * summing to 1) over source pixels start .. start + taps - 1. */
typedef struct {
    int src, dst, taps;
    int *start;
    uint16_t *weight;                /* dst × taps */
} cs_pp_filter_t;

/* A separable resampler (a tent filter widened when shrinking: bilinear
 * when growing, an area-like average when shrinking) between fixed sizes;
 * rebuilt when the sizes change. Zero-initialise before first use. */
typedef struct {
    cs_pp_filter_t x, y, cx, cy;     /* luma and chroma axes */
    uint16_t *tmp;                   /* one row after the vertical pass */
    size_t tmp_cap;
} cs_pp_scaler_t;

/* Scales src into dst at rect r (r inside dst, even). CS_OK or CS_ENOMEM. */
int cs_pp_scale(cs_pp_scaler_t *s, const cs_pp_image_t *src, cs_pp_image_t *dst,
                const cs_pp_rect_t *r);
void cs_pp_scaler_free(cs_pp_scaler_t *s);
/* Darkens rect r of dst and, with alpha (r->w × r->h), writes white text. */
void cs_pp_band(cs_pp_image_t *dst, const cs_pp_rect_t *r, const uint8_t *alpha);

/* ---- muxer (mux.c) ---------------------------------------------------------------------- */

typedef struct cs_pp_mux cs_pp_mux_t;
/* A WebM with one VP8 track (w × h) and one mono Opus track, written through
 * out (borrowed). CS_OK, CS_EIO, CS_ENOMEM. */
int cs_pp_mux_open(cs_sealed_t *out, int w, int h, int preskip, cs_pp_mux_t **mux);
/* pts in ms (video); in samples at 48 kHz, the input's, not the decoder's (audio). */
int cs_pp_mux_video(cs_pp_mux_t *m, const uint8_t *data, size_t len, int64_t pts_ms,
                    int64_t duration_ms, bool key);
int cs_pp_mux_audio(cs_pp_mux_t *m, const uint8_t *data, size_t len, int64_t pts_samples,
                    int samples);
/* Writes the trailer (cues, durations) and flushes. */
int cs_pp_mux_finish(cs_pp_mux_t *m);
uint64_t cs_pp_mux_size(const cs_pp_mux_t *m);
void cs_pp_mux_free(cs_pp_mux_t *m);

/* ---- the job (postproc.c: checks, pass 1, result; render.c: pass 2) ------------------------ */

typedef struct {
    cs_rec_track_t track;
    unsigned input;
    bool usable;                     /* VP8 or Opus */
    bool video;
    int tile;                        /* video: its tile, or -1 */
    cs_pp_timeline_t tl;
    uint64_t packets;
    bool has_media;
    int64_t first_us, last_us;       /* output clock, from pass 1 */
    /* pass 2 */
    bool open, retired;
    cs_pp_jb_t jb;
    unsigned jb_seg;
    uint64_t lost;
    cs_pp_vp8_t vp8;
    cs_pp_vdec_t *vdec;
    uint64_t vdec_errors;
    cs_pp_image_t img;               /* its last picture */
    cs_pp_adec_t adec;
} cs_pp_stream_t;

/* A place in the grid: one member's camera, or screen (all layers of it). */
typedef struct {
    char member_id[CS_REC_ID_MAX];
    char source[CS_REC_SOURCE_MAX];
    char label[CS_REC_ID_MAX + 16];
    int order;                       /* of first appearance; -1 before */
    cs_pp_scaler_t scaler;
    uint8_t *alpha;                  /* its label, rendered for band w × h */
    int alpha_w, alpha_h;
    bool alpha_ok;
} cs_pp_tile_t;

typedef struct {
    cs_postproc_job_t cfg;           /* defaults filled in */
    cs_pp_source_t *src;
    cs_postproc_result_t *res;
    cs_pp_stream_t *streams[CS_PP_MAX_STREAMS];
    unsigned n_streams, decls;
    int16_t track_map[CS_REC_MAX_TRACKS];
    unsigned map_input;
    cs_pp_tile_t tiles[CS_PP_MAX_TILES];
    unsigned n_tiles;
    int next_order;
    int64_t origin_us, duration_us;  /* the output's span on the recording's clock */
    int64_t first_arrival, last_arrival;
    bool any_arrival;
    uint64_t unreadable;             /* pass 1: packets not RTP or of no declared track */
    uint64_t late, overflow;         /* pass 2: refused or dropped (their gaps count as lost) */
    uint64_t unsupported, too_many;  /* tracks with media we skip */
    /* pass 2 */
    cs_pp_pool_t pool;
    cs_pp_mix_t mix;
    cs_sealed_t *out;
    cs_pp_mux_t *mux;
    cs_pp_venc_t *venc;
    cs_pp_aenc_t *aenc;
    cs_pp_image_t canvas;
    int64_t vframes, aframes, n_vframes, n_aframes;
    int64_t now_us;                  /* latest arrival, output clock */
    double progress_sent;
} cs_pp_state_t;

/* postproc.c: a track declaration or a packet's stream (NULL: undeclared;
 * check usable), the same in both passes. */
void cs_pp_declare(cs_pp_state_t *st, const cs_pp_record_t *rec);
cs_pp_stream_t *cs_pp_stream_of(cs_pp_state_t *st, const cs_pp_record_t *rec);
bool cs_pp_cancelled(const cs_pp_state_t *st);
void cs_pp_progress(cs_pp_state_t *st, double fraction);

/* render.c: pass 2 into the open output; CS_OK or an error for the job. */
int cs_pp_render(cs_pp_state_t *st);
/* Frees what pass 2 allocated. */
void cs_pp_render_free(cs_pp_state_t *st);

#endif
