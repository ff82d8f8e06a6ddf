/*
 * test_router.c — media/router, the SFU of one room, driven like the peer
 * layer drives it: real Chromium and Firefox offers (tests/unit/sdp/) or
 * small ones built here, answered with cs_sdp_answer and completed by
 * cs_router_member_negotiate; synthetic RTP and RTCP in; every packet the
 * router hands to send_rtp/send_rtcp captured and parsed.
 *
 * Covered: SSRC/payload type/mid rewriting and continuous sequence numbers,
 * assignment of tracks to sections (join order, inactive spares, stable
 * across renegotiation), on_tracks_changed, no echo to the publisher, NACK
 * answered with and without RTX, upstream NACKs, PLI forwarding and its
 * rate limit, keyframe gating, simulcast layer choice from REMB, SR/RR/SDES,
 * TWCC feedback, malformed input, limits, test loss hooks and stats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/router/router.h"
#include "media/rtcp/rtcp.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"
#include "tests/unit/sdp/fixture.h"

/* ---- capture ---------------------------------------------------------------------------- */

#define MAX_CAPS 8192

typedef struct {
    int to;                 /* member index given as member_user */
    bool rtcp;
    size_t len;
    uint8_t buf[1600];
} cap_t;

static cap_t *caps;
static size_t n_caps;
static int tracks_changed;

static void on_send(int to, bool rtcp, const uint8_t *buf, size_t len, size_t cap)
{
    assert_true(cap >= len + CS_ROUTER_TRAILER);
    assert_true(len <= sizeof caps[0].buf);
    if (n_caps == MAX_CAPS)
        return;
    cap_t *c = &caps[n_caps++];
    c->to = to;
    c->rtcp = rtcp;
    c->len = len;
    memcpy(c->buf, buf, len);
}

static void send_rtp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    on_send((int)(intptr_t)member, false, buf, len, cap);
}

static void send_rtcp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    on_send((int)(intptr_t)member, true, buf, len, cap);
}

static void changed(void *room)
{
    (void)room;
    tracks_changed++;
}

static const cs_router_callbacks_t callbacks = {send_rtp, send_rtcp, changed};

static void caps_clear(void)
{
    n_caps = 0;
}

/* The i-th captured RTP packet to member `to` (or NULL). */
static cap_t *nth_rtp(int to, size_t i)
{
    for (size_t k = 0; k < n_caps; k++)
        if (!caps[k].rtcp && caps[k].to == to && i-- == 0)
            return &caps[k];
    return NULL;
}

static size_t count_rtp(int to)
{
    size_t n = 0;
    for (size_t k = 0; k < n_caps; k++)
        n += !caps[k].rtcp && caps[k].to == to;
    return n;
}

static size_t count_rtp_ssrc(int to, uint32_t ssrc)
{
    size_t n = 0;
    for (size_t k = 0; k < n_caps; k++) {
        uint32_t s;
        if (!caps[k].rtcp && caps[k].to == to && cs_rtp_get_ssrc(caps[k].buf, caps[k].len, &s) == 0 &&
            s == ssrc)
            n++;
    }
    return n;
}

/* RTCP packets of this type (and FMT, or -1) sent to `to`; the first in *out. */
static size_t count_rtcp(int to, int type, int fmt, cs_rtcp_pkt_t *out, size_t skip)
{
    size_t n = 0;
    for (size_t k = 0; k < n_caps; k++) {
        if (!caps[k].rtcp || caps[k].to != to)
            continue;
        cs_rtcp_iter_t it;
        cs_rtcp_pkt_t p;
        cs_rtcp_iter_init(&it, caps[k].buf, caps[k].len);
        int rc;
        while ((rc = cs_rtcp_iter_next(&it, &p)) == 1)
            if (p.type == type && (fmt < 0 || p.count == fmt)) {
                if (out && n == skip)
                    *out = p;
                n++;
            }
        assert_int_equal(rc, 0);
    }
    return n;
}

/* ---- offers ------------------------------------------------------------------------------- */

static cs_sdp_t *offer, *answer;
static char *text;

static int setup(void **state)
{
    (void)state;
    offer = malloc(sizeof *offer);
    answer = malloc(sizeof *answer);
    text = malloc(CS_SDP_MAX_SIZE);
    caps = malloc(sizeof *caps * MAX_CAPS);
    return offer && answer && text && caps ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(offer);
    free(answer);
    free(text);
    free(caps);
    return 0;
}

/* One section of an offer built in code (Chromium's shape and ids). */
typedef struct {
    char kind;              /* 'a' or 'v' */
    const char *dir;        /* "sendrecv", "sendonly", "recvonly" */
    uint32_t ssrc, rtx;     /* announced SSRCs; 0: none */
    bool no_rtx;            /* no rtx codec at all */
    const char *rids;       /* "q;h;f": rid-based simulcast */
} sec_t;

#define SEC(k, d, ...) {.kind = (k), .dir = (d), __VA_ARGS__}

#define FP "34:78:C5:F3:67:C5:99:D4:92:79:50:47:1C:8C:17:8D:68:EC:D0:97:57:DF:1B:03:E0:17:89:06:3A:F5:02:8C"

static size_t put(char *out, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + at, CS_SDP_MAX_SIZE - at, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && at + (size_t)n < CS_SDP_MAX_SIZE);
    return at + (size_t)n;
}

static size_t build_offer(const sec_t *s, int n)
{
    size_t at = put(text, 0, "v=0\r\no=- 77 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE");
    for (int i = 0; i < n; i++)
        at = put(text, at, " %d", i);
    at = put(text, at, "\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS *\r\n");
    for (int i = 0; i < n; i++) {
        bool v = s[i].kind == 'v';
        at = put(text, at, "m=%s 9 UDP/TLS/RTP/SAVPF %s\r\nc=IN IP4 0.0.0.0\r\n",
                 v ? "video" : "audio", v ? (s[i].no_rtx ? "96" : "96 97") : "111");
        at = put(text, at,
                 "a=ice-ufrag:ttJp\r\na=ice-pwd:IRLW3oP6FFtrSWrGrBRVycwx\r\na=ice-options:trickle\r\n"
                 "a=fingerprint:sha-256 " FP "\r\na=setup:actpass\r\na=mid:%d\r\n", i);
        if (v)
            at = put(text, at,
                     "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
                     "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
                     "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
                     "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"
                     "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n");
        else
            at = put(text, at,
                     "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"
                     "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
                     "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
                     "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n");
        at = put(text, at, "a=%s\r\na=rtcp-mux\r\na=rtcp-rsize\r\n", s[i].dir);
        if (v) {
            at = put(text, at, "a=rtpmap:96 VP8/90000\r\na=rtcp-fb:96 goog-remb\r\n"
                               "a=rtcp-fb:96 transport-cc\r\na=rtcp-fb:96 ccm fir\r\n"
                               "a=rtcp-fb:96 nack\r\na=rtcp-fb:96 nack pli\r\n");
            if (!s[i].no_rtx)
                at = put(text, at, "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n");
        } else {
            at = put(text, at, "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n"
                               "a=fmtp:111 minptime=10;useinbandfec=1\r\n");
        }
        if (s[i].rids) {
            char rids[64];
            snprintf(rids, sizeof rids, "%s", s[i].rids);
            for (char *r = strtok(rids, ";"); r; r = strtok(NULL, ";"))
                at = put(text, at, "a=rid:%s send\r\n", r);
            at = put(text, at, "a=simulcast:send %s\r\n", s[i].rids);
        }
        if (s[i].ssrc && s[i].rtx)
            at = put(text, at, "a=ssrc-group:FID %u %u\r\na=ssrc:%u cname:x\r\na=ssrc:%u cname:x\r\n",
                     s[i].ssrc, s[i].rtx, s[i].ssrc, s[i].rtx);
        else if (s[i].ssrc)
            at = put(text, at, "a=ssrc:%u cname:x\r\n", s[i].ssrc);
    }
    return at;
}

static void parse_text(size_t len)
{
    cs_sdp_error_t err;
    if (cs_sdp_parse(text, len, offer, &err) != CS_OK)
        fail_msg("offer: %s", err.message);
}

static void parse_fixture(const char *name)
{
    cs_sdp_t *f = fixture_parse(name);
    memcpy(offer, f, sizeof *offer);
    free(f);
}

static cs_router_assignment_t assigned[CS_SDP_MAX_MEDIA];
static size_t n_assigned;

/* Answers `offer` and completes the answer with the router. */
static int negotiate_src(cs_router_t *r, cs_router_member_t *m, const cs_router_section_source_t *src,
                         size_t n_src)
{
    cs_sdp_local_t l = fixture_local();
    cs_sdp_error_t err;
    if (cs_sdp_answer(offer, &l, answer, &err) != CS_OK)
        fail_msg("answer: %s", err.message);
    int rc = cs_router_member_negotiate(r, m, offer, src, n_src, answer, assigned,
                                        CS_ARRAY_LEN(assigned), &n_assigned);
    if (rc == CS_OK) {
        /* What the router wrote must still be a valid description. */
        size_t len;
        assert_int_equal(cs_sdp_write(answer, text, CS_SDP_MAX_SIZE, &len, &err), CS_OK);
    }
    return rc;
}

static int negotiate(cs_router_t *r, cs_router_member_t *m)
{
    return negotiate_src(r, m, NULL, 0);
}

static int negotiate_fixture(cs_router_t *r, cs_router_member_t *m, const char *name)
{
    parse_fixture(name);
    return negotiate(r, m);
}

static int negotiate_built(cs_router_t *r, cs_router_member_t *m, const sec_t *s, int n)
{
    parse_text(build_offer(s, n));
    return negotiate(r, m);
}

static uint32_t answer_ssrc(unsigned section)
{
    assert_true(answer->media[section].n_ssrcs >= 1);
    return answer->media[section].ssrcs[0].ssrc;
}

static uint32_t answer_rtx_ssrc(unsigned section)
{
    assert_int_equal(answer->media[section].n_ssrc_groups, 1);
    return answer->media[section].ssrc_groups[0].ssrcs[1];
}

/* ---- packets ------------------------------------------------------------------------------ */

#define T0 INT64_C(10000000)

static uint8_t pkt[1600];

typedef struct {
    uint8_t mid_id;         /* 0: none */
    const char *mid;
    uint8_t rid_id;
    const char *rid;
    uint8_t twcc_id;
    uint16_t twcc;
    uint8_t level_id;
    uint8_t level;
} exts_t;

static size_t mk_rtp(uint32_t ssrc, uint8_t pt, uint16_t seq, uint32_t ts, const exts_t *x,
                     const uint8_t *payload, size_t plen)
{
    cs_rtp_header_t h = {.payload_type = pt, .seq = seq, .timestamp = ts, .ssrc = ssrc};
    cs_rtp_ext_t e[4];
    size_t n = 0;
    uint8_t tw[2];
    if (x && x->mid_id)
        e[n++] = (cs_rtp_ext_t){x->mid_id, (uint8_t)strlen(x->mid), (const uint8_t *)x->mid};
    if (x && x->rid_id)
        e[n++] = (cs_rtp_ext_t){x->rid_id, (uint8_t)strlen(x->rid), (const uint8_t *)x->rid};
    if (x && x->twcc_id) {
        cs_rtp_twcc_seq_encode(x->twcc, tw);
        e[n++] = (cs_rtp_ext_t){x->twcc_id, 2, tw};
    }
    if (x && x->level_id)
        e[n++] = (cs_rtp_ext_t){x->level_id, 1, &x->level};
    int len = cs_rtp_serialise(&h, e, n, payload, plen, pkt, sizeof pkt);
    assert_true(len > 0);
    return (size_t)len;
}

static const uint8_t opus[] = {0xfc, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};

/* VP8: the first packet of a frame (key or delta), or a continuation. */
static size_t vp8(uint8_t *out, size_t size, int kind, uint8_t fill)
{
    memset(out, fill, size);
    out[0] = kind == 2 ? 0x00 : 0x10;             /* S bit on the first packet */
    out[1] = kind == 0 ? 0x00 : 0x01;             /* P bit 0: keyframe */
    return size;
}

/* Opus from chromium-offer-av's microphone; the timestamp follows seq. */
static void audio_from(cs_router_t *r, cs_router_member_t *m, uint32_t ssrc, uint32_t n_seq,
                       int64_t now)
{
    uint16_t seq = (uint16_t)n_seq;
    exts_t x = {.mid_id = 4, .mid = "0", .level_id = 1, .level = 0x85, .twcc_id = 3, .twcc = seq};
    size_t n = mk_rtp(ssrc, 111, seq, n_seq * 960, &x, opus, sizeof opus);
    cs_router_on_rtp(r, m, pkt, n, now);
}

/* kind 0 keyframe, 1 delta, 2 continuation. */
static void video_from(cs_router_t *r, cs_router_member_t *m, uint32_t ssrc, uint16_t seq,
                       int kind, size_t size, int64_t now)
{
    uint8_t pl[1200];
    exts_t x = {.mid_id = 4, .mid = "1", .twcc_id = 3, .twcc = (uint16_t)(seq + 30000)};
    size_t n = mk_rtp(ssrc, 96, seq, (uint32_t)seq * 3000, &x, pl, vp8(pl, size, kind, 0x5a));
    cs_router_on_rtp(r, m, pkt, n, now);
}

static size_t rtcp_pli(uint8_t *out, uint32_t media)
{
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, 1500);
    cs_rtcp_fb_t ids = {0x1234, media};
    assert_true(cs_rtcp_pli_append(&b, &ids) > 0);
    return b.len;
}

static size_t rtcp_nack(uint8_t *out, uint32_t media, const uint16_t *seqs, size_t n)
{
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, 1500);
    cs_rtcp_fb_t ids = {0x1234, media};
    assert_true(cs_rtcp_nack_append(&b, &ids, seqs, n) > 0);
    return b.len;
}

static size_t rtcp_remb(uint8_t *out, uint64_t bps)
{
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, 1500);
    cs_rtcp_rr_t rr = {.ssrc = 0x1234};
    cs_rtcp_rr_append(&b, &rr);
    cs_rtcp_remb_t remb = {.sender_ssrc = 0x1234, .bitrate_bps = bps, .n_ssrcs = 0};
    assert_true(cs_rtcp_remb_append(&b, &remb) > 0);
    return b.len;
}

/* Chromium's SSRCs in chromium-offer-av.sdp. */
#define AV_AUDIO 1472532324u
#define AV_VIDEO 2010827999u
#define AV_RTX 1624661806u

static cs_router_t *room(const cs_router_config_t *cfg)
{
    int err;
    cs_router_t *r = cs_router_new(cfg, &callbacks, NULL, &err);
    assert_non_null(r);
    assert_int_equal(err, CS_OK);
    caps_clear();
    tracks_changed = 0;
    return r;
}

static cs_router_member_t *member(cs_router_t *r, const char *id, int index)
{
    int err;
    cs_router_member_t *m = cs_router_member_add(r, id, id, (void *)(intptr_t)index, &err);
    assert_non_null(m);
    assert_int_equal(err, CS_OK);
    return m;
}

/* ---- helpers over captured packets -------------------------------------------------------- */

static void parse_cap(const cap_t *c, cs_rtp_packet_t *p)
{
    assert_non_null(c);
    assert_int_equal(cs_rtp_parse(c->buf, c->len, p), CS_OK);
}

static bool ext_str(const cs_rtp_packet_t *p, uint8_t id, const char *want)
{
    cs_rtp_ext_t e;
    char s[CS_RTP_MID_MAX];
    return cs_rtp_ext_find(p, id, &e) == CS_OK && cs_rtp_ext_string(&e, s, sizeof s) == CS_OK &&
           !strcmp(s, want);
}

/* ---- the two-member room most tests start from ------------------------------------------------ */

typedef struct {
    cs_router_t *r;
    cs_router_member_t *a, *b;
    uint32_t b_audio, b_video, b_rtx;   /* what b receives alice's tracks as */
    uint32_t a_audio, a_video, a_rtx;   /* what a receives bob's tracks as */
} duo_t;

static void duo(duo_t *d, const cs_router_config_t *cfg)
{
    memset(d, 0, sizeof *d);
    d->r = room(cfg);
    d->a = member(d->r, "alice", 0);
    d->b = member(d->r, "bob", 1);
    assert_int_equal(negotiate_fixture(d->r, d->a, "chromium-offer-av.sdp"), CS_OK);
    assert_int_equal(tracks_changed, 1);
    assert_int_equal(n_assigned, 0);
    /* Nothing to send yet: the browser's sendrecv sections become recvonly. */
    assert_int_equal(answer->media[0].direction, CS_SDP_DIR_RECVONLY);
    assert_int_equal(answer->media[1].direction, CS_SDP_DIR_RECVONLY);
    assert_int_equal(answer->media[0].n_ssrcs, 0);

    assert_int_equal(negotiate_fixture(d->r, d->b, "chromium-offer-av.sdp"), CS_OK);
    assert_int_equal(tracks_changed, 2);
    assert_int_equal(n_assigned, 2);
    assert_string_equal(assigned[0].mid, "0");
    assert_string_equal(assigned[0].track.track_id, "alice:microphone");
    assert_string_equal(assigned[1].mid, "1");
    assert_string_equal(assigned[1].track.track_id, "alice:camera");
    assert_int_equal(assigned[1].track.kind, CS_ROUTER_VIDEO);
    assert_int_equal(answer->media[1].direction, CS_SDP_DIR_SENDRECV);
    assert_string_equal(answer->media[1].msid_stream, "alice");
    assert_string_equal(answer->media[1].msid_track, "camera");
    assert_string_equal(answer->media[1].ssrcs[0].cname, "consilium");
    d->b_audio = answer_ssrc(0);
    d->b_video = answer_ssrc(1);
    d->b_rtx = answer_rtx_ssrc(1);
    assert_int_equal(answer->media[1].ssrc_groups[0].ssrcs[0], d->b_video);

    assert_int_equal(negotiate_fixture(d->r, d->a, "chromium-offer-av.sdp"), CS_OK);
    assert_int_equal(tracks_changed, 2);            /* nothing published changed */
    assert_int_equal(n_assigned, 2);
    assert_string_equal(assigned[1].track.track_id, "bob:camera");
    d->a_audio = answer_ssrc(0);
    d->a_video = answer_ssrc(1);
    d->a_rtx = answer_rtx_ssrc(1);
    cs_router_member_set_connected(d->r, d->a, true);
    cs_router_member_set_connected(d->r, d->b, true);
}

/* A keyframe from alice so bob's video starts; returns the seq after it. */
static uint16_t start_video(duo_t *d, uint16_t seq, int64_t now)
{
    video_from(d->r, d->a, AV_VIDEO, seq, 0, 300, now);
    return (uint16_t)(seq + 1);
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_names_and_members(void **state)
{
    (void)state;
    cs_router_source_t s;
    assert_string_equal(cs_router_source_name(CS_ROUTER_SOURCE_SCREEN), "screen");
    assert_int_equal(cs_router_source_parse("camera", &s), CS_OK);
    assert_int_equal(s, CS_ROUTER_SOURCE_CAMERA);
    assert_int_equal(cs_router_source_parse("webcam", &s), CS_EINVAL);
    assert_string_equal(cs_router_kind_name(CS_ROUTER_AUDIO), "audio");

    int err;
    assert_null(cs_router_new(NULL, NULL, NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    cs_router_config_t bad = {.loss_in_percent = 101};
    assert_null(cs_router_new(&bad, &callbacks, NULL, &err));
    assert_int_equal(err, CS_EINVAL);

    cs_router_t *r = room(NULL);
    assert_null(cs_router_member_add(r, "", "x", NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    char longid[CS_ROUTER_ID_MAX + 1];
    memset(longid, 'a', sizeof longid - 1);
    longid[sizeof longid - 1] = '\0';
    assert_null(cs_router_member_add(r, longid, "x", NULL, &err));
    assert_int_equal(err, CS_EINVAL);
    char id[24];
    for (int i = 0; i < CS_ROUTER_MAX_MEMBERS; i++) {
        snprintf(id, sizeof id, "user %d", i);
        member(r, id, i);
    }
    assert_null(cs_router_member_add(r, "user 0", "x", NULL, &err));
    assert_int_equal(err, CS_EEXIST);
    assert_null(cs_router_member_add(r, "ninth", "x", NULL, &err));
    assert_int_equal(err, CS_ELIMIT);
    assert_int_equal(cs_router_member_count(r), CS_ROUTER_MAX_MEMBERS);
    cs_router_member_t *m = cs_router_member_find(r, "user 3");
    assert_non_null(m);
    cs_router_member_remove(r, m);
    assert_null(cs_router_member_find(r, "user 3"));
    assert_int_equal(cs_router_member_count(r), CS_ROUTER_MAX_MEMBERS - 1);
    assert_int_equal(tracks_changed, 0);            /* it published nothing */
    assert_non_null(member(r, "ninth", 9));
    cs_router_free(r);
    cs_router_free(NULL);
}

static void test_two_members_forward(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    /* Each one's camera was asked for a keyframe when the other connected. */
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t fb;
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, 0), 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &fb), CS_OK);
    assert_int_equal(fb.media_ssrc, AV_VIDEO);
    caps_clear();

    int64_t now = T0;
    for (uint16_t i = 0; i < 5; i++)
        audio_from(d.r, d.a, AV_AUDIO, 65533u + i, now += 20000);
    assert_int_equal(count_rtp(1), 5);
    assert_int_equal(count_rtp(0), 0);              /* never back to the publisher */
    cs_rtp_packet_t q, q0;
    parse_cap(nth_rtp(1, 0), &q0);
    for (size_t i = 0; i < 5; i++) {
        parse_cap(nth_rtp(1, i), &q);
        assert_int_equal(q.hdr.ssrc, d.b_audio);
        assert_int_equal(q.hdr.payload_type, 111);
        assert_int_equal(q.hdr.seq, (uint16_t)(q0.hdr.seq + i));
        assert_int_equal(q.hdr.timestamp, q0.hdr.timestamp + 960 * (uint32_t)i);
        assert_true(ext_str(&q, 4, "0"));
        cs_rtp_ext_t e;
        assert_int_equal(cs_rtp_ext_find(&q, 1, &e), CS_OK);     /* audio level copied */
        assert_int_equal(e.data[0], 0x85);
        assert_int_equal(cs_rtp_ext_find(&q, 2, &e), CS_OK);     /* abs-send-time stamped */
        assert_int_equal(e.len, 3);
        assert_int_equal(cs_rtp_ext_find(&q, 3, &e), CS_ENOTFOUND); /* no transport-cc */
        assert_int_equal(q.payload_len, sizeof opus);
        assert_memory_equal(q.payload, opus, sizeof opus);
    }

    /* Video: nothing before the first keyframe, then everything in order. */
    caps_clear();
    video_from(d.r, d.a, AV_VIDEO, 700, 1, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 701, 2, 400, now += 1000);
    assert_int_equal(count_rtp(1), 0);
    video_from(d.r, d.a, AV_VIDEO, 702, 0, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 703, 2, 400, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 704, 1, 400, now += 1000);
    assert_int_equal(count_rtp(1), 3);
    assert_int_equal(count_rtp(0), 0);
    parse_cap(nth_rtp(1, 0), &q0);
    assert_int_equal(q0.hdr.ssrc, d.b_video);
    assert_int_equal(q0.hdr.payload_type, 96);
    assert_true(ext_str(&q0, 4, "1"));
    for (size_t i = 1; i < 3; i++) {
        parse_cap(nth_rtp(1, i), &q);
        assert_int_equal(q.hdr.seq, (uint16_t)(q0.hdr.seq + i));
        assert_int_equal(q.hdr.timestamp - q0.hdr.timestamp, 3000 * (uint32_t)i);
    }
    /* And bob's audio reaches alice on her section's SSRC. */
    caps_clear();
    audio_from(d.r, d.b, AV_AUDIO, 9, now += 20000);
    assert_int_equal(count_rtp(0), 1);
    assert_int_equal(count_rtp(1), 0);
    parse_cap(nth_rtp(0, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.a_audio);

    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.rtp_in, 11);
    assert_int_equal(c.rtp_out, 9);
    assert_int_equal(c.dropped_malformed + c.dropped_unknown_ssrc, 0);
    cs_router_free(d.r);
}

/* Regression: a long-lived stream's "older than the segment" floor did not
 * move, so once the publisher's seq was half the sequence space past the
 * segment's first packet every packet was dropped for 32,768 packets, and the
 * next one jumped by as much (libsrtp then refused it as a replay). */
static void test_long_stream_crosses_half_the_sequence_space(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    uint32_t total = 70000;
    uint16_t last = 0;
    size_t got = 0;
    for (uint32_t i = 0; i < total; i++) {
        caps_clear();
        audio_from(d.r, d.a, AV_AUDIO, 1000 + i, now += 20000);
        if (count_rtp(1) != 1)
            continue;
        cs_rtp_packet_t q;
        parse_cap(nth_rtp(1, 0), &q);
        if (got)
            assert_int_equal(q.hdr.seq, (uint16_t)(last + 1));
        last = q.hdr.seq;
        got++;
        if (i % 500 == 0)
            cs_router_tick(d.r, now);
    }
    assert_int_equal(got, total);
    cs_router_free(d.r);
}

static void test_third_member_and_assignments(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    cs_router_member_t *c = member(d.r, "carol", 2);
    const sec_t rx[] = {SEC('a', "recvonly", .ssrc = 0), SEC('a', "recvonly", .ssrc = 0), SEC('v', "recvonly", .ssrc = 0),
                        SEC('v', "recvonly", .ssrc = 0), SEC('v', "recvonly", .ssrc = 0)};
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(tracks_changed, 2);            /* carol publishes nothing */
    assert_int_equal(n_assigned, 4);
    const char *want[] = {"alice:microphone", "bob:microphone", "alice:camera", "bob:camera"};
    for (int i = 0; i < 4; i++) {
        char mid[16];
        snprintf(mid, sizeof mid, "%d", i);
        assert_string_equal(assigned[i].mid, mid);
        assert_string_equal(assigned[i].track.track_id, want[i]);
        assert_int_equal(answer->media[i].direction, CS_SDP_DIR_SENDONLY);
    }
    /* A spare section: inactive, no SSRC. */
    assert_int_equal(answer->media[4].direction, CS_SDP_DIR_INACTIVE);
    assert_int_equal(answer->media[4].n_ssrcs, 0);
    /* Sections only we send on lose transport-cc (REMB instead). */
    assert_int_equal(cs_sdp_extmap_id(&answer->media[2], CS_SDP_EXT_TWCC), 0);
    assert_int_not_equal(cs_sdp_extmap_id(&answer->media[2], CS_SDP_EXT_ABS_SEND_TIME), 0);
    assert_int_equal(answer->media[2].codecs[0].fb & CS_SDP_FB_TRANSPORT_CC, 0);
    assert_true(answer->media[2].codecs[0].fb & CS_SDP_FB_GOOG_REMB);
    uint32_t ssrcs[4];
    for (int i = 0; i < 4; i++)
        ssrcs[i] = answer_ssrc((unsigned)i);
    assert_string_equal(answer->media[1].msid_stream, "bob");
    cs_router_member_set_connected(d.r, c, true);

    /* Alice's audio reaches bob and carol, each with their own SSRC. */
    caps_clear();
    int64_t now = T0;
    audio_from(d.r, d.a, AV_AUDIO, 50, now);
    assert_int_equal(count_rtp(0), 0);
    assert_int_equal(count_rtp_ssrc(1, d.b_audio), 1);
    assert_int_equal(count_rtp_ssrc(2, ssrcs[0]), 1);
    audio_from(d.r, d.b, AV_AUDIO, 50, now);
    assert_int_equal(count_rtp_ssrc(2, ssrcs[1]), 1);
    assert_int_equal(count_rtp(1), 1);

    /* Renegotiating the same offer changes nothing. */
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(answer_ssrc((unsigned)i), ssrcs[i]);
    assert_int_equal(tracks_changed, 2);

    /* Bob leaves: his sections go inactive, alice's keep their SSRCs. */
    cs_router_member_remove(d.r, d.b);
    assert_int_equal(tracks_changed, 3);
    assert_int_equal(cs_router_tracks(d.r, NULL, 0), 2);
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 2);
    assert_int_equal(answer_ssrc(0), ssrcs[0]);
    assert_int_equal(answer_ssrc(2), ssrcs[2]);
    assert_int_equal(answer->media[1].direction, CS_SDP_DIR_INACTIVE);
    assert_int_equal(answer->media[3].direction, CS_SDP_DIR_INACTIVE);

    /* Dave joins and publishes: the free sections take his tracks. */
    cs_router_member_t *dv = member(d.r, "dave@example.org", 3);
    assert_int_equal(negotiate_fixture(d.r, dv, "chromium-offer-av.sdp"), CS_OK);
    assert_int_equal(tracks_changed, 4);
    assert_int_equal(negotiate_built(d.r, c, rx, 5), CS_OK);
    assert_int_equal(n_assigned, 4);
    assert_string_equal(assigned[1].track.track_id, "dave@example.org:microphone");
    assert_string_equal(assigned[3].track.track_id, "dave@example.org:camera");
    assert_string_equal(answer->media[3].msid_stream, "dave_example.org");
    assert_int_equal(answer_ssrc(0), ssrcs[0]);

    /* Alice stops publishing (a recvonly offer): her tracks disappear. */
    parse_fixture("chromium-offer-recvonly.sdp");
    assert_int_equal(negotiate(d.r, d.a), CS_OK);
    assert_int_equal(tracks_changed, 5);
    cs_router_track_t tr[8];
    assert_int_equal(cs_router_tracks(d.r, tr, 8), 2);
    assert_string_equal(tr[0].track_id, "dave@example.org:microphone");
    assert_string_equal(tr[1].track_id, "dave@example.org:camera");
    caps_clear();
    audio_from(d.r, d.a, AV_AUDIO, 51, now);
    assert_int_equal(n_caps, 0);
    cs_router_counters_t k;
    cs_router_counters(d.r, &k);
    assert_int_equal(k.dropped_unknown_ssrc, 1);
    cs_router_free(d.r);
}

static void test_publish_limits_and_sources(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0);
    const sec_t four[] = {SEC('a', "sendonly", .ssrc = 1), SEC('v', "sendonly", .ssrc = 2, .rtx = 3), SEC('v', "sendonly", .ssrc = 4, .rtx = 5),
                          SEC('v', "sendonly", .ssrc = 6, .rtx = 7)};
    assert_int_equal(negotiate_built(r, a, four, 4), CS_ELIMIT);
    assert_int_equal(tracks_changed, 0);
    assert_int_equal(cs_router_tracks(r, NULL, 0), 0);
    const sec_t two_mics[] = {SEC('a', "sendonly", .ssrc = 1), SEC('a', "sendonly", .ssrc = 2)};
    assert_int_equal(negotiate_built(r, a, two_mics, 2), CS_ELIMIT);

    /* Signalling says mid 1 is the screen: the other video is the camera. */
    const sec_t three[] = {SEC('a', "sendonly", .ssrc = 1), SEC('v', "sendonly", .ssrc = 2, .rtx = 3), SEC('v', "sendonly", .ssrc = 4, .rtx = 5)};
    cs_router_section_source_t src[] = {{"1", CS_ROUTER_SOURCE_SCREEN}};
    parse_text(build_offer(three, 3));
    assert_int_equal(negotiate_src(r, a, src, 1), CS_OK);
    assert_int_equal(tracks_changed, 1);
    cs_router_track_t tr[4];
    assert_int_equal(cs_router_tracks(r, tr, 4), 3);
    assert_string_equal(tr[0].track_id, "alice:microphone");
    assert_string_equal(tr[1].track_id, "alice:camera");
    assert_string_equal(tr[2].track_id, "alice:screen");
    /* A microphone cannot be video; a source cannot be named twice. */
    cs_router_section_source_t bad[] = {{"1", CS_ROUTER_SOURCE_MICROPHONE}};
    assert_int_equal(negotiate_src(r, a, bad, 1), CS_EINVAL);
    cs_router_section_source_t twice[] = {{"1", CS_ROUTER_SOURCE_SCREEN},
                                          {"2", CS_ROUTER_SOURCE_SCREEN}};
    assert_int_equal(negotiate_src(r, a, twice, 2), CS_EINVAL);
    assert_int_equal(tracks_changed, 1);
    /* An answer that is not for this offer. */
    cs_sdp_local_t l = fixture_local();
    assert_int_equal(cs_sdp_answer(offer, &l, answer, NULL), CS_OK);
    answer->n_media--;
    assert_int_equal(cs_router_member_negotiate(r, a, offer, NULL, 0, answer, NULL, 0, NULL),
                     CS_EINVAL);
    /* The same three again: nothing changed. */
    assert_int_equal(negotiate_src(r, a, src, 1), CS_OK);
    assert_int_equal(tracks_changed, 1);
    /* Swapping what mid 1 carries is a different track. */
    cs_router_section_source_t swap[] = {{"1", CS_ROUTER_SOURCE_CAMERA},
                                         {"2", CS_ROUTER_SOURCE_SCREEN}};
    assert_int_equal(negotiate_src(r, a, swap, 2), CS_OK);
    assert_int_equal(tracks_changed, 2);
    cs_router_free(r);
}

static void test_nack_answered_with_rtx(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    int64_t now = T0;
    for (uint16_t s = 100; s < 106; s++)
        video_from(d.r, d.a, AV_VIDEO, s, s == 100 ? 0 : (s % 2 ? 1 : 2), 200 + s, now += 5000);
    assert_int_equal(count_rtp(1), 6);
    cs_rtp_packet_t orig, q;
    cap_t kept = *nth_rtp(1, 3);
    parse_cap(&kept, &orig);
    uint16_t bad = (uint16_t)(orig.hdr.seq + 40);   /* never sent */
    caps_clear();
    uint8_t fb[64];
    uint16_t seqs[] = {orig.hdr.seq, bad};
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, seqs, 2), now += 30000);
    assert_int_equal(count_rtp(1), 1);
    assert_int_equal(count_rtp(0), 0);
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.b_rtx);
    assert_int_equal(q.hdr.payload_type, 97);
    assert_int_equal(q.payload_len, orig.payload_len + 2);
    assert_int_equal(cs_rd16(q.payload), orig.hdr.seq);            /* the OSN */
    assert_memory_equal(q.payload + 2, orig.payload, orig.payload_len);
    /* Unwrapped, it is the packet first sent (but for a later abs-send-time). */
    uint8_t un[1600];
    int n = cs_rtp_rtx_unwrap(q.payload - q.header_len, q.header_len + q.payload_len, 96,
                              d.b_video, un, sizeof un);
    assert_int_equal(n, (int)kept.len);
    cs_rtp_packet_t u;
    assert_int_equal(cs_rtp_parse(un, (size_t)n, &u), CS_OK);
    assert_int_equal(u.hdr.seq, orig.hdr.seq);
    assert_int_equal(u.hdr.timestamp, orig.hdr.timestamp);
    assert_true(ext_str(&u, 4, "1"));
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.nacks_in, 2);
    assert_int_equal(c.retransmissions, 1);
    /* The next retransmission continues the RTX sequence. */
    caps_clear();
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_video, seqs, 1), now += 30000);
    cs_rtp_packet_t q2;
    parse_cap(nth_rtp(1, 0), &q2);
    assert_int_equal(q2.hdr.seq, (uint16_t)(q.hdr.seq + 1));
    cs_router_free(d.r);
}

static void test_nack_answered_without_rtx(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "chromium-offer-av.sdp"), CS_OK);
    const sec_t rx[] = {SEC('a', "recvonly", .ssrc = 0), SEC('v', "recvonly", .no_rtx = true)};
    assert_int_equal(negotiate_built(r, b, rx, 2), CS_OK);
    assert_int_equal(answer->media[1].n_ssrc_groups, 0);      /* no RTX announced */
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    int64_t now = T0;
    video_from(r, a, AV_VIDEO, 7, 0, 500, now);
    video_from(r, a, AV_VIDEO, 8, 2, 500, now);
    cap_t kept = *nth_rtp(1, 1);
    cs_rtp_packet_t orig;
    parse_cap(&kept, &orig);
    caps_clear();
    uint8_t fb[64];
    cs_router_on_rtcp(r, b, fb, rtcp_nack(fb, bv, &orig.hdr.seq, 1), now);
    assert_int_equal(count_rtp(1), 1);
    /* Same time, same packet: byte for byte. */
    assert_int_equal(nth_rtp(1, 0)->len, kept.len);
    assert_memory_equal(nth_rtp(1, 0)->buf, kept.buf, kept.len);
    cs_router_free(r);
}

static size_t rtx_from(uint32_t ssrc, uint16_t rtx_seq, uint16_t osn, uint32_t ts)
{
    uint8_t pl[300];
    vp8(pl + 2, 200, 2, 0x33);
    cs_wr16(pl, osn);
    exts_t x = {.mid_id = 4, .mid = "1"};
    return mk_rtp(ssrc, 97, rtx_seq, ts, &x, pl, 202);
}

static void test_upstream_nack(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    video_from(d.r, d.a, AV_VIDEO, 100, 0, 300, now);
    video_from(d.r, d.a, AV_VIDEO, 101, 2, 300, now += 1000);
    video_from(d.r, d.a, AV_VIDEO, 104, 1, 300, now += 1000);
    caps_clear();
    cs_router_tick(d.r, now += 1000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    uint16_t seqs[16];
    size_t n;
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 16, &n), CS_OK);
    assert_int_equal(ids.media_ssrc, AV_VIDEO);
    assert_int_equal(n, 2);
    assert_int_equal(seqs[0], 102);
    assert_int_equal(seqs[1], 103);
    assert_int_equal(count_rtcp(1, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);

    /* 102 comes back as RTX: bob gets it in its place; 103 is asked again. */
    caps_clear();
    size_t len = rtx_from(AV_RTX, 9, 102, 102 * 3000);
    cs_router_on_rtp(d.r, d.a, pkt, len, now += 1000);
    assert_int_equal(count_rtp(1), 1);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, d.b_video);
    assert_int_equal(q.payload_len, 200);
    cs_router_tick(d.r, now += 40000);             /* too soon to ask again */
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, seqs, 16, &n), CS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(seqs[0], 103);
    /* A few more tries, then given up after half a second. */
    for (int i = 0; i < 5; i++)
        cs_router_tick(d.r, now += 100000);
    caps_clear();
    for (int i = 0; i < 10; i++)
        cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, NULL, 0), 0);
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.nacks_out, 1 + 4);           /* 102 once, 103 four times */
    /* An RTX padding probe is only bandwidth: nothing forwarded. */
    caps_clear();
    cs_rtp_header_t h = {.payload_type = 97, .seq = 10, .ssrc = AV_RTX, .padding_len = 200};
    int plen = cs_rtp_serialise(&h, NULL, 0, NULL, 0, pkt, sizeof pkt);
    cs_router_on_rtp(d.r, d.a, pkt, (size_t)plen, now);
    assert_int_equal(count_rtp(1), 0);
    cs_router_free(d.r);
}

static void test_pli_forwarded_and_rate_limited(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    start_video(&d, 1, now);
    caps_clear();
    uint8_t fb[64];
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, d.b_video), now += 10000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, 0), 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    assert_int_equal(ids.media_ssrc, AV_VIDEO);
    /* Within the interval: remembered, not sent. */
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, d.b_video), now += 100000);
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 1);
    cs_router_tick(d.r, now += 310000);             /* 520 ms after the first */
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 2);
    cs_router_tick(d.r, now += 600000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 2);
    /* A FIR is passed on as a PLI too; a PLI for an unknown SSRC is not. */
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, fb, sizeof fb);
    cs_rtcp_fir_t fir = {.sender_ssrc = 5, .n = 1, .entries = {{d.b_video, 1}}};
    cs_rtcp_fir_append(&b, &fir);
    cs_router_on_rtcp(d.r, d.b, fb, b.len, now += 10000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 3);
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_pli(fb, 42), now += 600000);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 3);
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now), 2);
    assert_int_equal(st[1].down.keyframe_requests, 3);
    assert_true(st[0].up.keyframe_requests >= 3);
    cs_router_free(d.r);
}

static void test_keyframe_gating_on_reconnect(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    uint16_t s = start_video(&d, 1, now);
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    assert_int_equal(count_rtp(1), 2);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 1), &q);
    uint16_t last = q.hdr.seq;
    cs_router_member_set_connected(d.r, d.b, false);
    caps_clear();
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    audio_from(d.r, d.a, AV_AUDIO, 1, now);
    cs_router_tick(d.r, now += 2000000);
    for (size_t k = 0; k < n_caps; k++)
        assert_int_not_equal(caps[k].to, 1);        /* nothing to a member that is down */
    caps_clear();
    cs_router_member_set_connected(d.r, d.b, true);
    assert_int_equal(count_rtcp(0, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0), 1);
    video_from(d.r, d.a, AV_VIDEO, s++, 1, 300, now += 1000);
    assert_int_equal(count_rtp(1), 0);
    video_from(d.r, d.a, AV_VIDEO, s++, 0, 300, now += 1000);
    assert_int_equal(count_rtp(1), 1);
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.seq, (uint16_t)(last + 1));  /* no gap for the decoder */
    cs_router_free(d.r);
}

static const cs_rtcp_sr_t *find_sr(int to, uint32_t ssrc, cs_rtcp_sr_t *sr)
{
    cs_rtcp_pkt_t p;
    size_t n = count_rtcp(to, CS_RTCP_SR, -1, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        count_rtcp(to, CS_RTCP_SR, -1, &p, i);
        assert_int_equal(cs_rtcp_sr_parse(&p, sr), CS_OK);
        if (sr->ssrc == ssrc)
            return sr;
    }
    return NULL;
}

static void test_reports(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    for (uint32_t i = 0; i < 10; i++)
        audio_from(d.r, d.a, AV_AUDIO, 200 + i, now += 20000);
    cs_rtp_packet_t last;
    parse_cap(nth_rtp(1, 9), &last);
    start_video(&d, 1, now);
    video_from(d.r, d.a, AV_VIDEO, 2, 1, 300, now);
    caps_clear();
    cs_router_tick(d.r, now += 1000);

    /* To bob, who receives: an SR per stream, SDES; no RR (he sends nothing). */
    cs_rtcp_sr_t sr;
    assert_int_equal(count_rtcp(1, CS_RTCP_SR, -1, NULL, 0), 2);
    assert_non_null(find_sr(1, d.b_audio, &sr));
    assert_int_equal(sr.packet_count, 10);
    assert_int_equal(sr.octet_count, 10 * sizeof opus);
    assert_int_equal(sr.rtp_ts, last.hdr.timestamp + 48);      /* 1 ms later at 48 kHz */
    uint64_t sr_ntp = sr.ntp;
    assert_non_null(find_sr(1, d.b_video, &sr));
    assert_int_equal(sr.packet_count, 2);
    assert_int_equal(sr.octet_count, 600);
    assert_int_equal(count_rtcp(1, CS_RTCP_RR, -1, NULL, 0), 0);
    cs_rtcp_pkt_t p;
    cs_rtcp_sdes_t sdes;
    assert_int_equal(count_rtcp(1, CS_RTCP_SDES, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_sdes_parse(&p, &sdes), CS_OK);
    assert_int_equal(sdes.n_chunks, 2);
    assert_memory_equal(sdes.chunks[0].cname, "consilium", 9);

    /* To alice, who publishes: report blocks on her two streams. */
    cs_rtcp_rr_t rr;
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_OK);
    assert_int_equal(rr.n_reports, 2);
    assert_int_equal(rr.reports[0].ssrc, AV_AUDIO);
    assert_int_equal(rr.reports[0].ext_highest_seq, 209);
    assert_int_equal(rr.reports[0].cumulative_lost, 0);
    assert_int_equal(rr.reports[1].ssrc, AV_VIDEO);
    assert_int_equal(rr.reports[0].lsr, 0);

    /* Bob's RR on our SR: 10 ms held, back 60 ms after: RTT 50 ms. */
    uint8_t buf[256];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, buf, sizeof buf);
    cs_rtcp_rr_t back = {.ssrc = 77, .n_reports = 1};
    back.reports[0] = (cs_rtcp_report_block_t){.ssrc = d.b_audio, .fraction_lost = 64,
                                               .jitter = 480, .lsr = cs_rtcp_ntp_compact(sr_ntp),
                                               .dlsr = cs_rtcp_dlsr_from_us(10000)};
    cs_rtcp_rr_append(&b, &back);
    cs_router_on_rtcp(d.r, d.b, buf, b.len, now + 60000);
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now + 60000), 2);
    assert_true(st[1].down.rtt_ms > 49 && st[1].down.rtt_ms < 51);
    assert_true(st[1].up.rtt_ms > 49 && st[1].up.rtt_ms < 51);
    assert_true(st[1].down.loss_percent == 25.0);
    assert_true(st[1].down.jitter_ms == 10.0);
    assert_true(st[0].down.rtt_ms == -1 && st[0].down.loss_percent == -1);

    /* Alice's SR: the next RR to her carries its LSR and the delay since. */
    cs_rtcp_builder_init(&b, buf, sizeof buf);
    cs_rtcp_sr_t asr = {.ssrc = AV_AUDIO, .ntp = 0xE1234567ABCD0000ull, .rtp_ts = 5};
    cs_rtcp_sr_append(&b, &asr);
    cs_router_on_rtcp(d.r, d.a, buf, b.len, now += 100000);
    caps_clear();
    cs_router_tick(d.r, now += 500000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, NULL, 0), 0);   /* once a second */
    cs_router_tick(d.r, now += 500000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RR, -1, &p, 0), 1);
    assert_int_equal(cs_rtcp_rr_parse(&p, &rr), CS_OK);
    assert_int_equal(rr.reports[0].lsr, cs_rtcp_ntp_compact(asr.ntp));
    assert_int_equal(rr.reports[0].dlsr, cs_rtcp_dlsr_from_us(1000000));
    cs_router_free(d.r);
}

static void test_twcc_feedback(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    int64_t now = T0;
    caps_clear();
    for (uint32_t s = 1; s <= 10; s++, now += 20000)
        if (s != 5)
            audio_from(d.r, d.a, AV_AUDIO, s, now);
    cs_router_tick(d.r, now);
    cs_rtcp_pkt_t p;
    cs_rtcp_twcc_t h;
    cs_rtcp_twcc_pkt_t pk[32];
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, &p, 0), 1);
    assert_int_equal(count_rtcp(1, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, NULL, 0), 0);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, 32), CS_OK);
    assert_int_equal(h.base_seq, 1);
    assert_int_equal(h.status_count, 10);
    assert_int_equal(h.fb_count, 0);
    assert_int_equal(h.media_ssrc, AV_AUDIO);
    for (int i = 0; i < 10; i++)
        assert_int_equal(pk[i].received, i != 4);
    assert_int_equal(pk[1].delta_us, 20000);
    assert_int_equal(pk[5].delta_us, 40000);
    int64_t first = (int64_t)h.reference_time * 64000 + pk[0].delta_us;
    assert_true(first <= T0 - T0 + 64000);          /* times since the room's first packet */
    caps_clear();
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, NULL, 0), 0);
    audio_from(d.r, d.a, AV_AUDIO, 11, now);
    audio_from(d.r, d.a, AV_AUDIO, 4, now);         /* reported lost already: ignored */
    cs_router_tick(d.r, now += 100000);
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_TWCC, &p, 0), 1);
    assert_int_equal(cs_rtcp_twcc_parse(&p, &h, pk, 32), CS_OK);
    assert_int_equal(h.base_seq, 11);
    assert_int_equal(h.status_count, 1);
    assert_int_equal(h.fb_count, 1);
    cs_router_free(d.r);
}

static void test_malformed_input(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    cs_router_counters_t c0;
    cs_router_counters(d.r, &c0);
    int64_t now = T0;
    uint8_t junk[1600] = {0x80, 0x60, 0x00};
    cs_router_on_rtp(d.r, d.a, junk, 3, now);                   /* too short */
    junk[0] = 0x40;
    cs_router_on_rtp(d.r, d.a, junk, 12, now);                  /* version 1 */
    junk[0] = 0x80;
    cs_router_on_rtp(d.r, d.a, junk, sizeof junk, now);         /* larger than relayed */
    size_t n = mk_rtp(99, 111, 1, 1, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* unknown SSRC, no mid */
    n = mk_rtp(AV_AUDIO, 63, 1, 1, NULL, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* payload type not answered */
    exts_t x = {.mid_id = 4, .mid = "7"};
    n = mk_rtp(98, 111, 1, 1, &x, opus, sizeof opus);
    cs_router_on_rtp(d.r, d.a, pkt, n, now);                    /* unknown mid */
    static const uint8_t bad_rtcp[][16] = {
        {0x81, 0xc9, 0x00, 0x09, 0, 0, 0, 1},                   /* length past the end */
        {0x81, 0xc9, 0x00, 0x01, 0, 0, 0, 1},                   /* RR without its block */
        {0x81, 0xce, 0x00, 0x01, 0, 0, 0, 1},                   /* PLI without media SSRC */
        {0x8f, 0xce, 0x00, 0x03, 0, 0, 0, 1, 0, 0, 0, 0, 'R', 'E', 'M', 'B'}, /* REMB cut short */
        {0x81, 0xcd, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0, 2},       /* NACK without FCI */
    };
    static const size_t bad_len[] = {8, 8, 8, 16, 12};
    for (size_t i = 0; i < CS_ARRAY_LEN(bad_rtcp); i++)
        cs_router_on_rtcp(d.r, d.b, bad_rtcp[i], bad_len[i], now);
    cs_router_on_rtcp(d.r, d.b, bad_rtcp[0], 0, now);
    /* Not a member of this room: ignored. */
    cs_router_t *other = room(NULL);
    cs_router_member_t *stranger = member(other, "stranger", 5);
    cs_router_on_rtp(d.r, stranger, pkt, n, now);
    cs_router_on_rtcp(d.r, stranger, bad_rtcp[1], 8, now);
    cs_router_on_rtp(d.r, NULL, pkt, n, now);
    cs_router_free(other);
    assert_int_equal(n_caps, 0);
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    assert_int_equal(c.dropped_malformed, 4 + 6);
    assert_int_equal(c.dropped_unknown_ssrc, 2);
    assert_int_equal(c.rtp_out + c.rtcp_out, c0.rtp_out + c0.rtcp_out);
    cs_router_free(d.r);
}

/* 200 Opus packets from alice; the indexes bob received into got. */
static size_t loss_run(const cs_router_config_t *cfg, uint32_t *got, uint64_t *dropped)
{
    duo_t d;
    duo(&d, cfg);
    caps_clear();
    int64_t now = T0;
    for (uint32_t i = 0; i < 200; i++)
        audio_from(d.r, d.a, AV_AUDIO, 1000 + i, now += 20000);
    size_t n = count_rtp(1);
    cs_rtp_packet_t q0, q;
    for (size_t i = 0; i < n; i++) {
        parse_cap(nth_rtp(1, i), &q);
        if (i == 0)
            q0 = q;
        got[i] = (q.hdr.timestamp - q0.hdr.timestamp) / 960;
    }
    cs_router_counters_t c;
    cs_router_counters(d.r, &c);
    *dropped = c.dropped_test_loss;
    assert_int_equal(c.rtp_out + c.dropped_test_loss, cfg->loss_in_percent ? n + c.dropped_test_loss : 200);
    if (cfg->loss_out_percent) {
        /* A gap bob sees is repaired on NACK: retransmissions are never dropped. */
        parse_cap(nth_rtp(1, 0), &q0);
        uint16_t missing = 0;
        for (size_t i = 1; i < n && !missing; i++) {
            parse_cap(nth_rtp(1, i), &q);
            if (q.hdr.seq != (uint16_t)(q0.hdr.seq + i))
                missing = (uint16_t)(q0.hdr.seq + i);
        }
        assert_int_not_equal(missing, 0);
        uint8_t fb[64];
        caps_clear();
        cs_router_on_rtcp(d.r, d.b, fb, rtcp_nack(fb, d.b_audio, &missing, 1), now);
        assert_int_equal(count_rtp(1), 1);
        parse_cap(nth_rtp(1, 0), &q);
        assert_int_equal(q.hdr.seq, missing);
    }
    cs_router_free(d.r);
    return n;
}

static void test_loss_hooks(void **state)
{
    (void)state;
    uint32_t a[200], b[200];
    uint64_t da, db;
    cs_router_config_t in = {.loss_in_percent = 30, .loss_seed = 7};
    size_t na = loss_run(&in, a, &da), nb = loss_run(&in, b, &db);
    assert_int_equal(na, nb);                       /* the same seed, the same losses */
    assert_int_equal(da, db);
    assert_memory_equal(a, b, na * sizeof a[0]);
    assert_int_equal(na + da, 200);
    assert_true(da >= 30 && da <= 90);
    in.loss_seed = 8;
    loss_run(&in, b, &db);
    assert_true(db >= 30 && db <= 90);
    cs_router_config_t out = {.loss_out_percent = 20, .loss_seed = 3};
    na = loss_run(&out, a, &da);
    assert_int_equal(na + da, 200);
    assert_true(da >= 15 && da <= 70);
    cs_router_config_t none = {0};
    assert_int_equal(loss_run(&none, a, &da), 200);
    assert_int_equal(da, 0);
}

static void test_stats(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    int64_t now = T0;
    cs_router_member_stats_t st[2];
    assert_int_equal(cs_router_stats(d.r, st, 2, now), 2);
    assert_string_equal(st[0].member_id, "alice");
    assert_true(st[0].up.loss_percent == -1 && st[0].available_kbps == -1);
    size_t len = 0, out_bytes = 0;
    for (uint32_t s = 1000; s < 1100; s++) {
        now += 10000;
        if (s >= 1010 && s < 1020)
            continue;
        audio_from(d.r, d.a, AV_AUDIO, s, now);
        len = mk_rtp(AV_AUDIO, 111, 0, 0, &(exts_t){.mid_id = 4, .mid = "0", .level_id = 1,
                                                     .level = 0x85, .twcc_id = 3},
                     opus, sizeof opus);
    }
    for (size_t i = 0; i < count_rtp(1); i++)
        out_bytes += nth_rtp(1, i)->len;
    uint8_t fb[64];
    cs_router_on_rtcp(d.r, d.b, fb, rtcp_remb(fb, 1500000), now);
    assert_int_equal(cs_router_stats(d.r, st, 2, T0 + 1000000), 2);
    /* 10 lost of the 99 expected after the first (probation) packet. */
    assert_true(st[0].up.loss_percent > 10.09 && st[0].up.loss_percent < 10.11);
    assert_int_equal(st[0].up.packets, 90);
    assert_int_equal(st[0].up.bytes, 90 * len);
    assert_true(st[0].up.kbps > 90.0 * len * 8 / 1000 - 0.001 &&
                st[0].up.kbps < 90.0 * len * 8 / 1000 + 0.001);
    assert_true(st[0].up.jitter_ms >= 0);
    assert_int_equal(st[1].down.packets, 90);
    assert_true(st[1].down.kbps > out_bytes * 8.0 / 1000 - 0.001 &&
                st[1].down.kbps < out_bytes * 8.0 / 1000 + 0.001);
    assert_true(st[1].available_kbps == 1500);
    assert_true(st[1].up.loss_percent == -1);       /* bob sent nothing */
    /* A new interval: nothing arrived. */
    assert_int_equal(cs_router_stats(d.r, st, 1, T0 + 2000000), 2);
    assert_true(st[0].up.kbps == 0 && st[0].up.loss_percent == -1);
    cs_router_free(d.r);
}

static void test_firefox_to_chromium(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "firefox-offer-av.sdp"), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    assert_int_equal(n_assigned, 2);
    uint32_t ba = answer_ssrc(0), bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    exts_t x = {.mid_id = 3, .mid = "0"};
    size_t n = mk_rtp(857962675u, 109, 1, 0, &x, opus, sizeof opus);
    cs_router_on_rtp(r, a, pkt, n, T0);
    uint8_t pl[100];
    x.mid = "1";
    n = mk_rtp(2294343916u, 120, 1, 0, &x, pl, vp8(pl, sizeof pl, 0, 1));
    cs_router_on_rtp(r, a, pkt, n, T0);
    assert_int_equal(count_rtp(1), 2);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.ssrc, ba);
    assert_int_equal(q.hdr.payload_type, 111);       /* Firefox's 109 as Chromium's 111 */
    assert_true(ext_str(&q, 4, "0"));
    parse_cap(nth_rtp(1, 1), &q);
    assert_int_equal(q.hdr.ssrc, bv);
    assert_int_equal(q.hdr.payload_type, 96);        /* 120 as 96 */
    cs_router_free(r);
}

/* ---- simulcast ------------------------------------------------------------------------------- */

#define SIM_Q 1001u
#define SIM_H 1002u
#define SIM_F 1003u
#define SIM_AUDIO 555u

typedef struct {
    cs_router_t *r;
    cs_router_member_t *a, *b;
    uint32_t bv, ba;
    int64_t now;
    uint32_t n;
    uint16_t seq[3];
} sim_t;

static const size_t sim_size[3] = {200, 500, 1100};

/* ms of 50 frames/s on all three layers (keyframes every kf_every frames)
 * and alice's audio, ticking every 20 ms. */
static void sim_feed(sim_t *s, int ms, unsigned kf_every)
{
    static const uint32_t ssrc[3] = {SIM_Q, SIM_H, SIM_F};
    static const char *const rid[3] = {"q", "h", "f"};
    for (int t = 0; t < ms; t += 20) {
        s->now += 20000;
        for (int l = 0; l < 3; l++) {
            uint8_t pl[1200];
            exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = rid[l]};
            size_t n = mk_rtp(ssrc[l], 96, s->seq[l]++, s->n * 1800, &x, pl,
                              vp8(pl, sim_size[l], s->n % kf_every ? 1 : 0, (uint8_t)l));
            cs_router_on_rtp(s->r, s->a, pkt, n, s->now);
        }
        audio_from(s->r, s->a, SIM_AUDIO, s->n, s->now);
        s->n++;
        cs_router_tick(s->r, s->now);
    }
}

/* Bob's video packets (by payload size: the layer), all in sequence. */
static size_t sim_video(const sim_t *s, size_t *per_layer)
{
    size_t n = 0;
    cs_rtp_packet_t q;
    uint16_t prev = 0;
    per_layer[0] = per_layer[1] = per_layer[2] = 0;
    for (size_t k = 0; k < n_caps; k++) {
        if (caps[k].rtcp || caps[k].to != 1)
            continue;
        parse_cap(&caps[k], &q);
        if (q.hdr.ssrc != s->bv)
            continue;
        for (int l = 0; l < 3; l++)
            per_layer[l] += q.payload_len == sim_size[l];
        if (n++)
            assert_int_equal(q.hdr.seq, (uint16_t)(prev + 1));
        prev = q.hdr.seq;
    }
    return n;
}

static uint32_t last_pli(int to)
{
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    size_t n = count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, NULL, 0);
    if (!n)
        return 0;
    count_rtcp(to, CS_RTCP_PSFB, CS_RTCP_FMT_PLI, &p, n - 1);
    assert_int_equal(cs_rtcp_pli_parse(&p, &ids), CS_OK);
    return ids.media_ssrc;
}

static void test_simulcast_layers(void **state)
{
    (void)state;
    sim_t s = {.now = T0};
    s.r = room(NULL);
    s.a = member(s.r, "alice", 0);
    s.b = member(s.r, "bob", 1);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = SIM_AUDIO),
                         SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(s.r, s.a, pub, 2), CS_OK);
    assert_int_equal(answer->media[1].sim_recv.n_streams, 3);
    assert_int_not_equal(cs_sdp_extmap_id(&answer->media[1], CS_SDP_EXT_TWCC), 0);
    assert_int_equal(negotiate_fixture(s.r, s.b, "chromium-offer-recvonly.sdp"), CS_OK);
    s.ba = answer_ssrc(0);
    s.bv = answer_ssrc(1);
    cs_router_member_set_connected(s.r, s.a, true);
    cs_router_member_set_connected(s.r, s.b, true);
    caps_clear();

    /* No REMB yet: the middle layer, from its first keyframe. */
    size_t per[3];
    sim_feed(&s, 1600, 25);
    assert_int_equal(sim_video(&s, per), 80);
    assert_int_equal(per[1], 80);
    assert_int_equal(last_pli(0), SIM_H);           /* asked for when its SSRC showed */

    /* REMB that fits only the low layer: PLI on it, switch at its keyframe. */
    uint8_t fb[64];
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 150000), s.now);
    assert_int_equal(last_pli(0), SIM_Q);
    sim_feed(&s, 600, 25);
    size_t n = sim_video(&s, per);
    assert_int_equal(n, 30);
    assert_int_equal(per[1], 20);                   /* until the low layer's keyframe */
    assert_int_equal(per[0], 10);
    caps_clear();
    sim_feed(&s, 200, 25);
    assert_int_equal(sim_video(&s, per), 10);
    assert_int_equal(per[0], 10);

    /* REMB below any layer: no video, audio goes on. */
    caps_clear();
    cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 20000), s.now);
    sim_feed(&s, 1000, 25);
    assert_int_equal(sim_video(&s, per), 0);
    assert_int_equal(count_rtp_ssrc(1, s.ba), 50);

    /* REMB plenty: up only after it held for 2 s, then the top layer. */
    caps_clear();
    for (int i = 0; i < 2; i++) {
        cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 2000000), s.now);
        sim_feed(&s, 900, 25);
    }
    assert_int_equal(sim_video(&s, per), 0);
    for (int i = 0; i < 3; i++) {
        cs_router_on_rtcp(s.r, s.b, fb, rtcp_remb(fb, 2000000), s.now);
        sim_feed(&s, 500, 25);
    }
    assert_int_equal(last_pli(0), SIM_F);
    n = sim_video(&s, per);
    assert_true(n > 0 && per[2] == n);
    cs_router_member_stats_t st[2];
    cs_router_stats(s.r, st, 2, s.now);
    assert_true(st[1].available_kbps == 2000);
    cs_router_free(s.r);
}

static void test_simulcast_rtx_by_repaired_rid(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    const sec_t pub[] = {SEC('a', "sendrecv", .ssrc = SIM_AUDIO),
                         SEC('v', "sendonly", .rids = "q;h;f")};
    assert_int_equal(negotiate_built(r, a, pub, 2), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    int64_t now = T0;
    uint8_t pl[300];
    exts_t x = {.mid_id = 4, .mid = "1", .rid_id = 10, .rid = "h"};
    static const uint16_t seqs[] = {1, 2, 4};
    for (size_t i = 0; i < 3; i++) {
        size_t n = mk_rtp(SIM_H, 96, seqs[i], seqs[i] * 3000u, &x, pl, vp8(pl, 100, i ? 1 : 0, 0));
        cs_router_on_rtp(r, a, pkt, n, now += 1000);
    }
    assert_int_equal(count_rtp_ssrc(1, bv), 3);       /* the middle layer, learned by rid */
    caps_clear();
    cs_router_tick(r, now += 1000);
    cs_rtcp_pkt_t p;
    cs_rtcp_fb_t ids;
    uint16_t nacked[8];
    size_t n_nacked;
    assert_int_equal(count_rtcp(0, CS_RTCP_RTPFB, CS_RTCP_FMT_NACK, &p, 0), 1);
    assert_int_equal(cs_rtcp_nack_parse(&p, &ids, nacked, 8, &n_nacked), CS_OK);
    assert_int_equal(ids.media_ssrc, SIM_H);
    assert_int_equal(n_nacked, 1);
    assert_int_equal(nacked[0], 3);
    /* Its RTX stream, never announced, is known by repaired-rid. */
    caps_clear();
    uint8_t rtx[300];
    cs_wr16(rtx, 3);
    vp8(rtx + 2, 100, 2, 0x44);
    exts_t rx = {.mid_id = 4, .mid = "1", .rid_id = 11, .rid = "h"};
    size_t n = mk_rtp(6002, 97, 77, 3 * 3000, &rx, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, now += 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 1);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.payload_len, 100);
    assert_int_equal(q.payload[2], 0x44);
    /* Once known, without extensions; a repeat of what arrived is dropped. */
    cs_wr16(rtx, 4);
    n = mk_rtp(6002, 97, 78, 4 * 3000, NULL, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, now += 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 1);
    cs_router_member_stats_t st[2];
    cs_router_stats(r, st, 2, now);
    assert_int_equal(st[0].up.retransmissions, 2);
    assert_int_equal(st[0].up.nacks, 1);
    cs_router_counters_t c;
    cs_router_counters(r, &c);
    assert_int_equal(c.dropped_unknown_ssrc + c.dropped_malformed, 0);
    cs_router_free(r);
}

static void test_h264_keyframe_gating(void **state)
{
    (void)state;
    duo_t d;
    duo(&d, NULL);
    caps_clear();
    static const uint8_t non_idr[] = {0x41, 0x9a, 0x00, 0x01};
    static const uint8_t stap_sps_pps[] = {0x18, 0x00, 0x04, 0x67, 0x42, 0xe0, 0x1f,
                                           0x00, 0x02, 0x68, 0xce};
    static const uint8_t fu_idr_start[] = {0x7c, 0x85, 0x88, 0x84, 0x00};
    exts_t x = {.mid_id = 4, .mid = "1"};
    const uint8_t *pl[] = {non_idr, stap_sps_pps, fu_idr_start, non_idr};
    const size_t len[] = {sizeof non_idr, sizeof stap_sps_pps, sizeof fu_idr_start, sizeof non_idr};
    size_t got[4];
    for (int i = 0; i < 4; i++) {
        size_t n = mk_rtp(AV_VIDEO, 108, (uint16_t)(40 + i), 90000, &x, pl[i], len[i]);
        cs_router_on_rtp(d.r, d.a, pkt, n, T0 + i);
        got[i] = count_rtp(1);
    }
    assert_int_equal(got[0], 0);                    /* a delta before any IDR */
    assert_int_equal(got[1], 1);                    /* SPS/PPS open the keyframe */
    assert_int_equal(got[3], 3);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 0), &q);
    assert_int_equal(q.hdr.payload_type, 108);
    cs_router_free(d.r);
}

/* Firefox simulcast: rids plus FID pairs that do not say which rid is which. */
static void test_firefox_simulcast_fid(void **state)
{
    (void)state;
    cs_router_t *r = room(NULL);
    cs_router_member_t *a = member(r, "alice", 0), *b = member(r, "bob", 1);
    assert_int_equal(negotiate_fixture(r, a, "firefox-offer-simulcast.sdp"), CS_OK);
    assert_int_equal(negotiate_fixture(r, b, "chromium-offer-recvonly.sdp"), CS_OK);
    uint32_t bv = answer_ssrc(1);
    cs_router_member_set_connected(r, a, true);
    cs_router_member_set_connected(r, b, true);
    caps_clear();
    uint8_t pl[120];
    exts_t x = {.mid_id = 3, .mid = "1", .rid_id = 9, .rid = "h"};
    size_t n = mk_rtp(2842319219u, 120, 10, 0, &x, pl, vp8(pl, 100, 0, 3));
    cs_router_on_rtp(r, a, pkt, n, T0);
    n = mk_rtp(2842319219u, 120, 12, 0, NULL, pl, vp8(pl, 100, 2, 3));
    cs_router_on_rtp(r, a, pkt, n, T0 + 1000);
    assert_int_equal(count_rtp_ssrc(1, bv), 2);     /* the middle layer */
    /* Its RTX SSRC is the FID partner: known without any extension. */
    uint8_t rtx[120];
    cs_wr16(rtx, 11);
    vp8(rtx + 2, 100, 2, 3);
    n = mk_rtp(3965295085u, 124, 1, 0, NULL, rtx, 102);
    cs_router_on_rtp(r, a, pkt, n, T0 + 2000);
    assert_int_equal(count_rtp_ssrc(1, bv), 3);
    cs_rtp_packet_t q;
    parse_cap(nth_rtp(1, 2), &q);
    assert_int_equal(q.hdr.payload_type, 96);
    cs_router_counters_t c;
    cs_router_counters(r, &c);
    assert_int_equal(c.dropped_unknown_ssrc + c.dropped_malformed, 0);
    cs_router_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_members),
        cmocka_unit_test(test_two_members_forward),
        cmocka_unit_test(test_long_stream_crosses_half_the_sequence_space),
        cmocka_unit_test(test_third_member_and_assignments),
        cmocka_unit_test(test_publish_limits_and_sources),
        cmocka_unit_test(test_nack_answered_with_rtx),
        cmocka_unit_test(test_nack_answered_without_rtx),
        cmocka_unit_test(test_upstream_nack),
        cmocka_unit_test(test_pli_forwarded_and_rate_limited),
        cmocka_unit_test(test_keyframe_gating_on_reconnect),
        cmocka_unit_test(test_reports),
        cmocka_unit_test(test_twcc_feedback),
        cmocka_unit_test(test_malformed_input),
        cmocka_unit_test(test_loss_hooks),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_firefox_to_chromium),
        cmocka_unit_test(test_simulcast_layers),
        cmocka_unit_test(test_simulcast_rtx_by_repaired_rid),
        cmocka_unit_test(test_h264_keyframe_gating),
        cmocka_unit_test(test_firefox_simulcast_fid),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
