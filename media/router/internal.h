/*
 * internal.h — the router's private state, shared by its files: the room,
 * its members, the tracks each member publishes (one incoming stream per
 * simulcast layer, each with its retransmission ring, reception statistics
 * and upstream NACK list) and, per subscriber, one outgoing stream per track
 * it receives (SSRC, payload type and extension mapping, sequence and
 * timestamp offsets, simulcast layer state).
 *
 * Everything is fixed-size and lives in the room (one allocation) except the
 * retransmission rings, allocated when a negotiation creates a track. Tracks
 * and outgoing streams are referred to by pointer plus a room-unique id, so a
 * slot reused by a later track never passes for the old one.
 */
#ifndef CS_ROUTER_INTERNAL_H
#define CS_ROUTER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/common.h"
#include "media/router/router.h"
#include "media/rtcp/rtcp.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"

#define RT_MAX_CODECS 4          /* an answered section: Opus, or VP8/H.264 each with RTX
                                    (CS_ROUTER_RECORD_STREAMS counts on it) */
#define RT_MAX_OUTS (CS_ROUTER_MAX_MEMBERS * CS_ROUTER_MAX_PUBLISHED)
#define RT_MAX_FID 8             /* a=ssrc-group:FID pairs kept per published section */
#define RT_NACK_MAX 64           /* missing packets remembered per incoming stream */
#define RT_NACK_MAX_TRIES 4
#define RT_NACK_GIVE_UP_US 500000
#define RT_NACK_RETRY_US 100000  /* before an RTT is known */
#define RT_NACK_IN_MAX 128       /* sequence numbers honoured from one subscriber NACK */
#define RT_SEGMENTS 8            /* layer/offset history per outgoing stream, for NACKs */
#define RT_TWCC_RING 1024        /* transport-wide sequence numbers awaiting feedback */
#define RT_TWCC_INTERVAL_US 100000
#define RT_REPORT_INTERVAL_US 1000000
#define RT_RATE_INTERVAL_US 1000000
#define RT_LAYER_IDLE_US 1500000 /* a layer without packets this long is off */
#define RT_UP_HOLD_US 2000000    /* REMB must allow a higher layer this long */
#define RT_UP_MARGIN 1.2         /* ... with this margin over its bitrate */
#define RT_MIN_VIDEO_BPS 30000   /* below this a subscriber gets no video */
#define RT_KEEP_FRACTION 0.7     /* a layer is kept while REMB covers this much of it */
#define RT_PAUSE_LOSS 26         /* RR fraction lost (/256, ~10%) that lets video pause */
#define RT_PAUSE_RETRY_US 10000000 /* a paused stream is tried again after this */
#define RT_PROBE_GRACE_US 3000000  /* ... and not paused again for this long */
#define RT_HEADROOM 64           /* rewriting may add mid and abs-send-time */
#define RT_OUT_MAX (CS_ROUTER_PACKET_MAX + RT_HEADROOM)
#define RT_SCRATCH (RT_OUT_MAX + 2 + CS_ROUTER_TRAILER) /* + 2: the RTX OSN */
#define RT_RTCP_SCRATCH (CS_ROUTER_PACKET_MAX + CS_ROUTER_TRAILER)
#define RT_CNAME "consilium"

/* A negotiated payload type of one section. */
typedef enum { RT_CODEC_OTHER, RT_CODEC_VP8, RT_CODEC_H264 } rt_codec_kind_t;

typedef struct {
    uint8_t pt;
    bool is_rtx;
    rt_codec_kind_t kind;           /* from name, once: what keyframe detection parses */
    uint8_t apt;                    /* RTX: the payload type it repairs */
    uint16_t fb;                    /* CS_SDP_FB_* */
    uint32_t clock;
    char name[CS_SDP_NAME_MAX];
} rt_codec_t;

/* Header extension ids of one section (0: not negotiated). */
typedef struct {
    uint8_t mid, rid, rrid, abs, twcc, level;
} rt_extids_t;

/* What one retransmission ring slot holds (indexed by seq % CS_ROUTER_RTX_BUFFER). */
typedef struct {
    uint32_t epoch;                 /* the stream's epoch when stored */
    uint16_t len;                   /* 0: empty */
    uint16_t seq;
    uint32_t pos;                   /* where its bytes start, in ring.head's count */
} rt_slot_t;

/* Slot headers apart from the packets, and the packets packed one after the
 * other in a byte ring (a packet never straddles its end) sized to about a
 * second of the stream: an audio stream keeps 16 KiB, a 600 kbit/s camera
 * 128 KiB, where fixed 1,500-byte slots took 750 KiB for either. */
typedef struct {
    rt_slot_t *slots;               /* CS_ROUTER_RTX_BUFFER, zeroed */
    uint8_t *data;                  /* cap bytes */
    uint32_t cap;                   /* a power of 2 */
    uint32_t head;                  /* bytes ever written (mod 2^32), wrap gaps included */
    int64_t wrap_us;                /* when the data last wrapped; 0 never */
} rt_ring_t;

typedef struct {
    uint16_t seq;
    uint8_t tries;
    int64_t first_us, sent_us;      /* sent_us: meaningful once tries > 0 */
} rt_nack_t;

/* One incoming RTP stream: a simulcast layer or a track's only stream. */
typedef struct {
    bool has_ssrc, has_rtx;
    uint32_t ssrc, rtx_ssrc;
    char rid[CS_SDP_RID_MAX];       /* "" when not simulcast */
    uint32_t epoch;                 /* +1 when the sequence restarts */
    cs_rtp_seqtrack_t seq;
    cs_rtp_jitter_t jitter;
    bool have_max;
    uint16_t max_seq;               /* highest seen, for gap detection */
    uint8_t n_nacks;
    rt_nack_t nacks[RT_NACK_MAX];
    rt_ring_t ring;
    bool have_sr;                   /* the publisher's last SR on this stream */
    uint32_t sr_lsr, sr_rtp;
    int64_t sr_arrival_us;
    uint64_t packets, bytes;        /* originals (not RTX) */
    uint64_t rate_bytes;            /* bytes at the last rate update */
    int64_t rate_us;                /* its time; 0: not measuring yet */
    double bps;                     /* measured bitrate, 0 until known */
    int64_t last_us;                /* last arrival; 0 none */
    uint64_t st_expected, st_received; /* at the previous stats call */
} rt_in_t;

typedef struct rt_track {
    bool used;
    uint32_t uid;                   /* unique in the room, never reused */
    uint8_t slot;                   /* owner index * MAX_PUBLISHED + index */
    struct cs_router_member *owner;
    cs_router_track_t info;
    char mid[CS_SDP_MID_MAX];
    uint8_t n_codecs;
    rt_codec_t codecs[RT_MAX_CODECS];
    rt_extids_t ext;
    bool nack;                      /* the publisher answers NACKs */
    bool fir_only;                  /* no "nack pli" but "ccm fir" */
    bool simulcast;                 /* layers known by rid */
    uint8_t n_layers;
    rt_in_t layers[CS_ROUTER_MAX_LAYERS];
    uint8_t rank[CS_ROUTER_MAX_LAYERS]; /* layer indices, lowest bitrate first */
    uint8_t n_fid;
    uint32_t fid[RT_MAX_FID][2];    /* media, rtx pairs from the offer */
    bool kf_sent;                   /* a PLI/FIR was ever sent */
    int64_t kf_last_us;             /* when the last one was */
    uint8_t kf_pending;             /* layer bit mask waiting for the interval */
    uint8_t fir_seq;
} rt_track_t;

/* Where a run of a subscriber's sequence numbers came from. */
typedef struct {
    bool used;
    uint8_t layer;
    uint16_t first_out, first_in;
    uint16_t seq_offset;            /* out = in + seq_offset */
    uint32_t ts_offset;
    uint32_t epoch;
} rt_segment_t;

/* One track as one subscriber receives it. Indexed by the track's slot. */
typedef struct {
    rt_track_t *track;              /* NULL: free */
    uint32_t track_uid;
    bool assigned;                  /* a section carries it now */
    char mid[CS_SDP_MID_MAX];
    uint32_t ssrc, rtx_ssrc;        /* stable while the track exists */
    uint8_t n_codecs;
    rt_codec_t codecs[RT_MAX_CODECS];
    int16_t pt_map[RT_MAX_CODECS];  /* publisher codec index -> our pt, -1 none */
    int16_t rtx_map[RT_MAX_CODECS]; /* ... -> our RTX pt, -1 none */
    rt_extids_t ext;
    int8_t cur_layer, target_layer; /* -1: none yet / paused */
    bool started;
    uint16_t last_seq;
    uint32_t last_ts;
    int64_t last_us;
    uint8_t seg_head;               /* index of the newest segment */
    rt_segment_t segs[RT_SEGMENTS];
    uint16_t rtx_seq;
    int64_t up_since_us, paused_us, probe_until_us;
    uint64_t packets, bytes, octets, retransmissions;
    uint32_t sr_lsr[2];             /* our last two SRs, for RTT */
    bool have_rr;
    uint8_t rr_fraction;
    uint32_t rr_jitter;
} rt_out_t;

typedef struct {
    uint8_t id;                     /* extension id; 0: not negotiated */
    bool have;
    uint16_t base, max;             /* next to report, highest seen */
    uint8_t fb_count;
    int64_t arrival[RT_TWCC_RING];  /* -1: not received */
    int64_t next_us;
} rt_twcc_t;

struct cs_router_member {
    bool used;
    uint8_t index;
    uint32_t join;
    char id[CS_ROUTER_ID_MAX], name[CS_ROUTER_ID_MAX];
    char stream_id[CS_SDP_ID_MAX];  /* msid stream id of its tracks */
    void *user;
    bool connected, rsize;
    bool recording;                 /* what it publishes goes to r->record */
    uint32_t local_ssrc;            /* sender of our RTCP to it */
    rt_track_t tracks[CS_ROUTER_MAX_PUBLISHED];
    rt_out_t outs[RT_MAX_OUTS];
    bool have_remb;
    bool remb_has_audio;            /* the estimate covers our audio too (Chromium's
                                       REMB often lists the video SSRC only) */
    uint64_t remb_bps;
    int64_t rtt_us;                 /* -1 unknown */
    rt_twcc_t twcc;
    int64_t next_report_us;
    uint64_t up_nacks, up_rtx, up_kf, down_nacks, down_rtx, down_kf;
    uint64_t down_packets, down_bytes;
    int64_t st_at_us;               /* previous stats call (or first activity) */
    uint64_t st_up_bytes, st_down_bytes;
};

struct cs_router {
    cs_router_callbacks_t cb;
    cs_router_record_fn record; /* NULL: nothing is recorded */
    void *user;
    cs_router_config_t cfg;
    uint32_t rng, loss_rng;
    uint32_t next_join, next_uid;
    int64_t wall_offset_us;         /* now_us + this = Unix time, for NTP */
    bool have_epoch;
    int64_t epoch_us;               /* first time seen: TWCC reference base */
    int64_t now_us;                 /* latest time seen, for calls that have none */
    int64_t next_rate_us;
    cs_router_counters_t c;
    cs_router_member_t members[CS_ROUTER_MAX_MEMBERS];
    uint8_t scratch[RT_SCRATCH];
    uint8_t rtcp[RT_RTCP_SCRATCH];
};

/* router.c */
bool rt_member_ok(const cs_router_t *r, const cs_router_member_t *m);
size_t rt_members_by_join(cs_router_t *r, cs_router_member_t **out);
void rt_track_drop(cs_router_t *r, rt_track_t *t);
uint32_t rt_rand(cs_router_t *r);
uint32_t rt_new_ssrc(cs_router_t *r);
rt_track_t *rt_out_track(const rt_out_t *o);
rt_out_t *rt_out_by_ssrc(cs_router_member_t *m, uint32_t ssrc);
void rt_send_rtcp(cs_router_t *r, cs_router_member_t *m, cs_rtcp_builder_t *b);
void rt_fb_begin(cs_router_t *r, cs_router_member_t *m, cs_rtcp_builder_t *b);
uint32_t rt_ts_elapsed(int64_t us, uint32_t clock);
int rt_codec_index(const rt_track_t *t, uint8_t pt);

/* router_ingest.c */
void rt_ingest(cs_router_t *r, cs_router_member_t *m, uint8_t *buf, size_t len, int64_t now);
bool rt_test_loss(cs_router_t *r, unsigned percent);

/* router_buffer.c */
int rt_ring_new(rt_ring_t *ring);
void rt_ring_free(rt_ring_t *ring);
void rt_ring_put(rt_in_t *in, uint16_t seq, const uint8_t *buf, size_t len, int64_t now);
const uint8_t *rt_ring_get(const rt_in_t *in, uint16_t seq, size_t *len);
void rt_in_reset(rt_in_t *in);
void rt_in_bind(rt_track_t *t, rt_in_t *in, uint32_t ssrc);
void rt_track_release(rt_track_t *t);

/* One section of an answer that receives what the member publishes. */
typedef struct {
    unsigned section;               /* index in offer and answer */
    cs_router_source_t source;
    int old;                        /* the member's track with this mid; -1: new */
    uint8_t n_layers;
    rt_ring_t rings[CS_ROUTER_MAX_LAYERS]; /* allocated for it, not yet owned */
} rt_plan_t;

/* router_publish.c */
bool rt_section_receives(const cs_sdp_media_t *a);
bool rt_section_sends(const cs_sdp_media_t *a);
int rt_publish_plan(cs_router_member_t *m, const cs_sdp_t *offer, const cs_sdp_t *answer,
                    const cs_router_section_source_t *sources, size_t n_sources,
                    rt_plan_t *plan, size_t *n_plan);
bool rt_publish_commit(cs_router_t *r, cs_router_member_t *m, const cs_sdp_t *offer,
                       const cs_sdp_t *answer, rt_plan_t *plan, size_t n_plan);
void rt_codecs_read(const cs_sdp_media_t *a, rt_codec_t *out, uint8_t *n);
void rt_extids_read(const cs_sdp_media_t *a, rt_extids_t *out);

/* router_negotiate.c */
void rt_remap_all(cs_router_t *r);

/* router_forward.c */
void rt_forward(cs_router_t *r, cs_router_member_t *pub, rt_track_t *t, uint8_t layer,
                const cs_rtp_packet_t *p, int ci, bool keyframe, int64_t now);
int rt_rewrite(cs_router_t *r, const rt_out_t *o, const rt_track_t *t, int ci,
               const cs_rtp_packet_t *p, uint16_t seq, uint32_t ts, int64_t now);
void rt_out_restart(rt_out_t *o);
bool rt_is_keyframe(const rt_track_t *t, int ci, const cs_rtp_packet_t *p);

/* router_simulcast.c */
void rt_rates_update(cs_router_t *r, int64_t now);
void rt_layers_select(cs_router_t *r, cs_router_member_t *m, int64_t now);
int8_t rt_initial_layer(const rt_track_t *t);
bool rt_layer_active(const rt_in_t *in, int64_t now);
void rt_keyframe_request(cs_router_t *r, rt_track_t *t, int layer, int64_t now);
void rt_keyframe_flush(cs_router_t *r, int64_t now);
void rt_out_wait_keyframes(cs_router_t *r, cs_router_member_t *m, int64_t now);

/* router_rtcp.c */
void rt_rtcp_in(cs_router_t *r, cs_router_member_t *m, const uint8_t *buf, size_t len,
                int64_t now);
void rt_reports(cs_router_t *r, cs_router_member_t *m, int64_t now);
void rt_nack_note(rt_track_t *t, rt_in_t *in, uint16_t seq, int64_t now);
void rt_nack_upstream(cs_router_t *r, cs_router_member_t *m, int64_t now);

/* router_record.c */
void rt_record(cs_router_t *r, cs_router_member_t *m, const rt_track_t *t, uint8_t layer, int ci,
               const cs_rtp_packet_t *p, const uint8_t *buf, size_t len, int64_t now);
void rt_record_keyframes(cs_router_t *r, cs_router_member_t *m);

/* router_twcc.c */
void rt_twcc_record(cs_router_t *r, cs_router_member_t *m, const rt_track_t *t,
                    const cs_rtp_packet_t *p, int64_t now);
void rt_twcc_flush(cs_router_t *r, cs_router_member_t *m, int64_t now);
void rt_twcc_reset(rt_twcc_t *tw);

#endif
