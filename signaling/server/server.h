/*
 * server.h — the signalling server: sessions, message dispatch and delivery.
 *
 * Sits between the WebSocket transport (ws), the message format (proto), the
 * token checker (auth) and the consult engine (consult). A connection becomes a
 * session when it says "hello" with a valid token or invitation code; until
 * then it may only say hello or ping, and it is closed if it stays silent past
 * auth_timeout. Each session is rate limited. The engine's notices are encoded
 * once and sent to every session of the addressed user.
 * Runs on the thread that runs the ws loop.
 */
#ifndef CS_SERVER_H
#define CS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../auth/auth.h"
#include "../consult/consult.h"
#include "../ws/ws.h"

/* WebSocket close codes the server uses (4000–4999 is the application range). */
enum {
    CS_CLOSE_GOING_AWAY = 1001,     /* server shutting down */
    CS_CLOSE_POLICY = 1008,         /* flood beyond the rate limit, slow reader */
    CS_CLOSE_UNAUTHENTICATED = 4001,/* hello with a bad token or invitation */
    CS_CLOSE_AUTH_TIMEOUT = 4002,   /* no hello within auth_timeout */
    CS_CLOSE_TOKEN_EXPIRED = 4003,  /* the session's token expired */
};

typedef struct {
    int64_t auth_timeout_ms; /* time to say hello */
    double rate_per_s;       /* sustained messages per second per session */
    double rate_burst;       /* bucket size */
    int flood_close_after;   /* consecutive refused messages before closing */
    size_t max_history;      /* events returned by consult.history */
    int64_t attachment_max_bytes; /* told to clients in welcome.attachments */
} cs_server_config_t;

void cs_server_config_defaults(cs_server_config_t *cfg);

typedef struct cs_server cs_server_t;

/* cfg is copied; auth is borrowed and must outlive the server. */
cs_server_t *cs_server_new(const cs_server_config_t *cfg, const cs_auth_t *auth);
/* Frees the sessions (not the connections, which the ws server owns). */
void cs_server_free(cs_server_t *s);
/* The engine is borrowed; attach it before traffic flows. */
void cs_server_attach_engine(cs_server_t *s, cs_engine_t *engine);
/* The engine's notify callback: pass it with the server as user to cs_engine_new. */
void cs_server_notify(void *server, const char *tenant, const char *subject, const cs_notice_t *n);

/* Who an HTTP request's Authorization header ("Bearer <token>" or "Invite
 * <code>") names, checked as hello checks them. CS_OK, CS_EAUTH or
 * CS_EEXPIRED. */
int cs_server_authenticate(cs_server_t *s, const char *authorization, int64_t now_ms,
                           cs_identity_t *out);
/* Sends json (not taken) to the coordinators online for consult_id's centre
 * and the centre it is routed to (consult.quality). */
void cs_server_tell_coordinators(cs_server_t *s, const char *consult_id, const char *json);

/* Transport hooks, to be called from the ws callbacks. */
void cs_server_on_open(cs_server_t *s, cs_ws_conn_t *c);
void cs_server_on_message(cs_server_t *s, cs_ws_conn_t *c, const char *data, size_t len);
void cs_server_on_close(cs_server_t *s, cs_ws_conn_t *c);
/* Auth timeouts and token expiry; call about once a second or more. */
void cs_server_tick(cs_server_t *s, int64_t now_ms);
/* Closes every session with 1001 (shutdown). */
void cs_server_close_all(cs_server_t *s);

/*
 * Media: the server checks who may send media in which consult and keeps
 * which connection holds which media session; the media itself is the
 * gateway's (through these hooks), which answers later with
 * cs_server_media_deliver. A media session is one connection's media in one
 * consult, numbered by the server (never 0).
 */
#define CS_SERVER_MAX_MEDIA_PER_SESSION 4

typedef struct {
    /* media.offer from a present participant of an accepted or in-progress
     * realtime consult. CS_OK: posted (the gateway delivers media.answer or
     * an error carrying m->req_id later); else an error to send now. */
    int (*offer)(void *user, uint64_t media_id, const cs_identity_t *who, const cs_consult_t *c,
                 const cs_msg_t *m);
    /* A trickled candidate of an existing media session. */
    int (*candidate)(void *user, uint64_t media_id, const char *candidate);
    /* The media session ends (leave, left the room, consult over, connection closed). */
    void (*leave)(void *user, uint64_t media_id);
    /* welcome.media: fills at most cap ICE servers for who; returns how many. */
    size_t (*ice_servers)(void *user, const cs_identity_t *who, int64_t now_ms,
                          cs_proto_ice_server_t *out, size_t cap);
} cs_server_media_hooks_t;

/* hooks are copied; user is borrowed. */
void cs_server_attach_media(cs_server_t *s, const cs_server_media_hooks_t *hooks, void *user);
/* Sends json (taken, freed) to the connection holding media_id; false when
 * that media session is gone. */
bool cs_server_media_deliver(cs_server_t *s, uint64_t media_id, char *json);
/* Ends media_id on the server's side (the gateway saw it end): its
 * connection no longer holds it. */
void cs_server_media_forget(cs_server_t *s, uint64_t media_id);

typedef struct {
    uint64_t sessions;        /* authenticated sessions now */
    uint64_t pending;         /* connections not yet authenticated */
    uint64_t messages;        /* messages received */
    uint64_t errors;          /* error replies sent */
    uint64_t rate_limited;    /* messages refused by the rate limit */
    uint64_t auth_failures;   /* hello refused */
} cs_server_stats_t;
void cs_server_stats(const cs_server_t *s, cs_server_stats_t *out);

#endif
