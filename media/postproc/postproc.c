/*
 * postproc.c — the job: checks it, runs pass 1 (which streams there are,
 * and each one's clock against the recording's), opens the sealed output,
 * hands pass 2 to render.c, and writes the result with a sentence about
 * whatever was lost. On any failure the output is removed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "internal.h"
#include "media/rtp/rtp.h"

#define DEFAULT_W 960
#define DEFAULT_H 540
#define DEFAULT_FPS 25
#define DEFAULT_VIDEO_KBPS 1200
#define DEFAULT_AUDIO_KBPS 48

static int check_job(const cs_postproc_job_t *job, cs_postproc_job_t *cfg)
{
    if (!job->master_key || !job->output_path || !*job->output_path)
        return CS_EINVAL;
    *cfg = *job;
    if (!cfg->width && !cfg->height) {
        cfg->width = DEFAULT_W;
        cfg->height = DEFAULT_H;
    }
    cfg->fps = cfg->fps ? cfg->fps : DEFAULT_FPS;
    cfg->video_kbps = cfg->video_kbps ? cfg->video_kbps : DEFAULT_VIDEO_KBPS;
    cfg->audio_kbps = cfg->audio_kbps ? cfg->audio_kbps : DEFAULT_AUDIO_KBPS;
    if (cfg->width < 64 || cfg->height < 64 || cfg->width > 3840 || cfg->height > 2160 ||
        (cfg->width & 1) || (cfg->height & 1))
        return CS_EINVAL;
    if (cfg->fps < 1 || cfg->fps > 60 || cfg->video_kbps < 50 || cfg->video_kbps > 20000 ||
        cfg->audio_kbps < 6 || cfg->audio_kbps > 510)
        return CS_EINVAL;
    return CS_OK;
}

bool cs_pp_cancelled(const cs_pp_state_t *st)
{
    return st->cfg.cancel && *st->cfg.cancel;
}

void cs_pp_progress(cs_pp_state_t *st, double fraction)
{
    if (!st->cfg.progress || fraction < st->progress_sent + 0.01)
        return;
    st->progress_sent = fraction > 1 ? 1 : fraction;
    st->cfg.progress(st->cfg.progress_user, st->progress_sent);
}

/* ---- streams, the same in both passes ------------------------------------------------ */

static bool codec_is(const cs_rec_track_t *t, const char *name)
{
    return strcasecmp(t->codec, name) == 0;
}

static void map_input(cs_pp_state_t *st, unsigned input)
{
    if (st->map_input == input)
        return;
    st->map_input = input;
    for (size_t i = 0; i < CS_REC_MAX_TRACKS; i++)
        st->track_map[i] = -1;
}

/* Streams are numbered in the order they are declared, so pass 2 finds pass
 * 1's stream by counting. */
void cs_pp_declare(cs_pp_state_t *st, const cs_pp_record_t *rec)
{
    map_input(st, rec->input);
    unsigned idx = st->decls++;
    uint16_t no = rec->track->track;
    if (no >= CS_REC_MAX_TRACKS)
        return;
    st->track_map[no] = -1;
    if (idx >= CS_PP_MAX_STREAMS) {
        st->too_many++;
        return;
    }
    st->track_map[no] = (int16_t)idx;
    if (idx < st->n_streams)
        return;     /* pass 2: made in pass 1 */
    cs_pp_stream_t *s = calloc(1, sizeof *s);
    if (!s) {
        st->track_map[no] = -1;
        st->too_many++;
        return;
    }
    s->track = *rec->track;
    s->track.codec[CS_REC_CODEC_MAX - 1] = 0;
    s->track.source[CS_REC_SOURCE_MAX - 1] = 0;
    s->track.member_id[CS_REC_ID_MAX - 1] = 0;
    s->track.name[CS_REC_ID_MAX - 1] = 0;
    s->input = rec->input;
    s->video = s->track.kind == CS_REC_VIDEO;
    s->usable = s->video ? codec_is(&s->track, "VP8") : codec_is(&s->track, "opus");
    if (s->track.clock_rate == 0 || s->track.clock_rate > 1000000)
        s->usable = false;
    s->tile = -1;
    cs_pp_tl_init(&s->tl, s->track.clock_rate);
    st->streams[st->n_streams++] = s;
    if (s->video)
        st->res->tracks_video++;
    else
        st->res->tracks_audio++;
}

cs_pp_stream_t *cs_pp_stream_of(cs_pp_state_t *st, const cs_pp_record_t *rec)
{
    map_input(st, rec->input);
    int idx = rec->track_no < CS_REC_MAX_TRACKS ? st->track_map[rec->track_no] : -1;
    if (idx < 0 || (unsigned)idx >= st->n_streams)
        return NULL;
    return st->streams[idx];
}

/* ---- pass 1 ------------------------------------------------------------------------------- */

static int learn_packet(cs_pp_state_t *st, const cs_pp_record_t *rec)
{
    cs_pp_stream_t *s = cs_pp_stream_of(st, rec);
    cs_rtp_packet_t pkt;
    if (!s || cs_rtp_parse(rec->data, rec->len, &pkt) != CS_OK) {
        st->unreadable++;   /* of no track we know, or not RTP */
        return CS_OK;
    }
    if (!s->usable) {
        s->packets++;       /* media we cannot decode: reported */
        return CS_OK;
    }
    if (pkt.hdr.payload_type != s->track.payload_type)
        return CS_OK;       /* another format on the track (FEC, RED): not media we use */
    cs_pp_tl_loc_t loc;
    int rc = cs_pp_tl_learn(&s->tl, pkt.hdr.ssrc, pkt.hdr.timestamp, pkt.hdr.seq,
                            rec->arrival_us, &loc);
    if (rc != CS_OK)
        return rc;
    s->packets++;
    st->res->packets++;
    if (!st->any_arrival || rec->arrival_us < st->first_arrival)
        st->first_arrival = rec->arrival_us;
    if (!st->any_arrival || rec->arrival_us > st->last_arrival)
        st->last_arrival = rec->arrival_us;
    st->any_arrival = true;
    return CS_OK;
}

static int scan(cs_pp_state_t *st)
{
    int rc = st->src->begin(st->src, 1);
    if (rc != CS_OK)
        return rc;
    cs_pp_record_t rec;
    uint64_t n = 0;
    while ((rc = st->src->next(st->src, &rec)) == 1) {
        if (rec.type == CS_CAP_TRACK)
            cs_pp_declare(st, &rec);
        else if (rec.type == CS_CAP_PACKET && (rc = learn_packet(st, &rec)) != CS_OK)
            return rc;
        if (++n % 4096 == 0) {
            if (cs_pp_cancelled(st))
                return CS_EAGAIN;
            cs_pp_progress(st, 0.1 * st->src->progress(st->src));
        }
    }
    return rc;
}

static int tile_of(cs_pp_state_t *st, const cs_pp_stream_t *s)
{
    for (unsigned i = 0; i < st->n_tiles; i++)
        if (!strcmp(st->tiles[i].member_id, s->track.member_id) &&
            !strcmp(st->tiles[i].source, s->track.source))
            return (int)i;
    if (st->n_tiles == CS_PP_MAX_TILES)
        return -1;
    cs_pp_tile_t *t = &st->tiles[st->n_tiles];
    memset(t, 0, sizeof *t);
    cs_strlcpy(t->member_id, s->track.member_id, sizeof t->member_id);
    cs_strlcpy(t->source, s->track.source, sizeof t->source);
    const char *name = s->track.name[0] ? s->track.name : s->track.member_id;
    if (!strcasecmp(s->track.source, "screen"))
        snprintf(t->label, sizeof t->label, "%.64s \xe2\x80\x94 screen", name);
    else
        cs_strlcpy(t->label, name, sizeof t->label);
    t->order = -1;
    return (int)st->n_tiles++;
}

/* Each stream's clock, the output's span and the tiles. */
static int settle(cs_pp_state_t *st)
{
    bool any = false;
    int64_t lo = 0, hi = 0;
    for (unsigned i = 0; i < st->n_streams; i++) {
        cs_pp_stream_t *s = st->streams[i];
        cs_pp_tl_finish(&s->tl);
        if (!s->usable && s->packets)
            st->unsupported++;
        if (!s->usable || !s->packets || !cs_pp_tl_span(&s->tl, &s->first_us, &s->last_us))
            continue;
        s->has_media = true;
        if (!any || s->first_us < lo)
            lo = s->first_us;
        if (!any || s->last_us > hi)
            hi = s->last_us;
        any = true;
    }
    if (!any)
        return CS_ENOTFOUND;
    /* A clock gone wrong must not stretch the output beyond the arrivals. */
    if (lo < st->first_arrival - CS_PP_HOLD_US)
        lo = st->first_arrival - CS_PP_HOLD_US;
    if (hi > st->last_arrival)
        hi = st->last_arrival;
    st->origin_us = lo;
    st->duration_us = hi - lo + 20000;
    for (unsigned i = 0; i < st->n_streams; i++) {
        cs_pp_stream_t *s = st->streams[i];
        if (!s->has_media)
            continue;
        s->first_us -= lo;
        s->last_us -= lo;
        if (s->video)
            s->tile = tile_of(st, s);
    }
    return CS_OK;
}

/* ---- the result ------------------------------------------------------------------------------ */

static void say(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Appends one clause to the sentence, "; " between clauses. */
static void say(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 3 >= cap)
        return;
    if (len) {
        memcpy(buf + len, "; ", 3);
        len += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
}

/* "n things tail", when n is not 0. */
static void say_count(char *buf, size_t cap, unsigned long long n, const char *noun,
                      const char *tail)
{
    if (n)
        say(buf, cap, "%llu %s%s %s", n, noun, n == 1 ? "" : "s", tail);
}

static void summarise(cs_pp_state_t *st, const cs_pp_source_stats_t *ss)
{
    cs_postproc_result_t *r = st->res;
    char *e = r->error;
    size_t cap = sizeof r->error;
    e[0] = 0;
    for (unsigned i = 0; i < st->n_streams; i++) {
        const cs_pp_stream_t *s = st->streams[i];
        r->packets_lost += s->lost;
        r->decode_errors += s->vp8.dropped + s->vp8.skipped + s->vdec_errors + s->adec.errors;
    }
    r->chunks_bad = ss->chunks_bad;
    r->truncated = ss->truncated;
    say_count(e, cap, r->chunks_bad, "damaged chunk", "skipped");
    if (r->truncated)
        say(e, cap, "the last chunk was cut short (gateway stopped abruptly)");
    else if (ss->unclosed)
        say(e, cap, "the recording was not closed (gateway stopped abruptly): its last second "
                    "may be missing");
    say_count(e, cap, ss->inputs_unreadable, "input", "could not be read");
    say_count(e, cap, ss->read_errors, "input", "could not be read to the end");
    say_count(e, cap, r->packets_lost, "packet", "lost");
    say_count(e, cap, r->decode_errors, "frame", "could not be decoded");
    say_count(e, cap, st->unreadable, "packet", "unreadable");
    say_count(e, cap, st->unsupported, "track", "in a codec we do not decode");
    say_count(e, cap, st->too_many, "track", "beyond the limit ignored");
    r->incomplete = e[0] != 0;
}

static const char *failure(int rc)
{
    switch (rc) {
    case CS_EINVAL:
        return "the job is malformed";
    case CS_EAUTH:
        return "an input is under another master key";
    case CS_ENOTFOUND:
        return "no media in any input";
    case CS_EAGAIN:
        return "cancelled";
    case CS_ENOMEM:
        return "out of memory";
    case CS_EEXIST:
        return "the output file already exists";
    default:
        return "cannot read the inputs or write the output";
    }
}

/* A job that fails before it starts: res (when given) says why. */
static int refuse(cs_postproc_result_t *res, int rc)
{
    if (res) {
        memset(res, 0, sizeof *res);
        snprintf(res->error, sizeof res->error, "%s", failure(rc));
    }
    return rc;
}

/* After cs_pp_render_free and the output closed (see run_job). */
static void free_state(cs_pp_state_t *st)
{
    for (unsigned i = 0; i < st->n_streams; i++) {
        cs_pp_tl_free(&st->streams[i]->tl);
        free(st->streams[i]);
    }
    st->src->close(st->src);
    free(st);
}

static int run(cs_pp_state_t *st, bool *created)
{
    int rc = scan(st);
    if (rc == CS_OK)
        rc = settle(st);
    if (rc != CS_OK)
        return rc;
    rc = cs_sealed_create(st->cfg.output_path, st->cfg.master_key, &st->out);
    if (rc != CS_OK)
        return rc == CS_EEXIST || rc == CS_ENOMEM ? rc : CS_EIO;
    *created = true;
    if ((rc = cs_pp_render(st)) != CS_OK)
        return rc;
    return cs_sealed_finish(st->out) == CS_OK ? CS_OK : CS_EIO;
}

/* The job over src, which it owns; job and res already checked. */
static int run_job(const cs_postproc_job_t *job, cs_pp_source_t *src, cs_postproc_result_t *res)
{
    cs_pp_state_t *st = calloc(1, sizeof *st);
    if (!st) {
        src->close(src);
        return refuse(res, CS_ENOMEM);
    }
    memset(res, 0, sizeof *res);
    st->src = src;
    st->res = res;
    st->map_input = ~0u;
    int rc = check_job(job, &st->cfg);
    bool created = false;
    if (rc == CS_OK)
        rc = run(st, &created);
    cs_pp_source_stats_t ss;
    src->stats(src, &ss);
    summarise(st, &ss);
    res->duration_ms = st->duration_us / 1000;
    res->audio_samples = (uint64_t)st->aframes * CS_PP_AUDIO_FRAME;
    res->output_bytes = st->mux ? cs_pp_mux_size(st->mux) : 0;
    if (rc != CS_OK) {
        if (rc == CS_ENOTFOUND && ss.inputs && ss.inputs_unreadable == ss.inputs)
            rc = CS_EIO;
        if (rc == CS_ENOTFOUND && st->unsupported)
            snprintf(res->error, sizeof res->error, "no VP8 or Opus media in any input");
        else
            snprintf(res->error, sizeof res->error, "%s", failure(rc));
        res->output_bytes = 0;
    }
    /* The muxer writes through the sealed file: gone first, then the file
     * closed, then (on failure) removed. */
    cs_pp_render_free(st);
    cs_sealed_free(st->out);
    st->out = NULL;
    if (rc != CS_OK && created)
        unlink(st->cfg.output_path);
    free_state(st);
    return rc;
}

int cs_postproc_run(const cs_postproc_job_t *job, cs_postproc_result_t *res)
{
    bool ok = job && res && job->inputs && job->n_inputs && job->master_key;
    for (size_t i = 0; ok && i < job->n_inputs; i++)
        ok = job->inputs[i] != NULL;
    if (!ok)
        return refuse(res, CS_EINVAL);
    cs_pp_source_t *src;
    int rc = cs_pp_files_source(job->inputs, job->n_inputs, job->master_key, &src);
    if (rc != CS_OK)
        return refuse(res, rc);
    return run_job(job, src, res);
}
