/*
 * writer.c — the recorder's writer thread: takes records out of the ring,
 * appends them to each session's open chunk, seals and syncs chunks when
 * they are due (flush_ms after their first record) or full, and finishes
 * closed sessions.
 *
 * The mutex is held only to look at the ring and the session list, never
 * across a write or an fsync: ring bytes are given back before any call
 * that may write, so a slow disk makes the ring fill (and packets drop,
 * counted) but never makes a media worker wait. A session whose file fails
 * (ENOSPC, EIO) is marked failed and its later records are thrown away;
 * the other sessions go on.
 */
#include "media/recorder/internal.h"

#include <time.h>

/* Under r->mu: when the writer must next act without being woken. */
static int64_t next_due(const cs_recorder_t *r)
{
    int64_t due = INT64_MAX;
    if (r->ring.used)
        due = r->ring_first_ms + r->flush_ms;
    for (const cs_rec_session_t *s = r->sessions; s; s = s->next)
        if (!s->failed && s->file.len && s->file.first_ms + r->flush_ms < due)
            due = s->file.first_ms + r->flush_ms;
    return due;
}

/* Under r->mu. */
static void wait_until(cs_recorder_t *r, int64_t due, writer_wait_t kind)
{
    r->wait = kind;
    if (due == INT64_MAX) {
        pthread_cond_wait(&r->cond, &r->mu);
    } else {
        struct timespec ts = {.tv_sec = (time_t)(due / 1000),
                              .tv_nsec = (long)(due % 1000) * 1000000};
        pthread_cond_timedwait(&r->cond, &r->mu, &ts);
    }
    r->wait = WAIT_NONE;
}

static void publish_stats(cs_rec_session_t *s)
{
    atomic_store(&s->bytes_written, s->file.bytes);
    atomic_store(&s->chunks, s->file.chunks);
}

static void fail_session(cs_rec_session_t *s, int rc)
{
    publish_stats(s);
    s->failed = true;
    atomic_store(&s->os_errno, s->file.os_errno);
    atomic_store(&s->error, rc);
    cap_writer_discard(&s->file);
}

static void release_ring(cs_recorder_t *r, size_t *n)
{
    if (*n == 0)
        return;
    pthread_mutex_lock(&r->mu);
    ring_consume(&r->ring, *n);
    pthread_mutex_unlock(&r->mu);
    *n = 0;
}

static void append(cs_recorder_t *r, const ring_rec_t *h, int64_t batch_ms, size_t *held)
{
    cs_rec_session_t *s = h->s;
    if (!s->failed) {
        size_t len = h->type == CAP_REC_TRACK ? h->len : CAP_REC_HDR + CAP_PACKET_HDR + h->len;
        if (cap_writer_full_for(&s->file, len))
            release_ring(r, held);   /* the record is in scratch already */
        int rc = h->type == CAP_REC_TRACK
                     ? cap_writer_track(&s->file, r->scratch, h->len, batch_ms)
                     : cap_writer_packet(&s->file, h->track, h->arrival_us, r->scratch, h->len,
                                         batch_ms);
        if (rc)
            fail_session(s, rc);
        else
            publish_stats(s);
    }
}

/* Takes the n bytes of records that start at pos (a snapshot taken under
 * the mutex; producers only add after them). */
static void take_records(cs_recorder_t *r, size_t pos, size_t n, int64_t batch_ms)
{
    size_t done = 0, held = 0;
    while (done < n) {
        ring_rec_t h;
        size_t need = ring_peek(&r->ring, &pos, &h, r->scratch, sizeof r->scratch);
        done += need;
        held += need;
        append(r, &h, batch_ms, &held);
    }
    release_ring(r, &held);
}

static void unlink_session(cs_recorder_t *r, cs_rec_session_t *s)
{
    pthread_mutex_lock(&r->mu);
    for (cs_rec_session_t **p = &r->sessions; *p; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
}

static void finish_session(cs_recorder_t *r, cs_rec_session_t *s)
{
    if (!s->failed) {
        int rc = cap_writer_finish(&s->file);
        if (rc)
            fail_session(s, rc);
        else
            publish_stats(s);
    }
    cap_writer_discard(&s->file);
    unlink_session(r, s);
    atomic_store(&s->finished, true);
    rec_session_unref(s);   /* the writer's own reference */
}

/* Under r->mu, as a batch is taken: a session closing now has all its
 * records in the batch (a push is refused under the mutex once it is), so
 * it can be finished when the batch is written. One closed later gets the
 * next batch (its close sets close_pending). */
static void mark_drains(cs_recorder_t *r)
{
    for (cs_rec_session_t *s = r->sessions; s; s = s->next)
        s->drain = atomic_load(&s->closing);
}

/* Seals what is due, finishes what is closed and drained. */
static void flush_and_finish(cs_recorder_t *r)
{
    pthread_mutex_lock(&r->mu);
    cs_rec_session_t *s = r->sessions;
    pthread_mutex_unlock(&r->mu);
    /* Only this thread unlinks sessions, and producers only insert at the
     * head, so the list from s on can be walked without the mutex. */
    int64_t now = cs_mono_ms();
    while (s) {
        cs_rec_session_t *next = s->next;
        if (!s->failed && s->file.len && now >= s->file.first_ms + r->flush_ms) {
            int rc = cap_writer_flush(&s->file);
            if (rc)
                fail_session(s, rc);
            else
                publish_stats(s);
        }
        if (s->drain)
            finish_session(r, s);
        s = next;
    }
}

void *rec_writer_main(void *arg)
{
    cs_recorder_t *r = arg;
    pthread_mutex_lock(&r->mu);
    while (!(r->stopping && !r->sessions && r->ring.used == 0)) {
        int64_t due = next_due(r);
        bool urgent = r->close_pending || r->stopping || r->ring.used >= r->wake_bytes;
        if (r->paused) {
            wait_until(r, INT64_MAX, WAIT_PAUSED);
            continue;
        }
        if (!urgent && due > cs_mono_ms()) {
            wait_until(r, due, due == INT64_MAX ? WAIT_DEEP : WAIT_TIMED);
            continue;
        }
        size_t pos = ring_tail(&r->ring), n = r->ring.used;
        int64_t batch_ms = r->ring_first_ms;
        r->ring_first_ms = cs_mono_ms();   /* anything later came after this */
        r->close_pending = false;
        mark_drains(r);
        pthread_mutex_unlock(&r->mu);
        take_records(r, pos, n, batch_ms);
        flush_and_finish(r);
        pthread_mutex_lock(&r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}
