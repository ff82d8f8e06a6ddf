/*
 * storage.c — opening the database, its schema and migrations, the prepared
 * statements, write transactions with retries, and the small probes (ping,
 * event counts).
 *
 * The schema is versioned with PRAGMA user_version: migrations[i] takes the
 * database from version i to i + 1, each in its own transaction together with
 * the version bump, so a crash mid-migration leaves the previous version
 * intact. A later schema appends a script; existing ones never change.
 */
#include "storage_internal.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Waiting for another connection's lock. Writes run on the signalling
 * thread, so every millisecond waited is a millisecond no client is served:
 * a write waits at most CS_STORAGE_TX_ATTEMPTS × CS_STORAGE_BUSY_TIMEOUT_MS
 * (a checkpoint or a short outside write is over long before), far below
 * the 10 s after which browsers think the link is dead. When the lock
 * outlives that, writes during the next CS_STORAGE_BACKOFF_MS (doubling to
 * CS_STORAGE_BACKOFF_MAX_MS while it lasts) try once without waiting: they
 * succeed the moment the lock is gone and otherwise fail at once, so a
 * database locked for minutes costs the event loop a few seconds now and
 * then, not every write's full wait.
 */
#define CS_STORAGE_BUSY_TIMEOUT_MS 2000
#define CS_STORAGE_TX_ATTEMPTS 2
/* Pause before the first retry (ms); doubles with each further one. */
#define CS_STORAGE_RETRY_PAUSE_MS 10
#define CS_STORAGE_BACKOFF_MS 2000
#define CS_STORAGE_BACKOFF_MAX_MS 16000

static const char *const migrations[] = {
    /* ---- version 1 ----
     * Tables are STRICT so a wrongly typed value is refused at write time.
     * Long free text (reason) comes last in its row: reading the short
     * columns then never touches overflow pages. */
    "CREATE TABLE consults ("
    "  id                 TEXT    NOT NULL PRIMARY KEY,"
    "  tenant             TEXT    NOT NULL,"
    "  routed_to          TEXT    NOT NULL,"
    "  state              TEXT    NOT NULL,"
    "  escalation         TEXT    NOT NULL,"
    "  urgency            TEXT    NOT NULL,"
    "  mode               TEXT    NOT NULL,"
    "  specialty          TEXT    NOT NULL,"
    "  clinician          TEXT    NOT NULL,"
    "  clinician_name     TEXT    NOT NULL,"
    "  specialist         TEXT    NOT NULL,"
    "  specialist_tenant  TEXT    NOT NULL,"
    "  specialist_name    TEXT    NOT NULL,"
    "  patient_id         TEXT    NOT NULL,"
    "  patient_name       TEXT    NOT NULL,"
    "  patient_birth_date TEXT    NOT NULL,"
    "  created_at         INTEGER NOT NULL,"
    "  warn_at            INTEGER NOT NULL,"
    "  deadline_at        INTEGER NOT NULL,"
    "  expire_at          INTEGER NOT NULL,"
    "  accepted_at        INTEGER NOT NULL,"
    "  started_at         INTEGER NOT NULL,"
    "  ended_at           INTEGER NOT NULL,"
    "  updated_at         INTEGER NOT NULL,"
    "  reason             TEXT    NOT NULL"
    ") STRICT;"
    /* Start-up loads one state at a time and, for terminal states, only the
     * recently closed: both are ranges of this index, so loading stays cheap
     * however many old consults the table keeps. */
    "CREATE INDEX consults_state_closed ON consults (state, max(ended_at, updated_at));"
    "CREATE INDEX consults_tenant ON consults (tenant, created_at);"
    /* A person is (tenant, subject): subjects are unique only within their
     * centre, and a routed consult brings two centres together. WITHOUT
     * ROWID keeps a consult's participants together on disk. */
    "CREATE TABLE participants ("
    "  consult_id TEXT    NOT NULL REFERENCES consults (id) ON DELETE CASCADE,"
    "  idx        INTEGER NOT NULL,"
    "  subject    TEXT    NOT NULL,"
    "  tenant     TEXT    NOT NULL,"
    "  name       TEXT    NOT NULL,"
    "  role       TEXT    NOT NULL,"
    "  invited_by TEXT    NOT NULL,"
    "  joined_at  INTEGER NOT NULL,"
    "  left_at    INTEGER NOT NULL,"
    "  present    INTEGER NOT NULL CHECK (present IN (0, 1)),"
    "  PRIMARY KEY (consult_id, tenant, subject)"
    ") STRICT, WITHOUT ROWID;"
    /* The audit trail. AUTOINCREMENT: sequence numbers are never reused.
     * No ON DELETE CASCADE and triggers refusing UPDATE/DELETE: a consult with
     * a trail cannot be deleted by accident; a future retention purge must be
     * a migration that says so explicitly. */
    "CREATE TABLE events ("
    "  seq             INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  consult_id      TEXT    NOT NULL REFERENCES consults (id),"
    "  at              INTEGER NOT NULL,"
    "  kind            TEXT    NOT NULL,"
    "  from_state      TEXT    NOT NULL,"
    "  to_state        TEXT    NOT NULL,"
    "  actor           TEXT    NOT NULL,"
    "  actor_role      TEXT    NOT NULL,"
    "  actor_is_system INTEGER NOT NULL CHECK (actor_is_system IN (0, 1)),"
    "  detail          TEXT    NOT NULL"
    ") STRICT;"
    "CREATE INDEX events_consult ON events (consult_id, seq);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TABLE users ("
    "  subject     TEXT    NOT NULL,"
    "  name        TEXT    NOT NULL,"
    "  role        TEXT    NOT NULL,"
    "  tenant      TEXT    NOT NULL,"
    "  specialties TEXT    NOT NULL," /* comma-separated slugs */
    "  last_seen   INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant, subject)"
    ") STRICT;"
    /* Only the SHA-256 of an invitation code is ever stored. */
    "CREATE TABLE invites ("
    "  code_hash  TEXT    NOT NULL PRIMARY KEY,"
    "  consult_id TEXT    NOT NULL REFERENCES consults (id) ON DELETE CASCADE,"
    "  role       TEXT    NOT NULL,"
    "  name       TEXT    NOT NULL,"
    "  created_by TEXT    NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX invites_expires ON invites (expires_at);"
    "CREATE INDEX invites_consult ON invites (consult_id);",

    /* ---- version 2: attachments, chat, conclusions ----
     * An attachment is unbound (consult_id NULL, its uploader's only) until a
     * request (request_idx: its place in the request) or a chat message binds
     * it. Bound files are never deleted; unbound ones expire. */
    "CREATE TABLE attachments ("
    "  id           TEXT    NOT NULL PRIMARY KEY,"
    "  owner        TEXT    NOT NULL,"
    "  owner_tenant TEXT    NOT NULL,"
    "  consult_id   TEXT    REFERENCES consults (id),"
    "  request_idx  INTEGER,"
    "  name         TEXT    NOT NULL,"
    "  type         TEXT    NOT NULL,"
    "  size         INTEGER NOT NULL,"
    "  sha256       TEXT    NOT NULL,"
    "  created_at   INTEGER NOT NULL,"
    "  data         BLOB    NOT NULL"
    ") STRICT;"
    "CREATE INDEX attachments_consult ON attachments (consult_id, request_idx);"
    "CREATE INDEX attachments_unbound ON attachments (owner_tenant, owner, created_at)"
    "  WHERE consult_id IS NULL;"
    "CREATE TABLE chat_messages ("
    "  consult_id    TEXT    NOT NULL REFERENCES consults (id),"
    "  seq           INTEGER NOT NULL,"
    "  id            TEXT    NOT NULL UNIQUE,"
    "  at            INTEGER NOT NULL,"
    "  sender        TEXT    NOT NULL,"
    "  sender_tenant TEXT    NOT NULL,"
    "  sender_name   TEXT    NOT NULL,"
    "  sender_role   TEXT    NOT NULL,"
    "  text          TEXT    NOT NULL,"
    "  PRIMARY KEY (consult_id, seq)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE chat_attachments ("
    "  consult_id    TEXT    NOT NULL,"
    "  seq           INTEGER NOT NULL,"
    "  idx           INTEGER NOT NULL,"
    "  attachment_id TEXT    NOT NULL REFERENCES attachments (id),"
    "  PRIMARY KEY (consult_id, seq, idx),"
    "  FOREIGN KEY (consult_id, seq) REFERENCES chat_messages (consult_id, seq)"
    ") STRICT, WITHOUT ROWID;"
    /* One conclusion per consult; once signed, the row refuses every change
     * (the documents work adds amendments as new versions, elsewhere). */
    "CREATE TABLE conclusions ("
    "  consult_id      TEXT    NOT NULL PRIMARY KEY REFERENCES consults (id),"
    "  status          TEXT    NOT NULL CHECK (status IN ('draft', 'signed')),"
    "  version         INTEGER NOT NULL,"
    "  updated_at      INTEGER NOT NULL,"
    "  signed_at       INTEGER NOT NULL,"
    "  author          TEXT    NOT NULL,"
    "  author_tenant   TEXT    NOT NULL,"
    "  author_name     TEXT    NOT NULL,"
    "  diagnosis_code  TEXT    NOT NULL,"
    "  diagnosis_text  TEXT    NOT NULL,"
    "  findings        TEXT    NOT NULL,"
    "  recommendations TEXT    NOT NULL"
    ") STRICT;"
    "CREATE TRIGGER conclusions_signed_final BEFORE UPDATE ON conclusions"
    "  WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, 'signed conclusion'); END;"
    "CREATE TRIGGER conclusions_no_delete BEFORE DELETE ON conclusions"
    "  WHEN OLD.status = 'signed' BEGIN SELECT RAISE(ABORT, 'signed conclusion'); END;",

    /* ---- version 3: documents and the outbox (docs/RECORDS.md) ----
     * Every signed version is a document that nothing changes or deletes,
     * with its PDF and FHIR Bundle as they were sent; its outbox row (written
     * in the signing transaction) says how its delivery goes. */
    "CREATE TABLE documents ("
    "  id              TEXT    NOT NULL PRIMARY KEY,"
    "  consult_id      TEXT    NOT NULL REFERENCES consults (id),"
    "  version         INTEGER NOT NULL,"
    "  replaces        TEXT    REFERENCES documents (id),"
    "  signed_at       INTEGER NOT NULL,"
    "  author          TEXT    NOT NULL,"
    "  author_tenant   TEXT    NOT NULL,"
    "  author_name     TEXT    NOT NULL,"
    "  diagnosis_code  TEXT    NOT NULL,"
    "  diagnosis_text  TEXT    NOT NULL,"
    "  findings        TEXT    NOT NULL,"
    "  recommendations TEXT    NOT NULL,"
    "  language        TEXT    NOT NULL,"
    "  pdf_sha256      TEXT    NOT NULL,"
    "  pdf             BLOB    NOT NULL,"
    "  bundle          TEXT    NOT NULL,"
    "  UNIQUE (consult_id, version)"
    ") STRICT;"
    "CREATE TRIGGER documents_final BEFORE UPDATE ON documents"
    "  BEGIN SELECT RAISE(ABORT, 'signed document'); END;"
    "CREATE TRIGGER documents_no_delete BEFORE DELETE ON documents"
    "  BEGIN SELECT RAISE(ABORT, 'signed document'); END;"
    "CREATE TABLE outbox ("
    "  document_id     TEXT    NOT NULL PRIMARY KEY REFERENCES documents (id),"
    "  consult_id      TEXT    NOT NULL,"
    "  state           TEXT    NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),"
    "  attempts        INTEGER NOT NULL,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  delivered_at    INTEGER NOT NULL,"
    "  last_error      TEXT    NOT NULL,"
    "  location        TEXT    NOT NULL,"
    "  created_at      INTEGER NOT NULL,"
    "  updated_at      INTEGER NOT NULL"
    ") STRICT;"
    "CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';"
    /* A signed conclusion may become a draft again (an amendment) only when
     * its text is kept as a document; nothing else changes it. */
    "DROP TRIGGER conclusions_signed_final;"
    "CREATE TRIGGER conclusions_signed_final BEFORE UPDATE ON conclusions"
    "  WHEN OLD.status = 'signed' AND NOT (NEW.status = 'draft' AND NEW.version > OLD.version"
    "    AND EXISTS (SELECT 1 FROM documents WHERE consult_id = OLD.consult_id"
    "                AND version = OLD.version))"
    "  BEGIN SELECT RAISE(ABORT, 'signed conclusion'); END;",
    /* 3 → 4: recording (who asked, who consented, the files and what became
     * of them; docs/PROTOCOL.md "Recording"). */
    "CREATE TABLE recordings ("
    "  consult_id          TEXT    NOT NULL PRIMARY KEY REFERENCES consults (id),"
    "  state               TEXT    NOT NULL CHECK (state IN ('off', 'consent', 'on')),"
    "  requested_by        TEXT    NOT NULL,"
    "  requested_by_tenant TEXT    NOT NULL,"
    "  requested_by_name   TEXT    NOT NULL,"
    "  requested_at        INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE recording_consents ("
    "  consult_id TEXT    NOT NULL REFERENCES consults (id),"
    "  idx        INTEGER NOT NULL,"
    "  subject    TEXT    NOT NULL,"
    "  tenant     TEXT    NOT NULL,"
    "  name       TEXT    NOT NULL,"
    "  answer     TEXT    NOT NULL CHECK (answer IN ('pending', 'given', 'refused')),"
    "  at         INTEGER NOT NULL,"
    "  PRIMARY KEY (consult_id, idx)"
    ") STRICT;"
    "CREATE TABLE recording_files ("
    "  id          TEXT    NOT NULL PRIMARY KEY,"
    "  consult_id  TEXT    NOT NULL REFERENCES consults (id),"
    "  idx         INTEGER NOT NULL,"
    "  state       TEXT    NOT NULL"
    "              CHECK (state IN ('recording', 'queued', 'processing', 'ready', 'failed')),"
    "  started_at  INTEGER NOT NULL,"
    "  stopped_at  INTEGER NOT NULL,"
    "  progress    INTEGER NOT NULL,"
    "  duration_ms INTEGER NOT NULL,"
    "  size        INTEGER NOT NULL,"
    "  incomplete  INTEGER NOT NULL,"
    "  error       TEXT    NOT NULL,"
    "  UNIQUE (consult_id, idx)"
    ") STRICT;"
    "CREATE INDEX recording_files_state ON recording_files (state, started_at);",
};

#define CS_STORAGE_SCHEMA_VERSION ((int)CS_ARRAY_LEN(migrations))

static const char *const stmt_sql[CS_STMT_COUNT] = {
    [CS_STMT_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [CS_STMT_BEGIN_READ] = "BEGIN",
    [CS_STMT_COMMIT] = "COMMIT",
    [CS_STMT_ROLLBACK] = "ROLLBACK",
    [CS_STMT_UPSERT_CONSULT] =
        "INSERT INTO consults (" CS_CONSULT_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
        " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25)"
        " ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant,"
        " routed_to = excluded.routed_to, state = excluded.state,"
        " escalation = excluded.escalation, urgency = excluded.urgency, mode = excluded.mode,"
        " specialty = excluded.specialty, clinician = excluded.clinician,"
        " clinician_name = excluded.clinician_name, specialist = excluded.specialist,"
        " specialist_tenant = excluded.specialist_tenant,"
        " specialist_name = excluded.specialist_name, patient_id = excluded.patient_id,"
        " patient_name = excluded.patient_name,"
        " patient_birth_date = excluded.patient_birth_date, created_at = excluded.created_at,"
        " warn_at = excluded.warn_at, deadline_at = excluded.deadline_at,"
        " expire_at = excluded.expire_at, accepted_at = excluded.accepted_at,"
        " started_at = excluded.started_at, ended_at = excluded.ended_at,"
        " updated_at = excluded.updated_at, reason = excluded.reason",
    [CS_STMT_DELETE_PARTICIPANTS] = "DELETE FROM participants WHERE consult_id = ?1",
    [CS_STMT_INSERT_PARTICIPANT] = "INSERT INTO participants (consult_id, idx, "
                                   CS_PARTICIPANT_COLUMNS
                                   ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [CS_STMT_INSERT_EVENT] = "INSERT INTO events (consult_id, " CS_EVENT_COLUMNS
                             ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [CS_STMT_UPSERT_USER] =
        "INSERT INTO users (" CS_USER_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT (tenant, subject) DO UPDATE SET name = excluded.name,"
        " role = excluded.role, specialties = excluded.specialties,"
        " last_seen = excluded.last_seen",
    [CS_STMT_INSERT_INVITE] = "INSERT INTO invites (" CS_INVITE_COLUMNS
                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [CS_STMT_LIST_EVENTS] = "SELECT " CS_EVENT_COLUMNS
                            " FROM events WHERE consult_id = ?1 ORDER BY seq LIMIT ?2",
    [CS_STMT_COUNT_EVENTS] = "SELECT count(*) FROM events WHERE consult_id = ?1",
    [CS_STMT_COUNT_ALL_EVENTS] = "SELECT count(*) FROM events",
    /* Reads the schema page: fails if the file became unreadable. */
    [CS_STMT_PING] = "SELECT count(*) FROM sqlite_schema",
    /* The distinct states present, one index seek each (see storage_read.c). */
    [CS_STMT_NEXT_STATE] = "SELECT state FROM consults WHERE state > ?1 ORDER BY state LIMIT 1",
    /* The expression must match the index consults_state_closed exactly. */
    [CS_STMT_LOAD_CONSULTS] = "SELECT " CS_CONSULT_COLUMNS " FROM consults"
                              " WHERE state = ?1 AND max(ended_at, updated_at) >= ?2"
                              " ORDER BY created_at, id",
    [CS_STMT_LOAD_PARTICIPANTS] = "SELECT " CS_PARTICIPANT_COLUMNS
                                  " FROM participants WHERE consult_id = ?1 ORDER BY idx",
    [CS_STMT_GET_CONSULT] = "SELECT " CS_CONSULT_COLUMNS " FROM consults WHERE id = ?1",
    [CS_STMT_LOAD_USERS] = "SELECT " CS_USER_COLUMNS " FROM users ORDER BY tenant, subject",
    [CS_STMT_INSERT_ATTACHMENT] = "INSERT INTO attachments (id, owner, owner_tenant, name, type,"
                                  " size, sha256, created_at, data)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [CS_STMT_COUNT_UNBOUND] = "SELECT count(*) FROM attachments WHERE owner_tenant = ?1"
                              " AND owner = ?2 AND consult_id IS NULL",
    [CS_STMT_GET_ATTACHMENT] = "SELECT " CS_ATTACHMENT_COLUMNS " FROM attachments WHERE id = ?1",
    [CS_STMT_GET_ATTACHMENT_DATA] = "SELECT data FROM attachments WHERE id = ?1",
    [CS_STMT_BIND_ATTACHMENT] = "UPDATE attachments SET consult_id = ?2,"
                                " request_idx = coalesce(request_idx, ?3)"
                                " WHERE id = ?1 AND (consult_id IS NULL OR consult_id = ?2)",
    [CS_STMT_PRUNE_ATTACHMENTS] = "DELETE FROM attachments WHERE consult_id IS NULL"
                                  " AND created_at < ?1",
    [CS_STMT_LOAD_REQUEST_ATTACHMENTS] = "SELECT " CS_ATTACHMENT_COLUMNS " FROM attachments"
                                         " WHERE consult_id = ?1 AND request_idx IS NOT NULL"
                                         " ORDER BY request_idx",
    [CS_STMT_NEXT_CHAT_SEQ] = "SELECT coalesce(max(seq), 0) + 1 FROM chat_messages"
                              " WHERE consult_id = ?1",
    [CS_STMT_INSERT_CHAT] = "INSERT INTO chat_messages (" CS_CHAT_COLUMNS ")"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [CS_STMT_INSERT_CHAT_ATTACHMENT] = "INSERT INTO chat_attachments (consult_id, seq, idx,"
                                       " attachment_id) VALUES (?1, ?2, ?3, ?4)",
    /* The last ?3 before ?2, then put back in order. */
    [CS_STMT_LIST_CHAT] = "SELECT " CS_CHAT_COLUMNS " FROM (SELECT * FROM chat_messages"
                          " WHERE consult_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3)"
                          " ORDER BY seq",
    [CS_STMT_LIST_CHAT_ATTACHMENTS] = "SELECT a.id, a.name, a.type, a.size, a.owner,"
                                      " a.owner_tenant, ifnull(a.consult_id, ''), a.sha256,"
                                      " a.created_at FROM chat_attachments c JOIN attachments a"
                                      " ON a.id = c.attachment_id WHERE c.consult_id = ?1"
                                      " AND c.seq = ?2 ORDER BY c.idx",
    [CS_STMT_UPSERT_CONCLUSION] =
        "INSERT INTO conclusions (consult_id, " CS_CONCLUSION_COLUMNS ")"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT (consult_id) DO UPDATE SET status = excluded.status,"
        " version = excluded.version, updated_at = excluded.updated_at,"
        " signed_at = excluded.signed_at, author = excluded.author,"
        " author_tenant = excluded.author_tenant, author_name = excluded.author_name,"
        " diagnosis_code = excluded.diagnosis_code, diagnosis_text = excluded.diagnosis_text,"
        " findings = excluded.findings, recommendations = excluded.recommendations",
    [CS_STMT_GET_CONCLUSION] = "SELECT " CS_CONCLUSION_COLUMNS " FROM conclusions"
                               " WHERE consult_id = ?1",
    [CS_STMT_INSERT_DOCUMENT] =
        "INSERT INTO documents (id, consult_id, version, replaces, signed_at, author,"
        " author_tenant, author_name, diagnosis_code, diagnosis_text, findings,"
        " recommendations, language, pdf_sha256, pdf, bundle)"
        " VALUES (?1, ?2, ?3, nullif(?4, ''), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [CS_STMT_INSERT_OUTBOX] =
        "INSERT INTO outbox (document_id, consult_id, state, attempts, next_attempt_at,"
        " delivered_at, last_error, location, created_at, updated_at)"
        " VALUES (?1, ?2, 'pending', 0, ?3, 0, '', '', ?3, ?3)",
    /* Shaped as CS_CONCLUSION_COLUMNS, so the conclusion reader reads it. */
    [CS_STMT_GET_SIGNED] =
        "SELECT 'signed', version, signed_at, signed_at, author, author_tenant, author_name,"
        " diagnosis_code, diagnosis_text, findings, recommendations FROM documents"
        " WHERE consult_id = ?1 ORDER BY version DESC LIMIT 1",
    [CS_STMT_GET_LAST_DOCUMENT] =
        "SELECT d.id, d.version, ifnull(d.replaces, ''), o.state, o.attempts,"
        " o.next_attempt_at, o.delivered_at, o.last_error FROM documents d"
        " JOIN outbox o ON o.document_id = d.id WHERE d.consult_id = ?1"
        " ORDER BY d.version DESC LIMIT 1",
    [CS_STMT_NEXT_DUE] =
        "SELECT o.document_id, o.consult_id, o.attempts, o.created_at, d.bundle FROM outbox o"
        " JOIN documents d ON d.id = o.document_id"
        " WHERE o.state = 'pending' AND o.next_attempt_at <= ?1"
        " ORDER BY o.next_attempt_at, o.created_at LIMIT 1",
    [CS_STMT_UPDATE_OUTBOX] =
        "UPDATE outbox SET state = ?2, attempts = ?3, next_attempt_at = ?4, delivered_at = ?5,"
        " last_error = ?6, location = ?7, updated_at = ?8 WHERE document_id = ?1",
    [CS_STMT_COUNT_OUTBOX] = "SELECT state, count(*) FROM outbox GROUP BY state",
    [CS_STMT_GET_DOCUMENT_PDF] = "SELECT consult_id, pdf FROM documents WHERE id = ?1",
    [CS_STMT_UPSERT_RECORDING] =
        "INSERT INTO recordings (consult_id, state, requested_by, requested_by_tenant,"
        " requested_by_name, requested_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
        " ON CONFLICT (consult_id) DO UPDATE SET state = excluded.state,"
        " requested_by = excluded.requested_by,"
        " requested_by_tenant = excluded.requested_by_tenant,"
        " requested_by_name = excluded.requested_by_name, requested_at = excluded.requested_at",
    [CS_STMT_DELETE_CONSENTS] = "DELETE FROM recording_consents WHERE consult_id = ?1",
    [CS_STMT_INSERT_CONSENT] =
        "INSERT INTO recording_consents (consult_id, idx, subject, tenant, name, answer, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [CS_STMT_UPSERT_RECFILE] =
        "INSERT INTO recording_files (" CS_RECFILE_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
        " ?7, ?8, ?9, ?10, ?11) ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
        " stopped_at = excluded.stopped_at, progress = excluded.progress,"
        " duration_ms = excluded.duration_ms, size = excluded.size,"
        " incomplete = excluded.incomplete, error = excluded.error",
    [CS_STMT_UPDATE_RECFILE] =
        "UPDATE recording_files SET state = ?2, stopped_at = ?3, progress = ?4,"
        " duration_ms = ?5, size = ?6, incomplete = ?7, error = ?8 WHERE id = ?1",
    [CS_STMT_LOAD_RECORDING] =
        "SELECT state, requested_by, requested_by_tenant, requested_by_name, requested_at"
        " FROM recordings WHERE consult_id = ?1",
    [CS_STMT_LOAD_CONSENTS] = "SELECT subject, tenant, name, answer, at FROM recording_consents"
                              " WHERE consult_id = ?1 ORDER BY idx",
    [CS_STMT_LOAD_RECFILES] = "SELECT " CS_RECFILE_COLUMNS " FROM recording_files"
                              " WHERE consult_id = ?1 ORDER BY idx",
    [CS_STMT_GET_RECFILE] = "SELECT " CS_RECFILE_COLUMNS " FROM recording_files WHERE id = ?1",
    [CS_STMT_RECFILES_IN_STATE] = "SELECT " CS_RECFILE_COLUMNS " FROM recording_files"
                                  " WHERE state = ?1 ORDER BY started_at, id LIMIT ?2",
    [CS_STMT_COUNT_RECFILES] = "SELECT state, count(*) FROM recording_files GROUP BY state",
    [CS_STMT_LOAD_INVITES] = "SELECT " CS_INVITE_COLUMNS " FROM invites"
                             " WHERE expires_at > ?1 ORDER BY created_at, code_hash",
};

/* ---- opening -------------------------------------------------------------- */

/* Maps an SQLite failure while opening to our codes: trouble with the file or
 * its locks is CS_EIO, content we cannot use is CS_ESTORAGE. */
static int open_error(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return CS_ENOMEM;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
        return CS_EIO;
    default: /* SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_ERROR (schema clash), ... */
        return CS_ESTORAGE;
    }
}

/* Creates the file owner-only before SQLite does (it would use 0644): the
 * database holds patient data. SQLite gives the -wal and -shm files the same
 * mode as the database. An existing file keeps its mode. */
static int create_private(const char *path)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
    if (fd < 0)
        return CS_EIO;
    close(fd);
    return CS_OK;
}

static int read_user_version(sqlite3 *db, int *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            *out = sqlite3_column_int(s, 0);
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    return rc;
}

/* An ordered list of migration scripts: script i takes user_version i to i+1. */
typedef struct {
    const char *const *scripts;
    int n;
} schema_t;

/* Refuses a schema newer than this build before changing anything in the file
 * (not even its journal mode): a newer gateway's data is left as it was. */
static int check_version(sqlite3 *db, const schema_t *schema)
{
    int version = 0;
    int rc = read_user_version(db, &version);
    if (rc != SQLITE_OK)
        return open_error(rc);
    return version < 0 || version > schema->n ? CS_ESTORAGE : CS_OK;
}

static int configure(sqlite3 *db)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    /* The pragma answers with the mode in force, which is not WAL when the
     * file system cannot support it: refuse rather than run unsafely. */
    bool wal = rc == SQLITE_ROW && sqlite3_column_text(s, 0) &&
               strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return open_error(rc);
    if (!wal)
        return CS_EIO;
    rc = sqlite3_exec(db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON", NULL, NULL,
                      NULL);
    return rc == SQLITE_OK ? CS_OK : open_error(rc);
}

static int apply_migration(sqlite3 *db, const schema_t *schema, int version)
{
    int rc = sqlite3_exec(db, schema->scripts[version], NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return open_error(rc);
    char *bump = sqlite3_mprintf("PRAGMA user_version = %d", version + 1);
    if (!bump)
        return CS_ENOMEM;
    rc = sqlite3_exec(db, bump, NULL, NULL, NULL);
    sqlite3_free(bump);
    return rc == SQLITE_OK ? CS_OK : open_error(rc);
}

/* One migration (or none when current) in one transaction. The version is read
 * again under the write lock, so two processes opening a new database at once
 * cannot both apply the same script. */
static int migrate_step(sqlite3 *db, const schema_t *schema, bool *current)
{
    int version = 0, err;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return open_error(rc);
    rc = read_user_version(db, &version);
    if (rc != SQLITE_OK)
        err = open_error(rc);
    else if (version < 0 || version > schema->n)
        err = CS_ESTORAGE;
    else if (version < schema->n)
        err = apply_migration(db, schema, version);
    else
        err = CS_OK;
    *current = err == CS_OK && version == schema->n;
    if (err == CS_OK && (rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK)
        err = open_error(rc);
    if (err != CS_OK && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return err;
}

static int migrate(sqlite3 *db, const schema_t *schema)
{
    bool current = false;
    int err = CS_OK;
    while (err == CS_OK && !current)
        err = migrate_step(db, schema, &current);
    return err;
}

/* A statement that does not prepare means the tables are not what
 * user_version claims (e.g. altered by hand): unusable content. */
static int prepare_all(cs_storage_t *st)
{
    for (int i = 0; i < CS_STMT_COUNT; i++) {
        int rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                    &st->stmt[i], NULL);
        if (rc != SQLITE_OK)
            return rc == SQLITE_NOMEM ? CS_ENOMEM : CS_ESTORAGE;
    }
    return CS_OK;
}

int cs_storage_open_sqlite(const char *path, const char *const *scripts, int n, sqlite3 **out)
{
    schema_t schema = {scripts, n};
    *out = NULL;
    int err = create_private(path);
    if (err != CS_OK)
        return err;
    int rc = sqlite3_open_v2(path, out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK)
        return open_error(rc);
    /* Extended codes tell a duplicate key (CS_EEXIST) from other failures. */
    sqlite3_extended_result_codes(*out, 1);
    sqlite3_busy_timeout(*out, CS_STORAGE_BUSY_TIMEOUT_MS);
    err = check_version(*out, &schema);
    if (err == CS_OK)
        err = configure(*out);
    if (err == CS_OK)
        err = migrate(*out, &schema);
    return err;
}

cs_storage_t *cs_storage_open(const char *path, int *err)
{
    int dummy;
    if (!err)
        err = &dummy;
    /* ":memory:" would not be durable and cannot use WAL. */
    if (!path || !*path || strcmp(path, ":memory:") == 0) {
        *err = CS_EINVAL;
        return NULL;
    }
    cs_storage_t *st = calloc(1, sizeof *st);
    if (!st) {
        *err = CS_ENOMEM;
        return NULL;
    }
    int rc = cs_storage_open_sqlite(path, migrations, CS_STORAGE_SCHEMA_VERSION, &st->db);
    if (rc == CS_OK)
        rc = prepare_all(st);
    if (rc != CS_OK) {
        cs_storage_close(st);
        *err = rc;
        return NULL;
    }
    *err = CS_OK;
    return st;
}

void cs_storage_close(cs_storage_t *st)
{
    if (!st)
        return;
    for (int i = 0; i < CS_STMT_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    /* Every statement is finalized, so this closes (and checkpoints the WAL
     * into the database when this is the last connection). */
    sqlite3_close(st->db);
    free(st);
}

/* ---- statements and transactions ------------------------------------------ */

void cs_storage_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

int cs_storage_exec_stmt(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    cs_storage_done(s);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static bool is_busy(int rc)
{
    return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED;
}

static int write_tx_once(cs_storage_t *st, cs_storage_tx_fn fn, const void *arg)
{
    /* A failed BEGIN has nothing to undo, and rolling back here could undo a
     * transaction that is not ours (a save called from a load callback). */
    int rc = cs_storage_exec_stmt(st->stmt[CS_STMT_BEGIN_WRITE]);
    if (rc != SQLITE_OK)
        return rc;
    rc = fn(st, arg);
    if (rc == SQLITE_OK)
        rc = cs_storage_exec_stmt(st->stmt[CS_STMT_COMMIT]);
    /* Some failures (SQLITE_FULL, SQLITE_IOERR...) already rolled back; a failed
     * COMMIT (SQLITE_BUSY) leaves the transaction open. */
    if (rc != SQLITE_OK && !sqlite3_get_autocommit(st->db))
        cs_storage_exec_stmt(st->stmt[CS_STMT_ROLLBACK]);
    return rc;
}

/* A write that did not meet a lock ends the back-off; one that waited its
 * full time for it starts or lengthens it. */
static int settle_lock(cs_storage_t *st, int rc, bool waited)
{
    if (!is_busy(rc)) {
        st->backoff_ms = 0;
        st->backoff_until_ms = 0;
    } else if (waited) {
        st->backoff_ms = st->backoff_ms ? st->backoff_ms * 2 : CS_STORAGE_BACKOFF_MS;
        if (st->backoff_ms > CS_STORAGE_BACKOFF_MAX_MS)
            st->backoff_ms = CS_STORAGE_BACKOFF_MAX_MS;
        st->backoff_until_ms = cs_mono_ms() + st->backoff_ms;
    }
    return rc;
}

int cs_storage_write_tx(cs_storage_t *st, cs_storage_tx_fn fn, const void *arg)
{
    if (st->backoff_until_ms && cs_mono_ms() < st->backoff_until_ms) {
        sqlite3_busy_timeout(st->db, 0);
        int rc = write_tx_once(st, fn, arg);
        sqlite3_busy_timeout(st->db, CS_STORAGE_BUSY_TIMEOUT_MS);
        return settle_lock(st, rc, false);
    }
    /* The busy timeout already waited for each lock; a lock held even longer
     * (a backup, a long checkpoint, someone in the sqlite3 shell) is given
     * another chance before the caller hears of it. */
    int pause_ms = CS_STORAGE_RETRY_PAUSE_MS;
    for (int attempt = 1;; attempt++) {
        int rc = write_tx_once(st, fn, arg);
        if (!is_busy(rc) || attempt == CS_STORAGE_TX_ATTEMPTS)
            return settle_lock(st, rc, true);
        sqlite3_sleep(pause_ms);
        pause_ms *= 2;
    }
}

/* ---- probes --------------------------------------------------------------- */

int cs_storage_ping(cs_storage_t *st)
{
    if (!st)
        return CS_ESTORAGE;
    sqlite3_stmt *s = st->stmt[CS_STMT_PING];
    int rc = sqlite3_step(s);
    cs_storage_done(s);
    return rc == SQLITE_ROW ? CS_OK : CS_ESTORAGE;
}

int64_t cs_storage_count_events(cs_storage_t *st, const char *consult_id)
{
    if (!st)
        return CS_ESTORAGE;
    sqlite3_stmt *s = st->stmt[consult_id ? CS_STMT_COUNT_EVENTS : CS_STMT_COUNT_ALL_EVENTS];
    if (consult_id && sqlite3_bind_text(s, 1, consult_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        cs_storage_done(s);
        return CS_ESTORAGE;
    }
    int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : CS_ESTORAGE;
    cs_storage_done(s);
    return n;
}
