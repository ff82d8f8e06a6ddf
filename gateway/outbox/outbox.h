/*
 * outbox.h — the delivery worker of the document outbox: one thread that
 * posts FHIR transaction Bundles to the record system with libcurl and says
 * how each post went.
 *
 * The only user of libcurl. It knows nothing of SQLite, the consult engine or
 * the event loop: the owner (gateway/documents.c, on the signalling thread)
 * picks what is due from storage, submits it here, and takes the result back
 * after the wake callback says one is ready. One post at a time; the durable
 * state (attempts, next try, delivered) is the owner's. Authentication is a
 * static bearer token or SMART Backend Services (docs/RECORDS.md): the worker
 * fetches and caches the access token itself.
 */
#ifndef CS_OUTBOX_H
#define CS_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"
#include "signaling/proto/proto.h"

typedef struct cs_outbox cs_outbox_t;

typedef struct {
    const char *url;              /* FHIR base URL; the Bundle is POSTed to it */
    const char *auth;             /* "bearer" or "smart" */
    const char *bearer_token;     /* auth = bearer */
    const char *smart_token_url;  /* auth = smart */
    const char *smart_client_id;
    const char *smart_key_pem;    /* PEM private key: EC P-384 (ES384) or RSA (RS384) */
    const char *smart_scope;
    const char *ca_file;          /* NULL or "": the system's CA bundle */
    bool skip_host_check;         /* only for the built-in store on loopback with its own cert */
    int64_t timeout_ms;           /* per request (and per token request); 0: 30 s */
    /* Called on the worker thread when a result is ready (e.g. cs_ws_wake). */
    void (*wake)(void *user);
    void *wake_user;
} cs_outbox_config_t;

typedef enum {
    CS_DELIVERY_DELIVERED, /* 2xx and the response Bundle accepted the DocumentReference */
    CS_DELIVERY_RETRY,     /* try again later: no connection, timeout, 5xx, 408, 429, 401 once */
    CS_DELIVERY_REFUSED,   /* the record system refused it (4xx): trying again will not help */
} cs_delivery_outcome_t;

typedef struct {
    char document_id[CS_ID_MAX];
    cs_delivery_outcome_t outcome;
    int http_status;              /* 0 when no response arrived */
    int64_t retry_after_ms;       /* from a Retry-After header, else 0 */
    char location[256];           /* DELIVERED: the DocumentReference's location, e.g.
                                     "DocumentReference/17/_history/1" */
    char reason[256];             /* otherwise: in words (the OperationOutcome's diagnostics,
                                     the HTTP status, or curl's error); never the token */
} cs_outbox_result_t;

/* Copies cfg (and reads nothing from disk) and starts the thread. NULL and
 * *err = CS_EINVAL (a url or token url that is not http:// or https://,
 * unknown auth, a bearer token that is empty or not visible ASCII, no client
 * id, a smart key that is not an unencrypted EC P-384 or RSA >= 2048 private
 * key), CS_ENOMEM, or CS_EIO (curl or thread). */
cs_outbox_t *cs_outbox_new(const cs_outbox_config_t *cfg, int *err);
/* Stops the worker, aborting a post in flight within about a second (its
 * document stays owed; the next start posts it again). NULL is safe. */
void cs_outbox_free(cs_outbox_t *o);

/* True when no post is in flight and no result waits to be taken. */
bool cs_outbox_idle(const cs_outbox_t *o);
/* Hands the worker one Bundle (copied). CS_EAGAIN unless idle (common.h has no
 * CS_EBUSY), CS_EINVAL, CS_ENOMEM. */
int cs_outbox_submit(cs_outbox_t *o, const char *document_id, const char *bundle, size_t len);
/* Takes the finished post's result: 1 and *out, or 0 when there is none yet. */
int cs_outbox_take(cs_outbox_t *o, cs_outbox_result_t *out);

/* The wait before attempt number `attempts` + 1 after `attempts` failures
 * (attempts >= 1): min_ms doubled attempts-1 times, at most max_ms, times a
 * factor in [0.5, 1] from unit_random in [0, 1). Pure. */
int64_t cs_outbox_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms, double unit_random);

#endif
