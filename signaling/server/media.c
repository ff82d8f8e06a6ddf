/*
 * media.c — the signalling side of media: who may send media.offer in which
 * consult, which connection holds which media session, and ending media
 * sessions when their reason to exist goes (leave, the consult ends, the
 * connection closes). The media itself goes through the gateway's hooks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void media_key(uint64_t id, char out[24])
{
    snprintf(out, 24, "%llu", (unsigned long long)id);
}

void cs_server_attach_media(cs_server_t *s, const cs_server_media_hooks_t *hooks, void *user)
{
    s->media = *hooks;
    s->media_user = user;
}

static int slot_of(const session_t *ss, const char *consult_id)
{
    for (int i = 0; i < CS_SERVER_MAX_MEDIA_PER_SESSION; i++)
        if (ss->media[i].id && strcmp(ss->media[i].consult_id, consult_id) == 0)
            return i;
    return -1;
}

static void release_slot(cs_server_t *s, session_t *ss, int i, bool tell_gateway)
{
    char key[24];
    media_key(ss->media[i].id, key);
    cs_map_remove(s->media_by_id, key);
    if (tell_gateway && s->media.leave)
        s->media.leave(s->media_user, ss->media[i].id);
    ss->media[i].id = 0;
    ss->media[i].consult_id[0] = '\0';
}

void media_end(cs_server_t *s, session_t *ss, const char *consult_id)
{
    for (int i = 0; i < CS_SERVER_MAX_MEDIA_PER_SESSION; i++)
        if (ss->media[i].id && (!consult_id || strcmp(ss->media[i].consult_id, consult_id) == 0))
            release_slot(s, ss, i, true);
}

static const cs_participant_t *present_participant(const cs_consult_t *c, const cs_identity_t *id)
{
    for (int i = 0; i < c->n_participants; i++) {
        const cs_participant_t *p = &c->participants[i];
        if (p->present && strcmp(p->subject, id->subject) == 0 &&
            strcmp(p->tenant, id->tenant) == 0)
            return p;
    }
    return NULL;
}

static bool media_allowed(const cs_consult_t *c, const cs_identity_t *id)
{
    return (c->state == CS_STATE_ACCEPTED || c->state == CS_STATE_IN_PROGRESS) &&
           present_participant(c, id) != NULL;
}

void media_check_consult(cs_server_t *s, session_t *first, const cs_consult_t *c)
{
    for (session_t *ss = first; ss; ss = ss->next_of_user) {
        int i = slot_of(ss, c->id);
        if (i >= 0 && !media_allowed(c, &ss->id))
            release_slot(s, ss, i, true);
    }
}

/* Finds the consult and checks the actor may send media in it; *why says
 * what is wrong for the error reply. */
static int check_consult(cs_server_t *s, session_t *ss, const char *consult_id,
                         const cs_consult_t **out, const char **why)
{
    const cs_consult_t *c = cs_engine_find(s->engine, consult_id);
    *why = NULL;
    if (!c || !cs_engine_may_see(s->engine, &ss->id, c))
        return CS_ENOTFOUND;
    if (c->mode != CS_MODE_REALTIME) {
        *why = "a deferred consult has no video call";
        return CS_ESTATE;
    }
    if (c->state != CS_STATE_ACCEPTED && c->state != CS_STATE_IN_PROGRESS) {
        *why = "the consult is not accepted or in progress";
        return CS_ESTATE;
    }
    if (!present_participant(c, &ss->id)) {
        *why = "join the room first";
        return CS_ESTATE;
    }
    *out = c;
    return CS_OK;
}

void on_media_offer(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    const char *cid = m->u.media_offer.consult_id;
    const cs_consult_t *c = NULL;
    const char *why;
    int rc = check_consult(s, ss, cid, &c, &why);
    if (rc) {
        session_error(s, ss, m->req_id, rc, why);
        return;
    }
    if (!s->media.offer) {
        session_error(s, ss, m->req_id, CS_EUNSUPPORTED, "media is not enabled on this gateway");
        return;
    }
    int i = slot_of(ss, cid);
    bool fresh = i < 0;
    if (fresh) {
        for (i = 0; i < CS_SERVER_MAX_MEDIA_PER_SESSION && ss->media[i].id; i++)
            ;
        if (i == CS_SERVER_MAX_MEDIA_PER_SESSION) {
            session_error(s, ss, m->req_id, CS_ELIMIT, "media in too many consults at once");
            return;
        }
        char key[24];
        ss->media[i].id = ++s->next_media_id;
        cs_strlcpy(ss->media[i].consult_id, cid, sizeof ss->media[i].consult_id);
        media_key(ss->media[i].id, key);
        if (cs_map_put(s->media_by_id, key, ss)) {
            ss->media[i].id = 0;
            session_error(s, ss, m->req_id, CS_ENOMEM, NULL);
            return;
        }
    }
    rc = s->media.offer(s->media_user, ss->media[i].id, &ss->id, c, m);
    if (rc) {
        if (fresh)
            release_slot(s, ss, i, true);
        session_error(s, ss, m->req_id, rc, NULL);
    }
}

void on_media_candidate(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    int i = slot_of(ss, m->u.media_candidate.consult_id);
    if (i < 0) {
        session_error(s, ss, m->req_id, CS_ESTATE, "send media.offer first");
        return;
    }
    int rc = s->media.candidate(s->media_user, ss->media[i].id, m->u.media_candidate.candidate);
    if (rc == CS_EINVAL) {
        cs_proto_error_t e = {.code = CS_EINVAL, .field = "candidate",
                              .message = "field 'candidate' is not an ICE candidate line"};
        cs_strlcpy(e.req_id, m->req_id, sizeof e.req_id);
        session_decode_error(s, ss, &e);
    } else if (rc) {
        session_error(s, ss, m->req_id, rc, NULL);
    }
    else if (m->req_id[0])
        session_send(s, ss, cs_proto_encode_ok(m->req_id, NULL));
}

void on_media_leave(cs_server_t *s, session_t *ss, const cs_msg_t *m, int64_t now)
{
    (void)now;
    media_end(s, ss, m->u.consult.consult_id);
    session_send(s, ss, cs_proto_encode_ok(m->req_id, NULL));
}

bool cs_server_media_deliver(cs_server_t *s, uint64_t media_id, char *json)
{
    char key[24];
    media_key(media_id, key);
    session_t *ss = s->media_by_id ? cs_map_get(s->media_by_id, key) : NULL;
    if (!ss || ss->closing) {
        free(json);
        return false;
    }
    session_send(s, ss, json);
    return true;
}

void cs_server_media_forget(cs_server_t *s, uint64_t media_id)
{
    char key[24];
    media_key(media_id, key);
    session_t *ss = s->media_by_id ? cs_map_get(s->media_by_id, key) : NULL;
    if (!ss)
        return;
    for (int i = 0; i < CS_SERVER_MAX_MEDIA_PER_SESSION; i++)
        if (ss->media[i].id == media_id)
            release_slot(s, ss, i, false);
}

void media_add_to_snapshot(cs_server_t *s, session_t *ss, cs_proto_snapshot_t *snap)
{
    cs_proto_ice_server_t servers[4];
    size_t n = 0;
    if (s->media.ice_servers)
        n = s->media.ice_servers(s->media_user, &ss->id, cs_now_ms(), servers,
                                 CS_ARRAY_LEN(servers));
    cs_proto_snapshot_set_media(snap, servers, n, CS_MAX_PARTICIPANTS);
}
