/*
 * sdp.h — SDP (RFC 8866) for the WebRTC subset (JSEP, RFC 8829): parse, emit,
 * and build the gateway's answer to a browser's offer. Pure: no I/O, no
 * allocation, no global state, no logging.
 *
 * A description is one fixed-size cs_sdp_t (no pointers inside, so it can be
 * copied with memcpy and compared with memcmp once both sides came from
 * cs_sdp_parse, which zeroes everything it does not set). Every list has a
 * maximum below; input beyond one is refused, never truncated. The struct is
 * large — 1,121,176 bytes (1.1 MiB) on x86-64, nearly all of it the 32
 * sections' codec and candidate tables: put it on the heap or in a long-lived
 * object, never on a worker's stack. A peer keeps what it needs from it (ICE
 * credentials, fingerprint, payload types, SSRCs), not the whole struct.
 *
 * Errors: functions return CS_OK or a negative CS_E* code and, when given a
 * cs_sdp_error_t, fill it with the code, the 1-based line number and a message
 * naming the line type or attribute that is wrong. Messages never contain
 * values from the input, so ICE passwords and fingerprints never reach a log.
 *   CS_EINVAL       malformed input (or, for the writer, a struct that would
 *                   not produce a valid description)
 *   CS_ETOOBIG      the description, a line or a field longer than its bound;
 *                   for the writer, an output buffer too small
 *   CS_ELIMIT       more m= sections, codecs, candidates ... than the bound
 *   CS_EUNSUPPORTED (answer) a valid offer the gateway cannot accept
 */
#ifndef CS_SDP_H
#define CS_SDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- bounds ---------------------------------------------------------------- */

#define CS_SDP_MAX_SIZE 65536       /* bytes of one description */
#define CS_SDP_MAX_LINE 1024        /* bytes of one line without its line ending */
#define CS_SDP_MAX_MEDIA 32         /* m= sections: 8 participants x (audio, camera, screen) */
#define CS_SDP_MAX_CODECS 48        /* payload types on one m= line (Chromium: 23; 34 recvonly) */
#define CS_SDP_MAX_EXTMAPS 24       /* a=extmap per section (Chromium: 13) */
#define CS_SDP_MAX_CANDIDATES 32    /* a=candidate per section */
#define CS_SDP_MAX_SSRCS 16         /* distinct a=ssrc ids per section */
#define CS_SDP_MAX_SSRC_GROUPS 8    /* a=ssrc-group per section */
#define CS_SDP_MAX_GROUP_SSRCS 8    /* ssrcs in one a=ssrc-group */
#define CS_SDP_MAX_RIDS 8           /* a=rid per section; streams per simulcast direction */
#define CS_SDP_MAX_ALTS 4           /* alternatives of one simulcast stream */

/* String fields: bytes including the NUL. Longer input is CS_ETOOBIG. */
#define CS_SDP_TEXT_MAX 128         /* s=, o= username, msid-semantic ids */
#define CS_SDP_NUM_MAX 24           /* o= sess-id and sess-version (digits) */
#define CS_SDP_ADDR_MAX 64          /* IPv4, IPv6 or a host name (mDNS .local) */
#define CS_SDP_MID_MAX 33
#define CS_SDP_UFRAG_MAX 65         /* RFC 8839 allows 256; browsers use 4..32 */
#define CS_SDP_PWD_MAX 129          /* RFC 8839 allows 256; browsers use 22..32 */
#define CS_SDP_NAME_MAX 32          /* codec encoding name, m= media, proto */
#define CS_SDP_FMT_MAX 64           /* non-RTP m= formats ("webrtc-datachannel") */
#define CS_SDP_FMTP_MAX 256
#define CS_SDP_URI_MAX 128
#define CS_SDP_ID_MAX 65            /* msid stream/track ids (RFC 8830: 64), cname */
#define CS_SDP_SEMANTICS_MAX 16     /* ssrc-group and msid-semantic tokens */
#define CS_SDP_RID_MAX 33
#define CS_SDP_RID_PARAMS_MAX 128
#define CS_SDP_FOUNDATION_MAX 33    /* RFC 8839: 1*32 ice-char */
#define CS_SDP_FINGERPRINT_MAX 64   /* bytes of the longest hash (SHA-512) */

/* ---- vocabulary ------------------------------------------------------------ */

typedef enum { CS_SDP_KIND_AUDIO, CS_SDP_KIND_VIDEO, CS_SDP_KIND_APPLICATION, CS_SDP_KIND_OTHER } cs_sdp_kind_t;

typedef enum {
    CS_SDP_PROTO_OTHER,              /* kept as text, never accepted */
    CS_SDP_PROTO_UDP_TLS_RTP_SAVPF,  /* WebRTC media */
    CS_SDP_PROTO_TCP_DTLS_RTP_SAVPF,
    CS_SDP_PROTO_RTP_OTHER,          /* RTP/AVP, RTP/SAVPF, ...: RTP but not DTLS-SRTP */
    CS_SDP_PROTO_UDP_DTLS_SCTP,      /* WebRTC data channels */
    CS_SDP_PROTO_TCP_DTLS_SCTP,
    CS_SDP_PROTO_DTLS_SCTP,          /* pre-RFC 8841 data channels */
} cs_sdp_proto_t;

/* NONE means "not given": a section's direction defaults to the session's,
 * then to sendrecv, so a parsed section never has NONE. */
typedef enum {
    CS_SDP_DIR_NONE,
    CS_SDP_DIR_SENDRECV,
    CS_SDP_DIR_SENDONLY,
    CS_SDP_DIR_RECVONLY,
    CS_SDP_DIR_INACTIVE,
} cs_sdp_direction_t;

typedef enum {
    CS_SDP_SETUP_NONE,
    CS_SDP_SETUP_ACTPASS,
    CS_SDP_SETUP_ACTIVE,
    CS_SDP_SETUP_PASSIVE,
    CS_SDP_SETUP_HOLDCONN,
} cs_sdp_setup_t;

typedef enum {
    CS_SDP_HASH_NONE,
    CS_SDP_HASH_SHA1,
    CS_SDP_HASH_SHA224,
    CS_SDP_HASH_SHA256,
    CS_SDP_HASH_SHA384,
    CS_SDP_HASH_SHA512,
} cs_sdp_hash_t;

/* a=ice-options tokens (others are ignored). */
#define CS_SDP_ICE_TRICKLE 0x1u
#define CS_SDP_ICE_ICE2 0x2u
#define CS_SDP_ICE_RENOMINATION 0x4u

/* a=rtcp-fb kinds kept (others are ignored). */
#define CS_SDP_FB_NACK 0x1u
#define CS_SDP_FB_NACK_PLI 0x2u
#define CS_SDP_FB_CCM_FIR 0x4u
#define CS_SDP_FB_GOOG_REMB 0x8u
#define CS_SDP_FB_TRANSPORT_CC 0x10u

/* ---- parts of a description ----------------------------------------------- */

typedef struct {
    cs_sdp_hash_t hash;      /* NONE: no usable a=fingerprint */
    uint8_t len;             /* bytes in value: 20, 28, 32, 48 or 64 */
    uint8_t value[CS_SDP_FINGERPRINT_MAX];
} cs_sdp_fingerprint_t;

/* ICE and DTLS parameters; at session level they are the default for every
 * section, and cs_sdp_parse copies them into sections that have none. */
typedef struct {
    char ice_ufrag[CS_SDP_UFRAG_MAX];
    char ice_pwd[CS_SDP_PWD_MAX];
    unsigned ice_options;                /* CS_SDP_ICE_* */
    cs_sdp_fingerprint_t fingerprint;    /* the first, or the first SHA-256 */
    cs_sdp_setup_t setup;
} cs_sdp_transport_t;

/* Parameters of a=fmtp this gateway reads; -1 (or false/0) when absent. */
typedef struct {
    int16_t apt;                  /* RTX: associated payload type */
    int8_t useinbandfec;          /* Opus */
    int8_t usedtx;
    int8_t stereo;
    uint16_t minptime;
    uint32_t maxplaybackrate;
    int8_t packetization_mode;    /* H.264 */
    bool level_asymmetry_allowed;
    bool has_profile_level_id;
    uint32_t profile_level_id;    /* 24 bits: profile_idc, profile-iop, level_idc */
} cs_sdp_fmtp_t;

typedef struct {
    uint8_t pt;                   /* 0..127 */
    uint8_t channels;             /* from a=rtpmap; 0 when not given */
    uint16_t fb;                  /* CS_SDP_FB_* */
    uint32_t clock;               /* 0: no a=rtpmap and not a known static type */
    char name[CS_SDP_NAME_MAX];   /* encoding name as written ("opus", "VP8") */
    char fmtp[CS_SDP_FMTP_MAX];   /* raw a=fmtp parameters; what the writer emits */
    cs_sdp_fmtp_t params;         /* parsed from fmtp; for reading only */
} cs_sdp_codec_t;

typedef struct {
    uint16_t id;                  /* 1..255 */
    cs_sdp_direction_t direction; /* NONE when not given */
    char uri[CS_SDP_URI_MAX];
} cs_sdp_extmap_t;

typedef enum { CS_SDP_CAND_HOST, CS_SDP_CAND_SRFLX, CS_SDP_CAND_PRFLX, CS_SDP_CAND_RELAY } cs_sdp_cand_type_t;
typedef enum { CS_SDP_TRANSPORT_UDP, CS_SDP_TRANSPORT_TCP } cs_sdp_transport_proto_t;
typedef enum { CS_SDP_TCP_NONE, CS_SDP_TCP_ACTIVE, CS_SDP_TCP_PASSIVE, CS_SDP_TCP_SO } cs_sdp_tcptype_t;

/* RFC 8839 a=candidate. Host names (mDNS "<uuid>.local") are kept as text. */
typedef struct {
    char foundation[CS_SDP_FOUNDATION_MAX];
    uint16_t component;           /* 1..256 */
    cs_sdp_transport_proto_t transport;
    uint32_t priority;
    char address[CS_SDP_ADDR_MAX];
    uint16_t port;
    cs_sdp_cand_type_t type;
    char raddr[CS_SDP_ADDR_MAX];  /* "" when absent */
    bool has_rport;
    uint16_t rport;
    cs_sdp_tcptype_t tcptype;
    bool has_generation, has_network_id, has_network_cost;
    uint32_t generation, network_id, network_cost;
    char ufrag[CS_SDP_UFRAG_MAX]; /* "" when absent */
} cs_sdp_candidate_t;

/* One a=ssrc id with the attributes kept: cname and msid. */
typedef struct {
    uint32_t ssrc;
    char cname[CS_SDP_ID_MAX];    /* "" when not given */
    char stream[CS_SDP_ID_MAX];   /* msid stream id; "" when no msid */
    char track[CS_SDP_ID_MAX];
} cs_sdp_ssrc_t;

typedef struct {
    char semantics[CS_SDP_SEMANTICS_MAX];   /* "FID", "SIM", "FEC-FR", ... */
    uint8_t n_ssrcs;
    uint32_t ssrcs[CS_SDP_MAX_GROUP_SSRCS];
} cs_sdp_ssrc_group_t;

typedef enum { CS_SDP_RID_SEND, CS_SDP_RID_RECV } cs_sdp_rid_dir_t;

typedef struct {
    char id[CS_SDP_RID_MAX];
    cs_sdp_rid_dir_t direction;
    char params[CS_SDP_RID_PARAMS_MAX];     /* raw restrictions ("max-width=1280") */
} cs_sdp_rid_t;

/* RFC 8853: a list of streams, each a list of alternative rids. */
typedef struct {
    char rid[CS_SDP_RID_MAX];
    bool paused;                            /* written "~rid" */
} cs_sdp_sim_alt_t;

typedef struct {
    uint8_t n_alts;
    cs_sdp_sim_alt_t alts[CS_SDP_MAX_ALTS];
} cs_sdp_sim_stream_t;

typedef struct {
    uint8_t n_streams;
    cs_sdp_sim_stream_t streams[CS_SDP_MAX_RIDS];
} cs_sdp_sim_list_t;

typedef struct {
    cs_sdp_kind_t kind;
    char media[CS_SDP_NAME_MAX];            /* the m= media token as written */
    uint16_t port;                          /* 0: rejected (unless bundle_only) */
    uint16_t n_ports;                       /* "port/n"; 0 when not given */
    cs_sdp_proto_t proto;
    char proto_name[CS_SDP_NAME_MAX];
    char fmt[CS_SDP_FMT_MAX];               /* formats of a non-RTP section */
    uint8_t n_codecs;                       /* RTP: one per m= payload type, in order */
    cs_sdp_codec_t codecs[CS_SDP_MAX_CODECS];

    char conn_addr[CS_SDP_ADDR_MAX];        /* c=; "" when absent */
    bool conn_ip6;
    char mid[CS_SDP_MID_MAX];               /* "" when absent */
    cs_sdp_direction_t direction;
    bool rtcp_mux, rtcp_rsize, bundle_only, extmap_allow_mixed, end_of_candidates;
    cs_sdp_transport_t transport;

    uint8_t n_extmaps;
    cs_sdp_extmap_t extmaps[CS_SDP_MAX_EXTMAPS];
    char msid_stream[CS_SDP_ID_MAX];        /* a=msid (the first); "" when absent */
    char msid_track[CS_SDP_ID_MAX];
    uint8_t n_ssrcs;
    cs_sdp_ssrc_t ssrcs[CS_SDP_MAX_SSRCS];
    uint8_t n_ssrc_groups;
    cs_sdp_ssrc_group_t ssrc_groups[CS_SDP_MAX_SSRC_GROUPS];
    uint8_t n_rids;
    cs_sdp_rid_t rids[CS_SDP_MAX_RIDS];
    bool has_simulcast;
    cs_sdp_sim_list_t sim_send, sim_recv;
    uint8_t n_candidates;
    cs_sdp_candidate_t candidates[CS_SDP_MAX_CANDIDATES];

    bool has_sctp_port, has_max_message_size;
    uint16_t sctp_port;
    uint32_t max_message_size;
} cs_sdp_media_t;

typedef struct {
    char origin_user[CS_SDP_TEXT_MAX];      /* o= */
    char origin_sess_id[CS_SDP_NUM_MAX];
    char origin_sess_version[CS_SDP_NUM_MAX];
    bool origin_ip6;
    char origin_addr[CS_SDP_ADDR_MAX];
    char name[CS_SDP_TEXT_MAX];             /* s=; "-" when empty */
    uint64_t time_start, time_stop;         /* t= */
    char conn_addr[CS_SDP_ADDR_MAX];        /* session-level c=; "" when absent */
    bool conn_ip6;

    bool ice_lite, extmap_allow_mixed, end_of_candidates;
    cs_sdp_direction_t direction;           /* NONE when not given */
    cs_sdp_transport_t transport;           /* session-level defaults */
    bool has_bundle;                        /* a=group:BUNDLE (the first one) */
    uint8_t n_bundle;
    char bundle[CS_SDP_MAX_MEDIA][CS_SDP_MID_MAX];
    char msid_semantic[CS_SDP_SEMANTICS_MAX];   /* "WMS"; "" when absent */
    char msid_semantic_ids[CS_SDP_TEXT_MAX];    /* "*" or stream ids */

    uint8_t n_media;
    cs_sdp_media_t media[CS_SDP_MAX_MEDIA];
} cs_sdp_t;

typedef struct {
    int code;                /* same as the return value */
    unsigned line;           /* 1-based input line; 0 when not about one line */
    char message[160];       /* "line 12: a=fingerprint is not colon-separated hex" */
} cs_sdp_error_t;

/* ---- parse and write ------------------------------------------------------- */

/*
 * Parses len bytes of text (not NUL-terminated; never read past len). Lines
 * end with CRLF or LF, the last one too (an unterminated last line is taken
 * as truncated input). Unknown attributes, and known ones at a level where
 * they mean nothing, are skipped. Candidates of an unknown transport or type
 * are skipped (RFC 8839). On failure *out is left zeroed but partly filled.
 */
int cs_sdp_parse(const char *text, size_t len, cs_sdp_t *out, cs_sdp_error_t *err);

/*
 * Writes sdp as text with CRLF line endings into buf (NUL-terminated) and
 * its length, without the NUL, into *out_len (may be NULL). Returns
 * CS_ETOOBIG if buf is too small, CS_EINVAL if a field would not re-parse
 * (a space in a token, a control character, a count over its maximum).
 * Output of a parsed description parses back to an identical struct.
 */
int cs_sdp_write(const cs_sdp_t *sdp, char *buf, size_t cap, size_t *out_len,
                 cs_sdp_error_t *err);

/* One a=candidate value, for trickle ICE: accepts "candidate:...", with or
 * without a leading "a=", without a line ending. CS_EUNSUPPORTED for a
 * well-formed candidate of an unknown transport or type (to be ignored). */
int cs_sdp_candidate_parse(const char *text, size_t len, cs_sdp_candidate_t *out,
                           cs_sdp_error_t *err);
/* Writes "candidate:..." (no "a=", no line ending) into buf; CS_ETOOBIG when
 * cap is too small. */
int cs_sdp_candidate_write(const cs_sdp_candidate_t *c, char *buf, size_t cap);

/* Parses a=fmtp parameters ("a=1;b=2") into the helpers; unknown or
 * malformed parameters leave their helper at its "absent" value. */
void cs_sdp_fmtp_parse(const char *params, cs_sdp_fmtp_t *out);

/* ---- lookups --------------------------------------------------------------- */

typedef enum {
    CS_SDP_H264_UNKNOWN,
    CS_SDP_H264_CONSTRAINED_BASELINE,
    CS_SDP_H264_BASELINE,
    CS_SDP_H264_MAIN,
    CS_SDP_H264_CONSTRAINED_HIGH,
    CS_SDP_H264_HIGH,
    CS_SDP_H264_PREDICTIVE_HIGH_444,
} cs_sdp_h264_profile_t;

/* The H.264 profile of a profile-level-id (RFC 6184 §8.1), as libwebrtc
 * classifies it: 42e01f, 4de01f and 58f01f are all constrained baseline. */
cs_sdp_h264_profile_t cs_sdp_h264_profile(uint32_t profile_level_id);

const cs_sdp_media_t *cs_sdp_media_by_mid(const cs_sdp_t *sdp, const char *mid);
const cs_sdp_codec_t *cs_sdp_codec_by_pt(const cs_sdp_media_t *m, unsigned pt);
/* The RTX codec whose apt is pt, or NULL. */
const cs_sdp_codec_t *cs_sdp_rtx_for(const cs_sdp_media_t *m, unsigned pt);
/* The extmap id of uri in m, or 0. */
unsigned cs_sdp_extmap_id(const cs_sdp_media_t *m, const char *uri);
bool cs_sdp_in_bundle(const cs_sdp_t *sdp, const char *mid);
/* Wire names ("sendrecv", "actpass", "sha-256", "host"); never NULL. */
const char *cs_sdp_direction_name(cs_sdp_direction_t d);
const char *cs_sdp_setup_name(cs_sdp_setup_t s);
const char *cs_sdp_hash_name(cs_sdp_hash_t h);
const char *cs_sdp_cand_type_name(cs_sdp_cand_type_t t);

/* ---- the gateway's answer -------------------------------------------------- */

/* Header extensions the answer accepts (by URI, keeping the offer's ids). */
#define CS_SDP_EXT_MID "urn:ietf:params:rtp-hdrext:sdes:mid"
#define CS_SDP_EXT_ABS_SEND_TIME "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
#define CS_SDP_EXT_TWCC "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
#define CS_SDP_EXT_AUDIO_LEVEL "urn:ietf:params:rtp-hdrext:ssrc-audio-level"
#define CS_SDP_EXT_RID "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
#define CS_SDP_EXT_RRID "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"

/* Codecs the gateway forwards. */
#define CS_SDP_CODEC_OPUS 0x1u
#define CS_SDP_CODEC_VP8 0x2u
#define CS_SDP_CODEC_H264 0x4u
#define CS_SDP_CODEC_ALL (CS_SDP_CODEC_OPUS | CS_SDP_CODEC_VP8 | CS_SDP_CODEC_H264)

/* Simulcast streams the answer accepts per section when max_simulcast is 0. */
#define CS_SDP_DEFAULT_SIMULCAST 3

/* What the gateway brings to an answer. Zero-initialise, then fill. */
typedef struct {
    char ice_ufrag[CS_SDP_UFRAG_MAX];       /* required */
    char ice_pwd[CS_SDP_PWD_MAX];           /* required */
    cs_sdp_fingerprint_t fingerprint;       /* of the gateway's DTLS certificate; required */
    uint64_t session_id, session_version;   /* o= */
    bool ice_lite;                          /* a=ice-lite at session level */
    bool trickle;                           /* a=ice-options:trickle */
    bool extmap_allow_mixed;                /* echo the offer's a=extmap-allow-mixed */
    unsigned codecs;                        /* CS_SDP_CODEC_*; 0 = all */
    bool prefer_h264;                       /* list H.264 before VP8 */
    unsigned max_simulcast;                 /* 0 = CS_SDP_DEFAULT_SIMULCAST */
    /* Put into the first bundled section, then a=end-of-candidates when
     * end_of_candidates. At most CS_SDP_MAX_CANDIDATES. */
    const cs_sdp_candidate_t *candidates;
    size_t n_candidates;
    bool end_of_candidates;
} cs_sdp_local_t;

/*
 * Builds the answer to a remote offer from cs_sdp_parse (JSEP §5.3):
 *  - BUNDLE and rtcp-mux required; ICE credentials and a DTLS fingerprint
 *    required (a bundle-only section uses its BUNDLE tag's);
 *  - a=setup:passive answering actpass or active, active answering passive;
 *  - Opus (useinbandfec=1 and minptime passed through); VP8; H.264 with
 *    packetization-mode=1 and a constrained-baseline profile, answered as
 *    42e01f (or the offer's lower level without level-asymmetry-allowed);
 *    RTX for the chosen video codecs; the offerer's payload type numbers and
 *    extmap ids, extensions limited to the CS_SDP_EXT_* above;
 *  - the direction mirrored; simulcast send accepted as recv for up to
 *    max_simulcast rids;
 *  - data channel and unusable sections rejected (port 0), and left out of
 *    the BUNDLE group; the local candidates go in the first accepted section.
 * Errors: CS_EINVAL (no ICE credentials or mid, bad local), CS_EUNSUPPORTED
 * (no fingerprint, no rtcp-mux, several sections without BUNDLE,
 * a=setup:holdconn, and "no usable audio or video codec").
 */
int cs_sdp_answer(const cs_sdp_t *offer, const cs_sdp_local_t *local, cs_sdp_t *answer,
                  cs_sdp_error_t *err);

/*
 * Adds one of the SFU's outgoing streams to a section: a=msid, a=ssrc cname
 * and msid lines for ssrc and (when not 0) rtx_ssrc, and a=ssrc-group:FID.
 * CS_ELIMIT when the section's ssrc tables are full, CS_EINVAL for ids that
 * are empty, too long or contain blanks or control characters.
 */
int cs_sdp_media_add_stream(cs_sdp_media_t *m, uint32_t ssrc, uint32_t rtx_ssrc,
                            const char *cname, const char *stream_id, const char *track_id);

#endif
