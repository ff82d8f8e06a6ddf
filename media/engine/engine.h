/*
 * engine.h — the media core as the gateway sees it: a fixed set of media
 * worker threads, each running a GLib main context with the ICE agents,
 * DTLS/SRTP sessions and routers of the consult rooms pinned to it.
 *
 * The gateway's (signalling) thread is the only caller. It posts commands
 * (an offer, a trickled candidate, a leave) that run on the room's worker;
 * the workers post events back (an answer, a local candidate, a transport
 * state, the room's tracks, call quality) to a queue and call wake() so the
 * signalling thread drains it with cs_media_engine_poll(). Nothing else is
 * shared between threads: a packet is received, routed and sent on its
 * room's worker without a lock or a queue.
 *
 * A media session is one participant's RTCPeerConnection in one room,
 * identified by a number the gateway chooses; the room is made on the first
 * session and freed with the last.
 *
 * Recording (record.c): a member's published packets, as decrypted, go from
 * the router's recording tap into a capture session of media/recorder,
 * whose push never blocks; the worker declares each stream as a recorder
 * track on its first packet.
 */
#ifndef CS_MEDIA_ENGINE_H
#define CS_MEDIA_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/ice/ice.h"
#include "media/peer/peer.h"
#include "media/recorder/recorder.h"
#include "media/router/router.h"

#define CS_MEDIA_MAX_WORKERS 64
#define CS_MEDIA_ROOM_ID_MAX 64
#define CS_MEDIA_REQ_ID_MAX 64
#define CS_MEDIA_MAX_SOURCES 8

typedef struct {
    unsigned workers;                 /* 0: one per core */
    cs_ice_config_t ice;              /* strings copied */
    const char *dtls_cert_path;       /* PEM; NULL: an ECDSA P-256 one is generated */
    const char *dtls_key_path;
    unsigned quality_interval_ms;     /* media.quality events; 0 = 5000 */
    cs_router_config_t router;        /* test loss */
    /* Called from any worker when events are waiting. Required. */
    void (*wake)(void *user);
    void *wake_user;
} cs_media_config_t;

typedef enum {
    CS_MEDIA_EV_ANSWER,     /* text: the answer SDP; assignments */
    CS_MEDIA_EV_ERROR,      /* code, text: message (for the offer with request_id) */
    CS_MEDIA_EV_CANDIDATE,  /* text: "candidate:..." or "" (end) */
    CS_MEDIA_EV_STATE,      /* state, text: reason */
    CS_MEDIA_EV_TRACKS,     /* tracks: what the others publish */
    CS_MEDIA_EV_QUALITY,    /* stats: every member of the room */
} cs_media_event_type_t;

typedef struct cs_media_event {
    cs_media_event_type_t type;
    uint64_t session;
    char room[CS_MEDIA_ROOM_ID_MAX];
    char request_id[CS_MEDIA_REQ_ID_MAX];
    int code;
    cs_peer_state_t state;
    bool ended;                            /* the worker has ended this session */
    char *text;                            /* owned by the event; may be NULL */
    cs_router_assignment_t *assignments;   /* owned; n_assignments */
    size_t n_assignments;
    cs_router_track_t *tracks;             /* owned; n_tracks */
    size_t n_tracks;
    cs_router_member_stats_t *stats;       /* owned; n_stats */
    size_t n_stats;
    struct cs_media_event *next;
} cs_media_event_t;

typedef struct cs_media_engine cs_media_engine_t;

/* Starts the workers. NULL with *err set and a sentence in errbuf. */
cs_media_engine_t *cs_media_engine_new(const cs_media_config_t *cfg, int *err, char *errbuf,
                                       size_t errlen);
/* Stops the workers (every session closes) and frees what is left. */
void cs_media_engine_free(cs_media_engine_t *e);

/* The DTLS certificate's SHA-256 fingerprint, for logs. */
const char *cs_media_engine_fingerprint(const cs_media_engine_t *e);

/*
 * Posts an offer for session (new or existing) in room, by member_id (the
 * user; a second session of the same user in the room replaces the first).
 * The answer, or an error, comes back as an event carrying request_id.
 * sdp is copied. CS_ENOMEM, CS_EINVAL (empty ids), CS_ELIMIT (more sources
 * than CS_MEDIA_MAX_SOURCES).
 */
int cs_media_offer(cs_media_engine_t *e, uint64_t session, const char *room,
                   const char *member_id, const char *name, const char *request_id,
                   const char *sdp, const cs_router_section_source_t *sources,
                   size_t n_sources);
/* A trickled remote candidate ("" = end). CS_ENOTFOUND for an unknown session. */
int cs_media_candidate(cs_media_engine_t *e, uint64_t session, const char *candidate);
/* Ends a session (no-op when unknown). */
void cs_media_leave(cs_media_engine_t *e, uint64_t session);
/* True while the session exists (an offer was posted and it has not left). */
bool cs_media_has_session(const cs_media_engine_t *e, uint64_t session);

/*
 * Records member_id's published media in room into s, or stops (s NULL).
 * The setting holds for the member's present and later media sessions in
 * the room (a reconnect, a renegotiation, a room created later) until
 * changed; the worker holds a reference (cs_rec_session_retain) while it
 * records into s and releases it when the setting changes, the member's
 * session ends or the room closes, and at cs_media_engine_free. Settings
 * for rooms that do not exist yet are kept until the room is created (and
 * forgotten when set to NULL). Setting the session already set changes
 * nothing; another session (a new file) asks for keyframes again.
 *
 * Each (published track, simulcast layer, payload type) of a media session
 * becomes a recorder track on its first packet (cs_recorder_add_track); a
 * stream that starts over (a new SSRC, a republished track, a sequence
 * jump) and every later media session of the member get new tracks, so a
 * track's sequence numbers and timestamps always continue. Packets the
 * recorder's ring has no room for are dropped and counted
 * (record_dropped); once s is closed or failed (CS_ESTATE) nothing more is
 * pushed to it. Takes effect on the workers shortly after the call.
 * CS_EINVAL (empty or too long ids), CS_ENOMEM.
 */
int cs_media_record(cs_media_engine_t *e, const char *room, const char *member_id,
                    cs_rec_session_t *s);

/* Takes the oldest waiting event (NULL when none); free it with
 * cs_media_event_free. */
cs_media_event_t *cs_media_engine_poll(cs_media_engine_t *e);
void cs_media_event_free(cs_media_event_t *ev);

typedef struct {
    unsigned workers;
    uint64_t rooms, sessions, connected;
    cs_router_counters_t router;         /* summed over rooms, closed ones included */
    uint64_t dropped_srtp;
    uint64_t recorded_packets;           /* pushed to a recorder */
    uint64_t record_dropped;             /* not recorded: the recorder's ring was full (or it
                                            refused a track) */
} cs_media_engine_stats_t;
void cs_media_engine_stats(cs_media_engine_t *e, cs_media_engine_stats_t *out);

const char *cs_media_event_type_name(cs_media_event_type_t t);

#endif
