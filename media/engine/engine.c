/*
 * engine.c — the signalling thread's side of the media engine: starting and
 * stopping the workers, pinning each room to one, posting commands to it,
 * and the event queue the workers fill.
 *
 * Rooms go to the worker with the fewest rooms when they are made; they stay
 * there for life, so everything a room touches is single-threaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

void session_key(uint64_t id, char out[24])
{
    snprintf(out, 24, "%llu", (unsigned long long)id);
}

const char *cs_media_event_type_name(cs_media_event_type_t t)
{
    static const char *const names[] = {"answer", "error", "candidate", "state", "tracks",
                                        "quality"};
    return (unsigned)t < CS_ARRAY_LEN(names) ? names[t] : "unknown";
}

void counters_add(cs_router_counters_t *t, const cs_router_counters_t *a)
{
    t->rtp_in += a->rtp_in;
    t->rtp_out += a->rtp_out;
    t->rtcp_in += a->rtcp_in;
    t->rtcp_out += a->rtcp_out;
    t->dropped_malformed += a->dropped_malformed;
    t->dropped_unknown_ssrc += a->dropped_unknown_ssrc;
    t->dropped_test_loss += a->dropped_test_loss;
    t->nacks_in += a->nacks_in;
    t->retransmissions += a->retransmissions;
    t->nacks_out += a->nacks_out;
    t->keyframe_requests += a->keyframe_requests;
}

/* ---- events ---------------------------------------------------------------- */

cs_media_event_t *event_new(cs_media_event_type_t type, uint64_t session, const char *room)
{
    cs_media_event_t *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->type = type;
    ev->session = session;
    if (room)
        cs_strlcpy(ev->room, room, sizeof ev->room);
    return ev;
}

void event_post(cs_media_engine_t *e, cs_media_event_t *ev)
{
    if (!ev)
        return;
    pthread_mutex_lock(&e->lock);
    if (e->ev_tail)
        e->ev_tail->next = ev;
    else
        e->ev_head = ev;
    e->ev_tail = ev;
    pthread_mutex_unlock(&e->lock);
    e->cfg.wake(e->cfg.wake_user);
}

cs_media_event_t *cs_media_engine_poll(cs_media_engine_t *e)
{
    pthread_mutex_lock(&e->lock);
    cs_media_event_t *ev = e->ev_head;
    if (ev) {
        e->ev_head = ev->next;
        if (!e->ev_head)
            e->ev_tail = NULL;
        ev->next = NULL;
    }
    pthread_mutex_unlock(&e->lock);
    return ev;
}

void cs_media_event_free(cs_media_event_t *ev)
{
    if (!ev)
        return;
    free(ev->text);
    free(ev->assignments);
    free(ev->tracks);
    free(ev->stats);
    free(ev);
}

/* ---- lifecycle ------------------------------------------------------------- */

static int copy_config(cs_media_engine_t *e, const cs_media_config_t *cfg)
{
    e->cfg = *cfg;
    if (cfg->ice.n_addresses > CS_ICE_MAX_ADDRESSES)
        return CS_EINVAL;
    for (size_t i = 0; i < cfg->ice.n_addresses; i++) {
        if (!cfg->ice.addresses[i] || strlen(cfg->ice.addresses[i]) >= sizeof e->addresses[i])
            return CS_EINVAL;
        cs_strlcpy(e->addresses[i], cfg->ice.addresses[i], sizeof e->addresses[i]);
        e->cfg.ice.addresses[i] = e->addresses[i];
    }
    if (cfg->ice.public_address) {
        cs_strlcpy(e->public_address, cfg->ice.public_address, sizeof e->public_address);
        e->cfg.ice.public_address = e->public_address[0] ? e->public_address : NULL;
    }
    if (cfg->ice.stun_server) {
        cs_strlcpy(e->stun_server, cfg->ice.stun_server, sizeof e->stun_server);
        e->cfg.ice.stun_server = e->stun_server[0] ? e->stun_server : NULL;
    }
    e->cfg.dtls_cert_path = e->cfg.dtls_key_path = NULL; /* used only during new() */
    if (!e->cfg.quality_interval_ms)
        e->cfg.quality_interval_ms = 5000;
    return CS_OK;
}

static unsigned worker_count(unsigned asked)
{
    if (asked)
        return asked > CS_MEDIA_MAX_WORKERS ? CS_MEDIA_MAX_WORKERS : asked;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > CS_MEDIA_MAX_WORKERS ? CS_MEDIA_MAX_WORKERS : (unsigned)n;
}

cs_media_engine_t *cs_media_engine_new(const cs_media_config_t *cfg, int *err, char *errbuf,
                                       size_t errlen)
{
    int rc = CS_EINVAL;
    cs_media_engine_t *e = NULL;
    if (!cfg || !cfg->wake) {
        snprintf(errbuf, errlen, "media engine: no wake callback");
        goto fail;
    }
    rc = CS_ENOMEM;
    if (!(e = calloc(1, sizeof *e)))
        goto fail;
    pthread_mutex_init(&e->lock, NULL);
    if ((rc = copy_config(e, cfg))) {
        snprintf(errbuf, errlen, "media: bad ICE address configuration");
        goto fail;
    }
    if (cfg->dtls_cert_path && cfg->dtls_cert_path[0])
        e->cert = cs_dtls_cert_load(cfg->dtls_cert_path, cfg->dtls_key_path, &rc);
    else
        e->cert = cs_dtls_cert_generate(&rc);
    if (!e->cert) {
        snprintf(errbuf, errlen, "media: cannot %s the DTLS certificate: %s",
                 cfg->dtls_cert_path && cfg->dtls_cert_path[0] ? "load" : "generate",
                 cs_strerror(rc));
        goto fail;
    }
    cs_dtls_cert_fingerprint(e->cert, e->fingerprint);
    rc = CS_ENOMEM;
    e->n_workers = worker_count(cfg->workers);
    e->front_sessions = cs_map_new(0);
    e->front_rooms = cs_map_new(0);
    e->workers = calloc(e->n_workers, sizeof *e->workers);
    e->rooms_per_worker = calloc(e->n_workers, sizeof *e->rooms_per_worker);
    if (!e->front_sessions || !e->front_rooms || !e->workers || !e->rooms_per_worker) {
        snprintf(errbuf, errlen, "media: out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < e->n_workers; i++) {
        e->workers[i].engine = e;
        e->workers[i].index = i;
        if ((rc = worker_start(&e->workers[i]))) {
            snprintf(errbuf, errlen, "media: cannot start worker %u: %s", i, cs_strerror(rc));
            goto fail;
        }
    }
    return e;
fail:
    cs_media_engine_free(e);
    if (err)
        *err = rc;
    return NULL;
}

void cs_media_engine_free(cs_media_engine_t *e)
{
    if (!e)
        return;
    for (unsigned i = 0; e->workers && i < e->n_workers; i++)
        worker_stop(&e->workers[i]);
    free(e->workers);
    free(e->rooms_per_worker);
    size_t pos = 0;
    const char *k;
    void *v;
    while (e->front_sessions && cs_map_next(e->front_sessions, &pos, &k, &v))
        free(v);
    pos = 0;
    while (e->front_rooms && cs_map_next(e->front_rooms, &pos, &k, &v))
        free(v);
    cs_map_free(e->front_sessions);
    cs_map_free(e->front_rooms);
    cs_dtls_cert_free(e->cert);
    cs_media_event_t *ev = e->ev_head;
    while (ev) {
        cs_media_event_t *next = ev->next;
        cs_media_event_free(ev);
        ev = next;
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}

const char *cs_media_engine_fingerprint(const cs_media_engine_t *e)
{
    return e->fingerprint;
}

/* ---- commands ------------------------------------------------------------- */

void cmd_free(cmd_t *cmd)
{
    if (!cmd)
        return;
    free(cmd->text);
    if (cmd->rec)
        cs_rec_session_release(cmd->rec);
    free(cmd);
}

static worker_t *least_loaded(cs_media_engine_t *e)
{
    unsigned best = 0;
    for (unsigned i = 1; i < e->n_workers; i++)
        if (e->rooms_per_worker[i] < e->rooms_per_worker[best])
            best = i;
    return &e->workers[best];
}

/* The worker a new session of room goes to, making the room's pin if needed. */
static front_room_t *pin_room(cs_media_engine_t *e, const char *room)
{
    front_room_t *fr = cs_map_get(e->front_rooms, room);
    if (fr)
        return fr;
    if (!(fr = calloc(1, sizeof *fr)))
        return NULL;
    fr->worker = least_loaded(e);
    if (cs_map_put(e->front_rooms, room, fr)) {
        free(fr);
        return NULL;
    }
    e->rooms_per_worker[fr->worker->index]++;
    return fr;
}

static void unpin_session(cs_media_engine_t *e, front_session_t *fs)
{
    front_room_t *fr = cs_map_get(e->front_rooms, fs->room);
    if (fr && --fr->sessions == 0) {
        e->rooms_per_worker[fr->worker->index]--;
        free(cs_map_remove(e->front_rooms, fs->room));
    }
}

int cs_media_offer(cs_media_engine_t *e, uint64_t session, const char *room,
                   const char *member_id, const char *name, const char *request_id,
                   const char *sdp, const cs_router_section_source_t *sources,
                   size_t n_sources)
{
    if (!e || !room || !room[0] || strlen(room) >= CS_MEDIA_ROOM_ID_MAX || !member_id ||
        !member_id[0] || !sdp)
        return CS_EINVAL;
    if (n_sources > CS_MEDIA_MAX_SOURCES)
        return CS_ELIMIT;
    char key[24];
    session_key(session, key);
    front_session_t *fs = cs_map_get(e->front_sessions, key);
    if (fs && strcmp(fs->room, room))
        return CS_EINVAL;
    cmd_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd || !(cmd->text = strdup(sdp))) {
        cmd_free(cmd);
        return CS_ENOMEM;
    }
    if (!fs) {
        front_room_t *fr = pin_room(e, room);
        if (!fr || !(fs = calloc(1, sizeof *fs))) {
            cmd_free(cmd);
            return CS_ENOMEM;
        }
        fs->worker = fr->worker;
        cs_strlcpy(fs->room, room, sizeof fs->room);
        if (cs_map_put(e->front_sessions, key, fs)) {
            free(fs);
            cmd_free(cmd);
            return CS_ENOMEM;
        }
        fr->sessions++;
    }
    cmd->type = CMD_OFFER;
    cmd->worker = fs->worker;
    cmd->session = session;
    cs_strlcpy(cmd->room, room, sizeof cmd->room);
    cs_strlcpy(cmd->member_id, member_id, sizeof cmd->member_id);
    cs_strlcpy(cmd->name, name ? name : "", sizeof cmd->name);
    cs_strlcpy(cmd->request_id, request_id ? request_id : "", sizeof cmd->request_id);
    if (n_sources)
        memcpy(cmd->sources, sources, n_sources * sizeof *sources);
    cmd->n_sources = n_sources;
    worker_post(cmd);
    return CS_OK;
}

int cs_media_candidate(cs_media_engine_t *e, uint64_t session, const char *candidate)
{
    char key[24];
    session_key(session, key);
    front_session_t *fs = cs_map_get(e->front_sessions, key);
    if (!fs)
        return CS_ENOTFOUND;
    cmd_t *cmd = calloc(1, sizeof *cmd);
    if (!cmd || !(cmd->text = strdup(candidate ? candidate : ""))) {
        cmd_free(cmd);
        return CS_ENOMEM;
    }
    cmd->type = CMD_CANDIDATE;
    cmd->worker = fs->worker;
    cmd->session = session;
    cs_strlcpy(cmd->room, fs->room, sizeof cmd->room);
    worker_post(cmd);
    return CS_OK;
}

void cs_media_leave(cs_media_engine_t *e, uint64_t session)
{
    char key[24];
    session_key(session, key);
    front_session_t *fs = cs_map_remove(e->front_sessions, key);
    if (!fs)
        return;
    cmd_t *cmd = calloc(1, sizeof *cmd);
    if (cmd) {
        cmd->type = CMD_LEAVE;
        cmd->worker = fs->worker;
        cmd->session = session;
        cs_strlcpy(cmd->room, fs->room, sizeof cmd->room);
        worker_post(cmd);
    }
    /* Out of memory: the worker keeps a session nobody addresses until the
     * browser's consent lapses and the peer fails; nothing else is affected. */
    unpin_session(e, fs);
    free(fs);
}

bool cs_media_has_session(const cs_media_engine_t *e, uint64_t session)
{
    char key[24];
    session_key(session, key);
    return cs_map_get(e->front_sessions, key) != NULL;
}

void cs_media_engine_stats(cs_media_engine_t *e, cs_media_engine_stats_t *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&e->lock);
    for (unsigned i = 0; i < e->n_workers; i++) {
        const cs_media_engine_stats_t *w = &e->workers[i].published;
        out->connected += w->connected;
        out->dropped_srtp += w->dropped_srtp;
        out->recorded_packets += w->recorded_packets;
        out->record_dropped += w->record_dropped;
        counters_add(&out->router, &w->router);
    }
    pthread_mutex_unlock(&e->lock);
    out->workers = e->n_workers;
    out->rooms = cs_map_size(e->front_rooms);
    out->sessions = cs_map_size(e->front_sessions);
}
