/*
 * notes.c — the handlers of chat and conclusion messages, and the call quality
 * coordinators watch.
 *
 * Messages and conclusions are large (a conclusion is ~17 KiB), so replies
 * are built in scratch() heap memory, never on the event loop's stack.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Errors of the engine's notes actions name the offending field, if any. */
static void notes_error(cs_server_t *s, session_t *ss, const cs_msg_t *m, int rc,
                        const char *field)
{
    bool files = field && !strcmp(field, "attachments");
    char message[96];
    const char *text = NULL;
    if (files && rc == CS_EEXIST)
        text = "an attachment is already part of another consult";
    else if (files && rc == CS_ENOTFOUND)
        text = "no such attachment of yours";
    else if (field && !strcmp(field, "version") && rc == CS_ESTATE)
        text = "the draft changed or was signed meanwhile: reload it";
    else if (field && field[0] && rc == CS_EINVAL) {
        snprintf(message, sizeof message, "field '%s' must not be empty", field);
        text = message;
    }
    session_error_field(s, ss, m->req_id, rc, text, rc == CS_EINVAL || files ? field : NULL);
}

/* Room for a reply's records (zeroed), or NULL after answering no_memory. */
static void *scratch(cs_server_t *s, session_t *ss, const cs_msg_t *m, size_t size)
{
    void *p = calloc(1, size);
    if (!p)
        session_error(s, ss, m->req_id, CS_ENOMEM, NULL);
    return p;
}

void on_chat_send(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    cs_chat_message_t *msg = scratch(s, ss, m, sizeof *msg);
    if (!msg)
        return;
    const char *field = NULL;
    int rc = cs_engine_chat(s->engine, &ss->id, m->u.chat_send.consult_id, m->u.chat_send.text,
                            m->u.chat_send.attachments, m->u.chat_send.n_attachments, now, msg,
                            &field);
    if (rc)
        notes_error(s, ss, m, rc, field);
    else
        session_send(s, ss, cs_proto_encode_ok_with(m->req_id, NULL, msg, NULL));
    free(msg);
}

void on_chat_history(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    cs_chat_message_t *msgs = scratch(s, ss, m, CS_CHAT_HISTORY_MAX * sizeof *msgs);
    if (!msgs)
        return;
    int n = cs_engine_chat_history(s->engine, &ss->id, m->u.chat_history.consult_id,
                                   m->u.chat_history.before_seq, msgs, CS_CHAT_HISTORY_MAX);
    if (n < 0)
        session_error(s, ss, m->req_id, n, NULL);
    else
        session_send(s, ss, cs_proto_encode_chat_history(m->req_id, m->u.chat_history.consult_id,
                                                         msgs, (size_t)n));
    free(msgs);
}

/* The answer to a save or a sign (ok with the consult and the conclusion, or
 * the error); frees k, the handler's scratch. */
static void reply_conclusion(cs_server_t *s, session_t *ss, const cs_msg_t *m, int rc,
                             const char *field, const cs_consult_t *c, cs_conclusion_t *k)
{
    if (rc)
        notes_error(s, ss, m, rc, field);
    else
        session_send(s, ss, cs_proto_encode_ok_with(m->req_id, c, NULL, k));
    free(k);
}

void on_conclusion_save(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    cs_conclusion_t *k = scratch(s, ss, m, sizeof *k);
    if (!k)
        return;
    const cs_consult_t *c = NULL;
    const char *field = NULL;
    int rc = cs_engine_conclusion_save(s->engine, &ss->id, m->u.conclusion_save.consult_id,
                                       &m->u.conclusion_save.draft, now, k, &c, &field);
    reply_conclusion(s, ss, m, rc, field, c, k);
}

void on_conclusion_sign(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    cs_conclusion_t *k = scratch(s, ss, m, sizeof *k);
    if (!k)
        return;
    const cs_consult_t *c = NULL;
    const char *field = NULL;
    int rc = cs_engine_conclusion_sign(s->engine, &ss->id, m->u.conclusion_sign.consult_id,
                                       m->u.conclusion_sign.version, now, k, &c, &field);
    reply_conclusion(s, ss, m, rc, field, c, k);
}

void on_conclusion_get(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    cs_conclusion_t *k = scratch(s, ss, m, sizeof *k);
    if (!k)
        return;
    int rc = cs_engine_conclusion_get(s->engine, &ss->id, m->u.consult.consult_id, k);
    if (rc < 0)
        session_error(s, ss, m->req_id, rc, NULL);
    else
        session_send(s, ss, cs_proto_encode_conclusion(m->req_id, m->u.consult.consult_id,
                                                       rc ? k : NULL));
    free(k);
}

static bool coordinates(const cs_identity_t *id, const cs_consult_t *c)
{
    return id->role == CS_ROLE_COORDINATOR && !id->consult_scope[0] &&
           (!strcmp(id->tenant, c->tenant) || (c->routed_to[0] && !strcmp(id->tenant, c->routed_to)));
}

void cs_server_tell_coordinators(cs_server_t *s, const char *consult_id, const char *json)
{
    const cs_consult_t *c = s->engine ? cs_engine_find(s->engine, consult_id) : NULL;
    if (!c || !json)
        return;
    for (session_t *ss = s->all; ss; ss = ss->next) {
        if (ss->authed && !ss->closing && coordinates(&ss->id, c)) {
            char *copy = strdup(json);
            if (copy)
                session_send(s, ss, copy);
        }
    }
}
