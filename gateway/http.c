/*
 * http.c — the gateway's operational HTTP endpoints:
 *   GET /healthz  200 {"status":"ready"} when storage answers, else 503;
 *   GET /metrics  Prometheus text exposition format 0.0.4;
 * and hands /api/attachments to attachments.c and /fhir to the built-in
 * record store (gateway/records/, when fhir_store.enabled).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway.h"

static void text_response(cs_http_response_t *resp, int status, const char *type, char *body,
                          size_t len)
{
    resp->status = status;
    cs_strlcpy(resp->content_type, type, sizeof resp->content_type);
    resp->body = body;
    resp->body_len = len;
}

static int healthz(cs_app_t *app, cs_http_response_t *resp)
{
    bool ok = cs_storage_ping(app->storage) == CS_OK;
    char *body = strdup(ok ? "{\"status\":\"ready\"}\n"
                           : "{\"status\":\"unavailable\",\"reason\":\"storage\"}\n");
    text_response(resp, ok ? 200 : 503, "application/json", body, body ? strlen(body) : 0);
    return 1;
}

int cs_http_json_reply(cs_http_response_t *resp, int status, char *json)
{
    resp->status = json ? status : 500;
    cs_strlcpy(resp->content_type, "application/json", sizeof resp->content_type);
    resp->body = json;
    resp->body_len = json ? strlen(json) : 0;
    return 1;
}

int cs_http_error_reply(cs_http_response_t *resp, int status, int code, const char *message)
{
    char *json = NULL;
    /* message is always one of ours (never echoes the request): no escaping needed */
    if (asprintf(&json, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}\n", cs_errname(code),
                 message) < 0)
        json = NULL;
    return cs_http_json_reply(resp, status, json);
}

void cs_metric_header(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void cs_metric_value(FILE *f, const char *name, const char *type, const char *help,
                     unsigned long long value)
{
    cs_metric_header(f, name, type, help);
    fprintf(f, "%s %llu\n", name, value);
}

static void queue_line(void *user, const char *tenant, const char *specialty, cs_urgency_t u,
                       size_t length)
{
    fprintf(user, "consilium_queue_length{tenant=\"%s\",specialty=\"%s\",urgency=\"%s\"} %zu\n",
            tenant, specialty, cs_urgency_name(u), length);
}

static void write_metrics(cs_app_t *app, FILE *f)
{
    cs_engine_stats_t es;
    cs_server_stats_t ss;
    cs_engine_stats(app->engine, &es);
    cs_server_stats(app->server, &ss);
    cs_metric_value(f, "consilium_connections", "gauge", "Open WebSocket connections.",
                    (unsigned long long)cs_ws_connections(app->ws));
    cs_metric_value(f, "consilium_sessions", "gauge", "Authenticated signalling sessions.",
                    (unsigned long long)ss.sessions);
    cs_metric_value(f, "consilium_users_online", "gauge", "Distinct users with at least one session.",
                    es.users_online);
    cs_metric_value(f, "consilium_specialists_available", "gauge",
                    "Specialists whose presence is available.", es.specialists_available);
    cs_metric_header(f, "consilium_consults", "gauge",
           "Consults in memory by state (all unfinished, and finished ones still retained).");
    for (int i = 0; i < CS_STATE_COUNT; i++)
        fprintf(f, "consilium_consults{state=\"%s\"} %zu\n", cs_state_name((cs_state_t)i),
                es.consults_by_state[i]);
    cs_metric_header(f, "consilium_queue_length", "gauge", "Requests waiting, by receiving tenant, specialty and urgency.");
    cs_engine_queues(app->engine, queue_line, f);
    cs_metric_header(f, "consilium_pairing_seconds", "histogram", "Time from request to acceptance.");
    uint64_t cum = 0;
    for (size_t i = 0; i < 12; i++) {
        cum += es.pairing_buckets[i];
        if (i < 11)
            fprintf(f, "consilium_pairing_seconds_bucket{le=\"%g\"} %llu\n",
                    cs_engine_pairing_bounds_s[i], (unsigned long long)cum);
        else
            fprintf(f, "consilium_pairing_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    fprintf(f, "consilium_pairing_seconds_sum %.3f\n", es.pairing_sum_s);
    fprintf(f, "consilium_pairing_seconds_count %llu\n", (unsigned long long)es.pairing_count);
    cs_metric_value(f, "consilium_messages_total", "counter", "Signalling messages received.",
                    (unsigned long long)ss.messages);
    cs_metric_value(f, "consilium_errors_total", "counter", "Error replies sent.",
                    (unsigned long long)ss.errors);
    cs_metric_value(f, "consilium_rate_limited_total", "counter", "Messages refused by the rate limit.",
                    (unsigned long long)ss.rate_limited);
    cs_metric_value(f, "consilium_auth_failures_total", "counter", "Refused hello messages.",
                    (unsigned long long)ss.auth_failures);
    cs_app_media_metrics(app, f);
    cs_app_documents_metrics(app, f);
    cs_app_recording_metrics(app, f);
    cs_metric_value(f, "consilium_uptime_seconds", "gauge", "Seconds since the gateway started.",
                    (unsigned long long)((cs_now_ms() - app->started_at) / 1000));
}

static int metrics(cs_app_t *app, cs_http_response_t *resp)
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    if (!f)
        return 0;
    write_metrics(app, f);
    fclose(f);
    text_response(resp, 200, "text/plain; version=0.0.4", body, len);
    return 1;
}

/* /fhir and /fhir/...: the built-in record store, told its own URL (the
 * port is known only once listening; the SMART audience depends on it). */
static int records(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp)
{
    char base[320];
    if (cs_records_base_url(app->cfg.public_url, app->cfg.tls_cert[0] != '\0',
                            app->cfg.listen_address, cs_ws_port(app->ws), base,
                            sizeof base) != CS_OK)
        return cs_http_error_reply(resp, 500, CS_ETOOBIG, "public_url is too long");
    return cs_records_handle(app->records, req, base, cs_now_ms(), resp);
}

int cs_http_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp)
{
    if (app->records && cs_records_path(req->path))
        return records(app, req, resp);
    if (!strncmp(req->path, "/api/attachments", 16) && (!req->path[16] || req->path[16] == '/'))
        return cs_attachments_handle(app, req, resp);
    if (cs_documents_path(req->path))
        return cs_documents_handle(app, req, resp);
    if (cs_recordings_path(req->path))
        return cs_recordings_handle(app, req, resp);
    if (strcmp(req->method, "GET") != 0)
        return 0;
    if (strcmp(req->path, "/healthz") == 0)
        return healthz(app, resp);
    if (strcmp(req->path, "/metrics") == 0)
        return metrics(app, resp);
    return 0;
}
