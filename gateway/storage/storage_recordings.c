/*
 * storage_recordings.c — a consult's recording: who asked, who consented
 * (written with the consult by the engine's save), and its files, whose
 * progress and result the gateway's post-processing writes on its own.
 *
 * The files table is also the post-processing queue: a file is `queued` until
 * a worker takes it, so a restart finds the work that is owed.
 */
#include "storage_internal.h"

#include <string.h>

#define ROW_FOUND 1

/* ---- writing with the consult --------------------------------------------- */

static int insert_consent(cs_storage_t *st, const char *consult_id, int idx,
                          const cs_recording_consent_t *k)
{
    binder_t b = binder(st, CS_STMT_INSERT_CONSENT);
    bind_text(&b, 1, consult_id, CS_ID_MAX);
    bind_int(&b, 2, idx);
    BIND_FIELD(&b, 3, k->subject);
    BIND_FIELD(&b, 4, k->tenant);
    BIND_FIELD(&b, 5, k->name);
    bind_name(&b, 6, cs_consent_name(k->answer));
    bind_int(&b, 7, k->at);
    return run_bound(&b);
}

static int upsert_file(cs_storage_t *st, const char *consult_id, int idx,
                       const cs_recording_file_t *f)
{
    binder_t b = binder(st, CS_STMT_UPSERT_RECFILE);
    BIND_FIELD(&b, 1, f->id);
    bind_name(&b, 2, cs_recfile_state_name(f->state));
    bind_int(&b, 3, f->started_at);
    bind_int(&b, 4, f->stopped_at);
    bind_int(&b, 5, f->progress);
    bind_int(&b, 6, f->duration_ms);
    bind_int(&b, 7, f->size);
    bind_int(&b, 8, f->incomplete ? 1 : 0);
    BIND_FIELD(&b, 9, f->error);
    bind_text(&b, 10, consult_id, CS_ID_MAX);
    bind_int(&b, 11, idx);
    return run_bound(&b);
}

static bool recording_ok(const cs_recording_t *r)
{
    if ((unsigned)r->state >= CS_RECORDING_STATE_COUNT || r->n_consents < 0 ||
        r->n_consents > CS_MAX_PARTICIPANTS || r->n_files < 0 ||
        r->n_files > CS_MAX_RECORDING_FILES)
        return false;
    for (int i = 0; i < r->n_consents; i++)
        if (!r->consents[i].subject[0] || (unsigned)r->consents[i].answer >= CS_CONSENT_COUNT)
            return false;
    for (int i = 0; i < r->n_files; i++)
        if (!r->files[i].id[0] || (unsigned)r->files[i].state >= CS_RECFILE_STATE_COUNT)
            return false;
    return true;
}

int write_recording(cs_storage_t *st, const cs_consult_t *c)
{
    const cs_recording_t *r = &c->recording;
    if (!r->requested_by[0])
        return SQLITE_OK;                    /* never asked: nothing to keep */
    if (!recording_ok(r))
        return SQLITE_CONSTRAINT;
    binder_t b = binder(st, CS_STMT_UPSERT_RECORDING);
    BIND_FIELD(&b, 1, c->id);
    bind_name(&b, 2, cs_recording_state_name(r->state));
    BIND_FIELD(&b, 3, r->requested_by);
    BIND_FIELD(&b, 4, r->requested_by_tenant);
    BIND_FIELD(&b, 5, r->requested_by_name);
    bind_int(&b, 6, r->requested_at);
    int rc = run_bound(&b);
    if (rc == SQLITE_OK) {
        b = binder(st, CS_STMT_DELETE_CONSENTS);
        BIND_FIELD(&b, 1, c->id);
        rc = run_bound(&b);
    }
    for (int i = 0; rc == SQLITE_OK && i < r->n_consents; i++)
        rc = insert_consent(st, c->id, i, &r->consents[i]);
    for (int i = 0; rc == SQLITE_OK && i < r->n_files; i++)
        rc = upsert_file(st, c->id, i, &r->files[i]);
    return rc;
}

/* ---- reading ---------------------------------------------------------------- */

static int read_file_row(sqlite3_stmt *s, cs_recfile_row_t *out)
{
    memset(out, 0, sizeof *out);
    cs_recording_file_t *f = &out->file;
    COLUMN_FIELD(s, 0, f->id);
    if (cs_recfile_state_parse(column_name(s, 1), &f->state) != CS_OK)
        return CS_ESTORAGE;
    f->started_at = sqlite3_column_int64(s, 2);
    f->stopped_at = sqlite3_column_int64(s, 3);
    f->progress = sqlite3_column_int(s, 4);
    f->duration_ms = sqlite3_column_int64(s, 5);
    f->size = sqlite3_column_int64(s, 6);
    f->incomplete = sqlite3_column_int(s, 7) != 0;
    COLUMN_FIELD(s, 8, f->error);
    COLUMN_FIELD(s, 9, out->consult_id);
    return CS_OK;
}

static int file_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_recording_t *r = arg;
    if (r->n_files >= CS_MAX_RECORDING_FILES)
        return CS_ESTORAGE;
    cs_recfile_row_t row;
    int rc = read_file_row(s, &row);
    if (rc == CS_OK)
        r->files[r->n_files++] = row.file;
    return rc;
}

static int consent_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_recording_t *r = arg;
    if (r->n_consents >= CS_MAX_PARTICIPANTS)
        return CS_ESTORAGE;
    cs_recording_consent_t *k = &r->consents[r->n_consents];
    memset(k, 0, sizeof *k);
    COLUMN_FIELD(s, 0, k->subject);
    COLUMN_FIELD(s, 1, k->tenant);
    COLUMN_FIELD(s, 2, k->name);
    if (cs_consent_parse(column_name(s, 3), &k->answer) != CS_OK)
        return CS_ESTORAGE;
    k->at = sqlite3_column_int64(s, 4);
    r->n_consents++;
    return CS_OK;
}

static int recording_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    cs_recording_t *r = arg;
    if (cs_recording_state_parse(column_name(s, 0), &r->state) != CS_OK)
        return CS_ESTORAGE;
    COLUMN_FIELD(s, 1, r->requested_by);
    COLUMN_FIELD(s, 2, r->requested_by_tenant);
    COLUMN_FIELD(s, 3, r->requested_by_name);
    r->requested_at = sqlite3_column_int64(s, 4);
    return ROW_FOUND;
}

/* Rows of a statement keyed by one id (a consult's or a file's). */
static int each_for_key(cs_storage_t *st, int stmt, const char *key, row_fn fn, void *arg)
{
    sqlite3_stmt *s = st->stmt[stmt];
    int rc = bound(s, sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC));
    return rc != CS_OK ? rc : each_row(st, s, fn, arg);
}

int read_recording(cs_storage_t *st, cs_consult_t *c)
{
    cs_recording_t *r = &c->recording;
    memset(r, 0, sizeof *r);
    int rc = each_for_key(st, CS_STMT_LOAD_RECORDING, c->id, recording_row, r);
    if (rc != ROW_FOUND)
        return rc;
    rc = each_for_key(st, CS_STMT_LOAD_CONSENTS, c->id, consent_row, r);
    if (rc == CS_OK)
        rc = each_for_key(st, CS_STMT_LOAD_RECFILES, c->id, file_row, r);
    return rc;
}

/* ---- the gateway's side: the post-processing queue and results ---------------- */

typedef struct {
    cs_recfile_row_t *out;
    size_t n, max;
} rows_t;

static int collect_row(cs_storage_t *st, sqlite3_stmt *s, void *arg)
{
    (void)st;
    rows_t *rows = arg;
    if (rows->n >= rows->max)
        return CS_OK;
    int rc = read_file_row(s, &rows->out[rows->n]);
    if (rc == CS_OK)
        rows->n++;
    return rc;
}

int cs_storage_recfiles_in_state(cs_storage_t *st, cs_recfile_state_t state,
                                 cs_recfile_row_t *out, size_t max)
{
    sqlite3_stmt *s = st->stmt[CS_STMT_RECFILES_IN_STATE];
    int rc = bound(s, sqlite3_bind_text(s, 1, cs_recfile_state_name(state), -1, SQLITE_STATIC));
    if (rc == CS_OK)
        rc = bound(s, sqlite3_bind_int64(s, 2, (sqlite3_int64)max));
    rows_t rows = {out, 0, max};
    if (rc == CS_OK)
        rc = each_row(st, s, collect_row, &rows);
    return rc != CS_OK ? rc : (int)rows.n;
}

int cs_storage_recfile_get(cs_storage_t *st, const char *file_id, cs_recfile_row_t *out)
{
    rows_t rows = {out, 0, 1};
    int rc = each_for_key(st, CS_STMT_GET_RECFILE, file_id, collect_row, &rows);
    if (rc != CS_OK)
        return rc;
    return rows.n ? CS_OK : CS_ENOTFOUND;
}

static int write_file_update(cs_storage_t *st, const void *arg)
{
    const cs_recording_file_t *f = arg;
    binder_t b = binder(st, CS_STMT_UPDATE_RECFILE);
    BIND_FIELD(&b, 1, f->id);
    bind_name(&b, 2, cs_recfile_state_name(f->state));
    bind_int(&b, 3, f->stopped_at);
    bind_int(&b, 4, f->progress);
    bind_int(&b, 5, f->duration_ms);
    bind_int(&b, 6, f->size);
    bind_int(&b, 7, f->incomplete ? 1 : 0);
    BIND_FIELD(&b, 8, f->error);
    int rc = run_bound(&b);
    if (rc == SQLITE_OK && sqlite3_changes(st->db) != 1)
        rc = SQLITE_NOTFOUND;
    return rc;
}

int cs_storage_recfile_update(cs_storage_t *st, const cs_recording_file_t *f)
{
    if (!f->id[0] || (unsigned)f->state >= CS_RECFILE_STATE_COUNT)
        return CS_EINVAL;
    int rc = cs_storage_write_tx(st, write_file_update, f);
    if (rc == SQLITE_NOTFOUND)
        return CS_ENOTFOUND;
    return write_result(rc);
}

int cs_storage_recfile_counts(cs_storage_t *st, int64_t counts[CS_RECFILE_STATE_COUNT])
{
    memset(counts, 0, CS_RECFILE_STATE_COUNT * sizeof counts[0]);
    sqlite3_stmt *s = st->stmt[CS_STMT_COUNT_RECFILES];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        cs_recfile_state_t state;
        if (cs_recfile_state_parse(column_name(s, 0), &state) == CS_OK)
            counts[state] = sqlite3_column_int64(s, 1);
    }
    cs_storage_done(s);
    return rc == SQLITE_DONE ? CS_OK : CS_ESTORAGE;
}

typedef struct {
    const char *consult_id;
    const cs_event_t *ev;
} event_write_t;

static int write_event(cs_storage_t *st, const void *arg)
{
    const event_write_t *w = arg;
    return insert_event(st, w->consult_id, w->ev);
}

int cs_storage_append_event(cs_storage_t *st, const cs_event_t *ev)
{
    if (!ev->consult_id[0] || !role_ok(ev->actor_role) || (unsigned)ev->from >= CS_STATE_COUNT ||
        (unsigned)ev->to >= CS_STATE_COUNT)
        return CS_EINVAL;
    event_write_t w = {ev->consult_id, ev};
    return write_result(cs_storage_write_tx(st, write_event, &w));
}
