/*
 * router_publish.c — what a member publishes, read from its offer and the
 * answer: one track per section the answer receives on, with the section's
 * negotiated codecs and header extension ids (the answer's, which are the
 * offer's), its SSRCs (a=ssrc, a=ssrc-group:FID and SIM in the offer) or
 * simulcast rids (a=simulcast recv in the answer, in that order), and which
 * source it is (signalling says by mid; otherwise audio is the microphone,
 * the first video the camera, the next the screen).
 *
 * Done in two steps so a refused negotiation changes nothing: a plan that
 * checks limits and allocates the retransmission rings, then a commit that
 * cannot fail.
 */
#include "media/router/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool media_section(const cs_sdp_media_t *a)
{
    return a->port && (a->kind == CS_SDP_KIND_AUDIO || a->kind == CS_SDP_KIND_VIDEO);
}

bool rt_section_receives(const cs_sdp_media_t *a)
{
    return media_section(a) &&
           (a->direction == CS_SDP_DIR_RECVONLY || a->direction == CS_SDP_DIR_SENDRECV);
}

bool rt_section_sends(const cs_sdp_media_t *a)
{
    return media_section(a) &&
           (a->direction == CS_SDP_DIR_SENDONLY || a->direction == CS_SDP_DIR_SENDRECV);
}

void rt_codecs_read(const cs_sdp_media_t *a, rt_codec_t *out, uint8_t *n)
{
    *n = 0;
    for (unsigned i = 0; i < a->n_codecs && *n < RT_MAX_CODECS; i++) {
        const cs_sdp_codec_t *k = &a->codecs[i];
        rt_codec_t *c = &out[(*n)++];
        memset(c, 0, sizeof *c);
        c->pt = k->pt;
        c->clock = k->clock;
        c->fb = k->fb;
        memcpy(c->name, k->name, sizeof c->name);
        c->name[sizeof c->name - 1] = '\0';
        c->is_rtx = !strcasecmp(c->name, "rtx");
        c->kind = !strcasecmp(c->name, "VP8")    ? RT_CODEC_VP8
                  : !strcasecmp(c->name, "H264") ? RT_CODEC_H264
                                                 : RT_CODEC_OTHER;
        if (c->is_rtx && k->params.apt >= 0 && k->params.apt <= 127)
            c->apt = (uint8_t)k->params.apt;
        else if (c->is_rtx)
            (*n)--;                 /* RTX repairing nothing we know */
        if (!c->is_rtx && c->clock == 0)
            (*n)--;                 /* no clock: cannot be forwarded */
    }
}

void rt_extids_read(const cs_sdp_media_t *a, rt_extids_t *out)
{
    static const struct {
        const char *uri;
        size_t off;
    } map[] = {
        {CS_SDP_EXT_MID, offsetof(rt_extids_t, mid)},
        {CS_SDP_EXT_RID, offsetof(rt_extids_t, rid)},
        {CS_SDP_EXT_RRID, offsetof(rt_extids_t, rrid)},
        {CS_SDP_EXT_ABS_SEND_TIME, offsetof(rt_extids_t, abs)},
        {CS_SDP_EXT_TWCC, offsetof(rt_extids_t, twcc)},
        {CS_SDP_EXT_AUDIO_LEVEL, offsetof(rt_extids_t, level)},
    };
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < CS_ARRAY_LEN(map); i++) {
        unsigned id = cs_sdp_extmap_id(a, map[i].uri);
        *((uint8_t *)out + map[i].off) = id <= 255 ? (uint8_t)id : 0;
    }
}

static const cs_sdp_ssrc_group_t *group(const cs_sdp_media_t *om, const char *semantics)
{
    for (unsigned i = 0; i < om->n_ssrc_groups; i++)
        if (!strcmp(om->ssrc_groups[i].semantics, semantics) && om->ssrc_groups[i].n_ssrcs)
            return &om->ssrc_groups[i];
    return NULL;
}

static bool simulcast_rids(const cs_sdp_media_t *a)
{
    return a->kind == CS_SDP_KIND_VIDEO && a->has_simulcast && a->sim_recv.n_streams > 0;
}

static uint8_t layers_of(const cs_sdp_media_t *om, const cs_sdp_media_t *a)
{
    unsigned n = 1;
    const cs_sdp_ssrc_group_t *sim = group(om, "SIM");
    if (simulcast_rids(a))
        n = a->sim_recv.n_streams;
    else if (a->kind == CS_SDP_KIND_VIDEO && sim)
        n = sim->n_ssrcs;
    return (uint8_t)(n < CS_ROUTER_MAX_LAYERS ? n : CS_ROUTER_MAX_LAYERS);
}

static bool source_fits(cs_router_source_t s, cs_sdp_kind_t kind)
{
    return (unsigned)s <= CS_ROUTER_SOURCE_SCREEN &&
           (s == CS_ROUTER_SOURCE_MICROPHONE) == (kind == CS_SDP_KIND_AUDIO);
}

/* Listed sources first (each once, of the section's kind), then the rest. */
static int plan_sources(const cs_sdp_t *answer, const cs_router_section_source_t *sources,
                        size_t n_sources, rt_plan_t *plan, size_t n)
{
    unsigned taken = 0, listed = 0;
    for (size_t i = 0; i < n; i++) {
        const cs_sdp_media_t *a = &answer->media[plan[i].section];
        for (size_t j = 0; sources && j < n_sources; j++) {
            if (strncmp(sources[j].mid, a->mid, CS_SDP_MID_MAX))
                continue;
            cs_router_source_t s = sources[j].source;
            if (!source_fits(s, a->kind) || (taken & 1u << s))
                return CS_EINVAL;
            taken |= 1u << s;
            listed |= 1u << i;
            plan[i].source = s;
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (listed & 1u << i)
            continue;
        bool audio = answer->media[plan[i].section].kind == CS_SDP_KIND_AUDIO;
        cs_router_source_t s = audio ? CS_ROUTER_SOURCE_MICROPHONE : CS_ROUTER_SOURCE_CAMERA;
        if (!audio && (taken & 1u << s))
            s = CS_ROUTER_SOURCE_SCREEN;
        if (taken & 1u << s)
            return CS_ELIMIT;       /* a second microphone or a third video */
        taken |= 1u << s;
        plan[i].source = s;
    }
    return CS_OK;
}

static void plan_free(rt_plan_t *plan, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (unsigned l = 0; l < CS_ROUTER_MAX_LAYERS; l++)
            rt_ring_free(&plan[i].rings[l]);
}

int rt_publish_plan(cs_router_member_t *m, const cs_sdp_t *offer, const cs_sdp_t *answer,
                    const cs_router_section_source_t *sources, size_t n_sources,
                    rt_plan_t *plan, size_t *n_plan)
{
    size_t n = 0;
    for (unsigned i = 0; i < answer->n_media; i++) {
        if (!rt_section_receives(&answer->media[i]))
            continue;
        if (n == CS_ROUTER_MAX_PUBLISHED)
            return CS_ELIMIT;
        rt_plan_t *p = &plan[n++];
        memset(p, 0, sizeof *p);
        p->section = i;
        p->old = -1;
        p->n_layers = layers_of(&offer->media[i], &answer->media[i]);
        for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
            if (m->tracks[k].used && !strcmp(m->tracks[k].mid, answer->media[i].mid))
                p->old = (int)k;
    }
    int rc = plan_sources(answer, sources, n_sources, plan, n);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        const rt_track_t *old = plan[i].old >= 0 ? &m->tracks[plan[i].old] : NULL;
        for (unsigned l = old ? old->n_layers : 0; l < plan[i].n_layers; l++)
            if (rt_ring_new(&plan[i].rings[l]) != CS_OK) {
                plan_free(plan, n);
                return CS_ENOMEM;
            }
    }
    *n_plan = n;
    return CS_OK;
}

/* "<member>:<source>", or "m<join>:<source>" when a long id would not fit. */
static void track_info(const cs_router_member_t *m, rt_track_t *t, cs_router_source_t s)
{
    cs_router_track_t *i = &t->info;
    const char *src = cs_router_source_name(s);
    if ((size_t)snprintf(i->track_id, sizeof i->track_id, "%s:%s", m->id, src) >=
        sizeof i->track_id)
        snprintf(i->track_id, sizeof i->track_id, "m%u:%s", m->join, src);
    cs_strlcpy(i->member_id, m->id, sizeof i->member_id);
    cs_strlcpy(i->name, m->name, sizeof i->name);
    i->kind = s == CS_ROUTER_SOURCE_MICROPHONE ? CS_ROUTER_AUDIO : CS_ROUTER_VIDEO;
    i->source = s;
}

/* The announced SSRCs: SIM layers in order, else the first FID pair or the
 * first a=ssrc; a layer whose SSRC changed starts over. */
static void declared_ssrcs(rt_track_t *t, const cs_sdp_media_t *om)
{
    const cs_sdp_ssrc_group_t *sim = group(om, "SIM"), *fid = group(om, "FID");
    uint32_t v[CS_ROUTER_MAX_LAYERS];
    unsigned n = 0;
    if (sim && t->n_layers > 1)
        for (; n < t->n_layers && n < sim->n_ssrcs; n++)
            v[n] = sim->ssrcs[n];
    else if (fid)
        v[n++] = fid->ssrcs[0];
    else if (om->n_ssrcs)
        v[n++] = om->ssrcs[0].ssrc;
    for (unsigned l = 0; l < n; l++) {
        rt_in_t *in = &t->layers[l];
        if (!in->has_ssrc || in->ssrc != v[l])
            rt_in_bind(t, in, v[l]);
    }
}

static void set_layers(rt_track_t *t, const cs_sdp_media_t *om, const cs_sdp_media_t *a,
                       rt_plan_t *p)
{
    for (unsigned l = p->n_layers; l < CS_ROUTER_MAX_LAYERS; l++) {
        rt_ring_free(&t->layers[l].ring);
        memset(&t->layers[l], 0, sizeof t->layers[l]);
    }
    for (unsigned l = 0; l < p->n_layers; l++) {
        rt_in_t *in = &t->layers[l];
        const char *rid = t->simulcast ? a->sim_recv.streams[l].alts[0].rid : "";
        bool fresh = !in->ring.slots;
        if (fresh) {
            memset(in, 0, sizeof *in);
            in->ring = p->rings[l];
            p->rings[l] = (rt_ring_t){0};
        }
        if (fresh || strncmp(in->rid, rid, sizeof in->rid)) {
            rt_in_reset(in);
            in->has_ssrc = in->has_rtx = false;
            cs_strlcpy(in->rid, rid, sizeof in->rid);
        }
        t->rank[l] = (uint8_t)l;
    }
    t->n_layers = p->n_layers;
    t->n_fid = 0;
    for (unsigned i = 0; i < om->n_ssrc_groups && t->n_fid < RT_MAX_FID; i++) {
        const cs_sdp_ssrc_group_t *g = &om->ssrc_groups[i];
        if (!strcmp(g->semantics, "FID") && g->n_ssrcs >= 2) {
            t->fid[t->n_fid][0] = g->ssrcs[0];
            t->fid[t->n_fid++][1] = g->ssrcs[1];
        }
    }
    if (!t->simulcast)
        declared_ssrcs(t, om);
}

static bool commit_one(cs_router_t *r, cs_router_member_t *m, const cs_sdp_media_t *om,
                       const cs_sdp_media_t *a, rt_plan_t *p)
{
    rt_track_t *t = NULL;
    bool changed = false;
    if (p->old >= 0) {
        t = &m->tracks[p->old];
    } else {
        for (unsigned k = 0; !t && k < CS_ROUTER_MAX_PUBLISHED; k++)
            if (!m->tracks[k].used)
                t = &m->tracks[k];
        if (!t)
            return false;           /* the plan counted: cannot happen */
        t->slot = (uint8_t)(m->index * CS_ROUTER_MAX_PUBLISHED + (t - m->tracks));
        t->owner = m;
        t->used = true;
    }
    if (p->old < 0 || t->info.source != p->source) {
        /* A new track (or a section now carrying another source): a new id,
         * so subscribers of the old one let it go. */
        t->uid = ++r->next_uid;
        track_info(m, t, p->source);
        changed = true;
    }
    cs_strlcpy(t->mid, a->mid, sizeof t->mid);
    rt_codecs_read(a, t->codecs, &t->n_codecs);
    rt_extids_read(a, &t->ext);
    uint16_t fb = 0;
    for (unsigned i = 0; i < t->n_codecs; i++)
        if (!t->codecs[i].is_rtx) {
            fb = t->codecs[i].fb;
            break;
        }
    t->nack = fb & CS_SDP_FB_NACK;
    t->fir_only = !(fb & CS_SDP_FB_NACK_PLI) && (fb & CS_SDP_FB_CCM_FIR);
    t->simulcast = simulcast_rids(a);
    set_layers(t, om, a, p);
    return changed;
}

bool rt_publish_commit(cs_router_t *r, cs_router_member_t *m, const cs_sdp_t *offer,
                       const cs_sdp_t *answer, rt_plan_t *plan, size_t n_plan)
{
    bool changed = false;
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++) {
        bool kept = false;
        for (size_t i = 0; i < n_plan; i++)
            kept |= plan[i].old == (int)k;
        if (m->tracks[k].used && !kept) {
            rt_track_drop(r, &m->tracks[k]);
            changed = true;
        }
    }
    for (size_t i = 0; i < n_plan; i++)
        changed |= commit_one(r, m, &offer->media[plan[i].section],
                              &answer->media[plan[i].section], &plan[i]);
    plan_free(plan, n_plan);
    m->twcc.id = 0;
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        if (m->tracks[k].used && m->tracks[k].ext.twcc && !m->twcc.id)
            m->twcc.id = m->tracks[k].ext.twcc;
    return changed;
}
