/*
 * storage_internal.h — what the files of the storage module share; not for
 * use outside gateway/storage/.
 *
 *   storage.c        opening, schema migrations, statements, transactions
 *   storage_write.c  the cs_store_t vtable and its saves
 *   storage_read.c   start-up loading, listing events, decoding rows
 */
#ifndef CS_STORAGE_INTERNAL_H
#define CS_STORAGE_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage.h"

/* Every statement, prepared once at open and reused (sqlite3_reset): the
 * signalling thread saves hundreds of changes a second. SQL in storage.c. */
enum {
    CS_STMT_BEGIN_WRITE,
    CS_STMT_BEGIN_READ,
    CS_STMT_COMMIT,
    CS_STMT_ROLLBACK,
    CS_STMT_UPSERT_CONSULT,
    CS_STMT_DELETE_PARTICIPANTS,
    CS_STMT_INSERT_PARTICIPANT,
    CS_STMT_INSERT_EVENT,
    CS_STMT_UPSERT_USER,
    CS_STMT_INSERT_INVITE,
    CS_STMT_LIST_EVENTS,
    CS_STMT_COUNT_EVENTS,
    CS_STMT_COUNT_ALL_EVENTS,
    CS_STMT_PING,
    CS_STMT_NEXT_STATE,
    CS_STMT_LOAD_CONSULTS,
    CS_STMT_LOAD_PARTICIPANTS,
    CS_STMT_GET_CONSULT,
    CS_STMT_LOAD_USERS,
    CS_STMT_LOAD_INVITES,
    CS_STMT_INSERT_ATTACHMENT,
    CS_STMT_COUNT_UNBOUND,
    CS_STMT_GET_ATTACHMENT,
    CS_STMT_GET_ATTACHMENT_DATA,
    CS_STMT_BIND_ATTACHMENT,
    CS_STMT_PRUNE_ATTACHMENTS,
    CS_STMT_LOAD_REQUEST_ATTACHMENTS,
    CS_STMT_NEXT_CHAT_SEQ,
    CS_STMT_INSERT_CHAT,
    CS_STMT_INSERT_CHAT_ATTACHMENT,
    CS_STMT_LIST_CHAT,
    CS_STMT_LIST_CHAT_ATTACHMENTS,
    CS_STMT_UPSERT_CONCLUSION,
    CS_STMT_GET_CONCLUSION,
    CS_STMT_INSERT_DOCUMENT,
    CS_STMT_INSERT_OUTBOX,
    CS_STMT_GET_SIGNED,
    CS_STMT_GET_LAST_DOCUMENT,
    CS_STMT_NEXT_DUE,
    CS_STMT_UPDATE_OUTBOX,
    CS_STMT_COUNT_OUTBOX,
    CS_STMT_GET_DOCUMENT_PDF,
    CS_STMT_UPSERT_RECORDING,
    CS_STMT_DELETE_CONSENTS,
    CS_STMT_INSERT_CONSENT,
    CS_STMT_UPSERT_RECFILE,
    CS_STMT_UPDATE_RECFILE,
    CS_STMT_LOAD_RECORDING,
    CS_STMT_LOAD_CONSENTS,
    CS_STMT_LOAD_RECFILES,
    CS_STMT_GET_RECFILE,
    CS_STMT_RECFILES_IN_STATE,
    CS_STMT_COUNT_RECFILES,
    CS_STMT_COUNT
};

/*
 * Columns of the consults table in the order of CS_CONSULT_COLUMNS, which both
 * the upsert (bound as ?1..?25) and the load (read as columns 0..24) use. Keep
 * the enum, the macro and the schema in the same order.
 */
enum {
    CS_CC_ID,
    CS_CC_TENANT,
    CS_CC_ROUTED_TO,
    CS_CC_STATE,
    CS_CC_ESCALATION,
    CS_CC_URGENCY,
    CS_CC_MODE,
    CS_CC_SPECIALTY,
    CS_CC_CLINICIAN,
    CS_CC_CLINICIAN_NAME,
    CS_CC_SPECIALIST,
    CS_CC_SPECIALIST_TENANT,
    CS_CC_SPECIALIST_NAME,
    CS_CC_PATIENT_ID,
    CS_CC_PATIENT_NAME,
    CS_CC_PATIENT_BIRTH_DATE,
    CS_CC_CREATED_AT, /* the eight times follow in cs_consult_t's order */
    CS_CC_WARN_AT,
    CS_CC_DEADLINE_AT,
    CS_CC_EXPIRE_AT,
    CS_CC_ACCEPTED_AT,
    CS_CC_STARTED_AT,
    CS_CC_ENDED_AT,
    CS_CC_UPDATED_AT,
    CS_CC_REASON,
    CS_CC_COUNT
};

#define CS_CONSULT_COLUMNS                                                                    \
    "id, tenant, routed_to, state, escalation, urgency, mode, specialty, clinician, "         \
    "clinician_name, specialist, specialist_tenant, specialist_name, patient_id, "            \
    "patient_name, patient_birth_date, created_at, warn_at, deadline_at, expire_at, "         \
    "accepted_at, started_at, ended_at, updated_at, reason"

/* Participants, events, users and invites: column lists shared by the insert
 * and the select statements, read back by position. */
#define CS_PARTICIPANT_COLUMNS \
    "subject, tenant, name, role, invited_by, joined_at, left_at, present"
#define CS_EVENT_COLUMNS \
    "at, kind, from_state, to_state, actor, actor_role, actor_is_system, detail"
#define CS_USER_COLUMNS "subject, name, role, tenant, specialties, last_seen"
#define CS_ATTACHMENT_COLUMNS \
    "id, name, type, size, owner, owner_tenant, ifnull(consult_id, ''), sha256, created_at"
#define CS_CHAT_COLUMNS \
    "consult_id, seq, id, at, sender, sender_tenant, sender_name, sender_role, text"
#define CS_CONCLUSION_COLUMNS                                                                \
    "status, version, updated_at, signed_at, author, author_tenant, author_name, "           \
    "diagnosis_code, diagnosis_text, findings, recommendations"
#define CS_INVITE_COLUMNS "code_hash, consult_id, role, name, created_by, created_at, expires_at"
#define CS_RECFILE_COLUMNS                                                                   \
    "id, state, started_at, stopped_at, progress, duration_ms, size, incomplete, error, "    \
    "consult_id, idx"

struct cs_storage {
    sqlite3 *db;
    sqlite3_stmt *stmt[CS_STMT_COUNT];
    cs_document_render_fn render; /* see cs_storage_set_renderer */
    void *render_user;
    /* cs_storage_write_tx's back-off from a lock that outlived its wait */
    int64_t backoff_ms, backoff_until_ms;   /* until: monotonic ms, 0 none */
};

/* Runs a statement that returns no rows, then resets it and clears its
 * bindings. Returns SQLITE_OK or the (extended) SQLite error code. */
int cs_storage_exec_stmt(sqlite3_stmt *s);
/* Resets a statement after reading rows and clears its bindings. */
void cs_storage_done(sqlite3_stmt *s);

/*
 * Opens (creating it owner-only: patient data) the SQLite file at path in WAL
 * mode with synchronous=NORMAL, foreign keys, extended result codes and the
 * busy timeout, and brings its schema to version n by the ordered scripts
 * scripts[0..n-1] (script i takes user_version i to i + 1, one transaction
 * each). A newer schema is refused before anything in the file changes.
 * *out is set even on failure (close it). CS_OK, CS_EIO, CS_ESTORAGE,
 * CS_ENOMEM. Shared by consilium.db and the record store's records.db.
 */
int cs_storage_open_sqlite(const char *path, const char *const *scripts, int n, sqlite3 **out);

/* A write transaction body: SQLITE_OK or an SQLite error code. */
typedef int (*cs_storage_tx_fn)(cs_storage_t *st, const void *arg);
/*
 * Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back on any failure.
 * When the database stays locked past the busy timeout the whole transaction
 * is retried once; after that, for a back-off period, writes try once without
 * waiting (see storage.c). Returns SQLITE_OK or the last SQLite error code
 * (SQLITE_BUSY: locked by another connection; nothing was written).
 */
int cs_storage_write_tx(cs_storage_t *st, cs_storage_tx_fn fn, const void *arg);

/* The cs_store_t list_events function (storage_read.c). */
int cs_storage_list_events(void *user, const char *consult_id, cs_event_t *out, size_t max);

/* ---- writing (storage_write.c) ----
 * Binds parameters one after another and remembers the first failure, so a
 * statement's binds read as a flat list. Text is bound SQLITE_STATIC: the
 * record outlives the statement's execution. */
typedef struct {
    sqlite3_stmt *s;
    int rc;
} binder_t;

binder_t binder(cs_storage_t *st, int stmt);
/* At most cap bytes: a fixed-size field without its NUL is still bounded. */
void bind_text(binder_t *b, int param, const char *v, size_t cap);
/* An enum's wire name (a static string). */
void bind_name(binder_t *b, int param, const char *name);
void bind_int(binder_t *b, int param, int64_t v);
/* Executes the bound statement, or gives up on a failed bind. */
int run_bound(binder_t *b);
/* A char array field of a record, bounded by its own size; refuses (at
 * compile time) a pointer, whose sizeof would silently cut the text. */
#define BIND_FIELD(b, param, field)                                                          \
    do {                                                                                     \
        _Static_assert(!__builtin_types_compatible_p(__typeof__(field),                      \
                                                     __typeof__(&(field)[0])),               \
                       #field " must be an array");                                          \
        bind_text((b), (param), (field), sizeof(field));                                     \
    } while (0)
bool role_ok(cs_role_t r);
bool consult_ok(const cs_consult_t *c, const cs_event_t *ev);
int upsert_consult(cs_storage_t *st, const cs_consult_t *c);
int insert_event(cs_storage_t *st, const char *consult_id, const cs_event_t *ev);
/* CS_OK for SQLITE_OK, else CS_ESTORAGE: any failed write kept nothing. */
int write_result(int rc);

/* ---- reading (storage_read.c) ---- */
/* Copies n bytes of src into dst (size bytes), NUL-terminated, never cutting
 * through a UTF-8 character. */
void copy_text(char *dst, size_t size, const char *src, size_t n);
void column_text(sqlite3_stmt *s, int col, char *dst, size_t size);
/* Reads into a char array field of a record, bounded by the field's size; a
 * pointer (whose sizeof is not the room behind it) does not compile. */
#define COLUMN_FIELD(s, col, field)                                                          \
    do {                                                                                     \
        _Static_assert(!__builtin_types_compatible_p(__typeof__(field),                      \
                                                     __typeof__(&(field)[0])),               \
                       #field " must be an array");                                          \
        column_text((s), (col), (field), sizeof(field));                                     \
    } while (0)
/* The column as a C string, or NULL when absent or holding a NUL byte. */
const char *column_name(sqlite3_stmt *s, int col);
int column_role(sqlite3_stmt *s, int col, cs_role_t *out);
typedef int (*row_fn)(cs_storage_t *st, sqlite3_stmt *s, void *ctx);
/* Steps through the rows of a bound statement, calling fn on each until it
 * returns an error; always resets the statement. */
int each_row(cs_storage_t *st, sqlite3_stmt *s, row_fn fn, void *ctx);
/* CS_OK after a good bind; a failed bind resets the statement: CS_ESTORAGE. */
int bound(sqlite3_stmt *s, int rc);

/* ---- attachments, chat, conclusions (storage_notes.c) ---- */
/* Binds a new consult's request attachments to it (inside its write). */
int bind_request_attachments(cs_storage_t *st, const cs_consult_t *c);
/* Fills a loaded consult's request attachments and conclusion summary. */
int read_consult_notes(cs_storage_t *st, cs_consult_t *c);
int cs_storage_store_get_attachment(void *user, const char *id, cs_attachment_t *out);
int cs_storage_save_chat(void *user, cs_chat_message_t *m);
int cs_storage_list_chat(void *user, const char *consult_id, int64_t before_seq,
                         cs_chat_message_t *out, size_t max);
int cs_storage_save_conclusion(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                               const cs_event_t *ev);
int cs_storage_get_conclusion(void *user, const char *consult_id, cs_conclusion_t *out);
/* Upserts a conclusion row (inside a write). */
int write_conclusion_row(cs_storage_t *st, const cs_consult_t *c, const cs_conclusion_t *k);
/* Reads a row shaped as CS_CONCLUSION_COLUMNS. */
int read_conclusion_row(sqlite3_stmt *s, cs_conclusion_t *k);

/* ---- documents and the outbox (storage_documents.c) ---- */
int cs_storage_get_signed_conclusion(void *user, const char *consult_id, cs_conclusion_t *out);
/* Fills a loaded consult's summary with its last document and its delivery. */
int read_consult_document(cs_storage_t *st, cs_consult_t *c);

/* ---- recording (storage_recordings.c) ---- */
/* Writes the consult's recording, its consents and files (inside its write). */
int write_recording(cs_storage_t *st, const cs_consult_t *c);
/* Fills a loaded consult's recording. */
int read_recording(cs_storage_t *st, cs_consult_t *c);

#endif
