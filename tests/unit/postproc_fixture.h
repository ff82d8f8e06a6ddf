/*
 * postproc_fixture.h — what the end-to-end tests of media/postproc share: a
 * temporary folder per test with capture files and the output, the master
 * key, members of a synthetic consultation (rtp_synth.h), running the job
 * on what the real recorder wrote, and reading the output back
 * (webm_probe.h) with the checks on it: a WebM with one VP8 and one Opus
 * track, the colour of a tile, the strength of the 440 Hz tone.
 *
 * Test-only; include after cmocka.h.
 */
#ifndef CS_TEST_POSTPROC_FIXTURE_H
#define CS_TEST_POSTPROC_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "media/postproc/postproc.h"
#include "media/recorder/recorder.h"
#include "tests/unit/rtp_synth.h"
#include "tests/unit/webm_probe.h"

static const uint8_t key[CS_REC_KEY_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/* Colours (U, V) of the members' cameras; layer 1 adds 24 to U. */
#define A_U 90
#define A_V 200
#define B_U 200
#define B_V 90

typedef struct {
    char dir[64];
    char cap[2][128];
    const char *inputs[2];           /* cap[0], cap[1] */
    char out[128];
    char plain[128];
} fx_t;

static inline int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof *fx);
    assert_non_null(fx);
    strcpy(fx->dir, "/tmp/cs-postproc-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    for (int i = 0; i < 2; i++) {
        snprintf(fx->cap[i], sizeof fx->cap[i], "%s/part%d.cap", fx->dir, i);
        fx->inputs[i] = fx->cap[i];
    }
    snprintf(fx->out, sizeof fx->out, "%s/out.sealed", fx->dir);
    snprintf(fx->plain, sizeof fx->plain, "%s/out.webm", fx->dir);
    *state = fx;
    return 0;
}

static inline int teardown(void **state)
{
    fx_t *fx = *state;
    for (int i = 0; i < 2; i++)
        unlink(fx->cap[i]);
    unlink(fx->out);
    unlink(fx->plain);
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static inline bool exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* A stand-in for the gateway's text renderer: a solid block where the
 * text would be (the left third of the band, its middle half). */
static inline int block_label(void *user, const char *text, int w, int h, uint8_t *alpha)
{
    (void)user;
    assert_true(strlen(text) > 0);
    for (int y = h / 4; y < 3 * h / 4; y++)
        memset(alpha + (size_t)y * w, 255, (size_t)w / 3);
    return 0;
}

static inline synth_member_t member(const char *id, uint8_t u, uint8_t v, uint64_t seed)
{
    synth_member_t m = {.member_id = id, .name = id, .u = u, .v = v, .layers = 1,
                        .w = {640}, .h = {360}, .kbps = {500}, .fps = 30, .tone_hz = 0,
                        .join_s = 0, .leave_s = 10, .delay_ms = 40, .jitter_ms = 20,
                        .seed = seed};
    return m;
}

/* The job over the first n capture files. */
static inline cs_postproc_job_t job_of(fx_t *fx, size_t n)
{
    cs_postproc_job_t job = {.inputs = fx->inputs, .n_inputs = n, .master_key = key,
                             .output_path = fx->out, .label = block_label};
    return job;
}

/* Records (sorted here, then freed) → the first capture file under k, by
 * the real recorder; pace_ms as synth_rec_write_paced. */
static inline void record_file(fx_t *fx, synth_rec_t *rec, const uint8_t *k, unsigned pace_ms)
{
    synth_rec_sort(rec);
    assert_int_equal(
        synth_rec_write_paced(rec, 0, rec->n, 0, fx->cap[0], k, 1700000000000, pace_ms), CS_OK);
    synth_rec_free(rec);
}

/* Records → one capture file → the job (rec is freed). */
static inline int record_and_run(fx_t *fx, synth_rec_t *rec, cs_postproc_result_t *res)
{
    record_file(fx, rec, key, 0);
    cs_postproc_job_t job = job_of(fx, 1);
    return cs_postproc_run(&job, res);
}

static inline void probe(fx_t *fx, const double *times, int n, webm_probe_t *p)
{
    assert_int_equal(webm_decrypt(fx->out, key, fx->plain), CS_OK);
    assert_int_equal(webm_probe(fx->plain, times, n, p), 0);
    assert_true(p->webm_doctype);
    assert_non_null(strstr(p->format, "webm"));
    assert_int_equal(p->n_video, 1);
    assert_int_equal(p->n_audio, 1);
    assert_int_equal(p->vcodec, AV_CODEC_ID_VP8);
    assert_int_equal(p->acodec, AV_CODEC_ID_OPUS);
    for (int i = 0; i < n; i++)
        assert_true(p->snap_pts[i] >= 0);
}

/* The x (in [x0, x1)) of the brightest column of row y: where the bar is. */
static inline int bar_at(const webm_probe_t *p, int snap, int y, int x0, int x1)
{
    int best = x0;
    double top = -1;
    for (int x = x0; x + 8 <= x1; x += 4) {
        double m = probe_mean(p, snap, 0, x, y, x + 8, y + 8);
        if (m > top) {
            top = m;
            best = x;
        }
    }
    return best;
}

static inline double tone_ratio(const webm_probe_t *p, double from_s, double len_s,
                                double *power)
{
    size_t a = (size_t)(from_s * 48000), n = (size_t)(len_s * 48000);
    assert_true(a + n <= p->n_samples);
    double on = goertzel(p->audio + a, n, 440, 48000);
    double off = goertzel(p->audio + a, n, 1000, 48000) + goertzel(p->audio + a, n, 2500, 48000) +
                 goertzel(p->audio + a, n, 300, 48000);
    *power = on;
    return on / (off + 1e-12);
}

/* Tiles of two members in 960 × 540: cells 480 × 540, pictures 480 × 270
 * at y 134..404 (even rows), the name band in the bottom 32 rows. */
static inline void assert_colour(const webm_probe_t *p, int snap, int x0, int x1, int u,
                                 int v)
{
    double mu = probe_mean(p, snap, 1, x0, 150, x1, 350);
    double mv = probe_mean(p, snap, 2, x0, 150, x1, 350);
    if (fabs(mu - u) > 12 || fabs(mv - v) > 12)
        fail_msg("snap %d x %d..%d: U %.1f V %.1f, expected %d %d", snap, x0, x1, mu, mv, u, v);
}

#endif
