/*
 * outbox.c — the delivery worker of the document outbox: one thread, a
 * one-slot queue and the result of the last post (outbox.h; docs/RECORDS.md).
 *
 * The owner submits a Bundle when the worker is idle, the worker posts it
 * (delivery.c), authenticating with the static bearer token or a SMART
 * access token (smart.c), leaves the result in the slot and calls the wake
 * callback; the owner takes it. One slot is enough: the owner delivers one
 * document at a time, in the order storage says is due.
 *
 * cs_outbox_free sets the stop flag and wakes the multi handle, so a post in
 * flight (even to a server that never answers) is abandoned within
 * milliseconds; its document simply stays owed.
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "signaling/auth/auth.h"

#define URL_MAX 2048

struct cs_outbox {
    char *url, *bearer, *ca_file;
    bool smart_auth;
    cs_outbox_smart_t smart; /* worker thread only */
    cs_outbox_transport_t transport;
    atomic_bool stop;
    void (*wake)(void *user);
    void *wake_user;
    pthread_t thread;
    bool thread_started, sync_ready;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* under mu */
    bool busy;         /* from submit until the result is taken */
    bool job_ready;    /* submitted, not yet picked up by the worker */
    bool result_ready; /* posted, not yet taken */
    char document_id[CS_ID_MAX];
    char *bundle; /* the worker's alone while it posts */
    size_t len;
    cs_outbox_result_t result;
};

/* ---- one delivery (worker thread) ------------------------------------------- */

static void retry_because(cs_outbox_result_t *res, const char *reason)
{
    res->outcome = CS_DELIVERY_RETRY;
    cs_strlcpy(res->reason, reason, sizeof res->reason);
}

/* A server may echo what it was sent; the token must not reach a reason. */
static void scrub(cs_outbox_result_t *res, const char *token)
{
    if (!token || strlen(token) < 4)
        return;
    if (strstr(res->reason, token))
        cs_outbox_reason(res->reason, "HTTP %d", res->http_status);
    if (strstr(res->location, token))
        res->location[0] = '\0';
}

static void post_bundle(cs_outbox_t *o, const char *token, const char *bundle, size_t len,
                        cs_outbox_result_t *res)
{
    cs_outbox_request_t rq = {.url = o->url,
                              .content_type = "application/fhir+json",
                              .accept = "application/fhir+json",
                              .bearer = token,
                              /* the answer need not carry the resources (and the PDF) */
                              .prefer = "return=minimal",
                              .body = bundle,
                              .len = len};
    cs_outbox_reply_t rp;
    if (cs_outbox_post(&o->transport, &rq, &rp) != CS_OK) {
        retry_because(res, "out of memory");
        return;
    }
    cs_outbox_classify(&rp, bundle, len, res);
    cs_outbox_reply_clear(&rp);
    scrub(res, token);
}

static void deliver(cs_outbox_t *o, const char *bundle, size_t len, cs_outbox_result_t *res)
{
    const char *token = o->bearer;
    if (o->smart_auth) {
        char reason[CS_OUTBOX_REASON_MAX] = "";
        int rc = cs_outbox_smart_token(&o->smart, &o->transport, &token, reason);
        if (rc != CS_OK) {
            retry_because(res, rc == CS_ENOMEM ? "out of memory" : reason);
            return;
        }
    }
    post_bundle(o, token, bundle, len, res);
    /* The token was revoked or the server restarted: the next attempt asks
     * for a new one rather than failing until the old one expires. */
    if (o->smart_auth && res->http_status == 401)
        cs_outbox_smart_drop(&o->smart);
}

static void *worker(void *arg)
{
    cs_outbox_t *o = arg;
    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!atomic_load(&o->stop) && !o->job_ready)
            pthread_cond_wait(&o->cv, &o->mu);
        if (atomic_load(&o->stop))
            break;
        o->job_ready = false;
        cs_outbox_result_t res;
        memset(&res, 0, sizeof res);
        cs_strlcpy(res.document_id, o->document_id, sizeof res.document_id);
        pthread_mutex_unlock(&o->mu);

        deliver(o, o->bundle, o->len, &res);

        pthread_mutex_lock(&o->mu);
        free(o->bundle);
        o->bundle = NULL;
        o->result = res;
        o->result_ready = true;
        /* A result found while stopping is never taken: nobody to wake. */
        if (!atomic_load(&o->stop) && o->wake) {
            pthread_mutex_unlock(&o->mu);
            o->wake(o->wake_user);
            pthread_mutex_lock(&o->mu);
        }
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

/* ---- the owner's side ----------------------------------------------------------- */

bool cs_outbox_idle(const cs_outbox_t *o)
{
    if (!o)
        return false;
    /* The mutex is the only thing changed; the outbox's state is not. */
    cs_outbox_t *m = (cs_outbox_t *)o;
    pthread_mutex_lock(&m->mu);
    bool idle = !m->busy;
    pthread_mutex_unlock(&m->mu);
    return idle;
}

int cs_outbox_submit(cs_outbox_t *o, const char *document_id, const char *bundle, size_t len)
{
    if (!o || !document_id || !*document_id || strlen(document_id) >= CS_ID_MAX || !bundle ||
        len == 0)
        return CS_EINVAL;
    pthread_mutex_lock(&o->mu);
    int rc = CS_OK;
    if (o->busy)
        rc = CS_EAGAIN;
    else if (!(o->bundle = malloc(len + 1)))
        rc = CS_ENOMEM;
    if (rc == CS_OK) {
        memcpy(o->bundle, bundle, len);
        o->bundle[len] = '\0';
        o->len = len;
        cs_strlcpy(o->document_id, document_id, sizeof o->document_id);
        o->busy = o->job_ready = true;
        pthread_cond_signal(&o->cv);
    }
    pthread_mutex_unlock(&o->mu);
    return rc;
}

int cs_outbox_take(cs_outbox_t *o, cs_outbox_result_t *out)
{
    if (!o || !out)
        return 0;
    pthread_mutex_lock(&o->mu);
    int got = o->result_ready;
    if (got) {
        *out = o->result;
        o->result_ready = o->busy = false;
    }
    pthread_mutex_unlock(&o->mu);
    return got;
}

/* ---- start and stop ---------------------------------------------------------------- */

static bool http_url(const char *s)
{
    size_t len = s ? strnlen(s, URL_MAX) : 0;
    if (len == 0 || len >= URL_MAX)
        return false;
    const char *rest = strncmp(s, "https://", 8) == 0  ? s + 8
                       : strncmp(s, "http://", 7) == 0 ? s + 7
                                                       : NULL;
    /* Something after the scheme, and no whitespace or control characters. */
    return rest && *rest && *rest != '/' && cs_outbox_token_ok(s);
}

static int copy(char **dst, const char *src)
{
    if (!src || !*src)
        return CS_OK;
    *dst = strdup(src);
    return *dst ? CS_OK : CS_ENOMEM;
}

/* The key must be one cs_auth_assertion_sign can use: try it now, so a bad
 * key fails start-up rather than every delivery. */
static int configure_smart(cs_outbox_t *o, const cs_outbox_config_t *cfg)
{
    if (!http_url(cfg->smart_token_url) || !cfg->smart_client_id || !*cfg->smart_client_id ||
        !cfg->smart_key_pem)
        return CS_EINVAL;
    char *probe = NULL;
    int rc = cs_auth_assertion_sign(cfg->smart_key_pem, cfg->smart_client_id,
                                    cfg->smart_token_url, cs_now_ms(), &probe);
    free(probe);
    if (rc != CS_OK)
        return rc == CS_ENOMEM ? CS_ENOMEM : CS_EINVAL;
    o->smart_auth = true;
    rc = copy(&o->smart.token_url, cfg->smart_token_url);
    if (rc == CS_OK)
        rc = copy(&o->smart.client_id, cfg->smart_client_id);
    if (rc == CS_OK)
        rc = copy(&o->smart.key_pem, cfg->smart_key_pem);
    if (rc == CS_OK)
        rc = copy(&o->smart.scope, cfg->smart_scope);
    return rc;
}

static int configure(cs_outbox_t *o, const cs_outbox_config_t *cfg)
{
    if (!http_url(cfg->url) || !cfg->auth || cfg->timeout_ms < 0)
        return CS_EINVAL;
    int rc = CS_EINVAL;
    if (strcmp(cfg->auth, "bearer") == 0)
        rc = cs_outbox_token_ok(cfg->bearer_token) ? copy(&o->bearer, cfg->bearer_token)
                                                    : CS_EINVAL;
    else if (strcmp(cfg->auth, "smart") == 0)
        rc = configure_smart(o, cfg);
    if (rc == CS_OK)
        rc = copy(&o->url, cfg->url);
    if (rc == CS_OK)
        rc = copy(&o->ca_file, cfg->ca_file);
    o->wake = cfg->wake;
    o->wake_user = cfg->wake_user;
    o->transport = (cs_outbox_transport_t){.ca_file = o->ca_file,
                                           .skip_host_check = cfg->skip_host_check,
                                           .timeout_ms = cfg->timeout_ms,
                                           .stop = &o->stop};
    return rc;
}

static int start(cs_outbox_t *o)
{
    if (cs_outbox_curl_init() != CS_OK)
        return CS_EIO;
    if (!(o->transport.multi = curl_multi_init()))
        return CS_ENOMEM;
    if (pthread_mutex_init(&o->mu, NULL) != 0)
        return CS_EIO;
    if (pthread_cond_init(&o->cv, NULL) != 0) {
        pthread_mutex_destroy(&o->mu);
        return CS_EIO;
    }
    o->sync_ready = true;
    if (pthread_create(&o->thread, NULL, worker, o) != 0)
        return CS_EIO;
    o->thread_started = true;
    return CS_OK;
}

cs_outbox_t *cs_outbox_new(const cs_outbox_config_t *cfg, int *err)
{
    int rc = CS_EINVAL;
    cs_outbox_t *o = NULL;
    if (cfg) {
        o = calloc(1, sizeof *o);
        rc = o ? CS_OK : CS_ENOMEM;
    }
    if (rc == CS_OK) {
        atomic_init(&o->stop, false);
        rc = configure(o, cfg);
    }
    if (rc == CS_OK)
        rc = start(o);
    if (rc != CS_OK) {
        cs_outbox_free(o);
        o = NULL;
    }
    if (err)
        *err = rc;
    return o;
}

void cs_outbox_free(cs_outbox_t *o)
{
    if (!o)
        return;
    if (o->sync_ready) {
        pthread_mutex_lock(&o->mu);
        atomic_store(&o->stop, true);
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
    }
    /* Interrupts a curl_multi_poll in progress: the post is abandoned now. */
    if (o->transport.multi)
        curl_multi_wakeup(o->transport.multi);
    if (o->thread_started)
        pthread_join(o->thread, NULL);
    if (o->transport.multi)
        curl_multi_cleanup(o->transport.multi);
    if (o->sync_ready) {
        pthread_cond_destroy(&o->cv);
        pthread_mutex_destroy(&o->mu);
    }
    cs_outbox_smart_clear(&o->smart);
    if (o->bearer) {
        explicit_bzero(o->bearer, strlen(o->bearer));
        free(o->bearer);
    }
    free(o->url);
    free(o->ca_file);
    free(o->bundle);
    free(o);
}

/* ---- backoff ----------------------------------------------------------------------- */

int64_t cs_outbox_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms, double unit_random)
{
    if (min_ms < 0)
        min_ms = 0;
    if (max_ms < min_ms)
        max_ms = min_ms;
    /* Doubling stops at the cap, so no attempt count can overflow. */
    int64_t base = min_ms;
    for (int i = 1; i < attempts && base < max_ms; i++)
        base = base > max_ms / 2 ? max_ms : base * 2;
    if (base > max_ms)
        base = max_ms;
    /* factor = 0.5 + r / 2 in [0.5, 1): subtract the jitter rather than
     * multiply, so the result never rounds above base. */
    double r = unit_random >= 0.0 && unit_random < 1.0 ? unit_random : 0.0;
    int64_t jitter = (int64_t)((double)base * (1.0 - r) / 2.0);
    if (jitter > base / 2 + 1)
        jitter = base / 2 + 1;
    int64_t wait = base - jitter;
    return wait < 0 ? 0 : wait;
}
