/*
 * peer.c — a synthetic participant's life: its transport (media/peer as a
 * client: ICE controlling when it offers), the callbacks it owes the driver,
 * the receive path (SSRC → receiving section → RTX unwrapped → receiver),
 * the send path (senders → SRTP → ICE) and the poll that paces senders and
 * RTCP. The offer and answer are peer_sdp.c's; RTCP is peer_rtcp.c's.
 *
 * Bandwidth estimation: the peer offers neither transport-cc nor goog-remb
 * and sends no REMB or TWCC feedback. Its senders send at the media's fixed
 * rate whatever the network says, so an estimate would change nothing on
 * our side; on the server's side, Consilium's router keeps a subscriber
 * without REMB on the layer it started with (router_simulcast.c: no
 * estimate, no change; video is paused only on a low REMB with reported
 * loss), and Janus forwards to subscribers regardless. Video thus flows
 * steadily to every synthetic receiver, and neither server spends time on
 * feedback a real browser would send (so the servers' TWCC/REMB work is not
 * in the figures; noted in the benchmark).
 *
 * Callbacks to the driver wait for a GLib idle dispatch on the peer's
 * context, where nothing of media/peer is on the stack: a driver may free
 * the peer from inside one (it is then freed when the dispatch returns).
 *
 * Data path: no allocation per packet. A packet's SSRC is looked up in a
 * small table (a last-hit cache first); unknown SSRCs are learnt from the
 * MID header extension or the payload type once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "tests/load/peer_internal.h"

const char *lt_peer_state_name(lt_peer_state_t s)
{
    static const char *const names[] = {"new", "connecting", "connected", "failed", "closed"};
    return (unsigned)s < CS_ARRAY_LEN(names) ? names[s] : "unknown";
}

int64_t lt_peer_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- callbacks to the driver, from an idle dispatch ----------------------------------------- */

static void destroy(lt_peer_t *p);

static gboolean deliver(gpointer data)
{
    lt_peer_t *p = data;
    p->delivering = true;
    while (p->n_events && !p->doomed) {
        lt_event_t ev = p->events[p->ev_head];
        p->ev_head = (p->ev_head + 1) % LT_EVENTS_MAX;
        p->n_events--;
        if (ev.is_state)
            p->cb.on_state(p->user, ev.state, ev.text);
        else
            p->cb.on_candidate(p->user, ev.text);
    }
    p->delivering = false;
    g_source_unref(p->idle);
    p->idle = NULL;
    if (p->doomed)
        destroy(p);
    return G_SOURCE_REMOVE;
}

/* A full queue drops the event: 32 is several times what a loopback
 * peer's life produces (a few candidates, three states). */
static void queue_event(lt_peer_t *p, bool is_state, lt_peer_state_t st, const char *text)
{
    if (p->doomed || p->n_events == LT_EVENTS_MAX)
        return;
    lt_event_t *ev = &p->events[(p->ev_head + p->n_events++) % LT_EVENTS_MAX];
    ev->is_state = is_state;
    ev->state = st;
    cs_strlcpy(ev->text, text ? text : "", sizeof ev->text);
    if (p->idle)
        return;
    GSource *src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT); /* not behind a busy loop's timers */
    g_source_set_callback(src, deliver, p, NULL);
    g_source_attach(src, p->ctx);
    p->idle = src;
}

/* ---- from the transport --------------------------------------------------------------------- */

static void tp_candidate(void *user, const char *candidate)
{
    queue_event(user, false, LT_PEER_NEW, candidate);
}

static lt_peer_state_t state_of(cs_peer_state_t s)
{
    switch (s) {
    case CS_PEER_NEW:
        return LT_PEER_NEW;
    case CS_PEER_CONNECTING:
        return LT_PEER_CONNECTING;
    case CS_PEER_CONNECTED:
        return LT_PEER_CONNECTED;
    case CS_PEER_FAILED:
        return LT_PEER_FAILED;
    default:
        return LT_PEER_CLOSED;
    }
}

static void tp_state(void *user, cs_peer_state_t st, const char *reason)
{
    lt_peer_t *p = user;
    lt_peer_state_t s = state_of(st);
    if (s == p->state)
        return;
    p->state = s;
    if (s == LT_PEER_CONNECTED && !p->st.connected_us) {
        int64_t now = cs_mono_us();
        p->st.connected_us = now;
        cs_strlcpy(p->st.srtp_profile, reason, sizeof p->st.srtp_profile);
        p->next_feedback_us = now + LT_FEEDBACK_US;
        p->next_report_us = now + LT_REPORT_US / 5;   /* the first report soon */
    }
    queue_event(p, true, s, reason);
}

/* ---- the receive path ----------------------------------------------------------------------- */

static const lt_ssrc_entry_t *lookup(lt_peer_t *p, uint32_t ssrc)
{
    if (p->last_hit < p->n_map && p->map[p->last_hit].ssrc == ssrc)
        return &p->map[p->last_hit];
    for (size_t i = 0; i < p->n_map; i++)
        if (p->map[i].ssrc == ssrc) {
            p->last_hit = i;
            return &p->map[i];
        }
    return NULL;
}

static void unmap(lt_peer_t *p, uint32_t ssrc)
{
    for (size_t i = 0; i < p->n_map; i++)
        if (p->map[i].ssrc == ssrc) {
            p->map[i] = p->map[--p->n_map];
            return;
        }
}

static int map_add(lt_peer_t *p, uint32_t ssrc, size_t section, bool rtx)
{
    unmap(p, ssrc);                     /* an SSRC moved to another section */
    if (p->n_map == LT_SSRC_MAP_MAX)
        return CS_ELIMIT;
    p->map[p->n_map++] = (lt_ssrc_entry_t){ssrc, (uint8_t)section, rtx};
    return CS_OK;
}

static lt_sources_t sources_of(const lt_peer_t *p, lt_kind_t kind)
{
    return (lt_sources_t){p->src[kind], p->n_src[kind]};
}

int lt_peer_bind(lt_peer_t *p, size_t i, uint32_t ssrc, uint32_t rtx_ssrc)
{
    lt_section_t *s = &p->sec[i];
    if (ssrc && ssrc != s->ssrc) {
        if (p->n_rx == LT_RECEIVERS_MAX)
            return CS_ELIMIT;
        int err = CS_ENOMEM;
        /* One decoder per kind and peer is the integrity sample: decoding
         * all seven streams a peer of 8 receives would cost more than the
         * rest of the tool. */
        bool decode = p->cfg.decode && !p->decoding[s->kind];
        lt_receiver_t *r = lt_receiver_new(s->kind, ssrc, decode, &err);
        if (!r)
            return err;
        p->decoding[s->kind] |= decode;
        lt_receiver_set_sources(r, sources_of(p, s->kind));
        if (p->rtt_us > 0)
            lt_receiver_set_rtt(r, p->rtt_us);
        if (s->ssrc)
            unmap(p, s->ssrc);
        if (s->rtx_ssrc)
            unmap(p, s->rtx_ssrc);
        s->ssrc = ssrc;
        s->rtx_ssrc = 0;
        s->receiver = (int)p->n_rx;
        p->rx_kind[p->n_rx] = s->kind;
        p->rx[p->n_rx++] = r;
        if (map_add(p, ssrc, i, false))
            return CS_ELIMIT;
    }
    if (rtx_ssrc && rtx_ssrc != s->rtx_ssrc && rtx_ssrc != s->ssrc) {
        if (s->rtx_ssrc)
            unmap(p, s->rtx_ssrc);
        s->rtx_ssrc = rtx_ssrc;
        return map_add(p, rtx_ssrc, i, true);
    }
    return CS_OK;
}

static int section_by_mid(const lt_peer_t *p, const char *mid)
{
    for (size_t i = 0; i < p->n_sec; i++)
        if (!strcmp(p->sec[i].mid, mid))
            return (int)i;
    return -1;
}

/* By payload type: the first receiving section still waiting for it. */
static int section_by_pt(const lt_peer_t *p, uint8_t pt)
{
    for (size_t i = 0; i < p->n_sec; i++) {
        const lt_section_t *s = &p->sec[i];
        if (s->receiving && ((pt == s->pt && !s->ssrc) ||
                             (s->rtx_pt && pt == s->rtx_pt && s->ssrc && !s->rtx_ssrc)))
            return (int)i;
    }
    return -1;
}

/* A packet of an SSRC no a=ssrc announced: its section from the MID
 * extension (or its payload type), once. */
static const lt_ssrc_entry_t *learn(lt_peer_t *p, const uint8_t *buf, size_t len, uint32_t ssrc)
{
    cs_rtp_packet_t pkt;
    if (cs_rtp_parse(buf, len, &pkt) != CS_OK)
        return NULL;
    uint8_t pt = pkt.hdr.payload_type;
    char mid[CS_RTP_MID_MAX];
    cs_rtp_ext_t e;
    int i = p->mid_ext && cs_rtp_ext_find(&pkt, p->mid_ext, &e) == CS_OK &&
                    cs_rtp_ext_string(&e, mid, sizeof mid) == CS_OK
                ? section_by_mid(p, mid)
                : section_by_pt(p, pt);
    if (i < 0 || !p->sec[i].receiving)
        return NULL;
    const lt_section_t *s = &p->sec[i];
    bool rtx = s->rtx_pt && pt == s->rtx_pt;
    if (!rtx && pt != s->pt)
        return NULL;
    if (lt_peer_bind(p, (size_t)i, rtx ? 0 : ssrc, rtx ? ssrc : 0) != CS_OK)
        return NULL;
    return lookup(p, ssrc);
}

static void tp_rtp(void *user, uint8_t *buf, size_t len)
{
    lt_peer_t *p = user;
    uint32_t ssrc;
    if (cs_rtp_get_ssrc(buf, len, &ssrc) != CS_OK)
        return;
    const lt_ssrc_entry_t *e = lookup(p, ssrc);
    if (!e && !(e = learn(p, buf, len, ssrc))) {
        p->unknown_rtp++;
        return;
    }
    const lt_section_t *s = &p->sec[e->section];
    if (e->rtx) {
        cs_rtp_packet_t pkt;
        /* Padding-only probes on the RTX stream carry no packet. */
        if (!s->ssrc || cs_rtp_parse(buf, len, &pkt) != CS_OK || pkt.payload_len < 2)
            return;
        int n = cs_rtp_rtx_unwrap(buf, len, s->pt, s->ssrc, buf, len);
        if (n < 0)
            return;
        len = (size_t)n;
    }
    if (s->receiver < 0)
        return;
    p->st.rtp_received++;
    lt_receiver_on_rtp(p->rx[s->receiver], buf, len, cs_mono_us());
}

static void tp_rtcp(void *user, uint8_t *buf, size_t len)
{
    lt_peer_t *p = user;
    p->st.rtcp_received++;
    lt_peer_rtcp_in(p, buf, len, cs_mono_us());
}

lt_receiver_t *lt_peer_receiver_by_ssrc(lt_peer_t *p, uint32_t ssrc)
{
    const lt_ssrc_entry_t *e = lookup(p, ssrc);
    if (!e || e->rtx || p->sec[e->section].receiver < 0)
        return NULL;
    return p->rx[p->sec[e->section].receiver];
}

/* ---- the send path -------------------------------------------------------------------------- */

int lt_peer_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    lt_peer_t *p = user;
    int sent = cs_peer_send_rtp(p->tp, buf, len, cap);
    if (sent < 0)
        return -1;
    p->st.rtp_sent++;
    if (p->tap)
        p->tap(p->tap_user, buf, (size_t)sent);
    return 0;
}

lt_out_t *lt_peer_out_by_ssrc(lt_peer_t *p, uint32_t ssrc)
{
    for (size_t i = 0; i < p->n_out; i++)
        if (p->out[i].s && p->out[i].ssrc == ssrc)
            return &p->out[i];
    return NULL;
}

static bool ssrc_taken(const lt_peer_t *p, uint32_t ssrc)
{
    if (ssrc == 0 || ssrc == p->rtcp_ssrc)
        return true;
    for (size_t i = 0; i < p->n_out; i++)
        if (p->out[i].ssrc == ssrc || p->out[i].rtx_ssrc == ssrc)
            return true;
    return false;
}

uint32_t lt_peer_new_ssrc(const lt_peer_t *p)
{
    uint32_t x = 0;
    for (int tries = 0; ssrc_taken(p, x) && tries < 64; tries++)
        if (cs_random_bytes(&x, sizeof x) != CS_OK)
            x = (uint32_t)cs_mono_us() * 2654435761u + (uint32_t)tries;
    return x ? x : 1;
}

/* ---- life cycle ----------------------------------------------------------------------------- */

static int copy_config(lt_peer_t *p, const lt_peer_config_t *cfg)
{
    p->cfg = *cfg;
    const char *bind = cfg->bind_address ? cfg->bind_address : "127.0.0.1";
    if (cs_strlcpy(p->bind_address, bind, sizeof p->bind_address) >= sizeof p->bind_address)
        return CS_EINVAL;
    p->cfg.bind_address = p->bind_address;
    if (cfg->srtp_profiles) {
        if (cs_strlcpy(p->srtp_profiles, cfg->srtp_profiles, sizeof p->srtp_profiles) >=
            sizeof p->srtp_profiles)
            return CS_EINVAL;
        p->cfg.srtp_profiles = p->srtp_profiles;
    }
    return CS_OK;
}

/* Names a browser would draw: a random CNAME and stream id. */
static int make_ids(lt_peer_t *p)
{
    uint64_t sid;
    if (cs_random_hex(p->cname, 8) != CS_OK || cs_random_hex(p->stream_id, 16) != CS_OK ||
        cs_random_bytes(&sid, sizeof sid) != CS_OK)
        return CS_EIO;
    p->session_id = sid & 0x3fffffffffffffffULL;      /* positive in a signed 64-bit parser */
    p->session_version = 1;
    p->rtcp_ssrc = lt_peer_new_ssrc(p);
    cs_strlcpy(p->sources_json, "{}", sizeof p->sources_json);
    return CS_OK;
}

lt_peer_t *lt_peer_new(void *ctx, const lt_peer_config_t *cfg, const lt_peer_callbacks_t *cb,
                       void *user, int *err)
{
    int rc = CS_EINVAL;
    lt_peer_t *p = NULL;
    if (!ctx || !cfg || !cfg->cert || !cb || !cb->on_candidate || !cb->on_state ||
        ((cfg->send_audio || cfg->send_video) && !cfg->media))
        goto fail;
    rc = CS_ENOMEM;
    if (!(p = calloc(1, sizeof *p)))
        goto fail;
    p->ctx = ctx;
    p->cb = *cb;
    p->user = user;
    if ((rc = copy_config(p, cfg)) || (rc = make_ids(p)))
        goto fail;
    if (err)
        *err = CS_OK;
    return p;
fail:
    free(p);
    if (err)
        *err = rc;
    return NULL;
}

int lt_peer_make_transport(lt_peer_t *p, bool controlling)
{
    static const cs_peer_callbacks_t tcb = {tp_candidate, tp_state, tp_rtp, tp_rtcp};
    cs_peer_config_t pc;
    memset(&pc, 0, sizeof pc);
    pc.ice.addresses[0] = p->bind_address;
    pc.ice.n_addresses = 1;
    pc.ice.controlling = controlling;
    pc.ice.batch = p->cfg.ice_batch;
    pc.cert = p->cfg.cert;
    pc.srtp_profiles = p->cfg.srtp_profiles;
    int rc = CS_ENOMEM;
    p->tp = cs_peer_new(p->ctx, &pc, &tcb, p, &rc);
    return p->tp ? CS_OK : rc;
}

static void destroy(lt_peer_t *p)
{
    if (p->idle) {
        g_source_destroy(p->idle);
        g_source_unref(p->idle);
    }
    if (p->tp && p->state == LT_PEER_CONNECTED)
        lt_peer_rtcp_bye(p);
    for (size_t i = 0; i < p->n_out; i++)
        lt_sender_free(p->out[i].s);
    for (size_t i = 0; i < p->n_rx; i++)
        lt_receiver_free(p->rx[i]);
    free(p->src[LT_AUDIO]);
    free(p->src[LT_VIDEO]);
    cs_peer_free(p->tp);
    free(p);
}

void lt_peer_free(lt_peer_t *p)
{
    if (!p || p->doomed)
        return;
    p->doomed = true;                   /* no callback from now on */
    if (!p->delivering)
        destroy(p);
}

int lt_peer_add_remote_candidate(lt_peer_t *p, const char *candidate)
{
    if (!p || !candidate)
        return CS_EINVAL;
    return p->tp ? cs_peer_add_remote_candidate(p->tp, candidate) : CS_ESTATE;
}

void lt_peer_set_sources(lt_peer_t *p, lt_sources_t sources)
{
    for (int k = LT_AUDIO; k <= LT_VIDEO; k++) {
        size_t n = 0;
        for (size_t i = 0; i < sources.n; i++)
            n += sources.senders[i] && lt_sender_kind(sources.senders[i]) == (lt_kind_t)k;
        const lt_sender_t **a = realloc(p->src[k], (n ? n : 1) * sizeof *a);
        if (!a) {
            p->n_src[k] = 0;            /* the old list stays allocated and unused */
            continue;
        }
        p->src[k] = a;
        p->n_src[k] = 0;
        for (size_t i = 0; i < sources.n; i++)
            if (sources.senders[i] && lt_sender_kind(sources.senders[i]) == (lt_kind_t)k)
                a[p->n_src[k]++] = sources.senders[i];
    }
    for (size_t i = 0; i < p->n_rx; i++)
        lt_receiver_set_sources(p->rx[i], sources_of(p, p->rx_kind[i]));
}

/* ---- polling -------------------------------------------------------------------------------- */

static int64_t earliest(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t lt_peer_poll(lt_peer_t *p, int64_t now_us)
{
    if (!p->tp || p->doomed)
        return now_us + LT_FEEDBACK_US;
    cs_peer_tick(p->tp, now_us);        /* gathering, DTLS retransmissions */
    if (p->state != LT_PEER_CONNECTED)
        return now_us + 10000;
    int64_t next = now_us + LT_FEEDBACK_US;
    for (size_t i = 0; i < p->n_out; i++) {
        lt_out_t *o = &p->out[i];
        if (!o->s || !o->active)
            continue;
        if (!o->started) {
            lt_sender_start(o->s, now_us);
            o->started = true;
        }
        lt_sender_poll(o->s, now_us, lt_peer_emit, p);
        next = earliest(next, lt_sender_next_due(o->s));
    }
    /* Out now, in one sendmmsg, rather than after the pass over every peer:
     * the send times logged above stay true. */
    cs_ice_batch_flush(p->cfg.ice_batch);
    if (now_us >= p->next_feedback_us) {
        lt_peer_rtcp_feedback(p, now_us);
        p->next_feedback_us = now_us + LT_FEEDBACK_US;
    }
    if (now_us >= p->next_report_us) {
        lt_peer_rtcp_report(p, now_us);
        p->next_report_us = now_us + LT_REPORT_US;
    }
    return earliest(next, earliest(p->next_feedback_us, p->next_report_us));
}

/* ---- figures -------------------------------------------------------------------------------- */

lt_peer_state_t lt_peer_state(const lt_peer_t *p)
{
    return p ? p->state : LT_PEER_CLOSED;
}

const char *lt_peer_sources_json(const lt_peer_t *p)
{
    return p->sources_json;
}

size_t lt_peer_senders(const lt_peer_t *p, const lt_sender_t **out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_out && n < cap; i++)
        if (p->out[i].s)
            out[n++] = p->out[i].s;
    return n;
}

void lt_peer_stats(const lt_peer_t *p, lt_peer_stats_t *out)
{
    *out = p->st;
    out->state = p->state;
    out->n_receivers = p->n_rx;
    if (p->tp) {
        cs_peer_stats_t ts;
        cs_peer_stats(p->tp, &ts);
        out->srtp_errors = ts.dropped_srtp;
    }
}

void lt_peer_receiver_stats(const lt_peer_t *p, size_t i, lt_receiver_stats_t *out)
{
    if (i < p->n_rx)
        lt_receiver_stats(p->rx[i], out);
    else
        memset(out, 0, sizeof *out);
}

void lt_peer_reset_window(lt_peer_t *p)
{
    for (size_t i = 0; i < p->n_rx; i++)
        lt_receiver_reset_window(p->rx[i]);
}

/* ---- for the hostile mode ------------------------------------------------------------------- */

void lt_peer_set_tap(lt_peer_t *p, lt_peer_tap_fn tap, void *user)
{
    p->tap = tap;
    p->tap_user = user;
}

int lt_peer_send_raw(lt_peer_t *p, const uint8_t *buf, size_t len)
{
    return p->tp ? cs_peer_send_raw(p->tp, buf, len) : CS_ESTATE;
}

int lt_peer_send_rtcp_bytes(lt_peer_t *p, const uint8_t *rtcp, size_t len)
{
    if (len > sizeof p->rtcp - CS_SRTP_MAX_TRAILER)
        return CS_ETOOBIG;
    if (!p->tp)
        return CS_ESTATE;
    memcpy(p->rtcp, rtcp, len);
    return cs_peer_send_rtcp(p->tp, p->rtcp, len, sizeof p->rtcp);
}

int lt_peer_ice(lt_peer_t *p, lt_peer_ice_t *out)
{
    memset(out, 0, sizeof *out);
    if (!p->tp)
        return CS_ESTATE;
    cs_peer_local_t l;
    int rc = cs_peer_local_transport(p->tp, &l);
    if (rc)
        return rc;
    cs_strlcpy(out->local_ufrag, l.ice_ufrag, sizeof out->local_ufrag);
    cs_strlcpy(out->remote_ufrag, p->remote_ufrag, sizeof out->remote_ufrag);
    const cs_sdp_fingerprint_t *f = &p->remote_fingerprint;
    for (size_t i = 0; i < f->len && 3 * i + 3 <= sizeof out->remote_fingerprint; i++)
        snprintf(out->remote_fingerprint + 3 * i, 4, "%02X%s", f->value[i], i + 1 < f->len ? ":" : "");
    return cs_peer_remote_address(p->tp, &out->remote, &out->remote_len);
}
