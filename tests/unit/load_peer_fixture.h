/*
 * load_peer_fixture.h — the fixture of test_load_peer.c: a synthetic peer
 * (lt_peer_t) and what its callbacks saw, the other side as a cs_peer (the
 * gateway's answerer, or a client-mode peer standing in for Janus) with
 * what it received — RTP from the synthetic peer's senders, its RTCP — and
 * what it does with it (echo the media back as an SFU would, with a loss
 * repaired by RTX when the synthetic peer NACKs), the shared GMainContext
 * stepped with a deadline, and RTCP the other side sends (NACK, PLI).
 *
 * For one test binary: it holds that binary's state as static globals, and
 * every function is static inline so unused ones cause no warning.
 */
#ifndef CS_TESTS_UNIT_LOAD_PEER_FIXTURE_H
#define CS_TESTS_UNIT_LOAD_PEER_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "media/peer/peer.h"
#include "media/rtcp/rtcp.h"
#include "media/rtp/rtp.h"
#include "media/sdp/sdp.h"
#include "media/srtp/srtp.h"
#include "tests/load/media.h"
#include "tests/load/peer.h"

#define NICE_BROWSER_LINE_MAX (CS_ICE_CANDIDATE_MAX + 2)
#include "tests/unit/nice_browser.h"

#define WAIT_MS 8000
#define FX_CANDS 16
#define FX_PKT (LT_RTP_MAX + 64)
#define FX_RTX_MAX 16
#define ECHO_AUDIO_SSRC 0xa0d10001u
#define ECHO_VIDEO_SSRC 0x71de0002u
#define ECHO_RTX_SSRC 0x71de0003u

static GMainContext *ctx;
static GSource *tick;
static cs_dtls_cert_t *lt_cert, *side_cert;
static lt_media_t *media;
static char *text;                      /* an SDP, CS_SDP_MAX_SIZE bytes */
static cs_sdp_t *sdp_a, *sdp_b;         /* 1.1 MiB each: on the heap */

/* ---- the synthetic peer --------------------------------------------------------------------- */

typedef struct {
    lt_peer_t *p;
    char cands[FX_CANDS][CS_ICE_CANDIDATE_MAX];
    size_t n_cands, n_sent;
    bool eoc, eoc_sent;
    lt_peer_state_t states[8];
    size_t n_states;
    bool free_in_callback;              /* lt_peer_free from the first callback */
    size_t calls;
} lp_t;

static inline void lp_candidate(void *user, const char *c)
{
    lp_t *l = user;
    l->calls++;
    if (!c[0])
        l->eoc = true;
    else if (l->n_cands < FX_CANDS)
        cs_strlcpy(l->cands[l->n_cands++], c, CS_ICE_CANDIDATE_MAX);
    if (l->free_in_callback) {
        lt_peer_free(l->p);
        l->p = NULL;
        l->free_in_callback = false;
    }
}

static inline void lp_state(void *user, lt_peer_state_t s, const char *reason)
{
    lp_t *l = user;
    assert_non_null(reason);
    l->calls++;
    if (l->n_states < 8)
        l->states[l->n_states++] = s;
}

static const lt_peer_callbacks_t lp_cb = {lp_candidate, lp_state};

static inline lt_peer_config_t lp_config(bool audio, bool video)
{
    lt_peer_config_t cfg = {
        .media = media,
        .cert = lt_cert,
        .bind_address = "127.0.0.1",
        .send_audio = audio,
        .send_video = video,
    };
    return cfg;
}

static inline void lp_init(lp_t *l, const lt_peer_config_t *cfg)
{
    memset(l, 0, sizeof *l);
    int err = 1;
    l->p = lt_peer_new(ctx, cfg, &lp_cb, l, &err);
    assert_non_null(l->p);
    assert_int_equal(err, CS_OK);
    assert_int_equal(lt_peer_state(l->p), LT_PEER_NEW);
}

/* ---- the other side ------------------------------------------------------------------------- */

typedef struct {
    cs_peer_t *p;
    char cands[FX_CANDS][CS_ICE_CANDIDATE_MAX];
    size_t n_cands, n_sent;
    bool eoc, eoc_sent;
    cs_peer_state_t state;
    bool ready;                         /* has remote credentials: takes lp's candidates */
    bool trickle;                       /* hands its candidates to lp (else they were in the SDP) */
    /* the synthetic peer's streams, from its offer */
    uint32_t audio_ssrc, video_ssrc, rtx_ssrc;
    uint64_t audio, video, other, bad, keyframes;
    bool audio_ok, video_ok;            /* payload type and MID extension as offered */
    uint16_t last_vseq;
    uint16_t rtx_osn[FX_RTX_MAX];
    uint64_t n_rtx;
    /* its RTCP */
    uint64_t sr_audio, sr_video, rr, sdes, byes, nacks, plis, blocks_echo;
    uint16_t nacked[FX_RTX_MAX];
    size_t n_nacked;
    /* echo: the synthetic peer's media back to it, as an SFU forwards */
    bool echo;
    const char *echo_mid_audio, *echo_mid_video; /* MID extension rewritten to these */
    uint64_t echoed_video;
    uint64_t drop_at;                   /* the n-th video packet echoed is lost... */
    uint8_t dropped[FX_PKT];            /* ...kept here, sent as RTX when NACKed */
    size_t dropped_len;
    uint16_t dropped_seq, rtx_seq;
    bool repaired;
    /* sending its own senders (Janus standing in) */
    lt_sender_t *send[2];
    uint64_t drop_send_at, sent_video;
    uint16_t send_dropped_seq;
    bool send_dropped;
} side_t;

static lp_t *cur_lp;
static side_t *cur_side;

static inline void side_candidate(void *user, const char *c)
{
    side_t *s = user;
    if (!c[0])
        s->eoc = true;
    else if (s->n_cands < FX_CANDS)
        cs_strlcpy(s->cands[s->n_cands++], c, CS_ICE_CANDIDATE_MAX);
}

static inline void side_state(void *user, cs_peer_state_t st, const char *reason)
{
    (void)reason;
    side_t *s = user;
    s->state = st;
}

static inline bool ext_is(const cs_rtp_packet_t *pkt, const char *want)
{
    cs_rtp_ext_t e;
    char mid[CS_RTP_MID_MAX];
    return cs_rtp_ext_find(pkt, 4, &e) == CS_OK &&
           cs_rtp_ext_string(&e, mid, sizeof mid) == CS_OK && !strcmp(mid, want);
}

static inline void side_send(side_t *s, uint8_t *buf, size_t len)
{
    assert_true(cs_peer_send_rtp(s->p, buf, len, FX_PKT) > (int)len); /* the protected length */
}

/* As an SFU: the payload unchanged, our SSRC, the receiving section's mid. */
static inline void echo(side_t *s, const uint8_t *buf, size_t len, bool video)
{
    uint8_t out[FX_PKT];
    memcpy(out, buf, len);
    cs_rtp_set_ssrc(out, len, video ? ECHO_VIDEO_SSRC : ECHO_AUDIO_SSRC);
    const char *mid = video ? s->echo_mid_video : s->echo_mid_audio;
    if (mid)
        assert_int_equal(cs_rtp_ext_set(out, len, 4, (const uint8_t *)mid, strlen(mid)), CS_OK);
    if (video && ++s->echoed_video == s->drop_at) {
        memcpy(s->dropped, out, len);
        s->dropped_len = len;
        cs_rtp_get_seq(out, len, &s->dropped_seq);
        return;
    }
    side_send(s, out, len);
}

static inline void side_rtp(void *user, uint8_t *buf, size_t len)
{
    side_t *s = user;
    cs_rtp_packet_t pkt;
    if (cs_rtp_parse(buf, len, &pkt) != CS_OK) {
        s->bad++;
        return;
    }
    uint32_t ssrc = pkt.hdr.ssrc;
    if (ssrc == s->audio_ssrc) {
        s->audio++;
        s->audio_ok = (s->audio == 1 || s->audio_ok) && pkt.hdr.payload_type == 111 &&
                      ext_is(&pkt, "0");
        if (s->echo)
            echo(s, buf, len, false);
    } else if (ssrc == s->video_ssrc) {
        s->video++;
        s->video_ok = (s->video == 1 || s->video_ok) && pkt.hdr.payload_type == 96 &&
                      ext_is(&pkt, "1");
        cs_rtp_vp8_t vp8;
        if (cs_rtp_vp8_parse(pkt.payload, pkt.payload_len, &vp8) == CS_OK && vp8.keyframe)
            s->keyframes++;
        s->last_vseq = pkt.hdr.seq;
        if (s->echo)
            echo(s, buf, len, true);
    } else if (ssrc == s->rtx_ssrc && pkt.hdr.payload_type == 97 && s->n_rtx < FX_RTX_MAX) {
        cs_rtp_rtx_osn(&pkt, &s->rtx_osn[s->n_rtx++]);
    } else {
        s->other++;
    }
}

static inline void repair(side_t *s, uint16_t seq)
{
    if (!s->dropped_len || seq != s->dropped_seq || s->repaired)
        return;
    uint8_t out[FX_PKT];
    int n = cs_rtp_rtx_wrap(s->dropped, s->dropped_len, 97, ECHO_RTX_SSRC, s->rtx_seq++, out,
                            sizeof out);
    assert_true(n > 0);
    side_send(s, out, (size_t)n);
    s->repaired = true;
}

static inline int side_emit(void *user, uint8_t *buf, size_t len, size_t cap);

static inline void side_nack(side_t *s, const cs_rtcp_pkt_t *p)
{
    cs_rtcp_fb_t ids;
    uint16_t seqs[64];
    size_t n = 0;
    assert_int_equal(cs_rtcp_nack_parse(p, &ids, seqs, 64, &n), CS_OK);
    s->nacks++;
    for (size_t i = 0; i < n; i++) {
        if (s->n_nacked < FX_RTX_MAX)
            s->nacked[s->n_nacked++] = seqs[i];
        if (ids.media_ssrc == ECHO_VIDEO_SSRC)
            repair(s, seqs[i]);
        else if (s->send[1] && ids.media_ssrc == lt_sender_ssrc(s->send[1]))
            lt_sender_retransmit(s->send[1], seqs[i], cs_mono_us(), side_emit, s);
    }
}

static inline void side_report(side_t *s, const cs_rtcp_report_block_t *b, uint8_t n)
{
    for (uint8_t i = 0; i < n; i++)
        if (b[i].ssrc == ECHO_AUDIO_SSRC || b[i].ssrc == ECHO_VIDEO_SSRC ||
            (s->send[0] && b[i].ssrc == lt_sender_ssrc(s->send[0])) ||
            (s->send[1] && b[i].ssrc == lt_sender_ssrc(s->send[1])))
            s->blocks_echo++;
}

static inline void side_rtcp(void *user, uint8_t *buf, size_t len)
{
    side_t *s = user;
    cs_rtcp_iter_t it;
    cs_rtcp_pkt_t p;
    cs_rtcp_sr_t sr;
    cs_rtcp_rr_t rr;
    cs_rtcp_iter_init(&it, buf, len);
    assert_true(cs_rtcp_validate(buf, len) > 0);
    while (cs_rtcp_iter_next(&it, &p) == 1) {
        if (p.type == CS_RTCP_SR && cs_rtcp_sr_parse(&p, &sr) == CS_OK) {
            s->sr_audio += sr.ssrc == s->audio_ssrc;
            s->sr_video += sr.ssrc == s->video_ssrc;
            side_report(s, sr.reports, sr.n_reports);
        } else if (p.type == CS_RTCP_RR && cs_rtcp_rr_parse(&p, &rr) == CS_OK) {
            s->rr++;
            side_report(s, rr.reports, rr.n_reports);
        } else if (p.type == CS_RTCP_SDES) {
            s->sdes++;
        } else if (p.type == CS_RTCP_BYE) {
            s->byes++;
        } else if (p.type == CS_RTCP_RTPFB && p.count == CS_RTCP_FMT_NACK) {
            side_nack(s, &p);
        } else if (p.type == CS_RTCP_PSFB && p.count == CS_RTCP_FMT_PLI) {
            s->plis++;
        }
    }
}

static const cs_peer_callbacks_t side_cb = {side_candidate, side_state, side_rtp, side_rtcp};

/* client: a client-mode peer (Janus standing in), controlling when it offers. */
static inline void side_init(side_t *s, bool controlling)
{
    memset(s, 0, sizeof *s);
    cs_peer_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.ice.addresses[0] = "127.0.0.1";
    cfg.ice.n_addresses = 1;
    cfg.ice.controlling = controlling;
    cfg.cert = side_cert;
    int err = 1;
    s->p = cs_peer_new(ctx, &cfg, &side_cb, s, &err);
    assert_non_null(s->p);
    s->trickle = true;
}

/* Its own senders' packets: protected and sent (one may be lost once). */
static inline int side_emit(void *user, uint8_t *buf, size_t len, size_t cap)
{
    side_t *s = user;
    uint32_t ssrc;
    uint16_t seq;
    cs_rtp_get_ssrc(buf, len, &ssrc);
    cs_rtp_get_seq(buf, len, &seq);
    if (s->send[1] && ssrc == lt_sender_ssrc(s->send[1]) && ++s->sent_video == s->drop_send_at) {
        s->send_dropped_seq = seq;
        s->send_dropped = true;
        return 0;                       /* "sent", and lost on the way */
    }
    return cs_peer_send_rtp(s->p, buf, len, cap) >= 0 ? 0 : -1;
}

static inline void side_free(side_t *s)
{
    cs_peer_free(s->p);
    s->p = NULL;
    lt_sender_free(s->send[0]);
    lt_sender_free(s->send[1]);
    s->send[0] = s->send[1] = NULL;
}

/* ---- stepping both -------------------------------------------------------------------------- */

static inline void step(void)
{
    lp_t *l = cur_lp;
    side_t *s = cur_side;
    int64_t now = cs_mono_us();
    if (s && l && l->p && s->ready) {
        while (l->n_sent < l->n_cands)
            assert_int_equal(cs_peer_add_remote_candidate(s->p, l->cands[l->n_sent++]), CS_OK);
        if (l->eoc && !l->eoc_sent) {
            assert_int_equal(cs_peer_add_remote_candidate(s->p, ""), CS_OK);
            l->eoc_sent = true;
        }
    }
    if (s && l && l->p && s->trickle && lt_peer_state(l->p) != LT_PEER_NEW) {
        while (s->n_sent < s->n_cands)
            assert_int_equal(lt_peer_add_remote_candidate(l->p, s->cands[s->n_sent++]), CS_OK);
        if (s->eoc && !s->eoc_sent) {
            assert_int_equal(lt_peer_add_remote_candidate(l->p, ""), CS_OK);
            s->eoc_sent = true;
        }
    }
    if (s && s->p) {
        cs_peer_tick(s->p, now);
        for (int k = 0; k < 2 && s->state == CS_PEER_CONNECTED; k++)
            if (s->send[k])
                lt_sender_poll(s->send[k], now, side_emit, s);
    }
    if (l && l->p)
        lt_peer_poll(l->p, now);
}

typedef bool (*cond_fn)(void *arg);

static inline bool run_until(cond_fn cond, void *arg, int ms)
{
    return nice_browser_run_until(ctx, step, cond, arg, ms);
}

static inline bool both_connected(void *arg)
{
    (void)arg;
    return cur_lp->p && lt_peer_state(cur_lp->p) == LT_PEER_CONNECTED &&
           cur_side->state == CS_PEER_CONNECTED;
}

typedef struct {
    const uint64_t *counter;
    uint64_t want;
} wait_t;

static inline bool reached(void *arg)
{
    const wait_t *w = arg;
    return *w->counter >= w->want;
}

static inline void wait_for(const uint64_t *counter, uint64_t want)
{
    wait_t w = {counter, want};
    assert_true(run_until(reached, &w, WAIT_MS));
}

static inline bool side_gathered(void *arg)
{
    return ((side_t *)arg)->eoc;
}

/* ---- RTCP the other side sends -------------------------------------------------------------- */

static inline void side_send_rtcp_fb(side_t *s, uint32_t media_ssrc, const uint16_t *seqs,
                                     size_t n)
{
    uint8_t buf[256];
    cs_rtcp_builder_t b;
    cs_rtcp_builder_init(&b, buf, sizeof buf - CS_SRTP_MAX_TRAILER);
    cs_rtcp_rr_t rr = {.ssrc = 0x51de};
    assert_true(cs_rtcp_rr_append(&b, &rr) > 0);
    cs_rtcp_fb_t ids = {0x51de, media_ssrc};
    assert_true((seqs ? cs_rtcp_nack_append(&b, &ids, seqs, n) : cs_rtcp_pli_append(&b, &ids)) > 0);
    assert_true(cs_peer_send_rtcp(s->p, buf, b.len, sizeof buf) > (int)b.len); /* the protected length */
}

/* ---- SDP helpers ---------------------------------------------------------------------------- */

static inline void parse_into(cs_sdp_t *out, const char *sdp)
{
    cs_sdp_error_t err;
    if (cs_sdp_parse(sdp, strlen(sdp), out, &err) != CS_OK)
        fail_msg("SDP does not parse: %s", err.message);
}

static inline void write_sdp(const cs_sdp_t *d, char *out)
{
    cs_sdp_error_t err;
    if (cs_sdp_write(d, out, CS_SDP_MAX_SIZE, NULL, &err) != CS_OK)
        fail_msg("SDP does not write: %s", err.message);
}

static inline bool has_line(const char *sdp, const char *line)
{
    return strstr(sdp, line) != NULL;
}

/* The media and RTX SSRCs of the synthetic peer's offer (mids 0 and 1). */
static inline void side_learn_offer(side_t *s, const cs_sdp_t *o)
{
    s->audio_ssrc = o->media[0].ssrcs[0].ssrc;
    assert_int_equal(o->media[1].n_ssrc_groups, 1);
    s->video_ssrc = o->media[1].ssrc_groups[0].ssrcs[0];
    s->rtx_ssrc = o->media[1].ssrc_groups[0].ssrcs[1];
}

#endif /* CS_TESTS_UNIT_LOAD_PEER_FIXTURE_H */
