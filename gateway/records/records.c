/*
 * records.c — the record store's front: which /fhir request is which, who is
 * asking (a writer's bearer or access token, a reader's Consilium JWT, or
 * nobody), reads of one resource (a Binary as its bytes or as FHIR JSON),
 * searches and transactions handed to search.c and apply.c, every answer
 * that is not a resource as an OperationOutcome, and one access_log row for
 * every read, search and transaction, allowed or not.
 *
 * Checks come in this order, so that nothing is revealed to who may not
 * know it: the method, then the credentials (401 without, 403 for a writer
 * reading or a reader writing), then the type and id, then visibility,
 * which answers exactly like a resource that does not exist (404).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "records_internal.h"

#define FHIR_JSON "application/fhir+json; charset=utf-8"
/* The longest /fhir path we route (type, id, _history, version). */
#define PATH_MAX_LEN 256
/* access_log.target: an id, a query, the locations of a transaction. */
#define TARGET_MAX 1024

/* ---- replies --------------------------------------------------------------------- */

int cs_fhir_reply(cs_http_response_t *resp, int status, char *json)
{
    resp->status = json ? status : 500;
    cs_strlcpy(resp->content_type, FHIR_JSON, sizeof resp->content_type);
    resp->body = json;
    resp->body_len = json ? strlen(json) : 0;
    return 1;
}

int cs_fhir_outcome(cs_http_response_t *resp, int status, const char *code, const char *diagnostics,
                    const char *expression)
{
    json_t *issue =
        json_pack("{s:s, s:s, s:s}", "severity", "error", "code", code, "diagnostics", diagnostics);
    if (issue && expression && *expression)
        json_object_set_new(issue, "expression", json_pack("[s]", expression));
    json_t *oo = issue
                     ? json_pack("{s:s, s:[o]}", "resourceType", "OperationOutcome", "issue", issue)
                     : NULL;
    char *text = oo ? json_dumps(oo, JSON_COMPACT) : NULL;
    json_decref(oo);
    return cs_fhir_reply(resp, status, text);
}

static void add_header(cs_http_response_t *resp, const char *name, const char *value)
{
    for (size_t i = 0; i < CS_ARRAY_LEN(resp->headers); i++)
        if (!resp->headers[i].name[0]) {
            cs_strlcpy(resp->headers[i].name, name, sizeof resp->headers[i].name);
            cs_strlcpy(resp->headers[i].value, value, sizeof resp->headers[i].value);
            return;
        }
}

static int issue_reply(cs_http_response_t *resp, const cs_fhir_issue_t *issue)
{
    return cs_fhir_outcome(resp, issue->status, issue->code, issue->diagnostics, issue->expression);
}

/* ---- opening ------------------------------------------------------------------------ */

bool cs_records_path(const char *path)
{
    return path && !strncmp(path, "/fhir", 5) && (!path[5] || path[5] == '/');
}

int cs_records_base_url(const char *public_url, bool tls, const char *address, int port, char *out,
                        size_t size)
{
    int n;
    if (public_url && *public_url) {
        size_t len = strlen(public_url);
        n = snprintf(out, size, "%s%sfhir", public_url, public_url[len - 1] == '/' ? "" : "/");
    } else {
        bool v6 = address && strchr(address, ':');
        n = snprintf(out, size, "%s://%s%s%s:%d/fhir", tls ? "https" : "http", v6 ? "[" : "",
                     address ? address : "", v6 ? "]" : "", port);
    }
    return n >= 0 && (size_t)n < size ? CS_OK : CS_ETOOBIG;
}

static char *dup_or_null(const char *s)
{
    return s && *s ? strdup(s) : NULL;
}

cs_records_t *cs_records_open(const char *db_path, const cs_records_config_t *cfg, int *err)
{
    int dummy;
    err = err ? err : &dummy;
    *err = CS_EINVAL;
    if (!cfg || !cfg->auth || !cfg->identifier_base || !*cfg->identifier_base ||
        strlen(cfg->identifier_base) >= sizeof((cs_records_t *)0)->base)
        return NULL;
    bool smart = cfg->smart_client_id && *cfg->smart_client_id;
    if (smart && !cs_records_smart_key_ok(cfg->smart_public_pem))
        return NULL;
    cs_records_t *r = calloc(1, sizeof *r);
    if (!r) {
        *err = CS_ENOMEM;
        return NULL;
    }
    cs_strlcpy(r->base, cfg->identifier_base, sizeof r->base);
    snprintf(r->org_system, sizeof r->org_system, "%s:organization", r->base);
    r->write_token = dup_or_null(cfg->write_token);
    r->client_id = smart ? strdup(cfg->smart_client_id) : NULL;
    r->public_pem = smart ? strdup(cfg->smart_public_pem) : NULL;
    r->max_body = cfg->max_body ? cfg->max_body : SIZE_MAX;
    r->auth = cfg->auth;
    cs_time_iso8601(cs_now_ms(), r->started);
    bool copied = (!cfg->write_token || !*cfg->write_token || r->write_token) &&
                  (!smart || (r->client_id && r->public_pem));
    r->db = copied ? cs_records_db_open(db_path, err) : NULL;
    if (!copied)
        *err = CS_ENOMEM;
    if (!r->db) {
        cs_records_close(r);
        return NULL;
    }
    *err = CS_OK;
    return r;
}

void cs_records_close(cs_records_t *r)
{
    if (!r)
        return;
    cs_records_db_close(r->db);
    if (r->write_token)
        memset(r->write_token, 0, strlen(r->write_token));
    free(r->write_token);
    free(r->client_id);
    free(r->public_pem);
    memset(r->tokens, 0, sizeof r->tokens);
    free(r);
}

/* ---- who is asking ---------------------------------------------------------------- */

typedef enum { WHO_ANONYMOUS, WHO_INVALID, WHO_WRITER, WHO_READER } who_kind_t;

typedef struct {
    who_kind_t kind;
    cs_identity_t id;  /* readers */
    unsigned types;    /* writers: what they may write */
    const char *label; /* writers: "bearer" or the SMART client id */
} who_t;

static void identify(cs_records_t *r, const char *authorization, int64_t now_ms, who_t *w)
{
    memset(w, 0, sizeof *w);
    if (!authorization || !*authorization)
        return;
    w->kind = WHO_INVALID;
    if (strncasecmp(authorization, "Bearer ", 7) != 0)
        return;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    if (r->write_token && cs_records_same(token, r->write_token)) {
        *w = (who_t){.kind = WHO_WRITER, .types = CS_FHIR_ALL_TYPES, .label = "bearer"};
    } else if ((w->types = cs_records_token_check(r, token, now_ms)) != 0) {
        w->kind = WHO_WRITER;
        w->label = r->client_id;
    } else if (strlen(token) < 8192 &&
               cs_auth_verify(r->auth, token, now_ms, &w->id, NULL) == CS_OK) {
        w->kind = WHO_READER;
    }
}

/* What a reader sees (records.h): their centre's, or their own as a patient. */
static void view_of(const cs_records_t *r, const cs_identity_t *id, cs_records_view_t *v,
                    char *system, size_t size)
{
    memset(v, 0, sizeof *v);
    switch (id->role) {
    case CS_ROLE_CLINICIAN:
    case CS_ROLE_SPECIALIST:
    case CS_ROLE_COORDINATOR:
        v->kind = CS_RECORDS_VIEW_CENTRE;
        v->tenant = id->tenant;
        return;
    case CS_ROLE_PATIENT:
        if (!id->patient_id[0])
            return;
        snprintf(system, size, "%s:%s:patient", r->base, id->tenant);
        v->kind = CS_RECORDS_VIEW_PATIENT;
        v->patient = (cs_records_ident_t){system, id->patient_id};
        return;
    default:
        return;
    }
}

static int log_access(cs_records_t *r, const who_t *w, int64_t now_ms, const char *action,
                      const char *type, const char *target, int status, int64_t returned)
{
    char cut[TARGET_MAX], kind[48];
    cs_strlcpy(cut, target ? target : "", sizeof cut);
    cs_fhir_utf8_clean(cut);
    cs_strlcpy(kind, type ? type : "", sizeof kind);
    cs_fhir_utf8_clean(kind);
    cs_records_access_t a = {.at = now_ms,
                             .tenant = "",
                             .subject = "",
                             .role = "anonymous",
                             .action = action,
                             .type = kind,
                             .target = cut,
                             .status = status,
                             .returned = returned};
    if (w->kind == WHO_READER) {
        a.tenant = w->id.tenant;
        a.subject = w->id.subject;
        a.role = cs_role_name(w->id.role);
    } else if (w->kind == WHO_WRITER) {
        a.subject = w->label ? w->label : "";
        a.role = "writer";
    }
    return cs_records_db_log(r->db, &a);
}

static int unauthorized(cs_http_response_t *resp, const who_t *w)
{
    add_header(resp, "www-authenticate:",
               w->kind == WHO_INVALID ? "Bearer realm=\"fhir\", error=\"invalid_token\""
                                      : "Bearer realm=\"fhir\"");
    return cs_fhir_outcome(resp, 401, "login",
                           w->kind == WHO_INVALID
                               ? "the bearer token is not valid (unknown, expired or malformed)"
                               : "authenticate: Authorization: Bearer <token>",
                           NULL);
}

static int not_allowed(cs_http_response_t *resp, const char *what)
{
    return cs_fhir_outcome(resp, 405, "not-supported", what, NULL);
}

/* ---- reads --------------------------------------------------------------------------- */

static bool wants_fhir_json(const char *accept)
{
    return accept && (strcasestr(accept, "application/fhir+json") ||
                      strcasestr(accept, "application/json+fhir"));
}

/* A Binary as FHIR JSON: the stored resource with its bytes as data. */
static char *binary_json(const cs_records_resource_t *res)
{
    json_t *j = json_loads(res->json, 0, NULL);
    size_t size = cs_base64_size(res->data_len);
    char *b64 = size ? malloc(size) : NULL;
    char *text = NULL;
    if (j && b64 && cs_base64_encode(res->data, res->data_len, b64, size) == CS_OK &&
        json_object_set_new(j, "data", json_string(b64)) == 0)
        text = json_dumps(j, JSON_COMPACT);
    free(b64);
    json_decref(j);
    return text;
}

/* The Binary's own bytes with its contentType. */
static int binary_raw(cs_records_resource_t *res, cs_http_response_t *resp)
{
    json_t *j = json_loads(res->json, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "contentType"));
    cs_strlcpy(resp->content_type, type ? type : "application/octet-stream",
               sizeof resp->content_type);
    json_decref(j);
    resp->status = 200;
    resp->body = (char *)res->data;
    resp->body_len = res->data_len;
    res->data = NULL;
    return 1;
}

static int read_one(cs_records_t *r, const cs_http_request_t *req, const who_t *w,
                    cs_fhir_type_t type, const char *id, const char *vid, cs_http_response_t *resp)
{
    cs_records_view_t view;
    char system[CS_RECORDS_MAX_TEXT];
    view_of(r, &w->id, &view, system, sizeof system);
    cs_records_resource_t res;
    int rc = cs_fhir_id_valid(id)
                 ? cs_records_db_get(r->db, cs_fhir_type_name(type), id, &view, &res)
                 : CS_ENOTFOUND;
    char version[24] = "";
    if (rc == CS_OK)
        snprintf(version, sizeof version, "%lld", (long long)res.version);
    if (rc == CS_OK && vid && strcmp(vid, version) != 0) {
        cs_records_resource_free(&res);
        rc = CS_ENOTFOUND;
    }
    char text[160];
    if (rc == CS_ENOTFOUND) {
        snprintf(text, sizeof text, "%s/%s%s%s is not known", cs_fhir_type_name(type), id,
                 vid ? "/_history/" : "", vid ? vid : "");
        cs_fhir_utf8_clean(text);
        return cs_fhir_outcome(resp, 404, "not-found", text, NULL);
    }
    if (rc != CS_OK)
        return cs_fhir_outcome(resp, 500, "exception", "the record store could not read", NULL);
    snprintf(text, sizeof text, "W/\"%s\"", version);
    add_header(resp, "etag:", text);
    if (type == CS_FHIR_BINARY && !wants_fhir_json(req->accept)) {
        binary_raw(&res, resp);
    } else if (type == CS_FHIR_BINARY) {
        cs_fhir_reply(resp, 200, binary_json(&res));
    } else {
        cs_fhir_reply(resp, 200, res.json);
        res.json = NULL; /* the response owns it now */
    }
    cs_records_resource_free(&res);
    return 1;
}

static int search(cs_records_t *r, const cs_http_request_t *req, const char *base_url,
                  const who_t *w, cs_fhir_type_t type, cs_http_response_t *resp, int64_t *returned)
{
    cs_fhir_search_t *s = malloc(sizeof *s);
    cs_fhir_issue_t issue;
    if (!s)
        return cs_fhir_outcome(resp, 500, "exception", "out of memory", NULL);
    if (cs_fhir_search_parse(type, req->query, s, &issue) != CS_OK) {
        free(s);
        return issue_reply(resp, &issue);
    }
    cs_records_view_t view;
    char system[CS_RECORDS_MAX_TEXT], *bundle = NULL;
    view_of(r, &w->id, &view, system, sizeof system);
    int rc = cs_fhir_search_run(r->db, s, &view, base_url, req->query, &bundle, returned);
    free(s);
    if (rc != CS_OK)
        return cs_fhir_outcome(resp, 500, "exception", "the record store could not search", NULL);
    return cs_fhir_reply(resp, 200, bundle);
}

/* GET /fhir/<Type>[/<id>[/_history/<version>]]: a read or a search, logged. */
static int data_request(cs_records_t *r, const cs_http_request_t *req, const char *base_url,
                        int64_t now_ms, char *seg[4], size_t n, cs_http_response_t *resp)
{
    bool history = n == 4 && !strcmp(seg[2], "_history");
    if (n == 3 || n > 4 || (n == 4 && !history))
        return cs_fhir_outcome(resp, 404, "not-found", "no such path in this FHIR server", NULL);
    who_t w;
    identify(r, req->authorization, now_ms, &w);
    int type = cs_fhir_type_parse(seg[0]);
    int64_t returned = 0;
    if (w.kind == WHO_ANONYMOUS || w.kind == WHO_INVALID)
        unauthorized(resp, &w);
    else if (w.kind == WHO_WRITER)
        cs_fhir_outcome(resp, 403, "forbidden", "a writer's token does not read", NULL);
    else if (type < 0)
        cs_fhir_outcome(resp, 404, "not-supported",
                        "this store keeps Patient, Encounter, Condition, DocumentReference "
                        "and Binary",
                        NULL);
    else if (n == 1)
        search(r, req, base_url, &w, (cs_fhir_type_t)type, resp, &returned);
    else
        read_one(r, req, &w, (cs_fhir_type_t)type, seg[1], history ? seg[3] : NULL, resp);
    if (n > 1 && resp->status == 200)
        returned = 1;
    int rc = log_access(r, &w, now_ms, n == 1 ? "search" : "read", seg[0],
                        n == 1 ? req->query : seg[1], resp->status, returned);
    if (rc != CS_OK && resp->status < 300) {
        /* a read that cannot be logged is not given */
        free(resp->body);
        memset(resp, 0, sizeof *resp);
        return cs_fhir_outcome(resp, 500, "exception", "the access could not be logged", NULL);
    }
    return 1;
}

/* ---- transactions ---------------------------------------------------------------- */

static bool fhir_json_type(const char *ctype)
{
    size_t n = strcspn(ctype, "; \t");
    return (n == 21 && !strncasecmp(ctype, "application/fhir+json", n)) ||
           (n == 16 && !strncasecmp(ctype, "application/json", n));
}

static int apply_plan(cs_records_t *r, const who_t *w, const cs_fhir_plan_t *plan, int64_t now_ms,
                      char *locations, size_t size, cs_http_response_t *resp)
{
    cs_fhir_issue_t issue;
    memset(&issue, 0, sizeof issue);
    unsigned types = cs_fhir_plan_types(plan);
    if (types & ~w->types)
        return cs_fhir_outcome(resp, 403, "forbidden",
                               "the access token's scope does not cover every type written", NULL);
    char *bundle = NULL;
    int rc = cs_fhir_apply(r->db, plan, now_ms, &bundle, locations, size, &issue);
    if (rc == CS_OK)
        return cs_fhir_reply(resp, 200, bundle);
    if (rc == CS_ETAKEN)
        return issue_reply(resp, &issue);
    return cs_fhir_outcome(resp, rc == CS_EAGAIN ? 503 : 500, "exception",
                           "the record store could not save the transaction; nothing was kept",
                           NULL);
}

static int transaction(cs_records_t *r, const cs_http_request_t *req, int64_t now_ms,
                       cs_http_response_t *resp)
{
    who_t w;
    identify(r, req->authorization, now_ms, &w);
    char *locations = calloc(1, TARGET_MAX);
    cs_fhir_plan_t *plan = NULL;
    cs_fhir_issue_t issue;
    if (w.kind == WHO_ANONYMOUS || w.kind == WHO_INVALID)
        unauthorized(resp, &w);
    else if (w.kind == WHO_READER)
        cs_fhir_outcome(resp, 403, "forbidden", "a user's token does not write", NULL);
    else if (req->body_len > r->max_body)
        cs_fhir_outcome(resp, 413, "too-costly", "the Bundle is larger than fhir_store.max_body",
                        NULL);
    else if (!fhir_json_type(req->content_type))
        cs_fhir_outcome(resp, 415, "not-supported",
                        "send application/fhir+json (or application/json)", NULL);
    else if (!locations)
        cs_fhir_outcome(resp, 500, "exception", "out of memory", NULL);
    else if (cs_fhir_plan_parse(req->body, req->body_len, r->base, &plan, &issue) != CS_OK)
        issue_reply(resp, &issue);
    else
        apply_plan(r, &w, plan, now_ms, locations, TARGET_MAX, resp);
    int64_t n = resp->status == 200 ? (int64_t)cs_fhir_plan_entries(plan) : 0;
    cs_fhir_plan_free(plan);
    log_access(r, &w, now_ms, "transaction", "Bundle", locations ? locations : "", resp->status, n);
    free(locations);
    return 1;
}

/* ---- routing ---------------------------------------------------------------------- */

/* Splits the path after /fhir/ into at most 4 segments (5: too many). */
static size_t segments(char *rest, char *seg[4])
{
    size_t n = 0;
    for (char *p = rest; *p && n < 5;) {
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        if (n < 4)
            seg[n] = p;
        n++;
        p = slash ? slash + 1 : p + strlen(p);
    }
    return n;
}

static int capability(cs_records_t *r, const char *base_url, cs_http_response_t *resp)
{
    return cs_fhir_reply(resp, 200, cs_fhir_capability(base_url, r->started, r->client_id));
}

static int smart_configuration(const char *base_url, cs_http_response_t *resp)
{
    char *json = cs_fhir_smart_configuration(base_url);
    cs_fhir_reply(resp, 200, json);
    cs_strlcpy(resp->content_type, "application/json", sizeof resp->content_type);
    return 1;
}

int cs_records_handle(cs_records_t *r, const cs_http_request_t *req, const char *base_url,
                      int64_t now_ms, cs_http_response_t *resp)
{
    char path[PATH_MAX_LEN], *seg[4] = {NULL};
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    bool post = !strcmp(req->method, "POST");
    const char *rest = req->path + 5;
    rest += *rest == '/';
    if (!*rest)
        return post ? transaction(r, req, now_ms, resp)
                    : not_allowed(resp, "POST a transaction Bundle here");
    if (!strcmp(rest, "metadata"))
        return get ? capability(r, base_url, resp) : not_allowed(resp, "GET the metadata");
    if (!strcmp(rest, ".well-known/smart-configuration"))
        return get ? smart_configuration(base_url, resp)
                   : not_allowed(resp, "GET the SMART configuration");
    if (!strcmp(rest, "auth/token")) {
        char audience[PATH_MAX_LEN + 32];
        snprintf(audience, sizeof audience, "%s/auth/token", base_url);
        return post ? cs_records_token_endpoint(r, req, audience, now_ms, resp)
                    : not_allowed(resp, "POST a client credentials form here");
    }
    if (!get)
        return not_allowed(resp, "resources are read with GET; written in a transaction");
    if (strlen(rest) >= sizeof path)
        return cs_fhir_outcome(resp, 404, "not-found", "no such path in this FHIR server", NULL);
    strcpy(path, rest);
    size_t n = segments(path, seg);
    return data_request(r, req, base_url, now_ms, seg, n, resp);
}
