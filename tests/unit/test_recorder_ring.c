/*
 * test_recorder_ring.c — media/recorder's ring and writer thread: records
 * wrap around the ring intact; a full ring refuses packets (CS_ELIMIT,
 * counted per session as dropped) while the writer is held up, and takes
 * them again once it has caught up; a quiet session is still flushed on
 * time; several threads pushing to several sessions at once lose nothing
 * they were told was taken and keep each thread's order; a close while
 * threads push ends the file cleanly; references taken and dropped on any
 * thread free the session once, after the writer is done with it;
 * cs_recorder_free finishes every open session; a copy of a file taken
 * while recording (a kill -9) holds every flushed record; a full disk
 * fails one session (ENOSPC) and not the others.
 *
 * The writer is held up with the test hook cs_recorder_test_pause
 * (internal.h), not by a slow disk, so nothing here depends on timing.
 * Run it under the -san build too (ASan, UBSan, leak checks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>

#include "tests/unit/recorder_fixture.h"

static int setup(void **state)
{
    *state = fx_new("/tmp/cs-test-recring-XXXXXX");
    return 0;
}

static int teardown(void **state)
{
    return fx_free(*state);
}

static cs_rec_session_t *open_in(cs_recorder_t *r, const char *dir, const char *name,
                                 char *path)
{
    snprintf(path, 128, "%s/%s", dir, name);
    cs_rec_session_t *s = NULL;
    assert_int_equal(cs_recorder_open(r, path, name, 1, 0, &s), CS_OK);
    cs_rec_track_t t = {.kind = CS_REC_VIDEO, .clock_rate = 90000, .codec = "VP8"};
    assert_int_equal(cs_recorder_add_track(s, &t), 0);
    return s;
}

static cs_rec_session_t *open_at(cs_recorder_t *r, fx_t *f, const char *name, char *path)
{
    return open_in(r, f->dir, name, path);
}

/* A packet saying who sent it: producer, sequence number, then filler. */
static size_t make_pkt(uint8_t *b, int who, uint32_t seq)
{
    size_t len = 8 + (seq * 13 + (unsigned)who) % 1200;
    cs_wr32(b, (uint32_t)who);
    cs_wr32(b + 4, seq);
    for (size_t k = 8; k < len; k++)
        b[k] = (uint8_t)(seq + k);
    return len;
}

static void check_pkt(const cs_capture_record_t *rec, int *who, uint32_t *seq)
{
    uint8_t b[CS_REC_PACKET_MAX];
    assert_true(rec->len >= 8);
    *who = (int)cs_rd32(rec->data);
    *seq = cs_rd32(rec->data + 4);
    assert_int_equal(make_pkt(b, *who, *seq), rec->len);
    assert_memory_equal(b, rec->data, rec->len);
}

static size_t ring_used(cs_recorder_t *r)
{
    pthread_mutex_lock(&r->mu);
    size_t n = r->ring.used;
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Until the writer has taken everything out of the ring. */
static void wait_drained(cs_recorder_t *r)
{
    for (int i = 0; i < 20000 && ring_used(r); i++)
        usleep(1000);
    assert_int_equal(ring_used(r), 0);
}

/* Reads a file; per producer the next sequence number expected (all must
 * come in order, none twice). Returns the packets read. */
static int read_info(const char *path, uint32_t *next, int producers, cs_capture_info_t *info)
{
    cs_capture_reader_t *r = NULL;
    assert_int_equal(cs_capture_reader_open(path, KEY, &r), CS_OK);
    cs_capture_record_t rec;
    int n = 0, rc, who;
    uint32_t seq;
    while ((rc = cs_capture_reader_next(r, &rec)) == 1) {
        if (rec.type != CS_CAP_PACKET)
            continue;
        check_pkt(&rec, &who, &seq);
        assert_true(who >= 0 && who < producers);
        assert_true(seq >= next[who]);   /* order kept; gaps only where dropped */
        next[who] = seq + 1;
        n++;
    }
    assert_int_equal(rc, 0);
    cs_capture_reader_info(r, info);
    cs_capture_reader_free(r);
    return n;
}

/* The same, for a file that must be whole up to where it ends. */
static int read_file(const char *path, uint32_t *next, int producers, bool *clean)
{
    cs_capture_info_t info;
    int n = read_info(path, next, producers, &info);
    assert_int_equal(info.chunks_bad, 0);
    assert_false(info.truncated);
    *clean = info.clean_end;
    return n;
}

/* ---- the ring itself ------------------------------------------------------------ */

static void test_ring_wraps(void **state)
{
    (void)state;
    ring_t q;
    size_t cap = ring_need(CS_REC_PACKET_MAX) * 3 + 40;
    assert_int_equal(ring_init(&q, ring_need(CS_REC_PACKET_MAX) - 1), CS_EINVAL);
    assert_int_equal(ring_init(&q, cap), CS_OK);
    uint8_t in[CS_REC_PACKET_MAX], out[CS_REC_PACKET_MAX];
    uint32_t put = 0, got = 0;
    for (int round = 0; round < 2000; round++) {
        /* fill as far as it goes, then take a few out */
        for (;;) {
            ring_rec_t h = {.s = (cs_rec_session_t *)(uintptr_t)(put + 1),
                            .arrival_us = -(int64_t)put, .track = (uint16_t)put,
                            .type = CAP_REC_PACKET};
            h.len = (uint32_t)make_pkt(in, 1, put);
            size_t before = q.used;
            if (!ring_put(&q, &h, in)) {
                assert_true(cap - before < ring_need(h.len));   /* it really did not fit */
                break;
            }
            assert_int_equal(q.used, before + ring_need(h.len));
            put++;
        }
        size_t pos = ring_tail(&q), taken = 0;
        for (int k = 0; k < 1 + round % 3 && got < put; k++, got++) {
            ring_rec_t h;
            taken += ring_peek(&q, &pos, &h, out, sizeof out);
            assert_ptr_equal(h.s, (cs_rec_session_t *)(uintptr_t)(got + 1));
            assert_int_equal(h.arrival_us, -(int64_t)got);
            assert_int_equal(h.track, (uint16_t)got);
            assert_int_equal(h.len, make_pkt(in, 1, got));
            assert_memory_equal(out, in, h.len);
        }
        ring_consume(&q, taken);
    }
    assert_true(put > 2000);
    ring_free(&q);
}

/* ---- the writer ---------------------------------------------------------------- */

static void test_full_ring_drops_and_recovers(void **state)
{
    fx_t *f = *state;
    char pa[128], pb[128];
    cs_recorder_t *r = new_recorder(KEY, 32 * 1024, 1000);
    cs_rec_session_t *a = open_at(r, f, "a.cap", pa), *b = open_at(r, f, "b.cap", pb);
    cs_recorder_test_pause(r, true);
    uint8_t pkt[CS_REC_PACKET_MAX];
    uint32_t seq = 0;
    int rc;
    while ((rc = cs_recorder_push(a, 0, 0, pkt, make_pkt(pkt, 0, seq))) == CS_OK)
        seq++;
    assert_int_equal(rc, CS_ELIMIT);
    assert_true(seq > 10 && seq < 32 * 1024 / 8);
    for (int i = 0; i < 9; i++)   /* one refused above, nine more */
        assert_int_equal(cs_recorder_push(a, 0, 0, pkt, make_pkt(pkt, 0, seq)), CS_ELIMIT);
    for (int i = 0; i < 4; i++)   /* the ring is shared: b is refused too */
        assert_int_equal(cs_recorder_push(b, 0, 0, pkt, CS_REC_PACKET_MAX), CS_ELIMIT);
    cs_rec_track_t t = {.kind = CS_REC_AUDIO, .codec = "opus"};
    int declared = 1;   /* track 0, at open */
    while ((rc = cs_recorder_add_track(b, &t)) >= 0)   /* declarations fill the last bytes */
        assert_int_equal(rc, declared++);
    assert_int_equal(rc, CS_ELIMIT);
    cs_rec_session_stats_t sa, sb;
    cs_rec_session_stats(a, &sa);
    cs_rec_session_stats(b, &sb);
    assert_int_equal(sa.packets, seq);
    assert_int_equal(sa.dropped, 10);
    assert_int_equal(sb.packets, 0);
    assert_int_equal(sb.dropped, 4);

    cs_recorder_test_pause(r, false);
    wait_drained(r);
    uint32_t accepted = seq;
    for (int i = 0; i < 5; i++, seq++)
        assert_int_equal(cs_recorder_push(a, 0, 0, pkt, make_pkt(pkt, 0, seq)), CS_OK);
    int tn = cs_recorder_add_track(b, &t);
    assert_int_equal(tn, declared);   /* the refused one took no number */
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(cs_recorder_push(b, (uint16_t)tn, 0, pkt, make_pkt(pkt, 1, i)), CS_OK);
    cs_recorder_close(a);
    cs_recorder_close(b);
    wait_stats(a, &sa, true, 0);
    wait_stats(b, &sb, true, 0);
    assert_int_equal(sa.packets, accepted + 5);
    assert_int_equal(sa.dropped, 10);
    assert_int_equal(sb.packets, 3);
    cs_rec_session_release(a);
    cs_rec_session_release(b);
    cs_recorder_free(r);

    uint32_t next[2] = {0, 0};
    bool clean;
    assert_int_equal(read_file(pa, next, 2, &clean), (int)accepted + 5);
    assert_int_equal(next[0], seq);
    assert_true(clean);
    next[1] = 0;
    assert_int_equal(read_file(pb, next, 2, &clean), 3);
    assert_true(clean);
}

static void test_quiet_session_flushed(void **state)
{
    fx_t *f = *state;
    char p[128];
    cs_recorder_t *r = new_recorder(KEY, 0, 30);
    cs_rec_session_t *s = open_at(r, f, "q.cap", p);
    uint8_t pkt[CS_REC_PACKET_MAX];
    cs_rec_session_stats_t st;
    for (uint32_t round = 0; round < 3; round++) {
        assert_int_equal(cs_recorder_push(s, 0, 0, pkt, make_pkt(pkt, 0, round)), CS_OK);
        for (int i = 0; i < 20000; i++) {   /* no further push comes to wake the writer */
            cs_rec_session_stats(s, &st);
            if (st.chunks > round)
                break;
            usleep(1000);
        }
        assert_int_equal(st.chunks, round + 1);
        assert_false(st.finished);
    }
    uint32_t next[1] = {0};
    bool clean;
    assert_int_equal(read_file(p, next, 1, &clean), 3);   /* while still open */
    assert_false(clean);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(st.bytes_written, (uint64_t)sb.st_size);
    cs_recorder_free(r);   /* finishes s */
    cs_rec_session_stats(s, &st);
    assert_true(st.finished);
    cs_rec_session_release(s);
    next[0] = 0;
    assert_int_equal(read_file(p, next, 1, &clean), 3);
    assert_true(clean);
}

/* ---- threads ------------------------------------------------------------------- */

#define PRODUCERS 4
#define SESSIONS 3
#define PER_SESSION 3000

typedef struct {
    int id;
    cs_rec_session_t **sessions;
    bool retry;                      /* push again after CS_ELIMIT until taken */
    uint64_t taken[SESSIONS], refused[SESSIONS];
    bool stopped[SESSIONS];          /* saw CS_ESTATE */
    pthread_barrier_t *go;
} producer_t;

static void *producer_main(void *arg)
{
    producer_t *p = arg;
    uint8_t pkt[CS_REC_PACKET_MAX];
    for (int k = 0; k < SESSIONS; k++)
        cs_rec_session_retain(p->sessions[k]);
    pthread_barrier_wait(p->go);
    for (uint32_t seq = 0; seq < PER_SESSION; seq++) {
        for (int k = 0; k < SESSIONS; k++) {
            if (p->stopped[k])
                continue;
            size_t n = make_pkt(pkt, p->id, seq);
            int rc;
            while ((rc = cs_recorder_push(p->sessions[k], 0, seq, pkt, n)) == CS_ELIMIT) {
                p->refused[k]++;
                if (!p->retry)
                    break;
                sched_yield();
            }
            if (rc == CS_OK)
                p->taken[k]++;
            else if (rc == CS_ESTATE)
                p->stopped[k] = true;
            else
                assert_int_equal(rc, CS_ELIMIT);
        }
    }
    for (int k = 0; k < SESSIONS; k++)
        cs_rec_session_release(p->sessions[k]);
    return NULL;
}

static void run_producers(fx_t *f, size_t ring_bytes, bool retry, bool close_early)
{
    cs_recorder_t *r = new_recorder(KEY, ring_bytes, 20);
    char paths[SESSIONS][128], name[16];
    cs_rec_session_t *s[SESSIONS];
    for (int k = 0; k < SESSIONS; k++) {
        snprintf(name, sizeof name, "t%d.cap", k);
        s[k] = open_at(r, f, name, paths[k]);
    }
    producer_t p[PRODUCERS];
    pthread_t th[PRODUCERS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, PRODUCERS + 1);
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (producer_t){.id = i, .sessions = s, .retry = retry, .go = &go};
        assert_int_equal(pthread_create(&th[i], NULL, producer_main, &p[i]), 0);
    }
    pthread_barrier_wait(&go);
    if (close_early)
        cs_recorder_close(s[1]);   /* while the producers push to it */
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int k = 0; k < SESSIONS; k++) {
        cs_recorder_close(s[k]);
        cs_rec_session_stats_t st;
        wait_stats(s[k], &st, true, 0);
        cs_rec_session_release(s[k]);
        uint64_t taken = 0, refused = 0;
        for (int i = 0; i < PRODUCERS; i++) {
            taken += p[i].taken[k];
            refused += p[i].refused[k];
            if (retry && !(close_early && k == 1))
                assert_int_equal(p[i].taken[k], PER_SESSION);
        }
        assert_int_equal(st.packets, taken);
        assert_int_equal(st.dropped, refused);
        assert_int_equal(st.error, CS_OK);
        uint32_t next[PRODUCERS] = {0};
        bool clean;
        assert_int_equal(read_file(paths[k], next, PRODUCERS, &clean), (int)taken);
        assert_true(clean);
    }
    cs_recorder_free(r);
}

static void test_threads_retrying(void **state)
{
    run_producers(*state, 64 * 1024, true, false);
}

static void test_threads_dropping_and_close(void **state)
{
    run_producers(*state, 48 * 1024, false, true);
}

/* References dropped on other threads, before and after the writer is done:
 * no use after free, no leak (the -san build checks both). */
static void *retain_release(void *arg)
{
    cs_rec_session_t *s = arg;
    for (int i = 0; i < 10000; i++) {
        cs_rec_session_retain(s);
        cs_rec_session_release(s);
    }
    cs_rec_session_release(s);   /* the one main took for this thread */
    return NULL;
}

static void test_references_and_free(void **state)
{
    fx_t *f = *state;
    char p1[128], p2[128];
    cs_recorder_t *r = new_recorder(KEY, 0, 1000);
    cs_rec_session_t *a = open_at(r, f, "r1.cap", p1), *b = open_at(r, f, "r2.cap", p2);
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        cs_rec_session_retain(i % 2 ? b : a);
        assert_int_equal(pthread_create(&th[i], NULL, retain_release, i % 2 ? b : a), 0);
    }
    uint8_t pkt[CS_REC_PACKET_MAX];
    for (uint32_t i = 0; i < 50; i++) {
        assert_int_equal(cs_recorder_push(a, 0, 0, pkt, make_pkt(pkt, 0, i)), CS_OK);
        assert_int_equal(cs_recorder_push(b, 0, 0, pkt, make_pkt(pkt, 0, i)), CS_OK);
    }
    cs_rec_session_release(a);   /* a is never closed: free must finish it */
    cs_rec_session_retain(b);
    cs_recorder_close(b);
    cs_rec_session_release(b);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    cs_rec_session_stats_t st;
    wait_stats(b, &st, true, 0);
    cs_recorder_free(r);
    cs_rec_session_release(b);   /* the last reference, after everything */
    uint32_t next[1] = {0};
    bool clean;
    assert_int_equal(read_file(p1, next, 1, &clean), 50);
    assert_true(clean);
    next[0] = 0;
    assert_int_equal(read_file(p2, next, 1, &clean), 50);
    assert_true(clean);
}

/* ---- crash and full disk ----------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    static uint8_t buf[1 << 16];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(in >= 0 && out >= 0);
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

/* A copy taken while the session is open is what a kill -9 would leave:
 * every record of a flushed chunk is in it. */
static void test_copy_while_recording(void **state)
{
    fx_t *f = *state;
    char p[128], copy[128];
    cs_recorder_t *r = new_recorder(KEY, 0, 50);
    cs_rec_session_t *s = open_at(r, f, "k.cap", p);
    uint8_t pkt[CS_REC_PACKET_MAX];
    cs_recorder_test_pause(r, true);   /* all 200 go into the first chunk */
    for (uint32_t i = 0; i < 200; i++)
        assert_int_equal(cs_recorder_push(s, 0, 0, pkt, make_pkt(pkt, 0, i)), CS_OK);
    cs_recorder_test_pause(r, false);
    cs_rec_session_stats_t st;
    wait_stats(s, &st, false, 1);
    snprintf(copy, sizeof copy, "%s/copy.cap", f->dir);
    copy_file(p, copy);
    for (uint32_t i = 200; i < 300; i++)
        assert_int_equal(cs_recorder_push(s, 0, 0, pkt, make_pkt(pkt, 0, i)), CS_OK);
    uint32_t next[1] = {0};
    bool clean;
    assert_int_equal(read_file(copy, next, 1, &clean), 200);
    assert_false(clean);
    cs_recorder_close(s);
    wait_stats(s, &st, true, 0);
    cs_rec_session_release(s);
    cs_recorder_free(r);
    next[0] = 0;
    assert_int_equal(read_file(p, next, 1, &clean), 300);
    assert_true(clean);
}

/* Fills the disk under one session: it fails (ENOSPC), later pushes are
 * refused, a session on another disk goes on. The full disk is a 64 KiB
 * tmpfs mounted in the test's folder (root); where mounting is not
 * allowed, the session's file is swapped for /dev/full under the paused
 * writer: the same write(2) failing with the same ENOSPC. */
static void test_full_disk(void **state)
{
    fx_t *f = *state;
    char full[96], pb[128], pg[128];
    fx_full_disk(f, full, sizeof full);
    print_message("full disk: %s\n", f->mounted ? "a 64 KiB tmpfs" : "/dev/full");
    cs_recorder_t *r = new_recorder(KEY, 0, 50);
    cs_rec_session_t *bad = open_in(r, f->mounted ? full : f->dir, "b.cap", pb);
    cs_rec_session_t *good = open_at(r, f, "g.cap", pg);
    if (!f->mounted) {
        cs_recorder_test_pause(r, true);
        int dev = open("/dev/full", O_WRONLY);
        assert_true(dev >= 0);
        assert_true(dup2(dev, cs_rec_session_test_fd(bad)) >= 0);
        close(dev);
        cs_recorder_test_pause(r, false);
    }
    uint8_t pkt[CS_REC_PACKET_MAX];
    uint32_t i = 0;
    int rc = CS_OK;
    for (; i < 20000 && rc == CS_OK; i++) {   /* 64 KiB is about 100 packets */
        size_t n = make_pkt(pkt, 0, i);
        if ((rc = cs_recorder_push(bad, 0, 0, pkt, n)) == CS_OK)
            assert_int_equal(cs_recorder_push(good, 0, 0, pkt, n), CS_OK);
        if (i % 64 == 63)
            usleep(20000);   /* let the writer reach the disk */
    }
    assert_int_equal(rc, CS_ESTATE);
    cs_rec_session_stats_t st;
    cs_rec_session_stats(bad, &st);
    assert_int_equal(st.error, CS_EIO);
    assert_int_equal(st.os_errno, ENOSPC);
    assert_int_equal(cs_recorder_push(bad, 0, 0, pkt, 10), CS_ESTATE);
    cs_rec_track_t t = {.kind = CS_REC_AUDIO, .codec = "opus"};
    assert_int_equal(cs_recorder_add_track(bad, &t), CS_ESTATE);
    uint32_t pushed = i - 1;
    for (i = pushed; i < pushed + 100; i++)
        assert_int_equal(cs_recorder_push(good, 0, 0, pkt, make_pkt(pkt, 0, i)), CS_OK);
    cs_recorder_close(bad);
    cs_recorder_close(good);
    wait_stats(bad, &st, true, 0);
    assert_int_equal(st.error, CS_EIO);
    wait_stats(good, &st, true, 0);
    assert_int_equal(st.error, CS_OK);
    uint32_t next[1] = {0};
    bool clean;
    assert_int_equal(read_file(pg, next, 1, &clean), (int)pushed + 100);
    assert_true(clean);
    if (f->mounted) {   /* what reached the full disk still reads */
        cs_capture_info_t info;
        next[0] = 0;
        assert_true(read_info(pb, next, 1, &info) < (int)pushed);
        assert_false(info.clean_end);
        assert_int_equal(info.chunks_bad, 0);
        /* and a new file there fails at once, leaving nothing behind */
        cs_rec_session_t *s = NULL;
        snprintf(pb, sizeof pb, "%s/c.cap", full);
        assert_int_equal(cs_recorder_open(r, pb, "c", 0, 0, &s), CS_EIO);
        assert_int_equal(access(pb, F_OK), -1);
    }
    cs_rec_session_release(bad);
    cs_rec_session_release(good);
    cs_recorder_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_wraps),
        cmocka_unit_test_setup_teardown(test_full_ring_drops_and_recovers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quiet_session_flushed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_retrying, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_dropping_and_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references_and_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_while_recording, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_disk, setup, teardown),
    };
    return cmocka_run_group_tests_name("recorder_ring", tests, NULL, NULL);
}
