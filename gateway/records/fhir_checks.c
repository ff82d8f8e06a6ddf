/*
 * fhir_checks.c — the planner's look at each resource (transaction.c reads
 * the Bundle and the requests): what the store needs of each type and what
 * it indexes — identifiers, the subject, dates, the centres a resource
 * belongs to, and DocumentReference attachments whose inline data becomes a
 * Binary (decoded and checked against size and hash here). Pure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "records_internal.h"

static bool one_of(const char *s, const char *const *set)
{
    for (; *set; set++)
        if (strcmp(s, *set) == 0)
            return true;
    return false;
}

/* ---- identifiers, references, centres ----------------------------------------- */

static int dup_ident(cs_fhir_ctx_t *c, const char *system, const char *value, cs_fhir_ident_t *out)
{
    out->system = strdup(system ? system : "");
    out->value = strdup(value);
    return out->system && out->value ? CS_OK : cs_fhir_no_memory(c);
}

/* An Identifier: *value NULL when it has none (nothing to index). */
static int identifier(cs_fhir_ctx_t *c, json_t *v, const char *where, const char **system,
                      const char **value)
{
    *system = *value = NULL;
    if (!json_is_object(v))
        return cs_fhir_bad(c, "value", where, "an Identifier must be an object");
    int rc = cs_fhir_string_member(c, v, "system", where, CS_RECORDS_MAX_TEXT, system);
    if (rc == CS_OK)
        rc = cs_fhir_string_member(c, v, "value", where, CS_RECORDS_MAX_TEXT, value);
    return rc;
}

static int add_identifier(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *v, const char *where)
{
    const char *system, *value;
    int rc = identifier(c, v, where, &system, &value);
    if (rc != CS_OK || !value)
        return rc;
    if (e->n_identifiers == CS_RECORDS_MAX_IDENTIFIERS)
        return cs_fhir_bad(c, "too-costly", where, "more than %d identifiers",
                           CS_RECORDS_MAX_IDENTIFIERS);
    return dup_ident(c, system, value, &e->identifiers[e->n_identifiers++]);
}

/* identifier[] (and DocumentReference.masterIdentifier) */
static int identifiers(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    json_t *master = json_object_get(res, "masterIdentifier");
    int rc = CS_OK;
    if (master && e->type == CS_FHIR_DOCUMENT_REFERENCE)
        rc = add_identifier(c, e, master, "resource.masterIdentifier");
    json_t *list = json_object_get(res, "identifier");
    if (rc != CS_OK || !list)
        return rc;
    if (!json_is_array(list))
        return cs_fhir_bad(c, "value", "resource.identifier", "identifier must be an array");
    for (size_t k = 0; rc == CS_OK && k < json_array_size(list); k++) {
        char where[48];
        snprintf(where, sizeof where, "resource.identifier[%zu]", k);
        rc = add_identifier(c, e, json_array_get(list, k), where);
    }
    return rc;
}

static int subject(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res, bool required)
{
    json_t *s = json_object_get(res, "subject");
    if (!s)
        return required ? cs_fhir_bad(c, "required", "resource.subject", "subject is required")
                        : CS_OK;
    if (!json_is_object(s))
        return cs_fhir_bad(c, "value", "resource.subject",
                           "subject must be a Reference (an object)");
    const char *ref, *system = NULL, *value = NULL;
    int rc =
        cs_fhir_string_member(c, s, "reference", "resource.subject", CS_RECORDS_MAX_TEXT, &ref);
    json_t *id = json_object_get(s, "identifier");
    if (rc == CS_OK && id)
        rc = identifier(c, id, "resource.subject.identifier", &system, &value);
    if (rc != CS_OK)
        return rc;
    if (!ref && !value)
        return cs_fhir_bad(c, "required", "resource.subject",
                           "subject needs a reference or an identifier with a value");
    if (!value)
        return CS_OK;
    e->has_subject_identifier = true;
    return dup_ident(c, system, value, &e->subject_identifier);
}

int cs_fhir_add_centre(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, const char *tenant, const char *where)
{
    for (size_t k = 0; k < e->n_centres; k++)
        if (strcmp(e->centres[k], tenant) == 0)
            return CS_OK;
    if (e->n_centres == CS_RECORDS_MAX_CENTRES)
        return cs_fhir_bad(c, "too-costly", where, "more than %d organizations",
                           CS_RECORDS_MAX_CENTRES);
    e->centres[e->n_centres] = strdup(tenant);
    return e->centres[e->n_centres++] ? CS_OK : cs_fhir_no_memory(c);
}

/* A Reference that may name one of our centres by its organization identifier. */
static int organization(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *ref, const char *where)
{
    if (!json_is_object(ref))
        return cs_fhir_bad(c, "value", where, "a Reference must be an object");
    json_t *id = json_object_get(ref, "identifier");
    const char *system, *value;
    int rc = id ? identifier(c, id, where, &system, &value) : CS_OK;
    if (rc != CS_OK || !id || !system || !value || strcmp(system, c->org_system) != 0)
        return rc;
    return cs_fhir_add_centre(c, e, value, where);
}

static int centres(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    static const char *const single[] = {"custodian", "serviceProvider", "managingOrganization"};
    int rc = CS_OK;
    for (size_t k = 0; rc == CS_OK && k < CS_ARRAY_LEN(single); k++) {
        json_t *ref = json_object_get(res, single[k]);
        char where[48];
        snprintf(where, sizeof where, "resource.%s", single[k]);
        if (ref)
            rc = organization(c, e, ref, where);
    }
    json_t *authors = json_object_get(res, "author");
    if (rc != CS_OK || !authors)
        return rc;
    if (!json_is_array(authors))
        return cs_fhir_bad(c, "value", "resource.author", "author must be an array");
    for (size_t k = 0; rc == CS_OK && k < json_array_size(authors); k++) {
        char where[48];
        snprintf(where, sizeof where, "resource.author[%zu]", k);
        rc = organization(c, e, json_array_get(authors, k), where);
    }
    return rc;
}

/* ---- dates and attachments ------------------------------------------------------- */

static int date_value(cs_fhir_ctx_t *c, json_t *obj, const char *key, const char *where,
                      int64_t *lo, int64_t *hi, bool *present)
{
    const char *s;
    int rc = cs_fhir_string_member(c, obj, key, where, 64, &s);
    *present = rc == CS_OK && s;
    if (*present && cs_fhir_date_range(s, lo, hi) != CS_OK)
        return cs_fhir_bad(c, "value", where, "%s is not a FHIR date or dateTime", key);
    return rc;
}

static int period(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    json_t *p = json_object_get(res, "period");
    if (!p)
        return CS_OK;
    if (!json_is_object(p))
        return cs_fhir_bad(c, "value", "resource.period", "period must be an object");
    int64_t slo, shi, elo, ehi;
    bool has_start, has_end;
    int rc = date_value(c, p, "start", "resource.period.start", &slo, &shi, &has_start);
    if (rc == CS_OK)
        rc = date_value(c, p, "end", "resource.period.end", &elo, &ehi, &has_end);
    if (rc != CS_OK)
        return rc;
    if (has_start && has_end && ehi <= slo)
        return cs_fhir_bad(c, "invalid", "resource.period", "period ends before it starts");
    e->has_date = has_start || has_end;
    e->date_lo = has_start ? slo : INT64_MIN;
    e->date_hi = has_end ? ehi : INT64_MAX; /* no end: still going on */
    return CS_OK;
}

static int base64_member(cs_fhir_ctx_t *c, const char *text, const char *where, const char *what,
                         unsigned char **out, size_t *len)
{
    int rc = cs_fhir_base64_decode(text, strlen(text), out, len);
    if (rc == CS_ENOMEM)
        return cs_fhir_no_memory(c);
    return rc == CS_OK ? CS_OK : cs_fhir_bad(c, "value", where, "%s is not base64", what);
}

/* The checks att-1 and of size and hash, when the bytes are inline. */
static int inline_attachment(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, size_t k, json_t *att,
                             const char *where, const char *data)
{
    const char *type, *url, *hash;
    int rc = cs_fhir_string_member(c, att, "contentType", where, 0, &type);
    if (rc == CS_OK)
        rc = cs_fhir_string_member(c, att, "url", where, 0, &url);
    if (rc == CS_OK)
        rc = cs_fhir_string_member(c, att, "hash", where, 0, &hash);
    if (rc != CS_OK)
        return rc;
    if (!type)
        return cs_fhir_bad(c, "required", where, "an attachment with data needs a contentType");
    if (!cs_fhir_content_type_valid(type))
        return cs_fhir_bad(c, "value", where, "contentType must be type/subtype, at most %d bytes",
                           CS_RECORDS_CONTENT_TYPE_MAX);
    if (url)
        return cs_fhir_bad(c, "invalid", where, "an attachment has data or a url, not both");
    cs_fhir_inline_t *in = &e->inline_data[e->n_inline];
    if ((rc = base64_member(c, data, where, "data", &in->bytes, &in->len)) != CS_OK)
        return rc;
    e->n_inline++;
    in->content = k;
    cs_strlcpy(in->content_type, type, sizeof in->content_type);
    json_t *size = json_object_get(att, "size");
    if (size && (!json_is_integer(size) || json_integer_value(size) != (json_int_t)in->len))
        return cs_fhir_bad(c, "value", where, "size is not the number of bytes in data (%zu)",
                           in->len);
    if (!hash)
        return CS_OK;
    unsigned char *h = NULL, sha1[CS_SHA1_LEN];
    size_t hlen = 0;
    if ((rc = base64_member(c, hash, where, "hash", &h, &hlen)) != CS_OK)
        return rc;
    bool same = hlen == CS_SHA1_LEN && cs_sha1(in->bytes, in->len, sha1) == CS_OK &&
                memcmp(h, sha1, CS_SHA1_LEN) == 0;
    free(h);
    return same ? CS_OK : cs_fhir_bad(c, "value", where, "hash is not the SHA-1 of data");
}

static int attachment(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, size_t k, json_t *item)
{
    char where[64];
    snprintf(where, sizeof where, "resource.content[%zu]", k);
    if (!json_is_object(item))
        return cs_fhir_bad(c, "value", where, "content must hold objects");
    json_t *att = json_object_get(item, "attachment");
    snprintf(where, sizeof where, "resource.content[%zu].attachment", k);
    if (!att)
        return cs_fhir_bad(c, "required", where, "content[%zu].attachment is required", k);
    if (!json_is_object(att))
        return cs_fhir_bad(c, "value", where, "an attachment must be an object");
    const char *data;
    int rc = cs_fhir_string_member(c, att, "data", where, 0, &data);
    json_t *size = json_object_get(att, "size");
    if (rc == CS_OK && size && (!json_is_integer(size) || json_integer_value(size) < 0))
        return cs_fhir_bad(c, "value", where, "size must be a whole number of bytes");
    return rc == CS_OK && data ? inline_attachment(c, e, k, att, where, data) : rc;
}

/* ---- each type ---------------------------------------------------------------------- */

static int encounter(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    static const char *const statuses[] = {"planned", "arrived",  "triaged",   "in-progress",
                                           "onleave", "finished", "cancelled", "entered-in-error",
                                           "unknown", NULL};
    const char *status;
    int rc = cs_fhir_required_string(c, res, "status", "resource.status", 32, &status);
    if (rc == CS_OK && !one_of(status, statuses))
        return cs_fhir_bad(c, "value", "resource.status", "status is not an Encounter status");
    json_t *cls = json_object_get(res, "class");
    if (rc == CS_OK && !cls)
        return cs_fhir_bad(c, "required", "resource.class", "class is required");
    if (rc == CS_OK && !json_is_object(cls))
        return cs_fhir_bad(c, "value", "resource.class", "class must be a Coding (an object)");
    if (rc == CS_OK)
        rc = subject(c, e, res, false);
    return rc == CS_OK ? period(c, e, res) : rc;
}

static int document_reference(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    static const char *const statuses[] = {"current", "superseded", "entered-in-error", NULL};
    static const char *const doc_statuses[] = {"preliminary", "final", "amended",
                                               "entered-in-error", NULL};
    const char *status, *doc_status;
    int rc = cs_fhir_required_string(c, res, "status", "resource.status", 32, &status);
    if (rc == CS_OK && !one_of(status, statuses))
        return cs_fhir_bad(c, "value", "resource.status",
                           "status is not a DocumentReference status");
    if (rc == CS_OK)
        rc = cs_fhir_string_member(c, res, "docStatus", "resource.docStatus", 32, &doc_status);
    if (rc == CS_OK && doc_status && !one_of(doc_status, doc_statuses))
        return cs_fhir_bad(c, "value", "resource.docStatus",
                           "docStatus is not a composition status");
    if (rc == CS_OK)
        rc = subject(c, e, res, true);
    bool has_date = false;
    if (rc == CS_OK)
        rc = date_value(c, res, "date", "resource.date", &e->date_lo, &e->date_hi, &has_date);
    e->has_date = has_date;
    json_t *content = json_object_get(res, "content");
    if (rc != CS_OK)
        return rc;
    if (!content)
        return cs_fhir_bad(c, "required", "resource.content", "content is required");
    if (!json_is_array(content) || json_array_size(content) == 0)
        return cs_fhir_bad(c, "value", "resource.content", "content must be a non-empty array");
    if (json_array_size(content) > CS_RECORDS_MAX_CONTENT)
        return cs_fhir_bad(c, "too-costly", "resource.content", "more than %d content entries",
                           CS_RECORDS_MAX_CONTENT);
    for (size_t k = 0; rc == CS_OK && k < json_array_size(content); k++)
        rc = attachment(c, e, k, json_array_get(content, k));
    return rc;
}

static int binary(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    const char *type, *data;
    int rc = cs_fhir_required_string(c, res, "contentType", "resource.contentType", 0, &type);
    if (rc == CS_OK && !cs_fhir_content_type_valid(type))
        return cs_fhir_bad(c, "value", "resource.contentType",
                           "contentType must be type/subtype, at most %d bytes",
                           CS_RECORDS_CONTENT_TYPE_MAX);
    if (rc == CS_OK)
        rc = cs_fhir_string_member(c, res, "data", "resource.data", 0, &data);
    if (rc == CS_OK && data)
        rc = base64_member(c, data, "resource.data", "data", &e->data, &e->data_len);
    return rc;
}

int cs_fhir_check_resource(cs_fhir_ctx_t *c, cs_fhir_entry_t *e, json_t *res)
{
    int rc = identifiers(c, e, res);
    if (rc == CS_OK)
        rc = centres(c, e, res);
    if (rc != CS_OK)
        return rc;
    switch (e->type) {
    case CS_FHIR_ENCOUNTER:
        return encounter(c, e, res);
    case CS_FHIR_CONDITION:
        return subject(c, e, res, true);
    case CS_FHIR_DOCUMENT_REFERENCE:
        return document_reference(c, e, res);
    case CS_FHIR_BINARY:
        return binary(c, e, res);
    case CS_FHIR_PATIENT:
    case CS_FHIR_TYPE_COUNT:
        break;
    }
    return CS_OK;
}
