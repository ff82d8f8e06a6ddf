/*
 * engine_fixture.h — what the tests of the consult engine over the real
 * SQLite store share: a database in a fresh folder under /tmp (removed
 * afterwards) and identities made in one line. Include after cmocka.h,
 * common/common.h, gateway/storage/storage.h and signaling/consult/consult.h.
 */
#ifndef CS_TEST_ENGINE_FIXTURE_H
#define CS_TEST_ENGINE_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char dir[64], path[128];
    cs_storage_t *st;
} engine_db_t;

/* A new database in /tmp/cs-test-<tag>-XXXXXX/c.db. */
static inline void engine_db_open(engine_db_t *db, const char *tag)
{
    snprintf(db->dir, sizeof db->dir, "/tmp/cs-test-%s-XXXXXX", tag);
    assert_non_null(mkdtemp(db->dir));
    snprintf(db->path, sizeof db->path, "%s/c.db", db->dir);
    assert_non_null(db->st = cs_storage_open(db->path, NULL));
}

/* Closes the database and removes its folder; 0 when it is gone. */
static inline int engine_db_close(engine_db_t *db)
{
    cs_storage_close(db->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", db->dir);
    return system(cmd);
}

/* A user of tenant with a role; specialists practise cardiology. */
static inline void ident(cs_identity_t *id, const char *subject, cs_role_t role,
                         const char *tenant)
{
    memset(id, 0, sizeof *id);
    cs_strlcpy(id->subject, subject, sizeof id->subject);
    snprintf(id->name, sizeof id->name, "Name of %s", subject);
    id->role = role;
    cs_strlcpy(id->tenant, tenant, sizeof id->tenant);
    if (role == CS_ROLE_SPECIALIST)
        cs_strlcpy(id->specialties[id->n_specialties++], "cardiology", CS_SPECIALTY_MAX);
    id->expires_at = INT64_MAX;
}

#endif
