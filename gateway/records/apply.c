/*
 * apply.c — a plan (transaction.c) becomes one SQLite transaction of the
 * record store and its transaction-response Bundle: all of it or nothing.
 *
 * First every entry gets its id (POSTs, then PUTs, as FHIR orders a
 * transaction): a conditional create looks for its identifier and, when the
 * resource exists, writes nothing and answers 200 OK with its location —
 * the check and the inserts are in the same transaction, on the one thread
 * that serves HTTP, so a Bundle posted twice, or by two gateways at once,
 * stores everything once. Then each new or updated resource is written with
 * its urn:uuid references rewritten to Type/id, meta.versionId and
 * meta.lastUpdated set, and a DocumentReference's inline attachments kept as
 * Binary resources it points at (url "Binary/<id>"). The transaction
 * function may run again when the file was locked: it starts from the
 * untouched plan each time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

typedef struct {
    char id[CS_RECORDS_ID_MAX + 1];
    char target[CS_RECORDS_ID_MAX + 32]; /* "Type/id" */
    int64_t version, updated_at;
    bool created; /* 201 Created, else 200 OK */
    bool matched; /* a conditional create found it: nothing written */
} result_t;

typedef struct {
    const cs_fhir_plan_t *plan;
    int64_t now_ms;
    char now[32];
    result_t *res;
    cs_map_t *urls; /* fullUrl → result_t */
    cs_fhir_issue_t *issue;
    char *response;
    char *locations;
    size_t loc_size;
} apply_t;

/* ---- ids --------------------------------------------------------------------- */

static int conditional(cs_records_db_t *db, apply_t *a, size_t i, result_t *r)
{
    const cs_fhir_entry_t *e = &a->plan->entries[i];
    cs_records_ident_t ident = {e->cond.system, e->cond.value};
    char id[65];
    int matches = 0;
    int rc = cs_records_db_find(db, cs_fhir_type_name(e->type), &ident, id, &matches);
    if (rc != CS_OK || matches == 0)
        return rc;
    if (matches > 1) {
        char expr[64];
        snprintf(expr, sizeof expr, "Bundle.entry[%zu].request.ifNoneExist", i);
        cs_fhir_issue(a->issue, 412, "duplicate", expr,
                      "entry %zu (%s): ifNoneExist matches more than one resource", i,
                      cs_fhir_type_name(e->type));
        return CS_ETAKEN;
    }
    cs_strlcpy(r->id, id, sizeof r->id);
    r->matched = true;
    return cs_records_db_version(db, cs_fhir_type_name(e->type), id, &r->version, &r->updated_at);
}

static int resolve(cs_records_db_t *db, apply_t *a, size_t i)
{
    const cs_fhir_entry_t *e = &a->plan->entries[i];
    result_t *r = &a->res[i];
    int rc = CS_OK;
    r->updated_at = a->now_ms;
    r->version = 1;
    if (e->put) {
        cs_strlcpy(r->id, e->id, sizeof r->id);
        rc = cs_records_db_version(db, cs_fhir_type_name(e->type), e->id, &r->version,
                                   &r->updated_at);
        r->created = rc == CS_ENOTFOUND;
        r->version = r->created ? 1 : r->version + 1;
        r->updated_at = a->now_ms;
        rc = r->created ? CS_OK : rc;
    } else if (e->conditional) {
        rc = conditional(db, a, i, r);
    }
    if (rc == CS_OK && !r->matched && !e->put) {
        r->created = true;
        rc = cs_uuid4(r->id);
    }
    if (rc != CS_OK)
        return rc;
    snprintf(r->target, sizeof r->target, "%s/%s", cs_fhir_type_name(e->type), r->id);
    if (e->full_url && cs_map_put(a->urls, e->full_url, r) != CS_OK)
        return CS_ENOMEM;
    return CS_OK;
}

/* ---- the stored JSON ------------------------------------------------------------ */

/* References to entries of the Bundle by their fullUrl become Type/id (in
 * Reference.reference, and in Attachment.url as FHIR asks). */
static void rewrite(json_t *v, cs_map_t *urls)
{
    const char *key;
    json_t *val;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach (v, key, val) {
            const result_t *r =
                json_is_string(val) && (!strcmp(key, "reference") || !strcmp(key, "url"))
                    ? cs_map_get(urls, json_string_value(val))
                    : NULL;
            if (r)
                json_string_set(val, r->target);
            else
                rewrite(val, urls);
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, val)
            rewrite(val, urls);
    }
}

static json_t *meta_of(json_t *old, int64_t version, const char *now)
{
    json_t *meta = json_is_object(old) ? json_deep_copy(old) : json_object();
    char v[24];
    snprintf(v, sizeof v, "%lld", (long long)version);
    if (meta && (json_object_set_new(meta, "versionId", json_string(v)) ||
                 json_object_set_new(meta, "lastUpdated", json_string(now)))) {
        json_decref(meta);
        meta = NULL;
    }
    return meta;
}

/* A copy of res with resourceType, id and meta first (as servers write
 * them) and the rest in the order sent. */
static json_t *stored_copy(json_t *res, const char *type, const char *id, int64_t version,
                           const char *now)
{
    json_t *out = json_object(), *meta = meta_of(json_object_get(res, "meta"), version, now);
    if (!out || !meta) {
        json_decref(out);
        json_decref(meta);
        return NULL;
    }
    /* each set_new takes its value, even when it fails */
    int bad = json_object_set_new(out, "resourceType", json_string(type));
    bad |= json_object_set_new(out, "id", json_string(id));
    bad |= json_object_set_new(out, "meta", meta);
    const char *key;
    json_t *val;
    json_object_foreach (res, key, val) {
        if (strcmp(key, "resourceType") && strcmp(key, "id") && strcmp(key, "meta"))
            bad |= json_object_set_new(out, key, json_deep_copy(val));
    }
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

/* ---- writing ----------------------------------------------------------------------- */

typedef struct {
    const char *binaries[CS_RECORDS_MAX_CONTENT];
    char ids[CS_RECORDS_MAX_CONTENT][37];
    size_t n;
} links_t;

static int put_json(cs_records_db_t *db, cs_records_row_t *row, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text)
        return CS_ENOMEM;
    row->json = text;
    int rc = cs_records_db_put(db, row);
    free(text);
    return rc;
}

/* The bytes of content[k] as a new Binary that the DocumentReference
 * points at; its securityContext says whose access it follows. */
static int externalise(cs_records_db_t *db, apply_t *a, const result_t *doc_res,
                       const cs_fhir_inline_t *in, json_t *att, links_t *l)
{
    char *id = l->ids[l->n], url[48], ctx[CS_RECORDS_ID_MAX + 32];
    int rc = cs_uuid4(id);
    if (rc != CS_OK)
        return rc;
    snprintf(ctx, sizeof ctx, "DocumentReference/%s", doc_res->id);
    json_t *bin = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:{s:s}}", "resourceType", "Binary",
                            "id", id, "meta", "versionId", "1", "lastUpdated", a->now,
                            "contentType", in->content_type, "securityContext", "reference", ctx);
    if (!bin)
        return CS_ENOMEM;
    cs_records_row_t row = {.type = "Binary",
                            .id = id,
                            .version = 1,
                            .updated_at = a->now_ms,
                            .data = in->bytes ? in->bytes : (const void *)"",
                            .data_len = in->len};
    rc = put_json(db, &row, bin);
    json_decref(bin);
    snprintf(url, sizeof url, "Binary/%s", id);
    if (rc == CS_OK &&
        (json_object_del(att, "data") || json_object_set_new(att, "url", json_string(url))))
        rc = CS_ENOMEM;
    if (rc == CS_OK && !json_object_get(att, "size") &&
        json_object_set_new(att, "size", json_integer((json_int_t)in->len)))
        rc = CS_ENOMEM;
    l->binaries[l->n++] = id;
    return rc;
}

/* Inline data out, and which Binaries the DocumentReference points at. */
static int document_binaries(cs_records_db_t *db, apply_t *a, const cs_fhir_entry_t *e,
                             const result_t *r, json_t *doc, links_t *l)
{
    json_t *content = json_object_get(doc, "content");
    for (size_t k = 0; k < e->n_inline; k++) {
        json_t *att =
            json_object_get(json_array_get(content, e->inline_data[k].content), "attachment");
        int rc = externalise(db, a, r, &e->inline_data[k], att, l);
        if (rc != CS_OK)
            return rc;
    }
    for (size_t k = 0; k < json_array_size(content) && l->n < CS_RECORDS_MAX_CONTENT; k++) {
        json_t *url =
            json_object_get(json_object_get(json_array_get(content, k), "attachment"), "url");
        const char *u = json_string_value(url);
        if (!u || strncmp(u, "Binary/", 7) != 0 || !cs_fhir_id_valid(u + 7))
            continue;
        bool known = false;
        for (size_t j = 0; j < l->n; j++)
            known = known || strcmp(u + 7, l->binaries[j]) == 0;
        if (!known)
            l->binaries[l->n++] = u + 7;
    }
    return CS_OK;
}

/* subject.reference "Patient/<id>" (after rewriting), or NULL. */
static const char *subject_patient(json_t *doc)
{
    const char *ref =
        json_string_value(json_object_get(json_object_get(doc, "subject"), "reference"));
    return ref && !strncmp(ref, "Patient/", 8) && cs_fhir_id_valid(ref + 8) ? ref + 8 : NULL;
}

static void index_rows(const cs_fhir_entry_t *e, cs_records_row_t *row,
                       cs_records_ident_t ids[CS_RECORDS_MAX_IDENTIFIERS],
                       cs_records_ident_t *subject)
{
    for (size_t k = 0; k < e->n_identifiers; k++)
        ids[k] = (cs_records_ident_t){e->identifiers[k].system, e->identifiers[k].value};
    row->identifiers = ids;
    row->n_identifiers = e->n_identifiers;
    *subject = (cs_records_ident_t){e->subject_identifier.system, e->subject_identifier.value};
    row->subjects = subject;
    row->n_subjects = e->has_subject_identifier;
    row->centres = (const char *const *)e->centres;
    row->n_centres = e->n_centres;
    row->has_date = e->has_date;
    row->date_lo = e->date_lo;
    row->date_hi = e->date_hi;
}

static int write_entry(cs_records_db_t *db, apply_t *a, size_t i)
{
    const cs_fhir_entry_t *e = &a->plan->entries[i];
    const result_t *r = &a->res[i];
    json_t *doc = stored_copy(e->resource, cs_fhir_type_name(e->type), r->id, r->version, a->now);
    if (!doc)
        return CS_ENOMEM;
    rewrite(doc, a->urls);
    cs_records_ident_t ids[CS_RECORDS_MAX_IDENTIFIERS], subject;
    cs_records_row_t row = {.type = cs_fhir_type_name(e->type),
                            .id = r->id,
                            .version = r->version,
                            .updated_at = r->updated_at};
    index_rows(e, &row, ids, &subject);
    links_t l = {.n = 0};
    int rc = CS_OK;
    if (e->type == CS_FHIR_DOCUMENT_REFERENCE)
        rc = document_binaries(db, a, e, r, doc, &l);
    if (e->type == CS_FHIR_BINARY) {
        json_object_del(doc, "data");
        row.data = e->data ? e->data : (const void *)"";
        row.data_len = e->data_len;
    }
    row.subject_patient = subject_patient(doc);
    row.binaries = l.binaries;
    row.n_binaries = l.n;
    if (rc == CS_OK)
        rc = put_json(db, &row, doc);
    json_decref(doc);
    return rc;
}

/* ---- the transaction-response ------------------------------------------------------ */

static json_t *response_entry(const result_t *r)
{
    char location[CS_RECORDS_ID_MAX + 64], etag[32], when[32];
    snprintf(location, sizeof location, "%s/_history/%lld", r->target, (long long)r->version);
    snprintf(etag, sizeof etag, "W/\"%lld\"", (long long)r->version);
    cs_time_iso8601(r->updated_at, when);
    return json_pack("{s:{s:s, s:s, s:s, s:s}}", "response", "status",
                     r->created ? "201 Created" : "200 OK", "location", location, "etag", etag,
                     "lastModified", when);
}

static int respond(apply_t *a)
{
    json_t *entries = json_array();
    size_t used = 0;
    a->locations[0] = '\0';
    for (size_t i = 0; entries && i < a->plan->n; i++) {
        json_t *e = response_entry(&a->res[i]);
        if (!e || json_array_append_new(entries, e)) {
            json_decref(entries);
            return CS_ENOMEM;
        }
        const char *loc =
            json_string_value(json_object_get(json_object_get(e, "response"), "location"));
        int n = snprintf(a->locations + used, a->loc_size - used, "%s%s", i ? " " : "", loc);
        used = n > 0 && used + (size_t)n < a->loc_size ? used + (size_t)n : used;
    }
    json_t *bundle = entries ? json_pack("{s:s, s:s, s:o}", "resourceType", "Bundle", "type",
                                         "transaction-response", "entry", entries)
                             : NULL;
    free(a->response);
    a->response = bundle ? json_dumps(bundle, JSON_COMPACT) : NULL;
    json_decref(bundle);
    return a->response ? CS_OK : CS_ENOMEM;
}

static int apply_tx(cs_records_db_t *db, void *arg)
{
    apply_t *a = arg;
    const cs_fhir_plan_t *p = a->plan;
    memset(a->res, 0, p->n * sizeof *a->res);
    cs_map_free(a->urls);
    if (!(a->urls = cs_map_new(0)))
        return CS_ENOMEM;
    int rc = CS_OK;
    for (int put = 0; put < 2; put++)
        for (size_t i = 0; rc == CS_OK && i < p->n; i++)
            if (p->entries[i].put == put)
                rc = resolve(db, a, i);
    for (size_t i = 0; rc == CS_OK && i < p->n; i++)
        if (!a->res[i].matched)
            rc = write_entry(db, a, i);
    return rc == CS_OK ? respond(a) : rc;
}

int cs_fhir_apply(cs_records_db_t *db, const cs_fhir_plan_t *plan, int64_t now_ms, char **response,
                  char *locations, size_t loc_size, cs_fhir_issue_t *issue)
{
    *response = NULL;
    if (!db || !plan || !locations || loc_size == 0)
        return CS_EINVAL;
    apply_t a = {.plan = plan,
                 .now_ms = now_ms,
                 .issue = issue,
                 .locations = locations,
                 .loc_size = loc_size};
    cs_time_iso8601(now_ms, a.now);
    a.res = calloc(plan->n ? plan->n : 1, sizeof *a.res);
    if (!a.res)
        return CS_ENOMEM;
    int rc = cs_records_db_write(db, apply_tx, &a);
    cs_map_free(a.urls);
    free(a.res);
    if (rc == CS_OK)
        *response = a.response;
    else
        free(a.response);
    return rc;
}
