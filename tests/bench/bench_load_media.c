/*
 * bench_load_media.c — what the load tool's media path costs the tool itself,
 * so a run can tell whether the tool or the server saturates first:
 *
 * 1. encoding the loop once (lt_media_new, default 640x360, 10 s);
 * 2. CPU per packet emitted by lt_sender_poll: PEERS peers (an audio and a
 *    video sender each) over SECONDS simulated seconds polled every 5 ms,
 *    the emit callback doing nothing (SRTP and the socket are not ours);
 * 3. CPU per packet of lt_receiver_on_rtp with latency matching against
 *    the senders' logs (each receiver has its consult's two other senders
 *    as sources), and of a receiver that also decodes (the integrity sample).
 *
 *   build/bench/bench_load_media [PEERS] [SECONDS]   (default 200 peers, 10 s)
 * The clock is simulated: nothing sleeps, the figures are pure CPU time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "tests/load/media.h"

#define STEP_US 5000
#define T0 1000000
#define BATCH 4096                    /* packets held between send and receive */

typedef struct {
    uint8_t buf[LT_RTP_MAX];
    size_t len;
    int peer, kind;
} held_t;

typedef struct {
    held_t *p;
    size_t n;
    int peer, kind;
    uint64_t packets;
} sink_t;

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_load_media: %s: %s\n", what, cs_strerror(rc));
    exit(1);
}

static int count_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    (void)buf;
    (void)len;
    (void)cap;
    ((sink_t *)user)->packets++;
    return 0;
}

static int hold_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    (void)cap;
    sink_t *s = user;
    if (s->n == BATCH)
        return -1;
    held_t *h = &s->p[s->n++];
    memcpy(h->buf, buf, len);
    h->len = len;
    h->peer = s->peer;
    h->kind = s->kind;
    return 0;
}

static lt_sender_t *new_sender(const lt_media_t *m, lt_kind_t kind, int peer)
{
    lt_sender_config_t cfg = {.kind = kind, .ssrc = (uint32_t)(peer * 2 + kind + 1),
                              .pt = kind == LT_VIDEO ? 96 : 111, .rtx_pt = kind == LT_VIDEO ? 97 : 0,
                              .rtx_ssrc = kind == LT_VIDEO ? (uint32_t)(0x10000 + peer) : 0,
                              .mid_ext_id = 4, .mid = kind == LT_VIDEO ? "1" : "0",
                              .start_offset_ms = (uint32_t)(peer * 137 % 10000)};
    int err;
    lt_sender_t *s = lt_sender_new(m, &cfg, &err);
    if (!s)
        die("lt_sender_new", err);
    return s;
}

/* The simulated clock, running on from one part to the next. */
static int64_t sim_now = T0;

/* Part 2: senders alone. */
static void bench_senders(lt_sender_t **snd, int n, int seconds)
{
    sink_t sink = {0};
    for (int i = 0; i < n; i++)
        lt_sender_start(snd[i], T0 + (i % 7) * 1000);
    int64_t end = sim_now + (int64_t)seconds * 1000000;
    int64_t c0 = cpu_ns();
    for (; sim_now < end; sim_now += STEP_US)
        for (int i = 0; i < n; i++)
            lt_sender_poll(snd[i], sim_now, count_emit, &sink);
    int64_t ns = cpu_ns() - c0;
    printf("lt_sender_poll: %.0f ns per emitted packet (%llu packets, %d senders, %d s simulated, "
           "%.1f%% of a core in real time)\n",
           (double)ns / (double)sink.packets, (unsigned long long)sink.packets, n, seconds,
           (double)ns / ((double)seconds * 1e9) * 100);
}

/* Part 3: peers in 1:1 consults (2k and 2k+1), each receiving the other's two
 * streams, asking for keyframes when its decoder wants one. */
static void bench_receivers(lt_sender_t **snd, lt_receiver_t **rcv, int peers, int seconds,
                            const char *label)
{
    sink_t sink = {.p = malloc(BATCH * sizeof(held_t))};
    if (!sink.p)
        die("malloc", CS_ENOMEM);
    uint64_t received = 0, decoded = 0, matched = 0;
    int64_t ns = 0, end = sim_now + (int64_t)seconds * 1000000;
    for (; sim_now < end; sim_now += STEP_US) {
        sink.n = 0;
        for (int i = 0; i < 2 * peers; i++) {
            sink.peer = i / 2;
            sink.kind = i % 2;
            lt_sender_poll(snd[i], sim_now, hold_emit, &sink);
        }
        int64_t c0 = cpu_ns();
        for (size_t k = 0; k < sink.n; k++) {
            held_t *h = &sink.p[k];
            lt_receiver_on_rtp(rcv[(h->peer ^ 1) * 2 + h->kind], h->buf, h->len, sim_now + 300);
        }
        ns += cpu_ns() - c0;
        received += sink.n;
        for (int p = 0; p < peers; p++)
            if (lt_receiver_wants_keyframe(rcv[p * 2 + 1], sim_now + 300))
                lt_sender_request_keyframe(snd[(p ^ 1) * 2 + 1]);
    }
    for (int i = 0; i < 2 * peers; i++) {
        lt_receiver_stats_t st;
        lt_receiver_stats(rcv[i], &st);
        matched += st.late_matched;
        decoded += st.frames_decoded;
    }
    printf("lt_receiver_on_rtp%s: %.0f ns per packet (%llu packets, %.1f%% matched to a send",
           label, (double)ns / (double)received, (unsigned long long)received,
           received ? 100.0 * (double)matched / (double)received : 0.0);
    if (decoded)
        printf(", %llu frames decoded", (unsigned long long)decoded);
    printf(")\n");
    free(sink.p);
}

static void run_receivers(lt_sender_t **snd, int peers, int seconds, bool decode)
{
    lt_receiver_t **rcv = calloc((size_t)peers * 2, sizeof *rcv);
    if (!rcv)
        die("calloc", CS_ENOMEM);
    for (int i = 0; i < 2 * peers; i++) {
        int err;
        rcv[i] = lt_receiver_new(i % 2 ? LT_VIDEO : LT_AUDIO, 0, decode, &err);
        if (!rcv[i])
            die("lt_receiver_new", err);
    }
    for (int p = 0; p < peers; p++) {
        lt_sources_t s = {(const lt_sender_t *const *)&snd[(p ^ 1) * 2], 2};
        lt_receiver_set_sources(rcv[p * 2], s);
        lt_receiver_set_sources(rcv[p * 2 + 1], s);
    }
    bench_receivers(snd, rcv, peers, seconds, decode ? " + decode" : "");
    for (int i = 0; i < 2 * peers; i++)
        lt_receiver_free(rcv[i]);
    free(rcv);
}

int main(int argc, char **argv)
{
    int peers = argc > 1 ? atoi(argv[1]) : 200, seconds = argc > 2 ? atoi(argv[2]) : 10;
    if (peers < 2 || peers % 2 || seconds < 1) {
        fprintf(stderr, "usage: bench_load_media [PEERS (even, >= 2)] [SECONDS]\n");
        return 2;
    }
    int err;
    int64_t c0 = cpu_ns();
    lt_media_t *m = lt_media_new(&(lt_media_config_t){0}, &err);
    if (!m)
        die("lt_media_new", err);
    lt_media_info_t info;
    lt_media_info(m, &info);
    printf("lt_media_new: %.2f s CPU for %zu VP8 frames (%.0f kbit/s, %zu keyframes) and %zu Opus "
           "packets (%.0f kbit/s)\n",
           (double)(cpu_ns() - c0) / 1e9, info.video_frames, info.video_kbps, info.keyframes,
           info.audio_frames, info.audio_kbps);
    lt_sender_t **snd = calloc((size_t)peers * 2, sizeof *snd);
    if (!snd)
        die("calloc", CS_ENOMEM);
    for (int i = 0; i < 2 * peers; i++)
        snd[i] = new_sender(m, i % 2 ? LT_VIDEO : LT_AUDIO, i / 2);
    bench_senders(snd, 2 * peers, seconds);
    run_receivers(snd, peers, seconds, false);
    int sample = peers < 10 ? peers : 10;     /* decoding is for a sample of peers */
    run_receivers(snd, sample, seconds < 5 ? seconds : 5, true);
    for (int i = 0; i < 2 * peers; i++)
        lt_sender_free(snd[i]);
    free(snd);
    lt_media_free(m);
    return 0;
}
