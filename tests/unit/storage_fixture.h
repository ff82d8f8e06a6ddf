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

#endif
