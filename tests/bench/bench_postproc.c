/*
 * bench_postproc.c — how fast one recording becomes a WebM: a synthetic
 * 60 s consultation of two members (each a 640 × 360, 30 fps VP8 camera of
 * ~600 kbit/s with sensor noise, and Opus), written by the real recorder
 * into a capture file, then post-processed at the default output (960 × 540,
 * 25 fps, 1200 kbit/s VP8, 48 kbit/s Opus). The job is single-threaded;
 * prints seconds of media per second of CPU (× real time per core), the
 * output's size and bitrate.
 *
 *   build/bench/bench_postproc [seconds]     (default 60)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "media/postproc/postproc.h"
#include "tests/unit/rtp_synth.h"

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
    return (double)cs_mono_us() / 1e6;
}

static synth_member_t member(const char *id, uint8_t u, uint8_t v, uint64_t seed, double secs)
{
    synth_member_t m = {.member_id = id, .name = id, .u = u, .v = v, .layers = 1,
                        .w = {640}, .h = {360}, .kbps = {650}, .fps = 30, .tone_hz = 440,
                        .join_s = 0, .leave_s = secs, .delay_ms = 40, .jitter_ms = 20,
                        .noise = 4, .seed = seed};
    return m;
}

static int label(void *user, const char *text, int w, int h, uint8_t *alpha)
{
    (void)user, (void)text;
    for (int y = h / 4; y < 3 * h / 4; y++)
        memset(alpha + (size_t)y * w, 255, (size_t)w / 3);
    return 0;
}

/* The synthetic consultation, through the real recorder into cap. */
static int make_recording(double secs, const char *cap, const uint8_t *key)
{
    double c0 = cpu_s();
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", 90, 200, 1, secs), b = member("bob", 200, 90, 2, secs);
    b.tone_hz = 660;
    synth_member(&rec, &a);
    synth_member(&rec, &b);
    synth_rec_sort(&rec);
    uint64_t in_bytes = 0;
    for (size_t i = 0; i < rec.n; i++)
        in_bytes += rec.r[i].len;
    int rc = synth_rec_write(&rec, 0, rec.n, 0, cap, key, 1700000000000);
    size_t packets = rec.n - rec.tracks;
    synth_rec_free(&rec);
    if (rc != CS_OK)
        fprintf(stderr, "bench_postproc: cannot write the capture file: %s\n", cs_strerror(rc));
    else
        printf("input: %.0f s, 2 members, %zu packets, %.0f kbit/s of RTP (made in %.1f s CPU)\n",
               secs, packets, in_bytes * 8 / secs / 1000, cpu_s() - c0);
    return rc;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 60;
    if (secs < 5 || secs > 3600) {
        fprintf(stderr, "usage: bench_postproc [seconds 5..3600]\n");
        return 2;
    }
    uint8_t key[CS_REC_KEY_LEN];
    memset(key, 0x42, sizeof key);
    char dir[] = "/tmp/cs-bench-postproc-XXXXXX", cap[96], out[96];
    if (!mkdtemp(dir))
        return 1;
    snprintf(cap, sizeof cap, "%s/rec.cap", dir);
    snprintf(out, sizeof out, "%s/out.sealed", dir);
    int rc = make_recording(secs, cap, key);
    if (rc != CS_OK) {
        unlink(cap);
        rmdir(dir);
        return 1;
    }

    const char *inputs[] = {cap};
    cs_postproc_job_t job = {.inputs = inputs, .n_inputs = 1, .master_key = key,
                             .output_path = out, .label = label};
    cs_postproc_result_t res;
    double t0 = cpu_s(), w0 = wall_s();
    rc = cs_postproc_run(&job, &res);
    double cpu = cpu_s() - t0, wall = wall_s() - w0;
    unlink(cap);
    unlink(out);
    rmdir(dir);
    if (rc != CS_OK) {
        fprintf(stderr, "bench_postproc: job failed: %s (%s)\n", cs_strerror(rc), res.error);
        return 1;
    }
    double media = (double)res.duration_ms / 1000;
    printf("post-processing 960x540 25 fps: %.2f s CPU (%.2f s wall) for %.1f s of media\n", cpu,
           wall, media);
    printf("  %.1f x real time per core; output %llu bytes (%.0f kbit/s), %llu video frames%s\n",
           media / cpu, (unsigned long long)res.output_bytes, res.output_bytes * 8 / media / 1000,
           (unsigned long long)res.video_frames, res.incomplete ? ", INCOMPLETE" : "");
    return 0;
}
