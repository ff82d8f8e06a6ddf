/*
 * router_negotiate.c — one offer/answer exchange of a member: check that
 * offer and answer belong together, learn what it publishes
 * (router_publish.c), choose which of the others' tracks each of its
 * receiving sections carries, and complete the answer accordingly: a=msid
 * and a=ssrc lines for each outgoing stream, spare sections inactive, and no
 * transport-cc on sections only we send on (so the browser estimates the
 * bandwidth itself and sends REMB, which chooses simulcast layers).
 *
 * Assignment order is stable: a section keeps its track while the track
 * exists; free sections take unassigned tracks in members' join order, then
 * microphone, camera, screen. A subscriber's SSRCs for a track stay the same
 * for the track's life, across renegotiations.
 */
#include "media/router/internal.h"

#include <string.h>
#include <strings.h>

static bool counts_ok(const cs_sdp_t *s)
{
    if (s->n_media > CS_SDP_MAX_MEDIA)
        return false;
    for (unsigned i = 0; i < s->n_media; i++) {
        const cs_sdp_media_t *m = &s->media[i];
        if (m->n_codecs > CS_SDP_MAX_CODECS || m->n_extmaps > CS_SDP_MAX_EXTMAPS ||
            m->n_ssrcs > CS_SDP_MAX_SSRCS || m->n_ssrc_groups > CS_SDP_MAX_SSRC_GROUPS ||
            m->n_rids > CS_SDP_MAX_RIDS || m->sim_recv.n_streams > CS_SDP_MAX_RIDS ||
            !memchr(m->mid, '\0', sizeof m->mid))
            return false;
        for (unsigned g = 0; g < m->n_ssrc_groups; g++)
            if (m->ssrc_groups[g].n_ssrcs > CS_SDP_MAX_GROUP_SSRCS)
                return false;
        for (unsigned k = 0; k < m->sim_recv.n_streams; k++)
            if (m->sim_recv.streams[k].n_alts == 0 ||
                m->sim_recv.streams[k].n_alts > CS_SDP_MAX_ALTS)
                return false;
    }
    return true;
}

static bool matches(const cs_sdp_t *offer, const cs_sdp_t *answer)
{
    if (!counts_ok(offer) || !counts_ok(answer) || offer->n_media != answer->n_media)
        return false;
    for (unsigned i = 0; i < offer->n_media; i++)
        if (strcmp(offer->media[i].mid, answer->media[i].mid) ||
            offer->media[i].kind != answer->media[i].kind)
            return false;
    return true;
}

static cs_router_kind_t kind_of(const cs_sdp_media_t *a)
{
    return a->kind == CS_SDP_KIND_AUDIO ? CS_ROUTER_AUDIO : CS_ROUTER_VIDEO;
}

static bool same_codec(const rt_codec_t *a, const rt_codec_t *b)
{
    return !a->is_rtx && !b->is_rtx && a->clock == b->clock && !strcasecmp(a->name, b->name);
}

/* Subscriber codecs for each of the publisher's: payload type and RTX. */
static void remap(rt_out_t *o, const rt_track_t *t)
{
    for (unsigned i = 0; i < RT_MAX_CODECS; i++) {
        o->pt_map[i] = o->rtx_map[i] = -1;
        if (i >= t->n_codecs)
            continue;
        for (unsigned j = 0; j < o->n_codecs && o->pt_map[i] < 0; j++)
            if (same_codec(&t->codecs[i], &o->codecs[j]))
                o->pt_map[i] = o->codecs[j].pt;
        for (unsigned j = 0; o->pt_map[i] >= 0 && j < o->n_codecs; j++)
            if (o->codecs[j].is_rtx && o->codecs[j].apt == o->pt_map[i])
                o->rtx_map[i] = o->codecs[j].pt;
    }
}

void rt_remap_all(cs_router_t *r)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        for (unsigned k = 0; r->members[i].used && k < RT_MAX_OUTS; k++) {
            rt_out_t *o = &r->members[i].outs[k];
            const rt_track_t *t = rt_out_track(o);
            if (t)
                remap(o, t);
        }
}

/* Whether section a can carry track t: same kind, a codec in common. */
static bool compatible(const rt_track_t *t, const cs_sdp_media_t *a)
{
    if (t->info.kind != kind_of(a))
        return false;
    rt_codec_t mine[RT_MAX_CODECS];
    uint8_t n;
    rt_codecs_read(a, mine, &n);
    for (unsigned i = 0; i < t->n_codecs; i++)
        for (unsigned j = 0; j < n; j++)
            if (same_codec(&t->codecs[i], &mine[j]))
                return true;
    return false;
}

static rt_track_t *cand_track(cs_router_t *r, int slot)
{
    rt_track_t *t = &r->members[slot / CS_ROUTER_MAX_PUBLISHED].tracks[slot % CS_ROUTER_MAX_PUBLISHED];
    return t->used ? t : NULL;
}

/* The others' tracks in the stable order. */
static size_t candidates(cs_router_t *r, const cs_router_member_t *m, rt_track_t **out)
{
    cs_router_member_t *ms[CS_ROUTER_MAX_MEMBERS];
    size_t n = rt_members_by_join(r, ms), c = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned s = 0; ms[i] != m && s <= CS_ROUTER_SOURCE_SCREEN; s++)
            for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
                if (ms[i]->tracks[k].used && ms[i]->tracks[k].info.source == s)
                    out[c++] = &ms[i]->tracks[k];
    return c;
}

/* Sections only we send on lose transport-cc: the browser then runs its
 * receive-side estimator on our abs-send-time stamps and sends REMB. */
static void strip_twcc(cs_sdp_media_t *a)
{
    unsigned n = 0;
    for (unsigned i = 0; i < a->n_extmaps; i++)
        if (strcmp(a->extmaps[i].uri, CS_SDP_EXT_TWCC))
            a->extmaps[n++] = a->extmaps[i];
    a->n_extmaps = (uint8_t)n;
    for (unsigned i = 0; i < a->n_codecs; i++)
        a->codecs[i].fb &= (uint16_t)~CS_SDP_FB_TRANSPORT_CC;
}

static void unassign(rt_out_t *o)
{
    o->assigned = false;
    rt_out_restart(o);
}

/* Makes o carry t in section a (keeping its SSRCs) and announces it. */
static int carry(cs_router_t *r, cs_router_member_t *m, rt_out_t *o, rt_track_t *t,
                 cs_sdp_media_t *a, bool was)
{
    if (o->track != t || o->track_uid != t->uid) {
        memset(o, 0, sizeof *o);
        o->track = t;
        o->track_uid = t->uid;
        o->ssrc = rt_new_ssrc(r);
        o->rtx_seq = (uint16_t)rt_rand(r);
        was = false;
    }
    if (!was || strcmp(o->mid, a->mid)) {
        rt_out_restart(o);
        o->target_layer = t->info.kind == CS_ROUTER_VIDEO ? rt_initial_layer(t) : 0;
        was = false;
    }
    cs_strlcpy(o->mid, a->mid, sizeof o->mid);
    rt_codecs_read(a, o->codecs, &o->n_codecs);
    rt_extids_read(a, &o->ext);
    remap(o, t);
    bool rtx = false;
    for (unsigned i = 0; i < RT_MAX_CODECS; i++)
        rtx |= o->rtx_map[i] >= 0;
    if (rtx && !o->rtx_ssrc)
        o->rtx_ssrc = rt_new_ssrc(r);
    int rc = cs_sdp_media_add_stream(a, o->ssrc, rtx ? o->rtx_ssrc : 0, RT_CNAME,
                                     t->owner->stream_id, cs_router_source_name(t->info.source));
    if (rc)
        return rc;
    o->assigned = true;
    if (!was && t->info.kind == CS_ROUTER_VIDEO && m->connected)
        rt_keyframe_request(r, t, o->target_layer, r->now_us);
    return CS_OK;
}

static size_t assign(cs_router_t *r, cs_router_member_t *m, cs_sdp_t *answer,
                     cs_router_assignment_t *out, size_t cap)
{
    rt_track_t *cand[RT_MAX_OUTS];
    size_t n_cand = candidates(r, m, cand), n_out = 0;
    int slot_of[CS_SDP_MAX_MEDIA];
    bool taken[RT_MAX_OUTS] = {false}, was[RT_MAX_OUTS];
    for (unsigned k = 0; k < RT_MAX_OUTS; k++)
        was[k] = m->outs[k].assigned && rt_out_track(&m->outs[k]);
    /* First the sections that keep their track, then the free ones. */
    for (unsigned i = 0; i < answer->n_media; i++) {
        const cs_sdp_media_t *a = &answer->media[i];
        slot_of[i] = -1;
        for (unsigned k = 0; rt_section_sends(a) && k < RT_MAX_OUTS && slot_of[i] < 0; k++) {
            rt_track_t *t = rt_out_track(&m->outs[k]);
            if (was[k] && !taken[k] && !strcmp(m->outs[k].mid, a->mid) && compatible(t, a)) {
                slot_of[i] = (int)k;
                taken[k] = true;
            }
        }
    }
    for (unsigned i = 0; i < answer->n_media; i++) {
        const cs_sdp_media_t *a = &answer->media[i];
        for (size_t c = 0; rt_section_sends(a) && slot_of[i] < 0 && c < n_cand; c++)
            if (!taken[cand[c]->slot] && compatible(cand[c], a)) {
                slot_of[i] = cand[c]->slot;
                taken[cand[c]->slot] = true;
            }
    }
    for (unsigned k = 0; k < RT_MAX_OUTS; k++)
        m->outs[k].assigned = false;
    for (unsigned i = 0; i < answer->n_media; i++) {
        cs_sdp_media_t *a = &answer->media[i];
        if (!rt_section_sends(a))
            continue;
        if (a->direction == CS_SDP_DIR_SENDONLY)
            strip_twcc(a);
        int k = slot_of[i];
        rt_track_t *t = k >= 0 ? cand_track(r, k) : NULL;
        if (t && carry(r, m, &m->outs[k], t, a, was[k]) == CS_OK) {
            if (n_out < cap) {
                cs_strlcpy(out[n_out].mid, a->mid, sizeof out[n_out].mid);
                out[n_out].track = t->info;
            }
            n_out++;
            continue;
        }
        /* Nothing to carry: we stop sending there (and keep receiving). */
        a->direction = a->direction == CS_SDP_DIR_SENDRECV ? CS_SDP_DIR_RECVONLY
                                                           : CS_SDP_DIR_INACTIVE;
    }
    for (unsigned k = 0; k < RT_MAX_OUTS; k++)
        if (was[k] && !m->outs[k].assigned)
            unassign(&m->outs[k]);
    return n_out < cap ? n_out : cap;
}

int cs_router_member_negotiate(cs_router_t *r, cs_router_member_t *m, const cs_sdp_t *offer,
                               const cs_router_section_source_t *sources, size_t n_sources,
                               cs_sdp_t *answer, cs_router_assignment_t *out, size_t cap,
                               size_t *n_out)
{
    if (n_out)
        *n_out = 0;
    if (!rt_member_ok(r, m) || !offer || !answer || (cap && !out) ||
        (n_sources && !sources) || !matches(offer, answer))
        return CS_EINVAL;
    rt_plan_t plan[CS_ROUTER_MAX_PUBLISHED];
    size_t n_plan = 0;
    int rc = rt_publish_plan(m, offer, answer, sources, n_sources, plan, &n_plan);
    if (rc)
        return rc;
    bool changed = rt_publish_commit(r, m, offer, answer, plan, n_plan);
    m->rsize = false;
    for (unsigned i = 0; i < answer->n_media; i++)
        m->rsize |= answer->media[i].port && answer->media[i].rtcp_rsize;
    size_t n = assign(r, m, answer, out, cap);
    if (n_out)
        *n_out = n;
    rt_remap_all(r);
    if (changed && r->cb.on_tracks_changed)
        r->cb.on_tracks_changed(r->user);
    return CS_OK;
}
