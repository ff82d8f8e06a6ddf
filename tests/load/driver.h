/*
 * driver.h — what the scenario runner asks of a server's signalling
 * (Consilium's protocol in consilium.c, Janus's VideoRoom in janus.c): start
 * one consult of n synthetic participants, each publishing and receiving
 * the others, and end it. The runner owns the consults and polls their
 * peers; a driver owns its sockets and the peers it creates.
 *
 * Threads: everything runs on the run's one GMainContext thread.
 */
#ifndef CS_LOAD_DRIVER_H
#define CS_LOAD_DRIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/dtls/dtls.h"
#include "tests/load/media.h"
#include "tests/load/peer.h"

#define LT_MAX_PARTICIPANTS 8
/* Peers a consult may have: Janus needs two per participant (a publishing
 * and a subscribing PeerConnection); Consilium one. */
#define LT_MAX_PEERS (2 * LT_MAX_PARTICIPANTS)

/* Settings shared by every consult of a run (borrowed by the drivers). */
typedef struct {
    void *ctx;                   /* GMainContext * */
    const lt_media_t *media;
    const cs_dtls_cert_t *cert;
    const char *url;             /* "ws://127.0.0.1:8080/ws" (Consilium), "ws://127.0.0.1:8188" (Janus) */
    const char *tenant;          /* Consilium: the centre the synthetic users belong to */
    const char *specialty;       /* Consilium: the specialty requested (default "cardiology") */
    const char *jwt_secret_file; /* Consilium: HS256 secret to mint tokens (<data_dir>/jwt-secret) */
    const char *bind_address;    /* local ICE address, "127.0.0.1" */
    const char *srtp_profiles;   /* NULL: as Chromium */
    bool audio, video;           /* what each participant publishes */
    struct cs_ice_batch *ice_batch; /* the peers' sends, batched per turn of ctx (media/ice) */
    uint32_t run_id;             /* random per run: unique user and room names */
} lt_env_t;

typedef enum {
    LT_CONSULT_STARTING,         /* signalling and media being set up */
    LT_CONSULT_READY,            /* every peer connected and receiving every other's tracks */
    LT_CONSULT_FAILED,
    LT_CONSULT_STOPPED,
} lt_consult_state_t;

typedef struct lt_consult lt_consult_t;
struct lt_consult {
    const lt_env_t *env;
    unsigned index;              /* 0, 1, … in the run */
    size_t n;                    /* participants, 2..LT_MAX_PARTICIPANTS */
    bool decode;                 /* this consult's receivers decode (integrity sample) */
    lt_consult_state_t state;
    int64_t started_us, ready_us;
    char error[256];
    /* Set by the driver as it creates them; NULL until then. The runner
     * polls and reads every non-NULL peers[i] with i < n_peers. Consilium:
     * participant i's peer at i, n_peers = n. Janus: participant i's
     * publisher at i and its subscriber at n + i, n_peers = 2n. */
    lt_peer_t *peers[LT_MAX_PEERS];
    size_t n_peers;
    void *driver_state;
    /* The runner's: called by lt_consult_ready / lt_consult_failed. */
    void (*on_change)(lt_consult_t *c);
    void *runner;
};

/* For drivers: the consult is ready (sets ready_us) / failed (the reason is
 * printf-formatted into error). Each calls on_change once per transition. */
void lt_consult_ready(lt_consult_t *c);
void lt_consult_failed(lt_consult_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct {
    const char *name;            /* "consilium", "janus" */
    /* Once per run before any consult (read the secret, check the URL).
     * 0, or a negative code with a message in err. */
    int (*init)(const lt_env_t *env, char *err, size_t cap);
    /* Starts c (state STARTING): connects its participants, pairs them
     * (request/accept/join, or a room), negotiates media for everyone;
     * reports with lt_consult_ready / lt_consult_failed. 0 or a negative
     * code when it could not even start (c->error says why). */
    int (*start)(lt_consult_t *c);
    /* Ends c as users would (end the consult / leave and destroy the room),
     * frees its peers and sockets (peers[] set to NULL). No callback after. */
    void (*stop)(lt_consult_t *c);
    /* After the last consult stopped. May be NULL. */
    void (*finish)(const lt_env_t *env);
} lt_driver_t;

extern const lt_driver_t lt_driver_consilium;
extern const lt_driver_t lt_driver_janus;

#endif
