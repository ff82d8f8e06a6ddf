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
#include <stddef.h>

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
    CS_STMT_LOAD_USERS,
    CS_STMT_LOAD_INVITES,
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
#define CS_INVITE_COLUMNS "code_hash, consult_id, role, name, created_by, created_at, expires_at"

struct cs_storage {
    sqlite3 *db;
    sqlite3_stmt *stmt[CS_STMT_COUNT];
};

/* Runs a statement that returns no rows, then resets it and clears its
 * bindings. Returns SQLITE_OK or the (extended) SQLite error code. */
int cs_storage_exec_stmt(sqlite3_stmt *s);
/* Resets a statement after reading rows and clears its bindings. */
void cs_storage_done(sqlite3_stmt *s);

/* A write transaction body: SQLITE_OK or an SQLite error code. */
typedef int (*cs_storage_tx_fn)(cs_storage_t *st, const void *arg);
/*
 * Runs fn inside BEGIN IMMEDIATE ... COMMIT, rolling back on any failure.
 * When the database stays locked past the busy timeout the whole transaction
 * is retried a few times. Returns SQLITE_OK or the last SQLite error code.
 */
int cs_storage_write_tx(cs_storage_t *st, cs_storage_tx_fn fn, const void *arg);

/* The cs_store_t list_events function (storage_read.c). */
int cs_storage_list_events(void *user, const char *consult_id, cs_event_t *out, size_t max);

#endif
