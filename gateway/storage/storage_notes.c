/*
 * storage_notes.c — attachments (with their bytes), chat messages and
 * conclusions: the parts of a consult written by its people rather than by
 * its state machine.
 *
 * The same rules as the rest of storage: each save is one transaction; what is
 * read back is bounded and checked. A bound attachment is never deleted, and a
 * signed conclusion cannot be changed even by a buggy caller (the schema's
 * triggers refuse it).
 */
#include "storage_internal.h"

#include <stdlib.h>
#include <string.h>

/* A row callback's "found it, stop" (each_row stops on anything but CS_OK). */
#define ROW_FOUND 1

/* ---- attachments ---------------------------------------------------------- */

/* Columns as CS_ATTACHMENT_COLUMNS. */
static void read_attachment(sqlite3_stmt *s, cs_attachment_t *a)
{
    memset(a, 0, sizeof *a);
    COLUMN_FIELD(s, 0, a->ref.id);
    COLUMN_FIELD(s, 1, a->ref.name);
    COLUMN_FIELD(s, 2, a->ref.type);
    a->ref.size = sqlite3_column_int64(s, 3);
    COLUMN_FIELD(s, 4, a->owner);
    COLUMN_FIELD(s, 5, a->owner_tenant);
    COLUMN_FIELD(s, 6, a->consult_id);
    COLUMN_FIELD(s, 7, a->sha256);
    a->created_at = sqlite3_column_int64(s, 8);
}

typedef struct {
    const cs_attachment_t *a;
    const void *data;
    size_t len;
    int max_unbound;
    bool over_limit;
} attachment_put_t;

static int write_attachment(cs_storage_t *st, const void *arg)
{
    attachment_put_t *p = (attachment_put_t *)arg;
    sqlite3_stmt *count = st->stmt[CS_STMT_COUNT_UNBOUND];
    int rc = sqlite3_bind_text(count, 1, p->a->owner_tenant, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_text(count, 2, p->a->owner, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (rc = sqlite3_step(count)) == SQLITE_ROW) {
        p->over_limit = sqlite3_column_int64(count, 0) >= p->max_unbound;
        rc = SQLITE_OK;
    }
    cs_storage_done(count);
    if (rc != SQLITE_OK)
        return rc;
    if (p->over_limit)
        return SQLITE_ABORT;
    binder_t b = binder(st, CS_STMT_INSERT_ATTACHMENT);
    BIND_FIELD(&b, 1, p->a->ref.id);
    BIND_FIELD(&b, 2, p->a->owner);
    BIND_FIELD(&b, 3, p->a->owner_tenant);
    BIND_FIELD(&b, 4, p->a->ref.name);
    BIND_FIELD(&b, 5, p->a->ref.type);
    bind_int(&b, 6, p->a->ref.size);
    BIND_FIELD(&b, 7, p->a->sha256);
    bind_int(&b, 8, p->a->created_at);
    if (b.rc == SQLITE_OK)
        b.rc = sqlite3_bind_blob64(b.s, 9, p->data, p->len, SQLITE_STATIC);
    return run_bound(&b);
}

int cs_storage_put_attachment(cs_storage_t *st, const cs_attachment_t *a, const void *data,
                              size_t len, int max_unbound)
{
    if (!st || !a || !data || !len || !a->ref.id[0] || !a->ref.name[0] || !a->ref.type[0] ||
        !a->owner[0] || !a->sha256[0] || a->ref.size != (int64_t)len || a->consult_id[0])
        return CS_EINVAL;
    attachment_put_t p = {a, data, len, max_unbound, false};
    int rc = cs_storage_write_tx(st, write_attachment, &p);
    if (p.over_limit)
        return CS_ELIMIT;
    if (rc == SQLITE_CONSTRAINT_PRIMARYKEY)
        return CS_EEXIST;
    return write_result(rc);
}

static int attachment_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    read_attachment(s, arg);
    return ROW_FOUND; /* the id is unique: stop */
}

/* Runs a one-row attachment query already bound: CS_OK with *out, or CS_ENOTFOUND. */
static int one_attachment(cs_storage_t *st, sqlite3_stmt *s, cs_attachment_t *out)
{
    out->ref.id[0] = '\0';
    int rc = each_row(st, s, attachment_row, out);
    if (rc == ROW_FOUND)
        return CS_OK;
    return rc == CS_OK ? CS_ENOTFOUND : rc;
}

int cs_storage_read_attachment(cs_storage_t *st, const char *id, void **data, size_t *len)
{
    if (!st || !id || !data || !len)
        return CS_EINVAL;
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_ATTACHMENT_DATA];
    int rc = bound(s, sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT));
    if (rc)
        return rc;
    rc = CS_ENOTFOUND;
    if (sqlite3_step(s) == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        const void *blob = sqlite3_column_blob(s, 0);
        *data = malloc(n ? n : 1);
        rc = *data ? CS_OK : CS_ENOMEM;
        if (*data && n)
            memcpy(*data, blob, n);
        *len = n;
    }
    cs_storage_done(s);
    return rc;
}

int cs_storage_get_attachment(cs_storage_t *st, const char *id, cs_attachment_t *out)
{
    if (!st || !id || !out)
        return CS_EINVAL;
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_ATTACHMENT];
    int rc = bound(s, sqlite3_bind_text(s, 1, id, -1, SQLITE_TRANSIENT));
    return rc == CS_OK ? one_attachment(st, s, out) : rc;
}

int cs_storage_store_get_attachment(void *user, const char *id, cs_attachment_t *out)
{
    return cs_storage_get_attachment(user, id, out);
}

int cs_storage_prune_attachments(cs_storage_t *st, int64_t created_before)
{
    binder_t b = binder(st, CS_STMT_PRUNE_ATTACHMENTS);
    bind_int(&b, 1, created_before);
    int rc = run_bound(&b);
    return rc == SQLITE_OK ? sqlite3_changes(st->db) : CS_ESTORAGE;
}

/* Binds one attachment to a consult; fails (nothing changed) when it is gone
 * or bound to another consult. request_idx < 0: bound by a chat message. */
static int bind_attachment(cs_storage_t *st, const char *id, const char *consult_id,
                           int request_idx)
{
    binder_t b = binder(st, CS_STMT_BIND_ATTACHMENT);
    bind_text(&b, 1, id, CS_ID_MAX);
    bind_text(&b, 2, consult_id, CS_ID_MAX);
    if (request_idx >= 0)
        bind_int(&b, 3, request_idx);
    int rc = run_bound(&b); /* an unbound ?3 is NULL */
    if (rc == SQLITE_OK && sqlite3_changes(st->db) != 1)
        rc = SQLITE_CONSTRAINT;
    return rc;
}

int bind_request_attachments(cs_storage_t *st, const cs_consult_t *c)
{
    if (c->n_attachments < 0 || c->n_attachments > CS_MAX_REQUEST_ATTACHMENTS)
        return SQLITE_MISUSE;
    int rc = SQLITE_OK;
    for (int i = 0; rc == SQLITE_OK && i < c->n_attachments; i++)
        rc = bind_attachment(st, c->attachments[i].id, c->id, i);
    return rc;
}

/* ---- conclusions ---------------------------------------------------------- */

/* Columns as CS_CONCLUSION_COLUMNS. */
/* The summary: the row's first columns, so reading it alone never touches the
 * long texts that follow (a start-up load reads only this). */
static int read_summary(sqlite3_stmt *s, cs_conclusion_summary_t *sum)
{
    const char *status = column_name(s, 0);
    if (!status)
        return CS_ESTORAGE;
    if (!strcmp(status, "draft"))
        sum->status = CS_CONCLUSION_DRAFT;
    else if (!strcmp(status, "signed"))
        sum->status = CS_CONCLUSION_SIGNED;
    else
        return CS_ESTORAGE;
    sum->version = sqlite3_column_int(s, 1);
    sum->updated_at = sqlite3_column_int64(s, 2);
    sum->signed_at = sqlite3_column_int64(s, 3);
    COLUMN_FIELD(s, 4, sum->author);
    COLUMN_FIELD(s, 5, sum->author_tenant);
    COLUMN_FIELD(s, 6, sum->author_name);
    return sum->version >= 1 ? CS_OK : CS_ESTORAGE;
}

int read_conclusion_row(sqlite3_stmt *s, cs_conclusion_t *k)
{
    COLUMN_FIELD(s, 7, k->diagnosis_code);
    COLUMN_FIELD(s, 8, k->diagnosis_text);
    COLUMN_FIELD(s, 9, k->findings);
    COLUMN_FIELD(s, 10, k->recommendations);
    return read_summary(s, &k->summary);
}

static int conclusion_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_conclusion_t *k = arg;
    int rc = read_conclusion_row(s, k);
    return rc ? rc : ROW_FOUND;
}

int cs_storage_get_conclusion(void *user, const char *consult_id, cs_conclusion_t *out)
{
    cs_storage_t *st = user;
    if (!st || !consult_id || !out)
        return CS_EINVAL;
    memset(out, 0, sizeof *out);
    cs_strlcpy(out->consult_id, consult_id, sizeof out->consult_id);
    sqlite3_stmt *s = st->stmt[CS_STMT_GET_CONCLUSION];
    int rc = bound(s, sqlite3_bind_text(s, 1, consult_id, -1, SQLITE_TRANSIENT));
    if (rc == CS_OK)
        rc = each_row(st, s, conclusion_row, out);
    if (rc == ROW_FOUND)
        return CS_OK;
    return rc == CS_OK ? CS_ENOTFOUND : rc;
}

typedef struct {
    const cs_consult_t *c;
    const cs_conclusion_t *k;
    const cs_event_t *ev;
} conclusion_write_t;

int write_conclusion_row(cs_storage_t *st, const cs_consult_t *c, const cs_conclusion_t *k)
{
    binder_t b = binder(st, CS_STMT_UPSERT_CONCLUSION);
    BIND_FIELD(&b, 1, c->id);
    bind_name(&b, 2, cs_conclusion_status_name(k->summary.status));
    bind_int(&b, 3, k->summary.version);
    bind_int(&b, 4, k->summary.updated_at);
    bind_int(&b, 5, k->summary.signed_at);
    BIND_FIELD(&b, 6, k->summary.author);
    BIND_FIELD(&b, 7, k->summary.author_tenant);
    BIND_FIELD(&b, 8, k->summary.author_name);
    BIND_FIELD(&b, 9, k->diagnosis_code);
    BIND_FIELD(&b, 10, k->diagnosis_text);
    BIND_FIELD(&b, 11, k->findings);
    BIND_FIELD(&b, 12, k->recommendations);
    return run_bound(&b);
}

static int write_conclusion(cs_storage_t *st, const void *arg)
{
    const conclusion_write_t *w = arg;
    int rc = upsert_consult(st, w->c);
    if (rc == SQLITE_OK)
        rc = write_conclusion_row(st, w->c, w->k);
    return rc == SQLITE_OK ? insert_event(st, w->c->id, w->ev) : rc;
}

int cs_storage_save_conclusion(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                               const cs_event_t *ev)
{
    if (!user || !c || !k || !ev || !consult_ok(c, ev) || strcmp(k->consult_id, c->id) ||
        (k->summary.status != CS_CONCLUSION_DRAFT && k->summary.status != CS_CONCLUSION_SIGNED) ||
        k->summary.version < 1 || !k->summary.author[0])
        return CS_EINVAL;
    cs_storage_t *st = user;
    if (k->summary.status == CS_CONCLUSION_SIGNED && st->render) {
        cs_document_files_t files = {0};
        int rc = st->render(st->render_user, c, k, &files);
        if (rc == CS_OK)
            rc = cs_storage_save_signed(st, c, k, ev, &files);
        free(files.pdf);
        free(files.bundle);
        return rc;
    }
    conclusion_write_t w = {c, k, ev};
    return write_result(cs_storage_write_tx(st, write_conclusion, &w));
}

/* ---- loading a consult's notes -------------------------------------------- */

static int request_attachment_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_consult_t *c = arg;
    if (c->n_attachments >= CS_MAX_REQUEST_ATTACHMENTS)
        return CS_ESTORAGE;
    cs_attachment_t a;
    read_attachment(s, &a);
    c->attachments[c->n_attachments++] = a.ref;
    return CS_OK;
}

static int summary_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    int rc = read_summary(s, arg);
    return rc ? rc : ROW_FOUND;
}

int read_consult_notes(cs_storage_t *st, cs_consult_t *c)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_LOAD_REQUEST_ATTACHMENTS];
    c->n_attachments = 0;
    int rc = bound(s, sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC));
    if (rc == CS_OK)
        rc = each_row(st, s, request_attachment_row, c);
    if (rc != CS_OK)
        return rc;
    memset(&c->conclusion, 0, sizeof c->conclusion);
    s = st->stmt[CS_STMT_GET_CONCLUSION];
    rc = bound(s, sqlite3_bind_text(s, 1, c->id, -1, SQLITE_STATIC));
    if (rc == CS_OK)
        rc = each_row(st, s, summary_row, &c->conclusion);
    if (rc == ROW_FOUND)
        rc = read_consult_document(st, c);
    return rc;
}

/* ---- chat ----------------------------------------------------------------- */

static int write_chat(cs_storage_t *st, const void *arg)
{
    cs_chat_message_t *m = (cs_chat_message_t *)arg;
    sqlite3_stmt *next = st->stmt[CS_STMT_NEXT_CHAT_SEQ];
    int rc = sqlite3_bind_text(next, 1, m->consult_id, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK && (rc = sqlite3_step(next)) == SQLITE_ROW) {
        m->seq = sqlite3_column_int64(next, 0);
        rc = SQLITE_OK;
    }
    cs_storage_done(next);
    binder_t b = binder(st, CS_STMT_INSERT_CHAT);
    b.rc = rc;
    BIND_FIELD(&b, 1, m->consult_id);
    bind_int(&b, 2, m->seq);
    BIND_FIELD(&b, 3, m->id);
    bind_int(&b, 4, m->at);
    BIND_FIELD(&b, 5, m->from);
    BIND_FIELD(&b, 6, m->from_tenant);
    BIND_FIELD(&b, 7, m->from_name);
    bind_name(&b, 8, cs_role_name(m->from_role));
    BIND_FIELD(&b, 9, m->text);
    rc = run_bound(&b);
    for (int i = 0; rc == SQLITE_OK && i < m->n_attachments; i++) {
        rc = bind_attachment(st, m->attachments[i].id, m->consult_id, -1);
        if (rc != SQLITE_OK)
            break;
        binder_t a = binder(st, CS_STMT_INSERT_CHAT_ATTACHMENT);
        BIND_FIELD(&a, 1, m->consult_id);
        bind_int(&a, 2, m->seq);
        bind_int(&a, 3, i);
        BIND_FIELD(&a, 4, m->attachments[i].id);
        rc = run_bound(&a);
    }
    return rc;
}

int cs_storage_save_chat(void *user, cs_chat_message_t *m)
{
    if (!user || !m || !m->id[0] || !m->consult_id[0] || !m->from[0] || !role_ok(m->from_role) ||
        m->n_attachments < 0 || m->n_attachments > CS_MAX_CHAT_ATTACHMENTS)
        return CS_EINVAL;
    return write_result(cs_storage_write_tx(user, write_chat, m));
}

typedef struct {
    cs_chat_message_t *out;
    size_t max, n;
} chat_list_t;

static int chat_attachment_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_chat_message_t *m = arg;
    if (m->n_attachments >= CS_MAX_CHAT_ATTACHMENTS)
        return CS_ESTORAGE;
    cs_attachment_t a;
    read_attachment(s, &a);
    m->attachments[m->n_attachments++] = a.ref;
    return CS_OK;
}

static int chat_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    chat_list_t *l = arg;
    if (l->n >= l->max)
        return CS_ESTORAGE;
    cs_chat_message_t *m = &l->out[l->n];
    memset(m, 0, sizeof *m);
    COLUMN_FIELD(s, 0, m->consult_id);
    m->seq = sqlite3_column_int64(s, 1);
    COLUMN_FIELD(s, 2, m->id);
    m->at = sqlite3_column_int64(s, 3);
    COLUMN_FIELD(s, 4, m->from);
    COLUMN_FIELD(s, 5, m->from_tenant);
    COLUMN_FIELD(s, 6, m->from_name);
    if (column_role(s, 7, &m->from_role) != CS_OK)
        return CS_ESTORAGE;
    COLUMN_FIELD(s, 8, m->text);
    sqlite3_stmt *as = st->stmt[CS_STMT_LIST_CHAT_ATTACHMENTS];
    int rc = bound(as, sqlite3_bind_text(as, 1, m->consult_id, -1, SQLITE_STATIC));
    if (rc == CS_OK)
        rc = bound(as, sqlite3_bind_int64(as, 2, m->seq));
    if (rc == CS_OK)
        rc = each_row(st, as, chat_attachment_row, m);
    if (rc == CS_OK)
        l->n++;
    return rc;
}

int cs_storage_list_chat(void *user, const char *consult_id, int64_t before_seq,
                         cs_chat_message_t *out, size_t max)
{
    cs_storage_t *st = user;
    if (!st || !consult_id || !out || before_seq < 0)
        return CS_EINVAL;
    sqlite3_stmt *s = st->stmt[CS_STMT_LIST_CHAT];
    int rc = bound(s, sqlite3_bind_text(s, 1, consult_id, -1, SQLITE_TRANSIENT));
    if (rc == CS_OK)
        rc = bound(s, sqlite3_bind_int64(s, 2, before_seq ? before_seq : INT64_MAX));
    if (rc == CS_OK)
        rc = bound(s, sqlite3_bind_int64(s, 3, (sqlite3_int64)max));
    chat_list_t l = {out, max, 0};
    if (rc == CS_OK)
        rc = each_row(st, s, chat_row, &l);
    return rc == CS_OK ? (int)l.n : rc;
}
