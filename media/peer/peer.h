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
 * The same transport serves the load tool's synthetic browsers (tests/load/)
 * as a client: cs_peer_local_transport gives what an offer or answer it
 * writes needs, cs_peer_set_remote applies the remote description's
 * transport and picks the DTLS role (ICE is controlling when the config says
 * so, as for an offerer). cs_peer_answer, the gateway's answerer, takes the
 * same internal steps.
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
    /* SRTP profiles offered or accepted in DTLS, as for
     * cs_dtls_session_set_srtp_profiles (copied; checked when the DTLS
     * session is made); NULL: CS_DTLS_SRTP_PROFILES_DEFAULT. */
    const char *srtp_profiles;
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

/* ---- the client side (tests/load/'s synthetic browsers) --------------------------- */

/* What a description this side writes needs of its transport. */
typedef struct {
    char ice_ufrag[CS_ICE_UFRAG_MAX];
    char ice_pwd[CS_ICE_PWD_MAX];
    char fingerprint[CS_DTLS_FINGERPRINT_SIZE];  /* sha-256 of the certificate, "AA:BB:..." */
    /* The a=setup to write: ACTPASS in an offer (nothing applied yet, or the
     * last remote description was an answer); answering an offer, ACTIVE
     * when we are the DTLS client, else PASSIVE. */
    cs_sdp_setup_t setup;
} cs_peer_local_t;

/* Fills *out. The first call also lets gathering start at the next
 * cs_peer_tick, so candidates follow the description they belong to.
 * CS_EINVAL for NULL; CS_ESTATE after FAILED/CLOSED. */
int cs_peer_local_transport(cs_peer_t *p, cs_peer_local_t *out);

/* The transport half of a remote description (the caller parsed it). */
typedef struct {
    const char *ice_ufrag, *ice_pwd;     /* borrowed during the call */
    cs_sdp_fingerprint_t fingerprint;    /* must be SHA-256 */
    cs_sdp_setup_t setup;                /* the remote description's a=setup */
    bool we_offered;                     /* it answers our offer (else it is an offer) */
} cs_peer_remote_t;

/*
 * Applies a remote description's transport. The first call picks the DTLS
 * role, makes the DTLS session (started once ICE works) and sets the remote
 * ICE credentials: answering our actpass offer, "active" makes us the DTLS
 * server and "passive" the client; answering their offer we are the client
 * (we write active) unless they offered active (we are the server, passive;
 * a missing a=setup counts as actpass). Later calls (renegotiations) must
 * repeat the credentials and fingerprint; the role stays.
 * Errors (nothing changed): CS_EINVAL (NULL, unusable credentials, an
 * answer whose a=setup is not active or passive); CS_EUNSUPPORTED (not a
 * SHA-256 fingerprint, or another one than before); CS_ESTATE (other ICE
 * credentials than before — no ICE restart on this side —, or after
 * FAILED/CLOSED).
 */
int cs_peer_set_remote(cs_peer_t *p, const cs_peer_remote_t *r);

/* Adds the candidates written in a remote description (non-trickle peers,
 * Janus); returns how many were taken (unusable ones are skipped), or
 * CS_EINVAL / CS_ESTATE as cs_peer_add_remote_candidate. */
int cs_peer_add_sdp_candidates(cs_peer_t *p, const cs_sdp_t *sdp);

/* ---- both sides ------------------------------------------------------------------------ */

/* Trickled remote candidate ("candidate:..."; "" = end of candidates).
 * Codes as cs_ice_agent_add_remote_candidate; CS_ESTATE before the first
 * offer (gateway) or the first cs_peer_local_transport (client). */
int cs_peer_add_remote_candidate(cs_peer_t *p, const char *candidate);

/* Protects len bytes in place (buf has cap bytes) and sends them; returns
 * the bytes sent (the protected length, now in buf). CS_ESTATE until
 * CONNECTED; other errors mean the packet is dropped. */
int cs_peer_send_rtp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap);
int cs_peer_send_rtcp(cs_peer_t *p, uint8_t *buf, size_t len, size_t cap);

/* Sends len bytes as they are, without SRTP, on the selected pair: for tools
 * that test how the remote side copes with datagrams it did not expect
 * (tests/load's hostile mode). Returns len; CS_ESTATE before ICE has a pair
 * or after FAILED/CLOSED; CS_EINVAL / CS_ETOOBIG as cs_ice_agent_send. */
int cs_peer_send_raw(cs_peer_t *p, const uint8_t *buf, size_t len);

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
/* Where the media goes: the selected pair's remote end. CS_ESTATE when none. */
int cs_peer_remote_address(const cs_peer_t *p, struct sockaddr_storage *out, socklen_t *len);

#endif
