/*
 * sdp_answer.c — the gateway's answer to a browser's offer (JSEP §5.3.1),
 * decided from the parsed offer and what the gateway brings; pure.
 *
 * The gateway is an SFU: it forwards what it receives, so every participant
 * must be able to decode what the others send. Hence the short codec list
 * (Opus; VP8 and H.264 constrained baseline, which every browser decodes),
 * one ICE/DTLS transport per peer (BUNDLE and rtcp-mux required), and only
 * the header extensions the router reads. The offerer's payload type numbers
 * and extension ids are kept, so packets need no rewriting on the way in.
 */
#include "media/sdp/sdp_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"

#define VIDEO_FB (CS_SDP_FB_NACK | CS_SDP_FB_NACK_PLI | CS_SDP_FB_CCM_FIR | \
                  CS_SDP_FB_GOOG_REMB | CS_SDP_FB_TRANSPORT_CC)
#define AUDIO_FB (CS_SDP_FB_NACK | CS_SDP_FB_TRANSPORT_CC)
#define H264_LEVEL_3_1 0x1f

static bool is_media_rtp(const cs_sdp_media_t *m)
{
    return (m->kind == CS_SDP_KIND_AUDIO || m->kind == CS_SDP_KIND_VIDEO) &&
           (m->proto == CS_SDP_PROTO_UDP_TLS_RTP_SAVPF || m->proto == CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF);
}

/* A section the offerer wants to use: media over DTLS-SRTP, not rejected. */
static bool wanted(const cs_sdp_t *offer, const cs_sdp_media_t *m)
{
    if (!is_media_rtp(m) || (m->port == 0 && !m->bundle_only))
        return false;
    return !offer->has_bundle || cs_sdp_in_bundle(offer, m->mid);
}

static void codec_copy_head(cs_sdp_codec_t *dst, const cs_sdp_codec_t *src)
{
    dst->pt = src->pt;
    dst->clock = src->clock;
    dst->channels = src->channels;
    memcpy(dst->name, src->name, sizeof dst->name);
    cs_sdp_fmtp_parse("", &dst->params);
}

static void set_fmtp(cs_sdp_codec_t *k, const char *fmtp)
{
    cs_sdp_copy_str(k->fmtp, sizeof k->fmtp, fmtp);
    cs_sdp_fmtp_parse(k->fmtp, &k->params);
}

static void add_opus(const cs_sdp_media_t *om, cs_sdp_media_t *am)
{
    for (unsigned i = 0; i < om->n_codecs; i++) {
        const cs_sdp_codec_t *k = &om->codecs[i];
        if (strcasecmp(k->name, "opus") || k->clock != 48000 || k->channels != 2)
            continue;
        cs_sdp_codec_t *a = &am->codecs[am->n_codecs++];
        codec_copy_head(a, k);
        a->fb = k->fb & AUDIO_FB;
        char fmtp[64] = "";
        if (k->params.minptime)
            snprintf(fmtp, sizeof fmtp, "minptime=%u", k->params.minptime);
        if (k->params.useinbandfec == 1)
            strcat(fmtp, fmtp[0] ? ";useinbandfec=1" : "useinbandfec=1");
        set_fmtp(a, fmtp);
        return;
    }
}

/* H.264 with packetization-mode=1 and a constrained-baseline profile;
 * without profile-level-id libwebrtc assumes 42e01f, and so do we. */
static bool h264_ok(const cs_sdp_codec_t *k)
{
    if (strcasecmp(k->name, "H264") || k->clock != 90000 || k->params.packetization_mode != 1)
        return false;
    return !k->params.has_profile_level_id ||
           cs_sdp_h264_profile(k->params.profile_level_id) == CS_SDP_H264_CONSTRAINED_BASELINE;
}

/* The first offered VP8 or H.264 the policy accepts, then its RTX. */
static void add_video(const cs_sdp_media_t *om, cs_sdp_media_t *am, bool h264)
{
    for (unsigned i = 0; i < om->n_codecs; i++) {
        const cs_sdp_codec_t *k = &om->codecs[i];
        bool match = h264 ? h264_ok(k) : !strcasecmp(k->name, "VP8") && k->clock == 90000;
        if (!match)
            continue;
        cs_sdp_codec_t *a = &am->codecs[am->n_codecs++];
        codec_copy_head(a, k);
        a->fb = k->fb & VIDEO_FB;
        if (h264) {
            unsigned level = k->params.has_profile_level_id ? k->params.profile_level_id & 0xff
                                                            : H264_LEVEL_3_1;
            bool asym = k->params.level_asymmetry_allowed;
            char fmtp[96];
            snprintf(fmtp, sizeof fmtp, "%spacketization-mode=1;profile-level-id=42e0%02x",
                     asym ? "level-asymmetry-allowed=1;" : "",
                     asym || level > H264_LEVEL_3_1 ? H264_LEVEL_3_1 : level);
            set_fmtp(a, fmtp);
        }
        const cs_sdp_codec_t *rtx = cs_sdp_rtx_for(om, k->pt);
        if (rtx && rtx->clock == 90000) {
            cs_sdp_codec_t *r = &am->codecs[am->n_codecs++];
            codec_copy_head(r, rtx);
            char fmtp[16];
            snprintf(fmtp, sizeof fmtp, "apt=%u", k->pt);
            set_fmtp(r, fmtp);
        }
        return;
    }
}

static bool ext_allowed(const char *uri, cs_sdp_kind_t kind)
{
    if (!strcmp(uri, CS_SDP_EXT_MID) || !strcmp(uri, CS_SDP_EXT_ABS_SEND_TIME) ||
        !strcmp(uri, CS_SDP_EXT_TWCC))
        return true;
    if (kind == CS_SDP_KIND_AUDIO)
        return !strcmp(uri, CS_SDP_EXT_AUDIO_LEVEL);
    return !strcmp(uri, CS_SDP_EXT_RID) || !strcmp(uri, CS_SDP_EXT_RRID);
}

static cs_sdp_direction_t mirror(cs_sdp_direction_t d)
{
    return d == CS_SDP_DIR_SENDONLY   ? CS_SDP_DIR_RECVONLY
           : d == CS_SDP_DIR_RECVONLY ? CS_SDP_DIR_SENDONLY
                                      : d;
}

static void add_extmaps(const cs_sdp_media_t *om, cs_sdp_media_t *am)
{
    for (unsigned i = 0; i < om->n_extmaps; i++) {
        const cs_sdp_extmap_t *e = &om->extmaps[i];
        if (!ext_allowed(e->uri, om->kind))
            continue;
        cs_sdp_extmap_t *a = &am->extmaps[am->n_extmaps++];
        memcpy(a, e, sizeof *a);
        a->direction = mirror(e->direction);
    }
}

static const cs_sdp_rid_t *send_rid(const cs_sdp_media_t *m, const char *id)
{
    for (unsigned i = 0; i < m->n_rids; i++)
        if (m->rids[i].direction == CS_SDP_RID_SEND && !strcmp(m->rids[i].id, id))
            return &m->rids[i];
    return NULL;
}

static bool recv_rid(const cs_sdp_media_t *m, const char *id)
{
    for (unsigned i = 0; i < m->n_rids; i++)
        if (!strcmp(m->rids[i].id, id))
            return true;
    return false;
}

/* The offer's simulcast send streams become our recv streams, the first
 * max of them, each as its first alternative that has an a=rid send line. */
static void add_simulcast(const cs_sdp_media_t *om, cs_sdp_media_t *am, unsigned max)
{
    if (!om->has_simulcast || om->kind != CS_SDP_KIND_VIDEO ||
        (am->direction != CS_SDP_DIR_RECVONLY && am->direction != CS_SDP_DIR_SENDRECV))
        return;
    for (unsigned i = 0; i < om->sim_send.n_streams && am->n_rids < max; i++) {
        const cs_sdp_sim_stream_t *st = &om->sim_send.streams[i];
        for (unsigned j = 0; j < st->n_alts; j++) {
            /* A rid named twice in the offer is answered once. */
            if (!send_rid(om, st->alts[j].rid) || recv_rid(am, st->alts[j].rid))
                continue;
            cs_sdp_rid_t *r = &am->rids[am->n_rids++];
            memcpy(r->id, st->alts[j].rid, sizeof r->id);
            r->direction = CS_SDP_RID_RECV;
            cs_sdp_sim_stream_t *as = &am->sim_recv.streams[am->sim_recv.n_streams++];
            as->n_alts = 1;
            as->alts[0] = st->alts[j];
            break;
        }
    }
    am->has_simulcast = am->sim_recv.n_streams > 0;
}

/* The parts every answered section has, accepted or not. */
static void section_head(const cs_sdp_media_t *om, cs_sdp_media_t *am)
{
    am->kind = om->kind;
    memcpy(am->media, om->media, sizeof am->media);
    am->proto = om->proto;
    memcpy(am->proto_name, om->proto_name, sizeof am->proto_name);
    memcpy(am->mid, om->mid, sizeof am->mid);
    cs_sdp_copy_str(am->conn_addr, sizeof am->conn_addr, "0.0.0.0");
}

static void reject(const cs_sdp_media_t *om, cs_sdp_media_t *am)
{
    section_head(om, am);
    am->port = 0;
    am->direction = CS_SDP_DIR_INACTIVE;
    memcpy(am->fmt, om->fmt, sizeof am->fmt);
    if (om->n_codecs) {
        am->n_codecs = 1;
        codec_copy_head(&am->codecs[0], &om->codecs[0]);
    }
}

/*
 * RFC 8843 §7: a bundle-only section carries no ICE/DTLS attributes (nor
 * rtcp-mux); it uses those of the BUNDLE group's first, tagged section.
 */
static const cs_sdp_media_t *transport_section(const cs_sdp_t *offer, const cs_sdp_media_t *m)
{
    const cs_sdp_media_t *tag = offer->n_bundle ? cs_sdp_media_by_mid(offer, offer->bundle[0]) : NULL;
    return tag && !m->transport.ice_ufrag[0] ? tag : m;
}

static int check_transport(const cs_sdp_t *offer, const cs_sdp_media_t *m, unsigned n,
                           cs_sdp_error_t *err)
{
    const cs_sdp_media_t *om = transport_section(offer, m);
    const cs_sdp_transport_t *t = &om->transport;
    if (!t->ice_ufrag[0] || !t->ice_pwd[0])
        return cs_sdp_fail(err, 0, CS_EINVAL, "m= section %u has no ICE credentials", n);
    if (t->fingerprint.hash == CS_SDP_HASH_NONE)
        return cs_sdp_fail(err, 0, CS_EUNSUPPORTED,
                           "m= section %u has no usable a=fingerprint (DTLS-SRTP is required)", n);
    if (t->setup == CS_SDP_SETUP_HOLDCONN)
        return cs_sdp_fail(err, 0, CS_EUNSUPPORTED, "m= section %u has a=setup:holdconn", n);
    if (!m->rtcp_mux && !om->rtcp_mux)
        return cs_sdp_fail(err, 0, CS_EUNSUPPORTED,
                           "m= section %u has no a=rtcp-mux (it is required)", n);
    return CS_OK;
}

/* Fills an accepted section; false when no codec is usable. */
static bool accept(const cs_sdp_t *offer, const cs_sdp_media_t *om, const cs_sdp_local_t *l,
                   unsigned codecs, cs_sdp_media_t *am)
{
    section_head(om, am);
    if (om->kind == CS_SDP_KIND_AUDIO) {
        if (codecs & CS_SDP_CODEC_OPUS)
            add_opus(om, am);
    } else {
        bool order[2] = {l->prefer_h264, !l->prefer_h264};
        for (int i = 0; i < 2; i++)
            if (codecs & (order[i] ? CS_SDP_CODEC_H264 : CS_SDP_CODEC_VP8))
                add_video(om, am, order[i]);
    }
    if (!am->n_codecs)
        return false;
    am->port = 9;
    am->direction = mirror(om->direction);
    am->rtcp_mux = true;
    am->rtcp_rsize = om->rtcp_rsize;
    am->extmap_allow_mixed = om->extmap_allow_mixed && l->extmap_allow_mixed;
    cs_sdp_transport_t *t = &am->transport;
    memcpy(t->ice_ufrag, l->ice_ufrag, sizeof t->ice_ufrag);
    memcpy(t->ice_pwd, l->ice_pwd, sizeof t->ice_pwd);
    t->ice_options = l->trickle ? CS_SDP_ICE_TRICKLE : 0;
    t->fingerprint = l->fingerprint;
    /* We answer passive (the browser connects) unless the offerer insists on it. */
    t->setup = transport_section(offer, om)->transport.setup == CS_SDP_SETUP_PASSIVE
                   ? CS_SDP_SETUP_ACTIVE
                   : CS_SDP_SETUP_PASSIVE;
    add_extmaps(om, am);
    unsigned max = l->max_simulcast ? l->max_simulcast : CS_SDP_DEFAULT_SIMULCAST;
    add_simulcast(om, am, max < CS_SDP_MAX_RIDS ? max : CS_SDP_MAX_RIDS);
    return true;
}

static int check_local(const cs_sdp_local_t *l, cs_sdp_error_t *err)
{
    if (!memchr(l->ice_ufrag, '\0', sizeof l->ice_ufrag) ||
        !memchr(l->ice_pwd, '\0', sizeof l->ice_pwd) ||
        !cs_sdp_is_ice_chars(cs_sdp_span(l->ice_ufrag)) ||
        !cs_sdp_is_ice_chars(cs_sdp_span(l->ice_pwd)))
        return cs_sdp_fail(err, 0, CS_EINVAL, "local ICE credentials are missing or malformed");
    unsigned len = cs_sdp_hash_len(l->fingerprint.hash);
    if (!len || l->fingerprint.len != len)
        return cs_sdp_fail(err, 0, CS_EINVAL, "local fingerprint is missing or malformed");
    if (l->n_candidates > CS_SDP_MAX_CANDIDATES || (l->n_candidates && !l->candidates))
        return cs_sdp_fail(err, 0, CS_EINVAL, "more than %d local candidates",
                           CS_SDP_MAX_CANDIDATES);
    return CS_OK;
}

/* An offer built in code (not parsed) could hold counts past the arrays. */
static bool counts_ok(const cs_sdp_t *o)
{
    if (o->n_media > CS_SDP_MAX_MEDIA || o->n_bundle > CS_SDP_MAX_MEDIA)
        return false;
    for (unsigned i = 0; i < o->n_media; i++) {
        const cs_sdp_media_t *m = &o->media[i];
        if (m->n_codecs > CS_SDP_MAX_CODECS || m->n_extmaps > CS_SDP_MAX_EXTMAPS ||
            m->n_rids > CS_SDP_MAX_RIDS || m->sim_send.n_streams > CS_SDP_MAX_RIDS)
            return false;
        for (unsigned j = 0; j < m->sim_send.n_streams; j++)
            if (m->sim_send.streams[j].n_alts > CS_SDP_MAX_ALTS)
                return false;
    }
    return true;
}

static void answer_session(const cs_sdp_t *offer, const cs_sdp_local_t *l, cs_sdp_t *a)
{
    cs_sdp_copy_str(a->origin_user, sizeof a->origin_user, "-");
    snprintf(a->origin_sess_id, sizeof a->origin_sess_id, "%" PRIu64, l->session_id);
    snprintf(a->origin_sess_version, sizeof a->origin_sess_version, "%" PRIu64,
             l->session_version);
    cs_sdp_copy_str(a->origin_addr, sizeof a->origin_addr, "0.0.0.0");
    cs_sdp_copy_str(a->name, sizeof a->name, "-");
    a->ice_lite = l->ice_lite;
    a->extmap_allow_mixed = offer->extmap_allow_mixed && l->extmap_allow_mixed;
    cs_sdp_copy_str(a->msid_semantic, sizeof a->msid_semantic, "WMS");
    cs_sdp_copy_str(a->msid_semantic_ids, sizeof a->msid_semantic_ids, "*");
    a->has_bundle = offer->has_bundle;
}

/* BUNDLE lists the accepted sections in the offer's order; the first one
 * carries the transport's candidates. */
static void answer_bundle(const cs_sdp_t *offer, const cs_sdp_local_t *l, cs_sdp_t *a)
{
    cs_sdp_media_t *tag = NULL;
    for (unsigned i = 0; i < offer->n_bundle; i++) {
        const cs_sdp_media_t *om = cs_sdp_media_by_mid(offer, offer->bundle[i]);
        if (!om)
            continue; /* only an offer built in code can name a missing mid */
        cs_sdp_media_t *am = &a->media[om - offer->media];
        if (am->port == 0)
            continue;
        memcpy(a->bundle[a->n_bundle++], om->mid, CS_SDP_MID_MAX);
        if (!tag)
            tag = am;
    }
    for (unsigned i = 0; !tag && i < a->n_media; i++)
        if (a->media[i].port)
            tag = &a->media[i];
    if (!tag)
        return;
    for (size_t i = 0; i < l->n_candidates; i++)
        memcpy(&tag->candidates[tag->n_candidates++], &l->candidates[i], sizeof l->candidates[i]);
    tag->end_of_candidates = l->end_of_candidates;
}

int cs_sdp_answer(const cs_sdp_t *offer, const cs_sdp_local_t *local, cs_sdp_t *answer,
                  cs_sdp_error_t *err)
{
    cs_sdp_error_t scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    memset(answer, 0, sizeof *answer);
    int rc = check_local(local, err);
    if (rc)
        return rc;
    if (!counts_ok(offer))
        return cs_sdp_fail(err, 0, CS_EINVAL, "offer has counts past their maximum");
    unsigned n_wanted = 0, n_accepted = 0, codecs = local->codecs ? local->codecs : CS_SDP_CODEC_ALL;
    for (unsigned i = 0; i < offer->n_media; i++) {
        const cs_sdp_media_t *om = &offer->media[i];
        if (!om->mid[0])
            return cs_sdp_fail(err, 0, CS_EINVAL, "m= section %u has no a=mid", i + 1);
        if (!wanted(offer, om))
            continue;
        if ((rc = check_transport(offer, om, i + 1, err)))
            return rc;
        n_wanted++;
    }
    if (n_wanted > 1 && !offer->has_bundle)
        return cs_sdp_fail(err, 0, CS_EUNSUPPORTED,
                           "offer has several media sections but no a=group:BUNDLE");
    answer_session(offer, local, answer);
    answer->n_media = offer->n_media;
    for (unsigned i = 0; i < answer->n_media; i++) {
        const cs_sdp_media_t *om = &offer->media[i];
        cs_sdp_media_t *am = &answer->media[i];
        if (wanted(offer, om) && accept(offer, om, local, codecs, am)) {
            n_accepted++;
            continue;
        }
        memset(am, 0, sizeof *am);
        reject(om, am);
    }
    if (!n_accepted)
        return cs_sdp_fail(err, 0, CS_EUNSUPPORTED, "no usable audio or video codec");
    answer_bundle(offer, local, answer);
    return CS_OK;
}

int cs_sdp_media_add_stream(cs_sdp_media_t *m, uint32_t ssrc, uint32_t rtx_ssrc,
                            const char *cname, const char *stream_id, const char *track_id)
{
    if (!cname || !stream_id || !track_id || strlen(cname) >= CS_SDP_ID_MAX ||
        strlen(stream_id) >= CS_SDP_ID_MAX || strlen(track_id) >= CS_SDP_ID_MAX ||
        !cs_sdp_is_word(cs_sdp_span(cname)) || !cs_sdp_is_word(cs_sdp_span(stream_id)) ||
        !cs_sdp_is_word(cs_sdp_span(track_id)) || (rtx_ssrc && rtx_ssrc == ssrc))
        return CS_EINVAL;
    unsigned need = rtx_ssrc ? 2 : 1;
    if (m->n_ssrcs + need > CS_SDP_MAX_SSRCS ||
        (rtx_ssrc && m->n_ssrc_groups >= CS_SDP_MAX_SSRC_GROUPS))
        return CS_ELIMIT;
    if (!m->msid_stream[0]) {
        cs_sdp_copy_str(m->msid_stream, sizeof m->msid_stream, stream_id);
        cs_sdp_copy_str(m->msid_track, sizeof m->msid_track, track_id);
    }
    uint32_t ids[2] = {ssrc, rtx_ssrc};
    for (unsigned i = 0; i < need; i++) {
        cs_sdp_ssrc_t *s = &m->ssrcs[m->n_ssrcs++];
        memset(s, 0, sizeof *s);
        s->ssrc = ids[i];
        cs_sdp_copy_str(s->cname, sizeof s->cname, cname);
        cs_sdp_copy_str(s->stream, sizeof s->stream, stream_id);
        cs_sdp_copy_str(s->track, sizeof s->track, track_id);
    }
    if (rtx_ssrc) {
        cs_sdp_ssrc_group_t *g = &m->ssrc_groups[m->n_ssrc_groups++];
        memset(g, 0, sizeof *g);
        cs_sdp_copy_str(g->semantics, sizeof g->semantics, "FID");
        g->n_ssrcs = 2;
        g->ssrcs[0] = ssrc;
        g->ssrcs[1] = rtx_ssrc;
    }
    return CS_OK;
}
