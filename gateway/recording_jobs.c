/*
 * recording_jobs.c — post-processing of captured recordings on a small pool
 * of low-priority threads (recording.workers), queued in the database so
 * that a restart resumes what was owed.
 *
 * The signalling thread owns the queue: on each loop turn it takes results
 * (the file becomes ready or failed, with an audit event), reports progress
 * (state and percentage to signalling and /metrics, at most once a second per
 * job) and hands free threads the oldest queued files whose capture is
 * finished on disk. A thread runs media/postproc on one job and touches
 * nothing but its slot.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/common.h"
#include "gateway/document/document.h"
#include "recording_internal.h"

static int draw_label(void *user, const char *text, int width, int height, uint8_t *alpha)
{
    (void)user;
    return cs_document_label(text, width, height, alpha);
}

static void on_progress(void *user, double fraction)
{
    rec_job_t *job = user;
    pthread_mutex_lock(&job->owner->mu);
    job->progress = fraction;
    pthread_mutex_unlock(&job->owner->mu);
}

static void run_job(cs_app_recording_t *ar, rec_job_t *job)
{
    const cs_config_t *cfg = &ar->app->cfg;
    const char *inputs[REC_MAX_INPUTS];
    for (size_t i = 0; i < job->n_inputs; i++)
        inputs[i] = job->inputs[i];
    unlink(job->output);   /* what an interrupted run left */
    cs_postproc_job_t pj = {
        .inputs = inputs,
        .n_inputs = job->n_inputs,
        .master_key = ar->key,
        .output_path = job->output,
        .width = (int)cfg->recording_width,
        .height = (int)cfg->recording_height,
        .fps = (int)cfg->recording_fps,
        .video_kbps = (int)cfg->recording_video_kbps,
        .audio_kbps = (int)cfg->recording_audio_kbps,
        .label = draw_label,
        .progress = on_progress,
        .progress_user = job,
        .cancel = &ar->cancel,
    };
    cs_postproc_result_t res;
    memset(&res, 0, sizeof res);
    int rc = cs_postproc_run(&pj, &res);
    pthread_mutex_lock(&ar->mu);
    job->rc = rc;
    job->res = res;
    job->done = true;
    pthread_mutex_unlock(&ar->mu);
    cs_ws_wake(ar->app->ws);
}

static void *worker_main(void *arg)
{
    rec_job_t *job = arg;
    cs_app_recording_t *ar = job->owner;
    /* Calls come first: post-processing takes what the rest leaves. Linux
     * applies a nice value to the calling thread alone. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    pthread_mutex_lock(&ar->mu);
    for (;;) {
        while (!ar->stopping && !(job->busy && !job->done && job->progress < 0))
            pthread_cond_wait(&ar->cv, &ar->mu);
        if (ar->stopping)
            break;
        job->progress = 0;
        pthread_mutex_unlock(&ar->mu);
        run_job(ar, job);
        pthread_mutex_lock(&ar->mu);
    }
    pthread_mutex_unlock(&ar->mu);
    return NULL;
}

int rec_jobs_start(cs_app_recording_t *ar, char *err, size_t errlen)
{
    size_t n = (size_t)ar->app->cfg.recording_workers;
    if (n > REC_MAX_JOBS)
        n = REC_MAX_JOBS;
    for (size_t i = 0; i < n; i++) {
        ar->jobs[i].owner = ar;
        if (pthread_create(&ar->threads[i], NULL, worker_main, &ar->jobs[i])) {
            snprintf(err, errlen, "cannot start a post-processing thread");
            return CS_ENOMEM;
        }
        ar->n_threads = i + 1;
    }
    return CS_OK;
}

void rec_jobs_stop(cs_app_recording_t *ar)
{
    pthread_mutex_lock(&ar->mu);
    ar->stopping = true;
    ar->cancel = true;    /* a running job stops between frames and runs again after a restart */
    pthread_cond_broadcast(&ar->cv);
    pthread_mutex_unlock(&ar->mu);
    for (size_t i = 0; i < ar->n_threads; i++)
        pthread_join(ar->threads[i], NULL);
    ar->n_threads = 0;
}

/* ---- the queue ------------------------------------------------------------------- */

void rec_jobs_wake(cs_app_recording_t *ar)
{
    ar->queue_dirty = true;
}

int rec_jobs_recover(cs_app_recording_t *ar)
{
    rec_jobs_wake(ar);   /* what a stop left queued */
    cs_recfile_row_t rows[64];
    int n;
    /* Each pass moves what it read out of the state, so the loop ends. */
    while ((n = cs_storage_recfiles_in_state(ar->app->storage, CS_RECFILE_PROCESSING, rows,
                                             CS_ARRAY_LEN(rows))) > 0) {
        for (int i = 0; i < n; i++) {
            rows[i].file.state = CS_RECFILE_QUEUED;
            rows[i].file.progress = 0;
            if (rec_file_update(ar, rows[i].consult_id, &rows[i].file) != CS_OK)
                return CS_ESTORAGE;
        }
    }
    return n;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The capture files of a recording, in order (capture-1.cap, capture-2.cap ...). */
static size_t list_inputs(const char *dir, rec_job_t *job)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < REC_MAX_INPUTS) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".cap") && !strncmp(e->d_name, "capture-", 8))
            snprintf(job->inputs[n++], sizeof job->inputs[0], "%s/%s", dir, e->d_name);
    }
    closedir(d);
    qsort(job->inputs, n, sizeof job->inputs[0], compare_names);
    return n;
}

static void fail_now(cs_app_recording_t *ar, cs_recfile_row_t *row, const char *why)
{
    row->file.state = CS_RECFILE_FAILED;
    row->file.progress = 0;
    cs_strlcpy(row->file.error, why, sizeof row->file.error);
    rec_file_update(ar, row->consult_id, &row->file);
    rec_audit(ar, row->consult_id, NULL, "recording_failed", why);
    ar->processing_failures++;
}

static bool submit(cs_app_recording_t *ar, rec_job_t *job, cs_recfile_row_t *row)
{
    char dir[CS_PATH_MAX];
    if (!rec_file_dir(ar, row->consult_id, row->file.id, dir, sizeof dir)) {
        fail_now(ar, row, "recording.dir is too long");
        return false;
    }
    memset(job->inputs, 0, sizeof job->inputs);
    job->n_inputs = list_inputs(dir, job);
    if (!job->n_inputs) {
        fail_now(ar, row, "nothing was recorded: no capture file was found");
        return false;
    }
    row->file.state = CS_RECFILE_PROCESSING;
    row->file.progress = 0;
    if (rec_file_update(ar, row->consult_id, &row->file) != CS_OK)
        return false;
    cs_strlcpy(job->consult_id, row->consult_id, sizeof job->consult_id);
    cs_strlcpy(job->file_id, row->file.id, sizeof job->file_id);
    snprintf(job->output, sizeof job->output, "%s/recording.webm.sealed", dir);
    job->reported_pct = 0;
    job->reported_at = 0;
    pthread_mutex_lock(&ar->mu);
    job->done = false;
    job->progress = -1;    /* "start" for the worker */
    job->busy = true;
    pthread_cond_broadcast(&ar->cv);
    pthread_mutex_unlock(&ar->mu);
    CS_LOGI("recording", "post-processing recording %s (%zu capture file%s)", job->file_id,
            job->n_inputs, job->n_inputs == 1 ? "" : "s");
    return true;
}

static bool job_running(const cs_app_recording_t *ar, const char *file_id)
{
    for (size_t i = 0; i < ar->n_threads; i++)
        if (ar->jobs[i].busy && !strcmp(ar->jobs[i].file_id, file_id))
            return true;
    return false;
}

/* Hands free threads the oldest queued files; false when it ran out of
 * threads first (more may wait). A file whose capture is still being written
 * out is left for finish_capture to announce. */
static bool fill_free_slots(cs_app_recording_t *ar)
{
    cs_recfile_row_t rows[REC_MAX_JOBS * 2];
    int n = cs_storage_recfiles_in_state(ar->app->storage, CS_RECFILE_QUEUED, rows,
                                         CS_ARRAY_LEN(rows));
    if (n < 0)
        return false;
    for (int k = 0; k < n; k++) {
        if (rec_capture_pending(ar, rows[k].file.id) || job_running(ar, rows[k].file.id))
            continue;
        size_t i = 0;
        while (i < ar->n_threads && ar->jobs[i].busy)
            i++;
        if (i == ar->n_threads)
            return false;
        submit(ar, &ar->jobs[i], &rows[k]);
    }
    return n < (int)CS_ARRAY_LEN(rows);
}

/* A finished job's result into the file's record: ready (with what was lost,
 * added to what the capture already noted) or failed. */
static void take_result(cs_app_recording_t *ar, rec_job_t *job)
{
    cs_recfile_row_t row;
    /* Cancelled by a stop: it stays processing and is queued again at start. */
    if (job->rc == CS_EAGAIN ||
        cs_storage_recfile_get(ar->app->storage, job->file_id, &row) != CS_OK)
        return;
    cs_recording_file_t *f = &row.file;
    const cs_postproc_result_t *res = &job->res;
    if (job->rc != CS_OK) {
        char why[2 * CS_RECORDING_ERROR_MAX + 32];
        const char *what = res->error[0] ? res->error : cs_strerror(job->rc);
        /* A capture stopped by a full disk is post-processed on that same
         * disk and fails too: why it stopped comes first, so the file still
         * says so (and survives the cut to the file's error size). */
        int n = f->incomplete && f->error[0]
                    ? snprintf(why, sizeof why, "%s; post-processing failed: %s", f->error, what)
                    : snprintf(why, sizeof why, "post-processing failed: %s", what);
        if (n < 0)
            why[0] = '\0';
        CS_LOGE("recording", "recording %s: %s", job->file_id, why);
        fail_now(ar, &row, why);
        return;
    }
    f->state = CS_RECFILE_READY;
    f->progress = 100;
    f->duration_ms = res->duration_ms;
    f->size = (int64_t)res->output_bytes;
    if (res->incomplete) {
        char joined[2 * CS_RECORDING_ERROR_MAX + 4];
        if (f->incomplete && f->error[0])
            snprintf(joined, sizeof joined, "%s; %s", f->error, res->error);
        else
            cs_strlcpy(joined, res->error, sizeof joined);
        cs_strlcpy(f->error, joined, sizeof f->error);
        f->incomplete = true;
    }
    rec_file_update(ar, row.consult_id, f);
    char detail[200];
    snprintf(detail, sizeof detail, "%s: %lld ms, %lld bytes%s", f->id, (long long)f->duration_ms,
             (long long)f->size, f->incomplete ? ", incomplete" : "");
    rec_audit(ar, row.consult_id, NULL, "recording_ready", detail);
    ar->processed++;
    CS_LOGI("recording", "recording %s ready: %s", f->id, detail);
}

static void report_progress(cs_app_recording_t *ar, rec_job_t *job, double progress,
                            int64_t now_ms)
{
    int pct = (int)(progress * 100.0);
    if (pct <= job->reported_pct || pct >= 100 || now_ms - job->reported_at < 1000)
        return;
    cs_recfile_row_t row;
    if (cs_storage_recfile_get(ar->app->storage, job->file_id, &row) != CS_OK)
        return;
    row.file.progress = pct;
    if (rec_file_update(ar, row.consult_id, &row.file) == CS_OK) {
        job->reported_pct = pct;
        job->reported_at = now_ms;
    }
}

void rec_jobs_poll(cs_app_recording_t *ar, int64_t now_ms)
{
    bool any_free = false;
    for (size_t i = 0; i < ar->n_threads; i++) {
        rec_job_t *job = &ar->jobs[i];
        pthread_mutex_lock(&ar->mu);
        bool busy = job->busy, done = job->done;
        double progress = job->progress;
        pthread_mutex_unlock(&ar->mu);
        if (busy && done) {
            take_result(ar, job);
            ar->queue_dirty = true;   /* a thread is free for what waits */
            pthread_mutex_lock(&ar->mu);
            job->busy = job->done = false;
            pthread_mutex_unlock(&ar->mu);
            busy = false;
        } else if (busy && progress >= 0) {
            report_progress(ar, job, progress, now_ms);
        }
        any_free |= !busy;
    }
    /* The queue is read only when a thread is free and something may have
     * joined it (see rec_jobs_wake), not on every loop turn. */
    if (any_free && ar->queue_dirty)
        ar->queue_dirty = !fill_free_slots(ar);
}
