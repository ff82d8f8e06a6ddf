/*
 * bench_floor.c — the floor: the work a media server cannot avoid for each
 * packet it relays from one participant to another on this machine. An
 * SRTP packet arrives (one UDP receive), is unprotected, copied and
 * protected again for the subscriber (libsrtp through media/srtp), and sent
 * (one UDP send, which on loopback also delivers it to the receiving
 * socket). Nothing else a real server does (ICE, routing, RTCP, buffering)
 * is counted: a server doing this work with the same libsrtp spends at
 * least this much per relayed packet.
 *
 * Measured for a 1,100-byte video packet and a 120-byte audio packet, for
 * both SRTP profiles browsers negotiate, with UDP batched (recvmmsg and
 * sendmmsg, 32 packets a call) and one packet a call; each figure is the
 * best of several rounds (elapsed time, so run it on a quiet CPU: `make
 * bench` pins it to CPU 0 through tests/bench/media.js). The last line is for
 * tests/bench/media.js: µs per relayed packet (unprotect + copy + protect +
 * batched receive + send) for the load tool's default media mix.
 *
 *   build/bench/bench_floor
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "media/srtp/srtp.h"

#define VIDEO_LEN 1100        /* RTP header + VP8 payload */
#define AUDIO_LEN 120         /* RTP header + an Opus frame at 32 kbit/s */
#define RING 16384            /* distinct SRTP packets prepared (replay protection) */
#define ROUNDS 8
#define BATCH 32
#define UDP_PACKETS 100000    /* per round; the best of ROUNDS / 2 rounds */
#define BUF_CAP (VIDEO_LEN + CS_SRTP_MAX_TRAILER + 64)

/* The load tool's default media: 600 kbit/s of video in packets of about
 * VIDEO_LEN bytes, and 50 Opus packets a second. */
#define MIX_VIDEO_PPS (600000.0 / 8.0 / VIDEO_LEN)
#define MIX_AUDIO_PPS 50.0
#define MIX_VIDEO_SHARE (MIX_VIDEO_PPS / (MIX_VIDEO_PPS + MIX_AUDIO_PPS))

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_floor: %s: %s\n", what, errno ? strerror(errno) : "failed");
    exit(1);
}

static cs_srtp_session_t *session(cs_srtp_profile_t profile, uint8_t key_byte, bool outbound)
{
    uint8_t key[CS_SRTP_MAX_KEY_SALT_LEN];
    memset(key, key_byte, sizeof key);
    int err = 0;
    cs_srtp_session_t *s = cs_srtp_session_new(profile, key, key + cs_srtp_key_len(profile),
                                               outbound, &err);
    if (!s)
        die("cs_srtp_session_new");
    return s;
}

/* RING consecutive packets of len bytes as the publisher's browser would
 * send them: SRTP-protected with its key. */
static uint8_t *prepare(cs_srtp_profile_t profile, size_t len, size_t *lens)
{
    uint8_t *ring = malloc((size_t)RING * BUF_CAP);
    if (!ring)
        die("malloc");
    cs_srtp_session_t *pub = session(profile, 0x11, true);
    uint8_t payload[VIDEO_LEN];
    for (size_t i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 3);
    for (size_t i = 0; i < RING; i++) {
        uint8_t *buf = ring + i * BUF_CAP;
        cs_rtp_header_t h = { .payload_type = 96, .seq = (uint16_t)(1000 + i),
                              .timestamp = (uint32_t)(i * 3000), .ssrc = 0x12345678 };
        int n = cs_rtp_serialise(&h, NULL, 0, payload, len - 12, buf, BUF_CAP);
        size_t out = 0;
        if (n < 0 || cs_srtp_protect(pub, buf, (size_t)n, BUF_CAP, &out) != CS_OK)
            die("preparing packets");
        lens[i] = out;
    }
    cs_srtp_session_free(pub);
    return ring;
}

/* µs per packet: unprotect with the publisher's key, copy for the
 * subscriber, protect with the subscriber's key; the best of ROUNDS. */
static double srtp_relay(cs_srtp_profile_t profile, size_t len)
{
    static size_t lens[RING];
    uint8_t *ring = prepare(profile, len, lens);
    static uint8_t in[BUF_CAP], copy[BUF_CAP];
    double best = 1e9;
    for (int r = 0; r < ROUNDS; r++) {
        cs_srtp_session_t *from = session(profile, 0x11, false);
        cs_srtp_session_t *to = session(profile, 0x22, true);
        double t0 = now_us();
        for (size_t i = 0; i < RING; i++) {
            size_t plain = 0, out = 0;
            memcpy(in, ring + i * BUF_CAP, lens[i]); /* the socket's buffer: not ours to keep */
            if (cs_srtp_unprotect(from, in, lens[i], &plain) != CS_OK)
                die("unprotect");
            memcpy(copy, in, plain);
            if (cs_srtp_protect(to, copy, plain, sizeof copy, &out) != CS_OK)
                die("protect");
        }
        double per = (now_us() - t0) / RING;
        if (per < best)
            best = per;
        cs_srtp_session_free(from);
        cs_srtp_session_free(to);
    }
    free(ring);
    return best;
}

static int udp_socket(struct sockaddr_in *addr)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof *addr;
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) < 0 ||
        getsockname(fd, (struct sockaddr *)addr, &alen) < 0)
        die("bind");
    return fd;
}

/* µs per packet to send len bytes on loopback and receive them, batch
 * packets a system call (1: sendto/recv); one round. */
static double udp_round(size_t len, int batch)
{
    struct sockaddr_in a, b;
    int tx = udp_socket(&a), rx = udp_socket(&b);
    static uint8_t bufs[BATCH][BUF_CAP];
    struct mmsghdr out[BATCH], in[BATCH];
    struct iovec oiov[BATCH], iiov[BATCH];
    memset(out, 0, sizeof out);
    memset(in, 0, sizeof in);
    for (int i = 0; i < BATCH; i++) {
        oiov[i] = (struct iovec){ bufs[i], len };
        iiov[i] = (struct iovec){ bufs[i], BUF_CAP };
        out[i].msg_hdr = (struct msghdr){ .msg_name = &b, .msg_namelen = sizeof b,
                                          .msg_iov = &oiov[i], .msg_iovlen = 1 };
        in[i].msg_hdr = (struct msghdr){ .msg_iov = &iiov[i], .msg_iovlen = 1 };
    }
    double t0 = now_us();
    long done = 0;
    while (done < UDP_PACKETS) {
        if (batch == 1) {
            if (sendto(tx, bufs[0], len, 0, (struct sockaddr *)&b, sizeof b) != (ssize_t)len ||
                recv(rx, bufs[0], BUF_CAP, 0) != (ssize_t)len)
                die("sendto/recv");
            done++;
            continue;
        }
        int s = sendmmsg(tx, out, (unsigned)batch, 0);
        if (s != batch)
            die("sendmmsg");
        for (int got = 0; got < batch;) {
            int n = recvmmsg(rx, in + got, (unsigned)(batch - got), 0, NULL);
            if (n <= 0)
                die("recvmmsg");
            got += n;
        }
        done += batch;
    }
    double per = (now_us() - t0) / (double)done;
    close(tx);
    close(rx);
    return per;
}

static double udp_relay(size_t len, int batch)
{
    double best = 1e9;
    for (int r = 0; r < ROUNDS / 2; r++) {
        double per = udp_round(len, batch);
        if (per < best)
            best = per;
    }
    return best;
}

int main(void)
{
    if (cs_srtp_global_init() != CS_OK)
        return 1;
    static const struct { cs_srtp_profile_t p; const char *name, *tag; } profiles[] = {
        { CS_SRTP_AEAD_AES_128_GCM, "AEAD_AES_128_GCM", "GCM" },
        { CS_SRTP_AES128_CM_SHA1_80, "AES_CM_128_HMAC_SHA1_80", "CM" },
    };
    double srtp[2][2], udp[2][2]; /* [profile or batched?][video, audio] */
    for (int i = 0; i < 2; i++) {
        srtp[i][0] = srtp_relay(profiles[i].p, VIDEO_LEN);
        srtp[i][1] = srtp_relay(profiles[i].p, AUDIO_LEN);
    }
    udp[0][0] = udp_relay(VIDEO_LEN, BATCH);
    udp[0][1] = udp_relay(AUDIO_LEN, BATCH);
    udp[1][0] = udp_relay(VIDEO_LEN, 1);
    udp[1][1] = udp_relay(AUDIO_LEN, 1);

    printf("bench_floor: the unavoidable work per relayed packet on this machine (µs per packet)\n");
    char label[80];
    printf("  %-56s %9s %9s\n", "", "video", "audio");
    printf("  %-56s %9d %9d\n", "packet bytes (RTP)", VIDEO_LEN, AUDIO_LEN);
    for (int i = 0; i < 2; i++) {
        snprintf(label, sizeof label, "SRTP unprotect + copy + protect, %s", profiles[i].name);
        printf("  %-56s %9.3f %9.3f\n", label, srtp[i][0], srtp[i][1]);
    }
    snprintf(label, sizeof label, "UDP loopback receive + send, batched (%d)", BATCH);
    printf("  %-56s %9.3f %9.3f\n", label, udp[0][0], udp[0][1]);
    printf("  %-56s %9.3f %9.3f\n", "UDP loopback receive + send, one at a time", udp[1][0], udp[1][1]);
    double mix[2] = { 0, 0 };
    for (int i = 0; i < 2; i++) {
        for (int b = 0; b < 2; b++) {
            double v = srtp[i][0] + udp[b][0], a = srtp[i][1] + udp[b][1];
            double m = MIX_VIDEO_SHARE * v + (1 - MIX_VIDEO_SHARE) * a;
            if (b == 0)
                mix[i] = m;
            snprintf(label, sizeof label, "floor per relayed packet (%s, %s)", profiles[i].tag,
                     b == 0 ? "batched" : "one at a time");
            printf("  %-56s %9.3f %9.3f   mix %.3f\n", label, v, a, m);
        }
    }
    printf("  (mix: the load tool's default media, %.0f video packets/s of %d bytes and %.0f audio packets/s: %.0f %% video)\n",
           MIX_VIDEO_PPS, VIDEO_LEN, MIX_AUDIO_PPS, 100 * MIX_VIDEO_SHARE);
    printf("FLOOR_US gcm=%.3f cm=%.3f\n", mix[0], mix[1]);
    return 0;
}
