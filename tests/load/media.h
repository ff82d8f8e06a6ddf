/*
 * media.h — what a synthetic peer sends and how it judges what it receives,
 * without any I/O: the media encoded once per process (a tone with a little
 * noise in Opus, a moving pattern in VP8), a sender per outgoing stream that
 * loops it as RTP at the real frame rate with correct sequence numbers and
 * timestamps (retransmitting on NACK, restarting from a keyframe on PLI), a
 * send log that lets a receiver in the same process find when a packet was
 * sent, and a receiver per incoming stream that counts loss, jitter and
 * forwarding latency, says which sequence numbers to NACK, fills RTCP
 * receiver-report blocks and can decode a sample to check integrity.
 *
 * Threads: none of its own. A lt_media_t is immutable after lt_media_new and
 * may be shared by every thread; a sender or receiver belongs to the thread
 * that drives it. Times are CLOCK_MONOTONIC microseconds (cs_mono_us()).
 */
#ifndef CS_LOAD_MEDIA_H
#define CS_LOAD_MEDIA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/rtcp/rtcp.h"

#define LT_RTP_MAX 1500          /* a plaintext RTP packet, at most */
#define LT_RTP_PAYLOAD_MAX 1100  /* VP8 payload per packet, descriptor included */
#define LT_SENDLOG_SIZE 4096     /* packets a sender remembers (power of two) */
#define LT_NACK_MAX 64           /* sequence numbers one lt_receiver_nacks call yields */

typedef enum { LT_AUDIO = 0, LT_VIDEO = 1 } lt_kind_t;

/* ---- the encoded media, once per process -------------------------------------------------- */

typedef struct {
    int width, height;           /* default 640 x 360 */
    int fps;                     /* default 30 */
    int video_kbps;              /* default 600 */
    int audio_kbps;              /* default 32 (Opus, 20 ms frames, mono 48 kHz) */
    int loop_seconds;            /* default 10: length of the encoded loop */
    int keyframe_seconds;        /* default 3: keyframe interval inside the loop (0: only the first) */
} lt_media_config_t;

typedef struct lt_media lt_media_t;

/* Fills the defaults above into every field that is 0. */
void lt_media_config_defaults(lt_media_config_t *cfg);
/* Encodes the loop with libvpx and libopus (a few seconds of CPU at start).
 * NULL with *err = CS_EINVAL (a bad size/rate) / CS_ENOMEM / CS_EIO (codec). */
lt_media_t *lt_media_new(const lt_media_config_t *cfg, int *err);
void lt_media_free(lt_media_t *m);

typedef struct {
    size_t video_frames, audio_frames, keyframes;
    uint64_t video_bytes, audio_bytes;   /* encoded, per loop */
    double video_kbps, audio_kbps;       /* as encoded */
} lt_media_info_t;
void lt_media_info(const lt_media_t *m, lt_media_info_t *out);

/* ---- senders -------------------------------------------------------------------------------- */

typedef struct {
    lt_kind_t kind;
    uint32_t ssrc;
    uint8_t pt;                  /* negotiated payload type */
    uint32_t rtx_ssrc;           /* 0: retransmit on ssrc itself */
    uint8_t rtx_pt;              /* 0: no RTX (RFC 4588) */
    uint8_t mid_ext_id;          /* 0: no MID header extension */
    const char *mid;             /* copied; the value of the MID extension */
    uint32_t start_offset_ms;    /* where in the loop to start (spreads senders apart) */
} lt_sender_config_t;

typedef struct lt_sender lt_sender_t;

/* Receives every packet a sender produces: buf holds len plaintext bytes
 * and has cap >= len + 64 bytes (room for the SRTP trailer); the callee may
 * protect it in place. Returns 0 when sent (it is then logged as sent at the
 * time the sender passes), anything else when dropped. */
typedef int (*lt_emit_fn)(void *user, uint8_t *buf, size_t len, size_t cap);

/* NULL with *err = CS_EINVAL / CS_ENOMEM. m is borrowed and must outlive it. */
lt_sender_t *lt_sender_new(const lt_media_t *m, const lt_sender_config_t *cfg, int *err);
void lt_sender_free(lt_sender_t *s);

/* Starts the clock: the first frame is due at now_us. */
void lt_sender_start(lt_sender_t *s, int64_t now_us);
/* Emits every packet due by now_us (all packets of each due frame, in order,
 * stamped with the loop's timestamps continued without a jump at the loop's
 * end). Returns packets emitted. When far behind (more than 1 s) it skips
 * ahead instead of bursting. */
int lt_sender_poll(lt_sender_t *s, int64_t now_us, lt_emit_fn emit, void *user);
/* When the next frame is due (for the caller's timer). */
int64_t lt_sender_next_due(const lt_sender_t *s);
/* Resends seq from the history (as RTX when configured); CS_ENOTFOUND when it
 * is no longer there, CS_EAGAIN when emit refused it. */
int lt_sender_retransmit(lt_sender_t *s, uint16_t seq, int64_t now_us, lt_emit_fn emit, void *user);
/* The next video frame sent is a keyframe (the loop restarts at its nearest
 * keyframe; timestamps keep increasing). No effect on audio. */
void lt_sender_request_keyframe(lt_sender_t *s);

typedef struct {
    uint64_t packets, bytes, frames, keyframes;
    uint64_t retransmitted, nack_misses, keyframe_requests;
    uint32_t last_rtp_ts;        /* for the sender report */
    int64_t last_send_us;
    uint64_t skipped_frames;     /* not sent because the caller stalled for more than 1 s */
    uint64_t send_failures;      /* packets the emit callback refused */
} lt_sender_stats_t;
void lt_sender_stats(const lt_sender_t *s, lt_sender_stats_t *out);
uint32_t lt_sender_ssrc(const lt_sender_t *s);
lt_kind_t lt_sender_kind(const lt_sender_t *s);

/*
 * The send log: the last LT_SENDLOG_SIZE packets of this sender with their
 * sequence number, send time and a 64-bit hash of their payload (bytes after
 * the RTP header, which SFUs forward unchanged; the hash covers the length and
 * the first 64 bytes at most: cheap, and distinctive within a send log, since
 * VP8 payloads start with the sender's PictureID and Opus packets differ
 * within the loop). lt_sender_find looks a
 * forwarded packet up by the payload hash: returns 0 and fills *seq and
 * *sent_us with the most recent match, CS_ENOTFOUND when none.
 * lt_sender_sent_at checks one sequence number against a hash.
 */
uint64_t lt_payload_hash(const uint8_t *payload, size_t len);
int lt_sender_find(const lt_sender_t *s, uint64_t hash, uint16_t *seq, int64_t *sent_us);
int lt_sender_sent_at(const lt_sender_t *s, uint16_t seq, uint64_t hash, int64_t *sent_us);

/* ---- latency histogram ---------------------------------------------------------------------- */

/* Log-linear buckets: exact to 1 µs below 64 µs, then 1/32 of a power of two
 * (~3 %), up to 60 s. Fixed size, no allocation; add and merge are O(1)/O(n). */
#define LT_HIST_BUCKETS 1024
typedef struct {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint32_t b[LT_HIST_BUCKETS];
} lt_hist_t;
void lt_hist_add(lt_hist_t *h, uint64_t us);
void lt_hist_merge(lt_hist_t *into, const lt_hist_t *from);
/* The value at quantile q (0..1): the upper edge of its bucket; 0 when empty. */
uint64_t lt_hist_quantile(const lt_hist_t *h, double q);

/* ---- receivers -------------------------------------------------------------------------------- */

typedef struct lt_receiver lt_receiver_t;

/* The senders a receiver may be getting packets from (the other peers of
 * its consult): it tells which one by the payload hash of the first packets
 * and then follows that sender by sequence offset. Borrowed; the list may
 * change between calls (lt_receiver_set_sources). */
typedef struct {
    const lt_sender_t *const *senders;
    size_t n;
} lt_sources_t;

/* decode: also depacketise and decode with libvpx / libopus, counting
 * frames that decode and those that fail (integrity of a sample). */
lt_receiver_t *lt_receiver_new(lt_kind_t kind, uint32_t ssrc, bool decode, int *err);
void lt_receiver_free(lt_receiver_t *r);
void lt_receiver_set_sources(lt_receiver_t *r, lt_sources_t sources);

/* One plaintext RTP packet of this stream (RTX already unwrapped by the
 * caller: seq is the original's). Returns 0, or CS_EINVAL when not RTP. */
int lt_receiver_on_rtp(lt_receiver_t *r, const uint8_t *buf, size_t len, int64_t now_us);

/* Sequence numbers to NACK now (missing for more than a few ms, each asked
 * at most 3 times, at most once per RTT estimate); returns how many (≤ cap). */
size_t lt_receiver_nacks(lt_receiver_t *r, int64_t now_us, uint16_t *seqs, size_t cap);
/* True once when the video receiver wants a keyframe (no keyframe yet after
 * 1 s, or a decode error); the caller sends a PLI. */
bool lt_receiver_wants_keyframe(lt_receiver_t *r, int64_t now_us);
/* An RTCP report block for this stream (RFC 3550 interval loss, jitter);
 * lsr/dlsr from the last sender report seen (lt_receiver_on_sr). */
void lt_receiver_report_block(lt_receiver_t *r, int64_t now_us, cs_rtcp_report_block_t *out);
void lt_receiver_on_sr(lt_receiver_t *r, const cs_rtcp_sr_t *sr, int64_t now_us);
/* The round-trip time to the server as the peer measures it (from the report
 * blocks about its own senders): NACKs for one sequence number are spaced by
 * max(20 ms, rtt). Unknown until called. */
void lt_receiver_set_rtt(lt_receiver_t *r, int64_t rtt_us);

typedef struct {
    lt_kind_t kind;
    uint32_t ssrc;
    uint64_t received;           /* distinct packets */
    uint64_t expected;           /* from the extended highest sequence number */
    uint64_t lost;               /* expected - received at the end (after NACK recovery) */
    uint64_t duplicates;
    uint64_t recovered;          /* arrived after being NACKed */
    uint64_t late_matched;       /* packets whose send time was found */
    double jitter_ms;            /* RFC 3550 interarrival jitter */
    lt_hist_t latency;           /* send → arrival, of matched packets */
    uint64_t frames_decoded, decode_errors; /* when decode */
    int64_t first_us, last_us;   /* arrival of the first and last packet */
} lt_receiver_stats_t;
void lt_receiver_stats(const lt_receiver_t *r, lt_receiver_stats_t *out);
/* Starts a new measurement window (counts and histogram from zero; the
 * sequence state and the matched sender stay). */
void lt_receiver_reset_window(lt_receiver_t *r);

#endif
