/*
 * router_test_room.h — shared fixture for the media/router unit tests
 * (test_router.c, test_router_rtcp.c): capture of every packet the router
 * hands to send_rtp/send_rtcp, the cmocka setup/teardown, real browser
 * offers (tests/unit/sdp/) or small built ones answered with cs_sdp_answer
 * and completed by cs_router_member_negotiate, synthetic RTP (mk_rtp, VP8,
 * audio_from/video_from) and RTCP (PLI, NACK, REMB) builders, and the room,
 * member and two-member "duo" helpers most tests start from.
 *
 * Header-only, for one test binary each: every function is static inline and
 * every object static, so a test file that does not use one gets no warning.
 */
#ifndef CS_TESTS_UNIT_ROUTER_TEST_ROOM_H
#define CS_TESTS_UNIT_ROUTER_TEST_ROOM_H

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

static inline void on_send(int to, bool rtcp, const uint8_t *buf, size_t len, size_t cap)
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

static inline void send_rtp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    on_send((int)(intptr_t)member, false, buf, len, cap);
}

static inline void send_rtcp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    on_send((int)(intptr_t)member, true, buf, len, cap);
}

static inline void changed(void *room)
{
    (void)room;
    tracks_changed++;
}

static const cs_router_callbacks_t callbacks = {send_rtp, send_rtcp, changed};

static inline void caps_clear(void)
{
    n_caps = 0;
}

/* The i-th captured RTP packet to member `to` (or NULL). */
static inline cap_t *nth_rtp(int to, size_t i)
{
    for (size_t k = 0; k < n_caps; k++)
        if (!caps[k].rtcp && caps[k].to == to && i-- == 0)
            return &caps[k];
    return NULL;
}

static inline size_t count_rtp(int to)
{
    size_t n = 0;
    for (size_t k = 0; k < n_caps; k++)
        n += !caps[k].rtcp && caps[k].to == to;
    return n;
}

static inline size_t count_rtp_ssrc(int to, uint32_t ssrc)
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
static inline size_t count_rtcp(int to, int type, int fmt, cs_rtcp_pkt_t *out, size_t skip)
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

static inline int setup(void **state)
{
    (void)state;
    offer = malloc(sizeof *offer);
    answer = malloc(sizeof *answer);
    text = malloc(CS_SDP_MAX_SIZE);
    caps = malloc(sizeof *caps * MAX_CAPS);
    return offer && answer && text && caps ? 0 : -1;
}

static inline int teardown(void **state)
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

static inline size_t put(char *out, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + at, CS_SDP_MAX_SIZE - at, fmt, ap);
    va_end(ap);
    assert_true(n >= 0 && at + (size_t)n < CS_SDP_MAX_SIZE);
    return at + (size_t)n;
}

static inline size_t build_offer(const sec_t *s, int n)
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

static inline void parse_text(size_t len)
{
    cs_sdp_error_t err;
    if (cs_sdp_parse(text, len, offer, &err) != CS_OK)
        fail_msg("offer: %s", err.message);
}

static inline void parse_fixture(const char *name)
{
    cs_sdp_t *f = fixture_parse(name);
    memcpy(offer, f, sizeof *offer);
    free(f);
}

static cs_router_assignment_t assigned[CS_SDP_MAX_MEDIA];
static size_t n_assigned;

/* Answers `offer` and completes the answer with the router. */
static inline int negotiate_src(cs_router_t *r, cs_router_member_t *m, const cs_router_section_source_t *src,
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

static inline int negotiate(cs_router_t *r, cs_router_member_t *m)
{
    return negotiate_src(r, m, NULL, 0);
}

static inline int negotiate_fixture(cs_router_t *r, cs_router_member_t *m, const char *name)
{
    parse_fixture(name);
    return negotiate(r, m);
}

static inline int negotiate_built(cs_router_t *r, cs_router_member_t *m, const sec_t *s, int n)
{
    parse_text(build_offer(s, n));
    return negotiate(r, m);
}

static inline uint32_t answer_ssrc(unsigned section)
{
    assert_true(answer->media[section].n_ssrcs >= 1);
    return answer->media[section].ssrcs[0].ssrc;
}

static inline uint32_t answer_rtx_ssrc(unsigned section)
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

static inline size_t mk_rtp(uint32_t ssrc, uint8_t pt, uint16_t seq, uint32_t ts, const exts_t *x,
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
static inline size_t vp8(uint8_t *out, size_t size, int kind, uint8_t fill)
{
    memset(out, fill, size);
    out[0] = kind == 2 ? 0x00 : 0x10;             /* S bit on the first packet */
    out[1] = kind == 0 ? 0x00 : 0x01;             /* P bit 0: keyframe */
    return size;
}

/* Opus from chromium-offer-av's microphone; the timestamp follows seq. */
static inline void audio_from(cs_router_t *r, cs_router_member_t *m, uint32_t ssrc, uint32_t n_seq,
                       int64_t now)
{
    uint16_t seq = (uint16_t)n_seq;
    exts_t x = {.mid_id = 4, .mid = "0", .level_id = 1, .level = 0x85, .twcc_id = 3, .twcc = seq};
    size_t n = mk_rtp(ssrc, 111, seq, n_seq * 960, &x, opus, sizeof opus);
    cs_router_on_rtp(r, m, pkt, n, now);
}

/* kind 0 keyframe, 1 delta, 2 continuation. */
static inline void video_from(cs_router_t *r, cs_router_member_t *m, uint32_t ssrc, uint16_t seq,
                       int kind, size_t size, int64_t now)
{
    uint8_t pl[1200];
    exts_t x = {.mid_id = 4, .mid = "1", .twcc_id = 3, .twcc = (uint16_t)(seq + 30000)};
    size_t n = mk_rtp(ssrc, 96, seq, (uint32_t)seq * 3000, &x, pl, vp8(pl, size, kind, 0x5a));
    cs_router_on_rtp(r, m, pkt, n, now);
}

static inline size_t rtcp_pli(uint8_t *out, uint32_t media)
{
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, 1500);
    cs_rtcp_fb_t ids = {0x1234, media};
    assert_true(cs_rtcp_pli_append(&b, &ids) > 0);
    return b.len;
}

static inline size_t rtcp_nack(uint8_t *out, uint32_t media, const uint16_t *seqs, size_t n)
{
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, out, 1500);
    cs_rtcp_fb_t ids = {0x1234, media};
    assert_true(cs_rtcp_nack_append(&b, &ids, seqs, n) > 0);
    return b.len;
}

static inline size_t rtcp_remb(uint8_t *out, uint64_t bps)
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

static inline cs_router_t *room(const cs_router_config_t *cfg)
{
    int err;
    cs_router_t *r = cs_router_new(cfg, &callbacks, NULL, &err);
    assert_non_null(r);
    assert_int_equal(err, CS_OK);
    caps_clear();
    tracks_changed = 0;
    return r;
}

static inline cs_router_member_t *member(cs_router_t *r, const char *id, int index)
{
    int err;
    cs_router_member_t *m = cs_router_member_add(r, id, id, (void *)(intptr_t)index, &err);
    assert_non_null(m);
    assert_int_equal(err, CS_OK);
    return m;
}

/* ---- helpers over captured packets -------------------------------------------------------- */

static inline void parse_cap(const cap_t *c, cs_rtp_packet_t *p)
{
    assert_non_null(c);
    assert_int_equal(cs_rtp_parse(c->buf, c->len, p), CS_OK);
}

static inline bool ext_str(const cs_rtp_packet_t *p, uint8_t id, const char *want)
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

static inline void duo(duo_t *d, const cs_router_config_t *cfg)
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
static inline uint16_t start_video(duo_t *d, uint16_t seq, int64_t now)
{
    video_from(d->r, d->a, AV_VIDEO, seq, 0, 300, now);
    return (uint16_t)(seq + 1);
}

#endif /* CS_TESTS_UNIT_ROUTER_TEST_ROOM_H */
