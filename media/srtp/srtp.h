/*
 * srtp.h — SRTP and SRTCP (RFC 3711, RFC 7714) for DTLS-SRTP (RFC 5764)
 * media: the two protection profiles browsers negotiate, the keys a DTLS
 * handshake exports split into our direction and theirs, and in-place
 * protect/unprotect of RTP and RTCP packets.
 *
 * The only module that uses libsrtp (libsrtp2); its types never appear here.
 * No logging; functions return CS_OK or a negative CS_E* code.
 *
 * One session protects one direction of one DTLS association: an outbound
 * session protects what we send (any SSRC, retransmissions of an already
 * sent sequence number allowed, as RTX and NACK answers need), an inbound
 * session unprotects what the peer sends (any SSRC, with a replay window).
 * A session may be used by one thread at a time; different sessions may be
 * used from different threads at once. Per packet nothing is allocated;
 * libsrtp allocates once per new SSRC a session sees (an inbound one only
 * after that SSRC's first packet authenticates).
 *
 * Buffers: protect and unprotect work in place. Protect appends the trailer
 * (the authentication tag, plus for SRTCP the 4-byte E||index word) and needs
 * cap >= len + cs_srtp_overhead(); CS_SRTP_MAX_TRAILER bytes of spare room
 * are always enough. Unprotect shrinks the packet. After a failure the
 * buffer's bytes are unspecified (the packet must be dropped).
 */
#ifndef CS_SRTP_H
#define CS_SRTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- protection profiles ----------------------------------------------------- */

/* The DTLS-SRTP profile identifiers (RFC 5764 §4.1.2, RFC 7714 §14.2). */
typedef enum {
    CS_SRTP_AES128_CM_SHA1_80 = 0x0001, /* AES-128 counter mode, HMAC-SHA1 80-bit tag */
    CS_SRTP_AEAD_AES_128_GCM = 0x0007,  /* AES-128 GCM, 128-bit tag */
} cs_srtp_profile_t;

/*
 * Bytes protect adds at most:
 *   AES128_CM_SHA1_80   RTP 10 (tag)    RTCP 4 (E||index) + 10 (tag) = 14
 *   AEAD_AES_128_GCM    RTP 16 (tag)    RTCP 4 (E||index) + 16 (tag) = 20
 * CS_SRTP_MAX_TRAILER_RTP covers RTP under either profile, CS_SRTP_MAX_TRAILER
 * covers everything. No MKI is ever used.
 */
#define CS_SRTP_MAX_TRAILER_RTP 16
#define CS_SRTP_MAX_TRAILER 20

/* Key and salt lengths of the profiles above (master key 16; salt 14 or 12). */
#define CS_SRTP_MAX_KEY_LEN 16
#define CS_SRTP_MAX_SALT_LEN 14
#define CS_SRTP_MAX_KEY_SALT_LEN (CS_SRTP_MAX_KEY_LEN + CS_SRTP_MAX_SALT_LEN)
/* DTLS keying material for both directions: 2 * (key + salt); at most 60. */
#define CS_SRTP_MAX_MATERIAL_LEN (2 * CS_SRTP_MAX_KEY_SALT_LEN)
/* The exporter label of RFC 5764 §4.2, for SSL_export_keying_material. */
#define CS_SRTP_EXPORTER_LABEL "EXTRACTOR-dtls_srtp"

/* The largest packet protect or unprotect accepts (len; an IP datagram). */
#define CS_SRTP_MAX_PACKET 65535

/* Replay window (packets) of inbound sessions: libsrtp's default, and its range. */
#define CS_SRTP_REPLAY_WINDOW 128
#define CS_SRTP_REPLAY_WINDOW_MIN 64
#define CS_SRTP_REPLAY_WINDOW_MAX 32767

/* Master key and salt lengths in bytes; 0 for a value not in the enum. */
size_t cs_srtp_key_len(cs_srtp_profile_t profile);
size_t cs_srtp_salt_len(cs_srtp_profile_t profile);
/* key_len + salt_len, and the exported keying material: 2 * (key + salt). */
size_t cs_srtp_key_salt_len(cs_srtp_profile_t profile);
size_t cs_srtp_material_len(cs_srtp_profile_t profile);
/* Bytes protect appends to an RTP (rtcp false) or RTCP packet; 0 if unknown. */
size_t cs_srtp_overhead(cs_srtp_profile_t profile, bool rtcp);

/*
 * The profile named by OpenSSL's SRTP_PROTECTION_PROFILE name
 * ("SRTP_AES128_CM_SHA1_80", "SRTP_AEAD_AES_128_GCM"), or by its 16-bit id.
 * CS_OK, CS_EINVAL (NULL), or CS_EUNSUPPORTED (any other profile).
 */
int cs_srtp_profile_parse(const char *name, cs_srtp_profile_t *out);
int cs_srtp_profile_from_id(uint16_t id, cs_srtp_profile_t *out);
/* OpenSSL's name for the profile; "unknown" for a value not in the enum. */
const char *cs_srtp_profile_name(cs_srtp_profile_t profile);

/*
 * Splits the keying material a DTLS handshake exports (RFC 5764 §4.2:
 * client_key | server_key | client_salt | server_salt, len must be exactly
 * cs_srtp_material_len) into key||salt for each direction: local is what we
 * protect with (the client's write key when we_are_client), remote what we
 * unprotect with. Each output takes cs_srtp_key_salt_len bytes; pass
 * (out, out + cs_srtp_key_len) to cs_srtp_session_new. CS_OK or CS_EINVAL.
 */
int cs_srtp_split_keys(cs_srtp_profile_t profile, const uint8_t *material, size_t len,
                       bool we_are_client, uint8_t *local_key_salt, uint8_t *remote_key_salt);

/* ---- sessions -------------------------------------------------------------------- */

/*
 * Initialises libsrtp once for the process; later calls return the first
 * call's result. Thread-safe. CS_OK or CS_EIO. cs_srtp_session_new calls it.
 */
int cs_srtp_global_init(void);

typedef struct cs_srtp_session cs_srtp_session_t;

/*
 * A session for one direction: outbound (protect; any SSRC; repeated sequence
 * numbers allowed for retransmissions) or inbound (unprotect; any SSRC;
 * replay window CS_SRTP_REPLAY_WINDOW). key and salt are cs_srtp_key_len and
 * cs_srtp_salt_len bytes; they are copied (and the copy wiped), so the caller
 * may wipe its own. NULL on failure with *err (may be NULL) set to CS_EINVAL
 * (NULL key or salt, unknown profile), CS_ENOMEM or CS_EIO.
 */
cs_srtp_session_t *cs_srtp_session_new(cs_srtp_profile_t profile, const uint8_t *key,
                                       const uint8_t *salt, bool outbound, int *err);
/*
 * The same with the inbound replay window given: 0 for the default, else
 * CS_SRTP_REPLAY_WINDOW_MIN..MAX packets (CS_EINVAL otherwise).
 */
cs_srtp_session_t *cs_srtp_session_new_window(cs_srtp_profile_t profile, const uint8_t *key,
                                              const uint8_t *salt, bool outbound,
                                              unsigned window, int *err);
/* Frees the session and its keys; NULL is fine. */
void cs_srtp_session_free(cs_srtp_session_t *s);
cs_srtp_profile_t cs_srtp_session_profile(const cs_srtp_session_t *s);
bool cs_srtp_session_outbound(const cs_srtp_session_t *s);

/*
 * Protects the RTP packet buf[0..len) in place; *out_len receives the SRTP
 * length (len + cs_srtp_overhead). Returns CS_OK; CS_EINVAL (not an RTP
 * packet: under 12 bytes or not version 2; or an inbound session);
 * CS_ETOOBIG (len over CS_SRTP_MAX_PACKET, or cap < len + overhead);
 * CS_EEXIST (libsrtp refused the index: a replay it will not repeat);
 * CS_EIO (any other libsrtp failure).
 */
int cs_srtp_protect(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t cap,
                    size_t *out_len);
/*
 * Verifies and decrypts the SRTP packet buf[0..len) in place; *out_len
 * receives the RTP length. CS_OK; CS_EAUTH (the tag does not verify: tampered,
 * wrong key, or an SSRC this session cannot authenticate); CS_EEXIST (a
 * replay: already received, or older than the window); CS_EINVAL (too short
 * or malformed, or an outbound session); CS_ETOOBIG (len over
 * CS_SRTP_MAX_PACKET); CS_EIO (any other libsrtp failure).
 */
int cs_srtp_unprotect(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t *out_len);
/* The same for RTCP compound packets (under 8 bytes or not version 2: CS_EINVAL). */
int cs_srtp_protect_rtcp(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t cap,
                         size_t *out_len);
int cs_srtp_unprotect_rtcp(cs_srtp_session_t *s, uint8_t *buf, size_t len, size_t *out_len);

#endif
