/*
 * janus_internal.h — what janus.c (the VideoRoom flow: rooms, publishers,
 * subscribers, readiness) and janus_api.c (the Janus API's plumbing:
 * requests with transactions, trickle, held candidates, and the goodbyes
 * that outlive a consult) share.
 *
 * Not a public header: tests/load/driver.h (lt_driver_janus) is the interface.
 */
#ifndef CS_LOAD_JANUS_INTERNAL_H
#define CS_LOAD_JANUS_INTERNAL_H

#include <glib.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/load/driver.h"
#include "tests/load/ws.h"

#define LT_J_CAND_MAX 8             /* candidates held per direction and PeerConnection */
#define LT_J_CAND_LEN 256
#define LT_J_TICK_MS 50             /* readiness, reports, keepalives */
#define LT_J_KEEPALIVE_US (25 * 1000000LL)
#define LT_J_GOODBYE_MS 2000        /* longest wait for Janus to answer our goodbye */
#define LT_J_PLUGIN "janus.plugin.videoroom"

typedef struct lt_jpart lt_jpart_t;
typedef struct lt_jconsult lt_jconsult_t;

/* Candidates held until they may go on ("" ends them: done). */
typedef struct {
    char c[LT_J_CAND_MAX][LT_J_CAND_LEN];
    size_t n;
    bool done;
} lt_jcands_t;

/* One PeerConnection of a participant with its Janus handle. */
typedef struct {
    lt_jpart_t *part;
    bool sub;                               /* the subscribing one */
    uint64_t handle;                        /* 0 until attached */
    lt_peer_t *peer;
    bool sdp_sent;                          /* our offer/answer went out: our candidates follow */
    bool remote_set;                        /* Janus's SDP applied: its candidates may be added */
    bool up;                                /* Janus said webrtcup */
    lt_jcands_t local, remote;
} lt_jpc_t;

struct lt_jpart {
    lt_jconsult_t *jc;                      /* NULL once the consult stopped (saying goodbye) */
    GSource *goodbye;                       /* deadline of the goodbye */
    unsigned bye_pending;                   /* goodbye requests to the plugin not answered yet */
    unsigned index;
    lt_ws_t *ws;
    uint64_t session;
    uint64_t feed;                          /* our publisher id in the room */
    bool join_sent;
    unsigned tx;
    int64_t keepalive_us;
    lt_jpc_t pub, sub;
    const lt_sender_t *sources[2 * LT_MAX_PARTICIPANTS]; /* the others' senders, for sub */
};

struct lt_jconsult {
    lt_consult_t *c;
    uint64_t room;
    bool room_ready;
    bool subscribing;                       /* every publisher was up: subscribers started */
    bool told_ready, told_failed;
    bool failed;
    char why[256];
    GSource *timer;
    lt_jpart_t *parts[LT_MAX_PARTICIPANTS]; /* each its own allocation: it may outlive jc */
};

/* ---- janus_api.c --------------------------------------------------------------------------- */

/* Records why the consult failed (the first reason wins; jc NULL: ignored).
 * The consult's timer tells the runner. */
void lt_jfail(lt_jconsult_t *jc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A positive integer member of o, or 0. */
uint64_t lt_jint(const json_t *o, const char *key);
/* A string member of o, or "". */
const char *lt_jstr(const json_t *o, const char *key);
bool lt_jstarts(const char *s, const char *prefix);
const char *lt_jpc_name(const lt_jpc_t *pc);
/* Sends msg (stolen) with a transaction "<kind>-<n>" and p's session id. */
int lt_jsend(lt_jpart_t *p, json_t *msg, const char *kind);
/* A request to the VideoRoom plugin on pc's handle (body stolen), with an SDP when given. */
int lt_jplugin(lt_jpc_t *pc, json_t *body, const char *type, const char *sdp, const char *kind);
/* One of our candidates to Janus ("": end of candidates). */
void lt_jtrickle(lt_jpc_t *pc, const char *candidate);
/* One of Janus's candidates to pc's peer ("": end of candidates). */
void lt_jadd_remote(lt_jpc_t *pc, const char *candidate);
/* Holds a candidate until it may go on; then release sends each with go. */
void lt_jhold(lt_jcands_t *h, const char *candidate);
void lt_jrelease(lt_jpc_t *pc, lt_jcands_t *h, void (*go)(lt_jpc_t *, const char *));

/* The consult stopped: p (peers already freed) says goodbye to Janus on
 * its own and frees itself when done, or after LT_J_GOODBYE_MS. */
void lt_jgoodbye(lt_jpart_t *p);
/* What Janus says to a participant saying goodbye. */
void lt_jgoodbye_reply(lt_jpart_t *p, const char *text, size_t len);
/* Frees p and its socket. */
void lt_jpart_free(lt_jpart_t *p);
/* Participants still saying goodbye. */
size_t lt_jgoodbyes_left(void);

#endif
