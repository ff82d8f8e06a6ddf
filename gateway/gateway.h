/*
 * gateway.h — the Consilium gateway process: where signalling, storage and
 * media meet. main.c parses the command line; app.c builds the parts from the
 * configuration and runs the event loop; media.c connects the signalling
 * server to the media engine; http.c answers the operational endpoints;
 * attachments.c takes and serves uploaded files; secrets.c keeps the
 * generated secrets; fdlimit.c fits the connections in the open-files limit.
 */
#ifndef CS_GATEWAY_H
#define CS_GATEWAY_H

#include <stdio.h>

#include "config.h"
#include "media/engine/engine.h"
#include "media/recorder/recorder.h"
#include "records/records.h"
#include "signaling/auth/auth.h"
#include "signaling/consult/consult.h"
#include "signaling/server/server.h"
#include "signaling/ws/ws.h"
#include "storage/storage.h"

#define CS_VERSION "0.1.0"

/* fdlimit.c: the open-files limit (RLIMIT_NOFILE) against
 * limits.max_connections. The plan is a pure function of the limits as read
 * (CS_FDLIMIT_UNLIMITED for none) and of what the configuration opens
 * besides connections (cs_fdlimit_input): the soft limit to set (never
 * lowered, at most the hard one) and how many connections fit with the
 * reserve beside them (all, else fewer, 0 when not one). */
#define CS_FDLIMIT_UNLIMITED UINT64_MAX
typedef struct {
    uint64_t soft, hard;     /* RLIMIT_NOFILE as read */
    int64_t max_connections; /* configured */
    uint64_t start_fds;      /* opened at start, before any connection */
    uint64_t later_fds;      /* opened while running, whatever the connections */
} cs_fdlimit_in_t;
typedef struct {
    uint64_t wanted;         /* descriptors the configured connections need */
    uint64_t new_soft;       /* the soft limit to set */
    int64_t max_connections; /* connections accepted */
    uint64_t reserve;        /* new_soft - max_connections: for everything else */
    /* Sockets the front door accepts should have descriptor numbers below
     * this (0: no ceiling), so that whatever it holds, what is opened while
     * running (media, recordings) still finds descriptors free. */
    uint64_t ws_fd_ceiling;
} cs_fdlimit_plan_t;

typedef struct cs_app_media cs_app_media_t;
typedef struct cs_app_documents cs_app_documents_t;
typedef struct cs_app_recording cs_app_recording_t;

typedef struct {
    cs_config_t cfg;
    cs_app_media_t *media;
    cs_storage_t *storage;
    cs_auth_t *auth;
    cs_server_t *server;
    cs_engine_t *engine;
    cs_ws_server_t *ws;
    int64_t started_at;
    int64_t attachments_pruned_at; /* wall clock of the last clean-up */
    char records_token[129];      /* bearer token of the outbox (see load_records_token) */
    cs_records_t *records;        /* the built-in FHIR store (NULL: fhir_store.enabled off) */
    cs_app_documents_t *documents;
    cs_app_recording_t *recording;
    cs_fdlimit_plan_t fdlimit;    /* the open-files limit as settled at start (fdlimit.c) */
} cs_app_t;

/* Builds every part; on failure writes a sentence to err and cleans up. */
int cs_app_start(cs_app_t *app, const cs_config_t *cfg, char *err, size_t errlen);
/* Runs until cs_app_request_stop (signal-safe), then shuts down cleanly. */
int cs_app_run(cs_app_t *app);
void cs_app_request_stop(void);
void cs_app_free(cs_app_t *app);

/* The auth part alone, for `consilium token` (creates the secret if missing). */
cs_auth_t *cs_app_auth_from_config(const cs_config_t *cfg, char *err, size_t errlen);
/* Prints sign-in links for the demo users to stdout. */
void cs_app_print_demo_links(const cs_app_t *app);

/* May who see consult id (for its documents and recordings)? The engine's
 * copy, or, once it has left the engine's memory (consult.retain after its
 * end), the stored one decides. CS_OK; CS_ENOTFOUND when not (or there is no
 * such consult, or it cannot be read now); CS_ENOMEM. */
int cs_app_may_see_consult(cs_app_t *app, const cs_identity_t *who, const char *id);

/* media.c: starts the media engine and attaches it to the server (after
 * the server exists, before listening); stop is safe to call twice. */
int cs_app_media_start(cs_app_t *app, char *err, size_t errlen);
void cs_app_media_stop(cs_app_t *app);
/* Delivers the media engine's waiting events (on every loop wake-up). */
void cs_app_media_poll(cs_app_t *app);
void cs_app_media_metrics(cs_app_t *app, FILE *f);
/* Records (into s) or stops recording (s NULL) the media (tenant, subject)
 * publishes in a consult's room, now and in later media sessions. CS_OK
 * without media (nothing to record). */
int cs_app_media_record(cs_app_t *app, const char *consult_id, const char *tenant,
                        const char *subject, cs_rec_session_t *s);

/* http.c: /healthz and /metrics. */
int cs_http_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp);
/* A JSON reply (json malloc'd, NULL → 500); returns 1 (handled). */
int cs_http_json_reply(cs_http_response_t *resp, int status, char *json);
/* {"error": {"code", "message"}} with a signalling error code; message is a
 * fixed sentence of ours (not escaped). Returns 1. */
int cs_http_error_reply(cs_http_response_t *resp, int status, int code, const char *message);
/* The "# HELP" and "# TYPE" lines of one Prometheus metric. */
void cs_metric_header(FILE *f, const char *name, const char *type, const char *help);
/* The header lines and one unlabelled sample. */
void cs_metric_value(FILE *f, const char *name, const char *type, const char *help,
                     unsigned long long value);

/* documents.c: renders signed conclusions (set as storage's renderer) and
 * starts the outbox worker (after listening: the built-in store's address
 * needs the port); stop is safe to call twice. poll runs on every loop turn
 * (tick and wake): it records finished deliveries and submits the next due. */
int cs_app_documents_start(cs_app_t *app, char *err, size_t errlen);
void cs_app_documents_stop(cs_app_t *app);
void cs_app_documents_poll(cs_app_t *app, int64_t now_ms);
void cs_app_documents_metrics(cs_app_t *app, FILE *f);
/* GET /api/documents/<id>/pdf (same credentials as attachments). */
bool cs_documents_path(const char *path);
int cs_documents_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp);

/* recording.c: consented capture to encrypted files, post-processing to
 * one WebM per recording (recording_jobs.c), and serving it
 * (recording_http.c). start after the engine and media (it recovers what a
 * crash interrupted); poll on every loop turn; stop is safe twice. */
int cs_app_recording_start(cs_app_t *app, char *err, size_t errlen);
void cs_app_recording_stop(cs_app_t *app);
void cs_app_recording_poll(cs_app_t *app, int64_t now_ms);
void cs_app_recording_metrics(cs_app_t *app, FILE *f);
/* GET /api/recordings/<id> (ranges) and /api/recordings/<id>/link. */
bool cs_recordings_path(const char *path);
int cs_recordings_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp);

/* attachments.c: POST /api/attachments and GET /api/attachments/<id>;
 * returns 1 (always handled). Also prunes old unbound uploads (call from the
 * tick, about once a minute, with the wall clock). */
int cs_attachments_handle(cs_app_t *app, const cs_http_request_t *req, cs_http_response_t *resp);
void cs_attachments_prune(cs_app_t *app, int64_t now_ms);
/* The pure parts of an upload's checks (fuzzed): the X-File-Name header
 * (percent-encoded UTF-8) into a display name, 1-127 bytes of UTF-8 without
 * control characters, '/' and '\\' made '_'; and whether n bytes start as a
 * file of that allowed type. */
bool cs_attachment_name_decode(const char *encoded, char out[CS_FILE_NAME_MAX]);
bool cs_attachment_bytes_are(const char *type, const unsigned char *b, size_t n);

/* fdlimit.c (the types above) */
void cs_fdlimit_input(const cs_config_t *cfg, cs_fdlimit_in_t *in); /* all but soft, hard */
/* Descriptors needed besides `connections` WebSockets. */
uint64_t cs_fdlimit_reserve(const cs_fdlimit_in_t *in, int64_t connections);
void cs_fdlimit_plan(const cs_fdlimit_in_t *in, cs_fdlimit_plan_t *out);
/* Applies the plan at start: raises the soft limit, lowers
 * cfg->max_connections when it must (one warning line), logs the outcome;
 * the plan in *out (may be NULL). CS_ELIMIT with a sentence in err when not
 * one connection fits. */
int cs_app_fdlimit(cs_config_t *cfg, cs_fdlimit_plan_t *out, char *err, size_t errlen);

/* secrets.c: reads the file, or creates it with len random bytes as hex. */
int cs_secret_load_or_create(const char *path, size_t len, unsigned char *out, size_t cap,
                             size_t *out_len, char *err, size_t errlen);
/* Reads a whole small file (≤ cap-1 bytes) as a NUL-terminated string. */
int cs_file_read(const char *path, char *out, size_t cap);
/* mkdir -p with mode 0700 for new folders. */
int cs_mkdirs(const char *path);

#endif
