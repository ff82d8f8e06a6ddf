/* internal.h — what the ice module's files share: the agent's layout, its
 * re-entrancy guard, and the candidate helpers of ice_candidate.c. */
#ifndef CS_ICE_INTERNAL_H
#define CS_ICE_INTERNAL_H

#include <sys/socket.h>

#include <nice/agent.h>

#include "ice.h"

/* RFC 8839 ice-char, what ufrag, pwd and foundations are made of */
#define ICE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

struct cs_ice_agent {
    NiceAgent *nice;
    GMainContext *ctx;                  /* the owner's; sockets stay attached to it */
    guint stream;                       /* its one stream; component 1 */
    cs_ice_callbacks_t cb;
    void *user;
    cs_ice_state_t state;
    bool has_public;                    /* NAT 1:1 address to advertise */
    NiceAddress public_addr;

    /* generation: reset by cs_ice_agent_restart */
    bool gather_asked;                  /* cs_ice_agent_gather called */
    bool have_remote;                   /* remote credentials set */
    char remote_ufrag[CS_ICE_UFRAG_MAX];
    char remote_pwd[CS_ICE_PWD_MAX];
    size_t n_remote;                    /* candidates taken (applied or queued) */
    NiceCandidate *queued[CS_ICE_MAX_REMOTE_CANDIDATES]; /* before credentials */
    size_t n_queued;

    /* agent's life */
    bool nice_gathering;                /* libnice's one gathering has started */
    bool nice_gathered;                 /* ... and finished */
    bool has_pair;                      /* a pair has been selected once */

    /* ice_send.c's path: the selected pair's socket and remote address when
     * it is plain UDP and a batch is configured; raw_fd -1 otherwise. */
    cs_ice_batch_t *batch;
    int raw_fd;
    socklen_t raw_to_len;
    struct sockaddr_storage raw_to;

    /* Callbacks may free the agent: while a callback or an API call that can
     * call back is on the stack, cs_ice_agent_free only marks it doomed and
     * the outermost leave() frees it. */
    unsigned busy;
    bool doomed;

    uint8_t scratch[CS_ICE_MAX_DATAGRAM]; /* on_data's buffer, changeable in place */
};

/* ice.c: guard around anything that may run a user callback; leave() returns
 * true when it freed the agent (the caller must not touch it again). */
void ice_enter(cs_ice_agent_t *a);
bool ice_leave(cs_ice_agent_t *a);

/* ice_send.c: queues one datagram for fd; to is kept until the batch is
 * flushed (the agent flushes before it changes raw_to or is freed). CS_OK or
 * CS_ETOOBIG. */
int ice_batch_queue(cs_ice_batch_t *b, int fd, const struct sockaddr_storage *to,
                    socklen_t to_len, const uint8_t *buf, size_t len);

/* ice_candidate.c: parses a remote "candidate:..." line (with or without
 * "a=", trailing CR/LF/space ignored) into a new libnice candidate for the
 * agent's stream. CS_EINVAL malformed; CS_EUNSUPPORTED for TCP or unknown
 * transports, components other than 1, peer-reflexive or unknown types and
 * host names (mDNS ".local" included: nothing is resolved). */
int ice_candidate_parse(cs_ice_agent_t *a, const char *line, NiceCandidate **out);

/* ice_candidate.c: hands a local candidate to on_candidate as "candidate:..."
 * (host candidates with the public address when one is configured). UDP
 * host, server-reflexive and relayed candidates only. */
void ice_candidate_emit(cs_ice_agent_t *a, const NiceCandidate *c);

/* ice_candidate.c: true when s is an IP literal; *out (may be NULL) gets it. */
bool ice_address_parse(const char *s, NiceAddress *out);

#endif
