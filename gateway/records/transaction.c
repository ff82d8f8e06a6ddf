/*
 * transaction.c — the planner: a transaction Bundle's bytes become a plan
 * (what each entry asks, and what the store will index of its resource) or
 * the one reason it is refused, without touching the database, so that the
 * whole of what a writer can send is fuzzed (tests/fuzz/fuzz_fhir_transaction.c)
 * and a refused Bundle can never have changed anything.
 *
 * Everything is checked before anything is applied: the JSON, the Bundle,
 * every entry's request and resource, every urn:uuid reference, the limits.
 * 400 means "not a transaction Bundle at all"; everything about an entry is
 * 422 with its index in the diagnostics and a FHIRPath in the expression.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

int cs_fhir_issue(cs_fhir_issue_t *issue, int status, const char *code, const char *expression,
                  const char *fmt, ...)
{
    issue->status = status;
    cs_strlcpy(issue->code, code, sizeof issue->code);
    cs_strlcpy(issue->expression, expression ? expression : "", sizeof issue->expression);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(issue->diagnostics, sizeof issue->diagnostics, fmt, ap);
    va_end(ap);
    /* Cut texts may end inside a character; they go into JSON. */
    cs_fhir_utf8_clean(issue->diagnostics);
    cs_fhir_utf8_clean(issue->expression);
    return CS_EINVAL;
}

/* An entry's problem (422): where is relative to Bundle.entry[i]. */
int cs_fhir_bad(cs_fhir_ctx_t *c, const char *code, const char *where, const char *fmt, ...)
{
    char msg[256], expr[sizeof c->issue->expression];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(expr, sizeof expr, "Bundle.entry[%zu]%s%s", c->i, where[0] ? "." : "", where);
    if (c->type)
        return cs_fhir_issue(c->issue, 422, code, expr, "entry %zu (%s): %s", c->i, c->type, msg);
    return cs_fhir_issue(c->issue, 422, code, expr, "entry %zu: %s", c->i, msg);
}

int cs_fhir_no_memory(cs_fhir_ctx_t *c)
{
    cs_fhir_issue(c->issue, 500, "exception", "Bundle", "out of memory");
    return CS_ENOMEM;
}

/* A string member: *out NULL when absent. Present but not a string, empty,
 * or longer than max (0: any length) is refused. */
int cs_fhir_string_member(cs_fhir_ctx_t *c, json_t *obj, const char *key, const char *where,
                          size_t max, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v)
        return CS_OK;
    if (!json_is_string(v))
        return cs_fhir_bad(c, "value", where, "%s must be a string", key);
    if (json_string_length(v) == 0)
        return cs_fhir_bad(c, "value", where, "%s must not be empty", key);
    if (max && json_string_length(v) > max)
        return cs_fhir_bad(c, "too-costly", where, "%s is longer than %zu bytes", key, max);
    *out = json_string_value(v);
    return CS_OK;
}

int cs_fhir_required_string(cs_fhir_ctx_t *c, json_t *obj, const char *key, const char *where,
                            size_t max, const char **out)
{
    int rc = cs_fhir_string_member(c, obj, key, where, max, out);
    if (rc == CS_OK && !*out)
        return cs_fhir_bad(c, "required", where, "%s is required", key);
    return rc;
}

/* ---- the request ------------------------------------------------------------------ */

/* ifNoneExist: "identifier=[system|]value", percent-encoded or not. */
static int if_none_exist(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, const char *text)
{
    char buf[2 * CS_RECORDS_MAX_TEXT + 16];
    cs_records_ident_t t;
    const char *where = "request.ifNoneExist";
    if (cs_fhir_percent_decode(text, strlen(text), buf, sizeof buf) != CS_OK)
        return cs_fhir_bad(c, "value", where, "ifNoneExist is not a valid query");
    if (strncmp(buf, "identifier=", 11) != 0 || strchr(buf, '&'))
        return cs_fhir_bad(c, "not-supported", where,
                           "ifNoneExist must be identifier=system|value (one identifier)");
    if (cs_fhir_token_parse(buf + 11, &t) != CS_OK || !t.value)
        return cs_fhir_bad(c, "value", where, "ifNoneExist needs an identifier value");
    if (strlen(t.value) > CS_RECORDS_MAX_TEXT ||
        (t.system && strlen(t.system) > CS_RECORDS_MAX_TEXT))
        return cs_fhir_bad(c, "too-costly", where, "the identifier is longer than %d bytes",
                           CS_RECORDS_MAX_TEXT);
    e->conditional = true;
    e->cond.value = strdup(t.value);
    e->cond.system = t.system ? strdup(t.system) : NULL;
    return e->cond.value && (!t.system || e->cond.system) ? CS_OK : cs_fhir_no_memory(c);
}

/* The type named by request.url: "Type" for a POST, "Type/id" for a PUT. */
static int request_url(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, const char *url)
{
    const char *where = "request.url";
    char type[32];
    size_t n = strcspn(url, "/?");
    if (url[n] == '?')
        return cs_fhir_bad(c, "not-supported", where, "conditional %s is not supported",
                           e->put ? "update" : "create by url");
    if (n >= sizeof type)
        return cs_fhir_bad(c, "not-supported", where, "request.url names no stored resource type");
    memcpy(type, url, n);
    type[n] = '\0';
    int t = cs_fhir_type_parse(type);
    if (t < 0)
        return cs_fhir_bad(
            c, "not-supported", where,
            "%s is not stored here (Patient, Encounter, Condition, DocumentReference, "
            "Binary)",
            type);
    e->type = (cs_fhir_type_t)t;
    if (!e->put)
        return url[n] ? cs_fhir_bad(c, "value", where, "a POST's url is the resource type") : CS_OK;
    if (url[n] != '/' || !cs_fhir_id_valid(url + n + 1))
        return cs_fhir_bad(c, "value", where, "a PUT's url is Type/id, the id [A-Za-z0-9.-]{1,64}");
    cs_strlcpy(e->id, url + n + 1, sizeof e->id);
    return CS_OK;
}

static int request(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *entry)
{
    static const char *const unsupported[] = {"ifMatch", "ifNoneMatch", "ifModifiedSince"};
    json_t *req = json_object_get(entry, "request");
    if (!req)
        return cs_fhir_bad(c, "required", "request", "request is required");
    if (!json_is_object(req))
        return cs_fhir_bad(c, "structure", "request", "request must be an object");
    const char *method, *url, *cond;
    int rc = cs_fhir_required_string(c, req, "method", "request.method", 16, &method);
    if (rc != CS_OK)
        return rc;
    if (strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0)
        return cs_fhir_bad(c, "not-supported", "request.method",
                           "method %s is not supported (POST or PUT)", method);
    e->put = method[1] == 'U';
    for (size_t k = 0; k < CS_ARRAY_LEN(unsupported); k++)
        if (json_object_get(req, unsupported[k]))
            return cs_fhir_bad(c, "not-supported", "request", "request.%s is not supported",
                               unsupported[k]);
    if ((rc = cs_fhir_required_string(c, req, "url", "request.url", 128, &url)) != CS_OK ||
        (rc = request_url(c, e, url)) != CS_OK ||
        (rc = cs_fhir_string_member(c, req, "ifNoneExist", "request.ifNoneExist", 0, &cond)) !=
            CS_OK)
        return rc;
    if (cond && e->put)
        return cs_fhir_bad(c, "invalid", "request.ifNoneExist", "ifNoneExist is for a POST");
    return cond ? if_none_exist(c, e, cond) : CS_OK;
}

/* ---- the resource ------------------------------------------------------------------- */

static int resource(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *entry)
{
    json_t *res = json_object_get(entry, "resource");
    if (!res)
        return cs_fhir_bad(c, "required", "resource", "resource is required");
    if (!json_is_object(res))
        return cs_fhir_bad(c, "structure", "resource", "resource must be an object");
    const char *rt, *id;
    int rc = cs_fhir_required_string(c, res, "resourceType", "resource.resourceType", 64, &rt);
    if (rc != CS_OK)
        return rc;
    if (strcmp(rt, cs_fhir_type_name(e->type)) != 0)
        return cs_fhir_bad(c, "invalid", "resource.resourceType",
                           "resourceType does not match request.url (%s)",
                           cs_fhir_type_name(e->type));
    if ((rc = cs_fhir_string_member(c, res, "id", "resource.id", 0, &id)) != CS_OK)
        return rc;
    if (id && !cs_fhir_id_valid(id))
        return cs_fhir_bad(c, "value", "resource.id", "id must be [A-Za-z0-9.-]{1,64}");
    if (id && e->put && strcmp(id, e->id) != 0)
        return cs_fhir_bad(c, "invalid", "resource.id",
                           "the resource's id is not the one in request.url");
    json_t *meta = json_object_get(res, "meta");
    if (meta && !json_is_object(meta))
        return cs_fhir_bad(c, "value", "resource.meta", "meta must be an object");
    e->resource = res;
    return cs_fhir_check_resource(c, e, res);
}

static int full_url(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *entry, cs_map_t *urls)
{
    const char *url;
    int rc = cs_fhir_string_member(c, entry, "fullUrl", "fullUrl", CS_RECORDS_MAX_TEXT, &url);
    if (rc != CS_OK || !url)
        return rc;
    if (cs_map_get(urls, url))
        return cs_fhir_bad(c, "duplicate", "fullUrl", "another entry has the same fullUrl");
    if (!(e->full_url = strdup(url)) || cs_map_put(urls, url, e) != CS_OK)
        return cs_fhir_no_memory(c);
    return CS_OK;
}

static int entry(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *v, cs_map_t *urls)
{
    if (!json_is_object(v))
        return cs_fhir_bad(c, "structure", "", "an entry must be an object");
    int rc = full_url(c, e, v, urls);
    if (rc == CS_OK)
        rc = request(c, e, v);
    c->type = rc == CS_OK ? cs_fhir_type_name(e->type) : NULL;
    return rc == CS_OK ? resource(c, e, v) : rc;
}

/* ---- references -------------------------------------------------------------------- */

typedef struct {
    cs_fhir_ctx_t *c;
    cs_map_t *urls;
    char path[sizeof((cs_fhir_issue_t *)0)->expression];
} walk_t;

static bool is_local(const char *ref)
{
    return strncmp(ref, "urn:uuid:", 9) == 0 || strncmp(ref, "urn:oid:", 8) == 0;
}

/* Every reference is a string, and a urn:uuid: one is the fullUrl of an
 * entry; nothing is nested deeper than CS_RECORDS_MAX_DEPTH. */
static int walk(walk_t *w, json_t *v, int depth, size_t plen)
{
    if (depth > CS_RECORDS_MAX_DEPTH)
        return cs_fhir_bad(w->c, "too-costly", w->path, "nested more than %d levels",
                           CS_RECORDS_MAX_DEPTH);
    const char *key;
    json_t *val;
    size_t k;
    int rc = CS_OK;
    if (json_is_object(v)) {
        json_object_foreach (v, key, val) {
            snprintf(w->path + plen, sizeof w->path - plen, ".%s", key);
            size_t n = strlen(w->path);
            if (strcmp(key, "reference") == 0 && !json_is_string(val))
                return cs_fhir_bad(w->c, "value", w->path, "a reference must be a string");
            if (strcmp(key, "reference") == 0 && is_local(json_string_value(val)) &&
                !cs_map_get(w->urls, json_string_value(val)))
                return cs_fhir_bad(w->c, "not-found", w->path,
                                   "reference %.80s is not the fullUrl of an entry of the Bundle",
                                   json_string_value(val));
            if ((rc = walk(w, val, depth + 1, n)) != CS_OK)
                return rc;
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, k, val) {
            snprintf(w->path + plen, sizeof w->path - plen, "[%zu]", k);
            if ((rc = walk(w, val, depth + 1, strlen(w->path))) != CS_OK)
                return rc;
        }
    }
    w->path[plen] = '\0';
    return CS_OK;
}

/* One Bundle is one consultation: its Encounters and Conditions belong to
 * the centres of its DocumentReferences too. */
static int share_centres(cs_fhir_ctx_t *c, cs_fhir_plan_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        cs_fhir_entry_t *e = &p->entries[i];
        if (e->type != CS_FHIR_ENCOUNTER && e->type != CS_FHIR_CONDITION)
            continue;
        c->i = i;
        c->type = cs_fhir_type_name(e->type);
        for (size_t j = 0; j < p->n; j++) {
            const cs_fhir_entry_t *d = &p->entries[j];
            for (size_t k = 0; d->type == CS_FHIR_DOCUMENT_REFERENCE && k < d->n_centres; k++) {
                int rc = cs_fhir_add_centre(c, e, d->centres[k], "resource");
                if (rc != CS_OK)
                    return rc;
            }
        }
    }
    return CS_OK;
}

static bool same_target(const cs_fhir_entry_t *a, const cs_fhir_entry_t *b)
{
    if (a->type != b->type || a->put != b->put)
        return false;
    if (a->put)
        return strcmp(a->id, b->id) == 0;
    return a->conditional && b->conditional && strcmp(a->cond.value, b->cond.value) == 0 &&
           (!a->cond.system) == (!b->cond.system) &&
           (!a->cond.system || strcmp(a->cond.system, b->cond.system) == 0);
}

/* No resource is the target of two entries (FHIR forbids it; here both
 * would be written or neither matched): the same PUT url, or the same
 * conditional create. Quadratic, over at most CS_RECORDS_MAX_ENTRIES. */
static int distinct_targets(cs_fhir_ctx_t *c, cs_fhir_plan_t *p)
{
    for (size_t i = 0; i < p->n; i++)
        for (size_t j = 0; j < i; j++)
            if (same_target(&p->entries[i], &p->entries[j])) {
                c->i = i;
                c->type = cs_fhir_type_name(p->entries[i].type);
                return cs_fhir_bad(c, "duplicate", "request",
                                   "entry %zu already %s the same resource", j,
                                   p->entries[i].put ? "updates" : "creates");
            }
    return CS_OK;
}

static int references(cs_fhir_ctx_t *c, cs_fhir_plan_t *p, cs_map_t *urls)
{
    walk_t w = {.c = c, .urls = urls};
    for (size_t i = 0; i < p->n; i++) {
        c->i = i;
        c->type = cs_fhir_type_name(p->entries[i].type);
        cs_strlcpy(w.path, "resource", sizeof w.path);
        int rc = walk(&w, p->entries[i].resource, 1, strlen(w.path));
        if (rc != CS_OK)
            return rc;
    }
    return CS_OK;
}

/* ---- the Bundle ------------------------------------------------------------------------ */

static int not_json(cs_fhir_issue_t *issue, const json_error_t *err)
{
    const char *why;
    switch (json_error_code(err)) {
    case json_error_invalid_utf8:
        why = "it is not valid UTF-8";
        break;
    case json_error_duplicate_key:
        why = "an object has a key twice";
        break;
    case json_error_null_character:
    case json_error_null_byte_in_key:
        why = "it holds a NUL character";
        break;
    case json_error_out_of_memory:
        return cs_fhir_issue(issue, 500, "exception", "Bundle", "out of memory");
    default:
        why = "it is not valid JSON";
        break;
    }
    return cs_fhir_issue(issue, 400, "structure", "Bundle",
                         "the body is not a JSON document: %s (line %d, column %d)", why, err->line,
                         err->column);
}

/* The Bundle itself: a transaction with an array of entries (400 otherwise). */
static int bundle(cs_fhir_issue_t *issue, json_t *root, json_t **entries)
{
    if (!json_is_object(root))
        return cs_fhir_issue(issue, 400, "structure", "Bundle", "the body is not a JSON object");
    json_t *rt = json_object_get(root, "resourceType"), *type = json_object_get(root, "type");
    if (!json_is_string(rt) || strcmp(json_string_value(rt), "Bundle") != 0)
        return cs_fhir_issue(issue, 400, "invalid", "Bundle.resourceType",
                             "resourceType must be Bundle");
    if (!json_is_string(type) || strcmp(json_string_value(type), "transaction") != 0)
        return cs_fhir_issue(issue, 400, "not-supported", "Bundle.type",
                             "only a Bundle of type transaction is accepted here");
    *entries = json_object_get(root, "entry");
    if (*entries && !json_is_array(*entries))
        return cs_fhir_issue(issue, 400, "structure", "Bundle.entry", "entry must be an array");
    if (json_array_size(*entries) > CS_RECORDS_MAX_ENTRIES)
        return cs_fhir_issue(issue, 422, "too-costly", "Bundle.entry",
                             "more than %d entries in one transaction", CS_RECORDS_MAX_ENTRIES);
    return CS_OK;
}

static int plan_entries(cs_fhir_ctx_t *c, cs_fhir_plan_t *p, json_t *entries)
{
    cs_map_t *urls = cs_map_new(0);
    if (!urls)
        return cs_fhir_no_memory(c);
    int rc = CS_OK;
    for (size_t i = 0; rc == CS_OK && i < p->n; i++) {
        c->i = i;
        c->type = NULL;
        rc = entry(c, &p->entries[i], json_array_get(entries, i), urls);
    }
    if (rc == CS_OK)
        rc = distinct_targets(c, p);
    if (rc == CS_OK)
        rc = references(c, p, urls);
    if (rc == CS_OK)
        rc = share_centres(c, p);
    cs_map_free(urls);
    return rc;
}

int cs_fhir_plan_parse(const char *body, size_t len, const char *identifier_base,
                       cs_fhir_plan_t **out, cs_fhir_issue_t *issue)
{
    memset(issue, 0, sizeof *issue);
    *out = NULL;
    char org[CS_RECORDS_MAX_TEXT];
    snprintf(org, sizeof org, "%s:organization", identifier_base ? identifier_base : "");
    json_error_t err;
    json_t *root = body ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &err) : NULL;
    if (!root)
        return body ? not_json(issue, &err)
                    : cs_fhir_issue(issue, 400, "structure", "Bundle", "the body is empty");
    json_t *entries = NULL;
    int rc = bundle(issue, root, &entries);
    cs_fhir_plan_t *p = rc == CS_OK ? calloc(1, sizeof *p) : NULL;
    if (rc == CS_OK && p) {
        p->root = root;
        p->n = json_array_size(entries);
        p->entries = calloc(p->n ? p->n : 1, sizeof *p->entries);
    }
    if (rc == CS_OK && (!p || !p->entries)) {
        cs_fhir_issue(issue, 500, "exception", "Bundle", "out of memory");
        rc = CS_ENOMEM;
    }
    cs_fhir_ctx_t c = {.org_system = org, .issue = issue};
    if (rc == CS_OK)
        rc = plan_entries(&c, p, entries);
    if (rc != CS_OK) {
        if (p)
            cs_fhir_plan_free(p);
        else
            json_decref(root);
        return rc;
    }
    *out = p;
    return CS_OK;
}

static void free_ident(cs_fhir_ident_t *id)
{
    free(id->system);
    free(id->value);
}

void cs_fhir_plan_free(cs_fhir_plan_t *p)
{
    if (!p)
        return;
    for (size_t i = 0; p->entries && i < p->n; i++) {
        cs_fhir_entry_t *e = &p->entries[i];
        free(e->full_url);
        free_ident(&e->cond);
        for (size_t k = 0; k < e->n_identifiers; k++)
            free_ident(&e->identifiers[k]);
        free_ident(&e->subject_identifier);
        for (size_t k = 0; k < e->n_centres; k++)
            free(e->centres[k]);
        for (size_t k = 0; k < e->n_inline; k++)
            free(e->inline_data[k].bytes);
        free(e->data);
    }
    free(p->entries);
    json_decref(p->root);
    free(p);
}

size_t cs_fhir_plan_entries(const cs_fhir_plan_t *p)
{
    return p ? p->n : 0;
}

unsigned cs_fhir_plan_types(const cs_fhir_plan_t *p)
{
    unsigned types = 0;
    for (size_t i = 0; p && i < p->n; i++) {
        types |= 1u << p->entries[i].type;
        if (p->entries[i].n_inline)
            types |= 1u << CS_FHIR_BINARY;
    }
    return types;
}
