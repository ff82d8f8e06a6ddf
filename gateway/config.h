/*
 * config.h — the gateway's configuration: defaults, the file, overrides.
 *
 * Every key lives in one table (config.c) with its type, default and a line of
 * documentation, so `consilium config` and docs/CONFIG.md cannot drift from
 * what the parser accepts. The file format is "key = value" lines; '#' starts
 * a comment; blank lines are ignored. Unknown keys and bad values are errors
 * that name the file and line.
 */
#ifndef CS_GATEWAY_CONFIG_H
#define CS_GATEWAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "signaling/consult/consult.h"

#define CS_PATH_MAX 512

typedef struct {
    char listen_address[64];
    int64_t listen_port;
    char tls_cert[CS_PATH_MAX];
    char tls_key[CS_PATH_MAX];
    bool insecure;
    char public_url[256];
    char data_dir[CS_PATH_MAX];
    char web_root[CS_PATH_MAX];
    char log_level[16];
    char log_format[16];
    char hs256_secret_file[CS_PATH_MAX];
    char es256_public_key[CS_PATH_MAX];
    char es256_private_key[CS_PATH_MAX];
    char issuer[128];
    char audience[128];
    int64_t leeway_ms;
    int64_t max_message;
    int64_t max_connections;
    int64_t max_queued_bytes;
    int64_t rate_per_s;
    int64_t rate_burst;
    int64_t auth_timeout_ms;
    int64_t max_active_consults;
    int64_t max_open_per_clinician;
    int64_t warn_ms[CS_URGENCY_COUNT];
    int64_t deadline_ms[CS_URGENCY_COUNT];
    int64_t expire_ms[CS_URGENCY_COUNT];
    int64_t invite_ttl_ms;
    int64_t retain_ms;
    bool auto_route_overdue;
    bool demo;
    /* media */
    int64_t media_workers;
    char media_addresses[512];     /* comma-separated IP literals; "" = every interface */
    char media_public_address[64];
    int64_t media_port_min, media_port_max;
    char media_stun_server[128];   /* host:port the gateway itself uses for srflx */
    char media_dtls_cert[CS_PATH_MAX];
    char media_dtls_key[CS_PATH_MAX];
    int64_t media_quality_interval_ms;
    int64_t media_test_loss_in, media_test_loss_out;
    char turn_urls[1024];          /* comma-separated stun:/turn:/turns: URLs for clients */
    char turn_secret_file[CS_PATH_MAX];
    char turn_secret[256];
    int64_t turn_ttl_ms;
    int64_t attachment_max_bytes;
    int64_t attachment_max_unbound;
    /* records: delivery of signed documents to the electronic record */
    char records_url[256];         /* "builtin", "none", or the FHIR base URL */
    char records_auth[16];         /* "bearer" | "smart" */
    char records_token_file[CS_PATH_MAX];
    char records_smart_token_url[256];
    char records_smart_client_id[128];
    char records_smart_key[CS_PATH_MAX];   /* PEM private key (EC P-384 or RSA) */
    char records_smart_scope[128];
    char records_ca_file[CS_PATH_MAX];
    char records_identifier_base[128];
    char records_language[8];
    int64_t records_retry_min_ms, records_retry_max_ms, records_give_up_ms, records_timeout_ms;
    /* the built-in FHIR record store */
    bool fhir_store_enabled;
    char fhir_store_write_token_file[CS_PATH_MAX];
    char fhir_store_smart_client_id[128];
    char fhir_store_smart_public_key[CS_PATH_MAX];
    int64_t fhir_store_max_body;
    /* recording (docs/PROTOCOL.md "Recording") */
    bool recording_enabled;
    char recording_requesters[128];  /* comma-separated roles */
    char recording_dir[CS_PATH_MAX];  /* "" = <data_dir>/recordings */
    char recording_key_file[CS_PATH_MAX]; /* "" = <data_dir>/recording.key */
    int64_t recording_ring_bytes;
    int64_t recording_workers;
    int64_t recording_width, recording_height, recording_fps;
    int64_t recording_video_kbps, recording_audio_kbps;
    /* routes.<from> = to1,to2 */
    struct { char from[CS_TENANT_MAX]; char to[CS_TENANT_MAX]; } routes[32];
    int n_routes;
} cs_config_t;

void cs_config_defaults(cs_config_t *cfg);
/* Applies one "key = value" setting; on error writes a sentence to err. */
int cs_config_set(cs_config_t *cfg, const char *key, const char *value, char *err, size_t errlen);
/* Applies settings from text of len bytes (any bytes; never read past len);
 * name labels error messages "name:line: reason". */
int cs_config_parse(cs_config_t *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t errlen);
/* Reads a file of settings (at most 1 MiB) through cs_config_parse. */
int cs_config_load(cs_config_t *cfg, const char *path, char *err, size_t errlen);
/* Checks cross-key rules (TLS pair, insecure non-loopback, ordering of deadlines). */
int cs_config_validate(const cs_config_t *cfg, char *err, size_t errlen);
/* The roles named in a comma-separated list, as a mask of 1 << cs_role_t
 * (unknown names are left out; cs_config_validate refuses them). */
unsigned cs_config_roles(const char *list);
/* Writes every key with its current value (secrets are paths, never contents). */
void cs_config_print(const cs_config_t *cfg, FILE *out, bool with_docs);
bool cs_config_is_loopback(const char *address);

#endif
