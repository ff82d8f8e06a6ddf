/*
 * timeline.c — per stream, where each RTP timestamp lies on the recording's
 * time line, learned from the arrival times.
 *
 * A packet's arrival minus its timestamp (in the sender's microseconds) is
 * the sender's clock offset plus the network delay. The delay is never below
 * the path's base delay and often above it (queues, retransmissions,
 * pacing), so the offset is read from the lower envelope: the minimum of
 * each window of CS_PP_TL_WINDOW_US, then a least-squares line through those
 * minima (windows sitting far above the line, a congested stretch, are
 * dropped and the line fitted again). The slope follows a sender clock that
 * drifts against ours (audio devices: 50-100 ppm, 180 ms in 30 minutes).
 * Streams of one sender share its path, so audio and video land together.
 *
 * A new SSRC or a timestamp jump (a sender restarting its encoder) starts a
 * new segment with its own line. Pass 2 walks the same packets through the
 * same cursor, so it cuts the same segments without storing anything.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "media/rtp/rtp.h"

void cs_pp_tl_init(cs_pp_timeline_t *tl, uint32_t clock_rate)
{
    memset(tl, 0, sizeof *tl);
    tl->clock_rate = clock_rate ? clock_rate : 90000;
}

void cs_pp_tl_rewind(cs_pp_timeline_t *tl)
{
    tl->started = false;
    tl->cur = 0;
    tl->seen_segs = 0;
}

static double ts_to_us(const cs_pp_timeline_t *tl, int64_t ticks)
{
    return (double)ticks * 1e6 / (double)tl->clock_rate;
}

/* Unwraps against the highest value so far; reordered packets fall behind it. */
static int64_t unwrap32(int64_t ref, uint32_t v)
{
    return ref + (int32_t)(v - (uint32_t)ref);
}

/*
 * The cursor, shared by both passes: decides the segment of one packet and
 * unwraps its counters. Returns true when the packet starts a new segment
 * (pass 1 then creates it; pass 2 finds it by number).
 */
static bool cursor_step(cs_pp_timeline_t *tl, uint32_t ssrc, uint32_t ts, uint16_t seq,
                        int64_t arrival_us, uint32_t seg_ssrc, int64_t seg_base,
                        cs_pp_tl_loc_t *loc)
{
    bool fresh = !tl->started;
    int64_t ext_ts = 0, ext_seq = 0;
    if (!fresh) {
        ext_ts = unwrap32(tl->ref_ts, ts);
        double d = (double)arrival_us - ts_to_us(tl, ext_ts - seg_base);
        bool jump = fabs(d - tl->floor_d) > CS_PP_TL_JUMP_US;
        if ((ssrc != seg_ssrc || jump) && tl->seen_segs < CS_PP_TL_MAX_SEGS)
            fresh = true;
    }
    if (fresh) {
        /* Room below the first values for packets reordered before them. */
        ext_ts = (int64_t)ts + ((int64_t)1 << 32);
        ext_seq = (int64_t)seq + (1 << 20);
        tl->ref_ts = ext_ts;
        tl->ref_seq = ext_seq;
        tl->cur = tl->seen_segs++;
        tl->floor_d = (double)arrival_us;   /* d of this first packet: x = 0 */
        tl->started = true;
    } else {
        ext_seq = tl->ref_seq + cs_rtp_seq_diff(seq, (uint16_t)tl->ref_seq);
        if (ext_ts > tl->ref_ts)
            tl->ref_ts = ext_ts;
        if (ext_seq > tl->ref_seq)
            tl->ref_seq = ext_seq;
    }
    loc->seg = tl->cur;
    loc->ext_ts = ext_ts;
    loc->ext_seq = ext_seq;
    loc->new_seg = fresh;
    return fresh;
}

/* The floor the jump test compares with: the lowest d of the segment so far. */
static void cursor_floor(cs_pp_timeline_t *tl, double d)
{
    if (d < tl->floor_d)
        tl->floor_d = d;
}

static int add_point(cs_pp_tl_seg_t *s)
{
    if (!s->pts) {
        s->pts = malloc(sizeof *s->pts * CS_PP_TL_MAX_POINTS);
        if (!s->pts)
            return CS_ENOMEM;
    }
    if (s->n_pts == CS_PP_TL_MAX_POINTS) {
        /* Out of room: merge neighbours (keeping the lower minimum), so the
         * windows are twice as long from now on. */
        for (unsigned i = 0; i < s->n_pts / 2; i++) {
            const cs_pp_tl_point_t *a = &s->pts[2 * i], *b = &s->pts[2 * i + 1];
            s->pts[i] = a->d <= b->d ? *a : *b;
        }
        s->n_pts /= 2;
        s->merge *= 2;
    }
    s->pts[s->n_pts].x = s->win_min_x;
    s->pts[s->n_pts].d = s->win_min_d;
    s->n_pts++;
    return CS_OK;
}

static int learn_sample(cs_pp_tl_seg_t *s, double x, double d, int64_t arrival_us)
{
    double a = (double)arrival_us;
    if (s->win_open && a - s->win_start >= (double)CS_PP_TL_WINDOW_US * s->merge) {
        int rc = add_point(s);
        if (rc != CS_OK)
            return rc;
        s->win_open = false;
    }
    if (!s->win_open) {
        s->win_open = true;
        s->win_start = a;
        s->win_min_d = d;
        s->win_min_x = x;
    } else if (d < s->win_min_d) {
        s->win_min_d = d;
        s->win_min_x = x;
    }
    if (s->packets == 0 || x < s->x_min)
        s->x_min = x;
    if (s->packets == 0 || x > s->x_max)
        s->x_max = x;
    s->packets++;
    return CS_OK;
}

int cs_pp_tl_learn(cs_pp_timeline_t *tl, uint32_t ssrc, uint32_t ts, uint16_t seq,
                   int64_t arrival_us, cs_pp_tl_loc_t *loc)
{
    const cs_pp_tl_seg_t *cur = tl->started ? &tl->segs[tl->cur] : NULL;
    if (cursor_step(tl, ssrc, ts, seq, arrival_us, cur ? cur->ssrc : ssrc,
                    cur ? cur->base_ts : 0, loc)) {
        cs_pp_tl_seg_t *s = &tl->segs[loc->seg];
        memset(s, 0, sizeof *s);
        s->ssrc = ssrc;
        s->base_ts = loc->ext_ts;
        s->merge = 1;
        tl->n_segs = loc->seg + 1;
    }
    cs_pp_tl_seg_t *s = &tl->segs[loc->seg];
    double x = ts_to_us(tl, loc->ext_ts - s->base_ts);
    double d = (double)arrival_us - x;
    cursor_floor(tl, d);
    return learn_sample(s, x, d, arrival_us);
}

void cs_pp_tl_locate(cs_pp_timeline_t *tl, uint32_t ssrc, uint32_t ts, uint16_t seq,
                     int64_t arrival_us, cs_pp_tl_loc_t *loc)
{
    unsigned next = tl->started ? tl->cur : 0;
    const cs_pp_tl_seg_t *cur = &tl->segs[next < tl->n_segs ? next : 0];
    cursor_step(tl, ssrc, ts, seq, arrival_us, cur->ssrc, cur->base_ts, loc);
    if (loc->seg >= tl->n_segs)     /* not seen in pass 1 (the input grew) */
        loc->seg = tl->n_segs ? tl->n_segs - 1 : 0;
    const cs_pp_tl_seg_t *s = &tl->segs[loc->seg];
    double x = ts_to_us(tl, loc->ext_ts - s->base_ts);
    cursor_floor(tl, (double)arrival_us - x);
}

/* Least squares d = alpha + beta x over the points whose keep flag is set. */
static void fit_line(const cs_pp_tl_point_t *p, const bool *keep, unsigned n, double *alpha,
                     double *beta)
{
    double sx = 0, sd = 0;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        if (keep[i]) {
            sx += p[i].x;
            sd += p[i].d;
            k++;
        }
    if (!k)
        return;
    double mx = sx / k, md = sd / k, sxx = 0, sxd = 0, lo = p[0].x, hi = p[0].x;
    for (unsigned i = 0; i < n; i++)
        if (keep[i]) {
            sxx += (p[i].x - mx) * (p[i].x - mx);
            sxd += (p[i].x - mx) * (p[i].d - md);
            lo = fmin(lo, p[i].x);
            hi = fmax(hi, p[i].x);
        }
    double b = 0;
    if (k >= 3 && hi - lo >= CS_PP_TL_MIN_SPAN_US && sxx > 0)
        b = sxd / sxx;
    if (b > CS_PP_TL_MAX_DRIFT || b < -CS_PP_TL_MAX_DRIFT)
        b = 0;
    *beta = b;
    *alpha = md - b * mx;
}

/* Drops the points sitting well above the line (windows whose every packet
 * was delayed) and refits; twice is enough for the few there are. */
static void fit_segment(cs_pp_tl_seg_t *s)
{
    if (s->win_open && add_point(s) != CS_OK) {
        /* No memory for points: the offset from the last window alone. */
        s->alpha = s->win_min_d;
        s->beta = 0;
        return;
    }
    s->win_open = false;
    unsigned n = s->n_pts;
    bool keep[CS_PP_TL_MAX_POINTS];
    for (unsigned i = 0; i < n; i++)
        keep[i] = true;
    s->alpha = n ? s->pts[0].d : 0;
    s->beta = 0;
    fit_line(s->pts, keep, n, &s->alpha, &s->beta);
    for (int round = 0; round < 2; round++) {
        double r[CS_PP_TL_MAX_POINTS], mad = 0;
        for (unsigned i = 0; i < n; i++)
            r[i] = s->pts[i].d - (s->alpha + s->beta * s->pts[i].x);
        for (unsigned i = 0; i < n; i++)
            mad += fabs(r[i]);
        mad = n ? mad / n : 0;
        double limit = fmax(10000.0, 3 * mad);
        bool changed = false;
        for (unsigned i = 0; i < n; i++)
            if (keep[i] && r[i] > limit) {
                keep[i] = false;
                changed = true;
            }
        if (!changed)
            break;
        fit_line(s->pts, keep, n, &s->alpha, &s->beta);
    }
}

void cs_pp_tl_finish(cs_pp_timeline_t *tl)
{
    for (unsigned i = 0; i < tl->n_segs; i++) {
        fit_segment(&tl->segs[i]);
        free(tl->segs[i].pts);
        tl->segs[i].pts = NULL;
        tl->segs[i].n_pts = 0;
    }
}

static int64_t map_x(const cs_pp_tl_seg_t *s, double x)
{
    return (int64_t)llround(x + s->alpha + s->beta * x);
}

int64_t cs_pp_tl_map(const cs_pp_timeline_t *tl, unsigned seg, int64_t ext_ts)
{
    if (seg >= tl->n_segs)
        return 0;
    const cs_pp_tl_seg_t *s = &tl->segs[seg];
    return map_x(s, ts_to_us(tl, ext_ts - s->base_ts));
}

bool cs_pp_tl_span(const cs_pp_timeline_t *tl, int64_t *first_us, int64_t *last_us)
{
    bool any = false;
    for (unsigned i = 0; i < tl->n_segs; i++) {
        const cs_pp_tl_seg_t *s = &tl->segs[i];
        if (!s->packets)
            continue;
        int64_t a = map_x(s, s->x_min), b = map_x(s, s->x_max);
        if (!any || a < *first_us)
            *first_us = a;
        if (!any || b > *last_us)
            *last_us = b;
        any = true;
    }
    return any;
}

void cs_pp_tl_free(cs_pp_timeline_t *tl)
{
    for (unsigned i = 0; i < tl->n_segs; i++) {
        free(tl->segs[i].pts);
        tl->segs[i].pts = NULL;
    }
}
