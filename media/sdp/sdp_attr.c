/*
 * sdp_attr.c — the a= lines of the session and of the sections, one table row
 * per attribute naming where it may appear and its parser.
 *
 * An attribute not in the table, or one at a level where it means nothing
 * (a=rtpmap before the first m=), is skipped: browsers add attributes faster
 * than gateways learn them. A known attribute with a malformed value is an
 * error naming the attribute, never quoting the value.
 */
#include "media/sdp/sdp_internal.h"

#include <string.h>
#include <strings.h>

#include "common/common.h"

#define AT_SESSION 0x1u
#define AT_MEDIA 0x2u
#define AT_BOTH (AT_SESSION | AT_MEDIA)

enum { F_RTCP_MUX, F_RTCP_RSIZE, F_BUNDLE_ONLY, F_ALLOW_MIXED, F_EOC, F_ICE_LITE };

typedef int (*attr_fn)(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg);

#define FAIL(c, code, ...) cs_sdp_fail((c)->err, (c)->line, code, __VA_ARGS__)

static cs_sdp_transport_t *transport(cs_sdp_ctx_t *c)
{
    return c->m ? &c->m->transport : &c->sdp->transport;
}

/* Copies a field, turning "does not fit" into an error naming the attribute. */
static int put(cs_sdp_ctx_t *c, char *dst, size_t size, cs_sdp_span_t s, const char *what)
{
    if (cs_sdp_copy(dst, size, s))
        return FAIL(c, CS_ETOOBIG, "%s is longer than %zu bytes", what, size - 1);
    return CS_OK;
}

/* ---- flags and directions -------------------------------------------------- */

static int attr_flag(cs_sdp_ctx_t *c, cs_sdp_span_t v, int which)
{
    (void)v;
    cs_sdp_media_t *m = c->m;
    switch (which) {
    case F_RTCP_MUX: m->rtcp_mux = true; break;
    case F_RTCP_RSIZE: m->rtcp_rsize = true; break;
    case F_BUNDLE_ONLY: m->bundle_only = true; break;
    case F_ICE_LITE: c->sdp->ice_lite = true; break;
    case F_ALLOW_MIXED:
        *(m ? &m->extmap_allow_mixed : &c->sdp->extmap_allow_mixed) = true;
        break;
    default:
        *(m ? &m->end_of_candidates : &c->sdp->end_of_candidates) = true;
        break;
    }
    return CS_OK;
}

static int attr_direction(cs_sdp_ctx_t *c, cs_sdp_span_t v, int dir)
{
    (void)v;
    *(c->m ? &c->m->direction : &c->sdp->direction) = (cs_sdp_direction_t)dir;
    return CS_OK;
}

/* ---- session ------------------------------------------------------------- */

static int attr_group(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_t *s = c->sdp;
    cs_sdp_span_t sem, mid;
    if (!cs_sdp_next_word(&v, &sem))
        return FAIL(c, CS_EINVAL, "a=group without semantics");
    if (!cs_sdp_eq(sem, "BUNDLE") || s->has_bundle)
        return CS_OK; /* other groups, and further BUNDLE groups, are not used */
    s->has_bundle = true;
    while (cs_sdp_next_word(&v, &mid)) {
        if (!cs_sdp_is_token(mid))
            return FAIL(c, CS_EINVAL, "a=group:BUNDLE mid is not a token");
        if (s->n_bundle >= CS_SDP_MAX_MEDIA)
            return FAIL(c, CS_ELIMIT, "a=group:BUNDLE names more than %d mids",
                        CS_SDP_MAX_MEDIA);
        char *dst = s->bundle[s->n_bundle];
        int rc = put(c, dst, CS_SDP_MID_MAX, mid, "a=group:BUNDLE mid");
        if (rc)
            return rc;
        for (unsigned i = 0; i < s->n_bundle; i++)
            if (strcmp(s->bundle[i], dst) == 0)
                return FAIL(c, CS_EINVAL, "a=group:BUNDLE repeats a mid");
        s->n_bundle++;
    }
    return CS_OK;
}

static int attr_msid_semantic(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_t *s = c->sdp;
    cs_sdp_span_t sem, id;
    if (!cs_sdp_next_word(&v, &sem) || !cs_sdp_is_token(sem))
        return FAIL(c, CS_EINVAL, "a=msid-semantic without a semantic token");
    int rc = put(c, s->msid_semantic, sizeof s->msid_semantic, sem, "a=msid-semantic");
    memset(s->msid_semantic_ids, 0, sizeof s->msid_semantic_ids);
    /* The ids are kept re-joined by single spaces, as the writer emits them. */
    for (size_t used = 0; rc == CS_OK && cs_sdp_next_word(&v, &id);) {
        if (used + (used ? 1 : 0) + id.n >= sizeof s->msid_semantic_ids)
            return FAIL(c, CS_ETOOBIG, "a=msid-semantic ids are too long");
        if (used)
            s->msid_semantic_ids[used++] = ' ';
        memcpy(s->msid_semantic_ids + used, id.p, id.n);
        used += id.n;
    }
    return rc;
}

/* ---- ICE and DTLS ---------------------------------------------------------- */

static int attr_ice_cred(cs_sdp_ctx_t *c, cs_sdp_span_t v, int is_pwd)
{
    cs_sdp_transport_t *t = transport(c);
    const char *what = is_pwd ? "a=ice-pwd" : "a=ice-ufrag";
    if (!cs_sdp_is_ice_chars(v))
        return FAIL(c, CS_EINVAL, "%s is not made of ICE characters", what);
    return is_pwd ? put(c, t->ice_pwd, sizeof t->ice_pwd, v, what)
                  : put(c, t->ice_ufrag, sizeof t->ice_ufrag, v, what);
}

static int attr_ice_options(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_transport_t *t = transport(c);
    cs_sdp_span_t w;
    while (cs_sdp_next_word(&v, &w)) {
        if (cs_sdp_eq(w, "trickle"))
            t->ice_options |= CS_SDP_ICE_TRICKLE;
        else if (cs_sdp_eq(w, "ice2"))
            t->ice_options |= CS_SDP_ICE_ICE2;
        else if (cs_sdp_eq(w, "renomination"))
            t->ice_options |= CS_SDP_ICE_RENOMINATION;
    }
    return CS_OK;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "AB:CD:..." → bytes; false unless exactly pairs of hex digits joined by ':'. */
static bool parse_hex_colons(cs_sdp_span_t s, uint8_t *out, size_t max, size_t *n)
{
    if (s.n < 2 || (s.n + 1) % 3 != 0 || (s.n + 1) / 3 > max)
        return false;
    *n = (s.n + 1) / 3;
    for (size_t i = 0; i < *n; i++) {
        const char *p = s.p + 3 * i;
        int hi = hex_digit(p[0]), lo = hex_digit(p[1]);
        if (hi < 0 || lo < 0 || (i + 1 < *n && p[2] != ':'))
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static int attr_fingerprint(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_transport_t *t = transport(c);
    cs_sdp_span_t alg, hex;
    if (!cs_sdp_next_word(&v, &alg) || !cs_sdp_next_word(&v, &hex) || cs_sdp_skip_space(v).n)
        return FAIL(c, CS_EINVAL, "a=fingerprint needs a hash name and a value");
    cs_sdp_fingerprint_t fp = {0};
    size_t n = 0;
    if (!parse_hex_colons(hex, fp.value, sizeof fp.value, &n))
        return FAIL(c, CS_EINVAL, "a=fingerprint is not colon-separated hex");
    for (int h = CS_SDP_HASH_SHA1; h <= CS_SDP_HASH_SHA512; h++)
        if (cs_sdp_ieq(alg, cs_sdp_hash_name((cs_sdp_hash_t)h)))
            fp.hash = (cs_sdp_hash_t)h;
    if (fp.hash == CS_SDP_HASH_NONE)
        return CS_OK; /* md5, md2 or an unknown hash: unusable, not malformed */
    if (n != cs_sdp_hash_len(fp.hash))
        return FAIL(c, CS_EINVAL, "a=fingerprint has the wrong length for its hash");
    fp.len = (uint8_t)n;
    /* Keep the first, but prefer SHA-256, which every browser sends. */
    if (t->fingerprint.hash == CS_SDP_HASH_NONE ||
        (t->fingerprint.hash != CS_SDP_HASH_SHA256 && fp.hash == CS_SDP_HASH_SHA256))
        t->fingerprint = fp;
    return CS_OK;
}

static int attr_setup(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    for (int s = CS_SDP_SETUP_ACTPASS; s <= CS_SDP_SETUP_HOLDCONN; s++) {
        if (cs_sdp_eq(v, cs_sdp_setup_name((cs_sdp_setup_t)s))) {
            transport(c)->setup = (cs_sdp_setup_t)s;
            return CS_OK;
        }
    }
    return FAIL(c, CS_EINVAL, "a=setup is not actpass, active, passive or holdconn");
}

/* ---- section identity -------------------------------------------------------- */

static int attr_mid(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    if (c->m->mid[0])
        return FAIL(c, CS_EINVAL, "more than one a=mid in a section");
    if (!cs_sdp_is_token(v))
        return FAIL(c, CS_EINVAL, "a=mid is not a token");
    return put(c, c->m->mid, sizeof c->m->mid, v, "a=mid");
}

static int attr_msid(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t stream, track = {"", 0};
    if (m->msid_stream[0])
        return CS_OK; /* one stream per track is all JSEP needs */
    if (!cs_sdp_next_word(&v, &stream))
        return FAIL(c, CS_EINVAL, "a=msid without a stream id");
    cs_sdp_next_word(&v, &track);
    int rc = put(c, m->msid_stream, sizeof m->msid_stream, stream, "a=msid stream id");
    return rc ? rc : put(c, m->msid_track, sizeof m->msid_track, track, "a=msid track id");
}

static int attr_extmap(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t idw, uri, id;
    if (!cs_sdp_next_word(&v, &idw) || !cs_sdp_next_word(&v, &uri))
        return FAIL(c, CS_EINVAL, "a=extmap needs an id and a URI");
    bool has_dir = cs_sdp_split(&idw, '/', &id);
    uint32_t n;
    if (!cs_sdp_u32(id, 4351, &n) || n == 0 || (n > 255 && n < 4096))
        return FAIL(c, CS_EINVAL, "a=extmap id is not from 1 to 255");
    cs_sdp_extmap_t e = {.id = (uint16_t)n};
    if (has_dir) {
        for (int d = CS_SDP_DIR_SENDRECV; d <= CS_SDP_DIR_INACTIVE; d++)
            if (cs_sdp_eq(idw, cs_sdp_direction_name((cs_sdp_direction_t)d)))
                e.direction = (cs_sdp_direction_t)d;
        if (e.direction == CS_SDP_DIR_NONE)
            return FAIL(c, CS_EINVAL, "a=extmap direction is not a direction");
    }
    if (n > 255)
        return CS_OK; /* 4096-4351 are for negotiating ids this gateway never uses */
    if (!cs_sdp_is_word(uri))
        return FAIL(c, CS_EINVAL, "a=extmap URI is not one word");
    int rc = put(c, e.uri, sizeof e.uri, uri, "a=extmap URI");
    if (rc)
        return rc;
    for (unsigned i = 0; i < m->n_extmaps; i++)
        if (m->extmaps[i].id == e.id)
            return FAIL(c, CS_EINVAL, "a=extmap repeats an id");
    if (m->n_extmaps >= CS_SDP_MAX_EXTMAPS)
        return FAIL(c, CS_ELIMIT, "more than %d a=extmap in a section", CS_SDP_MAX_EXTMAPS);
    memcpy(&m->extmaps[m->n_extmaps++], &e, sizeof e);
    return CS_OK;
}

/* ---- codecs ------------------------------------------------------------- */

static bool rtp_section(const cs_sdp_media_t *m)
{
    return m->proto == CS_SDP_PROTO_UDP_TLS_RTP_SAVPF ||
           m->proto == CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF || m->proto == CS_SDP_PROTO_RTP_OTHER;
}

/* The codec named by the first word of v ("96"), or NULL with *rc set to an
 * error for a malformed number and to CS_OK for a type not on the m= line. */
static cs_sdp_codec_t *codec_of(cs_sdp_ctx_t *c, cs_sdp_span_t *v, const char *what, int *rc)
{
    cs_sdp_span_t w;
    uint32_t pt;
    *rc = CS_OK;
    if (!cs_sdp_next_word(v, &w) || !cs_sdp_u32(w, 127, &pt)) {
        *rc = FAIL(c, CS_EINVAL, "%s payload type is not a number from 0 to 127", what);
        return NULL;
    }
    return (cs_sdp_codec_t *)cs_sdp_codec_by_pt(c->m, pt);
}

static int attr_rtpmap(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    int rc;
    if (!rtp_section(c->m))
        return CS_OK;
    cs_sdp_codec_t *k = codec_of(c, &v, "a=rtpmap", &rc);
    if (!k)
        return rc;
    cs_sdp_span_t enc, name, clock, chans = {"", 0};
    if (!cs_sdp_next_word(&v, &enc) || cs_sdp_skip_space(v).n)
        return FAIL(c, CS_EINVAL, "a=rtpmap needs one encoding after the payload type");
    bool has_clock = cs_sdp_split(&enc, '/', &name);
    bool has_chans = cs_sdp_split(&enc, '/', &clock);
    if (has_chans)
        chans = enc;
    uint32_t hz, ch = 0;
    if (!has_clock || !cs_sdp_is_token(name) || !cs_sdp_u32(clock, UINT32_MAX, &hz) || hz == 0 ||
        (has_chans && (!cs_sdp_u32(chans, 255, &ch) || ch == 0)))
        return FAIL(c, CS_EINVAL, "a=rtpmap encoding is not name/clock[/channels]");
    if ((rc = put(c, k->name, sizeof k->name, name, "a=rtpmap encoding name")))
        return rc;
    k->clock = hz;
    k->channels = (uint8_t)ch;
    return CS_OK;
}

static int attr_fmtp(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    int rc;
    if (!rtp_section(c->m))
        return CS_OK;
    cs_sdp_codec_t *k = codec_of(c, &v, "a=fmtp", &rc);
    if (!k)
        return rc;
    if ((rc = put(c, k->fmtp, sizeof k->fmtp, cs_sdp_skip_space(v), "a=fmtp")))
        return rc;
    cs_sdp_fmtp_parse(k->fmtp, &k->params);
    return CS_OK;
}

static unsigned feedback_bit(cs_sdp_span_t type, cs_sdp_span_t param)
{
    if (cs_sdp_eq(type, "nack"))
        return !param.n ? CS_SDP_FB_NACK : cs_sdp_eq(param, "pli") ? CS_SDP_FB_NACK_PLI : 0;
    if (cs_sdp_eq(type, "ccm"))
        return cs_sdp_eq(param, "fir") ? CS_SDP_FB_CCM_FIR : 0;
    if (!param.n && cs_sdp_eq(type, "goog-remb"))
        return CS_SDP_FB_GOOG_REMB;
    if (!param.n && cs_sdp_eq(type, "transport-cc"))
        return CS_SDP_FB_TRANSPORT_CC;
    return 0;
}

static int attr_rtcp_fb(cs_sdp_ctx_t *c, cs_sdp_span_t v, int arg)
{
    (void)arg;
    cs_sdp_media_t *m = c->m;
    cs_sdp_span_t rest = v, first, type, param = {"", 0};
    if (!rtp_section(m))
        return CS_OK;
    bool all = cs_sdp_next_word(&rest, &first) && cs_sdp_eq(first, "*");
    cs_sdp_codec_t *k = NULL;
    int rc = CS_OK;
    if (all)
        v = rest;
    else if (!(k = codec_of(c, &v, "a=rtcp-fb", &rc)))
        return rc;
    if (!cs_sdp_next_word(&v, &type))
        return FAIL(c, CS_EINVAL, "a=rtcp-fb without a feedback type");
    cs_sdp_next_word(&v, &param);
    unsigned bit = feedback_bit(type, param);
    if (k)
        k->fb |= (uint16_t)bit;
    for (unsigned i = 0; all && i < m->n_codecs; i++)
        m->codecs[i].fb |= (uint16_t)bit;
    return CS_OK;
}

/* ---- the table ------------------------------------------------------------- */

static int attr_sctp(cs_sdp_ctx_t *c, cs_sdp_span_t v, int is_max_message_size)
{
    cs_sdp_media_t *m = c->m;
    uint64_t n;
    if (!cs_sdp_u64(v, &n) || (!is_max_message_size && n > 65535))
        return FAIL(c, CS_EINVAL, "%s is not a number%s",
                    is_max_message_size ? "a=max-message-size" : "a=sctp-port",
                    is_max_message_size ? "" : " from 0 to 65535");
    if (is_max_message_size) {
        m->has_max_message_size = true;
        m->max_message_size = n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
    } else {
        m->has_sctp_port = true;
        m->sctp_port = (uint16_t)n;
    }
    return CS_OK;
}

static const struct {
    const char *name;
    unsigned where;
    attr_fn fn;
    int arg;
} attrs[] = {
    {"group", AT_SESSION, attr_group, 0},
    {"msid-semantic", AT_SESSION, attr_msid_semantic, 0},
    {"ice-lite", AT_SESSION, attr_flag, F_ICE_LITE},
    {"ice-ufrag", AT_BOTH, attr_ice_cred, 0},
    {"ice-pwd", AT_BOTH, attr_ice_cred, 1},
    {"ice-options", AT_BOTH, attr_ice_options, 0},
    {"fingerprint", AT_BOTH, attr_fingerprint, 0},
    {"setup", AT_BOTH, attr_setup, 0},
    {"sendrecv", AT_BOTH, attr_direction, CS_SDP_DIR_SENDRECV},
    {"sendonly", AT_BOTH, attr_direction, CS_SDP_DIR_SENDONLY},
    {"recvonly", AT_BOTH, attr_direction, CS_SDP_DIR_RECVONLY},
    {"inactive", AT_BOTH, attr_direction, CS_SDP_DIR_INACTIVE},
    {"extmap-allow-mixed", AT_BOTH, attr_flag, F_ALLOW_MIXED},
    {"end-of-candidates", AT_BOTH, attr_flag, F_EOC},
    {"mid", AT_MEDIA, attr_mid, 0},
    {"rtcp-mux", AT_MEDIA, attr_flag, F_RTCP_MUX},
    {"rtcp-rsize", AT_MEDIA, attr_flag, F_RTCP_RSIZE},
    {"bundle-only", AT_MEDIA, attr_flag, F_BUNDLE_ONLY},
    {"msid", AT_MEDIA, attr_msid, 0},
    {"extmap", AT_MEDIA, attr_extmap, 0},
    {"rtpmap", AT_MEDIA, attr_rtpmap, 0},
    {"fmtp", AT_MEDIA, attr_fmtp, 0},
    {"rtcp-fb", AT_MEDIA, attr_rtcp_fb, 0},
    {"ssrc", AT_MEDIA, cs_sdp_attr_ssrc, 0},
    {"ssrc-group", AT_MEDIA, cs_sdp_attr_ssrc_group, 0},
    {"rid", AT_MEDIA, cs_sdp_attr_rid, 0},
    {"simulcast", AT_MEDIA, cs_sdp_attr_simulcast, 0},
    {"candidate", AT_MEDIA, cs_sdp_attr_candidate, 0},
    {"sctp-port", AT_MEDIA, attr_sctp, 0},
    {"max-message-size", AT_MEDIA, attr_sctp, 1},
};

int cs_sdp_attr(cs_sdp_ctx_t *c, cs_sdp_span_t name, cs_sdp_span_t value)
{
    unsigned level = c->m ? AT_MEDIA : AT_SESSION;
    for (size_t i = 0; i < CS_ARRAY_LEN(attrs); i++)
        if (cs_sdp_eq(name, attrs[i].name))
            return (attrs[i].where & level) ? attrs[i].fn(c, cs_sdp_skip_space(value), attrs[i].arg)
                                            : CS_OK;
    return CS_OK;
}
