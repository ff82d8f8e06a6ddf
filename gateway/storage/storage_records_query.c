/*
 * storage_records_query.c — reads and searches of the built-in FHIR record
 * store (storage_records.c has the file, its schema and the writes), with
 * who is looking built into the SQL: a resource the viewer may not see is
 * never read, so a search's total and a read's 404 cannot tell it exists.
 * The SQL text is assembled from our own fragments; every value from a
 * request is a bound parameter.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "storage_records_internal.h"

/* Bound parameters of one search: conditions × values × 2, and the view. */
#define QB_MAX 256

/* ---- queries built for who is looking ------------------------------------------- */

typedef struct {
    const char *text;
    int64_t i;
    bool is_int;
} qb_param_t;

/* SQL text and its parameters, numbered in the order they are appended. */
typedef struct {
    sqlite3_str *s;
    int n;
    qb_param_t p[QB_MAX];
    bool full;
} qb_t;

static void qb_sql(qb_t *q, const char *sql)
{
    sqlite3_str_appendall(q->s, sql);
}

/* The next parameter's slot, its "?N" written; NULL (and full) past QB_MAX. */
static qb_param_t *qb_param(qb_t *q)
{
    if (q->n == QB_MAX) {
        q->full = true;
        return NULL;
    }
    sqlite3_str_appendf(q->s, "?%d", q->n + 1);
    return &q->p[q->n++];
}

static void qb_text(qb_t *q, const char *text)
{
    qb_param_t *p = qb_param(q);
    if (p)
        *p = (qb_param_t){.text = text, .is_int = false};
}

static void qb_int(qb_t *q, int64_t v)
{
    qb_param_t *p = qb_param(q);
    if (p)
        *p = (qb_param_t){.i = v, .is_int = true};
}

/* " AND <alias>.system = ? AND <alias>.value = ?" for identifier p. */
static void ident_match(qb_t *q, const char *alias, const cs_records_ident_t *p)
{
    sqlite3_str_appendf(q->s, " AND %s.system = ", alias);
    qb_text(q, p->system);
    sqlite3_str_appendf(q->s, " AND %s.value = ", alias);
    qb_text(q, p->value);
}

/* Whether resource alias x is about the viewer's patient identifier:
 * subject.identifier, or a subject Patient carrying it. */
static void about_patient(qb_t *q, const char *x, const cs_records_ident_t *p)
{
    sqlite3_str_appendf(q->s,
                        "(EXISTS (SELECT 1 FROM subjects s WHERE s.type = %s.type AND s.id = %s.id",
                        x, x);
    ident_match(q, "s", p);
    sqlite3_str_appendf(q->s,
                        ") OR EXISTS (SELECT 1 FROM identifiers i WHERE i.type = 'Patient'"
                        " AND i.id = %s.subject_patient",
                        x);
    ident_match(q, "i", p);
    qb_sql(q, "))");
}

static void visible_to_patient(qb_t *q, const cs_records_ident_t *p)
{
    qb_sql(q, "(");
    about_patient(q, "r", p);
    qb_sql(q, " OR (r.type = 'Patient' AND EXISTS (SELECT 1 FROM identifiers i"
              " WHERE i.type = 'Patient' AND i.id = r.id");
    ident_match(q, "i", p);
    qb_sql(q, ")) OR (r.type = 'Binary' AND EXISTS (SELECT 1 FROM links l JOIN resources d"
              " ON d.type = l.type AND d.id = l.id WHERE l.binary_id = r.id AND ");
    about_patient(q, "d", p);
    qb_sql(q, ")))");
}

/* A centre's staff: resources of the centre, the Binaries they point at,
 * and the Patients they are about (by reference or by identifier). */
static void visible_to_centre(qb_t *q, const char *tenant)
{
    qb_sql(q, "(EXISTS (SELECT 1 FROM centres c WHERE c.type = r.type AND c.id = r.id"
              " AND c.tenant = ");
    qb_text(q, tenant);
    qb_sql(q, ") OR (r.type = 'Patient' AND EXISTS (SELECT 1 FROM centres c JOIN resources x"
              " ON x.type = c.type AND x.id = c.id WHERE c.tenant = ");
    qb_text(q, tenant);
    qb_sql(q, " AND (x.subject_patient = r.id OR EXISTS (SELECT 1 FROM subjects s"
              " JOIN identifiers i ON i.system = s.system AND i.value = s.value"
              " WHERE s.type = x.type AND s.id = x.id AND i.type = 'Patient' AND i.id = r.id))))"
              " OR (r.type = 'Binary' AND EXISTS (SELECT 1 FROM links l JOIN centres c"
              " ON c.type = l.type AND c.id = l.id WHERE l.binary_id = r.id AND c.tenant = ");
    qb_text(q, tenant);
    qb_sql(q, ")))");
}

static void visible(qb_t *q, const cs_records_view_t *v)
{
    switch (v->kind) {
    case CS_RECORDS_VIEW_ALL:
        qb_sql(q, "1");
        return;
    case CS_RECORDS_VIEW_CENTRE:
        if (v->tenant && *v->tenant) {
            visible_to_centre(q, v->tenant);
            return;
        }
        break;
    case CS_RECORDS_VIEW_PATIENT:
        if (v->patient.system && v->patient.value && *v->patient.value) {
            visible_to_patient(q, &v->patient);
            return;
        }
        break;
    case CS_RECORDS_VIEW_NONE:
        break;
    }
    qb_sql(q, "0");
}

/* (col_s = ? AND col_v = ?) for a token; NULL parts match anything. */
static void token(qb_t *q, const char *a, const cs_records_ident_t *t)
{
    sqlite3_str_appendf(q->s, "(%s.value = ", a);
    if (t->value)
        qb_text(q, t->value);
    else
        sqlite3_str_appendf(q->s, "%s.value", a);
    if (t->system) {
        sqlite3_str_appendf(q->s, " AND %s.system = ", a);
        qb_text(q, t->system);
    }
    qb_sql(q, ")");
}

static void tokens(qb_t *q, const char *a, const cs_records_cond_t *c)
{
    qb_sql(q, "(");
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            qb_sql(q, " OR ");
        token(q, a, &c->values[i]);
    }
    qb_sql(q, ")");
}

static void in_list(qb_t *q, const char *col, const cs_records_cond_t *c)
{
    sqlite3_str_appendf(q->s, "%s IN (", col);
    for (size_t i = 0; i < c->n; i++) {
        if (i)
            qb_sql(q, ", ");
        qb_text(q, c->values[i].value ? c->values[i].value : "");
    }
    qb_sql(q, ")");
}

/* The resource's [date_lo, date_hi) lies within the value's [lo, hi). */
static void contained(qb_t *q, const cs_records_cond_t *c)
{
    qb_sql(q, "(r.date_lo >= ");
    qb_int(q, c->lo);
    qb_sql(q, " AND r.date_hi <= ");
    qb_int(q, c->hi);
    qb_sql(q, ")");
}

/* FHIR's date prefixes on ranges: the resource's [date_lo, date_hi) against
 * the value's [lo, hi). eq: the value contains the resource; gt: the
 * resource goes on after the value; lt: it began before; ge and le: gt or
 * eq, lt or eq. */
static void date_cond(qb_t *q, const cs_records_cond_t *c)
{
    qb_sql(q, "(r.date_lo IS NOT NULL AND ");
    switch (c->prefix) {
    case CS_RECORDS_EQ:
        contained(q, c);
        break;
    case CS_RECORDS_GT:
    case CS_RECORDS_GE:
        qb_sql(q, "(r.date_hi > ");
        qb_int(q, c->hi);
        break;
    case CS_RECORDS_LT:
    case CS_RECORDS_LE:
        qb_sql(q, "(r.date_lo < ");
        qb_int(q, c->lo);
        break;
    }
    if (c->prefix == CS_RECORDS_GE || c->prefix == CS_RECORDS_LE) {
        qb_sql(q, " OR ");
        contained(q, c);
    }
    qb_sql(q, c->prefix == CS_RECORDS_EQ ? ")" : "))");
}

static void condition(qb_t *q, const cs_records_cond_t *c)
{
    switch (c->kind) {
    case CS_RECORDS_Q_ID:
        in_list(q, "r.id", c);
        break;
    case CS_RECORDS_Q_SUBJECT:
        in_list(q, "r.subject_patient", c);
        break;
    case CS_RECORDS_Q_IDENTIFIER:
        qb_sql(q, "EXISTS (SELECT 1 FROM identifiers i WHERE i.type = r.type AND i.id = r.id"
                  " AND ");
        tokens(q, "i", c);
        qb_sql(q, ")");
        break;
    case CS_RECORDS_Q_SUBJECT_IDENTIFIER:
        qb_sql(q, "(EXISTS (SELECT 1 FROM subjects s WHERE s.type = r.type AND s.id = r.id"
                  " AND ");
        tokens(q, "s", c);
        qb_sql(q, ") OR EXISTS (SELECT 1 FROM identifiers i WHERE i.type = 'Patient'"
                  " AND i.id = r.subject_patient AND ");
        tokens(q, "i", c);
        qb_sql(q, "))");
        break;
    case CS_RECORDS_Q_DATE:
        date_cond(q, c);
        break;
    }
}

/* Prepares q's text (consumed) with its parameters bound. */
static int qb_prepare(cs_records_db_t *d, qb_t *q, sqlite3_stmt **out)
{
    char *sql = sqlite3_str_finish(q->s);
    q->s = NULL;
    *out = NULL;
    if (!sql)
        return CS_ENOMEM;
    int rc = q->full ? SQLITE_RANGE : sqlite3_prepare_v2(d->db, sql, -1, out, NULL);
    sqlite3_free(sql);
    for (int i = 0; rc == SQLITE_OK && i < q->n; i++)
        rc = q->p[i].is_int ? sqlite3_bind_int64(*out, i + 1, q->p[i].i)
                            : cs_records_bind_text(*out, i + 1, q->p[i].text);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(*out);
        *out = NULL;
        return rc == SQLITE_NOMEM ? CS_ENOMEM : CS_ESTORAGE;
    }
    return CS_OK;
}

static char *dup_column(sqlite3_stmt *s, int col)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    return t ? strdup((const char *)t) : NULL;
}

int cs_records_db_get(cs_records_db_t *d, const char *type, const char *id,
                      const cs_records_view_t *view, cs_records_resource_t *out)
{
    memset(out, 0, sizeof *out);
    if (!d || !type || !id || !view)
        return CS_EINVAL;
    qb_t q = {.s = sqlite3_str_new(d->db)};
    qb_sql(&q, "SELECT r.json, r.data, r.version, r.updated_at FROM resources r"
               " WHERE r.type = ");
    qb_text(&q, type);
    qb_sql(&q, " AND r.id = ");
    qb_text(&q, id);
    qb_sql(&q, " AND ");
    visible(&q, view);
    sqlite3_stmt *s;
    int rc = qb_prepare(d, &q, &s);
    if (rc != CS_OK)
        return rc;
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        out->json = dup_column(s, 0);
        int n = sqlite3_column_bytes(s, 1);
        const void *blob = sqlite3_column_blob(s, 1);
        if (blob && n > 0 && (out->data = malloc((size_t)n)))
            memcpy(out->data, blob, (size_t)n);
        out->data_len = out->data ? (size_t)n : 0;
        out->version = sqlite3_column_int64(s, 2);
        out->updated_at = sqlite3_column_int64(s, 3);
        rc = !out->json || (blob && n > 0 && !out->data) ? CS_ENOMEM : CS_OK;
    } else {
        rc = step == SQLITE_DONE ? CS_ENOTFOUND : cs_records_db_err(step);
    }
    sqlite3_finalize(s);
    if (rc != CS_OK)
        cs_records_resource_free(out);
    return rc;
}

void cs_records_resource_free(cs_records_resource_t *res)
{
    if (!res)
        return;
    free(res->json);
    free(res->data);
    memset(res, 0, sizeof *res);
}

static void where(qb_t *q, const cs_records_query_t *query, const cs_records_view_t *view)
{
    qb_sql(q, " FROM resources r WHERE r.type = ");
    qb_text(q, query->type);
    for (size_t i = 0; i < query->n_conds; i++) {
        qb_sql(q, " AND ");
        condition(q, &query->conds[i]);
    }
    qb_sql(q, " AND ");
    visible(q, view);
}

static int search_total(cs_records_db_t *d, const cs_records_query_t *query,
                        const cs_records_view_t *view, int64_t *total)
{
    qb_t q = {.s = sqlite3_str_new(d->db)};
    qb_sql(&q, "SELECT count(*)");
    where(&q, query, view);
    sqlite3_stmt *s;
    int rc = qb_prepare(d, &q, &s);
    if (rc != CS_OK)
        return rc;
    int step = sqlite3_step(s);
    *total = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return step == SQLITE_ROW ? CS_OK : cs_records_db_err(step);
}

int cs_records_db_search(cs_records_db_t *d, const cs_records_query_t *query,
                         const cs_records_view_t *view, int64_t *total, cs_records_row_fn fn,
                         void *user)
{
    *total = 0;
    if (!d || !query || !query->type || !view || query->n_conds > CS_RECORDS_DB_MAX_CONDS)
        return CS_EINVAL;
    for (size_t i = 0; i < query->n_conds; i++)
        if (query->conds[i].n > CS_RECORDS_DB_MAX_OR)
            return CS_EINVAL;
    int rc = search_total(d, query, view, total);
    if (rc != CS_OK || query->count <= 0 || *total == 0)
        return rc;
    qb_t q = {.s = sqlite3_str_new(d->db)};
    qb_sql(&q, "SELECT r.id, r.json");
    where(&q, query, view);
    qb_sql(&q, " ORDER BY r.rowid LIMIT ");
    qb_int(&q, query->count);
    sqlite3_stmt *s;
    if ((rc = qb_prepare(d, &q, &s)) != CS_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *id = sqlite3_column_text(s, 0), *json = sqlite3_column_text(s, 1);
        if (id && json && (rc = fn(user, (const char *)id, (const char *)json)) < 0)
            break;
        rc = CS_OK;
    }
    if (rc == CS_OK && step != SQLITE_DONE)
        rc = cs_records_db_err(step);
    sqlite3_finalize(s);
    return rc;
}
