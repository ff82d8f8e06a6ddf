/*
 * bench_relay.c — CPU per relayed packet on the media worker's hot path:
 * the router identifying a publisher's VP8 packet, buffering it for NACKs
 * and rewriting it once per subscriber, then SRTP-protecting each copy
 * (AES-CM-128/HMAC-SHA1-80, and AEAD-AES-128-GCM) — everything a
 * worker does per packet except the recvmsg/sendmsg system calls.
 *
 * Rooms of 2, 4 and 8 participants: one publisher (a captured Chromium
 * offer), the others receiving its camera. Prints, for each size, packets
 * relayed per second of one core and nanoseconds per packet sent.
 *
 *   build/bench/bench_relay            (run from the repository root)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "media/router/router.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"
#include "media/srtp/srtp.h"

#define PACKETS 200000
#define PAYLOAD 1100

static const char *fixture_dir(void)
{
    const char *d = getenv("SDP_FIXTURES");
    return d ? d : "tests/unit/sdp";
}

static cs_sdp_t *load_offer(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fixture_dir(), name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "bench_relay: cannot open %s (run from the repository root)\n", path);
        exit(1);
    }
    static char text[CS_SDP_MAX_SIZE];
    size_t n = fread(text, 1, sizeof text, f);
    fclose(f);
    cs_sdp_t *sdp = malloc(sizeof *sdp);
    if (!sdp || cs_sdp_parse(text, n, sdp, NULL) != CS_OK) {
        fprintf(stderr, "bench_relay: cannot parse %s\n", path);
        exit(1);
    }
    return sdp;
}

typedef struct {
    cs_srtp_session_t *srtp;
    uint64_t packets, bytes;
} sink_t;

static void send_rtp(void *room_user, void *member_user, uint8_t *buf, size_t len, size_t cap)
{
    const int *protect = room_user;
    sink_t *s = member_user;
    size_t out = len;
    int rc;
    if (*protect && (rc = cs_srtp_protect(s->srtp, buf, len, cap, &out)) != CS_OK) {
        fprintf(stderr, "bench_relay: protect failed after %llu packets: %s\n",
                (unsigned long long)s->packets, cs_strerror(rc));
        abort();
    }
    s->packets++;
    s->bytes += out;
}

static void send_rtcp(void *room_user, void *member_user, uint8_t *buf, size_t len, size_t cap)
{
    (void)room_user, (void)member_user, (void)buf, (void)len, (void)cap;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void negotiate(cs_router_t *r, cs_router_member_t *m, const cs_sdp_t *offer, cs_sdp_t *answer)
{
    cs_sdp_local_t local;
    memset(&local, 0, sizeof local);
    strcpy(local.ice_ufrag, "bnch");
    strcpy(local.ice_pwd, "benchmarkbenchmarkbench1");
    local.fingerprint.hash = CS_SDP_HASH_SHA256;
    local.fingerprint.len = 32;
    memset(local.fingerprint.value, 0xab, 32);
    local.session_id = 1;
    local.session_version = 1;
    cs_router_assignment_t as[CS_SDP_MAX_MEDIA];
    size_t n = 0;
    if (cs_sdp_answer(offer, &local, answer, NULL) != CS_OK ||
        cs_router_member_negotiate(r, m, offer, NULL, 0, answer, as, CS_SDP_MAX_MEDIA, &n) != CS_OK) {
        fprintf(stderr, "bench_relay: negotiation failed\n");
        exit(1);
    }
}

/* A VP8 packet: a keyframe start every 100 packets (so subscribers start
 * receiving at once), interframes otherwise. */
static size_t make_packet(uint8_t *buf, size_t cap, uint32_t ssrc, uint8_t pt, uint16_t seq,
                          uint32_t ts, bool keyframe)
{
    uint8_t payload[PAYLOAD];
    memset(payload, 0x5a, sizeof payload);
    payload[0] = 0x10; /* S=1, PID 0 */
    if (keyframe) {
        static const uint8_t key[] = {0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01};
        memcpy(payload + 1, key, sizeof key);
    } else {
        payload[1] = 0x01; /* P=1: interframe */
    }
    cs_rtp_header_t h = {.marker = true, .payload_type = pt, .seq = seq, .timestamp = ts, .ssrc = ssrc};
    int n = cs_rtp_serialise(&h, NULL, 0, payload, sizeof payload, buf, cap);
    if (n < 0)
        abort();
    return (size_t)n;
}

/* protect: 0 none, else the cs_srtp_profile_t to protect with. */
static void run(int members, int protect)
{
    static const cs_router_callbacks_t cb = {send_rtp, send_rtcp, NULL};
    int err;
    cs_router_t *r = cs_router_new(NULL, &cb, &protect, &err);
    cs_sdp_t *pub_offer = load_offer("chromium-offer-av.sdp");
    cs_sdp_t *sub_offer = load_offer("chromium-offer-recvonly.sdp");
    cs_sdp_t *answer = malloc(sizeof *answer);
    sink_t sinks[CS_ROUTER_MAX_MEMBERS];
    cs_router_member_t *mem[CS_ROUTER_MAX_MEMBERS];
    memset(sinks, 0, sizeof sinks);
    uint8_t key[CS_SRTP_MAX_KEY_SALT_LEN];
    memset(key, 7, sizeof key);
    for (int i = 0; i < members; i++) {
        char id[16];
        snprintf(id, sizeof id, "m%d", i);
        sinks[i].srtp = cs_srtp_session_new(protect ? (cs_srtp_profile_t)protect
                                                    : CS_SRTP_AES128_CM_SHA1_80,
                                            key, key + 16, true, &err);
        mem[i] = cs_router_member_add(r, id, id, &sinks[i], &err);
        if (!mem[i] || !sinks[i].srtp)
            abort();
    }
    /* The publisher first, so the subscribers' recvonly sections get its tracks. */
    negotiate(r, mem[0], pub_offer, answer);
    for (int i = 1; i < members; i++)
        negotiate(r, mem[i], sub_offer, answer);
    for (int i = 0; i < members; i++)
        cs_router_member_set_connected(r, mem[i], true);

    const cs_sdp_media_t *video = cs_sdp_media_by_mid(pub_offer, "1");
    uint32_t ssrc = video->ssrcs[0].ssrc;
    uint8_t pt = 96;
    uint8_t pkt[CS_ROUTER_PACKET_MAX];
    int64_t t_us = cs_mono_us();
    double t0 = now_s();
    for (int i = 0; i < PACKETS; i++) {
        size_t len = make_packet(pkt, sizeof pkt, ssrc, pt, (uint16_t)i, (uint32_t)(i / 8) * 3000,
                                 i % 100 == 0);
        cs_router_on_rtp(r, mem[0], pkt, len, t_us);
        t_us += 250; /* 4,000 packets/s: ~35 Mbit/s of video */
        if (i % 200 == 0)
            cs_router_tick(r, t_us);
    }
    double dt = now_s() - t0;
    uint64_t out = 0;
    for (int i = 1; i < members; i++)
        out += sinks[i].packets;
    printf("  %d participants, %-22s %9.0f packets in/s  %9.0f packets out/s  %6.0f ns per packet out  (%llu out)\n",
           members, !protect ? "router only:"
                    : protect == CS_SRTP_AEAD_AES_128_GCM ? "+ SRTP AES-128-GCM:"
                                                          : "+ SRTP AES-CM/SHA1-80:", PACKETS / dt, (double)out / dt,
           out ? dt * 1e9 / (double)out : 0.0, (unsigned long long)out);
    if (out < (uint64_t)(members - 1) * (PACKETS / 2))
        printf("  WARNING: fewer packets relayed than expected; the figures above are not comparable\n");
    for (int i = 0; i < members; i++)
        cs_srtp_session_free(sinks[i].srtp);
    cs_router_free(r);
    free(pub_offer);
    free(sub_offer);
    free(answer);
}

int main(void)
{
    if (cs_srtp_global_init() != CS_OK)
        return 1;
    printf("bench_relay: one VP8 publisher, %d packets of %d bytes, relayed to every other participant\n",
           PACKETS, PAYLOAD);
    static const int sizes[] = {2, 4, 8};
    for (size_t i = 0; i < CS_ARRAY_LEN(sizes); i++) {
        run(sizes[i], 0);
        run(sizes[i], CS_SRTP_AES128_CM_SHA1_80);
        run(sizes[i], CS_SRTP_AEAD_AES_128_GCM);
    }
    return 0;
}
