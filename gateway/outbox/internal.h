/*
 * internal.h — what the outbox's three files share, and nobody else sees:
 *
 *   outbox.c    the worker thread, the one-slot queue and the result
 *   delivery.c  one HTTP POST with libcurl, and what a FHIR response means
 *   smart.c     the SMART Backend Services token client and its cache
 *
 * Everything here runs on the worker thread, except that cs_outbox_free (on
 * the owner's thread) sets the stop flag and wakes the multi handle.
 */
#ifndef CS_OUTBOX_INTERNAL_H
#define CS_OUTBOX_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "outbox.h"

/* A transaction-response for three entries is a few hundred bytes; a server
 * that ignores "Prefer: return=minimal" may echo the resources (with the
 * PDF), which we need not read: the rest is dropped and the status decides. */
#define CS_OUTBOX_BODY_MAX (1024 * 1024)
#define CS_OUTBOX_REASON_MAX 256

/* How requests are made: shared by the Bundle post and the token request. */
typedef struct {
    CURLM *multi;          /* one per outbox: keeps connections, and can be woken */
    const char *ca_file;   /* NULL: the system's CA bundle */
    bool skip_host_check;  /* certificate still verified, its name not */
    int64_t timeout_ms;    /* per request, connecting included */
    atomic_bool *stop;     /* set by cs_outbox_free: abort what is in flight */
} cs_outbox_transport_t;

typedef struct {
    const char *url;
    const char *content_type;
    const char *accept;
    const char *bearer; /* NULL: no Authorization header */
    const char *prefer; /* NULL: no Prefer header */
    const char *body;
    size_t len;
} cs_outbox_request_t;

typedef struct {
    int status;             /* 0: no response (refused, timeout, DNS, TLS, stopped) */
    char *body;             /* malloc'd, NUL-terminated, at most CS_OUTBOX_BODY_MAX bytes */
    size_t len;
    bool truncated;         /* the body was longer; the rest was dropped */
    int64_t retry_after_ms; /* Retry-After, seconds or HTTP-date; 0 when absent */
    char error[CS_OUTBOX_REASON_MAX]; /* status 0: what went wrong, in curl's words */
} cs_outbox_reply_t;

/* ---- delivery.c ------------------------------------------------------------ */

/* One pthread_once'd curl_global_init; CS_OK or CS_EIO. Call before any curl use. */
int cs_outbox_curl_init(void);

/* POSTs rq and fills *rp (cleared first; release with cs_outbox_reply_clear).
 * A failed exchange is not an error: rp->status is 0 and rp->error says why.
 * CS_ENOMEM when the request could not even be set up. */
int cs_outbox_post(const cs_outbox_transport_t *t, const cs_outbox_request_t *rq,
                   cs_outbox_reply_t *rp);
void cs_outbox_reply_clear(cs_outbox_reply_t *rp);

/* What a reply to the posted Bundle means (docs/RECORDS.md): fills outcome,
 * http_status, retry_after_ms, location and reason of *res. bundle is what was
 * posted: when no response entry names its location, the DocumentReference's
 * entry is found by its position in the request. */
void cs_outbox_classify(const cs_outbox_reply_t *rp, const char *bundle, size_t bundle_len,
                        cs_outbox_result_t *res);

/* Retry-After's value (delay-seconds or an HTTP-date, compared with now_s,
 * seconds since the epoch) as ms to wait: 0 when absent, past or malformed,
 * at most a day. */
int64_t cs_outbox_retry_after_ms(const char *value, int64_t now_s);

/* printf into a reason: cut to fit on a UTF-8 boundary, control characters
 * replaced by spaces (it is shown to people and written to logs). */
void cs_outbox_reason(char reason[CS_OUTBOX_REASON_MAX], const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True for a credential safe to put in a header: 1..8191 visible ASCII
 * characters (no spaces, no CR/LF that could inject another header). */
bool cs_outbox_token_ok(const char *s);

/* ---- smart.c --------------------------------------------------------------- */

typedef struct {
    char *token_url, *client_id, *key_pem, *scope; /* owned copies; scope may be NULL */
    char *access_token;                            /* NULL: none cached */
    int64_t valid_until_ms;                        /* cs_mono_ms() after which it is refetched */
} cs_outbox_smart_t;

/* The access token to use now: the cached one, or a new one from the token
 * endpoint. CS_OK and *token (valid until the next call or drop), CS_EAGAIN
 * with reason ("token endpoint: ..."), or CS_ENOMEM. */
int cs_outbox_smart_token(cs_outbox_smart_t *s, const cs_outbox_transport_t *t,
                          const char **token, char reason[CS_OUTBOX_REASON_MAX]);
/* What the token endpoint's reply means (fetch's second half; separate so
 * that it can be fuzzed): CS_OK when a 200 carried a usable bearer token,
 * now cached in s (which must hold none), else CS_EAGAIN with reason, or
 * CS_ENOMEM. */
int cs_outbox_smart_answer(cs_outbox_smart_t *s, const cs_outbox_reply_t *rp,
                           char reason[CS_OUTBOX_REASON_MAX]);
/* Forgets the cached token (the record system said 401). */
void cs_outbox_smart_drop(cs_outbox_smart_t *s);
/* Frees everything, the configuration copies included. */
void cs_outbox_smart_clear(cs_outbox_smart_t *s);

#endif
