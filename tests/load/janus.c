/*
 * janus.c — lt_driver_janus: drives Janus 1.1's VideoRoom plugin over its
 * WebSocket API (subprotocol "janus-protocol") the way the plugin's
 * multistream demo page does from a browser. Each participant has its own
 * connection and Janus session with two handles and two PeerConnections:
 * a publisher (we offer sendonly audio and video, Janus answers) and one
 * subscriber to every other participant's feed (Janus offers, we answer).
 * Participant 0 creates the consult's room and destroys it at the end.
 *
 * Per participant: create session → attach → (room created) → join as
 * publisher → publish with our offer → Janus's answer. Janus lets a feed be
 * subscribed only once its PeerConnection is up, so when every publisher
 * of the room has had "webrtcup": attach again → join as subscriber with
 * streams = the others' feeds → Janus's offer → start with our answer.
 * Candidates trickle both ways; Janus may send its own before its answer,
 * so they are held until the remote description is applied, and ours are
 * held until our SDP went out. A keepalive every 25 s keeps each session
 * (Janus drops an idle one after 60 s).
 *
 * Ready and failed are told to the runner only from the consult's own
 * timer, never from inside a socket or peer callback, so the runner may
 * stop the consult from its on_change without freeing what is on the stack.
 * A stopped consult's participants say goodbye on their own (janus_api.c).
 *
 * Janus gathers no candidates on a loopback interface: the peers are bound
 * to an address Janus gathers (tests/lib/janus.js gives it 127.0.0.2 on a
 * veth of a namespace of its own; on a real host, one of its interfaces').
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "tests/load/janus_internal.h"

/* The SDP we write, before it is sent (one at a time: the run has one thread). */
static char sdp_buf[LT_SDP_MAX];

/* ---- peers ----------------------------------------------------------------------------------- */

static void on_local_candidate(void *user, const char *candidate)
{
    lt_jpc_t *pc = user;
    if (pc->sdp_sent)
        lt_jtrickle(pc, candidate);
    else
        lt_jhold(&pc->local, candidate);
}

static void on_peer_state(void *user, lt_peer_state_t state, const char *reason)
{
    lt_jpc_t *pc = user;
    if (state == LT_PEER_FAILED)
        lt_jfail(pc->part->jc, "participant %u: %s PeerConnection failed: %s", pc->part->index,
                 lt_jpc_name(pc), reason ? reason : "?");
}

static const lt_peer_callbacks_t peer_callbacks = { on_local_candidate, on_peer_state };

/* Creates pc's lt_peer (the publisher sends, the subscriber receives). */
static int make_peer(lt_jpc_t *pc)
{
    lt_jpart_t *p = pc->part;
    lt_consult_t *c = p->jc->c;
    const lt_env_t *env = c->env;
    lt_peer_config_t cfg = {
        .media = env->media,
        .cert = env->cert,
        .bind_address = env->bind_address,
        .send_audio = !pc->sub && env->audio,
        .send_video = !pc->sub && env->video,
        .decode = pc->sub && c->decode,
        /* Spread the loops so the room's keyframes do not coincide. */
        .start_offset_ms = (uint32_t)((c->index * LT_MAX_PARTICIPANTS + p->index) * 1733u % 10000u),
        .srtp_profiles = env->srtp_profiles,
        .ice_batch = env->ice_batch,
    };
    int err = 0;
    pc->peer = lt_peer_new(env->ctx, &cfg, &peer_callbacks, pc, &err);
    if (!pc->peer) {
        lt_jfail(p->jc, "participant %u: cannot create the %s peer: %s", p->index,
                 lt_jpc_name(pc), cs_strerror(err));
        return err ? err : CS_ENOMEM;
    }
    c->peers[pc->sub ? c->n + p->index : p->index] = pc->peer;
    return 0;
}

/* ---- the publisher --------------------------------------------------------------------------- */

static void join_publisher(lt_jpart_t *p)
{
    char display[32];
    snprintf(display, sizeof display, "load-%u-%u", p->jc->c->index, p->index);
    p->join_sent = true;
    json_t *body = json_pack("{s:s, s:s, s:I, s:s}", "request", "join", "ptype", "publisher",
                             "room", (json_int_t)p->jc->room, "display", display);
    lt_jplugin(&p->pub, body, NULL, NULL, "join");
}

static void create_room(lt_jpart_t *p)
{
    lt_jconsult_t *jc = p->jc;
    char description[64];
    snprintf(description, sizeof description, "consilium-load %u", jc->c->index);
    json_t *body = json_pack("{s:s, s:I, s:s, s:i, s:s, s:s, s:b}", "request", "create", "room",
                             (json_int_t)jc->room, "description", description, "publishers",
                             (int)jc->c->n, "videocodec", "vp8", "audiocodec", "opus", "record", 0);
    lt_jplugin(&p->pub, body, NULL, NULL, "room");
}

static void publish(lt_jpart_t *p, uint64_t feed)
{
    p->feed = feed;
    if (make_peer(&p->pub) < 0)
        return;
    int n = lt_peer_create_offer(p->pub.peer, 0, 0, sdp_buf, LT_SDP_MAX);
    json_t *body = json_pack("{s:s}", "request", "publish");
    if (n < 0) {
        json_decref(body);
        lt_jfail(p->jc, "participant %u: cannot write the publisher's offer: %s", p->index,
                 cs_strerror(n));
    } else if (lt_jplugin(&p->pub, body, "offer", sdp_buf, "publish") == 0) {
        p->pub.sdp_sent = true;
        lt_jrelease(&p->pub, &p->pub.local, lt_jtrickle);
    }
}

static void apply_answer(lt_jpart_t *p, const json_t *jsep)
{
    char err[256] = "";
    if (strcmp(lt_jstr(jsep, "type"), "answer") != 0) {
        lt_jfail(p->jc, "participant %u: Janus sent a publisher \"%s\", not an answer", p->index,
                 lt_jstr(jsep, "type"));
        return;
    }
    int rc = lt_peer_set_answer(p->pub.peer, lt_jstr(jsep, "sdp"), err, sizeof err);
    if (rc < 0) {
        lt_jfail(p->jc, "participant %u: Janus's answer refused: %s", p->index,
                 *err ? err : cs_strerror(rc));
        return;
    }
    p->pub.remote_set = true;
    lt_jrelease(&p->pub, &p->pub.remote, lt_jadd_remote);
}

/* ---- the subscriber -------------------------------------------------------------------------- */

static void attach(lt_jpart_t *p, const char *kind)
{
    lt_jsend(p, json_pack("{s:s, s:s}", "janus", "attach", "plugin", LT_J_PLUGIN), kind);
}

/* Once every publisher is up, each participant subscribes to the others. */
static void maybe_subscribe(lt_jconsult_t *jc)
{
    size_t n = jc->c->n;
    if (jc->subscribing)
        return;
    for (size_t i = 0; i < n; i++)
        if (!jc->parts[i]->pub.up)
            return;
    jc->subscribing = true;
    for (size_t i = 0; i < n && !jc->failed; i++)
        attach(jc->parts[i], "attachsub");
}

static void join_subscriber(lt_jpart_t *p)
{
    lt_jconsult_t *jc = p->jc;
    json_t *streams = json_array();
    for (size_t i = 0; i < jc->c->n; i++) {
        if (i != p->index)
            json_array_append_new(streams,
                                  json_pack("{s:I}", "feed", (json_int_t)jc->parts[i]->feed));
    }
    json_t *body = json_pack("{s:s, s:s, s:I, s:o}", "request", "join", "ptype", "subscriber",
                             "room", (json_int_t)jc->room, "streams", streams);
    lt_jplugin(&p->sub, body, NULL, NULL, "subjoin");
}

/* The subscriber's receivers match packets against the other participants' senders. */
static void set_sources(lt_jpart_t *p)
{
    lt_consult_t *c = p->jc->c;
    size_t k = 0, cap = sizeof p->sources / sizeof p->sources[0];
    for (size_t i = 0; i < c->n; i++) {
        const lt_jpc_t *other = &p->jc->parts[i]->pub;
        if (i != p->index && other->peer)
            k += lt_peer_senders(other->peer, p->sources + k, cap - k);
    }
    lt_peer_set_sources(p->sub.peer, (lt_sources_t){ .senders = p->sources, .n = k });
}

static void answer_offer(lt_jpart_t *p, const json_t *jsep)
{
    if (strcmp(lt_jstr(jsep, "type"), "offer") != 0) {
        lt_jfail(p->jc, "participant %u: Janus attached the subscriber without an offer",
                 p->index);
        return;
    }
    if (make_peer(&p->sub) < 0)
        return;
    set_sources(p);
    char err[256] = "";
    int n = lt_peer_answer_offer(p->sub.peer, lt_jstr(jsep, "sdp"), sdp_buf, LT_SDP_MAX, err,
                                 sizeof err);
    json_t *body = json_pack("{s:s}", "request", "start");
    if (n < 0) {
        json_decref(body);
        lt_jfail(p->jc, "participant %u: cannot answer Janus's subscriber offer: %s", p->index,
                 *err ? err : cs_strerror(n));
    } else if (lt_jplugin(&p->sub, body, "answer", sdp_buf, "start") == 0) {
        p->sub.remote_set = true;
        lt_jrelease(&p->sub, &p->sub.remote, lt_jadd_remote);
        p->sub.sdp_sent = true;
        lt_jrelease(&p->sub, &p->sub.local, lt_jtrickle);
    }
}

/* ---- Janus's messages ------------------------------------------------------------------------ */

static lt_jpc_t *pc_of(lt_jpart_t *p, const json_t *msg)
{
    uint64_t sender = lt_jint(msg, "sender");
    if (sender && sender == p->pub.handle)
        return &p->pub;
    if (sender && sender == p->sub.handle)
        return &p->sub;
    return NULL;
}

static void on_success(lt_jpart_t *p, const json_t *msg)
{
    lt_jconsult_t *jc = p->jc;
    const char *tx = lt_jstr(msg, "transaction");
    uint64_t id = lt_jint(json_object_get(msg, "data"), "id");
    const json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
    if (lt_jstarts(tx, "create-")) {
        p->session = id;
        p->keepalive_us = cs_mono_us();
        attach(p, "attachpub");
    } else if (lt_jstarts(tx, "attachpub-")) {
        p->pub.handle = id;
        if (p->index == 0)
            create_room(p);
        else if (jc->room_ready)
            join_publisher(p);
    } else if (lt_jstarts(tx, "attachsub-")) {
        p->sub.handle = id;
        join_subscriber(p);
    } else if (lt_jstarts(tx, "room-")) {
        if (json_object_get(data, "error_code")) {
            lt_jfail(jc, "creating room %llu: %s", (unsigned long long)jc->room,
                     lt_jstr(data, "error"));
            return;
        }
        jc->room_ready = true;
        for (size_t i = 0; i < jc->c->n; i++)
            if (jc->parts[i]->pub.handle && !jc->parts[i]->join_sent)
                join_publisher(jc->parts[i]);
    }
}

static void on_event(lt_jpart_t *p, const json_t *msg)
{
    lt_jpc_t *pc = pc_of(p, msg);
    const json_t *data = json_object_get(json_object_get(msg, "plugindata"), "data");
    const json_t *jsep = json_object_get(msg, "jsep");
    if (!pc || !json_is_object(data))
        return;
    if (json_object_get(data, "error_code")) {
        lt_jfail(p->jc, "participant %u: VideoRoom error %llu on the %s: %s", p->index,
                 (unsigned long long)lt_jint(data, "error_code"), lt_jpc_name(pc),
                 lt_jstr(data, "error"));
        return;
    }
    const char *what = lt_jstr(data, "videoroom");
    if (!pc->sub && strcmp(what, "joined") == 0)
        publish(p, lt_jint(data, "id"));
    else if (!pc->sub && jsep && json_object_get(data, "configured"))
        apply_answer(p, jsep);
    else if (pc->sub && strcmp(what, "attached") == 0)
        answer_offer(p, jsep);
    else if (strcmp(what, "destroyed") == 0)
        lt_jfail(p->jc, "room %llu destroyed while in use", (unsigned long long)p->jc->room);
}

static void on_trickle(lt_jpart_t *p, const json_t *msg)
{
    lt_jpc_t *pc = pc_of(p, msg);
    const json_t *cand = json_object_get(msg, "candidate");
    if (!pc || !json_is_object(cand))
        return;
    bool done = json_is_true(json_object_get(cand, "completed"));
    const char *text = done ? "" : lt_jstr(cand, "candidate");
    if (!done && !*text)
        return;
    if (pc->remote_set)
        lt_jadd_remote(pc, text);
    else
        lt_jhold(&pc->remote, text);
}

static void on_text(void *user, const char *text, size_t len)
{
    lt_jpart_t *p = user;
    if (!p->jc) {
        lt_jgoodbye_reply(p, text, len);
        return;
    }
    json_t *msg = json_loadb(text, len, 0, NULL);
    const char *kind = lt_jstr(msg, "janus");
    lt_jpc_t *pc = msg ? pc_of(p, msg) : NULL;
    if (!json_is_object(msg)) {
        lt_jfail(p->jc, "participant %u: Janus sent something not JSON", p->index);
    } else if (strcmp(kind, "success") == 0) {
        on_success(p, msg);
    } else if (strcmp(kind, "event") == 0) {
        on_event(p, msg);
    } else if (strcmp(kind, "trickle") == 0) {
        on_trickle(p, msg);
    } else if (strcmp(kind, "webrtcup") == 0 && pc) {
        pc->up = true;
        if (!pc->sub)
            maybe_subscribe(p->jc);
    } else if (strcmp(kind, "error") == 0) {
        const json_t *e = json_object_get(msg, "error");
        lt_jfail(p->jc, "participant %u: Janus error %llu: %s (%s)", p->index,
                 (unsigned long long)lt_jint(e, "code"), lt_jstr(e, "reason"),
                 lt_jstr(msg, "transaction"));
    } else if (strcmp(kind, "hangup") == 0 && pc) {
        lt_jfail(p->jc, "participant %u: Janus hung up the %s: %s", p->index, lt_jpc_name(pc),
                 lt_jstr(msg, "reason"));
    } else if (strcmp(kind, "detached") == 0 || strcmp(kind, "timeout") == 0) {
        lt_jfail(p->jc, "participant %u: Janus says \"%s\"", p->index, kind);
    }
    json_decref(msg);
}

static void on_open(void *user)
{
    lt_jpart_t *p = user;
    lt_jsend(p, json_pack("{s:s}", "janus", "create"), "create");
}

static void on_close(void *user, int code, const char *reason)
{
    lt_jpart_t *p = user;
    lt_ws_free(p->ws);
    p->ws = NULL;
    if (!p->jc) {
        lt_jpart_free(p);
        return;
    }
    lt_jfail(p->jc, "participant %u: connection to Janus closed (%d%s%s)", p->index, code,
             reason && *reason ? " " : "", reason ? reason : "");
}

static const lt_ws_callbacks_t ws_callbacks = { on_open, on_text, on_close };

/* ---- readiness, reports, keepalives ---------------------------------------------------------- */

/* Every peer connected, and each subscriber receiving every kind from every other participant. */
static bool all_ready(const lt_jconsult_t *jc)
{
    const lt_consult_t *c = jc->c;
    for (size_t i = 0; i < c->n; i++) {
        const lt_jpart_t *p = jc->parts[i];
        if (!p->pub.peer || !p->sub.peer || lt_peer_state(p->pub.peer) != LT_PEER_CONNECTED ||
            lt_peer_state(p->sub.peer) != LT_PEER_CONNECTED)
            return false;
        lt_peer_stats_t st;
        lt_peer_stats(p->sub.peer, &st);
        size_t got[2] = { 0, 0 };
        for (size_t r = 0; r < st.n_receivers; r++) {
            lt_receiver_stats_t rs;
            lt_peer_receiver_stats(p->sub.peer, r, &rs);
            if (rs.received > 0 && (rs.kind == LT_AUDIO || rs.kind == LT_VIDEO))
                got[rs.kind]++;
        }
        if ((c->env->audio && got[LT_AUDIO] < c->n - 1) ||
            (c->env->video && got[LT_VIDEO] < c->n - 1))
            return false;
    }
    return true;
}

static void keepalives(lt_jconsult_t *jc)
{
    int64_t now = cs_mono_us();
    for (size_t i = 0; i < jc->c->n; i++) {
        lt_jpart_t *p = jc->parts[i];
        if (p->ws && p->session && now - p->keepalive_us >= LT_J_KEEPALIVE_US) {
            p->keepalive_us = now;
            lt_jsend(p, json_pack("{s:s}", "janus", "keepalive"), "keepalive");
        }
    }
}

/* The runner may stop (free) the consult inside lt_consult_ready/failed:
 * nothing of jc is touched after either call. */
static gboolean on_tick(gpointer user)
{
    lt_jconsult_t *jc = user;
    if (jc->failed && !jc->told_failed) {
        jc->told_failed = true;
        lt_consult_failed(jc->c, "%s", jc->why);
        return G_SOURCE_CONTINUE;
    }
    if (!jc->failed && !jc->told_ready && jc->subscribing && all_ready(jc)) {
        jc->told_ready = true;
        lt_consult_ready(jc->c);
        return G_SOURCE_CONTINUE;
    }
    keepalives(jc);
    return G_SOURCE_CONTINUE;
}

/* ---- the driver ------------------------------------------------------------------------------ */

static int janus_init(const lt_env_t *env, char *err, size_t cap)
{
    if (!env->url || strncmp(env->url, "ws://", 5) != 0) {
        snprintf(err, cap, "Janus is driven over its WebSocket API: --url ws://HOST:PORT "
                           "(e.g. ws://127.0.0.1:8188)");
        return CS_EINVAL;
    }
    if (!env->audio && !env->video) {
        snprintf(err, cap, "nothing to publish: audio and video are both off");
        return CS_EINVAL;
    }
    return 0;
}

static void janus_stop(lt_consult_t *c);

static int janus_start(lt_consult_t *c)
{
    const lt_env_t *env = c->env;
    if (c->n < 2 || c->n > LT_MAX_PARTICIPANTS) {
        snprintf(c->error, sizeof c->error, "participants must be 2..%d", LT_MAX_PARTICIPANTS);
        return CS_EINVAL;
    }
    lt_jconsult_t *jc = calloc(1, sizeof *jc);
    if (!jc) {
        snprintf(c->error, sizeof c->error, "out of memory");
        return CS_ENOMEM;
    }
    jc->c = c;
    /* Unique per run and consult, and below 2^53 (Janus's ids travel as JSON numbers). */
    jc->room = (((uint64_t)env->run_id << 20) | (c->index & 0xfffffu)) + 1;
    c->driver_state = jc;
    c->n_peers = 2 * c->n;
    for (unsigned i = 0; i < c->n; i++) {
        lt_jpart_t *p = jc->parts[i] = calloc(1, sizeof *p);
        if (!p) {
            snprintf(c->error, sizeof c->error, "out of memory");
            janus_stop(c);
            return CS_ENOMEM;
        }
        p->jc = jc;
        p->index = i;
        p->pub.part = p;
        p->sub.part = p;
        p->sub.sub = true;
        int err = 0;
        p->ws = lt_ws_connect(env->ctx, env->url, "janus-protocol", &ws_callbacks, p, &err);
        if (!p->ws) {
            snprintf(c->error, sizeof c->error, "cannot connect to %s: %s", env->url,
                     cs_strerror(err));
            janus_stop(c);
            return err ? err : CS_EIO;
        }
    }
    jc->timer = g_timeout_source_new(LT_J_TICK_MS);
    g_source_set_callback(jc->timer, on_tick, jc, NULL);
    g_source_attach(jc->timer, env->ctx);
    return 0;
}

static void janus_stop(lt_consult_t *c)
{
    lt_jconsult_t *jc = c->driver_state;
    if (!jc)
        return;
    if (jc->timer) {
        g_source_destroy(jc->timer);
        g_source_unref(jc->timer);
    }
    jc->failed = true; /* no report from here on, whatever the goodbyes meet */
    /* The creator last, so the room goes after the others have left. */
    for (size_t k = c->n; k-- > 0;) {
        lt_jpart_t *p = jc->parts[k];
        if (!p)
            continue;
        if (p->pub.peer)
            lt_peer_free(p->pub.peer);
        if (p->sub.peer)
            lt_peer_free(p->sub.peer);
        p->pub.peer = p->sub.peer = NULL;
        if (p->ws && p->session)
            lt_jgoodbye(p);
        else
            lt_jpart_free(p);
    }
    for (size_t i = 0; i < LT_MAX_PEERS; i++)
        c->peers[i] = NULL;
    c->n_peers = 0;
    c->driver_state = NULL;
    free(jc);
}

/* The last goodbyes are answered before the process exits. */
static void janus_finish(const lt_env_t *env)
{
    int64_t end = cs_mono_us() + (LT_J_GOODBYE_MS + 500) * 1000LL;
    while (lt_jgoodbyes_left() > 0 && cs_mono_us() < end)
        g_main_context_iteration(env->ctx, TRUE);
}

const lt_driver_t lt_driver_janus = {
    .name = "janus",
    .init = janus_init,
    .start = janus_start,
    .stop = janus_stop,
    .finish = janus_finish,
};

