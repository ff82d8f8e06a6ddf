/*
 * sdp_write.c — cs_sdp_t → SDP text with CRLF line endings, into a buffer
 * the caller sizes (CS_ETOOBIG when it is too small).
 *
 * The writer emits exactly what the struct holds, in the order Chromium
 * uses, so that a parsed description written out parses back to the same
 * struct (the fuzz target checks this). Every string is checked on the way
 * out: a token with a space or a value with a line break would otherwise
 * smuggle extra lines into what the peer reads.
 */
#include "media/sdp/sdp_internal.h"

#include <inttypes.h>
#include <string.h>

#include "common/common.h"

typedef enum { K_TOKEN, K_WORD, K_TEXT, K_ICE, K_RID } kind_t;

typedef struct {
    cs_sdp_out_t o;
    cs_sdp_error_t *err;
    int rc;               /* the first invalid field */
    unsigned section;     /* 1-based m= index for messages; 0 = session */
} writer_t;

static bool text_ok(cs_sdp_span_t s)
{
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return false;
    }
    return true;
}

/* True when s (a field of size bytes) is NUL-terminated and of the kind;
 * an empty string passes only when optional. Failures are recorded once. */
static bool ok(writer_t *w, const char *s, size_t size, kind_t kind, bool optional,
               const char *what)
{
    bool good = memchr(s, '\0', size) != NULL;
    if (good) {
        cs_sdp_span_t sp = cs_sdp_span(s);
        if (!sp.n)
            good = optional;
        else if (kind == K_TOKEN)
            good = cs_sdp_is_token(sp);
        else if (kind == K_WORD)
            good = cs_sdp_is_word(sp);
        else if (kind == K_ICE)
            good = cs_sdp_is_ice_chars(sp);
        else if (kind == K_RID)
            good = cs_sdp_rid_valid(sp);
        else
            good = text_ok(sp);
    }
    if (!good && w->rc == CS_OK) {
        w->rc = w->section ? cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: %s is not valid",
                                         w->section, what)
                           : cs_sdp_fail(w->err, 0, CS_EINVAL, "%s is not valid", what);
    }
    return good;
}

static bool count_ok(writer_t *w, unsigned n, unsigned max, const char *what)
{
    if (n <= max)
        return true;
    if (w->rc == CS_OK)
        w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: more %s than %u", w->section,
                            what, max);
    return false;
}

#define OUT(w, ...) cs_sdp_out(&(w)->o, __VA_ARGS__)
#define OK(w, field, kind, opt, what) ok(w, field, sizeof(field), kind, opt, what)

static void write_transport(writer_t *w, const cs_sdp_transport_t *t)
{
    static const char *const options[] = {"trickle", "ice2", "renomination"};
    if (t->ice_ufrag[0] && OK(w, t->ice_ufrag, K_ICE, false, "a=ice-ufrag"))
        OUT(w, "a=ice-ufrag:%s\r\n", t->ice_ufrag);
    if (t->ice_pwd[0] && OK(w, t->ice_pwd, K_ICE, false, "a=ice-pwd"))
        OUT(w, "a=ice-pwd:%s\r\n", t->ice_pwd);
    if (t->ice_options & (CS_SDP_ICE_TRICKLE | CS_SDP_ICE_ICE2 | CS_SDP_ICE_RENOMINATION)) {
        OUT(w, "a=ice-options:");
        const char *sep = "";
        for (unsigned i = 0; i < CS_ARRAY_LEN(options); i++)
            if (t->ice_options & (1u << i))
                OUT(w, "%s%s", sep, options[i]), sep = " ";
        OUT(w, "\r\n");
    }
    const cs_sdp_fingerprint_t *fp = &t->fingerprint;
    if (fp->hash != CS_SDP_HASH_NONE) {
        unsigned len = cs_sdp_hash_len(fp->hash);
        if (!len || fp->len != len) {
            if (w->rc == CS_OK)
                w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "a=fingerprint length does not match its hash");
        } else {
            OUT(w, "a=fingerprint:%s ", cs_sdp_hash_name(fp->hash));
            for (unsigned i = 0; i < len; i++)
                OUT(w, i ? ":%02X" : "%02X", fp->value[i]);
            OUT(w, "\r\n");
        }
    }
    if (t->setup != CS_SDP_SETUP_NONE && (unsigned)t->setup <= CS_SDP_SETUP_HOLDCONN)
        OUT(w, "a=setup:%s\r\n", cs_sdp_setup_name(t->setup));
}

static void write_direction(writer_t *w, cs_sdp_direction_t d)
{
    if (d != CS_SDP_DIR_NONE && (unsigned)d <= CS_SDP_DIR_INACTIVE)
        OUT(w, "a=%s\r\n", cs_sdp_direction_name(d));
}

static void write_session(writer_t *w, const cs_sdp_t *s)
{
    OK(w, s->origin_user, K_WORD, true, "o= username");
    OK(w, s->origin_sess_id, K_WORD, true, "o= session id");
    OK(w, s->origin_sess_version, K_WORD, true, "o= session version");
    OK(w, s->origin_addr, K_WORD, true, "o= address");
    OK(w, s->name, K_TEXT, true, "s=");
    OUT(w, "v=0\r\no=%s %s %s IN %s %s\r\ns=%s\r\nt=%" PRIu64 " %" PRIu64 "\r\n",
        s->origin_user[0] ? s->origin_user : "-", s->origin_sess_id[0] ? s->origin_sess_id : "0",
        s->origin_sess_version[0] ? s->origin_sess_version : "0", s->origin_ip6 ? "IP6" : "IP4",
        s->origin_addr[0] ? s->origin_addr : "0.0.0.0", s->name[0] ? s->name : "-",
        s->time_start, s->time_stop);
    if (s->conn_addr[0] && OK(w, s->conn_addr, K_WORD, false, "c= address"))
        OUT(w, "c=IN %s %s\r\n", s->conn_ip6 ? "IP6" : "IP4", s->conn_addr);
    if (s->ice_lite)
        OUT(w, "a=ice-lite\r\n");
    if (s->has_bundle && count_ok(w, s->n_bundle, CS_SDP_MAX_MEDIA, "BUNDLE mids")) {
        OUT(w, "a=group:BUNDLE");
        for (unsigned i = 0; i < s->n_bundle; i++)
            if (OK(w, s->bundle[i], K_TOKEN, false, "a=group:BUNDLE mid"))
                OUT(w, " %s", s->bundle[i]);
        OUT(w, "\r\n");
    }
    if (s->extmap_allow_mixed)
        OUT(w, "a=extmap-allow-mixed\r\n");
    if (s->msid_semantic[0] && OK(w, s->msid_semantic, K_TOKEN, false, "a=msid-semantic") &&
        OK(w, s->msid_semantic_ids, K_TEXT, true, "a=msid-semantic ids"))
        OUT(w, "a=msid-semantic: %s%s%s\r\n", s->msid_semantic, s->msid_semantic_ids[0] ? " " : "",
            s->msid_semantic_ids);
    write_transport(w, &s->transport);
    write_direction(w, s->direction);
    if (s->end_of_candidates)
        OUT(w, "a=end-of-candidates\r\n");
}

static bool is_rtp(cs_sdp_proto_t p)
{
    return p == CS_SDP_PROTO_UDP_TLS_RTP_SAVPF || p == CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF ||
           p == CS_SDP_PROTO_RTP_OTHER;
}

static void write_m_line(writer_t *w, const cs_sdp_media_t *m)
{
    static const char *const kinds[] = {"audio", "video", "application"};
    static const char *const protos[] = {"", "UDP/TLS/RTP/SAVPF", "TCP/DTLS/RTP/SAVPF", "",
                                         "UDP/DTLS/SCTP", "TCP/DTLS/SCTP", "DTLS/SCTP"};
    const char *media = m->media, *proto = m->proto_name;
    /* A section built in code may leave the text empty and set the enum. */
    if (!media[0] && (unsigned)m->kind < CS_SDP_KIND_OTHER)
        media = kinds[m->kind];
    else
        OK(w, m->media, K_TOKEN, false, "m= media");
    if (!proto[0] && (unsigned)m->proto < CS_ARRAY_LEN(protos) && protos[m->proto][0])
        proto = protos[m->proto];
    else
        OK(w, m->proto_name, K_WORD, false, "m= protocol");
    OUT(w, "m=%s %u", media, m->port);
    if (m->n_ports)
        OUT(w, "/%u", m->n_ports);
    OUT(w, " %s", proto);
    if (is_rtp(m->proto)) {
        if (!m->n_codecs && w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u has no payload types",
                                w->section);
        for (unsigned i = 0; i < m->n_codecs; i++)
            OUT(w, " %u", m->codecs[i].pt);
    } else if (OK(w, m->fmt, K_TEXT, false, "m= formats")) {
        OUT(w, " %s", m->fmt);
    }
    OUT(w, "\r\n");
}

static void write_codec(writer_t *w, const cs_sdp_codec_t *k)
{
    static const struct {
        unsigned bit;
        const char *text;
    } fbs[] = {
        {CS_SDP_FB_GOOG_REMB, "goog-remb"}, {CS_SDP_FB_TRANSPORT_CC, "transport-cc"},
        {CS_SDP_FB_CCM_FIR, "ccm fir"},     {CS_SDP_FB_NACK, "nack"},
        {CS_SDP_FB_NACK_PLI, "nack pli"},
    };
    if (k->pt > 127 && w->rc == CS_OK)
        w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: payload type over 127",
                            w->section);
    if (k->name[0] && OK(w, k->name, K_TOKEN, false, "a=rtpmap encoding name")) {
        if (!k->clock && w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: a=rtpmap clock rate is 0",
                                w->section);
        OUT(w, "a=rtpmap:%u %s/%u", k->pt, k->name, k->clock);
        if (k->channels)
            OUT(w, "/%u", k->channels);
        OUT(w, "\r\n");
    }
    for (unsigned i = 0; i < CS_ARRAY_LEN(fbs); i++)
        if (k->fb & fbs[i].bit)
            OUT(w, "a=rtcp-fb:%u %s\r\n", k->pt, fbs[i].text);
    if (k->fmtp[0] && OK(w, k->fmtp, K_TEXT, false, "a=fmtp"))
        OUT(w, "a=fmtp:%u %s\r\n", k->pt, k->fmtp);
}

static void write_sim_list(writer_t *w, const cs_sdp_sim_list_t *l)
{
    count_ok(w, l->n_streams, CS_SDP_MAX_RIDS, "simulcast streams");
    for (unsigned i = 0; i < l->n_streams && i < CS_SDP_MAX_RIDS; i++) {
        const cs_sdp_sim_stream_t *st = &l->streams[i];
        if (!st->n_alts || !count_ok(w, st->n_alts, CS_SDP_MAX_ALTS, "simulcast alternatives")) {
            if (w->rc == CS_OK)
                w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: empty simulcast stream",
                                    w->section);
            continue;
        }
        OUT(w, "%s", i ? ";" : "");
        for (unsigned j = 0; j < st->n_alts; j++)
            if (OK(w, st->alts[j].rid, K_RID, false, "a=simulcast rid"))
                OUT(w, "%s%s%s", j ? "," : "", st->alts[j].paused ? "~" : "", st->alts[j].rid);
    }
}

static void write_simulcast(writer_t *w, const cs_sdp_media_t *m)
{
    if (!m->sim_send.n_streams && !m->sim_recv.n_streams) {
        if (w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: a=simulcast without streams",
                                w->section);
        return;
    }
    OUT(w, "a=simulcast:");
    if (m->sim_send.n_streams) {
        OUT(w, "send ");
        write_sim_list(w, &m->sim_send);
    }
    if (m->sim_recv.n_streams) {
        OUT(w, "%srecv ", m->sim_send.n_streams ? " " : "");
        write_sim_list(w, &m->sim_recv);
    }
    OUT(w, "\r\n");
}

static void write_ssrcs(writer_t *w, const cs_sdp_media_t *m)
{
    for (unsigned i = 0; i < m->n_ssrc_groups; i++) {
        const cs_sdp_ssrc_group_t *g = &m->ssrc_groups[i];
        if (!OK(w, g->semantics, K_TOKEN, false, "a=ssrc-group semantics") ||
            !count_ok(w, g->n_ssrcs, CS_SDP_MAX_GROUP_SSRCS, "ssrcs in a group"))
            continue;
        if (!g->n_ssrcs && w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: empty a=ssrc-group", w->section);
        OUT(w, "a=ssrc-group:%s", g->semantics);
        for (unsigned j = 0; j < g->n_ssrcs; j++)
            OUT(w, " %" PRIu32, g->ssrcs[j]);
        OUT(w, "\r\n");
    }
    for (unsigned i = 0; i < m->n_ssrcs; i++) {
        const cs_sdp_ssrc_t *s = &m->ssrcs[i];
        if (!s->cname[0] && !s->stream[0] && w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: a=ssrc without cname or msid",
                                w->section);
        if (s->cname[0] && OK(w, s->cname, K_TEXT, false, "a=ssrc cname"))
            OUT(w, "a=ssrc:%" PRIu32 " cname:%s\r\n", s->ssrc, s->cname);
        if (s->stream[0] && OK(w, s->stream, K_WORD, false, "a=ssrc msid") &&
            OK(w, s->track, K_WORD, true, "a=ssrc msid track"))
            OUT(w, "a=ssrc:%" PRIu32 " msid:%s%s%s\r\n", s->ssrc, s->stream, s->track[0] ? " " : "",
                s->track);
    }
}

static void write_candidates(writer_t *w, const cs_sdp_media_t *m)
{
    char line[CS_SDP_MAX_LINE];
    for (unsigned i = 0; i < m->n_candidates; i++) {
        int rc = cs_sdp_candidate_write(&m->candidates[i], line, sizeof line);
        if (rc == CS_OK)
            OUT(w, "a=%s\r\n", line);
        else if (w->rc == CS_OK)
            w->rc = cs_sdp_fail(w->err, 0, CS_EINVAL, "m= section %u: candidate %u is not valid",
                                w->section, i + 1);
    }
}

static void write_streams(writer_t *w, const cs_sdp_media_t *m)
{
    if (m->msid_stream[0] && OK(w, m->msid_stream, K_WORD, false, "a=msid") &&
        OK(w, m->msid_track, K_WORD, true, "a=msid track"))
        OUT(w, "a=msid:%s%s%s\r\n", m->msid_stream, m->msid_track[0] ? " " : "", m->msid_track);
}

static void write_media(writer_t *w, const cs_sdp_media_t *m)
{
    if (!count_ok(w, m->n_codecs, CS_SDP_MAX_CODECS, "codecs") ||
        !count_ok(w, m->n_extmaps, CS_SDP_MAX_EXTMAPS, "extmaps") ||
        !count_ok(w, m->n_candidates, CS_SDP_MAX_CANDIDATES, "candidates") ||
        !count_ok(w, m->n_ssrcs, CS_SDP_MAX_SSRCS, "ssrcs") ||
        !count_ok(w, m->n_ssrc_groups, CS_SDP_MAX_SSRC_GROUPS, "ssrc groups") ||
        !count_ok(w, m->n_rids, CS_SDP_MAX_RIDS, "rids"))
        return;
    write_m_line(w, m);
    if (m->conn_addr[0] && OK(w, m->conn_addr, K_WORD, false, "c= address"))
        OUT(w, "c=IN %s %s\r\n", m->conn_ip6 ? "IP6" : "IP4", m->conn_addr);
    write_candidates(w, m);
    write_transport(w, &m->transport);
    if (m->mid[0] && OK(w, m->mid, K_TOKEN, false, "a=mid"))
        OUT(w, "a=mid:%s\r\n", m->mid);
    for (unsigned i = 0; i < m->n_extmaps; i++) {
        const cs_sdp_extmap_t *e = &m->extmaps[i];
        if (!OK(w, e->uri, K_WORD, false, "a=extmap URI"))
            continue;
        OUT(w, "a=extmap:%u", e->id);
        if (e->direction != CS_SDP_DIR_NONE)
            OUT(w, "/%s", cs_sdp_direction_name(e->direction));
        OUT(w, " %s\r\n", e->uri);
    }
    write_direction(w, m->direction);
    write_streams(w, m);
    if (m->rtcp_mux)
        OUT(w, "a=rtcp-mux\r\n");
    if (m->rtcp_rsize)
        OUT(w, "a=rtcp-rsize\r\n");
    if (m->bundle_only)
        OUT(w, "a=bundle-only\r\n");
    if (m->extmap_allow_mixed)
        OUT(w, "a=extmap-allow-mixed\r\n");
    for (unsigned i = 0; i < m->n_codecs; i++)
        write_codec(w, &m->codecs[i]);
    if (m->has_sctp_port)
        OUT(w, "a=sctp-port:%u\r\n", m->sctp_port);
    if (m->has_max_message_size)
        OUT(w, "a=max-message-size:%" PRIu32 "\r\n", m->max_message_size);
    write_ssrcs(w, m);
    for (unsigned i = 0; i < m->n_rids; i++) {
        const cs_sdp_rid_t *r = &m->rids[i];
        if (OK(w, r->id, K_RID, false, "a=rid") && OK(w, r->params, K_TEXT, true, "a=rid restrictions"))
            OUT(w, "a=rid:%s %s%s%s\r\n", r->id, r->direction == CS_SDP_RID_RECV ? "recv" : "send",
                r->params[0] ? " " : "", r->params);
    }
    if (m->has_simulcast)
        write_simulcast(w, m);
    if (m->end_of_candidates)
        OUT(w, "a=end-of-candidates\r\n");
}

int cs_sdp_write(const cs_sdp_t *sdp, char *buf, size_t cap, size_t *out_len,
                 cs_sdp_error_t *err)
{
    cs_sdp_error_t scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    if (out_len)
        *out_len = 0;
    if (!buf || !cap)
        return cs_sdp_fail(err, 0, CS_ETOOBIG, "output buffer too small");
    writer_t w = {.o = {buf, cap, 0, false}, .err = err};
    buf[0] = '\0';
    if (sdp->n_media > CS_SDP_MAX_MEDIA)
        return cs_sdp_fail(err, 0, CS_EINVAL, "more than %d m= sections", CS_SDP_MAX_MEDIA);
    write_session(&w, sdp);
    for (unsigned i = 0; i < sdp->n_media; i++) {
        w.section = i + 1;
        write_media(&w, &sdp->media[i]);
    }
    if (w.rc) {
        buf[0] = '\0';
        return w.rc;
    }
    if (w.o.over) {
        buf[0] = '\0';
        return cs_sdp_fail(err, 0, CS_ETOOBIG, "output buffer too small");
    }
    if (out_len)
        *out_len = w.o.len;
    return CS_OK;
}
