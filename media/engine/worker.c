/*
 * worker.c — one media worker thread: a GLib main context that runs the ICE
 * agents of its rooms' participants, the commands the signalling thread
 * posts, and a 20 ms timer for DTLS retransmissions, RTCP and call quality.
 * Recording is record.c's, called from here at a session's start and end.
 *
 * Everything a room owns (router, peers) is touched only here, so a packet
 * goes from one participant's socket to the others' without a lock: libnice
 * calls peer → router → peer → libnice, all on this thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define TICK_MS 20
#define SDP_TEXT_MAX CS_SDP_MAX_SIZE

static void post_error(worker_t *w, const cmd_t *cmd, int code, const char *message, bool ended)
{
    cs_media_event_t *ev = event_new(CS_MEDIA_EV_ERROR, cmd->session, cmd->room);
    if (!ev)
        return;
    ev->code = code;
    ev->ended = ended;
    cs_strlcpy(ev->request_id, cmd->request_id, sizeof ev->request_id);
    ev->text = strdup(message);
    event_post(w->engine, ev);
}

/* ---- what the others publish, for one session ------------------------------ */

static void post_tracks(room_t *r, msession_t *ms)
{
    cs_router_track_t all[CS_ROUTER_MAX_MEMBERS * CS_ROUTER_MAX_PUBLISHED];
    size_t n = cs_router_tracks(r->router, all, CS_ARRAY_LEN(all));
    if (n > CS_ARRAY_LEN(all))
        n = CS_ARRAY_LEN(all);
    cs_media_event_t *ev = event_new(CS_MEDIA_EV_TRACKS, ms->id, r->id);
    if (!ev)
        return;
    ev->tracks = calloc(n ? n : 1, sizeof *ev->tracks);
    if (!ev->tracks) {
        cs_media_event_free(ev);
        return;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].member_id, ms->member_id))
            ev->tracks[ev->n_tracks++] = all[i];
    event_post(r->worker->engine, ev);
}

/* ---- router callbacks ---------------------------------------------------------- */

static void router_send_rtp(void *room_user, void *member_user, uint8_t *buf, size_t len,
                            size_t cap)
{
    (void)room_user;
    msession_t *ms = member_user;
    cs_peer_send_rtp(ms->peer, buf, len, cap);
}

static void router_send_rtcp(void *room_user, void *member_user, uint8_t *buf, size_t len,
                             size_t cap)
{
    (void)room_user;
    msession_t *ms = member_user;
    cs_peer_send_rtcp(ms->peer, buf, len, cap);
}

static void router_tracks_changed(void *room_user)
{
    room_t *r = room_user;
    for (size_t i = 0; i < r->n_sessions; i++)
        post_tracks(r, r->sessions[i]);
}

/* ---- peer callbacks ------------------------------------------------------------- */

static void peer_candidate(void *user, const char *candidate)
{
    msession_t *ms = user;
    cs_media_event_t *ev = event_new(CS_MEDIA_EV_CANDIDATE, ms->id, ms->room->id);
    if (ev && !(ev->text = strdup(candidate))) {
        cs_media_event_free(ev);
        return;
    }
    event_post(ms->room->worker->engine, ev);
}

static void peer_state(void *user, cs_peer_state_t state, const char *reason)
{
    msession_t *ms = user;
    bool connected = state == CS_PEER_CONNECTED;
    if (connected != ms->connected) {
        ms->connected = connected;
        cs_router_member_set_connected(ms->room->router, ms->member, connected);
    }
    cs_media_event_t *ev = event_new(CS_MEDIA_EV_STATE, ms->id, ms->room->id);
    if (!ev)
        return;
    ev->state = state;
    if (reason && reason[0] && !(ev->text = strdup(reason))) {
        cs_media_event_free(ev);
        return;
    }
    event_post(ms->room->worker->engine, ev);
}

static void peer_rtp(void *user, uint8_t *buf, size_t len)
{
    msession_t *ms = user;
    cs_router_on_rtp(ms->room->router, ms->member, buf, len, cs_mono_us());
}

static void peer_rtcp(void *user, uint8_t *buf, size_t len)
{
    msession_t *ms = user;
    cs_router_on_rtcp(ms->room->router, ms->member, buf, len, cs_mono_us());
}

/* ---- rooms and sessions ---------------------------------------------------------- */

static room_t *room_get(worker_t *w, const char *id, int *err)
{
    room_t *r = cs_map_get(w->rooms, id);
    if (r)
        return r;
    *err = CS_ENOMEM;
    if (!(r = calloc(1, sizeof *r)))
        return NULL;
    cs_strlcpy(r->id, id, sizeof r->id);
    r->worker = w;
    static const cs_router_callbacks_t cb = {router_send_rtp, router_send_rtcp,
                                             router_tracks_changed};
    r->router = cs_router_new(&w->engine->cfg.router, &cb, r, err);
    if (!r->router || cs_map_put(w->rooms, id, r)) {
        cs_router_free(r->router);
        free(r);
        return NULL;
    }
    cs_router_set_record_callback(r->router, rec_tap);
    r->next_quality_us = cs_mono_us() + (int64_t)w->engine->cfg.quality_interval_ms * 1000;
    return r;
}

static void room_free(worker_t *w, room_t *r)
{
    cs_router_counters_t c;
    cs_router_counters(r->router, &c);
    counters_add(&w->closed_counters, &c);
    cs_map_remove(w->rooms, r->id);
    cs_router_free(r->router);
    free(r);
}

static void session_free(worker_t *w, msession_t *ms)
{
    room_t *r = ms->room;
    char key[24];
    session_key(ms->id, key);
    cs_map_remove(w->sessions, key);
    for (size_t i = 0; i < r->n_sessions; i++) {
        if (r->sessions[i] == ms) {
            r->sessions[i] = r->sessions[--r->n_sessions];
            break;
        }
    }
    cs_peer_stats_t ps;
    cs_peer_stats(ms->peer, &ps);
    w->closed_dropped_srtp += ps.dropped_srtp;
    /* The router may call back into the room's other sessions (tracks
     * changed); this one is already out of the list. */
    cs_router_member_remove(r->router, ms->member);
    cs_peer_free(ms->peer);
    rec_session_end(ms);
    free(ms);
    if (r->n_sessions == 0)
        room_free(w, r);
}

static cs_peer_t *make_peer(worker_t *w, msession_t *ms, int *err)
{
    static const cs_peer_callbacks_t cb = {peer_candidate, peer_state, peer_rtp, peer_rtcp};
    cs_peer_config_t pc = {.ice = w->engine->cfg.ice, .cert = w->engine->cert};
    pc.ice.batch = w->batch;
    return cs_peer_new(w->ctx, &pc, &cb, ms, err);
}

/* A new session of a user already in the room replaces the older one (a
 * reloaded page, a second tab). */
static void replace_same_member(worker_t *w, room_t *r, const char *member_id)
{
    for (size_t i = 0; i < r->n_sessions; i++) {
        if (strcmp(r->sessions[i]->member_id, member_id) == 0) {
            msession_t *old = r->sessions[i];
            cs_media_event_t *ev = event_new(CS_MEDIA_EV_STATE, old->id, r->id);
            if (ev) {
                ev->state = CS_PEER_CLOSED;
                ev->ended = true;
                ev->text = strdup("replaced by a newer connection of the same user");
                event_post(w->engine, ev);
            }
            session_free(w, old);
            return;
        }
    }
}

static msession_t *session_new(worker_t *w, const cmd_t *cmd, int *err, const char **why)
{
    room_t *r = room_get(w, cmd->room, err);
    if (!r) {
        *why = "out of memory";
        return NULL;
    }
    replace_same_member(w, r, cmd->member_id);
    if (!(r = room_get(w, cmd->room, err))) { /* the room goes when its last session does */
        *why = "out of memory";
        return NULL;
    }
    if (r->n_sessions >= CS_ROUTER_MAX_MEMBERS) {
        *err = CS_ELIMIT;
        *why = "the room is full";
        return NULL;
    }
    msession_t *ms = calloc(1, sizeof *ms);
    char key[24];
    session_key(cmd->session, key);
    if (!ms) {
        *err = CS_ENOMEM;
        *why = "out of memory";
        return NULL;
    }
    ms->id = cmd->session;
    ms->room = r;
    cs_strlcpy(ms->member_id, cmd->member_id, sizeof ms->member_id);
    cs_strlcpy(ms->name, cmd->name, sizeof ms->name);
    ms->member = cs_router_member_add(r->router, cmd->member_id, cmd->name, ms, err);
    if (ms->member)
        ms->peer = make_peer(w, ms, err);
    if (!ms->member || !ms->peer || cs_map_put(w->sessions, key, ms)) {
        *why = *err == CS_ELIMIT ? "the room is full" : "could not start the media session";
        if (ms->member)
            cs_router_member_remove(r->router, ms->member);
        cs_peer_free(ms->peer);
        free(ms);
        if (r->n_sessions == 0)
            room_free(w, r);
        return NULL;
    }
    r->sessions[r->n_sessions++] = ms;
    rec_session_start(w, ms);
    return ms;
}

/* ---- commands ------------------------------------------------------------------- */

static void post_answer(worker_t *w, const cmd_t *cmd, const cs_router_assignment_t *as,
                        size_t n)
{
    cs_media_event_t *ev = event_new(CS_MEDIA_EV_ANSWER, cmd->session, cmd->room);
    size_t len = 0;
    cs_sdp_error_t serr;
    if (!ev)
        return;
    cs_strlcpy(ev->request_id, cmd->request_id, sizeof ev->request_id);
    int rc = cs_sdp_write(w->answer, w->sdp_text, SDP_TEXT_MAX, &len, &serr);
    if (rc || !(ev->text = strdup(w->sdp_text)) ||
        !(ev->assignments = calloc(n ? n : 1, sizeof *ev->assignments))) {
        cs_media_event_free(ev);
        post_error(w, cmd, rc ? rc : CS_ENOMEM, rc ? "could not write the answer" : "out of memory",
                   false);
        return;
    }
    memcpy(ev->assignments, as, n * sizeof *as);
    ev->n_assignments = n;
    event_post(w->engine, ev);
}

static void on_offer(worker_t *w, cmd_t *cmd)
{
    cs_sdp_error_t serr;
    memset(&serr, 0, sizeof serr);
    char key[24];
    session_key(cmd->session, key);
    int rc = cs_sdp_parse(cmd->text, strlen(cmd->text), w->offer, &serr);
    if (rc) {
        post_error(w, cmd, CS_EINVAL, serr.message[0] ? serr.message : "malformed SDP",
                   !cs_map_get(w->sessions, key));
        return;
    }
    msession_t *ms = cs_map_get(w->sessions, key);
    bool created = false;
    const char *why = NULL;
    if (!ms) {
        if (!(ms = session_new(w, cmd, &rc, &why))) {
            post_error(w, cmd, rc, why, true);
            return;
        }
        created = true;
    } else if (!cs_peer_same_transport(ms->peer, w->offer)) {
        /* A new RTCPeerConnection in the same page (after a failure): a new
         * transport for the same member. */
        cs_peer_t *fresh = make_peer(w, ms, &rc);
        if (!fresh) {
            post_error(w, cmd, rc, "could not start the media session", false);
            return;
        }
        cs_peer_free(ms->peer);
        ms->peer = fresh;
        if (ms->connected) {
            ms->connected = false;
            cs_router_member_set_connected(ms->room->router, ms->member, false);
        }
    }
    rc = cs_peer_answer(ms->peer, w->offer, w->answer, &serr);
    cs_router_assignment_t as[CS_SDP_MAX_MEDIA];
    size_t n = 0;
    if (!rc)
        rc = cs_router_member_negotiate(ms->room->router, ms->member, w->offer, cmd->sources,
                                        cmd->n_sources, w->answer, as, CS_ARRAY_LEN(as), &n);
    if (rc) {
        const char *msg = serr.message[0]  ? serr.message
                          : rc == CS_ELIMIT ? "too many published tracks"
                                            : "the offer cannot be answered";
        if (created)
            session_free(w, ms);
        post_error(w, cmd, rc == CS_EUNSUPPORTED ? CS_EINVAL : rc, msg, created);
        return;
    }
    post_answer(w, cmd, as, n);
    /* Gathering starts now that the answer is on its way, so candidates
     * follow it. */
    cs_peer_tick(ms->peer, cs_mono_us());
    if (created)
        post_tracks(ms->room, ms);
}

static void on_candidate(worker_t *w, cmd_t *cmd)
{
    char key[24];
    session_key(cmd->session, key);
    msession_t *ms = cs_map_get(w->sessions, key);
    if (ms)
        cs_peer_add_remote_candidate(ms->peer, cmd->text);
}

static void on_leave(worker_t *w, cmd_t *cmd)
{
    char key[24];
    session_key(cmd->session, key);
    msession_t *ms = cs_map_get(w->sessions, key);
    if (ms)
        session_free(w, ms);
}

static gboolean run_cmd(gpointer data)
{
    cmd_t *cmd = data;
    worker_t *w = cmd->worker;
    switch (cmd->type) {
    case CMD_OFFER:
        on_offer(w, cmd);
        break;
    case CMD_CANDIDATE:
        on_candidate(w, cmd);
        break;
    case CMD_LEAVE:
        on_leave(w, cmd);
        break;
    case CMD_RECORD:
        rec_on_cmd(w, cmd);
        break;
    }
    return G_SOURCE_REMOVE;
}

static void destroy_cmd(gpointer data)
{
    cmd_free(data);
}

void worker_post(cmd_t *cmd)
{
    /* Thread-safe: attaches an idle source to the worker's context and wakes
     * it. One allocation per command, never per packet. */
    g_main_context_invoke_full(cmd->worker->ctx, G_PRIORITY_DEFAULT, run_cmd, cmd, destroy_cmd);
}

/* ---- timers ----------------------------------------------------------------------- */

static void post_quality(room_t *r, int64_t now_us)
{
    cs_router_member_stats_t st[CS_ROUTER_MAX_MEMBERS];
    size_t n = cs_router_stats(r->router, st, CS_ARRAY_LEN(st), now_us);
    if (n > CS_ARRAY_LEN(st))
        n = CS_ARRAY_LEN(st);
    for (size_t i = 0; i < r->n_sessions; i++) {
        cs_media_event_t *ev = event_new(CS_MEDIA_EV_QUALITY, r->sessions[i]->id, r->id);
        if (!ev || !(ev->stats = calloc(n ? n : 1, sizeof *ev->stats))) {
            cs_media_event_free(ev);
            return;
        }
        memcpy(ev->stats, st, n * sizeof *st);
        ev->n_stats = n;
        event_post(r->worker->engine, ev);
    }
}

static void publish_stats(worker_t *w)
{
    cs_media_engine_stats_t s;
    memset(&s, 0, sizeof s);
    s.router = w->closed_counters;
    s.dropped_srtp = w->closed_dropped_srtp;
    s.recorded_packets = w->recorded_packets;
    s.record_dropped = w->record_dropped;
    size_t pos = 0;
    const char *k;
    void *v;
    while (cs_map_next(w->rooms, &pos, &k, &v)) {
        room_t *r = v;
        cs_router_counters_t c;
        cs_router_counters(r->router, &c);
        counters_add(&s.router, &c);
        for (size_t i = 0; i < r->n_sessions; i++) {
            cs_peer_stats_t ps;
            cs_peer_stats(r->sessions[i]->peer, &ps);
            s.dropped_srtp += ps.dropped_srtp;
            s.connected += r->sessions[i]->connected;
        }
    }
    pthread_mutex_lock(&w->engine->lock);
    w->published = s;
    pthread_mutex_unlock(&w->engine->lock);
}

static gboolean on_tick(gpointer data)
{
    worker_t *w = data;
    int64_t now = cs_mono_us();
    size_t pos = 0;
    const char *k;
    void *v;
    while (cs_map_next(w->rooms, &pos, &k, &v)) {
        room_t *r = v;
        for (size_t i = 0; i < r->n_sessions; i++)
            cs_peer_tick(r->sessions[i]->peer, now);
        cs_router_tick(r->router, now);
        if (now >= r->next_quality_us) {
            r->next_quality_us = now + (int64_t)w->engine->cfg.quality_interval_ms * 1000;
            post_quality(r, now);
        }
    }
    if (now >= w->next_publish_us) {
        w->next_publish_us = now + 1000000;
        publish_stats(w);
    }
    return G_SOURCE_CONTINUE;
}

/* ---- the thread ------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    char name[16];
    snprintf(name, sizeof name, "media-%u", w->index);
    pthread_setname_np(pthread_self(), name);
    g_main_context_push_thread_default(w->ctx);
    GSource *tick = g_timeout_source_new(TICK_MS);
    g_source_set_callback(tick, on_tick, w, NULL);
    g_source_attach(tick, w->ctx);
    g_main_loop_run(w->loop);
    g_source_destroy(tick);
    g_source_unref(tick);
    /* Close what is left on this thread, where it lives. */
    size_t pos = 0;
    const char *k;
    void *v;
    while (cs_map_next(w->sessions, &pos, &k, &v)) {
        session_free(w, v);
        pos = 0;
    }
    cs_ice_batch_free(w->batch);
    w->batch = NULL;
    /* Let libnice finish closing its sockets. */
    while (g_main_context_iteration(w->ctx, FALSE))
        ;
    g_main_context_pop_thread_default(w->ctx);
    return NULL;
}

int worker_start(worker_t *w)
{
    w->rooms = cs_map_new(0);
    w->sessions = cs_map_new(0);
    w->records = cs_map_new(0);
    w->offer = malloc(sizeof *w->offer);
    w->answer = malloc(sizeof *w->answer);
    w->sdp_text = malloc(SDP_TEXT_MAX);
    if (!w->rooms || !w->sessions || !w->records || !w->offer || !w->answer || !w->sdp_text)
        return CS_ENOMEM;
    w->ctx = g_main_context_new();
    w->loop = g_main_loop_new(w->ctx, FALSE);
    int rc;
    if (!(w->batch = cs_ice_batch_new(w->ctx, &rc)))
        return rc;
    if (pthread_create(&w->thread, NULL, worker_main, w))
        return CS_EIO;
    w->started = true;
    return CS_OK;
}

static gboolean quit_loop(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void worker_stop(worker_t *w)
{
    if (w->started) {
        g_main_context_invoke(w->ctx, quit_loop, w->loop);
        pthread_join(w->thread, NULL);
        w->started = false;
    }
    /* Commands posted but never run are freed with their sources. */
    if (w->loop)
        g_main_loop_unref(w->loop);
    if (w->ctx)
        g_main_context_unref(w->ctx);
    cs_map_free(w->rooms);
    cs_map_free(w->sessions);
    rec_settings_free(w);
    free(w->offer);
    free(w->answer);
    free(w->sdp_text);
    memset(w, 0, sizeof *w);
}
