/*
 * router.h — the SFU of one consult room: who publishes which tracks, who
 * receives them, and every packet between them, in plaintext RTP/RTCP (the
 * peer layer below decrypts before and encrypts after).
 *
 * A room has up to CS_ROUTER_MAX_MEMBERS members. Each member is one browser
 * RTCPeerConnection (one BUNDLE transport) that publishes up to
 * CS_ROUTER_MAX_PUBLISHED tracks (microphone, camera, screen) in sections
 * the browser sends on, and receives the others' tracks in sections the
 * browser offered as recvonly. The browser is always the offerer; the router
 * reads each offer and completes the answer the peer layer built with
 * cs_sdp_answer(): it learns the published tracks, assigns the others'
 * tracks to the receiving sections, writes their SSRCs into the answer and
 * marks spare receiving sections inactive.
 *
 * Per packet (cs_router_on_rtp): the publisher's packet is identified by
 * SSRC (or its mid/rid header extension on the first packets), recorded in
 * the track's retransmission buffer, and for each subscriber rewritten once
 * into the room's scratch buffer — SSRC, sequence number and timestamp of
 * the subscriber's outgoing stream, payload type and header extension ids of
 * the subscriber's negotiation (mid, abs-send-time stamped now,
 * audio-level; other extensions dropped) — and handed to send_rtp, which
 * protects it in place and sends it. No allocation per packet.
 *
 * RTCP: receiver reports and TWCC feedback to publishers (and NACKs for
 * gaps upstream); sender reports to subscribers; a subscriber's NACK is
 * answered from the publisher's retransmission buffer (as RTX when the
 * subscriber negotiated it); PLI/FIR from subscribers are forwarded to the
 * publisher at most once per CS_ROUTER_KEYFRAME_INTERVAL_MS per track; a
 * keyframe is requested when a subscriber starts receiving a track or
 * switches simulcast layer. A subscriber's REMB chooses the simulcast layer
 * it gets (switching on a keyframe of the new layer); below the lowest
 * layer's need it gets no video and audio keeps flowing.
 *
 * Recording: the packets a member switched to recording publishes are
 * handed, as they arrived, to the record callback with a description of
 * their stream (router_record.c); the router knows nothing of files.
 *
 * Threads: a room and its members belong to one thread (the media worker the
 * consult is pinned to); nothing here locks. Callbacks run on that thread,
 * synchronously from the call that causes them.
 *
 * Ownership: the room copies what it keeps (ids, names, the negotiated
 * parameters it needs); never the SDP. Buffers handed to callbacks are the
 * room's and valid only during the call.
 */
#ifndef CS_ROUTER_H
#define CS_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/sdp/sdp.h"

#define CS_ROUTER_MAX_MEMBERS 8
#define CS_ROUTER_MAX_PUBLISHED 3          /* microphone, camera, screen */
#define CS_ROUTER_MAX_LAYERS 3             /* VP8 simulcast layers per video track */
#define CS_ROUTER_RTX_BUFFER 512           /* packets kept per publishing stream (a power of 2) */
#define CS_ROUTER_RTX_BYTES_MIN (16 * 1024) /* their bytes: starts here, doubles while it */
#define CS_ROUTER_RTX_BYTES_MAX (1024 * 1024) /* holds under a second, up to this */
#define CS_ROUTER_KEYFRAME_INTERVAL_MS 500 /* at most one PLI/FIR per track per this */
#define CS_ROUTER_ID_MAX 65                /* member ids (the user's id) and names */
#define CS_ROUTER_PACKET_MAX 1500          /* largest RTP/RTCP packet relayed */
#define CS_ROUTER_TRAILER 32               /* room left after a packet for SRTP */

typedef enum { CS_ROUTER_AUDIO, CS_ROUTER_VIDEO } cs_router_kind_t;
typedef enum {
    CS_ROUTER_SOURCE_MICROPHONE,
    CS_ROUTER_SOURCE_CAMERA,
    CS_ROUTER_SOURCE_SCREEN,
} cs_router_source_t;

typedef struct cs_router cs_router_t;
typedef struct cs_router_member cs_router_member_t;

/* Stream ids of a member's recorded media: published tracks × simulcast
 * layers × payload types of a section (media and RTX, see internal.h). */
#define CS_ROUTER_RECORD_STREAMS (CS_ROUTER_MAX_PUBLISHED * CS_ROUTER_MAX_LAYERS * 4)

/*
 * What the record callback says about the stream a packet belongs to. The
 * strings point into the room and are valid only during the call.
 *
 * stream is small (< CS_ROUTER_RECORD_STREAMS) and stable for one (published
 * track, simulcast layer, payload type) of the member, so a table indexed by
 * it maps streams to recorder tracks; a payload type the browser switches to
 * is another stream (its packets do not continue the other's). generation
 * changes when a stream starts over under the same id: another track
 * published in the same place, or the publisher restarting the layer (a new
 * SSRC, a sequence jump): sequence numbers and timestamps do not continue,
 * so a recorder should open a new track. A renegotiation that keeps the
 * track keeps both.
 *
 * layer is the layer's place among the track's layers by bitrate, 0 the
 * lowest, as the router ranks them for subscribers: measured rates once
 * every layer seen so far has one, before that the order of the answer's
 * a=simulcast (low to high from Chromium and Firefox). It may change while
 * the stream goes on (a recorder that keeps the first value keeps the
 * order as it was at the stream's start). 0 without simulcast.
 */
typedef struct {
    unsigned stream;
    uint64_t generation;
    cs_router_kind_t kind;
    cs_router_source_t source;
    uint8_t layer;                         /* see above */
    uint8_t payload_type;                  /* of this packet (RTX unwrapped: the media's) */
    uint32_t clock_rate;
    const char *codec;                     /* encoding name as negotiated: "opus", "VP8", "H264" */
    const char *member_id;
    const char *name;
} cs_router_record_track_t;

typedef struct {
    /* One plaintext packet for member (its user pointer). buf holds len bytes
     * and has room for cap >= len + CS_ROUTER_TRAILER, so the callee can
     * protect in place. Required. */
    void (*send_rtp)(void *room_user, void *member_user, uint8_t *buf, size_t len, size_t cap);
    void (*send_rtcp)(void *room_user, void *member_user, uint8_t *buf, size_t len, size_t cap);
    /* The room's published tracks changed (a member published, unpublished
     * or left): members should renegotiate to receive the new set. May be NULL. */
    void (*on_tracks_changed)(void *room_user);
} cs_router_callbacks_t;

typedef struct {
    /* Testing aids: percent (0..100) of RTP packets dropped on arrival from
     * publishers (the router then NACKs them) and before sending to
     * subscribers (who then NACK the router). Deterministic from seed. */
    unsigned loss_in_percent, loss_out_percent;
    uint32_t loss_seed;
    /* Testing aid: not 0 makes the SSRCs and first sequence numbers the
     * room draws a function of this seed (reproducible fuzzing); 0, the
     * default, seeds from the kernel. */
    uint32_t random_seed;
} cs_router_config_t;

/* What a member's offer says a section carries, by mid (from signalling:
 * the browser knows which transceiver holds the screen). Sections not
 * listed: audio is the microphone, the first video the camera, the next
 * the screen. */
typedef struct {
    char mid[CS_SDP_MID_MAX];
    cs_router_source_t source;
} cs_router_section_source_t;

/* A published track, as signalling shows it. */
typedef struct {
    char track_id[CS_ROUTER_ID_MAX];       /* stable for the track's life: "<member>:<source>" */
    char member_id[CS_ROUTER_ID_MAX];
    char name[CS_ROUTER_ID_MAX];
    cs_router_kind_t kind;
    cs_router_source_t source;
} cs_router_track_t;

/* One receiving section of a member's answer and the track it carries. */
typedef struct {
    char mid[CS_SDP_MID_MAX];
    cs_router_track_t track;
} cs_router_assignment_t;

/* Quality of one direction of one member's transport, over the last report
 * interval. -1 where not known yet. */
typedef struct {
    double loss_percent;                   /* packets lost / expected */
    double jitter_ms;
    double rtt_ms;
    double kbps;                           /* RTP payload + headers */
    uint64_t packets, bytes, nacks, retransmissions, keyframe_requests;
} cs_router_direction_stats_t;

typedef struct {
    char member_id[CS_ROUTER_ID_MAX];
    char name[CS_ROUTER_ID_MAX];
    cs_router_direction_stats_t up;        /* member -> gateway (what it publishes) */
    cs_router_direction_stats_t down;      /* gateway -> member (what it receives) */
    double available_kbps;                 /* last REMB from the member; -1: none */
} cs_router_member_stats_t;

/* Makes an empty room. cfg may be NULL. NULL with *err = CS_ENOMEM / CS_EINVAL. */
cs_router_t *cs_router_new(const cs_router_config_t *cfg, const cs_router_callbacks_t *cb,
                           void *user, int *err);
/* Frees the room and its members; no callback is invoked. */
void cs_router_free(cs_router_t *r);

/* Adds a member (not publishing or receiving anything until it negotiates).
 * member_id: the user's id, unique in the room (CS_EEXIST otherwise);
 * CS_ELIMIT over CS_ROUTER_MAX_MEMBERS, CS_EINVAL for an empty or too long
 * id or name. */
cs_router_member_t *cs_router_member_add(cs_router_t *r, const char *member_id,
                                         const char *name, void *member_user, int *err);
/* Removes a member: its tracks are unpublished (on_tracks_changed), others
 * stop receiving them. */
void cs_router_member_remove(cs_router_t *r, cs_router_member_t *m);
cs_router_member_t *cs_router_member_find(const cs_router_t *r, const char *member_id);
size_t cs_router_member_count(const cs_router_t *r);

/*
 * Applies one offer/answer exchange of member m. answer is what
 * cs_sdp_answer() built for offer; the router completes it (adds the
 * outgoing streams' a=msid/a=ssrc with cs_sdp_media_add_stream, makes spare
 * receiving sections inactive, removes transport-cc from the sections the
 * gateway sends on so browsers send REMB for them) and records:
 *  - what m publishes: each section the answer receives on (audio/video,
 *    codecs and payload types, extension ids, SSRCs or rids, RTX);
 *  - which track each of m's receiving sections carries, keeping earlier
 *    assignments where the track still exists; written to out (at most cap,
 *    count in *n_out).
 * Repeated for every renegotiation; a section no longer sent on is an
 * unpublished track. Returns CS_OK, CS_EINVAL when offer and answer do not
 * match, CS_ELIMIT over CS_ROUTER_MAX_PUBLISHED published tracks (nothing
 * changed). Calls on_tracks_changed when the published set changed.
 *
 * Decided here (details in router_negotiate.c and router_publish.c):
 *  - each source is published once: sources naming one twice, or a
 *    microphone for video (or the reverse), are CS_EINVAL; a second audio or
 *    a third video section without a free source is CS_ELIMIT; CS_ENOMEM
 *    when the retransmission buffers cannot be allocated (nothing changed);
 *  - a=msid of an outgoing stream: stream id = the publisher's member id
 *    with bytes outside [A-Za-z0-9_.-] as '_' ("m<join number>" if that
 *    collides with another member's), track id = the source name; cname
 *    "consilium";
 *  - a receiving section with nothing to carry becomes inactive (recvonly
 *    when the member also publishes in it); transport-cc is removed from
 *    sections only we send on and kept where the member publishes;
 *  - track_id is "<member>:<source>", or "m<join number>:<source>" when a
 *    long member id would not fit CS_ROUTER_ID_MAX.
 */
int cs_router_member_negotiate(cs_router_t *r, cs_router_member_t *m, const cs_sdp_t *offer,
                               const cs_router_section_source_t *sources, size_t n_sources,
                               cs_sdp_t *answer, cs_router_assignment_t *out, size_t cap,
                               size_t *n_out);

/* The member's transport is up (DTLS done, SRTP keys in place): keyframes are
 * requested for everything it receives. false: it went down; nothing is sent
 * to it until it is up again. */
void cs_router_member_set_connected(cs_router_t *r, cs_router_member_t *m, bool connected);

/*
 * The recording tap: a packet a recorded member published
 * (cs_router_member_set_recording), as it arrived and was decrypted, not
 * rewritten: every original and every retransmission that fills a hole (RTX
 * unwrapped into the media stream's SSRC, sequence number and payload type);
 * not duplicates, not what the router drops (malformed, unknown, not
 * negotiated, test loss). room_user and member_user as for send_rtp; now_us
 * is the now_us of cs_router_on_rtp. Called on the room's thread after the
 * packet was forwarded; the callee must not call into the router.
 *
 * Set apart from cs_router_callbacks_t (which every room has) because that
 * struct is initialised positionally in several places and a new field would
 * break them under -Wmissing-field-initializers. NULL (the default) records
 * nothing.
 */
typedef void (*cs_router_record_fn)(void *room_user, void *member_user,
                                    const cs_router_record_track_t *t, const uint8_t *buf,
                                    size_t len, int64_t now_us);
void cs_router_set_record_callback(cs_router_t *r, cs_router_record_fn fn);

/* Whether what m publishes goes to the record callback (off when added).
 * Switching on (also when it is on already) asks for a keyframe on each
 * layer of each of m's video tracks, so a recording starts decodable, within
 * the keyframe rate limit (a request inside the interval is sent by the tick
 * once it has passed); while it is on, so does m's transport coming up
 * again. */
void cs_router_member_set_recording(cs_router_t *r, cs_router_member_t *m, bool on);

/* A decrypted RTP packet from m (buf may be modified in place). Unknown SSRCs,
 * unnegotiated payload types and malformed packets are dropped and counted. */
void cs_router_on_rtp(cs_router_t *r, cs_router_member_t *m, uint8_t *buf, size_t len,
                      int64_t now_us);
/* A decrypted compound RTCP packet from m. Malformed ones are dropped. */
void cs_router_on_rtcp(cs_router_t *r, cs_router_member_t *m, const uint8_t *buf, size_t len,
                       int64_t now_us);
/* Timers: call at least every 50 ms. Sends TWCC feedback and upstream NACKs,
 * reports every second, pending keyframe requests, simulcast layer changes.
 * Every now_us is cs_mono_us() time; SRs carry it as wall-clock NTP, with
 * the offset between the two clocks taken in cs_router_new. */
void cs_router_tick(cs_router_t *r, int64_t now_us);

/* The published tracks (at most cap; returns the total count). */
size_t cs_router_tracks(const cs_router_t *r, cs_router_track_t *out, size_t cap);
/* Per-member quality (at most cap, in join order; returns the member
 * count). Rates and loss are over the time since the previous call (or the
 * member's first activity): each call starts a new interval, so the room
 * keeps what it needs of this call although r is const here. */
size_t cs_router_stats(const cs_router_t *r, cs_router_member_stats_t *out, size_t cap,
                       int64_t now_us);

/* Counters of dropped input, for /metrics. dropped_malformed includes
 * payload types not negotiated; nacks_in/nacks_out count the sequence
 * numbers asked for (by subscribers / of publishers); keyframe_requests the
 * PLI/FIR packets sent to publishers; retransmissions are also in rtp_out. */
typedef struct {
    uint64_t rtp_in, rtp_out, rtcp_in, rtcp_out;
    uint64_t dropped_malformed, dropped_unknown_ssrc, dropped_test_loss;
    uint64_t nacks_in, retransmissions, nacks_out, keyframe_requests;
} cs_router_counters_t;
void cs_router_counters(const cs_router_t *r, cs_router_counters_t *out);

const char *cs_router_source_name(cs_router_source_t s);   /* "microphone", ... */
int cs_router_source_parse(const char *name, cs_router_source_t *out);
const char *cs_router_kind_name(cs_router_kind_t k);       /* "audio", "video" */

#endif
