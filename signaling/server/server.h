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

/* Transport hooks, to be called from the ws callbacks. */
void cs_server_on_open(cs_server_t *s, cs_ws_conn_t *c);
void cs_server_on_message(cs_server_t *s, cs_ws_conn_t *c, const char *data, size_t len);
void cs_server_on_close(cs_server_t *s, cs_ws_conn_t *c);
/* Auth timeouts and token expiry; call about once a second or more. */
void cs_server_tick(cs_server_t *s, int64_t now_ms);
/* Closes every session with 1001 (shutdown). */
void cs_server_close_all(cs_server_t *s);

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
