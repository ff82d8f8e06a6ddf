/*
 * recording_internal.h — what the gateway's recording files share:
 * recording.c (the master key, the recorder, captures opened and closed as
 * consents come and go), recording_jobs.c (the post-processing pool and
 * queue) and recording_http.c (serving the result, capability links).
 * Everything here runs on the signalling thread except the job threads,
 * which touch only their job slot under its mutex.
 */
#ifndef CS_GATEWAY_RECORDING_INTERNAL_H
#define CS_GATEWAY_RECORDING_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "gateway.h"
#include "media/postproc/postproc.h"

#define REC_MAX_JOBS 16
#define REC_MAX_INPUTS 16
#define REC_MAX_LINKS 4096

/* One open capture: the consult's current file, and whose media it takes. */
typedef struct {
    char consult_id[CS_ID_MAX];
    char file_id[CS_ID_MAX];
    char dir[CS_PATH_MAX];           /* <recording.dir>/<consult>/<file> */
    cs_rec_session_t *session;       /* our reference */
    bool failed;                     /* a write error was reported */
    int64_t fail_said_ms;            /* last log of a stop not yet stored (monotonic) */
    struct {
        char tenant[CS_TENANT_MAX];
        char subject[CS_SUBJECT_MAX];
        bool on;
    } members[CS_MAX_PARTICIPANTS];
    int n_members;
} rec_capture_t;

/* One post-processing job slot. The thread owns inputs and result while
 * busy; progress and done are read and written under the pool's mutex. */
typedef struct {
    struct cs_app_recording *owner;
    bool busy, done;
    char consult_id[CS_ID_MAX];
    char file_id[CS_ID_MAX];
    char inputs[REC_MAX_INPUTS][CS_PATH_MAX + 32];
    size_t n_inputs;
    char output[CS_PATH_MAX + 32];
    double progress;
    int rc;
    cs_postproc_result_t res;
    int reported_pct;
    int64_t reported_at;
} rec_job_t;

/* A short-lived capability to play one file without headers. */
typedef struct {
    char file_id[CS_ID_MAX];
    cs_identity_t who;
    int64_t expires_at;
} rec_link_t;

struct cs_app_recording {
    cs_app_t *app;
    cs_recorder_t *recorder;
    uint8_t key[CS_REC_KEY_LEN];
    char dir[CS_PATH_MAX];
    cs_map_t *captures;        /* consult id → rec_capture_t (open) */
    cs_map_t *closing;         /* file id → rec_capture_t (closed, writer finishing) */
    cs_map_t *dirty;           /* consult ids changed since the last poll → (void *)1 */
    cs_map_t *links;           /* capability → rec_link_t */
    /* the pool */
    pthread_t threads[REC_MAX_JOBS];
    size_t n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;             /* under mu */
    volatile bool cancel;      /* read by running jobs */
    rec_job_t jobs[REC_MAX_JOBS];
    bool queue_dirty;          /* a file may have been queued since the queue was read */
    /* counters for /metrics */
    uint64_t captures_opened, capture_failures, processed, processing_failures, reads;
};

/* recording.c */
/* The folder of a consult's file: <recording.dir>/<consult>/<file>; false
 * when it does not fit in cap. */
bool rec_file_dir(const cs_app_recording_t *ar, const char *consult_id, const char *file_id,
                  char *out, size_t cap);
/* Writes f (progress or result) to storage, then the engine's copy. */
int rec_file_update(cs_app_recording_t *ar, const char *consult_id,
                    const cs_recording_file_t *f);
/* An audit event by the system (or by who) on a consult. */
void rec_audit(cs_app_recording_t *ar, const char *consult_id, const cs_identity_t *who,
               const char *kind, const char *detail);

/* True while a closed capture of file_id is still being written out. */
bool rec_capture_pending(const cs_app_recording_t *ar, const char *file_id);

/* recording_jobs.c */
int rec_jobs_start(cs_app_recording_t *ar, char *err, size_t errlen);
void rec_jobs_stop(cs_app_recording_t *ar);
/* Results, progress, and new jobs for queued files whose capture is closed. */
void rec_jobs_poll(cs_app_recording_t *ar, int64_t now_ms);
/* Something may have joined the queue: read it when a thread is free. */
void rec_jobs_wake(cs_app_recording_t *ar);
/* Files interrupted in processing by a stop or crash go back to the queue. */
int rec_jobs_recover(cs_app_recording_t *ar);

#endif
