/*
 * report.c — what a consilium-load run measured, told two ways: a summary
 * table for people and a JSON file for the bench harness and the tests
 * (fields in tests/load/README.md; numbers are numbers, an unknown value is
 * null). Also the sampling it needs: a server's CPU time and RSS from /proc,
 * the tool's own CPU from getrusage.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/common.h"
#include "tests/load/report.h"

/* ---- results and sampling ---------------------------------------------------------------------- */

void lt_results_add_error(lt_results_t *r, const char *why)
{
    if (!why || !*why || r->n_errors >= LT_MAX_ERRORS)
        return;
    for (size_t i = 0; i < r->n_errors; i++)
        if (strcmp(r->errors[i], why) == 0)
            return;
    cs_strlcpy(r->errors[r->n_errors++], why, sizeof r->errors[0]);
}

void lt_results_free(lt_results_t *r)
{
    free(r->ready_ms);
    r->ready_ms = NULL;
    r->n_ready_ms = 0;
}

static int read_proc(int pid, const char *what, char *buf, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
    FILE *f = fopen(path, "r");
    if (!f)
        return CS_EIO;
    size_t n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n ? CS_OK : CS_EIO;
}

int lt_proc_cpu_seconds(int pid, double *out)
{
    char buf[2048];
    if (pid <= 0 || read_proc(pid, "stat", buf, sizeof buf))
        return CS_EIO;
    /* The command name may hold spaces and parentheses: fields follow the last ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long ut, st;
    if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return CS_EIO;
    long hz = sysconf(_SC_CLK_TCK);
    *out = (double)(ut + st) / (double)(hz > 0 ? hz : 100);
    return CS_OK;
}

int lt_proc_rss_kib(int pid, long *out)
{
    char buf[4096];
    if (pid <= 0 || read_proc(pid, "status", buf, sizeof buf))
        return CS_EIO;
    const char *p = strstr(buf, "\nVmRSS:");
    return p && sscanf(p + 7, "%ld", out) == 1 ? CS_OK : CS_EIO;
}

double lt_self_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru))
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* ---- derived figures ---------------------------------------------------------------------------- */

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank quantile of the ready times (ms); 0 when none. */
static int64_t ready_quantile(const lt_results_t *r, double q)
{
    if (!r->n_ready_ms)
        return 0;
    int64_t *v = malloc(r->n_ready_ms * sizeof *v);
    if (!v)
        return 0;
    memcpy(v, r->ready_ms, r->n_ready_ms * sizeof *v);
    qsort(v, r->n_ready_ms, sizeof *v, cmp_i64);
    size_t i = (size_t)(q * (double)r->n_ready_ms + 0.999999);
    int64_t x = v[i ? i - 1 : 0];
    free(v);
    return x;
}

/* Both kinds together. */
static void totals(const lt_results_t *r, lt_kind_totals_t *t)
{
    memset(t, 0, sizeof *t);
    for (int k = 0; k < 2; k++) {
        const lt_kind_totals_t *a = &r->kind[k];
        t->received += a->received;
        t->expected += a->expected;
        t->lost += a->lost;
        t->recovered += a->recovered;
        t->duplicates += a->duplicates;
        t->frames_decoded += a->frames_decoded;
        t->decode_errors += a->decode_errors;
        t->jitter_sum_ms += a->jitter_sum_ms;
        t->jitter_n += a->jitter_n;
        if (a->jitter_max_ms > t->jitter_max_ms)
            t->jitter_max_ms = a->jitter_max_ms;
        lt_hist_merge(&t->latency, &a->latency);
    }
}

static double mean_us(const lt_hist_t *h)
{
    return h->count ? (double)h->sum_us / (double)h->count : 0;
}

/* ---- the summary -------------------------------------------------------------------------------- */

static void print_kind(FILE *out, const char *name, const lt_kind_totals_t *t)
{
    const lt_hist_t *h = &t->latency;
    fprintf(out, "          %-7s received %" PRIu64 ", lost %" PRIu64 " (%.3f %%), latency p50 %" PRIu64
            " µs, p99 %" PRIu64 " µs\n", name, t->received, t->lost, percent(t->lost, t->expected),
            lt_hist_quantile(h, 0.5), lt_hist_quantile(h, 0.99));
}

static void print_window(FILE *out, const lt_run_config_t *cfg, const lt_results_t *r)
{
    lt_kind_totals_t t;
    totals(r, &t);
    const lt_hist_t *h = &t.latency;
    fprintf(out, "window    %.1f s, %u consults, %u participants%s\n", r->window_s, r->window_consults,
            r->window_participants, r->failed_in_window ? " (some failed, see errors)" : "");
    fprintf(out, "          packets sent %" PRIu64 ", received %" PRIu64 ", lost %" PRIu64
            " (%.3f %%), recovered %" PRIu64 ", duplicates %" PRIu64 "\n",
            r->packets_sent, t.received, t.lost, percent(t.lost, t.expected), t.recovered, t.duplicates);
    fprintf(out, "          latency matched %" PRIu64 ": p50 %" PRIu64 " µs, p90 %" PRIu64 " µs, p99 %" PRIu64
            " µs, max %" PRIu64 " µs, mean %.0f µs\n", h->count, lt_hist_quantile(h, 0.5),
            lt_hist_quantile(h, 0.9), lt_hist_quantile(h, 0.99), h->max_us, mean_us(h));
    fprintf(out, "          jitter mean %.2f ms, max %.2f ms; decoded %" PRIu64 " frames, %" PRIu64 " errors\n",
            t.jitter_n ? t.jitter_sum_ms / (double)t.jitter_n : 0, t.jitter_max_ms, t.frames_decoded,
            t.decode_errors);
    if (cfg->audio)
        print_kind(out, "audio", &r->kind[LT_AUDIO]);
    if (cfg->video)
        print_kind(out, "video", &r->kind[LT_VIDEO]);
    if (r->server_pid > 0) {
        fprintf(out, "server    pid %d:", r->server_pid);
        if (r->server_cpu_ok)
            fprintf(out, " CPU %.2f s (%.1f %%), %.2f µs per packet received", r->server_cpu_s,
                    r->window_s > 0 ? 100 * r->server_cpu_s / r->window_s : 0,
                    t.received ? r->server_cpu_s * 1e6 / (double)t.received : 0);
        if (r->server_rss_ok)
            fprintf(out, "; RSS %ld → %ld KiB (%.0f KiB per participant)", r->rss_kib_before, r->rss_kib,
                    r->window_participants ? (double)(r->rss_kib - r->rss_kib_before) / r->window_participants : 0);
        fprintf(out, "%s\n", r->server_cpu_ok || r->server_rss_ok ? "" : " not readable");
    }
    fprintf(out, "tool      CPU %.2f s (%.1f %% of one core)\n", r->tool_cpu_s,
            r->window_s > 0 ? 100 * r->tool_cpu_s / r->window_s : 0);
}

static void print_hostile(FILE *out, const lt_hostile_stats_t *h)
{
    fprintf(out, "hostile   sent");
    for (int k = 0; k < LT_HOSTILE_KINDS; k++)
        fprintf(out, "%s %s %" PRIu64, k ? "," : "", lt_hostile_kind_name(k), h->sent[k]);
    fprintf(out, "\n          answered to the other port: stun %" PRIu64 " (%" PRIu64 " successes), dtls %" PRIu64
            ", other %" PRIu64 "; its handshakes completed %" PRIu64 "\n",
            h->answers_stun, h->answers_stun_success, h->answers_dtls, h->answers_other, h->dtls_completed);
}

void lt_report_print(FILE *out, const lt_run_config_t *cfg, const lt_results_t *r)
{
    fprintf(out, "consilium-load → %s %s: %u consults × %u participants", cfg->target, cfg->url,
            cfg->consults, cfg->participants);
    if (cfg->video)
        fprintf(out, ", video %dx%d@%d %.0f kbit/s", cfg->width, cfg->height, cfg->fps, r->media.video_kbps);
    if (cfg->audio)
        fprintf(out, ", audio %.0f kbit/s", r->media.audio_kbps);
    fprintf(out, "\nsetup     %u/%u ready, %u failed, %u peers, SRTP %s", r->ready, r->consults, r->failed,
            r->peers, r->srtp_profile[0] ? r->srtp_profile : "-");
    if (r->n_ready_ms)
        fprintf(out, "; ready in p50 %" PRId64 " ms, p99 %" PRId64 " ms, max %" PRId64 " ms",
                ready_quantile(r, 0.5), ready_quantile(r, 0.99), ready_quantile(r, 1));
    fputc('\n', out);
    if (r->window_run)
        print_window(out, cfg, r);
    else
        fprintf(out, "window    not run (no consult ready)\n");
    if (cfg->churn_per_s > 0)
        fprintf(out, "churn     ended %u, started %u, ready %u, failed %u\n", r->churn_ended,
                r->churn_started, r->churn_ready, r->churn_failed);
    if (cfg->hostile_pps > 0)
        print_hostile(out, &r->hostile);
    for (size_t i = 0; i < r->n_errors; i++)
        fprintf(out, "%s %s\n", i ? "         " : "errors   ", r->errors[i]);
    fprintf(out, "result    %s\n", r->ok ? "OK" : "FAILED");
}

/* ---- the JSON ------------------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *config_json(const lt_run_config_t *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "target", json_string(c->target));
    json_object_set_new(o, "url", json_string(c->url));
    json_object_set_new(o, "secret", str_or_null(c->secret_file));
    json_object_set_new(o, "tenant", str_or_null(c->tenant));
    json_object_set_new(o, "specialty", str_or_null(c->specialty));
    json_object_set_new(o, "consults", json_integer(c->consults));
    json_object_set_new(o, "participants", json_integer(c->participants));
    json_object_set_new(o, "ramp", json_real(c->ramp_s));
    json_object_set_new(o, "warmup", json_real(c->warmup_s));
    json_object_set_new(o, "duration", json_real(c->duration_s));
    json_object_set_new(o, "churn", json_real(c->churn_per_s));
    json_object_set_new(o, "width", json_integer(c->width));
    json_object_set_new(o, "height", json_integer(c->height));
    json_object_set_new(o, "fps", json_integer(c->fps));
    json_object_set_new(o, "video_kbps", json_integer(c->video_kbps));
    json_object_set_new(o, "audio_kbps", json_integer(c->audio_kbps));
    json_object_set_new(o, "video", json_boolean(c->video));
    json_object_set_new(o, "audio", json_boolean(c->audio));
    json_object_set_new(o, "decode_every", json_integer(c->decode_every));
    json_object_set_new(o, "srtp_profile", str_or_null(c->srtp_profile));
    json_object_set_new(o, "bind", json_string(c->bind_address));
    json_object_set_new(o, "hostile", json_real(c->hostile_pps));
    json_object_set_new(o, "server_pid", c->server_pid > 0 ? json_integer(c->server_pid) : json_null());
    json_object_set_new(o, "setup_timeout", json_real(c->setup_timeout_s));
    json_object_set_new(o, "json", str_or_null(c->json_path));
    json_object_set_new(o, "quiet", json_boolean(c->quiet));
    return o;
}

static json_t *latency_json(const lt_hist_t *h)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:f}", "matched", (json_int_t)h->count, "p50",
                     (json_int_t)lt_hist_quantile(h, 0.5), "p90", (json_int_t)lt_hist_quantile(h, 0.9),
                     "p99", (json_int_t)lt_hist_quantile(h, 0.99), "max", (json_int_t)h->max_us, "mean",
                     mean_us(h));
}

static json_t *kind_json(const lt_kind_totals_t *t)
{
    return json_pack("{s:I, s:I, s:I, s:f, s:o, s:f, s:I, s:I}", "packets_received", (json_int_t)t->received,
                     "expected", (json_int_t)t->expected, "lost", (json_int_t)t->lost, "loss_percent",
                     percent(t->lost, t->expected), "latency_us", latency_json(&t->latency), "jitter_ms",
                     t->jitter_n ? t->jitter_sum_ms / (double)t->jitter_n : 0.0, "frames_decoded",
                     (json_int_t)t->frames_decoded, "decode_errors", (json_int_t)t->decode_errors);
}

static json_t *real_or_null(bool ok, double v)
{
    return ok ? json_real(v) : json_null();
}

static json_t *server_json(const lt_results_t *r, uint64_t received)
{
    bool cpu = r->server_cpu_ok && r->window_run, rss = r->server_rss_ok && r->window_run;
    json_t *o = json_object();
    json_object_set_new(o, "pid", json_integer(r->server_pid));
    json_object_set_new(o, "cpu_seconds", real_or_null(cpu, r->server_cpu_s));
    json_object_set_new(o, "cpu_percent", real_or_null(cpu && r->window_s > 0, 100 * r->server_cpu_s / r->window_s));
    json_object_set_new(o, "us_per_packet", real_or_null(cpu && received, r->server_cpu_s * 1e6 / (double)received));
    json_object_set_new(o, "rss_kib_before", r->server_rss_ok ? json_integer(r->rss_kib_before) : json_null());
    json_object_set_new(o, "rss_kib", rss ? json_integer(r->rss_kib) : json_null());
    json_object_set_new(o, "rss_kib_per_participant",
                        real_or_null(rss && r->window_participants,
                                     (double)(r->rss_kib - r->rss_kib_before) / r->window_participants));
    return o;
}

static json_t *window_json(const lt_results_t *r)
{
    lt_kind_totals_t t;
    totals(r, &t);
    json_t *o = json_pack("{s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:I, s:I}", "seconds", r->window_s,
                          "consults", (json_int_t)r->window_consults, "participants",
                          (json_int_t)r->window_participants, "failures", (json_int_t)r->failed_in_window,
                          "packets_sent", (json_int_t)r->packets_sent, "packets_received", (json_int_t)t.received,
                          "expected", (json_int_t)t.expected, "lost", (json_int_t)t.lost, "loss_percent",
                          percent(t.lost, t.expected), "recovered", (json_int_t)t.recovered, "duplicates",
                          (json_int_t)t.duplicates);
    if (!o)
        return NULL;
    json_object_set_new(o, "latency_us", latency_json(&t.latency));
    json_object_set_new(o, "jitter_ms", json_pack("{s:f, s:f}", "mean",
                                                  t.jitter_n ? t.jitter_sum_ms / (double)t.jitter_n : 0.0,
                                                  "max", t.jitter_max_ms));
    json_object_set_new(o, "frames_decoded", json_integer((json_int_t)t.frames_decoded));
    json_object_set_new(o, "decode_errors", json_integer((json_int_t)t.decode_errors));
    json_object_set_new(o, "audio", kind_json(&r->kind[LT_AUDIO]));
    json_object_set_new(o, "video", kind_json(&r->kind[LT_VIDEO]));
    if (r->server_pid > 0)
        json_object_set_new(o, "server", server_json(r, t.received));
    json_object_set_new(o, "tool", json_pack("{s:f, s:f}", "cpu_seconds", r->tool_cpu_s, "cpu_percent",
                                             r->window_s > 0 ? 100 * r->tool_cpu_s / r->window_s : 0.0));
    return o;
}

static json_t *setup_json(const lt_results_t *r)
{
    json_t *errors = json_array();
    for (size_t i = 0; i < r->n_errors; i++)
        json_array_append_new(errors, json_string(r->errors[i]));
    json_t *ready = json_object();
    const char *names[] = {"p50", "p99", "max"};
    const double qs[] = {0.5, 0.99, 1};
    for (int i = 0; i < 3; i++)
        json_object_set_new(ready, names[i], r->n_ready_ms ? json_integer(ready_quantile(r, qs[i])) : json_null());
    return json_pack("{s:I, s:I, s:I, s:I, s:s, s:o, s:o}", "consults", (json_int_t)r->consults, "ready",
                     (json_int_t)r->ready, "failed", (json_int_t)r->failed, "peers", (json_int_t)r->peers,
                     "srtp_profile", r->srtp_profile, "ready_ms", ready, "errors", errors);
}

static json_t *hostile_json(const lt_hostile_stats_t *h)
{
    json_t *sent = json_object();
    for (int k = 0; k < LT_HOSTILE_KINDS; k++)
        json_object_set_new(sent, lt_hostile_kind_name(k), json_integer((json_int_t)h->sent[k]));
    return json_pack("{s:o, s:{s:I, s:I, s:I, s:I}, s:I}", "sent", sent, "answers", "stun",
                     (json_int_t)h->answers_stun, "stun_success", (json_int_t)h->answers_stun_success,
                     "dtls", (json_int_t)h->answers_dtls, "other", (json_int_t)h->answers_other,
                     "dtls_completed", (json_int_t)h->dtls_completed);
}

int lt_report_write_json(const char *path, const lt_run_config_t *cfg, const lt_results_t *r, char *err,
                         size_t cap)
{
    json_t *media = json_pack("{s:f, s:f, s:i, s:i, s:i}", "video_kbps", r->media.video_kbps, "audio_kbps",
                              r->media.audio_kbps, "fps", cfg->fps, "width", cfg->width, "height", cfg->height);
    json_t *churn = json_pack("{s:I, s:I, s:I, s:I}", "ended", (json_int_t)r->churn_ended, "started",
                              (json_int_t)r->churn_started, "ready", (json_int_t)r->churn_ready, "failed",
                              (json_int_t)r->churn_failed);
    json_t *doc = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:b}", "tool", "consilium-load",
                            "target", cfg->target, "config", config_json(cfg), "media", media, "setup",
                            setup_json(r), "window", window_json(r), "churn", churn, "hostile",
                            cfg->hostile_pps > 0 ? hostile_json(&r->hostile) : json_null(), "ok", r->ok);
    if (!doc) {
        snprintf(err, cap, "out of memory writing the report");
        return CS_ENOMEM;
    }
    int rc = json_dump_file(doc, path, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    json_decref(doc);
    if (rc) {
        snprintf(err, cap, "cannot write %s", path);
        return CS_EIO;
    }
    return CS_OK;
}
