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

/* Readiness probe for /healthz: reads the database. CS_OK or CS_ESTORAGE. */
int cs_storage_ping(cs_storage_t *st);

/* Number of audit events stored for a consult, or for all consults when
 * consult_id is NULL; CS_ESTORAGE (negative) on failure. For tests/metrics. */
int64_t cs_storage_count_events(cs_storage_t *st, const char *consult_id);

#endif
