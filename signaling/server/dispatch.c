/*
 * dispatch.c — one handler per client message type, chosen from a table.
 *
 * Handlers translate a decoded message into an engine call and answer with
 * "ok" (carrying the consult) or "error"; the engine's notices tell everyone
 * else. Before "hello" only hello and ping are accepted.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef void (*handler_fn)(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now);

/* Answers an engine action: ok with the consult, or the error. */
static void reply(cs_server_t *s, session_t *ss, const cs_msg_t *m, int rc, const cs_consult_t *c)
{
    if (rc)
        session_error(s, ss, m->req_id, rc, NULL);
    else
        session_send(s, ss, cs_proto_encode_ok(m->req_id, c));
}

static const char *auth_error_message(int rc, const char *why)
{
    if (why)
        return why;
    return rc == CS_EEXPIRED ? "invitation expired" : "unknown invitation code";
}

/* A token, or else an invitation code, as hello and HTTP requests give them. */
static int identify(cs_server_t *s, const char *token, const char *invite, int64_t now,
                    cs_identity_t *id, const char **why)
{
    *why = NULL;
    return token ? cs_auth_verify(s->auth, token, now, id, why)
                 : cs_engine_redeem_invite(s->engine, invite, now, id);
}

int cs_server_authenticate(cs_server_t *s, const char *authorization, int64_t now_ms,
                           cs_identity_t *out)
{
    const char *why = NULL;
    int rc = CS_EAUTH;
    if (!strncmp(authorization, "Bearer ", 7) && authorization[7])
        rc = identify(s, authorization + 7, NULL, now_ms, out, &why);
    else if (!strncmp(authorization, "Invite ", 7) && authorization[7])
        rc = identify(s, NULL, authorization + 7, now_ms, out, &why);
    if (rc && rc != CS_EEXPIRED)
        rc = CS_EAUTH;
    if (rc)
        s->stats.auth_failures++;
    return rc;
}

static void on_hello(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    cs_identity_t id;
    const char *why = NULL;
    int rc = identify(s, m->u.hello.token[0] ? m->u.hello.token : NULL, m->u.hello.invite, now,
                      &id, &why);
    if (rc) {
        s->stats.auth_failures++;
        session_error(s, ss, m->req_id, rc == CS_EEXPIRED ? CS_EEXPIRED : CS_EAUTH,
                      auth_error_message(rc, why));
        if (!ss->authed)
            session_close(ss, CS_CLOSE_UNAUTHENTICATED,
                          rc == CS_EEXPIRED ? "token expired" : "authentication failed");
        return;
    }
    if (ss->authed) {
        /* A fresh token for the same user extends the session (sign-in refresh). */
        if (strcmp(id.subject, ss->id.subject) || strcmp(id.tenant, ss->id.tenant) ||
            strcmp(id.consult_scope, ss->id.consult_scope)) {
            session_error(s, ss, m->req_id, CS_EPERM, "a session cannot change its user");
            return;
        }
        ss->id.expires_at = id.expires_at;
        session_send(s, ss, cs_proto_encode_ok(m->req_id, NULL));
        return;
    }
    if ((rc = session_authenticate(s, ss, &id))) {
        session_error(s, ss, m->req_id, rc, NULL);
        session_close(ss, 1011, "could not start the session");
        return;
    }
    send_snapshot(s, ss, "welcome", m->req_id);
}

static void on_ping(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    session_send(s, ss, cs_proto_encode_pong(m->req_id, now));
}

static void add_consult(void *snap, const cs_consult_t *c)
{
    cs_proto_snapshot_add_consult(snap, c);
}

static void add_specialist(void *snap, const cs_user_t *u, cs_presence_t p)
{
    const char *specs[CS_MAX_SPECIALTIES];
    for (int i = 0; i < u->n_specialties; i++)
        specs[i] = u->specialties[i];
    cs_proto_snapshot_add_specialist(snap, u->subject, u->name, p,
                                     specs, u->n_specialties);
}

/* Deadlines for everyone; where the centre may route, for its coordinators. */
static void add_policy(cs_server_t *s, session_t *ss, cs_proto_snapshot_t *snap)
{
    const cs_engine_config_t *cfg = cs_engine_config(s->engine);
    const char *routes[CS_ARRAY_LEN(cfg->routes)];
    int n = 0;
    bool coordinator = ss->id.role == CS_ROLE_COORDINATOR && !ss->id.consult_scope[0];
    for (int i = 0; coordinator && i < cfg->n_routes; i++)
        if (strcmp(cfg->routes[i].from, ss->id.tenant) == 0)
            routes[n++] = cfg->routes[i].to;
    cs_proto_snapshot_set_policy(snap, cfg->warn_ms, cfg->deadline_ms, cfg->expire_ms, routes, n);
}

void send_snapshot(cs_server_t *s, session_t *ss, const char *type, const char *req_id)
{
    cs_presence_t p = cs_engine_presence(s->engine, ss->id.tenant, ss->id.subject);
    cs_proto_snapshot_t *snap = cs_proto_snapshot_begin(type, req_id, &ss->id, p, cs_now_ms());
    if (!snap) {
        session_error(s, ss, req_id, CS_ENOMEM, NULL);
        return;
    }
    add_policy(s, ss, snap);
    media_add_to_snapshot(s, ss, snap);
    cs_proto_snapshot_set_attachments(snap, s->cfg.attachment_max_bytes, cs_attachment_types,
                                      cs_attachment_types_n);
    cs_engine_visible(s->engine, &ss->id, add_consult, snap);
    if (ss->id.role == CS_ROLE_COORDINATOR && !ss->id.consult_scope[0])
        cs_engine_users(s->engine, ss->id.tenant, CS_ROLE_SPECIALIST, add_specialist, snap);
    session_send(s, ss, cs_proto_snapshot_finish(snap));
}

static void on_sync(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    send_snapshot(s, ss, "state", m->req_id);
}

static void on_presence(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    int rc = cs_engine_set_presence(s->engine, &ss->id, m->u.presence.status, now);
    reply(s, ss, m, rc, NULL);
}

static void on_request(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    cs_request_t req;
    req.patient = m->u.request.patient;
    memcpy(req.specialty, m->u.request.specialty, sizeof req.specialty);
    req.urgency = m->u.request.urgency;
    req.mode = m->u.request.mode;
    memcpy(req.reason, m->u.request.reason, sizeof req.reason);
    memcpy(req.attachments, m->u.request.attachments, sizeof req.attachments);
    req.n_attachments = m->u.request.n_attachments;
    const cs_consult_t *c = NULL;
    int rc = cs_engine_request(s->engine, &ss->id, &req, now, &c);
    /* A request has no consult to be missing yet: these are about its files. */
    if (rc == CS_ENOTFOUND || rc == CS_EEXIST)
        session_error_field(s, ss, m->req_id, rc,
                            rc == CS_EEXIST ? "an attachment is already part of a consult"
                                            : "no such attachment of yours",
                            "attachments");
    else
        reply(s, ss, m, rc, c);
}

/* Actions that take just a consult id share one shape: the table below names
 * the engine function, and this runs it. */
typedef int (*consult_action_fn)(cs_engine_t *e, const cs_identity_t *actor, const char *id,
                                 int64_t now, const cs_consult_t **out);

static void consult_action(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now,
                           consult_action_fn fn)
{
    const cs_consult_t *c = NULL;
    int rc = fn(s->engine, &ss->id, m->u.consult.consult_id, now, &c);
    reply(s, ss, m, rc, c);
    /* Leaving or ending the room ends its media (when the engine told no
     * one, e.g. a leave that changed nothing). */
    if (rc == CS_OK && c && ss->authed)
        media_check_consult(s, session_first_of_user(s, ss), c);
}

static void on_decline(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    reply(s, ss, m, cs_engine_decline(s->engine, &ss->id, m->u.consult.consult_id, now), NULL);
}

static void on_assign(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    const cs_consult_t *c = NULL;
    int rc = cs_engine_assign(s->engine, &ss->id, m->u.assign.consult_id, m->u.assign.specialist,
                              now, &c);
    reply(s, ss, m, rc, c);
}

static void on_route(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    const cs_consult_t *c = NULL;
    int rc =
        cs_engine_route(s->engine, &ss->id, m->u.route.consult_id, m->u.route.tenant, now, &c);
    reply(s, ss, m, rc, c);
}

static void on_invite(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    const cs_consult_t *c = NULL;
    char code[CS_INVITE_CODE_MAX] = "";
    int64_t expires_at = 0;
    int rc = cs_engine_invite(s->engine, &ss->id, m->u.invite.consult_id, m->u.invite.role,
                              m->u.invite.subject, m->u.invite.name, now, code, &expires_at, &c);
    if (rc == CS_OK && code[0])
        session_send(s, ss, cs_proto_encode_invite(m->req_id, c->id, code, m->u.invite.role,
                                                   expires_at));
    else
        reply(s, ss, m, rc, c);
}

static void on_history(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    size_t max = s->cfg.max_history;
    cs_event_t *ev = malloc(max * sizeof *ev);
    if (!ev) {
        session_error(s, ss, m->req_id, CS_ENOMEM, NULL);
        return;
    }
    int n = cs_engine_history(s->engine, &ss->id, m->u.consult.consult_id, ev, max);
    if (n < 0)
        session_error(s, ss, m->req_id, n, NULL);
    else
        session_send(s, ss, cs_proto_encode_history(m->req_id, m->u.consult.consult_id, ev,
                                                    (size_t)n));
    free(ev);
}

static void on_recording_start(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    const cs_consult_t *c = NULL;
    int rc = cs_engine_recording_start(s->engine, &ss->id, m->u.consult.consult_id, now, &c);
    if (rc == CS_EUNSUPPORTED)
        session_error(s, ss, m->req_id, rc, "recording is not enabled on this gateway");
    else if (rc == CS_ELIMIT)
        session_error(s, ss, m->req_id, rc, "this consult has as many recordings as it may have");
    else
        reply(s, ss, m, rc, c);
}

static void on_recording_consent(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    const cs_consult_t *c = NULL;
    int rc = cs_engine_recording_consent(s->engine, &ss->id, m->u.recording_consent.consult_id,
                                         m->u.recording_consent.consent, now, &c);
    reply(s, ss, m, rc, c);
}

static const struct {
    cs_msg_type_t type;
    handler_fn fn;             /* or, for the plain consult actions: */
    consult_action_fn action;
    bool before_hello;         /* allowed before authentication */
} handlers[] = {
    {CS_MSG_HELLO, on_hello, NULL, true},
    {CS_MSG_PING, on_ping, NULL, true},
    {CS_MSG_SYNC, on_sync, NULL, false},
    {CS_MSG_PRESENCE_SET, on_presence, NULL, false},
    {CS_MSG_CONSULT_REQUEST, on_request, NULL, false},
    {CS_MSG_CONSULT_CANCEL, NULL, cs_engine_cancel, false},
    {CS_MSG_CONSULT_ACCEPT, NULL, cs_engine_accept, false},
    {CS_MSG_CONSULT_DECLINE, on_decline, NULL, false},
    {CS_MSG_CONSULT_ASSIGN, on_assign, NULL, false},
    {CS_MSG_CONSULT_ROUTE, on_route, NULL, false},
    {CS_MSG_CONSULT_INVITE, on_invite, NULL, false},
    {CS_MSG_CONSULT_JOIN, NULL, cs_engine_join, false},
    {CS_MSG_CONSULT_LEAVE, NULL, cs_engine_leave, false},
    {CS_MSG_CONSULT_END, NULL, cs_engine_end, false},
    {CS_MSG_CONSULT_HISTORY, on_history, NULL, false},
    {CS_MSG_MEDIA_OFFER, on_media_offer, NULL, false},
    {CS_MSG_MEDIA_CANDIDATE, on_media_candidate, NULL, false},
    {CS_MSG_MEDIA_LEAVE, on_media_leave, NULL, false},
    {CS_MSG_CHAT_SEND, on_chat_send, NULL, false},
    {CS_MSG_CHAT_HISTORY, on_chat_history, NULL, false},
    {CS_MSG_CONCLUSION_SAVE, on_conclusion_save, NULL, false},
    {CS_MSG_CONCLUSION_SIGN, on_conclusion_sign, NULL, false},
    {CS_MSG_CONCLUSION_GET, on_conclusion_get, NULL, false},
    {CS_MSG_RECORDING_START, on_recording_start, NULL, false},
    {CS_MSG_RECORDING_CONSENT, on_recording_consent, NULL, false},
    {CS_MSG_RECORDING_STOP, NULL, cs_engine_recording_stop, false},
};

void dispatch(cs_server_t *s, session_t *ss, const cs_msg_t *m)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(handlers); i++) {
        if (handlers[i].type != m->type)
            continue;
        if (!ss->authed && !handlers[i].before_hello) {
            session_error(s, ss, m->req_id, CS_EAUTH, "say hello with a token first");
            return;
        }
        if (handlers[i].action)
            consult_action(s, ss, m, cs_now_ms(), handlers[i].action);
        else
            handlers[i].fn(s, ss, m, cs_now_ms());
        return;
    }
    session_error(s, ss, m->req_id, CS_EUNSUPPORTED, "unknown message type");
}
