/*
 * app.c — builds the gateway from its configuration, runs it, shuts it down.
 *
 * Order matters: storage first (nothing is accepted that could not be saved),
 * then identity, the signalling server and the engine (which get back what the
 * database holds), and the listening socket last.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "gateway.h"

static cs_ws_server_t *volatile running_ws;

void cs_app_request_stop(void)
{
    if (running_ws)
        cs_ws_stop(running_ws);
}

static void on_signal(int sig)
{
    (void)sig;
    cs_app_request_stop();
}

cs_auth_t *cs_app_auth_from_config(const cs_config_t *cfg, char *err, size_t errlen)
{
    char path[CS_PATH_MAX + 16];
    unsigned char secret[256];
    size_t secret_len = 0;
    char pub[8192] = "", priv[8192] = "";
    if (cfg->hs256_secret_file[0]) {
        cs_strlcpy(path, cfg->hs256_secret_file, sizeof path);
    } else {
        if (cs_mkdirs(cfg->data_dir)) {
            snprintf(err, errlen, "cannot create data folder %s", cfg->data_dir);
            return NULL;
        }
        snprintf(path, sizeof path, "%s/jwt-secret", cfg->data_dir);
    }
    if (cs_secret_load_or_create(path, 32, secret, sizeof secret, &secret_len, err, errlen))
        return NULL;
    if (cfg->es256_public_key[0] && cs_file_read(cfg->es256_public_key, pub, sizeof pub)) {
        snprintf(err, errlen, "cannot read auth.es256_public_key %s", cfg->es256_public_key);
        return NULL;
    }
    if (cfg->es256_private_key[0] && cs_file_read(cfg->es256_private_key, priv, sizeof priv)) {
        snprintf(err, errlen, "cannot read auth.es256_private_key %s", cfg->es256_private_key);
        return NULL;
    }
    cs_auth_config_t ac = {
        .hs256_secret = secret,
        .hs256_secret_len = secret_len,
        .es256_public_pem = pub[0] ? pub : NULL,
        .es256_private_pem = priv[0] ? priv : NULL,
        .issuer = cfg->issuer,
        .audience = cfg->audience,
        .leeway_ms = cfg->leeway_ms,
    };
    int rc;
    cs_auth_t *auth = cs_auth_new(&ac, &rc);
    memset(secret, 0, sizeof secret);
    if (!auth)
        snprintf(err, errlen, "unusable signing keys: %s", cs_strerror(rc));
    return auth;
}

/* ---- ws callbacks: forward to the signalling server and the HTTP routes -- */

static void ws_open(void *user, cs_ws_conn_t *c)
{
    cs_server_on_open(((cs_app_t *)user)->server, c);
}

static void ws_message(void *user, cs_ws_conn_t *c, const char *data, size_t len)
{
    cs_server_on_message(((cs_app_t *)user)->server, c, data, len);
}

static void ws_close(void *user, cs_ws_conn_t *c)
{
    cs_server_on_close(((cs_app_t *)user)->server, c);
}

static int ws_http(void *user, const cs_http_request_t *req, cs_http_response_t *resp)
{
    return cs_http_handle(user, req, resp);
}

static void ws_tick(void *user, int64_t now_ms)
{
    cs_app_t *app = user;
    cs_app_media_poll(app);
    cs_server_tick(app->server, now_ms);
    cs_engine_tick(app->engine, now_ms);
    cs_attachments_prune(app, now_ms);
    cs_app_documents_poll(app, now_ms);
    cs_app_recording_poll(app, now_ms);
}

/* ---- start-up loading -------------------------------------------------- */

static int load_consult(void *e, const cs_consult_t *c)
{
    return cs_engine_load_consult(e, c);
}
static int load_user(void *e, const cs_user_t *u)
{
    return cs_engine_load_user(e, u);
}
static int load_invite(void *e, const cs_invite_t *inv)
{
    return cs_engine_load_invite(e, inv);
}

static void engine_config(const cs_config_t *cfg, cs_engine_config_t *ec)
{
    cs_engine_config_defaults(ec);
    memcpy(ec->warn_ms, cfg->warn_ms, sizeof ec->warn_ms);
    memcpy(ec->deadline_ms, cfg->deadline_ms, sizeof ec->deadline_ms);
    memcpy(ec->expire_ms, cfg->expire_ms, sizeof ec->expire_ms);
    ec->invite_ttl_ms = cfg->invite_ttl_ms;
    ec->retain_ms = cfg->retain_ms;
    ec->max_active_consults = (size_t)cfg->max_active_consults;
    ec->max_open_per_clinician = (size_t)cfg->max_open_per_clinician;
    ec->auto_route_overdue = cfg->auto_route_overdue;
    ec->recording_enabled = cfg->recording_enabled;
    ec->recording_requesters = cs_config_roles(cfg->recording_requesters);
    ec->n_routes = cfg->n_routes;
    for (int i = 0; i < cfg->n_routes; i++) {
        cs_strlcpy(ec->routes[i].from, cfg->routes[i].from, CS_TENANT_MAX);
        cs_strlcpy(ec->routes[i].to, cfg->routes[i].to, CS_TENANT_MAX);
    }
}

static int open_storage(cs_app_t *app, char *err, size_t errlen)
{
    char path[CS_PATH_MAX + 32];
    if (cs_mkdirs(app->cfg.data_dir)) {
        snprintf(err, errlen, "cannot create data folder %s", app->cfg.data_dir);
        return CS_EIO;
    }
    snprintf(path, sizeof path, "%s/consilium.db", app->cfg.data_dir);
    int rc;
    app->storage = cs_storage_open(path, &rc);
    if (!app->storage)
        snprintf(err, errlen, "cannot open database %s: %s", path, cs_strerror(rc));
    return app->storage ? CS_OK : rc;
}

/* The bearer token the outbox sends and, by default, the built-in record
 * store accepts from writers: records.token_file, else <data_dir>/records-token
 * (made on first start). */
static int load_records_token(cs_app_t *app, char *err, size_t errlen)
{
    char path[CS_PATH_MAX + 32];
    if (app->cfg.records_token_file[0])
        cs_strlcpy(path, app->cfg.records_token_file, sizeof path);
    else
        snprintf(path, sizeof path, "%s/records-token", app->cfg.data_dir);
    size_t len = 0;
    int rc = cs_secret_load_or_create(path, 32, (unsigned char *)app->records_token,
                                      sizeof app->records_token - 1, &len, err, errlen);
    app->records_token[rc ? 0 : len] = '\0';
    return rc;
}

/* The built-in FHIR record store (docs/RECORDS.md), <data_dir>/records.db.
 * Writers: fhir_store.write_token_file's token when set, else the outbox's
 * records token; and the SMART client, whose public key is read now. */
static int start_records(cs_app_t *app, char *err, size_t errlen)
{
    if (!app->cfg.fhir_store_enabled)
        return CS_OK;
    char token[sizeof app->records_token] = "", pem[8192] = "", path[CS_PATH_MAX + 32];
    size_t len = 0;
    int rc = CS_OK;
    if (app->cfg.fhir_store_write_token_file[0]) {
        rc = cs_secret_load_or_create(app->cfg.fhir_store_write_token_file, 32,
                                      (unsigned char *)token, sizeof token - 1, &len, err, errlen);
        token[rc ? 0 : len] = '\0';
    } else {
        cs_strlcpy(token, app->records_token, sizeof token);
    }
    if (!rc && app->cfg.fhir_store_smart_client_id[0] &&
        cs_file_read(app->cfg.fhir_store_smart_public_key, pem, sizeof pem)) {
        snprintf(err, errlen, "cannot read fhir_store.smart.public_key %s",
                 app->cfg.fhir_store_smart_public_key);
        rc = CS_EIO;
    }
    snprintf(path, sizeof path, "%s/records.db", app->cfg.data_dir);
    cs_records_config_t rcfg = {
        .identifier_base = app->cfg.records_identifier_base,
        .write_token = token,
        .smart_client_id = app->cfg.fhir_store_smart_client_id,
        .smart_public_pem = pem,
        .max_body = (size_t)app->cfg.fhir_store_max_body,
        .auth = app->auth,
    };
    if (!rc && !(app->records = cs_records_open(path, &rcfg, &rc)))
        snprintf(err, errlen, "cannot open the record store %s: %s", path,
                 rc == CS_EINVAL ? "fhir_store.smart.public_key must be an EC P-384 or RSA "
                                   "(2048+ bits) public key"
                                 : cs_strerror(rc));
    memset(token, 0, sizeof token);
    return rc;
}

static int start_signalling(cs_app_t *app, char *err, size_t errlen)
{
    cs_server_config_t sc;
    cs_server_config_defaults(&sc);
    sc.auth_timeout_ms = app->cfg.auth_timeout_ms;
    sc.rate_per_s = (double)app->cfg.rate_per_s;
    sc.rate_burst = (double)app->cfg.rate_burst;
    sc.attachment_max_bytes = app->cfg.attachment_max_bytes;
    app->server = cs_server_new(&sc, app->auth);
    cs_engine_config_t ec;
    engine_config(&app->cfg, &ec);
    if (app->server)
        app->engine = cs_engine_new(&ec, cs_storage_store(), app->storage, cs_server_notify,
                                    app->server);
    if (!app->engine) {
        snprintf(err, errlen, "out of memory");
        return CS_ENOMEM;
    }
    cs_server_attach_engine(app->server, app->engine);
    cs_storage_loader_t loader = {load_consult, load_user, load_invite};
    int rc = cs_storage_load(app->storage, &loader, app->engine, cs_now_ms(), app->cfg.retain_ms);
    if (rc)
        snprintf(err, errlen, "cannot load the database: %s", cs_strerror(rc));
    return rc;
}

static size_t max_http_body(const cs_config_t *cfg)
{
    size_t max = (size_t)cfg->attachment_max_bytes > (1u << 20) ? (size_t)cfg->attachment_max_bytes
                                                               : 1u << 20;
    if (cfg->fhir_store_enabled && (size_t)cfg->fhir_store_max_body > max)
        max = (size_t)cfg->fhir_store_max_body;
    return max;
}

static int start_listening(cs_app_t *app, char *err, size_t errlen)
{
    static const cs_ws_callbacks_t cb = {ws_open, ws_message, ws_close, ws_http, ws_tick};
    cs_ws_config_t wc = {
        .bind_address = app->cfg.listen_address,
        .port = (int)app->cfg.listen_port,
        .tls_cert_path = app->cfg.tls_cert[0] ? app->cfg.tls_cert : NULL,
        .tls_key_path = app->cfg.tls_key[0] ? app->cfg.tls_key : NULL,
        .static_dir = app->cfg.web_root[0] ? app->cfg.web_root : NULL,
        .max_message = (size_t)app->cfg.max_message,
        .max_queued_bytes = (size_t)app->cfg.max_queued_bytes,
        .max_connections = (int)app->cfg.max_connections,
        /* the largest attachment (or FHIR Bundle), and room for small JSON bodies */
        .max_http_body = max_http_body(&app->cfg),
        .tick_ms = 250,
        .fd_ceiling = app->fdlimit.ws_fd_ceiling > INT_MAX ? 0 : (int)app->fdlimit.ws_fd_ceiling,
    };
    int rc;
    app->ws = cs_ws_server_new(&wc, &cb, app, &rc);
    if (!app->ws)
        snprintf(err, errlen, "cannot listen on %s port %lld: %s", app->cfg.listen_address,
                 (long long)app->cfg.listen_port, cs_strerror(rc));
    return app->ws ? CS_OK : rc;
}

int cs_app_start(cs_app_t *app, const cs_config_t *cfg, char *err, size_t errlen)
{
    memset(app, 0, sizeof *app);
    app->cfg = *cfg;
    app->started_at = cs_now_ms();
    /* first: what opens files below must fit in the limit it settles */
    int rc = cs_app_fdlimit(&app->cfg, &app->fdlimit, err, errlen);
    if (!rc)
        rc = open_storage(app, err, errlen);
    if (!rc)
        rc = load_records_token(app, err, errlen);
    if (!rc && !(app->auth = cs_app_auth_from_config(&app->cfg, err, errlen)))
        rc = CS_EINVAL;
    if (!rc)
        rc = start_records(app, err, errlen);
    if (!rc)
        rc = start_signalling(app, err, errlen);
    if (!rc)
        rc = cs_app_media_start(app, err, errlen);
    if (!rc)
        rc = cs_app_recording_start(app, err, errlen);
    if (!rc)
        rc = start_listening(app, err, errlen);
    if (!rc)
        rc = cs_app_documents_start(app, err, errlen);
    if (rc)
        cs_app_free(app);
    return rc;
}

int cs_app_run(cs_app_t *app)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    running_ws = app->ws;
    CS_LOGI("gateway", "listening on %s (port %d)",
            app->cfg.public_url[0] ? app->cfg.public_url : app->cfg.listen_address,
            cs_ws_port(app->ws));
    int rc = cs_ws_run(app->ws);
    running_ws = NULL;
    CS_LOGI("gateway", "shutting down");
    cs_server_close_all(app->server);
    return rc;
}

void cs_app_free(cs_app_t *app)
{
    /* Media first: its workers wake the loop and its hooks are called from
     * the server; then the transport: closing connections calls back into
     * the server. */
    cs_app_media_stop(app);
    cs_app_recording_stop(app); /* after media: no worker holds a capture any more */
    cs_app_documents_stop(app); /* its worker wakes the loop */
    cs_ws_server_free(app->ws);
    cs_engine_free(app->engine);
    cs_server_free(app->server);
    cs_records_close(app->records); /* no request can reach it any more */
    cs_auth_free(app->auth);
    cs_storage_close(app->storage);
    memset(app, 0, sizeof *app);
}

int cs_app_may_see_consult(cs_app_t *app, const cs_identity_t *who, const char *id)
{
    const cs_consult_t *c = cs_engine_find(app->engine, id);
    if (c)
        return cs_engine_may_see(app->engine, who, c) ? CS_OK : CS_ENOTFOUND;
    cs_consult_t *stored = malloc(sizeof *stored);   /* ~10 KiB: not on the stack */
    if (!stored)
        return CS_ENOMEM;
    int rc = cs_storage_consult_get(app->storage, id, stored) == CS_OK &&
                     cs_engine_may_see(app->engine, who, stored)
                 ? CS_OK
                 : CS_ENOTFOUND;
    free(stored);
    return rc;
}

void cs_app_print_demo_links(const cs_app_t *app)
{
    static const struct {
        const char *subject, *name, *role, *specialties[2];
    } demo[] = {
        {"demo-clinician", "Фельдшер Анна Петрова", "clinician", {NULL, NULL}},
        {"demo-specialist", "Dr Elena Ivanova", "specialist", {"cardiology", "neurology"}},
        {"demo-coordinator", "Coordinator Oleg Smirnov", "coordinator", {NULL, NULL}},
    };
    char base[300];
    if (app->cfg.public_url[0])
        cs_strlcpy(base, app->cfg.public_url, sizeof base);
    else
        snprintf(base, sizeof base, "%s://%s:%d/", app->cfg.tls_cert[0] ? "https" : "http",
                 strchr(app->cfg.listen_address, ':') ? "[::1]" : app->cfg.listen_address,
                 cs_ws_port(app->ws));
    printf("\nConsilium is running. Open these links (each in its own browser window):\n");
    for (size_t i = 0; i < CS_ARRAY_LEN(demo); i++) {
        cs_identity_t id;
        memset(&id, 0, sizeof id);
        cs_strlcpy(id.subject, demo[i].subject, sizeof id.subject);
        cs_strlcpy(id.name, demo[i].name, sizeof id.name);
        cs_role_parse(demo[i].role, &id.role);
        cs_strlcpy(id.tenant, "kirov", sizeof id.tenant);
        for (int k = 0; k < 2 && demo[i].specialties[k]; k++)
            cs_strlcpy(id.specialties[id.n_specialties++], demo[i].specialties[k], CS_SPECIALTY_MAX);
        char *token = NULL;
        if (cs_auth_mint(app->auth, &id, cs_now_ms(), 12 * 3600 * 1000LL, "HS256", &token) == CS_OK)
            printf("  %-12s %s#token=%s\n", demo[i].role, base, token);
        free(token);
    }
    printf("Stop with Ctrl-C.\n\n");
    fflush(stdout);
}
