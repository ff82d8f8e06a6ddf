/*
 * recorder.c — the capture recorder's public face: the recorder and its
 * writer thread's start and stop, sessions (open, tracks, packets, close,
 * references, statistics), and the test hooks.
 *
 * Producers (media workers) only ever copy a record into the ring under the
 * recorder's mutex; the writer thread (writer.c) does all file work. The
 * writer is woken only when it has something to do soon: when it sleeps
 * with nothing buffered, when the ring passes a quarter full, or for a
 * close; otherwise it sleeps until the next chunk is due, so a steady
 * stream of packets costs one wake-up per flush period, not one per packet.
 */
#include "media/recorder/internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_RING_BYTES (8u << 20)
#define DEFAULT_FLUSH_MS 1000u

static int init_sync(cs_recorder_t *r)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca))
        return CS_ENOMEM;
    /* Deadlines are cs_mono_ms() values. */
    int rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ? CS_EIO : CS_OK;
    if (rc == CS_OK && pthread_cond_init(&r->cond, &ca))
        rc = CS_ENOMEM;
    pthread_condattr_destroy(&ca);
    if (rc == CS_OK && pthread_mutex_init(&r->mu, NULL)) {
        pthread_cond_destroy(&r->cond);
        rc = CS_ENOMEM;
    }
    return rc;
}

cs_recorder_t *cs_recorder_new(const cs_recorder_config_t *cfg, int *err)
{
    int dummy, rc;
    err = err ? err : &dummy;
    *err = CS_EINVAL;
    if (!cfg || !cfg->master_key)
        return NULL;
    cs_recorder_t *r = calloc(1, sizeof *r);
    if (!r) {
        *err = CS_ENOMEM;
        return NULL;
    }
    memcpy(r->master, cfg->master_key, CS_REC_KEY_LEN);
    r->flush_ms = cfg->flush_ms ? cfg->flush_ms : DEFAULT_FLUSH_MS;
    if ((rc = ring_init(&r->ring, cfg->ring_bytes ? cfg->ring_bytes : DEFAULT_RING_BYTES))) {
        free(r);
        *err = rc;
        return NULL;
    }
    r->wake_bytes = r->ring.cap / 4;
    if ((rc = init_sync(r)) == CS_OK && pthread_create(&r->thread, NULL, rec_writer_main, r)) {
        pthread_mutex_destroy(&r->mu);
        pthread_cond_destroy(&r->cond);
        rc = CS_EIO;
    }
    if (rc) {
        ring_free(&r->ring);
        rec_wipe(r->master, sizeof r->master);
        free(r);
        *err = rc;
        return NULL;
    }
    *err = CS_OK;
    return r;
}

/* Under r->mu. */
static void wake_writer(cs_recorder_t *r)
{
    r->wait = WAIT_NONE;
    pthread_cond_signal(&r->cond);
}

void cs_recorder_free(cs_recorder_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    r->paused = false;
    for (cs_rec_session_t *s = r->sessions; s; s = s->next)
        atomic_store(&s->closing, true);
    r->close_pending = true;
    wake_writer(r);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    /* The writer leaves only when every session is finished and the ring
     * is empty. */
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cond);
    ring_free(&r->ring);
    rec_wipe(r->master, sizeof r->master);
    free(r);
}

int cs_recorder_open(cs_recorder_t *r, const char *recording_path, const char *recording_id,
                     int64_t start_wall_ms, int64_t start_mono_us, cs_rec_session_t **out)
{
    if (!r || !recording_path || !recording_id || !out)
        return CS_EINVAL;
    *out = NULL;
    cs_rec_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return CS_ENOMEM;
    int rc = cap_writer_create(&s->file, recording_path, r->master, recording_id,
                               start_wall_ms, start_mono_us);
    if (rc) {
        free(s);
        return rc;
    }
    s->r = r;
    atomic_init(&s->refs, 2);   /* the caller's and the writer's */
    atomic_store(&s->bytes_written, s->file.bytes);
    pthread_mutex_lock(&r->mu);
    bool stopping = r->stopping;
    if (!stopping) {
        s->next = r->sessions;
        r->sessions = s;
    }
    pthread_mutex_unlock(&r->mu);
    if (stopping) {
        cap_writer_discard(&s->file);
        unlink(recording_path);
        free(s);
        return CS_ESTATE;
    }
    *out = s;
    return CS_OK;
}

static bool refused(const cs_rec_session_t *s)
{
    return atomic_load(&s->closing) || atomic_load(&s->error) != CS_OK;
}

/* Under r->mu, after a record went in. */
static void after_put(cs_recorder_t *r, size_t used_before)
{
    if (used_before == 0)
        r->ring_first_ms = cs_mono_ms();
    if (r->wait == WAIT_DEEP || (r->wait == WAIT_TIMED && r->ring.used >= r->wake_bytes))
        wake_writer(r);
}

int cs_recorder_add_track(cs_rec_session_t *s, const cs_rec_track_t *t)
{
    uint8_t enc[CAP_TRACK_MAX];
    if (!s || !t)
        return CS_EINVAL;
    int len = cap_track_encode(t, 0, enc);
    if (len < 0)
        return len;
    cs_recorder_t *r = s->r;
    int rc;
    pthread_mutex_lock(&r->mu);
    if (refused(s)) {
        rc = CS_ESTATE;
    } else if (s->n_tracks >= CS_REC_MAX_TRACKS) {
        rc = CS_ELIMIT;
    } else {
        /* Numbered under the mutex, so numbers reach the file in order. */
        cs_wr16(enc + CAP_REC_HDR, (uint16_t)s->n_tracks);
        ring_rec_t h = {.s = s, .len = (uint32_t)len, .track = (uint16_t)s->n_tracks,
                        .type = CAP_REC_TRACK};
        size_t before = r->ring.used;
        if (ring_put(&r->ring, &h, enc)) {
            rc = (int)s->n_tracks++;
            after_put(r, before);
        } else {
            rc = CS_ELIMIT;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

int cs_recorder_push(cs_rec_session_t *s, uint16_t track, int64_t arrival_us,
                     const uint8_t *rtp, size_t len)
{
    if (!s || !rtp || len == 0 || len > CS_REC_PACKET_MAX)
        return CS_EINVAL;
    cs_recorder_t *r = s->r;
    int rc = CS_OK;
    pthread_mutex_lock(&r->mu);
    if (refused(s)) {
        rc = CS_ESTATE;
    } else if (track >= s->n_tracks) {
        rc = CS_EINVAL;
    } else {
        ring_rec_t h = {.s = s, .arrival_us = arrival_us, .len = (uint32_t)len, .track = track,
                        .type = CAP_REC_PACKET};
        size_t before = r->ring.used;
        if (ring_put(&r->ring, &h, rtp)) {
            atomic_fetch_add_explicit(&s->packets, 1, memory_order_relaxed);
            after_put(r, before);
        } else {
            atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
            rc = CS_ELIMIT;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return rc;
}

void cs_rec_session_retain(cs_rec_session_t *s)
{
    if (s)
        atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void rec_session_unref(cs_rec_session_t *s)
{
    if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1)
        free(s);   /* the writer discarded the file before it let go */
}

void cs_rec_session_release(cs_rec_session_t *s)
{
    if (s)
        rec_session_unref(s);
}

void cs_recorder_close(cs_rec_session_t *s)
{
    if (!s)
        return;
    cs_recorder_t *r = s->r;
    pthread_mutex_lock(&r->mu);
    if (!atomic_load(&s->closing)) {
        atomic_store(&s->closing, true);
        r->close_pending = true;
        wake_writer(r);
    }
    pthread_mutex_unlock(&r->mu);
}

void cs_rec_session_stats(cs_rec_session_t *s, cs_rec_session_stats_t *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!s)
        return;
    out->packets = atomic_load_explicit(&s->packets, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->bytes_written = atomic_load(&s->bytes_written);
    out->chunks = atomic_load(&s->chunks);
    out->error = atomic_load(&s->error);
    out->os_errno = atomic_load(&s->os_errno);
    out->finished = atomic_load(&s->finished);
}

void cs_recorder_test_pause(cs_recorder_t *r, bool paused)
{
    pthread_mutex_lock(&r->mu);
    r->paused = paused;
    wake_writer(r);
    pthread_mutex_unlock(&r->mu);
}

int cs_rec_session_test_fd(const cs_rec_session_t *s)
{
    return s->file.fd;
}

int64_t cs_recorder_writer_cpu_ns(cs_recorder_t *r)
{
    clockid_t id;
    struct timespec ts;
    if (pthread_getcpuclockid(r->thread, &id) || clock_gettime(id, &ts))
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
