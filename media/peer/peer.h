/*
 * peer.h — one participant's WebRTC transport: ICE → DTLS → SRTP, carrying
 * plaintext RTP and RTCP to and from the router above it.
 *
 * A peer owns an ICE agent (media/ice), a DTLS session (media/dtls) started
 * once ICE has a working pair, and the two SRTP sessions (media/srtp) keyed
 * from the handshake. It turns a browser's offer into the transport half of
 * the answer (credentials, fingerprint, setup role; cs_sdp_answer does the
 * codecs), notices an ICE restart (new remote credentials in a later offer),
 * demultiplexes what arrives (RFC 7983: DTLS, RTP, RTCP; STUN stays inside
 * libnice) and protects what leaves.
 *
 * A failed handshake, a fingerprint that does not match the SDP or lost ICE
 * consent ends this peer's media (state FAILED) and nothing else.
 *
 * Threads: a peer lives on the thread running the GMainContext it was made
 * with; callbacks are invoked there. Ownership: the certificate is borrowed
 * and must outlive the peer; nothing else given is kept.
 */
#ifndef CS_PEER_H
#define CS_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/dtls/dtls.h"
#include "media/ice/ice.h"
#include "media/sdp/sdp.h"

typedef enum {
    CS_PEER_NEW,         /* no offer applied yet */
    CS_PEER_CONNECTING,  /* ICE checking or DTLS handshaking */
    CS_PEER_CONNECTED,   /* SRTP keys in place: media flows */
    CS_PEER_FAILED,      /* ICE, DTLS or the fingerprint failed: media ended */
    CS_PEER_CLOSED,
} cs_peer_state_t;

typedef struct {
    cs_ice_config_t ice;             /* strings borrowed during cs_peer_new only */
    const cs_dtls_cert_t *cert;      /* borrowed; must outlive the peer */
} cs_peer_config_t;

typedef struct {
    /* A local ICE candidate ("candidate:..."), or "" at the end of a
     * generation. Required. */
    void (*on_candidate)(void *user, const char *candidate);
    /* State changes, with a reason for FAILED/CLOSED, the SRTP profile for
     * CONNECTED after the handshake ("" otherwise). Required. */
    void (*on_state)(void *user, cs_peer_state_t state, const char *reason);
    /* Decrypted packets; buf may be modified in place, valid during the call. */
    void (*on_rtp)(void *user, uint8_t *buf, size_t len);
    void (*on_rtcp)(void *user, uint8_t *buf, size_t len);
} cs_peer_callbacks_t;

typedef struct cs_peer cs_peer_t;

/* NULL with *err = CS_ENOMEM / CS_EINVAL. main_context is a GMainContext *. */
cs_peer_t *cs_peer_new(void *main_context, const cs_peer_config_t *cfg,
                       const cs_peer_callbacks_t *cb, void *user, int *err);
/* No callback is invoked from within or after the call. */
void cs_peer_free(cs_peer_t *p);

/*
 * Applies a browser's offer: the first one sets the remote ICE credentials
 * and fingerprint and starts gathering; a later one with other ICE
 * credentials restarts ICE. Builds the answer with cs_sdp_answer (local
 * candidates are trickled, not put in it). Errors (nothing changed):
 * CS_EINVAL / CS_EUNSUPPORTED from cs_sdp_answer with err filled;
 * CS_EUNSUPPORTED when a renegotiation changes the DTLS fingerprint or the
 * offer has no SHA-256 fingerprint; CS_ESTATE after FAILED/CLOSED.
 */
int cs_peer_answer(cs_peer_t *p, const cs_sdp_t *offer, cs_sdp_t *answer, cs_sdp_error_t *err);

/* False when offer belongs to another transport than this peer's: the
 * peer has failed for good, or the offer's DTLS fingerprint is another one
 * (the page made a new RTCPeerConnection). The caller then makes a new peer. */
bool cs_peer_same_transport(const cs_peer_t *p, const cs_sdp_t *offer);

/* Trickled remote candidate ("candidate:..."; "" = end of candidates).
 * Codes as cs_ice_agent_add_remote_candidate; CS_ESTATE before the first offer. */
int cs_peer_add_remote_candidate(cs_peer_t *p, const char *candidate);

/* Protects len bytes in place (buf has cap bytes) and sends them. CS_ESTATE
 * until CONNECTED; other errors mean the packet is dropped. */
int cs_peer_send_rtp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap);
int cs_peer_send_rtcp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap);

/* DTLS retransmission timers; call every few tens of milliseconds. */
void cs_peer_tick(cs_peer_t *p, int64_t now_us);

cs_peer_state_t cs_peer_state(const cs_peer_t *p);
const char *cs_peer_state_name(cs_peer_state_t s);

typedef struct {
    uint64_t rx_datagrams, rx_bytes, tx_datagrams, tx_bytes;
    uint64_t dropped_srtp;        /* failed authentication or replay */
    uint64_t dropped_other;       /* not DTLS/RTP/RTCP, or before keys */
    char srtp_profile[32];        /* "" before the handshake */
    char selected_pair[128];
} cs_peer_stats_t;
void cs_peer_stats(const cs_peer_t *p, cs_peer_stats_t *out);

#endif
