/*
 * bench_recorder.c — what recording costs: media/recorder's push → ring →
 * writer thread → AES-256-GCM chunk → write + fdatasync path.
 *
 * 1. The caller's CPU per push, uncontended.
 * 2. Throughput: 4 sessions, each fed as fast as it takes by its own
 *    thread with 1,200-byte packets (a refused push, ring full, is retried
 *    and counted). Prints packets/s and MB/s from the first push to the
 *    last file finished on disk, and the writer's CPU per MB.
 * 3. A typical consult in real time: one session, 2 participants × (50
 *    audio packets/s of 120 B + 100 video packets/s of 1,100 B), flushed
 *    every second. Prints the writer thread's CPU time (user + system) per
 *    recorded second.
 *
 *   build/bench/bench_recorder [SECONDS]   (part 3 lasts SECONDS, default 10)
 * Files go to $BENCH_DIR (default /tmp) and are removed afterwards.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "media/recorder/internal.h"
#include "media/recorder/recorder.h"

#define SESSIONS 4
#define PACKETS 25000
#define PKT_LEN 1200

static const uint8_t KEY[CS_REC_KEY_LEN] = "bench-master-key-of-32-bytes-xx";

typedef struct {
    cs_rec_session_t *s;
    uint64_t refused;
    int64_t cpu_ns;
} feeder_t;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_recorder: %s: %s\n", what, cs_strerror(rc));
    exit(1);
}

static cs_recorder_t *new_recorder(void)
{
    cs_recorder_config_t cfg = {.master_key = KEY};
    int err;
    cs_recorder_t *r = cs_recorder_new(&cfg, &err);
    if (!r)
        die("recorder", err);
    return r;
}

static cs_rec_session_t *open_session(cs_recorder_t *r, const char *dir, int n, char *path,
                                      size_t cap)
{
    snprintf(path, cap, "%s/bench-recorder-%d-%d.cap", dir, (int)getpid(), n);
    cs_rec_session_t *s = NULL;
    int rc = cs_recorder_open(r, path, "bench", cs_now_ms(), cs_mono_us(), &s);
    if (rc)
        die(path, rc);
    return s;
}

/* A session with one VP8 track (number 0). */
static cs_rec_session_t *open_video(cs_recorder_t *r, const char *dir, int n, char *path,
                                    size_t cap)
{
    cs_rec_session_t *s = open_session(r, dir, n, path, cap);
    cs_rec_track_t t = {.kind = CS_REC_VIDEO, .clock_rate = 90000, .codec = "VP8"};
    int rc = cs_recorder_add_track(s, &t);
    if (rc < 0)
        die("track", rc);
    return s;
}

static void *feed(void *arg)
{
    feeder_t *f = arg;
    uint8_t pkt[PKT_LEN];
    memset(pkt, 0xa5, sizeof pkt);
    int64_t cpu0 = thread_cpu_ns();
    for (int i = 0; i < PACKETS; i++) {
        cs_wr32(pkt + 4, (uint32_t)i);
        int rc;
        while ((rc = cs_recorder_push(f->s, 0, cs_mono_us(), pkt, sizeof pkt)) == CS_ELIMIT) {
            f->refused++;
            sched_yield();
        }
        if (rc)
            die("push", rc);
    }
    f->cpu_ns = thread_cpu_ns() - cpu0;
    return NULL;
}

static void wait_finished(cs_rec_session_t *s, cs_rec_session_stats_t *st)
{
    for (;;) {
        cs_rec_session_stats(s, st);
        if (st->finished)
            return;
        usleep(1000);
    }
}

/* Closes s, waits for its file, lets go of it and removes the file. */
static void close_and_remove(cs_rec_session_t *s, const char *path)
{
    cs_rec_session_stats_t st;
    cs_recorder_close(s);
    wait_finished(s, &st);
    cs_rec_session_release(s);
    unlink(path);
}

/* Until the writer has taken everything out of the ring. */
static void wait_drained(cs_recorder_t *r)
{
    for (;;) {
        pthread_mutex_lock(&r->mu);
        size_t used = r->ring.used;
        pthread_mutex_unlock(&r->mu);
        if (!used)
            return;
        usleep(1000);
    }
}

static void throughput(const char *dir)
{
    cs_recorder_t *r = new_recorder();
    char paths[SESSIONS][256];
    feeder_t f[SESSIONS];
    pthread_t th[SESSIONS];
    for (int i = 0; i < SESSIONS; i++)
        f[i] = (feeder_t){.s = open_video(r, dir, i, paths[i], sizeof paths[i])};
    int64_t t0 = cs_mono_us();
    for (int i = 0; i < SESSIONS; i++)
        pthread_create(&th[i], NULL, feed, &f[i]);
    uint64_t refused = 0, bytes = 0, chunks = 0;
    int64_t cpu = 0;
    for (int i = 0; i < SESSIONS; i++) {
        pthread_join(th[i], NULL);
        cs_recorder_close(f[i].s);
    }
    for (int i = 0; i < SESSIONS; i++) {
        cs_rec_session_stats_t st;
        wait_finished(f[i].s, &st);
        if (st.error)
            die("writing", st.error);
        refused += f[i].refused;
        bytes += st.bytes_written;
        chunks += st.chunks;
        cpu += f[i].cpu_ns;
    }
    double s = (double)(cs_mono_us() - t0) / 1e6;
    int64_t writer_ns = cs_recorder_writer_cpu_ns(r);
    uint64_t total = (uint64_t)SESSIONS * PACKETS;
    printf("throughput: %d sessions x %d packets of %d B: %.0f packets/s, %.1f MB/s of "
           "packets (%.1f MB/s to disk), %.2f s\n",
           SESSIONS, PACKETS, PKT_LEN, (double)total / s, (double)total * PKT_LEN / s / 1e6,
           (double)bytes / s / 1e6, s);
    printf("  %llu chunks fsynced; pushes refused (ring full, retried): %llu; producers' CPU "
           "%.0f ns/push incl. retries\n  writer CPU %.2f s: %.1f ms per MB, i.e. one writer "
           "core would take %.0f MB/s (the wall-clock rate above is bounded by the disk's "
           "fdatasync and by what else runs)\n",
           (unsigned long long)chunks, (unsigned long long)refused, (double)cpu / (double)total,
           (double)writer_ns / 1e9, (double)writer_ns / 1e6 / ((double)bytes / 1e6),
           (double)bytes / ((double)writer_ns / 1e9) / 1e6);
    for (int i = 0; i < SESSIONS; i++) {
        cs_rec_session_release(f[i].s);
        unlink(paths[i]);
    }
    cs_recorder_free(r);
}

/* The producer's side alone: pushes into a ring the (paused) writer does
 * not empty. */
static void push_cost(const char *dir)
{
    cs_recorder_t *r = new_recorder();
    char path[256];
    cs_rec_session_t *s = open_video(r, dir, 98, path, sizeof path);
    int err;
    uint8_t pkt[PKT_LEN];
    memset(pkt, 0x5a, sizeof pkt);
    enum { N = 5000, ROUNDS = 11 };   /* 5000 packets: 6 MB of the default 8 MiB ring */
    double best = 1e30, sum = 0;
    for (int round = 0; round < ROUNDS; round++) {   /* the first touches the ring's pages */
        cs_recorder_test_pause(r, true);
        int64_t cpu0 = thread_cpu_ns();
        for (int i = 0; i < N; i++)
            if ((err = cs_recorder_push(s, 0, i, pkt, sizeof pkt)))
                die("push", err);
        double ns = (double)(thread_cpu_ns() - cpu0) / N;
        cs_recorder_test_pause(r, false);
        wait_drained(r);
        if (round) {
            best = ns < best ? ns : best;
            sum += ns;
        }
    }
    printf("push: %.0f ns of the caller's CPU per %d-byte packet (uncontended; best of %d "
           "rounds, mean %.0f)\n", best, PKT_LEN, ROUNDS - 1, sum / (ROUNDS - 1));
    close_and_remove(s, path);
    cs_recorder_free(r);
}

/* 20 ms ticks: per participant one audio packet and two video packets. */
static void consult(const char *dir, int seconds)
{
    cs_recorder_t *r = new_recorder();
    char path[256];
    cs_rec_session_t *s = open_session(r, dir, 99, path, sizeof path);
    int tracks[4];
    for (int i = 0; i < 4; i++) {
        cs_rec_track_t t = {.kind = i % 2 ? CS_REC_VIDEO : CS_REC_AUDIO,
                            .clock_rate = i % 2 ? 90000 : 48000};
        strcpy(t.codec, i % 2 ? "VP8" : "opus");
        snprintf(t.member_id, sizeof t.member_id, "member-%d", i / 2);
        if ((tracks[i] = cs_recorder_add_track(s, &t)) < 0)
            die("track", tracks[i]);
    }
    uint8_t audio[120], video[1100];
    memset(audio, 1, sizeof audio);
    memset(video, 2, sizeof video);
    int64_t cpu0 = cs_recorder_writer_cpu_ns(r);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t dropped = 0;
    for (int tick = 0; tick < seconds * 50; tick++) {
        for (int k = 0; k < 6; k++) {   /* participant k / 3: audio, video, video */
            int tr = tracks[2 * (k / 3) + (k % 3 ? 1 : 0)];
            int rc = k % 3 ? cs_recorder_push(s, (uint16_t)tr, cs_mono_us(), video, sizeof video)
                           : cs_recorder_push(s, (uint16_t)tr, cs_mono_us(), audio, sizeof audio);
            if (rc == CS_ELIMIT)
                dropped++;
            else if (rc)
                die("push", rc);
        }
        next.tv_nsec += 20000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_nsec -= 1000000000;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    int64_t cpu = cs_recorder_writer_cpu_ns(r) - cpu0;
    cs_rec_session_stats_t st;
    cs_rec_session_stats(s, &st);
    printf("consult: 2 x (50 x 120 B + 100 x 1100 B)/s for %d s: writer CPU %.2f ms per "
           "recorded second (%.3f%% of a core); %llu chunks, %.1f kB/s to disk, %llu dropped\n",
           seconds, (double)cpu / 1e6 / seconds, (double)cpu / 1e7 / seconds,
           (unsigned long long)st.chunks, (double)st.bytes_written / 1e3 / seconds,
           (unsigned long long)dropped);
    close_and_remove(s, path);
    cs_recorder_free(r);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    int seconds = argc > 1 ? atoi(argv[1]) : 10;
    if (seconds < 1)
        seconds = 1;
    push_cost(dir);
    throughput(dir);
    consult(dir, seconds);
    return 0;
}
