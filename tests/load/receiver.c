/*
 * receiver.c — one incoming stream of a synthetic peer: loss, duplicates,
 * reordering, interarrival jitter, which sequence numbers to NACK, RTCP
 * report blocks, forwarding latency by matching packets to the send logs of
 * this process's senders, and (for a sample of receivers) depacketising and
 * decoding to check that what arrives is intact.
 *
 * Sequence numbers are extended here rather than by cs_rtp_seqtrack (RFC
 * 3550 A.1): its probation leaves the first packets uncounted and it cannot
 * tell duplicates, while a load test wants every packet accounted for. The
 * rules are the same otherwise (a jump of more than 3000 is believed only
 * when the next packet follows it). Recent sequence numbers live in a ring
 * (received, missing, NACKed), so a packet costs O(1); only a gap costs its
 * length, once.
 *
 * Latency: the first packets are looked up by payload hash in the senders'
 * logs (a scan of each log); after that the receiver follows the sender it
 * found by sequence offset (an SFU renumbers, but keeps payloads), one O(1)
 * look-up a packet, and searches again when that stops matching.
 */
#include <stdlib.h>
#include <string.h>

#include <opus/opus.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "tests/load/media.h"

#define WIN 1024                      /* recent sequence numbers remembered (power of two) */
#define MISS_MAX 256                  /* missing packets waiting for NACK at once */
#define NACK_AFTER_US 5000            /* reordering allowance before the first NACK */
#define NACK_MIN_SPACING_US 20000
#define NACK_TRIES 3
#define NACK_GIVE_UP_US 1000000
#define BIG_JUMP 3000                 /* RFC 3550 MAX_DROPOUT */
#define EXT_ORIGIN 65536              /* the first packet's extended number, above reorders */
#define KEY_WAIT_US 1000000
#define FIND_BACKOFF_MAX 256          /* packets between hash searches that found nothing */
#define FRAME_SLOTS 128               /* packets of one VP8 frame, at most (power of two) */
#define OPUS_MAX_SAMPLES 5760         /* 120 ms at 48 kHz */

enum { SLOT_MISSING = 1, SLOT_NACKED = 2, SLOT_RECEIVED = 4 };

typedef struct {
    int64_t ext, since_us, last_us;
    uint16_t seq;
    uint8_t tries;
} miss_t;

/* Decoding state: only for receivers asked to decode. */
typedef struct {
    vpx_codec_ctx_t vpx;
    bool vpx_open;
    OpusDecoder *opus;
    int64_t last_audio_ext;
    /* the VP8 frame being assembled */
    bool active, done_valid, need_key, key;
    uint32_t ts, done_ts;
    int64_t first_ext, last_ext, prev_end_ext;
    size_t n_have;
    int64_t tag[FRAME_SLOTS];
    uint16_t len[FRAME_SLOTS];
    uint8_t slot[FRAME_SLOTS][LT_RTP_PAYLOAD_MAX];
    uint8_t frame[FRAME_SLOTS * LT_RTP_PAYLOAD_MAX];
    int16_t pcm[OPUS_MAX_SAMPLES];
} decode_t;

struct lt_receiver {
    lt_kind_t kind;
    uint32_t ssrc, clock;
    /* sequence numbers */
    bool started, bad_valid;
    uint16_t max_seq, bad_seq;
    uint32_t cycles;
    int64_t ext_max, first_ext;
    uint64_t recv_total, exp_prior, recv_prior;
    uint32_t tag[WIN];
    uint8_t flags[WIN];
    miss_t miss[MISS_MAX];
    size_t n_miss;
    int64_t rtt_us;
    cs_rtp_jitter_t jitter;
    /* the last sender report */
    bool have_sr;
    uint32_t lsr;
    int64_t sr_at_us;
    /* the measurement window */
    int64_t win_base;
    bool win_from_start;
    lt_receiver_stats_t st;
    /* latency */
    lt_sources_t src;
    const lt_sender_t *match;
    uint16_t offset;                  /* forwarded seq - original seq */
    uint32_t find_wait, find_backoff;
    /* keyframes */
    bool seen_key, want_key;
    int64_t first_arrival_us, key_asked_us;
    decode_t *dec;
};

/* ---- creation --------------------------------------------------------------------------- */

static int decode_open(lt_receiver_t *r)
{
    decode_t *d = calloc(1, sizeof *d);
    if (!d)
        return CS_ENOMEM;
    r->dec = d;
    d->last_audio_ext = -1;
    d->prev_end_ext = -1;
    d->need_key = true;
    for (size_t i = 0; i < FRAME_SLOTS; i++)
        d->tag[i] = -1;
    if (r->kind == LT_AUDIO) {
        int err = 0;
        d->opus = opus_decoder_create(48000, 1, &err);
        return d->opus && err == OPUS_OK ? CS_OK : CS_EIO;
    }
    vpx_codec_dec_cfg_t cfg = {.threads = 1};
    if (vpx_codec_dec_init(&d->vpx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK)
        return CS_EIO;
    d->vpx_open = true;
    return CS_OK;
}

lt_receiver_t *lt_receiver_new(lt_kind_t kind, uint32_t ssrc, bool decode, int *err)
{
    if (kind != LT_AUDIO && kind != LT_VIDEO) {
        *err = CS_EINVAL;
        return NULL;
    }
    lt_receiver_t *r = calloc(1, sizeof *r);
    if (!r) {
        *err = CS_ENOMEM;
        return NULL;
    }
    r->kind = kind;
    r->ssrc = ssrc;
    r->clock = kind == LT_VIDEO ? 90000 : 48000;
    r->win_from_start = true;
    cs_rtp_jitter_init(&r->jitter);
    int rc = decode ? decode_open(r) : CS_OK;
    if (rc != CS_OK) {
        lt_receiver_free(r);
        *err = rc;
        return NULL;
    }
    *err = CS_OK;
    return r;
}

void lt_receiver_free(lt_receiver_t *r)
{
    if (!r)
        return;
    if (r->dec) {
        if (r->dec->vpx_open)
            vpx_codec_destroy(&r->dec->vpx);
        if (r->dec->opus)
            opus_decoder_destroy(r->dec->opus);
        free(r->dec);
    }
    free(r);
}

void lt_receiver_set_sources(lt_receiver_t *r, lt_sources_t sources)
{
    r->src = sources;
    bool still = false;
    for (size_t i = 0; i < sources.n && r->match; i++)
        still |= sources.senders[i] == r->match;
    if (!still)
        r->match = NULL;
    r->find_wait = 0;
    r->find_backoff = 0;
}

void lt_receiver_set_rtt(lt_receiver_t *r, int64_t rtt_us)
{
    r->rtt_us = rtt_us > 0 ? rtt_us : 0;
}

/* ---- sequence numbers ------------------------------------------------------------------- */

/* Marks the numbers between the previous highest and ext as missing. */
static void note_gap(lt_receiver_t *r, int64_t ext, uint16_t seq, int64_t now_us)
{
    int64_t from = r->ext_max + 1;
    if (from < ext - (WIN - 1))
        from = ext - (WIN - 1);       /* older ones would not fit the ring */
    for (int64_t e = from; e < ext; e++) {
        size_t i = (size_t)e & (WIN - 1);
        r->tag[i] = (uint32_t)e;
        r->flags[i] = SLOT_MISSING;
        if (r->n_miss < MISS_MAX)
            r->miss[r->n_miss++] = (miss_t){.ext = e, .since_us = now_us,
                                            .seq = (uint16_t)(seq - (ext - e))};
    }
}

/* The extended number of seq, or -1 when the packet is set aside (a big jump
 * not yet confirmed). */
static int64_t extend(lt_receiver_t *r, uint16_t seq, int64_t now_us)
{
    if (!r->started) {
        r->started = true;
        r->first_arrival_us = now_us;
        r->max_seq = seq;
        r->ext_max = r->first_ext = EXT_ORIGIN + seq;
        if (r->win_from_start)
            r->win_base = r->first_ext - 1;
        return r->ext_max;
    }
    int32_t d = cs_rtp_seq_diff(seq, r->max_seq);
    if (d > BIG_JUMP || d < -BIG_JUMP) {
        if (!r->bad_valid || seq != r->bad_seq) {
            r->bad_valid = true;
            r->bad_seq = (uint16_t)(seq + 1);
            return -1;
        }
        /* The source restarted: carry on numbering without a gap. */
        r->bad_valid = false;
        r->max_seq = (uint16_t)(seq - 1);
        r->cycles = 0;
        d = 1;
    }
    int64_t ext = r->ext_max + d;
    if (d <= 0)
        return ext;
    note_gap(r, ext, seq, now_us);
    if (seq < r->max_seq)
        r->cycles++;
    r->max_seq = seq;
    r->ext_max = ext;
    return ext;
}

/* ---- latency ---------------------------------------------------------------------------- */

static bool find_sender(lt_receiver_t *r, uint16_t seq, uint64_t hash, int64_t *sent_us)
{
    const lt_sender_t *best = NULL;
    uint16_t best_seq = 0;
    for (size_t i = 0; i < r->src.n; i++) {
        const lt_sender_t *s = r->src.senders[i];
        uint16_t oseq;
        int64_t at;
        if (!s || lt_sender_kind(s) != r->kind || lt_sender_find(s, hash, &oseq, &at) != CS_OK)
            continue;
        if (!best || at > *sent_us) {
            best = s;
            best_seq = oseq;
            *sent_us = at;
        }
    }
    if (!best)
        return false;
    r->match = best;
    r->offset = (uint16_t)(seq - best_seq);
    return true;
}

/* A packet NACKed and resent is matched but kept out of the histogram: its
 * delay is the repair's, not the forwarding's. */
static void measure(lt_receiver_t *r, uint16_t seq, const uint8_t *payload, size_t len,
                    int64_t now_us, bool recovered)
{
    uint64_t hash = lt_payload_hash(payload, len);
    int64_t sent = 0;
    if (!r->match ||
        lt_sender_sent_at(r->match, (uint16_t)(seq - r->offset), hash, &sent) != CS_OK) {
        if (r->find_wait > 0) {
            r->find_wait--;
            return;
        }
        if (!find_sender(r, seq, hash, &sent)) {
            r->find_backoff = r->find_backoff ? r->find_backoff * 2 : 1;
            if (r->find_backoff > FIND_BACKOFF_MAX)
                r->find_backoff = FIND_BACKOFF_MAX;
            r->find_wait = r->find_backoff;
            return;
        }
        r->find_backoff = 0;
    }
    r->st.late_matched++;
    if (!recovered)
        lt_hist_add(&r->st.latency, now_us > sent ? (uint64_t)(now_us - sent) : 0);
}

/* ---- decoding ----------------------------------------------------------------------------- */

static void want_key(lt_receiver_t *r)
{
    r->dec->need_key = true;
    r->want_key = true;
}

/* The frame being assembled will not be complete. */
static void frame_drop(lt_receiver_t *r)
{
    decode_t *d = r->dec;
    d->active = false;
    d->done_valid = true;
    d->done_ts = d->ts;
    want_key(r);
}

static void frame_decode(lt_receiver_t *r)
{
    decode_t *d = r->dec;
    d->active = false;
    d->done_valid = true;
    d->done_ts = d->ts;
    bool gap = d->prev_end_ext >= 0 && d->first_ext != d->prev_end_ext + 1;
    d->prev_end_ext = d->last_ext;
    if (gap && !d->key)
        want_key(r);                  /* a whole frame went missing: references are broken */
    if (d->need_key && !d->key)
        return;
    size_t len = 0;
    for (int64_t e = d->first_ext; e <= d->last_ext; e++) {
        size_t i = (size_t)e & (FRAME_SLOTS - 1);
        memcpy(d->frame + len, d->slot[i], d->len[i]);
        len += d->len[i];
    }
    int corrupt = 0;
    if (vpx_codec_decode(&d->vpx, d->frame, (unsigned)len, NULL, 0) != VPX_CODEC_OK ||
        (vpx_codec_control(&d->vpx, VP8D_GET_FRAME_CORRUPTED, &corrupt) == VPX_CODEC_OK &&
         corrupt)) {
        r->st.decode_errors++;
        want_key(r);
        return;
    }
    vpx_codec_iter_t it = NULL;
    while (vpx_codec_get_frame(&d->vpx, &it))
        ;
    d->need_key = false;
    r->st.frames_decoded++;
}

static bool frame_complete(const decode_t *d)
{
    if (d->first_ext < 0 || d->last_ext < d->first_ext)
        return false;
    if (d->n_have != (size_t)(d->last_ext - d->first_ext + 1))
        return false;
    for (int64_t e = d->first_ext; e <= d->last_ext; e++)
        if (d->tag[(size_t)e & (FRAME_SLOTS - 1)] != e)
            return false;
    return true;
}

/* RFC 7741 depacketising: a frame is the packets of one timestamp from S=1
 * PID=0 to the marker, none missing. Frames come in timestamp order; a
 * packet of a later frame ends the one being assembled. */
static void vp8_push(lt_receiver_t *r, int64_t ext, uint32_t ts, bool marker,
                     const uint8_t *payload, size_t len)
{
    decode_t *d = r->dec;
    cs_rtp_vp8_t v;
    if (cs_rtp_vp8_parse(payload, len, &v) != CS_OK)
        return;
    if (d->active && ts != d->ts) {
        if ((int32_t)(ts - d->ts) < 0)
            return;                   /* a straggler of a frame already given up */
        frame_drop(r);
    }
    if (!d->active) {
        if (d->done_valid && (int32_t)(ts - d->done_ts) <= 0)
            return;
        d->active = true;
        d->ts = ts;
        d->first_ext = d->last_ext = -1;
        d->n_have = 0;
        d->key = false;
        memset(d->tag, 0xff, sizeof d->tag);    /* every slot -1: empty */
    }
    size_t i = (size_t)ext & (FRAME_SLOTS - 1);
    size_t dlen = len - v.descriptor_len;
    if (d->tag[i] == ext)
        return;
    if (d->tag[i] >= 0 || dlen > LT_RTP_PAYLOAD_MAX) {
        frame_drop(r);                /* more or larger packets than a frame may have */
        return;
    }
    d->tag[i] = ext;
    d->len[i] = (uint16_t)dlen;
    memcpy(d->slot[i], payload + v.descriptor_len, dlen);
    d->n_have++;
    if (v.start && v.partition_id == 0) {
        d->first_ext = ext;
        d->key = v.keyframe;
    }
    if (marker)
        d->last_ext = ext;
    if (frame_complete(d))
        frame_decode(r);
}

static void opus_push(lt_receiver_t *r, int64_t ext, const uint8_t *payload, size_t len)
{
    decode_t *d = r->dec;
    if (ext <= d->last_audio_ext)
        return;                       /* late: its turn has passed */
    d->last_audio_ext = ext;
    int n = opus_decode(d->opus, payload, (opus_int32)len, d->pcm, OPUS_MAX_SAMPLES, 0);
    if (n > 0)
        r->st.frames_decoded++;
    else
        r->st.decode_errors++;
}

/* ---- packets -------------------------------------------------------------------------------- */

/* Updates the ring for one arrival; false for a duplicate. */
static bool note_arrival(lt_receiver_t *r, int64_t ext, bool *recovered)
{
    *recovered = false;
    if (ext <= r->ext_max - WIN)
        return true;                  /* older than the ring: cannot tell, count it */
    size_t i = (size_t)ext & (WIN - 1);
    bool known = r->tag[i] == (uint32_t)ext;
    if (known && (r->flags[i] & SLOT_RECEIVED))
        return false;
    *recovered = known && (r->flags[i] & SLOT_NACKED);
    r->tag[i] = (uint32_t)ext;
    r->flags[i] = SLOT_RECEIVED;
    return true;
}

static void count_arrival(lt_receiver_t *r, int64_t ext, int64_t now_us)
{
    if (ext < r->first_ext) {
        r->first_ext = ext;           /* reordered before the first one */
        if (r->win_from_start)
            r->win_base = ext - 1;
    }
    r->recv_total++;
    if (ext > r->win_base)
        r->st.received++;
    if (r->st.received + r->st.duplicates == 1 && ext > r->win_base)
        r->st.first_us = now_us;
    r->st.last_us = now_us;
}

int lt_receiver_on_rtp(lt_receiver_t *r, const uint8_t *buf, size_t len, int64_t now_us)
{
    cs_rtp_packet_t p;
    if (cs_rtp_parse(buf, len, &p) != CS_OK)
        return CS_EINVAL;
    if (!r->ssrc)
        r->ssrc = p.hdr.ssrc;
    bool recovered;
    int64_t ext = extend(r, p.hdr.seq, now_us);
    if (ext < 0)
        return CS_OK;
    if (!note_arrival(r, ext, &recovered)) {
        r->st.duplicates++;
        return CS_OK;
    }
    count_arrival(r, ext, now_us);
    if (recovered)
        r->st.recovered++;
    else    /* a resent packet's timestamp says nothing about the path's jitter */
        cs_rtp_jitter_update(&r->jitter, p.hdr.timestamp, cs_rtp_time_to_ts((uint64_t)now_us, r->clock));
    if (p.payload_len == 0)
        return CS_OK;                 /* padding only */
    if (r->kind == LT_VIDEO && !r->seen_key) {
        cs_rtp_vp8_t v;
        r->seen_key = cs_rtp_vp8_parse(p.payload, p.payload_len, &v) == CS_OK && v.keyframe;
    }
    measure(r, p.hdr.seq, p.payload, p.payload_len, now_us, recovered);
    if (r->dec && r->kind == LT_VIDEO)
        vp8_push(r, ext, p.hdr.timestamp, p.hdr.marker, p.payload, p.payload_len);
    else if (r->dec)
        opus_push(r, ext, p.payload, p.payload_len);
    return CS_OK;
}

/* ---- feedback ------------------------------------------------------------------------------- */

size_t lt_receiver_nacks(lt_receiver_t *r, int64_t now_us, uint16_t *seqs, size_t cap)
{
    int64_t spacing = r->rtt_us > NACK_MIN_SPACING_US ? r->rtt_us : NACK_MIN_SPACING_US;
    size_t out = 0, keep = 0;
    for (size_t k = 0; k < r->n_miss; k++) {
        miss_t m = r->miss[k];
        size_t i = (size_t)m.ext & (WIN - 1);
        if (r->tag[i] != (uint32_t)m.ext || (r->flags[i] & SLOT_RECEIVED) ||
            m.tries >= NACK_TRIES || now_us - m.since_us >= NACK_GIVE_UP_US)
            continue;                 /* arrived, out of the ring, or given up */
        if (out < cap && now_us - m.since_us >= NACK_AFTER_US &&
            (m.tries == 0 || now_us - m.last_us >= spacing)) {
            seqs[out++] = m.seq;
            m.tries++;
            m.last_us = now_us;
            r->flags[i] |= SLOT_NACKED;
        }
        r->miss[keep++] = m;
    }
    r->n_miss = keep;
    return out;
}

bool lt_receiver_wants_keyframe(lt_receiver_t *r, int64_t now_us)
{
    if (r->kind != LT_VIDEO || !r->started)
        return false;
    if (r->want_key) {
        r->want_key = false;
        r->key_asked_us = now_us;
        return true;
    }
    bool waiting = !r->seen_key || (r->dec && r->dec->need_key);
    int64_t since = r->key_asked_us > r->first_arrival_us ? r->key_asked_us : r->first_arrival_us;
    if (!waiting || now_us - since < KEY_WAIT_US)
        return false;
    r->key_asked_us = now_us;
    return true;
}

void lt_receiver_report_block(lt_receiver_t *r, int64_t now_us, cs_rtcp_report_block_t *out)
{
    memset(out, 0, sizeof *out);
    out->ssrc = r->ssrc;
    if (r->started) {
        uint64_t expected = (uint64_t)(r->ext_max - r->first_ext + 1);
        out->ext_highest_seq = r->cycles << 16 | r->max_seq;
        out->cumulative_lost = cs_rtcp_clamp_lost((int64_t)expected - (int64_t)r->recv_total);
        out->fraction_lost = cs_rtcp_fraction_lost(expected - r->exp_prior,
                                                   r->recv_total - r->recv_prior);
        r->exp_prior = expected;
        r->recv_prior = r->recv_total;
    }
    out->jitter = cs_rtp_jitter_get(&r->jitter);
    if (r->have_sr) {
        out->lsr = r->lsr;
        out->dlsr = cs_rtcp_dlsr_from_us(now_us - r->sr_at_us);
    }
}

void lt_receiver_on_sr(lt_receiver_t *r, const cs_rtcp_sr_t *sr, int64_t now_us)
{
    r->have_sr = true;
    r->lsr = cs_rtcp_ntp_compact(sr->ntp);
    r->sr_at_us = now_us;
}

/* ---- figures ------------------------------------------------------------------------------- */

void lt_receiver_stats(const lt_receiver_t *r, lt_receiver_stats_t *out)
{
    *out = r->st;
    out->kind = r->kind;
    out->ssrc = r->ssrc;
    out->expected = r->started && r->ext_max > r->win_base ? (uint64_t)(r->ext_max - r->win_base) : 0;
    out->lost = out->expected > out->received ? out->expected - out->received : 0;
    out->jitter_ms = (double)r->jitter.jitter_q4 / 16.0 * 1000.0 / r->clock;
}

void lt_receiver_reset_window(lt_receiver_t *r)
{
    memset(&r->st, 0, sizeof r->st);
    r->win_from_start = !r->started;
    if (r->started)
        r->win_base = r->ext_max;
}
