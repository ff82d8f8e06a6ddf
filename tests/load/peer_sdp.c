/*
 * peer_sdp.c — the synthetic peer's descriptions: an offer written like
 * Chromium's unified plan (built as a cs_sdp_t and written by media/sdp, so
 * it is what the gateway's own parser reads back), the answer to it applied
 * (transport through media/peer, then what each section negotiated), and
 * the answer to a server's offer (Janus's subscriber: media/sdp's answerer
 * with our a=setup and only what a receiver needs).
 *
 * Descriptions are ~1.1 MiB structs (cs_sdp_t): one or two are allocated per
 * call and freed before it returns; negotiation is rare, packets never
 * allocate.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "tests/load/peer_internal.h"

#define TRACK_MAX 48

static int fail(char *err, size_t cap, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t cap, int code, const char *fmt, ...)
{
    if (err && cap) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, cap, fmt, ap);
        va_end(ap);
    }
    return code;
}

static const char *why_remote(int code)
{
    switch (code) {
    case CS_EUNSUPPORTED:
        return "no sha-256 DTLS fingerprint, or another one than before";
    case CS_ESTATE:
        return "other ICE credentials than before, or the peer has ended";
    default:
        return "unusable ICE credentials or a=setup";
    }
}

/* The transport of a description: its first bundled section's (RFC 8843),
 * else the session's. */
static const cs_sdp_transport_t *transport_of(const cs_sdp_t *d)
{
    for (unsigned i = 0; i < d->n_media; i++) {
        const cs_sdp_media_t *m = &d->media[i];
        if (m->transport.ice_ufrag[0] && m->port && (!d->has_bundle || cs_sdp_in_bundle(d, m->mid)))
            return &m->transport;
    }
    return d->transport.ice_ufrag[0] ? &d->transport : NULL;
}

static bool sends(cs_sdp_direction_t d)
{
    return d == CS_SDP_DIR_SENDONLY || d == CS_SDP_DIR_SENDRECV;
}

static bool receives(cs_sdp_direction_t d)
{
    return d == CS_SDP_DIR_RECVONLY || d == CS_SDP_DIR_SENDRECV;
}

static bool accepted(const cs_sdp_media_t *m)
{
    return m->port != 0 || m->bundle_only;
}

/* Our codec of a section's kind in a description, or NULL. */
static const cs_sdp_codec_t *our_codec(const cs_sdp_media_t *m, lt_kind_t kind)
{
    for (unsigned i = 0; i < m->n_codecs; i++) {
        const cs_sdp_codec_t *c = &m->codecs[i];
        if (kind == LT_AUDIO ? !strcasecmp(c->name, "opus") && c->clock == 48000
                             : !strcasecmp(c->name, "VP8") && c->clock == 90000)
            return c;
    }
    return NULL;
}

/* The media and RTX SSRCs a section announces (a=ssrc-group:FID, else the
 * first a=ssrc); 0 when none. */
static void announced(const cs_sdp_media_t *m, uint32_t *ssrc, uint32_t *rtx)
{
    *ssrc = *rtx = 0;
    for (unsigned g = 0; g < m->n_ssrc_groups; g++)
        if (!strcmp(m->ssrc_groups[g].semantics, "FID") && m->ssrc_groups[g].n_ssrcs >= 2) {
            *ssrc = m->ssrc_groups[g].ssrcs[0];
            *rtx = m->ssrc_groups[g].ssrcs[1];
            return;
        }
    if (m->n_ssrcs)
        *ssrc = m->ssrcs[0].ssrc;
}

/* What a receiving section negotiated: payload types from d (the answer,
 * or our answer), SSRCs from ann (the sender's description). */
static int apply_receiving(lt_peer_t *p, size_t i, const cs_sdp_media_t *d,
                           const cs_sdp_media_t *ann)
{
    lt_section_t *s = &p->sec[i];
    const cs_sdp_codec_t *c = our_codec(d, s->kind);
    s->receiving = c != NULL;
    if (!c)
        return CS_OK;
    const cs_sdp_codec_t *rtx = cs_sdp_rtx_for(d, c->pt);
    s->pt = c->pt;
    s->rtx_pt = rtx ? rtx->pt : 0;
    unsigned id = cs_sdp_extmap_id(d, CS_SDP_EXT_MID);
    if (!p->mid_ext && id && id <= 255)
        p->mid_ext = (uint8_t)id;
    uint32_t ssrc, rtx_ssrc;
    announced(ann, &ssrc, &rtx_ssrc);
    return ssrc ? lt_peer_bind(p, i, ssrc, s->rtx_pt ? rtx_ssrc : 0) : CS_OK;
}

/* ---- our offer ------------------------------------------------------------------------------ */

/* Senders exist from the first offer, so other peers can take them as
 * sources at once; they start when the answer accepts them and the
 * transport is up. They send what was offered (an answerer keeps the
 * offer's payload types; Consilium and Janus keep RTX and the MID
 * extension too). */
static int make_sender(lt_peer_t *p, lt_out_t *o)
{
    lt_sender_config_t sc = {
        .kind = o->kind,
        .ssrc = o->ssrc,
        .pt = o->kind == LT_AUDIO ? LT_PT_OPUS : LT_PT_VP8,
        .rtx_ssrc = o->rtx_ssrc,
        .rtx_pt = o->rtx_ssrc ? LT_PT_RTX : 0,
        .mid_ext_id = LT_MID_EXT_ID,
        .mid = p->sec[o->section].mid,
        .start_offset_ms = p->cfg.start_offset_ms,
    };
    int err = CS_ENOMEM;
    o->s = lt_sender_new(p->cfg.media, &sc, &err);
    return o->s ? CS_OK : err;
}

static void add_section(lt_peer_t *p, lt_kind_t kind, bool ours)
{
    lt_section_t *s = &p->sec[p->n_sec];
    memset(s, 0, sizeof *s);
    snprintf(s->mid, sizeof s->mid, "%zu", p->n_sec);
    s->kind = kind;
    s->ours = ours;
    s->receiver = -1;
    if (ours) {
        lt_out_t *o = &p->out[p->n_out++];
        memset(o, 0, sizeof *o);
        o->kind = kind;
        o->section = p->n_sec;
        o->ssrc = lt_peer_new_ssrc(p);
        if (kind == LT_VIDEO)
            o->rtx_ssrc = lt_peer_new_ssrc(p);
    } else {
        p->n_recv[kind]++;
    }
    p->n_sec++;
}

static void sources_json(lt_peer_t *p)
{
    size_t o = 0;
    o += (size_t)snprintf(p->sources_json, sizeof p->sources_json, "{");
    for (size_t i = 0; i < p->n_out; i++)
        o += (size_t)snprintf(p->sources_json + o, sizeof p->sources_json - o, "%s\"%s\":\"%s\"",
                              i ? "," : "", p->sec[p->out[i].section].mid,
                              p->out[i].kind == LT_AUDIO ? "microphone" : "camera");
    snprintf(p->sources_json + o, sizeof p->sources_json - o, "}");
}

static void add_codec(cs_sdp_media_t *m, uint8_t pt, const char *name, uint32_t clock,
                      uint8_t channels, uint16_t fb, const char *fmtp)
{
    cs_sdp_codec_t *c = &m->codecs[m->n_codecs++];
    c->pt = pt;
    cs_strlcpy(c->name, name, sizeof c->name);
    c->clock = clock;
    c->channels = channels;
    c->fb = fb;
    cs_strlcpy(c->fmtp, fmtp, sizeof c->fmtp);
    cs_sdp_fmtp_parse(c->fmtp, &c->params);
}

static int offer_section(const lt_peer_t *p, size_t i, const cs_sdp_transport_t *t,
                         cs_sdp_media_t *m)
{
    const lt_section_t *s = &p->sec[i];
    m->kind = s->kind == LT_AUDIO ? CS_SDP_KIND_AUDIO : CS_SDP_KIND_VIDEO;
    m->port = 9;
    m->proto = CS_SDP_PROTO_UDP_TLS_RTP_SAVPF;
    cs_strlcpy(m->conn_addr, "0.0.0.0", sizeof m->conn_addr);
    cs_strlcpy(m->mid, s->mid, sizeof m->mid);
    m->direction = s->ours ? CS_SDP_DIR_SENDONLY : CS_SDP_DIR_RECVONLY;
    m->rtcp_mux = m->rtcp_rsize = true;
    m->transport = *t;
    m->n_extmaps = 1;
    m->extmaps[0].id = LT_MID_EXT_ID;
    cs_strlcpy(m->extmaps[0].uri, CS_SDP_EXT_MID, sizeof m->extmaps[0].uri);
    if (s->kind == LT_AUDIO) {
        add_codec(m, LT_PT_OPUS, "opus", 48000, 2, 0, "minptime=10;useinbandfec=1");
    } else {
        add_codec(m, LT_PT_VP8, "VP8", 90000, 0,
                  CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR, "");
        add_codec(m, LT_PT_RTX, "rtx", 90000, 0, 0, "apt=96");
    }
    if (!s->ours)
        return CS_OK;
    const lt_out_t *o = NULL;
    for (size_t k = 0; k < p->n_out; k++)
        if (p->out[k].section == i)
            o = &p->out[k];
    char track[TRACK_MAX];
    snprintf(track, sizeof track, "%s-%s", p->stream_id, s->kind == LT_AUDIO ? "audio" : "video");
    return o ? cs_sdp_media_add_stream(m, o->ssrc, o->rtx_ssrc, p->cname, p->stream_id, track)
             : CS_EINVAL;
}

static int build_offer(const lt_peer_t *p, const cs_peer_local_t *l, cs_sdp_t *d)
{
    cs_strlcpy(d->origin_user, "-", sizeof d->origin_user);
    snprintf(d->origin_sess_id, sizeof d->origin_sess_id, "%" PRIu64, p->session_id);
    snprintf(d->origin_sess_version, sizeof d->origin_sess_version, "%" PRIu64,
             p->session_version);
    cs_strlcpy(d->origin_addr, "127.0.0.1", sizeof d->origin_addr);
    cs_strlcpy(d->name, "-", sizeof d->name);
    d->extmap_allow_mixed = true;
    cs_strlcpy(d->msid_semantic, "WMS", sizeof d->msid_semantic);
    cs_strlcpy(d->msid_semantic_ids, p->stream_id, sizeof d->msid_semantic_ids);
    cs_sdp_transport_t t;
    memset(&t, 0, sizeof t);
    cs_strlcpy(t.ice_ufrag, l->ice_ufrag, sizeof t.ice_ufrag);
    cs_strlcpy(t.ice_pwd, l->ice_pwd, sizeof t.ice_pwd);
    t.ice_options = CS_SDP_ICE_TRICKLE;
    t.fingerprint.hash = CS_SDP_HASH_SHA256;
    t.fingerprint.len = 32;
    int rc = cs_dtls_fingerprint_parse(l->fingerprint, t.fingerprint.value);
    t.setup = l->setup;
    d->has_bundle = true;
    d->n_media = d->n_bundle = (uint8_t)p->n_sec;
    for (size_t i = 0; i < p->n_sec && !rc; i++) {
        cs_strlcpy(d->bundle[i], p->sec[i].mid, sizeof d->bundle[i]);
        rc = offer_section(p, i, &t, &d->media[i]);
    }
    return rc;
}

/* Sections are only ever added: the first offer's sending ones, then
 * receiving ones up to the counts asked for. */
static void grow(lt_peer_t *p, size_t n_ra, size_t n_rv)
{
    if (p->n_sec == 0) {
        if (p->cfg.send_audio)
            add_section(p, LT_AUDIO, true);
        if (p->cfg.send_video)
            add_section(p, LT_VIDEO, true);
        sources_json(p);
    }
    while (p->n_recv[LT_AUDIO] < n_ra)
        add_section(p, LT_AUDIO, false);
    while (p->n_recv[LT_VIDEO] < n_rv)
        add_section(p, LT_VIDEO, false);
}

static size_t more(size_t want, size_t have)
{
    return want > have ? want - have : 0;
}

int lt_peer_create_offer(lt_peer_t *p, size_t n_recv_audio, size_t n_recv_video, char *sdp,
                         size_t cap)
{
    if (!p || !sdp || n_recv_audio > LT_PEER_MAX_RECV || n_recv_video > LT_PEER_MAX_RECV)
        return CS_EINVAL;
    if (p->answerer || p->state == LT_PEER_FAILED || p->state == LT_PEER_CLOSED)
        return CS_ESTATE;
    size_t need = p->n_sec + (p->n_sec ? 0 : (size_t)p->cfg.send_audio + p->cfg.send_video) +
                  more(n_recv_audio, p->n_recv[LT_AUDIO]) + more(n_recv_video, p->n_recv[LT_VIDEO]);
    if (need == 0)
        return CS_EINVAL;
    if (need > LT_SECTIONS_MAX)
        return CS_ETOOBIG;
    int rc;
    if (!p->tp && (rc = lt_peer_make_transport(p, true)))
        return rc;
    p->offerer = true;
    size_t n_sec = p->n_sec, n_out = p->n_out, n_ra = p->n_recv[LT_AUDIO],
           n_rv = p->n_recv[LT_VIDEO];
    grow(p, n_recv_audio, n_recv_video);
    cs_peer_local_t l;
    cs_sdp_t *d = calloc(1, sizeof *d);
    size_t len = 0;
    rc = !d ? CS_ENOMEM : cs_peer_local_transport(p->tp, &l);
    for (size_t k = n_out; k < p->n_out && !rc; k++)
        rc = make_sender(p, &p->out[k]);
    if (!rc && !(rc = build_offer(p, &l, d)))
        rc = cs_sdp_write(d, sdp, cap, &len, NULL);
    free(d);
    if (rc) {                           /* nothing offered: nothing added */
        for (size_t k = n_out; k < p->n_out; k++) {
            lt_sender_free(p->out[k].s);
            p->out[k].s = NULL;
        }
        p->n_sec = n_sec;
        p->n_out = n_out;
        p->n_recv[LT_AUDIO] = n_ra;
        p->n_recv[LT_VIDEO] = n_rv;
        return rc;
    }
    p->offer_pending = true;
    p->session_version++;
    return (int)len;
}

/* ---- the answer to our offer ---------------------------------------------------------------- */

static int check_sections(const lt_peer_t *p, const cs_sdp_t *a, char *err, size_t cap)
{
    if (a->n_media != p->n_sec)
        return fail(err, cap, CS_EINVAL, "the answer has %u m= sections, the offer %zu",
                    a->n_media, p->n_sec);
    for (size_t i = 0; i < p->n_sec; i++) {
        const cs_sdp_media_t *m = &a->media[i];
        cs_sdp_kind_t kind = p->sec[i].kind == LT_AUDIO ? CS_SDP_KIND_AUDIO : CS_SDP_KIND_VIDEO;
        if (strcmp(m->mid, p->sec[i].mid) || m->kind != kind)
            return fail(err, cap, CS_EINVAL, "m= section %zu of the answer is not the offer's",
                        i + 1);
    }
    return CS_OK;
}

static int apply_answer(lt_peer_t *p, const cs_sdp_t *a, char *err, size_t cap)
{
    int rc = check_sections(p, a, err, cap);
    if (rc)
        return rc;
    const cs_sdp_transport_t *t = transport_of(a);
    if (!t)
        return fail(err, cap, CS_EINVAL, "the answer has no ICE credentials");
    cs_peer_remote_t r = {t->ice_ufrag, t->ice_pwd, t->fingerprint, t->setup, true};
    if ((rc = cs_peer_set_remote(p->tp, &r)))
        return fail(err, cap, CS_EINVAL, "the answer's transport: %s", why_remote(rc));
    cs_strlcpy(p->remote_ufrag, t->ice_ufrag, sizeof p->remote_ufrag);
    p->remote_fingerprint = t->fingerprint;
    cs_peer_add_sdp_candidates(p->tp, a);
    for (size_t i = 0; i < p->n_sec; i++) {
        const cs_sdp_media_t *m = &a->media[i];
        if (p->sec[i].ours)
            continue;
        if (!accepted(m) || !sends(m->direction))
            p->sec[i].receiving = false;
        else if ((rc = apply_receiving(p, i, m, m)))
            return fail(err, cap, rc, "m= section %zu: no room for another stream", i + 1);
    }
    for (size_t k = 0; k < p->n_out; k++) {
        const cs_sdp_media_t *m = &a->media[p->out[k].section];
        p->out[k].active = our_codec(m, p->out[k].kind) && accepted(m) && receives(m->direction);
    }
    return CS_OK;
}

int lt_peer_set_answer(lt_peer_t *p, const char *sdp, char *err, size_t cap)
{
    if (!p || !sdp)
        return fail(err, cap, CS_EINVAL, "no answer");
    if (!p->offer_pending)
        return fail(err, cap, CS_ESTATE, "no offer awaits an answer");
    cs_sdp_t *a = malloc(sizeof *a);
    if (!a)
        return fail(err, cap, CS_ENOMEM, "out of memory");
    cs_sdp_error_t e;
    int rc = cs_sdp_parse(sdp, strlen(sdp), a, &e);
    if (rc)
        rc = fail(err, cap, CS_EINVAL, "the answer does not parse: %s", e.message);
    else
        rc = apply_answer(p, a, err, cap);
    free(a);
    if (!rc)
        p->offer_pending = false;
    return rc;
}

/* ---- answering a server's offer ------------------------------------------------------------- */

/* Sections match the earlier offer's (a server's re-offer only adds). */
static int take_sections(lt_peer_t *p, const cs_sdp_t *o, char *err, size_t cap)
{
    if (o->n_media < p->n_sec)
        return fail(err, cap, CS_EINVAL, "the offer removes m= sections");
    for (size_t i = 0; i < o->n_media; i++) {
        const cs_sdp_media_t *m = &o->media[i];
        lt_kind_t kind = m->kind == CS_SDP_KIND_VIDEO ? LT_VIDEO : LT_AUDIO;
        if (i < p->n_sec) {
            if (strcmp(p->sec[i].mid, m->mid))
                return fail(err, cap, CS_EINVAL, "m= section %zu changed its mid", i + 1);
            continue;
        }
        lt_section_t *s = &p->sec[i];
        memset(s, 0, sizeof *s);
        cs_strlcpy(s->mid, m->mid, sizeof s->mid);
        s->kind = kind;
        s->receiver = -1;
    }
    return CS_OK;
}

/* A receiver's answer: recvonly where the server sends, our a=setup, only
 * the MID extension, no bandwidth-estimation feedback (see peer.c). */
static void trim_answer(cs_sdp_media_t *am, const cs_sdp_media_t *om, cs_sdp_setup_t setup,
                        bool recv)
{
    am->transport.setup = setup;
    if (!accepted(am))
        return;
    am->direction = recv ? CS_SDP_DIR_RECVONLY : CS_SDP_DIR_INACTIVE;
    unsigned id = cs_sdp_extmap_id(om, CS_SDP_EXT_MID);
    am->n_extmaps = 0;
    if (id) {
        am->extmaps[0] = (cs_sdp_extmap_t){.id = (uint16_t)id};
        cs_strlcpy(am->extmaps[0].uri, CS_SDP_EXT_MID, sizeof am->extmaps[0].uri);
        am->n_extmaps = 1;
    }
    for (unsigned i = 0; i < am->n_codecs; i++)
        am->codecs[i].fb &= (uint16_t) ~(CS_SDP_FB_TRANSPORT_CC | CS_SDP_FB_GOOG_REMB);
}

static int local_of(const lt_peer_t *p, const cs_sdp_t *o, const cs_peer_local_t *l,
                    cs_sdp_local_t *loc)
{
    memset(loc, 0, sizeof *loc);
    cs_strlcpy(loc->ice_ufrag, l->ice_ufrag, sizeof loc->ice_ufrag);
    cs_strlcpy(loc->ice_pwd, l->ice_pwd, sizeof loc->ice_pwd);
    loc->fingerprint.hash = CS_SDP_HASH_SHA256;
    loc->fingerprint.len = 32;
    loc->session_id = p->session_id;
    loc->session_version = p->session_version;
    loc->trickle = true;
    loc->extmap_allow_mixed = o->extmap_allow_mixed;
    loc->codecs = CS_SDP_CODEC_OPUS | CS_SDP_CODEC_VP8;
    return cs_dtls_fingerprint_parse(l->fingerprint, loc->fingerprint.value);
}

static int answer_into(lt_peer_t *p, const cs_sdp_t *o, cs_sdp_t *a, char *err, size_t cap)
{
    int rc = take_sections(p, o, err, cap);
    if (rc)
        return rc;
    const cs_sdp_transport_t *t = transport_of(o);
    if (!t)
        return fail(err, cap, CS_EINVAL, "the offer has no ICE credentials");
    /* An ice-lite server never controls: we must. */
    if (!p->tp && (rc = lt_peer_make_transport(p, o->ice_lite)))
        return fail(err, cap, rc, "could not make the transport");
    cs_peer_remote_t r = {t->ice_ufrag, t->ice_pwd, t->fingerprint, t->setup, false};
    if ((rc = cs_peer_set_remote(p->tp, &r)))
        return fail(err, cap, CS_EINVAL, "the offer's transport: %s", why_remote(rc));
    cs_strlcpy(p->remote_ufrag, t->ice_ufrag, sizeof p->remote_ufrag);
    p->remote_fingerprint = t->fingerprint;
    cs_peer_local_t l;
    cs_sdp_local_t loc;
    cs_sdp_error_t e;
    if ((rc = cs_peer_local_transport(p->tp, &l)) || (rc = local_of(p, o, &l, &loc)))
        return fail(err, cap, rc, "no local transport");
    if ((rc = cs_sdp_answer(o, &loc, a, &e)))
        return fail(err, cap, rc, "cannot answer the offer: %s", e.message);
    p->n_sec = o->n_media;
    for (size_t i = 0; i < p->n_sec; i++) {
        const cs_sdp_media_t *om = &o->media[i];
        cs_sdp_media_t *am = &a->media[i];
        bool recv = accepted(am) && sends(om->direction) &&
                    (om->kind == CS_SDP_KIND_AUDIO || om->kind == CS_SDP_KIND_VIDEO);
        trim_answer(am, om, l.setup, recv);
        p->sec[i].receiving = false;
        if (recv && (rc = apply_receiving(p, i, am, om)))
            return fail(err, cap, rc, "m= section %zu: no room for another stream", i + 1);
    }
    cs_peer_add_sdp_candidates(p->tp, o);
    return CS_OK;
}

int lt_peer_answer_offer(lt_peer_t *p, const char *offer, char *sdp, size_t cap, char *err,
                         size_t err_cap)
{
    if (!p || !offer || !sdp)
        return fail(err, err_cap, CS_EINVAL, "no offer");
    if (p->offerer || p->state == LT_PEER_FAILED || p->state == LT_PEER_CLOSED)
        return fail(err, err_cap, CS_ESTATE, "this peer cannot answer now");
    cs_sdp_t *o = malloc(sizeof *o), *a = malloc(sizeof *a);
    int rc = CS_ENOMEM;
    cs_sdp_error_t e;
    size_t len = 0;
    if (!o || !a)
        rc = fail(err, err_cap, CS_ENOMEM, "out of memory");
    else if ((rc = cs_sdp_parse(offer, strlen(offer), o, &e)))
        rc = fail(err, err_cap, CS_EINVAL, "the offer does not parse: %s", e.message);
    else if (!(rc = answer_into(p, o, a, err, err_cap)) &&
             (rc = cs_sdp_write(a, sdp, cap, &len, &e)))
        rc = fail(err, err_cap, rc, "cannot write the answer: %s", e.message);
    free(o);
    free(a);
    if (rc)
        return rc < 0 ? rc : CS_EINVAL;
    p->answerer = true;
    p->session_version++;
    return (int)len;
}
