/*
 * dtls.h — the DTLS 1.2 half of DTLS-SRTP (RFC 5763, RFC 5764) for one WebRTC
 * peer: a self-signed certificate and its SDP fingerprint, a handshake driven
 * by datagrams handed in and out through callbacks (no sockets: the ICE layer
 * carries them), retransmission timers run by the owner's event loop, and the
 * SRTP keying material exported once the peer has proved it holds the
 * certificate whose fingerprint the remote SDP announced.
 *
 * The peer's certificate is not checked against any authority: per RFC 5763
 * §5 the check is that its SHA-256 fingerprint equals the one signalled in
 * SDP. A mismatch fails the handshake (the peer is sent bad_certificate).
 *
 * The only user of OpenSSL's SSL_* API in the project. No logging: functions
 * return CS_* codes and a failed session keeps a reason string.
 *
 * Threads: a certificate is immutable once made and may be shared by sessions
 * on any thread. A session belongs to one thread at a time.
 *
 * Files:
 *   dtls_cert.c  certificate: generate, load PEM, fingerprint, free
 *   dtls.c       sessions: SSL context, datagram BIO, handshake, timers, keys
 */
#ifndef CS_DTLS_H
#define CS_DTLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "AA:BB:...": 32 bytes of SHA-256 as upper-case hex pairs joined by colons. */
#define CS_DTLS_FINGERPRINT_LEN 95
#define CS_DTLS_FINGERPRINT_SIZE (CS_DTLS_FINGERPRINT_LEN + 1)

#define CS_DTLS_MTU 1200                /* bytes per outgoing datagram, default */
#define CS_DTLS_INITIAL_TIMEOUT_MS 400  /* first retransmission; doubles up to ... */
#define CS_DTLS_MAX_TIMEOUT_MS 60000    /* ... this; 12 timeouts fail the handshake */
#define CS_DTLS_MAX_DATAGRAM 2048       /* larger incoming datagrams are refused */

/* RFC 5764 §4.1.2 / RFC 7714 §14.2 profile identifiers. */
#define CS_DTLS_SRTP_AES128_CM_SHA1_80 0x0001
#define CS_DTLS_SRTP_AEAD_AES_128_GCM 0x0007

#define CS_DTLS_SRTP_PROFILES_DEFAULT "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
#define CS_DTLS_SRTP_PROFILES_MAX 128   /* bytes of a profile list, NUL included */

/* 2 * (key + salt) of the largest profile offered (AES128_CM_SHA1_80: 60). */
#define CS_DTLS_KEYING_MAX 64

/* ---- certificate ------------------------------------------------------------ */

typedef struct cs_dtls_cert cs_dtls_cert_t;

/*
 * A fresh ECDSA P-256 key and a self-signed X.509 v3 certificate for it:
 * random positive 64-bit serial, CN "consilium", valid from a day ago for 30
 * days, signed with SHA-256. NULL on failure with *err (may be NULL) set to
 * CS_ENOMEM or CS_EIO.
 */
cs_dtls_cert_t *cs_dtls_cert_generate(int *err);

/*
 * Loads a PEM certificate and its PEM private key (unencrypted). *err is
 * CS_EIO when a file cannot be read, CS_EINVAL when its content is not a
 * certificate / key or the key does not belong to the certificate.
 */
cs_dtls_cert_t *cs_dtls_cert_load(const char *cert_pem_path, const char *key_pem_path,
                                  int *err);

/* The certificate's SHA-256 fingerprint as SDP's a=fingerprint wants it. */
void cs_dtls_cert_fingerprint(const cs_dtls_cert_t *cert, char out[CS_DTLS_FINGERPRINT_SIZE]);

/*
 * Ownership: sessions keep their own reference to what they need (through
 * OpenSSL's reference counts), so a certificate may be freed as soon as no
 * more sessions will be made with it, even while sessions made with it live.
 * NULL is accepted.
 */
void cs_dtls_cert_free(cs_dtls_cert_t *cert);

/*
 * Parses "aa:BB:..." (32 hex pairs, any case) into 32 bytes; CS_OK or
 * CS_EINVAL. The part of "a=fingerprint:sha-256 <hex>" after the space.
 */
int cs_dtls_fingerprint_parse(const char *text, uint8_t out[32]);

/* ---- session ------------------------------------------------------------------ */

typedef enum {
    CS_DTLS_ROLE_CLIENT,                /* a=setup:active — sends the ClientHello */
    CS_DTLS_ROLE_SERVER,                /* a=setup:passive — waits for it */
} cs_dtls_role_t;

typedef enum {
    CS_DTLS_STATE_NEW,                  /* made, not started */
    CS_DTLS_STATE_HANDSHAKING,
    CS_DTLS_STATE_CONNECTED,            /* on_connected has been called */
    CS_DTLS_STATE_FAILED,               /* on_failed has been called */
    CS_DTLS_STATE_CLOSED,               /* close_notify sent or received */
} cs_dtls_state_t;

/* What the srtp module needs; RFC 5764 §4.2 lays out the material as
 * client key | server key | client salt | server salt. */
typedef struct {
    uint16_t profile_id;                /* CS_DTLS_SRTP_* */
    const char *profile_name;           /* "SRTP_AEAD_AES_128_GCM", static */
    size_t key_len;                     /* master key bytes per direction */
    size_t salt_len;                    /* master salt bytes per direction */
    uint8_t material[CS_DTLS_KEYING_MAX];
    size_t material_len;                /* 2 * (key_len + salt_len) */
    bool is_client;                     /* we were the DTLS client */
} cs_dtls_keys_t;

typedef struct {
    /* One outgoing datagram (at most the MTU); the bytes are only valid during
     * the call. Losing it is fine: the handshake retransmits. Required. */
    void (*send)(void *user, const uint8_t *data, size_t len);
    /* Once: handshake done and the remote fingerprint matched. keys is wiped
     * after the call returns; copy what is needed. Required. */
    void (*on_connected)(void *user, const cs_dtls_keys_t *keys);
    /* Once, instead of on_connected: handshake failure, timeout or fingerprint
     * mismatch (code CS_EAUTH, "remote fingerprint does not match the SDP").
     * Required. */
    void (*on_failed)(void *user, int code, const char *reason);
    /* Once, after on_connected, when the peer closes (close_notify or a fatal
     * alert). May be NULL. */
    void (*on_closed)(void *user, const char *reason);
} cs_dtls_callbacks_t;

typedef struct cs_dtls_session cs_dtls_session_t;

/*
 * remote_fingerprint_sha256 is the hex part of the remote SDP's
 * a=fingerprint:sha-256 (see cs_dtls_fingerprint_parse). The callbacks are
 * copied. Callbacks run inside cs_dtls_session_start/receive/on_timer/close
 * and must not free the session. NULL on failure with *err set (CS_EINVAL for
 * arguments, CS_ENOMEM).
 */
cs_dtls_session_t *cs_dtls_session_new(const cs_dtls_cert_t *cert, cs_dtls_role_t role,
                                       const char *remote_fingerprint_sha256,
                                       const cs_dtls_callbacks_t *cb, void *user, int *err);

/* Frees the session without sending anything (see cs_dtls_session_close). */
void cs_dtls_session_free(cs_dtls_session_t *s);

/*
 * Starts the handshake: a client sends its ClientHello, a server waits. A
 * server also starts by itself on the first datagram it receives. CS_OK,
 * CS_ESTATE when already started, or the code given to on_failed.
 */
int cs_dtls_session_start(cs_dtls_session_t *s);

/*
 * Feeds one received datagram (check cs_dtls_is_dtls first). Drives the
 * handshake; after it, application data is read and dropped (data channels
 * are out of scope) and retransmitted flights from the peer are answered.
 * Datagrams that are not valid DTLS records are discarded as RFC 6347 §4.1.2.7
 * asks. Returns CS_OK; CS_ESTATE when not started (client), failed or closed;
 * CS_ETOOBIG above CS_DTLS_MAX_DATAGRAM; CS_EINVAL for bad arguments; or the
 * code given to on_failed when this datagram failed the handshake.
 */
int cs_dtls_session_receive(cs_dtls_session_t *s, const uint8_t *dgram, size_t len);

/* Milliseconds until cs_dtls_session_on_timer is due (0 = now), or -1 when no
 * retransmission timer runs. */
int cs_dtls_session_timeout_ms(const cs_dtls_session_t *s);

/* Retransmits the last flight when its timer has expired (nothing otherwise).
 * CS_OK, or the code given to on_failed (CS_EIO, "handshake timed out"). */
int cs_dtls_session_on_timer(cs_dtls_session_t *s);

/* Sends close_notify once connected and moves to CLOSED; CS_OK or CS_ESTATE. */
int cs_dtls_session_close(cs_dtls_session_t *s);

cs_dtls_state_t cs_dtls_session_state(const cs_dtls_session_t *s);
cs_dtls_role_t cs_dtls_session_role(const cs_dtls_session_t *s);
/* Why the session failed or closed; "" otherwise. Never NULL. */
const char *cs_dtls_session_reason(const cs_dtls_session_t *s);

/* Sets the outgoing datagram size (default CS_DTLS_MTU, 256..1500); call
 * before start. CS_OK or CS_EINVAL. */
int cs_dtls_session_set_mtu(cs_dtls_session_t *s, size_t mtu);

/* The SRTP protection profiles offered (a client) or accepted (a server), in
 * order of preference, as OpenSSL names them joined by ':' — e.g.
 * "SRTP_AES128_CM_SHA1_80"; only the two profiles above are known. Without
 * this call: CS_DTLS_SRTP_PROFILES_DEFAULT (AES-GCM first, as Chromium).
 * Call before start. CS_OK; CS_EINVAL for an unknown or empty name, or
 * after start. */
int cs_dtls_session_set_srtp_profiles(cs_dtls_session_t *s, const char *profiles);

/* ---- demultiplexing ------------------------------------------------------------ */

/* RFC 7983 §7: a datagram whose first byte is 20..63 is DTLS. */
bool cs_dtls_is_dtls(const uint8_t *p, size_t len);

#endif
