/*
 * test_engine_record.c — recording through the whole media core: a real
 * media engine (one worker thread) and a fake browser on 127.0.0.1
 * (peer_test_browser.h: a libnice agent, a DTLS client and SRTP) publishing
 * Opus and VP8, recorded into real cs_recorder capture files that are read
 * back with the capture reader.
 *
 * Covered: a setting made before its room exists applies when the room is
 * made; the recorded member's camera is asked for a keyframe; each stream
 * is declared once as a recorder track (kind, codec, payload type, clock,
 * source, member, name) and every fresh packet lands in the file byte for
 * byte as the browser sent it (before SRTP), a replay not; stopping
 * stops; switching to another session goes on in the new file; the setting
 * holds for a reconnect and for the room made again after it closed; the
 * engine's stats count what was recorded and what a full ring dropped; a
 * session closed underneath is left alone.
 */

#include "tests/unit/peer_test_browser.h"

#include <sys/stat.h>
#include <unistd.h>

#include "media/engine/engine.h"
#include "media/recorder/internal.h"   /* cs_recorder_test_pause */
#include "media/recorder/recorder.h"
#include "media/rtcp/rtcp.h"

#define ROOM "consult-1"
#define AUDIO_SSRC 1111u            /* parse_offer's SSRCs */
#define VIDEO_SSRC 2222u

static cs_media_engine_t *eng;
static cs_recorder_t *recorder;
static uint8_t master[CS_REC_KEY_LEN];
static char dir[64];

/* ---- a browser talking to the engine -------------------------------------------------- */

typedef struct {
    browser_t b;
    uint64_t session;
    bool answered, ended;
    cs_peer_state_t state;
    unsigned answers;
} client_t;

#define MAX_CLIENTS 4
static client_t *clients[MAX_CLIENTS];

static client_t *client_of(uint64_t session)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i] && clients[i]->session == session)
            return clients[i];
    return NULL;
}

static void on_event(const cs_media_event_t *ev)
{
    client_t *c = client_of(ev->session);
    if (!c)
        return;                     /* a session the test let go */
    switch (ev->type) {
    case CS_MEDIA_EV_ANSWER: {
        cs_sdp_error_t err;
        if (cs_sdp_parse(ev->text, strlen(ev->text), answer, &err) != CS_OK)
            fail_msg("answer: %s", err.message);
        browser_apply_answer(&c->b, answer);
        c->answered = true;
        c->answers++;
        break;
    }
    case CS_MEDIA_EV_CANDIDATE:
        if (ev->text && ev->text[0])
            nice_browser_add_remote(&c->b.nb, ev->text);
        break;
    case CS_MEDIA_EV_STATE:
        c->state = ev->state;
        c->ended |= ev->ended;
        break;
    case CS_MEDIA_EV_ERROR:
        fail_msg("engine error %d: %s", ev->code, ev->text ? ev->text : "");
        break;
    default:
        break;
    }
}

/* What signalling and the browser's event loop do between iterations. */
static void step(void)
{
    cs_media_event_t *ev;
    while ((ev = cs_media_engine_poll(eng))) {
        on_event(ev);
        cs_media_event_free(ev);
    }
    for (int i = 0; i < MAX_CLIENTS; i++) {
        client_t *c = clients[i];
        if (!c || !c->answered)
            continue;
        browser_t *b = &c->b;
        while (b->nb.n_sent < b->nb.n_cands)
            assert_int_equal(cs_media_candidate(eng, c->session, b->nb.cands[b->nb.n_sent++]),
                             CS_OK);
        if (b->nb.gathered && !b->eoc_sent) {
            assert_int_equal(cs_media_candidate(eng, c->session, ""), CS_OK);
            b->eoc_sent = true;
        }
        if (b->dtls && nice_browser_state_connected(b->nb.state) &&
            cs_dtls_session_state(b->dtls) == CS_DTLS_STATE_NEW)
            assert_int_equal(cs_dtls_session_start(b->dtls), CS_OK);
        if (b->dtls && cs_dtls_session_timeout_ms(b->dtls) == 0)
            assert_true(cs_dtls_session_on_timer(b->dtls) <= 0);
    }
}

static bool wait_for(cond_fn cond, void *arg)
{
    return nice_browser_run_until(ctx, step, cond, arg, 10000);
}

static bool client_up(void *arg)
{
    client_t *c = arg;
    return c->state == CS_PEER_CONNECTED && c->b.dtls_connected > 0;
}

static void wake(void *user)
{
    (void)user;                     /* the test polls on its own 10 ms tick */
}

static void offer_from(client_t *c, const char *member, const char *name)
{
    browser_offer(&c->b, offer, br_fp);
    assert_int_equal(cs_media_offer(eng, c->session, ROOM, member, name, "req", sdp_text, NULL, 0),
                     CS_OK);
}

static client_t *client_connect(int slot, uint64_t session, const char *member, const char *name)
{
    client_t *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->session = session;
    browser_init(&c->b);
    clients[slot] = c;
    offer_from(c, member, name);
    assert_true(wait_for(client_up, c));
    return c;
}

static void client_free(int slot)
{
    client_t *c = clients[slot];
    clients[slot] = NULL;
    browser_free(&c->b);
    free(c);
}

static bool answered_again(void *arg)
{
    client_t *c = arg;
    return c->answers >= 2;
}

/* A renegotiation with the same offer: its answer means every command
 * posted before it has run on the worker. */
static void barrier(client_t *c)
{
    c->answers = 1;
    offer_from(c, "alice", "Alice");
    assert_true(wait_for(answered_again, c));
}

/* ---- packets ----------------------------------------------------------------------------- */

typedef struct {
    size_t len;
    uint8_t data[PKT_CAP];
} sent_t;

#define MAX_SENT 64
static sent_t sent[MAX_SENT];
static size_t n_sent;

/* Opus (kind 'a') or VP8 (kind 'v') from the browser; kept as sent. */
static void send_media(client_t *c, char kind, uint16_t seq, bool keep_it)
{
    uint8_t rtp[PKT_CAP];
    size_t len = kind == 'a' ? make_rtp(rtp, 111, seq, AUDIO_SSRC, 60)
                             : make_rtp(rtp, 96, seq, VIDEO_SSRC, 700);
    if (kind == 'v') {
        rtp[12] = 0x10;             /* VP8 descriptor: start of a partition */
        rtp[13] = seq == 1 ? 0x00 : 0x01;   /* the first is a keyframe */
    }
    browser_send(&c->b, rtp, len, false);
    if (keep_it) {
        assert_true(n_sent < MAX_SENT);
        sent[n_sent].len = len;
        memcpy(sent[n_sent++].data, rtp, len);
    }
}

typedef struct {
    uint64_t recorded, rtp_in;
} stats_want_t;

static bool stats_reached(void *arg)
{
    stats_want_t *w = arg;
    cs_media_engine_stats_t s;
    cs_media_engine_stats(eng, &s);
    return s.recorded_packets >= w->recorded && s.router.rtp_in >= w->rtp_in;
}

static cs_media_engine_stats_t stats_after(uint64_t recorded, uint64_t rtp_in)
{
    stats_want_t w = {recorded, rtp_in};
    bool ok = wait_for(stats_reached, &w);
    cs_media_engine_stats_t s;
    cs_media_engine_stats(eng, &s);
    if (!ok)
        fail_msg("recorded %llu (want %llu), rtp_in %llu (want %llu), dropped %llu",
                 (unsigned long long)s.recorded_packets, (unsigned long long)recorded,
                 (unsigned long long)s.router.rtp_in, (unsigned long long)rtp_in,
                 (unsigned long long)s.record_dropped);
    return s;
}

/* PLIs the browser received for its camera. */
static size_t plis(const client_t *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->b.n_rtcp; i++) {
        cs_rtcp_iter_t it;
        cs_rtcp_pkt_t p;
        cs_rtcp_fb_t ids;
        cs_rtcp_iter_init(&it, c->b.rtcp[i].data, c->b.rtcp[i].len);
        while (cs_rtcp_iter_next(&it, &p) == 1)
            if (p.type == CS_RTCP_PSFB && p.count == CS_RTCP_FMT_PLI &&
                cs_rtcp_pli_parse(&p, &ids) == CS_OK && ids.media_ssrc == VIDEO_SSRC)
                n++;
    }
    return n;
}

typedef struct {
    const client_t *c;
    size_t want;
} pli_want_t;

static bool plis_reached(void *arg)
{
    pli_want_t *w = arg;
    return plis(w->c) >= w->want;
}

/* References held on s: ours and the writer's (2), plus the worker's setting
 * and each media session recording into it. */
static int refs(cs_rec_session_t *s)
{
    return atomic_load(&s->refs);
}

typedef struct {
    cs_rec_session_t *s;
    int want;
} refs_want_t;

static bool refs_are(void *arg)
{
    refs_want_t *w = arg;
    return refs(w->s) == w->want;
}

/* ---- capture files ---------------------------------------------------------------------- */

static cs_rec_session_t *open_capture(const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cs_rec_session_t *s = NULL;
    assert_int_equal(cs_recorder_open(recorder, path, name, cs_now_ms(), cs_mono_us(), &s), CS_OK);
    return s;
}

typedef struct {
    size_t n_tracks, n_packets;
    cs_rec_track_t tracks[8];
    uint16_t track_of[MAX_SENT];
    size_t len[MAX_SENT];
    uint8_t data[MAX_SENT][PKT_CAP];
} capture_t;

static bool finished(void *arg)
{
    cs_rec_session_stats_t st;
    cs_rec_session_stats(arg, &st);
    return st.finished || st.error;
}

/* Closes s, waits for the file and reads it all into out. */
static void read_capture(cs_rec_session_t *s, const char *name, capture_t *out)
{
    cs_recorder_close(s);
    assert_true(wait_for(finished, s));
    cs_rec_session_stats_t st;
    cs_rec_session_stats(s, &st);
    assert_int_equal(st.error, CS_OK);
    assert_int_equal(st.dropped, 0);
    cs_rec_session_release(s);
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    cs_capture_reader_t *rd = NULL;
    assert_int_equal(cs_capture_reader_open(path, master, &rd), CS_OK);
    memset(out, 0, sizeof *out);
    cs_capture_record_t rec;
    int rc;
    while ((rc = cs_capture_reader_next(rd, &rec)) == 1) {
        if (rec.type == CS_CAP_TRACK) {
            assert_true(out->n_tracks < CS_ARRAY_LEN(out->tracks));
            out->tracks[out->n_tracks++] = rec.track;
        } else if (rec.type == CS_CAP_PACKET) {
            assert_true(out->n_packets < MAX_SENT);
            assert_true(rec.len <= PKT_CAP);
            assert_true(rec.arrival_us >= 0);
            out->track_of[out->n_packets] = rec.track_no;
            out->len[out->n_packets] = rec.len;
            memcpy(out->data[out->n_packets++], rec.data, rec.len);
        }
    }
    assert_int_equal(rc, 0);
    cs_capture_info_t info;
    cs_capture_reader_info(rd, &info);
    assert_true(info.clean_end);
    assert_int_equal(info.chunks_bad, 0);
    cs_capture_reader_free(rd);
}

static const cs_rec_track_t *track_no(const capture_t *cap, uint16_t n)
{
    for (size_t i = 0; i < cap->n_tracks; i++)
        if (cap->tracks[i].track == n)
            return &cap->tracks[i];
    fail_msg("no track %u", n);
    return NULL;
}

/* The packets of the capture from first on are sent[from..] in order. */
static void assert_packets(const capture_t *cap, size_t first, size_t from, size_t n)
{
    assert_true(cap->n_packets >= first + n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cap->len[first + i], sent[from + i].len);
        assert_memory_equal(cap->data[first + i], sent[from + i].data, sent[from + i].len);
        uint32_t ssrc = cs_rd32(sent[from + i].data + 8);
        const cs_rec_track_t *t = track_no(cap, cap->track_of[first + i]);
        assert_int_equal(t->kind, ssrc == VIDEO_SSRC ? CS_REC_VIDEO : CS_REC_AUDIO);
    }
}

static void assert_tracks(const capture_t *cap, size_t first, const char *name)
{
    const cs_rec_track_t *a = &cap->tracks[first], *v = &cap->tracks[first + 1];
    if (a->kind != CS_REC_AUDIO) {
        const cs_rec_track_t *x = a;
        a = v;
        v = x;
    }
    assert_int_equal(a->kind, CS_REC_AUDIO);
    assert_string_equal(a->codec, "opus");
    assert_int_equal(a->payload_type, 111);
    assert_int_equal(a->clock_rate, 48000);
    assert_string_equal(a->source, "microphone");
    assert_string_equal(a->member_id, "alice");
    assert_string_equal(a->name, name);
    assert_int_equal(a->layer, 0);
    assert_int_equal(v->kind, CS_REC_VIDEO);
    assert_string_equal(v->codec, "VP8");
    assert_int_equal(v->payload_type, 96);
    assert_int_equal(v->clock_rate, 90000);
    assert_string_equal(v->source, "camera");
    assert_string_equal(v->member_id, "alice");
    assert_int_not_equal(a->track, v->track);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_record_stop_and_switch(void **state)
{
    (void)state;
    n_sent = 0;
    cs_rec_session_t *s1 = open_capture("one.cap"), *s2 = open_capture("two.cap");
    /* Before the room exists: kept until it is made. Invalid ids refused. */
    assert_int_equal(cs_media_record(eng, ROOM, "alice", s1), CS_OK);
    assert_int_equal(cs_media_record(eng, "", "alice", s1), CS_EINVAL);
    assert_int_equal(cs_media_record(eng, ROOM, "", s1), CS_EINVAL);
    assert_int_equal(cs_media_record(NULL, ROOM, "alice", s1), CS_EINVAL);

    client_t *c = client_connect(0, 1, "alice", "Alice");
    /* Recorded and connected: the camera is asked for a keyframe. */
    pli_want_t pw = {c, 1};
    assert_true(wait_for(plis_reached, &pw));

    for (uint16_t i = 1; i <= 5; i++) {
        send_media(c, 'a', i, true);
        send_media(c, 'v', i, true);
    }
    send_media(c, 'a', 3, false);           /* a replay: SRTP drops it before the router */
    send_media(c, 'a', 6, true);            /* so that 11 means the replay was seen */
    cs_media_engine_stats_t st = stats_after(11, 11);
    assert_int_equal(st.recorded_packets, 11);
    assert_int_equal(st.record_dropped, 0);
    assert_int_equal(st.dropped_srtp, 1);
    assert_int_equal(refs(s1), 2 + 2);
    assert_int_equal(refs(s2), 2);

    /* Stopped: what follows is relayed, not recorded. */
    assert_int_equal(cs_media_record(eng, ROOM, "alice", NULL), CS_OK);
    barrier(c);
    assert_int_equal(refs(s1), 2);                 /* let go by setting and session */
    for (uint16_t i = 7; i <= 9; i++)
        send_media(c, 'a', i, false);
    st = stats_after(11, 14);
    assert_int_equal(st.recorded_packets, 11);

    /* Into another file: new tracks there, and a keyframe for it. */
    size_t before = plis(c);
    assert_int_equal(cs_media_record(eng, ROOM, "alice", s2), CS_OK);
    pw.want = before + 1;
    assert_true(wait_for(plis_reached, &pw));
    send_media(c, 'v', 10, true);
    send_media(c, 'a', 10, true);
    st = stats_after(13, 16);
    assert_int_equal(st.recorded_packets, 13);

    assert_int_equal(cs_media_record(eng, ROOM, "alice", NULL), CS_OK);
    cs_media_leave(eng, 1);
    client_free(0);

    capture_t *cap = malloc(sizeof *cap);
    assert_non_null(cap);
    read_capture(s1, "one.cap", cap);
    assert_int_equal(cap->n_tracks, 2);
    assert_tracks(cap, 0, "Alice");
    assert_int_equal(cap->n_packets, 11);
    assert_packets(cap, 0, 0, 11);
    read_capture(s2, "two.cap", cap);
    assert_int_equal(cap->n_tracks, 2);
    assert_int_equal(cap->tracks[0].kind, CS_REC_VIDEO);    /* declared as they came */
    assert_int_equal(cap->n_packets, 2);
    assert_packets(cap, 0, 11, 2);
    free(cap);
}

static bool ended(void *arg)
{
    return ((client_t *)arg)->ended;
}

static bool room_gone(void *arg)
{
    (void)arg;
    cs_media_engine_stats_t s;
    cs_media_engine_stats(eng, &s);
    return s.rooms == 0 && s.sessions == 0;
}

static void test_setting_holds_for_later_sessions(void **state)
{
    (void)state;
    n_sent = 0;
    cs_media_engine_stats_t st0;
    cs_media_engine_stats(eng, &st0);
    cs_rec_session_t *s = open_capture("three.cap");
    client_t *c = client_connect(0, 10, "alice", "Alice");
    /* Set while the session runs. */
    assert_int_equal(cs_media_record(eng, ROOM, "alice", s), CS_OK);
    barrier(c);
    send_media(c, 'a', 1, true);
    send_media(c, 'v', 1, true);
    stats_after(st0.recorded_packets + 2, 0);

    /* A reload: a new session of the same member replaces the first. */
    client_t *d = client_connect(1, 11, "alice", "Alice again");
    assert_true(wait_for(ended, c));
    cs_media_leave(eng, 10);
    client_free(0);
    send_media(d, 'a', 1, true);
    send_media(d, 'v', 1, true);
    stats_after(st0.recorded_packets + 4, 0);

    /* Everyone leaves, the room closes; the next offer makes it again. */
    cs_media_leave(eng, 11);
    client_free(1);
    assert_true(wait_for(room_gone, NULL));
    /* The worker lets go of the session's reference when it has run the
     * leave; the setting's is kept for later. */
    refs_want_t rw = {s, 2 + 1};
    assert_true(wait_for(refs_are, &rw));
    client_t *e2 = client_connect(2, 12, "alice", "Alice");
    send_media(e2, 'a', 1, true);
    /* The microphone restarts with another SSRC (known by its mid): a new
     * track, since its numbers do not continue the old ones. */
    cs_rtp_header_t h = {.payload_type = 111, .seq = 500, .timestamp = 7, .ssrc = 3333};
    cs_rtp_ext_t mid = {4, 1, (const uint8_t *)"0"};
    uint8_t pl[40] = {0xfc};
    int n = cs_rtp_serialise(&h, &mid, 1, pl, sizeof pl, sent[n_sent].data, PKT_CAP);
    assert_true(n > 0);
    sent[n_sent].len = (size_t)n;
    browser_send(&e2->b, sent[n_sent].data, sent[n_sent].len, false);
    n_sent++;
    cs_media_engine_stats_t st = stats_after(st0.recorded_packets + 6, 0);
    assert_int_equal(st.recorded_packets, st0.recorded_packets + 6);
    assert_int_equal(refs(s), 2 + 2);
    assert_int_equal(cs_media_record(eng, ROOM, "alice", NULL), CS_OK);
    cs_media_leave(eng, 12);
    client_free(2);

    capture_t *cap = malloc(sizeof *cap);
    assert_non_null(cap);
    read_capture(s, "three.cap", cap);
    /* Each media session its own tracks: its sequence numbers start anew. */
    assert_int_equal(cap->n_tracks, 6);
    assert_tracks(cap, 0, "Alice");
    assert_tracks(cap, 2, "Alice again");
    assert_int_equal(cap->n_packets, 6);
    assert_packets(cap, 0, 0, 6);
    assert_int_not_equal(cap->track_of[0], cap->track_of[2]);
    assert_int_not_equal(cap->track_of[2], cap->track_of[4]);
    assert_int_not_equal(cap->track_of[0], cap->track_of[4]);
    assert_int_not_equal(cap->track_of[4], cap->track_of[5]);
    const cs_rec_track_t *t5 = track_no(cap, cap->track_of[5]);
    assert_int_equal(t5->kind, CS_REC_AUDIO);
    assert_string_equal(t5->source, "microphone");
    free(cap);
}

static void test_full_ring_and_closed_session(void **state)
{
    (void)state;
    n_sent = 0;
    /* A small ring, so that it fills while the writer is held. */
    cs_recorder_free(recorder);
    int err;
    cs_recorder_config_t rc = {.master_key = master, .ring_bytes = 16384, .flush_ms = 100};
    recorder = cs_recorder_new(&rc, &err);
    assert_non_null(recorder);
    cs_rec_session_t *s = open_capture("four.cap");
    assert_int_equal(cs_media_record(eng, ROOM, "alice", s), CS_OK);
    client_t *c = client_connect(0, 20, "alice", "Alice");
    send_media(c, 'a', 1, true);
    send_media(c, 'v', 1, true);
    stats_after(2, 2);

    /* The writer takes nothing: the ring fills, the rest is dropped and
     * counted, and the call goes on. */
    cs_recorder_test_pause(recorder, true);
    for (uint16_t i = 2; i < 42; i++)
        send_media(c, 'v', i, false);
    cs_media_engine_stats_t st = stats_after(0, 42);
    assert_int_equal(st.recorded_packets + st.record_dropped, 42);
    assert_true(st.record_dropped > 0);
    assert_true(st.recorded_packets > 2);
    cs_rec_session_stats_t ss;
    cs_rec_session_stats(s, &ss);
    assert_int_equal(ss.dropped, st.record_dropped);
    cs_recorder_test_pause(recorder, false);

    /* Closed underneath (as a failed file would be): nothing more is pushed,
     * nothing counted as dropped. */
    cs_recorder_close(s);
    assert_true(wait_for(finished, s));
    for (uint16_t i = 42; i < 45; i++)
        send_media(c, 'v', i, false);
    cs_media_engine_stats_t after = stats_after(0, 45);
    assert_int_equal(after.recorded_packets, st.recorded_packets);
    assert_int_equal(after.record_dropped, st.record_dropped);
    cs_rec_session_stats(s, &ss);
    assert_int_equal(ss.dropped, st.record_dropped);

    /* Stopped: the worker holds nothing of s any more. A setting for a room
     * never made is let go when the engine stops. */
    assert_int_equal(cs_media_record(eng, ROOM, "alice", NULL), CS_OK);
    barrier(c);
    int before = refs(s);
    cs_media_leave(eng, 20);
    client_free(0);
    assert_int_equal(cs_media_record(eng, "later", "bob", s), CS_OK);
    cs_media_engine_free(eng);
    eng = NULL;
    assert_int_equal(refs(s), before);
    cs_rec_session_release(s);
}

/* ---- fixture ------------------------------------------------------------------------------ */

static int group_setup(void **state)
{
    (void)state;
    int err;
    (void)other_cert, (void)other_fp;   /* the header's, for test_peer.c */
    br_cert = cs_dtls_cert_generate(&err);
    offer = malloc(sizeof *offer);
    answer = malloc(sizeof *answer);
    sdp_text = malloc(CS_SDP_MAX_SIZE);
    if (!br_cert || !offer || !answer || !sdp_text)
        return -1;
    cs_dtls_cert_fingerprint(br_cert, br_fp);
    snprintf(dir, sizeof dir, "/tmp/cs-engine-record-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (cs_random_bytes(master, sizeof master) != CS_OK)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"one.cap", "two.cap", "three.cap", "four.cap"};
    for (size_t i = 0; i < CS_ARRAY_LEN(names); i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    cs_dtls_cert_free(br_cert);
    free(offer);
    free(answer);
    free(sdp_text);
    return 0;
}

static int engine_setup(void **state)
{
    ctx_setup(state);
    cs_media_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.workers = 1;
    cfg.ice.addresses[0] = "127.0.0.1";
    cfg.ice.n_addresses = 1;
    cfg.quality_interval_ms = 60000;
    cfg.wake = wake;
    char why[160];
    int err;
    eng = cs_media_engine_new(&cfg, &err, why, sizeof why);
    if (!eng)
        fail_msg("engine: %s", why);
    cs_recorder_config_t rc = {.master_key = master, .flush_ms = 100};
    recorder = cs_recorder_new(&rc, &err);
    return recorder ? 0 : -1;
}

static int engine_teardown(void **state)
{
    /* The engine lets go of its references before the recorder goes. */
    cs_media_engine_free(eng);
    eng = NULL;
    cs_recorder_free(recorder);
    recorder = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i])
            client_free(i);
    return ctx_teardown(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_stop_and_switch, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_setting_holds_for_later_sessions, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_full_ring_and_closed_session, engine_setup,
                                        engine_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
