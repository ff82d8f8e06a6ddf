/*
 * session.c — a connection's life as a session: admission, rate limit,
 * authentication deadline, token expiry, and delivery of engine notices to
 * every session of a user.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void cs_server_config_defaults(cs_server_config_t *cfg)
{
    cfg->auth_timeout_ms = 10000;
    cfg->rate_per_s = 20;
    cfg->rate_burst = 40;
    cfg->flood_close_after = 100;
    cfg->max_history = 200;
    cfg->attachment_max_bytes = 10 * 1024 * 1024;
}

cs_server_t *cs_server_new(const cs_server_config_t *cfg, const cs_auth_t *auth)
{
    cs_server_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    s->auth = auth;
    s->by_user = cs_map_new(0);
    s->media_by_id = cs_map_new(0);
    if (!s->by_user || !s->media_by_id) {
        cs_map_free(s->by_user);
        cs_map_free(s->media_by_id);
        free(s);
        return NULL;
    }
    return s;
}

void cs_server_free(cs_server_t *s)
{
    if (!s)
        return;
    session_t *ss = s->all;
    while (ss) {
        session_t *next = ss->next;
        cs_ws_conn_set_user(ss->conn, NULL);
        free(ss);
        ss = next;
    }
    cs_map_free(s->by_user);
    cs_map_free(s->media_by_id);
    free(s->memo.json);
    free(s);
}

void cs_server_attach_engine(cs_server_t *s, cs_engine_t *engine)
{
    s->engine = engine;
}

void cs_server_stats(const cs_server_t *s, cs_server_stats_t *out)
{
    *out = s->stats;
}

/* ---- sending ---------------------------------------------------------------- */

void session_close(session_t *ss, int code, const char *reason)
{
    if (ss->closing)
        return;
    ss->closing = true;
    cs_ws_close(ss->conn, code, reason);
}

/* Sends json (not freed); a reader too slow to drain its queue is closed. */
static void send_text(session_t *ss, const char *json)
{
    if (!json || ss->closing)
        return;
    if (cs_ws_send(ss->conn, json, strlen(json)) == CS_ELIMIT)
        session_close(ss, CS_CLOSE_POLICY, "outgoing queue full");
}

void session_send(cs_server_t *s, session_t *ss, char *json)
{
    (void)s;
    send_text(ss, json);
    free(json);
}

void session_error(cs_server_t *s, session_t *ss, const char *req_id, int code,
                   const char *message)
{
    s->stats.errors++;
    session_send(s, ss, cs_proto_encode_error(req_id, code, message, NULL));
}

void session_error_field(cs_server_t *s, session_t *ss, const char *req_id, int code,
                         const char *message, const char *field)
{
    s->stats.errors++;
    session_send(s, ss, cs_proto_encode_error(req_id, code, message, field));
}

void session_decode_error(cs_server_t *s, session_t *ss, const cs_proto_error_t *err)
{
    s->stats.errors++;
    session_send(s, ss, cs_proto_encode_error(err->req_id, err->code, err->message, err->field));
}

/* ---- sessions of a user -------------------------------------------------- */

/* Sessions are found by user: tenant and subject, as the engine addresses them. */
static void user_key(char *out, size_t size, const char *tenant, const char *subject)
{
    snprintf(out, size, "%s\x1f%s", tenant, subject);
}

session_t *session_first_of_user(cs_server_t *s, const session_t *ss)
{
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, ss->id.tenant, ss->id.subject);
    return cs_map_get(s->by_user, key);
}

static void unlink_user(cs_server_t *s, session_t *ss)
{
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, ss->id.tenant, ss->id.subject);
    session_t *head = cs_map_get(s->by_user, key), **pp = &head;
    while (*pp && *pp != ss)
        pp = &(*pp)->next_of_user;
    if (*pp)
        *pp = ss->next_of_user;
    ss->next_of_user = NULL;
    if (head)
        cs_map_put(s->by_user, key, head);
    else
        cs_map_remove(s->by_user, key);
}

int session_authenticate(cs_server_t *s, session_t *ss, const cs_identity_t *id)
{
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, id->tenant, id->subject);
    session_t *head = cs_map_get(s->by_user, key);
    ss->next_of_user = head;
    int rc = cs_map_put(s->by_user, key, ss);
    if (rc) {
        ss->next_of_user = NULL;
        return rc;
    }
    ss->id = *id;
    rc = cs_engine_connect(s->engine, id, cs_now_ms());
    if (rc) {
        unlink_user(s, ss);
        return rc;
    }
    ss->authed = true;
    s->stats.sessions++;
    s->stats.pending--;
    return CS_OK;
}

/* ---- transport hooks ------------------------------------------------------ */

void cs_server_on_open(cs_server_t *s, cs_ws_conn_t *c)
{
    session_t *ss = calloc(1, sizeof *ss);
    if (!ss) {
        cs_ws_close(c, 1011, "server out of memory");
        return;
    }
    ss->conn = c;
    ss->opened_at = cs_mono_ms();
    ss->tokens = s->cfg.rate_burst;
    ss->tokens_at = ss->opened_at;
    ss->next = s->all;
    if (s->all)
        s->all->prev = ss;
    s->all = ss;
    s->stats.pending++;
    cs_ws_conn_set_user(c, ss);
}

void cs_server_on_close(cs_server_t *s, cs_ws_conn_t *c)
{
    session_t *ss = cs_ws_conn_user(c);
    if (!ss)
        return;
    media_end(s, ss, NULL);
    if (ss->authed) {
        unlink_user(s, ss);
        cs_engine_disconnect(s->engine, &ss->id, cs_now_ms());
        s->stats.sessions--;
    } else {
        s->stats.pending--;
    }
    if (ss->prev)
        ss->prev->next = ss->next;
    else
        s->all = ss->next;
    if (ss->next)
        ss->next->prev = ss->prev;
    free(ss);
}

/* Token bucket; returns false when the message must be refused. */
static bool rate_ok(cs_server_t *s, session_t *ss)
{
    int64_t now = cs_mono_ms();
    ss->tokens += (double)(now - ss->tokens_at) * s->cfg.rate_per_s / 1000.0;
    if (ss->tokens > s->cfg.rate_burst)
        ss->tokens = s->cfg.rate_burst;
    ss->tokens_at = now;
    if (ss->tokens < 1.0)
        return false;
    ss->tokens -= 1.0;
    return true;
}

void cs_server_on_message(cs_server_t *s, cs_ws_conn_t *c, const char *data, size_t len)
{
    session_t *ss = cs_ws_conn_user(c);
    if (!ss || ss->closing)
        return;
    s->stats.messages++;
    if (!rate_ok(s, ss)) {
        s->stats.rate_limited++;
        if (++ss->refused_in_row >= s->cfg.flood_close_after)
            session_close(ss, CS_CLOSE_POLICY, "rate limit exceeded");
        else
            session_error(s, ss, NULL, CS_ELIMIT, "rate limit exceeded: slow down");
        return;
    }
    ss->refused_in_row = 0;
    cs_proto_error_t err;
    if (!cs_utf8_valid(data, len))
        session_error(s, ss, NULL, CS_EINVAL, "message is not valid UTF-8 text");
    else if (cs_proto_decode(data, len, &s->msg, &err) != CS_OK)
        session_decode_error(s, ss, &err);
    else
        dispatch(s, ss, &s->msg);
}

void cs_server_tick(cs_server_t *s, int64_t now_ms)
{
    int64_t mono = cs_mono_ms();
    for (session_t *ss = s->all; ss; ss = ss->next) {
        if (ss->closing)
            continue;
        if (!ss->authed && mono - ss->opened_at > s->cfg.auth_timeout_ms) {
            session_close(ss, CS_CLOSE_AUTH_TIMEOUT, "authentication timeout");
        } else if (ss->authed && ss->id.expires_at && now_ms >= ss->id.expires_at) {
            session_error(s, ss, NULL, CS_EEXPIRED, "your sign-in has expired");
            session_close(ss, CS_CLOSE_TOKEN_EXPIRED, "token expired");
        }
    }
}

void cs_server_close_all(cs_server_t *s)
{
    for (session_t *ss = s->all; ss; ss = ss->next)
        session_close(ss, CS_CLOSE_GOING_AWAY, "server shutting down");
}

/* ---- notices ------------------------------------------------------------ */

static char *encode_notice(const cs_notice_t *n)
{
    switch (n->kind) {
    case CS_NOTICE_CONSULT:
        return cs_proto_encode_consult("consult.updated", n->consult);
    case CS_NOTICE_OFFER:
        return cs_proto_encode_consult("consult.offered", n->consult);
    case CS_NOTICE_WITHDRAWN:
        return cs_proto_encode_withdrawn(n->consult->id, n->reason);
    case CS_NOTICE_ESCALATION:
        return cs_proto_encode_escalation(n->consult);
    case CS_NOTICE_PRESENCE:
        return cs_proto_encode_presence(n->user->subject, n->user->name, n->presence);
    case CS_NOTICE_CHAT:
        return cs_proto_encode_chat_message(n->message);
    }
    return NULL;
}

/* The engine addresses one notice to many users in a row: encode it once. */
static const char *memo_encode(cs_server_t *s, const cs_notice_t *n)
{
    const void *what = n->kind == CS_NOTICE_PRESENCE ? (const void *)n->user
                       : n->kind == CS_NOTICE_CHAT   ? (const void *)n->message
                                                     : n->consult;
    if (s->memo.json && s->memo.kind == n->kind && s->memo.what == what &&
        s->memo.revision == n->revision && s->memo.reason == n->reason)
        return s->memo.json;
    free(s->memo.json);
    s->memo.json = encode_notice(n);
    s->memo.kind = n->kind;
    s->memo.what = what;
    s->memo.revision = n->revision;
    s->memo.reason = n->reason;
    return s->memo.json;
}

void cs_server_notify(void *server, const char *tenant, const char *subject, const cs_notice_t *n)
{
    cs_server_t *s = server;
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX];
    user_key(key, sizeof key, tenant, subject);
    session_t *ss = cs_map_get(s->by_user, key);
    if (!ss)
        return;
    const char *json = memo_encode(s, n);
    for (session_t *one = ss; one; one = one->next_of_user)
        send_text(one, json);
    if (n->kind == CS_NOTICE_CONSULT)
        media_check_consult(s, ss, n->consult);
}
