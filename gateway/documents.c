/*
 * documents.c — signed conclusions become documents and reach the patient's
 * electronic record (docs/RECORDS.md):
 *
 *   - the renderer storage calls inside the signing: the PDF and the FHIR
 *     Bundle of the new document (gateway/document), stored with it;
 *   - the outbox scheduler, on the signalling thread: it hands the due
 *     document to the delivery worker (gateway/outbox), writes down how the
 *     post went, works out the next attempt, and tells the consult engine, so
 *     the specialist and the coordinators see the state live;
 *   - GET /api/documents/<id>/pdf for whoever may see the consult;
 *   - the outbox's lines on /metrics.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "document/document.h"
#include "gateway.h"
#include "outbox/outbox.h"

#define PREFIX "/api/documents/"

struct cs_app_documents {
    cs_app_t *app;
    cs_outbox_t *outbox;        /* NULL when records.url = none */
    char url[512];              /* where documents go */
    bool in_flight;             /* the worker holds `current` */
    cs_outbox_item_t current;   /* (its bundle freed once submitted) */
    int64_t quiet_until;        /* after a failed outbox write: no post before */
    uint64_t outcomes[3];       /* delivered, retried, refused since start */
};

/* ---- rendering at signing -------------------------------------------------- */

static int render(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                  cs_document_files_t *out)
{
    const cs_app_t *app = user;
    cs_document_t *doc = calloc(1, sizeof *doc);
    if (!doc)
        return CS_ENOMEM;
    cs_strlcpy(doc->id, k->summary.document_id, sizeof doc->id);
    cs_strlcpy(doc->replaces, k->summary.replaces, sizeof doc->replaces);
    cs_strlcpy(doc->language, app->cfg.records_language, sizeof doc->language);
    cs_strlcpy(doc->identifier_base, app->cfg.records_identifier_base,
               sizeof doc->identifier_base);
    doc->consult = *c;
    doc->conclusion = *k;
    int rc = cs_document_pdf(doc, &out->pdf, &out->pdf_len);
    if (rc == CS_OK)
        rc = cs_document_bundle(doc, out->pdf, out->pdf_len, &out->bundle);
    if (rc == CS_OK) {
        out->bundle_len = strlen(out->bundle);
        out->language = strcmp(doc->language, "en") ? "ru" : "en";
        CS_LOGI("documents", "consult %s: document %s (v%d, PDF %zu bytes) signed by %s/%s",
                c->id, doc->id, k->summary.version, out->pdf_len, k->summary.author_tenant,
                k->summary.author);
    } else {
        CS_LOGE("documents", "consult %s: cannot render the signed conclusion: %s", c->id,
                cs_strerror(rc));
    }
    free(doc);
    return rc;
}

/* ---- where documents go ---------------------------------------------------- */

static const char *loopback_host(const char *listen)
{
    if (!strcmp(listen, "0.0.0.0") || !listen[0])
        return "127.0.0.1";
    if (!strcmp(listen, "::"))
        return "[::1]";
    return strchr(listen, ':') ? NULL : listen;
}

/* The built-in store at this gateway's own address (port known once listening). */
static int builtin_url(const cs_app_t *app, const char *path, char *out, size_t cap)
{
    const char *host = loopback_host(app->cfg.listen_address);
    char bracketed[80];
    if (!host) {
        snprintf(bracketed, sizeof bracketed, "[%s]", app->cfg.listen_address);
        host = bracketed;
    }
    int n = snprintf(out, cap, "%s://%s:%d%s", app->cfg.tls_cert[0] ? "https" : "http", host,
                     cs_ws_port(app->ws), path);
    return n > 0 && (size_t)n < cap ? CS_OK : CS_ETOOBIG;
}

static void wake_loop(void *user)
{
    cs_ws_wake(user);
}

static int start_outbox(cs_app_documents_t *d, char *err, size_t errlen)
{
    const cs_app_t *app = d->app;
    const cs_config_t *cfg = &app->cfg;
    bool builtin = !strcmp(cfg->records_url, "builtin");
    if (builtin && !cfg->fhir_store_enabled) {
        snprintf(err, errlen, "records.url = builtin needs fhir_store.enabled = true");
        return CS_EINVAL;
    }
    int rc = builtin ? builtin_url(app, "/fhir", d->url, sizeof d->url) : CS_OK;
    if (!builtin)
        cs_strlcpy(d->url, cfg->records_url, sizeof d->url);
    char token_url[512] = "";
    if (rc == CS_OK && cfg->records_smart_token_url[0])
        cs_strlcpy(token_url, cfg->records_smart_token_url, sizeof token_url);
    else if (rc == CS_OK && builtin)
        rc = builtin_url(app, "/fhir/auth/token", token_url, sizeof token_url);
    char *key = NULL;
    bool smart = !strcmp(cfg->records_auth, "smart");
    if (rc == CS_OK && smart) {
        key = calloc(1, 16384);
        rc = !key ? CS_ENOMEM : cs_file_read(cfg->records_smart_key, key, 16384);
        if (rc) {
            snprintf(err, errlen, "cannot read records.smart.key %s: %s", cfg->records_smart_key,
                     cs_strerror(rc));
            free(key);
            return rc;
        }
    }
    cs_outbox_config_t oc = {
        .url = d->url,
        .auth = cfg->records_auth,
        .bearer_token = app->records_token,
        .smart_token_url = token_url,
        .smart_client_id = cfg->records_smart_client_id,
        .smart_key_pem = key,
        .smart_scope = cfg->records_smart_scope,
        /* The built-in store over TLS answers with the gateway's own
         * certificate, whatever name it was made for. */
        .ca_file = cfg->records_ca_file[0] ? cfg->records_ca_file
                                           : (builtin && cfg->tls_cert[0] ? cfg->tls_cert : NULL),
        .skip_host_check = builtin && cfg->tls_cert[0],
        .timeout_ms = cfg->records_timeout_ms,
        .wake = wake_loop,
        .wake_user = app->ws,
    };
    if (rc == CS_OK && !(d->outbox = cs_outbox_new(&oc, &rc)))
        snprintf(err, errlen, "cannot start the document outbox for %s: %s (check records.*)",
                 d->url, cs_strerror(rc));
    if (key) {
        memset(key, 0, 16384);
        free(key);
    }
    if (rc == CS_OK)
        CS_LOGI("documents", "signed documents are delivered to %s (%s)", d->url,
                cfg->records_auth);
    return rc;
}

int cs_app_documents_start(cs_app_t *app, char *err, size_t errlen)
{
    cs_app_documents_t *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return CS_ENOMEM;
    }
    d->app = app;
    app->documents = d;
    cs_storage_set_renderer(app->storage, render, app);
    if (!strcmp(app->cfg.records_url, "none")) {
        CS_LOGW("documents", "records.url = none: signed documents wait in the outbox until a "
                             "record system is configured");
        return CS_OK;
    }
    return start_outbox(d, err, errlen);
}

void cs_app_documents_stop(cs_app_t *app)
{
    cs_app_documents_t *d = app->documents;
    if (!d)
        return;
    /* A post in flight is abandoned: its row stays pending and the next
     * start posts it again (the record's conditional creates absorb it). */
    cs_outbox_free(d->outbox);
    if (app->storage)
        cs_storage_set_renderer(app->storage, NULL, NULL);
    free(d);
    app->documents = NULL;
}

/* ---- the outbox scheduler --------------------------------------------------- */

static void next_state(const cs_app_t *app, const cs_outbox_item_t *it,
                       const cs_outbox_result_t *r, int64_t now, cs_delivery_t *out)
{
    memset(out, 0, sizeof *out);
    out->attempts = it->attempts + 1;
    if (r->outcome == CS_DELIVERY_DELIVERED) {
        out->state = CS_DELIVERY_DONE;
        out->delivered_at = now;
        return;
    }
    if (r->outcome == CS_DELIVERY_REFUSED) {
        out->state = CS_DELIVERY_FAILED;
        snprintf(out->error, sizeof out->error, "refused by the record system: %.200s", r->reason);
        return;
    }
    if (now - it->created_at >= app->cfg.records_give_up_ms) {
        out->state = CS_DELIVERY_FAILED;
        snprintf(out->error, sizeof out->error, "not delivered in time (records.give_up): %.200s",
                 r->reason);
        return;
    }
    uint32_t r24 = 0;
    cs_random_bytes(&r24, 3); /* jitter; a failure leaves 0, a shorter wait */
    int64_t wait = cs_outbox_backoff_ms(out->attempts, app->cfg.records_retry_min_ms,
                                        app->cfg.records_retry_max_ms,
                                        (double)r24 / (double)(1u << 24));
    if (r->retry_after_ms > wait)
        wait = r->retry_after_ms < app->cfg.records_retry_max_ms ? r->retry_after_ms
                                                                 : app->cfg.records_retry_max_ms;
    out->state = CS_DELIVERY_PENDING;
    out->next_attempt_at = now + wait;
    cs_strlcpy(out->error, r->reason, sizeof out->error);
}

static void record_result(cs_app_documents_t *d, const cs_outbox_result_t *r, int64_t now)
{
    cs_app_t *app = d->app;
    cs_outbox_item_t *it = &d->current;
    d->in_flight = false;
    d->outcomes[r->outcome]++;
    cs_delivery_t next;
    next_state(app, it, r, now, &next);
    int rc = cs_storage_outbox_update(app->storage, it->document_id, &next, r->location, now);
    if (rc) {
        /* The row stays as it was (due): it is posted again, harmlessly,
         * once the database has had a moment. */
        CS_LOGE("documents", "document %s: cannot record its delivery: %s", it->document_id,
                cs_strerror(rc));
        d->quiet_until = now + app->cfg.records_retry_min_ms;
        return;
    }
    if (next.state == CS_DELIVERY_DONE)
        CS_LOGI("documents", "document %s delivered to the record (%s) after %d attempt(s)",
                it->document_id, r->location, next.attempts);
    else if (next.state == CS_DELIVERY_FAILED)
        CS_LOGE("documents", "document %s failed: %s", it->document_id, next.error);
    else
        CS_LOGW("documents", "document %s not delivered (attempt %d: %s); next in %lld s",
                it->document_id, next.attempts, r->reason,
                (long long)((next.next_attempt_at - now + 999) / 1000));
    cs_engine_conclusion_delivery(app->engine, it->consult_id, it->document_id, &next);
}

static void submit_due(cs_app_documents_t *d, int64_t now)
{
    cs_outbox_item_t it;
    int rc = cs_storage_outbox_next(d->app->storage, now, &it);
    if (rc == CS_ENOTFOUND)
        return;
    if (rc) {
        CS_LOGE("documents", "cannot read the outbox: %s", cs_strerror(rc));
        return;
    }
    rc = cs_outbox_submit(d->outbox, it.document_id, it.bundle, it.bundle_len);
    free(it.bundle);
    it.bundle = NULL;
    it.bundle_len = 0;
    if (rc == CS_OK) {
        d->current = it;
        d->in_flight = true;
    } else {
        CS_LOGE("documents", "document %s: cannot hand it to the worker: %s", it.document_id,
                cs_strerror(rc));
    }
}

void cs_app_documents_poll(cs_app_t *app, int64_t now_ms)
{
    cs_app_documents_t *d = app->documents;
    if (!d || !d->outbox)
        return;
    cs_outbox_result_t r;
    if (d->in_flight && cs_outbox_take(d->outbox, &r) == 1)
        record_result(d, &r, now_ms);
    if (!d->in_flight && now_ms >= d->quiet_until && cs_outbox_idle(d->outbox))
        submit_due(d, now_ms);
}

/* ---- /api/documents/<id>/pdf ----------------------------------------------- */

int cs_documents_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp)
{
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
        return cs_http_error_reply(resp, 405, CS_EUNSUPPORTED, "GET a document here");
    cs_identity_t who;
    int rc = cs_server_authenticate(app->server, req->authorization, cs_now_ms(), &who);
    if (rc)
        return cs_http_error_reply(resp, 401, rc == CS_EEXPIRED ? CS_EEXPIRED : CS_EAUTH,
                                   rc == CS_EEXPIRED
                                       ? "your sign-in has expired"
                                       : "sign in first (Authorization: Bearer or Invite)");
    const char *rest = req->path + strlen(PREFIX);
    char id[CS_ID_MAX];
    size_t n = strcspn(rest, "/");
    if (n >= sizeof id || strcmp(rest + n, "/pdf") != 0)
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such document");
    memcpy(id, rest, n);
    id[n] = '\0';
    char consult_id[CS_ID_MAX];
    void *pdf = NULL;
    size_t len = 0;
    rc = cs_uuid_shaped(id) ? cs_storage_read_document_pdf(app->storage, id, consult_id, &pdf, &len)
                            : CS_ENOTFOUND;
    if (rc == CS_OK)
        rc = cs_app_may_see_consult(app, &who, consult_id);
    /* Another consult's document answers exactly like a missing one. */
    if (rc == CS_ENOTFOUND) {
        free(pdf);
        return cs_http_error_reply(resp, 404, CS_ENOTFOUND, "no such document");
    }
    if (rc) {
        free(pdf);
        return cs_http_error_reply(resp, rc == CS_ENOMEM ? 500 : 503,
                                   rc == CS_ENOMEM ? CS_ENOMEM : CS_ESTORAGE,
                                   "the document could not be read; try again");
    }
    CS_LOGI("documents", "document %s read by %s/%s", id, who.tenant, who.subject);
    resp->status = 200;
    cs_strlcpy(resp->content_type, "application/pdf", sizeof resp->content_type);
    resp->body = pdf;
    resp->body_len = len;
    return 1;
}

bool cs_documents_path(const char *path)
{
    return !strncmp(path, PREFIX, strlen(PREFIX));
}

/* ---- /metrics ---------------------------------------------------------------- */

void cs_app_documents_metrics(cs_app_t *app, FILE *f)
{
    int64_t counts[CS_DELIVERY_STATE_COUNT];
    if (cs_storage_outbox_counts(app->storage, counts) == CS_OK) {
        cs_metric_header(f, "consilium_documents", "gauge",
                         "Signed documents by delivery state to the electronic record.");
        for (int s = CS_DELIVERY_PENDING; s < CS_DELIVERY_STATE_COUNT; s++)
            fprintf(f, "consilium_documents{state=\"%s\"} %lld\n",
                    cs_delivery_state_name((cs_delivery_state_t)s), (long long)counts[s]);
    }
    const cs_app_documents_t *d = app->documents;
    static const char *const names[] = {"delivered", "retry", "refused"};
    cs_metric_header(f, "consilium_document_deliveries_total", "counter",
                     "Delivery attempts since start, by outcome.");
    for (int i = 0; i < 3; i++)
        fprintf(f, "consilium_document_deliveries_total{outcome=\"%s\"} %llu\n", names[i],
                d ? (unsigned long long)d->outcomes[i] : 0ULL);
}
