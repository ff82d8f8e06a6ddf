/*
 * recording.c — recording consults, the gateway's side: the master key, the
 * process-wide recorder (media/recorder), and one capture per recording
 * consult, opened, fed and closed as the consult engine's consent rules
 * decide (signaling/consult/recording.c).
 *
 * The engine calls our hook inside its commit, so the hook only marks the
 * consult; the next loop turn (cs_app_recording_poll) reconciles it: open the
 * capture file of the current recording file, tell the media engine whose
 * packets go into it (the participants who consented, nobody else), and close
 * it when recording stops. A capture that fails (a full disk) stops the
 * recording through the engine, so everyone sees it, and keeps what was saved.
 * Closed captures are post-processed by recording_jobs.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "recording_internal.h"

/* ---- small shared helpers --------------------------------------------------- */

bool rec_file_dir(const cs_app_recording_t *ar, const char *consult_id, const char *file_id,
                  char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s/%s", ar->dir, consult_id, file_id);
    return n >= 0 && (size_t)n < cap;
}

int rec_file_update(cs_app_recording_t *ar, const char *consult_id,
                    const cs_recording_file_t *f)
{
    int rc = cs_storage_recfile_update(ar->app->storage, f);
    if (rc == CS_OK)
        cs_engine_recording_file(ar->app->engine, consult_id, f);
    else
        CS_LOGE("recording", "cannot store the state of recording %s: %s", f->id, cs_strerror(rc));
    return rc;
}

void rec_audit(cs_app_recording_t *ar, const char *consult_id, const cs_identity_t *who,
               const char *kind, const char *detail)
{
    const cs_consult_t *c = cs_engine_find(ar->app->engine, consult_id);
    cs_event_t ev;
    memset(&ev, 0, sizeof ev);
    cs_strlcpy(ev.consult_id, consult_id, sizeof ev.consult_id);
    ev.at = cs_now_ms();
    cs_strlcpy(ev.kind, kind, sizeof ev.kind);
    ev.from = ev.to = c ? c->state : CS_STATE_ENDED;
    if (who) {
        cs_strlcpy(ev.actor, who->subject, sizeof ev.actor);
        ev.actor_role = who->role;
    } else {
        cs_strlcpy(ev.actor, "system", sizeof ev.actor);
        ev.actor_is_system = true;
    }
    cs_strlcpy(ev.detail, detail, sizeof ev.detail);
    int rc = cs_storage_append_event(ar->app->storage, &ev);
    if (rc)
        CS_LOGE("recording", "cannot write the audit event %s of consult %s: %s", kind,
                consult_id, cs_strerror(rc));
}

/* ---- the master key ------------------------------------------------------------ */

static int load_key(cs_app_recording_t *ar, char *err, size_t errlen)
{
    const cs_config_t *cfg = &ar->app->cfg;
    char path[CS_PATH_MAX + 32], hex[2 * CS_REC_KEY_LEN + 1];
    if (cfg->recording_key_file[0])
        cs_strlcpy(path, cfg->recording_key_file, sizeof path);
    else
        snprintf(path, sizeof path, "%s/recording.key", cfg->data_dir);
    size_t len = 0;
    int rc = cs_secret_load_or_create(path, CS_REC_KEY_LEN, (unsigned char *)hex, sizeof hex - 1,
                                      &len, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < CS_REC_KEY_LEN; i++) {
        int hi = len == sizeof hex - 1 ? cs_hex_digit(hex[2 * i]) : -1;
        int lo = hi >= 0 ? cs_hex_digit(hex[2 * i + 1]) : -1;
        if (lo < 0) {
            snprintf(err, errlen, "%s must hold the 32-byte recording key as 64 hex digits",
                     path);
            memset(hex, 0, sizeof hex);
            return CS_EINVAL;
        }
        ar->key[i] = (uint8_t)(hi << 4 | lo);
    }
    memset(hex, 0, sizeof hex);
    return CS_OK;
}

/* ---- captures ------------------------------------------------------------------- */

/* The file to capture into now: the current one, while recording is on. */
static const cs_recording_file_t *capturing_file(const cs_consult_t *c)
{
    return c->recording.state == CS_RECORDING_ON ? cs_recording_current_file(&c->recording)
                                                 : NULL;
}

static void set_member(cs_app_recording_t *ar, rec_capture_t *cap, int i, bool on)
{
    if (cap->members[i].on == on)
        return;
    int rc = cs_app_media_record(ar->app, cap->consult_id, cap->members[i].tenant,
                                 cap->members[i].subject, on ? cap->session : NULL);
    if (rc)
        CS_LOGE("recording", "consult %s: cannot %s recording a participant: %s",
                cap->consult_id, on ? "start" : "stop", cs_strerror(rc));
    else
        cap->members[i].on = on;
}

/* Whose media goes into the capture: exactly those who consented. */
static void apply_consents(cs_app_recording_t *ar, rec_capture_t *cap, const cs_consult_t *c)
{
    const cs_recording_t *r = &c->recording;
    for (int k = 0; k < r->n_consents; k++) {
        const cs_recording_consent_t *rc = &r->consents[k];
        int i = 0;
        while (i < cap->n_members && (strcmp(cap->members[i].subject, rc->subject) ||
                                      strcmp(cap->members[i].tenant, rc->tenant)))
            i++;
        if (i == cap->n_members) {
            if (cap->n_members == CS_MAX_PARTICIPANTS)
                continue;
            cs_strlcpy(cap->members[i].tenant, rc->tenant, sizeof cap->members[i].tenant);
            cs_strlcpy(cap->members[i].subject, rc->subject, sizeof cap->members[i].subject);
            cap->members[i].on = false;
            cap->n_members++;
        }
        set_member(ar, cap, i, rc->answer == CS_CONSENT_GIVEN);
    }
}

/* Stops feeding the capture and asks the writer to finish the file; the
 * capture waits in `closing` until it has. */
static void close_capture(cs_app_recording_t *ar, rec_capture_t *cap)
{
    for (int i = 0; i < cap->n_members; i++)
        set_member(ar, cap, i, false);
    cs_recorder_close(cap->session);
    cs_map_remove(ar->captures, cap->consult_id);
    CS_LOGI("recording", "consult %s: recording %s stopped", cap->consult_id, cap->file_id);
    if (cs_map_put(ar->closing, cap->file_id, cap) != CS_OK) {
        /* No room to wait: the file is closed; forget it now. */
        cs_rec_session_release(cap->session);
        free(cap);
    }
}

static rec_capture_t *open_capture(cs_app_recording_t *ar, const cs_consult_t *c,
                                   const cs_recording_file_t *f)
{
    rec_capture_t *cap = calloc(1, sizeof *cap);
    if (!cap) {
        cs_engine_recording_fail(ar->app->engine, c->id, f->id, "the gateway ran out of memory",
                                 false, cs_now_ms());
        return NULL;
    }
    cs_strlcpy(cap->consult_id, c->id, sizeof cap->consult_id);
    cs_strlcpy(cap->file_id, f->id, sizeof cap->file_id);
    char path[CS_PATH_MAX + 32], why[CS_RECORDING_ERROR_MAX];
    int rc = rec_file_dir(ar, c->id, f->id, cap->dir, sizeof cap->dir) ? cs_mkdirs(cap->dir)
                                                                       : CS_ETOOBIG;
    snprintf(path, sizeof path, "%s/capture-1.cap", cap->dir);
    if (rc == CS_OK)
        rc = cs_recorder_open(ar->recorder, path, f->id, cs_now_ms(), cs_mono_us(),
                              &cap->session);
    if (rc == CS_OK)
        rc = cs_map_put(ar->captures, c->id, cap);
    if (rc != CS_OK) {
        snprintf(why, sizeof why, "the recording could not be started: %s",
                 rc == CS_EIO ? strerror(errno) : cs_strerror(rc));
        CS_LOGE("recording", "consult %s: %s (%s)", c->id, why, cap->dir);
        if (cap->session) {
            cs_recorder_close(cap->session);
            cs_rec_session_release(cap->session);
        }
        free(cap);
        ar->capture_failures++;
        cs_engine_recording_fail(ar->app->engine, c->id, f->id, why, false, cs_now_ms());
        return NULL;
    }
    ar->captures_opened++;
    CS_LOGI("recording", "consult %s: recording %s started", c->id, f->id);
    return cap;
}

static void reconcile(cs_app_recording_t *ar, const char *consult_id)
{
    const cs_consult_t *c = cs_engine_find(ar->app->engine, consult_id);
    const cs_recording_file_t *f = c ? capturing_file(c) : NULL;
    rec_capture_t *cap = cs_map_get(ar->captures, consult_id);
    if (cap && (!f || strcmp(cap->file_id, f->id)))
        close_capture(ar, cap), cap = NULL;
    if (!f)
        return;
    if (!cap && !(cap = open_capture(ar, c, f)))
        return;
    apply_consents(ar, cap, c);
}

static void on_recording_changed(void *user, const cs_consult_t *c)
{
    cs_app_recording_t *ar = user;
    rec_jobs_wake(ar);   /* a stop queues its file */
    if (cs_map_put(ar->dirty, c->id, (void *)1) != CS_OK)
        CS_LOGE("recording", "consult %s: recording change not noted (out of memory)", c->id);
    cs_ws_wake(ar->app->ws);
}

/* A capture whose writer failed (a full disk): the recording stops for
 * everyone to see, with what was saved. */
static void check_capture(cs_app_recording_t *ar, rec_capture_t *cap)
{
    cs_rec_session_stats_t st;
    cs_rec_session_stats(cap->session, &st);
    if (st.error == CS_OK || cap->failed)
        return;
    char why[CS_RECORDING_ERROR_MAX];
    snprintf(why, sizeof why, "recording stopped: the disk refused to write (%s)",
             st.os_errno ? strerror(st.os_errno) : cs_strerror(st.error));
    /* Until the stop is stored (the database may be locked too) the consult
     * still says "on": try again on the next loop turn, saying so at most
     * every 10 s (a database that fails at once would be tried 4 times a second). */
    if (cs_engine_recording_fail(ar->app->engine, cap->consult_id, cap->file_id, why, true,
                                 cs_now_ms()) == CS_ESTORAGE) {
        int64_t now = cs_mono_ms();
        if (!cap->fail_said_ms || now - cap->fail_said_ms >= 10000) {
            cap->fail_said_ms = now;
            CS_LOGE("recording", "consult %s: %s; the stop could not be stored yet, trying again",
                    cap->consult_id, why);
        }
        return;
    }
    cap->failed = true;
    ar->capture_failures++;
    CS_LOGE("recording", "consult %s: %s", cap->consult_id, why);
}

/* A closed capture whose file is complete on disk: what it lost is written
 * to the file's record before post-processing may take it. */
static void finish_capture(cs_app_recording_t *ar, rec_capture_t *cap)
{
    cs_rec_session_stats_t st;
    cs_rec_session_stats(cap->session, &st);
    cs_recfile_row_t row;
    if (st.dropped && cs_storage_recfile_get(ar->app->storage, cap->file_id, &row) == CS_OK &&
        !row.file.incomplete) {
        row.file.incomplete = true;
        snprintf(row.file.error, sizeof row.file.error,
                 "%llu packets were dropped: the disk could not keep up",
                 (unsigned long long)st.dropped);
        rec_file_update(ar, cap->consult_id, &row.file);
    }
    CS_LOGI("recording", "recording %s captured: %llu packets, %llu bytes, %llu dropped",
            cap->file_id, (unsigned long long)st.packets, (unsigned long long)st.bytes_written,
            (unsigned long long)st.dropped);
    cs_rec_session_release(cap->session);
    free(cap);
    rec_jobs_wake(ar);   /* its file may be post-processed now */
}

bool rec_capture_pending(const cs_app_recording_t *ar, const char *file_id)
{
    return cs_map_get(ar->closing, file_id) != NULL;
}

void cs_app_recording_poll(cs_app_t *app, int64_t now_ms)
{
    cs_app_recording_t *ar = app->recording;
    if (!ar)
        return;
    size_t pos = 0;
    const char *key;
    void *v;
    while (cs_map_next(ar->dirty, &pos, &key, &v)) {
        char id[CS_ID_MAX];
        cs_strlcpy(id, key, sizeof id);
        cs_map_remove(ar->dirty, id);
        reconcile(ar, id);
    }
    pos = 0;
    while (cs_map_next(ar->captures, &pos, NULL, &v))
        check_capture(ar, v);
    pos = 0;
    while (cs_map_next(ar->closing, &pos, &key, &v)) {
        cs_rec_session_stats_t st;
        cs_rec_session_stats(((rec_capture_t *)v)->session, &st);
        if (!st.finished)
            continue;
        cs_map_remove(ar->closing, key);
        finish_capture(ar, v);
    }
    rec_jobs_poll(ar, now_ms);
}

/* ---- start and stop -------------------------------------------------------------- */

int cs_app_recording_start(cs_app_t *app, char *err, size_t errlen)
{
    if (!app->cfg.recording_enabled)
        return CS_OK;
    cs_app_recording_t *ar = calloc(1, sizeof *ar);
    if (!ar) {
        snprintf(err, errlen, "out of memory");
        return CS_ENOMEM;
    }
    app->recording = ar;
    ar->app = app;
    pthread_mutex_init(&ar->mu, NULL);
    pthread_cond_init(&ar->cv, NULL);
    if (app->cfg.recording_dir[0])
        cs_strlcpy(ar->dir, app->cfg.recording_dir, sizeof ar->dir);
    else if (snprintf(ar->dir, sizeof ar->dir, "%s/recordings", app->cfg.data_dir) >=
             (int)sizeof ar->dir) {
        snprintf(err, errlen, "data_dir is too long");
        return CS_EINVAL;
    }
    ar->captures = cs_map_new(0);
    ar->closing = cs_map_new(0);
    ar->dirty = cs_map_new(0);
    ar->links = cs_map_new(REC_MAX_LINKS);
    if (!ar->captures || !ar->closing || !ar->dirty || !ar->links) {
        snprintf(err, errlen, "out of memory");
        return CS_ENOMEM;
    }
    int rc = load_key(ar, err, errlen);
    if (rc)
        return rc;
    if (cs_mkdirs(ar->dir)) {
        snprintf(err, errlen, "cannot create the recordings folder %s: %s", ar->dir,
                 strerror(errno));
        return CS_EIO;
    }
    cs_recorder_config_t rcfg = {.ring_bytes = (size_t)app->cfg.recording_ring_bytes,
                                 .master_key = ar->key};
    if (!(ar->recorder = cs_recorder_new(&rcfg, &rc))) {
        snprintf(err, errlen, "cannot start the recorder: %s", cs_strerror(rc));
        return rc;
    }
    /* What a stop or a crash interrupted: recordings that were on are off
     * and their files queued; interrupted post-processing runs again. */
    int n = cs_engine_recording_recover(app->engine, cs_now_ms());
    if (n > 0)
        CS_LOGW("recording", "%d recording(s) were interrupted by the last stop; what reached "
                             "the disk will be post-processed", n);
    cs_engine_set_recording_hook(app->engine, on_recording_changed, ar);
    if (n < 0 || rec_jobs_recover(ar) < 0) {
        snprintf(err, errlen, "cannot read the recordings' queue");
        return CS_ESTORAGE;
    }
    if ((rc = rec_jobs_start(ar, err, errlen)))
        return rc;
    CS_LOGI("recording", "recordings are kept encrypted in %s", ar->dir);
    return CS_OK;
}

void cs_app_recording_stop(cs_app_t *app)
{
    cs_app_recording_t *ar = app->recording;
    if (!ar)
        return;
    rec_jobs_stop(ar);
    if (app->engine)
        cs_engine_set_recording_hook(app->engine, NULL, NULL);
    /* Captures end with the process: their files are finished on disk (the
     * recorder writes what is queued) and post-processed after the restart. */
    size_t pos = 0;
    void *v;
    while (ar->captures && cs_map_next(ar->captures, &pos, NULL, &v)) {
        rec_capture_t *cap = v;
        for (int i = 0; i < cap->n_members; i++)
            set_member(ar, cap, i, false);
        cs_recorder_close(cap->session);
    }
    cs_recorder_free(ar->recorder);
    cs_map_t *maps[] = {ar->captures, ar->closing};
    for (size_t m = 0; m < CS_ARRAY_LEN(maps); m++) {
        pos = 0;
        while (maps[m] && cs_map_next(maps[m], &pos, NULL, &v))
            free(v);
        cs_map_free(maps[m]);
    }
    pos = 0;
    while (ar->links && cs_map_next(ar->links, &pos, NULL, &v))
        free(v);
    cs_map_free(ar->links);
    cs_map_free(ar->dirty);
    memset(ar->key, 0, sizeof ar->key);
    pthread_mutex_destroy(&ar->mu);
    pthread_cond_destroy(&ar->cv);
    free(ar);
    app->recording = NULL;
}

/* ---- /metrics ------------------------------------------------------------------------ */

void cs_app_recording_metrics(cs_app_t *app, FILE *f)
{
    cs_app_recording_t *ar = app->recording;
    int64_t counts[CS_RECFILE_STATE_COUNT];
    if (cs_storage_recfile_counts(app->storage, counts) == CS_OK) {
        cs_metric_header(f, "consilium_recordings", "gauge",
                         "Recorded files by state (recording, queued, processing, ready, failed).");
        for (int s = 0; s < CS_RECFILE_STATE_COUNT; s++)
            fprintf(f, "consilium_recordings{state=\"%s\"} %lld\n",
                    cs_recfile_state_name((cs_recfile_state_t)s), (long long)counts[s]);
    }
    if (!ar)
        return;
    uint64_t packets = 0, dropped = 0, bytes = 0;
    size_t pos = 0;
    void *v;
    while (cs_map_next(ar->captures, &pos, NULL, &v)) {
        cs_rec_session_stats_t st;
        cs_rec_session_stats(((rec_capture_t *)v)->session, &st);
        packets += st.packets;
        dropped += st.dropped;
        bytes += st.bytes_written;
    }
    cs_metric_value(f, "consilium_recording_captures", "gauge", "Recordings being captured now.",
                    cs_map_size(ar->captures));
    cs_metric_value(f, "consilium_recording_capture_packets", "gauge",
                    "Packets taken by the captures open now.", packets);
    cs_metric_value(f, "consilium_recording_capture_dropped", "gauge",
                    "Packets the captures open now dropped (the disk could not keep up).",
                    dropped);
    cs_metric_value(f, "consilium_recording_capture_bytes", "gauge",
                    "Bytes the captures open now wrote.", bytes);
    cs_metric_value(f, "consilium_recording_capture_failures_total", "counter",
                    "Captures that could not start or stopped on a write error.",
                    ar->capture_failures);
    cs_metric_value(f, "consilium_recording_processed_total", "counter",
                    "Recordings post-processed since start.", ar->processed);
    cs_metric_value(f, "consilium_recording_processing_failures_total", "counter",
                    "Recordings whose post-processing failed since start.",
                    ar->processing_failures);
    cs_metric_value(f, "consilium_recording_reads_total", "counter",
                    "Requests that read a recording since start.", ar->reads);
    cs_metric_header(f, "consilium_recording_progress", "gauge",
                     "Post-processing progress (0-1) of the files being processed.");
    pthread_mutex_lock(&ar->mu);
    for (size_t i = 0; i < ar->n_threads; i++)
        if (ar->jobs[i].busy && !ar->jobs[i].done)
            fprintf(f, "consilium_recording_progress{file=\"%s\"} %.3f\n", ar->jobs[i].file_id,
                    ar->jobs[i].progress);
    pthread_mutex_unlock(&ar->mu);
}
