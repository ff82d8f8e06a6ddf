/*
 * rtcp.h — RTCP (RFC 3550 §6, RFC 4585, RFC 5104) as a WebRTC router speaks
 * it: walk a compound packet, parse the reports and feedback browsers send,
 * and build the reports and feedback a router sends back.
 *
 * Pure: no I/O, no allocation, no logging. Every parser is given the packet's
 * bounds and never reads past them; every builder is given a capacity and
 * never writes past it. Parsed structures may point into the caller's buffer
 * (SDES CNAMEs, BYE reasons, APP data, the raw bytes of a packet): such
 * pointers are valid while that buffer is.
 *
 * Topics, and the file that implements each:
 *   rtcp.c        compound iteration, the builder, SR, RR, SDES, BYE, APP
 *   rtcp_fb.c     RTPFB generic NACK; PSFB PLI, FIR, REMB
 *   rtcp_twcc.c   RTPFB transport-wide congestion control feedback
 *                 (draft-holmer-rmcat-transport-wide-cc-extensions-01)
 *   rtcp_stats.c  NTP time, round-trip time from LSR/DLSR, fraction and
 *                 cumulative lost, report blocks from an RTP seq tracker
 */
#ifndef CS_RTCP_H
#define CS_RTCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../rtp/rtp.h"

/* Packet types (RFC 3550 §12.1, RFC 4585 §6.1). */
enum {
    CS_RTCP_SR = 200,
    CS_RTCP_RR = 201,
    CS_RTCP_SDES = 202,
    CS_RTCP_BYE = 203,
    CS_RTCP_APP = 204,
    CS_RTCP_RTPFB = 205,
    CS_RTCP_PSFB = 206,
};

/* Feedback message types (the FMT field). */
enum {
    CS_RTCP_FMT_NACK = 1,   /* RTPFB, RFC 4585 §6.2.1 */
    CS_RTCP_FMT_TWCC = 15,  /* RTPFB, draft-holmer-...-01 §3.1 */
    CS_RTCP_FMT_PLI = 1,    /* PSFB, RFC 4585 §6.3.1 */
    CS_RTCP_FMT_FIR = 4,    /* PSFB, RFC 5104 §4.3.1 */
    CS_RTCP_FMT_AFB = 15,   /* PSFB application layer feedback: REMB */
};

#define CS_RTCP_HEADER_LEN 4
#define CS_RTCP_MAX_COUNT 31       /* RC, SC and FMT are five bits */
#define CS_RTCP_SDES_CNAME 1
#define CS_RTCP_FIR_MAX 32         /* FIR entries kept from one packet */
#define CS_RTCP_REMB_MAX_SSRCS 32  /* SSRCs kept from one REMB */

/* ---- compound packets --------------------------------------------------------- */

/* One packet of a compound, as the iterator yields it. */
typedef struct {
    uint8_t count;          /* the 5-bit field: RC, SC, FMT or APP subtype */
    uint8_t type;           /* PT, 200..206 and others */
    bool padding;           /* the P bit was set (and its padding removed) */
    const uint8_t *raw;     /* the whole packet, header and padding included */
    size_t raw_len;         /* (length + 1) * 4 */
    const uint8_t *body;    /* after the 4-byte header, padding removed */
    size_t body_len;
} cs_rtcp_pkt_t;

typedef struct {
    const uint8_t *buf;
    size_t len;
    size_t pos;
    bool failed;
} cs_rtcp_iter_t;

void cs_rtcp_iter_init(cs_rtcp_iter_t *it, const uint8_t *buf, size_t len);
/*
 * Yields the next packet: returns 1 and fills *out, 0 when the buffer ends
 * exactly at a packet boundary, or CS_EINVAL when the framing breaks: fewer
 * than 4 bytes left, a version other than 2, a length field that runs past the
 * buffer, or a P bit whose padding count is 0 or larger than the packet's body.
 * A length field of 0 is a header-only packet (4 bytes): valid framing, which
 * the typed parsers then refuse when their type needs a body.
 * Framing is a chain (each length says where the next header is), so after a
 * failure the iterator refuses every later call with CS_EINVAL; packets it
 * yielded before stay valid and may be used, the rest of the buffer is lost.
 * The iterator checks framing only: a packet whose contents are wrong for its
 * type (an RR of length 0, a PLI with FCI) is still yielded, its typed parser
 * refuses it, and the packets after it are unaffected.
 * Reduced-size RTCP (RFC 5506) is accepted: the first packet need not be SR/RR.
 */
int cs_rtcp_iter_next(cs_rtcp_iter_t *it, cs_rtcp_pkt_t *out);
/*
 * Checks the framing of a whole compound packet: the number of packets (>= 1),
 * or CS_EINVAL (empty, or the iterator would fail anywhere).
 */
int cs_rtcp_validate(const uint8_t *buf, size_t len);

/* ---- building ------------------------------------------------------------------ */

/*
 * Appends packets to a caller buffer. Each cs_rtcp_*_append returns the bytes
 * it appended, or a negative code with nothing appended (the buffer still
 * holds a valid compound of what was appended before): CS_ETOOBIG when it does
 * not fit, CS_EINVAL for fields the format cannot carry. b->len is the
 * compound's length so far.
 */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
} cs_rtcp_builder_t;

void cs_rtcp_builder_init(cs_rtcp_builder_t *b, uint8_t *buf, size_t cap);

/* ---- SR, RR (RFC 3550 §6.4) ------------------------------------------------------- */

typedef struct {
    uint32_t ssrc;              /* the source this block reports on */
    uint8_t fraction_lost;      /* lost / expected since the last report, * 256 */
    int32_t cumulative_lost;    /* 24-bit signed on the wire */
    uint32_t ext_highest_seq;
    uint32_t jitter;            /* timestamp units */
    uint32_t lsr;               /* middle 32 bits of the last SR's NTP time, 0 = none */
    uint32_t dlsr;              /* delay since that SR, 1/65536 s */
} cs_rtcp_report_block_t;

typedef struct {
    uint32_t ssrc;              /* sender */
    uint64_t ntp;               /* NTP timestamp, 32.32 */
    uint32_t rtp_ts;
    uint32_t packet_count;
    uint32_t octet_count;
    uint8_t n_reports;          /* 0..31 */
    cs_rtcp_report_block_t reports[CS_RTCP_MAX_COUNT];
} cs_rtcp_sr_t;

typedef struct {
    uint32_t ssrc;              /* reporter */
    uint8_t n_reports;
    cs_rtcp_report_block_t reports[CS_RTCP_MAX_COUNT];
} cs_rtcp_rr_t;

/* CS_OK, or CS_EINVAL (another type, or shorter than RC report blocks need).
 * Profile-specific extensions after the blocks are ignored. */
int cs_rtcp_sr_parse(const cs_rtcp_pkt_t *p, cs_rtcp_sr_t *out);
int cs_rtcp_rr_parse(const cs_rtcp_pkt_t *p, cs_rtcp_rr_t *out);
/* cumulative_lost is clamped to the 24-bit range; n_reports > 31 is CS_EINVAL. */
int cs_rtcp_sr_append(cs_rtcp_builder_t *b, const cs_rtcp_sr_t *sr);
int cs_rtcp_rr_append(cs_rtcp_builder_t *b, const cs_rtcp_rr_t *rr);

/* ---- SDES (§6.5), BYE (§6.6), APP (§6.7) ---------------------------------------------- */

typedef struct {
    uint32_t ssrc;
    const uint8_t *cname;       /* the first CNAME item, not NUL-terminated; NULL if none */
    uint8_t cname_len;
} cs_rtcp_sdes_chunk_t;

typedef struct {
    uint8_t n_chunks;
    cs_rtcp_sdes_chunk_t chunks[CS_RTCP_MAX_COUNT];
} cs_rtcp_sdes_t;

/* Items other than CNAME are skipped. CS_EINVAL when an item or a chunk runs
 * past the packet or a chunk's item list is not terminated. */
int cs_rtcp_sdes_parse(const cs_rtcp_pkt_t *p, cs_rtcp_sdes_t *out);
/* Writes each chunk with its CNAME item (none when cname is NULL). */
int cs_rtcp_sdes_append(cs_rtcp_builder_t *b, const cs_rtcp_sdes_t *sdes);

typedef struct {
    uint8_t n_ssrcs;
    uint32_t ssrcs[CS_RTCP_MAX_COUNT];
    const uint8_t *reason;      /* optional, not NUL-terminated; NULL if none */
    uint8_t reason_len;
} cs_rtcp_bye_t;

int cs_rtcp_bye_parse(const cs_rtcp_pkt_t *p, cs_rtcp_bye_t *out);
int cs_rtcp_bye_append(cs_rtcp_builder_t *b, const cs_rtcp_bye_t *bye);

typedef struct {
    uint8_t subtype;            /* 0..31 */
    uint32_t ssrc;
    uint8_t name[4];            /* four ASCII characters */
    const uint8_t *data;        /* application-dependent, passed through */
    size_t data_len;            /* a multiple of 4 to append */
} cs_rtcp_app_t;

int cs_rtcp_app_parse(const cs_rtcp_pkt_t *p, cs_rtcp_app_t *out);
int cs_rtcp_app_append(cs_rtcp_builder_t *b, const cs_rtcp_app_t *app);

/* ---- feedback (rtcp_fb.c) ----------------------------------------------------------- */

/* The common part of RTPFB and PSFB packets (RFC 4585 §6.1). */
typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
} cs_rtcp_fb_t;

/*
 * Generic NACK: each FCI (PID, BLP) is expanded into sequence numbers, PID
 * first then each BLP bit from the least significant (PID+1 .. PID+16).
 * Fills up to cap numbers into seqs and sets *n. CS_OK; CS_ETOOBIG when the
 * packet lists more than cap (the first cap are in seqs, *n == cap: a router
 * can still act on them); CS_EINVAL (another type/FMT, no FCI, FCI not a
 * multiple of 4 bytes).
 */
int cs_rtcp_nack_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fb_t *ids, uint16_t *seqs, size_t cap,
                       size_t *n);
/*
 * Packs n sequence numbers (ascending with wrap-around packs best: a number
 * 1..16 after the current PID goes into its BLP, anything else starts a new
 * FCI; repeats of the PID are dropped). n must be >= 1.
 */
int cs_rtcp_nack_append(cs_rtcp_builder_t *b, const cs_rtcp_fb_t *ids, const uint16_t *seqs,
                        size_t n);

/* PLI: no FCI. CS_EINVAL for another type/FMT or a body shorter than the two
 * SSRCs (bytes after them are tolerated, as libwebrtc does). */
int cs_rtcp_pli_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fb_t *out);
int cs_rtcp_pli_append(cs_rtcp_builder_t *b, const cs_rtcp_fb_t *ids);

typedef struct {
    uint32_t ssrc;              /* the media sender asked for a decoder refresh */
    uint8_t seq;                /* command sequence number, +1 per new request */
} cs_rtcp_fir_entry_t;

typedef struct {
    uint32_t sender_ssrc;
    uint8_t n;
    cs_rtcp_fir_entry_t entries[CS_RTCP_FIR_MAX];
} cs_rtcp_fir_t;

/* CS_OK; CS_EINVAL (type/FMT, no entry, FCI not a multiple of 8 bytes);
 * CS_ETOOBIG (more than CS_RTCP_FIR_MAX entries). */
int cs_rtcp_fir_parse(const cs_rtcp_pkt_t *p, cs_rtcp_fir_t *out);
int cs_rtcp_fir_append(cs_rtcp_builder_t *b, const cs_rtcp_fir_t *fir);

/* REMB (draft-alvestrand-rmcat-remb-03): a receiver's estimate of the bitrate
 * it can take, for the listed media SSRCs. */
typedef struct {
    uint32_t sender_ssrc;
    uint64_t bitrate_bps;       /* mantissa << exponent on the wire (18-bit mantissa) */
    uint8_t n_ssrcs;
    uint32_t ssrcs[CS_RTCP_REMB_MAX_SSRCS];
} cs_rtcp_remb_t;

/* CS_OK; CS_EUNSUPPORTED (PSFB FMT 15 without the 'REMB' identifier: another
 * application's feedback); CS_EINVAL (type/FMT, shorter than its SSRC count
 * needs, a bitrate that overflows 64 bits); CS_ETOOBIG (more SSRCs than
 * CS_RTCP_REMB_MAX_SSRCS: the sender and bitrate are filled, the list left
 * empty). */
int cs_rtcp_remb_parse(const cs_rtcp_pkt_t *p, cs_rtcp_remb_t *out);
/* The bitrate is rounded down to what an 18-bit mantissa can say. */
int cs_rtcp_remb_append(cs_rtcp_builder_t *b, const cs_rtcp_remb_t *remb);

/* ---- transport-wide congestion control feedback (rtcp_twcc.c) ---------------------------- */

#define CS_RTCP_TWCC_DELTA_US 250  /* receive deltas are in 250 µs ticks */
#define CS_RTCP_TWCC_REF_US 64000  /* the reference time is in 64 ms ticks */

typedef struct {
    uint32_t sender_ssrc;
    uint32_t media_ssrc;
    uint16_t base_seq;          /* transport-wide sequence number of the first packet */
    uint16_t status_count;      /* packets described (>= 1) */
    int32_t reference_time;     /* 24-bit signed, 64 ms units */
    uint8_t fb_count;           /* feedback packet count, for the sender to spot loss */
} cs_rtcp_twcc_t;

typedef struct {
    uint16_t seq;
    bool received;
    /* Received: arrival minus the previous received packet's arrival (the
     * reference time for the first), in µs, a multiple of 250. Else 0. */
    int32_t delta_us;
} cs_rtcp_twcc_pkt_t;

/*
 * Parses the feedback into pkts[0 .. status_count-1]. CS_OK; CS_ETOOBIG when
 * status_count > cap (nothing in pkts is meaningful); CS_EINVAL for another
 * type/FMT, a status count of 0, chunks or deltas that run past the packet (a
 * status count larger than the chunks provide), a reserved symbol (11) in a
 * used position, or more than 3 bytes left after the deltas.
 */
int cs_rtcp_twcc_parse(const cs_rtcp_pkt_t *p, cs_rtcp_twcc_t *out, cs_rtcp_twcc_pkt_t *pkts,
                       size_t cap);
/*
 * Builds feedback for pkts[0..n-1]: n in 1..65535 and pkts[i].seq ==
 * base_seq + i; received deltas are rounded to 250 µs and must fit the large
 * form (-8192000 .. 8191750 µs); reference_time in -2^23 .. 2^23-1. Chunks
 * are chosen greedily: run-length for long runs, else a 1-bit vector (14
 * packets) when no large delta is in it, else a 2-bit vector (7 packets).
 * h->status_count is ignored (n is used).
 */
int cs_rtcp_twcc_append(cs_rtcp_builder_t *b, const cs_rtcp_twcc_t *h,
                        const cs_rtcp_twcc_pkt_t *pkts, size_t n);

/* ---- derived values (rtcp_stats.c) ---------------------------------------------------------- */

/* NTP (seconds since 1900, 32.32 fixed point) from and to Unix-epoch µs. */
uint64_t cs_rtcp_ntp_from_unix_us(int64_t unix_us);
int64_t cs_rtcp_ntp_to_unix_us(uint64_t ntp);
/* The middle 32 bits (16.16 s) of an NTP time: the LSR of a report block. */
uint32_t cs_rtcp_ntp_compact(uint64_t ntp);
/* A delay in µs as 1/65536 s units: the DLSR of a report block. */
uint32_t cs_rtcp_dlsr_from_us(int64_t delay_us);
/*
 * Round-trip time from a report block received at arrival (compact NTP):
 * RTT = arrival - LSR - DLSR (RFC 3550 §6.4.1). CS_OK; CS_ENOTFOUND when
 * lsr == 0 (the peer has no SR from us yet); a negative result (clock skew,
 * a bogus block) is clamped to 0.
 */
int cs_rtcp_rtt_us(uint32_t arrival_compact, uint32_t lsr, uint32_t dlsr, int64_t *rtt_us);
/* (expected - received) * 256 / expected over an interval, 0 when nothing was
 * lost or duplicates outnumber losses (RFC 3550 A.3). */
uint8_t cs_rtcp_fraction_lost(uint64_t expected_interval, uint64_t received_interval);
/* Clamps to what 24 signed bits can carry: -8388608 .. 8388607. */
int32_t cs_rtcp_clamp_lost(int64_t lost);
/*
 * Fills a report block about ssrc from its tracker and jitter estimator, and
 * starts a new interval for the fraction lost (so call it once per report).
 * lsr and dlsr are left 0 for the caller (who knows when the last SR came).
 */
void cs_rtcp_report_from_seq(cs_rtcp_report_block_t *rb, uint32_t ssrc, cs_rtp_seqtrack_t *t,
                             const cs_rtp_jitter_t *j);

#endif
