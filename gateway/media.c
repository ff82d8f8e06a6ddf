/*
 * media.c — where signalling meets the media engine: the server's media
 * hooks become engine commands, the engine's events become protocol
 * messages to the right connection, TURN credentials are minted for
 * welcomes, and the latest call quality is kept for /metrics.
 *
 * Runs on the signalling thread; the engine wakes it (cs_ws_wake) when its
 * workers have posted events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway.h"

/* A room member as the media engine names it: a fixed-length hash of
 * (tenant, subject), so any subject fits and two centres cannot collide. */
typedef struct {
    char member_id[CS_ROUTER_ID_MAX];
    char subject[CS_SUBJECT_MAX];
    char name[CS_NAME_MAX];
} member_t;

/* The last quality report of a consult room, for /metrics and coordinators. */
typedef struct {
    char consult_id[CS_ID_MAX];
    size_t n;
    cs_proto_quality_t q[CS_ROUTER_MAX_MEMBERS];
    int64_t at_ms;
    int64_t told_at;   /* last consult.quality to coordinators */
} room_quality_t;

struct cs_app_media {
    cs_media_engine_t *engine;
    cs_map_t *members;        /* member id → member_t */
    cs_map_t *quality;        /* consult id → room_quality_t */
    /* TURN credentials of the last welcome (the hook returns pointers). */
    char *urls[CS_MAX_ICE_URLS];
    size_t n_urls;
    char username[CS_SUBJECT_MAX + 24];
    char credential[32];
    char url_buf[1024];
};

static void member_id_for(const char *tenant, const char *subject, char out[CS_ROUTER_ID_MAX])
{
    char key[CS_TENANT_MAX + CS_SUBJECT_MAX + 2], hex[65];
    snprintf(key, sizeof key, "%s\x1f%s", tenant, subject);
    cs_sha256_hex(key, strlen(key), hex);
    snprintf(out, CS_ROUTER_ID_MAX, "u%.20s", hex);
}

static void member_id_of(const cs_identity_t *id, char out[CS_ROUTER_ID_MAX])
{
    member_id_for(id->tenant, id->subject, out);
}

int cs_app_media_record(cs_app_t *app, const char *consult_id, const char *tenant,
                        const char *subject, cs_rec_session_t *s)
{
    if (!app->media)
        return CS_OK;   /* no media: nothing to record */
    char mid[CS_ROUTER_ID_MAX];
    member_id_for(tenant, subject, mid);
    return cs_media_record(app->media->engine, consult_id, mid, s);
}

static const member_t *remember_member(cs_app_media_t *am, const cs_identity_t *id)
{
    char mid[CS_ROUTER_ID_MAX];
    member_id_of(id, mid);
    member_t *m = cs_map_get(am->members, mid);
    if (!m) {
        if (!(m = calloc(1, sizeof *m)))
            return NULL;
        if (cs_map_put(am->members, mid, m)) {
            free(m);
            return NULL;
        }
    }
    cs_strlcpy(m->member_id, mid, sizeof m->member_id);
    cs_strlcpy(m->subject, id->subject, sizeof m->subject);
    cs_strlcpy(m->name, id->name, sizeof m->name);
    return m;
}

/* ---- hooks from the signalling server ---------------------------------------- */

static cs_router_source_t router_source(cs_media_source_t s)
{
    switch (s) {
    case CS_SOURCE_CAMERA:
        return CS_ROUTER_SOURCE_CAMERA;
    case CS_SOURCE_SCREEN:
        return CS_ROUTER_SOURCE_SCREEN;
    default:
        return CS_ROUTER_SOURCE_MICROPHONE;
    }
}

static int hook_offer(void *user, uint64_t media_id, const cs_identity_t *who,
                      const cs_consult_t *c, const cs_msg_t *m)
{
    cs_app_t *app = user;
    if (!app->media)
        return CS_EUNSUPPORTED;
    const member_t *mem = remember_member(app->media, who);
    if (!mem)
        return CS_ENOMEM;
    cs_router_section_source_t src[CS_MAX_MEDIA_SOURCES];
    size_t n = 0;
    for (int i = 0; i < m->u.media_offer.n_sources && n < CS_ARRAY_LEN(src); i++, n++) {
        cs_strlcpy(src[n].mid, m->u.media_offer.sources[i].mid, sizeof src[n].mid);
        src[n].source = router_source(m->u.media_offer.sources[i].source);
    }
    return cs_media_offer(app->media->engine, media_id, c->id, mem->member_id, mem->name,
                          m->req_id, m->u.media_offer.sdp, src, n);
}

static int hook_candidate(void *user, uint64_t media_id, const char *candidate)
{
    cs_app_t *app = user;
    if (!app->media)
        return CS_ESTATE;
    /* Checked here, so a malformed candidate gets an error reply; the worker
     * only ever sees well-formed ones. Unknown transports (tcp, future
     * types) are accepted and ignored, as RFC 8839 asks. */
    if (candidate[0]) {
        cs_sdp_candidate_t c;
        int prc = cs_sdp_candidate_parse(candidate, strlen(candidate), &c, NULL);
        if (prc == CS_EUNSUPPORTED)
            return CS_OK;
        if (prc)
            return CS_EINVAL;
    }
    int rc = cs_media_candidate(app->media->engine, media_id, candidate);
    return rc == CS_ENOTFOUND ? CS_ESTATE : rc;
}

static void hook_leave(void *user, uint64_t media_id)
{
    cs_app_t *app = user;
    if (app->media)
        cs_media_leave(app->media->engine, media_id);
}

/* coturn's REST scheme: username "<expiry>:<subject>", password
 * base64(HMAC-SHA1(secret, username)). */
static size_t hook_ice_servers(void *user, const cs_identity_t *who, int64_t now_ms,
                               cs_proto_ice_server_t *out, size_t cap)
{
    cs_app_t *app = user;
    cs_app_media_t *am = app->media;
    if (!am || !am->n_urls || cap == 0)
        return 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < am->n_urls; i++)
        out->urls[out->n_urls++] = am->urls[i];
    const char *secret = app->cfg.turn_secret;
    if (secret[0]) {
        long long expiry = (now_ms + app->cfg.turn_ttl_ms) / 1000;
        snprintf(am->username, sizeof am->username, "%lld:%s", expiry, who->subject);
        if (cs_hmac_sha1_base64(secret, strlen(secret), am->username, strlen(am->username),
                                am->credential) == CS_OK) {
            out->username = am->username;
            out->credential = am->credential;
        }
    }
    return 1;
}

/* ---- events from the workers ------------------------------------------------- */

static void to_proto_track(cs_app_media_t *am, const cs_router_track_t *t, const char *mid,
                           cs_proto_track_t *out)
{
    memset(out, 0, sizeof *out);
    const member_t *m = cs_map_get(am->members, t->member_id);
    cs_strlcpy(out->mid, mid ? mid : "", sizeof out->mid);
    cs_strlcpy(out->track_id, t->track_id, sizeof out->track_id);
    cs_strlcpy(out->user, m ? m->subject : t->member_id, sizeof out->user);
    cs_strlcpy(out->name, m ? m->name : "", sizeof out->name);
    out->video = t->kind == CS_ROUTER_VIDEO;
    out->source = t->source == CS_ROUTER_SOURCE_CAMERA   ? CS_SOURCE_CAMERA
                  : t->source == CS_ROUTER_SOURCE_SCREEN ? CS_SOURCE_SCREEN
                                                         : CS_SOURCE_MICROPHONE;
}

static char *encode_tracks(cs_app_media_t *am, const cs_media_event_t *ev, bool answer)
{
    size_t n = answer ? ev->n_assignments : ev->n_tracks;
    cs_proto_track_t *t = calloc(n ? n : 1, sizeof *t);
    if (!t)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (answer)
            to_proto_track(am, &ev->assignments[i].track, ev->assignments[i].mid, &t[i]);
        else
            to_proto_track(am, &ev->tracks[i], NULL, &t[i]);
    }
    char *json = answer ? cs_proto_encode_media_answer(ev->request_id, ev->room, ev->text, t, n)
                        : cs_proto_encode_media_tracks(ev->room, t, n);
    free(t);
    return json;
}

static void link_of(const cs_router_direction_stats_t *d, cs_proto_link_t *out)
{
    out->loss_percent = d->loss_percent;
    out->jitter_ms = d->jitter_ms;
    out->rtt_ms = d->rtt_ms;
    out->kbps = d->kbps;
}

/* Keeps the room's report for /metrics (once per report, not per recipient). */
static room_quality_t *keep_quality(cs_app_media_t *am, const cs_media_event_t *ev)
{
    room_quality_t *rq = cs_map_get(am->quality, ev->room);
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return NULL;
        if (cs_map_put(am->quality, ev->room, rq)) {
            free(rq);
            return NULL;
        }
        cs_strlcpy(rq->consult_id, ev->room, sizeof rq->consult_id);
    }
    rq->n = 0;
    for (size_t i = 0; i < ev->n_stats && i < CS_ARRAY_LEN(rq->q); i++) {
        const cs_router_member_stats_t *st = &ev->stats[i];
        cs_proto_quality_t *q = &rq->q[rq->n++];
        const member_t *m = cs_map_get(am->members, st->member_id);
        cs_strlcpy(q->user, m ? m->subject : st->member_id, sizeof q->user);
        cs_strlcpy(q->name, m ? m->name : "", sizeof q->name);
        link_of(&st->up, &q->up);
        link_of(&st->down, &q->down);
    }
    rq->at_ms = cs_now_ms();
    return rq;
}

/* consult.quality to the coordinators who watch the consult. */
static void tell_coordinators(cs_app_t *app, const char *consult_id, const cs_proto_quality_t *q,
                              size_t n)
{
    char *json = cs_proto_encode_quality("consult.quality", consult_id, q, n);
    cs_server_tell_coordinators(app->server, consult_id, json);
    free(json);
}

static const char *state_name(cs_peer_state_t s)
{
    return s == CS_PEER_NEW ? "connecting" : cs_peer_state_name(s);
}

static void handle_event(cs_app_t *app, cs_media_event_t *ev)
{
    cs_app_media_t *am = app->media;
    char *json = NULL;
    switch (ev->type) {
    case CS_MEDIA_EV_ANSWER:
        json = encode_tracks(am, ev, true);
        break;
    case CS_MEDIA_EV_TRACKS:
        json = encode_tracks(am, ev, false);
        break;
    case CS_MEDIA_EV_ERROR: {
        /* Protocol code: an SDP the gateway cannot use is the client's
         * "invalid sdp"; a full room is "limit". */
        int code = ev->code == CS_EUNSUPPORTED ? CS_EINVAL : ev->code;
        json = cs_proto_encode_error(ev->request_id, code, ev->text ? ev->text : "media error",
                                     code == CS_EINVAL ? "sdp" : NULL);
        break;
    }
    case CS_MEDIA_EV_CANDIDATE:
        json = cs_proto_encode_media_candidate(ev->room, ev->text ? ev->text : "");
        break;
    case CS_MEDIA_EV_STATE:
        CS_LOGI("media", "consult %.8s media session %llu %s%s%s", ev->room,
                (unsigned long long)ev->session, cs_peer_state_name(ev->state),
                ev->text ? ": " : "", ev->text ? ev->text : "");
        /* The SRTP profile of a connected session is for the log only. */
        json = cs_proto_encode_media_state(ev->room, state_name(ev->state),
                                           ev->state == CS_PEER_CONNECTED ? NULL : ev->text);
        break;
    case CS_MEDIA_EV_QUALITY: {
        room_quality_t *rq = keep_quality(am, ev);
        if (rq)
            json = cs_proto_encode_quality("media.quality", ev->room, rq->q, rq->n);
        /* Every member's session reports the room; coordinators hear it once
         * per interval. */
        if (rq && rq->at_ms - rq->told_at >= app->cfg.media_quality_interval_ms / 2) {
            rq->told_at = rq->at_ms;
            tell_coordinators(app, ev->room, rq->q, rq->n);
        }
        break;
    }
    }
    if (json)
        cs_server_media_deliver(app->server, ev->session, json);
    /* A session the worker ended by itself (replaced by a newer connection
     * of the same user, or refused at its first offer) is forgotten here too. */
    if (ev->ended) {
        cs_server_media_forget(app->server, ev->session);
        cs_media_leave(am->engine, ev->session);
    }
}

void cs_app_media_poll(cs_app_t *app)
{
    if (!app->media)
        return;
    cs_media_event_t *ev;
    /* Bounded, so a flood of events cannot starve the signalling loop. */
    for (int i = 0; i < 4096 && (ev = cs_media_engine_poll(app->media->engine)); i++) {
        handle_event(app, ev);
        cs_media_event_free(ev);
    }
    /* Drop quality of rooms that stopped reporting. */
    int64_t now = cs_now_ms();
    size_t pos = 0;
    const char *k;
    void *v;
    while (cs_map_next(app->media->quality, &pos, &k, &v)) {
        room_quality_t *rq = v;
        if (now - rq->at_ms > 3 * app->cfg.media_quality_interval_ms + 1000) {
            tell_coordinators(app, rq->consult_id, NULL, 0); /* the call is over */
            free(cs_map_remove(app->media->quality, k));
        }
    }
}

/* ---- start, stop, metrics ------------------------------------------------------ */

static void wake(void *user)
{
    cs_app_t *app = user;
    /* Called from a worker: cs_ws_wake is the one thread-safe ws call. */
    if (app->ws)
        cs_ws_wake(app->ws);
}

/* "a, b,c" → up to cap pointers into buf (a copy). */
static size_t split_list(const char *list, char *buf, size_t bufsize, char **out, size_t cap)
{
    size_t n = 0;
    char *save = NULL;
    cs_strlcpy(buf, list, bufsize);
    for (char *t = strtok_r(buf, ", ", &save); t && n < cap; t = strtok_r(NULL, ", ", &save))
        out[n++] = t;
    return n;
}

int cs_app_media_start(cs_app_t *app, char *err, size_t errlen)
{
    cs_config_t *cfg = &app->cfg;
    cs_app_media_t *am = calloc(1, sizeof *am);
    if (!am || !(am->members = cs_map_new(0)) || !(am->quality = cs_map_new(0))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    app->media = am;
    if (cfg->turn_secret_file[0] && cs_file_read(cfg->turn_secret_file, cfg->turn_secret,
                                                 sizeof cfg->turn_secret)) {
        snprintf(err, errlen, "cannot read turn.secret_file %s", cfg->turn_secret_file);
        goto fail;
    }
    cfg->turn_secret[strcspn(cfg->turn_secret, "\r\n")] = '\0';
    am->n_urls = split_list(cfg->turn_urls, am->url_buf, sizeof am->url_buf, am->urls,
                            CS_MAX_ICE_URLS);

    char addr_buf[sizeof cfg->media_addresses];
    char *addrs[CS_ICE_MAX_ADDRESSES];
    cs_media_config_t mc;
    memset(&mc, 0, sizeof mc);
    mc.workers = (unsigned)cfg->media_workers;
    mc.ice.n_addresses = split_list(cfg->media_addresses, addr_buf, sizeof addr_buf, addrs,
                                    CS_ICE_MAX_ADDRESSES);
    for (size_t i = 0; i < mc.ice.n_addresses; i++)
        mc.ice.addresses[i] = addrs[i];
    mc.ice.public_address = cfg->media_public_address;
    mc.ice.port_min = (uint16_t)cfg->media_port_min;
    mc.ice.port_max = (uint16_t)cfg->media_port_max;
    mc.ice.stun_server = cfg->media_stun_server;
    mc.dtls_cert_path = cfg->media_dtls_cert;
    mc.dtls_key_path = cfg->media_dtls_key;
    mc.quality_interval_ms = (unsigned)cfg->media_quality_interval_ms;
    mc.router.loss_in_percent = (unsigned)cfg->media_test_loss_in;
    mc.router.loss_out_percent = (unsigned)cfg->media_test_loss_out;
    mc.router.loss_seed = 12345;
    mc.wake = wake;
    mc.wake_user = app;
    int rc;
    if (!(am->engine = cs_media_engine_new(&mc, &rc, err, errlen)))
        goto fail;
    cs_media_engine_stats_t st;
    cs_media_engine_stats(am->engine, &st);
    CS_LOGI("media", "%u workers; ICE on %s%s%s; %zu STUN/TURN URL(s) for browsers; DTLS "
            "certificate sha-256 %.23s...",
            st.workers, cfg->media_addresses[0] ? cfg->media_addresses : "every interface",
            cfg->media_public_address[0] ? ", advertised as " : "", cfg->media_public_address,
            am->n_urls, cs_media_engine_fingerprint(am->engine));
    if (cfg->media_test_loss_in || cfg->media_test_loss_out)
        CS_LOGW("media", "TESTING: dropping %lld%% of RTP in and %lld%% out",
                (long long)cfg->media_test_loss_in, (long long)cfg->media_test_loss_out);
    static const cs_server_media_hooks_t hooks = {hook_offer, hook_candidate, hook_leave,
                                                  hook_ice_servers};
    cs_server_attach_media(app->server, &hooks, app);
    return CS_OK;
fail:
    cs_app_media_stop(app);
    return CS_EINVAL;
}

static void free_values(cs_map_t *m)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (m && cs_map_next(m, &pos, &k, &v))
        free(v);
    cs_map_free(m);
}

void cs_app_media_stop(cs_app_t *app)
{
    cs_app_media_t *am = app->media;
    if (!am)
        return;
    cs_media_engine_free(am->engine);
    free_values(am->members);
    free_values(am->quality);
    memset(app->cfg.turn_secret, 0, sizeof app->cfg.turn_secret);
    free(am);
    app->media = NULL;
}

static void link_metrics(FILE *f, const char *name, const room_quality_t *rq,
                         double (*pick)(const cs_proto_link_t *))
{
    for (size_t i = 0; i < rq->n; i++) {
        const cs_proto_quality_t *q = &rq->q[i];
        double up = pick(&q->up), down = pick(&q->down);
        /* Subjects are identifiers without quotes or backslashes in practice;
         * anything else is replaced so the exposition stays well-formed. */
        char user[CS_SUBJECT_MAX];
        cs_strlcpy(user, q->user, sizeof user);
        for (char *c = user; *c; c++)
            if (*c == '"' || *c == '\\' || *c == '\n')
                *c = '_';
        if (up >= 0)
            fprintf(f, "%s{consult=\"%s\",user=\"%s\",direction=\"up\"} %.2f\n", name,
                    rq->consult_id, user, up);
        if (down >= 0)
            fprintf(f, "%s{consult=\"%s\",user=\"%s\",direction=\"down\"} %.2f\n", name,
                    rq->consult_id, user, down);
    }
}

static double pick_loss(const cs_proto_link_t *l) { return l->loss_percent; }
static double pick_jitter(const cs_proto_link_t *l) { return l->jitter_ms; }
static double pick_rtt(const cs_proto_link_t *l) { return l->rtt_ms; }
static double pick_kbps(const cs_proto_link_t *l) { return l->kbps; }

void cs_app_media_metrics(cs_app_t *app, FILE *f)
{
    if (!app->media)
        return;
    cs_media_engine_stats_t st;
    cs_media_engine_stats(app->media->engine, &st);
    cs_metric_value(f, "consilium_media_workers", "gauge", "Media worker threads.", st.workers);
    cs_metric_value(f, "consilium_media_rooms", "gauge", "Consult rooms with media.",
                    (unsigned long long)st.rooms);
    cs_metric_value(f, "consilium_media_sessions", "gauge", "Participants' media sessions.",
                    (unsigned long long)st.sessions);
    cs_metric_value(f, "consilium_media_connected", "gauge", "Media sessions with DTLS-SRTP up.",
                    (unsigned long long)st.connected);
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"consilium_media_rtp_in_total", "RTP packets received.", offsetof(cs_router_counters_t, rtp_in)},
        {"consilium_media_rtp_out_total", "RTP packets sent.", offsetof(cs_router_counters_t, rtp_out)},
        {"consilium_media_rtcp_in_total", "RTCP packets received.", offsetof(cs_router_counters_t, rtcp_in)},
        {"consilium_media_rtcp_out_total", "RTCP packets sent.", offsetof(cs_router_counters_t, rtcp_out)},
        {"consilium_media_dropped_malformed_total", "Malformed RTP/RTCP dropped.", offsetof(cs_router_counters_t, dropped_malformed)},
        {"consilium_media_dropped_unknown_ssrc_total", "RTP of unknown streams dropped.", offsetof(cs_router_counters_t, dropped_unknown_ssrc)},
        {"consilium_media_nacks_in_total", "NACKs received from subscribers.", offsetof(cs_router_counters_t, nacks_in)},
        {"consilium_media_retransmissions_total", "Packets retransmitted from the buffer.", offsetof(cs_router_counters_t, retransmissions)},
        {"consilium_media_nacks_out_total", "NACKs sent to publishers.", offsetof(cs_router_counters_t, nacks_out)},
        {"consilium_media_keyframe_requests_total", "PLI/FIR sent to publishers.", offsetof(cs_router_counters_t, keyframe_requests)},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(counters); i++) {
        cs_metric_value(f, counters[i].name, "counter", counters[i].help,
                        *(const uint64_t *)((const char *)&st.router + counters[i].offset));
    }
    cs_metric_value(f, "consilium_media_dropped_srtp_total", "counter",
                    "SRTP packets that failed authentication or replay checks.", st.dropped_srtp);
    cs_metric_value(f, "consilium_media_recorded_packets_total", "counter",
                    "Packets handed to the recorder (participants who consented).",
                    st.recorded_packets);
    cs_metric_value(f, "consilium_media_record_dropped_total", "counter",
                    "Packets the recorder could not take (its ring was full).", st.record_dropped);

    static const struct {
        const char *name, *help;
        double (*pick)(const cs_proto_link_t *);
    } links[] = {
        {"consilium_media_loss_percent", "Packet loss per participant and direction (last report).", pick_loss},
        {"consilium_media_jitter_ms", "Jitter per participant and direction (last report).", pick_jitter},
        {"consilium_media_rtt_ms", "Round-trip time per participant (last report).", pick_rtt},
        {"consilium_media_kbps", "Bitrate per participant and direction (last report).", pick_kbps},
    };
    for (size_t l = 0; l < CS_ARRAY_LEN(links); l++) {
        cs_metric_header(f, links[l].name, "gauge", links[l].help);
        size_t pos = 0;
        const char *k;
        void *v;
        while (cs_map_next(app->media->quality, &pos, &k, &v))
            link_metrics(f, links[l].name, v, links[l].pick);
    }
}
