/*
 * scenario.c — the runner of consilium-load: N consults of M synthetic
 * participants started at a ramp (or as fast as possible, at most 20
 * setting up at once), a wait until every one is ready or has failed, a
 * warmup, the steady window (every receiver's window reset at its start,
 * server and tool CPU sampled at both ends, churn ending and starting
 * consults during it), then everything stopped and the figures summed.
 *
 * One GMainContext, iterated on this thread: the drivers' sockets, libnice
 * agents and timers all run on it, and a 1 ms timer polls the peers whose
 * cached due time has passed (a flat array scan, cheap at hundreds of
 * peers; each peer says when it next needs a call).
 *
 * Drivers report with lt_consult_ready / lt_consult_failed, possibly from
 * deep inside a peer or socket callback, so on_change only counts and
 * flags; consults are stopped and freed from the loop, never inside it.
 */
#include <glib-unix.h>
#include <glib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "media/dtls/dtls.h"
#include "media/ice/ice.h"
#include "media/srtp/srtp.h"
#include "tests/load/driver.h"
#include "tests/load/hostile.h"
#include "tests/load/report.h"
#include "tests/load/ws.h"

#define MAX_SETTING_UP 20            /* consults starting at once without a ramp */
#define POLL_MS 1
#define MAX_SLEEP_US 20000           /* a peer is polled at least this often */
#define CHECK_US 50000               /* setup timeouts looked at this often */
#define DRAIN_US 1500000             /* at most, for closing sockets to flush */

typedef struct runner runner_t;

typedef struct {
    lt_consult_t c;                  /* first: drivers see only this */
    runner_t *r;
    lt_consult_state_t seen;         /* the state on_change last saw */
    bool replacement;                /* started by churn */
    bool to_stop;                    /* failed: the loop stops it */
    bool harvested;                  /* its window figures are in the results */
    int64_t due[LT_MAX_PEERS];       /* when peers[i] next wants lt_peer_poll */
    const lt_peer_t *polled[LT_MAX_PEERS];
    const lt_peer_t *base_peer[LT_MAX_PEERS]; /* whose rtp_sent base_sent holds */
    uint64_t base_sent[LT_MAX_PEERS];
    lt_hostile_t *hostile;           /* --hostile: attacks peers[0] once ready */
    int64_t hostile_due;
} slot_t;

struct runner {
    const lt_run_config_t *cfg;
    const lt_driver_t *drv;
    lt_env_t env;
    GMainContext *ctx;
    cs_ice_batch_t *batch;           /* every peer's sends (prepare) */
    lt_results_t *res;
    slot_t **live;                   /* started and not yet stopped */
    size_t n_live, cap_live;
    unsigned next_index, starting;
    bool any_to_stop, in_window, interrupted;
    int64_t next_check_us;
    uint64_t rng;
};

/* ---- what drivers call ---------------------------------------------------------------------- */

void lt_consult_ready(lt_consult_t *c)
{
    if (c->state != LT_CONSULT_STARTING)
        return;
    c->state = LT_CONSULT_READY;
    c->ready_us = cs_mono_us();
    if (c->on_change)
        c->on_change(c);
}

void lt_consult_failed(lt_consult_t *c, const char *fmt, ...)
{
    if (c->state == LT_CONSULT_FAILED || c->state == LT_CONSULT_STOPPED)
        return;
    char why[sizeof c->error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap); /* fmt's arguments may point into c->error */
    va_end(ap);
    memcpy(c->error, why, sizeof why);
    c->state = LT_CONSULT_FAILED;
    if (c->on_change)
        c->on_change(c);
}

static void on_change(lt_consult_t *c)
{
    slot_t *s = (slot_t *)c;
    runner_t *r = s->r;
    lt_results_t *res = r->res;
    lt_consult_state_t was = s->seen;
    if (c->state == was)
        return;
    s->seen = c->state;
    if (was == LT_CONSULT_STARTING)
        r->starting--;
    if (c->state == LT_CONSULT_READY) {
        if (s->replacement) {
            res->churn_ready++;
        } else {
            res->ready++;
            res->peers += (unsigned)c->n_peers;
            res->ready_ms[res->n_ready_ms++] = (c->ready_us - c->started_us) / 1000;
        }
        if (!res->srtp_profile[0] && c->peers[0]) {
            lt_peer_stats_t st;
            lt_peer_stats(c->peers[0], &st);
            cs_strlcpy(res->srtp_profile, st.srtp_profile, sizeof res->srtp_profile);
        }
    } else if (c->state == LT_CONSULT_FAILED) {
        lt_results_add_error(res, c->error);
        if (was != LT_CONSULT_STARTING)
            res->failed_in_window++;
        else if (s->replacement)
            res->churn_failed++;
        else
            res->failed++;
        s->to_stop = true;
        r->any_to_stop = true;
    }
}

/* ---- consults in and out ------------------------------------------------------------------------ */

static int live_add(runner_t *r, slot_t *s)
{
    if (r->n_live == r->cap_live) {
        size_t cap = r->cap_live ? 2 * r->cap_live : 64;
        slot_t **p = realloc(r->live, cap * sizeof *p);
        if (!p)
            return CS_ENOMEM;
        r->live = p;
        r->cap_live = cap;
    }
    r->live[r->n_live++] = s;
    return CS_OK;
}

static void start_one(runner_t *r, bool replacement)
{
    const lt_run_config_t *cfg = r->cfg;
    slot_t *s = calloc(1, sizeof *s);
    if (!s || live_add(r, s)) {
        free(s);
        lt_results_add_error(r->res, "out of memory");
        replacement ? r->res->churn_failed++ : r->res->failed++;
        return;
    }
    s->r = r;
    s->replacement = replacement;
    s->seen = LT_CONSULT_STARTING;
    s->c.env = &r->env;
    s->c.index = r->next_index++;
    s->c.n = cfg->participants;
    s->c.decode = cfg->decode_every && s->c.index % cfg->decode_every == 0;
    s->c.state = LT_CONSULT_STARTING;
    s->c.started_us = cs_mono_us();
    s->c.on_change = on_change;
    s->c.runner = r;
    r->starting++;
    int rc = r->drv->start(&s->c);
    if (rc < 0 && s->c.state == LT_CONSULT_STARTING) {
        /* It could not even start and has cleaned up after itself. */
        char why[sizeof s->c.error];
        snprintf(why, sizeof why, "%s", s->c.error[0] ? s->c.error : cs_strerror(rc));
        lt_consult_failed(&s->c, "%s", why);
    }
    if (rc < 0) {
        s->c.driver_state = NULL;
        s->c.n_peers = 0;
    }
}

/* The consult's receivers' window figures and its senders' packets, into the results. */
static void harvest(runner_t *r, slot_t *s)
{
    if (!r->in_window || s->harvested)
        return;
    s->harvested = true;
    lt_results_t *res = r->res;
    for (size_t k = 0; k < s->c.n_peers; k++) {
        lt_peer_t *p = s->c.peers[k];
        if (!p)
            continue;
        lt_peer_stats_t st;
        lt_peer_stats(p, &st);
        res->packets_sent += st.rtp_sent - (s->base_peer[k] == p ? s->base_sent[k] : 0);
        for (size_t i = 0; i < st.n_receivers; i++) {
            lt_receiver_stats_t rs;
            lt_peer_receiver_stats(p, i, &rs);
            if (rs.kind != LT_AUDIO && rs.kind != LT_VIDEO)
                continue;
            lt_kind_totals_t *t = &res->kind[rs.kind];
            t->received += rs.received;
            t->expected += rs.expected;
            t->lost += rs.lost;
            t->recovered += rs.recovered;
            t->duplicates += rs.duplicates;
            t->frames_decoded += rs.frames_decoded;
            t->decode_errors += rs.decode_errors;
            lt_hist_merge(&t->latency, &rs.latency);
            if (rs.received) {
                t->jitter_sum_ms += rs.jitter_ms;
                t->jitter_n++;
                if (rs.jitter_ms > t->jitter_max_ms)
                    t->jitter_max_ms = rs.jitter_ms;
            }
        }
    }
}

/* The attacker's counts, into the results; it goes before its victim. */
static void hostile_end(runner_t *r, slot_t *s)
{
    if (!s->hostile)
        return;
    lt_hostile_stats_add(s->hostile, &r->res->hostile);
    lt_hostile_free(s->hostile);
    s->hostile = NULL;
}

static void stop_slot(runner_t *r, size_t i)
{
    slot_t *s = r->live[i];
    harvest(r, s);
    hostile_end(r, s);
    if (s->seen == LT_CONSULT_STARTING)
        r->starting--;
    s->c.state = LT_CONSULT_STOPPED;    /* from here lt_consult_ready/failed do nothing */
    if (s->c.driver_state)
        r->drv->stop(&s->c);
    r->live[i] = r->live[--r->n_live];
    free(s);
}

static void stop_failed(runner_t *r)
{
    r->any_to_stop = false;
    for (size_t i = r->n_live; i-- > 0;)
        if (r->live[i]->to_stop)
            stop_slot(r, i);
}

static void check_timeouts(runner_t *r, int64_t now)
{
    int64_t limit = (int64_t)(r->cfg->setup_timeout_s * 1e6);
    for (size_t i = 0; i < r->n_live; i++) {
        lt_consult_t *c = &r->live[i]->c;
        if (c->state != LT_CONSULT_STARTING || now - c->started_us < limit)
            continue;
        /* While starting, a driver may leave its last step in error. */
        char step[sizeof c->error];
        cs_strlcpy(step, c->error, sizeof step);
        lt_consult_failed(c, "setup timed out after %g s%s%s", r->cfg->setup_timeout_s,
                          step[0] ? ": " : "", step);
    }
}

/* ---- the loop ------------------------------------------------------------------------------------ */

static void poll_hostile(runner_t *r, slot_t *s, int64_t now)
{
    if (!s->hostile) {
        if (!s->c.peers[0] || s->hostile_due < 0)
            return;
        int err;
        uint64_t seed = r->rng ^ (0x9e3779b97f4a7c15ull * (s->c.index + 1));
        s->hostile = lt_hostile_new(s->c.peers[0], r->cfg->bind_address, r->cfg->hostile_pps,
                                    seed, &err);
        if (!s->hostile) {
            char why[96];
            snprintf(why, sizeof why, "cannot start the hostile mode: %s", cs_strerror(err));
            lt_results_add_error(r->res, why);
            s->hostile_due = -1;        /* not again for this consult */
            return;
        }
    }
    if (s->hostile_due <= now)
        s->hostile_due = lt_hostile_poll(s->hostile, now);
}

static gboolean poll_peers(gpointer data)
{
    runner_t *r = data;
    int64_t now = cs_mono_us();
    for (size_t i = 0; i < r->n_live; i++) {
        slot_t *s = r->live[i];
        for (size_t k = 0; k < s->c.n_peers && k < LT_MAX_PEERS; k++) {
            lt_peer_t *p = s->c.peers[k];
            if (!p)
                continue;
            if (s->polled[k] != p) {
                s->polled[k] = p;
                s->due[k] = 0;
            }
            if (s->due[k] > now)
                continue;
            /* Each peer's own time: a send is logged when it happens, not
             * when this pass over every peer began. */
            now = cs_mono_us();
            int64_t due = lt_peer_poll(p, now);
            s->due[k] = due < now + MAX_SLEEP_US ? due : now + MAX_SLEEP_US;
        }
        if (r->cfg->hostile_pps > 0 && s->c.state == LT_CONSULT_READY)
            poll_hostile(r, s, now);
    }
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer data)
{
    ((runner_t *)data)->interrupted = true;
    return G_SOURCE_CONTINUE;
}

/* One turn of the loop and the bookkeeping that must not run inside it. */
static void turn(runner_t *r)
{
    g_main_context_iteration(r->ctx, TRUE);
    int64_t now = cs_mono_us();
    if (now >= r->next_check_us) {
        r->next_check_us = now + CHECK_US;
        check_timeouts(r, now);
    }
    if (r->any_to_stop)
        stop_failed(r);
}

static void run_for(runner_t *r, double seconds)
{
    int64_t end = cs_mono_us() + (int64_t)(seconds * 1e6);
    while (!r->interrupted && cs_mono_us() < end)
        turn(r);
}

/* Starts the first consults, at the ramp or at most MAX_SETTING_UP at once,
 * then waits until none is setting up. */
static void setup_phase(runner_t *r)
{
    const lt_run_config_t *cfg = r->cfg;
    int64_t t0 = cs_mono_us();
    unsigned started = 0;
    while (!r->interrupted && (started < cfg->consults || r->starting > 0)) {
        while (started < cfg->consults) {
            if (cfg->ramp_s > 0) {
                int64_t at = t0 + (int64_t)(cfg->ramp_s * 1e6 * started / cfg->consults);
                if (cs_mono_us() < at)
                    break;
            } else if (r->starting >= MAX_SETTING_UP) {
                break;
            }
            start_one(r, false);
            started++;
        }
        turn(r);
    }
}

static uint64_t rng_next(runner_t *r)
{
    r->rng ^= r->rng << 13;
    r->rng ^= r->rng >> 7;
    r->rng ^= r->rng << 17;
    return r->rng;
}

/* Ends a random ready consult as its users would and starts another. */
static void churn_one(runner_t *r)
{
    size_t ready = 0;
    for (size_t i = 0; i < r->n_live; i++)
        ready += r->live[i]->seen == LT_CONSULT_READY;
    if (!ready)
        return;
    size_t pick = (size_t)(rng_next(r) % ready);
    for (size_t i = 0; i < r->n_live; i++) {
        if (r->live[i]->seen != LT_CONSULT_READY || pick--)
            continue;
        stop_slot(r, i);
        r->res->churn_ended++;
        break;
    }
    r->res->churn_started++;
    start_one(r, true);
}

static void window_start(runner_t *r)
{
    lt_results_t *res = r->res;
    for (size_t i = 0; i < r->n_live; i++) {
        slot_t *s = r->live[i];
        for (size_t k = 0; k < s->c.n_peers; k++) {
            lt_peer_t *p = s->c.peers[k];
            if (!p)
                continue;
            lt_peer_stats_t st;
            lt_peer_reset_window(p);
            lt_peer_stats(p, &st);
            s->base_peer[k] = p;
            s->base_sent[k] = st.rtp_sent;
        }
    }
    res->server_cpu_ok = res->server_pid > 0 && lt_proc_cpu_seconds(res->server_pid, &res->server_cpu_s) == CS_OK;
    res->tool_cpu_s = lt_self_cpu_seconds();
    r->in_window = true;
}

static void window_phase(runner_t *r)
{
    const lt_run_config_t *cfg = r->cfg;
    lt_results_t *res = r->res;
    window_start(r);
    int64_t t0 = cs_mono_us(), last = t0, end = t0 + (int64_t)(cfg->duration_s * 1e6);
    double credit = 0;
    while (!r->interrupted && cs_mono_us() < end) {
        turn(r);
        int64_t now = cs_mono_us();
        credit += cfg->churn_per_s * (double)(now - last) / 1e6;
        last = now;
        for (; credit >= 1; credit -= 1)
            churn_one(r);
    }
    for (size_t i = 0; i < r->n_live; i++) {
        slot_t *s = r->live[i];
        harvest(r, s);
        if (s->seen == LT_CONSULT_READY) {
            res->window_consults++;
            res->window_participants += (unsigned)s->c.n;
        }
    }
    res->window_s = (double)(cs_mono_us() - t0) / 1e6;
    res->tool_cpu_s = lt_self_cpu_seconds() - res->tool_cpu_s;
    double cpu;
    if (res->server_cpu_ok && lt_proc_cpu_seconds(res->server_pid, &cpu) == CS_OK)
        res->server_cpu_s = cpu - res->server_cpu_s;
    else
        res->server_cpu_ok = false;
    res->server_rss_ok = res->server_rss_ok && lt_proc_rss_kib(res->server_pid, &res->rss_kib) == CS_OK;
    res->window_run = true;
    r->in_window = false;
}

static void stop_all(runner_t *r)
{
    while (r->n_live)
        stop_slot(r, r->n_live - 1);
    /* Closing sockets flush their last messages (consult.end) from the loop. */
    int64_t end = cs_mono_us() + DRAIN_US;
    while (lt_ws_lingering() > 0 && cs_mono_us() < end)
        g_main_context_iteration(r->ctx, TRUE);
}

/* ---- the run ------------------------------------------------------------------------------------- */

static int prepare(runner_t *r, cs_dtls_cert_t **cert, lt_media_t **media)
{
    const lt_run_config_t *cfg = r->cfg;
    char err[256];
    int rc = cs_srtp_global_init();
    if (rc) {
        lt_results_add_error(r->res, "libsrtp did not initialise");
        return rc;
    }
    *cert = cs_dtls_cert_generate(&rc);
    if (!*cert) {
        snprintf(err, sizeof err, "cannot make a DTLS certificate: %s", cs_strerror(rc));
        lt_results_add_error(r->res, err);
        return rc ? rc : CS_EIO;
    }
    lt_media_config_t mc = {.width = cfg->width, .height = cfg->height, .fps = cfg->fps,
                            .video_kbps = cfg->video_kbps, .audio_kbps = cfg->audio_kbps};
    lt_media_config_defaults(&mc);
    *media = lt_media_new(&mc, &rc);
    if (!*media) {
        snprintf(err, sizeof err, "cannot encode the media: %s", cs_strerror(rc));
        lt_results_add_error(r->res, err);
        return rc ? rc : CS_EIO;
    }
    lt_media_info(*media, &r->res->media);
    /* Every peer's datagrams leave in one sendmmsg per socket per turn of
     * the loop, as the gateway's do: the tool's own syscalls are most of
     * its cost, and a saturated tool measures itself, not the server. */
    if (!(r->batch = cs_ice_batch_new(r->ctx, &rc))) {
        lt_results_add_error(r->res, "out of memory");
        return rc;
    }
    r->env = (lt_env_t){
        .ctx = r->ctx, .media = *media, .cert = *cert, .url = cfg->url, .tenant = cfg->tenant,
        .specialty = cfg->specialty, .jwt_secret_file = cfg->secret_file,
        .bind_address = cfg->bind_address, .srtp_profiles = cfg->srtp_profile,
        .audio = cfg->audio, .video = cfg->video, .ice_batch = r->batch,
    };
    if (cs_random_bytes(&r->env.run_id, sizeof r->env.run_id) ||
        cs_random_bytes(&r->rng, sizeof r->rng) || !r->rng)
        r->rng = 0x2545f4914f6cdd1dull;
    rc = r->drv->init(&r->env, err, sizeof err);
    if (rc) {
        lt_results_add_error(r->res, err[0] ? err : cs_strerror(rc));
        return rc;
    }
    return CS_OK;
}

static GSource *attach(runner_t *r, GSource *src, GSourceFunc fn)
{
    g_source_set_callback(src, fn, r, NULL);
    g_source_attach(src, r->ctx);
    return src;
}

static void detach(GSource *src)
{
    g_source_destroy(src);
    g_source_unref(src);
}

int lt_scenario_run(const lt_run_config_t *cfg, lt_results_t *res)
{
    runner_t r = {.cfg = cfg, .res = res};
    res->consults = cfg->consults;
    res->server_pid = cfg->server_pid;
    res->server_rss_ok = cfg->server_pid > 0 && lt_proc_rss_kib(cfg->server_pid, &res->rss_kib_before) == CS_OK;
    res->ready_ms = calloc(cfg->consults ? cfg->consults : 1, sizeof *res->ready_ms);
    r.drv = strcmp(cfg->target, "janus") == 0 ? &lt_driver_janus : &lt_driver_consilium;
    r.ctx = g_main_context_new();
    cs_dtls_cert_t *cert = NULL;
    lt_media_t *media = NULL;
    bool started = false;
    if (!res->ready_ms) {
        lt_results_add_error(res, "out of memory");
    } else if (prepare(&r, &cert, &media) == CS_OK) {
        started = true;
        GSource *poll = attach(&r, g_timeout_source_new(POLL_MS), poll_peers);
        GSource *sigint = attach(&r, g_unix_signal_source_new(SIGINT), on_signal);
        GSource *sigterm = attach(&r, g_unix_signal_source_new(SIGTERM), on_signal);
        setup_phase(&r);
        if (res->ready > 0 && !r.interrupted) {
            run_for(&r, cfg->warmup_s);
            window_phase(&r);
        }
        /* Replacements still setting up are given their setup time. */
        while (!r.interrupted && r.starting > 0)
            turn(&r);
        stop_all(&r);
        if (r.drv->finish)
            r.drv->finish(&r.env);
        detach(poll);
        detach(sigint);
        detach(sigterm);
    }
    while (g_main_context_iteration(r.ctx, FALSE))
        ;
    cs_ice_batch_free(r.batch);         /* after every peer: sends what is left */
    g_main_context_unref(r.ctx);
    free(r.live);
    lt_media_free(media);
    cs_dtls_cert_free(cert);
    res->interrupted = r.interrupted;
    if (r.interrupted)
        lt_results_add_error(res, "interrupted");
    res->ok = started && !r.interrupted && res->ready == cfg->consults &&
              res->churn_ready == res->churn_started && res->failed_in_window == 0;
    return res->ok ? 0 : 1;
}
