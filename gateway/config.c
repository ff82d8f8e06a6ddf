/*
 * config.c — the table of configuration keys and its parser.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

typedef enum { T_STRING, T_INT, T_BOOL, T_DURATION, T_ENUM } key_type_t;

typedef struct {
    const char *key;
    key_type_t type;
    size_t offset;
    size_t size;          /* strings: buffer size */
    const char *def;
    const char *choices;  /* T_ENUM: "a|b|c" */
    int64_t min, max;     /* T_INT bounds */
    const char *doc;
} key_t_;

#define F(field) offsetof(cs_config_t, field), sizeof(((cs_config_t *)0)->field)

static const key_t_ keys[] = {
    {"listen.address", T_STRING, F(listen_address), "127.0.0.1", NULL, 0, 0,
     "address for HTTP and WebSocket (IPv4 or IPv6 literal)"},
    {"listen.port", T_INT, F(listen_port), "8080", NULL, 0, 65535, "TCP port; 0 picks a free one"},
    {"tls.cert", T_STRING, F(tls_cert), "", NULL, 0, 0,
     "PEM certificate chain for https/wss; empty = plain http"},
    {"tls.key", T_STRING, F(tls_key), "", NULL, 0, 0, "PEM private key for tls.cert"},
    {"insecure", T_BOOL, F(insecure), "false", NULL, 0, 0,
     "allow plain http on a non-loopback address (never in production)"},
    {"public_url", T_STRING, F(public_url), "", NULL, 0, 0,
     "URL users open, for printed links; empty = derived from listen.*"},
    {"data_dir", T_STRING, F(data_dir), "data", NULL, 0, 0,
     "folder for the database and generated secrets"},
    {"web_root", T_STRING, F(web_root), "web", NULL, 0, 0, "folder of the browser client"},
    {"log.level", T_ENUM, F(log_level), "info", "debug|info|warn|error", 0, 0, "least severe level logged"},
    {"log.format", T_ENUM, F(log_format), "plain", "plain|json", 0, 0, "stderr line format"},
    {"auth.hs256_secret_file", T_STRING, F(hs256_secret_file), "", NULL, 0, 0,
     "file holding the HS256 secret (>= 32 bytes); empty = <data_dir>/jwt-secret, created on first start"},
    {"auth.es256_public_key", T_STRING, F(es256_public_key), "", NULL, 0, 0,
     "PEM EC P-256 public key accepted for ES256 tokens; empty = ES256 off"},
    {"auth.es256_private_key", T_STRING, F(es256_private_key), "", NULL, 0, 0,
     "PEM EC P-256 private key, only for `consilium token --alg ES256`"},
    {"auth.issuer", T_STRING, F(issuer), "", NULL, 0, 0, "required iss claim; empty = not checked"},
    {"auth.audience", T_STRING, F(audience), "", NULL, 0, 0, "required aud claim; empty = not checked"},
    {"auth.leeway", T_DURATION, F(leeway_ms), "30s", NULL, 0, 0, "clock skew tolerated on exp/nbf"},
    {"limits.max_message", T_INT, F(max_message), "65536", NULL, 256, 16 << 20,
     "largest WebSocket message accepted, bytes"},
    {"limits.max_connections", T_INT, F(max_connections), "20000", NULL, 1, 1000000,
     "WebSocket connections at once; at start the open-files limit (RLIMIT_NOFILE) is raised, up to "
     "the hard limit, to fit them plus a reserve for media, recordings and the databases; when the "
     "hard limit is too low fewer are accepted (the rest get 1013) and the start-up log says how "
     "many and how to raise it (LimitNOFILE= in the systemd unit, ulimit -n)"},
    {"limits.max_queued_bytes", T_INT, F(max_queued_bytes), "4194304", NULL, 65536, 1 << 30,
     "outgoing backlog per connection: a reader that stays above it for 5 s (or reaches 16 times it) is closed as too slow"},
    {"limits.rate", T_INT, F(rate_per_s), "20", NULL, 1, 100000, "messages per second per connection"},
    {"limits.burst", T_INT, F(rate_burst), "40", NULL, 1, 100000, "messages in a burst per connection"},
    {"limits.auth_timeout", T_DURATION, F(auth_timeout_ms), "10s", NULL, 0, 0,
     "time a new connection has to say hello"},
    {"limits.max_active_consults", T_INT, F(max_active_consults), "100000", NULL, 1, 10000000,
     "unfinished consults at once"},
    {"limits.max_open_per_clinician", T_INT, F(max_open_per_clinician), "50", NULL, 1, 100000,
     "unfinished requests one clinician may have"},
    {"queue.emergency.warn", T_DURATION, F(warn_ms[CS_URGENCY_EMERGENCY]), "10m", NULL, 0, 0,
     "escalation warning to coordinators for an unaccepted emergency request"},
    {"queue.emergency.deadline", T_DURATION, F(deadline_ms[CS_URGENCY_EMERGENCY]), "2h", NULL, 0, 0,
     "an emergency request must be accepted within this (then overdue)"},
    {"queue.emergency.expire", T_DURATION, F(expire_ms[CS_URGENCY_EMERGENCY]), "24h", NULL, 0, 0,
     "an unaccepted emergency request expires after this"},
    {"queue.urgent.warn", T_DURATION, F(warn_ms[CS_URGENCY_URGENT]), "4h", NULL, 0, 0, "as above, urgent"},
    {"queue.urgent.deadline", T_DURATION, F(deadline_ms[CS_URGENCY_URGENT]), "24h", NULL, 0, 0, "as above, urgent"},
    {"queue.urgent.expire", T_DURATION, F(expire_ms[CS_URGENCY_URGENT]), "3d", NULL, 0, 0, "as above, urgent"},
    {"queue.planned.warn", T_DURATION, F(warn_ms[CS_URGENCY_PLANNED]), "2d", NULL, 0, 0, "as above, planned"},
    {"queue.planned.deadline", T_DURATION, F(deadline_ms[CS_URGENCY_PLANNED]), "7d", NULL, 0, 0, "as above, planned"},
    {"queue.planned.expire", T_DURATION, F(expire_ms[CS_URGENCY_PLANNED]), "14d", NULL, 0, 0, "as above, planned"},
    {"queue.auto_route_overdue", T_BOOL, F(auto_route_overdue), "false", NULL, 0, 0,
     "route an overdue request to the first centre in routes.<tenant>"},
    {"invite.ttl", T_DURATION, F(invite_ttl_ms), "24h", NULL, 0, 0, "validity of invitation codes"},
    {"consult.retain", T_DURATION, F(retain_ms), "24h", NULL, 0, 0,
     "finished consults stay in users' lists this long (always kept in the database)"},
    {"demo", T_BOOL, F(demo), "false", NULL, 0, 0, "print sign-in links for demo users at start"},
    {"media.workers", T_INT, F(media_workers), "0", NULL, 0, 64,
     "media worker threads; 0 = one per core"},
    {"media.addresses", T_STRING, F(media_addresses), "", NULL, 0, 0,
     "comma-separated local IP addresses to gather ICE candidates on; empty = every non-loopback interface (loopback when there is none)"},
    {"media.public_address", T_STRING, F(media_public_address), "", NULL, 0, 0,
     "public IP advertised in host candidates instead of the local one (NAT 1:1); empty = none"},
    {"media.port_min", T_INT, F(media_port_min), "0", NULL, 0, 65535,
     "lowest UDP port for media; 0 with port_max 0 = any"},
    {"media.port_max", T_INT, F(media_port_max), "0", NULL, 0, 65535, "highest UDP port for media"},
    {"media.stun_server", T_STRING, F(media_stun_server), "", NULL, 0, 0,
     "IP:port of a STUN server the gateway asks for its server-reflexive address; empty = none"},
    {"media.dtls_cert", T_STRING, F(media_dtls_cert), "", NULL, 0, 0,
     "PEM certificate for DTLS-SRTP; empty = an ECDSA P-256 one generated at start"},
    {"media.dtls_key", T_STRING, F(media_dtls_key), "", NULL, 0, 0, "PEM private key for media.dtls_cert"},
    {"media.quality_interval", T_DURATION, F(media_quality_interval_ms), "5s", NULL, 0, 0,
     "how often participants get media.quality"},
    {"media.test_loss_in", T_INT, F(media_test_loss_in), "0", NULL, 0, 100,
     "TESTING ONLY: percent of RTP from publishers dropped on arrival"},
    {"media.test_loss_out", T_INT, F(media_test_loss_out), "0", NULL, 0, 100,
     "TESTING ONLY: percent of RTP to subscribers dropped before sending"},
    {"attachments.max_bytes", T_INT, F(attachment_max_bytes), "10485760", NULL, 1024,
     256 << 20, "largest file (bytes) a user may attach to a request or a chat message"},
    {"attachments.max_unbound", T_INT, F(attachment_max_unbound), "20", NULL, 1, 10000,
     "uploaded files per user not yet sent with a request or message"},
    {"records.url", T_STRING, F(records_url), "builtin", NULL, 0, 0,
     "FHIR R4 base URL signed documents are delivered to; builtin = this gateway's /fhir, none = keep them in the outbox"},
    {"records.auth", T_ENUM, F(records_auth), "bearer", "bearer|smart", 0, 0,
     "how the outbox authenticates: a static bearer token, or SMART Backend Services (OAuth2 client credentials, JWT assertion)"},
    {"records.token_file", T_STRING, F(records_token_file), "", NULL, 0, 0,
     "file holding the bearer token; empty = <data_dir>/records-token, created on first start (the built-in store accepts it)"},
    {"records.smart.token_url", T_STRING, F(records_smart_token_url), "", NULL, 0, 0,
     "OAuth2 token endpoint (records.auth = smart); empty with records.url = builtin: this gateway's /fhir/auth/token"},
    {"records.smart.client_id", T_STRING, F(records_smart_client_id), "", NULL, 0, 0,
     "client id registered with the record system (iss and sub of the assertion)"},
    {"records.smart.key", T_STRING, F(records_smart_key), "", NULL, 0, 0,
     "PEM private key that signs the assertion: EC P-384 (ES384) or RSA (RS384)"},
    {"records.smart.scope", T_STRING, F(records_smart_scope), "system/*.write", NULL, 0, 0,
     "scope asked for with the client credentials"},
    {"records.ca_file", T_STRING, F(records_ca_file), "", NULL, 0, 0,
     "PEM CA bundle for https record systems; empty = the system's"},
    {"records.identifier_base", T_STRING, F(records_identifier_base), "urn:consilium", NULL, 0, 0,
     "prefix of the identifier systems of patients, consults, centres and users in FHIR resources"},
    {"records.language", T_ENUM, F(records_language), "ru", "ru|en", 0, 0,
     "language of the PDF document"},
    {"records.retry_min", T_DURATION, F(records_retry_min_ms), "2s", NULL, 0, 0,
     "first delay before a failed delivery is tried again (doubles each time, with jitter)"},
    {"records.retry_max", T_DURATION, F(records_retry_max_ms), "5m", NULL, 0, 0,
     "longest delay between delivery attempts"},
    {"records.give_up", T_DURATION, F(records_give_up_ms), "7d", NULL, 0, 0,
     "a document still undelivered this long after signing is marked failed"},
    {"records.timeout", T_DURATION, F(records_timeout_ms), "30s", NULL, 0, 0,
     "time limit of one delivery request"},
    {"fhir_store.enabled", T_BOOL, F(fhir_store_enabled), "true", NULL, 0, 0,
     "serve the built-in FHIR R4 record store on /fhir"},
    {"fhir_store.write_token_file", T_STRING, F(fhir_store_write_token_file), "", NULL, 0, 0,
     "file holding the bearer token that may post transactions; empty = records.token_file's"},
    {"fhir_store.smart.client_id", T_STRING, F(fhir_store_smart_client_id), "", NULL, 0, 0,
     "a SMART Backend Services client allowed to write; empty = none"},
    {"fhir_store.smart.public_key", T_STRING, F(fhir_store_smart_public_key), "", NULL, 0, 0,
     "PEM public key of that client (EC P-384 or RSA)"},
    {"fhir_store.max_body", T_INT, F(fhir_store_max_body), "33554432", NULL, 4096, 1 << 30,
     "largest request body (bytes) the built-in store accepts"},
    {"recording.enabled", T_BOOL, F(recording_enabled), "true", NULL, 0, 0,
     "let consults be recorded (with everyone's consent)"},
    {"recording.requesters", T_STRING, F(recording_requesters), "specialist,coordinator", NULL, 0,
     0, "comma-separated roles that may ask to record"},
    {"recording.dir", T_STRING, F(recording_dir), "", NULL, 0, 0,
     "folder of the encrypted recordings; empty = <data_dir>/recordings"},
    {"recording.key_file", T_STRING, F(recording_key_file), "", NULL, 0, 0,
     "file holding the 32-byte master key (hex) of recordings; created when missing; empty = "
     "<data_dir>/recording.key"},
    {"recording.ring_bytes", T_INT, F(recording_ring_bytes), "16777216", NULL, 65536, 1 << 30,
     "bytes of packets waiting for the disk; beyond it packets are dropped and counted"},
    {"recording.workers", T_INT, F(recording_workers), "1", NULL, 1, 16,
     "post-processing threads (run at the lowest priority)"},
    {"recording.width", T_INT, F(recording_width), "960", NULL, 160, 3840,
     "width of the composed video"},
    {"recording.height", T_INT, F(recording_height), "540", NULL, 120, 2160,
     "height of the composed video"},
    {"recording.fps", T_INT, F(recording_fps), "25", NULL, 1, 60,
     "frame rate of the composed video"},
    {"recording.video_kbps", T_INT, F(recording_video_kbps), "1200", NULL, 100, 20000,
     "bitrate of the composed video"},
    {"recording.audio_kbps", T_INT, F(recording_audio_kbps), "48", NULL, 16, 256,
     "bitrate of the mixed audio"},
    {"turn.urls", T_STRING, F(turn_urls), "", NULL, 0, 0,
     "comma-separated stun:/turn:/turns: URLs handed to browsers; empty = none"},
    {"turn.secret", T_STRING, F(turn_secret), "", NULL, 0, 0,
     "coturn static-auth-secret for time-limited TURN credentials (prefer turn.secret_file)"},
    {"turn.secret_file", T_STRING, F(turn_secret_file), "", NULL, 0, 0,
     "file holding the coturn static-auth-secret"},
    {"turn.ttl", T_DURATION, F(turn_ttl_ms), "12h", NULL, 0, 0, "validity of TURN credentials"},
};

static const key_t_ *find_key(const char *key)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(keys); i++)
        if (strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return true;
        p += len + (bar ? 1 : 0);
    }
    return false;
}

/* routes.<from> = a,b,c */
static int set_routes(cs_config_t *cfg, const char *from, const char *value, char *err,
                      size_t errlen)
{
    if (strcmp(from, "") == 0 || !cs_slug_valid(from, CS_TENANT_MAX)) {
        snprintf(err, errlen, "routes.<tenant>: '%s' is not a tenant name", from);
        return CS_EINVAL;
    }
    char buf[1024];
    cs_strlcpy(buf, value, sizeof buf);
    char *save = NULL;
    for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        if (!cs_slug_valid(t, CS_TENANT_MAX) || strcmp(t, from) == 0) {
            snprintf(err, errlen, "routes.%s: '%s' is not another tenant's name", from, t);
            return CS_EINVAL;
        }
        if (cfg->n_routes == (int)CS_ARRAY_LEN(cfg->routes)) {
            snprintf(err, errlen, "too many routes (at most %zu)", CS_ARRAY_LEN(cfg->routes));
            return CS_ELIMIT;
        }
        cs_strlcpy(cfg->routes[cfg->n_routes].from, from, CS_TENANT_MAX);
        cs_strlcpy(cfg->routes[cfg->n_routes].to, t, CS_TENANT_MAX);
        cfg->n_routes++;
    }
    return CS_OK;
}

int cs_config_set(cs_config_t *cfg, const char *key, const char *value, char *err, size_t errlen)
{
    if (strncmp(key, "routes.", 7) == 0)
        return set_routes(cfg, key + 7, value, err, errlen);
    const key_t_ *k = find_key(key);
    if (!k) {
        snprintf(err, errlen, "unknown key '%s'", key);
        return CS_EINVAL;
    }
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case T_ENUM:
        if (!choice_ok(k->choices, value)) {
            snprintf(err, errlen, "%s must be one of %s", key, k->choices);
            return CS_EINVAL;
        }
        /* fall through */
    case T_STRING:
        if (strlen(value) >= k->size) {
            snprintf(err, errlen, "%s is too long (at most %zu bytes)", key, k->size - 1);
            return CS_EINVAL;
        }
        cs_strlcpy(field, value, k->size);
        return CS_OK;
    case T_BOOL:
        if (strcmp(value, "true") && strcmp(value, "false")) {
            snprintf(err, errlen, "%s must be true or false", key);
            return CS_EINVAL;
        }
        *(bool *)field = strcmp(value, "true") == 0;
        return CS_OK;
    case T_DURATION:
        if (cs_duration_parse(value, (int64_t *)field) != CS_OK) {
            snprintf(err, errlen, "%s must be a duration such as 30s, 10m, 2h, 7d", key);
            return CS_EINVAL;
        }
        return CS_OK;
    case T_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || end == value || *end || v < k->min || v > k->max) {
            snprintf(err, errlen, "%s must be an integer from %lld to %lld", key,
                     (long long)k->min, (long long)k->max);
            return CS_EINVAL;
        }
        *(int64_t *)field = v;
        return CS_OK;
    }
    }
    return CS_EINVAL;
}

void cs_config_defaults(cs_config_t *cfg)
{
    char err[128];
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < CS_ARRAY_LEN(keys); i++)
        cs_config_set(cfg, keys[i].key, keys[i].def, err, sizeof err);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int cs_config_parse(cs_config_t *cfg, const char *text, size_t len, const char *name, char *err,
                    size_t errlen)
{
    char line[2048], msg[256];
    int lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (n >= sizeof line || memchr(text + pos, '\0', n)) {
            snprintf(err, errlen, "%s:%d: line too long or not text", name, lineno);
            return CS_EINVAL;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos += n + (nl ? 1 : 0);
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (!*s)
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected key = value", name, lineno);
            return CS_EINVAL;
        }
        *eq = '\0';
        int rc = cs_config_set(cfg, trim(s), trim(eq + 1), msg, sizeof msg);
        if (rc) {
            snprintf(err, errlen, "%s:%d: %s", name, lineno, msg);
            return rc;
        }
    }
    return CS_OK;
}

int cs_config_load(cs_config_t *cfg, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return CS_EIO;
    }
    static const size_t max = 1 << 20;
    char *text = malloc(max + 1);
    size_t len = text ? fread(text, 1, max + 1, f) : 0;
    int bad = ferror(f);
    fclose(f);
    if (!text || bad || len > max) {
        snprintf(err, errlen, "%s: %s", path, !text ? "out of memory" : bad ? "read error" : "larger than 1 MiB");
        free(text);
        return CS_EIO;
    }
    int rc = cs_config_parse(cfg, text, len, path, err, errlen);
    free(text);
    return rc;
}

bool cs_config_is_loopback(const char *a)
{
    return strncmp(a, "127.", 4) == 0 || strcmp(a, "::1") == 0 || strcmp(a, "localhost") == 0;
}

/* Calls fn on each name of a comma-separated list (spaces around names are
 * allowed); stops at the first non-zero return and returns it. */
static int each_role_name(const char *list, int (*fn)(const char *name, unsigned *mask),
                          unsigned *mask)
{
    char buf[sizeof ((cs_config_t *)0)->recording_requesters];
    cs_strlcpy(buf, list, sizeof buf);
    for (char *save = NULL, *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
        int rc = fn(t, mask);
        if (rc)
            return rc;
    }
    return CS_OK;
}

static int add_role(const char *name, unsigned *mask)
{
    cs_role_t role;
    if (cs_role_parse(name, &role) != CS_OK)
        return CS_EINVAL;
    *mask |= 1u << role;
    return CS_OK;
}

unsigned cs_config_roles(const char *list)
{
    unsigned mask = 0;
    each_role_name(list, add_role, &mask);
    return mask;
}

int cs_config_validate(const cs_config_t *cfg, char *err, size_t errlen)
{
    unsigned roles = 0;
    if (each_role_name(cfg->recording_requesters, add_role, &roles) != CS_OK) {
        snprintf(err, errlen,
                 "recording.requesters must list roles (clinician, specialist, coordinator, "
                 "patient, interpreter) separated by commas");
        return CS_EINVAL;
    }
    if (!cfg->tls_cert[0] != !cfg->tls_key[0]) {
        snprintf(err, errlen, "tls.cert and tls.key must be set together");
        return CS_EINVAL;
    }
    if (!cfg->tls_cert[0] && !cfg->insecure && !cs_config_is_loopback(cfg->listen_address)) {
        snprintf(err, errlen,
                 "refusing plain http on %s: configure tls.cert and tls.key, or set insecure = "
                 "true (--insecure) if something else terminates TLS",
                 cfg->listen_address);
        return CS_EINVAL;
    }
    if (!cfg->media_dtls_cert[0] != !cfg->media_dtls_key[0]) {
        snprintf(err, errlen, "media.dtls_cert and media.dtls_key must be set together");
        return CS_EINVAL;
    }
    if (cfg->media_port_min > cfg->media_port_max) {
        snprintf(err, errlen, "media.port_min must not be above media.port_max");
        return CS_EINVAL;
    }
    if (strstr(cfg->turn_urls, "turn") && !cfg->turn_secret[0] && !cfg->turn_secret_file[0]) {
        snprintf(err, errlen, "turn.urls has a TURN server: set turn.secret_file (or turn.secret)");
        return CS_EINVAL;
    }
    for (int u = 0; u < CS_URGENCY_COUNT; u++) {
        if (!(cfg->warn_ms[u] <= cfg->deadline_ms[u] && cfg->deadline_ms[u] <= cfg->expire_ms[u])) {
            snprintf(err, errlen, "queue.%s: warn <= deadline <= expire is required",
                     cs_urgency_name((cs_urgency_t)u));
            return CS_EINVAL;
        }
    }
    return CS_OK;
}

static void print_value(const key_t_ *k, const cs_config_t *cfg, FILE *out)
{
    const char *field = (const char *)cfg + k->offset;
    switch (k->type) {
    case T_STRING:
    case T_ENUM:
        /* A secret given inline is never printed back. */
        fprintf(out, "%s", strcmp(k->key, "turn.secret") == 0 && field[0] ? "(set)" : field);
        break;
    case T_BOOL:
        fprintf(out, "%s", *(const bool *)field ? "true" : "false");
        break;
    case T_INT:
        fprintf(out, "%lld", (long long)*(const int64_t *)field);
        break;
    case T_DURATION: {
        /* The largest unit that divides it exactly: 24h prints as 1d. */
        static const struct { int64_t ms; const char *unit; } units[] = {
            {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}, {1, "ms"}};
        int64_t ms = *(const int64_t *)field;
        size_t u = 0;
        while (ms != 0 && ms % units[u].ms)
            u++;
        fprintf(out, "%lld%s", (long long)(ms / units[u].ms), ms ? units[u].unit : "s");
        break;
    }
    }
}

void cs_config_print(const cs_config_t *cfg, FILE *out, bool with_docs)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(keys); i++) {
        if (with_docs)
            fprintf(out, "# %s (default: %s)\n", keys[i].doc, keys[i].def[0] ? keys[i].def : "empty");
        fprintf(out, "%s = ", keys[i].key);
        print_value(&keys[i], cfg, out);
        fputc('\n', out);
    }
    if (with_docs)
        fprintf(out, "# routes.<tenant> = <tenant>,<tenant>: centres a tenant may route requests to (default: none)\n");
    for (int i = 0; i < cfg->n_routes; i++)
        fprintf(out, "routes.%s = %s\n", cfg->routes[i].from, cfg->routes[i].to);
}
