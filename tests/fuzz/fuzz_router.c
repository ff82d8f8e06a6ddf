/*
 * fuzz_router.c — libFuzzer target for media/router.
 *
 * Each input drives a fresh two-member room: alice publishes Opus and VP8
 * simulcast by rids (q, h, f), bob Opus and VP8/H.264 with announced SSRCs
 * and RTX; each receives the other. The input is a first byte of test loss
 * settings, then records:
 *   op (1 byte: bit 0 member, bits 1-2 kind, bits 3-7 ms to advance),
 *   len (2 bytes, big-endian), then len bytes for RTP and RTCP.
 * Kinds: 0 RTP from the member, 1 RTCP from the member (every 4-byte word
 * 0xAAAA00kk is replaced by the k-th SSRC the member was told it receives,
 * and 0xBBBBkkdd by a NACK FCI for the dd-th packet before the last one sent
 * to it on that SSRC, so feedback can name our streams and packets), 2 a tick
 * len ms later, 3 control (bit 0 toggles the member's connection, bit 1
 * renegotiates it, bit 2 removes it and has it rejoin).
 *
 * Checked on every packet the room sends: room for the SRTP trailer, RTP
 * that parses and carries one of the SSRCs announced to that member (so
 * nothing echoes back to its publisher), RTCP whose framing is valid.
 *
 * Build with `make fuzz` and run e.g.
 *   build/fuzz/fuzz_router -max_total_time=300 tests/fuzz/corpus/router
 * `make test` replays tests/fuzz/corpus/router/ through the gcc build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "common/common.h"
#include "media/router/router.h"
#include "media/rtcp/rtcp.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"

#define MAX_RECORDS 4000
#define MAX_ANNOUNCED 64

#define SESSION                                                                                    \
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n"                   \
    "a=msid-semantic: WMS *\r\n"
#define TRANSPORT(mid)                                                                             \
    "c=IN IP4 0.0.0.0\r\na=ice-ufrag:ttJp\r\na=ice-pwd:IRLW3oP6FFtrSWrGrBRVycwx\r\n"              \
    "a=fingerprint:sha-256 34:78:C5:F3:67:C5:99:D4:92:79:50:47:1C:8C:17:8D:68:EC:D0:97:57:DF:"    \
    "1B:03:E0:17:89:06:3A:F5:02:8C\r\na=setup:actpass\r\na=mid:" mid "\r\n"                       \
    "a=sendrecv\r\na=rtcp-mux\r\na=rtcp-rsize\r\n"
#define AUDIO(ssrc)                                                                                \
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" TRANSPORT("0")                                          \
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n"                                  \
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"                   \
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"    \
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"                                          \
    "a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\na=rtcp-fb:111 nack\r\n"           \
    "a=fmtp:111 minptime=10;useinbandfec=1\r\na=ssrc:" ssrc " cname:x\r\n"
#define FB(pt)                                                                                     \
    "a=rtcp-fb:" pt " goog-remb\r\na=rtcp-fb:" pt " transport-cc\r\na=rtcp-fb:" pt " ccm fir\r\n" \
    "a=rtcp-fb:" pt " nack\r\na=rtcp-fb:" pt " nack pli\r\n"
#define VIDEO                                                                                      \
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103\r\n" TRANSPORT("1")                                \
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"                   \
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"    \
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"                                          \
    "a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id\r\n"                               \
    "a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id\r\n"                      \
    "a=rtpmap:96 VP8/90000\r\n" FB("96") "a=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\n"          \
    "a=rtpmap:102 H264/90000\r\n" FB("102")                                                        \
    "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"       \
    "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"

/* Alice: SSRC 1001 audio; video by rids. Bob: 2001 audio, 2002/2003 video. */
static const char offer_text[2][4096] = {
    SESSION AUDIO("1001") VIDEO "a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\n"
                                "a=simulcast:send q;h;f\r\n",
    SESSION AUDIO("2001") VIDEO "a=ssrc-group:FID 2002 2003\r\na=ssrc:2002 cname:y\r\n"
                                "a=ssrc:2003 cname:y\r\n",
};
static const char *const ids[2] = {"alice", "bob"};

static cs_sdp_t *offers[2], *answers[2], *work;

typedef struct {
    cs_router_member_t *m;
    bool connected;
    size_t n_announced;
    uint32_t announced[MAX_ANNOUNCED];
    uint16_t last_seq[MAX_ANNOUNCED];   /* the last sent on each */
} fz_member_t;

static fz_member_t fm[2];

static void check_rtp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    int who = (int)(intptr_t)member;
    cs_rtp_packet_t p;
    CHECK(cap >= len + CS_ROUTER_TRAILER && (who == 0 || who == 1));
    CHECK(cs_rtp_parse(buf, len, &p) == CS_OK);
    bool known = false;
    for (size_t i = 0; i < fm[who].n_announced; i++)
        if (fm[who].announced[i] == p.hdr.ssrc) {
            known = true;
            fm[who].last_seq[i] = p.hdr.seq;
        }
    CHECK(known);
}

static void check_rtcp(void *room, void *member, uint8_t *buf, size_t len, size_t cap)
{
    (void)room;
    (void)member;
    CHECK(cap >= len + CS_ROUTER_TRAILER);
    CHECK(cs_rtcp_validate(buf, len) > 0);
}

static const cs_router_callbacks_t callbacks = {check_rtp, check_rtcp, NULL};

static void init_once(void)
{
    if (work)
        return;
    cs_sdp_local_t l = {0};
    strcpy(l.ice_ufrag, "gw01");
    strcpy(l.ice_pwd, "gatewayIcePassword0123456");
    l.fingerprint.hash = CS_SDP_HASH_SHA256;
    l.fingerprint.len = 32;
    for (int i = 0; i < 2; i++) {
        offers[i] = malloc(sizeof *offers[i]);
        answers[i] = malloc(sizeof *answers[i]);
        CHECK(offers[i] && answers[i]);
        CHECK(cs_sdp_parse(offer_text[i], strlen(offer_text[i]), offers[i], NULL) == CS_OK);
        CHECK(cs_sdp_answer(offers[i], &l, answers[i], NULL) == CS_OK);
    }
    work = malloc(sizeof *work);
    CHECK(work);
}

static void negotiate(cs_router_t *r, int who)
{
    memcpy(work, answers[who], sizeof *work);
    CHECK(cs_router_member_negotiate(r, fm[who].m, offers[who], NULL, 0, work, NULL, 0, NULL) ==
          CS_OK);
    fm[who].n_announced = 0;
    for (unsigned i = 0; i < work->n_media; i++)
        for (unsigned k = 0; k < work->media[i].n_ssrcs && fm[who].n_announced < MAX_ANNOUNCED; k++)
            fm[who].announced[fm[who].n_announced++] = work->media[i].ssrcs[k].ssrc;
}

static void join(cs_router_t *r, int who)
{
    int err;
    fm[who].m = cs_router_member_add(r, ids[who], ids[who], (void *)(intptr_t)who, &err);
    CHECK(fm[who].m && err == CS_OK);
    fm[who].connected = false;
    fm[who].n_announced = 0;
    memset(fm[who].last_seq, 0, sizeof fm[who].last_seq);
}

/* Both members negotiated twice, so each receives the other's tracks. */
static void setup_room(cs_router_t *r)
{
    join(r, 0);
    join(r, 1);
    negotiate(r, 0);
    negotiate(r, 1);
    negotiate(r, 0);
    for (int i = 0; i < 2; i++) {
        cs_router_member_set_connected(r, fm[i].m, true);
        fm[i].connected = true;
    }
}

static void substitute(uint8_t *buf, size_t len, const fz_member_t *f)
{
    for (size_t at = 0; at + 4 <= len; at += 4) {
        uint32_t v = cs_rd32(buf + at);
        if (!f->n_announced)
            return;
        size_t k = (v >> 8 & 0xFF) % f->n_announced;
        if ((v & 0xFFFFFF00u) == 0xAAAA0000u)
            cs_wr32(buf + at, f->announced[(v & 0xFF) % f->n_announced]);
        else if ((v & 0xFFFF0000u) == 0xBBBB0000u)
            cs_wr32(buf + at, (uint32_t)(uint16_t)(f->last_seq[k] - (v & 0xFF)) << 16 | 0x0003);
    }
}

static void control(cs_router_t *r, int who, unsigned ctl)
{
    if (ctl & 4) {
        cs_router_member_remove(r, fm[who].m);
        join(r, who);
        negotiate(r, who);
        negotiate(r, !who);
        ctl |= 1;
    } else if (ctl & 2) {
        negotiate(r, who);
    }
    if (ctl & 1) {
        fm[who].connected = !fm[who].connected;
        cs_router_member_set_connected(r, fm[who].m, fm[who].connected);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    init_once();
    if (size < 1)
        return 0;
    cs_router_config_t cfg = {.loss_in_percent = (data[0] & 3) * 10,
                              .loss_out_percent = (data[0] >> 2 & 3) * 10,
                              .loss_seed = data[0],
                              .random_seed = 0x5eed0000u | data[0]};
    int err;
    cs_router_t *r = cs_router_new(&cfg, &callbacks, NULL, &err);
    CHECK(r && err == CS_OK);
    setup_room(r);
    int64_t now = 1000000;
    size_t at = 1;
    for (unsigned n = 0; n < MAX_RECORDS && size - at >= 3; n++) {
        uint8_t op = data[at];
        size_t len = cs_rd16(data + at + 1);
        at += 3;
        int who = op & 1, kind = op >> 1 & 3;
        now += (int64_t)(op >> 3) * 1000;
        if (kind == 2) {
            now += (int64_t)len * 1000;
            cs_router_tick(r, now);
            continue;
        }
        if (kind == 3) {
            control(r, who, (unsigned)len);
            continue;
        }
        if (len > size - at)
            len = size - at;
        /* An exact-size copy, so reading past the end is caught. */
        uint8_t *pkt = malloc(len ? len : 1);
        CHECK(pkt);
        memcpy(pkt, data + at, len);
        at += len;
        if (kind == 0) {
            cs_router_on_rtp(r, fm[who].m, pkt, len, now);
        } else {
            substitute(pkt, len, &fm[who]);
            cs_router_on_rtcp(r, fm[who].m, pkt, len, now);
        }
        free(pkt);
    }
    cs_router_member_stats_t st[CS_ROUTER_MAX_MEMBERS];
    CHECK(cs_router_stats(r, st, CS_ROUTER_MAX_MEMBERS, now) == 2);
    cs_router_track_t tr[8];
    CHECK(cs_router_tracks(r, tr, 8) == 4);
    cs_router_free(r);
    return 0;
}
