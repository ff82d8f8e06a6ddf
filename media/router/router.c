/*
 * router.c — the room: creating and freeing it, members joining and leaving,
 * connection state, the RTCP entry point and the timers; plus the small
 * helpers every router file uses (random SSRCs, sending RTCP, lookups).
 *
 * RTP arrives in router_ingest.c, is forwarded by router_forward.c; RTCP is
 * router_rtcp.c and router_twcc.c; negotiation is router_negotiate.c.
 */
#include "media/router/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static const char *const source_names[] = {"microphone", "camera", "screen"};

/* ---- helpers shared by the router's files ----------------------------------------- */

bool rt_member_ok(const cs_router_t *r, const cs_router_member_t *m)
{
    return r && m && m >= r->members && m < r->members + CS_ROUTER_MAX_MEMBERS && m->used;
}

/* xorshift32: SSRCs and first sequence numbers need to be unpredictable
 * only to the extent that they do not collide; the seed is from the kernel. */
uint32_t rt_rand(cs_router_t *r)
{
    uint32_t x = r->rng;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return r->rng = x;
}

static bool ssrc_in_use(const cs_router_t *r, uint32_t v)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        const cs_router_member_t *m = &r->members[i];
        if (!m->used)
            continue;
        if (m->local_ssrc == v)
            return true;
        for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
            for (unsigned l = 0; m->tracks[k].used && l < m->tracks[k].n_layers; l++) {
                const rt_in_t *in = &m->tracks[k].layers[l];
                if ((in->has_ssrc && in->ssrc == v) || (in->has_rtx && in->rtx_ssrc == v))
                    return true;
            }
        for (unsigned k = 0; k < RT_MAX_OUTS; k++)
            if (m->outs[k].track && (m->outs[k].ssrc == v || m->outs[k].rtx_ssrc == v))
                return true;
    }
    return false;
}

/* Unique in the room (so unique on every member's transport). */
uint32_t rt_new_ssrc(cs_router_t *r)
{
    uint32_t v;
    do
        v = rt_rand(r);
    while (v == 0 || ssrc_in_use(r, v));
    return v;
}

rt_track_t *rt_out_track(const rt_out_t *o)
{
    rt_track_t *t = o->track;
    return t && t->used && t->uid == o->track_uid ? t : NULL;
}

rt_out_t *rt_out_by_ssrc(cs_router_member_t *m, uint32_t ssrc)
{
    for (unsigned i = 0; i < RT_MAX_OUTS; i++)
        if (m->outs[i].assigned && m->outs[i].ssrc == ssrc && rt_out_track(&m->outs[i]))
            return &m->outs[i];
    return NULL;
}

int rt_codec_index(const rt_track_t *t, uint8_t pt)
{
    for (unsigned i = 0; i < t->n_codecs; i++)
        if (!t->codecs[i].is_rtx && t->codecs[i].pt == pt)
            return (int)i;
    return -1;
}

uint32_t rt_ts_elapsed(int64_t us, uint32_t clock)
{
    return us > 0 ? cs_rtp_time_to_ts((uint64_t)us, clock) : 0;
}

/* Feedback needs no SR/RR in front when the member negotiated rtcp-rsize
 * (RFC 5506); otherwise an empty RR opens the compound. */
void rt_fb_begin(cs_router_t *r, cs_router_member_t *m, cs_rtcp_builder_t *b)
{
    cs_rtcp_builder_init(b, r->rtcp, CS_ROUTER_PACKET_MAX);
    if (!m->rsize) {
        cs_rtcp_rr_t rr = {.ssrc = m->local_ssrc};
        cs_rtcp_rr_append(b, &rr);
    }
}

void rt_send_rtcp(cs_router_t *r, cs_router_member_t *m, cs_rtcp_builder_t *b)
{
    if (!m->connected || b->len == 0)
        return;
    r->c.rtcp_out++;
    r->cb.send_rtcp(r->user, m->user, b->buf, b->len, RT_RTCP_SCRATCH);
}

static void note_time(cs_router_t *r, int64_t now)
{
    if (!r->have_epoch) {
        r->have_epoch = true;
        r->epoch_us = now;
    }
    r->now_us = now;
}

/* Members in join order: the stable order of assignments and listings. */
size_t rt_members_by_join(cs_router_t *r, cs_router_member_t **out)
{
    size_t n = 0;
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        cs_router_member_t *m = &r->members[i];
        if (!m->used)
            continue;
        size_t j = n++;
        for (; j > 0 && out[j - 1]->join > m->join; j--)
            out[j] = out[j - 1];
        out[j] = m;
    }
    return n;
}

/* The track is gone: free its rings, and every subscriber forgets it. */
void rt_track_drop(cs_router_t *r, rt_track_t *t)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        rt_out_t *o = &r->members[i].outs[t->slot];
        if (o->track == t && o->track_uid == t->uid)
            memset(o, 0, sizeof *o);
    }
    rt_track_release(t);
}

/* ---- the room ------------------------------------------------------------------------ */

cs_router_t *cs_router_new(const cs_router_config_t *cfg, const cs_router_callbacks_t *cb,
                           void *user, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (!cb || !cb->send_rtp || !cb->send_rtcp ||
        (cfg && (cfg->loss_in_percent > 100 || cfg->loss_out_percent > 100))) {
        *err = CS_EINVAL;
        return NULL;
    }
    /* Fresh zero pages, not calloc: a room has slots for 8 members (300 KB)
     * and a 1:1 consult writes to two of them; pages never written cost no
     * memory, where calloc from an arena would write every one. */
    cs_router_t *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
    if (r == MAP_FAILED) {
        *err = CS_ENOMEM;
        return NULL;
    }
    r->cb = *cb;
    r->user = user;
    if (cfg)
        r->cfg = *cfg;
    if (r->cfg.random_seed)
        r->rng = r->cfg.random_seed;
    else if (cs_random_bytes(&r->rng, sizeof r->rng) != CS_OK || r->rng == 0)
        r->rng = 0x9E3779B9u ^ (uint32_t)cs_mono_us();
    if (r->rng == 0)
        r->rng = 1;
    r->loss_rng = r->cfg.loss_seed ? r->cfg.loss_seed : 0x2545F491u;
    /* now_us is expected from cs_mono_us(); SRs carry wall-clock NTP time. */
    r->wall_offset_us = cs_now_ms() * 1000 - cs_mono_us();
    *err = CS_OK;
    return r;
}

static void member_clear(cs_router_t *r, cs_router_member_t *m)
{
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        if (m->tracks[k].used)
            rt_track_drop(r, &m->tracks[k]);
    uint8_t index = m->index;
    memset(m, 0, sizeof *m);
    m->index = index;
}

void cs_router_free(cs_router_t *r)
{
    if (!r)
        return;
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        if (r->members[i].used)
            member_clear(r, &r->members[i]);
    munmap(r, sizeof *r);
}

/* ---- members --------------------------------------------------------------------------- */

static bool stream_id_taken(const cs_router_t *r, const char *id)
{
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        if (r->members[i].used && !strcmp(r->members[i].stream_id, id))
            return true;
    return false;
}

/*
 * The msid stream id of a member's tracks: its id with every byte outside
 * [A-Za-z0-9_.-] as '_' (readable, and what the web client can match to the
 * member), or "m<join number>" when that would repeat another member's.
 */
static void make_stream_id(const cs_router_t *r, cs_router_member_t *m)
{
    size_t n = strlen(m->id);
    for (size_t i = 0; i < n && i < sizeof m->stream_id - 1; i++) {
        char c = m->id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        m->stream_id[i] = ok ? c : '_';
    }
    m->stream_id[n < sizeof m->stream_id ? n : sizeof m->stream_id - 1] = '\0';
    for (unsigned k = 0; stream_id_taken(r, m->stream_id); k++)
        snprintf(m->stream_id, sizeof m->stream_id, k ? "m%u_%u" : "m%u", m->join, k);
}

cs_router_member_t *cs_router_member_add(cs_router_t *r, const char *member_id,
                                         const char *name, void *member_user, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (!r || !member_id || !name || !member_id[0] || !name[0] ||
        strlen(member_id) >= CS_ROUTER_ID_MAX || strlen(name) >= CS_ROUTER_ID_MAX) {
        *err = CS_EINVAL;
        return NULL;
    }
    if (cs_router_member_find(r, member_id)) {
        *err = CS_EEXIST;
        return NULL;
    }
    cs_router_member_t *m = NULL;
    for (unsigned i = 0; !m && i < CS_ROUTER_MAX_MEMBERS; i++)
        if (!r->members[i].used) {
            m = &r->members[i];
            m->index = (uint8_t)i;      /* written only when used: see cs_router_new */
        }
    if (!m) {
        *err = CS_ELIMIT;
        return NULL;
    }
    m->join = ++r->next_join;
    cs_strlcpy(m->id, member_id, sizeof m->id);
    cs_strlcpy(m->name, name, sizeof m->name);
    make_stream_id(r, m);
    m->user = member_user;
    m->rtt_us = -1;
    m->st_at_us = -1;
    rt_twcc_reset(&m->twcc);
    m->local_ssrc = rt_new_ssrc(r);
    m->used = true;
    *err = CS_OK;
    return m;
}

void cs_router_member_remove(cs_router_t *r, cs_router_member_t *m)
{
    if (!rt_member_ok(r, m))
        return;
    bool had = false;
    for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++)
        had |= m->tracks[k].used;
    member_clear(r, m);
    if (had && r->cb.on_tracks_changed)
        r->cb.on_tracks_changed(r->user);
}

cs_router_member_t *cs_router_member_find(const cs_router_t *r, const char *member_id)
{
    if (!r || !member_id)
        return NULL;
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++)
        if (r->members[i].used && !strcmp(r->members[i].id, member_id))
            return (cs_router_member_t *)&r->members[i];
    return NULL;
}

size_t cs_router_member_count(const cs_router_t *r)
{
    size_t n = 0;
    for (unsigned i = 0; r && i < CS_ROUTER_MAX_MEMBERS; i++)
        n += r->members[i].used;
    return n;
}

/*
 * Down: nothing more is sent to it. Up: every video it receives waits for a
 * keyframe again (what it had decoded may be gone with the old keys) and one
 * is asked for; so is one of what it publishes, when it is recorded.
 */
void cs_router_member_set_connected(cs_router_t *r, cs_router_member_t *m, bool connected)
{
    if (!rt_member_ok(r, m))
        return;
    m->connected = connected;
    /* Its encoders may go on from before the outage: a recording needs a
     * fresh start too. */
    if (connected && m->recording)
        rt_record_keyframes(r, m);
    for (unsigned i = 0; i < RT_MAX_OUTS; i++) {
        rt_out_t *o = &m->outs[i];
        rt_track_t *t = rt_out_track(o);
        if (!o->assigned || !t || t->info.kind != CS_ROUTER_VIDEO)
            continue;
        o->cur_layer = -1;
        if (connected)
            rt_keyframe_request(r, t, o->target_layer, r->now_us);
    }
}

/* ---- packets and timers --------------------------------------------------------------------- */

/* What every packet from m does first; false when it is to be ignored. */
static bool packet_arrives(cs_router_t *r, cs_router_member_t *m, const uint8_t *buf,
                           int64_t now_us)
{
    if (!rt_member_ok(r, m) || !buf)
        return false;
    note_time(r, now_us);
    if (m->st_at_us < 0)
        m->st_at_us = now_us;
    return true;
}

void cs_router_on_rtcp(cs_router_t *r, cs_router_member_t *m, const uint8_t *buf, size_t len,
                       int64_t now_us)
{
    if (!packet_arrives(r, m, buf, now_us))
        return;
    r->c.rtcp_in++;
    rt_rtcp_in(r, m, buf, len, now_us);
}

void cs_router_on_rtp(cs_router_t *r, cs_router_member_t *m, uint8_t *buf, size_t len,
                      int64_t now_us)
{
    if (!packet_arrives(r, m, buf, now_us))
        return;
    r->c.rtp_in++;
    rt_ingest(r, m, buf, len, now_us);
}

void cs_router_tick(cs_router_t *r, int64_t now_us)
{
    if (!r)
        return;
    note_time(r, now_us);
    if (now_us >= r->next_rate_us) {
        rt_rates_update(r, now_us);
        r->next_rate_us = now_us + RT_RATE_INTERVAL_US;
    }
    for (unsigned i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        cs_router_member_t *m = &r->members[i];
        if (!m->used)
            continue;
        if (m->st_at_us < 0)
            m->st_at_us = now_us;
        rt_layers_select(r, m, now_us);
        if (!m->connected)
            continue;
        rt_out_wait_keyframes(r, m, now_us);
        rt_nack_upstream(r, m, now_us);
        if (now_us >= m->twcc.next_us) {
            rt_twcc_flush(r, m, now_us);
            m->twcc.next_us = now_us + RT_TWCC_INTERVAL_US;
        }
        if (now_us >= m->next_report_us) {
            rt_reports(r, m, now_us);
            m->next_report_us = now_us + RT_REPORT_INTERVAL_US;
        }
    }
    rt_keyframe_flush(r, now_us);
}

/* ---- listings and names ---------------------------------------------------------------------- */

size_t cs_router_tracks(const cs_router_t *r, cs_router_track_t *out, size_t cap)
{
    if (!r)
        return 0;
    cs_router_member_t *ms[CS_ROUTER_MAX_MEMBERS];
    size_t n = rt_members_by_join((cs_router_t *)r, ms), total = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned s = 0; s < 3; s++)          /* microphone, camera, screen */
            for (unsigned k = 0; k < CS_ROUTER_MAX_PUBLISHED; k++) {
                const rt_track_t *t = &ms[i]->tracks[k];
                if (!t->used || t->info.source != (cs_router_source_t)s)
                    continue;
                if (out && total < cap)
                    out[total] = t->info;
                total++;
            }
    return total;
}

void cs_router_counters(const cs_router_t *r, cs_router_counters_t *out)
{
    if (!out)
        return;
    if (r)
        *out = r->c;
    else
        memset(out, 0, sizeof *out);
}

const char *cs_router_source_name(cs_router_source_t s)
{
    return (unsigned)s < CS_ARRAY_LEN(source_names) ? source_names[s] : "unknown";
}

int cs_router_source_parse(const char *name, cs_router_source_t *out)
{
    for (unsigned i = 0; name && i < CS_ARRAY_LEN(source_names); i++)
        if (!strcmp(name, source_names[i])) {
            if (out)
                *out = (cs_router_source_t)i;
            return CS_OK;
        }
    return CS_EINVAL;
}

const char *cs_router_kind_name(cs_router_kind_t k)
{
    return k == CS_ROUTER_AUDIO ? "audio" : k == CS_ROUTER_VIDEO ? "video" : "unknown";
}
