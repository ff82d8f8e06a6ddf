/* internal.h — the signalling server's private session structures, shared by
 * session.c (connections, limits, delivery) and dispatch.c (message handlers). */
#ifndef CS_SERVER_INTERNAL_H
#define CS_SERVER_INTERNAL_H

#include "common/common.h"
#include "server.h"

typedef struct session {
    cs_ws_conn_t *conn;
    bool authed;
    bool closing;
    cs_identity_t id;
    int64_t opened_at;
    double tokens;            /* rate-limit bucket */
    int64_t tokens_at;        /* last refill, monotonic ms */
    int refused_in_row;
    struct {
        uint64_t id;              /* 0 = free slot */
        char consult_id[CS_ID_MAX];
    } media[CS_SERVER_MAX_MEDIA_PER_SESSION];
    struct session *next_of_user;  /* sessions of one user, a singly linked list */
    struct session *prev, *next;   /* every session, for ticks */
} session_t;

struct cs_server {
    cs_server_config_t cfg;
    const cs_auth_t *auth;
    cs_engine_t *engine;
    cs_map_t *by_user;        /* "tenant\x1fsubject" → first session_t of that user */
    session_t *all;
    cs_server_stats_t stats;
    cs_server_media_hooks_t media;
    void *media_user;
    cs_map_t *media_by_id;    /* "%llu" media id → session_t */
    uint64_t next_media_id;
    /* Where each received message is decoded (~12 KiB: not on the loop's
     * stack, and one thread decodes one message at a time). */
    cs_msg_t msg;
    /* The last notice encoded, reused for its next recipients. */
    struct {
        cs_notice_kind_t kind;
        const void *what;
        uint64_t revision;
        const char *reason;
        char *json;
    } memo;
};

/* session.c */
void session_send(cs_server_t *s, session_t *ss, char *json); /* takes json */
void session_error(cs_server_t *s, session_t *ss, const char *req_id, int code,
                   const char *message);
/* An error about one field of the request (field "" or NULL: none). */
void session_error_field(cs_server_t *s, session_t *ss, const char *req_id, int code,
                         const char *message, const char *field);
/* A refused message that could not be decoded. */
void session_decode_error(cs_server_t *s, session_t *ss, const cs_proto_error_t *err);
void session_close(session_t *ss, int code, const char *reason);
session_t *session_first_of_user(cs_server_t *s, const session_t *ss);
int session_authenticate(cs_server_t *s, session_t *ss, const cs_identity_t *id);

/* media.c */
void on_media_offer(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_media_candidate(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_media_leave(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
/* Ends ss's media in consult_id (NULL: in every consult). */
void media_end(cs_server_t *s, session_t *ss, const char *consult_id);
/* After a consult changed: ends the media of sessions of (tenant, subject)
 * that may no longer have it there. */
void media_check_consult(cs_server_t *s, session_t *first_of_user, const cs_consult_t *c);
void media_add_to_snapshot(cs_server_t *s, session_t *ss, cs_proto_snapshot_t *snap);

/* notes.c */
void on_chat_send(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_chat_history(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_conclusion_save(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_conclusion_sign(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);
void on_conclusion_get(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);

/* dispatch.c */
void dispatch(cs_server_t *s, session_t *ss, const cs_msg_t *m);
void send_snapshot(cs_server_t *s, session_t *ss, const char *type, const char *req_id);

#endif
