/*
 * ice.h — one WebRTC transport's ICE agent (RFC 8445, trickle RFC 8838,
 * consent freshness RFC 7675): the only user of libnice in the project.
 *
 * One agent carries one BUNDLEd, rtcp-muxed transport: one stream, one
 * component. The gateway is the controlled side (browsers offer, so they
 * control); the load tool's synthetic browsers are controlling when they
 * offer (cs_ice_config_t.controlling). Either does full ICE, gathering host
 * candidates on the configured addresses (or every non-loopback interface;
 * 127.0.0.1 on a machine without any), with an advertised public address
 * substituted for NAT 1:1 deployments, in a configured UDP port range.
 *
 * Threads: an agent lives in the GMainContext it was made with (a media
 * worker's); every function must be called on the thread that runs that
 * context, and every callback is invoked there. libnice's STUN traffic is
 * handled inside; on_data only sees DTLS, RTP and RTCP datagrams.
 * Callbacks also run from inside cs_ice_agent_gather (candidates, gathering
 * done), cs_ice_agent_restart (on_state CHECKING) and the calls that hand
 * over remote credentials or candidates (on_state). A callback may free the
 * agent.
 *
 * Ownership: the agent keeps no pointer to what it was given except the
 * callbacks' user pointer (and libnice a reference to the main context).
 * Strings passed to callbacks are valid only during the call.
 */
#ifndef CS_ICE_H
#define CS_ICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define CS_ICE_MAX_ADDRESSES 8       /* configured local addresses */
#define CS_ICE_MAX_REMOTE_CANDIDATES 64 /* per generation; more are refused */
#define CS_ICE_CANDIDATE_MAX 256     /* bytes of one "candidate:..." line with NUL */
#define CS_ICE_UFRAG_MAX 65
#define CS_ICE_PWD_MAX 129
#define CS_ICE_MAX_DATAGRAM 2048     /* larger incoming datagrams are dropped */

typedef enum {
    CS_ICE_STATE_NEW,
    CS_ICE_STATE_CHECKING,
    CS_ICE_STATE_CONNECTED,  /* a pair works (also after a restart completes) */
    CS_ICE_STATE_FAILED,     /* every pair failed, or consent was lost */
    CS_ICE_STATE_CLOSED,     /* never reported; cs_ice_agent_state(NULL) */
} cs_ice_state_t;

typedef struct {
    /* Local addresses to gather host candidates on ("127.0.0.1", "::1",
     * "10.0.0.5"); none: every non-loopback interface of the machine. */
    const char *addresses[CS_ICE_MAX_ADDRESSES];
    size_t n_addresses;
    /* When set, host candidates are advertised with this IPv4/IPv6 address
     * instead of the local one (NAT 1:1); the port stays. Only host
     * candidates of the same IP version are rewritten. */
    const char *public_address;
    uint16_t port_min, port_max;     /* 0, 0: any port; else 1 <= min <= max */
    /* "host:port" or "[v6]:port" for srflx candidates, host an IP literal
     * (nothing is resolved); NULL: none */
    const char *stun_server;
    /* false (the gateway): controlled, as the answerer. true: controlling
     * with regular nomination, as a browser that offered. */
    bool controlling;
    /* Borrowed, of the same main context; NULL: every datagram is sent at
     * once through libnice. See cs_ice_batch_new. */
    struct cs_ice_batch *batch;
} cs_ice_config_t;

typedef struct {
    /* A local candidate, as "candidate:..." without "a=" (SDP attribute
     * value). Trickled as soon as known. Required. */
    void (*on_candidate)(void *user, const char *candidate);
    /* Gathering finished for the current generation: send end-of-candidates.
     * Required. */
    void (*on_gathering_done)(void *user);
    /* The state changed. Required. */
    void (*on_state)(void *user, cs_ice_state_t state);
    /* A datagram that is not STUN. buf is owned by the agent and valid only
     * during the call; the callee may modify it in place (len bytes, at most
     * CS_ICE_MAX_DATAGRAM). May be NULL. */
    void (*on_data)(void *user, uint8_t *buf, size_t len);
} cs_ice_callbacks_t;

typedef struct cs_ice_agent cs_ice_agent_t;

/*
 * Makes an agent in main_context (a GMainContext *, passed as void * so this
 * header does not include GLib). It has fresh local credentials and has not
 * started gathering. Returns NULL with *err = CS_ENOMEM or CS_EINVAL (a
 * configured address that does not parse, port_min > port_max).
 */
cs_ice_agent_t *cs_ice_agent_new(void *main_context, const cs_ice_config_t *cfg,
                                 const cs_ice_callbacks_t *cb, void *user, int *err);
/* Closes the agent; no callback is invoked from within or after the call.
 * May be called from inside one of the agent's callbacks. NULL is accepted. */
void cs_ice_agent_free(cs_ice_agent_t *a);

/* The current local credentials (they change on cs_ice_agent_restart). */
int cs_ice_agent_local_credentials(const cs_ice_agent_t *a, char ufrag[CS_ICE_UFRAG_MAX],
                                   char pwd[CS_ICE_PWD_MAX]);

/* Sets the remote ufrag/pwd (from the offer). CS_EINVAL for empty, too long
 * or not made of ICE characters (RFC 8839 ice-char). Once per generation:
 * the same ones again are CS_OK, others CS_ESTATE (restart first). */
int cs_ice_agent_set_remote_credentials(cs_ice_agent_t *a, const char *ufrag, const char *pwd);

/* Starts gathering (once per generation: CS_ESTATE after that); candidates
 * come through on_candidate, then on_gathering_done. CS_EIO when no socket
 * could be bound (no address, or no free port in the range). libnice gathers
 * once per agent: after a restart the same candidates are handed out again. */
int cs_ice_agent_gather(cs_ice_agent_t *a);

/*
 * Adds one remote candidate ("candidate:..." with or without "a="). Unknown
 * transports, TCP candidates, host names (mDNS "<uuid>.local" included:
 * nothing is resolved), peer-reflexive types and components other than 1 are
 * ignored (CS_EUNSUPPORTED, harmless); malformed is CS_EINVAL; over
 * CS_ICE_MAX_REMOTE_CANDIDATES is CS_ELIMIT. Candidates that arrive before
 * the remote credentials are kept and applied with them.
 */
int cs_ice_agent_add_remote_candidate(cs_ice_agent_t *a, const char *candidate);
/* The remote side has no more candidates for this generation. */
void cs_ice_agent_remote_gathering_done(cs_ice_agent_t *a);

/*
 * ICE restart (RFC 8445 §9): new local credentials, remote candidates
 * forgotten, gathering again. Media keeps flowing on the old pair until the
 * new one is selected. Call cs_ice_agent_set_remote_credentials with the new
 * remote ones and cs_ice_agent_gather after it. (Consent for the old pair
 * needs the new remote credentials: without them it lapses after libnice's
 * consent timeout, 10 s in 0.1.21, and the state becomes FAILED.)
 */
int cs_ice_agent_restart(cs_ice_agent_t *a);

/* Sends one datagram on the selected pair. CS_ESTATE when no pair is
 * selected yet or consent was lost, CS_EAGAIN when the socket would block
 * (drop it: RTP), CS_EINVAL when empty, CS_ETOOBIG above 65507 bytes. */
int cs_ice_agent_send(cs_ice_agent_t *a, const uint8_t *buf, size_t len);

cs_ice_state_t cs_ice_agent_state(const cs_ice_agent_t *a);

/*
 * Batched sending for every agent of one main context (a media worker's).
 * An agent configured with a batch whose selected pair is plain UDP (not a
 * TURN relay) queues what cs_ice_agent_send gives it; the batch leaves with
 * one sendmmsg per socket just before the context next polls (or when 64
 * datagrams or 96 KB are queued). cs_ice_agent_send then reports only
 * what it could check at once: a datagram the kernel refuses later is
 * dropped and counted, as a full socket buffer drops one anyway.
 * The batch must outlive its agents (free them first); cs_ice_batch_free
 * sends what is queued. Same thread rules as the agents.
 */
typedef struct cs_ice_batch cs_ice_batch_t;
cs_ice_batch_t *cs_ice_batch_new(void *main_context, int *err);
void cs_ice_batch_free(cs_ice_batch_t *b);
void cs_ice_batch_flush(cs_ice_batch_t *b);
typedef struct {
    uint64_t syscalls, datagrams, dropped;
} cs_ice_batch_stats_t;
void cs_ice_batch_stats(const cs_ice_batch_t *b, cs_ice_batch_stats_t *out);
const char *cs_ice_state_name(cs_ice_state_t s);

/* The selected pair, for logs and stats: "udp 127.0.0.1:50000 -> 127.0.0.1:61234
 * (host/prflx)". "" when none. */
void cs_ice_agent_selected_pair(const cs_ice_agent_t *a, char *buf, size_t cap);
/* The selected pair's remote end as a socket address; CS_ESTATE when none. */
int cs_ice_agent_remote_address(const cs_ice_agent_t *a, struct sockaddr_storage *out,
                                socklen_t *len);

#endif
