/*
 * storage_fixture.h — the storage tests' fixture: a fresh temporary folder
 * under /tmp with a database opened in it (removed afterwards), and reopen()
 * for a restart. Include after cmocka.h and gateway/storage/storage.h.
 */
#ifndef CS_TEST_STORAGE_FIXTURE_H
#define CS_TEST_STORAGE_FIXTURE_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char path[128];
    cs_storage_t *st;
} fixture_t;

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(path);
}

/* rm -rf dir; 0 or -1. */
static inline int remove_tree(const char *dir)
{
    return nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static inline void open_fixture_db(fixture_t *f)
{
    int err = -1;
    f->st = cs_storage_open(f->path, &err);
    assert_non_null(f->st);
    assert_int_equal(err, CS_OK);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    strcpy(f->dir, "/tmp/cs-test-storage-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/consilium.db", f->dir);
    open_fixture_db(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    cs_storage_close(f->st);
    int rc = remove_tree(f->dir);
    free(f);
    return rc;
}

/* Closes and reopens the fixture's database (a restart). */
static inline void reopen(fixture_t *f)
{
    cs_storage_close(f->st);
    open_fixture_db(f);
}

/* A minimal consult of kirov's clinician petrova, in state, made at t. */
static inline void fixture_consult(cs_consult_t *c, const char *id, cs_state_t state, int64_t t)
{
    memset(c, 0, sizeof *c);
    cs_strlcpy(c->id, id, sizeof c->id);
    strcpy(c->tenant, "kirov");
    strcpy(c->patient.id, "MRN-1");
    strcpy(c->specialty, "cardiology");
    strcpy(c->reason, "r");
    strcpy(c->clinician, "petrova");
    c->state = state;
    c->created_at = c->updated_at = t;
    strcpy(c->participants[0].subject, "petrova");
    strcpy(c->participants[0].tenant, "kirov");
    c->n_participants = 1;
}

/* An audit event of kind by the specialist ivanova, at t, in state. */
static inline void fixture_event(cs_event_t *ev, const char *id, const char *kind,
                                 cs_state_t state, int64_t t)
{
    memset(ev, 0, sizeof *ev);
    cs_strlcpy(ev->consult_id, id, sizeof ev->consult_id);
    cs_strlcpy(ev->kind, kind, sizeof ev->kind);
    ev->from = ev->to = state;
    strcpy(ev->actor, "ivanova");
    ev->actor_role = CS_ROLE_SPECIALIST;
    ev->at = t;
}

#endif
