/*
 * consilium.c — the load tool's driver for Consilium's own signalling
 * (docs/PROTOCOL.md): per consult a specialist with a specialty of its own
 * (so no other specialist is offered its request), a clinician who
 * requests, the specialist accepting the offer, both joining, and the other
 * participants invited by code and joining; then each participant's media
 * as a browser negotiates it: one offer outstanding at a time, answers
 * applied, candidates trickled both ways (the server's kept until the
 * answer they belong to is applied), and a new offer whenever media.tracks
 * lists a track none of its sections carries.
 *
 * Tokens are minted with the gateway's HS256 secret (signaling/auth). The
 * consult is ready when every peer is connected and receives every other
 * participant's audio and video; failures (an error reply, media failed, a
 * socket closed) are reported once with who and what.
 */
#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "signaling/auth/auth.h"
#include "tests/load/driver.h"
#include "tests/load/ws.h"

#define TOKEN_TTL_MS (2 * 3600 * 1000LL)
#define CHECK_MS 50                  /* readiness looked at this often while starting */
#define MAX_OFFERS 32                /* per participant: renegotiation never loops */
#define MAX_TRACKS (2 * LT_MAX_PEERS)
#define MAX_CANDS 16                 /* candidates held before an offer or answer */

typedef enum { ROLE_CLINICIAN, ROLE_SPECIALIST, ROLE_GUEST } role_t;

typedef struct {
    char id[64];
    int kind;                        /* LT_AUDIO / LT_VIDEO, -1 other */
} track_t;

typedef struct cconsult cconsult_t;

typedef struct {
    cconsult_t *cc;
    unsigned index;
    role_t role;
    lt_ws_t *ws;
    lt_peer_t *peer;
    bool accept_sent;
    unsigned offer_id;               /* the outstanding offer, 0 none */
    unsigned offers;                 /* sent so far */
    bool answered;                   /* an answer is applied */
    size_t recv[2];                  /* receiving sections offered, per kind */
    track_t carried[MAX_TRACKS];     /* what the last answer maps to our sections */
    size_t n_carried;
    track_t listed[MAX_TRACKS];      /* the last media.tracks */
    size_t n_listed;
    unsigned list_version, offered_version;
    char *cands_in[MAX_CANDS], *cands_out[MAX_CANDS];
    size_t n_in, n_out;
    const lt_sender_t *sources[LT_MAX_PEERS];
} part_t;

struct cconsult {
    lt_consult_t *c;
    part_t parts[LT_MAX_PARTICIPANTS];
    char consult_id[40];
    char specialty[64];
    char clinician[64];              /* the clinician's subject: the offer to accept */
    unsigned identity;               /* whose staff: see identity_take */
    bool accepted;
    GSource *timer;
};

/* One run at a time per process: the signing key. */
static cs_auth_t *g_auth;

/* A consult's clinician, specialist and specialty are identity n's; an
 * ended consult's identity goes to the next one started, as a centre's
 * staff do consult after consult. A churned run then keeps the gateway's
 * table of signed-in users at the size of the staff (at most the consults
 * live at once), not two new users per consult. */
static struct {
    unsigned *free;
    size_t n_free, cap;
    unsigned next;
} g_identities;

static int identity_take(unsigned *out)
{
    if (g_identities.n_free) {
        *out = g_identities.free[--g_identities.n_free];
        return CS_OK;
    }
    if (g_identities.next == g_identities.cap) {
        size_t cap = g_identities.cap ? 2 * g_identities.cap : 64;
        unsigned *f = realloc(g_identities.free, cap * sizeof *f);
        if (!f)
            return CS_ENOMEM;
        g_identities.free = f;
        g_identities.cap = cap;
    }
    *out = g_identities.next++;   /* free never holds more than next entries */
    return CS_OK;
}

static void identity_give_back(unsigned n)
{
    g_identities.free[g_identities.n_free++] = n;
}

static const char *role_name(role_t r)
{
    return r == ROLE_CLINICIAN ? "clinician" : r == ROLE_SPECIALIST ? "specialist" : "guest";
}

static void cfail(part_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void cfail(part_t *p, const char *fmt, ...)
{
    lt_consult_t *c = p->cc->c;
    if (c->state == LT_CONSULT_FAILED || c->state == LT_CONSULT_STOPPED)
        return;
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    lt_consult_failed(c, "participant %u (%s): %s", p->index, role_name(p->role), why);
}

/* While starting, the step it waits for (the runner quotes it on a timeout). */
static void step(part_t *p, const char *what)
{
    lt_consult_t *c = p->cc->c;
    if (c->state == LT_CONSULT_STARTING)
        snprintf(c->error, sizeof c->error, "participant %u (%s) %s", p->index, role_name(p->role), what);
}

/* Sends msg (stolen) as one text message. */
static void send_json(part_t *p, json_t *msg)
{
    char *text = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
    json_decref(msg);
    if (!text) {
        cfail(p, "out of memory");
        return;
    }
    int rc = p->ws ? lt_ws_send(p->ws, text, strlen(text)) : CS_ESTATE;
    free(text);
    if (rc)
        cfail(p, "cannot send: %s", cs_strerror(rc));
}

/* A request about this consult with nothing but its id. */
static void request(part_t *p, const char *type, const char *id)
{
    send_json(p, json_pack("{s:s, s:s, s:s}", "type", type, "id", id, "consult_id", p->cc->consult_id));
}

/* ---- media -------------------------------------------------------------------------------------- */

/* Every peer's receivers may be getting the consult's other peers' senders. */
static void refresh_sources(cconsult_t *cc)
{
    lt_consult_t *c = cc->c;
    for (size_t i = 0; i < c->n; i++) {
        part_t *p = &cc->parts[i];
        if (!p->peer)
            continue;
        size_t k = 0;
        for (size_t j = 0; j < c->n; j++)
            if (j != i && cc->parts[j].peer)
                k += lt_peer_senders(cc->parts[j].peer, p->sources + k, LT_MAX_PEERS - k);
        lt_peer_set_sources(p->peer, (lt_sources_t){p->sources, k});
    }
}

static void send_candidate(part_t *p, const char *cand)
{
    send_json(p, json_pack("{s:s, s:s, s:s}", "type", "media.candidate", "consult_id",
                           p->cc->consult_id, "candidate", cand));
}

static size_t count_listed(const part_t *p, int kind)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_listed; i++)
        n += p->listed[i].kind == kind;
    return n;
}

static void send_offer(part_t *p)
{
    lt_consult_t *c = p->cc->c;
    const lt_env_t *env = c->env;
    if (p->offer_id || p->offers >= MAX_OFFERS)
        return;
    bool pub[2] = {env->audio, env->video};
    for (int k = 0; k < 2; k++) {
        size_t want = pub[k] ? c->n - 1 : 0, listed = count_listed(p, k);
        want = want > listed ? want : listed;
        p->recv[k] = want > p->recv[k] ? want : p->recv[k];
    }
    char *sdp = malloc(LT_SDP_MAX + 1);
    int n = sdp ? lt_peer_create_offer(p->peer, p->recv[LT_AUDIO], p->recv[LT_VIDEO], sdp, LT_SDP_MAX)
                : CS_ENOMEM;
    if (n < 0) {
        free(sdp);
        cfail(p, "cannot write an offer: %s", cs_strerror(n));
        return;
    }
    sdp[n] = '\0';
    const char *src = lt_peer_sources_json(p->peer);
    json_t *sources = src ? json_loads(src, 0, NULL) : NULL;
    char id[24];
    p->offer_id = ++p->offers;
    p->offered_version = p->list_version;
    snprintf(id, sizeof id, "offer-%u", p->offer_id);
    json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "type", "media.offer", "id", id, "consult_id",
                          p->cc->consult_id, "sdp", sdp);
    free(sdp);
    if (m)
        json_object_set_new(m, "sources", sources ? sources : json_object());
    else
        json_decref(sources);
    send_json(p, m);
    step(p, "waits for media.answer");
    /* Candidates gathered before the first offer follow it. */
    for (size_t i = 0; i < p->n_out; i++) {
        send_candidate(p, p->cands_out[i]);
        free(p->cands_out[i]);
        p->cands_out[i] = NULL;
    }
    p->n_out = 0;
    refresh_sources(p->cc);
}

static bool carried(const part_t *p, const char *id)
{
    for (size_t i = 0; i < p->n_carried; i++)
        if (strcmp(p->carried[i].id, id) == 0)
            return true;
    return false;
}

/* A listed track no section carries, and the list changed since the last offer. */
static bool needs_offer(const part_t *p)
{
    if (p->offered_version == p->list_version)
        return false;
    for (size_t i = 0; i < p->n_listed; i++)
        if (!carried(p, p->listed[i].id))
            return true;
    return false;
}

static size_t read_tracks(json_t *arr, track_t *out, size_t cap)
{
    size_t n = 0, i;
    json_t *t;
    json_array_foreach(arr, i, t) {
        const char *id = json_string_value(json_object_get(t, "track_id"));
        const char *kind = json_string_value(json_object_get(t, "kind"));
        if (!id || n == cap)
            continue;
        cs_strlcpy(out[n].id, id, sizeof out[n].id);
        out[n].kind = !kind ? -1 : strcmp(kind, "audio") == 0 ? LT_AUDIO
                                 : strcmp(kind, "video") == 0 ? LT_VIDEO : -1;
        n++;
    }
    return n;
}

static void on_answer(part_t *p, json_t *m)
{
    const char *id = json_string_value(json_object_get(m, "id"));
    char want[24];
    snprintf(want, sizeof want, "offer-%u", p->offer_id);
    if (!p->offer_id || !id || strcmp(id, want) != 0)
        return;                      /* not the outstanding offer's */
    const char *sdp = json_string_value(json_object_get(m, "sdp"));
    char err[200] = "";
    if (!sdp || lt_peer_set_answer(p->peer, sdp, err, sizeof err) < 0) {
        cfail(p, "unusable media.answer: %s", err[0] ? err : "no sdp");
        return;
    }
    p->offer_id = 0;
    p->n_carried = read_tracks(json_object_get(m, "tracks"), p->carried, MAX_TRACKS);
    if (!p->answered) {
        p->answered = true;
        for (size_t i = 0; i < p->n_in; i++) {
            lt_peer_add_remote_candidate(p->peer, p->cands_in[i]);
            free(p->cands_in[i]);
            p->cands_in[i] = NULL;
        }
        p->n_in = 0;
    }
    step(p, "waits for media");
    refresh_sources(p->cc);
    if (needs_offer(p))
        send_offer(p);
}

static void on_tracks(part_t *p, json_t *m)
{
    track_t now[MAX_TRACKS];
    memset(now, 0, sizeof now);      /* compared whole below */
    size_t n = read_tracks(json_object_get(m, "tracks"), now, MAX_TRACKS);
    if (n != p->n_listed || memcmp(now, p->listed, n * sizeof *now) != 0) {
        memcpy(p->listed, now, n * sizeof *now);
        p->n_listed = n;
        p->list_version++;
    }
    if (p->answered && needs_offer(p))
        send_offer(p);               /* or after the outstanding answer */
}

static void on_server_candidate(part_t *p, json_t *m)
{
    const char *cand = json_string_value(json_object_get(m, "candidate"));
    if (!cand || !p->peer)
        return;
    if (p->answered) {
        if (lt_peer_add_remote_candidate(p->peer, cand) < 0)
            cfail(p, "the gateway's candidate was refused: %.80s", cand);
    } else if (p->n_in < MAX_CANDS) {
        p->cands_in[p->n_in] = strdup(cand);
        p->n_in += p->cands_in[p->n_in] != NULL;
    }
}

static void peer_candidate(void *user, const char *cand)
{
    part_t *p = user;
    if (p->offers)
        send_candidate(p, cand);
    else if (p->n_out < MAX_CANDS && (p->cands_out[p->n_out] = strdup(cand)))
        p->n_out++;
}

static void peer_state(void *user, lt_peer_state_t state, const char *reason)
{
    if (state == LT_PEER_FAILED)
        cfail(user, "media failed: %s", reason ? reason : "?");
}

static void start_media(part_t *p)
{
    lt_consult_t *c = p->cc->c;
    const lt_env_t *env = c->env;
    lt_peer_config_t pc = {
        .media = env->media,
        .cert = env->cert,
        .bind_address = env->bind_address,
        .send_audio = env->audio,
        .send_video = env->video,
        .decode = c->decode,
        /* Spread the senders over the loop so they are not all on a keyframe at once. */
        .start_offset_ms = (uint32_t)((c->index * LT_MAX_PARTICIPANTS + p->index) * 997u % 10000u),
        .srtp_profiles = env->srtp_profiles,
        .ice_batch = env->ice_batch,
    };
    static const lt_peer_callbacks_t cb = {peer_candidate, peer_state};
    int err = 0;
    p->peer = lt_peer_new(env->ctx, &pc, &cb, p, &err);
    if (!p->peer) {
        cfail(p, "cannot create its peer: %s", cs_strerror(err));
        return;
    }
    c->peers[p->index] = p->peer;
    send_offer(p);
}

/* ---- signalling --------------------------------------------------------------------------------- */

static void connect_part(part_t *p);

static void on_accepted(cconsult_t *cc, json_t *consult)
{
    const char *id = json_string_value(json_object_get(consult, "id"));
    if (!id || cc->accepted)
        return;
    cc->accepted = true;
    cs_strlcpy(cc->consult_id, id, sizeof cc->consult_id);
    request(&cc->parts[0], "consult.join", "join");
    request(&cc->parts[1], "consult.join", "join");
    for (size_t k = 2; k < cc->c->n; k++) {
        char rid[32], name[48];
        snprintf(rid, sizeof rid, "invite-%zu", k);
        snprintf(name, sizeof name, "Load guest %zu", k);
        json_t *m = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "consult.invite", "id", rid,
                              "consult_id", cc->consult_id, "role", k == 2 ? "patient" : "interpreter",
                              "name", name);
        send_json(&cc->parts[1], m);
    }
    step(&cc->parts[0], "waits for consult.join");
}

static void on_invite(part_t *spec, json_t *m)
{
    const char *id = json_string_value(json_object_get(m, "id"));
    const char *code = json_string_value(json_object_get(m, "code"));
    unsigned k;
    if (!id || !code || sscanf(id, "invite-%u", &k) != 1 || k < 2 || k >= spec->cc->c->n) {
        cfail(spec, "unexpected invite reply");
        return;
    }
    part_t *g = &spec->cc->parts[k];
    if (g->ws)
        return;
    connect_part(g);
    if (g->ws)
        send_json(g, json_pack("{s:s, s:s, s:s}", "type", "hello", "id", "hello", "invite", code));
}

static void on_welcome(part_t *p)
{
    cconsult_t *cc = p->cc;
    if (p->role == ROLE_SPECIALIST) {
        send_json(p, json_pack("{s:s, s:s, s:s}", "type", "presence.set", "id", "presence", "status",
                               "available"));
        step(p, "waits for consult.offered");
    } else if (p->role == ROLE_CLINICIAN) {
        char pid[48];
        snprintf(pid, sizeof pid, "LOAD-%08x-%u", cc->c->env->run_id, cc->c->index);
        send_json(p, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:s, s:s}", "type",
                               "consult.request", "id", "request", "patient", "id", pid, "name",
                               "Load Patient", "birth_date", "1970-01-01", "specialty", cc->specialty,
                               "urgency", "emergency", "mode", "realtime", "reason",
                               "consilium-load synthetic consult"));
    } else {
        request(p, "consult.join", "join");
    }
}

static void on_offered(part_t *p, json_t *consult)
{
    const char *id = json_string_value(json_object_get(consult, "id"));
    const char *clin = json_string_value(json_object_get(json_object_get(consult, "clinician"), "subject"));
    if (p->role != ROLE_SPECIALIST || p->accept_sent || !id || !clin || strcmp(clin, p->cc->clinician) != 0)
        return;                      /* someone else's request (a shared --specialty) */
    p->accept_sent = true;
    cs_strlcpy(p->cc->consult_id, id, sizeof p->cc->consult_id);
    request(p, "consult.accept", "accept");
    step(p, "waits for its consult.accept reply");
}

static const char *str_of(json_t *obj, const char *key, const char *dflt)
{
    const char *v = json_string_value(json_object_get(obj, key));
    return v ? v : dflt;
}

static void on_reply(part_t *p, const char *type, const char *id, json_t *m)
{
    if (strcmp(type, "error") == 0) {
        cfail(p, "%s refused: %s: %s", id ? id : "a message", str_of(m, "code", "?"),
              str_of(m, "message", ""));
    } else if (strcmp(type, "welcome") == 0) {
        on_welcome(p);
    } else if (strcmp(type, "media.answer") == 0) {
        on_answer(p, m);
    } else if (strcmp(type, "invite") == 0) {
        on_invite(p, m);
    } else if (strcmp(type, "ok") == 0 && id && strcmp(id, "accept") == 0) {
        on_accepted(p->cc, json_object_get(m, "consult"));
    } else if (strcmp(type, "ok") == 0 && id && strcmp(id, "join") == 0) {
        if (!p->peer)
            start_media(p);
    }
}

static void on_notice(part_t *p, const char *type, json_t *m)
{
    if (strcmp(type, "consult.offered") == 0) {
        on_offered(p, json_object_get(m, "consult"));
    } else if (strcmp(type, "media.candidate") == 0) {
        on_server_candidate(p, m);
    } else if (strcmp(type, "media.tracks") == 0) {
        on_tracks(p, m);
    } else if (strcmp(type, "media.state") == 0) {
        const char *st = json_string_value(json_object_get(m, "state"));
        const char *why = json_string_value(json_object_get(m, "reason"));
        if (st && (strcmp(st, "failed") == 0 || strcmp(st, "closed") == 0))
            cfail(p, "the gateway says media %s%s%s", st, why ? ": " : "", why ? why : "");
    }
}

static void ws_message(void *user, const char *text, size_t len)
{
    part_t *p = user;
    if (p->cc->c->state == LT_CONSULT_FAILED)
        return;                      /* the runner stops it soon */
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = json_string_value(json_object_get(m, "type"));
    if (!type) {
        cfail(p, "a message that is not a protocol object");
    } else {
        const char *id = json_string_value(json_object_get(m, "id"));
        if (id || strcmp(type, "error") == 0)
            on_reply(p, type, id, m);
        else
            on_notice(p, type, m);
    }
    json_decref(m);
}

static void ws_open(void *user)
{
    part_t *p = user;
    step(p, "waits for welcome");
}

static void ws_closed(void *user, int code, const char *reason)
{
    part_t *p = user;
    lt_ws_free(p->ws);
    p->ws = NULL;
    cfail(p, "connection closed (%d%s%s)", code, reason && *reason ? " " : "", reason ? reason : "");
}

static void connect_part(part_t *p)
{
    const lt_env_t *env = p->cc->c->env;
    static const lt_ws_callbacks_t cb = {ws_open, ws_message, ws_closed};
    int err = 0;
    p->ws = lt_ws_connect(env->ctx, env->url, NULL, &cb, p, &err);
    if (!p->ws)
        cfail(p, "cannot connect to %s: %s", env->url, cs_strerror(err));
    else
        step(p, "connects");
}

/* A token for the clinician or the specialist, sent as hello once the socket opens. */
static int hello_with_token(part_t *p)
{
    cconsult_t *cc = p->cc;
    const lt_env_t *env = cc->c->env;
    cs_identity_t id = {0};
    snprintf(id.subject, sizeof id.subject, "%s-%08x-%u", p->role == ROLE_CLINICIAN ? "lc" : "ls",
             env->run_id, cc->identity);
    snprintf(id.name, sizeof id.name, "Load %s %u", role_name(p->role), cc->identity);
    id.role = p->role == ROLE_CLINICIAN ? CS_ROLE_CLINICIAN : CS_ROLE_SPECIALIST;
    cs_strlcpy(id.tenant, env->tenant ? env->tenant : "load", sizeof id.tenant);
    if (p->role == ROLE_SPECIALIST) {
        cs_strlcpy(id.specialties[0], cc->specialty, sizeof id.specialties[0]);
        id.n_specialties = 1;
    } else {
        cs_strlcpy(cc->clinician, id.subject, sizeof cc->clinician);
    }
    char *token = NULL;
    int rc = cs_auth_mint(g_auth, &id, cs_now_ms(), TOKEN_TTL_MS, "HS256", &token);
    if (rc) {
        snprintf(cc->c->error, sizeof cc->c->error, "cannot mint a %s token: %s", role_name(p->role),
                 cs_strerror(rc));
        return rc;
    }
    connect_part(p);
    if (p->ws)  /* queued until the socket opens */
        send_json(p, json_pack("{s:s, s:s, s:s}", "type", "hello", "id", "hello", "token", token));
    free(token);
    return p->ws ? CS_OK : CS_EIO;
}

/* ---- readiness ------------------------------------------------------------------------------------ */

/* Connected and receiving every other participant's kinds; when not, and
 * its negotiation is done, says what is missing (quoted on a timeout). */
static bool part_ready(part_t *p)
{
    const lt_consult_t *c = p->cc->c;
    if (!p->peer)
        return false;
    lt_peer_stats_t st;
    lt_peer_stats(p->peer, &st);
    size_t got[2] = {0, 0};
    for (size_t r = 0; r < st.n_receivers; r++) {
        lt_receiver_stats_t rs;
        lt_peer_receiver_stats(p->peer, r, &rs);
        if (rs.received && (rs.kind == LT_AUDIO || rs.kind == LT_VIDEO))
            got[rs.kind]++;
    }
    size_t want[2] = {c->env->audio ? c->n - 1 : 0, c->env->video ? c->n - 1 : 0};
    if (st.state == LT_PEER_CONNECTED && got[LT_AUDIO] >= want[LT_AUDIO] && got[LT_VIDEO] >= want[LT_VIDEO])
        return true;
    if (p->answered && !p->offer_id) {
        char what[128];
        snprintf(what, sizeof what, "waits for media: peer %s, receiving %zu/%zu audio, %zu/%zu video",
                 lt_peer_state_name(st.state), got[LT_AUDIO], want[LT_AUDIO], got[LT_VIDEO], want[LT_VIDEO]);
        step(p, what);
    }
    return false;
}

static bool all_ready(cconsult_t *cc)
{
    for (size_t i = 0; i < cc->c->n; i++)
        if (!part_ready(&cc->parts[i]))
            return false;
    return true;
}

static gboolean on_check(gpointer user)
{
    cconsult_t *cc = user;
    if (cc->c->state != LT_CONSULT_STARTING) {
        cc->timer = NULL;            /* removed by returning G_SOURCE_REMOVE */
        return G_SOURCE_REMOVE;
    }
    if (all_ready(cc)) {
        cc->timer = NULL;
        lt_consult_ready(cc->c);
        return G_SOURCE_REMOVE;
    }
    return G_SOURCE_CONTINUE;
}

/* ---- the driver -------------------------------------------------------------------------------- */

static int read_secret(const char *path, unsigned char *out, size_t cap, size_t *len, char *err, size_t ecap)
{
    FILE *f = path ? fopen(path, "rb") : NULL;
    if (!f) {
        snprintf(err, ecap, "cannot read the HS256 secret %s: %s (give --secret <data_dir>/jwt-secret)",
                 path ? path : "(none)", path ? strerror(errno) : "no file given");
        return CS_EIO;
    }
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    n = strcspn(line, "\r\n");
    if (n < 32 || n > cap) {
        snprintf(err, ecap, "%s must hold 32 to %zu bytes of secret on its first line", path, cap);
        return CS_EINVAL;
    }
    memcpy(out, line, n);
    *len = n;
    return CS_OK;
}

static int cl_init(const lt_env_t *env, char *err, size_t cap)
{
    const char *bad = !env->url || strncmp(env->url, "ws://", 5) ? "Consilium is driven over its WebSocket: --url ws://HOST:PORT/ws"
                      : !env->audio && !env->video ? "nothing to publish: audio and video are both off"
                      : env->tenant && !cs_slug_valid(env->tenant, CS_TENANT_MAX) ? "--tenant must be a slug (a-z, 0-9, - and _)"
                      : env->specialty && !cs_slug_valid(env->specialty, CS_SPECIALTY_MAX)
                          ? "--specialty must be a slug (a-z, 0-9, - and _)"
                          : NULL;
    if (bad) {
        snprintf(err, cap, "%s", bad);
        return CS_EINVAL;
    }
    unsigned char secret[256];
    size_t len = 0;
    int rc = read_secret(env->jwt_secret_file, secret, sizeof secret, &len, err, cap);
    if (rc)
        return rc;
    cs_auth_config_t ac = {.hs256_secret = secret, .hs256_secret_len = len, .leeway_ms = 30000};
    g_auth = cs_auth_new(&ac, &rc);
    memset(secret, 0, sizeof secret);
    if (!g_auth) {
        snprintf(err, cap, "unusable HS256 secret in %s: %s", env->jwt_secret_file, cs_strerror(rc));
        return rc ? rc : CS_EINVAL;
    }
    return CS_OK;
}

static void cl_stop(lt_consult_t *c);

static int cl_start(lt_consult_t *c)
{
    const lt_env_t *env = c->env;
    if (c->n < 2 || c->n > LT_MAX_PARTICIPANTS || !g_auth) {
        snprintf(c->error, sizeof c->error, "participants must be 2..%d", LT_MAX_PARTICIPANTS);
        return CS_EINVAL;
    }
    cconsult_t *cc = calloc(1, sizeof *cc);
    if (!cc) {
        snprintf(c->error, sizeof c->error, "out of memory");
        return CS_ENOMEM;
    }
    if (identity_take(&cc->identity)) {
        free(cc);
        snprintf(c->error, sizeof c->error, "out of memory");
        return CS_ENOMEM;
    }
    cc->c = c;
    c->driver_state = cc;
    c->n_peers = c->n;
    if (env->specialty)
        cs_strlcpy(cc->specialty, env->specialty, sizeof cc->specialty);
    else
        snprintf(cc->specialty, sizeof cc->specialty, "load-%08x-%u", env->run_id, cc->identity);
    for (unsigned i = 0; i < c->n; i++)
        cc->parts[i] = (part_t){.cc = cc, .index = i, .role = i == 0 ? ROLE_CLINICIAN : i == 1 ? ROLE_SPECIALIST : ROLE_GUEST};
    int rc = hello_with_token(&cc->parts[1]);
    if (!rc)
        rc = hello_with_token(&cc->parts[0]);
    if (rc) {
        char why[sizeof c->error];
        cs_strlcpy(why, c->error, sizeof why);
        cl_stop(c);
        cs_strlcpy(c->error, why, sizeof c->error);
        return rc;
    }
    cc->timer = g_timeout_source_new(CHECK_MS);
    g_source_set_callback(cc->timer, on_check, cc, NULL);
    g_source_attach(cc->timer, env->ctx);
    g_source_unref(cc->timer);       /* the context holds it until it is removed */
    return CS_OK;
}

static void cl_stop(lt_consult_t *c)
{
    cconsult_t *cc = c->driver_state;
    if (!cc)
        return;
    if (cc->timer)
        g_source_destroy(cc->timer);
    part_t *clin = &cc->parts[0], *spec = &cc->parts[1];
    /* As users leave: the specialist ends an accepted consult, the clinician
     * withdraws a request nobody took. The sockets flush it as they close. */
    if (cc->accepted && spec->ws)
        request(spec, "consult.end", "end");
    else if (cc->consult_id[0] && clin->ws)
        request(clin, "consult.cancel", "cancel");
    for (size_t i = 0; i < c->n; i++)
        if (cc->parts[i].peer)
            lt_peer_set_sources(cc->parts[i].peer, (lt_sources_t){NULL, 0});
    for (size_t i = 0; i < c->n; i++) {
        part_t *p = &cc->parts[i];
        if (p->peer)
            lt_peer_free(p->peer);
        lt_ws_free(p->ws);
        for (size_t k = 0; k < MAX_CANDS; k++) {
            free(p->cands_in[k]);     /* NULL past n_in and n_out */
            free(p->cands_out[k]);
        }
    }
    memset(c->peers, 0, sizeof c->peers);
    c->n_peers = 0;
    c->driver_state = NULL;
    identity_give_back(cc->identity);
    free(cc);
}

static void cl_finish(const lt_env_t *env)
{
    (void)env;
    cs_auth_free(g_auth);
    g_auth = NULL;
    free(g_identities.free);
    memset(&g_identities, 0, sizeof g_identities);
}

const lt_driver_t lt_driver_consilium = {
    .name = "consilium",
    .init = cl_init,
    .start = cl_start,
    .stop = cl_stop,
    .finish = cl_finish,
};
