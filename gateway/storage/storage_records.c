/*
 * storage_records.c — the SQL of the built-in FHIR record store
 * (gateway/records/): <data_dir>/records.db, its schema, writes of whole
 * transactions, the access log and the used SMART assertion ids (reads and
 * searches, filtered by who is looking: storage_records_query.c).
 *
 * A separate database file on purpose: in production the record store is
 * somebody else's system, and nothing here may reach consilium.db. It is
 * opened the way consilium.db is (owner-only file, WAL, synchronous=NORMAL,
 * busy timeout, PRAGMA user_version migrations, one transaction each).
 *
 * Resources are kept as the JSON served (the current version only) in
 * `resources`; what searches and access checks need is in index tables
 * written with each version: identifiers (masterIdentifier included),
 * subjects (subject.identifier), centres (tenants the resource belongs to)
 * and links (the Binaries a DocumentReference points at). A subject given as
 * "Patient/<id>" is the column subject_patient, joined with that Patient's
 * identifiers when asked, so a Patient's identifiers are never copied.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_records_internal.h"

#define RECORDS_TX_ATTEMPTS 5
#define RECORDS_RETRY_PAUSE_MS 10

static const char *const migrations[] = {
    /* ---- version 1 ----
     * rowid order is creation order (searches return it); an update keeps
     * the row. Dates are [date_lo, date_hi) in ms, NULL when the resource has
     * none. Index tables are WITHOUT ROWID, keyed by the resource first. */
    "CREATE TABLE resources ("
    "  type            TEXT    NOT NULL,"
    "  id              TEXT    NOT NULL,"
    "  version         INTEGER NOT NULL,"
    "  updated_at      INTEGER NOT NULL,"
    "  subject_patient TEXT,"
    "  date_lo         INTEGER,"
    "  date_hi         INTEGER,"
    "  json            TEXT    NOT NULL,"
    "  data            BLOB,"
    "  UNIQUE (type, id)"
    ") STRICT;"
    "CREATE INDEX resources_subject ON resources (subject_patient)"
    "  WHERE subject_patient IS NOT NULL;"
    "CREATE TABLE identifiers ("
    "  type TEXT NOT NULL, id TEXT NOT NULL, system TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (type, id, system, value)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX identifiers_value ON identifiers (type, value, system);"
    "CREATE TABLE subjects ("
    "  type TEXT NOT NULL, id TEXT NOT NULL, system TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY (type, id, system, value)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX subjects_value ON subjects (value, system);"
    "CREATE TABLE centres ("
    "  type TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,"
    "  PRIMARY KEY (type, id, tenant)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX centres_tenant ON centres (tenant);"
    "CREATE TABLE links ("
    "  type TEXT NOT NULL, id TEXT NOT NULL, binary_id TEXT NOT NULL,"
    "  PRIMARY KEY (type, id, binary_id)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX links_binary ON links (binary_id);"
    /* Who read what, append-only like consilium.db's events. */
    "CREATE TABLE access_log ("
    "  seq      INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at       INTEGER NOT NULL,"
    "  tenant   TEXT    NOT NULL,"
    "  subject  TEXT    NOT NULL,"
    "  role     TEXT    NOT NULL,"
    "  action   TEXT    NOT NULL,"
    "  type     TEXT    NOT NULL,"
    "  target   TEXT    NOT NULL,"
    "  status   INTEGER NOT NULL,"
    "  returned INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TRIGGER access_log_no_update BEFORE UPDATE ON access_log"
    "  BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;"
    "CREATE TRIGGER access_log_no_delete BEFORE DELETE ON access_log"
    "  BEGIN SELECT RAISE(ABORT, 'access_log is append-only'); END;"
    /* On disk, so a restart does not make a used assertion new again. */
    "CREATE TABLE jtis ("
    "  jti        TEXT    NOT NULL PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX jtis_expires ON jtis (expires_at);",
};

#define RECORDS_SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

enum {
    RS_BEGIN,
    RS_COMMIT,
    RS_ROLLBACK,
    RS_FIND_ANY,
    RS_FIND_SYSTEM,
    RS_VERSION,
    RS_UPSERT,
    RS_DEL_IDENT,
    RS_DEL_SUBJECT,
    RS_DEL_CENTRE,
    RS_DEL_LINK,
    RS_INS_IDENT,
    RS_INS_SUBJECT,
    RS_INS_CENTRE,
    RS_INS_LINK,
    RS_LOG,
    RS_JTI_PRUNE,
    RS_JTI_USED,
    RS_JTI_COUNT,
    RS_JTI_INSERT,
    RS_COUNT_TYPE,
    RS_COUNT_ALL,
    RS_N
};

static const char *const stmt_sql[RS_N] = {
    [RS_BEGIN] = "BEGIN IMMEDIATE",
    [RS_COMMIT] = "COMMIT",
    [RS_ROLLBACK] = "ROLLBACK",
    [RS_FIND_ANY] = "SELECT DISTINCT id FROM identifiers WHERE type = ?1 AND value = ?2"
                    " ORDER BY id LIMIT 2",
    [RS_FIND_SYSTEM] = "SELECT DISTINCT id FROM identifiers WHERE type = ?1 AND value = ?2"
                       " AND system = ?3 ORDER BY id LIMIT 2",
    [RS_VERSION] = "SELECT version, updated_at FROM resources WHERE type = ?1 AND id = ?2",
    [RS_UPSERT] = "INSERT INTO resources (type, id, version, updated_at, subject_patient,"
                  " date_lo, date_hi, json, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                  " ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,"
                  " updated_at = excluded.updated_at, subject_patient = excluded.subject_patient,"
                  " date_lo = excluded.date_lo, date_hi = excluded.date_hi,"
                  " json = excluded.json, data = excluded.data",
    [RS_DEL_IDENT] = "DELETE FROM identifiers WHERE type = ?1 AND id = ?2",
    [RS_DEL_SUBJECT] = "DELETE FROM subjects WHERE type = ?1 AND id = ?2",
    [RS_DEL_CENTRE] = "DELETE FROM centres WHERE type = ?1 AND id = ?2",
    [RS_DEL_LINK] = "DELETE FROM links WHERE type = ?1 AND id = ?2",
    [RS_INS_IDENT] = "INSERT OR IGNORE INTO identifiers (type, id, system, value)"
                     " VALUES (?1, ?2, ?3, ?4)",
    [RS_INS_SUBJECT] = "INSERT OR IGNORE INTO subjects (type, id, system, value)"
                       " VALUES (?1, ?2, ?3, ?4)",
    [RS_INS_CENTRE] = "INSERT OR IGNORE INTO centres (type, id, tenant) VALUES (?1, ?2, ?3)",
    [RS_INS_LINK] = "INSERT OR IGNORE INTO links (type, id, binary_id) VALUES (?1, ?2, ?3)",
    [RS_LOG] = "INSERT INTO access_log (at, tenant, subject, role, action, type, target,"
               " status, returned) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [RS_JTI_PRUNE] = "DELETE FROM jtis WHERE expires_at <= ?1",
    [RS_JTI_USED] = "SELECT 1 FROM jtis WHERE jti = ?1",
    [RS_JTI_COUNT] = "SELECT count(*) FROM jtis",
    [RS_JTI_INSERT] = "INSERT INTO jtis (jti, expires_at) VALUES (?1, ?2)",
    [RS_COUNT_TYPE] = "SELECT count(*) FROM resources WHERE type = ?1",
    [RS_COUNT_ALL] = "SELECT count(*) FROM resources",
};

_Static_assert(RS_N <= sizeof((cs_records_db_t *)0)->stmt / sizeof(sqlite3_stmt *),
               "struct cs_records_db has room for every statement");

/* ---- codes ------------------------------------------------------------------ */

int cs_records_db_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return CS_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return CS_EAGAIN;
    case SQLITE_NOMEM:
        return CS_ENOMEM;
    default:
        return CS_ESTORAGE;
    }
}

/* Opening: trouble with the file is CS_EIO, content we cannot use CS_ESTORAGE. */
static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps a statement that returns no rows and resets it. */
static int exec(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_DONE ? CS_OK : cs_records_db_err(rc);
}

int cs_records_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(s, i);
}

/* ---- opening ------------------------------------------------------------------- */

static int prepare_all(cs_records_db_t *d)
{
    for (int i = 0; i < RS_N; i++) {
        int rc = sqlite3_prepare_v3(d->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &d->stmt[i],
                                    NULL);
        if (rc != SQLITE_OK)
            return rc == SQLITE_NOMEM ? CS_ENOMEM : CS_ESTORAGE;
    }
    return CS_OK;
}

cs_records_db_t *cs_records_db_open(const char *path, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    if (!path || !*path || strcmp(path, ":memory:") == 0) {
        *err = CS_EINVAL;
        return NULL;
    }
    cs_records_db_t *d = calloc(1, sizeof *d);
    if (!d) {
        *err = CS_ENOMEM;
        return NULL;
    }
    int rc = cs_storage_open_sqlite(path, migrations, RECORDS_SCHEMA_VERSION, &d->db);
    if (rc == CS_OK)
        rc = prepare_all(d);
    if (rc != CS_OK) {
        cs_records_db_close(d);
        d = NULL;
    }
    *err = rc;
    return d;
}

void cs_records_db_close(cs_records_db_t *d)
{
    if (!d)
        return;
    for (int i = 0; i < RS_N; i++)
        sqlite3_finalize(d->stmt[i]);
    sqlite3_close(d->db);
    free(d);
}

/* ---- write transactions ------------------------------------------------------ */

static int write_once(cs_records_db_t *d, cs_records_tx_fn fn, void *arg)
{
    int rc = exec(d->stmt[RS_BEGIN]);
    if (rc != CS_OK)
        return rc;
    rc = fn(d, arg);
    if (rc == CS_OK)
        rc = exec(d->stmt[RS_COMMIT]);
    if (rc != CS_OK && !sqlite3_get_autocommit(d->db))
        exec(d->stmt[RS_ROLLBACK]);
    return rc;
}

int cs_records_db_write(cs_records_db_t *d, cs_records_tx_fn fn, void *arg)
{
    if (!d || !fn)
        return CS_EINVAL;
    int pause_ms = RECORDS_RETRY_PAUSE_MS;
    for (int attempt = 1;; attempt++) {
        int rc = write_once(d, fn, arg);
        if (rc != CS_EAGAIN || attempt == RECORDS_TX_ATTEMPTS)
            return rc;
        sqlite3_sleep(pause_ms);
        pause_ms *= 2;
    }
}

int cs_records_db_find(cs_records_db_t *d, const char *type, const cs_records_ident_t *ident,
                       char id[65], int *matches)
{
    sqlite3_stmt *s = d->stmt[ident->system ? RS_FIND_SYSTEM : RS_FIND_ANY];
    *matches = 0;
    id[0] = '\0';
    int rc = cs_records_bind_text(s, 1, type) | cs_records_bind_text(s, 2, ident->value);
    if (ident->system)
        rc |= cs_records_bind_text(s, 3, ident->system);
    if (rc != SQLITE_OK) {
        done(s);
        return CS_ESTORAGE;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(s, 0);
        if (*matches == 0 && v)
            snprintf(id, 65, "%s", (const char *)v);
        (*matches)++;
    }
    done(s);
    return rc == SQLITE_DONE ? CS_OK : cs_records_db_err(rc);
}

int cs_records_db_version(cs_records_db_t *d, const char *type, const char *id, int64_t *version,
                          int64_t *updated_at)
{
    sqlite3_stmt *s = d->stmt[RS_VERSION];
    if ((cs_records_bind_text(s, 1, type) | cs_records_bind_text(s, 2, id)) != SQLITE_OK) {
        done(s);
        return CS_ESTORAGE;
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *version = sqlite3_column_int64(s, 0);
        *updated_at = sqlite3_column_int64(s, 1);
    }
    done(s);
    return rc == SQLITE_ROW ? CS_OK : rc == SQLITE_DONE ? CS_ENOTFOUND : cs_records_db_err(rc);
}

static int upsert(cs_records_db_t *d, const cs_records_row_t *r)
{
    sqlite3_stmt *s = d->stmt[RS_UPSERT];
    int rc = cs_records_bind_text(s, 1, r->type) | cs_records_bind_text(s, 2, r->id) |
             sqlite3_bind_int64(s, 3, r->version) | sqlite3_bind_int64(s, 4, r->updated_at) |
             cs_records_bind_text(s, 5, r->subject_patient) | cs_records_bind_text(s, 8, r->json);
    if (r->has_date)
        rc |= sqlite3_bind_int64(s, 6, r->date_lo) | sqlite3_bind_int64(s, 7, r->date_hi);
    if (r->data)
        rc |= sqlite3_bind_blob64(s, 9, r->data, r->data_len, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        done(s);
        return CS_ESTORAGE;
    }
    return exec(s);
}

/* Runs stmt with (type, id, a[, b]) for each of n values. */
static int insert_rows(cs_records_db_t *d, int stmt, const cs_records_row_t *r,
                       const cs_records_ident_t *pairs, const char *const *singles, size_t n)
{
    sqlite3_stmt *s = d->stmt[stmt];
    for (size_t i = 0; i < n; i++) {
        int rc = cs_records_bind_text(s, 1, r->type) | cs_records_bind_text(s, 2, r->id);
        if (pairs)
            rc |= cs_records_bind_text(s, 3, pairs[i].system ? pairs[i].system : "") |
                  cs_records_bind_text(s, 4, pairs[i].value ? pairs[i].value : "");
        else
            rc |= cs_records_bind_text(s, 3, singles[i]);
        if (rc != SQLITE_OK) {
            done(s);
            return CS_ESTORAGE;
        }
        if ((rc = exec(s)) != CS_OK)
            return rc;
    }
    return CS_OK;
}

int cs_records_db_put(cs_records_db_t *d, const cs_records_row_t *r)
{
    if (!d || !r || !r->type || !r->id || !r->json)
        return CS_EINVAL;
    int rc = upsert(d, r);
    static const int dels[] = {RS_DEL_IDENT, RS_DEL_SUBJECT, RS_DEL_CENTRE, RS_DEL_LINK};
    for (size_t i = 0; rc == CS_OK && i < sizeof dels / sizeof dels[0]; i++) {
        sqlite3_stmt *s = d->stmt[dels[i]];
        if ((cs_records_bind_text(s, 1, r->type) | cs_records_bind_text(s, 2, r->id)) !=
            SQLITE_OK) {
            done(s);
            return CS_ESTORAGE;
        }
        rc = exec(s);
    }
    if (rc == CS_OK)
        rc = insert_rows(d, RS_INS_IDENT, r, r->identifiers, NULL, r->n_identifiers);
    if (rc == CS_OK)
        rc = insert_rows(d, RS_INS_SUBJECT, r, r->subjects, NULL, r->n_subjects);
    if (rc == CS_OK)
        rc = insert_rows(d, RS_INS_CENTRE, r, NULL, r->centres, r->n_centres);
    if (rc == CS_OK)
        rc = insert_rows(d, RS_INS_LINK, r, NULL, r->binaries, r->n_binaries);
    return rc;
}

/* ---- the access log, assertion ids, counts ----------------------------------------- */

int cs_records_db_log(cs_records_db_t *d, const cs_records_access_t *a)
{
    if (!d || !a)
        return CS_EINVAL;
    sqlite3_stmt *s = d->stmt[RS_LOG];
    int rc = sqlite3_bind_int64(s, 1, a->at) |
             cs_records_bind_text(s, 2, a->tenant ? a->tenant : "") |
             cs_records_bind_text(s, 3, a->subject ? a->subject : "") |
             cs_records_bind_text(s, 4, a->role ? a->role : "") |
             cs_records_bind_text(s, 5, a->action ? a->action : "") |
             cs_records_bind_text(s, 6, a->type ? a->type : "") |
             cs_records_bind_text(s, 7, a->target ? a->target : "") |
             sqlite3_bind_int(s, 8, a->status) | sqlite3_bind_int64(s, 9, a->returned);
    if (rc != SQLITE_OK) {
        done(s);
        return CS_ESTORAGE;
    }
    return exec(s);
}

typedef struct {
    const char *jti;
    int64_t keep_until_ms, now_ms;
    int max;
} jti_arg_t;

static int count_of(sqlite3_stmt *s, int64_t *n)
{
    int rc = sqlite3_step(s);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    done(s);
    return rc == SQLITE_ROW ? CS_OK : cs_records_db_err(rc);
}

static int use_jti(cs_records_db_t *d, void *arg)
{
    const jti_arg_t *j = arg;
    sqlite3_stmt *s = d->stmt[RS_JTI_PRUNE];
    sqlite3_bind_int64(s, 1, j->now_ms);
    int rc = exec(s);
    if (rc != CS_OK)
        return rc;
    s = d->stmt[RS_JTI_USED];
    cs_records_bind_text(s, 1, j->jti);
    int step = sqlite3_step(s);
    done(s);
    if (step == SQLITE_ROW)
        return CS_EEXIST;
    if (step != SQLITE_DONE)
        return cs_records_db_err(step);
    int64_t n = 0;
    if ((rc = count_of(d->stmt[RS_JTI_COUNT], &n)) != CS_OK)
        return rc;
    if (n >= j->max)
        return CS_ELIMIT;
    s = d->stmt[RS_JTI_INSERT];
    cs_records_bind_text(s, 1, j->jti);
    sqlite3_bind_int64(s, 2, j->keep_until_ms);
    return exec(s);
}

int cs_records_db_use_jti(cs_records_db_t *d, const char *jti, int64_t keep_until_ms,
                          int64_t now_ms, int max)
{
    if (!d || !jti || !*jti || max <= 0)
        return CS_EINVAL;
    jti_arg_t j = {jti, keep_until_ms, now_ms, max};
    return cs_records_db_write(d, use_jti, &j);
}

int64_t cs_records_db_count(cs_records_db_t *d, const char *type)
{
    if (!d)
        return CS_EINVAL;
    sqlite3_stmt *s = d->stmt[type ? RS_COUNT_TYPE : RS_COUNT_ALL];
    if (type && cs_records_bind_text(s, 1, type) != SQLITE_OK) {
        done(s);
        return CS_ESTORAGE;
    }
    int64_t n = 0;
    int rc = count_of(s, &n);
    return rc == CS_OK ? n : rc;
}
