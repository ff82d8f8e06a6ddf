/*
 * router_simulcast.c — which layer of a video track each subscriber gets, and
 * the keyframe requests that make switching possible.
 *
 * Layers are ranked by their measured bitrate (once every active layer has
 * one), else in the order the answer's a=simulcast lists them (Chromium and
 * Firefox list them as the web client adds them, low to high). A layer is
 * active while packets arrive (RT_LAYER_IDLE_US); browsers stop sending top
 * layers when their own bandwidth is short.
 *
 * A subscriber's REMB, less its audio when the REMB lists an audio SSRC, is
 * shared evenly by the video tracks it receives. Each gets the best layer whose bitrate fits: down at once, up
 * only after the estimate has allowed the higher layer with a 20% margin for
 * RT_UP_HOLD_US. A layer being sent is kept while the estimate covers
 * RT_KEEP_FRACTION of its rate (REMB hovers around what arrives). Well below
 * the lowest layer (or RT_MIN_VIDEO_BPS; a track without simulcast pauses
 * only there), and only while the subscriber reports RT_PAUSE_LOSS or more
 * lost on the stream, video stops; audio keeps flowing. A
 * paused track is tried again at its lowest layer every RT_PAUSE_RETRY_US
 * for RT_PROBE_GRACE_US, because a receive-side estimate cannot grow far
 * above what arrives. Without REMB a subscriber starts on the middle layer
 * (the lower of two): a safe picture at once, better when REMB says so.
 *
 * Keyframe requests are per track, at most one per
 * CS_ROUTER_KEYFRAME_INTERVAL_MS; a request inside the interval is kept
 * (as a mask of layers) and sent by the tick when the interval has passed.
 */
#include "media/router/internal.h"

#include <string.h>

#define KF_INTERVAL_US ((int64_t)CS_ROUTER_KEYFRAME_INTERVAL_MS * 1000)

bool rt_layer_active(const rt_in_t *in, int64_t now)
{
    return in->has_ssrc && in->last_us && now - in->last_us < RT_LAYER_IDLE_US;
}

int8_t rt_initial_layer(const rt_track_t *t)
{
    return t->n_layers ? (int8_t)t->rank[(t->n_layers - 1) / 2] : 0;
}

static void rank(rt_track_t *t)
{
    bool measured = true;
    for (unsigned l = 0; l < t->n_layers; l++)
        if (t->layers[l].has_ssrc && t->layers[l].bps <= 0)
            measured = false;
    for (unsigned l = 0; l < t->n_layers; l++)
        t->rank[l] = (uint8_t)l;
    if (!measured)
        return;
    for (unsigned i = 1; i < t->n_layers; i++)
        for (unsigned j = i; j > 0 && t->layers[t->rank[j - 1]].bps > t->layers[t->rank[j]].bps;
             j--) {
            uint8_t x = t->rank[j];
            t->rank[j] = t->rank[j - 1];
            t->rank[j - 1] = x;
        }
}

void rt_rates_update(cs_router_t *r, int64_t now)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        for (unsigned k = 0; r->members[i].used && k < CS_ROUTER_MAX_PUBLISHED; k++) {
            rt_track_t *t = &r->members[i].tracks[k];
            for (unsigned l = 0; t->used && l < t->n_layers; l++) {
                rt_in_t *in = &t->layers[l];
                if (!rt_layer_active(in, now)) {
                    in->bps = 0;
                    in->rate_us = 0;
                } else if (in->rate_us && now > in->rate_us) {
                    /* Over a whole interval only: a first partial one would
                     * rank layers by when they started. */
                    double inst = (double)(in->bytes - in->rate_bytes) * 8e6 /
                                  (double)(now - in->rate_us);
                    in->bps = in->bps > 0 ? (in->bps + inst) / 2 : inst;
                    in->rate_us = now;
                } else {
                    in->rate_us = now;
                }
                in->rate_bytes = in->bytes;
            }
            if (t->used)
                rank(t);
        }
}

/* ---- layer choice -------------------------------------------------------------------------- */

typedef struct {
    uint8_t n;
    uint8_t layer[CS_ROUTER_MAX_LAYERS];   /* active layers, lowest first */
    double need[CS_ROUTER_MAX_LAYERS];
    bool known;                            /* every need measured */
} ladder_t;

static void ladder(const rt_track_t *t, int64_t now, ladder_t *d)
{
    d->n = 0;
    d->known = true;
    for (unsigned i = 0; i < t->n_layers; i++) {
        const rt_in_t *in = &t->layers[t->rank[i]];
        if (!rt_layer_active(in, now))
            continue;
        double need = t->n_layers == 1 ? RT_MIN_VIDEO_BPS : in->bps;
        d->known &= need > 0;
        d->layer[d->n] = t->rank[i];
        d->need[d->n++] = need < RT_MIN_VIDEO_BPS ? RT_MIN_VIDEO_BPS : need;
    }
}

static int position(const ladder_t *d, int8_t layer)
{
    for (unsigned i = 0; i < d->n; i++)
        if (d->layer[i] == layer)
            return (int)i;
    return -1;
}

static int8_t choose(rt_out_t *o, const rt_track_t *t, bool have_budget, double budget,
                     int64_t now)
{
    ladder_t d;
    ladder(t, now, &d);
    int8_t cur = o->target_layer;
    if (d.n == 0)
        return cur;                 /* nothing arrives: keep what we wait for */
    int pos = position(&d, cur);
    if (!have_budget || !d.known) {
        /* No estimate (yet): stay, unless what we wait for is not sent. */
        return cur >= 0 && pos < 0 ? (int8_t)d.layer[(d.n - 1) / 2] : cur;
    }
    int fit = -1, up = -1;
    for (int i = 0; i < d.n; i++) {
        if (d.need[i] <= budget)
            fit = i;
        if (d.need[i] * RT_UP_MARGIN <= budget)
            up = i;
    }
    if (cur >= 0 && pos < 0)        /* our layer stopped: the best that fits now */
        return fit >= 0 ? (int8_t)d.layer[fit] : (int8_t)d.layer[0];
    /* A receive-side estimate hovers around what arrives, under it about as
     * often as over: the layer being sent stays while the estimate covers
     * RT_KEEP_FRACTION of it, and the lowest layer is paused only below that. */
    bool keep = pos >= 0 && d.need[pos] * RT_KEEP_FRACTION <= budget;
    if (fit < pos && !keep) {
        o->up_since_us = 0;
        if (fit >= 0)
            return (int8_t)d.layer[fit];
        /* Pausing needs evidence of congestion, not just a low estimate:
         * Chromium's receive-side REMB can sit far below a lowest layer that
         * arrives whole. */
        bool losing = o->have_rr && o->rr_fraction >= RT_PAUSE_LOSS;
        if (d.need[0] * RT_KEEP_FRACTION <= budget || !losing || now < o->probe_until_us)
            return pos == 0 ? cur : (int8_t)d.layer[0];
        o->paused_us = now;
        return -1;
    }
    if (up > pos) {
        if (!o->up_since_us)
            o->up_since_us = now;
        if (now - o->up_since_us >= RT_UP_HOLD_US) {
            o->up_since_us = 0;
            return (int8_t)d.layer[up];
        }
    } else {
        o->up_since_us = 0;
    }
    if (cur < 0 && now - o->paused_us >= RT_PAUSE_RETRY_US) {
        o->paused_us = now;
        o->probe_until_us = now + RT_PROBE_GRACE_US;
        return (int8_t)d.layer[0];
    }
    return cur;
}

/* Audio first (when the estimate covers it), then an even share for each
 * video track. */
void rt_layers_select(cs_router_t *r, cs_router_member_t *m, int64_t now)
{
    double audio = 0;
    unsigned videos = 0;
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        const rt_track_t *t = rt_out_track(&m->outs[k]);
        if (!t || !m->outs[k].assigned)
            continue;
        if (t->info.kind == CS_ROUTER_AUDIO && m->remb_has_audio)
            audio += t->layers[0].bps;
        else
            videos++;
    }
    double budget = videos ? ((double)m->remb_bps - audio) / videos : 0;
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        rt_out_t *o = &m->outs[k];
        rt_track_t *t = rt_out_track(o);
        if (!t || !o->assigned || t->info.kind != CS_ROUTER_VIDEO)
            continue;
        int8_t next = choose(o, t, m->have_remb, budget, now);
        if (next == o->target_layer)
            continue;
        o->target_layer = next;
        if (next >= 0 && next != o->cur_layer && m->connected)
            rt_keyframe_request(r, t, next, now);
    }
}

/* ---- keyframe requests ------------------------------------------------------------------------ */

static void send_keyframe_requests(cs_router_t *r, rt_track_t *t, int64_t now)
{
    cs_router_member_t *pub = t->owner;
    uint8_t waiting = 0;
    cs_rtcp_builder_t b;
    rt_fb_begin(r, pub, &b);
    size_t base = b.len;
    cs_rtcp_fir_t fir = {.sender_ssrc = pub->local_ssrc};
    for (unsigned l = 0; l < t->n_layers; l++) {
        const rt_in_t *in = &t->layers[l];
        if (!(t->kf_pending & 1u << l))
            continue;
        if (!in->has_ssrc) {
            waiting |= (uint8_t)(1u << l);   /* asked for before its first packet */
            continue;
        }
        if (t->fir_only) {
            fir.entries[fir.n].ssrc = in->ssrc;
            fir.entries[fir.n++].seq = ++t->fir_seq;
        } else {
            cs_rtcp_fb_t ids = {pub->local_ssrc, in->ssrc};
            cs_rtcp_pli_append(&b, &ids);
        }
    }
    if (fir.n)
        cs_rtcp_fir_append(&b, &fir);
    t->kf_pending = waiting;
    if (b.len == base || !pub->connected)
        return;
    t->kf_last_us = now;
    t->kf_sent = true;
    pub->up_kf++;
    r->c.keyframe_requests++;
    rt_send_rtcp(r, pub, &b);
}

void rt_keyframe_request(cs_router_t *r, rt_track_t *t, int layer, int64_t now)
{
    if (!t || layer < 0 || layer >= t->n_layers || t->info.kind != CS_ROUTER_VIDEO)
        return;
    t->kf_pending |= (uint8_t)(1u << layer);
    if (t->kf_sent && now - t->kf_last_us < KF_INTERVAL_US)
        return;
    send_keyframe_requests(r, t, now);
}

void rt_keyframe_flush(cs_router_t *r, int64_t now)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        for (unsigned k = 0; r->members[i].used && k < CS_ROUTER_MAX_PUBLISHED; k++) {
            rt_track_t *t = &r->members[i].tracks[k];
            if (t->used && t->kf_pending && (!t->kf_sent || now - t->kf_last_us >= KF_INTERVAL_US))
                send_keyframe_requests(r, t, now);
        }
}

/* A subscriber still waiting to start or switch asks again (rate-limited),
 * in case the keyframe or our request was lost. */
void rt_out_wait_keyframes(cs_router_t *r, cs_router_member_t *m, int64_t now)
{
    for (unsigned k = 0; k < RT_MAX_OUTS; k++) {
        rt_out_t *o = &m->outs[k];
        rt_track_t *t = rt_out_track(o);
        if (!t || !o->assigned || t->info.kind != CS_ROUTER_VIDEO || o->target_layer < 0 ||
            o->target_layer == o->cur_layer || !rt_layer_active(&t->layers[o->target_layer], now))
            continue;
        if (!t->kf_sent || now - t->kf_last_us >= KF_INTERVAL_US)
            rt_keyframe_request(r, t, o->target_layer, now);
    }
}
