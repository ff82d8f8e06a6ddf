/*
 * sdp_parse.c — SDP text → cs_sdp_t: lines, the session lines (v o s t c),
 * m= lines, and the checks that need the whole description (required
 * lines, unique mids, BUNDLE naming real sections, session-level defaults).
 *
 * Attributes are parsed in sdp_attr.c, candidates in sdp_candidate.c. The
 * input is a length, never a NUL-terminated string: every scan is bounded.
 */
#include "media/sdp/sdp_internal.h"

#include <string.h>
#include <strings.h>

#include "common/common.h"

#define SEEN_O 0x1u
#define SEEN_S 0x2u
#define SEEN_T 0x4u

/* Static payload types (RFC 3551) that may appear without a=rtpmap. */
static const struct {
    uint8_t pt;
    const char *name;
    uint32_t clock;
} static_pts[] = {
    {0, "PCMU", 8000}, {3, "GSM", 8000}, {4, "G723", 8000}, {8, "PCMA", 8000},
    {9, "G722", 8000}, {13, "CN", 8000}, {18, "G729", 8000},
};

static int parse_ip(cs_sdp_ctx_t *c, cs_sdp_span_t *v, const char *what, bool *ip6,
                    char addr[CS_SDP_ADDR_MAX])
{
    cs_sdp_span_t net, type, a;
    if (!cs_sdp_next_word(v, &net) || !cs_sdp_next_word(v, &type) || !cs_sdp_next_word(v, &a))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "%s has missing fields", what);
    if (!cs_sdp_eq(net, "IN"))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "%s network type is not IN", what);
    if (!cs_sdp_eq(type, "IP4") && !cs_sdp_eq(type, "IP6"))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "%s address type is not IP4 or IP6", what);
    *ip6 = cs_sdp_eq(type, "IP6");
    if (cs_sdp_copy(addr, CS_SDP_ADDR_MAX, a))
        return cs_sdp_fail(c->err, c->line, CS_ETOOBIG, "%s address is too long", what);
    return CS_OK;
}

/* RFC 8866 sess-id and sess-version are digit strings of any length, kept
 * as text (bounded by CS_SDP_NUM_MAX when copied). */
static bool digits(cs_sdp_span_t s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return s.n > 0;
}

static int parse_origin(cs_sdp_ctx_t *c, cs_sdp_span_t v)
{
    cs_sdp_t *s = c->sdp;
    cs_sdp_span_t user, id, ver;
    if (!cs_sdp_next_word(&v, &user) || !cs_sdp_next_word(&v, &id) ||
        !cs_sdp_next_word(&v, &ver))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "o= line has missing fields");
    if (!digits(id) || !digits(ver))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL,
                           "o= session id and version must be numbers");
    if (cs_sdp_copy(s->origin_user, sizeof s->origin_user, user) ||
        cs_sdp_copy(s->origin_sess_id, sizeof s->origin_sess_id, id) ||
        cs_sdp_copy(s->origin_sess_version, sizeof s->origin_sess_version, ver))
        return cs_sdp_fail(c->err, c->line, CS_ETOOBIG, "o= field is too long");
    int rc = parse_ip(c, &v, "o=", &s->origin_ip6, s->origin_addr);
    if (rc == CS_OK && cs_sdp_skip_space(v).n)
        rc = cs_sdp_fail(c->err, c->line, CS_EINVAL, "o= line has extra fields");
    return rc;
}

static int parse_timing(cs_sdp_ctx_t *c, cs_sdp_span_t v)
{
    cs_sdp_span_t a, b;
    if (!cs_sdp_next_word(&v, &a) || !cs_sdp_next_word(&v, &b) ||
        !cs_sdp_u64(a, &c->sdp->time_start) || !cs_sdp_u64(b, &c->sdp->time_stop) ||
        cs_sdp_skip_space(v).n)
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "t= must be two numbers");
    return CS_OK;
}

static int parse_connection(cs_sdp_ctx_t *c, cs_sdp_span_t v)
{
    int rc = c->m ? parse_ip(c, &v, "c=", &c->m->conn_ip6, c->m->conn_addr)
                  : parse_ip(c, &v, "c=", &c->sdp->conn_ip6, c->sdp->conn_addr);
    if (rc == CS_OK && cs_sdp_skip_space(v).n)
        rc = cs_sdp_fail(c->err, c->line, CS_EINVAL, "c= line has extra fields");
    return rc;
}

static cs_sdp_proto_t proto_of(cs_sdp_span_t p)
{
    static const struct {
        const char *name;
        cs_sdp_proto_t proto;
    } protos[] = {
        {"UDP/TLS/RTP/SAVPF", CS_SDP_PROTO_UDP_TLS_RTP_SAVPF},
        {"TCP/DTLS/RTP/SAVPF", CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF},
        {"UDP/DTLS/SCTP", CS_SDP_PROTO_UDP_DTLS_SCTP},
        {"TCP/DTLS/SCTP", CS_SDP_PROTO_TCP_DTLS_SCTP},
        {"DTLS/SCTP", CS_SDP_PROTO_DTLS_SCTP},
    };
    for (size_t i = 0; i < CS_ARRAY_LEN(protos); i++)
        if (cs_sdp_ieq(p, protos[i].name))
            return protos[i].proto;
    for (size_t i = 0; i + 4 <= p.n; i++)
        if (strncasecmp(p.p + i, "RTP/", 4) == 0)
            return CS_SDP_PROTO_RTP_OTHER;
    return CS_SDP_PROTO_OTHER;
}

static bool proto_is_rtp(cs_sdp_proto_t p)
{
    return p == CS_SDP_PROTO_UDP_TLS_RTP_SAVPF || p == CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF ||
           p == CS_SDP_PROTO_RTP_OTHER;
}

static void codec_init(cs_sdp_codec_t *k, uint8_t pt)
{
    k->pt = pt;
    cs_sdp_fmtp_parse("", &k->params);
    for (size_t i = 0; i < CS_ARRAY_LEN(static_pts); i++) {
        if (static_pts[i].pt == pt) {
            cs_sdp_copy_str(k->name, sizeof k->name, static_pts[i].name);
            k->clock = static_pts[i].clock;
        }
    }
}

static int add_payload_type(cs_sdp_ctx_t *c, cs_sdp_span_t w)
{
    cs_sdp_media_t *m = c->m;
    uint32_t pt;
    if (!cs_sdp_u32(w, 127, &pt))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL,
                           "m= payload type is not a number from 0 to 127");
    if (cs_sdp_codec_by_pt(m, pt))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "m= line repeats a payload type");
    if (m->n_codecs >= CS_SDP_MAX_CODECS)
        return cs_sdp_fail(c->err, c->line, CS_ELIMIT, "m= line has more than %d payload types",
                           CS_SDP_MAX_CODECS);
    codec_init(&m->codecs[m->n_codecs++], (uint8_t)pt);
    return CS_OK;
}

/* Non-RTP formats are kept as one space-separated string. */
static int add_format(cs_sdp_ctx_t *c, cs_sdp_span_t w)
{
    char *f = c->m->fmt;
    size_t used = strlen(f), need = used + (used ? 1 : 0) + w.n;
    if (need >= CS_SDP_FMT_MAX)
        return cs_sdp_fail(c->err, c->line, CS_ETOOBIG, "m= formats are too long");
    if (used)
        f[used++] = ' ';
    memcpy(f + used, w.p, w.n);
    return CS_OK;
}

static int parse_media(cs_sdp_ctx_t *c, cs_sdp_span_t v)
{
    cs_sdp_t *s = c->sdp;
    if (s->n_media >= CS_SDP_MAX_MEDIA)
        return cs_sdp_fail(c->err, c->line, CS_ELIMIT, "more than %d m= sections",
                           CS_SDP_MAX_MEDIA);
    cs_sdp_media_t *m = c->m = &s->media[s->n_media++];
    cs_sdp_span_t media, port, proto, fmt;
    if (!cs_sdp_next_word(&v, &media) || !cs_sdp_next_word(&v, &port) ||
        !cs_sdp_next_word(&v, &proto) || !cs_sdp_skip_space(v).n)
        return cs_sdp_fail(c->err, c->line, CS_EINVAL,
                           "m= line needs media, port, protocol and formats");
    if (!cs_sdp_is_token(media) || cs_sdp_copy(m->media, sizeof m->media, media))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "m= media is not a short token");
    m->kind = cs_sdp_eq(media, "audio")         ? CS_SDP_KIND_AUDIO
              : cs_sdp_eq(media, "video")       ? CS_SDP_KIND_VIDEO
              : cs_sdp_eq(media, "application") ? CS_SDP_KIND_APPLICATION
                                                : CS_SDP_KIND_OTHER;
    cs_sdp_span_t count, num = port;
    bool has_count = cs_sdp_split(&port, '/', &num);
    count = port;
    uint32_t pv, cv = 0;
    if (!cs_sdp_u32(num, 65535, &pv) || (has_count && (!cs_sdp_u32(count, 65535, &cv) || !cv)))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "m= port is not a number from 0 to 65535");
    m->port = (uint16_t)pv;
    m->n_ports = (uint16_t)cv;
    if (!cs_sdp_is_word(proto) || cs_sdp_copy(m->proto_name, sizeof m->proto_name, proto))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "m= protocol is not a short token");
    m->proto = proto_of(proto);
    while (cs_sdp_next_word(&v, &fmt)) {
        int rc = proto_is_rtp(m->proto) ? add_payload_type(c, fmt) : add_format(c, fmt);
        if (rc)
            return rc;
    }
    return CS_OK;
}

static int parse_attribute(cs_sdp_ctx_t *c, cs_sdp_span_t v)
{
    cs_sdp_span_t name;
    cs_sdp_split(&v, ':', &name);
    if (!name.n)
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "a= line without an attribute name");
    return cs_sdp_attr(c, name, v);
}

/* Bounded, no NUL and no control character but tab (a CR inside a line
 * would let one line smuggle in another). */
static int check_line(cs_sdp_ctx_t *c, cs_sdp_span_t l)
{
    if (l.n > CS_SDP_MAX_LINE)
        return cs_sdp_fail(c->err, c->line, CS_ETOOBIG, "line longer than %d bytes",
                           CS_SDP_MAX_LINE);
    for (size_t i = 0; i < l.n; i++) {
        unsigned char ch = (unsigned char)l.p[i];
        if (ch == 0)
            return cs_sdp_fail(c->err, c->line, CS_EINVAL, "NUL byte");
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
            return cs_sdp_fail(c->err, c->line, CS_EINVAL, "control character");
    }
    return CS_OK;
}

/* One line without its line ending. */
static int parse_line(cs_sdp_ctx_t *c, cs_sdp_span_t l, unsigned *seen)
{
    int rc = check_line(c, l);
    if (rc)
        return rc;
    while (l.n && (l.p[l.n - 1] == ' ' || l.p[l.n - 1] == '\t'))
        l.n--;
    if (c->line == 1)
        return cs_sdp_eq(l, "v=0") ? CS_OK
                                   : cs_sdp_fail(c->err, 1, CS_EINVAL, "first line must be v=0");
    if (!l.n)
        return CS_OK; /* blank lines are not SDP, but harmless */
    if (l.n < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
        return cs_sdp_fail(c->err, c->line, CS_EINVAL,
                           "expected a line type letter and '=' at the start");
    char type = l.p[0];
    cs_sdp_span_t v = {l.p + 2, l.n - 2};
    if (c->m && strchr("vostuepzr", type))
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "%c= inside a media section", type);
    switch (type) {
    case 'v':
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "v= may only be the first line");
    case 'o':
        if (*seen & SEEN_O)
            return cs_sdp_fail(c->err, c->line, CS_EINVAL, "more than one o= line");
        *seen |= SEEN_O;
        return parse_origin(c, v);
    case 's':
        if (*seen & SEEN_S)
            return cs_sdp_fail(c->err, c->line, CS_EINVAL, "more than one s= line");
        *seen |= SEEN_S;
        if (cs_sdp_copy(c->sdp->name, sizeof c->sdp->name, v.n ? v : (cs_sdp_span_t){"-", 1}))
            return cs_sdp_fail(c->err, c->line, CS_ETOOBIG, "s= is too long");
        return CS_OK;
    case 't':
        if (*seen & SEEN_T)
            return CS_OK; /* further t= lines add nothing for WebRTC */
        *seen |= SEEN_T;
        return parse_timing(c, v);
    case 'c':
        return parse_connection(c, v);
    case 'm':
        if ((*seen & (SEEN_O | SEEN_S | SEEN_T)) != (SEEN_O | SEEN_S | SEEN_T))
            return cs_sdp_fail(c->err, c->line, CS_EINVAL,
                               "m= before the session's o=, s= and t= lines");
        return parse_media(c, v);
    case 'a':
        return parse_attribute(c, v);
    case 'i': case 'u': case 'e': case 'p': case 'b': case 'r': case 'z': case 'k':
        return CS_OK;
    default:
        return cs_sdp_fail(c->err, c->line, CS_EINVAL, "unknown line type '%c='", type);
    }
}

/* Session-level ICE/DTLS parameters and direction apply where a section has none. */
static void inherit(const cs_sdp_t *s, cs_sdp_media_t *m)
{
    const cs_sdp_transport_t *st = &s->transport;
    cs_sdp_transport_t *mt = &m->transport;
    if (!mt->ice_ufrag[0])
        memcpy(mt->ice_ufrag, st->ice_ufrag, sizeof mt->ice_ufrag);
    if (!mt->ice_pwd[0])
        memcpy(mt->ice_pwd, st->ice_pwd, sizeof mt->ice_pwd);
    if (!mt->ice_options)
        mt->ice_options = st->ice_options;
    if (mt->fingerprint.hash == CS_SDP_HASH_NONE)
        mt->fingerprint = st->fingerprint;
    if (mt->setup == CS_SDP_SETUP_NONE)
        mt->setup = st->setup;
    if (m->direction == CS_SDP_DIR_NONE)
        m->direction = s->direction != CS_SDP_DIR_NONE ? s->direction : CS_SDP_DIR_SENDRECV;
}

static int finish(cs_sdp_ctx_t *c, unsigned seen)
{
    cs_sdp_t *s = c->sdp;
    if (!(seen & SEEN_O))
        return cs_sdp_fail(c->err, 0, CS_EINVAL, "missing o= line");
    if (!(seen & SEEN_S))
        return cs_sdp_fail(c->err, 0, CS_EINVAL, "missing s= line");
    if (!(seen & SEEN_T))
        return cs_sdp_fail(c->err, 0, CS_EINVAL, "missing t= line");
    for (unsigned i = 0; i < s->n_media; i++) {
        inherit(s, &s->media[i]);
        for (unsigned j = 0; j < i; j++)
            if (s->media[i].mid[0] && strcmp(s->media[i].mid, s->media[j].mid) == 0)
                return cs_sdp_fail(c->err, 0, CS_EINVAL,
                                   "two m= sections have the same a=mid");
    }
    for (unsigned i = 0; i < s->n_bundle; i++)
        if (!cs_sdp_media_by_mid(s, s->bundle[i]))
            return cs_sdp_fail(c->err, 0, CS_EINVAL,
                               "a=group:BUNDLE names a mid no m= section has");
    return CS_OK;
}

int cs_sdp_parse(const char *text, size_t len, cs_sdp_t *out, cs_sdp_error_t *err)
{
    cs_sdp_error_t scratch;
    if (!err)
        err = &scratch;
    memset(err, 0, sizeof *err);
    memset(out, 0, sizeof *out);
    if (!text || len == 0)
        return cs_sdp_fail(err, 0, CS_EINVAL, "empty description");
    if (len > CS_SDP_MAX_SIZE)
        return cs_sdp_fail(err, 0, CS_ETOOBIG, "description longer than %d bytes",
                           CS_SDP_MAX_SIZE);
    cs_sdp_ctx_t c = {.sdp = out, .err = err};
    unsigned seen = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        c.line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return cs_sdp_fail(err, c.line, CS_EINVAL,
                               "last line has no line ending (truncated input?)");
        size_t n = (size_t)(nl - p);
        if (n && p[n - 1] == '\r')
            n--;
        int rc = parse_line(&c, (cs_sdp_span_t){p, n}, &seen);
        if (rc)
            return rc;
        p = nl + 1;
    }
    return finish(&c, seen);
}
