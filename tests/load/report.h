/*
 * report.h — one run of consilium-load: its configuration (main.c fills it
 * from the command line), what the scenario runner (scenario.c) measured,
 * and how report.c prints it (a summary table) and writes it (the JSON that
 * tests/load/README.md documents field by field), with the /proc and
 * getrusage sampling of server and tool CPU and memory.
 *
 * Threads: the run's one thread. Ownership: lt_results_t owns ready_ms
 * (lt_results_free); strings in lt_run_config_t are borrowed.
 */
#ifndef CS_LOAD_REPORT_H
#define CS_LOAD_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tests/load/hostile.h"
#include "tests/load/media.h"

typedef struct {
    const char *target;          /* "consilium" | "janus" */
    const char *url;
    const char *secret_file;     /* consilium: HS256 secret */
    const char *tenant;          /* consilium: default "load" */
    const char *specialty;       /* consilium: NULL = unique per run and consult */
    unsigned consults, participants;
    double ramp_s, warmup_s, duration_s, churn_per_s, setup_timeout_s;
    int width, height, fps, video_kbps, audio_kbps;
    bool audio, video;
    unsigned decode_every;       /* consults 0, K, 2K… decode; 0 none */
    const char *srtp_profile;    /* NULL: as Chromium */
    const char *bind_address;
    double hostile_pps;          /* > 0: an attacker beside each consult's first peer */
    const char *json_path;       /* NULL: no JSON */
    int server_pid;              /* 0: not sampled */
    bool quiet;
} lt_run_config_t;

/* What the receivers of one kind got over the window, summed. */
typedef struct {
    uint64_t received, expected, lost, recovered, duplicates;
    uint64_t frames_decoded, decode_errors;
    double jitter_sum_ms, jitter_max_ms;
    uint64_t jitter_n;           /* receivers that got packets */
    lt_hist_t latency;           /* send → arrival, µs */
} lt_kind_totals_t;

#define LT_MAX_ERRORS 10

typedef struct {
    lt_media_info_t media;
    /* setup of the first --consults consults */
    unsigned consults, ready, failed, peers;
    char srtp_profile[32];
    int64_t *ready_ms;           /* from start to ready, one per ready consult */
    size_t n_ready_ms;
    char errors[LT_MAX_ERRORS][256]; /* the first distinct reasons */
    size_t n_errors;
    /* the steady window */
    bool window_run;
    double window_s;
    unsigned window_consults, window_participants;
    unsigned failed_in_window;   /* ready consults that failed later (warmup or window) */
    uint64_t packets_sent;
    lt_kind_totals_t kind[2];    /* LT_AUDIO, LT_VIDEO */
    /* CPU and memory (server: only with --server-pid, *_ok when sampled) */
    int server_pid;
    bool server_cpu_ok, server_rss_ok;
    double server_cpu_s;
    long rss_kib_before, rss_kib;
    double tool_cpu_s;
    /* churn */
    unsigned churn_ended, churn_started, churn_ready, churn_failed;
    /* hostile mode: every attacker's counts, summed */
    lt_hostile_stats_t hostile;
    bool interrupted;
    bool ok;
} lt_results_t;

/* Adds why to errors unless it is there already or ten are. */
void lt_results_add_error(lt_results_t *r, const char *why);
void lt_results_free(lt_results_t *r);

/* utime + stime of process pid in seconds (/proc/PID/stat); CS_EIO when unreadable. */
int lt_proc_cpu_seconds(int pid, double *out);
/* VmRSS of process pid in KiB (/proc/PID/status); CS_EIO when unreadable. */
int lt_proc_rss_kib(int pid, long *out);
/* This process's user + system CPU seconds (getrusage). */
double lt_self_cpu_seconds(void);

/* The human summary. */
void lt_report_print(FILE *out, const lt_run_config_t *cfg, const lt_results_t *r);
/* The JSON file; CS_OK, or CS_EIO / CS_ENOMEM with a message in err. */
int lt_report_write_json(const char *path, const lt_run_config_t *cfg, const lt_results_t *r,
                         char *err, size_t cap);

/* Runs the whole scenario (scenario.c): setup, warmup, window, churn, stop.
 * Fills r (zeroed by the caller); returns 0 when every consult became ready
 * (and, with churn, every replacement) and none failed later, else 1. */
int lt_scenario_run(const lt_run_config_t *cfg, lt_results_t *r);

#endif
