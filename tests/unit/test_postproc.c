/*
 * test_postproc.c — media/postproc end to end, what a viewer sees and
 * hears: synthetic consultations (rtp_synth.h: libvpx and libopus media
 * packetised to RTP, sent over a simulated network) are written by the real
 * recorder into capture files, post-processed by cs_postproc_run, and the
 * sealed output is read back independently (webm_probe.h: cs_sealed_read,
 * libavformat, FFmpeg's own VP8 and Opus decoders): a WebM with one VP8 and
 * one Opus track spanning the recording, the tone at 440 Hz, a moving
 * picture, two members side by side in their colours with their names, a
 * late joiner appearing when they joined, a simulcast layer falling back,
 * black before anyone's camera, a paused camera held, a leaver's tile gone
 * two seconds later, a screen share as a tile, sound and picture in sync,
 * and a recording split over two files by a restart.
 * test_postproc_errors.c has the losses, the damage and the failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/postproc_fixture.h"

static void test_two_members_side_by_side(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 1);
    a.layers = 2;       /* simulcast: 320 × 180 and 640 × 360 */
    a.w[0] = 320, a.h[0] = 180, a.kbps[0] = 150;
    a.w[1] = 640, a.h[1] = 360, a.kbps[1] = 500;
    a.tone_hz = 440;
    synth_member_t b = member("bob", B_U, B_V, 2);
    assert_int_equal(synth_member(&rec, &a) + synth_member(&rec, &b), 0);
    uint64_t sent = rec.n - rec.tracks;
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    assert_false(res.incomplete);
    assert_string_equal(res.error, "");
    assert_int_equal(res.tracks_video, 3);
    assert_int_equal(res.tracks_audio, 2);
    assert_int_equal(res.packets_lost, 0);
    assert_int_equal(res.decode_errors, 0);
    assert_int_equal(res.packets, sent);
    assert_true(res.duration_ms > 9800 && res.duration_ms < 10300);
    assert_true(res.video_frames >= 245 && res.video_frames <= 258);
    assert_true(res.output_bytes > 100000);

    const double t[] = {2.0, 2.5, 6.0};
    webm_probe_t p;
    probe(fx, t, 3, &p);
    assert_int_equal(p.width, 960);
    assert_int_equal(p.height, 540);
    assert_true(fabs(p.duration_s - 10.0) < 0.5);
    assert_true(p.video_frames >= 245);
    assert_true(p.key_frames >= 3);     /* seekable: one every 3 s at most */
    /* Side by side: alice (her top layer, U + 24) left, bob right,
     * letterboxed (black above and below the 16:9 pictures). */
    assert_colour(&p, 2, 40, 440, A_U + 24, A_V);
    assert_colour(&p, 2, 520, 920, B_U, B_V);
    assert_true(probe_mean(&p, 2, 0, 0, 0, 960, 120) < 24);
    assert_true(probe_mean(&p, 2, 0, 0, 420, 960, 540) < 24);
    /* The bar moves: 12.5 frames of 1/100 of the width apart. */
    int x0 = bar_at(&p, 0, 200, 0, 480), x1 = bar_at(&p, 1, 200, 0, 480);
    assert_true(abs(x1 - x0) >= 30);
    /* The name band: dark, with the label's block in its left third. */
    double band_dark = probe_mean(&p, 2, 0, 200, 380, 460, 396);
    double band_text = probe_mean(&p, 2, 0, 20, 382, 140, 394);
    double above = probe_mean(&p, 2, 0, 200, 300, 460, 340);
    assert_true(band_dark < above - 15);
    assert_true(band_text > 200);
    /* Audio: the 440 Hz tone, nothing much elsewhere, over the whole span. */
    assert_int_equal(p.sample_rate, 48000);
    assert_true(fabs((double)p.n_samples / 48000 - 10.0) < 0.5);
    double power;
    for (double s = 0.5; s < 9.0; s += 2.0) {
        assert_true(tone_ratio(&p, s, 1.0, &power) > 100);
        assert_true(power > 0.01);
    }
    webm_probe_free(&p);
}

static void test_late_joiner(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 3);
    a.tone_hz = 440;
    synth_member_t b = member("bob", B_U, B_V, 4);
    b.join_s = 5.0;
    synth_member(&rec, &a);
    synth_member(&rec, &b);
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    assert_false(res.incomplete);
    const double t[] = {2.0, 4.7, 5.4, 9.0};
    webm_probe_t p;
    probe(fx, t, 4, &p);
    /* Before 5 s alice alone, full frame: her colour on the right too. */
    for (int i = 0; i < 2; i++) {
        double mu = probe_mean(&p, i, 1, 600, 100, 900, 400);
        assert_true(fabs(mu - A_U) < 12);
        assert_true(probe_mean(&p, i, 0, 600, 100, 900, 400) > 40);
    }
    /* From 5 s bob on the right, alice on the left. */
    for (int i = 2; i < 4; i++) {
        assert_colour(&p, i, 40, 440, A_U, A_V);
        assert_colour(&p, i, 520, 920, B_U, B_V);
    }
    webm_probe_free(&p);
}

static void test_simulcast_falls_back(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 5);
    a.layers = 2;
    a.w[0] = 320, a.h[0] = 180, a.kbps[0] = 150;
    a.w[1] = 640, a.h[1] = 360, a.kbps[1] = 500;
    a.layer_stop_s[1] = 5.0;    /* the top layer stops (the sender's bandwidth fell) */
    a.leave_s = 9;
    synth_member(&rec, &a);
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    const double t[] = {3.0, 4.9, 6.0, 8.0};
    webm_probe_t p;
    probe(fx, t, 4, &p);
    for (int i = 0; i < 4; i++) {
        double mu = probe_mean(&p, i, 1, 100, 100, 860, 400);
        int want = i < 2 ? A_U + 24 : A_U;   /* top layer, then the lower one */
        if (fabs(mu - want) > 10)
            fail_msg("at %.1f s U %.1f, expected %d", t[i], mu, want);
    }
    webm_probe_free(&p);
}

/* Nobody with video yet: black. A camera that pauses: its last frame held.
 * A member who leaves: their tile stays CS_PP_LINGER_US, then goes. */
static void test_black_gap_leave(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 12);
    a.tone_hz = 440;
    a.video_from_s = 2.0;
    a.gap_from_s = 4.0, a.gap_to_s = 6.5;
    synth_member_t b = member("bob", B_U, B_V, 13);
    b.join_s = 3.0, b.leave_s = 6.0;
    synth_member(&rec, &a);
    synth_member(&rec, &b);
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    assert_false(res.incomplete);
    assert_true(res.duration_ms > 9800 && res.duration_ms < 10300);
    const double t[] = {1.0, 2.5, 5.0, 7.0, 9.0};
    webm_probe_t p;
    probe(fx, t, 5, &p);
    assert_true(probe_mean(&p, 0, 0, 0, 0, 960, 540) < 20);     /* black */
    assert_true(fabs(probe_mean(&p, 0, 1, 0, 0, 960, 540) - 128) < 3);
    assert_true(fabs(probe_mean(&p, 1, 1, 600, 100, 900, 400) - A_U) < 12);  /* alice alone */
    assert_colour(&p, 2, 40, 440, A_U, A_V);    /* alice paused: her last frame */
    assert_colour(&p, 2, 520, 920, B_U, B_V);
    assert_colour(&p, 3, 520, 920, B_U, B_V);   /* bob left at 6 s, still there at 7 */
    assert_true(fabs(probe_mean(&p, 4, 1, 600, 100, 900, 400) - A_U) < 12);  /* then gone */
    webm_probe_free(&p);
}

typedef struct {
    char seen[4][CS_REC_ID_MAX + 16];
    int n;
} labels_t;

static int record_label(void *user, const char *text, int w, int h, uint8_t *alpha)
{
    labels_t *l = user;
    if (l->n < 4)
        cs_strlcpy(l->seen[l->n++], text, sizeof l->seen[0]);
    return block_label(NULL, text, w, h, alpha);
}

static bool label_seen(const labels_t *l, const char *text)
{
    for (int i = 0; i < l->n; i++)
        if (!strcmp(l->seen[i], text))
            return true;
    return false;
}

/* A screen share is a tile of its own, named after its member. */
static void test_screen_share(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 14);
    a.name = "Dr Alice";
    a.leave_s = 5;
    synth_member_t sc = a;
    sc.source = "screen";
    sc.u = 150, sc.v = 60;
    sc.w[0] = 1280, sc.h[0] = 720, sc.kbps[0] = 800, sc.fps = 5;
    sc.tone_hz = -1;            /* no microphone of its own */
    sc.join_s = 1.0;
    sc.seed = 15;
    synth_member(&rec, &a);
    synth_member(&rec, &sc);
    record_file(fx, &rec, key, 0);
    cs_postproc_job_t job = job_of(fx, 1);
    labels_t labels = {0};
    job.label = record_label;
    job.label_user = &labels;
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_true(label_seen(&labels, "Dr Alice"));
    assert_true(label_seen(&labels, "Dr Alice \xe2\x80\x94 screen"));
    const double t[] = {3.0};
    webm_probe_t p;
    probe(fx, t, 1, &p);
    assert_colour(&p, 0, 40, 440, A_U, A_V);
    assert_colour(&p, 0, 520, 920, 150, 60);
    webm_probe_free(&p);
}

/* A flash and the start of a tone at the same instant of the sender's
 * capture come out together, whatever the clocks and the network did. */
static void test_av_sync(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 16);
    a.tone_hz = 440;
    a.tone_from_s = 3.0;
    a.flash_s = 3.0;
    a.audio_ppm = 100, a.video_ppm = -50;
    a.jitter_ms = 60;
    a.leave_s = 6;
    synth_member(&rec, &a);
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    webm_probe_t p;
    probe(fx, NULL, 0, &p);
    int64_t flash = -1, onset = -1;
    for (int i = 0; i < p.video_frames && flash < 0; i++)
        if (p.frame_luma[i] > 150)
            flash = p.frame_ms[i];
    for (size_t i = 48000; i < p.n_samples && onset < 0; i++)
        if (fabsf(p.audio[i]) > 0.05f)
            onset = (int64_t)(i * 1000 / 48000);
    print_message("av sync: flash at %lld ms, tone at %lld ms\n", (long long)flash,
                  (long long)onset);
    assert_true(flash > 2500 && onset > 2500);
    /* Each output frame (40 ms at 25 fps) shows the nearest picture. */
    assert_true(llabs(flash - onset) <= 30);
    webm_probe_free(&p);
}

/* A gateway restart: the second half in a second file, 5 s later by the wall
 * clock, its own arrival clock starting at zero again. */
static void test_two_files(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 9);
    a.tone_hz = 440;
    synth_member_t b = member("bob", B_U, B_V, 10);
    synth_member(&rec, &a);
    synth_member(&rec, &b);
    synth_rec_sort(&rec);
    size_t cut = 0;
    while (cut < rec.n && rec.r[cut].arrival_us < 5000000)
        cut++;
    assert_int_equal(synth_rec_write(&rec, 0, cut, 0, fx->cap[0], key, 1700000000000), CS_OK);
    assert_int_equal(
        synth_rec_write(&rec, cut, rec.n, 5000000, fx->cap[1], key, 1700000005000), CS_OK);
    synth_rec_free(&rec);
    cs_postproc_job_t job = job_of(fx, 2);
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_int_equal(res.tracks_video, 4);     /* declared again in the second file */
    const double t[] = {2.0, 8.0};
    webm_probe_t p;
    probe(fx, t, 2, &p);
    assert_true(fabs(p.duration_s - 10.0) < 0.5);
    for (int i = 0; i < 2; i++) {
        assert_colour(&p, i, 40, 440, A_U, A_V);
        assert_colour(&p, i, 520, 920, B_U, B_V);
    }
    double power;
    assert_true(tone_ratio(&p, 1.0, 3.0, &power) > 100);
    assert_true(tone_ratio(&p, 6.0, 3.0, &power) > 100);
    webm_probe_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_members_side_by_side, setup, teardown),
        cmocka_unit_test_setup_teardown(test_late_joiner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_simulcast_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_black_gap_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(test_screen_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_av_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_files, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
