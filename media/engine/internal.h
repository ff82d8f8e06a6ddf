/* internal.h — the media engine's private parts, shared by engine.c (the
 * signalling thread's side: commands out, events in), worker.c (the
 * worker threads: rooms, sessions, timers) and record.c (recording). */
#ifndef CS_MEDIA_ENGINE_INTERNAL_H
#define CS_MEDIA_ENGINE_INTERNAL_H

#include <glib.h>
#include <pthread.h>

#include "common/common.h"
#include "engine.h"

typedef struct worker worker_t;
typedef struct room room_t;
typedef struct msession msession_t;

/* A recorder track declared for one stream of a session (record.c). */
typedef struct {
    bool declared;
    uint8_t payload_type;
    uint16_t track;                  /* the recorder's number */
    uint64_t generation;             /* the router's, when declared */
} rec_stream_t;

/* One participant's media on a worker. */
struct msession {
    uint64_t id;
    room_t *room;
    cs_peer_t *peer;
    cs_router_member_t *member;
    char member_id[CS_ROUTER_ID_MAX];
    char name[CS_ROUTER_ID_MAX];
    bool connected;
    cs_rec_session_t *rec;           /* a reference while recording; NULL: not */
    bool rec_closed;                 /* rec refused a push with CS_ESTATE */
    rec_stream_t rec_streams[CS_ROUTER_RECORD_STREAMS];
};

/* One consult room on a worker. */
struct room {
    char id[CS_MEDIA_ROOM_ID_MAX];
    worker_t *worker;
    cs_router_t *router;
    msession_t *sessions[CS_ROUTER_MAX_MEMBERS];
    size_t n_sessions;
    int64_t next_quality_us;
};

struct worker {
    cs_media_engine_t *engine;
    unsigned index;
    GMainContext *ctx;
    GMainLoop *loop;
    pthread_t thread;
    bool started;
    /* Owned by the worker thread: */
    cs_map_t *rooms;                 /* room id → room_t */
    cs_map_t *sessions;              /* "%llu" id → msession_t */
    cs_ice_batch_t *batch;           /* every peer's datagrams out, one sendmmsg per socket */
    cs_sdp_t *offer, *answer;        /* scratch, 1.1 MiB each */
    char *sdp_text;                  /* scratch for the answer's text */
    cs_router_counters_t closed_counters; /* of rooms already freed */
    uint64_t closed_dropped_srtp;
    cs_map_t *records;               /* rec_key(room, member) → cs_rec_session_t (a reference) */
    uint64_t recorded_packets, record_dropped;
    int64_t next_publish_us;
    /* Under engine->lock: this worker's totals, refreshed once a second. */
    cs_media_engine_stats_t published;
};

/* The signalling thread's view of a session. */
typedef struct {
    worker_t *worker;
    char room[CS_MEDIA_ROOM_ID_MAX];
} front_session_t;

typedef struct {
    worker_t *worker;
    size_t sessions;
} front_room_t;

struct cs_media_engine {
    cs_media_config_t cfg;
    char addresses[CS_ICE_MAX_ADDRESSES][64];
    char public_address[64];
    char stun_server[128];
    cs_dtls_cert_t *cert;
    char fingerprint[CS_DTLS_FINGERPRINT_SIZE];
    worker_t *workers;
    unsigned n_workers;
    /* Signalling thread only: */
    cs_map_t *front_sessions;        /* "%llu" → front_session_t */
    cs_map_t *front_rooms;           /* room id → front_room_t */
    size_t *rooms_per_worker;
    /* Shared, under lock: */
    pthread_mutex_t lock;
    cs_media_event_t *ev_head, *ev_tail;
};

/* engine.c */
/* The key of a session in the maps of both sides: its number in decimal. */
void session_key(uint64_t id, char out[24]);
void counters_add(cs_router_counters_t *total, const cs_router_counters_t *add);
cs_media_event_t *event_new(cs_media_event_type_t type, uint64_t session, const char *room);
/* Queues ev (taking it) and wakes the signalling thread. */
void event_post(cs_media_engine_t *e, cs_media_event_t *ev);

/* worker.c */
int worker_start(worker_t *w);
void worker_stop(worker_t *w);

typedef enum { CMD_OFFER, CMD_CANDIDATE, CMD_LEAVE, CMD_RECORD } cmd_type_t;
typedef struct {
    cmd_type_t type;
    worker_t *worker;
    uint64_t session;
    char room[CS_MEDIA_ROOM_ID_MAX];
    char member_id[CS_ROUTER_ID_MAX];
    char name[CS_ROUTER_ID_MAX];
    char request_id[CS_MEDIA_REQ_ID_MAX];
    char *text;                      /* offer SDP or candidate; owned */
    cs_rec_session_t *rec;           /* CMD_RECORD: a reference, or NULL to stop */
    cs_router_section_source_t sources[CS_MEDIA_MAX_SOURCES];
    size_t n_sources;
} cmd_t;
/* Runs cmd on its worker's thread and frees it there. */
void worker_post(cmd_t *cmd);
void cmd_free(cmd_t *cmd);

/* record.c, on the worker: the settings the workers keep, the sessions
 * recording by them and the router's recording tap. */
void rec_on_cmd(worker_t *w, cmd_t *cmd);
void rec_session_start(worker_t *w, msession_t *ms);
void rec_session_end(msession_t *ms);
void rec_settings_free(worker_t *w);
void rec_tap(void *room_user, void *member_user, const cs_router_record_track_t *t,
             const uint8_t *buf, size_t len, int64_t now_us);

#endif
