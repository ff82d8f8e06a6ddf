/*
 * router_record.c — the recording tap: which members are recorded, the
 * description of the stream each of their fresh packets belongs to (for
 * the record callback), and the keyframes that make a recording start decodable.
 *
 * The router stays ignorant of files and sessions: the engine maps the
 * small stream ids to its recorder's tracks. A packet reaches the tap at the
 * one point where it is known to be fresh (router_ingest.c), so the
 * recording holds each packet once, repairs included, duplicates not.
 */
#include "media/router/internal.h"

_Static_assert(CS_ROUTER_RECORD_STREAMS == CS_ROUTER_MAX_PUBLISHED * CS_ROUTER_MAX_LAYERS *
                                              RT_MAX_CODECS,
               "stream ids are (track, layer, codec) triples");

/*
 * The layer's place by bitrate, 0 the lowest: the subscribers' ranking
 * (router_simulcast.c) when every layer that arrives has a measured rate,
 * else the a=simulcast order that ranking starts from. Computed here rather
 * than read from t->rank, which is refreshed once a second and would put a
 * layer that has just started (rate 0) below the others.
 */
static uint8_t layer_place(const rt_track_t *t, uint8_t layer)
{
    const rt_in_t *me = &t->layers[layer];
    for (unsigned l = 0; l < t->n_layers; l++)
        if (t->layers[l].has_ssrc && t->layers[l].bps <= 0)
            return layer;
    uint8_t below = 0;
    for (unsigned l = 0; l < t->n_layers; l++) {
        const rt_in_t *o = &t->layers[l];
        if (l != layer && o->has_ssrc && (o->bps < me->bps || (o->bps == me->bps && l < layer)))
            below++;
    }
    return below;
}

void rt_record(cs_router_t *r, cs_router_member_t *m, const rt_track_t *t, uint8_t layer, int ci,
               const cs_rtp_packet_t *p, const uint8_t *buf, size_t len, int64_t now)
{
    unsigned k = t->slot % CS_ROUTER_MAX_PUBLISHED;
    const rt_codec_t *c = &t->codecs[ci];
    cs_router_record_track_t d = {
        .stream = (k * CS_ROUTER_MAX_LAYERS + layer) * RT_MAX_CODECS + (unsigned)ci,
        .generation = (uint64_t)t->uid << 32 | t->layers[layer].epoch,
        .kind = t->info.kind,
        .source = t->info.source,
        .layer = layer_place(t, layer),
        .payload_type = p->hdr.payload_type,
        .clock_rate = c->clock,
        .codec = c->name,
        .member_id = m->id,
        .name = m->name,
    };
    r->record(r->user, m->user, &d, buf, len, now);
}

/* Every layer of every video track at once: one PLI/FIR packet per track,
 * and the rate limit counts it once. */
void rt_record_keyframes(cs_router_t *r, cs_router_member_t *m)
{
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++) {
        rt_track_t *t = &m->tracks[k];
        if (!t->used || t->info.kind != CS_ROUTER_VIDEO || t->n_layers == 0)
            continue;
        t->kf_pending |= (uint8_t)((1u << t->n_layers) - 1);
        rt_keyframe_request(r, t, 0, r->now_us);
    }
}

void cs_router_set_record_callback(cs_router_t *r, cs_router_record_fn fn)
{
    if (r)
        r->record = fn;
}

void cs_router_member_set_recording(cs_router_t *r, cs_router_member_t *m, bool on)
{
    if (!rt_member_ok(r, m))
        return;
    m->recording = on;
    if (on)
        rt_record_keyframes(r, m);
}
