/*
 * hostile.h — an attacker beside one synthetic participant of a live
 * consult (consilium-load --hostile PPS). It sends the server's media port
 * what a hostile network may: random datagrams, the participant's own SRTP
 * replayed, forged SRTP, RTCP with wrong lengths and counts under valid
 * SRTCP, DTLS handshakes with a certificate other than the one in the SDP,
 * and STUN with wrong credentials. Some come from the participant's own
 * address (an attacker on the path, or one who spoofs it), some from
 * another port of the same host (anyone who learnt the server's candidate).
 * Whether the consult went on shows in the run's figures: loss after
 * recovery, latency, decoded frames.
 *
 * Threads: the thread of the peer it attacks. Ownership: the victim peer is
 * borrowed and must outlive the attacker, which sets the peer's tap (to
 * copy the SRTP it replays and forges from) and removes it when freed.
 */
#ifndef CS_LOAD_HOSTILE_H
#define CS_LOAD_HOSTILE_H

#include <stdint.h>

#include "tests/load/peer.h"

typedef enum {
    LT_HOSTILE_RANDOM,          /* random bytes, every first-byte range, from the victim's address */
    LT_HOSTILE_STRANGER,        /* random bytes from another port */
    LT_HOSTILE_REPLAY,          /* the victim's SRTP again, from its address and from another port */
    LT_HOSTILE_FORGED,          /* the victim's RTP headers, sequence ahead, random payload and tag */
    LT_HOSTILE_RTCP,            /* valid SRTCP carrying RTCP with wrong lengths and counts */
    LT_HOSTILE_DTLS,            /* ClientHellos of another certificate; from another port, followed */
    LT_HOSTILE_STUN,            /* binding requests, wrong password or username; USE-CANDIDATE too */
    LT_HOSTILE_KINDS,
} lt_hostile_kind_t;

typedef struct {
    uint64_t sent[LT_HOSTILE_KINDS];
    /* What the server sent back to the other port, by first byte; of the
     * STUN, the success responses (a server that checks credentials sends
     * none: only errors, 400 or 401, or nothing). */
    uint64_t answers_stun, answers_dtls, answers_other, answers_stun_success;
    /* Handshakes from the other port that reached the end on our side
     * (the server then holds a certificate it was not told of). */
    uint64_t dtls_completed;
} lt_hostile_stats_t;

typedef struct lt_hostile lt_hostile_t;

/* Attacks victim at pps datagrams a second in all, the kinds in turn, from
 * its first lt_hostile_poll after the victim is connected. bind_address is
 * the other port's address (the victim's, "127.0.0.1"). NULL with *err:
 * CS_EINVAL, CS_ENOMEM, CS_EIO (no socket or certificate). */
lt_hostile_t *lt_hostile_new(lt_peer_t *victim, const char *bind_address, double pps,
                             uint64_t seed, int *err);
void lt_hostile_free(lt_hostile_t *h);
/* Sends what is due, reads the answers; returns when it next needs a call
 * (monotonic µs). */
int64_t lt_hostile_poll(lt_hostile_t *h, int64_t now_us);
/* Adds h's counts to *sum (the run's, over every consult). */
void lt_hostile_stats_add(const lt_hostile_t *h, lt_hostile_stats_t *sum);
const char *lt_hostile_kind_name(lt_hostile_kind_t k);

#endif
