/*
 * storage.h — durable storage of consults, their audit trail, users,
 * invitations, attachments, chat and conclusions, in one SQLite database file.
 *
 * The only user of SQLite in Consilium. The consult engine writes through the
 * cs_store_t vtable returned by cs_storage_store() (every change is on disk
 * before the engine applies it in memory) and, at start-up, gets back what it
 * needs through cs_storage_load(). The database is readable with the sqlite3
 * command-line tool: enums are stored as their wire names ("in_progress",
 * "specialist", ...), times as integer milliseconds since the Unix epoch.
 *
 * Durability: WAL journal with synchronous=NORMAL, so a commit survives a crash
 * of the process; a power failure may lose the last few commits but never
 * corrupts the file. Writes that find the database locked by another connection
 * wait (busy timeout) and are retried as whole transactions.
 *
 * Not thread-safe: one cs_storage_t belongs to one thread (the signalling
 * thread, which also serves /healthz). No logging: every function reports
 * through its return code only.
 */
#ifndef CS_STORAGE_H
#define CS_STORAGE_H

#include <stdint.h>

#include "../../common/common.h"
#include "../../signaling/consult/consult.h"

typedef struct cs_storage cs_storage_t;

/*
 * Opens or creates the database at path (its folder must exist; a new file is
 * created readable by its owner only, as it holds patient data) and brings
 * the schema up to date. Returns NULL and sets *err (when err is non-NULL) to
 * CS_EINVAL (NULL, empty or ":memory:" path), CS_EIO (cannot open or lock the
 * file), CS_ESTORAGE (not a database, damaged, or a schema newer than this
 * build knows, which is refused untouched) or CS_ENOMEM.
 */
cs_storage_t *cs_storage_open(const char *path, int *err);
/* Closes the database; NULL is safe. */
void cs_storage_close(cs_storage_t *st);

/*
 * The engine's store: pass it to cs_engine_new() with the cs_storage_t* as
 * store_user. Its functions return CS_OK or:
 *   CS_EINVAL   a record that could not be read back (enum out of range, more
 *               participants or specialties than the limits, an empty key, a
 *               specialty containing ',', an event of another consult);
 *   CS_EEXIST   save_invite: an invitation with that code hash exists;
 *   CS_ESTORAGE the database failed the write; nothing of it was kept.
 */
const cs_store_t *cs_storage_store(void);

/*
 * Start-up loading through callbacks, so storage does not depend on the
 * engine's implementation. Each callback gets a record valid only during the
 * call and returns CS_OK, or a negative code that aborts the load and is
 * returned. A NULL callback skips that kind of record. Visits, in this order:
 *   - every user;
 *   - every consult not in a terminal state, and terminal consults whose
 *     max(ended_at, updated_at) >= now_ms - retain_ms, with participants;
 *   - every invitation with expires_at > now_ms.
 * Returns CS_OK, a callback's code, CS_EINVAL (now_ms or retain_ms < 0), or
 * CS_ESTORAGE when the database cannot be read or holds a row this build cannot
 * understand (an unknown state or role name, too many participants...).
 */
typedef struct {
    int (*consult)(void *user, const cs_consult_t *c);
    int (*user)(void *user, const cs_user_t *u);
    int (*invite)(void *user, const cs_invite_t *inv);
} cs_storage_loader_t;

int cs_storage_load(cs_storage_t *st, const cs_storage_loader_t *l, void *user, int64_t now_ms,
                    int64_t retain_ms);

/* One consult by id, as the loader gives it (participants, notes, recording
 * included), also one long finished and no longer in the engine's memory:
 * for who-may-see checks on its documents and recordings. CS_OK,
 * CS_ENOTFOUND, CS_ESTORAGE. */
int cs_storage_consult_get(cs_storage_t *st, const char *id, cs_consult_t *out);

/* ---- attachments: the uploaded files' bytes, for the gateway's HTTP side ---- */

/*
 * Stores an unbound upload: a's ref (id, name, type, size), owner,
 * owner_tenant, sha256 and created_at, with its len bytes. CS_ELIMIT when the
 * owner already holds max_unbound unbound files, CS_EEXIST for a used id,
 * CS_EINVAL for an empty field or len != a->ref.size, CS_ESTORAGE.
 */
int cs_storage_put_attachment(cs_storage_t *st, const cs_attachment_t *a, const void *data,
                              size_t len, int max_unbound);
/* An attachment's record. CS_ENOTFOUND, CS_ESTORAGE. */
int cs_storage_get_attachment(cs_storage_t *st, const char *id, cs_attachment_t *out);
/* A malloc'd copy of an attachment's bytes (*len of them) that the caller
 * frees. CS_ENOTFOUND, CS_ENOMEM, CS_ESTORAGE. */
int cs_storage_read_attachment(cs_storage_t *st, const char *id, void **data, size_t *len);
/* Deletes unbound attachments uploaded before created_before; returns how
 * many, or CS_ESTORAGE. */
int cs_storage_prune_attachments(cs_storage_t *st, int64_t created_before);

/* ---- documents and their outbox (storage_documents.c; docs/RECORDS.md) ---- */

/* A signed version's renderings, stored with it. */
typedef struct {
    const char *language;          /* of the PDF (a static string) */
    unsigned char *pdf;            /* malloc'd */
    size_t pdf_len;
    char *bundle;                  /* the FHIR transaction Bundle, JSON text, malloc'd */
    size_t bundle_len;
} cs_document_files_t;

/*
 * Who renders a signed conclusion into its files (the gateway: PDF and FHIR
 * Bundle). With a renderer set, the store's save_conclusion of a signed
 * conclusion calls it and then cs_storage_save_signed, freeing the files
 * after; a renderer failure fails the signing (nothing kept). Without one,
 * a signed conclusion is saved without a document (unit tests).
 */
typedef int (*cs_document_render_fn)(void *user, const cs_consult_t *c, const cs_conclusion_t *k,
                                     cs_document_files_t *out);
void cs_storage_set_renderer(cs_storage_t *st, cs_document_render_fn fn, void *user);

/*
 * Signs: upserts the consult c and the conclusion k (signed, with
 * k->summary.document_id and replaces), stores the document with its files,
 * owes its delivery (an outbox row, pending, due now), and appends ev — one
 * transaction. The files stay the caller's. CS_EINVAL (k not signed, no
 * document id, empty files), CS_ESTORAGE (nothing kept).
 */
int cs_storage_save_signed(cs_storage_t *st, const cs_consult_t *c, const cs_conclusion_t *k,
                           const cs_event_t *ev, const cs_document_files_t *files);

/* The outbox row due first (state pending, next_attempt_at <= now_ms), with a
 * malloc'd copy of its Bundle that the caller frees. */
typedef struct {
    char document_id[CS_ID_MAX];
    char consult_id[CS_ID_MAX];
    int attempts;
    int64_t created_at;
    char *bundle;
    size_t bundle_len;
} cs_outbox_item_t;
/* CS_OK and *out, CS_ENOTFOUND when nothing is due, CS_ENOMEM, CS_ESTORAGE. */
int cs_storage_outbox_next(cs_storage_t *st, int64_t now_ms, cs_outbox_item_t *out);
/* Records how a delivery went: the new state d (attempts, next attempt,
 * delivered_at, error) and, once delivered, the record's location for it.
 * CS_ENOTFOUND for an unknown document, CS_EINVAL, CS_ESTORAGE. */
int cs_storage_outbox_update(cs_storage_t *st, const char *document_id, const cs_delivery_t *d,
                             const char *location, int64_t now_ms);
/* Documents per delivery state (indexed by cs_delivery_state_t). */
int cs_storage_outbox_counts(cs_storage_t *st, int64_t counts[CS_DELIVERY_STATE_COUNT]);
/* A document's PDF (malloc'd, the caller frees) and its consult. CS_ENOTFOUND,
 * CS_ENOMEM, CS_ESTORAGE. */
int cs_storage_read_document_pdf(cs_storage_t *st, const char *document_id,
                                 char consult_id[CS_ID_MAX], void **pdf, size_t *len);

/* ---- recordings' files: the post-processing queue (storage_recordings.c) ---- */

typedef struct {
    cs_recording_file_t file;
    char consult_id[CS_ID_MAX];
} cs_recfile_row_t;

/* Up to max files in a state, oldest first: the count, or CS_ESTORAGE. */
int cs_storage_recfiles_in_state(cs_storage_t *st, cs_recfile_state_t state,
                                 cs_recfile_row_t *out, size_t max);
/* One file and its consult. CS_ENOTFOUND, CS_ESTORAGE. */
int cs_storage_recfile_get(cs_storage_t *st, const char *file_id, cs_recfile_row_t *out);
/* Writes a file's state, progress or result (not its consult or start).
 * CS_ENOTFOUND, CS_EINVAL, CS_ESTORAGE. */
int cs_storage_recfile_update(cs_storage_t *st, const cs_recording_file_t *f);
/* Files per state (indexed by cs_recfile_state_t). */
int cs_storage_recfile_counts(cs_storage_t *st, int64_t counts[CS_RECFILE_STATE_COUNT]);
/* Appends a fact the gateway witnessed to a consult's audit trail (a
 * recording read, processed). CS_EINVAL, CS_ESTORAGE. */
int cs_storage_append_event(cs_storage_t *st, const cs_event_t *ev);

/* Readiness probe for /healthz: reads the database. CS_OK or CS_ESTORAGE. */
int cs_storage_ping(cs_storage_t *st);

/* Number of audit events stored for a consult, or for all consults when
 * consult_id is NULL; CS_ESTORAGE (negative) on failure. For tests/metrics. */
int64_t cs_storage_count_events(cs_storage_t *st, const char *consult_id);

/* ---- the built-in FHIR record store's database (storage_records.c) ---- */

/*
 * <data_dir>/records.db: the resources of the built-in FHIR store
 * (gateway/records/), what its searches and access checks need (identifiers,
 * subjects, dates, centres, Binary links), its access log and the SMART
 * assertion ids already used. A separate file with its own handle and schema
 * version, like consilium.db in everything else: WAL, 0600, busy timeout,
 * whole write transactions retried while the file stays locked. Codes:
 * CS_ENOTFOUND, CS_EAGAIN (locked past the busy timeout), CS_ENOMEM,
 * CS_ESTORAGE (anything else; a failed write kept nothing).
 */
typedef struct cs_records_db cs_records_db_t;

/* As cs_storage_open, for records.db. */
cs_records_db_t *cs_records_db_open(const char *path, int *err);
void cs_records_db_close(cs_records_db_t *db);

/* An identifier or search token: system NULL = any system ("" = none);
 * value NULL = any value (searches only). */
typedef struct {
    const char *system;
    const char *value;
} cs_records_ident_t;

/* One resource as written: its JSON as served (id and meta included) and,
 * for a Binary, its bytes; and its index rows. */
typedef struct {
    const char *type, *id;
    int64_t version, updated_at;        /* updated_at: ms, meta.lastUpdated */
    const char *subject_patient;        /* id of the Patient its subject references, or NULL */
    bool has_date;                      /* Encounter.period, DocumentReference.date */
    int64_t date_lo, date_hi;           /* [lo, hi) in ms; INT64_MIN / INT64_MAX: open */
    const char *json;
    const void *data;                   /* Binary: its bytes (NULL with 0: none) */
    size_t data_len;
    const cs_records_ident_t *identifiers; /* systems and values non-NULL */
    size_t n_identifiers;
    const cs_records_ident_t *subjects;    /* subject.identifier */
    size_t n_subjects;
    const char *const *centres;            /* tenant slugs */
    size_t n_centres;
    const char *const *binaries;           /* ids of the Binaries it points at */
    size_t n_binaries;
} cs_records_row_t;

/* A write transaction: fn runs inside BEGIN IMMEDIATE ... COMMIT and returns
 * CS_OK or a negative code, which rolls everything back and is returned. fn
 * may run again (the whole transaction is retried when the file stays
 * locked), so it must start from scratch each time. */
typedef int (*cs_records_tx_fn)(cs_records_db_t *db, void *arg);
int cs_records_db_write(cs_records_db_t *db, cs_records_tx_fn fn, void *arg);

/* Within a write: the resources of a type with that identifier (system NULL:
 * any system). *matches is 0, 1 or 2 (two or more); id gets the first. */
int cs_records_db_find(cs_records_db_t *db, const char *type, const cs_records_ident_t *ident,
                       char id[65], int *matches);
/* The stored version and updated_at of a resource; CS_ENOTFOUND. */
int cs_records_db_version(cs_records_db_t *db, const char *type, const char *id,
                          int64_t *version, int64_t *updated_at);
/* Creates or replaces a resource and its index rows. */
int cs_records_db_put(cs_records_db_t *db, const cs_records_row_t *row);

/* Whose eyes a read or search is for (see gateway/records/records.h). */
typedef enum {
    CS_RECORDS_VIEW_NONE,    /* sees nothing */
    CS_RECORDS_VIEW_ALL,     /* sees everything (tests, tools) */
    CS_RECORDS_VIEW_CENTRE,  /* staff of tenant */
    CS_RECORDS_VIEW_PATIENT, /* a patient: patient.system | patient.value */
} cs_records_view_kind_t;

typedef struct {
    cs_records_view_kind_t kind;
    const char *tenant;
    cs_records_ident_t patient;
} cs_records_view_t;

typedef struct {
    char *json;                 /* malloc'd */
    unsigned char *data;        /* malloc'd Binary bytes, or NULL */
    size_t data_len;
    int64_t version, updated_at;
} cs_records_resource_t;

/* A resource the viewer may see (CS_ENOTFOUND otherwise); free with
 * cs_records_resource_free. */
int cs_records_db_get(cs_records_db_t *db, const char *type, const char *id,
                      const cs_records_view_t *view, cs_records_resource_t *out);
void cs_records_resource_free(cs_records_resource_t *res);

#define CS_RECORDS_DB_MAX_OR 10     /* values of one condition */
#define CS_RECORDS_DB_MAX_CONDS 8

typedef enum {
    CS_RECORDS_Q_ID,                 /* values[].value: ids */
    CS_RECORDS_Q_IDENTIFIER,         /* values: tokens */
    CS_RECORDS_Q_SUBJECT,            /* values[].value: Patient ids */
    CS_RECORDS_Q_SUBJECT_IDENTIFIER, /* values: tokens of the subject (or its Patient) */
    CS_RECORDS_Q_DATE,               /* prefix, [lo, hi) */
} cs_records_cond_kind_t;

typedef enum { CS_RECORDS_EQ, CS_RECORDS_GE, CS_RECORDS_LE, CS_RECORDS_GT, CS_RECORDS_LT } cs_records_prefix_t;

/* One search condition: any of its values (OR); conditions are ANDed. */
typedef struct {
    cs_records_cond_kind_t kind;
    size_t n;
    cs_records_ident_t values[CS_RECORDS_DB_MAX_OR];
    cs_records_prefix_t prefix;
    int64_t lo, hi;
} cs_records_cond_t;

typedef struct {
    const char *type;
    const cs_records_cond_t *conds;
    size_t n_conds;            /* at most CS_RECORDS_DB_MAX_CONDS */
    int64_t count;             /* rows wanted (0: only the total) */
} cs_records_query_t;

/* Called for each row found, in creation order; a negative return stops the
 * search and is returned. */
typedef int (*cs_records_row_fn)(void *user, const char *id, const char *json);
/* Every visible resource matching q: *total of them, fn on the first count. */
int cs_records_db_search(cs_records_db_t *db, const cs_records_query_t *q,
                         const cs_records_view_t *view, int64_t *total, cs_records_row_fn fn,
                         void *user);

/* One access_log row. Strings may be "" but not NULL. */
typedef struct {
    int64_t at;
    const char *tenant, *subject, *role; /* role: a user's, "writer", "anonymous" */
    const char *action;                  /* read, search, transaction, token */
    const char *type, *target;           /* resource type; its id, the query, the locations */
    int status;
    int64_t returned;                    /* resources returned */
} cs_records_access_t;
int cs_records_db_log(cs_records_db_t *db, const cs_records_access_t *a);

/* Records a client assertion's jti until keep_until_ms, dropping the expired
 * ones first: CS_OK, CS_EEXIST (already used), CS_ELIMIT (max unexpired ids
 * are held). */
int cs_records_db_use_jti(cs_records_db_t *db, const char *jti, int64_t keep_until_ms,
                          int64_t now_ms, int max);

/* Resources stored of a type (NULL: all), or a negative code. For tests. */
int64_t cs_records_db_count(cs_records_db_t *db, const char *type);

#endif
