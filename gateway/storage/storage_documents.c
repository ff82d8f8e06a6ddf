/*
 * storage_documents.c — signed documents and the outbox that owes their
 * delivery to the patient's electronic record (docs/RECORDS.md).
 *
 * Signing is one transaction: the consult, the conclusion row, the document
 * (text, PDF, FHIR Bundle), its outbox row and the audit event. So a document
 * is never signed without its delivery being owed, and never owed without
 * being signed, whatever moment the process dies at. Documents are final (the
 * schema's triggers refuse UPDATE and DELETE); only the outbox row changes.
 */
#include "storage_internal.h"

#include <stdlib.h>
#include <string.h>

/* A row callback's "found it, stop" (each_row stops on anything but CS_OK). */
#define ROW_FOUND 1

/* States are stored as their wire names (cs_delivery_state_name). */
static int parse_state(const char *name, cs_delivery_state_t *out)
{
    for (int i = CS_DELIVERY_PENDING; name && i < CS_DELIVERY_STATE_COUNT; i++) {
        if (!strcmp(name, cs_delivery_state_name((cs_delivery_state_t)i))) {
            *out = (cs_delivery_state_t)i;
            return CS_OK;
        }
    }
    return CS_ESTORAGE;
}

/* ---- signing -------------------------------------------------------------- */

void cs_storage_set_renderer(cs_storage_t *st, cs_document_render_fn fn, void *user)
{
    st->render = fn;
    st->render_user = user;
}

typedef struct {
    const cs_consult_t *c;
    const cs_conclusion_t *k;
    const cs_event_t *ev;
    const cs_document_files_t *files;
    char pdf_sha256[65];
} signing_t;

static int insert_document(cs_storage_t *st, const signing_t *w)
{
    const cs_conclusion_t *k = w->k;
    const cs_conclusion_summary_t *s = &k->summary;
    binder_t b = binder(st, CS_STMT_INSERT_DOCUMENT);
    BIND_FIELD(&b, 1, s->document_id);
    BIND_FIELD(&b, 2, w->c->id);
    bind_int(&b, 3, s->version);
    BIND_FIELD(&b, 4, s->replaces);
    bind_int(&b, 5, s->signed_at);
    BIND_FIELD(&b, 6, s->author);
    BIND_FIELD(&b, 7, s->author_tenant);
    BIND_FIELD(&b, 8, s->author_name);
    BIND_FIELD(&b, 9, k->diagnosis_code);
    BIND_FIELD(&b, 10, k->diagnosis_text);
    BIND_FIELD(&b, 11, k->findings);
    BIND_FIELD(&b, 12, k->recommendations);
    bind_text(&b, 13, w->files->language, strlen(w->files->language));
    BIND_FIELD(&b, 14, w->pdf_sha256);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_blob64(b.s, 15, w->files->pdf, w->files->pdf_len, SQLITE_STATIC);
    bind_text(&b, 16, w->files->bundle, w->files->bundle_len);
    return run_bound(&b);
}

static int write_signing(cs_storage_t *st, const void *arg)
{
    const signing_t *w = arg;
    int rc = upsert_consult(st, w->c);
    if (rc == SQLITE_OK)
        rc = insert_document(st, w);
    if (rc == SQLITE_OK)
        rc = write_conclusion_row(st, w->c, w->k);
    if (rc == SQLITE_OK) {
        binder_t b = binder(st, CS_STMT_INSERT_OUTBOX);
        BIND_FIELD(&b, 1, w->k->summary.document_id);
        BIND_FIELD(&b, 2, w->c->id);
        bind_int(&b, 3, w->k->summary.signed_at);
        rc = run_bound(&b);
    }
    return rc == SQLITE_OK ? insert_event(st, w->c->id, w->ev) : rc;
}

int cs_storage_save_signed(cs_storage_t *st, const cs_consult_t *c, const cs_conclusion_t *k,
                           const cs_event_t *ev, const cs_document_files_t *files)
{
    if (!st || !c || !k || !ev || !files || !consult_ok(c, ev) || strcmp(k->consult_id, c->id) ||
        k->summary.status != CS_CONCLUSION_SIGNED || !k->summary.document_id[0] ||
        k->summary.signed_at <= 0 || !files->language || !files->pdf || !files->pdf_len ||
        !files->bundle || !files->bundle_len)
        return CS_EINVAL;
    signing_t w = {c, k, ev, files, {0}};
    if (cs_sha256_hex(files->pdf, files->pdf_len, w.pdf_sha256) != CS_OK)
        return CS_ESTORAGE;
    return write_result(cs_storage_write_tx(st, write_signing, &w));
}

/* ---- reading documents ---------------------------------------------------- */

static int signed_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    int rc = read_conclusion_row(s, arg);
    return rc ? rc : ROW_FOUND;
}

int cs_storage_get_signed_conclusion(void *user, const char *consult_id, cs_conclusion_t *out)
{
    cs_storage_t *st = user;
    if (!st || !consult_id || !out)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    cs_strlcpy(out->consult_id, consult_id, sizeof out->consult_id);
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_SIGNED];
    int rc = bound(s, sqlite3_bind_text(s, 1, consult_id, -1, SQLITE_TRANSIENT));
    if (rc == CS_OK)
        rc = each_row(st, s, signed_row, out);
    if (rc == ROW_FOUND)
        return CS_OK;
    return rc == CS_OK ? CS_ENOTFOUND : rc;
}

/* Columns of CS_STMT_GET_LAST_DOCUMENT into the summary's document part. */
static int last_document_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_conclusion_summary_t *k = arg;
    COLUMN_FIELD(s, 0, k->document_id);
    k->signed_version = sqlite3_column_int(s, 1);
    COLUMN_FIELD(s, 2, k->replaces);
    cs_delivery_t *d = &k->delivery;
    if (parse_state(column_name(s, 3), &d->state) != CS_OK)
        return CS_ESTORAGE;
    d->attempts = sqlite3_column_int(s, 4);
    d->next_attempt_at = sqlite3_column_int64(s, 5);
    d->delivered_at = sqlite3_column_int64(s, 6);
    COLUMN_FIELD(s, 7, d->error);
    return k->signed_version >= 1 ? ROW_FOUND : CS_ESTORAGE;
}

int read_consult_document(cs_storage_t *st, cs_consult_t *c)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_LAST_DOCUMENT];
    int rc = bound(s, sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC));
    if (rc == CS_OK)
        rc = each_row(st, s, last_document_row, &c->conclusion);
    return rc == ROW_FOUND ? CS_OK : rc;
}

typedef struct {
    char *consult_id;
    void **data;
    size_t *len;
} pdf_read_t;

static int pdf_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    pdf_read_t *r = arg;
    column_text(s, 0, r->consult_id, CS_ID_MAX);
    size_t n = (size_t)sqlite3_column_bytes(s, 1);
    const void *blob = sqlite3_column_blob(s, 1);
    if (!blob || n == 0)
        return CS_ESTORAGE;
    if (!(*r->data = malloc(n)))
        return CS_ENOMEM;
    memcpy(*r->data, blob, n);
    *r->len = n;
    return ROW_FOUND;
}

int cs_storage_read_document_pdf(cs_storage_t *st, const char *document_id,
                                 char consult_id[CS_ID_MAX], void **pdf, size_t *len)
{
    if (!st || !document_id || !consult_id || !pdf || !len)
        return CS_EINVAL;
    *pdf = NULL;
    *len = 0;
    pdf_read_t r = {consult_id, pdf, len};
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_DOCUMENT_PDF];
    int rc = bound(s, sqlite3_bind_text(s, 1, document_id, -1, SQLITE_TRANSIENT));
    if (rc == CS_OK)
        rc = each_row(st, s, pdf_row, &r);
    if (rc == ROW_FOUND)
        return CS_OK;
    return rc == CS_OK ? CS_ENOTFOUND : rc;
}

/* ---- the outbox ----------------------------------------------------------- */

static int due_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_outbox_item_t *it = arg;
    COLUMN_FIELD(s, 0, it->document_id);
    COLUMN_FIELD(s, 1, it->consult_id);
    it->attempts = sqlite3_column_int(s, 2);
    it->created_at = sqlite3_column_int64(s, 3);
    const unsigned char *text = sqlite3_column_text(s, 4);
    size_t n = (size_t)sqlite3_column_bytes(s, 4);
    if (!text || n == 0)
        return CS_ESTORAGE;
    if (!(it->bundle = malloc(n + 1)))
        return CS_ENOMEM;
    memcpy(it->bundle, text, n);
    it->bundle[n] = '\0';
    it->bundle_len = n;
    return ROW_FOUND;
}

int cs_storage_outbox_next(cs_storage_t *st, int64_t now_ms, cs_outbox_item_t *out)
{
    if (!st || !out)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->stmt[CS_STMT_NEXT_DUE];
    int rc = bound(s, sqlite3_bind_int64(s, 1, now_ms));
    if (rc == CS_OK)
        rc = each_row(st, s, due_row, out);
    if (rc == ROW_FOUND)
        return CS_OK;
    free(out->bundle);
    out->bundle = NULL;
    return rc == CS_OK ? CS_ENOTFOUND : rc;
}

typedef struct {
    const char *document_id;
    const cs_delivery_t *d;
    const char *location;
    int64_t now;
} outbox_update_t;

static int write_outbox_update(cs_storage_t *st, const void *arg)
{
    const outbox_update_t *u = arg;
    binder_t b = binder(st, CS_STMT_UPDATE_OUTBOX);
    bind_text(&b, 1, u->document_id, CS_ID_MAX);
    bind_name(&b, 2, cs_delivery_state_name(u->d->state));
    bind_int(&b, 3, u->d->attempts);
    bind_int(&b, 4, u->d->next_attempt_at);
    bind_int(&b, 5, u->d->delivered_at);
    BIND_FIELD(&b, 6, u->d->error);
    bind_text(&b, 7, u->location, 256);
    bind_int(&b, 8, u->now);
    int rc = run_bound(&b);
    /* Not a single row changed: no such document (roll back, say so). */
    if (rc == SQLITE_OK && sqlite3_changes(st->db) != 1)
        rc = SQLITE_NOTFOUND;
    return rc;
}

int cs_storage_outbox_update(cs_storage_t *st, const char *document_id, const cs_delivery_t *d,
                             const char *location, int64_t now_ms)
{
    if (!st || !document_id || !d || d->state <= CS_DELIVERY_NONE ||
        d->state >= CS_DELIVERY_STATE_COUNT || d->attempts < 0)
        return CS_EINVAL;
    outbox_update_t u = {document_id, d, location ? location : "", now_ms};
    int rc = cs_storage_write_tx(st, write_outbox_update, &u);
    if (rc == SQLITE_NOTFOUND)
        return CS_ENOTFOUND;
    return write_result(rc);
}

static int count_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    int64_t *counts = arg;
    cs_delivery_state_t state;
    if (parse_state(column_name(s, 0), &state) != CS_OK)
        return CS_ESTORAGE;
    counts[state] = sqlite3_column_int64(s, 1);
    return CS_OK;
}

int cs_storage_outbox_counts(cs_storage_t *st, int64_t counts[CS_DELIVERY_STATE_COUNT])
{
    if (!st || !counts)
        return CS_EINVAL;
    memset(counts, 0, sizeof(int64_t) * CS_DELIVERY_STATE_COUNT);
    return each_row(st, st->stmt[CS_STMT_COUNT_OUTBOX], count_row, counts);
}
