/*
 * storage_records_internal.h — what storage_records.c (the file, its schema,
 * writes, the access log) and storage_records_query.c (reads and searches
 * for a viewer) share; nothing else includes it.
 */
#ifndef CS_STORAGE_RECORDS_INTERNAL_H
#define CS_STORAGE_RECORDS_INTERNAL_H

#include <sqlite3.h>

#include "storage.h"
#include "storage_internal.h"

struct cs_records_db {
    sqlite3 *db;
    sqlite3_stmt *stmt[32]; /* the prepared statements of storage_records.c */
};

/* An SQLite result as our code: CS_OK, CS_EAGAIN (locked), CS_ENOMEM, CS_ESTORAGE. */
int cs_records_db_err(int rc);
/* Binds text (NULL as SQL NULL) that outlives the statement's step. */
int cs_records_bind_text(sqlite3_stmt *s, int i, const char *v);

#endif
