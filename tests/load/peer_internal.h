/*
 * peer_internal.h — what the synthetic peer's files share: the peer's layout
 * (its m= sections, senders, receivers and the SSRC table of the receive
 * path), and the functions peer.c (life cycle, events, packets, polling),
 * peer_sdp.c (offers and answers) and peer_rtcp.c (reports and feedback)
 * call in one another.
 *
 * Not a public header: tests/load/peer.h is the interface.
 */
#ifndef CS_LOAD_PEER_INTERNAL_H
#define CS_LOAD_PEER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/peer/peer.h"
#include "media/sdp/sdp.h"
#include "media/srtp/srtp.h"
#include "tests/load/peer.h"

#define LT_SECTIONS_MAX CS_SDP_MAX_MEDIA       /* m= sections of one description */
#define LT_RECEIVERS_MAX (2 * LT_SECTIONS_MAX) /* a section's stream may be replaced once */
#define LT_SSRC_MAP_MAX (2 * LT_SECTIONS_MAX)  /* media + RTX SSRC per receiving section */
#define LT_EVENTS_MAX 32                       /* callbacks waiting to be delivered */
#define LT_MID_EXT_ID 4                        /* as Chromium numbers the MID extension */
#define LT_PT_OPUS 111
#define LT_PT_VP8 96
#define LT_PT_RTX 97
#define LT_RTCP_CAP (1200 + CS_SRTP_MAX_TRAILER)
#define LT_REPORT_US 500000                    /* sender/receiver reports */
#define LT_FEEDBACK_US 20000                   /* NACK and PLI checks */

/* One m= section, in the order of the descriptions. */
typedef struct {
    char mid[CS_SDP_MID_MAX];
    lt_kind_t kind;
    bool ours;               /* one of our sending sections (offerer side) */
    bool receiving;          /* the remote sends on it (as negotiated last) */
    uint8_t pt, rtx_pt;      /* receiving: negotiated payload types, rtx_pt 0 = none */
    uint32_t ssrc, rtx_ssrc; /* receiving: 0 until known (a=ssrc or the first packet) */
    int receiver;            /* index into rx, -1 none */
} lt_section_t;

/* One of our outgoing streams. */
typedef struct {
    lt_sender_t *s;          /* made with the first offer; started once connected */
    lt_kind_t kind;
    size_t section;
    uint32_t ssrc, rtx_ssrc;
    bool active, started;    /* active: the answer accepted it */
} lt_out_t;

/* Receive path: SSRC → section. */
typedef struct {
    uint32_t ssrc;
    uint8_t section;
    bool rtx;
} lt_ssrc_entry_t;

typedef struct {
    bool is_state;
    lt_peer_state_t state;
    char text[CS_ICE_CANDIDATE_MAX];        /* the candidate, or the state's reason */
} lt_event_t;

struct lt_peer {
    void *ctx;                              /* GMainContext * */
    lt_peer_config_t cfg;                   /* strings point into the copies below */
    char bind_address[64];
    char srtp_profiles[CS_DTLS_SRTP_PROFILES_MAX];
    lt_peer_callbacks_t cb;
    void *user;
    cs_peer_t *tp;                          /* the transport, made by the first description */
    lt_peer_state_t state;
    bool offerer, answerer;                 /* which side this peer took */
    bool offer_pending;                     /* an offer of ours awaits its answer */
    uint64_t session_id, session_version;
    char cname[17], stream_id[33];
    char sources_json[96];
    uint32_t rtcp_ssrc;                     /* sender SSRC of RTCP without a sender */
    uint8_t mid_ext;                        /* MID extension id of the receiving sections */
    char remote_ufrag[CS_ICE_UFRAG_MAX];     /* of the last remote description */
    cs_sdp_fingerprint_t remote_fingerprint; /* of the last remote description */
    lt_peer_tap_fn tap;                     /* lt_peer_set_tap */
    void *tap_user;

    lt_section_t sec[LT_SECTIONS_MAX];
    size_t n_sec, n_recv[2];                /* n_recv: our receiving sections per kind (offerer) */
    lt_out_t out[2];
    size_t n_out;
    lt_receiver_t *rx[LT_RECEIVERS_MAX];
    lt_kind_t rx_kind[LT_RECEIVERS_MAX];
    size_t n_rx;
    bool decoding[2];                   /* a receiver of this kind decodes (the first only) */
    lt_ssrc_entry_t map[LT_SSRC_MAP_MAX];
    size_t n_map, last_hit;
    const lt_sender_t **src[2];             /* lt_peer_set_sources, per kind */
    size_t n_src[2];

    int64_t next_report_us, next_feedback_us;
    int64_t rtt_us;                         /* 0: not measured */
    lt_peer_stats_t st;
    uint64_t unknown_rtp;                   /* packets of no receiving section */

    /* Callbacks wait for a GLib idle dispatch, where nothing of ours is on
     * the stack, so a callback may free the peer. */
    lt_event_t events[LT_EVENTS_MAX];
    size_t ev_head, n_events;
    void *idle;                             /* GSource *, while events wait */
    bool delivering, doomed;

    uint8_t rtcp[LT_RTCP_CAP];              /* RTCP built here, protected in place */
};

/* peer.c */
int lt_peer_make_transport(lt_peer_t *p, bool controlling);
/* Section i carries ssrc (0: keep the current one) with rtx_ssrc (0: none
 * new): a new media SSRC gets a new receiver (the old one keeps its
 * figures). CS_ELIMIT when the tables are full, or lt_receiver_new's code. */
int lt_peer_bind(lt_peer_t *p, size_t i, uint32_t ssrc, uint32_t rtx_ssrc);
lt_out_t *lt_peer_out_by_ssrc(lt_peer_t *p, uint32_t ssrc);
/* The current receiver of a receiving section's media SSRC, or NULL. */
lt_receiver_t *lt_peer_receiver_by_ssrc(lt_peer_t *p, uint32_t ssrc);
/* The emit callback of the senders: protects and sends; 0 when sent. */
int lt_peer_emit(void *user, uint8_t *buf, size_t len, size_t cap);
/* A random SSRC, not 0 and none of ours yet. */
uint32_t lt_peer_new_ssrc(const lt_peer_t *p);
/* Wall-clock microseconds since the Unix epoch (for NTP times). */
int64_t lt_peer_wall_us(void);

/* peer_rtcp.c */
void lt_peer_rtcp_in(lt_peer_t *p, const uint8_t *buf, size_t len, int64_t now_us);
void lt_peer_rtcp_report(lt_peer_t *p, int64_t now_us);
void lt_peer_rtcp_feedback(lt_peer_t *p, int64_t now_us);
void lt_peer_rtcp_bye(lt_peer_t *p);

#endif
