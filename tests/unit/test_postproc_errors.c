/*
 * test_postproc_errors.c — media/postproc end to end when things go wrong
 * (same fixture as test_postproc.c): 2% of packets lost and never
 * repaired, a damaged chunk and a cut last chunk, a file never closed, are
 * survived and reported (res->incomplete, the counts, the sentence) with
 * the rest of the recording intact; an input under another key, no media,
 * media only in a codec we do not decode, nothing readable, cancelling, bad
 * jobs and an existing output fail as the header says, leaving no output.
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

static void test_loss_reported_and_survived(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 6);
    a.tone_hz = 440;
    a.loss = 0.02;
    a.noise = 2;        /* frames of several packets, as a camera's are */
    synth_member_t b = member("bob", B_U, B_V, 7);
    b.loss = 0.02;
    b.noise = 2;
    uint64_t lost = synth_member(&rec, &a) + synth_member(&rec, &b);
    assert_true(lost > 20);
    cs_postproc_result_t res;
    assert_int_equal(record_and_run(fx, &rec, &res), CS_OK);
    assert_true(res.incomplete);
    /* Losses before a stream's first or after its last packet are invisible. */
    assert_true(res.packets_lost <= lost && res.packets_lost >= lost * 8 / 10);
    assert_true(res.decode_errors > 0);
    assert_non_null(strstr(res.error, "packets lost"));
    assert_non_null(strstr(res.error, "could not be decoded"));
    assert_true(res.video_frames >= 245);
    const double t[] = {1.0, 3.0, 5.0, 7.0, 9.0};
    webm_probe_t p;
    probe(fx, t, 5, &p);
    assert_true(fabs(p.duration_s - 10.0) < 0.5);
    /* No garbage: whatever was lost, each tile shows its member's colours. */
    for (int i = 0; i < 5; i++) {
        assert_colour(&p, i, 40, 440, A_U, A_V);
        assert_colour(&p, i, 520, 920, B_U, B_V);
    }
    double power;
    assert_true(tone_ratio(&p, 2.0, 6.0, &power) > 30);
    webm_probe_free(&p);
}

/* Where the chunks of a capture file start (layout in
 * media/recorder/internal.h: a 164-byte header, then chunks of "CSCK",
 * index, length n, n bytes, a 16-byte tag). */
static int chunk_offsets(FILE *f, long *offs, int max)
{
    int n = 0;
    uint8_t hdr[12];
    long pos = 164;
    while (n < max && fseek(f, pos, SEEK_SET) == 0 && fread(hdr, 1, 12, f) == 12 &&
           !memcmp(hdr, "CSCK", 4)) {
        offs[n++] = pos;
        pos += 12 + (long)cs_rd32(hdr + 8) + 16;
    }
    return n;
}

/* Flips bytes inside the ciphertext of the middle chunk. */
static void damage_middle_chunk(const char *path)
{
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    long offs[4096];
    int n = chunk_offsets(f, offs, 4096);
    assert_true(n >= 8);
    long at = offs[n / 2] + 12 + 20;
    uint8_t b[8];
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    assert_int_equal(fread(b, 1, 8, f), 8);
    for (int i = 0; i < 8; i++)
        b[i] ^= 0x5a;
    assert_int_equal(fseek(f, at, SEEK_SET), 0);
    assert_int_equal(fwrite(b, 1, 8, f), 8);
    fclose(f);
}

static void test_damaged_chunk(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 8);
    a.tone_hz = 440;
    synth_member(&rec, &a);
    record_file(fx, &rec, key, 2);
    damage_middle_chunk(fx->cap[0]);
    /* And the gateway stopped in the middle of writing its last chunk. */
    struct stat sb;
    assert_int_equal(stat(fx->cap[0], &sb), 0);
    assert_int_equal(truncate(fx->cap[0], sb.st_size - 100), 0);
    cs_postproc_job_t job = job_of(fx, 1);
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_true(res.incomplete);
    assert_int_equal(res.chunks_bad, 1);
    assert_true(res.truncated);
    assert_true(res.packets_lost > 0);
    assert_non_null(strstr(res.error, "1 damaged chunk skipped; the last chunk was cut short "
                                      "(gateway stopped abruptly); "));
    assert_non_null(strstr(res.error, " packets lost"));
    const double t[] = {1.0, 9.0};
    webm_probe_t p;
    probe(fx, t, 2, &p);
    /* The rest is there: the whole span, the tone at both ends. */
    assert_true(fabs(p.duration_s - 10.0) < 0.5);
    double power;
    assert_true(tone_ratio(&p, 0.5, 1.0, &power) > 100);
    assert_true(tone_ratio(&p, 8.5, 1.0, &power) > 100);
    webm_probe_free(&p);
}

/* A gateway killed between two chunks: every chunk whole, no end record. */
static void test_unclosed(void **state)
{
    fx_t *fx = *state;
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 17);
    a.leave_s = 4;
    synth_member(&rec, &a);
    record_file(fx, &rec, key, 2);
    FILE *f = fopen(fx->cap[0], "rb");
    assert_non_null(f);
    long offs[4096];
    int n = chunk_offsets(f, offs, 4096);
    fclose(f);
    assert_true(n >= 4);
    assert_int_equal(truncate(fx->cap[0], offs[n - 1]), 0);  /* the last chunk, end record */
    cs_postproc_job_t job = job_of(fx, 1);
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_true(res.incomplete);
    assert_false(res.truncated);
    assert_int_equal(res.chunks_bad, 0);
    assert_non_null(strstr(res.error, "the recording was not closed (gateway stopped abruptly)"));
}

static void write_short(fx_t *fx, const uint8_t *k)
{
    synth_rec_t rec = {0};
    synth_member_t a = member("alice", A_U, A_V, 11);
    a.leave_s = 3;
    synth_member(&rec, &a);
    record_file(fx, &rec, k, 0);
}

static void test_unknown_key(void **state)
{
    fx_t *fx = *state;
    uint8_t other[CS_REC_KEY_LEN];
    memset(other, 7, sizeof other);
    write_short(fx, other);
    cs_postproc_job_t job = job_of(fx, 1);
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EAUTH);
    assert_true(strlen(res.error) > 0);
    assert_false(exists(fx->out));
}

static void test_no_media(void **state)
{
    fx_t *fx = *state;
    /* Tracks declared, no packet ever. */
    synth_rec_t rec = {0};
    cs_rec_track_t t = {.kind = CS_REC_AUDIO, .payload_type = 111, .clock_rate = 48000};
    strcpy(t.codec, "opus");
    strcpy(t.member_id, "alice");
    synth_rec_track(&rec, &t, 0);
    record_file(fx, &rec, key, 0);
    cs_postproc_job_t job = job_of(fx, 1);
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_ENOTFOUND);
    assert_non_null(strstr(res.error, "no media"));
    assert_false(exists(fx->out));
    /* Media only in a codec we do not decode. */
    unlink(fx->cap[0]);
    t.kind = CS_REC_VIDEO, t.clock_rate = 90000, t.payload_type = 102;
    strcpy(t.codec, "H264");
    uint16_t no = synth_rec_track(&rec, &t, 0);
    uint8_t pkt[64];
    synth_rtp_t r = {.ssrc = 1, .pt = 102};
    const uint8_t nal[] = {0x65, 1, 2, 3};
    size_t n = synth_rtp_packet(&r, 0, true, nal, sizeof nal, pkt, sizeof pkt);
    synth_rec_packet(&rec, no, 1000, pkt, n);
    record_file(fx, &rec, key, 0);
    assert_int_equal(cs_postproc_run(&job, &res), CS_ENOTFOUND);
    assert_string_equal(res.error, "no VP8 or Opus media in any input");
    assert_int_equal(res.tracks_video, 1);
    assert_false(exists(fx->out));
    /* Nothing readable at all is an I/O error. */
    const char *missing[] = {"/nonexistent/x.cap"};
    job = job_of(fx, 1);
    job.inputs = missing;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EIO);
    assert_false(exists(fx->out));
}

typedef struct {
    volatile bool cancel;
    double last;
    int calls;
} progress_t;

static void on_progress(void *user, double f)
{
    progress_t *p = user;
    assert_true(f >= p->last && f <= 1.0);
    p->last = f;
    p->calls++;
    if (f >= 0.4)
        p->cancel = true;
}

static void test_cancel(void **state)
{
    fx_t *fx = *state;
    write_short(fx, key);
    cs_postproc_job_t job = job_of(fx, 1);
    progress_t pr = {0};
    job.progress = on_progress;
    job.progress_user = &pr;
    job.cancel = &pr.cancel;
    cs_postproc_result_t res;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EAGAIN);
    assert_true(pr.calls > 1);
    assert_false(exists(fx->out));
    /* Uncancelled, progress runs to the end. */
    pr = (progress_t){0};
    job.cancel = NULL;
    job.progress = NULL;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_true(exists(fx->out));
}

static void test_bad_jobs(void **state)
{
    fx_t *fx = *state;
    write_short(fx, key);
    cs_postproc_result_t res;
    cs_postproc_job_t job = job_of(fx, 1);
    job.width = 961;
    job.height = 540;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EINVAL);
    job = job_of(fx, 1);
    job.n_inputs = 0;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EINVAL);
    job = job_of(fx, 1);
    job.fps = 500;
    assert_int_equal(cs_postproc_run(&job, &res), CS_EINVAL);
    assert_false(exists(fx->out));
    /* An existing output is neither overwritten nor removed. */
    FILE *f = fopen(fx->out, "wb");
    assert_non_null(f);
    fputs("keep", f);
    fclose(f);
    job = job_of(fx, 1);
    assert_int_equal(cs_postproc_run(&job, &res), CS_EEXIST);
    struct stat sb;
    assert_int_equal(stat(fx->out, &sb), 0);
    assert_int_equal(sb.st_size, 4);
    /* A smaller output at another rate. */
    unlink(fx->out);
    job.width = 320;
    job.height = 240;
    job.fps = 10;
    job.label = NULL;
    assert_int_equal(cs_postproc_run(&job, &res), CS_OK);
    assert_true(res.video_frames >= 29 && res.video_frames <= 32);
    webm_probe_t p;
    probe(fx, NULL, 0, &p);
    assert_int_equal(p.width, 320);
    assert_int_equal(p.height, 240);
    webm_probe_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_loss_reported_and_survived, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_chunk, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unclosed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_media, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_jobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
