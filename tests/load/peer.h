/*
 * peer.h — one synthetic participant's media, as a browser's
 * RTCPeerConnection does it: writes an SDP offer (or answers an offer, for
 * servers such as Janus that offer to subscribers), runs ICE (controlling
 * when it offers), DTLS and SRTP through media/peer, sends its audio and
 * video from lt_sender_t's, receives the others' through lt_receiver_t's,
 * and speaks RTCP: sender and receiver reports, NACK for what is missing,
 * PLI when a decoder needs a keyframe, and answers the server's NACK
 * (retransmission) and PLI/FIR (a keyframe).
 *
 * It knows nothing of signalling: the driver (Consilium's protocol, Janus's)
 * carries the SDP and candidates and tells the peer which senders are its
 * consult's other participants (lt_peer_set_sources).
 *
 * Threads: a peer lives on the thread running its GMainContext; every call
 * and callback happens there. Ownership: media and cert are borrowed and
 * must outlive the peer; strings passed in are copied.
 */
#ifndef CS_LOAD_PEER_H
#define CS_LOAD_PEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/dtls/dtls.h"
#include "media/ice/ice.h"
#include "tests/load/media.h"

#define LT_SDP_MAX 16384            /* an offer or answer we write, at most */
#define LT_PEER_MAX_RECV 16         /* receiving sections per kind */

typedef enum {
    LT_PEER_NEW,
    LT_PEER_CONNECTING,
    LT_PEER_CONNECTED,              /* SRTP keyed: media flows */
    LT_PEER_FAILED,
    LT_PEER_CLOSED,
} lt_peer_state_t;

typedef struct {
    const lt_media_t *media;        /* borrowed */
    const cs_dtls_cert_t *cert;     /* borrowed; one per process is enough */
    const char *bind_address;       /* host candidates on this address; default "127.0.0.1" */
    bool send_audio, send_video;    /* what it publishes */
    bool decode;                    /* its first receiver of each kind decodes (integrity) */
    uint32_t start_offset_ms;       /* passed to its senders */
    const char *srtp_profiles;      /* NULL: as Chromium (GCM first); or e.g. "SRTP_AES128_CM_SHA1_80" */
    struct cs_ice_batch *ice_batch; /* borrowed, of ctx; NULL: each datagram sent at once */
} lt_peer_config_t;

typedef struct {
    /* A local candidate ("candidate:..."), "" at the end of gathering. */
    void (*on_candidate)(void *user, const char *candidate);
    void (*on_state)(void *user, lt_peer_state_t state, const char *reason);
} lt_peer_callbacks_t;

typedef struct lt_peer lt_peer_t;

/* ctx is a GMainContext *. NULL with *err = CS_EINVAL / CS_ENOMEM. */
lt_peer_t *lt_peer_new(void *ctx, const lt_peer_config_t *cfg, const lt_peer_callbacks_t *cb,
                       void *user, int *err);
/* Sends RTCP BYE when connected. No callback during or after. */
void lt_peer_free(lt_peer_t *p);

/*
 * Offerer side (Consilium; a Janus publisher). Writes an offer like
 * Chromium's unified plan, BUNDLE, rtcp-mux, trickle, a=setup:actpass:
 * mid 0 sendonly Opus (when send_audio), mid 1 sendonly VP8 + RTX (when
 * send_video), then n_recv_audio recvonly audio and n_recv_video recvonly
 * video sections. A later call renegotiates: same credentials and
 * fingerprint, sections never removed, only added. *sources_json gets the
 * Consilium "sources" object text ({"0":"microphone","1":"camera"}).
 * Returns bytes written or CS_ETOOBIG / CS_ESTATE.
 */
int lt_peer_create_offer(lt_peer_t *p, size_t n_recv_audio, size_t n_recv_video, char *sdp,
                         size_t cap);
const char *lt_peer_sources_json(const lt_peer_t *p);
/* Applies the answer to the last offer: remote ICE credentials, fingerprint
 * and setup role (the first time), which receiving sections carry media and
 * their SSRCs (a=ssrc, or learnt from the MID extension), negotiated payload
 * types and extension ids. CS_EINVAL with a message in err (cap bytes) when
 * unusable. */
int lt_peer_set_answer(lt_peer_t *p, const char *sdp, char *err, size_t cap);

/*
 * Answerer side (a Janus subscriber: the server offers sendonly sections).
 * Answers every section the server sends on with recvonly, a=setup:active;
 * the remote's candidates in the offer are used. Returns bytes written, or
 * CS_EINVAL with err.
 */
int lt_peer_answer_offer(lt_peer_t *p, const char *offer, char *sdp, size_t cap, char *err,
                         size_t err_cap);

/* A trickled remote candidate; "" = end of candidates. */
int lt_peer_add_remote_candidate(lt_peer_t *p, const char *candidate);

/* The senders (of the consult's other peers) its receivers may be getting
 * media from, for matching packets to send times. Its own senders start by
 * themselves once CONNECTED. */
void lt_peer_set_sources(lt_peer_t *p, lt_sources_t sources);

/* Sends what is due, RTCP every ~500 ms (SR, RR, NACK, PLI), DTLS timers.
 * The driver calls it from a timer every few milliseconds; returns when the
 * peer next needs a call (monotonic µs). */
int64_t lt_peer_poll(lt_peer_t *p, int64_t now_us);

lt_peer_state_t lt_peer_state(const lt_peer_t *p);
const char *lt_peer_state_name(lt_peer_state_t s);

/* The peer's senders (for other peers' lt_sources_t): 0, 1 or 2. */
size_t lt_peer_senders(const lt_peer_t *p, const lt_sender_t **out, size_t cap);

typedef struct {
    lt_peer_state_t state;
    char srtp_profile[32];
    int64_t connected_us;           /* when SRTP was keyed; 0 before */
    uint64_t rtp_sent, rtp_received, rtcp_sent, rtcp_received;
    uint64_t nacks_sent, nacks_received, plis_sent, plis_received, srtp_errors;
    size_t n_receivers;
} lt_peer_stats_t;
void lt_peer_stats(const lt_peer_t *p, lt_peer_stats_t *out);
/* The i-th receiver's figures (i < n_receivers). */
void lt_peer_receiver_stats(const lt_peer_t *p, size_t i, lt_receiver_stats_t *out);
/* Starts a new measurement window in every receiver. */
void lt_peer_reset_window(lt_peer_t *p);

/* ---- for the hostile mode (tests/load/hostile.c) ------------------------------------------- */

/* Called with every RTP packet the peer sends, as protected (SRTP) and sent;
 * the bytes are valid during the call. NULL removes it. */
typedef void (*lt_peer_tap_fn)(void *user, const uint8_t *srtp, size_t len);
void lt_peer_set_tap(lt_peer_t *p, lt_peer_tap_fn tap, void *user);

/* Sends bytes as they are (no SRTP) from the peer's address to the
 * server's, on the selected pair. Returns len or a negative code
 * (CS_ESTATE before a pair). */
int lt_peer_send_raw(lt_peer_t *p, const uint8_t *buf, size_t len);
/* Sends len bytes of RTCP, whatever they hold, protected with the peer's
 * SRTCP keys (so the server decrypts them and its RTCP parser sees them).
 * Returns the bytes sent or a negative code. */
int lt_peer_send_rtcp_bytes(lt_peer_t *p, const uint8_t *rtcp, size_t len);

typedef struct {
    char local_ufrag[CS_ICE_UFRAG_MAX];
    char remote_ufrag[CS_ICE_UFRAG_MAX];
    char remote_fingerprint[CS_DTLS_FINGERPRINT_SIZE]; /* the server's, "AA:BB:..." */
    struct sockaddr_storage remote;     /* the selected pair's server end */
    socklen_t remote_len;
} lt_peer_ice_t;
/* CS_ESTATE until ICE has selected a pair. */
int lt_peer_ice(lt_peer_t *p, lt_peer_ice_t *out);

#endif
