/*
 * sender.c — one outgoing stream of a synthetic peer: the encoded loop sent
 * as RTP at its real rate, and the send log that lets a receiver in the same
 * process find when a forwarded packet left.
 *
 * The per-packet path is a copy of a header template made once (SSRC,
 * payload type and the MID extension already in place), the sequence number,
 * timestamp and marker written into it, the 4-byte VP8 descriptor, and a
 * copy of a pre-cut chunk of the loop: no allocation, no system call, O(1).
 *
 * Frame n of a stream is due at start + n / rate and carries the timestamp
 * base + n * clock / rate whatever part of the loop it shows, so timestamps
 * run on without a jump when the loop wraps, when a keyframe request jumps
 * within the loop, and when a stall is skipped. The VP8 PictureID is
 * base + n too: a receiver's decoder sees one continuous stream.
 *
 * The log is a ring indexed by sequence number; an entry keeps what rebuilds
 * the packet (the chunk and the frame number), so a retransmission is the
 * same bytes without keeping them.
 */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "media/rtp/rtp.h"
#include "tests/load/media_internal.h"

#define HDR_MAX 40                    /* 12 + extension header 4 + a 1..16-byte MID padded */
#define LOG_MASK (LT_SENDLOG_SIZE - 1)
#define MAX_BEHIND_US 1000000         /* further behind than this: skip instead of bursting */
#define MID_MAX 16                    /* the one-byte extension form */

_Static_assert((LT_SENDLOG_SIZE & LOG_MASK) == 0, "LT_SENDLOG_SIZE must be a power of two");
_Static_assert(65536 % LT_SENDLOG_SIZE == 0, "one sequence number per log slot");

typedef struct {
    int64_t sent_us;                  /* -1: the emit callback dropped it */
    uint64_t hash;
    uint32_t ref;                     /* index into the media's chunks or audio frames */
    uint32_t frame;                   /* the frame number n, for timestamp and PictureID */
    uint16_t seq;
    bool used;
} log_entry_t;

struct lt_sender {
    const lt_media_t *m;
    lt_kind_t kind;
    bool rtx;
    uint8_t hdr[HDR_MAX], rtx_hdr[HDR_MAX];
    size_t hdr_len;                   /* both templates have this length */
    uint32_t ssrc, ts_base, rate, clock;
    uint16_t seq, rtx_seq, pid_base;
    size_t loop_len, pos;             /* the loop's frames; the next one to send */
    uint64_t n;                       /* the next frame's number */
    int64_t start_us;
    uint32_t start_offset_ms;
    bool started, want_key;
    lt_sender_stats_t st;
    uint8_t buf[LT_RTP_MAX];
    log_entry_t log[LT_SENDLOG_SIZE];
};

/* ---- the payload hash ------------------------------------------------------------------ */

static uint64_t rotl64(uint64_t x, int r)
{
    return x << r | x >> (64 - r);
}

/*
 * Hashes the length and at most the first 64 bytes: cheap per packet, and
 * enough within one send log, because the first bytes of a VP8 payload hold
 * the sender's PictureID (random start, +1 a frame) and every frame and Opus
 * packet of the loop differs (noise in the source). The same Opus packet
 * comes round once per loop and from every sender of the process: a receiver
 * tells them apart by the most recent send and then by sequence offset.
 */
uint64_t lt_payload_hash(const uint8_t *payload, size_t len)
{
    const uint64_t k = 0x9e3779b97f4a7c15ull;
    uint64_t h = k ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4full);
    size_t n = len < 64 ? len : 64, i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, payload + i, 8);
        h = rotl64((h ^ w) * k, 29);
    }
    if (i < n) {
        uint64_t w = 0;
        memcpy(&w, payload + i, n - i);
        h = rotl64((h ^ w ^ (uint64_t)(n - i) << 59) * k, 29);
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ h >> 33;
}

/* ---- creation --------------------------------------------------------------------------- */

static bool config_valid(const lt_media_t *m, const lt_sender_config_t *c)
{
    if (!m || (c->kind != LT_AUDIO && c->kind != LT_VIDEO) || c->pt > 127 || c->rtx_pt > 127 ||
        c->mid_ext_id > 14)
        return false;
    if (c->mid_ext_id && (!c->mid || !c->mid[0] || strlen(c->mid) > MID_MAX))
        return false;
    return true;
}

/* The header as cs_rtp_serialise writes it, without payload; sequence number,
 * timestamp and marker are overwritten per packet. */
static int make_template(const lt_sender_config_t *c, uint8_t pt, uint32_t ssrc, uint8_t *out)
{
    cs_rtp_header_t h = {.payload_type = pt, .ssrc = ssrc};
    cs_rtp_ext_t mid = {.id = c->mid_ext_id};
    if (c->mid_ext_id) {
        mid.len = (uint8_t)strlen(c->mid);
        mid.data = (const uint8_t *)c->mid;
    }
    return cs_rtp_serialise(&h, &mid, c->mid_ext_id ? 1 : 0, NULL, 0, out, HDR_MAX);
}

static void random_start(lt_sender_t *s)
{
    uint8_t r[10];
    if (cs_random_bytes(r, sizeof r) != CS_OK) {
        /* No kernel randomness: still spread senders apart. */
        uint64_t x = (uint64_t)cs_mono_us() * 0x9e3779b97f4a7c15ull ^ (uintptr_t)s;
        memcpy(r, &x, 8);
        r[8] = (uint8_t)(x >> 13);
        r[9] = (uint8_t)(x >> 29);
    }
    s->seq = cs_rd16(r);
    s->rtx_seq = cs_rd16(r + 2);
    s->ts_base = cs_rd32(r + 4);
    s->pid_base = cs_rd16(r + 8) & 0x7fff;
}

lt_sender_t *lt_sender_new(const lt_media_t *m, const lt_sender_config_t *cfg, int *err)
{
    if (!cfg || !config_valid(m, cfg)) {
        *err = CS_EINVAL;
        return NULL;
    }
    lt_sender_t *s = calloc(1, sizeof *s);
    if (!s) {
        *err = CS_ENOMEM;
        return NULL;
    }
    s->m = m;
    s->kind = cfg->kind;
    s->ssrc = cfg->ssrc;
    s->rtx = cfg->rtx_pt && cfg->rtx_ssrc;
    int len = make_template(cfg, cfg->pt, cfg->ssrc, s->hdr);
    int rlen = make_template(cfg, cfg->rtx_pt, cfg->rtx_ssrc, s->rtx_hdr);
    if (len < 0 || rlen != len) {
        free(s);
        *err = CS_EINVAL;
        return NULL;
    }
    s->hdr_len = (size_t)len;
    bool video = cfg->kind == LT_VIDEO;
    s->rate = video ? (uint32_t)m->cfg.fps : 1000000 / LT_OPUS_FRAME_US;
    s->clock = video ? LT_VIDEO_CLOCK : LT_AUDIO_CLOCK;
    s->loop_len = video ? m->n_vframes : m->n_aframes;
    s->start_offset_ms = cfg->start_offset_ms;
    random_start(s);
    *err = CS_OK;
    return s;
}

void lt_sender_free(lt_sender_t *s)
{
    free(s);
}

/* ---- packets ------------------------------------------------------------------------------ */

static int64_t due_of(const lt_sender_t *s, uint64_t n)
{
    return s->start_us + (int64_t)(n * 1000000 / s->rate);
}

static uint32_t ts_of(const lt_sender_t *s, uint64_t n)
{
    return s->ts_base + (uint32_t)(n * s->clock / s->rate);
}

static void write_header(uint8_t *out, const uint8_t *tmpl, size_t len, uint16_t seq, uint32_t ts,
                         bool marker)
{
    memcpy(out, tmpl, len);
    out[1] = (uint8_t)((tmpl[1] & 0x7f) | (marker ? 0x80 : 0));
    cs_wr16(out + 2, seq);
    cs_wr32(out + 4, ts);
}

/* Writes the payload of log reference (ref, frame) at out; returns its length
 * and whether it ends a frame. */
static size_t write_payload(const lt_sender_t *s, uint32_t ref, uint32_t frame, uint8_t *out,
                            bool *marker)
{
    if (s->kind == LT_AUDIO) {
        const lt_chunk_t *a = &s->m->aframes[ref];
        memcpy(out, s->m->adata + a->off, a->len);
        *marker = false;
        return a->len;
    }
    const lt_chunk_t *c = &s->m->chunks[ref];
    uint16_t pid = (uint16_t)((s->pid_base + frame) & 0x7fff);
    out[0] = (uint8_t)(0x80 | (c->first ? 0x10 : 0));   /* X, S on a frame's first packet, PID 0 */
    out[1] = 0x80;                                       /* I */
    out[2] = (uint8_t)(0x80 | pid >> 8);                 /* M: 15-bit PictureID */
    out[3] = (uint8_t)pid;
    memcpy(out + LT_VP8_DESC_LEN, s->m->vdata + c->off, c->len);
    *marker = c->last;
    return LT_VP8_DESC_LEN + (size_t)c->len;
}

/* Sends one packet of frame n and logs it; 1 when the callback took it. */
static int send_packet(lt_sender_t *s, uint32_t ref, uint64_t n, int64_t now_us, lt_emit_fn emit,
                       void *user)
{
    bool marker;
    size_t plen = write_payload(s, ref, (uint32_t)n, s->buf + s->hdr_len, &marker);
    uint16_t seq = s->seq++;
    write_header(s->buf, s->hdr, s->hdr_len, seq, ts_of(s, n), marker);
    size_t len = s->hdr_len + plen;
    log_entry_t *e = &s->log[seq & LOG_MASK];
    /* Hashed before the callback: it may encrypt the buffer in place. */
    *e = (log_entry_t){.hash = lt_payload_hash(s->buf + s->hdr_len, plen), .ref = ref,
                       .frame = (uint32_t)n, .seq = seq, .used = true, .sent_us = -1};
    if (emit(user, s->buf, len, sizeof s->buf) != 0) {
        s->st.send_failures++;
        return 0;
    }
    e->sent_us = now_us;
    s->st.packets++;
    s->st.bytes += len;
    s->st.last_send_us = now_us;
    return 1;
}

/* Sends frame s->n (every packet of it) from loop position s->pos. */
static int send_frame(lt_sender_t *s, int64_t now_us, lt_emit_fn emit, void *user)
{
    int sent = 0;
    if (s->kind == LT_AUDIO) {
        sent = send_packet(s, (uint32_t)s->pos, s->n, now_us, emit, user);
    } else {
        if (s->want_key) {
            s->pos = s->m->nearest_key[s->pos];
            s->want_key = false;
        }
        const lt_vframe_t *f = &s->m->vframes[s->pos];
        for (uint32_t k = 0; k < f->n_chunks; k++)
            sent += send_packet(s, f->first_chunk + k, s->n, now_us, emit, user);
        s->st.keyframes += f->key;
    }
    s->st.frames++;
    s->st.last_rtp_ts = ts_of(s, s->n);
    s->n++;
    s->pos = (s->pos + 1) % s->loop_len;
    return sent;
}

/* ---- timing --------------------------------------------------------------------------------- */

void lt_sender_start(lt_sender_t *s, int64_t now_us)
{
    s->start_us = now_us;
    s->n = 0;
    s->started = true;
    uint64_t offset_frames = (uint64_t)s->start_offset_ms * s->rate / 1000;
    s->pos = (size_t)(offset_frames % s->loop_len);
    s->want_key = s->kind == LT_VIDEO;   /* a stream starts with a keyframe */
}

/* Far behind: frames that should have gone out long ago are skipped (time
 * and timestamps move on, the loop too); video resumes at a keyframe so the
 * stream stays decodable. */
static void skip_ahead(lt_sender_t *s, int64_t now_us)
{
    uint64_t target = (uint64_t)(now_us - s->start_us) * s->rate / 1000000;
    if (target <= s->n)
        return;
    uint64_t skipped = target - s->n;
    s->st.skipped_frames += skipped;
    s->pos = (size_t)((s->pos + skipped) % s->loop_len);
    s->n = target;
    if (s->kind == LT_VIDEO)
        s->want_key = true;
}

int lt_sender_poll(lt_sender_t *s, int64_t now_us, lt_emit_fn emit, void *user)
{
    if (!s->started || now_us < due_of(s, s->n))
        return 0;
    if (now_us - due_of(s, s->n) > MAX_BEHIND_US)
        skip_ahead(s, now_us);
    int sent = 0;
    while (due_of(s, s->n) <= now_us)
        sent += send_frame(s, now_us, emit, user);
    return sent;
}

int64_t lt_sender_next_due(const lt_sender_t *s)
{
    return s->started ? due_of(s, s->n) : INT64_MAX;
}

void lt_sender_request_keyframe(lt_sender_t *s)
{
    if (s->kind != LT_VIDEO)
        return;
    s->want_key = true;
    s->st.keyframe_requests++;
}

/* ---- retransmission ----------------------------------------------------------------------- */

int lt_sender_retransmit(lt_sender_t *s, uint16_t seq, int64_t now_us, lt_emit_fn emit, void *user)
{
    log_entry_t *e = &s->log[seq & LOG_MASK];
    if (!e->used || e->seq != seq) {
        s->st.nack_misses++;
        return CS_ENOTFOUND;
    }
    bool marker;
    size_t off = s->hdr_len + (s->rtx ? 2 : 0);
    size_t plen = write_payload(s, e->ref, e->frame, s->buf + off, &marker);
    if (s->rtx) {
        /* RFC 4588 §4: the RTX stream's own sequence number, the OSN first. */
        write_header(s->buf, s->rtx_hdr, s->hdr_len, s->rtx_seq++, ts_of(s, e->frame), marker);
        cs_wr16(s->buf + s->hdr_len, seq);
    } else {
        write_header(s->buf, s->hdr, s->hdr_len, seq, ts_of(s, e->frame), marker);
    }
    if (emit(user, s->buf, off + plen, sizeof s->buf) != 0) {
        s->st.send_failures++;
        return CS_EAGAIN;
    }
    if (e->sent_us < 0)
        e->sent_us = now_us;          /* its first copy never left */
    s->st.retransmitted++;
    s->st.last_send_us = now_us;
    return CS_OK;
}

/* ---- the send log ---------------------------------------------------------------------------- */

int lt_sender_find(const lt_sender_t *s, uint64_t hash, uint16_t *seq, int64_t *sent_us)
{
    const log_entry_t *best = NULL;
    for (size_t i = 0; i < LT_SENDLOG_SIZE; i++) {
        const log_entry_t *e = &s->log[i];
        if (e->used && e->hash == hash && e->sent_us >= 0 && (!best || e->sent_us > best->sent_us))
            best = e;
    }
    if (!best)
        return CS_ENOTFOUND;
    *seq = best->seq;
    *sent_us = best->sent_us;
    return CS_OK;
}

int lt_sender_sent_at(const lt_sender_t *s, uint16_t seq, uint64_t hash, int64_t *sent_us)
{
    const log_entry_t *e = &s->log[seq & LOG_MASK];
    if (!e->used || e->seq != seq || e->hash != hash || e->sent_us < 0)
        return CS_ENOTFOUND;
    *sent_us = e->sent_us;
    return CS_OK;
}

/* ---- figures --------------------------------------------------------------------------------- */

void lt_sender_stats(const lt_sender_t *s, lt_sender_stats_t *out)
{
    *out = s->st;
}

uint32_t lt_sender_ssrc(const lt_sender_t *s)
{
    return s->ssrc;
}

lt_kind_t lt_sender_kind(const lt_sender_t *s)
{
    return s->kind;
}
