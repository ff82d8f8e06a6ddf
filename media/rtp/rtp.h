/*
 * rtp.h — RTP packets (RFC 3550) as the router sees them: parse, rewrite in
 * place, serialise, and the bits of payload and extension formats a selective
 * forwarding unit needs to decide what to forward and what to ask for.
 *
 * Pure: no I/O, no allocation, no logging, no global state. Every function that
 * reads a buffer is given its length and never reads past it; every function
 * that writes is given a capacity and never writes past it.
 *
 * Ownership: a parsed cs_rtp_packet_t (and every cs_rtp_ext_t it yields)
 * points into the caller's buffer. It stays valid while that buffer is alive
 * and unchanged in size; in-place setters below keep it valid (they only
 * change bytes, never the layout).
 *
 * Topics, and the file that implements each:
 *   rtp.c        parse, header accessors/setters, serialise, RTP/RTCP demux
 *   rtp_ext.c    RFC 8285 header extensions: iterate, find, rewrite in place,
 *                and the payloads of abs-send-time, transport-wide-cc,
 *                audio level, mid, rid and repaired-rid
 *   rtp_seq.c    sequence arithmetic, the extended-sequence tracker
 *                (RFC 3550 A.1) and the interarrival jitter (§6.4.1, A.8)
 *   rtp_codec.c  VP8 (RFC 7741) and H.264 (RFC 6184) keyframe detection,
 *                RTX (RFC 4588) wrap and unwrap
 */
#ifndef CS_RTP_H
#define CS_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CS_RTP_HEADER_MIN 12   /* fixed header, no CSRC, no extension */
#define CS_RTP_MAX_CSRC 15     /* CC is four bits */
#define CS_RTP_VERSION 2

/* Header extension profiles (the 16 bits before the extension length). */
#define CS_RTP_EXT_PROFILE_ONE_BYTE 0xBEDE     /* RFC 8285 §4.2 */
#define CS_RTP_EXT_PROFILE_TWO_BYTE 0x1000     /* RFC 8285 §4.3, low 4 bits = appbits */
#define CS_RTP_EXT_PROFILE_TWO_BYTE_MASK 0xFFF0

/* ---- packets -------------------------------------------------------------- */

/* The fields a sender chooses; what cs_rtp_serialise writes and cs_rtp_parse reads. */
typedef struct {
    bool marker;
    uint8_t payload_type;               /* 0..127 */
    uint16_t seq;
    uint32_t timestamp;
    uint32_t ssrc;
    uint8_t csrc_count;                 /* 0..15 */
    uint32_t csrc[CS_RTP_MAX_CSRC];
    uint8_t padding_len;                /* bytes of padding incl. the count byte; 0 = P bit clear */
} cs_rtp_header_t;

/* A parsed packet; every pointer points into the buffer given to cs_rtp_parse. */
typedef struct {
    cs_rtp_header_t hdr;
    bool has_ext;                       /* X bit */
    uint16_t ext_profile;               /* when has_ext: 0xBEDE, 0x100x or another profile */
    const uint8_t *ext;                 /* the extension's body, after its 4-byte header */
    size_t ext_len;                     /* bytes (a multiple of 4, may be 0) */
    const uint8_t *payload;
    size_t payload_len;                 /* may be 0 (padding-only probes) */
    size_t header_len;                  /* bytes before the payload */
} cs_rtp_packet_t;

/*
 * Parses one RTP packet. Checks, in this order: at least 12 bytes; version 2;
 * the CSRC list fits; the extension header and body fit; when the extension is
 * RFC 8285 (one- or two-byte form) every element fits in the body; a padding
 * count of at least 1 that fits in what follows the header. Returns CS_OK or
 * CS_EINVAL (malformed; *out is then unspecified). Extensions of any other
 * profile are accepted and exposed as raw bytes only.
 */
int cs_rtp_parse(const uint8_t *buf, size_t len, cs_rtp_packet_t *out);

/* One header extension element; data points into a packet or the caller's memory. */
typedef struct {
    uint8_t id;                         /* 1..14 one-byte form, 1..255 two-byte form */
    uint8_t len;                        /* bytes of data */
    const uint8_t *data;
} cs_rtp_ext_t;

/*
 * Writes a packet: header, CSRCs, the extension elements (one-byte form when
 * every element has id 1..14 and 1..16 bytes, otherwise the two-byte form with
 * appbits 0; zero padding to a 32-bit boundary), the payload, and padding_len
 * bytes of padding (zeros, the count last). n_ext == 0 writes no extension.
 * Returns the bytes written, CS_ETOOBIG when cap is too small (nothing
 * useful written), or CS_EINVAL (csrc_count > 15, payload_type > 127, an
 * element with id 0 or a NULL data pointer with len > 0). out must not
 * overlap the inputs.
 */
int cs_rtp_serialise(const cs_rtp_header_t *h, const cs_rtp_ext_t *ext, size_t n_ext,
                     const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap);

/*
 * RFC 5761 §4 demultiplexing on a shared port: true when the second byte is an
 * RTCP packet type (192..223), i.e. the packet is RTCP, not RTP.
 */
bool cs_rtp_is_rtcp(const uint8_t *buf, size_t len);

/*
 * In-place accessors for a router that forwards without re-parsing. Each
 * checks len >= 12 and version 2 and returns CS_OK or CS_EINVAL; setters
 * change only their field (the marker setter keeps the payload type and vice
 * versa).
 */
int cs_rtp_get_seq(const uint8_t *buf, size_t len, uint16_t *seq);
int cs_rtp_get_timestamp(const uint8_t *buf, size_t len, uint32_t *ts);
int cs_rtp_get_ssrc(const uint8_t *buf, size_t len, uint32_t *ssrc);
int cs_rtp_get_marker(const uint8_t *buf, size_t len, bool *marker);
int cs_rtp_get_payload_type(const uint8_t *buf, size_t len, uint8_t *pt);
int cs_rtp_set_seq(uint8_t *buf, size_t len, uint16_t seq);
int cs_rtp_set_timestamp(uint8_t *buf, size_t len, uint32_t ts);
int cs_rtp_set_ssrc(uint8_t *buf, size_t len, uint32_t ssrc);
int cs_rtp_set_marker(uint8_t *buf, size_t len, bool marker);
int cs_rtp_set_payload_type(uint8_t *buf, size_t len, uint8_t pt); /* pt <= 127 */

/* ---- header extensions (RFC 8285) ------------------------------------------ */

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    uint8_t form;                       /* 0 none/unknown profile, 1 one-byte, 2 two-byte */
    bool failed;
} cs_rtp_ext_iter_t;

/* Starts iterating the packet's RFC 8285 elements (none for other profiles). */
void cs_rtp_ext_begin(const cs_rtp_packet_t *pkt, cs_rtp_ext_iter_t *it);
/*
 * Yields the next element: returns 1 and fills *out, 0 at the end, CS_EINVAL
 * when an element runs past the extension body (and on every later call).
 * Padding bytes (0x00) are skipped; in the one-byte form id 15, or id 0 with a
 * non-zero length, ends the list (RFC 8285 §4.2, as libwebrtc reads it).
 * After a successful cs_rtp_parse it never fails.
 */
int cs_rtp_ext_next(cs_rtp_ext_iter_t *it, cs_rtp_ext_t *out);
/* The first element with this id: CS_OK, or CS_ENOTFOUND. */
int cs_rtp_ext_find(const cs_rtp_packet_t *pkt, uint8_t id, cs_rtp_ext_t *out);
/*
 * Rewrites, in buf, the value of the element with this id; val_len must equal
 * the element's length (the layout never changes). CS_OK, CS_ENOTFOUND,
 * or CS_EINVAL (malformed packet, different length).
 */
int cs_rtp_ext_set(uint8_t *buf, size_t len, uint8_t id, const uint8_t *val, size_t val_len);

/* abs-send-time: 24-bit 6.18 fixed-point seconds (wraps every 64 s). */
int cs_rtp_ext_abs_send_time(const cs_rtp_ext_t *e, uint32_t *v24);
uint32_t cs_rtp_abs_send_time_from_us(uint64_t us);  /* rounded, mod 64 s */
uint64_t cs_rtp_abs_send_time_to_us(uint32_t v24);   /* 0 .. 64 s, rounded */
void cs_rtp_abs_send_time_encode(uint32_t v24, uint8_t out[3]);
/* transport-wide-cc: a 16-bit sequence number (2 bytes; the 4-byte v2 form's
 * first two bytes are the same). */
int cs_rtp_ext_twcc_seq(const cs_rtp_ext_t *e, uint16_t *seq);
void cs_rtp_twcc_seq_encode(uint16_t seq, uint8_t out[2]);
/* RFC 6464 client-to-mixer audio level: voice activity flag and -dBov 0..127. */
int cs_rtp_ext_audio_level(const cs_rtp_ext_t *e, bool *voice, uint8_t *level);
/*
 * mid (RFC 8843), rid and repaired-rid (RFC 8852) are short strings of
 * RFC 8851 token characters (letters, digits, '-', '_' for rid; any visible
 * ASCII is accepted for mid). Copies a NUL-terminated string into out.
 * Trailing NUL bytes in the element are ignored. CS_OK, CS_EINVAL (empty or a
 * byte outside visible ASCII), CS_ETOOBIG (does not fit in cap with its NUL).
 */
#define CS_RTP_MID_MAX 256             /* enough for any two-byte element + NUL */
int cs_rtp_ext_string(const cs_rtp_ext_t *e, char *out, size_t cap);

/* ---- sequence numbers, loss and jitter (rtp_seq.c) ------------------------- */

/*
 * Signed distance a - b on the 16-bit circle, in -32768..32767. a is newer
 * than b when the distance is positive; numbers exactly 32768 apart are
 * neither newer than the other.
 */
int32_t cs_rtp_seq_diff(uint16_t a, uint16_t b);
bool cs_rtp_seq_newer(uint16_t a, uint16_t b);

/* RFC 3550 Appendix A.1 constants. */
#define CS_RTP_MAX_DROPOUT 3000
#define CS_RTP_MAX_MISORDER 100
#define CS_RTP_MIN_SEQUENTIAL 2

typedef enum {
    CS_RTP_SEQ_PROBATION,  /* a new source not yet confirmed: not counted */
    CS_RTP_SEQ_NEW,        /* the highest so far (maybe after a permissible gap) */
    CS_RTP_SEQ_OLD,        /* duplicate or reordered: counted, not the highest */
    CS_RTP_SEQ_BAD,        /* a very large jump, not counted; one more in line resets */
    CS_RTP_SEQ_RESET,      /* the source restarted at this number (counted) */
} cs_rtp_seq_result_t;

/*
 * Per-source reception state, RFC 3550 A.1 with the 16-bit wrap fixed
 * (65535 → 0 is in order) and cycles kept in 64 bits. The fields are public so
 * report builders (cs_rtcp_report_from_seq) can read them; change them only
 * through these functions.
 */
typedef struct {
    uint16_t max_seq;       /* highest sequence number seen */
    uint64_t cycles;        /* wrap count << 16 */
    uint32_t base_seq;
    uint32_t bad_seq;       /* the number that would confirm a jump (65536 = none) */
    uint32_t probation;     /* in-order packets still needed to confirm the source */
    uint64_t received;      /* packets counted */
    uint64_t expected_prior, received_prior;  /* at the previous report */
    bool started;
} cs_rtp_seqtrack_t;

void cs_rtp_seqtrack_init(cs_rtp_seqtrack_t *t);
/*
 * Accounts for one arriving packet. *ext (may be NULL) receives its extended
 * sequence number (cycles + seq, reordered packets placed in the cycle they
 * belong to) for NEW, OLD and RESET; -1 for PROBATION and BAD. An OLD packet
 * reordered across the very start of a stream can get a negative number.
 */
cs_rtp_seq_result_t cs_rtp_seqtrack_update(cs_rtp_seqtrack_t *t, uint16_t seq, int64_t *ext);
/* cycles + max_seq: the "extended highest sequence number received". */
uint64_t cs_rtp_seqtrack_ext_max(const cs_rtp_seqtrack_t *t);
/* Packets expected since the base (RFC 3550 A.3); 0 before confirmation. */
uint64_t cs_rtp_seqtrack_expected(const cs_rtp_seqtrack_t *t);

/*
 * Interarrival jitter (RFC 3550 §6.4.1, the integer form of A.8): J is kept
 * multiplied by 16 and updated J += |D| - J/16 per packet. Feed it packets in
 * arrival order, not retransmissions (their send time is not the timestamp's).
 */
typedef struct {
    uint32_t transit;       /* previous arrival - timestamp, in timestamp units */
    uint32_t jitter_q4;     /* jitter * 16 */
    bool started;
} cs_rtp_jitter_t;

void cs_rtp_jitter_init(cs_rtp_jitter_t *j);
/* arrival in the same units as the RTP timestamp (see cs_rtp_time_to_ts). */
void cs_rtp_jitter_update(cs_rtp_jitter_t *j, uint32_t rtp_ts, uint32_t arrival_ts);
/* The jitter in timestamp units, as an RTCP report block carries it. */
uint32_t cs_rtp_jitter_get(const cs_rtp_jitter_t *j);
/* A clock in microseconds as RTP timestamp units of clock_rate Hz (mod 2^32). */
uint32_t cs_rtp_time_to_ts(uint64_t us, uint32_t clock_rate);

/* ---- payload formats (rtp_codec.c) ------------------------------------------ */

/* RFC 7741 §4.2 VP8 payload descriptor, and what the VP8 payload header says. */
typedef struct {
    bool non_reference;     /* N */
    bool start;             /* S: first packet of a partition */
    uint8_t partition_id;   /* PID, 0..7 */
    bool has_picture_id;    /* I */
    bool picture_id_15bit;  /* M */
    uint16_t picture_id;    /* 7 or 15 bits */
    bool has_tl0picidx;     /* L */
    uint8_t tl0picidx;
    bool has_tid;           /* T */
    uint8_t tid;            /* 0..3 */
    bool layer_sync;        /* Y */
    bool has_keyidx;        /* K */
    uint8_t keyidx;         /* 0..31 */
    size_t descriptor_len;  /* where the VP8 payload starts */
    bool keyframe;          /* S=1, PID=0 and the payload header's P bit is 0 */
    uint16_t width, height; /* from a keyframe's header when present, else 0 */
} cs_rtp_vp8_t;

/* CS_OK, or CS_EINVAL when the descriptor is cut short or nothing follows it. */
int cs_rtp_vp8_parse(const uint8_t *payload, size_t len, cs_rtp_vp8_t *out);

/* RFC 6184 packetization-mode 0/1 payloads: single NAL unit, STAP-A, FU-A. */
typedef struct {
    uint8_t nal_type;       /* the payload's own type: 1..23, 24 STAP-A, 28 FU-A */
    uint8_t nal_count;      /* NAL units started in this packet (STAP-A: all of them) */
    bool fu_start, fu_end;  /* FU-A: S and E bits */
    bool has_idr;           /* a NAL unit of type 5 starts here */
    bool has_sps, has_pps;  /* type 7 / type 8 */
    bool keyframe;          /* has_idr || has_sps || has_pps: a key frame starts */
} cs_rtp_h264_t;

/*
 * CS_OK; CS_EINVAL (empty, type 0, STAP-A with a NAL unit size of 0 or past the
 * end, FU-A shorter than 2 bytes or with S and E both set); CS_EUNSUPPORTED
 * for STAP-B, MTAP, FU-B and the reserved types 30, 31 (not used by WebRTC).
 */
int cs_rtp_h264_parse(const uint8_t *payload, size_t len, cs_rtp_h264_t *out);

/*
 * RTX (RFC 4588 §4): the retransmission carries the original sequence number
 * (OSN) in its first two payload bytes, then the original payload.
 *
 * cs_rtp_rtx_osn reads the OSN of a parsed RTX packet: CS_OK, or CS_EINVAL
 * when the payload is shorter than 2 bytes (padding-only bandwidth probes on
 * the RTX stream have payload_len 0: check that first).
 *
 * cs_rtp_rtx_wrap copies the original packet's header (CSRCs and extensions
 * included) into out with the RTX payload type, SSRC and sequence number,
 * inserts the OSN and the original payload, and drops padding.
 * cs_rtp_rtx_unwrap does the reverse: the original payload type and SSRC, the
 * OSN as sequence number. Both return the bytes written, CS_EINVAL (input not
 * a valid RTP packet, RTX payload < 2 bytes, pt > 127) or CS_ETOOBIG. out may
 * be the input buffer itself (in place, wrap needs cap >= len + 2); any other
 * overlap is not allowed.
 */
int cs_rtp_rtx_osn(const cs_rtp_packet_t *rtx, uint16_t *osn);
int cs_rtp_rtx_wrap(const uint8_t *orig, size_t orig_len, uint8_t rtx_pt, uint32_t rtx_ssrc,
                    uint16_t rtx_seq, uint8_t *out, size_t cap);
int cs_rtp_rtx_unwrap(const uint8_t *rtx, size_t rtx_len, uint8_t orig_pt, uint32_t orig_ssrc,
                      uint8_t *out, size_t cap);

#endif
