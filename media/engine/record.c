/*
 * record.c — recording in the media engine. The signalling thread's
 * cs_media_record posts the setting to every worker, because a room may be
 * made later on any of them; each worker keeps the settings it was given
 * and applies them to the media sessions of its rooms, now and when they
 * start. The router's recording tap then lands here, on the worker: each
 * stream is declared to the recorder on its first packet and every packet
 * is pushed, which never blocks (the recorder drops and counts when its
 * ring is full).
 *
 * References: every worker's setting holds one on its session, and so does
 * every media session recording into it; commands carry one until a worker
 * takes it (or are freed with it, if the engine stops first).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define REC_KEY_MAX (CS_MEDIA_ROOM_ID_MAX + CS_ROUTER_ID_MAX + 24)

/* The room's length first, so no pair of ids can spell another's key. */
static void rec_key(const char *room, const char *member_id, char out[REC_KEY_MAX])
{
    snprintf(out, REC_KEY_MAX, "%zu:%s%s", strlen(room), room, member_id);
}

/* ---- the signalling thread ------------------------------------------------------ */

int cs_media_record(cs_media_engine_t *e, const char *room, const char *member_id,
                    cs_rec_session_t *s)
{
    if (!e || !room || !room[0] || strlen(room) >= CS_MEDIA_ROOM_ID_MAX || !member_id ||
        !member_id[0] || strlen(member_id) >= CS_ROUTER_ID_MAX)
        return CS_EINVAL;
    /* All or nothing: every worker must see the same settings. */
    cmd_t *cmds[CS_MEDIA_MAX_WORKERS];
    unsigned n = 0;
    for (; n < e->n_workers; n++)
        if (!(cmds[n] = calloc(1, sizeof *cmds[n])))
            break;
    if (n < e->n_workers) {
        while (n)
            free(cmds[--n]);
        return CS_ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        cmd_t *c = cmds[i];
        c->type = CMD_RECORD;
        c->worker = &e->workers[i];
        cs_strlcpy(c->room, room, sizeof c->room);
        cs_strlcpy(c->member_id, member_id, sizeof c->member_id);
        if (s) {
            cs_rec_session_retain(s);
            c->rec = s;
        }
        worker_post(c);
    }
    return CS_OK;
}

/* ---- the worker: settings and sessions ------------------------------------------ */

/* Records ms into s (NULL: stops). A new session starts with new tracks,
 * and the router asks for keyframes so that the file starts decodable. */
static void session_set(msession_t *ms, cs_rec_session_t *s)
{
    if (ms->rec == s)
        return;
    if (s)
        cs_rec_session_retain(s);
    if (ms->rec)
        cs_rec_session_release(ms->rec);
    ms->rec = s;
    ms->rec_closed = false;
    memset(ms->rec_streams, 0, sizeof ms->rec_streams);
    cs_router_member_set_recording(ms->room->router, ms->member, s != NULL);
}

void rec_on_cmd(worker_t *w, cmd_t *cmd)
{
    char key[REC_KEY_MAX];
    rec_key(cmd->room, cmd->member_id, key);
    cs_rec_session_t *s = cmd->rec;
    cs_rec_session_t *old = cs_map_remove(w->records, key);
    /* The map takes the command's reference. Out of memory, the setting is
     * not kept for later sessions; the present ones still follow it. */
    if (s && cs_map_put(w->records, key, s) == CS_OK)
        cmd->rec = NULL;
    room_t *r = cs_map_get(w->rooms, cmd->room);
    for (size_t i = 0; r && i < r->n_sessions; i++)
        if (!strcmp(r->sessions[i]->member_id, cmd->member_id))
            session_set(r->sessions[i], s);
    if (old)
        cs_rec_session_release(old);
}

void rec_session_start(worker_t *w, msession_t *ms)
{
    char key[REC_KEY_MAX];
    rec_key(ms->room->id, ms->member_id, key);
    cs_rec_session_t *s = cs_map_get(w->records, key);
    if (s)
        session_set(ms, s);
}

void rec_session_end(msession_t *ms)
{
    if (ms->rec)
        cs_rec_session_release(ms->rec);
    ms->rec = NULL;
}

void rec_settings_free(worker_t *w)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (w->records && cs_map_next(w->records, &pos, &k, &v))
        cs_rec_session_release(v);
    cs_map_free(w->records);
    w->records = NULL;
}

/* ---- the worker: the tap ----------------------------------------------------------- */

static int declare(cs_rec_session_t *s, const cs_router_record_track_t *t)
{
    cs_rec_track_t d;
    memset(&d, 0, sizeof d);
    d.kind = t->kind == CS_ROUTER_VIDEO ? CS_REC_VIDEO : CS_REC_AUDIO;
    d.layer = t->layer;
    d.payload_type = t->payload_type;
    d.clock_rate = t->clock_rate;
    cs_strlcpy(d.codec, t->codec, sizeof d.codec);
    cs_strlcpy(d.source, cs_router_source_name(t->source), sizeof d.source);
    cs_strlcpy(d.member_id, t->member_id, sizeof d.member_id);
    cs_strlcpy(d.name, t->name, sizeof d.name);
    return cs_recorder_add_track(s, &d);
}

static void push_failed(worker_t *w, msession_t *ms, int rc)
{
    if (rc == CS_ESTATE)
        ms->rec_closed = true;      /* closed or failed: the gateway sees it in its stats */
    else
        w->record_dropped++;        /* ring full (or a track refused): this packet only */
}

void rec_tap(void *room_user, void *member_user, const cs_router_record_track_t *t,
             const uint8_t *buf, size_t len, int64_t now_us)
{
    room_t *r = room_user;
    msession_t *ms = member_user;
    if (!ms->rec || ms->rec_closed || t->stream >= CS_ROUTER_RECORD_STREAMS)
        return;
    rec_stream_t *st = &ms->rec_streams[t->stream];
    if (!st->declared || st->generation != t->generation ||
        st->payload_type != t->payload_type) {
        int n = declare(ms->rec, t);   /* a track number below CS_REC_MAX_TRACKS */
        if (n < 0) {
            push_failed(r->worker, ms, n);
            return;
        }
        *st = (rec_stream_t){.declared = true, .payload_type = t->payload_type,
                             .track = (uint16_t)n, .generation = t->generation};
    }
    int rc = cs_recorder_push(ms->rec, st->track, now_us, buf, len);
    if (rc == CS_OK)
        r->worker->recorded_packets++;
    else
        push_failed(r->worker, ms, rc);
}
